#!/bin/sh
# signals.sh - mited under its signals and systemd's notify protocol:
# READY=1/STATUS=/STOPPING=1, SIGHUP reloads what can change (and says
# what changed, or why it refused), SIGTERM drains every run within the
# bounded grace and exits 0 with results written.
. "$(dirname "$0")/lib.sh"

# A notify socket as systemd would give: a datagram socket we read.
NOTIFY=$T/notify.sock
python3 - "$NOTIFY" "$T/notify.log" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.5)
end = time.time() + 120
with open(sys.argv[2], "a") as log:
    while time.time() < end:
        try:
            log.write(s.recv(4096).decode() + "\n")
            log.flush()
        except socket.timeout:
            pass
PY
LISTENER=$!
wait_for 5 test -S "$NOTIFY"

write_conf
NOTIFY_SOCKET=$NOTIFY start_mited || finish
check "READY=1 sent once the socket is bound" wait_for 5 grep -q '^READY=1' "$T/notify.log"
check "STATUS= sent" wait_for 5 grep -q '^STATUS=0 runs' "$T/notify.log"

# SIGHUP: what changed is applied and said.
write_conf 'limits = { max_runs = 1; };'
sed -i 's/log_level = "debug";/log_level = "info";/' "$CONF"
kill -HUP "$MITED_PID"
check "reload: log_level change logged" wait_for 5 log_has 'reload: log_level: debug -> info'
check "reload: max_runs change logged" wait_for 5 log_has 'reload: max_runs: 8 -> 1'
R1=$(ctl start "$(scenario one 60 "$(example_journey j 2)")")
check "a first run starts" [ -n "$R1" ]
check "STATUS= follows the runs" wait_for 5 grep -q '^STATUS=1 run ' "$T/notify.log"
"$MITECTL" --socket "$SOCK" start "$(scenario two 60 "$(example_journey j 2)")" 2>"$T/err" >/dev/null
check "the reloaded max_runs = 1 refuses a second run" grep -q 'limits.max_runs = 1' "$T/err"
printf 'results_dir = "%s/elsewhere";\n' "$T" >>"$CONF"
kill -HUP "$MITED_PID"
check "reload: a change that needs a restart is said" wait_for 5 log_has 'results_dir changed to .*needs a restart'
echo 'this is not libconfig' >>"$CONF"
kill -HUP "$MITED_PID"
check "reload: a broken file is refused with file:line" wait_for 5 log_has "reload failed, configuration unchanged: $CONF:[0-9]"
check "mited is alive after a broken reload" ctl ping
check "the run went on through the reloads" wait_for 5 field_is "$R1" state running

# SIGTERM: drain (the example journey sleeps 0.5 s: it drains fast).
check "instances run before SIGTERM" wait_for 10 field_ge "$R1" journeys.0.actual 2
T0=$(date +%s)
stop_mited TERM
RC=$?
T1=$(date +%s)
check "SIGTERM: exit 0" [ "$RC" -eq 0 ]
check "SIGTERM: drained within shutdown_grace (5 s) + slack" [ $((T1 - T0)) -le 12 ]
check "STOPPING=1 sent" grep -q '^STOPPING=1' "$T/notify.log"
check "the drained run's results were written" [ -s "$STATE/results/$R1/summary.json" ]
check "no runner left behind" [ "$(runner_count)" -eq 0 ]
check "the socket file is removed" [ ! -e "$SOCK" ]

# A second signal while draining cancels every run at once; exit 0 still.
rm -f "$CONF"
write_conf 'grace = 30.0;'
sed -i 's/^grace = 3.0;//; s/shutdown_grace = 5.0;/shutdown_grace = 1.0;/' "$CONF"
start_mited || finish
R2=$(ctl start "$(scenario slow 60 "$(example_journey s 2)")")
wait_for 10 field_ge "$R2" journeys.0.actual 2
kill -TERM "$MITED_PID"
kill -INT "$MITED_PID"
stop_mited TERM
check "second signal cancels at once; exit 0" [ $? -eq 0 ]
check "cancel was logged" log_has 'again; cancelling every run now'

kill "$LISTENER" 2>/dev/null
wait "$LISTENER" 2>/dev/null
finish

#!/bin/bash
# hosts-respawn.sh - a host's runner that dies is replaced on its host, like
# a local runner: a controller (mited --listen, CURVE) and two agents on
# 127.0.0.1 run an HTTP scenario against mite-target. Checked: `kill -SEGV`
# of one remote runner mid-run is logged by the controller with the signal
# and the journey (worded as a local runner's death), the same host gets a
# replacement within seconds (its runners back to their count), the run
# goes on and its verdict fails naming the lost runner; a remote runner
# whose journey never yields is killed by its host on the controller's
# watchdog, reported as such, and replaced; with runner_restarts = 0 no
# replacement is made, and the run stops saying that it gave up.
: "${E2E_LIMIT:=300}"
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/hostslib.sh"
[ -f "$TPLUGINS/hang.so" ] || { echo "FAIL: $E2E_NAME: tests/plugins/hang.so is not built (make check builds it)"; exit 1; }

mkdir -p "$T/keys/auth"
for k in ctl h1 h2; do
	"$MITECTL" keygen "$T/keys/$k" >/dev/null || fail "keygen $k"
done
cp "$T/keys/h1.pub" "$T/keys/h2.pub" "$T/keys/auth/"

write_conf
EP=tcp://127.0.0.1:$(free_port)
start_mited --listen "$EP" --key "$T/keys/ctl.key" --authorized-keys "$T/keys/auth" || finish

agent h1 --runners-per-host 2 --label zone=a
agent h2 --runners-per-host 1
check "two agents join" wait_for 10 hosts_up 2

# host_runners RUN HOST: the run's runners on HOST (status --json).
host_runners() {
	ctl --json status "$1" | python3 -c 'import json,sys; h=[x for x in json.load(sys.stdin)["run"].get("hosts", []) if x["name"]==sys.argv[1]]; print(h[0]["runners"] if h else 0)' "$2"
}
host_runners_is() { [ "$(host_runners "$1" "$2")" = "$3" ]; }
# pids_of HOST: the runner processes of HOST's agent (they carry its key).
pids_of() { pgrep -f -- "[-]-connect $EP .*--key $T/keys/$1.key" | sort; }
wait_done() { wait_for "$2" field_is "$1" state done; }

# 1. kill -SEGV of a remote runner: named, replaced on its host.
RUN=$(ctl start "$(scen crash 25 6)")
check "run on hosts: running with h1's 2 runners" wait_for 10 host_runners_is "$RUN" h1 2
sleep 2 # its stats (and journey) reached the controller
BEFORE=$(pids_of h1)
RPID=$(echo "$BEFORE" | head -n1)
check "a runner process of h1 found" [ -n "$RPID" ]
kill -SEGV "$RPID"
KILL_T0=$(date +%s.%N)
# replaced: 2 runner processes on h1 again, the killed one not among them
replaced() { local p; p=$(pids_of h1); [ "$(echo "$p" | grep -c .)" = 2 ] && ! echo "$p" | grep -qx "$RPID"; }
check "a new runner process on h1 (2 in all, the killed one gone)" wait_for 5 replaced
check "h1's runners are back to 2 in the run's status" wait_for 5 host_runners_is "$RUN" h1 2
REP_S=$(python3 -c "import time; print(round(time.time() - $KILL_T0, 2))")
echo "# h1 had its 2 runners again ${REP_S}s after kill -SEGV"
check "the controller names the death: signal and journey, on its host" \
	wait_for 5 log_has "run $RUN: runner [0-9]* (pid $RPID) on host h1 killed by signal 11 (SIGSEGV, Segmentation fault) in journey 'get'"
check "the agent logged it too" grep -q "agent: run $RUN: runner [0-9]* (pid $RPID) killed by signal 11 (SIGSEGV" "$T/h1.log"
check "the controller asks h1 for a replacement" \
	wait_for 5 log_has "run $RUN: host h1: a runner replaced (restart 1 of at most 20)"
check "the status counts the restart" field_is "$RUN" restarts 1
check "the run goes on" field_is "$RUN" state running
check "the run's instances are all there again" wait_for 5 field_is "$RUN" journeys.0.actual 6
OK0=$(run_field "$RUN" journeys.0.ok)
check "iterations go on completing" wait_for 10 field_ge "$RUN" journeys.0.ok $((OK0 + 20))
ctl stop "$RUN" >/dev/null
check "the run ends" wait_done "$RUN" 30
check "its verdict fails, naming the lost runner, its host and its death" bash -c \
	"[ \"\$('$MITECTL' --socket '$SOCK' --json status '$RUN' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"run\"][\"verdict\"])')\" = failed ] && '$MITECTL' --socket '$SOCK' status '$RUN' | grep -q \"runner [0-9]* lost: host h1 (127.0.0.1) at run second [0-9.]*: runner [0-9]* killed by signal 11 (SIGSEGV, Segmentation fault) in journey 'get'\""
check "every iteration started ended (the lost ones counted as failed)" python3 -c "
import json, sys
s = json.load(open('$STATE/results/$RUN/summary.json'))
j = s['journeys'][0]
sys.exit(0 if j['started'] == j['ok'] + j['failed'] and s['run']['restarts'] == 1 else 1)"

# 2. A remote journey that never yields: the controller's watchdog has its
# host kill it, worded as a local runner's, and it is replaced.
cat >"$T/hang.conf" <<EOF2
name = "hang";
duration = 60;
hosts = "label=zone=a";
journeys = ( { name = "spinner"; journey = "$TPLUGINS/hang.so:journey";
               volume = { type = "stages"; steps = ( { count = 0; duration = 1.0; },
                                                     { count = 1; duration = 600.0; } ); }; } );
EOF2
HANG=$(ctl start "$T/hang.conf")
check "the watchdog asks the host to kill a silent remote runner" \
	wait_for 20 log_has "run $HANG: runner [0-9]* on host h1 silent for [0-9]* s; asking its host to kill it"
check "... its death reads as a local one's: killed by the watchdog" \
	wait_for 5 log_has "run $HANG: runner [0-9]* (pid [0-9]*) on host h1 killed by the watchdog: silent for over 3 s, its loop hung"
check "... and it is replaced on its host" wait_for 5 log_has "run $HANG: host h1: a runner replaced"
ctl stop "$HANG" --now >/dev/null
check "the hung run can be stopped" wait_for 20 field_is "$HANG" state done

# 3. runner_restarts = 0: nothing replaced, the run gives up.
write_conf 'runner_restarts = 0;'
kill -HUP "$MITED_PID"
check "reload: runner_restarts 0" wait_for 5 log_has "reload: runner_restarts: 20 -> 0"
RUN=$(ctl start "$(scen norestart 25 6)")
check "second run: h1's 2 runners" wait_for 10 host_runners_is "$RUN" h1 2
sleep 1
RPID=$(pids_of h1 | head -n1)
kill -SEGV "$RPID"
check "runner_restarts = 0: the death is named" \
	wait_for 5 log_has "run $RUN: runner [0-9]* (pid $RPID) on host h1 killed by signal 11"
check "... the run gives up on replacing runners" \
	wait_for 5 log_has "run $RUN: 0 runner restarts; giving up on replacing runners and stopping the run"
check "... no replacement is asked for" bash -c "! grep -q 'run $RUN: host h1: a runner replaced' '$LOG'"
check "... the run stops" wait_done "$RUN" 30
check "... its verdict fails, saying restarts ran out and naming the lost runner" bash -c \
	"[ \"\$('$MITECTL' --socket '$SOCK' --json status '$RUN' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"run\"][\"verdict\"])')\" = failed ] && '$MITECTL' --socket '$SOCK' --json status '$RUN' | grep -q 'runner restarts exhausted' && '$MITECTL' --socket '$SOCK' --json status '$RUN' | grep -q 'lost: host h1'"
check "... restarts stay 0" field_is "$RUN" restarts 0
check "the agents stay up" hosts_up 2
stop_mited
finish

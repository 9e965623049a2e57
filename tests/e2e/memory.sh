#!/bin/sh
# memory.sh - a finished run that mited remembers (keep_runs) keeps only
# what status, list, results and the metrics need: its datapool (here a CSV
# of a million rows), volume models and modules go when it ends, and so
# does its results writer thread. mited's RSS and thread count after six
# such runs are those after the first.
. "$(dirname "$0")/lib.sh"

write_conf 'keep_runs = 20;'
start_mited || finish

python3 - "$T/users.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("user,id,token\n")
    for i in range(1000000):
        f.write("user%d,%d,tok%08x\n" % (i, i, (i * 2654435761) % 2**32))
PY
SCN=$(scenario pooled 1 "{ name = \"p\"; journey = \"$PLUGINS/example.so:journey\";
    datapool = { type = \"csv\"; file = \"$T/users.csv\"; header = true; mode = \"recyclable\"; };
    volume = { type = \"constant\"; count = 2; }; }")

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$MITED_PID/status"; }

threads() { ls "/proc/$MITED_PID/task" | wc -l; }
# The run's writer thread is joined within a housekeeping tick or two.
threads_are() { [ "$(threads)" -eq "$1" ]; }

one_run() {
	local run
	run=$(ctl start "$SCN") || return 1
	wait_for 30 field_is "$run" state done || return 1
	echo "$run"
}

FIRST=$(one_run)
check "a run with a million-row CSV pool runs and ends" [ -n "$FIRST" ]
sleep 3
RSS0=$(rss_kb)
THR0=$(threads)
for i in 2 3 4 5 6; do
	R=$(one_run)
	check "run $i ends" [ -n "$R" ]
done
check "mited's thread count returns to $THR0 (no writer thread per remembered run)" \
	wait_for 10 threads_are "$THR0"
RSS1=$(rss_kb)
echo "mited RSS after the first run: $RSS0 kB; after six: $RSS1 kB"
check "mited's RSS stays flat over five more runs (+$(((RSS1 - RSS0) / 1024)) MB, at most +16)" \
	[ "$RSS1" -le $((RSS0 + 16 * 1024)) ]
check "every run is still remembered" [ "$(ctl list -q | wc -l)" -eq 6 ]
check "status of a remembered run still works" field_is "$FIRST" verdict passed
check "its results too" sh -c "\"$MITECTL\" --socket '$SOCK' results '$FIRST' | grep -q 'verdict'"
check "its events log ends with the end record" \
	sh -c "tail -n 1 '$STATE/results/$FIRST/events.jsonl' | grep -q '\"type\":\"end\"'"
stop_mited TERM
check "SIGTERM: exit 0" [ $? -eq 0 ]
finish

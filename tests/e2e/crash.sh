#!/bin/sh
# crash.sh - journeys that kill their runner (NULL dereference, stack
# overflow) or hang it (a loop that never yields): each runner is reported
# with the signal and the journey, and replaced; the run, the other runs
# and the daemon go on.
. "$(dirname "$0")/lib.sh"

[ -f "$TPLUGINS/crash.so" ] || { echo "FAIL: crash: tests/plugins/crash.so is not built (make check builds it)"; exit 1; }

write_conf 'runner_restarts = 50;'
start_mited || finish

# A bystander run that must not notice anything.
CALM=$(ctl start "$(scenario calm 60 "$(example_journey calm 2)")")
wait_for 10 field_is "$CALM" state running

# The crasher starts an iteration every 4 s (an open model), each of which
# takes its runner down; the good journey runs on the others meanwhile.
CRASHY=$(scenario crashy 60 "$(example_journey good 4),
  { name = \"crasher\"; journey = \"$TPLUGINS/crash.so:journey\";
    volume = { type = \"arrival\"; rate = 0.25; }; }")
RUN=$(ctl start "$CRASHY")
check "the crashing scenario starts" [ -n "$RUN" ]
check "a runner dies of SIGSEGV, reported with its journey" \
	wait_for 15 log_has "run $RUN: runner [0-9] (pid [0-9]*) killed by signal 11 (SIGSEGV.*in journey 'crasher'"
check "the runner named the journey itself on stderr" log_has "fatal signal 11 in journey crasher"
check "the runner is replaced" wait_for 10 log_has "run $RUN: runner [0-9] replaced"
check "status counts the restarts" wait_for 5 field_ge "$RUN" restarts 1
check "the run goes on" field_is "$RUN" state running
OK0=$(run_field "$RUN" journeys.0.ok)
check "the good journey goes on completing iterations" wait_for 15 field_ge "$RUN" journeys.0.ok $((OK0 + 4))
check "the daemon is alive" ctl ping
check "the bystander run is untouched" field_is "$CALM" state running
check "the bystander has no restarts" field_is "$CALM" restarts 0
check "the bystander keeps its instances" field_is "$CALM" journeys.0.actual 2
ctl stop "$RUN" --now >/dev/null
check "the crashing run can be stopped" wait_for 15 field_is "$RUN" state done
check "its verdict is failed" field_is "$RUN" verdict failed
# The iterations a crash took with it are counted (as failed, and lost):
# every iteration started has ended one way or another.
check "started = ok + failed for every journey, lost ones included" python3 - "$STATE/results/$RUN/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
bad = [(j["name"], j["started"], j["ok"], j["failed"]) for j in s["journeys"] if j["started"] != j["ok"] + j["failed"]]
lost = sum(j["lost"] for j in s["journeys"])
print("  lost %d; mismatches: %s" % (lost, bad))
sys.exit(1 if bad or lost < 1 else 0)
PY

# Stack overflow: core/coro.c's guard page, reported by name.
OVF=$(ctl start "$(scenario overflow 60 "{ name = \"deep\"; journey = \"$TPLUGINS/crash.so:overflow\";
    volume = { type = \"stages\"; steps = ( { count = 0; duration = 1.0; }, { count = 1; duration = 600.0; } ); }; }")" --runners 1)
check "a stack overflow is reported as such" \
	wait_for 15 log_has "run $OVF: runner 0 (pid [0-9]*) killed by signal 11 .*in journey 'deep'"
check "... with the overflow message" log_has "journey deep overflowed its [0-9]* KiB stack"
ctl stop "$OVF" --now >/dev/null
wait_for 15 field_is "$OVF" state done

# A journey that never yields: the watchdog (runner_timeout = 3 s) kills it.
if [ -f "$TPLUGINS/hang.so" ]; then
	HANG=$(ctl start "$(scenario hang 60 "{ name = \"spinner\"; journey = \"$TPLUGINS/hang.so:journey\";
	    volume = { type = \"stages\"; steps = ( { count = 0; duration = 1.0; }, { count = 1; duration = 600.0; } ); }; }")" --runners 1)
	check "the watchdog kills a hung runner" wait_for 20 log_has "run $HANG: runner 0 (pid [0-9]*) silent for"
	check "... reported as hung, with the journey" \
		wait_for 5 log_has "run $HANG: runner 0 (pid [0-9]*) killed by the watchdog.*journey 'spinner'"
	check "... and replaced" wait_for 10 log_has "run $HANG: runner 0 replaced"
	ctl stop "$HANG" --now >/dev/null
	check "the hung run can be stopped" wait_for 20 field_is "$HANG" state done
else
	fail "tests/plugins/hang.so is not built (make check builds it): the watchdog is not tested"
fi

check "the daemon is still alive" ctl ping
check "the bystander is still running" field_is "$CALM" state running
stop_mited TERM
check "SIGTERM: exit 0" [ $? -eq 0 ]
finish

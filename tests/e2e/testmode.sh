#!/bin/sh
# testmode.sh - mitectl's foreground modes against a journey that never
# yields (tests/e2e/hang.c): --duration, SIGINT and SIGTERM cannot reach
# the loop it holds, so the watchdog ends mitectl with status 6 and says
# which journey; a journey that yields still stops gracefully on SIGINT.
. "$(dirname "$0")/lib.sh"

HANG=$TPLUGINS/hang.so:journey
[ -f "$TPLUGINS/hang.so" ] || { echo "FAIL: testmode: tests/plugins/hang.so is not built (make check builds it)"; exit 1; }

# elapsed_since START: whole seconds since START ($(date +%s)).
elapsed_since() { echo $(($(date +%s) - $1)); }

# --duration: the limit, past the run's end.
S=$(date +%s)
timeout 60 "$MITECTL" journey test "$HANG" --duration 1 --runner-timeout 2 >"$T/out" 2>"$T/err"
rc=$?
check "a journey that never yields: status 6 (got $rc)" [ "$rc" -eq 6 ]
check "... within a bound ($(elapsed_since "$S") s)" [ "$(elapsed_since "$S")" -le 10 ]
check "... naming the journey" grep -q "journey .*hang.so:journey did not yield for [0-9.]* s" "$T/err"
check "... and why no summary" grep -q "no summary" "$T/err"

# signal SIG: SIG to a hung `journey test` (default limit, 10 s) after 1 s;
# it must end about 2 s later, with status 6.
signal() {
	local pid rc
	S=$(date +%s)
	"$MITECTL" journey test "$HANG" --results "$T/res-$1" >"$T/out" 2>"$T/err" &
	pid=$!
	sleep 1
	kill -"$1" "$pid"
	wait "$pid"
	rc=$?
	check "SIG$1 to a hung journey: status 6 (got $rc)" [ "$rc" -eq 6 ]
	check "... within a few seconds ($(elapsed_since "$S") s), not the 10 s limit" [ "$(elapsed_since "$S")" -le 6 ]
	check "... saying the interrupt cannot reach it" grep -q "the interrupt cannot reach it" "$T/err"
	check "... and where the results so far are" grep -q "what was written so far is in $T/res-$1" "$T/err"
}
signal INT
signal TERM

# A journey that yields: SIGINT still stops it gracefully, with a summary.
"$MITECTL" journey test "$PLUGINS/example.so:journey" range:1:1000 --volume 2 >"$T/out" 2>"$T/err" &
PID=$!
sleep 1.5
kill -INT "$PID"
wait "$PID"
rc=$?
check "SIGINT to a yielding journey: exit 0 (got $rc)" [ "$rc" -eq 0 ]
check "... after the summary" grep -q "verdict: passed" "$T/out"
check "... no watchdog" sh -c "! grep -q 'did not yield' '$T/err'"

check "--runner-timeout refuses 0" sh -c "! \"$MITECTL\" journey test '$HANG' --runner-timeout 0 2>/dev/null"

finish

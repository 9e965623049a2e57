#!/bin/sh
# runners.sh - what mited does to and for its runner processes beyond the
# protocol: their stderr is rate-limited into the log (runner_stderr), a
# runaway journey meets its runner's memory limit and is reported as such
# (runner_limits), open files are limited, and a runner started by hand
# with an id no run expects is logged once and gives up by itself (and
# SIGTERM ends it at any time).
. "$(dirname "$0")/lib.sh"

HP=$TPLUGINS/harden.so
[ -f "$HP" ] || { echo "FAIL: runners: $HP is not built (make check builds it)"; exit 1; }

write_conf 'runner_stderr = { lines_per_second = 20; bytes_per_second = "8K"; burst_seconds = 2.0; };
runner_limits = { memory = "256M"; open_files = 200; };
runner_restarts = 0;'
start_mited || finish

# ---- stderr: 2000 lines an iteration from each instance, for 6 s.
CH=$(ctl start "$(scenario chatty 6 "{ name = \"talk\"; journey = \"$HP:chatty\";
    volume = { type = \"constant\"; count = 2; }; }")" --runners 1)
check "the chatty run starts" [ -n "$CH" ]
check "... and ends" wait_for 20 field_is "$CH" state done
LINES=$(grep -c 'chatty line' "$LOG")
echo "chatty lines that reached the log: $LINES"
# One runner: a burst of 40 lines, then 20 a second for about 6 s.
check "stderr lines are rate-limited ($LINES logged, at most 40 + 20/s)" [ "$LINES" -le 250 ]
check "... but some get through" [ "$LINES" -ge 40 ]
check "what was dropped is counted in the log" \
	log_has "run $CH: runner 0: [0-9]* line(s) ([0-9]* bytes) of its stderr dropped in [0-9]* s (runner_stderr: 20 lines/s, 8192 bytes/s)"
check "mited's log stays small" [ "$(stat -c %s "$LOG")" -lt 1000000 ]

# ---- open files: the runner's own limit.
CALM=$(ctl start "$(scenario calm 600 "$(example_journey calm 1)")" --runners 1)
wait_for 10 field_is "$CALM" state running
# limit_is NAME VALUE: the calm run's runner has that limit (soft and hard).
limit_is() {
	RPID=$(pgrep -f -- "[-]-id $CALM\\." | head -n 1)
	[ -n "$RPID" ] && grep -q "^Max $1 *$2 *$2" "/proc/$RPID/limits"
}
check "a runner's open files are limited to runner_limits.open_files" wait_for 10 limit_is "open files" 200

# ---- memory: journeys that allocate without bound, with (hog) and
# without (burst) yielding; the runner's watch thread sees both.
HOG=$(ctl start "$(scenario hog 60 "{ name = \"hog\"; journey = \"$HP:hog\";
    volume = { type = \"constant\"; count = 1; }; }")" --runners 1)
check "a growing journey's runner is ended at its memory limit" \
	wait_for 30 log_has "run $HOG: runner 0 (pid [0-9]*) exceeded its memory limit of 256 MiB"
check "... which the runner said itself" log_has "run $HOG: runner 0: mite: memory limit of 256 MiB reached"
check "... the run stops (runner_restarts = 0) and is failed" wait_for 20 field_is "$HOG" verdict failed
check "... with the reason in its error" \
	sh -c "\"$MITECTL\" --socket '$SOCK' --json status '$HOG' | grep -q 'runner 0 lost: exceeded its memory limit of 256 MiB'"
BURST=$(ctl start "$(scenario burst 60 "{ name = \"burst\"; journey = \"$HP:burst\";
    volume = { type = \"constant\"; count = 1; }; }")" --runners 1)
check "a journey that allocates without ever yielding is ended too" \
	wait_for 30 log_has "run $BURST: runner 0 (pid [0-9]*) exceeded its memory limit of 256 MiB"
wait_for 20 field_is "$BURST" state done

# ---- address space (RLIMIT_AS), set by a reload for runners from then on:
# allocations fail at it, and a crash close to it is said as such.
sed -i 's/runner_limits = .*/runner_limits = { memory = 0; address_space = "1G"; open_files = 200; };/' "$CONF"
kill -HUP "$MITED_PID"
check "reload: the address space limit changes" wait_for 5 log_has "reload: runner_address_space: 0 -> 1073741824"
PROBE=$(ctl start "$(scenario probe 600 "$(example_journey probe 1)")" --runners 1)
wait_for 10 field_is "$PROBE" state running
as_is() {
	local pid
	pid=$(pgrep -f -- "[-]-id $PROBE\\." | head -n 1)
	[ -n "$pid" ] && grep -q "^Max address space *1073741824 *1073741824" "/proc/$pid/limits"
}
if wait_for 5 log_has "runner_limits.address_space (1024 MiB) not applied: this build has ASan"; then
	# A sanitizer build reserves terabytes: the limit is not applied, it
	# says so, and the crash at the limit is not tried.
	pass "a sanitizer build says its address space limit is not applied"
else
	check "a runner's address space is limited to runner_limits.address_space" wait_for 10 as_is
	BURST2=$(ctl start "$(scenario burst2 60 "{ name = \"burst\"; journey = \"$HP:burst\";
	    volume = { type = \"constant\"; count = 1; }; }")" --runners 1)
	check "a journey whose allocation fails at the limit crashes, said as such" \
		wait_for 30 log_has "run $BURST2: runner 0 (pid [0-9]*) killed by signal 11 (SIGSEGV.*in journey 'burst' at its address space limit of 1024 MiB"
	wait_for 20 field_is "$BURST2" state done
fi
ctl stop "$PROBE" --now >/dev/null
check "the bystander run never noticed" field_is "$CALM" state running
check "... nor lost a runner" field_is "$CALM" restarts 0

# ---- a runner started by hand, with an id no run expects.
"$MITED" --runner --connect "ipc://$T/runners.sock" --index 0 --id stranger --setup-timeout 3 \
	>"$T/stranger.out" 2>&1 &
STRANGER=$!
check "mited logs the unknown runner id" wait_for 5 log_has "runner id 'stranger' connected to ipc://$T/runners.sock, but no run expects it"
T0=$(date +%s)
wait "$STRANGER"
RC=$?
check "the runner gives up after its setup timeout, exit 1" [ "$RC" -eq 1 ]
check "... within 3 s and slack" [ $(($(date +%s) - T0)) -le 8 ]
check "... saying why" grep -q "no setup from ipc://$T/runners.sock within 3 s: no run there expects runner id 'stranger'" "$T/stranger.out"
"$MITED" --runner --connect "ipc://$T/runners.sock" --index 0 --id stranger --setup-timeout 1 >/dev/null 2>&1
check "the same id again is not logged again" [ "$(grep -c "runner id 'stranger' connected" "$LOG")" -eq 1 ]
"$MITED" --runner --connect "ipc://$T/runners.sock" --index 0 --id waiter >"$T/waiter.out" 2>&1 &
WAITER=$!
sleep 1
kill -TERM "$WAITER"
T0=$(date +%s)
wait "$WAITER"
RC=$?
check "SIGTERM ends a runner started by hand (by the signal)" [ "$RC" -eq 143 ]
check "... at once" [ $(($(date +%s) - T0)) -le 2 ]
check "... saying so" grep -q "runner: SIGTERM: exiting" "$T/waiter.out"
check "--help says runners by hand are not supported" sh -c "\"$MITED\" --help | grep -q 'are not supported yet'"
check "mited(8) says the same" grep -q "are not supported yet" "$top_srcdir/man/mited.8"

ctl stop "$CALM" >/dev/null
stop_mited TERM
check "SIGTERM: exit 0" [ $? -eq 0 ]
finish

#!/bin/bash
# debug.sh - mitectl's debugging aids end to end, against mite-target on an
# ephemeral loopback port (its --request-log says what it received):
# --debug stops at the first failure with file:line, row and the last
# exchange, an honest verdict and exit status; --debug=all prints every
# failure and runs to the end; --trace-http prints every exchange of one
# instance (both HTTP clients), bodies cut to 1 KiB and control bytes
# escaped; a journey's frames under gdb (when gdb is installed). Every run
# is bounded (--duration, timeout). Prints one PASS:/FAIL: line per check.
set -u
: "${top_builddir:=$(pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
MITECTL=$top_builddir/mitectl
TARGET=$top_builddir/tools/mite-target
SO=$top_builddir/tests/plugins/debug.so
SRC=$top_srcdir/tests/plugins/debug.c
NAME=debug
T=$(mktemp -d /tmp/mite-debug.XXXXXX) || exit 99
TPID=
PASSES=0
FAILS=0

cleanup() {
	[ -n "$TPID" ] && kill "$TPID" 2>/dev/null && wait "$TPID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

pass() { echo "PASS: $NAME: $*"; PASSES=$((PASSES + 1)); }
fail() { echo "FAIL: $NAME: $*"; FAILS=$((FAILS + 1)); }
check() {
	local desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}

"$TARGET" --port 0 --request-log "$T/requests.log" >"$T/target.out" 2>&1 &
TPID=$!
for _ in $(seq 50); do grep -q listening "$T/target.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$T/target.out")
[ -n "$PORT" ] || { echo "FAIL: $NAME: mite-target did not start"; cat "$T/target.out"; exit 1; }
BASE=http://127.0.0.1:$PORT

# The lines of debug.c the failures must name.
EXPECT_LINE=$(grep -n 'debug.sh: expect' "$SRC" | cut -d: -f1)
BIG_LINE=$(grep -n 'debug.sh: big' "$SRC" | cut -d: -f1)
BATCH_LINE=$(grep -n 'debug.sh: batch' "$SRC" | cut -d: -f1)

# mctl NAME ARGS...: runs mitectl (bounded), output in $T/NAME.out, exit status in $T/NAME.rc.
mctl() {
	local n=$1
	shift
	: >"$T/requests.log"
	timeout 60 "$MITECTL" --no-color "$@" --set base_url="$BASE" >"$T/$n.out" 2>&1
	echo $? >"$T/$n.rc"
}
rc_of() { cat "$T/$1.rc"; }
has() { grep -qF -- "$2" "$T/$1.out"; }
count() { grep -cF -- "$2" "$T/$1.out"; }
# Requests the target received whose target (path and query) has $1.
received() { grep -c "\"target\":\"[^\"]*$1" "$T/requests.log"; }
# check_all DESCRIPTION 'SHELL CONDITION': PASS when the condition (eval'ed) holds.
check_all() {
	local desc=$1
	shift
	if eval "$*"; then pass "$desc"; else fail "$desc"; fi
}
show() { tail -n 40 "$T/$1.out" | sed 's/^/    | /'; }

# ---- --debug: the first failure stops the run -----------------------------
for ENGINE in auto curl; do
	n=first_$ENGINE
	mctl "$n" journey test "$SO:fail_on" range:1:10 --duration 20 --debug --set http_engine=$ENGINE
	check "$ENGINE: exit status 1 (failed), not 0" [ "$(rc_of "$n")" = 1 ]
	check "$ENGINE: exactly one failure printed" [ "$(count "$n" '==== failure')" = 1 ]
	check "$ENGINE: on the 3rd iteration of instance 1" has "$n" "(instance 1, iteration 3,"
	check "$ENGINE: at the journey's file:line" has "$n" "at:          debug.c:$EXPECT_LINE:fail_on"
	check "$ENGINE: the error" has "$n" "returned 500 (expected 200)"
	check "$ENGINE: the row it was using" has "$n" "row:         id 2: [0]=3"
	check "$ENGINE: the request sent" has "$n" "  > GET /status/500 HTTP/1.1"
	check "$ENGINE: its headers" has "$n" "  > User-Agent: mite/"
	check "$ENGINE: the response" has "$n" "  < HTTP/1.1 500"
	check "$ENGINE: its headers" has "$n" "  < Content-Type: text/plain"
	check "$ENGINE: its body" has "$n" "    | 500"
	check "$ENGINE: the timings" has "$n" "  timings: dns "
	want=native
	[ $ENGINE = curl ] && want=libcurl
	check "$ENGINE: made by the $want client" has "$n" "request ($want client, made at debug.c:$((EXPECT_LINE - 1)):fail_on)"
	check "$ENGINE: the verdict says it stopped early" has "$n" "stopped early by --debug at the first failure"
	check "$ENGINE: the verdict is not passed" has "$n" "verdict: failed"
	# Iterations 1 to 3, then nothing: the run stopped there.
	check_all "$ENGINE: the target saw 3 GETs, 1 of them /status/500" \
		'[ "$(received /status/)" = 3 ] && [ "$(received /status/500)" = 1 ]'
	[ "$(received /status/)" = 3 ] || show "$n"
done

# Thresholds that allow the failure, and no duration: a run stopped by
# --debug is still not "passed" (incomplete: stopped early).
cat >"$T/th.conf" <<EOF
name = "th";
journeys = ( { name = "j"; journey = "$SO:fail_on";
  datapool = { type = "range"; from = 1; to = 10; mode = "recyclable"; };
  volume = { type = "constant"; count = 1; }; } );
thresholds = ( { metric = "txn:step"; stat = "failure_rate"; max = 0.9; } );
EOF
mctl th scenario test "$T/th.conf" --debug
check "errors the thresholds allow, no duration: exit status 8 (incomplete), not 0" [ "$(rc_of th)" = 8 ]
check "... stopped early by --debug" has th "stopped early by --debug at the first failure"
[ "$(rc_of th)" = 8 ] || show th

# A failure by return, without mite_fail: no file:line of its own.
mctl ret journey run "$SO:plain_return" --debug
check "a bare return: exit status 1" [ "$(rc_of ret)" = 1 ]
check "a bare return: said so, with its last request's place" \
	has ret "the journey's return (no mite_fail said where; its last request: debug.c:"

# ---- --debug=all: every failure, to the end ---------------------------------
cat >"$T/all.conf" <<EOF
name = "all";
config = { fail_odd = 1; };
journeys = ( { name = "odd"; journey = "$SO:fail_on";
  datapool = { type = "range"; from = 1; to = 6; mode = "iterable"; };
  volume = { type = "constant"; count = 1; }; } );
EOF
mctl all scenario test "$T/all.conf" --debug=all
check "--debug=all: exit status 1" [ "$(rc_of all)" = 1 ]
check "--debug=all: three failures printed" [ "$(count all '==== failure')" = 3 ]
check_all "--debug=all: rows 1, 3 and 5" 'has all "[0]=1" && has all "[0]=3" && has all "[0]=5"'
check_all "--debug=all: not stopped early" '! has all "stopped early"'
check "--debug=all: ran to the end (6 iterations)" [ "$(received /status/)" = 6 ]
check "--debug=all: verdict failed" has all "verdict: failed (journey errors: 3 of 6 iteration(s) failed)"

# ---- bounds ------------------------------------------------------------------
mctl big journey run "$SO:big" --debug
check "a 5000-byte body: said cut" has big "body: 5000 bytes, the first 1024 shown:"
check "a 5000-byte body: 1024 bytes shown" \
	[ "$(grep '^    | ' "$T/big.out" | sed 's/^    | //' | tr -d '\n' | wc -c)" = 1024 ]
check "a 5000-byte body: at its file:line" has big "at:          debug.c:$BIG_LINE:big"

# ---- --trace-http -------------------------------------------------------------
for ENGINE in auto curl; do
	n=trace_$ENGINE
	mctl "$n" journey test "$SO:traced" --volume 2 --duration 1 --trace-http --set http_engine=$ENGINE
	sent=$(received 'instance=1&')
	shown=$(count "$n" '---- HTTP trace: instance 1,')
	check_all "$ENGINE: --trace-http: instance 1's requests, each shown ($shown of $sent)" \
		'[ "$shown" -ge 3 ] && [ "$shown" = "$sent" ] && [ "$(count "$n" "> GET /status/200?instance=1&")" = "$sent" ]'
	check_all "$ENGINE: --trace-http: none of instance 2's" '! has "$n" "instance=2&"'
	check "$ENGINE: --trace-http: instance 2 ran too" [ "$(received 'instance=2&')" -ge 3 ]
	check "$ENGINE: --trace-http: exit status 0" [ "$(rc_of "$n")" = 0 ]
	n=trace2_$ENGINE
	mctl "$n" journey test "$SO:traced" --volume 2 --duration 1 --trace-instance 2 --set http_engine=$ENGINE
	sent=$(received 'instance=2&')
	check_all "$ENGINE: --trace-instance 2: its requests only ($sent)" \
		'[ "$sent" -ge 3 ] && [ "$(count "$n" "> GET /status/200?instance=2&")" = "$sent" ] && ! has "$n" "instance=1&"'
done
# A batch's requests: --trace-http shows each, --debug the one that failed
# (the batch's second, not the last one made).
for ENGINE in auto curl; do
	n=btrace_$ENGINE
	mctl "$n" journey run "$SO:batch" range:1:1 --trace-http --set http_engine=$ENGINE
	check_all "$ENGINE: --trace-http: each of a batch's 3 requests shown" \
		'[ "$(count "$n" "> GET /status/200?batch=1.")" = 3 ] && [ "$(count "$n" "> GET /status/200?batch=1.1 ")" = 1 ]'
	n=bdebug_$ENGINE
	mctl "$n" journey test "$SO:batch" range:1:3 --duration 20 --debug --set http_engine=$ENGINE
	check "$ENGINE: --debug in a batch: exit status 1" [ "$(rc_of "$n")" = 1 ]
	check "$ENGINE: --debug in a batch: at its file:line" has "$n" "at:          debug.c:$BATCH_LINE:batch"
	check "$ENGINE: --debug in a batch: the failing request's exchange" \
		has "$n" "  > GET /status/500?batch=2.1 HTTP/1.1"
	check "$ENGINE: --debug in a batch: its response" has "$n" "  < HTTP/1.1 500"
	check_all "$ENGINE: --debug in a batch: not another request's" '! has "$n" "> GET /status/200?batch=2."'
done

# Request bodies are shown, their control bytes escaped (no raw ESC reaches the terminal).
mctl trbody journey run "$SO:fail_on" range:1:1 --trace-http
check "--trace-http: a request body, escaped" has trbody '    | hello \x1b[31m debug'
ESC=$'\033'
check_all "--trace-http: no raw control byte" '! grep -qF "$ESC" "$T/trbody.out"'
check "--trace-http: the request's own header" has trbody "  > X-Row: 1"

# ---- bad options ---------------------------------------------------------------
mctl bad1 journey run "$SO:fail_on" --debug=most
check_all "--debug=most: usage error (2)" '[ "$(rc_of bad1)" = 2 ] && has bad1 "--debug takes no value, =first or =all (got '"'most'"')"'
mctl bad2 journey run "$SO:fail_on" --trace-instance 0
check_all "--trace-instance 0: usage error (2)" '[ "$(rc_of bad2)" = 2 ] && has bad2 "--trace-instance takes an instance id from 1"'
mctl bad3 journey run "$SO:fail_on" --trace-instance x1
check "--trace-instance x1: usage error (2)" [ "$(rc_of bad3)" = 2 ]

# ---- gdb: the journey's frames ----------------------------------------------
if command -v gdb >/dev/null; then
	timeout 120 gdb -q -batch -ex 'set breakpoint pending on' -ex 'break fail_on' -ex run -ex bt \
		--args "$MITECTL" journey run "$SO:fail_on" range:1:1 --set base_url="$BASE" >"$T/gdb.out" 2>&1
	check "gdb: the breakpoint in the journey is hit" grep -q 'hit Breakpoint 1, fail_on (' "$T/gdb.out"
	check "gdb: bt walks the journey's coroutine frames" grep -q '^#1 .* inst_main (' "$T/gdb.out"
	check "gdb: no --runner-timeout under a debugger" grep -q 'under a debugger: no --runner-timeout' "$T/gdb.out"
	grep -q '^#1 .* inst_main (' "$T/gdb.out" || sed 's/^/    | /' "$T/gdb.out" | tail -20
	printf 'bt\nkill\nquit\n' | timeout 120 "$MITECTL" journey run "$SO:fail_on" range:1:1 --set base_url="$BASE" \
		--gdb >"$T/gdbopt.out" 2>&1
	check "--gdb: stops in the journey; bt shows it" grep -q '#0 .*fail_on (' "$T/gdbopt.out"
else
	echo "NOTE: $NAME: gdb is not installed: its checks did not run"
fi

echo "$NAME: $PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]

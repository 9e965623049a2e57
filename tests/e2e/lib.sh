# lib.sh - shared by the end-to-end tests of mited and mitectl.
#
# Each test sources this file, starts mited on a private socket and state
# folder under a fresh temporary folder, drives it with mitectl, prints one
# PASS:/FAIL: line per check, and cleans up (mited, its runners, the
# folder) however it ends. Every wait is bounded, and the whole test is
# killed after E2E_LIMIT seconds.

set -u

: "${top_builddir:=$(pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
MITED=$top_builddir/mited
MITECTL=$top_builddir/mitectl
PLUGINS=$top_builddir/plugins
TPLUGINS=$top_builddir/tests/plugins
E2E_NAME=$(basename "$0" .sh)
: "${E2E_LIMIT:=180}"

# Short: the socket path must fit in sun_path (108 bytes).
T=$(mktemp -d /tmp/mite-e2e.XXXXXX) || exit 99
SOCK=$T/mited.sock
STATE=$T/state
CONF=$T/mited.conf
LOG=$T/mited.log
MITED_PID=
E2E_PASSES=0
E2E_FAILS=0

pass() { echo "PASS: $E2E_NAME: $*"; E2E_PASSES=$((E2E_PASSES + 1)); }
fail() { echo "FAIL: $E2E_NAME: $*"; E2E_FAILS=$((E2E_FAILS + 1)); }

# check DESCRIPTION COMMAND...: PASS when the command succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}

# check_ran DESCRIPTION RC OUTPUT: a run passed (0), or said it was tainted
# (7) because mite itself was saturated - the honest verdict on a loaded
# machine or under the sanitizers. Anything else fails, with the run's
# output shown so the log says why.
check_ran() {
	local desc=$1 rc=$2 out=$3
	if [ "$rc" -eq 0 ] || { [ "$rc" -eq 7 ] && grep -q "saturated" "$out"; }; then
		pass "$desc"
	else
		fail "$desc (exit $rc)"
		tail -n 30 "$out" | sed 's/^/    | /'
	fi
}

ctl() { "$MITECTL" --socket "$SOCK" --no-color "$@"; }

# wait_for SECONDS COMMAND...: polls every 0.2 s until the command succeeds.
# The limit is multiplied by E2E_SLOW (default 3): these waits bound a
# hang, they are not timing assertions, and a loaded CI machine (or the
# sanitizer build) is slow.
wait_for() {
	local limit=$(($1 * ${E2E_SLOW:-3})) i=0
	shift
	while [ "$i" -lt $((limit * 5)) ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
		i=$((i + 1))
	done
	return 1
}

# A field of a JSON document on stdin: jget 'run.state' (python3 paths).
jget() {
	python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[int(k)] if isinstance(v, list) else v.get(k)
    if v is None:
        break
print("" if v is None else (json.dumps(v) if isinstance(v, (dict, list)) else v))
' "$1"
}

# run_field RUN PATH: a field of `mitectl --json status RUN`.
run_field() { ctl --json status "$1" 2>/dev/null | jget "run.$2"; }

# field_is RUN PATH VALUE
field_is() { [ "$(run_field "$1" "$2")" = "$3" ]; }

# field_ge RUN PATH NUMBER
field_ge() {
	local v
	v=$(run_field "$1" "$2")
	[ -n "$v" ] && python3 -c "import sys; sys.exit(0 if float('$v') >= float('$3') else 1)"
}

log_has() { grep -q -- "$1" "$LOG"; }

# write_conf [EXTRA LINES]: a mited.conf for the tests.
write_conf() {
	cat >"$CONF" <<EOF
plugin_dirs = [ "$PLUGINS", "$TPLUGINS" ];
runners = 2;
grace = 3.0;
shutdown_grace = 5.0;
runner_timeout = 3.0;
client_timeout = 5.0;
log_level = "debug";
$*
EOF
}

# scenario NAME DURATION JOURNEY-ENTRIES: writes $T/NAME.conf.
scenario() {
	cat >"$T/$1.conf" <<EOF
name = "$1";
duration = $2;
config = { test_msg = "e2e"; };
journeys = ( $3 );
EOF
	echo "$T/$1.conf"
}

# An entry: the example journey (a transaction, then 0.5 s of sleep).
example_journey() {
	echo "{ name = \"${1:-ex}\"; journey = \"$PLUGINS/example.so:journey\";
	    datapool = { type = \"range\"; from = 1; to = 100000; };
	    volume = { type = \"constant\"; count = ${2:-4}; }; }"
}

start_mited() {
	[ -f "$CONF" ] || write_conf
	"$MITED" --config "$CONF" --socket "$SOCK" --state-dir "$STATE" "$@" >>"$LOG" 2>&1 &
	MITED_PID=$!
	if wait_for 10 ctl ping; then
		return 0
	fi
	fail "mited did not come up"
	return 1
}

# stop_mited [SIGNAL]: signals mited and waits (bounded) for its exit;
# returns its exit status (124 when it did not exit).
stop_mited() {
	local sig=${1:-TERM} i=0
	[ -n "$MITED_PID" ] || return 0
	kill -"$sig" "$MITED_PID" 2>/dev/null
	while kill -0 "$MITED_PID" 2>/dev/null && [ "$i" -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$MITED_PID" 2>/dev/null; then
		kill -KILL "$MITED_PID" 2>/dev/null
		wait "$MITED_PID" 2>/dev/null
		MITED_PID=
		return 124
	fi
	wait "$MITED_PID"
	local rc=$?
	MITED_PID=
	return $rc
}

# Runner processes of this test's mited (they carry its endpoint), or of
# one run. ("[-]" keeps pgrep from matching a shell that runs it.)
runner_count() { pgrep -f -- "[-]-connect ipc://$T/" | wc -l; }
run_runners() { pgrep -f -- "[-]-connect ipc://$T/.* --id $1\." | wc -l; }

e2e_cleanup() {
	if [ -n "$MITED_PID" ] && kill -0 "$MITED_PID" 2>/dev/null; then
		kill -KILL "$MITED_PID" 2>/dev/null
		wait "$MITED_PID" 2>/dev/null
	fi
	pkill -KILL -f -- "[-]-connect ipc://$T/" 2>/dev/null
	if [ -n "${E2E_WATCHDOG:-}" ]; then
		pkill -P "$E2E_WATCHDOG" 2>/dev/null
		kill "$E2E_WATCHDOG" 2>/dev/null
		wait "$E2E_WATCHDOG" 2>/dev/null
	fi
	rm -rf "$T"
}

# finish: the verdict of the test (and mited's log when something failed).
finish() {
	if [ "$E2E_FAILS" -gt 0 ] && [ -f "$LOG" ]; then
		echo "---- mited log ($LOG) ----"
		tail -n 80 "$LOG"
		echo "----"
	fi
	echo "$E2E_NAME: $E2E_PASSES passed, $E2E_FAILS failed"
	[ "$E2E_FAILS" -eq 0 ]
	exit $?
}

trap e2e_cleanup EXIT
trap 'echo "FAIL: $E2E_NAME: interrupted or timed out"; exit 1' TERM INT
(sleep "$E2E_LIMIT" && kill -TERM $$) >/dev/null 2>&1 &
E2E_WATCHDOG=$!

for f in "$MITED" "$MITECTL" "$PLUGINS/example.so"; do
	if [ ! -x "$f" ] && [ ! -f "$f" ]; then
		echo "FAIL: $E2E_NAME: $f is not built (make check builds it)"
		exit 1
	fi
done
command -v python3 >/dev/null || { echo "SKIP: $E2E_NAME: python3 is needed"; exit 77; }

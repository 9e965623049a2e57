#!/bin/bash
# ws-metrics.sh - WebSocket journeys through mited: a run of
# plugins/ws_echo.so against mite-target --ws-port, and mited's /metrics
# (mite_ws_message_total, mite_ws_bytes_total each way) equal what the
# server counted; every marked echo is in mite_ws_round_trip_seconds and
# every connection in mite_ws_connect_seconds; a server that closes with
# 1011 shows in mite_ws_error_total (class closed) and fails the run.
. "$(dirname "$0")/lib.sh"

TARGET=$top_builddir/tools/mite-target
PROM="python3 $top_srcdir/tests/e2e/promparse.py"
TPID=
trap 'if [ -n "$TPID" ]; then kill "$TPID" 2>/dev/null; wait "$TPID" 2>/dev/null; fi; e2e_cleanup' EXIT

"$TARGET" --port 0 --ws-port 0 >"$T/target.out" 2>&1 &
TPID=$!
for _ in $(seq 50); do grep -q "ws listening" "$T/target.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$T/target.out")
WSPORT=$(sed -n 's/^ws listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$T/target.out")
[ -n "$PORT" ] && [ -n "$WSPORT" ] || { fail "mite-target did not start"; finish; }

get() {
	python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$1"
}

start_mited --metrics-listen 127.0.0.1:0 || finish
MPORT=$(sed -n 's|.*metrics on http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$LOG" | head -1)
[ -n "$MPORT" ] || { fail "mited said nowhere where /metrics is"; finish; }

# wsrun NAME PATH: a 2 s run of 4 instances echoing on ws://.../PATH; its
# run id in NAME.run, the target's counts in NAME.target.json, /metrics in
# NAME.metrics.txt.
wsrun() {
	cat >"$T/$1.conf" <<CONF
name = "$1";
duration = 2;
config = { ws_url = "ws://127.0.0.1:$WSPORT$2"; messages = "5"; };
journeys = ( { name = "echo"; journey = "$PLUGINS/ws_echo.so:journey";
	volume = { type = "constant"; count = 4; }; } );
CONF
	get "http://127.0.0.1:$PORT/stats/reset" >/dev/null
	timeout 60 "$MITECTL" --socket "$SOCK" --no-color start "$T/$1.conf" --wait >"$T/$1.out" 2>&1
	eval "rc_$1=$?"
	head -1 "$T/$1.out" >"$T/$1.run"
	get "http://127.0.0.1:$PORT/stats" >"$T/$1.target.json"
	get "http://127.0.0.1:$MPORT/metrics" >"$T/$1.metrics.txt"
}

# sum NAME FAMILY LABEL=VALUE...: the sum of a family's samples of run NAME.
sum() {
	local n=$1 fam=$2
	shift 2
	$PROM --sum "$fam" run="$(cat "$T/$n.run")" "$@" <"$T/$n.metrics.txt"
}

# target NAME KEY: the server's ws count KEY.
target() {
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["ws"][sys.argv[2]])' "$T/$1.target.json" "$2"
}

wsrun echo /echo
check_ran "an echo run passes" "$rc_echo" "$T/echo.out"
check "the exposition parses back strictly" sh -c "$PROM <'$T/echo.metrics.txt' >/dev/null"
SENT=$(sum echo mite_ws_message_total direction=sent)
RECV=$(sum echo mite_ws_message_total direction=received)
echo "metrics: sent $SENT received $RECV; server: in $(target echo messages_in) out $(target echo messages_out)"
check "messages sent = the server's received (and not 0)" sh -c "[ '$SENT' = '$(target echo messages_in)' ] && [ '$SENT' != 0 ]"
check "messages received = the server's sent" [ "$RECV" = "$(target echo messages_out)" ]
check "bytes each way = the server's" sh -c "[ '$(sum echo mite_ws_bytes_total direction=sent)' = '$(target echo bytes_in)' ] && [ '$(sum echo mite_ws_bytes_total direction=received)' = '$(target echo bytes_out)' ]"
check "one round trip per echo" [ "$(sum echo mite_ws_round_trip_seconds_count)" = "$RECV" ]
check "one connect time per connection the server took" [ "$(sum echo mite_ws_connect_seconds_count)" = "$(target echo connections)" ]
check "no ws errors" [ "$(sum echo mite_ws_error_total)" = 0 ]

wsrun closing "/close?code=1011&after=1"
check "a server closing with 1011: the run fails (exit 1)" [ "$rc_closing" -eq 1 ]
check "... mite_ws_error_total class closed counts it" sh -c "[ \"\$($PROM --sum mite_ws_error_total run='$(cat "$T/closing.run")' class=closed <'$T/closing.metrics.txt')\" -gt 0 ]"

finish

#!/bin/bash
# ws.sh - WebSocket journeys end to end: `mitectl scenario test` of
# conf/ws-echo.conf (plugins/ws_echo.c) against mite-target --ws-port on an
# ephemeral loopback port. What mite reports (results/summary.json) must be
# exactly what the server saw (its /stats "ws": messages and payload bytes
# each way, connections, closes); a server that closes with 1011, one that
# never answers and one that sends a malformed frame fail the run, with
# their class counted and the exit status saying so. wss:// against a
# second mite-target speaking TLS (--ws-cert, certificates from
# tests/tls-certs.sh): counted exactly with ca_file set, class tls without.
# Every run is bounded (--duration and timeout). Prints one PASS:/FAIL: line
# per check.
set -u
: "${top_builddir:=$(pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
MITECTL=$top_builddir/mitectl
TARGET=$top_builddir/tools/mite-target
export MITE_PLUGIN_PATH=$top_builddir/plugins
NAME=ws
T=$(mktemp -d /tmp/mite-ws.XXXXXX) || exit 99
TPID=
SPID=
FAILS=0

cleanup() {
	[ -n "$TPID" ] && kill "$TPID" 2>/dev/null && wait "$TPID" 2>/dev/null
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

pass() { echo "PASS: $NAME: $*"; }
fail() { echo "FAIL: $NAME: $*"; FAILS=$((FAILS + 1)); }
check() {
	local desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}
# ran RC OUT: a run passed (0), or said it was tainted (7) because mite
# itself was saturated (a loaded machine, the sanitizers).
ran() { [ "$1" -eq 0 ] || { [ "$1" -eq 7 ] && grep -q "saturated" "$2"; }; }

command -v python3 >/dev/null || { echo "FAIL: $NAME: python3 is needed (quickstart.sh installs it)"; exit 1; }

"$TARGET" --port 0 --ws-port 0 >"$T/target.out" 2>&1 &
TPID=$!
for _ in $(seq 50); do grep -q "ws listening" "$T/target.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$T/target.out")
WSPORT=$(sed -n 's/^ws listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$T/target.out")
[ -n "$PORT" ] && [ -n "$WSPORT" ] || { echo "FAIL: $NAME: mite-target did not start"; cat "$T/target.out"; exit 1; }
WS=ws://127.0.0.1:$WSPORT

# target [PORT] PATH: a GET of mite-target's (the first one's by default)
target() {
	local p=$PORT
	[ $# -eq 2 ] && { p=$1; shift; }
	python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
		"http://127.0.0.1:$p$1"
}

# scenario NAME [mitectl args]: runs conf/ws-echo.conf, keeping the exit
# code in rc_NAME and the server's counts in NAME.target.json.
# (SPORT=N: of the mite-target on HTTP port N.)
scenario() {
	local n=$1 p=${SPORT:-$PORT}
	shift
	target "$p" /stats/reset >/dev/null
	timeout 60 "$MITECTL" --no-color scenario test "$top_srcdir/conf/ws-echo.conf" --results "$T/$n" "$@" \
		>"$T/$n.out" 2>&1
	eval "rc_$n=$?"
	target "$p" /stats >"$T/$n.target.json"
}

# exact NAME: messages and payload bytes each way equal the server's; every
# connection closed cleanly.
exact() {
	python3 - "$T/$1/summary.json" "$T/$1.target.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
t = json.load(open(sys.argv[2]))["ws"]
rows = s.get("ws", [])
tot = lambda k: sum(r[k] for r in rows)
conns = sum(r["connect"]["count"] for r in rows)
rtts = sum(r["rtt"]["count"] for r in rows)
ok = (tot("messages_out") == t["messages_in"] > 0 and tot("bytes_out") == t["bytes_in"] and
      tot("messages_in") == t["messages_out"] and tot("bytes_in") == t["bytes_out"] and
      conns == t["connections"] == t["closes_in"] and t["open"] == 0 and
      rtts == tot("messages_in") and not s.get("ws_errors"))
if not ok:
    print("  mite %s\n  server %s\n  errors %s" % (rows, t, s.get("ws_errors")))
sys.exit(0 if ok else 1)
PY
}

# 1. The echo loop: counted exactly as the server saw it.
scenario echo --set ws_url="$WS/echo" --duration 2
check "ws-echo.conf ran and passed" ran "$rc_echo" "$T/echo.out"
check "messages and payload bytes each way equal the server's; every connection closed cleanly" \
	exact echo
check "summary.txt shows the ws table" grep -q "^ws (transaction)" "$T/echo/summary.txt"

# 2. The server closes with 1011 after two messages: class "closed", the
#    code in the message, exit 1.
scenario close --set ws_url="$WS/close?code=1011&after=2&reason=overloaded" --duration 1
check "server close 1011: exit 1 (journey errors)" test "$rc_close" -eq 1
check "server close 1011: class closed, code and reason in the message" python3 - "$T/close/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
errs = [e for e in s.get("ws_errors", []) if e["class"] == "closed" and e["count"] > 0]
msgs = [e for e in s.get("errors", []) if "(closed): the server closed the connection with 1011 (overloaded)" in e["message"]]
if not errs or not msgs:
    print("  ws_errors %s\n  errors %s" % (s.get("ws_errors"), s.get("errors")))
sys.exit(0 if errs and msgs else 1)
PY

# 3. A server that never answers: the receive times out (reply_timeout).
scenario silent --set ws_url="$WS/silent" --set reply_timeout=0.2 --duration 1
check "silent server: exit 1" test "$rc_silent" -eq 1
check "silent server: class timeout counted" python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if any(e["class"]=="timeout" and e["count"]>0 for e in s.get("ws_errors",[])) else 1)' \
	"$T/silent/summary.json"

# 4. A malformed frame: class protocol.
scenario bad --set ws_url="$WS/bad?after=1" --duration 1
check "malformed frame: exit 1, class protocol" python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if sys.argv[2]=="1" and any(e["class"]=="protocol" and e["count"]>0 for e in s.get("ws_errors",[])) else 1)' \
	"$T/bad/summary.json" "$rc_bad"

# 5. wss://: a second mite-target speaks TLS on its WebSocket port.
sh "$top_srcdir/tests/tls-certs.sh" "$T/certs" >/dev/null || { echo "FAIL: $NAME: tests/tls-certs.sh failed"; exit 1; }
"$TARGET" --port 0 --ws-port 0 --ws-cert "$T/certs/good.pem" --ws-key "$T/certs/good.key" \
	>"$T/tls-target.out" 2>&1 &
SPID=$!
for _ in $(seq 50); do grep -q "wss listening" "$T/tls-target.out" 2>/dev/null && break; sleep 0.1; done
TLSPORT=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$T/tls-target.out")
WSSPORT=$(sed -n 's/^wss listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$T/tls-target.out")
[ -n "$TLSPORT" ] && [ -n "$WSSPORT" ] || { echo "FAIL: $NAME: mite-target (TLS) did not start"; cat "$T/tls-target.out"; exit 1; }
SPORT=$TLSPORT scenario wss --set ws_url="wss://127.0.0.1:$WSSPORT/echo" --set ca_file="$T/certs/ca.pem" --duration 2
check "wss:// with ca_file: ran and passed" ran "$rc_wss" "$T/wss.out"
check "wss://: counted exactly as the server saw it" exact wss

# 6. wss:// without the CA: the handshake fails, class tls, in HTTP's words.
SPORT=$TLSPORT scenario wssca --set ws_url="wss://127.0.0.1:$WSSPORT/echo" --duration 0.5
check "wss:// unknown CA: exit 1, class tls, \"unknown CA\" in the message" python3 - "$T/wssca/summary.json" "$rc_wssca" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
errs = [e for e in s.get("ws_errors", []) if e["class"] == "tls" and e["count"] > 0]
msgs = [e for e in s.get("errors", []) if "(tls): unknown CA: SSL certificate problem" in e["message"]]
ok = sys.argv[2] == "1" and errs and msgs
if not ok:
    print("  exit %s\n  ws_errors %s\n  errors %s" % (sys.argv[2], s.get("ws_errors"), s.get("errors")))
sys.exit(0 if ok else 1)
PY

if [ "$FAILS" -ne 0 ]; then
	for f in "$T"/*.out; do echo "--- $f"; tail -30 "$f"; done
	exit 1
fi
exit 0

# hostslib.sh - sourced after lib.sh by the tests of runner hosts on
# loopback (hosts.sh, hosts-respawn.sh): mite-target started (TPORT,
# `target PATH`), agents started with `agent NAME [ARGS...]` (key NAME,
# log $T/NAME.log, pid in PID_NAME; $EP is the controller's endpoint) and
# killed on exit, `free_port`, `hosts_up N`, `scen NAME DURATION COUNT`.

TARGET=$top_builddir/tools/mite-target
[ -x "$TARGET" ] || { echo "FAIL: $E2E_NAME: mite-target is not built (make check builds it)"; exit 1; }
AGENT_PIDS=()
TPID=

hosts_cleanup() {
	for p in "${AGENT_PIDS[@]}" $TPID; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	e2e_cleanup
}
trap hosts_cleanup EXIT

# A free loopback port (bound and released: the window is small).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$TARGET" --port 0 >"$T/target.out" 2>&1 &
TPID=$!
for _ in $(seq 50); do grep -q listening "$T/target.out" 2>/dev/null && break; sleep 0.1; done
TPORT=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$T/target.out")
[ -n "$TPORT" ] || { echo "FAIL: $E2E_NAME: mite-target did not start"; exit 1; }
target() { python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "http://127.0.0.1:$TPORT$1"; }

# agent NAME [ARGS...]: starts an agent with key NAME (log: $T/NAME.log).
agent() {
	local n=$1
	shift
	"$MITED" --config "$CONF" --state-dir "$T/state-$n" --agent "$EP" --key "$T/keys/$n.key" \
		--server-key "$T/keys/ctl.pub" "$@" >>"$T/$n.log" 2>&1 &
	AGENT_PIDS+=($!)
	eval "PID_$n=$!"
}
hosts_up() { [ "$(ctl hosts --json | python3 -c 'import json,sys; print(sum(h["state"]=="up" for h in json.load(sys.stdin)["hosts"]))')" = "$1" ]; }

# scen NAME DURATION COUNT: an HTTP scenario against the target, each
# iteration taking one row of an iterable pool.
scen() {
	cat >"$T/$1.conf" <<EOF2
name = "$1";
duration = $2;
config = { base_url = "http://127.0.0.1:$TPORT/"; think_time = 0.02; };
journeys = ( { name = "get"; journey = "http_get.so:journey";
               datapool = { type = "range"; from = 1; to = 100000000; mode = "iterable"; };
               volume = { type = "constant"; count = $3; }; } );
EOF2
	echo "$T/$1.conf"
}

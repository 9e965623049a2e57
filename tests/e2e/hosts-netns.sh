#!/bin/bash
# hosts-netns.sh - runner hosts across a network: network namespaces as
# machines (tests/e2e/netns.sh, 198.18.0.0/15): a controller (mited
# --listen with CURVE) in one, three agents (mited --agent, a key each) in
# three more, mite-target in the fifth, all on one switch. Checked:
#  - keygen's modes; the controller refuses a non-loopback address without
#    keys; the three hosts join, each from its own address;
#  - a run across the three: runners on every host, passed, mite's counts
#    exactly the target's; the journey module shipped to each host, cached
#    under its digest, and never shipped again (three runs, a restart);
#  - kill -9 of one agent mid-run: the host is lost, its share moves to the
#    others, the run goes on, the verdict names the host and when, and
#    mite counted exactly what the target received (the host's runners left
#    the run with their last batches); the agent restarted rejoins;
#  - a host's cable pulled for 5 s mid-run: lost, its share moved, then it
#    rejoins the fleet and the run when the cable is back; the target
#    received no fewer requests than mite counted, no more than the lost
#    host's last stats batch beyond;
#  - a key the controller does not know, from another namespace: refused
#    at the handshake, the controller's log naming the address and the
#    reason, the agent's saying so, the fleet and the run undisturbed.
# Root only: SKIP (77), saying why, where namespaces are unavailable or
# this mited has no runner hosts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns.sh"

TARGET=$top_builddir/tools/mite-target
[ -x "$TARGET" ] && [ -f "$PLUGINS/http_get.so" ] || { echo "FAIL: $E2E_NAME: mite-target or http_get.so is not built (make check builds it)"; exit 1; }
"$MITED" --help 2>&1 | grep -q -- '--agent' ||
	{ echo "SKIP: $E2E_NAME: this mited has no runner hosts (mited --agent)"; exit 77; }
netns_require
netns_up ctl a1 a2 a3 target || { fail "the namespaces could not be set up"; finish; }
CADDR=$(netns_addr ctl)
TADDR=$(netns_addr target)
EP=tcp://$CADDR:14301
declare -A APID

# Keys: the controller's, one per host, and a stranger's.
mkdir -p "$T/keys/auth"
for k in ctl a1 a2 a3 stranger; do
	(cd "$T/keys" && "$MITECTL" keygen "$k" >/dev/null) || fail "keygen $k"
done
cp "$T/keys"/a[123].pub "$T/keys/auth/"
check "keygen: secret keys 0600, public keys 0644" \
	sh -c "[ \"\$(stat -c %a '$T/keys/a1.key')\" = 600 ] && [ \"\$(stat -c %a '$T/keys/a1.pub')\" = 644 ]"

write_conf
# ctl_mited [ARGS]: the controller, in its namespace, on the test's socket.
ctl_mited() {
	netns_bg ctl "$MITED" --config "$CONF" --socket "$SOCK" --state-dir "$STATE" "$@" >>"$LOG" 2>&1
}
ctl_mited --listen "$EP" >/dev/null 2>&1
wait "$NETNS_PID"
rc=$?
check "a controller on $CADDR without keys: refused (exit $rc), naming the setting" \
	sh -c "[ $rc -ne 0 ] && grep -q 'non-loopback address needs CURVE: key (--key) is not set' '$LOG'"

ctl_mited --listen "$EP" --key "$T/keys/ctl.key" --authorized-keys "$T/keys/auth"
MITED_PID=$NETNS_PID
wait_for 10 ctl ping || { fail "the controller did not come up"; finish; }

# agent NAME [KEY]: an agent in namespace NAME with KEY's key (default: its own).
agent() {
	netns_bg "$1" "$MITED" --agent "$EP" --key "$T/keys/${2:-$1}.key" --server-key "$T/keys/ctl.pub" \
		--runners-per-host 1 --config "$CONF" --state-dir "$T/$1${2:+-$2}" >>"$T/$1${2:+-$2}.log" 2>&1
	APID[$1${2:+-$2}]=$NETNS_PID
}
# host_field NAME FIELD: a field of that host in `mitectl hosts --json`.
host_field() {
	ctl --json hosts 2>/dev/null | python3 -c '
import json, sys
h = [x for x in json.load(sys.stdin)["hosts"] if x["name"] == sys.argv[1]]
print(h[0].get(sys.argv[2], "") if h else "")' "$1" "$2"
}
host_is() { [ "$(host_field "$1" state)" = "$2" ]; }
hosts_up() { [ "$(ctl --json hosts 2>/dev/null | python3 -c 'import json,sys; print(sum(1 for h in json.load(sys.stdin)["hosts"] if h["state"] == "up"))')" = "$1" ]; }
# run_hosts RUN: "name:instances" of each host of the run, sorted.
run_hosts() {
	ctl --json status "$1" 2>/dev/null | python3 -c '
import json, sys
print(" ".join(sorted("%s:%d" % (h["name"], h["instances"]) for h in json.load(sys.stdin)["run"].get("hosts", []))))'
}
run_hosts_are() { [ "$(run_hosts "$1")" = "$2" ]; }

for h in a1 a2 a3; do agent $h; done
check "three agents join" wait_for 10 hosts_up 3
for h in a1 a2 a3; do
	check "... $h from its own namespace's address ($(netns_addr $h))" [ "$(host_field $h address)" = "$(netns_addr $h)" ]
done

netns_bg target "$TARGET" --bind "$TADDR" --port 8080 >"$T/target.out" 2>&1
TPID=$NETNS_PID
wait_for 5 grep -q "listening on $TADDR:8080" "$T/target.out" || { fail "mite-target did not start"; finish; }
tget() {
	netns_exec ctl python3 -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "http://$TADDR:8080$1"
}
# scen NAME DURATION: 6 instances GETting the target, 50 requests/s each at most.
scen() {
	cat >"$T/$1.conf" <<EOF
name = "$1";
duration = $2;
config = { base_url = "http://$TADDR:8080/"; think_time = 0.02; };
journeys = ( { name = "get"; journey = "http_get.so:journey";
               volume = { type = "constant"; count = 6; }; } );
EOF
	echo "$T/$1.conf"
}
http_count() { python3 -c 'import json,sys; print(sum(e["count"] for e in json.load(open(sys.argv[1])).get("http", [])))' "$STATE/results/$1/summary.json"; }
received() { tget /stats | jget received; }
wait_done() { wait_for "$2" field_is "$1" state done; }
# bounded RUN LOST: mite counted no more than the target received, and no
# fewer than that minus LOST hosts' last stats batch (2 instances each, 50
# requests/s: 1 s of batch and 0.2 s of slack, and the request in flight).
bounded() {
	local m r
	m=$(http_count "$1")
	r=$(received)
	echo "    mite counted $m, the target received $r"
	python3 -c "import sys; m, r = $m, $r; sys.exit(0 if 0 < m <= r <= m + $2 * 2 * (1.2 * 50 + 1) else 1)"
}
# exact RUN: mite counted what the target received.
exact() {
	local m r
	m=$(http_count "$1")
	r=$(received)
	echo "    mite counted $m, the target received $r"
	[ -n "$m" ] && [ "$m" -gt 0 ] && [ "$m" = "$r" ]
}
# verdict_names RUN HOST: failed, naming HOST, its address and when.
verdict_names() {
	field_is "$1" verdict failed &&
		ctl status "$1" | grep -q "host $2 ($(netns_addr "$2")) at run second [0-9.]*: host lost"
}

# 1. A run across the three hosts.
tget /stats/reset >/dev/null
RUN=$(ctl start "$(scen across 4)")
check "a run across the hosts: each has runners and instances" wait_for 5 run_hosts_are "$RUN" "a1:2 a2:2 a3:2"
check "... no local runner" [ "$(run_field "$RUN" runners)" = 3 ]
check "... done" wait_done "$RUN" 20
check "... passed" field_is "$RUN" verdict passed
M=$(http_count "$RUN")
R=$(received)
check "... mite counted exactly what the target received ($M = $R)" sh -c "[ '$M' -gt 0 ] && [ '$M' = '$R' ]"
SHA=$(sha256sum "$PLUGINS/http_get.so" | cut -c1-64)
for h in a1 a2 a3; do
	check "... the module was shipped to $h and cached under its digest" \
		sh -c "[ \"\$(sha256sum '$T/$h/modules/$SHA.so' 2>/dev/null | cut -c1-64)\" = '$SHA' ]"
done
# shipped HOST: how many times the controller shipped a module to HOST.
shipped() { grep -c "host $1: module .* shipped" "$LOG"; }

# 2. kill -9 of one agent mid-run.
tget /stats/reset >/dev/null
RUN=$(ctl start "$(scen kill 8)")
wait_for 5 run_hosts_are "$RUN" "a1:2 a2:2 a3:2" || fail "the kill run did not reach the three hosts"
sleep 1
kill -KILL "${APID[a1]}"
S=$(date +%s.%N)
{ wait "${APID[a1]}"; } 2>/dev/null
check "kill -9 of a1: it is lost" wait_for 5 host_is a1 lost
check "... its share moves to a2 and a3" wait_for 5 run_hosts_are "$RUN" "a2:3 a3:3"
echo "    a1's share moved $(python3 -c "import time; print(round(time.time() - $S, 2))") s after kill -9"
check "... the run goes on" field_is "$RUN" state running
check "... done" wait_done "$RUN" 30
check "... the verdict fails, naming a1 and when" verdict_names "$RUN" a1
check "... counts exact: a1's runners left the run with their last batches" exact "$RUN"
agent a1
check "a1 restarted rejoins" wait_for 10 host_is a1 up

# 3. a2's cable pulled for 5 s mid-run.
tget /stats/reset >/dev/null
RUN=$(ctl start "$(scen cable 16)")
wait_for 5 run_hosts_are "$RUN" "a1:2 a2:2 a3:2" || fail "the cable run did not reach the three hosts"
sleep 1
netns_link_down a2
S=$(date +%s)
check "a2's cable pulled: it is lost" wait_for 5 host_is a2 lost
check "... its share moves to a1 and a3" wait_for 5 run_hosts_are "$RUN" "a1:3 a3:3"
# The stranger comes meanwhile, from a1's namespace.
agent a1 stranger
check "an unknown key: the controller refuses it, naming the address and why" \
	wait_for 10 grep -q "connection from $(netns_addr a1) refused: key not in $T/keys/auth" "$LOG"
check "... the agent says so" wait_for 5 grep -q "refused our key" "$T/a1-stranger.log"
kill -KILL "${APID[a1-stranger]}"
{ wait "${APID[a1-stranger]}"; } 2>/dev/null
LEFT=$((5 - ($(date +%s) - S)))
[ "$LEFT" -gt 0 ] && sleep "$LEFT"
netns_link_up a2
check "the cable back: a2 rejoins" wait_for 10 host_is a2 up
check "... and gets its share of the run again" wait_for 5 run_hosts_are "$RUN" "a1:2 a2:2 a3:2"
check "... done" wait_done "$RUN" 30
check "... the verdict fails, naming a2 and when" verdict_names "$RUN" a2
check "... and not the stranger" sh -c "! '$MITECTL' --socket '$SOCK' status '$RUN' | grep -q stranger"
check "... counts: no more than the target received, short by at most a2's last batch" bounded "$RUN" 1
up_hosts() { ctl --json hosts | python3 -c 'import json,sys; print(" ".join(sorted(h["name"] for h in json.load(sys.stdin)["hosts"] if h["state"] == "up")))'; }
check "the fleet is three hosts again, the stranger not among them ($(up_hosts))" [ "$(up_hosts)" = "a1 a2 a3" ]

for h in a1 a2 a3; do
	check "after three runs (and a restart of a1), $h got the module once ($(shipped $h))" [ "$(shipped $h)" = 1 ]
done

finish

#!/bin/bash
# hosts-replicas.sh - agents that share one key, as the replicas of the
# Kubernetes Deployment in contrib/kubernetes/agents.yaml do (every pod of
# a Deployment mounts the same Secret): two agents with the same key, in
# two network namespaces (tests/e2e/netns.sh), must be two hosts of the
# controller - both up, told apart, both given runners in a run - not one
# host whose session the other keeps replacing.
# Root only: SKIP (77), saying why, where namespaces are unavailable or
# this mited has no runner hosts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns.sh"

"$MITED" --help 2>&1 | grep -q -- '--agent' ||
	{ echo "SKIP: $E2E_NAME: this mited has no runner hosts (mited --agent)"; exit 77; }
netns_require
netns_up ctl r1 r2 || { fail "the namespaces could not be set up"; finish; }
EP=tcp://$(netns_addr ctl):14301

mkdir -p "$T/keys/auth"
(cd "$T/keys" && "$MITECTL" keygen ctl >/dev/null && "$MITECTL" keygen agent >/dev/null) || fail "keygen"
cp "$T/keys/agent.pub" "$T/keys/auth/"
write_conf
netns_bg ctl "$MITED" --config "$CONF" --socket "$SOCK" --state-dir "$STATE" --listen "$EP" \
	--key "$T/keys/ctl.key" --authorized-keys "$T/keys/auth" >>"$LOG" 2>&1
MITED_PID=$NETNS_PID
wait_for 10 ctl ping || { fail "the controller did not come up"; finish; }
for r in r1 r2; do
	netns_bg $r "$MITED" --agent "$EP" --key "$T/keys/agent.key" --server-key "$T/keys/ctl.pub" \
		--runners-per-host 1 --config "$CONF" --state-dir "$T/$r" >>"$T/$r.log" 2>&1
done

# up: the up hosts, "name@address" sorted.
up() {
	ctl --json hosts 2>/dev/null | python3 -c '
import json, sys
print(" ".join(sorted("%s@%s" % (h["name"], h["address"]) for h in json.load(sys.stdin)["hosts"] if h["state"] == "up")))'
}
n_up() { [ "$(up | wc -w)" -eq "$1" ]; }
check "two agents with one key: two hosts up" wait_for 10 n_up 2
sleep 2
check "... still two a while later (neither replaced the other): $(up)" n_up 2
check "... told apart by name" python3 -c 'import sys; n = [x.split("@")[0] for x in sys.argv[1:]]; sys.exit(0 if len(n) == 2 and n[0] != n[1] else 1)' $(up)
check "... and by address" sh -c "up='$(up)'; case \"\$up\" in *@$(netns_addr r1)*@$(netns_addr r2)*|*@$(netns_addr r2)*@$(netns_addr r1)*) true;; *) false;; esac"
check "... no session lost to the other" sh -c "! grep -q 'connected again' '$LOG'"

finish

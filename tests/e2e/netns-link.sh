#!/bin/bash
# netns-link.sh - mite across a network, with namespaces as hosts
# (tests/e2e/netns.sh): mite-target in one namespace, `mitectl journey test`
# in another, over the switch, addresses in 198.18.0.0/15.
#  1. a clean run: mite's responses per status equal what the target
#     received (its /stats), the verdict passed;
#  2. a cable pulled for 1 s mid-run (TCP retransmits heal it): still exact;
#  3. a cable pulled for good mid-run: the requests in flight fail, the
#     verdict is not passed and says why, the exit status is not 0, and the
#     target saw at most one request per instance more than mite counted as
#     answered (replies lost on the way back).
# Root only: SKIP (77), saying why, where namespaces are unavailable.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns.sh"

TARGET=$top_builddir/tools/mite-target
GET=$PLUGINS/http_get.so:journey
[ -x "$TARGET" ] && [ -f "$PLUGINS/http_get.so" ] || { echo "FAIL: $E2E_NAME: mite-target or http_get.so is not built (make check builds it)"; exit 1; }
netns_require
netns_up client target || { fail "the namespaces could not be set up"; finish; }
TADDR=$(netns_addr target)
BASE=http://$TADDR:8080

netns_bg target "$TARGET" --bind "$TADDR" --port 8080 >"$T/target.out" 2>&1
wait_for 5 grep -q "listening on $TADDR:8080" "$T/target.out" || { fail "mite-target did not start"; cat "$T/target.out"; finish; }
check "the client reaches nothing outside the namespaces (no default route)" \
	sh -c "! ip netns exec '$(netns_ns client)' ip route get 127.0.0.2 2>/dev/null | grep -q eth0 &&
		! ip netns exec '$(netns_ns client)' ip route get 8.8.8.8 >/dev/null 2>&1"

# tget PATH: GET a path of the target from the client namespace.
tget() {
	netns_exec client python3 -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$BASE$1"
}

# run NAME DURATION [--pull AT FOR]: `journey test` from the client (4
# instances, 100 requests/s each at most), its status in rc_NAME; the
# client's cable is pulled AT seconds in, for FOR seconds (0: for good).
run() {
	local n=$1 d=$2 at= for= pid
	[ "${3:-}" = --pull ] && { at=$4; for=$5; }
	tget /stats/reset >/dev/null
	netns_bg client timeout 60 "$MITECTL" --no-color journey test "$GET" --volume 4 --duration "$d" \
		--set base_url="$BASE/" --set think_time=0.01 --results "$T/$n" >"$T/$n.out" 2>&1
	pid=$NETNS_PID
	if [ -n "$at" ]; then
		sleep "$at"
		netns_link_down client
		if [ "$for" != 0 ]; then
			sleep "$for"
			netns_link_up client
		fi
	fi
	wait "$pid"
	eval "rc_$n=$?"
	netns_link_up client
	tget /stats >"$T/$n.target.json"
}

# compare NAME SLACK: mite's answered requests (per status) against the
# target's count: equal with SLACK 0; else the target may have seen up to
# SLACK more (answered, the answer lost).
compare() {
	python3 - "$T/$1/summary.json" "$T/$1.target.json" "$2" <<'PY'
import json, sys
mite = json.load(open(sys.argv[1]))
tgt = json.load(open(sys.argv[2]))
slack = int(sys.argv[3])
got = {}
for e in mite.get("http", []):
    got[e["status"]] = got.get(e["status"], 0) + e["count"]
m, t = sum(got.values()), tgt["received"]
print("  mite: %s answered; target: %s received, per status %s" % (m, t, tgt["status"]))
if m == 0:
    sys.exit("  mite counted no answer at all")
if slack == 0 and got != tgt["status"]:
    sys.exit("  not equal")
if not 0 <= t - m <= slack:
    sys.exit("  the target received %d, mite counted %d answered (slack %d)" % (t, m, slack))
PY
}

# 1. A clean run.
run clean 2
check_ran "a run from the client namespace to the target's passed" "$rc_clean" "$T/clean.out"
check "... its counts equal the target's, per status" compare clean 0

# 2. A second without the cable: TCP's retransmissions carry the requests
# over it (RTO 0.2, 0.4, 0.8 s ...), so nothing is lost or counted twice.
run blip 5 --pull 1.5 1
check_ran "a 1 s outage mid-run: the run still passed" "$rc_blip" "$T/blip.out"
check "... its counts still equal the target's" compare blip 0
check "... and the outage was real: a request took over 0.9 s" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
sys.exit(0 if s["transactions"][0]["max"] > 0.9 else 1)' "$T/blip/summary.json"

# 3. The cable pulled for good: the 4 instances wait on answers that never
# come until the grace period ends and they are cancelled.
run cut 3 --pull 1.5 0
check "the cable pulled for good: mitectl failed (status $rc_cut)" [ "$rc_cut" -ne 0 ]
check "... the verdict is not passed" sh -c "! grep -q '^verdict: passed' '$T/cut.out'"
check "... and says the iterations were cut short" grep -q "^verdict: .*\(cancelled\|failed\)" "$T/cut.out"
check "... summary.json counts the failed requests" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
j = s["journeys"][0]
sys.exit(0 if s["verdict"] != "passed" and j["failed"] + j["cancelled"] > 0 else 1)' "$T/cut/summary.json"
check "... the target received at most one request per instance more than mite saw answered" compare cut 4

finish

#!/bin/bash
# http.sh - HTTP scenarios end to end: `mitectl scenario test` (controller and
# one runner in one process) against mite-target on an ephemeral loopback
# port. What mite reports (results/summary.json) must be exactly what the
# target received (its /stats): per status, per redirect hop, with
# keep-alive holding and no connection left open after the run; transport
# errors are reported with their class, bodies over the limit too (with
# the peak memory of an endless body bounded). Every check runs twice: with the
# default engine (the native HTTP/1.1 client takes these http:// requests)
# and with http_engine=curl (libcurl takes all). Every run is bounded
# (--duration and timeout). Prints one PASS:/FAIL: line per check.
set -u
: "${top_builddir:=$(pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
MITECTL=$top_builddir/mitectl
TARGET=$top_builddir/tools/mite-target
export MITE_PLUGIN_PATH=$top_builddir/plugins
NAME=http
T=$(mktemp -d /tmp/mite-http.XXXXXX) || exit 99
TPID=
PASSES=0
FAILS=0

cleanup() {
	[ -n "$TPID" ] && kill "$TPID" 2>/dev/null && wait "$TPID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ENGINE=auto
pass() { echo "PASS: $NAME ($ENGINE): $*"; PASSES=$((PASSES + 1)); }
fail() { echo "FAIL: $NAME ($ENGINE): $*"; FAILS=$((FAILS + 1)); }
check() {
	local desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}

command -v python3 >/dev/null || { echo "FAIL: $NAME: python3 is needed (quickstart.sh installs it)"; exit 1; }

"$TARGET" --port 0 >"$T/target.out" 2>&1 &
TPID=$!
for _ in $(seq 50); do grep -q listening "$T/target.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$T/target.out")
[ -n "$PORT" ] || { echo "FAIL: $NAME: mite-target did not start"; cat "$T/target.out"; exit 1; }
BASE=http://127.0.0.1:$PORT

# target PATH: GET a path of the target (a new connection each time).
target() {
	python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$BASE$1"
}

# scenario NAME FILE [mitectl args]: runs it, keeping the exit code in rc_NAME.
scenario() {
	local n=$1 f=$2
	shift 2
	target /stats/reset >/dev/null
	timeout 60 "$MITECTL" --no-color scenario test "$top_srcdir/conf/$f" --results "$T/$n" "$@" \
		--set http_engine="$ENGINE" >"$T/$n.out" 2>&1
	eval "rc_$n=$?"
	target /stats >"$T/$n.target.json"
}

# compare NAME MAXCONN: mite's http counts per status equal the target's,
# no connection is left open, and at most MAXCONN were made.
compare() {
	python3 - "$T/$1/summary.json" "$T/$1.target.json" "$2" <<'PY'
import json, sys
mite = json.load(open(sys.argv[1]))
tgt = json.load(open(sys.argv[2]))
maxconn = int(sys.argv[3])
per_status = {}
for e in mite.get("http", []):
    per_status[e["status"]] = per_status.get(e["status"], 0) + e["count"]
ok = True
if per_status != {k: v for k, v in tgt["status"].items()}:
    print("  mite per status %s, target %s" % (per_status, tgt["status"])); ok = False
if sum(per_status.values()) != tgt["received"] or tgt["received"] == 0:
    print("  mite %d responses, target received %d" % (sum(per_status.values()), tgt["received"])); ok = False
# The /stats query's own connection is the only one open.
if tgt["connections"]["open"] != 1:
    print("  %d connections left open" % (tgt["connections"]["open"] - 1)); ok = False
if tgt["connections"]["total"] > maxconn:
    print("  %d connections for %d requests (keep-alive?)" % (tgt["connections"]["total"], tgt["received"])); ok = False
sys.exit(0 if ok else 1)
PY
}

# checks: every check, with ENGINE as the http_engine.
checks() {
	# 1. The GET loop: 10 instances.
	scenario get http.conf --set base_url="$BASE/" --duration 2
	# 10 instances without think time use every cycle they get: on a CI
	# machine shared with the target (and more), the runner's loop may be
	# starved and the run says so, 7 (tainted). Nothing else may go wrong.
	check "http.conf ran and passed (or said it was tainted)" sh -c "[ $rc_get -eq 0 ] || [ $rc_get -eq 7 ]"
	# 10 instances and the /stats query (the reset zeroed the total).
	check "GET counts equal the target's, keep-alive held, nothing left open" compare get 11

	# 2. Login -> browse -> JSON POST with users from a CSV pool: 401s would show
	#    if the session cookie did not round-trip.
	scenario flow http-flow.conf --set base_url="$BASE" --set think_time=0.05 --duration 3
	check "http-flow.conf ran and passed (or tainted)" sh -c "[ $rc_flow -eq 0 ] || [ $rc_flow -eq 7 ]"
	check "flow counts per status (200, 201) equal the target's" compare flow 21
	check "flow: no 401 (the session cookie round-tripped)" \
		python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["status"]; sys.exit(0 if s.get("201",0) > 0 and "401" not in s else 1)' \
		"$T/flow.target.json"

	# 3. Redirects: each hop is a request of its own in the counts.
	scenario redir http.conf --set base_url="$BASE/redirect/2" --duration 1
	check "redirect scenario passed (or tainted)" sh -c "[ $rc_redir -eq 0 ] || [ $rc_redir -eq 7 ]"
	check "redirect hops counted as the target saw them" compare redir 11
	check "two 302 per 200" python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["status"]; sys.exit(0 if s.get("302") == 2 * s.get("200", -1) else 1)' \
		"$T/redir.target.json"

	# 4. A refused connection: the journeys fail, the class is named and counted.
	CLOSED=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
	timeout 60 "$MITECTL" --no-color scenario test "$top_srcdir/conf/http.conf" --results "$T/refused" \
		--set base_url="http://127.0.0.1:$CLOSED/" --set http_engine="$ENGINE" --duration 1 \
		>"$T/refused.out" 2>&1
	rc=$?
	check "refused: exit 1 (journey errors)" test "$rc" -eq 1
	check "refused: counted under class \"refused\" with the URL in the message" python3 - "$T/refused/summary.json" "$CLOSED" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
errs = [e for e in s.get("http_errors", []) if e.get("class") == "refused" and e.get("count", 0) > 0]
msgs = [e for e in s.get("errors", []) if "(refused)" in e.get("message", "") and ":%s/" % sys.argv[2] in e.get("message", "")]
if not errs or not msgs:
    print("  http_errors %s\n  errors %s" % (s.get("http_errors"), s.get("errors")))
sys.exit(0 if errs and msgs else 1)
PY

	# 5. A reset: the target closes the connection without a reply.
	scenario reset http.conf --set base_url="$BASE/reset-connection" --duration 1
	check "reset: exit 1 (journey errors)" test "$rc_reset" -eq 1
	check "reset: counted under class \"reset\"" python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if any(e.get("class")=="reset" and e.get("count",0)>0 for e in s.get("http_errors",[])) else 1)' \
		"$T/reset/summary.json"
	# 6. Body limits from the config: over http_body_limit the journeys fail
	#    with class body_too_large; under it they pass.
	scenario big http.conf --set base_url="$BASE/stream/2000000" --set http_body_limit=1M --duration 1
	check "body over http_body_limit: exit 1 (journey errors)" test "$rc_big" -eq 1
	check "body over http_body_limit: class body_too_large, the limit in the message" \
		python3 - "$T/big/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
errs = [e for e in s.get("http_errors", []) if e.get("class") == "body_too_large" and e.get("count", 0) > 0]
msgs = [e for e in s.get("errors", []) if "(body_too_large): body over 1048576 bytes" in e.get("message", "")]
if not errs or not msgs:
    print("  http_errors %s\n  errors %s" % (s.get("http_errors"), s.get("errors")))
sys.exit(0 if errs and msgs else 1)
PY
	scenario big2 http.conf --set base_url="$BASE/stream/2000000" --set http_body_limit=2M --duration 1
	# 2 MB bodies as fast as 10 instances go: the loop's turns are long
	# (copying bodies), and the run may say so (7, tainted).
	check "body under http_body_limit: passed (or tainted)" sh -c "[ $rc_big2 -eq 0 ] || [ $rc_big2 -eq 7 ]"
	scenario badlimit http.conf --set base_url="$BASE/" --set http_body_limit=lots --duration 0.5
	check "a bad http_body_limit is named in a warning, the default used" \
		grep -q 'config http_body_limit = "lots" is not a size.*using 16777216' "$T/badlimit.out"

	# 7. A body that never ends, at the default limit (16 MiB): every
	#    iteration fails at the limit, and the process's peak memory stays
	#    near 10 instances x 16 MiB instead of growing without end.
	target /stats/reset >/dev/null
	python3 - "$MITECTL" "$top_srcdir/conf/http.conf" "$T/endless" "$BASE/stream/forever" "$ENGINE" \
		>"$T/endless.out" 2>&1 <<'PY'
import resource, subprocess, sys
import os
mitectl, conf, res, url, engine = sys.argv[1:]
# (In the sanitizer build, ASan's quarantine would keep up to 256 MiB of
# freed buffers resident: not what this measures.)
env = dict(os.environ)
env["ASAN_OPTIONS"] = (env["ASAN_OPTIONS"] + ":" if env.get("ASAN_OPTIONS") else "") + "quarantine_size_mb=16"
rc = subprocess.run(["timeout", "60", mitectl, "--no-color", "scenario", "test", conf, "--results", res,
                     "--set", "base_url=" + url, "--set", "http_engine=" + engine, "--duration", "2"],
                    env=env).returncode
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
print("exit %d, peak RSS %d MiB" % (rc, peak))
open(res + ".peak", "w").write("%d %d\n" % (rc, peak))
PY
	read -r rc_endless peak_endless <"$T/endless.peak" 2>/dev/null || { rc_endless=x; peak_endless=99999; }
	echo "  endless body ($ENGINE): exit $rc_endless, peak RSS ${peak_endless} MiB"
	check "endless body: exit 1 (journey errors)" test "$rc_endless" = 1
	check "endless body: peak RSS under 400 MiB (${peak_endless} MiB)" test "$peak_endless" -lt 400
	check "endless body: class body_too_large at the default 16 MiB" python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if any(e.get("class")=="body_too_large" and e.get("count",0)>0 for e in s.get("http_errors",[])) and any("body over 16777216 bytes" in e.get("message","") for e in s.get("errors",[])) else 1)' \
		"$T/endless/summary.json"
}

for ENGINE in auto curl; do
	# Each run's results go to its own folders.
	T0=$T
	T=$T0/$ENGINE
	mkdir -p "$T"
	checks
	T=$T0
done

if [ "$FAILS" -ne 0 ]; then
	for f in "$T"/*/*.out; do echo "--- $f"; tail -30 "$f"; done
	exit 1
fi
exit 0

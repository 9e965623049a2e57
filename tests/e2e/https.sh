#!/bin/bash
# https.sh - HTTPS end to end: `mitectl scenario test` (plugins/http_get.c)
# against Debian's nginx with TLS on an ephemeral loopback port
# (tests/e2e/nginx-tls.sh), its certificate signed by a CA the test makes
# and hands mite as ca_file (verification on). What mite reports
# (results/summary.json) must be exactly what nginx logged, per status;
# a new connection per request resumes TLS sessions (nginx says so) unless
# told not to; an unknown CA fails with its class and words. Every check
# runs twice: with the default engine (the native client takes https://)
# and with http_engine=curl. Every run is bounded (--duration and
# timeout). Prints one PASS:/FAIL: line per check. Under MITE_WRAP (e.g.
# "valgrind --error-exitcode=9 ..."), mitectl runs in that wrapper
# (tests/valgrind-http.sh does).
set -u
: "${top_builddir:=$(pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
MITECTL=$top_builddir/mitectl
export MITE_PLUGIN_PATH=$top_builddir/plugins
NAME=https
T=$(mktemp -d /tmp/mite-https.XXXXXX) || exit 99
PASSES=0
FAILS=0
. "$top_srcdir/tests/e2e/nginx-tls.sh"

cleanup() {
	nginx_tls_stop
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
nginx_tls_start "$T/nginx"
BASE=https://127.0.0.1:$NGINX_PORT
SLOW=${E2E_SLOW:-1}

# scenario NAME [mitectl args]: 10 instances of http.conf's GET loop;
# keeps the exit code in rc_NAME and nginx's counts in NAME.nginx.json.
scenario() {
	local n=$1
	shift
	nginx_tls_counts >/dev/null
	timeout $((60 * SLOW)) ${MITE_WRAP:-} "$MITECTL" --no-color scenario test "$top_srcdir/conf/http.conf" \
		--results "$T/$n" --set http_engine="$ENGINE" "$@" >"$T/$n.out" 2>&1
	eval "rc_$n=$?"
	sleep 0.2 # (nginx writes its log line after the response)
	nginx_tls_counts >"$T/$n.nginx.json"
}

# passed NAME: the run passed, or said it was tainted (7: its loop was
# saturated, on a machine shared with nginx and more). Nothing else may go
# wrong.
passed() {
	local rc
	eval "rc=\$rc_$1"
	[ "$rc" -eq 0 ] || [ "$rc" -eq 7 ]
}

# compare NAME: mite's http counts per status equal nginx's, and are not 0.
compare() {
	python3 - "$T/$1/summary.json" "$T/$1.nginx.json" <<'PY'
import json, sys
mite = json.load(open(sys.argv[1]))
ngx = json.load(open(sys.argv[2]))
per_status = {}
for e in mite.get("http", []):
    per_status[e["status"]] = per_status.get(e["status"], 0) + e["count"]
if per_status != ngx["status"] or not per_status:
    print("  mite per status %s, nginx %s" % (per_status, ngx["status"]))
    sys.exit(1)
PY
}

# resumed NAME OP N: nginx's count of requests on resumed sessions OP N.
resumed() {
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["resumed"]; print("  resumed: %d" % r) if not eval("%d %s %s" % (r, sys.argv[2], sys.argv[3])) else None; sys.exit(0 if eval("%d %s %s" % (r, sys.argv[2], sys.argv[3])) else 1)' \
		"$T/$1.nginx.json" "$2" "$3"
}

checks() {
	local ca="--set ca_file=$NGINX_CA"

	# 1. The GET loop over TLS, keep-alive.
	scenario get --set base_url="$BASE/" $ca --duration 2
	check "GET over TLS ran and passed (or tainted)" passed get
	check "GET counts equal nginx's" compare get

	# 2. Redirects: each hop a request of its own.
	scenario redir --set base_url="$BASE/redirect" $ca --duration 1
	check "redirect scenario passed" passed redir
	check "redirect hops (302, 200) counted as nginx logged them" compare redir

	# 3. A 404: the journeys fail (expect_status), the responses are counted.
	scenario missing --set base_url="$BASE/missing" $ca --duration 1
	check "404: exit 1 (journey errors)" test "$rc_missing" -eq 1
	check "404 counts equal nginx's" compare missing

	# 4. A new connection per request: sessions resume...
	scenario fresh --set base_url="$BASE/" $ca --set new_connection=1 --duration 2
	check "new connection per request passed" passed fresh
	check "new connection per request: counts equal nginx's" compare fresh
	check "new connection per request: nginx saw resumed sessions" resumed fresh ">" 0
	# ... unless told not to.
	scenario full --set base_url="$BASE/" $ca --set new_connection=1 --set tls_resume=0 --duration 1
	check "full handshakes passed" passed full
	check "full handshakes: counts equal nginx's" compare full
	check "full handshakes: nginx saw no resumed session" resumed full "==" 0

	# 5. HTTP/2 (ALPN h2), with redirects.
	scenario h2 --set base_url="$BASE/redirect" $ca --set http_version=2 --duration 2
	check "HTTP/2 scenario passed" passed h2
	check "HTTP/2: counts (302, 200) equal nginx's" compare h2
	check "HTTP/2: nginx saw every request over HTTP/2" python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if j["h2"] == sum(j["status"].values()) > 0 else 1)' "$T/h2.nginx.json"
	check "HTTP/1.1 runs stayed HTTP/1.1" python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["h2"] == 0 else 1)' "$T/get.nginx.json"
	# 6. No CA file: the system's CAs do not know the test's.
	scenario noca --set base_url="$BASE/" --duration 1
	check "unknown CA: exit 1 (journey errors)" test "$rc_noca" -eq 1
	check "unknown CA: class tls, its words and the URL in the message" python3 - "$T/noca/summary.json" "$NGINX_PORT" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
errs = [e for e in s.get("http_errors", []) if e.get("class") == "tls" and e.get("count", 0) > 0]
msgs = [e for e in s.get("errors", []) if "(tls): unknown CA: SSL certificate problem" in e.get("message", "")
        and ":%s/" % sys.argv[2] in e.get("message", "")]
if not errs or not msgs:
    print("  http_errors %s\n  errors %s" % (s.get("http_errors"), s.get("errors")))
sys.exit(0 if errs and msgs else 1)
PY
}

for ENGINE in auto curl; do
	checks
done
for f in "$T"/*.out; do
	grep -q "ERROR: AddressSanitizer\|runtime error:" "$f" && { fail "sanitizer report in $(basename "$f")"; cat "$f"; }
done
echo "$PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]

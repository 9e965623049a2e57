#!/bin/bash
# h2-vs-h2load.sh - HTTP/2 through mite beside h2load (nghttp2-client), in
# one run, on loopback.
#
#   bench/h2-vs-h2load.sh [BUILDDIR]        (default: the current folder)
#
# Target: Debian's nginx with TLS and HTTP/2 (ALPN h2), one worker pinned to
# CPU 1, a certificate tests/tls-certs.sh makes, GET / returns "ok\n".
# Generators pinned to CPU 0, each for DUR seconds:
#   h2load -t1 -cCONC -mSTREAMS -DDUR (CONC connections, STREAMS requests
#          in flight on each)
#   mite: `mitectl scenario test`, plugins/http_get.c with http_version = 2,
#         CONC x STREAMS instances, each one request at a time; the native
#         client multiplexes the instances' requests on connections of at
#         most http2_max_streams = STREAMS streams
#   mite-batch: the same journey with batch = STREAMS: CONC instances, each
#         sending STREAMS requests at once (mite_http_batch) and waiting for
#         all, as h2load's -m does on each of its CONC connections
# and prints req/s, generator CPU-seconds per 10k requests (rusage;
# requests counted by nginx) and each mite's ratio to h2load.
#
# Environment: DUR (10), CONC (50), STREAMS (10), PORT (18190; PORT+1 serves
# nginx's stub_status). Loopback only; every run is bounded.
set -u
BUILD=$(cd "${1:-.}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
DUR=${DUR:-10}
CONC=${CONC:-50}
STREAMS=${STREAMS:-10}
PORT=${PORT:-18190}
HTTP_ENGINE=${HTTP_ENGINE:-auto}
SPORT=$((PORT + 1))
MEASURE="python3 $SRC/bench/measure.py"

for tool in nginx h2load taskset python3 openssl; do
	command -v $tool >/dev/null || { echo "h2-vs-h2load: $tool is missing (apt-get install nginx-light nghttp2-client util-linux python3 openssl)" >&2; exit 2; }
done
[ -x "$BUILD/mitectl" ] && [ -f "$BUILD/plugins/http_get.so" ] ||
	{ echo "h2-vs-h2load: no mitectl/plugins in $BUILD: build mite first, or name its build folder" >&2; exit 2; }

D=$(mktemp -d /tmp/mite-bench-h2.XXXXXX) || exit 1
NGINX_PID=
cleanup() {
	[ -n "$NGINX_PID" ] && kill -QUIT "$NGINX_PID" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mkdir -p "$D/tmp"
sh "$SRC/tests/tls-certs.sh" "$D/certs" >/dev/null || { echo "h2-vs-h2load: tests/tls-certs.sh failed" >&2; exit 1; }
cat >"$D/nginx.conf" <<NGX
worker_processes 1;
pid $D/nginx.pid;
error_log $D/error.log warn;
worker_rlimit_nofile 20000;
events { worker_connections 8192; }
http {
    access_log off;
    keepalive_timeout 65s;
    keepalive_requests 100000000;
    http2_max_requests 100000000;
    client_body_temp_path $D/tmp; proxy_temp_path $D/tmp; fastcgi_temp_path $D/tmp;
    uwsgi_temp_path $D/tmp; scgi_temp_path $D/tmp;
    server {
        listen 127.0.0.1:$PORT ssl http2 reuseport backlog=4096;
        ssl_certificate $D/certs/good.pem; ssl_certificate_key $D/certs/good.key;
        location / { default_type text/plain; return 200 "ok\n"; }
    }
    server {
        listen 127.0.0.1:$SPORT;
        location = /nginx_status { stub_status; }
    }
}
NGX
taskset -c 1 nginx -c "$D/nginx.conf" || { echo "h2-vs-h2load: nginx did not start (port $PORT busy? set PORT)" >&2; exit 1; }
for _ in $(seq 50); do [ -s "$D/nginx.pid" ] && break; sleep 0.1; done
NGINX_PID=$(cat "$D/nginx.pid")
sleep 0.3
URL=https://127.0.0.1:$PORT/
USERS=$((CONC * STREAMS))
cat >"$D/mite.conf" <<SCN
name = "bench-h2";
duration = $DUR;
config = { base_url = "$URL"; think_time = "0"; ca_file = "$D/certs/ca.pem"; http_version = "2";
           http2_max_streams = "$STREAMS"; http_engine = "$HTTP_ENGINE"; };
journeys = ( { name = "get"; journey = "http_get.so:journey";
               volume = { type = "constant"; count = $USERS; }; } );
SCN
sed -e "s/count = $USERS;/count = $CONC;/" -e "s/http_version = \"2\";/http_version = \"2\"; batch = \"$STREAMS\";/" \
	"$D/mite.conf" >"$D/mite-batch.conf"
export MITE_PLUGIN_PATH=$BUILD/plugins
echo "h2-vs-h2load: nginx on CPU 1 (pid $NGINX_PID), generators on CPU 0, $CONC connections x $STREAMS streams (mite: $USERS users; mite-batch: $CONC users, batches of $STREAMS), $DUR s each; load: $(cut -d' ' -f1-3 /proc/loadavg)"

$MEASURE --out "$D/h2load.json" --status 127.0.0.1:$SPORT --timeout $((DUR + 30)) -- \
	taskset -c 0 h2load -t1 -c"$CONC" -m"$STREAMS" -D"$DUR" "$URL"
$MEASURE --out "$D/mite.json" --status 127.0.0.1:$SPORT --timeout $((DUR + 30)) -- \
	taskset -c 0 "$BUILD/mitectl" --no-color scenario test "$D/mite.conf"
$MEASURE --out "$D/mite-batch.json" --status 127.0.0.1:$SPORT --timeout $((DUR + 30)) -- \
	taskset -c 0 "$BUILD/mitectl" --no-color scenario test "$D/mite-batch.conf"

python3 - "$D" "$DUR" <<'PY'
import json, re, sys
d, dur = sys.argv[1], float(sys.argv[2])
load = lambda n: json.load(open("%s/%s.json" % (d, n)))
print("%-10s %10s %16s" % ("generator", "req/s", "CPU-s/10k req"))
cpu10k = {}
for name in ("h2load", "mite", "mite-batch"):
    r = load(name)
    n = r["requests"] or 0
    cpu = r["cpu_user"] + r["cpu_sys"]
    cpu10k[name] = cpu / n * 1e4 if n else float("nan")
    print("%-10s %10.0f %16.4f" % (name, n / dur, cpu10k[name]))
for name in ("mite", "mite-batch"):
    if not re.search(r"^get\s+GET\s+200\s+\d+", load(name)["stdout"], re.M):
        print("(%s's summary has no GET 200 line: did the run fail?)" % name)
    print("%s / h2load CPU per request: %.2f (goal <= 1.5)" % (name, cpu10k[name] / cpu10k["h2load"]))
PY

#!/bin/bash
# http-vs-wrk.sh - mite's HTTP hot path beside wrk, in one run, on loopback.
#
#   bench/http-vs-wrk.sh [BUILDDIR]        (default: the current folder)
#   MODE=https bench/http-vs-wrk.sh ...    (TLS, keep-alive)
#   MODE=handshake bench/http-vs-wrk.sh ... (a new TLS connection per request)
#
# Target: Debian's nginx, one worker pinned to CPU 1, our own config in a
# temporary folder, GET / returns "ok\n"; over TLS (MODE https and
# handshake) with a certificate tests/tls-certs.sh makes (ECDSA P-256,
# signed by its own CA, which mite is given as ca_file: verification
# stays on). Generators pinned to CPU 0, each for DUR seconds with CONC
# connections / virtual users:
#   wrk -t1 -cCONC -dDUR (MODE handshake: with "Connection: close", so that
#       every request makes a new connection; wrk keeps each connection's
#       SSL object across reconnections (SSL_clear), so it resumes the
#       session: its handshakes are resumed ones, as nginx logs)
#   mite: `mitectl scenario test` (controller and one runner in one process),
#         plugins/http_get.c (one GET per iteration inside a transaction),
#         CONC instances (MODE handshake: new_connection = 1, once with
#         tls_resume = 0, full handshakes, once with resumption)
#   MODE handshake also: `openssl s_time -new` and `-reuse` (one connection
#         at a time, full handshakes / resumed ones)
# and prints req/s, generator CPU-seconds per 10k requests (rusage of the
# generator, requests counted by nginx), p50/p99, and mite's ratio to wrk;
# MODE handshake prints handshakes per CPU-second of the generator and
# CPU-ms per handshake instead.
# (No --results: with it, test mode logs an http_metrics event per
# response, which is not what a throughput run measures.) Then memory:
# RSS per virtual user of mite with MEM_LOW and MEM_HIGH instances of a
# journey doing one GET then sleeping 1 s, as (RSS(high) - RSS(low)) /
# (high - low), RSS being the median of the samples over the run's second
# half (and the same with the peak samples, reached while every user
# requests at once).
#
# Environment: MODE (http, https or handshake), DUR (10), CONC (50),
# MEM_LOW (50), MEM_HIGH (1000), MEM_DUR (8), PORT (18180; PORT+1 serves
# nginx's stub_status), HTTP_ENGINE (mite's http_engine config key:
# "auto", the default, or "curl" to measure the libcurl path). The memory
# test (MODE http and https) holds one idle connection per user (a TLS
# one over https).
# Loopback only; every run is bounded by its own duration and a timeout.
set -u
BUILD=$(cd "${1:-.}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
DUR=${DUR:-10}
CONC=${CONC:-50}
MEM_LOW=${MEM_LOW:-50}
MEM_HIGH=${MEM_HIGH:-1000}
MEM_DUR=${MEM_DUR:-8}
PORT=${PORT:-18180}
HTTP_ENGINE=${HTTP_ENGINE:-auto}
MODE=${MODE:-http}
SPORT=$((PORT + 1))
case $MODE in http | https | handshake) ;; *) echo "http-vs-wrk: MODE=$MODE: http, https or handshake" >&2; exit 2 ;; esac
MEASURE="python3 $SRC/bench/measure.py"

for tool in nginx wrk taskset python3 openssl; do
	command -v $tool >/dev/null || { echo "http-vs-wrk: $tool is missing (apt-get install nginx-light wrk util-linux python3 openssl)" >&2; exit 2; }
done
[ -x "$BUILD/mitectl" ] && [ -f "$BUILD/plugins/http_get.so" ] ||
	{ echo "http-vs-wrk: no mitectl/plugins in $BUILD: build mite first, or name its build folder" >&2; exit 2; }
[ "$(nproc)" -ge 2 ] || echo "http-vs-wrk: fewer than 2 CPUs: target and generator will share one" >&2

D=$(mktemp -d /tmp/mite-bench.XXXXXX) || exit 1
NGINX_PID=
cleanup() {
	[ -n "$NGINX_PID" ] && kill -QUIT "$NGINX_PID" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mkdir -p "$D/tmp"
SCHEME=http LISTEN= CA=
if [ "$MODE" != http ]; then
	CA="ca_file = \"$D/certs/ca.pem\";"
	sh "$SRC/tests/tls-certs.sh" "$D/certs" >/dev/null || { echo "http-vs-wrk: tests/tls-certs.sh failed" >&2; exit 1; }
	SCHEME=https
	LISTEN="ssl; ssl_certificate $D/certs/good.pem; ssl_certificate_key $D/certs/good.key;
        ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache shared:SSL:10m"
fi
cat >"$D/nginx.conf" <<NGX
worker_processes 1;
pid $D/nginx.pid;
error_log $D/error.log warn;
worker_rlimit_nofile 20000;
events { worker_connections 8192; }
http {
    access_log off;
    tcp_nodelay on;
    keepalive_timeout 65s;
    keepalive_requests 100000000;
    client_body_temp_path $D/tmp; proxy_temp_path $D/tmp; fastcgi_temp_path $D/tmp;
    uwsgi_temp_path $D/tmp; scgi_temp_path $D/tmp;
    server {
        listen 127.0.0.1:$PORT reuseport backlog=4096 $LISTEN;
        location / { default_type text/plain; return 200 "ok\n"; }
    }
    server {
        listen 127.0.0.1:$SPORT;
        location = /nginx_status { stub_status; }
    }
}
NGX
taskset -c 1 nginx -c "$D/nginx.conf" || { echo "http-vs-wrk: nginx did not start (port $PORT busy? set PORT)" >&2; exit 1; }
for _ in $(seq 50); do [ -s "$D/nginx.pid" ] && break; sleep 0.1; done
NGINX_PID=$(cat "$D/nginx.pid")
sleep 0.3
URL=$SCHEME://127.0.0.1:$PORT/

# The scenario mite runs: COUNT instances of http_get for DURATION s, with
# THINK s between iterations (and more config lines).
scenario() { # NAME COUNT DURATION THINK [CONFIG...]
	local name=$1 count=$2 dur=$3 think=$4
	shift 4
	cat >"$D/$name.conf" <<SCN
name = "bench-$name";
duration = $dur;
config = { base_url = "$URL"; think_time = "$think"; http_engine = "$HTTP_ENGINE"; $CA $* };
journeys = ( { name = "get"; journey = "http_get.so:journey";
               volume = { type = "constant"; count = $count; }; } );
SCN
}
mite_run() { # NAME: runs scenario NAME, measured into NAME.json
	$MEASURE --out "$D/$1.json" --status 127.0.0.1:$SPORT --timeout $((DUR + 30)) -- \
		taskset -c 0 "$BUILD/mitectl" --no-color scenario test "$D/$1.conf"
}

export MITE_PLUGIN_PATH=$BUILD/plugins
echo "http-vs-wrk: MODE=$MODE, nginx on CPU 1 (pid $NGINX_PID), generators on CPU 0, $CONC connections/users, $DUR s each, mite http_engine=$HTTP_ENGINE; load: $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "$MODE" = handshake ]; then
	$MEASURE --out "$D/wrk.json" --status 127.0.0.1:$SPORT --timeout $((DUR + 30)) -- \
		taskset -c 0 wrk -t1 -c"$CONC" -d"${DUR}s" -H "Connection: close" "$URL"
	scenario full "$CONC" "$DUR" 0 "new_connection = \"1\"; tls_resume = \"0\";"
	mite_run full
	scenario resumed "$CONC" "$DUR" 0 "new_connection = \"1\";"
	mite_run resumed
	for how in new reuse; do
		$MEASURE --out "$D/stime-$how.json" --status 127.0.0.1:$SPORT --timeout $((DUR + 30)) -- \
			taskset -c 0 openssl s_time -connect 127.0.0.1:$PORT -www / -$how -time "$DUR" \
			-CAfile "$D/certs/ca.pem"
	done
	python3 - "$D" <<'PY'
import json, sys
d = sys.argv[1]
load = lambda n: json.load(open("%s/%s.json" % (d, n)))
print("%-34s %10s %14s %16s" % ("generator", "conn/s", "handshakes/s", "CPU-ms per"))
print("%-34s %10s %14s %16s" % ("", "", "per CPU-second", "handshake"))
per = {}
for name, label in (("wrk", "wrk -t1, Connection: close (resumed)"), ("full", "mite, full handshakes"),
                    ("resumed", "mite, resumed sessions"), ("stime-new", "openssl s_time -new (full)"),
                    ("stime-reuse", "openssl s_time -reuse (resumed)")):
    r = load(name)
    n = r["requests"] or 0
    cpu = r["cpu_user"] + r["cpu_sys"]
    per[name] = cpu / n * 1e3 if n else float("nan")
    print("%-34s %10.0f %14.0f %16.3f" % (label, n / r["wall"], n / cpu if cpu else 0, per[name]))
print("mite / wrk CPU per resumed handshake: %.2f" % (per["resumed"] / per["wrk"]))
print("mite / s_time -new CPU per full handshake: %.2f" % (per["full"] / per["stime-new"]))
print("mite / s_time -reuse CPU per resumed handshake: %.2f" % (per["resumed"] / per["stime-reuse"]))
PY
	exit 0
fi

$MEASURE --out "$D/wrk.json" --status 127.0.0.1:$SPORT --timeout $((DUR + 30)) -- \
	taskset -c 0 wrk -t1 -c"$CONC" -d"${DUR}s" --latency "$URL"
scenario mite "$CONC" "$DUR" 0
mite_run mite
scenario low "$MEM_LOW" "$MEM_DUR" 1
$MEASURE --out "$D/mem-low.json" --timeout $((MEM_DUR + 30)) -- \
	taskset -c 0 "$BUILD/mitectl" --no-color scenario test "$D/low.conf"
scenario high "$MEM_HIGH" "$MEM_DUR" 1
$MEASURE --out "$D/mem-high.json" --timeout $((MEM_DUR + 30)) -- \
	taskset -c 0 "$BUILD/mitectl" --no-color scenario test "$D/high.conf"

python3 - "$D" "$DUR" "$MEM_LOW" "$MEM_HIGH" "$MODE" <<'PY'
import json, re, sys
d, dur, lo, hi, mode = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
load = lambda n: json.load(open("%s/%s.json" % (d, n)))
def us(s):
    m = re.match(r"([\d.]+)(us|ms|s)", s)
    return float(m.group(1)) * {"us": 1e-6, "ms": 1e-3, "s": 1}[m.group(2)]
rows = []
w = load("wrk")
lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", w["stdout"], re.M))
rows.append(("wrk -t1", w, us(lat.get("50", "0us")), us(lat.get("99", "0us"))))
m = load("mite")
# The summary's http table: "get  GET  200  count  rate/s  p50  p95  p99 | ..."
hm = re.search(r"^get\s+GET\s+200\s+\d+\s+[\d.]+\s+(\S+)\s+\S+\s+(\S+)", m["stdout"], re.M)
p50, p99 = (us(hm.group(1)), us(hm.group(2))) if hm else (0, 0)
if not hm:
    print("(mite's summary has no http line: is the build current?)")
rows.append(("mite", m, p50, p99))
print("%-10s %10s %16s %9s %9s" % ("generator", "req/s", "CPU-s/10k req", "p50", "p99"))
cpu10k = {}
for name, r, a, b in rows:
    n = r["requests"] or 0
    cpu = r["cpu_user"] + r["cpu_sys"]
    cpu10k[name] = cpu / n * 1e4 if n else float("nan")
    print("%-10s %10.0f %16.4f %8.0fus %8.0fus" % (name, n / dur, cpu10k[name], a * 1e6, b * 1e6))
print("mite / wrk CPU per request: %.2f (goal <= %s)" % (cpu10k["mite"] / cpu10k["wrk -t1"],
                                                      "1.3" if mode == "https" else "1.0"))
print("(mite's p50/p99: the http GET 200 total time; its transaction latency adds the loop's queueing)")
a, b = load("mem-low"), load("mem-high")
per = (b["rss_settled_kib"] - a["rss_settled_kib"]) / float(hi - lo)
peak = (b["rss_kib"] - a["rss_kib"]) / float(hi - lo)
print("memory: RSS %d KiB at %d users, %d KiB at %d users: %.1f KiB per virtual user (goal <= %d); "
      "peak %.1f KiB per virtual user (while they all request at once)"
      % (a["rss_settled_kib"], lo, b["rss_settled_kib"], hi, per, 40 if mode == "https" else 12, peak))
PY

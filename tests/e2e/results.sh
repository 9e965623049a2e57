#!/bin/bash
# results.sh - a run's results through mited, end to end, against
# mite-target on a loopback port: the counts in /metrics, in the event log,
# in summary.json and in what the target received agree; the exposition
# parses back strictly; a threshold that must pass passes and one that must
# fail makes `start --wait` exit 4; the metrics endpoint survives a garbage
# request and a slow client; `mitectl results`, `cat` and `report` work on
# the run.
. "$(dirname "$0")/lib.sh"

TARGET=$top_builddir/tools/mite-target
PROM="python3 $top_srcdir/tests/e2e/promparse.py"
TPID=
trap 'if [ -n "$TPID" ]; then kill "$TPID" 2>/dev/null; wait "$TPID" 2>/dev/null; fi; e2e_cleanup' EXIT

"$TARGET" --port 0 >"$T/target.out" 2>&1 &
TPID=$!
for _ in $(seq 50); do grep -q listening "$T/target.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$T/target.out")
[ -n "$PORT" ] || { fail "mite-target did not start"; finish; }

# get URL: the body of a GET (a new connection each time).
get() {
	python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$1"
}

write_conf 'results = { events_max_size = "8M"; events_keep = 2; http_events = true; };'
start_mited --metrics-listen 127.0.0.1:0 || finish
MPORT=$(sed -n 's|.*metrics on http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$LOG" | head -1)
check "mited says where /metrics is" [ -n "$MPORT" ]
METRICS=http://127.0.0.1:$MPORT/metrics
get "$METRICS" >"$T/metrics0.txt"
check "/metrics answers with no run yet, in format" sh -c "$PROM <'$T/metrics0.txt' >/dev/null"

# 1. A passing run: 4 instances GETting the target for 3 s (2 ms each,
#    so that no runner has to drop events between two batches).
cat >"$T/pass.conf" <<EOF
name = "results-e2e";
duration = 3;
verdict = { volume = "warn"; saturation = "warn"; };   # thresholds are the subject here, not mite's load
config = { base_url = "http://127.0.0.1:$PORT/delay/2"; };
journeys = ( { name = "web"; journey = "$PLUGINS/http_get.so:journey";
	volume = { type = "constant"; count = 4; }; } );
thresholds = (
	{ metric = "http:GET:200"; stat = "count"; min = 10; },
	{ metric = "txn:get"; stat = "p95"; max = 2.0; },
	{ metric = "txn:*"; stat = "failure_rate"; max = 0.0; window = 2; abort = true; }
);
EOF
get "http://127.0.0.1:$PORT/stats/reset" >/dev/null
timeout 60 "$MITECTL" --socket "$SOCK" --no-color start "$T/pass.conf" --wait >"$T/pass.out" 2>&1
rc=$?
check_ran "start --wait: exit 0 for a run whose thresholds hold" "$rc" "$T/pass.out"
RUN=$(head -1 "$T/pass.out")
RES=$STATE/results/$RUN
check "the run's verdict is passed" field_is "$RUN" verdict passed
get "http://127.0.0.1:$PORT/stats" >"$T/target.json"
check "summary.json and summary.txt written" [ -s "$RES/summary.json" -a -s "$RES/summary.txt" ]
check "the event log ends with its end record" sh -c "tail -1 '$RES/events.jsonl' | grep -q '\"type\":\"end\"'"
get "$METRICS" >"$T/metrics.txt"
check "the exposition parses back strictly" sh -c "$PROM <'$T/metrics.txt' >/dev/null"

SENT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests"].get("/delay/2", 0))' "$T/target.json")
DROPPED=$(python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["events"]; print(int(e["dropped_runners"] + e["dropped_log"]))' "$RES/summary.json")
SUM=$(python3 -c 'import json,sys; print(sum(h["count"] for h in json.load(open(sys.argv[1]))["http"] if h["method"] == "GET" and h["status"] == "200"))' "$RES/summary.json")
EVS=$(grep -c '"type":"http_metrics"' "$RES/events.jsonl")
MET=$($PROM --sum mite_http_response_total run="$RUN" method=GET response_code=200 <"$T/metrics.txt")
TXS=$(python3 -c 'import json,sys; print(sum(t["count"] for t in json.load(open(sys.argv[1]))["transactions"]))' "$RES/summary.json")
TXM=$($PROM --sum mite_transaction_total run="$RUN" <"$T/metrics.txt")
TXT=$(python3 -c '
import json, sys
print(sum(t["count"] for l in open(sys.argv[1]) for t in json.loads(l)["transactions"]))' "$RES/timeline.jsonl")
echo "target $SENT, summary $SUM, events $EVS (dropped $DROPPED), metrics $MET; transactions: summary $TXS, metrics $TXM, timeline $TXT"
check "the target received requests" [ "${SENT:-0}" -gt 10 ]
check "summary = target" [ "$SUM" = "$SENT" ]
check "event log = target (one http_metrics per response, none dropped)" sh -c "[ '$EVS' = '$SENT' ] && [ '$DROPPED' = 0 ]"
check "/metrics = target" [ "$MET" = "$SENT" ]
check "transactions: /metrics = summary = timeline" sh -c "[ '$TXM' = '$TXS' ] && [ '$TXT' = '$TXS' ]"
check "/metrics: the threshold gauges are 0" [ "$($PROM --sum mite_threshold_broken run="$RUN" <"$T/metrics.txt")" = 0 ]
check "/metrics: runner gauges" sh -c "$PROM --sum mite_runner_wanted run='$RUN' <'$T/metrics.txt' | grep -qx 2"
check "every series the Grafana dashboard queries is exposed" python3 - "$top_srcdir/contrib/grafana-dashboard.json" "$T/metrics.txt" <<'PY'
import json, re, sys
names = set(re.findall(r"mite_[a-z_]+", open(sys.argv[1]).read()))
exposed = set(re.findall(r"^# TYPE (\S+) ", open(sys.argv[2]).read(), re.M))
missing = [n for n in names if re.sub(r"_bucket$", "", n) not in exposed]
print("  missing: %s" % missing if missing else "  %d series names, all exposed" % len(names))
sys.exit(1 if missing else 0)
PY
check "/metrics: histogram of response times counts every response" \
	[ "$($PROM --sum mite_http_response_time_seconds_count run="$RUN" <"$T/metrics.txt")" = "$SENT" ]

# 2. mitectl results / cat / report on it.
check "results prints the summary with its thresholds" sh -c "\"$MITECTL\" --socket '$SOCK' --no-color results '$RUN' | grep -q '^verdict: passed'"
check "results --json prints summary.json" sh -c "\"$MITECTL\" --socket '$SOCK' results '$RUN' --json | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)[\"verdict\"] == \"passed\" else 1)'"
check "results of a folder, without the daemon" sh -c "\"$MITECTL\" --no-color results '$RES' | grep -q 'http:GET:200 count >= 10'"
check "cat prints one line per event" sh -c "[ \$(\"$MITECTL\" --no-color cat '$RES/events.jsonl' | wc -l) -eq \$(wc -l <'$RES/events.jsonl') ]"
check "cat shows responses readably" sh -c "\"$MITECTL\" --no-color cat '$RES' | grep -q ' http      GET 200 http://127.0.0.1:$PORT/delay/2 '"
check "report writes one HTML file" sh -c "\"$MITECTL\" --socket '$SOCK' report '$RUN' -o '$T/r.html' && grep -q '<svg' '$T/r.html'"

# 3. A run whose threshold must break: quick responses, p95 under 1 us.
sed -e 's/max = 2.0;/max = 0.000001;/' "$T/pass.conf" >"$T/fail.conf"
timeout 60 "$MITECTL" --socket "$SOCK" --no-color start "$T/fail.conf" --duration 2 --wait >"$T/fail.out" 2>&1
rc=$?
check "start --wait: exit 4 when a threshold breaks" [ "$rc" -eq 4 ]
RUN2=$(head -1 "$T/fail.out")
check "its verdict is thresholds" field_is "$RUN2" verdict thresholds
check "summary.json names the broken threshold" sh -c "python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))[\"thresholds\"]; sys.exit(0 if [x[\"ok\"] for x in t] == [True, False, True] else 1)' '$STATE/results/$RUN2/summary.json'"
get "$METRICS" >"$T/metrics2.txt"
check "/metrics: the broken threshold's gauge is 1" [ "$($PROM --sum mite_threshold_broken run="$RUN2" <"$T/metrics2.txt")" = 1 ]

# 4. The endpoint under a garbage request and a slow client.
python3 - "$MPORT" >"$T/abuse.out" 2>&1 <<'PY'
import socket, sys, time, urllib.request
port = int(sys.argv[1])
g = socket.create_connection(("127.0.0.1", port), timeout=5)
g.sendall(b"\x00\x01GARBAGE\xff\xfe / HTTP/9.9\r\n\xff: \xff\r\n\r\n")
try:
    g.recv(4096)
except OSError:
    pass
g.close()
slow = socket.create_connection(("127.0.0.1", port), timeout=30)
slow.sendall(b"GET /metr")              # and nothing more
t0 = time.monotonic()
body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read()
assert b"# TYPE mite_transaction_total counter" in body, body[:200]
print("served in %.3f s beside the slow client" % (time.monotonic() - t0))
slow.settimeout(20)
try:
    gone = slow.recv(1) == b""
except ConnectionResetError:
    gone = True
print("slow client dropped after %.1f s" % (time.monotonic() - t0))
sys.exit(0 if gone else 1)
PY
rc=$?
cat "$T/abuse.out"
check "garbage and a slow client: /metrics still served, the slow one dropped" [ "$rc" -eq 0 ]
check "mited still answers" ctl ping

stop_mited TERM
check "SIGTERM: exit 0 (the metrics server stopped with it)" [ $? -eq 0 ]
finish

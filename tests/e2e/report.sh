#!/bin/bash
# report.sh - `mitectl scenario test --results DIR` against mite-target,
# its exit status under thresholds that hold and one that breaks, then
# `mitectl report DIR -o report.html` rendered by headless Chromium (Debian's
# `chromium`): the charts must have been laid out (every series path has a
# size, which the page's own script reports on <body data-drawn="N/M">),
# nothing may be fetched, and the browser must log no error. Chromium is
# required (quickstart.sh installs it): without it this test fails.
. "$(dirname "$0")/lib.sh"

TARGET=$top_builddir/tools/mite-target
TPID=
trap 'if [ -n "$TPID" ]; then kill "$TPID" 2>/dev/null; wait "$TPID" 2>/dev/null; fi; e2e_cleanup' EXIT

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
	fail "chromium is not installed (apt-get install chromium; quickstart.sh does it)"
	finish
fi

"$TARGET" --port 0 >"$T/target.out" 2>&1 &
TPID=$!
for _ in $(seq 50); do grep -q listening "$T/target.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$T/target.out")
[ -n "$PORT" ] || { fail "mite-target did not start"; finish; }

# An HTTP journey ramping up, and one that fails every other iteration: a
# throughput to chart, latencies, failures, and required vs actual volume.
cat >"$T/s.conf" <<EOF
name = "report-e2e";
duration = 5;
# This test is about the report and thresholds, not mite's own load: a
# loaded machine's short volume or loop lag is a warning here, not the verdict.
verdict = { volume = "warn"; saturation = "warn"; };
config = { base_url = "http://127.0.0.1:$PORT/delay/3"; };
journeys = (
	{ name = "web"; journey = "$PLUGINS/http_get.so:journey";
	  volume = { type = "ramp"; from = 1; to = 6; over = 3; }; },
	{ name = "flaky"; journey = "$TPLUGINS/e2e.so:flaky";
	  datapool = { type = "range"; from = 1; to = 1000000; };
	  volume = { type = "constant"; count = 2; }; }
);
thresholds = (
	{ metric = "txn:outer"; stat = "failure_rate"; max = 0.6; },
	{ metric = "http:GET:200"; stat = "p99"; max = "2s"; }
);
EOF
timeout 60 "$MITECTL" --no-color scenario test "$T/s.conf" --results "$T/res" >"$T/test.out" 2>&1
rc=$?
check_ran "scenario test: exit 0 when the thresholds hold (journey errors within them)" "$rc" "$T/test.out"
check "scenario test prints the thresholds" grep -q '^  ok      txn:outer failure_rate <= 0.6' "$T/test.out"
check "--results wrote the files" sh -c "[ -s '$T/res/summary.json' ] && [ -s '$T/res/timeline.jsonl' ] && [ -s '$T/res/events.jsonl' ]"

sed -e 's/max = 0.6;/max = 0.1;/' "$T/s.conf" >"$T/broken.conf"
timeout 60 "$MITECTL" --no-color scenario test "$T/broken.conf" --duration 2 >"$T/broken.out" 2>&1
rc=$?
check "scenario test: exit 4 when a threshold breaks" [ "$rc" -eq 4 ]
check "... and says which" grep -q '^  BROKEN  txn:outer failure_rate <= 0.1' "$T/broken.out"

"$MITECTL" report "$T/res" -o "$T/report.html"
check "report written" [ -s "$T/report.html" ]
# (URLs may appear as text - the config, error messages - but never as a
# resource: no src, no link href, no CSS url() or @import.)
check "the report loads nothing" sh -c "! grep -Eiq ' src=|<link|href=\"https?:|url\\(|@import' '$T/report.html'"
check "the report forbids fetches (CSP default-src 'none')" grep -q "default-src 'none'" "$T/report.html"
NPATHS=$(grep -o '<path class="s' "$T/report.html" | wc -l)
check "the report has chart series" [ "$NPATHS" -ge 10 ]

profile=$(mktemp -d "$T/chromium.XXXXXX")
# Bounded: --timeout stops the page after 20 s of virtual time; timeout(1)
# kills the browser if it hangs anyway.
timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
	--disable-component-update --disable-sync --no-first-run --disable-extensions \
	--user-data-dir="$profile" --enable-logging=stderr --v=0 --timeout=20000 \
	--dump-dom "file://$T/report.html" >"$T/dom.html" 2>"$T/chromium.log"
rc=$?
check "chromium rendered the page" sh -c "[ $rc -eq 0 ] && grep -q '</html>' '$T/dom.html'"
DRAWN=$(sed -n 's/.*<body data-drawn="\([0-9]*\/[0-9]*\)".*/\1/p' "$T/dom.html")
echo "series drawn: $DRAWN (paths in the file: $NPATHS)"
check "every chart series was laid out with a size" [ "$DRAWN" = "$NPATHS/$NPATHS" ]
check "charts have data points" sh -c "grep -o 'data-points=\"[0-9]*\"' '$T/dom.html' | grep -vq 'data-points=\"0\"'"
check "the volume chart has required and actual series" sh -c "grep -q 'data-series=\"web required\"' '$T/dom.html' && grep -q 'data-series=\"web actual\"' '$T/dom.html'"
check "the page logged no error (console, CSP)" sh -c "! grep -Ei 'CONSOLE|Uncaught|Refused to|Content Security Policy' '$T/chromium.log'"
if [ "$E2E_FAILS" -gt 0 ]; then
	echo "---- chromium log"
	tail -20 "$T/chromium.log"
fi

timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
	--disable-component-update --disable-sync --no-first-run --disable-extensions \
	--user-data-dir="$profile" --window-size=1100,1600 --timeout=20000 \
	--screenshot="$T/report.png" "file://$T/report.html" >/dev/null 2>&1
check "a screenshot of it is not blank" sh -c "[ \$(stat -c %s '$T/report.png' 2>/dev/null || echo 0) -gt 20000 ]"
finish

#!/bin/bash
# soak.sh - mited under a long HTTP run: memory and file descriptors stay
# flat, and every request is counted exactly.
#
#   bench/soak.sh [BUILDDIR]        (default: the current folder)
#
# A private mited (its own socket and state folder) runs plugins/http_get.c
# against mite-target on a loopback port, at full rate (no think time),
# for SOAK_SECONDS. Every SOAK_EVERY seconds the run is changed, in turn:
# scale 50 %, scale 200 %, pause, resume, scale 100 %. Every SOAK_SAMPLE
# seconds the RSS and the open file descriptors of mited and of every
# runner are sampled. At the end:
#   - RSS: after the warm-up (the first full cycle of changes, or the first
#     20 % of the run if longer), every sample of mited and of each runner
#     is within +-5 % of that process's post-warm-up median;
#   - fds: no process opens more after the warm-up than it had at most
#     during it (+2, or +2 %), so nothing leaks cycle after cycle;
#   - counts: the run's summary.json counts exactly the requests
#     mite-target received (its own /stats counter), and as many
#     transactions; no runner was lost.
# Prints the figures and PASS/FAIL per check; exit 0 when all pass.
#
# Not part of `make check` (it runs for 10 minutes). Environment:
#   SOAK_SECONDS (600), SOAK_EVERY (30), SOAK_SAMPLE (5),
#   SOAK_INSTANCES (50), SOAK_RUNNERS (2), SOAK_KEEP (the temporary
#   folder with its samples and logs is kept when set).
# Loopback only; bounded by the run's duration plus a timeout.
set -u
BUILD=$(cd "${1:-.}" && pwd)
SOAK_SECONDS=${SOAK_SECONDS:-600}
SOAK_EVERY=${SOAK_EVERY:-30}
SOAK_SAMPLE=${SOAK_SAMPLE:-5}
SOAK_INSTANCES=${SOAK_INSTANCES:-50}
SOAK_RUNNERS=${SOAK_RUNNERS:-2}

# The warm-up holds a whole cycle of changes (every phase: its fds are the
# reference), and at least one more cycle follows.
[ "$SOAK_SECONDS" -ge $((10 * SOAK_EVERY)) ] ||
	{ echo "soak: SOAK_SECONDS must be at least 10 x SOAK_EVERY (two cycles of five changes)" >&2; exit 2; }
for f in mited mitectl tools/mite-target plugins/http_get.so; do
	[ -e "$BUILD/$f" ] || { echo "soak: $BUILD/$f is missing: build mite first, or name its build folder" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "soak: python3 is needed" >&2; exit 2; }

D=$(mktemp -d /tmp/mite-soak.XXXXXX) || exit 1
SOCK=$D/mited.sock
TPID=
MPID=
cleanup() {
	[ -n "$MPID" ] && kill -TERM "$MPID" 2>/dev/null && sleep 1 && kill -KILL "$MPID" 2>/dev/null
	[ -n "$TPID" ] && kill "$TPID" 2>/dev/null
	pkill -KILL -f -- "[-]-connect ipc://$D/" 2>/dev/null
	if [ -n "${SOAK_KEEP:-}" ]; then echo "soak: kept $D"; else rm -rf "$D"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ctl() { "$BUILD/mitectl" --socket "$SOCK" --no-color "$@"; }
get() { python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$1"; }

"$BUILD/tools/mite-target" --port 0 >"$D/target.out" 2>&1 &
TPID=$!
for _ in $(seq 50); do grep -q listening "$D/target.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$D/target.out")
[ -n "$PORT" ] || { echo "soak: mite-target did not start" >&2; exit 1; }

cat >"$D/mited.conf" <<EOF
plugin_dirs = [ "$BUILD/plugins" ];
runners = $SOAK_RUNNERS;
log_level = "info";
EOF
"$BUILD/mited" --config "$D/mited.conf" --socket "$SOCK" --state-dir "$D/state" >"$D/mited.log" 2>&1 &
MPID=$!
for _ in $(seq 100); do ctl ping >/dev/null 2>&1 && break; sleep 0.1; done
ctl ping >/dev/null || { echo "soak: mited did not come up" >&2; exit 1; }

cat >"$D/soak.conf" <<EOF
name = "soak";
duration = $SOAK_SECONDS;
config = { base_url = "http://127.0.0.1:$PORT/"; };
journeys = ( { name = "get"; journey = "$BUILD/plugins/http_get.so:journey";
	volume = { type = "constant"; count = $SOAK_INSTANCES; }; } );
EOF
get "http://127.0.0.1:$PORT/stats/reset" >/dev/null
RUN=$(ctl start "$D/soak.conf") || { echo "soak: the run did not start" >&2; exit 1; }
echo "soak: run $RUN: $SOAK_INSTANCES instances on $SOAK_RUNNERS runners for $SOAK_SECONDS s against 127.0.0.1:$PORT"

# One sample line per process: time, role, pid, RSS (kB), fds.
sample() {
	local t=$1 pid
	for pid in $MPID $(pgrep -f -- "[-]-id $RUN\\."); do
		local rss fds role=runner
		rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || continue
		fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
		[ "$pid" = "$MPID" ] && role=mited
		[ -n "$rss" ] && echo "$t $role $pid $rss $fds"
	done >>"$D/samples"
}

# mitectl's arguments for each change; RUN replaced by the run's id.
ACTIONS=("scale RUN 50" "scale RUN 200" "pause RUN" "resume RUN" "scale RUN 100")
START=$(date +%s)
NEXT_ACTION=$((START + SOAK_EVERY))
k=0
while :; do
	NOW=$(date +%s)
	EL=$((NOW - START))
	STATE=$(ctl --json status "$RUN" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["run"]["state"])' 2>/dev/null)
	[ "$STATE" = done ] && break
	# Paused time does not count towards the duration: a fifth of it at
	# most is paused.
	[ "$EL" -gt $((SOAK_SECONDS * 2 + 120)) ] && { echo "soak: the run did not end in time" >&2; exit 1; }
	sample "$EL"
	if [ "$NOW" -ge "$NEXT_ACTION" ]; then
		a=${ACTIONS[$((k % ${#ACTIONS[@]}))]}
		# After the duration, only the resume that ends a pause.
		if [ "$EL" -lt "$SOAK_SECONDS" ] || [ "${a%% *}" = resume ]; then
			# shellcheck disable=SC2086
			if ctl ${a/RUN/$RUN} >/dev/null 2>>"$D/actions.err"; then
				echo "$EL ${a/ RUN/}" >>"$D/actions"
			else
				echo "soak: mitectl ${a/RUN/$RUN} failed" >&2
				FAILED_ACTIONS=$((${FAILED_ACTIONS:-0} + 1))
			fi
			k=$((k + 1))
		fi
		NEXT_ACTION=$((NEXT_ACTION + SOAK_EVERY))
	fi
	sleep "$SOAK_SAMPLE"
done
get "http://127.0.0.1:$PORT/stats" >"$D/target.json"
RES=$D/state/results/$RUN
echo "soak: $(wc -l <"$D/actions") changes made ($(cut -d' ' -f2- "$D/actions" | sort | uniq -c | tr -s ' \n' ' ')), ${FAILED_ACTIONS:-0} failed; samples in $D/samples"

python3 - "$D/samples" "$RES/summary.json" "$D/target.json" "$SOAK_SECONDS" "$SOAK_EVERY" \
	"$(ctl --json status "$RUN")" "${FAILED_ACTIONS:-0}" <<'PY'
import json, statistics, sys
samples, summary, target, seconds, every, status, failed_actions = sys.argv[1:8]
seconds, every = float(seconds), float(every)
warm = max(5 * every, 0.2 * seconds)
procs = {}
for line in open(samples):
    t, role, pid, rss, fds = line.split()
    procs.setdefault((role, pid), []).append((float(t), int(rss), int(fds)))
fails = 0

def check(ok, what):
    global fails
    print(("PASS" if ok else "FAIL") + ": soak: " + what)
    fails += 0 if ok else 1

print("warm-up: the first %.0f s" % warm)
for (role, pid), ss in sorted(procs.items()):
    before = [s for s in ss if s[0] < warm]
    after = [s for s in ss if s[0] >= warm]
    if not after or not before:
        check(False, "%s %s: too few samples (%d before, %d after the warm-up)" % (role, pid, len(before), len(after)))
        continue
    rss = [s[1] for s in after]
    med = statistics.median(rss)
    lo, hi = min(rss), max(rss)
    dev = max(med - lo, hi - med) / med * 100
    check(dev <= 5.0, "%s %s: RSS after warm-up %d..%d kB, median %d kB (+-%.1f %%, at most 5 %%)"
          % (role, pid, lo, hi, med, dev))
    fmax_before = max(s[2] for s in before)
    fmax_after = max(s[2] for s in after)
    slack = max(2, fmax_before // 50)
    check(fmax_after <= fmax_before + slack,
          "%s %s: fds at most %d during the warm-up, %d after (+%d allowed); last %d"
          % (role, pid, fmax_before, fmax_after, slack, after[-1][2]))
check(sum(1 for r, _ in procs if r == "runner") >= 1, "runners were sampled")
s = json.load(open(summary))
t = json.load(open(target))
sent = t["requests"].get("/", 0)
http = sum(h["count"] for h in s["http"] if h["method"] == "GET" and h["status"] == "200")
other = sum(h["count"] for h in s["http"] if not (h["method"] == "GET" and h["status"] == "200"))
txns = sum(x["count"] for x in s["transactions"])
failed = sum(x.get("failed", 0) for x in s["transactions"])
st = json.loads(status)["run"]
print("target received %d requests; summary: %d GET 200 (%d other), %d transactions (%d failed), "
      "%.0f req/s over %.0f s; verdict %s; restarts %d"
      % (sent, http, other, txns, failed, sent / max(st["elapsed"], 1), st["elapsed"], s.get("verdict"), st.get("restarts", 0)))
check(sent > 0 and http == sent, "summary.json counts exactly what mite-target received (%d = %d)" % (http, sent))
check(txns == sent, "one transaction per request (%d = %d)" % (txns, sent))
check(failed == 0 and other == 0, "no failed transaction, no other status")
check(st.get("restarts", 0) == 0 and not st.get("error"), "no runner lost")
check(failed_actions == "0", "every scale, pause and resume was accepted (%s failed)" % failed_actions)
sys.exit(1 if fails else 0)
PY
RC=$?
ctl stop "$RUN" >/dev/null 2>&1
exit $RC

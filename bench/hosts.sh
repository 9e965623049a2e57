#!/bin/bash
# hosts.sh - one controller and many runner hosts: what the controller pays
# per host.
#
#   bench/hosts.sh [BUILDDIR]        (default: the current folder; as root)
#
# Two network namespaces on a switch (tests/e2e/netns.sh, 198.18.0.0/15): the
# controller (mited --listen with CURVE) in one, HOSTS real agents (mited
# --agent, each with its own key and RUNNERS runners) in the other. Each
# runner gets one instance of a journey that records 20 transactions and sleeps a
# second, so every runner sends stats each second with ~20 keys; ticks are
# the controller's (100 ms). Three phases, HOLD s each, measured by
# bench/hosts.py from outside the controller:
#   alone    the controller with no host (the baseline);
#   idle     HOSTS hosts connected, no run (heartbeats only);
#   running  the run on every host.
# Per phase: the controller's CPU (% of one core, and per host), the bytes/s
# each way on its interface (total and per host), the round trip of a ping
# on its control socket (its loop's delay: the loop that sends the ticks),
# its RSS. The agents run on the same machine and take CPU from it: the
# controller's CPU is its own (its /proc stat), the ping delay is not.
#
# Environment: HOSTS (200), RUNNERS (runner processes per host, 1; the
# run has one instance per runner), HOLD (20 s per phase), LIMIT (120 s for
# the hosts to join and the run to reach them), JSON (a file to append the
# raw results to). Everything is bounded by LIMIT and HOLD; the namespaces and
# every process in them go away on any exit.
set -u
BUILD=$(cd "${1:-.}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
HOSTS=${HOSTS:-200}
RUNNERS=${RUNNERS:-1}
HOLD=${HOLD:-20}
LIMIT=${LIMIT:-120}
E2E_NAME=hosts-bench

for tool in python3 cc ip; do
	command -v $tool >/dev/null || { echo "hosts: $tool is missing" >&2; exit 2; }
done
[ -x "$BUILD/mited" ] && [ -x "$BUILD/mitectl" ] ||
	{ echo "hosts: no mited/mitectl in $BUILD: build mite first, or name its build folder" >&2; exit 2; }
if ! "$BUILD/mited" --help 2>&1 | grep -q -- '--agent' || ! "$BUILD/mitectl" help 2>&1 | grep -q 'keygen'; then
	echo "hosts: this mite has no runner hosts (mited --agent, mitectl keygen): build a tree that has them (issue 11)" >&2
	exit 2
fi
[ "$HOSTS" -ge 1 ] && [ "$HOSTS" -le 1000 ] || { echo "hosts: HOSTS=$HOSTS: 1 to 1000" >&2; exit 2; }
[ "$RUNNERS" -ge 1 ] && [ "$RUNNERS" -le 16 ] || { echo "hosts: RUNNERS=$RUNNERS: 1 to 16" >&2; exit 2; }
INST=$((HOSTS * RUNNERS))

. "$SRC/tests/e2e/netns.sh"
# netns_require's SKIP is a test's; here it is an error.
netns_skip() { echo "hosts: $*" >&2; exit 2; }
netns_require

D=$(mktemp -d /tmp/mite-bench-hosts.XXXXXX) || exit 1
CTL_PID=
cleanup() {
	[ -n "$CTL_PID" ] && kill -KILL "$CTL_PID" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
# The agents are many: unbounded by the test harness's E2E_LIMIT, so a
# watchdog of our own.
(sleep $((LIMIT * 2 + HOLD * 3 + 60)) && kill -TERM $$) >/dev/null 2>&1 &
WATCHDOG=$!
trap 'kill $WATCHDOG 2>/dev/null; netns_down; cleanup' EXIT

# The journey: 20 transactions, then a second of sleep.
cat >"$D/twenty.c" <<'C'
#include <mite/mite.h>
MITE_MODULE(NULL, NULL);
MITE_EXPORT int twenty(mite_ctx *ctx, const mite_row *row);
int twenty(mite_ctx *ctx, const mite_row *row)
{
	static const char *names[20] = {"t00", "t01", "t02", "t03", "t04", "t05", "t06",
		"t07", "t08", "t09", "t10", "t11", "t12", "t13", "t14", "t15", "t16", "t17",
		"t18", "t19"};
	(void)row;
	for (int i = 0; i < 20; i++) {
		mite_txn_begin(ctx, names[i]);
		mite_txn_end(ctx);
	}
	return mite_sleep(ctx, 1.0);
}
C
mkdir -p "$D/plugins" "$D/keys/authorized" "$D/agents"
cc -O2 -shared -fPIC -I"$SRC/sdk/include" "$D/twenty.c" -o "$D/plugins/twenty.so" ||
	{ echo "hosts: cannot build the journey" >&2; exit 1; }

# Keys: the controller's, one per host.
(cd "$D/keys" && "$BUILD/mitectl" keygen controller >/dev/null) || { echo "hosts: keygen failed" >&2; exit 1; }
for i in $(seq -w 1 "$HOSTS"); do
	(cd "$D/keys" && "$BUILD/mitectl" keygen "h$i" >/dev/null && mv "h$i.pub" authorized/) ||
		{ echo "hosts: keygen h$i failed" >&2; exit 1; }
done

netns_up ctl agents || { echo "hosts: the namespaces could not be set up" >&2; exit 1; }
CADDR=$(netns_addr ctl)
cat >"$D/mited.conf" <<EOF
plugin_dirs = [ "$D/plugins" ];
log_level = "notice";
runner_timeout = 30.0;
limits = { max_clients = 16; };
EOF
SOCK=$D/ctl.sock
netns_bg ctl "$BUILD/mited" --config "$D/mited.conf" --socket "$SOCK" --state-dir "$D/ctl" \
	--listen "tcp://$CADDR:14301" --key "$D/keys/controller.key" \
	--authorized-keys "$D/keys/authorized" >"$D/ctl.log" 2>&1
CTL_PID=$NETNS_PID
ctl() { "$BUILD/mitectl" --socket "$SOCK" --no-color "$@"; }
for _ in $(seq 100); do ctl ping >/dev/null 2>&1 && break; sleep 0.1; done
ctl ping >/dev/null 2>&1 || { echo "hosts: the controller did not start"; tail "$D/ctl.log"; exit 1; }

measure() {
	python3 "$SRC/bench/hosts.py" "$1" "$SOCK" "$CTL_PID" "$(netns_ns ctl)" eth0 "$HOLD" "$2" |
		tee -a "$D/raw.jsonl" ${JSON:+"$JSON"}
}

# hosts_up N: N hosts up and, with a second argument, N instances on them.
hosts_now() {
	ctl --json hosts 2>/dev/null | python3 -c '
import json, sys
h = [x for x in json.load(sys.stdin).get("hosts", []) if x.get("state") == "up"]
print(len(h), sum(int(x.get("instances", 0)) for x in h))'
}
wait_hosts() {
	local i up inst
	for i in $(seq $((LIMIT * 2))); do
		read -r up inst < <(hosts_now)
		if [ "${up:-0}" -ge "$HOSTS" ] && { [ -z "${2:-}" ] || [ "${inst:-0}" -ge "$INST" ]; }; then
			return 0
		fi
		sleep 0.5
	done
	echo "hosts: after $LIMIT s: $up hosts up, $inst instances (want $HOSTS, $INST)" >&2
	return 1
}

echo "hosts: $HOSTS hosts, $RUNNERS runner(s) each, HOLD=$HOLD s per phase, $(nproc) CPUs ($(uname -r))"
measure alone 0

S=$(date +%s)
for i in $(seq -w 1 "$HOSTS"); do
	mkdir -p "$D/agents/$i"
	netns_bg agents "$BUILD/mited" --agent "tcp://$CADDR:14301" --key "$D/keys/h$i.key" \
		--server-key "$D/keys/controller.pub" --runners-per-host "$RUNNERS" --config "$D/mited.conf" \
		--state-dir "$D/agents/$i" --socket "$D/agents/$i/s" >>"$D/agents.log" 2>&1
done
wait_hosts "$HOSTS" || { tail -n 20 "$D/ctl.log"; exit 1; }
echo "hosts: $HOSTS hosts joined in $(($(date +%s) - S)) s"
measure idle "$HOSTS"

cat >"$D/scn.conf" <<EOF
name = "hosts-bench";
duration = $((LIMIT + HOLD + 30));
journeys = ( { name = "twenty"; journey = "$D/plugins/twenty.so:twenty";
	volume = { type = "constant"; count = $INST; }; } );
EOF
RUN=$(ctl start "$D/scn.conf") || { echo "hosts: the run did not start"; tail "$D/ctl.log"; exit 1; }
S=$(date +%s)
wait_hosts "$HOSTS" instances || { ctl status "$RUN"; tail -n 20 "$D/ctl.log"; exit 1; }
echo "hosts: the run reached $INST instances on $HOSTS hosts in $(($(date +%s) - S)) s"
measure running "$HOSTS"
ctl stop "$RUN" >/dev/null 2>&1

python3 - "$D/raw.jsonl" <<'PY'
import json, sys
rows = {r["phase"]: r for r in map(json.loads, open(sys.argv[1]))}
print("%-8s %6s %9s %12s %12s %12s %10s %10s %10s %9s" % (
    "phase", "hosts", "cpu %", "cpu %/host", "in B/s", "out B/s", "ping p50", "ping p99", "ping max", "rss MiB"))
for p in ("alone", "idle", "running"):
    r = rows.get(p)
    if r:
        print("%-8s %6d %9.2f %12.4f %12d %12d %8.2fms %8.2fms %8.2fms %9.1f" % (
            p, r["hosts"] if p != "alone" else 0, r["cpu_pct"], r["cpu_pct_per_host"] if p != "alone" else 0,
            r["in_Bps"], r["out_Bps"], r["ping_ms_p50"], r["ping_ms_p99"], r["ping_ms_max"], r["rss_kib"] / 1024))
r, a = rows.get("running"), rows.get("alone")
if r and a:
    n = r["hosts"]
    per = (r["cpu_pct"] - a["cpu_pct"]) / n
    print("running, over the baseline: %.4f %% of a core per host; at 1000 hosts ~%.1f %% of a core "
          "(linear); %.0f B/s in and %.0f B/s out per host (x1000: %.1f / %.1f MB/s)" % (
              per, per * 1000, r["in_Bps_per_host"], r["out_Bps_per_host"],
              r["in_Bps_per_host"] * 1000 / 1e6, r["out_Bps_per_host"] * 1000 / 1e6))
    print("goal: <= 25 %% of one core at %d hosts: %s (%.2f %%)" % (
        n, "met" if r["cpu_pct"] <= 25 else "NOT met", r["cpu_pct"]))
PY

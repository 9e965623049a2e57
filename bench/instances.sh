#!/bin/bash
# instances.sh - many sleeping virtual users, mite beside a Python asyncio
# peer, in one run: 10k -> 100k -> 1M instances.
#
#   bench/instances.sh [BUILDDIR]        (default: the current folder)
#
# Each virtual user loops over a transaction around a sleep of SLEEP s. mite
# runs as mited with RUNNERS runner processes (one per core by default),
# the peer as one asyncio process (Python's mite-like generator: coroutines
# on one event loop). Per level and tool it prints the seconds to reach 99 %
# of the volume, RSS per instance (all runner processes / instances), page
# tables per instance, CPU per iteration and iterations/s, then the ratios
# mite / peer. See bench/instances.py for how each figure is taken.
#
# Environment: LEVELS ("10000 100000 1000000"), SLEEP (10), HOLD (10 s of
# CPU measurement once the volume is reached), LIMIT (30 s to reach it),
# RUNNERS (one per core), PEER (1; 0 skips the peer), JSON (a file to
# append the raw results to).
# Nothing goes over the network; every level is bounded by LIMIT + HOLD.
set -u
BUILD=$(cd "${1:-.}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
LEVELS=${LEVELS:-10000 100000 1000000}
PEER=${PEER:-1}
export SLEEP=${SLEEP:-10} HOLD=${HOLD:-10} LIMIT=${LIMIT:-30} RUNNERS=${RUNNERS:-0}

for tool in python3 pgrep cc; do
	command -v $tool >/dev/null || { echo "instances: $tool is missing" >&2; exit 2; }
done
[ -x "$BUILD/mited" ] && [ -x "$BUILD/mitectl" ] ||
	{ echo "instances: no mited/mitectl in $BUILD: build mite first, or name its build folder" >&2; exit 2; }

D=$(mktemp -d /tmp/mite-bench.XXXXXX) || exit 1
trap 'rm -rf "$D"' EXIT
trap 'exit 1' INT TERM

# The journey: a transaction around mite_sleep, the sleep read once.
cat >"$D/sleeper.c" <<'C'
#include <mite/mite.h>
MITE_MODULE(NULL, NULL);
MITE_EXPORT int sleeper(mite_ctx *ctx, const mite_row *row);
int sleeper(mite_ctx *ctx, const mite_row *row)
{
	static double s = -1;

	(void)row;
	if (s < 0)
		s = mite_config_double(ctx, "sleep", 10);
	mite_txn_begin(ctx, "sleep");
	mite_sleep(ctx, s);
	return mite_txn_end(ctx);
}
C
cc -O2 -shared -fPIC -I"$SRC/sdk/include" "$D/sleeper.c" -o "$D/sleeper.so" ||
	{ echo "instances: cannot build the journey" >&2; exit 1; }

RAW=$D/raw.jsonl
echo "instances: SLEEP=$SLEEP s per iteration, HOLD=$HOLD s, LIMIT=$LIMIT s, $(nproc) CPUs, vm.max_map_count $(cat /proc/sys/vm/max_map_count)"
for n in $LEVELS; do
	python3 "$SRC/bench/instances.py" mite "$BUILD" "$D/sleeper.so" "$n" >>"$RAW"
	[ "$PEER" = 1 ] && python3 "$SRC/bench/instances.py" peer "$n" >>"$RAW"
done
[ -n "${JSON:-}" ] && cat "$RAW" >>"$JSON"
python3 - "$RAW" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
f = lambda v, fmt: '-' if v is None else fmt % v
print('%10s  %-15s %5s %9s %8s %8s %9s %12s %10s' % ('instances', 'tool', 'procs', 'reach 99%', 'KiB RSS', 'B PTE',
      'us CPU', 'iter/s', 'actual'))
print('%10s  %-15s %5s %9s %8s %8s %9s %12s %10s' % ('', '', '', '(s)', '/inst', '/inst', '/iter', '', ''))
for r in rows:
    print('%10d  %-15s %5d %9s %8s %8s %9s %12s %10s' % (r['n'], r['tool'], r.get('processes', 0),
          f(r.get('reach_s'), '%.2f'), f(r.get('rss_kib'), '%.2f'), f(r.get('pte_b'), '%.0f'),
          f(r.get('cpu_us_iter'), '%.2f'), f(r.get('iter_s'), '%d'), f(r.get('actual'), '%d')))
by = {(r['n'], r['tool']): r for r in rows}
for n in sorted({r['n'] for r in rows}):
    m, p = by.get((n, 'mite')), by.get((n, 'python-asyncio'))
    if m and p and p.get('rss_kib') and p.get('cpu_us_iter'):
        print('%10d  mite/peer: RSS %.2fx, CPU per iteration %.2fx' % (n, m['rss_kib'] / p['rss_kib'],
              m['cpu_us_iter'] / p['cpu_us_iter']))
PY

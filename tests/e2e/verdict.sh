#!/bin/bash
# verdict.sh - what a run that fell short says, end to end: a journey that
# calls exit() in a test mode, results on a full filesystem (a 64 KiB
# tmpfs when we may mount one) or in a folder that refuses the summary, a
# run drained by mited's SIGTERM, and the exit statuses of each.
. "$(dirname "$0")/lib.sh"

VPLUGIN=$TPLUGINS/verdict.so
[ -f "$VPLUGIN" ] || { echo "FAIL: verdict: $VPLUGIN is not built (make check builds it)"; exit 1; }
MNT=
cleanup_verdict() {
	if [ -n "$MNT" ]; then umount "$MNT" 2>/dev/null; fi
	e2e_cleanup
}
trap cleanup_verdict EXIT

nap_scenario() { # NAME DURATION COUNT
	cat >"$T/$1.conf" <<EOC
name = "$1";
duration = $2;
journeys = ( { name = "n"; journey = "$VPLUGIN:nap"; volume = { type = "constant"; count = $3; }; } );
EOC
	echo "$T/$1.conf"
}

# 1. A journey that calls exit(0) must not end mitectl with 0 and nothing.
"$MITECTL" journey test "$VPLUGIN:quit" --duration 5 >"$T/quit.out" 2>"$T/quit.err"
rc=$?
check "journey test: a journey that exits makes mitectl fail (exit 1, was $rc)" [ "$rc" -eq 1 ]
check "... saying which journey and why" grep -q "journey $VPLUGIN:quit ended the process (exit() or quick_exit())" "$T/quit.err"
"$MITECTL" journey run "$VPLUGIN:quit" >/dev/null 2>"$T/quit.err"
rc=$?
check "journey run: the same (exit 1, was $rc)" sh -c "[ $rc -eq 1 ] && grep -q 'ended the process' '$T/quit.err'"

# 2. The summary cannot be written where it goes: said on stderr, exit 8.
SCN=$(nap_scenario blocked 1 2)
mkdir -p "$T/blocked/.summary.json.tmp"
"$MITECTL" scenario test "$SCN" --results "$T/blocked" >"$T/blocked.out" 2>"$T/blocked.err"
rc=$?
check "scenario test: results not written -> exit 8 (was $rc)" [ "$rc" -eq 8 ]
check "... said on stderr" grep -q "mitectl: results: could not write $T/blocked/summary.json" "$T/blocked.err"
check "... and in the summary printed" grep -q '^verdict: incomplete (results not written: summary.json' "$T/blocked.out"
check "... which says it is not on disk" grep -q 'this summary is NOT on disk' "$T/blocked.out"
check "no summary.json pretends to be there" [ ! -e "$T/blocked/summary.json" ]

# 3. A full filesystem: a 64 KiB tmpfs (root only).
MNTDIR=$T/full
mkdir -p "$MNTDIR"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=64k tmpfs "$MNTDIR" 2>/dev/null; then
	MNT=$MNTDIR
	# Fill it up first: nothing more fits (folders still do).
	dd if=/dev/zero of="$MNT/filler" bs=4k count=64 2>/dev/null
	"$MITECTL" scenario test "$SCN" --results "$MNT/r" >"$T/full.out" 2>"$T/full.err"
	rc=$?
	if [ -d "$MNT/r" ]; then
		check "full filesystem: exit 8 (was $rc)" [ "$rc" -eq 8 ]
		check "... No space left on device, on stderr" grep -q "No space left on device" "$T/full.err"
		check "... the verdict is incomplete, not passed" grep -q '^verdict: incomplete' "$T/full.out"
		check "... no results path printed as if all were there" grep -q 'the summary is NOT there' "$T/full.out"
	else
		# Not even the folder fits: refused before the run, also not 0.
		check "full filesystem: refused up front (exit $rc, not 0)" [ "$rc" -ne 0 ]
	fi
	# mited with its results on the full tmpfs.
	write_conf "results_dir = \"$MNT/mited\";"
	start_mited || finish
	SCN2=$(nap_scenario fills 2 5)
	timeout 60 "$MITECTL" --socket "$SOCK" --no-color start "$SCN2" --wait >"$T/fills.out" 2>&1
	rc=$?
	RUN=$(head -1 "$T/fills.out")
	check "mited, full filesystem: start --wait exits 8 (was $rc)" [ "$rc" -eq 8 ]
	check "... the verdict is incomplete" field_is "$RUN" verdict incomplete
	check "... status says the summary is not on disk" field_is "$RUN" on_disk False
	"$MITECTL" --socket "$SOCK" --no-color results "$RUN" >"$T/res.out" 2>"$T/res.err"
	check "... results shows the summary kept in memory" grep -q '^verdict: incomplete' "$T/res.out"
	check "... and says it is not on disk" grep -q 'the summary of run .* is not on disk' "$T/res.err"
	check "... mited logged it" log_has "run $RUN: results NOT on disk"
	stop_mited
	rm -rf "${MNT:?}"/*
else
	echo "SKIP: verdict: cannot mount a tmpfs (not root, or no permission): the full-filesystem cases are not tested here; the refused-summary case above was"
fi

# 4. mited's SIGTERM drain cuts a run short: incomplete, saying so.
write_conf
start_mited || finish
RUN=$(ctl start "$(nap_scenario drained 60 3)")
check "a long run starts" wait_for 10 field_is "$RUN" state running
sleep 1.5
stop_mited TERM
check "mited drains and exits 0 on SIGTERM" [ $? -eq 0 ]
SUM=$STATE/results/$RUN/summary.json
check "the drained run's summary is written" [ -s "$SUM" ]
check "its verdict is incomplete, stopped early by SIGTERM" python3 - "$SUM" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
st = s["run"]["stopped"]
v = s["journeys"][0]["volume"]
print("  verdict %s, stopped %s, volume %s" % (s["verdict"], st, v))
ok = (s["verdict"] == "incomplete" and st["early"] and st["by"].startswith("SIGTERM")
      and v["required_mean"] > 2 and v["actual_mean"] > 2)
sys.exit(0 if ok else 1)
PY

finish

#!/bin/sh
# scale.sh - a volume over one runner's instance bound is delivered by more
# runners (test mode: in this process; mited: more runner processes, also
# after a scale), and a volume whose stacks would not fit the memory
# mappings of a runner process is refused before the run starts, in every
# mode, with the sysctl command that raises the limit. The limits are
# lowered through the environment (MITE_INSTANCES_PER_RUNNER,
# MITE_MAX_MAP_COUNT) so that a few hundred instances show it.
. "$(dirname "$0")/lib.sh"

QUICK="$TPLUGINS/e2e.so:quick"

# ---- test mode -------------------------------------------------------------

MITE_INSTANCES_PER_RUNNER=50 timeout 60 "$MITECTL" journey test "$QUICK" --volume 120 \
	--duration 2 --set sleep=0.5 >"$T/tm.out" 2>&1
check "journey test over the bound: exit 0" [ $? -eq 0 ]
check "... on 3 runners of 50" grep -q '^runners   3 ' "$T/tm.out"
check "... all 120 instances ran (actual max 120)" grep -Eq ' 120\.0/120 +120\.0/120 ' "$T/tm.out"

# 64 MiB stacks take a mapping (a slab) each: 1500 of them do not fit a
# process that may have 2000 mappings, of which 1024 are kept for the rest.
big_scenario() {
	cat >"$T/$1.conf" <<EOS
name = "$1"; duration = ${3:-60};
config = { sleep = "30"; };
journeys = ( { name = "big"; journey = "$QUICK"; stack_size = 67108864;
	volume = { type = "constant"; count = $2; }; } );
EOS
	echo "$T/$1.conf"
}
BIG=$(big_scenario big 1500)

MITE_MAX_MAP_COUNT=2000 timeout 30 "$MITECTL" scenario test "$BIG" >"$T/st.out" 2>"$T/st.err"
check "scenario test over the map count: exit 3" [ $? -eq 3 ]
check "... names the per-process volume" grep -q 'up to 1500 instances per runner process' "$T/st.err"
check "... and prints the command" grep -Eq 'raise it: sysctl -w vm.max_map_count=[0-9]+$' "$T/st.err"
check "... before anything ran (no summary)" sh -c "! grep -q 'mite summary' '$T/st.out'"

MITE_MAX_MAP_COUNT=2000 timeout 30 "$MITECTL" journey test "$QUICK" --volume 2000000 \
	>"$T/jt.out" 2>"$T/jt.err"
check "journey test over the map count: exit 3 with the command" \
	sh -c "[ $? -eq 3 ] && grep -q 'sysctl -w vm.max_map_count=' '$T/jt.err'"
MITE_MAX_MAP_COUNT=100 timeout 30 "$MITECTL" journey run "$QUICK" >"$T/jr.out" 2>"$T/jr.err"
check "journey run with no mapping to spare: exit 3 with the command" \
	sh -c "[ $? -eq 3 ] && grep -q 'sysctl -w vm.max_map_count=' '$T/jr.err'"
MITE_MAX_MAP_COUNT=100000000 timeout 30 "$MITECTL" journey run "$QUICK" --set sleep=0.01 >/dev/null 2>&1
check "a higher MITE_MAX_MAP_COUNT than the kernel's is ignored" [ $? -eq 0 ]

# Bounds of the command line are said, not applied silently.
SETS=$(for i in $(seq 257); do printf -- '--set k%d=v ' "$i"; done)
# shellcheck disable=SC2086
timeout 30 "$MITECTL" journey run "$QUICK" $SETS >/dev/null 2>"$T/sets.err"
check "257 --set options: refused, naming the bound" \
	sh -c "[ $? -eq 2 ] && grep -q 'more than 256 --set options' '$T/sets.err'"
MANY=$(for i in $(seq 40); do printf '%s/none%d:' "$T" "$i"; done)
MITE_PLUGIN_PATH=$MANY timeout 30 "$MITECTL" journey run "$QUICK" --set sleep=0.01 >/dev/null 2>"$T/pp.err"
check "MITE_PLUGIN_PATH over 32 folders: said" grep -q 'more than 32 folders' "$T/pp.err"

# ---- mited: more runner processes ------------------------------------------

write_conf
MITE_INSTANCES_PER_RUNNER=50 start_mited || finish
SCN=$(scenario over 60 "{ name = \"q\"; journey = \"$QUICK\"; volume = { type = \"constant\"; count = 120; }; }")
RUN=$(ctl start "$SCN" --set sleep=30)
check "start over the bound accepted" [ -n "$RUN" ]
check "... all 120 instances run" wait_for 15 field_ge "$RUN" journeys.0.actual 120
check "... on 3 runner processes (asked for 2)" [ "$(run_runners "$RUN")" -eq 3 ]
check "... said in the log" log_has "runners instead of 2"
check "scale 300% accepted" ctl scale "$RUN" 300
check "... all 360 instances run" wait_for 20 field_ge "$RUN" journeys.0.actual 360
check "... on 8 runner processes" [ "$(run_runners "$RUN")" -eq 8 ]
# Until the new runners are ready the old ones are asked for more than 50
# each: they may say so, and must say when it is over.
said_and_cleared() {
	! grep -q 'not every instance asked for can start' "$LOG" ||
		grep -q 'every instance asked for can start again' "$LOG"
}
check "... any runner that said why said when it was over" said_and_cleared
ctl stop "$RUN" --now >/dev/null
check "the run ends" wait_for 20 field_is "$RUN" state done
stop_mited TERM

# ---- mited: the map count is per runner process ----------------------------

MITE_MAX_MAP_COUNT=2000 start_mited || finish
"$MITECTL" --socket "$SOCK" start "$BIG" --runners 1 >/dev/null 2>"$T/s1.err"
check "start --runners 1 over the map count: refused" [ $? -ne 0 ]
check "... with the command" grep -q 'raise it: sysctl -w vm.max_map_count=' "$T/s1.err"
RUN=$(ctl start "$BIG" --runners 4 2>"$T/s4.err")
check "start --runners 4: accepted (375 per process fit)" [ -n "$RUN" ]
check "... all 1500 instances run" wait_for 30 field_ge "$RUN" journeys.0.actual 1500
"$MITECTL" --socket "$SOCK" scale "$RUN" 1000 >/dev/null 2>"$T/sc.err"
check "scale past the map count: refused" [ $? -ne 0 ]
check "... with the command" grep -q 'raise it: sysctl -w vm.max_map_count=' "$T/sc.err"
check "... and the run goes on as it was" field_is "$RUN" journeys.0.required 1500
ctl stop "$RUN" --now >/dev/null
check "the run ends" wait_for 20 field_is "$RUN" state done
stop_mited TERM
finish

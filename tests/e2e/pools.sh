#!/bin/sh
# pools.sh - datapools on mited, across runner processes: an iterable pool
# runs each of its rows exactly once whatever the ratio of rows to
# instances and runners (none is left in a runner's buffer), wide rows
# arrive whole, and a CSV that breaks a bound is refused naming it.
. "$(dirname "$0")/lib.sh"

[ -f "$TPLUGINS/e2e.so" ] || { echo "FAIL: pools: tests/plugins/e2e.so is not built (make check builds it)"; exit 1; }

write_conf
start_mited || finish

# rows_ran RUN: the "row N" messages of the run's event log, one per line.
rows_ran() {
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    t = json.loads(line).get("type", "")
    if t.startswith("row "):
        print(t[4:])
' "$STATE/results/$1/events.jsonl" | sort -n
}

# iterable ROWS INSTANCES: a run over rows 1..ROWS ends by itself, passes,
# and ran each row once.
iterable() {
	local rows=$1 inst=$2 scn run
	scn=$(scenario "it$rows-$inst" 0 "{ name = \"q\"; journey = \"$TPLUGINS/e2e.so:rowid\";
	    datapool = { type = \"range\"; from = 1; to = $rows; mode = \"iterable\"; };
	    volume = { type = \"constant\"; count = $inst; }; }")
	sed -i 's/^duration = 0;$//' "$scn"
	run=$(ctl start "$scn" --set sleep=0.02)
	check "$rows rows / $inst instances: the run starts" [ -n "$run" ]
	check "$rows rows / $inst instances: the run ends by itself" wait_for 20 field_is "$run" state done
	check "$rows rows / $inst instances: passed" field_is "$run" verdict passed
	rows_ran "$run" >"$T/ran"
	seq 1 "$rows" >"$T/want"
	if cmp -s "$T/ran" "$T/want"; then
		pass "$rows rows / $inst instances: rows 1..$rows ran once each"
	else
		fail "$rows rows / $inst instances: rows ran: $(tr '\n' ' ' <"$T/ran")"
	fi
}

iterable 3 2
iterable 5 2
iterable 9 4
iterable 1 3
iterable 301 7

# A row wider than any runner-side array: 1000 columns arrive whole.
python3 -c '
import sys
n = 1000
with open(sys.argv[1], "w") as f:
    f.write(",".join("c%d" % i for i in range(n)) + "\n")
    for r in range(1, 4):
        f.write(",".join([str(r)] + ["v%d_%d" % (r, i) for i in range(1, n)]) + "\n")
' "$T/wide.csv"
WIDE=$(scenario wide 0 "{ name = \"q\"; journey = \"$TPLUGINS/e2e.so:rowid\";
    datapool = { type = \"csv\"; file = \"$T/wide.csv\"; header = true; mode = \"iterable\"; };
    volume = { type = \"constant\"; count = 2; }; }")
sed -i 's/^duration = 0;$//' "$WIDE"
RUN=$(ctl start "$WIDE")
check "wide rows: the run ends" wait_for 20 field_is "$RUN" state done
for r in 1 2 3; do
	check "wide row $r arrives with its 1000 columns" \
		grep -q "\"type\":\"width 1000 last v${r}_999\"" "$STATE/results/$RUN/events.jsonl"
done

# A NUL byte in a field is refused at start, naming the file, line and column.
printf 'a,b\n1,x\0y\n' >"$T/nul.csv"
NUL=$(scenario nul 5 "{ name = \"q\"; journey = \"$TPLUGINS/e2e.so:rowid\";
    datapool = { type = \"csv\"; file = \"$T/nul.csv\"; };
    volume = { type = \"constant\"; count = 1; }; }")
ctl start "$NUL" >/dev/null 2>"$T/err"
check "a NUL byte in a CSV: start refused (exit 3)" [ $? -eq 3 ]
check "... naming file:line and column" grep -q "nul.csv:2: column 2: NUL byte" "$T/err"

finish

#!/bin/sh
# concurrent.sh - two runs at once on one mited: each with its own id and
# its own runners; stopping one leaves the other alone.
. "$(dirname "$0")/lib.sh"

write_conf
start_mited || finish

A=$(ctl start "$(scenario alpha 60 "$(example_journey a 3)")")
B=$(ctl start "$(scenario beta 60 "$(example_journey b 5)")" --runners 3)
check "two runs, two ids" sh -c "[ -n '$A' ] && [ -n '$B' ] && [ '$A' != '$B' ]"
check "alpha runs" wait_for 10 field_is "$A" state running
check "beta runs" wait_for 10 field_is "$B" state running
check "alpha: 3 instances" wait_for 10 field_is "$A" journeys.0.actual 3
check "beta: 5 instances" wait_for 10 field_is "$B" journeys.0.actual 5
check "alpha has its 2 runners" [ "$(run_runners "$A")" -eq 2 ]
check "beta has its 3 runners (--runners 3)" [ "$(run_runners "$B")" -eq 3 ]
check "status without a run shows both" sh -c "\"$MITECTL\" --socket '$SOCK' --json status | grep -q '$A' && \"$MITECTL\" --socket '$SOCK' --json status | grep -q '$B'"

check "stop alpha --now" ctl stop "$A" --now
check "alpha ends" wait_for 10 field_is "$A" state done
check "beta goes on" field_is "$B" state running
check "beta keeps its 5 instances" field_is "$B" journeys.0.actual 5
alpha_gone() { [ "$(run_runners "$A")" -eq 0 ]; }
check "alpha's runners are gone" wait_for 10 alpha_gone
check "beta's runners are still there" [ "$(run_runners "$B")" -eq 3 ]
check "list shows both" sh -c "[ \$(\"$MITECTL\" --socket '$SOCK' list -q | wc -l) -eq 2 ]"

stop_mited TERM
check "SIGTERM drains beta and exits 0" [ $? -eq 0 ]
check "beta's results were written" [ -s "$STATE/results/$B/summary.json" ]
finish

#!/bin/sh
# garbage.sh - a battery of bad input on the control socket (garbage.py)
# while a run goes on: every bad request gets an error reply or a
# disconnection, and nothing else notices.
. "$(dirname "$0")/lib.sh"

write_conf
start_mited || finish
RUN=$(ctl start "$(scenario steady 120 "$(example_journey steady 2)")")
wait_for 10 field_is "$RUN" state running
python3 "$top_srcdir/tests/e2e/garbage.py" "$SOCK" "$RUN" | while IFS= read -r line; do
	case $line in
	PASS:*) echo "$line"; echo P >>"$T/tally" ;;
	FAIL:*) echo "$line"; echo F >>"$T/tally" ;;
	*) echo "$line" ;;
	esac
done
E2E_PASSES=$((E2E_PASSES + $(grep -c P "$T/tally" 2>/dev/null || true)))
E2E_FAILS=$((E2E_FAILS + $(grep -c F "$T/tally" 2>/dev/null || true)))
check "the battery ran" [ -s "$T/tally" ]
check "mited is alive after the battery" ctl ping
check "no crash in mited's log" sh -c "! grep -qi 'assert\|sanitizer\|segmentation' '$LOG'"
stop_mited TERM
check "SIGTERM: exit 0" [ $? -eq 0 ]
finish

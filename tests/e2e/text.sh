#!/bin/sh
# text.sh - names and text from outside: a scenario name of megabytes is
# refused (not echoed until replies break), names over their limits are
# refused with the limit, and bytes that are not UTF-8 - in a scenario's
# names, a --name, a journey's transaction names, failures and messages -
# come out as U+FFFD everywhere: every control reply, summary.json,
# events.jsonl and timeline.jsonl loads in Python's json.
. "$(dirname "$0")/lib.sh"

HP=$TPLUGINS/harden.so
[ -f "$HP" ] || { echo "FAIL: text: $HP is not built (make check builds it)"; exit 1; }

write_conf
start_mited || finish

# A bystander run: list and status must keep working for it.
CALM=$(ctl start "$(scenario calm 60 "$(example_journey calm 1)")")
wait_for 10 field_is "$CALM" state running

# A name of 4.5 MiB: refused at the string limit, before any parse.
python3 - "$T/bigname.conf" "$PLUGINS/example.so" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write('name = "%s";\n' % ("n" * (4608 * 1024)))
    f.write('journeys = ( { journey = "%s:journey"; volume = { type = "constant"; count = 1; }; } );\n' % sys.argv[2])
PY
"$MITECTL" --socket "$SOCK" start "$T/bigname.conf" >"$T/out" 2>"$T/err"
check "a 4.5 MiB scenario name is refused (exit 3)" [ $? -eq 3 ]
check "... at the string limit, with file:line" grep -q "bigname.conf:1: a string of 4718592 bytes, over the limit of 65536 bytes" "$T/err"
# A name over 256 bytes, in the file and with --name.
python3 - "$T/longname.conf" "$PLUGINS/example.so" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write('name = "%s";\n' % ("n" * 300))
    f.write('journeys = ( { journey = "%s:journey"; volume = { type = "constant"; count = 1; }; } );\n' % sys.argv[2])
PY
"$MITECTL" --socket "$SOCK" start "$T/longname.conf" 2>"$T/err" >/dev/null
check "a 300-byte scenario name is refused" grep -q "longname.conf:1: 'name' is 300 bytes long, over the limit of 256 bytes" "$T/err"
"$MITECTL" --socket "$SOCK" start "$(scenario fine 5 "$(example_journey ex 1)")" --name "$(printf '%0300d' 0)" 2>"$T/err" >/dev/null
check "a 300-byte --name is refused" grep -q 'start: "name" is 300 bytes long, over the limit of 256 bytes' "$T/err"
check "list still works for everyone" sh -c "\"$MITECTL\" --socket '$SOCK' list | grep -q '$CALM'"
check "status still works for everyone" field_is "$CALM" state running
check "no run was started by the refused requests" [ "$(ctl list -q | wc -l)" -eq 1 ]

# Bytes that are not UTF-8: a scenario name and a journey name from the
# file, then a --name; the journey names a transaction, fails and sends
# messages with such bytes.
printf 'name = "bad\377name";\nduration = 3;\njourneys = ( { name = "j\303(x"; journey = "%s:badtext";\n  volume = { type = "constant"; count = 2; }; } );\n' \
	"$HP" >"$T/bad.conf"
BAD=$(ctl start "$T/bad.conf")
check "a scenario with names that are not UTF-8 starts" [ -n "$BAD" ]
BAD2=$(ctl start "$T/bad.conf" --name "$(printf 'named\376\377')")
check "... and with a --name that is not UTF-8" [ -n "$BAD2" ]
check "the runs end" wait_for 20 field_is "$BAD" state done
wait_for 20 field_is "$BAD2" state done

# json.loads on every output; U+FFFD where the bytes were.
jsonok() {
	python3 - "$@" <<'PY'
import json, sys
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        data = f.read()
    docs = [data] if path.endswith(".json") else [l for l in data.split(b"\n") if l.strip()]
    if not docs:
        sys.exit("%s: empty" % path)
    for d in docs:
        json.loads(d)  # bytes: must be well-formed UTF-8
PY
}
for cmd in "status $BAD" "status" "list" "results $BAD" "results $BAD2" "status $BAD2"; do
	# shellcheck disable=SC2086
	"$MITECTL" --socket "$SOCK" --json $cmd >"$T/reply.json" 2>/dev/null
	check "mitectl --json $cmd: loads in Python's json" jsonok "$T/reply.json"
done
"$MITECTL" --socket "$SOCK" --json status "$BAD" >"$T/reply.json" 2>/dev/null
check "the reply shows U+FFFD for the bad bytes" grep -q "bad$(printf '\357\277\275')name" "$T/reply.json"
for f in summary.json events.jsonl timeline.jsonl; do
	check "$f loads in Python's json" jsonok "$STATE/results/$BAD/$f"
	check "$f of the --name run loads too" jsonok "$STATE/results/$BAD2/$f"
done
check "summary.json names the scenario with U+FFFD" grep -q "bad$(printf '\357\277\275')name" "$STATE/results/$BAD/summary.json"
check "... and the transaction" grep -q "txn $(printf '\357\277\275\357\277\275') bad" "$STATE/results/$BAD/summary.json"
check "events.jsonl has the message's text with U+FFFD" grep -q "caf$(printf '\357\277\275')" "$STATE/results/$BAD/events.jsonl"
check "a 3000-byte message type is cut and counted" field_ge "$BAD" labels_cut 1
check "the log says names were cut" log_has "run $BAD: [0-9]* name(s) from its runners were longer than 1024 bytes and were cut"
check "the run's own replies are bounded: status under 1 MiB" \
	sh -c "[ \$(\"$MITECTL\" --socket '$SOCK' --json status '$BAD' | wc -c) -lt 1048576 ]"
# A journey with 1500 transaction names: status lists 1000, counts the rest.
MANY=$(ctl start "$(scenario many 30 "{ name = \"many\"; journey = \"$HP:manytxn\";
    volume = { type = \"constant\"; count = 1; }; }")" --runners 1)
check "status lists at most 1000 transactions" wait_for 10 field_is "$MANY" transactions_omitted 500
check "... and those 1000" sh -c "\"$MITECTL\" --socket '$SOCK' --json status '$MANY' | python3 -c 'import json,sys; sys.exit(0 if len(json.load(sys.stdin)[\"run\"][\"transactions\"]) == 1000 else 1)'"
ctl stop "$MANY" --now >/dev/null
check "mited is alive" ctl ping
stop_mited TERM
check "SIGTERM: exit 0" [ $? -eq 0 ]
finish

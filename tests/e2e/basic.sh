#!/bin/sh
# basic.sh - one mited, driven through a run's whole life with mitectl:
# start, status, list, scale, pause/resume, stop, results, --wait, --watch,
# and the errors a user meets first.
. "$(dirname "$0")/lib.sh"

write_conf
start_mited || finish

check "ping answers" ctl ping
check "version names mited's version" sh -c "\"$MITECTL\" --socket '$SOCK' version | grep -q '^mited [0-9]'"

SCN=$(scenario basic 60 "$(example_journey ex 4)")
RUN=$(ctl start "$SCN" --name basic-run --set test_msg=from-set)
check "start prints a run id" [ -n "$RUN" ]
check "the run reaches running" wait_for 10 field_is "$RUN" state running
check "4 instances run" wait_for 10 field_ge "$RUN" journeys.0.actual 4
check "the name comes from --name" field_is "$RUN" name basic-run
check "list shows the run" sh -c "\"$MITECTL\" --socket '$SOCK' list | grep -q '$RUN'"
check "list -q prints the id alone" sh -c "\"$MITECTL\" --socket '$SOCK' list -q | grep -qx '$RUN'"
check "status renders the table" sh -c "\"$MITECTL\" --socket '$SOCK' --no-color status '$RUN' | grep -q 'ex :: test1'"
check "status by unique prefix" sh -c "\"$MITECTL\" --socket '$SOCK' --json status '$(echo "$RUN" | cut -c1-17)' | grep -q '\"id\":\"$RUN\"'"
check "runner processes: 2" [ "$(runner_count)" -eq 2 ]
check "transactions are counted" wait_for 10 field_ge "$RUN" transactions.0.count 4

# scale: every volume model times PERCENT/100, within a tick.
check "scale 50 accepted" ctl scale "$RUN" 50
check "scale 50 -> required 2" wait_for 5 field_is "$RUN" journeys.0.required 2
check "scale 200% accepted" ctl scale "$RUN" 200%
check "scale 200 -> required 8" wait_for 5 field_is "$RUN" journeys.0.required 8
check "scale 200 -> 8 running" wait_for 10 field_ge "$RUN" journeys.0.actual 8
check "scale refuses a negative percent" sh -c "! \"$MITECTL\" --socket '$SOCK' scale '$RUN' -5 2>/dev/null"
ctl scale "$RUN" 100 >/dev/null

# pause/resume
check "pause accepted" ctl pause "$RUN"
check "paused" field_is "$RUN" state paused
check "paused: instances drain to 0" wait_for 10 field_is "$RUN" journeys.0.actual 0
check "pause twice is an error" sh -c "! \"$MITECTL\" --socket '$SOCK' pause '$RUN' 2>/dev/null"
check "resume accepted" ctl resume "$RUN"
check "running again" field_is "$RUN" state running
check "instances come back" wait_for 10 field_ge "$RUN" journeys.0.actual 4

# status --watch streams until interrupted (bounded by timeout)
timeout 3 "$MITECTL" --socket "$SOCK" --json status "$RUN" --watch --interval 0.3 >"$T/watch.out" 2>&1
check "status --watch streams objects" [ "$(grep -c '"ok":true' "$T/watch.out")" -ge 4 ]

# stop
check "stop accepted" ctl stop "$RUN"
check "the run drains and ends" wait_for 15 field_is "$RUN" state done
# Stopped 20 s into its 60: incomplete, never passed, and the summary says
# who stopped it and still has its volume (not 0.0/0).
check "a run stopped early is incomplete" field_is "$RUN" verdict incomplete
check "status says who stopped it" sh -c "\"$MITECTL\" --socket '$SOCK' --json status '$RUN' | grep -q '\"by\":\"mitectl stop'"
check "the summary says it was stopped early" sh -c "python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))[\"run\"][\"stopped\"]; sys.exit(0 if r[\"early\"] and r[\"by\"].startswith(\"mitectl stop\") and r[\"at\"] > 1 else 1)' '$STATE/results/$RUN/summary.json'"
check "a stopped run's summary keeps its volume" sh -c "python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[\"journeys\"][0][\"volume\"]; sys.exit(0 if v[\"required_mean\"] >= 3 and v[\"actual_mean\"] >= 3 and v[\"required_max\"] >= 4 else 1)' '$STATE/results/$RUN/summary.json'"
runners_gone() { [ "$(run_runners "$RUN")" -eq 0 ]; }
check "runners exit after the run" wait_for 10 runners_gone
check "results prints the summary" sh -c "\"$MITECTL\" --socket '$SOCK' results '$RUN' | grep -q 'test1'"
check "summary.json written" [ -s "$STATE/results/$RUN/summary.json" ]
# One shape per thing: results --json before or after the command, and the
# folder's summary.json, are the same object; cat takes the run id.
"$MITECTL" --socket "$SOCK" --json results "$RUN" >"$T/r1.json" 2>/dev/null
"$MITECTL" --socket "$SOCK" results "$RUN" --json >"$T/r2.json" 2>/dev/null
check "results --json: the same output before and after the command" cmp -s "$T/r1.json" "$T/r2.json"
check "results --json is the summary" sh -c "python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); sys.exit(0 if a[\"run\"][\"id\"] == b[\"run\"][\"id\"] and a[\"verdict\"] == b[\"verdict\"] and a[\"journeys\"] == b[\"journeys\"] else 1)' '$T/r1.json' '$STATE/results/$RUN/summary.json'"
check "cat RUN prints the run's events" sh -c "\"$MITECTL\" --socket '$SOCK' --no-color cat '$RUN' | grep -q 'from-set'"
"$MITECTL" --socket "$SOCK" cat no-such-run >/dev/null 2>"$T/err"
check "cat of an unknown run: exit 1 naming it" sh -c "[ $? -eq 1 ] && grep -q 'no-such-run' '$T/err'"

check "summary.txt written" [ -s "$STATE/results/$RUN/summary.txt" ]
check "events.jsonl has the journey's messages" grep -q 'from-set' "$STATE/results/$RUN/events.jsonl"
check "stop of a done run is an error" sh -c "! \"$MITECTL\" --socket '$SOCK' stop '$RUN' 2>/dev/null"

# start --wait follows the run and exits with its verdict
SHORT=$(scenario short 2 "$(example_journey ex 2)")
timeout 30 "$MITECTL" --socket "$SOCK" start "$SHORT" --wait >"$T/wait.out" 2>&1
check "start --wait exits 0 for a passing run" [ $? -eq 0 ]
check "start --wait printed the final table" grep -q 'verdict: passed' "$T/wait.out"
MITE_CONF_test_msg=from-env timeout 30 "$MITECTL" --socket "$SOCK" start "$SHORT" --duration 1 --wait >/dev/null 2>&1
check "--duration overrides; MITE_CONF_* accepted" [ $? -eq 0 ]
check "MITE_CONF_* reaches the journeys" sh -c "grep -l 'from-env' '$STATE'/results/*/events.jsonl >/dev/null"

# One shape per thing: start (--json before or after the command), stop,
# pause, resume and scale carry the run as status does.
"$MITECTL" --socket "$SOCK" --json start "$SHORT" --duration 30 >"$T/s1.json" 2>&1
check "start --json (before the command): exit 0" [ $? -eq 0 ]
S1=$(jget run.id <"$T/s1.json")
"$MITECTL" --socket "$SOCK" start "$SHORT" --duration 30 --json >"$T/s2.json" 2>&1
check "start --json (after the command): exit 0" [ $? -eq 0 ]
S2=$(jget run.id <"$T/s2.json")
check "start --json gives run.id (an object, not a string)" sh -c "[ -n '$S1' ] && [ -n '$S2' ] && [ '$S1' != '$S2' ]"
check "start's run has the status's keys" python3 -c '
import json, subprocess, sys
start = json.load(open(sys.argv[1]))["run"]
st = json.loads(subprocess.run([sys.argv[2], "--socket", sys.argv[3], "--json", "status", start["id"]],
                               capture_output=True, text=True).stdout)["run"]
# Keys come as the run goes (loop_lag_p99 once runners report it), none goes.
need = {"id", "name", "scenario", "state", "elapsed", "duration", "scale", "runners", "failed",
        "journeys", "transactions", "runners_wanted", "restarts"}
ok = need <= set(start) and set(start) <= set(st) and start["state"] in ("starting", "running") and \
     start["journeys"][0]["name"] == "ex" and start["runners_wanted"] == 2
sys.exit(0 if ok else 1)' "$T/s1.json" "$MITECTL" "$SOCK"
check "plain start still prints the id alone" sh -c "\"$MITECTL\" --socket '$SOCK' list -q | grep -qx '$S1'"
"$MITECTL" --socket "$SOCK" --json scale "$S1" 50 >"$T/scale.json" 2>&1
check "scale --json: the run, and the percent" sh -c "[ \"$(jget run.id <"$T/scale.json")\" = '$S1' ] && [ \"$(jget percent <"$T/scale.json")\" = 50 ]"
"$MITECTL" --socket "$SOCK" --json stop "$S1" >"$T/stop.json" 2>&1
check "stop --json: the run, stopping" sh -c "[ \"$(jget run.id <"$T/stop.json")\" = '$S1' ] && [ \"$(jget run.state <"$T/stop.json")\" = stopping ]"
check "stop (plain) names the run and its state" sh -c "\"$MITECTL\" --socket '$SOCK' stop '$S2' | grep -Eqx 'run $S2: (stopping|done)'"
both_done() { field_is "$S1" state done && field_is "$S2" state done; }
check "both runs end" wait_for 15 both_done

# what goes wrong
"$MITECTL" --socket "$SOCK" start "$T/nonexistent.conf" 2>"$T/err" >/dev/null
check "start of a missing file: exit 3" [ $? -eq 3 ]
check "... naming the file" grep -q 'nonexistent.conf' "$T/err"
printf 'name = "bad";\njourneys = ( { journey = "x.so:j" ; volume = 3; } );\nbroken\n' >"$T/bad.conf"
"$MITECTL" --socket "$SOCK" start "$T/bad.conf" 2>"$T/err" >/dev/null
check "a bad scenario: exit 3 with file:line" sh -c "[ $? -eq 3 ] && grep -q 'bad.conf:[0-9]' '$T/err'"
OUTSIDE=$(scenario outside 5 "{ journey = \"$T/elsewhere.so:journey\"; volume = { type = \"constant\"; count = 1; }; }")
cp "$PLUGINS/example.so" "$T/elsewhere.so"
"$MITECTL" --socket "$SOCK" start "$OUTSIDE" 2>"$T/err" >/dev/null
check "a module outside plugin_dirs is refused" grep -q 'outside the plugin folders' "$T/err"
"$MITECTL" --socket "$SOCK" stop no-such-run 2>"$T/err"
check "an unknown run: exit 1, named" sh -c "[ $? -eq 1 ] && grep -q \"no run 'no-such-run'\" '$T/err'"
"$MITECTL" --socket "$SOCK" frobnicate 2>/dev/null
check "an unknown command: exit 2" [ $? -eq 2 ]
"$MITECTL" --socket "$T/nobody-home.sock" ping 2>"$T/err"
check "no daemon: exit 69" [ $? -eq 69 ]
check "... saying which socket and why" grep -q "nobody-home.sock: no such socket" "$T/err"
MITE_SOCKET=$SOCK "$MITECTL" ping >/dev/null
check "MITE_SOCKET is honoured" [ $? -eq 0 ]

stop_mited TERM
check "SIGTERM: exit 0" [ $? -eq 0 ]
check "the socket is gone after exit" [ ! -e "$SOCK" ]
finish

#!/bin/bash
# hosts.sh - runner hosts on loopback: a controller (mited --listen with
# CURVE) and two agents (mited --agent, their own keys and state folders)
# on 127.0.0.1 run an HTTP scenario against mite-target. Checked: mited
# refuses a non-loopback --listen without keys (naming the setting); an
# unauthorized key and another protocol version are refused at the
# handshake, with a log line on both sides; `mitectl hosts`; a run on both
# hosts counts exactly what the target received; pause, resume and stop
# reach every host; a host joining mid-run gets its share; `kill -9` of an
# agent mid-run: the run goes on on the other host, the lost host's share
# moves at once (its runner says its agent is gone), counts stay exact
# (that runner leaves the run with its last batch) and the verdict names
# the host and when; an iterable pool's 400 rows each reach the target
# exactly once across such a kill; a host lost with its runner frozen is
# dropped after the bound, its rows in doubt; the host comes back and
# rejoins; modules are shipped once and a tampered cache is refetched.
: "${E2E_LIMIT:=300}"
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/hostslib.sh"

mkdir -p "$T/keys/auth"
for k in ctl h1 h2 h3 stranger; do
	"$MITECTL" keygen "$T/keys/$k" >/dev/null || fail "keygen $k"
done
cp "$T/keys/h1.pub" "$T/keys/h2.pub" "$T/keys/h3.pub" "$T/keys/auth/"
check "keygen: the secret key is 0600" [ "$(stat -c %a "$T/keys/h1.key")" = 600 ]
check "keygen: never overwrites" bash -c "! '$MITECTL' keygen '$T/keys/h1' 2>/dev/null"

write_conf
PORT=$(free_port)
EP=tcp://127.0.0.1:$PORT

# Beyond loopback, CURVE is required, and mited says which setting lacks.
"$MITED" --config "$CONF" --socket "$T/x.sock" --state-dir "$T/x" --listen "tcp://0.0.0.0:$PORT" \
	>"$T/nokey.out" 2>&1
check "non-loopback --listen without a key: refused" \
	bash -c "[ $? -eq 1 ] && grep -q 'needs CURVE: key (--key) is not set' '$T/nokey.out'"
"$MITED" --config "$CONF" --socket "$T/x.sock" --state-dir "$T/x" --listen "tcp://0.0.0.0:$PORT" \
	--key "$T/keys/ctl.key" >"$T/noauth.out" 2>&1
check "non-loopback --listen without authorized keys: refused" \
	grep -q 'authorized_keys (--authorized-keys) is not set' "$T/noauth.out"

start_mited --listen "$EP" --key "$T/keys/ctl.key" --authorized-keys "$T/keys/auth" || finish

host_state() { ctl hosts --json | python3 -c 'import json,sys; print([h["state"] for h in json.load(sys.stdin)["hosts"] if h["name"]==sys.argv[1]][0])' "$1" 2>/dev/null; }

agent h1 --runners-per-host 2 --label zone=a
agent h2 --runners-per-host 1
check "two agents join" wait_for 10 hosts_up 2
check "mitectl hosts: labels, runners, heartbeat" \
	bash -c "'$MITECTL' --socket '$SOCK' hosts | grep -E '^h1 +127.0.0.1 +up .*zone=a'"

# Refusals at the handshake: an unauthorized key, another protocol.
agent stranger
check "unauthorized key: the controller says so with the peer's address" \
	wait_for 10 log_has "connection from 127.0.0.1 refused: key not in"
check "unauthorized key: the agent says so" wait_for 10 grep -q "refused our key" "$T/stranger.log"
MITE_TEST_HOST_PROTO=99 agent h3
check "another protocol: the controller refuses it, naming the host" \
	wait_for 10 log_has "host h3 (127.0.0.1) refused: version mismatch: the host speaks runner protocol 99"
check "another protocol: the agent says so" \
	wait_for 10 grep -q "refused by controller .*version mismatch" "$T/h3.log"
kill -KILL "$PID_stranger" "$PID_h3" 2>/dev/null
wait "$PID_stranger" "$PID_h3" 2>/dev/null
check "refused hosts are not up" hosts_up 2

# http_count RUN: the HTTP responses of the run's summary.
http_count() { python3 -c 'import json,sys; print(sum(e["count"] for e in json.load(open(sys.argv[1])).get("http", [])))' "$STATE/results/$1/summary.json"; }
received() { target /stats | jget received; }
wait_done() { wait_for "$2" field_is "$1" state done; }

# 1. Both hosts, counts exact.
target /stats/reset >/dev/null
RUN=$(ctl start "$(scen both 4 6)")
check "run on hosts: both hosts have runners" wait_for 5 bash -c \
	"'$MITECTL' --socket '$SOCK' --json status '$RUN' | grep -q '\"name\":\"h1\"' && '$MITECTL' --socket '$SOCK' --json status '$RUN' | grep -q '\"name\":\"h2\"'"
check "run on hosts: 3 remote runners, no local one" wait_for 5 field_is "$RUN" runners 3
check "mitectl status: each host's runners and instances" bash -c \
	"'$MITECTL' --socket '$SOCK' status '$RUN' | grep -E '^hosts: .*h1 2 runners [0-9]+ instances'"
check "run on hosts: done" wait_done "$RUN" 20
check "run on hosts: passed" field_is "$RUN" verdict passed
RUN1=$RUN
M=$(http_count "$RUN")
R=$(received)
check "run on hosts: mite counted exactly what the target received ($M = $R)" \
	[ -n "$M" ] && [ "$M" -gt 0 ] && [ "$M" = "$R" ]

# Modules travel by SHA-256: h1 got http_get.so once, into its cache.
SHA=$(sha256sum "$PLUGINS/http_get.so" | cut -c1-64)
check "module shipped to h1 and cached under its digest" [ -f "$T/state-h1/modules/$SHA.so" ]
check "the agent checked the module it received" \
	grep -q "module $PLUGINS/http_get.so received (.*), ABI checked, cached" "$T/h1.log"

# Runtime control reaches every host's runners: paused, no request reaches
# the target from 0.5 s on (a tick, 0.1 s, an iteration in flight, and
# slack for a loaded machine);
# resumed, requests flow again; stopped, the run ends.
target /stats/reset >/dev/null
RUN=$(ctl start "$(scen control 30 6)")
check "control run: both hosts have runners" wait_for 5 field_is "$RUN" runners 3
sleep 1
ctl pause "$RUN" >/dev/null
sleep 0.5
P1=$(received)
sleep 1.5
P2=$(received)
check "pause reaches every host: no request from 0.5 s after it ($P1 then $P2)" \
	[ -n "$P1" ] && [ "$P1" -gt 0 ] && [ "$P1" = "$P2" ]
check "... every host's instances at 0" bash -c \
	"'$MITECTL' --socket '$SOCK' --json status '$RUN' | python3 -c 'import json,sys; r=json.load(sys.stdin)[\"run\"]; sys.exit(0 if r[\"state\"] == \"paused\" and len(r[\"hosts\"]) == 2 and all(h[\"instances\"] == 0 for h in r[\"hosts\"]) else 1)'"
ctl resume "$RUN" >/dev/null
sleep 0.5
P3=$(received)
check "resume reaches them: requests again ($P2 then $P3)" [ "$P3" -gt "$P2" ]
check "... on both hosts" wait_for 3 bash -c \
	"'$MITECTL' --socket '$SOCK' --json status '$RUN' | python3 -c 'import json,sys; r=json.load(sys.stdin)[\"run\"]; sys.exit(0 if len(r[\"hosts\"]) == 2 and all(h[\"instances\"] > 0 for h in r[\"hosts\"]) else 1)'"
ctl stop "$RUN" >/dev/null
check "stop reaches them: the run is done within 3 s" wait_for 3 field_is "$RUN" state done
check "... stopped early: not passed" bash -c "[ \"\$('$MITECTL' --socket '$SOCK' --json status '$RUN' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"run\"][\"verdict\"])')\" != passed ]"
M=$(http_count "$RUN")
R=$(received)
check "control run: mite counted exactly what the target received ($M = $R)" \
	[ -n "$M" ] && [ "$M" -gt 0 ] && [ "$M" = "$R" ]

# The scenario chooses hosts by label; the command line wins over it.
sed 's/^name = .*/&\nhosts = "label=zone=a";/' "$(scen label 3 4)" >"$T/label2.conf"
RUN=$(ctl start "$T/label2.conf")
check "scenario hosts = \"label=zone=a\": only h1's 2 runners" wait_for 5 field_is "$RUN" runners 2
check "... and no runner of h2" bash -c "! '$MITECTL' --socket '$SOCK' --json status '$RUN' | grep -q '\"name\":\"h2\"'"
wait_done "$RUN" 20
RUN=$(ctl start --hosts none "$T/label2.conf")
check "--hosts none wins over the scenario: local runners (mited.conf's 2)" \
	bash -c "sleep 1; [ \"\$('$MITECTL' --socket '$SOCK' --json status '$RUN' | python3 -c 'import json,sys; r=json.load(sys.stdin)[\"run\"]; print(r[\"runners_wanted\"], len(r.get(\"hosts\", [])))')\" = '2 0' ]"
wait_done "$RUN" 20
check "--no-local with --hosts none is refused" bash -c "! '$MITECTL' --socket '$SOCK' start --hosts none --no-local '$T/label2.conf' 2>/dev/null"

# 2. A host joins mid-run, then one is killed mid-run.
kill -KILL "$PID_h2"
wait "$PID_h2" 2>/dev/null
check "killed agent: lost" wait_for 5 bash -c "[ \"\$('$MITECTL' --socket '$SOCK' hosts --json | python3 -c 'import json,sys; print([h[\"state\"] for h in json.load(sys.stdin)[\"hosts\"] if h[\"name\"]==\"h2\"][0])')\" = lost ]"
target /stats/reset >/dev/null
RUN=$(ctl start "$(scen loss 20 6)")
wait_for 5 field_is "$RUN" state running
agent h2 --runners-per-host 1
JOIN_T0=$(date +%s.%N)
check "a host joining mid-run gets runners" wait_for 5 bash -c \
	"'$MITECTL' --socket '$SOCK' --json status '$RUN' | grep -q '\"name\":\"h2\",\"runners\":1'"
JOIN_S=$(python3 -c "import time; print(round(time.time() - $JOIN_T0, 2))")
echo "# h2 joined the run ${JOIN_S}s after its agent started"
sleep 2
check "joined host carries instances" bash -c \
	"'$MITECTL' --socket '$SOCK' --json status '$RUN' | python3 -c 'import json,sys; h=[x for x in json.load(sys.stdin)[\"run\"][\"hosts\"] if x[\"name\"]==\"h2\"]; sys.exit(0 if h and h[0][\"instances\"] > 0 else 1)'"
# (a remote runner maps the cached copy, named by its digest)
RPID=$(pgrep -f -- "[-]-connect $EP .*--key $T/keys/h1.key" | head -n1)
check "a remote runner runs the cached copy of the module" \
	bash -c "[ -n '$RPID' ] && grep -q '$T/state-h1/modules/$SHA.so' /proc/$RPID/maps && ! grep -q '$PLUGINS/http_get.so' /proc/$RPID/maps"
kill -KILL "$PID_h2"
KILL_T0=$(date +%s.%N)
wait "$PID_h2" 2>/dev/null
check "kill -9 of an agent: its share moves within 2 s" wait_for 2 bash -c \
	"'$MITECTL' --socket '$SOCK' --json status '$RUN' | python3 -c 'import json,sys; h=[x for x in json.load(sys.stdin)[\"run\"][\"hosts\"] if x[\"name\"]==\"h2\"]; sys.exit(1 if h else 0)'"
LOSS_S=$(python3 -c "import time; print(round(time.time() - $KILL_T0, 2))")
echo "# h2's share moved ${LOSS_S}s after kill -9"
check "the run goes on" field_is "$RUN" state running
check "the other host keeps the whole volume" wait_for 3 bash -c \
	"'$MITECTL' --socket '$SOCK' --json status '$RUN' | python3 -c 'import json,sys; h=json.load(sys.stdin)[\"run\"][\"hosts\"]; sys.exit(0 if len(h)==1 and h[0][\"name\"]==\"h1\" and h[0][\"instances\"]==6 else 1)'"
ctl scale "$RUN" 50 >/dev/null
check "scale reaches the hosts' runners (50%: 3 instances on h1)" wait_for 3 bash -c \
	"'$MITECTL' --socket '$SOCK' --json status '$RUN' | python3 -c 'import json,sys; h=json.load(sys.stdin)[\"run\"][\"hosts\"]; sys.exit(0 if h and h[0][\"instances\"]==3 else 1)'"
check "kill -9 run: done" wait_done "$RUN" 30
check "the verdict fails and names the lost host and when" bash -c \
	"[ \"\$('$MITECTL' --socket '$SOCK' --json status '$RUN' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"run\"][\"verdict\"])')\" = failed ] && '$MITECTL' --socket '$SOCK' status '$RUN' | grep -q 'runner [0-9] left the run: host h2 (127.0.0.1) at run second [0-9.]*: host lost: its agent is gone'"
M=$(http_count "$RUN")
R=$(received)
# The killed agent's runner left the run on its own link: it finished its
# iterations, and its last batch came.
check "kill -9 run: mite counted exactly what the target received ($M = $R)" \
	[ -n "$M" ] && [ "$M" -gt 0 ] && [ "$M" = "$R" ]
check "kill -9 run: every iteration started ended, none lost" \
	python3 -c "
import json, sys
s = json.load(open('$STATE/results/$RUN/summary.json'))
j = s['journeys'][0]
sys.exit(0 if j['started'] == j['ok'] + j['failed'] and j['lost'] == 0 and j['failed'] == 0 else 1)"
check "kill -9 run: no iterable row in doubt (the runner said what it ran)" \
	python3 -c "
import json, sys
s = json.load(open('$STATE/results/$RUN/summary.json'))
sys.exit(0 if s['journeys'][0]['rows_in_doubt'] == 0 else 1)"
check "run without a loss: no row in doubt" python3 -c "
import json, sys
s = json.load(open('$STATE/results/$RUN1/summary.json'))
sys.exit(0 if s['journeys'][0]['rows_in_doubt'] == 0 else 1)"

check "a second run ships nothing: each host got the module once" bash -c \
	"[ \$(grep -c 'host h1: module .* shipped' '$LOG') = 1 ] && [ \$(grep -c 'host h2: module .* shipped' '$LOG') = 1 ] && [ \$(grep -c 'module .* received' '$T/h1.log') = 1 ]"

# 3. The host comes back and rejoins.
agent h2 --runners-per-host 1
check "a lost host comes back" wait_for 10 bash -c "[ \"\$('$MITECTL' --socket '$SOCK' hosts --json | python3 -c 'import json,sys; print([h[\"state\"] for h in json.load(sys.stdin)[\"hosts\"] if h[\"name\"]==\"h2\"][0])')\" = up ]"
# 4. An iterable pool's rows run exactly once fleet-wide, a kill -9 of an
# agent mid-run notwithstanding: the leaving runner hands back the rows it
# had not run, and they run elsewhere. rowget.so GETs /bytes/ROW, so the
# target counts each row's request. (h2 is back, above.)
check "... h2 up for the rows run" wait_for 10 bash -c "[ \"\$('$MITECTL' --socket '$SOCK' hosts --json | python3 -c 'import json,sys; print([h[\"state\"] for h in json.load(sys.stdin)[\"hosts\"] if h[\"name\"]==\"h2\"][0])')\" = up ]"
cat >"$T/rows.conf" <<EOF2
name = "rows";
config = { base_url = "http://127.0.0.1:$TPORT/"; think_time = 0.05; };
journeys = ( { name = "rows"; journey = "$TPLUGINS/rowget.so:journey";
               datapool = { type = "range"; from = 1; to = 400; mode = "iterable"; };
               volume = { type = "constant"; count = 6; }; } );
EOF2
target /stats/reset >/dev/null
RUN=$(ctl start "$T/rows.conf")
check "rows run: h2 has its runner" wait_for 5 bash -c \
	"'$MITECTL' --socket '$SOCK' --json status '$RUN' | grep -q '\"name\":\"h2\",\"runners\":1'"
sleep 0.8
kill -KILL "$PID_h2"
wait "$PID_h2" 2>/dev/null
check "rows run: done (the pool ran out)" wait_done "$RUN" 30
target /stats >"$T/rows-stats.json"
check "rows run: each of the 400 rows requested exactly once at the target" \
	python3 -c "
import json, sys
q = json.load(open('$T/rows-stats.json'))['requests']
rows = {k: v for k, v in q.items() if k.startswith('/bytes/')}
want = {'/bytes/%d' % i for i in range(1, 401)}
bad = [k for k, v in rows.items() if v != 1]
print('   ', len(rows), 'rows requested,', len(bad), 'not once')
sys.exit(0 if set(rows) == want and not bad and '(other)' not in q else 1)"
check "rows run: none skipped, none in doubt, and h2's loss fails the verdict" \
	python3 -c "
import json, sys
s = json.load(open('$STATE/results/$RUN/summary.json'))
j = s['journeys'][0]
sys.exit(0 if j['rows_skipped'] == 0 and j['rows_in_doubt'] == 0 and j['started'] == 400 and s['verdict'] == 'failed' else 1)"
check "rows run: h2's runner handed rows back" log_has "run $RUN: runner [0-9] leaves the run"

# 5. The short case: a host lost with its runner frozen (SIGSTOP, as a
# machine that vanished): lost by heartbeat silence, the runner's last
# batch never comes, and 6 s later it is dropped: its iterations in flight
# counted lost, its rows in doubt, and mite's count no more than the
# target's.
agent h2 --runners-per-host 1
check "... h2 back for the frozen run" wait_for 10 bash -c "[ \"\$('$MITECTL' --socket '$SOCK' hosts --json | python3 -c 'import json,sys; print([h[\"state\"] for h in json.load(sys.stdin)[\"hosts\"] if h[\"name\"]==\"h2\"][0])')\" = up ]"
target /stats/reset >/dev/null
RUN=$(ctl start "$(scen frozen 14 6)")
check "frozen host: h2 has its runner" wait_for 5 bash -c \
	"'$MITECTL' --socket '$SOCK' --json status '$RUN' | grep -q '\"name\":\"h2\",\"runners\":1'"
sleep 1
FPID=$(pgrep -f -- "[-]-connect $EP .*--key $T/keys/h2.key" | head -n1)
kill -STOP "$FPID"
kill -KILL "$PID_h2"
wait "$PID_h2" 2>/dev/null
check "frozen host: lost by heartbeat silence" wait_for 5 bash -c \
	"'$MITECTL' --socket '$SOCK' status '$RUN' | grep -q 'left the run: host h2 (127.0.0.1) at run second [0-9.]*: host lost: no heartbeat'"
check "frozen host: its runner is dropped once the bound is over" wait_for 12 log_has "run $RUN: runner [0-9] left without its last batch within 6 s; dropped"
kill -KILL "$FPID"
check "frozen host: run done" wait_done "$RUN" 30
check "frozen host: failed" field_is "$RUN" verdict failed
M=$(http_count "$RUN")
R=$(received)
check "frozen host: mite's count <= the target's, short by at most the frozen runner's last batch ($M vs $R)" \
	python3 -c "import sys; m, r = $M, $R; sys.exit(0 if 0 < m <= r <= m + 2 * 1.2 / 0.02 + 10 else 1)"
check "frozen host: its rows counted in doubt, its iterations in flight lost, and said" \
	python3 -c "
import json, sys
s = json.load(open('$STATE/results/$RUN/summary.json'))
j = s['journeys'][0]
w = ' '.join(s.get('warnings', []))
sys.exit(0 if j['rows_in_doubt'] > 0 and j['started'] == j['ok'] + j['failed'] and 'in doubt' in w else 1)"
agent h2 --runners-per-host 1
check "... h2 back" wait_for 10 bash -c "[ \"\$('$MITECTL' --socket '$SOCK' hosts --json | python3 -c 'import json,sys; print([h[\"state\"] for h in json.load(sys.stdin)[\"hosts\"] if h[\"name\"]==\"h2\"][0])')\" = up ]"

# A cached module that no longer matches its digest is never run: the
# agent removes it and asks again.
printf 'x' >>"$T/state-h1/modules/$SHA.so"
RUN=$(ctl start --hosts label=zone=a "$(scen again 2 2)")
check "corrupt cache: the run on h1 passes" bash -c "sleep 0.5; true" && wait_done "$RUN" 20 && check "... passed" field_is "$RUN" verdict passed
check "corrupt cache: removed and asked again, shipped again" bash -c \
	"grep -q 'modules/$SHA.so does not match its digest; removed, asked again' '$T/h1.log' && [ \$(grep -c 'host h1: module .*/http_get.so shipped' '$LOG') = 2 ] && [ \"\$(sha256sum '$T/state-h1/modules/$SHA.so' | cut -c1-64)\" = '$SHA' ]"
check "keys never in the logs" bash -c "! grep -qF \"\$(tail -n1 '$T/keys/h1.key')\" '$LOG' '$T/h1.log' '$T/h2.log' && ! grep -qF \"\$(tail -n1 '$T/keys/ctl.key')\" '$LOG'"
stop_mited
finish

#!/bin/sh
# parse.sh - a scenario is parsed off mited's loop: while one client's
# start waits for a slow parse, other clients are served; a scenario over
# the size or string limits is refused before libconfig reads it; SIGTERM
# during a parse still stops mited within a few seconds.
. "$(dirname "$0")/lib.sh"

HP=$TPLUGINS/harden.so
[ -f "$HP" ] || { echo "FAIL: parse: $HP is not built (make check builds it)"; exit 1; }

write_conf
start_mited || finish

# A datapool whose open takes 6 s: the parse holds a thread of the pool,
# not the loop.
slow_scenario() {
	scenario "$1" 30 "{ name = \"j\"; journey = \"$PLUGINS/example.so:journey\";
	    datapool = { plugin = \"$HP:slow_pool\"; sleep = $2; count = 100; };
	    volume = { type = \"constant\"; count = 1; }; }"
}
SLOW=$(slow_scenario slow 6.0)
ctl start "$SLOW" >"$T/slow.out" 2>"$T/slow.err" &
STARTER=$!
sleep 1
check "ping is answered while a start parses" timeout 3 "$MITECTL" --socket "$SOCK" ping
check "status is answered too" timeout 3 "$MITECTL" --socket "$SOCK" status
check "list is answered too" timeout 3 "$MITECTL" --socket "$SOCK" list
check "... and all that before the start's own reply" kill -0 "$STARTER"
wait "$STARTER"
check "then the start succeeds" [ $? -eq 0 ]
RUN=$(cat "$T/slow.out")
check "... with a run id that runs" wait_for 10 field_is "$RUN" state running
ctl stop "$RUN" --now >/dev/null
wait_for 15 field_is "$RUN" state done

# A big scenario within the limits: 15 MB, with 14 MB of comments, 50000
# inline rows and a 60 KiB string; another client is answered while it
# parses. (Rows cost far more than comments to build: a sanitizer build
# takes minutes for 700000.)
python3 - "$T/big.conf" "$PLUGINS/example.so" <<'PY'
import sys
rows = ", ".join('("user%d", %d)' % (i, i) for i in range(50000))
with open(sys.argv[1], "w") as f:
    f.write('name = "big";\nduration = 2;\nconfig = { blob = "%s"; };\n' % ("b" * 60000))
    f.write(("# " + "c" * 1000 + "\n") * 14000)
    f.write('journeys = ( { journey = "%s:journey";\n' % sys.argv[2])
    f.write('  datapool = { type = "inline"; rows = ( %s ); };\n' % rows)
    f.write('  volume = { type = "constant"; count = 2; }; } );\n')
PY
check "the big scenario is under 16 MiB" [ "$(stat -c %s "$T/big.conf")" -lt 16777216 ]
ctl start "$T/big.conf" >"$T/big.out" 2>"$T/big.err" &
STARTER=$!
check "ping is answered while the big one parses" timeout 3 "$MITECTL" --socket "$SOCK" ping
wait "$STARTER"
check "the big scenario starts" [ $? -eq 0 ]
BIG=$(cat "$T/big.out")
check "... and finishes" wait_for 30 field_is "$BIG" state done

# Over the limits: refused before libconfig reads it, saying which file,
# how big, and the limit.
python3 - "$T/huge.conf" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write('name = "huge";\n')
    f.write(("#" + "x" * 1023 + "\n") * (17 * 1024))
PY
"$MITECTL" --socket "$SOCK" start "$T/huge.conf" 2>"$T/err" >/dev/null
check "a 17 MiB scenario is refused (exit 3)" [ $? -eq 3 ]
check "... naming the file, its size and the limit" \
	grep -q "huge.conf: 17843215 bytes: .*come to 17843215 bytes, over the limit of 16777216 bytes" "$T/err"
python3 - "$T/longstr.conf" "$PLUGINS/example.so" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write('name = "long";\n')
    f.write('config = { s = "%s"; };\n' % ("s" * 8000000))
    f.write('journeys = ( { journey = "%s:journey"; volume = { type = "constant"; count = 1; }; } );\n' % sys.argv[2])
PY
T0=$(date +%s)
"$MITECTL" --socket "$SOCK" start "$T/longstr.conf" 2>"$T/err" >/dev/null
check "an 8 MB string is refused at once" [ $? -eq 3 ]
check "... with file:line, its length and the limit" \
	grep -q "longstr.conf:2: a string of 8000000 bytes, over the limit of 65536 bytes" "$T/err"
check "... without the 29 s parse" [ $(($(date +%s) - T0)) -lt 10 ]
check "mited is alive" ctl ping

# SIGTERM while a parse is under way (a pool that takes 60 s to open):
# mited answers the waiting client and exits within seconds.
LONG=$(slow_scenario long 60.0)
ctl start "$LONG" >"$T/long.out" 2>"$T/long.err" &
STARTER=$!
sleep 1
T0=$(date +%s)
stop_mited TERM
RC=$?
T1=$(date +%s)
check "SIGTERM during a parse: exit 0" [ "$RC" -eq 0 ]
check "... within 10 s" [ $((T1 - T0)) -le 10 ]
check "... saying why it did not wait" log_has "scenario parse(s) still running"
wait "$STARTER"
check "the waiting client is told" grep -q "shutting down" "$T/long.err"
finish

#!/bin/sh
# quickstart.sh - the README's first command, `./quickstart.sh demo`, on
# this build (QUICKSTART_BUILD): it exits 0 after a good demo, and its
# mite-target is gone afterwards - after a good run, after Ctrl-C (SIGINT
# to its process group, as a terminal sends it) and after a failure.
. "$(dirname "$0")/lib.sh"

QS=$top_srcdir/quickstart.sh
[ -x "$top_builddir/tools/mite-target" ] || { echo "FAIL: quickstart: mite-target is not built (make check builds it)"; exit 1; }

# demo OUT [SECONDS]: runs the demo in its own session with SIGINT at its
# default (a test's background job would inherit it ignored); prints its
# exit status. SIG=INT sends SIGINT to its process group once the target
# listens, as a terminal's Ctrl-C does; SIG=KILL kills the script alone.
demo() {
	QUICKSTART_BUILD=$top_builddir DEMO_SECONDS=${2:-2} python3 -c '
import os, signal, subprocess, sys, time
out = open(sys.argv[2], "w")
p = subprocess.Popen([sys.argv[1], "demo"], stdout=out, stderr=subprocess.STDOUT,
                     start_new_session=True,
                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
sig = os.environ.get("SIG")
if sig:
    for _ in range(600):
        if "listening on" in open(sys.argv[2]).read():
            break
        time.sleep(0.1)
    time.sleep(1.5)
    if sig == "INT":
        os.killpg(p.pid, signal.SIGINT)
    else:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        os.killpg(p.pid, signal.SIGKILL)  # its mitectl, orphaned
try:
    print(p.wait(timeout=120))
except subprocess.TimeoutExpired:
    os.killpg(p.pid, signal.SIGKILL)
    print("timeout")
' "$QS" "$1"
}

# target_gone OUT: the port the demo's target listened on refuses
# connections.
target_gone() {
	port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$1")
	[ -n "$port" ] || return 1
	python3 -c '
import socket, sys
s = socket.socket()
s.settimeout(2)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) != 0 else 1)
' "$port"
}

rc=$(demo "$T/good.out")
if grep -q "missing packages and not root" "$T/good.out"; then
	echo "SKIP: quickstart: packages are missing and this is not root"
	exit 77
fi
check "a good demo exits 0 (got $rc)" [ "$rc" = 0 ]
check "the demo passes" grep -q "verdict: passed" "$T/good.out"
check "no trap error" sh -c "! grep -q 'unbound variable' '$T/good.out'"
check "the target is gone after a good demo" target_gone "$T/good.out"

rc=$(SIG=INT demo "$T/int.out" 30)
check "Ctrl-C stops the demo early (status $rc)" [ "$rc" != timeout ]
check "... with its summary" grep -q "verdict:" "$T/int.out"
check "... the target served the run to its end" sh -c "! grep -q 'failed (refused)' '$T/int.out'"
check "the target is gone after Ctrl-C" target_gone "$T/int.out"

rc=$(SIG=KILL demo "$T/kill.out" 30)
check "the target is gone once the script is killed outright" wait_for 5 target_gone "$T/kill.out"

# A failing demo: a duration mitectl refuses.
rc=$(demo "$T/bad.out" -1)
check "a failed demo exits non-zero (got $rc)" sh -c "[ '$rc' != 0 ] && [ '$rc' != timeout ]"
check "the target is gone after a failure" target_gone "$T/bad.out"

finish

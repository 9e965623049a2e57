#!/usr/bin/env python3
"""garbage.py SOCKET RUN - a battery of bad input on mited's control socket.

Every bad request must earn an error reply ({"ok": false, "error": ...}) or
a disconnection; none may harm the daemon, the other clients, or the run
RUN that goes on meanwhile. Prints PASS:/FAIL: lines; exit 1 on any FAIL.
"""
import json
import os
import socket
import sys
import time

SOCK, RUN = sys.argv[1], sys.argv[2]
fails = 0


def result(ok, what):
    global fails
    print(("PASS" if ok else "FAIL") + ": garbage: " + what, flush=True)
    if not ok:
        fails += 1


def dial():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(SOCK)
    return s


def lines(s, n=1):
    """Reads n reply lines (or fewer at EOF/timeout)."""
    buf = b""
    out = []
    try:
        while len(out) < n:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf and len(out) < n:
                line, buf = buf.split(b"\n", 1)
                out.append(line)
    except socket.timeout:
        pass
    return out


def reply(s):
    got = lines(s, 1)
    if not got:
        return None
    try:
        return json.loads(got[0])
    except ValueError:
        return {"unparsable": got[0][:200].decode(errors="replace")}


def closed(s):
    try:
        s.settimeout(5)
        while True:
            d = s.recv(65536)
            if not d:
                return True
    except socket.timeout:
        return False
    except OSError:  # a reset (unread input was discarded) is a close too
        return True


def is_error(r, needle=""):
    return (isinstance(r, dict) and r.get("ok") is False and isinstance(r.get("error"), str)
            and needle in r["error"])


def alive():
    s = dial()
    s.sendall(b'{"cmd":"ping"}\n')
    r = reply(s)
    s.close()
    return isinstance(r, dict) and r.get("ok") is True


# ---- one connection, many bad requests: each answered, in order ----------
s = dial()
battery = [
    (b"{not json\n", "not JSON"),
    (b"[]\n", "not a JSON object"),
    (b"42\n", "not a JSON object"),
    (b"null\n", "not a JSON object"),
    (b'"cmd"\n', "not a JSON object"),
    (b"{}\n", 'no string "cmd"'),
    (b'{"cmd":null}\n', 'no string "cmd"'),
    (b'{"cmd":["start"]}\n', 'no string "cmd"'),
    (b'{"cmd":"START"}\n', "unknown command"),
    (b'{"cmd":"rm -rf /"}\n', "unknown command"),
    (b'{"cmd":"' + b"x" * 5000 + b'"}\n', "unknown command"),
    (b"\x00\x01\x02\xff\xfe\n", ""),
    (b"\xef\xbb\xbf{\"cmd\":\"ping\"\n", ""),
    (b'{"cmd":"start"}\n', '"scenario"'),
    (b'{"cmd":"start","scenario":42}\n', '"scenario"'),
    (b'{"cmd":"start","scenario":"relative.conf"}\n', "must be absolute"),
    (b'{"cmd":"start","scenario":"/nonexistent/x.conf"}\n', "x.conf"),
    (b'{"cmd":"start","scenario":"/etc/passwd"}\n', "/etc/passwd"),
    (b'{"cmd":"start","scenario":"/dev/zero"}\n', ""),
    (b'{"cmd":"start","scenario":"/x.conf","sets":"a=b"}\n', "array"),
    (b'{"cmd":"start","scenario":"/x.conf","sets":[1,2]}\n', "array of strings"),
    (b'{"cmd":"start","scenario":"/x.conf","sets":["novalue"]}\n', "key=value"),
    (b'{"cmd":"start","scenario":"/x.conf","env":{"MITE_CONF_a":7}}\n', "string"),
    (b'{"cmd":"start","scenario":"/x.conf","duration":-1}\n', "duration"),
    (b'{"cmd":"start","scenario":"/x.conf","duration":"soon"}\n', "duration"),
    (b'{"cmd":"start","scenario":"/x.conf","runners":0}\n', "runners"),
    (b'{"cmd":"start","scenario":"/x.conf","runners":1e9}\n', "runners"),
    (b'{"cmd":"status","run":"no-such-run"}\n', "no run"),
    (b'{"cmd":"status","run":42}\n', ""),
    (b'{"cmd":"stop"}\n', '"run"'),
    (b'{"cmd":"stop","run":{"a":1}}\n', '"run"'),
    (b'{"cmd":"pause","run":"../../etc"}\n', "no run"),
    (b'{"cmd":"scale","run":"' + RUN.encode() + b'"}\n', "percent"),
    (b'{"cmd":"scale","run":"' + RUN.encode() + b'","percent":"lots"}\n', "percent"),
    (b'{"cmd":"scale","run":"' + RUN.encode() + b'","percent":-5}\n', "percent"),
    (b'{"cmd":"scale","run":"' + RUN.encode() + b'","percent":1e308}\n', "percent"),
    (b'{"cmd":"results","run":"../../../etc/passwd"}\n', "no run"),
    (b'{"cmd":"results"}\n', '"run"'),
    (b"[" * 5000 + b"\n", "not JSON"),
    (b'{"cmd":"ping","cmd":"stop"}\n', ""),
]
for req, needle in battery:
    s.sendall(req)
    r = reply(s)
    ok = is_error(r, needle) or (needle == "" and isinstance(r, dict) and "ok" in r)
    result(ok, "%r -> %s" % (req[:60], json.dumps(r)[:120] if r is not None else "no reply"))
# Blank lines are no requests: still in step after them.
s.sendall(b"\n\r\n  \n" + b'{"cmd":"ping","id":"after-blank"}\n')
r = reply(s)
result(isinstance(r, dict) and r.get("id") == "after-blank", "blank lines are skipped")
# A burst of requests in one write: one reply each, in order.
s.sendall(b"".join(b'{"cmd":"ping","id":%d}\n' % i for i in range(500)))
got = lines(s, 500)
ids = [json.loads(g).get("id") for g in got]
result(ids == list(range(500)), "500 pipelined requests, 500 replies in order")
s.close()

# ---- status --watch with an empty run id: every active run, watched -------
s = dial()
s.sendall(b'{"cmd":"status","run":"","watch":true,"interval":0.2}\n')
r = reply(s)
result(isinstance(r, dict) and r.get("ok") is True and isinstance(r.get("runs"), list)
       and r.get("watch") is True, "status --watch of run \"\" streams every run: %s"
       % (json.dumps(r)[:100] if r else r))
r = reply(s)
result(isinstance(r, dict) and isinstance(r.get("runs"), list), "... and goes on streaming")
s.close()
result(alive(), "... and mited is alive")

# ---- an oversized line: an error, then the connection closes --------------
s = dial()
try:
    s.sendall(b'{"cmd":"ping","pad":"' + b"x" * (200 * 1024))
except (BrokenPipeError, ConnectionResetError):
    pass
r = reply(s)
result(is_error(r, "longer than"), "a 200 KiB line is refused: %s" % (json.dumps(r)[:100] if r else r))
result(closed(s), "... and the connection closed")
s.close()

# ---- a client that says nothing is dropped (client_timeout = 5 s) ---------
s = dial()
s.settimeout(10)
r = reply(s)
result(is_error(r, "idle"), "a silent client is told it was idle")
result(closed(s), "... and dropped")
s.close()

# ---- a client that sends half a request and vanishes ----------------------
for i in range(20):
    s = dial()
    s.sendall(b'{"cmd":"sta')
    s.close()
result(alive(), "20 clients vanishing mid-request: mited answers")

# ---- clients vanishing mid-stream (status --watch) ------------------------
for i in range(5):
    s = dial()
    s.sendall(b'{"cmd":"status","watch":true,"interval":0.1}\n')
    lines(s, 3)
    s.shutdown(socket.SHUT_RDWR)
    s.close()
result(alive(), "5 watchers vanishing mid-stream: mited answers")

# ---- a watcher that never reads: dropped, not buffered forever ------------
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(SOCK)
s.sendall(b'{"cmd":"status","watch":true,"interval":0.1}\n')
time.sleep(2)
result(alive(), "a watcher that never reads does not stall mited")
s.close()

# ---- many clients at once: the ones over the limit are told so ------------
many = []
for i in range(80):
    try:
        many.append(dial())
    except OSError:
        break
refused = 0
for c in many:
    c.settimeout(0.2)
    try:
        d = c.recv(4096)
        if b"too many clients" in d:
            refused += 1
    except socket.timeout:
        pass
result(refused > 0, "80 clients at once: %d told 'too many clients'" % refused)
for c in many:
    c.close()
time.sleep(0.5)
result(alive(), "after the crowd left: mited answers")

# ---- half-close: the request before EOF is still answered -----------------
s = dial()
s.sendall(b'{"cmd":"ping","id":"half"}')
s.shutdown(socket.SHUT_WR)
r = reply(s)
result(isinstance(r, dict) and r.get("id") == "half", "a request then half-close is answered")
s.close()

# ---- the run went on through all of it -----------------------------------
s = dial()
s.sendall(json.dumps({"cmd": "status", "run": RUN}).encode() + b"\n")
r = reply(s)
s.close()
st = (r or {}).get("run", {})
result(st.get("state") == "running" and st.get("restarts") == 0,
       "the run %s is still running, untouched (state %s)" % (RUN, st.get("state")))
sys.exit(1 if fails else 0)

#!/usr/bin/env python3
"""oracle.py - what a journey converted from a HAR file must send, checked
against what mite-target logged (--request-log).

    oracle.py compare FILE.har REQUEST.log [--drop-static] [--repeat]

The requests a conversion keeps, by the rules of docs/har.md, written here
independently of the converter: http(s) entries with a response, not from
the browser's cache, to the recorded site's host (the first request's);
with --drop-static, no image, font, style sheet, script or media. Each must
reach the target in order with its method, target (path and query, encoded
as a browser sends them) and body bytes. Redirect hops are in the HAR as
requests of their own and reach the target as such. --repeat: the log may
hold the sequence several times over (a scenario's iterations), at least
once and nothing else.
"""
import base64
import json
import sys
import urllib.parse

STATIC_TYPES = ("image/", "font/", "audio/", "video/", "text/css", "text/javascript",
                "application/javascript")


def encode(s):
    out = []
    for b in s.encode("utf-8"):
        c = chr(b)
        if b <= 0x20 or b >= 0x7f or c in '"<>\\^`{|}':
            out.append("%%%02X" % b)
        else:
            out.append(c)
    return "".join(out)


def target_of(url):
    rest = url.split("://", 1)[1]
    rest = rest.split("#", 1)[0]
    i = min([k for k in (rest.find("/"), rest.find("?")) if k >= 0] or [len(rest)])
    t = rest[i:]
    if not t.startswith("/"):
        t = "/" + t
    return encode(t)


def body_of(req):
    pd = req.get("postData")
    if not pd:
        return b""
    if "text" in pd:
        if pd.get("encoding") == "base64":
            return base64.b64decode(pd["text"])
        return pd["text"].encode("utf-8")
    pairs = [(p["name"], p.get("value", "")) for p in pd.get("params", [])]
    return urllib.parse.urlencode(pairs).encode()


def expected(har, drop_static):
    entries = sorted(enumerate(har["log"]["entries"]), key=lambda ie: (ie[1]["startedDateTime"], ie[0]))
    base = None
    out = []
    for _, e in entries:
        url = e["request"]["url"]
        scheme = url.split(":", 1)[0].lower()
        if scheme not in ("http", "https"):
            continue
        host = urllib.parse.urlsplit(url).hostname
        if base is None:
            base = host
        if e["response"]["status"] == 0 or e.get("_fromCache") or host != base:
            continue
        rtype = e["response"].get("content", {}).get("mimeType", "")
        if drop_static and rtype.lower().startswith(STATIC_TYPES):
            continue
        out.append((e["request"]["method"], target_of(url), body_of(e["request"]).hex()))
    return out


def logged(path):
    with open(path, encoding="utf-8") as f:
        return [(d["method"], d["target"], d["body"]) for d in map(json.loads, f)]


def compare(har_path, log_path, drop_static, repeat):
    with open(har_path, encoding="utf-8") as f:
        want = expected(json.load(f), drop_static)
    got = logged(log_path)
    n = len(want)
    if repeat and n and len(got) >= n and len(got) % n == 0:
        bad = [k for k in range(len(got)) if got[k] != want[k % n]]
        if not bad:
            print("  %d iterations of %d requests each" % (len(got) // n, n))
            return 0
    elif got == want:
        return 0
    print("  the target saw %d requests, the HAR wants %d%s" % (len(got), n, " (repeated)" if repeat else ""))
    for k in range(max(len(got), n)):
        g = got[k] if k < len(got) else None
        w = want[k % n] if n and (repeat or k < n) else None
        if g != w:
            print("  first difference at request %d:\n    got  %s\n    want %s" % (k + 1, g, w))
            break
    return 1


def main():
    args = sys.argv[1:]
    if len(args) < 3 or args[0] != "compare":
        print(__doc__)
        return 2
    return compare(args[1], args[2], "--drop-static" in args, "--repeat" in args)


if __name__ == "__main__":
    sys.exit(main())

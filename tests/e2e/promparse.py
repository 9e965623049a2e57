#!/usr/bin/env python3
"""promparse.py - a strict reader of the Prometheus text format (0.0.4), for
the end-to-end tests.

    promparse.py < metrics.txt                      # validate; print the samples as JSON
    promparse.py --sum NAME [LABEL=VALUE]... < metrics.txt   # the sum of matching samples

Fails (exit 1, one line on stderr naming the line) on: a sample before its
family's HELP and TYPE, a family declared twice or after its samples, a bad
metric or label name, an unquoted or badly escaped label value, extra
spaces, a counter or bucket that is not an integer, histogram buckets that
go down or whose +Inf bucket differs from _count.
"""
import json
import re
import sys

NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def fail(lineno, msg):
    sys.stderr.write("promparse: line %d: %s\n" % (lineno, msg))
    sys.exit(1)


def parse(text):
    if text and not text.endswith("\n"):
        fail(0, "the text does not end with a newline")
    families = {}
    samples = []
    for lineno, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line[7:].split(" ", 1)
            if len(parts) != 2 or not NAME.match(parts[0]):
                fail(lineno, "bad %s line" % line[2:6])
            fam = families.setdefault(parts[0], {"help": False, "type": None, "samples": 0})
            if fam["samples"]:
                fail(lineno, "%s declared after its samples" % parts[0])
            if line[2] == "H":
                if fam["help"]:
                    fail(lineno, "two HELP lines for %s" % parts[0])
                fam["help"] = True
            else:
                if fam["type"]:
                    fail(lineno, "two TYPE lines for %s" % parts[0])
                if parts[1] not in ("counter", "gauge", "histogram", "summary", "untyped"):
                    fail(lineno, "unknown type %r" % parts[1])
                fam["type"] = parts[1]
            continue
        if line.startswith("#") or not line:
            fail(lineno, "a comment that is not HELP/TYPE, or an empty line")
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ([^ ]+)$", line)
        if not m:
            fail(lineno, "not a sample: %r" % line)
        name, labels_text, value = m.group(1), m.group(3) or "", m.group(4)
        labels = {}
        i = 0
        while i < len(labels_text):
            eq = labels_text.find("=", i)
            if eq < 0 or labels_text[eq + 1: eq + 2] != '"':
                fail(lineno, "label without a quoted value")
            lname = labels_text[i:eq]
            if not LABEL.match(lname) or lname in labels:
                fail(lineno, "bad or repeated label name %r" % lname)
            j, val = eq + 2, []
            while True:
                if j >= len(labels_text):
                    fail(lineno, "unterminated label value")
                c = labels_text[j]
                if c == "\\":
                    n = labels_text[j + 1: j + 2]
                    if n not in ("\\", '"', "n"):
                        fail(lineno, "bad escape \\%s" % n)
                    val.append("\n" if n == "n" else n)
                    j += 2
                    continue
                if c == '"':
                    break
                if c == "\n":
                    fail(lineno, "raw newline in a label value")
                val.append(c)
                j += 1
            labels[lname] = "".join(val)
            j += 1
            if j < len(labels_text):
                if labels_text[j] != ",":
                    fail(lineno, "expected ',' between labels")
                j += 1
            i = j
        fam_name, fam = name, families.get(name)
        if fam is None:
            for sfx in ("_bucket", "_sum", "_count"):
                if name.endswith(sfx) and families.get(name[: -len(sfx)], {}).get("type") == "histogram":
                    fam_name, fam = name[: -len(sfx)], families[name[: -len(sfx)]]
        if fam is None or not fam["help"] or not fam["type"]:
            fail(lineno, "%s has no HELP and TYPE before it" % name)
        fam["samples"] += 1
        integer = fam["type"] == "counter" or (fam["type"] == "histogram" and not name.endswith("_sum"))
        if integer and not re.match(r"^[0-9]+$", value):
            fail(lineno, "%s must be an integer, not %r" % (name, value))
        try:
            v = float(value)
        except ValueError:
            fail(lineno, "bad value %r" % value)
        samples.append({"name": name, "family": fam_name, "labels": labels, "value": v, "line": lineno})
    # Histograms: buckets rise, +Inf equals _count.
    series = {}
    for s in samples:
        if s["name"].endswith("_bucket"):
            key = (s["family"], tuple(sorted((k, v) for k, v in s["labels"].items() if k != "le")))
            series.setdefault(key, []).append(s)
    counts = {}
    for s in samples:
        if s["name"].endswith("_count") and families.get(s["family"], {}).get("type") == "histogram":
            counts[(s["family"], tuple(sorted(s["labels"].items())))] = s["value"]
    for key, bs in series.items():
        prev = 0
        for b in bs:
            if b["value"] < prev:
                fail(b["line"], "histogram buckets go down")
            prev = b["value"]
        if bs[-1]["labels"].get("le") != "+Inf":
            fail(bs[-1]["line"], "the last bucket is not +Inf")
        if counts.get(key) != bs[-1]["value"]:
            fail(bs[-1]["line"], "+Inf bucket %s != _count %s" % (bs[-1]["value"], counts.get(key)))
    return samples


def main():
    text = sys.stdin.read()
    samples = parse(text)
    if len(sys.argv) > 2 and sys.argv[1] == "--sum":
        want = dict(a.split("=", 1) for a in sys.argv[3:])
        total = sum(s["value"] for s in samples
                    if s["name"] == sys.argv[2] and all(s["labels"].get(k) == v for k, v in want.items()))
        print(int(total) if total == int(total) else total)
    else:
        json.dump(samples, sys.stdout)
        print()


if __name__ == "__main__":
    main()

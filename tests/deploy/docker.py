#!/usr/bin/env python3
"""docker.py SRCDIR BUILDDIR - checks the Dockerfile without a container
engine (none is needed by make check): its stages, that the build stage
installs every -dev package configure.ac asks for, that the run stage
installs the package of every shared library the built programs and
plugins link directly (dpkg -S on this Debian machine), that it runs as a
non-root user it creates, with mited as the entrypoint and the runner port
exposed, and that .dockerignore keeps build folders out of the context.
Prints one PASS:/FAIL: line per check; exit 1 when any failed."""
import glob
import os
import re
import shlex
import subprocess
import sys

NAME = "docker"
SRC, BUILD = sys.argv[1], sys.argv[2]
fails = 0


def check(desc, ok, why=""):
    global fails
    print("%s: %s: %s%s" % ("PASS" if ok else "FAIL", NAME, desc, "" if ok or not why else " (%s)" % why))
    fails += 0 if ok else 1


def instructions(path):
    """The Dockerfile's instructions: (line, KEYWORD, text), continuations joined."""
    out, cur, start = [], "", 0
    for n, raw in enumerate(open(path), 1):
        line = raw.rstrip("\n")
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if cur and line.lstrip().startswith("#"):
            continue
        if not cur:
            start = n
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        kw, _, rest = cur.strip().partition(" ")
        out.append((start, kw.upper(), rest.strip()))
        cur = ""
    return out


def apt_packages(run):
    """The packages of the apt-get install commands in a RUN text."""
    pkgs = set()
    for cmd in re.split(r"&&|;", run):
        words = shlex.split(cmd)
        if "apt-get" in words and "install" in words:
            pkgs |= {w for w in words[words.index("install") + 1:] if not w.startswith("-")}
    return pkgs


def lib_package(soname):
    """The Debian package holding a shared library (ldconfig's path for it,
    the 64-bit one first; dpkg may know it under /usr or not, merged /usr)."""
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    paths = []
    for line in out.splitlines():
        m = re.match(r"\s*(\S+) \(([^)]*)\) => (\S+)", line)
        if m and m.group(1) == soname:
            paths.insert(0 if "64" in m.group(2) else len(paths), m.group(3))
    for path in paths:
        real = os.path.realpath(path)
        for cand in (path, real, "/usr" + path, "/usr" + real, path.replace("/usr", "", 1),
                     real.replace("/usr", "", 1)):
            r = subprocess.run(["dpkg", "-S", cand], capture_output=True, text=True)
            if r.returncode == 0:
                return r.stdout.split(":")[0]
    return None


ins = instructions(os.path.join(SRC, "Dockerfile"))
froms = [(n, t) for n, k, t in ins if k == "FROM"]
check("two stages, both from debian:12-slim, the first named build",
      len(froms) == 2 and froms[0][1] == "debian:12-slim AS build" and froms[1][1] == "debian:12-slim",
      "FROM lines: %s" % froms)
if len(froms) != 2:
    sys.exit(1)
split = froms[1][0]
build = [(k, t) for n, k, t in ins if froms[0][0] < n < split]
run = [(k, t) for n, k, t in ins if n > split]

# The build stage: configure.ac's dependencies (MITE_DEP's third argument,
# the Debian package) and the tools; autotools out of tree; no tests.
want = set(re.findall(r"^MITE_DEP\(\[\w+\], \[[^]]*\], \[([\w.+-]+)\]\)",
                      open(os.path.join(SRC, "configure.ac")).read(), re.M))
want.discard("libcriterion-dev")
bpkgs = set().union(*(apt_packages(t) for k, t in build if k == "RUN"))
check("configure.ac names its -dev packages (%d)" % len(want), len(want) >= 8)
miss = sorted(want - bpkgs)
check("the build stage installs every one of them", not miss, "missing %s" % miss)
tools = {"build-essential", "autoconf", "automake", "pkg-config"}
check("... and the autotools", tools <= bpkgs, "missing %s" % sorted(tools - bpkgs))
brun = " ".join(t for k, t in build if k == "RUN")
check("it builds from this tree (COPY . .) with autoreconf, configure --disable-tests, make install DESTDIR",
      ("COPY", ". .") in build and "autoreconf -fi" in brun and "--disable-tests" in brun
      and "--prefix=/usr" in brun and re.search(r"make install DESTDIR=(\S+)", brun) is not None)
dest = re.search(r"make install DESTDIR=(\S+)", brun)
check("the run stage copies what make install wrote",
      dest is not None and ("COPY", "--from=build %s/ /" % dest.group(1)) in run)

# The run stage: the package of each library the programs link.
bins = [os.path.join(BUILD, b) for b in ("mited", "mitectl", "mite-target")] + \
    sorted(glob.glob(os.path.join(BUILD, "plugins", "*.so")))
needed = set()
for b in bins:
    out = subprocess.run(["objdump", "-p", b], capture_output=True, text=True).stdout
    needed |= set(re.findall(r"^\s*NEEDED\s+(\S+)", out, re.M))
check("the built programs and plugins link shared libraries (%d)" % len(needed), len(needed) >= 8)
rpkgs = set().union(*(apt_packages(t) for k, t in run if k == "RUN"))
libpkgs = {}
for so in sorted(needed):
    libpkgs[so] = lib_package(so)
unknown = [so for so, p in libpkgs.items() if p is None]
check("each library's Debian package is known (dpkg -S)", not unknown, "unknown %s" % unknown)
# libc6 and what it depends on (libgcc-s1) are in every Debian image.
dep = subprocess.run(["dpkg-query", "-W", "-f=${Depends}", "libc6"], capture_output=True, text=True).stdout
base = {"libc6"} | {d.split()[0].split(":")[0] for d in dep.split(",") if d.strip()}
miss = sorted({"%s (%s)" % (p, so) for so, p in libpkgs.items() if p and p not in base and p not in rpkgs})
check("the run stage installs the package of every one", not miss, "missing %s" % miss)
check("... and no -dev package", not [p for p in rpkgs if p.endswith("-dev")])

# A non-root user of its own, the entrypoint, the runner port.
rrun = " ".join(t for k, t in run if k == "RUN")
users = [t for k, t in run if k == "USER"]
m = re.search(r"useradd .*--uid (\d+)", rrun)
check("it creates the user mite with a fixed uid", m is not None and " mite" in rrun[m.end():m.end() + 120])
uid = m.group(1) if m else None
check("and runs as it (USER %s, not root)" % users,
      len(users) == 1 and uid is not None and users[0].split(":")[0] in (uid, "mite") and uid != "0")
check("mited is the entrypoint", ("ENTRYPOINT", '["/usr/sbin/mited"]') in run)
check("the runner port 14301 is exposed", ("EXPOSE", "14301") in run)
check("the socket and state folders are the mite user's",
      re.search(r"install -d -o mite -g mite -m 0750 /run/mite /var/lib/mite", rrun) is not None)

ign = [line.strip() for line in open(os.path.join(SRC, ".dockerignore")) if line.strip() and not line.startswith("#")]
check(".dockerignore keeps .git, build folders and generated files out",
      {".git", "build", "build-*", "configure", "autom4te.cache"} <= set(ign))
if uid:
    print("uid %s" % uid)
sys.exit(1 if fails else 0)

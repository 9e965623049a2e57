#!/usr/bin/env python3
"""hosts.py - the measuring half of bench/hosts.sh (run by it; see there).

    hosts.py PHASE SOCKET PID NETNS IFACE SECONDS HOSTS

For SECONDS it pings the controller on its control socket 10 times a second
(one connection, {"cmd":"ping"} lines: the round trip is how late the
controller's loop answers, the same loop that sends each tick), and reads
the controller's CPU time (/proc/PID/stat) and its namespace's interface
counters (ip -s -j link) at both ends. Prints one JSON line: the phase,
CPU as % of one core (total and per host), bytes/s each way (total and per
host), the ping round trip's p50/p99/max in ms, and the controller's RSS.
"""
import json
import os
import socket
import subprocess
import sys
import time

phase, sock, pid, netns, iface, seconds, hosts = sys.argv[1:8]
pid, seconds, hosts = int(pid), float(seconds), max(int(hosts), 1)
HZ = os.sysconf("SC_CLK_TCK")


def cpu():
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ  # utime, stime


def rss_kib():
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def counters():
    out = subprocess.run(["ip", "-n", netns, "-s", "-j", "link", "show", iface],
                         capture_output=True, text=True, check=True).stdout
    st = json.loads(out)[0]["stats64"]
    return st["rx"]["bytes"], st["tx"]["bytes"]


def pct(v, p):
    if not v:
        return None
    v = sorted(v)
    return v[min(len(v) - 1, int(p / 100.0 * len(v)))]


s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sock)
f = s.makefile("rb")
rtts = []
c0, (rx0, tx0), t0 = cpu(), counters(), time.monotonic()
end = t0 + seconds
while time.monotonic() < end:
    a = time.monotonic()
    s.sendall(b'{"cmd":"ping"}\n')
    line = f.readline()
    if not line:
        sys.exit("hosts.py: the controller closed its control socket")
    rtts.append((time.monotonic() - a) * 1000.0)
    time.sleep(max(0.0, 0.1 - (time.monotonic() - a)))
c1, (rx1, tx1), t1 = cpu(), counters(), time.monotonic()
wall = t1 - t0
load = (c1 - c0) / wall * 100.0
print(json.dumps({
    "phase": phase, "hosts": hosts, "seconds": round(wall, 2),
    "cpu_pct": round(load, 2), "cpu_pct_per_host": round(load / hosts, 4),
    "in_Bps": round((rx1 - rx0) / wall), "out_Bps": round((tx1 - tx0) / wall),
    "in_Bps_per_host": round((rx1 - rx0) / wall / hosts, 1),
    "out_Bps_per_host": round((tx1 - tx0) / wall / hosts, 1),
    "ping_ms_p50": round(pct(rtts, 50), 3), "ping_ms_p99": round(pct(rtts, 99), 3),
    "ping_ms_max": round(max(rtts), 3), "pings": len(rtts), "rss_kib": rss_kib(),
}))

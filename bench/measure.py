#!/usr/bin/python3
"""measure.py - run one load generator and measure it from the outside.

Usage: measure.py --out RESULT.json [--status HOST:PORT] [--timeout S] -- CMD...

Records, as one JSON object in RESULT.json:
  cpu_user, cpu_sys  whole-process CPU seconds of CMD and every descendant it
                     waited for (os.wait4 rusage);
  maxrss_kib         peak RSS (rusage);
  rss_kib            the largest summed VmRSS of CMD's process tree, sampled
                     every 0.2 s (the memory test's peak);
  rss_settled_kib    the median of those samples over the second half of the
                     run (the memory test's figure: users idle between
                     bursts, once the memory freed after a burst went back);
  requests           requests nginx counted meanwhile (stub_status at
                     --status), so every tool is judged by the same counter;
  wall               seconds CMD ran;
  stdout             what CMD printed.
Loopback only; CMD is killed after --timeout seconds.
"""
import argparse, json, os, signal, socket, subprocess, sys, threading, time


def stub_requests(hostport):
    host, port = hostport.rsplit(':', 1)
    with socket.create_connection((host, int(port)), timeout=2) as s:
        s.sendall(b'GET /nginx_status HTTP/1.0\r\nHost: x\r\n\r\n')
        data = b''
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    # "Active connections: N \nserver accepts handled requests\n A H R \n..."
    lines = data.decode().split('\r\n\r\n', 1)[1].splitlines()
    return int(lines[2].split()[2])


def tree_rss_kib(root):
    kids = {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
        except OSError:
            continue
        kids.setdefault(ppid, []).append(int(d))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(kids.get(pid, []))
        try:
            with open('/proc/%d/status' % pid) as f:
                for line in f:
                    if line.startswith('VmRSS:'):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--status')
    ap.add_argument('--timeout', type=float, default=120)
    ap.add_argument('cmd', nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == '--' else a.cmd
    before = stub_requests(a.status) if a.status else None
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = []
    reader = threading.Thread(target=lambda: out.append(p.stdout.read()))
    reader.start()
    peak = 0
    samples = []
    while True:
        # wait4 (not Popen.poll, which would reap the child and lose its
        # rusage).
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - t0 > a.timeout:
            os.kill(p.pid, signal.SIGKILL)
        rss = tree_rss_kib(p.pid)
        peak = max(peak, rss)
        samples.append((time.monotonic() - t0, rss))
        time.sleep(0.2)
    p.returncode = status
    wall = time.monotonic() - t0
    reader.join()
    after = stub_requests(a.status) if a.status else None
    late = sorted(r for t, r in samples if t >= wall / 2 and r > 0) or [peak]
    res = {
        'cmd': cmd, 'status': status, 'wall': wall,
        'cpu_user': ru.ru_utime, 'cpu_sys': ru.ru_stime, 'maxrss_kib': ru.ru_maxrss,
        'rss_kib': peak,
        'rss_settled_kib': late[len(late) // 2],
        # stub_status counts its own request too
        'requests': (after - before - 1) if before is not None else None,
        'stdout': (out[0] if out else b'').decode(errors='replace'),
    }
    with open(a.out, 'w') as f:
        json.dump(res, f)


if __name__ == '__main__':
    main()

#!/usr/bin/python3
"""instances.py - many sleeping virtual users: mite (mited and its runner
processes) beside a Python asyncio peer, level by level (bench/instances.sh
runs it; see there for the environment).

Each virtual user loops: a transaction around a sleep of SLEEP seconds. For
each level N and each tool, measured from the outside:
  reach_s      seconds from the start command until 99 % of N users are
               alive (mite: `mitectl status`, polled every 0.2 s; the peer
               reports its own count every 0.2 s); "-" when not within LIMIT;
  rss_kib      summed VmRSS of the generator's processes (mite: every
               runner process, not mited's controller) / N, once reached;
  pte_b        summed VmPTE (page tables, not in RSS) / N;
  cpu_us_iter  CPU (user+sys) of those processes per iteration, over HOLD
               seconds once reached;
  iter_s       iterations per second over that window (N / SLEEP asked).
Loopback only (no network at all); every wait is bounded.

  instances.py mite BUILDDIR JOURNEY_SO N        -> one JSON line
  instances.py peer N                            -> one JSON line
  instances.py peer-worker N SLEEP               (the peer itself)
"""
import json, os, signal, subprocess, sys, tempfile, time

SLEEP = float(os.environ.get('SLEEP', '10'))
HOLD = float(os.environ.get('HOLD', '10'))
LIMIT = float(os.environ.get('LIMIT', '30'))
RUNNERS = int(os.environ.get('RUNNERS', '0')) or os.cpu_count() or 1
HZ = os.sysconf('SC_CLK_TCK')


def proc_status(pid, key):
    try:
        with open(f'/proc/{pid}/status') as f:
            for line in f:
                if line.startswith(key + ':'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def proc_cpu(pid):
    try:
        with open(f'/proc/{pid}/stat') as f:
            rest = f.read().rsplit(')', 1)[1].split()
        return (int(rest[11]) + int(rest[12])) / HZ
    except OSError:
        return 0.0


def measure(pids, n, counter):
    """RSS and page tables now, then CPU and iterations over HOLD s."""
    rss = sum(proc_status(p, 'VmRSS') for p in pids)
    pte = sum(proc_status(p, 'VmPTE') for p in pids)
    c0, i0, t0 = sum(proc_cpu(p) for p in pids), counter(), time.monotonic()
    time.sleep(HOLD)
    c1, i1, t1 = sum(proc_cpu(p) for p in pids), counter(), time.monotonic()
    iters = max(i1 - i0, 1)
    return {'rss_kib': round(rss / n, 2), 'pte_b': round(pte * 1024 / n, 1),
            'cpu_us_iter': round((c1 - c0) / iters * 1e6, 2),
            'iter_s': round(iters / (t1 - t0))}


def mite(build, journey, n):
    d = tempfile.mkdtemp(prefix='mite-inst.')
    sock, conf = f'{d}/mited.sock', f'{d}/mited.conf'
    with open(conf, 'w') as f:
        f.write(f'plugin_dirs = [ "{os.path.dirname(journey)}" ];\nrunners = {RUNNERS};\n'
                'grace = 1.0;\nrunner_timeout = 30.0;\nlog_level = "warning";\n')
    scn = f'{d}/s.conf'
    with open(scn, 'w') as f:
        f.write(f'name = "instances"; duration = {LIMIT + HOLD + 10};\n'
                f'config = {{ sleep = "{SLEEP}"; }};\n'
                f'journeys = ( {{ name = "u"; journey = "{journey}:sleeper";\n'
                f'  volume = {{ type = "constant"; count = {n}; }}; }} );\n')
    ctl = [f'{build}/mitectl', '--socket', sock]
    log = open(f'{d}/mited.log', 'w')
    mited = subprocess.Popen([f'{build}/mited', '--config', conf, '--socket', sock,
                              '--state-dir', f'{d}/state'], stdout=log, stderr=log)
    out = {'tool': 'mite', 'n': n}
    try:
        for _ in range(100):
            if subprocess.run(ctl + ['ping'], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        t0 = time.monotonic()
        run = subprocess.run(ctl + ['start', scn], capture_output=True, text=True).stdout.strip()

        def status():
            r = subprocess.run(ctl + ['--json', 'status', run], capture_output=True, text=True)
            try:
                return json.loads(r.stdout)['run']['journeys'][0]
            except (ValueError, KeyError, IndexError):
                return {}

        reach = None
        while time.monotonic() - t0 < LIMIT:
            if status().get('actual', 0) >= 0.99 * n:
                reach = time.monotonic() - t0
                break
            time.sleep(0.2)
        out['reach_s'] = round(reach, 2) if reach is not None else None
        pids = [int(p) for p in subprocess.run(
            ['pgrep', '-f', f'[-]-connect ipc://{d}/'], capture_output=True,
            text=True).stdout.split()]
        out['processes'] = len(pids)
        out.update(measure(pids, n, lambda: status().get('started', 0)))
        out['actual'] = status().get('actual', 0)
        subprocess.run(ctl + ['stop', run, '--now'], capture_output=True)
    finally:
        mited.send_signal(signal.SIGTERM)
        try:
            mited.wait(30)
        except subprocess.TimeoutExpired:
            mited.kill()
            mited.wait()
        subprocess.run(['rm', '-rf', d])
    return out


def peer(n):
    """The asyncio peer, in a process of its own, read from its stdout."""
    p = subprocess.Popen([sys.executable, os.path.abspath(__file__), 'peer-worker', str(n),
                          str(SLEEP)], stdout=subprocess.PIPE, text=True, bufsize=1)
    last = {'active': 0, 'iterations': 0}
    out = {'tool': 'python-asyncio', 'n': n}

    def poll():
        line = p.stdout.readline()
        if line:
            last.update(json.loads(line))
        return last

    try:
        t0 = time.monotonic()
        reach = None
        while time.monotonic() - t0 < LIMIT:
            if poll()['active'] >= 0.99 * n:
                reach = time.monotonic() - t0
                break
        out['reach_s'] = round(reach, 2) if reach is not None else None
        out['processes'] = 1
        # The worker prints every 0.2 s: read on in the background.
        import threading
        threading.Thread(target=lambda: [poll() for _ in iter(int, 1)], daemon=True).start()
        out.update(measure([p.pid], n, lambda: last['iterations']))
        out['actual'] = last['active']
    finally:
        p.kill()
        p.wait()
    return out


def peer_worker(n, sleep):
    """n users, each: a timed sleep, its duration into a log2 histogram (a
    transaction's bookkeeping, as mite records one per iteration)."""
    import asyncio, math
    hist = [0] * 64
    state = {'active': 0, 'iterations': 0}

    async def user():
        state['active'] += 1
        loop = asyncio.get_running_loop()
        while True:
            t = loop.time()
            await asyncio.sleep(sleep)
            hist[int(math.log2(max((loop.time() - t) * 1e6, 1)))] += 1
            state['iterations'] += 1

    async def report():
        while True:
            print(json.dumps(state), flush=True)
            await asyncio.sleep(0.2)

    async def main():
        tasks = [asyncio.create_task(report())]
        for i in range(n):
            tasks.append(asyncio.create_task(user()))
            if i % 8192 == 8191:
                await asyncio.sleep(0)  # let the report and the first users run
        await asyncio.Event().wait()

    asyncio.run(main())


if __name__ == '__main__':
    what = sys.argv[1]
    if what == 'mite':
        print(json.dumps(mite(sys.argv[2], sys.argv[3], int(sys.argv[4]))), flush=True)
    elif what == 'peer':
        print(json.dumps(peer(int(sys.argv[2]))), flush=True)
    elif what == 'peer-worker':
        peer_worker(int(sys.argv[2]), float(sys.argv[3]))
    else:
        sys.exit(__doc__)

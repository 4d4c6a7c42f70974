"""Where the cross-process reaction time goes, from the kernel's side: runs ``bench_reaction_xproc.py``
under ``perf record`` (system calls and scheduler events of the contenders' processes, on CLOCK_MONOTONIC,
the clock the fake stamps with) and splits every measured reaction of each contender into

* frame written -> the contender's ``epoll_wait`` returned (the wake-up: scheduler and vCPU, nothing the
  contender runs),
* ``epoll_wait`` returned -> its last write of the create entered (the work in the contender's process,
  with every system call on the way),
* that write -> the whole request had arrived at the fake (the fake's own wake-up).

Needs Linux ``perf`` and the right to trace other processes (root, or ``kernel.perf_event_paranoid`` <= 1).
Each traced system call costs the contender a microsecond or two; compare contenders within one run.

    python benches/trace_reaction_xproc.py --cascades 150 --variants quiet --contenders floor,liqcore
"""
from __future__ import annotations

import argparse
import bisect
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
EPOLL = {232, 281, 441}  # epoll_wait, epoll_pwait, epoll_pwait2 (x86-64)
WRITES = {1, 20, 44, 46}  # write, writev, sendto, sendmsg
NAMES = {0: "read", 1: "write", 20: "writev", 39: "getpid", 44: "sendto", 45: "recvfrom", 46: "sendmsg",
         228: "clock_gettime", 232: "epoll_wait", 281: "epoll_pwait", 441: "epoll_pwait2"}


def children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if int(Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return out


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def parse(script: str) -> dict[int, list[tuple[float, str, int, int]]]:
    """tid -> [(t_s, 'enter'|'exit'|'sched', syscall nr, return value)] in time order."""
    ev: dict[int, list] = {}
    rx = re.compile(r"^\s*(\d+)\s+([\d.]+):\s+(\S+):\s+(.*)$")
    for ln in script.splitlines():
        m = rx.match(ln)
        if not m:
            continue
        tid, t, name, rest = int(m.group(1)), float(m.group(2)), m.group(3), m.group(4)
        nr = re.search(r"NR (\d+)", rest)
        ret = re.search(r"= (-?\d+)", rest)
        kind = "enter" if name.endswith("sys_enter") else "exit" if name.endswith("sys_exit") else "sched"
        ev.setdefault(tid, []).append((t, kind, int(nr.group(1)) if nr else -1, int(ret.group(1)) if ret else 0))
    return ev


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cascades", type=int, default=150)
    ap.add_argument("--variants", default="quiet")
    ap.add_argument("--contenders", default="floor,liqcore")
    ap.add_argument("--perf", default=shutil.which("perf") or "perf")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="liqcore-trace-"))
    dump, data = tmp / "sends.json", tmp / "perf.data"
    bench = subprocess.Popen([sys.executable, str(HERE / "bench_reaction_xproc.py"), "--cascades", str(a.cascades),
                              "--variants", a.variants, "--contenders", a.contenders, "--dump-sends", str(dump)])
    want = len([c for c in a.contenders.split(",") if c])
    t0 = time.monotonic()
    while len(children(bench.pid)) < want:
        if bench.poll() is not None or time.monotonic() - t0 > 60:
            raise SystemExit("the contenders did not start")
        time.sleep(0.2)
    pids = children(bench.pid)
    perf = subprocess.Popen([a.perf, "record", "-q", "-k", "CLOCK_MONOTONIC", "-e",
                             "sched:sched_switch,sched:sched_wakeup,raw_syscalls:sys_enter,raw_syscalls:sys_exit",
                             "-p", ",".join(map(str, pids)), "-o", str(data)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    rc = bench.wait()
    perf.send_signal(signal.SIGINT)
    err = perf.communicate(timeout=60)[1].decode(errors="replace")
    if rc != 0 or not dump.exists() or not data.exists():
        raise SystemExit(f"bench exit {rc}; perf: {err.strip()[-500:]}")
    script = subprocess.run([a.perf, "script", "-i", str(data), "--ns", "-F", "tid,time,event,trace"],
                            capture_output=True, text=True, check=True).stdout
    ev = parse(script)
    runs = orjson.loads(dump.read_bytes())
    print(f"per measured reaction, p50 (p90) us; {a.cascades} cascades per contender and variant; the traced system "
          f"calls cost each contender about 1-2 us apiece")
    for variant in a.variants.split(","):
        print(f"  [{variant}]")
        for name, run in runs.items():
            v = ev.get(run["pid"], [])
            ts = [x[0] for x in v]
            wake, work, fin, tot, busy, calls = [], [], [], [], 0, {}
            for var, t_ns, rx_ns in run["sends"]:
                if var != variant:
                    continue
                t, r = t_ns / 1e9, rx_ns / 1e9
                w = v[bisect.bisect_left(ts, t):bisect.bisect_left(ts, r)]
                ep = next((x for x in w if x[1] == "exit" and x[2] in EPOLL and x[3] > 0), None)
                wr = [x for x in w if x[1] == "enter" and x[2] in WRITES]
                if not wr:
                    continue
                if ep is None or ep[0] > wr[-1][0]:
                    busy += 1  # running when the frame was written: no wake-up to split off
                    continue
                wake.append((ep[0] - t) * 1e6)
                work.append((wr[-1][0] - ep[0]) * 1e6)
                fin.append((r - wr[-1][0]) * 1e6)
                tot.append((r - t) * 1e6)
                for x in w:
                    if x[1] == "enter" and ep[0] < x[0] <= wr[-1][0]:
                        calls[x[2]] = calls.get(x[2], 0) + 1
            if not tot:
                print(f"    {name:13s} no traced reactions")
                continue
            n = len(tot)
            sc = ", ".join(f"{NAMES.get(k, k)} {c / n:.1f}" for k, c in sorted(calls.items(), key=lambda kv: -kv[1]))
            print(f"    {name:13s} n={n:3d} (+{busy} running when written)  total {pct(tot, .5):6.1f} ({pct(tot, .9):6.1f})"
                  f" = wake-up {pct(wake, .5):6.1f} ({pct(wake, .9):6.1f}) + work {pct(work, .5):6.1f} "
                  f"({pct(work, .9):6.1f}) + fake's wake-up {pct(fin, .5):6.1f} ({pct(fin, .9):6.1f})")
            print(f"    {'':13s} system calls between wake-up and the create's write, per reaction: {sc}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

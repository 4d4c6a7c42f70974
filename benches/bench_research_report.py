"""Wall and CPU time of ``liqcore research --synthetic`` (30 days x 5 symbols, every study, the report).

    python benches/bench_research_report.py --runs 3 [--days 30] [--report DIR]

The first (warm-up) run fills the synthetic-market and Numba caches; the timed runs are warm.  The
bar: <= 60 s warm.  CPU time (user + sys of the child) is printed beside wall time: on a shared
machine the wall clock also counts time spent waiting for a core.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time


def one(days: float, report: str) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "liqcore", "research", "--synthetic", "--days", str(days),
                        "--report", report, "--no-progress"], capture_output=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit(p.stderr.decode()[-3000:])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--report", default=None)
    a = ap.parse_args()
    report = a.report or tempfile.mkdtemp(prefix="liqcore-report-")
    print(f"load average {os.getloadavg()[0]:.1f}; warm-up run ...", flush=True)
    w, c = one(a.days, report)
    print(f"  warm-up: wall {w:.1f} s, cpu {c:.1f} s")
    walls, cpus = [], []
    for i in range(a.runs):
        w, c = one(a.days, report)
        walls.append(w)
        cpus.append(c)
        print(f"  run {i + 1}: wall {w:.1f} s, cpu {c:.1f} s (load {os.getloadavg()[0]:.1f})", flush=True)
    print(f"liqcore research --synthetic --days {a.days:g}: median wall {statistics.median(walls):.1f} s, "
          f"median cpu {statistics.median(cpus):.1f} s (bar <= 60 s warm); report in {report}")


if __name__ == "__main__":
    main()

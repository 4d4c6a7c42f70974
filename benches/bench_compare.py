"""Bench: ``liqcore compare --synthetic`` (every strategy x 30 days x 5 symbols, on the default and the
null market), warm: the markets in the cache and the Numba kernels compiled by a first run.

    python benches/bench_compare.py [--runs 3] [--days 30]

Runs this checkout's CLI (``python -m liqcore`` from the repository root) as a subprocess, once to
warm up and then ``--runs`` times; prints each wall time, the best and the median, the 1-minute
load average before each run, and the command.  The bar: <= 60 s warm.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--days", type=float, default=30.0)
    args = ap.parse_args()
    cmd = [sys.executable, "-m", "liqcore", "compare", "--synthetic", "--days", f"{args.days:g}", "--no-progress",
           "--json"]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    shown = "liqcore compare --synthetic" + ("" if args.days == 30 else f" --days {args.days:g}")
    t = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    print(f"warm-up (markets generated or read from the cache, kernels compiled): {time.perf_counter() - t:.1f} s")
    times, loads = [], []
    for i in range(args.runs):
        loads.append(os.getloadavg()[0])
        t = time.perf_counter()
        out = subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True).stdout
        times.append(time.perf_counter() - t)
        import json

        doc = json.loads(out)
        n_rows = sum(len(m["rows"]) for m in doc["markets"].values())
        print(f"run {i + 1}: {times[-1]:.1f} s (load average {loads[-1]:.2f}; {len(doc['strategies'])} strategies, "
              f"{len(doc['markets'])} markets, {n_rows} rows; in-process {doc['seconds']:.1f} s)")
    print(f"\n`{shown}` warm: best {min(times):.1f} s, median {statistics.median(times):.1f} s over {args.runs} runs "
          f"(load average {min(loads):.2f}..{max(loads):.2f}, {os.cpu_count()} CPUs); bar <= 60 s: "
          f"{'met' if statistics.median(times) <= 60 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`liqcore demo` wall time, fresh and warm, in one run.

    python benches/bench_demo.py [--runs 3]

fresh: an empty Numba cache (NUMBA_CACHE_DIR in a new temp dir: every kernel compiles) and an empty
market cache (the 30-day x 5-symbol market is generated); warm: the same caches, second and later
runs.  Budgets: fresh <= 30 s, warm <= 10 s; the ratio printed is measured / budget.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_demo(env, tmp: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds user+sys of the child)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "liqcore", "demo", "--no-progress", "--report", str(tmp / "report"),
                    "--cache-dir", str(tmp / "market")], env=env, cwd=tmp, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3, help="warm runs")
    args = ap.parse_args()
    fresh, warm = [], []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp / "numba"), PYTHONPATH=str(ROOT))
        fresh.append(run_demo(env, tmp))
        for _ in range(args.runs):
            warm.append(run_demo(env, tmp))
    f, fc = fresh[0]
    w = statistics.median(x[0] for x in warm)
    wc = statistics.median(x[1] for x in warm)
    print(f"demo fresh (compile + generate): wall {f:.2f}s, CPU {fc:.2f}s  (budget 30 s, wall ratio {f / 30:.2f})")
    print(f"demo warm  (caches): wall median {w:.2f}s, CPU median {wc:.2f}s over {len(warm)} runs "
          f"({', '.join(f'{x[0]:.2f}' for x in warm)}) (budget 10 s, wall ratio {w / 10:.2f})")
    print("(wall >> CPU means the shared machine was busy: the process waited for a core)")


if __name__ == "__main__":
    main()

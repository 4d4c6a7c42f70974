"""Import cost of ``import liqcore`` against ``import numpy`` alone, measured in this run.

Each figure is the median wall time of N fresh interpreters (``python -c "import X"``, interleaved);
the bare-interpreter start-up is printed too, so differences can be read off; plus the
``-X importtime`` cumulative time of the top-level package (median of N runs).

    python benches/bench_import.py [--runs 10]
"""
from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def wall_ms(codes: dict[str, str], runs: int) -> dict[str, float]:
    """Median wall ms per snippet; the snippets are interleaved round by round so that load drift
    on a shared machine hits all of them alike."""
    times: dict[str, list[float]] = {k: [] for k in codes}
    for _ in range(runs):
        for name, code in codes.items():
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
            times[name].append((time.perf_counter() - t0) * 1e3)
    return {k: statistics.median(v) for k, v in times.items()}


def importtime_ms(module: str, runs: int) -> float:
    """Median over ``runs`` of the cumulative time of ``module`` reported by ``-X importtime``."""
    return statistics.median(_importtime_us(module) for _ in range(runs)) / 1e3


def _importtime_us(module: str) -> int:
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stderr
    for line in out.splitlines():
        m = re.match(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|\s*(\S+)\s*$", line)
        if m and m.group(3) == module:
            return int(m.group(2))
    return -1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    w = wall_ms(
        {
            "bare": "pass",
            "numpy": "import numpy",
            "liqcore": "import liqcore",
            "kernels": "from liqcore import RollingQuantile, TimeWindow, RollingZScore",
        },
        args.runs,
    )
    bare, np_ms, lq_ms, kern_ms = w["bare"], w["numpy"], w["liqcore"], w["kernels"]
    print(f"subprocess wall time, median of {args.runs} runs")
    print(f"  python -c pass                    {bare:8.1f} ms")
    print(f"  import numpy                      {np_ms:8.1f} ms   (+{np_ms - bare:.1f} over bare)")
    print(f"  import liqcore                    {lq_ms:8.1f} ms   (+{lq_ms - np_ms:.1f} over numpy)")
    print(f"  from liqcore import <3 kernels>   {kern_ms:8.1f} ms   (+{kern_ms - np_ms:.1f} over numpy)")
    print(f"  ratio liqcore / numpy             {lq_ms / np_ms:8.2f}x")
    print(f"-X importtime cumulative, median of {args.runs} runs")
    print(f"  numpy    {importtime_ms('numpy', args.runs):8.1f} ms")
    print(f"  liqcore  {importtime_ms('liqcore', args.runs):8.1f} ms  (includes numpy)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

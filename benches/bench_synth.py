"""Synthetic market generation speed.

* 30 days x 5 symbols: compile-from-scratch (fresh NUMBA_CACHE_DIR, in a subprocess), from the
  Numba cache (subprocess), and warm in-process (median of runs); events per second.
* Loading the same market from the liqcore npz cache.
* The kernel vs its pure-Python twin (pysrc/synth.py) on a 1-hour ETHUSDT horizon, same uniforms:
  medians and the ratio (the baseline is measured in this same run).
* Rendering Bybit wire frames (frames per second).

    python benches/bench_synth.py [--runs 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_CHILD = """
import time
t0 = time.perf_counter()
from liqcore.synthetic.market import synthetic_market
m = synthetic_market(days=30, cache=False)
print(time.perf_counter() - t0, len(m.events))
"""


def child(env_extra: dict) -> tuple[float, int]:
    env = dict(os.environ, **env_extra)
    out = subprocess.run([sys.executable, "-c", _CHILD], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    secs, n = out.stdout.split()
    return float(secs), int(n)


def median_time(fn, runs: int) -> float:
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()

    import numpy as np

    from liqcore.synthetic import market as S
    from pysrc import synth as T

    with tempfile.TemporaryDirectory() as d:
        cold, n_ev = child({"NUMBA_CACHE_DIR": d})
        cached, _ = child({"NUMBA_CACHE_DIR": d})
    print(f"30 d x 5 symbols: {n_ev:,} events")
    print(f"  compile + generate (empty numba cache, subprocess): {cold:.2f} s")
    print(f"  generate with numba cache (subprocess, incl. import): {cached:.2f} s")

    S.synthetic_market(days=30, cache=False)  # warm
    warm = median_time(lambda: S.synthetic_market(days=30, cache=False), a.runs)
    print(f"  warm in-process (median of {a.runs}): {warm:.2f} s  = {n_ev / warm / 1e6:.2f} M events/s")

    with tempfile.TemporaryDirectory() as d:
        S.synthetic_market(days=30, cache_dir=d)
        load = median_time(lambda: S.synthetic_market(days=30, cache_dir=d), a.runs)
    print(f"  load from the npz cache (median of {a.runs}): {load:.2f} s")

    # kernel vs twin, 1 hour of ETHUSDT, same uniform pool
    from liqcore._jit import synth as K

    p = S.build_params("ETHUSDT", 1 / 24)
    u = S.uniforms(7, "ETHUSDT", 400_000)
    cap, max_ep = 100_000, 1000

    def kernel():
        cols = (np.empty(cap, np.int64), np.empty(cap, np.float64), np.empty(cap, np.float64),
                np.empty(cap, np.int8), np.empty(cap, np.int8), np.empty(cap, np.int32))
        eps = (np.empty(max_ep, np.int64), np.empty(max_ep, np.int64), np.empty(max_ep, np.int8),
               np.empty(max_ep, np.int8), np.empty(max_ep, np.float64), np.empty(max_ep, np.int32),
               np.empty(max_ep, np.float64))
        return K.simulate_symbol(p, u, *cols, *eps, np.zeros(0), np.zeros(0, np.int8), *(np.zeros(0),) * 3,
                                 np.zeros(K.STATE_LEN))

    status, n_rows, _ne, _used = kernel()
    assert status == K.OK
    t_kernel = median_time(kernel, max(a.runs, 20))
    t_twin = median_time(lambda: T.simulate_symbol(p, u, cap, max_ep), a.runs)
    print(f"1 h ETHUSDT ({n_rows} events): kernel {t_kernel * 1e3:.2f} ms, pysrc twin {t_twin * 1e3:.1f} ms, "
          f"ratio {t_twin / t_kernel:.0f}x")

    day = S.synthetic_market(days=1, cache=False)
    t = time.perf_counter()
    nf = sum(1 for _ in day.frames("bybit"))
    dt = time.perf_counter() - t
    print(f"Bybit frames for 1 day x 5 symbols: {nf:,} frames in {dt:.2f} s = {nf / dt / 1e3:.0f} k frames/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

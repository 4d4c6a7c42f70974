"""`liqcore journal DB --recording DIR --explain` on a one-day paper session: bar <= 10 s.

    python benches/bench_explain.py [--runs 3] [--days 1] [--symbols BTCUSDT,ETHUSDT,SOLUSDT,XRPUSDT,DOGEUSDT]

The session is made the way a user makes one: `liqcore run --replay synthetic --replay-days 1 --speed 0
--journal J --record DIR` paper-trades a synthetic day of the default market (five symbols) through the
local fake exchange, journaling every decision, order and fill, and recording every frame it received.
Then, in fresh processes each time (interpreter start, import and the Numba cache included, as a user
runs it), alternating in the same run:

* ``explain``: `liqcore journal J --recording DIR --explain --json` (the recording replayed through the
  backtest with the session's parameters, every order lined up, the pnl gap decomposed);
* baseline ``model``: `liqcore journal J --recording DIR --json` (the checklist with the live fills beside
  the model's: the same replay without the order-by-order explanation);
* baseline ``journal``: `liqcore journal J --json` (the checklist alone, no replay).

Wall and CPU (user + sys of the child) medians are printed; on a shared machine wall >> CPU means the
process waited for a core.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BAR_S = 10.0


def _timed(argv, env, cwd) -> tuple[float, float, bytes]:
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "liqcore", *argv], env=env, cwd=cwd, capture_output=True)
    wall = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit(f"liqcore {' '.join(argv)} failed: {p.stderr.decode()[-2000:]}")
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), p.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--days", type=float, default=1.0)
    ap.add_argument("--symbols", default="BTCUSDT,ETHUSDT,SOLUSDT,XRPUSDT,DOGEUSDT")
    args = ap.parse_args()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory(prefix="bench-explain-") as d:
        tmp = Path(d)
        env["LIQCORE_CACHE_DIR"] = str(tmp / "cache")
        wall, cpu, out = _timed(["run", "--symbols", args.symbols, "--replay", "synthetic", "--replay-days",
                                 str(args.days), "--speed", "0", "--no-dashboard", "--journal", "j.sqlite", "--record",
                                 "rec", "--exits", "engine", "--json"], env, tmp)
        s = json.loads(out)
        rec = sorted((tmp / "rec").iterdir())
        size = sum(f.stat().st_size for f in rec)
        print(f"session: paper, {args.days:g} day(s) of the synthetic market, {args.symbols}: {s['cascades']} cascades, "
              f"{s['orders']} orders, {len(s['trades'])} trades; recording {len(rec)} files, {size / 1e6:.1f} MB "
              f"(made in {wall:.1f} s wall, {cpu:.1f} s CPU)")
        variants = {"explain": ["journal", "j.sqlite", "--recording", "rec", "--explain", "--json"],
                    "model": ["journal", "j.sqlite", "--recording", "rec", "--json"],
                    "journal": ["journal", "j.sqlite", "--json"]}
        times: dict[str, list[tuple[float, float]]] = {k: [] for k in variants}
        _timed(variants["explain"], env, tmp)  # (the Numba cache of this checkout: warm, as a user's second run)
        rep = None
        for _ in range(args.runs):
            for k, argv in variants.items():
                w, c, o = _timed(argv, env, tmp)
                times[k].append((w, c))
                if k == "explain":
                    rep = json.loads(o)
    ex = rep["explain"]
    print(f"explain: {len(ex['orders'])} orders ({ex['counts']['both']} both, {ex['counts']['live_only']} live only, "
          f"{ex['counts']['backtest_only']} backtest only, {ex['counts']['neither']} neither); gap "
          f"{ex['pnl']['gap']:+.2f} USD = " + ", ".join(f"{k} {v:+.2f}" for k, v in ex["components"].items()))
    for k, xs in times.items():
        w = statistics.median(x[0] for x in xs)
        c = statistics.median(x[1] for x in xs)
        bar = f" (bar {BAR_S:g} s: {'met' if w <= BAR_S else 'NOT met'}, ratio {w / BAR_S:.2f})" if k == "explain" else ""
        print(f"{k:8s} wall median {w:.2f} s, CPU median {c:.2f} s over {len(xs)} runs "
              f"({', '.join(f'{x[0]:.2f}' for x in xs)}){bar}")
    e = statistics.median(x[0] for x in times["explain"])
    m = statistics.median(x[0] for x in times["model"])
    print(f"explain / model (same replay, without the explanation): x{e / m:.2f}")
    print(f"load average: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

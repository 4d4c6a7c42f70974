"""Calibrate the synthetic market to the trading guide through the real cascade detector.

For each symbol, three knobs are fitted by fixed-point iteration, averaging over calibration seeds
(NOT the default seed 7 that the tests check):

* the notional ``scale``  -> the median P95 threshold the detector uses (linear in the scale);
* the shock rate ``mu_s`` -> detector cascades per day;
* the cascade kernel decay ``beta_c`` -> mean detector cascade duration (about inversely).

Nothing here looks at trades, fills or strategy PnL.  The script prints the ratios to store in
``liqcore.synthetic.market.SYMBOL_SPECS`` (scale_ratio, shock_ratio, beta_ratio) and the measured
statistics.

    python benches/calibrate_synth.py [--days 30] [--rounds 6] [--seeds 101,102,103]
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from liqcore.synthetic import market as S  # noqa: E402


def measure(symbol: str, days: float, seeds, overrides: dict) -> dict:
    stats = []
    for seed in seeds:
        m = S.synthetic_market(days=days, symbols=(symbol,), seed=seed, cache=False, overrides=overrides)
        stats.append(S.cascade_stats(m)[symbol])
    return {k: float(np.nanmean([s[k] for s in stats])) for k in stats[0]}


def calibrate(symbol: str, days: float, rounds: int, seeds) -> tuple[dict, dict]:
    spec = S._spec(symbol)
    base = S.build_params(symbol, days)
    from liqcore._jit.synth import PARAM_NAMES

    p = dict(zip(PARAM_NAMES, map(float, base)))
    knobs = {"scale": p["scale"], "mu_s": p["mu_s"], "beta_c": p["beta_c"]}
    st = {}
    for _ in range(rounds):
        st = measure(symbol, days, seeds, knobs)
        # damped (square-root) steps: the P95 also moves with the share of cascade liquidations
        knobs["scale"] *= math.sqrt(spec.p95 / st["p95_median"])
        knobs["mu_s"] *= math.sqrt(spec.cascades_per_day / st["cascades_per_day"])
        knobs["beta_c"] *= math.sqrt(st["mean_duration_s"] / spec.duration_s)
    st = measure(symbol, days, seeds, knobs)
    ratios = {
        "scale_ratio": knobs["scale"] / spec.p95,
        "shock_ratio": knobs["mu_s"] * 86400.0 / spec.cascades_per_day,
        "beta_ratio": 1.0 / (knobs["beta_c"] * spec.duration_s * 0.6),
    }
    return ratios, st


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--seeds", default="101,102,103")
    ap.add_argument("--symbols", default=",".join(S.SYMBOL_SPECS))
    a = ap.parse_args()
    seeds = [int(x) for x in a.seeds.split(",")]
    t0 = time.perf_counter()
    for sym in a.symbols.split(","):
        spec = S._spec(sym)
        # start from the uncalibrated model so the fit does not depend on the stored ratios
        S.SYMBOL_SPECS[sym] = S.SymbolSpec(*[getattr(spec, f) for f in
                                             ("price", "price_dec", "qty_dec", "daily_vol", "p95",
                                              "cascades_per_day", "duration_s", "bg_per_day",
                                              "trade_rate", "trade_med")])
        ratios, st = calibrate(sym, a.days, a.rounds, seeds)
        print(f"{sym}: " + ", ".join(f"{k}={v:.4f}" for k, v in ratios.items()))
        print(f"    cascades/day {st['cascades_per_day']:.2f} (target {spec.cascades_per_day}), "
              f"mean duration {st['mean_duration_s']:.1f} s (target {spec.duration_s}), "
              f"P95 {st['p95_median']:.0f} (target {spec.p95:.0f}), long share {st['long_share']:.2f}, "
              f"liquidations/day {st['liquidations_per_day']:.0f}")
        if not all(math.isfinite(v) for v in ratios.values()):
            print("    calibration failed (no cascades?)")
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

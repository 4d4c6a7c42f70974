"""Streaming strategies: per-event cost of each strategy's stream (``Strategy.stream``,
``on_event`` once per event) against its batch form (``Strategy.signals`` over the whole array),
per event, in the same run on the same market.

    python benches/bench_streams.py [--days 1] [--symbols BTCUSDT,ETHUSDT,SOLUSDT] [--repeat 3]

For each strategy: ``batch`` = wall time of ``signals(events, ...)`` / events (median of the
repeats, warm: a first call compiles and fills caches); ``stream`` = wall time of a fresh stream fed
every event / events (median of the repeats) -- the whole cost a live engine pays per event;
``p50`` / ``p99`` / ``max`` = the distribution of single ``on_event`` calls (one timed pass; bar
closes and delayed decisions are the tail).  Detection is outside both: the detector's records are
computed once and handed in (the batch form) or per event (the stream form) from a list, as the
live engine's detector does.  Strategies run with their defaults except ``--params NAME:K=V,...``.
The market is the synthetic one (seed 7; cached, see ``liqcore cache``).  Prints a markdown table.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NAMES = ["cascade-mm", "cascade-fade", "imbalance-reversal", "zone-bounce", "vol-breakout", "liq-trend",
         "cascade-score", "flush-reversal-rule"]


def per_event_records(ev, params):
    from liqcore._libs.detection import CascadeDetector

    det = CascadeDetector.from_params(params)
    out = []
    for e in ev:
        k = det.update(int(e["ts_event"]), int(e["ts_recv"]), int(e["symbol_id"]), int(e["venue"]), int(e["kind"]),
                       int(e["side"]), float(e["price"]), float(e["qty"]))
        out.append(det.last_records() if k else ())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=float, default=1.0)
    ap.add_argument("--symbols", default="BTCUSDT,ETHUSDT,SOLUSDT")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated strategy names")
    args = ap.parse_args()

    import liqcore
    from liqcore.backtest.run import detect, prepare_events
    from liqcore.synthetic.market import synthetic_market
    from liqcore.config import Params
    from liqcore.strategies import get_strategy
    from liqcore.strategies.catalog import register_seven

    assert Path(liqcore.__file__).resolve().is_relative_to(ROOT), liqcore.__file__
    register_seven()
    m = synthetic_market(days=args.days, seed=7, symbols=tuple(args.symbols.split(",")))
    ev = prepare_events(m.events)
    rows = list(ev)  # np.void rows, as a live engine hands them over
    reg = m.registry
    n = len(ev)
    print(f"market: {args.days:g} day(s) x {len(reg)} symbols, {n:,} events; repeat {args.repeat}\n")
    print("| strategy | signals | batch ns/event | stream ns/event | stream/batch | on_event p50 | p99 | max |")
    print("|---|---|---|---|---|---|---|---|")
    names = args.only.split(",") if args.only else NAMES
    rec_cache: dict = {}
    for name in names:
        cls = get_strategy(name)
        obj = cls()
        p = cls.resolve(Params())
        rec = per = None
        if cls.uses_detector:
            if "rec" not in rec_cache:
                rec_cache["rec"] = detect(ev, p)[0]
                rec_cache["per"] = per_event_records(ev, p)
            rec, per = rec_cache["rec"], rec_cache["per"]
        empty = ()
        obj.signals(ev, p, reg, rec)  # warm
        tb = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            sig = obj.signals(ev, p, reg, rec)
            tb.append(time.perf_counter() - t)
        ts = []
        for _ in range(args.repeat):
            s = obj.stream(p, reg)
            on = s.on_event
            t = time.perf_counter()
            if per is None:
                for e in rows:
                    on(e, empty)
            else:
                for e, r in zip(rows, per):
                    on(e, r)
            ts.append(time.perf_counter() - t)
        s = obj.stream(p, reg)
        on = s.on_event
        lat = np.empty(n, np.int64)
        clk = time.perf_counter_ns
        for i, e in enumerate(rows):
            r = per[i] if per is not None else empty
            t = clk()
            on(e, r)
            lat[i] = clk() - t
        b, st = statistics.median(tb) / n * 1e9, statistics.median(ts) / n * 1e9
        print(f"| {name} | {len(sig)} | {b:,.0f} | {st:,.0f} | {st / b:,.0f}x | {np.percentile(lat, 50):,.0f} | "
              f"{np.percentile(lat, 99):,.0f} | {lat.max() / 1e3:,.0f} µs |", flush=True)


if __name__ == "__main__":
    main()

"""Per-frame cost of the silent-stream watch on the receive path (``liqcore.live.silence``).

The feed manager hands each frame to ``on_frame(payload, recv_ns)``: without the watch that is
``functools.partial(engine.on_frame, venue)`` (no Python frame between); with it, the venue's handler
(:func:`liqcore.live.silence.watch_handler`) that stores the frame's stream key first, in one compiled call
(``liqcore.venues._scan.StreamKeys``), or, column ``inline``, with the handler's pure-Python code (the stamp
before it was compiled).  This measures the three around a callback that does nothing, per venue, on real frame
shapes (``venues/<venue>/samples``), so the differences are the watch's own cost.  Runs alternated; median of
``--repeat`` runs of ``--n`` frames, ns per frame.

    python benches/bench_stream_watch.py [--n 200000] [--repeat 5]
"""
from __future__ import annotations

import argparse
import functools
import statistics
import time

import orjson

from liqcore.live.silence import watch_handler
from liqcore.testing.fake_replay import trade_frame as bybit_trade
from liqcore.venues.binance import samples as bn
from liqcore.venues.okx import samples as ok

FRAMES = {
    "bybit": orjson.dumps(bybit_trade("ETHUSDT", 3000.0, 0.5)),
    "binance": bn.agg_trade_frame("ETHUSDT", 1_700_000_000_000, 0.5, 3000.0),
    "binance-combined": bn.book_ticker_frame("ETHUSDT", 1_700_000_000_000, 2999.9, 1.0, 3000.0, 1.0, stream=True),
    "okx": ok.trade_frame("ETH-USDT-SWAP", 1_700_000_000_000, 1.0, 3000.0),
}


def _sink(venue, payload, recv_ns):
    return None


def _per_frame_ns(handler, frame: bytes, n: int) -> float:
    t0 = time.perf_counter_ns()
    for i in range(n):
        handler(frame, i)
    return (time.perf_counter_ns() - t0) / n


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args(argv)
    import os

    from liqcore.venues import decoder

    print(f"{'frames':18} {'without ns/frame':>17} {'with ns/frame':>14} {'watch ns/frame':>15} {'inline watch':>13}   "
          f"(median of {a.repeat} alternated runs of {a.n:,} frames; load {os.getloadavg()[0]:.1f})")
    for name, frame in FRAMES.items():
        venue = name.split("-")[0]
        plain = functools.partial(_sink, venue)
        watched = watch_handler(venue, {}, _sink, venue)
        compiled = decoder.stream_stamp
        decoder.stream_stamp = lambda venue, last: None  # the handler's pure-Python stamp
        try:
            inline = watch_handler(venue, {}, _sink, venue)
        finally:
            decoder.stream_stamp = compiled
        wo, wi, wp = [], [], []
        for _ in range(a.repeat):
            wo.append(_per_frame_ns(plain, frame, a.n))
            wi.append(_per_frame_ns(watched, frame, a.n))
            wp.append(_per_frame_ns(inline, frame, a.n))
        m0, m1, m2 = statistics.median(wo), statistics.median(wi), statistics.median(wp)
        print(f"{name:18} {m0:17.0f} {m1:14.0f} {m1 - m0:15.0f} {m2 - m0:13.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

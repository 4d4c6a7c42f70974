"""The web dashboard's view at whole-market scale: the time to take the view of a paper engine trading N symbols
(default 400, each with an hour of liquidations and trades), and the bytes one page's push carries.

Contenders, same engine, same run: the view with every symbol's row made whole (the baseline: what the page
received before it was paged), one page open (25 rows whole, the rest ranked by their anomaly alone), and no page
open (the view kept current between pages).  The view is taken on the runner's event loop 4 times a second, so
its time is time the loop does not read frames.

    python benches/bench_web_view.py [--symbols 400] [--n 50]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's liqcore, not an installed one


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--symbols", type=int, default=400)
    ap.add_argument("--n", type=int, default=50, help="views taken per contender (default 50)")
    args = ap.parse_args()
    import orjson

    from liqcore.config import Params
    from liqcore.live import views
    from liqcore.live.engine import Engine
    from liqcore.live.web import _DUMPS, LiveView
    from liqcore.live.web_rank import page_view
    from liqcore.testing.fake_replay import liquidation_frame, trade_frame

    syms = [f"Z{i:03d}USDT" for i in range(args.symbols)]
    eng = Engine(Params(), symbols=syms)
    lv = LiveView(types.SimpleNamespace(engine=eng, snapshot=lambda symbols=None: views.snapshot(eng, symbols)))
    now = time.time()
    for k in range(12, -1, -1):  # an hour: a liquidation and three trades per symbol every 5 minutes
        for i, s in enumerate(syms):
            t = int((now - k * 300 + i * 0.01) * 1000)
            eng.on_frame("bybit", orjson.dumps(liquidation_frame(s, 10.0, 100 + (i * k) % 13, "Buy", t)), t * 10**6)
            for j in range(3):
                eng.on_frame("bybit", orjson.dumps(trade_frame(s, 10.0 + j * 0.01, 1, "Buy", t + j)), (t + j) * 10**6)
    load0 = os.getloadavg()[0]
    res = {}
    for pages, name in ((None, "every row whole (baseline)"), ([{}], "one page open"), ([], "no page open")):
        for _ in range(3):
            lv(pages=pages)
        xs = []
        for _ in range(args.n):
            t0 = time.perf_counter()
            v = lv(pages=pages)
            xs.append((time.perf_counter() - t0) * 1e3)
        size = len(orjson.dumps(page_view(v, {}), option=_DUMPS))
        res[name] = statistics.median(xs)
        print(f"  {name:28s} view median {res[name]:6.2f} ms (of {args.n}), one page's push {size / 1e3:5.1f} kB")
    whole = lv(pages=None)
    full = orjson.dumps(dict(whole, history=dict(whole["history"], prices=dict(whole["history"]["prices"]))),
                        option=_DUMPS)
    print(f"  the whole view (every row, every symbol's price line) would be {len(full) / 1e3:.1f} kB a push")
    print(f"  {args.symbols} symbols; one page open / every row whole x{res['one page open'] / res['every row whole (baseline)']:.2f}; "
          f"load average {load0:.2f} -> {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

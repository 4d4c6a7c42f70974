"""The live engine with ``liq-trend`` and data on demand: symbols with no trade history get the venue's REST klines
(a local server on 127.0.0.1 laid out as Bybit documents ``/v5/market/kline``, newest first, one malformed row) for
the candle look-back, and the judge of the signal sees the candle check made on them; a symbol the venue has no
klines for is decided on its trades alone (none here: not aligned, not asked) and says so.  Bounded waits only."""
from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from liqcore.config import Params
from liqcore.live.engine import Engine
from liqcore.live.ondemand import OnDemand
from liqcore.strategies.liq_trend import LiqTrend
from liqcore.testing.fake_replay import liquidation_frame, trade_frame
from tests.market._venues import Server, _klines_app, kline_rows

pytestmark = pytest.mark.timeout(60)

SYMS = ["ETHUSDT", "SOLUSDT"]
PX = {"ETHUSDT": 3000.0, "SOLUSDT": 150.0}


def _frames(t0_ms: int):
    """Liquidations only for five minutes (no trade), a burst of long liquidations in the sixth (a strong short at
    the close t0 + 6 min), then one trade after the close revealing it."""
    out = []
    for m in range(5):
        for s in SYMS:
            p, q = PX[s], (100.0 if m % 2 == 0 else 200.0) / PX[s]
            out.append((t0_ms + m * 60_000 + 10_000, liquidation_frame(s, p, q / 2, "Buy", t0_ms + m * 60_000 + 10_000)))
            out.append((t0_ms + m * 60_000 + 20_000, liquidation_frame(s, p, q / 2, "Sell", t0_ms + m * 60_000 + 20_000)))
    for s in SYMS:
        out.append((t0_ms + 5 * 60_000 + 10_000, liquidation_frame(s, PX[s], 1000.0 / PX[s], "Buy", t0_ms + 5 * 60_000 + 10_000)))
        out.append((t0_ms + 6 * 60_000 + 1_000, trade_frame(s, PX[s] * 0.99, 1, "Sell", t0_ms + 6 * 60_000 + 1_000)))
    out.sort(key=lambda x: x[0])
    return out


def test_a_symbol_with_no_trade_history_is_judged_on_the_venues_klines():
    asked = {}

    def judge(ctx):
        asked[ctx["symbol"]] = dict(ctx)
        return None  # enter, at the matrix's confidence

    params = Params.from_mapping({"strategy": "liq-trend", "segment": "1m", "baseline": 5, "candle-lookback": "3m"})
    strat = LiqTrend(judge=judge, judge_timeout=5.0)
    eng = Engine(params, symbols=SYMS, equity=10_000.0, strategy=strat)
    now_ms = time.time_ns() // 1_000_000
    t0_ms = now_ms // 60_000 * 60_000 - 8 * 60_000
    close_ns = (t0_ms + 6 * 60_000) * 1_000_000
    rows = kline_rows(t0_ms, 9, price0=3100.0, step=-5.0)  # ETH falling: a short aligns (SOL: none served)

    async def fetch():
        with Server(_klines_app("bybit", {"ETHUSDT": rows})) as srv:
            od = OnDemand("bybit", SYMS, rest_url=srv.url)
            # (as when they are subscribed: the look-back's span ends at the time asked, here the close)
            await asyncio.wait_for(asyncio.gather(*od.fill_candles(eng, SYMS, close_ns)), 30)
            return od

    try:
        od = asyncio.run(fetch())
        assert od.klines == {"asked": 2, "answered": 1, "failed": 1, "candles": 4, "dropped": 1}
        last = 0
        for ts_ms, frame in _frames(t0_ms):
            eng.on_frame("bybit", orjson.dumps(frame), ts_ms * 1_000_000)
            last = ts_ms * 1_000_000
        deadline = time.monotonic() + 30
        while (strat.runner.pending or not asked) and time.monotonic() < deadline:
            time.sleep(0.05)
            eng.on_clock(last + 1)
        # ETH: the candles opened at close-3m .. close (their points in (close-3m, close]): the close of the
        # candle opened at close-3m to the open of the one opened at close
        by_open = {r[0] * 1_000_000: r for r in rows}
        first = by_open[close_ns - 3 * 60_000_000_000][4]
        end = by_open[close_ns][1]
        ctx = asked["ETHUSDT"]
        assert ctx["candle_source"] == "klines" and ctx["price_change"] == pytest.approx(end - first) and end < first
        assert ctx["direction"] == -1 and ctx["aligned"]
        assert "SOLUSDT" not in asked  # (its candle check found nothing: not aligned, never judged)
        sol = [v for (sid, ts), v in strat._inputs.items() if eng.registry.symbol(sid) == "SOLUSDT" and ts == close_ns]
        assert sol and sol[0]["candle_source"] == "klines failed" and not sol[0]["aligned"]
        orders = [d for d in eng.decisions if d.action == "order"]
        assert [d.symbol for d in orders] == ["ETHUSDT"] and orders[0].dominant == "short"
    finally:
        strat.runner.close()

"""Candles before a symbol's first trade: a symbol subscribed on demand has no trades for ``liq-trend``'s candle
look-back, so the on-demand manager asks the venue's REST klines (a local server on 127.0.0.1 laid out as Binance
documents ``/fapi/v1/klines``) in a task, and the strategy's stream checks the look-back on those candles (the
first candle's open to the last close); a decision taken before they arrive says "klines pending"."""
from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import numpy as np

from liqcore.config import Params
from liqcore.live.ondemand import OnDemand
from liqcore.market.klines import KLINE_DTYPE
from liqcore.strategies import get_strategy
from liqcore.strategies.catalog import register_seven
from liqcore.strategies.liq_trend import SKIP_STRONG_NOT_ALIGNED
from liqcore.types import EVENT_DTYPE, Kind, Side, SymbolRegistry
from tests.market._venues import Server, _klines_app, kline_rows

register_seven()

S = 1_000_000_000
M = 60 * S
SMALL = {"segment": "1m", "baseline": 6, "z-entry": 2.0, "z-strong": 4.0, "candle-lookback": "3m"}


def _liquidations(t0: int) -> np.ndarray:
    """S0USDT: long liquidations alternating 1,000 / 1,200 a minute, a 50,000 long flush in minute 9 (a strong
    short at the minute-10 close), no trade at all."""
    rows = []
    for m in range(11):
        n = {9: 50_000.0}.get(m, 1000.0 if m % 2 == 0 else 1200.0)
        rows.append((t0 + m * M + 30 * S, n / 100.0))
    ev = np.zeros(len(rows), EVENT_DTYPE)
    for i, (t, q) in enumerate(rows):
        ev[i] = (t, t, 100.0, q, 0, int(Side.LONG), int(Kind.LIQUIDATION), 2, 0)
    return ev


def _decide(stream, ev, close_ns: int):
    out = []
    for e in ev:
        before, after = stream.on_event(e)
        out += [*before, *after]
    out += list(stream.on_clock(close_ns + 1))
    return [g for g in out if int(g["ts_ns"]) == close_ns]


def _stream():
    obj = get_strategy("liq-trend")()
    return obj, obj.stream(Params.from_mapping(SMALL), SymbolRegistry([("binance", "S0USDT")]))


def test_stream_candles_come_from_klines_before_the_first_trade():
    t0 = 472_222 * 3600 * S
    c = t0 + 10 * M
    ev = _liquidations(t0)
    obj, st = _stream()
    [sig] = _decide(st, ev, c)  # no trade, no candles: not aligned
    assert int(sig["skip_code"]) == SKIP_STRONG_NOT_ALIGNED and "candle_source" not in obj._inputs[(0, c)]
    obj, st = _stream()
    k = np.array([((c - 3 * M) // 1_000_000 + j * 60_000, 100.0 - j, 100.5 - j, 98.5 - j, 99.0 - j, 1.0)
                  for j in range(3)], KLINE_DTYPE)  # opened at c-3m (its open out of (c-3m, c]), c-2m, c-1m
    st.add_klines(0, k)
    [sig] = _decide(st, ev, c)
    inp = obj._inputs[(0, c)]
    # the close of the candle opened at c-3m (at c-2m - 1 ns) to the close of the one opened at c-1m (at c - 1 ns)
    assert inp["candle_source"] == "klines" and inp["price_change"] == 97.0 - 99.0 and inp["aligned"]
    assert int(sig["direction"]) == -1 and int(sig["skip_code"]) == 0


def test_on_demand_fetches_the_lookback_klines_and_the_judge_sees_them():
    now = time.time_ns()
    c = now // M * M - M  # the decision: the close of the last whole minute but one
    t0 = c - 10 * M
    rows = kline_rows((now // M - 5) * 60_000, 6, price0=120.0, step=-0.5)  # a falling market: a short aligns
    seen: list = []

    async def session():
        with Server(_klines_app("binance", {"S0USDT": rows}, seen, bad_row=True)) as srv:
            od = OnDemand("binance", ["S0USDT"], rest_url=srv.url)
            obj1, st1 = _stream()
            engine = SimpleNamespace(stream=st1, _by_symbol={"S0USDT": (0, 0)})
            tasks = od.fill_candles(engine, ["S0USDT"], now)
            assert len(tasks) == 1 and od.fill_candles(engine, ["S0USDT"], now) == []  # (asked once)
            [early] = _decide(st1, _liquidations(t0), c)  # before the answer: said so
            await asyncio.wait_for(asyncio.gather(*tasks), 30)
            obj2, st2 = _stream()
            engine.stream = st2
            await asyncio.wait_for(asyncio.gather(*od.fill_candles(engine, ["S0USDT"], now)), 30)
            return od, obj1, early, obj2, st2

    od, obj1, early, obj2, st2 = asyncio.run(session())
    assert obj1._inputs[(0, c)]["candle_source"] == "klines pending" and int(early["skip_code"]) == SKIP_STRONG_NOT_ALIGNED
    q = seen[0]
    assert q["symbol"] == "S0USDT" and q["interval"] == "1m" and int(q["startTime"]) == (now - 3 * M) // M * 60_000
    assert od.klines == {"asked": 2, "answered": 2, "failed": 0, "candles": 8, "dropped": 2}  # (4 a fetch + its bad row)
    [sig] = _decide(st2, _liquidations(t0), c)
    inp = obj2._inputs[(0, c)]
    # what the served candles give over (c - 3m, c]: the open/close points of the candles opened from c-2m to c
    pts = [(t * 1_000_000, o) for t, o, *_ in rows] + [((t + 60_000) * 1_000_000 - 1, cl) for t, _, _, _, cl, _ in rows]
    inside = sorted(p for p in pts if c - 3 * M < p[0] <= c and p[0] >= (now - 3 * M) // M * M)
    assert inp["candle_source"] == "klines" and inp["price_change"] == inside[-1][1] - inside[0][1] < 0
    assert int(sig["direction"]) == -1 and int(sig["skip_code"]) == 0
    assert "change_pct" in inp  # (the judge's candle figures come from those candles too)


def test_a_venue_that_fails_leaves_the_trades_alone_and_says_so():
    now = time.time_ns()
    c = now // M * M - M

    async def session():
        with Server(_klines_app("binance", {})) as srv:  # (it knows no S0USDT: HTTP 400)
            od = OnDemand("binance", ["S0USDT"], rest_url=srv.url)
            obj, st = _stream()
            await asyncio.wait_for(asyncio.gather(*od.fill_candles(SimpleNamespace(stream=st, _by_symbol={"S0USDT": (0, 0)}),
                                                                   ["S0USDT"], now)), 30)
            return od, obj, st

    od, obj, st = asyncio.run(session())
    assert od.klines == {"asked": 1, "answered": 0, "failed": 1, "candles": 0, "dropped": 0}
    [sig] = _decide(st, _liquidations(c - 10 * M), c)
    assert obj._inputs[(0, c)]["candle_source"] == "klines failed" and int(sig["skip_code"]) == SKIP_STRONG_NOT_ALIGNED
    assert st.ask_klines(0, now) is not None  # (asked again on the next subscription)


def test_okx_klines_are_asked_by_instid():
    now = time.time_ns()
    rows = kline_rows((now // M - 5) * 60_000, 6)
    seen: list = []

    async def session():
        with Server(_klines_app("okx", {"ABC-USDT-SWAP": rows}, seen, bad_row=False)) as srv:
            od = OnDemand("okx", ["ABCUSDT"], rest_url=srv.url)
            obj, st = _stream()
            eng = SimpleNamespace(stream=st, _by_symbol={"ABCUSDT": (0, 0)})
            await asyncio.wait_for(asyncio.gather(*od.fill_candles(eng, ["ABCUSDT"], now)), 30)
            return od, st

    od, st = asyncio.run(session())
    assert seen[0]["instId"] == "ABC-USDT-SWAP" and seen[0]["bar"] == "1m"
    assert od.klines["answered"] == 1 and od.klines["candles"] == 4 and len(st.klines[0]) == 8  # (open, close each)

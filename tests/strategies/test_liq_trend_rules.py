"""liq-trend's execution rules as its source states them, on hand-made markets run through the
execution model: the position cap (``max-positions`` 5 binds, no symbol cap before it; at the cap
every further signal is skipped, none replaces a weaker position) and the two stop layers (the
fallback stop near the entry, the trailing stop once the trade has run)."""
from __future__ import annotations

import numpy as np
import pytest

from liqcore.config import Params
from liqcore.params import latency_ways
from liqcore.strategies.catalog import register_seven
from liqcore.types import EVENT_DTYPE, Kind, Side, SymbolRegistry

register_seven()

S = 1_000_000_000
M = 60 * S
T0 = 472_222 * 3600 * S  # an hour boundary
LIQ, TRADE = int(Kind.LIQUIDATION), int(Kind.TRADE)
LONG, BUY = int(Side.LONG), int(Side.BUY)
# small segments so that a baseline fits in a few minutes
SMALL = {"segment": "1m", "baseline": 6, "z-entry": 2.0, "z-strong": 4.0, "candle-lookback": "3m"}


def market(rows) -> np.ndarray:
    ev = np.zeros(len(rows), EVENT_DTYPE)
    for i, (t, kind, side, price, qty, sid) in enumerate(rows):
        ev[i] = (t, t, price, qty, sid, side, kind, 2, 0)
    return ev[np.argsort(ev["ts_recv"], kind="stable")]


def registry(n):
    return SymbolRegistry([("binance", f"S{k}USDT") for k in range(n)])


def symbol_rows(sid, spikes, minutes=12, path=None):
    """Baseline long liquidations alternating 1,000 / 1,200 (mean 1,100, std 100) in minutes 0-6;
    ``spikes`` {minute: notional} replace a minute's liquidation; a trade every 10 s whose price is
    ``path(t)`` (default: a slow fall, so a short is aligned)."""
    rows = []
    for m in range(minutes):
        n = spikes.get(m, 1000.0 if m % 2 == 0 else 1200.0)
        rows.append((T0 + m * M + 30 * S, LIQ, LONG, 100.0, n / 100.0, sid))
    for k in range(minutes * 6):
        t = T0 + k * 10 * S + 5 * S
        px = path(t) if path else 100.0 * (1.0 - 1e-5 * k)
        rows.append((t, TRADE, BUY, px, 1.0, sid))
    return rows


def backtest(ev, n, strategy="liq-trend", **over):
    from liqcore.backtest.run import run_strategy

    return run_strategy(ev, registry(n), Params.from_mapping({**SMALL, **over}), strategy)


def _sixth_more_confident(ctx):
    """A judge that gives the sixth symbol's signal full confidence and the others 0.6."""
    return 1.0 if ctx["symbol_id"] == 5 else 0.6


def test_max_positions_5_binds_before_any_symbol_cap():
    # seven symbols, one strong signal each (z = 5, every liquidation one-sided) at the same segment close:
    # with no news provider the judge's matrix enters strong aligned signals only
    rows = []
    for sid in range(7):
        rows += symbol_rows(sid, {7: 1600.0})
    res = backtest(market(rows), 7)
    s = res.summary()
    assert s["signals"] == 7
    assert s["max_positions"] == 2 and s["max_symbols"] == 0  # was: max_symbols 3 (the shared cap of 4)
    assert s["fills"] == 5


def test_at_the_position_cap_every_signal_is_skipped_and_none_replaces_a_weaker_one():
    # five strong positions (z = 5) at the minute-7 close, then a far stronger one (z >> 4) on a sixth symbol
    rows = []
    for sid in range(5):
        rows += symbol_rows(sid, {7: 1600.0})
    rows += symbol_rows(5, {8: 50_000.0})
    from liqcore.strategies.liq_trend import LiqTrend

    judged = LiqTrend(judge=_sixth_more_confident)
    res = backtest(market(rows), 6, judged)
    s = res.summary()
    sig = res.signals[res.signals["direction"] != 0]
    assert sorted(sig["confidence"].tolist()) == [0.6] * 5 + [1.0]
    assert s["fills"] == 5 and s["max_positions"] == 1
    assert s["replaced"] == 0  # at the cap the sixth is skipped: no position is closed for it
    # the replace-weakest rule stays available
    s2 = backtest(market(rows), 6, LiqTrend(judge=_sixth_more_confident), **{"replace-weakest": "on"}).summary()
    assert s2["replaced"] == 1 and s2["max_positions"] == 0


def _one_short(path):
    rows = symbol_rows(0, {7: 50_000.0}, minutes=30, path=path)
    return backtest(market(rows), 1)


def _exit(res):
    t = res.trades(detail=True)
    assert len(t) == 1, t
    return t[0]


def test_the_fallback_stop_fires_on_an_early_adverse_move():
    # a short entered at the minute-8 close; the price rises 1.2 % right after: the fallback stop
    # (1 % from the entry) closes it before the trailing stop (2 % from the best price) would
    def path(t):
        k = (t - T0) // (10 * S)
        base = 100.0 * (1.0 - 1e-5 * k)
        return base if t < T0 + 8 * M + 30 * S else base * 1.012
    tr = _exit(_one_short(path))
    assert tr["exit_reason"] == "stop_loss"
    assert tr["exit_price"] > tr["entry_price"] * 1.01


def test_the_trailing_stop_fires_after_the_trade_has_run():
    # the short runs 4 % in its favour, then the price bounces 2.5 % off the low: the trailing stop
    # (2 % above the lowest print) closes it in profit -- the fallback is far away by then
    def path(t):
        k = (t - T0) // (10 * S)
        if t < T0 + 8 * M + 30 * S:
            return 100.0 * (1.0 - 1e-5 * k)
        if t < T0 + 14 * M:
            return 96.0
        return 96.0 * 1.025
    tr = _exit(_one_short(path))
    assert tr["exit_reason"] == "trail"
    assert tr["exit_price"] < tr["entry_price"]  # closed in profit


# ---- the 24 h baseline across restarts ---------------------------------------------------------------

def _stream(n=1):
    from liqcore.strategies import get_strategy

    cls = get_strategy("liq-trend")
    obj = cls()
    return obj.stream(Params.from_mapping(SMALL), registry(n))


def _entries(out):
    return [(int(g["ts_ns"]), int(g["symbol_id"]), int(g["direction"]), float(g["confidence"]))
            for g in out if g["direction"] != 0]


def _feed(stream, ev):
    got = []
    for e in ev:
        before, after = stream.on_event(e)
        got += _entries(before) + _entries(after)
    return got


def _spike_market():
    # a baseline in minutes 0-6, a strong long flush (-> short) in minute 9
    rows = symbol_rows(0, {7: 1000.0, 8: 1200.0, 9: 50_000.0}, minutes=12)
    return market(rows)


def test_a_restored_stream_trades_at_once_as_the_uninterrupted_one_does():
    import orjson

    ev = _spike_market()
    whole = _feed(_stream(), ev)
    assert len(whole) == 1 and whole[0][2] == -1  # the short at the minute-10 close
    # restart inside minute 8 (the next event is in the same segment): the baseline goes through the journal
    k = int(np.flatnonzero(ev["ts_recv"] <= T0 + 8 * M + 20 * S)[-1])
    a = _stream()
    assert _feed(a, ev[: k + 1]) == []
    state = orjson.loads(orjson.dumps(a.snapshot()))
    assert state["symbols"]["binance:S0USDT"]["baseline"][-1] == 1000.0  # the segment closed at 8:00 (minute 7)
    b = _stream()
    b.restore(state)
    assert _feed(b, ev[k + 1:]) == whole
    # without the saved baseline the new stream has none: no signal
    assert _feed(_stream(), ev[k + 1:]) == []


def test_segments_missed_while_down_are_left_out_of_the_baseline():
    import orjson

    ev = _spike_market()
    k = int(np.flatnonzero(ev["ts_recv"] <= T0 + 7 * M + 20 * S)[-1])
    a = _stream()
    _feed(a, ev[: k + 1])
    state = orjson.loads(orjson.dumps(a.snapshot()))
    base = list(state["symbols"]["binance:S0USDT"]["baseline"])
    b = _stream()
    b.restore(state)
    later = ev[ev["ts_recv"] >= T0 + 9 * M]  # down from 7:20 to 9:00: the minute-8 close was missed
    got = _feed(b, later)
    assert got and got[0][2] == -1  # the flush of minute 9 still trades at the minute-10 close
    # the baseline went on from the saved one: minute 7 and 8 (partial / unseen) were not added as zeros
    assert list(b.hist[0].values()) == (base + [50_000.0, 1000.0])[-6:]
    with pytest.raises(ValueError, match="segment/baseline"):
        s2 = _stream()
        state["baseline_n"] = 7
        s2.restore(state)


def test_a_stream_seeded_from_a_recording_trades_at_once():
    ev = _spike_market()
    whole = _feed(_stream(), ev)
    cut = T0 + 9 * M
    rec, live = ev[ev["ts_recv"] < cut], ev[ev["ts_recv"] >= cut]
    s = _stream()
    assert s.seed(rec) >= 6  # a full baseline of closes
    assert _feed(s, live) == whole


# ---- a more confident signal on the same symbol -----------------------------------------------------

def _judge_by_time(first: float, second: float):
    """A judge whose confidence is ``first`` for the minute-8 signal and ``second`` after it."""
    return lambda ctx: first if ctx["ts_ns"] <= T0 + 8 * M else second


def _two_signals(judge, **over):
    from liqcore.strategies.liq_trend import LiqTrend

    # two spikes on one symbol: the minute-7 segment (signal at the minute-8 close) and minute 10 (minute-11 close)
    rows = symbol_rows(0, {7: 1600.0, 10: 50_000.0}, minutes=20)
    return backtest(market(rows), 1, LiqTrend(judge=judge), **{"hold-timeout": "4m", **over})


def test_a_more_confident_signal_on_the_same_symbol_closes_the_position_then_opens_its_own():
    res = _two_signals(_judge_by_time(0.6, 1.0))
    s = res.summary()
    assert s["busy"] == 0 and s["replaced"] == 1 and s["fills"] == 2 and s["orders"] == 2
    old, new = res.ledger[0], res.ledger[1]  # (the hold timeout of 4 minutes ends the second one)
    assert len(res.ledger) == 2 and res.trades(detail=True)[0]["exit_reason"] == "replaced"
    lat = latency_ways(Params())[0]  # the way out of the default round trip
    assert T0 + 11 * M + lat <= int(old["exit_ns"]) < T0 + 11 * M + lat + 10 * S  # the first print after the latency
    # the new position: the second signal's, its order sent when the close filled
    assert float(old["confidence"]) == 0.6 and float(new["confidence"]) == 1.0
    assert int(new["signal_ns"]) == T0 + 11 * M and int(new["arrive_ns"]) == int(old["exit_ns"]) + lat
    assert int(new["entry_ns"]) >= int(new["arrive_ns"]) and new["side"] == -1


def test_an_equally_or_less_confident_signal_on_the_same_symbol_is_busy():
    for second in (0.6, 0.8):
        s = _two_signals(_judge_by_time(0.9 if second == 0.8 else 0.6, second)).summary()
        assert s["busy"] == 1 and s["replaced"] == 0 and s["fills"] == 1


def test_replace_same_off_refuses_every_signal_on_a_held_symbol():
    s = _two_signals(_judge_by_time(0.6, 1.0), **{"replace-same": "off"}).summary()
    assert s["busy"] == 1 and s["replaced"] == 0 and s["fills"] == 1

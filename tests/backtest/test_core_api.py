"""StrategyCore's API for the live shell: cancels, the on-grid limit, venue TP/SL, working orders and
positions set from outside, snapshot/restore; the paper gateway and the engine use only these."""
from __future__ import annotations

import asyncio
import json
import math

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from pysrc import execmodel as twin

from liqcore.backtest.core import StrategyCore
from liqcore.config import Params
from liqcore.venues.gateway import Gateway, OrderIntent, OrderUpdate

S = 1_000_000_000
MS = 1_000_000
T0 = 1_767_225_600 * S + 14 * 3600 * S  # 2026-01-01 14:00 UTC


def core(symbols=("ETHUSDT",), mode="paper", equity=1000.0, **kw):
    return StrategyCore(Params.from_mapping(kw), list(symbols), equity=equity, mode=mode)


def cascade(sid, ts, dominant="long", cid=0):
    return {"symbol_idx": sid, "ts_ns": ts, "dominant": dominant, "cascade_id": cid}


def working(c, sid=0, ts=T0, price=2500.0, dominant="long"):
    c.on_trade(sid, ts, price)
    d = c.on_cascade(cascade(sid, ts + S, dominant))
    assert d["action"] == "order"
    return d


# ---- external_cancel ------------------------------------------------------------------------------
def test_cancel_counts_unfilled_not_rejected_and_starts_no_cooldown():
    c = core()
    working(c)
    assert c.external_cancel(0, T0 + 2 * S) is True
    assert c.position(0)["status"] == "flat"
    s = c.summary()
    assert s["unfilled"] == 1 and s["rejected"] == 0
    assert c.external_cancel(0, T0 + 3 * S) is False  # nothing working any more
    assert c.summary()["unfilled"] == 1
    # no cooldown: the next cascade places an order at once
    c.on_trade(0, T0 + 4 * S, 2500.0)
    assert c.on_cascade(cascade(0, T0 + 4 * S))["action"] == "order"


def test_reject_still_counts_rejected():
    c = core()
    working(c)
    assert c.external_reject(0, T0 + 2 * S) is True
    s = c.summary()
    assert s["rejected"] == 1 and s["unfilled"] == 0


def test_cancel_of_an_open_position_changes_nothing():
    c = core()
    d = working(c)
    c.on_trade(0, T0 + 2 * S, d["price"] - 1.0)  # fills
    assert c.position(0)["status"] == "open"
    assert c.external_cancel(0, T0 + 3 * S) is False
    assert c.position(0)["status"] == "open"
    with pytest.raises(ValueError, match="symbol_idx"):
        c.external_cancel(5, T0)


# ---- amend_entry ----------------------------------------------------------------------------------
def test_amend_entry_moves_the_paper_fill_price():
    c = core()
    d = working(c)
    grid = math.floor(d["price"] * 100) / 100  # the venue's tick grid, rounded down for a buy
    assert c.amend_entry(0, grid) is True
    assert c.position(0)["limit_price"] == grid
    ev = c.on_trade(0, T0 + 2 * S, grid - 0.01)
    assert ev[0]["event"] == "entry_filled" and ev[0]["price"] == grid
    assert c.amend_entry(0, grid) is False  # not working any more
    for bad in (0.0, -1.0, math.nan, math.inf, "x"):
        with pytest.raises(ValueError, match="price"):
            c.amend_entry(0, bad)


# ---- set_exit_levels ------------------------------------------------------------------------------
def test_set_exit_levels_takes_the_venue_levels_and_exits_on_them():
    c = core()
    d = working(c)
    c.on_trade(0, T0 + 2 * S, d["price"] - 1.0)
    fill = d["price"]
    assert c.set_exit_levels(0, 2501.0, 2490.0, notional=250.0) is True
    p = c.position(0)
    assert (p["take_profit"], p["stop_loss"], p["notional"]) == (2501.0, 2490.0, 250.0)
    assert c.set_exit_levels(0, None, 2489.5) is True  # None keeps the take-profit
    assert c.position(0)["take_profit"] == 2501.0 and c.position(0)["stop_loss"] == 2489.5
    assert c.on_trade(0, T0 + 3 * S, 2500.9) == []  # the core's own TP would have hit here
    ev = c.on_trade(0, T0 + 4 * S, 2501.5)
    assert ev[0]["event"] == "exit" and ev[0]["exit_reason"] == "take_profit" and ev[0]["exit_price"] == 2501.0
    assert ev[0]["pnl"] == pytest.approx(250.0 * ((2501.0 - fill) / fill - ev[0]["fees"]))
    assert c.set_exit_levels(0, 2501.0, 2490.0) is False  # flat


def test_set_exit_levels_rejects_levels_on_the_wrong_side():
    c = core()
    d = working(c, dominant="short")  # a sell entry: short position, TP below, SL above
    c.on_trade(0, T0 + 2 * S, d["price"] + 1.0)
    assert c.position(0)["status"] == "open"
    before = c.position(0)
    with pytest.raises(ValueError, match="take_profit"):
        c.set_exit_levels(0, 2600.0, 2400.0)
    with pytest.raises(ValueError, match="stop_loss"):
        c.set_exit_levels(0, 2400.0, -1.0)
    with pytest.raises(ValueError, match="notional"):
        c.set_exit_levels(0, None, None, notional=0.0)
    assert c.position(0) == before


# ---- set_working_order / set_position ------------------------------------------------------------
def test_set_working_order_rests_fills_and_times_out():
    c = core(entry_timeout="10s")
    c.on_trade(0, T0, 2500.0)
    assert c.set_working_order(0, side="buy", price=2495.0, decision_ns=T0 - 5 * S, cascade_id=7) is True
    p = c.position(0)
    assert p["status"] == "resting" and p["side"] == "buy" and p["expires_ns"] == T0 + 5 * S
    assert c.set_working_order(0, side="sell", price=2505.0, decision_ns=T0) is False  # busy
    ev = c.on_trade(0, T0 + S, 2494.0)
    assert ev[0]["event"] == "entry_filled" and ev[0]["price"] == 2495.0
    c2 = core(entry_timeout="10s")
    c2.on_trade(0, T0, 2500.0)
    c2.set_working_order(0, side="sell", price=2505.0, decision_ns=T0)
    assert [e["event"] for e in c2.on_clock(T0 + 10 * S)] == ["cancelled"]
    assert c2.summary()["unfilled"] == 1
    with pytest.raises(ValueError, match="side"):
        c2.set_working_order(0, side="up", price=1.0, decision_ns=T0)
    with pytest.raises(ValueError, match="decision_ns"):
        c2.set_working_order(0, side="buy", price=1.0, decision_ns=1.5)


def test_set_working_order_in_the_future_is_pending_until_it_arrives():
    c = core()
    c.on_trade(0, T0, 2500.0)
    c.set_working_order(0, side="buy", price=2499.0, decision_ns=T0, arrival_ns=T0 + S)
    assert c.position(0)["status"] == "pending"
    c.on_clock(T0 + S)
    assert c.position(0)["status"] == "resting"


def test_set_position_defaults_from_params_and_hold_timeout():
    c = core(hold_timeout="60s")
    c.on_trade(0, T0, 2000.0)
    assert c.set_position(0, side="sell", entry_price=2000.0, entry_ns=T0) is True
    p = c.position(0)
    assert p["status"] == "open" and p["side"] == "sell"
    assert p["take_profit"] == pytest.approx(2000.0 * (1 - 0.0015))
    assert p["stop_loss"] == pytest.approx(2000.0 * (1 + 0.0025))
    assert p["notional"] == pytest.approx(1000.0 * Params().size)
    assert p["hold_deadline_ns"] == T0 + 60 * S
    assert c.set_position(0, side="sell", entry_price=2000.0, entry_ns=T0) is False
    ev = c.on_trade(0, T0 + 60 * S, 2000.5)
    assert ev[0]["exit_reason"] == "timeout"
    with pytest.raises(ValueError, match="take_profit"):
        c.set_position(0, side="buy", entry_price=2000.0, entry_ns=T0, take_profit=1990.0, stop_loss=1995.0)


def test_set_equity_and_fee_rates():
    c = core(maker_fee_bps=2, taker_fee_bps=5.5)
    c.set_equity(1234.5)
    assert c.equity == 1234.5
    with pytest.raises(ValueError, match="equity"):
        c.set_equity(-1)
    assert c.fee_rates(0) == pytest.approx((2e-4, 5.5e-4))


# ---- snapshot / restore ---------------------------------------------------------------------------
def _busy_core():
    c = core(["ETHUSDT", "bybit:SOLUSDT", "binance:ETHUSDT"], cooldown="5m")
    c.on_trade(0, T0, 2500.0)
    c.on_trade(1, T0, 150.0)
    c.on_trade(2, T0, 2501.0)
    d = c.on_cascade(cascade(0, T0 + S))
    c.on_trade(0, T0 + 2 * S, d["price"] - 1.0)  # ETH open
    c.on_cascade(cascade(1, T0 + 2 * S, "short", cid=3))  # SOL working
    c.on_funding(0, T0 + 3 * S, 0.0001)
    c.on_cascade(cascade(2, T0 + 3 * S))
    c.on_trade(2, T0 + 4 * S, 2490.0)
    c.on_trade(2, T0 + 5 * S, 2400.0)  # binance ETH: filled then stopped out -> cooldown
    return c


def test_snapshot_is_json_and_restores_the_same_state():
    c = _busy_core()
    snap = c.snapshot()
    text = json.dumps(snap, allow_nan=False)  # strict JSON (NaN -> null)
    assert set(snap["symbols"]) == {"bybit:ETHUSDT", "bybit:SOLUSDT", "binance:ETHUSDT"}
    assert snap["symbols"]["bybit:ETHUSDT"]["status"] == "open"
    assert snap["symbols"]["bybit:SOLUSDT"]["status"] == "resting"  # arrived (settled at the next decision)
    assert snap["symbols"]["binance:ETHUSDT"]["counts"]["stop_loss"] == 1
    r = core(["ETHUSDT", "bybit:SOLUSDT", "binance:ETHUSDT"], cooldown="5m")
    r.restore(json.loads(text))
    assert r.snapshot() == snap
    assert r.st.tobytes() == c.st.tobytes() and np.array_equal(r.counts, c.counts)
    assert r.equity == c.equity
    # both carry on identically
    for x in (c, r):
        x.on_trade(0, T0 + 10 * S, 3000.0)
        x.on_trade(1, T0 + 11 * S, 150.5)
        x.on_cascade(cascade(2, T0 + 12 * S))
    assert r.snapshot() == c.snapshot()
    assert r.ledger()[-1]["pnl"] == c.ledger()[-1]["pnl"]


def test_partial_restore_merges_and_derives_missing_levels():
    c = core(["ETHUSDT", "SOLUSDT"], hold_timeout="30m")
    c.restore({"portfolio": {"equity": 900.0, "day": 20454, "day_start_equity": 950.0},
               "symbols": {"SOLUSDT": {"cooldown_until_ns": T0 + 60 * S},
                           "bybit:ETHUSDT": {"status": "open", "side": "buy", "entry_price": 2000.0,
                                             "entry_ns": T0, "tp_price": 2004.0}}})
    p = c.position(0)
    assert p["status"] == "open" and p["take_profit"] == 2004.0
    assert p["stop_loss"] == pytest.approx(2000.0 * (1 - 0.0025))
    assert p["notional"] == pytest.approx(900.0 * Params().size)
    assert p["hold_deadline_ns"] == T0 + 1800 * S
    assert c.position(1)["cooldown_until_ns"] == T0 + 60 * S and c.position(1)["status"] == "flat"
    snap = c.snapshot()["portfolio"]
    assert snap["equity"] == 900.0 and snap["day"] == 20454 and snap["day_start_equity"] == 950.0
    assert snap["equity0"] == 1000.0  # untouched
    # a later partial restore of the cooldown only keeps the position's levels
    c.restore({"symbols": {"ETHUSDT": {"cooldown_until_ns": 5}}})
    assert c.position(0)["take_profit"] == 2004.0


@pytest.mark.parametrize("state, field", [
    ([], "state"),
    ({"version": 2}, "state.version"),
    ({"portfolio": {"equity": -1}}, "state.portfolio.equity"),
    ({"portfolio": {"bogus": 1}}, "state.portfolio.bogus"),
    ({"portfolio": {"day": 1.5}}, "state.portfolio.day"),
    ({"symbols": {"XRPUSDT": {}}}, "state.symbols: unknown"),
    ({"symbols": {"ETHUSDT": {}}}, "state.symbols: ambiguous"),
    ({"symbols": {"SOLUSDT": {"status": "sleeping"}}}, "state.symbols.SOLUSDT.status"),
    ({"symbols": {"SOLUSDT": {"status": "open", "side": None, "entry_price": 1.0}}}, "state.symbols.SOLUSDT.side"),
    ({"symbols": {"SOLUSDT": {"status": "open", "side": "buy"}}}, "state.symbols.SOLUSDT.entry_price"),
    ({"symbols": {"SOLUSDT": {"status": "resting", "side": "sell", "limit_price": None}}}, "state.symbols.SOLUSDT.limit_price"),
    ({"symbols": {"SOLUSDT": {"limit_price": math.inf}}}, "state.symbols.SOLUSDT.limit_price"),
    ({"symbols": {"SOLUSDT": {"entry_ns": "soon"}}}, "state.symbols.SOLUSDT.entry_ns"),
    ({"symbols": {"SOLUSDT": {"counts": {"wins": 1}}}}, "state.symbols.SOLUSDT.counts.wins"),
    ({"symbols": {"SOLUSDT": {"color": "red"}}}, "state.symbols.SOLUSDT.color"),
])
def test_restore_rejects_bad_state_naming_the_field_and_changes_nothing(state, field):
    c = _busy_core()
    before = c.snapshot()
    if isinstance(state, dict) and field != "state.portfolio.equity":  # a valid part before the bad one
        state = {**state, "portfolio": {"equity": 5.0, **state.get("portfolio", {})}}
    with pytest.raises(ValueError) as ei:
        c.restore(state)
    assert str(ei.value).startswith(field)
    assert c.snapshot() == before


# ---- paper gateway and engine -------------------------------------------------------------------
def test_paper_cancel_is_counted_as_cancelled():
    from liqcore.live.paper import PaperGateway

    c = core()
    d = working(c)
    gw = PaperGateway(c)
    ups = []
    gw.on_update(ups.append)
    it = OrderIntent("ETHUSDT", "buy", 0.1, d["price"], "lc-ETH-1-abc", decision_ns=T0 + S)
    assert gw.register(it).status == "new"
    u = asyncio.run(gw.cancel("ETHUSDT", "lc-ETH-1-abc"))
    assert u.status == "cancelled" and ups[-1].status == "cancelled"
    counts = c.summary()
    assert counts["unfilled"] == 1 and counts["rejected"] == 0
    assert gw.stats["cancelled"] == 1 and gw.stats["rejected"] == 0
    assert c.position(0)["status"] == "flat"


class _VenueStandIn(Gateway):
    """An in-process gateway that acknowledges everything and reports what the test pushes."""

    name = "stand-in"

    def __init__(self):
        self._upd, self._fill = [], []

    def on_update(self, cb):
        self._upd.append(cb)

    def on_fill(self, cb):
        self._fill.append(cb)


def _venue_engine(tmp_path=None, **kw):
    from liqcore.live.engine import Engine

    eng = Engine(Params(), symbols=["ETHUSDT"], gateway=_VenueStandIn(), **kw)
    assert eng.core.mode == "venue"
    eng.core.on_trade(0, T0, 2500.0)
    d = eng.core.on_cascade(cascade(0, T0 + S))
    book = eng.books["ETHUSDT"]
    book.entry = OrderIntent("ETHUSDT", "buy", 0.1, 2496.25, "lc-ETH-1-abc", take_profit=2500.0, stop_loss=2490.0,
                             decision_ns=T0 + S)
    book.entry_status = "new"
    eng.core.amend_entry(0, 2496.25)
    return eng, d


def test_engine_venue_cancel_is_unfilled_and_reject_is_rejected():
    eng, _ = _venue_engine()
    eng._on_update(OrderUpdate("lc-ETH-1-abc", "cancelled", "ETHUSDT", kind="entry", ts_ns=T0 + 2 * S))
    counts = eng.core.summary()
    assert counts["unfilled"] == 1 and counts["rejected"] == 0
    eng2, _ = _venue_engine()
    eng2._on_update(OrderUpdate("lc-ETH-1-abc", "rejected", "ETHUSDT", kind="entry", ts_ns=T0 + 2 * S))
    counts = eng2.core.summary()
    assert counts["rejected"] == 1 and counts["unfilled"] == 0


def test_engine_venue_fill_takes_the_venue_tp_sl_and_size():
    from liqcore.venues.gateway import Fill

    eng, _ = _venue_engine()
    eng._on_fill(Fill("lc-ETH-1-abc", "ETHUSDT", "buy", 2496.25, 0.1, 0.0, True, exec_id="e1", kind="entry",
                      ts_ns=T0 + 2 * S))
    p = eng.core.position(0)
    assert p["status"] == "open" and p["take_profit"] == 2500.0 and p["stop_loss"] == 2490.0
    assert p["notional"] == pytest.approx(249.625)


def test_engine_restart_restores_through_core_restore(tmp_path):
    from liqcore.live.engine import Engine
    from liqcore.live.journal import Journal

    path = tmp_path / "j.sqlite"
    j = Journal(path)
    j.cooldown("SOLUSDT", T0 + 300 * S, T0)
    j.position("ETHUSDT", {"side": "sell", "qty": 0.1, "entry_price": 2500.0, "entry_ns": T0,
                           "client_id": "lc-ETH-1-abc", "take_profit": 2496.0, "stop_loss": 2506.0,
                           "hold_deadline_ns": T0 + 900 * S, "notional": 250.0}, T0)
    j.flush()
    j.close()
    eng = Engine(Params(), symbols=["ETHUSDT", "SOLUSDT"], journal=Journal(path))
    calls = []
    orig = eng.core.restore
    eng.core.restore = lambda state: (calls.append(state), orig(state))[1]
    eng._restore()
    assert len(calls) == 1
    p = eng.core.position(0)
    assert (p["status"], p["side"], p["take_profit"], p["stop_loss"], p["notional"], p["hold_deadline_ns"]) == \
        ("open", "sell", 2496.0, 2506.0, 250.0, T0 + 900 * S)
    assert eng.core.position(1)["cooldown_until_ns"] == T0 + 300 * S
    assert eng.books["ETHUSDT"].position_qty == -0.1
    eng.journal.close()


# ---- kernel vs twin ------------------------------------------------------------------------------
_OPS = hs.lists(hs.tuples(
    hs.sampled_from(["trade", "cascade", "clock", "funding", "cancel", "reject", "amend", "levels", "fill",
                     "close", "working", "position"]),
    hs.integers(0, 1),  # symbol
    hs.sampled_from([0, 1 * MS, 50 * MS, 1 * S, 60 * S, 1800 * S]),  # time step
    hs.integers(-6, 6),  # price steps
), min_size=1, max_size=60)

_STATE_FIELDS = ("status", "side", "cascade_id", "signal_ns", "arrive_ns", "entry_deadline_ns", "entry_ns",
                 "hold_deadline_ns", "cooldown_until_ns", "last_ns", "ref_price", "limit_price", "entry_price",
                 "tp_price", "sl_price", "notional", "funding", "last_price")


def _same(a, b):
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


@pytest.mark.property
@settings(max_examples=60)
@given(ops=_OPS, latency=hs.sampled_from(["0ms", "50ms", "2s"]), timeout=hs.sampled_from(["1s", "30m"]))
def test_live_shell_steps_match_the_twin(ops, latency, timeout):
    from liqcore._jit import sim

    c = core(["ETHUSDT", "SOLUSDT"], order_latency=latency, entry_timeout=timeout, hold_timeout="30m",
             daily_loss="0%", weekly_loss="0%")
    rows = [{k: c.par[i][k].item() for k in sim.PARAM_DTYPE.names} for i in range(2)]
    p = c.params
    ref = twin.Model([dict(r) for r in rows], 1000.0, p.daily_loss, p.weekly_loss, p.max_symbols, p.size)
    ts = T0
    px = [2500.0, 150.0]
    for op, sid, dt, k in ops:
        ts += dt
        price = px[sid] * (1 + 0.0005 * k)
        if op == "trade":
            c.on_trade(sid, ts, price)
            ref.on_trade(sid, ts, price)
        elif op == "cascade":
            dom = "long" if k >= 0 else "short"
            got = c.on_cascade(cascade(sid, ts, dom, cid=k))
            want = ref.on_cascade(sid, ts, 1 if k >= 0 else 2, k)
            assert (got["action"] if got["action"] == "order" else got["reason"]) == want
        elif op == "clock":
            c.on_clock(ts)
            ref.on_clock(ts)
        elif op == "funding":
            c.on_funding(sid, ts, 0.0001 * k)
            ref.on_funding(sid, ts, 0.0001 * k)
        elif op == "cancel":
            assert c.external_cancel(sid, ts) == ref.external_cancel(sid, ts)
        elif op == "reject":
            assert c.external_reject(sid, ts) == ref.external_reject(sid, ts)
        elif op == "amend":
            assert c.amend_entry(sid, price) == ref.amend_entry(sid, price)
        elif op == "levels":
            s = ref.states[sid]
            tp, sl = (price * 1.002, price * 0.997) if s.side > 0 else (price * 0.998, price * 1.003)
            assert c.set_exit_levels(sid, tp, sl, notional=abs(k) * 10.0 or None) == \
                ref.set_exit_levels(sid, tp, sl, abs(k) * 10.0)
        elif op == "fill":
            assert (c.external_entry_fill(sid, ts, price) is not None) == ref.external_entry_fill(sid, ts, price)
        elif op == "close":
            reason = ("take_profit", "stop_loss", "timeout", "external")[abs(k) % 4]
            assert (c.external_close(sid, ts, price, reason) is not None) == \
                ref.external_close(sid, ts, price, abs(k) % 4 + 1)
        elif op == "working":
            side = "buy" if k >= 0 else "sell"
            exp = ts + 30 * S
            got = c.set_working_order(sid, side=side, price=price, decision_ns=ts, expires_ns=exp, cascade_id=k)
            want = ref.set_working(sid, twin.RESTING, 1 if k >= 0 else -1, price, math.nan, k, ts, ts, exp)
            assert got == want
        elif op == "position":
            sign = 1 if k >= 0 else -1
            tp, sl = price * (1 + sign * 0.002), price * (1 - sign * 0.003)
            got = c.set_position(sid, side="buy" if sign > 0 else "sell", entry_price=price, entry_ns=ts,
                                 take_profit=tp, stop_loss=sl, notional=100.0, hold_deadline_ns=ts + 60 * S)
            want = ref.set_open(sid, sign, ts, price, tp, sl, 100.0, ts + 60 * S, 0.0)
            assert got == want
        for i in range(2):
            s, r = c.st[i], ref.states[i]
            for f in _STATE_FIELDS:
                assert _same(s[f].item(), getattr(r, f)), (op, i, f, s[f].item(), getattr(r, f))
            assert dict(zip(twin.COUNT_NAMES, c.counts[i].tolist())) == ref.counts[i]
        assert c.equity == ref.equity
    assert len(c.ledger()) == len(ref.ledger)
    # whatever state the stream left, a snapshot restores it exactly
    r = core(["ETHUSDT", "SOLUSDT"], order_latency=latency, entry_timeout=timeout, hold_timeout="30m",
             daily_loss="0%", weekly_loss="0%")
    r.restore(orjson.loads(orjson.dumps(c.snapshot())))
    assert r.st.tobytes() == c.st.tobytes() and np.array_equal(r.counts, c.counts)


def test_paper_engine_shutdown_cancel_counts_unfilled():
    """Engine (paper): a cascade places an entry; shutdown cancels it; the core counts it unfilled."""
    from liqcore.live.engine import Engine
    from liqcore.testing.fake_replay import liquidation_frame, trade_frame

    eng = Engine(Params.from_mapping({"min_history": 5}), symbols=["ETHUSDT"])
    eng.detector.seed(eng.registry.id("bybit", "ETHUSDT"), np.linspace(1_000.0, 20_000.0, 20), 1)
    t_ms = T0 // MS
    ds = []
    for i, f in enumerate([trade_frame("ETHUSDT", 2500.0, ts_ms=t_ms),
                           liquidation_frame("ETHUSDT", 2500.0, 40.0, ts_ms=t_ms + 10),
                           liquidation_frame("ETHUSDT", 2499.0, 40.0, ts_ms=t_ms + 1010)]):
        ds += eng.on_frame("bybit", orjson.dumps(f), (t_ms + 10 + 1000 * i) * MS)
    assert [d.action for d in ds] == ["order"]
    eng.on_clock((t_ms + 3000) * MS)  # the order has arrived: resting
    assert eng.core.position(0)["status"] == "resting"
    asyncio.run(eng.shutdown())
    counts = eng.core.summary()
    assert eng.core.position(0)["status"] == "flat"
    assert counts["unfilled"] == 1 and counts["rejected"] == 0 and counts["orders"] == 1


def test_paper_core_replaces_a_position_on_the_same_symbol_and_venue_mode_does_not():
    """replace-same: in paper mode the core closes the position (reason replaced) and its queued entry
    fills after the close, as in the backtest; a venue-mode core (the venue fills what the shell sends)
    keeps the rule off: the signal is busy."""
    from liqcore.strategies import ENTRY_MARKET, empty_signals

    def sig(ts, conf, d=1, tag=1):
        g = empty_signals(1)
        g["ts_ns"], g["symbol_id"], g["direction"], g["entry"] = ts, 0, d, ENTRY_MARKET
        g["confidence"], g["tag"], g["take_profit"] = conf, tag, 0.0
        return g

    S = 1_000_000_000
    t0 = 1_767_225_600 * S
    p = Params.from_mapping({"replace-same": "on", "cooldown": 0, "daily-loss": 0, "weekly-loss": 0})
    core = StrategyCore(p, ["ETHUSDT"], equity=1000.0)
    core.on_trade(0, t0, 100.0)
    assert core.on_signal(sig(t0 + S, 0.3))["action"] == "order"
    core.on_trade(0, t0 + 2 * S, 100.0)  # the first entry fills
    res = core.on_signal(sig(t0 + 3 * S, 0.9, d=-1, tag=2))
    assert res["action"] == "order" and res["queued"] and res["side"] == "sell"
    core.on_trade(0, t0 + 4 * S, 100.5)  # the close (replaced), the new entry sent
    core.on_trade(0, t0 + 5 * S, 100.6)  # ... and filled
    from liqcore.codes import EXIT_NAMES

    (row,) = core.ledger()
    assert EXIT_NAMES[int(row["exit_reason"])] == "replaced" and int(row["exit_ns"]) == t0 + 4 * S
    pos = core.position(0)
    assert pos["status"] == "open" and pos["side"] == "sell" and pos["entry_ns"] == t0 + 5 * S
    venue = StrategyCore(p, ["ETHUSDT"], equity=1000.0, mode="venue")
    venue.on_trade(0, t0, 100.0)
    venue.on_signal(sig(t0 + S, 0.3))
    venue.external_entry_fill(0, t0 + 2 * S, 100.0)
    res = venue.on_signal(sig(t0 + 3 * S, 0.9, d=-1, tag=2))
    assert res["action"] == "none" and res["reason"] == "busy"


def test_the_live_engine_keeps_replace_same_off_even_for_liq_trend():
    from liqcore.live.engine import Engine

    eng = Engine(Params.from_mapping({"strategy": "liq-trend"}), symbols=["ETHUSDT"])
    assert eng.params.replace_same  # liq-trend's default (the backtest replaces)
    assert int(eng.core.port[0]["replace_same"]) == 0  # the live shell cannot send a queued entry

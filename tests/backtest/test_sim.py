"""Hand-built scenarios for the strategy + fill model (through StrategyCore, the per-event front that
calls the same Numba step functions as the backtest loop)."""
from __future__ import annotations

import numpy as np
import pytest

from simdata import DAY, MS, S, param_rows, random_market, run_kernel

from liqcore.backtest.core import StrategyCore
from liqcore.config import Params

T0 = 1_767_225_600 * S + 14 * 3600 * S  # 2026-01-01 14:00 UTC (a Thursday)


def core(symbols=("ETHUSDT",), **kw):
    """A core on hand-made prices checked by formula (100.0 x (1 - offset)): the prices as computed, off the
    listed symbols' ticks (``price-grid off``; the default puts them on the instrument's tick)."""
    return StrategyCore(Params.from_mapping({"price-grid": "off", **kw}), list(symbols), equity=1000.0)


def cascade(sid, ts, dominant="long", cid=0):
    return {"symbol_idx": sid, "ts_ns": ts, "dominant": dominant, "cascade_id": cid}


def test_long_entry_fills_through_limit_then_take_profit_at_maker_fee():
    c = core()
    c.on_trade(0, T0, 2500.0)
    d = c.on_cascade(cascade(0, T0 + 1 * S))
    assert d["action"] == "order" and d["side"] == "buy" and d["position"] == "long"
    assert d["price"] == 2500.0 * (1 - 0.0015)
    assert d["arrive_ns"] == T0 + 1 * S + 50 * MS
    assert c.on_trade(0, T0 + 2 * S, d["price"]) == []  # at the limit: no fill with fill=through
    ev = c.on_trade(0, T0 + 3 * S, d["price"] - 0.01)
    assert [e["event"] for e in ev] == ["entry_filled"] and ev[0]["price"] == d["price"]
    tp = d["price"] * 1.0015
    assert c.on_trade(0, T0 + 4 * S, tp) == []  # TP is a limit: through only
    ev = c.on_trade(0, T0 + 5 * S, tp + 0.01)
    assert ev[0]["event"] == "exit" and ev[0]["exit_reason"] == "take_profit"
    assert ev[0]["exit_price"] == tp
    # each fee on its own fill's notional, as a fraction of the entry notional: the exit's scaled by exit / entry
    assert ev[0]["fees"] == pytest.approx(2e-4 + 2e-4 * 1.0015, rel=1e-12)
    assert ev[0]["return"] == pytest.approx(0.0015 - 2e-4 - 2e-4 * 1.0015, abs=1e-12)
    assert c.equity == pytest.approx(1000.0 * (1 + 0.25 * (0.0015 - 2e-4 - 2e-4 * 1.0015)), rel=1e-12)
    # cooldown of 5 minutes from the close
    assert c.on_cascade(cascade(0, T0 + 60 * S))["reason"] == "cooldown"
    c.on_trade(0, T0 + 5 * S + 300 * S, 2500.0)
    assert c.on_cascade(cascade(0, T0 + 5 * S + 300 * S))["action"] == "order"


def test_touch_fills_at_the_limit():
    c = core(fill="touch")
    c.on_trade(0, T0, 100.0)
    d = c.on_cascade(cascade(0, T0))
    ev = c.on_trade(0, T0 + S, d["price"])
    assert ev and ev[0]["event"] == "entry_filled"


def test_short_mirror_and_stop_loss_at_print_price_taker():
    c = core()
    c.on_trade(0, T0, 100.0)
    d = c.on_cascade(cascade(0, T0, "short"))
    assert d["side"] == "sell" and d["price"] == 100.0 * 1.0015
    c.on_trade(0, T0 + S, d["price"] + 0.001)
    sl = d["price"] * 1.0025
    ev = c.on_trade(0, T0 + 2 * S, sl + 0.5)
    assert ev[0]["exit_reason"] == "stop_loss" and ev[0]["exit_price"] == sl + 0.5
    assert ev[0]["fees"] == pytest.approx(2e-4 + 5.5e-4 * (sl + 0.5) / d["price"], rel=1e-12)
    assert ev[0]["return"] == pytest.approx(-(sl + 0.5 - d["price"]) / d["price"] - ev[0]["fees"], abs=1e-12)


def test_post_only_rejected_when_price_reaches_limit_during_latency_no_cooldown():
    c = core()
    c.on_trade(0, T0, 100.0)
    d = c.on_cascade(cascade(0, T0))
    c.on_trade(0, T0 + 10 * MS, d["price"])  # before arrival: price at the limit
    ev = c.on_trade(0, T0 + 60 * MS, d["price"] - 1)
    assert [e["event"] for e in ev] == ["rejected"]
    assert c.position(0)["status"] == "flat"
    c.on_trade(0, T0 + 1 * S, 100.0)
    assert c.on_cascade(cascade(0, T0 + 1 * S))["action"] == "order"  # no cooldown after a reject
    assert c.summary()["rejected"] == 1


def test_stop_checked_before_take_profit_on_one_print():
    # only zero distances put the stop and the take-profit on one price; Params refuses them (they make
    # no sense to trade), so they are forced past the validation here to reach the simulator's rule
    params = Params.from_mapping({"fill": "touch"})
    object.__setattr__(params, "take_profit", 0.0)
    object.__setattr__(params, "stop_loss", 0.0)
    c = StrategyCore(params, ["ETHUSDT"], equity=1000.0)
    c.on_trade(0, T0, 100.0)
    d = c.on_cascade(cascade(0, T0))
    c.on_trade(0, T0 + S, d["price"])
    ev = c.on_trade(0, T0 + 2 * S, d["price"])  # at both stop and TP
    assert ev[0]["exit_reason"] == "stop_loss"


def test_hold_timeout_closes_at_next_print_taker():
    c = core()
    c.on_trade(0, T0, 100.0)
    d = c.on_cascade(cascade(0, T0))
    c.on_trade(0, T0 + S, d["price"] - 0.01)
    assert c.on_trade(0, T0 + 1800 * S, d["price"]) == []  # 1 ns before the deadline
    ev = c.on_trade(0, T0 + 1801 * S + 7, d["price"] + 0.01)
    assert ev[0]["exit_reason"] == "timeout" and ev[0]["exit_price"] == d["price"] + 0.01
    assert ev[0]["fees"] == pytest.approx(2e-4 + 5.5e-4 * (d["price"] + 0.01) / d["price"], rel=1e-12)


def test_entry_timeout_cancels_without_cooldown():
    c = core()
    c.on_trade(0, T0, 100.0)
    c.on_cascade(cascade(0, T0))
    assert c.on_cascade(cascade(0, T0 + 60 * S))["reason"] == "busy"
    ev = c.on_clock(T0 + 1800 * S)
    assert ev == [{"event": "cancelled", "symbol_idx": 0, "ts_ns": T0 + 1800 * S}]
    c.on_trade(0, T0 + 1801 * S, 100.0)
    assert c.on_cascade(cascade(0, T0 + 1801 * S))["action"] == "order"
    s = c.summary()
    assert s["unfilled"] == 1 and s["busy"] == 1


def test_reference_price_age_mixed_and_hours():
    c = core(hours="13-18")
    assert c.on_cascade(cascade(0, T0))["reason"] == "no_reference_price"  # no trade yet
    c.on_trade(0, T0, 100.0)
    assert c.on_cascade(cascade(0, T0 + 5 * S + 1))["reason"] == "no_reference_price"
    assert c.on_cascade(cascade(0, T0 + 5 * S, "mixed"))["reason"] == "mixed"
    c.on_trade(0, T0 + 4 * 3600 * S, 100.0)  # 18:00 UTC
    assert c.on_cascade(cascade(0, T0 + 4 * 3600 * S))["reason"] == "hours"
    assert c.on_cascade(cascade(0, T0 + 5 * S))["action"] == "order"


def test_btc_preset_applies_unless_explicit():
    c = core(("BTCUSDT", "ETHUSDT"))
    c.on_trade(0, T0, 100.0)
    c.on_trade(1, T0, 100.0)
    assert c.on_cascade(cascade(0, T0))["price"] == 100.0 * (1 - 0.0010)
    d = c.on_cascade(cascade(1, T0))
    assert d["price"] == 100.0 * (1 - 0.0015)
    assert c.par[0]["take_profit"] == 0.005 and c.par[1]["take_profit"] == 0.0015
    c2 = core(("BTCUSDT",), offset=0.002)
    assert c2.par[0]["offset"] == 0.002 and c2.par[0]["take_profit"] == 0.005


def test_max_symbols_counts_working_entries_and_positions():
    c = core(("A", "B", "C"), max_symbols=2)
    for i in range(3):
        c.on_trade(i, T0, 10.0)
    assert c.on_cascade(cascade(0, T0))["action"] == "order"
    assert c.on_cascade(cascade(1, T0))["action"] == "order"
    assert c.on_cascade(cascade(2, T0))["reason"] == "max_symbols"


def test_daily_loss_limit_stops_until_next_utc_day():
    c = core(daily_loss="0.05%", size=1.0, cooldown=0)
    c.on_trade(0, T0, 100.0)
    d = c.on_cascade(cascade(0, T0))
    c.on_trade(0, T0 + S, d["price"] - 0.01)
    c.on_trade(0, T0 + 2 * S, d["price"] * 0.99)  # stop: loss ~1 %
    c.on_trade(0, T0 + 3 * S, 100.0)
    assert c.on_cascade(cascade(0, T0 + 3 * S))["reason"] == "loss_limit"
    nxt = (T0 // DAY + 1) * DAY
    c.on_trade(0, nxt, 100.0)
    assert c.on_cascade(cascade(0, nxt))["action"] == "order"


def test_weekly_loss_limit_resets_on_monday():
    c = core(daily_loss=0, weekly_loss="0.05%", size=1.0, cooldown=0)
    c.on_trade(0, T0, 100.0)  # Thursday
    d = c.on_cascade(cascade(0, T0))
    c.on_trade(0, T0 + S, d["price"] - 0.01)
    c.on_trade(0, T0 + 2 * S, d["price"] * 0.99)
    sunday = T0 + 3 * DAY
    c.on_trade(0, sunday, 100.0)
    assert c.on_cascade(cascade(0, sunday))["reason"] == "loss_limit"
    monday = (T0 // DAY + 4) * DAY
    c.on_trade(0, monday, 100.0)
    assert c.on_cascade(cascade(0, monday))["action"] == "order"


def test_funding_longs_pay_positive_rate():
    c = core(take_profit="5%", stop_loss="5%")
    c.on_trade(0, T0, 100.0)
    d = c.on_cascade(cascade(0, T0))
    c.on_trade(0, T0 + S, d["price"] - 0.01)
    c.on_funding(0, T0 + 2 * S, 0.001)
    assert c.position(0)["funding"] == pytest.approx(0.001 * (d["price"] - 0.01) / d["price"])
    ev = c.on_trade(0, T0 + 1801 * S + 1, d["price"])
    assert ev[0]["return"] == pytest.approx(-2e-4 - 5.5e-4 - 0.001 * (d["price"] - 0.01) / d["price"], abs=1e-12)


def test_external_venue_mode():
    c = StrategyCore(Params(), ["ETHUSDT"], equity=100.0, mode="venue")
    c.on_trade(0, T0, 2000.0)
    d = c.on_cascade(cascade(0, T0))
    assert c.on_trade(0, T0 + S, 1.0) == []  # no simulated fills in venue mode
    f = c.external_entry_fill(0, T0 + 2 * S, d["price"])
    assert f["event"] == "entry_filled" and c.position(0)["status"] == "open"
    assert c.on_trade(0, T0 + 1802 * S, 2000.0) == [{"event": "hold_timeout_due", "symbol_idx": 0,
                                                     "ts_ns": T0 + 1802 * S}]
    x = c.external_close(0, T0 + 1803 * S, 2001.0, "timeout")
    assert x["exit_reason"] == "timeout" and x["fees"] == pytest.approx(2e-4 + 5.5e-4 * 2001.0 / d["price"], rel=1e-12)
    assert c.external_close(0, T0 + 1804 * S, 2001.0, "timeout") is None
    c.on_trade(0, T0 + 3000 * S, 2000.0)
    c.on_cascade(cascade(0, T0 + 3000 * S))
    assert c.external_reject(0, T0 + 3001 * S) is True
    assert c.position(0)["status"] == "flat"
    assert len(c.ledger()) == 1
    with pytest.raises(ValueError, match="reason"):
        c.external_close(0, T0, 1.0, "bogus")


def test_ended_records_are_not_decisions():
    from liqcore.types import CASCADE_DTYPE

    c = core()
    c.on_trade(0, T0, 100.0)
    rec = np.zeros(2, dtype=CASCADE_DTYPE)
    rec["record"] = [2, 1]
    rec["dominant"] = 1
    rec["confirm_recv_ns"] = T0
    assert c.on_cascade(rec[0])["reason"] == "not_confirmed"
    assert c.on_cascade(rec[1])["action"] == "order"
    assert c.summary()["cascades"] == 1


def test_bad_input_is_a_value_error():
    c = core()
    with pytest.raises(ValueError, match="symbol_idx"):
        c.on_trade(5, T0, 1.0)
    with pytest.raises(ValueError, match="price"):
        c.on_trade(0, T0, float("nan"))
    with pytest.raises(ValueError, match="dominant"):
        c.on_cascade(cascade(0, T0, "sideways"))
    with pytest.raises(ValueError, match="mode"):
        StrategyCore(Params(), ["X"], mode="live")


def test_core_reproduces_backtest_loop_event_by_event():
    """Feeding the merged stream one event at a time gives the ledger of the array loop."""
    n = 3
    ev, rec = random_market(7, n_events=3000, n_symbols=n)
    rows = param_rows(n, maker_fee=2e-4, taker_fee=5.5e-4, entry_timeout_ns=1800 * S, hold_timeout_ns=1800 * S)
    ledger, counts, port, _ = run_kernel(ev, rec, rows, equity=1000.0)
    assert len(ledger) > 5
    c = StrategyCore(Params(entry_timeout_ns=1800 * S, hold_timeout_ns=1800 * S, cooldown_ns=300 * S),
                     ["A", "B", "C"], equity=1000.0, venue="binance", ledger_capacity=2)
    order = sorted([(int(e["ts_recv"]), i, 0) for i, e in enumerate(ev) if e["kind"] in (2, 4)]
                   + [(int(r["confirm_recv_ns"]), int(r["event_index"]), 1) for r in rec])
    recs = {int(r["event_index"]): r for r in rec}
    for ts, i, is_rec in order:
        if is_rec:
            c.on_cascade(recs[i])
        elif ev[i]["kind"] == 2:
            c.on_trade(int(ev[i]["symbol_id"]), ts, float(ev[i]["price"]))
        else:
            c.on_funding(int(ev[i]["symbol_id"]), ts, float(ev[i]["price"]))
    c.on_clock(int(ev["ts_recv"][-1]))
    got = c.ledger()
    np.testing.assert_array_equal(got, ledger)
    np.testing.assert_array_equal(c.counts, counts)
    assert c.equity == port[0]["equity"]

"""Property tests: inverse (coin-margined) contracts in the execution model.  Every closed trade's P&L in the
coin is ``direction x contracts x contract size x (1/entry - 1/exit)`` less its fees (each on its own fill's
coin value) and funding; its USD P&L is that coin at the exit price; whole contracts when asked; the Numba kernel
and its pysrc twin agree on every ledger field; a linear contract (contract size 0) is untouched."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from simdata import random_market

from liqcore.types import Kind
from tests.kernels.test_execmodel_property import _rows, kernel, kernel_equals_twin, params_st, port_st, random_signals

pytestmark = pytest.mark.property


def _market(seed: int, n_sym: int, funding: bool):
    ev, _rec = random_market(seed, n_events=500, n_symbols=n_sym, funding_share=0.03 if funding else 0.0)
    return ev


@settings(deadline=None, max_examples=60)
@given(seed=hs.integers(0, 2**32 - 1), p=params_st, port=port_st, n_sym=hs.integers(1, 3),
       n_sig=hs.integers(1, 60), usd=hs.sampled_from([0.05, 0.1, 1.0]), whole=hs.sampled_from([0, 1]))
def test_the_kernel_matches_its_twin_on_inverse_contracts(seed, p, port, n_sym, n_sig, usd, whole):
    ev = _market(seed, n_sym, funding=True)
    sig = random_signals(seed, ev, n_sym, n_sig)
    rows = _rows(p, n_sym)
    for r in rows:
        r["contract_usd"], r["whole_contracts"] = usd, whole
    kernel_equals_twin(ev, sig, rows, port, n_sym, ("funding_coin", "notional", "p_qty"))


@settings(deadline=None, max_examples=60)
@given(seed=hs.integers(0, 2**32 - 1), p=params_st, n_sym=hs.integers(1, 3), n_sig=hs.integers(1, 60),
       usd=hs.sampled_from([0.05, 0.1]), fee=hs.sampled_from([0.0, 2e-4, 5e-4]), whole=hs.sampled_from([0, 1]))
def test_every_trades_coin_pnl_is_the_inverse_formula(seed, p, n_sym, n_sig, usd, fee, whole):
    ev = _market(seed, n_sym, funding=False)
    sig = random_signals(seed, ev, n_sym, n_sig)
    rows = _rows({**p, "maker_fee": fee, "taker_fee": fee}, n_sym)
    for r in rows:
        r["contract_usd"], r["whole_contracts"] = usd, whole
    ledger, *_ = kernel(ev, sig, rows, max_positions=0, leverage=0.0)
    for t in ledger:
        n_usd = t["contracts"] * usd
        assert t["contracts"] > 0 and np.isclose(n_usd, t["notional"], rtol=1e-12)
        if whole:
            assert t["contracts"] == np.round(t["contracts"])  # whole contracts
        e, x = t["entry_price"], t["exit_price"]
        want = t["side"] * n_usd * (1.0 / e - 1.0 / x) - fee * n_usd / e - fee * n_usd / x
        assert np.isclose(t["pnl_coin"], want, rtol=1e-12, atol=1e-15), (t["pnl_coin"], want)
        assert np.isclose(t["pnl"], t["pnl_coin"] * x, rtol=1e-12, atol=1e-15)  # USD at the exit price


@settings(deadline=None, max_examples=40)
@given(seed=hs.integers(0, 2**32 - 1), p=params_st, n_sym=hs.integers(1, 3), n_sig=hs.integers(1, 60))
def test_without_fees_an_inverse_trades_usd_pnl_is_the_linear_one_and_linear_rows_are_untouched(seed, p, n_sym,
                                                                                                n_sig):
    """Without fees or funding, ``direction x N x (1/entry - 1/exit) x exit`` = ``direction x N x (exit - entry) /
    entry``: the same trades, the same USD P&L; a linear run (contract size 0) writes no coin columns."""
    ev = _market(seed, n_sym, funding=False)
    ev = ev[ev["kind"] != int(Kind.FUNDING)]
    sig = random_signals(seed, ev, n_sym, n_sig)
    base = {**p, "maker_fee": 0.0, "taker_fee": 0.0, "lot": 0.0}
    lin, *_ = kernel(ev, sig, _rows(base, n_sym))
    rows = _rows(base, n_sym)
    for r in rows:
        r["contract_usd"], r["whole_contracts"] = 0.1, 0
    inv, *_ = kernel(ev, sig, rows)
    assert len(lin) == len(inv)
    assert (lin["contracts"] == 0).all() and (lin["pnl_coin"] == 0).all()
    for a, b in zip(lin, inv):
        assert (a["entry_ns"], a["exit_ns"], a["entry_price"], a["exit_price"]) == \
            (b["entry_ns"], b["exit_ns"], b["entry_price"], b["exit_price"])
        assert np.isclose(a["pnl"], b["pnl"], rtol=1e-9, atol=1e-15)


def test_paper_trading_reports_an_inverse_trades_pnl_in_the_coin_and_in_usd():
    """The paper core (the backtest's fill model, one event at a time) on Binance COIN-M BTCUSD_PERP: whole
    contracts of 100 USD, the exit's P&L in BTC the inverse formula and in USD at the exit, each with its unit."""
    from liqcore.backtest.core import StrategyCore
    from liqcore.config import Params

    s, t0 = 10**9, 1_767_225_600 * 10**9
    c = StrategyCore(Params.from_mapping({"maker_fee_bps": 2, "taker_fee_bps": 5}), ["binance:BTCUSD_PERP"],
                     equity=10_000.0, mode="paper")
    c.on_trade(0, t0, 30_000.0)
    assert c.on_cascade({"symbol_idx": 0, "ts_ns": t0 + s, "dominant": "long", "cascade_id": 0})["action"] == "order"
    events = [e for i, p in enumerate((29_900.0, 29_800.0)) for e in c.on_trade(0, t0 + (5 + 5 * i) * s, p)]
    ex = [e for e in events if e["event"] == "exit"]
    assert len(ex) == 1
    t = ex[0]
    n, e, x = t["contracts"] * 100.0, t["entry_price"], t["exit_price"]
    assert t["contracts"] == 25.0  # 25 % of 10,000 USD: 2,500 USD, 25 contracts
    assert t["pnl_coin"] == pytest.approx(n * (1 / e - 1 / x) - 2e-4 * n / e - 5e-4 * n / x, rel=1e-12)
    assert t["pnl"] == pytest.approx(t["pnl_coin"] * x, rel=1e-12)
    assert t["pnl_units"] == {"pnl_coin": "BTC", "pnl": "USD at the exit price"}
    lin = StrategyCore(Params.from_mapping({"maker_fee_bps": 2, "taker_fee_bps": 5}), ["binance:BTCUSDT"],
                       equity=10_000.0, mode="paper")  # the same market on a linear contract: as before
    lin.on_trade(0, t0, 30_000.0)
    lin.on_cascade({"symbol_idx": 0, "ts_ns": t0 + s, "dominant": "long", "cascade_id": 0})
    lx = [e for i, p in enumerate((29_900.0, 29_800.0)) for e in lin.on_trade(0, t0 + (5 + 5 * i) * s, p)
          if e["event"] == "exit"][0]
    assert "pnl_coin" not in lx
    assert lx["return"] == pytest.approx((x - e) / e - 2e-4 - 5e-4 * x / e, rel=1e-12)
    assert lx["equity"] == pytest.approx(10_000.0 + lx["pnl"], rel=1e-12)  # (its size on the lot: 0.083 BTC)


def test_the_verdict_says_the_coin_pnl_with_its_unit_and_a_linear_one_is_unchanged():
    from liqcore.backtest.report import verdict

    base = {"total_return": -0.0028, "trades": 3, "days": 2}
    assert "coin" not in verdict(base)
    v = verdict({**base, "pnl_coin": {"BTC": {"pnl": -0.00088, "unit": "BTC", "trades": 3}}})
    assert "In the coin (inverse contracts): -0.00088 BTC over 3 trades" in v and "USD at each exit's price" in v


def test_a_bybit_inverse_contract_is_one_usd_and_its_pnl_in_the_coin():
    """Bybit's inverse ``BTCUSD`` (1 USD a contract) through the paper core: 2,500 contracts, P&L in BTC."""
    from liqcore.backtest.core import StrategyCore
    from liqcore.config import Params

    s, t0 = 10**9, 1_767_225_600 * 10**9
    c = StrategyCore(Params.from_mapping({"maker_fee_bps": 2, "taker_fee_bps": 5}), ["bybit:BTCUSD"],
                     equity=10_000.0, mode="paper")
    c.on_trade(0, t0, 30_000.0)
    c.on_cascade({"symbol_idx": 0, "ts_ns": t0 + s, "dominant": "long", "cascade_id": 0})
    t = [e for i, p in enumerate((29_900.0, 29_800.0)) for e in c.on_trade(0, t0 + (5 + 5 * i) * s, p)
         if e["event"] == "exit"][0]
    e, x = t["entry_price"], t["exit_price"]
    assert t["contracts"] == 2_500.0 and t["pnl_units"]["pnl_coin"] == "BTC"
    assert t["pnl_coin"] == pytest.approx(2_500.0 * (1 / e - 1 / x) - 2e-4 * 2_500.0 / e - 5e-4 * 2_500.0 / x,
                                          rel=1e-12)

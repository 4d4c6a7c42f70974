"""Property tests: inverse (coin-margined) contracts in the execution model.  Every closed trade's P&L in the
coin is ``direction x contracts x contract size x (1/entry - 1/exit)`` less its fees (each on its own fill's
coin value) and funding; its USD P&L is that coin at the exit price; whole contracts when asked; the Numba kernel
and its pysrc twin agree on every ledger field; a linear contract (contract size 0) is untouched.  An inverse
symbol's equity is its margin coin's: started at the run's equity (USD) / the coin's first entry price, moved by each
trade's coin P&L; sizing from equity is that coin equity x size at the entry price, and the daily / weekly loss limits
are fractions of it."""
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
       n_sig=hs.integers(1, 60), usd=hs.sampled_from([0.05, 0.1, 1.0]), whole=hs.sampled_from([0, 1]),
       shared=hs.booleans(), linear=hs.sampled_from([-1, 0, 1]))
def test_the_kernel_matches_its_twin_on_inverse_contracts(seed, p, port, n_sym, n_sig, usd, whole, shared, linear):
    """Every symbol inverse (one margin coin for all, or one each), or one of them linear beside them."""
    ev = _market(seed, n_sym, funding=True)
    sig = random_signals(seed, ev, n_sym, n_sig)
    rows = _rows(p, n_sym)
    for sid, r in enumerate(rows):
        if sid != linear:
            r["contract_usd"], r["whole_contracts"] = usd, whole
            r["margin_sid"] = min(j for j in range(n_sym) if j != linear) if shared else sid
    kernel_equals_twin(ev, sig, rows, port, n_sym, ("funding_coin", "notional", "p_qty", "coin_equity",
                                                    "coin_day_start", "coin_week_start", "coin_day", "coin_week"))


def _one_coin(p, usd, fee=0.0):
    rows = _rows({**p, "maker_fee": fee, "taker_fee": fee, "lot": 0.0, "min_qty": 0.0, "min_notional": 0.0,
                  "max_qty": 0.0}, 1)  # sizes as computed (no lot)
    rows[0]["contract_usd"], rows[0]["whole_contracts"], rows[0]["margin_sid"] = usd, 0, 0
    return rows


@settings(deadline=None, max_examples=60)
@given(seed=hs.integers(0, 2**32 - 1), p=params_st, n_sig=hs.integers(1, 60), usd=hs.sampled_from([0.05, 0.1]),
       fee=hs.sampled_from([0.0, 5e-4]), equity=hs.sampled_from([1.0, 3.0]), size=hs.sampled_from([0.25, 1.0]))
def test_an_inverse_runs_equity_is_its_margin_coins_and_sizes_its_entries(seed, p, n_sig, usd, fee, equity, size):
    """One inverse symbol: the coin equity after trade k is ``equity / entry_0 + sum(pnl_coin[:k+1])`` (coin);
    trade k's size in USD is ``coin equity before it x size x size multiplier x its entry price``."""
    ev = _market(seed, 1, funding=True)
    sig = random_signals(seed, ev, 1, n_sig)
    ledger, _c, _pt, st, _ = kernel(ev, sig, _one_coin(p, usd, fee), equity=equity, size=size, daily_loss=0.0,
                                    weekly_loss=0.0, leverage=0.0, notional=0.0)
    coin = equity / ledger["entry_price"][0] if len(ledger) else np.nan
    for t in ledger:
        assert np.isclose(t["notional"], coin * size * t["size_mult"] * t["entry_price"], rtol=1e-12)
        coin += t["pnl_coin"]
        assert np.isclose(t["equity_coin_after"], coin, rtol=1e-12, atol=1e-15)
    if len(ledger):  # (a position still open at the end has started the account without a ledger row)
        assert np.isclose(st[0]["coin_equity"], coin, rtol=1e-12, atol=1e-15)


@settings(deadline=None, max_examples=60)
@given(seed=hs.integers(0, 2**32 - 1), p=params_st, n_sig=hs.integers(1, 80), usd=hs.sampled_from([0.05, 0.1]),
       daily=hs.sampled_from([0.0005, 0.002, 0.01]), weekly=hs.sampled_from([0.0, 0.003]))
def test_an_inverse_symbols_loss_limits_are_fractions_of_its_coin_equity(seed, p, n_sig, usd, daily, weekly):
    """No trade of an inverse symbol was entered on a signal while its coin equity was down by ``daily`` of its
    value at the start of the signal's UTC day (``weekly``: of its ISO week), each anchor recomputed from the
    ledger's coin P&L; and without the limits, every refusal counted ``loss_limit`` would have been the formula's."""
    ev = _market(seed, 1, funding=False)
    sig = random_signals(seed, ev, 1, n_sig)
    ledger, counts, *_ = kernel(ev, sig, _one_coin(p, usd, 5e-4), daily_loss=daily, weekly_loss=weekly)
    day_ns = 86_400 * 10**9
    if not len(ledger):
        return
    coin0 = 1.0 / ledger["entry_price"][0]
    for k in range(1, len(ledger)):
        ts = int(ledger["signal_ns"][k])
        done = ledger[:k]
        eq = coin0 + done["pnl_coin"].sum()
        d0 = coin0 + done["pnl_coin"][done["exit_ns"] // day_ns < ts // day_ns].sum()
        w0 = coin0 + done["pnl_coin"][(done["exit_ns"] // day_ns + 3) // 7 < (ts // day_ns + 3) // 7].sum()
        assert not (eq - d0 <= -daily * d0 or (weekly > 0 and eq - w0 <= -weekly * w0)), (k, eq, d0, w0)


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
    fixed = dict(notional=0.1, daily_loss=0.0, weekly_loss=0.0)  # the same sizes: a fixed USD notional, no limits
    lin, *_ = kernel(ev, sig, _rows(base, n_sym), **fixed)
    rows = _rows(base, n_sym)
    for sid, r in enumerate(rows):
        r["contract_usd"], r["whole_contracts"], r["margin_sid"] = 0.1, 0, sid
    inv, *_ = kernel(ev, sig, rows, **fixed)
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
    fee = 2e-4 * n / e + 5e-4 * n / x  # a limit (maker) entry, a stop (taker) exit: BTC
    assert t["fees_coin"] == pytest.approx(fee, rel=1e-12) and t["fees_usd"] == pytest.approx(fee * x, rel=1e-12)
    assert t["pnl_units"] == {"pnl_coin": "BTC", "equity_coin": "BTC", "fees_coin": "BTC",
                              "pnl": "USD at the exit price", "fees_usd": "USD at the exit price",
                              "equity": "USD (inverse P&L at each exit's price)"}
    assert t["equity_coin"] == pytest.approx(10_000.0 / e + t["pnl_coin"], rel=1e-12)  # the coin's equity, BTC
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


def _paper_loss(sym: str, daily: float):
    """Paper core, one symbol: a long at 29,970 stopped at 29,672 (no fees), then a signal the same day."""
    from liqcore.backtest.core import StrategyCore
    from liqcore.config import Params

    s, t0 = 10**9, 1_767_225_600 * 10**9
    c = StrategyCore(Params.from_mapping({"maker_fee_bps": 0, "taker_fee_bps": 0, "daily_loss": daily,
                                          "stop_loss": 0.0099, "size": 1.0, "cooldown": 0}),
                     [sym], equity=29_970.0, mode="paper")
    c.on_trade(0, t0, 30_000.0)
    c.on_cascade({"symbol_idx": 0, "ts_ns": t0 + s, "dominant": "long", "cascade_id": 0})
    ex = [e for i, p in enumerate((29_900.0, 29_672.0)) for e in c.on_trade(0, t0 + (5 + 5 * i) * s, p)
          if e["event"] == "exit"]
    c.on_trade(0, t0 + 599 * s, 30_000.0)
    return ex[0], c.on_cascade({"symbol_idx": 0, "ts_ns": t0 + 600 * s, "dominant": "long", "cascade_id": 1})


def test_the_daily_loss_limit_of_an_inverse_symbol_is_in_its_coin():
    """Entry 29,970, exit 29,672: the coin account (1 BTC) lost 299 x 100 x (1/29,970 - 1/29,672) = 0.01002 BTC,
    1.002 % of it: a 1 % daily limit refuses the next signal, though in USD at the exit (297.30 of 29,970 USD)
    it is 0.992 %.  The linear contract's loss is 0.994 %: its next signal is an order, as before."""
    t, nxt = _paper_loss("binance:BTCUSD_PERP", 0.01)
    assert t["contracts"] == 299.0 and t["equity_coin"] == pytest.approx(1.0 + t["pnl_coin"], rel=1e-12)
    assert -t["pnl_coin"] / 1.0 > 0.01 > -t["pnl"] / 29_970.0  # over the limit in BTC, under it in USD
    assert nxt["reason"] == "loss_limit"
    lt, lnxt = _paper_loss("binance:BTCUSDT", 0.01)
    assert lt["pnl"] == pytest.approx(-298.0, rel=1e-12) and lnxt["action"] == "order"
    assert lnxt["notional"] == pytest.approx(29_672.0, rel=1e-12)  # size 1 x the USD equity


def test_an_inverse_symbols_next_entry_is_sized_from_its_coin_equity():
    """Below the limit (2 %), the next entry is size x the coin equity at its limit: (1 - 0.01002) BTC x 29,970."""
    t, nxt = _paper_loss("binance:BTCUSD_PERP", 0.02)
    assert nxt["action"] == "order"
    assert nxt["notional"] == pytest.approx(t["equity_coin"] * nxt["price"], rel=1e-12)
    assert nxt["notional"] != pytest.approx(29_970.0 + t["pnl"], rel=1e-6)  # not the USD figure at the exit

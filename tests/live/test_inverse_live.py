"""Inverse contracts in the live path: the order manager sizes an inverse entry in whole contracts (the venue's
qty: Bybit ``BTCUSD`` 1 USD, Binance COIN-M ``BTCUSD_PERP`` 100 USD a contract), a linear one as before; the paper
venue's fills of an inverse contract carry their fees in the coin, the figures the core's exit reports."""
from __future__ import annotations

import math
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from liqcore.backtest.core import StrategyCore
from liqcore.config import Params
from liqcore.execution.arrays import fill_usd, fill_value
from liqcore.live.orders import OrderManager
from liqcore.venues.gateway import OrderIntent
from liqcore.venues.instruments import Instrument

S = 1_000_000_000
T0 = 1_767_225_600 * S
INF = float("inf")
RULES = {"BTCUSD": Instrument("BTCUSD", 0.5, 1.0, 1.0, INF, 0.0),
         "BTCUSD_PERP": Instrument("BTCUSD_PERP", 0.1, 1.0, 1.0, INF, 0.0),
         "BTCUSDT": Instrument("BTCUSDT", 0.1, 0.001, 0.001, INF, 5.0)}


def manager(symbols):
    core = StrategyCore(Params.from_mapping({}), symbols, equity=10_000.0, mode="venue")
    names = [s.split(":")[1] for s in symbols]
    return OrderManager(core, None, None, None, {}, [], {n: (i, i) for i, n in enumerate(names)}, paper=False,
                        exits="venue", notional=None, instruments={n: RULES[n] for n in names}, now_ns=time.time_ns,
                        on_error=lambda: None, on_entry_ended=lambda *a: None, liq_rate=None)


@pytest.mark.parametrize("notional", [0.4, 99.9, 2_500.7, 31_234.5])
def test_an_inverse_entry_is_whole_contracts_and_a_linear_one_is_as_before(notional):
    om = manager(["bybit:BTCUSD", "binance:BTCUSD_PERP", "binance:BTCUSDT"])
    res = {"side": "buy", "price": 29_955.3, "ref_price": 30_000.0, "notional": notional}
    for ci, (sym, venue, usd) in enumerate((("BTCUSD", "bybit", 1.0), ("BTCUSD_PERP", "binance", 100.0))):
        intent, why, _ = om.entry_intent(sym, venue, res, ci, 1, T0, 0)
        n = math.floor(notional / usd)
        if n < 1:
            assert intent is None and why == "below_min_qty"
        else:
            assert why == "" and intent.qty == n  # contracts, not coins
    lin, why, _ = om.entry_intent("BTCUSDT", "binance", res, 2, 1, T0, 0)
    want = RULES["BTCUSDT"].order_qty(notional, lin.price if lin is not None else 29_955.3)
    assert (lin.qty if lin is not None else 0.0) == want and (lin is not None or why == "below_min_notional"
                                                              or why == "below_min_qty")


def test_the_paper_venues_inverse_fills_pay_their_fees_in_the_coin():
    """Paper trading ``BTCUSD_PERP``: a post-only BUY of 25 contracts (2,500 USD) filled at its limit (maker 2 bps
    of 2,500 / entry BTC), stopped out (taker 5 bps of 2,500 / exit BTC): the fills' fees are the core's coin fees."""
    from liqcore.live.paper import PaperGateway

    c = StrategyCore(Params.from_mapping({"maker_fee_bps": 2, "taker_fee_bps": 5}), ["binance:BTCUSD_PERP"],
                     equity=10_000.0, mode="paper")
    gw = PaperGateway(c)
    fills, exits = [], []
    gw.on_fill(fills.append)
    c.on_trade(0, T0, 30_000.0)
    d = c.on_cascade({"symbol_idx": 0, "ts_ns": T0 + S, "dominant": "long", "cascade_id": 0})
    assert d["action"] == "order"
    gw.register(OrderIntent("BTCUSD_PERP", "buy", 25.0, d["price"], "lc-BTC-1-abc", decision_ns=T0 + S))
    for i, p in enumerate((29_900.0, 29_800.0)):
        evs = c.on_trade(0, T0 + (5 + 5 * i) * S, p)
        exits += [e for e in evs if e["event"] == "exit"]
        gw.apply(evs)
    (ex,) = exits
    entry, out = fills
    e, x = ex["entry_price"], ex["exit_price"]
    assert (entry.qty, out.qty) == (25.0, 25.0) and ex["contracts"] == 25.0
    assert entry.fee == pytest.approx(2e-4 * 2_500.0 / e, rel=1e-12)
    assert out.fee == pytest.approx(5e-4 * 2_500.0 / x, rel=1e-12)
    assert entry.fee + out.fee == pytest.approx(ex["fees_coin"], rel=1e-9)


@settings(deadline=None, max_examples=100)
@given(qty=hs.floats(0, 1e6), price=hs.floats(1e-3, 1e6), cu=hs.sampled_from([0.0, 1.0, 10.0, 100.0]))
def test_a_fills_value_and_usd_are_the_contracts_formula_or_qty_times_price(qty, price, cu):
    if cu > 0:
        assert fill_value(qty, price, cu) == qty * cu / price and fill_usd(qty, price, cu) == qty * cu
    else:
        assert fill_value(qty, price, cu) == qty * price == fill_usd(qty, price, cu)


def test_the_journal_report_gives_inverse_fees_in_usd_and_the_coin_pnl(tmp_path):
    """A session on Bybit's ``BTCUSD`` (1 USD a contract): the fee rate is the fills' coin fees at their price over
    their contracts' USD (2 bps, not 2 / price bps), and the trades' P&L and fees in BTC are summed with their unit."""
    from liqcore.live.journal import Journal
    from liqcore.live.report import SESSION_NOTE, format_report, journal_report
    from liqcore.venues.gateway import Fill

    j = Journal(tmp_path / "j.db")
    j.note(SESSION_NOTE, {"mode": "live", "venue": "bybit", "symbols": ["BTCUSD"], "maker_fee_bps": 2.0}, T0)
    e, x = 30_000.0, 30_300.0
    j.fill(Fill("c1", "BTCUSD", "buy", e, 2_500.0, 2e-4 * 2_500.0 / e, True, "x1", "entry", T0 + S))
    j.fill(Fill("c1", "BTCUSD", "sell", x, 2_500.0, 2e-4 * 2_500.0 / x, True, "x2", "tp", T0 + 2 * S))
    pnl = 2_500.0 * (1 / e - 1 / x) - 2e-4 * 2_500.0 * (1 / e + 1 / x)
    j.note("trade", {"symbol": "BTCUSD", "pnl": pnl * x, "pnl_coin": pnl, "fees_coin": 2e-4 * 2_500.0 * (1 / e + 1 / x),
                     "pnl_units": {"pnl_coin": "BTC"}}, T0 + 2 * S, key="BTCUSD")
    j.close()
    rep = journal_report(tmp_path / "j.db")
    assert rep["fees"]["maker"]["bps"] == pytest.approx(2.0, rel=1e-12)
    assert rep["fees"]["maker"]["notional"] == pytest.approx(5_000.0, rel=1e-12)  # 2 x 2,500 USD
    btc = rep["win_rate"]["pnl_coin"]["BTC"]
    assert btc["pnl"] == pytest.approx(pnl, rel=1e-12) and btc["trades"] == 1 and btc["unit"] == "BTC"
    assert f"inverse contracts: pnl {pnl:+.8g} BTC" in format_report(rep)


def test_binance_coin_m_symbols_are_refused_live_in_one_line():
    """The Binance gateway sends USD-M (``/fapi``) orders: a COIN-M symbol is refused when the gateway is built,
    naming it, before any request; a USD-M symbol builds as before."""
    from liqcore.venues.binance.gateway import BinanceGateway

    with pytest.raises(ValueError, match=r"^symbols: BTCUSD_PERP: Binance COIN-M \(inverse\) futures are not traded"):
        BinanceGateway("k" * 16, "s" * 16, "http://127.0.0.1:9", symbols=["ETHUSDT", "BTCUSD_PERP"])
    assert BinanceGateway("k" * 16, "s" * 16, "http://127.0.0.1:9", symbols=["ETHUSDT"]).symbols == ["ETHUSDT"]


def test_okx_inverse_swaps_are_refused_live_in_one_line():
    """OKX lists ``BTC-USD-SWAP`` with ``ctType`` inverse (ctVal 100 USD, settled in BTC): the OKX gateway, which sizes
    linear swaps, refuses to start on it, naming it, rather than sizing it as coins."""
    import asyncio

    from liqcore.venues.gateway import GatewayError
    from liqcore.venues.okx.fake import OKX_INSTRUMENTS, FakeOkx
    from tests.live.test_okx_gateway import make_gw

    inst = {**OKX_INSTRUMENTS, "BTC-USD-SWAP": {"ctVal": 100.0, "lotSz": 1.0, "minSz": 1.0, "tickSz": 0.1,
                                                "instIdCode": 10001}}

    async def main():
        async with FakeOkx(instruments=inst) as fo:
            gw = make_gw(fo, symbols=["ETHUSDT", "BTC-USD-SWAP"])
            with pytest.raises(GatewayError, match="BTC-USD-SWAP is an inverse"):
                await gw.start()
            await gw.close()
            ok = make_gw(fo)  # the linear swaps as before
            await ok.start()
            assert ok.instrument("ETHUSDT").qty_step == pytest.approx(0.001)
            await ok.close()

    asyncio.run(asyncio.wait_for(main(), 60))

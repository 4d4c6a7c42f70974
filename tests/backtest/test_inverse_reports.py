"""Reports of inverse contracts: a backtest's trades and summary give the P&L and
the fees both in the margin coin and in USD at the exit price, each with its unit."""
from __future__ import annotations

import numpy as np
import pytest

from liqcore.backtest.report import verdict
from liqcore.backtest.run import simulate_signals
from liqcore.config import Params
from liqcore.strategies import ENTRY_MARKET, empty_signals
from liqcore.types import EVENT_DTYPE, Kind, Side, SymbolRegistry

S = 1_000_000_000
T0 = 1_767_225_600 * S + 10 * 3600 * S
FEES = {"maker_fee_bps": 2, "taker_fee_bps": 5, "daily-loss": 0, "weekly-loss": 0, "cooldown": 0}


def _run(symbol: str, prices=(30_000.0, 30_000.0, 30_400.0, 30_000.0, 30_000.0, 29_500.0), venue: str = "binance"):
    ev = np.zeros(len(prices), dtype=EVENT_DTYPE)
    for i, px in enumerate(prices):
        ev[i] = (T0 + i * S, T0 + i * S, px, 1.0, 0, Side.BUY, Kind.TRADE, 2, 0)
    sig = empty_signals(2)
    sig["ts_ns"], sig["ev_idx"], sig["symbol_id"] = [T0, T0 + 3 * S], [0, 3], 0
    sig["direction"], sig["entry"] = [1, -1], ENTRY_MARKET
    sig["take_profit"], sig["stop_loss"] = 0.01, 0.01
    reg = SymbolRegistry([(venue, symbol)])
    return simulate_signals(ev, sig, reg, Params.from_mapping(FEES), equity=30_000.0)


def test_a_backtests_inverse_trades_and_summary_give_pnl_and_fees_in_the_coin_and_in_usd():
    """Two trades of 75 contracts (a quarter of 30,000 USD): a long out at its take-profit (maker), a short out at
    its take-profit; each trade's fees in BTC are each fill's fee on its own coin value, in USD that at the exit;
    the summary sums both per coin, each with its unit, and the verdict says the fees in BTC."""
    res = _run("BTCUSD_PERP")
    trades = res.trades()
    assert len(trades) == 2
    for t in trades:
        n, e, x = t["contracts"] * 100.0, t["entry_price"], t["exit_price"]
        assert t["contracts"] == 75.0 and t["exit_reason"] == "take_profit"
        fee = 5e-4 * n / e + 2e-4 * n / x  # taker in, maker out: BTC
        assert t["fees_coin"] == pytest.approx(fee, rel=1e-12)
        assert t["fees_usd"] == pytest.approx(fee * x, rel=1e-12)
        assert t["pnl_coin"] == pytest.approx((1 if t["side"] == "long" else -1) * n * (1 / e - 1 / x) - fee,
                                              rel=1e-12)
        assert t["units"]["fees_coin"] == "BTC" and t["units"]["fees_usd"] == "USD at the exit price"
    btc = res.summary()["pnl_coin"]["BTC"]
    assert btc["fees"] == pytest.approx(sum(t["fees_coin"] for t in trades), rel=1e-12)
    assert btc["fees_usd"] == pytest.approx(sum(t["fees_usd"] for t in trades), rel=1e-12)
    assert btc["pnl"] == pytest.approx(sum(t["pnl_coin"] for t in trades), rel=1e-12)
    assert btc["pnl_usd"] == pytest.approx(sum(t["pnl_usd"] for t in trades), rel=1e-12)
    assert btc["units"] == {"pnl": "BTC", "fees": "BTC", "pnl_usd": "USD at each exit's price",
                            "fees_usd": "USD at each exit's price", "equity_start": "BTC", "equity_end": "BTC"}
    assert f"fees {btc['fees']:.8g} BTC ({btc['fees_usd']:.2f} USD at each exit's price)" in verdict(res.summary())


def test_a_linear_backtest_reports_no_coin_fields():
    res = _run("BTCUSDT")
    assert len(res.trades()) == 2 and "pnl_coin" not in res.summary()
    assert not {"fees_coin", "fees_usd", "pnl_coin"} & set(res.trades()[0])



@pytest.mark.parametrize("venue,symbols,unit", [("binance", ["BTCUSD_PERP"], "USD"), ("binance", ["BTCUSDT"], "USDT"),
                                                ("okx", ["ETH-USDT-SWAP"], "USDT"), ("gate", ["BTC_USDT"], "USDT"),
                                                ("binance", ["ETH-USDT-SWAP"], "quote units"),
                                                ("binance", ["BTCUSD_PERP", "BTCUSDT"], "quote units")])
def test_the_printed_summary_gives_the_equitys_unit(venue, symbols, unit):
    """``equity 30000 -> 30012.3 USD``: the account's equity in its unit (USDT on a USDT-margined contract, USD on
    a coin-margined one, their P&L at each exit's price; "quote units" for a mix, or a symbol its venue does not
    name as one of its perpetuals); the line named none before."""
    import io

    from rich.console import Console

    from liqcore.backtest.report import equity_unit, print_summary

    res = _run(symbols[0], venue=venue)
    if len(symbols) > 1:  # (the unit alone: a second symbol with the first one's counts)
        mixed = _run(symbols[0])
        mixed.registry = SymbolRegistry([(venue, s) for s in symbols])
        mixed.counts = np.vstack([res.counts, res.counts])
        assert equity_unit(mixed) == unit
        return
    assert equity_unit(res) == unit
    buf = io.StringIO()
    print_summary(res, Console(file=buf, width=200), guide=False)
    s = res.summary()
    assert f"equity {s['equity_start']:.6g} -> {s['equity_end']:.6g} {unit}; open at end" in buf.getvalue()

"""COIN-M (inverse) files of data.binance.vision through ``convert``: quantities are contracts, read as base units
``contracts x contract size / price`` (a BTCUSD contract is 100 USD, another pair's 10 USD), never as coins; a file
whose kind or contract type cannot be told is refused in one line."""
from __future__ import annotations

import numpy as np
import pytest

from liqcore.cli import main
from liqcore.io import load_files
from liqcore.types import Kind, Side
from liqcore.venues.binance.contracts import contract_usd, is_coin_m
from tests.download._archive_server import AGG_HEADER, zipped
from tests.download._coinm_archive import CM_TRADES_HEADER, LIQ_HEADER

T0 = 1704067200000  # 2024-01-01


def _write(tmp_path, name: str, text: str):
    p = tmp_path / name
    p.write_bytes(zipped(name, text))
    return p


def test_the_contract_sizes():
    assert contract_usd("BTCUSD_PERP") == 100.0 and contract_usd("BTCUSD_241227") == 100.0
    assert contract_usd("ETHUSD_PERP") == 10.0 and contract_usd("SOLUSD_PERP") == 10.0
    assert not is_coin_m("BTCUSDT") and not is_coin_m("BTCUSDT_240628") and not is_coin_m("ETHBTC")
    with pytest.raises(ValueError, match="not a Binance COIN-M symbol"):
        contract_usd("BTCUSDT")


def test_a_coin_m_day_of_aggtrades_is_read_in_usd_not_coins(tmp_path):
    """One BTCUSD_PERP aggTrade of 56 contracts at 42,000: 5,600 USD (0.1333 BTC), not 56 BTC (2.35 M USD)."""
    p = _write(tmp_path, "BTCUSD_PERP-aggTrades-2024-01-01.zip",
               AGG_HEADER + f"\n1,42000.0,56,1,1,{T0 + 5},true\n2,42001.0,3,2,2,{T0 + 9},false\n")
    ev = load_files([p]).events
    assert (ev["kind"] == int(Kind.TRADE)).all()
    np.testing.assert_allclose(ev["price"] * ev["qty"], [5600.0, 300.0], rtol=1e-12)
    np.testing.assert_allclose(ev["qty"], [5600.0 / 42000.0, 300.0 / 42001.0], rtol=1e-12)
    assert ev["side"].tolist() == [int(Side.SELL), int(Side.BUY)]


def test_coin_m_trades_use_the_contracts_and_a_usd_m_aggtrades_file_is_unchanged(tmp_path):
    p = _write(tmp_path, "ETHUSD_PERP-trades-2024-01-01.zip",
               CM_TRADES_HEADER + f"\n7,2000.0,12,0.06,{T0 + 1},false\n")
    ev = load_files([p]).events
    np.testing.assert_allclose(ev["price"] * ev["qty"], [120.0], rtol=1e-12)  # 12 contracts x 10 USD
    q = _write(tmp_path, "BTCUSDT-aggTrades-2024-01-01.zip", AGG_HEADER + f"\n1,42000.0,0.5,1,1,{T0 + 5},true\n")
    ev = load_files([q]).events
    assert ev["qty"].tolist() == [0.5]  # linear: coins as written


def test_liquidation_snapshot_pairs_collapse_sides_follow_the_liquidated_position_fills_at_the_average(tmp_path):
    rows = [f"{T0 + 10},SELL,LIMIT,IOC,7,41500.0,41800.5,FILLED,6,7",
            f"{T0 + 10},SELL,LIMIT,IOC,7,41500.0,41800.5,FILLED,6,7",
            f"{T0 + 2000},BUY,LIMIT,IOC,3,42500.0,42100.0,FILLED,3,3",
            f"{T0 + 2000},BUY,LIMIT,IOC,3,42500.0,42100.0,FILLED,3,3",
            f"{T0 + 2000},BUY,LIMIT,IOC,4,42500.0,42100.0,FILLED,4,4",  # a second one in the same ms: kept
            f"{T0 + 2000},BUY,LIMIT,IOC,4,42500.0,42100.0,FILLED,4,4",
            f"{T0 + 3000},BUY,LIMIT,IOC,5,42500.0,0,EXPIRED,0,0"]
    p = _write(tmp_path, "BTCUSD_PERP-liquidationSnapshot-2024-01-01.zip", LIQ_HEADER + "\n" + "\n".join(rows))
    r = load_files([p])
    ev = r.events
    assert ev["kind"].tolist() == [int(Kind.LIQUIDATION)] * 3
    assert ev["side"].tolist() == [int(Side.LONG), int(Side.SHORT), int(Side.SHORT)]
    assert ev["price"].tolist() == [41800.5, 42100.0, 42100.0]  # average_price, not the IOC limit
    np.testing.assert_allclose(ev["price"] * ev["qty"], [700.0, 300.0, 400.0], rtol=1e-12)
    assert r.rejects.get("duplicate") == 3 and r.rejects.get("no_fill") == 1


def test_a_usd_m_liquidation_snapshot_is_read_in_coins(tmp_path):
    p = _write(tmp_path, "BTCUSDT-liquidationSnapshot-2024-01-01.zip",
               LIQ_HEADER + f"\n{T0 + 10},BUY,LIMIT,IOC,0.5,42500.0,42100.0,FILLED,0.5,0.5\n")
    ev = load_files([p]).events
    assert ev["qty"].tolist() == [0.5] and ev["side"].tolist() == [int(Side.SHORT)]


@pytest.mark.parametrize("name, text, why", [
    ("BTCUSDT-trades-2024-01-01.zip", CM_TRADES_HEADER + f"\n7,42000.0,12,0.03,{T0 + 1},false\n",
     "cannot tell the contract type: its columns are COIN-M (base_qty), its symbol BTCUSDT is USD-M"),
    ("BTCUSD_PERP-trades-2024-01-01.zip", "id,price,qty,quote_qty,time,is_buyer_maker\n"
     f"7,42000.0,12,504000,{T0 + 1},false\n",
     "cannot tell the contract type: its columns are USD-M (quote_qty), its symbol BTCUSD_PERP is COIN-M"),
    ("BTCUSD_PERP-metrics-2024-01-01.zip", "create_time,symbol,sum_open_interest,sum_open_interest_value\n"
     "2024-01-01 00:05:00,BTCUSD_PERP,3000000,7000\n", "COIN-M metrics (BTCUSD_PERP): open interest in contracts"),
    ("day1.zip", AGG_HEADER + f"\n1,42000.0,56,1,1,{T0 + 5},true\n", "cannot tell the symbol"),
])
def test_a_file_whose_kind_or_contract_type_cannot_be_told_is_refused_in_one_line(tmp_path, capsys, name, text, why):
    p = _write(tmp_path, name, text)
    assert main(["convert", str(p), "--out", str(tmp_path / "out.parquet")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert any(why in line for line in err), err
    assert not (tmp_path / "out.parquet").exists()


def test_a_forced_usd_m_trades_format_does_not_read_a_coin_m_file(tmp_path, capsys):
    p = _write(tmp_path, "BTCUSD_PERP-trades-2024-01-01.zip", CM_TRADES_HEADER + f"\n7,42000.0,12,0.03,{T0 + 1},false\n")
    assert main(["convert", str(p), "--format", "binance-trades", "--out", str(tmp_path / "o.parquet")]) != 0
    err = capsys.readouterr().err
    assert "cannot tell the contract type" in err or "does not fit --format binance-trades" in err
    assert not (tmp_path / "o.parquet").exists()


def test_tardis_binance_delivery_files_are_read_in_usd_not_coins(tmp_path):
    """tardis.dev's binance-delivery (COIN-M) trades, liquidations and quotes: amounts as the exchange gives them,
    in contracts; read as base units at each row's price."""
    import gzip

    us = T0 * 1000
    trades = ("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
              f"binance-delivery,BTCUSD_PERP,{us + 5},{us + 900},11,buy,42000.0,56\n"
              f"binance-delivery,ETHUSD_PERP,{us + 7},{us + 950},12,sell,2000.0,12\n")
    (tmp_path / "binance-delivery_trades_2024-01-01_BTCUSD_PERP.csv.gz").write_bytes(gzip.compress(trades.encode()))
    quotes = ("exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n"
              f"binance-delivery,BTCUSD_PERP,{us + 5},{us + 900},30,42000.1,42000.0,20\n")
    (tmp_path / "binance-delivery_quotes_2024-01-01_BTCUSD_PERP.csv.gz").write_bytes(gzip.compress(quotes.encode()))
    ev = load_files(sorted(tmp_path.glob("*.csv.gz"))).events
    tr = ev[ev["kind"] == int(Kind.TRADE)]
    np.testing.assert_allclose(np.sort(tr["price"] * tr["qty"]), [120.0, 5600.0], rtol=1e-12)
    qu = ev[ev["kind"] == int(Kind.QUOTE)]
    np.testing.assert_allclose(np.sort(qu["price"] * qu["qty"]), [2000.0, 3000.0], rtol=1e-12)


def test_a_coin_m_force_order_in_a_log_is_read_in_usd_not_coins(tmp_path):
    """The COIN-M stream's forceOrder (``s`` BTCUSD_PERP, ``z`` in contracts) in a Binance log line."""
    line = ('2024-01-01 00:00:01 Liquidation: {"s":"BTCUSD_PERP","ps":"BTCUSD","S":"SELL","o":"LIMIT","f":"IOC",'
            '"q":"7","p":"41500.0","ap":"41800.5","X":"FILLED","l":"7","z":"7","T":1704067201000}\n'
            '2024-01-01 00:00:02 Liquidation: {"s":"BTCUSDT","S":"BUY","o":"LIMIT","f":"IOC",'
            '"q":"0.5","p":"42500.0","ap":"42100.0","X":"FILLED","l":"0.5","z":"0.5","T":1704067202000}\n')
    p = tmp_path / "liq.log"
    p.write_text(line)
    ev = load_files([p]).events
    assert ev["side"].tolist() == [int(Side.LONG), int(Side.SHORT)]
    np.testing.assert_allclose(ev["price"] * ev["qty"], [700.0, 21050.0], rtol=1e-12)


def test_coin_m_rows_of_the_headerless_csv_recordings_are_read_in_usd_and_keep_their_symbol(tmp_path):
    """The headerless liquidation and aggTrade CSVs (``binance-csv``, ``binance-trades-csv``) with a COIN-M symbol:
    its sizes are contracts (10 BTCUSD_PERP contracts at 60,000 are 1,000 USD, the row's own ``usd_size``, not
    600,000), and the symbol is kept (a recorder strips "USDT" from a USD-M perpetual's name, never from a
    symbol with an underscore); a USD-M row of the same files is unchanged."""
    from liqcore.venues.binance.parse import restore_symbol

    t = 1722470401000
    liq = tmp_path / "liq.csv"
    liq.write_text(f"BTCUSD_PERP,SELL,LIMIT,IOC,10,59000,60000,FILLED,10,10,{t},1000\n"
                   f"ETHUSD_241227,BUY,LIMIT,IOC,3,3000,3100,FILLED,3,3,{t + 1},30\n"
                   f"BTC,SELL,LIMIT,IOC,0.5,59000,60000,FILLED,0.5,0.5,{t + 2},30000\n")
    trades = tmp_path / "agg.csv"
    trades.write_text(f"{t + 1},BTCUSD_PERP,5,60000,10,{t},True,1000\n{t + 3},ETH,6,3000,0.25,{t + 2},False,750\n")
    reg_liq = load_files([liq], format="binance-csv")
    ev = reg_liq.events
    assert [reg_liq.registry.symbol(int(s)) for s in ev["symbol_id"]] == ["BTCUSD_PERP", "ETHUSD_241227", "BTCUSDT"]
    np.testing.assert_allclose(ev["price"] * ev["qty"], [1000.0, 30.0, 30000.0], rtol=1e-12)
    got = load_files([trades], format="binance-trades-csv")
    assert [got.registry.symbol(int(s)) for s in got.events["symbol_id"]] == ["BTCUSD_PERP", "ETHUSDT"]
    np.testing.assert_allclose(got.events["price"] * got.events["qty"], [1000.0, 750.0], rtol=1e-12)
    assert restore_symbol("BTCUSDT_240927") == "BTCUSDT_240927" and restore_symbol("1000PEPE") == "1000PEPEUSDT"

"""Third-party Binance recordings (shared/data/real): counts match each folder's SOURCE.txt notes.

The expected figures come from the SOURCE.txt files; where a count depends on how rows collapse
(exact duplicates, rows differing only in the recorder's usd_size), an independent csv-module oracle
over the raw rows gives the figure.
"""
from __future__ import annotations

import csv
import datetime as dt

import numpy as np
import pytest

from liqcore.dataset.load import load_events
from liqcore.types import Flag, Kind, Side, Venue
from liqcore.venues.binance.parse import restore_symbol

MS = 1_000_000


def utc_ns(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp() * 1e9)


def csv_rows(path):
    with open(path, newline="") as fh:
        return [[c.strip() for c in row] for row in csv.reader(fh) if row]


def symbols(result) -> set[str]:
    return {result.registry.symbol(i) for i in np.unique(result.events["symbol_id"])}


def test_2025_01_duplicates_and_contract_key(real_data):
    path = real_data / "binance-forceorder-2025-01" / "binance.csv"
    rows = csv_rows(path)
    assert len(rows) == 3510 and len({tuple(r) for r in rows}) == 1842  # SOURCE.txt
    oracle = {(r[0], r[1], int(r[10]), float(r[6]), float(r[9])) for r in rows}
    assert len(oracle) == 1837  # SOURCE.txt: by (symbol, side, T, ap, z)
    r = load_events(path)
    ev = r.events
    assert len(ev) == 1837 and r.duplicates == 3510 - 1837 and r.rejects == {}
    assert len(symbols(r)) == 221
    assert (ev["venue"] == Venue.BINANCE).all() and (ev["kind"] == Kind.LIQUIDATION).all()
    assert (ev["flags"] & Flag.SAMPLED).all() and (ev["flags"] & Flag.RECV_ESTIMATED).all()
    # SELL = long liquidated; same split as the oracle
    n_long = sum(1 for k in oracle if k[1] == "SELL")
    assert int((ev["side"] == Side.LONG).sum()) == n_long
    assert int((ev["side"] == Side.SHORT).sum()) == 1837 - n_long
    assert 1233 - 5 <= n_long <= 1233  # SOURCE.txt: 1233 SELL among the 1842 distinct rows
    assert np.all(np.diff(ev["ts_event"]) >= 0)
    assert ev["ts_event"][0] >= utc_ns("2025-01-26 16:27") and ev["ts_event"][-1] < utc_ns("2025-02-06 15:27")
    # price = ap, qty = z: one known row (LRC SELL at 1737908829829)
    row = ev[ev["ts_event"] == 1737908829829 * MS]
    assert r.registry.symbol(row["symbol_id"][0]) == "LRCUSDT"
    assert row["price"][0] == 0.17057 and row["qty"][0] == 226.0 and row["side"][0] == Side.LONG


def test_2024_08_session(real_data):
    r = load_events(real_data / "binance-forceorder-2024-08" / "binance.csv")
    ev = r.events
    assert len(ev) == 456 and r.duplicates == 0 and len(symbols(r)) == 72
    assert int((ev["side"] == Side.SHORT).sum()) == 300  # BUY 300
    assert int((ev["side"] == Side.LONG).sum()) == 156  # SELL 156
    assert ev["ts_event"][0] >= utc_ns("2024-08-17 11:58") and ev["ts_event"][-1] < utc_ns("2024-08-17 12:29")


def test_2024_08_bigliqs_symbol_restoration(real_data):
    path = real_data / "binance-forceorder-2024-08" / "binance_bigliqs.csv"
    rows = csv_rows(path)
    r = load_events(path)
    assert len(r.events) == len({(x[0], x[1], x[10], float(x[6]), float(x[9])) for x in rows}) and len(rows) == 385
    syms = symbols(r)
    assert all(s.endswith(("USDT", "USDC")) for s in syms)
    assert not any(s.endswith("USDTUSDT") for s in syms)
    raw_unstripped = {x[0] for x in rows if x[0].endswith("USDT")}
    assert sum(1 for x in rows if x[0].endswith("USDT")) == 9 and raw_unstripped <= syms  # kept as they are
    assert "BTCUSDT" in syms
    assert restore_symbol("SUIUSDC") == "SUIUSDC" and restore_symbol("1000PEPE") == "1000PEPEUSDT"
    assert restore_symbol("BTC") == "BTCUSDT" and restore_symbol("S") == "SUSDT" and restore_symbol("USDC") == "USDCUSDT"


def test_2025_12_thirteenth_column_and_throttle(real_data):
    r = load_events(real_data / "binance-forceorder-2025-12" / "binance.csv")
    ev = r.events
    assert len(ev) == 2045 and r.duplicates == 0 and r.rejects == {} and len(symbols(r)) == 257
    assert int((ev["side"] == Side.SHORT).sum()) == 1165 and int((ev["side"] == Side.LONG).sum()) == 880
    # Binance snapshot throttle: no same-symbol pair < 1000 ms apart
    order = np.lexsort((ev["ts_event"], ev["symbol_id"]))
    sid, ts = ev["symbol_id"][order], ev["ts_event"][order]
    same = sid[1:] == sid[:-1]
    assert (np.diff(ts)[same] >= 1000 * MS).all()
    big = load_events(real_data / "binance-forceorder-2025-12" / "binance_big_liqs.csv")
    assert len(big.events) == 1
    e = big.events[0]
    assert big.registry.symbol(e["symbol_id"]) == "1000PEPEUSDT" and e["side"] == Side.SHORT
    assert e["price"] * e["qty"] == pytest.approx(0.0041437 * 30499373)


def test_agg_trade_csvs(real_data):
    path = real_data / "binance-forceorder-2024-08" / "binance_trades.csv"
    rows = csv_rows(path)
    wall = [x for x in rows if ":" in x[5]]
    assert len(rows) == 22181 and len(wall) == 1546  # SOURCE.txt
    r = load_events(path)
    # every wall-clock row has a twin with the real T (same aggregate id): dropped and counted
    assert r.rejects == {"wall_clock_time_duplicate": 1546}
    assert len(r.events) == 22181 - 1546 and r.n_rejected == 0
    assert symbols(r) == {"BTCUSDT", "ETHUSDT", "SOLUSDT", "WIFUSDT", "BNBUSDT"}
    ev = r.events
    assert (ev["kind"] == Kind.TRADE).all() and set(np.unique(ev["side"])) == {Side.BUY, Side.SELL}
    first = ev[ev["ts_event"] == 1723705562477 * MS]  # SOLUSDT, m False -> taker bought
    assert first["side"][0] == Side.BUY and first["price"][0] == 141.967 and first["qty"][0] == 285.0
    with pytest.raises(ValueError):  # strict: a wall-clock row is a soft skip, but...
        load_events(path, strict=True, format="binance-csv")  # ...the wrong forced format is not
    assert len(load_events(path, strict=True).events) == 22181 - 1546

    r = load_events(real_data / "binance-forceorder-2025-01" / "binance_trades.csv")
    assert len(r.events) == 16440 and len(symbols(r)) == 6
    r = load_events(real_data / "binance-forceorder-2025-12" / "binance_trades.csv")
    assert r.files[str(real_data / "binance-forceorder-2025-12" / "binance_trades.csv")]["records"] == 4707
    assert len(r.events) + r.duplicates == 4707 and len(symbols(r)) == 13


def test_wall_clock_row_without_twin_is_recovered_from_E(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("1723711227426, ETHUSDT, 1745753451, 2612.89, 5.9,15:40:27, False\n"
                 "1723711227433, BTCUSDT, 2291164354, 58247.1, 0.942,1723711227430, True\n")
    r = load_events(p)
    assert r.recovered == {"time_from_E": 1}
    assert r.events["ts_event"].tolist() == [1723711227426 * MS, 1723711227430 * MS]
    assert [bool(f & Flag.TIME_RECOVERED) for f in r.events["flags"]] == [True, False]


def test_2025_01_27_window_loads_and_detects(real_data):
    """The overlap window of liquidations and large trades (16:50-17:20 UTC) through the detector."""
    folder = real_data / "binance-forceorder-2025-01"
    r = load_events([folder / "binance.csv", folder / "binance_trades.csv"])
    ev = r.events
    lo, hi = utc_ns("2025-01-27 16:50"), utc_ns("2025-01-27 17:20")
    win = ev[(ev["ts_event"] >= lo) & (ev["ts_event"] < hi)]
    liq, trades = win[win["kind"] == Kind.LIQUIDATION], win[win["kind"] == Kind.TRADE]
    assert len(liq) > 1000 and len(trades) > 1000
    assert trades["ts_event"].min() >= utc_ns("2025-01-27 16:55") and trades["ts_event"].max() < utc_ns("2025-01-27 17:20")
    try:
        from liqcore._libs.detection import CascadeDetector
    except ImportError:  # pragma: no cover - kernel not built
        pytest.skip("liqcore._libs.detection not built")
    import pysrc.detector as ref

    kernel = CascadeDetector(min_history=20)
    records, stats = kernel.run(ev, flush=True)
    twin_records, _ = ref.CascadeDetector(min_history=20).run(ev, flush=True)
    np.testing.assert_array_equal(records, twin_records)
    assert stats["liquidations"] == 1837 and stats["skipped"] == 0
    confirmed = records[records["record"] == 1]
    in_win = confirmed[(confirmed["confirm_ns"] >= lo) & (confirmed["confirm_ns"] < hi)]
    assert len(in_win) >= 1
    for c in in_win:
        assert c["n_large"] >= 2 and c["confirm_ns"] - c["start_ns"] <= 60_000 * MS
        if c["dominant"] == 1:
            assert c["long_notional"] > c["short_notional"]

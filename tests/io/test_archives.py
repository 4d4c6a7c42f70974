"""The venues' public archives, read as they are: Binance public data of USD-M futures (aggTrades,
trades, bookTicker, metrics, fundingRate; zipped or not, with a header or without), the Bybit trade
archive (.csv.gz, newest first) and the OKX trade archive (bilingual header, sizes in contracts).
Every fixture is written here from the formats' headers."""
from __future__ import annotations

import gzip
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from liqcore.io import detect_format
from liqcore.dataset.load import load_events
from liqcore.types import Flag, Kind, Side, Venue

ROOT = Path(__file__).resolve().parents[2]
DAY0_MS = 1_723_075_200_000  # 2024-08-08 00:00:00 UTC

AGG_HEADER = "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker"
TRADES_HEADER = "id,price,qty,quote_qty,time,is_buyer_maker"
BOOK_HEADER = "update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,event_time"
METRICS_HEADER = ("create_time,symbol,sum_open_interest,sum_open_interest_value,count_toptrader_long_short_ratio,"
                  "sum_toptrader_long_short_ratio,count_long_short_ratio,sum_taker_long_short_vol_ratio")
FUNDING_HEADER = "calc_time,funding_interval_hours,last_funding_rate"
BYBIT_HEADER = "timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,homeNotional,foreignNotional"
OKX_HEADER = "trade_id/交易id,side/交易方向,size/数量,price/价格,created_time/成交时间"


def write(path: Path, header: str | None, rows: list[str], zipped: bool = False, gz: bool = False) -> Path:
    text = ((header + "\n") if header else "") + "\n".join(rows) + "\n"
    if zipped:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(path.name[:-4] + ".csv", text)
    elif gz:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def agg_rows(n=300, day_ms=DAY0_MS, unit=1, swap=(5, 6)):
    """aggTrades rows, two of them swapped (out of order); ``unit``: 1 ms, 1000 µs."""
    rows = [f"{1000 + i},{60000 + (i % 50) * 0.1:.1f},{0.001 * (i % 7 + 1):.3f},{5000 + 2 * i},{5001 + 2 * i},"
            f"{(day_ms + 10 * i) * unit},{'true' if i % 3 == 0 else 'false'}" for i in range(n)]
    if swap:
        a, b = swap
        rows[a], rows[b] = rows[b], rows[a]
    return rows


def _flags_ok(ev, latency_ns):
    assert np.all(ev["flags"] & Flag.RECV_ESTIMATED)
    assert np.all(ev["ts_recv"] == ev["ts_event"] + latency_ns)


# ------------------------------------------------------------------------------------------ Binance


@pytest.mark.parametrize("zipped,header", [(True, False), (True, True), (False, False), (False, True)])
def test_binance_aggtrades_side_units_symbol_order(tmp_path, zipped, header):
    name = "BTCUSDT-aggTrades-2024-08-08." + ("zip" if zipped else "csv")
    p = write(tmp_path / name, AGG_HEADER if header else None, agg_rows(), zipped=zipped)
    assert detect_format(p) == "binance-aggtrades"
    r = load_events(p, feed_latency_ns=7_000_000)
    ev = r.events
    assert len(ev) == 300 and r.rejects == {}
    info = r.files[str(p)]
    assert info["format"] == "binance-aggtrades" and info["records"] == 300
    assert info["reordered"] == 2  # the two swapped rows moved, nothing else
    assert "binance:BTCUSDT/trade" in info["found"] and info["span"].startswith("2024-08-08 00:00:00.000")
    assert np.all(np.diff(ev["ts_event"]) >= 0)
    assert set(ev["venue"]) == {Venue.BINANCE} and set(ev["kind"]) == {Kind.TRADE}
    assert {r.registry.lookup(int(s))[1] for s in ev["symbol_id"]} == {"BTCUSDT"}
    # row i: time DAY0 + 10 i ms, is_buyer_maker true (i % 3 == 0) -> the taker sold
    i = (ev["ts_event"] // 1_000_000 - DAY0_MS) // 10
    assert np.all(ev["side"] == np.where(i % 3 == 0, Side.SELL, Side.BUY))
    assert np.allclose(ev["qty"], 0.001 * (i % 7 + 1)) and np.allclose(ev["price"], 60000 + (i % 50) * 0.1)
    _flags_ok(ev, 7_000_000)


def test_binance_aggtrades_in_microseconds(tmp_path):
    """Newer files stamp microseconds: each cell's unit is told by its magnitude."""
    p = write(tmp_path / "ETHUSDT-aggTrades-2025-01-02.zip", None, agg_rows(50, 1_735_776_000_000, unit=1000, swap=None),
              zipped=True)
    ev = load_events(p).events
    assert len(ev) == 50 and ev["ts_event"][0] == 1_735_776_000_000 * 10**6
    assert ev["ts_event"][1] - ev["ts_event"][0] == 10_000_000


def test_binance_trades(tmp_path):
    rows = [f"{7 + i},{2500 + i * 0.01:.2f},{0.5 + i % 3},{(2500 + i * 0.01) * (0.5 + i % 3):.4f},{DAY0_MS + i},"
            f"{'True' if i % 2 else 'False'}" for i in range(200)]
    for header in (TRADES_HEADER, None):
        p = write(tmp_path / f"ETHUSDT-trades-2024-08-08{'' if header else '-x'}.zip", header, rows, zipped=True)
        p = p.rename(tmp_path / "ETHUSDT-trades-2024-08-08.zip")
        assert detect_format(p) == "binance-trades"
        r = load_events(p)
        ev = r.events
        assert len(ev) == 200 and r.files[str(p)]["reordered"] == 0
        assert ev["side"][0] == Side.BUY and ev["side"][1] == Side.SELL  # True: the buyer made the book
        assert ev["qty"][1] == 1.5 and ev["price"][1] == pytest.approx(2500.01)
        assert r.registry.lookup(int(ev["symbol_id"][0])) == (Venue.BINANCE, "ETHUSDT")
        _flags_ok(ev, 0)


def test_binance_bookticker_two_quote_rows_per_update(tmp_path):
    rows = [f"{900 + i},{60000 + i:.1f},{1 + i % 4}.5,{60000.1 + i:.1f},{2 + i % 3},{DAY0_MS + 100 * i},"
            f"{DAY0_MS + 100 * i + 3}" for i in range(100)]
    rows[10], rows[40] = rows[40], rows[10]
    p = write(tmp_path / "BTCUSDT-bookTicker-2024-08-08.zip", BOOK_HEADER, rows, zipped=True)
    assert detect_format(p) == "binance-bookticker"
    r = load_events(p)
    ev = r.events
    assert len(ev) == 200 and set(ev["kind"]) == {Kind.QUOTE}
    assert r.files[str(p)]["reordered"] == 2  # updates moved as wholes
    bid, ask = ev[0::2], ev[1::2]
    assert np.all(bid["side"] == Side.BUY) and np.all(ask["side"] == Side.SELL)
    assert np.all(bid["ts_event"] == ask["ts_event"]) and np.all(bid["price"] < ask["price"])
    i = (bid["ts_event"] // 1_000_000 - DAY0_MS) // 100
    assert np.allclose(bid["qty"], 1 + i % 4 + 0.5) and np.allclose(ask["qty"], 2 + i % 3)
    assert np.allclose(bid["price"], 60000 + i)
    _flags_ok(ev, 0)


def test_binance_metrics_open_interest(tmp_path):
    rows = [f"2024-08-08 {h:02d}:{m:02d}:00,BTCUSDT,{80000 + h * 12 + m // 5}.125,{5.2e9 + h},1.1,1.2,1.3,0.9"
            for h in range(2) for m in range(0, 60, 5)]
    p = write(tmp_path / "BTCUSDT-metrics-2024-08-08.zip", METRICS_HEADER, rows, zipped=True)
    assert detect_format(p) == "binance-metrics"
    r = load_events(p)
    ev = r.events
    assert len(ev) == 24 and set(ev["kind"]) == {Kind.OPEN_INTEREST} and set(ev["side"]) == {Side.NONE}
    assert ev["ts_event"][0] == DAY0_MS * 10**6 and ev["ts_event"][1] - ev["ts_event"][0] == 300 * 10**9
    assert ev["qty"][0] == 80000.125 and np.all(np.isnan(ev["price"]))
    assert r.registry.lookup(int(ev["symbol_id"][0])) == (Venue.BINANCE, "BTCUSDT")
    _flags_ok(ev, 0)


def test_binance_funding(tmp_path):
    rows = [f"{1_722_470_400_000 + k * 8 * 3600_000},8,{(-1) ** k * 0.0001 * (k + 1):.8f}" for k in range(90)]
    p = write(tmp_path / "SOLUSDT-fundingRate-2024-08.zip", FUNDING_HEADER, rows, zipped=True)
    assert detect_format(p) == "binance-funding"
    ev = load_events(p).events
    assert len(ev) == 90 and set(ev["kind"]) == {Kind.FUNDING} and np.all(ev["qty"] == 0)
    assert ev["price"][0] == pytest.approx(0.0001) and ev["price"][1] == pytest.approx(-0.0002)
    _flags_ok(ev, 0)


# ------------------------------------------------------------------------------------ Bybit, OKX


def test_bybit_trade_archive(tmp_path):
    t_end = 1_704_153_599.9871  # the archive lists the day newest first
    rows = [f"{t_end - i * 0.25:.4f},BTCUSDT,{'Buy' if i % 2 else 'Sell'},{0.001 * (i % 5 + 1):.3f},"
            f"{42000 + i * 0.5},ZeroMinusTick,0f2c-{i},{4.2e9:.0f},{0.001 * (i % 5 + 1):.3f},{42 * (i % 5 + 1)},false"
            for i in range(300)]
    p = write(tmp_path / "BTCUSDT2024-01-01.csv.gz", BYBIT_HEADER + ",RPI", rows, gz=True)
    assert detect_format(p) == "bybit-trades"
    r = load_events(p)
    ev = r.events
    assert len(ev) == 300 and r.files[str(p)]["reordered"] == 300
    assert np.all(np.diff(ev["ts_event"]) > 0)
    assert ev["ts_event"][-1] == 1_704_153_599_987_100_000  # seconds with a fraction, to the microsecond
    last = ev[-1]  # row 0: Sell, size 0.001, price 42000
    assert last["side"] == Side.SELL and last["qty"] == 0.001 and last["price"] == 42000
    assert ev[-2]["side"] == Side.BUY
    assert set(ev["venue"]) == {Venue.BYBIT} and r.registry.lookup(int(last["symbol_id"])) == (Venue.BYBIT, "BTCUSDT")
    _flags_ok(ev, 0)


def test_bybit_inverse_sizes_are_usd(tmp_path):
    rows = [f"{1_704_067_200 + i}.5,BTCUSD,Buy,{100 * (i + 1)},40000,PlusTick,id{i},1,1,1" for i in range(20)]
    p = write(tmp_path / "BTCUSD2024-01-01.csv.gz", BYBIT_HEADER, rows, gz=True)
    ev = load_events(p).events
    assert np.allclose(ev["qty"], 100 * (np.arange(20) + 1) / 40000)  # 1 contract = 1 USD


def test_okx_trade_archive_contracts_times_ctval(tmp_path):
    rows = [f"{4000 + i},{'buy' if i % 2 else 'sell'},{i % 5 + 1},{42000 + i * 0.1:.1f},{1_704_067_200_000 + 7 * i}"
            for i in range(200)]
    rows[3], rows[4] = rows[4], rows[3]
    p = write(tmp_path / "BTC-USDT-SWAP-trades-2024-01-01.zip", OKX_HEADER, rows, zipped=True)
    assert detect_format(p) == "okx-trades"
    r = load_events(p)
    ev = r.events
    assert len(ev) == 200 and r.files[str(p)]["reordered"] == 2
    i = (ev["ts_event"] // 1_000_000 - 1_704_067_200_000) // 7
    assert np.allclose(ev["qty"], (i % 5 + 1) * 0.01)  # contracts x ctVal 0.01 BTC
    assert np.all(ev["side"] == np.where(i % 2, Side.BUY, Side.SELL))
    assert r.registry.lookup(int(ev["symbol_id"][0])) == (Venue.OKX, "BTC-USDT-SWAP")
    _flags_ok(load_events(p, feed_latency_ns=250_000_000).events, 250_000_000)
    # English-only header, plain CSV; an instrument the table lacks is an error naming it, never a guess
    q = write(tmp_path / "FOO-USDT-SWAP-trades-2024-01-01.csv", "trade_id,side,size,price,created_time", rows)
    assert detect_format(q) == "okx-trades"
    with pytest.raises(ValueError, match="FOO-USDT-SWAP has no contract value"):
        load_events(q)
    assert len(load_events(q, instruments={"FOO-USDT-SWAP": 10}).events) == 200


def test_okx_trade_archive_of_the_current_layout_and_trades_alike_but_for_their_ids(tmp_path):
    """OKX's files since: ``instrument_name,trade_id,side,price,size,created_time[,source]`` (price before size), read
    by their column names; two trades alike in time, price, size and side but with their own ``trade_id`` are two
    trades (they were merged as one), the same trade twice is one."""
    head = "instrument_name,trade_id,side,price,size,created_time,source"
    rows = ["BTC-USDT-SWAP,2885385355,sell,78542.2,14,1788192000021,0",
            "BTC-USDT-SWAP,2885385356,sell,78542.2,14,1788192000021,0",
            "BTC-USDT-SWAP,2885385357,buy,78543.0,2,1788192000500,0",
            "BTC-USDT-SWAP,2885385357,buy,78543.0,2,1788192000500,0"]
    p = write(tmp_path / "BTC-USDT-SWAP-trades-2026-09-01.zip", head, rows, zipped=True)
    assert detect_format(p) == "okx-trades"
    ev = load_events(p).events
    assert ev["price"].tolist() == [78542.2, 78542.2, 78543.0]
    assert np.allclose(ev["qty"], [0.14, 0.14, 0.02])  # contracts x ctVal 0.01
    assert ev["side"].tolist() == [Side.SELL, Side.SELL, Side.BUY]
    q = write(tmp_path / "ETH-USDT-SWAP-trades-2026-09-01.csv", head.rsplit(",", 1)[0],
              [r.rsplit(",", 1)[0].replace("BTC", "ETH") for r in rows])
    assert detect_format(q) == "okx-trades" and len(load_events(q).events) == 3


def test_bybit_trades_alike_but_for_their_match_ids_are_two_trades(tmp_path):
    """Two rows of a Bybit archive equal but for ``trdMatchID`` (and tickDirection) are two trades; the same row twice
    (one id) is one; a UUID's id is the same however the file is read (by the fast path or row by row)."""
    import pyarrow as pa

    from liqcore.venues.trade_ids import text_ids

    a, b = "aaaaaaaa-1111-5a2b-9c3d-000000000001", "aaaaaaaa-1111-5a2b-9c3d-000000000002"
    rows = [f"1722470400.1234,BTCUSDT,Buy,0.5,65000.0,PlusTick,{a},1,0.5,32500",
            f"1722470400.1234,BTCUSDT,Buy,0.5,65000.0,ZeroPlusTick,{b},1,0.5,32500",
            f"1722470400.1234,BTCUSDT,Buy,0.5,65000.0,ZeroPlusTick,{b},1,0.5,32500"]
    p = write(tmp_path / "BTCUSDT2024-08-01.csv.gz", BYBIT_HEADER, rows, gz=True)
    assert len(load_events(p).events) == 2
    fast = text_ids(pa.array([a, b, a.upper()]))
    slow = text_ids(pa.array([a, b, a.upper(), "not-a-uuid", None]))
    assert fast.tolist() == slow[:3].tolist() and fast[0] == fast[2] != fast[1]
    assert slow[3] != 0 and slow[4] == 0 and (fast > 0).all()


# ------------------------------------------------------------------------------- never silently wrong


def test_bad_rows_are_counted_and_a_bad_column_is_an_error(tmp_path):
    rows = agg_rows(100, swap=None)
    rows[3] = rows[3].replace(",60000.3,", ",abc,")  # not a number
    rows[4] = rows[4].replace(",true", ",maybe").replace(",false", ",maybe")
    rows[5] = "1,2,3"  # too few columns
    rows[6] = rows[6].replace(f",{DAY0_MS + 60},", f",{DAY0_MS + 3 * 86_400_000},")  # days after the file's day
    p = write(tmp_path / "BTCUSDT-aggTrades-2024-08-08.zip", None, rows, zipped=True)
    r = load_events(p)
    assert len(r.events) == 96
    assert r.rejects == {"non_numeric": 1, "bad_side": 1, "bad_row": 1, "implausible_time": 1}
    with pytest.raises(ValueError, match=r"data row 4: non_numeric \(price\)"):
        load_events(p, strict=True)
    # a column of ids where prices belong, in bulk: an error naming the column and what it holds
    bad = [",".join([c.split(",")[0], "-" + c.split(",")[1], *c.split(",")[2:]]) for c in agg_rows(100, swap=None)]
    q = write(tmp_path / "ETHUSDT-aggTrades-2024-08-08.zip", None, bad, zipped=True)
    with pytest.raises(ValueError, match=r"column 'price' looks wrong: non_positive in 100 of 100 rows \(e\.g\. -60000"):
        load_events(q)



def test_the_text_path_reads_what_the_fast_path_reads_and_counts_bad_ids(tmp_path):
    """One bad cell sends a file down the text path; there a 19-digit nanosecond time was non_numeric (an int
    cell was allowed 18 characters), a "+" time a traceback, and an id that is no number (or beyond int64)
    kept as id 0 uncounted.  Now the text path keeps what the fast path keeps, alike, and rejects bad ids."""
    good = agg_rows(50, swap=None)
    good.append(f"2000,60000.5,0.1,6000,6000,{(DAY0_MS + 1300) * 1_000_000},true")  # ns time
    good.append(f"9223372036854775807,60000.5,0.2,6001,6001,{DAY0_MS + 1400},true")  # the largest id
    good.append(f",60000.5,0.3,6002,6002,{DAY0_MS + 1500},true")  # no id: kept, id 0 (both paths)
    fast = load_events(write(tmp_path / "BTCUSDT-aggTrades-2024-08-08.csv", AGG_HEADER, good))
    assert len(fast.events) == 53 and fast.rejects == {}
    bad = [f"2001,abc,0.1,6003,6003,{DAY0_MS + 1600},true",  # price
           f"2002,60000.5,0.1,6004,6004,+{DAY0_MS + 1700},true",  # "+": not an int to the fast path either
           f"20x3,60000.5,0.1,6005,6005,{DAY0_MS + 1800},true",  # ids that are no int64
           f"9223372036854775808,60000.5,0.1,6006,6006,{DAY0_MS + 1900},true",
           f"99999999999999999999,60000.5,0.1,6007,6007,{DAY0_MS + 2000},true"]
    for i, row in enumerate(bad):
        d = tmp_path / f"d{i}"
        d.mkdir()
        slow = load_events(write(d / "BTCUSDT-aggTrades-2024-08-08.csv", AGG_HEADER, good[:20] + [row] + good[20:]))
        assert slow.rejects == {"non_numeric": 1}, row
        assert slow.events.tolist() == fast.events.tolist(), row
        assert slow.trade_ids.tolist() == fast.trade_ids.tolist(), row
    assert fast.trade_ids.max() == 9223372036854775807 and (fast.trade_ids == 0).sum() == 1
    # OKX: a trade_id that is no number, alike
    rows = [f"{4000 + i},buy,1,42000.5,{1_704_067_200_000 + 7 * i}" for i in range(20)] + [
        f"40x1,buy,1,42000.5,{1_704_067_200_000 + 500}"]
    r = load_events(write(tmp_path / "BTC-USDT-SWAP-trades-2024-01-01.csv", OKX_HEADER, rows))
    assert len(r.events) == 20 and r.rejects == {"non_numeric": 1} and (r.trade_ids > 0).all()


def test_a_forced_format_that_does_not_fit_is_an_error(tmp_path):
    p = write(tmp_path / "BTCUSDT-aggTrades-2024-08-08.zip", AGG_HEADER, agg_rows(50), zipped=True)
    with pytest.raises(ValueError, match="does not fit --format binance-bookticker: its header is"):
        load_events(p, format="binance-bookticker")
    q = write(tmp_path / "BTCUSDT-trades-2024-08-08.csv", None,
              [f"{i},{100 + i},0.5,50,{DAY0_MS + i},true" for i in range(50)])
    with pytest.raises(ValueError, match="does not fit --format binance-aggtrades"):
        load_events(q, format="binance-aggtrades")  # 6 columns read as 7: the bool lands in the time column
    with pytest.raises(ValueError, match="cannot tell the symbol"):
        load_events(write(tmp_path / "trades.csv", TRADES_HEADER, [f"1,100,0.5,50,{DAY0_MS},true"]))


def test_damaged_files_are_a_clear_error_or_load_up_to_the_damage(tmp_path):
    p = write(tmp_path / "BTCUSDT-aggTrades-2024-08-08.zip", None, agg_rows(2000, swap=None), zipped=True)
    data = bytearray(p.read_bytes())
    data[200] ^= 0xFF  # inside the deflate data: the member's CRC no longer matches
    p.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="BTCUSDT-aggTrades-2024-08-08.zip"):
        load_events(p)
    rows = [f"{1_704_067_200 + i * 0.01:.4f},BTCUSDT,Buy,0.01,42000,PlusTick,id{i},1,1,1" for i in range(20_000)]
    g = write(tmp_path / "BTCUSDT2024-01-01.csv.gz", BYBIT_HEADER, rows, gz=True)
    g.write_bytes(g.read_bytes()[: g.stat().st_size // 2])  # cut short
    r = load_events(g)
    assert 0 < len(r.events) < 20_000 and r.rejects.get("truncated_file") == 1



def test_a_zip_of_several_files_is_said_so_detected_or_forced(tmp_path):
    """Detection said "cannot detect the format" of it; a forced format said what it is."""
    p = tmp_path / "BTCUSDT-aggTrades-2024-08-08.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("a.csv", AGG_HEADER + "\n" + "\n".join(agg_rows(5, swap=None)) + "\n")
        z.writestr("b.csv", "x\n")
    for fmt in (None, "binance-aggtrades"):
        with pytest.raises(ValueError, match=r"a zip of 2 files; expected one CSV"):
            load_events(p, format=fmt)
    with pytest.raises(ValueError, match=r"a zip of 2 files; expected one CSV"):
        detect_format(p)


def test_files_of_other_formats_are_not_taken(tmp_path):
    """A headerless CSV is only ours when its name says which Binance file it is."""
    p = write(tmp_path / "mine.csv", None, agg_rows(5, swap=None))
    with pytest.raises(ValueError, match="cannot detect"):
        detect_format(p)
    z = tmp_path / "notes.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("a.txt", "hello\n")
    with pytest.raises(ValueError, match="cannot detect"):
        detect_format(z)


# ------------------------------------------------------------------------------ any bytes: sane rows


def _sane(ev, reg) -> bool:
    from liqcore.validate import TIME_MIN_NS, symbol_problem, time_max_ns

    if not len(ev):
        return True
    ok = (ev["ts_event"] >= TIME_MIN_NS) & (ev["ts_event"] <= time_max_ns())
    k, side, p, q = ev["kind"], ev["side"], ev["price"], ev["qty"]
    trade = k == Kind.TRADE
    ok &= ~trade | (((side == Side.BUY) | (side == Side.SELL)) & np.isfinite(p) & (p > 0) & np.isfinite(q) & (q > 0))
    quote = k == Kind.QUOTE
    ok &= ~quote | (((side == Side.BUY) | (side == Side.SELL)) & np.isfinite(p) & (p > 0) & np.isfinite(q) & (q >= 0))
    oi = k == Kind.OPEN_INTEREST
    ok &= ~oi | (np.isfinite(q) & (q >= 0))
    fund = k == Kind.FUNDING
    ok &= ~fund | (np.isfinite(p) & (np.abs(p) <= 1))
    ok &= trade | quote | oi | fund
    names_ok = all(symbol_problem(int(v), s) is None for v, s in (reg.lookup(int(i)) for i in np.unique(ev["symbol_id"])))
    return bool(ok.all()) and names_ok


_NAMES = {"binance-aggtrades": "BTCUSDT-aggTrades-2024-08-08", "binance-trades": "BTCUSDT-trades-2024-08-08",
          "binance-bookticker": "BTCUSDT-bookTicker-2024-08-08", "binance-metrics": "BTCUSDT-metrics-2024-08-08",
          "binance-funding": "BTCUSDT-fundingRate-2024-08", "bybit-trades": "BTCUSDT2024-08-08",
          "okx-trades": "BTC-USDT-SWAP-trades-2024-08-08"}
_HEADS = {"binance-aggtrades": AGG_HEADER, "binance-trades": TRADES_HEADER, "binance-bookticker": BOOK_HEADER,
          "binance-metrics": METRICS_HEADER, "binance-funding": FUNDING_HEADER, "bybit-trades": BYBIT_HEADER,
          "okx-trades": OKX_HEADER}
_cell = hs.one_of(hs.sampled_from(["", "0", "-1", "1e400", "nan", "inf", "true", "false", "Buy", "sell", "BTCUSDT",
                                   "2024-08-08 00:05:00", "1723075200000", "1723075200000000", "1723075200.5",
                                   "60000.1", "0.001", "x\"y", "1723075200000000000000", "💥"]),
                  hs.text(max_size=8), hs.integers(-10**20, 10**20).map(str),
                  hs.floats(allow_nan=True, allow_infinity=True).map(repr))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fmt=hs.sampled_from(sorted(_NAMES)), header=hs.booleans(), zipped=hs.booleans(),
       rows=hs.lists(hs.lists(_cell, min_size=0, max_size=12), max_size=20), junk=hs.binary(max_size=64))
def test_no_reader_yields_an_insane_row_whatever_the_bytes(tmp_path, fmt, header, zipped, rows, junk):
    text = ((_HEADS[fmt] + "\n") if header else "") + "\n".join(",".join(r) for r in rows) + "\n"
    data = text.encode("utf-8") + junk
    name = _NAMES[fmt] + (".zip" if zipped else ".csv")
    p = tmp_path / name
    if zipped:
        with zipfile.ZipFile(p, "w") as z:
            z.writestr(_NAMES[fmt] + ".csv", data)
    else:
        p.write_bytes(data)
    try:
        r = load_events(p, format=fmt)
    except ValueError:
        return  # a clear error is fine; garbage is not
    assert _sane(r.events, r.registry), r.events


def _valid_rows(fmt: str, n: int = 40) -> list[list[str]]:
    t = DAY0_MS
    make = {
        "binance-aggtrades": lambda i: [str(i), f"{60000 + i}.5", "0.01", str(i), str(i), str(t + i), "true"],
        "binance-trades": lambda i: [str(i), f"{60000 + i}.5", "0.01", "600", str(t + i), "false"],
        "binance-bookticker": lambda i: [str(i), f"{60000 + i}", "1", f"{60001 + i}", "2", str(t + i), str(t + i)],
        "binance-metrics": lambda i: [f"2024-08-08 00:{i % 60:02d}:00", "BTCUSDT", "80000", "5e9", "1", "1", "1", "1"],
        "binance-funding": lambda i: [str(t + i * 1000), "8", "0.0001"],
        "bybit-trades": lambda i: [f"{t / 1000 + i:.4f}", "BTCUSDT", "Buy", "0.01", f"{60000 + i}", "PlusTick", "x", "1",
                                   "1", "1"],
        "okx-trades": lambda i: [str(i), "sell", "3", f"{60000 + i}.1", str(t + i)],
    }[fmt]
    return [make(i) for i in range(n)]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fmt=hs.sampled_from(sorted(_NAMES)), header=hs.booleans(),
       edits=hs.lists(hs.tuples(hs.integers(0, 39), hs.integers(0, 11), _cell), max_size=30))
def test_damaged_cells_of_a_valid_file_never_yield_an_insane_row(tmp_path, fmt, header, edits):
    """A valid file with cells replaced by anything: the rows left are sane, and the untouched rows load."""
    rows = _valid_rows(fmt)
    for r, c, v in edits:
        if c < len(rows[r]):
            rows[r][c] = v.replace("\n", " ").replace("\r", " ")
    p = tmp_path / (_NAMES[fmt] + ".csv")
    p.write_text(((_HEADS[fmt] + "\n") if header else "") + "\n".join(",".join(r) for r in rows) + "\n",
                 encoding="utf-8")
    try:
        r = load_events(p, format=fmt)
    except ValueError:
        assert edits, "a valid file was refused"
        return
    assert _sane(r.events, r.registry), r.events
    touched = {e[0] for e in edits}
    per_row = 2 if fmt == "binance-bookticker" else 1
    assert len(r.events) >= (40 - 2 * len(touched)) * per_row, (len(r.events), r.rejects)


# ------------------------------------------------------------------------------- a month, incrementally


def test_convert_dataset_takes_daily_files_incrementally(tmp_path):
    """``liqcore convert --dataset`` of a folder of daily files, then again with a new day: only the new
    file is read, and the dataset holds every day."""
    src = tmp_path / "daily"
    src.mkdir()
    day_ms = 86_400_000

    def day(k):
        base = DAY0_MS + k * day_ms
        write(src / f"BTCUSDT-aggTrades-2024-08-{8 + k:02d}.zip", None if k % 2 else AGG_HEADER,
              agg_rows(120, base), zipped=True)
        write(src / f"BTCUSDT-bookTicker-2024-08-{8 + k:02d}.zip", BOOK_HEADER,
              [f"{k * 1000 + i},{60000 + i},1,{60001 + i},2,{base + 1000 * i},{base + 1000 * i + 1}"
               for i in range(30)], zipped=True)

    for k in range(3):
        day(k)
    ds = tmp_path / "ds"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("LIQCORE_CONFIG", None)

    def convert():
        return subprocess.run([sys.executable, "-m", "liqcore", "convert", str(src), "--dataset", str(ds)],
                              capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)

    first = convert()
    assert first.returncode == 0, first.stderr
    assert "converted 6 file(s), skipped 0" in first.stderr and "540 new rows" in first.stderr
    day(3)
    second = convert()
    assert second.returncode == 0, second.stderr
    assert "converted 2 file(s), skipped 6" in second.stderr and "180 new rows" in second.stderr
    r = load_events(ds)
    ev = r.events
    assert len(ev) == 4 * (120 + 60)
    days = set((ev["ts_event"] // (86_400 * 10**9)).tolist())
    assert len(days) == 4
    assert np.count_nonzero(ev["kind"] == Kind.QUOTE) == 4 * 60
    assert np.count_nonzero(ev["side"][ev["kind"] == Kind.QUOTE] == Side.BUY) == 4 * 30


def test_events_command_reports_the_rows_put_back_in_order(tmp_path, capsys):
    from liqcore.cli import main

    p = write(tmp_path / "BTCUSDT-aggTrades-2024-08-08.zip", None, agg_rows(50), zipped=True)
    assert main(["events", str(p), "--limit", "1", "--json"]) == 0
    err = capsys.readouterr().err  # the per-file load report, one line on stderr with --json
    line = next(ln for ln in err.splitlines() if ln.startswith("load report: "))
    (info,) = orjson.loads(line[len("load report: "):])["files"].values()
    assert info["format"] == "binance-aggtrades" and info["records"] == 50 and info["reordered"] == 2
    assert main(["events", str(p), "--format", "okx-trades"]) == 2
    assert "cannot tell the instrument" in capsys.readouterr().err

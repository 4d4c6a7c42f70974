"""tardis.dev CSV exports (liquidations, trades, derivative_ticker, quotes, book snapshots): real files
written in the tests with tardis's header lines, read through load_events and the command line."""
from __future__ import annotations

import gzip
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore.io import detect_format
from liqcore.dataset.load import load_events
from liqcore.types import Flag, Kind, Side, Venue
from _session_env import child_env

ROOT = Path(__file__).resolve().parents[2]
T0_US = 1_722_470_400_000_000  # 2024-08-01T00:00Z in microseconds
TRADES_HEADER = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"
TICKER_HEADER = ("exchange,symbol,timestamp,local_timestamp,funding_timestamp,funding_rate,predicted_funding_rate,"
                 "open_interest,last_price,index_price,mark_price")
QUOTES_HEADER = "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount"


def book_header(levels: int) -> str:
    cols = ["exchange", "symbol", "timestamp", "local_timestamp"]
    for i in range(levels):
        cols += [f"asks[{i}].price", f"asks[{i}].amount", f"bids[{i}].price", f"bids[{i}].amount"]
    return ",".join(cols)


def write(path: Path, header: str, rows: list[str]) -> Path:
    text = header + "\n" + "".join(r + "\n" for r in rows)
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def t(i: int, unit: str, step_us: int = 250_000, t0_us: int = T0_US) -> int:
    us = t0_us + i * step_us
    return us * 1000 if unit == "ns" else us


#: Binance's liquidation feed sends at most one per symbol per second: its rows 1.5 s apart
LIQ_STEP_US = 1_500_000


def tradeish_rows(n=300, exchange="binance-futures", symbol="BTCUSDT", unit="us", ids=True, price=64000.0, seed=1,
                  step_us=250_000, t0_us=T0_US):
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        side = "buy" if i % 3 else "sell"
        ti = t(i, unit, step_us, t0_us)
        rows.append(f"{exchange},{symbol},{ti},{ti + (25_000 if unit == 'ns' else 25)},"
                    f"{(5_000_000 + i) if ids else ''},{side},{price + rng.randint(-50, 50) / 10},"
                    f"{rng.randint(1, 900) / 1000}")
    return rows


def cli(*args):
    env = child_env()
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "liqcore", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=120)


def sym(res, i=0):
    return res.registry.lookup(int(res.events["symbol_id"][i]))


# ------------------------------------------------------------------------------ liquidations
@pytest.mark.parametrize("unit", ["us", "ns"])
def test_liquidations_side_is_the_forced_order_units_venue_symbol_recv(tmp_path, unit):
    rows = tradeish_rows(unit=unit, ids=False, step_us=LIQ_STEP_US)
    f = write(tmp_path / f"binance-futures_liquidations_2024-08-01_BTCUSDT_{unit}.csv.gz", TRADES_HEADER, rows)
    assert detect_format(f) == "tardis-liquidations"
    res = load_events(f)
    ev = res.events
    assert len(ev) == 300 and res.files[str(f)]["format"] == "tardis-liquidations"
    assert (ev["kind"] == Kind.LIQUIDATION).all()
    # a forced BUY closes a short: SHORT; a forced SELL closes a long: LONG
    sides = [r.split(",")[5] for r in rows]
    want = np.array([Side.SHORT if s == "buy" else Side.LONG for s in sides])
    assert (ev["side"] == want).all()
    # the unit is told by the size of the values: both files give the same ns times
    assert ev["ts_event"][0] == T0_US * 1000 and ev["ts_recv"][0] == (T0_US + 25) * 1000
    assert (ev["ts_recv"] - ev["ts_event"] == 25_000).all()
    assert not (ev["flags"] & Flag.RECV_ESTIMATED).any()
    assert (ev["flags"] & Flag.SAMPLED).all()  # Binance shows at most one liquidation per symbol per second
    assert (ev["venue"] == Venue.BINANCE).all() and sym(res) == (Venue.BINANCE, "BTCUSDT")
    assert np.allclose(ev["qty"], [float(r.split(",")[7]) for r in rows])


def test_okx_liquidation_amount_is_contracts_times_the_contract_value(tmp_path):
    rows = tradeish_rows(n=200, exchange="okex-swap", symbol="BTC-USDT-SWAP", ids=False)
    rows += tradeish_rows(n=5, exchange="okex-swap", symbol="NOSUCH-USDT-SWAP", ids=False, price=64000.0)
    f = write(tmp_path / "okex-swap_liquidations_2024-08-01_BTC-USDT-SWAP.csv", TRADES_HEADER, rows)
    res = load_events(f)
    ev = res.events
    assert len(ev) == 200 and (ev["venue"] == Venue.OKX).all() and sym(res) == (Venue.OKX, "BTC-USDT-SWAP")
    assert np.allclose(ev["qty"], [float(r.split(",")[7]) * 0.01 for r in rows[:200]])  # ctVal 0.01 BTC
    assert res.rejects["unknown_instrument"] == 5  # no contract value: never guessed
    # an instrument table given by the caller is used
    res2 = load_events(f, instruments={"NOSUCH-USDT-SWAP": 10.0})
    assert len(res2.events) == 205 and "unknown_instrument" not in res2.rejects


def test_bybit_trades_taker_side_and_inverse_contracts(tmp_path):
    rows = tradeish_rows(exchange="bybit", symbol="BTCUSDT")
    inv = tradeish_rows(n=100, exchange="bybit", symbol="BTCUSD", seed=2)
    f = write(tmp_path / "bybit_trades_2024-08-01_BTCUSDT.csv.gz", TRADES_HEADER, rows + inv)
    assert detect_format(f) == "tardis-trades"
    res = load_events(f)
    ev = res.events
    assert len(ev) == 400 and (ev["kind"] == Kind.TRADE).all() and (ev["venue"] == Venue.BYBIT).all()
    lin = ev[ev["symbol_id"] == res.registry.get("bybit", "BTCUSDT")]
    lin = lin[np.argsort(lin["ts_event"], kind="stable")]
    want = np.array([Side.BUY if r.split(",")[5] == "buy" else Side.SELL for r in rows])
    assert (lin["side"] == want).all() and not (lin["flags"] & Flag.SAMPLED).any()
    # inverse contracts are 1 USD each: base units = amount / price
    usd = ev[ev["symbol_id"] == res.registry.get("bybit", "BTCUSD")]
    assert len(usd) == 100
    assert np.allclose(np.sort(usd["qty"] * usd["price"]), np.sort([float(r.split(",")[7]) for r in inv]))


def test_trades_or_liquidations_told_by_the_id_column_or_refused(tmp_path):
    liq = write(tmp_path / "a.csv", TRADES_HEADER, tradeish_rows(ids=False))
    trd = write(tmp_path / "b.csv", TRADES_HEADER, tradeish_rows(ids=True))
    assert detect_format(liq) == "tardis-liquidations" and detect_format(trd) == "tardis-trades"
    empty = write(tmp_path / "c.csv", TRADES_HEADER, [])
    with pytest.raises(ValueError, match="--format tardis-trades or --format tardis-liquidations"):
        load_events(empty)
    # forced, either way
    assert (load_events(trd, format="tardis-liquidations").events["kind"] == Kind.LIQUIDATION).all()


def test_trades_saved_under_a_liquidations_name_are_refused_naming_the_file(tmp_path):
    # a trades file (trade ids, 4 rows per second) saved under tardis's liquidations file name
    f = write(tmp_path / "binance-futures_liquidations_2024-08-01_BTCUSDT.csv.gz", TRADES_HEADER,
              tradeish_rows(n=3000))
    assert detect_format(f) == "tardis-liquidations"  # the name claims liquidations
    with pytest.raises(ValueError, match=r"named liquidations but looks like trades \(3,000 rows at 4\.0 rows/s, "
                                         r"distinct trade ids in 3,000 rows.*2,998 times 3 rows of a symbol within 1 s"):
        load_events(f)
    r = cli("detect", f)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(f) in lines[0] and "--format tardis-trades" in lines[0], r.stderr
    # read as what it holds; a format given is not second-guessed
    assert (load_events(f, format="tardis-trades").events["kind"] == Kind.TRADE).all()
    assert (load_events(f, format="tardis-liquidations").events["kind"] == Kind.LIQUIDATION).all()


@pytest.mark.parametrize("exchange,symbol,ids,step_us,why", [
    ("binance-futures", "BTCUSDT", True, LIQ_STEP_US, "distinct trade ids in 300 rows"),  # ids, at a liquidation pace
    ("okex-swap", "BTC-USDT-SWAP", True, LIQ_STEP_US, "distinct trade ids in 300 rows"),
    ("binance-futures", "BTCUSDT", False, 250_000, "298 times 3 rows of a symbol within 1 s"),  # pace, ids empty
])
def test_each_sign_of_trades_alone_refuses_a_file_named_liquidations(tmp_path, exchange, symbol, ids, step_us, why):
    f = write(tmp_path / f"{exchange}_liquidations_2024-08-01_{symbol}.csv", TRADES_HEADER,
              tradeish_rows(exchange=exchange, symbol=symbol, ids=ids, step_us=step_us))
    with pytest.raises(ValueError, match=f"{f.name}: named liquidations but looks like trades .*{why}"):
        load_events(f)


def test_liquidations_that_only_look_busy_still_load(tmp_path):
    # Bybit's older tardis liquidations carry the venue's id, and Bybit is not throttled per second
    bybit = write(tmp_path / "bybit_liquidations_2024-08-01_BTCUSDT.csv", TRADES_HEADER,
                  tradeish_rows(exchange="bybit", ids=True))
    assert len(load_events(bybit).events) == 300
    # Binance before its per-second throttle (2021-04-27) sent every liquidation: 4 a second is possible
    early = write(tmp_path / "binance-futures_liquidations_2021-03-01_BTCUSDT.csv", TRADES_HEADER,
                  tradeish_rows(ids=False, t0_us=1_614_556_800_000_000))
    assert len(load_events(early).events) == 300
    # a busy day under the throttle: the latest liquidation of every second, anywhere in its second
    rng = random.Random(7)
    rows = []
    for k in range(3000):
        ts = T0_US + k * 1_000_000 + rng.randrange(1_000_000)
        rows.append(f"binance-futures,BTCUSDT,{ts},{ts + 40},,{rng.choice(['buy', 'sell'])},64000.5,0.{rng.randint(1, 9)}")
    busy = write(tmp_path / "binance-futures_liquidations_2024-08-01_BTCUSDT.csv.gz", TRADES_HEADER, rows)
    ev = load_events(busy).events
    assert len(ev) == 3000 and (ev["kind"] == Kind.LIQUIDATION).all()


def test_real_binance_liquidations_saved_as_tardis_files_load(real_data, tmp_path):
    """The recorded forceOrder rows (every session, duplicates and all) written as tardis liquidations
    files: none is refused, every row is read as a liquidation."""
    import csv

    from liqcore.venues.binance.parse import restore_symbol

    for folder in ("binance-forceorder-2024-08", "binance-forceorder-2025-01", "binance-forceorder-2025-12"):
        with open(real_data / folder / "binance.csv", newline="") as fh:
            rec = [r for r in csv.reader(fh) if r]
        rows = [f"binance-futures,{restore_symbol(r[0].strip())},{int(r[10]) * 1000},{int(r[10]) * 1000 + 80},,"
                f"{r[1].strip().lower()},{r[5].strip()},{r[4].strip()}" for r in rec]
        f = write(tmp_path / f"binance-futures_liquidations_{folder[-7:]}-01_ALL.csv", TRADES_HEADER, rows)
        res = load_events(f)
        assert res.files[str(f)]["format"] == "tardis-liquidations"
        assert (res.events["kind"] == Kind.LIQUIDATION).all()
        assert res.files[str(f)]["records"] == len(rec) and len(res.events) + res.duplicates == len(rec)


# --------------------------------------------------------------------------- derivative ticker
def test_derivative_ticker_funding_open_interest_mark_on_change(tmp_path):
    fts = (T0_US + 8 * 3600 * 10**6)
    rows = []
    for i in range(300):
        rate = "0.0001" if i < 150 else "0.00012"
        oi = "" if i % 7 == 3 else str(70000 + i // 10)  # empty cells are common
        mark = "" if i % 5 == 4 else f"{64000 + i // 3:.1f}"
        ft = fts if i < 250 else fts + 8 * 3600 * 10**6
        rows.append(f"binance-futures,BTCUSDT,{t(i, 'us')},{t(i, 'us') + 40},{ft},{rate},,{oi},64000.5,,{mark}")
    f = write(tmp_path / "binance-futures_derivative_ticker_2024-08-01_BTCUSDT.csv.gz", TICKER_HEADER, rows)
    assert detect_format(f) == "tardis-derivative-ticker"
    res = load_events(f)
    ev = res.events
    fund = ev[ev["kind"] == Kind.FUNDING]
    # the first rate, the rate change at row 150, the next funding time at row 250
    assert len(fund) == 3 and list(fund["price"]) == [0.0001, 0.00012, 0.00012]
    assert list(fund["ts_event"]) == [t(0, "us") * 1000, t(150, "us") * 1000, t(250, "us") * 1000]
    assert (fund["ts_recv"] == fund["ts_event"] + 40_000).all() and (fund["side"] == Side.NONE).all()
    oi = ev[ev["kind"] == Kind.OPEN_INTEREST]
    assert len(oi) == len({70000 + i // 10 for i in range(300)}) and (np.diff(oi["qty"]) > 0).all()
    assert np.isfinite(oi["price"]).all()  # the mark price known then
    mark = ev[ev["kind"] == Kind.MARK]
    assert len(mark) == len({64000 + i // 3 for i in range(300) if i % 5 != 4}) and (mark["qty"] == 0).all()
    assert (ev["venue"] == Venue.BINANCE).all() and not res.rejects


def test_okx_open_interest_in_contracts(tmp_path):
    rows = [f"okex-swap,ETH-USDT-SWAP,{t(i, 'us')},{t(i, 'us') + 10},,,,{1000 + i},,,3000.5" for i in range(20)]
    res = load_events(write(tmp_path / "x.csv", TICKER_HEADER, rows))
    oi = res.events[res.events["kind"] == Kind.OPEN_INTEREST]
    assert np.allclose(oi["qty"], [(1000 + i) * 0.1 for i in range(20)])  # ctVal 0.1 ETH


# ------------------------------------------------------------------------- quotes and books
@pytest.mark.parametrize("unit", ["us", "ns"])
def test_quotes_two_rows_per_update_bid_buy_ask_sell(tmp_path, unit):
    rows = []
    for i in range(300):
        bid = 64000 + i * 0.1
        ask_p, ask_q = (f"{bid + 0.1:.1f}", f"{1 + i % 4}") if i != 7 else ("", "")  # row 7: no asks
        rows.append(f"bybit,ETHUSDT,{t(i, unit)},{t(i, unit) + (5000 if unit == 'ns' else 5)},{ask_q},{ask_p},"
                    f"{bid:.1f},{0.5 + i % 3}")
    f = write(tmp_path / f"bybit_quotes_2024-08-01_ETHUSDT.{unit}.csv.gz", QUOTES_HEADER, rows)
    assert detect_format(f) == "tardis-quotes"
    res = load_events(f)
    ev = res.events
    assert len(ev) == 600 and (ev["kind"] == Kind.QUOTE).all() and (ev["venue"] == Venue.BYBIT).all()
    assert sym(res) == (Venue.BYBIT, "ETHUSDT")
    bids, asks = ev[0::2], ev[1::2]
    assert (bids["side"] == Side.BUY).all() and (asks["side"] == Side.SELL).all()
    assert (bids["ts_event"] == asks["ts_event"]).all() and (bids["ts_recv"] - bids["ts_event"] == 5000).all()
    assert bids["ts_event"][0] == T0_US * 1000
    assert np.allclose(bids["price"], [64000 + i * 0.1 for i in range(300)])
    assert np.allclose(bids["qty"], [0.5 + i % 3 for i in range(300)])
    assert asks["price"][7] == 0 and asks["qty"][7] == 0  # an empty side of the book (price 0, size 0, as the contract)
    assert np.allclose(np.delete(asks["qty"], 7), [1 + i % 4 for i in range(300) if i != 7])


@pytest.mark.parametrize("levels", [5, 25])
def test_book_snapshot_top_level_as_quotes(tmp_path, levels):
    rows = []
    for i in range(200):
        cells = []
        for lv in range(levels):
            cells += [f"{3000.5 + lv + i * 0.01:.2f}", f"{10 + lv}", f"{3000.4 - lv + i * 0.01:.2f}", f"{20 + lv}"]
        rows.append(f"okex-swap,ETH-USDT-SWAP,{t(i, 'us')},{t(i, 'us') + 7}," + ",".join(cells))
    f = write(tmp_path / f"okex-swap_book_snapshot_{levels}_2024-08-01_ETH-USDT-SWAP.csv.gz", book_header(levels), rows)
    # told by its name, the file is depth (tests/io/test_tardis_depth.py); its top level as quotes when asked
    assert detect_format(f) == "tardis-book-depth"
    ev = load_events(f, format="tardis-book-snapshot").events
    assert len(ev) == 400 and (ev["kind"] == Kind.QUOTE).all()
    bids, asks = ev[0::2], ev[1::2]
    assert np.allclose(bids["price"], [3000.4 + i * 0.01 for i in range(200)])
    assert np.allclose(asks["price"], [3000.5 + i * 0.01 for i in range(200)])
    assert np.allclose(bids["qty"], 20 * 0.1) and np.allclose(asks["qty"], 10 * 0.1)  # contracts x ctVal 0.1


# ----------------------------------------------------------------------- never silently wrong
def test_other_exchanges_are_counted_and_named(tmp_path):
    rows = tradeish_rows(n=200) + tradeish_rows(n=20, exchange="deribit", symbol="BTC-PERPETUAL")
    res = load_events(write(tmp_path / "mixed_trades.csv", TRADES_HEADER, rows))
    assert len(res.events) == 200 and res.rejects["unknown_venue"] == 20
    only = write(tmp_path / "deribit_trades_2024-08-01_BTC-PERPETUAL.csv", TRADES_HEADER,
                 tradeish_rows(n=50, exchange="deribit", symbol="BTC-PERPETUAL"))
    with pytest.raises(ValueError, match=r"column 'exchange' looks wrong: unknown_venue in 50 of 50 rows, e.g. 'deribit'"):
        load_events(only)
    r = cli("events", only)
    assert r.returncode != 0 and "deribit" in r.stderr and "Traceback" not in r.stderr


def test_bad_cells_cost_their_rows_not_the_file(tmp_path):
    rows = tradeish_rows(n=300)
    rows[10] = rows[10].replace(",buy,", ",unknown,").replace(",sell,", ",unknown,")
    parts = rows[20].split(",")
    parts[6] = "abc"  # not a number: the lenient path
    rows[20] = ",".join(parts)
    parts = rows[30].split(",")
    parts[7] = "-1"
    rows[30] = ",".join(parts)
    rows[40] = rows[40] + ",extra"  # a cell too many
    parts = rows[50].split(",")
    parts[1] = "../../etc"
    rows[50] = ",".join(parts)
    f = write(tmp_path / "binance-futures_trades_2024-08-01_BTCUSDT.csv.gz", TRADES_HEADER, rows)
    res = load_events(f)
    assert len(res.events) == 295
    assert res.rejects == {"bad_side": 1, "non_numeric": 1, "non_positive": 1, "bad_row": 1, "bad_symbol": 1}
    with pytest.raises(ValueError, match=r"\.csv\.gz:.*bad_(side|row)"):
        load_events(f, strict=True)  # the first problem found, named with its line


def test_a_side_column_that_is_not_a_side_is_an_error_naming_it(tmp_path):
    rows = [r.replace(",buy,", ",unknown,").replace(",sell,", ",unknown,") for r in tradeish_rows(n=100)]
    with pytest.raises(ValueError, match=r"column 'side' looks wrong: bad_side in 100 of 100 rows, e.g. 'unknown'"):
        load_events(write(tmp_path / "x_trades.csv", TRADES_HEADER, rows))


def test_forced_format_that_does_not_fit_is_an_error(tmp_path):
    f = write(tmp_path / "bybit_trades.csv", TRADES_HEADER, tradeish_rows(exchange="bybit"))
    with pytest.raises(ValueError, match=r"does not fit --format tardis-quotes: the header lacks column\(s\) ask_amount"):
        load_events(f, format="tardis-quotes")
    r = cli("events", f, "--format", "tardis-derivative-ticker")
    assert r.returncode != 0 and "does not fit" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_a_gzip_file_cut_short_loads_up_to_the_cut(tmp_path):
    f = write(tmp_path / "binance-futures_trades_2024-08-01_BTCUSDT.csv.gz", TRADES_HEADER, tradeish_rows(n=20000))
    data = f.read_bytes()
    f.write_bytes(data[: len(data) * 2 // 3])
    res = load_events(f)
    assert 5000 < len(res.events) < 20000 and res.rejects.get("truncated_file") == 1


def test_command_line_reads_a_tardis_file(tmp_path):
    f = write(tmp_path / "binance-futures_liquidations_2024-08-01_BTCUSDT.csv.gz", TRADES_HEADER,
              tradeish_rows(ids=False, step_us=LIQ_STEP_US))
    r = cli("events", f)
    assert r.returncode == 0, r.stderr
    assert "tardis-liquidations" in r.stdout and "300" in r.stdout


# ------------------------------------------------------------------------------- sanity, always
def sane(ev, registry) -> None:
    """The rules every loaded row meets (liqcore.validate and the event contract)."""
    from liqcore.validate import TIME_MIN_NS, valid_symbol

    assert (ev["ts_event"] >= TIME_MIN_NS).all() and (ev["ts_event"] < 4_102_444_800 * 10**9).all()
    assert (ev["ts_recv"] >= TIME_MIN_NS).all()
    for sid in np.unique(ev["symbol_id"]).tolist():
        if sid >= 0:
            v, s = registry.lookup(sid)
            assert valid_symbol(int(v), s), s
    k, p, q, s = ev["kind"], ev["price"], ev["qty"], ev["side"]
    tradeish = (k == Kind.LIQUIDATION) | (k == Kind.TRADE)
    assert (np.isfinite(p[tradeish]) & (p[tradeish] > 0) & np.isfinite(q[tradeish]) & (q[tradeish] > 0)).all()
    assert np.isin(s[k == Kind.LIQUIDATION], [Side.LONG, Side.SHORT]).all()
    assert np.isin(s[k == Kind.TRADE], [Side.BUY, Side.SELL]).all()
    quote = k == Kind.QUOTE
    assert np.isin(s[quote], [Side.BUY, Side.SELL]).all()
    assert (np.isfinite(q[quote]) & (q[quote] >= 0)).all()
    assert ((np.isfinite(p[quote]) & (p[quote] > 0)) | (np.isnan(p[quote]) & (q[quote] == 0))).all()
    assert (np.isfinite(p[k == Kind.MARK]) & (p[k == Kind.MARK] > 0)).all()
    assert np.isfinite(p[k == Kind.FUNDING]).all()
    oi = k == Kind.OPEN_INTEREST
    assert (np.isfinite(q[oi]) & (q[oi] >= 0)).all()
    assert np.isin(ev["venue"], [1, 2, 3]).all()


@pytest.mark.property
def test_tardis_readers_never_yield_a_row_failing_the_sanity_rules(tmp_path):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    bases = {
        "binance-futures_liquidations_x.csv": (TRADES_HEADER, tradeish_rows(n=12, ids=False)),
        "bybit_trades_x.csv": (TRADES_HEADER, tradeish_rows(n=12, exchange="bybit")),
        "okex-swap_trades_x.csv": (TRADES_HEADER, tradeish_rows(n=12, exchange="okex-swap", symbol="BTC-USDT-SWAP")),
        "t_derivative_ticker.csv": (TICKER_HEADER, [f"bybit,BTCUSDT,{t(i, 'us')},{t(i, 'us') + 9},{t(99, 'us')},"
                                                    f"0.0001,,{500 + i},1,,{64000 + i}" for i in range(12)]),
        "q_quotes.csv": (QUOTES_HEADER, [f"binance-futures,ETHUSDT,{t(i, 'ns')},{t(i, 'ns') + 9},2,3000.{i + 1},"
                                         f"3000.0,1" for i in range(12)]),
        "b_book_snapshot_5.csv": (book_header(5), [f"bybit,SOLUSDT,{t(i, 'us')},{t(i, 'us')}," +
                                                   ",".join(["150.1,1,150.0,2"] * 5) for i in range(12)]),
    }
    names = sorted(bases)
    alphabet = b'0123456789.,-+eE \r"abyusnfBS\x00\xff\n'

    @st.composite
    def files(draw):
        name = draw(st.sampled_from(names))
        header, rows = bases[name]
        data = bytearray((header + "\n" + "\n".join(rows) + "\n").encode())
        for _ in range(draw(st.integers(0, 6))):
            i = draw(st.integers(len(header) + 1, len(data)))  # edits below the header (told by it)
            op = draw(st.integers(0, 2))
            ch = alphabet[draw(st.integers(0, len(alphabet) - 1))]
            if op == 0 and i < len(data):
                del data[i]
            elif op == 1 and i < len(data):
                data[i] = ch
            else:
                data.insert(i, ch)
        return name, bytes(data)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(files(), st.one_of(st.none(), st.binary(max_size=200)))
    def check(named, junk):
        name, data = named
        if junk is not None:  # whatever bytes, under a real header
            data = data.split(b"\n", 1)[0] + b"\n" + junk
        p = tmp_path / name
        p.write_bytes(data)
        try:
            res = load_events(p, warn=lambda _line: None)
        except ValueError:
            return  # refused with a reason: never garbage
        sane(res.events, res.registry)

    check()


def test_quotes_survive_conversion_to_the_event_contract(tmp_path):
    """Top of book read from tardis and written as contract Parquet / CSV reads back the same."""
    from liqcore.io import save_events

    rows = [f"binance-futures,BTCUSDT,{t(i, 'us')},{t(i, 'us') + 3},{1 + i % 3},64000.{i % 9 + 1},64000.0,2"
            for i in range(100)]
    res = load_events(write(tmp_path / "binance-futures_quotes_2024-08-01_BTCUSDT.csv", QUOTES_HEADER, rows))
    for name in ("q.parquet", "q.csv"):
        out = tmp_path / name
        save_events(res.events, out, registry=res.registry)
        back = load_events(out)
        assert len(back.events) == 200 and not back.rejects
        assert (back.events["kind"] == Kind.QUOTE).all()
        assert np.array_equal(back.events["price"], res.events["price"])
        assert np.array_equal(back.events["side"], res.events["side"])


def test_a_top_of_book_that_comes_back_within_one_stamp_is_kept(tmp_path):
    """Quotes are book states: A, B, A at the same exchange time leaves A (duplicate removal must not
    drop the second A and leave B as the last state)."""
    ts = t(0, "us")
    rows = [f"binance-futures,BTCUSDT,{ts},{ts + 1},1,64000.2,64000.1,2",
            f"binance-futures,BTCUSDT,{ts},{ts + 2},1,64000.3,64000.1,2",
            f"binance-futures,BTCUSDT,{ts},{ts + 3},1,64000.2,64000.1,2"]
    res = load_events(write(tmp_path / "binance-futures_quotes_2024-08-01_BTCUSDT.csv", QUOTES_HEADER, rows))
    assert len(res.events) == 6 and res.duplicates == 0
    assert res.events["price"][-1] == 64000.2 and res.events["side"][-1] == Side.SELL


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(0, 40), max_size=12))
def test_the_row_buffer_lays_the_chunks_end_to_end(sizes):
    """io.base.RowBuffer: a file's converted chunks appended into one array grown in place are the chunks as
    np.concatenate lays them out, whatever their sizes (empty ones included); take() hands the array over
    and the buffer starts anew."""
    from liqcore.io.base import RowBuffer
    from liqcore.types import EVENT_DTYPE, make_events

    chunks, t = [], 0
    for i, n in enumerate(sizes):
        chunks.append(make_events(ts_event=np.arange(t, t + n, dtype=np.int64), ts_recv=np.arange(n, dtype=np.int64),
                                  price=100.0 + i, qty=1.0 + n, side=3, kind=7))
        t += n
    want = np.concatenate(chunks) if chunks else np.zeros(0, EVENT_DTYPE)
    buf = RowBuffer(EVENT_DTYPE)
    for c in chunks:
        buf.append(c)
    got = buf.take()
    assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
    assert len(buf.take()) == 0  # handed over
    if chunks:
        buf.append(chunks[-1])
        assert buf.take().tobytes() == chunks[-1].tobytes()

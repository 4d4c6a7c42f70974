"""tardis.dev L2 depth files (``incremental_book_L2``, ``book_snapshot_25`` / ``_5``) read as DEPTH rows: real
files written with tardis's header lines and names, read through load_events and the command line; bad
rows counted and dropped; very large levels kept; the hand-made depth market reads back as intended."""
from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from liqcore.io import detect_format
from liqcore.dataset.load import load_events
from liqcore.types import Flag, Kind, Side

ROOT = Path(__file__).resolve().parents[2]
from tests.depthmarket import ENTRY, QUEUE, book_at, depth_market  # noqa: E402
from _session_env import child_env

T0 = 1_722_470_400_000_000  # 2024-08-01T00:00Z, us
L2_HEADER = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"
L2_NAME = "binance-futures_incremental_book_L2_2024-08-01_BTCUSDT.csv.gz"
SNAP, GAP = int(Flag.SNAPSHOT), int(Flag.DEPTH_GAP)


def write(path: Path, header: str, rows: list[str]) -> Path:
    text = header + "\n" + "".join(r + "\n" for r in rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def l2(t, snap, side, price, amount, recv=None, symbol="BTCUSDT", exchange="binance-futures"):
    return f"{exchange},{symbol},{t},{t + 700 if recv is None else recv},{snap},{side},{price},{amount}"


def book_header(levels: int) -> str:
    cols = ["exchange", "symbol", "timestamp", "local_timestamp"]
    for i in range(levels):
        cols += [f"asks[{i}].price", f"asks[{i}].amount", f"bids[{i}].price", f"bids[{i}].amount"]
    return ",".join(cols)


def rows_of(ev):
    return [(int(e["ts_event"]) // 1000, int(e["ts_recv"]) // 1000, float(e["price"]), float(e["qty"]), int(e["side"]),
             int(e["flags"])) for e in ev]


# ------------------------------------------------------------------------------ incremental_book_L2
def test_l2_rows_snapshot_runs_updates_and_gaps(tmp_path):
    rows = [
        l2(T0, "false", "bid", "64000.0", "1"),  # buffered before the first snapshot: a gap goes before it
        l2(T0 + 10, "true", "bid", "64000.1", "2.5", recv=T0 + 800),
        l2(T0 + 10, "true", "ask", "64000.2", "3", recv=T0 + 800),
        l2(T0 + 20, "false", "bid", "64000.1", "0"),  # removed
        l2(T0 + 20, "false", "bid", "63990.5", "4"),
        l2(T0 + 30, "true", "bid", "64001.0", "1", recv=T0 + 900),  # a reconnect's snapshot: gap, then the run
        l2(T0 + 30, "true", "ask", "64001.1", "1", recv=T0 + 900),
        l2(T0 + 40, "true", "bid", "64002.0", "1", recv=T0 + 950),  # the next whole snapshot right after: a gap
    ]
    f = write(tmp_path / L2_NAME, L2_HEADER, rows)
    assert detect_format(f) == "tardis-book-l2"
    res = load_events(f)
    ev = res.events
    assert (ev["kind"] == Kind.DEPTH).all() and (ev["venue"] == 2).all() and not res.rejects
    assert rows_of(ev) == [
        (T0, T0 + 700, 0.0, 0.0, 0, GAP),
        (T0, T0 + 700, 64000.0, 1.0, int(Side.BUY), 0),
        (T0 + 10, T0 + 800, 0.0, 0.0, 0, GAP),  # (every snapshot run after updates: one before it)
        (T0 + 10, T0 + 800, 64000.1, 2.5, int(Side.BUY), SNAP),
        (T0 + 10, T0 + 800, 64000.2, 3.0, int(Side.SELL), SNAP),
        (T0 + 20, T0 + 720, 64000.1, 0.0, int(Side.BUY), 0),
        (T0 + 20, T0 + 720, 63990.5, 4.0, int(Side.BUY), 0),
        (T0 + 30, T0 + 900, 0.0, 0.0, 0, GAP),
        (T0 + 30, T0 + 900, 64001.0, 1.0, int(Side.BUY), SNAP),
        (T0 + 30, T0 + 900, 64001.1, 1.0, int(Side.SELL), SNAP),
        (T0 + 40, T0 + 950, 0.0, 0.0, 0, GAP),
        (T0 + 40, T0 + 950, 64002.0, 1.0, int(Side.BUY), SNAP),
    ]


def test_l2_bad_rows_are_counted_and_dropped(tmp_path):
    good = [l2(T0 + i, "true" if i < 1 else "false", "bid" if i % 2 else "ask", f"{64000 + i}.5", f"{1 + i}")
            for i in range(30)]
    bad = [l2(T0 + 40, "false", "middle", "64000", "1"),  # bad side
           l2(T0 + 41, "false", "bid", "abc", "1"),  # non-numeric price
           l2(T0 + 42, "false", "bid", "64000", "-2"),  # negative size
           l2(T0 + 43, "false", "bid", "-5", "1"),  # price <= 0
           l2(T0 + 44, "maybe", "bid", "64000", "1"),  # is_snapshot neither true nor false
           l2(T0 + 45, "false", "bid", "64000", "")]  # size missing
    res = load_events(write(tmp_path / L2_NAME, L2_HEADER, good[:15] + bad + good[15:]))
    assert len(res.events) == 30
    assert res.rejects == {"bad_side": 1, "non_numeric": 1, "non_positive": 2, "missing_field": 2}
    # from the command line: the summary names what was dropped, the exit is clean
    r = cli("events", write(tmp_path / "b" / L2_NAME, L2_HEADER, good + bad))
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    # a file most of whose rows are bad: an error naming the column, never a crash
    worse = write(tmp_path / "c" / L2_NAME, L2_HEADER, good[:3] + [l2(T0 + 60 + i, "false", "up", "1", "1")
                                                                    for i in range(20)])
    with pytest.raises(ValueError, match=r"column 'side' looks wrong: bad_side in 20 of 23 rows"):
        load_events(worse)


def test_a_very_large_level_is_kept(tmp_path):
    """Depth levels are sizes, not trades: no plausibility screen refuses a huge one (beside trades)."""
    rows = [l2(T0, "true", "bid", "64000.0", "1"), l2(T0, "true", "ask", "64000.1", "1")]
    rows += [l2(T0 + 1000 * i, "false", "bid", f"{63000 + i}.0", "1e12" if i == 50 else f"{1 + i % 5}")
             for i in range(1, 200)]
    f = write(tmp_path / L2_NAME, L2_HEADER, rows)
    trades = write(tmp_path / "binance-futures_trades_2024-08-01_BTCUSDT.csv.gz",
                   "exchange,symbol,timestamp,local_timestamp,id,side,price,amount",
                   [f"binance-futures,BTCUSDT,{T0 + 500 * i},{T0 + 500 * i + 5},{i + 1},buy,64000.1,0.01"
                    for i in range(300)])
    res = load_events([trades, f])
    d = res.events[res.events["kind"] == Kind.DEPTH]
    assert len(d) == 201 and float(d["qty"].max()) == 1e12
    assert not any(k.startswith("implausible") for k in res.rejects), res.rejects
    assert res.duplicates == 0


def test_equal_depth_rows_are_never_duplicates(tmp_path):
    """A level set to X, Y, then X again in one message: three rows (a state of the book, not a trade)."""
    rows = [l2(T0, "true", "bid", "64000.0", "1"), l2(T0 + 5, "false", "bid", "63999.0", "2"),
            l2(T0 + 5, "false", "bid", "63999.0", "3"), l2(T0 + 5, "false", "bid", "63999.0", "2")]
    ev = load_events(write(tmp_path / L2_NAME, L2_HEADER, rows)).events
    assert [float(x) for x in ev["qty"]] == [1.0, 2.0, 3.0, 2.0]


def test_l2_sizes_of_okx_and_bybit_inverse_contracts(tmp_path):
    okx = write(tmp_path / "okex-swap_incremental_book_L2_2024-08-01_BTC-USDT-SWAP.csv.gz", L2_HEADER,
                [l2(T0, "true", "bid", "64000.0", "30", symbol="BTC-USDT-SWAP", exchange="okex-swap")])
    inv = write(tmp_path / "bybit_incremental_book_L2_2024-08-01_BTCUSD.csv.gz", L2_HEADER,
                [l2(T0, "true", "ask", "64000.0", "32000", symbol="BTCUSD", exchange="bybit")])
    a = load_events(okx).events
    b = load_events(inv).events
    assert np.isclose(a["qty"][0], 0.3)  # contracts x contract value 0.01 BTC
    assert np.isclose(b["qty"][0], 0.5)  # USD / price


# ------------------------------------------------------------------------------ recognition
def test_told_by_header_and_name(tmp_path):
    f = write(tmp_path / L2_NAME, L2_HEADER, [l2(T0, "true", "bid", "1.5", "1")])
    assert detect_format(f) == "tardis-book-l2"
    other = write(tmp_path / "depth.csv.gz", L2_HEADER, [l2(T0, "true", "bid", "1.5", "1")])
    with pytest.raises(ValueError, match="name does not say incremental_book_L2"):
        load_events(other)
    assert len(load_events(other, format="tardis-book-l2").events) == 1  # forced: read
    cells = ",".join(["150.1,1,150.0,2"] * 5)
    snap = write(tmp_path / "bybit_book_snapshot_5_2024-08-01_SOLUSDT.csv.gz", book_header(5),
                 [f"bybit,SOLUSDT,{T0},{T0 + 3},{cells}"])
    assert detect_format(snap) == "tardis-book-depth"
    top = write(tmp_path / "top.csv.gz", book_header(5), [f"bybit,SOLUSDT,{T0},{T0 + 3},{cells}"])
    assert detect_format(top) == "tardis-book-snapshot"  # without the name: the top level as quotes


# ------------------------------------------------------------------------------ book snapshots
@pytest.mark.parametrize("levels", [5, 25])
def test_book_snapshots_are_snapshot_runs(tmp_path, levels):
    rows = []
    for i in range(3):
        cells = []
        for lv in range(levels):
            ask_q = "" if (i == 1 and lv == levels - 1) else f"{10 + lv}"  # an empty level: left out
            bid_q = "0" if (i == 2 and lv == 1) else f"{20 + lv}"  # a zero level: left out
            cells += [f"{3000.5 + lv:.1f}", ask_q, f"{3000.4 - lv:.1f}", bid_q]
        rows.append(f"binance-futures,ETHUSDT,{T0 + 100 * i},{T0 + 100 * i + 7}," + ",".join(cells))
    f = write(tmp_path / f"binance-futures_book_snapshot_{levels}_2024-08-01_ETHUSDT.csv.gz", book_header(levels), rows)
    res = load_events(f)
    ev = res.events
    assert not res.rejects and (ev["kind"] == Kind.DEPTH).all()
    gaps = np.flatnonzero(ev["flags"] == GAP)
    assert len(gaps) == 2  # between the three snapshots: each a run of its own
    runs = np.split(ev, gaps)
    assert [len(r) for r in runs] == [2 * levels] * 3  # (the two later runs: their gap row and one level less)
    first = runs[0]
    assert (first["flags"] == SNAP).all()
    assert [float(x) for x in first["price"][:levels]] == [round(3000.4 - lv, 1) for lv in range(levels)]
    assert [float(x) for x in first["qty"][levels:]] == [10.0 + lv for lv in range(levels)]
    assert (first["side"][:levels] == Side.BUY).all() and (first["side"][levels:] == Side.SELL).all()
    assert len(runs[1]) - 1 == 2 * levels - 1 and len(runs[2]) - 1 == 2 * levels - 1
    assert (runs[2]["ts_recv"] == (T0 + 207) * 1000).all()


# ------------------------------------------------------------------------------ conformance
def test_conformance_with_tardis_documentation(tmp_path):
    """docs.tardis.dev, "Downloadable CSV files" / "Data Types", incremental_book_L2 (quoted):

    * "timestamp provided by exchange in microseconds since epoch - if exchange does not provide one
      local_timestamp value is used as a fallback"; "local_timestamp: message arrival timestamp in
      microseconds since epoch" -> ts_event, ts_recv;
    * "is_snapshot: possible values: true - if update was a part of initial order book snapshot, false - if
      update was not a part of initial order book snapshot. If last update was not a snapshot and current
      one is, then existing order book state must be discarded (all existing levels removed)";
    * "side: determines to which side of the order book update belongs to: bid - bid side of the book, buy
      orders; ask - ask side of the book, sell orders"; "amount ... 0 indicates that the price level can be
      removed";
    * "Files may contain non-snapshot updates before the first snapshot -- skip these rows until you
      encounter the first is_snapshot=true row";
    * the file names of its datasets API: ``<exchange>_<data type>_<YYYY-MM-DD>_<SYMBOL>.csv.gz`` (e.g.
      ``deribit_trades_2019-11-01_BTC-PERPETUAL.csv.gz``), from
      ``https://datasets.tardis.dev/v1/<exchange>/<data type>/<YYYY>/<MM>/<DD>/<SYMBOL>.csv.gz``;
    * book_snapshot_25 / _5: "Each row represents top 25 levels from each side of the limit order book".
    """
    replay = book_at

    rows = [l2(T0, "false", "bid", "99.0", "7"),  # before the first snapshot
            l2(T0 + 1, "true", "bid", "100.0", "1"), l2(T0 + 1, "true", "ask", "101.0", "2"),
            l2(T0 + 2, "false", "ask", "101.0", "0"), l2(T0 + 2, "false", "ask", "102.0", "5"),
            l2(T0 + 3, "true", "bid", "90.0", "9"), l2(T0 + 3, "true", "ask", "91.0", "9")]
    ev = load_events(write(tmp_path / L2_NAME, L2_HEADER, rows)).events
    assert ev["ts_event"][1] == T0 * 1000 and ev["ts_recv"][1] == (T0 + 700) * 1000
    # the documented reconstruction, on the rows as read: the buffered update never reaches a known book
    assert replay(ev, (T0 + 701) * 1000) == {}
    assert replay(ev, (T0 + 702) * 1000) == {(3, 100.0): 1.0, (4, 101.0): 2.0}
    assert replay(ev, (T0 + 703) * 1000) == {(3, 100.0): 1.0, (4, 102.0): 5.0}  # 0 removes the level
    assert replay(ev, (T0 + 704) * 1000) == {(3, 90.0): 9.0, (4, 91.0): 9.0}  # snapshot after updates: reset
    from liqcore.download.sources import plan

    import datetime as dt

    for typ in ("incremental_book_L2", "book_snapshot_25", "book_snapshot_5"):
        (p,) = plan("tardis", ["BTCUSDT"], [typ], dt.date(2024, 8, 1), dt.date(2024, 8, 1), exchange="binance-futures")
        assert p.url == f"https://datasets.tardis.dev/v1/binance-futures/{typ}/2024/08/01/BTCUSDT.csv.gz"
        assert p.name == f"binance-futures_{typ}_2024-08-01_BTCUSDT.csv.gz"


# ------------------------------------------------------------------------------ the hand-made depth market
def test_depth_market_reads_back_as_intended(tmp_path):
    dm = depth_market(tmp_path)
    for path, want in ((dm.depth, dm.depth_events), (dm.trades, dm.trade_events), (dm.liquidations, dm.liq_events)):
        res = load_events(path)
        assert not res.rejects, (path, res.rejects)
        assert res.events.tobytes() == want.tobytes(), path
    assert detect_format(dm.depth) == "tardis-book-l2"
    d = dm.depth_events
    tr = dm.trade_events
    for k, ep in enumerate(dm.episodes):
        t0 = ep["start_us"] * 1000
        # at the confirmation (the second large liquidation, 1 s in) the level shows the queue
        book = book_at(d, t0 + 1_500_000_000)
        assert book[(3, ENTRY)] == QUEUE and max(p for s, p in book if s == 3) > ENTRY  # behind the best bid
        at_level = tr[(tr["ts_event"] > t0) & (tr["ts_event"] < t0 + 60 * 10**9) & (tr["price"] == ENTRY)]
        printed = float(at_level["qty"].sum())
        assert printed == ep["printed"]
        assert (printed > QUEUE) == (k % 2 == 0)
        assert not ((tr["ts_event"] > t0) & (tr["ts_event"] < t0 + 3600 * 10**9) & (tr["price"] < ENTRY)).any()
    ctl = depth_market(tmp_path / "x", scale=1e6)
    assert book_at(ctl.depth_events, dm.episodes[0]["start_us"] * 1000 + 1_500_000_000)[(3, ENTRY)] == QUEUE * 1e6
    empty = depth_market(tmp_path / "e", empty=True)
    assert (3, ENTRY) not in book_at(empty.depth_events, dm.episodes[0]["start_us"] * 1000 + 1_500_000_000)


def test_depth_market_cascades_place_the_entry_at_the_level(tmp_path):
    """The default strategy confirms every episode and rests its buy limit at the level the depth shows."""
    from liqcore.backtest.run import backtest
    from liqcore.config import Params

    dm = depth_market(tmp_path)
    res = backtest([dm.trades, dm.liquidations], equity=10_000.0)
    assert len(res.records) == len(dm.episodes)  # every episode confirms a cascade
    assert res.signals is not None and len(res.signals) == len(dm.episodes)
    assert len(res.ledger) == 0  # nothing prints through the level: the top-of-book rules cannot fill it
    # filled on a touch, every entry rests exactly at the level the depth file shows
    touch = backtest([dm.trades, dm.liquidations], Params(fill="touch"), equity=10_000.0)
    assert len(touch.ledger) == len(dm.episodes)
    assert np.allclose(touch.ledger["ref_price"], 60_000.0) and (touch.ledger["entry_price"] == ENTRY).all()


def cli(*args):
    env = child_env(keep_cache=False)
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "liqcore", *[str(a) for a in args]], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=300)

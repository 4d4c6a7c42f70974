"""Top of book (kind QUOTE: a bid row and an ask row with the same times) through the file layer:
contract CSV / Parquet and datasets keep every field; quote prices are judged against the reference
price like trades; a crossed book is counted, not dropped."""
from __future__ import annotations

import numpy as np
import pytest

from liqcore.dataset import write_dataset
from liqcore.io import save_events
from liqcore.dataset.load import load_events
from liqcore.dataset.read import load_dataset
from liqcore.types import EVENT_DTYPE, Kind, Side, SymbolRegistry, Venue

T0 = 1_723_161_255_000_000_000
MS = 1_000_000


def _market(reg: SymbolRegistry, n: int = 50) -> np.ndarray:
    sid = reg.id(int(Venue.BINANCE), "BTCUSDT")
    rows = []
    for i in range(n):
        t = T0 + i * 100 * MS
        mid = 60_000.0 + i
        rows.append((t, t + 3 * MS, mid, 0.01, sid, int(Side.BUY), int(Kind.TRADE), int(Venue.BINANCE), 0))
        bid_qty = 0.0 if i == 7 else 1.5 + i  # one update with an empty bid
        rows.append((t + MS, t + 4 * MS, mid - 0.1 if bid_qty else 0.0, bid_qty, sid, int(Side.BUY), int(Kind.QUOTE),
                     int(Venue.BINANCE), 0))
        rows.append((t + MS, t + 4 * MS, mid + 0.1, 2.0, sid, int(Side.SELL), int(Kind.QUOTE), int(Venue.BINANCE), 0))
    return np.array(rows, dtype=EVENT_DTYPE)


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_quotes_round_trip_through_contract_files(tmp_path, suffix):
    reg = SymbolRegistry()
    ev = _market(reg)
    path = save_events(ev, tmp_path / f"q{suffix}", registry=reg)
    res = load_events(path)
    assert res.n_rejected == 0, res.rejects
    got = res.events
    assert len(got) == len(ev)
    q = got[got["kind"] == Kind.QUOTE]
    assert len(q) == 100 and set(q["side"].tolist()) == {int(Side.BUY), int(Side.SELL)}
    want = ev[ev["kind"] == Kind.QUOTE]
    for f in ("ts_event", "ts_recv", "price", "qty", "side"):
        assert q[f].tolist() == want[f].tolist(), f
    assert "quote=100" in res.summary()


def test_quotes_round_trip_through_a_dataset(tmp_path):
    reg = SymbolRegistry()
    ev = _market(reg)
    info = write_dataset(ev, tmp_path / "ds", registry=reg)
    assert info["rows_added"] == len(ev) and info["rows_refused"] == 0
    res = load_dataset(tmp_path / "ds")
    got = res.events
    q = got[got["kind"] == Kind.QUOTE]
    want = ev[ev["kind"] == Kind.QUOTE]
    assert len(q) == len(want)
    key = lambda a: sorted(zip(a["ts_event"].tolist(), a["side"].tolist(), a["price"].tolist(), a["qty"].tolist()))
    assert key(q) == key(want)


def test_quote_far_off_the_reference_is_implausible_and_a_crossed_book_is_counted(tmp_path):
    reg = SymbolRegistry()
    ev = _market(reg)
    ev[21]["price"] = 900_000.0  # the bid of update 10 at 15x the market: a corrupt quote
    ev[31]["price"], ev[32]["price"] = 60_020.0, 60_010.0  # update 15: bid above ask (crossed)
    path = save_events(ev, tmp_path / "q.csv", registry=reg)
    res = load_events(path)
    assert res.rejects.get("implausible_price") == 1
    assert res.rejects.get("crossed_book") == 1
    assert res.n_rejected == 1  # the crossed update is kept
    assert len(res.events) == len(ev) - 1 and (res.events["price"] != 900_000.0).all()


def test_contract_csv_quote_rows_need_a_book_side(tmp_path):
    p = tmp_path / "q.csv"
    p.write_text("ts_event_ns,venue,symbol,side,price,qty,kind\n"
                 f"{T0},binance,BTCUSDT,buy,60000,1,quote\n"
                 f"{T0},binance,BTCUSDT,long,60001,1,quote\n"
                 f"{T0},binance,BTCUSDT,sell,,0,quote\n"
                 f"{T0},binance,BTCUSDT,sell,60001,-1,quote\n")
    res = load_events(p)
    assert len(res.events) == 2 and res.rejects.get("bad_side") == 1 and res.rejects.get("non_positive") == 1
    assert res.events["qty"].tolist() == [1.0, 0.0]


def test_every_reader_of_top_of_book_keeps_and_counts_a_crossed_update(tmp_path):
    """tardis quotes, Binance's public bookTicker and a live capture treat a crossed book alike: the
    update is kept (both rows) and counted ``crossed_book``, never silently dropped."""
    import gzip
    import zipfile

    from liqcore.dataset.load import load_events

    t0_ms = 1_722_470_400_000
    # tardis quotes: exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount
    rows = ["exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount"]
    for i in range(50):
        bid, ask = 64000.0 + i, (64000.5 + i if i != 20 else 63990.0 + i)
        rows.append(f"binance-futures,BTCUSDT,{(t0_ms + 100 * i) * 1000},{(t0_ms + 100 * i) * 1000 + 7},2,{ask},{bid},3")
    tardis = tmp_path / "binance-futures_quotes_2024-08-01_BTCUSDT.csv.gz"
    tardis.write_bytes(gzip.compress(("\n".join(rows) + "\n").encode()))
    # Binance public data: update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,event_time
    book = ["update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,event_time"]
    for i in range(50):
        bid, ask = 64000.0 + i, (64000.5 + i if i != 20 else 64000.0 + i)  # 20: bid == ask
        book.append(f"{900 + i},{bid},3,{ask},2,{t0_ms + 100 * i},{t0_ms + 100 * i + 3}")
    vision = tmp_path / "BTCUSDT-bookTicker-2024-08-01.zip"
    with zipfile.ZipFile(vision, "w") as z:
        z.writestr("BTCUSDT-bookTicker-2024-08-01.csv", "\n".join(book) + "\n")
    for path in (tardis, vision):
        res = load_events(path)
        assert len(res.events) == 100, path.name  # 50 updates, both sides, the crossed one too
        assert res.rejects.get("crossed_book") == 1, (path.name, res.rejects)
        assert res.n_rejected == 0, (path.name, res.rejects)

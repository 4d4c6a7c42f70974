"""Dataset format 3: one row per top-of-book update (the bid in ``price`` / ``qty``, the ask in ``ask_price`` /
``ask_qty``), quotes in a section of their own after the trades.  A format-3 dataset loads exactly the events a
format-2 write of the same input loads -- whole or in chunks, through the checked read and the checking read --
its checked marks cover the new columns, and a read of trades alone decodes no quote row group."""
from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import liqcore.dataset.write as DS
from liqcore.dataset import load_dataset, write_dataset
from liqcore.dataset.checked import MARKS_FILE
from liqcore.types import EVENT_DTYPE, Kind, Side, SymbolRegistry, Venue

DAY = 86_400_000_000_000
T0 = 1_722_470_400_000_000_000 + DAY - 4_000  # a few microseconds before midnight: two partitions


def _events(draws, reg) -> np.ndarray:
    sid = reg.id(int(Venue.BINANCE), "BTCUSDT")
    rows = []
    for kind, dt, lag, p, q, bid_empty, ask_empty, copies in draws:
        te = T0 + dt * 1000
        tr = te + lag * 1000
        if kind == "trade":
            row = (te, tr, 100.0 + p, 0.5 + q, sid, int(Side.BUY if p % 2 else Side.SELL), int(Kind.TRADE),
                   int(Venue.BINANCE), 0)
            rows += [row] * copies
        elif kind == "liq":
            rows += [(te, tr, 100.0 + p, 1.0 + q, sid, int(Side.LONG), int(Kind.LIQUIDATION), int(Venue.BINANCE), 0)]
        else:  # a top-of-book update (its two sides, or one alone: "bid" / "ask")
            bid = (te, tr, 0.0 if bid_empty else 100.0 + p, 0.0 if bid_empty else 1.0 + q, sid, int(Side.BUY),
                   int(Kind.QUOTE), int(Venue.BINANCE), 0)
            ask = (te, tr, 0.0 if ask_empty else 100.5 + p, 0.0 if ask_empty else 2.0 + q, sid, int(Side.SELL),
                   int(Kind.QUOTE), int(Venue.BINANCE), 0)
            pair = [bid, ask] if kind == "quote" else [bid] if kind == "bid" else [ask] if kind == "ask" else [ask, bid]
            rows += pair * copies
    ev = np.array(rows, dtype=EVENT_DTYPE)
    return ev[np.argsort(ev["ts_event"], kind="stable")]


_DRAW = st.tuples(st.sampled_from(["trade", "quote", "quote", "quote", "bid", "ask", "askbid", "liq"]),
                  st.integers(0, 8), st.integers(0, 3), st.integers(0, 3), st.integers(0, 2), st.booleans(),
                  st.booleans(), st.sampled_from([1, 1, 1, 2]))


def _write(ev, reg, out, fmt, split, monkeypatch):
    monkeypatch.setattr(DS, "_WRITE_FORMAT", fmt)
    if split:  # two writes: the second merges with the partition file the first wrote
        write_dataset(ev[:split], out, reg, checked=True)
        write_dataset(ev[split:], out, reg, checked=True)
    else:
        write_dataset(ev, out, reg, checked=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(draws=st.lists(_DRAW, min_size=1, max_size=40), data=st.data())
def test_a_format_3_dataset_loads_the_events_of_a_format_2_one(tmp_path_factory, monkeypatch, draws, data):
    n = len(_events(draws, SymbolRegistry()))
    split = data.draw(st.integers(0, n - 1))
    _formats_agree(tmp_path_factory, monkeypatch, draws, split, data.draw(st.integers(0, 9)),
                   data.draw(st.integers(1, 9)))


def test_a_lone_bid_and_trades_of_its_times_load_quote_first_through_the_checking_read(tmp_path_factory,
                                                                                       monkeypatch):
    """A falsifying example hypothesis found: no quote row of the format-3 file carries an ask, so the
    checking read (``recheck``) used to leave the file's sections as they are (the trade, then the bid of
    the same event and receive time) where format 2 and the checked read give the bid first."""
    draws = [("trade", 0, 0, 0, 0, False, False, 1)] * 4 + [("bid", 0, 0, 0, 0, False, False, 1)]
    _formats_agree(tmp_path_factory, monkeypatch, draws, 0, 0, 1)
    reg = SymbolRegistry()
    d = tmp_path_factory.mktemp("lone")
    write_dataset(_events(draws, reg), d, reg, checked=True)
    got = load_dataset(d, check=False, recheck=True).events
    assert got["kind"].tolist() == [int(Kind.QUOTE), int(Kind.TRADE)]  # the documented tie rule: quotes first


def test_a_bid_and_ask_the_writer_does_not_keep_as_a_pair_is_not_counted_as_one_row(tmp_path_factory,
                                                                                    monkeypatch):
    """A falsifying example of the row count: a lone ask, then an update whose ask repeats it, at the same
    times; the writer keeps both equal ask rows (one source: a top of book may come back within a stamp),
    so format 2's file holds the ask, the bid, the ask, of which format 3 folds the bid and the second ask
    into one row.  Format 3 is as many rows as format 2 less the bid-and-ask pairs format 2 holds, and
    loads the same events."""
    draws = [("trade", 0, 0, 0, 0, False, False, 1), ("ask", 1, 1, 1, 1, False, False, 1),
             ("quote", 1, 1, 1, 1, False, False, 1)]
    _formats_agree(tmp_path_factory, monkeypatch, draws, 0, 0, 1)


def test_a_top_of_book_that_comes_back_within_one_stamp_keeps_its_last_state_through_a_write(tmp_path):
    reg = SymbolRegistry()
    draws = [("ask", 1, 1, 1, 1, False, False, 1), ("ask", 1, 1, 2, 1, False, False, 1),
             ("ask", 1, 1, 1, 1, False, False, 1)]
    ev = _events(draws, reg)
    write_dataset(ev, tmp_path / "ds", reg, checked=True)
    got = load_dataset(tmp_path / "ds", check=False).events
    assert got["price"].tolist() == ev["price"].tolist() == [101.5, 102.5, 101.5]


def _updates_of_two_rows(ds) -> int:
    """The top-of-book updates a format-2 dataset holds as two rows: among each file's quote rows (in file
    order), a bid row then an ask row of the same event and receive times and flags, without trade ids."""
    n = 0
    for f in ds.glob("venue=*/symbol=*/date=*/*.parquet"):
        t = pq.read_table(f, columns=["ts_event_ns", "ts_recv_ns", "kind", "side", "flags", "trade_id"])
        c = {k: t.column(k).to_numpy(zero_copy_only=False) for k in t.column_names}
        q = c["kind"] == int(Kind.QUOTE)
        c = {k: v[q] for k, v in c.items()}
        a, b = slice(None, -1), slice(1, None)
        n += int(np.count_nonzero((c["side"][a] == int(Side.BUY)) & (c["side"][b] == int(Side.SELL))
                                  & (c["ts_event_ns"][a] == c["ts_event_ns"][b])
                                  & (c["ts_recv_ns"][a] == c["ts_recv_ns"][b]) & (c["flags"][a] == c["flags"][b])
                                  & (c["trade_id"][a] == 0) & (c["trade_id"][b] == 0)))
    return n


def _formats_agree(tmp_path_factory, monkeypatch, draws, split, lo_at, span):
    reg = SymbolRegistry()
    ev = _events(draws, reg)
    d = tmp_path_factory.mktemp("fmt")
    two, three = d / "two", d / "three"
    with monkeypatch.context() as mp:
        _write(ev, reg, two, 2, split, mp)
    with monkeypatch.context() as mp:
        _write(ev, reg, three, 3, split, mp)
    assert json.loads((three / "_liqcore_dataset.json").read_text())["format"] == 3
    rows3 = sum(pq.read_metadata(f).num_rows for f in three.glob("venue=*/symbol=*/date=*/*.parquet"))
    rows2 = sum(pq.read_metadata(f).num_rows for f in two.glob("venue=*/symbol=*/date=*/*.parquet"))
    assert rows3 == rows2 - _updates_of_two_rows(two)  # each bid-and-ask update of format 2: one row
    lo = T0 + lo_at * 1000
    hi = lo + span * 1000
    for kw in ({}, {"recheck": True}, {"start_ns": lo, "end_ns": hi}, {"recv_range": (lo, hi, 0)},
               {"kinds": [int(Kind.QUOTE)]}, {"kinds": [int(Kind.TRADE), int(Kind.LIQUIDATION)]},
               {"recv_range": (lo, hi, 0), "recheck": True}):
        a = load_dataset(two, check=False, **kw)
        b = load_dataset(three, check=False, **kw)
        assert a.events.tobytes() == b.events.tobytes(), kw
        assert (a.trade_ids is None) == (b.trade_ids is None) and (
            a.trade_ids is None or np.array_equal(a.trade_ids, b.trade_ids)), kw
        assert a.rejects == b.rejects and a.files[str(two)]["checked"] == b.files[str(three)]["checked"], kw
        assert a.files[str(two)]["records"] == b.files[str(three)]["records"], kw
        assert b.files[str(three)]["checked"] is not bool(kw.get("recheck")), kw  # both reads exercised


def _book(n=40_000):
    reg = SymbolRegistry()
    sid = reg.id(int(Venue.BINANCE), "BTCUSDT")
    t = T0 - DAY // 2 + np.arange(n, dtype=np.int64) * 1_000_000
    ev = np.zeros(3 * n, EVENT_DTYPE)
    ev["ts_event"] = np.repeat(t, 3)
    ev["ts_recv"] = ev["ts_event"] + 2_000_000
    ev["symbol_id"], ev["venue"] = sid, int(Venue.BINANCE)
    # the book in force, then the trade of the same time (a load's order at equal times: quotes first)
    ev["kind"] = np.tile([int(Kind.QUOTE), int(Kind.QUOTE), int(Kind.TRADE)], n)
    ev["side"] = np.tile([int(Side.BUY), int(Side.SELL), int(Side.BUY)], n)
    ev["price"] = np.tile([99.9, 100.1, 100.0], n)
    ev["qty"] = np.tile([3.0, 4.0, 0.5], n)
    return ev[ev["ts_event"] < T0 - T0 % DAY + DAY], reg  # one day


def test_one_row_per_update_in_its_own_section_marked_and_failing_closed_when_altered(tmp_path):
    ev, reg = _book()
    ds = tmp_path / "ds"
    write_dataset(ev, ds, reg, checked=True)
    f = next(ds.glob("venue=*/symbol=*/date=*/*.parquet"))
    md = pq.read_metadata(f)
    nq = int(np.count_nonzero(ev["kind"] == int(Kind.QUOTE)))
    assert md.num_rows == len(ev) - nq // 2  # each update one row
    kinds = pq.ParquetFile(f).read(columns=["kind"]).column("kind").to_numpy()
    first_quote = int(np.argmax(kinds == int(Kind.QUOTE)))
    assert (kinds[:first_quote] == int(Kind.TRADE)).all() and (kinds[first_quote:] == int(Kind.QUOTE)).all()
    # row groups hold trades or quotes, never both: a read of trades decodes no quote group
    res = load_dataset(ds, kinds=[int(Kind.TRADE)])
    assert res.files[str(ds)]["checked"] is True
    assert res.files[str(ds)]["rows_read"] == int(np.count_nonzero(ev["kind"] == int(Kind.TRADE)))
    whole = load_dataset(ds)
    assert whole.files[str(ds)]["checked"] is True and whole.events.tobytes() == ev.tobytes()
    # the chunk planner's count (from the footers, nothing decoded) is of events, as a read holds them
    from liqcore.dataset.read import dataset_info, rows_per_partition

    assert list(rows_per_partition(ds, dataset_info(ds)).values()) == [len(ev)]
    # the mark covers the ask columns: one byte of an ask changed, the file is read the checking way, said once
    col = md.schema.names.index("ask_price")
    rg = md.row_group(md.num_row_groups - 1)
    chunk = rg.column(col)
    pos = int(chunk.data_page_offset) + int(chunk.total_compressed_size) - 3
    raw = bytearray(f.read_bytes())
    raw[pos] ^= 0x55
    f.write_bytes(bytes(raw))
    notes = []
    try:
        again = load_dataset(ds, warn=notes.append)
    except (OSError, ValueError):  # (a page that no longer decodes: an error naming it, never wrong rows)
        return
    assert again.files[str(ds)]["checked"] is False
    assert any("not the bytes their mark was taken of" in n for n in notes)


def test_a_format_2_dataset_is_upgraded_by_the_next_write_keeping_its_marks(tmp_path, monkeypatch):
    ev, reg = _book(4_000)
    ds = tmp_path / "ds"
    with monkeypatch.context() as mp:
        mp.setattr(DS, "_WRITE_FORMAT", 2)
        write_dataset(ev[: len(ev) // 2], ds, reg, checked=True)
    assert json.loads((ds / "_liqcore_dataset.json").read_text())["format"] == 2
    before = load_dataset(ds)
    assert before.files[str(ds)]["checked"] is True
    write_dataset(ev[len(ev) // 2:], ds, reg, checked=True)
    assert json.loads((ds / "_liqcore_dataset.json").read_text())["format"] == 3
    after = load_dataset(ds)
    assert after.files[str(ds)]["checked"] is True and after.events.tobytes() == ev.tobytes()
    assert len(json.loads((ds / MARKS_FILE).read_text())["files"]) == 1


@pytest.mark.parametrize("fmt", [2, 3])
def test_windows_bulk_groups_tell_quote_groups_and_cover_the_asks(tmp_path, monkeypatch, fmt):
    from liqcore.backtest.windows import _bulk_groups
    from liqcore.dataset import dataset_info

    ev, reg = _book(4_000)
    ds = tmp_path / "ds"
    monkeypatch.setattr(DS, "_WRITE_FORMAT", fmt)
    write_dataset(ev, ds, reg, checked=True)
    g = _bulk_groups(ds, dataset_info(ds))
    assert g["p_min"].min() == 99.9 and g["p_max"].max() == 100.1  # the asks' prices count
    if fmt == 3:
        assert g["has_quotes"].any() and not (g["has_quotes"] & g["has_trades"]).any()


def test_real_recordings_load_the_same_from_format_2_and_format_3(real_data, tmp_path, monkeypatch):
    """The bundled real Binance recordings (liquidations and trades), converted in format 2 and format 3:
    the same events, trade ids and counts, through the checked read and the checking read."""
    from liqcore.dataset import convert_to_dataset

    for folder in sorted(p for p in real_data.iterdir() if p.is_dir()):
        files = sorted(folder.glob("*.csv"))
        two, three = tmp_path / folder.name / "two", tmp_path / folder.name / "three"
        with monkeypatch.context() as mp:
            mp.setattr(DS, "_WRITE_FORMAT", 2)
            convert_to_dataset(files, two)
        convert_to_dataset(files, three)
        for kw in ({}, {"recheck": True}):
            a, b = load_dataset(two, **kw), load_dataset(three, **kw)
            assert len(a.events) > 1000 and a.events.tobytes() == b.events.tobytes(), (folder.name, kw)
            assert np.array_equal(a.trade_ids, b.trade_ids) and a.rejects == b.rejects, (folder.name, kw)

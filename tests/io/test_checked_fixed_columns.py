"""A checked read decodes only the columns a row group's statistics leave open: a group of quotes has
one kind, one side (the bid's: its ask rides in the ask columns) and, here, one flags value; a group of
trades one kind and no ask.  Those are filled in from the verified footer, not decoded, and the events
are the checking read's."""
from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liqcore.dataset import load_dataset, write_dataset
from liqcore.dataset import checked as C
from liqcore.dataset import read as io_dataset
from liqcore.types import Kind

D = 86_400_000_000_000


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """A format-3 dataset with its book (quote rows carry bid and ask), small row groups."""
    from liqcore.synthetic.market import synthetic_market

    m = synthetic_market(days=2, symbols=("BTCUSDT",), seed=5, cache=False, effects={"book": True})
    out = tmp_path_factory.mktemp("fixed") / "ds"
    keep = io_dataset.ROW_GROUP_ROWS
    io_dataset.ROW_GROUP_ROWS = 2_000
    try:
        write_dataset(m.events, out, m.registry, checked=True)
    finally:
        io_dataset.ROW_GROUP_ROWS = keep
    return out, m


def _spy(monkeypatch):
    """Record the columns of every row-group decode of the checked read, by pyarrow or page by page:
    (groups' kind range, columns)."""
    calls = []
    real, real_pages = C._open, C._decode_pages

    class Spy:
        def __init__(self, pf, path, f):
            self.pf, self.path, self.f = pf, path, f
            self.schema_arrow = pf.schema_arrow

        def read_row_groups(self, gs, columns, use_threads=True):
            calls.append(({(int(self.f.kd[g, 0]), int(self.f.kd[g, 1])) for g in gs}, tuple(columns)))
            return self.pf.read_row_groups(gs, columns=columns, use_threads=use_threads)

    def pages(path, f, ws, dec):
        got = real_pages(path, f, ws, dec)
        done = [w for w in ws if w[0] in got]
        if done:
            calls.append(({(int(f.kd[w[1], 0]), int(f.kd[w[1], 1])) for w in done}, tuple(dec)))
        return got

    monkeypatch.setattr(C, "_open", lambda path, f: Spy(real(path, f), path, f))
    monkeypatch.setattr(C, "_decode_pages", pages)
    return calls


@pytest.mark.parametrize("by_pages", [True, False], ids=["pages", "pyarrow"])
def test_quote_and_trade_groups_decode_only_the_columns_their_statistics_leave_open(book, monkeypatch, by_pages):
    ds, _m = book
    monkeypatch.setattr(C, "PAGES", by_pages)
    files = sorted(ds.glob("venue=*/symbol=*/date=*/*.parquet"))
    md = pq.read_metadata(files[0])
    assert "ask_price" in md.schema.names  # format 3: a quote row is one row
    calls = _spy(monkeypatch)
    C._RECENT.clear()
    fast = load_dataset(ds, check=False)
    monkeypatch.undo()
    slow = load_dataset(ds, check=False, recheck=True)
    assert fast.files[str(ds)]["checked"] is True
    assert np.array_equal(fast.events, slow.events)
    ev = fast.events
    assert (ev["kind"] == int(Kind.QUOTE)).any() and (ev["kind"] == int(Kind.TRADE)).any()
    quotes = [cols for kinds, cols in calls if kinds == {(7, 7)}]
    trades = [cols for kinds, cols in calls if kinds == {(2, 2)}]
    assert quotes and trades, calls
    for cols in quotes:  # kind, side (the bid's) and flags: one value a group, from its statistics
        assert not {"kind", "side", "flags"} & set(cols), cols
        assert {"ts_event_ns", "ts_recv_ns", "price", "qty", "ask_price", "ask_qty"} <= set(cols), cols
    for cols in trades:  # one kind, no ask; the sides of trades differ: decoded
        assert not {"kind", "ask_price", "ask_qty"} & set(cols), cols
        assert {"ts_event_ns", "ts_recv_ns", "side", "price", "qty"} <= set(cols), cols


def test_a_column_the_statistics_do_not_fix_is_decoded(book):
    """The footer's fixed columns are exactly those whose statistics prove one value (min == max, no
    null) or, for the ask columns, every row null."""
    ds, _m = book
    for path in sorted(ds.glob("venue=*/symbol=*/date=*/*.parquet")):
        f = C.footer(str(path))
        md = pq.read_metadata(path)
        t = pq.read_table(path)
        for g in range(md.num_row_groups):
            part = t.slice(int(sum(f.rows[:g])), int(f.rows[g]))
            fx = f.fixed[g]
            for c in ("kind", "side", "flags"):
                col = part.column(c).to_numpy()
                one = len(np.unique(col)) == 1
                assert (c in fx) == one, (path, g, c)
                if one:
                    assert fx[c] == int(col[0])
            for c in C.ASK_COLS:
                assert (c in fx) == bool(part.column(c).null_count == len(part)), (path, g, c)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lo=st.floats(0, 2.1), span=st.floats(0, 2.1), recv=st.booleans(), r_lo=st.floats(0, 2), r_span=st.floats(0, 1),
       kinds=st.one_of(st.none(), st.sets(st.sampled_from([int(k) for k in Kind if int(k) > 0]), min_size=1)),
       skew=st.sampled_from([None, 0, 10**12]))
def test_any_selection_of_a_book_dataset_reads_as_the_checking_read(book, lo, span, recv, r_lo, r_span, kinds, skew):
    ds, m = book
    t0 = int(m.events["ts_event"].min()) - D // 10
    rr = (t0 + int(r_lo * D), t0 + int((r_lo + r_span) * D), 0) if recv else None
    kw = dict(start_ns=t0 + int(lo * D), end_ns=t0 + int((lo + span) * D), kinds=kinds, recv_range=rr,
              max_clock_skew_ns=skew, check=False)
    C._RECENT.clear()
    fast, slow = load_dataset(ds, **kw), load_dataset(ds, recheck=True, **kw)
    assert fast.files[str(ds)]["checked"] is True
    assert np.array_equal(fast.events, slow.events)
    assert fast.files[str(ds)]["records"] == slow.files[str(ds)]["records"]


def test_row_tests_the_statistics_prove_make_no_pass(book, monkeypatch):
    """A row group whose statistics put every row inside the read's event-time range, kinds and receive
    range is not masked by those tests (the window read asks for every kind, over a receive range): only
    the groups at a range's edge are; the events are the checking read's all the same."""
    ds, m = book
    calls = []
    real = C._row_mask

    def spy(te, tr, kind, start_ns, end_ns, kinds, recv_range):
        calls.append((len(te), start_ns, end_ns, kinds, recv_range))
        return real(te, tr, kind, start_ns, end_ns, kinds, recv_range)

    t = m.events["ts_recv"]
    lo, hi = int(np.quantile(t, 0.3)), int(np.quantile(t, 0.6))
    every = [int(k) for k in Kind if int(k) > 0]
    kw = dict(kinds=every, recv_range=(lo, hi, 0), start_ns=int(m.events["ts_event"].min()) - D,
              end_ns=int(m.events["ts_event"].max()) + D, check=False)
    monkeypatch.setattr(C, "_row_mask", spy)
    C._RECENT.clear()
    fast = load_dataset(ds, **kw)
    monkeypatch.undo()
    slow = load_dataset(ds, recheck=True, **kw)
    assert np.array_equal(fast.events, slow.events) and len(fast.events) > 1_000
    assert len(calls) > 4
    assert all(c[1] is None and c[2] is None and c[3] is None for c in calls), calls  # proven: no pass
    inside = [c for c in calls if c[4] is None]  # groups wholly inside the receive range: no receive pass
    # (only a group at each end of a file's section is cut: two days, three sections)
    assert len(inside) >= len(calls) - 12 and len(inside) > len(calls) // 2, calls


def test_parts_are_decoded_at_the_grain_of_the_writers_pages():
    """A part of a row group is widened to the pages the writer writes (``SPAN_ROWS``), so reads meeting the same
    pages share one decode; the grain is the writer's page size (a finer writer would decode parts twice, a
    coarser one would decode pages over again)."""
    from liqcore.dataset.write import PAGE_ROWS

    assert C.SPAN_ROWS == PAGE_ROWS

"""A depth file's book checkpoints (``book.parquet``, written with it): the book any receive time finds from the
checkpoint before it and the rows between equals the book of every row received before it, over files of one
and several days (a property over random streams, small row groups); a day that does not start from a
snapshot run is refused where its book carries the day before's; checkpoints that are not the depth file's
(another write of it) are refused by the fingerprint, never used."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liqcore._jit import depth as dp
from liqcore.dataset import write_dataset
from liqcore.dataset import depth as ds_depth
from liqcore.dataset.depth import BOOK_FILE, DEPTH_DIR, DepthIndex
from liqcore.types import Flag, SymbolRegistry

from tests.io.test_dataset_depth import DAY, T0_NS, depth_stream

GRID = 10.0  # (the streams' prices are whole tenths)


@pytest.fixture
def small_groups(monkeypatch):
    monkeypatch.setattr(ds_depth, "DEPTH_GROUP_ROWS", 16)
    monkeypatch.setattr(ds_depth, "BOOK_GROUP_ROWS", 8)


def _stream(seed, n, days, snap_each_day=False):
    ev = depth_stream(np.random.default_rng(seed), n, 1, days=days)
    if snap_each_day and len(ev):  # each day's first row a snapshot row (a run of one)
        day = (ev["ts_recv"] - T0_NS) // DAY
        first = np.flatnonzero(np.r_[True, day[1:] != day[:-1]])
        ev["flags"][first] = int(Flag.SNAPSHOT)
        ev["side"][first] = 3
        ev["price"][first] = 60_000.0
        ev["qty"][first] = 1.0
    return ev


def _write(path, ev):
    reg = SymbolRegistry()
    reg.id("binance", "BTCUSDT")
    ev = ev.copy()
    ev["symbol_id"] = 0
    write_dataset(ev, str(path), reg)


def _replayed(ev, t):
    tables, meta = dp.new_books(1)
    e = ev[ev["ts_recv"] < t].copy()
    e["symbol_id"] = 0
    dp.apply_rows(tables, meta, e, np.array([GRID]))
    return tables, meta


def _from_start(got):
    tables, meta = dp.new_books(1)
    assert dp.load_book(tables, meta, 0, got.bid, got.price, got.qty, np.int64(got.m_run), np.int64(got.m_known),
                        GRID) == 0
    r = got.rows.copy()
    r["symbol_id"] = 0
    dp.apply_rows(tables, meta, r, np.array([GRID]))
    return tables, meta


def _levels(tables):
    return [dp.levels(tables, 0, b)[0].tolist() + dp.levels(tables, 0, b)[1].tolist() for b in (True, False)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31), n=st.integers(1, 300), days=st.integers(1, 3),
       picks=st.lists(st.integers(0, 10**6), min_size=1, max_size=8))
def test_the_book_from_a_checkpoint_is_the_book_of_every_row(tmp_path_factory, small_groups, seed, n, days, picks):
    ev = _stream(seed, n, days, snap_each_day=True)
    path = tmp_path_factory.mktemp("ds")
    _write(path, ev)
    idx = DepthIndex(path, "binance", "BTCUSDT")
    tr = ev["ts_recv"]
    times = {int(tr[p % len(tr)]) + d for p in picks for d in (-1, 0, 1)} | {int(tr[0]), int(tr[-1]) + 1, T0_NS}
    for t in sorted(times):
        got = idx.start(t)
        want_t, want_m = _replayed(ev, t)
        if got.empty:
            assert not (tr < t).any()
            continue
        assert (got.rows["ts_recv"] < t).all() and len(got.rows) <= 16
        have_t, have_m = _from_start(got)
        assert _levels(have_t) == _levels(want_t)
        assert (have_m[0] == want_m[0]).all()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31), n=st.integers(1, 300), days=st.integers(1, 3),
       cuts=st.lists(st.integers(0, 10**6), min_size=2, max_size=6), event_times=st.booleans(),
       long=st.booleans(), ke=st.integers(-3, 3), kt=st.integers(-3, 3))
def test_the_index_rows_are_the_files_rows_whole_or_filtered(tmp_path_factory, small_groups, seed, n, days, cuts,
                                                            event_times, long, ke, kt):
    """The rows ``DepthIndex.rows`` builds from a row group's columns (``_jit.depth.pack_rows``), over any receive
    time ranges read on in steps, are the stored rows (symbol id and venue the index's), and with a filter on
    the columns (``touching_cols``, as the default read filters them) those rows masked by ``touching`` over
    the range's rows (every row of a receive time that holds a run or a gap row, across row groups)."""
    ev = _stream(seed, n, days, snap_each_day=True)
    ev["ts_recv"] = T0_NS + (ev["ts_recv"] - T0_NS) // (DAY // 64) * (DAY // 64)  # (rows share receive times,
    path = tmp_path_factory.mktemp("ds")  # a snapshot run's or a gap's among them, across row groups)
    _write(path, ev)
    whole = ds_depth.load_depth(str(path))[0]
    tr = whole["ts_recv"]
    bounds = sorted({int(tr[c % len(tr)]) + (c % 3) - 1 for c in cuts} | {int(tr[0]), int(tr[-1]) + 1})
    mid = dp.dkey(float(np.median(whole["price"])), GRID)
    ke, kt = int(mid + ke), int(mid + 2 + kt)

    def filt(t, price, side, flags):
        return dp.touching_cols(t, price, side, flags, long, GRID, ke, kt, 1)

    for f in (None, filt):
        idx = DepthIndex(path, "binance", "BTCUSDT", symbol_id=7)
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            got = idx.rows(lo, hi, event_times=event_times, filt=f)
            want = whole[(tr >= lo) & (tr < hi)].copy()
            if f is not None:  # (the rows of the whole range: a receive time's rows kept together)
                want = want[dp.touching(want, long, GRID, ke, kt, 1)]
            want["symbol_id"], want["venue"] = 7, 2
            if not event_times:
                want["ts_event"] = want["ts_recv"]
            assert got.tobytes() == want.tobytes()


def test_a_day_that_carries_the_day_before_is_refused(tmp_path, small_groups):
    ev = _stream(1, 400, 2)
    ev["flags"] &= ~np.uint8(int(Flag.SNAPSHOT) | int(Flag.DEPTH_GAP))  # no run, no gap: day 2 carries day 1
    ev = ev[ev["flags"] == 0]
    _write(tmp_path, ev)
    idx = DepthIndex(tmp_path, "binance", "BTCUSDT")
    day2 = ev["ts_recv"][ev["ts_recv"] >= T0_NS + DAY]
    got = idx.start(int(day2[0]))  # (before day 2's first row: day 1's last checkpoint and rows)
    want_t, _m = _replayed(ev, int(day2[0]))
    assert _levels(_from_start(got)[0]) == _levels(want_t)
    with pytest.raises(ValueError, match="carries the day before"):
        idx.start(int(day2[-1]))


def test_checkpoints_of_another_write_are_refused(tmp_path, small_groups):
    ev = _stream(2, 200, 1, snap_each_day=True)
    _write(tmp_path / "a", ev)
    other = ev.copy()
    other["qty"][5:] = np.where(other["qty"][5:] > 0, other["qty"][5:] + 1.0, 0.0)
    other["ts_recv"][-1] += 1
    _write(tmp_path / "b", other)
    f = next((tmp_path / "a" / DEPTH_DIR).rglob(BOOK_FILE))
    g = next((tmp_path / "b" / DEPTH_DIR).rglob(BOOK_FILE))
    shutil.copy(g, f)  # b's checkpoints beside a's rows
    with pytest.raises(ValueError, match="fingerprint differs"):
        DepthIndex(tmp_path / "a", "binance", "BTCUSDT").start(int(ev["ts_recv"][-1]))
    f.unlink()
    with pytest.raises(ValueError, match="no book checkpoints"):
        DepthIndex(tmp_path / "a", "binance", "BTCUSDT").start(int(ev["ts_recv"][-1]))


def test_writing_the_same_rows_again_adds_the_checkpoints_a_file_lacks(tmp_path, small_groups):
    """A depth file written before checkpoints existed: converting the same data again leaves its rows as they
    are and writes its checkpoints beside it."""
    ev = _stream(3, 200, 1, snap_each_day=True)
    _write(tmp_path, ev)
    book = next((tmp_path / DEPTH_DIR).rglob(BOOK_FILE))
    depth_file = book.with_name("depth.parquet")
    before = depth_file.read_bytes()
    book.unlink()
    with pytest.raises(ValueError, match="no book checkpoints"):
        DepthIndex(tmp_path, "binance", "BTCUSDT").start(int(ev["ts_recv"][-1]))
    _write(tmp_path, ev)
    assert book.is_file() and depth_file.read_bytes() == before
    t = int(ev["ts_recv"][len(ev) // 2])
    have_t, have_m = _from_start(DepthIndex(tmp_path, "binance", "BTCUSDT").start(t))
    want_t, want_m = _replayed(ev, t)
    assert _levels(have_t) == _levels(want_t) and (have_m[0] == want_m[0]).all()

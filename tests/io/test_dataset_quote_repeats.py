"""The writer's duplicate rule against a load's: a dataset written from some sources, then loaded, holds the
events a load's rule (:func:`liqcore.io.base.dedupe`) gives for the union of those sources, in the dataset's
order.  A top of book that comes back within one stamp (ask X, ask Y, ask X) keeps its rows, as a load keeps
them; the same data written twice, overlapping halves, X, Y, X written twice: nothing doubled, nothing lost."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liqcore.dataset import convert_to_dataset, load_dataset, write_dataset
from liqcore.io.base import dedupe
from liqcore.types import EVENT_DTYPE, Kind, Side, SymbolRegistry, Venue

T0 = 1_722_513_600_000_000_000  # 2024-08-01 12:00 UTC: every event of a draw in one partition
MS = 1_000_000


def _events(draws) -> tuple[np.ndarray, np.ndarray, SymbolRegistry]:
    """Events of one symbol sorted by event time (stable: each stamp's rows in the order drawn), and their
    trade ids (0: none).  Draws: (what, stamp, receive lag, price step, size step, trade id)."""
    reg = SymbolRegistry()
    sid = reg.id(int(Venue.BINANCE), "BTCUSDT")
    rows, tids = [], []
    for what, stamp, lag, p, q, tid in draws:
        te = T0 + stamp * MS
        tr = te + lag * MS

        def row(price, qty, side, kind):
            return (te, tr, price, qty, sid, int(side), int(kind), int(Venue.BINANCE), 0)

        if what == "trade":
            rows.append(row(60_000.0 + p, 0.5 + q, Side.BUY if p % 2 else Side.SELL, Kind.TRADE))
            tids.append(tid)
        elif what == "liq":
            rows.append(row(60_000.0 + p, 1.0 + q, Side.LONG, Kind.LIQUIDATION))
            tids.append(0)
        else:  # a top of book: both sides, or one (the bid below the ask: never a crossed book)
            bid = row(59_990.0 + p, 1.0 + q, Side.BUY, Kind.QUOTE)
            ask = row(60_010.0 + p, 2.0 + q, Side.SELL, Kind.QUOTE)
            pair = {"quote": [bid, ask], "bid": [bid], "ask": [ask]}[what]
            rows += pair
            tids += [0] * len(pair)
    ev = np.array(rows, dtype=EVENT_DTYPE)
    order = np.argsort(ev["ts_event"], kind="stable")
    return ev[order], np.asarray(tids, np.int64)[order], reg


def _dataset_order(ev: np.ndarray) -> np.ndarray:
    """The order a dataset gives its events back: by event time; at one time the rare kinds (liquidations
    and the like) first, then trades and quotes by receive time, quotes first where both tie; otherwise
    as they came (stable)."""
    bulk = np.isin(ev["kind"], [int(Kind.TRADE), int(Kind.QUOTE)])
    return np.lexsort((ev["kind"] != int(Kind.QUOTE), ev["ts_recv"], bulk, ev["ts_event"]))


def _want(ev: np.ndarray, tids: np.ndarray):
    """A load's rule applied to the union of the sources (``ev``: each stamp once), in the dataset's order."""
    ev, ids, _n = dedupe(ev, tids if tids.any() else None, with_ids=True)
    o = _dataset_order(ev)
    return ev[o], (ids[o] if ids is not None else None)


def _assert_loads(ds, ev, tids, reg=None):
    """The dataset ``ds`` loads (checked read and checking read) as :func:`_want` of ``ev``, trade ids
    included (``reg``: the events' registry, when the symbol ids may differ from the dataset's)."""
    want, want_ids = _want(ev, tids)
    for kw in ({}, {"recheck": True}):  # the checked read and the checking read
        got = load_dataset(ds, check=False, **kw)
        g = got.events
        if reg is not None:  # the symbols by name (a dataset's load numbers them anew)
            assert len(g) == len(want) and {got.registry.symbol(int(x)) for x in np.unique(g["symbol_id"])} == {
                reg.symbol(int(x)) for x in np.unique(want["symbol_id"])}, kw
            g = g.copy()
            g["symbol_id"] = want["symbol_id"]
        assert g.tobytes() == want.tobytes(), kw
        if want_ids is None or not want_ids.any():
            assert got.trade_ids is None or not got.trade_ids.any(), kw
        else:
            assert np.array_equal(got.trade_ids, want_ids), kw


_DRAW = st.tuples(st.sampled_from(["trade", "trade", "quote", "quote", "quote", "bid", "ask", "ask", "liq"]),
                  st.integers(0, 6), st.integers(0, 2), st.integers(0, 2), st.integers(0, 1),
                  st.sampled_from([0, 0, 11, 12]))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(draws=st.lists(_DRAW, min_size=1, max_size=40), data=st.data())
def test_written_then_loaded_equals_a_load_of_the_union_of_the_sources(tmp_path_factory, draws, data):
    """Random trades (with and without ids), liquidations and tops of book with repeats within a stamp,
    written as two sources: the same data twice, or two halves cut between stamps that may overlap (the
    second starting at or before the first one's end), written one after the other or in one write of two
    runs (a convert of two files of one day).  Loaded back: a load's rule applied to the union."""
    ev, tids, reg = _events(draws)
    # the union of the sources as a load gives it (a recording's rows: no two rows one trade by a load's
    # rule, tops of book as they came, repeats and all); the sources are cut from it
    ev, tids, _n = dedupe(ev, tids, with_ids=True)
    stamps = sorted(set(ev["ts_event"].tolist()))
    mode = data.draw(st.sampled_from(["twice", "halves", "one"]))
    if mode == "twice":
        first, second = np.ones(len(ev), bool), np.ones(len(ev), bool)
    elif mode == "halves":
        end = data.draw(st.integers(0, len(stamps)))  # the first half: the stamps before stamps[end]
        start = data.draw(st.integers(0, end))  # the second: from stamps[start] on (overlapping when < end)
        cut_end = stamps[end] if end < len(stamps) else stamps[-1] + 1
        cut_start = stamps[start] if start < len(stamps) else stamps[-1] + 1
        first, second = ev["ts_event"] < cut_end, ev["ts_event"] >= cut_start
    else:
        first, second = np.ones(len(ev), bool), np.zeros(len(ev), bool)
    d = tmp_path_factory.mktemp("src")
    ds = d / "ds"
    if data.draw(st.booleans()):  # one write after the other: the second merges with the first's file
        for m in (first, second):
            if m.any():
                write_dataset(ev[m], ds, reg, trade_ids=tids[m], checked=True)
    else:  # one convert of two files of one day: both written at once, as two runs of one partition
        from liqcore.io.save import save_events

        files = []
        for j, m in enumerate((first, second)):
            if m.any():
                files.append(save_events(ev[m], d / f"part{j}_2024-08-01.parquet", reg, trade_ids=tids[m]))
        convert_to_dataset(files, ds)
    _assert_loads(ds, ev, tids)


def _repeat_within_a_stamp():
    """Ask X, ask Y, ask X at one stamp (the book's last state: X), a trade after it."""
    return _events([("ask", 1, 1, 1, 1, 0), ("ask", 1, 1, 2, 1, 0), ("ask", 1, 1, 1, 1, 0),
                    ("trade", 2, 0, 0, 0, 7)])


def test_a_repeat_within_a_stamp_written_twice_is_held_once(tmp_path):
    """X, Y, X then X, Y, X again: the three quote rows once (each row already there cancels one equal new
    row), the last state still X; the trade once."""
    ev, tids, reg = _repeat_within_a_stamp()
    ds = tmp_path / "ds"
    for _ in range(2):
        write_dataset(ev, ds, reg, trade_ids=tids, checked=True)
        got = load_dataset(ds, check=False)
        assert got.events["price"].tolist() == [60_011.0, 60_012.0, 60_011.0, 60_000.0]
        assert got.files[str(ds)]["checked"] is True
    _assert_loads(ds, ev, tids)


def test_the_same_file_converted_twice_and_overlapping_halves_change_nothing(tmp_path):
    """A file converted, then converted again (``force``), or as two overlapping halves in one convert and in
    two: the same events as the whole file loaded, the repeat within a stamp kept."""
    from liqcore.io.save import save_events

    ev, tids, reg = _events([("quote", 0, 0, 0, 0, 0), ("ask", 1, 1, 1, 1, 0), ("ask", 1, 1, 2, 1, 0),
                             ("ask", 1, 1, 1, 1, 0), ("trade", 1, 0, 0, 0, 0), ("trade", 1, 0, 0, 0, 0),
                             ("bid", 2, 0, 1, 0, 0), ("bid", 2, 0, 0, 0, 0), ("bid", 2, 0, 1, 0, 0),
                             ("liq", 3, 0, 0, 0, 0), ("quote", 3, 0, 1, 1, 0)])
    whole = save_events(ev, tmp_path / "whole_2024-08-01.parquet", reg, trade_ids=tids)
    early = ev["ts_event"] < T0 + 3 * MS  # the stamps 0, 1, 2
    late = ev["ts_event"] >= T0 + 1 * MS  # the stamps 1, 2, 3: 1 and 2 in both halves
    a = save_events(ev[early], tmp_path / "a_2024-08-01.parquet", reg, trade_ids=tids[early])
    b = save_events(ev[late], tmp_path / "b_2024-08-01.parquet", reg, trade_ids=tids[late])
    twice = tmp_path / "twice"
    convert_to_dataset([whole], twice)
    convert_to_dataset([whole], twice, force=True)
    _assert_loads(twice, ev, tids)
    one = tmp_path / "one"
    convert_to_dataset([a, b], one)  # one partition written once, from two runs
    _assert_loads(one, ev, tids)
    two = tmp_path / "two"
    convert_to_dataset([a], two)
    convert_to_dataset([b], two)
    _assert_loads(two, ev, tids)
    n = len(load_dataset(twice, check=False).events)
    assert n == len(ev) - 1  # (the trade seen twice: a load's rule keeps it once; every quote row stays)


@pytest.mark.parametrize("second", ["longer", "same"])
def test_a_second_write_adds_only_the_rows_the_first_did_not_hold(tmp_path, second):
    """X, Y, X written, then X, Y, X, Y (a longer recording of the same stamp): the one Y more is added,
    after the rows already there (old rows first, then the new ones, at equal times)."""
    ev, tids, reg = _events([("ask", 1, 1, 1, 1, 0), ("ask", 1, 1, 2, 1, 0), ("ask", 1, 1, 1, 1, 0),
                             ("ask", 1, 1, 2, 1, 0)])
    ds = tmp_path / "ds"
    write_dataset(ev[:3], ds, reg, checked=True)
    res = write_dataset(ev if second == "longer" else ev[:3], ds, reg, checked=True)
    got = load_dataset(ds, check=False).events["price"].tolist()
    if second == "longer":
        assert res["rows_added"] == 1 and got == [60_011.0, 60_012.0, 60_011.0, 60_012.0]
    else:
        assert res["rows_added"] == 0 and got == [60_011.0, 60_012.0, 60_011.0]


def test_real_recordings_written_twice_and_as_overlapping_halves_load_as_the_union(real_data, tmp_path):
    """The bundled real Binance recordings (liquidations and trades, their real stamps and ids) of each
    folder's busiest symbol, with a top of book made from its trades (bid and ask about each trade's price
    at its stamp, the ask coming back within the stamp at every fifth: X, Y, X), written twice, and as two
    halves overlapping by whole stamps: loaded back, a load's rule over the union, every repeat kept."""
    from liqcore.dataset.load import load_events

    for folder in sorted(p for p in real_data.iterdir() if p.is_dir()):
        res = load_events(sorted(folder.glob("*.csv")), warn=lambda _line: None)
        sid = int(np.bincount(res.events["symbol_id"]).argmax())
        m = res.events["symbol_id"] == sid
        ev, tids = res.events[m], res.trade_ids[m] if res.trade_ids is not None else np.zeros(int(m.sum()), np.int64)
        t = ev[ev["kind"] == int(Kind.TRADE)]
        t = t[np.flatnonzero(np.r_[True, t["ts_event"][1:] != t["ts_event"][:-1]])]  # one update per stamp
        k = np.arange(len(t)) % 5 == 0  # these stamps: ask X, ask Y, ask X
        q = np.repeat(t, np.where(k, 4, 2))
        first = np.r_[0, np.cumsum(np.where(k, 4, 2))[:-1]]
        q["kind"] = int(Kind.QUOTE)
        q["side"] = int(Side.SELL)
        q["price"] += 0.5
        q["qty"] = 3.0
        q["side"][first] = int(Side.BUY)
        q["price"][first] -= 1.0
        q["price"][first[k] + 2] += 0.5  # Y, between the two X
        ev = np.concatenate([ev, q])
        tids = np.concatenate([tids, np.zeros(len(q), np.int64)])
        o = np.argsort(ev["ts_event"], kind="stable")
        ev, tids = ev[o], tids[o]
        reg = res.registry
        stamps = np.unique(ev["ts_event"])
        lo, hi = stamps[len(stamps) // 3], stamps[2 * len(stamps) // 3]  # the halves share [lo, hi)
        twice, halves = tmp_path / folder.name / "twice", tmp_path / folder.name / "halves"
        for _ in range(2):
            write_dataset(ev, twice, reg, trade_ids=tids, checked=True)
        for h in (ev["ts_event"] < hi, ev["ts_event"] >= lo):
            write_dataset(ev[h], halves, reg, trade_ids=tids[h], checked=True)
        assert int(np.count_nonzero(k)) > 100, folder.name
        for ds in (twice, halves):
            _assert_loads(ds, ev, tids, reg)

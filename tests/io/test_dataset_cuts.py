"""A convert cuts a day file's events (one venue and symbol, in event-time order) into its UTC-day
partitions by searching the sorted times for each day's start: the same partitions, keys and rows (with
their trade ids) as grouping every event by its day, over events spanning several days with empty days
between them, times before 1970 and on a day's first nanosecond; and the same as the general cut (events
of two symbols, grouped by sort) gives each symbol.  And the runs of equal event times a partition's merge
reorders or compares (:func:`liqcore.dataset.write._runs_at`, found by searching their times) are the rows the
run numbering of every row found."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import liqcore.dataset.write as DS
from liqcore.types import EVENT_DTYPE, SymbolRegistry

DAY = 86_400_000_000_000


def _by_day(events, registry, ids):
    """The reference: every event grouped by its UTC day."""
    day = events["ts_event"] // DAY
    out = []
    for d in np.unique(day):
        sel = day == d
        key = ("binance", registry.symbol(int(events["symbol_id"][0])), str(np.datetime64(int(d), "D")))
        out.append((key, DS._rows_of(events[sel], ids[sel]).tobytes()))
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-3 * DAY, 9 * DAY), min_size=1, max_size=60),
       st.lists(st.sampled_from([0, DAY, DAY - 1, 5 * DAY]), max_size=5), st.integers(0, 2))
def test_a_day_file_is_cut_at_each_day_start(times, edges, which):
    reg = SymbolRegistry()
    sid = reg.id(2, "BTCUSDT")
    ts = np.sort(np.array(times + edges, np.int64) + [0, 1_700_000_000 * 10**9, -DAY][which])
    ev = np.zeros(len(ts), EVENT_DTYPE)
    ev["ts_event"] = ts
    ev["symbol_id"] = sid
    ev["venue"] = 2
    ev["kind"] = 2
    ev["price"] = np.arange(len(ts)) + 1.0
    ids = np.arange(len(ts), dtype=np.int64) + 100
    parts, refused = DS._split(ev, reg, ids, None)
    assert refused == 0
    assert [(k, r.tobytes()) for k, r in parts] == _by_day(ev, reg, ids)
    # the general cut (two symbols in one array: grouped by sort) gives this symbol the same partitions
    other = ev.copy()
    other["symbol_id"] = reg.id(2, "ETHUSDT")
    both = np.concatenate([ev, other])
    parts2, _ = DS._split(both, reg, np.concatenate([ids, ids]), None)
    assert [(k, r.tobytes()) for k, r in parts2 if k[1] == "BTCUSDT"] == [(k, r.tobytes()) for k, r in parts]


def _runs_by_number(te, pos):
    """The reference: number every row's run of equal times, mark the runs of ``pos``, take their rows."""
    same = te[1:] == te[:-1]
    run = np.concatenate([[0], np.cumsum(~same)])
    hit = np.zeros(int(run[-1]) + 1, dtype=bool)
    hit[run[pos]] = True
    return np.flatnonzero(hit[run])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=1, max_size=80), st.data())
def test_runs_at_are_the_numbered_runs(times, data):
    te = np.sort(np.array(times, np.int64))
    rows = np.zeros(len(te), DS._ROW_DTYPE)
    rows["ts_event_ns"] = te
    pos = np.array(sorted(set(data.draw(st.lists(st.integers(0, len(te) - 1), max_size=10)))), np.int64)
    got = DS._runs_at(rows["ts_event_ns"], pos)
    assert got.dtype == np.int64 and got.tolist() == _runs_by_number(te, pos).tolist()

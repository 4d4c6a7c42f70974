"""A convert cuts a day file's events (one venue and symbol, in event-time order) into its UTC-day
partitions by searching the sorted times for each day's start: the same partitions, keys and rows (with
their trade ids) as grouping every event by its day, over events spanning several days with empty days
between them, times before 1970 and on a day's first nanosecond; and the same as the general cut (events
of two symbols, grouped by sort) gives each symbol."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import liqcore.dataset as DS
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

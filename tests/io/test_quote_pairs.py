"""Top-of-book updates in a recording's rows (:func:`liqcore.validate.quote_pairs`): overlapping pairs
(three or more quote rows of one time) keep the first of each run, the way a walk over the rows does,
without walking them (a day of a busy symbol's book is 6 M pairs)."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore.types import Kind, make_events
from liqcore.validate import _first_of_overlaps, crossed_quotes, quote_pairs


def _walk(j: list[int]) -> list[int]:
    """The reference: keep a pair unless it shares a row with the last pair kept."""
    out, last = [], -2
    for i in j:
        if i != last + 1:
            out.append(i)
            last = i
    return out


@settings(max_examples=300, deadline=None)
@given(starts=st.lists(st.integers(0, 60), max_size=40, unique=True))
def test_overlapping_pairs_keep_the_first_of_each_run(starts):
    j = np.array(sorted(starts), dtype=np.int64)
    assert j[_first_of_overlaps(j)].tolist() == _walk(j.tolist())


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 3), st.sampled_from([3, 4]), st.sampled_from([Kind.QUOTE, Kind.TRADE]),
                               st.sampled_from([99.0, 100.0, 101.0])), min_size=2, max_size=40),
       block=st.integers(1, 45))
def test_quote_pairs_and_crossed_books_as_a_walk_finds_them(rows, block):
    t = np.array([r[0] for r in rows], dtype=np.int64)
    ev = make_events(ts_event=t, ts_recv=t, side=[r[1] for r in rows], kind=[int(r[2]) for r in rows],
                     price=[r[3] for r in rows], qty=1.0)
    pair = [i for i in range(len(rows) - 1)
            if rows[i][2] == rows[i + 1][2] == Kind.QUOTE and rows[i][0] == rows[i + 1][0] and rows[i][1] != rows[i + 1][1]]
    kept = _walk(pair)
    ib, ia = quote_pairs(ev)
    assert np.array_equal(np.minimum(ib, ia), kept)
    assert (ev["side"][ib] == 3).all() and (ev["side"][ia] == 4).all()
    want = np.zeros(len(rows), bool)
    for b, a in zip(ib, ia):
        if ev["price"][b] >= ev["price"][a]:
            want[[b, a]] = True
    assert np.array_equal(crossed_quotes(ev), want)
    # judged a block at a time (a day of quotes: blocks of 1 M rows), cut where no update spans the
    # cut: the same mask whatever the block
    assert np.array_equal(crossed_quotes(ev, block=block), want)

"""The depth book's checkpoints (``liqcore._jit.depth.group_books`` / ``load_book``) and the receive-order merge
(``liqcore._jit.chunks.merge_recv``) against their pysrc twins on random streams: each checkpoint is the book
after the rows before it, and a book put back from a checkpoint, then given the rows after it, is the book
given every row; the merge keeps receive order, each side's order, and the first side's rows first at a tie."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from pysrc.chunks import merge_recv as merge_twin
from pysrc.depthbook import group_books as groups_twin
from pysrc.depthbook import load_book as load_twin

from liqcore._jit import depth
from liqcore._jit.chunks import merge_recv
from liqcore.types import EVENT_DTYPE, Kind

from tests.kernels.test_depth_book_property import TICK, depth_stream

pytestmark = pytest.mark.property


def _one_symbol(seed, n, far):
    ev = depth_stream(seed, n, 1, far=far)
    ev = ev[ev["kind"] == int(Kind.DEPTH)].copy()
    ev["symbol_id"] = 0
    return ev


def _book(tables, sid):
    out = []
    for bid in (True, False):
        keys, sizes = depth.levels(tables, sid, bid)
        out += [(1 if bid else 0, int(k), float(s)) for k, s in zip(keys, sizes)]
    return out


@settings(max_examples=60, deadline=None)
@given(seed=hs.integers(0, 2**31), n=hs.integers(0, 300), far=hs.booleans(), group=hs.integers(1, 50))
def test_checkpoints_equal_the_twin_and_the_book_replayed_to_them(seed, n, far, group):
    ev = _one_symbol(seed, n, far)
    grid = 1.0 / TICK
    off, bid, key, qty, m_run, m_known, based = depth.group_books(ev, group, grid)
    twin = groups_twin(ev, group, grid)
    assert len(off) == len(twin) + 1 == -(-len(ev) // group) + 2
    for c, (lv, run, known, seen) in enumerate(twin):
        got = list(zip(bid[off[c]:off[c + 1]].tolist(), key[off[c]:off[c + 1]].tolist(), qty[off[c]:off[c + 1]].tolist()))
        assert got == lv
        assert (m_run[c] == depth.NO_RUN) == (run is None) and (run is None or m_run[c] == run)
        assert bool(m_known[c]) == known and bool(based[c]) == seen
        # the book replayed up to the checkpoint is the checkpoint
        t, m = depth.new_books(1)
        depth.apply_rows(t, m, ev[:c * group], np.array([grid]))
        assert _book(t, 0) == lv and m[0, depth.M_KNOWN] == m_known[c] and m[0, depth.M_RUN] == m_run[c]
        # put back from the checkpoint, then the rows after it: the book of every row
        t2, m2 = depth.new_books(2)
        assert depth.load_book(t2, m2, 1, bid[off[c]:off[c + 1]], key[off[c]:off[c + 1]] / grid,
                               qty[off[c]:off[c + 1]], m_run[c], m_known[c], grid) == 0
        rest = ev[c * group:].copy()
        rest["symbol_id"] = 1
        depth.apply_rows(t2, m2, rest, np.array([grid, grid]))
        t3, m3 = depth.new_books(1)
        depth.apply_rows(t3, m3, ev, np.array([grid]))
        assert _book(t2, 1) == _book(t3, 0)
        assert (m2[1] == m3[0]).all()


@settings(max_examples=40, deadline=None)
@given(prices=hs.lists(hs.tuples(hs.booleans(), hs.integers(0, 40), hs.sampled_from([0.5, 1.0, 2.5])), max_size=30),
       grid=hs.sampled_from([10.0, 5.0, 1.0]))
def test_load_book_refuses_two_levels_on_one_key_as_its_twin_does(prices, grid):
    """Prices on a finer grid than the replay's can fall on one key: the checkpoint cannot stand for that book."""
    seen = set()
    rows = []
    for b, k, q in prices:
        if (b, k) not in seen:
            seen.add((b, k))
            rows.append((1 if b else 0, 100.0 + k * 0.1, q))
    bid = np.array([r[0] for r in rows], np.int8)
    px = np.array([r[1] for r in rows], np.float64)
    qty = np.array([r[2] for r in rows], np.float64)
    t, m = depth.new_books(1)
    refused = depth.load_book(t, m, 0, bid, px, qty, depth.NO_RUN, 1, grid)
    twin = load_twin(rows, grid)
    assert bool(refused) == (twin is None)
    if twin is not None:
        for b, side in ((True, twin[0]), (False, twin[1])):
            keys, sizes = depth.levels(t, 0, b)
            assert dict(zip(keys.tolist(), sizes.tolist())) == side
        assert m[0, depth.M_KNOWN] == 1


@settings(max_examples=60, deadline=None)
@given(ta=hs.lists(hs.integers(0, 20), max_size=40), tb=hs.lists(hs.integers(0, 20), max_size=40))
def test_merge_recv_equals_its_twin(ta, tb):
    a = np.zeros(len(ta), EVENT_DTYPE)
    a["ts_recv"] = sorted(ta)
    a["qty"] = np.arange(len(ta))
    a["kind"] = int(Kind.TRADE)
    b = np.zeros(len(tb), EVENT_DTYPE)
    b["ts_recv"] = sorted(tb)
    b["qty"] = np.arange(len(tb))
    b["kind"] = int(Kind.DEPTH)
    got = merge_recv(a, b)
    want = merge_twin(a, b)
    assert got.tobytes() == want.tobytes()
    assert (np.diff(got["ts_recv"]) >= 0).all()
    # (the twin's rule, said once more: at one receive time the first side's rows come first)
    for t in set(ta) & set(tb):
        k = got["kind"][got["ts_recv"] == t]
        assert (k[:ta.count(t)] == int(Kind.TRADE)).all()

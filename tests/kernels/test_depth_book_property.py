"""The L2 depth book kernel (``liqcore._jit.depth``) against its pysrc twin (``pysrc.depthbook``) on random
DEPTH streams: every level's size and both bests equal the twin's after every split of the stream; applying
the rows in any split equals applying them at once; a snapshot run replaces the book; a level at 0 is gone;
a gap empties the book until the next snapshot run."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from pysrc.depthbook import DepthBook, dkey

from liqcore._jit import depth
from liqcore.types import EVENT_DTYPE, Flag, Kind, Side

pytestmark = pytest.mark.property

TICK = 0.1
T0 = 1_700_000_000 * 10**9


def depth_stream(seed: int, n: int, n_symbols: int, *, far: bool = False):
    """Random DEPTH rows (a few snapshot runs, deltas that set, resize and remove levels, gaps), with some
    trades mixed in (skipped by the book).  ``far``: levels spread over thousands of ticks, so that a removed
    best is often further than the short scan."""
    rng = np.random.default_rng(seed)
    rows = []
    t = T0
    spread = 5000 if far else 40
    for _ in range(n):
        t += int(rng.choice([0, 0, 1_000, 100_000_000]))
        sid = int(rng.integers(0, n_symbols))
        r = rng.random()
        if r < 0.04:  # a snapshot run: a few levels each side, all at one receive time
            for _k in range(int(rng.integers(0, 6))):
                rows.append((t, sid, Side.BUY, (10_000 - int(rng.integers(0, spread))) * TICK,
                             float(rng.choice([0.5, 1.0, 7.0])), int(Flag.SNAPSHOT)))
                rows.append((t, sid, Side.SELL, (10_001 + int(rng.integers(0, spread))) * TICK,
                             float(rng.choice([0.5, 1.0, 7.0])), int(Flag.SNAPSHOT)))
        elif r < 0.06:
            rows.append((t, sid, Side.NONE, 0.0, 0.0, int(Flag.DEPTH_GAP)))
        elif r < 0.1:
            rows.append((t, sid, -1, 10_000 * TICK, 1.0, 0))  # a trade row: not a depth row
        else:
            bid = rng.random() < 0.5
            k = (10_000 - int(rng.integers(0, spread))) if bid else (10_001 + int(rng.integers(0, spread)))
            qty = float(rng.choice([0.0, 0.0, 0.25, 1.0, 3.0, 1e12]))
            rows.append((t, sid, Side.BUY if bid else Side.SELL, k * TICK, qty, 0))
    ev = np.zeros(len(rows), dtype=EVENT_DTYPE)
    for i, (ts, sid, side, px, qty, fl) in enumerate(rows):
        kind = Kind.TRADE if side == -1 else Kind.DEPTH
        ev[i] = (ts, ts, px, qty, sid, Side.SELL if side == -1 else side, kind, 2, fl)
    return ev


def _check_equal(tables, meta, twin: DepthBook, n_symbols: int):
    for sid in range(n_symbols):
        for bid, side in ((True, twin.bids[sid]), (False, twin.asks[sid])):
            keys, sizes = depth.levels(tables, sid, bid)
            assert dict(zip(keys.tolist(), sizes.tolist())) == side
            assert all(s > 0.0 for s in sizes)  # a level at 0 is gone
        bb, ba = twin.best(sid)
        assert meta[sid, depth.M_BID] == (depth.NO_LEVEL if bb is None else bb)
        assert meta[sid, depth.M_ASK] == (depth.NO_LEVEL if ba is None else ba)
        assert bool(meta[sid, depth.M_KNOWN]) == twin.known[sid]


@settings(max_examples=60, deadline=None)
@given(seed=hs.integers(0, 2**31), n=hs.integers(0, 400), n_symbols=hs.integers(1, 3), far=hs.booleans(),
       cuts=hs.lists(hs.integers(0, 2000), max_size=6))
def test_depth_book_equals_its_twin_in_any_split(seed, n, n_symbols, far, cuts):
    ev = depth_stream(seed, n, n_symbols, far=far)
    grid = np.full(n_symbols, 1.0 / TICK)
    twin = DepthBook(n_symbols, grid)
    twin.apply(ev)
    whole_t, whole_m = depth.new_books(n_symbols)
    assert depth.apply_rows(whole_t, whole_m, ev, grid) == int((ev["kind"] == Kind.DEPTH).sum())
    _check_equal(whole_t, whole_m, twin, n_symbols)
    # the same rows in pieces: the same book
    split_t, split_m = depth.new_books(n_symbols)
    edges = sorted({0, len(ev), *[c % (len(ev) + 1) for c in cuts]})
    for a, b in zip(edges[:-1], edges[1:]):
        depth.apply_rows(split_t, split_m, ev[a:b], grid)
    _check_equal(split_t, split_m, twin, n_symbols)
    # the size at any price, kernel and twin
    for sid in range(n_symbols):
        for k in range(9_990, 10_012):
            for bid in (True, False):
                assert depth.size_at(whole_t, sid, bid, depth.dkey(k * TICK, grid[sid])) == twin.size(sid, bid, k * TICK)


def test_snapshot_run_replaces_and_gap_empties():
    grid = np.array([10.0])
    rows = [
        (1, Side.BUY, 100.0, 2.0, Flag.SNAPSHOT), (1, Side.BUY, 99.9, 3.0, Flag.SNAPSHOT),
        (1, Side.SELL, 100.1, 1.0, Flag.SNAPSHOT),
        (2, Side.BUY, 100.0, 0.0, 0),  # the best bid removed: the next one is the best
        (3, Side.BUY, 50.0, 1.0, 0),  # a level far away
        (4, Side.BUY, 99.9, 0.0, 0),  # removed: the best is found 499 ticks away (beyond the short scan)
        (5, Side.SELL, 101.0, 4.0, Flag.SNAPSHOT),  # a new run: the old book is gone
        (6, Side.NONE, 0.0, 0.0, Flag.DEPTH_GAP),
    ]
    ev = np.zeros(len(rows), dtype=EVENT_DTYPE)
    for i, (t, side, px, q, fl) in enumerate(rows):
        ev[i] = (t, t, px, q, 0, side, Kind.DEPTH, 2, int(fl))
    tables, meta = depth.new_books(1)
    depth.apply_rows(tables, meta, ev[:3], grid)
    assert meta[0, depth.M_BID] == dkey(100.0, 10.0) and meta[0, depth.M_ASK] == dkey(100.1, 10.0)
    depth.apply_rows(tables, meta, ev[3:4], grid)
    assert meta[0, depth.M_BID] == dkey(99.9, 10.0)
    depth.apply_rows(tables, meta, ev[4:6], grid)
    assert meta[0, depth.M_BID] == dkey(50.0, 10.0)
    depth.apply_rows(tables, meta, ev[6:7], grid)
    assert depth.levels(tables, 0, True)[0].size == 0 and meta[0, depth.M_BID] == depth.NO_LEVEL
    assert depth.size_at(tables, 0, False, dkey(101.0, 10.0)) == 4.0 and meta[0, depth.M_KNOWN] == 1
    depth.apply_rows(tables, meta, ev[7:], grid)
    assert meta[0, depth.M_KNOWN] == 0 and depth.levels(tables, 0, False)[0].size == 0


def test_a_huge_level_is_a_size_like_any_other():
    tables, meta = depth.new_books(1)
    depth.set_level(tables, meta, 0, True, 1000, 1e15)
    assert depth.size_at(tables, 0, True, 1000) == 1e15


@settings(deadline=None, max_examples=150)
@given(seed=hs.integers(0, 2**32 - 1), n=hs.integers(0, 300), long=hs.booleans(), has_tp=hs.booleans(),
       grid=hs.sampled_from([0.0, 10.0, 100.0]))
def test_touching_mask_equals_its_twin(seed, n, long, has_tp, grid):
    """The rows a resting entry or open position can be changed by (``depth.touching``; what the default read with
    depth replays while no signal comes) are the twin's, on rows around both keys, of both sides, with snapshot
    runs and gaps sharing receive times with other rows."""
    from pysrc.depthbook import touching

    rng = np.random.default_rng(seed)
    dr = np.zeros(n, dtype=EVENT_DTYPE)
    dr["ts_recv"] = np.sort(rng.integers(0, max(n // 3, 1), n))  # several rows per receive time
    tick = 1.0 / grid if grid > 0 else 0.01
    dr["price"] = 100.0 + rng.integers(-12, 13, n) * tick
    dr["side"] = rng.choice([int(Side.BUY), int(Side.SELL)], n)
    dr["flags"] = np.where(rng.random(n) < 0.05, rng.choice([int(Flag.SNAPSHOT), int(Flag.DEPTH_GAP)], n), 0)
    dr["kind"] = int(Kind.DEPTH)
    ke = dkey(100.0 - 4 * tick if long else 100.0 + 4 * tick, grid)
    kt = dkey(100.0 + 3 * tick if long else 100.0 - 3 * tick, grid)
    got = depth.touching(dr, long, grid, ke, kt, 1 if has_tp else 0)
    assert got.tolist() == touching(dr, long, grid, ke, kt, has_tp)
    cols = [np.ascontiguousarray(dr[f]) for f in ("ts_recv", "price", "side", "flags")]  # (as the read calls it)
    assert depth.touching_cols(*cols, long, grid, ke, kt, 1 if has_tp else 0).tolist() == got.tolist()


@settings(deadline=None, max_examples=100)
@given(seed=hs.integers(0, 2**32 - 1), n=hs.integers(0, 200), cut=hs.tuples(hs.integers(0, 200), hs.integers(0, 200)),
       masked=hs.booleans(), sid=hs.integers(0, 1000), venue=hs.integers(0, 3))
def test_pack_rows_equals_its_twin(seed, n, cut, masked, sid, venue):
    """The EVENT_DTYPE rows ``depth.pack_rows`` builds from a decoded row group's columns (a range of them, all or
    masked, into an array already holding rows) are the twin's, every field, and the rows before stay."""
    from pysrc.depthbook import pack_rows

    rng = np.random.default_rng(seed)
    tr = np.sort(rng.integers(0, 10**12, n))
    cols = (tr, tr - rng.integers(0, 10**6, n), rng.integers(1, 10**7, n) / 100.0,
            rng.random(n) * 10.0 ** rng.integers(-3, 9, n),
            rng.choice(np.array([int(Side.BUY), int(Side.SELL), 0], np.int8), n),
            rng.choice(np.array([0, int(Flag.SNAPSHOT), int(Flag.DEPTH_GAP)], np.uint8), n))
    a, b = sorted(min(c, n) for c in cut)
    keep = rng.random(b - a) < 0.5 if masked else np.zeros(0, np.bool_)
    want = pack_rows(cols, a, b, keep, sid, venue)
    out = np.zeros(3 + len(want), dtype=EVENT_DTYPE)
    out[:3]["price"] = -1.0
    assert depth.pack_rows(out, 3, *cols, a, b, keep, sid, venue) == 3 + len(want)
    assert out[:3]["price"].tolist() == [-1.0] * 3
    assert [tuple(r.item()) for r in out[3:]] == want


def test_touching_keeps_what_touches_the_order_and_nothing_else():
    """A long entry at 99.96 (key 9996), its take-profit at 100.03: kept are the bid at 99.96, asks at or below
    99.96, the ask at 100.03, bids at or above 100.03, and every row at the receive time of a snapshot row;
    not kept: bids and asks between, a bid below the entry, an ask above the take-profit."""
    rows = [(1, 99.96, Side.BUY, 0, True), (1, 99.95, Side.BUY, 0, False), (2, 99.96, Side.SELL, 0, True),
            (2, 99.90, Side.SELL, 0, True), (3, 99.99, Side.SELL, 0, False), (3, 100.00, Side.BUY, 0, False),
            (4, 100.03, Side.SELL, 0, True), (4, 100.04, Side.SELL, 0, False), (5, 100.03, Side.BUY, 0, True),
            (5, 100.10, Side.BUY, 0, True), (6, 99.99, Side.SELL, int(Flag.SNAPSHOT), True),
            (6, 99.98, Side.BUY, 0, True)]
    dr = np.zeros(len(rows), dtype=EVENT_DTYPE)
    for i, (t, px, side, fl, _k) in enumerate(rows):
        dr[i]["ts_recv"], dr[i]["price"], dr[i]["side"], dr[i]["flags"] = t, px, int(side), fl
    got = depth.touching(dr, True, 100.0, dkey(99.96, 100.0), dkey(100.03, 100.0), 1)
    assert got.tolist() == [k for *_x, k in rows]
    no_tp = depth.touching(dr, True, 100.0, dkey(99.96, 100.0), 0, 0)
    assert no_tp.tolist() == [True, False, True, True, False, False, False, False, False, False, True, True]

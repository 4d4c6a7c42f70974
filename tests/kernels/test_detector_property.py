"""Kernel (liqcore._libs.detection) vs reference twin (pysrc.detector) on random streams.

Records must be identical byte for byte (every field, floats exact: both sides add the same
doubles in the same order and the rolling quantile is numpy's linear interpolation bit for bit).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore._libs.detection import CascadeDetector as KDetector
from liqcore.types import EVENT_DTYPE, Kind, Side
from pysrc.detector import CascadeDetector as PDetector

pytestmark = pytest.mark.property

W_CHOICES = (1, 5, 10, 60)


@st.composite
def params(draw):
    q = draw(st.one_of(st.sampled_from([0.0, 1.0, 0.5, 0.95]), st.floats(0.0, 1.0)))
    return dict(
        quantile=q,
        history=draw(st.sampled_from([1, 2, 3, 5, 20])),
        min_history=draw(st.sampled_from([0, 1, 2, 5])),
        refresh_ns=draw(st.sampled_from([0, 0, 1, 7, 50])),
        window_ns=draw(st.sampled_from(W_CHOICES)),
        min_large=draw(st.integers(1, 4)),
    )


NOTIONAL_PRICES = st.one_of(
    st.sampled_from([1.0, 2.0, 5.0, 10.0, 100.0]),  # ties
    st.floats(1e-6, 1e6, allow_nan=False, allow_infinity=False),
    st.sampled_from([1e-300, 1e150, 3.0000000000000004]),  # tiny and huge
)


@st.composite
def streams(draw, n_symbols=None, bad=False, allow_gaps=True):
    n_sym = n_symbols or draw(st.integers(1, 6))
    W = draw(st.sampled_from(W_CHOICES))
    n = draw(st.integers(0, 120))
    rows = []
    t = draw(st.integers(0, 1000))
    for _ in range(n):
        step = draw(st.sampled_from([0, 0, 1, 1, 2, 3, W, W, W + 1, 10 * W, 1000]))
        t += step
        ts = t
        if draw(st.integers(0, 15)) == 0:  # a late event
            ts = t - draw(st.integers(1, 3 * W))
        sym = draw(st.integers(0, n_sym - 1))
        roll = draw(st.integers(0, 99))
        venue = 1 + sym % 2
        if roll < 75:
            kind, side = int(Kind.LIQUIDATION), draw(st.sampled_from([int(Side.LONG), int(Side.SHORT)]))
            price, qty = draw(NOTIONAL_PRICES), draw(st.sampled_from([1.0, 0.5, 2.0, 1e-3, 7.25]))
        elif roll < 90:
            kind, side = int(Kind.TRADE), draw(st.sampled_from([int(Side.BUY), int(Side.SELL)]))
            price, qty = 100.0, 1.0
        elif roll < 95 and allow_gaps:
            kind, side, price, qty = int(Kind.GAP), 0, 0.0, 0.0
            if draw(st.booleans()):
                sym = -1
        elif draw(st.booleans()):
            kind, side, price, qty = int(Kind.MARK), 0, 100.0, 0.0
        else:  # top of book: the bid row, then (below) the ask row with the same times
            kind, side = int(Kind.QUOTE), int(Side.BUY)
            price = draw(st.sampled_from([100.0, 99.5, 1e6, 0.0, math.nan]))
            qty = draw(st.sampled_from([0.0, 1.0, 1e12, 3.5]))  # 1e12: a notional no trade could have
        if bad and draw(st.integers(0, 12)) == 0:
            which = draw(st.integers(0, 6))
            kind = int(Kind.LIQUIDATION) if which < 5 else kind
            side = side if side in (1, 2) else 1
            price = price if price > 0 else 1.0
            qty = qty if qty > 0 else 1.0
            if which == 0:
                price = draw(st.sampled_from([math.nan, math.inf, -1.0, 0.0]))
            elif which == 1:
                qty = draw(st.sampled_from([math.nan, -math.inf, -2.0, 0.0]))
            elif which == 2:
                side = draw(st.sampled_from([0, 3, 4, 9]))
            elif which == 3:
                price, qty = 1e200, 1e200  # notional overflows
            elif which == 4:
                sym = draw(st.sampled_from([-1, -7]))
            elif which == 5:
                kind = draw(st.sampled_from([0, 8, -3]))
            else:
                sym, kind = -2, int(Kind.GAP)
        recv = ts + draw(st.sampled_from([0, 0, 3]))
        rows.append((ts, recv, price, qty, sym, side, kind, venue, 0))
        if kind == Kind.QUOTE and side == Side.BUY:
            rows.append((ts, recv, draw(st.sampled_from([100.5, 101.0, 99.0, 0.0])),
                         draw(st.sampled_from([0.0, 2.0, 1e12])), sym, int(Side.SELL), kind, venue, 0))
    return W, np.array(rows, dtype=EVENT_DTYPE) if rows else np.zeros(0, dtype=EVENT_DTYPE)


def _same(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype
    assert len(a) == len(b), (a, b)
    for i in range(len(a)):
        for f in a.dtype.names:
            va, vb = a[i][f], b[i][f]
            assert va == vb or (isinstance(va, float) and math.isnan(va) and math.isnan(vb)), (i, f, a[i], b[i])
    assert a.tobytes() == b.tobytes()


@given(p=params(), s=streams(bad=True), flush=st.booleans())
def test_run_matches_twin(p, s, flush):
    W, ev = s
    p["window_ns"] = W
    k, r = KDetector(**p), PDetector(**p)
    rk, ck = k.run(ev, flush=flush)
    rp, cp = r.run(ev, flush=flush)
    _same(rk, rp)
    assert ck == cp
    assert k.stats == r.stats
    for sid in range(-1, 7):
        tk, tp = k.threshold(sid), r.threshold(sid)
        assert tk == tp or (math.isnan(tk) and math.isnan(tp))
        assert k.active(sid) == r.active(sid)


@settings(max_examples=50)
@given(p=params(), s=streams(n_symbols=1))
def test_single_symbol_bursts(p, s):
    W, ev = s
    p["window_ns"] = W
    rk, ck = KDetector(**p).run(ev, flush=True)
    rp, cp = PDetector(**p).run(ev, flush=True)
    _same(rk, rp)
    assert ck == cp


@given(p=params(), s=streams(), split=st.integers(0, 120), ticks=st.lists(st.integers(0, 400), max_size=5))
def test_update_and_ticks_match_twin(p, s, split, ticks):
    """Per-event update() interleaved with tick() and gap() calls: same records as the twin."""
    W, ev = s
    p["window_ns"] = W
    k, r = KDetector(**p), PDetector(**p)
    for i, e in enumerate(ev):
        args = (int(e["ts_event"]), int(e["ts_recv"]), int(e["symbol_id"]), int(e["venue"]),
                int(e["kind"]), int(e["side"]), float(e["price"]), float(e["qty"]))
        nk, np_ = k.update(*args), r.update(*args)
        assert nk == np_
        _same(k.last_records(), r.last_records())
        # the live engine's readers: the first CONFIRMED record without an array, and the "one large away" hint
        assert k.last_confirmed() == r.last_confirmed()
        if r.last_confirmed() is not None:
            rec = [x for x in r.last_records() if x["record"] == 1][0]
            assert r.last_confirmed() == (rec["symbol_id"], rec["cascade_id"], rec["dominant"], rec["confirm_recv_ns"])
        for sid in {args[2], 0, 1, 5}:
            assert k.armable(sid) == r.armable(sid)
        if ticks and i == split % max(len(ev), 1):
            for dt in ticks:
                assert k.tick(args[0] + dt) == r.tick(args[0] + dt)
                _same(k.pop_records(), r.pop_records())
            assert k.gap(args[2] if args[2] >= 0 else 0, args[3], args[0]) == r.gap(
                args[2] if args[2] >= 0 else 0, args[3], args[0])
            _same(k.last_records(), r.last_records())
    assert k.flush() == r.flush()
    _same(k.last_records(), r.last_records())
    assert k.stats == r.stats


@settings(max_examples=50)
@given(p=params(), s=streams(), cut=st.integers(0, 120))
def test_run_equals_update(p, s, cut):
    """run() over a stream == update() per event (same detector class), and run() in two chunks
    with index_offset == run() in one."""
    W, ev = s
    p["window_ns"] = W
    whole, counts = KDetector(**p).run(ev, flush=True)
    d = KDetector(**p)
    parts = []
    for e in ev:
        if d.update(int(e["ts_event"]), int(e["ts_recv"]), int(e["symbol_id"]), int(e["venue"]),
                    int(e["kind"]), int(e["side"]), float(e["price"]), float(e["qty"])):
            parts.append(d.pop_records())
    d.flush()
    parts.append(d.pop_records())
    _same(whole, np.concatenate(parts))
    assert d.stats["cascades"] == counts["cascades"]
    c = min(cut, len(ev))
    d2 = KDetector(**p)
    a, _ = d2.run(ev[:c])
    b, _ = d2.run(ev[c:], flush=True, index_offset=c)
    _same(whole, np.concatenate([a, b]))


@settings(max_examples=20)
@given(p=params(), seed=st.integers(0, 2**32 - 1), n_sym=st.sampled_from([1, 50, 300]))
def test_many_symbols_random_arrays(p, seed, n_sym):
    """Larger numpy-generated streams over many symbols (lazy per-symbol allocation)."""
    rng = np.random.default_rng(seed)
    n = 3000
    ev = np.zeros(n, dtype=EVENT_DTYPE)
    ev["ts_event"] = np.cumsum(rng.integers(0, 3, n)) * (p["window_ns"] // 4 + 1)
    ev["ts_recv"] = ev["ts_event"] + rng.integers(0, 5, n)
    ev["symbol_id"] = rng.integers(0, n_sym, n) * 7  # sparse ids
    ev["venue"] = 1 + ev["symbol_id"] % 3
    ev["kind"] = np.where(rng.random(n) < 0.85, 1, 2)
    ev["side"] = np.where(ev["kind"] == 1, rng.integers(1, 3, n), 3)
    ev["price"] = np.round(rng.lognormal(3, 1.5, n), 2) + 0.01
    ev["qty"] = rng.choice([0.1, 1.0, 2.5], n)
    rk, ck = KDetector(**p).run(ev, flush=True)
    rp, cp = PDetector(**p).run(ev, flush=True)
    _same(rk, rp)
    assert ck == cp


@settings(max_examples=40)
@given(p=params(), notionals=st.lists(st.floats(1e-3, 1e9), min_size=0, max_size=30), s=streams(n_symbols=2))
def test_seeded_history_matches_twin(p, notionals, s):
    W, ev = s
    p["window_ns"] = W
    k, r = KDetector(**p), PDetector(**p)
    for d in (k, r):
        d.seed(0, notionals, venue=1)
    _same(k.run(ev, flush=True)[0], r.run(ev, flush=True)[0])

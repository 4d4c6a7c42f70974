"""Instrument scope (liqcore._libs.detection) vs its twin (pysrc.xvenue), and against venue scope.

* kernel == twin, records and shares byte for byte, on random streams of several venues grouped
  into instruments at random (the flush at the latest event time seen, or at a given ``flush_ns``);
* each symbol its own group (one venue's data): the instrument-scope records ARE the detector's,
  byte for byte;
* the split cascade: one large liquidation on each of two venues within the window is one
  instrument-scope cascade and no venue-scope one.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from liqcore._libs.detection import CascadeDetector
from liqcore._libs.detection import SHARE_DTYPE, detect
from liqcore.types import CASCADE_DTYPE, EVENT_DTYPE, EndReason, Kind, RecordKind, Side, Venue
from pysrc.detector import CascadeDetector as PDetector
from pysrc.xvenue import SHARE_DTYPE as P_SHARE_DTYPE
from pysrc.xvenue import detect as p_detect
from tests.kernels.test_detector_property import _same, params, streams

pytestmark = pytest.mark.property


def _marks(p, ev):
    marks = np.zeros(len(ev), dtype=np.int8)
    thr = np.full(len(ev), np.nan)
    recs, _ = CascadeDetector(**p).run(ev, flush=True, marks=marks, thresholds=thr)
    return recs, marks, thr


def test_share_dtype_is_the_twins():
    assert SHARE_DTYPE == P_SHARE_DTYPE


@given(p=params(), s=streams(bad=True), flush=st.booleans())
def test_marks_match_twin(p, s, flush):
    W, ev = s
    p["window_ns"] = W
    mk, tk = np.zeros(len(ev), np.int8), np.full(len(ev), np.nan)
    mp, tp = np.zeros(len(ev), np.int8), np.full(len(ev), np.nan)
    rk, _ = CascadeDetector(**p).run(ev, flush=flush, marks=mk, thresholds=tk)
    rp, _ = PDetector(**p).run(ev, flush=flush, marks=mp, thresholds=tp)
    _same(rk, rp)
    assert mk.tobytes() == mp.tobytes()
    assert np.array_equal(tk, tp, equal_nan=True)
    # a liquidation is marked large exactly when its notional reaches the threshold in force
    liq = mk >= 2
    with np.errstate(over="ignore"):  # (the bad streams' huge sizes: an infinite notional, as the kernel's)
        notional = ev["price"] * ev["qty"]
    assert np.array_equal(mk[liq] == 3, np.nan_to_num(tk[liq], nan=np.inf) <= notional[liq])


@given(p=params(), s=streams(bad=True), flush=st.booleans(), n_groups=st.integers(1, 3),
       data=st.data())
def test_kernel_matches_twin(p, s, flush, n_groups, data):
    W, ev = s
    p["window_ns"] = W
    _, marks, thr = _marks(p, ev)
    group = np.array(data.draw(st.lists(st.integers(0, n_groups - 1), min_size=8, max_size=8)), dtype=np.int64)
    # the flush's time: the latest event time seen, or one the caller gives (a chunked read's)
    flush_ns = data.draw(st.none() | st.integers(-(2**62), 2**62))
    rk, sk, ck = detect(ev, marks, thr, group, W, p["min_large"], flush=flush, flush_ns=flush_ns)
    rp, sp, cp = p_detect(ev, marks, thr, group, W, p["min_large"], flush=flush, flush_ns=flush_ns)
    _same(rk, rp)
    assert sk.tobytes() == sp.tobytes()
    assert ck == cp
    if flush and flush_ns is not None:
        assert (rk["emit_ns"][rk["end_reason"] == int(EndReason.FLUSH)] == flush_ns).all()


@given(p=params(), s=streams(bad=True), flush=st.booleans())
def test_own_groups_equal_venue_scope(p, s, flush):
    """Every symbol its own instrument (one venue's data): byte-identical records."""
    W, ev = s
    p["window_ns"] = W
    marks = np.zeros(len(ev), dtype=np.int8)
    thr = np.full(len(ev), np.nan)
    venue_recs, _ = CascadeDetector(**p).run(ev, flush=flush, marks=marks, thresholds=thr)
    inst_recs, shares, _ = detect(ev, marks, thr, np.arange(8), W, p["min_large"], flush=flush)
    assert inst_recs.dtype == CASCADE_DTYPE
    assert inst_recs.tobytes() == venue_recs.tobytes()
    # every ended cascade has its venue's share, and it holds all the cascade's events
    ended = inst_recs[inst_recs["record"] == RecordKind.ENDED]
    assert len(shares) == len(ended)
    assert np.array_equal(np.sort(shares["n_events"]), np.sort(ended["n_events"]))


def _ev(rows):
    return np.array([(t, t + lat, px, q, sid, side, int(Kind.LIQUIDATION), v, 0)
                     for (t, lat, px, q, sid, side, v) in rows], dtype=EVENT_DTYPE)


def _split_market():
    """Two venues of one instrument: 20 shrinking liquidations each to learn a threshold (none of them
    large), then one large liquidation on Binance and one on Bybit 300 ms later (within 60 s)."""
    rows = []
    t0 = 1_700_000_000_000_000_000
    for i in range(20):
        q = 2.0 - 0.05 * i
        rows.append((t0 + i * 5_000_000_000, 10_000_000, 100.0, q, 0, int(Side.LONG), int(Venue.BYBIT)))
        rows.append((t0 + i * 5_000_000_000 + 1, 20_000_000, 100.0, q, 1, int(Side.LONG), int(Venue.BINANCE)))
    tc = t0 + 200_000_000_000
    rows.append((tc, 40_000_000, 100.0, 50.0, 1, int(Side.LONG), int(Venue.BINANCE)))
    rows.append((tc + 300_000_000, 5_000_000, 100.0, 80.0, 0, int(Side.LONG), int(Venue.BYBIT)))
    return _ev(rows), tc


def test_split_cascade_is_one_instrument_cascade_and_no_venue_cascade():
    ev, tc = _split_market()
    p = dict(quantile=0.95, history=100, min_history=10, refresh_ns=0, window_ns=60_000_000_000, min_large=2)
    venue_recs, marks, thr = _marks(p, ev)
    assert len(venue_recs) == 0
    recs, shares, counts = detect(ev, marks, thr, np.array([0, 0]), p["window_ns"], 2, flush=True)
    conf = recs[recs["record"] == RecordKind.CONFIRMED]
    assert len(conf) == 1 and counts["cascades"] == 1
    c = conf[0]
    assert c["start_ns"] == tc and c["confirm_ns"] == tc + 300_000_000
    assert c["venue"] == Venue.BINANCE and c["symbol_id"] == 1  # Binance fired first
    assert c["n_large"] == 2 and c["long_notional"] == 5000.0 + 8000.0
    by_venue = {int(s["venue"]): s for s in shares}
    assert set(by_venue) == {int(Venue.BYBIT), int(Venue.BINANCE)}
    assert by_venue[int(Venue.BINANCE)]["first_large_ns"] == tc
    assert by_venue[int(Venue.BYBIT)]["first_large_ns"] == tc + 300_000_000
    assert by_venue[int(Venue.BYBIT)]["long_notional"] == 8000.0
    # receive times are kept: Bybit's large one was received 5 ms after its event time
    assert by_venue[int(Venue.BYBIT)]["first_large_recv_ns"] == tc + 305_000_000


def test_bad_arguments_are_refused():
    ev, _ = _split_market()
    marks = np.full(len(ev), 2, np.int8)
    thr = np.zeros(len(ev))
    with pytest.raises(ValueError, match="group"):
        detect(ev, marks, thr, np.array([0]), 60, 2)
    with pytest.raises(ValueError, match="one per event"):
        detect(ev, marks[:-1], thr, np.array([0, 0]), 60, 2)
    with pytest.raises(ValueError, match="window_ns"):
        detect(ev, marks, thr, np.array([0, 0]), 0, 2)

"""One pass from the read to the simulator: a chunk cut, cleaned and summed up (:func:`fuse_chunk`).

:func:`recv_plan` plans the chunk over its two time columns (and fills the receive times not recorded);
:func:`fuse_chunk` then takes the read and the rows carried from the previous read row by row, in
receive-time order, into the chunk or the next carry, looking at each row once.  The twin is
``pysrc/chunks.py``; the row rules: docs/maintainers/design.md, "One pass over a chunk: the row rules".

May import: numpy, numba, ``types``.  Nothing compiles at import (Numba's cache, on first call).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from liqcore.types import Flag, Kind

#: slots of ``stat``
S_ROWS, S_KEPT, S_LIQ, S_GRID, S_DELAY, S_N_REC, S_N_EST, S_CHEAPEST, S_BAD_TRADE, S_BAD_FUNDING, S_MAX_SID = range(11)
N_STAT = 11

_TRADE = int(Kind.TRADE)
_FUNDING = int(Kind.FUNDING)
_LIQUIDATION = int(Kind.LIQUIDATION)
_RECV_ESTIMATED = int(Flag.RECV_ESTIMATED)
_RECV_UNKNOWN = -1  # ts_recv of an event recorded without one (liqcore.venues.common.RECV_UNKNOWN)


@njit(cache=True, nogil=True)
def recv_plan(carry, raw, margin, whole, fill_ns, ts, counts):
    """The plan of one read: with ``fill_ns`` >= 0, a row of ``raw`` recorded without a receive time
    (``ts_recv`` -1) gets ``ts_event + fill_ns`` and the RECV_ESTIMATED flag, in place (what
    :func:`liqcore.venues.common.fill_recv` does); ``ts`` gets the receive times of ``carry`` then
    ``raw``; returns (the
    earliest receive time of ``raw``, the cut: its latest event time - ``margin``, whether ``ts`` is in
    order, ``k``: the rows received before the cut; ``whole``: every row).  ``counts`` gets, among those
    ``k`` rows, the trade prints and funding events (``counts[0]``), the liquidations (``counts[1]``),
    the rows with a recorded receive time (``counts[2]``) and the bad prints (``counts[3]``): the room
    :func:`fuse_chunk` needs."""
    nc = len(carry)
    nr = len(raw)
    lo = np.int64(0)
    hi = np.int64(0)
    ordered = True
    prev = np.int64(0)
    for i in range(nc):
        t = carry[i].ts_recv
        ts[i] = t
        if i and t < prev:
            ordered = False
        prev = t
    for j in range(nr):
        t = raw[j].ts_recv
        e = raw[j].ts_event
        if fill_ns >= 0 and t == _RECV_UNKNOWN:
            t = e + fill_ns
            raw[j].ts_recv = t
            raw[j].flags |= _RECV_ESTIMATED
        if j == 0 or t < lo:
            lo = t
        if j == 0 or e > hi:
            hi = e
        ts[nc + j] = t
        if (nc + j) and t < prev:
            ordered = False
        prev = t
    cut = hi - margin
    k = 0
    n_sim = 0
    n_liq = 0
    n_rec = 0
    n_bad = 0
    for i in range(nc + nr):
        if whole or ts[i] < cut:
            k += 1
            kind = np.int64(carry[i].kind) if i < nc else np.int64(raw[i - nc].kind)
            flags = carry[i].flags if i < nc else raw[i - nc].flags
            if kind == _TRADE or kind == _FUNDING:
                n_sim += 1
            elif kind == _LIQUIDATION:
                n_liq += 1
            if not flags & _RECV_ESTIMATED:
                n_rec += 1
            price = carry[i].price if i < nc else raw[i - nc].price
            if (kind == _TRADE and not (np.isfinite(price) and price > 0)) or (
                    kind == _FUNDING and not np.isfinite(price)):
                n_bad += 1
    counts[0] = n_sim
    counts[1] = n_liq
    counts[2] = n_rec
    counts[3] = n_bad
    return lo, cut, ordered, k


@njit(cache=True, nogil=True)
def _first_at(carry, raw, order, a, b, t):
    """The first position in [a, b) of the rows of ``carry`` + ``raw`` in ``order`` (receive-time
    order) received at or after ``t`` (``b`` when none)."""
    nc = len(carry)
    while a < b:
        mid = (a + b) // 2
        j = order[mid] if len(order) else mid
        tm = carry[j].ts_recv if j < nc else raw[j - nc].ts_recv
        if tm < t:
            a = mid + 1
        else:
            b = mid
    return a


@njit(cache=True, nogil=True)
def fuse_chunk(carry, raw, order, k, lo, hi, book, clean, out, rest, ts, sim, sim_ts, kept, liq, bad, need,
               grid_px, grid_sym, stride, seen, delay, kinds, stat):
    """The chunk and the next carry of ``carry`` + ``raw`` in one pass (the module's row rules);
    the counts go to ``stat`` (``S_*`` slots), ``kinds`` adds up."""
    nc = len(carry)
    n = nc + len(raw)
    m = 0
    n_kept = 0
    n_liq = 0
    n_grid = 0
    n_delay = 0
    n_rec = 0
    n_est = 0
    cheap = -1
    cheap_v = np.inf
    cheap_nan = False
    first_trade = -1
    bad_t = 0
    bad_f = 0
    max_sid = -1
    n_need = len(need)
    nxt = (stride - seen % stride) % stride  # the next recorded row (counted in this chunk) sampled
    has_order = len(order) > 0
    span = lo > np.iinfo(np.int64).min or hi < np.iinfo(np.int64).max
    for i in range(k, n):  # the next carry (its own loop: a branch for it slows the chunk's loop 4x)
        j = order[i] if has_order else i
        if j < nc:
            rest[i - k] = carry[j]
        else:
            rest[i - k] = raw[j - nc]
    # the chunk's rows received in [lo, hi): a run of the first k (they are in receive-time order);
    # the loop writes row i to out[i - i0] (an index that follows the loop: 4x faster than a counter)
    i0, i1 = 0, k
    if span:
        i0 = _first_at(carry, raw, order, 0, k, lo)
        i1 = _first_at(carry, raw, order, i0, k, hi)
    for i in range(i0, i1):
        m = i - i0
        j = order[i] if has_order else i
        if j < nc:
            out[m] = carry[j]
        else:
            out[m] = raw[j - nc]
        e = out[m]
        t = e.ts_recv
        kind = np.int64(e.kind)
        price = e.price
        if not clean:
            pass
        elif kind == _TRADE and not (np.isfinite(price) and price > 0):
            bad[bad_t + bad_f] = m
            kind = 0
            bad_t += 1
        elif kind == _FUNDING and not np.isfinite(price):
            bad[bad_t + bad_f] = m
            kind = 0
            bad_f += 1
        kinds[kind & 255] += 1
        ts[m] = t
        if kind == _TRADE:
            sid = np.int64(e.symbol_id)
            if sid > max_sid:
                max_sid = sid
            if 0 <= sid < n_need and need[sid] > 0:
                grid_px[n_grid] = price
                grid_sym[n_grid] = sid
                n_grid += 1
                need[sid] -= 1
            v = price * e.qty
            if first_trade < 0:
                first_trade = m
            if not cheap_nan:
                if np.isnan(v):
                    cheap = m
                    cheap_nan = True
                elif v < cheap_v:
                    cheap_v = v
                    cheap = m
        elif kind == _LIQUIDATION:
            liq[n_liq] = m
            n_liq += 1
        if not book and (kind == _TRADE or kind == _FUNDING):
            kept[n_kept] = m
            n_kept += 1
        if e.flags & _RECV_ESTIMATED:
            n_est += 1
        else:
            if n_rec == nxt:  # (seen + n_rec) % stride == 0
                delay[n_delay] = t - e.ts_event
                n_delay += 1
                nxt += stride
            n_rec += 1
    m = i1 - i0
    # the print array, from the positions noted (a whole row stored at a counter's place inside the
    # loop above made it 3x slower: the stores into ``sim`` could alias the chunk's)
    for q in range(n_kept):
        sim[q] = out[kept[q]]
        sim_ts[q] = ts[kept[q]]
    if cheap < 0:
        cheap = first_trade  # every notional +inf: the first print (none: -1)
    stat[S_ROWS] = m
    stat[S_KEPT] = n_kept
    stat[S_LIQ] = n_liq
    stat[S_GRID] = n_grid
    stat[S_DELAY] = n_delay
    stat[S_N_REC] = n_rec
    stat[S_N_EST] = n_est
    stat[S_CHEAPEST] = cheap
    stat[S_BAD_TRADE] = bad_t
    stat[S_BAD_FUNDING] = bad_f
    stat[S_MAX_SID] = max_sid


@njit(cache=True, nogil=True)
def merge_recv(a, b):
    """``a`` and ``b`` (one structured dtype, each in receive order) as one array in receive order, a row
    of ``a`` before a row of ``b`` at one receive time (each side's rows in their order)."""
    n, m = a.shape[0], b.shape[0]
    out = np.empty(n + m, dtype=a.dtype)
    i = j = 0
    for k in range(n + m):
        if j >= m or (i < n and a[i].ts_recv <= b[j].ts_recv):
            out[k] = a[i]
            i += 1
        else:
            out[k] = b[j]
            j += 1
    return out

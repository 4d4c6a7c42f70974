"""Numba kernel of the feature store: the maximum of ``values[lo:hi]`` for many index ranges at once.

The details: docs/maintainers/research.md, "The feature store's kernels".

May import: ``numba`` and ``numpy``.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["BLOCK", "range_max", "history_transform", "history_all", "TRANSFORM_CODES", "search_right"]

#: transform name -> code of :func:`history_transform`
TRANSFORM_CODES = {"zscore": 0, "mean": 1, "std": 2, "max": 3, "min": 4, "rank": 5}
_DBL_MAX = 1.7976931348623157e308

#: elements per block
BLOCK = 32


@njit(cache=True, nogil=True)
def _table(values, block):
    n = values.shape[0]
    nb = (n + block - 1) // block
    levels = 1
    while (1 << levels) <= nb:
        levels += 1
    tab = np.empty((levels, max(nb, 1)), dtype=np.float64)
    for b in range(nb):
        a = b * block
        e = min(a + block, n)
        m = values[a]
        for i in range(a + 1, e):
            if values[i] > m:
                m = values[i]
        tab[0, b] = m
    for j in range(1, levels):
        span = 1 << (j - 1)
        for b in range(nb - (1 << j) + 1):
            x = tab[j - 1, b]
            y = tab[j - 1, b + span]
            tab[j, b] = x if x >= y else y
    return tab


@njit(cache=True, nogil=True)
def _range_max(values, lo, hi, block):
    n = values.shape[0]
    q = lo.shape[0]
    out = np.empty(q, dtype=np.float64)
    if n == 0:
        out[:] = np.nan
        return out
    tab = _table(values, block)
    for k in range(q):
        a = max(lo[k], 0)
        e = min(hi[k], n)
        if e <= a:
            out[k] = np.nan
            continue
        ba = (a + block - 1) // block  # first whole block
        be = e // block  # one past the last whole block
        m = -np.inf
        if ba >= be:  # no whole block: scan
            for i in range(a, e):
                if values[i] > m:
                    m = values[i]
            out[k] = m
            continue
        for i in range(a, ba * block):
            if values[i] > m:
                m = values[i]
        for i in range(be * block, e):
            if values[i] > m:
                m = values[i]
        nblk = be - ba
        j = 0
        while (2 << j) <= nblk:
            j += 1
        x = tab[j, ba]
        y = tab[j, be - (1 << j)]
        if x > m:
            m = x
        if y > m:
            m = y
        out[k] = m
    return out


def range_max(values, lo, hi, block: int = BLOCK) -> np.ndarray:
    """Max of ``values[lo[i]:hi[i]]`` for each i (NaN for an empty range); float64 array."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    lo = np.ascontiguousarray(lo, dtype=np.int64)
    hi = np.ascontiguousarray(hi, dtype=np.int64)
    if lo.shape != hi.shape or lo.ndim != 1:
        raise ValueError("lo and hi must be 1-d arrays of the same length")
    if block < 1:
        raise ValueError(f"block must be >= 1, got {block}")
    return _range_max(values, lo, hi, int(block))


@njit(cache=True, nogil=True)
def _history_all(src, idx0, stride, m, want_rank, out, cnt):
    """out[i] = (zscore, mean, std, max, min, rank) of row i (rank only when want_rank)."""
    n = src.shape[0]
    for i in range(idx0.shape[0]):
        j0 = idx0[i]
        x = src[j0] if 0 <= j0 < n else np.nan
        c = 0
        shift = 0.0
        s1 = 0.0
        s2 = 0.0
        hmax = -np.inf
        hmin = np.inf
        below = 0
        equal = 0
        for k in range(1, m + 1):
            j = j0 - k * stride
            if j < 0 or j >= n:
                continue
            h = src[j]
            if h != h:
                continue
            if c == 0:
                shift = h
            c += 1
            d = h - shift
            s1 += d
            s2 += d * d
            if h > hmax:
                hmax = h
            if h < hmin:
                hmin = h
            if want_rank:
                if h < x:
                    below += 1
                elif h == x:
                    equal += 1
        cnt[i] = c
        if c == 0:
            for q in range(6):
                out[i, q] = np.nan
            continue
        mean = shift + s1 / c
        flat = hmax == hmin
        var = (s2 - s1 * s1 / c) / c
        std = np.sqrt(var) if var > 0.0 else 0.0
        if flat:
            std = 0.0
        if flat or std == 0.0:
            z = 0.0 if x == x else np.nan
        else:
            z = (x - mean) / std
            if z > _DBL_MAX:
                z = _DBL_MAX
            elif z < -_DBL_MAX:
                z = -_DBL_MAX
        out[i, 0] = z
        out[i, 1] = mean
        out[i, 2] = std
        out[i, 3] = hmax
        out[i, 4] = hmin
        out[i, 5] = (below + 0.5 * equal) / c if want_rank else np.nan


def history_all(src, idx0, stride: int, m: int, want_rank: bool = True):
    """(q x 6 matrix of zscore, mean, std, max, min, rank; valid history counts) per row."""
    src = np.ascontiguousarray(src, dtype=np.float64)
    idx0 = np.ascontiguousarray(idx0, dtype=np.int64)
    out = np.empty((len(idx0), 6), dtype=np.float64)
    cnt = np.empty(len(idx0), dtype=np.int64)
    _history_all(src, idx0, int(stride), int(m), bool(want_rank), out, cnt)
    return out, cnt


def history_transform(src, idx0, stride: int, m: int, code: int):
    """(values, valid history counts) per row; see the module docstring."""
    if not 0 <= int(code) <= 5:
        raise ValueError(f"code must be in 0..5, got {code}")
    out, cnt = history_all(src, idx0, stride, m, code == 5)
    return np.ascontiguousarray(out[:, int(code)]), cnt


@njit(cache=True, nogil=True)
def _search_right(a, v, out):
    n = a.shape[0]
    prev_q = 0
    prev = 0
    for i in range(v.shape[0]):
        x = v[i]
        if i > 0 and x >= prev_q:
            lo = prev  # answer >= prev: a[prev - 1] <= prev_q <= x
            step = 1
            hi = lo
            while hi < n and a[hi] <= x:  # gallop
                lo = hi + 1
                hi = lo + step
                step <<= 1
            if hi > n:
                hi = n
        else:
            lo = 0
            hi = n
        while lo < hi:  # first index with a[idx] > x in [lo, hi]
            mid = (lo + hi) >> 1
            if a[mid] <= x:
                lo = mid + 1
            else:
                hi = mid
        out[i] = lo
        prev = lo
        prev_q = x


def search_right(a, v) -> np.ndarray:
    """``numpy.searchsorted(a, v, side="right")`` for sorted int64 ``a`` (galloping over sorted runs)."""
    a = np.ascontiguousarray(a, dtype=np.int64)
    v = np.ascontiguousarray(v, dtype=np.int64)
    out = np.empty(v.shape, dtype=np.int64)
    _search_right(a, v.ravel(), out.ravel())
    return out

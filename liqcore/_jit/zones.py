"""Numba kernel of the ``zone-bounce`` strategy: a trailing liquidation heatmap walked with the trades.

The details: docs/maintainers/design.md, "The zone-bounce heatmap walk".

May import: ``numba`` and ``numpy``.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["zone_entries", "linear_quantile"]


@njit(cache=True, nogil=True)
def linear_quantile(a_sorted, q):
    n = len(a_sorted)
    h = (n - 1) * q
    lo = int(np.floor(h))
    if lo >= n - 1:
        return a_sorted[n - 1]
    return a_sorted[lo] + (h - lo) * (a_sorted[lo + 1] - a_sorted[lo])


@njit(cache=True, nogil=True)
def zone_entries(is_liq, ts, bucket, notional, n_buckets, lookback_ns, q, min_buckets):
    n = len(ts)
    heat = np.zeros(n_buckets, np.float64)
    cnt = np.zeros(n_buckets, np.int64)
    rows = np.empty(n, np.int64)
    dirs = np.empty(n, np.int8)
    ranks = np.empty(n, np.float64)
    liq_rows = np.empty(n, np.int64)
    n_liq = 0
    head = 0  # first liquidation (in liq_rows) still in the window
    nonempty = 0
    version = 0
    thr_version = -1
    thr = 0.0
    vals = np.empty(n_buckets, np.float64)
    nv = 0
    out = 0
    prev_b = -1
    for i in range(n):
        if is_liq[i]:
            b = bucket[i]
            if cnt[b] == 0:
                nonempty += 1
            cnt[b] += 1
            heat[b] += notional[i]
            liq_rows[n_liq] = i
            n_liq += 1
            version += 1
            continue
        t = ts[i]
        while head < n_liq and ts[liq_rows[head]] <= t - lookback_ns:
            j = liq_rows[head]
            b = bucket[j]
            cnt[b] -= 1
            if cnt[b] == 0:
                heat[b] = 0.0
                nonempty -= 1
            else:
                heat[b] -= notional[j]
            head += 1
            version += 1
        b = bucket[i]
        if prev_b >= 0 and b != prev_b and b >= 0 and cnt[b] > 0 and nonempty >= min_buckets:
            if thr_version != version:
                nv = 0
                for k in range(n_buckets):
                    if cnt[k] > 0:
                        vals[nv] = heat[k]
                        nv += 1
                srt = np.sort(vals[:nv])
                vals[:nv] = srt
                thr = linear_quantile(vals[:nv], q)
                thr_version = version
            if heat[b] >= thr:
                below = 0
                for k in range(nv):
                    if vals[k] <= heat[b]:
                        below += 1
                rows[out] = i
                dirs[out] = 1 if prev_b > b else -1
                ranks[out] = below / nv
                out += 1
        prev_b = b
    return rows[:out], dirs[:out], ranks[:out]

"""Reference twin of ``liqcore._jit.zones``: the zone-bounce heatmap walk, written plainly.

For each trade (in event order), recompute the heatmap from scratch: the liquidations BEFORE it in
the input with ``ts > t - lookback``, summed per bucket in input order; a zone is a non-empty bucket
whose notional is at or above the ``q`` quantile (linear between order statistics) of the non-empty
buckets, with at least ``min_buckets`` non-empty buckets.  A trade whose bucket differs from the
previous trade's and is a zone is an entry: +1 from above, -1 from below.
"""
from __future__ import annotations

import math

import numpy as np


def linear_quantile(a_sorted, q):
    n = len(a_sorted)
    h = (n - 1) * q
    lo = int(math.floor(h))
    if lo >= n - 1:
        return a_sorted[n - 1]
    return a_sorted[lo] + (h - lo) * (a_sorted[lo + 1] - a_sorted[lo])


def zone_entries(is_liq, ts, bucket, notional, n_buckets, lookback_ns, q, min_buckets):
    rows, dirs, ranks = [], [], []
    prev_b = -1
    n = len(ts)
    for i in range(n):
        if is_liq[i]:
            continue
        t = int(ts[i])
        heat = {}
        for j in range(i):
            if is_liq[j] and int(ts[j]) > t - lookback_ns:
                b = int(bucket[j])
                heat[b] = heat.get(b, 0.0) + float(notional[j])
        b = int(bucket[i])
        if prev_b >= 0 and b != prev_b and b in heat and len(heat) >= min_buckets:
            vals = sorted(heat.values())
            thr = linear_quantile(vals, q)
            if heat[b] >= thr:
                rows.append(i)
                dirs.append(1 if prev_b > b else -1)
                ranks.append(sum(1 for v in vals if v <= heat[b]) / len(vals))
        prev_b = b
    return (np.asarray(rows, np.int64), np.asarray(dirs, np.int8), np.asarray(ranks, np.float64))

"""Numba kernel of the ``zone-bounce`` strategy: a trailing liquidation heatmap walked with the trades.

``zone_entries(ev_pos, is_liq, ts, bucket, notional, lookback_ns, q, min_buckets)`` walks ONE symbol's
liquidations and trades in event order (``ev_pos`` increasing: the backtest's receive order):

* a liquidation adds its notional to its price bucket (a dense bucket id, ``0 <= bucket``);
* before each trade, liquidations received at or before ``ts - lookback_ns`` leave the heatmap (the
  window is ``(t - lookback, t]``); a bucket is non-empty while it holds at least one liquidation
  (a count, so float residue never keeps a bucket alive; its notional is set to exactly 0 when the
  count reaches 0);
* a trade whose bucket differs from the previous trade's is a candidate: when its bucket is
  non-empty, at least ``min_buckets`` buckets are non-empty and its notional is at or above the
  ``q`` quantile of the non-empty buckets' notionals (linear interpolation between order
  statistics: ``h = (n - 1) q``, ``v = a[lo] + (h - lo) (a[lo + 1] - a[lo])``), the trade ENTERS A
  ZONE: from above (previous bucket higher) -> +1 (support, long), from below -> -1 (resistance).

Returns ``(row, direction, rank)`` for each entry: ``row`` = the trade's position in the input,
``rank`` = the share of non-empty buckets whose notional is at or below the zone's.  The readable twin
is ``pysrc/zones.py``; ``tests/strategies/test_strategies.py`` compares the two with hypothesis.
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

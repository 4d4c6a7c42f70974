"""Reference twin of ``liqcore._jit.features``: the maximum of ``values[lo:hi]`` per query, by a
plain scan (NaN for an empty range)."""
from __future__ import annotations

import numpy as np


def range_max(values, lo, hi, block: int = 32) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    out = np.empty(len(lo), dtype=np.float64)
    for k, (a, e) in enumerate(zip(np.asarray(lo).tolist(), np.asarray(hi).tolist())):
        a, e = max(a, 0), min(e, n)
        if e <= a:
            out[k] = np.nan
        else:
            m = values[a]
            for i in range(a + 1, e):
                if values[i] > m:
                    m = values[i]
            out[k] = m
    return out


def history_transform(src, idx0, stride: int, m: int, code: int):
    """Row i: transform of x = src[idx0[i]] against src[idx0[i] - k * stride], k = 1..m (NaN and
    out-of-range entries skipped).  Codes: 0 zscore, 1 mean, 2 std, 3 max, 4 min, 5 rank."""
    src = np.asarray(src, dtype=np.float64)
    n = len(src)
    out = np.empty(len(idx0), dtype=np.float64)
    cnt = np.empty(len(idx0), dtype=np.int64)
    for i, j0 in enumerate(np.asarray(idx0).tolist()):
        x = src[j0] if 0 <= j0 < n else float("nan")
        hist = []
        for k in range(1, m + 1):
            j = j0 - k * stride
            if 0 <= j < n and not np.isnan(src[j]):
                hist.append(float(src[j]))
        cnt[i] = len(hist)
        if not hist:
            out[i] = float("nan")
            continue
        shift = hist[0]
        s1 = s2 = 0.0
        for h in hist:
            s1 += h - shift
            s2 += (h - shift) * (h - shift)
        c = len(hist)
        mean = shift + s1 / c
        flat = max(hist) == min(hist)
        if code == 1:
            out[i] = mean
        elif code == 3:
            out[i] = max(hist)
        elif code == 4:
            out[i] = min(hist)
        elif code == 5:
            out[i] = (sum(h < x for h in hist) + 0.5 * sum(h == x for h in hist)) / c
        else:
            var = (s2 - s1 * s1 / c) / c
            std = var ** 0.5 if var > 0.0 else 0.0
            if code == 2:
                out[i] = 0.0 if flat else std
            elif flat or std == 0.0:
                out[i] = 0.0 if x == x else float("nan")
            else:
                out[i] = min(max((x - mean) / std, -1.7976931348623157e308), 1.7976931348623157e308)
    return out, cnt


def search_right(a, v) -> np.ndarray:
    """For each x in v: the number of elements of the sorted ``a`` that are <= x."""
    a = np.asarray(a).tolist()
    out = np.empty(len(v), dtype=np.int64)
    for i, x in enumerate(np.asarray(v).tolist()):
        lo, hi = 0, len(a)
        while lo < hi:
            mid = (lo + hi) // 2
            if a[mid] <= x:
                lo = mid + 1
            else:
                hi = mid
        out[i] = lo
    return out

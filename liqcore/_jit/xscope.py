"""Numba kernel of the chunked instrument-scope read: which events the cross-venue rule needs (:func:`sparse_keep`).

It walks one chunk in the detector's order and lists the events that keep the cross-venue rule's
result when it is run over them alone.  The rules: docs/maintainers/design.md, "The chunked instrument-scope
read"; twin ``pysrc/xscope.py``.

May import: numpy and numba only.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["sparse_keep"]

#: where a group's clock setter is (``mx_src``)
MX_NONE = 0  # listed already, or a venue-wide gap (listed), or no event yet
MX_CHUNK = 1  # row ``mx_i`` of the current chunk, not listed yet
MX_CARRIED = 2  # carried from an earlier chunk, not listed yet

KIND_GAP = 5


@njit(cache=True, nogil=True)
def _list_setter(g, mx_src, mx_i, out_src, out_idx, n_out):
    if mx_src[g] == MX_CHUNK:
        out_src[n_out] = 0
        out_idx[n_out] = mx_i[g]
        n_out += 1
    elif mx_src[g] == MX_CARRIED:
        out_src[n_out] = 1
        out_idx[n_out] = g
        n_out += 1
    mx_src[g] = MX_NONE
    return n_out


@njit(cache=True, nogil=True)
def sparse_keep(ts, sid, kind, venue, marks, group, window_ns, clock, vmask, searching, pending, mx_src, mx_i):
    """``(out_src, out_idx, late)`` of one chunk (see the module); the state arrays (one entry per
    group: ``clock`` int64, ``vmask`` uint32, ``searching`` bool, ``pending`` int64, ``mx_src`` int8,
    ``mx_i`` int64) are updated in place and carry to the next chunk (``mx_src == MX_CHUNK`` must be
    turned into ``MX_CARRIED`` by the caller, which keeps the row)."""
    n = len(ts)
    G = len(clock)
    out_src = np.empty(3 * n + G + 1, np.int8)
    out_idx = np.empty(3 * n + G + 1, np.int64)
    n_out = 0
    late = 0
    for i in range(n):
        m = marks[i]
        if m == 0:
            continue
        t = ts[i]
        vbit = np.uint32(1) << np.uint32(venue[i])
        s = sid[i]
        if s == -1:  # a venue-wide gap: every group that has seen the venue, at its clock
            for g in range(G):
                if vmask[g] & vbit:
                    if t > clock[g]:
                        clock[g] = t
                        mx_src[g] = MX_NONE  # the gap (listed) set it
                    else:
                        n_out = _list_setter(g, mx_src, mx_i, out_src, out_idx, n_out)
            out_src[n_out] = 0
            out_idx[n_out] = i
            n_out += 1
            continue
        g = group[s]
        new_venue = (vmask[g] & vbit) == 0
        vmask[g] |= vbit
        sig = kind[i] == KIND_GAP or m == 2 or m == 3
        if sig:
            n_out = _list_setter(g, mx_src, mx_i, out_src, out_idx, n_out)
        tc = t
        if t < clock[g]:
            late += 1
            tc = clock[g]
        elif t > clock[g]:
            clock[g] = t
            mx_src[g] = MX_CHUNK
            mx_i[g] = i
        keep = sig or new_venue
        if not sig and searching[g] and tc > pending[g]:
            keep = True
            searching[g] = False
        if m == 3:
            searching[g] = True
            pending[g] = tc + window_ns
        if keep:
            out_src[n_out] = 0
            out_idx[n_out] = i
            n_out += 1
            if mx_src[g] == MX_CHUNK and mx_i[g] == i:
                mx_src[g] = MX_NONE
    return out_src[:n_out].copy(), out_idx[:n_out].copy(), late

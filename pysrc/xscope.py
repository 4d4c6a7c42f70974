"""Reference twin of ``liqcore._jit.xscope``: which events the cross-venue rule needs (one chunk).

Written for reading: one pass over the chunk's events in the detector's order, with the per-group
state carried in a dict.  ``sparse_keep`` returns what the kernel returns (``(src, idx)`` entries and
the late count) and updates the same state arrays.
"""
from __future__ import annotations

import numpy as np

KIND_GAP = 5
MX_NONE, MX_CHUNK, MX_CARRIED = 0, 1, 2


def sparse_keep(ts, sid, kind, venue, marks, group, window_ns, clock, vmask, searching, pending, mx_src, mx_i):
    out: list[tuple[int, int]] = []
    late = 0

    def list_setter(g):
        # the event that set group g's clock goes in before the liquidation / gap that reads the clock
        if mx_src[g] == MX_CHUNK:
            out.append((0, int(mx_i[g])))
        elif mx_src[g] == MX_CARRIED:
            out.append((1, g))
        mx_src[g] = MX_NONE

    for i in range(len(ts)):
        m = int(marks[i])
        if m == 0:  # not kept by the per-venue detector: the rule never sees it
            continue
        t = int(ts[i])
        vbit = 1 << int(venue[i])
        if int(sid[i]) == -1:  # venue-wide gap
            for g in range(len(clock)):
                if int(vmask[g]) & vbit:
                    if t > clock[g]:
                        clock[g] = t
                        mx_src[g] = MX_NONE
                    else:
                        list_setter(g)
            out.append((0, i))
            continue
        g = int(group[int(sid[i])])
        new_venue = not (int(vmask[g]) & vbit)
        vmask[g] = int(vmask[g]) | vbit
        significant = int(kind[i]) == KIND_GAP or m in (2, 3)
        if significant:
            list_setter(g)
        tc = t
        if t < clock[g]:  # late: clamped to the group's clock
            late += 1
            tc = int(clock[g])
        elif t > clock[g]:
            clock[g] = t
            mx_src[g], mx_i[g] = MX_CHUNK, i
        keep = significant or new_venue
        if not significant and searching[g] and tc > pending[g]:  # the event an open cascade expires at
            keep = True
            searching[g] = False
        if m == 3:  # a large liquidation: the cascade (if one is open) expires after tc + window
            searching[g] = True
            pending[g] = tc + window_ns
        if keep:
            out.append((0, i))
            if mx_src[g] == MX_CHUNK and mx_i[g] == i:
                mx_src[g] = MX_NONE
    src = np.array([s for s, _ in out], dtype=np.int8)
    idx = np.array([x for _, x in out], dtype=np.int64)
    return src, idx, late

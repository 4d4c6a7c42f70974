"""Which rows of a checked partition file's row groups a read can need, from the file's first-passage blocks
(:mod:`liqcore.dataset.fpindex`): :func:`row_spans`, so a read of a few seconds decodes the pages of a block or
two of a row group (:mod:`liqcore.dataset.pages`), not all 16,384 rows of it.  The blocks of a file are its
footer's (``Footer.kv``), proven against the footer they are read from (:func:`fpindex.decode
<liqcore.dataset.fpindex.decode>`), and decoded once per process (:func:`fp_blocks`).

May import: numpy, ``venues.common`` and this package's ``fpindex``.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

_FP_BLOCKS: OrderedDict = OrderedDict()  # (path, stat key) -> the file's first-passage blocks (None: none)


def fp_blocks(path: str, f):
    """The first-passage blocks of the file at ``path`` (:mod:`liqcore.dataset.fpindex`: per block of a bulk row
    group its rows' place and its time and price ranges), from its footer ``f``'s metadata, proven to be this
    footer's (:func:`~liqcore.dataset.fpindex.decode`); None without a usable index.  Kept per process."""
    from liqcore.dataset import fpindex

    k = (path, f.key)
    if k in _FP_BLOCKS:
        _FP_BLOCKS.move_to_end(k)
        return _FP_BLOCKS[k]
    if f.fp:  # (decoded with the footer, or kept with it by an earlier process)
        b = f.fp[0]
    else:
        raw = (f.kv or {}).get(fpindex.KEY)
        b = None if raw is None else fpindex.decode(raw, f.rows, f.ev, f.rv)
    _FP_BLOCKS[k] = b
    while len(_FP_BLOCKS) > 256:
        _FP_BLOCKS.popitem(last=False)
    return b


def row_spans(path: str, f, groups: np.ndarray, start_ns, end_ns, recv_range) -> list | None:
    """Per row group of ``groups`` (of the file at ``path``, footer ``f``) the rows a read of event times
    [start_ns, end_ns) received in ``recv_range`` can match, from the file's first-passage blocks
    (:func:`fp_blocks`): ``(r0, r1)`` from the first block that can hold such a row to the end of the last;
    ``(0, 0)`` when none can; None for a group every block of which can (or without blocks).  A block can
    hold one unless its event times lie outside the range, or every row of it has a receive time and those
    lie outside the receive range (the row filter of :func:`read_checked` drops every row of it then).  None
    for every group when the file has no index or the read no event-time bound."""
    from liqcore.venues.common import RECV_UNKNOWN

    if start_ns is None and end_ns is None:
        return None
    b = fp_blocks(path, f)
    if b is None or not len(b):
        return None
    first = first_rows(path, f)
    out = []
    gb = b["group"]
    for g in groups.tolist():
        i0, i1 = int(np.searchsorted(gb, g, "left")), int(np.searchsorted(gb, g, "right"))
        if i1 <= i0:
            out.append(None)
            continue
        x = b[i0:i1]
        ok = np.ones(len(x), bool)
        if start_ns is not None:
            ok &= x["te_max"] >= int(start_ns)
        if end_ns is not None:
            ok &= x["te_min"] < int(end_ns)
        if recv_range is not None:
            lo, hi = int(recv_range[0]), int(recv_range[1])
            ok &= (x["tr_min"] <= RECV_UNKNOWN) | ((x["tr_max"] >= lo) & (x["tr_min"] < hi))
        if ok.all():
            out.append(None)
            continue
        hit = np.flatnonzero(ok)
        if not len(hit):
            out.append((0, 0))
            continue
        r0 = int(x["row0"][hit[0]]) - first[g]
        r1 = int(x["row0"][hit[-1]] + x["n"][hit[-1]]) - first[g]
        out.append((r0, r1))
    return out


_FIRST: dict = {}  # (path, stat key) -> each row group's first row in the file


def first_rows(path: str, f) -> list:
    """Each row group's first row in the file at ``path`` (footer ``f``), kept per process."""
    k = (path, f.key)
    hit = _FIRST.get(k)
    if hit is None:
        if len(_FIRST) > 1024:
            _FIRST.clear()
        hit = _FIRST[k] = np.concatenate([[0], np.cumsum(f.rows)[:-1]]).astype(np.int64).tolist()
    return hit


_SCHEMAS: dict = {}  # (path, stat key) -> the file's Arrow schema

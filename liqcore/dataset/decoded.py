"""One decoded row group of a checked partition file (:mod:`liqcore.dataset.checked`): its columns as numpy
arrays, converted once and kept among the groups decoded last, and the slice of its rows a read by
receive time needs to look at (:meth:`DecodedGroup.recv_slice`); a fixed column's rows (:func:`filled`); and the
rows decoded, each counted once (:class:`count_once`)."""
from __future__ import annotations

import threading

import numpy as np

_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1


class DecodedGroup:
    """One decoded row group: its columns (name -> numpy array), and, made on the first read by receive
    time, bounds that place every row that can be received in a range within one slice of it.  Where
    its event times are sorted (a checked file's bulk section: rows in event-time order) the bounds
    are the least and greatest receive delay (receive minus event time) of its rows, three vectorised
    passes; else the running maximum of its receive times and the running minimum from its end (both
    non-decreasing: two sequential passes, several times as long)."""

    __slots__ = ("cols", "_lat", "_pmax", "_smin")

    def __init__(self, cols: dict):
        self.cols = cols
        self._lat = self._pmax = self._smin = None

    def recv_slice(self, lo: int, hi: int) -> tuple[int, int]:
        """``(i0, i1)``: every row outside ``[i0, i1)`` has a receive time outside ``[lo, hi)``.  Event
        times sorted, delays in ``[d0, d1]``: a row stamped before ``lo - d1`` is received before ``lo``,
        one stamped at ``hi - d0`` or later is received at ``hi`` or later (two binary searches on the
        event times).  Else the rows before ``i0`` are all received before ``lo`` (their running
        maximum is), the rows from ``i1`` on at or after ``hi`` (their running minimum is).  Rows in
        event-time order have nearly sorted receive times: the slice is about the range's rows.  Only
        for a group whose rows all have a receive time (the caller checks its statistics: a row
        without one is kept by its event time)."""
        tr, te = self.cols["ts_recv_ns"], self.cols.get("ts_event_ns")
        if self._lat is None and self._pmax is None:
            if te is not None and len(te) and bool(np.all(te[1:] >= te[:-1])):
                d = tr - te
                self._lat = (int(d.min()), int(d.max()))
            else:
                self._pmax = np.maximum.accumulate(tr)
                self._smin = np.minimum.accumulate(tr[::-1])[::-1]
        if self._lat is not None:
            i0 = _search(te, int(lo) - self._lat[1])
            i1 = _search(te, int(hi) - self._lat[0])
        else:
            i0 = int(np.searchsorted(self._pmax, lo, "left"))
            i1 = int(np.searchsorted(self._smin, hi, "left"))
        return i0, max(i0, i1)


def _search(sorted_ts: np.ndarray, x: int) -> int:
    """``np.searchsorted(sorted_ts, x, "left")`` (int64 values) for any integer ``x``, also beyond int64."""
    if x <= _I64_MIN:
        return 0
    if x > _I64_MAX:
        return len(sorted_ts)
    return int(np.searchsorted(sorted_ts, x, "left"))


def filled(n: int, value, dtype) -> np.ndarray:
    """``np.full(n, value, dtype)``, read-only and shared by every group asking for the same (a bulk group's kind
    and flags: the same few columns thousands of times a run), the last few hundred kept."""
    key = (n, np.dtype(dtype).str, type(value).__name__, repr(value))  # (NaN: one key, as its repr)
    got = _FILLED.get(key)
    if got is None:
        if len(_FILLED) > 256:
            _FILLED.clear()
        got = _FILLED[key] = np.full(n, value, dtype)
        got.flags.writeable = False
    return got


_FILLED: dict = {}  # (rows, type, the value's type and repr) -> a read-only array of them


#: per thread (a dask worker runs tasks in threads): ``.counts``, the counts of the rows decoded in force
#: (:class:`count_once`), the innermost last
_IN_FORCE = threading.local()


def _counts() -> list:
    c = getattr(_IN_FORCE, "counts", None)
    if c is None:
        c = _IN_FORCE.counts = []
    return c


class count_once:  # noqa: N801 - used as a context manager, as ``checked.keep_decoded``
    """Within it, each row of a file's row group decoded is counted once: the rows
    :func:`liqcore.dataset.checked.read_checked` (and ``decoded_spans``, ``rows_of``) says it decoded now are those
    no decode within it counted before -- a page or group decoded again (let go of by the memory bound and met
    again, or decoded with pages around one kept) is not counted again.  A window-local backtest counts its rows so
    (:func:`liqcore.backtest.windows.replay_cells`): the rows it says it decoded are rows of the selection, each
    once, never more than its total.  ``rows``: the rows it counted.  The innermost one in force in the thread
    counts."""

    def __init__(self):
        self.rows = 0
        self._seen: dict = {}  # (path, the file's stat key, row group) -> its rows counted: [r0, r1) disjoint, sorted

    def __enter__(self):
        _counts().append(self)
        return self

    def __exit__(self, *exc):
        _counts().remove(self)
        return False

    def add(self, unit, r0: int, r1: int) -> int:
        """Rows ``[r0, r1)`` of ``unit`` (a file's row group) decoded: how many of them were not counted before."""
        if r1 <= r0:
            return 0
        had = self._seen.get(unit, [])
        new = (r1 - r0) - sum(max(0, min(b, r1) - max(a, r0)) for a, b in had)
        merged: list = []
        for a, b in sorted(had + [(r0, r1)]):
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        self._seen[unit] = merged
        self.rows += new
        return new


def counted(unit, r0: int, r1: int) -> int:
    """Rows ``[r0, r1)`` of ``unit`` decoded now: as many as they are, or within a :class:`count_once`, those of
    them it had not counted."""
    c = getattr(_IN_FORCE, "counts", None)
    return r1 - r0 if not c else c[-1].add(unit, r0, r1)

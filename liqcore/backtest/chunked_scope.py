"""Instrument-scope detection over a dataset read in chunks (``backtest DS --scope instrument``).

The details: docs/maintainers/design.md, "Instrument scope in chunks".

May import: ``numpy``, ``_jit.xscope``, ``_libs.detector``, ``_libs.xvenue``, ``instruments``, ``types`` and
this package's ``stream``.
"""
from __future__ import annotations

import numpy as np

from liqcore.types import CASCADE_DTYPE, EVENT_DTYPE

__all__ = ["InstrumentChunks"]


class InstrumentChunks:
    """Instrument-scope records chunk by chunk.  ``registry``: every symbol of the read, registered
    before the first chunk (the instrument groups come from it); ``trade_venue``: the records move to
    that venue's symbol of their instrument (:func:`liqcore.instruments.retarget`).  ``group``
    (``group[symbol_id]``) and ``detector`` (the per-venue detector) replace the ones built from the
    registry and ``params`` (whose ``window_ns`` and ``min_large`` the cross-venue rule reads)."""

    def __init__(self, params, registry=None, table=None, trade_venue=None, *, group=None, detector=None):
        from liqcore._libs.detection import CascadeDetector
        from liqcore.instruments import groups, load_table

        self.params = params
        self.registry = registry
        if group is None:
            group, _ = groups(registry, table if table is not None else load_table(None))
        self.group = np.ascontiguousarray(group, dtype=np.int64)
        self.trade_venue = trade_venue
        self.det = detector if detector is not None else CascadeDetector.from_params(params)
        G = int(self.group.max()) + 1 if len(self.group) else 0
        self.clock = np.full(G, np.iinfo(np.int64).min, np.int64)
        self.vmask = np.zeros(G, np.uint32)
        self.searching = np.zeros(G, np.bool_)
        self.pending = np.zeros(G, np.int64)
        self.mx_src = np.zeros(G, np.int8)
        self.mx_i = np.zeros(G, np.int64)
        self.carried: dict = {}  # group -> (row, mark, threshold, event index): its clock setter
        self.rows = np.zeros(0, EVENT_DTYPE)  # what the cross-venue rule reads
        self.marks = np.zeros(0, np.int8)
        self.thr = np.zeros(0, np.float64)
        self.gidx = np.zeros(0, np.int64)  # each row's index in the whole read
        self.n_handed = 0  # records given out so far
        self.late = 0
        self.now = None  # the latest event time of the events kept so far (the flush's time)
        self.dropped = 0  # confirmed records of an instrument the trade venue does not list

    def run(self, events: np.ndarray, offset: int) -> tuple[np.ndarray, dict]:
        """``(records, counts)`` of the chunk ``events`` (the whole read's events ``offset`` on): the
        records the whole load emits at these events (``event_index`` into the whole read), the
        per-venue detector's counts for the chunk."""
        from liqcore._jit.xscope import MX_CARRIED, MX_CHUNK, sparse_keep
        from liqcore._libs.detection import detect

        ev = np.ascontiguousarray(events)
        n = len(ev)
        marks = np.zeros(n, np.int8)
        thr = np.full(n, np.nan)
        _, counts = self.det.run(ev, flush=False, marks=marks, thresholds=thr, index_offset=offset)
        if len(self.group) and n and int(ev["symbol_id"].max()) >= len(self.group):
            from liqcore.backtest.stream import NotStreamable

            raise NotStreamable("a symbol outside the registry read first")
        src, idx, late = sparse_keep(ev["ts_event"], ev["symbol_id"], ev["kind"], ev["venue"], marks, self.group,
                                     int(self.params.window_ns), self.clock, self.vmask, self.searching,
                                     self.pending, self.mx_src, self.mx_i)
        self.late += int(late)
        seen = ev["ts_event"][marks != 0]
        if len(seen):
            top = int(seen.max())
            self.now = top if self.now is None else max(self.now, top)
        at = np.where(src == 0, idx, 0)  # src 1 entries (their idx is a group, maybe >= n) are replaced below
        rows, mk, th, gi = ev[at], marks[at], thr[at], idx + offset
        for k in np.flatnonzero(src == 1):
            r, m, t, g = self.carried.pop(int(idx[k]))
            rows[k], mk[k], th[k], gi[k] = r, m, t, g
        for g in np.flatnonzero(self.mx_src == MX_CHUNK):  # clock setters not listed yet: carried
            i = int(self.mx_i[g])
            self.carried[int(g)] = (ev[i].copy(), marks[i], thr[i], offset + i)
            self.mx_src[g] = MX_CARRIED
        self.rows = np.concatenate([self.rows, rows])
        self.marks = np.concatenate([self.marks, mk])
        self.thr = np.concatenate([self.thr, th])
        self.gidx = np.concatenate([self.gidx, gi])
        return self._records(detect, False), dict(counts)

    def _records(self, detect, flush: bool) -> np.ndarray:
        rec, _shares, self.xc = detect(self.rows, self.marks, self.thr, self.group, int(self.params.window_ns),
                                       int(self.params.min_large), flush=flush, flush_ns=self.now)
        new = rec[self.n_handed:].copy()
        self.n_handed = len(rec)
        at = new["event_index"] >= 0
        new["event_index"][at] = self.gidx[new["event_index"][at]]
        if self.trade_venue:
            from liqcore.instruments import retarget

            new, dropped = retarget(new, self.registry, self.group, self.trade_venue)
            self.dropped += dropped
        return np.asarray(new, dtype=CASCADE_DTYPE)

    def finish(self) -> tuple[np.ndarray, dict]:
        """The end of input: the records the flush emits, and the cross-venue rule's counts
        (``late``, ``cascades``, ``records``) as the whole load gives them, with
        ``dropped_no_trade_venue`` when the records move to a trade venue."""
        from liqcore._libs.detection import detect

        rest = self._records(detect, True)
        counts = dict(self.xc)
        counts["late"] = self.late
        if self.trade_venue:
            counts["dropped_no_trade_venue"] = self.dropped
        return rest, counts

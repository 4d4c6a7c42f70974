"""The queue at depth in the window-local read: the depth rows of each window, its book from a checkpoint.

:class:`DepthFeed` hands :func:`liqcore.backtest.windows.replay_windows` the DEPTH rows of every step it
reads and, where a window starts after rows nobody replayed, puts the symbol's depth book back as the
full replay has it there: the checkpoint before it (``liqcore.dataset.depth.DepthIndex``) and the rows
between.  Why the result is the full replay's: docs/data.md, "The default read with depth".

May import: numpy, ``_jit``, ``dataset``, ``types`` and this package's ``stream``.
"""
from __future__ import annotations

import numpy as np

from liqcore.backtest.stream import NotStreamable


class DepthFeed:
    """The depth rows of one (venue, symbol) of the dataset at ``path`` for a window-local replay.
    ``first_quote``: the receive times of the first best bid and best ask rows of the selection (None:
    none), which say what the full replay's book in force is at a window's start."""

    def __init__(self, path, venue: str, symbol: str, registry, first_quote):
        from liqcore.dataset.depth import DepthIndex

        self.path, self.venue, self.symbol, self.reg = str(path), venue, symbol, registry
        self.sid = registry.id(venue, symbol)
        self.index = DepthIndex(path, venue, symbol, self.sid)
        self.first_quote = first_quote
        self.at = None  # every DEPTH row received before this was handed out
        self.rows_read = 0  # DEPTH rows handed out (the checkpoints' rows included)
        self.starts = 0  # books put back from a checkpoint

    def rows(self, cell, a: int, b: int) -> np.ndarray:
        """The DEPTH rows to replay with the events received in [a, b) (receive order): those received in
        [the last read's end, b), or, after rows nobody replayed (``a`` past it: the simulator must be flat),
        the symbol's book put back in ``cell`` as it stands just before ``a`` and the rows from its
        checkpoint on.  :class:`NotStreamable` when that cannot be the full replay's book."""
        pre = None
        lo = a
        if self.at is None or a > self.at:
            pre = self._start(cell, a)
        elif a < self.at:
            lo = self.at
        rows = self.index.rows(lo, b, event_times=False)  # (the simulator reads receive times; never written to)
        if pre is not None and len(pre):
            rows = np.concatenate([pre, rows]) if len(rows) else pre
        self.at = max(b, self.at or b)
        self.rows_read += len(rows)
        return rows

    def _start(self, cell, a: int) -> np.ndarray:
        from liqcore._jit import depth as dp
        from liqcore._jit import sim

        if np.any(cell.st["status"] != 0) or (cell.carry is not None and len(cell.carry[0])):
            raise NotStreamable("the queue at depth: a window would skip depth rows while an order is live")
        try:
            got = self.index.start(a, event_times=False)
        except ValueError as exc:
            raise NotStreamable(f"the queue at depth: {exc}") from None
        sid = self.sid
        if sid >= len(cell.st):
            raise NotStreamable("the queue at depth: a depth symbol outside the replay's")
        s = cell.st[sid]
        q = self.first_quote
        some = q is not None and min(q) < a  # a quote row came before: the book in force is the quotes'
        if not got.empty and some and max(q) >= a:
            raise NotStreamable("the queue at depth: a window starts before both sides of the book were quoted")
        if cell.depth is None:
            cell.depth = sim.new_depth(len(cell.par))
        tables, meta = cell.depth
        if dp.load_book(tables, meta, sid, got.bid, got.price, got.qty, np.int64(got.m_run),
                        np.int64(got.m_known), float(cell.par[sid]["grid"])):
            raise NotStreamable("the queue at depth: two depth prices on one tick of the replay's price grid")
        s["d_key"] = dp.NO_LEVEL  # (flat: the next limit looks its level up in the book put back)
        s["d_rejoin"] = 0
        s["d_pend"] = 0
        if some:
            s["d_quotes"] = 1
        if got.empty:  # no DEPTH row before the window: as the full replay, the symbol has none yet
            s["d_on"] = 0
            s["d_known"] = 0
        self.starts += 1
        return got.rows

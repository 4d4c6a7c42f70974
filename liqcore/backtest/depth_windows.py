"""The queue at depth in the window-local read: the depth rows of each window, its book from a checkpoint.

:class:`DepthFeed` hands :func:`liqcore.backtest.windows.replay_windows` the DEPTH rows of every step it
reads and, where a window starts after rows nobody replayed, puts the symbol's depth book back as the
full replay has it there: the checkpoint before it (``liqcore.dataset.depth.DepthIndex``) and the rows
between.  Why the result is the full replay's: docs/how-to/backtest-with-depth.md, "The default read with depth".

May import: numpy, ``_jit``, ``dataset``, ``types`` and this package's ``stream``, ``row_groups`` and ``passage``.
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

        self.sid = registry.id(venue, symbol)
        self.index = DepthIndex(path, venue, symbol, self.sid)
        self.first_quote = first_quote
        self.at = None  # every DEPTH row received before this was handed out
        self.rows_read = 0  # DEPTH rows handed out (the checkpoints' rows included)
        self.starts = 0  # books put back from a checkpoint
        self.filtered = 0  # DEPTH rows not replayed (they could not touch the order or position: :meth:`_touch_keys`)
        # the keys of the rows last left out (False: none): the book is put back (:meth:`_rebuild`) before rows
        # are replayed for any other order or take-profit, or all of them
        self.stale = False
        self.rebuilt = 0  # books put back at a skipped span's end

    def summary(self) -> dict:
        """Rows read, books put back from a checkpoint at a window's start, rows read that only built the book
        (not replayed), books put back after them."""
        return {"rows": self.rows_read, "starts": self.starts, "filtered": self.filtered, "rebuilt": self.rebuilt}

    def rows(self, cell, a: int, b: int, keys=None) -> np.ndarray:
        """The DEPTH rows to replay with the events received in [a, b) (receive order): those received in
        [the last read's end, b), or, after rows nobody replayed (``a`` past it: the simulator must be flat),
        the symbol's book put back in ``cell`` as it stands just before ``a`` and the rows from its
        checkpoint on.  ``keys`` (:meth:`_touch_keys`): only the rows that can touch the working order or
        position, taken before any row is built (the others counted in ``filtered``; the book
        is put back before the next rows).  :class:`NotStreamable` when that cannot be the full replay's book."""
        pre = None
        lo = a
        if self.at is None or a > self.at:
            self.stale = False  # (the book put back from a checkpoint)
            pre = self._start(cell, a)
        else:
            if self.stale and keys != self.stale:  # rows that only built the book were left out: put it back
                self._rebuild(cell, self.at)  # (for the same order and take-profit, their levels are exact)
                self.stale = False
            if a < self.at:
                lo = self.at
        filt = None
        if keys is not None:
            from liqcore._jit import depth as dp

            long, grid, ke, kt = keys

            def filt(tr, price, side, flags):  # (the rows that can touch the order or position: dp.touching)
                m = dp.touching_cols(tr, price, side, flags, long, grid, ke, 0 if kt is None else kt,
                                     0 if kt is None else 1)
                self.filtered += int(len(m) - np.count_nonzero(m))
                return m
            self.stale = keys
        n0 = self.filtered
        # (the simulator reads receive times; never written to)
        rows = self.index.rows(lo, b, event_times=False, filt=filt)
        self.rows_read += self.filtered - n0  # (read, not replayed)
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
        got = self._checkpoint(a)
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
        self._load(cell, got)
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

    def merge(self, cell, raw: np.ndarray, a: int, b: int, q_now: bool, signals: bool = True):
        """``raw`` (the step's events received in [a, b), receive order) with the step's DEPTH rows merged in
        after them at one receive time -> (rows, DEPTH rows added); ``q_now`` False: the step's quotes are
        not read (the first quote must not fall in it, or the book in force would be the depth's there).
        ``signals`` False (no signal is decided in the step): with a position open at its start, only the
        rows that can touch it are replayed (:meth:`_touch_keys`: once it closes the simulator stays flat to the
        step's end), and the book is put back before the next rows are replayed."""
        from liqcore._jit.chunks import merge_recv

        if not q_now and self.first_quote is not None and a <= min(self.first_quote) < b:
            raise NotStreamable("the queue at depth: the first quote falls in a step whose quotes are skipped")
        dr = self.rows(cell, a, b, None if signals else self._touch_keys(cell))
        if not len(dr):
            return raw, 0
        return merge_recv(np.ascontiguousarray(raw), dr), len(dr)

    def skip(self, cell, b: int, to: int, o: int, so: int, no_records: np.ndarray, book: bool):
        """The DEPTH rows received in [b, to), where the read passes over row groups in which no print
        reaches the live order or position, replayed as a chunk of their own (they move its queue) ->
        (the next global event and print indices, the rows replayed)."""
        from liqcore.backtest.stream import _Chunk

        dr = self.rows(cell, b, to, self._touch_keys(cell))  # (only the rows that can touch the order or position)
        if not len(dr):
            return o, so, 0
        ch = _Chunk(dr, o, so, book=book)
        cell.feed(ch, no_records, ch.sim_index(np.zeros(0, np.int64)))
        return o + len(ch.events), so + len(ch.sim), len(dr)

    def _touch_keys(self, cell):
        """Over a span where no signal is decided (a skipped span, or a step without one): when the symbol holds a
        resting limit entry or an open position (its book on, its best bid and ask the quotes', no replacement
        queued), what ``liqcore._jit.depth.touching`` needs to keep the DEPTH rows that can change what the
        simulator does:
        (long, grid, the entry's key, the take-profit's key or None) -- the take-profit the position has, or the
        one a fill at the limit would give it.  No other row can change an order or a position before the next
        signal; they only build the book, which :meth:`_rebuild` puts back before the next rows are replayed.
        None: every row is replayed."""
        from liqcore._jit import depth as dp
        from liqcore._jit import sim

        sid = self.sid
        if cell.depth is None or sid >= len(cell.st):
            return None
        s = cell.st[sid]
        status = int(s["status"])
        resting = status == sim.RESTING and int(s["entry_kind"]) == int(sim.ENTRY_LIMIT)
        if not (resting or status == sim.OPEN) or not int(s["d_on"]) or not int(s["d_quotes"]) or int(s["q_on"]):
            return None  # (a queued same-symbol replacement is placed at the close: it needs the book)
        q = cell.par[sid]
        grid = float(q["grid"])
        long = int(s["side"]) > 0
        if resting:  # the take-profit a fill sets (sim._open: the entry fills at its limit)
            entry = float(s["limit_price"])
            tp_px = sim.tp_level(entry, int(s["side"]), float(s["tp_frac"]), float(q["take_profit"]), grid)
        else:
            entry = float(s["entry_price"])
            tp_px = float(s["tp_price"])
        kt = int(dp.dkey(tp_px, grid)) if abs(tp_px) < np.inf else None
        return long, grid, int(dp.dkey(entry, grid)), kt

    def _rebuild(self, cell, to: int) -> None:
        """The symbol's depth book put back as the full replay has it just before receive time ``to``: the
        checkpoint before it and the rows between, into the book alone (the simulator's queue state came from
        the rows that touch it)."""
        from liqcore._jit import depth as dp

        got = self._checkpoint(to)
        self._load(cell, got)
        if len(got.rows):
            tables, meta = cell.depth
            dp.apply_rows(tables, meta, np.ascontiguousarray(got.rows), cell.par["grid"].astype(np.float64))
        self.rebuilt += 1

    def _checkpoint(self, at: int):
        """The symbol's book just before receive time ``at`` (``DepthIndex.start``), or NotStreamable saying why
        the files cannot give it."""
        try:
            return self.index.start(at, event_times=False)
        except ValueError as exc:
            raise NotStreamable(f"the queue at depth: {exc}") from None

    def _load(self, cell, got) -> None:
        """The symbol's book in ``cell`` replaced by the checkpoint levels of ``got`` (:meth:`_checkpoint`)."""
        from liqcore._jit import depth as dp

        tables, meta = cell.depth
        if dp.load_book(tables, meta, self.sid, got.bid, got.price, got.qty, np.int64(got.m_run),
                        np.int64(got.m_known), float(cell.par[self.sid]["grid"])):
            raise NotStreamable("the queue at depth: two depth prices on one tick of the replay's price grid")


def first_quotes(rd, g: dict, lo: int, hi: int):
    """The receive times of the selection's first best bid and first best ask rows (None: no quote; a
    side never quoted in the first groups holding quotes: never, so no window starts after both), read
    from the first bulk row groups (``g``: :func:`liqcore.backtest.row_groups._bulk_groups`) that hold quotes."""
    from liqcore.backtest.passage import ASK as _ASK, BID as _BID
    from liqcore.types import Kind

    got: dict = {}
    for i in np.flatnonzero(g["has_quotes"])[:8]:
        q = rd.read(lo, hi, kinds=[int(Kind.QUOTE)], recv=(int(g["tr_min"][i]), int(g["tr_max"][i]) + 1))
        q = q[q["kind"] == int(Kind.QUOTE)]
        for side, m in ((_BID, q["side"] == _BID), (_ASK, q["side"] != _BID)):
            k = np.flatnonzero(m)
            if len(k):
                got[side] = min(got.get(side, 2**63 - 1), int(q["ts_recv"][k[0]]))
        if len(got) == 2:
            break
    if not got:
        return None
    return (got.get(_BID, 2**63 - 1), got.get(_ASK, 2**63 - 1))


def signals_in(det_recv: np.ndarray, rec: np.ndarray, a: int, b: int) -> bool:
    """Whether a record (a signal) is decided at a detection-pass row received in [a, b): the window read's step
    there may then place an order (:meth:`DepthFeed.merge` replays all of its depth rows)."""
    d0, d1 = np.searchsorted(det_recv, [a, b], "left")
    return bool(np.any((rec["event_index"] >= d0) & (rec["event_index"] < d1)))

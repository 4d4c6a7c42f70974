"""A span's depth books at its start (``--start``): the checkpoint before it and the rows between, found
(:func:`span_books`) and put back (:func:`put_back`) the same way by every read: the default read at each
window's start, ``--read all`` and the whole load (why the result is the full replay's: docs/how-to/backtest-with-depth.md, "The default
read with depth").

May import: numpy, ``_jit``, ``dataset``, ``types`` and this package's ``errors``.
"""
from __future__ import annotations

import numpy as np

from liqcore.backtest.errors import NotStreamable

__all__ = ["span_books", "put_back"]


def span_books(path, registry, start_ns: int):
    """The depth book of each (venue, symbol) of ``registry`` with depth in the dataset at ``path`` just before
    the span's first receive time ``start_ns`` (``--start``): ``(books, note)``.  ``books``: ``(symbol id,
    BookStart)`` of each symbol with DEPTH rows before it (the checkpoint before ``start_ns`` and the rows
    between), which every read puts back before its first row, as the default read does at a window's start;
    ``note``: None, or which symbols' books are unknown at the span's start and why (no snapshot run before it,
    a gap not yet followed by one, or checkpoints that cannot prove the book: then, until the symbol's next
    snapshot run, the queue ahead of a limit is unknown until a depth row updates its level, and no depth row
    crosses a limit)."""
    from liqcore.dataset.depth import DepthIndex
    from liqcore.types import Flag

    run = int(Flag.SNAPSHOT) | int(Flag.DEPTH_GAP)
    books, unknown = [], []
    for sid, v, s in registry:
        venue = v.name.lower() if hasattr(v, "name") else str(v)
        index = DepthIndex(path, venue, s, sid)
        if not index.files:
            continue
        try:
            got = index.start(int(start_ns), event_times=False)
        except ValueError as exc:
            unknown.append(f"{venue}:{s} ({exc})")
            continue
        if got.empty:
            continue
        known = int(got.m_known)
        k = np.flatnonzero((got.rows["flags"] & run) != 0)
        if len(k):  # the last snapshot or gap row after the checkpoint decides
            known = 0 if int(got.rows["flags"][k[-1]]) & int(Flag.DEPTH_GAP) else 1
        if not known:
            unknown.append(f"{venue}:{s} (no snapshot run since its last gap or its first depth row)")
        books.append((int(sid), got))
    note = None
    if unknown:
        note = ("the depth book unknown at the span's start for " + ", ".join(unknown) + ": until the symbol's "
                "next snapshot run a limit's queue is unknown until a depth row updates its level, and no depth "
                "row crosses a limit")
    return books, note


def put_back(books, depth, st, port, par, ledger, counts) -> None:
    """The depth books of ``books`` (:func:`span_books`) put back in ``depth`` (``liqcore._jit.sim.new_depth``:
    their checkpoint levels on the replay's price grid ``par["grid"]``), then the rows received between each
    checkpoint and the span's start replayed through the simulator while it is flat (``st``, ``port``, ``par``,
    ``ledger``, ``counts``: its state), as the default read puts a window's book back
    (:meth:`DepthFeed.rows`).  :class:`NotStreamable` when a checkpoint cannot stand for the book on that grid."""
    from liqcore._jit import depth as dp
    from liqcore._jit import sim

    tables, meta = depth
    rows = []
    for sid, got in books:
        if sid >= len(par):
            raise NotStreamable("the queue at depth: a depth symbol outside the replay's")
        if dp.load_book(tables, meta, sid, got.bid, got.price, got.qty, np.int64(got.m_run), np.int64(got.m_known),
                        float(par[sid]["grid"])):
            raise NotStreamable("the queue at depth: two depth prices on one tick of the replay's price grid")
        if len(got.rows):
            rows.append(got.rows)
    if rows:
        ev = rows[0] if len(rows) == 1 else np.concatenate(rows)
        ev = np.ascontiguousarray(ev[np.argsort(ev["ts_recv"], kind="stable")])
        none = np.zeros(0, np.int64)
        sim.run_sim(ev, none, none, none, none, none, st, port, par, ledger, counts, sim.NO_CLOCK, depth=depth)

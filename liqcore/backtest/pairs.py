"""The window plan over a selection of several (venue, symbol) pairs (:func:`liqcore.backtest.windows.replay_cells`).

One simulator holds every pair, as in the full replay: one account (its equity sizes each order, its daily and
weekly losses stop new ones), one count of the symbols and positions held, each pair's own orders and positions.  A
pair's rows reach nothing of another pair's: the simulator's steps read and write the row's own symbol, and the
account at an order's placing and a position's close, in time order.  So a step of the plan reads the rows of the
pairs *in play* alone -- those with a live order or position, a record carried, or a signal whose window the step
is in -- and passes over the others' rows, which would only set a flat pair's last price and book: that pair's next
window reads its own from its start (its reference print within ``max-ref-age`` before the signal, and its book in
force, read back from the last time its rows were replayed: :func:`books_before`).

The detector is per pair too: each symbol has its own clock, history and cascades, and only a venue-wide gap
(a row of symbol ``*``) reaches several; a selection with one is read the full replay's way.  The records are
found pair by pair by the detection pass (:func:`detection`: each pair's rare rows and the bulk rows that set its
clock), numbered in the selection's rare rows and put in decision order, as the detector over every row finds them.

May import: numpy, ``types``, ``venues.common`` and this package's ``stream``, ``row_groups`` and ``passage``.
"""
from __future__ import annotations

import numpy as np

from liqcore.backtest.stream import NotStreamable


def register(reg, sel) -> dict:
    """Every pair of the selection ``sel`` registered in ``reg`` as the full replay of several pairs registers them
    (venue code, then symbol: :func:`liqcore.backtest.stream._dataset_chunks`) -> ``(venue name, symbol)`` -> symbol
    id.  :class:`NotStreamable` for a venue-wide partition (symbol ``*``: a gap that reaches every pair of its
    venue) or a venue this release does not know."""
    from liqcore.venues.common import VENUE_BY_NAME, Sink

    pairs = sorted({(p[0], p[1]) for p in sel})
    if any(s == "*" or v not in VENUE_BY_NAME for v, s in pairs):
        raise NotStreamable("a venue-wide partition (symbol *) among several pairs")
    sink = Sink(reg, None)
    code = {v: int(VENUE_BY_NAME[v]) for v, _s in pairs}
    for c, s in sorted((code[v], s) for v, s in pairs):
        sink.sid(c, s)
    return {(v, s): int(reg.get(code[v], s)) for v, s in pairs}


def detection(det_ev: np.ndarray, params, sel, sids: dict, lo: int, hi: int, gap: int, reader, exact):
    """The detection pass of a selection of several pairs: ``exact`` (:func:`~liqcore.backtest.rare_pass._exact_detection`)
    over each pair's rare rows with the reader ``reader(pair's partitions, symbol)`` gives for it, the records' event
    indices put back into ``det_ev`` (the selection's rare rows, receive order) and the records in decision order ->
    ``(records, detector counts summed over the pairs, witnesses, the liquidations whose clock setter a file's clock
    index gave, readers)``; the selection's first and last rows are the caller's (read once for every pair)."""
    from liqcore.types import CASCADE_DTYPE, RecordKind

    recs, counts, n_w, readers, indexed = [], {}, 0, [], 0
    sid_col = det_ev["symbol_id"]
    for (v, s), sid in sorted(sids.items(), key=lambda x: x[1]):
        part = [p for p in sel if p[0] == v and p[1] == s]
        at = np.flatnonzero(sid_col == sid)
        rd = reader(part, s)
        readers.append(rd)
        rec, c, w, _span, clock = exact(rd, det_ev[at], params, part, lo, hi, gap)
        indexed += int(clock.indexed)
        rec = np.asarray(rec, dtype=CASCADE_DTYPE).copy()
        idx = rec["event_index"]
        rec["event_index"] = np.where(idx >= 0, at[np.clip(idx, 0, max(len(at) - 1, 0))] if len(at) else -1, -1)
        recs.append(rec)
        for k, x in c.items():
            counts[k] = counts.get(k, 0) + int(x)
        n_w += int(w)
    rec = np.concatenate(recs) if recs else np.zeros(0, CASCADE_DTYPE)
    # the detector numbers its cascades as it confirms them, over every symbol: each pair's numbers put back in
    # the order of their confirming rows among the selection's (``det_ev``: the full replay's order of them)
    conf = rec[rec["record"] == int(RecordKind.CONFIRMED)]
    order = np.argsort(conf["event_index"], kind="stable")
    new = {(int(conf["symbol_id"][k]), int(conf["cascade_id"][k])): n for n, k in enumerate(order.tolist())}
    rec["cascade_id"] = [new.get((int(x), int(c)), -1) for x, c in zip(rec["symbol_id"], rec["cascade_id"])]
    if np.any(rec["cascade_id"] < 0):
        raise NotStreamable("a cascade record without its confirmation")
    rec = rec[np.lexsort((rec["event_index"], rec["confirm_recv_ns"]))]
    return rec, counts, n_w, indexed, readers


def coverage(det_ev: np.ndarray, params, strategy, sel, sids: dict, groups, plan) -> float:
    """:func:`~liqcore.backtest.windows.plan_coverage` of a selection of several pairs: each pair's signals' first
    steps over its own row groups (``groups(pair's partitions)``: :func:`~liqcore.backtest.row_groups._bulk_groups`),
    the shares weighted by the pairs' bulk rows."""
    rows = cover = 0.0
    for (v, s), sid in sids.items():
        part = [p for p in sel if p[0] == v and p[1] == s]
        g = groups(part)
        n = float(g["rows"].sum()) if len(g["rows"]) else 0.0
        if n:
            cover += n * plan(det_ev[det_ev["symbol_id"] == sid], params, strategy, g)
            rows += n
    return cover / rows if rows else 0.0


def live(cell) -> set:
    """The symbol ids of ``cell`` (a cell, or cells replayed together) with a live order or position, or a record
    carried to a later step."""
    from liqcore.backtest.row_groups import _cells_of

    out: set = set()
    for c in _cells_of(cell):
        st = c.st
        on = st["status"] != 0
        out |= set(np.flatnonzero(on.any(axis=0) if on.ndim == 2 else on).tolist())
    if cell.carry is not None and len(cell.carry[0]):
        out |= set(int(x) for x in np.unique(cell.carry[2]))
    return out


def rare_in(det_ev: np.ndarray, p0: int, p1: int, sids: set):
    """The rare rows ``det_ev[p0:p1]`` of the pairs ``sids`` (those a step reads) and, for each row of
    ``det_ev[p0:p1]``, its place among them (-1: another pair's)."""
    part = det_ev[p0:p1]
    keep = np.isin(part["symbol_id"], np.fromiter(sids, np.int64, len(sids)))
    place = np.where(keep, np.cumsum(keep) - 1, -1)
    return part[keep], place


def books_before(cell, rd, pre: np.ndarray, lo: int, hi: int, book_at: dict, back: int, a: int, sids) -> None:
    """The book in force at ``a`` of each pair ``sids`` whose rows were last replayed before ``a`` (``book_at``: the
    receive time up to which each pair's book is the full replay's), as :func:`~liqcore.backtest.passage.book_before`
    sets one pair's: from its last best bid and ask rows in ``pre`` (the rows read from ``back``), else read back
    from ``back`` in doubling steps down to its own ``book_at``."""
    from liqcore.backtest.passage import book_before

    sym = pre["symbol_id"]
    for s in sorted(sids):
        floor = book_at[s]
        if floor >= a:
            continue
        book_before(cell, rd, pre[sym == s], lo, hi, floor, back, sids={s})

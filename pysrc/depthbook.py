"""Reference twin of ``liqcore/_jit/depth.py``: the L2 depth book as plain dicts.

A DEPTH row sets one level of one side of one symbol's book to its NEW total size (0 removes the
level).  A SNAPSHOT row that does not continue a run (the symbol's previous DEPTH row was not a
snapshot, or was received at another time) empties the symbol's book first; a DEPTH_GAP row empties
it and marks it unknown until the next snapshot run.  Prices are keyed by their tick on the grid.
"""
from __future__ import annotations

import math

from liqcore.types import Flag, Kind, Side

FINE = 1e8


def dkey(price: float, grid: float) -> int:
    return int(math.floor(price * (grid if grid > 0.0 else FINE) + 0.5))


class DepthBook:
    """Books of ``n_symbols`` symbols; ``grid[sid]`` ticks per unit of price (0: none)."""

    def __init__(self, n_symbols: int, grid):
        self.bids = [dict() for _ in range(n_symbols)]
        self.asks = [dict() for _ in range(n_symbols)]
        self.run = [None] * n_symbols
        self.known = [False] * n_symbols
        self.grid = [float(g) for g in grid]

    def apply(self, ev) -> int:
        n = 0
        for e in ev:
            if int(e["kind"]) != Kind.DEPTH:
                continue
            sid = int(e["symbol_id"])
            if not 0 <= sid < len(self.bids):
                continue
            self.apply_row(sid, int(e["ts_recv"]), int(e["side"]), float(e["price"]), float(e["qty"]),
                           int(e["flags"]))
            n += 1
        return n

    def apply_row(self, sid, ts, side, price, qty, flags):
        if flags & Flag.DEPTH_GAP:
            self.bids[sid].clear()
            self.asks[sid].clear()
            self.run[sid] = None
            self.known[sid] = False
            return
        if flags & Flag.SNAPSHOT:
            if self.run[sid] != ts:
                self.bids[sid].clear()
                self.asks[sid].clear()
                self.run[sid] = ts
                self.known[sid] = True
        else:
            self.run[sid] = None
        book = self.bids[sid] if side == Side.BUY else self.asks[sid]
        k = dkey(price, self.grid[sid])
        if qty > 0.0:
            book[k] = qty
        else:
            book.pop(k, None)

    def size(self, sid: int, bid: bool, price: float) -> float:
        return (self.bids if bid else self.asks)[sid].get(dkey(price, self.grid[sid]), 0.0)

    def best(self, sid: int):
        """(best bid key, best ask key); None for an empty side."""
        b, a = self.bids[sid], self.asks[sid]
        return (max(b) if b else None), (min(a) if a else None)


def group_books(rows, group_rows: int, grid: float):
    """Twin of ``liqcore._jit.depth.group_books``: the book of one symbol's DEPTH rows at the start of each
    group of ``group_rows`` rows and after the last one, as a list of ``(levels, run, known, based)``,
    ``levels`` a list of ``(bid, key, qty)``: bids best first, then asks best first; ``run`` None when no
    snapshot run is in progress; ``based`` whether a SNAPSHOT or DEPTH_GAP row came before."""
    book = DepthBook(1, [grid])
    out = []
    seen = False
    n = len(rows)
    n_groups = -(-n // group_rows)
    for c in range(n_groups + 1):
        lv = [(1, k, book.bids[0][k]) for k in sorted(book.bids[0], reverse=True)]
        lv += [(0, k, book.asks[0][k]) for k in sorted(book.asks[0])]
        out.append((lv, book.run[0], book.known[0], seen))
        for e in rows[c * group_rows:(c + 1) * group_rows]:
            if int(e["flags"]) & (Flag.SNAPSHOT | Flag.DEPTH_GAP):
                seen = True
            book.apply_row(0, int(e["ts_recv"]), int(e["side"]), float(e["price"]), float(e["qty"]),
                           int(e["flags"]))
    return out


def load_book(levels, grid: float):
    """Twin of ``liqcore._jit.depth.load_book``: ``(bids, asks)`` dicts keyed on ``grid`` from a checkpoint's
    ``(bid, price, qty)`` levels, or None when two levels of a side fall on one key."""
    sides = ({}, {})
    for b, price, qty in levels:
        d = sides[0 if b else 1]
        k = dkey(price, grid)
        if k in d:
            return None
        if qty > 0.0:
            d[k] = qty
    return sides


def touching(rows, long: bool, grid: float, ke: int, kt: int, has_tp: bool) -> list[bool]:
    """Twin of ``liqcore._jit.depth.touching``: which DEPTH rows (receive order) can change a resting limit entry
    at key ``ke`` or an open position whose take-profit is at key ``kt`` (``long``: the entry a bid, the
    take-profit an ask)."""
    run_times = {int(e["ts_recv"]) for e in rows if int(e["flags"]) != 0}
    out = []
    for e in rows:
        if int(e["ts_recv"]) in run_times:  # a snapshot run or a gap at this receive time: every row of it
            out.append(True)
            continue
        k = dkey(float(e["price"]), grid)
        entry_side = (int(e["side"]) == Side.BUY) == long
        if entry_side:  # the entry's own level; the other side of the take-profit at or through it
            out.append(k == ke or (has_tp and (k >= kt if long else k <= kt)))
        else:  # the other side of the entry at or through it; the take-profit's own level
            out.append((k <= ke if long else k >= ke) or (has_tp and k == kt))
    return out


def pack_rows(cols, a: int, b: int, keep, sid: int, venue: int) -> list[tuple]:
    """Twin of ``liqcore._jit.depth.pack_rows``: rows ``a``..``b`` of a decoded row group's columns (receive times,
    event times, prices, sizes, sides, flags) as DEPTH events, fields in the event contract's order (event
    time, receive time, price, size, symbol id, side, kind, venue, flags); with ``keep`` (a mask of the
    ``b - a`` rows; empty: all) only those it keeps."""
    tr, te, price, qty, side, flags = cols
    return [(int(te[i]), int(tr[i]), float(price[i]), float(qty[i]), sid, int(side[i]), int(Kind.DEPTH), venue,
             int(flags[i])) for i in range(a, b) if not len(keep) or keep[i - a]]

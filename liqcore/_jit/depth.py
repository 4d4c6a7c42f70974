"""The L2 depth book: per symbol, the size displayed at every price level of each side, from DEPTH rows.

One hash table (tick index -> size) per (symbol, side) in a typed list, and a ``meta`` array per symbol
(best bid and ask as tick keys, the receive time of the snapshot run in progress, whether the book is
known).  The rules of a DEPTH row (a level's NEW total size, 0 removes it; SNAPSHOT runs replace the
book; DEPTH_GAP empties it and makes it unknown until the next snapshot run): docs/how-to/backtest-with-depth.md, "Depth".
Twin: ``pysrc/depthbook.py``.  May import: numpy, numba, ``liqcore.types``.
"""
from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.typed import Dict, List

from liqcore.types import Flag, Kind

#: ``meta`` columns: best bid key, best ask key, receive time of the snapshot run in progress (NO_RUN:
#: none), book known (1; 0 before the first row, and after a gap until the next snapshot run)
M_BID = 0
M_ASK = 1
M_RUN = 2
M_KNOWN = 3
M_COLS = 4
#: no level on that side (a key no price reaches)
NO_LEVEL = np.int64(-(2**62))
NO_RUN = np.int64(-(2**62))
#: keys per unit of price when the symbol has no price grid (prices compared to 1e-8)
FINE = 1e8
#: a removed best is looked for this many ticks further before the whole side is scanned
SCAN = 64

_DEPTH = int(Kind.DEPTH)
_SNAP = int(Flag.SNAPSHOT)
_GAP = int(Flag.DEPTH_GAP)
_BID = 3  # Side.BUY: a bid level


@njit(cache=True, nogil=True)
def dkey(price, grid):
    """The level's key: its tick index on the price grid (``grid`` ticks per unit), or the price to
    1e-8 without a grid."""
    if grid > 0.0:
        return np.int64(np.floor(price * grid + 0.5))
    return np.int64(np.floor(price * FINE + 0.5))


@njit(cache=True, nogil=True)
def new_books(n_symbols):
    """Empty books of ``n_symbols`` symbols: (tables, meta); table ``2 x sid`` is the bids of ``sid``,
    ``2 x sid + 1`` its asks."""
    tables = List()
    for _ in range(2 * n_symbols):
        tables.append(Dict.empty(types.int64, types.float64))
    meta = np.empty((n_symbols, M_COLS), dtype=np.int64)
    meta[:, M_BID] = NO_LEVEL
    meta[:, M_ASK] = NO_LEVEL
    meta[:, M_RUN] = NO_RUN
    meta[:, M_KNOWN] = 0
    return tables, meta


@njit(cache=True, nogil=True)
def grow_books(tables, meta, k):
    """``k`` more symbols' empty books: ``tables`` grown in place, the grown ``meta`` returned."""
    for _ in range(2 * k):
        tables.append(Dict.empty(types.int64, types.float64))
    out = np.empty((meta.shape[0] + k, M_COLS), dtype=np.int64)
    out[:meta.shape[0]] = meta
    out[meta.shape[0]:, M_BID] = NO_LEVEL
    out[meta.shape[0]:, M_ASK] = NO_LEVEL
    out[meta.shape[0]:, M_RUN] = NO_RUN
    out[meta.shape[0]:, M_KNOWN] = 0
    return out


@njit(cache=True, nogil=True)
def clear(tables, meta, sid):
    """Both sides of ``sid`` emptied."""
    tables[2 * sid].clear()
    tables[2 * sid + 1].clear()
    meta[sid, M_BID] = NO_LEVEL
    meta[sid, M_ASK] = NO_LEVEL


@njit(cache=True, nogil=True)
def _rescan(d, key, bid):
    """The best level of side table ``d`` after its best ``key`` was removed."""
    step = -1 if bid else 1
    k = key
    for _ in range(SCAN):
        k += step
        if k in d:
            return k
    best = NO_LEVEL
    for k2 in d.keys():
        if best == NO_LEVEL or (bid and k2 > best) or ((not bid) and k2 < best):
            best = k2
    return best


@njit(cache=True, nogil=True)
def set_level(tables, meta, sid, bid, key, qty):
    """The level ``key`` of ``sid``'s bids (``bid``) or asks now shows ``qty`` (0: removed)."""
    col = M_BID if bid else M_ASK
    d = tables[2 * sid + (0 if bid else 1)]
    if qty > 0.0:
        d[key] = qty
        b = meta[sid, col]
        if b == NO_LEVEL or (bid and key > b) or ((not bid) and key < b):
            meta[sid, col] = key
    else:
        if key in d:
            del d[key]
            if key == meta[sid, col]:
                meta[sid, col] = _rescan(d, key, bid)


@njit(cache=True, nogil=True)
def size_at(tables, sid, bid, key):
    """The size displayed at level ``key`` of ``sid``'s bids or asks (0: no level)."""
    return tables[2 * sid + (0 if bid else 1)].get(key, 0.0)


@njit(cache=True, nogil=True)
def apply_row(tables, meta, sid, ts, side, price, qty, flags, grid):
    """One DEPTH row of symbol ``sid`` received at ``ts``.  Returns the level's key (NO_LEVEL for a gap).
    A SNAPSHOT row that does not continue a run (the symbol's previous DEPTH row was no snapshot, or was
    received at another time) empties the book first; a DEPTH_GAP row empties it and marks it unknown
    until the next snapshot run."""
    if flags & _GAP:
        clear(tables, meta, sid)
        meta[sid, M_RUN] = NO_RUN
        meta[sid, M_KNOWN] = 0
        return NO_LEVEL
    if flags & _SNAP:
        if meta[sid, M_RUN] != ts:
            clear(tables, meta, sid)
            meta[sid, M_RUN] = ts
            meta[sid, M_KNOWN] = 1
    else:
        meta[sid, M_RUN] = NO_RUN
    key = dkey(price, grid)
    set_level(tables, meta, sid, side == _BID, key, qty)
    return key


@njit(cache=True, nogil=True)
def apply_rows(tables, meta, ev, grid):
    """Every DEPTH row of ``ev`` (EVENT_DTYPE, receive order) applied, other kinds skipped; ``grid``:
    ticks per unit, per symbol id (0: none).  Rows of a symbol id outside the books are skipped.
    Returns the number of rows applied."""
    n = 0
    nsym = meta.shape[0]
    for i in range(ev.shape[0]):
        e = ev[i]
        if e.kind != _DEPTH:
            continue
        sid = e.symbol_id
        if sid < 0 or sid >= nsym:
            continue
        apply_row(tables, meta, sid, e.ts_recv, e.side, e.price, e.qty, e.flags, grid[sid])
        n += 1
    return n


def touching(dr, long, grid, ke, kt, has_tp):
    """The mask of the DEPTH rows ``dr`` (receive order) that can change a resting limit entry at key ``ke``
    or an open position (``long``: a buy entry, a sell take-profit) whose take-profit is at key ``kt``
    (``has_tp`` 0: none): every row of a receive time that holds a snapshot-run or gap row; at the entry's key
    its own side (its queue) and the other side at or through it (a crossing fills it); at the take-profit's
    key its own side and the other side at or through it.  (``backtest.depth_windows``: the others only build
    the book.)  The rows' columns: :func:`touching_cols`.  Twin: ``pysrc/depthbook.touching``."""
    return touching_cols(dr["ts_recv"], dr["price"], dr["side"], dr["flags"], long, grid, ke, kt, has_tp)


@njit(cache=True, nogil=True)
def touching_cols(tr, price, side, flags, long, grid, ke, kt, has_tp):
    """:func:`touching` of DEPTH rows given as their receive times, prices, sides and flags (one column each,
    receive order): what the default read filters a decoded row group's columns with before any row is built."""
    n = tr.shape[0]
    out = np.zeros(n, dtype=np.bool_)
    i = 0
    while i < n:  # the rows of one receive time: all of them when one is a snapshot-run or gap row
        j = i
        run = False
        while j < n and tr[j] == tr[i]:
            if flags[j] != 0:
                run = True
            j += 1
        for r in range(i, j):
            if run:
                out[r] = True
                continue
            k = dkey(price[r], grid)
            own = (side[r] == _BID) == long  # on the entry's side
            if own:
                if k == ke:
                    out[r] = True
                elif has_tp != 0 and ((k >= kt) if long else (k <= kt)):
                    out[r] = True
            else:
                if (k <= ke) if long else (k >= ke):
                    out[r] = True
                elif has_tp != 0 and k == kt:
                    out[r] = True
        i = j
    return out


@njit(cache=True, nogil=True)
def pack_rows(out, o, tr, te, price, qty, side, flags, a, b, keep, sid, venue):
    """The DEPTH rows ``a``..``b`` of a decoded row group's columns (receive and event times, price, size, side,
    flags) written as EVENT_DTYPE rows into ``out`` from row ``o`` on, each with symbol id ``sid`` and venue
    code ``venue``; with ``keep`` (a mask of the ``b - a`` rows; empty: all of them) only those it keeps.
    Returns the row after the last written.  (Every field of each row is written.)"""
    use = keep.shape[0] > 0
    for i in range(a, b):
        if use and not keep[i - a]:
            continue
        r = out[o]
        r.ts_event = te[i]
        r.ts_recv = tr[i]
        r.price = price[i]
        r.qty = qty[i]
        r.symbol_id = sid
        r.side = side[i]
        r.kind = _DEPTH
        r.venue = venue
        r.flags = flags[i]
        o += 1
    return o


@njit(cache=True, nogil=True)
def levels(tables, sid, bid):
    """(keys, sizes) of ``sid``'s bids or asks, best first."""
    d = tables[2 * sid + (0 if bid else 1)]
    keys = np.empty(len(d), dtype=np.int64)
    sizes = np.empty(len(d), dtype=np.float64)
    i = 0
    for k, v in d.items():
        keys[i] = k
        sizes[i] = v
        i += 1
    order = np.argsort(keys)
    if bid:
        order = order[::-1]
    return keys[order], sizes[order]


@njit(cache=True, nogil=True)
def _grow(a, n):
    out = np.empty(max(2 * a.shape[0], n), dtype=a.dtype)
    out[:a.shape[0]] = a
    return out


@njit(cache=True, nogil=True)
def group_books(rows, group_rows, grid):
    """The book of one symbol's DEPTH rows ``rows`` (EVENT_DTYPE, receive order, every row applied as
    :func:`apply_row` does) at the start of each group of ``group_rows`` rows and after the last row:
    checkpoint ``c`` is the book after rows ``[0, c x group_rows)``.  Returns ``(offsets, bid, key, qty,
    m_run, m_known, based)``: the levels of checkpoint ``c`` are ``[offsets[c], offsets[c + 1])`` of
    ``bid`` (1 a bid level, 0 an ask level), ``key`` (:func:`dkey` on ``grid``) and ``qty``, bids best
    first then asks best first; ``m_run`` and ``m_known`` the checkpoint's ``meta``; ``based`` 1 once a
    SNAPSHOT or DEPTH_GAP row came before it (the book no longer depends on rows before ``rows``)."""
    n = rows.shape[0]
    n_groups = (n + group_rows - 1) // group_rows
    tables, meta = new_books(1)
    offsets = np.zeros(n_groups + 2, dtype=np.int64)
    m_run = np.empty(n_groups + 1, dtype=np.int64)
    m_known = np.empty(n_groups + 1, dtype=np.int64)
    based = np.zeros(n_groups + 1, dtype=np.int64)
    bid = np.empty(1024, dtype=np.int8)
    key = np.empty(1024, dtype=np.int64)
    qty = np.empty(1024, dtype=np.float64)
    seen = 0
    m = 0
    for c in range(n_groups + 1):
        m_run[c] = meta[0, M_RUN]
        m_known[c] = meta[0, M_KNOWN]
        based[c] = seen
        for side in range(2):
            kk, ss = levels(tables, 0, side == 0)
            if m + kk.shape[0] > key.shape[0]:
                bid = _grow(bid, m + kk.shape[0])
                key = _grow(key, m + kk.shape[0])
                qty = _grow(qty, m + kk.shape[0])
            for i in range(kk.shape[0]):
                bid[m] = 1 if side == 0 else 0
                key[m] = kk[i]
                qty[m] = ss[i]
                m += 1
        offsets[c + 1] = m
        lo = c * group_rows
        hi = min(n, lo + group_rows)
        for i in range(lo, hi):
            e = rows[i]
            if e.flags & (_SNAP | _GAP):
                seen = 1
            apply_row(tables, meta, 0, e.ts_recv, e.side, e.price, e.qty, e.flags, grid)
    return offsets[:n_groups + 2], bid[:m], key[:m], qty[:m], m_run, m_known, based


@njit(cache=True, nogil=True)
def load_book(tables, meta, sid, bid, price, qty, m_run, m_known, grid):
    """``sid``'s book replaced by the levels ``bid`` (1 a bid), ``price``, ``qty`` (a checkpoint of
    :func:`group_books`), with its ``meta`` run and known.  Returns 0, or 1 when two levels of a side
    fall on one key of ``grid`` (the checkpoint cannot stand for the book built on that grid)."""
    clear(tables, meta, sid)
    meta[sid, M_RUN] = m_run
    meta[sid, M_KNOWN] = m_known
    for i in range(price.shape[0]):
        b = bid[i] != 0
        k = dkey(price[i], grid)
        if k in tables[2 * sid + (0 if b else 1)]:
            return 1
        set_level(tables, meta, sid, b, k, qty[i])
    return 0

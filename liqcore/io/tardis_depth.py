"""Readers of tardis.dev's L2 depth CSV files as DEPTH rows: ``tardis-book-l2`` (``incremental_book_L2``)
and ``tardis-book-depth`` (``book_snapshot_25`` / ``book_snapshot_5``, each row a whole snapshot).

A file is told by its header and its name (``..._incremental_book_L2_...``, ``..._book_snapshot_25_...``).
Rows keep the file's (receive) order; a DEPTH_GAP row goes before each snapshot run that does not start
the symbol's rows (a reconnect, or the next whole snapshot) and before updates that come before the
symbol's first snapshot (the book they change is not known).  Bad rows are counted and dropped.  The rows:
docs/data.md, "The event contract" and "tardis.dev depth files".

May import: numpy, pyarrow (inside functions), ``types`` and this package's ``base`` and ``tardis``.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from liqcore.io.base import TIER_MARKED, Reader
from liqcore.types import EVENT_DTYPE, Flag, Kind, Side

_COMMON = ("exchange", "symbol", "timestamp", "local_timestamp")
_L2 = _COMMON + ("is_snapshot", "side", "price", "amount")
_L2_HEAD = b"exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"
_L2_NAME = re.compile(r"incremental_book_l2")
_SNAP_NAME = re.compile(r"book_snapshot_(\d+)")
_DEPTH, _SNAP, _GAP = int(Kind.DEPTH), int(Flag.SNAPSHOT), int(Flag.DEPTH_GAP)
_BID, _ASK = int(Side.BUY), int(Side.SELL)


def _first_line(head: bytes) -> bytes:
    first = head.split(b"\n", 1)[0].strip()
    return first[3:] if first.startswith(b"\xef\xbb\xbf") else first


def _sniff_l2(path, head: bytes) -> bool:
    if not _first_line(head).startswith(_L2_HEAD):
        return False
    if not _L2_NAME.search(Path(str(path)).name.lower()):
        raise ValueError(f"format: {path} has the header of a tardis incremental_book_L2 file but its name does not "
                         "say incremental_book_L2: name it as tardis does (<exchange>_incremental_book_L2_<date>_"
                         "<symbol>.csv.gz) or use --format tardis-book-l2")
    return True


def _sniff_snapshots(path, head: bytes) -> bool:
    from liqcore.io.tardis import _sniff_book

    return bool(_sniff_book(_first_line(head)) and _SNAP_NAME.search(Path(str(path)).name.lower()))


def _levels(header: list) -> int:
    n = 0
    while f"asks[{n}].price" in header and f"bids[{n}].price" in header:
        n += 1
    return n


def _rows(ts, recv, price, qty, sid, side, venue, flags) -> np.ndarray:
    out = np.zeros(len(ts), EVENT_DTYPE)
    out["ts_event"], out["ts_recv"], out["price"], out["qty"] = ts, recv, price, qty
    out["symbol_id"], out["side"], out["venue"], out["flags"] = sid, side, venue, flags
    out["kind"] = _DEPTH
    return out


def _with_gaps(rows: np.ndarray, state: dict) -> np.ndarray:
    """``rows`` (one batch, file order) with a DEPTH_GAP row before each snapshot run that does not start its
    symbol's rows (a run starts where a snapshot row follows a delta, or a snapshot row of another receive
    time); ``state``: symbol id -> (snapshot, receive time) of its last row, carried across batches."""
    if not len(rows):
        return rows
    snap = (rows["flags"] & _SNAP) != 0
    sid, recv = rows["symbol_id"].astype(np.int64), rows["ts_recv"]
    order = np.argsort(sid, kind="stable")
    s_sid, s_snap, s_recv = sid[order], snap[order], recv[order]
    first = np.r_[True, s_sid[1:] != s_sid[:-1]]
    prev_snap = np.r_[False, s_snap[:-1]]
    prev_recv = np.r_[0, s_recv[:-1]]
    starts = s_snap & (~prev_snap | (prev_recv != s_recv))
    for i in np.flatnonzero(first).tolist():  # the symbol's last row of the batches before
        had = state.get(int(s_sid[i]))
        if had is None:  # the symbol's first row: a gap before it unless it is a snapshot (updates the
            starts[i] = not s_snap[i]  # file holds before its first snapshot apply to a book not known)
        else:
            starts[i] = s_snap[i] and (not had[0] or had[1] != s_recv[i])
    last = np.r_[s_sid[1:] != s_sid[:-1], True]
    for i in np.flatnonzero(last).tolist():
        state[int(s_sid[i])] = (bool(s_snap[i]), int(s_recv[i]))
    at = np.sort(order[starts])
    if not len(at):
        return rows
    gap = rows[at].copy()
    gap["price"] = 0.0
    gap["qty"] = 0.0
    gap["side"] = int(Side.NONE)
    gap["flags"] = _GAP
    return np.insert(rows, at, gap)


def _l2(c, batch) -> np.ndarray:
    """One DEPTH row per CSV row: side bid -> BUY, ask -> SELL; qty = the level's new size (0: removed)."""
    bad, venue, sid, ts, recv, scale, inverse = c.common(batch)
    s_idx, s_vals = c.codes(batch, "side")
    table = {b"bid": _BID, b"buy": _BID, b"ask": _ASK, b"sell": _ASK}
    codes = np.array([table.get(v.lower(), 0) for v in s_vals] + [0], dtype=np.int64)
    side = codes[s_idx]
    c.reject(bad, s_idx < 0, "missing_field", "side")
    c.reject(bad, side == 0, "bad_side", "side", lambda i: s_vals[s_idx[i]].decode("utf-8", "replace")[:20])
    k_idx, k_vals = c.codes(batch, "is_snapshot")
    ktab = np.array([{b"true": 1, b"false": 0, b"1": 1, b"0": 0}.get(v.lower(), -1) for v in k_vals] + [-1])
    snap = ktab[k_idx]
    c.reject(bad, snap < 0, "missing_field", "is_snapshot")
    price = c.positive(batch, "price", bad)
    qty = _sizes(c, batch, "amount", bad)
    c.reject(bad, c.inst_bad, "unknown_instrument", "symbol", c.inst_name)
    c._strict()
    from liqcore._libs.reading import trade_rows
    from liqcore.io.tardis import _sizes_as_read

    if not _sizes_as_read(inverse, scale):  # OKX contracts x contract value, Bybit inverse USD / price
        with np.errstate(all="ignore"):
            qty = np.where(inverse, qty * scale / price, qty * scale)
    keep = ~bad if bad.any() else None  # None: every row kept (no gather)
    rows = trade_rows(ts, recv, price, qty, sid, side, venue, _DEPTH, 0, keep)  # (one compiled pass)
    is_snap = snap == 1 if keep is None else snap[keep] == 1
    if is_snap.any():
        rows["flags"][np.flatnonzero(is_snap)] = _SNAP
    return _with_gaps(rows, c.state)


def _sizes(c, batch, name, bad) -> np.ndarray:
    """A size column: finite and >= 0 (0: the level removed); a negative or missing one costs its row."""
    v, null, bad_text = c.floats(batch, name)
    if bad_text is None and len(v) and not null.any() and v.min() >= 0 and v.max() < np.inf:
        return v  # every cell a finite number >= 0 (by min / max: a NaN fails both): nothing to reject
    if bad_text is not None:
        c.reject(bad, bad_text, "non_numeric", name)
    c.reject(bad, null, "missing_field", name)
    c.reject(bad, ~null & ~np.isfinite(v), "non_finite", name)
    c.reject(bad, v < 0, "non_positive", name, lambda i: repr(float(v[i])))
    return np.where(np.isfinite(v), v, 0.0)


def _snapshots(c, batch) -> np.ndarray:
    """Each CSV row (a whole snapshot of N levels a side) -> a SNAPSHOT run: its bids best first, then its
    asks, levels with an empty or zero size left out; a row whose level cells are bad costs the row."""
    bad, venue, sid, ts, recv, scale, inverse = c.common(batch)
    n_lv = _levels(batch.schema.names)
    n = batch.num_rows
    prices, sizes, sides = [], [], []
    for side_name, code in (("bids", _BID), ("asks", _ASK)):
        for j in range(n_lv):
            p, p_null, p_text = c.floats(batch, f"{side_name}[{j}].price")
            q, q_null, q_text = c.floats(batch, f"{side_name}[{j}].amount")
            for t, nm in ((p_text, f"{side_name}[{j}].price"), (q_text, f"{side_name}[{j}].amount")):
                if t is not None:
                    c.reject(bad, t, "non_numeric", nm)
            present = ~p_null & ~q_null & (np.nan_to_num(q, nan=0.0) != 0)
            c.reject(bad, present & ~(np.isfinite(p) & (p > 0)), "non_positive", f"{side_name}[{j}].price",
                     lambda i, p=p: repr(float(p[i])))
            c.reject(bad, present & ~(np.isfinite(q) & (q > 0)), "non_positive", f"{side_name}[{j}].amount",
                     lambda i, q=q: repr(float(q[i])))
            prices.append(p), sizes.append(q), sides.append(np.where(present, code, 0))
    c.reject(bad, c.inst_bad, "unknown_instrument", "symbol", c.inst_name)
    c._strict()
    if not n or not n_lv:
        return np.zeros(0, EVENT_DTYPE)
    P = np.stack(prices, axis=1)  # (rows, levels): bids 0..N-1, then asks 0..N-1
    Q = np.stack(sizes, axis=1)
    S = np.stack(sides, axis=1)
    S[bad] = 0
    r, lv = np.nonzero(S)  # row-major: each snapshot's levels together, in column order
    with np.errstate(all="ignore"):
        q = np.where(inverse[r], Q[r, lv] * scale[r] / P[r, lv], Q[r, lv] * scale[r])
    rows = _rows(ts[r], recv[r], P[r, lv], q, sid[r], S[r, lv], venue[r], np.full(len(r), _SNAP))
    # every snapshot is a run of its own: a gap row before each (but a symbol's first), so that two whole
    # snapshots in a row are two runs
    if len(rows):
        head = np.r_[True, r[1:] != r[:-1]]
        starts = np.flatnonzero(head)
        first_of = {}
        for i in starts.tolist():
            first_of.setdefault(int(rows["symbol_id"][i]), i)
        at = np.array([i for i in starts.tolist()
                       if not (first_of[int(rows["symbol_id"][i])] == i and int(rows["symbol_id"][i]) not in c.state)],
                      dtype=np.int64)
        for s in first_of:
            c.state[s] = True
        if len(at):
            gap = rows[at].copy()
            gap["price"], gap["qty"], gap["side"], gap["flags"] = 0.0, 0.0, int(Side.NONE), _GAP
            rows = np.insert(rows, at, gap)
    return rows


def _load_l2(path, st) -> np.ndarray:
    from liqcore.io.tardis import _KINDS, _load

    _KINDS.setdefault("tardis-book-l2", (_L2, _l2))
    return _load("tardis-book-l2", Path(path), st)


def _load_snapshots(path, st) -> np.ndarray:
    from liqcore.venues.files import read_head
    from liqcore.io.tardis import _KINDS, _header, _load

    header = _header(read_head(path, 1 << 16))  # (a file cut short: what precedes the cut)
    n = _levels(header)
    cols = _COMMON + tuple(f"{s}[{j}].{f}" for s in ("asks", "bids") for j in range(n) for f in ("price", "amount"))
    _KINDS[f"tardis-book-depth/{n}"] = (cols, _snapshots)
    return _load(f"tardis-book-depth/{n}", Path(path), st)


_SUFFIXES = (".csv",)

L2 = Reader(
    "tardis-book-l2", "tardis.dev incremental_book_L2 CSV: exchange,symbol,timestamp,local_timestamp,is_snapshot,"
    "side,price,amount as DEPTH rows (amount = the level's new size, 0 removes it; is_snapshot runs replace the book)",
    "path", _load_l2, tier=TIER_MARKED, suffixes=_SUFFIXES, sniff_file=_sniff_l2)
SNAPSHOTS = Reader(
    "tardis-book-depth", "tardis.dev book_snapshot_25 / book_snapshot_5 CSV (told by the name): each row a "
    "SNAPSHOT run of DEPTH rows", "path", _load_snapshots, tier=TIER_MARKED, suffixes=_SUFFIXES,
    sniff_file=_sniff_snapshots)

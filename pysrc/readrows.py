"""Reference twin of ``liqcore._libs.reading``: a CSV reader's batch columns -> ``EVENT_DTYPE`` rows.

The numpy code the tardis reader (:mod:`liqcore.io.tardis`) ran before the kernel, kept as the
specification the property tests hold the kernel to, byte for byte:

* :func:`quote_rows`: per kept row (``keep``: a row mask, None for every row), two QUOTE rows, the bid
  (side BUY) then the ask (side SELL), with the row's times, symbol and venue, flags 0.  Each size in base
  units: with ``inverse`` / ``scale`` None as read; else for a row of a Bybit inverse contract
  (``inverse[i]``) the size over the price where the size is > 0 (0 otherwise: an empty side), for any
  other row the size times its contract value ``scale[i]``.
* :func:`trade_rows`: per kept row one row of ``kind`` (price and size as given), flags ``sampled`` on
  the rows of a venue other than Bybit (code 1), 0 on Bybit's.
* :func:`partition_rows`: events -> a dataset partition's rows (``out``: ``liqcore.dataset.write._ROW_DTYPE``),
  the columns of the file (times, kind, side, price, size, flags) with each event's trade id (``trade_ids``
  None: 0), and the price 0 on an empty side of the book (a QUOTE of size 0; the numpy code of
  ``liqcore.dataset.write._rows_of`` before the kernel).
* :func:`file_columns`: a block of a partition's rows -> the columns of a partition file, each a contiguous
  array; with ``pairs`` each top-of-book update as one row: a row ``i`` that is a bid (side BUY) whose row
  ``i + 1`` is an ask (side SELL) with the same event and receive times and flags, both without a trade id,
  the ask's price a number, is one row, the bid's, with ``ask_price`` / ``ask_qty`` the ask's; every other
  row is itself with NaN there (the numpy code the dataset writer used before the kernel).
* :func:`row_problems`: the rule breaks of a partition's rows (``liqcore.dataset.rows.row_problems``' rules,
  counted with numpy as that module did before the kernel).
* :func:`natural_pairs`: for quote rows laid out as :func:`quote_rows` writes them -- an even number of
  rows, at least 2, every row 2i a QUOTE bid (side BUY) and row 2i + 1 a QUOTE ask (side SELL) with the same
  symbol, event and receive times --, the mask of the crossed updates (both sizes > 0 and the bid price at
  or above the ask's; NaN compares false), one per pair; None for any other layout (the numpy code of
  ``liqcore.validate._natural_pairs``, judged in one block).
"""
from __future__ import annotations

import numpy as np

from liqcore.types import EVENT_DTYPE, Kind, Side


def quote_rows(ts, recv, bid_price, bid_qty, ask_price, ask_qty, sid, venue, keep=None, inverse=None, scale=None):
    if (inverse is None) != (scale is None):
        raise ValueError("readrows: inverse and scale are given together")
    n = len(ts) if keep is None else int(np.count_nonzero(keep))
    out = np.zeros(2 * n, dtype=EVENT_DTYPE)
    with np.errstate(all="ignore"):
        for k, (p, q, side) in enumerate(((bid_price, bid_qty, Side.BUY), (ask_price, ask_qty, Side.SELL))):
            p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
            qty = q if inverse is None else np.where(inverse, np.where(q > 0, q / p, 0.0), q * scale)
            o = out[k::2]
            for name, col in (("ts_event", ts), ("ts_recv", recv), ("price", p), ("qty", qty), ("symbol_id", sid),
                              ("venue", venue)):
                col = np.asarray(col)
                o[name] = col if keep is None else col[keep]
            o["side"] = int(side)
            o["kind"] = int(Kind.QUOTE)
    return out


def trade_rows(ts, recv, price, qty, sid, side, venue, kind, sampled=0, keep=None):
    cols = [np.asarray(a) for a in (ts, recv, price, qty, sid, side, venue)]
    if keep is not None:
        cols = [a[keep] for a in cols]
    ts, recv, price, qty, sid, side, venue = cols
    out = np.empty(len(ts), dtype=EVENT_DTYPE)
    out["ts_event"] = ts
    out["ts_recv"] = recv
    out["price"] = price
    out["qty"] = qty
    out["symbol_id"] = sid
    out["side"] = side
    out["kind"] = int(kind)
    out["venue"] = venue
    out["flags"] = np.where(venue != 1, sampled, 0) if sampled else 0
    return out


#: a partition row's columns and the event field each is taken from (None: the trade id)
_ROW_FROM = (("ts_event_ns", "ts_event"), ("ts_recv_ns", "ts_recv"), ("kind", "kind"), ("side", "side"),
             ("price", "price"), ("qty", "qty"), ("flags", "flags"), ("trade_id", None))


def partition_rows(events, trade_ids, out):
    if events.dtype != EVENT_DTYPE:
        raise ValueError("readrows: events are not EVENT_DTYPE rows")
    for c, f in _ROW_FROM:
        if f is not None:
            out[c] = events[f]
    out["trade_id"] = trade_ids if trade_ids is not None else 0
    empty = np.flatnonzero((out["qty"] == 0) & (out["kind"] == int(Kind.QUOTE)))
    if len(empty):
        out["price"][empty] = 0.0
    return out


def file_columns(rows, pairs):
    names = [c for c, _f in _ROW_FROM]
    if rows.dtype.names != tuple(names):
        raise ValueError(f"readrows: not a partition's rows ({rows.dtype})")
    if not pairs:
        return {c: np.ascontiguousarray(rows[c]) for c in names}
    q = rows
    first = np.zeros(0, np.int64)
    if len(q) >= 2:
        a, b = q[:-1], q[1:]
        c = ((a["side"] == int(Side.BUY)) & (b["side"] == int(Side.SELL)) & (a["ts_event_ns"] == b["ts_event_ns"])
             & (a["ts_recv_ns"] == b["ts_recv_ns"]) & (a["flags"] == b["flags"]) & (a["trade_id"] == 0)
             & (b["trade_id"] == 0) & ~np.isnan(b["price"]))
        first = np.flatnonzero(c)  # (two never overlap: a pair's second row is an ask, a pair's first a bid)
    keep = np.ones(len(q), dtype=bool)
    keep[first + 1] = False
    ap = np.full(len(q), np.nan)
    aq = np.full(len(q), np.nan)
    ap[first] = q["price"][first + 1]
    aq[first] = q["qty"][first + 1]
    kept = q[keep]
    out = {c: np.ascontiguousarray(kept[c]) for c in names}
    out["ask_price"], out["ask_qty"] = ap[keep], aq[keep]
    return out


def natural_pairs(events):
    if events.dtype != EVENT_DTYPE:
        raise ValueError("readrows: events are not EVENT_DTYPE rows")
    n = len(events)
    if n < 2 or n % 2:
        return None
    bid, ask = events[0::2], events[1::2]
    if not (np.all(events["kind"] == int(Kind.QUOTE)) and np.all(bid["side"] == int(Side.BUY))
            and np.all(ask["side"] == int(Side.SELL))):
        return None
    for f in ("symbol_id", "ts_event", "ts_recv"):
        if not bool(np.array_equal(bid[f], ask[f])):
            return None
    with np.errstate(invalid="ignore"):
        return (bid["qty"] > 0) & (ask["qty"] > 0) & (bid["price"] >= ask["price"])


def row_problems(rows, kind_max, venue_wide):
    """The rule breaks of a partition's rows, counted with numpy (the code of
    ``liqcore.dataset.checked._row_problems`` before the kernel): per row, a time <= 0; on a venue-wide
    partition a row that is not a gap; a trade or quote that breaks its kind's rules; any other row that breaks
    the general rules (gathered)."""
    from liqcore.dataset.write import _ROW_DTYPE

    if rows.dtype != _ROW_DTYPE:
        raise ValueError(f"readrows: not a partition's rows ({rows.dtype})")
    kind = rows["kind"]
    trade = kind == int(Kind.TRADE)
    with np.errstate(invalid="ignore"):
        price, qty, side = rows["price"], rows["qty"], rows["side"]
        ok = ((side == 3) | (side == 4)) & (price > 0) & (price < np.inf) & (qty > 0) & (qty < np.inf)
        n = int(np.count_nonzero(trade & ~ok)) + int(np.count_nonzero(rows["ts_event_ns"] <= 0))
        quote = kind == int(Kind.QUOTE)
        if quote.any():
            okq = ((side == 3) | (side == 4)) & (qty >= 0) & (qty < np.inf) & (
                ((qty > 0) & (price > 0) & (price < np.inf)) | ((qty == 0) & (price == 0)))
            n += int(np.count_nonzero(quote & ~okq))
            trade |= quote
        idx = np.flatnonzero(~trade)
        if venue_wide:  # venue-wide rows: gaps only
            n += int(np.count_nonzero(kind != int(Kind.GAP)))
        if not len(idx):
            return n
        k, sd = kind[idx].astype(np.int64), side[idx].astype(np.int64)
        p, q = price[idx], qty[idx]
        liq = k == int(Kind.LIQUIDATION)
        bad = (k < 1) | (k > int(kind_max)) | (sd < 0) | (sd > 4)
        bad |= liq & ~((sd == 1) | (sd == 2))
        bad |= liq & ~(np.isfinite(p) & (p > 0) & np.isfinite(q) & (q > 0))
        bad |= ~liq & (np.isinf(p) | ~np.isfinite(q))
    return n + int(np.count_nonzero(bad))

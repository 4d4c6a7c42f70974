"""The ``book`` feature family: top of book (quote rows: best bid and best ask with their displayed
sizes), point in time.

The details: docs/reference/features.md, "The `book` family".

May import: ``numpy``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["book_stream", "book_values", "NAMES", "COLUMNS", "QUOTE", "BID", "ASK"]

QUOTE, BID, ASK = 7, 3, 4  # Kind.QUOTE, Side.BUY, Side.SELL
NAMES = ("spread", "spread_bps", "bid_size", "ask_size")
#: the book after each quote row: best bid price and size, best ask price and size (NaN: not yet known)
COLUMNS = ("bp", "bq", "ap", "aq")


def good_quote(side, price, qty):
    """Mask (or bool) of usable quote rows: a book side, a finite size >= 0, a finite positive price
    when the side is not empty."""
    with np.errstate(invalid="ignore"):
        ok = ((side == BID) | (side == ASK)) & np.isfinite(qty) & (qty >= 0)
        return ok & ((qty == 0) | (np.isfinite(price) & (price > 0)))


def _ffill(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``values`` where ``mask``, else the last earlier one where ``mask`` (NaN before the first)."""
    idx = np.where(mask, np.arange(len(mask)), -1)
    np.maximum.accumulate(idx, out=idx)
    out = np.where(idx >= 0, values[np.maximum(idx, 0)], np.nan)
    return out


def book_stream(store, inst, stream_cls):
    """The instrument's book stream (built once from the store's events, receive order, as a
    ``stream_cls``: the store's stream class)."""
    got = getattr(inst, "book", None)
    if got is not None:
        return got
    idx = store._by_sid.get(int(inst.key), np.zeros(0, np.int64))
    ev = store.events
    q = idx[ev["kind"][idx] == QUOTE]
    side, price, qty = ev["side"][q], ev["price"][q], ev["qty"][q]
    ok = good_quote(side, price, qty)  # (the rows left out: counted in ``store.dropped`` when it was built)
    q, side, price, qty = q[ok], side[ok], np.where(qty[ok] > 0, price[ok], 0.0), qty[ok]
    is_bid = side == BID
    inst.book = stream_cls(ev["ts_recv"][q], bp=_ffill(price, is_bid), bq=_ffill(qty, is_bid),
                        ap=_ffill(price, ~is_bid), aq=_ffill(qty, ~is_bid))
    return inst.book


def book_values(store, inst, nm: str, W: int, t: np.ndarray, *, stream_cls, empty: int):
    """(values, reasons) of ``book.<nm>@W`` for one instrument at ``t`` (``store``: the
    :class:`~liqcore.features.store.FeatureStore`, whose ``_mask`` gives the common null reasons;
    ``empty``: its reason code for an undefined value).  Values with a reason are NaN."""
    if inst.components:
        raise ValueError(f"feature book.{nm}: top-of-book features are per venue (no 'book/all')")
    s = book_stream(store, inst, stream_cls)
    r = store._mask(inst, t, W, s.first, 0)
    if not len(s):
        return np.full(len(t), np.nan), r.astype(np.uint8)
    i = np.maximum(np.searchsorted(s.ts, t, side="right") - 1, 0)
    c = s.cols
    bp, bq, ap, aq = c["bp"][i], c["bq"][i], c["ap"][i], c["aq"][i]
    with np.errstate(invalid="ignore", divide="ignore"):
        if nm == "bid_size":
            v = bq
        elif nm == "ask_size":
            v = aq
        else:
            both = (bq > 0) & (aq > 0)
            spread = np.where(both, ap - bp, np.nan)
            v = spread if nm == "spread" else spread / ((ap + bp) / 2.0) * 1e4
    r[(r == 0) & np.isnan(v)] = empty
    v = np.where(r == 0, v, np.nan)
    return v, r.astype(np.uint8)

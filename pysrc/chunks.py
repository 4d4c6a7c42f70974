"""Twin of ``liqcore/_jit/chunks.py``: one read's plan and its chunk's one pass, written row by row for
reading.  Same arguments, same outputs (arrays filled in place, ``stat`` by the kernel's ``S_*`` slots)."""
from __future__ import annotations

import math

import numpy as np

from liqcore.types import Flag, Kind

S_ROWS, S_KEPT, S_LIQ, S_GRID, S_DELAY, S_N_REC, S_N_EST, S_CHEAPEST, S_BAD_TRADE, S_BAD_FUNDING, S_MAX_SID = range(11)


def recv_plan(carry, raw, margin, whole, fill_ns, ts, counts):
    """With ``fill_ns`` >= 0, each row of ``raw`` without a receive time (-1) gets ``ts_event + fill_ns``
    and the RECV_ESTIMATED flag (in place); then (earliest receive time of ``raw``, cut = latest event
    time of ``raw`` - ``margin``, whether the receive times of ``carry`` then ``raw`` (written to ``ts``)
    are in order, ``k``: the rows received before the cut, or every row when ``whole``); ``counts``:
    among those rows, the trade prints and funding events, the liquidations, the rows with a recorded
    receive time."""
    if fill_ns >= 0:
        for r in raw:
            if int(r["ts_recv"]) == -1:
                r["ts_recv"] = int(r["ts_event"]) + int(fill_ns)
                r["flags"] = int(r["flags"]) | int(Flag.RECV_ESTIMATED)
    rows = list(carry) + list(raw)
    times = [int(r["ts_recv"]) for r in rows]
    ts[:] = times
    lo = min(int(r["ts_recv"]) for r in raw)
    cut = max(int(r["ts_event"]) for r in raw) - int(margin)
    ordered = all(b >= a for a, b in zip(times, times[1:]))
    before = [r for r in rows if whole or int(r["ts_recv"]) < cut]
    counts[0] = sum(1 for r in before if int(r["kind"]) in (int(Kind.TRADE), int(Kind.FUNDING)))
    counts[1] = sum(1 for r in before if int(r["kind"]) == int(Kind.LIQUIDATION))
    counts[2] = sum(1 for r in before if not int(r["flags"]) & int(Flag.RECV_ESTIMATED))
    counts[3] = sum(1 for r in before if _bad(int(r["kind"]), float(r["price"])))
    return lo, cut, ordered, len(before)


def _bad(kind: int, price: float) -> bool:
    """A trade print with a non-finite or non-positive price, a funding event with a non-finite rate."""
    return (kind == int(Kind.TRADE) and not (math.isfinite(price) and price > 0)) or (
        kind == int(Kind.FUNDING) and not math.isfinite(price))


def fuse_chunk(carry, raw, order, k, lo, hi, book, clean, out, rest, ts, sim, sim_ts, kept, liq, bad, need,
               grid_px, grid_sym, stride, seen, delay, kinds, stat):
    """The chunk (``out``) and the next carry (``rest``) of ``carry`` + ``raw``, with what the chunk
    holds summed up; the rules are the kernel module's docstring.  Rows outside ``[lo, hi)`` are left
    out one by one here; the kernel, whose rows in ``order`` are in receive-time order, finds them as
    the run before and the run after the kept ones."""
    rows = list(carry) + list(raw)
    sequence = [rows[j] for j in order] if len(order) else rows
    chunk_rows, rest_rows = sequence[:k], sequence[k:]
    for r, row in enumerate(rest_rows):
        rest[r] = row
    m = n_kept = n_liq = n_grid = n_delay = n_rec = n_est = bad_trade = bad_funding = 0
    cheapest, cheapest_notional, first_trade, max_sid = -1, None, -1, -1
    for row in chunk_rows:
        t = int(row["ts_recv"])
        if not lo <= t < hi:  # outside the receive-time span: not in the chunk
            continue
        out[m] = row
        e = out[m]
        kind, price = int(e["kind"]), float(e["price"])
        if clean and _bad(kind, price):  # a bad print: noted, taken as kind 0 from here (the row unchanged)
            bad[bad_trade + bad_funding] = m
            if kind == int(Kind.TRADE):
                bad_trade += 1
            else:
                bad_funding += 1
            kind = 0
        kinds[kind & 255] += 1
        ts[m] = t
        if kind == int(Kind.TRADE):
            sid = int(e["symbol_id"])
            max_sid = max(max_sid, sid)
            if 0 <= sid < len(need) and need[sid] > 0:  # the price grid still needs this symbol's prints
                grid_px[n_grid], grid_sym[n_grid] = price, sid
                n_grid += 1
                need[sid] -= 1
            if first_trade < 0:
                first_trade = m
            notional = price * float(e["qty"])
            if cheapest_notional is None or not math.isnan(cheapest_notional):  # the first NaN stays the cheapest
                if math.isnan(notional) or notional < (math.inf if cheapest_notional is None else cheapest_notional):
                    cheapest, cheapest_notional = m, notional
        elif kind == int(Kind.LIQUIDATION):
            liq[n_liq] = m
            n_liq += 1
        if not book and kind in (int(Kind.TRADE), int(Kind.FUNDING)):  # the simulator's rows
            sim[n_kept], sim_ts[n_kept], kept[n_kept] = e, t, m
            n_kept += 1
        if int(e["flags"]) & int(Flag.RECV_ESTIMATED):
            n_est += 1
        else:
            if (seen + n_rec) % stride == 0:  # every stride-th recorded row, counted over the chunks
                delay[n_delay] = t - int(e["ts_event"])
                n_delay += 1
            n_rec += 1
        m += 1
    if cheapest < 0:
        cheapest = first_trade
    stat[:] = [m, n_kept, n_liq, n_grid, n_delay, n_rec, n_est, cheapest, bad_trade, bad_funding, max_sid]
    return None


def numpy_passes_read(carry, raw, margin, lo, hi, book, n_sym, gate_seen, delays, o, so):
    """One read through the numpy passes the chunked backtest ran before :func:`fuse_chunk` (their code,
    kept as the second oracle and the benches' baseline): join the carry, receive-time order (a gather),
    cut, copy the rest, keep the receive-time span ``[lo, hi)``, clean the prints and gather the print
    array (:class:`liqcore.backtest.stream._Chunk`), then the grid's prints (``gate_seen``: prints the
    grid has per symbol), the receive delays (``delays``, a ``_Delays``), the cheapest trade, the
    liquidations, the kinds present and the quote test, each a pass of its own.  Returns (``k``, None
    or (the chunk, its summary), the next carry)."""
    from liqcore.backtest.stream import _Chunk, cheapest_trade, span_mask
    from liqcore.execution.events import GRID_PRINTS, prepare_events

    ev = raw if not len(carry) else np.concatenate([carry, raw])
    ev = prepare_events(ev)
    cut = int(raw["ts_event"].max()) - margin
    k = int(np.searchsorted(ev["ts_recv"], cut, "left"))
    rest = ev[k:].copy()
    chunk = ev[:k]
    chunk = chunk[span_mask(chunk["ts_recv"], lo, hi)]
    if not len(chunk):
        return k, None, rest
    ch = _Chunk(chunk, o, so, book=book)
    ev = ch.events
    is_trade = ev["kind"] == int(Kind.TRADE)
    sym, px = ev["symbol_id"][is_trade], ev["price"][is_trade]
    grid = {}
    for sid in range(n_sym):
        have = gate_seen.get(sid, 0)
        if have < GRID_PRINTS:
            grid[sid] = px[sym == sid][:GRID_PRINTS - have]
    delays.add(ev)
    summary = dict(cheapest=cheapest_trade(ev, None), liqs=ev[ev["kind"] == int(Kind.LIQUIDATION)].copy(),
                   kinds={int(x) for x in np.flatnonzero(np.bincount(ev["kind"].astype(np.int64)))},
                   has_quote=bool((ev["kind"] == int(Kind.QUOTE)).any()), grid=grid)
    return k, (ch, summary), rest


def merge_recv(a, b):
    """Twin of ``liqcore._jit.chunks.merge_recv``: ``a`` and ``b`` (each in receive order) merged in receive
    order, ``a``'s rows first at one receive time."""
    rows = [(int(r["ts_recv"]), 0, i) for i, r in enumerate(a)] + [(int(r["ts_recv"]), 1, i) for i, r in enumerate(b)]
    rows.sort()
    out = np.zeros(len(rows), dtype=a.dtype)
    for k, (_t, side, i) in enumerate(rows):
        out[k] = (a if side == 0 else b)[i]
    return out

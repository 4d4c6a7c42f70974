"""Reference twin of ``liqcore._libs.reading``: a checked partition file's rows of one read -> events in
the read's event order.

The numpy passes :func:`liqcore.dataset.checked.read_checked` ran before the kernel, kept as the specification
the property tests hold the kernel to, byte for byte: the sections' rows written as events (rare rows and
trades one event a row; a quote row its bid -- the row's side, price and size -- then its ask, side SELL,
the ask's price and size, both with the row's times, kind and flags), laid out as format 2 held them
(:func:`liqcore.dataset.rows.bulk_order`: trades and quotes merged by event time, quotes first at ties, a
run of one event time whose receive times go down ordered by receive time, quotes first), then in event-time
order, stable (:func:`liqcore.dataset.checked.event_order`), gathered once.

None (the caller keeps the numpy passes) unless the sections are in the order the kernel's merge needs: the
rare rows sorted by event time and holding no TRADE or QUOTE row, every trade row a TRADE, every quote row
a QUOTE carrying its ask (a price that is a number), the trades and the quotes each sorted by (event time,
receive time).

:func:`sort_recv`: the events sorted by ``ts_recv`` in place by an insertion sort, row by row; False once it
has moved the rows more than ``_MOVES_PER_ROW`` places each on average (the rows placed so far sorted, the rest
as they were).  Done, the events are those of ``np.argsort(..., kind="stable")`` and a gather
(:func:`liqcore.execution.events.prepare_events`).
"""
from __future__ import annotations

import numpy as np

from liqcore.dataset.rows import bulk_order, event_order
from liqcore.types import EVENT_DTYPE, Kind, Side, take_records

_COLS = ("ts_event_ns", "ts_recv_ns", "kind", "side", "price", "qty", "flags")


def _rows(c, names=_COLS) -> dict:
    if c is None or "ts_event_ns" not in c:
        return {k: np.zeros(0) for k in names}
    return {k: np.asarray(c[k]) for k in names}


def _sorted2(te, tr) -> bool:
    te, tr = te.astype(np.int64), tr.astype(np.int64)
    return bool(np.all((te[1:] > te[:-1]) | ((te[1:] == te[:-1]) & (tr[1:] >= tr[:-1]))))


def section_events(rare, trades, quotes, sid: int, venue: int):
    r, t = _rows(rare), _rows(trades)
    q = _rows(quotes, _COLS + ("ask_price", "ask_qty"))
    rk, tk, qk = (x["kind"].astype(np.int64) for x in (r, t, q))
    ok = (not np.any((rk == int(Kind.TRADE)) | (rk == int(Kind.QUOTE)))
          and bool(np.all(np.diff(r["ts_event_ns"].astype(np.int64)) >= 0))
          and bool(np.all(tk == int(Kind.TRADE))) and _sorted2(t["ts_event_ns"], t["ts_recv_ns"])
          and bool(np.all(qk == int(Kind.QUOTE))) and _sorted2(q["ts_event_ns"], q["ts_recv_ns"])
          and not np.isnan(q["ask_price"].astype(np.float64)).any())
    if not ok:
        return None
    nr, nt, nq = len(rk), len(tk), len(qk)
    ev = np.zeros(nr + nt + 2 * nq, EVENT_DTYPE)
    ev["symbol_id"], ev["venue"] = sid, venue
    for lo, c in ((0, r), (nr, t)):  # one event a row, in the file's section order
        w = ev[lo:lo + len(c["kind"])]
        w["ts_event"], w["ts_recv"], w["price"], w["qty"] = c["ts_event_ns"], c["ts_recv_ns"], c["price"], c["qty"]
        w["side"], w["kind"], w["flags"] = c["side"], c["kind"], c["flags"]
    w = ev[nr + nt:]
    bid, ask = w[0::2], w[1::2]
    for half in (bid, ask):
        half["ts_event"], half["ts_recv"] = q["ts_event_ns"], q["ts_recv_ns"]
        half["kind"], half["flags"] = q["kind"], q["flags"]
    bid["side"], bid["price"], bid["qty"] = q["side"], q["price"], q["qty"]
    ask["side"], ask["price"], ask["qty"] = int(Side.SELL), q["ask_price"], q["ask_qty"]
    order = bulk_order(ev["ts_event"], ev["ts_recv"], ev["kind"])
    if order is None:
        order = np.arange(len(ev))
    later = event_order(ev["ts_event"][order])
    return take_records(ev, order if later is None else order[later])



_MOVES_PER_ROW = 16


def sort_recv(events) -> bool:
    if events.dtype != EVENT_DTYPE or events.ndim != 1 or not events.flags.c_contiguous:
        raise ValueError("sections: sort_recv takes contiguous EVENT_DTYPE events")
    budget, moves = _MOVES_PER_ROW * len(events), 0
    for i in range(1, len(events)):  # an insertion sort, row by row (a twin for small inputs)
        row = events[i].copy()
        j = i
        while j > 0 and events["ts_recv"][j - 1] > row["ts_recv"]:
            events[j] = events[j - 1]
            j -= 1
        events[j] = row
        moves += i - j
        if moves > budget:
            return False
    return True


def bulk_keep(te, tr, lo: int, hi: int, has_start: bool, start: int, has_end: bool, end: int, has_skew: bool,
              skew: int, clock_min: int):
    """The rows of a bulk row group a read keeps (the kernel's docstring), the numpy way: a mask of the tests,
    then its kept rows one run or not."""
    te, tr = np.asarray(te, np.int64), np.asarray(tr, np.int64)
    if len(te) != len(tr):
        raise ValueError("sections: bulk_keep takes columns of one length")
    m = (tr >= lo) & (tr < hi)
    if has_start:
        m &= te >= start
    if has_end:
        m &= te < end
    if has_skew:
        with np.errstate(over="ignore"):
            m &= ~((tr >= clock_min) & ((te - tr) > skew))
    k = np.flatnonzero(m)
    if not len(k):
        return 0, 0, None
    if int(k[-1]) - int(k[0]) + 1 == len(k):
        return int(k[0]), int(k[-1]) + 1, None
    return 0, 0, m


def step_scan(events):
    """What a window step finds in its events (the kernel's docstring), the numpy way: the masks of
    ``bad_prints``, the rare rows by kind, and ``np.argmin`` of the prints' notional (others +inf)."""
    if events.dtype != EVENT_DTYPE or events.ndim != 1 or not events.flags.c_contiguous:
        raise ValueError("sections: step_scan takes contiguous EVENT_DTYPE events")
    kd, px = events["kind"], events["price"]
    is_tr, is_q = kd == int(Kind.TRADE), kd == int(Kind.QUOTE)
    bad_t = int(np.count_nonzero(is_tr & ~(np.isfinite(px) & (px > 0))))
    bad_f = int(np.count_nonzero((kd == int(Kind.FUNDING)) & ~np.isfinite(px)))
    rare = np.flatnonzero(~(is_tr | is_q | (kd == int(Kind.DEPTH)))).astype(np.int64)
    k = -1
    if is_tr.any():
        with np.errstate(invalid="ignore", over="ignore"):
            notional = np.where(is_tr, px * events["qty"], np.inf)
        k = int(np.argmin(notional))
        if not is_tr[k]:
            k = int(np.argmax(is_tr))
    return bad_t, bad_f, rare, int(np.count_nonzero(is_tr)), int(np.count_nonzero(is_q)), k


def last_rows(events):
    """The positions of the last print, best bid and best ask (the kernel's docstring), -1 for none, by numpy's
    masks over every row."""
    if events.dtype != EVENT_DTYPE or events.ndim != 1 or not events.flags.c_contiguous:
        raise ValueError("sections: last_rows takes contiguous EVENT_DTYPE events")
    kd, px = events["kind"], events["price"]
    with np.errstate(invalid="ignore"):
        pr = np.flatnonzero((kd == int(Kind.TRADE)) & np.isfinite(px) & (px > 0))
    isq, bid = kd == int(Kind.QUOTE), events["side"] == int(Side.BUY)
    out = []
    for m in (None, isq & bid, isq & ~bid):
        k = pr if m is None else np.flatnonzero(m)
        out.append(int(k[-1]) if len(k) else -1)
    return tuple(out)


def trade_delays(events, seen: int, stride: int, est_flag: int):
    """The feed-latency note's sample of a step's trades (the kernel's docstring), the numpy way: the TRADE rows
    taken, the estimated ones masked out, the delays sliced from the first global position that is a multiple of
    ``stride``."""
    if events.dtype != EVENT_DTYPE or events.ndim != 1 or not events.flags.c_contiguous:
        raise ValueError("sections: trade_delays takes contiguous EVENT_DTYPE events")
    if stride < 1:
        raise ValueError("sections: trade_delays takes a stride of at least 1")
    ev = events[events["kind"] == int(Kind.TRADE)]
    est = (ev["flags"] & est_flag) != 0
    d = (ev["ts_recv"][~est] - ev["ts_event"][~est]).astype(np.int64)
    first = (-seen) % stride
    return d[first::stride].copy(), len(d), int(est.sum())


def same_rare(events, pos, det, p0: int, p1: int) -> bool:
    """Whether the rows ``pos`` of ``events`` are the rows ``[p0, p1)`` of ``det`` (the kernel's docstring), the
    numpy way: the rows gathered, then each field compared whole (NaN equal to NaN in the price and size)."""
    for x in (events, det):
        if x.dtype != EVENT_DTYPE or x.ndim != 1 or not x.flags.c_contiguous:
            raise ValueError("sections: same_rare takes contiguous EVENT_DTYPE events")
    pos = np.asarray(pos, np.int64)
    if p0 < 0 or p1 < p0 or p1 > len(det):
        raise ValueError("sections: same_rare's rows [p0, p1) outside the detection rows")
    if len(pos) != p1 - p0:
        return False
    if len(pos) and (int(pos.min()) < 0 or int(pos.max()) >= len(events)):
        raise ValueError("sections: same_rare's position outside the events")
    a, b = events[pos], det[p0:p1]
    return all(np.array_equal(a[c], b[c], equal_nan=a[c].dtype.kind == "f")
               for c in ("ts_event", "ts_recv", "kind", "side", "price", "qty"))


MERGE_MAX_RUNS = 4096


def merge_events(pieces):
    """The pieces end to end in event-time order, stable (``np.concatenate(pieces)`` sorted by ``ts_event``, stable):
    each piece cut into its runs sorted by event time, then the runs merged, the next row always the earliest head,
    the earlier run's at a tie; None past ``MERGE_MAX_RUNS`` runs."""
    runs = []
    for a in pieces:
        if a.dtype != EVENT_DTYPE or a.ndim != 1:
            raise ValueError("sections: merge_events takes one-dimensional EVENT_DTYPE arrays")
        start = 0
        for i in range(1, len(a)):
            if a["ts_event"][i] < a["ts_event"][i - 1]:
                runs.append(a[start:i])
                start = i
                if len(runs) + 1 > MERGE_MAX_RUNS:
                    return None
        if len(a):
            runs.append(a[start:])
    out = np.empty(sum(len(r) for r in runs), EVENT_DTYPE)
    at = [0] * len(runs)
    for o in range(len(out)):
        best = None
        for r, run in enumerate(runs):
            if at[r] < len(run) and (best is None or run["ts_event"][at[r]] < runs[best]["ts_event"][at[best]]):
                best = r
        out[o] = runs[best][at[best]]
        at[best] += 1
    return out

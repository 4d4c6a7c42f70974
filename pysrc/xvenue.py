"""Reference twin of ``liqcore._libs.detection``: the instrument-scope (cross-venue) cascade rule.

The per-venue half is the ordinary detector: ``CascadeDetector.run(events, marks=, thresholds=)``
says, for every event, whether it was kept, a liquidation, or a LARGE one against its own
(venue, symbol) rolling threshold, and that threshold.  This module is the cross-venue half: the
2-in-60 s rule counted over every venue of one instrument.

``group[symbol_id]`` names the instrument of every symbol (``liqcore.instruments`` builds it; a
symbol alone in its group is venue scope).  Per group the state is the detector's cluster state:
a clock, the large liquidations in ``(t - W, t]``, every liquidation of that window, at most one
active cascade.  For every event whose mark is not "skipped", in input order:

1. ``symbol_id == -1`` (a venue-wide GAP of venue ``v``): every group that has seen an event of
   ``v``, in ascending group order: ``t = max(ts_event, clock)``, clock = t, then the GAP rule.
2. Otherwise ``g = group[symbol_id]``; ``t = ts_event`` clamped to the group's clock when older
   (counted ``late``); the group remembers the venue.  Expiry: an active cascade ENDS (EXPIRED,
   ``end = last_large``) when ``t > last_large + W``.
3. GAP: the active cascade ends (GAP) and the window is cleared.
4. A liquidation (mark 2 or 3, large = mark 3): it joins the window; with an active cascade its
   notional joins the long/short sums, ``n_events`` and its venue's share, a large one moves
   ``last_large`` and counts in ``n_large`` and its venue's share.  Otherwise a large one with
   ``>= min_large`` large liquidations of the group in ``(t - W, t]`` CONFIRMS a cascade at ``t``:
   ``start`` = the earliest of them, notionals, ``n_events`` and the venues' shares over the
   window's liquidations at ``>= start``, ``n_large`` = their count, ``threshold`` = the confirming
   liquidation's own venue threshold.

A record is a ``CASCADE_DTYPE`` row whose ``symbol_id`` and ``venue`` are those of the liquidation
that FIRED FIRST (the large one at ``start``): on one venue's data (each symbol its own group) the
records are the detector's, byte for byte.  When a cascade ends, one ``SHARE_DTYPE`` row per venue
that had a liquidation in it (ascending venue code): its events, large ones, long and short
notional, and its first large liquidation's event and receive times (-1: it had none).
``flush`` ends the active cascades (FLUSH, ascending group) at ``flush_ns``, by default the latest
event time seen (of the events not skipped).  A caller that runs the rule over part of a stream (the
chunked read keeps only the events the rule needs) passes the whole stream's latest event time.
"""
from __future__ import annotations

import numpy as np

from liqcore.types import CASCADE_DTYPE, EndReason, Kind, RecordKind, Side, dominant_of

#: one row per (cascade, venue) when a cascade ends
SHARE_DTYPE = np.dtype([
    ("cascade_id", "<i4"),
    ("venue", "i1"),
    ("symbol_id", "<i4"),
    ("n_events", "<i4"),
    ("n_large", "<i4"),
    ("long_notional", "<f8"),
    ("short_notional", "<f8"),
    ("first_large_ns", "<i8"),
    ("first_large_recv_ns", "<i8"),
], align=True)

MAX_VENUES = 16
_SKIPPED, _PROCESSED, _LIQ, _LARGE = 0, 1, 2, 3


class _Group:
    def __init__(self) -> None:
        self.clock = None
        self.venues: set[int] = set()
        self.recent: list = []  # (t, notional, side, venue, sid, large, recv) in (t - W, t]
        self.large: list = []  # (t, venue, sid)
        self.active = False
        self.c: dict = {}
        self.shares: dict[int, list] = {}


def _share(c_shares: dict, venue: int, sid: int, notional: float, side: int, large: bool, t: int, recv: int) -> None:
    s = c_shares.get(venue)
    if s is None:
        s = c_shares[venue] = [sid, 0, 0, 0.0, 0.0, -1, -1]
    s[1] += 1
    if side == Side.LONG:
        s[3] += notional
    else:
        s[4] += notional
    if large:
        s[2] += 1
        if s[5] == -1:
            s[5], s[6] = t, recv


def detect(events: np.ndarray, marks: np.ndarray, thresholds: np.ndarray, group: np.ndarray, window_ns: int,
           min_large: int, flush: bool = False, index_offset: int = 0, flush_ns: int | None = None):
    """``(records, shares, counts)`` of the instrument-scope rule over ``events`` (see the module)."""
    W, k = int(window_ns), int(min_large)
    groups: dict[int, _Group] = {}
    recs: list = []
    shares: list = []
    counts = {"late": 0, "cascades": 0, "records": 0}
    state = {"next_id": 0, "now": None}

    def emit(g: _Group, kind: int, emit_ns: int, index: int, reason: int) -> None:
        c = g.c
        recs.append((c["start"], c["confirm"], c["recv"], c["last_large"], emit_ns, index, c["long"], c["short"],
                     c["thr"], c["n_events"], c["n_large"], c["sid"], c["id"], kind,
                     dominant_of(c["long"], c["short"]), c["venue"], reason, 0))
        counts["records"] += 1

    def end(g: _Group, emit_ns: int, index: int, reason: int) -> None:
        emit(g, int(RecordKind.ENDED), emit_ns, index, reason)
        g.active = False
        for v in sorted(g.shares):
            s = g.shares[v]
            shares.append((g.c["id"], v, s[0], s[1], s[2], s[3], s[4], s[5], s[6]))

    def expire(g: _Group, t: int, index: int) -> None:
        if g.active and t > g.c["last_large"] + W:
            end(g, t, index, int(EndReason.EXPIRED))

    def gap_one(g: _Group, t: int, index: int) -> None:
        expire(g, t, index)
        if g.active:
            end(g, t, index, int(EndReason.GAP))
        g.recent.clear()
        g.large.clear()

    for i in range(len(events)):
        m = int(marks[i])
        if m == _SKIPPED:
            continue
        e = events[i]
        ts, recv, sid = int(e["ts_event"]), int(e["ts_recv"]), int(e["symbol_id"])
        venue, kind, side = int(e["venue"]), int(e["kind"]), int(e["side"])
        index = index_offset + i
        if state["now"] is None or ts > state["now"]:
            state["now"] = ts
        if sid == -1:
            for gid in sorted(groups):
                g = groups[gid]
                if venue in g.venues:
                    t = ts if g.clock is None or ts >= g.clock else g.clock
                    g.clock = t
                    gap_one(g, t, index)
            continue
        gid = int(group[sid])
        g = groups.get(gid)
        if g is None:
            g = groups[gid] = _Group()
        g.venues.add(venue)
        t = ts
        if g.clock is not None and t < g.clock:
            counts["late"] += 1
            t = g.clock
        g.clock = t
        expire(g, t, index)
        if kind == Kind.GAP:
            gap_one(g, t, index)
            continue
        if m not in (_LIQ, _LARGE):
            continue
        large = m == _LARGE
        notional = float(e["price"]) * float(e["qty"])
        g.recent = [r for r in g.recent if r[0] > t - W]
        g.recent.append((t, notional, side, venue, sid, large, recv))
        if large:
            g.large = [r for r in g.large if r[0] > t - W]
            g.large.append((t, venue, sid))
        if g.active:
            c = g.c
            if side == Side.LONG:
                c["long"] += notional
            else:
                c["short"] += notional
            c["n_events"] += 1
            if large:
                c["last_large"] = t
                c["n_large"] += 1
            _share(g.shares, venue, sid, notional, side, large, t, recv)
            continue
        if large and len(g.large) >= k:
            start, v0, s0 = g.large[0]
            long_n = short_n = 0.0
            n_events = 0
            g.shares = {}
            for (rt, nt, sd, rv, rs, rl, rr) in g.recent:
                if rt >= start:
                    if sd == Side.LONG:
                        long_n += nt
                    else:
                        short_n += nt
                    n_events += 1
                    _share(g.shares, rv, rs, nt, sd, rl, rt, rr)
            g.c = {"id": state["next_id"], "start": start, "confirm": t, "recv": recv, "last_large": t,
                   "long": long_n, "short": short_n, "thr": float(thresholds[i]), "n_events": n_events,
                   "n_large": len(g.large), "sid": s0, "venue": v0}
            state["next_id"] += 1
            g.active = True
            counts["cascades"] += 1
            emit(g, int(RecordKind.CONFIRMED), t, index, int(EndReason.NONE))
    if flush:
        now = int(flush_ns) if flush_ns is not None else (state["now"] if state["now"] is not None else 0)
        for gid in sorted(groups):
            g = groups[gid]
            if g.active:
                end(g, now, -1, int(EndReason.FLUSH))
    return np.array(recs, dtype=CASCADE_DTYPE), _pack(shares), counts


def _pack(rows):
    """SHARE_DTYPE rows with zeroed padding (the bytes of two equal results are equal)."""
    out = np.zeros(len(rows), dtype=SHARE_DTYPE)
    if rows:
        for name, col in zip(SHARE_DTYPE.names, zip(*rows)):
            out[name] = col
    return out

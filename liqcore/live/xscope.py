"""Instrument scope, live: one detector over the liquidation streams of every venue of an instrument.

The details: docs/maintainers/live-feeds.md, "Instrument scope, live (liqcore.live.xscope)".

May import: ``numpy``, ``_libs.detector``, ``instruments`` and ``types``.
"""
from __future__ import annotations

import collections
import math

import numpy as np

from liqcore.instruments import Table, default_table
from liqcore.types import CASCADE_DTYPE, EndReason, Kind, RecordKind, Side, Venue, dominant_of

__all__ = ["InstrumentDetector", "XStream"]

_GAP = int(Kind.GAP)
_CONFIRMED, _ENDED = int(RecordKind.CONFIRMED), int(RecordKind.ENDED)
_LONG = int(Side.LONG)
_KEEP_SHARES = 512  # cascades whose shares are kept for the decisions (the newest)


class _Group:
    __slots__ = ("clock", "venues", "recent", "large", "active", "c", "shares")

    def __init__(self) -> None:
        self.clock: int | None = None
        self.venues: set[int] = set()
        self.recent: collections.deque = collections.deque()  # (t, notional, side, venue, sid, large, recv)
        self.large: collections.deque = collections.deque()  # (t, venue, sid)
        self.active = False
        self.c: dict = {}
        self.shares: dict[int, list] = {}


class XStream:
    """The cross-venue rule (``liqcore._libs.detection``) one event at a time.  ``step`` takes an event with the
    per-venue detector's mark (0 skipped .. 3 large) and threshold and the event's group (its instrument; -1
    for a venue-wide gap) and returns the records it emitted as tuples in ``CASCADE_DTYPE`` order.  Ended
    cascades' shares: :attr:`ended_shares` (``cascade_id -> {venue: [sid, events, large, long, short,
    first_large_ns, first_large_recv_ns]}``, the newest kept) and, for an active one, the group's ``shares``."""

    def __init__(self, window_ns: int, min_large: int) -> None:
        if window_ns <= 0:
            raise ValueError(f"window_ns: must be > 0; got {window_ns}")
        if min_large < 1:
            raise ValueError(f"min_large: must be >= 1; got {min_large}")
        self.W, self.k = int(window_ns), int(min_large)
        self.groups: dict[int, _Group] = {}
        self.next_id = 0
        self.now: int | None = None
        self.counts = {"late": 0, "cascades": 0, "records": 0}
        self.shares: collections.OrderedDict = collections.OrderedDict()  # cascade id -> shares (active and ended)
        self.first: dict[int, int] = {}  # cascade id -> venue code of its first large liquidation
        self._out: list = []

    # ---- records
    def _emit(self, g: _Group, kind: int, emit_ns: int, index: int, reason: int) -> None:
        c = g.c
        self._out.append((c["start"], c["confirm"], c["recv"], c["last_large"], emit_ns, index, c["long"], c["short"],
                          c["thr"], c["n_events"], c["n_large"], c["sid"], c["id"], kind,
                          dominant_of(c["long"], c["short"]), c["venue"], reason, 0))
        self.counts["records"] += 1

    def _end(self, g: _Group, emit_ns: int, index: int, reason: int) -> None:
        self._emit(g, _ENDED, emit_ns, index, reason)
        g.active = False

    def _expire(self, g: _Group, t: int, index: int) -> None:
        if g.active and t > g.c["last_large"] + self.W:
            self._end(g, t, index, int(EndReason.EXPIRED))

    def _gap_one(self, g: _Group, t: int, index: int) -> None:
        self._expire(g, t, index)
        if g.active:
            self._end(g, t, index, int(EndReason.GAP))
        g.recent.clear()
        g.large.clear()

    @staticmethod
    def _share(shares: dict, venue: int, sid: int, notional: float, side: int, large: bool, t: int, recv: int) -> None:
        s = shares.get(venue)
        if s is None:
            s = shares[venue] = [sid, 0, 0, 0.0, 0.0, -1, -1]
        s[1] += 1
        if side == _LONG:
            s[3] += notional
        else:
            s[4] += notional
        if large:
            s[2] += 1
            if s[5] == -1:
                s[5], s[6] = t, recv

    # ---- the rule
    def step(self, group: int, ts: int, recv: int, sid: int, venue: int, kind: int, side: int, price: float,
             qty: float, mark: int, thr: float, index: int) -> list:
        out = self._out = []
        if mark == 0:
            return out
        if self.now is None or ts > self.now:
            self.now = ts
        if sid == -1:  # a venue-wide gap: every group that has seen the venue, ascending
            for gid in sorted(self.groups):
                g = self.groups[gid]
                if venue in g.venues:
                    t = ts if g.clock is None or ts >= g.clock else g.clock
                    g.clock = t
                    self._gap_one(g, t, index)
            return out
        g = self.groups.get(group)
        if g is None:
            g = self.groups[group] = _Group()
        g.venues.add(venue)
        t = ts
        if g.clock is not None and t < g.clock:
            self.counts["late"] += 1
            t = g.clock
        g.clock = t
        self._expire(g, t, index)
        if kind == _GAP:
            self._gap_one(g, t, index)
            return out
        if mark != 2 and mark != 3:
            return out
        large = mark == 3
        notional = price * qty
        W = self.W
        rq = g.recent
        while rq and rq[0][0] <= t - W:
            rq.popleft()
        rq.append((t, notional, side, venue, sid, large, recv))
        if large:
            lq = g.large
            while lq and lq[0][0] <= t - W:
                lq.popleft()
            lq.append((t, venue, sid))
        if g.active:
            c = g.c
            if side == _LONG:
                c["long"] += notional
            else:
                c["short"] += notional
            c["n_events"] += 1
            if large:
                c["last_large"] = t
                c["n_large"] += 1
            self._share(g.shares, venue, sid, notional, side, large, t, recv)
            return out
        if large and len(g.large) >= self.k:
            start, v0, s0 = g.large[0]
            long_n = short_n = 0.0
            n_events = 0
            g.shares = {}
            for (rt, nt, sd, rv, rs, rl, rr) in rq:
                if rt >= start:
                    if sd == _LONG:
                        long_n += nt
                    else:
                        short_n += nt
                    n_events += 1
                    self._share(g.shares, rv, rs, nt, sd, rl, rt, rr)
            cid = self.next_id
            self.next_id += 1
            g.c = {"id": cid, "start": start, "confirm": t, "recv": recv, "last_large": t, "long": long_n,
                   "short": short_n, "thr": float(thr), "n_events": n_events, "n_large": len(g.large), "sid": s0,
                   "venue": v0}
            g.active = True
            self.counts["cascades"] += 1
            self.shares[cid] = g.shares  # (the same dict: it grows while the cascade is active)
            self.first[cid] = v0
            while len(self.shares) > _KEEP_SHARES:
                old, _ = self.shares.popitem(last=False)
                self.first.pop(old, None)
            self._emit(g, _CONFIRMED, t, index, int(EndReason.NONE))
        return out

    def tick(self, now_ns: int) -> list:
        """End every cascade whose last large liquidation is more than the window before ``now_ns``."""
        out = self._out = []
        for gid in sorted(self.groups):
            self._expire(self.groups[gid], int(now_ns), -1)
        return out

    def flush(self, ts_ns: int | None = None) -> list:
        out = self._out = []
        t = (self.now if self.now is not None else 0) if ts_ns is None else int(ts_ns)
        for gid in sorted(self.groups):
            g = self.groups[gid]
            if g.active:
                self._end(g, t, -1, int(EndReason.FLUSH))
        return out


class InstrumentDetector:
    """The live detector of instrument scope (see the module docstring): ``InstrumentDetector(params, registry,
    trade_venue, table=None)``.  ``registry`` is the engine's (symbols are grouped by instrument as the decoders
    register them); ``trade_venue``: the venue whose symbol each record is moved to."""

    def __init__(self, params, registry, trade_venue, table: Table | None = None) -> None:
        from liqcore._libs.detection import CascadeDetector

        self.params = params
        self.registry = registry
        self.trade_venue = int(Venue.parse(trade_venue))
        self.table = table if table is not None else default_table()
        self.venue_det = CascadeDetector.from_params(params)
        self.xs = XStream(params.window_ns, params.min_large)
        self.window_ns, self.min_large, self.history = params.window_ns, params.min_large, params.history
        self._group: dict[int, int] = {}  # symbol id -> group id
        self._names: dict[str, int] = {}  # instrument name -> group id
        self.names: list[str] = []  # group id -> instrument name
        self._target: dict[int, int] = {}  # group id -> the trade venue's symbol id
        self._recs = np.zeros(0, dtype=CASCADE_DTYPE)
        self._seq = 0

    # ---- grouping
    def group(self, sid: int) -> int:
        """The instrument (group id) of a symbol id, registered on first sight."""
        g = self._group.get(sid)
        if g is not None:
            return g
        venue, sym = self.registry.lookup(sid)
        inst = self.table.lookup(venue, sym) if int(venue) else None
        key = inst if inst is not None else f"{venue.name.lower()}:{sym}"
        g = self._names.get(key)
        if g is None:
            g = self._names[key] = len(self.names)
            self.names.append(key)
        self._group[sid] = g
        if int(venue) == self.trade_venue:
            self._target.setdefault(g, sid)
        return g

    def instrument(self, sid: int) -> str:
        return self.names[self.group(sid)]

    def _finish(self, rows: list) -> int:
        if not rows:
            self._recs = self._recs[:0]
            return 0
        if len(self._group) < len(self.registry):  # symbols the feeds have not sent yet: their trade-venue targets
            for sid, _v, _s in self.registry:
                self.group(sid)
        recs = np.array(rows, dtype=CASCADE_DTYPE)
        for i in range(len(recs)):
            t = self._target.get(self._group.get(int(recs["symbol_id"][i]), -1))
            if t is not None:
                recs["symbol_id"][i] = t
                recs["venue"][i] = self.trade_venue
        self._recs = recs
        return len(recs)

    # ---- CascadeDetector's live interface
    def update(self, ts_event: int, ts_recv: int, symbol_id: int, venue: int, kind: int, side: int, price: float,
               qty: float) -> int:
        vd = self.venue_det
        vd.update(ts_event, ts_recv, symbol_id, venue, kind, side, price, qty)  # (bad input raises, changes nothing)
        mark = vd.last_event_mark
        self._seq += 1
        if not mark:
            self._recs = self._recs[:0]
            return 0
        g = self.group(symbol_id) if symbol_id >= 0 else -1
        return self._finish(self.xs.step(g, ts_event, ts_recv, symbol_id, venue, kind, side, price, qty, mark,
                                         vd.last_event_threshold, self._seq - 1))

    def tick(self, now_ns: int) -> int:
        self.venue_det.tick(now_ns)
        return self._finish(self.xs.tick(now_ns))

    def gap(self, symbol_id: int, venue: int, ts_ns: int) -> int:
        return self.update(ts_ns, ts_ns, symbol_id, venue, _GAP, 0, math.nan, 0.0)

    def flush(self, ts_ns: int | None = None) -> int:
        self.venue_det.flush(ts_ns)
        return self._finish(self.xs.flush(ts_ns))

    def last_records(self) -> np.ndarray:
        return self._recs.copy()

    def pop_records(self) -> np.ndarray:
        out, self._recs = self._recs, self._recs[:0]
        return out

    def last_confirmed(self):
        r = self._recs
        for i in range(len(r)):
            if r["record"][i] == _CONFIRMED:
                return (int(r["symbol_id"][i]), int(r["cascade_id"][i]), int(r["dominant"][i]),
                        int(r["confirm_recv_ns"][i]))
        return None

    def armable(self, symbol_id: int) -> bool:
        """True when the next large liquidation of the symbol's instrument, on any venue, could confirm a
        cascade: no active cascade, ``min_large - 1`` large ones in the window, and a threshold for the
        symbol (a hint for the fast lane)."""
        if symbol_id < 0 or math.isnan(self.venue_det.threshold(symbol_id)):
            return False
        g = self.xs.groups.get(self.group(symbol_id))
        if g is None:
            return self.min_large <= 1
        if g.active:
            return False
        cut = (g.clock or 0) - self.window_ns
        return sum(1 for r in g.large if r[0] > cut) >= self.min_large - 1

    def plausible(self, symbol_id: int, kind: int, price: float, qty: float, ts_event: int) -> int:
        return self.venue_det.plausible(symbol_id, kind, price, qty, ts_event)

    def seed(self, symbol_id: int, notionals, venue: int = 0) -> None:
        self.venue_det.seed(symbol_id, notionals, venue)

    def threshold(self, symbol_id: int) -> float:
        return self.venue_det.threshold(symbol_id)

    def active(self, symbol_id: int) -> bool:
        g = self.xs.groups.get(self.group(symbol_id)) if symbol_id >= 0 else None
        return bool(g is not None and g.active)

    @property
    def stats(self) -> dict:
        """The per-venue detector's counts, with ``cascades`` / ``records`` / ``late`` of the instrument rule."""
        out = dict(self.venue_det.stats)
        out.update(self.xs.counts)
        out["active"] = sum(1 for g in self.xs.groups.values() if g.active)
        return out

    # ---- the decision's venue shares
    def shares(self, cascade_id: int) -> dict:
        """``{venue: {"liquidations", "large", "long_notional", "short_notional", "first_large_ns",
        "first_large_recv_ns"}}`` of a cascade so far (empty for an unknown id); times -1: none."""
        sh = self.xs.shares.get(int(cascade_id)) or {}
        return {Venue(v).name.lower(): {"liquidations": s[1], "large": s[2], "long_notional": s[3],
                                        "short_notional": s[4], "first_large_ns": s[5], "first_large_recv_ns": s[6]}
                for v, s in sorted(sh.items())}

    def first_venue(self, cascade_id: int) -> str:
        v = self.xs.first.get(int(cascade_id))
        return Venue(v).name.lower() if v is not None else ""

    def annotate(self, decision) -> None:
        """Write the cascade's first venue and venue shares on an engine decision."""
        decision.first_venue = self.first_venue(decision.cascade_id)
        decision.shares = self.shares(decision.cascade_id)

    def __repr__(self) -> str:
        return (f"InstrumentDetector(trade_venue={Venue(self.trade_venue).name.lower()}, {len(self.names)} "
                f"instruments, {self.stats['active']} active)")

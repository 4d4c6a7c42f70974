"""Reference twin of ``liqcore._libs.detection``: the cascade detector written for clarity.

This module is the specification the compiled kernel is checked against, record for record and
field for field.  The rules (large liquidation, cascade):

Per (venue, symbol) -- one ``symbol_id`` -- the detector keeps

* the notionals (``price * qty``) of the last ``history`` liquidations; the threshold in force for
  an event is ``numpy.quantile(those, quantile, method="linear")`` computed from the events BEFORE
  it.  It is recomputed when the symbol has no threshold yet, when ``refresh_ns == 0`` (every
  event), or when the event's time is ``>= refresh_ns`` after the last computation; in between it is
  frozen.  Until ``max(min_history, 1)`` liquidations were seen (seeded values count) there is no
  threshold and no event is large.  An event is large when ``notional >= threshold``.
* the times of its large liquidations in the window ``(t - W, t]`` and every liquidation (time,
  notional, side) of that window, so that a confirmation can sum the notionals of ``[start, t]``.
* at most one active cascade.

Processing one event of a symbol at time ``t``:

1. Late events: ``t`` is clamped to the symbol's latest event time when the event is older (the
   event is counted in ``late``); everything below uses the clamped time, and a late liquidation
   still adds its notional to the threshold history.
2. Expiry: an active cascade ENDS (EXPIRED, ``end = last_large``) when ``t > last_large + W``; the
   event is then processed normally and may start the next cascade.
3. GAP events (``kind == GAP``) end the symbol's active cascade (reason GAP) and clear its cluster
   window (the large-event times and the recent liquidations), so a new cascade never spans a feed
   gap; the threshold history is kept.  ``symbol_id == -1`` applies this to every known symbol of
   the event's venue.
4. Other non-liquidation kinds (trade, mark, funding, open interest, quote) only advance the clock.
5. A liquidation: threshold in force (step above), ``large = notional >= threshold``; the notional
   joins the history; the liquidation joins the window.  If a cascade is active it adds its
   notional to ``long_notional``/``short_notional`` and to ``n_events``; a large one moves
   ``last_large = t`` and adds to ``n_large``.  Otherwise, for a large one, ``L`` = large events of
   the symbol with time in ``(t - W, t]``; if ``len(L) >= min_large`` a cascade is CONFIRMED at
   ``t`` with ``start = min(L)``, notionals and ``n_events`` over all liquidations with time in
   ``[start, t]``, ``n_large = len(L)``.  Dominant side: LONG if long > short, SHORT if short > long,
   MIXED on a tie.

Bad input: a liquidation whose price or qty is NaN, infinite or <= 0, or whose notional overflows,
or whose side is neither LONG nor SHORT; any event with a negative symbol_id that is not a GAP (or a
symbol_id >= 2**24); an unknown kind.  ``update`` raises ValueError naming the field; ``run`` counts
the event by reason and skips it without touching any state.

Implausible input (``liqcore.validate``), counted and skipped by ``update`` and ``run`` alike (never
large, never part of a cascade): a liquidation, trade, mark or non-empty quote (qty > 0) with a finite
positive price more than ``price_factor`` above or below the symbol's reference price (its last
accepted liquidation, trade, mark or quote price, if not older than ``reference_age_ns``, 1 hour; when ``reanchor`` events in a row disagree with the reference but agree with each other
-- each within the factor of the first of the run -- the last of them is accepted and becomes the
reference), checked after the notional: a liquidation or trade whose notional exceeds
``max_notional``, or a liquidation whose notional exceeds ``notional_multiple`` x the threshold in
force (when it has one).  ``run`` also skips as ``time``: an event stamped after now + 1 day, or one
further than ``max_time_jump_ns`` from the previous kept event of the input and from the next event
while those two are within it of each other (the first event of the input: from the next two, which
agree).

Records are ``liqcore.types.CASCADE_DTYPE`` rows.  CONFIRMED and ENDED of one cascade share
``cascade_id`` (a per-detector counter from 0).  ``event_index`` is the event's index in the
``run`` input (plus ``index_offset``), or the sequence number of the ``update`` call (from 0);
records made by ``tick``, ``gap`` and ``flush`` carry ``-1``.
"""
from __future__ import annotations

import math
from collections import deque

import numpy as np

from liqcore.types import CASCADE_DTYPE, EVENT_DTYPE, EndReason, Kind, RecordKind, Side, dominant_of

MAX_SYMBOLS = 1 << 24

#: skip reasons, in the order the checks are made
SKIP_REASONS = ("symbol", "kind", "price", "qty", "notional", "side", "implausible_price", "implausible_notional",
                "time")
#: ``run(marks=...)`` codes: what the detector made of each input event
MARKS = {"skipped": 0, "processed": 1, "liquidation": 2, "large": 3}
_DAY_NS = 86_400_000_000_000

_COUNT_KEYS = ("events", "processed", "liquidations", "large", "late", "cascades", "records")


class _Symbol:
    """Per-symbol state."""

    def __init__(self, history: int) -> None:
        self.history = deque(maxlen=history)  # last N notionals
        self.seen = 0  # liquidations seen (incl. seeded)
        self.clock = None  # latest event time seen
        self.threshold = math.nan
        self.has_threshold = False
        self.threshold_time = 0
        self.venue = 0
        self.large_times: deque[int] = deque()  # large liquidations in (t - W, t]
        self.recent: deque[tuple[int, float, int]] = deque()  # (time, notional, side) in (t - W, t]
        self.active = False
        self.cascade = {}
        self.ref = 0.0  # reference price (0: none yet)
        self.ref_time = 0  # its event time
        self.off_ref = 0.0  # price of the current disagreement run
        self.off_n = 0


class CascadeDetector:
    """Per-(venue, symbol) liquidation-cascade detector (pure Python reference)."""

    def __init__(
        self,
        quantile: float = 0.95,
        history: int = 1000,
        min_history: int = 100,
        refresh_ns: int = 3_600_000_000_000,
        window_ns: int = 60_000_000_000,
        min_large: int = 2,
        price_factor: float = 10.0,
        max_notional: float = 1e10,
        notional_multiple: float = 10_000.0,
        reanchor: int = 3,
        max_time_jump_ns: int = _DAY_NS,
        reference_age_ns: int = 3_600_000_000_000,
    ) -> None:
        if not price_factor > 1.0:
            raise ValueError(f"price_factor: must be > 1; got {price_factor!r}")
        if not max_notional > 0.0:
            raise ValueError(f"max_notional: must be > 0; got {max_notional!r}")
        if not notional_multiple > 1.0:
            raise ValueError(f"notional_multiple: must be > 1; got {notional_multiple!r}")
        if reanchor < 1:
            raise ValueError(f"reanchor: must be >= 1; got {reanchor!r}")
        if max_time_jump_ns <= 0:
            raise ValueError(f"max_time_jump_ns: must be > 0; got {max_time_jump_ns!r}")
        self.price_factor = float(price_factor)
        self.max_notional = float(max_notional)
        self.notional_multiple = float(notional_multiple)
        self.reanchor = int(reanchor)
        self.max_time_jump_ns = int(max_time_jump_ns)
        if reference_age_ns <= 0:
            raise ValueError(f"reference_age_ns: must be > 0; got {reference_age_ns!r}")
        self.reference_age_ns = int(reference_age_ns)
        if not (0.0 <= quantile <= 1.0):
            raise ValueError(f"quantile: must be within [0, 1]; got {quantile!r}")
        if history < 1:
            raise ValueError(f"history: must be >= 1; got {history!r}")
        if min_history < 0:
            raise ValueError(f"min_history: must be >= 0; got {min_history!r}")
        if refresh_ns < 0:
            raise ValueError(f"refresh_ns: must be >= 0; got {refresh_ns!r}")
        if window_ns <= 0:
            raise ValueError(f"window_ns: must be > 0; got {window_ns!r}")
        if min_large < 1:
            raise ValueError(f"min_large: must be >= 1; got {min_large!r}")
        self.quantile = float(quantile)
        self.history = int(history)
        self.min_history = int(min_history)
        self.refresh_ns = int(refresh_ns)
        self.window_ns = int(window_ns)
        self.min_large = int(min_large)
        self._syms: dict[int, _Symbol] = {}
        self._records: list[tuple] = []
        self._next_id = 0
        self._now = None
        self._seq = 0
        self._counts = dict.fromkeys(_COUNT_KEYS, 0)
        self._skipped = dict.fromkeys(SKIP_REASONS, 0)

    @classmethod
    def from_params(cls, params) -> "CascadeDetector":
        if params is None or hasattr(params, "keys") or isinstance(params, (str, bytes, list, tuple)):
            raise ValueError(f"params: expected a Params (liqcore.Params.from_mapping(...) makes one of a mapping, "
                             f"liqcore.Params() the defaults); got {type(params).__name__}")
        return cls(
            quantile=params.quantile,
            history=params.history,
            min_history=params.min_history,
            refresh_ns=params.refresh_ns,
            window_ns=params.window_ns,
            min_large=params.min_large,
            **{k: getattr(params, k) for k in ("price_factor", "max_notional", "notional_multiple", "reanchor",
                                                 "max_time_jump_ns", "reference_age_ns") if getattr(params, k, None) is not None},
        )

    # ---- state helpers --------------------------------------------------------------------------
    def _sym(self, sid: int) -> _Symbol:
        st = self._syms.get(sid)
        if st is None:
            st = self._syms[sid] = _Symbol(self.history)
        return st

    def _record(self, sid: int, st: _Symbol, kind: int, emit_ns: int, index: int, reason: int) -> None:
        c = st.cascade
        self._records.append((
            c["start"], c["confirm"], c["confirm_recv"], c["last_large"], emit_ns, index,
            c["long"], c["short"], c["threshold"], c["n_events"], c["n_large"], sid, c["id"],
            kind, dominant_of(c["long"], c["short"]), st.venue, reason, 0,
        ))
        self._counts["records"] += 1

    def _end(self, sid: int, st: _Symbol, emit_ns: int, index: int, reason: int) -> None:
        self._record(sid, st, int(RecordKind.ENDED), emit_ns, index, reason)
        st.active = False

    def _expire(self, sid: int, st: _Symbol, t: int, index: int) -> None:
        if st.active and t > st.cascade["last_large"] + self.window_ns:
            self._end(sid, st, t, index, int(EndReason.EXPIRED))

    def _gap_one(self, sid: int, st: _Symbol, t: int, index: int) -> None:
        self._expire(sid, st, t, index)
        if st.active:
            self._end(sid, st, t, index, int(EndReason.GAP))
        st.large_times.clear()
        st.recent.clear()

    def _check(self, ts_event, symbol_id, kind, side, price, qty):
        """The skip reason for an event, or None when it is acceptable."""
        if kind not in (1, 2, 3, 4, 5, 6, 7):
            return "kind"
        if symbol_id >= MAX_SYMBOLS or (symbol_id < 0 and not (kind == Kind.GAP and symbol_id == -1)):
            return "symbol"
        if kind != Kind.LIQUIDATION:
            return None
        if not (math.isfinite(price) and price > 0):
            return "price"
        if not (math.isfinite(qty) and qty > 0):
            return "qty"
        if not math.isfinite(price * qty):
            return "notional"
        if side not in (Side.LONG, Side.SHORT):
            return "side"
        return None

    def _judge(self, symbol_id, kind, price, qty, t):
        """The implausibility reason of a checked event, or None (then a liquidation, trade or mark
        moves the symbol's reference price)."""
        if symbol_id < 0 or kind not in (Kind.LIQUIDATION, Kind.TRADE, Kind.MARK, Kind.QUOTE):
            return None
        if kind == Kind.QUOTE and not (qty > 0):  # an empty side of the book says nothing of the price
            return None
        if not (math.isfinite(price) and price > 0):
            return None
        st = self._sym(symbol_id)
        if kind not in (Kind.MARK, Kind.QUOTE):  # a quote's displayed size is no trade: never large
            notional = price * qty
            if notional > self.max_notional:
                return "implausible_notional"
            if kind == Kind.LIQUIDATION and st.has_threshold and notional > self.notional_multiple * st.threshold:
                return "implausible_notional"
        f = self.price_factor
        ref = st.ref
        if (price > ref * f or price * f < ref) and ref > 0.0 and abs(t - st.ref_time) <= self.reference_age_ns:
            # off the (recent) reference: a disagreement run; ``reanchor`` of them in a row move it
            ref = st.off_ref
            if st.off_n > 0 and not (price > ref * f or price * f < ref):
                st.off_n += 1
            else:
                st.off_ref = price
                st.off_n = 1
            if st.off_n < self.reanchor:
                return "implausible_price"
        st.ref = price
        if t > st.ref_time or st.ref_time == 0:
            st.ref_time = t
        st.off_n = 0
        return None

    def plausible(self, symbol_id: int, kind: int, price: float, qty: float, ts_event: int) -> int:
        """0 when the event passes the plausibility rule (moving the reference as ``update`` would),
        else the negative skip code (``SKIP_REASONS[-code - 1]``); counts nothing."""
        symbol_id, kind = int(symbol_id), int(kind)
        if symbol_id < 0 or symbol_id >= MAX_SYMBOLS:
            return 0
        reason = self._judge(symbol_id, kind, float(price), float(qty), int(ts_event))
        return 0 if reason is None else -(SKIP_REASONS.index(reason) + 1)

    @staticmethod
    def _stray(ts, i, n, prev, jump) -> bool:
        t = ts[i]
        if prev is not None:
            if abs(t - prev) <= jump or i + 1 >= n:
                return False
            nx = ts[i + 1]
            return abs(t - nx) > jump and abs(nx - prev) <= jump
        if i + 2 >= n:
            return False
        nx = ts[i + 1]
        return abs(t - nx) > jump and abs(nx - ts[i + 2]) <= jump

    # ---- one event ------------------------------------------------------------------------------
    def _process(self, ts_event, ts_recv, symbol_id, venue, kind, side, price, qty, index) -> None:
        W = self.window_ns
        if self._now is None or ts_event > self._now:
            self._now = ts_event
        self._mark, self._thr = MARKS["processed"], math.nan
        if symbol_id == -1:  # venue-wide gap
            for sid in sorted(self._syms):
                st = self._syms[sid]
                if st.venue == venue:
                    t = ts_event if st.clock is None or ts_event >= st.clock else st.clock
                    st.clock = t
                    self._gap_one(sid, st, t, index)
            return
        st = self._sym(symbol_id)
        st.venue = venue
        t = ts_event
        if st.clock is not None and t < st.clock:
            self._counts["late"] += 1
            t = st.clock
        st.clock = t
        self._expire(symbol_id, st, t, index)
        if kind == Kind.GAP:
            self._gap_one(symbol_id, st, t, index)
            return
        if kind != Kind.LIQUIDATION:
            return
        self._counts["liquidations"] += 1
        notional = price * qty
        # the threshold in force, from the liquidations before this one
        if st.seen >= max(self.min_history, 1):
            if not st.has_threshold or self.refresh_ns == 0 or t - st.threshold_time >= self.refresh_ns:
                st.threshold = float(np.quantile(np.array(st.history, dtype=np.float64), self.quantile,
                                                 method="linear"))
                st.has_threshold = True
                st.threshold_time = t
        large = st.has_threshold and notional >= st.threshold
        self._mark = MARKS["large"] if large else MARKS["liquidation"]
        self._thr = st.threshold if st.has_threshold else math.nan
        st.history.append(notional)
        st.seen += 1
        # the cluster window (t - W, t]
        while st.recent and st.recent[0][0] <= t - W:
            st.recent.popleft()
        st.recent.append((t, notional, side))
        if large:
            self._counts["large"] += 1
            while st.large_times and st.large_times[0] <= t - W:
                st.large_times.popleft()
            st.large_times.append(t)
        if st.active:
            c = st.cascade
            if side == Side.LONG:
                c["long"] += notional
            else:
                c["short"] += notional
            c["n_events"] += 1
            if large:
                c["last_large"] = t
                c["n_large"] += 1
            return
        if large and len(st.large_times) >= self.min_large:
            start = st.large_times[0]
            long_n = short_n = 0.0
            n_events = 0
            for (ts, nt, sd) in st.recent:
                if ts >= start:
                    if sd == Side.LONG:
                        long_n += nt
                    else:
                        short_n += nt
                    n_events += 1
            st.cascade = {
                "id": self._next_id, "start": start, "confirm": t, "confirm_recv": ts_recv,
                "last_large": t, "long": long_n, "short": short_n, "threshold": st.threshold,
                "n_events": n_events, "n_large": len(st.large_times),
            }
            self._next_id += 1
            st.active = True
            self._counts["cascades"] += 1
            self._record(symbol_id, st, int(RecordKind.CONFIRMED), t, index, int(EndReason.NONE))

    # ---- public API -----------------------------------------------------------------------------
    def update(self, ts_event, ts_recv, symbol_id, venue, kind, side, price, qty) -> int:
        """Process one event; return the number of records it emitted (see :meth:`last_records`).
        Bad input raises ValueError naming the field and changes nothing."""
        ts_event, ts_recv, symbol_id, venue, kind, side = (int(ts_event), int(ts_recv), int(symbol_id),
                                                           int(venue), int(kind), int(side))
        price, qty = float(price), float(qty)
        reason = self._check(ts_event, symbol_id, kind, side, price, qty)
        if reason is not None:
            raise ValueError(_error_message(reason, symbol_id, kind, side, price, qty))
        self._records = []
        index = self._seq
        self._seq += 1
        self._counts["events"] += 1
        reason = self._judge(symbol_id, kind, price, qty, ts_event)
        if reason is not None:
            self._skipped[reason] += 1
            return 0
        self._counts["processed"] += 1
        self._process(ts_event, ts_recv, symbol_id, venue, kind, side, price, qty, index)
        return len(self._records)

    def last_records(self) -> np.ndarray:
        """Records emitted by the last call (update, tick, gap, flush or run), CASCADE_DTYPE."""
        return np.array(self._records, dtype=CASCADE_DTYPE)

    def last_confirmed(self):
        """The first CONFIRMED record of the last call as ``(symbol_id, cascade_id, dominant,
        confirm_recv_ns)``, or None."""
        for r in self._records:
            if r[13] == int(RecordKind.CONFIRMED):
                return (r[11], r[12], r[14], r[2])
        return None

    def armable(self, symbol_id: int) -> bool:
        """True when the symbol's next liquidation could confirm a cascade: history enough for a
        threshold, no active cascade, and >= min_large - 1 large liquidations later than its latest
        event time minus the window."""
        st = self._syms.get(int(symbol_id))
        if st is None or st.active or st.seen < max(self.min_history, 1):
            return False
        cut = st.clock - self.window_ns if st.clock is not None else None
        n = sum(1 for t in st.large_times if cut is None or t > cut)
        return n >= self.min_large - 1

    def pop_records(self) -> np.ndarray:
        """Like :meth:`last_records`, then forget them."""
        out = self.last_records()
        self._records = []
        return out

    def tick(self, now_ns: int) -> int:
        """End every cascade with ``now_ns > last_large + W`` (EXPIRED); return the record count."""
        self._records = []
        now_ns = int(now_ns)
        for sid in sorted(self._syms):
            st = self._syms[sid]
            if st.active and now_ns > st.cascade["last_large"] + self.window_ns:
                self._end(sid, st, now_ns, -1, int(EndReason.EXPIRED))
        return len(self._records)

    def gap(self, symbol_id: int, venue: int, ts_ns: int) -> int:
        """Mark a feed gap for ``symbol_id`` (or -1: every symbol of ``venue``) at ``ts_ns``."""
        symbol_id = int(symbol_id)
        if symbol_id < -1 or symbol_id >= MAX_SYMBOLS:
            raise ValueError(f"symbol_id: must be -1 (whole venue) or in [0, 2**24); got {symbol_id}")
        self._records = []
        self._process(int(ts_ns), int(ts_ns), symbol_id, int(venue), int(Kind.GAP), 0, 0.0, 0.0, -1)
        return len(self._records)

    def flush(self, ts_ns: int | None = None) -> int:
        """End every active cascade (FLUSH) at ``ts_ns`` (default: the latest event time seen)."""
        self._records = []
        self._flush(ts_ns)
        return len(self._records)

    def _flush(self, ts_ns) -> None:
        t = int(ts_ns) if ts_ns is not None else (self._now if self._now is not None else 0)
        for sid in sorted(self._syms):
            st = self._syms[sid]
            if st.active:
                self._end(sid, st, t, -1, int(EndReason.FLUSH))

    def seed(self, symbol_id: int, notionals, venue: int = 0) -> None:
        """Add past notionals (oldest first) to the symbol's threshold history; they count toward
        ``min_history``.  The threshold is recomputed at the symbol's next event."""
        symbol_id = int(symbol_id)
        if symbol_id < 0 or symbol_id >= MAX_SYMBOLS:
            raise ValueError(f"symbol_id: must be in [0, 2**24); got {symbol_id}")
        arr = np.asarray(notionals, dtype=np.float64).ravel()
        bad = np.flatnonzero(~(np.isfinite(arr) & (arr > 0)))
        if bad.size:
            raise ValueError(f"notionals[{bad[0]}]: must be finite and > 0; got {arr[bad[0]]!r}")
        st = self._sym(symbol_id)
        if venue:
            st.venue = int(venue)
        for x in arr:
            st.history.append(float(x))
        st.seen += len(arr)
        st.has_threshold = False
        st.threshold = math.nan

    def run(self, events: np.ndarray, flush: bool = False, index_offset: int = 0, marks=None, thresholds=None):
        """Process an EVENT_DTYPE array in order; return (records, counts) for this run.  Bad
        events are counted by reason and skipped.  ``marks`` (int8, one per event) receives
        :data:`MARKS` codes, ``thresholds`` (float64) the threshold in force at each liquidation
        (NaN elsewhere)."""
        if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE or events.ndim != 1:
            raise ValueError("events: expected a 1-D numpy array of liqcore.types.EVENT_DTYPE")
        if marks is not None and (not isinstance(marks, np.ndarray) or marks.dtype != np.int8
                                  or marks.shape != (len(events),)):
            raise ValueError("marks: expected an int8 array as long as events")
        if thresholds is not None and (not isinstance(thresholds, np.ndarray) or thresholds.dtype != np.float64
                                       or thresholds.shape != (len(events),)):
            raise ValueError("thresholds: expected a float64 array as long as events")
        before = dict(self._counts)
        skipped_before = dict(self._skipped)
        self._records = []
        from liqcore.validate import FILE_TIME_MAX_NS

        t_max = FILE_TIME_MAX_NS  # a batch is a file's events: judged the same on any day
        ts_all = events["ts_event"].tolist()
        n = len(events)
        prev = None
        for i in range(n):
            e = events[i]
            ts_event, ts_recv, symbol_id = int(e["ts_event"]), int(e["ts_recv"]), int(e["symbol_id"])
            venue, kind, side = int(e["venue"]), int(e["kind"]), int(e["side"])
            price, qty = float(e["price"]), float(e["qty"])
            self._counts["events"] += 1
            reason = self._check(ts_event, symbol_id, kind, side, price, qty)
            if reason is None and (ts_event > t_max or self._stray(ts_all, i, n, prev, self.max_time_jump_ns)):
                reason = "time"
            if reason is None:
                reason = self._judge(symbol_id, kind, price, qty, ts_event)
            if reason is not None:
                self._skipped[reason] += 1
                if marks is not None:
                    marks[i] = MARKS["skipped"]
                if thresholds is not None:
                    thresholds[i] = math.nan
                continue
            prev = ts_event
            self._counts["processed"] += 1
            self._process(ts_event, ts_recv, symbol_id, venue, kind, side, price, qty, index_offset + i)
            if marks is not None:
                marks[i] = self._mark
            if thresholds is not None:
                thresholds[i] = self._thr
        if flush:
            self._flush(None)
        counts = {k: self._counts[k] - before[k] for k in _COUNT_KEYS}
        counts["skipped"] = 0
        for r in SKIP_REASONS:
            n = self._skipped[r] - skipped_before[r]
            counts[f"skipped_{r}"] = n
            counts["skipped"] += n
        return np.array(self._records, dtype=CASCADE_DTYPE), counts

    # ---- inspection -----------------------------------------------------------------------------
    def threshold(self, symbol_id: int) -> float:
        """The threshold in force for the symbol (NaN when it has none yet)."""
        st = self._syms.get(int(symbol_id))
        return st.threshold if st is not None and st.has_threshold else math.nan

    def active(self, symbol_id: int) -> bool:
        st = self._syms.get(int(symbol_id))
        return bool(st is not None and st.active)

    @property
    def stats(self) -> dict:
        out = dict(self._counts)
        out["skipped"] = sum(self._skipped.values())
        for r in SKIP_REASONS:
            out[f"skipped_{r}"] = self._skipped[r]
        out["symbols"] = len(self._syms)
        out["active"] = sum(1 for st in self._syms.values() if st.active)
        return out


def _error_message(reason, symbol_id, kind, side, price, qty) -> str:
    if reason == "symbol":
        return f"symbol_id: must be in [0, 2**24) (or -1 for a venue-wide GAP); got {symbol_id}"
    if reason == "kind":
        return f"kind: unknown event kind {kind}"
    if reason == "price":
        return f"price: must be finite and > 0 for a liquidation; got {price!r}"
    if reason == "qty":
        return f"qty: must be finite and > 0 for a liquidation; got {qty!r}"
    if reason == "notional":
        return f"price: price * qty overflows ({price!r} * {qty!r})"
    return f"side: a liquidation needs side LONG (1) or SHORT (2); got {side}"

"""The streaming strategies' event path (an object the engine owns), and the feed guard both event paths share.

Every strategy but the guide's ``cascade-mm`` runs live in its streaming form (``strategy.stream(params,
registry)``, :func:`open_stream`).  :class:`StreamPath` takes the decoded events of such a strategy one by one
in the backtest's order of processing: the feed guard (an event stamped ahead of its receive time, an
implausible price or size: counted in the engine's rejects and dropped), the live queue estimate, the
detector (its records kept by the decision log and, for a strategy that uses them, handed to it), the
strategy's ``on_event``, its ``before`` signals, the event itself (a print: the execution model's fills and
exits; a funding print; a quote for the queue fill rule), then its ``after`` signals.  A signal becomes a
decision through the engine's shell checks and the strategy core (:meth:`StrategyCore.on_signal`); an exit
notice (direction 0, skip code ``SKIP_EXIT``) closes the position of its tag.

The guide's detector-driven path stays in :mod:`liqcore.live.engine` (``Engine._on_rows``); both paths use the
event-kind constants and :func:`count_implausible` of this module.
"""
from __future__ import annotations

import logging

import numpy as np

from liqcore.live.decisions import Decision
from liqcore.types import Kind, SymbolRegistry

__all__ = ["StreamPath", "open_stream", "is_guide", "check_live_strategy", "count_implausible"]

log = logging.getLogger("liqcore.engine")

TRADE = int(Kind.TRADE)
FUNDING = int(Kind.FUNDING)
LIQUIDATION = int(Kind.LIQUIDATION)
MARK = int(Kind.MARK)
QUOTE = int(Kind.QUOTE)
IMPLAUSIBLE_PRICE = -7  # the detector's skip code of an implausible price (SKIP_REASONS[6])
RECV_MIN = 946_684_800_000_000_000  # receive times before 2000 are not clock readings (not compared)
SKIP_EXIT = 2  # a streamed exit notice: direction 0, skip_code SKIP_EXIT, the tag of the position to close


def open_stream(strategy, params, registry: SymbolRegistry):
    """The streaming form of ``strategy`` (``strategy.stream(params, registry)``); a strategy without one is a
    ValueError naming it (checked before anything starts)."""
    make = getattr(strategy, "stream", None)
    try:
        stream = make(params, registry) if make is not None else None
    except NotImplementedError:
        stream = None
    if stream is None or not callable(getattr(stream, "on_event", None)):
        raise ValueError(f"strategy {type(strategy).name}: has no streaming form, so it cannot run live")
    return stream


def is_guide(strategy) -> bool:
    """The guide's ``cascade-mm`` (decided on the detector's records, not streamed)."""
    from liqcore.strategies.cascade_mm import CascadeMM

    return type(strategy) is CascadeMM


def check_live_strategy(params) -> None:
    """Raise ValueError (one line) unless ``params.strategy`` can run live."""
    from liqcore.strategies import resolve_strategy

    obj, p = resolve_strategy(None, params)
    if not is_guide(obj):
        open_stream(obj, p, SymbolRegistry())


def count_implausible(rejects: dict, code: int, sid, kind, price, qty) -> None:
    """Count an implausible event in ``rejects`` by reason (``implausible_price`` / ``implausible_notional``,
    the detector's skip code ``code``); the first of a reason is logged."""
    reason = "implausible_price" if code == IMPLAUSIBLE_PRICE else "implausible_notional"
    n = rejects.get(reason, 0) + 1
    rejects[reason] = n
    if n == 1:
        log.warning("dropped an implausible %s (symbol id %d, price %r, qty %r): %s; later ones are counted in "
                    "the rejects", {1: "liquidation", 2: "trade", 3: "mark"}.get(kind, "event"), sid, price, qty,
                    reason)


class StreamPath:
    """The streaming strategy's event path (see the module docstring), an object the engine owns.

    Given at construction (never rebound): ``stream`` (the strategy's streaming form), ``core`` (the
    :class:`StrategyCore`), ``detector``, ``registry``, ``core_idx`` (symbol id -> core index of the traded
    symbols), ``orders`` (the :class:`OrderManager`: ``core_events``), ``queue_est`` (the live queue estimate),
    ``vclock`` (the :class:`VenueClock`: ``skew_ns``), ``rejects``, ``liq_seen`` and ``liq_times`` (the
    engine's feed tallies, added to here), ``uses_detector`` (records go to the strategy) and ``notes`` /
    ``note_fields`` (the strategy's notes on a signal, or None).

    Calls back: ``keep_record(rec)`` (the decision log keeps a detector record; never decided here),
    ``refusal(ci, sid)`` (the engine's shell checks: not traded, kill switch, halt), ``decided(d, res, ci)`` (the
    order path, which also hands the decision to the decision log) and ``advanced(ts, tr)`` (once per batch:
    the latest venue time seen and its receive time, the engine's detector clock).

    Exposes: :meth:`on_events` (EVENT_DTYPE rows -> decisions), :meth:`on_signal` (one SIGNAL_DTYPE row) and
    :meth:`on_clock` (signals decided by ``now`` that no event revealed)."""

    def __init__(self, stream, core, detector, registry, core_idx: dict, orders, queue_est, vclock, rejects: dict,
                 liq_seen: dict, liq_times, *, uses_detector: bool, notes, note_fields, keep_record, refusal,
                 decided, advanced):
        self.stream = stream
        self.core = core
        self.detector = detector
        self.registry = registry
        self.core_idx = core_idx
        self.orders = orders
        self.queue_est = queue_est
        self.vclock = vclock
        self.rejects = rejects
        self.liq_seen = liq_seen
        self.liq_times = liq_times
        self.uses_detector = uses_detector
        self.notes = notes
        self.note_fields = note_fields
        self.keep_record = keep_record
        self.refusal = refusal
        self.decided = decided
        self.advanced = advanced
        #: ``on_reject(symbol_id, ts_recv, price)``: told of each event dropped here (the web dashboard's price trail)
        self.on_reject = None

    def on_events(self, events: np.ndarray) -> list[Decision]:
        """Per event: the detector (records for the strategy when it uses them), the strategy's ``on_event``,
        its ``before`` signals to the core, the event (a print: the execution model's fills and exits), then
        its ``after`` signals -- the backtest's order of processing."""
        out: list[Decision] = []
        det, core, core_idx, rejects = self.detector, self.core, self.core_idx, self.rejects
        skew = self.vclock.skew_ns
        core_events = self.orders.core_events
        on_event, on_signal, keep, qrow = self.stream.on_event, self.on_signal, self.keep_record, self.queue_est.on_row
        liq_seen, liq_times = self.liq_seen, self.liq_times
        feed_records = self.uses_detector
        plausible = getattr(det, "plausible", None)
        last_ts = last_tr = 0
        try:
            for k, (ts, tr, price, qty, sid, side, kind, venue, _flags) in enumerate(events.tolist()):
                if ts - tr > skew and tr >= RECV_MIN:
                    rejects["future_time"] = rejects.get("future_time", 0) + 1
                    if self.on_reject is not None:
                        self.on_reject(sid, tr, price)
                    continue
                if kind <= MARK and plausible is not None and (bad := plausible(sid, kind, price, qty, ts)):
                    count_implausible(rejects, bad, sid, kind, price, qty)
                    if self.on_reject is not None:
                        self.on_reject(sid, tr, price)
                    continue
                recs = ()
                if (kind == QUOTE or kind == TRADE) and sid in core_idx:  # the live queue estimate
                    qrow(core_idx[sid], tr, kind, side, price, qty)
                try:
                    nrec = det.update(ts, tr, sid, venue, kind, side, price, qty)
                except ValueError as exc:
                    reason = str(exc).split(":", 1)[0] or "invalid"
                    rejects[reason] = rejects.get(reason, 0) + 1
                    nrec = 0
                else:
                    if ts > last_ts:
                        last_ts, last_tr = ts, tr
                if nrec:
                    recs = det.last_records()
                    for rec in recs:
                        keep(rec)
                before, after = on_event(events[k], recs if feed_records else ())
                for g in before:
                    d = on_signal(g)
                    if d is not None:
                        out.append(d)
                if kind == TRADE:
                    ci = core_idx.get(sid)
                    if ci is not None and price > 0 and price == price:
                        core_events(core.on_trade(ci, tr, price, qty))
                elif kind == FUNDING:
                    ci = core_idx.get(sid)
                    if ci is not None and price == price:
                        core.on_funding(ci, tr, price)
                elif kind == LIQUIDATION and sid in core_idx:
                    liq_seen[sid] = liq_seen.get(sid, 0) + 1
                    liq_times.append(tr)
                elif kind == QUOTE and sid in core_idx and getattr(core, "wants_quotes", False):
                    core_events(core.on_quote(core_idx[sid], tr, side, price, qty))
                for g in after:
                    d = on_signal(g)
                    if d is not None:
                        out.append(d)
        finally:
            if last_ts:
                self.advanced(last_ts, last_tr)
        return out

    def on_signal(self, g) -> Decision | None:
        """One streamed signal (a SIGNAL_DTYPE row with the engine's symbol ids): an exit notice closes the
        position of its tag; an entry signal goes through the shell's checks (kill switch, halt) and the
        core's (the execution model's portfolio rules) and becomes an order."""
        sid = int(g["symbol_id"])
        ci = self.core_idx.get(sid)
        ts = int(g["ts_ns"])
        direction = int(g["direction"])
        if direction == 0 and int(g["skip_code"]) == SKIP_EXIT:
            if ci is not None:
                # paper: the core closes at the first print at/after ts + order-latency; venue mode: the core
                # reports it due on that print and the engine closes at market
                self.core.exit_notice(ci, ts, int(g["tag"]), int(g["exit_code"]))
            return None
        try:
            venue, sym = self.registry.lookup(sid)
            vname = venue.name.lower()
        except (IndexError, ValueError):
            vname, sym = "?", "?"
        dom = "long" if direction > 0 else ("short" if direction < 0 else "none")
        d = Decision(vname, sym, sid, int(g["tag"]), ts, dom, "none")
        if self.notes is not None:
            d.notes = self.notes(g)
        if self.note_fields is not None:
            d.note_fields = self.note_fields(g)  # noqa
        res = None
        d.reason = self.refusal(ci, sid)
        if not d.reason:
            row = np.array(g, dtype=g.dtype).reshape(1).copy()
            row["symbol_id"] = ci
            res = self.core.on_signal(row)
        return self.decided(d, res, ci)

    def on_clock(self, now: int) -> None:
        """Signals decided by ``now`` that no event revealed (a bar close on a quiet feed)."""
        for g in self.stream.on_clock(now):
            self.on_signal(g)

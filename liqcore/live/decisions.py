"""What the engine decided on one confirmed cascade (:class:`Decision`), and the bookkeeping of the
detector's records and of the decisions (:class:`DecisionLog`).

It sits below both the engine (which makes them) and the order manager (which turns an ``order``
decision into an intent), so ``live/orders.py`` does not import ``live/engine.py``.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

from liqcore.venues.gateway import OrderIntent
from liqcore.types import CASCADE_DTYPE, RecordKind, SymbolRegistry, dominant_name, venue_name

__all__ = ["Decision", "DecisionLog", "record_dict"]

log = logging.getLogger("liqcore.engine")

_CONFIRMED = int(RecordKind.CONFIRMED)
_END_NAMES = {0: "", 1: "expired", 2: "gap", 3: "flush"}
_REC_FIELDS = CASCADE_DTYPE.names


def record_dict(rec, registry: SymbolRegistry, names: dict | None = None) -> dict:
    """A detector record as a dict of Python scalars; ``names``: a cache of symbol_id -> (venue, symbol)."""
    rec = dict(zip(_REC_FIELDS, rec.item()))  # one conversion to Python scalars
    sid = rec["symbol_id"]
    hit = names.get(sid) if names is not None else None
    if hit is not None:
        vname, sym = hit
    else:
        try:
            venue, sym = registry.lookup(sid)
            vname = venue.name.lower()
            if names is not None:
                names[sid] = (vname, sym)
        except (IndexError, ValueError):
            vname, sym = venue_name(int(rec["venue"])) if int(rec["venue"]) else "?", "?"
    return {
        "record": "confirmed" if int(rec["record"]) == _CONFIRMED else "ended",
        "venue": vname, "symbol": sym, "symbol_id": sid, "cascade_id": int(rec["cascade_id"]),
        "dominant": dominant_name(int(rec["dominant"])), "start_ns": int(rec["start_ns"]),
        "confirm_ns": int(rec["confirm_ns"]), "confirm_recv_ns": int(rec["confirm_recv_ns"]),
        "end_ns": int(rec["end_ns"]), "emit_ns": int(rec["emit_ns"]),
        "long_notional": float(rec["long_notional"]), "short_notional": float(rec["short_notional"]),
        "threshold": float(rec["threshold"]), "n_events": int(rec["n_events"]), "n_large": int(rec["n_large"]),
        "end_reason": _END_NAMES.get(int(rec["end_reason"]), "?"),
    }


@dataclass
class Decision:
    """What the engine decided on one CONFIRMED cascade."""

    venue: str
    symbol: str
    symbol_id: int
    cascade_id: int
    ts_ns: int  # decision time: the confirming event's ts_recv
    dominant: str  # long | short | mixed
    action: str  # "order" | "none"
    reason: str = ""  # why nothing was placed (busy, cooldown, mixed, hours, loss_limit, max_symbols,
    #                   no_reference_price, kill_switch, halted, banned, below_min_qty, not_traded)
    side: str = ""  # order side: buy | sell
    price: float = math.nan
    qty: float = 0.0
    take_profit: float = math.nan
    stop_loss: float = math.nan
    ref_price: float = math.nan
    client_id: str = ""
    intent: OrderIntent | None = None
    notes: str = ""  # the strategy's notes on the signal (liq-trend: the judge's verdict and reasons)
    note_fields: dict = field(default_factory=dict)  # the same by part (liq_note, trend_note, news_note, action_reason)
    #: instrument scope: the venue whose large liquidation fired first, and each venue's share of the cascade
    #: so far (liquidations, large ones, long/short notional, first large liquidation's event/receive time)
    first_venue: str = ""
    shares: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("venue", "symbol", "symbol_id", "cascade_id", "ts_ns", "dominant", "action",
                                           "reason", "side", "price", "qty", "take_profit", "stop_loss", "ref_price",
                                           "client_id", "notes")}
        if self.first_venue:
            d["first_venue"], d["shares"] = self.first_venue, self.shares
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}


class DecisionLog:
    """The bookkeeping of the detector's records and of the engine's decisions: counts, the recent decisions,
    their metrics and journal rows and the user's ``on_cascade`` / ``on_decision`` callbacks (deferred past
    the create write in venue mode on a running loop: :meth:`OrderManager.deferring`).

    Given at construction (never rebound): ``registry``, ``core_idx`` (symbol id -> core index of the traded
    symbols), ``orders`` (its ``books`` and the deferral), ``checks`` (the go-live tallies), ``metrics``,
    ``journal`` (or None), the callbacks ``on_cascade`` / ``on_decision`` (or None) and ``annotate`` (or None: an
    instrument-scope detector's :meth:`~liqcore.live.xscope.InstrumentDetector.annotate`, which writes the venue
    shares and the first venue on each decision before it is kept).

    Calls back: ``on_error()`` (a failed bookkeeping step or callback).

    Exposes: ``decisions`` (the recent ones, bounded), ``cascades`` (confirmed so far), ``blocked`` (cascades
    the shell refused, by reason), ``outcomes`` (every decision, by outcome: ``order`` or the reason), ``names``
    (symbol id -> (venue, symbol) cache); :meth:`record` (a detector record in: its dict out), :meth:`emit` (a
    finished decision)."""

    def __init__(self, registry, core_idx: dict, orders, checks: dict, metrics, journal, *, on_error,
                 on_cascade=None, on_decision=None, annotate=None, clock=None):
        self.registry = registry
        self.core_idx = core_idx
        self.orders = orders
        self.checks = checks
        self.metrics = metrics
        self.journal = journal
        self.on_error = on_error
        self.on_cascade = on_cascade
        self.on_decision = on_decision
        self.annotate = annotate
        self.clock = clock or time.time_ns
        self.decisions: list[Decision] = []  # recent decisions (bounded)
        self.cascades = 0
        self.blocked: dict[str, int] = {}  # cascades the shell refused (kill_switch, halted)
        self.outcomes: dict[str, int] = {}  # every decision by outcome: "order" or its reason (e.g. no_instrument)
        self.names: dict[int, tuple[str, str]] = {}  # symbol_id -> (venue, symbol) of detector records

    def record(self, rec) -> dict:
        """A detector record: counted (a confirmed one per symbol for the checklist, and on its book), its
        metrics, journal row and ``on_cascade`` callback run (or are deferred); returns it as a dict."""
        info = record_dict(rec, self.registry, self.names)
        if info["record"] == "confirmed":
            self.cascades += 1
            c = self.checks["cascades"]
            c[info["symbol"]] = c.get(info["symbol"], 0) + 1
            if info["symbol_id"] in self.core_idx:
                book = self.orders.books.get(info["symbol"])
                if book is not None:
                    book.last_cascade = f"{info['dominant']} {info['n_large']} large"
        # its journal row's time: on the receive clock of every other row (a confirmed record's own receive time;
        # an ended one's emit_ns is the market's event time, so the time it became known here)
        ts = info["confirm_recv_ns"] if info["record"] == "confirmed" else self.clock()
        om = self.orders
        if om.deferring():
            om.defer(self._record_books_at, (info, ts))
        else:
            self._record_books(info, ts)
        return info

    def _record_books_at(self, item: tuple) -> None:  # (a deferred call's one argument: the record and its time)
        self._record_books(*item)

    def _record_books(self, info: dict, ts: int) -> None:
        """A detector record's metrics, journal row (at ``ts``) and ``on_cascade`` callback."""
        try:
            if info["record"] == "confirmed":
                self.metrics.inc("liqcore_cascades_total", venue=info["venue"], symbol=info["symbol"])
            if self.journal is not None:
                self.journal.cascade(info, ts)
        except Exception:
            self.on_error()
            log.exception("cascade bookkeeping failed")
        if self.on_cascade is not None:
            try:
                self.on_cascade(info)
            except Exception:
                self.on_error()
                log.exception("on_cascade callback failed")

    def skipped_in_ban(self, venue: str, sid: int, ban: str, ts_ns: int) -> None:
        """A signal skipped while ``venue`` bans this IP (``ban``: the ban's line): one line on
        ``liqcore.governor.skip`` (stderr, also under ``liqcore run --log``) and a ``banned`` journal row; the
        decision itself carries the reason ``banned`` (its row, the decisions output, the metrics)."""
        try:
            feed, symbol = self.registry.lookup(sid)
        except (KeyError, IndexError, ValueError):
            feed, symbol = venue, str(sid)
        logging.getLogger("liqcore.governor.skip").error("%s: signal on %s skipped, not sent into the ban: %s",
                                                         venue, symbol, ban)
        if self.journal is not None:
            self.journal.note("banned", {"venue": venue, "feed": feed, "symbol": symbol, "ban": ban}, ts_ns,
                              key=symbol)

    def emit(self, d: Decision) -> None:
        """A finished decision: refusals by the kill switch or a halt counted, kept with the recent ones (and on
        its symbol's book), its metrics, journal row and ``on_decision`` callback run (or deferred)."""
        if self.annotate is not None:
            self.annotate(d)
        if d.reason in ("kill_switch", "halted", "banned"):
            self.blocked[d.reason] = self.blocked.get(d.reason, 0) + 1
        k = d.reason or d.action
        self.outcomes[k] = self.outcomes.get(k, 0) + 1
        self.decisions.append(d)
        if len(self.decisions) > 1000:
            del self.decisions[:500]
        om = self.orders
        book = om.books.get(d.symbol)
        if book is not None:
            book.recent.append(d)
            del book.recent[:-20]
        if om.deferring():
            om.defer(self._decision_books, d)
        else:
            self._decision_books(d)

    def _decision_books(self, d: Decision) -> None:
        """A decision's metrics, journal row and ``on_decision`` callback."""
        try:
            self.metrics.inc("liqcore_decisions_total", outcome=d.reason or d.action)
            if self.journal is not None:
                self.journal.decision(d.to_dict(), d.ts_ns)
        except Exception:
            self.on_error()
            log.exception("decision bookkeeping failed")
        if self.on_decision is not None:
            try:
                self.on_decision(d)
            except Exception:
                self.on_error()
                log.exception("on_decision callback failed")

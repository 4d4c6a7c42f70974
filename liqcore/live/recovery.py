"""Recovery: what a (re)started engine learns from its journal and the venue.

Decided by pure functions, applied by the engine:

* :func:`restore_plan` ``(journal records, the engine's symbols, params, now) -> RestorePlan``: the books,
  the strategy core's partial snapshot (positions, resting entries, cooldowns, loss-limit anchors), the
  equity, the client-id sequence and the intents to send again.  Journaled but maybe never sent: an entry
  still ``pending`` and younger than its entry-timeout is sent again (same client_id: the gateway's
  idempotent place resolves it); an older one is never sent (the reconcile asks the venue about it).
* :func:`reconcile_entry` ``(a working entry, the venue's answer about it, params, now) -> EntryPlan``: in
  venue mode, after a restart, for every entry the journal holds as working: an entry older than its
  entry-timeout is never (re)sent (cancelled if it rests, closed as ``stale_intent`` if the venue never
  got it), and a fill the engine missed is applied.
* :func:`unknown_positions` ``(the venue's positions, the books) -> [(symbol, size)]``: positions the
  journal does not know (reported, left alone).

:class:`Recovery` is the part of :class:`liqcore.live.engine.Engine` that reads the journal, asks the
venue and applies those plans (a streaming strategy's own state, when it has ``snapshot``/``restore``,
is saved and restored here too).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from liqcore.live.gateway import Fill, GatewayError, OrderIntent, OrderUpdate

__all__ = ["Recovery", "RestorePlan", "BookPlan", "EntryPlan", "restore_plan", "reconcile_entry", "is_stale",
           "unknown_positions", "ANCHORS"]

log = logging.getLogger("liqcore.engine")

#: the loss-limit anchors (UTC day/week and the equity at their start) that survive restarts
ANCHORS = ("day", "week", "day_start_equity", "week_start_equity")


# ---------------------------------------------------------------- the plans (pure)
@dataclass
class BookPlan:
    """One symbol's book as the journal left it (fields of :class:`liqcore.live.orders._Book`)."""

    entry: OrderIntent | None = None
    entry_status: str = ""
    position_qty: float | None = None  # None: leave the book's as it is
    entry_price: float | None = None
    entry_ns: int | None = None


@dataclass
class RestorePlan:
    empty: bool = True
    seq: int = 0
    equity: float | None = None
    #: the strategy core's partial snapshot (``StrategyCore.restore``)
    core: dict = field(default_factory=lambda: {"portfolio": {}, "symbols": {}})
    books: dict[str, BookPlan] = field(default_factory=dict)
    #: paper mode: ``(intent, status, filled_qty, entry_price)`` for ``PaperGateway.restore``
    paper: list[tuple] = field(default_factory=list)
    #: journaled intents to send again (still pending, younger than their entry-timeout)
    resend: list[OrderIntent] = field(default_factory=list)
    stream: object = None  # a streaming strategy's saved state (``{"strategy": name, "state": ...}``)
    counts: tuple[int, int, int] = (0, 0, 0)  # open orders, positions, cooldowns in the journal


def _intent(d: dict) -> OrderIntent:
    return OrderIntent(**{k: v for k, v in d.items() if k in OrderIntent.__dataclass_fields__})


def is_stale(intent: OrderIntent, params, now_ns: int, row: dict | None = None) -> bool:
    """An entry decided longer than its symbol's ``entry-timeout`` ago (it must not be sent any more)."""
    born = int(intent.decision_ns or 0) or int((row or {}).get("created_ns") or 0)
    return born > 0 and now_ns - born > params.for_symbol(intent.symbol).entry_timeout_ns


def restore_plan(rec, symbols: dict[str, str], params, *, paper: bool, now_ns: int,
                 held: dict[str, float] | None = None) -> RestorePlan:
    """The state to resume from.  ``rec``: the journal's :class:`~liqcore.live.journal.Recovered`;
    ``symbols``: traded symbol -> its core key (``venue:symbol``); ``held``: the books' positions now (a
    symbol holding one takes no resting entry back)."""
    plan = RestorePlan(stream=rec.state.get("stream"))
    if rec.empty:
        return plan
    plan.empty, plan.seq, plan.equity = False, rec.seq, rec.equity
    plan.counts = (len(rec.open_orders), len(rec.positions), len(rec.cooldowns))
    portfolio, syms = plan.core["portfolio"], plan.core["symbols"]
    anchors = rec.state.get("loss_anchors")
    if isinstance(anchors, dict):
        portfolio.update({k: anchors[k] for k in ANCHORS if k in anchors})
    held = dict(held or {})
    for sym, until in rec.cooldowns.items():
        if sym in symbols:
            syms.setdefault(symbols[sym], {})["cooldown_until_ns"] = int(until)
    for sym, pos in rec.positions.items():
        if sym not in symbols:
            continue
        side = "buy" if pos.get("side") == "buy" else "sell"
        row = {"status": "open", "side": side, "entry_price": float(pos["entry_price"]),
               "entry_ns": int(pos.get("entry_ns") or 0), "funding": 0.0}
        for src_k, dst_k, cast in (("take_profit", "tp_price", float), ("stop_loss", "sl_price", float),
                                   ("notional", "notional", float), ("hold_deadline_ns", "hold_deadline_ns", int)):
            if pos.get(src_k):  # missing levels come from the symbol's parameters
                row[dst_k] = cast(pos[src_k])
        syms.setdefault(symbols[sym], {}).update(row)
        qty = (1 if side == "buy" else -1) * float(pos["qty"])
        held[sym] = qty
        book = plan.books.setdefault(sym, BookPlan())
        book.position_qty, book.entry_price, book.entry_ns = qty, float(pos["entry_price"]), int(pos.get("entry_ns") or 0)
        it = pos.get("intent")
        if isinstance(it, dict):
            book.entry, book.entry_status = _intent(it), "filled"
            if paper:
                plan.paper.append((book.entry, "filled", abs(qty), book.entry_price))
    for cid, row in rec.open_orders.items():
        it = row.get("intent")
        sym = row.get("symbol")
        if not isinstance(it, dict) or sym not in symbols or row.get("kind") != "entry":
            continue
        if held.get(sym):
            continue
        intent = _intent(it)
        meta = intent.meta if isinstance(intent.meta, dict) else {}
        ref = meta.get("ref_price")
        syms.setdefault(symbols[sym], {}).update({
            "status": "resting", "side": intent.side, "limit_price": float(intent.price),
            "ref_price": float(ref) if isinstance(ref, (int, float)) and ref > 0 else None,
            "cascade_id": int(meta.get("cascade_id", -1)) if isinstance(meta.get("cascade_id", -1), int) else -1,
            "signal_ns": int(intent.decision_ns), "arrive_ns": int(intent.decision_ns),
            "entry_deadline_ns": int(intent.decision_ns) + params.for_symbol(sym).entry_timeout_ns})
        book = plan.books.setdefault(sym, BookPlan())
        book.entry, book.entry_status = intent, row.get("status") or "pending"
        if paper:
            plan.paper.append((intent, "new", 0.0, 0.0))
        elif row.get("status") == "pending" and not is_stale(intent, params, now_ns, row):
            plan.resend.append(intent)
        # (a pending intent older than entry-timeout is never sent: the reconcile asks the venue about it)
    return plan


@dataclass
class EntryPlan:
    """What to do about one working entry after asking the venue (see :func:`reconcile_entry`)."""

    update: OrderUpdate | None = None  # report this state (``_on_update``)
    fill: Fill | None = None  # then this fill the engine missed
    cancel: bool = False  # then cancel it (it rests past its entry-timeout)
    ask_later: bool = False  # the venue could not be asked and the entry is stale: "unknown", asked again
    drop_pending: bool = False  # never resend it
    note: str = ""  # what the log says


def reconcile_entry(entry: OrderIntent, position_qty: float, answer, params, now_ns: int) -> EntryPlan:
    """``answer``: the venue's :class:`OrderUpdate` of ``entry``, None (never reached the venue) or the
    :class:`GatewayError` of the query."""
    cid, sym = entry.client_id, entry.symbol
    stale = is_stale(entry, params, now_ns)
    if isinstance(answer, BaseException):
        return EntryPlan(ask_later=stale, note=f"reconcile of {cid} failed: {answer}")
    u = answer
    note = ""
    if u is None:
        if not stale:
            return EntryPlan()  # never reached the venue: the pending intent is sent again (same client_id)
        note = (f"reconcile: {cid} decided {(now_ns - entry.decision_ns) / 1e9:.0f}s ago never reached the venue; "
                f"not sent (older than entry-timeout)")
        u = OrderUpdate(cid, "cancelled", sym, reason="stale_intent", kind="entry", ts_ns=now_ns)
    plan = EntryPlan(update=u, drop_pending=True, note=note)
    # the update ends an unfilled entry (a rejected/cancelled/deactivated entry without a position): no fill then
    ends = u.kind == "entry" and u.client_id == cid and u.status in ("rejected", "cancelled", "deactivated") \
        and not position_qty
    if not ends and u.filled_qty > 0 and u.status in ("filled", "partially_filled", "cancelled") \
            and u.filled_qty > abs(position_qty) + 1e-12:
        plan.fill = Fill(cid, sym, entry.side, u.avg_price or entry.price, u.filled_qty - abs(position_qty), 0.0, True,
                         exec_id=f"reconcile-{cid}", kind="entry", ts_ns=u.ts_ns or now_ns)
    if stale and u.status in ("pending", "new", "partially_filled"):
        plan.cancel = True
    return plan


def unknown_positions(venue_positions, books: dict) -> list[tuple[str, float]]:
    """The venue's positions the journal does not know: ``[(symbol, size)]``."""
    return [(p.symbol, p.size) for p in venue_positions
            if p.symbol in books and p.size > 0 and not books[p.symbol].position_qty]


# ---------------------------------------------------------------- the engine part that applies them
class Recovery:
    """Restore and reconcile (a part of the engine; see the module docstring)."""

    _ANCHORS = ANCHORS

    def _save_anchors(self) -> None:
        """The loss-limit anchors (UTC day/week and the equity at their start) survive restarts."""
        if self.journal is not None:
            port = self.core.snapshot()["portfolio"]
            self.journal.set_state("loss_anchors", {k: port[k] for k in ANCHORS})

    def _set_equity(self, value: float) -> None:
        self.core.set_equity(float(value))

    def _restore(self) -> None:
        if self.journal is None:
            return
        symbols = {sym: f"{self.traded[ci][0]}:{sym}" for sym, (_, ci) in self._by_symbol.items()}
        plan = restore_plan(self.journal.recover(), symbols, self.params, paper=self.paper, now_ns=time.time_ns(),
                            held={s: b.position_qty for s, b in self.books.items() if b.position_qty})
        self._restore_stream(plan.stream)
        if plan.empty:
            return
        self._seq = max(self._seq, plan.seq)
        if plan.equity is not None:
            self._set_equity(plan.equity)
        for sym, bp in plan.books.items():
            book = self.books[sym]
            if bp.position_qty is not None:
                book.position_qty, book.entry_price, book.entry_ns = bp.position_qty, bp.entry_price, bp.entry_ns
            if bp.entry is not None:
                book.entry, book.entry_status = bp.entry, bp.entry_status
        for args in plan.paper:
            self.gateway.restore(*args)
        self.pending.extend((intent, 0) for intent in plan.resend)
        self.core.restore(plan.core)
        n_open, n_pos, n_cool = plan.counts
        log.info("restored from journal: %d open orders, %d positions, %d cooldowns, equity %.2f, seq %d",
                 n_open, n_pos, n_cool, self.core.equity, self._seq)

    def _save_stream(self) -> None:
        """A streaming strategy's state (its optional ``snapshot()``) survives a restart in the journal."""
        snap = getattr(self.stream, "snapshot", None) if self.stream is not None else None
        if snap is None or self.journal is None:
            return
        try:
            self.journal.set_state("stream", {"strategy": type(self.strategy).name, "state": snap()})
        except Exception:
            self.errors += 1
            log.exception("streaming strategy state not saved")

    def _restore_stream(self, saved) -> None:
        restore = getattr(self.stream, "restore", None) if self.stream is not None else None
        if restore is None or not isinstance(saved, dict) or saved.get("strategy") != type(self.strategy).name:
            return
        try:
            restore(saved.get("state"))
            log.info("streaming strategy %s restored from the journal", saved["strategy"])
        except Exception:
            self.errors += 1
            log.exception("streaming strategy state not restored (it starts afresh)")

    def _stale(self, intent: OrderIntent, row: dict | None = None, now_ns: int | None = None) -> bool:
        """An entry decided longer than its symbol's ``entry-timeout`` ago (it must not be sent any more)."""
        return is_stale(intent, self.params, time.time_ns() if now_ns is None else now_ns, row)

    async def _reconcile(self) -> None:
        """Venue mode after a restart: ask the venue about every entry the journal holds as working and apply
        :func:`reconcile_entry`'s plan; then report the venue's positions the journal does not know."""
        now = time.time_ns()  # ages as of the restart
        for sym, book in self.books.items():
            if book.entry is None or book.position_qty or book.entry_status not in self.WORKING_STATUSES:
                continue
            entry = book.entry
            try:
                answer = await self.gateway.query(sym, entry.client_id)
            except GatewayError as exc:
                answer = exc
            plan = reconcile_entry(entry, book.position_qty, answer, self.params, now)
            if isinstance(answer, GatewayError):
                log.error("%s", plan.note)
            elif plan.note:
                log.warning("%s", plan.note)
            if plan.ask_later:  # never resent; asked again (once attached) until the venue answers
                book.entry_status = "unknown"
                self._ask_later.append(entry)
            if plan.drop_pending:
                self.pending = [(i, r) for i, r in self.pending if i.client_id != entry.client_id]
            if plan.update is not None:
                self._on_update(plan.update)
            if plan.fill is not None and book.entry is not None:
                self._on_fill(plan.fill)
            if plan.cancel:
                log.warning("reconcile: %s rests at the venue past its entry-timeout; cancelling it", entry.client_id)
                book.cancel_sent = True
                await self._cancel(sym, entry.client_id)
        try:
            venue_positions = await self.gateway.positions()
        except GatewayError as exc:
            log.error("reconcile: positions not read: %s", exc)
            return
        for sym, size in unknown_positions(venue_positions, self.books):
            log.warning("reconcile: %s position of %g on the venue that the journal does not know; "
                        "it is left alone (its venue TP/SL stay)", sym, size)

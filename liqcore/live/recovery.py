"""Recovery: what a (re)started engine learns from its journal and the venue.

The details: docs/maintainers/live-gateways.md, "Recovery (liqcore.live.recovery)".

May import: the standard library this package's ``gateway``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from liqcore.venues.gateway import Fill, OrderIntent, OrderUpdate

__all__ = ["RestorePlan", "BookPlan", "EntryPlan", "restore_plan", "reconcile_entry", "is_stale",
           "unknown_positions", "ANCHORS"]

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
    """The state to resume from.  ``rec``: the journal's :class:`~liqcore.live.journal_queries.Recovered`;
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

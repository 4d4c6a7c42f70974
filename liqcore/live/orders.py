"""The order manager: the life of every order the engine decides, and its journal rows.

The details: docs/maintainers/live-gateways.md, "The order manager (liqcore.live.orders)".

Why one module: its single job is the order lifecycle, from the decision to the final
state at shutdown (build, journal ahead, send, read the answers and fills back, close, cancel and confirm
at shutdown); the shutdown's batch cancel-and-confirm loop is the largest part and reads the same books.

May import: ``venues.instruments``, ``execution.arrays`` (inverse fills in USD) and this package's ``decisions``,
``gateway``, ``recovery``, ``journal`` (its constants).
"""
from __future__ import annotations

import asyncio
import logging
import os
import secrets as _secrets
import time
from dataclasses import dataclass, field

from liqcore.live.decisions import Decision
from liqcore.live.dropped import Dropped
from liqcore.live.journal import NEVER_SENT
from liqcore.execution.arrays import fill_usd
from liqcore.venues.gateway import Fill, GatewayError, OrderIntent, OrderUpdate
from liqcore.live.recovery import ANCHORS
from liqcore.live.protect import Protection
from liqcore.live.stopread import read_venue, split_finals
from liqcore.live.unknowns import Unknowns
from liqcore.venues.instruments import DEFAULT_INSTRUMENTS, Instrument

__all__ = ["OrderManager", "make_client_id", "per_minute"]

log = logging.getLogger("liqcore.engine")

_EXIT_REASON = {"tp": "take_profit", "sl": "stop_loss", "exit": "timeout"}

_RAND: list[str] = []
_RAND_PID = [0]


def _rand6() -> str:
    """Six random hex digits from the OS CSPRNG, drawn 256 at a time (one ``urandom`` per 256 ids; a
    forked process draws its own)."""
    pid = os.getpid()
    if not _RAND or _RAND_PID[0] != pid:
        raw = _secrets.token_bytes(3 * 256)
        _RAND[:] = [raw[i:i + 3].hex() for i in range(0, len(raw), 3)]
        _RAND_PID[0] = pid
    return _RAND.pop()


def _rand_topup(low: int = 64) -> None:
    """Refill the random-suffix pool ahead of use (off the order path: the engine's warm path)."""
    pid = os.getpid()
    if _RAND_PID[0] != pid:
        _RAND.clear()  # a forked process never reuses its parent's draws
    if len(_RAND) < low:
        raw = _secrets.token_bytes(3 * 256)
        _RAND[:0] = [raw[i:i + 3].hex() for i in range(0, len(raw), 3)]  # pop() takes from the end
        _RAND_PID[0] = pid


def make_client_id(symbol: str, seq: int) -> str:
    """A short orderLinkId, ``lc-<base>-<seq>-<rand>`` (<= 36 chars), unique within a session by
    construction: the engine gives every id it makes the next value of its order sequence
    (``OrderManager.seq``, kept across restarts in the journal), and ``lc-<base>-<seq>-`` is never cut
    (at most 3 + 10 + 1 + 20 + 1 = 35 chars for any 64-bit ``seq``); only the random suffix, which tells
    sessions apart, gives way to the 36-char limit."""
    base = symbol.upper()
    for q in ("USDT", "USDC", "USD"):
        if base.endswith(q) and len(base) > len(q):
            base = base[: -len(q)]
            break
    head = f"lc-{base[:10]}-{int(seq)}-"
    if len(head) >= 36:  # (a sequence beyond 64 bits: the id would no longer name it whole)
        raise ValueError(f"seq: {seq} is too long for a 36-character client order id")
    return head + _rand6()[: 36 - len(head)]


@dataclass
class _Book:
    """The engine's view of one traded symbol (orders and position as the gateway reports them)."""

    entry: OrderIntent | None = None
    entry_status: str = ""
    position_qty: float = 0.0  # signed base qty (+ long)
    entry_price: float = 0.0
    entry_ns: int = 0
    closing: str = ""  # client_id of a market close in flight
    close_reason: str = ""  # why the engine closes it (the ledger's exit reason of that close)
    cancel_sent: bool = False
    cancel_due: bool = False  # the core's timeout came while the entry was unknown: cancelled once found resting
    early: list = field(default_factory=list)  # exit fills that came before their entry's fill (booked after it)
    realized: float = 0.0
    trades: int = 0
    last_cascade: str = ""
    recent: list = field(default_factory=list)


def per_minute(times, t_ns: int) -> float:
    """The times (receive clock, oldest first) in the minute up to ``t_ns``: the traded symbols' liquidation
    rate journaled with each send, which a backtest's latency draw can be conditioned on."""
    lo = t_ns - 60_000_000_000
    n = 0
    for x in reversed(times):  # (receive order: newest last)
        if x <= lo:
            break
        n += x <= t_ns
    return float(n)

class OrderManager:
    """The order lifecycle and its journal rows (see the module docstring).

    Given at construction (never rebound): ``core`` (the :class:`StrategyCore` the decisions come from and
    the venue's reports go to), ``gateway``, ``journal`` (or None), ``metrics``, ``checks`` (the go-live
    tallies: :func:`liqcore.live.views.new_checks`), ``traded`` ((venue, symbol) in core order), ``by_symbol``
    (symbol -> (symbol id, core index)), ``paper``, ``exits``, ``notional``, the instrument table
    (``instruments``: symbol -> mapping, the caller's), ``now_ns`` (the engine's clock), ``replay_clock``
    (() -> the replay's clock, None live: :meth:`local_ns`), and the user's ``on_update`` / ``on_fill`` callbacks.

    Calls back: ``on_error()`` (a failure caught: the engine's error count), ``on_entry_ended(filled)`` (the
    fill-rate alarm's window) and ``liq_rate(t_ns)`` (the liquidation rate journaled with each send).

    Exposes: the per-symbol ``books`` (and ``by_index``, the same books in core order), ``pending`` (intents
    waiting for a loop), ``tasks``, ``loop``, ``seq`` (the client-id sequence), ``stopping`` / ``closing``,
    the counters ``orders``, ``fills``, ``fill_kinds``; the order path: :meth:`place_entry`, :meth:`adopt`
    (an entry the fast lane already wrote), :meth:`entry_intent` / :meth:`book_entry` / :meth:`written`
    (the fast lane's building blocks), :meth:`core_events` (the core's events: paper fills, venue-mode
    cancels and closes), the gateway's reports :meth:`report_update` / :meth:`report_fill`, the deferred
    bookkeeping (:meth:`defer`, :meth:`deferring`, :meth:`run_books`), :meth:`instrument`, and the lifecycle
    :meth:`attach`, :meth:`dispatch`, :meth:`drain`, :meth:`cancel_all`."""

    #: entry statuses that may rest at the venue (a partially filled entry's remainder included)
    WORKING_STATUSES = ("pending", "new", "partially_filled", "unknown")

    def __init__(self, core, gateway, journal, metrics, checks, traded: list, by_symbol: dict, *, paper: bool,
                 exits: str, notional: float | None, instruments: dict, now_ns, on_error, on_entry_ended, liq_rate,
                 on_update=None, on_fill=None, queue_est=None, replay_clock=None):
        self.core = core
        self.gateway = gateway
        self.journal = journal
        self.metrics = metrics
        self.checks = checks
        self.by_symbol = by_symbol
        self.paper = paper
        self.exits = exits
        self.notional = notional
        self.now_ns = now_ns
        self.replay_clock = replay_clock  # () -> the engine's replay clock (None live): see local_ns
        self.on_error = on_error
        self.on_entry_ended = on_entry_ended
        self.liq_rate = liq_rate
        self.on_update = on_update
        self.on_fill = on_fill
        self.queue_est = queue_est  # the live queue estimate (liqcore.live.queue_estimate.LiveQueue), told of updates
        self.books: dict[str, _Book] = {s: _Book() for _, s in traded}
        self.by_index = [self.books[s] for _, s in traded]
        self._instr: dict[str, Instrument] = {}
        for s, m in {**DEFAULT_INSTRUMENTS, **(instruments or {})}.items():
            self._instr[s.upper()] = Instrument.from_mapping(s.upper(), m)
        self._instr_given = {str(s).upper() for s in (instruments or {})}  # the caller's table wins over the venue's
        self.pending: list[tuple[OrderIntent, int]] = []  # intents waiting for a loop: (intent, recv_ns)
        self.tasks: set[asyncio.Task] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.seq = 0
        self.orders = 0
        self.fills = 0
        self.fill_kinds = {"entry": 0, "exit": 0}
        self.books_q: list = []  # bookkeeping deferred past the create write: (fn, arg)
        self._books_timer = None
        #: seconds the deferred bookkeeping waits after a decision (venue mode on a running loop), so the
        #: loop reads the venue's answer and market data first; an order update or fill runs it at once
        self.books_delay = 0.001
        self.inflight: set = set()  # creates written by the gateway's send_now, answer not yet read
        self.stopping = False
        self.closing = False  # shutdown began: no create leaves any more
        self._entry_booked: dict[str, float] = {}  # client_id -> the entry fills' quantity booked this session
        self.unknown_tasks: set[asyncio.Task] = set()  # queries of creates the venue never confirmed
        self.ask_later: list[OrderIntent] = []  # entries the venue could not be asked about at reconcile
        #: orders whose create, cancel or close outcome is unknown: asked about by client id, journaled
        self.unknowns = Unknowns(self)
        #: the open positions' protection: the gateway's reports journaled, the 30 s watchdog
        self.protection = Protection(self)
        self.dropped = Dropped(self)  # entries dropped: one the venue still holds is cancelled, its fills booked

    # ------------------------------------------------------------------ instruments
    def load_venue_instruments(self, traded: list) -> None:
        """A venue gateway's instruments (loaded at its start) replace the shipped table for the traded symbols
        (not the ones the caller passed as ``instruments=``)."""
        if self.paper:
            return
        for _, sym in traded:
            if sym in self._instr_given:
                continue
            try:
                raw = self.gateway.instrument(sym)
                if raw is not None:
                    self._instr[sym] = Instrument.from_mapping(sym, raw)
            except (ValueError, KeyError):
                pass

    def use_only(self, rules: dict) -> None:
        """The venue's instrument list (symbol -> :class:`Instrument` or its mapping) is the whole table: the
        shipped one is dropped, so an order on a symbol the list does not hold is refused (``no_instrument``)."""
        self._instr = {str(s).upper(): Instrument.from_mapping(str(s).upper(), m) for s, m in rules.items()}
        self._instr_given = set(self._instr)

    def add_books(self, symbols) -> None:
        """New traded symbols (next in core order): an empty book each."""
        for s in symbols:
            if s not in self.books:
                self.books[s] = _Book()
                self.by_index.append(self.books[s])

    def instrument(self, symbol: str) -> Instrument:
        inst = self._instr.get(symbol)
        if inst is None:
            try:
                raw = self.gateway.instrument(symbol)
                if raw is not None:
                    inst = self._instr[symbol] = Instrument.from_mapping(symbol, raw)
            except (ValueError, KeyError):
                inst = None
        if inst is None:
            raise ValueError(f"instruments: no tick size / qty step known for {symbol} (pass instruments=)")
        return inst

    def known_rules(self, symbols) -> dict[str, list]:
        """symbol -> ``[tick size, qty step, min qty, min notional, max qty (None: none)]`` of each of ``symbols``
        whose trading rules are held now (the session note: a replay of the session trades on the same grids)."""
        return {s: [i.tick_size, i.qty_step, i.min_qty, i.min_notional, i.max_qty if i.max_qty < float("inf") else None]
                for s in symbols if (i := self._instr.get(s)) is not None}

    def instrument_key(self, symbol: str) -> int:
        """Identity of the symbol's current instrument (a prepared entry is stale once it changes)."""
        return id(self._instr.get(symbol))

    # ------------------------------------------------------------------ deferred bookkeeping
    def deferring(self) -> bool:
        """Venue mode on a running loop: bookkeeping that the order does not need (journal rows of cascades
        and decisions, metrics, ``on_cascade`` / ``on_decision`` callbacks) runs after the create request is
        written and the loop has polled its sockets (:attr:`books_delay` later, or at once when an order
        update, fill or clock tick comes first, so journal rows keep their order); the intent's write-ahead
        stays before the send."""
        loop = self.loop
        return not self.paper and loop is not None and loop.is_running()

    def defer(self, fn, arg) -> None:
        self.books_q.append((fn, arg))
        if self._books_timer is None:
            self._books_timer = self.loop.call_later(self.books_delay, self.run_books)

    def run_books(self) -> None:
        """Run the deferred bookkeeping now, in the order it was queued."""
        if self._books_timer is not None:
            self._books_timer.cancel()
            self._books_timer = None
        while self.books_q:
            q, self.books_q = self.books_q, []
            for fn, arg in q:
                fn(arg)

    def save_anchors(self) -> None:
        """The loss-limit anchors (UTC day/week and the equity at their start) survive restarts."""
        if self.journal is not None:
            port = self.core.snapshot()["portfolio"]
            self.journal.set_state("loss_anchors", {k: port[k] for k in ANCHORS})

    def entry_intent(self, symbol: str, venue: str, res: dict, ci: int, seq: int, ts_ns: int, cascade_id: int,
                      fractions: tuple[float, float] | None = None) -> tuple[OrderIntent | None, str, tuple]:
        """The core's ``order`` decision ``res`` as an intent on the instrument's grid: a post-only limit (BUY
        rounded down, SELL up) or a market entry (qty from the reference price), with the venue's take-profit
        / stop-loss attached to a limit entry when the venue holds the exits.  ``(intent, "", (take_profit,
        stop_loss))`` or ``(None, reason, ())``.  ``fractions``: the entry's (take-profit, stop-loss) fractions
        (default: the core's)."""
        side = res["side"]
        market = res.get("entry") == "market"
        try:
            inst = self.instrument(symbol)
        except ValueError:
            return None, "no_instrument", ()
        ref = float(res["ref_price"])
        if market:
            if not (ref > 0 and ref < float("inf")):
                return None, "no_reference_price", ()
            price = inst.round_price(ref, side)
        else:
            price = inst.round_price(res["price"], side)
        if self.notional is not None:
            notional = self.notional
        elif "notional" in res:
            notional = float(res["notional"])
        else:
            notional = self.core.entry_notional(ci)
        cu = self.core.contract_usd(ci)
        if cu > 0:  # an inverse contract: whole contracts of cu USD (the venue's qty), the instrument's step on them
            qty = inst.round_qty(notional / cu)
            if qty <= 0:
                return None, "below_min_qty", ()
        else:
            qty = inst.order_qty(notional, price)
            if qty <= 0:
                return None, "below_min_qty" if inst.round_qty(notional / price) <= 0 else "below_min_notional", ()
        # TP/SL from the rounded entry price (the fill price of a maker limit entry); a market entry's levels
        # follow its fill (set on the position then)
        tp = sl = 0.0
        if not market:
            tp_frac, sl_frac = self.core.exit_fractions(ci) if fractions is None else fractions
            if side == "buy":
                tp = inst.round_price(price * (1 + tp_frac), "sell") if tp_frac > 0 else 0.0
                sl = inst.round_price(price * (1 - sl_frac), "buy") if sl_frac > 0 else 0.0
            else:
                tp = inst.round_price(price * (1 - tp_frac), "buy") if tp_frac > 0 else 0.0
                sl = inst.round_price(price * (1 + sl_frac), "sell") if sl_frac > 0 else 0.0
        venue_exits = self.paper or self.exits == "venue"
        return OrderIntent(symbol=symbol, side=side, qty=qty, price=price, client_id=make_client_id(symbol, seq),
                           post_only=not market, take_profit=tp if venue_exits else 0.0,
                           stop_loss=sl if venue_exits else 0.0, kind="entry",
                           order_type="market" if market else "limit", decision_ns=ts_ns,
                           meta={"cascade_id": cascade_id, "ref_price": ref, "venue": venue}), "", (tp, sl)

    def place_entry(self, d: Decision, res: dict, ci: int) -> None:
        """The core's ``order`` decision as an intent (:meth:`_entry_intent`); journaled, then dispatched.  A
        cascade whose entry the fast lane already wrote goes to :meth:`adopt` instead (the engine asks the lane)."""
        intent, reason, levels = self.entry_intent(d.symbol, d.venue, res, ci, self.seq + 1, d.ts_ns, d.cascade_id)
        if intent is None:
            self.core.external_reject(ci, d.ts_ns)
            d.reason = reason
            return
        self.seq += 1
        self.book_entry(d, ci, intent, levels)
        j = self.journal
        if self.paper:  # the paper venue is in-process: acknowledged at once, no loop needed
            if j is not None:
                j.intent(intent, d.ts_ns, seq=self.seq)
            self.orders += 1
            self.checks["entries"] += 1
            self.checks["reaction_ms"].append(0.0)  # the in-process paper venue
            self.metrics.inc("liqcore_orders_total", kind=intent.kind)
            self.gateway.register(intent)
            return
        if j is None:
            self.submit(intent, d.ts_ns)
        else:
            # write-ahead: durable (intent log) before anything is sent; its SQLite rows are queued right after
            # the send on this stack (no journal use in between: the gateway only reports from the loop)
            token = j.intent_ahead(intent, d.ts_ns, seq=self.seq)
            try:
                self.submit(intent, d.ts_ns)
            finally:
                j.intent_rows(token)

    def book_entry(self, d: Decision, ci: int, intent: OrderIntent, levels: tuple) -> None:
        """The decision, the symbol's book and the core take the entry ``intent`` (``levels``: its take-profit
        and stop-loss prices, 0 = none, whoever watches them)."""
        d.action, d.side, d.price, d.qty = "order", intent.side, intent.price, intent.qty
        d.take_profit, d.stop_loss = levels
        d.ref_price, d.client_id, d.intent = intent.meta["ref_price"], intent.client_id, intent
        book = self.books[d.symbol]
        book.entry, book.entry_status, book.cancel_sent, book.close_reason = intent, "pending", False, ""
        if intent.order_type != "market":  # the core works the order at the venue's grid price
            self.core.amend_entry(ci, intent.price)

    # ------------------------------------------------------------------ the core's events
    def core_events(self, events: list[dict]) -> None:
        if not events:
            return
        if self.paper:
            self.gateway.apply(events)
            return
        for e in events:  # venue mode: the venue fills; the core asks for cancels and closes
            sym = self.core.symbol(e["symbol_idx"])
            book = self.books[sym]
            if e["event"] in ("cancelled", "rejected") and book.entry is not None and not book.cancel_sent \
                    and book.entry_status in ("pending", "new", "partially_filled"):
                book.cancel_sent = True
                self.spawn(self.cancel(sym, book.entry.client_id))
            elif e["event"] in ("cancelled", "rejected") and book.entry is not None and book.entry_status == "unknown":
                book.cancel_due = True  # cancelled at its timeout once the venue says it rests
            elif e["event"] in ("hold_timeout_due", "exit_due", "signal_exit_due") and not book.closing \
                    and book.position_qty:
                # the guide's option B: an exit the engine watches, closed at market (reduce-only)
                self.close_at_market(sym, e.get("reason", "timeout"))

    def close_at_market(self, sym: str, reason: str) -> str:
        """Close ``sym``'s position at market (reduce-only) through the gateway, ``reason`` on its book;
        returns the close's client id."""
        self.seq += 1
        book = self.books[sym]
        book.closing = make_client_id(sym, self.seq)
        book.close_reason = reason
        if self.journal is not None:
            self.journal.set_state("seq", self.seq)
        self.spawn(self._close(sym, book.closing))
        return book.closing

    def account_exit(self, ex: dict) -> None:
        """A closed trade (the core's ledger row): equity, loss limits, cooldown, journal."""
        sym = ex["symbol"]
        book = self.books.get(sym)
        ts = int(ex["exit_ns"])
        pnl = float(ex["pnl"])
        if sym in self.by_symbol:
            self.core.watch_sym.pop(self.by_symbol[sym][1], None)
        if book is not None:
            book.realized += pnl
            book.trades += 1
        self.checks["trades"] += 1
        self.checks["wins"] += pnl > 0
        if book is not None:
            book.entry, book.entry_status, book.position_qty, book.closing, book.close_reason = None, "", 0.0, "", ""
            book.cancel_due = False
        self.protection.flat(sym)
        if book is not None and book.early:
            log.error("%s: %d exit fill(s) whose entry fill was never seen: %s", sym, len(book.early),
                      ", ".join(str(x.exec_id) for x in book.early))
            book.early = []
        self.metrics.set("liqcore_equity", self.core.equity)
        if self.journal is not None:
            self.journal.note("trade", ex, ts, key=sym)
            self.journal.position(sym, None, ts)
            self.journal.cooldown(sym, self.core.position(self.by_symbol[sym][1])["cooldown_until_ns"], ts)
            self.journal.equity(self.core.equity, ts, f"{sym} {ex['exit_reason']}")
            self.save_anchors()

    # ------------------------------------------------------------------ gateway reports
    def report_update(self, u: OrderUpdate) -> None:
        if self.books_q:
            self.run_books()
        self.metrics.inc("liqcore_order_updates_total", status=u.status)
        book = self.books.get(u.symbol)
        found = self.dropped.live(u, book)  # a dropped entry the venue holds: journaled so, and cancelled
        if self.journal is not None:
            self.journal.order_update(self.dropped.journaled(u), u.ts_ns or self.now_ns(), found)
        if found:
            self.dropped.found_live(u)
        if book is not None and self.queue_est is not None:  # the live queue estimate
            self.queue_est.on_update(u, book.entry, u.ts_ns or self.now_ns())
        if book is not None and book.entry is not None and u.client_id == book.entry.client_id and u.kind == "entry":
            was = book.entry_status
            if was not in ("filled", "partially_filled", "cancelled", "rejected", "deactivated"):
                if u.status in ("filled", "partially_filled"):
                    self.on_entry_ended(True)  # the fill-rate alarm's window
                elif u.status in ("rejected", "cancelled", "deactivated") and not book.position_qty:
                    self.on_entry_ended(False)
            if book.entry_status not in ("filled", "cancelled", "rejected") and \
                    (u.status != "pending" or book.entry_status in ("", "pending")):
                book.entry_status = u.status
            if book.cancel_due and not book.cancel_sent and book.entry_status in ("new", "partially_filled") \
                    and not self.paper:  # an entry found resting after an unknown create, past its timeout
                book.cancel_due, book.cancel_sent = False, True
                self.spawn(self.cancel(u.symbol, u.client_id))
            if u.status in ("rejected", "cancelled", "deactivated") and not book.position_qty:
                if not self.paper:
                    sid, ci = self.by_symbol[u.symbol]
                    if u.status == "rejected":
                        self.core.external_reject(ci, u.ts_ns or self.now_ns())
                    else:  # cancelled (timeout, operator) or deactivated: an unfilled entry, not a reject
                        self.core.external_cancel(ci, u.ts_ns or self.now_ns())
                self.dropped.drop(book.entry, u.status)
                book.entry, book.entry_status = None, ""
        if self.on_update is not None:
            try:
                self.on_update(u)
            except Exception:
                self.on_error()
                log.exception("on_update callback failed")

    def report_fill(self, f: Fill) -> None:
        if self.books_q:
            self.run_books()
        book = self.books.get(f.symbol)
        if (f.kind != "entry" and book is not None and not self.paper and not book.position_qty
                and book.entry is not None and book.entry_status not in ("cancelled", "rejected", "deactivated")):
            # an exit's fill before its entry's (a reconnect's reconciliation racing the live stream): booked once
            # the entry's fill is, so the trade is accounted in its order
            if not any(x.exec_id == f.exec_id for x in book.early):
                book.early.append(f)
            return
        if self.journal is not None and not self.journal.fill(f, f.ts_ns or self.now_ns()):
            return  # already journaled (a redelivered execution)
        self.fills += 1
        if f.kind == "entry":
            self._entry_booked[f.client_id] = self._entry_booked.get(f.client_id, 0.0) + float(f.qty)
        acc = self.checks["fees"]["maker" if f.is_maker else "taker"]
        cu = self.core.contract_usd(self.by_symbol[f.symbol][1]) if f.symbol in self.by_symbol else 0.0
        acc[0] += float(f.fee or 0.0) * (float(f.price) if cu > 0 else 1.0)  # an inverse fill's fee (coin) in USD
        acc[1] += abs(fill_usd(float(f.qty), float(f.price), cu))
        acc[2] += 1
        self.fill_kinds["entry" if f.kind == "entry" else "exit"] += 1
        self.metrics.inc("liqcore_fills_total", kind=f.kind)
        book = self.books.get(f.symbol)
        if book is not None:
            ts = f.ts_ns or self.now_ns()
            sid, ci = self.by_symbol[f.symbol]
            signed = f.qty if f.side == "buy" else -f.qty
            if f.kind == "entry":
                first = book.position_qty == 0
                if first:
                    self.checks["filled"] += 1
                book.position_qty += signed
                book.entry_price, book.entry_ns = f.price, ts
                if not self.paper and first and self.core.external_entry_fill(ci, ts, f.price) is None:
                    self._adopt_late_fill(f, book, ci, ts)
                if first and book.entry is not None and book.entry.client_id == f.client_id:
                    # the core manages the position the venue holds: its grid TP/SL and its size
                    try:
                        self.core.set_exit_levels(ci, book.entry.take_profit or None, book.entry.stop_loss or None,
                                                  notional=abs(fill_usd(book.position_qty, f.price,
                                                                        self.core.contract_usd(ci))) or None)
                    except ValueError as exc:  # levels on the wrong side of the fill: the core keeps its own
                        log.warning("%s: venue TP/SL not taken over (%s)", f.symbol, exc)
                    if not self.paper and self.exits == "venue" and (
                            book.entry.order_type == "market" or self.core.exit_levels(ci)["trail"] > 0):
                        # levels from the fill (a market entry) and the trailing stop: on the venue's position
                        self.spawn(self._set_trading_stop(f.symbol, ci, book.entry.order_type == "market"))
                if self.journal is not None:
                    p = self.core.position(ci)
                    self.journal.position(f.symbol, {
                        "side": f.side, "qty": abs(book.position_qty), "entry_price": f.price, "entry_ns": ts,
                        "client_id": f.client_id, "take_profit": p.get("take_profit"), "stop_loss": p.get("stop_loss"),
                        "hold_deadline_ns": p.get("hold_deadline_ns"),
                        "notional": p.get("notional"), "intent": book.entry}, ts)
            else:
                book.position_qty += signed
                if not self.paper and abs(book.position_qty) <= 1e-12 * max(1.0, abs(f.qty)):
                    book.position_qty = 0.0
                    why = _EXIT_REASON.get(f.kind, "external")
                    if f.kind == "sl" and book.close_reason == "" and self.core.exit_levels(ci)["trail"] > 0 \
                            and self._trailing_hit(ci, f.price):
                        why = "trail"  # the venue's trailing stop (its fills are stop-loss kind)
                    if book.closing and f.client_id == book.closing and book.close_reason:
                        why = book.close_reason
                    ex = self.core.external_close(ci, ts, f.price, why)
                    if ex is not None:
                        self.account_exit(ex)
        if self.on_fill is not None:
            try:
                self.on_fill(f)
            except Exception:
                self.on_error()
                log.exception("on_fill callback failed")
        if f.kind == "entry" and book is not None and book.early and book.position_qty:
            early, book.early = book.early, []
            for x in early:  # the exit fills that came first, in their order
                self.report_fill(x)

    # ------------------------------------------------------------------ asynchronous dispatch
    def attach(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Send intents as tasks on ``loop`` (default: the running loop) from now on."""
        self.loop = loop or asyncio.get_running_loop()
        if self.pending:
            pend, self.pending = self.pending, []
            for intent, recv in pend:
                self.spawn(self._send(intent, recv))

    def submit(self, intent: OrderIntent, recv_ns: int) -> None:
        """Hand a journaled intent to the gateway: written at once on this stack when the gateway can
        (``send_now``: idle create connection, free rate-limit slot), otherwise by a task; without a loop
        it waits in :attr:`pending`."""
        loop = self.loop
        if loop is None or loop.is_closed() or self.closing:  # (shutting down: journaled, never sent)
            self.pending.append((intent, recv_ns))
            return
        sent = self.gateway.send_now(intent) if loop.is_running() and not self.stopping else None
        if sent is None:
            self.spawn(self._send(intent, recv_ns))
            return
        self.written(intent, recv_ns, sent)

    def written(self, intent: OrderIntent, recv_ns: int, sent) -> None:
        """A create written on this stack (``send_now`` or the fast lane): the task that reads the answer
        (same handling as place) starts when the answer is in."""
        self.inflight.add(sent)
        sent.fut.add_done_callback(lambda _f, i=intent, r=recv_ns, s=sent: self._answered(i, r, s))
        self.defer(self._count_order, (intent, recv_ns, sent.written_ns))

    def local_ns(self, wall_ns: int) -> int:
        """A wall-clock time of this machine (a create written, an answer read) on the engine's clock: itself
        live, the replayed date during a replay (:meth:`ReplayClock.local_ns`), so that the reaction times
        journaled against a decision's receive time are the engine's own on either."""
        rc = self.replay_clock() if self.replay_clock is not None else None
        return rc.local_ns(wall_ns) if rc is not None and hasattr(rc, "local_ns") else int(wall_ns)

    def _count_order(self, item: tuple) -> None:
        intent, recv_ns, sent_ns = item
        sent_ns = self.local_ns(sent_ns)
        if intent.kind == "entry":
            self.checks["entries"] += 1
        if recv_ns:
            self.metrics.observe("liqcore_reaction_seconds", (sent_ns - recv_ns) / 1e9)
            self.checks["reaction_ms"].append((sent_ns - recv_ns) / 1e6)
            if self.journal is not None:  # the reaction time of the go-live report: decision -> create written
                rate = self.liq_rate  # the liquidation rate at the decision (engine)
                self.journal.note("sent", {"client_id": intent.client_id, "kind": intent.kind, "recv_ns": int(recv_ns),
                                           "sent_ns": int(sent_ns),
                                           "liq_per_min": rate(int(recv_ns)) if rate is not None else None},
                                  int(sent_ns), key=intent.client_id)
        self.orders += 1
        self.metrics.inc("liqcore_orders_total", kind=intent.kind)

    def _answered(self, intent: OrderIntent, recv_ns: int, sent) -> None:
        self.inflight.discard(sent)
        if self.stopping:  # shut down with the answer unread: the journal holds it pending (queried at start)
            log.warning("order %s: create answer not read before shutdown", intent.client_id)
            conn = getattr(sent, "conn", None)
            if conn is not None:
                conn.close()
            return
        self.spawn(self._send(intent, recv_ns, sent))

    def spawn(self, coro) -> asyncio.Task | None:
        loop = self.loop
        if loop is None or loop.is_closed():
            coro.close()
            return None
        t = loop.create_task(coro)
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)
        return t

    async def dispatch(self, intent: OrderIntent | None = None) -> list[OrderUpdate]:
        """Send ``intent`` now (or every pending intent) and return the gateway's answers."""
        items = [(intent, intent.decision_ns)] if intent is not None else self.pending
        if intent is None:
            self.pending = []
        return [await self._send(i, r) for i, r in items]

    async def _send(self, intent: OrderIntent, recv_ns: int, sent=None) -> OrderUpdate:
        """Place ``intent`` (or, with ``sent``, read the answer of its create already written by the
        gateway's ``send_now``) and report the outcome; an unconfirmed create is queried until known."""
        if sent is None:  # (a create written by send_now is counted by _count_order)
            self._count_order((intent, recv_ns, time.time_ns()))
        try:
            u = await (self.gateway.place(intent) if sent is None else self.gateway.place(intent, sent=sent))
        except GatewayError as exc:
            # the venue could not be asked whether the order exists: the symbol stays busy (status
            # "unknown") until a later query answers; nothing is sent again under another id
            self.on_error()
            log.error("order %s not confirmed: %s", intent.client_id, exc)
            self.unknowns.begin("create", intent.symbol, intent.client_id, intent.kind, str(exc))
            book = self.books.get(intent.symbol)
            if book is not None and book.entry is not None and book.entry.client_id == intent.client_id:
                book.entry_status = "unknown"
            self._track_unknown(intent)
            return OrderUpdate(intent.client_id, "pending", intent.symbol, reason=f"unknown: {exc}",
                               kind=intent.kind, ts_ns=self.now_ns())
        if self.journal is not None and intent.kind == "entry" and recv_ns:
            # the venue's answer to the create came back: with the "sent" row, the order latency a backtest can
            # draw from (order-latency-from); both on the local clock
            self.journal.note("ack", {"client_id": intent.client_id, "kind": intent.kind, "status": u.status,
                                      "ack_ns": self.local_ns(time.time_ns()), "venue_ns": int(getattr(u, "venue_ns", 0) or 0) or None},
                              self.now_ns(), key=intent.client_id)
        if not self.paper:
            self.report_update(u)
        return u

    async def _resolve_unknown(self, intent: OrderIntent) -> None:
        """Ask the venue about an order whose create could not be confirmed, until it answers
        (:meth:`Unknowns.resolve`: backoff, bans waited out, journaled); then it is managed like any other."""
        u = await self.unknowns.resolve(intent)
        if u is None:
            return
        book = self.books.get(intent.symbol)
        if book is not None and book.entry_status == "unknown":
            book.entry_status = "pending"
        self.report_update(u)

    async def cancel(self, symbol: str, client_id: str) -> None:
        """Cancel an order until the venue confirms it gone or filled (:meth:`Unknowns.cancel`: a cancel whose
        outcome is unknown is queried and sent again, with backoff)."""
        if self.paper:
            await self.gateway.cancel(symbol, client_id)
            return
        u = await self.unknowns.cancel(symbol, client_id)
        if u is None:
            book = self.books.get(symbol)
            if book is not None:
                book.cancel_sent = False  # try again on the core's next cancel event
            return
        self.report_update(u)

    def _adopt_late_fill(self, f: Fill, book: _Book, ci: int, ts: int) -> None:
        """An entry fill the core no longer expects (booked after the core's entry timeout, e.g. by a reconnect's
        reconciliation): the core takes the position the venue holds, so its exits, timeout and trade are kept."""
        e = book.entry if book.entry is not None and book.entry.client_id == f.client_id else \
            self.dropped.intent(f.client_id)  # (an entry dropped, then found held by the venue)
        try:
            self.core.set_position(ci, side=f.side, entry_price=f.price, entry_ns=ts,
                                   take_profit=(e.take_profit or None) if e else None,
                                   stop_loss=(e.stop_loss or None) if e else None,
                                   notional=abs(fill_usd(f.qty, f.price, self.core.contract_usd(ci))) or None)
            log.warning("%s: entry fill %s came after its timeout: the position the venue holds is managed",
                        f.symbol, f.client_id)
        except ValueError as exc:
            self.on_error()
            log.error("%s: late entry fill %s not taken over (%s)", f.symbol, f.client_id, exc)

    def _trailing_hit(self, ci: int, price: float) -> bool:
        """Whether a stop-loss-kind fill at ``price`` is the trailing stop's rather than the stop-loss's."""
        lv = self.core.exit_levels(ci)
        sl = lv["stop_loss"]
        if sl is None:
            return True
        book_side = 1 if self.core.position(ci).get("side") == "buy" else -1
        return (price > sl) if book_side > 0 else (price < sl)

    async def _set_trading_stop(self, symbol: str, ci: int, levels: bool) -> None:
        """Venue exits of a position just opened: its take-profit / stop-loss from the fill (``levels``: a
        market entry, whose create carried none) and the trailing stop where the venue has one."""
        if not self.gateway.venue_exits:  # no venue-held levels for this position: the engine watches them
            self.core.watch_sym[ci] = self.core.watch | {"take_profit", "stop_loss", "trail"}
            return
        lv = self.core.exit_levels(ci)
        try:
            inst = self.instrument(symbol)
        except ValueError:
            return
        long_ = self.core.position(ci).get("side") == "buy"
        tp = sl = None
        if levels:
            if lv["take_profit"] is not None:
                tp = inst.round_price(lv["take_profit"], "sell" if long_ else "buy")
            if lv["stop_loss"] is not None:
                sl = inst.round_price(lv["stop_loss"], "buy" if long_ else "sell")
        trailing = None
        if lv["trail"] > 0 and self.gateway.native_trailing:
            trailing = lv["trail"] * lv["entry_price"]
        try:
            await self.gateway.set_trading_stop(symbol, take_profit=tp, stop_loss=sl, trailing=trailing)
        except GatewayError as exc:
            # the venue refused (e.g. the price moved past a level): the engine watches those exits itself
            self.on_error()
            log.error("%s: venue exits not set (%s); the engine watches them", symbol, exc)
            self.core.watch_sym[ci] = self.core.watch | {"take_profit", "stop_loss", "trail"}
            self.protection.lost(symbol, "both", f"venue exits not set: {exc}")
            return
        if tp is not None or sl is not None:
            try:
                self.core.set_exit_levels(ci, tp, sl)
            except ValueError:
                pass
        if self.journal is not None:
            self.journal.note("trading_stop", {"symbol": symbol, "take_profit": tp, "stop_loss": sl,
                                               "trailing": trailing}, self.now_ns(), key=symbol)

    async def _close(self, symbol: str, client_id: str) -> None:
        """A market close; one whose outcome is unknown is asked about by its client id: held by the venue (it
        closes the position: its fill follows), or not (the close may be sent again under a new id)."""
        try:
            u = await self.gateway.close_position(symbol, client_id)
        except GatewayError as exc:
            log.error("close %s failed: %s", symbol, exc)
            self.on_error()
            book = self.books[symbol]
            side = "sell" if book.position_qty > 0 else "buy"
            intent = OrderIntent(symbol, side, abs(book.position_qty), 0.0, client_id, post_only=False,
                                 reduce_only=True, kind="exit", order_type="market")
            self.unknowns.begin("close", symbol, client_id, "exit", str(exc))
            u = await self.unknowns.resolve(intent, "close")
            if u is not None and self.journal is not None:
                self.journal.order_update(u, u.ts_ns or self.now_ns())
            if u is None or u.status in ("rejected", "cancelled", "deactivated"):
                if book.closing == client_id:
                    book.closing = ""
            return
        if u.status == "rejected":
            self.books[symbol].closing = ""

    async def drain(self, timeout: float | None = 10.0) -> None:
        """Wait for the in-flight gateway calls (and the answers of creates already written)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self.tasks or self.inflight:
            waiting = [*self.tasks, *(s.fut for s in self.inflight)]
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                break
            await asyncio.wait(waiting, timeout=left)
            await asyncio.sleep(0)  # answered creates start their reading task on the next loop step

    def working_entries(self) -> list[tuple[str, str, str]]:
        """``(symbol, client_id, status)`` of every entry that may rest at the venue."""
        return [(sym, b.entry.client_id, b.entry_status) for sym, b in self.books.items()
                if b.entry is not None and b.entry_status in self.WORKING_STATUSES]

    async def cancel_all(self, cancel_entries: bool, budget: float) -> dict:
        """The order side of :meth:`Engine.shutdown`: no create leaves any more; the answers in flight are read,
        every working entry is cancelled and confirmed within 90 % of ``budget`` seconds (the last tenth is
        the journal flush and the gateway close), the deferred bookkeeping runs and the remaining tasks are
        cancelled.  Returns the shutdown report (see :meth:`Engine.shutdown`)."""
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        cancel_deadline = t0 + 0.7 * budget
        reconcile_deadline = t0 + 0.9 * budget  # the last tenth: journal flush and gateway close
        self.closing = True
        for t in list(self.unknown_tasks):  # the cancel below settles those orders
            t.cancel()
        # answers of creates and cancels already in flight first (bounded: a quarter of the budget, <= 1 s)
        await self.drain(min(1.0, budget / 4))
        # (issue 87) entries journaled once the stop began and never sent: marked so, never cancelled at the venue
        never_sent = self.mark_never_sent()
        targets = self.working_entries() if cancel_entries else []
        report: dict = {"timeout_s": budget, "working": len(targets), "confirmed": {}, "unconfirmed": [],
                        "never_sent": never_sent}
        finals: list[OrderUpdate] = []
        if targets:
            if self.paper:
                for sym, cid, _ in targets:
                    u = await self.gateway.cancel(sym, cid)
                    report["confirmed"][cid] = u.status
            else:
                confirmed, unconfirmed, finals = await self._cancel_working(targets, cancel_deadline)
                report["confirmed"], report["unconfirmed"] = confirmed, unconfirmed
        if not self.paper:  # the venue's own record before anything is booked (liqcore.live.stopread)
            report["reconciled"] = done = await read_venue(self.gateway, reconcile_deadline - loop.time())
            finals, report["unreconciled"] = split_finals(finals, done, self.booked_entry_qty)
            for u in report["unreconciled"]:  # (its journal row stays open: the next start settles it with the venue)
                report["confirmed"].pop(u["client_id"], None)
        for u in finals:
            self._apply_final(u)
        self.stopping = True
        self.run_books()
        for t in list(self.tasks):  # e.g. a query for an order the venue never confirmed
            t.cancel()
        report["seconds"] = round(loop.time() - t0, 3)
        if report["unconfirmed"]:
            log.error("shutdown: %d of %d working entries not confirmed cancelled (they may still rest at the "
                      "venue): %s", len(report["unconfirmed"]), len(targets),
                      ", ".join(f"{u['symbol']} {u['client_id']} ({u['reason']})" for u in report["unconfirmed"]))
        elif targets:
            log.info("shutdown: %d working entries cancelled and confirmed in %.2fs", len(targets), report["seconds"])
        return report

    def booked_entry_qty(self, client_id: str) -> float:
        """The quantity of the entry fills booked for ``client_id`` (the journal's, else this session's)."""
        if self.journal is not None:
            return self.journal.booked_qty(client_id, "entry")
        return self._entry_booked.get(client_id, 0.0)

    def mark_never_sent(self) -> list[str]:
        """The entry intents held back since the shutdown began (:attr:`pending`: journaled, their create never
        sent): each ends ``cancelled`` with the reason :data:`NEVER_SENT` in the journal and on its book.
        Returns their client ids."""
        held, self.pending = self.pending, []
        out = []
        for intent, _recv in held:
            if intent.kind != "entry":
                continue
            self.report_update(OrderUpdate(intent.client_id, "cancelled", intent.symbol, side=intent.side,
                                           price=intent.price, qty=intent.qty, reason=NEVER_SENT, kind="entry",
                                           ts_ns=self.now_ns()))
            out.append(intent.client_id)
        return out

    def resolve_later(self) -> None:
        """Ask the venue (in tasks, until it answers) about the entries reconcile could not ask about."""
        for intent in self.ask_later:
            self._track_unknown(intent)
        self.ask_later = []

    def _track_unknown(self, intent: OrderIntent) -> None:
        t = self.spawn(self._resolve_unknown(intent))
        if t is not None:
            self.unknown_tasks.add(t)
            t.add_done_callback(self.unknown_tasks.discard)

    def adopt(self, d: Decision, ci: int, fired: tuple) -> None:
        """The order path of a cascade the fast lane already sent (``fired``: (cascade id, intent, journal
        token, the written create, levels)): the intent's journal rows, the book and the answer handling, as if
        :meth:`place_entry` had written it."""
        _, intent, token, sent, levels = fired
        self.seq += 1
        self.book_entry(d, ci, intent, levels)
        if token:
            self.journal.intent_rows(token)
        self.written(intent, d.ts_ns, sent)

    def adopt_orphan(self, cid: int, intent: OrderIntent, token: tuple, sent) -> None:
        """An entry the fast lane wrote that the order path did not adopt: journaled and followed like any other
        (its answer is read, the book holds it), and reported as an error."""
        self.on_error()
        log.error("order %s (cascade %s) written ahead but not adopted by the order path", intent.client_id, cid)
        self.seq = max(self.seq, int(token[3]) if token else self.seq + 1)
        if token:
            self.journal.intent_rows(token)
        book = self.books.get(intent.symbol)
        if book is not None:
            book.entry, book.entry_status, book.cancel_sent, book.close_reason = intent, "pending", False, ""
        self.written(intent, intent.decision_ns, sent)

    async def _cancel_working(self, targets: list[tuple[str, str, str]], deadline: float) -> tuple[dict, list]:
        """Cancel ``targets`` through the gateway's batch cancel and confirm each (see :meth:`shutdown`)."""
        loop = asyncio.get_running_loop()
        gw = self.gateway
        from liqcore.venues.orders import FINAL_STATUSES as terminal
        remaining = {cid: sym for sym, cid, _ in targets}
        status0 = {cid: st for _, cid, st in targets}
        reasons: dict[str, str] = {cid: "no answer before the shutdown timeout" for cid in remaining}
        final: dict[str, OrderUpdate] = {}
        gone: dict[str, str] = {}  # confirmed not resting, final state not yet known: cid -> symbol
        pushed: set[str] = set()
        listed_resting: set[str] = set()  # seen resting in the last listing of open orders
        known = gw.known  # (the default knows nothing: the listing and the queries below confirm)
        batch = gw.cancel_batch  # (the default: one cancel per order, in parallel)

        def left() -> float:
            return deadline - loop.time()

        async def single_cancels(items):  # the orders whose batch request failed: their cancels in parallel
            outs = await asyncio.gather(*(gw.cancel(s, c) for c, s in items), return_exceptions=True)
            return {c: (("accepted", o) if isinstance(o, OrderUpdate) else (f"error: {o}", None))
                    for (c, _), o in zip(items, outs)}

        batch_failed: set[str] = set()  # the batch request of these failed: their single cancels next

        async def send(items):
            singles = [(c, s) for c, s in items if c in batch_failed]
            batched = [(s, c) for c, s in items if c not in batch_failed]
            out: dict = {}
            for r in await asyncio.gather(*([batch(batched)] if batched else []),
                                          *([single_cancels(singles)] if singles else [])):
                out.update(r)
            return out

        while remaining and left() > 0:
            items = list(remaining.items())
            try:
                res = await asyncio.wait_for(send(items), left())
            except asyncio.TimeoutError:
                break
            for cid, (outcome, u) in res.items():
                if cid not in remaining:
                    continue
                reasons[cid] = ("still resting at the venue; " if cid in listed_resting else "") + f"cancel {outcome}"
                if outcome.startswith("error"):
                    batch_failed.add(cid)
                if u is not None and u.status in terminal:
                    final[cid] = u
                    del remaining[cid]
            if not remaining or left() <= 0:
                break
            await asyncio.sleep(min(0.05, max(0.0, left())))  # pushes of a live private stream land first
            for cid in list(remaining):
                k = known(cid)
                if k is not None and k.status in terminal:
                    final[cid] = k
                    pushed.add(cid)  # the gateway reported it to the engine already
                    del remaining[cid]
            if not remaining:
                break
            try:  # private stream down or slow: one listing of the venue's open orders confirms the rest
                listed = await asyncio.wait_for(gw.open_orders(), max(0.0, left()))
            except (GatewayError, asyncio.TimeoutError) as exc:
                for cid in remaining:
                    reasons[cid] = "open orders not read: " + (str(exc) or (
                        "no answer before the shutdown deadline" if isinstance(exc, asyncio.TimeoutError)
                        else type(exc).__name__))
                await asyncio.sleep(min(0.1, max(0.0, left())))
                continue
            resting = {u.client_id for u in listed if u.kind == "entry" and u.status not in terminal}
            for cid in list(remaining):
                if cid not in resting:
                    gone[cid] = remaining.pop(cid)
                else:
                    listed_resting.add(cid)
                    reasons[cid] = "still resting at the venue; " + reasons[cid].rpartition("; ")[2]
            if remaining:
                await asyncio.sleep(min(0.1, max(0.0, left())))  # then cancel those again
        # the final state of entries confirmed gone (filled meanwhile? never created?), for the journal
        pend = {cid: sym for cid, sym in gone.items() if not (known(cid) and known(cid).status in terminal)}
        for cid in gone:
            if cid not in pend:
                final[cid] = known(cid)
                pushed.add(cid)
        if pend and left() > 0:
            try:
                outs = await asyncio.wait_for(asyncio.gather(*(gw.query(s, c) for c, s in pend.items()),
                                                             return_exceptions=True), left())
            except asyncio.TimeoutError:
                outs = [TimeoutError()] * len(pend)
            for (cid, sym), u in zip(pend.items(), outs):
                if isinstance(u, OrderUpdate):
                    final[cid] = u
                elif u is None:  # the venue has no such order: the create never arrived
                    final[cid] = OrderUpdate(cid, "rejected", sym, reason="not_at_venue", ts_ns=self.now_ns())
        confirmed = {cid: (final[cid].status if cid in final else "not_resting") for cid in [*final, *gone]}
        unconfirmed = [{"symbol": sym, "client_id": cid, "status": status0.get(cid, ""), "reason": reasons[cid]}
                       for cid, sym in remaining.items()]
        return confirmed, unconfirmed, [u for cid, u in final.items() if cid not in pushed]

    def _apply_final(self, u: OrderUpdate) -> None:
        """A terminal state learned at shutdown: journal it (its fills come from the venue's own record:
        :mod:`liqcore.live.stopread`)."""
        if u.kind != "entry":
            u = OrderUpdate(u.client_id, u.status, u.symbol, u.venue_order_id, u.side, u.price, u.qty, u.filled_qty,
                            u.avg_price, u.reason, "entry", u.ts_ns)
        self.report_update(u)


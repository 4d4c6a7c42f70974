"""The core every venue order gateway shares (Bybit, Binance, OKX): what does not differ between venues.

* the API key and secret held as :class:`liqcore.secrets.Secret` and registered with the live runner's
  log formatter, so that neither reaches a log;
* the venue clock offset the REST client measures for signing (:attr:`clock_offset_ms`,
  :meth:`sync_clock`);
* the instruments (tick size, qty step, minimum qty) and rounding on their grid;
* the checks of an :class:`OrderIntent` every venue makes before building its request;
* the order state the gateway last saw (``_orders``: (client_id, kind) -> :class:`OrderUpdate`) and
  which statuses are final (:data:`TERMINAL`).

* a bracket still held when a new entry of its symbol comes (:meth:`_retire_bracket`): its exits cancelled;
* a cancel that comes while the order's create is still unanswered (:meth:`_creating`, :meth:`_cancelled_unsent`,
  :meth:`_wait_created`): the create is not sent again after it, and the cancel waits for the create's answer;
  a create written on the caller's stack too (:meth:`_written`), and a batch cancel (:meth:`cancel_batch`: each
  venue's own batch is its :meth:`_cancel_batch`).
* the background tasks of a private stream (:meth:`_init_stream_state`, :meth:`_spawn`, :meth:`_stop_tasks`),
  the fills already reported (:meth:`_first_seen`) and the re-query of live orders after a reconnect
  (:meth:`_requery_live`); the venue read again while the private stream is quiet (:meth:`_quiet_loop`) and at a
  stop (:meth:`reconcile`); :func:`field_float` reads a venue's decimal string field.

A venue gateway subclasses :class:`VenueGateway` and keeps only what its venue does differently: the
request bodies, the create/query/cancel protocol with its error codes, and its private stream.
"""
from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import math
import time
from collections import deque

from liqcore.interrupt import end_tasks
from liqcore.venues.gateway import FINAL_STATUSES, Gateway, GatewayCallbacks, GatewayError, OrderIntent, OrderUpdate
from liqcore.secrets import Secret, mask_key, register_secret
from liqcore.venues.governor import VenueBanned
from liqcore.venues.instruments import Instrument
from liqcore.venues.numbers import wire_number

__all__ = ["VenueGateway", "TERMINAL", "field_float", "SHAPE_ERRORS"]

#: order statuses after which an order changes no more (:data:`~liqcore.venues.orders.FINAL_STATUSES`)
TERMINAL = FINAL_STATUSES


def field_float(d: dict, k: str) -> float:
    """The number in field ``k`` of a venue object (absent or empty: 0.0); ValueError naming the field (also for
    digits grouped by ``_``, which no venue writes: :func:`liqcore.venues.numbers.wire_number`)."""
    v = d.get(k)
    if v in (None, ""):
        return 0.0
    try:
        return wire_number(v)
    except (TypeError, ValueError):
        raise ValueError(f"{k}: not a number: {v!r}") from None


#: what a parser raises on an answer of another shape than the venue's documents give (a null where a list is, a
#: field that is no number): :meth:`VenueGateway.__init_subclass__` makes it a :class:`GatewayError`
SHAPE_ERRORS = (TypeError, AttributeError, KeyError, IndexError, ValueError)


def _shape(exc: BaseException) -> str:
    """The words of a :class:`GatewayError` for one of :data:`SHAPE_ERRORS` a parser raised."""
    return f"an answer not of the venue's documented shape ({type(exc).__name__}: {exc})"


def _answer_guard(name: str, fn):
    """``fn`` (an async gateway method reading the venue's answers) with :data:`SHAPE_ERRORS` raised as a
    :class:`GatewayError` naming the venue, the method and what was wrong."""
    @functools.wraps(fn)
    async def guarded(self, *args, **kwargs):
        try:
            return await fn(self, *args, **kwargs)
        except SHAPE_ERRORS as exc:
            raise GatewayError(f"{self.name} {name}: {_shape(exc)}") from None

    guarded.answer_guarded = True
    return guarded


class VenueGateway(GatewayCallbacks, Gateway):
    """The shared part of a venue gateway; ``self.rest`` (the venue's REST client, with ``time_offset_ms``
    and ``sync_time()``) is set by the subclass.  Its methods of :data:`ANSWER_METHODS` raise
    :class:`GatewayError` alone, whatever the venue answers (:meth:`__init_subclass__`)."""

    #: the methods whose failures the engine acts on as GatewayError (an unknown order asked again, a shutdown's
    #: listing, a restart's reconcile): an answer of another shape made Python's own errors escape their parsers
    #: (a null order list: "'NoneType' object is not iterable"), which stopped the engine's step that asked
    ANSWER_METHODS = ("query", "cancel", "open_orders", "positions", "equity", "close_position")

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        for name in cls.ANSWER_METHODS:  # (a plugin venue's gateway, a subclass of a built-in one: the same)
            fn = getattr(cls, name, None)
            if fn is not None and inspect.iscoroutinefunction(fn) and not getattr(fn, "answer_guarded", False):
                setattr(cls, name, _answer_guard(name, fn))

    #: what the venue calls the client order id (named in the error of a bad one)
    client_id_name = "client order id"
    #: the venue gateway's logger
    log = logging.getLogger("liqcore.gateway")

    def _hold_keys(self, api_key: str | Secret, api_secret: str | Secret) -> None:
        """Keep the key and secret as :class:`Secret` and register both with the live runner's JSON log
        formatter, which masks registered values as a second line of defence."""
        self._key = api_key if isinstance(api_key, Secret) else Secret(api_key)
        self._secret = api_secret if isinstance(api_secret, Secret) else Secret(api_secret)
        register_secret(self._secret.reveal())
        register_secret(self._key.reveal())
        self._instruments: dict[str, Instrument] = {}
        self._orders: dict[tuple[str, str], OrderUpdate] = {}  # (client_id, kind) -> last known state
        #: (client_id, kind) -> the (status, filled qty) a reading last reported (:meth:`_report_learned`)
        self._learned: dict[tuple[str, str], tuple[str, float]] = {}
        self._intents: dict[str, OrderIntent] = {}
        self._placing: dict[str, asyncio.Event] = {}  # client id -> set once its create is answered (or given up)
        self._cancel_asked: set[str] = set()  # client ids cancelled while their create was unanswered
        self._init_callbacks()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api_key={mask_key(self._key)!r}, rest_url={self.rest.base_url!r})"

    async def _reconcile_at_start(self, load_instruments, errors: tuple[type[BaseException], ...]) -> None:
        """The first steps of ``start()`` on every venue: open the REST client, sync the clock, load the
        instruments (``load_instruments()``), and RECONCILE: fetch the open orders and positions into
        :attr:`reconciled`.  A venue error among ``errors`` is a :class:`GatewayError` naming the venue."""
        try:
            await self.rest.start()
            await self.rest.sync_time()
            await load_instruments()
            orders = await self.open_orders()
            positions = await self.positions()
        except errors as exc:
            raise GatewayError(f"{self.name} start failed: {exc}") from None
        except SHAPE_ERRORS as exc:  # (an answer of another shape than the venue's: its parser's own error)
            raise GatewayError(f"{self.name} start failed: {_shape(exc)}") from None
        self.reconciled = {"orders": orders, "positions": positions}

    # ------------------------------------------------------------------ the private stream's tasks
    def _init_stream_state(self) -> None:
        """The state of a private stream kept by the gateway: its task, its aiohttp session, the background
        tasks it spawns and the fill ids already reported (the last 8192)."""
        self._seen: deque[str] = deque(maxlen=8192)
        self._seen_set: set[str] = set()
        self._tasks: set[asyncio.Task] = set()
        self._stream_task: asyncio.Task | None = None
        self._session = None
        self._closing = False
        self._last_heard = time.monotonic()  # the private stream's last event (the quiet clock)

    # ------------------------------------------------------------------ reconciliation while the stream is quiet
    #: seconds of a quiet private stream (no event) after which the venue is read again while something is open;
    #: each venue's gateway sets it (its ``reconcile_s`` option)
    reconcile_s = 5.0
    #: readings after nothing is open any more (a reading that finds the position flat may come just after the
    #: fill that closed it, before the fill could be read)
    LINGER = 2

    def _heard(self) -> None:
        """The private stream brought an event: the quiet clock starts again."""
        self._last_heard = time.monotonic()

    def _open_anything(self) -> bool:
        """Whether an order may still change or a position is open (each venue says it from its own state)."""
        return any(u.status not in TERMINAL and cid in self._intents for (cid, _), u in self._orders.items())

    async def _quiet_reconcile(self) -> bool | None:
        """Read the venue's orders, exit orders, fills and positions again (each venue's own requests); False:
        the venue could not be read."""
        raise NotImplementedError

    async def reconcile(self) -> bool:
        """:meth:`Gateway.reconcile`: the quiet stream's reading (:meth:`_quiet_reconcile`), once, now."""
        self.stats["stop_reconciles"] = self.stats.get("stop_reconciles", 0) + 1
        return await self._quiet_reconcile() is not False

    def _weight_room(self) -> bool:
        """Whether the REST host may be asked for a reconciliation now: not banned, and no more than half of the
        weight window spent (the host governor's count; a venue without a limit always has room)."""
        gov = self.rest.gov
        if gov.banned:
            return False
        return not gov.limit or gov.used() <= 0.5 * gov.limit

    async def _quiet_loop(self) -> None:
        """Every :attr:`reconcile_s` seconds: when the private stream has said nothing for that long and an order or
        a position is open, the venue is read again (:meth:`_quiet_reconcile`, counted in ``stats["quiet_reconciles"]``).
        A stream that drops pushes without closing (a mute shorter than the liveness check) then loses nothing for
        good.  Bounded by the venue's weights: skipped while the host bans this IP or more than half of its weight
        window is spent (every request goes through the host's governor)."""
        open_seen = -math.inf  # the last time something was open (monotonic s)
        while not self._closing:
            await asyncio.sleep(self.reconcile_s)
            now = time.monotonic()
            if self._open_anything():
                open_seen = now
            # (read LINGER more times after the last open thing is gone: a fill made just before a reading found
            # the position flat is read by the next one)
            if now - self._last_heard < self.reconcile_s or now - open_seen > self.LINGER * self.reconcile_s \
                    or not self._weight_room():
                continue
            self.stats["quiet_reconciles"] = self.stats.get("quiet_reconciles", 0) + 1
            try:
                await self._quiet_reconcile()
            except GatewayError as exc:
                self.log.warning("%s reconciliation of a quiet private stream failed: %s", self.name, exc)

    def _spawn(self, coro) -> None:
        t = asyncio.create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    async def _stop_tasks(self) -> None:
        """Cancel and await the stream and its tasks, close the session and the REST client."""
        self._closing = True
        try:
            await end_tasks([*self._tasks, self._stream_task])
        finally:  # (a Ctrl-C meanwhile is passed on once the session and the REST client are closed)
            self._stream_task = None
            if self._session is not None:
                await self._session.close()
                self._session = None
            await self.rest.close()

    def _first_seen(self, exec_id: str) -> bool:
        """True the first time a fill id is seen (then remembered); False for a fill already reported."""
        if exec_id in self._seen_set:
            return False
        if len(self._seen) == self._seen.maxlen:
            self._seen_set.discard(self._seen[0])
        self._seen.append(exec_id)
        self._seen_set.add(exec_id)
        return True

    async def _requery_live(self, query) -> list[tuple[str, OrderUpdate]]:
        """After a reconnect: ask the venue again (``await query(symbol, client_id)``) for each order of ours
        still believed live; the changed ones are reported to the callbacks and returned as ``(kind, update)``."""
        changed = []
        for (cid, kind), old in list(self._orders.items()):
            if old.status in TERMINAL or not old.symbol or cid not in self._intents:
                continue
            try:
                u = await query(old.symbol, cid)
            except GatewayError:
                continue
            if u is not None and (u.status, u.filled_qty) != (old.status, old.filled_qty):
                await self._report_learned(u, old)
                changed.append((kind, u))
        return changed

    async def _report_learned(self, u: OrderUpdate, old: OrderUpdate | None) -> None:
        """Report ``u``, an order's state a reading learned (not the private stream), to the update callbacks when
        it differs from ``old`` (the state known before the reading) and no other reading reported it already (a
        reconnect's re-query and an entry's own settling ask at once)."""
        state = (u.status, u.filled_qty)
        if (old is not None and (old.status, old.filled_qty) == state) or self._learned.get((u.client_id, u.kind)) == state:
            return
        self._learned[(u.client_id, u.kind)] = state
        await self._emit(self._update_cbs, u)

    # ------------------------------------------------------------------ bans
    def banned(self) -> str | None:
        """The ban line (``str(VenueBanned)``) while the REST host's governor (the REST client's ``gov``: every
        venue's client keeps its host's) bans this IP now, else None: the order manager skips a signal while it
        is not None (nothing is sent into a ban)."""
        try:
            self.rest.gov.check()
        except VenueBanned as ban:
            return str(ban)
        return None

    # ------------------------------------------------------------------ the venue's clock
    @property
    def clock_offset_ms(self) -> int:
        """The venue's clock minus the local clock (ms), as measured for signing (at start, and again after
        a request the venue rejected for its timestamp, or on :meth:`sync_clock`)."""
        return self.rest.time_offset_ms

    async def sync_clock(self) -> int:
        """Measure the venue's clock offset again (ms); the engine asks when events look stamped in the future."""
        return await self.rest.sync_time()

    # ------------------------------------------------------------------ instruments
    def instrument(self, symbol: str) -> Instrument:
        try:
            return self._instruments[symbol]
        except KeyError:
            raise ValueError(f"symbol: {symbol!r} has no instrument loaded") from None

    def round_price(self, symbol: str, px: float, side: str) -> float:
        """Round to the tick: a BUY rounds DOWN, a SELL rounds UP (never closer to the market than asked)."""
        return self.instrument(symbol).round_price(px, side)

    def round_qty(self, symbol: str, qty: float) -> float:
        """Round DOWN to the qty step; 0.0 when the result is below the minimum order qty."""
        return self.instrument(symbol).round_qty(qty)

    # ------------------------------------------------------------------ orders
    def check_intent(self, intent: OrderIntent) -> None:
        """The checks every venue makes of an intent (ValueError naming the field)."""
        if not intent.client_id or len(intent.client_id) > 36:
            raise ValueError(f"client_id: must be 1..36 characters ({self.client_id_name})")
        if intent.side not in ("buy", "sell"):
            raise ValueError(f"side: must be 'buy' or 'sell', got {intent.side!r}")
        if intent.order_type not in ("limit", "market"):
            raise ValueError(f"order_type: must be 'limit' or 'market', got {intent.order_type!r}")
        if not (intent.qty > 0 and math.isfinite(intent.qty)):
            raise ValueError(f"qty: must be > 0, got {intent.qty!r}")

    @staticmethod
    def _rejected(intent: OrderIntent, reason: str) -> OrderUpdate:
        """The update of a create the venue refused (``reason``: its code and message)."""
        return OrderUpdate(intent.client_id, "rejected", intent.symbol, "", intent.side, intent.price, intent.qty,
                           reason=reason, kind=intent.kind, ts_ns=time.time_ns())

    def _create_error(self, exc: BaseException) -> tuple[str, str]:
        """What a failed create means on this venue: (``"rate_limited"`` | ``"duplicate"`` | ``"refused"`` |
        ``"unknown"``, the venue's reason).  Each venue says it from its own error codes."""
        raise NotImplementedError

    async def _after_create_error(self, intent: OrderIntent, attempt: int, exc: BaseException,
                                  query) -> OrderUpdate | None:
        """One failed create, the same way on every venue (``query(symbol, client_id, required=...)`` is the
        venue's look-up of a client id):

        * rate limited (never processed by the venue): a :class:`GatewayError`, the engine may try later;
        * the venue already has the client id (the duplicate answer): the order it has;
        * any other refusal: a ``rejected`` update, kept as the order's last state;
        * an unknown outcome: :meth:`_retry_after_unknown_outcome` (None = send the same request again)."""
        what, reason = self._create_error(exc)
        cid = intent.client_id
        if what == "rate_limited":
            raise GatewayError(f"{self.name} create {cid}: rate limited ({reason})") from None
        if what == "duplicate":
            self.stats["duplicates_resolved"] += 1
            found = await query(intent.symbol, cid, required=True)
            if found is not None:
                return found
            raise GatewayError(f"{self.name} create {cid}: the venue reports a duplicate client id it cannot find")
        if what == "refused":
            self.stats["rejected"] += 1
            u = self._rejected(intent, reason)
            self._orders[(cid, intent.kind)] = u
            self.log.warning("%s create %s rejected: %s", self.name, cid, reason)
            return u
        return await self._retry_after_unknown_outcome(intent, attempt, reason, query)

    async def _retry_after_unknown_outcome(self, intent: OrderIntent, attempt: int, reason: str,
                                           query) -> OrderUpdate | None:
        """A create whose outcome is unknown (a timeout, a connection error, an HTTP 5xx): ask the venue
        for the client id first (``await query(symbol, client_id, required=True)``), so that an order is
        never doubled.  The order the venue has; else None after backing off (``retry_backoff x attempt``
        seconds): the caller then sends the SAME request again.  After ``max_create_attempts`` a
        :class:`GatewayError`."""
        cid = intent.client_id
        self.stats["ambiguous"] += 1
        self.log.warning("%s create %s: outcome unknown (%s); asking the venue", self.name, cid, reason)
        found = await query(intent.symbol, cid, required=True)
        if found is not None:
            return found
        if attempt >= self.max_create_attempts:
            raise GatewayError(f"{self.name} create {cid}: not placed after {attempt} attempts ({reason})") from None
        self.stats["create_retries"] += 1
        await asyncio.sleep(self.retry_backoff * attempt)
        return None

    # ------------------------------------------------------------------ a held bracket, retired
    def _retire_bracket(self, key: str) -> None:
        """A new entry with exits for ``key`` (a symbol, a contract) while its previous bracket (``self._bracket``:
        ``{"cid", "placed", ...}``) is still held: its position closed by an exit the gateway learnt of by
        reconciliation, the flat position not read yet.  That bracket is done and what is left of its exits is
        cancelled (the venue's ``_cancel_exits(key, bracket)``), else the other exit rests and fires against the
        next position (or rests after the stop).  A venue whose late exit fills need the bracket keeps it first."""
        br = self._bracket.pop(key, None)
        if br is None or not br["placed"]:
            return
        self.stats["brackets_retired"] = self.stats.get("brackets_retired", 0) + 1
        self.log.warning("%s %s: a new entry while the exits of %s are held: they are cancelled", self.name, key,
                         br["cid"])
        self._spawn(self._cancel_exits(key, br))

    # ------------------------------------------------------------------ a cancel while the create is unanswered
    async def _creating(self, client_id: str, create) -> OrderUpdate:
        """Await ``create`` (the coroutine of one order's create loop) with ``client_id`` marked unanswered, so that
        a cancel meanwhile (:meth:`_wait_created`) waits for its answer instead of being sent first.  An answer of
        another shape than the venue's (its parser's :data:`SHAPE_ERRORS`) leaves the outcome unknown: the venue is
        asked for the client id at once (:meth:`_asked_after_shape`), and what it has is the answer; else a
        :class:`GatewayError` (the order asked for again later, never sent again blind)."""
        self._placing[client_id] = placed = asyncio.Event()
        try:
            return await create
        except SHAPE_ERRORS as exc:  # (a create answered in another shape: whether it was made is unknown)
            reason = f"outcome unknown: {_shape(exc)}"
            found = await self._asked_after_shape(client_id, reason)
            if found is not None:
                return found
            raise GatewayError(f"{self.name} create {client_id}: {reason}") from None
        finally:
            placed.set()
            if self._placing.get(client_id) is placed:
                self._placing.pop(client_id, None)
            self._cancel_asked.discard(client_id)

    async def _asked_after_shape(self, client_id: str, reason: str) -> OrderUpdate | None:
        """After a create answered in another shape: the order the venue has under ``client_id`` (asked once, as the
        create loops ask after a timeout), so an order it made is known now, not at the order manager's next ask;
        None when it has none or cannot say (nothing is sent again: a resend needs the loop's own answer)."""
        intent = self._intents.get(client_id)
        if intent is None:
            return None
        self.stats["ambiguous"] = self.stats.get("ambiguous", 0) + 1
        self.log.warning("%s create %s: %s; asking the venue", self.name, client_id, reason)
        try:
            return await self.query(intent.symbol, client_id)
        except Exception as exc:  # noqa: BLE001 - no answer: the outcome stays unknown (the caller's GatewayError)
            self.log.warning("%s create %s: the venue could not say (%s)", self.name, client_id, exc)
            return None

    def _written(self, intent: OrderIntent, sent) -> None:
        """A create written on the caller's stack (``send_now``, the fast lane; ``place(intent, sent=sent)`` reads
        its answer ``sent.fut`` later): ``intent`` remembered, and marked unanswered until that answer is in, so
        that a cancel meanwhile waits for it (:meth:`_wait_created`) as for a create :meth:`place` sends."""
        self._intents[intent.client_id] = intent
        self._placing[intent.client_id] = placed = asyncio.Event()
        sent.fut.add_done_callback(lambda _f: placed.set())

    def _cancelled_unsent(self, intent: OrderIntent, attempt: int) -> OrderUpdate | None:
        """Before attempt ``attempt`` of a create: when it is a resend (the venue did not have the order after an
        unknown outcome) and a cancel came meanwhile, the create is NOT sent again: a ``cancelled`` update, kept
        as the order's last state (a resend after the cancel found nothing to cancel would leave an order resting
        at the venue that the engine has dropped).  Else None."""
        cid = intent.client_id
        if attempt <= 1 or cid not in self._cancel_asked:
            return None
        self._cancel_asked.discard(cid)
        u = OrderUpdate(cid, "cancelled", intent.symbol, side=intent.side, price=intent.price, qty=intent.qty,
                        reason="cancelled before its create was confirmed: not sent again", kind=intent.kind,
                        ts_ns=time.time_ns())
        self._orders[(cid, intent.kind)] = u
        self.log.warning("%s create %s: cancelled while its outcome was unknown: not sent again", self.name, cid)
        return u

    async def _wait_created(self, client_id: str) -> OrderUpdate | None:
        """The first step of a cancel: while the create of ``client_id`` is unanswered (an unknown outcome being
        resolved), no resend after this (:meth:`_cancelled_unsent`) and wait for the create's answer.  Returns the
        order's state when that answer is final (nothing left to cancel), else None (the cancel goes on).  A
        :class:`GatewayError` when the create stays unanswered (the order manager asks again)."""
        placing = self._placing.get(client_id)
        if placing is None:
            return None
        self._cancel_asked.add(client_id)
        wait = self.max_create_attempts * (float(getattr(self.rest, "timeout", 5.0)) + 1.0)
        try:
            await asyncio.wait_for(placing.wait(), wait)
        except asyncio.TimeoutError:
            raise GatewayError(f"{self.name} cancel {client_id}: its create is still unanswered") from None
        kind = self._intents[client_id].kind if client_id in self._intents else "entry"
        known = self._orders.get((client_id, kind))
        return known if known is not None and known.status in TERMINAL else None

    async def cancel_batch(self, orders: list[tuple[str, str]]) -> dict[str, tuple[str, OrderUpdate | None]]:
        """:meth:`Gateway.cancel_batch` through the venue's :meth:`_cancel_batch`.  An order whose create is still
        unanswered is cancelled as :meth:`cancel` does it: its create's answer waited for first (:meth:`_wait_created`),
        the create not sent again; that answer final: ``accepted`` and that state; still none: ``error: ...`` (the
        order manager asks again); else its own batch then.  The other orders go at once.  (A batch sent before
        the create's answer finds no order, "unknown order", and the create then rests at the venue, untracked.)"""
        orders, out = list(dict.fromkeys(orders)), {}

        async def batch(items: list[tuple[str, str]]) -> None:
            if items:
                out.update(await self._cancel_batch(items))

        async def after_create(symbol: str, cid: str) -> None:
            try:
                known = await self._wait_created(cid)
            except GatewayError as exc:
                out[cid] = (f"error: {exc}", None)
                return
            if known is not None:  # (refused, filled, or cancelled unsent: nothing to cancel)
                out[cid] = ("accepted", known)
            else:
                await batch([(symbol, cid)])

        unanswered = [(s, c) for s, c in orders if c in self._placing]
        await asyncio.gather(batch([o for o in orders if o not in unanswered]), *(after_create(*o) for o in unanswered))
        return out

    async def _cancel_batch(self, orders: list[tuple[str, str]]) -> dict[str, tuple[str, OrderUpdate | None]]:
        """The venue's batch cancel of ``orders`` (none of them unanswered); default: one :meth:`cancel` each."""
        return await Gateway.cancel_batch(self, orders)

    def _answered(self, client_id: str, kind: str) -> OrderUpdate | None:
        """The state of an order the private stream already reported past ``pending`` (a push that overtook
        the create's answer), or None."""
        known = self._orders.get((client_id, kind))
        return known if known is not None and known.status != "pending" else None

    def known(self, client_id: str, kind: str = "entry") -> OrderUpdate | None:
        """The last state of an order the gateway has seen (push, answer or query), or None."""
        return self._orders.get((client_id, kind))

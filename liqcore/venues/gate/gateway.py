"""Gate USDT-margined perpetual futures (API v4) order gateway, implementing :class:`liqcore.venues.gateway.Gateway`.

* Sizes: the engine speaks base units, Gate signed contracts of ``quanto_multiplier`` (``GET
  /api/v4/futures/usdt/contracts``; ``order_size_min`` contracts at least, ``order_price_round`` the tick): an
  order's ``size`` is ``+n`` to buy, ``-n`` to sell, sent as a decimal string with ``X-Gate-Size-Decimal: 1``.
* Entries: ``POST /api/v4/futures/usdt/orders`` ("Create a futures order"): post-only ``tif`` ``poc`` (a crossing
  one refused: ``rejected``), a market order ``price`` ``"0"`` with ``tif`` ``ioc``, closes ``reduce_only``; the
  client id in ``text`` (:func:`liqcore.venues.gate.rest.gate_text`).
* The bad days: an unknown outcome (a timeout, a 5xx, ``INTERNAL`` / ``SERVER_ERROR`` / ``TOO_BUSY``:
  :mod:`liqcore.venues.gate.codes`) is asked for by its ``text`` before any resend (``GET
  /api/v4/futures/usdt/orders/{order_id}`` takes the text "when the order is in orderbook", and finished "within 60
  seconds after the end of the order. After that, only order ID is accepted": once Gate's order id is known it is
  asked by id); Gate does not refuse a second order with the same ``text``, so nothing is resent before that
  answer.  An unknown cancel is sent again until Gate says the order is finished.  429 / ``TOO_FAST`` and
  ``X-Gate-RateLimit-Requests-Remain: 0`` hold every caller of the host (the governor: :class:`GateREST`).
* Exits: on the entry's fill (pushed, or found by asking) a take-profit and a stop-loss as price-triggered orders
  (``POST /api/v4/futures/usdt/price_orders``: ``initial`` a reduce-only market close of the filled contracts,
  ``order_type`` ``plan-close-long-position`` / ``plan-close-short-position``; ``trigger`` ``price_type`` 0 (last
  price), ``rule`` 1 (>=) or 2 (<=)); one Gate ends without triggering while the position is open (cancelled,
  failed, expired) is said lost and placed again; what is left is cancelled when the position is flat.
* Private stream ``wss://fx-ws.gateio.ws/v4/ws/usdt``: ``futures.orders``, ``futures.usertrades``,
  ``futures.positions``, ``futures.autoorders`` with their ``auth`` (:mod:`liqcore.venues.gate.private`);
  ``futures.ping`` after ``ping_interval`` s of silence, a reconnect without ``futures.pong``; after a gap (a
  reconnect, or a quiet stream while something is open) the fills of ``GET /api/v4/futures/usdt/my_trades`` booked
  once, the live orders asked again, the positions and the price-triggered orders read again.

Why one module: the orders, the private socket and the exits share one state (the orders and exits by text).

May import: aiohttp, orjson, ``liqcore.secrets`` and the venue layer (``gateway``, ``gateway_core``,
``instruments``, ``numbers``, ``private_link``, ``ratelimit`` and ``gate.*``).
"""
from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from decimal import ROUND_FLOOR, Decimal

import orjson

from liqcore.secrets import Secret
from liqcore.venues.gate.private import (AUTO_LIVE, CHANNELS, auto_order_state, dec, fmt, order_update,
                                         position_size, subscribe_request, trade_fill)
from liqcore.venues.gate.rest import (API, BASE_URL, FUTURES, GateAPIError, GateBanned, GateRateLimited, GateREST,
                                      GateTransportError, explain, gate_text)
from liqcore.venues.gate.stream import ENDPOINTS, HEADERS, contract as _contract
from liqcore.venues.gateway import Fill, GatewayError, OrderIntent, OrderUpdate, PositionInfo
from liqcore.venues.gateway_core import TERMINAL, VenueGateway
from liqcore.venues.instruments import Instrument
from liqcore.venues.numbers import wire_number
from liqcore.venues.private_link import StreamStats, receive_alive, wait_connected
from liqcore.venues.ratelimit import SlidingWindowLimiter

__all__ = ["GateGateway", "GATEWAY", "build", "ORDER_LIMIT_PER_S"]

log = logging.getLogger("liqcore.gate.gateway")

#: order requests (create and cancel) per second (Gate API v4, "Frequency limit rule": futures orders, 100 r/s)
ORDER_LIMIT_PER_S = 100
ERR_NOT_FOUND = ("ORDER_NOT_FOUND", "AUTO_ORDER_NOT_FOUND", "NOT_FOUND")
_AUTH_ERRORS = ("INVALID_KEY", "INVALID_SIGNATURE", "FORBIDDEN", "READ_ONLY", "MISSING_REQUIRED_HEADER")
#: a price-triggered order that ended by triggering (Gate API v4 ``FuturesPriceTriggeredOrder.finish_as``)
TRIGGERED = ("succeeded",)


class GateGateway(VenueGateway):
    name = "gate"
    log = log
    client_id_name = "Gate order text"

    def __init__(self, api_key: str | Secret, api_secret: str | Secret, rest_url: str = BASE_URL,
                 private_ws_url: str | None = None, *, symbols: list[str] | None = None, network: str = "mainnet",
                 timeout: float = 5.0, max_create_attempts: int = 4, retry_backoff: float = 0.2,
                 connect_timeout: float = 10.0, reconnect_max: float = 10.0, ping_interval: float = 10.0,
                 reconcile_s: float = 5.0) -> None:
        if not reconcile_s > 0:
            raise ValueError(f"reconcile_s: must be > 0 seconds, got {reconcile_s!r}")
        if network not in ENDPOINTS:
            raise ValueError(f"network: expected one of {', '.join(ENDPOINTS)}, got {network!r}")
        self.reconcile_s = float(reconcile_s)
        self._hold_keys(api_key, api_secret)
        self.network = network
        base = (rest_url or BASE_URL).rstrip("/")
        if base.endswith(API):
            base = base[: -len(API)]
        self.rest = GateREST(self._key, self._secret, base, timeout=timeout)
        url = (private_ws_url or ENDPOINTS[network]).rstrip("/")
        self.private_ws_url = url if "/" in url.split("://", 1)[-1] else url + "/v4/ws/usdt"
        self.symbols = list(symbols) if symbols else None
        self.max_create_attempts = int(max_create_attempts)
        self.retry_backoff = float(retry_backoff)
        self.connect_timeout = float(connect_timeout)
        self.reconnect_max = float(reconnect_max)
        self.ping_interval = float(ping_interval)
        self.user_id = ""
        self._gate: dict[str, dict] = {}  # contract -> {"mult", "tick", "min"} (Decimals)
        self._names: dict[str, str] = {}  # contract -> the symbol name the engine uses
        self._text: dict[str, tuple[str, str]] = {}  # Gate text -> (liqcore client id, kind)
        self._oid: dict[str, str] = {}  # liqcore client id -> Gate order id (asked by id once known)
        self._by_oid: dict[str, tuple[str, str]] = {}  # Gate order id -> (client id, kind)
        self.order_limiter = SlidingWindowLimiter(ORDER_LIMIT_PER_S, 1.0)
        #: contract -> {"cid", "placed", "tp", "sl", "n", "stale", "lost"} ("lost": tp|sl -> why, the exits Gate ended
        #: while the position's size was not known here: placed again once a reading or a push shows it open)
        self._bracket: dict[str, dict] = {}
        self._filled_ct: dict[str, Decimal] = {}  # client id -> contracts filled
        self._pos_ct: dict[str, Decimal] = {}  # contract -> signed contracts
        self._pos_pushes: dict[str, int] = {}  # contract -> futures.positions pushes seen (a reading's freshness)
        self._cancelling: set[str] = set()  # price-triggered order ids this gateway cancels
        self._exits: dict[tuple[str, str], OrderUpdate] = {}  # (client id, tp|sl) -> the exit's last state
        self._last_rx_ms = time.time() * 1000.0
        self._init_stream_state()
        self._fatal: str | None = None
        self.connected = asyncio.Event()
        self.reconciled: dict[str, list] = {"orders": [], "positions": []}
        self.stats = {"reconnects": 0, "ambiguous": 0, "create_retries": 0, "duplicates_resolved": 0, "rejected": 0,
                      "brackets": 0, "bad_events": 0, "ping_failures": 0, "callback_errors": 0,
                      "liveness_reconnects": 0, "fills_recovered": 0, "exits_lost": 0, "exits_replaced": 0,
                      "resyncs": 0, "quiet_reconciles": 0}
        self.stream = StreamStats(self.stats)

    # ------------------------------------------------------------------ names and sizes
    def _c(self, symbol: str) -> str:
        c = _contract(symbol)
        self._names.setdefault(c, str(symbol).upper())
        return c

    def _name(self, c: str) -> str:
        return self._names.get(c, c)

    def _spec(self, c: str) -> dict:
        try:
            return self._gate[c]
        except KeyError:
            raise ValueError(f"symbol: {c!r} has no Gate contract loaded") from None

    def mult(self, symbol: str) -> Decimal:
        return self._spec(self._c(symbol))["mult"]

    def contracts(self, symbol: str, qty: float, check_min: bool = True) -> Decimal:
        """``qty`` base units as whole contracts (floored); ValueError below ``order_size_min`` (``check_min=False``:
        any size, e.g. what a partial fill left)."""
        s = self._spec(self._c(symbol))
        n = (dec(qty) / s["mult"] + Decimal("1e-9")).to_integral_value(ROUND_FLOOR)
        if check_min and (n < s["min"] or n <= 0):
            raise ValueError(f"qty: {qty!r} is {fmt(dec(qty) / s['mult'])} contracts, below Gate's order_size_min "
                             f"{fmt(s['min'])}")
        return n

    def _px(self, symbol: str, px: float) -> str:
        return self.instrument(symbol).price_str(px)

    def text(self, client_id: str, kind: str = "entry", suffix: str = "") -> str:
        t = gate_text(client_id, suffix)
        self._text[t] = (client_id, kind)
        return t

    def client_id_of(self, text: str) -> tuple[str, str]:
        """(liqcore client id, kind) of a Gate ``text`` this gateway sent (an entry, an exit, a close), else the text
        and ``entry``."""
        return self._who(text)

    def known(self, client_id: str, kind: str = "entry") -> OrderUpdate | None:
        """The last state seen of ``client_id``'s order ``kind``; a take-profit / stop-loss: its price-triggered
        order's (``new`` while Gate holds it open, ``triggered``, ``cancelled``), or the order it triggered."""
        if kind in ("tp", "sl"):
            return self._exits.get((client_id, kind))
        return self._orders.get((client_id, kind))

    def _exit_state(self, cid: str, which: str, status: str, aid: str = "", reason: str = "") -> None:
        intent = self._intents.get(cid)
        old = self._exits.get((cid, which))
        self._exits[(cid, which)] = OrderUpdate(cid, status, intent.symbol if intent else "",
                                                aid or (old.venue_order_id if old else ""), reason=reason, kind=which,
                                                ts_ns=time.time_ns())

    def _who(self, text: str, oid: str = "") -> tuple[str, str]:
        """(client id, kind) of a Gate order's ``text`` (or its order id), or the text and ``entry``."""
        if text in self._text:
            return self._text[text]
        if oid and oid in self._by_oid:
            return self._by_oid[oid]
        return text, "entry"

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        import aiohttp

        try:
            await self._reconcile_at_start(self.load_instruments, (GateAPIError, GateTransportError))
        except GatewayError:
            await self.rest.close()  # (a refused key: nothing left open)
            raise
        self._session = aiohttp.ClientSession()
        self._closing, self._fatal = False, None
        self._stream_task = asyncio.create_task(self._stream(), name="gate-private-stream")
        if not await wait_connected(self.connected, lambda: self._fatal, self.connect_timeout):
            why = self._fatal or "did not connect"
            await self.close()
            raise GatewayError(f"gate private stream: {why}")
        try:  # the restart check: the exits live among the price-triggered orders
            self.reconciled["price_orders"] = await self._open_auto_orders()
        except (GateAPIError, GateTransportError) as exc:
            log.warning("gate start: the open price-triggered orders not listed: %s", exc)
        self._spawn(self._quiet_loop())

    async def load_instruments(self) -> dict[str, Instrument]:
        """The contracts (``GET /api/v4/futures/usdt/contracts``, public) and the account's user id (``GET
        /api/v4/futures/usdt/accounts``: ``user``, which the private channels' payload names)."""
        rows = await self.rest.request("GET", FUTURES + "/contracts", signed=False)
        wanted = {self._c(s) for s in self.symbols} if self.symbols else None
        for r in rows if isinstance(rows, list) else []:
            try:
                c = str(r["name"])
                if wanted is not None and c not in wanted:
                    continue
                spec = {"mult": dec(r["quanto_multiplier"]), "tick": dec(r["order_price_round"]),
                        "min": dec(r.get("order_size_min") or 1)}
                if min(spec.values()) <= 0:
                    raise ValueError
            except (KeyError, TypeError, ValueError, ArithmeticError):
                self.stats["bad_events"] += 1
                continue
            self._gate[c] = spec
            name = self._name(c)
            ins = Instrument(name, float(spec["tick"]), float(spec["mult"]), float(spec["min"] * spec["mult"]))
            for alias in {name, c, c.replace("_", "")}:  # ETHUSDT and ETH_USDT alike
                self._instruments[alias] = ins if alias == name else Instrument(alias, ins.tick_size, ins.qty_step,
                                                                                ins.min_qty)
        acct = await self.rest.request("GET", FUTURES + "/accounts")
        self.user_id = str((acct or {}).get("user") or "")
        if not self.user_id:
            raise GateTransportError(FUTURES + "/accounts", "the account answer names no user id")
        return dict(self._instruments)

    def _open_anything(self) -> bool:
        return super()._open_anything() or bool(self._bracket) or any(self._pos_ct.values())

    async def _quiet_reconcile(self) -> None:
        await self._resync()

    #: how long the last reading of the fills at :meth:`close` may take (s)
    CLOSE_FILLS_S = 3.0

    async def close(self) -> None:
        """Stop.  A stop while the private socket is open but mute (or down) would lose the fills of that gap: they
        are read once more (``GET /api/v4/futures/usdt/my_trades``, booked once) within :attr:`CLOSE_FILLS_S`."""
        if self._session is not None and not self._closing:
            try:
                await asyncio.wait_for(self._missed_fills(self._last_rx_ms), self.CLOSE_FILLS_S)
            except (GateAPIError, GateTransportError, GatewayError, asyncio.TimeoutError) as exc:
                log.warning("gate stop: the fills since the last private message could not be read: %s",
                            exc or type(exc).__name__)
        await self._stop_tasks()

    # ------------------------------------------------------------------ orders
    def order_body(self, intent: OrderIntent) -> dict:
        """The ``POST /api/v4/futures/usdt/orders`` body of ``intent`` (ValueError naming a bad field)."""
        self.check_intent(intent)
        c = self._c(intent.symbol)
        n = self.contracts(intent.symbol, intent.qty)
        b = {"contract": c, "size": fmt(n if intent.side == "buy" else -n),
             "text": self.text(intent.client_id, intent.kind)}
        if intent.order_type == "market":
            b.update(price="0", tif="ioc")
        else:
            if not (intent.price > 0 and math.isfinite(intent.price)):
                raise ValueError(f"price: must be > 0 for a limit order, got {intent.price!r}")
            b.update(price=self._px(intent.symbol, intent.price), tif="poc" if intent.post_only else "gtc")
        if intent.reduce_only or intent.kind in ("exit", "tp", "sl"):
            b["reduce_only"] = True
        return b

    def _update(self, cid: str, kind: str, u: OrderUpdate) -> OrderUpdate:
        return OrderUpdate(cid, u.status, self._name(u.symbol), u.venue_order_id, u.side, u.price, u.qty,
                           u.filled_qty, u.avg_price, u.reason, kind, u.ts_ns)

    def _keep(self, row: dict) -> tuple[OrderUpdate, str]:
        """A Gate order object kept as the last state of its order; (its update, its contract)."""
        c = str(row.get("contract") or "")
        u = order_update(row, self._spec(c)["mult"])
        cid, kind = self._who(u.client_id, u.venue_order_id)
        u = self._update(cid, kind, u)
        if u.venue_order_id:
            self._by_oid[u.venue_order_id] = (cid, kind)
        if kind in ("tp", "sl"):  # (the order a price-triggered exit placed: not asked for again by its text)
            self._exits[(cid, kind)] = u
            return u, c
        if u.venue_order_id:
            self._oid[cid] = u.venue_order_id
        self._orders[(cid, kind)] = u
        if kind == "entry":
            self._filled_ct[cid] = abs(dec(row.get("size"))) - abs(dec(row.get("left")))
        return u, c

    async def place(self, intent: OrderIntent) -> OrderUpdate:
        body = self.order_body(intent)
        c = body["contract"]
        self._intents[intent.client_id] = intent
        if intent.kind == "entry" and (intent.take_profit or intent.stop_loss):
            self._retire_bracket(c)  # (the previous position's exits: cancelled)
            self._bracket[c] = {"cid": intent.client_id, "placed": False, "tp": "", "sl": "", "n": 0, "stale": [],
                                 "lost": {}}
        return await self._creating(intent.client_id, self._create(intent, body, c))

    async def _create(self, intent: OrderIntent, body: dict, c: str) -> OrderUpdate:
        cid, kind = intent.client_id, intent.kind
        for attempt in range(1, self.max_create_attempts + 1):
            if (u := self._cancelled_unsent(intent, attempt)) is not None:  # (cancelled while unanswered)
                return u
            try:
                row = await self.rest.request("POST", FUTURES + "/orders", body=body, limiter=self.order_limiter)
            except GateBanned as exc:
                raise GatewayError(f"gate create {cid}: not sent: {exc}") from None
            except (GateAPIError, GateTransportError) as exc:
                if (done := await self._after_create_error(intent, attempt, exc, self._query)) is None:
                    continue
                return done
            if (known := self._answered(cid, kind)) is not None:
                return known  # (its push came first)
            try:
                u, _ = self._keep(row)
            except (ValueError, TypeError, AttributeError, ArithmeticError):
                u = OrderUpdate(cid, "new", intent.symbol, str((row or {}).get("id") or ""), intent.side,
                                intent.price, intent.qty, kind=kind, ts_ns=time.time_ns())
                self._orders[(cid, kind)] = u
            await self._after_entry_state(c, cid, u)
            return u
        raise GatewayError(f"gate create {cid}: not placed")  # pragma: no cover - the loop returns or raises

    def _create_error(self, exc: BaseException) -> tuple[str, str]:
        """Gate's answer sorted by :data:`liqcore.venues.gate.codes.CODES` (the client raised it so): Gate has no
        duplicate answer (a ``text`` may repeat), so a refusal is ``refused``."""
        if isinstance(exc, GateRateLimited):
            return "rate_limited", str(exc)
        if isinstance(exc, GateAPIError):
            return "refused", explain(exc.label, exc.message)
        return "unknown", exc.reason

    async def _query(self, symbol: str, cid: str, required: bool = False) -> OrderUpdate | None:
        """The order ``cid`` as Gate holds it (by Gate's order id once known, else by its ``text``); None when Gate
        has none (``ORDER_NOT_FOUND``)."""
        c, last = self._c(symbol), ""
        kind = self._intents[cid].kind if cid in self._intents else "entry"
        ref = self._oid.get(cid) or gate_text(cid)
        for i in range(4):
            try:
                row = await self.rest.request("GET", f"{FUTURES}/orders/{ref}")
            except GateAPIError as exc:
                if exc.label in ERR_NOT_FOUND or exc.http_status == 404:
                    return None
                last = str(exc)
                if not isinstance(exc, GateRateLimited):
                    break
            except GateTransportError as exc:
                last = str(exc)
            else:
                try:
                    self._text.setdefault(str(row.get("text") or ""), (cid, kind))
                    u, _ = self._keep(row)
                except (ValueError, TypeError, AttributeError, ArithmeticError) as exc:
                    last = f"unreadable answer: {exc}"
                    break
                br = self._bracket.get(c)
                if u.kind == "entry" and br is not None and br["cid"] == cid and not br["placed"]:
                    self._spawn(self._after_entry_state(c, cid, u))
                return u
            await asyncio.sleep(self.retry_backoff * (i + 1))
        if required:
            raise GatewayError(f"gate query {cid}: no answer from the venue ({last})")
        return None

    async def query(self, symbol: str, client_id: str) -> OrderUpdate | None:
        return await self._query(symbol, client_id, required=True)

    def _gone(self, symbol: str, client_id: str) -> OrderUpdate:
        return OrderUpdate(client_id, "cancelled", symbol, kind=self._intents[client_id].kind
                           if client_id in self._intents else "entry", ts_ns=time.time_ns())

    async def cancel(self, symbol: str, client_id: str) -> OrderUpdate:
        """Cancel (``DELETE /api/v4/futures/usdt/orders/{order_id}``, by id once known, else by text).  A cancel whose
        outcome is unknown is never reported done: the order is queried and, while Gate holds it open, the cancel
        sent again (``max_create_attempts`` times, backing off); still unknown: :class:`GatewayError`."""
        c = self._c(symbol)
        if (known := await self._wait_created(client_id)) is not None:  # (its create was unanswered: now final)
            return known
        last = ""
        for attempt in range(1, self.max_create_attempts + 1):
            ref = self._oid.get(client_id) or gate_text(client_id)
            try:
                row = await self.rest.request("DELETE", f"{FUTURES}/orders/{ref}", limiter=self.order_limiter)
            except (GateRateLimited, GateBanned) as exc:
                raise GatewayError(f"gate cancel {client_id}: not sent: {exc}") from None
            except GateAPIError as exc:
                found = await self._query(symbol, client_id)
                if found is not None and found.status in TERMINAL:
                    await self._after_entry_state(c, client_id, found)
                    return found
                if found is None and (exc.label in ERR_NOT_FOUND or exc.http_status == 404):
                    return OrderUpdate(client_id, "rejected", symbol, reason=explain(exc.label, exc.message),
                                       ts_ns=time.time_ns())
                raise GatewayError(f"gate cancel {client_id}: {exc}") from None
            except GateTransportError as exc:
                last = exc.reason
                self.stats["ambiguous"] += 1
                log.warning("gate cancel %s: outcome unknown (%s); asking the venue", client_id, exc.reason)
                try:
                    found = await self._query(symbol, client_id, required=True)
                except GatewayError as qexc:
                    last, found = f"{exc.reason}; {qexc}", None
                else:
                    if found is None:
                        return self._gone(symbol, client_id)
                    if found.status in TERMINAL:
                        await self._after_entry_state(c, client_id, found)
                        return found
                await asyncio.sleep(self.retry_backoff * attempt)
                continue
            try:
                u, _ = self._keep(row)
            except (ValueError, TypeError, AttributeError, ArithmeticError):
                u = await self._query(symbol, client_id)
                if u is None:
                    return self._gone(symbol, client_id)
            await self._after_entry_state(c, client_id, u)
            return u
        raise GatewayError(f"gate cancel {client_id}: outcome unknown after {self.max_create_attempts} attempts "
                           f"({last})")

    async def close_position(self, symbol: str, client_id: str) -> OrderUpdate:
        """A reduce-only market close (``tif`` ``ioc``, ``price`` ``"0"``) of the contract's position as Gate holds
        it (``GET /api/v4/futures/usdt/positions/{contract}``)."""
        c = self._c(symbol)
        try:
            row = await self.rest.request("GET", f"{FUTURES}/positions/{c}")
        except GateAPIError as exc:
            if exc.label not in ("POSITION_NOT_FOUND", "POSITION_EMPTY") and exc.http_status != 404:
                raise GatewayError(f"gate close_position {symbol}: {exc}") from None
            row = {}
        except GateTransportError as exc:
            raise GatewayError(f"gate close_position {symbol}: {exc}") from None
        pos = position_size(row or {})
        self._pos_ct[c] = pos
        if pos == 0:
            return OrderUpdate(client_id, "rejected", symbol, reason="no_position", kind="exit", ts_ns=time.time_ns())
        qty = float(abs(pos) * self._spec(c)["mult"])
        return await self.place(OrderIntent(symbol, "sell" if pos > 0 else "buy", qty, 0.0, client_id, post_only=False,
                                            reduce_only=True, kind="exit", order_type="market"))

    async def open_orders(self) -> list[OrderUpdate]:
        try:
            rows = await self.rest.request("GET", FUTURES + "/orders", {"status": "open"})
        except (GateAPIError, GateTransportError) as exc:
            raise GatewayError(f"gate open_orders: {exc}") from None
        out = []
        for r in rows or []:
            try:
                c = str(r.get("contract") or "")
                u = order_update(r, self._gate[c]["mult"] if c in self._gate else Decimal(1))
            except (ValueError, KeyError, TypeError, AttributeError, ArithmeticError):
                self.stats["bad_events"] += 1
                continue
            cid, kind = self._who(u.client_id, u.venue_order_id)
            out.append(self._update(cid, kind, u))
        return out

    async def positions(self) -> list[PositionInfo]:
        """The open positions (``GET /api/v4/futures/usdt/positions``).  A contract whose ``futures.positions`` push
        came while the reading was on its way keeps the push's size (the newer one): a reading never undoes it."""
        pushed = dict(self._pos_pushes)
        try:
            rows = await self.rest.request("GET", FUTURES + "/positions")
        except (GateAPIError, GateTransportError) as exc:
            raise GatewayError(f"gate positions: {exc}") from None
        out = []
        stale = {c for c, n in self._pos_pushes.items() if n != pushed.get(c)}  # (pushed while it was read)
        for c in self._pos_ct:
            if c not in stale:
                self._pos_ct[c] = Decimal(0)
        for r in rows or []:
            try:
                c, pos = str(r.get("contract") or ""), position_size(r)
            except (ValueError, AttributeError):
                self.stats["bad_events"] += 1
                continue
            if c not in stale:
                self._pos_ct[c] = self._pos_ct.get(c, Decimal(0)) + pos  # (hedge mode: one row per leg)
            if pos and c in self._gate:
                out.append(PositionInfo(self._name(c), "buy" if pos > 0 else "sell", float(abs(pos) * self._gate[c]["mult"]),
                                        float(dec(r.get("entry_price")))))
        return out

    async def equity(self) -> float:
        """``total`` + ``unrealised_pnl`` of ``GET /api/v4/futures/usdt/accounts`` (USDT)."""
        try:
            a = await self.rest.request("GET", FUTURES + "/accounts")
            return float(dec(a.get("total")) + dec(a.get("unrealised_pnl")))
        except (GateAPIError, GateTransportError, AttributeError, ValueError, ArithmeticError) as exc:
            raise GatewayError(f"gate account: {exc}") from None

    # ------------------------------------------------------------------ take-profit / stop-loss
    async def _after_entry_state(self, c: str, cid: str, u: OrderUpdate) -> None:
        br = self._bracket.get(c)
        if u.kind == "entry" and br is not None and br["cid"] == cid and not br["placed"] and (
                u.status == "filled" or (u.status == "cancelled" and u.filled_qty > 0)):
            self._filled_ct[cid] = max(self._filled_ct.get(cid, Decimal(0)),
                                       self.contracts(u.symbol, u.filled_qty, check_min=False))
            await self._protect(c)

    def _auto_body(self, c: str, intent: OrderIntent, which: str, n: Decimal, text: str) -> dict:
        """A take-profit (``which`` tp) or stop-loss (sl) of ``n`` filled contracts of ``intent`` (Gate API v4,
        "Create a price-triggered order"): a reduce-only IOC market close; the trigger on the last price, ``rule``
        1 (>=) above the market, 2 (<=) below."""
        long_ = intent.side == "buy"
        px = intent.take_profit if which == "tp" else intent.stop_loss
        above = (which == "tp") == long_  # a long's take-profit and a short's stop-loss trigger above
        return {"initial": {"contract": c, "size": fmt(-n if long_ else n), "price": "0", "tif": "ioc",
                            "reduce_only": True, "text": text},
                "trigger": {"strategy_type": 0, "price_type": 0, "price": self._px(intent.symbol, px),
                            "rule": 1 if above else 2},
                "order_type": "plan-close-long-position" if long_ else "plan-close-short-position"}

    async def _protect(self, c: str) -> None:
        """Place ``c``'s take-profit and stop-loss for the contracts filled."""
        br = self._bracket.get(c)
        if br is None or br["placed"]:
            return
        intent = self._intents.get(br["cid"])
        n = self._filled_ct.get(br["cid"])
        if intent is None or not n:
            return
        br["placed"] = True
        self.stats["brackets"] += 1
        for which in ("tp", "sl"):
            if (intent.take_profit if which == "tp" else intent.stop_loss):
                await self._place_exit(c, br, intent, which, n)
                if self._bracket.get(c) is not br:  # (cleared or retired meanwhile: no exit may outlive it)
                    await self._cancel_exits(c, br)

    async def _place_exit(self, c: str, br: dict, intent: OrderIntent, which: str, n: Decimal) -> bool:
        """One price-triggered exit; True once Gate holds it (its id in ``br[which]``).  An unknown outcome is asked
        for among the open price-triggered orders by its ``text`` before any resend; a refusal is a ``rejected``
        update of the exit (kind ``tp`` / ``sl``) and the position said unprotected."""
        br["n"] += 1
        text = self.text(br["cid"], which, f"-{which}{br['n']}")
        body = self._auto_body(c, intent, which, n, text)
        reason = ""
        for attempt in range(1, self.max_create_attempts + 1):
            try:
                r = await self.rest.request("POST", FUTURES + "/price_orders", body=body, limiter=self.order_limiter)
                br[which] = str((r or {}).get("id") or "")
                self._exit_state(br["cid"], which, "new", br[which])
                return True
            except GateRateLimited:
                await asyncio.sleep(self.retry_backoff * attempt)
                continue
            except GateBanned as exc:
                reason = str(exc)
                break
            except GateAPIError as exc:
                why = explain(exc.label, exc.message)
                log.error("gate %s of %s refused: %s", which, br["cid"], why)
                await self._emit(self._update_cbs, OrderUpdate(br["cid"], "rejected", intent.symbol, reason=why,
                                                               kind=which, ts_ns=time.time_ns()))
                self._protection(intent.symbol, which, "failed", why)
                return False
            except GateTransportError as exc:
                self.stats["ambiguous"] += 1
                reason = f"outcome unknown ({exc.reason})"
                found = await self._find_auto(c, text)
                if found:
                    br[which] = found
                    self._exit_state(br["cid"], which, "new", found)
                    return True
                await asyncio.sleep(self.retry_backoff * attempt)
        br["stale"].append(text)  # (Gate may hold it after all: cancelled when found, see _clear_bracket)
        self._protection(intent.symbol, which, "failed", reason or "not placed")
        return False

    async def _open_auto_orders(self, c: str | None = None) -> list[dict]:
        """The price-triggered orders Gate holds open (``GET /api/v4/futures/usdt/price_orders?status=open``)."""
        rows = await self.rest.request("GET", FUTURES + "/price_orders", {"status": "open", "contract": c})
        return [r for r in rows or [] if isinstance(r, dict)]

    async def _find_auto(self, c: str, text: str) -> str:
        """The id of the open price-triggered order of ``c`` whose initial order's text is ``text``, or ""."""
        try:
            rows = await self._open_auto_orders(c)
        except (GateAPIError, GateTransportError) as exc:
            log.warning("gate price-triggered order %s: not found out (%s)", text, exc)
            return ""
        for r in rows:
            if auto_order_state(r)[2] == text and r.get("id") not in (None, ""):
                return str(r["id"])
        return ""

    async def _cancel_auto(self, auto_id: str) -> bool:
        """Cancel one price-triggered order (``DELETE /api/v4/futures/usdt/price_orders/{id}``); an unknown outcome
        asked for and sent again while Gate holds it open.  True once Gate holds it open no more."""
        self._cancelling.add(auto_id)
        for attempt in range(1, self.max_create_attempts + 1):
            try:
                await self.rest.request("DELETE", f"{FUTURES}/price_orders/{auto_id}", limiter=self.order_limiter)
                return True
            except GateAPIError as exc:
                if exc.label in ERR_NOT_FOUND or exc.http_status == 404 or not isinstance(exc, GateRateLimited):
                    return exc.label in ERR_NOT_FOUND or exc.http_status == 404
            except GateTransportError:
                try:
                    row = await self.rest.request("GET", f"{FUTURES}/price_orders/{auto_id}")
                    if auto_order_state(row or {})[0] not in AUTO_LIVE:
                        return True
                except (GateAPIError, GateTransportError):
                    pass
            await asyncio.sleep(self.retry_backoff * attempt)
        log.error("gate cancel of price-triggered order %s: outcome unknown after %d attempts", auto_id,
                  self.max_create_attempts)
        return False

    async def _clear_bracket(self, c: str, expected: dict | None = None) -> None:
        """The position is flat: cancel what is left of ``c``'s take-profit / stop-loss (and any placement of
        unknown outcome Gate holds after all).  ``expected``: clear only that bracket (a newer one is left alone)."""
        if expected is not None and self._bracket.get(c) is not expected:
            return
        br = self._bracket.pop(c, None)
        if br is None:
            return
        await self._cancel_exits(c, br)

    async def _cancel_exits(self, c: str, br: dict) -> None:
        """Cancel the exits of the bracket ``br`` of ``c`` (no longer its current one)."""
        for which in ("tp", "sl"):
            if br.get(which) and await self._cancel_auto(br[which]):
                self._exit_state(br["cid"], which, "cancelled", reason="the position is flat")
        for text in br["stale"]:
            if found := await self._find_auto(c, text):
                await self._cancel_auto(found)

    async def _on_auto(self, row: dict) -> None:
        """A price-triggered order's state (a ``futures.autoorders`` push, or read): one of ours that ended without
        triggering while the position is open is lost: said, and placed again."""
        status, why, text = auto_order_state(row)
        if status in AUTO_LIVE or text not in self._text:
            return
        cid, which = self._text[text]
        aid = str(row.get("id") or "")
        c = str((row.get("initial") or {}).get("contract") or "")
        br = self._bracket.get(c)
        if br is None or br["cid"] != cid or br.get(which) != aid:
            return
        br[which] = ""
        self._exit_state(cid, which, "triggered" if why in TRIGGERED else "cancelled", aid, why)
        if why in TRIGGERED or aid in self._cancelling:
            return
        intent = self._intents.get(cid)
        if intent is None:
            return
        if not self._pos_ct.get(c):  # (flat, or its size not read yet after a gap: the next reading decides)
            br["lost"][which] = why or status
            return
        await self._replace_exit(c, br, intent, which, why or status)

    async def _replace_exit(self, c: str, br: dict, intent: OrderIntent, which: str, why: str) -> None:
        """An exit Gate ended without triggering while the position is open: said lost, and placed again."""
        self.stats["exits_lost"] += 1
        self._protection(intent.symbol, which, "lost", f"Gate ended it: {why}")
        br["lost"].pop(which, None)
        n = abs(self._pos_ct[c])
        if await self._place_exit(c, br, intent, which, n):
            self.stats["exits_replaced"] += 1
            self._protection(intent.symbol, which, "replaced", f"a new {which} for {fmt(n)} contracts")

    async def _mend_lost(self, c: str) -> None:
        """The exits of ``c`` Gate ended while the position's size was unknown here (:meth:`_on_auto`): placed again
        now that a reading or a push shows the position open."""
        br = self._bracket.get(c)
        if br is None or not br["lost"] or not self._pos_ct.get(c):
            return
        intent = self._intents.get(br["cid"])
        for which, why in sorted(br["lost"].items()):
            if which not in br["lost"]:
                continue  # (another caller placed it meanwhile)
            if intent is not None and not br.get(which):
                await self._replace_exit(c, br, intent, which, why)
            else:
                br["lost"].pop(which, None)

    # ------------------------------------------------------------------ private stream
    async def _on_order(self, row: dict) -> None:
        c = str(row.get("contract") or "")
        if c not in self._gate:
            return
        u, _ = self._keep(row)
        await self._emit(self._update_cbs, u)
        if u.kind == "entry":
            await self._after_entry_state(c, u.client_id, u)

    async def _on_trade(self, row: dict, reading: bool = False) -> None:
        c = str(row.get("contract") or "")
        if c not in self._gate:
            return
        f = trade_fill(row, self._gate[c]["mult"])
        cid, kind = self._who(f.client_id, str(row.get("order_id") or ""))
        if cid not in self._intents and kind not in ("tp", "sl"):
            return  # (not this gateway's)
        if self._first_seen(f.exec_id):
            await self._emit(self._fill_cbs, Fill(cid, self._name(c), f.side, f.price, f.qty, f.fee, f.is_maker,
                                                  f.exec_id, kind, f.ts_ns))
            br = self._bracket.get(c)
            if reading and kind in ("tp", "sl") and br is not None and br["cid"] == cid and br["placed"]:
                self._spawn(self._flat_after_exit(c, br))  # (the stream did not say: the position read now)

    async def _flat_after_exit(self, c: str, br: dict) -> None:
        """An exit's fill booked from a reading (the private stream mute or down: no flat position push will come):
        the positions are read, and flat, the bracket is cleared (the other exit cancelled) at once, not at the
        next reading (before which the engine may already trade the contract again)."""
        try:
            await self.positions()
        except GatewayError:
            return
        if not self._pos_ct.get(c):
            await self._clear_bracket(c, br)

    async def _on_position(self, row: dict) -> None:
        c = str(row.get("contract") or "")
        pos = position_size(row)
        prev = self._pos_ct.get(c, Decimal(0))
        self._pos_ct[c] = pos
        self._pos_pushes[c] = self._pos_pushes.get(c, 0) + 1
        br = self._bracket.get(c)
        if pos == 0 and prev != 0 and br is not None and br["placed"]:
            self._spawn(self._clear_bracket(c))
        elif pos and br is not None and br["lost"]:
            self._spawn(self._mend_lost(c))

    async def _handle(self, msg: dict) -> None:
        ch, ev = msg.get("channel"), msg.get("event")
        if ev != "update" or ch not in CHANNELS:
            if msg.get("error"):
                log.warning("gate private stream: %s", msg.get("error"))
            return
        res = msg.get("result")
        for row in res if isinstance(res, list) else [res]:
            if not isinstance(row, dict):
                self.stats["bad_events"] += 1
                continue
            try:
                if ch == "futures.orders":
                    await self._on_order(row)
                elif ch == "futures.usertrades":
                    await self._on_trade(row)
                elif ch == "futures.positions":
                    await self._on_position(row)
                else:
                    await self._on_auto(row)
            except (ValueError, TypeError, KeyError, ArithmeticError, AttributeError) as exc:
                self.stats["bad_events"] += 1  # (one bad row: counted, the rest go on)
                log.warning("gate %s row dropped: %s", ch, exc)

    async def _subscribe(self, ws) -> None:
        """Subscribe the private channels with their ``auth`` and wait for every answer; an authentication error is
        fatal (:class:`PermissionError`, one line)."""
        import aiohttp

        now = int(self.rest.now_ms() // 1000)
        for ch in CHANNELS:
            await ws.send_str(subscribe_request(ch, self.user_id, self._key.reveal(), self._secret.reveal(),
                                                now).decode())
        left = set(CHANNELS)
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise ConnectionError("closed while subscribing")
            ev = orjson.loads(msg.data)
            if not isinstance(ev, dict) or ev.get("event") != "subscribe":
                if isinstance(ev, dict):
                    await self._handle(ev)
                continue
            err = ev.get("error")
            if err:
                text = f"{(err or {}).get('code')} {(err or {}).get('message', '')}".strip()
                self._fatal = f"subscription of {ev.get('channel')} refused: {text}"
                raise PermissionError(self._fatal)
            left.discard(ev.get("channel"))
            if not left:
                return

    async def _receive(self, ws):
        """The next message, under the liveness rule: ``futures.ping`` after ``ping_interval`` s of silence, a
        ConnectionError when nothing comes within another ``ping_interval``."""
        async def ping():
            await ws.send_str(orjson.dumps({"time": int(time.time()), "channel": "futures.ping"}).decode())

        msg = await receive_alive(ws, self.ping_interval, ping, self.stats, "futures.pong")
        self._last_rx_ms = time.time() * 1000.0
        return msg

    async def _stream(self) -> None:
        """The private connection, kept up; a reconnect resyncs (:meth:`_resync`)."""
        import aiohttp

        backoff, ever = 0.1, False
        while not self._closing:
            try:
                async with self._session.ws_connect(self.private_ws_url, heartbeat=None, headers=dict(HEADERS),
                                                    timeout=aiohttp.ClientWSTimeout(ws_close=1.0)) as ws:
                    await asyncio.wait_for(self._subscribe(ws), self.connect_timeout)
                    if ever:
                        self.stats["reconnects"] += 1
                        self._spawn(self._resync())
                    ever, backoff = True, 0.1
                    self.connected.set()
                    while True:
                        msg = await self._receive(ws)
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            if msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE,
                                            aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                                break
                            continue
                        try:
                            ev = orjson.loads(msg.data)
                        except orjson.JSONDecodeError:
                            self.stats["bad_events"] += 1
                            continue
                        if not isinstance(ev, dict) or ev.get("channel") == "futures.pong":
                            continue
                        self._heard()
                        await self._handle(ev)
            except asyncio.CancelledError:
                raise
            except PermissionError:
                break
            except (aiohttp.ClientError, ConnectionError, OSError, asyncio.TimeoutError, orjson.JSONDecodeError) as exc:
                if not self._closing:
                    log.warning("gate private stream down (%s: %s); reconnecting in %.2f s", type(exc).__name__, exc,
                                backoff)
            finally:
                self.connected.clear()
            if self._closing:
                break
            await asyncio.sleep(backoff * (1 + 0.2 * random.random()))
            backoff = min(backoff * 2, self.reconnect_max)

    #: how far before the private stream's last message the fills are read again after a gap (ms)
    FILLS_LOOKBACK_MS = 5_000

    async def _missed_fills(self, since_ms: float) -> int:
        """The fills of this gateway's orders since ``since_ms`` (less :attr:`FILLS_LOOKBACK_MS`) from ``GET
        /api/v4/futures/usdt/my_trades`` (one request per contract traded), each booked once; how many."""
        n = 0
        lo = since_ms - self.FILLS_LOOKBACK_MS
        for c in sorted({self._c(i.symbol) for i in self._intents.values()}):
            rows = await self.rest.request("GET", FUTURES + "/my_trades", {"contract": c, "limit": 100})
            for r in sorted(rows or [], key=lambda r: wire_number(r.get("create_time") or 0)):
                try:
                    if wire_number(r.get("create_time") or 0) * 1000.0 < lo:
                        continue
                    before = len(self._seen)
                    await self._on_trade(r, reading=True)
                    n += len(self._seen) != before
                except (ValueError, TypeError, ArithmeticError, AttributeError):
                    self.stats["bad_events"] += 1
        self.stats["fills_recovered"] += n
        return n

    async def _resync(self) -> None:
        """After a gap: book the fills missed, re-query the orders still believed live (an entry filled meanwhile gets
        its exits at once), read the positions (a position closed meanwhile clears its exits) and the exits."""
        try:
            await self._missed_fills(self._last_rx_ms)
        except (GateAPIError, GateTransportError) as exc:
            log.warning("gate private stream gap: the missed fills could not be read (%s)", exc)
        for _kind, u in await self._requery_live(self._query):
            await self._after_entry_state(self._c(u.symbol), u.client_id, u)
        try:
            await self.positions()
        except GatewayError:
            self.stats["resyncs"] += 1
            return
        for c, br in list(self._bracket.items()):
            if br["placed"] and not self._pos_ct.get(c):
                self._spawn(self._clear_bracket(c))
            elif br["lost"]:
                await self._mend_lost(c)
        await self._poll_exits()
        self.stats["resyncs"] += 1

    async def _poll_exits(self) -> None:
        """The exits Gate no longer holds open, read one by one (``GET /price_orders/{id}``) and handled as their
        push would have been (:meth:`_on_auto`)."""
        live = [(c, br) for c, br in self._bracket.items() if br.get("tp") or br.get("sl")]
        if not live:
            return
        try:
            open_ids = {str(r.get("id")) for r in await self._open_auto_orders()}
        except (GateAPIError, GateTransportError):
            return
        for c, br in live:
            for which in ("tp", "sl"):
                aid = br.get(which)
                if aid and aid not in open_ids:
                    try:
                        row = await self.rest.request("GET", f"{FUTURES}/price_orders/{aid}")
                    except (GateAPIError, GateTransportError):
                        continue
                    await self._on_auto(row or {})


# ---- the registry's ``gateway`` part (liqcore.venues.registry): what ``liqcore run --live`` builds
#: the class that sends the venue's orders
GATEWAY = GateGateway


def build(creds, rest_url: str, private_url: str, symbols, network: str, opts: dict) -> GateGateway:
    """The run's gateway: ``creds`` (:class:`liqcore.secrets.Credentials`), the REST base and private websocket
    (the network's unless given), the symbols traded; ``opts``: none."""
    return GateGateway(creds.api_key, creds.api_secret, rest_url, private_url, symbols=symbols, network=network)

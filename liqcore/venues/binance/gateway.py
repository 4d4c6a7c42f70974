"""Binance USD-M futures order gateway, implementing :class:`liqcore.venues.gateway.Gateway`.

The details: docs/maintainers/live-gateways.md, "Binance USD-M futures order gateway (liqcore.venues.binance.gateway)".

Why one module: the order protocol, its user stream and the exits it keeps share one state (the orders and algo
exits by client id); the exits' methods (the bracket, its repair) are in ``exits.py``, a part of the class.  May import: ``aiohttp``, ``orjson``, ``secrets``, ``venues.binance`` (``rest``, ``codes``, ``stream``),
``venues.instruments``, ``venues.numbers``, ``venues.outcomes`` and the venues' shared
``gateway``, ``ratelimit`` and ``gateway_core`` (never ``live``).
"""
from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections import deque

import orjson

from liqcore.venues.gateway import Fill, GatewayError, OrderIntent, OrderUpdate, PositionInfo
from liqcore.venues.ratelimit import SlidingWindowLimiter
from liqcore.venues.gateway_core import SHAPE_ERRORS, TERMINAL as _TERMINAL, VenueGateway, field_float as _f
from liqcore.secrets import Secret
from liqcore.venues.instruments import Instrument
from liqcore.venues.numbers import wire_int, wire_number
from liqcore.venues.binance.contracts import is_coin_m
from liqcore.venues.binance.stream import USER_EVENTS, user_stream_url
from liqcore.venues.binance.rest import (
    BinanceAPIError,
    BinanceBanned,
    BinanceRateLimited,
    BinanceREST,
    BinanceTransportError,
)
from liqcore.venues.binance.exits import (  # noqa: F401 (the error codes: also this module's names)
    ERR_DUPLICATE, ERR_NO_SUCH_ORDER, ERR_POST_ONLY, ERR_UNKNOWN_ORDER, _ALGO_WORKING, _GONE_UNTRIGGERED, BinanceExits, _what,
)
from liqcore.venues.outcomes import BANNED, RATE_LIMITED, UNKNOWN

__all__ = ["BinanceGateway", "parse_order_update", "STATUS_MAP"]

log = logging.getLogger("liqcore.binance.gateway")

STATUS_MAP = {"NEW": "new", "PARTIALLY_FILLED": "partially_filled", "FILLED": "filled", "CANCELED": "cancelled",
              "EXPIRED": "cancelled", "EXPIRED_IN_MATCH": "cancelled", "REJECTED": "rejected"}
_ALGO_STATUS = {"NEW": "new", "CANCELED": "cancelled", "TRIGGERING": "triggered", "TRIGGERED": "triggered",
                "FINISHED": "filled", "REJECTED": "rejected", "EXPIRED": "cancelled"}
ERR_NO_LISTEN_KEY = -1125  # "This listenKey does not exist." (User Data Streams: POST a new one)
#: "A single connection is only valid for 24 hours; expect to be disconnected at the 24 hour mark" (User Data
#: Streams, Connect): the gateway opens a new one a little before
MAX_CONNECTION_S = 23.5 * 3600


def _kind_of(o: dict) -> str:
    ot = str(o.get("ot") or o.get("origType") or "")
    if ot.startswith("TAKE_PROFIT"):
        return "tp"
    if ot.startswith("STOP"):
        return "sl"
    return "exit" if o.get("R") or o.get("reduceOnly") else "entry"


def parse_order_update(o: dict) -> tuple[OrderUpdate, Fill | None]:
    """An ``ORDER_TRADE_UPDATE`` ``o`` object -> (OrderUpdate, Fill or None)."""
    st = o.get("X")
    if st not in STATUS_MAP:
        raise ValueError(f"X: unknown order status {st!r}")
    side = {"BUY": "buy", "SELL": "sell"}.get(o.get("S"))
    if side is None:
        raise ValueError(f"S: unknown side {o.get('S')!r}")
    kind = _kind_of(o)
    ts = wire_number(o.get("T") or 0, int) * 1_000_000
    u = OrderUpdate(str(o.get("c") or ""), STATUS_MAP[st], str(o.get("s") or ""), str(o.get("i") or ""), side, _f(o, "p"),
                    _f(o, "q"), _f(o, "z"), _f(o, "ap"), "EXPIRED" if st == "EXPIRED" else "", kind, ts)
    fill = None
    if o.get("x") == "TRADE" and _f(o, "l") > 0:
        fill = Fill(u.client_id, u.symbol, side, _f(o, "L"), _f(o, "l"), _f(o, "n"), bool(o.get("m")),
                    f"{o.get('s')}-{o.get('t')}-{o.get('i')}", kind, ts)
    return u, fill


def _order_rest(d: dict) -> OrderUpdate:
    """A REST order object (``GET/POST/DELETE /fapi/v1/order``) -> OrderUpdate."""
    st = d.get("status")
    if st not in STATUS_MAP:
        raise ValueError(f"status: unknown order status {st!r}")
    side = {"BUY": "buy", "SELL": "sell"}.get(d.get("side"), "")
    return OrderUpdate(str(d.get("clientOrderId") or ""), STATUS_MAP[st], str(d.get("symbol") or ""), str(d.get("orderId") or ""),
                       side, _f(d, "price"), _f(d, "origQty"), _f(d, "executedQty"), _f(d, "avgPrice"), "",
                       "exit" if d.get("reduceOnly") else "entry",
                       wire_number(d.get("updateTime") or 0, int) * 1_000_000)


class BinanceGateway(BinanceExits, VenueGateway):
    name = "binance"
    log = log
    client_id_name = "Binance newClientOrderId"

    def __init__(self, api_key: str | Secret, api_secret: str | Secret, rest_url: str = "https://fapi.binance.com",
                 ws_base: str = "wss://fstream.binance.com", *, symbols: list[str] | None = None, recv_window: int = 5000,
                 timeout: float = 5.0, max_create_attempts: int = 4, retry_backoff: float = 0.2, keepalive: float = 1800.0,
                 connect_timeout: float = 10.0, reconnect_max: float = 10.0, order_rate: int = 10,
                 user_events: tuple[str, ...] = USER_EVENTS, heartbeat: float = 30.0,
                 max_connection_s: float = MAX_CONNECTION_S, exit_confirm_s: float = 30.0,
                 reconcile_s: float = 5.0) -> None:
        coin_m = [s for s in symbols or () if is_coin_m(s)]
        if coin_m:  # COIN-M orders go to /dapi/v1 (another API), which this gateway does not speak
            raise ValueError(f"symbols: {', '.join(coin_m)}: Binance COIN-M (inverse) futures are not traded live "
                             "(the gateway sends USD-M /fapi orders); backtests on their archive take them")
        self._hold_keys(api_key, api_secret)
        self.rest = BinanceREST(self._key, self._secret, rest_url, recv_window=recv_window, timeout=timeout)
        self.ws_base = ws_base.rstrip("/")
        self.symbols = list(symbols) if symbols else None
        self.max_create_attempts = int(max_create_attempts)
        self.retry_backoff = float(retry_backoff)
        if not keepalive > 0:
            raise ValueError(f"listen-key-keepalive: must be > 0 seconds, got {keepalive!r}")
        self.keepalive = float(keepalive)
        #: liveness: a websocket ping every ``heartbeat`` s, the connection closed (and opened again) when no pong
        #: comes within half of it; ``max_connection_s``: reconnect before the venue's 24 h limit ends the connection
        self.heartbeat = float(heartbeat)
        self.max_connection_s = float(max_connection_s)
        #: a lost exit not confirmed live again within this long: the position is closed at market
        self.exit_confirm_s = float(exit_confirm_s)
        #: the user stream quiet this long while an order or a position is open: the venue is read again
        #: (:meth:`_quiet_reconcile`), as after a reconnect (a mute shorter than the heartbeat causes none)
        if not reconcile_s > 0:
            raise ValueError(f"reconcile_s: must be > 0 seconds, got {reconcile_s!r}")
        self.reconcile_s = float(reconcile_s)
        self.connect_timeout = float(connect_timeout)
        self.reconnect_max = float(reconnect_max)
        self.limiter = SlidingWindowLimiter(order_rate, 1.0)
        self._bracket: dict[str, dict] = {}  # symbol -> {"cid", "tp", "sl", "placed"}
        self._pos_qty: dict[str, float] = {}
        self._algo_cid: dict[str, str] = {}  # clientAlgoId -> entry client_id
        self._triggered: dict[str, tuple[str, str]] = {}  # order id a conditional order triggered -> (entry cid, kind)
        self._cancelling: set[str] = set()  # clientAlgoIds we asked the venue to cancel (their CANCELED is ours)
        #: orderId -> the quantity of its trades booked (stream or reconciliation): an order query reporting more
        #: (executedQty) shows trades the user stream missed (:meth:`_missed_fills`)
        self._exec_qty: dict[str, float] = {}
        self._conn_ms = 0  # when the current user-stream connection opened (venue ms): a reconcile's start
        self._synced_ms = 0  # the start of the last reconciliation that read the trades (venue ms)
        #: orderId -> (symbol, trades) read from ``GET /fapi/v1/userTrades`` whose order the gateway cannot name yet:
        #: booked once the venue says whose they are (:meth:`_match_unmatched`), never guessed
        self._unmatched: dict[str, tuple[str, list[dict]]] = {}
        self._unmatched_asks: dict[str, int] = {}  # orderId -> how many times the venue was asked whose it is
        #: the last brackets cleared, ``(symbol, bracket)``: a trade read late may be one of their exits'
        self._cleared: deque[tuple[str, dict]] = deque(maxlen=16)
        #: the user-stream events asked for (the private route's ``events`` allow list)
        self.user_events = tuple(user_events)
        self._init_stream_state()
        self.connected = asyncio.Event()
        self.reconciled: dict[str, list] = {"orders": [], "positions": []}
        self.stats = {"reconnects": 0, "ambiguous": 0, "create_retries": 0, "duplicates_resolved": 0, "rejected": 0,
                      "brackets": 0, "bad_events": 0, "listen_key_renewed": 0, "gap_reconciles": 0, "exits_lost": 0, "exits_replaced": 0,
                      "exits_closed": 0, "exits_unplaced": 0, "quiet_reconciles": 0, "stray_exits": 0}

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        import aiohttp

        await self._reconcile_at_start(self.load_instruments, (BinanceAPIError, BinanceTransportError))
        self._session = aiohttp.ClientSession()
        self._closing = False
        self._stream_task = asyncio.create_task(self._stream(), name="binance-user-stream")
        try:
            await asyncio.wait_for(self.connected.wait(), self.connect_timeout)
        except asyncio.TimeoutError:
            await self.close()
            raise GatewayError("binance user stream did not connect") from None
        # the restart check: the exit orders live in the venue's algo service, not among its open orders
        self.reconciled["algo_orders"] = await self._stray_exits()
        self._spawn(self._quiet_loop())

    async def close(self) -> None:
        """Stop.  First the exits of positions closed meanwhile are cancelled, read from the venue (a take-profit
        filled just before the stop leaves its stop-loss resting otherwise: the task that clears it is cancelled
        with the others), bounded by ``exit_confirm_s`` / 6 seconds; then the stream and its tasks end."""
        if self._session is not None and not self._closing:
            try:
                await asyncio.wait_for(self._stray_exits(), max(1.0, self.exit_confirm_s / 6))
            except asyncio.TimeoutError:
                log.error("binance stop: the exits of closed positions not all cancelled in time")
        await self._stop_tasks()

    async def _stray_exits(self, symbols=None) -> list[dict]:
        """Our exits (clientAlgoId ``...-tp`` / ``...-sl``) the venue still holds for a flat position, cancelled:
        listed from the venue (``GET /fapi/v1/openAlgoOrders``, then ``GET /fapi/v3/positionRisk``), not from this
        gateway's memory (a restart, a stop right after a take-profit's fill, a clear that failed).  ``symbols``:
        those only (default: every symbol).  Returns the algo orders listed (empty when the venue did not say)."""
        rows: list = []
        try:
            for q in ([{"symbol": x} for x in sorted(symbols)] if symbols is not None else [{}]):
                got = await self.rest.request("GET", "/fapi/v1/openAlgoOrders", q)
                rows += [r for r in got or [] if isinstance(r, dict)]
            ours = [r for r in rows if str(r.get("clientAlgoId") or "").endswith(("-tp", "-sl"))
                    and r.get("algoStatus", "NEW") in _ALGO_WORKING]
            if not ours:
                return rows
            await self.positions()
        except (BinanceAPIError, BinanceTransportError, GatewayError) as exc:
            log.warning("binance exit orders not listed: %s", exc)
            return rows
        for r in ours:
            sym, caid = str(r.get("symbol") or ""), str(r.get("clientAlgoId"))
            br = self._bracket.get(sym)
            if self._pos_qty.get(sym) and not self._stale_exit(sym, caid):
                continue
            if self._pos_qty.get(sym):  # (an exit of a previous bracket: it would close the position it was not for)
                self.stats["stray_exits"] += 1
                log.warning("binance %s: exit %s of a previous position rests at the venue: cancelled", sym, caid)
                self._cancelling.add(caid)
                await self._cancel_algo(sym, caid)
                continue
            if br is not None and caid in (br.get("tp"), br.get("sl")):
                self._cleared.append((sym, self._bracket.pop(sym)))  # (closed: its bracket is done)
            self.stats["stray_exits"] += 1
            log.warning("binance %s: exit %s rests at the venue with the position flat: cancelled", sym, caid)
            self._cancelling.add(caid)
            await self._cancel_algo(sym, caid)
        return rows

    def _stale_exit(self, symbol: str, caid: str) -> bool:
        """Whether the exit ``caid`` is one of a bracket this session placed before ``symbol``'s current one (its
        entry known and not the current bracket's); an exit of unknown origin (a restart) is not said stale."""
        owner = self._algo_cid.get(caid)
        br = self._bracket.get(symbol)
        return owner is not None and (br is None or owner != br["cid"])

    #: readings of the trades in which a trade's order stays unnamed before it no longer keeps the quiet
    #: reconciliation going (its trades stay kept, and are booked if a later update or reading names the order)
    UNMATCHED_ASKS = 30

    def _open_anything(self) -> bool:
        return super()._open_anything() or bool(self._bracket) or any(q for q in self._pos_qty.values()) or \
            any(self._unmatched_asks.get(oid, 0) < self.UNMATCHED_ASKS for oid in self._unmatched)

    async def _quiet_reconcile(self) -> None:
        """The user stream said nothing for ``reconcile_s`` s with something open: the trades since the last
        reconciliation, the live orders, the positions and the exit orders are read again (:meth:`_resync`; each
        trade booked once), and exits resting for a flat position cancelled (:meth:`_stray_exits`)."""
        await self._resync(max((self._synced_ms or self._conn_ms) - 4000, 0))
        await self._stray_exits(set(self._bracket) | {s for s, q in self._pos_qty.items() if q is not None})

    # ------------------------------------------------------------------ instruments
    async def load_instruments(self) -> dict[str, Instrument]:
        info = await self.rest.request("GET", "/fapi/v1/exchangeInfo", signed=False)
        for s in info.get("symbols", []):
            try:
                inst = Instrument.from_binance(s)
            except ValueError:
                continue
            if self.symbols is None or inst.symbol in self.symbols:
                self._instruments[inst.symbol] = inst
        return dict(self._instruments)

    def _px(self, symbol: str, px: float) -> str:
        return self.instrument(symbol).price_str(px)

    def _qty(self, symbol: str, q: float) -> str:
        return self.instrument(symbol).qty_str(q)

    # ------------------------------------------------------------------ orders
    def order_params(self, intent: OrderIntent) -> dict:
        self.check_intent(intent)
        p = {"symbol": intent.symbol, "side": intent.side.upper()}
        if intent.order_type == "market":
            p.update(type="MARKET", quantity=self._qty(intent.symbol, intent.qty))
        elif intent.order_type == "limit":
            if not (intent.price > 0 and math.isfinite(intent.price)):
                raise ValueError(f"price: must be > 0 for a limit order, got {intent.price!r}")
            p.update(type="LIMIT", timeInForce="GTX" if intent.post_only else "GTC",
                     quantity=self._qty(intent.symbol, intent.qty), price=self._px(intent.symbol, intent.price))
        else:
            raise ValueError(f"order_type: must be 'limit' or 'market', got {intent.order_type!r}")
        if intent.reduce_only:
            p["reduceOnly"] = "true"
        p["newClientOrderId"] = intent.client_id
        p["newOrderRespType"] = "RESULT"
        return p

    async def place(self, intent: OrderIntent) -> OrderUpdate:
        params = self.order_params(intent)
        if (ban := self.banned()) is not None:  # (nothing is sent into a known ban)
            raise GatewayError(f"binance create {intent.client_id}: not sent: {ban}")
        self._intents[intent.client_id] = intent
        if intent.kind == "entry" and (intent.take_profit or intent.stop_loss):
            self._retire_bracket(intent.symbol)  # (the previous position's exits: cancelled, still named)
            self._bracket[intent.symbol] = {"cid": intent.client_id, "tp": None, "sl": None, "placed": False}
        return await self._creating(intent.client_id, self._create(intent, params))

    async def _create(self, intent: OrderIntent, params: dict) -> OrderUpdate:
        cid, kind = intent.client_id, intent.kind
        for attempt in range(1, self.max_create_attempts + 1):
            if (u := self._cancelled_unsent(intent, attempt)) is not None:  # (cancelled while unanswered)
                return u
            try:
                res = await self.rest.request("POST", "/fapi/v1/order", params, limiter=self.limiter)
            except BinanceBanned as exc:
                raise GatewayError(f"binance create {cid}: not sent: {exc.msg}") from None
            except (BinanceAPIError, BinanceTransportError) as exc:
                if (done := await self._after_create_error(intent, attempt, exc, self._query)) is None:
                    continue
                return done
            known = self._orders.get((cid, kind))
            if known is not None and known.status != "pending":
                return known
            u = _order_rest(res)
            u = OrderUpdate(cid, u.status, u.symbol, u.venue_order_id, u.side, u.price, u.qty, u.filled_qty, u.avg_price, "", kind, u.ts_ns)
            self._orders[(cid, kind)] = u
            await self._match_unmatched(u.venue_order_id)
            return u
        raise GatewayError(f"binance create {cid}: not placed")  # pragma: no cover - loop always returns/raises

    def _create_error(self, exc: BaseException) -> tuple[str, str]:
        """The class of a failed create from Binance's code table (:data:`liqcore.venues.binance.codes.CODES`:
        -1006, -1007, HTTP 408 and 5xx unknown; -1003 and 429 rate limited; -4116 duplicate; others refused)."""
        what = _what(exc)
        if isinstance(exc, BinanceAPIError):
            return (RATE_LIMITED if what == BANNED else what), f"{exc.code} {exc.msg}"
        return UNKNOWN, exc.reason

    async def _query(self, symbol: str, cid: str, required: bool = False, report: bool = False) -> OrderUpdate | None:
        """The order ``cid``'s state asked of the venue (``GET /fapi/v1/order``; None: no such order, or no answer
        unless ``required``); ``report``: a changed state is also reported (:meth:`_report_learned`)."""
        last = ""
        for i in range(4):
            try:
                d = await self.rest.request("GET", "/fapi/v1/order", {"symbol": symbol, "origClientOrderId": cid})
            except BinanceBanned as exc:
                last = exc.msg
                break  # (the order manager asks again after the ban)
            except BinanceAPIError as exc:
                if exc.code == ERR_NO_SUCH_ORDER:
                    return None
                last = str(exc)
                if _what(exc) not in (RATE_LIMITED, UNKNOWN):
                    break
            except BinanceTransportError as exc:
                last = str(exc)
            else:
                u = _order_rest(d)
                kind = self._intents[cid].kind if cid in self._intents else u.kind
                u = OrderUpdate(cid, u.status, u.symbol, u.venue_order_id, u.side, u.price, u.qty, u.filled_qty, u.avg_price, "", kind, u.ts_ns)
                prev, self._orders[(cid, kind)] = self._orders.get((cid, kind)), u
                self._entry_done(u)
                await self._match_unmatched(u.venue_order_id)
                await self._missed_fills(u)
                if report:
                    await self._report_learned(u, prev)
                return u
            await asyncio.sleep(self.retry_backoff * (i + 1))
        if required:
            raise GatewayError(f"binance query {cid}: no answer from the venue ({last})")
        return None

    async def query(self, symbol: str, client_id: str) -> OrderUpdate | None:
        return await self._query(symbol, client_id, required=True)

    def _booked(self, order_id: str, qty: float) -> None:
        if order_id:
            self._exec_qty[order_id] = self._exec_qty.get(order_id, 0.0) + qty
            if len(self._exec_qty) > 8192:
                self._exec_qty.pop(next(iter(self._exec_qty)))

    async def _missed_fills(self, u: OrderUpdate) -> None:
        """An order query answered ``u`` with more executed (executedQty) than the trades booked for it: the user
        stream missed them (mute or down, not yet found so).  The trades since the current connection opened are
        reconciled now (:meth:`_book_trades`, once each), before the query's answer is used: a stop or a cancel
        right after a fill on a mute stream books the venue's trades, not a fill made up from the order's state
        (as chaos case bybit-sl-fill-while-mute on Bybit).  A failed reconcile is logged; the reconnect's runs later."""
        if not u.venue_order_id or u.filled_qty <= self._exec_qty.get(u.venue_order_id, 0.0) + 1e-12:
            return
        self.stats["gap_reconciles"] += 1
        log.warning("binance %s: the venue reports %g executed, %g seen on the user stream: reconciling trades",
                    u.client_id, u.filled_qty, self._exec_qty.get(u.venue_order_id, 0.0))
        await self._book_trades({u.symbol}, self._conn_ms or self.rest.now_ms() - 3_600_000)

    def _entry_done(self, u: OrderUpdate) -> None:
        """An entry with a bracket found filled (or cancelled after a partial fill) by an order query rather than
        by the stream (a cancel at the entry's timeout, an unknown create resolved, a reconnect's re-query, while
        the user stream was mute or down): its exits go out at once, as on the stream's ``ORDER_TRADE_UPDATE``
        (:meth:`_place_bracket` places them once).  Without this the entry, known final, is never asked about
        again and its position stays without take-profit and stop-loss (chaos seed binance-3)."""
        br = self._bracket.get(u.symbol)
        if u.kind == "entry" and br is not None and br["cid"] == u.client_id and not br["placed"] and (
                u.status == "filled" or (u.status == "cancelled" and u.filled_qty > 0)):
            self._spawn(self._place_bracket(u.symbol, u.filled_qty))

    async def cancel(self, symbol: str, client_id: str) -> OrderUpdate:
        """Cancel by client id.  A cancel whose outcome is unknown (-1006, -1007, HTTP 408/5xx, a timeout) is never
        reported as done: the order is queried and the cancel sent again until the venue says it is gone (at most
        ``max_create_attempts`` rounds; then a :class:`GatewayError`, and the order manager asks again).  A cancel
        while the create is unanswered waits for it (:meth:`_wait_created`): the create is not sent again."""
        if (known := await self._wait_created(client_id)) is not None:  # (its create was unanswered: now final)
            return known
        last = ""
        for attempt in range(1, self.max_create_attempts + 1):
            try:
                d = await self.rest.request("DELETE", "/fapi/v1/order", {"symbol": symbol, "origClientOrderId": client_id},
                                            limiter=self.limiter)
            except BinanceBanned as exc:
                raise GatewayError(f"binance cancel {client_id}: not sent: {exc.msg}") from None
            except BinanceRateLimited as exc:
                raise GatewayError(f"binance cancel {client_id}: rate limited ({exc.msg})") from None
            except (BinanceAPIError, BinanceTransportError) as exc:
                last = str(exc)
                found = await self._query(symbol, client_id)
                if found is not None and found.status in _TERMINAL:
                    return found
                if _what(exc) != UNKNOWN:
                    if found is None and isinstance(exc, BinanceAPIError) and exc.code == ERR_UNKNOWN_ORDER:
                        return OrderUpdate(client_id, "rejected", symbol, reason=f"{exc.code} {exc.msg}", ts_ns=time.time_ns())
                    raise GatewayError(f"binance cancel {client_id}: {exc}") from None
                self.stats["ambiguous"] += 1
                log.warning("binance cancel %s: outcome unknown (%s); the order is %s: cancelling again", client_id, exc,
                            found.status if found is not None else "not found")
                await asyncio.sleep(self.retry_backoff * attempt)
                continue
            u = _order_rest(d)
            kind = self._intents[client_id].kind if client_id in self._intents else u.kind
            return OrderUpdate(client_id, u.status, u.symbol, u.venue_order_id, u.side, u.price, u.qty, u.filled_qty, u.avg_price, "", kind, u.ts_ns)
        raise GatewayError(f"binance cancel {client_id}: outcome still unknown after {self.max_create_attempts} attempts ({last})")

    #: orders per ``DELETE /fapi/v1/batchOrders`` request
    CANCEL_BATCH_MAX = 10

    async def _cancel_batch(self, orders: list[tuple[str, str]]) -> dict[str, tuple[str, OrderUpdate | None]]:
        """Cancel many orders by client id at once: ``DELETE /fapi/v1/batchOrders`` (one symbol and up to 10
        ``origClientOrderIdList`` ids per request), the requests in parallel.  ``orders``: ``(symbol, client_id)``
        pairs.  Returns ``client_id -> (outcome, update)``: ``"accepted"`` with the order's state as the venue
        answered it, ``"not_found"`` (-2011: no open order of that id) or ``"error: ..."`` (no usable answer).
        A cancelled entry that was partly filled gets its take-profit / stop-loss for the filled qty at once,
        whether or not the user stream reported the fill."""
        out: dict[str, tuple[str, OrderUpdate | None]] = {}
        by_sym: dict[str, list[str]] = {}
        for sym, cid in dict.fromkeys(orders):
            by_sym.setdefault(sym, []).append(cid)

        async def one(sym: str, cids: list[str]) -> None:
            try:
                rows = await self.rest.request("DELETE", "/fapi/v1/batchOrders",
                                               {"symbol": sym, "origClientOrderIdList": orjson.dumps(cids).decode()},
                                               limiter=self.limiter)
            except (BinanceAPIError, BinanceTransportError) as exc:
                for cid in cids:
                    out[cid] = (f"error: {exc}", None)
                return
            rows = rows if isinstance(rows, list) else []
            for i, cid in enumerate(cids):
                r = rows[i] if i < len(rows) and isinstance(rows[i], dict) else {"code": 0, "msg": "no answer"}
                if "code" in r and "status" not in r:
                    code = wire_int(r.get("code") or 0)  # (None: a code of no table, said as it came)
                    said = repr(r.get("code")) if code is None else code
                    out[cid] = ("not_found", None) if code in (ERR_UNKNOWN_ORDER, ERR_NO_SUCH_ORDER) else \
                        (f"error: {said} {r.get('msg', '')}", None)
                    continue
                try:
                    u = _order_rest(r)
                except ValueError as exc:
                    out[cid] = (f"error: {exc}", None)
                    continue
                kind = self._intents[cid].kind if cid in self._intents else u.kind
                u = OrderUpdate(cid, u.status, u.symbol, u.venue_order_id, u.side, u.price, u.qty, u.filled_qty,
                                u.avg_price, "", kind, u.ts_ns)
                self._orders[(cid, kind)] = u
                out[cid] = ("accepted", u)
                br = self._bracket.get(sym)
                if kind == "entry" and u.status == "cancelled" and u.filled_qty > 0 and br is not None \
                        and br["cid"] == cid and not br["placed"]:
                    await self._place_bracket(sym, u.filled_qty)  # the filled part gets its TP/SL (stream or not)

        jobs = [one(sym, cids[i:i + self.CANCEL_BATCH_MAX]) for sym, cids in by_sym.items()
                for i in range(0, len(cids), self.CANCEL_BATCH_MAX)]
        await asyncio.gather(*jobs)
        return out

    async def cancel_all(self, symbol: str) -> list[str]:
        """Cancel every regular open order of ``symbol`` (``DELETE /fapi/v1/allOpenOrders``; conditional TP/SL
        orders are a separate service and stay).  Returns the client ids that were open just before."""
        try:
            before = await self.rest.request("GET", "/fapi/v1/openOrders", {"symbol": symbol})
            await self.rest.request("DELETE", "/fapi/v1/allOpenOrders", {"symbol": symbol}, limiter=self.limiter)
        except (BinanceAPIError, BinanceTransportError) as exc:
            raise GatewayError(f"binance cancel-all {symbol}: {exc}") from None
        return [str(r.get("clientOrderId") or r.get("orderId") or "") for r in before if isinstance(r, dict)]

    async def close_position(self, symbol: str, client_id: str) -> OrderUpdate:
        """Market-close ``symbol``'s position (reduce-only).  The position is read first
        (``GET /fapi/v3/positionRisk``): a read answered with an unknown outcome (HTTP 5xx / 408, -1006, -1007, a
        timeout) or a rate limit is asked again (4 tries, backing off; nothing is sent yet, so a retry is safe),
        else a close the engine never sends again leaves the position past its hold (as chaos bybit seed 8)."""
        rows: list = []
        for i in range(4):
            try:
                rows = await self.rest.request("GET", "/fapi/v3/positionRisk", {"symbol": symbol})
                break
            except (BinanceAPIError, BinanceTransportError) as exc:
                if _what(exc) not in (UNKNOWN, RATE_LIMITED) or i == 3:
                    raise GatewayError(f"binance close_position {symbol}: {exc}") from None
                await asyncio.sleep(self.retry_backoff * (i + 1))
        amt = sum(wire_number(r.get("positionAmt") or 0) for r in rows if r.get("symbol") == symbol)
        if amt == 0:
            return OrderUpdate(client_id, "rejected", symbol, reason="no_position", kind="exit", ts_ns=time.time_ns())
        return await self.place(OrderIntent(symbol, "sell" if amt > 0 else "buy", abs(amt), 0.0, client_id, post_only=False,
                                            reduce_only=True, kind="exit", order_type="market"))

    async def open_orders(self) -> list[OrderUpdate]:
        try:
            rows = await self.rest.request("GET", "/fapi/v1/openOrders", {})
        except (BinanceAPIError, BinanceTransportError) as exc:
            raise GatewayError(f"binance open_orders: {exc}") from None
        out = []
        for r in rows:
            try:
                out.append(_order_rest(r))
            except ValueError:
                self.stats["bad_events"] += 1
        return out

    async def positions(self) -> list[PositionInfo]:
        try:
            rows = await self.rest.request("GET", "/fapi/v3/positionRisk", {})
        except (BinanceAPIError, BinanceTransportError) as exc:
            raise GatewayError(f"binance positions: {exc}") from None
        out = []
        for sym in list(self._pos_qty):  # a symbol missing from the answer is flat
            self._pos_qty[sym] = 0.0
        for r in rows:
            amt = wire_number(r.get("positionAmt") or 0)
            self._pos_qty[r.get("symbol", "")] = amt
            if amt:
                out.append(PositionInfo(r["symbol"], "buy" if amt > 0 else "sell", abs(amt),
                                        wire_number(r.get("entryPrice") or 0)))
        return out

    async def equity(self, asset: str = "USDT") -> float:
        """The account's equity in ``asset``, unrealized PnL included (as on Bybit and OKX): the asset's
        ``marginBalance`` (wallet balance + unrealized profit) of ``GET /fapi/v3/account`` ("Account Information
        V3"; the v2 account endpoints are deprecated)."""
        try:
            doc = await self.rest.request("GET", "/fapi/v3/account", {})
        except (BinanceAPIError, BinanceTransportError) as exc:
            raise GatewayError(f"binance account: {exc}") from None
        for r in (doc or {}).get("assets") or []:
            if r.get("asset") == asset:
                try:
                    if r.get("marginBalance") not in (None, ""):
                        return wire_number(r["marginBalance"])
                    return wire_number(r.get("walletBalance") or 0) + wire_number(r.get("unrealizedProfit") or 0)
                except (TypeError, ValueError):
                    raise GatewayError(f"binance account: {asset} marginBalance not a number: "
                                       f"{r.get('marginBalance')!r}") from None
        raise GatewayError(f"binance account: no {asset} asset")

    # ------------------------------------------------------------------ user stream
    async def _handle(self, ev: dict) -> None:
        e = ev.get("e")
        if e == "ORDER_TRADE_UPDATE":
            u, fill = parse_order_update(ev.get("o") or {})
            cid, kind = u.client_id, u.kind
            if u.venue_order_id in self._triggered:  # an order a conditional TP/SL triggered (its ALGO_UPDATE's ``ai``)
                cid, kind = self._triggered[u.venue_order_id]
            elif cid in self._intents:
                kind = self._intents[cid].kind
            elif kind in ("tp", "sl"):
                cid = self._bracket.get(u.symbol, {}).get("cid", cid)
                if u.venue_order_id and cid in self._intents:
                    self._triggered[u.venue_order_id] = (cid, kind)
            if (cid, kind) != (u.client_id, u.kind):
                u = OrderUpdate(cid, u.status, u.symbol, u.venue_order_id, u.side, u.price, u.qty, u.filled_qty, u.avg_price,
                                u.reason, kind, u.ts_ns)
            self._orders[(cid, kind)] = u
            await self._emit(self._update_cbs, u)
            if fill is not None and self._first_seen(fill.exec_id):
                self._booked(u.venue_order_id, fill.qty)
                fill = Fill(cid, fill.symbol, fill.side, fill.price, fill.qty, fill.fee, fill.is_maker, fill.exec_id, kind, fill.ts_ns)
                await self._emit(self._fill_cbs, fill)
            await self._match_unmatched(u.venue_order_id)
            br = self._bracket.get(u.symbol)
            if kind == "entry" and br is not None and br["cid"] == cid and (
                    u.status == "filled" or (u.status == "cancelled" and u.filled_qty > 0)):
                self._spawn(self._place_bracket(u.symbol, u.filled_qty))
        elif e == "ACCOUNT_UPDATE":
            for p in (ev.get("a") or {}).get("P") or []:
                sym = p.get("s", "")
                amt = _f(p, "pa")
                prev = self._pos_qty.get(sym, 0.0)
                self._pos_qty[sym] = amt
                if amt == 0 and prev != 0 and sym in self._bracket and self._bracket[sym]["placed"]:
                    self._spawn(self._clear_bracket(sym))
        elif e == "ALGO_UPDATE":
            o = ev.get("o") or {}
            caid = str(o.get("caid") or "")
            st = _ALGO_STATUS.get(o.get("X"))
            if st is None or not caid.endswith(("-tp", "-sl")):
                return
            if o.get("X") == "FINISHED" and _f(o, "aq") < _f(o, "q"):
                st = "cancelled"  # (FINISHED: the triggered order was filled or cancelled in the matching engine)
            sym = str(o.get("s") or "")
            if o.get("X") in _GONE_UNTRIGGERED and caid not in self._cancelling and self._pos_qty.get(sym):
                br = self._bracket.get(sym)
                if br is not None and br.get(caid[-2:]) == caid:
                    self._spawn(self._exit_lost(sym, caid[-2:], caid, f"{o.get('X')} by the venue"
                                                + (f" ({o.get('rm')})" if o.get("rm") else "")))
            if o.get("X") in (*_GONE_UNTRIGGERED, "FINISHED"):
                self._cancelling.discard(caid)  # (ended: nothing more of it to tell apart)
            cid = self._algo_cid.get(caid, caid)
            ai = str(o.get("ai") or "")
            if ai:  # the order it triggered in the matching engine: its updates are this exit's
                self._triggered[ai] = (cid, caid[-2:])
                if len(self._triggered) > 8192:
                    self._triggered.pop(next(iter(self._triggered)))
                await self._match_unmatched(ai)
            await self._emit(self._update_cbs, OrderUpdate(cid, st, sym, str(o.get("aid") or ""),
                                                           {"BUY": "buy", "SELL": "sell"}.get(o.get("S"), ""), _f(o, "tp"), _f(o, "q"),
                                                           _f(o, "aq"), _f(o, "ap"), str(o.get("rm") or ""),
                                                           kind=caid[-2:], ts_ns=int(ev.get("E") or 0) * 1_000_000))
        elif e == "listenKeyExpired":
            raise ConnectionError("listenKey expired")

    async def _keepalive(self, ws) -> None:
        """``PUT /fapi/v1/listenKey`` every ``keepalive`` s.  Answered -1125 "This listenKey does not exist." (User
        Data Streams, "Keepalive User Data Stream"): the key is gone and its stream says nothing more, so the
        stream is closed: the loop POSTs a new listenKey, connects again and reconciles what it missed."""
        while True:
            await asyncio.sleep(self.keepalive)
            try:
                await self.rest.request("PUT", "/fapi/v1/listenKey", signed=False, key_only=True)
            except BinanceAPIError as exc:
                if exc.code == ERR_NO_LISTEN_KEY:
                    self.stats["listen_key_renewed"] += 1
                    log.warning("binance listenKey gone (%s %s): a new listenKey and a new user stream",
                                exc.code, exc.msg)
                    await ws.close()
                    return
                log.warning("binance listenKey keepalive failed: %s", exc)
            except BinanceTransportError as exc:
                log.warning("binance listenKey keepalive failed: %s", exc)

    async def _end_at_limit(self, ws) -> None:
        """Close the connection before the venue's 24 h limit does (a new one is opened and reconciled at once)."""
        await asyncio.sleep(self.max_connection_s)
        log.info("binance user stream: %.0f s old, opened again before the venue's 24 h limit", self.max_connection_s)
        await ws.close()

    async def _stream(self) -> None:
        import aiohttp

        backoff, ever, connected_ms = 0.1, False, 0
        while not self._closing:
            ka = limit = None
            try:
                lk = (await self.rest.request("POST", "/fapi/v1/listenKey", signed=False, key_only=True))["listenKey"]
                async with self._session.ws_connect(user_stream_url(self.ws_base, lk, self.user_events),
                                                    heartbeat=self.heartbeat) as ws:
                    if ever:
                        self.stats["reconnects"] += 1
                        self._spawn(self._resync(connected_ms))
                    connected_ms = self._conn_ms = self.rest.now_ms()
                    ever, backoff = True, 0.1
                    self.connected.set()
                    ka = asyncio.create_task(self._keepalive(ws))
                    limit = asyncio.create_task(self._end_at_limit(ws))
                    async for msg in ws:
                        self._heard()
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            if msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE):
                                break
                            continue
                        try:
                            ev = orjson.loads(msg.data)
                            await self._handle(ev.get("data", ev) if isinstance(ev, dict) else {})
                        except (orjson.JSONDecodeError, *SHAPE_ERRORS) as exc:  # (a KeyError too: not a reconnect)
                            self.stats["bad_events"] += 1
                            log.warning("binance user event dropped: %s", exc)
                    if not self._closing:
                        reason = ws.exception() or f"closed (code {ws.close_code})"
                        log.warning("binance user stream ended: %s", reason)
            except asyncio.CancelledError:
                raise
            except (aiohttp.ClientError, ConnectionError, OSError, BinanceAPIError, BinanceTransportError, KeyError) as exc:
                if not self._closing:
                    log.warning("binance user stream down (%s); reconnecting in %.2fs", type(exc).__name__, backoff)
            finally:
                self.connected.clear()
                for t in (ka, limit):
                    if t is not None:
                        t.cancel()
            if self._closing:
                break
            await asyncio.sleep(backoff * (1 + 0.2 * random.random()))
            backoff = min(backoff * 2, self.reconnect_max)

    async def _resync(self, since_ms: int) -> None:
        """After a reconnect: report the fills and order changes missed while the stream was down (trades from
        ``GET /fapi/v1/userTrades`` since the previous connection, de-duplicated with the stream's ids), then
        re-query the orders still believed live and the positions."""
        symbols = {u.symbol for u in self._orders.values() if u.symbol and u.status not in _TERMINAL} | set(self._bracket) | \
            {s for s, q in self._pos_qty.items() if q} | {s for s, _ in self._cleared}  # (an exit's late trades)
        await self._book_trades(symbols, since_ms)
        for kind, u in await self._requery_live(self._query):
            br = self._bracket.get(u.symbol)
            if kind == "entry" and br is not None and br["cid"] == u.client_id and u.status == "filled":
                self._spawn(self._place_bracket(u.symbol, u.filled_qty))
        try:
            await self.positions()
        except GatewayError:
            return
        for sym, br in list(self._bracket.items()):
            if br["placed"] and not self._pos_qty.get(sym):
                self._spawn(self._clear_bracket(sym))  # closed while the stream was down
        await self._check_exits()

    async def _book_trades(self, symbols, since_ms: int) -> None:
        """Book the trades of ``symbols`` since ``since_ms`` (``GET /fapi/v1/userTrades``) the stream did not bring,
        each once (de-duplicated with the stream's ids).  A trade's role (entry, take-profit, stop-loss, exit) is the
        one of the venue's order it belongs to (its ``orderId``: :meth:`_role_of`), never guessed from its price; a
        trade of an order the gateway cannot name yet is kept (:attr:`_unmatched`) and booked once the venue says
        whose it is (the order's or the exit's own update, or the next reconciliation)."""
        self._synced_ms = self.rest.now_ms()
        for sym in sorted(set(symbols) | {s for s, _ in self._unmatched.values()}):
            try:
                trades = await self.rest.request("GET", "/fapi/v1/userTrades", {"symbol": sym, "startTime": max(since_ms - 1000, 0)})
            except (BinanceAPIError, BinanceTransportError) as exc:
                log.warning("binance resync of %s trades failed: %s", sym, exc)
                continue
            for t in trades:
                if not isinstance(t, dict) or f"{sym}-{t.get('id')}-{t.get('orderId')}" in self._seen_set:
                    continue
                oid = str(t.get("orderId") or "")
                kept = self._unmatched.setdefault(oid, (sym, []))[1]
                if all(x.get("id") != t.get("id") for x in kept):
                    kept.append(t)
        for oid, (sym, _) in list(self._unmatched.items()):
            role = await self._role_of(sym, oid)
            if role is not None:
                await self._book_unmatched(oid, *role)
                continue
            n = self._unmatched_asks[oid] = self._unmatched_asks.get(oid, 0) + 1
            if n == self.UNMATCHED_ASKS:
                log.error("binance %s: the trades of order %s are not booked: the venue did not say whose order it is "
                          "in %d readings (kept: booked if it does later)", sym, oid, n)

    def _known_role(self, oid: str) -> tuple[str, str] | None:
        """``(client id, kind)`` of the venue order ``oid`` as the venue already named it to this gateway (an order's
        answer, query or update; a conditional exit's ``ALGO_UPDATE`` ``ai``), or None."""
        if oid in self._triggered:
            return self._triggered[oid]
        for (cid, kind), u in self._orders.items():
            if u.venue_order_id == oid and cid in self._intents:
                return cid, kind
        return None

    async def _role_of(self, symbol: str, oid: str) -> tuple[str, str] | None:
        """Whose is the venue order ``oid``: as known (:meth:`_known_role`), else asked of the venue by its id
        (``GET /fapi/v1/order``: its clientOrderId, or the type of a triggered take-profit / stop-loss), else the
        working exits' own records (``GET /fapi/v1/algoOrder``: ``actualOrderId``, the order a conditional order
        triggered).  None when the venue did not say (asked again at the next reconciliation)."""
        if (role := self._known_role(oid)) is not None:
            return role
        try:
            d = await self.rest.request("GET", "/fapi/v1/order", {"symbol": symbol, "orderId": oid})
        except BinanceAPIError as exc:
            if exc.code != ERR_NO_SUCH_ORDER:
                return None
            d = None  # (not a plain order: the order a conditional exit triggered)
        except BinanceTransportError:
            return None
        # the brackets it may belong to: the symbol's live one, then those cleared, newest first
        brs = [b for b in [self._bracket.get(symbol), *(b for s, b in reversed(self._cleared) if s == symbol)] if b]
        fallback = None
        if isinstance(d, dict):
            cid = str(d.get("clientOrderId") or "")
            if cid in self._intents:
                return cid, self._intents[cid].kind
            if cid in self._algo_cid:
                return self._algo_cid[cid], cid[-2:]
            kind = _kind_of(d)
            if kind in ("tp", "sl") and brs:
                # (which bracket's: the exits' own records name it; the newest one when they do not say)
                fallback = (brs[0]["cid"], kind)
            if kind in ("entry", "exit"):  # a plain order of someone else's (another client of the account)
                log.warning("binance %s order %s (%s) is not this session's: its trades are not booked", symbol, oid,
                            cid or "no client id")
                self._unmatched.pop(oid, None)
                self._unmatched_asks.pop(oid, None)
                return None
        for br in brs:
            for kind in ("tp", "sl"):
                caid = br.get(kind)
                if not caid:
                    continue
                try:
                    a = await self.rest.request("GET", "/fapi/v1/algoOrder", {"symbol": symbol, "clientAlgoId": caid})
                except (BinanceAPIError, BinanceTransportError):
                    continue
                if str((a or {}).get("actualOrderId") or "") == oid:
                    self._triggered[oid] = (br["cid"], kind)
                    return br["cid"], kind
        return fallback

    async def _flat_after_exit(self, symbol: str, br: dict) -> None:
        """An exit's trade booked from a reading (the user stream mute or down: no flat position push will come):
        the position is read, and flat, the bracket is cleared (the other exit cancelled) at once, not at the
        next reading (before which the engine may already trade the symbol again)."""
        if await self._position_amt(symbol) == 0:
            await self._clear_bracket(symbol, br)

    async def _match_unmatched(self, oid: str) -> None:
        """Trades kept for the venue order ``oid`` are booked now that the venue named it (:meth:`_known_role`)."""
        if oid in self._unmatched and (role := self._known_role(oid)) is not None:
            await self._book_unmatched(oid, *role)

    async def _book_unmatched(self, oid: str, cid: str, kind: str) -> None:
        sym, trades = self._unmatched.pop(oid, ("", []))
        self._unmatched_asks.pop(oid, None)
        for t in sorted(trades, key=lambda x: (wire_number(x.get("time") or 0, int), str(x.get("id")))):
            exec_id = f"{sym}-{t.get('id')}-{t.get('orderId')}"
            try:
                side = "buy" if t.get("buyer") else "sell"
                price, qty = wire_number(t["price"]), wire_number(t["qty"])
            except (KeyError, TypeError, ValueError):
                self.stats["bad_events"] += 1
                continue
            if not self._first_seen(exec_id):
                continue
            self._booked(oid, qty)
            await self._emit(self._fill_cbs, Fill(cid, sym, side, price, qty, wire_number(t.get("commission") or 0),
                                                  bool(t.get("maker")), exec_id, kind,
                                                  wire_number(t.get("time") or 0, int) * 1_000_000))
        br = self._bracket.get(sym)
        if kind in ("tp", "sl") and br is not None and br["cid"] == cid and br["placed"]:
            self._spawn(self._flat_after_exit(sym, br))  # (the stream did not say: the position read now)
        known = self._orders.get((cid, kind))
        if kind == "entry" and cid in self._intents and (known is None or known.status not in _TERMINAL):
            self._spawn(self._settle(sym, cid))

    #: how many times an entry whose trades a reading booked is asked about (:meth:`_settle`)
    SETTLE_ASKS = 6

    async def _settle(self, sym: str, cid: str) -> None:
        """An entry whose trades a reading booked (the stream did not say): its state is asked of the venue until
        it answers, a ban waited out (at most :attr:`SETTLE_ASKS` asks), and reported when it changed, so that the
        journal's order row says what its fills say (chaos seed binance-179: the one ask refused by a 418 left the
        filled entry ``new``) and a filled entry's exits go out (:meth:`_entry_done`)."""
        last = ""
        for i in range(self.SETTLE_ASKS):
            known = self._orders.get((cid, "entry"))
            if self._closing or (known is not None and known.status in _TERMINAL):
                return
            await self.rest.gov.wait_ban(60.0)
            try:
                await self._query(sym, cid, required=True, report=True)
                return
            except GatewayError as exc:
                last = str(exc)
            await asyncio.sleep(self.retry_backoff * (i + 1))
        log.warning("binance %s: the state of entry %s, whose trades were booked, is not known: %s (asked again at "
                    "the next reading)", sym, cid, last)


# ---- the registry's ``gateway`` part (liqcore.venues.registry): what ``liqcore run --live`` builds
#: the class that sends the venue's orders
GATEWAY = BinanceGateway


def build(creds, rest_url: str, private_url: str, symbols, network: str, opts: dict) -> BinanceGateway:
    """The run's gateway: ``creds`` (:class:`liqcore.secrets.Credentials`), the REST base and private websocket
    (the network's unless given), the symbols traded; ``opts``: ``listen_key_keepalive`` (s)."""
    return BinanceGateway(creds.api_key, creds.api_secret, rest_url, private_url, symbols=symbols,
                          keepalive=opts.get("listen_key_keepalive", 1800.0))

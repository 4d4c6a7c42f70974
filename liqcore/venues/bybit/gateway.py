"""Bybit v5 order gateway (USDT linear perpetuals; inverse contracts in their own category, :mod:`.inverse`),
implementing :class:`liqcore.venues.gateway.Gateway`.

Start (clock sync, instruments, reconcile, the private stream), idempotent creates keyed by
``orderLinkId``, rate limits, TP/SL modes and reconnects: docs/maintainers/live-gateways.md, "The Bybit order gateway".
Keys are held as :class:`liqcore.secrets.Secret`; logs show at most the first four characters.

Why one module: one class, the venue's order state machine; its parts share the orders in flight.
May import: ``secrets``, ``venues.bybit`` (REST, private stream), ``venues.instruments``, ``venues.numbers`` and this
venues' shared ``gateway``, ``gateway_core`` and ``ratelimit`` (never ``live``).
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import re
import time
from collections import deque

import orjson

from liqcore.venues.gateway import Fill, GatewayError, OrderIntent, OrderUpdate, PositionInfo
from liqcore.venues.ratelimit import SlidingWindowLimiter
from liqcore.venues.gateway_core import TERMINAL as _TERMINAL, VenueGateway
from liqcore.secrets import Secret, mask_key
from liqcore.venues.bybit.private import BybitPrivateStream, parse_execution, parse_order, parse_position
from liqcore.venues.instruments import Instrument
from liqcore.venues.numbers import wire_number
from liqcore.venues.bybit.codes import CODES
from liqcore.venues.bybit import inverse
from liqcore.venues.bybit.inverse import category_of
from liqcore.venues.bybit.rest import (CANCEL_BATCH_MAX, RET_ORDER_NOT_EXISTS, BybitAPIError, BybitBanned,
                                        BybitRateLimited, BybitREST, BybitTransportError)
from liqcore.venues.outcomes import RATE_LIMITED, UNKNOWN
from liqcore.venues.bybit.rest import public_clock_offset  # noqa: F401 (the gateway part's public clock)

__all__ = ["BybitGateway", "public_clock_offset"]

_MARK = re.compile(r"\\u0001([a-e])")  # a marker value of a pre-built body, as orjson writes it
_CID_OK = re.compile(r"[A-Za-z0-9_.:/+=@-]+").fullmatch  # client ids orjson writes without escapes
_INF = float("inf")

log = logging.getLogger("liqcore.bybit.gateway")


def _open_position(rows, symbol: str):
    """The open position of ``symbol`` among ``/v5/position/list`` rows (the last one listed), None when flat;
    a row that does not parse is skipped."""
    pos = None
    for r in rows:
        try:
            p = parse_position(r)
        except ValueError:
            continue
        if p.symbol == symbol and p.size > 0:
            pos = p
    return pos


class BybitGateway(VenueGateway):
    name = "bybit"
    log = log
    client_id_name = "Bybit orderLinkId"

    def __init__(
        self,
        api_key: str | Secret,
        api_secret: str | Secret,
        rest_url: str = "https://api.bybit.com",
        private_ws_url: str = "wss://stream.bybit.com/v5/private",
        category: str = "linear",
        *,
        symbols: list[str] | None = None,
        recv_window: int = 5000,
        timeout: float = 5.0,
        tp_mode: str = "limit",
        create_rate: int = 10, cancel_rate: int = 10,
        max_create_attempts: int = 4, retry_backoff: float = 0.2,
        ping_interval: float = 20.0, stale_after: float | None = None,
        pong_timeout: float = 10.0,
        exit_confirm_s: float = 30.0,
        connect_timeout: float = 10.0,
        cancel_wait: float = 1.0,
        settle_coin: str = "USDT",
        fast_create: bool = True,
        reconcile_s: float = 5.0,
    ) -> None:
        if category != "linear":
            raise ValueError("category: only 'linear' is supported")
        if tp_mode not in ("limit", "market"):
            raise ValueError("tp_mode: must be 'limit' or 'market'")
        if max_create_attempts < 1:
            raise ValueError("max_create_attempts: must be >= 1")
        if not reconcile_s > 0:
            raise ValueError(f"reconcile_s: must be > 0 seconds, got {reconcile_s!r}")
        self._hold_keys(api_key, api_secret)
        #: the private stream quiet this long while an order or a position is open: the venue is read again
        #: (:meth:`_quiet_reconcile`), as after a reconnect (a mute shorter than the liveness check causes none)
        self.reconcile_s = float(reconcile_s)
        self._closing = False
        self._last_heard = time.monotonic()
        self._quiet_task: asyncio.Task | None = None
        self.category = category
        self.symbols = list(symbols) if symbols else None
        self.tp_mode = tp_mode
        self.max_create_attempts = int(max_create_attempts)
        self.retry_backoff = float(retry_backoff)
        self.connect_timeout = float(connect_timeout)
        self.cancel_wait = float(cancel_wait)
        self.settle_coin = settle_coin
        self.rest = BybitREST(self._key, self._secret, rest_url, recv_window=recv_window, timeout=timeout,
                              fast_create=fast_create)
        self.stream = BybitPrivateStream(
            self._key, self._secret, private_ws_url, on_message=self._on_message, on_connect=self._on_connect,
            ping_interval=ping_interval, stale_after=stale_after, pong_timeout=pong_timeout, clock_ms=self.rest.now_ms,
        )
        #: how long a re-set exit may take to show live on the venue before the position is closed instead
        self.exit_confirm_s = float(exit_confirm_s)
        self._exit_checks: dict[tuple[str, str], asyncio.Task] = {}  # (symbol, "tp"|"sl") -> its check
        self._exit_levels: dict[tuple[str, str], float] = {}  # (symbol, "tp"|"sl") -> the level last seen live
        self._exit_again: dict[tuple[str, str], tuple[str, float | None]] = {}  # news while its check ran
        self._synced_ms = 0  # the venue time up to which the fills and orders are known (a reconcile's start)
        self.create_limiter = SlidingWindowLimiter(create_rate, 1.0)
        self.cancel_limiter = SlidingWindowLimiter(cancel_rate, 1.0)
        self._oid_cid: dict[str, tuple[str, str]] = {}  # venue orderId -> (client_id, kind)
        self._bracket: dict[str, str] = {}  # symbol -> client_id of the entry whose TP/SL are live
        self._positions: dict[str, PositionInfo] = {}
        self._seen_exec: deque[str] = deque(maxlen=8192)
        self._seen_exec_set: set[str] = set()
        #: venue orderId -> the quantity of its executions booked (stream or reconciliation): an order query that
        #: reports more (cumExecQty) shows executions the private stream missed (:meth:`_missed_executions`)
        self._exec_qty: dict[str, float] = {}
        self._changed = asyncio.Condition()
        self._last_connect_ms = 0
        self._resync_task: asyncio.Task | None = None
        self.reconciled: dict[str, list] = {"orders": [], "positions": []}
        self.stats = {"creates": 0, "create_retries": 0, "ambiguous": 0, "duplicates_resolved": 0,
                      "rejected": 0, "cancels": 0, "resyncs": 0, "bad_pushes": 0, "banned": 0, "gap_reconciles": 0,
                      "quiet_reconciles": 0}
        self._started = False
        # (symbol, side) -> the create body of a bracketed post-only limit entry as bytes fragments around
        # its variable slots (qty, price, client id, TP, SL); see prebuild()
        self._templates: dict[tuple[str, str], tuple] = {}

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Sync the clock, load instruments, reconcile open orders and positions, open the private stream."""
        await self._reconcile_at_start(lambda: self.load_instruments(self.symbols), (BybitAPIError, BybitTransportError))
        orders, positions = self.reconciled["orders"], self.reconciled["positions"]
        if orders or positions:
            log.warning("bybit reconcile: %d open orders, %d positions found at start", len(orders), len(positions))
        await self.stream.start()
        if not await self.stream.wait_connected(self.connect_timeout):
            err = self.stream.last_error or "timeout"
            await self.stream.close()
            raise GatewayError(f"bybit private stream did not connect: {err}")
        self._started, self._closing = True, False
        self._quiet_task = asyncio.create_task(self._quiet_loop(), name="bybit-quiet-reconcile")
        log.info("bybit gateway started (key %s, %d instruments, clock offset %d ms)", mask_key(self._key),
                 len(self._instruments), self.rest.time_offset_ms)

    async def close(self) -> None:
        self._closing = True
        for t in (self._resync_task, self._quiet_task):
            if t is not None:
                t.cancel()
        for t in list(self._exit_checks.values()):
            t.cancel()
        await self.stream.close()
        await self.rest.close()
        self._started = False

    # ------------------------------------------------------------------ instruments
    async def load_instruments(self, symbols: list[str] | None = None) -> dict[str, Instrument]:
        rows = await inverse.instruments(self.rest, self.category, symbols)
        for r in rows:
            try:
                inst = Instrument.from_bybit(r)
            except ValueError:
                log.warning("bybit instruments: malformed row for %r skipped", r.get("symbol") if isinstance(r, dict) else r)
                continue
            self._instruments[inst.symbol] = inst
        self.prebuild(symbols or None)
        if symbols:
            missing = [s for s in symbols if s not in self._instruments]
            if missing:
                raise GatewayError(f"bybit instruments: unknown symbols {missing}")
        return dict(self._instruments)

    def cat(self, symbol: str) -> str:
        """The v5 ``category`` of ``symbol``: ``inverse`` for an inverse contract (:mod:`.inverse`), else ``linear``."""
        return category_of(symbol, self.category)

    # ------------------------------------------------------------------ orders
    def order_body(self, intent: OrderIntent) -> dict:
        """The ``/v5/order/create`` body for an intent (validated; prices/qty formatted on the grid)."""
        self.check_intent(intent)
        inst = self.instrument(intent.symbol)
        if intent.qty < inst.min_qty - 1e-12:
            raise ValueError(f"qty: {intent.qty} is below {intent.symbol}'s minimum {inst.min_qty}")
        side = "Buy" if intent.side == "buy" else "Sell"
        body: dict = {"category": self.cat(intent.symbol), "symbol": intent.symbol, "side": side}
        if intent.order_type == "market":
            body["orderType"] = "Market"
            body["qty"] = inst.qty_str(intent.qty)
        else:
            if not (intent.price > 0 and math.isfinite(intent.price)):
                raise ValueError(f"price: must be > 0 for a limit order, got {intent.price!r}")
            body["orderType"] = "Limit"
            body["qty"] = inst.qty_str(intent.qty)
            body["price"] = inst.price_str(intent.price)
            body["timeInForce"] = "PostOnly" if intent.post_only else "GTC"
        body["positionIdx"] = 0
        body["orderLinkId"] = intent.client_id
        if intent.reduce_only:
            if intent.take_profit or intent.stop_loss:
                raise ValueError("take_profit: a reduce-only order cannot carry TP/SL")
            body["reduceOnly"] = True
        tp, sl = intent.take_profit, intent.stop_loss
        if tp or sl:
            for name, v in (("take_profit", tp), ("stop_loss", sl)):
                if v is not None and not (v > 0 and math.isfinite(v)):
                    raise ValueError(f"{name}: must be > 0, got {v!r}")
            if self.tp_mode == "limit":
                body["tpslMode"] = "Partial"
                if tp:
                    body["takeProfit"] = inst.price_str(tp)
                    body["tpOrderType"] = "Limit"
                    body["tpLimitPrice"] = body["takeProfit"]
                    body["tpTriggerBy"] = "LastPrice"
                if sl:
                    body["stopLoss"] = inst.price_str(sl)
                    body["slOrderType"] = "Market"
                    body["slTriggerBy"] = "LastPrice"
            else:
                body["tpslMode"] = "Full"
                if tp:
                    body["takeProfit"] = inst.price_str(tp)
                    body["tpOrderType"] = "Market"
                    body["tpTriggerBy"] = "LastPrice"
                if sl:
                    body["stopLoss"] = inst.price_str(sl)
                    body["slOrderType"] = "Market"
                    body["slTriggerBy"] = "LastPrice"
        return body

    # Pre-built create bodies.  The engine's entries are all of one shape per (symbol, side): a post-only
    # limit with TP and SL attached.  Everything of that body but the numbers and the client id is known as
    # soon as the instrument is: it is serialised once, with marker values, and cut into fragments; the
    # confirming frame then only formats qty / price / TP / SL on the grid and joins (the HMAC key pads and
    # the constant header lines are pre-computed by the REST client).  The bytes are those of
    # ``orjson.dumps(order_body(intent))`` exactly (tests/live/test_bybit_prebuilt.py).
    def prebuild(self, symbols=None) -> int:
        """Pre-build the entry bodies of both sides for ``symbols`` (default: every loaded instrument);
        returns how many (symbol, side) templates exist.  Idempotent; also done on first use."""
        for sym in (self._instruments if symbols is None else symbols):
            for side in ("buy", "sell"):
                self._template(sym, side)
        return len(self._templates)

    def _template(self, symbol: str, side: str):
        key = (symbol, side)
        t = self._templates.get(key)
        if t is None:
            try:
                inst = self.instrument(symbol)
                px = inst.tick_size if inst.tick_size > 0 else 1.0
                body = self.order_body(OrderIntent(symbol, side, max(inst.min_qty, 1e-9), px, "x", post_only=True,
                                                   take_profit=px, stop_loss=px))
            except (ValueError, TypeError):
                return None
            for k, mark in (("qty", "\x01a"), ("price", "\x01b"), ("orderLinkId", "\x01c"), ("takeProfit", "\x01d"),
                            ("tpLimitPrice", "\x01d"), ("stopLoss", "\x01e")):
                if k in body:
                    body[k] = mark
            parts = _MARK.split(orjson.dumps(body).decode())  # fragment, slot, fragment, slot, ..., fragment
            slots = tuple(parts[1::2])
            # qty, price, client id, TP[, TP limit price], SL: order_body's order
            if slots not in (("a", "b", "c", "d", "d", "e"), ("a", "b", "c", "d", "e")):
                return None
            t = self._templates[key] = ("%s".join(f.replace("%", "%%") for f in parts[0::2]), len(slots) == 6)
        return t

    def entry_bytes(self, intent: OrderIntent) -> bytes | None:
        """The create body of ``intent`` from its pre-built template (``orjson.dumps(order_body(intent))``,
        byte for byte), or None when the intent is not a valid bracketed post-only limit entry of a known
        instrument (then :meth:`order_body` decides, and names what is wrong)."""
        tp, sl, qty, price, cid = intent.take_profit, intent.stop_loss, intent.qty, intent.price, intent.client_id
        if (intent.order_type != "limit" or intent.post_only is not True or intent.reduce_only or intent.kind != "entry"
                or tp is None or sl is None or not (0 < tp < _INF and 0 < sl < _INF and 0 < qty < _INF and 0 < price < _INF)
                or cid.__class__ is not str or not 0 < len(cid) <= 36 or not cid.isascii() or not _CID_OK(cid)):
            return None
        t = self._templates.get((intent.symbol, intent.side)) or self._template(intent.symbol, intent.side)
        inst = self._instruments.get(intent.symbol)
        if t is None or inst is None or qty < inst.min_qty - 1e-12:
            return None
        tmpl, tp_limit = t
        tps = inst.price_str(tp)
        if tp_limit:
            return (tmpl % (inst.qty_str(qty), inst.price_str(price), cid, tps, tps, inst.price_str(sl))).encode()
        return (tmpl % (inst.qty_str(qty), inst.price_str(price), cid, tps, inst.price_str(sl))).encode()

    def warm_order(self, intent: OrderIntent) -> bytes:
        """Build, format and sign the create request of ``intent`` exactly as :meth:`send_now` would, and write
        nothing: keeps that code warm while the feed is quiet (the engine's ``warm_path``).  Returns the bytes
        (empty when the intent does not validate or the client is not started)."""
        built = self._create_body(intent)
        if built is None or getattr(self.rest, "_h1", None) is None:
            return b""
        return self.rest.fast_post_bytes("/v5/order/create", built[0])

    def _create_body(self, intent: OrderIntent) -> tuple[bytes, dict | None] | None:
        """The create body of ``intent``: ``(json bytes, the body as a dict when it was built as one)`` --
        pre-built when the intent fits a template (only the numbers and the client id are formatted), else
        from :meth:`order_body`; None when the intent does not validate."""
        raw = self.entry_bytes(intent)
        if raw is not None:
            return raw, None
        try:
            body = self.order_body(intent)
        except ValueError:
            return None
        return orjson.dumps(body), body

    def send_now(self, intent: OrderIntent):
        """Write the create request of ``intent`` synchronously, when the REST client's create connection is
        idle and the create limiter grants a slot at once; returns a handle for ``place(intent, sent=handle)``
        (which reads the answer with the same idempotent handling), or ``None`` when nothing was written
        (then ``place(intent)`` sends it as usual).  An intent that fails validation is left to ``place``."""
        built = self._create_body(intent)
        if built is None or not self.fire_ready():
            return None
        raw, body = built
        sent = self.fire(self.rest.fast_post_bytes("/v5/order/create", raw))
        self.fired(intent, sent, raw, body)
        return sent

    # An order prepared ahead (the engine's pre-armed entries): ``prepare`` formats and signs the whole create
    # request while the feed is quiet; when the cascade confirms, ``fire_ready`` + ``fire`` write it as it is,
    # then ``fired`` does the bookkeeping ``send_now`` does after its write.
    def prepare(self, intent: OrderIntent) -> tuple[bytes, bytes] | None:
        """``(request, body)``: the complete signed create request of ``intent`` (signed now: valid for the
        REST client's receive window) and its JSON body; None when the client is not started or the intent
        is not a bracketed post-only limit entry of a known instrument."""
        if getattr(self.rest, "_h1", None) is None:
            return None
        body = self.entry_bytes(intent)
        if body is None:
            return None
        return self.rest.fast_post_bytes("/v5/order/create", body), body

    def fire_ready(self) -> bool:
        """True when a create can be written now (idle connection; a create rate-limit slot is taken)."""
        return self.rest.post_ready(self.create_limiter)

    def fire(self, request: bytes):
        """Write a prepared create request (after :meth:`fire_ready` on the same stack); the handle."""
        return self.rest.post_prebuilt("/v5/order/create", request)

    def fired(self, intent: OrderIntent, sent, body: bytes, parsed: dict | None = None) -> None:
        """After the write: remember ``intent`` (:meth:`_written`: a cancel meanwhile awaits its answer) and its body
        (for any resend; ``parsed``: the same body as a dict when the caller has it) as ``send_now`` does."""
        sent.body = parsed if parsed is not None else orjson.loads(body)
        self._written(intent, sent)
        if intent.kind == "entry" and (intent.take_profit or intent.stop_loss):
            self._bracket[intent.symbol] = intent.client_id

    async def place(self, intent: OrderIntent, sent=None) -> OrderUpdate:
        """Create ``intent`` at the venue (idempotent on its client_id).  ``sent``: the handle
        :meth:`send_now` returned for this intent (its request is already written)."""
        if sent is None:
            body = self.order_body(intent)
            self._intents[intent.client_id] = intent
            if intent.kind == "entry" and (intent.take_profit or intent.stop_loss):
                self._bracket[intent.symbol] = intent.client_id
        return await self._creating(intent.client_id, self._create(body if sent is None else sent.body, intent, sent))

    async def _create(self, body: dict, intent: OrderIntent, sent=None) -> OrderUpdate:
        cid, kind = intent.client_id, intent.kind
        attempt = 0
        while True:
            attempt += 1
            if (u := self._cancelled_unsent(intent, attempt)) is not None:  # (cancelled while unanswered)
                return u
            self.stats["creates"] += 1
            try:
                if sent is not None:  # the first try was written by send_now; any resend goes the usual way
                    pre, sent = sent, None
                    res = await self.rest.create_order(body, limiter=self.create_limiter, sent=pre)
                else:
                    res = await self.rest.create_order(body, limiter=self.create_limiter)
            except BybitBanned as exc:  # not sent, or refused for the ban: nothing was created
                self.stats["banned"] += 1
                raise GatewayError(f"bybit create {cid}: {exc.line}") from None
            except (BybitAPIError, BybitTransportError) as exc:
                if (done := await self._after_create_error(intent, attempt, exc, self._query_venue)) is None:
                    continue
                return done
            oid = str((res or {}).get("orderId") or "")
            if oid:
                self._oid_cid[oid] = (cid, kind)
            vt = (res or {}).get("venueTimeMs")  # when the venue processed the create, on the local clock
            venue_ns = (int(vt) - int(getattr(self.rest, "venue_offset_ms", 0))) * 1_000_000 if vt else 0
            if (known := self._answered(cid, kind)) is not None:
                return dataclasses.replace(known, venue_ns=venue_ns) if venue_ns else known
            u = OrderUpdate(cid, "pending", intent.symbol, oid, intent.side, intent.price, intent.qty, kind=kind,
                            ts_ns=time.time_ns(), venue_ns=venue_ns)
            self._store(u)
            return u

    def _create_error(self, exc: BaseException) -> tuple[str, str]:
        """What a failed create means, from Bybit's code table (:data:`liqcore.venues.bybit.codes.CODES`):
        ``retCode 10000`` "Server Timeout" and ``10016`` "Server error" are UNKNOWN (the venue may hold the order:
        it is asked by orderLinkId before any resend), never a rejection; a timeout, a dropped connection or an
        HTTP 5xx likewise."""
        if isinstance(exc, BybitRateLimited):  # still rate limited after the REST client's own retries
            return "rate_limited", f"still after retries: {exc.ret_msg}"
        if isinstance(exc, BybitAPIError):
            return CODES.what(exc.ret_code), f"{exc.ret_code} {exc.ret_msg}"
        return "unknown", exc.reason

    async def _find_order(self, symbol: str, *, client_id: str | None = None, order_id: str | None = None) -> list[dict]:
        """The venue's record of one order, wherever it is kept: open orders (``realtime``, ``openOnly=0``),
        recent closed ones (``openOnly=1``), then the order history.  ``[]`` when the venue has none."""
        kw = {"order_link_id": client_id} if not order_id else {"order_id": order_id}
        for open_only in (0, 1):
            rows = await self.rest.get_orders(self.cat(symbol), symbol=symbol, open_only=open_only, **kw)
            if rows:
                return rows
        return await self.rest.get_order_history(self.cat(symbol), symbol=symbol, **kw)

    async def _query_venue(self, symbol: str, client_id: str, required: bool = False) -> OrderUpdate | None:
        """The venue's state of ``client_id`` (``None`` when it has no such order).  With ``required`` a query
        that keeps failing raises GatewayError (the caller must not resend without an answer)."""
        last = ""
        rows: list[dict] | None = None
        for i in range(4):
            try:
                rows = await self._find_order(symbol, client_id=client_id)
                break
            except BybitBanned as exc:  # nothing may be asked until the ban ends
                last = exc.line
                break
            except (BybitTransportError, BybitRateLimited) as exc:
                last = str(exc)
                await asyncio.sleep(self.retry_backoff * (i + 1))
            except BybitAPIError as exc:
                last = str(exc)
                if CODES.what(exc.ret_code) not in (UNKNOWN, RATE_LIMITED):
                    break  # a refused query: no answer about the order
                await asyncio.sleep(self.retry_backoff * (i + 1))  # the venue's timeout / server error: ask again
        if rows is None:
            if required:
                raise GatewayError(f"bybit query {client_id}: no answer from the venue ({last})")
            return None
        for r in rows:
            if r.get("orderLinkId") == client_id:
                try:
                    u = self._resolve(parse_order(r))
                except ValueError:
                    continue
                self._store(u)
                await self._missed_executions(u)
                return u
        return None

    async def _missed_executions(self, u: OrderUpdate) -> None:
        """An order query answered ``u`` with more executed (cumExecQty) than the executions booked for it: the
        private stream missed them (mute, or down, and not yet found so).  The executions since the last sync
        are reconciled now (:meth:`_book_executions`, once each by execId), before the query's answer is used:
        a stop right after a fill on a mute socket (the stop's cancel finds the entry gone and asks) books the
        entry's fill and those of its attached TP/SL (empty orderLinkId), not a fill made up from the order's
        state (chaos case bybit-sl-fill-while-mute).  A failed reconcile is logged; the reconnect's runs later."""
        if not u.venue_order_id or u.filled_qty <= self._exec_qty.get(u.venue_order_id, 0.0) + 1e-12:
            return
        self.stats["gap_reconciles"] += 1
        log.warning("bybit %s: the venue reports %g executed, %g seen on the private stream: reconciling executions",
                    u.client_id, u.filled_qty, self._exec_qty.get(u.venue_order_id, 0.0))
        try:
            await self._book_executions({u.symbol}, self._synced_ms or self._last_connect_ms)
        except (BybitAPIError, BybitTransportError, GatewayError) as exc:
            log.warning("bybit execution reconcile for %s failed: %s", u.client_id, exc)

    async def cancel(self, symbol: str, client_id: str) -> OrderUpdate:
        """Cancel ``client_id``; returns its terminal state (or the venue's view when it is already closed).
        Raises GatewayError when the cancel could not be confirmed (the caller may try again).  (A create still
        unanswered: :meth:`_wait_created`.)"""
        if (known := await self._wait_created(client_id)) is not None:
            return known
        self.stats["cancels"] += 1
        for attempt in range(1, 4):
            try:
                await self.rest.cancel_order(self.cat(symbol), symbol, order_link_id=client_id, limiter=self.cancel_limiter)
                break
            except BybitBanned as exc:
                raise GatewayError(f"bybit cancel {client_id}: {exc.line}") from None
            except BybitRateLimited as exc:
                raise GatewayError(f"bybit cancel {client_id}: rate limited ({exc.ret_msg})") from None
            except BybitAPIError as exc:
                if CODES.what(exc.ret_code) == UNKNOWN:
                    # "Server Timeout" / "Server error": the cancel may or may not have been done; never
                    # reported as done until the venue says the order is gone
                    found = await self._query_venue(symbol, client_id)
                    if found is not None and found.status in _TERMINAL:
                        return found
                    if attempt == 3:
                        raise GatewayError(f"bybit cancel {client_id}: outcome unknown after {attempt} attempts "
                                           f"({exc.ret_code} {exc.ret_msg})") from None
                    await asyncio.sleep(self.retry_backoff * attempt)
                    continue
                found = await self._query_venue(symbol, client_id)
                if found is not None and found.status in _TERMINAL:
                    return found
                if found is None and exc.ret_code == RET_ORDER_NOT_EXISTS:
                    return OrderUpdate(client_id, "rejected", symbol, reason=f"{exc.ret_code} {exc.ret_msg}", ts_ns=time.time_ns())
                raise GatewayError(f"bybit cancel {client_id}: {exc.ret_code} {exc.ret_msg}") from None
            except BybitTransportError as exc:
                found = await self._query_venue(symbol, client_id)
                if found is not None and found.status in _TERMINAL:
                    return found
                if attempt == 3:
                    raise GatewayError(f"bybit cancel {client_id}: {exc.reason}") from None
                await asyncio.sleep(self.retry_backoff * attempt)
        kind = self._intents[client_id].kind if client_id in self._intents else "entry"
        u = await self._wait_terminal(client_id, kind, self.cancel_wait)
        if u is not None:
            return u
        found = await self._query_venue(symbol, client_id)
        return found if found is not None else OrderUpdate(client_id, "pending", symbol, reason="cancel_requested", ts_ns=time.time_ns())

    async def _cancel_batch(self, orders: list[tuple[str, str]]) -> dict[str, tuple[str, OrderUpdate | None]]:
        """Cancel many orders by client id at once: ``POST /v5/order/cancel-batch`` with up to 20 orders per
        request, the requests in parallel (each passes the cancel limiter once).  ``orders``: ``(symbol,
        client_id)`` pairs.  Returns ``client_id -> (outcome, update)``: ``"accepted"`` (the venue took the
        cancel; Bybit cancels asynchronously, the final state comes by push or query), ``"not_found"`` (the
        venue has no open order of that id: already closed, or never created) or ``"error: ..."`` (no usable
        answer: ask again); ``update`` is ``None`` here.  Never raises for venue or transport failures."""
        out: dict[str, tuple[str, OrderUpdate | None]] = {}
        orders = list(dict.fromkeys(orders))
        self.stats["cancels"] += len(orders)

        async def one(chunk: list[tuple[str, str]]) -> None:
            items = [{"symbol": sym, "orderLinkId": cid} for sym, cid in chunk]
            try:
                res = await self.rest.cancel_batch(self.cat(chunk[0][0]), items, limiter=self.cancel_limiter)
            except (BybitAPIError, BybitTransportError) as exc:
                for _, cid in chunk:
                    out[cid] = (f"error: {exc}", None)
                return
            for (sym, cid), (row, code, msg) in zip(chunk, res):
                if code == 0:
                    oid = str(row.get("orderId") or "")
                    if oid:
                        kind = self._intents[cid].kind if cid in self._intents else "entry"
                        self._oid_cid[oid] = (cid, kind)
                    out[cid] = ("accepted", None)
                elif code == RET_ORDER_NOT_EXISTS:
                    out[cid] = ("not_found", None)
                else:
                    out[cid] = (f"error: {code} {msg}", None)

        chunks = []  # a batch is of one category (linear or inverse)
        for cat in sorted({self.cat(s) for s, _ in orders}):
            same = [o for o in orders if self.cat(o[0]) == cat]
            chunks += [same[i:i + CANCEL_BATCH_MAX] for i in range(0, len(same), CANCEL_BATCH_MAX)]
        await asyncio.gather(*(one(c) for c in chunks))
        return out

    async def cancel_all(self, symbol: str) -> list[str]:
        """Cancel every active (non-conditional) order of ``symbol``: ``POST /v5/order/cancel-all`` with
        ``orderFilter=Order`` (attached TP/SL and other conditional orders stay).  Returns the cancelled
        orders' client ids (venue order ids for orders without one)."""
        try:
            rows = await self.rest.cancel_all(self.cat(symbol), symbol=symbol, order_filter="Order", limiter=self.cancel_limiter)
        except (BybitAPIError, BybitTransportError) as exc:
            raise GatewayError(f"bybit cancel-all {symbol}: {exc}") from None
        return [str(r.get("orderLinkId") or r.get("orderId") or "") for r in rows]

    async def _wait_terminal(self, client_id: str, kind: str, timeout: float) -> OrderUpdate | None:
        def done():
            u = self._orders.get((client_id, kind))
            return u if (u is not None and u.status in _TERMINAL) else None

        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(lambda: done() is not None), timeout)
        except asyncio.TimeoutError:
            return None
        return done()

    #: the venue holds a trailing stop on the position (``set_trading_stop(trailing=...)``)
    native_trailing = True
    #: the venue holds the position's take-profit / stop-loss (:meth:`set_trading_stop`)
    venue_exits = True
    #: whole create requests signed ahead (:meth:`prepare`): the engine's fast lane
    can_prepare = True

    async def set_trading_stop(self, symbol: str, take_profit: float | None = None, stop_loss: float | None = None,
                               trailing: float | None = None) -> None:
        """The open position's venue-native exits (``/v5/position/trading-stop``, full position, Market
        orders triggered by the last price): ``take_profit`` / ``stop_loss`` prices (on the grid already) and
        a ``trailing`` stop distance in price units, rounded down to the tick (None: not set).  Raises
        GatewayError when the venue refuses or cannot be reached."""
        inst = self.instrument(symbol)
        kw: dict = {}
        if take_profit:
            kw["take_profit"] = inst.price_str(take_profit)
        if stop_loss:
            kw["stop_loss"] = inst.price_str(stop_loss)
        if trailing:
            step = inst.tick_size
            dist = max(step, math.floor(trailing / step + 1e-9) * step)
            kw["trailing_stop"] = inst.price_str(dist)
        if not kw:
            return
        for attempt in range(1, 4):
            try:
                await self.rest.set_trading_stop(self.cat(symbol), symbol, **kw)
                if take_profit:
                    self._exit_levels[(symbol, "tp")] = float(take_profit)
                if stop_loss:
                    self._exit_levels[(symbol, "sl")] = float(stop_loss)
                return
            except BybitBanned as exc:
                raise GatewayError(f"bybit trading-stop {symbol}: {exc.line}") from None
            except (BybitAPIError, BybitTransportError) as exc:
                # the same levels set again are the same exits: an unknown outcome is sent again (bounded)
                unknown = isinstance(exc, BybitTransportError) or CODES.what(exc.ret_code) == UNKNOWN
                if not unknown or attempt == 3:
                    raise GatewayError(f"bybit trading-stop {symbol}: {exc}") from None
                await asyncio.sleep(self.retry_backoff * attempt)

    async def close_position(self, symbol: str, client_id: str) -> OrderUpdate:
        """Market-close ``symbol``'s position (reduce-only) with ``client_id`` as its orderLinkId.  The position
        is read first (``GET /v5/position/list``): a read that fails with a server error, a timeout or a rate
        limit is asked again (4 tries, backing off; nothing is sent yet, so a retry is safe), else a close the
        engine never sends again would leave the position past its hold (chaos bybit seed 8)."""
        rows: list[dict] = []
        for i in range(4):
            try:
                rows = await self.rest.get_positions(self.cat(symbol), symbol=symbol)
                break
            except BybitBanned as exc:
                raise GatewayError(f"bybit close_position {symbol}: {exc.line}") from None
            except (BybitAPIError, BybitTransportError) as exc:
                again = isinstance(exc, (BybitTransportError, BybitRateLimited)) or \
                    CODES.what(exc.ret_code) in (UNKNOWN, RATE_LIMITED)
                if not again or i == 3:
                    raise GatewayError(f"bybit close_position {symbol}: {exc}") from None
                await asyncio.sleep(self.retry_backoff * (i + 1))
        pos = _open_position(rows, symbol)
        if pos is None:
            return OrderUpdate(client_id, "rejected", symbol, reason="no_position", kind="exit", ts_ns=time.time_ns())
        intent = OrderIntent(symbol=symbol, side="sell" if pos.side == "buy" else "buy", qty=pos.size, price=0.0,
                             client_id=client_id, post_only=False, reduce_only=True, kind="exit", order_type="market")
        return await self.place(intent)

    async def query(self, symbol: str, client_id: str) -> OrderUpdate | None:
        try:
            return await self._query_venue(symbol, client_id, required=True)
        except GatewayError:
            raise

    async def open_orders(self) -> list[OrderUpdate]:
        try:
            rows = await inverse.all_orders(self.rest, self.category, self.settle_coin, self.symbols)
        except (BybitAPIError, BybitTransportError) as exc:
            raise GatewayError(f"bybit open_orders: {exc}") from None
        out = []
        for r in rows:
            try:
                u = self._resolve(parse_order(r))
            except ValueError:
                self.stats["bad_pushes"] += 1
                continue
            self._store(u)
            out.append(u)
        return out

    async def positions(self) -> list[PositionInfo]:
        try:
            rows = await inverse.all_positions(self.rest, self.category, self.settle_coin, self.symbols)
        except (BybitAPIError, BybitTransportError) as exc:
            raise GatewayError(f"bybit positions: {exc}") from None
        out = []
        for r in rows:
            try:
                p = parse_position(r)
            except ValueError:
                continue
            self._positions[p.symbol] = p
            if p.size > 0:
                out.append(p)
        return out

    async def equity(self, coin: str = "USDT") -> float:
        """Account equity (UNIFIED ``totalEquity``, or the coin's equity)."""
        try:
            rows = await self.rest.get_wallet_balance("UNIFIED")
        except (BybitAPIError, BybitTransportError) as exc:
            raise GatewayError(f"bybit wallet-balance: {exc}") from None
        for acc in rows:
            for c in acc.get("coin") or []:
                if c.get("coin") == coin and c.get("equity") not in (None, ""):
                    return wire_number(c["equity"])
            if acc.get("totalEquity") not in (None, ""):
                return wire_number(acc["totalEquity"])
        raise GatewayError("bybit wallet-balance: no equity in the answer")

    # ------------------------------------------------------------------ stream
    def _resolve(self, u: OrderUpdate) -> OrderUpdate:
        """Attach the engine's client_id/kind: TP/SL children (no orderLinkId) map to their entry."""
        kind = u.kind
        cid = u.client_id
        if cid and cid in self._intents and kind in ("entry", "exit"):
            kind = self._intents[cid].kind
        if not cid:
            prev = self._oid_cid.get(u.venue_order_id)
            if prev is not None:
                cid, kind = prev
            else:
                cid = self._bracket.get(u.symbol, "") or u.venue_order_id
        if u.venue_order_id:
            self._oid_cid[u.venue_order_id] = (cid, kind)
        if cid == u.client_id and kind == u.kind:
            return u
        return OrderUpdate(cid, u.status, u.symbol, u.venue_order_id, u.side, u.price, u.qty, u.filled_qty,
                           u.avg_price, u.reason, kind, u.ts_ns)

    def _store(self, u: OrderUpdate) -> None:
        self._orders[(u.client_id, u.kind)] = u

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _open_anything(self) -> bool:
        return super()._open_anything() or bool(self._bracket) or any(p.size > 0 for p in self._positions.values())

    async def _quiet_reconcile(self) -> bool:
        """The private stream said nothing for ``reconcile_s`` s with something open: the executions since the
        last reconciliation, the live orders, the positions and their exits are read again (:meth:`_resync`; each
        execution booked once)."""
        start = self.rest.now_ms()
        ok = await self._resync(max((self._synced_ms or self._last_connect_ms) - 4000, 0))
        if ok:
            self._synced_ms = max(self._synced_ms, start)
        return ok

    async def _on_message(self, topic: str, data: list) -> None:
        self._heard()
        for d in data:
            try:
                if topic == "order":
                    u = self._resolve(parse_order(d))
                    self._store(u)
                    await self._emit(self._update_cbs, u)
                    if d.get("stopOrderType") and u.kind in ("tp", "sl"):
                        if u.status in ("cancelled", "deactivated", "rejected"):
                            self._exit_gone(u.symbol, d, u.reason or str(d.get("orderStatus")))
                        elif u.status == "new" and d.get("triggerPrice"):
                            self._exit_levels[(u.symbol, u.kind)] = wire_number(d["triggerPrice"])
                elif topic == "execution":
                    f = parse_execution(d)
                    if f is not None:
                        await self._handle_fill(f, d.get("orderId", ""))
                elif topic == "position":
                    p = parse_position(d)
                    self._positions[p.symbol] = p
            except ValueError as exc:
                self.stats["bad_pushes"] += 1
                log.warning("bybit %s push dropped: %s", topic, exc)
        await self._notify()

    async def _handle_fill(self, f: Fill, order_id: str) -> None:
        if f.exec_id:
            if f.exec_id in self._seen_exec_set:
                return
            if len(self._seen_exec) == self._seen_exec.maxlen:
                self._seen_exec_set.discard(self._seen_exec[0])
            self._seen_exec.append(f.exec_id)
            self._seen_exec_set.add(f.exec_id)
        if order_id:
            self._exec_qty[order_id] = self._exec_qty.get(order_id, 0.0) + f.qty
            if len(self._exec_qty) > 8192:
                self._exec_qty.pop(next(iter(self._exec_qty)))
        cid, kind = f.client_id, f.kind
        if cid and cid in self._intents and kind == "entry":
            kind = self._intents[cid].kind
        if not cid:
            prev = self._oid_cid.get(order_id)
            cid, kind = prev if prev is not None else (self._bracket.get(f.symbol, "") or order_id, kind)
        if cid != f.client_id or kind != f.kind:
            f = Fill(cid, f.symbol, f.side, f.price, f.qty, f.fee, f.is_maker, f.exec_id, kind, f.ts_ns)
        await self._emit(self._fill_cbs, f)

    async def _on_connect(self, reconnected: bool) -> None:
        now = self.rest.now_ms()
        self._last_connect_ms = now
        if not reconnected:
            self._synced_ms = self._synced_ms or now
            return
        if self._resync_task is not None and not self._resync_task.done():
            self._resync_task.cancel()  # (a reconcile still running: this one starts from the same point)
        self._resync_task = asyncio.create_task(self._resync_until_done(self._synced_ms or now, now))

    async def _refresh(self, rows: list[dict]) -> None:
        for r in rows:
            try:
                nu = self._resolve(parse_order(r))
            except ValueError:
                self.stats["bad_pushes"] += 1
                continue
            old = self._orders.get((nu.client_id, nu.kind))
            self._store(nu)
            if old is None or (old.status, old.filled_qty, old.venue_order_id) != (nu.status, nu.filled_qty, nu.venue_order_id):
                await self._emit(self._update_cbs, nu)

    async def _resync_until_done(self, since_ms: int, connect_ms: int, attempts: int = 8) -> None:
        """Reconcile after a reconnect (:meth:`_resync`) until it succeeds (at most ``attempts`` tries, backing
        off; during a ban, after it ends): only then are the fills known up to this connection."""
        for i in range(attempts):
            if await self._resync(since_ms):
                self._synced_ms = max(self._synced_ms, connect_ms)
                return
            left = self.rest.gov.ban_left()
            await asyncio.sleep(left + 0.1 if left > 0 else min(30.0, 0.5 * 2 ** i))
        log.error("bybit reconcile after reconnect: not done after %d attempts; fills since %d ms may be missing",
                  attempts, since_ms)

    async def _resync(self, since_ms: int) -> bool:
        """After a reconnect: report executions (``GET /v5/execution/list`` since ``since_ms``, every page) and
        order changes missed while the stream was down, each fill once (by ``execId``); then check that every
        open position still has its take-profit and stop-loss on the venue (:meth:`_check_exit`).  True when
        the venue answered every question."""
        self.stats["resyncs"] += 1
        ok = False
        try:
            live = [u for u in list(self._orders.values()) if u.status not in _TERMINAL and u.symbol]
            symbols = {u.symbol for u in live} | set(self._bracket) | {s for s, p in self._positions.items() if p.size > 0}
            await self._book_executions(symbols, since_ms)
            for u in live:
                if u.venue_order_id:
                    rows = await self._find_order(u.symbol, order_id=u.venue_order_id)
                else:
                    rows = await self._find_order(u.symbol, client_id=u.client_id)
                await self._refresh(rows)
            await self._refresh(await inverse.all_orders(self.rest, self.category, self.settle_coin, self.symbols))
            for p in await self.positions():
                for kind in ("tp", "sl"):
                    self._schedule_exit_check(p.symbol, kind, "checked after a reconnect", None)
            ok = True
        except (BybitAPIError, BybitTransportError, GatewayError) as exc:
            log.warning("bybit resync after reconnect failed: %s", exc)
        await self._notify()
        return ok

    async def _book_executions(self, symbols, since_ms: int) -> None:
        """Book the executions of ``symbols`` since ``since_ms`` (``GET /v5/execution/list``, every page, oldest
        first), each once (:meth:`_handle_fill` drops an execId already booked)."""
        for sym in sorted(symbols):
            execs = await self.rest.get_executions(self.cat(sym), symbol=sym, start_ms=max(since_ms - 1000, 0),
                                                   all_pages=True)
            for e in reversed(execs):
                try:
                    f = parse_execution(e)
                except ValueError:
                    self.stats["bad_pushes"] += 1
                    continue
                if f is not None:
                    await self._handle_fill(f, e.get("orderId", ""))

    # ------------------------------------------------------------------ exits the venue cancels
    def _exit_gone(self, symbol: str, d: dict, reason: str) -> None:
        """An order push of a TP/SL order (``stopOrderType``) that is Cancelled / Deactivated / Rejected: a
        check (:meth:`_check_exit`) decides whether the position lost that exit (open position, no live exit
        of the kind left) or not (the position closed, or we replaced it)."""
        kind = "tp" if "TakeProfit" in str(d.get("stopOrderType")) else "sl" if (
            "StopLoss" in str(d.get("stopOrderType"))) else ""
        if not kind or not symbol:
            return
        try:
            level = wire_number(d.get("triggerPrice") or 0.0) or None
        except (TypeError, ValueError):
            level = None
        self._schedule_exit_check(symbol, kind, reason, level)

    def _schedule_exit_check(self, symbol: str, kind: str, reason: str, level: float | None) -> None:
        """One check at a time per (symbol, exit); news of that exit while one runs (which may have looked
        before the news) has it checked again when it ends."""
        key = (symbol, kind)
        t = self._exit_checks.get(key)
        if t is not None and not t.done():
            self._exit_again[key] = (reason, level)
            return
        self._exit_checks[key] = asyncio.create_task(self._exit_check_loop(symbol, kind, reason, level))

    async def _exit_check_loop(self, symbol: str, kind: str, reason: str, level: float | None) -> None:
        """Check until done: a venue that cannot be asked (a ban, a timeout) or an exit that could be neither set
        again nor closed is checked again later (after the ban ends, else backing off up to 30 s) while the
        gateway runs."""
        backoff = 1.0
        while True:
            try:
                done = await self._check_exit(symbol, kind, reason, level)
            except (BybitAPIError, BybitTransportError, GatewayError, ValueError) as exc:
                self._protection(symbol, kind, "failed", f"exit check failed: {exc}")
                done = False
            again = self._exit_again.pop((symbol, kind), None)
            if again is not None:
                reason, level = again
                continue
            if done:
                return
            left = self.rest.gov.ban_left()
            await asyncio.sleep(left + 0.1 if left > 0 else backoff)
            backoff = min(2 * backoff, 30.0)

    async def _live_exit(self, symbol: str, kind: str) -> tuple[float, bool]:
        """(the position's size, True when a live exit of ``kind`` is on the venue): the open conditional
        orders of ``symbol`` (``/v5/order/realtime``; stopOrderType TakeProfit / PartialTakeProfit or StopLoss /
        PartialStopLoss / TrailingStop, Untriggered; "Get Open & Closed Orders": without ``orderFilter`` every kind
        of order is returned) or the position's own ``takeProfit`` / ``stopLoss``."""
        rows = await self.rest.get_positions(self.cat(symbol), symbol=symbol)
        pos = _open_position(rows, symbol)
        if pos is None:
            return 0.0, False
        size, level = pos.size, (pos.take_profit if kind == "tp" else pos.stop_loss) or 0.0
        types = ("TakeProfit", "PartialTakeProfit") if kind == "tp" else ("StopLoss", "PartialStopLoss", "TrailingStop")
        for r in await self.rest.get_orders(self.cat(symbol), symbol=symbol, open_only=0):
            if r.get("stopOrderType") in types and r.get("orderStatus") in ("Untriggered", "New"):
                return size, True
        return size, bool(level)  # (tpslMode Full: the position's own level is its exit)

    async def _check_exit(self, symbol: str, kind: str, reason: str, level: float | None) -> bool:
        """The rule for an exit the venue cancelled, expired or rejected while the position is open (not at our
        request): say it lost, set it again at once at the same level (``/v5/position/trading-stop``, a new
        order); when that is refused or no live exit shows within :attr:`exit_confirm_s`, close the position at
        market (reduce-only).  Each step said by :meth:`_protection`.  False: not done (the venue could not be
        asked, or neither could be done): to be checked again."""
        try:
            size, live = await self._live_exit(symbol, kind)
        except (BybitAPIError, BybitTransportError) as exc:
            log.warning("bybit %s %s exit check: the venue did not answer (%s); asking again later", symbol, kind, exc)
            return False
        if size <= 0 or live:
            return True  # the position closed (its exits went with it), or an exit of that kind is live
        if level is None:  # (found gone after a reconnect: the level last seen live, else the entry's own)
            level = self._exit_levels.get((symbol, kind))
        if level is None:
            intent = self._intents.get(self._bracket.get(symbol, ""))
            level = (intent.take_profit if kind == "tp" else intent.stop_loss) if intent is not None else None
        self._protection(symbol, kind, "lost", reason, level=level)
        deadline = time.monotonic() + self.exit_confirm_s
        why = "no level known to set again"
        if level:
            try:
                await self.set_trading_stop(symbol, **({"take_profit": level} if kind == "tp" else {"stop_loss": level}))
                while time.monotonic() < deadline:
                    try:
                        size, live = await self._live_exit(symbol, kind)
                    except (BybitAPIError, BybitTransportError):
                        live = False
                    if live or size <= 0:
                        self._protection(symbol, kind, "replaced", f"set again at {level}", level=level)
                        return True
                    await asyncio.sleep(min(1.0, max(0.05, deadline - time.monotonic())))
                why = f"not live within {self.exit_confirm_s:.0f} s"
            except GatewayError as exc:
                why = f"set again refused: {exc}"
        try:
            u = await self.close_position(symbol, f"lcx-{kind}-{time.time_ns() % 10**12}")
        except GatewayError as exc:
            self._protection(symbol, kind, "failed", f"{why}; close failed: {exc}")
            return False
        if u.status == "rejected" and u.reason != "no_position":
            self._protection(symbol, kind, "failed", f"{why}; close rejected: {u.reason}")
            return False
        self._protection(symbol, kind, "closed", why, client_id=u.client_id)
        return True


# ---- the registry's ``gateway`` part (liqcore.venues.registry): what ``liqcore run --live`` builds
#: the class that sends the venue's orders
GATEWAY = BybitGateway


def build(creds, rest_url: str, private_url: str, symbols, network: str, opts: dict) -> BybitGateway:
    """The run's gateway: ``creds`` (:class:`liqcore.secrets.Credentials`), the REST base and private websocket
    (the network's unless given), the symbols traded; ``opts``: ``ping_interval`` / ``stale_after`` (s)."""
    return BybitGateway(creds.api_key, creds.api_secret, rest_url, private_url, symbols=symbols,
                        ping_interval=opts.get("ping_interval", 20.0), stale_after=opts.get("stale_after", 60.0))

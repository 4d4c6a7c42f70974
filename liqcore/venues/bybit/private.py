"""Bybit v5 private stream: authenticated websocket for ``order`` / ``execution`` / ``position`` pushes.

:class:`BybitPrivateStream` connects, authenticates (``{"op":"auth","args":[key, expires_ms, sig]}`` with
``sig = hex HMAC_SHA256(secret, "GET/realtime" + expires_ms)``), subscribes, sends ``{"op":"ping"}`` every
``ping_interval`` seconds (Bybit "WebSocket Connect", "How to Send the Heartbeat Packet": "send the ping
heartbeat packet every 20 seconds"; the venue answers ``{"op":"pong"}``), treats a ping left without its pong for
``pong_timeout`` seconds as a dead connection (open but mute: pushes are lost on it), and one with no traffic
for ``stale_after`` seconds too, and
reconnects with exponential back-off (re-auth, re-subscribe).  Frames are de-duplicated by their ``id``.
Each data frame is handed to ``on_message(topic, data_list)``; ``on_connect(reconnected: bool)`` runs after
every successful (re)subscription so the owner can reconcile what it may have missed.

The parse functions turn venue objects into the gateway dataclasses: :func:`parse_order` ->
:class:`~liqcore.venues.orders.OrderUpdate`, :func:`parse_execution` -> :class:`~liqcore.venues.orders.Fill`
(``None`` for non-trade executions such as funding), :func:`parse_position` ->
:class:`~liqcore.venues.orders.PositionInfo`.  They raise ValueError naming the field on malformed input.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import math
import random
import time
from collections import deque
from typing import Awaitable, Callable

import orjson

from liqcore.interrupt import end_task
from liqcore.venues.numbers import wire_number
from liqcore.venues.orders import Fill, OrderUpdate, PositionInfo
from liqcore.secrets import Secret, mask_key
from liqcore.venues.bybit.signing import ws_auth_message

__all__ = [
    "BybitPrivateStream",
    "PrivateStreamAuthError",
    "STATUS_MAP",
    "order_kind",
    "parse_order",
    "parse_execution",
    "parse_position",
    "MAINNET_PRIVATE_URL",
    "TESTNET_PRIVATE_URL",
]

MAINNET_PRIVATE_URL = "wss://stream.bybit.com/v5/private"
TESTNET_PRIVATE_URL = "wss://stream-testnet.bybit.com/v5/private"

log = logging.getLogger("liqcore.bybit.private")

#: Bybit orderStatus -> normalised status (an Untriggered conditional order is live, i.e. "new")
STATUS_MAP = {
    "Created": "pending",
    "New": "new",
    "PartiallyFilled": "partially_filled",
    "Filled": "filled",
    "Cancelled": "cancelled",
    "PartiallyFilledCanceled": "cancelled",
    "Rejected": "rejected",
    "Untriggered": "new",
    "Triggered": "triggered",
    "Deactivated": "deactivated",
}

_TP_TYPES = ("TakeProfit", "PartialTakeProfit")
_SL_TYPES = ("StopLoss", "PartialStopLoss", "TrailingStop")


def order_kind(stop_order_type: str, reduce_only: bool = False) -> str:
    """Which order of a bracket this is: ``tp``/``sl`` from ``stopOrderType``, else ``exit`` (reduce-only) or ``entry``."""
    if stop_order_type in _TP_TYPES:
        return "tp"
    if stop_order_type in _SL_TYPES:
        return "sl"
    return "exit" if reduce_only else "entry"


def _num(d: dict, name: str, default: float = 0.0) -> float:
    v = d.get(name)
    if v is None or v == "":
        return default
    try:
        return wire_number(v)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: not a number: {v!r}") from None


def _ms_to_ns(d: dict, *names: str) -> int:
    for n in names:
        v = d.get(n)
        if v not in (None, ""):
            try:
                return wire_number(v, int) * 1_000_000
            except (TypeError, ValueError):
                raise ValueError(f"{n}: not an integer: {v!r}") from None
    return 0


def _side(v) -> str:
    if v == "Buy":
        return "buy"
    if v == "Sell":
        return "sell"
    if v in ("", None, "None"):
        return ""
    raise ValueError(f"side: unknown value {v!r}")


def parse_order(d: dict) -> OrderUpdate:
    if not isinstance(d, dict):
        raise ValueError("order: not an object")
    st = d.get("orderStatus")
    if st not in STATUS_MAP:
        raise ValueError(f"orderStatus: unknown value {st!r}")
    reason = d.get("rejectReason") or ""
    if reason == "EC_NoError":
        reason = ""
    if not reason and STATUS_MAP[st] in ("cancelled", "deactivated"):
        ct = d.get("cancelType") or ""
        reason = "" if ct in ("UNKNOWN", "") else ct
    price = _num(d, "price")
    if price == 0.0 and d.get("triggerPrice"):
        price = _num(d, "triggerPrice")
    return OrderUpdate(
        client_id=str(d.get("orderLinkId") or ""),
        status=STATUS_MAP[st],
        symbol=str(d.get("symbol") or ""),
        venue_order_id=str(d.get("orderId") or ""),
        side=_side(d.get("side")),
        price=price,
        qty=_num(d, "qty"),
        filled_qty=_num(d, "cumExecQty"),
        avg_price=_num(d, "avgPrice"),
        reason=reason,
        kind=order_kind(d.get("stopOrderType") or "", bool(d.get("reduceOnly"))),
        ts_ns=_ms_to_ns(d, "updatedTime", "createdTime"),
    )


def parse_execution(d: dict) -> Fill | None:
    """A Fill for ``execType == "Trade"`` (and Bust/Adl trades); ``None`` for funding and other records."""
    if not isinstance(d, dict):
        raise ValueError("execution: not an object")
    et = d.get("execType", "Trade")
    if et not in ("Trade", "BustTrade", "AdlTrade", "BlockTrade", "MovePosition"):
        return None
    qty = _num(d, "execQty")
    if qty <= 0:
        raise ValueError(f"execQty: must be > 0, got {d.get('execQty')!r}")
    is_maker = d.get("isMaker")
    if isinstance(is_maker, str):
        is_maker = is_maker.lower() == "true"
    return Fill(
        client_id=str(d.get("orderLinkId") or ""),
        symbol=str(d.get("symbol") or ""),
        side=_side(d.get("side")),
        price=_num(d, "execPrice"),
        qty=qty,
        fee=_num(d, "execFee"),
        is_maker=bool(is_maker),
        exec_id=str(d.get("execId") or ""),
        kind=order_kind(d.get("stopOrderType") or "", False),
        ts_ns=_ms_to_ns(d, "execTime"),
    )


def parse_position(d: dict) -> PositionInfo:
    if not isinstance(d, dict):
        raise ValueError("position: not an object")
    size = _num(d, "size")
    entry = _num(d, "entryPrice") or _num(d, "avgPrice")
    tp = _num(d, "takeProfit")
    sl = _num(d, "stopLoss")
    side = _side(d.get("side")) if size else ""
    return PositionInfo(symbol=str(d.get("symbol") or ""), side=side, size=size, entry_price=entry if size else 0.0,
                        take_profit=tp or None, stop_loss=sl or None)


class PrivateStreamAuthError(ConnectionError):
    """The venue refused the private stream's auth (bad key/signature/expiry)."""


MessageCallback = Callable[[str, list], "Awaitable[None] | None"]


class BybitPrivateStream:
    def __init__(
        self,
        api_key: str | Secret,
        api_secret: str | Secret,
        url: str = MAINNET_PRIVATE_URL,
        *,
        topics: tuple[str, ...] = ("order", "execution", "position"),
        on_message: MessageCallback | None = None,
        on_connect: Callable[[bool], "Awaitable[None] | None"] | None = None,
        ping_interval: float = 20.0,
        stale_after: float | None = None,
        pong_timeout: float = 10.0,
        auth_ttl_ms: int = 10_000,
        reply_timeout: float = 5.0,
        reconnect_min: float = 0.1,
        reconnect_max: float = 10.0,
        clock_ms: Callable[[], int] | None = None,
        session=None,
    ) -> None:
        if not topics:
            raise ValueError("topics: at least one private topic is required")
        self._key = api_key if isinstance(api_key, Secret) else Secret(api_key)
        self._secret = api_secret if isinstance(api_secret, Secret) else Secret(api_secret)
        self.url = url
        self.topics = tuple(topics)
        self.on_message = on_message
        self.on_connect = on_connect
        self.ping_interval = float(ping_interval)
        self.stale_after = float(stale_after) if stale_after else 2 * self.ping_interval + 5.0
        if not pong_timeout > 0:
            raise ValueError("pong_timeout: must be > 0 (seconds)")
        self.pong_timeout = float(pong_timeout)
        self._pong_due = 0.0  # monotonic: the pong of the last ping must come by then (0.0: none awaited)
        self.auth_ttl_ms = int(auth_ttl_ms)
        self.reply_timeout = float(reply_timeout)
        self.reconnect_min = float(reconnect_min)
        self.reconnect_max = float(reconnect_max)
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self._session = session
        self._own_session = session is None
        self._task: asyncio.Task | None = None
        self._closing = False
        self._ws = None
        self.connected = asyncio.Event()
        self.last_error: str = ""
        self._seen_ids: deque[str] = deque(maxlen=4096)
        self._seen_set: set[str] = set()
        self.stats = {"connects": 0, "reconnects": 0, "auth_failures": 0, "frames": 0, "duplicates": 0,
                      "stale": 0, "bad_frames": 0, "callback_errors": 0, "ping_failures": 0,
                      "pong_timeouts": 0}

    def __repr__(self) -> str:
        return f"BybitPrivateStream(url={self.url!r}, api_key={mask_key(self._key)!r})"

    async def start(self) -> None:
        if self._task is not None:
            return
        if self._session is None:
            import aiohttp

            self._session = aiohttp.ClientSession()
            self._own_session = True
        self._closing = False
        self._task = asyncio.create_task(self._run(), name="bybit-private")

    async def wait_connected(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self.connected.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    async def close(self) -> None:
        self._closing = True
        if self._ws is not None:
            try:
                await self._ws.close()
            except Exception:
                pass
        try:
            await end_task(self._task)
        finally:  # (a Ctrl-C meanwhile is passed on once the session is closed)
            self._task = None
            if self._session is not None and self._own_session:
                await self._session.close()
                self._session = None
            self.connected.clear()

    async def _call(self, fn, *args) -> None:
        if fn is None:
            return
        try:
            r = fn(*args)
            if inspect.isawaitable(r):
                await r
        except Exception:
            self.stats["callback_errors"] += 1
            log.exception("private stream callback failed")

    async def _request(self, ws, payload: bytes, op: str) -> dict:
        """Send a control request and wait for its reply (data frames arriving meanwhile are dispatched)."""
        await ws.send_str(payload.decode())
        deadline = time.monotonic() + self.reply_timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise asyncio.TimeoutError(f"no {op} reply")
            m = await self._receive(ws, left)
            if m is None:
                continue
            if m.get("op") == op:
                return m

    async def _receive(self, ws, timeout: float) -> dict | None:
        import aiohttp

        msg = await ws.receive(timeout=timeout)
        if msg.type == aiohttp.WSMsgType.TEXT:
            data = msg.data
        elif msg.type == aiohttp.WSMsgType.BINARY:
            data = msg.data
        elif msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
            raise ConnectionResetError(f"private stream closed ({msg.type.name})")
        else:
            return None
        try:
            m = orjson.loads(data)
        except orjson.JSONDecodeError:
            self.stats["bad_frames"] += 1
            return None
        if not isinstance(m, dict):
            self.stats["bad_frames"] += 1
            return None
        topic = m.get("topic")
        if topic:
            fid = m.get("id")
            if fid:
                if fid in self._seen_set:
                    self.stats["duplicates"] += 1
                    return None
                if len(self._seen_ids) == self._seen_ids.maxlen:
                    self._seen_set.discard(self._seen_ids[0])
                self._seen_ids.append(fid)
                self._seen_set.add(fid)
            data_list = m.get("data")
            if not isinstance(data_list, list):
                self.stats["bad_frames"] += 1
                return None
            self.stats["frames"] += 1
            await self._call(self.on_message, topic, data_list)
            return None
        if m.get("op") == "pong" or m.get("ret_msg") == "pong":
            self._pong_due = 0.0
        return m

    async def _pinger(self, ws) -> None:
        """Ping every ``ping_interval``; a ping that cannot be sent is counted (``ping_failures``), logged
        and closes the connection, so the stream reconnects at once instead of going quiet."""
        n = 0
        while True:
            await asyncio.sleep(self.ping_interval)
            n += 1
            try:
                await ws.send_str(orjson.dumps({"req_id": f"p{n}", "op": "ping"}).decode())
                if not self._pong_due:
                    self._pong_due = time.monotonic() + self.pong_timeout
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure ends this connection, visibly
                self.stats["ping_failures"] += 1
                self.last_error = f"ping failed: {type(exc).__name__}: {exc}"
                log.warning("bybit private stream: %s; reconnecting", self.last_error)
                try:
                    await ws.close()
                except Exception:  # noqa: BLE001 - already broken
                    pass
                return

    async def _run(self) -> None:
        import aiohttp

        backoff = self.reconnect_min
        ever = False
        while not self._closing:
            pinger = None
            try:
                # (a connection found dead is not waited on for its closing handshake: 1 s, then it is dropped)
                close_to = {"timeout": aiohttp.ClientWSTimeout(ws_close=1.0)} if hasattr(aiohttp, "ClientWSTimeout") else {}
                async with self._session.ws_connect(self.url, autoping=True, heartbeat=None, max_msg_size=1 << 22,
                                                    **close_to) as ws:
                    self._ws = ws
                    expires = self._clock_ms() + self.auth_ttl_ms
                    reply = await self._request(ws, ws_auth_message(self._key, self._secret, expires), "auth")
                    if not reply.get("success"):
                        self.stats["auth_failures"] += 1
                        raise PrivateStreamAuthError(f"auth refused: {reply.get('ret_msg', '')}")
                    reply = await self._request(ws, orjson.dumps({"req_id": "sub", "op": "subscribe", "args": list(self.topics)}), "subscribe")
                    if not reply.get("success"):
                        raise ConnectionError(f"subscribe refused: {reply.get('ret_msg', '')}")
                    self.stats["connects"] += 1
                    if ever:
                        self.stats["reconnects"] += 1
                    reconnected, ever = ever, True
                    backoff = self.reconnect_min
                    self.last_error = ""
                    self.connected.set()
                    log.info("bybit private stream connected (key %s, topics %s)", mask_key(self._key), ",".join(self.topics))
                    pinger = asyncio.create_task(self._pinger(ws))
                    await self._call(self.on_connect, reconnected)
                    self._pong_due = 0.0
                    last_rx = time.monotonic()
                    while not self._closing:
                        # wake at the earlier of: no traffic for stale_after, a ping's pong overdue (checked at
                        # least every pong_timeout, as the pinger may send a ping while this waits)
                        deadline = min(last_rx + self.stale_after, self._pong_due or math.inf)
                        wait = min(max(0.001, deadline - time.monotonic()), self.pong_timeout)
                        try:
                            await self._receive(ws, wait)
                            last_rx = time.monotonic()
                            continue
                        except asyncio.TimeoutError:
                            pass
                        now = time.monotonic()
                        if self._pong_due and now >= self._pong_due:
                            self.stats["pong_timeouts"] += 1
                            raise ConnectionError(f"no pong within {self.pong_timeout:.1f} s of a ping (open but mute)")
                        if now - last_rx >= self.stale_after:
                            self.stats["stale"] += 1
                            raise ConnectionError(f"no traffic for {self.stale_after:.1f}s")
            except asyncio.CancelledError:
                raise
            except (aiohttp.ClientError, ConnectionError, asyncio.TimeoutError, OSError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                if not self._closing:
                    log.warning("bybit private stream down (%s); reconnecting in %.2fs", self.last_error, backoff)
            finally:
                self.connected.clear()
                self._ws = None
                if pinger is not None:
                    pinger.cancel()
            if self._closing:
                break
            await asyncio.sleep(backoff * (1.0 + 0.2 * random.random()))
            backoff = min(backoff * 2.0, self.reconnect_max)

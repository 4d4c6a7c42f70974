"""A fake Bybit v5 exchange: a real HTTP + websocket server on 127.0.0.1 (aiohttp, ephemeral port).

``async with FakeExchange(replay=frames, speed=10) as fx:`` serves the public and private websockets
and the REST API (signed as the venue signs), replays frames, moves its market with every print
(``liqcore.venues.fake_book``) and injects faults and one-way delays; :class:`liqcore.testing.fake_exchange.FakeExchangeThread` runs one in a thread.
What it serves and the faults: docs/maintainers/fakes.md, "The fake exchange (Bybit v5)".  This module is the
Bybit venue's registry part ``fake`` (:data:`FAKE`); ``liqcore.testing`` hands its names on, and
``python -m liqcore.testing.fake_exchange`` serves the default venue's.

Why one module: one fake venue speaking one wire protocol (REST and both websockets share the book,
accounts and request log; what every fake venue shares is ``liqcore/venues/loopback.py``).  May import: aiohttp,
orjson, ``interrupt``, the venues' shared ``fake_book``, ``loopback``, ``fake_streams`` and ``fake_accounts`` and this
venue's ``samples`` (never ``liqcore.testing``).
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import logging
import math
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Iterable

import orjson

from liqcore.interrupt import end_task
from liqcore.venues.fake_accounts import BYBIT_PATHS as ACCOUNT_PATHS
from liqcore.venues.loopback import Faults, FakeRequest, HttpFault, LoopbackVenue, RollingCount  # noqa: F401 (the fakes' base)
from liqcore.venues.loopback import send_or_drop
from liqcore.venues.fake_accounts import FakeAccount
from liqcore.venues.fake_book import DEFAULT_INSTRUMENTS, FakeVenue, VenueError

__all__ = ["FakeExchange", "DEFAULT_API_KEY", "DEFAULT_API_SECRET", "FAKE"]

log = logging.getLogger("liqcore.venues.bybit.fake")

DEFAULT_API_KEY = "fake-api-key-0001"
DEFAULT_API_SECRET = "fake-api-secret-do-not-use"

_PRIVATE_TOPICS = ("order", "execution", "position", "wallet")


#: the venue's limit on one public connection's subscribed ``args`` (Bybit v5 "Connect": "you cannot have
#: length of 'args' array over 21,000 characters"); counted on the array as sent: a subscribe past it is refused
MAX_PUBLIC_ARGS_CHARS = 21_000


def _in(category: str, rows: list[dict]) -> list[dict]:
    """The rows of one category (a v5 list answers for the category asked)."""
    return [r for r in rows if r.get("category", "linear") == category]


def _args_chars(topics) -> int:
    """The length of the connection's topics as one JSON ``args`` array."""
    return len(orjson.dumps(sorted(topics)))


class _Conn:
    __slots__ = ("kind", "ws", "transport", "topics", "authed", "sent", "stalled", "conn_id", "closed")

    def __init__(self, kind: str, ws, transport) -> None:
        self.kind = kind
        self.ws = ws
        self.transport = transport
        self.topics: set[str] = set()
        self.authed = False
        self.sent = 0
        self.stalled = False
        self.conn_id = uuid.uuid4().hex[:20]
        self.closed = False


class FakeExchange(LoopbackVenue):
    def __init__(
        self,
        replay: Iterable[tuple[int, bytes]] | None = None,
        *,
        speed: float | None = None,
        replay_start: str = "subscribe",
        replay_delay: float = 0.25,
        host: str = "127.0.0.1",
        port: int = 0,
        api_keys: dict[str, str] | None = None,
        instruments: dict[str, dict[str, float]] | None = None,
        faults: Faults | None = None,
        rate_limit: int | None = 10,
        time_offset_ms: int = 0,
        maker_fee: float = 0.0002,
        taker_fee: float = 0.00055,
        equity: float = 10_000.0,
        fill_on_touch: bool = False,
        partial_fills: bool = False,
        fill_worse_ticks: int = 0,
        reject_post_only_every: int = 0,
        order_delay_ms: float = 0.0,
        response_delay_ms: float = 0.0,
        lockstep=None,
        venue_clock_ms: Callable[[], int] | None = None,
    ) -> None:
        if replay_start not in ("subscribe", "immediate", "manual"):
            raise ValueError("replay_start: must be 'subscribe', 'immediate' or 'manual'")
        if speed is not None and speed < 0:
            raise ValueError("speed: must be >= 0 (0 or None = as fast as possible)")
        self.replay_source = replay
        self.speed = speed or None
        self.replay_start = replay_start
        self.replay_delay = float(replay_delay)
        self.host = host
        self.port = port
        self.api_keys = dict(api_keys) if api_keys else {DEFAULT_API_KEY: DEFAULT_API_SECRET}
        self.faults = faults or Faults()
        self.rate_limit = rate_limit
        self.time_offset_ms = int(time_offset_ms)
        if not (order_delay_ms >= 0 and response_delay_ms >= 0):
            raise ValueError("order_delay_ms / response_delay_ms: must be >= 0 (milliseconds)")
        self.order_delay_ms = float(order_delay_ms)  # one way in: order requests take effect this late
        self.response_delay_ms = float(response_delay_ms)  # one way out: REST answers and private pushes
        self._private_out: asyncio.Queue | None = None
        #: the replay in step with the engine trading on it (liqcore.testing.fake_replay.Lockstep; None: free)
        self.lockstep = lockstep
        # the matching engine's clock (orders' and fills' times): the replay's (venue_clock_ms) when it trades
        # a replay, so that they fall on the replayed market's time; the local clock otherwise
        self.venue = FakeVenue(
            instruments=dict(instruments or DEFAULT_INSTRUMENTS), maker_fee=maker_fee, taker_fee=taker_fee,
            equity=equity, fill_on_touch=fill_on_touch, partial_fills=partial_fills,
            clock_ms=venue_clock_ms or self.now_ms,
            fill_worse_ticks=fill_worse_ticks, reject_post_only_every=reject_post_only_every,
        )
        self.requests: list[FakeRequest] = []
        self.on_sent: list[Callable[[str, bytes, int], None]] = []
        self.on_request: list[Callable[[FakeRequest], None]] = []  # called as each request arrives
        self.sent_log: deque[tuple[int, str]] = deque(maxlen=100_000)
        self.auth_log: list[tuple[int, bool, str]] = []  # (recv_ns, ok, reason)
        #: the public subscribe / unsubscribe requests received: (conn_id, op, args, accepted)
        self.public_ops: list[tuple[str, str, list, bool]] = []
        #: public topics subscribed and acknowledged as usual but never sent (:meth:`silence`)
        self.silenced: set[str] = set()
        #: symbol -> its order book, a callable giving ``(u, bids, asks)`` now (levels ``[price, size]`` strings,
        #: best first): a subscription of ``orderbook.N.<symbol>`` (N > 1) is sent its N best levels a side as a
        #: ``snapshot`` right after the acknowledgement, as the venue does
        self.books: dict = {}
        #: the key and the account its account endpoints report (liqcore.venues.fake_accounts)
        self.account = FakeAccount(maker_fee=maker_fee, taker_fee=taker_fee)
        self.stats = {"public_frames": 0, "private_frames": 0, "public_connections": 0, "private_connections": 0,
                      "drops": 0, "replayed": 0, "bad_frames": 0, "private_data_sent": 0}
        self.replay_done: asyncio.Event | None = None
        self._conns: list[_Conn] = []
        self._runner = None
        self._replay_task: asyncio.Task | None = None
        self._rl: RollingCount | None = None  # the create and cancel endpoints' counts (made on first use)
        self._push_id = itertools.count(1)
        self._start_evt: asyncio.Event | None = None
        self.banned_until = 0.0  # monotonic: every REST request answered HTTP 403 until then (:meth:`ban`)
        #: private websocket upgrades refused (HTTP 503) while True: the private stream stays down, fills go on
        self.refuse_private = False
        #: ``(remaining, reset_in_ms)``: every answer's X-Bapi-Limit-Status and X-Bapi-Limit-Reset-Timestamp (None: 9, now)
        self.limit_status: tuple[int, int] | None = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def public_ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/v5/public/linear"

    @property
    def private_ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/v5/private"

    async def start(self) -> FakeExchange:
        from aiohttp import web

        app = web.Application(client_max_size=1 << 20)
        app.router.add_get("/v5/public/linear", self._public_ws)
        app.router.add_get("/v5/private", self._private_ws)
        app.router.add_route("*", "/{tail:.*}", self._http)
        await self._serve(app)
        self._start_evt = asyncio.Event()
        self._req_evt = asyncio.Event()
        self.replay_done = asyncio.Event()
        if self.replay_source is not None:
            self._replay_task = asyncio.create_task(self._replay())
            if self.replay_start == "immediate":
                self._start_evt.set()
        else:
            self.replay_done.set()
        return self

    async def stop(self) -> None:
        sender = getattr(self, "_private_sender", None)
        if sender is not None:
            sender.cancel()
            self._private_sender = None
            self._private_out = None
        await end_task(self._replay_task)
        for c in list(self._conns):
            c.closed = True
            try:
                c.transport.abort() if c.transport is not None else None
            except Exception:
                pass
        self._conns.clear()
        await self._unserve()

    # ------------------------------------------------------------------ fault controls
    def fail_next(self, k: int = 1, status: int = 500, path: str | None = None, process: bool = False) -> None:
        """The next ``k`` matching requests get HTTP ``status``; with ``process`` the request is handled first."""
        self.faults.http.extend(HttpFault("status", path, status=status, process=process) for _ in range(k))

    def rate_limit_next(self, k: int = 1, path: str | None = None, http_status: int = 200, reset_after_ms: int = 200) -> None:
        """The next ``k`` matching requests are refused as rate limited (retCode 10006, or HTTP 403/429)."""
        self.faults.http.extend(HttpFault("rate_limit", path, status=http_status, reset_after_ms=reset_after_ms) for _ in range(k))

    def delay_next(self, k: int = 1, seconds: float = 1.0, path: str | None = None, process: bool = True) -> None:
        """Delay the next ``k`` matching responses; ``process=True``: the request takes effect before the delay
        (the order IS created but the answer comes late), ``False``: it takes effect after the delay."""
        self.faults.http.extend(HttpFault("delay", path, delay=seconds, process=process) for _ in range(k))

    def ret_code_next(self, k: int = 1, code: int = 10000, message: str = "Server Timeout", path: str | None = None,
                      process: bool = False) -> None:
        """The next ``k`` matching requests are answered HTTP 200 with ``retCode code`` ("Error Codes",
        https://bybit-exchange.github.io/docs/v5/error: 10000 "Server Timeout", 10016 "Server error."); with
        ``process`` the request takes effect first (the order IS created / cancelled: the outcome the code leaves
        unknown), without it nothing is done."""
        self.faults.http.extend(HttpFault("retcode", path, status=int(code), process=process, message=message)
                                for _ in range(k))

    def ban(self, seconds: float = 600.0) -> None:
        """Ban this IP for ``seconds``: every REST request is answered HTTP 403 "access too frequent" until then
        (Rate Limit, "HTTP IP limit", https://bybit-exchange.github.io/docs/v5/rate-limit: "If you encounter the
        error '403, access too frequent', ... terminate all HTTP sessions and wait for at least 10 minutes")."""
        self.banned_until = time.monotonic() + float(seconds)

    def cancel_exit(self, symbol: str, kind: str = "StopLoss", cancel_type: str = "CancelByAdmin") -> int:
        """The venue cancels the position's open take-profit (``kind`` "TakeProfit") or stop-loss ("StopLoss")
        conditional orders, not at our request: each goes ``Deactivated`` with ``cancelType`` (an enum of
        "Enums Definitions", cancelType: CancelByAdmin, ...), pushed on the ``order`` topic ("Order" stream:
        stopOrderType TakeProfit / StopLoss / PartialTakeProfit / PartialStopLoss), and the position's level is
        cleared.  Returns how many were cancelled (the pushes go out from the caller's loop)."""
        kinds = (kind, "Partial" + kind)
        pushes = []
        for o in self.venue.open_orders(symbol):
            if o.stop_order_type in kinds and o.status == "Untriggered":
                o.status, o.cancel_type = "Deactivated", cancel_type
                pushes.append(self.venue._touch(o))
        if pushes:
            pos = self.venue.position(symbol)
            if kind == "TakeProfit":
                pos.take_profit = 0.0
            else:
                pos.stop_loss = 0.0
            pushes.append(self.venue._pos_push(symbol))
            asyncio.get_running_loop().create_task(self._push_private(pushes))
        return len(pushes) - 1 if pushes else 0

    def drop(self, which: str = "all") -> int:
        """Close the ``public``/``private``/``all`` websocket connections abruptly (no close frame)."""
        n = 0
        for c in list(self._conns):
            if which in ("all", c.kind):
                self._abort(c)
                n += 1
        return n

    def stall(self, which: str = "all", stalled: bool = True) -> int:
        """Stop sending (pushes, acks, pongs) on the current ``which`` connections but keep them open."""
        n = 0
        for c in self._conns:
            if which in ("all", c.kind):
                c.stalled = stalled
                n += 1
        return n

    def connections(self, kind: str | None = None) -> int:
        return sum(1 for c in self._conns if not c.closed and (kind is None or c.kind == kind))

    def authed_private(self) -> int:
        """The private websockets open now that authenticated: a trading session's private stream."""
        return sum(1 for c in self._conns if not c.closed and c.kind == "private" and c.authed)

    def silence(self, topic: str, silent: bool = True) -> None:
        """Fault: public ``topic`` is acknowledged when subscribed, as ever, and never sent; ``silent=False`` ends it."""
        (self.silenced.add if silent else self.silenced.discard)(topic)

    def _book_snapshot(self, topic: str) -> str | None:
        """The ``snapshot`` message a subscription of ``orderbook.N.<symbol>`` gets (:attr:`books`), or None."""
        parts = topic.split(".")
        if len(parts) != 3 or parts[0] != "orderbook" or not parts[1].isdigit() or int(parts[1]) <= 1:
            return None
        book = self.books.get(parts[2])
        if book is None:
            return None
        n = int(parts[1])
        u, bids, asks = book()
        now = self.now_ms()
        return orjson.dumps({"topic": topic, "type": "snapshot", "ts": now,
                             "data": {"s": parts[2], "b": bids[:n], "a": asks[:n], "u": int(u), "seq": int(u)},
                             "cts": now - 1}).decode()

    def subscribed(self, topic: str) -> bool:
        """A public connection open now holds ``topic``."""
        return any(c.kind == "public" and not c.closed and topic in c.topics for c in tuple(self._conns))

    def _abort(self, c: _Conn) -> None:
        c.closed = True
        self.stats["drops"] += 1
        try:
            if c.transport is not None:
                c.transport.abort()
        except Exception:
            pass
        if c in self._conns:
            self._conns.remove(c)

    # ------------------------------------------------------------------ market control
    def set_last_price(self, symbol: str, price: float) -> None:
        """Set the last trade price without printing a trade (nothing fills)."""
        self.venue.last_price[symbol] = float(price)

    async def trade(self, symbol: str, price: float, qty: float = 1.0, side: str = "Sell") -> None:
        """Print one trade: a ``publicTrade`` frame to subscribers, then matching against it."""
        from liqcore.venues.bybit.samples import trade_obj

        await self.push(trade_obj(symbol, price, qty, side, ts_ms=self.now_ms()))

    async def push(self, frame: dict | bytes | str) -> None:
        """Send a public frame now to the subscribers of its topic; trades move the fake's market."""
        if isinstance(frame, dict):
            data = orjson.dumps(frame)
        elif isinstance(frame, str):
            data = frame.encode()
        else:
            data = bytes(frame)
        await self._publish(data)

    def start_replay(self) -> None:
        if self._start_evt is not None:
            self._start_evt.set()

    async def wait_replay_done(self, timeout: float | None = None) -> None:
        assert self.replay_done is not None
        await asyncio.wait_for(self.replay_done.wait(), timeout)

    async def wait_for_request(self, path: str, n: int = 1, timeout: float = 5.0) -> list[FakeRequest]:
        """Wait until ``n`` requests to ``path`` have arrived; returns them (TimeoutError otherwise)."""
        async def _wait():
            while len(self.requests_to(path)) < n:
                self._req_evt.clear()
                await self._req_evt.wait()
            return self.requests_to(path)

        return await asyncio.wait_for(_wait(), timeout)

    def requests_to(self, path: str, method: str | None = None) -> list[FakeRequest]:
        return [r for r in self.requests if r.path == path and (method is None or r.method == method)]

    def orders_with_link(self, order_link_id: str) -> list:
        """Every order the venue holds with this orderLinkId (the idempotency check: at most one)."""
        return [o for o in self.venue.orders.values() if o.order_link_id == order_link_id]

    # ------------------------------------------------------------------ public stream
    @staticmethod
    def _topic_of(data: bytes) -> str | None:
        """The frame's topic read from its head (venue frames start with it); None: parse the frame."""
        i = data.find(b'"topic":"', 0, 64)
        if i < 0:
            return None
        j = data.find(b'"', i + 9)
        return data[i + 9:j].decode() if j > 0 else None

    async def _publish(self, data: bytes) -> None:
        topic = self._topic_of(data)
        obj = None
        if topic is None or topic.startswith("publicTrade."):
            try:
                obj = orjson.loads(data)
                topic = obj.get("topic", "") if isinstance(obj, dict) else ""
            except orjson.JSONDecodeError:
                obj, topic = None, ""
                self.stats["bad_frames"] += 1
        prints = obj is not None and topic.startswith("publicTrade.") and isinstance(obj, dict)
        step = self.lockstep
        deferred = prints and step is not None and step.clock.last_noted
        if deferred:  # matched when the engine takes the frame (Lockstep): said before the frame goes out, as a
            # send may yield to the engine, which can take the frame before the send returns (it did on Python 3.10)
            step.defer(data, lambda trades=obj.get("data") or []: self._match_later(trades))
        for c in tuple(self._conns):
            if c.kind == "public" and topic in c.topics and topic not in self.silenced:
                await self._send(c, data, data_frame=True)
        sent_ns = time.time_ns()
        self.stats["public_frames"] += 1
        self.sent_log.append((sent_ns, topic))
        for hook in self.on_sent:
            try:
                hook(topic, data, sent_ns)
            except Exception:  # a test hook must not break the stream
                log.exception("on_sent hook failed")
        if prints and not deferred:
            pushes = self._match(obj.get("data") or [])
            if pushes:
                await self._push_private(pushes)

    def _match(self, trades: list) -> list:
        """The venue's matching on a frame's prints: the private pushes it makes."""
        pushes = []
        for t in trades:
            try:
                pushes += self.venue.on_trade(t["s"], float(t["p"]), float(t.get("v") or math.inf))
            except (KeyError, TypeError, ValueError):
                self.stats["bad_frames"] += 1
        return pushes

    def _match_later(self, trades: list) -> None:
        """A deferred match (:class:`~liqcore.testing.fake_replay.Lockstep`): its pushes written by a task, the
        step's ``pushing`` counting them until they are."""
        pushes = self._match(trades)
        if not pushes:
            return
        step = self.lockstep
        step.pushing += 1

        async def push() -> None:
            try:
                await self._push_private(pushes)
            finally:
                step.pushing -= 1
        asyncio.get_running_loop().create_task(push())

    async def _replay(self) -> None:
        assert self._start_evt is not None and self.replay_done is not None
        try:
            await self._start_evt.wait()
            if self.replay_start == "subscribe" and self.replay_delay > 0:
                await asyncio.sleep(self.replay_delay)  # let the client send its remaining subscriptions
            from liqcore.venues.fake_streams import paced

            async for _, frame in paced(self.replay_source, self.speed):
                await self._publish(frame)
                self.stats["replayed"] += 1
        finally:
            self.replay_done.set()

    async def _public_ws(self, request):
        from aiohttp import WSMsgType, web

        ws = web.WebSocketResponse(autoping=True, max_msg_size=1 << 20)
        await ws.prepare(request)
        c = _Conn("public", ws, request.transport)
        self._conns.append(c)
        self.stats["public_connections"] += 1
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT or c.closed:
                    continue
                if c.stalled:
                    continue
                try:
                    m = orjson.loads(msg.data)
                except orjson.JSONDecodeError:
                    await self._send(c, orjson.dumps({"success": False, "ret_msg": "Invalid JSON", "conn_id": c.conn_id, "op": ""}).decode())
                    continue
                if not isinstance(m, dict):
                    continue
                op, req_id = m.get("op"), m.get("req_id", "")
                if op == "ping":
                    await self._send(c, orjson.dumps({"success": True, "ret_msg": "pong", "conn_id": c.conn_id, "req_id": req_id, "op": "ping"}).decode())
                elif op in ("subscribe", "unsubscribe"):
                    args = m.get("args")
                    ok = isinstance(args, list) and all(isinstance(a, str) and "." in a for a in args)
                    why = f"error:handler not found,topic:{args}"
                    if ok and op == "subscribe" and _args_chars(c.topics | set(args)) > MAX_PUBLIC_ARGS_CHARS:
                        ok, why = False, f"error:args of a public connection over {MAX_PUBLIC_ARGS_CHARS} characters"
                    self.public_ops.append((c.conn_id, op, list(args) if isinstance(args, list) else args, ok))
                    if ok:
                        if op == "subscribe":
                            c.topics.update(args)
                        else:
                            c.topics.difference_update(args)
                    await self._send(c, orjson.dumps({"success": ok, "ret_msg": "" if ok else why,
                                                      "conn_id": c.conn_id, "req_id": req_id, "op": op}).decode())
                    if ok and op == "subscribe":
                        for a in args:
                            snap = self._book_snapshot(a)
                            if snap is not None:
                                await self._send(c, snap)
                    if ok and op == "subscribe" and self.replay_start == "subscribe" and self._start_evt is not None:
                        self._start_evt.set()
                else:
                    await self._send(c, orjson.dumps({"success": False, "ret_msg": f"error:unknown op {op}", "conn_id": c.conn_id,
                                                      "req_id": req_id, "op": op}).decode())
        finally:
            c.closed = True
            if c in self._conns:
                self._conns.remove(c)
        return ws

    async def _send(self, c: _Conn, text: str | bytes, data_frame: bool = False) -> None:
        if c.closed or c.stalled:
            return
        dup = (self.faults.duplicate_public if c.kind == "public" else self.faults.duplicate_private) and data_frame
        try:
            for _ in range(2 if dup else 1):
                if not await send_or_drop(c.ws, text):  # (closed, or it stopped reading: dropped)
                    c.closed = True
                    return
        except (ConnectionError, RuntimeError):
            c.closed = True
            return
        if data_frame:
            c.sent += 1
            if c.kind == "private":  # (the private pushes written: what a Lockstep's engine must have read)
                self.stats["private_data_sent"] += 1
            limit = self.faults.drop_public_after if c.kind == "public" else self.faults.drop_private_after
            if limit is not None and c.sent >= limit:
                if c.kind == "public":
                    self.faults.drop_public_after = None
                else:
                    self.faults.drop_private_after = None
                self._abort(c)

    # ------------------------------------------------------------------ private stream
    async def _private_ws(self, request):
        from aiohttp import WSMsgType, web

        if self.refuse_private:
            return web.Response(status=503, text="Service Unavailable")
        ws = web.WebSocketResponse(autoping=True, max_msg_size=1 << 20)
        await ws.prepare(request)
        c = _Conn("private", ws, request.transport)
        self._conns.append(c)
        self.stats["private_connections"] += 1
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT or c.closed or c.stalled:
                    continue
                try:
                    m = orjson.loads(msg.data)
                except orjson.JSONDecodeError:
                    continue
                if not isinstance(m, dict):
                    continue
                op, req_id = m.get("op"), m.get("req_id", "")
                if op == "ping":
                    await self._send(c, orjson.dumps({"req_id": req_id, "op": "pong", "args": [str(self.now_ms())], "conn_id": c.conn_id}).decode())
                elif op == "auth":
                    ok, reason = self._check_ws_auth(m.get("args"))
                    self.auth_log.append((time.time_ns(), ok, reason))
                    c.authed = c.authed or ok
                    await self._send(c, orjson.dumps({"req_id": req_id, "success": ok, "ret_msg": reason, "op": "auth", "conn_id": c.conn_id}).decode())
                elif op in ("subscribe", "unsubscribe"):
                    args = m.get("args")
                    ok = c.authed and isinstance(args, list) and all(a in _PRIVATE_TOPICS for a in args)
                    if ok:
                        (c.topics.update if op == "subscribe" else c.topics.difference_update)(args)
                    reason = "" if ok else ("Request not authorized" if not c.authed else f"error:handler not found,topic:{args}")
                    await self._send(c, orjson.dumps({"req_id": req_id, "success": ok, "ret_msg": reason, "op": op, "conn_id": c.conn_id}).decode())
                else:
                    await self._send(c, orjson.dumps({"req_id": req_id, "success": False, "ret_msg": f"error:unknown op {op}", "op": op,
                                                      "conn_id": c.conn_id}).decode())
        finally:
            c.closed = True
            if c in self._conns:
                self._conns.remove(c)
        return ws

    def _check_ws_auth(self, args) -> tuple[bool, str]:
        if not isinstance(args, list) or len(args) != 3:
            return False, "Params Error"
        key, expires, sig = args
        secret = self.api_keys.get(key) if isinstance(key, str) else None
        if secret is None:
            return False, "Invalid apikey"
        try:
            expires = int(expires)
        except (TypeError, ValueError):
            return False, "Params Error"
        if expires <= self.now_ms():
            return False, "Request expired"
        want = hmac.new(secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256).hexdigest()
        if not isinstance(sig, str) or not hmac.compare_digest(want, sig):
            return False, "Invalid sign"
        return True, ""

    async def _push_private(self, pushes: list[tuple[str, dict]]) -> None:
        if not pushes:
            return
        if self.response_delay_ms > 0:  # one-way delay out: sent in order, each response_delay_ms late
            if self._private_out is None:
                self._private_out = asyncio.Queue()
                self._private_sender = asyncio.get_running_loop().create_task(self._send_delayed())
            self._private_out.put_nowait((time.monotonic() + self.response_delay_ms / 1e3, pushes))
            return
        await self._push_private_now(pushes)

    async def _send_delayed(self) -> None:
        while True:
            due, pushes = await self._private_out.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                await self._push_private_now(pushes)
            except Exception:
                log.exception("delayed private push failed")

    async def _push_private_now(self, pushes: list[tuple[str, dict]]) -> None:
        # consecutive pushes of one topic go out in one frame, as the venue batches them
        groups: list[tuple[str, list[dict]]] = []
        for topic, data in pushes:
            if groups and groups[-1][0] == topic:
                groups[-1][1].append(data)
            else:
                groups.append((topic, [data]))
        for topic, datas in groups:
            frame = orjson.dumps({"id": f"{next(self._push_id)}-{uuid.uuid4().hex[:8]}", "topic": topic,
                                  "creationTime": self.now_ms(), "data": datas}).decode()
            for c in list(self._conns):
                if c.kind == "private" and c.authed and topic in c.topics:
                    await self._send(c, frame, data_frame=True)
            self.stats["private_frames"] += 1

    # ------------------------------------------------------------------ REST
    def _envelope(self, ret_code: int, ret_msg: str, result=None, ext=None) -> bytes:
        return orjson.dumps({"retCode": ret_code, "retMsg": ret_msg, "result": result if result is not None else {},
                             "retExtInfo": ext if ext is not None else {}, "time": self.now_ms()})

    def _take_fault(self, path: str) -> HttpFault | None:
        for i, f in enumerate(self.faults.http):
            if f.path is None or path.startswith(f.path):
                return self.faults.http.pop(i)
        return None

    def _rate_limited(self, path: str, now_ns: int) -> bool:
        """Bybit v5 "Rate Limit Rules" (API Rate Limit): a rolling one-second window per UID and endpoint, counted
        when the request arrives; ``retCode`` 10006 past ``rate_limit``."""
        if self.rate_limit is None or path not in ("/v5/order/create", "/v5/order/cancel", "/v5/order/cancel-batch"):
            return False
        if self._rl is None:
            self._rl = RollingCount(self.rate_limit, 1.0)
        return self._rl.refuse(path, now_ns)

    def _check_signature(self, request, payload: bytes) -> tuple[int, str]:
        h = request.headers
        key = h.get("X-BAPI-API-KEY")
        ts = h.get("X-BAPI-TIMESTAMP")
        sig = h.get("X-BAPI-SIGN")
        rw = h.get("X-BAPI-RECV-WINDOW", "5000")
        if not key:
            return 10003, "API key is invalid."
        secret = self.api_keys.get(key)
        if secret is None:
            return 10003, "API key is invalid."
        if not ts or not sig:
            return 10004, "error sign! missing X-BAPI-TIMESTAMP or X-BAPI-SIGN"
        try:
            ts_i, rw_i = int(ts), int(rw)
        except ValueError:
            return 10001, "params error: X-BAPI-TIMESTAMP / X-BAPI-RECV-WINDOW invalid"
        now = self.now_ms()
        if not (now - rw_i <= ts_i < now + 1000):
            return 10002, (f"invalid request, please check your server timestamp or recv_window param. "
                           f"req_timestamp[{ts_i}],server_timestamp[{now}],recv_window[{rw_i}]")
        want = hmac.new(secret.encode(), f"{ts}{key}{rw}".encode() + payload, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, sig):
            return 10004, "error sign! origin_string does not match the signature"
        return 0, ""

    async def _http(self, request):
        from aiohttp import web

        recv_ns = time.time_ns()
        path = request.path
        raw = await request.read()
        query = dict(request.query)
        body = None
        if request.method == "POST":
            try:
                body = orjson.loads(raw) if raw else {}
            except orjson.JSONDecodeError:
                body = None
        rec = FakeRequest(request.method, path, query, body, {k: v for k, v in request.headers.items() if k.upper().startswith("X-BAPI")}, recv_ns)
        self.requests.append(rec)
        for hook in self.on_request:
            try:
                hook(rec)
            except Exception:
                log.exception("on_request hook failed")
        self._req_evt.set()
        if time.monotonic() < self.banned_until:
            rec.http_status, rec.fault = 403, "banned"
            return web.Response(status=403, text="access too frequent")
        fault = self._take_fault(path)
        if fault is not None and fault.kind == "retcode" and not fault.process:
            rec.http_status, rec.ret_code = 200, fault.status
            return web.Response(body=self._envelope(fault.status, fault.message), content_type="application/json")
        if fault is not None:
            rec.fault = fault.kind
            if fault.kind == "rate_limit":
                reset = str(self.now_ms() + fault.reset_after_ms)
                headers = {"X-Bapi-Limit": str(self.rate_limit or 10), "X-Bapi-Limit-Status": "0", "X-Bapi-Limit-Reset-Timestamp": reset}
                rec.ret_code = 10006
                if fault.status in (403, 429):
                    rec.http_status = fault.status
                    return web.Response(status=fault.status, text="access too frequent", headers=headers)
                rec.http_status = 200
                return web.Response(body=self._envelope(10006, "Too many visits!"), content_type="application/json", headers=headers)
            if not fault.process:
                if fault.kind == "status":
                    rec.http_status = fault.status
                    return web.Response(status=fault.status, text="Internal Server Error")
                await asyncio.sleep(fault.delay)
        if self.order_delay_ms > 0 and request.method == "POST" and path.startswith("/v5/order/"):
            await asyncio.sleep(self.order_delay_ms / 1e3)  # one-way delay in: the order arrives late
        status, code, msg, result, headers = await self._handle_rest(request, path, raw, query, body, recv_ns)
        rec.http_status, rec.ret_code = status, code
        if fault is not None and fault.process:
            if fault.kind == "retcode":  # done, and answered as if it were not known
                rec.ret_code = fault.status
                return web.Response(body=self._envelope(fault.status, fault.message), content_type="application/json")
            if fault.kind == "status":
                rec.http_status = fault.status
                return web.Response(status=fault.status, text="Bad Gateway")
            await asyncio.sleep(fault.delay)
        if status != 200:
            return web.Response(status=status, text=msg)
        ext = result.pop("__retExtInfo__", None) if isinstance(result, dict) else None
        answer = self._envelope(code, msg, result, ext)  # ("time": when the venue processed it)
        if self.response_delay_ms > 0:
            await asyncio.sleep(self.response_delay_ms / 1e3)  # one-way delay out: the answer comes late
        return web.Response(body=answer, content_type="application/json", headers=headers)

    async def _handle_rest(self, request, path, raw, query, body, recv_ns):
        headers = {"X-Bapi-Limit": str(self.rate_limit or 10), "X-Bapi-Limit-Status": "9", "X-Bapi-Limit-Reset-Timestamp": str(self.now_ms())}
        if self.limit_status is not None:  # (Rate Limit, API Rate Limit: the remaining requests, and the reset time)
            headers["X-Bapi-Limit-Status"] = str(self.limit_status[0])
            headers["X-Bapi-Limit-Reset-Timestamp"] = str(self.now_ms() + int(self.limit_status[1]))
        method = request.method
        public = path in ("/v5/market/time", "/v5/market/instruments-info", "/v5/market/tickers")
        routes = {
            ("POST", "/v5/order/create"), ("POST", "/v5/order/cancel"), ("POST", "/v5/order/cancel-all"),
            ("POST", "/v5/order/cancel-batch"), ("POST", "/v5/position/trading-stop"),
            ("GET", "/v5/order/realtime"), ("GET", "/v5/order/history"), ("GET", "/v5/execution/list"), ("GET", "/v5/position/list"), ("GET", "/v5/account/wallet-balance"),
            ("GET", "/v5/market/time"), ("GET", "/v5/market/instruments-info"), ("GET", "/v5/market/tickers"),
            *(("GET", p) for p in ACCOUNT_PATHS),  # (liqcore preflight's: liqcore.venues.fake_accounts)
        }
        if (method, path) not in routes:
            return 404, 0, "Not Found", None, headers
        if method == "POST" and body is None:
            return 200, 10001, "params error: body is not JSON", None, headers
        if not public:
            payload = raw if method == "POST" else request.rel_url.raw_query_string.encode()
            code, msg = self._check_signature(request, payload)
            if code:
                return 200, code, msg, None, headers
        if self._rate_limited(path, recv_ns):
            headers["X-Bapi-Limit-Status"] = "0"
            headers["X-Bapi-Limit-Reset-Timestamp"] = str(self.now_ms() + 1000)
            return 200, 10006, "Too many visits!", None, headers
        pushes: list = []
        try:
            if path == "/v5/market/time":
                ns = time.time_ns() + self.time_offset_ms * 1_000_000
                result = {"timeSecond": str(ns // 1_000_000_000), "timeNano": str(ns)}
            elif path == "/v5/market/instruments-info":
                self.venue.check_category(query)
                from liqcore.venues.fake_universe import bybit_instruments_page

                try:  # (paged by cursor, as the venue does: a whole market is more than one page)
                    result = bybit_instruments_page(self.venue.instruments, query)
                except ValueError as e:
                    raise VenueError(10001, str(e)) from None
            elif path == "/v5/market/tickers":
                from liqcore.venues.fake_universe import bybit_tickers

                if query.get("category") != "linear":
                    raise VenueError(10001, "params error: category must be linear")
                result = bybit_tickers(self.venue.instruments)
            elif path == "/v5/order/create":
                result, pushes = self.venue.create(body)
            elif path == "/v5/position/trading-stop":
                result, pushes = self.venue.trading_stop(body)
            elif path == "/v5/order/cancel":
                self.venue.check_category(body, body.get("symbol"))
                result, pushes = self.venue.cancel(body)
            elif path == "/v5/order/cancel-all":
                self.venue.check_category(body, body.get("symbol"))
                result, pushes = self.venue.cancel_all(body)
            elif path == "/v5/order/cancel-batch":
                self.venue.check_category(body)
                result, ext, pushes = self.venue.cancel_batch(body)
                result["__retExtInfo__"] = {"list": ext}
            elif path == "/v5/order/realtime":
                cat = self.venue.check_category(query, query.get("symbol"))
                result = {"category": cat, "list": _in(cat, self.venue.query(query)), "nextPageCursor": ""}
            elif path == "/v5/order/history":
                cat = self.venue.check_category(query, query.get("symbol"))
                result = {"category": cat, "list": _in(cat, self.venue.history(query)), "nextPageCursor": ""}
            elif path == "/v5/execution/list":
                cat = self.venue.check_category(query, query.get("symbol"))
                result = {"category": cat, "list": _in(cat, self.venue.execution_list(query)), "nextPageCursor": ""}
            elif path == "/v5/position/list":
                cat = self.venue.check_category(query, query.get("symbol"))
                rows = _in(cat, self.venue.position_list(query))
                if self.account is not None:  # (the account's position mode and leverage: preflight reads them)
                    from liqcore.venues.fake_accounts import bybit_position_fields

                    rows = [bybit_position_fields(self.account, r) for r in rows]
                result = {"category": cat, "list": rows, "nextPageCursor": ""}
            elif path in ACCOUNT_PATHS:
                from liqcore.venues.fake_accounts import bybit_answer

                try:
                    result = bybit_answer(self.account, path, query, request.headers.get("X-BAPI-API-KEY", ""),
                                          self.venue.instruments)
                except ValueError as e:
                    raise VenueError(10001, str(e)) from None
            else:  # wallet-balance
                if query.get("accountType") not in ("UNIFIED", "CONTRACT"):
                    raise VenueError(10001, "params error: accountType invalid")
                result = self.venue.wallet()
        except VenueError as e:
            return 200, e.ret_code, e.ret_msg, None, headers
        await self._push_private(pushes)
        return 200, 0, "OK", result, headers


# ---- the registry's ``fake`` part (liqcore.venues.registry)
#: the venue's whole local fake (REST, private and public websockets on 127.0.0.1)
FAKE = FakeExchange

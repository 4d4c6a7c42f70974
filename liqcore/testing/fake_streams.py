"""Fake public market-data websockets of Binance USD-M futures and OKX: a real aiohttp server on 127.0.0.1.

``async with FakeMarketStream("binance") as fs:`` serves ``fs.ws_url`` in the venue's protocol, its
instruments and klines over REST, ``fs.push`` / ``fs.liquidation`` and replays (:func:`binance_streams`,
:func:`okx_streams`).  What it serves: docs/maintainers/fakes.md, "The fake market streams (Binance, OKX)".

May import: aiohttp, orjson and this package (``fake_replay``, ``fake_universe``).
"""
from __future__ import annotations

import asyncio
import re
import time

import orjson
from aiohttp import WSMsgType, web

from liqcore.testing.fake_replay import end_task, paced

__all__ = ["FakeMarketStream", "binance_streams", "okx_streams", "market_streams"]

_PATHS = {"binance": "", "okx": "/ws/v5/public"}
#: Binance paths served -> the category of streams they send (the retired unrouted paths: the book data alone)
_BINANCE_ROUTES = {"/public/ws": "public", "/public/stream": "public", "/market/ws": "market",
                   "/market/stream": "market", "/ws": "public", "/stream": "public"}
MAX_STREAMS = 1024
MAX_MSGS_PER_S = 10
#: a Binance push's event type -> the streams that carry it (``{s}``: the symbol, lower case)
_BINANCE_STREAMS = {b"forceOrder": ("!forceOrder@arr", "{s}@forceOrder"), b"aggTrade": ("{s}@aggTrade",),
                    b"trade": ("{s}@trade",), b"bookTicker": ("{s}@bookTicker",),
                    b"markPriceUpdate": ("{s}@markPrice@1s", "{s}@markPrice", "!markPrice@arr@1s"),
                    b"depthUpdate": ("{s}@depth", "{s}@depth@500ms", "{s}@depth@100ms")}
#: Binance ``GET /fapi/v1/depth``: the limits it takes (default 500)
BINANCE_DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000)
#: OKX ``GET /api/v5/market/books``: at most 400 levels a side (default 1)
OKX_BOOKS_MAX_SZ = 400
_EVENT = re.compile(rb'"e":"([A-Za-z]+)"')
_SYMBOL = re.compile(rb'"s":"([A-Za-z0-9_]+)"')
_REPLAY_HIGH_WATER = 4 << 20  # bytes queued on a connection before the replay waits for it to drain


def binance_streams(frame: bytes) -> tuple[str, ...]:
    """The Binance stream names a raw push belongs to (a combined stream's wrapper: its ``stream``); ()
    for anything else (a subscription answer)."""
    head = frame[:64]
    if head.startswith(b'{"stream":"'):
        return (frame[11:frame.index(b'"', 11)].decode(),)
    e = _EVENT.search(frame)
    if e is None or e.group(1) not in _BINANCE_STREAMS:
        return ()
    s = _SYMBOL.search(frame)
    sym = s.group(1).decode().lower() if s else ""
    return tuple(n.format(s=sym) for n in _BINANCE_STREAMS[e.group(1)])


def okx_streams(frame: bytes) -> tuple[str, ...]:
    """The OKX subscription an ``{"arg": {...}, "data": [...]}`` push belongs to, as compact JSON of its channel and
    ``instId`` (or ``instType``: ``liquidation-orders``), the form the subscribe args take; () for anything else
    (an ``event`` answer, a frame that is not JSON)."""
    try:
        m = orjson.loads(frame)
    except orjson.JSONDecodeError:
        return ()
    arg = m.get("arg") if isinstance(m, dict) and "event" not in m else None
    if not isinstance(arg, dict) or "channel" not in arg:
        return ()
    key = "instId" if "instId" in arg else "instType"
    return (orjson.dumps({"channel": arg["channel"], key: arg.get(key)}).decode(),)


def market_streams(venue: str):
    """The router of a venue's replayed pushes: :func:`binance_streams` or :func:`okx_streams`."""
    return {"binance": binance_streams, "okx": okx_streams}[str(venue).lower()]


def _okx_old_liquidation() -> dict:
    """One ``liquidation-orders`` row of an hour ago (what OKX's first push after a subscription repeats)."""
    ts = str(int(time.time() * 1000) - 3_600_000)
    return {"details": [{"bkLoss": "0", "bkPx": "1000", "ccy": "", "posSide": "long", "side": "sell", "sz": "1",
                         "ts": ts}], "instFamily": "ETH-USDT", "instId": "ETH-USDT-SWAP", "instType": "SWAP",
            "uly": "ETH-USDT"}


class FakeMarketStream:
    def __init__(self, venue: str, host: str = "127.0.0.1", instruments: dict | None = None, *, replay=None,
                 speed: float | None = None, replay_delay: float = 0.25, klines: dict | None = None) -> None:
        venue = str(venue).lower()
        if venue not in _PATHS:
            raise ValueError(f"venue: the fake market stream speaks binance or okx; got {venue!r}")
        self.venue = venue
        #: the instrument list its public REST serves (liqcore.testing.fake_universe rows; default: 400 of them)
        self.instruments = instruments
        #: symbol -> 1-minute candles its klines endpoint serves (the module docstring)
        self.klines = dict(klines or {})
        self.host = host
        self.port = 0
        self.replay_source = replay
        self.speed = speed or None
        self.replay_delay = float(replay_delay)
        self.replay_done: asyncio.Event | None = None
        self.stats = {"replayed": 0, "unrouted": 0}
        self._subscribed: asyncio.Event | None = None
        self._replay_task: asyncio.Task | None = None
        self._runner: web.AppRunner | None = None
        self._conns: dict[web.WebSocketResponse, set[str]] = {}
        self._transports: dict = {}
        self.messages: list[bytes] = []  # every text message received, in order
        self.ops: list[tuple[str, list[str]]] = []  # every subscription change, in order (the module docstring)
        self.rest_requests: list[str] = []  # paths of the REST requests answered, in order
        self.written = 0  # data frames written (one per frame and connection), for lost-frame counts
        #: Binance: stream names acknowledged and never sent, whatever the path (the module docstring)
        self.silenced: set[str] = set()
        #: Binance: every name each open connection had acknowledged (sent or not)
        self._acked: dict[web.WebSocketResponse, set[str]] = {}
        #: Binance: connections the fake closed, by reason (``"rate"``: > 10 messages/s, ``"streams"``: > 1024)
        self.closed_for = {"rate": 0, "streams": 0}
        #: symbol (Binance) or instId (OKX) -> its order book for the REST depth snapshot: a callable giving
        #: ``(update id, bids, asks)`` at the time of the request (bids best first, asks best first, each
        #: ``[price, size]`` strings); Binance calls the id ``lastUpdateId``, OKX ``seqId``
        self.depth_books: dict = {}
        #: Binance: the Retry-After (s) of each of the next ``GET /fapi/v1/depth`` answered HTTP 429 -1003 ("General
        #: Info", HTTP Return Codes: 429 when breaking a request rate limit, with Retry-After)
        self.depth_rate_limits: list[int] = []
        self.depth_delay_s = 0.0  # each depth snapshot answered this late (requests in flight overlap)
        self.depth_times: list[float] = []  # monotonic time of each depth snapshot request
        self.depth_in_flight = self.depth_max_in_flight = 0
        #: OKX: the first ``liquidation-orders`` push after each subscription repeats old liquidations (tardis-node
        #: drops it: ``OkexV5LiquidationsMapper._isFirstMessage``, src/mappers/okex.ts); the fake sends one old
        #: liquidation (an hour before) right after the acknowledgement.  False: no such push
        self.okx_liquidation_replay = True

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}{_PATHS[self.venue]}"

    @property
    def rest_url(self) -> str:
        """The base URL of its public REST API (the instrument list and the 24 h tickers)."""
        return f"http://{self.host}:{self.port}"

    async def start(self) -> "FakeMarketStream":
        from liqcore.testing import fake_universe as fu

        if self.instruments is None:
            self.instruments = fu.market_instruments(400)
        app = web.Application()
        if self.venue == "binance":  # (each category's raw /ws and combined /stream?streams=a/b/c)
            for path in _BINANCE_ROUTES:
                app.router.add_get(path, self._ws)
        else:
            app.router.add_get(_PATHS[self.venue], self._ws)
        rest = ({"/fapi/v1/exchangeInfo": lambda q: fu.binance_exchange_info(self.instruments, int(time.time() * 1000)),
                 "/fapi/v1/ticker/24hr": lambda q: fu.binance_tickers(self.instruments),
                 "/fapi/v1/klines": self._binance_klines,
                 "/fapi/v1/depth": self._binance_depth} if self.venue == "binance" else
                {"/api/v5/public/instruments": lambda q: fu.okx_instruments(self.instruments),
                 "/api/v5/market/tickers": lambda q: fu.okx_tickers(self.instruments),
                 "/api/v5/market/candles": self._okx_candles,
                 "/api/v5/market/books": self._okx_books})
        for path, answer in rest.items():
            async def handler(request, answer=answer):
                self.rest_requests.append(request.path)
                if request.path == "/fapi/v1/depth":
                    self.depth_times.append(time.monotonic())
                    if self.depth_rate_limits:
                        ra = self.depth_rate_limits.pop(0)
                        return web.json_response({"code": -1003, "msg": "Too many requests; current limit of IP is "
                                                  "2400 requests per minute."}, status=429, headers={"Retry-After": str(ra)})
                    self.depth_in_flight += 1
                    self.depth_max_in_flight = max(self.depth_max_in_flight, self.depth_in_flight)
                    try:
                        await asyncio.sleep(self.depth_delay_s)
                    finally:
                        self.depth_in_flight -= 1
                got = answer(request.query)
                body, status = got if isinstance(got, tuple) else (got, 200)
                return web.json_response(body, status=status, dumps=lambda o: orjson.dumps(o).decode())

            app.router.add_get(path, handler)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        self.replay_done = asyncio.Event()
        self._subscribed = asyncio.Event()
        if self.replay_source is not None:
            self._replay_task = asyncio.create_task(self._replay())
        else:
            self.replay_done.set()
        return self

    def mount(self, app: web.Application) -> None:
        """Serve this stream's websockets on another venue's server ``app`` (Binance: each category's
        ``/public`` and ``/market`` paths, raw ``/ws`` and combined ``/stream``), e.g. the fake Binance's order
        API serving its market streams on the same port, so one ``scheme://host:port`` base serves a whole
        live run; no replay, no REST of its own."""
        for path in (_BINANCE_ROUTES if self.venue == "binance" else (_PATHS[self.venue],)):
            if self.venue == "binance" and path in ("/ws", "/stream"):
                continue  # (the retired unrouted paths: the order API's own /ws/<listenKey> stays its own)
            app.router.add_get(path, self._ws)
        self.replay_done = asyncio.Event()
        self.replay_done.set()
        self._subscribed = asyncio.Event()

    def _candles(self, name, lo: int, hi: int, limit: int, newest_first: bool) -> list:
        rows = [r for r in self.klines.get(name, ()) if lo <= r[0] <= hi]
        return rows[-limit:][::-1] if newest_first else rows[:limit]

    def _binance_klines(self, q):
        if q.get("interval") != "1m" or q.get("symbol") not in self.klines:
            return {"code": -1121, "msg": "Invalid symbol."}, 400
        rows = self._candles(q["symbol"], int(q.get("startTime", 0)), int(q.get("endTime", 2**62)),
                             int(q.get("limit", 500)), False)
        return [[t, f"{o}", f"{h}", f"{lo}", f"{c}", f"{v}", t + 59_999, f"{v * c}", 1, "0", "0", "0"]
                for t, o, h, lo, c, v in rows]

    def _binance_depth(self, q):
        """``GET /fapi/v1/depth``: ``symbol`` (required), ``limit`` one of 5, 10, 20, 50, 100, 500, 1000 (default
        500) -> ``{"lastUpdateId", "E", "T", "bids", "asks"}``."""
        book = self.depth_books.get(q.get("symbol", ""))
        if book is None:
            return {"code": -1121, "msg": "Invalid symbol."}, 400
        try:
            limit = int(q.get("limit", 500))
        except ValueError:
            limit = -1
        if limit not in BINANCE_DEPTH_LIMITS:
            return {"code": -1100, "msg": "Illegal characters found in parameter 'limit'; legal range is "
                                          "'5, 10, 20, 50, 100, 500, 1000'."}, 400
        uid, bids, asks = book()
        now = int(time.time() * 1000)
        return {"lastUpdateId": int(uid), "E": now, "T": now - 1, "bids": bids[:limit], "asks": asks[:limit]}

    def _okx_books(self, q):
        """``GET /api/v5/market/books``: ``instId`` (required), ``sz`` up to 400 (default 1) -> ``{"code": "0",
        "data": [{"asks", "bids", "ts", "seqId"}]}``, each level ``[price, size, "0", orders]``."""
        book = self.depth_books.get(q.get("instId", ""))
        if book is None:
            return {"code": "51001", "msg": "Instrument ID does not exist", "data": []}
        try:
            sz = int(q.get("sz", 1))
        except ValueError:
            sz = -1
        if not 1 <= sz <= OKX_BOOKS_MAX_SZ:
            return {"code": "51000", "msg": "Parameter sz error", "data": []}
        seq, bids, asks = book()
        lv = lambda side: [[p, s, "0", "1"] for p, s in side[:sz]]  # noqa: E731
        return {"code": "0", "msg": "", "data": [{"asks": lv(asks), "bids": lv(bids),
                                                  "ts": str(int(time.time() * 1000)), "seqId": int(seq)}]}

    def _okx_candles(self, q):
        if q.get("bar") != "1m" or q.get("instId") not in self.klines:
            return {"code": "51001", "msg": "Instrument ID does not exist", "data": []}
        rows = self._candles(q["instId"], int(q["before"]) + 1 if "before" in q else 0,
                             int(q["after"]) - 1 if "after" in q else 2**62, int(q.get("limit", 100)), True)
        return {"code": "0", "msg": "", "data": [[f"{t}", f"{o}", f"{h}", f"{lo}", f"{c}", "0", f"{v}", f"{v * c}", "1"]
                                                 for t, o, h, lo, c, v in rows]}

    async def _replay(self) -> None:
        """Send the replay source (see the module docstring); ``replay_done`` once it is all sent."""
        try:
            await self._subscribed.wait()
            await asyncio.sleep(self.replay_delay)  # the client's remaining subscriptions
            route = market_streams(self.venue)
            async for _, data in paced(self.replay_source, self.speed):
                names = route(data)
                if not names:
                    self.stats["unrouted"] += 1
                    continue
                while any(tr is not None and not tr.is_closing() and tr.get_write_buffer_size() > _REPLAY_HIGH_WATER
                          for tr in self._transports.values()):
                    await asyncio.sleep(0.005)  # a slow reader: wait, never drop
                self.write_any(data, names)
                self.stats["replayed"] += 1
        finally:
            self.replay_done.set()

    async def stop(self) -> None:
        await end_task(self._replay_task)
        for ws in list(self._conns):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def drop(self) -> int:
        """Close every open websocket (as a venue restarting does; clients reconnect); returns how many."""
        conns = [ws for ws in list(self._conns) if not ws.closed]
        for ws in conns:
            await ws.close()
        return len(conns)

    async def __aenter__(self) -> "FakeMarketStream":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    def subscribed(self, stream: str) -> bool:
        """Some open connection holds ``stream`` and is sent it (Binance: on its category's path, not silenced)."""
        return any(stream in subs and stream not in self.silenced for subs in self._conns.values())

    def acknowledged(self, stream: str) -> bool:
        """Some open connection had ``stream`` acknowledged (sent or not: Binance's wrong path, :meth:`silence`)."""
        return any(stream in acked for acked in self._acked.values()) or any(stream in subs for subs in
                                                                              self._conns.values())

    def silence(self, *names: str) -> None:
        """Binance: the streams ``names`` are acknowledged and never sent from now on (a venue's silent stream)."""
        self.silenced.update(names)

    def unsilence(self, *names: str) -> None:
        self.silenced.difference_update(names)

    async def push(self, frame: bytes | dict, stream: str) -> int:
        return self.write(frame, stream)

    def write(self, frame: bytes | dict, stream: str | tuple | list) -> int:
        """:meth:`push` without awaiting: the text frame is framed here and written to each subscribed
        connection's transport at once (as a venue's server writes it).  ``stream``: a name, or several (a
        connection subscribed to any of them gets the frame once)."""
        t, _ = self.write_counted(frame, stream)
        return t

    def write_any(self, frame: bytes | dict, streams) -> int:
        """:meth:`write` to each connection subscribed to any of ``streams`` (once per connection)."""
        return self.write_counted(frame, tuple(streams))[0]

    def write_counted(self, frame: bytes | dict, stream: str | tuple | list) -> tuple[int, int]:
        """:meth:`write`, also returning to how many connections the frame was written."""
        data = frame if isinstance(frame, (bytes, bytearray)) else orjson.dumps(frame)
        n = len(data)
        head = bytes((0x81, n)) if n < 126 else (bytes((0x81, 126)) + n.to_bytes(2, "big") if n < 65536
                                                 else bytes((0x81, 127)) + n.to_bytes(8, "big"))
        out = head + data
        names = (stream,) if isinstance(stream, str) else tuple(stream)
        silenced = self.silenced
        trs = [self._transports[ws] for ws, subs in self._conns.items()
               if not ws.closed and any(s in subs and s not in silenced for s in names)]
        t = time.perf_counter_ns()  # just before the writes
        k = 0
        for tr in trs:
            if tr is not None and not tr.is_closing():
                tr.write(out)
                k += 1
        self.written += k
        return t, k

    def liquidation(self, frame: bytes | dict, symbol: str) -> tuple[int, int]:
        """One liquidation of ``symbol`` as the venue routes it: Binance to the all-market ``!forceOrder@arr``
        and to ``<symbol>@forceOrder``; OKX to ``liquidation-orders`` of ``instType`` SWAP (the channel has
        no per-instrument form).  Returns (``perf_counter_ns`` just before the writes, connections written to)."""
        if self.venue == "binance":
            return self.write_counted(frame, ("!forceOrder@arr", f"{symbol.lower()}@forceOrder"))
        return self.write_counted(frame, '{"channel":"liquidation-orders","instType":"SWAP"}')

    def trade(self, frame: bytes | dict, symbol: str) -> tuple[int, int]:
        """One trade of ``symbol`` (Binance: ``<symbol>@aggTrade`` and ``@trade``; OKX: ``trades``)."""
        if self.venue == "binance":
            s = symbol.lower()
            return self.write_counted(frame, (f"{s}@aggTrade", f"{s}@trade"))
        return self.write_counted(frame, orjson.dumps({"channel": "trades", "instId": symbol}).decode())

    def subscriptions(self) -> set[str]:
        """Every stream some open connection holds now."""
        return set().union(*self._conns.values()) - self.silenced if self._conns else set()

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        subs: set[str] = set()
        acked: set[str] = set()
        cat = _BINANCE_ROUTES.get(request.path) if self.venue == "binance" else None

        def take(names) -> bool:
            """Binance: ``names`` acknowledged; sent only when they are of the path's category.  False: the
            connection would hold more than MAX_STREAMS."""
            from liqcore.venues.binance.stream import category

            if len(acked | set(names)) > MAX_STREAMS:
                return False
            acked.update(names)
            subs.update(n for n in names if category(n) == cat)
            return True

        if self.venue == "binance" and request.path.endswith("/stream") and request.query.get("streams"):
            names = [n for n in request.query["streams"].split("/") if n]
            self.ops.append(("url", names))
            if not take(names):
                self.closed_for["streams"] += 1
                await ws.close(code=1008, message=b"too many streams")
                return ws
            self._subscribed.set()
        self._conns[ws] = subs
        self._acked[ws] = acked
        self._transports[ws] = request.transport
        arrivals: list[float] = []
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                self.messages.append(msg.data.encode())
                if self.venue == "okx" and msg.data == "ping":
                    await ws.send_str("pong")
                    continue
                if self.venue == "binance":
                    now = time.monotonic()
                    arrivals.append(now)
                    while arrivals and arrivals[0] <= now - 1.0:
                        arrivals.pop(0)
                    if len(arrivals) > MAX_MSGS_PER_S:  # (the venue: "will be disconnected")
                        self.closed_for["rate"] += 1
                        await ws.close(code=1008, message=b"too many messages")
                        break
                try:
                    m = orjson.loads(msg.data)
                except orjson.JSONDecodeError:
                    continue
                if self.venue == "binance":
                    method, names = m.get("method"), [str(x) for x in m.get("params") or []]
                    if method == "SUBSCRIBE":
                        if not take(names):
                            self.closed_for["streams"] += 1
                            await ws.close(code=1008, message=b"too many streams")
                            break
                        self._subscribed.set()
                    elif method == "UNSUBSCRIBE":
                        subs.difference_update(names)
                        acked.difference_update(names)
                    if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
                        self.ops.append((method.lower(), names))
                    await ws.send_str(orjson.dumps({"result": None, "id": m.get("id")}).decode())
                else:
                    op = m.get("op")
                    if op in ("subscribe", "unsubscribe"):
                        self.ops.append((op, [orjson.dumps(a).decode() for a in m.get("args") or []]))
                    for a in m.get("args") or []:
                        key = orjson.dumps(a).decode()
                        if op == "subscribe":
                            subs.add(key)
                            self._subscribed.set()
                        elif op == "unsubscribe":
                            subs.discard(key)
                        await ws.send_str(orjson.dumps({"event": op, "arg": a, "connId": "fake"}).decode())
                        if op == "subscribe" and isinstance(a, dict) and a.get("channel") == "liquidation-orders" \
                                and self.okx_liquidation_replay:
                            await ws.send_str(orjson.dumps({"arg": a, "data": [_okx_old_liquidation()]}).decode())
        finally:
            self._conns.pop(ws, None)
            self._acked.pop(ws, None)
            self._transports.pop(ws, None)
        return ws

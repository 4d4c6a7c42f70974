"""Fake public market-data websockets of Binance USD-M futures and OKX: a real aiohttp server on 127.0.0.1.

``async with FakeMarketStream("binance") as fs:`` serves ``fs.ws_url`` in the venue's protocol, its
instruments and klines over REST, ``fs.push`` / ``fs.liquidation`` and replays (:func:`market_streams`).  What it serves: docs/maintainers/fakes.md, "The fake market streams (Binance, OKX)".
The server is shared; what is a venue's own (paths, routing, REST answers, subscribe protocol) is its
``fake_streams`` part (``liqcore.venues.<venue>.fake_streams``), so a registered venue with one is served too.

May import: aiohttp, orjson, ``interrupt``, this package (``fake_replay``, ``fake_universe``) and ``venues`` (the
registry, the venues' ``fake_streams`` parts).
"""
from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Iterable

import orjson
from aiohttp import WSMsgType, web

from liqcore.interrupt import end_task


async def paced(source: Iterable[tuple[int, object]], speed: float | None):
    """The fake venues' replay: ``(recv_ns, frame_bytes)`` of ``source`` at ``speed`` times the recorded pace
    (None or 0: as fast as possible, letting the event loop run every 128 frames)."""
    t0_wall, t0_rec = time.monotonic(), None
    for n, (recv_ns, frame) in enumerate(source):
        if t0_rec is None:
            t0_rec = recv_ns
        if speed:
            await asyncio.sleep(max(t0_wall + (recv_ns - t0_rec) / 1e9 / speed - time.monotonic(), 0))
        elif n % 128 == 0:
            await asyncio.sleep(0)
        yield recv_ns, (bytes(frame) if isinstance(frame, (bytes, bytearray, memoryview)) else orjson.dumps(frame))


__all__ = ["FakeMarketStream", "market_streams"]

_REPLAY_HIGH_WATER = 4 << 20  # bytes queued on a connection before the replay waits for it to drain


def _protocol(venue: str):
    """The venue's ``fake_streams`` part (a ValueError naming the venues that have one)."""
    from liqcore.venues.registry import registered, venue_spec

    spec = venue_spec(venue)
    if not spec.has_part("fake_streams"):
        have = [s.name for s in registered() if s.has_part("fake_streams")]
        raise ValueError(f"venue: the fake market stream speaks {' or '.join(have)}; got {spec.name!r}")
    return spec.part("fake_streams")


def market_streams(venue: str):
    """The router of a venue's replayed pushes (its ``fake_streams`` part's ``streams``)."""
    return _protocol(str(venue).lower()).streams


class FakeMarketStream:
    def __init__(self, venue: str, host: str = "127.0.0.1", instruments: dict | None = None, *, replay=None,
                 speed: float | None = None, replay_delay: float = 0.25, klines: dict | None = None) -> None:
        venue = str(venue).lower()
        self._proto = _protocol(venue)  # the venue's own protocol: liqcore.venues.<venue>.fake_streams
        self.venue = venue
        #: the instrument list its public REST serves (liqcore.venues.fake_universe rows; default: 400 of them)
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
        self.handshake_delay_s = 0.0  # each websocket upgrade answered this late (a connect held in flight)
        self.handshakes: list[str] = []  # the URL path and query of each upgrade asked for, as it arrives
        self.depth_times: list[float] = []  # monotonic time of each depth snapshot request
        self.depth_in_flight = self.depth_max_in_flight = 0
        #: OKX: the first ``liquidation-orders`` push after each subscription repeats old liquidations (tardis-node
        #: drops it: ``OkexV5LiquidationsMapper._isFirstMessage``, src/mappers/okex.ts); the fake sends one old
        #: liquidation (an hour before) right after the acknowledgement.  False: no such push
        self.okx_liquidation_replay = True

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}{self._proto.WS_PATH}"

    @property
    def rest_url(self) -> str:
        """The base URL of its public REST API (the instrument list and the 24 h tickers)."""
        return f"http://{self.host}:{self.port}"

    async def start(self) -> "FakeMarketStream":
        from liqcore.venues import fake_universe as fu

        if self.instruments is None:
            self.instruments = fu.market_instruments(400)
        app = web.Application()
        for path in self._proto.WS_ROUTES:  # (Binance: each category's raw /ws and combined /stream?streams=a/b/c)
            app.router.add_get(path, self._ws)
        rest = self._proto.rest_routes(self, fu)
        limited = self._proto.RATE_LIMITED_PATH
        for path, answer in rest.items():
            async def handler(request, answer=answer):
                self.rest_requests.append(request.path)
                if request.path == limited:
                    self.depth_times.append(time.monotonic())
                    if self.depth_rate_limits:
                        ra = self.depth_rate_limits.pop(0)
                        body, status = self._proto.rate_limited(ra)
                        return web.json_response(body, status=status, headers={"Retry-After": str(ra)})
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
        for path in self._proto.MOUNT_ROUTES:  # (Binance: not the retired unrouted paths: the order API's own
            app.router.add_get(path, self._ws)  # /ws/<listenKey> stays its own)
        self.replay_done = asyncio.Event()
        self.replay_done.set()
        self._subscribed = asyncio.Event()

    def candles(self, name, lo: int, hi: int, limit: int, newest_first: bool) -> list:
        """The 1-minute candles of ``name`` opened in ``[lo, hi]`` ms, at most ``limit`` (the venues' klines
        answers)."""
        rows = [r for r in self.klines.get(name, ()) if lo <= r[0] <= hi]
        return rows[-limit:][::-1] if newest_first else rows[:limit]

    def routes(self, frame: bytes) -> tuple[str, ...]:
        """The streams this venue sends ``frame`` on (its ``fake_streams`` part's router); () for a frame it does
        not route."""
        return self._proto.streams(frame)

    def mark_subscribed(self) -> None:
        """A client subscribed something (the replay starts after the first subscription)."""
        self._subscribed.set()

    async def _replay(self) -> None:
        """Send the replay source (see the module docstring); ``replay_done`` once it is all sent."""
        try:
            await self._subscribed.wait()
            await asyncio.sleep(self.replay_delay)  # the client's remaining subscriptions
            route = self._proto.streams
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
        return self.write_counted(frame, self._proto.liquidation_streams(symbol))

    def trade(self, frame: bytes | dict, symbol: str) -> tuple[int, int]:
        """One trade of ``symbol`` (Binance: ``<symbol>@aggTrade`` and ``@trade``; OKX: ``trades``)."""
        return self.write_counted(frame, self._proto.trade_streams(symbol))

    def subscriptions(self) -> set[str]:
        """Every stream some open connection holds now."""
        return set().union(*self._conns.values()) - self.silenced if self._conns else set()

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        self.handshakes.append(request.path_qs)
        if self.handshake_delay_s:
            await asyncio.sleep(self.handshake_delay_s)
        await ws.prepare(request)
        conn = SimpleNamespace(subs=set(), acked=set(), arrivals=[], cat=None)  # (the venue's protocol keeps it)
        if not await self._proto.on_open(self, ws, request, conn):
            return ws
        self._conns[ws] = conn.subs
        self._acked[ws] = conn.acked
        self._transports[ws] = request.transport
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                self.messages.append(msg.data.encode())
                if not await self._proto.on_text(self, ws, conn, msg.data):
                    break
        finally:
            self._conns.pop(ws, None)
            self._acked.pop(ws, None)
            self._transports.pop(ws, None)
        return ws

"""What the fake venues share (the fake Bybit exchange, the fake Binance and OKX venues): the loopback base of a
fake venue (its test key pair, REST URL and clock, its queued HTTP faults: :class:`LoopbackVenue`), one queued
fault (:class:`HttpFault`), the Bybit fake's fault settings (:class:`Faults`), the record of one request
(:class:`FakeRequest`) and a venue's request count in a rolling window (:class:`RollingCount`).  It sits in the venue layer, below the venue folders' fakes (``liqcore.venues.<venue>.fake``),
which import it.

May import: the standard library and ``aiohttp`` (inside the serving methods).
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

__all__ = ["LoopbackVenue", "HttpFault", "Faults", "FakeRequest", "RollingCount", "send_or_drop", "abort_ws", "SLOW_CLIENT_S"]

#: how long a fake venue waits for a client's socket to take a push before it drops that client (it stopped reading):
#: as a venue disconnects a slow consumer, so that one client never holds up the pushes to the others for longer
SLOW_CLIENT_S = 5.0


def abort_ws(ws) -> None:
    """Close a fake venue's client connection at once, no close handshake (a client that stopped reading)."""
    req = getattr(ws, "_req", None)  # (aiohttp's request of the response: its transport is the connection)
    tr = getattr(req, "transport", None)
    if tr is not None and not tr.is_closing():
        tr.abort()


async def send_or_drop(ws, text, limit_s: float | None = None) -> bool:
    """Send ``text`` (a str, or the UTF-8 bytes of one: sent as they are) as a text frame to the websocket ``ws`` of a
    fake venue's client -> whether it went out.  A client whose socket has not taken it within ``limit_s`` (default
    :data:`SLOW_CLIENT_S`: it stopped reading, its buffers are full) is dropped, its connection aborted; a closed one
    is skipped.  The frame is written in the caller's task, at once (the pushes keep their order)."""
    import asyncio

    if ws.closed:
        return False
    if isinstance(text, str):
        send = ws.send_str(text)
    else:
        from aiohttp import WSMsgType

        send = ws.send_frame(bytes(text), WSMsgType.TEXT)
    limit = SLOW_CLIENT_S if limit_s is None else limit_s
    try:
        within = getattr(asyncio, "timeout", None)  # (3.11: in this task; wait_for would make one)
        if within is not None:
            async with within(limit):
                await send
        else:
            await asyncio.wait_for(send, limit)
        return True
    except asyncio.TimeoutError:
        abort_ws(ws)
        return False
    except (ConnectionError, RuntimeError):
        return False


class LoopbackVenue:
    """What the fake venues share: the test key pair, the loopback REST URL, the venue clock and ``async with``.
    Subclasses define ``start()`` and ``stop()`` and set ``host``, ``port``, ``api_keys`` (key -> secret) and ``time_offset_ms``."""

    host: str
    port: int
    api_keys: dict
    time_offset_ms: int

    @property
    def api_key(self) -> str:
        return next(iter(self.api_keys))

    @property
    def api_secret(self) -> str:
        return self.api_keys[self.api_key]

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def now_ms(self) -> int:
        """The fake venue's clock (local clock + ``time_offset_ms``)."""
        return time.time_ns() // 1_000_000 + self.time_offset_ms

    async def _serve(self, app) -> None:
        """Serve the aiohttp ``app`` on ``host``:``port`` (port 0: a free one, then kept in ``port``)."""
        from aiohttp import web

        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port, reuse_address=True).start()
        self.port = self._runner.addresses[0][1]

    def abort_connections(self) -> int:
        """Close every client connection of the server (:meth:`_serve`) at once: no close handshake, no request in
        progress waited for (the stop of ``liqcore venue``: a client that never answers a close frame, or stopped
        reading, never holds it up).  Returns how many; 0 when not serving."""
        runner = getattr(self, "_runner", None)
        server = runner.server if runner is not None else None
        n = 0
        for conn in (server.connections if server is not None else ()):
            tr = conn.transport
            if tr is not None and not tr.is_closing():
                tr.abort()
                n += 1
        return n

    async def _unserve(self) -> None:
        """Stop serving (:meth:`_serve`); nothing when not serving."""
        if getattr(self, "_runner", None) is not None:
            await self._runner.cleanup()
            self._runner = None

    # ``async with``: the subclass's own ``start()`` (which returns the venue) and ``stop()``
    async def __aenter__(self):
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    # HTTP faults of a venue that keeps them in ``self.http_faults`` (the fake Binance and OKX venues; the fake
    # Bybit exchange keeps its own in ``self.faults`` and overrides these)
    def fail_next(self, k: int = 1, status: int = 503, path: str | None = None, process: bool = False) -> None:
        """The next ``k`` matching requests get HTTP ``status``; with ``process`` the request is handled first."""
        self.http_faults.extend(HttpFault("status", path, status=status, process=process) for _ in range(k))

    def delay_next(self, k: int = 1, seconds: float = 1.0, path: str | None = None, process: bool = True) -> None:
        """Delay the next ``k`` matching responses; ``process=True``: the request takes effect before the delay."""
        self.http_faults.extend(HttpFault("delay", path, delay=seconds, process=process) for _ in range(k))


@dataclass
class HttpFault:
    """One queued HTTP fault.  ``path`` (a prefix) limits it to some endpoints; ``None`` = any request."""

    kind: str  # "status" | "rate_limit" | "delay"
    path: str | None = None
    status: int = 500
    delay: float = 0.0
    process: bool = False  # status/delay: handle the request (e.g. create the order) before failing/delaying
    reset_after_ms: int = 200  # rate_limit: X-Bapi-Limit-Reset-Timestamp = now + this
    message: str = ""  # retcode: the venue's retMsg (``status`` holds the retCode)


@dataclass
class Faults:
    """Fault settings; change them at any time (``fx.faults.duplicate_public = True``)."""

    drop_public_after: int | None = None  # close each public connection abruptly after N pushed frames (fires once)
    drop_private_after: int | None = None
    duplicate_public: bool = False
    duplicate_private: bool = False
    http: list[HttpFault] = field(default_factory=list)


@dataclass
class FakeRequest:
    method: str
    path: str
    query: dict
    body: dict | None
    headers: dict
    recv_ns: int
    http_status: int = 0
    ret_code: int | None = None
    fault: str = ""


class RollingCount:
    """A venue's request limit as the venue counts it: at most ``limit`` requests ARRIVED in any ``window_s``
    seconds per key (an endpoint, an account, an instrument).  :meth:`refuse` counts one arrival at ``recv_ns``
    and says whether the venue refuses it (a refused request is not counted)."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit, self.window_ns = int(limit), int(window_s * 1e9)
        self._seen: dict = {}
        self.refused = 0

    def refuse(self, key, recv_ns: int) -> bool:
        w = self._seen.setdefault(key, deque())
        while w and recv_ns - w[0] >= self.window_ns:
            w.popleft()
        if len(w) >= self.limit:
            self.refused += 1
            return True
        w.append(recv_ns)
        return False

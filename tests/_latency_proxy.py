"""A TCP proxy on loopback that makes the requests it forwards arrive late at the venue behind it: the network
between a gateway and a local fake venue, with an inbound delay a test sets (:meth:`LatencyProxy.hold`).

Each connection is forwarded byte for byte in both directions; a chunk the client sends while a hold is on is
written to the venue ``seconds`` late, in order (a later chunk never overtakes an earlier one).  Answers come back
at once.  ``async with LatencyProxy(port) as proxy:``; the gateway's REST URL is :attr:`url`.
"""
from __future__ import annotations

import asyncio
import contextlib


class LatencyProxy:
    def __init__(self, upstream_port: int, host: str = "127.0.0.1") -> None:
        self.host, self.upstream_port = host, upstream_port
        self._delay, self._hold_until = 0.0, -1.0
        self._server = None
        self._tasks: set[asyncio.Task] = set()
        self.delayed = 0  # chunks forwarded late

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._server.sockets[0].getsockname()[1]}"

    def hold(self, seconds: float, for_s: float) -> None:
        """What the client sends in the next ``for_s`` seconds reaches the venue ``seconds`` late."""
        loop = asyncio.get_running_loop()
        self._delay, self._hold_until = float(seconds), loop.time() + float(for_s)

    async def __aenter__(self):
        self._server = await asyncio.start_server(self._conn, self.host, 0)
        return self

    async def __aexit__(self, *exc):
        self._server.close()
        for t in list(self._tasks):
            t.cancel()
        for t in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        await self._server.wait_closed()

    def _spawn(self, coro) -> None:
        t = asyncio.ensure_future(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    async def _conn(self, reader, writer) -> None:
        try:
            ur, uw = await asyncio.open_connection(self.host, self.upstream_port)
        except OSError:
            writer.close()
            return
        queue: asyncio.Queue = asyncio.Queue()
        self._spawn(self._read_in(reader, queue))
        self._spawn(self._write_in(queue, uw))
        self._spawn(self._pump(ur, writer))

    async def _read_in(self, reader, queue) -> None:
        loop = asyncio.get_running_loop()
        while True:
            data = await reader.read(65536)
            now = loop.time()
            late = now < self._hold_until
            self.delayed += late and bool(data)
            queue.put_nowait((now + (self._delay if late else 0.0), data))
            if not data:
                return

    async def _write_in(self, queue, uw) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    return
                uw.write(data)
                await uw.drain()
        finally:
            uw.close()

    @staticmethod
    async def _pump(reader, writer) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

"""Bybit order creates on the client's own keep-alive HTTP/1.1 connections (the fast create path of
:class:`liqcore.venues.bybit.rest.BybitREST`).

A create request is formatted once as bytes and written on an idle connection from the caller's stack,
before anything is awaited; the answer is parsed here (Content-Length, chunked or read-to-close bodies)
and delivered through a future.  Signing, error mapping and the aiohttp path stay in the REST client,
which sends the same method, path, headers, body and signature either way.
"""
from __future__ import annotations

import asyncio
import logging
import re

import yarl

__all__ = ["H1Connection", "H1Client", "Sent"]

log = logging.getLogger("liqcore.bybit.rest")
_STATUS, _DIGITS, _HEX = re.compile(r"[0-9]{3}"), re.compile(r"[0-9]+"), re.compile(rb"[0-9A-Fa-f]+")


class H1Connection(asyncio.Protocol):
    """One HTTP/1.1 keep-alive connection that carries one request at a time (the create path).

    The request is written in full from the caller's stack (no await before the write); the answer is
    parsed here (Content-Length, chunked, or read-to-close bodies) and delivered through a future."""

    __slots__ = ("transport", "closed", "used", "_buf", "_fut", "_head", "_need", "_chunked", "_body", "_keep")

    def __init__(self) -> None:
        self.transport = None
        self.closed = False
        self.used = 0.0  # loop time of the last request
        self._buf = bytearray()
        self._fut: asyncio.Future | None = None
        self._head = None  # (status, headers) once the header block is in
        self._need = -1  # body bytes expected (-1: until close / chunked)
        self._chunked = False
        self._body = bytearray()
        self._keep = True

    # ---- asyncio.Protocol
    def connection_made(self, transport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                import socket

                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except (OSError, AttributeError):
                pass

    def connection_lost(self, exc) -> None:
        self.closed = True
        fut = self._fut
        if fut is not None and not fut.done():
            if self._head is not None and self._need < 0 and not self._chunked:
                self._finish()  # a body delimited by the close
            else:
                fut.set_exception(ConnectionResetError("connection closed before a complete answer"))
        self._fut = None

    def data_received(self, data: bytes) -> None:
        if self._fut is None:  # nothing asked: an unsolicited byte means the connection is unusable
            self.close()
            return
        self._buf += data
        try:
            self._parse()
        except ValueError as exc:
            fut = self._fut
            self.close()
            if fut is not None and not fut.done():
                fut.set_exception(ConnectionResetError(f"malformed HTTP answer: {exc}"))

    # ---- use
    def send(self, data: bytes, fut: asyncio.Future) -> None:
        self._fut = fut
        self._head, self._need, self._chunked, self._keep = None, -1, False, True
        self._body = bytearray()
        self._buf.clear()
        self.transport.write(data)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _parse(self) -> None:
        buf = self._buf
        if self._head is None:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > 65536:
                    raise ValueError("header block too large")
                return
            lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
            del buf[: end + 4]
            parts = lines[0].split(" ", 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
                raise ValueError(f"bad status line {lines[0][:40]!r}")
            if not _STATUS.fullmatch(parts[1]):  # (RFC 9112: three digits; Python's int() takes "2_00", "+200")
                raise ValueError(f"bad status line {lines[0][:40]!r}")
            status = int(parts[1])
            headers: dict[str, str] = {}
            for ln in lines[1:]:
                k, sep, v = ln.partition(":")
                if not sep:
                    raise ValueError("bad header line")
                headers[k.strip().lower()] = v.strip()
            self._head = (status, headers)
            conn = headers.get("connection", "").lower()
            self._keep = not (conn == "close" or (parts[0] == "HTTP/1.0" and conn != "keep-alive"))
            if "chunked" in headers.get("transfer-encoding", "").lower():
                self._chunked = True
            elif "content-length" in headers:
                if not _DIGITS.fullmatch(headers["content-length"]):  # (RFC 9110: 1*DIGIT)
                    raise ValueError(f"bad content-length {headers['content-length'][:20]!r}")
                self._need = int(headers["content-length"])
            elif status in (204, 304) or 100 <= status < 200:
                self._need = 0
            else:
                self._keep = False  # the body runs to the close
        if self._chunked:
            while True:
                nl = buf.find(b"\r\n")
                if nl < 0:
                    return
                word = bytes(buf[:nl]).split(b";", 1)[0].strip()
                if not _HEX.fullmatch(word):  # (RFC 9112 chunk-size: 1*HEXDIG; int(x, 16) takes "0x1f", "-1", "1_f")
                    raise ValueError(f"bad chunk size {word[:20]!r}")
                size = int(word, 16)
                if size == 0:
                    rest = bytes(buf[nl + 2:])
                    if rest.startswith(b"\r\n") or b"\r\n\r\n" in rest:  # the end, after optional trailers
                        self._finish()
                    return
                if len(buf) < nl + 2 + size + 2:
                    return
                self._body += buf[nl + 2: nl + 2 + size]
                del buf[: nl + 2 + size + 2]
        elif self._need >= 0:
            if len(buf) >= self._need:
                self._body += buf[: self._need]
                del buf[: self._need]
                self._finish()
        else:
            self._body += buf
            buf.clear()

    def _finish(self) -> None:
        fut, self._fut = self._fut, None
        status, headers = self._head
        if not self._keep:
            self.close()
        if fut is not None and not fut.done():
            fut.set_result((status, headers, bytes(self._body)))


class H1Client:
    """Keep-alive HTTP/1.1 connections to one origin for the order-create call: each request is formatted
    once as bytes and written before the caller awaits anything (an idle connection is reused; a new one
    is opened only when none is idle)."""

    def __init__(self, base_url: str) -> None:
        u = yarl.URL(base_url)
        if u.scheme not in ("http", "https") or not u.host:
            raise ValueError(f"base_url: not an http(s) URL: {base_url!r}")
        self.host, self.port, self.tls = u.host, u.port or (443 if u.scheme == "https" else 80), u.scheme == "https"
        default = 443 if self.tls else 80
        self.host_header = self.host if self.port == default else f"{self.host}:{self.port}"
        self.base_path = u.raw_path.rstrip("/")
        self._idle: list[H1Connection] = []
        self._ssl = None
        self.opened = 0
        self.pings = 0

    async def _connect(self) -> H1Connection:
        loop = asyncio.get_running_loop()
        ssl_ctx = None
        if self.tls:
            if self._ssl is None:
                import ssl

                self._ssl = ssl.create_default_context()
            ssl_ctx = self._ssl
        _, proto = await loop.create_connection(H1Connection, self.host, self.port, ssl=ssl_ctx,
                                                server_hostname=self.host if self.tls else None)
        self.opened += 1
        return proto

    def _take_idle(self) -> H1Connection | None:
        while self._idle:
            c = self._idle.pop()
            if not c.closed and not c.transport.is_closing():
                return c
        return None

    async def warm(self, timeout: float) -> bool:
        """Have one connection open and idle (so a create does not pay the connect).  False when it could
        not be opened (the next create connects itself)."""
        if any(not c.closed for c in self._idle):
            return True
        try:
            conn = await asyncio.wait_for(self._connect(), timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            log.debug("create connection: open failed (%s)", type(exc).__name__)
            return False
        conn.used = asyncio.get_running_loop().time()
        self._idle.append(conn)
        return True

    async def keepalive(self, ping: bytes, every: float, timeout: float, hold=None) -> None:
        """Every ``every`` seconds: send ``ping`` (a cheap GET) on each connection idle that long (a connection
        the venue or a middlebox dropped is found here, not on an order), then keep one connection open.
        ``hold()`` True (the host bans this IP): nothing is sent, nothing opened, until it says False."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(every)
            if hold is not None and hold():
                continue
            now = loop.time()
            stale = [c for c in self._idle if now - c.used >= every]
            for c in stale:
                if c not in self._idle:
                    continue
                self._idle.remove(c)
                if c.closed or c.transport.is_closing():
                    continue
                try:
                    await self._exchange(c, ping, timeout)
                    self.pings += 1
                except (OSError, asyncio.TimeoutError) as exc:
                    log.debug("create connection: keep-alive ping failed (%s)", type(exc).__name__)
            await self.warm(timeout)

    def idle(self) -> bool:
        """True when a request can be written at once (an open connection is idle)."""
        for c in self._idle:
            if not c.closed and not c.transport.is_closing():
                return True
        return False

    def begin(self, data: bytes, timeout: float, loop: asyncio.AbstractEventLoop) -> "Sent":
        """Write ``data`` now on an idle connection (from the caller's stack, no task) and return the
        in-flight exchange for :meth:`finish`.  Call only after :meth:`idle` said True on the same stack.
        A write that fails leaves a handle whose answer is that error (an outcome the caller must query)."""
        conn = self._take_idle()
        if conn is None:
            raise RuntimeError("create connection: none idle (check idle() first)")
        fut = loop.create_future()
        try:
            conn.send(data, fut)
        except (OSError, RuntimeError) as exc:
            conn.close()
            if not fut.done():
                fut.set_exception(exc if isinstance(exc, OSError) else ConnectionResetError(str(exc)))
        conn.used = loop.time()
        return Sent(conn, fut, loop.call_later(timeout, _expire, fut, conn))

    async def finish(self, sent: "Sent") -> tuple[int, dict[str, str], bytes]:
        """The answer of a request written by :meth:`begin` (same errors as :meth:`request`)."""
        conn, h = sent.conn, sent.timer
        try:
            res = await sent.fut
        except BaseException:
            conn.close()  # an answer still in flight can no longer be matched to its request
            raise
        finally:
            h.cancel()
        if not conn.closed:
            self._idle.append(conn)
        return res

    async def _exchange(self, conn: H1Connection, data: bytes, timeout: float) -> tuple[int, dict[str, str], bytes]:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        conn.send(data, fut)
        conn.used = loop.time()
        return await self.finish(Sent(conn, fut, loop.call_later(timeout, _expire, fut, conn)))

    async def request(self, data: bytes, timeout: float) -> tuple[int, dict[str, str], bytes]:
        """Write ``data`` and return ``(status, lower-case headers, body)``.  Raises ``asyncio.TimeoutError`` or
        ``ConnectionError`` / ``OSError`` (the request may or may not have reached the server)."""
        conn = self._take_idle()
        if conn is None:
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            conn = await asyncio.wait_for(self._connect(), timeout)
            timeout = max(timeout - (loop.time() - t0), 0.001)
        return await self._exchange(conn, data, timeout)

    def close(self) -> None:
        for c in self._idle:
            c.close()
        self._idle.clear()


class Sent:
    """A request already written on a create connection whose answer is still to be read."""

    __slots__ = ("conn", "fut", "timer", "path", "written_ns", "body")

    def __init__(self, conn: H1Connection, fut: asyncio.Future, timer) -> None:
        self.conn, self.fut, self.timer = conn, fut, timer
        self.path = ""
        self.written_ns = 0
        self.body = None  # the request's parameters (for the caller's resend / query)


def _expire(fut: asyncio.Future, conn: H1Connection) -> None:
    if not fut.done():
        conn.close()  # the late answer can no longer be matched to its request
        fut.set_exception(asyncio.TimeoutError())

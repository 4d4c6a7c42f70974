"""What every venue's signed REST client shares: its aiohttp session (its own, or one it is given) and its
clock offset to the venue's server time.  A venue's client subclasses :class:`RESTSession` and keeps its
signing, its request loop and its errors.

May import: the standard library and ``aiohttp`` (on :meth:`RESTSession.start`).
"""
from __future__ import annotations

import time


class RESTSession:
    """``base_url``, ``timeout`` (s), ``rate_limit_retries``, the aiohttp ``session`` (None: its own, opened by
    :meth:`start`, closed by :meth:`close`) and ``time_offset_ms`` (the venue's clock minus this machine's, set
    by :meth:`sync_time` from the venue's server-time endpoint :meth:`_server_time_ms`)."""

    def _hold_session(self, base_url: str, timeout: float, rate_limit_retries: int, session) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = float(timeout)
        self.rate_limit_retries = int(rate_limit_retries)
        self.time_offset_ms = 0
        self._session = session
        self._own_session = session is None

    async def start(self) -> None:
        if self._session is None:
            import aiohttp

            self._session = aiohttp.ClientSession()
            self._own_session = True

    async def close(self) -> None:
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.time_offset_ms

    async def _server_time_ms(self) -> int:
        raise NotImplementedError

    async def sync_time(self) -> int:
        """Set ``time_offset_ms`` from one server-time request, taken at the middle of its round trip."""
        t0 = time.time_ns()
        server = await self._server_time_ms()
        t1 = time.time_ns()
        self.time_offset_ms = int(server - (t0 + t1) // 2 // 1_000_000)
        return self.time_offset_ms

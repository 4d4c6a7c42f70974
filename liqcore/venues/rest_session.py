"""What every venue's signed REST client shares: its aiohttp session (its own, or one it is given) and its
clock offset to the venue's server time, and one HTTP exchange (:meth:`RESTSession._exchange`: the timeout and the
failed connection as the venue's transport error, the request limiter's slot released when the answer is in).  A
venue's client subclasses :class:`RESTSession` and keeps its signing, its request loop and its errors.

A subclass holds ``gov``, its host's governor (:meth:`RESTSession._held_back` pauses it).

May import: the standard library and ``aiohttp`` (when a session starts or a request goes out).
"""
from __future__ import annotations

import asyncio
import logging
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

    async def _exchange(self, log: logging.Logger, what: str, method: str, url, data, headers, limiter, failed):
        """One HTTP exchange: ``(status, body bytes, response headers)``.  A timeout or a failed connection is
        logged (``what``: ``"gate POST /path"``) and raised as ``failed(reason)``, the venue's transport error (the
        request's outcome is unknown); ``limiter``'s slot, held since before the send, is released when the answer
        (or the failure) is in: it counts a window from then."""
        import aiohttp

        try:
            async with self._session.request(method, url, data=data, headers=headers,
                                             timeout=aiohttp.ClientTimeout(total=self.timeout)) as resp:
                return resp.status, await resp.read(), resp.headers
        except asyncio.TimeoutError:
            log.warning("%s: timeout after %.2fs", what, self.timeout)
            raise failed("timeout") from None
        except aiohttp.ClientError as exc:
            log.warning("%s: connection error %s", what, type(exc).__name__)
            raise failed(f"connection error: {type(exc).__name__}") from None
        finally:
            if limiter is not None:
                limiter.release()

    def _held_back(self, attempt: int, status: int, limiter, reason: str, pause_s: float) -> None:
        """The ``attempt``-th rate-limited answer in a row (counted from 1): an HTTP 429 has paused the host already
        (by its headers); a rate-limit code in another answer pauses it ``pause_s`` × 2^(attempt − 1); the request
        limiter (when it can) sends nothing for 0.2 s × ``attempt``."""
        if status != 429:
            self.gov.pause(pause_s * 2 ** (attempt - 1), reason)
        if limiter is not None and hasattr(limiter, "penalise"):
            limiter.penalise(time.monotonic() + 0.2 * attempt)

    async def _server_time_ms(self) -> int:
        raise NotImplementedError

    async def sync_time(self) -> int:
        """Set ``time_offset_ms`` from one server-time request, taken at the middle of its round trip."""
        t0 = time.time_ns()
        server = await self._server_time_ms()
        t1 = time.time_ns()
        self.time_offset_ms = int(server - (t0 + t1) // 2 // 1_000_000)
        return self.time_offset_ms

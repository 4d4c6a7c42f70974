"""Binance USD-M futures request signing and an asynchronous REST client.

Binance signs ``HMAC-SHA256(secret, query_string + body)`` (lowercase hex) and takes the key in the
``X-MBX-APIKEY`` header; the signature goes last in the query string as ``signature=...``.
``timeInForce=GTX`` on a LIMIT order is post-only (rejected with -5022 if it would take).
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from urllib.parse import urlencode

import orjson

from liqcore.secrets import Secret, mask_key
from liqcore.venues.rest_session import RESTSession

__all__ = ["sign", "signed_query", "BASE_URL", "TESTNET_URL", "BinanceREST", "BinanceError", "BinanceAPIError",
           "BinanceRateLimited", "BinanceTransportError"]

BASE_URL = "https://fapi.binance.com"
TESTNET_URL = "https://testnet.binancefuture.com"


def sign(secret: str | Secret, payload: str | bytes) -> str:
    """Lowercase hex HMAC-SHA256 of ``payload`` (the query string followed by the body) under ``secret``."""
    key = secret.encode() if isinstance(secret, (str, Secret)) else bytes(secret)
    data = payload.encode() if isinstance(payload, str) else bytes(payload)
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def signed_query(params: dict, secret: str | Secret, *, timestamp_ms: int | None = None, recv_window: int = 5000) -> str:
    """``params`` urlencoded in the given order, with ``recvWindow``, ``timestamp`` and the ``signature`` appended.

    Booleans are written ``true``/``false``; ``None`` values are left out.
    """
    items = []
    for k, v in params.items():
        if v is None:
            continue
        if isinstance(v, bool):
            v = "true" if v else "false"
        items.append((k, v))
    if "recvWindow" not in params:
        items.append(("recvWindow", recv_window))
    if "timestamp" not in params:
        items.append(("timestamp", int(time.time() * 1000) if timestamp_ms is None else int(timestamp_ms)))
    qs = urlencode(items)
    return f"{qs}&signature={sign(secret, qs)}"


# ---------------------------------------------------------------------------------------------- client
log = logging.getLogger("liqcore.binance.rest")

#: error codes the gateway acts on
ERR_TIMESTAMP = -1021
ERR_SIGNATURE = -1022
ERR_UNKNOWN_ORDER_CANCEL = -2011
ERR_NO_SUCH_ORDER = -2013
ERR_INVALID_KEY = -2015
ERR_DUPLICATE_CLIENT_ID = -4116
ERR_POST_ONLY_REJECTED = -5022


class BinanceError(Exception):
    """Base class of Binance client errors."""


class BinanceAPIError(BinanceError):
    """The venue answered ``{"code": <0, "msg": ...}`` (a definite refusal)."""

    def __init__(self, path: str, code: int, msg: str, http_status: int) -> None:
        super().__init__(f"{path}: code {code} {msg}")
        self.path, self.code, self.msg, self.http_status = path, int(code), msg, http_status


class BinanceRateLimited(BinanceAPIError):
    """HTTP 429/418 still returned after the client's retries."""


class BinanceTransportError(BinanceError):
    """Timeout, connection failure or HTTP 5xx: the request's outcome is unknown."""

    def __init__(self, path: str, reason: str, http_status: int = 0) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason, self.http_status = path, reason, http_status


class BinanceREST(RESTSession):
    """Signed Binance USD-M futures REST client (aiohttp).  Every parameter goes in the query string (also
    for POST/DELETE), followed by ``recvWindow``, ``timestamp`` and ``signature``; the key goes in
    ``X-MBX-APIKEY``.  HTTP 429/418 are retried after ``Retry-After``; 5xx and timeouts raise
    :class:`BinanceTransportError` (outcome unknown); other refusals raise :class:`BinanceAPIError`."""

    def __init__(self, api_key: str | Secret, api_secret: str | Secret, base_url: str = BASE_URL, *,
                 recv_window: int = 5000, timeout: float = 5.0, rate_limit_retries: int = 3, session=None) -> None:
        if not api_key:
            raise ValueError("api_key: empty")
        if not api_secret:
            raise ValueError("api_secret: empty")
        self._key = api_key if isinstance(api_key, Secret) else Secret(api_key)
        self._secret = api_secret if isinstance(api_secret, Secret) else Secret(api_secret)
        self.recv_window = int(recv_window)
        self._hold_session(base_url, timeout, rate_limit_retries, session)

    def __repr__(self) -> str:
        return f"BinanceREST(base_url={self.base_url!r}, api_key={mask_key(self._key)!r})"

    async def _server_time_ms(self) -> int:
        return int((await self.request("GET", "/fapi/v1/time", signed=False))["serverTime"])

    async def request(self, method: str, path: str, params: dict | None = None, *, signed: bool = True,
                      key_only: bool = False, limiter=None):
        import aiohttp
        import yarl

        if self._session is None:
            await self.start()
        method = method.upper()
        attempt = 0
        resynced = False
        while True:
            if limiter is not None:
                await limiter.acquire()
            if signed:
                qs = signed_query(dict(params or {}), self._secret, timestamp_ms=self.now_ms(), recv_window=self.recv_window)
            else:
                qs = urlencode([(k, ("true" if v else "false") if isinstance(v, bool) else v)
                                for k, v in (params or {}).items() if v is not None])
            url = yarl.URL(f"{self.base_url}{path}" + (f"?{qs}" if qs else ""), encoded=True)
            headers = {"X-MBX-APIKEY": self._key.reveal()} if (signed or key_only) else {}
            try:
                async with self._session.request(method, url, headers=headers,
                                                 timeout=aiohttp.ClientTimeout(total=self.timeout)) as resp:
                    status = resp.status
                    raw = await resp.read()
                    retry_after = resp.headers.get("Retry-After")
            except asyncio.TimeoutError:
                log.warning("binance %s %s: timeout after %.2fs", method, path, self.timeout)
                raise BinanceTransportError(path, "timeout") from None
            except aiohttp.ClientError as exc:
                log.warning("binance %s %s: connection error %s", method, path, type(exc).__name__)
                raise BinanceTransportError(path, f"connection error: {type(exc).__name__}") from None
            if status >= 500:
                log.warning("binance %s %s: HTTP %d", method, path, status)
                raise BinanceTransportError(path, f"HTTP {status}", status)
            try:
                doc = orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                doc = None
            if status in (429, 418):
                attempt += 1
                try:
                    wait = min(float(retry_after), 60.0) if retry_after else 0.2 * 2 ** (attempt - 1)
                except ValueError:
                    wait = 0.2 * 2 ** (attempt - 1)
                if limiter is not None and hasattr(limiter, "penalise"):
                    limiter.penalise(time.monotonic() + wait)
                if attempt > self.rate_limit_retries:
                    msg = doc.get("msg", "") if isinstance(doc, dict) else f"HTTP {status}"
                    raise BinanceRateLimited(path, -1003, msg or "rate limited", status)
                log.warning("binance %s %s: rate limited (HTTP %d), retry %d in %.3fs", method, path, status, attempt, wait)
                await asyncio.sleep(wait)
                continue
            if status >= 400:
                if isinstance(doc, dict) and "code" in doc:
                    if int(doc["code"]) == ERR_TIMESTAMP and not resynced:
                        resynced = True
                        try:
                            await self.sync_time()
                        except BinanceError:
                            pass
                        continue
                    raise BinanceAPIError(path, int(doc["code"]), str(doc.get("msg", "")), status)
                raise BinanceTransportError(path, f"HTTP {status}: not a Binance answer", status)
            return doc

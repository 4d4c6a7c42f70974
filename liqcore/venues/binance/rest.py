"""Binance USD-M futures request signing and an asynchronous REST client.

Binance signs ``HMAC-SHA256(secret, query_string + body)`` (lowercase hex) and takes the key in the
``X-MBX-APIKEY`` header; the signature goes last in the query string as ``signature=...``.
``timeInForce=GTX`` on a LIMIT order is post-only (rejected with -5022 if it would take).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import time
from urllib.parse import urlencode

import orjson

from liqcore.secrets import Secret, mask_key
from liqcore.venues.governor import VenueBanned, governor_for
from liqcore.venues.numbers import wire_int
from liqcore.venues.rest_session import RESTSession

__all__ = ["sign", "signed_query", "BASE_URL", "TESTNET_URL", "BinanceREST", "BinanceError", "BinanceAPIError",
           "BinanceRateLimited", "BinanceBanned", "BinanceTransportError", "REQUEST_WEIGHT_1M", "weight_of",
           "depth_weight", "klines_weight", "USED_WEIGHT_HEADER", "GOVERNOR_LIMITS", "BAN_MIN_S", "observe_answer"]

#: the IP's request weight per minute (USD-M futures "General Info", "IP Limits", and ``GET /fapi/v1/exchangeInfo``
#: ``rateLimits``: ``REQUEST_WEIGHT`` / ``MINUTE`` / 2400)
REQUEST_WEIGHT_1M = 2400
#: the venue's own count of the weight this IP used in the current minute, on every answer ("General Info", "IP Limits")
USED_WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"
#: each endpoint's documented "Request Weight" (on the IP limit); an endpoint not listed counts 1
_WEIGHTS = {("POST", "/fapi/v1/order"): 0,  # ("0 on IP rate limit"; 1 on the order-count limits)
            ("GET", "/fapi/v1/userTrades"): 5, ("GET", "/fapi/v3/account"): 5, ("GET", "/fapi/v3/balance"): 5,
            ("GET", "/fapi/v3/positionRisk"): 5, ("GET", "/fapi/v2/account"): 5, ("GET", "/fapi/v2/balance"): 5,
            ("GET", "/fapi/v2/positionRisk"): 5, ("GET", "/fapi/v1/openAlgoOrders"): 1}


#: the governor of a Binance USD-M REST host: its weight window (:func:`liqcore.venues.governor.governor_for`)
GOVERNOR_LIMITS = {"limit": REQUEST_WEIGHT_1M, "window_s": 60.0}
#: the ban of an HTTP 418 without ``Retry-After``: the shortest the venue documents ("IP Limits": 2 minutes to 3 days)
BAN_MIN_S = 120.0


def observe_answer(gov, status: int, headers) -> float:
    """Report one Binance answer to its host's governor: ``X-MBX-USED-WEIGHT-1M``, a 429's ``Retry-After`` (every
    caller waits), a 418's ban for its ``Retry-After`` (every caller stopped).  Returns the wait it imposed (s)."""
    headers = headers or {}
    return gov.observe(status, headers, ban_statuses=(418,), used_header=USED_WEIGHT_HEADER,
                       min_ban_s=0.0 if headers.get("Retry-After") else BAN_MIN_S)


def klines_weight(limit: int) -> int:
    """``GET /fapi/v1/klines``' weight by ``limit`` ("Kline/Candlestick Data": [1,100) 1; [100,500) 2; [500,1000] 5;
    > 1000 10)."""
    limit = int(limit)
    return 1 if limit < 100 else 2 if limit < 500 else 5 if limit <= 1000 else 10


def depth_weight(limit: int) -> int:
    """``GET /fapi/v1/depth``'s weight by ``limit`` ("Order Book": 5, 10, 20, 50 -> 2; 100 -> 5; 500 -> 10;
    1000 -> 20)."""
    limit = int(limit)
    return 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20


def weight_of(method: str, path: str, params: dict | None = None) -> int:
    """The documented IP weight of one request (``openOrders`` without a symbol: 40; ``depth``: by its limit)."""
    if path == "/fapi/v1/openOrders" and method == "GET":
        return 1 if (params or {}).get("symbol") else 40
    if path == "/fapi/v1/depth":
        return depth_weight((params or {}).get("limit", 500))
    if path == "/fapi/v1/klines":
        return klines_weight((params or {}).get("limit", 500))
    if path == "/fapi/v1/ticker/24hr" and method == "GET":
        return 1 if (params or {}).get("symbol") else 40
    return _WEIGHTS.get((method, path), 1)

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
    """HTTP 429 still returned after the client's retries (the host's governor paused every caller meanwhile)."""


class BinanceBanned(BinanceRateLimited):
    """The host bans this IP (HTTP 418, or a wait longer than the governor's bound): nothing was sent, or the
    request that met the ban was not processed.  ``ban``: the :class:`VenueBanned` (its line is the message)."""

    def __init__(self, path: str, ban: VenueBanned) -> None:
        super().__init__(path, -1003, str(ban), 418)
        self.ban = ban


class BinanceTransportError(BinanceError):
    """Timeout, connection failure or HTTP 5xx: the request's outcome is unknown."""

    def __init__(self, path: str, reason: str, http_status: int = 0) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason, self.http_status = path, reason, http_status


class BinanceREST(RESTSession):
    """Signed Binance USD-M futures REST client (aiohttp).  Every parameter goes in the query string (also
    for POST/DELETE), followed by ``recvWindow``, ``timestamp`` and ``signature``; the key goes in
    ``X-MBX-APIKEY``.  Every request goes through the governor of its host (:func:`governor_for`: the documented
    weight of 2400 a minute, ``X-MBX-USED-WEIGHT-1M``): an HTTP 429 pauses every caller of the host for its
    ``Retry-After`` and is retried (``rate_limit_retries`` times); an HTTP 418 bans the host for its
    ``Retry-After`` (every caller stopped: :class:`BinanceBanned`, never retried); 5xx, 408 and timeouts raise
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
        #: the governor of this REST host, shared by every caller of it in the process
        self.gov = governor_for("binance", self.base_url, **GOVERNOR_LIMITS)

    def __repr__(self) -> str:
        return f"BinanceREST(base_url={self.base_url!r}, api_key={mask_key(self._key)!r})"

    async def _server_time_ms(self) -> int:
        doc = await self.request("GET", "/fapi/v1/time", signed=False)
        ms = wire_int(doc.get("serverTime")) if isinstance(doc, dict) else None
        if ms is None:  # (a garbled answer: the transport error, as any answer that is not Binance's)
            raise BinanceTransportError("/fapi/v1/time", "not a Binance answer: no serverTime in ms")
        return ms

    async def request(self, method: str, path: str, params: dict | None = None, *, signed: bool = True,
                      key_only: bool = False, limiter=None):
        import yarl

        if self._session is None:
            await self.start()
        method = method.upper()
        attempt = 0
        resynced = False
        while True:
            try:
                await self.gov.acquire(weight_of(method, path, params), f"{method} {path}")
            except VenueBanned as ban:
                raise BinanceBanned(path, ban) from None
            if limiter is not None:  # (held until the answer is read: released below)
                await limiter.acquire()
            if signed:
                qs = signed_query(dict(params or {}), self._secret, timestamp_ms=self.now_ms(), recv_window=self.recv_window)
            else:
                qs = urlencode([(k, ("true" if v else "false") if isinstance(v, bool) else v)
                                for k, v in (params or {}).items() if v is not None])
            url = yarl.URL(f"{self.base_url}{path}" + (f"?{qs}" if qs else ""), encoded=True)
            headers = {"X-MBX-APIKEY": self._key.reveal()} if (signed or key_only) else {}
            status, raw, resp_headers = await self._exchange(
                log, f"binance {method} {path}", method, url, None, headers, limiter,
                lambda why: BinanceTransportError(path, why))
            waited = observe_answer(self.gov, status, resp_headers)
            if status == 418:
                try:
                    self.gov.check()
                except VenueBanned as ban:
                    raise BinanceBanned(path, ban) from None
            try:
                doc = orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                doc = None
            # (the answer's code: an integer, else None -- null, a fraction, a boolean: no code of the venue's table)
            code = wire_int(doc.get("code")) if isinstance(doc, dict) else None
            if status >= 500 or status == 408:
                log.warning("binance %s %s: HTTP %d", method, path, status)
                if code is not None:  # (-1007 on a 408: the code table says unknown)
                    raise BinanceAPIError(path, code, str(doc.get("msg", "")), status)
                raise BinanceTransportError(path, f"HTTP {status}", status)
            if status == 429:
                attempt += 1
                if limiter is not None and hasattr(limiter, "penalise"):
                    limiter.penalise(time.monotonic() + waited)
                if attempt > self.rate_limit_retries:
                    msg = doc.get("msg", "") if isinstance(doc, dict) else f"HTTP {status}"
                    raise BinanceRateLimited(path, -1003, msg or "rate limited", status)
                log.warning("binance %s %s: rate limited (HTTP 429), retry %d after %.3f s (every caller of the host "
                            "waits)", method, path, attempt, waited)
                continue  # (the governor's acquire waits out the pause)
            if status >= 400:
                if code is not None:
                    # (the clock is resynced for a signed request alone: the unsigned time request itself answered
                    # -1021 would otherwise resync again and again, each inside the last)
                    if code == ERR_TIMESTAMP and signed and not resynced:
                        resynced = True
                        try:
                            await self.sync_time()
                        except BinanceError:
                            pass
                        continue
                    raise BinanceAPIError(path, code, str(doc.get("msg", "")), status)
                raise BinanceTransportError(path, f"HTTP {status}: not a Binance answer", status)
            return doc

"""OKX v5 request signing and an asynchronous REST client.

Signing (OKX v5 "REST Authentication"): every private request carries ``OK-ACCESS-KEY``,
``OK-ACCESS-TIMESTAMP`` (ISO 8601 UTC with milliseconds, e.g. ``2020-12-08T09:08:57.715Z``; the venue
refuses one more than 30 s from its clock with code 50102), ``OK-ACCESS-PASSPHRASE`` and
``OK-ACCESS-SIGN`` = Base64(HMAC-SHA256(secret, timestamp + METHOD + requestPath + body)), where a GET's
query string is part of the requestPath and the body is the JSON text sent.  Demo trading adds the header
``x-simulated-trading: 1``.  The private websocket's ``login`` op signs ``timestamp + "GET" +
"/users/self/verify"`` the same way, with the timestamp in SECONDS (:func:`ws_login_args`).

Answers are ``{"code": "0", "msg": "", "data": [...]}``; a refused request has another ``code`` (one
failed item of a batch: ``code`` "1" or "2" and the item's ``sCode`` / ``sMsg``).  :func:`explain` says the
codes the gateway meets in one line each; what each code means for an order (refused, outcome unknown, rate
limited) is :data:`liqcore.venues.okx.codes.CODES`.

Every request goes through the governor of its host (:func:`liqcore.venues.governor.governor_for`): nothing is
sent while the host is banned (:class:`OkxBanned`), a 429's ``Retry-After`` (or, without one, a short pause)
holds every caller of the host, and the answer is read by :meth:`Governor.observe`.
"""
from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import hmac
import logging
import re
import time
from urllib.parse import urlencode

import orjson

from liqcore.secrets import Secret, mask_key
from liqcore.venues.governor import VenueBanned, governor_for
from liqcore.venues.numbers import wire_int
from liqcore.venues.okx.codes import CODES as OUTCOMES
from liqcore.venues.outcomes import RATE_LIMITED, UNKNOWN
from liqcore.venues.rest_session import RESTSession

__all__ = ["sign", "iso_timestamp", "sign_headers", "ws_login_args", "okx_client_id", "explain", "BASE_URL",
           "OkxREST", "OkxError", "OkxAPIError", "OkxRateLimited", "OkxBanned", "OkxTransportError", "CODES",
           "RATE_PAUSE_S"]

BASE_URL = "https://www.okx.com"

#: the codes the gateway acts on or reports, with what each means (one line)
CODES = {
    "1": "operation failed (see the item's sCode)",
    "50001": "service temporarily unavailable",
    "50004": "outcome unknown (the endpoint timed out)",
    "50026": "system error",
    "50061": "sub-account rate limit exceeded",
    "51149": "outcome unknown (the order timed out)",
    "50011": "rate limit reached: too many requests",
    "50013": "system busy",
    "50014": "a required parameter is empty",
    "50101": "the API key does not match the environment (demo trading keys need x-simulated-trading: 1)",
    "50102": "request timestamp expired: the local clock is more than 30 s from the venue's",
    "50103": "OK-ACCESS-KEY header missing",
    "50104": "OK-ACCESS-PASSPHRASE header missing",
    "50105": "wrong API passphrase",
    "50111": "invalid API key",
    "50113": "invalid signature: wrong API secret",
    "50114": "invalid authorization",
    "50120": "the API key has no permission for this request (a read-only key cannot trade)",
    "51000": "parameter error",
    "51001": "instrument does not exist",
    "51008": "insufficient balance or margin for this order",
    "51016": "duplicate clOrdId",
    "51020": "order size below the minimum (minSz)",
    "51121": "order size is not a multiple of the lot size (lotSz)",
    "51400": "cancel failed: the order does not exist or is finished",
    "51401": "cancel failed: the order is already canceled",
    "51402": "cancel failed: the order is already filled",
    "51603": "order does not exist",
}

_CLORD = re.compile(r"[A-Za-z0-9]{1,32}")
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")


def explain(code, msg: str = "") -> str:
    """``"<code> <what it means>[: <the venue's message>]"`` on one line."""
    code = str(code)
    what = CODES.get(code, "")
    msg = " ".join(str(msg or "").split())
    if what and msg and msg.lower() not in what.lower():
        return f"{code} {what}: {msg}"
    return f"{code} {what or msg or 'error'}"


def okx_client_id(client_id: str) -> str:
    """liqcore's client id as an OKX ``clOrdId`` / ``algoClOrdId`` ("a combination of case-sensitive
    alphanumerics, all numbers, or all letters of up to 32 characters"): a conforming id is used as it is;
    any other keeps its first 24 letters and digits and appends 8 hex digits of its SHA-256, so the mapping
    is deterministic (a restarted gateway finds its orders again) and ids differing only in punctuation
    stay distinct."""
    cid = str(client_id)
    if _CLORD.fullmatch(cid):
        return cid
    if not cid:
        raise ValueError("client_id: empty")
    return _NOT_ALNUM.sub("", cid)[:24] + hashlib.sha256(cid.encode()).hexdigest()[:8]


def iso_timestamp(ms: int) -> str:
    """Epoch milliseconds -> ``2020-12-08T09:08:57.715Z`` (UTC, milliseconds)."""
    t = _dt.datetime.fromtimestamp(ms / 1000.0, _dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ms) % 1000:03d}Z"


def sign(secret: str | Secret, timestamp: str, method: str, request_path: str, body: str = "") -> str:
    """Base64(HMAC-SHA256(secret, timestamp + METHOD + requestPath + body))."""
    key = secret.reveal() if isinstance(secret, Secret) else str(secret)
    pre = f"{timestamp}{method.upper()}{request_path}{body or ''}"
    return base64.b64encode(hmac.new(key.encode(), pre.encode(), hashlib.sha256).digest()).decode()


def sign_headers(key: str | Secret, secret: str | Secret, passphrase: str | Secret, method: str, request_path: str,
                 body: str = "", *, timestamp_ms: int | None = None, demo: bool = False) -> dict[str, str]:
    """The headers of one private request (``request_path`` with its query string)."""
    ts = iso_timestamp(int(time.time() * 1000) if timestamp_ms is None else int(timestamp_ms))
    h = {"OK-ACCESS-KEY": key.reveal() if isinstance(key, Secret) else str(key),
         "OK-ACCESS-SIGN": sign(secret, ts, method, request_path, body),
         "OK-ACCESS-TIMESTAMP": ts,
         "OK-ACCESS-PASSPHRASE": passphrase.reveal() if isinstance(passphrase, Secret) else str(passphrase),
         "Content-Type": "application/json"}
    if demo:
        h["x-simulated-trading"] = "1"
    return h


def ws_login_args(key: str | Secret, secret: str | Secret, passphrase: str | Secret, timestamp_s: int) -> dict:
    """The ``args[0]`` of the private websocket's ``login`` op (timestamp in seconds)."""
    ts = str(int(timestamp_s))
    return {"apiKey": key.reveal() if isinstance(key, Secret) else str(key),
            "passphrase": passphrase.reveal() if isinstance(passphrase, Secret) else str(passphrase),
            "timestamp": ts, "sign": sign(secret, ts, "GET", "/users/self/verify")}


# ---------------------------------------------------------------------------------------------- client
log = logging.getLogger("liqcore.okx.rest")


class OkxError(Exception):
    """Base class of OKX client errors."""


class OkxAPIError(OkxError):
    """The venue answered with a code other than ``"0"`` (a definite refusal); ``code`` / ``msg`` are the
    failed item's ``sCode`` / ``sMsg`` where the venue gave one."""

    def __init__(self, path: str, code, msg: str, http_status: int = 200, data=None) -> None:
        super().__init__(f"{path}: {explain(code, msg)}")
        self.path, self.code, self.msg, self.http_status, self.data = path, str(code), str(msg or ""), http_status, data


class OkxRateLimited(OkxAPIError):
    """Code 50011 / HTTP 429 still returned after the client's retries."""


class OkxBanned(OkxAPIError):
    """Nothing was sent: the host's governor holds every caller (a ban, or a venue-asked wait longer than the
    governor's bound); ``ban`` is the :class:`VenueBanned` and the message its one line."""

    def __init__(self, path: str, ban: VenueBanned) -> None:
        OkxError.__init__(self, str(ban))
        self.path, self.code, self.msg, self.http_status, self.data = path, "banned", str(ban), 0, None
        self.ban = ban


class OkxTransportError(OkxError):
    """Timeout, connection failure, HTTP 5xx or a code OKX documents as "outcome unknown" (``code``: that code,
    e.g. 50004): the request's outcome is unknown."""

    def __init__(self, path: str, reason: str, http_status: int = 0, code: str = "") -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason, self.http_status, self.code = path, reason, http_status, code


#: the pause every caller of the host takes after a 429 / 50011 without ``Retry-After`` (OKX's limits are
#: counted over 2 s windows, OKX v5 Overview, Rate Limits; the pause doubles with each retry of one request)
RATE_PAUSE_S = 0.2


class OkxREST(RESTSession):
    """Signed OKX v5 REST client (aiohttp).  ``request()`` returns the answer's ``data``; a refusal raises
    :class:`OkxAPIError` (50011 / HTTP 429 retried first, 50102 once after measuring the venue's clock
    again); 5xx and timeouts raise :class:`OkxTransportError` (outcome unknown)."""

    def __init__(self, api_key: str | Secret, api_secret: str | Secret, passphrase: str | Secret,
                 base_url: str = BASE_URL, *, demo: bool = False, timeout: float = 5.0, rate_limit_retries: int = 3,
                 session=None) -> None:
        for name, v in (("api_key", api_key), ("api_secret", api_secret), ("passphrase", passphrase)):
            if not (v.reveal() if isinstance(v, Secret) else v):
                raise ValueError(f"{name}: empty")
        self._key = api_key if isinstance(api_key, Secret) else Secret(api_key)
        self._secret = api_secret if isinstance(api_secret, Secret) else Secret(api_secret)
        self._passphrase = passphrase if isinstance(passphrase, Secret) else Secret(passphrase)
        self.demo = bool(demo)
        self._hold_session(base_url, timeout, rate_limit_retries, session)
        self.gov = governor_for("okx", self.base_url)

    def __repr__(self) -> str:
        return f"OkxREST(base_url={self.base_url!r}, api_key={mask_key(self._key)!r})"

    async def _server_time_ms(self) -> int:
        data = await self.request("GET", "/api/v5/public/time", signed=False)
        ms = wire_int(data[0].get("ts")) if isinstance(data, list) and data and isinstance(data[0], dict) else None
        if ms is None:  # (a garbled answer: the transport error, as any answer that is not OKX's)
            raise OkxTransportError("/api/v5/public/time", "not an OKX answer: no ts in ms")
        return ms

    async def request(self, method: str, path: str, params: dict | None = None, body=None, *, signed: bool = True,
                      limiter=None):
        import yarl  # (the URL goes out exactly as signed)

        if self._session is None:
            await self.start()
        method = method.upper()
        qs = urlencode([(k, v) for k, v in (params or {}).items() if v not in (None, "")])
        request_path = path + (f"?{qs}" if qs else "")
        text = orjson.dumps(body).decode() if body is not None else ""
        attempt, resynced = 0, False
        while True:
            try:
                await self.gov.acquire(1.0, f"{method} {path}")
            except VenueBanned as ban:
                raise OkxBanned(path, ban) from None
            if limiter is not None:  # (held until the answer is read: released below)
                await limiter.acquire()
            headers = {"Content-Type": "application/json"}
            if signed:
                headers = sign_headers(self._key, self._secret, self._passphrase, method, request_path, text,
                                       timestamp_ms=self.now_ms(), demo=self.demo)
            elif self.demo:
                headers["x-simulated-trading"] = "1"
            status, raw, resp_headers = await self._exchange(
                log, f"okx {method} {path}", method, yarl.URL(self.base_url + request_path, encoded=True), text or None,
                headers, limiter, lambda why: OkxTransportError(path, why))
            self.gov.observe(status, resp_headers, default_pause_s=RATE_PAUSE_S * 2 ** attempt)
            try:
                doc = orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                doc = None
            if status >= 500:
                code = str(doc.get("code") or "") if isinstance(doc, dict) else ""
                log.warning("okx %s %s: HTTP %d", method, path, status)
                raise OkxTransportError(path, f"HTTP {status}" + (f" ({explain(code, doc.get('msg', ''))})" if code else ""),
                                        status, code)
            if not isinstance(doc, dict) or "code" not in doc:
                raise OkxTransportError(path, f"HTTP {status}: not an OKX answer", status)
            code, msg, data = str(doc.get("code")), str(doc.get("msg") or ""), doc.get("data")
            if code == "0":
                return data if data is not None else []
            item = data[0] if code in ("1", "2") and isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict) \
                and data[0].get("sCode") else None
            if item is not None:  # one order's answer: its own code says what happened
                code, msg = str(item["sCode"]), str(item.get("sMsg") or "")
            what = OUTCOMES.what(code)
            if what == UNKNOWN:
                log.warning("okx %s %s: %s", method, path, explain(code, msg))
                raise OkxTransportError(path, explain(code, msg), status, code)
            if what == RATE_LIMITED or status == 429:
                attempt += 1
                self._held_back(attempt, status, limiter, f"code {code}", RATE_PAUSE_S)
                if attempt > self.rate_limit_retries:
                    raise OkxRateLimited(path, code if code != "0" else "50011", msg or "Too Many Requests", status, data)
                log.warning("okx %s %s: rate limited (%s), retry %d", method, path, code, attempt)
                continue
            if code == "50102" and not resynced and path != "/api/v5/public/time":
                resynced = True
                try:
                    await self.sync_time()
                except OkxError:
                    pass
                continue
            raise OkxAPIError(path, code, msg, status, data)

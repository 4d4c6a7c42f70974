"""Gate API v4 REST: the signing, the client ids in ``text``, the private websocket's ``auth`` and the signed client.

Gate API v4, "Authentication" ("APIv4 signed request requirements", "API Signature string generation"):
the headers ``KEY`` (the API key), ``Timestamp`` (Unix time in seconds; at most 60 s from Gate's clock) and
``SIGN`` = ``HexEncode(HMAC_SHA512(secret, signature_string))``, where the signature string is::

    Request Method + "\\n" + Request URL + "\\n" + Query String + "\\n" + HexEncode(SHA512(Request Payload)) + "\\n" + Timestamp

the method in upper case, the URL without protocol, host and port (``/api/v4/futures/usdt/orders``), the query
string as sent, not URL-encoded, in the order of the request (``""`` without one), and the SHA-512 of the body
(of ``""`` without one).  The secret is used for the HMAC and never returned, logged or put in a header.

The signed client (:class:`GateREST`) asks every request with ``X-Gate-Size-Decimal: 1`` (sizes are decimal
strings both ways) and sorts Gate's answers by :data:`liqcore.venues.gate.codes.CODES`: a 5xx or a server-error label
is an unknown outcome (:class:`GateTransportError`), a 429 / ``TOO_FAST`` a rate limit, any other label a refusal
(:class:`GateAPIError`).

May import: the standard library, aiohttp, orjson, ``liqcore.secrets`` and the venue layer's ``governor``,
``outcomes``, ``rest_session`` and ``gate.codes``.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from urllib.parse import urlencode

import orjson

from liqcore.secrets import Secret, mask_key
from liqcore.venues.gate.codes import CODES as OUTCOMES
from liqcore.venues.governor import VenueBanned, governor_for, header_number
from liqcore.venues.numbers import wire_int
from liqcore.venues.outcomes import RATE_LIMITED, UNKNOWN
from liqcore.venues.rest_session import RESTSession

__all__ = ["EMPTY_BODY_SHA512", "signature_string", "sign", "signed_headers", "TIME_SKEW_LIMIT_S", "gate_text",
           "ws_auth", "GateREST", "GateError", "GateAPIError", "GateRateLimited", "GateBanned", "GateTransportError",
           "explain", "LABELS", "BASE_URL", "API", "FUTURES", "rate_limit_reset_s", "TEXT_MAX"]

BASE_URL = "https://api.gateio.ws"

#: SHA-512 of an empty body, as Gate's document gives it
EMPTY_BODY_SHA512 = hashlib.sha512(b"").hexdigest()
#: Gate refuses a ``Timestamp`` more than this far from its clock (s)
TIME_SKEW_LIMIT_S = 60


def _text(b) -> bytes:
    return b if isinstance(b, (bytes, bytearray)) else str(b or "").encode("utf-8")


def signature_string(method: str, path: str, query: str, body, timestamp_s) -> str:
    """Gate's signature string of one request (``body``: the exact bytes or text sent, "" for none)."""
    return "\n".join((str(method).upper(), path, query or "", hashlib.sha512(_text(body)).hexdigest(),
                      str(timestamp_s)))


def sign(secret: str, method: str, path: str, query: str, body, timestamp_s) -> str:
    """``HexEncode(HMAC_SHA512(secret, signature_string))``."""
    msg = signature_string(method, path, query, body, timestamp_s).encode("utf-8")
    return hmac.new(str(secret).encode("utf-8"), msg, hashlib.sha512).hexdigest()


def signed_headers(key: str, secret: str, method: str, path: str, query: str = "", body="",
                   timestamp_s: int | None = None) -> dict:
    """The ``KEY``, ``Timestamp`` and ``SIGN`` headers of a request (``timestamp_s``: now when None)."""
    if timestamp_s is None:
        import time

        timestamp_s = int(time.time())
    return {"KEY": key, "Timestamp": str(timestamp_s), "SIGN": sign(secret, method, path, query, body, timestamp_s)}


# ---------------------------------------------------------------------------------------------- the client ids
_TEXT_BODY = re.compile(r"[0-9A-Za-z_.\-]{1,28}")
_NOT_TEXT = re.compile(r"[^0-9A-Za-z_.\-]")
#: the most bytes of an order's ``text`` after its ``t-`` prefix (Gate API v4, "Create a futures order", ``text``)
TEXT_MAX = 28


def gate_text(client_id: str, suffix: str = "") -> str:
    """liqcore's client id as Gate's order ``text`` (Gate API v4, "Create a futures order": "prefixed with ``t-``,
    no longer than 28 bytes without ``t-`` prefix, can only include 0-9, A-Z, a-z, underscore(_), hyphen(-) or
    dot(.)"): a conforming id is kept as it is; any other keeps its first 20 allowed characters and appends 8 hex
    digits of its SHA-256, so the mapping is deterministic (a restarted gateway finds its orders again) and ids
    differing only in what was cut stay distinct.  ``suffix`` names a take-profit / stop-loss of the id."""
    cid = str(client_id) + suffix
    if not client_id:
        raise ValueError("client_id: empty")
    if _TEXT_BODY.fullmatch(cid):
        return "t-" + cid
    return "t-" + _NOT_TEXT.sub("", cid)[:20] + hashlib.sha256(cid.encode()).hexdigest()[:8]


# ---------------------------------------------------------------------------------------------- the websocket's auth
def ws_auth(key: str, secret: str, channel: str, event: str, time_s: int) -> dict:
    """The ``auth`` object of a private channel's request (Gate Futures WebSocket v4, "Authentication": ``method``
    ``api_key``, ``KEY`` and ``SIGN`` = ``HexEncode(HMAC_SHA512(secret, "channel=<channel>&event=<event>&time=<time>"))``,
    ``time`` the request's own, in seconds)."""
    msg = f"channel={channel}&event={event}&time={int(time_s)}".encode()
    return {"method": "api_key", "KEY": str(key), "SIGN": hmac.new(str(secret).encode(), msg, hashlib.sha512).hexdigest()}


# ---------------------------------------------------------------------------------------------- errors
class GateError(Exception):
    """Base class of the Gate client's errors."""


class GateAPIError(GateError):
    """Gate answered ``{"label", "message"}`` with a 4xx: a definite refusal (``label`` its label)."""

    def __init__(self, path: str, label: str, message: str = "", http_status: int = 400) -> None:
        super().__init__(f"{path}: {explain(label, message)}")
        self.path, self.label, self.message, self.http_status = path, str(label), str(message or ""), http_status

    @property
    def code(self) -> str:
        return self.label


class GateRateLimited(GateAPIError):
    """HTTP 429 / ``TOO_FAST`` / ``TOO_MANY_REQUESTS`` still answered after the client's retries."""


class GateBanned(GateAPIError):
    """Nothing was sent: the host's governor holds every caller (``ban``: the :class:`VenueBanned`)."""

    def __init__(self, path: str, ban) -> None:
        GateError.__init__(self, str(ban))
        self.path, self.label, self.message, self.http_status, self.ban = path, "banned", str(ban), 0, ban


class GateTransportError(GateError):
    """A timeout, a connection failure, a 5xx or a label Gate documents as a server error (``INTERNAL``,
    ``SERVER_ERROR``, ``TOO_BUSY``): whether the request took effect is unknown."""

    def __init__(self, path: str, reason: str, http_status: int = 0, label: str = "") -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason, self.http_status, self.label = path, reason, http_status, label


#: the labels the client and gateway act on or report, each in one line (Gate API v4, "label list")
LABELS = {
    "INVALID_KEY": "invalid API key",
    "INVALID_SIGNATURE": "invalid signature: wrong API secret",
    "MISSING_REQUIRED_HEADER": "a signing header is missing",
    "REQUEST_EXPIRED": "request timestamp expired: the local clock is more than 60 s from Gate's",
    "FORBIDDEN": "the API key has no permission for this request",
    "READ_ONLY": "the API key is read-only",
    "ORDER_NOT_FOUND": "order not found",
    "POC_FILL_IMMEDIATELY": "the post-only order would take liquidity",
    "ORDER_POC_IMMEDIATE": "the post-only order would take liquidity",
    "INSUFFICIENT_AVAILABLE": "insufficient available balance",
    "TOO_FAST": "rate limited: requests too frequent",
    "TOO_MANY_REQUESTS": "rate limited: too many requests",
}


def explain(label, message: str = "") -> str:
    """``"<label> <what it means>[: <Gate's message>]"`` on one line."""
    label = str(label or "error")
    what = LABELS.get(label, "")
    message = " ".join(str(message or "").split())
    if what and message and message.lower() not in what.lower():
        return f"{label} {what}: {message}"
    return f"{label} {what or message or 'error'}".rstrip()


# ---------------------------------------------------------------------------------------------- the signed client
log = logging.getLogger("liqcore.gate.rest")

#: the pause every caller of the host takes after a 429 without a usable reset time (s; doubles per retry)
RATE_PAUSE_S = 0.2
#: the REST base of the USDT-settled futures
API = "/api/v4"
FUTURES = API + "/futures/usdt"
#: sizes as decimal strings in both directions (Gate API v4 futures: ``X-Gate-Size-Decimal: 1``)
SIZE_HEADERS = {"X-Gate-Size-Decimal": "1"}


def rate_limit_reset_s(headers, now_s: float) -> float | None:
    """Seconds until the limit resets when ``X-Gate-RateLimit-Requests-Remain`` says 0 requests are left (Gate API
    v4, "Frequency limit rule": ``X-Gate-RateLimit-Reset-Timestamp`` is when the limit resets once exceeded; read as
    milliseconds when it is larger than 1e11, else seconds); None while requests remain or the headers are absent."""
    remain = header_number(headers.get("X-Gate-RateLimit-Requests-Remain"))  # (digits alone: not inf, nan, -1)
    r = header_number(headers.get("X-Gate-RateLimit-Reset-Timestamp"))
    if remain is None or int(remain) > 0 or r is None:
        return None
    r = r / 1000.0 if r > 1e11 else r
    return max(0.0, r - now_s)


class GateREST(RESTSession):
    """Signed Gate API v4 REST client (aiohttp).  ``request()`` returns the decoded answer; a refusal raises
    :class:`GateAPIError` (429 / ``TOO_FAST`` retried first, ``REQUEST_EXPIRED`` once after measuring Gate's clock
    again); 5xx, timeouts and Gate's server-error labels raise :class:`GateTransportError` (outcome unknown).

    Every request goes through the governor of its host (:func:`liqcore.venues.governor.governor_for`): nothing is
    sent while it is banned (:class:`GateBanned`), a 429 pauses every caller of the host (``Retry-After``, else
    ``X-Gate-RateLimit-Reset-Timestamp``, else :data:`RATE_PAUSE_S` doubling), and an answer saying no request
    remains (``X-Gate-RateLimit-Requests-Remain: 0``) holds every caller until the reset time."""

    def __init__(self, api_key: str | Secret, api_secret: str | Secret, base_url: str = BASE_URL, *,
                 timeout: float = 5.0, rate_limit_retries: int = 3, session=None) -> None:
        for name, v in (("api_key", api_key), ("api_secret", api_secret)):
            if not (v.reveal() if isinstance(v, Secret) else v):
                raise ValueError(f"{name}: empty")
        self._key = api_key if isinstance(api_key, Secret) else Secret(api_key)
        self._secret = api_secret if isinstance(api_secret, Secret) else Secret(api_secret)
        self._hold_session(base_url, timeout, rate_limit_retries, session)
        self.gov = governor_for("gate", self.base_url)

    def __repr__(self) -> str:
        return f"GateREST(base_url={self.base_url!r}, api_key={mask_key(self._key)!r})"

    async def _server_time_ms(self) -> int:
        """Gate's clock: ``GET /api/v4/spot/time`` -> ``{"server_time": <ms>}`` (Gate API v4, "Get server current
        time")."""
        doc = await self.request("GET", API + "/spot/time", signed=False)
        ms = wire_int(doc.get("server_time")) if isinstance(doc, dict) else None
        if ms is None:  # (a garbled answer: the transport error, as any answer that is not Gate's)
            raise GateTransportError(API + "/spot/time", "not a Gate answer: no server_time in ms")
        return ms

    def _observe(self, status: int, headers, attempt: int) -> None:
        now = time.time()
        reset = rate_limit_reset_s(headers, now)
        if status == 429:
            from liqcore.venues.governor import retry_after_seconds

            ra = retry_after_seconds(headers.get("Retry-After"), now)
            wait = ra if ra is not None else reset if reset else RATE_PAUSE_S * 2 ** attempt
            self.gov.pause(wait, "HTTP 429")
        elif reset:
            self.gov.pause(reset, "X-Gate-RateLimit-Requests-Remain 0")

    async def request(self, method: str, path: str, params: dict | None = None, body=None, *, signed: bool = True,
                      limiter=None):
        import yarl  # (the URL goes out exactly as signed)

        if self._session is None:
            await self.start()
        method = method.upper()
        qs = urlencode([(k, v) for k, v in (params or {}).items() if v not in (None, "")])
        text = orjson.dumps(body).decode() if body is not None else ""
        attempt, resynced = 0, False
        while True:
            if limiter is not None:  # (held until the answer is read: released below)
                await limiter.acquire()
            try:
                await self.gov.acquire(1.0, f"{method} {path}")
            except VenueBanned as ban:
                if limiter is not None:  # (nothing was sent)
                    limiter.release()
                raise GateBanned(path, ban) from None
            headers = {"Accept": "application/json", "Content-Type": "application/json", **SIZE_HEADERS}
            if signed:
                headers.update(signed_headers(self._key.reveal(), self._secret.reveal(), method, path, qs, text,
                                              self.now_ms() // 1000))
            url = self.base_url + path + (f"?{qs}" if qs else "")
            status, raw, resp_headers = await self._exchange(
                log, f"gate {method} {path}", method, yarl.URL(url, encoded=True), text or None, headers, limiter,
                lambda why: GateTransportError(path, why))
            self._observe(status, resp_headers, attempt)
            try:
                doc = orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                doc = None
            label = str(doc.get("label") or "") if isinstance(doc, dict) and "label" in doc else ""
            message = str(doc.get("message") or doc.get("detail") or "") if isinstance(doc, dict) else ""
            if 200 <= status < 300:
                return doc
            if status >= 500 or OUTCOMES.what(label) == UNKNOWN:
                log.warning("gate %s %s: HTTP %d %s", method, path, status, label)
                raise GateTransportError(path, f"HTTP {status}" + (f" ({explain(label, message)})" if label else ""),
                                         status, label)
            if status == 429 or OUTCOMES.what(label) == RATE_LIMITED:
                attempt += 1
                self._held_back(attempt, status, limiter, label, RATE_PAUSE_S)
                if attempt > self.rate_limit_retries:
                    raise GateRateLimited(path, label or "TOO_MANY_REQUESTS", message or "Too Many Requests", status)
                log.warning("gate %s %s: rate limited (%s), retry %d", method, path, label or status, attempt)
                continue
            if label == "REQUEST_EXPIRED" and not resynced:
                resynced = True
                try:
                    await self.sync_time()
                except GateError:
                    pass
                continue
            raise GateAPIError(path, label or f"HTTP {status}", message, status)

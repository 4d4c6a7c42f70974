"""Gate API v4 REST signing (the ``rest`` part's signing; the signed client and order gateway are not built yet).

Gate API v4, "Authentication" ("APIv4 signed request requirements", "API Signature string generation"):
the headers ``KEY`` (the API key), ``Timestamp`` (Unix time in seconds; at most 60 s from Gate's clock) and
``SIGN`` = ``HexEncode(HMAC_SHA512(secret, signature_string))``, where the signature string is::

    Request Method + "\\n" + Request URL + "\\n" + Query String + "\\n" + HexEncode(SHA512(Request Payload)) + "\\n" + Timestamp

the method in upper case, the URL without protocol, host and port (``/api/v4/futures/usdt/orders``), the query
string as sent, not URL-encoded, in the order of the request (``""`` without one), and the SHA-512 of the body
(of ``""`` without one).  The secret is used for the HMAC and never returned, logged or put in a header.

May import: the standard library.
"""
from __future__ import annotations

import hashlib
import hmac

__all__ = ["EMPTY_BODY_SHA512", "signature_string", "sign", "signed_headers", "TIME_SKEW_LIMIT_S"]

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

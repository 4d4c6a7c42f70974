"""Binance USD-M futures request signing.

Binance signs ``HMAC-SHA256(secret, query_string + body)`` (lowercase hex) and takes the key in the
``X-MBX-APIKEY`` header; the signature goes last in the query string as ``signature=...``.
``timeInForce=GTX`` on a LIMIT order is post-only (rejected with -5022 if it would take).
"""
from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlencode

from liqcore.secrets import Secret

__all__ = ["sign", "signed_query", "BASE_URL", "TESTNET_URL"]

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

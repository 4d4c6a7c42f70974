"""Bybit v5 request signing (HMAC-SHA256): REST headers and the private stream's auth frame.

``X-BAPI-SIGN`` = lowercase hex HMAC-SHA256(secret, timestamp + api_key + recv_window + payload), where the
payload is the query string for GET and the exact body bytes for POST; the private stream signs
``"GET/realtime" + expires_ms``.  No message ever contains the secret.
"""
from __future__ import annotations

import hashlib
import hmac

import orjson

from liqcore.secrets import Secret

__all__ = ["sign", "rest_signature", "ws_auth_signature", "ws_auth_message"]


def sign(secret: str | Secret, payload: str | bytes) -> str:
    """Lowercase hex HMAC-SHA256 of ``payload`` under ``secret``."""
    data = payload.encode() if isinstance(payload, str) else bytes(payload)
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def rest_signature(secret: str | Secret, timestamp_ms: int, api_key: str | Secret, recv_window: int, payload: str | bytes) -> str:
    """``X-BAPI-SIGN`` for a request: HMAC over ``timestamp + api_key + recv_window + payload``."""
    key = api_key.reveal() if isinstance(api_key, Secret) else api_key
    data = payload.encode() if isinstance(payload, str) else bytes(payload)
    return sign(secret, f"{int(timestamp_ms)}{key}{int(recv_window)}".encode() + data)


def ws_auth_signature(secret: str | Secret, expires_ms: int) -> str:
    """Private-stream auth signature: HMAC over ``"GET/realtime" + expires_ms``."""
    return sign(secret, f"GET/realtime{int(expires_ms)}")


def ws_auth_message(api_key: str | Secret, secret: str | Secret, expires_ms: int, req_id: str = "auth") -> bytes:
    """The ``{"op":"auth",...}`` frame for the private stream (bytes ready to send)."""
    key = api_key.reveal() if isinstance(api_key, Secret) else api_key
    return orjson.dumps({"req_id": req_id, "op": "auth", "args": [key, int(expires_ms), ws_auth_signature(secret, expires_ms)]})

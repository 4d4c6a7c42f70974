"""Signing vectors: Bybit v5 REST/private-stream HMAC (computed independently here) and Binance's documented vector."""
from __future__ import annotations

import hashlib
import hmac

from liqcore.secrets import Secret
from liqcore.venues.binance.rest import sign as binance_sign
from liqcore.venues.binance.rest import signed_query
from liqcore.venues.bybit.signing import rest_signature, ws_auth_message, ws_auth_signature

BYBIT_KEY = "XXXXXXXXXXXXXXXXXX"
BYBIT_SECRET = "YYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYY"


def _hmac(secret: str, msg: bytes) -> str:
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


def test_bybit_post_signature_over_exact_body_bytes():
    body = b'{"category":"linear","symbol":"ETHUSDT","side":"Buy","orderType":"Limit","qty":"0.5","price":"2496.25"}'
    ts, rw = 1672211928338, 5000
    want = _hmac(BYBIT_SECRET, b"1672211928338" + BYBIT_KEY.encode() + b"5000" + body)
    got = rest_signature(BYBIT_SECRET, ts, BYBIT_KEY, rw, body)
    assert got == want
    assert got == got.lower() and len(got) == 64
    # Secret-wrapped inputs give the same signature; one changed byte changes it
    assert rest_signature(Secret(BYBIT_SECRET), ts, Secret(BYBIT_KEY), rw, body) == want
    assert rest_signature(BYBIT_SECRET, ts, BYBIT_KEY, rw, body.replace(b"0.5", b"0.6")) != want


def test_bybit_get_signature_over_query_string():
    qs = "category=linear&symbol=BTCUSDT&orderLinkId=lc-BTC-1"
    want = _hmac(BYBIT_SECRET, f"1700000000000{BYBIT_KEY}5000{qs}".encode())
    assert rest_signature(BYBIT_SECRET, 1700000000000, BYBIT_KEY, 5000, qs) == want
    assert rest_signature(BYBIT_SECRET, 1700000000001, BYBIT_KEY, 5000, qs) != want


def test_bybit_ws_auth():
    expires = 1662350400000
    want = _hmac(BYBIT_SECRET, b"GET/realtime1662350400000")
    assert ws_auth_signature(BYBIT_SECRET, expires) == want
    import orjson

    msg = orjson.loads(ws_auth_message(BYBIT_KEY, Secret(BYBIT_SECRET), expires))
    assert msg["op"] == "auth" and msg["args"] == [BYBIT_KEY, expires, want]


def test_binance_documented_vector():
    secret = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"
    payload = "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943"
    assert binance_sign(secret, payload) == "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"
    assert binance_sign(Secret(secret), payload.encode()) == "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"


def test_binance_signed_query_appends_signature_last():
    secret = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"
    q = signed_query({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": 1, "price": 9000, "timeInForce": "GTC"},
                     secret, timestamp_ms=1591702613943)
    assert q.endswith("&signature=3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9")

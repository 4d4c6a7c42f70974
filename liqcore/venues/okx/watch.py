"""What the silent-stream watch (:mod:`liqcore.live.silence`) needs to know of OKX's public frames: each push
starts with its subscription's ``arg`` object (``{"arg":{"channel":"trades","instId":"ETH-USDT-SWAP"},...}``);
a subscribed channel is heard by ``(channel, instId | instType)``."""
from __future__ import annotations

import orjson


def _id(obj: dict) -> tuple:
    return (obj.get("channel"), obj.get("instId") or obj.get("instType") or "")


def frame_key(payload: bytes):
    """The ``arg`` object's bytes, None for an event answer or a ``pong``."""
    if payload.startswith(b'{"arg":'):
        return payload[7:payload.find(b"}", 7, 160) + 1]
    return None


def on_frame_handler(last: dict, cb, a0):
    """``on_frame(payload, recv_ns)``: ``last[frame_key(payload)] = recv_ns``, inlined (the receive path)."""
    def on_frame(payload, recv_ns, _last=last, _cb=cb, _a=a0):
        if payload.startswith(b'{"arg":'):
            _last[payload[7:payload.find(b"}", 7, 160) + 1]] = recv_ns
        _cb(_a, payload, recv_ns)
    return on_frame


def topic_keys(topic: str) -> list:
    try:
        return [_id(orjson.loads(topic))]
    except (orjson.JSONDecodeError, AttributeError):
        return []


def stream_name(topic: str) -> str:
    """``channel:instId`` (or ``channel:instType``)."""
    try:
        ch, inst = _id(orjson.loads(topic))
        return f"{ch}:{inst}"
    except (orjson.JSONDecodeError, AttributeError):
        return topic


def all_market(topic: str) -> bool:
    return False


def key_aliases(key) -> list:
    """A frame's ``arg`` bytes are heard by the normalised ``(channel, instId|instType)`` of the subscription."""
    if isinstance(key, bytes) and key.startswith(b"{"):
        try:
            return [_id(orjson.loads(key))]
        except (orjson.JSONDecodeError, AttributeError):
            return []
    return []


def hears_all_market(key) -> bool:
    return False


def is_liquidation_topic(topic: str) -> bool:
    """The ``liquidation-orders`` channel (SWAP-wide): pushed only when a liquidation happens."""
    keys = topic_keys(topic)
    return bool(keys) and keys[0][0] == "liquidation-orders"

"""What the silent-stream watch (:mod:`liqcore.live.silence`) needs to know of Gate's public frames: a push
names its ``channel`` near its head and its contract inside ``result`` (``"contract":"BTC_USDT"``, the book
ticker's ``"s":"BTC_USDT"``); a subscribed topic (``{"channel", "payload"}``) is heard by ``(channel,
contract)``, and ``futures.public_liquidates`` with ``!all`` by any liquidation push.  Its frames are stamped by
the watch's own handler made of :func:`frame_key` (no ``on_frame_handler`` of its own)."""
from __future__ import annotations

import orjson

_CH = b'"channel":"'
_LIQ = b"futures.public_liquidates"


def _contract(payload: bytes, start: int) -> bytes:
    for tag in (b'"contract":"', b'"s":"'):
        k = payload.find(tag, start)
        if k > 0:
            k += len(tag)
            return payload[k:payload.find(b'"', k)]
    return b""


def frame_key(payload: bytes):
    """``(channel, contract)`` bytes of a data push, None for an answer or a pong."""
    i = payload.find(_CH, 0, 96)
    if i < 0 or b'"event":"update"' not in payload[:160]:
        return None
    i += len(_CH)
    j = payload.find(b'"', i)
    return payload[i:j], _contract(payload, j)


def topic_keys(topic: str) -> list:
    try:
        d = orjson.loads(topic)
        return [(d["channel"].encode(), str(d["payload"][0]).encode())]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
        return []


def stream_name(topic: str) -> str:
    """``channel:contract`` (``futures.public_liquidates:!all``)."""
    keys = topic_keys(topic)
    return f"{keys[0][0].decode()}:{keys[0][1].decode()}" if keys else topic


def all_market(topic: str) -> bool:
    return topic_keys(topic) == [(_LIQ, b"!all")]


def key_aliases(key) -> list:
    return []


def hears_all_market(key) -> bool:
    """Any liquidation push is heard by the ``!all`` liquidation topic."""
    return isinstance(key, tuple) and key[0] == _LIQ


def is_liquidation_topic(topic: str) -> bool:
    """``futures.public_liquidates`` (a contract's, or ``!all``): pushed only when a liquidation happens."""
    keys = topic_keys(topic)
    return bool(keys) and keys[0][0] == _LIQ

"""What the silent-stream watch (:mod:`liqcore.live.silence`) needs to know of Bybit's public frames: each data
frame starts with its topic (``{"topic":"publicTrade.ETHUSDT",...}``), and a subscribed topic is heard by that key."""
from __future__ import annotations

_HEAD = b'{"topic":"'


def frame_key(payload: bytes):
    """``b"publicTrade.ETHUSDT"`` of a data frame, None for a control frame."""
    return payload[10:payload.find(b'"', 10, 96)] if payload.startswith(_HEAD) else None


def on_frame_handler(last: dict, cb, a0):
    """``on_frame(payload, recv_ns)``: ``last[frame_key(payload)] = recv_ns``, inlined (the receive path)."""
    def on_frame(payload, recv_ns, _last=last, _cb=cb, _a=a0):
        if payload.startswith(b'{"topic":"'):
            _last[payload[10:payload.find(b'"', 10, 96)]] = recv_ns
        _cb(_a, payload, recv_ns)
    return on_frame


def topic_keys(topic: str) -> list:
    return [topic.encode()]


def stream_name(topic: str) -> str:
    return topic


def all_market(topic: str) -> bool:
    """Whether a topic carries every symbol's liquidations (Bybit: one topic per symbol, never)."""
    return False


def key_aliases(key) -> list:
    """Other index keys a frame key is heard by (none on Bybit)."""
    return []


def hears_all_market(key) -> bool:
    return False


def is_liquidation_topic(topic: str) -> bool:
    """``allLiquidation.<SYMBOL>`` (and the older ``liquidation.<SYMBOL>``): pushed only when a liquidation happens."""
    return topic.startswith(("allLiquidation.", "liquidation."))

"""What the silent-stream watch (:mod:`liqcore.live.silence`) needs to know of Binance's public frames: a
combined stream's frame starts with its stream name (``{"stream":"ethusdt@aggTrade",...}``), a raw stream's with
its event type and names its symbol (``{"e":"aggTrade",..."s":"ETHUSDT"...}``); the all-market liquidation stream
(``!forceOrder@arr``) is heard by every raw ``forceOrder`` push."""
from __future__ import annotations

#: raw event type -> the stream suffix that carries it
EVENTS = {"aggTrade": "aggTrade", "trade": "trade", "bookTicker": "bookTicker", "forceOrder": "forceOrder",
          "markPriceUpdate": "markPrice", "depthUpdate": "depth", "kline": "kline", "24hrTicker": "ticker",
          "24hrMiniTicker": "miniTicker"}


def frame_key(payload: bytes):
    """Combined ``b"ethusdt@aggTrade"``, raw ``(b"aggTrade", b"ETHUSDT")``, None for a control frame."""
    if payload.startswith(b'{"stream":"'):
        return payload[11:payload.find(b'"', 11, 96)]
    if not payload.startswith(b'{"e":"'):  # (raw pushes start with their event type)
        return None
    j = payload.find(b'"', 6, 40)
    k = payload.find(b'"s":"', j)
    return (payload[6:j], payload[k + 5:payload.find(b'"', k + 5)]) if k > 0 else None


def on_frame_handler(last: dict, cb, a0):
    """``on_frame(payload, recv_ns)``: ``last[frame_key(payload)] = recv_ns``, inlined (the receive path)."""
    def on_frame(payload, recv_ns, _last=last, _cb=cb, _a=a0):
        if payload.startswith(b'{"stream":"'):
            _last[payload[11:payload.find(b'"', 11, 96)]] = recv_ns
        elif payload.startswith(b'{"e":"'):
            j = payload.find(b'"', 6, 40)
            k = payload.find(b'"s":"', j)
            if k > 0:
                _last[(payload[6:j], payload[k + 5:payload.find(b'"', k + 5)])] = recv_ns
        _cb(_a, payload, recv_ns)
    return on_frame


def topic_keys(topic: str) -> list:
    """A stream is heard by its combined name and by its raw ``(event, SYMBOL)`` form."""
    out = [topic.encode()]
    sym, _, rest = topic.partition("@")
    suffix = rest.split("@", 1)[0]
    for ev, suf in EVENTS.items():
        if suf == suffix or (suf == "depth" and suffix.startswith("depth")) or (suf == "kline" and suffix.startswith("kline")):
            out.append((ev.encode(), sym.upper().encode()))
    return out


def stream_name(topic: str) -> str:
    return topic


def all_market(topic: str) -> bool:
    """``!forceOrder@arr`` and the other ``!`` streams carry every symbol."""
    return topic.startswith("!")


def key_aliases(key) -> list:
    return []


def hears_all_market(key) -> bool:
    """A raw ``forceOrder`` push is heard by the all-market liquidation stream too."""
    return isinstance(key, tuple) and key[0] == b"forceOrder"


def is_liquidation_topic(topic: str) -> bool:
    """``<symbol>@forceOrder`` and ``!forceOrder@arr``: pushed only when a liquidation happens."""
    return "forceorder" in topic.lower()

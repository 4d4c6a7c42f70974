"""Binance USD-M futures market streams: endpoints, stream names, chunked subscriptions, heartbeat.

Market streams live under ``wss://fstream.binance.com/market`` (2026) with ``/ws`` (raw, subscribe
by message) and ``/stream?streams=a/b`` (combined, subscribed by URL). Limits honoured: <= 1024
streams per connection, <= 10 incoming messages per second (subscribe messages are spaced by
``SEND_INTERVAL_S``). The server pings every 3 minutes; the transport answers with pongs and sends
websocket PING frames as its own heartbeat (every ``ping-interval``, 0.2 messages/s at the 5 s default).
"""
from __future__ import annotations

import orjson

from liqcore.venues.spec import ConnectionSpec

__all__ = ["KINDS", "ENDPOINTS", "streams", "subscribe_messages", "connection_specs", "combined_url", "url_without",
           "MAX_STREAMS", "SEND_INTERVAL_S", "PARAMS_PER_REQUEST"]

ENDPOINTS = {
    "mainnet": "wss://fstream.binance.com/market",
    "testnet": "wss://stream.binancefuture.com",
    "demo": "wss://stream.binancefuture.com",
}
#: the event kinds these streams can deliver, and the ``connection_specs`` option each one needs
#: (``<sym>@markPrice@1s`` carries the mark price and the funding rate; the open interest is REST-only)
KINDS = {"liquidation": {}, "trade": {"trades": True}, "mark": {"mark_price": True}, "funding": {"mark_price": True},
         "quote": {"book": True}}

MAX_STREAMS = 1024
MAX_MSGS_PER_S = 10
SEND_INTERVAL_S = 1.0 / MAX_MSGS_PER_S + 0.02
PARAMS_PER_REQUEST = 200


def streams(symbols, trades: bool = True, all_liquidations: bool = False, book: bool = False,
            mark_price: bool = False) -> list[str]:
    """``<sym>@forceOrder`` per symbol (or the one ``!forceOrder@arr``), ``<sym>@aggTrade``, with
    ``book`` ``<sym>@bookTicker`` (top of book: every change of the best bid or ask) and, with
    ``mark_price``, ``<sym>@markPrice@1s`` (mark price and funding rate, every second)."""
    out = ["!forceOrder@arr"] if all_liquidations else []
    for s in symbols:
        s = str(s).strip().lower()
        if not s:
            raise ValueError("symbols: empty symbol name")
        if not all_liquidations:
            out.append(f"{s}@forceOrder")
        if trades:
            out.append(f"{s}@aggTrade")
        if book:
            out.append(f"{s}@bookTicker")
        if mark_price:
            out.append(f"{s}@markPrice@1s")
    return out


def subscribe_messages(names: list[str], per_request: int = PARAMS_PER_REQUEST, op: str = "subscribe") -> list[bytes]:
    """The ``op`` (``subscribe`` / ``unsubscribe``) requests for the stream ``names``, ``per_request`` each."""
    return [orjson.dumps({"method": op.upper(), "params": names[i:i + per_request], "id": i // per_request + 1})
            for i in range(0, len(names), per_request)]


def combined_url(base: str, names: list[str]) -> str:
    return f"{base.rstrip('/')}/stream?streams={'/'.join(names)}"


def url_without(url: str, names) -> str:
    """A combined-stream URL (``.../stream?streams=a/b/c``) without the streams ``names`` (what a reconnect asks for
    once they were unsubscribed); with none left, the bare ``.../stream``, which subscribes by message.  A URL
    without ``streams=`` is returned as it is."""
    base, sep, query = url.partition("?")
    if not sep:
        return url
    gone, out = set(names), []
    for part in query.split("&"):
        key, _, value = part.partition("=")
        if key != "streams":
            out.append(part)
            continue
        keep = [n for n in value.split("/") if n and n not in gone]
        if keep:
            out.append("streams=" + "/".join(keep))
    return base + ("?" + "&".join(out) if out else "")


def connection_specs(symbols, url: str | None = None, network: str = "mainnet", *, trades: bool = True,
                     all_liquidations: bool = False, combined: bool = False,
                     max_streams: int = MAX_STREAMS, book: bool = False, mark_price: bool = False) -> list[ConnectionSpec]:
    """Connections for the symbols' streams. ``url`` overrides the base (``.../market``); raw mode
    connects to ``<base>/ws`` and subscribes by message; ``combined=True`` puts the streams in the URL.
    A full URL already ending in ``/ws`` or containing ``/stream`` is used as it is."""
    if url is None:
        try:
            url = ENDPOINTS[network]
        except KeyError:
            raise ValueError(f"network: expected one of {', '.join(ENDPOINTS)}; got {network!r}") from None
    names = streams(symbols, trades, all_liquidations, book, mark_price)
    specs = []
    for i in range(0, len(names), max_streams):
        group = names[i:i + max_streams]
        syms = sorted({n.split("@", 1)[0].upper() for n in group if not n.startswith("!")})
        if combined:
            conn_url, subs = combined_url(url, group), []
        else:
            conn_url = url if (url.rstrip("/").endswith("/ws") or "/stream" in url) else url.rstrip("/") + "/ws"
            subs = subscribe_messages(group)
        specs.append(ConnectionSpec(venue="binance", url=conn_url, subscribe=subs, topics=group, symbols=syms,
                                    ping_payload=None, ping_interval_s=None, is_pong=None,
                                    send_interval_s=SEND_INTERVAL_S))
    return specs

"""Gate futures WebSocket v4 (USDT settle): endpoints, subscriptions, the heartbeat.

A request is ``{"time": <s>, "channel": ..., "event": "subscribe", "payload": [...]}``, answered
``{"time", "time_ms", "channel", "event": "subscribe", "error": null, "result": {"status": "success"}}``.
``futures.public_liquidates`` takes ``["!all"]`` for every contract; ``futures.trades`` and
``futures.book_ticker`` a list of contracts; ``futures.order_book_update`` one ``[contract, interval, level]``
each (``100ms``, 20 levels: the book starts from a REST snapshot, :mod:`liqcore.venues.gate.depth`).  The server
pings at the protocol level; the client may send ``futures.ping`` and is answered ``futures.pong`` (sent here
every 10 s, as Gate's demo application does).  The handshake asks ``X-Gate-Size-Decimal: 1``: sizes come as
decimal strings (fractional contracts), never rounded.  A topic is the request's ``{"channel", "payload"}`` as
compact JSON, one per contract.

May import: orjson and ``venues.spec``.
"""
from __future__ import annotations

import orjson

from liqcore.venues.spec import ConnectionSpec

__all__ = ["KINDS", "ENDPOINTS", "REST_ENDPOINTS", "contract", "topics", "subscribe_messages", "connection_specs",
           "is_pong", "PING", "HEADERS", "LIQUIDATIONS_ALL", "rest_url", "private_ws_url", "PRIVATE_ENDPOINTS"]

ENDPOINTS = {
    "mainnet": "wss://fx-ws.gateio.ws/v4/ws/usdt",
    "testnet": "wss://ws-testnet.gate.com/v4/ws/futures/usdt",
}
#: the private channels (``futures.orders``, ...) are asked on the same connection as the public ones, with an ``auth``
PRIVATE_ENDPOINTS = dict(ENDPOINTS)
REST_ENDPOINTS = {"mainnet": "https://api.gateio.ws", "testnet": "https://api-testnet.gateapi.io"}
#: the event kinds this stream can deliver, and the ``connection_specs`` option each one needs
KINDS = {"liquidation": {}, "trade": {"trades": True}, "quote": {"book": True}, "depth": {"depth": True}}
HEADERS = {"X-Gate-Size-Decimal": "1"}
PING = b'{"time":0,"channel":"futures.ping"}'
PING_INTERVAL_S = 10.0
SEND_INTERVAL_S = 0.05
LIQUIDATIONS_ALL = '{"channel":"futures.public_liquidates","payload":["!all"]}'
DEPTH_INTERVAL, DEPTH_LEVEL = "100ms", "20"


def is_pong(payload: bytes) -> bool:
    return b'"channel":"futures.pong"' in payload[:96]


def contract(symbol: str) -> str:
    """``ETHUSDT`` or ``ETH_USDT`` -> ``ETH_USDT`` (Gate's contract name)."""
    s = str(symbol).strip().upper()
    if not s:
        raise ValueError("symbols: empty symbol name")
    if "_" in s:
        return s
    if s.endswith("USDT") and len(s) > 4:
        return f"{s[:-4]}_USDT"
    raise ValueError(f"symbols: cannot map {symbol!r} to a Gate contract (expected e.g. BTC_USDT)")


def _topic(channel: str, payload: list) -> str:
    return orjson.dumps({"channel": channel, "payload": payload}).decode()


def topics(symbols, trades: bool = True, book: bool = False, depth: bool = False) -> list[str]:
    """Every contract's liquidations (one ``!all`` topic), then per contract ``futures.trades``, with ``book``
    ``futures.book_ticker``, with ``depth`` ``futures.order_book_update``."""
    out = [LIQUIDATIONS_ALL]
    names = [contract(s) for s in symbols]
    for on, channel in ((trades, "futures.trades"), (book, "futures.book_ticker")):
        if on:
            out += [_topic(channel, [c]) for c in names]
    if depth:
        out += [_topic("futures.order_book_update", [c, DEPTH_INTERVAL, DEPTH_LEVEL]) for c in names]
    return out


def subscribe_messages(topic_list: list[str], op: str = "subscribe", now_s: int = 0) -> list[bytes]:
    """The ``op`` requests of ``topic_list``: one per channel with every contract in its payload
    (``futures.order_book_update``: one per contract)."""
    by_channel: dict[str, list] = {}
    out = []
    for t in topic_list:
        d = orjson.loads(t)
        if d["channel"] == "futures.order_book_update":
            out.append(d)
        else:
            by_channel.setdefault(d["channel"], []).extend(d["payload"])
    msgs = [{"channel": ch, "payload": list(dict.fromkeys(p))} for ch, p in by_channel.items()] + out
    return [orjson.dumps({"time": now_s, "channel": m["channel"], "event": op, "payload": m["payload"]})
            for m in msgs]


def connection_specs(symbols, url: str | None = None, network: str = "mainnet", *, trades: bool = True,
                     book: bool = False, depth: bool = False) -> list[ConnectionSpec]:
    if url is None:
        try:
            url = ENDPOINTS[network]
        except KeyError:
            raise ValueError(f"network: expected one of {', '.join(ENDPOINTS)}; got {network!r}") from None
    t = topics(symbols, trades, book, depth)
    return [ConnectionSpec(venue="gate", url=url, subscribe=subscribe_messages(t), topics=t,
                           symbols=[contract(s) for s in symbols], ping_payload=PING, ping_interval_s=PING_INTERVAL_S,
                           is_pong=is_pong, send_interval_s=SEND_INTERVAL_S, headers=dict(HEADERS))]


def rest_url(network: str) -> str:
    """The REST base of ``network``."""
    return REST_ENDPOINTS[network]


def private_ws_url(network: str) -> str:
    """The private websocket of ``network`` (the order gateway's ``futures.orders`` and the others)."""
    return PRIVATE_ENDPOINTS[network]

"""OKX v5 public stream: endpoints, channel args, chunked subscriptions and the text heartbeat.

``liquidation-orders`` is instType-wide (one SWAP subscription covers all symbols); trades are per
instrument (``ETHUSDT`` -> ``ETH-USDT-SWAP``). A subscribe request is kept under ``MAX_REQUEST_BYTES``
(the venue limit is 64 KiB) and requests are spaced to stay within 3 per second. Keep-alive: send the
text ``ping`` (every 20 s; the server closes a connection silent for 30 s) and expect ``pong``.

The first ``liquidation-orders`` push after each subscription repeats liquidations that happened before it
(tardis-node drops it: ``OkexV5LiquidationsMapper._isFirstMessage`` in src/mappers/okex.ts, tardis-dev/tardis-node
at c1d73fb); :func:`heartbeat_filter`, the connection's ``is_pong``, drops it too, per subscription (the
acknowledgement of a ``liquidation-orders`` subscribe arms it, that first push disarms it), so a reconnect does
not replay old liquidations as new ones.
"""
from __future__ import annotations

import orjson

from liqcore.venues.spec import ConnectionSpec

__all__ = ["KINDS", "ENDPOINTS", "PRIVATE_ENDPOINTS", "rest_url", "private_ws_url", "BUSINESS_ENDPOINTS", "REST_ENDPOINTS", "inst_id", "args", "subscribe_messages", "connection_specs", "is_pong", "PING",
           "heartbeat_filter"]

ENDPOINTS = {
    "mainnet": "wss://ws.okx.com:8443/ws/v5/public",
    "testnet": "wss://wspap.okx.com:8443/ws/v5/public",
    "demo": "wss://wspap.okx.com:8443/ws/v5/public",
}
#: OKX v5 "Overview - Production Trading Services" / "Demo Trading Services": the private (account, orders,
#: positions) and business (algo orders) websockets; demo trading's REST is the production host with the
#: header ``x-simulated-trading: 1``
PRIVATE_ENDPOINTS = {
    "mainnet": "wss://ws.okx.com:8443/ws/v5/private",
    "testnet": "wss://wspap.okx.com:8443/ws/v5/private",
    "demo": "wss://wspap.okx.com:8443/ws/v5/private",
}
BUSINESS_ENDPOINTS = {
    "mainnet": "wss://ws.okx.com:8443/ws/v5/business",
    "testnet": "wss://wspap.okx.com:8443/ws/v5/business",
    "demo": "wss://wspap.okx.com:8443/ws/v5/business",
}
REST_ENDPOINTS = {"mainnet": "https://www.okx.com", "testnet": "https://www.okx.com", "demo": "https://www.okx.com"}
#: the event kinds this stream can deliver, and the ``connection_specs`` option each one needs
KINDS = {"liquidation": {}, "trade": {"trades": True}, "mark": {"mark": True}, "funding": {"funding": True},
         "open_interest": {"open_interest": True},
         "quote": {"book": True}, "depth": {"depth": True}}

MAX_REQUEST_BYTES = 60_000
SEND_INTERVAL_S = 0.35
PING = b"ping"
PING_INTERVAL_S = 20.0
QUOTES = ("USDT", "USDC", "USD")


def is_pong(payload: bytes) -> bool:
    return payload == b"pong"


_LIQ_PUSH = b'{"arg":{"channel":"liquidation-orders"'


def heartbeat_filter():
    """A public connection's ``is_pong``: True for the text ``pong`` and for the first ``liquidation-orders`` push
    after each acknowledged ``liquidation-orders`` subscription (old liquidations repeated: not handed on; the
    function's ``replays_dropped()`` counts them).  A closure, not an object: per frame one comparison, one cell
    read and, while nothing is armed, one byte test (an event frame starts ``{"e``, a push ``{"a``)."""
    armed = False
    dropped = 0

    def is_pong(payload: bytes) -> bool:
        nonlocal armed, dropped
        if payload == b"pong":
            return True
        if armed:
            if payload.startswith(_LIQ_PUSH):
                armed = False
                dropped += 1
                return True
        elif len(payload) > 2 and payload[2] == 101 and payload.startswith(b'{"event":"subscribe"') \
                and b'"liquidation-orders"' in payload:
            armed = True  # (this subscription's first push repeats old liquidations)
        return False

    is_pong.replays_dropped = lambda: dropped
    return is_pong


def inst_id(symbol: str) -> str:
    """``ETHUSDT`` -> ``ETH-USDT-SWAP``; an OKX instId is returned as it is."""
    s = str(symbol).strip().upper()
    if not s:
        raise ValueError("symbols: empty symbol name")
    if "-" in s:
        return s
    for q in QUOTES:
        if s.endswith(q) and len(s) > len(q):
            return f"{s[:-len(q)]}-{q}-SWAP"
    raise ValueError(f"symbols: cannot map {symbol!r} to an OKX instrument (expected e.g. ETHUSDT)")


def args(symbols, trades: bool = True, book: bool = False, *, funding: bool = False,
         open_interest: bool = False, mark: bool = False, depth: bool = False) -> list[dict]:
    """``liquidation-orders`` (SWAP-wide), then per instrument ``trades``, with ``book`` ``bbo-tbt``
    (top of book, tick by tick), optionally ``funding-rate``, ``open-interest`` and ``mark-price`` and, with
    ``depth``, ``books`` (400 levels a side: updates with seqId / prevSeqId on a REST snapshot)."""
    out = [{"channel": "liquidation-orders", "instType": "SWAP"}]
    for on, channel in ((trades, "trades"), (book, "bbo-tbt"), (funding, "funding-rate"),
                        (open_interest, "open-interest"), (mark, "mark-price"), (depth, "books")):
        if on:
            out += [{"channel": channel, "instId": inst_id(s)} for s in symbols]
    return out


def subscribe_messages(arg_list: list[dict], max_bytes: int = MAX_REQUEST_BYTES, op: str = "subscribe") -> list[bytes]:
    """The ``op`` (``subscribe`` / ``unsubscribe``) requests for ``arg_list``, each at most ``max_bytes``."""
    msgs, cur = [], []
    for a in arg_list:
        cand = cur + [a]
        if cur and len(orjson.dumps({"op": op, "args": cand})) > max_bytes:
            msgs.append(orjson.dumps({"op": op, "args": cur}))
            cand = [a]
        cur = cand
    if cur:
        msgs.append(orjson.dumps({"op": op, "args": cur}))
    return msgs


def connection_specs(symbols, url: str | None = None, network: str = "mainnet", *,
                     trades: bool = True, book: bool = False, funding: bool = False, open_interest: bool = False,
                     mark: bool = False, depth: bool = False) -> list[ConnectionSpec]:
    if url is None:
        try:
            url = ENDPOINTS[network]
        except KeyError:
            raise ValueError(f"network: expected one of {', '.join(ENDPOINTS)}; got {network!r}") from None
    a = args(symbols, trades, book, funding=funding, open_interest=open_interest, mark=mark, depth=depth)
    syms = [str(s).strip().upper() for s in symbols]
    return [ConnectionSpec(venue="okx", url=url, subscribe=subscribe_messages(a), topics=[orjson.dumps(x).decode() for x in a],
                           symbols=syms, ping_payload=PING, ping_interval_s=PING_INTERVAL_S, is_pong=heartbeat_filter(),
                           send_interval_s=SEND_INTERVAL_S)]


# ---- the order gateway's defaults on a network (liqcore.live.gateways asks them through the registry)
def rest_url(network: str) -> str:
    """The REST base of ``network`` (the order gateway appends its own paths)."""
    return REST_ENDPOINTS[network]


def private_ws_url(network: str) -> str:
    """The private websocket of ``network``."""
    return PRIVATE_ENDPOINTS[network]

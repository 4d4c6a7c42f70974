"""Bybit v5 public linear stream (and the inverse one, for inverse symbols): endpoints, topics, chunked
subscriptions and the heartbeat.

Limits honoured: ``args`` of one public connection <= 21,000 characters (new connections are opened
beyond that; counted as the array is sent), at most ``ARGS_PER_REQUEST`` topics per subscribe request, heartbeat
``{"req_id":"hb","op":"ping"}`` every 20 s (the server drops a connection silent for 10 minutes).
"""
from __future__ import annotations

import orjson

from liqcore.venues.bybit.contracts import is_inverse
from liqcore.venues.spec import ConnectionSpec

__all__ = ["KINDS", "ENDPOINTS", "PRIVATE_ENDPOINTS", "rest_url", "private_ws_url", "REST_ENDPOINTS", "topics", "subscribe_messages",
           "connection_specs", "topic_specs", "is_pong", "PING", "MAX_ARGS_CHARS", "ARGS_PER_REQUEST", "args_chars"]

ENDPOINTS = {
    "mainnet": "wss://stream.bybit.com/v5/public/linear",
    "testnet": "wss://stream-testnet.bybit.com/v5/public/linear",
    "demo": "wss://stream.bybit.com/v5/public/linear",  # demo trading uses mainnet market data
}
#: the inverse contracts' public stream (``BTCUSD``, ``BTCUSDH24``): v5 serves each category on its own path
INVERSE_ENDPOINTS = {k: v.replace("/public/linear", "/public/inverse") for k, v in ENDPOINTS.items()}
PRIVATE_ENDPOINTS = {
    "mainnet": "wss://stream.bybit.com/v5/private",
    "testnet": "wss://stream-testnet.bybit.com/v5/private",
    "demo": "wss://stream-demo.bybit.com/v5/private",
}
#: the depths of the linear order book streams (``orderbook.N.S``: 1 every 10 ms, 50 every 20 ms, 200 every
#: 100 ms, 1000 every 200 ms); 1 is the top of book
DEPTH_LEVELS = (50, 200, 1000)
REST_ENDPOINTS = {
    "mainnet": "https://api.bybit.com",
    "testnet": "https://api-testnet.bybit.com",
    "demo": "https://api-demo.bybit.com",
}

#: the event kinds this stream can deliver, and the ``connection_specs`` option each one needs
#: (``tickers.S`` carries the mark price, the funding rate and the open interest)
KINDS = {"liquidation": {}, "trade": {"trades": True}, "mark": {"tickers": True}, "funding": {"tickers": True},
         "open_interest": {"tickers": True},
         "quote": {"book": True}, "depth": {"depth": 1000}}

#: Bybit v5 "Connect", Public channel - Args limits: "for one public connection, you cannot have length of
#: 'args' array over 21,000 characters" (every category); "Spot can input up to 10 args for each subscription
#: request", "no args limit for Futures" (the linear perpetuals).  The length is counted here on the array as
#: it goes on the wire (``args_chars``: quotes, commas and brackets included), the stricter reading.
MAX_ARGS_CHARS = 21_000
#: topics per subscribe request: the spot limit, kept for the linear stream too (well within the limit)
ARGS_PER_REQUEST = 10
PING = b'{"req_id":"hb","op":"ping"}'
PING_INTERVAL_S = 20.0


def is_pong(payload: bytes) -> bool:
    """Bybit answers ``op: ping`` with ``{"success":true,"ret_msg":"pong",...,"op":"ping"}`` (linear
    public) or ``{"op":"pong",...}`` (private/other categories)."""
    if len(payload) > 256 or b'"op"' not in payload:
        return False
    return b'"op":"ping"' in payload or b'"op":"pong"' in payload or b'"ret_msg":"pong"' in payload


def check_depth_levels(n) -> int:
    """``n`` if it is a depth of the linear order book streams (:data:`DEPTH_LEVELS`), else ValueError (one line)."""
    if int(n) not in DEPTH_LEVELS:
        raise ValueError(f"depth-levels: Bybit's linear order book streams are {', '.join(map(str, DEPTH_LEVELS))} "
                         f"levels; got {n}")
    return int(n)


def topics(symbols, trades: bool = True, tickers: bool = False, legacy: bool = False, book: bool = False,
           depth: int = 0) -> list[str]:
    """Topics for the symbols: ``allLiquidation.S`` (or legacy ``liquidation.S``), ``publicTrade.S``
    (the reference price and the paper fill stream), optionally ``tickers.S``, with ``book``
    ``orderbook.1.S`` (top of book) and, with ``depth`` N (one of :data:`DEPTH_LEVELS`), ``orderbook.N.S``
    (a snapshot then deltas of the book's N best levels a side)."""
    if depth:
        check_depth_levels(depth)
    out = []
    for s in symbols:
        s = str(s).strip().upper()
        if not s:
            raise ValueError("symbols: empty symbol name")
        out.append(f"{'liquidation' if legacy else 'allLiquidation'}.{s}")
        if trades:
            out.append(f"publicTrade.{s}")
        if tickers:
            out.append(f"tickers.{s}")
        if book:
            out.append(f"orderbook.1.{s}")
        if depth:
            out.append(f"orderbook.{int(depth)}.{s}")
    return out


def args_chars(tops: list[str]) -> int:
    """The length of ``tops`` as an ``args`` array on the wire (``["a","b"]``: quotes, commas and brackets)."""
    return 2 + sum(len(t) + 2 for t in tops) + max(0, len(tops) - 1)


def _chunk_connections(tops: list[str], max_chars: int) -> list[list[str]]:
    """``tops`` in groups whose args array (:func:`args_chars`) stays within ``max_chars``."""
    conns: list[list[str]] = [[]]
    used = 2  # (the brackets)
    for t in tops:
        if 2 + len(t) + 2 > max_chars:
            raise ValueError(f"topics: {t!r} longer than the per-connection limit")
        cost = len(t) + 2 + (1 if used > 2 else 0)
        if used + cost > max_chars:
            conns.append([])
            used, cost = 2, len(t) + 2
        conns[-1].append(t)
        used += cost
    return [c for c in conns if c]


def subscribe_messages(tops: list[str], per_request: int = ARGS_PER_REQUEST, req_prefix: str = "sub",
                       op: str = "subscribe") -> list[bytes]:
    """The ``op`` (``subscribe`` / ``unsubscribe``) requests for ``tops``, ``per_request`` topics each."""
    return [
        orjson.dumps({"req_id": f"{req_prefix}{i // per_request}", "op": op, "args": tops[i:i + per_request]})
        for i in range(0, len(tops), per_request)
    ]


def connection_specs(symbols, url: str | None = None, network: str = "mainnet", *, trades: bool = True,
                     tickers: bool = False, legacy: bool = False, max_chars: int = MAX_ARGS_CHARS,
                     per_request: int = ARGS_PER_REQUEST, book: bool = False, depth: int = 0) -> list[ConnectionSpec]:
    """One :class:`ConnectionSpec` per connection needed for the symbols' topics; without a ``url``, inverse
    symbols (:mod:`.contracts`) on the network's inverse stream, the others on its linear one."""
    if url is None:
        try:
            url = ENDPOINTS[network]
        except KeyError:
            raise ValueError(f"network: expected one of {', '.join(ENDPOINTS)}; got {network!r}") from None
        symbols = list(symbols)
        inverse = [s for s in symbols if is_inverse(s)]
        if inverse:
            linear = [s for s in symbols if not is_inverse(s)]
            return (connection_specs(linear, url, network, trades=trades, tickers=tickers, legacy=legacy,
                                     max_chars=max_chars, per_request=per_request, book=book, depth=depth)
                    + connection_specs(inverse, INVERSE_ENDPOINTS[network], network, trades=trades, tickers=tickers,
                                       legacy=legacy, max_chars=max_chars, per_request=per_request, book=book,
                                       depth=depth))
    return topic_specs(topics(symbols, trades, tickers, legacy, book, depth), url, max_chars=max_chars,
                       per_request=per_request)


def topic_specs(tops: list[str], url: str, *, max_chars: int = MAX_ARGS_CHARS,
                per_request: int = ARGS_PER_REQUEST) -> list[ConnectionSpec]:
    """One :class:`ConnectionSpec` per connection the topics need (at most ``max_chars`` of args each)."""
    specs = []
    for group in _chunk_connections(tops, max_chars):
        syms = sorted({t.rsplit(".", 1)[1] for t in group})
        specs.append(ConnectionSpec(venue="bybit", url=url, subscribe=subscribe_messages(group, per_request),
                                    topics=group, symbols=syms, ping_payload=PING,
                                    ping_interval_s=PING_INTERVAL_S, is_pong=is_pong, send_interval_s=0.0))
    return specs


# ---- the order gateway's defaults on a network (liqcore.live.gateways asks them through the registry)
def rest_url(network: str) -> str:
    """The REST base of ``network`` (the order gateway appends its own paths)."""
    return REST_ENDPOINTS[network]


def private_ws_url(network: str) -> str:
    """The private websocket of ``network``."""
    return PRIVATE_ENDPOINTS[network]

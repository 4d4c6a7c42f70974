"""Binance USD-M futures market streams: endpoints, stream names, routing by category, chunked subscriptions.

Since 2026 every stream lives on the path of its category (the venue's "WebSocket Change Notice", 2026-03-06;
the unrouted paths were retired on 2026-04-23): ``wss://fstream.binance.com/public`` for the high-frequency book
data (``<sym>@bookTicker``, ``@depth...``), ``/market`` for the rest (``@aggTrade``, ``@forceOrder``,
``!forceOrder@arr``, ``@markPrice...``, klines, tickers), ``/private`` for the user data
(``/private/ws?listenKey=<key>&events=A/B``).  Each category has ``/ws`` (raw, subscribed by message) and
``/stream?streams=a/b`` (combined, subscribed by URL).  One connection serves one category: a stream subscribed
on another category's path is acknowledged and never sent, so :func:`connection_specs` never mixes them.
Limits honoured: <= 1024 streams per connection, <= 10 incoming messages per second (subscribe messages are spaced
by ``SEND_INTERVAL_S``).  The server pings every 3 minutes; the transport answers with pongs and sends websocket
PING frames as its own heartbeat (every ``ping-interval``, 0.2 messages/s at the 5 s default).
"""
from __future__ import annotations

from urllib.parse import quote, urlsplit

import orjson

from liqcore.venues.spec import ConnectionSpec

__all__ = ["KINDS", "ENDPOINTS", "REST_ENDPOINTS", "CATEGORIES", "rest_url", "private_ws_url", "USER_EVENTS", "category", "category_url", "root_url", "streams",
           "subscribe_messages", "connection_specs", "combined_url", "url_without", "user_stream_url",
           "MAX_STREAMS", "SEND_INTERVAL_S", "PARAMS_PER_REQUEST"]

#: the websocket roots; each category is served at ``<root>/<category>`` (testnet: the routes the established
#: clients use for it, ``fstream.binancefuture.com``; demo: the venue's ``demo-fstream.binance.com``)
ENDPOINTS = {
    "mainnet": "wss://fstream.binance.com",
    "testnet": "wss://fstream.binancefuture.com",
    "demo": "wss://demo-fstream.binance.com",
}
#: the REST base of each network (what preflight and the depth keeper ask; demo trading: ``demo-fapi``, beside
#: its ``demo-fstream``)
REST_ENDPOINTS = {"mainnet": "https://fapi.binance.com", "testnet": "https://testnet.binancefuture.com",
                  "demo": "https://demo-fapi.binance.com"}
#: the path categories: ``public`` (high-frequency book data), ``market`` (everything else public), ``private``
CATEGORIES = ("public", "market", "private")
#: the user-stream events liqcore acts on: the ``events`` allow list of the private route (an event left out
#: is never sent, ``listenKeyExpired`` included)
USER_EVENTS = ("ORDER_TRADE_UPDATE", "ALGO_UPDATE", "ACCOUNT_UPDATE", "listenKeyExpired")
#: the event kinds these streams can deliver, and the ``connection_specs`` option each one needs
#: (``<sym>@markPrice@1s`` carries the mark price and the funding rate; the open interest is REST-only)
KINDS = {"liquidation": {}, "trade": {"trades": True}, "mark": {"mark_price": True}, "funding": {"mark_price": True},
         "quote": {"book": True}, "depth": {"depth": True}}

MAX_STREAMS = 1024
MAX_MSGS_PER_S = 10
SEND_INTERVAL_S = 1.0 / MAX_MSGS_PER_S + 0.02
PARAMS_PER_REQUEST = 200
_PUBLIC = ("bookticker", "depth", "rpidepth")


def category(name: str) -> str:
    """The path category of a stream name: ``public`` for the book data (``<sym>@bookTicker``, ``!bookTicker``,
    ``<sym>@depth...``, ``<sym>@rpiDepth...``) and the raw ``<sym>@trade`` prints (pushed by the matching engine on
    change: measured on ``/public`` only), ``market`` for every other stream (``@aggTrade``, ``@forceOrder``, ...)."""
    kind = str(name).split("@", 1)[1] if "@" in str(name) else str(name).lstrip("!")
    kind = kind.lower()
    return "public" if kind.startswith(_PUBLIC) or kind == "trade" else "market"


def root_url(url: str) -> tuple[str, str | None, str]:
    """``url`` split into (root ``scheme://host[:port]``, its category or None, the rest of its path after the
    category): ``wss://h/market/ws`` -> ``("wss://h", "market", "/ws")``; ``ws://h:1/`` -> ``("ws://h:1", None, "")``."""
    u = urlsplit(url.strip())
    if not u.scheme or not u.netloc:
        raise ValueError(f"url: expected scheme://host[:port][/path]; got {url!r}")
    root = f"{u.scheme}://{u.netloc}"
    path = u.path.rstrip("/")
    parts = path.split("/", 2)  # "", first, rest
    if len(parts) > 1 and parts[1] in CATEGORIES:
        return root, parts[1], ("/" + parts[2]) if len(parts) > 2 else ""
    return root, None, path


def category_url(url: str, cat: str) -> str:
    """The URL a connection of category ``cat`` uses, from an endpoint or an override: a bare
    ``scheme://host[:port]`` root or a category base (``.../market``) gets ``/<cat>``; a full URL with a category
    (``.../market/ws``, ``.../public/stream?streams=...``) has it replaced by ``cat``; a full URL without one
    (``.../ws``, ``.../stream...``, a test server's own layout) is used as it is."""
    if cat not in CATEGORIES:
        raise ValueError(f"category: expected one of {', '.join(CATEGORIES)}; got {cat!r}")
    root, have, rest = root_url(url)
    query = urlsplit(url.strip()).query
    if have is None and rest:
        return url
    return f"{root}/{cat}{rest}" + (f"?{query}" if query else "")


def streams(symbols, trades: bool = True, all_liquidations: bool = False, book: bool = False,
            mark_price: bool = False, depth: bool = False) -> list[str]:
    """``<sym>@forceOrder`` per symbol (or the one ``!forceOrder@arr``), ``<sym>@aggTrade``, with
    ``book`` ``<sym>@bookTicker`` (top of book: every change of the best bid or ask), with
    ``mark_price``, ``<sym>@markPrice@1s`` (mark price and funding rate, every second) and, with ``depth``,
    ``<sym>@depth@100ms`` (the diff depth stream: every level changed, on the REST snapshot's book)."""
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
        if depth:
            out.append(f"{s}@depth@100ms")
    return out


def subscribe_messages(names: list[str], per_request: int = PARAMS_PER_REQUEST, op: str = "subscribe") -> list[bytes]:
    """The ``op`` (``subscribe`` / ``unsubscribe``) requests for the stream ``names``, ``per_request`` each."""
    return [orjson.dumps({"method": op.upper(), "params": names[i:i + per_request], "id": i // per_request + 1})
            for i in range(0, len(names), per_request)]


def combined_url(base: str, names: list[str]) -> str:
    """The combined-stream URL of ``names`` on ``base`` (a category base ``.../market``, or its ``.../stream``)."""
    base = base.rstrip("/")
    if not base.endswith("/stream"):
        base += "/stream"
    return f"{base}?streams={'/'.join(names)}"


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


def user_stream_url(base: str, listen_key: str, events=USER_EVENTS) -> str:
    """The user-data stream of ``listen_key`` on the private route: ``<root>/private/ws?listenKey=<key>&events=A/B``
    (``events``: the allow list; empty, or only empty names: no ``events`` parameter, every event; never an empty
    ``events=``, which allows nothing).  ``base``: a root
    (``wss://fstream.binance.com``), a category base or its ``/ws`` (the category is replaced by ``private``); any
    other full URL (a test server's own layout) gets the query appended as it is."""
    root, have, rest = root_url(base)
    key = quote(str(listen_key), safe="")
    events = [str(e).strip() for e in (events or ()) if str(e).strip()]
    # (an ``events=`` with an empty list is an allow list of nothing: production then sends no event at all)
    query = f"listenKey={key}" + (f"&events={'/'.join(events)}" if events else "")
    if have is None and rest not in ("", "/ws"):
        return f"{base.rstrip('/')}?{query}"
    return f"{root}/private/ws?{query}"


def connection_specs(symbols, url: str | None = None, network: str = "mainnet", *, trades: bool = True,
                     all_liquidations: bool = False, combined: bool = False,
                     max_streams: int = MAX_STREAMS, book: bool = False, mark_price: bool = False,
                     depth: bool = False) -> list[ConnectionSpec]:
    """Connections for the symbols' streams, one category each (the ``market`` ones first, then the ``public``
    book data), at most ``max_streams`` streams a connection.  ``url`` overrides the endpoint: a root
    ``scheme://host:port`` or a category base gets each category's documented path (:func:`category_url`); raw
    mode connects to ``<category>/ws`` and subscribes by message, ``combined=True`` puts the streams in the URL
    (``<category>/stream?streams=...``).  A full URL already ending in ``/ws`` or containing ``/stream`` is used as
    it is (with its category, if it names one, replaced by each connection's)."""
    if url is None:
        try:
            url = ENDPOINTS[network]
        except KeyError:
            raise ValueError(f"network: expected one of {', '.join(ENDPOINTS)}; got {network!r}") from None
    if not 0 < int(max_streams) <= MAX_STREAMS:
        raise ValueError(f"max-streams: 1 to {MAX_STREAMS} streams per connection; got {max_streams}")
    names = streams(symbols, trades, all_liquidations, book, mark_price, depth)
    by_cat: dict[str, list[str]] = {"market": [], "public": []}
    for n in names:
        by_cat[category(n)].append(n)
    specs = []
    for cat, cat_names in by_cat.items():
        base = category_url(url, cat)
        for i in range(0, len(cat_names), max_streams):
            group = cat_names[i:i + max_streams]
            syms = sorted({n.split("@", 1)[0].upper() for n in group if not n.startswith("!")})
            if combined:
                conn_url, subs = combined_url(base.partition("?")[0], group), []
            else:
                conn_url = base if (base.rstrip("/").endswith("/ws") or "/stream" in base) else base.rstrip("/") + "/ws"
                subs = subscribe_messages(group)
            specs.append(ConnectionSpec(venue="binance", url=conn_url, subscribe=subs, topics=group, symbols=syms,
                                        ping_payload=None, ping_interval_s=None, is_pong=None,
                                        send_interval_s=SEND_INTERVAL_S))
    return specs


# ---- the order gateway's defaults on a network (liqcore.live.gateways asks them through the registry)
def rest_url(network: str) -> str:
    """The REST base of ``network`` (:mod:`liqcore.venues.binance.rest`'s; the gateway appends its paths)."""
    from liqcore.venues.binance import rest

    return rest.BASE_URL if network == "mainnet" else rest.TESTNET_URL


def private_ws_url(network: str) -> str:
    """The user-data stream's base: the market streams' host (the gateway appends its own path to it)."""
    u = urlsplit(ENDPOINTS[network])
    return f"{u.scheme}://{u.netloc}"

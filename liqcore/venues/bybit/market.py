"""Bybit's public market parts the rest of liqcore asks for through the venue registry: 1-minute candles
(``GET /v5/market/kline``) and the whole market's subscriptions (``allLiquidation.<symbol>`` per symbol)."""
from __future__ import annotations

KLINES = ("/v5/market/kline", 1000)
KLINE_VOLUME = 5


def kline_params(symbol: str, lo: int, hi: int, limit: int) -> dict:
    return {"category": "linear", "symbol": symbol, "interval": "1", "start": lo, "end": hi, "limit": limit}


def kline_rows(payload, url: str) -> list:
    if not isinstance(payload, dict) or payload.get("retCode") not in (0, "0"):
        got = payload if not isinstance(payload, dict) else f"retCode {payload.get('retCode')} ({payload.get('retMsg')})"
        raise ValueError(f"klines: {url} answered {got}")
    rows = (payload.get("result") or {}).get("list")
    return rows if isinstance(rows, list) else []


def whole_market_specs(universe: list[str], also: list[str], *, url=None, network="mainnet", book=True,
                       tickers=False) -> list:
    """``allLiquidation.<symbol>`` for every symbol of ``universe`` (sharded over as many connections as the
    venue's 21,000 characters of args per connection require) and the trades (and book) of ``also``."""
    from liqcore.venues.bybit.stream import ENDPOINTS, topic_specs, topics

    if url is None:
        try:
            url = ENDPOINTS[network]
        except KeyError:
            raise ValueError(f"network: expected one of {', '.join(ENDPOINTS)}; got {network!r}") from None
    tops = [f"allLiquidation.{s}" for s in universe]
    have = set(tops)
    tops += [t for t in topics(also, trades=True, tickers=tickers, book=book) if t not in have]
    return topic_specs(tops, url)


def governed(base: str, path: str, params: dict | None = None):
    """``get_json``'s ``governed`` for a public request: the host's governor (the IP limit every request counts
    against; an HTTP 403 bans the IP for at least 10 minutes: "Rate Limit", "IP Limit"), weight 1, and the
    reading of an answer."""
    from liqcore.venues.bybit.codes import BAN_MIN_S, IP_LIMIT, IP_WINDOW_S
    from liqcore.venues.governor import governor_for

    def observe(gov, status, headers):
        return gov.observe(status, headers, ban_statuses=(403,), min_ban_s=BAN_MIN_S)

    return governor_for("bybit", base, limit=IP_LIMIT, window_s=IP_WINDOW_S), 1, observe


def snapshot_error(doc) -> str | None:
    """Bybit's depth is kept from its stream (no REST snapshot): never an error here."""
    return None


# ---- the feed manager's requests (liqcore.live.feeds)
def stream_messages(op: str, topics: list) -> list[bytes]:
    """The ``op`` ("subscribe" | "unsubscribe") requests for ``topics``."""
    from liqcore.venues.bybit.stream import subscribe_messages

    return subscribe_messages(topics, req_prefix="unsub" if op == "unsubscribe" else "sub", op=op)


def topic_symbol(topic: str) -> str:
    """The symbol of a topic (``<topic>.<SYMBOL>``)."""
    return topic.rsplit(".", 1)[-1]


def url_without(url: str, topics: list):
    """The connection URL once ``topics`` are dropped (None: no stream is named in a Bybit URL)."""
    return None


def liquidation_topic(symbol: str) -> str:
    """The topic of one symbol's liquidations (a new listing's, subscribed while running)."""
    return f"allLiquidation.{symbol}"


# ---- data on demand (liqcore.live.ondemand)
PER_MESSAGE = 10


def ondemand_names(symbol: str, opts: dict) -> list:
    """The per-symbol topics of ``symbol`` (its liquidations apart)."""
    from liqcore.venues.bybit.stream import topics

    return [t for t in topics([symbol], trades=opts.get("trades", True), tickers=opts.get("tickers", False),
                              book=opts.get("book", False)) if not t.startswith(("allLiquidation.", "liquidation."))]


def subscribe_message(op: str, names: list, msg_id: int) -> dict:
    return {"req_id": f"od{msg_id}", "op": op, "args": names}


def category(name) -> None:
    return None


def connection_bases(symbols: list, *, url=None, network="mainnet") -> dict:
    from liqcore.venues.bybit.stream import connection_specs

    return {None: connection_specs(symbols[:1], url=url, network=network)[0]}


def wire_name(symbol: str) -> str:
    return symbol


# data on demand: the symbol of a per-symbol stream's frame (the gate's)
def frame_symbol(data: bytes) -> str | None:
    """The symbol of a Bybit per-symbol stream's frame (its topic's last part); None for a liquidation."""
    i = data.find(b'"topic":"', 0, 64)
    if i < 0:
        return None
    j = data.find(b'"', i + 9)
    topic = data[i + 9:j]
    if topic.startswith((b"allLiquidation.", b"liquidation.")):
        return None
    return topic.rsplit(b".", 1)[-1].decode()


# the whole market: the instrument list
async def fetch_instruments(kit, base: str, quote: str, left: dict):
    """The linear perpetuals settled in ``quote`` that trade (``GET /v5/market/instruments-info``, every page) with
    their rules, and each one's 24 h turnover (``GET /v5/market/tickers``' ``turnover24h``) -> ``(rules, turnover,
    {})``; ``kit``: :class:`liqcore.market.universe._Kit`."""
    rules: dict = {}
    cursor = ""
    for _ in range(100):
        p = {"category": "linear", "limit": "1000"}
        if cursor:
            p["cursor"] = cursor
        res = await kit.get("/v5/market/instruments-info", p)
        if not isinstance(res, dict) or res.get("retCode") not in (0, None):
            raise kit.error(f"instrument list: {base}/v5/market/instruments-info answered "
                            f"retCode {res.get('retCode') if isinstance(res, dict) else '?'}")
        body = res.get("result") or {}
        kit.take(body.get("list"), left, rules,
                 (("contractType", "LinearPerpetual", "not_perpetual"), ("quoteCoin", quote, "other_quote"),
                  ("status", "Trading", "not_trading")), "symbol", kit.Instrument.from_bybit)
        cursor = body.get("nextPageCursor") or ""
        if not cursor:
            break
    res = await kit.get("/v5/market/tickers", {"category": "linear"})
    rows = (res.get("result") or {}).get("list") if isinstance(res, dict) else None
    return rules, kit.turnover(rows, "symbol", lambda t: t["turnover24h"]), {}


# depth: the resubscription a book waits for (Bybit sends a snapshot on each subscription, no REST snapshot)
def depth_topic(symbol: str, levels: int | None = None) -> str:
    """The depth stream a book of ``symbol`` is resubscribed on: ``orderbook.<levels>.<symbol>`` (default: the
    depth a live run's feed subscribes, the stream part's ``KINDS``)."""
    from liqcore.venues.bybit.stream import KINDS

    return f"orderbook.{int(levels if levels is not None else KINDS['depth']['depth'])}.{symbol}"


def answer_rules(obj) -> dict | None:
    """symbol -> Instrument of the linear perpetuals that trade in an ``instruments-info`` answer (a file the user
    kept: the backtest's ``--instruments``); None when ``obj`` is not one (a malformed row: that symbol left out)."""
    from liqcore.venues.instruments import Instrument, rules_of

    if not (isinstance(obj, dict) and isinstance((obj.get("result") or {}).get("list"), list)):
        return None
    rows = [r for r in obj["result"]["list"] if isinstance(r, dict)
            and r.get("contractType") == "LinearPerpetual" and r.get("status") == "Trading"]
    parse = Instrument.from_bybit

    return rules_of(rows, parse)

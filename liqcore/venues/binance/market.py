"""Binance's public market parts the rest of liqcore asks for through the venue registry: 1-minute candles
(``GET /fapi/v1/klines``) and the whole market's subscriptions (``!forceOrder@arr``)."""
from __future__ import annotations

#: (path, most rows a request returns)
KLINES = ("/fapi/v1/klines", 1500)
#: the candle row's volume column ([open time, open, high, low, close, volume, ...])
KLINE_VOLUME = 5


def kline_params(symbol: str, lo: int, hi: int, limit: int) -> dict:
    return {"symbol": symbol, "interval": "1m", "startTime": lo, "endTime": hi, "limit": limit}


def kline_rows(payload, url: str) -> list:
    """The candle rows of an answer; an error answer (``{"code": -1121, "msg": "Invalid symbol."}``): ValueError."""
    if isinstance(payload, dict):
        raise ValueError(f"klines: {url} answered code {payload.get('code')} ({payload.get('msg')})")
    return payload if isinstance(payload, list) else []


def whole_market_specs(universe: list[str], also: list[str], *, url=None, network="mainnet", book=True,
                       tickers=False) -> list:
    """Every liquidation (the one all-market stream, whatever the universe) and the trades (and book) of ``also``."""
    from liqcore.venues.binance.stream import connection_specs

    return connection_specs(also, url=url, network=network, all_liquidations=True, trades=True, book=book)


def governed(base: str, path: str, params: dict | None = None):
    """``get_json``'s ``governed`` for a public request: the host's governor, the path's documented weight and the
    venue's reading of an answer."""
    from liqcore.venues.binance import rest as br
    from liqcore.venues.governor import governor_for

    return governor_for("binance", base, **br.GOVERNOR_LIMITS), br.weight_of("GET", path, params), br.observe_answer


#: the depth keeper's REST snapshot: the path, and the query of a symbol (1,000 levels)
DEPTH_SNAPSHOT = ("/fapi/v1/depth", lambda s: {"symbol": s, "limit": 1000})


async def fetch_instruments(kit, base: str, quote: str, left: dict):
    """The USD-M perpetuals settled in ``quote`` that trade (``GET /fapi/v1/exchangeInfo``) with their rules, and
    each one's 24 h turnover (``GET /fapi/v1/ticker/24hr``'s ``quoteVolume``) -> ``(rules, turnover, {})``; ``kit``:
    :class:`liqcore.market.universe._Kit`."""
    info = await kit.get("/fapi/v1/exchangeInfo")
    rules: dict = {}
    kit.take(info.get("symbols") if isinstance(info, dict) else None, left, rules,
             (("contractType", "PERPETUAL", "not_perpetual"), ("quoteAsset", quote, "other_quote"),
              ("status", "TRADING", "not_trading")), "symbol", kit.Instrument.from_binance)
    tick = await kit.get("/fapi/v1/ticker/24hr")
    return rules, kit.turnover(tick if isinstance(tick, list) else None, "symbol", lambda t: t["quoteVolume"]), {}


def snapshot_error(doc) -> str | None:
    """Binance answers an error with an HTTP status (read before): never one in a 200 answer."""
    return None


# ---- the feed manager's requests (liqcore.live.feeds)
def stream_messages(op: str, topics: list) -> list[bytes]:
    from liqcore.venues.binance.stream import subscribe_messages

    return subscribe_messages(topics, op=op)


def topic_symbol(topic: str) -> str:
    """``<symbol>@<stream>`` -> SYMBOL; "" for an all-market stream (``!forceOrder@arr``)."""
    return "" if topic.startswith("!") else topic.split("@", 1)[0].upper()


def url_without(url: str, topics: list):
    """A combined-stream URL (``/stream?streams=a/b/c``) without ``topics`` (None: a raw URL names none)."""
    if "streams=" not in url:
        return None
    from liqcore.venues.binance.stream import url_without as drop

    return drop(url, topics)


# ---- data on demand (liqcore.live.ondemand): a symbol's streams subscribed while it is wanted
#: stream names per SUBSCRIBE message
PER_MESSAGE = 200


def ondemand_names(symbol: str, opts: dict) -> list:
    """The per-symbol streams of ``symbol`` (its liquidations come on the all-market stream)."""
    from liqcore.venues.binance.stream import streams

    return [n for n in streams([symbol], trades=opts.get("trades", True), all_liquidations=True,
                               book=opts.get("book", False), mark_price=opts.get("mark_price", False))
            if not n.startswith("!")]


def subscribe_message(op: str, names: list, msg_id: int) -> dict:
    return {"method": op.upper(), "params": names, "id": msg_id}


def category(name) -> str | None:
    """The path category a stream's connection takes (``market`` and ``public`` never share one)."""
    from liqcore.venues.binance.stream import category as cat

    return cat(name)


def connection_bases(symbols: list, *, url=None, network="mainnet") -> dict:
    """One base connection per path category the on-demand streams need: category -> spec."""
    from liqcore.venues.binance.stream import category as cat, connection_specs

    return {cat(sp.topics[0]): sp for sp in connection_specs(["X"], url=url, network=network, trades=True, book=True)}


def wire_name(symbol: str) -> str:
    """The name a symbol has in its per-symbol frames and candle requests (the symbol itself)."""
    return symbol


# data on demand: the symbol of a per-symbol stream's frame (the gate's)
def frame_symbol(data: bytes) -> str | None:
    """The symbol of a Binance per-symbol stream's event (raw or combined; its ``"s"``); None for a liquidation
    (``forceOrder``) or a frame without one (an answer, an all-market array)."""
    i = data.find(b'"e":"')
    if i < 0 or data.startswith(b"forceOrder", i + 5):
        return None
    j = data.find(b'"s":"', i)
    if j < 0:
        return None
    return data[j + 5:data.find(b'"', j + 5)].decode()


def answer_rules(obj) -> dict | None:
    """symbol -> Instrument of the perpetuals that trade in an ``exchangeInfo`` answer (a file the user kept: the
    backtest's ``--instruments``); None when ``obj`` is not one (a malformed row: that symbol left out)."""
    from liqcore.venues.instruments import Instrument, rules_of

    if not (isinstance(obj, dict) and isinstance(obj.get("symbols"), list)):
        return None
    rows = [r for r in obj["symbols"] if isinstance(r, dict) and r.get("contractType") == "PERPETUAL"
            and r.get("status") == "TRADING"]
    parse = Instrument.from_binance

    return rules_of(rows, parse)

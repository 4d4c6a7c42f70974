"""OKX's public market parts the rest of liqcore asks for through the venue registry: 1-minute candles
(``GET /api/v5/market/candles``) and the whole market's subscriptions (``liquidation-orders`` for SWAP)."""
from __future__ import annotations

from liqcore.venues.numbers import wire_number

KLINES = ("/api/v5/market/candles", 300)
#: [ts, o, h, l, c, vol (contracts), volCcy (base), ...]: the base-unit volume
KLINE_VOLUME = 6


def kline_params(symbol: str, lo: int, hi: int, limit: int) -> dict:
    return {"instId": symbol, "bar": "1m", "after": hi + 1, "before": lo - 1, "limit": limit}


def kline_rows(payload, url: str) -> list:
    if not isinstance(payload, dict) or str(payload.get("code")) != "0":
        got = payload if not isinstance(payload, dict) else f"code {payload.get('code')} ({payload.get('msg')})"
        raise ValueError(f"klines: {url} answered {got}")
    rows = payload.get("data")
    return rows if isinstance(rows, list) else []


def whole_market_specs(universe: list[str], also: list[str], *, url=None, network="mainnet", book=True,
                       tickers=False) -> list:
    """Every swap's liquidations (one channel) and the trades (and book) of ``also``."""
    from liqcore.venues.okx.stream import connection_specs

    return connection_specs(also, url=url, network=network, trades=True, book=book)


def governed(base: str, path: str, params: dict | None = None):
    """``get_json``'s ``governed`` for a public request: the host's governor (OKX documents per-endpoint limits
    and HTTP 429, no IP ban), weight 1, and the reading of an answer (a 429 pauses every caller of the host)."""
    from liqcore.venues.governor import governor_for

    def observe(gov, status, headers):
        return gov.observe(status, headers)

    return governor_for("okx", base), 1, observe


#: the depth keeper's REST snapshot: the path, and the query of an instrument (400 levels)
DEPTH_SNAPSHOT = ("/api/v5/market/books", lambda s: {"instId": s, "sz": 400})


def snapshot_error(doc) -> str | None:
    """The error an order-book snapshot answer carries (OKX: ``code`` other than "0"), or None."""
    if isinstance(doc, dict) and str(doc.get("code", "0")) != "0":
        return f"code {doc.get('code')} {doc.get('msg', '')}".strip()
    return None


# ---- the feed manager's requests (liqcore.live.feeds)
def stream_messages(op: str, topics: list) -> list[bytes]:
    """The ``op`` requests for ``topics`` (the channel args as JSON text, as the specs hold them)."""
    import orjson

    from liqcore.venues.okx.stream import subscribe_messages

    return subscribe_messages([orjson.loads(t) for t in topics], op=op)


def topic_symbol(topic: str) -> str:
    """The ``instId`` of a channel's args ("" for a whole-market channel)."""
    import orjson

    return str(orjson.loads(topic).get("instId") or "").upper()


def url_without(url: str, topics: list):
    return None


# ---- data on demand (liqcore.live.ondemand)
PER_MESSAGE = 50


def ondemand_names(symbol: str, opts: dict) -> list:
    """The per-symbol channel args of ``symbol`` (its liquidations apart: one channel for every swap)."""
    from liqcore.venues.okx.stream import args

    return [a for a in args([symbol], trades=opts.get("trades", True), book=opts.get("book", False),
                            funding=opts.get("funding", False), open_interest=opts.get("open_interest", False),
                            mark=opts.get("mark", False)) if a.get("channel") != "liquidation-orders"]


def subscribe_message(op: str, names: list, msg_id: int) -> dict:
    return {"op": op, "args": names}


def category(name) -> None:
    return None


def connection_bases(symbols: list, *, url=None, network="mainnet") -> dict:
    from liqcore.venues.okx.stream import connection_specs

    return {None: connection_specs(symbols[:1], url=url, network=network)[0]}


def wire_name(symbol: str) -> str:
    """OKX asks and answers by instId (``ETHUSDT`` -> ``ETH-USDT-SWAP``; an instId stays as it is)."""
    from liqcore.venues.okx.stream import inst_id

    return inst_id(symbol)


# data on demand: the symbol of a per-symbol stream's frame (the gate's)
def frame_symbol(data: bytes) -> str | None:
    """The instId of an OKX per-symbol channel's push (its ``arg``: ``trades``, ``bbo-tbt``, ``books5``,
    ``funding-rate``, ...); None for ``liquidation-orders`` (its ``arg`` names the ``instType``, every swap's
    liquidations), for an answer (``{"event": ...}``) and for a frame without an ``arg``."""
    i = data.find(b'"arg":{', 0, 64)
    if i < 0 or data.find(b'"event":', 0, i) >= 0:
        return None
    end = data.find(b"}", i + 7)
    j = data.find(b'"instId":"', i + 7, end)
    if j < 0:
        return None
    return data[j + 10:data.find(b'"', j + 10)].decode()


# the whole market: the instrument list
def _rule(row: dict, Instrument):
    """OKX's grid in base units: ``tickSz``; lot and minimum in contracts of ``ctVal`` base units each."""
    ct = wire_number(row["ctVal"])
    return Instrument(str(row["instId"]), wire_number(row["tickSz"]), wire_number(row["lotSz"]) * ct,
                      wire_number(row["minSz"]) * ct)


async def fetch_instruments(kit, base: str, quote: str, left: dict):
    """The linear swaps settled in ``quote`` that trade (``GET /api/v5/public/instruments?instType=SWAP``) with
    their rules, each one's 24 h turnover (``GET /api/v5/market/tickers``: ``volCcy24h`` x ``last``) and each
    one's ``ctVal`` -> ``(rules, turnover, contract)``; ``kit``: :class:`liqcore.market.universe._Kit`."""
    res = await kit.get("/api/v5/public/instruments", {"instType": "SWAP"})
    if not isinstance(res, dict) or str(res.get("code", "0")) != "0":
        raise kit.error(f"instrument list: {base}/api/v5/public/instruments answered code "
                        f"{res.get('code') if isinstance(res, dict) else '?'}")
    rules: dict = {}
    kit.take(res.get("data"), left, rules,  # (ctType inverse: the coin-margined swaps)
             (("ctType", "linear", "not_perpetual"), ("settleCcy", quote, "other_quote"),
              ("state", "live", "not_trading")),
             "instId", lambda row: _rule(row, kit.Instrument))
    # each kept swap's ctVal (parsed already by _rule: the rows that did not parse were left out)
    contract = {str(r["instId"]): wire_number(r["ctVal"]) for r in res.get("data") or []
                if isinstance(r, dict) and str(r.get("instId")) in rules}
    tick = await kit.get("/api/v5/market/tickers", {"instType": "SWAP"})
    rows = tick.get("data") if isinstance(tick, dict) else None
    return rules, kit.turnover(rows, "instId", lambda t: wire_number(t["volCcy24h"]) * wire_number(t["last"])), contract

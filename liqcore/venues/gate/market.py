"""Gate's public market parts the rest of liqcore asks for through the venue registry: the whole market's
subscriptions (``futures.public_liquidates`` with ``!all``), the feed manager's requests, data on demand, the
depth snapshot and the instrument list (``GET /api/v4/futures/usdt/contracts`` and ``/tickers``)."""
from __future__ import annotations

import orjson

from liqcore.venues.numbers import wire_number

API = "/api/v4/futures/usdt"
#: the depth keeper's REST snapshot: the path, and the query of a contract (``with_id``: the book's update id,
#: the baseID of Gate's update-id rule)
DEPTH_SNAPSHOT = (f"{API}/order_book", lambda s: {"contract": s, "limit": 50, "with_id": "true"})


class _DepthProtocol:
    """Gate's depth protocol for the shared depth lines (:class:`liqcore.venues.depthsync.DepthLines`): the
    machine (:class:`liqcore.venues.gate.depth.GateDepthSync`, rows in contracts: the line reader multiplies
    them by the contract's size), the frames it reads (``futures.order_book_update``) and their times."""

    HEAD = b'"futures.order_book_update"'

    @staticmethod
    def sync():
        from liqcore.venues.gate.depth import GateDepthSync

        return GateDepthSync()

    @staticmethod
    def message(frame: dict):
        if frame.get("channel") == "futures.order_book_update" and frame.get("event") == "update":
            r = frame.get("result")
            if isinstance(r, dict) and "s" in r:
                return r["s"], r
        return None

    @staticmethod
    def event_ms(msg: dict):
        return msg.get("t")

    @staticmethod
    def snapshot_ms(body: dict):
        cur = body.get("current")
        return int(wire_number(cur) * 1000) if cur is not None else None


DEPTH_PROTOCOL = _DepthProtocol()


def whole_market_specs(universe: list[str], also: list[str], *, url=None, network="mainnet", book=True,
                       tickers=False) -> list:
    """Every contract's liquidations (``!all``) and the trades (and book ticker) of ``also``."""
    from liqcore.venues.gate.stream import connection_specs

    return connection_specs(also, url=url, network=network, trades=True, book=book)


def governed(base: str, path: str, params: dict | None = None):
    """``get_json``'s ``governed`` for a public request: the host's governor, weight 1 (Gate limits public
    endpoints per IP and answers HTTP 429 ``TOO_MANY_REQUESTS``), and the reading of an answer."""
    from liqcore.venues.governor import governor_for

    def observe(gov, status, headers):
        return gov.observe(status, headers)

    return governor_for("gate", base), 1, observe


def snapshot_error(doc) -> str | None:
    """The error an order-book answer carries (Gate: ``{"label", "message"}``), or None."""
    if isinstance(doc, dict) and "label" in doc:
        return f"{doc.get('label')} {doc.get('message', '')}".strip()
    return None


# ---- the feed manager's requests (liqcore.live.feeds)
def stream_messages(op: str, topics: list) -> list[bytes]:
    from liqcore.venues.gate.stream import subscribe_messages

    return subscribe_messages(list(topics), op=op)


def topic_symbol(topic: str) -> str:
    """The contract of a topic ("" for the ``!all`` liquidations)."""
    p = orjson.loads(topic).get("payload") or [""]
    return "" if p[0] == "!all" else str(p[0]).upper()


def url_without(url: str, topics: list):
    return None


# ---- data on demand (liqcore.live.ondemand)
PER_MESSAGE = 50


def ondemand_names(symbol: str, opts: dict) -> list:
    from liqcore.venues.gate.stream import LIQUIDATIONS_ALL, topics

    return [t for t in topics([symbol], trades=opts.get("trades", True), book=opts.get("book", False))
            if t != LIQUIDATIONS_ALL]


def subscribe_message(op: str, names: list, msg_id: int) -> dict:
    payload = [p for n in names for p in orjson.loads(n)["payload"]]
    channel = orjson.loads(names[0])["channel"] if names else "futures.trades"
    return {"time": 0, "id": msg_id, "channel": channel, "event": op, "payload": payload}


def category(name) -> None:
    return None


def connection_bases(symbols: list, *, url=None, network="mainnet") -> dict:
    from liqcore.venues.gate.stream import connection_specs

    return {None: connection_specs(symbols[:1], url=url, network=network)[0]}


def wire_name(symbol: str) -> str:
    """Gate asks and answers by contract name (``ETHUSDT`` -> ``ETH_USDT``)."""
    from liqcore.venues.gate.stream import contract

    return contract(symbol)


def frame_symbol(data: bytes) -> str | None:
    """The contract of a per-contract push (trades, book ticker); None for the liquidations (every contract's), an
    answer and a pong."""
    head = data[:120]
    if b'"event":"update"' not in head or b"futures.public_liquidates" in head:
        return None
    for tag in (b'"contract":"', b'"s":"'):
        k = data.find(tag)
        if k >= 0:
            k += len(tag)
            return data[k:data.find(b'"', k)].decode()
    return None


# ---- the whole market: the instrument list
def _rule(row: dict, Instrument):
    """Gate's grid in base units: ``order_price_round``; lot and minimum in contracts of ``quanto_multiplier``."""
    ct = wire_number(row["quanto_multiplier"])
    return Instrument(str(row["name"]), wire_number(row["order_price_round"]), ct,
                      wire_number(row.get("order_size_min", 1)) * ct)


async def fetch_instruments(kit, base: str, quote: str, left: dict):
    """The USDT perpetuals that trade (``GET /api/v4/futures/usdt/contracts``: ``type`` direct, not
    ``in_delisting``) with their rules, 24 h turnover (``GET /api/v4/futures/usdt/tickers``: ``volume_24h_quote``)
    and each one's ``quanto_multiplier`` -> ``(rules, turnover, contract)``."""
    rows = await kit.get(f"{API}/contracts")
    if not isinstance(rows, list):
        raise kit.error(f"instrument list: {base}{API}/contracts answered no contract list")
    rules: dict = {}
    kit.take(rows, left, rules, (("type", "direct", "not_linear"), ("in_delisting", False, "not_trading")),
             "name", lambda row: _rule(row, kit.Instrument))
    contract = {str(r["name"]): wire_number(r["quanto_multiplier"]) for r in rows
                if isinstance(r, dict) and str(r.get("name")) in rules}
    tick = await kit.get(f"{API}/tickers")
    return rules, kit.turnover(tick if isinstance(tick, list) else [], "contract",
                               lambda t: wire_number(t["volume_24h_quote"])), contract


def answer_rules(obj) -> dict | None:
    """contract -> Instrument of the contracts that trade in a ``GET /api/v4/futures/usdt/contracts`` answer (a
    file the user kept: the backtest's ``--instruments``); None when ``obj`` is not one."""
    from liqcore.venues.gate.contracts import is_contract_list
    from liqcore.venues.instruments import Instrument

    if not is_contract_list(obj):
        return None
    out = {}
    for r in obj:
        if r.get("type", "direct") == "direct" and not r.get("in_delisting", False):
            try:
                out[str(r["name"])] = _rule(r, Instrument)
            except (ValueError, KeyError, TypeError):
                pass  # a malformed row: that contract has no known rules
    return out


def shipped_rules() -> dict:
    """contract -> Instrument of the bundled contract list (a replay's paper orders: no list is asked of Gate)."""
    from liqcore.venues.gate.contracts import shipped_contracts

    return answer_rules(list(shipped_contracts())) or {}

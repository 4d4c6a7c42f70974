"""Binance USD-M futures frames and third-party CSV recordings -> events.  Pure: no I/O, no asyncio.

``forceOrder``, ``aggTrade``, ``markPriceUpdate``, ``trade``, ``bookTicker`` (``depthUpdate`` counted as
``depth_skipped``), control frames, and the CSV dumps (:func:`parse_csv_liquidations`,
:func:`parse_csv_agg_trades`).  Each frame's fields, sides and flags: docs/maintainers/data.md, "The venues'
websocket frames, decoded", and docs/data.md, "Sides".

May import: the standard library, numpy and ``venues.common``.
"""
from __future__ import annotations

import numpy as np

from liqcore.venues.common import (
    CONTROL,
    QUOTE_SUFFIXES,
    Reject,
    Sink,
    ms_to_ns,
    num,
    parse_frame,
    pos,
    side_of,
    trade_id,
)

__all__ = [
    "parse_obj",
    "parse_force_order",
    "parse",
    "parse_csv_liquidations",
    "parse_csv_agg_trades",
    "restore_symbol",
    "VENUE",
    "LIQUIDATION_SIDES",
]

VENUE = 2  # Venue.BINANCE
_LIQ = 1
_TRADE = 2
_MARK = 3
_FUNDING = 4
_QUOTE = 7
_SAMPLED = 8
_TIME_RECOVERED = 16  # Flag.TIME_RECOVERED
#: the liquidation side table (wire value -> liqcore side; the venue page shows it): o.S is the forced close
#: order's side, SELL closes a LONG (a trade's side comes from "m", the buyer was the maker: no table)
LIQUIDATION_SIDES = {"SELL": 1, "BUY": 2, "Sell": 1, "Buy": 2, "sell": 1, "buy": 2}


def _base(sym, qty: float, price: float) -> float:
    """A size in base units: a COIN-M symbol's (``BTCUSD_PERP``: contracts) at ``price``, else as given."""
    if sym.__class__ is str and "USD_" in sym:
        from liqcore.venues.binance.contracts import contract_usd, is_coin_m

        if is_coin_m(sym):
            return qty * contract_usd(sym) / price if qty > 0 else 0.0
    return qty


def parse_force_order(o, sink: Sink) -> int:
    """Append one forceOrder ``o`` object (also the payload of Binance log lines; a COIN-M symbol's sizes are
    contracts, read as base units at the average price)."""
    if o.__class__ is not dict:
        raise Reject("missing_field", "o")
    side = side_of(LIQUIDATION_SIDES, o.get("S"), "o.S")
    ap = pos(o.get("ap"), "o.ap")
    sym = o.get("s")
    sink.rows.append(
        (
            ms_to_ns(o.get("T"), "o.T"),
            sink.recv_ns,
            ap,
            _base(sym, pos(o.get("z"), "o.z"), ap),
            sink.sid(VENUE, sym),
            side,
            _LIQ,
            VENUE,
            _SAMPLED,
        )
    )
    return 1


def _agg_trade(d: dict, sink: Sink) -> int:
    m = d.get("m")
    if m is True:
        side = 4
    elif m is False:
        side = 3
    else:
        raise Reject("missing_field" if m is None else "bad_side", "m")
    rows = sink.rows
    p = pos(d.get("p"), "p")
    sym = d.get("s")
    rows.append(
        (
            ms_to_ns(d.get("T"), "T"),
            sink.recv_ns,
            p,
            _base(sym, pos(d.get("q"), "q"), p),
            sink.sid(VENUE, sym),
            side,
            _TRADE,
            VENUE,
            0,
        )
    )
    tid = d.get("a")  # aggTrade: the aggregate trade id; trade: the trade id
    if tid is None:
        tid = d.get("t")
    if tid is not None:
        sink.tids[len(rows) - 1] = trade_id(tid)
    return 1


def _trade(d: dict, sink: Sink) -> int:
    x = d.get("X")
    if x is not None and x != "MARKET":  # insurance-fund / ADL / other prints: not market trades
        sink.count("non_market_trade")
        return 0
    return _agg_trade(d, sink)


def _side_of_book(price, size, pname: str, sname: str) -> tuple[float, float]:
    """(price, displayed size) of one side of the book; size 0 = empty side (price 0)."""
    qty = num(size, sname)
    if qty < 0:
        raise Reject("non_positive", sname)
    if qty == 0:
        return 0.0, 0.0
    return pos(price, pname), qty


def _book_ticker(d: dict, sink: Sink) -> int:
    t = d.get("T")
    ts = ms_to_ns(t if t not in (None, 0) else d.get("E"), "T")
    bid, bid_qty = _side_of_book(d.get("b"), d.get("B"), "b", "B")
    ask, ask_qty = _side_of_book(d.get("a"), d.get("A"), "a", "A")
    sym = d.get("s")
    sid = sink.sid(VENUE, sym)
    recv = sink.recv_ns
    bid_qty, ask_qty = _base(sym, bid_qty, bid), _base(sym, ask_qty, ask)
    sink.rows.append((ts, recv, bid, bid_qty, sid, 3, _QUOTE, VENUE, 0))
    sink.rows.append((ts, recv, ask, ask_qty, sid, 4, _QUOTE, VENUE, 0))
    return 2


def _mark_price(d: dict, sink: Sink) -> int:
    ts = ms_to_ns(d.get("E"), "E")
    sid = sink.sid(VENUE, d.get("s"))
    mark = pos(d.get("p"), "p")
    r = d.get("r")
    rate = num(r, "r") if r not in (None, "") else None
    recv = sink.recv_ns
    sink.rows.append((ts, recv, mark, 0.0, sid, 0, _MARK, VENUE, 0))
    if rate is None:
        return 1
    sink.rows.append((ts, recv, rate, 0.0, sid, 0, _FUNDING, VENUE, 0))
    return 2


def _payload(d, sink: Sink) -> int:
    e = d.get("e")
    if e == "forceOrder":
        return parse_force_order(d.get("o"), sink)
    if e == "aggTrade":
        return _agg_trade(d, sink)
    if e == "markPriceUpdate":
        return _mark_price(d, sink)
    if e == "bookTicker":
        return _book_ticker(d, sink)
    if e == "trade":
        return _trade(d, sink)
    if e == "depthUpdate":  # order-book depth: recognised, not decoded
        sink.count("depth_skipped")
        return 0
    if e is None:
        raise Reject("missing_field", "e")
    raise Reject("unknown_topic", "e")


def parse_obj(obj, sink: Sink) -> int:
    """Decode one Binance frame (JSON-decoded) into ``sink``.  Returns events appended or CONTROL;
    raises Reject for an unusable frame.  Arrays (``!markPrice@arr``) count bad items per item."""
    cls = obj.__class__
    if cls is dict:
        if "e" in obj:
            return _payload(obj, sink)
        if "data" in obj and "stream" in obj:
            return parse_obj(obj["data"], sink)
        if "id" in obj and ("result" in obj or "error" in obj):
            return CONTROL
        raise Reject("unknown_topic", "e")
    if cls is list:
        n = 0
        for d in obj:
            try:
                if d.__class__ is not dict:
                    raise Reject("unknown_topic", "e")
                n += _payload(d, sink)
            except Reject as r:
                sink.reject_item(r)
        return n
    raise Reject("unknown_topic", "frame")


def parse(frame, recv_ns: int | None = None, registry=None) -> np.ndarray:
    """One raw Binance frame -> events (EVENT_DTYPE).  Raises Reject on an unusable frame."""
    return parse_frame(frame, Sink(registry), parse_obj, recv_ns)


# --------------------------------------------------------------------------------- CSV recordings


def restore_symbol(s: str) -> str:
    """Undo the recorders' "USDT" stripping: ``BTC`` -> ``BTCUSDT``, ``1000PEPE`` -> ``1000PEPEUSDT``;
    symbols already ending in a quote currency (USDT, USDC, BUSD, FDUSD) are kept as they are, and so is a
    delivery or COIN-M symbol (``BTCUSDT_240927``, ``BTCUSD_PERP``, ``ETHUSD_241227``: an underscore, never stripped)."""
    s = s.strip().upper()
    if (s.endswith(QUOTE_SUFFIXES) and s not in QUOTE_SUFFIXES) or ("_" in s and not s.startswith("_")):
        return s
    return s + "USDT"


def _lines(data: bytes):
    for lineno, raw in enumerate(data.split(b"\n"), 1):
        line = raw.strip()
        if line:
            yield lineno, line


def parse_csv_liquidations(data: bytes, st) -> None:
    """Third-party ``!forceOrder@arr`` CSV: headerless ``s,S,o,f,q,p,ap,X,l,z,T,usd_size[,tier]``.

    One liquidation per row: price = ap, qty = z (a COIN-M symbol's: contracts, read as base units at ``ap``),
    ts_event = T, side from S (SELL -> LONG liquidated), symbol restored by :func:`restore_symbol`, flag SAMPLED.  ``usd_size`` (recorder-computed) and the
    optional 13th ``tier`` column are ignored, so rows that differ only there collapse into one
    liquidation in the loader's duplicate removal.  ``st``: the loader's per-file state (``sink``,
    ``records``, ``bad(lineno, reason, field)``).
    """
    sink = st.sink
    rows = sink.rows
    recv = sink.recv_ns
    ids = {}
    for lineno, line in _lines(data):
        st.records += 1
        try:
            f = line.decode("utf-8", "replace").split(",")
            if len(f) < 11:
                raise Reject("bad_row", f"{len(f)} columns")
            if f[1].strip() == "S" and f[0].strip() == "s":  # a header row
                st.records -= 1
                continue
            side = LIQUIDATION_SIDES.get(f[1].strip())
            if side is None:
                raise Reject("bad_side", "S")
            sym = f[0].strip()
            got = ids.get(sym)
            if got is None:
                if not sym:
                    raise Reject("missing_field", "s")
                name = restore_symbol(sym)
                got = ids[sym] = (sink.sid(VENUE, name), name)
            sid, name = got
            ap = pos(f[6].strip(), "ap")
            rows.append(
                (
                    ms_to_ns(f[10].strip(), "T"),
                    recv,
                    ap,
                    _base(name, pos(f[9].strip(), "z"), ap),
                    sid,
                    side,
                    _LIQ,
                    VENUE,
                    _SAMPLED,
                )
            )
        except Reject as r:
            st.bad(lineno, r.reason, r.field)


def parse_csv_agg_trades(data: bytes, st) -> None:
    """Third-party aggTrade CSV: headerless ``E,symbol,a,p,q,T,m[,usd_size,tier]`` (spaces allowed).

    TRADE ts_event = T, price = p, qty = q (a COIN-M symbol's: contracts, read as base units at ``p``), side
    from m (True -> taker SELL).  Some recorders wrote a
    wall-clock ``HH:MM:SS`` (local time) in T instead of ms.  Such a row is dropped and counted as
    ``wall_clock_time_duplicate`` when the same (symbol, aggregate id ``a``) appears with a real T in
    the file (in the known recordings every one of them does); otherwise its time is recovered from
    E (the event time, a few ms after T), the event is flagged ``Flag.TIME_RECOVERED`` and counted in
    ``recovered_time_from_E``.
    """
    sink = st.sink
    rows = sink.rows
    recv = sink.recv_ns
    parsed = []
    good_ids = set()
    for lineno, line in _lines(data):
        f = [c.strip() for c in line.decode("utf-8", "replace").split(",")]
        if f and f[0].upper() == "E":  # a header row
            continue
        parsed.append((lineno, f))
        if len(f) >= 7 and ":" not in f[5]:
            good_ids.add((f[1], f[2]))
    ids = {}
    for lineno, f in parsed:
        st.records += 1
        try:
            if len(f) < 7:
                raise Reject("bad_row", f"{len(f)} columns")
            t = f[5]
            flags = 0
            if ":" in t:
                if (f[1], f[2]) in good_ids:
                    raise Reject("wall_clock_time_duplicate", "T")
                ts = ms_to_ns(f[0], "E")
                flags = _TIME_RECOVERED
                sink.count("recovered_time_from_E")
            else:
                ts = ms_to_ns(t, "T")
            m = f[6].lower()
            if m == "true":
                side = 4
            elif m == "false":
                side = 3
            else:
                raise Reject("bad_side", "m")
            sym = f[1]
            got = ids.get(sym)
            if got is None:
                if not sym:
                    raise Reject("missing_field", "symbol")
                name = restore_symbol(sym)
                got = ids[sym] = (sink.sid(VENUE, name), name)
            sid, name = got
            p = pos(f[3], "p")
            rows.append((ts, recv, p, _base(name, pos(f[4], "q"), p), sid, side, _TRADE, VENUE, flags))
        except Reject as r:
            st.bad(lineno, r.reason, r.field)

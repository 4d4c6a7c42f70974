"""Sample Binance USD-M public frames, built from values: the engine's warm path (and tests) use these
instead of writing frames by hand.  The shapes are the ones :mod:`liqcore.venues.binance.parse` reads.

The details: docs/maintainers/fakes.md, "Sample Binance USD-M public frames, built from values
(liqcore.venues.binance.samples)".

May import: the standard library, ``liqcore.types`` and ``venues.instruments`` (the synthetic market's
frames, :func:`render_synthetic`).
"""
from __future__ import annotations

__all__ = ["liquidation_frame", "book_ticker_frame", "trade_frame", "agg_trade_frame", "render_synthetic"]

_LIQ = (b'{"e":"forceOrder","E":%d,"o":{"s":"%s","S":"%s","o":"LIMIT","f":"IOC","q":"%.4f",'
        b'"p":"%.2f","ap":"%.2f","X":"FILLED","l":"%.4f","z":"%.4f","T":%d}}')


def liquidation_frame(symbol: str, t_ms: int, qty: float, price: float, side: str = "SELL") -> bytes:
    """One ``forceOrder`` push of one filled liquidation order at ``t_ms`` (event and trade time, ms): ``qty``
    base units (4 decimals) at ``price`` (2 decimals, also the average price); ``side`` ``SELL`` (long
    liquidated) or ``BUY``."""
    return _LIQ % (t_ms, symbol.encode(), side.encode(), qty, price, price, qty, qty, t_ms)


_BOOK = (b'{"e":"bookTicker","u":%d,"E":%d,"T":%d,"s":"%s","b":"%.2f","B":"%.3f","a":"%.2f","A":"%.3f"}')
_TRADE = b'{"e":"trade","E":%d,"T":%d,"s":"%s","t":%d,"p":"%.2f","q":"%.3f","X":"MARKET","m":%s}'


def book_ticker_frame(symbol: str, t_ms: int, bid: float, bid_qty: float, ask: float, ask_qty: float,
                      update_id: int = 1, stream: bool = False) -> bytes:
    """One ``bookTicker`` push at ``t_ms`` (transaction time; event time 1 ms later): best bid ``bid``
    for ``bid_qty`` base units, best ask ``ask`` for ``ask_qty`` (prices 2 decimals, sizes 3; size 0 =
    an empty side).  ``stream=True`` wraps it as a combined stream does."""
    f = _BOOK % (update_id, t_ms + 1, t_ms, symbol.encode(), bid, bid_qty, ask, ask_qty)
    if stream:
        return b'{"stream":"%s@bookTicker","data":%s}' % (symbol.lower().encode(), f)
    return f


def trade_frame(symbol: str, t_ms: int, qty: float, price: float, taker: str = "BUY", trade_id: int = 1,
                stream: bool = False) -> bytes:
    """One raw ``trade`` push at ``t_ms`` (trade time): ``qty`` base units at ``price``; ``taker``
    ``BUY`` (buyer is the taker: ``m`` false) or ``SELL``."""
    f = _TRADE % (t_ms + 1, t_ms, symbol.encode(), trade_id, price, qty, b"true" if taker == "SELL" else b"false")
    if stream:
        return b'{"stream":"%s@trade","data":%s}' % (symbol.lower().encode(), f)
    return f


_AGG = b'{"e":"aggTrade","E":%d,"s":"%s","a":%d,"p":"%.2f","q":"%.3f","f":%d,"l":%d,"T":%d,"m":%s}'


def agg_trade_frame(symbol: str, t_ms: int, qty: float, price: float, taker: str = "BUY", agg_id: int = 1,
                    stream: bool = False) -> bytes:
    """One ``aggTrade`` push at ``t_ms`` (trade time; event time 1 ms later): ``qty`` base units at ``price``,
    one trade (first = last = ``agg_id``); ``taker`` ``BUY`` (``m`` false) or ``SELL``.  ``stream=True`` wraps it
    as a combined stream does."""
    f = _AGG % (t_ms + 1, symbol.encode(), agg_id, price, qty, agg_id, agg_id, t_ms,
                b"true" if taker == "SELL" else b"false")
    if stream:
        return b'{"stream":"%s@aggTrade","data":%s}' % (symbol.lower().encode(), f)
    return f


# ---- the synthetic market's frames (liqcore.synthetic.market.Market.frames asks for them through the registry)
_NS_PER_MS = 1_000_000


def _fmt(x: float, dec: int) -> str:
    return f"{x:.{dec}f}"


def render_synthetic(order, ts, recv, px, q, sid, side, kind, shown, names, pdec, qdec, fund_mean):
    """Binance frames; ``fund_mean``: the funding rate a mark price shows before the symbol's first funding
    print (Binance has no funding message: the rate rides on the mark price updates)."""
    from liqcore.types import Kind, Side  # (the events' codes: the synthetic market's columns)

    agg_id: dict[int, int] = {}
    funding: dict[int, float] = {}
    for j in order:
        s = sid[j]
        sym = names[s]
        k = kind[j]
        ms = ts[j] // _NS_PER_MS
        r = recv[j]
        if k == Kind.LIQUIDATION:
            if not shown[j]:
                continue
            qs = _fmt(q[j], qdec[s])
            ps = _fmt(px[j], pdec[s])
            msg = ('{"stream":"!forceOrder@arr","data":{"e":"forceOrder","E":%d,"o":{"s":"%s","S":"%s",'
                   '"o":"LIMIT","f":"IOC","q":"%s","p":"%s","ap":"%s","X":"FILLED","l":"%s","z":"%s","T":%d}}}'
                   % (r // _NS_PER_MS, sym, "SELL" if side[j] == Side.LONG else "BUY", qs, ps, ps, qs, qs, ms))
        elif k == Kind.TRADE:
            a = agg_id.get(s, 0) + 1
            agg_id[s] = a
            msg = ('{"stream":"%s@aggTrade","data":{"e":"aggTrade","E":%d,"s":"%s","a":%d,"p":"%s","q":"%s",'
                   '"f":%d,"l":%d,"T":%d,"m":%s}}'
                   % (sym.lower(), r // _NS_PER_MS, sym, a, _fmt(px[j], pdec[s]), _fmt(q[j], qdec[s]), a, a, ms,
                      "true" if side[j] == Side.SELL else "false"))
        elif k == Kind.FUNDING:
            # Binance has no funding message: the new rate rides on the following markPriceUpdates
            funding[s] = px[j]
            continue
        elif k == Kind.MARK:
            next_ms = (ms // 28_800_000 + 1) * 28_800_000
            ps = _fmt(px[j], pdec[s] + 2)
            msg = ('{"stream":"%s@markPrice","data":{"e":"markPriceUpdate","E":%d,"s":"%s","p":"%s","i":"%s",'
                   '"P":"%s","r":"%s","T":%d}}'
                   % (sym.lower(), ms, sym, ps, ps, ps, _fmt(funding.get(s, fund_mean), 8), next_ms))
        else:
            continue
        yield r, msg.encode()

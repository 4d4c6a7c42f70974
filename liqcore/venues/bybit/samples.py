"""Sample Bybit v5 public frames, built from values: the engine's warm path (and tests) use these instead
of writing frames by hand.  The shapes are the ones :mod:`liqcore.venues.bybit.parse` reads.

``allLiquidation.{symbol}`` (one event; ``S="Buy"``: a LONG liquidated, Bybit's convention)::

    {"topic":"allLiquidation.ETHUSDT","type":"snapshot","ts":1739502303204,
     "data":[{"T":1739502303204,"s":"ETHUSDT","S":"Buy","v":"10.0000","p":"3000.00"}]}

``orderbook.1.{symbol}`` (top of book)::

    {"topic":"orderbook.1.ETHUSDT","type":"snapshot","ts":1739502303206,
     "data":{"s":"ETHUSDT","b":[["2999.99","12.500"]],"a":[["3000.00","3.250"]],"u":1,"seq":1},
     "cts":1739502303204}
"""
from __future__ import annotations

__all__ = ["liquidation_frame", "orderbook_frame", "trade_obj", "render_synthetic"]

_LIQ = (b'{"topic":"allLiquidation.%s","type":"snapshot","ts":%d,"data":[{"T":%d,"s":"%s","S":"%s",'
        b'"v":"%.4f","p":"%.2f"}]}')


def liquidation_frame(symbol: str, t_ms: int, qty: float, price: float, side: str = "Buy") -> bytes:
    """One ``allLiquidation`` push of one liquidation at ``t_ms`` (venue and event time, ms): ``qty`` base
    units (4 decimals) at ``price`` (2 decimals); ``side`` ``Buy`` (long liquidated) or ``Sell``."""
    s = symbol.encode()
    return _LIQ % (s, t_ms, t_ms, s, side.encode(), qty, price)


_BOOK = b'{"topic":"orderbook.1.%s","type":"%s","ts":%d,"data":{"s":"%s","b":[%s],"a":[%s],"u":%d,"seq":%d},"cts":%d}'


def trade_obj(symbol: str, price, qty=1.0, side: str = "Sell", ts_ms: int | None = None, trade_id: str = "t") -> dict:
    """A ``publicTrade.{symbol}`` push of one trade, as a dict (``side``: the taker side; ``ts_ms``: its time, ms,
    None: now; price and size as the decimal strings of ``price`` and ``qty``)."""
    import time

    t = int(time.time() * 1000) if ts_ms is None else int(ts_ms)
    return {"topic": f"publicTrade.{symbol}", "type": "snapshot", "ts": t,
            "data": [{"T": t, "s": symbol, "S": side, "v": str(qty), "p": str(price), "L": "MinusTick",
                      "i": trade_id, "BT": False}]}


def orderbook_frame(symbol: str, t_ms: int, bid: float, bid_qty: float, ask: float, ask_qty: float,
                    update_id: int = 1, kind: str = "snapshot") -> bytes:
    """One ``orderbook.1`` push with matching-engine time ``t_ms`` (feed time 2 ms later): best bid
    ``bid`` for ``bid_qty`` base units, best ask ``ask`` for ``ask_qty`` (prices 2 decimals, sizes 3);
    a size of None leaves that side's list empty (an empty book side in a snapshot, unchanged in a
    ``delta``)."""
    s = symbol.encode()
    b = b"" if bid_qty is None else b'["%.2f","%.3f"]' % (bid, bid_qty)
    a = b"" if ask_qty is None else b'["%.2f","%.3f"]' % (ask, ask_qty)
    return _BOOK % (s, kind.encode(), t_ms + 2, s, b, a, update_id, update_id, t_ms)


# ---- the synthetic market's frames (liqcore.synthetic.market.Market.frames asks for them through the registry)
_NS_PER_MS = 1_000_000


def _fmt(x: float, dec: int) -> str:
    return f"{x:.{dec}f}"


def render_synthetic(order, ts, recv, px, q, sid, side, kind, shown, names, pdec, qdec, fund_mean=None):
    """Bybit frames (every event shown: ``shown`` unused; the funding rate comes on the tickers: ``fund_mean`` unused)."""
    from liqcore.types import Kind, Side  # (the events' codes: the synthetic market's columns)

    seen_ticker: set[int] = set()
    trade_seq = 0
    i = 0
    n = len(order)
    while i < n:
        j = order[i]
        s = sid[j]
        sym = names[s]
        k = kind[j]
        ms = ts[j] // _NS_PER_MS
        if k == Kind.LIQUIDATION:
            # a 500 ms batch: consecutive (in receive order) liquidations of the symbol, same recv
            items = []
            r = recv[j]
            while i < n:
                j2 = order[i]
                if kind[j2] != Kind.LIQUIDATION or sid[j2] != s or recv[j2] != r:
                    break
                items.append(
                    '{"T":%d,"s":"%s","S":"%s","v":"%s","p":"%s"}'
                    % (ts[j2] // _NS_PER_MS, sym, "Buy" if side[j2] == Side.LONG else "Sell",
                       _fmt(q[j2], qdec[s]), _fmt(px[j2], pdec[s]))
                )
                i += 1
            msg = '{"topic":"allLiquidation.%s","type":"snapshot","ts":%d,"data":[%s]}' % (
                sym, r // _NS_PER_MS, ",".join(items))
            yield r, msg.encode()
            continue
        if k == Kind.TRADE:
            trade_seq += 1
            msg = (
                '{"topic":"publicTrade.%s","type":"snapshot","ts":%d,"data":[{"T":%d,"s":"%s","S":"%s",'
                '"v":"%s","p":"%s","L":"ZeroPlusTick","i":"syn-%d","BT":false,"seq":%d}]}'
                % (sym, ms, ms, sym, "Buy" if side[j] == Side.BUY else "Sell", _fmt(q[j], qdec[s]),
                   _fmt(px[j], pdec[s]), trade_seq, trade_seq)
            )
        elif k == Kind.MARK:
            typ = "delta" if s in seen_ticker else "snapshot"
            seen_ticker.add(s)
            extra = ""
            if i + 1 < n:
                j2 = order[i + 1]
                if kind[j2] == Kind.OPEN_INTEREST and sid[j2] == s and recv[j2] == recv[j] and ts[j2] == ts[j]:
                    extra = ',"openInterest":"%s"' % _fmt(q[j2], qdec[s])
                    i += 1
            msg = '{"topic":"tickers.%s","type":"%s","ts":%d,"cs":%d,"data":{"symbol":"%s","markPrice":"%s"%s}}' % (
                sym, typ, ms, ms, sym, _fmt(px[j], pdec[s]), extra)
        elif k == Kind.FUNDING:
            typ = "delta" if s in seen_ticker else "snapshot"
            seen_ticker.add(s)
            next_ms = (ms // 28_800_000 + 1) * 28_800_000
            msg = ('{"topic":"tickers.%s","type":"%s","ts":%d,"cs":%d,"data":{"symbol":"%s","fundingRate":"%s",'
                   '"nextFundingTime":"%d"}}' % (sym, typ, ms, ms, sym, _fmt(px[j], 6), next_ms))
        else:
            i += 1
            continue
        yield recv[j], msg.encode()
        i += 1

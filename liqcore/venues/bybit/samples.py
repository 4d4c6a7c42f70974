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

__all__ = ["liquidation_frame", "orderbook_frame"]

_LIQ = (b'{"topic":"allLiquidation.%s","type":"snapshot","ts":%d,"data":[{"T":%d,"s":"%s","S":"%s",'
        b'"v":"%.4f","p":"%.2f"}]}')


def liquidation_frame(symbol: str, t_ms: int, qty: float, price: float, side: str = "Buy") -> bytes:
    """One ``allLiquidation`` push of one liquidation at ``t_ms`` (venue and event time, ms): ``qty`` base
    units (4 decimals) at ``price`` (2 decimals); ``side`` ``Buy`` (long liquidated) or ``Sell``."""
    s = symbol.encode()
    return _LIQ % (s, t_ms, t_ms, s, side.encode(), qty, price)


_BOOK = b'{"topic":"orderbook.1.%s","type":"%s","ts":%d,"data":{"s":"%s","b":[%s],"a":[%s],"u":%d,"seq":%d},"cts":%d}'


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

"""Sample Binance USD-M public frames, built from values: the engine's warm path (and tests) use these
instead of writing frames by hand.  The shapes are the ones :mod:`liqcore.venues.binance.parse` reads.

``forceOrder`` (one liquidation order; ``S="SELL"``: a LONG liquidated, Binance's convention)::

    {"e":"forceOrder","E":1739502303204,"o":{"s":"ETHUSDT","S":"SELL","o":"LIMIT","f":"IOC",
     "q":"10.0000","p":"3000.00","ap":"3000.00","X":"FILLED","l":"10.0000","z":"10.0000","T":1739502303204}}
"""
from __future__ import annotations

__all__ = ["liquidation_frame"]

_LIQ = (b'{"e":"forceOrder","E":%d,"o":{"s":"%s","S":"%s","o":"LIMIT","f":"IOC","q":"%.4f",'
        b'"p":"%.2f","ap":"%.2f","X":"FILLED","l":"%.4f","z":"%.4f","T":%d}}')


def liquidation_frame(symbol: str, t_ms: int, qty: float, price: float, side: str = "SELL") -> bytes:
    """One ``forceOrder`` push of one filled liquidation order at ``t_ms`` (event and trade time, ms): ``qty``
    base units (4 decimals) at ``price`` (2 decimals, also the average price); ``side`` ``SELL`` (long
    liquidated) or ``BUY``."""
    return _LIQ % (t_ms, symbol.encode(), side.encode(), qty, price, price, qty, qty, t_ms)

"""Sample Bybit v5 public frames, built from values: the engine's warm path (and tests) use these instead
of writing frames by hand.  The shapes are the ones :mod:`liqcore.venues.bybit.parse` reads.

``allLiquidation.{symbol}`` (one event; ``S="Buy"``: a LONG liquidated, Bybit's convention)::

    {"topic":"allLiquidation.ETHUSDT","type":"snapshot","ts":1739502303204,
     "data":[{"T":1739502303204,"s":"ETHUSDT","S":"Buy","v":"10.0000","p":"3000.00"}]}
"""
from __future__ import annotations

__all__ = ["liquidation_frame"]

_LIQ = (b'{"topic":"allLiquidation.%s","type":"snapshot","ts":%d,"data":[{"T":%d,"s":"%s","S":"%s",'
        b'"v":"%.4f","p":"%.2f"}]}')


def liquidation_frame(symbol: str, t_ms: int, qty: float, price: float, side: str = "Buy") -> bytes:
    """One ``allLiquidation`` push of one liquidation at ``t_ms`` (venue and event time, ms): ``qty`` base
    units (4 decimals) at ``price`` (2 decimals); ``side`` ``Buy`` (long liquidated) or ``Sell``."""
    s = symbol.encode()
    return _LIQ % (s, t_ms, t_ms, s, side.encode(), qty, price)

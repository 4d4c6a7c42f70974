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

"""A whole venue's instruments for the fakes: ``market_instruments(400)`` lists 400 USDT perpetuals, the five
majors on their usual grids and a long tail on grids from 0.1 down to 0.00001 (tick) and 0.001 up to 100 (lot),
each with a minimum quantity, a minimum notional, a price and a 24 h turnover; the venue answers built from them
are the ones each venue's public REST API gives (the shapes :mod:`liqcore.market.universe` reads):

* Binance USD-M ``/fapi/v1/exchangeInfo`` (:func:`binance_exchange_info`) and ``/fapi/v1/ticker/24hr``
  (:func:`binance_tickers`);
* Bybit v5 ``/v5/market/instruments-info?category=linear``, paged by ``cursor`` at ``limit`` rows (at most 1000;
  :func:`bybit_instruments_page`) and ``/v5/market/tickers?category=linear`` (:func:`bybit_tickers`);
* OKX v5 ``/api/v5/public/instruments?instType=SWAP`` (contracts of ``ctVal`` base units: lot and minimum in
  contracts; :func:`okx_instruments`) and ``/api/v5/market/tickers?instType=SWAP`` (:func:`okx_tickers`).

A row is a dict: ``tickSize``, ``qtyStep``, ``minOrderQty`` (base units), ``minNotional`` (quote), ``price``,
``turnover`` (24 h, quote): the first three are what :class:`liqcore.venues.fake_book.FakeVenue` matches on.
"""
from __future__ import annotations

import random

from liqcore.venues.fake_book import DEFAULT_INSTRUMENTS, bybit_category, fmt_num

__all__ = ["market_instruments", "binance_exchange_info", "binance_tickers", "bybit_instruments_page",
           "bybit_tickers", "okx_instruments", "okx_tickers", "okx_inst_id"]

_MAJOR_PRICES = {"BTCUSDT": 60_000.0, "ETHUSDT": 3_000.0, "SOLUSDT": 150.0, "XRPUSDT": 0.6, "DOGEUSDT": 0.15}
#: (tick, lot) pairs of the long tail, with a price each grid suits
_GRIDS = ((0.1, 0.001, 2_000.0), (0.01, 0.1, 40.0), (0.001, 1.0, 3.0), (0.0001, 10.0, 0.4), (0.00001, 100.0, 0.02))


def market_instruments(n: int = 400, seed: int = 0, prefix: str = "Z") -> dict[str, dict[str, float]]:
    """``n`` USDT perpetuals (the five majors first, then ``<prefix>000USDT``, ...), sorted by name."""
    if n < 1:
        raise ValueError("n: at least one instrument")
    rng = random.Random(seed)
    out: dict[str, dict[str, float]] = {}
    for s, g in list(DEFAULT_INSTRUMENTS.items())[:n]:
        out[s] = dict(g, minNotional=5.0, price=_MAJOR_PRICES.get(s, 1.0), turnover=rng.uniform(1e9, 2e10))
    for i in range(n - len(out)):
        tick, lot, price = _GRIDS[i % len(_GRIDS)]
        out[f"{prefix}{i:03d}USDT"] = {"tickSize": tick, "qtyStep": lot, "minOrderQty": lot, "minNotional": 5.0,
                                       "price": round(price * rng.uniform(0.5, 2.0) / tick) * tick,
                                       "turnover": rng.lognormvariate(15.0, 2.0)}
    return dict(sorted(out.items()))


def binance_exchange_info(instruments: dict, server_ms: int = 0) -> dict:
    return {"timezone": "UTC", "serverTime": server_ms, "symbols": [
        {"symbol": s, "pair": s, "contractType": "PERPETUAL", "status": "TRADING", "baseAsset": s[:-4],
         "quoteAsset": "USDT", "marginAsset": "USDT", "filters": [
             {"filterType": "PRICE_FILTER", "tickSize": fmt_num(i["tickSize"]), "minPrice": fmt_num(i["tickSize"]),
              "maxPrice": "1000000"},
             {"filterType": "LOT_SIZE", "stepSize": fmt_num(i["qtyStep"]), "minQty": fmt_num(i["minOrderQty"]),
              "maxQty": "1000000"},
             {"filterType": "MIN_NOTIONAL", "notional": fmt_num(i.get("minNotional", 5.0))}]}
        for s, i in instruments.items()]}


def binance_tickers(instruments: dict) -> list[dict]:
    return [{"symbol": s, "lastPrice": fmt_num(i.get("price", 1.0)), "quoteVolume": f"{i.get('turnover', 0.0):.2f}"}
            for s, i in instruments.items()]


def bybit_instruments_page(instruments: dict, query: dict) -> dict:
    """One page of ``/v5/market/instruments-info`` (``category`` linear or inverse: its symbols; ``symbol`` narrows
    it; ``limit`` 1-1000, default 500; ``cursor``: where the previous page ended)."""
    sym = query.get("symbol")
    cat = query.get("category", "linear")
    rows = [(s, i) for s, i in instruments.items() if (not sym or s == sym) and bybit_category(i) == cat]
    try:
        limit = min(1000, max(1, int(query.get("limit") or 500)))
        start = int(query.get("cursor") or 0)
    except ValueError:
        raise ValueError("params error: limit and cursor are integers") from None
    page = rows[start:start + limit]
    return {"category": cat, "list": [
        {"symbol": s, "contractType": i.get("contractType", "LinearPerpetual"), "status": "Trading",
         **({"baseCoin": s[:-4], "quoteCoin": "USDT", "settleCoin": "USDT"} if cat == "linear" else
            {"baseCoin": s[:s.rindex("USD")], "quoteCoin": "USD", "settleCoin": s[:s.rindex("USD")]}),
         "priceFilter": {"minPrice": fmt_num(i["tickSize"]), "maxPrice": "1999999", "tickSize": fmt_num(i["tickSize"])},
         "lotSizeFilter": {"maxOrderQty": "1000000", "minOrderQty": fmt_num(i["minOrderQty"]),
                           "qtyStep": fmt_num(i["qtyStep"]), "postOnlyMaxOrderQty": "1000000",
                           **({"minNotionalValue": fmt_num(i.get("minNotional", 5.0))} if cat == "linear" else {})},
         "leverageFilter": {"minLeverage": "1", "maxLeverage": "100", "leverageStep": "0.01"}, "fundingInterval": 480}
        for s, i in page], "nextPageCursor": str(start + limit) if start + limit < len(rows) else ""}


def bybit_tickers(instruments: dict) -> dict:
    return {"category": "linear", "list": [{"symbol": s, "lastPrice": fmt_num(i.get("price", 1.0)),
                                            "turnover24h": f"{i.get('turnover', 0.0):.2f}"}
                                           for s, i in instruments.items()]}


def okx_inst_id(symbol: str) -> str:
    return f"{symbol[:-4]}-USDT-SWAP"


def okx_instruments(instruments: dict) -> dict:
    """Each instrument as an OKX linear swap whose contract is one lot (``ctVal`` = the lot, ``lotSz`` = 1)."""
    return {"code": "0", "msg": "", "data": [
        {"instId": okx_inst_id(s), "instType": "SWAP", "ctType": "linear", "settleCcy": "USDT", "state": "live",
         "ctVal": fmt_num(i["qtyStep"]), "tickSz": fmt_num(i["tickSize"]), "lotSz": "1",
         "minSz": fmt_num(i["minOrderQty"] / i["qtyStep"])}
        for s, i in instruments.items()]}


def okx_tickers(instruments: dict) -> dict:
    """``volCcy24h`` in base units (the turnover over the price)."""
    return {"code": "0", "msg": "", "data": [
        {"instId": okx_inst_id(s), "instType": "SWAP", "last": fmt_num(i.get("price", 1.0)),
         "volCcy24h": repr(i.get('turnover', 0.0) / i.get('price', 1.0))} for s, i in instruments.items()]}

"""Binance COIN-M (coin-margined, inverse) futures contracts: which symbols are COIN-M and what one contract is worth.

A COIN-M symbol is ``<COIN>USD_PERP`` (perpetual) or ``<COIN>USD_<YYMMDD>`` (delivered on that day), e.g.
``BTCUSD_PERP``, ``ETHUSD_241227``; its quantities (orders, trades, liquidations, book sizes, open interest) are
in contracts of a fixed USD value, ``contractSize`` in ``GET /dapi/v1/exchangeInfo``: 100 USD for the BTCUSD
pair, 10 USD for every other pair.  A contract's base quantity at price ``p`` is ``contract_size / p`` coins, so a
fill of ``n`` contracts at ``p`` is ``n x contract_size`` USD of notional; its P&L is in the coin:
``direction x n x contract_size x (1/entry - 1/exit)``.  USD-M symbols (``BTCUSDT``, ``BTCUSDT_240628``,
``ETHBTC``) are linear: quantities in coins.

May import: the standard library.
"""
from __future__ import annotations

import re

__all__ = ["COIN_M_SYMBOL", "CONTRACT_USD", "OTHER_PAIRS_USD", "is_coin_m", "contract_usd", "pair_of",
           "inverse_contract_usd", "margin_coin"]

#: ``<COIN>USD_PERP`` or ``<COIN>USD_<YYMMDD>``: group 1 the pair (``BTCUSD``), group 2 ``PERP`` or the date
COIN_M_SYMBOL = re.compile(r"^([A-Z0-9]+USD)_(PERP|\d{6})$")
#: ``contractSize`` (USD per contract) of the pairs that differ from :data:`OTHER_PAIRS_USD`
#: (``/dapi/v1/exchangeInfo``: ``"symbol": "BTCUSD_200925", "pair": "BTCUSD", "contractSize": 100``)
CONTRACT_USD = {"BTCUSD": 100.0}
#: ``contractSize`` of every other COIN-M pair (ETHUSD, SOLUSD, XRPUSD, ...)
OTHER_PAIRS_USD = 10.0


def pair_of(symbol: str) -> str | None:
    """The COIN-M pair of ``symbol`` (``BTCUSD_PERP`` -> ``BTCUSD``), None for a symbol that is not COIN-M."""
    m = COIN_M_SYMBOL.match(str(symbol).strip().upper())
    return m.group(1) if m else None


def is_coin_m(symbol: str) -> bool:
    return pair_of(symbol) is not None


def contract_usd(symbol: str) -> float:
    """The USD value of one contract of the COIN-M ``symbol``; ValueError for a symbol that is not COIN-M."""
    pair = pair_of(symbol)
    if pair is None:
        raise ValueError(f"symbol: {symbol!r} is not a Binance COIN-M symbol (<COIN>USD_PERP or <COIN>USD_<YYMMDD>)")
    return CONTRACT_USD.get(pair, OTHER_PAIRS_USD)


# ---- the venue's ``contracts`` part: what the execution model and the reports ask of any venue


def inverse_contract_usd(symbol: str) -> float:
    """The USD value of one contract of an inverse ``symbol``; 0.0 for a linear one."""
    return contract_usd(symbol) if is_coin_m(symbol) else 0.0


def margin_coin(symbol: str) -> str:
    """The coin an inverse ``symbol`` is margined and settled in (``BTCUSD_PERP`` -> ``BTC``); '' for a linear one."""
    pair = pair_of(symbol)
    return pair[:-3] if pair else ""

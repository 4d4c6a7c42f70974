"""Bybit inverse contracts: which symbols are inverse and what one contract is worth.

An inverse contract is ``<COIN>USD`` (perpetual, ``BTCUSD``) or ``<COIN>USD<month code><YY>`` (a future,
``BTCUSDH24``); it is margined and settled in the coin and one contract is 1 USD, so a size is USD (the base quantity
``size / price``) and a position's P&L in the coin is ``direction x contracts x (1/entry - 1/exit)``.  ``...USDT``,
``...USDC`` and ``...PERP`` (USDC perpetuals) are linear.

May import: the standard library.
"""
from __future__ import annotations

__all__ = ["is_inverse", "inverse_contract_usd", "margin_coin"]

#: the USD value of one inverse contract
CONTRACT_USD = 1.0


def is_inverse(name: str) -> bool:
    """An inverse contract (sized in USD): ``BTCUSD``, or a dated one such as ``BTCUSDH24``."""
    n = str(name).upper()
    if n.endswith(("USDT", "USDC", "PERP")) or "-" in n:
        return False
    return n.endswith("USD") or (len(n) > 3 and n[-3:-2].isalpha() and n[-2:].isdigit() and n[:-3].endswith("USD"))


def inverse_contract_usd(symbol: str) -> float:
    """The USD value of one contract of an inverse ``symbol`` (1.0); 0.0 for a linear one."""
    return CONTRACT_USD if is_inverse(symbol) else 0.0


def margin_coin(symbol: str) -> str:
    """The coin an inverse ``symbol`` settles in (``BTCUSDH24`` -> ``BTC``); '' for a linear one."""
    if not is_inverse(symbol):
        return ""
    n = str(symbol).upper()
    return n[:-3] if n.endswith("USD") else n[:-6]

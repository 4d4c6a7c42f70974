"""Bybit v5 inverse contracts on the order path: the ``category`` of a symbol (``inverse`` for ``BTCUSD``,
``BTCUSDH24``: qty in contracts of 1 USD, fees and P&L in the coin; ``linear`` otherwise) and the gateway's reads
that span both categories (instruments, every open order, every position).

v5 answers one category per request: ``GET /v5/order/realtime`` needs a symbol, base coin or settle coin for linear
only ("For linear, either symbol, baseCoin, settleCoin is required"), so the inverse orders are read without one;
the inverse positions are read per symbol.

May import: this venue's ``contracts``.
"""
from __future__ import annotations

from liqcore.venues.bybit.contracts import is_inverse

__all__ = ["category_of", "inverse_symbols", "instruments", "all_orders", "all_positions"]


def category_of(symbol: str, linear: str = "linear") -> str:
    """The v5 ``category`` of ``symbol``: ``inverse`` for an inverse contract, else ``linear`` (the gateway's)."""
    return "inverse" if is_inverse(symbol) else linear


def inverse_symbols(symbols) -> list[str]:
    return sorted({s for s in symbols or () if is_inverse(s)})


async def instruments(rest, category: str, symbols) -> list[dict]:
    """The instruments-info rows of ``symbols`` (None: every linear one): the inverse ones from their own category
    (their qty step and minimum in contracts)."""
    inverse = inverse_symbols(symbols)
    linear = [s for s in symbols if s not in inverse] if symbols else None
    rows = await rest.get_instruments(category, linear) if linear is None or linear else []
    return rows + (await rest.get_instruments("inverse", inverse) if inverse else [])


async def all_orders(rest, category: str, settle_coin: str, symbols) -> list[dict]:
    """Every open order: the linear ones by settle coin, and the inverse category's when an inverse symbol is traded."""
    rows = await rest.get_orders(category, open_only=0, settle_coin=settle_coin)
    if inverse_symbols(symbols):
        rows = rows + await rest.get_orders("inverse", open_only=0, settle_coin=None)
    return rows


async def all_positions(rest, category: str, settle_coin: str, symbols) -> list[dict]:
    """Every position: the linear ones by settle coin, then each traded inverse symbol's."""
    rows = await rest.get_positions(category, settle_coin=settle_coin)
    for s in inverse_symbols(symbols):
        rows = rows + await rest.get_positions("inverse", symbol=s)
    return rows

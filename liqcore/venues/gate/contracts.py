"""Gate's futures contracts (``GET /api/v4/futures/usdt/contracts``): each contract's ``quanto_multiplier`` (the base
units of one contract: event and order sizes are contracts) and its order grid.

A snapshot of real contract records, shaped exactly as Gate documents the answer (a JSON array of ``Contract``
objects), ships in ``data/contracts-usdt.json`` for offline reading; ``--instruments FILE`` reads another answer
(or a plain ``{"BTC_USDT": 0.0001}``), and ``record --symbols all`` keeps the live one with the recording.

May import: the standard library, orjson and ``venues.instruments`` (its contract-size check).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import orjson

__all__ = ["SNAPSHOT", "contract_sizes", "shipped_contract_sizes", "shipped_contracts", "is_contract_list",
           "inverse_contract_usd", "margin_coin"]

SNAPSHOT = Path(__file__).with_name("data") / "contracts-usdt.json"


def is_contract_list(obj) -> bool:
    """Whether ``obj`` is Gate's contract list (an array of objects with ``name`` and ``quanto_multiplier``)."""
    return isinstance(obj, list) and bool(obj) and all(
        isinstance(r, dict) and "name" in r and "quanto_multiplier" in r for r in obj)


def contract_sizes(obj) -> dict[str, float] | None:
    """``name`` -> ``quanto_multiplier`` of a Gate contract list (JSON text, bytes or the decoded array); None when
    ``obj`` is not one.  A record whose multiplier is not a positive number is a ValueError naming it."""
    if isinstance(obj, (bytes, bytearray, str)):
        obj = orjson.loads(obj)
    if not is_contract_list(obj):
        return None
    from liqcore.venues.instruments import _check

    return {str(r["name"]): _check(r["name"], r["quanto_multiplier"], "quanto_multiplier") for r in obj}


@lru_cache(maxsize=1)
def shipped_contracts() -> tuple:
    """The bundled contract records (read once)."""
    return tuple(orjson.loads(SNAPSHOT.read_bytes()))


def shipped_contract_sizes() -> dict[str, float]:
    """``name`` -> ``quanto_multiplier`` of the bundled snapshot."""
    return contract_sizes(list(shipped_contracts())) or {}


def inverse_contract_usd(symbol: str) -> float:
    """0.0: Gate's USDT perpetuals are linear (P&L in USDT), so no contract of theirs is an inverse one."""
    return 0.0


def margin_coin(symbol: str) -> str:
    """'': a linear contract has no coin margin of its own (USDT)."""
    return ""

"""Order-state value types reported by the venue clients: :class:`OrderUpdate`, :class:`Fill` and
:class:`PositionInfo`, plus the normalised order statuses.

They live in the venue layer because the venue parsers (e.g. ``liqcore.venues.bybit.private``) build
them; the gateway protocol (``liqcore.venues.gateway``) re-exports them.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OrderUpdate", "Fill", "PositionInfo", "ORDER_STATUSES"]

#: normalised order statuses
ORDER_STATUSES = ("pending", "new", "partially_filled", "filled", "cancelled", "rejected", "triggered", "deactivated")


@dataclass(frozen=True)
class OrderUpdate:
    client_id: str
    status: str  # one of ORDER_STATUSES
    symbol: str = ""
    venue_order_id: str = ""
    side: str = ""
    price: float = 0.0
    qty: float = 0.0
    filled_qty: float = 0.0
    avg_price: float = 0.0
    reason: str = ""  # e.g. EC_PostOnlyWillTakeLiquidity, -5022, timeout
    kind: str = "entry"
    ts_ns: int = 0
    #: when the venue processed the request this answers (its answer's timestamp, on the local clock;
    #: 0: not known): what splits a round trip into its way out and its way back
    venue_ns: int = 0


@dataclass(frozen=True)
class Fill:
    client_id: str
    symbol: str
    side: str  # "buy" | "sell"
    price: float
    qty: float
    fee: float  # in quote currency, positive = paid
    is_maker: bool
    exec_id: str = ""
    kind: str = "entry"  # which order of the bracket filled: entry | tp | sl | exit
    ts_ns: int = 0


@dataclass(frozen=True)
class PositionInfo:
    symbol: str
    side: str  # "buy" (long) | "sell" (short) | "" (flat)
    size: float
    entry_price: float
    take_profit: float | None = None
    stop_loss: float | None = None

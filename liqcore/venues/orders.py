"""Order-state value types reported by the venue clients: :class:`OrderUpdate`, :class:`Fill` and
:class:`PositionInfo`, plus the normalised order statuses.

They live in the venue layer because the venue parsers (e.g. ``liqcore.venues.bybit.private``) build
them; the gateway protocol (``liqcore.venues.gateway``) re-exports them.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OrderUpdate", "Fill", "PositionInfo", "ORDER_STATUSES", "FINAL_STATUSES"]

#: normalised order statuses
ORDER_STATUSES = ("pending", "new", "partially_filled", "filled", "cancelled", "rejected", "triggered", "deactivated")
"""Every value of :class:`OrderUpdate`'s ``status``, in a gateway's words (each venue's statuses are mapped to
these)."""
#: the statuses after which an order changes no more
FINAL_STATUSES = ("filled", "cancelled", "rejected", "deactivated")
"""The final ones of :data:`ORDER_STATUSES`: an order in one of them is never reported again (a gateway asks the
venue no more about it; the journal's open orders leave it out)."""


@dataclass(frozen=True)
class OrderUpdate:
    """A change of an order's state, as a gateway reports it to the engine (``on_update``): its ``status``
    (one of :data:`ORDER_STATUSES`), the quantities filled so far (base units) and the average price, the
    venue's ``reason`` for a refusal or cancel (e.g. ``EC_PostOnlyWillTakeLiquidity``, ``-5022``,
    ``timeout``), which order of the bracket it is (``kind``: entry, tp, sl, exit) and when (``ts_ns``, local
    clock; ``venue_ns``, the venue's processing time on the local clock, 0 when unknown)."""

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
    """One execution of an order, as a gateway reports it (``on_fill``): price, quantity (base units; an inverse
    contract's in contracts, as the venue counts them), the fee (quote currency; an inverse contract's in its coin;
    positive when paid), maker or taker, the venue's execution id and which order of the bracket filled (``kind``:
    entry, tp, sl, exit)."""

    client_id: str
    symbol: str
    side: str  # "buy" | "sell"
    price: float
    qty: float
    fee: float  # in quote currency (an inverse contract's: the coin), positive = paid
    is_maker: bool
    exec_id: str = ""
    kind: str = "entry"  # which order of the bracket filled: entry | tp | sl | exit
    ts_ns: int = 0


@dataclass(frozen=True)
class PositionInfo:
    """A venue's open position in one symbol, as a gateway reads it at start and after a reconnect (what
    recovery compares with the journal): side (``"buy"`` long, ``"sell"`` short, ``""`` flat), size (base
    units), entry price and the attached take-profit and stop-loss prices, if any."""

    symbol: str
    side: str  # "buy" (long) | "sell" (short) | "" (flat)
    size: float
    entry_price: float
    take_profit: float | None = None
    stop_loss: float | None = None

"""The order-gateway protocol: Paper (default) and Bybit v5 (and later Binance USD-M) implement it.

A gateway turns :class:`OrderIntent` objects into venue orders and reports what happened as
:class:`OrderUpdate` and :class:`Fill` objects through the callbacks the engine registers.  All
methods are coroutines that never block the event loop; none of them raises on a venue rejection
(that is an update with ``status == "rejected"``); transport failures that could not be resolved
raise :class:`GatewayError`.

Optional (the venue gateways have them; the engine falls back without them): ``cancel_batch(orders)``
(``[(symbol, client_id)]`` -> ``{client_id: (outcome, update|None)}``, outcome ``accepted`` / ``not_found`` /
``error: ...``, through the venue's batch-cancel endpoint), ``cancel_all(symbol)`` and ``known(client_id,
kind)`` (the last state the gateway saw).  The engine's shutdown uses them.

``client_id`` is the idempotency key (Bybit ``orderLinkId``, Binance ``newClientOrderId``): a gateway
never sends two create requests for one client_id without first asking the venue whether the first
one arrived.
"""
from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Protocol, runtime_checkable

# the order-state types live in the venue layer (the venue parsers build them); re-exported here
from liqcore.venues.orders import ORDER_STATUSES, Fill, OrderUpdate, PositionInfo

__all__ = [
    "OrderIntent",
    "OrderUpdate",
    "Fill",
    "PositionInfo",
    "Gateway",
    "GatewayError",
    "GatewayCallbacks",
    "ORDER_STATUSES",
]


class GatewayError(RuntimeError):
    """A transport/venue failure the gateway could not resolve (after its own retries)."""


@dataclass(frozen=True)
class OrderIntent:
    symbol: str  # venue symbol, e.g. ETHUSDT
    side: str  # "buy" | "sell" (the order side, not the liquidated side)
    qty: float  # base units, already rounded to the instrument's qty step
    price: float  # limit price, already rounded to the tick size
    client_id: str  # idempotency key, <= 36 chars
    post_only: bool = True
    take_profit: float | None = None  # absolute prices, rounded
    stop_loss: float | None = None
    reduce_only: bool = False
    kind: str = "entry"  # "entry" | "exit" (market close on timeout) | "tp" | "sl"
    order_type: str = "limit"  # "limit" | "market"
    decision_ns: int = 0  # when the engine decided (for latency accounting)
    meta: dict = field(default_factory=dict, compare=False)


UpdateCallback = Callable[[OrderUpdate], "Awaitable[None] | None"]
FillCallback = Callable[[Fill], "Awaitable[None] | None"]


@runtime_checkable
class Gateway(Protocol):
    name: str

    def on_update(self, cb: UpdateCallback) -> None: ...
    def on_fill(self, cb: FillCallback) -> None: ...

    async def start(self) -> None:
        """Connect, authenticate, reconcile open orders and positions."""

    async def place(self, intent: OrderIntent) -> OrderUpdate:
        """Send (idempotently) and return the first known state (``pending``/``new``/``rejected``)."""

    async def cancel(self, symbol: str, client_id: str) -> OrderUpdate: ...

    async def close_position(self, symbol: str, client_id: str) -> OrderUpdate:
        """Market-close the symbol's position (reduce-only), e.g. on a hold timeout."""

    async def query(self, symbol: str, client_id: str) -> OrderUpdate | None: ...

    async def open_orders(self) -> list[OrderUpdate]: ...

    async def positions(self) -> list[PositionInfo]: ...

    async def close(self) -> None:
        """Stop background tasks; resting orders stay as they are."""


class GatewayCallbacks:
    """``on_update``/``on_fill`` registration and the awaited fan-out shared by the venue gateways.
    A failing callback is logged and never stops the others or the gateway."""

    _update_cbs: list
    _fill_cbs: list

    def _init_callbacks(self) -> None:
        self._update_cbs = []
        self._fill_cbs = []

    def on_update(self, cb: UpdateCallback) -> None:
        self._update_cbs.append(cb)

    def on_fill(self, cb: FillCallback) -> None:
        self._fill_cbs.append(cb)

    async def _emit(self, cbs, obj) -> None:
        for cb in cbs:
            try:
                r = cb(obj)
                if inspect.isawaitable(r):
                    await r
            except Exception:
                logging.getLogger(f"liqcore.{getattr(self, 'name', 'gateway')}.gateway").exception(
                    "gateway callback failed")

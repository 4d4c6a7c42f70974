"""The order-gateway protocol: Paper (default), Bybit v5, Binance USD-M, OKX v5 and Gate v4 USDT futures implement it
(and a plugin venue's gateway).

The details: docs/maintainers/live-gateways.md, "The order-gateway protocol (liqcore.venues.gateway)".

May import: ``venues.orders``.
"""
from __future__ import annotations

import inspect
import logging
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Protocol, runtime_checkable

# the order-state types live in the venue layer (the venue parsers build them); re-exported here
from liqcore.venues.orders import FINAL_STATUSES, ORDER_STATUSES, Fill, OrderUpdate, PositionInfo

__all__ = [
    "OrderIntent",
    "OrderUpdate",
    "Fill",
    "PositionInfo",
    "Gateway",
    "GatewayError",
    "GatewayCallbacks",
    "missing_members",
    "ORDER_STATUSES",
    "FINAL_STATUSES",
]


class GatewayError(RuntimeError):
    """A transport/venue failure the gateway could not resolve (after its own retries)."""


@dataclass(frozen=True)
class OrderIntent:
    """An order the engine asks a gateway to place: symbol, order side (``"buy"``/``"sell"``, not the
    liquidated side), quantity (base units, on the instrument's lot) and limit price (on its tick), the
    idempotency key ``client_id`` (at most 36 characters), post-only or reduce-only, the attached take-profit
    and stop-loss prices, which order it is (``kind``: entry, exit, tp, sl), limit or market, and when the
    engine decided (``decision_ns``, for the latency accounts)."""

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
    """The order gateway protocol: everything the live engine may call on a gateway (paper, a venue's REST and
    private stream, or your own).  The first block is required (a gateway that does not
    implement them raises ``NotImplementedError``); the rest has defaults meaning "this venue has none"."""

    name: str = "gateway"

    # ---- required
    def on_update(self, cb: UpdateCallback) -> None:
        raise NotImplementedError

    def on_fill(self, cb: FillCallback) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        """Connect, authenticate, reconcile open orders and positions."""
        raise NotImplementedError

    async def place(self, intent: OrderIntent) -> OrderUpdate:
        """Send (idempotently) and return the first known state (``pending``/``new``/``rejected``).  A
        gateway with :meth:`send_now` also takes ``sent=`` (the handle it returned: read the answer)."""
        raise NotImplementedError

    async def cancel(self, symbol: str, client_id: str) -> OrderUpdate:
        raise NotImplementedError

    async def close_position(self, symbol: str, client_id: str) -> OrderUpdate:
        """Market-close the symbol's position (reduce-only), e.g. on a hold timeout."""
        raise NotImplementedError

    async def query(self, symbol: str, client_id: str) -> OrderUpdate | None:
        raise NotImplementedError

    async def open_orders(self) -> list[OrderUpdate]:
        raise NotImplementedError

    async def positions(self) -> list[PositionInfo]:
        raise NotImplementedError

    async def close(self) -> None:
        """Stop background tasks; resting orders stay as they are."""
        raise NotImplementedError

    # ---- capabilities (class attributes a venue gateway overrides)
    #: the venue holds a trailing stop on the position (``set_trading_stop(trailing=...)``)
    native_trailing: bool = False
    #: the venue holds a position's take-profit / stop-loss (:meth:`set_trading_stop`); without it the
    #: engine watches them and closes at market
    venue_exits: bool = False
    #: the gateway signs a whole create request ahead (:meth:`prepare` / :meth:`fire_ready` / :meth:`fire`
    #: / :meth:`fired`): the engine's fast lane
    can_prepare: bool = False
    #: the venue's clock minus the local clock (ms) as measured for signing; None: not measured
    clock_offset_ms: int | None = None
    #: the private stream (its ``stats`` dict: ``ping_failures``, ``callback_errors``); None: none
    stream: object | None = None

    # ---- optional, with defaults
    def instrument(self, symbol: str):
        """The venue's instrument of ``symbol`` (an :class:`Instrument` or its mapping) once loaded at
        :meth:`start`; None: this gateway has no instrument list (the shipped table is used).  Raises
        ``KeyError`` for a symbol the venue does not list."""
        return None

    async def equity(self) -> float | None:
        """The account's equity (quote units: wallet balance plus the open positions' unrealized PnL); None:
        not known to this gateway."""
        return None

    def banned(self) -> str | None:
        """While a host of this venue bans this IP: the ban's one line (venue, host, the time it ends, the
        venue's reason: ``str(VenueBanned)``), else None.  Synchronous and cheap: the order path asks it before
        every send (a signal that arrives during a ban is skipped, never sent into it)."""
        return None

    async def sync_clock(self) -> int | None:
        """Measure the venue's clock offset again (ms); None: this gateway cannot."""
        return None

    async def reconcile(self) -> bool:
        """Read the venue's fills, orders and positions once now and report what the private stream missed
        through the callbacks (each fill once): a stop does it before booking its final state, since a private
        stream can drop pushes without closing.  False: this gateway cannot (nothing read).  Raises
        :class:`GatewayError` when the venue could not be read."""
        return False

    def send_now(self, intent: OrderIntent):
        """Write the create request of ``intent`` on the caller's stack when possible and return a handle for
        ``place(intent, sent=handle)``; None: nothing written (``place(intent)`` sends it)."""
        return None

    def warm_order(self, intent: OrderIntent) -> bytes:
        """Build and sign ``intent``'s create request as :meth:`send_now` would, writing nothing (keeps that
        code warm while the feed is quiet); empty: nothing to warm."""
        return b""

    async def set_trading_stop(self, symbol: str, take_profit: float | None = None, stop_loss: float | None = None,
                               trailing: float | None = None) -> None:
        """Venue-held exits of the open position (see :attr:`venue_exits`)."""
        raise NotImplementedError(f"{self.name} holds no exits at the venue (venue_exits is False)")

    def on_protection(self, cb) -> None:
        """Register ``cb(event: dict)``, called when an open position's venue-held exit is lost, replaced or
        the position closed instead (see :meth:`GatewayCallbacks._protection`).  Default: a gateway that holds
        no exits at the venue never calls it."""

    def known(self, client_id: str, kind: str = "entry") -> OrderUpdate | None:
        """The last state this gateway saw of ``client_id``; None: none seen (or not tracked)."""
        return None

    async def cancel_batch(self, orders: list[tuple[str, str]]) -> dict[str, tuple[str, OrderUpdate | None]]:
        """Cancel ``[(symbol, client_id)]``: ``{client_id: (outcome, update|None)}``, outcome ``accepted`` /
        ``not_found`` / ``error: ...``.  Default: one :meth:`cancel` per order, all in parallel (a venue with a
        batch endpoint overrides it)."""
        import asyncio

        outs = await asyncio.gather(*(self.cancel(s, c) for s, c in orders), return_exceptions=True)
        return {c: (("accepted", o) if isinstance(o, OrderUpdate) else (f"error: {o}", None))
                for (_, c), o in zip(orders, outs)}

    def prepare(self, intent: OrderIntent) -> tuple[bytes, bytes] | None:
        """``(request, body)``: the complete signed create request of ``intent``; None: not now."""
        return None

    def fire_ready(self) -> bool:
        """True when a prepared create can be written now."""
        return False

    def fire(self, request: bytes):
        """Write a prepared create request (after :meth:`fire_ready`); the handle."""
        raise NotImplementedError(f"{self.name} prepares no requests (can_prepare is False)")

    def fired(self, intent: OrderIntent, sent, body: bytes, parsed: dict | None = None) -> None:
        """After :meth:`fire`: the bookkeeping :meth:`send_now` does after its write."""
        raise NotImplementedError(f"{self.name} prepares no requests (can_prepare is False)")

    # ---- the in-process paper venue's hooks (the engine calls them only on a PaperGateway)
    #: the clock of the updates the venue stamps itself (the engine sets its own: a replay's time)
    clock: Callable[[], int] = staticmethod(time.time_ns)

    def bind(self, core, symbol_index: dict[str, int] | None = None) -> None:
        """Simulate on ``core`` (a paper-mode StrategyCore)."""

    def on_exit(self, cb) -> None:
        """Register the callback of the simulated exits."""

    def register(self, intent: OrderIntent) -> OrderUpdate | None:
        """Take ``intent`` at once (in-process: acknowledged on the caller's stack)."""
        return None

    def apply(self, events: list[dict]) -> None:
        """The core's events (fills, cancels, exits) of the simulated venue."""

    def restore(self, intent: OrderIntent, status: str, filled_qty: float = 0.0, entry_price: float = 0.0) -> None:
        """An order restored from the journal at start."""


def missing_members(gateway) -> list[str]:
    """The :class:`Gateway` members ``gateway`` lacks (empty for any subclass of :class:`Gateway`)."""
    return [m for m in _MEMBERS if not hasattr(gateway, m)]


_MEMBERS = tuple(sorted({n for n in vars(Gateway) if not n.startswith("_")} | set(Gateway.__annotations__)))


class GatewayCallbacks:
    """``on_update``/``on_fill`` registration and the awaited fan-out shared by the venue gateways.
    A failing callback is logged (and counted in ``stats["callback_errors"]`` where the gateway keeps that
    count) and never stops the others or the gateway."""

    _update_cbs: list
    _fill_cbs: list

    def _init_callbacks(self) -> None:
        self._update_cbs = []
        self._fill_cbs = []
        self._protection_cbs = []

    def on_protection(self, cb) -> None:
        """Register ``cb(event: dict)``: called when an open position's venue-held exit is lost and when it is
        made whole again (see :meth:`_protection`)."""
        self._protection_cbs.append(cb)

    def _protection(self, symbol: str, exit_kind: str, action: str, reason: str, **extra) -> dict:
        """Say what happened to an open position's protection, on every venue the same way.

        ``exit_kind``: ``"tp"``, ``"sl"`` or ``"both"``; ``action``: ``"lost"`` (the venue cancelled, expired,
        rejected or failed an exit while the position is open), ``"replaced"`` (a new exit is live), ``"closed"``
        (the position was closed instead) or ``"failed"`` (neither could be done yet); ``reason``: the venue's
        words.  Logged in one line on ``liqcore.protection`` (naming the venue; an error while the position is
        unprotected) and handed to the :meth:`on_protection` callbacks (the order manager journals it)."""
        name = getattr(self, "name", "gateway")
        event = {"venue": name, "symbol": symbol, "exit": exit_kind, "action": action, "reason": reason,
                 "ts_ns": time.time_ns(), **extra}
        what = {"tp": "take-profit", "sl": "stop-loss", "both": "take-profit and stop-loss"}.get(exit_kind, exit_kind)
        plog = logging.getLogger("liqcore.protection")
        if action in ("lost", "failed"):
            plog.error("%s: %s position unprotected: %s %s (%s)", name, symbol, what,
                       "lost" if action == "lost" else "could not be replaced", reason)
        else:
            plog.warning("%s: %s position protected again: %s %s (%s)", name, symbol, what, action, reason)
        for cb in getattr(self, "_protection_cbs", ()):
            try:
                cb(event)
            except Exception:
                logging.getLogger(f"liqcore.{name}.gateway").exception("protection callback failed")
        return event

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
                stats = getattr(self, "stats", None)
                if isinstance(stats, dict) and "callback_errors" in stats:  # (a gateway that counts them)
                    stats["callback_errors"] += 1
                logging.getLogger(f"liqcore.{getattr(self, 'name', 'gateway')}.gateway").exception(
                    "gateway callback failed")

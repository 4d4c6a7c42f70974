"""Paper gateway: the :class:`~liqcore.venues.gateway.Gateway` protocol on top of the backtest's fill
model.

There is no second fill model here. The engine's :class:`liqcore.backtest.core.StrategyCore` (paper
mode) already simulates every order the strategy decides on, on the live trade stream, with the same
Numba step functions as a backtest (order latency, post-only check at arrival, fills strictly through
the limit, on touch, or behind the displayed queue under ``fill = queue`` -- the engine then hands the
core the top of book -- stop before take-profit, timeouts at the next print). This gateway
acknowledges the engine's intents, maps the core's events (``rejected``, ``cancelled``,
``entry_filled``, ``exit``) to :class:`OrderUpdate` / :class:`Fill` objects under the intents'
client ids, and reports them through the registered callbacks, like a venue's private stream.
"""
from __future__ import annotations

import inspect
import logging
import time
from dataclasses import dataclass

from liqcore.execution.arrays import fill_value
from liqcore.venues.gateway import Fill, Gateway, OrderIntent, OrderUpdate, PositionInfo

__all__ = ["PaperGateway"]

log = logging.getLogger("liqcore.paper")

_EXIT_KIND = {"take_profit": "tp", "stop_loss": "sl", "timeout": "exit", "external": "exit", "trail": "sl",
              "stop_price": "sl", "max_hold": "exit", "signal_exit": "exit", "replaced": "exit"}


@dataclass
class _Working:
    intent: OrderIntent
    status: str = "new"
    filled_qty: float = 0.0
    entry_price: float = 0.0


class PaperGateway(Gateway):
    """Gateway over a paper-mode StrategyCore (bound by the engine with :meth:`bind`)."""

    name = "paper"

    def __init__(self, core=None, symbol_index=None):
        self.core = None
        self._index = {}
        self._update_cbs: list = []
        self._fill_cbs: list = []
        self._exit_cbs: list = []
        self._working: dict[str, _Working] = {}  # symbol -> the entry (and then position) of that symbol
        self._orders: dict[str, OrderUpdate] = {}
        self._exec_seq = 0
        #: the clock of the updates this venue stamps itself (cancels, rejects, closes): the engine sets its
        #: own (the replayed receive time during a replay)
        self.clock = time.time_ns
        self.stats = {"placed": 0, "rejected": 0, "cancelled": 0, "fills": 0, "exits": 0}
        if core is not None:
            self.bind(core, symbol_index)

    def bind(self, core, symbol_index: dict[str, int] | None = None) -> None:
        """Use ``core`` (mode ``paper``); ``symbol_index``: symbol name -> the core's symbol_idx."""
        if getattr(core, "mode", "paper") != "paper":
            raise ValueError("core: the paper gateway needs a StrategyCore in paper mode")
        self.core = core
        self._index = dict(symbol_index) if symbol_index is not None else {
            core.symbol(i): i for i in range(len(core.registry))}

    # ------------------------------------------------------------------ callbacks
    def on_update(self, cb) -> None:
        self._update_cbs.append(cb)

    def on_fill(self, cb) -> None:
        self._fill_cbs.append(cb)

    def on_exit(self, cb) -> None:
        """``cb(exit_event)`` with the core's closed-trade dict (pnl, return, equity) of every exit."""
        self._exit_cbs.append(cb)

    def _emit(self, cbs, obj) -> None:
        for cb in cbs:
            try:
                r = cb(obj)
                if inspect.isawaitable(r):  # the paper path is synchronous; an async callback is scheduled
                    import asyncio

                    asyncio.ensure_future(r)
            except Exception:
                log.exception("paper gateway callback failed")

    def _update(self, cid: str, status: str, intent: OrderIntent, ts: int, reason: str = "", kind: str = "entry",
                filled: float = 0.0, avg: float = 0.0) -> OrderUpdate:
        u = OrderUpdate(cid, status, intent.symbol, f"paper-{cid}", intent.side, intent.price, intent.qty, filled, avg,
                        reason, kind, ts)
        self._orders[cid] = u
        self._emit(self._update_cbs, u)
        return u

    def banned(self) -> str | None:
        """The in-process paper venue bans nobody."""
        return None

    # ------------------------------------------------------------------ protocol
    async def start(self) -> None:
        if self.core is None:
            raise RuntimeError("paper gateway: not bound to a StrategyCore (Engine binds it)")

    def register(self, intent: OrderIntent) -> OrderUpdate:
        """Acknowledge an entry the core already holds as working (idempotent per client_id)."""
        prev = self._orders.get(intent.client_id)
        if prev is not None:
            return prev
        if intent.symbol not in self._index:
            return self._update(intent.client_id, "rejected", intent, self.clock(), reason="unknown_symbol")
        w = self._working.get(intent.symbol)
        if intent.kind == "entry":
            st = self.core.position(self._index[intent.symbol])["status"]
            if st not in ("pending", "resting"):
                return self._update(intent.client_id, "rejected", intent, self.clock(), reason=f"core_{st}")
            self._working[intent.symbol] = _Working(intent)
        elif w is None:
            return self._update(intent.client_id, "rejected", intent, self.clock(), reason="no_position")
        self.stats["placed"] += 1
        return self._update(intent.client_id, "new", intent, intent.decision_ns or self.clock())

    async def place(self, intent: OrderIntent) -> OrderUpdate:
        return self.register(intent)

    async def cancel(self, symbol: str, client_id: str) -> OrderUpdate:
        w = self._working.get(symbol)
        ts = self.clock()
        if w is None or w.intent.client_id != client_id or w.status != "new":
            prev = self._orders.get(client_id)
            return prev or OrderUpdate(client_id, "rejected", symbol, reason="order_not_exists", ts_ns=ts)
        self.core.external_cancel(self._index[symbol], ts)  # counted as unfilled; no cooldown
        del self._working[symbol]
        self.stats["cancelled"] += 1
        return self._update(client_id, "cancelled", w.intent, ts, reason="cancelled")

    async def close_position(self, symbol: str, client_id: str) -> OrderUpdate:
        """Close at the last print (taker), through the core's venue-close path."""
        w = self._working.get(symbol)
        ts = self.clock()
        sid = self._index.get(symbol)
        if w is None or w.status != "filled" or sid is None:
            return OrderUpdate(client_id, "rejected", symbol, reason="no_position", kind="exit", ts_ns=ts)
        px = self.core.position(sid)["last_price"]
        ex = self.core.external_close(sid, ts, px, "external")
        if ex is None:
            return OrderUpdate(client_id, "rejected", symbol, reason="no_position", kind="exit", ts_ns=ts)
        ex["close_client_id"] = client_id
        self.apply([ex])
        return self._orders.get(client_id) or OrderUpdate(client_id, "filled", symbol, kind="exit", ts_ns=ts)

    async def query(self, symbol: str, client_id: str) -> OrderUpdate | None:
        return self._orders.get(client_id)

    async def open_orders(self) -> list[OrderUpdate]:
        return [self._orders[w.intent.client_id] for w in self._working.values() if w.status == "new"]

    async def positions(self) -> list[PositionInfo]:
        out = []
        for sym, w in self._working.items():
            if w.status == "filled":
                p = self.core.position(self._index[sym])
                out.append(PositionInfo(sym, w.intent.side, w.filled_qty, w.entry_price, p.get("take_profit"),
                                        p.get("stop_loss")))
        return out

    async def close(self) -> None:
        return None

    # ------------------------------------------------------------------ the core's events
    def restore(self, intent: OrderIntent, status: str, filled_qty: float = 0.0, entry_price: float = 0.0) -> None:
        """Re-attach a working entry (``new``) or an open position (``filled``) after a restart."""
        self._working[intent.symbol] = _Working(intent, status, filled_qty, entry_price)
        self._orders[intent.client_id] = OrderUpdate(intent.client_id, status, intent.symbol, f"paper-{intent.client_id}",
                                                     intent.side, intent.price, intent.qty, filled_qty, entry_price,
                                                     "", "entry", self.clock())

    def apply(self, events: list[dict]) -> None:
        """Turn StrategyCore events into order updates and fills."""
        for e in events:
            sym = e.get("symbol") or self.core.symbol(e["symbol_idx"])
            w = self._working.get(sym)
            if w is None:
                continue  # nothing of ours (e.g. the core acted on a decision the engine did not send)
            ts = int(e.get("ts_ns") or e.get("exit_ns") or self.clock())
            ev = e["event"]
            it = w.intent
            if ev == "rejected":
                del self._working[sym]
                self.stats["rejected"] += 1
                self._update(it.client_id, "rejected", it, ts, reason="EC_PostOnlyWillTakeLiquidity")
            elif ev == "cancelled":
                del self._working[sym]
                self.stats["cancelled"] += 1
                self._update(it.client_id, "cancelled", it, ts, reason="entry_timeout")
            elif ev == "entry_filled":
                w.status, w.filled_qty, w.entry_price = "filled", it.qty, float(e["price"])
                self._update(it.client_id, "filled", it, ts, filled=it.qty, avg=w.entry_price)
                maker = it.order_type != "market"  # a market entry takes liquidity
                cu = self.core.contract_usd(self._index[sym])  # an inverse contract: qty in contracts, fee in coin
                rate = self.core.fee_rates(self._index[sym])[0 if maker else 1]
                fee = float(fill_value(it.qty, w.entry_price, cu) * rate)
                self._fill(it.client_id, sym, it.side, w.entry_price, it.qty, fee, maker, "entry", ts)
            elif ev == "exit":
                del self._working[sym]
                kind = _EXIT_KIND.get(e.get("exit_reason"), "exit")
                maker, taker = self.core.fee_rates(self._index[sym])
                fee_rate = maker if kind == "tp" else taker
                px = float(e["exit_price"])
                side = "sell" if it.side == "buy" else "buy"
                cid = e.get("close_client_id") or it.client_id
                self.stats["exits"] += 1
                # each fill pays its own notional x the rate (the fill model's accounting too)
                fee = fill_value(w.filled_qty, px, self.core.contract_usd(self._index[sym])) * fee_rate
                f = self._fill(cid, sym, side, px, w.filled_qty, fee, kind == "tp", kind, ts)
                self._update(cid, "filled", OrderIntent(sym, side, w.filled_qty, px, cid, kind=kind), ts, kind=kind,
                             filled=f.qty, avg=px)
                self._emit(self._exit_cbs, e)

    def _fill(self, cid, sym, side, px, qty, fee, maker, kind, ts) -> Fill:
        self._exec_seq += 1
        f = Fill(cid, sym, side, px, qty, fee, maker, f"paper-{cid}-{kind}-{self._exec_seq}", kind, ts)
        self.stats["fills"] += 1
        self._emit(self._fill_cbs, f)
        return f

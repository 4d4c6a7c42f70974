"""StrategyCore: the cascade strategy + fill model driven one event at a time.

It holds the same state arrays as the backtest loop and calls the same Numba step functions
(:mod:`liqcore._jit.sim`), so paper trading fills exactly as a backtest does::

    core = StrategyCore(Params(), ["ETHUSDT", "BTCUSDT"], equity=10_000.0)
    core.on_trade(0, ts_ns, 2500.0)                 # -> [] or [{"event": "entry_filled", ...}, ...]
    core.on_cascade(record)                          # -> {"action": "order", "side": "buy", "price": ...}
    core.on_funding(0, ts_ns, 0.0001)
    core.on_clock(ts_ns)                             # arrivals / entry timeouts due by ts_ns
    core.ledger(), core.summary()

Paper mode (default) simulates fills on the trade prints.  Venue mode (``mode="venue"``) leaves fills
to the venue: prints only update the reference price, and the live shell reports what happened with
:meth:`external_entry_fill`, :meth:`external_close` and :meth:`external_reject`; ``on_trade`` then
returns ``{"event": "hold_timeout_due"}`` when an open position has passed its hold timeout.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from liqcore.config import Params
from liqcore.types import SymbolRegistry, Venue

_REASONS = {"take_profit": 1, "stop_loss": 2, "timeout": 3, "external": 4}
_EXIT_NAMES = {1: "take_profit", 2: "stop_loss", 3: "timeout", 4: "external"}


class StrategyCore:
    """Per-event strategy for a fixed list of symbols (``symbol_idx`` = position in ``symbols``).

    ``symbols``: names like ``"ETHUSDT"`` or ``"bybit:ETHUSDT"`` (venue defaults to ``venue``).
    Per-symbol presets (``Params.for_symbol``) apply.  ``equity``: starting equity (quote units)."""

    def __init__(self, params: Params, symbols: list[str], equity: float = 1.0, *, venue: str = "bybit",
                 mode: str = "paper", ledger_capacity: int = 256):
        from liqcore._jit import sim
        from liqcore.backtest.run import symbol_params

        if mode not in ("paper", "venue"):
            raise ValueError(f"mode: expected 'paper' or 'venue'; got {mode!r}")
        if not symbols:
            raise ValueError("symbols: give at least one symbol")
        if not (isinstance(equity, (int, float)) and np.isfinite(equity) and equity > 0):
            raise ValueError(f"equity: must be a positive number; got {equity!r}")
        self._sim = sim
        self.params = params
        self.mode = mode
        self.registry = SymbolRegistry()
        for name in symbols:
            v, _, s = str(name).rpartition(":")
            self.registry.id(Venue.parse(v or venue), s)
        if len(self.registry) != len(symbols):
            raise ValueError("symbols: duplicate symbol")
        n = len(self.registry)
        self.par = symbol_params(params, self.registry, n)
        self.st = sim.new_state(n)
        self.port = sim.new_port(float(equity), params.daily_loss, params.weekly_loss, params.max_symbols,
                                 params.size)
        self.counts = np.zeros((n, sim.N_COUNTS), dtype=np.int64)
        self._ledger = np.zeros(max(int(ledger_capacity), 2), dtype=sim.LEDGER_DTYPE)
        self.equity0 = float(equity)
        self._first_ns: int | None = None
        self._last_ns: int = -(2**63)
        self._n = n
        self._step_trade = sim.step_trade

    # ---- helpers -------------------------------------------------------------------------------
    def _sid(self, symbol_idx: int) -> int:
        sid = int(symbol_idx)
        if not 0 <= sid < len(self.st):
            raise ValueError(f"symbol_idx: {symbol_idx!r} out of range 0..{len(self.st) - 1}")
        return sid

    def _seen(self, ts: int) -> int:
        ts = int(ts)
        if ts > self._last_ns:
            self._last_ns = ts
            if self._first_ns is None:
                self._first_ns = ts
        return ts

    def _room(self) -> None:
        if int(self.port[0]["n_trades"]) >= len(self._ledger) - 1:
            bigger = np.zeros(len(self._ledger) * 2, dtype=self._ledger.dtype)
            bigger[: len(self._ledger)] = self._ledger
            self._ledger = bigger

    def symbol(self, symbol_idx: int) -> str:
        return self.registry.symbol(symbol_idx)

    def _trade_dict(self, k: int) -> dict:
        r = self._ledger[k]
        sid = int(r["symbol_id"])
        return {
            "event": "exit", "symbol_idx": sid, "symbol": self.registry.symbol(sid),
            "venue": self.registry.venue(sid).name.lower(), "side": "long" if r["side"] > 0 else "short",
            "signal_ns": int(r["signal_ns"]), "entry_ns": int(r["entry_ns"]), "entry_price": float(r["entry_price"]),
            "exit_ns": int(r["exit_ns"]), "exit_price": float(r["exit_price"]),
            "exit_reason": _EXIT_NAMES.get(int(r["exit_reason"]), "?"), "fees": float(r["fees"]),
            "funding": float(r["funding"]), "return": float(r["ret"]), "pnl": float(r["pnl"]),
            "equity": float(r["equity_after"]),
        }

    def _events(self, sid: int, ts: int, bits: int, n_before: int) -> list[dict]:
        sim = self._sim
        out: list[dict] = []
        if bits & sim.EV_REJECTED:
            out.append({"event": "rejected", "symbol_idx": sid, "ts_ns": ts})
        if bits & sim.EV_CANCELLED:
            out.append({"event": "cancelled", "symbol_idx": sid, "ts_ns": ts})
        if bits & sim.EV_FILLED:
            s = self.st[sid]
            out.append({"event": "entry_filled", "symbol_idx": sid, "ts_ns": ts, "price": float(s["entry_price"]),
                        "side": "buy" if s["side"] > 0 else "sell", "take_profit": float(s["tp_price"]),
                        "stop_loss": float(s["sl_price"]), "notional": float(s["notional"])})
        for k in range(n_before, int(self.port[0]["n_trades"])):
            out.append(self._trade_dict(k))
        return out

    # ---- events --------------------------------------------------------------------------------
    def on_trade(self, symbol_idx: int, ts_ns: int, price: float) -> list[dict]:
        """A trade print (receive time ``ts_ns``).  Returns what happened: ``rejected`` /
        ``cancelled`` / ``entry_filled`` / ``exit`` dicts (venue mode: ``hold_timeout_due``)."""
        sid = int(symbol_idx)
        if not 0 <= sid < self._n:
            raise ValueError(f"symbol_idx: {symbol_idx!r} out of range 0..{self._n - 1}")
        ts = self._seen(ts_ns)
        price = float(price)
        if not 0.0 < price < math.inf:
            raise ValueError(f"price: must be a positive finite number; got {price!r}")
        if self.mode == "venue":
            self._sim.step_price(self.st, sid, ts, price)
            s = self.st[sid]
            if s["status"] == self._sim.OPEN and ts >= s["hold_deadline_ns"]:
                return [{"event": "hold_timeout_due", "symbol_idx": sid, "ts_ns": ts}]
            return []
        # the ledger always has a free row (see _room), so a close never overflows it
        bits = self._step_trade(self.st, self.port, self.par, sid, ts, price, self._ledger, self.counts)
        if not bits:
            return []
        n = int(self.port[0]["n_trades"])
        out = self._events(sid, ts, bits, n - 1 if bits & self._sim.EV_CLOSED else n)
        self._room()
        return out

    def on_cascade(self, record: Any) -> dict:
        """A CONFIRMED cascade: a CASCADE_DTYPE row or a mapping with ``symbol_idx`` (or
        ``symbol_id``), ``ts_ns`` (or ``confirm_recv_ns``), ``dominant`` (0 mixed, 1 long, 2 short or
        the names) and optionally ``cascade_id``.  ENDED records (``record == 2``) are ignored
        (reason ``not_confirmed``).  Returns the decision: ``{"action": "order", "side",
        "price", "ref_price", "take_profit", "stop_loss", "arrive_ns", "expires_ns", ...}`` or
        ``{"action": "none", "reason": ...}``."""
        sim = self._sim
        get = (lambda k: record[k]) if isinstance(record, (Mapping, np.void)) else (lambda k: getattr(record, k))

        def field(*names, default=None):
            for n in names:
                try:
                    return get(n)
                except (KeyError, ValueError, IndexError, AttributeError):
                    continue
            if default is not None:
                return default
            raise ValueError(f"cascade: missing field {names[0]!r}")

        sid = self._sid(field("symbol_idx", "symbol_id"))
        kind = field("record", default=1)
        if int(kind) != 1:  # only CONFIRMED records are decisions; ENDED records change nothing
            return {"action": "none", "reason": "not_confirmed", "symbol_idx": sid,
                    "symbol": self.registry.symbol(sid), "ts_ns": None, "cascade_id": int(field("cascade_id", default=-1))}
        ts = self._seen(field("ts_ns", "confirm_recv_ns"))
        dom = field("dominant")
        if isinstance(dom, str):
            dom = {"mixed": 0, "long": 1, "short": 2}.get(dom.lower(), -1)
            if dom < 0:
                raise ValueError(f"dominant: expected long, short or mixed; got {field('dominant')!r}")
        cid = int(field("cascade_id", default=-1))
        r = sim.step_signal(self.st, self.port, self.par, sid, ts, int(dom), cid, self._ledger, self.counts)
        base = {"symbol_idx": sid, "symbol": self.registry.symbol(sid), "ts_ns": ts, "cascade_id": cid}
        if r != sim.R_ORDER:
            return {"action": "none", "reason": sim.REASON_NAMES[r], **base}
        s = self.st[sid]
        q = self.par[sid]
        lim = float(s["limit_price"])
        long_ = s["side"] > 0
        return {
            "action": "order", **base, "side": "buy" if long_ else "sell", "position": "long" if long_ else "short",
            "price": lim, "ref_price": float(s["ref_price"]), "post_only": True,
            "take_profit": lim * (1.0 + q["take_profit"]) if long_ else lim * (1.0 - q["take_profit"]),
            "stop_loss": lim * (1.0 - q["stop_loss"]) if long_ else lim * (1.0 + q["stop_loss"]),
            "arrive_ns": int(s["arrive_ns"]), "expires_ns": int(s["entry_deadline_ns"]),
            "notional": float(self.port[0]["equity"] * self.port[0]["size"]),
        }

    def on_funding(self, symbol_idx: int, ts_ns: int, rate: float) -> None:
        """A funding event: an open position pays ``side x rate`` of its notional (longs pay positive)."""
        sid = self._sid(symbol_idx)
        rate = float(rate)
        if not np.isfinite(rate):
            raise ValueError(f"rate: must be finite; got {rate!r}")
        self._sim.step_funding(self.st, sid, self._seen(ts_ns), rate)

    def on_clock(self, ts_ns: int) -> list[dict]:
        """Order arrivals and entry timeouts due by ``ts_ns``; loss-limit day roll."""
        ts = self._seen(ts_ns)
        before = self.counts[:, [self._sim.C_REJECTED, self._sim.C_UNFILLED]].copy()
        self._sim.step_clock(self.st, self.port, self.par, ts, self.counts)
        diff = self.counts[:, [self._sim.C_REJECTED, self._sim.C_UNFILLED]] - before
        out = []
        for sid in np.flatnonzero(diff.any(axis=1)):
            if diff[sid, 0]:
                out.append({"event": "rejected", "symbol_idx": int(sid), "ts_ns": ts})
            if diff[sid, 1]:
                out.append({"event": "cancelled", "symbol_idx": int(sid), "ts_ns": ts})
        return out

    # ---- venue mode ----------------------------------------------------------------------------
    def external_entry_fill(self, symbol_idx: int, ts: int, price: float) -> dict | None:
        """The venue filled the working entry at ``price``; returns the ``entry_filled`` event."""
        sid = self._sid(symbol_idx)
        ts = self._seen(ts)
        if not self._sim.external_entry_fill(self.st, self.port, self.par, sid, ts, float(price), self.counts):
            return None
        return self._events(sid, ts, self._sim.EV_FILLED, int(self.port[0]["n_trades"]))[0]

    def external_close(self, symbol_idx: int, ts: int, price: float, reason: str = "external") -> dict | None:
        """The venue closed the position at ``price`` (``reason``: take_profit, stop_loss, timeout or
        external); returns the ledger row as an ``exit`` event."""
        sid = self._sid(symbol_idx)
        if reason not in _REASONS:
            raise ValueError(f"reason: expected one of {', '.join(_REASONS)}; got {reason!r}")
        ts = self._seen(ts)
        n0 = int(self.port[0]["n_trades"])
        if not self._sim.external_close(self.st, self.port, self.par, sid, ts, float(price), _REASONS[reason],
                                        self._ledger, self.counts):
            return None
        out = self._trade_dict(n0)
        self._room()
        return out

    def external_reject(self, symbol_idx: int, ts: int) -> bool:
        """The venue rejected (or cancelled) the working entry; no cooldown starts."""
        sid = self._sid(symbol_idx)
        return bool(self._sim.external_reject(self.st, sid, self._seen(ts), self.counts))

    # ---- results -------------------------------------------------------------------------------
    def position(self, symbol_idx: int) -> dict:
        """The symbol's state: ``status`` (flat, pending, resting, open) and the order/position fields."""
        sid = self._sid(symbol_idx)
        s = self.st[sid]
        status = ("flat", "pending", "resting", "open")[int(s["status"])]
        out = {"status": status, "cooldown_until_ns": int(s["cooldown_until_ns"]),
               "last_price": float(s["last_price"])}
        if status != "flat":
            out.update(side="buy" if s["side"] > 0 else "sell", limit_price=float(s["limit_price"]),
                       arrive_ns=int(s["arrive_ns"]), expires_ns=int(s["entry_deadline_ns"]))
        if status == "open":
            out.update(entry_ns=int(s["entry_ns"]), entry_price=float(s["entry_price"]),
                       take_profit=float(s["tp_price"]), stop_loss=float(s["sl_price"]),
                       notional=float(s["notional"]), funding=float(s["funding"]))
        return out

    @property
    def equity(self) -> float:
        return float(self.port[0]["equity"])

    def ledger(self) -> np.ndarray:
        """Closed trades so far (a copy, LEDGER_DTYPE)."""
        return self._ledger[: int(self.port[0]["n_trades"])].copy()

    def result(self):
        """The session as a :class:`liqcore.backtest.run.BacktestResult` (metrics, JSON, export)."""
        from liqcore.backtest.run import BacktestResult

        sim = self._sim
        return BacktestResult(
            params=self.params, registry=self.registry, ledger=self.ledger(), counts=self.counts.copy(),
            equity0=self.equity0, equity=self.equity, start_ns=self._first_ns or 0,
            end_ns=self._last_ns if self._first_ns is not None else 0,
            records=np.zeros(0), open_at_end=(self.st["status"] == sim.OPEN).astype(np.int64),
            working_at_end=((self.st["status"] == sim.PENDING) | (self.st["status"] == sim.RESTING)).astype(np.int64),
        )

    def summary(self) -> dict:
        """Counts and metrics so far (same keys as a backtest summary)."""
        return self.result().summary()

"""A tiny streaming strategy for the live-engine tests: a market entry long on every 3rd large liquidation
of a symbol, and an exit notice 10 s after the entry signal (the batch form sets exit_ns = ts + 10 s)."""
from __future__ import annotations

import numpy as np

from liqcore.strategies import ENTRY_MARKET, NEVER, SIGNAL_DTYPE, Strategy, register_strategy
from liqcore.types import Kind

SKIP_EXIT = 2
LARGE = 1000.0  # quote notional of a large liquidation
EVERY = 3
EXIT_AFTER_NS = 10_000_000_000


def _row(ts, idx, sid, direction, tag, exit_ns=NEVER, skip=0, tp=0.0, sl=0.0, trail=0.0):
    g = np.zeros(1, dtype=SIGNAL_DTYPE)
    g["ts_ns"], g["ev_idx"], g["symbol_id"], g["direction"] = ts, idx, sid, direction
    g["entry"], g["skip_code"], g["confidence"], g["size_mult"] = ENTRY_MARKET, skip, 1.0, 1.0
    for k in ("offset", "stop_price"):
        g[k] = np.nan
    g["take_profit"], g["stop_loss"] = tp, sl  # 0 = none (NaN = the params' value)
    g["trail"] = trail
    g["max_hold_ns"], g["entry_timeout_ns"], g["exit_ns"], g["tag"] = -1, -1, exit_ns, tag
    return g


class EveryThird(Strategy):
    name = "test-every-third"
    needs = frozenset({"liquidation", "trade"})

    def signals(self, events, params, registry, records=None):
        out = []
        seen: dict[int, int] = {}
        liq = int(Kind.LIQUIDATION)
        for i, e in enumerate(events):
            if int(e["kind"]) == liq and float(e["price"]) * float(e["qty"]) >= LARGE:
                sid = int(e["symbol_id"])
                seen[sid] = seen.get(sid, 0) + 1
                if seen[sid] % EVERY == 0:
                    ts = int(e["ts_recv"])
                    out.append(_row(ts, i, sid, 1, seen[sid], exit_ns=ts + self.exit_after_ns, **self.levels))
        return np.concatenate(out) if out else np.zeros(0, dtype=SIGNAL_DTYPE)

    exit_after_ns = EXIT_AFTER_NS
    levels: dict = {}

    def stream(self, params, registry):
        return _Stream(self.exit_after_ns, self.levels)


class _Stream:
    uses_detector = False

    def __init__(self, exit_after_ns=EXIT_AFTER_NS, levels=None):
        self.exit_after_ns = exit_after_ns
        self.levels = levels or {}
        self.n = -1
        self.seen: dict[int, int] = {}
        self.exits: list[tuple[int, int, int]] = []  # (due ts, symbol id, tag)

    def _due(self, upto: int, strict: bool) -> np.ndarray:
        due = [x for x in self.exits if (x[0] < upto if strict else x[0] <= upto)]
        if not due:
            return np.zeros(0, dtype=SIGNAL_DTYPE)
        self.exits = [x for x in self.exits if x not in due]
        return np.concatenate([_row(t, self.n - 1, sid, 0, tag, skip=SKIP_EXIT) for t, sid, tag in due])

    def on_event(self, ev, records=()):
        self.n += 1
        ts = int(ev["ts_recv"])
        before = self._due(ts, strict=False)
        after = np.zeros(0, dtype=SIGNAL_DTYPE)
        if int(ev["kind"]) == int(Kind.LIQUIDATION) and float(ev["price"]) * float(ev["qty"]) >= LARGE:
            sid = int(ev["symbol_id"])
            self.seen[sid] = self.seen.get(sid, 0) + 1
            if self.seen[sid] % EVERY == 0:
                after = _row(ts, self.n, sid, 1, self.seen[sid], **self.levels)
                self.exits.append((ts + self.exit_after_ns, sid, self.seen[sid]))
        return before, after

    def on_clock(self, ts_ns):
        return self._due(int(ts_ns), strict=False)

    def snapshot(self):
        return {"n": self.n, "seen": {str(k): v for k, v in self.seen.items()}, "exits": [list(x) for x in self.exits]}

    def restore(self, state):
        self.n = int(state["n"])
        self.seen = {int(k): int(v) for k, v in state["seen"].items()}
        self.exits = [tuple(x) for x in state["exits"]]


class EveryThirdQuickExit(EveryThird):
    """The exit notice 300 ms after the entry (venue tests on the wall clock)."""
    name = "test-every-third-quick"
    exit_after_ns = 300_000_000


class EveryThirdBracket(EveryThird):
    """The params' take-profit / stop-loss and a 0.2 % trailing stop; no exit notice within the test."""
    name = "test-every-third-bracket"
    exit_after_ns = 3_600_000_000_000
    levels = {"tp": float("nan"), "sl": float("nan"), "trail": 0.002}


def register():
    for cls in (EveryThird, EveryThirdQuickExit, EveryThirdBracket):
        register_strategy(cls, replace=True)
    return EveryThird

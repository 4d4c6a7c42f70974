"""Pre-trade risk for the live engine: kill switch, trading hours, daily/weekly loss limits,
max symbols with positions, one position per symbol, cooldown (the strategy's risk rules).

The kill switch blocks NEW entries (exits, TP/SL and cancels always proceed). It is on when the
file at ``kill_switch_path`` exists, or after a SIGUSR1 toggled it on (:meth:`install_signal`).
Loss limits compare realised PnL since the start of the UTC day (Monday 00:00 UTC for the week)
with the equity at that start.
"""
from __future__ import annotations

import logging
import os
import signal
from dataclasses import dataclass, field

from liqcore.config import Params

__all__ = ["RiskManager", "RiskState", "BLOCK_REASONS"]

log = logging.getLogger("liqcore.risk")
DAY_NS = 86_400 * 1_000_000_000
WEEK_NS = 7 * DAY_NS
_EPOCH_MONDAY_OFFSET_NS = 3 * DAY_NS  # 1970-01-01 was a Thursday; weeks start on Monday
HOUR_NS = 3_600 * 1_000_000_000

BLOCK_REASONS = ("kill_switch", "outside_hours", "daily_loss", "weekly_loss", "max_symbols", "symbol_busy", "cooldown")


def day_start(ts_ns: int) -> int:
    return ts_ns - ts_ns % DAY_NS


def week_start(ts_ns: int) -> int:
    shifted = ts_ns + _EPOCH_MONDAY_OFFSET_NS
    return shifted - shifted % WEEK_NS - _EPOCH_MONDAY_OFFSET_NS


@dataclass
class RiskState:
    day: int = -1
    week: int = -1
    day_equity: float = 0.0
    week_equity: float = 0.0
    day_pnl: float = 0.0
    week_pnl: float = 0.0
    blocked: dict[str, int] = field(default_factory=dict)


class RiskManager:
    def __init__(self, params: Params, equity: float, kill_switch_path: str | os.PathLike | None = None):
        if not equity > 0:
            raise ValueError(f"equity: must be positive; got {equity!r}")
        self.params = params
        self.equity = float(equity)
        self.kill_switch_path = os.fspath(kill_switch_path) if kill_switch_path else None
        self.manual_kill = False
        self.state = RiskState()

    # ------------------------------------------------------------------ kill switch
    @property
    def killed(self) -> bool:
        if self.manual_kill:
            return True
        return bool(self.kill_switch_path) and os.path.exists(self.kill_switch_path)

    def toggle(self) -> bool:
        self.manual_kill = not self.manual_kill
        log.warning("kill switch %s (SIGUSR1)", "ON: no new entries" if self.manual_kill else "OFF")
        return self.manual_kill

    def install_signal(self, loop) -> bool:
        """SIGUSR1 toggles the kill switch (on the given running loop)."""
        try:
            loop.add_signal_handler(signal.SIGUSR1, self.toggle)
            return True
        except (NotImplementedError, RuntimeError, AttributeError, ValueError):
            return False

    # ------------------------------------------------------------------ accounting
    def _roll(self, ts_ns: int) -> None:
        st = self.state
        d, w = day_start(ts_ns), week_start(ts_ns)
        if d != st.day:
            st.day, st.day_equity, st.day_pnl = d, self.equity, 0.0
        if w != st.week:
            st.week, st.week_equity, st.week_pnl = w, self.equity, 0.0

    def on_realized(self, pnl: float, ts_ns: int) -> None:
        """A closed trade's realised PnL (quote, fees included); compounds equity."""
        self._roll(ts_ns)
        self.state.day_pnl += pnl
        self.state.week_pnl += pnl
        self.equity += pnl

    # ------------------------------------------------------------------ the check
    def check(self, symbol: str, ts_ns: int, *, busy: bool = False, open_symbols: int = 0,
              cooldown_until_ns: int = 0) -> str | None:
        """None when a new entry in ``symbol`` at ``ts_ns`` is allowed, else the blocking reason."""
        reason = self._reason(symbol, ts_ns, busy, open_symbols, cooldown_until_ns)
        if reason is not None:
            self.state.blocked[reason] = self.state.blocked.get(reason, 0) + 1
        return reason

    def _reason(self, symbol, ts_ns, busy, open_symbols, cooldown_until_ns) -> str | None:
        p = self.params
        if self.killed:
            return "kill_switch"
        if p.hours is not None:
            h = (ts_ns % DAY_NS) // HOUR_NS
            a, b = p.hours
            inside = a <= h < b if a < b else (h >= a or h < b)
            if not inside:
                return "outside_hours"
        self._roll(ts_ns)
        st = self.state
        if p.daily_loss > 0 and st.day_pnl <= -p.daily_loss * st.day_equity:
            return "daily_loss"
        if p.weekly_loss > 0 and st.week_pnl <= -p.weekly_loss * st.week_equity:
            return "weekly_loss"
        if busy:
            return "symbol_busy"
        if ts_ns < cooldown_until_ns:
            return "cooldown"
        if open_symbols >= p.max_symbols:
            return "max_symbols"
        return None

    def snapshot(self) -> dict:
        st = self.state
        return {"equity": self.equity, "day_pnl": st.day_pnl, "week_pnl": st.week_pnl, "killed": self.killed,
                "blocked": dict(st.blocked)}

    def restore(self, data: dict) -> None:
        for k in ("day", "week", "day_equity", "week_equity", "day_pnl", "week_pnl"):
            if k in data:
                setattr(self.state, k, type(getattr(self.state, k))(data[k]))

"""Risk in the live engine: the kill switch, and a read-only view of the limits the strategy core enforces.

There is one set of risk checks: trading hours, the daily and weekly loss limits, one position per
symbol (busy), the cooldown after a close and the maximum number of symbols in play are decided by the
strategy core (:class:`liqcore.backtest.core.StrategyCore`), with the same step functions a backtest
runs, in the same order (busy, cooldown, mixed, hours, loss limit, max symbols, reference price).
This module adds only what the core does not know about:

* :class:`KillSwitch` blocks NEW entries (exits, TP/SL and cancels always proceed). It is on while the
  file at ``path`` exists, or after SIGUSR1 toggled it on (:meth:`KillSwitch.install_signal`).
* :class:`RiskView` reads the core's state for dashboards, metrics and summaries: equity, realised PnL
  since the start of the UTC day and week (the anchors the loss limits use, restored from the journal
  after a restart), whether a limit is reached, and the core's counts of refused cascades by reason.
"""
from __future__ import annotations

import logging
import os
import signal

__all__ = ["KillSwitch", "RiskView", "BLOCK_REASONS"]

log = logging.getLogger("liqcore.risk")

#: reasons a cascade places no order, in the order the core checks them (kill switch first, in the shell)
BLOCK_REASONS = ("kill_switch", "halted", "busy", "cooldown", "mixed", "hours", "loss_limit", "max_symbols",
                 "no_reference_price")


class KillSwitch:
    """No new entries while ``path`` exists or after SIGUSR1 toggled it on."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = os.fspath(path) if path else None
        self.manual = False

    @property
    def killed(self) -> bool:
        return self.manual or (bool(self.path) and os.path.exists(self.path))

    def toggle(self) -> bool:
        self.manual = not self.manual
        log.warning("kill switch %s (SIGUSR1)", "ON: no new entries" if self.manual else "OFF")
        return self.manual

    def install_signal(self, loop) -> bool:
        """SIGUSR1 toggles the kill switch (on the given running loop)."""
        try:
            loop.add_signal_handler(signal.SIGUSR1, self.toggle)
            return True
        except (NotImplementedError, RuntimeError, AttributeError, ValueError):
            return False


class RiskView:
    """Read-only risk state of a :class:`~liqcore.backtest.core.StrategyCore` plus the kill switch.

    ``toggle`` / ``install_signal`` / ``killed`` act on the kill switch; everything else is read from
    the core at the moment it is asked (nothing is accumulated here, so nothing can drift from the
    limits the core enforces)."""

    def __init__(self, core, kill_switch: KillSwitch | None = None):
        self.core = core
        self.kill_switch = kill_switch if kill_switch is not None else KillSwitch()

    @property
    def killed(self) -> bool:
        return self.kill_switch.killed

    def toggle(self) -> bool:
        return self.kill_switch.toggle()

    def install_signal(self, loop) -> bool:
        return self.kill_switch.install_signal(loop)

    @property
    def equity(self) -> float:
        return self.core.equity

    def snapshot(self, extra_blocked: dict | None = None) -> dict:
        """``equity``, ``day_pnl`` / ``week_pnl`` (realised since the UTC day / week start, the loss
        limits' anchors), ``day_start_equity`` / ``week_start_equity``, ``daily_limit`` / ``weekly_limit``
        (True while reached), ``killed`` and ``blocked`` (cascades refused, by reason: the core's counts plus ``extra_blocked``,
        the shell's own refusals such as ``kill_switch``)."""
        p = self.core.port[0]
        params = self.core.params
        eq = float(p["equity"])
        if int(p["day"]) < 0:  # no day started yet (the core sets the anchors at its first clock tick)
            day_eq = week_eq = eq
        else:
            day_eq, week_eq = float(p["day_start_equity"]), float(p["week_start_equity"])
        day_pnl, week_pnl = eq - day_eq, eq - week_eq
        blocked = {k: int(v) for k, v in (extra_blocked or {}).items() if v}
        for name, n in self.core.summary_counts().items():
            if name in BLOCK_REASONS and n:
                blocked[name] = blocked.get(name, 0) + n
        return {
            "equity": eq, "day_pnl": day_pnl, "week_pnl": week_pnl,
            "day_start_equity": day_eq, "week_start_equity": week_eq,
            "daily_limit": bool(params.daily_loss > 0 and day_pnl <= -params.daily_loss * day_eq),
            "weekly_limit": bool(params.weekly_loss > 0 and week_pnl <= -params.weekly_loss * week_eq),
            "killed": self.killed, "blocked": blocked,
        }

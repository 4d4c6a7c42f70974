"""The three panels of the strategy write-up's live view, as plain JSON-able dicts for any dashboard
(the terminal one draws them; a web one can serve the same dicts):

* ``account``: balance (the session's equity), open positions, cumulative P&L (realised + the open
  positions' marked P&L, quote units), and the stop parameters in force (stop-loss, take-profit,
  trail, hold timeout, daily and weekly loss limits; fractions, seconds).
* ``positions``: per open position its entry, current price (the last trade price), P&L %, the
  maximum profit % and the current drawdown % from it (both over the snapshots taken since the
  entry: the engine takes one on every decision and the dashboard a few times a second), and its
  stop price (the core's, else entry x (1 -/+ stop-loss)) and take-profit price (the core's, else None).
* ``signals``: the latest decisions (at most 8) with what the signal saw: the liquidation (the
  cascade's dominant side and id), the candle and news notes and the reason of a strategy's judge
  when it has one (liq-trend), and the decision itself.

:class:`PanelState` keeps the one thing a single snapshot cannot know, each position's best P&L so far."""
from __future__ import annotations

import math

__all__ = ["PanelState", "SIGNAL_ROWS"]

#: the latest decisions shown in the signals panel
SIGNAL_ROWS = 8


def _num(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


class PanelState:
    """Builds the panels from an engine (:meth:`panels`); remembers each position's best P&L."""

    def __init__(self):
        self._best: dict[tuple[str, str, int], float] = {}

    def panels(self, engine) -> dict:
        """``{"account": ..., "positions": [...], "signals": [...]}`` for ``engine`` now."""
        par = engine.params
        positions, unreal, realized, live = [], 0.0, 0.0, set()
        for ci, (v, s) in enumerate(engine.traded):
            book = engine.books[s]
            realized += float(book.realized)
            qty = float(book.position_qty)
            if not qty:
                continue
            p = engine.core.position(ci)
            sign = 1.0 if qty > 0 else -1.0
            entry, last = float(book.entry_price), _num(p.get("last_price"))
            pnl = sign * (last - entry) / entry if last is not None and entry > 0 else None
            key = (v, s, int(book.entry_ns))
            live.add(key)
            if pnl is not None:
                self._best[key] = max(self._best.get(key, pnl), pnl)
                unreal += pnl * abs(qty) * entry
            best = self._best.get(key)
            stop = _num(p.get("stop_loss")) if p.get("status") == "open" else None
            if stop is None and float(par.stop_loss) > 0 and entry > 0:
                stop = entry * (1.0 - sign * float(par.stop_loss))
            positions.append({
                "venue": v, "symbol": s, "side": "long" if qty > 0 else "short", "qty": abs(qty),
                "entry_price": entry, "entry_ns": int(book.entry_ns), "current_price": last,
                "pnl_pct": None if pnl is None else 100.0 * pnl,
                "max_profit_pct": None if best is None else 100.0 * max(best, 0.0),
                "drawdown_pct": None if best is None or pnl is None else 100.0 * (max(best, 0.0) - pnl),
                "stop_price": stop,
                "take_profit_price": _num(p.get("take_profit")) if p.get("status") == "open" else None,
            })
        for key in [k for k in self._best if k not in live]:
            del self._best[key]
        account = {
            "balance": float(engine.core.equity), "open_positions": len(positions),
            "realized_pnl": realized, "unrealized_pnl": unreal, "cumulative_pnl": realized + unreal,
            "stops": {"stop_loss": float(par.stop_loss), "take_profit": float(par.take_profit),
                      "trail": float(par.trail), "hold_timeout_s": int(par.hold_timeout_ns) / 1e9,
                      "daily_loss": float(par.daily_loss), "weekly_loss": _num(getattr(par, "weekly_loss", None))},
        }
        signals = []
        for d in engine.decisions[-SIGNAL_ROWS:]:
            f = getattr(d, "note_fields", None) or {}
            decision = d.reason if d.action != "order" else (
                f"{d.side} {d.qty:g} @ {d.price:g} tp {d.take_profit:g} sl {d.stop_loss:g}")
            signals.append({
                "ts_ns": int(d.ts_ns), "venue": d.venue, "symbol": d.symbol,
                "liquidation": f.get("liq_note") or f"{d.dominant} liquidations, cascade {d.cascade_id}",
                "candle": f.get("trend_note") or "", "news": f.get("news_note") or "",
                "reason": f.get("action_reason") or "", "judge": d.notes or "", "action": d.action, "decision": decision,
            })
        return {"account": account, "positions": positions, "signals": signals}

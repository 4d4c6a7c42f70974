"""Every open position protected: the gateways' protection reports journaled and counted, and a watchdog that
closes a position left without its take-profit and stop-loss.

A venue gateway says what happens to an open position's venue-held exits through ``on_protection``
(:meth:`liqcore.venues.gateway.GatewayCallbacks._protection`): ``lost`` (the venue cancelled, expired, rejected or
failed a take-profit or stop-loss while the position is open), ``replaced``, ``closed`` or ``failed``.  The order
manager adds what it knows itself: venue exits it could not set on a fill (``set_trading_stop`` refused).

Each event is a ``protection`` journal row (symbol, exit, action, reason, seconds unprotected so far) shown by
``liqcore journal ... --explain``, and counted (``liqcore_protection_events_total{action}``, the gauge
``liqcore_unprotected_positions``).  The watchdog (:meth:`Protection.check`, on the engine's clock) closes at
market (reduce-only) a position unprotected for :attr:`Protection.limit_s` (30 s) by the manager's own knowledge,
and journals ``closed``.  Where the venue holds no exits at all (``venue_exits`` False) the engine watches the
levels itself and closes at market: such a position is protected by the engine.

May import: the standard library.
"""
from __future__ import annotations

import logging
import time

__all__ = ["Protection", "LIMIT_S"]

log = logging.getLogger("liqcore.protection")

#: the longest an open position may stay without its take-profit and stop-loss before it is closed (seconds)
LIMIT_S = 30.0


class Protection:
    """The protection state of one :class:`~liqcore.live.orders.OrderManager` (``om``: books, journal, metrics,
    gateway, ``close_at_market``, ``now_ns``).  ``clock``: monotonic seconds (replaceable in tests)."""

    def __init__(self, om, *, limit_s: float = LIMIT_S, clock=time.monotonic):
        self.om = om
        self.limit_s = float(limit_s)
        self.clock = clock
        #: symbol -> {"since": clock s, "exit": tp | sl | both, "reason"} of the positions unprotected now
        self.unprotected: dict[str, dict] = {}
        self.events = 0
        self.closed = 0

    def _journal(self, ev: dict) -> None:
        j = self.om.journal
        if j is not None:
            j.note("protection", ev, int(ev.get("ts_ns") or self.om.now_ns()), key=ev.get("symbol"))

    def on_event(self, event: dict) -> None:
        """A gateway's protection report (``on_protection``): tracked, journaled, counted."""
        sym = str(event.get("symbol") or "")
        action = str(event.get("action") or "")
        now = self.clock()
        held = self.unprotected.get(sym)
        if action in ("lost", "failed"):
            if held is None:
                held = self.unprotected[sym] = {"since": now, "exit": event.get("exit"), "reason": event.get("reason")}
        elif action in ("replaced", "closed"):
            self.unprotected.pop(sym, None)
        ev = {"venue": event.get("venue") or self.om.gateway.name, "symbol": sym, "exit": event.get("exit"),
              "action": action, "reason": str(event.get("reason") or ""),
              "unprotected_s": round(now - held["since"], 3) if held is not None else 0.0,
              "ts_ns": int(event.get("ts_ns") or self.om.now_ns()), "source": event.get("source", "venue")}
        self.events += 1
        self.om.metrics.inc("liqcore_protection_events_total", action=action)
        self._journal(ev)
        self.gauge()

    def lost(self, symbol: str, exit_kind: str, reason: str) -> None:
        """The order manager's own knowledge: ``symbol``'s position has no venue-held ``exit_kind`` (e.g. the
        venue refused the exits set on its fill).  Said in one line on ``liqcore.protection``."""
        if symbol in self.unprotected:
            return
        log.error("%s: %s position unprotected: %s not held by the venue (%s); closed at market in %.0f s unless "
                  "protected again", self.om.gateway.name, symbol, exit_kind, reason, self.limit_s)
        self.on_event({"symbol": symbol, "exit": exit_kind, "action": "lost", "reason": reason, "source": "engine"})

    def protected(self, symbol: str, reason: str) -> None:
        """``symbol``'s exits are held again (or the position is flat): no longer unprotected."""
        if symbol in self.unprotected:
            self.on_event({"symbol": symbol, "exit": self.unprotected[symbol]["exit"], "action": "replaced",
                           "reason": reason, "source": "engine"})

    def flat(self, symbol: str) -> None:
        """``symbol``'s position is closed: nothing left to protect."""
        if self.unprotected.pop(symbol, None) is not None:
            self.gauge()

    def gauge(self) -> None:
        books = self.om.books
        n = sum(1 for s in self.unprotected if (b := books.get(s)) is not None and b.position_qty)
        self.om.metrics.set("liqcore_unprotected_positions", float(n))

    def check(self) -> list[str]:
        """The watchdog (the engine's clock tick): a position unprotected for :attr:`limit_s` is closed at market
        (reduce-only) and journaled ``closed``; a symbol whose position is gone is forgotten.  Returns the symbols
        closed now."""
        if not self.unprotected:
            return []
        om = self.om
        now = self.clock()
        out = []
        for sym, held in list(self.unprotected.items()):
            book = om.books.get(sym)
            if book is None or not book.position_qty:
                self.unprotected.pop(sym, None)
                continue
            left = now - held["since"]
            if left < self.limit_s or book.closing or om.closing:
                continue
            log.error("%s: %s position unprotected for %.1f s (%s): closed at market", om.gateway.name, sym, left,
                      held.get("reason") or "exits not held")
            om.close_at_market(sym, "external")
            self.closed += 1
            out.append(sym)
            self.on_event({"symbol": sym, "exit": held.get("exit") or "both", "action": "closed",
                           "reason": f"unprotected for {left:.1f} s: closed at market", "source": "engine"})
        return out

"""Orders whose outcome is unknown: one place for every order kind (entries, exits, closes) and every venue.

A create, cancel or close answered with a code the venue documents as "outcome unknown", a transport timeout, a
dropped connection or an HTTP 5xx reaches the order manager as :class:`GatewayError` once the gateway's own bounded
queries could not settle it.  Such an order is ``unknown``, never ``rejected``: the venue may hold it.  This
module asks the venue about it by its client id (the venue's documented query endpoint, through the gateway's
``query``) with backoff until the venue answers, and journals both ends:

* an ``unknown`` row (key: the client id): symbol, order kind, what was unknown (``create`` / ``cancel`` /
  ``close``) and the reason;
* an ``unknown_resolved`` row: the state the venue holds (``not_at_venue`` when it has no such order), after how
  many queries and seconds (``liqcore journal ... --explain`` shows both).

A cancel whose outcome is unknown is retried (query, then cancel again) until the venue confirms the order gone
or filled.  While a host of the venue bans this IP, nothing is asked: each wait lasts at least until the ban ends
(:func:`ban_left`, from the venue's governors), then the venue is asked again.

May import: this package's ``gateway`` and ``venues.governor``.
"""
from __future__ import annotations

import asyncio
import logging
import time

from liqcore.venues.gateway import FINAL_STATUSES, GatewayError, OrderIntent, OrderUpdate
from liqcore.venues.governor import governors

__all__ = ["Unknowns", "ban_left", "TERMINAL"]

log = logging.getLogger("liqcore.engine")

#: order states after which an order changes no more (:data:`~liqcore.venues.orders.FINAL_STATUSES`)
TERMINAL = FINAL_STATUSES


def ban_left(venue: str) -> float:
    """Seconds until the longest ban of any host of ``venue`` ends (0.0: none banned)."""
    return max((g.ban_left() for g in governors() if g.venue == venue), default=0.0)


class Unknowns:
    """The unknown orders of one :class:`~liqcore.live.orders.OrderManager` (``om``: its gateway, journal,
    metrics, books, ``report_update``, ``now_ns`` and ``closing``).

    ``delays``: the waits (seconds) before each query, then ``slow`` seconds between the next ones, at most
    ``max_queries`` queries in all (an order still unknown after them is said once more and left to the
    shutdown's cancel-and-confirm).  ``cancel_tries``: cancels of one order whose outcome stays unknown before
    :meth:`cancel` gives up (the core asks again on its next cancel event)."""

    def __init__(self, om, *, delays=(0.5, 1.0, 2.0, 5.0, 10.0, 30.0), slow: float = 60.0, max_queries: int = 66,
                 cancel_tries: int = 8):
        self.om = om
        self.delays = tuple(delays)
        self.slow = float(slow)
        self.max_queries = int(max_queries)
        self.cancel_tries = int(cancel_tries)
        #: client id -> {"what", "symbol", "kind", "since": monotonic s, "queries"} of the orders unknown now
        self.open: dict[str, dict] = {}
        self.resolved = 0

    # ---------------------------------------------------------------- bookkeeping
    def _now(self) -> int:
        return self.om.now_ns()

    def begin(self, what: str, symbol: str, client_id: str, kind: str, reason: str) -> dict:
        """``client_id``'s ``what`` (create / cancel / close) has an unknown outcome: journaled once, counted."""
        rec = self.open.get(client_id)
        if rec is not None and rec["what"] == what:
            return rec
        rec = self.open[client_id] = {"what": what, "symbol": symbol, "kind": kind, "since": time.monotonic(),
                                      "queries": 0}
        self.om.metrics.inc("liqcore_unknown_orders_total", what=what)
        log.warning("order %s (%s %s): %s outcome unknown (%s); asking the venue by its client id", client_id,
                    symbol, kind, what, reason)
        if self.om.journal is not None:
            self.om.journal.note("unknown", {"client_id": client_id, "symbol": symbol, "kind": kind, "what": what,
                                             "reason": str(reason)}, self._now(), key=client_id)
        return rec

    def end(self, client_id: str, status: str, reason: str = "") -> None:
        """``client_id``'s unknown outcome is settled: the venue holds it in ``status``."""
        rec = self.open.pop(client_id, None)
        if rec is None:
            return
        self.resolved += 1
        secs = round(time.monotonic() - rec["since"], 3)
        log.info("order %s: %s outcome resolved: %s at the venue after %d queries in %.3f s", client_id, rec["what"],
                 status, rec["queries"], secs)
        if self.om.journal is not None:
            self.om.journal.note("unknown_resolved", {
                "client_id": client_id, "symbol": rec["symbol"], "kind": rec["kind"], "what": rec["what"],
                "status": status, "reason": reason, "queries": rec["queries"], "seconds": secs}, self._now(),
                key=client_id)

    async def _pause(self, delay: float) -> None:
        """Wait ``delay`` seconds, then while a host of the venue bans this IP, until the ban ends (nothing is asked
        into it; a ban that began during the wait counts too)."""
        await asyncio.sleep(float(delay))
        while (left := ban_left(self.om.gateway.name)) > 0.0:
            await asyncio.sleep(left)

    def _waits(self):
        n = 0
        for d in self.delays:
            if n >= self.max_queries:
                return
            n += 1
            yield d
        while n < self.max_queries:
            n += 1
            yield self.slow

    async def _ask(self, rec: dict, symbol: str, client_id: str) -> tuple[bool, OrderUpdate | None]:
        """One query: ``(answered, update or None: the venue has no such order)``."""
        rec["queries"] += 1
        try:
            return True, await self.om.gateway.query(symbol, client_id)
        except GatewayError as exc:
            log.warning("order %s still unknown: %s", client_id, exc)
            return False, None

    @staticmethod
    def _as_kind(u: OrderUpdate, kind: str) -> OrderUpdate:
        if u.kind == kind:
            return u
        return OrderUpdate(u.client_id, u.status, u.symbol, u.venue_order_id, u.side, u.price, u.qty, u.filled_qty,
                           u.avg_price, u.reason, kind, u.ts_ns)

    # ---------------------------------------------------------------- creates and closes
    async def resolve(self, intent: OrderIntent, what: str = "create") -> OrderUpdate | None:
        """Ask the venue about ``intent`` (its create or close unknown) until it answers; the venue's state is
        reported to the order manager (``not_at_venue``: rejected, the create never arrived) and returned (None:
        still unknown after :attr:`max_queries` queries)."""
        om = self.om
        cid = intent.client_id
        rec = self.open.get(cid) or self.begin(what, intent.symbol, cid, intent.kind, "create not confirmed")
        for delay in self._waits():
            await self._pause(delay)
            answered, u = await self._ask(rec, intent.symbol, cid)
            if not answered:
                continue
            if u is None:  # the venue answered: it has no such order
                u = OrderUpdate(cid, "rejected", intent.symbol, reason="not_at_venue", kind=intent.kind,
                                ts_ns=om.now_ns())
            u = self._as_kind(u, intent.kind)
            self.end(cid, u.status, u.reason)
            return u
        log.error("order %s (%s): %s outcome still unknown after %d queries; the shutdown's cancel-and-confirm "
                  "settles it", cid, intent.symbol, what, rec["queries"])
        return None

    # ---------------------------------------------------------------- cancels
    async def cancel(self, symbol: str, client_id: str, kind: str = "entry") -> OrderUpdate | None:
        """Cancel ``client_id`` until the venue confirms it gone (cancelled, filled, or not held: ``not_at_venue``);
        a cancel whose outcome is unknown is followed by a query (backoff, bans waited out) and sent again while
        the order still rests.  Returns the confirmed state (None: still unknown after :attr:`cancel_tries`)."""
        om = self.om
        gw = om.gateway
        rec = None
        waits = self._waits()
        for _ in range(self.cancel_tries):
            try:
                u = await gw.cancel(symbol, client_id)
            except GatewayError as exc:
                rec = self.begin("cancel", symbol, client_id, kind, str(exc))
            else:
                if rec is not None:
                    self.end(client_id, u.status, u.reason)
                return self._as_kind(u, kind)
            if om.stopping:
                return None
            u = None
            for delay in waits:  # ask until the venue answers, then cancel again if it still rests
                await self._pause(delay)
                answered, u = await self._ask(rec, symbol, client_id)
                if answered:
                    break
            else:
                break
            if u is None:  # not held by the venue (never created, or gone): nothing rests
                u = OrderUpdate(client_id, "cancelled", symbol, reason="not_at_venue", kind=kind, ts_ns=om.now_ns())
            if u.status in TERMINAL:
                self.end(client_id, u.status, u.reason)
                return self._as_kind(u, kind)
        log.error("cancel %s (%s): outcome still unknown after %d tries; the order may rest at the venue", client_id,
                  symbol, self.cancel_tries)
        return None

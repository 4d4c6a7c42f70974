"""Entries the engine dropped that the venue still holds: the second line of defence against an order left
resting untracked.

The order manager drops an entry once the gateway reports it ``rejected``, ``cancelled`` or ``deactivated`` (its
core slot is free again).  A later update for that entry saying the venue holds it (``new``, ``partially_filled``:
e.g. a cancel answered "unknown order" while the create's outcome was still being asked for, then the create
made after all; chaos audit, binance seeds 177, 243, 244, 312, 334, 361) would otherwise be ignored and the
order could fill later, unmanaged.  :class:`Dropped` remembers the last :attr:`Dropped.KEEP` dropped entries (their
intents, by client id); such an update is

* journaled over the dropped row (its status is the venue's again, with the reason said), and logged;
* cancelled at once (:meth:`liqcore.live.unknowns.Unknowns.cancel`: until the venue confirms it gone or filled),
  its final state reported as any update;
* and a fill it had meanwhile is booked as a late entry fill (the order manager's ``_adopt_late_fill``) with the
  dropped intent's take-profit and stop-loss (:meth:`Dropped.intent`).

May import: this package's ``gateway`` and ``journal`` (its final statuses).
"""
from __future__ import annotations

import dataclasses
import logging
from collections import OrderedDict

from liqcore.live.journal import TERMINAL_STATUSES
from liqcore.venues.gateway import OrderIntent, OrderUpdate

__all__ = ["Dropped", "LIVE"]

log = logging.getLogger("liqcore.live")

#: the statuses of an order the venue still holds (it may still fill)
LIVE = ("new", "partially_filled")


class Dropped:
    """The entries the order manager ``om`` dropped (its books' ``entry`` cleared), by client id."""

    #: how many dropped entries are remembered (the oldest forgotten first)
    KEEP = 256

    def __init__(self, om) -> None:
        self.om = om
        self.entries: OrderedDict[str, tuple[OrderIntent, str]] = OrderedDict()  # client id -> (intent, status)
        self.cancelling: set[str] = set()
        self.revived: set[str] = set()  # dropped entries the venue was found to hold
        self.settled: set[str] = set()  # ... and confirmed gone or filled since (a stale push is not acted on)
        self.found = 0  # dropped entries found resting at the venue (each cancelled)

    def drop(self, intent: OrderIntent | None, status: str) -> None:
        """``intent`` (the book's entry) is dropped as ``status``."""
        if intent is None:
            return
        self.entries[intent.client_id] = (intent, status)
        self.entries.move_to_end(intent.client_id)
        while len(self.entries) > self.KEEP:
            gone, _ = self.entries.popitem(last=False)
            self.revived.discard(gone)  # (what is known of it goes with it: the sets stay bounded too)
            self.settled.discard(gone)

    def intent(self, client_id: str) -> OrderIntent | None:
        """The intent of a dropped entry (None: not dropped, or forgotten)."""
        got = self.entries.get(client_id)
        return got[0] if got is not None else None

    def live(self, u: OrderUpdate, book) -> bool:
        """Whether ``u`` says the venue holds an entry the engine dropped (not the book's current entry)."""
        if u.kind != "entry" or u.status not in LIVE or u.client_id not in self.entries or self.om.paper \
                or u.client_id in self.settled:
            return False
        if book is not None and book.entry is not None and book.entry.client_id == u.client_id:
            return False
        self.revived.add(u.client_id)
        return True

    def journaled(self, u: OrderUpdate) -> OrderUpdate:
        """``u`` as journaled: of a dropped entry the venue was found to hold, the reason says what happened
        (each of its updates, its final state too)."""
        if u.kind != "entry" or u.client_id not in self.revived or u.client_id not in self.entries:
            return u
        was = self.entries[u.client_id][1]
        why = f"held by the venue after the engine dropped it as {was}: cancelled"
        return dataclasses.replace(u, reason=f"{u.reason}; {why}" if u.reason else why)

    def found_live(self, u: OrderUpdate) -> None:
        """The venue holds dropped entry ``u``: cancelled now (once at a time), its final state reported."""
        cid = u.client_id
        if cid in self.cancelling:
            return
        self.cancelling.add(cid)
        self.found += 1
        log.error("%s: entry %s is %s at the venue after it was dropped as %s: cancelling it", u.symbol, cid,
                  u.status, self.entries[cid][1])
        if self.om.spawn(self._cancel(u.symbol, cid)) is None:
            self.cancelling.discard(cid)

    async def _cancel(self, symbol: str, client_id: str) -> None:
        try:
            u = await self.om.unknowns.cancel(symbol, client_id)
        finally:
            self.cancelling.discard(client_id)
        if u is not None:
            if u.status in TERMINAL_STATUSES:
                self.settled.add(client_id)
            self.om.report_update(u)

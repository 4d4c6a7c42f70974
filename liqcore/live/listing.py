"""The venue's instrument list while a whole-market run goes on (``liqcore run --symbols all``).

The details: docs/maintainers/live-feeds.md, "The venue's instrument list during a whole-market run (liqcore.live.listing)".

May import: ``orjson``, ``market.universe`` and this package's ``admit``, ``orders``.
"""
from __future__ import annotations

import asyncio
import logging
import time

import orjson

__all__ = ["ListingWatch"]

log = logging.getLogger("liqcore.listing")


class ListingWatch:
    """``fetch()``: an awaitable giving ``(universe, selected)`` (:func:`liqcore.market.universe.load_universe`
    and its selection by the run's flags); ``universe`` / ``selected``: the ones in force at start."""

    def __init__(self, engine, venue: str, fetch, universe, selected, interval_s: float, delisted: str = "report"):
        if delisted not in ("report", "close"):
            raise ValueError(f"delisted: expected report or close; got {delisted!r}")
        self.delisted = delisted
        #: called with the new listings the run's selection keeps (``--exclude``, ``--min-volume``): the venue's
        #: liquidation topics they need subscribed (Bybit), or None (an all-market stream carries them)
        self.on_joined = None
        #: called with the delisted symbols: unsubscribes their per-symbol topics (Bybit) and returns them
        self.on_left = None
        #: the live runner (its symbols and its data-on-demand manager follow the list), or None
        self.runner = None
        self.engine = engine
        self.venue = venue
        self.fetch = fetch
        self.interval_s = float(interval_s)
        self.listed = set(universe.rules)
        self.rules = dict(selected.rules)
        self.fetched_ns = universe.fetched_ns
        self.refreshes = 0
        self.failures = 0
        self.joined: list[str] = []
        self.left: list[str] = []

    async def run(self, stop: asyncio.Event) -> None:
        """Refresh every ``interval_s`` until ``stop``."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self.interval_s)
                return
            except asyncio.TimeoutError:
                pass
            await self.refresh()

    async def refresh(self) -> dict | None:
        """Ask the venue once and apply the changes; returns them (None: the list could not be had)."""
        from liqcore.market.universe import UniverseError

        try:
            universe, selected = await self.fetch()
        except (UniverseError, ValueError) as e:
            self.failures += 1
            log.warning("instrument list not refreshed (%s); the list fetched %.0f s ago stays in force", e,
                        (time.time_ns() - self.fetched_ns) / 1e9)
            return None
        self.refreshes += 1
        return self.apply(universe, selected)

    def apply(self, universe, selected) -> dict:
        eng, venue = self.engine, self.venue
        now = set(universe.rules)
        joined, left = sorted(now - self.listed), sorted(self.listed - now)
        changed = sorted(s for s, r in selected.rules.items() if s in self.rules and self.rules[s] != r)
        self.listed, self.rules, self.fetched_ns = now, dict(selected.rules), universe.fetched_ns
        eng.order_manager.use_only(self.rules)  # a delisted symbol: no rules, no order
        eng.listed = {eng.registry.id(venue, s) for s in now}
        if universe.contract:  # OKX: a new swap's contract size
            eng.decoder(venue).set_instruments(universe.contract)
        held = self._held(left)
        traded = self._join([s for s in joined if s in selected.rules])
        gone = self._leave(left)
        if self.delisted == "close":
            self._close(held)
        out = {"fetched_ns": universe.fetched_ns, "listed": len(now), "joined": joined, "left": left,
               "changed": changed, "held": held, "traded": traded, "unsubscribed": sorted(gone)}
        self.joined += joined
        self.left += left
        if joined or left or changed:
            log.info("instrument list refreshed: %d listed; joined %s (traded now: %s); left %s (no new order; "
                     "unsubscribed %s); rules changed %s", len(now), joined or "none", traded or "none", left or "none",
                     sorted(gone) or "none", changed or "none")
            j = eng.journal
            if j is not None:
                ts = eng.now_ns()
                j.note("instruments", out, ts)
                for s in left:
                    j.note("delisted", {"symbol": s, **held.get(s, {}),
                                        "unsubscribed": sorted(n for n in gone if gone[n] == s)}, ts)
                for s in joined:
                    j.note("listed", {"symbol": s, "traded": s in traded}, ts)
        for s, what in held.items():
            log.warning("%s left the venue's instrument list with %s: no new order is sent for it; %s", s,
                        ", ".join(f"{k} {v}" for k, v in what.items() if k != "action"),
                        "its resting entry cancelled and its position closed at market" if self.delisted == "close"
                        else "the position keeps its exits (close it by hand if the venue does not settle it)")
        return out

    def _join(self, keep: list) -> list:
        """The new listings the selection keeps: traded now, watched by data on demand, their topics subscribed."""
        if not keep:
            return []
        from liqcore.live.admit import admit

        traded = admit(self.engine, self.venue, keep)
        r = self.runner
        if r is not None:
            r.symbols += [s for s in traded if s not in r.symbols]
            if r.on_demand is not None:
                r.on_demand.add_symbols(traded)
        if self.on_joined is not None:
            self.on_joined(keep)
        return traded

    def _leave(self, left: list) -> dict:
        """The delisted symbols' per-symbol streams unsubscribed: ``{stream name: symbol}``."""
        gone: dict = {}
        if not left:
            return gone
        if self.on_left is not None:
            syms = set(left)
            for t in self.on_left(left) or ():  # (a stream name holds its symbol, any case)
                gone[t] = next((s for s in syms if s.lower() in t.lower()), "")
        od = getattr(self.runner, "on_demand", None)
        if od is not None:
            for s in od.drop_symbols(left):
                for n in od.names(s):
                    gone[n if isinstance(n, str) else orjson.dumps(n).decode()] = s
        return gone

    def _close(self, held: dict) -> None:
        """``--delisted close``: the resting entries of ``held`` cancelled, the positions closed at market."""
        om = self.engine.order_manager
        for s, what in held.items():
            book = om.books[s]
            if book.position_qty and not book.closing:
                om.close_at_market(s, "delisted")
                what["action"] = "closed"
            elif "resting_entry" in what and not book.position_qty and not book.cancel_sent:
                book.cancel_sent = True
                om.spawn(om.cancel(s, what["resting_entry"]))
                what["action"] = "cancelled"

    def _held(self, symbols) -> dict:
        """The open positions (quantity) and resting entries (client id) of ``symbols``."""
        from liqcore.live.orders import OrderManager

        books = self.engine.order_manager.books
        out = {}
        for s in symbols:
            b = books.get(s)
            if b is None:
                continue
            what = {}
            if b.position_qty:
                what["position_qty"] = b.position_qty
            if b.entry is not None and b.entry_status in OrderManager.WORKING_STATUSES:
                what["resting_entry"] = b.entry.client_id
            if what:
                out[s] = what
        return out

    def summary(self) -> dict:
        return {"refreshes": self.refreshes, "failures": self.failures, "joined": self.joined, "left": self.left,
                "listed": len(self.listed)}

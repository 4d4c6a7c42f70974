"""Gate's futures order book: ``futures.order_book_update`` on a REST snapshot, by Gate's documented update-id rule.

Gate ("How to maintain local order book", futures and spot WebSocket v4): cache the notifications (each carries
``U`` and ``u``, the first and last update id since the previous one); take a base book from REST
(``GET /api/v4/futures/usdt/order_book?contract=BTC_USDT&limit=100&with_id=true``, its ``id`` the baseID);
drop the notifications with ``u < baseID+1``; start from the one with ``U <= baseID+1 <= u``; a base book older
than the first notification (``baseID+1 < U``) or a later notification whose ``U`` is not the previous ``u`` + 1
means updates were lost: take a new base book.  Sizes are absolute (0 removes the level) and in contracts: rows
carry ``size x quanto_multiplier``.

A notification with ``"full": true`` (Gate Futures WebSocket v4 changelog, 2025-05-22: "Added a new field ``full``
to ``futures.order_book_update``"; the field: "``true`` indicates a full depth snapshot ... the user should replace
the local order book with the provided data") is a base book of its own, with or without ``U``: its levels are a
SNAPSHOT run that replaces the book (a level it does not hold is gone), the updates cached before it are dropped,
and its ``u`` is the update id the next notification follows (Gate's rule for its full pushes, "Order Book V2 API",
"Maintain local depth": "the depth ID should be updated to the value of the ``u`` field"); a full push without
``u`` leaves nothing to check the next notification against, so the next one starts the chain.

The machine speaks the shared depth machines' language (:mod:`liqcore.venues.depthsync`): ``event`` /
``snapshot`` return ``(side, price, qty, flags)`` rows, one DEPTH_GAP row marking a break.

May import: ``types``, ``venues.numbers`` and ``venues.depthsync``.
"""
from __future__ import annotations

from liqcore.types import Flag, Side
from liqcore.venues.depthsync import GAP, keep_for_snapshot, replay_buffer
from liqcore.venues.numbers import wire_number

__all__ = ["GateDepthSync"]


def _levels(side, levels, flags, ct):
    side = int(side)
    return [(side, wire_number(x["p"]), wire_number(x["s"]) * ct, flags) for x in levels]


def _book(side, levels, ct):
    """A full book's levels of one side as SNAPSHOT rows (a level of size 0 is no level)."""
    return [r for r in _levels(side, levels, int(Flag.SNAPSHOT), ct) if r[2] != 0.0]


class GateDepthSync:
    """One contract's book: ``multiplier`` its ``quanto_multiplier`` (rows in base units)."""

    #: notifications kept while the snapshot is fetched (the oldest dropped beyond: the snapshot is newer anyway)
    MAX_BUFFER = 10_000

    def __init__(self, multiplier: float = 1.0):
        self.ct = float(multiplier)
        self.base_id = None  # the snapshot's id, then the last applied u
        self.started = False
        self.unanchored = False  # a full push without ``u``: the next notification starts the chain
        self.buffer: list = []

    def wants_snapshot(self) -> bool:
        return self.base_id is None and bool(self.buffer)

    def is_live(self) -> bool:
        return self.base_id is not None

    def snapshot(self, snap: dict) -> list:
        """A ``GET .../order_book?with_id=true`` answer (``id``, ``asks``/``bids`` of ``{"p", "s"}``)."""
        self.base_id = int(snap["id"])
        self.started = self.unanchored = False
        return replay_buffer(self, _levels(Side.BUY, snap["bids"], int(Flag.SNAPSHOT), self.ct)
                             + _levels(Side.SELL, snap["asks"], int(Flag.SNAPSHOT), self.ct))

    def event(self, ev: dict) -> tuple[list, bool]:
        """One ``futures.order_book_update`` ``result`` (``U``, ``u``, ``b``, ``a``; ``full`` true: a whole book)."""
        if ev.get("full") is True:
            return self._full(ev)
        if self.base_id is None:
            return keep_for_snapshot(self, ev)
        big_u, u = int(ev["U"]), int(ev["u"])
        if self.unanchored:  # (after a full push without ``u``: nothing to check this one against)
            self.unanchored, self.started = False, True
            self.base_id = u
            return self._delta(ev), False
        nxt = self.base_id + 1
        if not self.started:
            if u < nxt:  # older than the base book
                return [], False
            if big_u > nxt:  # the base book is behind the notifications
                return self._gap(ev)
        elif big_u != nxt:  # an update lost
            return self._gap(ev)
        self.started = True
        self.base_id = u
        return self._delta(ev), False

    message = event  # (the shared machines' name for a stream message)

    def _delta(self, ev) -> list:
        return _levels(Side.BUY, ev.get("b") or [], 0, self.ct) + _levels(Side.SELL, ev.get("a") or [], 0, self.ct)

    def _full(self, ev) -> tuple[list, bool]:
        """A full push: the book replaced by its levels; the cached notifications (older) dropped; its ``u`` the
        update id the next notification must follow with ``U`` = ``u`` + 1."""
        rows = _book(Side.BUY, ev.get("b") or [], self.ct) + _book(Side.SELL, ev.get("a") or [], self.ct)
        u = ev.get("u")
        u = None if u is None else int(u)
        self.buffer = []
        self.base_id, self.started, self.unanchored = (-1, True, True) if u is None else (u, True, False)
        return rows, False

    def _gap(self, ev):
        self.base_id, self.started, self.buffer = None, False, [ev]
        return [GAP], True

"""State across restarts: restoring the journal's state into a new engine, reconciling with the venue, and
saving a streaming strategy's state.

What to restore and how to reconcile is decided by the pure functions of :mod:`liqcore.live.recovery`;
:class:`StateKeeper` applies their plans to the order manager (books, sequence, pending intents), the
strategy core and the streaming strategy.
"""
from __future__ import annotations

import logging
import time

from liqcore.venues.gateway import GatewayError
from liqcore.live.recovery import reconcile_entry, restore_plan, unknown_positions

__all__ = ["StateKeeper"]

log = logging.getLogger("liqcore.engine")


def _own(stream, name: str):
    """``stream.<name>`` when the stream's class defines it itself (not the refusing base of
    :class:`~liqcore.strategies.base.SignalStream`), else None."""
    if stream is None:
        return None
    from liqcore.strategies.base import SignalStream

    m = getattr(type(stream), name, None)
    if m is None or m is getattr(SignalStream, name, None):
        return None
    return getattr(stream, name)


class StateKeeper:
    """Restore, reconcile and save (see the module docstring).

    Given at construction (never rebound): ``journal`` (or None: nothing is restored or saved), ``orders``
    (the :class:`OrderManager`: books, sequence, pending intents, core, gateway, reports and cancels),
    ``stream`` (the streaming strategy, or None), ``strategy_name``, ``params``, ``traded`` and
    ``by_symbol``.

    Calls back: ``on_error()`` (a stream state that could not be saved or restored).

    Exposes: :meth:`restore` (at start), :meth:`reconcile` (venue mode, after restore), :meth:`save_stream`
    (at shutdown), :meth:`restore_stream`."""

    def __init__(self, journal, orders, stream, strategy_name: str, params, traded: list, by_symbol: dict, *,
                 on_error):
        self.journal = journal
        self.orders = orders
        self.stream = stream
        self.strategy_name = strategy_name
        self.params = params
        self.traded = traded
        self.by_symbol = by_symbol
        self.on_error = on_error

    def restore(self) -> None:
        if self.journal is None:
            return
        symbols = {sym: f"{self.traded[ci][0]}:{sym}" for sym, (_, ci) in self.by_symbol.items()}
        plan = restore_plan(self.journal.recover(), symbols, self.params, paper=self.orders.paper, now_ns=time.time_ns(),
                            held={s: b.position_qty for s, b in self.orders.books.items() if b.position_qty})
        self.restore_stream(plan.stream)
        if plan.empty:
            return
        self.orders.seq = max(self.orders.seq, plan.seq)
        if plan.equity is not None:
            self.orders.core.set_equity(float(plan.equity))
        for sym, bp in plan.books.items():
            book = self.orders.books[sym]
            if bp.position_qty is not None:
                book.position_qty, book.entry_price, book.entry_ns = bp.position_qty, bp.entry_price, bp.entry_ns
            if bp.entry is not None:
                book.entry, book.entry_status = bp.entry, bp.entry_status
        for args in plan.paper:
            self.orders.gateway.restore(*args)
        self.orders.pending.extend((intent, 0) for intent in plan.resend)
        self.orders.core.restore(plan.core)
        n_open, n_pos, n_cool = plan.counts
        log.info("restored from journal: %d open orders, %d positions, %d cooldowns, equity %.2f, seq %d",
                 n_open, n_pos, n_cool, self.orders.core.equity, self.orders.seq)

    def save_stream(self) -> None:
        """A streaming strategy's state (its optional ``snapshot()``) survives a restart in the journal; a
        stream without its own snapshot (the base class's refuses) has nothing to save: not an error."""
        snap = _own(self.stream, "snapshot")
        if snap is None or self.journal is None:
            return
        try:
            self.journal.set_state("stream", {"strategy": self.strategy_name, "state": snap()})
        except Exception:
            self.on_error()
            log.exception("streaming strategy state not saved")

    def restore_stream(self, saved) -> None:
        restore = _own(self.stream, "restore")
        if restore is None or not isinstance(saved, dict) or saved.get("strategy") != self.strategy_name:
            return
        try:
            restore(saved.get("state"))
            log.info("streaming strategy %s restored from the journal", saved["strategy"])
        except Exception:
            self.on_error()
            log.exception("streaming strategy state not restored (it starts afresh)")

    async def reconcile(self) -> None:
        """Venue mode after a restart: ask the venue about every entry the journal holds as working and apply
        :func:`reconcile_entry`'s plan; then report the venue's positions the journal does not know."""
        now = time.time_ns()  # ages as of the restart
        for sym, book in self.orders.books.items():
            if book.entry is None or book.position_qty or book.entry_status not in self.orders.WORKING_STATUSES:
                continue
            entry = book.entry
            try:
                answer = await self.orders.gateway.query(sym, entry.client_id)
            except GatewayError as exc:
                answer = exc
            plan = reconcile_entry(entry, book.position_qty, answer, self.params, now)
            if isinstance(answer, GatewayError):
                log.error("%s", plan.note)
            elif plan.note:
                log.warning("%s", plan.note)
            if plan.ask_later:  # never resent; asked again (once attached) until the venue answers
                book.entry_status = "unknown"
                self.orders.ask_later.append(entry)
            if plan.drop_pending:
                self.orders.pending = [(i, r) for i, r in self.orders.pending if i.client_id != entry.client_id]
            if plan.update is not None:
                self.orders.report_update(plan.update)
            if plan.fill is not None and book.entry is not None:
                self.orders.report_fill(plan.fill)
            if plan.cancel:
                log.warning("reconcile: %s rests at the venue past its entry-timeout; cancelling it", entry.client_id)
                book.cancel_sent = True
                await self.orders.cancel(sym, entry.client_id)
        try:
            venue_positions = await self.orders.gateway.positions()
        except GatewayError as exc:
            log.error("reconcile: positions not read: %s", exc)
            return
        for sym, size in unknown_positions(venue_positions, self.orders.books):
            log.warning("reconcile: %s position of %g on the venue that the journal does not know; "
                        "it is left alone (its venue TP/SL stay)", sym, size)

"""Recovery: what a (re)started engine learns from its journal and the venue.

:meth:`Recovery._restore` rebuilds the books and the strategy core from the journal (open orders,
positions, cooldowns, equity, the loss-limit anchors, the client-id sequence and a streaming strategy's
own state when it has ``snapshot``/``restore``); in venue mode
:meth:`Recovery._reconcile` then asks the venue about every entry the journal holds as working: an
entry older than its entry-timeout is never (re)sent (cancelled if it rests, closed as
``stale_intent`` if the venue never got it), fills the engine missed are applied, and positions the
journal does not know are reported.

:class:`Recovery` is a part of :class:`liqcore.live.engine.Engine`.
"""
from __future__ import annotations

import logging
import time

from liqcore.live.gateway import Fill, GatewayError, OrderIntent, OrderUpdate

__all__ = ["Recovery"]

log = logging.getLogger("liqcore.engine")


class Recovery:
    """Restore and reconcile (a part of the engine; see the module docstring)."""

    _ANCHORS = ("day", "week", "day_start_equity", "week_start_equity")

    def _save_anchors(self) -> None:
        """The loss-limit anchors (UTC day/week and the equity at their start) survive restarts."""
        if self.journal is not None:
            port = self.core.snapshot()["portfolio"]
            self.journal.set_state("loss_anchors", {k: port[k] for k in self._ANCHORS})

    def _set_equity(self, value: float) -> None:
        self.core.set_equity(float(value))

    def _restore(self) -> None:
        if self.journal is None:
            return
        rec = self.journal.recover()
        self._restore_stream(rec.state.get("stream"))
        if rec.empty:
            return
        self._seq = max(self._seq, rec.seq)
        if rec.equity is not None:
            self._set_equity(rec.equity)
        # the core's state is rebuilt as one partial snapshot and loaded with StrategyCore.restore
        portfolio: dict = {}
        anchors = rec.state.get("loss_anchors")
        if isinstance(anchors, dict):
            portfolio.update({k: anchors[k] for k in self._ANCHORS if k in anchors})
        syms: dict[str, dict] = {}

        def key(sym: str) -> str:
            return f"{self.traded[self._by_symbol[sym][1]][0]}:{sym}"

        for sym, until in rec.cooldowns.items():
            if sym in self._by_symbol:
                syms.setdefault(key(sym), {})["cooldown_until_ns"] = int(until)
        for sym, pos in rec.positions.items():
            if sym not in self._by_symbol:
                continue
            side = "buy" if pos.get("side") == "buy" else "sell"
            row = {"status": "open", "side": side, "entry_price": float(pos["entry_price"]),
                   "entry_ns": int(pos.get("entry_ns") or 0), "funding": 0.0}
            for src_k, dst_k, cast in (("take_profit", "tp_price", float), ("stop_loss", "sl_price", float),
                                       ("notional", "notional", float), ("hold_deadline_ns", "hold_deadline_ns", int)):
                if pos.get(src_k):  # missing levels come from the symbol's parameters
                    row[dst_k] = cast(pos[src_k])
            syms.setdefault(key(sym), {}).update(row)
            book = self.books[sym]
            book.position_qty = (1 if side == "buy" else -1) * float(pos["qty"])
            book.entry_price, book.entry_ns = float(pos["entry_price"]), int(pos.get("entry_ns") or 0)
            it = pos.get("intent")
            if isinstance(it, dict):
                book.entry = OrderIntent(**{k: v for k, v in it.items() if k in OrderIntent.__dataclass_fields__})
                book.entry_status = "filled"
                if self.paper:
                    self.gateway.restore(book.entry, "filled", abs(book.position_qty), book.entry_price)
        for cid, row in rec.open_orders.items():
            it = row.get("intent")
            sym = row.get("symbol")
            if not isinstance(it, dict) or sym not in self._by_symbol or row.get("kind") != "entry":
                continue
            book = self.books[sym]
            if book.position_qty:
                continue
            intent = OrderIntent(**{k: v for k, v in it.items() if k in OrderIntent.__dataclass_fields__})
            meta = intent.meta if isinstance(intent.meta, dict) else {}
            ref = meta.get("ref_price")
            syms.setdefault(key(sym), {}).update({
                "status": "resting", "side": intent.side, "limit_price": float(intent.price),
                "ref_price": float(ref) if isinstance(ref, (int, float)) and ref > 0 else None,
                "cascade_id": int(meta.get("cascade_id", -1)) if isinstance(meta.get("cascade_id", -1), int) else -1,
                "signal_ns": int(intent.decision_ns), "arrive_ns": int(intent.decision_ns),
                "entry_deadline_ns": int(intent.decision_ns) + self.params.for_symbol(sym).entry_timeout_ns})
            book.entry, book.entry_status = intent, row.get("status") or "pending"
            if self.paper:
                self.gateway.restore(intent, "new")
            elif row.get("status") == "pending" and not self._stale(intent, row):
                # journaled but maybe never sent: the gateway's idempotent place resolves it by client_id
                self.pending.append((intent, 0))
            # (a pending intent older than entry-timeout is never sent: _reconcile asks the venue about it)
        self.core.restore({"portfolio": portfolio, "symbols": syms})
        log.info("restored from journal: %d open orders, %d positions, %d cooldowns, equity %.2f, seq %d",
                 len(rec.open_orders), len(rec.positions), len(rec.cooldowns), self.core.equity, self._seq)

    def _save_stream(self) -> None:
        """A streaming strategy's state (its optional ``snapshot()``) survives a restart in the journal."""
        snap = getattr(self.stream, "snapshot", None) if self.stream is not None else None
        if snap is None or self.journal is None:
            return
        try:
            self.journal.set_state("stream", {"strategy": type(self.strategy).name, "state": snap()})
        except Exception:
            self.errors += 1
            log.exception("streaming strategy state not saved")

    def _restore_stream(self, saved) -> None:
        restore = getattr(self.stream, "restore", None) if self.stream is not None else None
        if restore is None or not isinstance(saved, dict) or saved.get("strategy") != type(self.strategy).name:
            return
        try:
            restore(saved.get("state"))
            log.info("streaming strategy %s restored from the journal", saved["strategy"])
        except Exception:
            self.errors += 1
            log.exception("streaming strategy state not restored (it starts afresh)")

    def _stale(self, intent: OrderIntent, row: dict | None = None, now_ns: int | None = None) -> bool:
        """An entry decided longer than its symbol's ``entry-timeout`` ago (it must not be sent any more)."""
        born = int(intent.decision_ns or 0) or int((row or {}).get("created_ns") or 0)
        now = time.time_ns() if now_ns is None else now_ns
        return born > 0 and now - born > self.params.for_symbol(intent.symbol).entry_timeout_ns

    async def _reconcile(self) -> None:
        """Venue mode after a restart: ask the venue about every entry the journal holds as working.  An entry
        older than ``entry-timeout`` is never (re)sent: if it rests at the venue it is cancelled now, if the venue
        never got it, it is closed in the journal as ``cancelled`` (``stale_intent``)."""
        now = time.time_ns()  # ages as of the restart
        for sym, book in self.books.items():
            if book.entry is None or book.position_qty or book.entry_status not in self.WORKING_STATUSES:
                continue
            cid = book.entry.client_id
            stale = self._stale(book.entry, now_ns=now)
            try:
                u = await self.gateway.query(sym, cid)
            except GatewayError as exc:
                log.error("reconcile of %s failed: %s", cid, exc)
                if stale:  # never resent; asked again (once attached) until the venue answers
                    book.entry_status = "unknown"
                    self._ask_later.append(book.entry)
                continue
            if u is None:
                if not stale:
                    continue  # never reached the venue: the pending intent is sent again (same client_id)
                log.warning("reconcile: %s decided %.0fs ago never reached the venue; not sent (older than "
                            "entry-timeout)", cid, (time.time_ns() - book.entry.decision_ns) / 1e9)
                u = OrderUpdate(cid, "cancelled", sym, reason="stale_intent", kind="entry", ts_ns=time.time_ns())
            self.pending = [(i, r) for i, r in self.pending if i.client_id != cid]
            self._on_update(u)
            if u.filled_qty > 0 and u.status in ("filled", "partially_filled", "cancelled") \
                    and u.filled_qty > abs(book.position_qty) + 1e-12 and book.entry is not None:
                self._on_fill(Fill(cid, sym, book.entry.side, u.avg_price or book.entry.price,
                                   u.filled_qty - abs(book.position_qty), 0.0, True, exec_id=f"reconcile-{cid}",
                                   kind="entry", ts_ns=u.ts_ns or time.time_ns()))
            if stale and u.status in ("pending", "new", "partially_filled"):
                log.warning("reconcile: %s rests at the venue past its entry-timeout; cancelling it", cid)
                book.cancel_sent = True
                await self._cancel(sym, cid)
        try:
            venue_positions = await self.gateway.positions()
        except GatewayError as exc:
            log.error("reconcile: positions not read: %s", exc)
            return
        for p in venue_positions:
            book = self.books.get(p.symbol)
            if book is not None and p.size > 0 and not book.position_qty:
                log.warning("reconcile: %s position of %g on the venue that the journal does not know; "
                            "it is left alone (its venue TP/SL stay)", p.symbol, p.size)


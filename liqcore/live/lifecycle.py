"""The engine's lifecycle (an object the engine owns): start and shutdown, and the session's description.

:meth:`Lifecycle.start` warms the order path, starts the gateway, takes the venue's clock offset measured for
signing, loads the venue's instruments, restores the journal's state (and, with a venue gateway, reconciles
it with the venue and reads the wallet's equity), journals the session and attaches the order manager to the
running loop.  :meth:`Lifecycle.shutdown` cancels the working entries within the shutdown budget, reads the venue's
fills, orders and positions once before booking, journals the report, saves a streaming strategy's state and closes
the gateway.
"""
from __future__ import annotations

import asyncio
import logging
import time

from liqcore.venues.gateway import FINAL_STATUSES, GatewayError, OrderUpdate

__all__ = ["Lifecycle", "settled_rows"]

log = logging.getLogger("liqcore.engine")


_TERMINAL = FINAL_STATUSES


def settled_rows(open_rows: list[dict], report: dict, now_ns: int, known=None) -> list[OrderUpdate]:
    """The journal rows a shutdown settled: each entry row still open in the journal (``open_rows``: its
    ``client_id``, ``symbol``, ``status``) whose end the shutdown learned (``report["confirmed"]``: cancelled,
    filled, rejected) gets that end, whoever reported it to the engine (the gateway's push, once seen, is not
    reported again: its row is written here), with the venue's last word on it where ``known(client_id)`` (the
    gateway's) holds one (its filled quantity and price); a row the shutdown did not settle stays as it is
    (``unconfirmed`` names what may still rest at the venue)."""
    confirmed = report.get("confirmed") or {}
    out = []
    for r in open_rows:
        cid = r["client_id"]
        status = confirmed.get(cid)
        if status not in _TERMINAL:
            continue
        k = known(cid) if known is not None else None
        if isinstance(k, OrderUpdate) and k.status == status:
            out.append(OrderUpdate(cid, status, k.symbol or r.get("symbol") or "", k.venue_order_id, k.side, k.price,
                                   k.qty, k.filled_qty, k.avg_price, k.reason or "confirmed at shutdown", "entry",
                                   int(k.ts_ns or now_ns)))
        else:
            out.append(OrderUpdate(cid, status, r.get("symbol") or "", reason="confirmed at shutdown", kind="entry",
                                   ts_ns=int(now_ns)))
    return out


class Lifecycle:
    """Start, shutdown and the session's description (see the module docstring).

    Given at construction (never rebound): ``strategy_name``, ``exits``, ``venues``, ``traded``,
    ``paper``, ``gateway``, ``journal`` (or None), ``core`` (the :class:`StrategyCore`: its equity),
    ``metrics``, ``orders`` (the :class:`OrderManager`: instruments, attach, cancels, late resolution),
    ``vclock`` (the :class:`VenueClock`), ``warm`` (the :class:`WarmPath`) and ``keeper`` (the
    :class:`StateKeeper`: restore, reconcile, save).

    Calls back: ``params()`` (the engine's parameters, which the caller may replace: the shutdown budget and
    the session's parameters are read when used), ``now_ns()`` (the engine's clock) and ``replay_clock()`` (the
    engine's replay clock, which the caller may set after construction, or None).

    Exposes: :meth:`start`, :meth:`shutdown`, :meth:`session_info`, ``started`` and ``shutdown_report``
    (the last shutdown's report, or None)."""

    def __init__(self, strategy_name: str, exits: str, venues: list, traded: list, paper: bool, gateway,
                 journal, core, metrics, orders, vclock, warm, keeper, *, params, now_ns, replay_clock):
        self.params = params
        self.strategy_name = strategy_name
        self.exits = exits
        self.venues = venues
        self.traded = traded
        self.paper = paper
        self.gateway = gateway
        self.journal = journal
        self.core = core
        self.metrics = metrics
        self.orders = orders
        self.vclock = vclock
        self.warm = warm
        self.keeper = keeper
        self.now_ns = now_ns
        self.replay_clock = replay_clock
        self.started = False
        #: the venue's equity read at start (USD: wallet balance + unrealized PnL); None: not read (paper)
        self.start_equity: float | None = None
        self.shutdown_report: dict | None = None

    async def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Start the gateway, restore state from the journal (and the venue), attach to the loop."""
        journal, om, vclock = self.journal, self.orders, self.vclock
        if journal is not None and not journal.intent_log_owner:
            log.warning("journal %s: its intent log is held by another open journal (another engine on the same "
                        "file?); this engine commits each intent to SQLite before sending instead", journal.path)
        self.warm.warmup()
        om.stopping = False
        await self.gateway.start()
        off = self.gateway.clock_offset_ms
        if isinstance(off, int):  # measured for signing at the gateway's start
            vclock.set_offset(off * 1_000_000)
        om.load_venue_instruments(self.traded)
        self.keeper.restore()
        if not self.paper:
            await self.keeper.reconcile()
            try:  # the venue's equity (wallet balance + unrealized PnL) is the equity of a live account
                value = await self.gateway.equity()
                if value is not None and value > 0:
                    self.core.set_equity(float(value))
                    self.start_equity = float(value)
                    from liqcore.venues.registry import quote_of

                    # (in the venue's quote currency, as the run's summary says it: each gateway reads that coin)
                    quote = quote_of(self.gateway.name)
                    log.info("start equity %.2f %s (wallet balance + unrealized PnL, read from %s)", value, quote,
                             self.gateway.name)
            except (GatewayError, TypeError, ValueError) as exc:
                log.warning("wallet equity not read (%s); using %.2f", exc, self.core.equity)
        if journal is not None:
            journal.note("session", self.session_info(), self.now_ns())
            journal.equity(self.core.equity, self.now_ns(), "start")
        self.metrics.set("liqcore_equity", self.core.equity)
        self.started = True
        om.attach(loop)
        if vclock.source is not None and not isinstance(off, int) and self.replay_clock() is None:
            vclock.sync(time.time_ns())  # (in the background: start never waits on the network)
        om.resolve_later()  # stale entries the venue could not be asked about at reconcile

    def session_info(self) -> dict:
        """What the journal's report needs to know of this session: strategy, exits, mode, venues, symbols,
        starting equity, the fee model and every parameter (to replay the session's recording)."""
        params = self.params()
        par = params.to_dict()  # field names: durations in ns
        par.update(dict(params.strategy_values))
        if par.get("hours") is not None:
            par["hours"] = f"{par['hours'][0]}-{par['hours'][1]}"
        return {"strategy": self.strategy_name, "exits": self.exits, "mode": "paper" if self.paper else "live",
                "venues": list(self.venues), "symbols": [f"{v}:{s}" for v, s in self.traded],
                "equity": self.core.equity, "maker_fee_bps": params.maker_fee_bps,
                "taker_fee_bps": params.taker_fee_bps, "params": par,
                # each traded symbol's trading rules held at the start ([tick, lot, min qty, min notional, max qty]; a symbol
                # without any sends nothing, no_instrument): liqcore journal --explain replays on the same ones
                "rules": self.orders.known_rules([s for _, s in self.traded]),
                # the parameters the user set (the rest took defaults and per-symbol presets): a replay of the
                # session applies the same presets
                "explicit": sorted(params.explicit)}

    async def shutdown(self, cancel_entries: bool = True, timeout: float | None = None) -> dict:
        """Cancel every working entry (a partially filled entry's remainder and an entry whose create was never
        confirmed included; TP/SL and positions stay), then flush the journal and close the gateway, all within
        ``timeout`` seconds (default: ``params.shutdown_timeout_ns``).

        With a venue gateway the cancels go out at once through its batch endpoint (all requests in parallel),
        and each is confirmed: by the gateway's pushes when the private stream is up, otherwise by one listing
        of the venue's open orders; still-resting entries are cancelled again until the deadline.  Then, before
        anything is booked, the venue's fills, orders and positions are read once (a private stream can drop
        pushes without closing; bounded by the same deadline): fills are booked from the venue's own record,
        never inferred.  Returns (and keeps in :attr:`shutdown_report`) ``{"timeout_s", "working", "confirmed":
        {client_id: status}, "unconfirmed": [{"symbol", "client_id", "status", "reason"}], "reconciled": "yes" or
        why not, "unreconciled": [{"symbol", "client_id", "venue_filled", "booked", "reason"}], "seconds"}``:
        ``unconfirmed`` names every entry that may still rest at the venue, ``unreconciled`` every entry the venue
        reports more filled than its booked fills (its journal row stays open: the next start settles it)."""
        loop = asyncio.get_running_loop()
        budget = self.params().shutdown_timeout_ns / 1e9 if timeout is None else float(timeout)
        t0 = loop.time()
        report = await self.orders.cancel_all(cancel_entries, budget)
        self.shutdown_report = report
        if self.journal is not None:
            for u in settled_rows(self.journal.open_entries(), report, self.now_ns(), self.gateway.known):
                self.journal.order_update(u, u.ts_ns)
            self.journal.note("shutdown", report, self.now_ns())
            self.keeper.save_stream()
            self.journal.flush()
        try:
            await asyncio.wait_for(self.gateway.close(), max(0.1, t0 + budget - loop.time()))
        except asyncio.TimeoutError:
            log.warning("gateway close did not finish within the shutdown timeout")
        except Exception:
            log.exception("gateway close failed")
        report["seconds"] = round(loop.time() - t0, 3)
        return report

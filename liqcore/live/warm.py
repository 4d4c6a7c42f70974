"""The warm path: the confirming-frame path run on scratch state while the feed is quiet.

A live bot idles between cascades, and after an idle spell every instruction of the order path runs from
cold caches.  :class:`WarmPath` compiles the strategy kernels up front (:meth:`WarmPath.warmup`) and, on
the live runner's quiet-feed tick (:meth:`WarmPath.idle_tick`), runs the path a confirming liquidation takes
(decode, detector, strategy core, rounding, the intent's serialisation, the gateway's formatting and
signing) on scratch copies, changing nothing real.
"""
from __future__ import annotations

import time

import logging

import numpy as np

from liqcore.live.decisions import record_dict
from liqcore.venues.gateway import OrderIntent
from liqcore.live.orders import _rand_topup, make_client_id
from liqcore.types import DEFAULT_VENUE, EVENT_DTYPE, Kind, Venue
from liqcore.venues.registry import venue_spec

__all__ = ["WarmPath", "seed_history"]

log = logging.getLogger("liqcore.engine")

_LIQ = int(Kind.LIQUIDATION)


def _sample_frame(sample, price: float, t_ms: int, qty: float) -> bytes:
    """The warm path's frame: ``sample(t_ms, qty, price)`` (a venue's ``samples.liquidation_frame``)."""
    return sample(t_ms, qty, price)


class WarmPath:
    """The warm path (see the module docstring).

    Given at construction (never rebound): ``params``, ``registry``, ``traded``, ``orders`` (its core's mode,
    instruments, gateway and journal), ``lane`` (the fast lane: prepared entries are refreshed on the tick and
    make the run the lean one), ``detector``, ``core_idx``, ``names`` (the decision log's symbol-name cache)
    and ``guide`` (the detector-driven strategy, without a streaming form).

    Calls back: nothing.

    Exposes: ``state`` (the scratch state, rebuilt every million runs), :meth:`warmup`, :meth:`idle_tick`,
    :meth:`run` (one warm run) and :meth:`make_state`."""

    def __init__(self, params, registry, traded: list, orders, lane, detector, core_idx: dict, names: dict, *,
                 guide: bool):
        self.params = params
        self.registry = registry
        self.traded = traded
        self.orders = orders
        self.lane = lane
        self.detector = detector
        self.core_idx = core_idx
        self.names = names
        self.guide = guide
        self.state: dict | None = None  # scratch state of run()

    def warmup(self) -> None:
        """Compile (or load from the cache) the strategy kernels on a throwaway core, and the live queue
        estimate's on a throwaway estimate (:meth:`LiveQueue.warmup`), so neither the first cascade nor the
        frame that places the first entry pays for them."""
        q = getattr(self.orders, "queue_est", None)
        if q is not None:
            q.warmup()
        from liqcore.backtest.core import StrategyCore

        c = StrategyCore(self.params, [f"{DEFAULT_VENUE}:WARMUPUSDT"], equity=1000.0, mode=self.orders.core.mode)
        c.on_trade(0, 1, 100.0)
        c.on_cascade({"symbol_idx": 0, "ts_ns": 2, "dominant": 1, "cascade_id": 0})
        c.on_clock(3)
        c.on_funding(0, 4, 0.0)
        c.external_entry_fill(0, 5, 99.0)
        c.external_close(0, 6, 100.0, "take_profit")
        c.external_reject(0, 7)
        c.on_cascade({"symbol_idx": 0, "ts_ns": 8, "dominant": 2, "cascade_id": 1})
        c.amend_entry(0, 101.0)
        c.external_cancel(0, 9)
        c.set_working_order(0, side="buy", price=99.0, decision_ns=10)
        c.external_entry_fill(0, 11, 99.0)
        c.set_exit_levels(0, 100.0, 98.0, notional=10.0)
        c.restore(c.snapshot())
        c.position(0)

    def idle_tick(self) -> int:
        """The live runner's quiet-feed tick (every ``warm_interval_s`` while no market event arrived for two
        intervals).  Refreshes the prepared entries, then runs the warm path only while the next liquidation
        of some traded symbol could confirm a cascade (:meth:`CascadeDetector.armable`): the confirming-frame
        path can only be needed then.  While every such symbol has its entry prepared, the run is the lean
        one (what the confirming frame runs before the prepared create goes out; the order path's rounding,
        building and signing are skipped).  Also keeps the journal's intent-log page for the next line
        writable (:meth:`Journal.touch_ahead`).  Returns :meth:`warm_path`'s count, or 0 when it did not run."""
        if self.orders.journal is not None:
            self.orders.journal.touch_ahead()
        if self.core_idx:
            self.lane.rearm()
        armable = getattr(self.detector, "armable", None)
        lean = False
        if self.guide and armable is not None:
            due = [sid for sid in self.core_idx if armable(sid)]
            if not due:
                return 0
            arms = self.lane.arms
            lean = all(sid in arms for sid in due)
        return self._once(lean)

    def run(self) -> int:
        """Run the confirming-frame path once on scratch state, so its code and data are in the caches when a
        cascade arrives on a quiet feed (a live bot idles between cascades; the live runner's
        :meth:`idle_tick` runs it every few ms while a cascade can confirm).  Decodes a liquidation frame of
        the first traded symbol with a scratch decoder, feeds a scratch detector until it confirms, asks a
        scratch strategy core, rounds, builds the intent, serialises it as the journal does and formats and
        signs the create request (the gateway's ``warm_order``) without writing it.  Nothing real changes: no
        order, journal row, metric, detector or core state.  Returns the number of confirmed scratch cascades
        (1 normally)."""
        if self.core_idx:
            self.lane.rearm()  # prepared entries: re-signed before they age out, refreshed when the state moved
        return self._once(False)

    def _once(self, lean: bool) -> int:
        w = self.state
        if w is None or w["tick"] >= 1_000_000:  # scratch times stay far inside int64 and 2000..2100
            w = self.state = self.make_state()
        _rand_topup()
        w["tick"] += 1
        tick = w["tick"]
        venue, sym, sid, vcode = w["venue"], w["symbol"], w["sid"], w["vcode"]
        ts = w["t0"] + tick * 600_000_000_000  # 10 min apart: every scratch cascade has ended
        now = time.time_ns()
        qty = w["qty"]
        rows = []
        frame = w["frame"]
        if frame is not None:
            ev = w["decoder"].feed(frame(ts // 1_000_000, qty), now)
            rows = ev.tolist()
        if not rows:
            rows = [(ts, now, w["price"], qty, sid, 1, _LIQ, vcode, 0)]
        det, confirmed = w["detector"], 0
        for k in range(2):
            for t_ev, tr, price, q, _sid, side, kind, v, _f in rows:
                if det.update(t_ev + k * 1_000_000_000, tr, sid, vcode, _LIQ, side, price, q):
                    if lean:  # the fast lane reads the CONFIRMED record only (the records follow the write)
                        confirmed += det.last_confirmed() is not None
                        continue
                    for rec in det.last_records():
                        info = record_dict(rec, self.registry, self.names)
                        if info["record"] == "confirmed":
                            confirmed += 1
        core = w["core"]
        core.on_trade(0, ts, w["price"])
        res = core.on_cascade({"symbol_idx": 0, "ts_ns": ts + 2, "dominant": 1, "cascade_id": tick})
        inst = None
        if lean:  # the prepared create goes out as it is: nothing to round, build or sign
            if res.get("action") == "order":
                core.external_reject(0, ts + 3)
        elif res.get("action") == "order":
            try:
                inst = self.orders.instrument(sym)
            except ValueError:  # no grid known for the symbol: the real path rejects too
                core.external_reject(0, ts + 3)
        if inst is not None:
            side = res["side"]
            price = inst.round_price(res["price"], side)
            q = inst.round_qty(float(res["notional"]) / price) if price > 0 else 0.0
            q = q if q > 0 else inst.min_qty
            intent = OrderIntent(symbol=sym, side=side, qty=q, price=price,
                                 client_id=make_client_id(sym, tick), post_only=True,
                                 take_profit=inst.round_price(price * 1.01, "sell"),
                                 stop_loss=inst.round_price(price * 0.99, "buy"), kind="entry", order_type="limit",
                                 decision_ns=ts, meta={"cascade_id": tick, "ref_price": res["ref_price"], "venue": venue})
            import orjson

            orjson.dumps(intent, option=orjson.OPT_SERIALIZE_NUMPY)
            self.orders.gateway.warm_order(intent)
            core.external_reject(0, ts + 3)
        return confirmed

    def make_state(self) -> dict:
        from liqcore.backtest.core import StrategyCore

        venue, sym = self.traded[0]
        sid = self.registry.id(venue, sym)
        import dataclasses

        from liqcore._libs.detection import CascadeDetector

        # a threshold computed once (no refresh): the scratch cascades stay above it at no rebuild cost
        det = CascadeDetector.from_params(dataclasses.replace(self.params, refresh_ns=1 << 62))
        vcode = int(Venue.parse(venue))
        det.seed(sid, np.linspace(100.0, 1000.0, max(int(self.params.min_history), 1) + 10), vcode)
        price = 100.0
        try:
            inst = self.orders.instrument(sym)
            price = max(inst.tick_size * 1000, 100.0)
        except ValueError:
            pass
        frame = None
        spec = venue_spec(venue)
        # the venue's own sample frame (venues/<venue>/samples.py; sizes in contracts need the venue's contract values)
        if spec.has_part("samples") and not spec.sizes_in_contracts:
            import functools

            sample = spec.part("samples").liquidation_frame
            frame = functools.partial(_sample_frame, functools.partial(sample, sym), price)
        from liqcore.venues.decoder import Decoder

        core = StrategyCore(self.params, [f"{venue}:{sym}"], equity=1e9, mode=self.orders.core.mode)
        return {"tick": 0, "venue": venue, "symbol": sym, "sid": sid, "vcode": vcode, "t0": 10**18, "price": price,
                "qty": 1e6 / price, "frame": frame, "decoder": Decoder(venue, registry=self.registry),
                "detector": det, "core": core}


def seed_history(source, now_ns: int | None, *, detector, registry, params, venues: list, core_idx: dict,
                 liq_seen: dict, stream, strategy_name: str) -> dict[str, int]:
    """(:meth:`Engine.seed_history`) Seed the detector's P95 thresholds from recorded liquidations, so a (re)started engine does
    not wait for ``min_history`` live liquidations per symbol; a streaming strategy with a
    ``seed(events)`` method (``liq-trend``: its segment baseline) is fed the same recording's events
    of the engine's venues received at or before ``now_ns``.

    ``source``: recording path(s) (anything :func:`liqcore.load_events` reads, symbol ids taken
    from the engine's registry) or an EVENT_DTYPE array with the engine's symbol ids.  Only
    liquidations of the engine's venues received at or before ``now_ns`` (default: now) are used,
    the last ``history`` of each (venue, symbol), oldest first.  Returns ``{"venue:SYMBOL": n}``."""
    if isinstance(source, np.ndarray):
        if source.dtype != EVENT_DTYPE:
            raise ValueError("source: expected an EVENT_DTYPE array or recording paths")
        ev = source
    else:
        from liqcore.dataset.load import load_events

        ev = load_events(source, registry=registry, max_clock_skew_ns=params.max_clock_skew_ns).events
    now = time.time_ns() if now_ns is None else int(now_ns)
    venues = [int(Venue.parse(v)) for v in venues]
    keep = (ev["kind"] == int(Kind.LIQUIDATION)) & (ev["ts_recv"] <= now) & np.isin(ev["venue"], venues)
    liq = ev[keep]
    notional = liq["price"] * liq["qty"]
    ok = np.isfinite(notional) & (notional > 0)
    liq, notional = liq[ok], notional[ok]
    order = np.lexsort((np.arange(len(liq)), liq["ts_recv"], liq["symbol_id"]))
    liq, notional = liq[order], notional[order]
    sids, starts = np.unique(liq["symbol_id"], return_index=True)
    ends = np.append(starts[1:], len(liq))
    n_keep = int(getattr(detector, "history", 0) or params.history)
    out: dict[str, int] = {}
    for sid, a, b in zip(sids.tolist(), starts.tolist(), ends.tolist()):
        a = max(a, b - n_keep)
        detector.seed(sid, notional[a:b], int(liq["venue"][a]))
        if sid in core_idx:
            liq_seen[sid] = liq_seen.get(sid, 0) + (b - a)
        try:
            v, s = registry.lookup(sid)
            name = f"{v.name.lower()}:{s}"
        except (IndexError, ValueError):
            name = str(sid)
        out[name] = b - a
    if out:
        log.info("detector seeded from history: %s", ", ".join(f"{k} {n}" for k, n in sorted(out.items())))
    seed = getattr(stream, "seed", None) if stream is not None else None
    if seed is not None:  # a streaming strategy's own history (e.g. liq-trend's segment baseline)
        past = ev[(ev["ts_recv"] <= now) & np.isin(ev["venue"], venues)]
        closes = seed(past[np.argsort(past["ts_recv"], kind="stable")])
        log.info("strategy %s seeded from history: %d segment closes", strategy_name, closes)
    return out

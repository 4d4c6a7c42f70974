"""The embeddable engine: frames or events in, decisions (and orders) out (:class:`Engine`).

    eng = Engine(Params(), symbols=["ETHUSDT", "SOLUSDT"])           # paper gateway by default
    decisions = eng.on_frame("bybit", frame_bytes, time.time_ns())    # synchronous core
    await eng.start()                                                  # inside a running loop: orders go out

A composition: it owns the feed-side state and wires feed -> detector -> strategy -> orders; each other
job is an object it owns (orders, fast lane, stream path, decisions, health, venue clock, warm path,
state keeper, lifecycle).  The strategies, exits, core path, modes and clock guard: docs/how-to/embed-engine.md,
"Embedding the engine", and docs/explanation/live-engine.md, "The engine, part by part".  May import: ``live``'s parts, ``venues``, ``strategies``,
``features.live``, ``backtest.core``, ``execution.arrays``, ``config``, ``types`` and the kernels.
"""
from __future__ import annotations

import collections
import operator
import os
import time
from typing import Callable, Iterable

import numpy as np

from liqcore.config import Params
from liqcore.live.panels import PanelState
from liqcore.live.decisions import Decision, DecisionLog, record_dict as _record_dict  # noqa: F401 (Decision: re-exported)
from liqcore.venues.gateway import Fill, OrderIntent, OrderUpdate  # noqa: F401
from liqcore.live.inputs import (check_amounts, check_gateway, known_rows, symbol_maps, time_ns as _ns, traded_symbols,
                                 watched_exits)
from liqcore.live.lifecycle import Lifecycle
from liqcore.live.metrics import Metrics
from liqcore.execution.arrays import use_instruments
from liqcore.live.queue_estimate import LiveQueue
from liqcore.live.replayed import replayed_frame
from liqcore.live.fastlane import FastLane
from liqcore.live.health import Health
from liqcore.live.orders import OrderManager, make_client_id, per_minute  # noqa: F401
from liqcore.live.persist import StateKeeper
from liqcore.live.streampath import (FUNDING as _FUNDING, LIQUIDATION as _LIQUIDATION, MARK as _MARK,
                                     QUOTE as _QUOTE, RECV_MIN as _RECV_MIN, TRADE as _TRADE, StreamPath,
                                     check_live_strategy, count_implausible, is_guide, open_stream)  # noqa: F401
from liqcore.live.venueclock import HOLD_MARGIN_NS, VenueClock
from liqcore.live.views import checklist as _checklist, collect as _collect_metrics, new_checks, snapshot as _snapshot
from liqcore.live.warm import WarmPath, seed_history as _seed_history
from liqcore.venues.governor import governor_metrics
from liqcore.venues.instruments import DEFAULT_INSTRUMENTS, Instrument
from liqcore.types import DEFAULT_VENUE, Kind, SymbolRegistry, Venue

__all__ = ["Engine", "Decision", "Instrument", "DEFAULT_INSTRUMENTS", "make_client_id"]

_DEPTH = int(Kind.DEPTH)
_RECORDED_SKEW_NS = 60_000_000_000  # receive times handed in this far from the wall clock are recorded ones (a replay)


def _via(path: str, settable: bool = False) -> property:
    """A delegating property: ``engine.<name>`` reads (``settable``: and writes) its component's ``engine.<path>``."""
    get = operator.attrgetter(path)
    if not settable:
        return property(get, doc=f"``{path}``")
    owner, _, name = path.rpartition(".")
    own = operator.attrgetter(owner)
    return property(get, lambda self, v: setattr(own(self), name, v), doc=f"``{path}`` (settable)")


class Engine:
    """The live engine, to embed in a bot: venue frames (or event rows) in, trading decisions and orders out.

    The backtest's detector and strategy on the live stream: :meth:`on_frame` (a websocket frame, synchronous) or
    :meth:`on_events` (rows) return the :class:`Decision` of each cascade acted on, :meth:`on_clock` the cascade
    records (dicts) time changed; in the bot's loop :meth:`start` connects the order gateway (paper by default),
    :meth:`shutdown` cancels entries and stops. Callbacks: ``on_decision``, ``on_cascade``, ``on_fill``, ``on_update``.
    ``params``: a :class:`~liqcore.Params` (or a mapping of names; None: defaults); ``venues``: whose frames it reads;
    ``symbols``: traded (``"ETHUSDT"`` on the first venue, or ``"binance:ETHUSDT"``; default the guide's DOGE, SOL,
    ETH); ``equity``: starting equity in quote units (a venue gateway's wallet equity replaces it at :meth:`start`
    unless a journal has one); ``notional``: fixed quote notional per trade (default ``params.size`` x equity). Its
    parts (``order_manager``, ``fast_lane``, ``stream_path``, ``decision_log``, ``health``, ``venue_clock_guard``,
    ``warm``, ``keeper``, ``lifecycle``) hold their state; the delegating properties keep the older names."""

    listed: set | None = None  #: registry ids of the symbols whose trading rules are known (see _refusal)

    def __init__(self, params: Params | None = None, venues: Iterable[str] | str = (DEFAULT_VENUE,), gateway=None,
                 registry: SymbolRegistry | None = None, journal=None,
                 on_decision: Callable[[Decision], None] | None = None,
                 on_cascade: Callable[[dict], None] | None = None,
                 on_fill: Callable[[Fill], None] | None = None, *,
                 symbols: Iterable[str] | None = None, equity: float = 10_000.0, notional: float | None = None,
                 instruments: dict | None = None, risk=None, kill_switch: str | os.PathLike | None = None,
                 metrics: Metrics | None = None, detector=None, on_update: Callable[[OrderUpdate], None] | None = None,
                 features: Iterable[str] | None = None, strategy=None):
        from liqcore.backtest.core import StrategyCore
        from liqcore.live.paper import PaperGateway
        from liqcore.live.risk import KillSwitch, RiskView
        from liqcore.strategies import resolve_strategy

        # the strategy (``params.strategy``, or a name/class/instance as ``strategy=``): its defaults fill the unset
        self.strategy, self.params = resolve_strategy(strategy, params if params is not None else Params())
        self.venues, self.traded = traded_symbols(venues, symbols)  # (liqcore.live.inputs: the checks)
        check_amounts(equity, notional)
        self.notional = notional
        self.registry = registry if registry is not None else SymbolRegistry()
        self.gateway = gateway if gateway is not None else PaperGateway()
        check_gateway(self.gateway)
        self.paper = isinstance(self.gateway, PaperGateway)
        self.core = StrategyCore(self.params, [f"{v}:{s}" for v, s in self.traded], equity=float(equity),
                                 mode="paper" if self.paper else "venue")
        # the shell sends the entries the core decides (a same-symbol replacement's, queued in the core, would not)
        self.core.port["replace_same"] = 0
        #: who watches the exits in venue mode: "venue" (take-profit, stop-loss and, where the gateway has one,
        #: the trailing stop held by the venue) or "engine" (every exit watched here and closed at market)
        self.exits = self.params.exits
        if not self.paper:
            self.core.watch = watched_exits(self.exits, self.gateway.native_trailing)
        # the strategy's streaming form (every strategy but the guide's cascade-mm, which runs on the
        # detector's records directly: the same signals, decided by the core's cascade step)
        guide = is_guide(self.strategy)
        self.stream = None if guide else open_stream(self.strategy, self.params, self.registry)
        self.panels = PanelState()  # the write-up's three live panels, in the snapshot
        # registry id -> core index, and symbol name -> (sid, core index)
        self._core_idx, self._by_symbol = symbol_maps(self.registry, self.traded)
        self._held: dict[int, tuple[int, float]] = {}
        # ---- live queue-position estimate of the resting entries (liqcore.live.queue_estimate) ----
        self.queue_est = LiveQueue([s for _, s in self.traded], self.params,
                                   lambda sym: self.instrument(sym).tick_size, lambda: self.journal)
        self.detector = detector if detector is not None else self._make_detector()
        self.journal = journal
        self.metrics = metrics if metrics is not None else Metrics()
        # one set of risk checks: the core's (hours, loss limits, busy, cooldown, max symbols); the shell adds
        # the kill switch (``risk``: a KillSwitch to share) and reads the rest through a view of the core
        if risk is not None and not isinstance(risk, KillSwitch):
            raise ValueError(f"risk: expected a liqcore.live.risk.KillSwitch; got {type(risk).__name__}")
        self.kill_switch = risk if risk is not None else KillSwitch(kill_switch)
        self.risk = RiskView(self.core, self.kill_switch)
        self._decoders: dict[str, object] = {}
        self.frames: dict[str, int] = {}
        # named features kept current from the stream (liqcore.features.live.LiveFeatures); read with feature()
        self.features = None
        if features:
            from liqcore.features.live import LiveFeatures

            self.features = LiveFeatures(features, self.registry, params=self.params)
        self.events = 0
        self.rejects: dict[str, int] = {}
        #: the go-live checklist's tallies (liqcore.live.views.new_checks), filled by the order manager and
        #: the decision log; read with checklist()
        self.checks: dict = new_checks()
        self.liq_seen: dict[int, int] = {}  # liquidations seen per traded symbol id (threshold warm-up)
        #: receive times of the traded symbols' liquidations (the liquidation rate journaled with each send)
        self._liq_times: collections.deque = collections.deque(maxlen=1 << 16)
        #: replay clock (``stamp(frame, recv_ns) -> recv_ns``, ``now_ns``): paper trading a replay runs on
        #: the replayed receive times instead of the wall clock
        self.replay_clock = None
        self.replay_tick_ns = 0  # the replayed receive time of the next replay tick (liqcore.live.replayed)
        #: a :class:`liqcore.live.recorder.Recorder` that keeps every frame the engine receives (``run --record``)
        self.recorder = None
        #: ``run --book depth``: the traded symbols' L2 books, for the live queue estimate (liqcore.live.livedepth)
        self.depth = None
        #: the web dashboard's price trail: ``row_tap(batch)`` gets every batch of events by reference before it
        #: is processed, ``row_tap.reject(symbol_id, ts_recv, price)`` each event then dropped
        self.row_tap = None
        self._last_event_ns = 0  # latest ts_event seen (detector clock)
        self._last_event_wall = 0  # wall time when it was seen
        # the latest receive time the caller handed in (on_frame's recv_ns, on_events' ts_recv) and how far it
        # was from the wall clock then: more than _RECORDED_SKEW_NS is a recording, whose time on_clock() follows
        self._fed_recv_ns = 0
        self._fed_skew_ns = 0
        # ---- the parts
        self.health = Health(self.params, journal, self.gateway)
        self.order_manager = OrderManager(
            self.core, self.gateway, journal, self.metrics, self.checks, self.traded, self._by_symbol,
            paper=self.paper, exits=self.exits, notional=notional, instruments=instruments, now_ns=self.now_ns,
            on_error=self.health.error, on_entry_ended=self.health.entry_ended, liq_rate=self.liq_per_min,
            on_update=on_update, on_fill=on_fill, queue_est=self.queue_est, replay_clock=lambda: self.replay_clock)
        om = self.order_manager
        if self.paper:  # (the paper core on the rules its orders are rounded with: liqcore.execution.arrays)
            use_instruments(self.core.par, om.instrument, [s for _, s in self.traded])
        self.fast_lane = FastLane(om, self.detector, self._core_idx, self._held, self.registry,
                                  enabled=not self.paper and guide, blocked=self._blocked,
                                  last_event_wall=lambda: self._last_event_wall, on_error=self.health.error)
        self.decision_log = DecisionLog(self.registry, self._core_idx, om, self.checks, self.metrics, journal,
                                        on_error=self.health.error, on_cascade=on_cascade, on_decision=on_decision,
                                        annotate=getattr(self.detector, "annotate", None), clock=self._record_ns)
        self.venue_clock_guard = VenueClock(self.params, self.gateway, self.paper, self.health, self._decoders,
                                            self.rejects, om)
        if guide:  # (the detector-driven path holds events past the bound for a new measurement of the clock)
            self.venue_clock_guard.on_offset = self._judge_held
        self.stream_path = None if guide else StreamPath(
            self.stream, self.core, self.detector, self.registry, self._core_idx, om, self.queue_est,
            self.venue_clock_guard, self.rejects, self.liq_seen, self._liq_times,
            uses_detector=bool(getattr(self.stream, "uses_detector", type(self.strategy).uses_detector)),
            # a strategy's notes on a signal (liq-trend's judge): into the decision, the journal and the dashboard
            notes=getattr(self.strategy, "signal_notes", None),
            note_fields=getattr(self.strategy, "signal_note_fields", None),
            keep_record=self.decision_log.record, refusal=self._refusal, decided=self._decided,
            advanced=self._advanced)
        self.warm = WarmPath(self.params, self.registry, self.traded, om, self.fast_lane, self.detector,
                             self._core_idx, self.decision_log.names, guide=guide)
        self.keeper = StateKeeper(journal, om, self.stream, type(self.strategy).name, self.params, self.traded,
                                  self._by_symbol, on_error=self.health.error)
        self.lifecycle = Lifecycle(type(self.strategy).name, self.exits, self.venues, self.traded, self.paper,
                                   self.gateway, journal, self.core, self.metrics, om, self.venue_clock_guard,
                                   self.warm, self.keeper, params=lambda: self.params, now_ns=self.now_ns,
                                   replay_clock=lambda: self.replay_clock)
        self.metrics.collectors.append(self._collect)
        self.gateway.on_update(om.report_update)
        self.gateway.on_fill(om.report_fill)
        if not self.paper:  # an open position's venue-held exits lost / replaced / closed: journaled, counted
            self.gateway.on_protection(om.protection.on_event)
            self.metrics.collectors.append(governor_metrics)  # the venue's bans and rate-limit waits
        if self.paper:
            self.gateway.bind(self.core, {s: ci for s, (_, ci) in self._by_symbol.items()})
            self.gateway.clock = self.now_ns  # a replay's cancels and closes at the replayed time
            self.gateway.on_exit(om.account_exit)

    def idle_tick(self) -> int:
        """The live runner's quiet-feed tick (:meth:`WarmPath.idle_tick`)."""
        return self.warm.idle_tick()

    def _collect(self, m: Metrics) -> None:
        _collect_metrics(self, m)

    def now_ns(self) -> int:
        """The engine's clock for what it keeps (journal rows, order updates, the core's times): the replayed
        receive time during a replay (:attr:`replay_clock`), the wall clock otherwise."""
        rc = self.replay_clock
        if rc is not None:
            t = rc.time_ns() if hasattr(rc, "time_ns") else rc.now_ns
            if t:
                return t
        return time.time_ns()

    def _record_ns(self) -> int:  # the receive clock now (a detector record's journal time): recorded frames' own
        fed = self.replay_clock is None and abs(self._fed_skew_ns) > _RECORDED_SKEW_NS and self._fed_recv_ns
        return fed or self.now_ns()  # (an embedded replay's: never the wall clock, which would expire every hold)

    def _blocked(self) -> bool:
        """New entries are refused (kill switch, halt)."""
        return self.kill_switch.killed or bool(self.health.halted)

    def _make_detector(self):
        from liqcore._libs.detection import CascadeDetector

        return CascadeDetector.from_params(self.params)

    def decoder(self, venue: str):
        d = self._decoders.get(venue)
        if d is None:
            from liqcore.venues.decoder import Decoder

            v = Venue.parse(venue).name.lower()
            # judged against the venue's clock (where events are held for its new measurement: beyond the bound)
            d = self._decoders[venue] = self._decoders[v] = Decoder(
                v, registry=self.registry, max_clock_skew_ns=self.venue_clock_guard.decoder_skew_ns)
        return d

    def warmup(self) -> None:
        """Compile (or load) the strategy kernels and the queue estimate's and build each venue's decoder before the
        first frame: neither the first frame, the first cascade nor the first entry's frame pays for loading."""
        self.warm.warmup()
        for v in self.venues:
            self.decoder(v)

    @property
    def mode(self) -> str:
        return "paper" if self.paper else "live"

    # ------------------------------------------------------------------ the synchronous core
    def on_frame(self, venue: str, frame: bytes, recv_ns: int | None = None) -> list[Decision]:
        """Decode one websocket frame of ``venue`` and process its events."""
        if recv_ns is None:
            recv = time.time_ns()
        else:  # the caller's receive time: a recorded one (far from the wall clock) makes on_clock() follow it
            recv = _ns(recv_ns, "recv_ns")
            self._fed_recv_ns = recv
            self._fed_skew_ns = time.time_ns() - recv
        if self.replay_clock is not None:  # a replay: its receive time, its tick, its step (liqcore.live.replayed)
            return replayed_frame(self, venue, frame, recv_ns, recv)
        return self.process_frame(venue, frame, recv)

    def held_events(self) -> bool:  # (events held for the venue clock's next measurement: a replay ticks)
        return bool(self._held)

    def process_frame(self, venue: str, frame: bytes, recv: int) -> list[Decision]:
        """:meth:`on_frame` at receive time ``recv`` as taken."""
        self.frames[venue] = self.frames.get(venue, 0) + 1
        if self.recorder is not None:  # the session's frames with their receive times (liqcore journal --recording)
            self.recorder.write_frame(venue, frame, recv)
        if self.depth is not None and frame.__class__ is bytes and self.depth.is_depth(frame):  # (--book depth)
            return self.depth.on_frame(frame, recv)
        dec = self._decoders.get(venue) or self.decoder(venue)
        if self.features is None and self.stream_path is None:  # the event tuples straight from the decoder
            rows = dec.feed_rows(frame, recv)
            return self._on_rows(rows) if rows else []
        ev = dec.feed(frame, recv)
        if not len(ev):
            return []
        return self.on_events(ev)

    def on_events(self, events: np.ndarray) -> list[Decision]:
        """Process EVENT_DTYPE rows in order; returns the decisions they caused."""
        events = known_rows(events, self.registry, self.rejects)  # (unknown ids counted and left out)
        n = len(events)
        if not n:
            return []
        self._fed_recv_ns = last = int(events["ts_recv"][-1])  # (see on_clock: the frames' time in a replay)
        self._fed_skew_ns = time.time_ns() - last
        if self.features is not None:
            self.features.on_events(events)
        if self.stream_path is not None:
            self.events += n
            if self.row_tap is not None:
                self.row_tap(events)
            return self.stream_path.on_events(events)
        return self._on_rows(events.tolist())

    def liq_per_min(self, t_ns: int) -> float:
        """The traded symbols' liquidations received in the minute up to ``t_ns`` (:func:`per_minute`)."""
        return per_minute(self._liq_times, t_ns)

    def _judge_held(self) -> list[Decision]:
        """The events the venue clock held, judged again against its clock as measured now (a new offset, or
        ``hold_s`` passed): the ones within the bound are processed in their order, the rest rejected."""
        rows = self.venue_clock_guard.take_held()
        if not rows:
            return []
        self.events -= len(rows)  # (counted when they arrived)
        return self._on_rows(rows, hold=False)

    def _on_rows(self, rows: list, hold: bool = True) -> list[Decision]:
        """:meth:`on_events` of the detector-driven strategy on the events as tuples (EVENT_DTYPE order);
        ``hold``: events stamped past the bound are held for a new measurement of the venue's clock where
        it can be measured (False: judged now)."""
        self.events += len(rows)
        if self.row_tap is not None:
            self.row_tap(rows)
        out: list[Decision] = []
        det = self.detector
        core_idx = self._core_idx
        held = self._held
        om = self.order_manager
        books = om.by_index
        core_events = om.core_events
        lane = self.fast_lane
        skew = self.venue_clock_guard.skew_ns
        arms = lane.arms
        liqs = None  # traded symbols with liquidations in these events (their prepared entries are re-checked)
        plausible = getattr(det, "plausible", None)  # (None for a detector without a plausibility check)
        rejects = self.rejects
        vclock = self.venue_clock_guard
        for row in rows:
            ts, tr, price, qty, sid, side, kind, venue, _flags = row
            if ts - tr > skew and tr >= _RECV_MIN:
                # stamped ahead of its receive time: it must not move the detector's (or any) clock
                if hold and vclock.can_hold and ts - tr <= skew + HOLD_MARGIN_NS:
                    vclock.hold(row, time.time_ns())  # (a venue clock that jumped: judged again once measured)
                    continue
                self.rejects["future_time"] = self.rejects.get("future_time", 0) + 1
                if self.row_tap is not None:
                    self.row_tap.reject(sid, tr, price)
                continue
            if kind == _DEPTH:  # (--book depth) the L2 book: read by the live queue estimate alone
                ci = core_idx.get(sid)
                if ci is not None:
                    self.queue_est.on_row(ci, tr, kind, side, price, qty, _flags)
                continue
            if kind <= _MARK and plausible is not None and (bad := plausible(sid, kind, price, qty, ts)):
                # an absurd price or size (liqcore.validate): never a print, never large, never a trade
                count_implausible(rejects, bad, sid, kind, price, qty)
                if self.row_tap is not None:
                    self.row_tap.reject(sid, tr, price)
                continue
            if kind == _TRADE:
                ci = core_idx.get(sid)
                if ci is not None and price > 0 and price == price:
                    b = books[ci]
                    if b.entry is None and not b.position_qty:
                        held[ci] = (tr, price)  # idle symbol: only the last print matters (flushed before use)
                    else:
                        if ci in held:
                            self._flush_held(ci)
                        core_events(self.core.on_trade(ci, tr, price, qty))
            elif kind == _FUNDING:
                ci = core_idx.get(sid)
                if ci is not None and price == price:
                    if ci in held:
                        self._flush_held(ci)
                    self.core.on_funding(ci, tr, price)
            elif kind == _LIQUIDATION and sid in core_idx:
                self.liq_seen[sid] = self.liq_seen.get(sid, 0) + 1
                self._liq_times.append(tr)
                if liqs is None:
                    liqs = {sid}
                else:
                    liqs.add(sid)
            elif kind == _QUOTE and sid in core_idx and getattr(self.core, "wants_quotes", False):
                ci = core_idx[sid]  # the queue fill rule's book (paper trading under --fill queue)
                if ci in held:
                    self._flush_held(ci)
                core_events(self.core.on_quote(ci, tr, side, price, qty))
            if (kind == _QUOTE or kind == _TRADE) and sid in core_idx:  # the live queue estimate
                self.queue_est.on_row(core_idx[sid], tr, kind, side, price, qty)
            try:
                nrec = det.update(ts, tr, sid, venue, kind, side, price, qty)
            except ValueError as exc:
                reason = str(exc).split(":", 1)[0] or "invalid"
                self.rejects[reason] = self.rejects.get(reason, 0) + 1
                continue
            if ts > self._last_event_ns:
                self._last_event_ns = ts
                self._last_event_wall = tr
            if nrec:
                # a prepared entry: written here when this record confirms its cascade (on the record's symbol: an
                # instrument-scope cascade of the traded symbol may confirm on another venue's liquidation)
                if arms and (conf := det.last_confirmed()) is not None and conf[0] in arms:
                    lane.fire(conf[0])
                for rec in det.last_records():
                    d = self._on_record(rec)
                    if d is not None:
                        out.append(d)
        if held:
            self._flush_held()
        if lane.pre:
            lane.pre.clear()
        if lane.fired:  # (never expected: the order path adopts what the lane wrote on the same stack)
            lane.orphans()
        if arms or liqs is not None:
            lane.rearm({*arms, *(liqs or ())})
        return out

    def _advanced(self, ts: int, tr: int) -> None:
        """The detector clock (venue time of the latest event, and its receive time) after the streaming path's batch."""
        if ts > self._last_event_ns:
            self._last_event_ns, self._last_event_wall = ts, tr

    def feature(self, name: str, symbol: str | None = None, t_ns: int | None = None) -> float | None:
        """The value of a feature named at construction (``Engine(features=[...])``) for ``symbol`` at
        ``t_ns`` (default: the latest receive time); None = null (see ``engine.features.why_null``)."""
        if self.features is None:
            raise ValueError("features: this engine keeps no features (Engine(features=[names]))")
        return self.features.value(name, symbol, t_ns)

    def _flush_held(self, ci: int | None = None) -> None:
        """Hand the coalesced last print(s) of idle symbols to the core."""
        held = self._held
        for c in ([ci] if ci is not None else list(held)):
            tr, price = held.pop(c)
            self.order_manager.core_events(self.core.on_trade(c, tr, price))

    def on_gap(self, events: np.ndarray, reason: str = "") -> None:
        """GAP events from the feed manager (a disconnect): open cascades of those symbols end (see Health.feed_gap);
        with depth, the venue's books are unknown until their next snapshot."""
        self.on_events(events)
        self.health.feed_gap(events, reason, self.metrics)
        if self.depth is not None:
            self.depth.on_gap(events)

    def on_clock(self, now_ns: int | None = None) -> list[dict]:
        """Time passes: cascades expire, arrivals and timeouts settle -> the cascade records it changed (dicts)."""
        rc = self.replay_clock
        if rc is not None and now_ns is None:
            if not rc.now_ns:
                return []  # nothing replayed yet: no time has passed
            now = rc.now_ns  # the latest replayed receive time
        else:  # (recorded frames handed in with their receive times, an embedded replay: their time)
            now = self._record_ns() if now_ns is None else _ns(now_ns, "now_ns")
        out: list[dict] = []
        om = self.order_manager
        if om.books_q:
            om.run_books()
        if rc is None:
            self.venue_clock_guard.check(now)
            if self.venue_clock_guard.hold_expired(time.time_ns()):
                self._judge_held()  # (no new measurement in time: judged against the clock as it stands)
        if self._last_event_ns and rc is None:  # (a replay's detector follows its events alone, as a backtest's)
            # the detector runs on venue event time: advance it by the wall time since the last event
            ev_now = self._last_event_ns + max(0, now - self._last_event_wall)
            if self.detector.tick(ev_now):
                for rec in self.detector.last_records():
                    self._on_record(rec, decide=self.stream is None)
                    out.append(_record_dict(rec, self.registry))
        if self._held:
            self._flush_held()
        if self.stream_path is not None:  # signals decided by now that no event revealed (a bar close)
            self.stream_path.on_clock(now)
        om.core_events(self.core.on_clock(now))
        if om.protection.unprotected and rc is None:  # the watchdog: no position unprotected beyond 30 s
            om.protection.check()
        self.health.flush_journal()
        return out

    def _on_record(self, rec, decide: bool = True) -> Decision | None:
        """A detector record: kept by the decision log; a confirmed one is decided (unless ``decide`` is off)."""
        info = self.decision_log.record(rec)
        if info["record"] != "confirmed" or not decide:
            return None
        return self._decide(rec, info)

    def _decide(self, rec, info: dict) -> Decision:
        sid = info["symbol_id"]
        ts = info["confirm_recv_ns"]
        ci = self._core_idx.get(sid)
        d = Decision(info["venue"], info["symbol"], sid, info["cascade_id"], ts, info["dominant"], "none")
        res = None
        d.reason = self._refusal(ci, sid)
        if not d.reason:
            if ci in self._held:
                self._flush_held(ci)
            lane_pre = self.fast_lane.pre
            pre = lane_pre.pop(sid, None) if lane_pre else None
            if pre is not None and pre[0] == info["cascade_id"]:  # the fast lane asked the core already
                res = pre[1]
            else:
                res = self.core.on_cascade({"symbol_idx": ci, "ts_ns": ts, "dominant": int(rec["dominant"]),
                                            "cascade_id": info["cascade_id"]})
        return self._decided(d, res, ci)

    def _refusal(self, ci: int | None, sid: int = -1) -> str:
        """Why a decision is refused before the core is asked (``no_instrument``: its symbol id not in :attr:`listed`,
        the symbols whose trading rules are known, e.g. delisted; not traded; kill switch, halted), or ""."""
        if self.listed is not None and sid not in self.listed or ci is None:
            return "no_instrument" if self.listed is not None and sid not in self.listed else "not_traded"
        if self.kill_switch.killed:
            return "kill_switch"
        if self.health.halted:
            return "halted"
        ban = self.gateway.banned()
        if ban is not None:  # nothing is sent into a known ban (it would lengthen it): skipped, and said
            self.decision_log.skipped_in_ban(self.gateway.name, sid, ban, self.now_ns())
            return "banned"
        return ""

    def _decided(self, d: Decision, res: dict | None, ci: int | None) -> Decision:
        """Finish a decision: the core's answer ``res`` (None when refused) places the order (the one the fast
        lane already wrote is adopted) or names the reason; the decision goes to the decision log."""
        if res is not None:
            if res["action"] != "order":
                d.reason = res.get("reason", "none")
            else:
                lane = self.fast_lane
                fired = lane.take_fired(d.symbol_id, d.cascade_id) if lane.fired else None
                if fired is not None:
                    self.order_manager.adopt(d, ci, fired)
                else:
                    self.order_manager.place_entry(d, res, ci)
        self.decision_log.emit(d)
        return d

    def seed_history(self, source, *, now_ns: int | None = None) -> dict[str, int]:
        """Seed the detector's P95 thresholds (and a streaming strategy's own history) from recorded
        liquidations: :func:`liqcore.live.warm.seed_history`.  Returns ``{"venue:SYMBOL": n}``."""
        return _seed_history(source, now_ns, detector=self.detector, registry=self.registry, params=self.params,
                             venues=self.venues, core_idx=self._core_idx, liq_seen=self.liq_seen,
                             stream=self.stream, strategy_name=type(self.strategy).name)

    # ------------------------------------------------------------------ views (liqcore.live.views)
    def snapshot(self) -> dict:
        """State for dashboards: equity, counters and one row per traded symbol (assembled by
        :func:`liqcore.live.views.snapshot`)."""
        return _snapshot(self)

    def checklist(self) -> dict:
        """The go-live checklist of this session so far (the dashboard's panel; ``liqcore journal`` computes
        the same figures from the journal): cascades per day per symbol, fill rate, win rate, reaction time
        p50/p99 (decision to create request written; 0 on the in-process paper venue), and the fee charged
        (bps of the filled notional, maker and taker) beside the fee model."""
        return _checklist(self)

    def fills_text(self) -> str:
        """``4 (entry 2, exit 2)``: fills with the entry and exit (take-profit, stop-loss, timeout) split."""
        om = self.order_manager
        return f"{om.fills} (entry {om.fill_kinds['entry']}, exit {om.fill_kinds['exit']})"


#: the parts' state and operations under the engine's older names: engine attribute -> ``part.attribute``
#: (a trailing ``=``: settable); each becomes a delegating property of :class:`Engine` (read through the
#: part that owns it): e.g. ``engine.pending``, ``await engine.start()``, ``engine.shutdown_report``
_DELEGATED = {
    "books": "order_manager.books", "pending": "order_manager.pending", "tasks": "order_manager.tasks",
    "orders": "order_manager.orders", "fills": "order_manager.fills", "fill_kinds": "order_manager.fill_kinds",
    "books_delay": "order_manager.books_delay=", "on_update": "order_manager.on_update=",
    "on_fill": "order_manager.on_fill=", "_seq": "order_manager.seq", "_books_q": "order_manager.books_q",
    "decisions": "decision_log.decisions", "cascades": "decision_log.cascades", "blocked": "decision_log.blocked",
    "on_decision": "decision_log.on_decision=", "on_cascade": "decision_log.on_cascade=", "errors": "health.errors",
    "clock_errors": "health.clock_errors", "clock_failures": "health.clock_failures",
    "clock_failure_limit": "health.clock_failure_limit=", "halted": "health.halted", "halts": "health.halts",
    "journal_errors": "health.journal_errors", "alarms": "health.alarms", "venue_clock": "venue_clock_guard.source=",
    "venue_clock_offset_ns": "venue_clock_guard.offset_ns", "clock_alarm_after_s": "venue_clock_guard.alarm_after_s=",
    "prearm": "fast_lane.prearm=", "lane": "fast_lane.counts", "arm_ttl_ns": "fast_lane.arm_ttl_ns",
    "_arms": "fast_lane.arms", "_warm": "warm.state", "shutdown_report": "lifecycle.shutdown_report",
    "attach": "order_manager.attach", "dispatch": "order_manager.dispatch", "drain": "order_manager.drain",
    "working_entries": "order_manager.working_entries", "instrument": "order_manager.instrument",
    "_on_update": "order_manager.report_update", "_on_fill": "order_manager.report_fill",
    "_cancel": "order_manager.cancel", "_lane_on": "fast_lane.on", "_rearm": "fast_lane.rearm",
    "_restore": "keeper.restore", "_warm_state": "warm.make_state", "warm_path": "warm.run",
    "error_counts": "health.error_counts", "alarm": "health.alarm", "clear_alarm": "health.clear_alarm",
    "all_alarms": "health.all_alarms", "clock_ok": "health.clock_ok", "clock_failed": "health.clock_failed",
    "set_venue_clock_offset": "venue_clock_guard.set_offset", "start": "lifecycle.start",
    "shutdown": "lifecycle.shutdown", "session_info": "lifecycle.session_info", "equity": "core.equity",
}
for _name, _path in _DELEGATED.items():
    setattr(Engine, _name, _via(_path.rstrip("="), _path.endswith("=")))

"""The embeddable engine: frames or events in, decisions (and orders) out.

    from liqcore import Engine, Params
    eng = Engine(Params(), symbols=["ETHUSDT", "SOLUSDT"])           # paper gateway by default
    decisions = eng.on_frame("bybit", frame_bytes, time.time_ns())    # synchronous core
    await eng.start()                                                  # inside a running loop: orders go out

The engine wires the feeds to the strategy; two parts do the rest: :class:`liqcore.live.orders.OrderManager`
(the order lifecycle and its journal rows) and :mod:`liqcore.live.recovery` (what to restore from the
journal and how to reconcile with the venue: pure functions returning plans the engine applies).  The
strategy is ``params.strategy`` (or ``strategy=``): the guide's ``cascade-mm`` decides on the detector's
records (below); any other strategy runs in its streaming form (``strategy.stream(params, registry)``),
whose signals go through the same strategy core (:meth:`StrategyCore.on_signal`; exit notices close the
position of their tag).  ``params.exits``: with a venue gateway, ``venue`` leaves take-profit, stop-loss
and (Bybit) the trailing stop to the venue and watches the rest; ``engine`` watches every exit and closes
at market, reduce-only.

The core path is synchronous and allocation-light: decode (:class:`liqcore.venues.decoder.Decoder`)
-> :class:`CascadeDetector` ``update`` per event -> :class:`StrategyCore` decision (busy, cooldown,
mixed, hours, loss limits, max symbols, reference price: the only risk checks) behind the kill switch
and the clock-failure halt -> an
:class:`OrderIntent` rounded to the instrument grid (BUY down, SELL up) and committed to the journal
BEFORE it is handed to the gateway. When the engine is attached to a running loop (:meth:`start` /
:meth:`attach`) a gateway with ``send_now`` (BybitGateway) writes the create request right there, on
``on_frame``'s stack, when its create connection is idle and a rate-limit slot is free, and a task reads
the answer once it is in; otherwise each intent becomes one task that awaits ``gateway.place``. Either
way the engine never blocks, owns or configures the caller's loop. Without a loop, intents wait in
:attr:`pending` until ``await engine.dispatch()``.

Modes: with the :class:`PaperGateway` (default) the StrategyCore simulates fills on the live trade
stream with the backtest's fill model; with a venue gateway (e.g. BybitGateway) the venue fills and
the engine reports the venue's fills and rejections to the core (``external_*``), cancels entries the
core timed out and market-closes positions past the hold timeout.

Clock guard: an event whose venue time is more than ``params.max_clock_skew_ns`` ahead of the venue's
clock at its receive time is rejected (``future_time``) before it reaches the detector or any clock.  The
venue's clock is the local clock plus the offset the gateway measures for signing
(:meth:`set_venue_clock_offset`; in paper trading :attr:`venue_clock`, e.g. the venue's public time, or 0
without one), re-measured at once when events start to be rejected; a measured offset beyond the limit, or rejections that go on for ``clock_alarm_after_s``, is an
alarm (:attr:`alarms`: dashboard, metrics, log, summary).  A replay clock (:attr:`replay_clock`) makes
paper trading a replay run on the recorded receive times.

State survives restarts through the :class:`Journal`: open orders, positions, cooldowns, equity and the
client-id sequence are restored by :meth:`start`.

Why one module: the engine wires the live path's parts together and applies the recovery plans; the
order manager (:mod:`liqcore.live.orders`) and the fast lane (:mod:`liqcore.live.fastlane`) are its
bases and share the order path's state (the sequence, the pending orders, the loop), so the frame-to-
order path reads in one place.  Recovery is pure functions in :mod:`liqcore.live.recovery`; the gateway
is reached only through its declared protocol (:class:`liqcore.live.gateway.Gateway`).
"""
from __future__ import annotations

import asyncio
import collections
import logging
import math
import os
import sqlite3
import time
from typing import Callable, Iterable

import numpy as np

from liqcore.config import Params
from liqcore.live.panels import PanelState
from liqcore.live.decisions import Decision  # noqa: F401  (re-exported: liqcore.live.engine.Decision)
from liqcore.live.gateway import Fill, GatewayError, OrderIntent, OrderUpdate, missing_members  # noqa: F401
from liqcore.live.metrics import Metrics
from liqcore.live.queue_estimate import LiveQueue
from liqcore.live.orders import OrderManager, _Book, _rand6, _rand_topup, make_client_id  # noqa: F401
from liqcore.live.fastlane import FastLane
from liqcore.live.recovery import ANCHORS, is_stale, reconcile_entry, restore_plan, unknown_positions
from liqcore.venues.instruments import DEFAULT_INSTRUMENTS, Instrument
from liqcore.types import CASCADE_DTYPE, EVENT_DTYPE, Kind, RecordKind, SymbolRegistry, Venue, dominant_name

__all__ = ["Engine", "Decision", "Instrument", "DEFAULT_INSTRUMENTS", "make_client_id"]

log = logging.getLogger("liqcore.engine")

_TRADE = int(Kind.TRADE)
_LIQ = int(Kind.LIQUIDATION)
_FUNDING = int(Kind.FUNDING)
_LIQUIDATION = int(Kind.LIQUIDATION)
_MARK = int(Kind.MARK)
_QUOTE = int(Kind.QUOTE)
_IMPLAUSIBLE_PRICE = -7  # the detector's skip code of an implausible price (SKIP_REASONS[6])
_RECV_MIN = 946_684_800_000_000_000  # receive times before 2000 are not clock readings (not compared)
_RECORDED_SKEW_NS = 60_000_000_000  # receive times handed in this far from the wall clock are recorded ones (a replay)
_CONFIRMED = int(RecordKind.CONFIRMED)
_END_NAMES = {0: "", 1: "expired", 2: "gap", 3: "flush"}
_SKIP_EXIT = 2  # a streamed exit notice: direction 0, skip_code SKIP_EXIT, the tag of the position to close
_EXIT_REASON = {"tp": "take_profit", "sl": "stop_loss", "exit": "timeout"}

_REC_FIELDS = CASCADE_DTYPE.names


def _record_dict(rec, registry: SymbolRegistry, names: dict | None = None) -> dict:
    """A detector record as a dict of Python scalars; ``names``: a cache of symbol_id -> (venue, symbol)."""
    rec = dict(zip(_REC_FIELDS, rec.item()))  # one conversion to Python scalars
    sid = rec["symbol_id"]
    hit = names.get(sid) if names is not None else None
    if hit is not None:
        vname, sym = hit
    else:
        try:
            venue, sym = registry.lookup(sid)
            vname = venue.name.lower()
            if names is not None:
                names[sid] = (vname, sym)
        except (IndexError, ValueError):
            vname, sym = Venue(int(rec["venue"])).name.lower() if int(rec["venue"]) in (1, 2, 3) else "?", "?"
    return {
        "record": "confirmed" if int(rec["record"]) == _CONFIRMED else "ended",
        "venue": vname, "symbol": sym, "symbol_id": sid, "cascade_id": int(rec["cascade_id"]),
        "dominant": dominant_name(int(rec["dominant"])), "start_ns": int(rec["start_ns"]),
        "confirm_ns": int(rec["confirm_ns"]), "confirm_recv_ns": int(rec["confirm_recv_ns"]),
        "end_ns": int(rec["end_ns"]), "emit_ns": int(rec["emit_ns"]),
        "long_notional": float(rec["long_notional"]), "short_notional": float(rec["short_notional"]),
        "threshold": float(rec["threshold"]), "n_events": int(rec["n_events"]), "n_large": int(rec["n_large"]),
        "end_reason": _END_NAMES.get(int(rec["end_reason"]), "?"),
    }


def _sample_frame(sample, price: float, t_ms: int, qty: float) -> bytes:
    """The warm path's frame: ``sample(t_ms, qty, price)`` (a venue's ``samples.liquidation_frame``)."""
    return sample(t_ms, qty, price)


def open_stream(strategy, params: Params, registry: SymbolRegistry):
    """The streaming form of ``strategy`` (``strategy.stream(params, registry)``); a strategy without one is a
    ValueError naming it (checked before anything starts)."""
    make = getattr(strategy, "stream", None)
    try:
        stream = make(params, registry) if make is not None else None
    except NotImplementedError:
        stream = None
    if stream is None or not callable(getattr(stream, "on_event", None)):
        raise ValueError(f"strategy {type(strategy).name}: has no streaming form, so it cannot run live")
    return stream


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


def check_live_strategy(params: Params) -> None:
    """Raise ValueError (one line) unless ``params.strategy`` can run live."""
    from liqcore.strategies import resolve_strategy

    obj, p = resolve_strategy(None, params)
    if not Engine._is_guide(obj):
        open_stream(obj, p, SymbolRegistry())


class Engine(OrderManager, FastLane):
    """See the module docstring. ``symbols``: the traded symbols (``"ETHUSDT"`` on the first venue, or
    ``"binance:ETHUSDT"``); defaults to the guide's DOGE, SOL, ETH. ``equity``: starting equity in
    quote units (a venue gateway's wallet equity replaces it at :meth:`start` unless a journal has one).
    ``notional``: fixed quote notional per trade (default: ``params.size`` x equity)."""

    def __init__(self, params: Params | None = None, venues: Iterable[str] | str = ("bybit",), gateway=None,
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

        # the strategy (``params.strategy``; a name, a Strategy class or instance may also be given as
        # ``strategy=``): its defaults apply to the shared parameters the user did not set
        self.strategy, self.params = resolve_strategy(strategy, params if params is not None else Params())
        if isinstance(venues, str):
            venues = [v for v in venues.split(",") if v.strip()]
        self.venues = [Venue.parse(v).name.lower() for v in venues]
        if not self.venues:
            raise ValueError("venues: give at least one venue")
        if notional is not None and not (math.isfinite(notional) and notional > 0):
            raise ValueError(f"notional: must be a positive quote amount; got {notional!r}")
        if not (isinstance(equity, (int, float)) and math.isfinite(equity) and equity > 0):
            raise ValueError(f"equity: must be positive; got {equity!r}")
        self.notional = notional
        self.registry = registry if registry is not None else SymbolRegistry()
        if isinstance(symbols, str):  # "ETHUSDT" or "ETHUSDT,SOLUSDT": names, never its characters
            symbols = [s for s in symbols.split(",") if s.strip()]
        names = list(symbols) if symbols is not None else ["DOGEUSDT", "SOLUSDT", "ETHUSDT"]
        self.traded: list[tuple[str, str]] = []
        for n in names:
            v, _, s = str(n).strip().rpartition(":")
            s = s.upper()
            if not s:
                raise ValueError("symbols: empty symbol name")
            self.traded.append((Venue.parse(v).name.lower() if v else self.venues[0], s))
        if not self.traded:
            raise ValueError("symbols: give at least one symbol")
        self.gateway = gateway if gateway is not None else PaperGateway()
        missing = missing_members(self.gateway)
        if missing:
            raise TypeError(f"gateway {type(self.gateway).__name__} lacks {', '.join(missing)} of the Gateway "
                            f"protocol (subclass liqcore.live.gateway.Gateway: it has the defaults)")
        self.paper = isinstance(self.gateway, PaperGateway)
        self.core = StrategyCore(self.params, [f"{v}:{s}" for v, s in self.traded], equity=float(equity),
                                 mode="paper" if self.paper else "venue")
        # the shell sends (or paper-registers) the entries the core decides at a signal; a same-symbol
        # replacement's entry, queued in the core until the close, would not reach it: off here
        self.core.port["replace_same"] = 0
        #: who watches the exits in venue mode: "venue" (take-profit, stop-loss and, where the gateway has one,
        #: the trailing stop held by the venue) or "engine" (every exit watched here and closed at market)
        self.exits = self.params.exits
        if not self.paper:
            watch = {"stop_price"}
            if self.exits == "engine":
                watch |= {"take_profit", "stop_loss", "trail"}
            elif not self.gateway.native_trailing:
                watch.add("trail")
            self.core.watch = frozenset(watch)
        # the strategy's streaming form (every strategy but the guide's cascade-mm, which runs on the
        # detector's records directly: the same signals, decided by the core's cascade step)
        self.stream = None
        self._stream_detector = False
        if not self._is_guide(self.strategy):
            self.stream = open_stream(self.strategy, self.params, self.registry)
            self._stream_detector = bool(getattr(self.stream, "uses_detector", type(self.strategy).uses_detector))
        # a strategy's notes on a signal (liq-trend's judge): into the decision, the journal and the dashboard
        self._signal_notes = getattr(self.strategy, "signal_notes", None)
        self._signal_note_fields = getattr(self.strategy, "signal_note_fields", None)
        self._panels = PanelState()  # the write-up's three live panels, in the snapshot
        # registry id -> core index, and symbol name -> (sid, core index)
        self._core_idx: dict[int, int] = {}
        self._by_symbol: dict[str, tuple[int, int]] = {}
        for i, (v, s) in enumerate(self.traded):
            sid = self.registry.id(v, s)
            self._core_idx[sid] = i
            self._by_symbol[s] = (sid, i)
        self.books: dict[str, _Book] = {s: _Book() for _, s in self.traded}
        self._ci_book = [self.books[s] for _, s in self.traded]
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
        self._instr: dict[str, Instrument] = {}
        for s, m in {**DEFAULT_INSTRUMENTS, **(instruments or {})}.items():
            self._instr[s.upper()] = Instrument.from_mapping(s.upper(), m)
        self._instr_given = {str(s).upper() for s in (instruments or {})}  # the caller's table wins over the venue's
        self.on_decision = on_decision
        self.on_cascade = on_cascade
        self.on_fill = on_fill
        self.on_update = on_update
        self._decoders: dict[str, object] = {}
        self.frames: dict[str, int] = {}
        # named features kept current from the stream (liqcore.features.live.LiveFeatures); read with feature()
        self.features = None
        if features:
            from liqcore.features.live import LiveFeatures

            self.features = LiveFeatures(features, self.registry, params=self.params)
        self._sym_params: dict[str, Params] = {}
        self.events = 0
        self.metrics.collectors.append(self._collect)
        self.pending: list[tuple[OrderIntent, int]] = []  # intents waiting for a loop: (intent, recv_ns)
        self.tasks: set[asyncio.Task] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._seq = 0
        self.decisions: list[Decision] = []  # recent decisions (bounded)
        self.cascades = 0
        self.orders = 0
        self.fills = 0
        self.rejects: dict[str, int] = {}
        self.errors = 0  # every failure caught (callbacks, bookkeeping, unconfirmed orders, clock ticks)
        self.clock_errors = 0  # failed clock ticks (of errors)
        self.clock_failures = 0  # consecutive failed clock ticks
        #: consecutive failed clock ticks that halt new entries (the clock enforces entry/hold timeouts)
        self.clock_failure_limit = 5
        self.halted = ""  # why new entries are halted ("" = they are not)
        self.journal_errors = 0  # failed batched journal commits (clock ticks; see _journal_failed)
        self._journal_said = self._journal_resumed = -math.inf
        #: standing alarms by name (what is wrong, what the engine does about it): shown by the dashboard,
        #: exported as ``liqcore_alarm{alarm=..}``, logged when raised and cleared, in the session summary
        self.alarms: dict[str, str] = {}
        #: the last ``fill-alarm-entries`` ended entries (True: filled), for the fill-rate alarm
        self._fill_window: collections.deque = collections.deque(maxlen=max(1, int(self.params.fill_alarm_entries)))
        self._alarm_names: set[str] = set()
        #: the venue's clock minus the local clock (ns), as the gateway measured it for signing
        self.venue_clock_offset_ns = 0
        self._skew_ns = self.params.max_clock_skew_ns  # the clock guard's bound on ts_event - ts_recv
        #: seconds of events rejected as stamped in the future before that is an alarm
        self.clock_alarm_after_s = 2.0
        self._future = [0, 0, 0]  # rejected so far, first and latest wall time (ns) of the current spell
        self._clock_sync: dict = {"task": None, "at": 0}
        #: paper trading: an async callable giving the venue's clock offset in ms (e.g. from its public time
        #: endpoint), asked at :meth:`start` and when events look stamped in the future; a venue gateway's
        #: own measurement (``clock_offset_ms`` / ``sync_clock``) is used instead when there is one
        self.venue_clock = None
        self.halts = 0
        self.blocked: dict[str, int] = {}  # cascades the shell refused (kill_switch, halted)
        self.fill_kinds = {"entry": 0, "exit": 0}
        #: the go-live checklist, live (see :meth:`checklist`): confirmed cascades per symbol, entries sent and
        #: filled, trades and wins, reaction times (ms, the last 1000), fees charged and filled notional
        self.checks: dict = {"cascades": {}, "entries": 0, "filled": 0, "trades": 0, "wins": 0,
                             "reaction_ms": collections.deque(maxlen=1000),
                             "fees": {"maker": [0.0, 0.0, 0], "taker": [0.0, 0.0, 0]}, "since_ns": time.time_ns()}
        self._liq_seen: dict[int, int] = {}  # liquidations seen per traded symbol id (threshold warm-up)
        #: receive times of the traded symbols' liquidations (the liquidation rate journaled with each send)
        self._liq_times: collections.deque = collections.deque(maxlen=1 << 16)
        #: replay clock (``stamp(frame, recv_ns) -> recv_ns``, ``now_ns``): paper trading a replay runs on
        #: the replayed receive times instead of the wall clock
        self.replay_clock = None
        #: a :class:`liqcore.live.recorder.Recorder` that keeps every frame the engine receives (``run --record``)
        self.recorder = None
        self._last_event_ns = 0  # latest ts_event seen (detector clock)
        self._last_event_wall = 0  # wall time when it was seen
        # the latest receive time the caller handed in (on_frame's recv_ns, on_events' ts_recv) and how far it
        # was from the wall clock then: more than _RECORDED_SKEW_NS is a recording, whose time on_clock() follows
        self._fed_recv_ns = 0
        self._fed_skew_ns = 0
        self._started = False
        self._books_q: list = []  # bookkeeping deferred past the create write: (fn, arg)
        self._books_timer = None
        #: seconds the deferred bookkeeping waits after a decision (venue mode on a running loop), so the
        #: loop reads the venue's answer and market data first; an order update or fill runs it at once
        self.books_delay = 0.001
        self._inflight: set = set()  # creates written by the gateway's send_now, answer not yet read
        self._names: dict[int, tuple[str, str]] = {}  # symbol_id -> (venue, symbol) of detector records
        self._stopping = False
        self._closing = False  # shutdown began: no create leaves any more
        self._unknown_tasks: set[asyncio.Task] = set()  # queries of creates the venue never confirmed
        self._ask_later: list[OrderIntent] = []
        self.shutdown_report: dict | None = None
        self._warm: dict | None = None  # scratch state of warm_path
        self._lane_init()  # entries prepared ahead (liqcore.live.fastlane)
        self.gateway.on_update(self._on_update)
        self.gateway.on_fill(self._on_fill)
        if self.paper:
            self.gateway.bind(self.core, {s: ci for s, (_, ci) in self._by_symbol.items()})
            self.gateway.clock = self.now_ns  # a replay's cancels and closes at the replayed time
            self.gateway.on_exit(self._account_exit)

    def _collect(self, m: Metrics) -> None:
        for v, n in self.frames.items():
            m.set_counter("liqcore_frames_total", n, venue=v)
        m.set_counter("liqcore_events_total", self.events)
        for v, d in self._decoders.items():
            if v not in self.venues and v not in ("bybit", "binance", "okx"):
                continue
            for k, n in (getattr(d, "counters", None) or {}).items():
                if k not in ("frames", "accepted_frames", "events"):
                    m.set_counter("liqcore_rejects_total", n, reason=f"decoder_{k}", venue=v)
        for k, n in self.rejects.items():
            m.set_counter("liqcore_rejects_total", n, venue="all",
                          reason=k if k == "future_time" or k.startswith("implausible_") else f"detector_{k}")
        for src, n in self.error_counts().items():
            m.set_counter("liqcore_errors_total", n, source=src)
        m.set("liqcore_clock_failures", self.clock_failures)
        m.set("liqcore_venue_clock_offset_seconds", self.venue_clock_offset_ns / 1e9)
        m.set_counter("liqcore_journal_errors_total", self.journal_errors)
        alarms = self.all_alarms()
        self._alarm_names.update(alarms)
        for name in self._alarm_names:
            m.set("liqcore_alarm", 1.0 if name in alarms else 0.0, alarm=name)
        m.set("liqcore_entries_halted", 1.0 if self.halted else 0.0)
        m.set_counter("liqcore_halts_total", self.halts)
        for k, n in self.blocked.items():
            m.set_counter("liqcore_blocked_total", n, reason=k)

    def error_counts(self) -> dict[str, int]:
        """Failures caught so far, by source: ``engine`` (callbacks, bookkeeping, orders not confirmed),
        ``clock`` (failed clock ticks) and, with a venue gateway, its private stream's ``private_ping``
        (pings that could not be sent: the connection is replaced) and ``private_callback``."""
        out = {"engine": self.errors - self.clock_errors, "clock": self.clock_errors}
        st = self.gateway.stream.stats if self.gateway.stream is not None else None
        if isinstance(st, dict):
            out["private_ping"] = int(st.get("ping_failures", 0))
            out["private_callback"] = int(st.get("callback_errors", 0))
        return out

    # ------------------------------------------------------------------ alarms
    def alarm(self, name: str, text: str) -> None:
        """Raise (or update) the alarm ``name``; logged when it is new or its text changes."""
        if self.alarms.get(name) != text:
            self.alarms[name] = text
            self._alarm_names.add(name)
            log.warning("ALARM %s: %s", name, text)

    def _entry_ended(self, filled: bool) -> None:
        """An entry ended (any fill, or cancelled / rejected unfilled): the guide's "fill rate below 40 %
        -> reduce size" as the standing alarm ``fill_rate`` over the last ``fill-alarm-entries`` ended
        entries (raised below ``fill-alarm``, cleared at or above it; nothing before that many ended)."""
        q = self._fill_window
        q.append(bool(filled))
        p = self.params
        if not p.fill_alarm > 0 or len(q) < p.fill_alarm_entries:
            return
        rate = sum(q) / len(q)
        if rate < p.fill_alarm:
            self.alarm("fill_rate", f"fill rate {rate:.0%} of the last {len(q)} entries is below {p.fill_alarm:.0%}: "
                                    f"reduce size (the market may be crowded, or the offset too wide)")
        else:
            self.clear_alarm("fill_rate", f"fill rate {rate:.0%} of the last {len(q)} entries")

    def clear_alarm(self, name: str, why: str = "") -> None:
        if self.alarms.pop(name, None) is not None:
            log.warning("alarm %s cleared%s", name, f": {why}" if why else "")

    def all_alarms(self) -> dict[str, str]:
        """The standing alarms, with the journal's (an intent log left for plain writes)."""
        fb = self.journal.intent_log_fallback if self.journal is not None else ""
        return {**self.alarms, "intent_log": fb} if fb else dict(self.alarms)

    # ------------------------------------------------------------------ venue clock
    def set_venue_clock_offset(self, offset_ns: int) -> None:
        """The venue's clock minus the local clock (ns): the clock guard judges event times against the
        venue's clock from now on; an offset beyond ``max_clock_skew`` is an alarm (the local clock is off)."""
        offset_ns = int(offset_ns)
        limit = self.params.max_clock_skew_ns
        self.venue_clock_offset_ns = offset_ns
        self._skew_ns = limit + offset_ns
        for d in {id(d): d for d in self._decoders.values()}.values():
            d.max_clock_skew_ns = self._skew_ns
        if abs(offset_ns) > limit:
            self.alarm("clock_offset", f"local clock {abs(offset_ns) / 1e9:.1f} s "
                       f"{'behind' if offset_ns > 0 else 'ahead of'} the venue's (limit max-clock-skew "
                       f"{limit / 1e9:g} s): event times are judged against the venue's clock; set the system "
                       f"clock right (NTP)")
        else:
            self.clear_alarm("clock_offset", f"local clock within {limit / 1e9:g} s of the venue's "
                             f"({offset_ns / 1e6:+.0f} ms)")

    def _future_rejected(self) -> int:
        n = self.rejects.get("future_time", 0)
        for d in {id(d): d for d in self._decoders.values()}.values():
            n += d.counters.get("future_time", 0)
        return n

    def _check_venue_clock(self, now: int) -> None:
        """The wall clock's tick: take up an offset the gateway re-measured (it does after a timestamp
        rejection), and when events are being rejected as stamped in the future, re-measure the venue's clock
        (at most once a second) and raise an alarm once that goes on for ``clock_alarm_after_s``."""
        off = self.gateway.clock_offset_ms
        if isinstance(off, int) and off * 1_000_000 != self.venue_clock_offset_ns:
            self.set_venue_clock_offset(off * 1_000_000)
        f = self._future
        n = self._future_rejected()
        if n > f[0]:
            f[0] = n
            if not f[1]:
                f[1] = now
            f[2] = now
            self._sync_venue_clock(now)
            span = (now - f[1]) / 1e9
            if span >= self.clock_alarm_after_s:
                self.alarm("future_events", f"events stamped more than max-clock-skew "
                           f"{self.params.max_clock_skew_ns / 1e9:g} s ahead of the venue's clock keep arriving "
                           f"(for {self.clock_alarm_after_s:g} s and more; counted as future_time rejects): they "
                           f"are dropped, so no cascade can confirm; check the system clock (NTP) and the feed")
        elif f[1] and now - f[2] > 5 * max(self.clock_alarm_after_s, 1.0) * 1e9:
            f[1] = f[2] = 0
            self.clear_alarm("future_events", "no event stamped in the future since")

    def _sync_venue_clock(self, now: int) -> None:
        sync = self.venue_clock if self.paper else self.gateway.sync_clock
        st = self._clock_sync
        if sync is None or (st["task"] is not None and not st["task"].done()) or now - st["at"] < 1_000_000_000:
            return
        st["at"] = now
        if self._stopping or self._closing:
            return

        async def resync():
            try:
                off = await sync()
            except Exception as exc:  # (a venue that cannot be asked now: the next rejection asks again)
                log.warning("venue clock not measured: %s", str(exc) or type(exc).__name__)
                return
            if off is None:  # (a gateway that cannot measure the venue's clock)
                return
            self.set_venue_clock_offset(int(off) * 1_000_000)

        loop = self._loop
        if loop is None or loop.is_closed():
            return
        st["task"] = loop.create_task(resync())  # (not one of the order tasks shutdown drains)

    # ------------------------------------------------------------------ clock health
    def clock_ok(self) -> None:
        """A clock tick (:meth:`on_clock`) succeeded: the failure streak ends; a halt it caused is lifted."""
        if self.clock_failures:
            self.clock_failures = 0
            if self.halted.startswith("clock"):
                log.warning("clock ticks succeed again: new entries resume")
                self.halted = ""

    def clock_failed(self, exc: BaseException) -> None:
        """A clock tick raised: counted; after :attr:`clock_failure_limit` in a row new entries halt (the
        clock enforces the entry and hold timeouts), until a tick succeeds again."""
        self.errors += 1
        self.clock_errors += 1
        self.clock_failures += 1
        if self.clock_failures >= self.clock_failure_limit and not self.halted:
            self.halted = f"clock failing ({self.clock_failures} ticks in a row): {type(exc).__name__}: {exc}"
            self.halts += 1
            log.error("new entries halted: %s", self.halted)

    # ------------------------------------------------------------------ construction helpers
    def _make_detector(self):
        from liqcore._libs.detector import CascadeDetector

        return CascadeDetector.from_params(self.params)

    def decoder(self, venue: str):
        d = self._decoders.get(venue)
        if d is None:
            from liqcore.venues.decoder import Decoder

            v = Venue.parse(venue).name.lower()
            d = self._decoders[venue] = self._decoders[v] = Decoder(
                v, registry=self.registry, max_clock_skew_ns=self.params.max_clock_skew_ns)
            if self._skew_ns != self.params.max_clock_skew_ns:  # judged against the venue's clock
                d.max_clock_skew_ns = self._skew_ns
        return d

    def _venue_instruments(self) -> None:
        """A venue gateway's instruments (loaded at its start) replace the shipped table for the traded symbols
        (not the ones the caller passed as ``instruments=``)."""
        if self.paper:
            return
        for _, sym in self.traded:
            if sym in self._instr_given:
                continue
            try:
                raw = self.gateway.instrument(sym)
                if raw is not None:
                    self._instr[sym] = Instrument.from_mapping(sym, raw)
            except (ValueError, KeyError):
                pass

    def instrument(self, symbol: str) -> Instrument:
        inst = self._instr.get(symbol)
        if inst is None:
            try:
                raw = self.gateway.instrument(symbol)
                if raw is not None:
                    inst = self._instr[symbol] = Instrument.from_mapping(symbol, raw)
            except (ValueError, KeyError):
                inst = None
        if inst is None:
            raise ValueError(f"instruments: no tick size / qty step known for {symbol} (pass instruments=)")
        return inst

    @property
    def mode(self) -> str:
        return "paper" if self.paper else "live"

    @property
    def equity(self) -> float:
        return self.core.equity

    # ------------------------------------------------------------------ the synchronous core
    def on_frame(self, venue: str, frame: bytes, recv_ns: int | None = None) -> list[Decision]:
        """Decode one websocket frame of ``venue`` and process its events."""
        if recv_ns is None:
            recv = time.time_ns()
        else:  # the caller's receive time: a recorded one (far from the wall clock) makes on_clock() follow it
            recv = int(recv_ns)
            self._fed_recv_ns = recv
            self._fed_skew_ns = time.time_ns() - recv
        if self.replay_clock is not None:  # a replay: the frame's recorded receive time
            recv = self.replay_clock.stamp(frame, recv)
        self.frames[venue] = self.frames.get(venue, 0) + 1
        if self.recorder is not None:  # the session's frames with their receive times (liqcore journal --recording)
            self.recorder.write_frame(venue, frame, recv)
        dec = self._decoders.get(venue) or self.decoder(venue)
        if self.features is None and self.stream is None:  # the event tuples straight from the decoder
            rows = dec.feed_rows(frame, recv)
            return self._on_rows(rows) if rows else []
        ev = dec.feed(frame, recv)
        if not len(ev):
            return []
        return self.on_events(ev)

    @staticmethod
    def _is_guide(obj) -> bool:
        from liqcore.strategies.cascade_mm import CascadeMM

        return type(obj) is CascadeMM

    def on_events(self, events: np.ndarray) -> list[Decision]:
        """Process EVENT_DTYPE rows in order; returns the decisions they caused."""
        if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE:
            raise ValueError("events: expected an EVENT_DTYPE array")
        n = len(events)
        if not n:
            return []
        self._fed_recv_ns = last = int(events["ts_recv"][-1])  # (see on_clock: the frames' time in a replay)
        self._fed_skew_ns = time.time_ns() - last
        if self.features is not None:
            self.features.on_events(events)
        if self.stream is not None:
            self.events += n
            return self._stream_events(events)
        return self._on_rows(events.tolist())

    def liq_per_min(self, t_ns: int) -> float:
        """The traded symbols' liquidations received in the minute up to ``t_ns`` (receive clock): the rate
        journaled with each send, which a backtest's latency draw can be conditioned on."""
        lo = t_ns - 60_000_000_000
        n = 0
        for x in reversed(self._liq_times):  # (receive order: newest last)
            if x <= lo:
                break
            n += x <= t_ns
        return float(n)

    def _on_rows(self, rows: list) -> list[Decision]:
        """:meth:`on_events` of the detector-driven strategy on the events as tuples (EVENT_DTYPE order)."""
        self.events += len(rows)
        out: list[Decision] = []
        det = self.detector
        core_idx = self._core_idx
        held = self._held
        books = self._ci_book
        skew = self._skew_ns
        arms = self._arms
        liqs = None  # traded symbols with liquidations in these events (their prepared entries are re-checked)
        plausible = self._plausible
        for ts, tr, price, qty, sid, side, kind, venue, _flags in rows:
            if ts - tr > skew and tr >= _RECV_MIN:
                # stamped ahead of its receive time: it must not move the detector's (or any) clock
                self.rejects["future_time"] = self.rejects.get("future_time", 0) + 1
                continue
            if kind <= _MARK and plausible is not None and (bad := plausible(sid, kind, price, qty, ts)):
                # an absurd price or size (liqcore.validate): never a print, never large, never a trade
                self._implausible(bad, sid, kind, price, qty)
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
                        self._core_events(self.core.on_trade(ci, tr, price, qty))
            elif kind == _FUNDING:
                ci = core_idx.get(sid)
                if ci is not None and price == price:
                    if ci in held:
                        self._flush_held(ci)
                    self.core.on_funding(ci, tr, price)
            elif kind == _LIQUIDATION and sid in core_idx:
                self._liq_seen[sid] = self._liq_seen.get(sid, 0) + 1
                self._liq_times.append(tr)
                if liqs is None:
                    liqs = {sid}
                else:
                    liqs.add(sid)
            elif kind == _QUOTE and sid in core_idx and getattr(self.core, "wants_quotes", False):
                ci = core_idx[sid]  # the queue fill rule's book (paper trading under --fill queue)
                if ci in held:
                    self._flush_held(ci)
                self._core_events(self.core.on_quote(ci, tr, side, price, qty))
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
                if sid in arms:  # a prepared entry: written here when this record confirms its cascade
                    self._fire(sid)
                for rec in det.last_records():
                    d = self._on_record(rec)
                    if d is not None:
                        out.append(d)
        if held:
            self._flush_held()
        if self._pre:
            self._pre.clear()
        if self._fired:  # (never expected: the order path adopts what the lane wrote on the same stack)
            self._orphans()
        if arms or liqs is not None:
            self._rearm({*arms, *(liqs or ())})
        return out

    @property
    def _plausible(self):
        """The detector's plausibility check (None for a detector without one)."""
        return getattr(self.detector, "plausible", None)

    def _implausible(self, code: int, sid, kind, price, qty) -> None:
        """Count an implausible event by reason (``implausible_price`` / ``implausible_notional``, the
        detector's skip code ``code``); the first is logged."""
        reason = "implausible_price" if code == _IMPLAUSIBLE_PRICE else "implausible_notional"
        n = self.rejects.get(reason, 0) + 1
        self.rejects[reason] = n
        if n == 1:
            log.warning("dropped an implausible %s (symbol id %d, price %r, qty %r): %s; later ones are counted in "
                        "the rejects", {1: "liquidation", 2: "trade", 3: "mark"}.get(kind, "event"), sid, price, qty,
                        reason)

    def _stream_events(self, events: np.ndarray) -> list[Decision]:
        """A streaming strategy: per event, the detector (records for the strategy when it uses them), the
        strategy's ``on_event``, its ``before`` signals to the core, the event (a print: the execution model's
        fills and exits), then its ``after`` signals -- the backtest's order of processing."""
        out: list[Decision] = []
        det = self.detector
        core_idx = self._core_idx
        skew = self._skew_ns
        stream = self.stream
        feed_records = self._stream_detector
        core = self.core
        plausible = self._plausible
        for k, (ts, tr, price, qty, sid, side, kind, venue, _flags) in enumerate(events.tolist()):
            if ts - tr > skew and tr >= _RECV_MIN:
                self.rejects["future_time"] = self.rejects.get("future_time", 0) + 1
                continue
            if kind <= _MARK and plausible is not None and (bad := plausible(sid, kind, price, qty, ts)):
                self._implausible(bad, sid, kind, price, qty)
                continue
            recs = ()
            if (kind == _QUOTE or kind == _TRADE) and sid in core_idx:  # the live queue estimate
                self.queue_est.on_row(core_idx[sid], tr, kind, side, price, qty)
            try:
                nrec = det.update(ts, tr, sid, venue, kind, side, price, qty)
            except ValueError as exc:
                reason = str(exc).split(":", 1)[0] or "invalid"
                self.rejects[reason] = self.rejects.get(reason, 0) + 1
                nrec = 0
            else:
                if ts > self._last_event_ns:
                    self._last_event_ns = ts
                    self._last_event_wall = tr
            if nrec:
                recs = det.last_records()
                for rec in recs:
                    self._on_record(rec, decide=False)
            before, after = stream.on_event(events[k], recs if feed_records else ())
            for g in before:
                d = self._on_signal(g)
                if d is not None:
                    out.append(d)
            if kind == _TRADE:
                ci = core_idx.get(sid)
                if ci is not None and price > 0 and price == price:
                    self._core_events(core.on_trade(ci, tr, price, qty))
            elif kind == _FUNDING:
                ci = core_idx.get(sid)
                if ci is not None and price == price:
                    core.on_funding(ci, tr, price)
            elif kind == _LIQUIDATION and sid in core_idx:
                self._liq_seen[sid] = self._liq_seen.get(sid, 0) + 1
                self._liq_times.append(tr)
            elif kind == _QUOTE and sid in core_idx and getattr(core, "wants_quotes", False):
                self._core_events(core.on_quote(core_idx[sid], tr, side, price, qty))
            for g in after:
                d = self._on_signal(g)
                if d is not None:
                    out.append(d)
        return out

    def _on_signal(self, g) -> Decision | None:
        """One streamed signal (a SIGNAL_DTYPE row with the engine's symbol ids): an exit notice closes the
        position of its tag; an entry signal goes through the shell's checks (kill switch, halt) and the
        core's (the execution model's portfolio rules) and becomes an order."""
        sid = int(g["symbol_id"])
        ci = self._core_idx.get(sid)
        ts = int(g["ts_ns"])
        direction = int(g["direction"])
        if direction == 0 and int(g["skip_code"]) == _SKIP_EXIT:
            if ci is not None:
                # paper: the core closes at the first print at/after ts + order-latency; venue mode: the core
                # reports it due on that print and the engine closes at market
                self.core.exit_notice(ci, ts, int(g["tag"]), int(g["exit_code"]))
            return None
        try:
            venue, sym = self.registry.lookup(sid)
            vname = venue.name.lower()
        except (IndexError, ValueError):
            vname, sym = "?", "?"
        dom = "long" if direction > 0 else ("short" if direction < 0 else "none")
        d = Decision(vname, sym, sid, int(g["tag"]), ts, dom, "none")
        if self._signal_notes is not None:
            d.notes = self._signal_notes(g)
        if self._signal_note_fields is not None:
            d.note_fields = self._signal_note_fields(g)  # noqa
        res = None
        d.reason = self._refusal(ci)
        if not d.reason:
            row = np.array(g, dtype=g.dtype).reshape(1).copy()
            row["symbol_id"] = ci
            res = self.core.on_signal(row)
        return self._decided(d, res, ci)

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
            self._core_events(self.core.on_trade(c, tr, price))

    def seed_history(self, source, *, now_ns: int | None = None) -> dict[str, int]:
        """Seed the detector's P95 thresholds from recorded liquidations, so a (re)started engine does
        not wait for ``min_history`` live liquidations per symbol; a streaming strategy with a
        ``seed(events)`` method (``liq-trend``: its segment baseline) is fed the same recording's events
        of the engine's venues received at or before ``now_ns``.

        ``source``: recording path(s) (anything :func:`liqcore.io.load_events` reads, symbol ids taken
        from the engine's registry) or an EVENT_DTYPE array with the engine's symbol ids.  Only
        liquidations of the engine's venues received at or before ``now_ns`` (default: now) are used,
        the last ``history`` of each (venue, symbol), oldest first.  Returns ``{"venue:SYMBOL": n}``."""
        if isinstance(source, np.ndarray):
            if source.dtype != EVENT_DTYPE:
                raise ValueError("source: expected an EVENT_DTYPE array or recording paths")
            ev = source
        else:
            from liqcore.io import load_events

            ev = load_events(source, registry=self.registry, max_clock_skew_ns=self.params.max_clock_skew_ns).events
        now = time.time_ns() if now_ns is None else int(now_ns)
        venues = [int(Venue.parse(v)) for v in self.venues]
        keep = (ev["kind"] == int(Kind.LIQUIDATION)) & (ev["ts_recv"] <= now) & np.isin(ev["venue"], venues)
        liq = ev[keep]
        notional = liq["price"] * liq["qty"]
        ok = np.isfinite(notional) & (notional > 0)
        liq, notional = liq[ok], notional[ok]
        order = np.lexsort((np.arange(len(liq)), liq["ts_recv"], liq["symbol_id"]))
        liq, notional = liq[order], notional[order]
        sids, starts = np.unique(liq["symbol_id"], return_index=True)
        ends = np.append(starts[1:], len(liq))
        n_keep = int(getattr(self.detector, "history", 0) or self.params.history)
        out: dict[str, int] = {}
        for sid, a, b in zip(sids.tolist(), starts.tolist(), ends.tolist()):
            a = max(a, b - n_keep)
            self.detector.seed(sid, notional[a:b], int(liq["venue"][a]))
            if sid in self._core_idx:
                self._liq_seen[sid] = self._liq_seen.get(sid, 0) + (b - a)
            try:
                v, s = self.registry.lookup(sid)
                name = f"{v.name.lower()}:{s}"
            except (IndexError, ValueError):
                name = str(sid)
            out[name] = b - a
        if out:
            log.info("detector seeded from history: %s", ", ".join(f"{k} {n}" for k, n in sorted(out.items())))
        seed = getattr(self.stream, "seed", None) if self.stream is not None else None
        if seed is not None:  # a streaming strategy's own history (e.g. liq-trend's segment baseline)
            past = ev[(ev["ts_recv"] <= now) & np.isin(ev["venue"], venues)]
            closes = seed(past[np.argsort(past["ts_recv"], kind="stable")])
            log.info("strategy %s seeded from history: %d segment closes", type(self.strategy).name, closes)
        return out

    def on_gap(self, events: np.ndarray, reason: str = "") -> None:
        """GAP events from the feed manager (a disconnect): open cascades of those symbols end."""
        self.on_events(events)
        self.metrics.inc("liqcore_gaps_total", venue=Venue(int(events["venue"][0])).name.lower() if len(events) else "?")
        if self.journal is not None and len(events):
            self.journal.note("gap", {"reason": reason, "symbols": events["symbol_id"].tolist()}, int(events["ts_recv"][0]))

    def on_clock(self, now_ns: int | None = None) -> list[dict]:
        """Time passes without events: cascades expire, order arrivals and entry timeouts are settled."""
        rc = self.replay_clock
        if rc is not None and now_ns is None:
            if not rc.now_ns:
                return []  # nothing replayed yet: no time has passed
            now = rc.now_ns  # the latest replayed receive time
        elif now_ns is None and self._fed_recv_ns and abs(self._fed_skew_ns) > _RECORDED_SKEW_NS:
            # the caller hands recorded frames with their recorded receive times (an embedded replay):
            # time is the frames' time, never the wall clock (which would expire every hold at once)
            now = self._fed_recv_ns
        else:
            now = time.time_ns() if now_ns is None else int(now_ns)
        out: list[dict] = []
        if self._books_q:
            self._run_books()
        if rc is None:
            self._check_venue_clock(now)
        if self._last_event_ns and rc is None:  # (a replay's detector follows its events alone, as a backtest's)
            # the detector runs on venue event time: advance it by the wall time since the last event
            ev_now = self._last_event_ns + max(0, now - self._last_event_wall)
            if self.detector.tick(ev_now):
                for rec in self.detector.last_records():
                    self._on_record(rec, decide=self.stream is None)
                    out.append(_record_dict(rec, self.registry))
        if self._held:
            self._flush_held()
        if self.stream is not None:  # signals decided by now that no event revealed (a bar close on a quiet feed)
            for g in self.stream.on_clock(now):
                self._on_signal(g)
        self._core_events(self.core.on_clock(now))
        if self.journal is not None:
            try:
                self.journal.maybe_flush()
            except sqlite3.Error as exc:  # (a full disk: the rows stay pending and are committed once it can)
                self._journal_failed(exc)
            else:
                if self.halted.startswith("journal") and not self.journal.pending_rows:
                    self.halted = ""
                    if self.alarms.pop("journal", None) is not None and self._journal_said > self._journal_resumed:
                        self._journal_resumed = time.monotonic()  # (once per halt that was said)
                        log.warning("the journal commits again: new entries resume")
        return out

    def _journal_failed(self, exc: Exception) -> None:
        """A batched journal commit failed (e.g. its disk is full): new entries halt until it commits again
        (an order must not go out without its journal rows); said once, then counted."""
        self.errors += 1
        self.journal_errors += 1
        if not self.halted:
            self.halted = f"journal failing: {exc}"
            self.halts += 1
        text = f"{exc}: new entries halted until it commits again"
        if self.alarms.get("journal") != text:
            now = time.monotonic()
            if now - self._journal_said >= 60.0:  # (a disk on the edge of full flaps: said once a minute)
                self._journal_said = now
                log.error("new entries halted: %s (the rows are kept and committed once it can; failed commits "
                          "are counted in liqcore_journal_errors_total)", exc)
            self.alarms["journal"] = text
            self._alarm_names.add("journal")

    def _deferring(self) -> bool:
        """Venue mode on a running loop: bookkeeping that the order does not need (journal rows of cascades
        and decisions, metrics, ``on_cascade`` / ``on_decision`` callbacks) runs after the create request is
        written and the loop has polled its sockets (:attr:`books_delay` later, or at once when an order
        update, fill or clock tick comes first, so journal rows keep their order); the intent's write-ahead
        stays before the send."""
        loop = self._loop
        return not self.paper and loop is not None and loop.is_running()

    def _defer(self, fn, arg) -> None:
        self._books_q.append((fn, arg))
        if self._books_timer is None:
            self._books_timer = self._loop.call_later(self.books_delay, self._run_books)

    def _run_books(self) -> None:
        """Run the deferred bookkeeping now, in the order it was queued."""
        if self._books_timer is not None:
            self._books_timer.cancel()
            self._books_timer = None
        while self._books_q:
            q, self._books_q = self._books_q, []
            for fn, arg in q:
                fn(arg)

    def _on_record(self, rec, decide: bool = True) -> Decision | None:
        info = _record_dict(rec, self.registry, self._names)
        book = self.books.get(info["symbol"]) if info["symbol_id"] in self._core_idx else None
        if info["record"] == "confirmed":
            self.cascades += 1
            self.checks["cascades"][info["symbol"]] = self.checks["cascades"].get(info["symbol"], 0) + 1
            if book is not None:
                book.last_cascade = f"{info['dominant']} {info['n_large']} large"
        if self._deferring():
            self._defer(self._record_books, info)
        else:
            self._record_books(info)
        if info["record"] != "confirmed" or not decide:
            return None
        return self._decide(rec, info)

    def _record_books(self, info: dict) -> None:
        """A detector record's metrics, journal row and ``on_cascade`` callback."""
        try:
            if info["record"] == "confirmed":
                self.metrics.inc("liqcore_cascades_total", venue=info["venue"], symbol=info["symbol"])
            if self.journal is not None:
                ts = info["confirm_recv_ns"] if info["record"] == "confirmed" else info["emit_ns"]
                self.journal.cascade(info, ts)
        except Exception:
            self.errors += 1
            log.exception("cascade bookkeeping failed")
        if self.on_cascade is not None:
            try:
                self.on_cascade(info)
            except Exception:
                self.errors += 1
                log.exception("on_cascade callback failed")

    def _decide(self, rec, info: dict) -> Decision:
        sid = info["symbol_id"]
        ts = info["confirm_recv_ns"]
        ci = self._core_idx.get(sid)
        d = Decision(info["venue"], info["symbol"], sid, info["cascade_id"], ts, info["dominant"], "none")
        res = None
        d.reason = self._refusal(ci)
        if not d.reason:
            if ci in self._held:
                self._flush_held(ci)
            pre = self._pre.pop(sid, None) if self._pre else None
            if pre is not None and pre[0] == info["cascade_id"]:  # the fast lane asked the core already
                res = pre[1]
            else:
                res = self.core.on_cascade({"symbol_idx": ci, "ts_ns": ts, "dominant": int(rec["dominant"]),
                                            "cascade_id": info["cascade_id"]})
        return self._decided(d, res, ci)

    def _refusal(self, ci: int | None) -> str:
        """Why a decision is refused before the core is asked (not traded, kill switch, halted), or ""."""
        if ci is None:
            return "not_traded"
        if self.kill_switch.killed:
            return "kill_switch"
        if self.halted:
            return "halted"
        return ""

    def _decided(self, d: Decision, res: dict | None, ci: int | None) -> Decision:
        """Finish a decision: the core's answer ``res`` (None when refused) places the order or names the
        reason; refusals by the kill switch or a halt are counted; the decision is emitted."""
        if res is not None:
            if res["action"] != "order":
                d.reason = res.get("reason", "none")
            else:
                self._make_order(d, res, ci)
        if d.reason in ("kill_switch", "halted"):
            self.blocked[d.reason] = self.blocked.get(d.reason, 0) + 1
        self._emit_decision(d)
        return d

    def _emit_decision(self, d: Decision) -> None:
        self.decisions.append(d)
        if len(self.decisions) > 1000:
            del self.decisions[:500]
        book = self.books.get(d.symbol)
        if book is not None:
            book.recent.append(d)
            del book.recent[:-20]
        if self._deferring():
            self._defer(self._decision_books, d)
        else:
            self._decision_books(d)

    def _decision_books(self, d: Decision) -> None:
        """A decision's metrics, journal row and ``on_decision`` callback."""
        try:
            self.metrics.inc("liqcore_decisions_total", outcome=d.reason or d.action)
            if self.journal is not None:
                self.journal.decision(d.to_dict(), d.ts_ns)
        except Exception:
            self.errors += 1
            log.exception("decision bookkeeping failed")
        if self.on_decision is not None:
            try:
                self.on_decision(d)
            except Exception:
                self.errors += 1
                log.exception("on_decision callback failed")

    # ------------------------------------------------------------------ lifecycle
    async def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Start the gateway, restore state from the journal (and the venue), attach to the loop."""
        if self.journal is not None and not self.journal.intent_log_owner:
            log.warning("journal %s: its intent log is held by another open journal (another engine on the same "
                        "file?); this engine commits each intent to SQLite before sending instead",
                        self.journal.path)
        self.warmup()
        self._stopping = False
        await self.gateway.start()
        off = self.gateway.clock_offset_ms
        if isinstance(off, int):  # measured for signing at the gateway's start
            self.set_venue_clock_offset(off * 1_000_000)
        self._venue_instruments()
        self._restore()
        if not self.paper:
            await self._reconcile()
        if not self.paper:  # the venue's wallet is the equity of a live account
            try:
                value = await self.gateway.equity()
                if value is not None and value > 0:
                    self._set_equity(value)
            except (GatewayError, TypeError, ValueError) as exc:
                log.warning("wallet equity not read (%s); using %.2f", exc, self.core.equity)
        if self.journal is not None:
            self.journal.note("session", self.session_info(), self.now_ns())
            self.journal.equity(self.core.equity, self.now_ns(), "start")
        self.metrics.set("liqcore_equity", self.core.equity)
        self._started = True
        self.attach(loop)
        if self.venue_clock is not None and not isinstance(off, int) and self.replay_clock is None:
            self._sync_venue_clock(time.time_ns())  # (in the background: start never waits on the network)
        for intent in self._ask_later:  # stale entries the venue could not be asked about at reconcile
            t = self._spawn(self._resolve_unknown(intent))
            if t is not None:
                self._unknown_tasks.add(t)
                t.add_done_callback(self._unknown_tasks.discard)
        self._ask_later = []

    def session_info(self) -> dict:
        """What the journal's report needs to know of this session: strategy, exits, mode, venues, symbols,
        starting equity, the fee model and every parameter (to replay the session's recording)."""
        par = self.params.to_dict()  # field names: durations in ns
        par.update(dict(self.params.strategy_values))
        if par.get("hours") is not None:
            par["hours"] = f"{par['hours'][0]}-{par['hours'][1]}"
        return {"strategy": type(self.strategy).name, "exits": self.exits, "mode": self.mode,
                "venues": list(self.venues), "symbols": [f"{v}:{s}" for v, s in self.traded],
                "equity": self.core.equity, "maker_fee_bps": self.params.maker_fee_bps,
                "taker_fee_bps": self.params.taker_fee_bps, "params": par,
                # the parameters the user set (the rest took defaults and per-symbol presets): a replay of the
                # session applies the same presets
                "explicit": sorted(self.params.explicit)}

    def warmup(self) -> None:
        """Compile (or load from the cache) the strategy kernels on a throwaway core, so the first
        cascade does not pay for it."""
        from liqcore.backtest.core import StrategyCore

        c = StrategyCore(self.params, ["bybit:WARMUPUSDT"], equity=1000.0, mode=self.core.mode)
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
        if self.journal is not None:
            self.journal.touch_ahead()
        if self._core_idx:
            self._rearm()
        armable = getattr(self.detector, "armable", None)
        lean = False
        if self.stream is None and armable is not None:
            due = [sid for sid in self._core_idx if armable(sid)]
            if not due:
                return 0
            arms = self._arms
            lean = all(sid in arms for sid in due)
        return self._warm_once(lean)

    def warm_path(self) -> int:
        """Run the confirming-frame path once on scratch state, so its code and data are in the caches when a
        cascade arrives on a quiet feed (a live bot idles between cascades; the live runner's
        :meth:`idle_tick` runs it every few ms while a cascade can confirm).  Decodes a liquidation frame of
        the first traded symbol with a scratch decoder, feeds a scratch detector until it confirms, asks a
        scratch strategy core, rounds, builds the intent, serialises it as the journal does and formats and
        signs the create request (the gateway's ``warm_order``) without writing it.  Nothing real changes: no
        order, journal row, metric, detector or core state.  Returns the number of confirmed scratch cascades
        (1 normally)."""
        if self._core_idx:
            self._rearm()  # prepared entries: re-signed before they age out, refreshed when the state moved
        return self._warm_once(False)

    def _warm_once(self, lean: bool) -> int:
        w = self._warm
        if w is None or w["tick"] >= 1_000_000:  # scratch times stay far inside int64 and 2000..2100
            w = self._warm = self._warm_state()
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
                        info = _record_dict(rec, self.registry, self._names)
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
                inst = self.instrument(sym)
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
            self.gateway.warm_order(intent)
            core.external_reject(0, ts + 3)
        return confirmed

    def _warm_state(self) -> dict:
        from liqcore.backtest.core import StrategyCore

        venue, sym = self.traded[0]
        sid = self.registry.id(venue, sym)
        import dataclasses

        from liqcore._libs.detector import CascadeDetector

        # a threshold computed once (no refresh): the scratch cascades stay above it at no rebuild cost
        det = CascadeDetector.from_params(dataclasses.replace(self.params, refresh_ns=1 << 62))
        vcode = int(Venue.parse(venue))
        det.seed(sid, np.linspace(100.0, 1000.0, max(int(self.params.min_history), 1) + 10), vcode)
        price = 100.0
        try:
            inst = self.instrument(sym)
            price = max(inst.tick_size * 1000, 100.0)
        except ValueError:
            pass
        frame = None
        if venue in ("bybit", "binance"):  # the venue's own sample frame (venues/<venue>/samples.py)
            import functools
            import importlib

            sample = importlib.import_module(f"liqcore.venues.{venue}.samples").liquidation_frame
            frame = functools.partial(_sample_frame, functools.partial(sample, sym), price)
        from liqcore.venues.decoder import Decoder

        core = StrategyCore(self.params, [f"{venue}:{sym}"], equity=1e9, mode=self.core.mode)
        return {"tick": 0, "venue": venue, "symbol": sym, "sid": sid, "vcode": vcode, "t0": 10**18, "price": price,
                "qty": 1e6 / price, "frame": frame, "decoder": Decoder(venue, registry=self.registry),
                "detector": det, "core": core}

    # ------------------------------------------------------------------ restore and reconcile
    # (decided by the pure functions of liqcore.live.recovery, applied here)
    def _save_anchors(self) -> None:
        """The loss-limit anchors (UTC day/week and the equity at their start) survive restarts."""
        if self.journal is not None:
            port = self.core.snapshot()["portfolio"]
            self.journal.set_state("loss_anchors", {k: port[k] for k in ANCHORS})

    def _set_equity(self, value: float) -> None:
        self.core.set_equity(float(value))

    def _restore(self) -> None:
        if self.journal is None:
            return
        symbols = {sym: f"{self.traded[ci][0]}:{sym}" for sym, (_, ci) in self._by_symbol.items()}
        plan = restore_plan(self.journal.recover(), symbols, self.params, paper=self.paper, now_ns=time.time_ns(),
                            held={s: b.position_qty for s, b in self.books.items() if b.position_qty})
        self._restore_stream(plan.stream)
        if plan.empty:
            return
        self._seq = max(self._seq, plan.seq)
        if plan.equity is not None:
            self._set_equity(plan.equity)
        for sym, bp in plan.books.items():
            book = self.books[sym]
            if bp.position_qty is not None:
                book.position_qty, book.entry_price, book.entry_ns = bp.position_qty, bp.entry_price, bp.entry_ns
            if bp.entry is not None:
                book.entry, book.entry_status = bp.entry, bp.entry_status
        for args in plan.paper:
            self.gateway.restore(*args)
        self.pending.extend((intent, 0) for intent in plan.resend)
        self.core.restore(plan.core)
        n_open, n_pos, n_cool = plan.counts
        log.info("restored from journal: %d open orders, %d positions, %d cooldowns, equity %.2f, seq %d",
                 n_open, n_pos, n_cool, self.core.equity, self._seq)

    def _save_stream(self) -> None:
        """A streaming strategy's state (its optional ``snapshot()``) survives a restart in the journal; a
        stream without its own snapshot (the base class's refuses) has nothing to save: not an error."""
        snap = _own(self.stream, "snapshot")
        if snap is None or self.journal is None:
            return
        try:
            self.journal.set_state("stream", {"strategy": type(self.strategy).name, "state": snap()})
        except Exception:
            self.errors += 1
            log.exception("streaming strategy state not saved")

    def _restore_stream(self, saved) -> None:
        restore = _own(self.stream, "restore")
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
        return is_stale(intent, self.params, time.time_ns() if now_ns is None else now_ns, row)

    async def _reconcile(self) -> None:
        """Venue mode after a restart: ask the venue about every entry the journal holds as working and apply
        :func:`reconcile_entry`'s plan; then report the venue's positions the journal does not know."""
        now = time.time_ns()  # ages as of the restart
        for sym, book in self.books.items():
            if book.entry is None or book.position_qty or book.entry_status not in self.WORKING_STATUSES:
                continue
            entry = book.entry
            try:
                answer = await self.gateway.query(sym, entry.client_id)
            except GatewayError as exc:
                answer = exc
            plan = reconcile_entry(entry, book.position_qty, answer, self.params, now)
            if isinstance(answer, GatewayError):
                log.error("%s", plan.note)
            elif plan.note:
                log.warning("%s", plan.note)
            if plan.ask_later:  # never resent; asked again (once attached) until the venue answers
                book.entry_status = "unknown"
                self._ask_later.append(entry)
            if plan.drop_pending:
                self.pending = [(i, r) for i, r in self.pending if i.client_id != entry.client_id]
            if plan.update is not None:
                self._on_update(plan.update)
            if plan.fill is not None and book.entry is not None:
                self._on_fill(plan.fill)
            if plan.cancel:
                log.warning("reconcile: %s rests at the venue past its entry-timeout; cancelling it", entry.client_id)
                book.cancel_sent = True
                await self._cancel(sym, entry.client_id)
        try:
            venue_positions = await self.gateway.positions()
        except GatewayError as exc:
            log.error("reconcile: positions not read: %s", exc)
            return
        for sym, size in unknown_positions(venue_positions, self.books):
            log.warning("reconcile: %s position of %g on the venue that the journal does not know; "
                        "it is left alone (its venue TP/SL stay)", sym, size)

    # ------------------------------------------------------------------ views
    def snapshot(self) -> dict:
        """State for dashboards: equity, counters and one row per traded symbol."""
        rows = []
        for v, s in self.traded:
            sid, ci = self._by_symbol[s]
            p = self.core.position(ci)
            book = self.books[s]
            thr = self.detector.threshold(sid) if hasattr(self.detector, "threshold") else math.nan
            active = bool(self.detector.active(sid)) if hasattr(self.detector, "active") else False
            order = None
            if book.entry is not None and not book.position_qty:
                order = {"side": book.entry.side, "price": book.entry.price, "status": book.entry_status,
                         "queue": self.queue_est.row(s, self._last_event_wall or time.time_ns())}  # queue estimate
            pos = None
            if book.position_qty:
                pos = {"side": "long" if book.position_qty > 0 else "short", "qty": abs(book.position_qty),
                       "entry_price": book.entry_price}
            seen = self._liq_seen.get(sid, 0)
            need = int(getattr(self.detector, "min_history", self.params.min_history))
            warmup = None if thr == thr else {"seen": min(seen, need), "need": need}  # until a threshold exists
            rows.append({"venue": v, "symbol": s, "last_price": p.get("last_price"), "threshold": thr,
                         "warmup": warmup, "active": active, "last_cascade": book.last_cascade, "order": order, "position": pos,
                         "pnl": book.realized, "trades": book.trades, "status": p["status"]})
        recent = []
        for d in self.decisions[-8:]:
            detail = d.reason if d.action != "order" else f"{d.side} {d.qty:g} @ {d.price:g} tp {d.take_profit:g} sl {d.stop_loss:g}"
            recent.append({"ts_ns": d.ts_ns, "symbol": d.symbol, "dominant": d.dominant, "action": d.action,
                           "detail": detail, "notes": d.notes})
        rs = self.risk.snapshot(self.blocked)
        errs = self.error_counts()
        return {"mode": self.mode, "equity": self.core.equity, "day_pnl": rs["day_pnl"], "week_pnl": rs["week_pnl"],
                "daily_limit": rs["daily_limit"], "weekly_limit": rs["weekly_limit"], "killed": rs["killed"],
                "halted": self.halted, "errors": sum(errs.values()), "errors_by_source": errs,
                "cascades": self.cascades, "orders": self.orders, "fills": self.fills,
                "fills_by_kind": dict(self.fill_kinds), "blocked": rs["blocked"], "symbols": rows,
                "recent": recent, "rejects": dict(self.rejects), "checklist": self.checklist(),
                "alarms": self.all_alarms(), "venue_clock_offset_ms": self.venue_clock_offset_ns / 1e6,
                **self._panels.panels(self)}

    def checklist(self) -> dict:
        """The go-live checklist of this session so far (the dashboard's panel; ``liqcore journal`` computes
        the same figures from the journal): cascades per day per symbol, fill rate, win rate, reaction time
        p50/p99 (decision to create request written; 0 on the in-process paper venue), and the fee charged
        (bps of the filled notional, maker and taker) beside the fee model."""
        c = self.checks
        rc = self.replay_clock
        now = (rc.now_ns if rc is not None and rc.now_ns else time.time_ns())
        first = c["since_ns"] if rc is None else (self.core._first_ns or now)
        days = max(1.0, (now - first) / 86_400e9)
        rx = sorted(c["reaction_ms"])

        def q(p):
            return rx[min(len(rx) - 1, int(round(p * (len(rx) - 1))))] if rx else None

        fees = {}
        for side, (fee, notional, n) in c["fees"].items():
            fees[side] = {"fills": n, "bps": (fee / notional * 1e4) if notional else None,
                          "model_bps": self.params.maker_fee_bps if side == "maker" else self.params.taker_fee_bps}
        done = c["entries"] - sum(1 for b in self.books.values()
                                  if b.entry is not None and not b.position_qty and b.entry_status in self.WORKING_STATUSES)
        return {"cascades_per_day": {s: n / days for s, n in sorted(c["cascades"].items())},
                "fill_rate": (c["filled"] / done) if done > 0 else None, "entries": c["entries"], "filled": c["filled"],
                "win_rate": (c["wins"] / c["trades"]) if c["trades"] else None, "trades": c["trades"],
                "reaction_ms": {"p50": q(0.5), "p99": q(0.99), "n": len(rx)}, "fees": fees}

    def fills_text(self) -> str:
        """``4 (entry 2, exit 2)``: fills with the entry and exit (take-profit, stop-loss, timeout) split."""
        return f"{self.fills} (entry {self.fill_kinds['entry']}, exit {self.fill_kinds['exit']})"

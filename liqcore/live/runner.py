"""The live runner: feeds -> engine -> gateway, with clock, metrics endpoint, dashboard, kill switch
and a clean shutdown.

The details: docs/maintainers/live-gateways.md, "The live runner (liqcore.live.runner)".

May import: ``features.registry``, ``interrupt`` and this package's ``dashboard``, ``feeds``, ``metrics``,
``ondemand``, ``views``, ``web``.
"""
from __future__ import annotations

import asyncio
import gc
import logging
import signal
import time

from liqcore.live.feeds import FeedManager

__all__ = ["LiveRunner", "symbols_text"]

log = logging.getLogger("liqcore.runner")


def _collect_idle() -> int:
    """The cyclic garbage collector's next pass, run now, while the feed is quiet, once the youngest
    generation is half-way to its threshold: the pass the allocation count would start later can then not
    land inside a frame's handling (a pass of the middle generation takes about a millisecond).  Returns the
    generation collected, or -1."""
    if not gc.isenabled():
        return -1
    c0, c1, _ = gc.get_count()
    t0, t1, _ = gc.get_threshold()
    if t0 <= 0 or c0 * 2 < t0:
        return -1
    gen = 0 if c1 + 1 < t1 else 1  # (the oldest generation stays with the collector's own rule)
    gc.collect(gen)
    return gen


_FEATURE_KINDS = {"liq": "liquidation", "cascade": "liquidation", "btc": "liquidation", "trade": "trade",
                  "funding": "funding", "oi": "open_interest"}


def feature_needs(names) -> frozenset:
    """The event kinds the named features (``funding.funding_avg@1h``, ...) need from a live feed."""
    from liqcore.features.registry import BUILTIN, parse_name

    out = set()
    for n in names or ():
        base = BUILTIN.get(parse_name(n).key)
        kind = _FEATURE_KINDS.get(getattr(base, "needs", ""))
        if kind:
            out.add(kind)
    return frozenset(out)


def book_needs(queue_fill: bool, live: bool) -> frozenset:
    """``{"quote"}`` (the traded symbols' top of book: Bybit ``orderbook.1.S``, Binance ``<sym>@bookTicker``,
    OKX ``bbo-tbt``) when a run needs it, else nothing: every live run (orders at the venue: the live queue
    estimate of a resting entry and the silent-stream watch read it), whatever the fill rule, and a paper run
    that fills by the queue rule (``--fill queue``)."""
    return frozenset({"quote"}) if queue_fill or live else frozenset()


def strategy_needs(engine, features=()) -> frozenset:
    """The event kinds the engine's strategy needs (its ``needs``) and the named ``features`` kept beside it,
    liquidations and trades always, and the top of book (``quote``, :func:`book_needs`) when its orders go to
    a venue or its core fills by the queue rule."""
    strat = getattr(engine, "strategy", None)
    cls = type(strat)
    needs = cls.needs_for(getattr(engine, "params", None)) if hasattr(cls, "needs_for") else getattr(cls, "needs", ())
    book = book_needs(getattr(getattr(engine, "core", None), "wants_quotes", False),
                      not getattr(engine, "paper", True))
    return frozenset(needs) | {"liquidation", "trade"} | feature_needs(features) | book


def symbols_text(symbols, most: int = 10) -> str:
    """``ETHUSDT,SOLUSDT``; beyond ``most`` symbols (a whole market) the first ones and the count."""
    symbols = list(symbols)
    if len(symbols) <= most:
        return ",".join(symbols)
    return f"{','.join(symbols[:3])},... ({len(symbols)} symbols)"


def _liquidation_specs(venue: str, symbols, url, network: str):
    """The connections of a watched venue's liquidation stream alone (no trades: orders are elsewhere)."""
    from liqcore.live.feeds import stream_module

    mod = stream_module(venue)
    return mod.connection_specs(list(symbols), url=url, network=network, trades=False)


class LiveRunner:
    def __init__(self, engine, venue: str, symbols: list[str], *, ws_url: str | None = None,
                 network: str = "mainnet", metrics_port: int | None = None, dashboard: bool = False,
                 dashboard_hz: float = 4.0, clock_interval_s: float = 0.1, install_signals: bool = False,
                 warm_interval_s: float | None = 0.002,
                 feed_symbols: list[str] | None = None, features=(), watch=(), web: dict | None = None,
                 specs=None, on_demand: dict | None = None, book_depth: bool = False, rest_url: str | None = None,
                 **conn_kwargs):
        self.engine = engine
        self.venue = venue
        self.symbols = list(symbols)
        #: the run was stopped by the user's Ctrl-C (SIGINT)
        self.interrupted = False
        self.metrics_port = metrics_port
        self.dashboard_on = dashboard
        self.dashboard_hz = dashboard_hz
        self.clock_interval_s = clock_interval_s
        #: seconds between two quiet-feed ticks (the engine's ``idle_tick``: prepared entries refreshed, and the
        #: decision path run on scratch state while a cascade can confirm, so it does not pay for cold
        #: caches); None or 0: off
        self.warm_interval_s = warm_interval_s
        self.install_signals = install_signals
        # a replay: the feed's gaps and coverage follow the replayed clock (the engine's)
        replay = getattr(engine, "replay_clock", None) is not None and hasattr(engine, "now_ns")
        # subscribe what the strategy's inputs need (e.g. the tickers carrying the funding rate); a strategy
        # whose inputs the venue's stream cannot deliver is refused here, before anything connects
        self.needs = strategy_needs(engine, features) | (frozenset({"depth"}) if book_depth else frozenset())
        #: data on demand (``on_demand``: ``{"always": [symbols], "linger_s": s}``): the feed carries the liquidations
        #: alone; trades and the rest come on a connection of their own, per symbol while it needs them
        #: (:class:`liqcore.live.ondemand.OnDemand`)
        self.on_demand = self.demand_feed = None
        on_frame = engine.on_frame
        if on_demand is not None:
            from liqcore.live.feeds import feed_options
            from liqcore.live.ondemand import OnDemand

            syms = feed_symbols or self.symbols
            self.on_demand = OnDemand(venue, syms, opts=feed_options(venue, self.needs), url=ws_url, network=network,
                                      clock=engine.now_ns if replay else None, **on_demand)
        if on_demand is not None and replay:  # every stream on the one feed, gated on replay time (ondemand.hold_back)
            on_frame = self.on_demand.hold_back(engine)
        elif on_demand is not None:
            if specs is None:  # (--symbols all: its specs already carry the liquidations alone)
                specs = _liquidation_specs(venue, syms, ws_url, network)
            # (no GAP events from it: a lost trade stream blinds no liquidation, and ends no cascade)
            self.demand_feed = FeedManager(venue, syms, engine.on_frame, None, registry=engine.registry,
                                           specs=list(self.on_demand.specs), **conn_kwargs)
        self.feed = FeedManager(venue, feed_symbols or self.symbols, on_frame, engine.on_gap,
                                registry=engine.registry, url=ws_url, network=network, specs=specs,
                                clock=engine.now_ns if replay else None, needs=self.needs, **conn_kwargs)
        #: the other venues' liquidation feeds (instrument scope, ``watch``: ``(venue, symbols, url or None)``):
        #: liquidations only, into the same engine (its detector counts them; orders stay on ``venue``)
        self.watch_feeds = [
            FeedManager(v, syms, engine.on_frame, engine.on_gap, registry=engine.registry, network=network,
                        specs=_liquidation_specs(v, syms, url, network), **conn_kwargs)
            for v, syms, url in watch]
        self.feeds = [self.feed, *self.watch_feeds, *([self.demand_feed] if self.demand_feed else [])]
        #: ``--book depth``: the traded symbols' L2 books for the live queue estimate, their snapshots got here
        self.depth_keeper = None
        if book_depth:
            from liqcore.live.depthkeep import DepthKeeper
            from liqcore.live.livedepth import attach
            from liqcore.venues.registry import venue_spec

            books = attach(engine, venue)
            market = venue_spec(venue).part("market")  # (a venue whose books restart on a resubscription: its
            # depth_topic; one with REST snapshots has none)
            self.depth_keeper = books.keeper = DepthKeeper(
                books.venue, lines=books.lines, on_snapshot=books.on_snapshot, rest_base=rest_url,
                network=network, resubscribe=self.feed.resubscribe, hourly=False,
                depth_topic=getattr(market, "depth_topic", None))
        for f in self.feeds:  # a silent stream: metrics, journal, recording (the feed logs the line itself)
            f.watch.on_silent.append(self._stream_silent)
            f.watch.on_heard.append(self._stream_heard)
        self._metrics_runner = None
        self._dashboard = None
        self.web = web
        self._web = None
        self.web_url: str | None = None
        self.started_ns = 0

    def _stream_silent(self, rep) -> None:
        """A subscribed stream is silent (:mod:`liqcore.live.silence`): ``liqcore_stream_silent`` 1, a
        ``stream_silent`` journal record, a ``silent`` gap line in the recording (``--record``)."""
        eng, now = self.engine, time.time_ns()
        eng.metrics.set("liqcore_stream_silent", 1.0, venue=rep.venue, stream=rep.stream)
        eng.metrics.inc("liqcore_stream_silences_total", venue=rep.venue, stream=rep.stream)
        if eng.journal is not None:
            eng.journal.note("stream_silent", {"venue": rep.venue, "stream": rep.stream, "silent_s": rep.silent_s,
                                               "bound_s": rep.bound_s, "heard_before": rep.heard,
                                               "since_ns": rep.since_ns}, now, key=f"{rep.venue} {rep.stream}")
        rec = getattr(eng, "recorder", None)
        if rec is not None:
            rec.write_gap(rep.venue, "silent", now, stream=rep.stream, since_ns=rep.since_ns)

    def _stream_heard(self, rep) -> None:
        eng, now = self.engine, time.time_ns()
        eng.metrics.set("liqcore_stream_silent", 0.0, venue=rep.venue, stream=rep.stream)
        if eng.journal is not None:
            eng.journal.note("stream_heard", {"venue": rep.venue, "stream": rep.stream, "silent_s": rep.silent_s,
                                              "since_ns": rep.since_ns}, now, key=f"{rep.venue} {rep.stream}")

    def snapshot(self, symbols=None) -> dict:
        """The engine's snapshot (``symbols``: only those symbols' rows) and the feeds' health."""
        if symbols is None:
            snap = self.engine.snapshot()
        else:
            from liqcore.live.views import snapshot

            snap = snapshot(self.engine, symbols)
        snap["feeds"] = [f.health() for f in self.feeds]
        lf = getattr(self.engine, "features", None)
        if lf is not None:  # named features kept by the engine, per traded symbol
            snap["features"] = {f"{v}:{s}": lf.snapshot(f"{v}:{s}") for v, s in self.engine.traded
                                if symbols is None or s in symbols}
        return snap

    async def _clock(self, stop: asyncio.Event) -> None:
        eng, m = self.engine, self.engine.metrics
        while not stop.is_set():
            await asyncio.sleep(self.clock_interval_s)
            try:
                if getattr(eng, "replay_clock", None) is None:  # (a replay ticks on its own clock: Engine.on_frame)
                    eng.on_clock()
            except Exception as exc:  # counted; a streak halts new entries (timeouts depend on the clock)
                eng.clock_failed(exc)
                log.exception("clock tick failed (%d in a row)", eng.clock_failures)
            else:
                eng.clock_ok()
            try:
                h = self.feed.health()
                m.set("liqcore_connected", 1.0 if h["connected"] else 0.0, venue=self.venue)
                m.set("liqcore_coverage", h["coverage"], venue=self.venue)
                for name, v in self._decoder_counters().items():
                    m.set("liqcore_decoder", v, venue=self.venue, counter=name)
                rec = getattr(eng, "recorder", None)
                if rec is not None:  # (--record) a block a second; while the disk is full: a retry, a counter
                    rec.maybe_flush()
                    m.set("liqcore_recorder_unwritten", float(getattr(rec, "unwritten", 0)))
            except Exception:
                log.exception("feed health update failed")

    async def _keep_warm(self, stop: asyncio.Event) -> None:
        eng, every = self.engine, self.warm_interval_s
        quiet_ns = int(2 * every * 1e9)
        while not stop.is_set():
            await asyncio.sleep(every)
            if time.time_ns() - getattr(eng, "_last_event_wall", 0) < quiet_ns:
                continue  # market data is flowing: the path is warm, and a frame may be waiting
            try:
                eng.idle_tick()
            except Exception:
                log.exception("warm path failed; no longer run")
                return
            _collect_idle()

    def _data_frames(self) -> int:
        """Frames of market data the engine decoded (control frames, such as subscription acks, apart)."""
        c = self._decoder_counters()
        return int(c.get("frames", 0)) - int(c.get("control", 0))

    def _decoder_counters(self, venue: str | None = None) -> dict:
        d = self.engine._decoders.get(venue or self.venue)
        return dict(getattr(d, "counters", {}) or {}) if d is not None else {}

    async def run(self, duration: float | None = None, stop: asyncio.Event | None = None) -> dict:
        loop = asyncio.get_running_loop()
        stop = stop or asyncio.Event()
        if self.install_signals:
            from liqcore.interrupt import graceful_stop

            said = graceful_stop("run", stop, "stopping: working entries cancelled, the journal flushed")

            def interrupted() -> None:  # (the user's Ctrl-C: never reported as a feed that failed)
                self.interrupted = True
                said()

            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(sig, interrupted if sig == signal.SIGINT else stop.set)
                except (NotImplementedError, RuntimeError):
                    pass
            self.engine.risk.install_signal(loop)
        self.started_ns = time.time_ns()
        await self.engine.start(loop)
        if self.metrics_port is not None:
            from liqcore.live.metrics import serve_metrics

            self._metrics_runner = await serve_metrics(self.engine.metrics, self.metrics_port)
            port = self._metrics_runner.addresses[0][1] if self._metrics_runner.addresses else self.metrics_port
            log.info("metrics on http://127.0.0.1:%s/metrics", port, extra={"metrics_port": port})
        if self.web is not None:  # (before the feed: an address in use fails the run before it connects)
            await self._start_web()
        for f in self.feeds:
            await f.start()
        clock = loop.create_task(self._clock(stop), name="clock")
        demand = None
        if self.demand_feed is not None:
            demand = loop.create_task(self.on_demand.run(self.engine, list(self.demand_feed.connections), stop),
                                      name="on-demand")
        warm = None
        if self.warm_interval_s and hasattr(self.engine, "idle_tick"):
            warm = loop.create_task(self._keep_warm(stop), name="warm")
        # everything built so far lives for the whole run: keep it out of the cyclic collector's passes
        gc.freeze()
        if self.dashboard_on:
            from liqcore.live.dashboard import Dashboard

            self._dashboard = Dashboard(self.snapshot, self.dashboard_hz)
            self._dashboard.start()
        log.info("running: venue=%s symbols=%s mode=%s", self.venue, symbols_text(self.symbols), self.engine.mode)
        try:
            if duration is not None:
                try:
                    await asyncio.wait_for(stop.wait(), duration)
                except asyncio.TimeoutError:
                    pass
            else:
                await stop.wait()
        finally:
            stop.set()
            clock.cancel()
            if demand is not None:
                demand.cancel()
            if warm is not None:
                warm.cancel()
            if self._dashboard is not None:
                await self._dashboard.stop()
            if self._web is not None:
                await self._web.stop()
            for f in self.feeds:
                await f.stop()
            if self.depth_keeper is not None:
                await self.depth_keeper.close()
            await self.engine.shutdown(cancel_entries=True)
            if self._metrics_runner is not None:
                await self._metrics_runner.cleanup()
            if self.install_signals:
                for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1):
                    try:
                        loop.remove_signal_handler(sig)
                    except (NotImplementedError, RuntimeError, ValueError):
                        pass
        return self.summary()

    async def _start_web(self) -> None:
        """The web dashboard (``web``): bound, pushing, its address (and token, when generated; off the loopback
        without TLS, that it is plain HTTP) on stderr."""
        from liqcore.live.web import LiveView, WebDashboard, announce

        w = self.web
        control = bool(w.get("control"))
        self._web = WebDashboard(LiveView(self, control=control), w.get("host", "127.0.0.1"), int(w.get("port", 0)),
                                 hz=float(w.get("hz", self.dashboard_hz)), token=w.get("token"), control=control,
                                 engine=self.engine, ssl_context=w.get("ssl"))
        self.web_url = await self._web.start()
        announce(self.web_url, w, " (kill switch and flatten-all enabled)" if control else "")
        log.info("web dashboard on %s", self.web_url)

    def summary(self) -> dict:
        eng = self.engine
        h = self.feed.health()
        snap = eng.snapshot()
        return {"mode": eng.mode, "venue": self.venue, "symbols": self.symbols, "frames": h["frames"],
                "interrupted": self.interrupted,
                "feed_failure": self.feed.failure(data_frames=self._data_frames()) or next(
                    (why for f in self.watch_feeds if (why := f.failure()) is not None), None),
                "watch": [{"venue": f.venue, "symbols": f.symbols, "frames": f.health()["frames"],
                           "decoder": self._decoder_counters(f.venue)} for f in self.watch_feeds],
                "gaps": h["gaps"], "reconnects": h["reconnects"], "coverage": h["coverage"],
                # frames the venue's watch handler (a plugin's) failed on, the first said (the frames passed on)
                "frame_handler_errors": h.get("frame_handler_errors", 0),
                "frame_handler_failure": self.feed.handler_failure(),
                "coverage_by_hour": {str(k): v for k, v in self.feed.coverage_by_hour().items()},
                "cascades": eng.cascades, "cascades_by_symbol": dict(eng.checks["cascades"]),
                "decided": dict(eng.decision_log.outcomes), "orders": eng.orders, "fills": eng.fills,
                "fills_by_kind": dict(eng.fill_kinds), "equity": eng.equity, "day_pnl": snap["day_pnl"],
                # the venue's equity at start: wallet balance + unrealized PnL (None: not read, e.g. paper)
                "start_equity_usd": eng.lifecycle.start_equity,
                "errors": snap["errors"], "errors_by_source": snap["errors_by_source"], "halted": eng.halted,
                "alarms": snap.get("alarms", {}),
                "halts": eng.halts, "blocked": snap["blocked"], "rejects": dict(eng.rejects),
                "decoder": self._decoder_counters(), "clock": "replay" if eng.replay_clock is not None else "wall",
                "trades": eng.core.result().trades(),
                "decisions": [d.to_dict() for d in eng.decisions[-50:]],
                "shutdown": eng.shutdown_report, "recorder": self.recorder_summary(),
                **({"on_demand": self.on_demand.stats()} if self.on_demand is not None else {})}

    def recorder_summary(self) -> dict | None:
        """``--record``: lines written and not written (a full disk), the first write error, the files."""
        rec = getattr(self.engine, "recorder", None)
        if rec is None:
            return None
        return {"lines": rec.lines, "unwritten": getattr(rec, "unwritten", 0), "error": getattr(rec, "error", None),
                "files": [str(p) for p in rec.files]}

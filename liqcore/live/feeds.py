"""Feed manager: the market-data connections of one venue, frames out, GAP events on every drop.

The details: docs/maintainers/live-feeds.md, "Feed manager (liqcore.live.feeds)".

May import: ``numpy``, ``orjson``, ``types``, ``venues.binance.stream``, ``venues.bybit.stream``,
``venues.okx.stream``, ``secrets`` (an endpoint shown without its credentials) and this package's ``transport`` and
``silence``.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import Callable

import numpy as np

from liqcore.live.silence import DEFAULT_SILENT_AFTER_S, StreamWatch, watch_handler
from liqcore.live.transport import OWN_STOP, ConnectionSpec, Coverage, WsConnection
from liqcore.types import EVENT_DTYPE, Kind, SymbolRegistry, Venue
from liqcore.venues.registry import venue_spec

__all__ = ["FeedManager", "gap_events", "stream_module", "feed_options"]

log = logging.getLogger("liqcore.feeds")
#: the silent-stream reports, one line each (a command that logs to a file still shows these on stderr)
silent_log = logging.getLogger("liqcore.feeds.silent")


def stream_module(venue: str):
    """The venue's ``stream`` part (``liqcore.venues.<venue>.stream``, or a registered venue's own)."""
    v = Venue.parse(venue)
    if not v:
        raise ValueError(f"venue: unknown venue {venue!r}")
    return venue_spec(v).part("stream")


def feed_options(venue: str, needs, who: str = "the strategy") -> dict:
    """The ``connection_specs`` options under which the venue's stream delivers every event kind in
    ``needs`` (``"liquidation"``, ``"trade"``, ``"funding"``, ``"open_interest"``, ``"mark"``, ``"quote"``:
    the top of book); raises
    ValueError (one line, naming ``who``, the kinds and the venue) when the venue's stream cannot deliver
    some of them, so a strategy whose inputs cannot arrive never starts."""
    mod = stream_module(venue)
    kinds = getattr(mod, "KINDS", {})
    v = Venue.parse(venue).name.lower()
    missing = sorted(str(k) for k in needs if k not in kinds)
    if missing:
        can = ", ".join(sorted(kinds))
        raise ValueError(f"venue: {who} needs {' and '.join(missing)}, which the {v} live feed cannot deliver "
                         f"(it delivers {can}); choose another venue or strategy")
    opts: dict = {}
    for k in sorted(needs):
        opts.update(kinds[k])
    return opts


def gap_events(venue, symbol_ids, ts_ns: int) -> np.ndarray:
    """GAP events at ``ts_ns`` (ts_event = ts_recv) for each symbol id (``[-1]`` = the venue)."""
    ids = list(symbol_ids) or [-1]
    ev = np.zeros(len(ids), dtype=EVENT_DTYPE)
    ev["ts_event"] = ts_ns
    ev["ts_recv"] = ts_ns
    ev["symbol_id"] = ids
    ev["kind"] = int(Kind.GAP)
    ev["venue"] = int(Venue.parse(venue))
    ev["price"] = np.nan
    return ev


class FeedManager:
    def __init__(self, venue: str, symbols, on_frame: Callable[[str, bytes, int], None],
                 on_gap_events: Callable[[np.ndarray, str], None] | None = None, *,
                 registry: SymbolRegistry | None = None, url: str | None = None, network: str = "mainnet",
                 specs: list[ConnectionSpec] | None = None, clock: Callable[[], int] | None = None,
                 needs=None, silent_after_s: float = DEFAULT_SILENT_AFTER_S, watch_clock=None, **conn_kwargs):
        self.venue = Venue.parse(venue).name.lower()
        self.symbols = [str(s).strip().upper() for s in symbols]
        if not self.symbols:
            raise ValueError("symbols: at least one symbol is needed")
        self.registry = registry
        self.on_frame_cb = on_frame
        self.on_gap_events = on_gap_events
        #: the event kinds the consumer needs (None: the stream's default, liquidations and trades); a kind the
        #: venue's stream cannot deliver raises ValueError here
        opts = feed_options(self.venue, needs) if needs is not None else {}
        self.specs = specs if specs is not None else stream_module(self.venue).connection_specs(
            self.symbols, url=url, network=network, **opts)
        self.gaps = 0
        self.gap_log: list[tuple[int, str]] = []
        self._stopping = False  # (the connections closed by stop() are not lost: no gap counted)
        self.clock = clock
        #: a replay's coverage, one per connection, on the replayed clock (None: the connections' own, wall time)
        self._replay_cov: list[Coverage] | None = None
        if clock is not None:
            self._replay_cov = [Coverage(start_ns=clock()) for _ in self.specs]
            self._up_after: list[int | None] = [None] * len(self.specs)  # reconnected: up at the next replayed frame
            self._ever_up = [False] * len(self.specs)
        self._conn_kwargs = conn_kwargs
        #: per-stream silence (:mod:`liqcore.live.silence`); off in a replay (its streams follow a recording)
        # (a venue with no 'market' part cannot re-subscribe one stream: a stream silent alone is reported, left as is)
        self.watch = StreamWatch(self.venue, 0.0 if clock is not None else float(silent_after_s or 0.0),
                                 resubscribe=self._resubscribe, reconnect=self._reconnect,
                                 cannot_resubscribe="" if venue_spec(self.venue).has_part("market") else
                                 f"venue {self.venue} has no 'market' part to re-subscribe one stream with",
                                 **({"clock": watch_clock} if watch_clock is not None else {}))
        self.watch.on_silent.append(lambda rep: silent_log.warning("%s", rep.text()))
        self.watch.on_heard.append(lambda rep: silent_log.warning("%s", rep.text()))
        self._watch_task: asyncio.Task | None = None
        #: per connection, the streams removed from its combined-stream URL while it was not connected: a connect
        #: already in flight asked for the old URL, so they are unsubscribed once it is up
        self._unsent: dict[int, set[str]] = {}
        for i, spec in enumerate(self.specs):
            self.watch.track(i, spec.topics)
        self.connections = [self._connection(i, spec) for i, spec in enumerate(self.specs)]

    def _connection(self, i: int, spec: ConnectionSpec) -> WsConnection:
        state = self._state_handler(i) if self.clock is not None else (
            self._watch_state(i) if self.watch.enabled else None)

        def on_state(connected: bool) -> None:
            if connected and i in self._unsent:
                self._unsubscribe_late(i)
            if state is not None:
                state(connected)

        return WsConnection(spec, self._frame_handler(i), self._gap_handler(spec), on_state=on_state,
                            **self._conn_kwargs)

    def _unsubscribe_late(self, i: int) -> None:
        """Connection ``i`` is up: the streams removed from its URL while it connected, and still in the URL its
        socket asked for, are unsubscribed now (a connect begun after the removal asked without them)."""
        conn, late = self.connections[i], self._unsent.pop(i)
        url = conn.url_in_use
        without = venue_spec(self.venue).part("market").url_without
        still = [t for t in sorted(late) if t not in self.specs[i].topics and without(url, [t]) != url]
        for msg in self._messages("unsubscribe", still) if still else ():
            conn.send(msg)

    # ------------------------------------------------------------------ silent streams
    def _watch_state(self, i: int):
        watch = self.watch

        def on_state(connected: bool) -> None:
            if connected:  # (it subscribes its streams now: their silence counts from here)
                watch.subscribed(i)

        return on_state

    def _resubscribe(self, i: int, topic: str) -> None:
        """A silent stream asked again on its connection: unsubscribed, then subscribed."""
        conn = self.connections[i]
        for op in ("unsubscribe", "subscribe"):
            for msg in self._messages(op, [topic]):
                conn.send(msg)

    def _reconnect(self, i: int) -> None:
        self.connections[i].drop("silent")

    async def _watch_loop(self) -> None:
        w = self.watch
        held = [sp.topics for sp in self.specs]
        while not self._stopping:
            await asyncio.sleep(w.tick_s)
            try:
                for i, sp in enumerate(self.specs):  # (data on demand rebinds its spec's topics as it goes)
                    if i >= len(held) or sp.topics is not held[i]:
                        w.track(i, sp.topics)
                held = [sp.topics for sp in self.specs]
                w.check()
            except Exception:  # (a report callback's failure must not end the watch)
                log.exception("silent-stream check failed")

    def add_specs(self, specs: list[ConnectionSpec]) -> None:
        """More connections while running (e.g. a new listing's liquidation topic), started at once (inside
        the running loop) and counted in the feed's health like the others."""
        for spec in specs:
            i = len(self.specs)
            self.specs.append(spec)
            if self.clock is not None:
                self._replay_cov.append(Coverage(start_ns=self.clock()))
                self._up_after.append(None)
                self._ever_up.append(False)
            self.watch.track(i, spec.topics)
            c = self._connection(i, spec)
            self.connections.append(c)
            if not self._stopping:
                c.start()

    def resubscribe(self, topic: str) -> bool:
        """``topic`` (as the specs hold it) unsubscribed then subscribed again on its connection (a depth
        book that needs the venue's snapshot again); False when no connection holds it."""
        for i, spec in enumerate(self.specs):
            if topic in spec.topics:
                self._resubscribe(i, topic)
                return True
        return False

    def add_topics(self, topics, url: str | None = None) -> list[str]:
        """Bybit: ``topics`` subscribed while running (e.g. a new listing's ``allLiquidation`` topic): on the
        connections that still have room within the venue's args limit (``MAX_ARGS_CHARS`` a connection), the
        rest on new connections (at ``url``, default the last connection's); each one's subscribe list keeps
        them for its reconnects.  Returns the topics added (one subscribed already is left out)."""
        spec_v = venue_spec(self.venue)
        if not spec_v.per_topic_subscriptions:
            raise ValueError(f"add_topics: per-topic subscriptions are not {self.venue}'s")
        st = spec_v.part("stream")
        MAX_ARGS_CHARS, args_chars, subscribe_messages, topic_specs = (st.MAX_ARGS_CHARS, st.args_chars,
                                                                       st.subscribe_messages, st.topic_specs)

        held = {t for sp in self.specs for t in sp.topics}
        todo = [t for t in dict.fromkeys(topics) if t not in held]
        out = list(todo)
        for spec, conn in zip(self.specs, self.connections):
            if not todo or spec.url != (url or spec.url):
                continue
            used, fit = args_chars(spec.topics), []
            for t in todo:
                used += len(t) + 3  # (its quotes and a comma)
                if used > MAX_ARGS_CHARS:
                    break
                fit.append(t)
            if not fit:
                continue  # (this connection is full)
            spec.topics = spec.topics + fit
            spec.subscribe = subscribe_messages(spec.topics)
            spec.symbols = sorted({t.rsplit(".", 1)[1] for t in spec.topics})
            self.watch.track(self.specs.index(spec), spec.topics)
            for msg in subscribe_messages(fit, req_prefix="join"):
                conn.send(msg)
            todo = todo[len(fit):]
        if todo:
            self.add_specs(topic_specs(todo, url or self.specs[-1].url))
        return out

    def _messages(self, op: str, topics: list[str]) -> list[bytes]:
        """The venue's ``op`` requests for ``topics`` (as the specs hold them: OKX args as JSON text)."""
        return venue_spec(self.venue).part("market").stream_messages(op, topics)

    def _symbol_of(self, topic: str) -> str:
        """The symbol of a per-symbol stream ("" for an all-market one): Bybit ``<topic>.<SYMBOL>``, Binance
        ``<symbol>@<stream>``, OKX args with an ``instId``."""
        return venue_spec(self.venue).part("market").topic_symbol(topic)

    def symbol_topics(self, symbols) -> list[str]:
        """The per-symbol streams the connections hold for ``symbols``."""
        syms = {str(s).strip().upper() for s in symbols}
        return [t for sp in self.specs for t in sp.topics if self._symbol_of(t) in syms]

    def remove_topics(self, topics) -> list[str]:
        """``topics`` (as the specs hold them) unsubscribed on the connections that hold them, in the venue's own
        requests, and dropped from those connections' subscribe lists, so that a reconnect no longer subscribes
        them (e.g. a delisted symbol's: :meth:`symbol_topics`).  Returns the topics removed; one no connection
        holds is left out.  A Binance combined-stream connection (``/stream?streams=a/b/c``) takes ``UNSUBSCRIBE``
        as a raw one does, and its URL loses them (what a reconnect asks for)."""
        gone, out = set(topics), []
        for spec, conn in zip(self.specs, self.connections):
            drop = [t for t in spec.topics if t in gone]
            if not drop:
                continue
            spec.topics = [t for t in spec.topics if t not in gone]
            new_url = venue_spec(self.venue).part("market").url_without(spec.url, drop)
            in_url = new_url is not None  # (a combined-stream URL names its streams: it loses them)
            if in_url:
                spec.url = new_url
            if spec.subscribe or not in_url:
                spec.subscribe = self._messages("subscribe", spec.topics)  # (what a reconnect sends)
            left = {self._symbol_of(t) for t in drop} - {self._symbol_of(t) for t in spec.topics}
            spec.symbols = [s for s in spec.symbols if s.upper() not in left]  # (its gap no longer theirs)
            self.watch.track(self.specs.index(spec), spec.topics)  # (an unsubscribed stream is not silent)
            sent = [conn.send(msg) for msg in self._messages("unsubscribe", drop)]
            if in_url and not all(sent):  # (not connected: a connect in flight may ask for the old URL)
                self._unsent.setdefault(self.specs.index(spec), set()).update(drop)
            out += drop  # (a subscribe list: the next connect subscribes it without them)
        return out

    def _frame_handler(self, i: int = 0):
        if self.clock is None and self.watch.enabled:
            # the frame's stream key noted (one dict store), then ``on_frame_cb(venue, payload, recv_ns)``
            # (a frame the venue's handler fails on: counted in the watch's handler_failures, said once, passed on)
            return watch_handler(self.venue, self.watch.last, self.on_frame_cb, self.venue,
                                 failures=self.watch.handler_failures)
        if self.clock is None:
            # ``on_frame(payload, recv_ns)`` -> ``on_frame_cb(venue, payload, recv_ns)``, with no Python frame between
            return functools.partial(self.on_frame_cb, self.venue)
        cb, venue, clock, cov, up_after = self.on_frame_cb, self.venue, self.clock, self._replay_cov[i], self._up_after

        def on_frame(payload, recv_ns):
            cb(venue, payload, recv_ns)
            t = up_after[i]
            if t is not None:  # the first frame replayed after a reconnect: covered again from its time
                now = clock()
                if now > t:
                    up_after[i] = None
                    cov.up(now)

        return on_frame

    def _state_handler(self, i: int):
        """A replay's coverage: connected at the replayed time (the first connect), down at the replayed time
        of the drop, up again with the next frame replayed after a reconnect."""
        cov, clock, ever_up = self._replay_cov[i], self.clock, self._ever_up

        def on_state(connected: bool) -> None:
            if not connected:
                self._up_after[i] = None
                cov.down(clock())
            elif not ever_up[i]:
                ever_up[i] = True
                cov.up(clock())
            else:
                self._up_after[i] = clock()

        return on_state

    def _gap_handler(self, spec: ConnectionSpec):
        def on_gap(reason: str, ts_ns: int) -> None:
            if self.clock is not None:  # a replay: the blind time starts at the replayed time
                ts_ns = self.clock()
            if not self._stopping:  # our own stop is not a lost connection (the run's gaps= and the pages agree)
                self.gaps += 1
                self.gap_log.append((ts_ns, reason))
            else:  # named as such for the GAP events' consumers (the engine's journal does not count it as a gap)
                reason = OWN_STOP
            if self.on_gap_events is None:
                return
            ids = []
            if self.registry is not None and spec.symbols and len(spec.symbols) < 10_000:
                ids = [self.registry.id(self.venue, s) for s in spec.symbols]
            self.on_gap_events(gap_events(self.venue, ids, ts_ns), reason)

        return on_gap

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        for c in self.connections:
            c.start()
        if self.watch.enabled and self._watch_task is None:
            self._watch_task = asyncio.get_running_loop().create_task(self._watch_loop(), name=f"silence-{self.venue}")

    async def wait_connected(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(asyncio.gather(*(c.wait_connected() for c in self.connections)), timeout)

    async def stop(self) -> None:
        self._stopping = True
        if self._watch_task is not None:
            self._watch_task.cancel()
        await asyncio.gather(*(c.stop() for c in self.connections), return_exceptions=True)

    # ------------------------------------------------------------------ health
    @property
    def connected(self) -> bool:
        return all(c.connected for c in self.connections)

    def _coverages(self) -> list[Coverage]:
        return self._replay_cov if self._replay_cov is not None else [c.coverage for c in self.connections]

    def _now(self) -> int:
        return self.clock() if self.clock is not None else time.time_ns()

    def coverage(self, now_ns: int | None = None) -> float:
        """Share of the time since the start (replayed time in a replay) ALL connections were up."""
        now = self._now() if now_ns is None else now_ns
        return min((c.share(now) for c in self._coverages()), default=0.0)

    def coverage_by_hour(self, now_ns: int | None = None) -> dict[int, float]:
        """Per UTC hour, the share of time ALL connections of the venue were up (worst connection)."""
        now = self._now() if now_ns is None else now_ns
        out: dict[int, float] = {}
        for c in self._coverages():
            for h, share in c.by_hour(now).items():
                out[h] = min(out.get(h, 1.0), share)
        return out

    def failure(self, data_frames: int | None = None, unread: str | None = None) -> str | None:
        """Why this feed failed at its job, or None: it never connected (every URL, with the connect attempts
        and the last error), or it connected and received no frame at all, or (``data_frames``: how many of
        the frames carried market data, as the caller's decoder counted) none of market data: the venue's frame
        handler failed on them (:meth:`handler_failure`), ``unread`` (the caller's words for frames its decoder
        failed on: ``"N frames failed in venue X's parser ...: TypeError: ..."``), else only control frames."""
        st = [c.stats for c in self.connections]
        if not any(s.connects for s in st):
            from liqcore.secrets import redact_text, redact_url, url_secrets

            urls = sorted({redact_url(c.spec.url) for c in self.connections})  # (no credential of theirs shown)
            tries = sum(s.connect_failures for s in st)
            last = redact_text(next((s.last_error for s in reversed(st) if s.last_error), ""),
                               [x for c in self.connections for x in url_secrets(c.spec.url)])
            if not tries:
                return f"the {self.venue} feed never connected to {', '.join(urls)} (no connect attempt finished in the run)"
            return (f"the {self.venue} feed never connected to {', '.join(urls)} ({tries} attempt"
                    f"{'' if tries == 1 else 's'}{'; last: ' + last if last else ''})")
        n = sum(s.frames for s in st)
        if not n:
            return f"the {self.venue} feed connected but received no frame"
        if data_frames is not None and data_frames <= 0:
            why = "; ".join(filter(None, [self.handler_failure(), unread]))
            if why:
                return (f"the {self.venue} feed connected but no market data was read of its "
                        f"{n} frame{'' if n == 1 else 's'}: {why}")
            return (f"the {self.venue} feed connected but received no market data ({n} frame{'' if n == 1 else 's'}, "
                    f"all control frames: subscription acknowledgements, pongs)")
        return None

    def handler_failure(self) -> str | None:
        """``"N frames failed in venue X's frame handler (...): TypeError: ..."`` (its ``watch`` part's
        ``on_frame_handler``; the frames were passed on all the same), or None."""
        return self.watch.handler_failures.text()

    def health(self) -> dict:
        st = [c.stats for c in self.connections]
        now_ns = time.time_ns()
        last = max((s.last_rx_ns for s in st), default=0)
        return {
            "venue": self.venue,
            "connected": self.connected,
            "connections": len(self.connections),
            "frames": sum(s.frames for s in st),
            "bytes": sum(s.bytes for s in st),
            "connects": sum(s.connects for s in st),
            "reconnects": sum(max(0, s.connects - 1) for s in st),
            "gaps": self.gaps,
            "watchdog_pings": sum(s.pings_sent for s in st),  # heartbeats sent
            "watchdog_kills": sum(s.watchdog_kills for s in st),
            "last_rx_age_s": (now_ns - last) / 1e9 if last else None,
            "coverage": self.coverage(),
            "silent": self.watch.silent_streams(),  # streams silent now (liqcore.live.silence)
            "frame_handler_errors": self.watch.handler_failures.count,  # frames the venue's watch handler failed on
        }

"""Silent streams: a subscribed stream that stays quiet against evidence that it should not (:class:`StreamWatch`).

A calm market is not a dead stream.  Evidence is per connection: a stream that stops while the other streams
of its connection flow is re-subscribed (its connection is alive: never reconnected for it); a connection all
of whose streams stop is reported and reconnected; a liquidation stream, which the venues push only when a
liquidation happens, is never judged by its own quiet, only with its connection.  A connection that answers
no heartbeat is the transport's (``liqcore.live.transport``: ping every ``ping-interval``, replaced after
``stall-timeout`` with nothing received).
The per-frame key (:func:`frame_key`) is one or two ``find`` on the frame's head and one dict store.
The rule and its reasons: docs/explanation/live-engine.md, "Silent streams, the watch (`liqcore.live.silence`)".

Each venue's frame keys and topic names are its own (``liqcore.venues.<venue>.watch``, through the registry);
the receive path stamps frames with one compiled call (``liqcore.venues.decoder.stream_stamp``).

May import: ``venues.registry``, ``venues.decoder`` (the compiled per-frame stamp) and the standard library.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from typing import Callable


__all__ = ["StreamWatch", "Silence", "HandlerFailures", "frame_key", "topic_keys", "stream_name",
           "is_liquidation_stream", "watch_handler", "FACTOR", "DEFAULT_SILENT_AFTER_S"]

log = logging.getLogger("liqcore.feeds.silent")

#: a heard stream is silent after this many of its mean intervals (with a Poisson stream, e^-10 ~ 5e-5)
FACTOR = 10.0
DEFAULT_SILENT_AFTER_S = 60.0
#: the longest wait between two re-subscriptions / reconnects of a stream that stays silent
MAX_RETRY_S = 900.0
NS = 1_000_000_000

# ---------------------------------------------------------------------------- keys (the receive path)
class _Watch:
    """A venue's ``watch`` part as the watch asks it: ``frame_key(payload)`` is its own (required); what it leaves
    out is the one-topic-one-key default: ``topic_keys(topic)`` ``[topic.encode()]``, ``stream_name(topic)`` the
    topic, ``all_market`` / ``hears_all_market`` False, ``key_aliases(key)`` ``[]``; ``on_frame_handler``
    (its inlined stamp) None: made of ``frame_key``; ``is_liquidation_topic`` None: the topic's name tells."""

    __slots__ = ("frame_key", "on_frame_handler", "topic_keys", "stream_name", "all_market", "key_aliases",
                 "hears_all_market", "is_liquidation_topic")

    def __init__(self, venue: str, mod):
        key = getattr(mod, "frame_key", None)
        if key is None:
            raise NotImplementedError(f"venue {venue}: its watch part ({mod.__name__}) has no frame_key(payload)")
        self.frame_key = key
        self.on_frame_handler = getattr(mod, "on_frame_handler", None)
        self.topic_keys = getattr(mod, "topic_keys", _one_key)
        self.stream_name = getattr(mod, "stream_name", str)
        self.all_market = getattr(mod, "all_market", _no)
        self.key_aliases = getattr(mod, "key_aliases", _none)
        self.hears_all_market = getattr(mod, "hears_all_market", _no)
        self.is_liquidation_topic = getattr(mod, "is_liquidation_topic", None)


def _one_key(topic: str) -> list:
    return [topic.encode()]


def _no(_x) -> bool:
    return False


def _none(_x) -> list:
    return []


def _watch(venue: str) -> _Watch:
    """The venue's watch part (``liqcore.venues.<venue>.watch``): its frames' keys and its topics' names."""
    from liqcore.venues.registry import venue_spec

    return _Watch(venue, venue_spec(venue).part("watch"))


def frame_key(venue: str, payload: bytes):
    """The stream key of one data frame (what :func:`watch_handler` stores), or None (a control frame):
    Bybit ``b"publicTrade.ETHUSDT"``; Binance combined ``b"ethusdt@aggTrade"``, raw ``(b"aggTrade", b"ETHUSDT")``;
    OKX the ``arg`` object's bytes ``b'{"channel":"trades","instId":"ETH-USDT-SWAP"}'``.  The reference form of
    the inline code in :func:`watch_handler` (a test compares them); each venue's in its ``watch`` part."""
    return _watch(venue).frame_key(payload)


class HandlerFailures:
    """A venue's frame handler (its ``watch`` part's ``on_frame_handler``) failing on frames: each failure counted
    (:attr:`count`), the first said once, in one line naming the venue and the exception (never a traceback a
    frame); :meth:`text` is the summary a run's end gives."""

    def __init__(self, venue: str):
        self.venue = venue
        self.count = 0
        self.first: str | None = None  # "TypeError: ..." of the first failure

    def __call__(self, exc: BaseException) -> None:
        self.count += 1
        if self.first is None:
            self.first = " ".join(f"{type(exc).__name__}: {exc}".split())
            log.warning("venue %s's frame handler (its watch part's on_frame_handler) failed on a frame: %s; the frame "
                        "was passed on, the failures are counted (frame_handler_errors) and not said again",
                        self.venue, self.first)

    def text(self) -> str | None:
        """``"N frames failed in venue X's frame handler (...): TypeError: ..."``, or None (none failed)."""
        if not self.count:
            return None
        return (f"{self.count} frame{'' if self.count == 1 else 's'} failed in venue {self.venue}'s frame handler "
                f"(its watch part's on_frame_handler): {self.first}")


def _keyed_handler(vw):
    """A venue's ``on_frame_handler`` made of its ``frame_key`` (a watch part without one of its own)."""
    key_of = vw.frame_key

    def on_frame_handler(last, cb, a0):
        def on_frame(payload, recv_ns, _last=last, _cb=cb, _a=a0, _key=key_of):
            k = _key(payload)
            if k is not None:
                _last[k] = recv_ns
            _cb(_a, payload, recv_ns)
        return on_frame

    return on_frame_handler


def _guarded(vw, last: dict, cb: Callable, a0, failed: Callable[[BaseException], None]):
    """The venue's own ``on_frame_handler(last, cb, a0)`` (its Python stamp) with its failures kept apart from the
    consumer's: an exception the venue's code raises on a frame (before ``cb`` was called: a bad key, ``cb`` called
    with the wrong arguments; or after it) is handed to ``failed`` and the frame still reaches ``cb`` once, stamped
    with ``frame_key`` where that works; an exception of ``cb`` itself is the consumer's and propagates (the
    transport counts it)."""
    state = [0]  # 0: cb not called yet for this frame, 1: in cb, 2: cb returned

    def passed(a, payload, recv_ns, _cb=cb, _state=state):
        _state[0] = 1
        _cb(a, payload, recv_ns)
        _state[0] = 2

    passed.__qualname__ = passed.__name__ = "cb"  # (a wrong call's TypeError names the venue's cb, not this module)
    inner = (vw.on_frame_handler or _keyed_handler(vw))(last, passed, a0)
    key_of = vw.frame_key

    def on_frame(payload, recv_ns, _inner=inner, _state=state):
        _state[0] = 0
        try:
            _inner(payload, recv_ns)
            if _state[0]:
                return
            exc: BaseException = RuntimeError("it returned without passing the frame on (cb was not called)")
        except Exception as e:
            if _state[0] == 1:
                raise  # the consumer's own failure
            exc = e
        failed(exc)
        if _state[0] == 0:  # (never reached the consumer: it does now, stamped by frame_key if it can be)
            try:
                k = key_of(payload)
                if k is not None:
                    last[k] = recv_ns
            except Exception:  # noqa: BLE001 - counted above already
                pass
            cb(a0, payload, recv_ns)

    return on_frame


def watch_handler(venue: str, last: dict, cb: Callable, *args,
                  failures: Callable[[BaseException], None] | None = None) -> Callable[[bytes, int], None]:
    """``on_frame(payload, recv_ns)`` for a connection: ``last[frame_key(payload)] = recv_ns``, then
    ``cb(*args, payload, recv_ns)`` (``args``: the venue name alone, as the feed manager passes it).  The key code
    is inlined per venue (its ``watch`` part) and its names bound as defaults (this is the receive path).
    ``failures(exc)``: told of each frame the venue's handler failed on (default: a :class:`HandlerFailures` of
    its own); such a frame still reaches ``cb``."""
    a0 = args[0] if len(args) == 1 else None
    if len(args) != 1:
        inner = cb

        def cb(a, payload, recv_ns):  # (any other argument list: one more call)
            inner(*args, payload, recv_ns)
    from liqcore.venues.decoder import stream_stamp

    stamp = stream_stamp(venue, last)  # the same keys and stores in one compiled call (Binance raw: 4x less)
    if stamp is not None:
        def on_frame(payload, recv_ns, _stamp=stamp, _cb=cb, _a=a0):
            _stamp(payload, recv_ns)
            _cb(_a, payload, recv_ns)
        return on_frame
    # (the venue's inlined Python stamp, its failures counted and said once: a plugin's bug is not a traceback a frame)
    return _guarded(_watch(venue), last, cb, a0, failures if failures is not None else HandlerFailures(venue))


def topic_keys(venue: str, topic: str) -> list:
    """The frame keys (:func:`frame_key`) a subscribed ``topic`` (as ``ConnectionSpec.topics`` holds it) is heard
    by: Binance both its combined name and its raw ``(event, SYMBOL)`` form; OKX the normalised ``(channel,
    instId|instType)``; an all-market Binance stream (``!forceOrder@arr``) is matched in :meth:`StreamWatch`."""
    return _watch(venue).topic_keys(topic)


def stream_name(venue: str, topic: str) -> str:
    """The stream as a reader names it: Bybit / Binance the topic itself, OKX ``channel:instId``."""
    return _watch(venue).stream_name(topic)


_WORD = re.compile(r"[^a-z0-9]+")
_LIQ_WORDS = frozenset({"liq", "liqs"})


def is_liquidation_stream(venue: str, topic: str) -> bool:
    """Whether a subscribed ``topic`` is a liquidation stream, pushed only when a liquidation happens (Bybit
    ``allLiquidation.<SYMBOL>``, Binance ``<symbol>@forceOrder`` / ``!forceOrder@arr``, OKX ``liquidation-orders``,
    Gate ``futures.public_liquidates``: at most one a second a symbol on Binance, OKX and Gate, 500 ms batches on
    Bybit), with no heartbeat of its own: never judged silent by its own quiet.  The venue says so (its ``watch``
    part's optional ``is_liquidation_topic(topic) -> bool``); a venue that does not, by the topic's name
    (``liquidat`` or ``forceorder`` in it, or the word ``liq`` / ``liqs``: ``liq.BTC-PERP``; any case)."""
    declared = _watch(venue).is_liquidation_topic
    if declared is not None:
        return bool(declared(topic))
    t = topic.lower()
    return "liquidat" in t or "forceorder" in t or not _LIQ_WORDS.isdisjoint(_WORD.split(t))


# ---------------------------------------------------------------------------- the watch
@dataclass
class _Stream:
    conn: int
    topic: str
    name: str
    liq: bool
    since_ns: int = 0  # (re)subscribed at (the watch's clock)
    watched_ns: int = 0  # time watched since the first subscription
    heard_checks: int = 0  # checks in which it was heard
    last_heard_ns: int = 0  # the check that last heard it (0: not since subscribed)
    silent: bool = False
    silent_since_ns: int = 0  # the start of its silence (last heard, or subscribed)
    next_action_ns: int = 0
    retry_s: float = 0.0
    actions: int = 0  # re-subscriptions made while silent
    all_market: bool = False
    keys: list = field(default_factory=list)


@dataclass
class _Conn:
    """A connection all of whose streams stopped (``dead``): reconnected, again after a doubling wait."""

    subscribed_ns: int = 0  # (re)subscribed its streams at (the watch's clock)
    dead: bool = False
    next_action_ns: int = 0
    retry_s: float = 0.0


@dataclass
class Silence:
    """One report: ``venue``, ``stream`` (the name), ``topic`` (as subscribed), ``silent_s`` (seconds since last
    heard or subscribed), ``bound_s`` (the bound it passed), ``heard`` (False: never heard since subscribed),
    ``since_ns`` (wall-clock ns of the silence's start), ``action``: ``resubscribe`` (it alone is silent: its
    connection flows), ``reconnect`` (every stream of its connection is silent), ``heard`` (heard again) or
    ``alive`` (a liquidation stream silent with its connection, whose streams flow again)."""

    venue: str
    stream: str
    topic: str
    silent_s: float
    bound_s: float
    heard: bool
    since_ns: int
    action: str
    #: ``resubscribe`` where the venue cannot re-subscribe one stream: why, the stream left subscribed as it is
    kept: str = ""

    def text(self) -> str:
        if self.action == "heard":
            return f"stream {self.venue} {self.stream} heard again after {self.silent_s:.0f} s of silence"
        if self.action == "alive":
            return (f"stream {self.venue} {self.stream} no longer silent: its connection's streams flow again after "
                    f"{self.silent_s:.0f} s")
        if self.action == "reconnect":
            return (f"stream {self.venue} {self.stream} is silent: nothing on its connection for {self.silent_s:.0f} s "
                    f"(bound {self.bound_s:.0f} s) where a stream normally flows; reconnecting its connection")
        what = ("never heard since it was subscribed" if not self.heard else
                f"silent for {self.silent_s:.0f} s (bound {self.bound_s:.0f} s from its observed rate)")
        if self.kept:
            return (f"stream {self.venue} {self.stream} is silent: {what}, while other streams flow; left subscribed "
                    f"as it is ({self.kept})")
        return f"stream {self.venue} {self.stream} is silent: {what}, while other streams flow; re-subscribed"


class StreamWatch:
    """Per-stream silence of one venue's connections (see the module docstring).

    ``silent_after_s``: the ``silent-after`` bound (0: off).  ``clock``: monotonic ns (injectable: tests move
    it).  ``on_silent(Silence)`` / ``on_heard(Silence)``: the reports.  ``resubscribe(conn_index, topic)`` and
    ``reconnect(conn_index)``: the actions (the feed manager's).  ``cannot_resubscribe``: why the venue cannot
    re-subscribe one stream ("" : it can): a stream silent alone is then reported and left subscribed as it is.
    ``last``: the dict the receive path writes (:func:`watch_handler`); ``handler_failures``: the frames the
    venue's handler failed on (:class:`HandlerFailures`, handed to :func:`watch_handler`)."""

    def __init__(self, venue: str, silent_after_s: float = DEFAULT_SILENT_AFTER_S, *,
                 clock: Callable[[], int] = time.monotonic_ns, on_silent=None, on_heard=None,
                 resubscribe=None, reconnect=None, cannot_resubscribe: str = ""):
        self.venue = venue
        self._venue_watch = _watch(venue)
        self.cannot_resubscribe = cannot_resubscribe
        self.handler_failures = HandlerFailures(venue)
        self.silent_after_s = float(silent_after_s)
        self.clock = clock
        self.on_silent = list(filter(None, [on_silent]))
        self.on_heard = list(filter(None, [on_heard]))
        self.resubscribe = resubscribe
        self.reconnect = reconnect
        #: the receive path's dict: frame key -> the receive time of its last frame
        self.last: dict = {}
        self._prev: dict = {}
        self._streams: dict[str, _Stream] = {}
        self._conns: dict[int, _Conn] = {}
        self._index: dict = {}  # frame key (topic_keys) -> [_Stream]
        self._cache: dict = {}  # frame key as received -> [_Stream] (resolved by _streams_of)
        self._all_market: list[_Stream] = []  # Binance !forceOrder@arr and the like: any frame of their event
        self._last_check_ns = 0
        self._venue_heard_ns = 0  # the last check in which any stream of the venue was heard
        self.reports = 0

    @property
    def enabled(self) -> bool:
        return self.silent_after_s > 0

    @property
    def tick_s(self) -> float:
        """Seconds between checks: a twentieth of the bound, at most 1 s."""
        return max(0.01, min(1.0, self.silent_after_s / 20.0))

    # ------------------------------------------------------------------ streams
    def track(self, conn: int, topics) -> None:
        """The ``topics`` (as the connection's spec holds them) of connection ``conn``; topics no longer held by
        it are forgotten (an unsubscribed stream is not silent)."""
        topics = list(topics)
        keep = set(topics)
        for t in [t for t, s in self._streams.items() if s.conn == conn and t not in keep]:
            self._forget(t)
        now = self.clock()
        self._conns.setdefault(conn, _Conn(subscribed_ns=now))
        for t in topics:
            if t in self._streams:
                continue
            s = _Stream(conn, t, stream_name(self.venue, t), is_liquidation_stream(self.venue, t), since_ns=now)
            s.all_market = self._venue_watch.all_market(t)
            s.keys = topic_keys(self.venue, t)
            self._streams[t] = s
            if s.all_market:
                self._all_market.append(s)
            for k in s.keys:
                self._index.setdefault(k, []).append(s)
        self._cache = {}

    def _forget(self, topic: str) -> None:
        s = self._streams.pop(topic)
        for k in s.keys:
            lst = self._index.get(k, [])
            if s in lst:
                lst.remove(s)
        if s in self._all_market:
            self._all_market.remove(s)
        self._cache = {}

    def subscribed(self, conn: int) -> None:
        """Connection ``conn`` (re)connected and subscribes its streams: their silence counts from now."""
        now = self.clock()
        self._conns.setdefault(conn, _Conn()).subscribed_ns = now
        for s in self._streams.values():
            if s.conn == conn:
                s.since_ns = now
                s.last_heard_ns = 0
                if s.silent:
                    s.silent_since_ns = s.silent_since_ns or now

    def silent_streams(self) -> list[dict]:
        """The streams silent now: ``[{"venue", "stream", "silent_s", "since_ns"}]``."""
        now = self.clock()
        return [{"venue": self.venue, "stream": s.name, "silent_s": (now - s.silent_since_ns) / NS}
                for s in self._streams.values() if s.silent]

    def names(self) -> list[str]:
        return [s.name for s in self._streams.values()]

    def heard_topics(self) -> set[str]:
        """The subscribed topics some frame was heard for (from the receive path's dict, now)."""
        return {s.topic for k in list(self.last) for s in self._streams_of(k)}

    # ------------------------------------------------------------------ the check
    def _streams_of(self, key) -> list:
        """The streams a frame key is heard by (resolved once per key)."""
        got = self._cache.get(key)
        if got is None:
            got = list(self._index.get(key, ()))
            for alias in self._venue_watch.key_aliases(key):  # (OKX: the arg object, normalised)
                got += self._index.get(alias, [])
            if self._venue_watch.hears_all_market(key):  # (Binance raw forceOrder: the all-market stream hears it)
                got += [s for s in self._all_market if s not in got]
            self._cache[key] = got
        return got

    def bound_s(self, s: _Stream, now: int) -> float | None:
        """The silence bound of stream ``s`` alone now (seconds), or None: not judged alone (a liquidation stream
        never is: a calm market sends none; one heard too rarely for its rate to bound its quiet)."""
        if s.liq:
            return None
        if s.heard_checks == 0:
            return self.silent_after_s
        return self._rate_bound(s)

    def _rate_bound(self, s: _Stream) -> float | None:
        """``max(FACTOR x its mean interval, silent_after / 6)`` when ``FACTOR x`` its mean interval is within
        ``silent_after``, else None (a stream heard once a minute has no 10 s bound)."""
        if s.liq or not s.heard_checks:
            return None
        sa = self.silent_after_s
        mean_s = max(s.watched_ns / NS, self.tick_s) / s.heard_checks
        return max(FACTOR * mean_s, sa / 6.0) if FACTOR * mean_s <= sa else None

    def _report(self, s: _Stream, out: list, quiet_ns: int, bound_s: float, action: str, wall: int) -> None:
        rep = Silence(self.venue, s.name, s.topic, quiet_ns / NS, bound_s, bool(s.last_heard_ns), wall - quiet_ns,
                      action, self.cannot_resubscribe if action == "resubscribe" else "")
        out.append(rep)
        for cb in (self.on_heard if action in ("heard", "alive") else self.on_silent):
            cb(rep)
        if action not in ("heard", "alive"):
            self.reports += 1

    def check(self, now: int | None = None) -> list[Silence]:
        """One check (call it every :attr:`tick_s`); returns the reports made (also handed to the callbacks)."""
        now = self.clock() if now is None else int(now)
        dt = now - self._last_check_ns if self._last_check_ns else 0
        self._last_check_ns = now
        last, prev = self.last, self._prev
        heard_now: set = set()
        if len(last) != len(prev) or last != prev:
            for k, v in list(last.items()):
                if prev.get(k) != v:
                    heard_now.update(map(id, self._streams_of(k)))
                    self._venue_heard_ns = now
            self._prev = dict(last)
        out: list[Silence] = []
        if not self.enabled:
            return out
        wall = time.time_ns()
        by_conn: dict[int, list[_Stream]] = {}
        for s in self._streams.values():
            by_conn.setdefault(s.conn, []).append(s)
            if dt > 0:
                s.watched_ns += dt
            if id(s) in heard_now:
                s.heard_checks += 1
                if s.silent:
                    s.silent, s.retry_s, s.actions = False, 0.0, 0
                    self._report(s, out, now - s.silent_since_ns, 0.0, "heard", wall)
                s.last_heard_ns = now
        sa_ns = int(self.silent_after_s * NS)
        for i, streams in by_conn.items():
            c = self._conns.setdefault(i, _Conn(subscribed_ns=now))
            heard_ns = max(s.last_heard_ns for s in streams)
            quiet_ns = now - max(heard_ns, c.subscribed_ns)
            if c.dead:
                if heard_ns == now:  # some stream of it heard now: alive again
                    c.dead, c.retry_s = False, 0.0
                    for s in streams:
                        if s.silent:  # (not heard itself: e.g. a calm liquidation stream, silent only with it)
                            s.silent, s.retry_s, s.actions = False, 0.0, 0
                            self._report(s, out, now - s.silent_since_ns, 0.0, "alive", wall)
                elif now >= c.next_action_ns:
                    self._reconnect(i, c, now, now - min((s.silent_since_ns for s in streams if s.silent), default=now))
                continue
            # dead: nothing on it for silent_after, where a stream normally flows >= FACTOR times in that time
            if quiet_ns >= sa_ns and any(self._rate_bound(s) is not None for s in streams):
                c.dead = True
                for s in streams:
                    if not s.silent:
                        s.silent, s.silent_since_ns, s.retry_s, s.actions = True, s.last_heard_ns or s.since_ns, 0.0, 0
                        self._report(s, out, now - s.silent_since_ns, self.silent_after_s, "reconnect", wall)
                self._reconnect(i, c, now, quiet_ns)
                continue
            for s in streams:
                self._judge(s, streams, now, out, wall)
        return out

    def _judge(self, s: _Stream, streams: list, now: int, out: list, wall: int) -> None:
        """Stream ``s`` alone, its connection alive: silent past its bound while another stream of its connection
        was heard within the bound; or never heard since subscribed while its venue flows (e.g. a stream the venue
        acknowledged on a path that does not carry it).  A heard stream that stops with every other stream of its
        connection is its connection's silence (the connection rule in :meth:`check`)."""
        if s.silent:
            if now >= s.next_action_ns:
                self._resubscribe(s, now, now - s.silent_since_ns)
            return
        start = s.last_heard_ns or s.since_ns
        quiet_ns = now - start
        b = self.bound_s(s, now)
        if b is None or quiet_ns < b * NS:
            return
        sib_ns = max((o.last_heard_ns for o in streams if o is not s), default=0)
        if not (sib_ns and now - sib_ns <= b * NS) and not (
                s.heard_checks == 0 and self._venue_heard_ns and now - self._venue_heard_ns <= b * NS):
            return  # its connection is quiet (or the whole venue): not this stream's silence
        s.silent, s.silent_since_ns = True, start
        self._report(s, out, quiet_ns, b, "resubscribe", wall)
        self._resubscribe(s, now, quiet_ns, first=True)

    def _resubscribe(self, s: _Stream, now: int, quiet_ns: int, first: bool = False) -> None:
        """Re-subscribe a stream silent alone (never a reconnect: its connection flows); again after a doubling
        wait (at most ``MAX_RETRY_S``)."""
        s.actions += 1
        s.retry_s = min(MAX_RETRY_S, (s.retry_s * 2) if s.retry_s else self.silent_after_s)
        s.next_action_ns = now + int(s.retry_s * NS)
        if self.resubscribe is None or self.cannot_resubscribe:
            return  # (reported: left subscribed as it is)
        try:
            self.resubscribe(s.conn, s.topic)
        except Exception as exc:  # one line (a traceback only at debug level): it is tried again after the wait
            log.warning("silent stream %s %s: the re-subscription failed: %s", self.venue, s.name,
                        " ".join(f"{type(exc).__name__}: {exc}".split()), exc_info=log.isEnabledFor(logging.DEBUG))
            return
        if not first:
            log.warning("stream %s %s still silent after %.0f s: re-subscribed", self.venue, s.name, quiet_ns / NS)
        s.since_ns = now  # (its own clock restarts; the silence's start is kept)

    def _reconnect(self, i: int, c: _Conn, now: int, quiet_ns: int) -> None:
        """Reconnect connection ``i``, all of whose streams are silent; again after a doubling wait."""
        again = bool(c.retry_s)
        c.retry_s = min(MAX_RETRY_S, (c.retry_s * 2) if c.retry_s else self.silent_after_s)
        c.next_action_ns = now + int(c.retry_s * NS)
        if self.reconnect is None:
            return
        try:
            if again:
                log.warning("%s connection %d: still nothing after %.0f s: reconnecting", self.venue, i, quiet_ns / NS)
            self.reconnect(i)
        except Exception:
            log.exception("%s connection %d: the reconnect failed", self.venue, i)

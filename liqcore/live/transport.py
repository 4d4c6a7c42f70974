"""Websocket transport for market-data feeds: one reconnecting connection per :class:`ConnectionSpec`.

The details: docs/maintainers/live-feeds.md, "Websocket transport for market-data feeds (liqcore.live.transport)".

May import: ``venues.spec``, ``secrets`` (an endpoint shown without its credentials).
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from typing import Callable

from liqcore.secrets import redact_text, redact_url
from liqcore.venues.spec import ConnectionSpec  # re-exported: the spec lives in the venue layer

#: the gap reason of a connection closed by our own stop (not a lost connection: no gap counted)
OWN_STOP = "stopped"

__all__ = ["ConnectionSpec", "WsConnection", "Coverage", "ConnectionStats", "check_feed_timing",
           "DEFAULT_PING_INTERVAL_S", "DEFAULT_STALL_TIMEOUT_S"]

log = logging.getLogger("liqcore.transport")
#: the "cannot connect ...; retrying in N s" notices (a child of the transport's logger: they go where its
#: records go, and a command that sends its log to a file can show these on stderr too)
connect_log = logging.getLogger("liqcore.transport.connect")

NS_PER_S = 1_000_000_000
HOUR_NS = 3600 * NS_PER_S
#: defaults of the ``ping-interval`` and ``stall-timeout`` parameters (seconds)
DEFAULT_PING_INTERVAL_S = 5.0
DEFAULT_STALL_TIMEOUT_S = 10.0


def connect_error_text(exc: BaseException, timeout_s: float) -> str:
    """Why a connect failed, in words: the exception's type and text (a timeout, whose text is empty,
    says how long it waited)."""
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)) and not str(exc):
        return f"{type(exc).__name__}: no websocket handshake within {timeout_s:g} s"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def check_feed_timing(ping_interval_s: float, stall_timeout_s: float) -> None:
    """ValueError naming the parameter unless 0 < ping-interval < stall-timeout (finite)."""
    import math

    for name, v in (("ping-interval", ping_interval_s), ("stall-timeout", stall_timeout_s)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise ValueError(f"{name}: must be a positive duration; got {v!r}")
    if stall_timeout_s <= ping_interval_s:
        raise ValueError(f"stall-timeout: must be longer than ping-interval ({stall_timeout_s:g}s <= "
                         f"{ping_interval_s:g}s), or a live but quiet feed would be dropped")


class Coverage:
    """Connected share of wall-clock time, overall and per UTC hour."""

    def __init__(self, start_ns: int | None = None):
        self.start_ns = time.time_ns() if start_ns is None else int(start_ns)
        self._intervals: list[list[int]] = []  # [up_ns, down_ns or -1]

    @property
    def connected(self) -> bool:
        return bool(self._intervals) and self._intervals[-1][1] < 0

    def up(self, ts_ns: int | None = None) -> None:
        if not self.connected:
            self._intervals.append([time.time_ns() if ts_ns is None else int(ts_ns), -1])

    def down(self, ts_ns: int | None = None) -> None:
        if self.connected:
            self._intervals[-1][1] = time.time_ns() if ts_ns is None else int(ts_ns)

    def _connected_ns(self, a: int, b: int) -> int:
        total = 0
        for up, down in self._intervals:
            lo = max(a, up)
            hi = min(b, down if down >= 0 else b)
            if hi > lo:
                total += hi - lo
        return total

    def share(self, now_ns: int | None = None) -> float:
        now = time.time_ns() if now_ns is None else int(now_ns)
        span = now - self.start_ns
        return self._connected_ns(self.start_ns, now) / span if span > 0 else (1.0 if self.connected else 0.0)

    def by_hour(self, now_ns: int | None = None) -> dict[int, float]:
        """{UTC hour start ns: connected share of the observed part of that hour}."""
        now = time.time_ns() if now_ns is None else int(now_ns)
        out: dict[int, float] = {}
        h = self.start_ns - self.start_ns % HOUR_NS
        while h < now:
            a, b = max(h, self.start_ns), min(h + HOUR_NS, now)
            if b > a:
                out[h] = self._connected_ns(a, b) / (b - a)
            h += HOUR_NS
        return out


@dataclass
class ConnectionStats:
    connects: int = 0
    disconnects: int = 0
    connect_failures: int = 0
    frames: int = 0
    bytes: int = 0
    pings_sent: int = 0
    pongs: int = 0
    watchdog_kills: int = 0  # sockets replaced because nothing arrived for stall_timeout_s
    callback_errors: int = 0
    last_rx_ns: int = 0
    last_reason: str = ""
    last_error: str = ""  # the last failed connect: exception type and text


def _picows():
    import picows

    return picows


class WsConnection:
    """A reconnecting websocket connection (see the module docstring).

    ``on_frame(payload: bytes, recv_ns: int)`` is called synchronously from the receive path; it must
    not block. ``on_gap(reason: str, ts_ns: int)`` is called once per lost connection, with ``ts_ns`` the
    start of the blind time (for a stall: the last frame received). ``on_state(connected: bool)`` is
    optional.
    """

    def __init__(
        self,
        spec: ConnectionSpec,
        on_frame: Callable[[bytes, int], None],
        on_gap: Callable[[str, int], None] | None = None,
        on_state: Callable[[bool], None] | None = None,
        *,
        ping_interval_s: float = DEFAULT_PING_INTERVAL_S,
        stall_timeout_s: float = DEFAULT_STALL_TIMEOUT_S,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        jitter: float = 0.25,
        connect_timeout_s: float = 10.0,
        rng: random.Random | None = None,
    ):
        check_feed_timing(ping_interval_s, stall_timeout_s)
        if backoff_initial_s <= 0 or backoff_max_s < backoff_initial_s:
            raise ValueError("backoff_initial_s/backoff_max_s: need 0 < initial <= max")
        self.spec = spec
        self.on_frame = on_frame
        self.on_gap = on_gap
        self.on_state = on_state
        self.ping_interval_s = float(ping_interval_s)
        self.stall_timeout_s = float(stall_timeout_s)
        self.backoff_initial_s = float(backoff_initial_s)
        self.backoff_max_s = float(backoff_max_s)
        self.jitter = float(jitter)
        self.connect_timeout_s = float(connect_timeout_s)
        self.rng = rng or random.Random()
        self.stats = ConnectionStats()
        self.coverage = Coverage()
        self._transport = None
        self._stop = False
        self._task: asyncio.Task | None = None
        self._connected_evt: asyncio.Event | None = None
        self._last_rx = 0.0  # monotonic seconds of the last inbound frame of this session
        self._last_rx_ns = 0  # the same instant in wall-clock ns
        self._fragments: list[bytes] = []
        self._kill_reason = ""
        #: the URL the current (or last) socket asked for: the spec's URL when its connect began (a combined-stream
        #: URL changed while that connect was in flight is not the one the venue serves)
        self.url_in_use = spec.url

    # ------------------------------------------------------------------ public
    @property
    def connected(self) -> bool:
        return self._transport is not None

    def start(self) -> asyncio.Task:
        """Run :meth:`run` as a task on the running loop."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name=f"ws-{self.spec.venue}")
        return self._task

    async def wait_connected(self, timeout: float | None = None) -> None:
        if self._connected_evt is None:
            self._connected_evt = asyncio.Event()
        if self.connected:
            return
        await asyncio.wait_for(self._connected_evt.wait(), timeout)

    async def stop(self) -> None:
        self._stop = True
        t = self._transport
        if t is not None:
            try:
                t.send_close()
            except Exception:
                pass
            t.disconnect()
        task = self._task
        if task is not None:
            # bounded: a cancel that lands as a connect completes can be let pass by the connect's wait_for,
            # so the socket it made is closed and the task cancelled again until it ends
            for _ in range(50):
                task.cancel()
                done, _pending = await asyncio.wait({task}, timeout=0.2)
                if done:
                    break
                t = self._transport
                if t is not None:
                    t.disconnect()
            if task.done() and not task.cancelled():
                task.exception()  # (retrieved: an error of the last session is not reported at exit)

    def send(self, payload: bytes | str) -> bool:
        t = self._transport
        if t is None:
            return False
        pw = _picows()
        t.send(pw.WSMsgType.TEXT, payload.encode() if isinstance(payload, str) else payload)
        return True

    def drop(self, reason: str = "manual") -> None:
        """Tear the current socket down (it reconnects); used by the watchdog and by tests."""
        t = self._transport
        if t is not None:
            self._kill_reason = reason
            t.disconnect()

    def backoff_delay(self, attempt: int) -> float:
        base = min(self.backoff_max_s, self.backoff_initial_s * (2 ** min(attempt, 30)))
        return max(0.0, base * (1.0 + self.jitter * self.rng.uniform(-1.0, 1.0)))

    # ------------------------------------------------------------------ internals
    def _send_ping(self) -> None:
        t = self._transport
        if t is None:
            return
        if self.spec.ping_payload is None:
            t.send_ping()
        else:
            t.send(_picows().WSMsgType.TEXT, self.spec.ping_payload)
        self.stats.pings_sent += 1

    def _make_listener(self, disconnected: asyncio.Event):
        pw = _picows()
        conn = self
        TEXT, BINARY, CONT, PONG, CLOSE = (pw.WSMsgType.TEXT, pw.WSMsgType.BINARY, pw.WSMsgType.CONTINUATION,
                                           pw.WSMsgType.PONG, pw.WSMsgType.CLOSE)
        is_pong = self.spec.is_pong
        stats = self.stats

        class _Listener(pw.WSListener):
            def on_ws_frame(self, transport, frame):
                now_ns = time.time_ns()
                conn._last_rx = time.monotonic()
                conn._last_rx_ns = now_ns
                stats.last_rx_ns = now_ns
                mt = frame.msg_type
                if mt == TEXT or mt == BINARY or mt == CONT:
                    if not frame.fin:
                        conn._fragments.append(frame.get_payload_as_bytes())
                        return
                    payload = frame.get_payload_as_bytes()
                    if conn._fragments:
                        conn._fragments.append(payload)
                        payload = b"".join(conn._fragments)
                        conn._fragments.clear()
                    if is_pong is not None and is_pong(payload):
                        stats.pongs += 1
                        return
                    stats.frames += 1
                    stats.bytes += len(payload)
                    try:
                        conn.on_frame(payload, now_ns)
                    except Exception:  # a consumer bug must not kill the socket
                        stats.callback_errors += 1
                        log.exception("on_frame callback failed")
                elif mt == PONG:
                    stats.pongs += 1
                elif mt == CLOSE:
                    conn._kill_reason = conn._kill_reason or f"close:{frame.get_close_code()}"
                    try:
                        transport.send_close(frame.get_close_code())
                    except Exception:
                        pass
                    transport.disconnect()

            def on_ws_disconnected(self, transport):
                disconnected.set()

        return _Listener

    @property
    def heartbeat_s(self) -> float:
        """Seconds between heartbeats: ``ping_interval_s``, or the venue's own interval if that is shorter."""
        venue = self.spec.ping_interval_s
        return min(self.ping_interval_s, venue) if venue else self.ping_interval_s

    async def _watchdog(self, disconnected: asyncio.Event) -> None:
        """Heartbeat every :attr:`heartbeat_s`; replace the socket once nothing at all arrived for
        ``stall_timeout_s``.  Sleeps until the next deadline (no polling)."""
        interval = self.heartbeat_s
        next_ping = time.monotonic() + interval
        while not disconnected.is_set():
            now = time.monotonic()
            if now >= next_ping:
                self._send_ping()
                next_ping = now + interval
            deadline = self._last_rx + self.stall_timeout_s
            if now >= deadline:
                self.stats.watchdog_kills += 1
                log.warning("%s: nothing received for %.1fs (stalled), reconnecting", self.spec.venue,
                            now - self._last_rx)
                self.drop("stale")
                return
            await asyncio.sleep(max(0.001, min(next_ping, deadline) - now))

    async def _session(self) -> str:
        """One connection lifetime; returns the disconnect reason."""
        pw = _picows()
        disconnected = asyncio.Event()
        listener_cls = self._make_listener(disconnected)
        ssl_ctx = None
        url = self.spec.url
        if url.startswith("wss://"):
            import ssl

            ssl_ctx = ssl.create_default_context()
        transport, _ = await asyncio.wait_for(
            pw.ws_connect(listener_cls, url, ssl_context=ssl_ctx, enable_auto_pong=True,
                          websocket_handshake_timeout=self.connect_timeout_s,
                          extra_headers=self.spec.headers or None),
            self.connect_timeout_s,
        )
        if self._stop:  # stopped while it connected (a cancel the connect's wait_for let pass): not used
            transport.disconnect()
            raise asyncio.CancelledError()
        self._transport = transport
        self.url_in_use = url
        self._fragments.clear()
        self._kill_reason = ""
        self._last_rx = time.monotonic()
        self._last_rx_ns = time.time_ns()
        self.stats.connects += 1
        self.coverage.up(self._last_rx_ns)
        if self._connected_evt is None:
            self._connected_evt = asyncio.Event()
        self._connected_evt.set()
        if self.on_state:
            self.on_state(True)
        wd = asyncio.get_running_loop().create_task(self._watchdog(disconnected))
        try:
            for i, msg in enumerate(self.spec.subscribe):
                if disconnected.is_set():
                    break
                if i and self.spec.send_interval_s:
                    await asyncio.sleep(self.spec.send_interval_s)
                transport.send(pw.WSMsgType.TEXT, msg)
            await disconnected.wait()
        finally:
            wd.cancel()
            self._transport = None
            self._connected_evt.clear()
            if not disconnected.is_set():
                transport.disconnect()
        return self._kill_reason or "closed"

    async def run(self) -> None:
        """Connect, receive, reconnect until :meth:`stop`."""
        attempt = 0
        while not self._stop:
            t0 = time.monotonic()
            reason = why = ""
            was_up = False
            try:
                reason = await self._session()
                was_up = True
            except asyncio.CancelledError:
                if self.connected or self.coverage.connected:
                    self._mark_down(OWN_STOP)
                raise
            except Exception as exc:  # refused, handshake failure, DNS, timeout
                self.stats.connect_failures += 1
                why = self.stats.last_error = connect_error_text(exc, self.connect_timeout_s)
                reason = f"connect:{type(exc).__name__}"
            if was_up:
                self._mark_down(reason)
            if self._stop:
                break
            if was_up and time.monotonic() - t0 > max(5.0, self.backoff_initial_s * 4):
                attempt = 0  # it stayed up: start the backoff over
            delay = self.backoff_delay(attempt)
            attempt += 1
            if not was_up:  # once per backoff step: that it cannot connect, why, and when it tries again
                connect_log.warning("%s feed cannot connect to %s: %s (attempt %d); retrying in %.1f s",
                                    self.spec.venue, redact_url(self.spec.url), redact_text(why), attempt, delay)
            await asyncio.sleep(delay)

    def _mark_down(self, reason: str) -> None:
        now = time.time_ns()
        if reason == "stale" and self._last_rx_ns:
            # blind since the last frame received, not since the watchdog noticed
            now = min(now, self._last_rx_ns)
        self.stats.disconnects += 1
        self.stats.last_reason = reason
        self.coverage.down(now)
        if self.on_state:
            try:
                self.on_state(False)
            except Exception:
                log.exception("on_state callback failed")
        if self.on_gap is not None:
            try:
                self.on_gap(reason, now)
            except Exception:
                self.stats.callback_errors += 1
                log.exception("on_gap callback failed")

"""The venue's clock, as the clock guard sees it.

The details: docs/maintainers/live-feeds.md, "The venue's clock, as the clock guard sees it (liqcore.live.venueclock)".

May import: the standard library.
"""
from __future__ import annotations

import logging

__all__ = ["VenueClock", "HOLD_MARGIN_NS"]

log = logging.getLogger("liqcore.engine")

#: how far beyond the clock guard's bound an event may be stamped and still be held for a new measurement
#: of the venue's clock (a jump of up to this much loses no event); the decoders drop what lies beyond
HOLD_MARGIN_NS = 60_000_000_000


class VenueClock:
    """The clock guard's venue clock (see the module docstring).

    Given at construction (never rebound): ``params``, ``gateway`` (its ``clock_offset_ms`` and
    ``sync_clock``), ``paper``, ``health`` (the alarms), ``decoders`` (the engine's decoders by venue: their
    own guard's bound follows the offset), ``rejects`` (the engine's reject counts) and ``orders`` (its loop
    and whether it is stopping).

    Calls back: nothing (it raises and clears the ``clock_offset`` and ``future_events`` alarms on
    ``health``).

    Exposes: ``offset_ns`` (the venue's clock minus the local clock), ``skew_ns`` (the guard's bound on
    ts_event - ts_recv), ``alarm_after_s``, ``source`` (paper trading: an async callable giving the venue's
    clock offset in ms); :meth:`set_offset`, :meth:`check` (the wall clock's tick), :meth:`sync`."""

    def __init__(self, params, gateway, paper: bool, health, decoders: dict, rejects: dict, orders):
        self.params = params
        self.gateway = gateway
        self.paper = paper
        self.health = health
        self.decoders = decoders
        self.rejects = rejects
        self.orders = orders
        #: the venue's clock minus the local clock (ns), as the gateway measured it for signing
        self.offset_ns = 0
        self.skew_ns = params.max_clock_skew_ns  # the clock guard's bound on ts_event - ts_recv
        #: seconds of events rejected as stamped in the future before that is an alarm
        self.alarm_after_s = 2.0
        self._future = [0, 0, 0]  # rejected so far, first and latest wall time (ns) of the current spell
        self._sync: dict = {"task": None, "at": 0}
        #: paper trading: an async callable giving the venue's clock offset in ms (e.g. from its public time
        #: endpoint), asked at start and when events look stamped in the future; a venue gateway's own
        #: measurement (``clock_offset_ms`` / ``sync_clock``) is used instead when there is one
        self.source = None
        #: seconds events stamped past the bound are held for a new measurement before they are judged anyway
        self.hold_s = 3.0
        #: called (no arguments) after each new offset: the engine judges its held events again
        self.on_offset = None
        self.held: list = []  # the events held past the bound, in arrival order (EVENT_DTYPE-ordered tuples)
        self.held_since = 0  # wall time (ns) the first of them was held

    def hold(self, row, now_ns: int) -> None:
        """Hold an event stamped past the bound and ask for the venue's clock at once."""
        if not self.held:
            self.held_since = now_ns
        self.held.append(row)
        self.sync(now_ns)

    def take_held(self) -> list:
        """The held events (to be judged again), no longer held."""
        rows, self.held, self.held_since = self.held, [], 0
        return rows

    def hold_expired(self, now_ns: int) -> bool:
        """Events were held for :attr:`hold_s` without a new measurement: judge them as the clock stands."""
        return bool(self.held) and now_ns - self.held_since > self.hold_s * 1e9

    @property
    def can_hold(self) -> bool:
        """Whether the venue's clock can be measured again here (events past the bound are then held)."""
        return (self.source if self.paper else getattr(self.gateway, "sync_clock", None)) is not None

    @property
    def decoder_skew_ns(self) -> int:
        """The decoders' own bound: the guard's, plus :data:`HOLD_MARGIN_NS` where events are held."""
        return self.skew_ns + HOLD_MARGIN_NS if self.can_hold else self.skew_ns

    def set_offset(self, offset_ns: int) -> None:
        """The venue's clock minus the local clock (ns): the clock guard judges event times against the
        venue's clock from now on; an offset beyond ``max_clock_skew`` is an alarm (the local clock is off)."""
        offset_ns = int(offset_ns)
        limit = self.params.max_clock_skew_ns
        self.offset_ns = offset_ns
        self.skew_ns = limit + offset_ns
        for d in {id(d): d for d in self.decoders.values()}.values():
            d.max_clock_skew_ns = self.decoder_skew_ns
        if abs(offset_ns) > limit:
            self.health.alarm("clock_offset", f"local clock {abs(offset_ns) / 1e9:.1f} s "
                              f"{'behind' if offset_ns > 0 else 'ahead of'} the venue's (limit max-clock-skew "
                              f"{limit / 1e9:g} s): event times are judged against the venue's clock; set the "
                              f"system clock right (NTP)")
        else:
            self.health.clear_alarm("clock_offset", f"local clock within {limit / 1e9:g} s of the venue's "
                                    f"({offset_ns / 1e6:+.0f} ms)")
        if self.on_offset is not None:
            self.on_offset()

    def _future_rejected(self) -> int:
        n = self.rejects.get("future_time", 0)
        for d in {id(d): d for d in self.decoders.values()}.values():
            n += d.counters.get("future_time", 0)
        return n

    def check(self, now: int) -> None:
        """The wall clock's tick: take up an offset the gateway re-measured (it does after a timestamp
        rejection), and when events are being rejected as stamped in the future, re-measure the venue's clock
        (at most once a second) and raise an alarm once that goes on for ``alarm_after_s``."""
        off = self.gateway.clock_offset_ms
        if isinstance(off, int) and off * 1_000_000 != self.offset_ns:
            self.set_offset(off * 1_000_000)
        f = self._future
        n = self._future_rejected()
        if n > f[0]:
            f[0] = n
            if not f[1]:
                f[1] = now
            f[2] = now
            self.sync(now)
            span = (now - f[1]) / 1e9
            if span >= self.alarm_after_s:
                self.health.alarm("future_events", f"events stamped more than max-clock-skew "
                                  f"{self.params.max_clock_skew_ns / 1e9:g} s ahead of the venue's clock keep arriving "
                                  f"(for {self.alarm_after_s:g} s and more; counted as future_time rejects): they "
                                  f"are dropped, so no cascade can confirm; check the system clock (NTP) and the feed")
        elif f[1] and now - f[2] > 5 * max(self.alarm_after_s, 1.0) * 1e9:
            f[1] = f[2] = 0
            self.health.clear_alarm("future_events", "no event stamped in the future since")

    def sync(self, now: int) -> None:
        """Measure the venue's clock again, in a task on the order manager's loop (at most once a second)."""
        sync = self.source if self.paper else self.gateway.sync_clock
        st = self._sync
        if sync is None or (st["task"] is not None and not st["task"].done()) or now - st["at"] < 1_000_000_000:
            return
        st["at"] = now
        if self.orders.stopping or self.orders.closing:
            return

        async def resync():
            try:
                off = await sync()
            except Exception as exc:  # (a venue that cannot be asked now: the next rejection asks again)
                log.warning("venue clock not measured: %s", str(exc) or type(exc).__name__)
                return
            if off is None:  # (a gateway that cannot measure the venue's clock)
                return
            self.set_offset(int(off) * 1_000_000)

        loop = self.orders.loop
        if loop is None or loop.is_closed():
            return
        st["task"] = loop.create_task(resync())  # (not one of the order tasks shutdown drains)

"""One governor per venue and host: the request weight every REST caller of that host spends, the waits the
venue asks for (``Retry-After``, reset headers) and its bans, shared by every caller in the process.

Every REST client of a venue (orders, queries, account, listenKey, depth snapshots, instrument lists) asks
:func:`governor_for` for the governor of its (venue, host) and, around each request:

* ``await gov.acquire(weight, what)`` before sending: waits while the host's weight window is full or the venue
  asked every caller to wait (a 429's ``Retry-After``), and raises :class:`VenueBanned` at once while the host
  bans this IP: nothing is sent into a known ban (sending would lengthen it);
* ``gov.observe(status, headers)`` after the answer: the venue's own count of the weight used (Binance's
  ``X-MBX-USED-WEIGHT-1M``), a wait it asks for (``Retry-After``), and, for the statuses the venue documents as
  a ban, :meth:`Governor.ban` for the ban's length.

A ban stops every caller to that host until it ends (each caller gets :class:`VenueBanned` naming the time it
ends), is said once in one line on the ``liqcore.governor`` logger (``binance: IP banned by fapi.binance.com
until 2026-11-26T07:50:00Z (HTTP 418, Retry-After 600 s): no request to it until then``), and is exported by
:func:`governor_metrics` (``liqcore_venue_banned``, ``liqcore_venue_ban_seconds_left``, ``liqcore_venue_bans_total``,
``liqcore_venue_rate_waits_total``).  The callers decide what a ban means for them: the order path does not
send (a signal that arrives during a ban is skipped, and said), a query of an order whose outcome is unknown
waits for the ban's end (:meth:`Governor.ban_left`) and asks again.

Which statuses and codes mean a ban, a rate limit, a refusal or an unknown outcome is each venue's own
knowledge (``liqcore.venues.<venue>.codes``, each entry naming the document it follows); the governor only
keeps time.
"""
from __future__ import annotations

import asyncio
import email.utils
import logging
import re
import threading
import time
from collections import deque
from urllib.parse import urlsplit

__all__ = ["Governor", "VenueBanned", "governor_for", "governors", "governor_metrics", "reset_governors",
           "retry_after_seconds", "header_number", "host_of"]

log = logging.getLogger("liqcore.governor")

#: the longest a caller waits inside :meth:`Governor.acquire` for a weight window or a venue-asked pause
#: before it is told (:class:`VenueBanned` for a ban; a pause longer than this is treated as one)
MAX_WAIT_S = 60.0


def _iso(wall_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall_s))


class VenueBanned(Exception):
    """The host bans this IP (or asked every caller to wait longer than :data:`MAX_WAIT_S`) until ``until``
    (wall-clock epoch seconds): nothing was sent."""

    def __init__(self, venue: str, host: str, until: float, reason: str) -> None:
        self.venue, self.host, self.until, self.reason = venue, host, float(until), reason
        super().__init__(f"{venue}: IP banned by {host} until {_iso(until)} ({reason})")

    @property
    def seconds_left(self) -> float:
        return max(0.0, self.until - time.time())


#: the longest wait a venue's header is taken at (a week: the longest ban a venue documents is days; a header
#: asking for more, a typo or a hostile proxy, would otherwise stop every caller for years)
MAX_HEADER_WAIT_S = 7 * 86400.0
_HEADER_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def header_number(value) -> float | None:
    """A number an HTTP header carries: ASCII digits, a decimal fraction allowed (RFC 9110's delay-seconds is
    ``1*DIGIT``; the venues' weight and reset headers are integers), surrounding blanks ignored; None when absent
    or anything else (a sign, an exponent, ``inf``, ``nan``, digits grouped as ``1_000``: Python's ``float()``
    takes all of these)."""
    if value is None:
        return None
    v = str(value).strip()
    return float(v) if _HEADER_NUMBER.fullmatch(v) else None


def retry_after_seconds(value, now: float | None = None) -> float | None:
    """A ``Retry-After`` header's wait in seconds (RFC 9110 section 10.2.3: delay-seconds or an HTTP-date), or
    None when absent or unreadable (:func:`header_number`).  Never negative, at most :data:`MAX_HEADER_WAIT_S`."""
    if value is None:
        return None
    v = str(value).strip()
    if not v:
        return None
    secs = header_number(v)
    if secs is None:
        try:
            dt = email.utils.parsedate_to_datetime(v)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if dt is None:
            return None
        secs = dt.timestamp() - (time.time() if now is None else now)
    return min(max(0.0, secs), MAX_HEADER_WAIT_S)


def host_of(base_url: str) -> str:
    """The host (with its port) a REST base URL names: the key of its governor."""
    parts = urlsplit(base_url if "://" in base_url else f"https://{base_url}")
    return parts.netloc or base_url


class Governor:
    """The request budget and bans of one (venue, host).

    ``limit`` units of weight in any ``window_s`` seconds (None: no local accounting; the venue's answers still
    pause and ban).  ``clock`` is monotonic seconds, ``wall`` epoch seconds (both replaceable in tests)."""

    def __init__(self, venue: str, host: str, *, limit: float | None = None, window_s: float = 60.0,
                 clock=time.monotonic, wall=time.time) -> None:
        self.venue, self.host = venue, host
        self.limit, self.window_s = limit, float(window_s)
        self.clock, self.wall = clock, wall
        self._spent: deque[tuple[float, float]] = deque()  # (monotonic time, weight)
        self._spent_sum = 0.0
        self.venue_used = 0.0          # the venue's own count of the window's weight (a header), when it says one
        self.paused_until = 0.0        # monotonic: every caller waits until then (a 429's Retry-After)
        self.banned_until = 0.0        # monotonic: every caller is refused until then
        self.banned_until_wall = 0.0   # the same instant on the wall clock (what is said)
        self.ban_reason = ""
        self.bans = 0
        self.rate_waits = 0
        self.requests = 0

    # ---------------------------------------------------------------- state
    def ban_left(self) -> float:
        """Seconds until the host's ban ends (0.0: not banned)."""
        return max(0.0, self.banned_until - self.clock())

    @property
    def banned(self) -> bool:
        return self.ban_left() > 0.0

    def check(self) -> None:
        """Raise :class:`VenueBanned` while the host bans this IP (synchronous: the order fast lane's test)."""
        if self.banned:
            raise VenueBanned(self.venue, self.host, self.banned_until_wall, self.ban_reason)

    def used(self) -> float:
        """The weight spent in the current window (ours, or the venue's own count when it is higher)."""
        self._expire()
        return max(self._spent_sum, self.venue_used)

    def _expire(self) -> None:
        cutoff = self.clock() - self.window_s
        while self._spent and self._spent[0][0] <= cutoff:
            self._spent_sum -= self._spent.popleft()[1]
        if not self._spent:
            self._spent_sum = 0.0
            self.venue_used = 0.0

    def _window_wait(self, weight: float) -> float:
        if self.limit is None:
            return 0.0
        self._expire()
        if max(self._spent_sum, self.venue_used) + weight <= self.limit or not self._spent:
            return 0.0
        # the oldest spending leaves the window first: wait until enough of it has left
        need = max(self._spent_sum, self.venue_used) + weight - self.limit
        freed, now = 0.0, self.clock()
        for t, w in self._spent:
            freed += w
            if freed >= need:
                return max(0.0, t + self.window_s - now)
        return max(0.0, self._spent[-1][0] + self.window_s - now)

    # ---------------------------------------------------------------- callers
    async def acquire(self, weight: float = 1.0, what: str = "") -> None:
        """Wait for room in the window and for any pause the venue asked for; raise :class:`VenueBanned` while
        the host bans this IP, or when the wait would be longer than :data:`MAX_WAIT_S`."""
        while True:
            self.check()
            now = self.clock()
            wait = max(self.paused_until - now, self._window_wait(weight))
            if wait <= 0.0:
                break
            if wait > MAX_WAIT_S:
                raise VenueBanned(self.venue, self.host, self.wall() + wait,
                                  f"rate limited: a wait of {wait:.0f} s asked before {what or 'a request'}")
            self.rate_waits += 1
            await asyncio.sleep(wait)
        self.requests += 1
        self._spent.append((self.clock(), float(weight)))
        self._spent_sum += float(weight)

    def observe(self, status: int, headers=None, *, ban_statuses: tuple[int, ...] = (), pause_statuses=(429,),
                used_header: str | None = None, min_ban_s: float = 0.0, default_pause_s: float = 1.0) -> float:
        """Read one answer: the venue's used weight (``used_header``), a pause for ``pause_statuses`` and a ban for
        ``ban_statuses`` for ``Retry-After`` seconds (at least ``min_ban_s``: the venue documents a minimum, or says
        no length).  Returns the wait it imposed (0.0: none)."""
        headers = headers or {}
        if used_header:
            v = headers.get(used_header)
            if v is not None:
                used = header_number(v)
                if used is not None:
                    self.venue_used = used
        ra = retry_after_seconds(headers.get("Retry-After"), self.wall())
        if status in ban_statuses:
            secs = max(ra or 0.0, min_ban_s)
            self.ban(secs, f"HTTP {status}" + (f", Retry-After {ra:.0f} s" if ra is not None else ""))
            return secs
        if status in pause_statuses:
            secs = ra if ra is not None else default_pause_s
            self.pause(secs, f"HTTP {status}")
            return secs
        return 0.0

    def pause(self, seconds: float, reason: str = "") -> None:
        """The venue asked every caller to wait ``seconds`` (a rate limit): :meth:`acquire` waits until then."""
        until = self.clock() + max(0.0, float(seconds))
        if until > self.paused_until:
            self.paused_until = until
            log.warning("%s: rate limited by %s (%s): every request to it waits %.1f s", self.venue, self.host,
                        reason or "the venue asked", seconds)

    def ban(self, seconds: float, reason: str) -> None:
        """The host bans this IP for ``seconds``: every caller stops until then; said once in one line."""
        seconds = max(0.0, float(seconds))
        until = self.clock() + seconds
        if until <= self.banned_until:
            return  # (a caller that saw the same ban later: already said)
        fresh = not self.banned
        self.banned_until, self.banned_until_wall, self.ban_reason = until, self.wall() + seconds, reason
        if fresh:
            self.bans += 1
        log.error("%s: IP banned by %s until %s (%s): no request to it until then", self.venue, self.host,
                  _iso(self.banned_until_wall), reason)

    async def wait_ban(self, limit_s: float | None = None) -> bool:
        """Sleep until the ban ends (at most ``limit_s``); True when no ban is left."""
        left = self.ban_left()
        if left <= 0.0:
            return True
        await asyncio.sleep(left if limit_s is None else min(left, limit_s))
        return not self.banned


_GOVERNORS: dict[tuple[str, str], Governor] = {}
_LOCK = threading.Lock()


def governor_for(venue: str, base_url: str, **limits) -> Governor:
    """The process's governor of (``venue``, the host of ``base_url``), made on first use with ``limits``
    (``limit``, ``window_s``); later calls return the same one (their ``limits`` set it when it has none)."""
    key = (venue, host_of(base_url))
    with _LOCK:
        gov = _GOVERNORS.get(key)
        if gov is None:
            gov = _GOVERNORS[key] = Governor(venue, key[1], **limits)
        elif gov.limit is None and limits.get("limit") is not None:
            gov.limit = limits["limit"]
            gov.window_s = float(limits.get("window_s", gov.window_s))
        return gov


def governors() -> list[Governor]:
    """Every governor of the process."""
    with _LOCK:
        return list(_GOVERNORS.values())


def reset_governors() -> None:
    """Forget every governor (a new run in the same process, or a test)."""
    with _LOCK:
        _GOVERNORS.clear()


def governor_metrics(metrics) -> None:
    """A :class:`liqcore.live.metrics.Metrics` collector: each governor's ban, its seconds left, its bans and
    rate-limit waits, labelled by venue and host."""
    for g in governors():
        lab = {"venue": g.venue, "host": g.host}
        left = g.ban_left()
        metrics.set("liqcore_venue_banned", 1.0 if left > 0 else 0.0, **lab)
        metrics.set("liqcore_venue_ban_seconds_left", round(left, 3), **lab)
        metrics.set_counter("liqcore_venue_bans_total", g.bans, **lab)
        metrics.set_counter("liqcore_venue_rate_waits_total", g.rate_waits, **lab)
        metrics.set("liqcore_venue_weight_used", g.used(), **lab)

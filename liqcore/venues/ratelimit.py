"""Asynchronous request rate limiters (they wait with ``asyncio.sleep``; they never block the loop).

A venue counts a request in its window when the request ARRIVES (Bybit v5 "Rate Limit Rules": a rolling
window per second and UID, ``retCode`` 10006 past it; Binance USD-M: orders counted per 10 s and per minute,
HTTP 429 ``-1015`` past it; OKX v5: ``POST /api/v5/trade/order`` 60 requests per 2 s per user and instrument,
``50011`` past it).  We never know when a request arrives; we know it arrived after we sent it and before its
answer came back.  So :class:`SlidingWindowLimiter` holds a request's slot from its send until its answer
(:meth:`SlidingWindowLimiter.release`) and then for one more window: a request sent when a slot is free
arrives a whole window after every earlier request it could share a window with, however late those arrived
(a burst sent in second N whose requests reached the venue late can no longer share a window with second N+1's).
A token bucket of capacity 10 refilled at 10/s lets 20 requests into one second (a full bucket plus the
refill), so venue requests go through :class:`SlidingWindowLimiter`; :class:`TokenBucket` is kept for smooth
pacing (capacity 1 = even spacing).  Both serve waiters first come, first served and can be cancelled while
waiting.
"""
from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import math
import time
from collections import deque

__all__ = ["SlidingWindowLimiter", "TokenBucket"]

log = logging.getLogger("liqcore.ratelimit")


class SlidingWindowLimiter:
    """At most ``max_calls`` requests in flight or answered within the last ``period + margin`` seconds.

    A slot is taken by :meth:`acquire` (or :meth:`try_acquire`) just before the request is sent and is IN FLIGHT
    until :meth:`release` (its answer came, or it failed: call it in a ``finally``); it is then counted for one
    window from the release.  ``async with limiter.slot():`` around the send and the read does both.

    A slot :meth:`acquire` took belongs to the task that took it: :meth:`release` frees the calling task's slot
    (else one :meth:`try_acquire` took, which belongs to no task).  A task waits for one request at a time, so a
    caller that never releases still counts right, only longer: its slot is released when the same task takes
    its next slot of this limiter, or ends (both after the answer was read).  A slot held ``max_hold_s`` seconds
    is counted as answered then, said once on the ``liqcore.ratelimit`` logger."""

    def __init__(self, max_calls: int = 10, period: float = 1.0, margin: float = 0.05, clock=time.monotonic,
                 max_hold_s: float = 60.0) -> None:
        if max_calls < 1:
            raise ValueError("max_calls must be >= 1")
        if period <= 0:
            raise ValueError("period must be > 0")
        if margin < 0:
            raise ValueError("margin must be >= 0")
        if max_hold_s <= 0:
            raise ValueError("max_hold_s must be > 0")
        self.max_calls = int(max_calls)
        self.window = float(period) + float(margin)
        self.max_hold_s = float(max_hold_s)
        self._clock = clock
        self._stamps: deque[float] = deque()  # the answer times of the answered slots still counted (sorted)
        self._flying: deque[float] = deque()  # the send times of the slots in flight (oldest first)
        self._freed = asyncio.Event()  # set by release(): a waiter for an in-flight slot looks again
        self._lock = asyncio.Lock()
        self._queued = 0  # acquire() calls in progress (try_acquire never overtakes them)
        self.waited = 0  # acquisitions that had to wait
        self.acquired = 0
        self.released = 0
        self.overheld = 0  # slots never released, counted as answered after max_hold_s
        self._owed = 0  # releases still to come for those slots (they free nothing more)
        self._owned: dict[asyncio.Task, int] = {}  # task -> the slots acquire() took in it, not yet released
        self._watched: set[asyncio.Task] = set()  # tasks whose end releases what they still hold
        self._anon = 0  # slots try_acquire() took, not yet released (they belong to no task)
        self.auto_released = 0  # slots released by their task's next acquire() or its end

    @property
    def in_flight(self) -> int:
        """Slots taken and not yet released (requests sent, their answers not yet read)."""
        return len(self._flying)

    def _expire(self, now: float) -> int:
        """Drop the slots whose window has passed; the number of slots still counted."""
        fl = self._flying
        while fl and now - fl[0] >= self.max_hold_s:
            t = fl.popleft() + self.max_hold_s
            self.overheld += 1
            self._owed += 1
            if self.overheld == 1:
                log.warning("a request slot was not released within %.0f s (its answer never read): counted as "
                            "answered then", self.max_hold_s)
            bisect.insort(self._stamps, t)
        st = self._stamps
        while st and now - st[0] >= self.window:
            st.popleft()
        return len(st) + len(fl)

    def delay(self) -> float:
        """Seconds the next acquisition would wait now: 0 when a slot is free; ``inf`` while every slot is in
        flight (it waits for an answer first)."""
        now = self._clock()
        used = self._expire(now)
        if used < self.max_calls:
            return 0.0
        k = used - self.max_calls  # the (k+1)-th answered slot to leave the window frees one
        st = self._stamps
        if k < len(st):
            return max(0.0, st[k] + self.window - now)
        return math.inf

    def _take(self, now: float) -> None:
        self._flying.append(now)
        self.acquired += 1

    def try_acquire(self) -> bool:
        """Take a slot now if one is free and nobody is queued (no await); False otherwise."""
        if self._queued:
            return False
        now = self._clock()
        if self._expire(now) >= self.max_calls:
            return False
        self._take(now)
        self._anon += 1
        return True

    @staticmethod
    def _task():
        try:
            return asyncio.current_task()
        except RuntimeError:  # (no running loop)
            return None

    def _task_ended(self, task) -> None:
        self._watched.discard(task)
        for _ in range(self._owned.pop(task, 0)):
            self.auto_released += 1
            self._free()

    async def acquire(self) -> None:
        """Wait for a free slot and take it (in flight until :meth:`release`, or the task's next acquire or end)."""
        task = self._task()
        if task is not None and self._owned.get(task):  # its previous request was answered: it is here again
            n = self._owned.pop(task)
            self.auto_released += n
            for _ in range(n):
                self._free()
        self._queued += 1
        try:
            async with self._lock:
                waited = False
                while True:
                    d = self.delay()
                    if d <= 0:
                        break
                    waited = True
                    if d == math.inf:  # every slot in flight: wait for an answer (or a held slot's time-out)
                        self._freed.clear()
                        with contextlib.suppress(asyncio.TimeoutError):
                            await asyncio.wait_for(self._freed.wait(), self.max_hold_s)
                    else:
                        await asyncio.sleep(d)
                self._take(self._clock())
                self.waited += waited
        finally:
            self._queued -= 1
        if task is not None:
            self._owned[task] = self._owned.get(task, 0) + 1
            if task not in self._watched:
                self._watched.add(task)
                task.add_done_callback(self._task_ended)

    def release(self) -> None:
        """The answer of a request of this limiter came (or the request failed): the calling task's slot (else
        one :meth:`try_acquire` took) counts for one more window from now.  Nothing when the caller holds none."""
        task = self._task()
        n = self._owned.get(task, 0) if task is not None else 0
        if n:
            if n == 1:
                del self._owned[task]
            else:
                self._owned[task] = n - 1
        elif self._anon:
            self._anon -= 1
        else:
            return
        self._free()

    def _free(self) -> None:
        """One slot's answer is in: it counts for one more window from now."""
        if self._owed:  # (that slot was counted as answered after max_hold_s already)
            self._owed -= 1
            return
        if not self._flying:
            return
        self._flying.popleft()
        self.released += 1
        bisect.insort(self._stamps, self._clock())
        self._freed.set()

    @contextlib.asynccontextmanager
    async def slot(self):
        """``async with limiter.slot():`` send the request and read its answer: acquired before, released after."""
        await self.acquire()
        try:
            yield self
        finally:
            self.release()

    def penalise(self, until_monotonic: float) -> None:
        """Block every slot until ``until_monotonic`` (after the venue said we hit its limit); the slots in flight
        stay in flight."""
        st = self._stamps
        st.clear()
        base = until_monotonic - self.window
        for _ in range(self.max_calls):
            st.append(base)

    async def __aenter__(self):
        await self.acquire()
        return self

    async def __aexit__(self, *exc):
        self.release()
        return False


class TokenBucket:
    """Classic token bucket: ``rate`` tokens per second, at most ``capacity`` stored."""

    def __init__(self, rate: float = 10.0, capacity: float = 1.0, clock=time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0")
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.rate = float(rate)
        self.capacity = float(capacity)
        self._clock = clock
        self._tokens = float(capacity)
        self._t = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._t) * self.rate)
        self._t = now

    def delay(self) -> float:
        self._refill()
        return 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.rate

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                d = self.delay()
                if d <= 0:
                    break
                await asyncio.sleep(d)
            self._tokens -= 1.0

    def release(self) -> None:
        """Nothing: a token is spent when taken (the limiters' common protocol)."""

    async def __aenter__(self):
        await self.acquire()
        return self

    async def __aexit__(self, *exc):
        return False

"""Asynchronous request rate limiters (they wait with ``asyncio.sleep``; they never block the loop).

Bybit counts requests per endpoint in a ROLLING one-second window (10/s for linear create and for
cancel).  A token bucket of capacity 10 refilled at 10/s lets 20 requests into one second (a full bucket
plus the refill), so the default limiter for venue requests is :class:`SlidingWindowLimiter`: at most
``max_calls`` start in any ``period`` (plus a safety ``margin`` for network jitter between our send time
and the venue's receive time).  :class:`TokenBucket` is kept for smooth pacing (capacity 1 = even spacing).
Both serve waiters first come, first served and can be cancelled while waiting.
"""
from __future__ import annotations

import asyncio
import time
from collections import deque

__all__ = ["SlidingWindowLimiter", "TokenBucket"]


class SlidingWindowLimiter:
    """At most ``max_calls`` acquisitions in any window of ``period + margin`` seconds."""

    def __init__(self, max_calls: int = 10, period: float = 1.0, margin: float = 0.05, clock=time.monotonic) -> None:
        if max_calls < 1:
            raise ValueError("max_calls must be >= 1")
        if period <= 0:
            raise ValueError("period must be > 0")
        if margin < 0:
            raise ValueError("margin must be >= 0")
        self.max_calls = int(max_calls)
        self.window = float(period) + float(margin)
        self._clock = clock
        self._stamps: deque[float] = deque()
        self._lock = asyncio.Lock()
        self._queued = 0  # acquire() calls in progress (try_acquire never overtakes them)
        self.waited = 0  # acquisitions that had to wait
        self.acquired = 0

    def delay(self) -> float:
        """Seconds the next acquisition would wait now (0 when a slot is free)."""
        now = self._clock()
        st = self._stamps
        while st and now - st[0] >= self.window:
            st.popleft()
        if len(st) < self.max_calls:
            return 0.0
        return st[0] + self.window - now

    def try_acquire(self) -> bool:
        """Take a slot now if one is free and nobody is queued (no await, no allocation); False otherwise."""
        if self._queued:
            return False
        now = self._clock()
        st = self._stamps
        while st and now - st[0] >= self.window:
            st.popleft()
        if len(st) >= self.max_calls:
            return False
        st.append(now)
        self.acquired += 1
        return True

    async def acquire(self) -> None:
        self._queued += 1
        try:
            async with self._lock:
                waited = False
                while True:
                    d = self.delay()
                    if d <= 0:
                        break
                    waited = True
                    await asyncio.sleep(d)
                self._stamps.append(self._clock())
                self.acquired += 1
                self.waited += waited
        finally:
            self._queued -= 1

    def penalise(self, until_monotonic: float) -> None:
        """Block every slot until ``until_monotonic`` (after the venue said we hit its limit)."""
        st = self._stamps
        st.clear()
        base = until_monotonic - self.window
        for _ in range(self.max_calls):
            st.append(base)

    async def __aenter__(self):
        await self.acquire()
        return self

    async def __aexit__(self, *exc):
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

    async def __aenter__(self):
        await self.acquire()
        return self

    async def __aexit__(self, *exc):
        return False

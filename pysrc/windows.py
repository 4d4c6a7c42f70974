"""Reference twin of ``liqcore._libs.detection``: per-side counts and sums over ``(t - W, t]``.

Entries are kept in a deque; expiry pops from the left every entry stamped ``<= t - W``. Sides fold
into two buckets: long = Side.LONG and Side.BUY, short = Side.SHORT and Side.SELL; Side.NONE counts in
the totals only. Sums are kept exactly the way the kernel keeps them (running sums, reset to 0 when a
bucket empties, recomputed from the entries after every 65536 expiries), so both agree bit for bit.
"""
from __future__ import annotations

import math
from collections import deque

import numpy as np

RECOMPUTE_EVERY = 65536

SNAPSHOT_DTYPE = np.dtype(
    [
        ("count_long", np.int64),
        ("count_short", np.int64),
        ("count", np.int64),
        ("sum_long", np.float64),
        ("sum_short", np.float64),
        ("sum", np.float64),
    ]
)

NONE, LONG, SHORT = 0, 1, 2
_BUCKET = {0: NONE, 1: LONG, 3: LONG, 2: SHORT, 4: SHORT}


def side_bucket(side: int) -> int:
    """0 for Side.NONE, 1 for LONG/BUY, 2 for SHORT/SELL; ValueError otherwise."""
    try:
        return _BUCKET[int(side)]
    except KeyError:
        raise ValueError(f"side must be a liqcore.types.Side (0..4), got {side}") from None


def _int_array(obj, name: str) -> np.ndarray:
    """A 1-d int64 array; ValueError for another shape or a non-integer dtype."""
    arr = np.asarray(obj)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-d, got shape {arr.shape}")
    if arr.size and arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must be an integer array, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


class TimeWindow:
    """Counts and sums per side over the right-closed window ``(t - window_ns, t]``."""

    def __init__(self, window_ns: int, capacity: int = 16) -> None:
        if window_ns < 1:
            raise ValueError(f"window_ns must be >= 1, got {window_ns}")
        if capacity < 0 or capacity > (1 << 40):
            raise ValueError(f"capacity must be in [0, 2**40], got {capacity}")
        self.window_ns = int(window_ns)
        self.clear()

    def clear(self) -> None:
        """Drop every entry and forget the clock."""
        self._entries: deque[tuple[int, int, float]] = deque()
        self._counts = [0, 0, 0]
        self._sums = [0.0, 0.0, 0.0]
        self._removals = 0
        self.now: int | None = None
        self.late = 0

    # -- clock ------------------------------------------------------------------------------------
    def _expire(self, ts: int) -> None:
        if self.now is not None and ts < self.now:
            return
        self.now = ts
        cutoff = ts - self.window_ns
        while self._entries and self._entries[0][0] <= cutoff:
            _, b, v = self._entries.popleft()
            self._counts[b] -= 1
            if self._counts[b] == 0:
                self._sums[b] = 0.0
            else:
                self._sums[b] -= v
            self._removals += 1
        if self._removals >= RECOMPUTE_EVERY:
            self._sums = [0.0, 0.0, 0.0]
            for _, b, v in self._entries:
                self._sums[b] += v
            self._removals = 0

    def advance(self, ts_ns: int) -> None:
        """Move the clock to ``ts_ns``, expiring entries stamped ``<= ts_ns - window_ns``."""
        if self.now is not None and ts_ns < self.now:
            raise ValueError(f"ts_ns {ts_ns} is older than the window's latest time {self.now}")
        self._expire(int(ts_ns))

    def _push(self, ts: int, b: int, value: float) -> None:
        if self.now is not None and ts < self.now:
            self.late += 1
            ts = self.now
        self._expire(ts)
        self._entries.append((ts, b, value))
        self._counts[b] += 1
        self._sums[b] += value

    def push(self, ts_ns: int, side: int, value: float) -> None:
        """Add an event; ValueError for an unknown side, a non-finite value or a late timestamp."""
        b = side_bucket(side)
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"value must be finite, got {value}")
        if self.now is not None and ts_ns < self.now:
            raise ValueError(f"ts_ns {ts_ns} is older than the window's latest time {self.now}")
        self._push(int(ts_ns), b, value)

    def push_many(self, ts, side, value) -> np.ndarray:
        """Push every event in order (late ones clamped to the latest time and counted in ``late``)
        and return the counts and sums after each push."""
        ts = _int_array(ts, "ts")
        side = _int_array(side, "side")
        value = np.asarray(value, dtype=np.float64)
        if value.ndim != 1:
            raise ValueError(f"value must be 1-d, got shape {value.shape}")
        if not (len(ts) == len(side) == len(value)):
            raise ValueError(
                f"ts, side and value must have the same length, got {len(ts)}, {len(side)}, {len(value)}"
            )
        for i in range(len(ts)):
            if int(side[i]) not in _BUCKET:
                raise ValueError(f"side[{i}] must be a liqcore.types.Side (0..4), got {side[i]}")
            if not math.isfinite(value[i]):
                raise ValueError(f"value[{i}] must be finite, got {value[i]}")
        out = np.empty(len(ts), dtype=SNAPSHOT_DTYPE)
        for i in range(len(ts)):
            self._push(int(ts[i]), _BUCKET[int(side[i])], float(value[i]))
            out[i] = (
                self._counts[LONG],
                self._counts[SHORT],
                len(self._entries),
                self._sums[LONG],
                self._sums[SHORT],
                self._sums[NONE] + self._sums[LONG] + self._sums[SHORT],
            )
        return out

    # -- read -------------------------------------------------------------------------------------
    @property
    def count(self) -> int:
        return len(self._entries)

    @property
    def count_long(self) -> int:
        return self._counts[LONG]

    @property
    def count_short(self) -> int:
        return self._counts[SHORT]

    @property
    def sum(self) -> float:
        return self._sums[NONE] + self._sums[LONG] + self._sums[SHORT]

    @property
    def sum_long(self) -> float:
        return self._sums[LONG]

    @property
    def sum_short(self) -> float:
        return self._sums[SHORT]

    def oldest_ts(self) -> int | None:
        return self._entries[0][0] if self._entries else None

    def __len__(self) -> int:
        return len(self._entries)

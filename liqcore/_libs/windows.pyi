"""Per-side counts and sums over a right-closed time window (t - W, t]."""
from typing import final

import numpy as np
import numpy.typing as npt

#: fields count_long, count_short, count (int64), sum_long, sum_short, sum (float64)
SNAPSHOT_DTYPE: np.dtype

@final
class TimeWindow:
    """LONG/BUY count as "long", SHORT/SELL as "short", NONE in the totals only."""

    def __init__(self, window_ns: int, capacity: int = 16) -> None: ...
    def push(self, ts_ns: int, side: int, value: float) -> None:
        """Add an event; ValueError for an unknown side, non-finite value or late timestamp."""
    def advance(self, ts_ns: int) -> None:
        """Move the clock; ValueError for a time older than the latest seen."""
    def push_many(
        self,
        ts_ns: npt.ArrayLike,
        sides: npt.ArrayLike,
        values: npt.ArrayLike,
    ) -> np.ndarray:
        """Snapshots (SNAPSHOT_DTYPE) after each push; late timestamps clamped and counted."""
    @property
    def window_ns(self) -> int: ...
    @property
    def now(self) -> int | None: ...
    @property
    def count(self) -> int: ...
    @property
    def count_long(self) -> int: ...
    @property
    def count_short(self) -> int: ...
    @property
    def sum(self) -> float: ...
    @property
    def sum_long(self) -> float: ...
    @property
    def sum_short(self) -> float: ...
    @property
    def late(self) -> int: ...
    @property
    def capacity(self) -> int: ...
    @property
    def nbytes(self) -> int: ...
    def oldest_ts(self) -> int | None: ...
    def __len__(self) -> int: ...
    def clear(self) -> None: ...

"""Type stubs of liqcore._libs.detection (the detection kernels compiled as one module; see detection.pyx)."""
from liqcore.config import Params
from typing import Any
from typing import final
import numpy as np
import numpy.typing as npt


# ---- quantile.pxi ----
@final
class RollingQuantile:
    """Exact ``q`` quantile of the last ``window`` values; O(1) for most updates, O(log window) heap
    steps otherwise, now and then a pass over the lower values to refill the small heap."""

    def __init__(self, window: int, q: float) -> None: ...
    def update(self, x: float) -> float:
        """Push ``x`` and return the quantile of the window after the push."""
    def update_many(self, values: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Push every value in order; the quantile after each push."""
    @property
    def value(self) -> float:
        """The current quantile (NaN when empty)."""
    @property
    def window(self) -> int: ...
    @property
    def q(self) -> float: ...
    @property
    def nbytes(self) -> int:
        """Bytes of memory owned by the state."""
    def values(self) -> npt.NDArray[np.float64]:
        """The values in the window, oldest first."""
    def __len__(self) -> int: ...
    def clear(self) -> None: ...
    def _check(self) -> bool: ...


# ---- windows.pxi ----
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


# ---- zscore.pxi ----
#: largest accepted magnitude of an input value
MAX_ABS: float

@final
class RollingZScore:
    """z of each value against the previous ``n`` values (NaN below ``min_count``, 0.0 when flat)."""

    def __init__(self, n: int, min_count: int | None = None) -> None: ...
    def update(self, x: float) -> float:
        """Score ``x`` against the baseline of the previous values, then add it."""
    def score(self, x: float) -> float:
        """The z-score ``x`` would get now, without adding it."""
    def update_many(self, values: npt.ArrayLike) -> npt.NDArray[np.float64]: ...
    @property
    def n(self) -> int: ...
    @property
    def min_count(self) -> int: ...
    @property
    def mean(self) -> float: ...
    @property
    def std(self) -> float: ...
    def values(self) -> npt.NDArray[np.float64]: ...
    def __len__(self) -> int: ...
    def clear(self) -> None: ...

@final
class BucketZScore:
    """z of epoch-aligned bucket totals against the previous ``n_buckets`` closed buckets."""

    def __init__(self, bucket_ns: int, n_buckets: int, min_count: int | None = None) -> None: ...
    def push(self, ts_ns: int, value: float) -> float:
        """Close finished buckets (z of the one open before, or NaN), then add ``value``."""
    def advance(self, ts_ns: int) -> float:
        """Move the clock; z of the bucket closed by this call, or NaN."""
    def current_z(self, ts_ns: int) -> float:
        """Advance to ``ts_ns``; z of the open bucket's total so far."""
    def push_many(self, ts_ns: npt.ArrayLike, values: npt.ArrayLike) -> npt.NDArray[np.float64]: ...
    @property
    def bucket_ns(self) -> int: ...
    @property
    def n_buckets(self) -> int: ...
    @property
    def now(self) -> int | None: ...
    @property
    def bucket_start_ns(self) -> int | None: ...
    @property
    def open_total(self) -> float: ...
    @property
    def late(self) -> int: ...
    def baseline(self) -> npt.NDArray[np.float64]: ...
    def clear(self) -> None: ...


# ---- detector.pxi ----
SKIP_REASONS: tuple[str, ...]
MARKS: dict[str, int]

class CascadeDetector:
    quantile: float
    history: int
    min_history: int
    refresh_ns: int
    window_ns: int
    min_large: int
    price_factor: float
    max_notional: float
    notional_multiple: float
    reanchor: int
    max_time_jump_ns: int
    reference_age_ns: int
    def __init__(
        self,
        quantile: float = 0.95,
        history: int = 1000,
        min_history: int = 100,
        refresh_ns: int = 3_600_000_000_000,
        window_ns: int = 60_000_000_000,
        min_large: int = 2,
        price_factor: float = 10.0,
        max_notional: float = 1e10,
        notional_multiple: float = 10_000.0,
        reanchor: int = 3,
        max_time_jump_ns: int = 86_400_000_000_000,
        reference_age_ns: int = 3_600_000_000_000,
    ) -> None: ...
    @classmethod
    def from_params(cls, params: Params) -> "CascadeDetector": ...
    def update(
        self,
        ts_event: int,
        ts_recv: int,
        symbol_id: int,
        venue: int,
        kind: int,
        side: int,
        price: float,
        qty: float,
    ) -> int: ...
    @property
    def last_event_mark(self) -> int: ...
    @property
    def last_event_threshold(self) -> float: ...
    def plausible(self, symbol_id: int, kind: int, price: float, qty: float, ts_event: int) -> int: ...
    def last_records(self) -> np.ndarray: ...
    def last_confirmed(self) -> tuple[int, int, int, int] | None: ...
    def armable(self, symbol_id: int) -> bool: ...
    def pop_records(self) -> np.ndarray: ...
    def tick(self, now_ns: int) -> int: ...
    def gap(self, symbol_id: int, venue: int, ts_ns: int) -> int: ...
    def flush(self, ts_ns: int | None = None) -> int: ...
    def seed(self, symbol_id: int, notionals: Any, venue: int = 0) -> None: ...
    def run(
        self, events: np.ndarray, flush: bool = False, index_offset: int = 0,
        marks: np.ndarray | None = None, thresholds: np.ndarray | None = None,
    ) -> tuple[np.ndarray, dict[str, int]]: ...
    def threshold(self, symbol_id: int) -> float: ...
    def active(self, symbol_id: int) -> bool: ...
    def symbol_nbytes(self, symbol_id: int) -> int: ...
    @property
    def nbytes(self) -> int: ...
    @property
    def stats(self) -> dict[str, int]: ...


# ---- xvenue.pxi ----
SHARE_DTYPE: np.dtype
MAX_VENUES: int

def detect(
    events: np.ndarray,
    marks: Any,
    thresholds: Any,
    group: Any,
    window_ns: int,
    min_large: int,
    flush: bool = False,
    index_offset: int = 0,
    flush_ns: int | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]: ...

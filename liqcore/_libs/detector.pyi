"""Type stub of liqcore._libs.detector (the Cython liquidation-cascade detector)."""
from typing import Any

import numpy as np

from liqcore.config import Params

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

"""Type stub of liqcore._libs.xvenue (the instrument-scope cascade rule)."""
from typing import Any

import numpy as np

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

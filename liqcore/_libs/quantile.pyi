"""Exact sliding-window quantile (numpy ``method="linear"``): a min-heap above the split, a small max-heap and an
unordered array below it, indexed by ring slot."""
from typing import final

import numpy as np
import numpy.typing as npt

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

"""Reference twin of ``liqcore._libs.detection``: the rolling quantile written for clarity.

The window is a deque of the last ``window`` values; the quantile is ``numpy.quantile`` of it with
``method="linear"``. This is the specification the compiled kernel is checked against.
"""
from __future__ import annotations

import math
from collections import deque

import numpy as np


class RollingQuantile:
    """Exact ``q`` quantile (numpy ``method="linear"``) of the last ``window`` values."""

    def __init__(self, window: int, q: float) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        if not (0.0 <= q <= 1.0):
            raise ValueError(f"q must be in [0, 1], got {q}")
        self.window = int(window)
        self.q = float(q)
        self._values: deque[float] = deque(maxlen=self.window)

    def update(self, x: float) -> float:
        """Push ``x`` (the oldest value leaves once the window is full) and return the quantile."""
        x = float(x)
        if not math.isfinite(x):
            raise ValueError(f"x must be finite, got {x}")
        self._values.append(x)
        return self.value

    def update_many(self, values) -> np.ndarray:
        """Push every value of ``values`` in order; return the quantile after each push."""
        arr = np.asarray(values, dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise ValueError(f"x[{bad[0]}] must be finite, got {arr[bad[0]]}")
        return np.array([self.update(v) for v in arr], dtype=np.float64)

    @property
    def value(self) -> float:
        """The quantile of the values now in the window (NaN when empty)."""
        if not self._values:
            return math.nan
        return float(np.quantile(np.fromiter(self._values, dtype=np.float64), self.q, method="linear"))

    @property
    def nbytes(self) -> int:
        """Approximate memory held by the window (8 bytes per value)."""
        return 8 * self.window

    def values(self) -> np.ndarray:
        """The values in the window, oldest first."""
        return np.fromiter(self._values, dtype=np.float64)

    def __len__(self) -> int:
        return len(self._values)

    def clear(self) -> None:
        """Forget every value."""
        self._values.clear()

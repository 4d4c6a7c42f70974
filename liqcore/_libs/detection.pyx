# cython: language_level=3
"""The detection kernels, compiled as one module: the exact rolling quantile (``RollingQuantile``, the
rolling P95 of a symbol's liquidation notionals), the right-closed time windows (``TimeWindow``), the
point-in-time z-scores (``RollingZScore``, ``BucketZScore``), the cascade detector
(``CascadeDetector``, ``SKIP_REASONS``) and the cross-venue rule of instrument scope (``detect``,
``SHARE_DTYPE``).  Each kernel's source is its own file (``quantile.pxi``, ``windows.pxi``,
``zscore.pxi``, ``detector.pxi``, ``xvenue.pxi``), its twin ``pysrc/<name>.py``; their C-level
declarations are ``detection.pxd``.

Why one module: every Cython module carries its own copy of Cython's typed-memoryview machinery
(about 1 MB of C: most of a kernel's compile time), so the kernels that belong together are one
translation unit: a fresh install compiles that machinery once per unit, not once per kernel, and
the detector calls the quantile's functions inside the unit as before (static, inlined; no call
across modules).
"""

import numpy as np


# the array checks the kernels' batch methods share (quantile, windows, zscore), defined once for the unit
def _as_1d(obj, dtype, str name):
    """``obj`` as a 1-d array of ``dtype`` (no copy when it already is one)."""
    arr = np.asarray(obj, dtype=dtype)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-d, got shape {arr.shape}")
    return arr


def _as_1d_int(obj, str name):
    """``obj`` as a 1-d int64 array; ValueError for a non-integer dtype (no silent truncation)."""
    arr = np.asarray(obj)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-d, got shape {arr.shape}")
    if arr.size and arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must be an integer array, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


include "quantile.pxi"
include "windows.pxi"
include "zscore.pxi"
include "detector.pxi"
include "xvenue.pxi"

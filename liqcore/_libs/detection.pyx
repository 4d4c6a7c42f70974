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

include "quantile.pxi"
include "windows.pxi"
include "zscore.pxi"
include "detector.pxi"
include "xvenue.pxi"

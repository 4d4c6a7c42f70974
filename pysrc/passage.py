"""Reference twin of ``liqcore._libs.reading``: the window plan's first-passage questions of a block table as
the numpy passes :func:`liqcore.backtest.passage.quiet_until` and :func:`liqcore.backtest.row_groups._quotes_quiet`
made before the kernel: a mask over every block that meets the span, then the earliest loud one (``argmin`` of
the first receive times) or whether any quote block can reach the take-profit.

Prices on the price grid as the simulator compares them: ``floor(price x grid + 0.5)`` (numpy's), the price
itself with no grid (``grid <= 0``).
"""
from __future__ import annotations

import numpy as np

_I64_MAX = 2**63 - 1


def _tk(x, grid: float):
    return np.floor(x * grid + 0.5) if grid > 0.0 else x


def first_loud(tr_min, tr_max, p_min, p_max, i0: int, b: int, end: int, mode: int, lvl: float, tp: float,
               grid: float) -> int:
    """The block with the earliest first receive time (the first such in table order) among those from ``i0``
    on that meet ``[b, end)`` and whose price range is not quiet for ``mode`` (0: an open long, stop ``lvl``,
    take-profit ``tp`` on the grid; 1: an open short; 2: a resting buy limit at ``tp`` on the grid; 3: a resting
    sell limit), or -1."""
    i0 = max(int(i0), 0)
    tmin, tmax = np.asarray(tr_min)[i0:], np.asarray(tr_max)[i0:]
    lo, hi = np.asarray(p_min, np.float64)[i0:], np.asarray(p_max, np.float64)[i0:]
    if mode == 0:
        quiet = (lo > lvl) & (_tk(hi, grid) < tp)
    elif mode == 1:
        quiet = (hi < lvl) & (_tk(lo, grid) > tp)
    elif mode == 2:
        quiet = _tk(lo, grid) > tp
    else:
        quiet = _tk(hi, grid) < tp
    loud = (tmax >= b) & (tmin < end) & ~quiet
    if not loud.any():
        return -1
    return i0 + int(np.argmin(np.where(loud, tmin, _I64_MAX)))


def quotes_reach(tr_min, tr_max, p_min, p_max, kind, i0: int, a: int, b: int, up: bool, tp: float,
                 grid: float) -> bool:
    """Whether a QUOTE block (kind 7) from ``i0`` on meeting ``[a, b)`` can reach take-profit ``tp`` on the grid:
    not every such block's highest price below it (``up``, a long's) or lowest above it (a short's)."""
    i0 = max(int(i0), 0)
    near = (np.asarray(tr_max)[i0:] >= a) & (np.asarray(tr_min)[i0:] < b) & (np.asarray(kind)[i0:] == 7)
    if up:
        quiet = _tk(np.asarray(p_max, np.float64)[i0:][near], grid) < tp
    else:
        quiet = _tk(np.asarray(p_min, np.float64)[i0:][near], grid) > tp
    return not bool(np.all(quiet))

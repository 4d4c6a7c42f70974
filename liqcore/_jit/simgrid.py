"""The execution model's grid: prices on the tick (a maker limit never more aggressive, every comparison of a maker
price in ticks), quantities on the lot, saturating times, and the queue rule's unit of size (an inverse symbol's in
contracts).  Used by the step functions (:mod:`liqcore._jit.simcore`); twin ``pysrc/execmodel.py`` (``on_grid``,
``tick``, ``lot_down``, ``q_units``, ``q_fill``).  May import: numpy, numba and ``signals``.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from liqcore.signals import NEVER


@njit(cache=True, nogil=True)
def _add_sat(a, b):
    """``a + b`` saturating at NEVER (b >= 0)."""
    if a > NEVER - b:
        return NEVER
    return a + b


@njit(cache=True, nogil=True)
def _on_grid(px, side, grid):
    """A maker limit on the price grid (``grid`` ticks per unit; 0: as is): a buy (``side`` > 0) to
    the tick at or below ``px``, a sell to the tick at or above it -- never more aggressive."""
    if grid > 0.0 and abs(px) < np.inf:
        if side > 0:
            return math.floor(px * grid + 1e-9) / grid
        return math.ceil(px * grid - 1e-9) / grid
    return px


@njit(cache=True, nogil=True)
def _tk(px, grid):
    """``px`` as its tick index on the price grid (``grid`` ticks per unit; a whole number held in a
    float, so that +-inf and NaN stay what they are), or as is without a grid.  Every comparison of a
    maker price with a print or a quote goes through this: 300.2 and 30020 x 0.01 are the same tick."""
    if grid > 0.0:
        return np.floor(px * grid + 0.5)
    return px


@njit(cache=True, nogil=True)
def _snap(px, grid):
    """A print's price on the grid (its nearest tick; as is without one): the reference of a limit, so that
    a print spelled in float32 (300.21 -> 300.2099914...) puts the limit where the tick says."""
    if grid > 0.0 and abs(px) < np.inf:
        return np.floor(px * grid + 0.5) / grid
    return px


@njit(cache=True, nogil=True)
def _lot_down(x, lot):
    """``x`` down to the lot (no lot: ``x``)."""
    if lot > 0.0:
        return math.floor(x / lot + 1e-9) * lot
    return x


@njit(cache=True, nogil=True)
def _q_units(cu, qty, price):
    """A size of the data (a book level's, a print's, at ``price``) in the queue's unit: as is for a linear
    symbol (``cu`` 0); for an inverse one (``cu`` USD a contract) in contracts, ``qty x price / cu`` (the
    readers' base units, contracts x cu / price, spelled back), snapped to the whole number within 1e-6."""
    if cu <= 0.0:
        return qty
    c = qty * price / cu
    r = math.floor(c + 0.5)
    return r if abs(c - r) <= 1e-6 else c


@njit(cache=True, nogil=True)
def _q_fill(q, x, price):
    """``x`` in the queue's unit filled at ``price``, as the order's quantity (base units): down to the lot (none:
    as is); an inverse symbol's down to whole contracts (``whole_contracts`` 0: as is), ``contracts x cu / price``."""
    if q.contract_usd > 0.0:
        if q.whole_contracts != 0:
            x = math.floor(x + 1e-9)
        return x * q.contract_usd / price
    return _lot_down(x, q.lot)

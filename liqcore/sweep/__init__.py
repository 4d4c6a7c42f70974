"""Sweeps: many backtests over a grid of parameters, walk-forward validation, overfitting statistics.

* ``cells`` -- a sweep's cells and tasks (detector x execution x partition x window) and their evaluation;
* ``grid`` -- the grid; ``schedule`` and ``runners`` -- where the tasks run (a process pool, dask);
* ``store`` -- the resumable results; ``walkforward`` -- folds and validation; ``overfit`` -- PBO, DSR.

``liqcore.sweep`` is callable as :func:`sweep` (one detection, the execution parameters varied; it is
``liqcore.backtest.sweep``).  May import the layers below and ``backtest``; ``backtest`` imports only
the walk-forward folds from here (``backtest.compare``).  A new validation scheme, runner or statistic
goes here as one module, its public name in ``_LAZY`` below.
"""
from __future__ import annotations

from liqcore._lazy import lazy_exports

_LAZY = {
    "sweep": ("liqcore.backtest.run", "sweep"),
    "run_cells": ("liqcore.sweep.store", "run_cells"),
    "evaluate_cells": ("liqcore.sweep.cells", "evaluate_cells"),
    "folds": ("liqcore.sweep.walkforward", "folds"),
    # the module, callable as its function (see liqcore/_callable.py): one thing in any import order
    "walkforward": ("liqcore.sweep.walkforward", None),
    "pbo": ("liqcore.sweep.overfit", "pbo"),
    "deflated_sharpe": ("liqcore.sweep.overfit", "deflated_sharpe"),
}

__all__ = list(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


from liqcore._callable import make_callable  # noqa: E402

make_callable(__name__, "sweep")  # liqcore.sweep(m, grid) is liqcore.sweep.sweep(m, grid)

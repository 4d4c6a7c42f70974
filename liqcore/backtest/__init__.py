"""Backtest: the tick simulator front, results, sweeps and reports.

Names resolve lazily, so importing :mod:`liqcore.backtest` compiles nothing and does not import
numba, pandas or matplotlib; the Numba kernels compile (or load from the cache) on first use.

* :func:`backtest` -- detect once, simulate, return a :class:`BacktestResult`.
* :func:`sweep` -- vary execution parameters over the same cascade records.
* :func:`run_cells` -- sweeps at scale (detector x execution x partitions x windows, resumable,
  process pool or dask); :func:`evaluate_cells` is the strategy seam it calls.
* :func:`folds` / :func:`walkforward` -- walk-forward folds and validation; :func:`pbo`,
  :func:`deflated_sharpe` -- overfitting statistics.
* :class:`StrategyCore` -- the per-event strategy + fill model for paper/live trading.
* :func:`synthetic_market` -- the synthetic market generator.

May import: the data contract (``liqcore.types``), the parameter vocabulary (``liqcore.config``),
the kernels (``_libs``, ``_jit``), ``venues``, the readers (``liqcore.io``, ``liqcore.dataset``),
``strategies`` and ``liqcore.cache``.  Imported by ``research``, ``live`` (the paper core) and
``commands``; never by the kernels, ``venues`` or ``strategies``.

A new way of running or judging a backtest (a validation scheme, a metric family, a report) goes
here as one module with its name in ``_LAZY`` below; a new strategy goes to ``strategies``, a new
fill rule to the execution model (``liqcore/_jit/sim.py`` and its twin).
"""
from __future__ import annotations

_LAZY = {
    "backtest": ("liqcore.backtest.run", "backtest"),
    "simulate": ("liqcore.backtest.run", "simulate"),
    "detect": ("liqcore.backtest.run", "detect"),
    "sweep": ("liqcore.backtest.run", "sweep"),
    "BacktestResult": ("liqcore.backtest.run", "BacktestResult"),
    "StrategyCore": ("liqcore.backtest.core", "StrategyCore"),
    "folds": ("liqcore.backtest.walkforward", "folds"),
    # the module, callable as its function (see liqcore/_callable.py): one thing in any import order
    "walkforward": ("liqcore.backtest.walkforward", None),
    "pbo": ("liqcore.backtest.overfit", "pbo"),
    "deflated_sharpe": ("liqcore.backtest.overfit", "deflated_sharpe"),
    "evaluate_cells": ("liqcore.backtest.sweeps", "evaluate_cells"),
    "run_cells": ("liqcore.backtest.sweep_store", "run_cells"),
    "synthetic_market": ("liqcore.backtest.synthetic", "synthetic_market"),
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    try:
        modname, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'liqcore.backtest' has no attribute {name!r}") from None
    import importlib

    value = importlib.import_module(modname)
    if attr is not None:
        value = getattr(value, attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


from liqcore._callable import make_callable  # noqa: E402

make_callable(__name__, "backtest")  # liqcore.backtest(m) is liqcore.backtest.backtest(m)

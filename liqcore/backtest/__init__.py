"""Backtest: the reading plans, the simulation front, results, reports and comparison.

Names resolve lazily: importing it compiles nothing and imports no numba, pandas or matplotlib.
:func:`backtest` (detect once, simulate, a :class:`BacktestResult`), :func:`sweep` (see
``liqcore.sweep``), :class:`StrategyCore` (the paper/live core), :func:`synthetic_market` (from
``liqcore.synthetic``).  The package is callable as :func:`backtest`.

May import: the layers below it (``types``, ``config``, the kernels, ``venues``, ``io``, ``dataset``,
``synthetic``, ``execution``, ``strategies``, ``cache``); from ``sweep`` only the walk-forward folds
(``compare``).  A new way of reading or judging a backtest goes here as one module, its name in
``_LAZY``; a sweep or validation scheme goes to ``sweep``, a fill rule to ``liqcore/_jit/sim.py``.
"""
from __future__ import annotations

from liqcore._lazy import lazy_exports

_LAZY = {
    "backtest": ("liqcore.backtest.run", "backtest"),
    "simulate": ("liqcore.backtest.run", "simulate"),
    "detect": ("liqcore.backtest.run", "detect"),
    "sweep": ("liqcore.backtest.run", "sweep"),
    "BacktestResult": ("liqcore.backtest.run", "BacktestResult"),
    "StrategyCore": ("liqcore.backtest.core", "StrategyCore"),
    "synthetic_market": ("liqcore.synthetic.market", "synthetic_market"),
}

__all__ = list(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


from liqcore._callable import make_callable  # noqa: E402

make_callable(__name__, "backtest")  # liqcore.backtest(m) is liqcore.backtest.backtest(m)

"""liqcore: a compiled-core engine for trading crypto perpetual-futures liquidation cascades.

Importing ``liqcore`` is cheap: it loads numpy and the compiled Cython kernels, never numba, uvloop
or the asyncio shell; heavier names are resolved lazily on first attribute access.

The package by layer; each may import only the layers before it, and nothing imports ``commands``:

1. the contract and the vocabulary: ``types`` (event/cascade dtypes, venues, codes), ``validate``
   (plausibility rules), ``units`` -> ``params`` (parameter names, units, ranges);
2. the kernels: ``_libs`` (Cython) and ``_jit`` (Numba), each with its twin in ``pysrc/``;
3. the wire and the files: ``venues`` (one folder per exchange), the readers and writers (``io``,
   ``dataset``), ``cache``;
4. the work: ``strategies`` (signals), ``backtest`` (the execution model's front, sweeps,
   reports), ``research`` (features, studies); ``config`` (command-line and TOML glue);
5. ``live`` (feeds, engine, gateways, journal); ``testing`` (fake venues for tests);
6. ``commands`` (one module per ``liqcore <command>``), loaded by ``cli``.

Each package's docstring says what it may import and where a new piece of its kind goes.  This
module imports ``types`` and the vocabulary (``units``, ``params``: the standard library only); a new
public name is one row in ``_LAZY`` (resolved on first use).

It is also where the strategy registry meets the vocabulary: the parameter vocabulary sits below the
strategies and never imports them, so this module (above every layer) installs the loader through which
``params`` finds the strategy names and each strategy's own parameters (``liqcore.strategies`` is
imported on the first such look-up, not here).
"""
from __future__ import annotations

import sys as _sys

if _sys.argv and (_sys.argv[0] == "-m" or _sys.argv[0].rsplit("/", 1)[-1] == "liqcore"):
    # the command line (``python -m liqcore`` while the package loads, or the ``liqcore`` script): a
    # Ctrl-C during the imports below (numpy takes a moment on a busy machine) stops at once with exit 130;
    # the command's own handler (liqcore.interrupt) replaces this one before any work starts.  A program
    # that imports liqcore keeps its own SIGINT handling.
    import signal as _signal

    def _early_interrupt(signum, frame):  # nothing has started: nothing to keep
        import os

        os.write(2, b"liqcore: interrupted\n")
        os._exit(130)

    if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
        _signal.signal(_signal.SIGINT, _early_interrupt)

__version__ = "0.1.0"

from liqcore.types import (  # noqa: F401  (the data contract is always loaded)
    CASCADE_DTYPE,
    EVENT_DTYPE,
    Dominant,
    EndReason,
    Flag,
    Kind,
    RecordKind,
    Side,
    SymbolRegistry,
    Venue,
    default_registry,
)
from liqcore import params as _vocabulary


def _strategy_registry():
    import importlib

    return importlib.import_module("liqcore.strategies")


_vocabulary.set_strategy_registry(_strategy_registry)

# name -> (module, attribute); imported on first access
_LAZY = {
    "Params": ("liqcore.config", "Params"),
    "RollingQuantile": ("liqcore._libs.quantile", "RollingQuantile"),
    "TimeWindow": ("liqcore._libs.windows", "TimeWindow"),
    "RollingZScore": ("liqcore._libs.zscore", "RollingZScore"),
    "BucketZScore": ("liqcore._libs.zscore", "BucketZScore"),
    "CascadeDetector": ("liqcore._libs.detector", "CascadeDetector"),
    "Decoder": ("liqcore.venues.decoder", "Decoder"),
    "load_events": ("liqcore.io", "load_events"),
    "Engine": ("liqcore.live.engine", "Engine"),
    # the package, callable as its function backtest() (see liqcore/_callable.py): the same object
    # whatever the import order, where a name bound to the function was replaced by the package
    # as soon as a submodule was imported
    "backtest": ("liqcore.backtest", None),
    "synthetic_market": ("liqcore.synthetic.market", "synthetic_market"),
    # the package, callable as its function sweep() (the same function as liqcore.backtest.sweep)
    "sweep": ("liqcore.sweep", None),
}

__all__ = [
    "__version__",
    "CASCADE_DTYPE",
    "EVENT_DTYPE",
    "Dominant",
    "EndReason",
    "Flag",
    "Kind",
    "RecordKind",
    "Side",
    "SymbolRegistry",
    "Venue",
    "default_registry",
    *_LAZY,
]


def __getattr__(name: str):
    try:
        modname, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'liqcore' has no attribute {name!r}") from None
    import importlib

    value = importlib.import_module(modname)
    if attr is not None:
        value = getattr(value, attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))

"""liqcore: a compiled-core engine for trading crypto perpetual-futures liquidation cascades.

Importing it loads numpy, the data contract and the parameter vocabulary, never numba, uvloop or the
asyncio shell; public names resolve on first use (a new one is a row in ``_LAZY``).  It installs the
loader through which ``params`` finds the strategies (imported on the first look-up, not here).

The layers, bottom up (README, "Layout"; held by ``tests/project/test_layering.py``): the contract
and vocabulary; the kernels; the readers, the dataset, the synthetic market and the execution front;
features; strategies and ``config``; ``backtest``, ``sweep``, ``research``; ``live``, ``testing``;
``commands``.  May import: ``types``, ``params`` (and, lazily, the names of ``_LAZY`` and the venue registry,
``venues.registry``, on the first look-up of a venue not known yet).
"""
from __future__ import annotations

from liqcore._lazy import lazy_exports

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

    if any("multiprocessing" in _a for _a in getattr(_sys, "orig_argv", ())[1:]):
        # a worker process the command started (spawn or forkserver: its argv is the command's, its own command
        # line multiprocessing's): Ctrl-C belongs to the command, which stops its workers
        _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
    elif _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
        _signal.signal(_signal.SIGINT, _early_interrupt)

__version__ = "0.1.0"
"""The installed liqcore's version (``liqcore --version`` prints it)."""

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
from liqcore import types as _types


def _strategy_registry():
    import importlib

    return importlib.import_module("liqcore.strategies")


_vocabulary.set_strategy_registry(_strategy_registry)


def _venue_registry():
    # a venue looked up before any module imported the registry (``Venue.parse("gate")`` with only
    # ``liqcore.types`` imported): the registry, imported now, adds its own loader (every venue there is)
    import importlib

    importlib.import_module("liqcore.venues.registry")


_types.VENUE_LOADERS.insert(0, _venue_registry)

# name -> (module, attribute); imported on first access
_LAZY = {
    "Params": ("liqcore.config", "Params"),
    "RollingQuantile": ("liqcore._libs.detection", "RollingQuantile"),
    "TimeWindow": ("liqcore._libs.detection", "TimeWindow"),
    "RollingZScore": ("liqcore._libs.detection", "RollingZScore"),
    "BucketZScore": ("liqcore._libs.detection", "BucketZScore"),
    "CascadeDetector": ("liqcore._libs.detection", "CascadeDetector"),
    "Decoder": ("liqcore.venues.decoder", "Decoder"),
    "load_events": ("liqcore.dataset.load", "load_events"),
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


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

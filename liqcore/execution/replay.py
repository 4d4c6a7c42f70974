"""The shared body of a replay through the Numba kernel: the number of symbol rows, the state,
portfolio, parameter, ledger and count arrays, and the state at the end.  The backtest front
(``simulate``, ``simulate_signals``) and the sweep window are this body around one kernel pass."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from liqcore.execution.arrays import new_portfolio, symbol_params

__all__ = ["Replay", "n_symbols", "new_replay", "at_end"]


class Replay(NamedTuple):
    """The kernel's arrays of one replay (see :mod:`liqcore._jit.sim`)."""

    par: np.ndarray  # PARAM_DTYPE, one row per symbol id
    st: np.ndarray  # STATE_DTYPE, one row per symbol id
    port: np.ndarray  # PORT_DTYPE, one row
    ledger: np.ndarray  # LEDGER_DTYPE, capacity rows
    counts: np.ndarray  # (n_symbols, N_COUNTS) int64


def n_symbols(registry, *symbol_ids: np.ndarray) -> int:
    """Rows needed for the registry and every symbol id in ``symbol_ids`` (at least 1)."""
    n = len(registry) if registry is not None else 0
    for ids in symbol_ids:
        if len(ids):
            n = max(n, int(ids.max()) + 1)
    return max(n, 1)


def new_replay(params, registry, n_sym: int, equity: float, capacity: int) -> Replay:
    """Fresh kernel arrays for ``n_sym`` symbols, ``params`` (presets applied per symbol), starting
    ``equity`` and a ledger of ``capacity`` rows."""
    from liqcore._jit import sim

    return Replay(par=symbol_params(params, registry, n_sym, equity), st=sim.new_state(n_sym),
                  port=new_portfolio(params, equity), ledger=np.zeros(capacity, dtype=sim.LEDGER_DTYPE),
                  counts=np.zeros((n_sym, sim.N_COUNTS), dtype=np.int64))


def at_end(st: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per symbol (int64 0/1): a position open, an entry working (sent or resting)."""
    from liqcore._jit import sim

    return ((st["status"] == sim.OPEN).astype(np.int64),
            ((st["status"] == sim.PENDING) | (st["status"] == sim.RESTING)).astype(np.int64))

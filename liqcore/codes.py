"""The contract's code tables, at the ground beside :mod:`liqcore.types` and :mod:`liqcore.signals`:
exit reasons (the ledger's ``exit_reason``) and event-kind names, every code -> name table once.

Every layer may import this module: the Numba kernel (:mod:`liqcore._jit.sim`) takes its exit-reason
constants from here, the execution front and the backtest their names.  The signal codes (entry kinds
``ENTRY_*``, skip codes ``SKIP_*``, ``NEVER``) are the signal contract's fields, in :mod:`liqcore.signals`
(the same floor).  Imports only :mod:`liqcore.types`."""
from __future__ import annotations

from liqcore.types import Kind

__all__ = ["TAKE_PROFIT", "STOP_LOSS", "TIMEOUT", "EXTERNAL", "TRAIL", "STOP_PRICE", "MAX_HOLD", "SIGNAL_EXIT",
           "REPLACED", "EXIT_NAMES", "EXIT_CODES", "KIND_NAMES", "KIND_TABLE", "exit_name"]

# ---- exit reasons (ledger) -----------------------------------------------------------------------
TAKE_PROFIT = 1
STOP_LOSS = 2
TIMEOUT = 3  # the run's hold-timeout
EXTERNAL = 4  # closed by the venue / operator in live venue mode
TRAIL = 5
STOP_PRICE = 6
MAX_HOLD = 7  # the signal's own max hold
SIGNAL_EXIT = 8
REPLACED = 9
EXIT_NAMES = {TAKE_PROFIT: "take_profit", STOP_LOSS: "stop_loss", TIMEOUT: "timeout", EXTERNAL: "external",
              TRAIL: "trail", STOP_PRICE: "stop_price", MAX_HOLD: "max_hold", SIGNAL_EXIT: "signal_exit",
              REPLACED: "replaced"}
#: name -> exit reason code
EXIT_CODES = {name: code for code, name in EXIT_NAMES.items()}

# ---- event kinds ---------------------------------------------------------------------------------
#: event kind code -> name, every kind of :class:`liqcore.types.Kind` (taken from the enum, so that a kind
#: added there is named everywhere at once): the names the contract's files, ``liqcore events``, the
#: datasets' format file and the strategies' input checks use.  The one table; every other is built from it
KIND_NAMES = {int(k): k.name.lower() for k in Kind}
#: the same names as a tuple indexed by code (index 0, no kind: ""), for vectorised lookups
KIND_TABLE = ("",) + tuple(KIND_NAMES[c] for c in range(1, max(KIND_NAMES) + 1))


def exit_name(code: int, default: str = "?") -> str:
    """The name of exit reason ``code`` (``default`` for an unknown code)."""
    return EXIT_NAMES.get(int(code), default)

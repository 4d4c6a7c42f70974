"""The execution model's Python front: everything between a strategy's signals (or the cascade
detector's records) and the Numba kernel (:mod:`liqcore._jit.sim`) that fills them.

* :mod:`~liqcore.execution.events` -- input checks, receive-time order, cleaning bad prints, the
  input kinds present: one copy each.
* :mod:`~liqcore.execution.detect` -- running the cascade detector once; :func:`confirmed_records`,
  the one place CONFIRMED records are taken.
* :mod:`~liqcore.execution.arrays` -- the kernel's per-symbol parameter rows and portfolio row.
* :mod:`~liqcore.execution.replay` -- the shared body of a replay (state set-up, one kernel pass,
  state at the end), used by the backtest front, the sweep window and the paper-trading core.

May import: numpy, :mod:`liqcore.types`, :mod:`liqcore.signals`, :mod:`liqcore.config`, the kernels
(``liqcore._jit``, ``liqcore._libs``, imported inside functions so that importing this package
compiles nothing).  Never strategies, backtest, research, live or features, and never pandas
(``tests/project/test_layering.py`` checks it).  The code tables (exit reasons, event-kind names) are the
contract's, at the ground in :mod:`liqcore.codes`, where the kernels and every layer may import them.

A new execution service (a check of the inputs, a table of codes, a piece of replay set-up shared by
two callers) goes in the module of its kind above; a new code -> name table goes in :mod:`liqcore.codes`.
"""

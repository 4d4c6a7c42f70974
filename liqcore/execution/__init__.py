"""The execution model's Python front: between a strategy's signals (or the detector's records) and the
Numba kernel (``liqcore._jit.sim``) that fills them.

``events`` (input checks, receive order, cleaning), ``detect`` (the detector once;
:func:`confirmed_records`), ``arrays`` (the kernel's parameter and portfolio rows), ``replay`` (the
shared body of a replay), ``avoid``, ``latency``, ``fill_diff``.

May import: numpy, ``types``, ``signals``, ``codes``, ``params``, ``io.sqlite_reader`` and the kernels
(inside functions: importing it compiles nothing); never strategies, backtest, research, live,
features or pandas.  A new execution service goes in the module of its kind; a new code -> name table
goes in ``liqcore.codes``.
"""

"""The Numba kernels: the execution model (``sim.py``: signals -> orders -> fills -> trades), the
synthetic market (``synth.py``), the feature store's scans (``features.py``), the zone
detector (``zones.py``) and the chunked backtest's one pass per chunk from the read to the simulator
(``chunks.py``).  Nothing here compiles at import: functions compile (or load from the
Numba cache) on first call, and only modules that need them import this package.

May import: numpy, numba, ``liqcore.types`` and the signal contract (``SIGNAL_DTYPE`` and its
codes) only -- no I/O, no pandas, nothing above the kernels.  Imported by ``strategies``,
``backtest``, ``research`` and ``commands``.

A new Numba kernel goes here as one module, with its pure-Python twin in ``pysrc/``, its row in
``pysrc.TWINS`` and a property test comparing the two.
"""

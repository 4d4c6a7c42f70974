"""The Cython kernels: the rolling quantile, time windows, z-scores and the cascade detector (each a
``.pyx`` with its ``.pxd``/``.pyi``), the C layout of the event contract (``events.pxd``) and its
layout probe (``_contract.pyx``).  Built by ``setup.py``; importing them compiles nothing.

May import: ``liqcore.types`` and each other (``cimport``) only -- no I/O, no pandas, nothing above
the kernels.  Imported, inside functions, by everything that computes (strategies, backtest, research, live) and
by the readers and the dataset writer (``readrows``: a file's rows in one pass).

A new kernel goes here as ``<name>.pyx`` (plus ``.pxd``/``.pyi``; ``setup.py`` builds every ``.pyx``), with its
pure-Python twin in ``pysrc/<name>.py``, its row in ``pysrc.TWINS`` and a property test comparing
the two.
"""

"""The Cython kernels, compiled as two modules (translation units) of the kernels that belong together:
``detection`` (the rolling quantile, time windows, z-scores, the cascade detector and the cross-venue
rule) and ``reading`` (the Parquet footer scan and page decoder, the readers' and writer's row passes,
a checked file's sections, the first-passage walks, a file's one-pass figures); each kernel's source
is its own ``<name>.pxi``, included by its unit's ``.pyx`` (the unit's C declarations: its ``.pxd``,
its stubs: its ``.pyi``).  Also the C layout of the event contract (``events.pxd``) and its layout
probe (``_contract.pyx``).  Built by ``setup.py``; importing them compiles nothing.

May import: ``liqcore.types`` and each other (``cimport``) only -- no I/O, no pandas, nothing above
the kernels.  Imported, inside functions, by everything that computes (strategies, backtest, research, live) and
by the readers and the dataset writer (``readrows``: a file's rows in one pass).

A new kernel goes here as ``<name>.pxi``, included by the unit it belongs with (its declarations in the
unit's ``.pxd``, its stubs in the unit's ``.pyi``; ``setup.py`` builds every ``.pyx``: a kernel that
belongs with none is its own ``<name>.pyx``), with its pure-Python twin in ``pysrc/<name>.py``, its row
in ``pysrc.TWINS`` and a property test comparing the two.  Why units: every Cython module carries
its own copy of Cython's typed-memoryview machinery (about 1 MB of C), most of a kernel's compile.
"""

# cython: language_level=3
"""The read-path kernels, compiled as one module: the Parquet footer scan (``scan_footer``,
``CHUNK_DTYPE``), the page decoder (``decode_chunk``, ``page_span`` and their parts), the reader's and
the dataset writer's row passes (``quote_rows``, ``trade_rows``, ``partition_rows``, ``file_columns``,
``natural_pairs``, ``row_problems``), a checked file's sections (``section_events``, ``sort_recv``,
``bulk_keep``, ``step_scan``, ``last_rows``, ``trade_delays``, ``same_rare``), the window plan's
first-passage walks (``first_loud``, ``quotes_reach``) and a file's one-pass figures (``event_scan``,
``clock_witness``).  Each kernel's source is its own file (``pqfooter.pxi``, ``pqpages.pxi``,
``readrows.pxi``, ``sections.pxi``, ``passage.pxi``, ``eventscan.pxi``), its twin ``pysrc/<name>.py``.

Why one module: every Cython module carries its own copy of Cython's typed-memoryview machinery
(about 1 MB of C: most of a kernel's compile time), so the kernels that belong together are one
translation unit: a fresh install compiles that machinery once per unit, not once per kernel.
"""

include "pqfooter.pxi"
include "pqpages.pxi"
include "readrows.pxi"
include "sections.pxi"
include "passage.pxi"
include "eventscan.pxi"

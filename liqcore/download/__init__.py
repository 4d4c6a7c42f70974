"""Getting the data: ``liqcore download`` fetches the venues' public archives and tardis.dev's per-day
datasets, kept as downloaded (``--out``) or converted into a dataset as they arrive (``--dataset``).

``sources`` (each source's URL layout, names, checksums, types), ``fetch`` (concurrent HTTP with
retries, checksums, 404s), ``run`` (the plan, the skips, downloads ahead of the in-order conversion,
progress, summary), ``feeder`` (files another writer closes, converted in the background).
The sources and their rules: docs/how-to/get-data.md, "`liqcore download`".

May import: the standard library, aiohttp, rich, ``io``, ``dataset``, ``secrets``, ``progress``,
``cache``, ``interrupt`` and ``_atomic``; never backtest, research, strategies, live or commands.
A new source goes in ``sources.py`` as one ``Source`` and one row in ``SOURCES`` (its files readable
by a reader of ``io``: a new file format goes there first).
"""
from __future__ import annotations

from liqcore.download.run import DownloadSummary, download
from liqcore.download.sources import SOURCES, Unit, plan

__all__ = ["download", "DownloadSummary", "SOURCES", "Unit", "plan"]

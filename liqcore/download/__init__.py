"""Getting the data: ``liqcore download`` fetches the venues' public archives (Binance's
data.binance.vision, Bybit's and OKX's trade archives) and tardis.dev's per-day CSV datasets, and
either keeps the files as downloaded (``--out``) or converts each one into a dataset as it arrives
(``--dataset``), through the same readers and dataset writer as ``liqcore convert``.

* :mod:`~liqcore.download.sources` -- each source's layout: which URL holds which (type, symbol,
  day or month), the file's name, its checksum file, the types a source serves.
* :mod:`~liqcore.download.fetch` -- HTTP (aiohttp): concurrent downloads, retries with backoff on
  429 / 5xx / a cut connection (honouring ``Retry-After``), temp names renamed when whole and
  verified, ``.CHECKSUM`` checks, 404 as "the source does not have it", a refused key.
* :mod:`~liqcore.download.run` -- the whole download: the plan, what is skipped and why, the
  downloads kept ahead of the in-order conversion (bounded memory: one file's events), the
  progress bar over files and bytes, the summary.
* :mod:`~liqcore.download.feeder` -- files another writer closes (``liqcore record --dataset``'s
  hourly files) converted into a dataset in the background as they close.

May import: the standard library, aiohttp, rich, the readers and the dataset writer
(:mod:`liqcore.io`, :mod:`liqcore.dataset`), :mod:`liqcore.secrets`, :mod:`liqcore.progress` and
:mod:`liqcore._atomic`.  Never backtest, research, strategies, live or commands; imported only by
``liqcore.commands.download`` (and the user's own scripts).

A new source goes in ``sources.py`` as one :class:`~liqcore.download.sources.Source` (its URL layout
from the source's own documentation) and one row in ``SOURCES``; its files must be readable by a
reader of :mod:`liqcore.io` (a new file format goes there first).
"""
from __future__ import annotations

from liqcore.download.run import DownloadSummary, download
from liqcore.download.sources import SOURCES, Unit, plan

__all__ = ["download", "DownloadSummary", "SOURCES", "Unit", "plan"]

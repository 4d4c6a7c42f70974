"""Bulk loading and saving of recordings in the event contract.

:func:`load_events` reads any mix of recording files into one event array sorted by ``ts_event``
(stable sort: equal times keep file/line order), with exact duplicates removed and every rejected
record counted by reason.  Formats (``format=None`` detects them per file, and per line inside
files of JSON lines and log lines, so a valid record is never dropped because of its neighbours):

=====================  ==========================================================================
``raw``                one websocket message per line (Bybit, Binance, OKX; venue told by shape)
``recorder``           ``{"recv_ns": <int>, "venue": "bybit", "frame": {...} | "<json text>"}``
                       (what ``liqcore record`` writes)
``bybit-archive``      Bybit liquidation archive lines: ``{"ts": <recv ms>, "exchange": "bybit",
                       "stream": "liquidation", ..., "result": {"ts": ..., "data": [<allLiquidation
                       items>]}}``
``binance-log``        Binance liquidation log lines ``2026-03-10 13:10:19 Liquidation: {<forceOrder
                       "o" object>}``; other text lines are ``not_a_record``
``jsonl``              any mix of the four kinds above, told line by line
``binance-csv``        headerless ``s,S,o,f,q,p,ap,X,l,z,T,usd_size[,tier]`` (USDT stripped from s)
``binance-trades-csv`` headerless ``E,symbol,a,p,q,T,m[,usd_size,tier]`` aggTrades
``contract-csv``       header ``ts_event_ns,venue,symbol,side,price,qty[,kind][,ts_recv_ns][,flags]``
``parquet``            the same columns (as written by :func:`save_events` / ``liqcore convert``)
``tardis-liquidations`` tardis.dev CSV ``exchange,symbol,timestamp,local_timestamp,id,side,price,amount``
                       (``side``: the forced order's, ``buy`` = a short liquidated); ``tardis-trades``
                       the same header (``side``: the taker); told apart by the file name or the ``id``
``tardis-derivative-   tardis.dev ``derivative_ticker`` CSV: MARK, FUNDING, OPEN_INTEREST when they change
ticker``
``tardis-quotes``      tardis.dev ``quotes`` CSV, and ``tardis-book-snapshot`` (``book_snapshot_5`` /
                       ``_25``): top of book as QUOTE rows (BUY = best bid, SELL = best ask)
``tardis-raw``         ``<ISO-8601 receive time> <frame>`` lines (tardis.dev raw replay), the time as
                       ``ts_recv``; ``hftbacktest``: ``<integer ns receive time> <frame>`` lines
``columns``            any CSV or Parquet read through a column mapping (``load_events(columns=...)``,
                       the command line's ``--columns``; :mod:`liqcore.io.mapped`), never detected
``binance-aggtrades``  Binance public data (data.binance.vision, USD-M) ``<SYMBOL>-aggTrades-<date>.zip``
                       (or ``.csv``; header optional): ``agg_trade_id,price,quantity,first_trade_id,
                       last_trade_id,transact_time,is_buyer_maker``
``binance-trades``     the same, ``trades``: ``id,price,qty,quote_qty,time,is_buyer_maker``
``binance-bookticker`` the same, ``bookTicker`` -> two QUOTE rows per update (BUY = bid, SELL = ask)
``binance-metrics``    the same, ``metrics`` (5-minute open interest) -> OPEN_INTEREST
``binance-funding``    the same, ``fundingRate`` -> FUNDING
``bybit-trades``       Bybit trade archive ``BTCUSDT2024-01-01.csv.gz`` (``timestamp,symbol,side,size,...``)
``okx-trades``         OKX trade archive ``BTC-USDT-SWAP-trades-2024-01-01.zip`` (bilingual header; contracts)
=====================  ==========================================================================

Side conventions, time units and receive-time rules of every format: docs/data.md.  Each file's
entry in ``LoadResult.files`` reports what was read from it (:func:`liqcore.io.base.file_report`).

Former names of some formats are still accepted (:data:`FORMAT_ALIASES`).

``.gz`` and ``.zst`` variants of every text format are read transparently (gzip files may hold several
members, zstd files several frames; a file cut short by a crash, or corrupt part-way, loads up to the
damage, counted as ``truncated_file`` and said in a warning naming the file and how much was read).
Of several files, one that cannot be read is skipped with a warning naming it (``strict``: an error).  Line
formats are streamed in blocks of whole lines (:data:`_BLOCK_BYTES`), so memory stays about one
block plus the events.

Receive times: recorded ones are kept (recorder ``recv_ns``, Bybit archive ``ts``, contract
``ts_recv_ns``); otherwise ``ts_recv = ts_event + feed_latency_ns`` and ``Flag.RECV_ESTIMATED`` is
set.  Duplicates: same venue, symbol, kind, ts_event, side, qty and price (bit-exact) -> the first
occurrence (in sorted order) is kept, the rest are counted in ``duplicates``.

The package (one module per job; import names from ``liqcore.io`` itself, which re-exports them)
------------------------------------------------------------------------------------------------

=============  ======================================================================================
``registry``   the one list of readers (``READERS``) and detection: which reader a file is, asked
               of each reader; the ``--format`` names; which files of a directory are recordings
``_core``      :func:`load_events`: the per-file loop (detect, read, plausibility, clock guard),
               merging, sorting, duplicates; several files: an unreadable one is skipped
``base``       :class:`LoadResult`, :class:`Reader` (what a reader declares), the per-file state a
               reader is handed, :func:`dedupe`, the warning helpers
``files``      opening files (``.gz`` / ``.zst``, several members or frames, cut short or corrupt),
               blocks of whole lines
``jsonlines``  readers: ``raw`` websocket messages, ``recorder`` lines, ``jsonl`` (a mix)
``bybit``      readers: Bybit's liquidation archive lines
``binance``    readers: Binance's liquidation log lines and headerless CSVs (forceOrder, aggTrades)
``contract``   readers: the event contract as CSV and Parquet
``tardis``     readers: tardis.dev CSV exports (pyarrow's CSV reader, column-wise conversion)
``tardis_liquidations``  what says a tardis file named liquidations holds trades (used by ``tardis``)
``captures``   readers: raw frames after a receive-time prefix (tardis raw replay, hftbacktest)
``mapped``     reader: homemade CSV / Parquet through a column mapping, and its report
``archives``   what the public-archive readers share: zip / gzip opening, typed pyarrow CSV reading,
               time units, per-row checks, time order (``reordered``), the bulk-failure error
``binance_vision`` / ``bybit_public`` / ``okx_public``  readers: the venues' public archives
``dataset``    reading hive-partitioned Parquet datasets (:mod:`liqcore.dataset` writes them)
``plausible``  the plausibility rule on every file's events; a forced format that does not fit
``require``    the "no usable events" check of every command
``save``       writing events as contract Parquet or CSV
``storage``    URLs (``s3://``, ``gs://``, any fsspec file system): options, whole-object writes,
               staging of remote recordings, the lock object of a dataset on object storage
=============  ======================================================================================

What it may import: numpy, :mod:`liqcore.types`, :mod:`liqcore.venues` (the parsers, the line
decoder, instruments), :mod:`liqcore.validate`, :mod:`liqcore._atomic`, :mod:`liqcore.secrets` (a URL's credentials redacted
wherever it is shown), the compiled row kernels of :mod:`liqcore._libs` (a reader's rows in one pass; built
beside the package, never compiled on import), and
pyarrow / zstandard / fsspec inside functions (``import liqcore.io`` stays light).  Never :mod:`liqcore.dataset` (the dataset writer
builds on this package), backtest, research, live, strategies or commands.  Inside the package the
imports go one way: ``base`` and ``files`` <- the reader modules <- ``registry`` <- ``plausible`` <-
``dataset`` <- ``_core`` (``require`` and ``save`` sit beside them; ``storage`` imports no other io
module); a reader module imports only
``base``, ``files`` and other reader modules, never the registry that lists it.

Where a new format goes (a tardis.dev CSV, a Binance public-data zip, a Bybit / OKX trade archive, a
raw capture):

1. a module ``liqcore/io/<family>.py`` declaring one :class:`~liqcore.io.base.Reader` per format:
   its ``--format`` name, how it is told (``sniff_line`` for a line of its head, with the ``tier``
   of what it recognises -- a header line is ``TIER_MARKED`` --; for a binary container such as a
   zip, ``suffixes`` with ``sniff_file`` looking inside, or ``magic``) and its ``load``, of one of
   three shapes: lines streamed through a decoder, the whole decompressed file, or the path of a
   binary container (whose members may go through another reader's ``load``).  Parsing one venue's
   records belongs in ``liqcore/venues/<venue>/parse.py``; the reader is the glue between the file's
   shape and that parser;
2. its readers added to ``READERS`` in :mod:`liqcore.io.registry`, the one place a reader is
   registered (that order is the order ``--format`` lists them);
3. its row in the table above, and its tests (detection, load, rejects, a forced format that does not
   fit).
"""
from __future__ import annotations

import sys as _sys
import types as _types

# re-exported: what ``from liqcore.io import X`` imports (public names, and the private ones other
# modules and the tests use)
from liqcore.io import _core, base, contract, files, plausible, registry, require, save  # noqa: F401
from liqcore.io._core import load_events
from liqcore.io.base import LoadResult, Reader, _FileState, _unreadable_why, _warn_stderr, dedupe  # noqa: F401
from liqcore.io.contract import CONTRACT_COLUMNS, CONTRACT_OPTIONAL, _load_table, _read_contract_csv_table  # noqa: F401
from liqcore.io.files import _BLOCK_BYTES, _Blocks, open_binary, open_text  # noqa: F401
from liqcore.io.plausible import _sane  # noqa: F401
from liqcore.io.registry import (  # noqa: F401
    FORMAT_ALIASES,
    FORMATS,
    LINE_FORMATS,
    _expand,
    canonical_format,
    detect_format,
    format_arg,
)
from liqcore.io.require import NoUsableInput, require_events, require_usable, why_empty  # noqa: F401
from liqcore.io.save import events_to_table, save_events

__all__ = [
    "FORMATS",
    "FORMAT_ALIASES",
    "canonical_format",
    "NoUsableInput",
    "require_events",
    "require_usable",
    "LoadResult",
    "load_events",
    "save_events",
    "detect_format",
    "open_text",
    "events_to_table",
]

#: private names other modules and the tests use (the dataset writer, the fake replay, the tests)
_PRIVATE = ("_BLOCK_BYTES", "_Blocks", "_FileState", "_expand", "_load_table", "_read_contract_csv_table", "_sane",
            "_unreadable_why", "_warn_stderr")
_PARTS = (_core, base, contract, files, plausible, registry, require, save)


class _OneNamespace(_types.ModuleType):
    """``liqcore.io`` keeps acting as the one module it was: setting a name it re-exports (a test
    patching ``liqcore.io._BLOCK_BYTES``) sets it in the module of the package that holds it too, so
    the code that uses it sees the new value."""

    def __setattr__(self, name, value):
        if name in _PRIVATE or name in __all__:
            old = self.__dict__.get(name)
            for part in _PARTS:
                if name in part.__dict__ and part.__dict__[name] is old:
                    setattr(part, name, value)
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _OneNamespace

"""What a file reader is: the :class:`Reader` record one file format declares and the per-file state it is handed
(:class:`FileState`), shared by :mod:`liqcore.io`'s readers and registry and by each venue's archive readers
(``liqcore.venues.<venue>.archives``, the registry's ``archives`` part), which sit below ``io``.

May import: the contract (``liqcore.types``), ``liqcore.venues.common`` and (inside :func:`line_decoder`)
``liqcore.venues.lines``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from liqcore.venues.common import Sink

__all__ = ["Reader", "FileState", "SHAPES", "SOFT_REJECTS", "TIER_ENVELOPE", "TIER_JSON", "TIER_MARKED",
           "TIER_HEADERLESS", "fmt_ns", "is_json", "line_decoder"]

#: rejects that are not "bad records": lines of prose in a log file, blank lines; order-book depth
#: frames (recognised, not decoded: ``depth_skipped``); crossed top-of-book updates (kept, counted)
SOFT_REJECTS = frozenset({"not_a_record", "wall_clock_time_duplicate", "depth_skipped", "crossed_book"})


def fmt_ns(ns: int) -> str:
    """``YYYY-MM-DD HH:MM:SS.mmm`` (UTC) of a time in ns since the epoch."""
    import datetime as _dt

    return _dt.datetime.fromtimestamp(ns / 1e9, tz=_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


# ------------------------------------------------------------------------------------ readers

#: the order in which readers are asked about a line (:attr:`Reader.tier`, ties in registration
#: order): a JSON line with a recognisable envelope (recorder, archive) before any JSON line (raw),
#: before text lines told by a marker or a header, before headerless CSV rows told by how their
#: columns look.  A new reader takes the tier of what its sniff recognises.
TIER_ENVELOPE, TIER_JSON, TIER_MARKED, TIER_HEADERLESS = 10, 20, 30, 40
#: what a reader's ``load`` is handed (see :class:`Reader`)
SHAPES = ("lines", "bytes", "path")


@dataclass(frozen=True)
class Reader:
    """One file format: how :func:`liqcore.io.load_files` tells it and reads it.

    ``name``: its ``--format`` name; ``aliases``: former names still accepted; ``doc``: what one
    record (or the file) looks like.  ``shape`` says what ``load`` is handed:

    * ``"lines"``: one record per line, streamed in blocks of whole lines: ``load(sink, fmt, prose)``
      returns a decoder whose ``feed_lines(block, st, first_line)`` decodes a block (``prose``: None
      for the format's own default);
    * ``"bytes"``: the whole decompressed file: ``load(data, st)`` appends rows to ``st.sink`` and
      returns None, or returns an EVENT_DTYPE array;
    * ``"path"``: a binary container, read from its path (not decompressed by the loader):
      ``load(path, st)`` returns an EVENT_DTYPE array.

    Telling it (:class:`liqcore.io.registry.Registry`), in this order: a file whose name ends in one
    of ``suffixes`` (after ``.gz`` / ``.zst``) is this format -- unless the reader has a
    ``sniff_file(path, head) -> bool``, which then decides (several containers share a suffix, e.g.
    zips: ``head`` is the file's first 64 KiB); a reader with ``sniff_file`` and no ``suffixes`` is
    asked about every file; a file that starts with ``magic`` is this format; otherwise each of the
    first 200 lines is shown, stripped and not empty, to the readers' ``sniff_line`` in ``tier``
    order, and the first reader that returns True counts it.  Directories are walked for the files
    ending in ``suffixes`` too.  ``mix``: its lines may share a file
    with those of the other ``mix`` readers (such a file is ``jsonl``, decoded line by line by kind);
    ``prose``: its files hold text lines between the records (counted ``not_a_record``, not bad).
    ``columns``: a headerless CSV's columns by position (named when a forced format does not fit).
    ``own_clock``: liqcore's own columns, which may hold a relative clock (a simulation's times
    before 2000: the plausibility rule skips its calendar check then).
    """

    name: str
    doc: str
    shape: str
    load: Callable
    sniff_line: Callable[[bytes], bool] | None = None
    tier: int = TIER_MARKED
    suffixes: tuple = ()
    sniff_file: Callable | None = None
    magic: bytes = b""
    aliases: tuple = ()
    mix: bool = False
    prose: bool = False
    columns: tuple = ()
    own_clock: bool = False


class FileState:
    """Counters for one file (records seen, strict mode)."""

    __slots__ = ("path", "strict", "records", "sink", "fmt", "culprits", "mapping", "info", "trade_ids", "forced")

    def __init__(self, path: str, sink: Sink, strict: bool, fmt: str):
        self.path = path
        self.sink = sink
        self.strict = strict
        self.records = 0
        self.fmt = fmt
        self.culprits: dict = {}  # (reason, field) -> count: which column a forced format misreads
        self.mapping = None  # a homemade file's column mapping (liqcore.io.mapped.ColumnMapping)
        self.info: dict = {}  # what a reader adds to the file's entry in LoadResult.files
        #: a "path" reader's trade ids, aligned with the events it returns (None: none)
        self.trade_ids = None
        #: the format was given (``--format``), not detected: a reader does not second-guess it
        self.forced = False

    def bad(self, lineno: int, reason: str, detail: str = "") -> None:
        self.sink.count(reason)
        key = (reason, detail)
        self.culprits[key] = self.culprits.get(key, 0) + 1
        if self.strict and reason not in SOFT_REJECTS:
            raise ValueError(f"{self.path}:{lineno}: {reason}{(' (' + detail + ')') if detail else ''}")


# ---- the line formats' decoder, which io's JSON-line readers and the venues' archive-line readers share
def is_json(s: bytes) -> bool:
    """A stripped line that is a JSON object or array (by its first byte)."""
    return s[:1] == b"{" or s[:1] == b"["


def line_decoder(sink, fmt: str, prose: bool | None = None):
    """The decoder of the line formats: a :class:`~liqcore.venues.lines.LineDecoder` for ``fmt`` (imported when
    a file of lines is read)."""
    from liqcore.venues.lines import LineDecoder

    return LineDecoder(sink, fmt, prose=prose)

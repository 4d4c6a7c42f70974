"""The one registry of file formats: the readers there are (:data:`READERS`), which one a file is
(:meth:`Registry.detect`, asking each reader), the names ``--format`` takes, and which files of a
directory are recordings.

A new format is a module of :mod:`liqcore.io` declaring its :class:`~liqcore.venues.reader.Reader`, added
to :data:`READERS` here -- the one place a reader is registered.  A venue's own file formats are its registry
part ``archives`` (``liqcore.venues.<venue>.archives``, its ``READERS``), asked of the venue registry, each in
the slot of :data:`READERS` its ``READER_SLOTS`` names (:data:`SLOTS`; the order ``--format`` lists them and
detection breaks ties by), the venues in the order they were registered (those registered before this module is
imported).
"""
from __future__ import annotations

import os
from pathlib import Path

from liqcore.io import captures, contract, jsonlines, mapped, tardis, tardis_depth
from liqcore.io.base import SHAPES, Reader
from liqcore.venues.files import base_name, read_head
from liqcore.venues.registry import registered


#: where a venue's readers go in :data:`READERS` (its ``archives`` part's ``READER_SLOTS``: slot -> readers; a reader
#: of its ``READERS`` in none of them goes to ``archives``): ``recorded`` after the recorder's lines (liquidation
#: lines third-party recorders write), ``jsonl`` after plain JSON lines (headerless CSVs), ``archives`` after the
#: shared formats (the venue's public archives)
SLOTS = ("recorded", "jsonl", "archives")


def _venue_slots() -> dict:
    """slot -> the registered venues' readers placed there, in the order the venues were registered."""
    out = {slot: [] for slot in SLOTS}
    for spec in registered():
        if not spec.has_part("archives"):
            continue
        part = spec.part("archives")
        placed = getattr(part, "READER_SLOTS", {})
        unknown = set(placed) - set(SLOTS)
        if unknown:
            raise ValueError(f"venue {spec.name}: archives.READER_SLOTS: unknown slot {', '.join(sorted(unknown))} "
                             f"(one of {', '.join(SLOTS)})")
        seen = {r.name for rs in placed.values() for r in rs}
        for slot in SLOTS:
            out[slot] += placed.get(slot, ())
        out["archives"] += [r for r in part.READERS if r.name not in seen]
    return out


_SLOTTED = _venue_slots()
#: every reader, in the order ``--format`` lists them: a new format's reader is added here
READERS = (
    jsonlines.RAW,
    jsonlines.RECORDER,
    *_SLOTTED["recorded"],
    jsonlines.JSONL,
    *_SLOTTED["jsonl"],
    contract.CSV,
    contract.PARQUET,
    tardis.LIQUIDATIONS,
    tardis.TRADES,
    tardis.DERIVATIVE_TICKER,
    tardis.QUOTES,
    tardis_depth.L2,
    tardis_depth.SNAPSHOTS,
    tardis.BOOK_SNAPSHOT,
    captures.TARDIS_RAW,
    captures.HFTBACKTEST,
    *_SLOTTED["archives"],
    mapped.COLUMNS,
)
#: the format of a file whose lines are of several ``mix`` readers: decoded line by line by kind
MIX = "jsonl"
#: suffixes of the text recordings a directory is walked for (the readers' own ``suffixes`` are added)
_TEXT_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".parquet", ".pq", ".log")


class Registry:
    """Readers by name, in registration order, and the detection that asks them."""

    def __init__(self, readers=()):
        self._readers: dict[str, Reader] = {}
        self.aliases: dict[str, str] = {}
        self._sniffers: list[Reader] = []
        for r in readers:
            self.register(r)

    def register(self, reader: Reader) -> None:
        """Add a reader (ValueError: a name or alias taken, an unknown shape, no way to tell it)."""
        if reader.shape not in SHAPES:
            raise ValueError(f"reader {reader.name}: shape must be one of {', '.join(SHAPES)}, not {reader.shape!r}")
        for name in (reader.name, *reader.aliases):
            if name in self._readers or name in self.aliases or name != name.strip().lower():
                raise ValueError(f"reader {reader.name}: the name {name!r} is taken or not lower case")
        self._readers[reader.name] = reader
        self.aliases.update((a, reader.name) for a in reader.aliases)
        # asked in tier order; sorted() is stable, so registration order breaks ties
        self._sniffers = sorted((r for r in self._readers.values() if r.sniff_line is not None), key=lambda r: r.tier)

    @property
    def names(self) -> tuple:
        return tuple(self._readers)

    def __iter__(self):
        return iter(self._readers.values())

    def find(self, name: str) -> Reader | None:
        return self._readers.get(name)

    def get(self, name: str) -> Reader:
        """The reader of a format name (or a former alias); ValueError listing the formats."""
        return self._readers[self.canonical(name)]

    def canonical(self, name) -> str:
        key = str(name).strip().lower()
        key = self.aliases.get(key, key)
        if key not in self._readers:
            raise ValueError(f"format: unknown format {name!r} (expected one of {', '.join(self._readers)})")
        return key

    def by_suffix(self, base: str) -> Reader | None:
        """The reader that claims a file by its name alone (``base``: lower case, compression suffix
        removed); None when no reader does, or when the one whose suffix it has looks inside too."""
        for r in self._readers.values():
            if r.suffixes and base.endswith(r.suffixes) and r.sniff_file is None:
                return r
        return None

    def container(self, path: Path) -> Reader | None:
        """The reader of a binary container whose name it shares and whose content it recognises
        (``sniff_file``, shown the first 64 KiB), told before the file is read as lines."""
        base = base_name(path)
        if not any(r.shape == "path" and r.sniff_file is not None and r.suffixes and base.endswith(r.suffixes)
                   for r in self._readers.values()):
            return None
        r = self._readers[self.detect(path, None)[0]]
        return r if r.shape == "path" else None

    def dir_suffixes(self) -> frozenset:
        """Suffixes of the files a directory is walked for."""
        return frozenset(_TEXT_SUFFIXES).union(*(r.suffixes for r in self._readers.values()))

    def sniff(self, line: bytes) -> str | None:
        """The format of one line of a file's head (None: blank, or no reader claims it)."""
        s = line.strip()
        if not s:
            return None
        for r in self._sniffers:
            if r.sniff_line(s):
                return r.name
        return None

    def detect(self, path: Path, head: bytes | None) -> tuple[str, dict]:
        """(format, {line kind: count in the head}) of a file: by its name, what a reader finds
        inside it (``sniff_file``), its first bytes, then its first 200 lines (the format most of
        them have; JSON lines of several kinds: ``jsonl``; a log file: its log lines outnumber its
        JSON lines)."""
        base = base_name(path)
        r = self.by_suffix(base)
        if r is not None:
            return r.name, {}
        if head is None:  # (of a file cut short: what precedes the cut; nothing does: said so)
            head = read_head(path, 1 << 16)
        if not head.strip():  # nothing to detect: said so, not "cannot detect the format"
            what = "is empty once decompressed" if not head else "holds only blank lines"
            raise ValueError(f"{path}: the file {what}: nothing to read")
        for r in self._readers.values():
            if r.sniff_file is not None and (not r.suffixes or base.endswith(r.suffixes)) and r.sniff_file(path, head):
                return r.name, {}
        for r in self._readers.values():
            if r.magic and head.startswith(r.magic):
                return r.name, {}
        found: dict[str, int] = {}
        for line in head.split(b"\n")[:200]:
            fmt = self.sniff(line)
            if fmt:
                found[fmt] = found.get(fmt, 0) + 1
        if not found:
            from liqcore.venues.archives import check_zip_of_one

            check_zip_of_one(path, head)  # (a zip of several files: said so)
            raise ValueError(f"format: cannot detect the format of {path} (use --format, one of {', '.join(self.names)})")
        mixed = [f for f in found if self._readers[f].mix]
        prose = [f for f in found if self._readers[f].prose]
        if prose:
            # log files are text with log lines in between; mostly JSON lines with a log line: a mix
            log = max(prose, key=found.get)
            return (MIX if sum(found[f] for f in mixed) > found[log] else log), found
        if mixed:
            return (mixed[0] if len(mixed) == 1 else MIX), found
        return max(found, key=found.get), found


REGISTRY = Registry(READERS)

FORMATS = REGISTRY.names
#: former format names, still accepted
FORMAT_ALIASES = dict(REGISTRY.aliases)
#: formats of one record per line, streamed through a line decoder
LINE_FORMATS = frozenset(r.name for r in READERS if r.shape == "lines")
_DIR_SUFFIXES = REGISTRY.dir_suffixes()


def canonical_format(name: str | None) -> str | None:
    """A format name (or a former alias) -> its name in :data:`FORMATS`; None stays None.
    Unknown names raise ValueError listing the formats."""
    if name is None:
        return None
    return REGISTRY.canonical(name)


def format_arg(text: str) -> str:
    """argparse ``type=`` for ``--format`` (with ``choices=FORMATS``): former names map to the
    current ones; anything else is left for ``choices`` to report."""
    key = str(text).strip().lower()
    return REGISTRY.aliases.get(key, key)


def _detect(path: Path, head: bytes | None) -> tuple[str, dict]:
    """(format, {line kind: count in the head}) of a file."""
    return REGISTRY.detect(path, head)


def detect_format(path, head: bytes | None = None) -> str:
    """Guess a file's format from its name and first lines.  Raises ValueError when nothing fits.
    Files of JSON lines and log lines are decoded line by line whatever this says (it names the
    file's dominant kind, or ``jsonl`` for a mix)."""
    return _detect(Path(path), head)[0]


def _base_suffix(path: Path) -> str:
    return Path(base_name(path)).suffix.lower()


def expand_paths(paths) -> list[Path]:
    """Paths -> the files to read (directories walked for recording files, sorted; an OKX instrument list kept
    with a recording is not one); ValueError naming a path that does not exist."""
    from liqcore.venues.instruments import RECORDING_INSTRUMENTS

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    suffixes = REGISTRY.dir_suffixes()
    out = []
    for p in paths:
        from liqcore.io import storage

        if storage.is_url(p):  # a URL is never a local path: its files are fetched to a local copy
            # (an instrument list kept with the recording is fetched beside them, read as one, not as events)
            out.extend(q for q in storage.stage(p, keep=lambda name: _base_suffix(Path(name)) in suffixes)
                       if Path(q).name != RECORDING_INSTRUMENTS)
            continue
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.is_file() and _base_suffix(q) in suffixes
                              and q.name != RECORDING_INSTRUMENTS))
        elif p.exists():
            out.append(p)
        else:
            raise ValueError(f"paths: no such file: {p}")
    return out

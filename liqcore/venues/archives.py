"""What the readers of the venues' public archives share: opening, typed reading, times, row checks.

The fast typed pyarrow read with its lenient fallback, time units told by magnitude, the row checks
and the end of every load: docs/reference/archives.md, "What every archive reader shares".

Each venue's archive readers (``liqcore.venues.<venue>.archives``, the registry's ``archives`` part) build on
this module, which sits in the venue layer, below ``io``.  May import: numpy, pyarrow (inside functions),
``types`` and this package's ``common``, ``reader`` and ``files``.
"""
from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from liqcore.venues.reader import FileState, fmt_ns
from liqcore.types import EVENT_DTYPE
from liqcore.venues.common import RECV_UNKNOWN

_ZIP_MAGIC = b"PK\x03\x04"
_NUM_RE = r"^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$"
_DATE_RE = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")
# 2000-01-01 .. 2100-01-01 in ns
_NS_MIN = 946_684_800_000_000_000
_NS_MAX = 4_102_444_800_000_000_000
_DAY_NS = 86_400_000_000_000
#: a zip member up to this size (uncompressed) is inflated at once with ISA-L (faster; its text is
#: in memory while it is parsed); a larger one is inflated as it is read
_WHOLE_MEMBER = 256 << 20


@dataclass(frozen=True)
class Layout:
    """One CSV format: ``names`` its columns by position (what a headerless file is read as),
    ``types`` the columns read (name -> ``int``, ``float``, ``bool``, ``time`` (a ``YYYY-MM-DD
    HH:MM:SS`` UTC string) or ``str``), ``header`` the names of a header row (the part before a ``/``
    of a bilingual header), of which ``required`` must be present."""

    names: tuple
    types: dict
    required: tuple = ()

    def header_fits(self, cells: list) -> bool:
        want = self.required or tuple(self.types)
        return all(c in cells for c in want)


# --------------------------------------------------------------------------------------- opening


def _is_zip(path: Path, head: bytes | None = None) -> bool:
    if head is None:
        try:
            with open(path, "rb") as fh:
                head = fh.read(4)
        except OSError:
            return False
    return head.startswith(_ZIP_MAGIC)


def _zip_member(zf, path):
    members = [i for i in zf.infolist() if not i.is_dir()]
    if len(members) != 1:
        raise ValueError(f"{path}: a zip of {len(members)} files; expected one CSV")
    return members[0]


def check_zip_of_one(path, head: bytes | None = None) -> None:
    """A file that is a zip but not of one file: ValueError saying so (what detection says of a zip it cannot tell,
    as a forced format says it); anything else passes."""
    if _is_zip(Path(path), head):
        with _open_zip(path) as zf:
            _zip_member(zf, path)


def _open_zip(path):
    """The zip at ``path``, open (ValueError: not a readable zip file)."""
    import zipfile

    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValueError(f"{path}: not a readable zip file ({exc})") from None


@contextlib.contextmanager
def _open_member(zf, info, path):
    """A binary stream of the member ``info`` of the open zip ``zf`` (a damaged member: its header, or its data as
    the reader goes, a ValueError said as the zip's)."""
    import zipfile
    import zlib

    try:
        with zf.open(info) as fh:
            yield fh
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise ValueError(f"{path}: not a readable zip file ({exc})") from None


@contextlib.contextmanager
def open_csv_bytes(path: Path):
    """A binary stream of the CSV text of ``path``: the one member of a zip, a ``.gz`` / ``.zst`` file
    decompressed, or the file itself (ValueError: a zip that is not one, or of several files)."""
    if _is_zip(path):
        with _open_zip(path) as zf, _open_member(zf, _zip_member(zf, path), path) as fh:
            yield fh
        return
    from liqcore.venues.files import open_binary

    with open_binary(path) as fh:
        yield fh


class _Inflater:
    """A zip member's raw deflate data as a readable stream, inflated in slices by ``zlib_mod``
    (ISA-L's zlib), its CRC and size checked at the end (ValueError: damaged)."""

    def __init__(self, raw: bytes, crc: int, size: int, zlib_mod):
        self._raw = memoryview(raw)
        self._pos = 0
        self._d = zlib_mod.decompressobj(-15)
        self._crc_fn = zlib_mod.crc32
        self._want = (crc & 0xFFFFFFFF, size)
        self._crc = 0
        self._size = 0
        self._buf = b""
        self.closed = False

    def _more(self) -> bytes:
        d = self._d
        if d.unconsumed_tail:
            out = d.decompress(d.unconsumed_tail, 8 << 20)
        elif self._pos < len(self._raw):
            chunk = self._raw[self._pos:self._pos + (2 << 20)]
            self._pos += len(chunk)
            out = d.decompress(chunk, 8 << 20)
        else:
            out = d.flush()
            if not out:
                if (self._crc, self._size) != self._want:
                    raise ValueError("zip member damaged: CRC or size does not match")
                return b""
        self._crc = self._crc_fn(out, self._crc)
        self._size += len(out)
        return out

    def read(self, n: int = -1) -> bytes:
        parts = [self._buf] if self._buf else []
        have = len(self._buf)
        self._buf = b""
        while n < 0 or have < n:
            out = self._more()
            if not out:
                if self._d.eof or self._pos >= len(self._raw):
                    break
                continue
            parts.append(out)
            have += len(out)
        data = b"".join(parts)
        if 0 <= n < len(data):
            data, self._buf = data[:n], data[n:]
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True


@contextlib.contextmanager
def open_csv_arrow(path: Path):
    """Like :func:`open_csv_bytes`, for pyarrow's reader: a zip member stored with deflate is inflated
    by pyarrow itself (no Python in the loop; framed as gzip with the CRC and size the zip lists, so
    a damaged member still fails its check), read ahead while the rows are parsed."""
    import struct
    import zipfile

    if _is_zip(path):
        try:
            with zipfile.ZipFile(path) as zf:
                info = _zip_member(zf, path)
                with open(path, "rb") as fh:
                    fh.seek(info.header_offset)
                    local = fh.read(30)
                    ok = (len(local) == 30 and local[:4] == _ZIP_MAGIC and not info.flag_bits & 1
                          and info.compress_type in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED))
                    if ok:
                        n, m = struct.unpack("<HH", local[26:30])
                        fh.seek(info.header_offset + 30 + n + m)
                        raw = fh.read(info.compress_size)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ValueError(f"{path}: not a readable zip file ({exc})") from None
        if ok and len(raw) == info.compress_size:
            import pyarrow as pa

            if info.compress_type == zipfile.ZIP_STORED:
                yield pa.BufferReader(raw)
                return
            try:  # ISA-L inflates about twice as fast as zlib (optional: pip install isal)
                from isal import isal_zlib
            except ImportError:
                isal_zlib = None
            if isal_zlib is not None and info.file_size <= _WHOLE_MEMBER:
                try:
                    text = isal_zlib.decompress(raw, -15)
                except isal_zlib.error as exc:
                    raise ValueError(f"{path}: damaged zip member ({exc})") from None
                del raw
                if len(text) != info.file_size or isal_zlib.crc32(text) != info.CRC & 0xFFFFFFFF:
                    raise ValueError(f"{path}: damaged zip member (CRC or size does not match)")
                yield pa.BufferReader(text)  # parsed by pyarrow's threads while nothing else waits
                return
            if isal_zlib is not None:
                yield _Inflater(raw, info.CRC, info.file_size, isal_zlib)
                return
            framed = b"".join((b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", raw,
                               struct.pack("<II", info.CRC & 0xFFFFFFFF, info.file_size & 0xFFFFFFFF)))
            del raw
            yield pa.CompressedInputStream(pa.BufferReader(framed), "gzip")
            return
    with open_csv_bytes(path) as fh:
        yield fh


def zip_size(path) -> int | None:
    """The size of the one file a zip holds, once inflated (None: not a zip, or a zip of several files, which a
    reader of its own may take).  ValueError where it is not a readable zip, or its one file does not inflate:
    said as the file's own problem, not as a format that cannot be told."""
    if not _is_zip(path):
        return None
    with _open_zip(path) as zf:  # (opened once: its directory, then its one file)
        members = [i for i in zf.infolist() if not i.is_dir()]
        if len(members) != 1:
            return None
        with _open_member(zf, members[0], path) as fh:
            fh.read(1 << 14)  # (its first block inflates: a damaged start is found here)
    return int(members[0].file_size)


def first_line(path: Path, head: bytes | None = None) -> bytes:
    """The first line of the CSV text of ``path`` (b"" when it cannot be read)."""
    try:
        if head is not None and not _is_zip(path, head):
            data = head
        else:
            with open_csv_bytes(path) as fh:
                data = fh.read(1 << 14)
    except (ValueError, OSError, EOFError):
        return b""
    line = data.split(b"\n", 1)[0].strip()
    return line[3:] if line.startswith(b"\xef\xbb\xbf") else line


def header_cells(line: bytes) -> list:
    """The cells of a first line as header names (lower case, the part before ``/`` of a bilingual
    name), or [] when it is a data row (its first cell is a number or a date)."""
    cells = [c.strip() for c in line.decode("utf-8", "replace").split(",")]
    if not cells or not cells[0] or re.match(_NUM_RE, cells[0]) or _DATE_RE.match(cells[0]):
        return []
    return [c.split("/", 1)[0].strip().lower() for c in cells]


def _name_date_range(path: Path) -> tuple | None:
    """[start, end) ns of the day (or month) a file's name gives, widened by a day each side."""
    m = None
    for m in _DATE_RE.finditer(path.name):
        pass
    if m is None:
        return None
    try:
        y, mo = int(m.group(1)), int(m.group(2))
        if m.group(3):
            d0 = np.datetime64(f"{y:04d}-{mo:02d}-{int(m.group(3)):02d}", "D")
            d1 = d0 + 1
        else:
            d0 = np.datetime64(f"{y:04d}-{mo:02d}", "M").astype("datetime64[D]")
            d1 = (np.datetime64(f"{y:04d}-{mo:02d}", "M") + 1).astype("datetime64[D]")
    except ValueError:
        return None
    return (int(d0.astype(np.int64)) - 1) * _DAY_NS, (int(d1.astype(np.int64)) + 1) * _DAY_NS


# --------------------------------------------------------------------------------------- reading


class Columns:
    """The columns of one file: ``values[name]`` (numpy), ``bad[name]`` (reason per row or None),
    ``raw[name]`` (the cell text of the rows that failed, for the messages), ``n`` rows."""

    def __init__(self, n: int):
        self.n = n
        self.values: dict = {}
        self.missing: dict = {}
        self.nonnum: dict = {}
        self.samples: dict = {}
        self.bad_rows = 0
        self.missing_columns: list = []


def _pa_type(t: str):
    import pyarrow as pa

    return {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "time": pa.timestamp("s"),
            "str": pa.string()}[t]


def _np(col) -> np.ndarray:
    """A pyarrow (chunked) array as numpy, chunk by chunk (``ChunkedArray.to_numpy`` imports pandas)."""
    chunks = getattr(col, "chunks", None)
    if chunks is None:
        return col.to_numpy(zero_copy_only=False)
    if len(chunks) == 1:
        return chunks[0].to_numpy(zero_copy_only=False)
    if not chunks:
        return np.zeros(0, dtype=col.type.to_pandas_dtype())
    return np.concatenate([c.to_numpy(zero_copy_only=False) for c in chunks])


def _give_back_memory() -> None:
    """Return the freed parse buffers to the system (glibc keeps freed heap memory otherwise, and a
    10 M-row file's buffers are hundreds of MB: the plausibility rule that follows would add to them)."""
    import ctypes
    import sys

    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc
            pass


@contextlib.contextmanager
def _quiet_bad_text():
    """pyarrow cannot hand a row of invalid UTF-8 with the wrong number of columns to the bad-row
    handler: it reports the decoding error as "ignored" on stderr and fails the read, which the text
    path then reads (the row counted ``bad_row``).  That report is kept off stderr while reading."""
    import sys

    prev = sys.unraisablehook

    def hook(u):
        if not isinstance(u.exc_value, UnicodeDecodeError):
            prev(u)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = prev


def read_columns(path: Path, st: FileState, layout: Layout, fmt: str) -> Columns:
    """The columns of ``layout.types`` of the file, typed (see the module text)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    line = first_line(path)
    cells = header_cells(line)
    if cells:
        if not layout.header_fits(cells):
            raise ValueError(f"format: {path} does not fit --format {fmt}: its header is "
                             f"{line[:120].decode('utf-8', 'replace')!r}, expected columns "
                             f"{','.join(layout.required or layout.types)}")
        names = [c if c not in cells[:i] else f"{c}_{i}" for i, c in enumerate(cells)]
        skip = 1
    else:
        ncol = line.count(b",") + 1 if line else len(layout.names)
        names = list(layout.names[:ncol]) + [f"extra_{i}" for i in range(len(layout.names), ncol)]
        if ncol < len(layout.names) and line:
            names = list(layout.names)  # short first row: counted bad_row below
        skip = 0
    wanted = [c for c in layout.types if c in names]
    bad_rows = [0]

    def _bad_row(row):
        bad_rows[0] += 1
        return "skip"

    ropts = pacsv.ReadOptions(column_names=names, skip_rows=skip, block_size=16 << 20)
    popts = pacsv.ParseOptions(quote_char=False, invalid_row_handler=_bad_row)
    copts = pacsv.ConvertOptions(column_types={c: _pa_type(layout.types[c]) for c in wanted},
                                 include_columns=wanted, strings_can_be_null=False)
    table = None
    try:
        with open_csv_arrow(path) as fh, _quiet_bad_text():
            # the system allocator: its freed parse buffers can be given back (_give_back_memory)
            table = pacsv.read_csv(fh, read_options=ropts, parse_options=popts, convert_options=copts,
                                   memory_pool=pa.system_memory_pool())
    except (pa.ArrowInvalid, pa.ArrowTypeError, EOFError, OSError, UnicodeDecodeError):
        table = None
    if table is not None:
        cols = Columns(table.num_rows)
        for c in wanted:
            col = table.column(c)
            miss = _np(col.is_null()).astype(bool, copy=False) if col.null_count else np.zeros(cols.n, dtype=bool)
            t = layout.types[c]
            if t == "time":
                col = col.cast(pa.int64())
            table = table.drop_columns([c]) if c in table.column_names else table  # freed as converted
            if col.null_count == 0 and t != "str":  # the usual case: no filled copy
                col = _np(col)
            if t in ("int", "time"):
                vals = np.asarray(col if isinstance(col, np.ndarray) else
                                  _np(col.fill_null(0)), dtype=np.int64)
                if t == "time":
                    vals = vals * 1000  # seconds -> ms (told as ms by magnitude)
            elif t == "float":
                vals = np.asarray(col if isinstance(col, np.ndarray) else
                                  _np(col.fill_null(np.nan)), dtype=np.float64)
            elif t == "bool":
                vals = np.asarray(col if isinstance(col, np.ndarray) else
                                  _np(col.fill_null(False)), dtype=bool)
            else:
                vals = col
            cols.values[c] = vals
            cols.missing[c] = miss
            cols.nonnum[c] = None
        del table, col
        _give_back_memory()
    else:
        cols = _read_as_text(path, names, skip, wanted, layout, bad_rows)
    if getattr(cols, "truncated", False):  # a compressed file cut short: what came before the cut is read
        st.sink.count("truncated_file")
    if bad_rows[0]:
        st.sink.count("bad_row", bad_rows[0])
        st.culprits[("bad_row", "")] = st.culprits.get(("bad_row", ""), 0) + bad_rows[0]
    st.records += cols.n + bad_rows[0]
    cols.bad_rows = bad_rows[0]
    cols.missing_columns = [c for c in layout.types if c not in names]
    if cols.missing_columns and layout.required and any(c in layout.required for c in cols.missing_columns):
        raise ValueError(f"format: {path} lacks column(s) {', '.join(cols.missing_columns)} of --format {fmt}")
    return cols


def _read_as_text(path, names, skip, wanted, layout, bad_rows) -> Columns:
    """The slow path: the whole file as text (invalid UTF-8 replaced), each cell checked."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    from liqcore.venues.files import Blocks, DamagedMember

    truncated = False
    if _is_zip(path):
        import zipfile
        import zlib

        try:
            with open_csv_bytes(path) as fh:
                data = fh.read()
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise ValueError(f"{path}: not a readable zip file ({exc})") from None
    else:
        try:
            blk = Blocks(path)
            data = b"".join(blk)
        except DamagedMember as exc:  # a damaged gzip member: the members before it (the text it gave dropped)
            blk = Blocks(path, damaged=exc)
            data = b"".join(blk)
        truncated = blk.truncated
    data = data.decode("utf-8", "replace").encode("utf-8")
    bad_rows[0] = 0

    def _bad_row(row):
        bad_rows[0] += 1
        return "skip"

    ropts = pacsv.ReadOptions(column_names=names, skip_rows=skip)
    popts = pacsv.ParseOptions(quote_char=False, invalid_row_handler=_bad_row)
    copts = pacsv.ConvertOptions(column_types={c: pa.string() for c in wanted}, include_columns=wanted,
                                 strings_can_be_null=False)
    import io as _io

    try:
        table = pacsv.read_csv(_io.BytesIO(data), read_options=ropts, parse_options=popts, convert_options=copts)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ValueError(f"{path}: not a readable CSV file ({str(exc).splitlines()[0][:200]})") from None
    cols = Columns(table.num_rows)
    cols.truncated = truncated
    for c in wanted:
        col = pc.utf8_trim_whitespace(table.column(c))
        empty = np.asarray(_np(pc.equal(col, "")), dtype=bool)
        t = layout.types[c]
        if t in ("int", "float"):
            ok = np.asarray(_np(pc.match_substring_regex(col, _NUM_RE)), dtype=bool)
            if t == "int":  # what the fast path's int64 takes: digits, a "-", within int64
                ok &= ~np.asarray(_np(pc.match_substring_regex(col, "[.eE+]")), dtype=bool)
                ok &= _fits_int64(col)
            clean = pc.if_else(pa.array(ok), col, pa.scalar("0"))
            vals = _np(pc.cast(clean, pa.int64() if t == "int" else pa.float64()))
        elif t == "bool":
            low = pc.utf8_lower(col)
            is_true = np.asarray(_np(pc.is_in(low, pa.array(["true", "1"]))), dtype=bool)
            is_false = np.asarray(_np(pc.is_in(low, pa.array(["false", "0"]))), dtype=bool)
            ok = is_true | is_false
            vals = is_true
        elif t == "time":
            parsed = pc.strptime(col, format="%Y-%m-%d %H:%M:%S", unit="s", error_is_null=True)
            ok = ~np.asarray(_np(parsed.is_null()), dtype=bool)
            vals = np.asarray(_np(parsed.cast(pa.int64()).fill_null(0)), np.int64) * 1000
        else:
            ok = np.ones(cols.n, dtype=bool)
            vals = col
        cols.values[c] = vals
        cols.missing[c] = empty
        nonnum = ~ok & ~empty
        cols.nonnum[c] = nonnum
        if nonnum.any():
            cols.samples[c] = str(col[int(np.flatnonzero(nonnum)[0])].as_py())[:40]
    return cols


def _fits_int64(col) -> np.ndarray:
    """Which cells of integer text (an optional "-", digits) are within int64 (19-digit nanosecond times are;
    a cell of more digits, or of 19 above 9223372036854775807, is not)."""
    import pyarrow.compute as pc

    digits = pc.utf8_ltrim(col, characters="-0")  # (the sign and leading zeros: what is left are the digits)
    n = np.asarray(_np(pc.utf8_length(digits)), dtype=np.int64)
    ok = n < 19
    edge = n == 19
    if edge.any():
        neg = pc.starts_with(col, "-")
        limit = pc.if_else(neg, "9223372036854775808", "9223372036854775807")
        ok |= edge & np.asarray(_np(pc.fill_null(pc.less_equal(digits, limit), False)), dtype=bool)
    return ok


# ------------------------------------------------------------------------------------ the checks


class Rows:
    """The rows of one file being checked: each failed row is counted once, by its first reason."""

    def __init__(self, st: FileState, cols: Columns, path: Path):
        self.st = st
        self.cols = cols
        self.path = path
        self.bad = np.zeros(cols.n, dtype=bool)
        self.found: dict = {}  # (reason, column) -> (count, sample)

    def reject(self, mask: np.ndarray, reason: str, column: str, sample=None) -> None:
        new = mask & ~self.bad
        k = int(np.count_nonzero(new))
        if not k:
            return
        if sample is None:
            v = self.cols.values.get(column)
            if v is not None and hasattr(v, "__getitem__") and isinstance(v, np.ndarray):
                sample = v[int(np.flatnonzero(new)[0])]
                sample = sample.item() if hasattr(sample, "item") else sample
        prev = self.found.get((reason, column), (0, sample, int(np.flatnonzero(new)[0])))
        self.found[(reason, column)] = (prev[0] + k, prev[1], prev[2])
        self.st.sink.count(reason, k)
        self.st.culprits[(reason, column)] = self.st.culprits.get((reason, column), 0) + k
        self.bad |= new

    def parsed(self, column: str) -> np.ndarray:
        """Values of a numeric column; empty and unparsable cells rejected."""
        c = self.cols
        self.reject(c.missing[column], "missing_field", column, "")
        if c.nonnum[column] is not None:
            self.reject(c.nonnum[column], "non_numeric", column, c.samples.get(column))
        return c.values[column]

    def ids(self, column: str) -> None:
        """A trade id column checked: a cell that is no integer within int64 is ``non_numeric`` and its row
        dropped (it makes the fast path read the file as text, which comes here); an empty cell is no id (0), its
        row kept, as both paths read it."""
        c = self.cols
        if c.nonnum.get(column) is not None:
            self.reject(c.nonnum[column], "non_numeric", column, c.samples.get(column))

    def positive(self, column: str, allow_zero: bool = False) -> np.ndarray:
        v = self.parsed(column).astype(np.float64, copy=False)
        self.reject(~np.isfinite(v), "non_finite", column)
        self.reject((v < 0) if allow_zero else (v <= 0), "non_positive", column)
        return v

    def finite(self, column: str) -> np.ndarray:
        v = self.parsed(column).astype(np.float64, copy=False)
        self.reject(~np.isfinite(v), "non_finite", column)
        return v

    def time(self, column: str) -> np.ndarray:
        """Event times in ns, the unit of each cell told by its magnitude."""
        v = self.parsed(column)
        ns = to_ns(v)
        self.reject(ns == 0, "bad_time", column)
        rng = _name_date_range(self.path)
        if rng is not None:
            self.reject((ns != 0) & ((ns < rng[0]) | (ns >= rng[1])), "implausible_time", column)
        return ns

    def side(self, column: str, table: dict) -> np.ndarray:
        """Side codes of a text column through ``table`` (lower-cased cell -> code)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        col = self.cols.values[column]
        if isinstance(col, np.ndarray):  # a bool column (is_buyer_maker)
            return col
        low = pc.utf8_lower(pc.utf8_trim_whitespace(col))
        keys = list(table)
        idx = np.asarray(_np(pc.index_in(low, value_set=pa.array(keys)).fill_null(-1)))
        codes = np.asarray([table[k] for k in keys] + [0], dtype=np.int8)[idx]
        unknown = idx < 0
        if unknown.any():
            sample = str(col[int(np.flatnonzero(unknown & ~self.bad)[0])].as_py())[:40] if (unknown & ~self.bad).any() \
                else None
            self.reject(unknown, "bad_side", column, sample)
        return codes

    def symbols(self, column_or_name, venue: int, sink) -> np.ndarray:
        """Symbol ids: of one name for every row (a str), or of each row's cell of a text column."""
        import pyarrow.compute as pc

        from liqcore.venues.common import Reject

        if isinstance(column_or_name, str) and column_or_name not in self.cols.values:
            try:
                sid = sink.sid(venue, column_or_name)
            except Reject:
                self.reject(np.ones(self.cols.n, dtype=bool), "bad_symbol", "symbol", column_or_name)
                sid = 0
            return np.full(self.cols.n, sid, dtype=np.int32)
        col = pc.utf8_upper(pc.utf8_trim_whitespace(self.cols.values[column_or_name]))
        enc = col.combine_chunks().dictionary_encode() if hasattr(col, "combine_chunks") else col.dictionary_encode()
        idx = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        ids = np.zeros(len(enc.dictionary), dtype=np.int32)
        bad = np.zeros(len(enc.dictionary), dtype=bool)
        for j, name in enumerate(enc.dictionary.to_pylist()):
            try:
                ids[j] = sink.sid(venue, name)
            except Reject:
                bad[j] = True
        if bad.any():
            sample = enc.dictionary[int(np.flatnonzero(bad)[0])].as_py()
            self.reject(bad[idx], "bad_symbol", column_or_name, str(sample)[:40])
        return ids[idx]

    def check_bulk(self, fmt: str) -> None:
        """Strict: the first bad row is an error.  A file most of whose rows fail: an error naming
        the column and what it holds."""
        st = self.st
        n_bad = int(np.count_nonzero(self.bad)) + getattr(self.cols, "bad_rows", 0)
        if st.strict and n_bad:
            if not self.found:
                raise ValueError(f"{st.path}: bad_row ({n_bad:,} row(s) with the wrong number of columns)")
            (reason, column), (_k, _s, first) = min(self.found.items(), key=lambda kv: kv[1][2])
            raise ValueError(f"{st.path}: data row {first + 1}: {reason} ({column})")
        total = st.records
        if total and n_bad * 2 > total:
            if self.found:
                (reason, column), (k, sample, _first) = max(self.found.items(), key=lambda kv: kv[1][0])
                what = f"column {column!r} looks wrong: {reason} in {k:,} of {total:,} rows"
                if sample not in (None, ""):
                    what += f" (e.g. {sample!r})"
            else:
                what = f"{n_bad:,} of {total:,} rows have the wrong number of columns"
            raise ValueError(f"format: {st.path} does not fit --format {fmt}: {what}")

    def keep(self) -> np.ndarray:
        return ~self.bad


def to_ns(v: np.ndarray) -> np.ndarray:
    """Times in any unit -> int64 ns (the unit of each value told by its magnitude); 0 where the
    time is outside 2000 .. 2100."""
    v = np.asarray(v)
    if v.dtype.kind in "iu" and len(v):  # the usual case: one unit for the whole file
        lo, hi = int(v.min()), int(v.max())
        for mul, top in ((1_000_000, 10**14), (1_000, 10**17)):  # ms, us
            if lo >= top // 1000 and hi < top and lo * mul >= _NS_MIN and hi * mul < _NS_MAX:
                return v.astype(np.int64, copy=False) * mul
    f = np.asarray(v, dtype=np.float64)
    a = np.abs(f)
    scale = np.where(a < 1e11, 1e9, np.where(a < 1e14, 1e6, np.where(a < 1e17, 1e3, 1.0)))
    with np.errstate(invalid="ignore", over="ignore"):
        approx = f * scale
    ok = np.isfinite(approx) & (approx >= _NS_MIN) & (approx < _NS_MAX)
    out = np.zeros(len(f), dtype=np.int64)
    if np.asarray(v).dtype.kind in "iu":
        iv = np.asarray(v, dtype=np.int64)
        out[ok] = iv[ok] * scale[ok].astype(np.int64)
    else:  # fractional seconds: kept to the microsecond
        secs = ok & (scale == 1e9)
        out[secs] = np.round(f[secs] * 1e6).astype(np.int64) * 1000
        rest = ok & ~secs
        out[rest] = np.round(approx[rest]).astype(np.int64)
    return out


def build(n: int, ts, price, qty, sid, side, kind: int, venue: int, idx=None) -> np.ndarray:
    """Events from columns (``idx``: the rows to take, in order: each column gathered in turn, so
    only one gathered column exists at a time)."""
    def take(v):
        return v[idx] if idx is not None and np.ndim(v) else v

    out = np.empty(n, dtype=EVENT_DTYPE)
    out["ts_event"] = take(ts)
    out["ts_recv"] = RECV_UNKNOWN
    out["price"] = take(price)
    out["qty"] = take(qty)
    out["symbol_id"] = take(sid)
    out["side"] = take(side)
    out["kind"] = kind
    out["venue"] = venue
    out["flags"] = 0
    return out


def kept_in_order(ts: np.ndarray, keep: np.ndarray, st: FileState):
    """The indices of the kept rows in time order (stable), or a slice when that is all of them in
    file order; how many kept rows moved is counted in the file's ``reordered``."""
    all_kept = bool(keep.all())
    idx = slice(None) if all_kept else np.flatnonzero(keep)
    t = ts if all_kept else ts[idx]
    moved = 0
    if len(t) > 1 and not bool(np.all(t[1:] >= t[:-1])):
        order = np.argsort(t, kind="stable")
        moved = int(np.count_nonzero(order != np.arange(len(order))))
        idx = order if all_kept else idx[order]
    st.info["reordered"] = st.info.get("reordered", 0) + moved
    return idx


def in_time_order(events: np.ndarray, st: FileState, group: int = 1) -> np.ndarray:
    """Events in time order (stable); how many rows moved is counted in ``reordered`` (a file's info).
    ``group``: rows that belong together (a top-of-book update's two rows) move as one."""
    ts = events["ts_event"][::group]
    if len(ts) < 2 or bool(np.all(ts[1:] >= ts[:-1])):
        moved = 0
    else:
        order = np.argsort(ts, kind="stable")
        moved = int(np.count_nonzero(order != np.arange(len(order))))
        if group == 1:
            events = events[order]
        else:
            idx = (order[:, None] * group + np.arange(group)).reshape(-1)
            events = events[idx]
    info = getattr(st, "info", None)
    if isinstance(info, dict):
        info["reordered"] = info.get("reordered", 0) + moved
    return events


def name_symbol(path: Path, pattern: re.Pattern) -> str | None:
    """The symbol a file's name gives (``pattern``'s first group), or None."""
    m = pattern.match(path.name)
    return m.group(1).upper() if m else None


def finish(events: np.ndarray, st: FileState, rows: Rows, fmt: str, group: int = 1) -> np.ndarray:
    """The end of every archive load: the bulk check, time order (rows moved counted), and the file's
    report (``reordered``, ``span``, ``found``: venue, symbols and kinds)."""
    from liqcore.venues.common import KIND_NAMES
    from liqcore.types import Venue

    rows.check_bulk(fmt)
    if "reordered" not in st.info:
        events = in_time_order(events, st, group)
    rows.cols.values.clear()
    _give_back_memory()  # before the plausibility rule, which needs about twice the events' size
    if len(events):
        st.info["span"] = f"{fmt_ns(int(events['ts_event'].min()))}..{fmt_ns(int(events['ts_event'].max()))}"
        reg = st.sink.registry
        names = []
        for sid in np.unique(events["symbol_id"])[:5]:
            try:
                v, s = reg.lookup(int(sid))
                names.append(f"{Venue(int(v)).name.lower()}:{s}")
            except Exception:  # noqa: BLE001 - a report, never a failure
                names.append(str(int(sid)))
        kinds = ",".join(KIND_NAMES.get(int(k), str(k)) for k in np.unique(events["kind"]))
        st.info["found"] = f"{'+'.join(names)}/{kinds}"
    return events

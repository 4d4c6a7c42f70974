"""Rows of a Parquet row group decoded page by page: the data pages that hold rows ``[r0, r1)`` of a column
chunk, not the whole chunk (:func:`read_rows`).  pyarrow reads a row group whole (a call costs about a
millisecond for 16,384 rows); a checked partition file of format 3 is written in pages of two first-passage
blocks (2,048 rows: :mod:`liqcore.dataset.write`), so a read of a few seconds decompresses and decodes a page
or two per column.

What is decoded is what pyarrow's ``read_row_groups(...).column(c).to_numpy()`` gives, value for value and
bit for bit: data pages v1 and v2; no compression, ZSTD, and the other codecs through pyarrow's own
decompressors; PLAIN, DELTA_BINARY_PACKED, BYTE_STREAM_SPLIT and dictionary (RLE_DICTIONARY, PLAIN_DICTIONARY
over a PLAIN dictionary page) values; a flat column, required or optional (its definition levels, RLE / bit-packed); a
null of a floating column NaN.  Anything else -- another encoding, a nested column, a null in an integer
column, a page that does not add up -- is not decoded here (None) and the caller reads the group with
pyarrow.  The page loop and its byte-level pieces (page headers, DELTA_BINARY_PACKED, RLE / bit-packed runs,
dictionaries, nulls) are the compiled kernel :func:`liqcore._libs.reading.decode_chunk` (its twin
``pysrc/pqpages.py``: a Python loop of about 25 us a chunk there, one call here); a row group's chunks placed by
their offset indexes are read and decoded together by one compiled call (:func:`read_placed_rows`).  The
formats: the Parquet format's Thrift definitions (``PageHeader``) and encodings.

May import: numpy, zstandard, pyarrow (inside functions), ``liqcore._libs.reading``.
"""
from __future__ import annotations

import functools
import os
import threading
from collections import OrderedDict
from typing import NamedTuple

import numpy as np

__all__ = ["Chunk", "Placed", "chunks_of", "decode", "dtype_of", "placed", "read_placed_rows", "read_rows"]

# Thrift codes (parquet.thrift): physical types, repetition, converted types, codecs, encodings, page types
_INT32, _INT64, _FLOAT, _DOUBLE = 1, 2, 4, 5
_REQUIRED, _OPTIONAL = 0, 1
_INT_8, _UINT_8, _INT_16, _UINT_16, _INT_32, _UINT_32, _INT_64, _UINT_64 = 15, 11, 16, 12, 17, 13, 18, 14
_UNCOMPRESSED, _ZSTD = 0, 6
_CODEC_NAMES = {1: "snappy", 2: "gzip", 4: "brotli", 7: "lz4_raw"}

#: the numpy type a column gives, by its physical type and converted type (-1: none)
_DTYPES = {(_INT64, -1): np.dtype(np.int64), (_INT32, -1): np.dtype(np.int32),
           (_INT64, _INT_64): np.dtype(np.int64), (_INT32, _INT_32): np.dtype(np.int32),
           (_INT64, _UINT_64): np.dtype(np.uint64), (_INT32, _UINT_32): np.dtype(np.uint32),
           (_INT32, _INT_8): np.dtype(np.int8), (_INT32, _UINT_8): np.dtype(np.uint8),
           (_INT32, _INT_16): np.dtype(np.int16), (_INT32, _UINT_16): np.dtype(np.uint16),
           (_DOUBLE, -1): np.dtype(np.float64), (_FLOAT, -1): np.dtype(np.float32)}


def dtype_of(column: tuple) -> np.dtype | None:
    """The numpy type a flat column of a footer scan's leaf schema (``(name, physical, repetition, converted)``,
    Thrift codes) is decoded as (its Arrow type's, as pyarrow gives it); None for another kind of column."""
    return _DTYPES.get((int(column[1]), int(column[3])))


class Chunk(NamedTuple):
    """One column chunk of a row group: its bytes ``[start, end)`` in the file (from its dictionary page when it
    has one), its codec, physical type and maximum definition level (Thrift codes), the numpy type of its
    values and the rows of its row group.  (A named tuple: one per column and row group, kept per footer by :func:`chunks_of`.)"""

    start: int
    end: int
    codec: int
    physical: int
    max_def: int
    dtype: np.dtype
    rows: int
    first_page: int = -1  # its first data page's offset (the footer's data_page_offset)
    index_at: int = -1  # its offset index's place and length in the file (the Parquet page index; -1: none)
    index_len: int = 0


def chunks_of(schema: tuple, chunks: np.ndarray, rows: np.ndarray, g: int, names, want: dict,
              key=None) -> list | None:
    """The :class:`Chunk` of each column ``names`` of row group ``g``, from a footer scan's leaf ``schema``
    (``(name, physical, repetition, converted)`` each) and column ``chunks`` (groups x columns,
    :data:`liqcore._libs.reading.CHUNK_DTYPE`); ``want``: name -> the numpy type the caller reads it as (its
    Arrow type's).  None when a column is missing, nested or repeated, or not stored as that type plainly.
    ``key``: what identifies the footer (its file's path and stat key): the answer is kept under it for the next
    read of the group (:data:`_KEPT_CHUNKS`; about 17 us a group made, a dict look-up kept)."""
    if key is not None:
        k = (key, g, tuple(names), tuple(want.items()))  # (the answer depends on the types asked for too)
        hit = _KEPT_CHUNKS.get(k, _MISSING)
        if hit is _MISSING:
            if len(_KEPT_CHUNKS) >= 4096:
                _KEPT_CHUNKS.clear()
            hit = _KEPT_CHUNKS[k] = chunks_of(schema, chunks, rows, g, names, want)
        return hit
    cols = _columns(schema, tuple(names), tuple(want.items()))
    if cols is None:
        return None
    fields = chunks.dtype.names
    k_codec, k_data, k_dict, k_size = (fields.index(k) for k in ("codec", "data_page_offset", "dictionary_page_offset",
                                                                 "total_compressed_size"))
    k_oi, k_oil = (fields.index(k) for k in ("offset_index_offset", "offset_index_length"))
    row = chunks[g].tolist()  # (the group's chunks as tuples: a numpy record's field costs a microsecond a read)
    n_rows = int(rows[g])
    out = []
    for j, physical, max_def, dtype in cols:
        x = row[j]
        start = int(x[k_data])
        if int(x[k_dict]) > 0:
            start = min(start, int(x[k_dict]))
        out.append(Chunk(start, start + int(x[k_size]), int(x[k_codec]), physical, max_def, dtype, n_rows,
                         int(x[k_data]), int(x[k_oi]), int(x[k_oil])))
    return out


@functools.lru_cache(maxsize=1024)
def _columns(schema: tuple, names: tuple, want: tuple) -> tuple | None:
    """:func:`chunks_of`'s part that depends on the schema alone: per column ``names``, ``(its place, physical
    type, maximum definition level, numpy type)``; None where one is missing or not stored as its type plainly."""
    at = {c[0]: j for j, c in enumerate(schema)}
    want = dict(want)
    out = []
    for name in names:
        j = at.get(name)
        if j is None:
            return None
        _n, physical, repetition, converted = schema[j]
        dtype = _DTYPES.get((int(physical), int(converted)))
        if dtype is None or dtype != np.dtype(want.get(name, dtype)) or int(repetition) not in (_REQUIRED, _OPTIONAL):
            return None
        out.append((j, int(physical), int(repetition == _OPTIONAL), dtype))
    return tuple(out)


_ZSTD_D: list = []  # the process's zstd decompressor (made on first use)


def _decompress(codec: int, data, usize: int):
    if codec == _UNCOMPRESSED:
        out = data
    elif codec == _ZSTD:
        if not _ZSTD_D:
            import zstandard

            _ZSTD_D.append(zstandard.ZstdDecompressor())
        try:
            out = _ZSTD_D[0].decompress(data, max_output_size=max(usize, 1))
        except Exception as e:  # (zstandard.ZstdError: not a frame, or a broken one)
            raise ValueError(f"a page does not decompress: {e}") from None
    elif codec in _CODEC_NAMES:
        import pyarrow as pa

        try:
            out = memoryview(pa.Codec(_CODEC_NAMES[codec]).decompress(data, decompressed_size=usize)).cast("B")
        except (pa.ArrowException, OSError) as e:
            raise ValueError(f"a page does not decompress: {e}") from None
    else:
        return None
    if len(out) != usize:
        raise ValueError(f"a page decompressed to {len(out)} bytes, its header says {usize}")
    return out


def decode(buf, c: Chunk, r0: int, r1: int, prefix: bool = False, row0: int = 0,
           rows: int | None = None) -> np.ndarray | None:
    """Rows ``[r0, r1)`` of the column chunk ``c`` whose bytes are ``buf`` (the file's ``[c.start, c.end)``),
    decoding only the data pages that hold them (and the dictionary page): the compiled
    :func:`~liqcore._libs.reading.decode_chunk`, its values as ``c.dtype``; None where the chunk is not one this
    module decodes (module docstring).  ValueError when its bytes do not add up.  ``prefix``: ``buf`` may be the
    chunk's first bytes only (:func:`read_rows`; ValueError where they end before the rows).  ``row0``,
    ``rows``: ``buf`` is the dictionary page and the data pages of rows ``[row0, rows)`` alone (as
    :func:`~liqcore._libs.reading.read_placed` reads them)."""
    from liqcore._libs.reading import decode_chunk

    v = decode_chunk(buf, c.codec, c.physical, c.max_def, c.rows if rows is None else rows, r0, r1, _decompress,
                     prefix, row0)
    if v is None or v.dtype == c.dtype:
        return v
    return v.astype(c.dtype)


#: read a chunk's first bytes only where the rows asked for end well before its last page (off: every chunk whole)
PREFIX_READS = True
_MARGIN = 16  # (a prefix read: the rows' share of the chunk's bytes, a sixteenth of them and a kilobyte more;
# in a 30-day run 3 of 8,124 reads fell short and read the chunk again, and a third fewer bytes were read)


#: read only the pages that hold the rows where a chunk has an offset index (off: the prefix read below)
PAGE_INDEX = True
#: bytes read by :func:`read_rows` since the process started (what the benches report), and the chunks it read
#: without an offset index (a file written before the writer wrote one: ``backtest`` notes it)
READ_BYTES = [0]
UNPLACED = [0]


def index_bytes(fd: int, chunk_lists) -> tuple | None:
    """The offset indexes of the chunks of ``chunk_lists`` (lists of :class:`Chunk`) in one read of the file open
    as ``fd`` -> ``(first byte, bytes)`` for :func:`read_rows`'s ``index`` (a writer puts them one after another
    before the footer: one read, not one per chunk); None where none has one, or they lie over
    :data:`_INDEX_READ` bytes apart."""
    lo = hi = -1
    for chunks in chunk_lists:
        for c in chunks or ():
            if c.index_len > 0 and c.index_at >= 0:
                lo = c.index_at if lo < 0 else min(lo, c.index_at)
                hi = max(hi, c.index_at + c.index_len)
    return _index_read(fd, lo, hi)


def _index_read(fd: int, lo: int, hi: int) -> tuple | None:
    """The file's bytes ``[lo, hi)`` -> ``(lo, bytes)``: the offset indexes of a read's chunks (None: none, ``lo``
    -1, or farther apart than :data:`_INDEX_READ`)."""
    if lo < 0 or hi - lo > _INDEX_READ:
        return None
    raw = os.pread(fd, hi - lo, lo)
    READ_BYTES[0] += len(raw)
    return lo, raw


_INDEX_READ = 1 << 20  # (a read's chunks' offset indexes farther apart: read chunk by chunk)


def read_rows(fd: int, chunks: list, names, r0: int, r1: int, index: tuple | None = None) -> dict | None:
    """Rows ``[r0, r1)`` of the columns ``names`` (their :class:`Chunk` s ``chunks``, :func:`chunks_of`) of the
    file open as ``fd`` -> name -> values; None when one of them is not decoded here.  Where the rows end well
    before the chunk's end, its first bytes are read -- as many as the rows' share of the chunk's, a sixteenth and
    a kilobyte more (a writer's pages hold about as many rows each) -- and decoded up to the page that holds the
    last row (the pages after it are not read, as those before the rows are not decompressed; a checked read has
    verified the row group's bytes before); where those bytes end before that page, the chunk is read whole.

    A chunk with an offset index (a file written with the Parquet page index: :mod:`liqcore.dataset.write`) reads
    its dictionary page and the data pages that hold the rows alone, the chunks of a call together
    (:func:`~liqcore._libs.reading.read_placed`: an index that does not place the chunk's pages exactly within its
    bytes, which the footer's checked mark covers, is not used); a file written before has none and is read as
    above.  ``index``: the chunks' offset indexes as read already (:func:`index_bytes`)."""
    rows = np.array([[c.start, c.end, c.codec, c.physical, c.max_def, c.rows, c.first_page, c.index_at, c.index_len]
                     for c in chunks], np.int64).reshape(len(chunks), len(PLACED_FIELDS))
    return _read(fd, rows, tuple(c.dtype for c in chunks), names, r0, r1, index, lambda: chunks)


def _unplaced(fd: int, c: Chunk, r0: int, r1: int):
    """Rows ``[r0, r1)`` of chunk ``c`` read without its offset index (:func:`read_rows`: its first bytes where
    the rows end well before its end, else the whole chunk)."""
    size = c.end - c.start
    v, want = _MISSING, size
    if PREFIX_READS and r1 > r0 and c.rows > 0:
        want = min(size, size * r1 // c.rows + size // _MARGIN + 1024)
    if want < size:
        head = os.pread(fd, want, c.start)
        READ_BYTES[0] += len(head)
        if len(head) == want:
            try:
                v = decode(head, c, r0, r1, prefix=True)
            except ValueError:  # (ended before the rows' last page, or bytes that do not add up: read whole)
                v = _MISSING
    if v is _MISSING:
        buf = os.pread(fd, size, c.start)
        READ_BYTES[0] += len(buf)
        if len(buf) != size:
            raise ValueError("a column chunk past the file's end")
        v = decode(buf, c, r0, r1)
    return v


#: the chunk rows of :func:`placed`, by field (:func:`liqcore._libs.reading.read_placed`'s ``cols``)
PLACED_FIELDS = ("start", "end", "codec", "physical", "max_def", "rows", "first_page", "index_at", "index_len")


class Placed(NamedTuple):
    """:func:`placed`'s answer: the chunk rows ``table`` (``groups x columns x`` :data:`PLACED_FIELDS`, int64),
    each column's numpy type, and per group its chunks' offset indexes' span in the file (``(first byte, end)``,
    None: none has one; a sequence: a read looks a group up, no array pass) and whether one of its chunks has one."""

    table: np.ndarray
    dtypes: tuple
    spans: list
    indexed: list = ()


class _IndexSpans:
    """:attr:`Placed.spans` made group by group when a read asks (a month's files hold thousands of groups, and a
    run looks up a few of each): per group ``(first byte, end)`` of its chunks' offset indexes, None for none."""

    __slots__ = ("lo", "hi", "has")

    def __init__(self, lo: np.ndarray, hi: np.ndarray, has: np.ndarray):
        self.lo, self.hi, self.has = lo, hi, has

    def __len__(self) -> int:
        return len(self.has)

    def __getitem__(self, g: int):
        return (int(self.lo[g]), int(self.hi[g])) if self.has[g] else None


def placed(schema: tuple, chunks: np.ndarray, rows: np.ndarray, names, want: dict, key=None) -> Placed | None:
    """:func:`chunks_of` of every row group at once, as the compiled reader takes them (:class:`Placed`); None where
    a column is missing or not stored as its type plainly (:func:`chunks_of`'s None).  ``key``: what identifies the
    footer (its file's path and stat key): the answer is kept under it (one numpy pass a file and set of columns,
    not a Python loop a group).  ``want``: each column's numpy type, a dict or its items (a tuple: no new key made)."""
    if key is not None:
        k = (key, tuple(names), want if isinstance(want, tuple) else tuple(want.items()))
        hit = _KEPT_PLACED.get(k, _MISSING)
        if hit is _MISSING:
            if len(_KEPT_PLACED) >= 256:
                _KEPT_PLACED.clear()
            hit = _KEPT_PLACED[k] = placed(schema, chunks, rows, names, want)
        return hit
    cols = _columns(schema, tuple(names), want if isinstance(want, tuple) else tuple(want.items()))
    if cols is None:
        return None
    js = [c[0] for c in cols]

    def field(name):  # (a field's view, then its columns: a structured array's own fancy index is ten times slower)
        return chunks[name][:, js].astype(np.int64)

    data, dic = field("data_page_offset"), field("dictionary_page_offset")
    start = np.where(dic > 0, np.minimum(data, dic), data)
    t = np.empty(data.shape + (len(PLACED_FIELDS),), np.int64)
    t[..., 0] = start
    t[..., 1] = start + field("total_compressed_size")
    t[..., 2] = field("codec")
    t[..., 3] = [c[1] for c in cols]
    t[..., 4] = [c[2] for c in cols]
    t[..., 5] = np.asarray(rows, np.int64)[:, None]
    t[..., 6] = data
    t[..., 7] = at = field("offset_index_offset")
    t[..., 8] = n = field("offset_index_length")
    m = (n > 0) & (at >= 0)  # (the chunks index_bytes reads the indexes of)
    lo = np.where(m, at, np.iinfo(np.int64).max).min(axis=1, initial=np.iinfo(np.int64).max)
    hi = np.where(m, at + n, -1).max(axis=1, initial=-1)
    return Placed(t, tuple(c[3] for c in cols), _IndexSpans(lo, hi, m.any(axis=1)), (n > 0).any(axis=1).tolist())


def placed_index(fd: int, p: Placed, groups) -> tuple | None:
    """:func:`index_bytes` of the chunks of row groups ``groups`` of :class:`Placed` ``p``, in one read."""
    lo = hi = -1
    for g in groups:
        x = p.spans[g]
        if x is not None:
            lo, hi = x if lo < 0 else (min(lo, x[0]), max(hi, x[1]))
    return _index_read(fd, lo, hi)


def read_placed_rows(fd: int, p: Placed, g: int, names, r0: int, r1: int, index: tuple | None,
                     chunks) -> dict | None:
    """:func:`read_rows` of row group ``g``'s chunks (columns ``names``) given as :class:`Placed` ``p`` (no
    :class:`Chunk` made per group), the same values.  ``chunks()``: the group's :class:`Chunk` s
    (:func:`chunks_of`), asked for only where a chunk is read without its offset index."""
    return _read(fd, p.table[g], p.dtypes, names, r0, r1, index, chunks, p.indexed[g] if p.indexed else None)


def _read(fd: int, rows: np.ndarray, dtypes: tuple, names, r0: int, r1: int, index: tuple | None, chunks,
          indexed=None):
    """:func:`read_rows` of the chunks given as their rows of :data:`PLACED_FIELDS` (``rows``) and numpy types: the
    ones their offset indexes place read and decoded by one compiled call (:func:`liqcore._libs.reading.
    read_placed`, in order, up to a chunk not decoded here: None), each other read without its index
    (:func:`_unplaced`; ``chunks()``: the :class:`Chunk` s, made only then).  ``indexed``: whether a chunk has
    an offset index (None: looked up in ``rows``)."""
    vals = [False] * len(names)
    if PAGE_INDEX and r1 > r0 and (bool((rows[:, 8] > 0).any()) if indexed is None else indexed):
        from liqcore._libs.reading import read_placed

        vals, n = read_placed(functools.partial(os.pread, fd), rows, None if index is None else index[1],
                              0 if index is None else index[0], r0, r1, _decompress, dtypes)
        READ_BYTES[0] += n
    out = {}
    made = None
    for k, name in enumerate(names):
        v = vals[k]
        if v is False:  # (no index, or its index does not place its pages, or they do not decode: without it)
            if rows[k, 8] <= 0:
                UNPLACED[0] += 1
            made = chunks() if made is None else made
            v = _unplaced(fd, made[k], r0, r1)
        if v is None:
            return None
        out[name] = v
    return out


class _Kept(OrderedDict):
    """A thread's descriptors kept open by :func:`open_as` (closed as the thread's storage goes)."""

    def __del__(self, _close=os.close):  # (``os`` bound now: at the interpreter's end its module may be gone)
        for fd in self.values():
            try:
                _close(fd)
            except OSError:
                pass


_FDS = threading.local()  # (``.kept``: a :class:`_Kept` per thread; a thread of its own, no descriptor shared)
#: descriptors :func:`open_as` keeps open per thread (the last ones asked for)
KEPT_FILES = 8


def open_as(path: str, key) -> int:
    """A read-only descriptor of the file opened at ``path`` whose stat key (size, modification time, inode) is
    ``key``, the footer's, each thread's last :data:`KEPT_FILES` kept open (a window-local backtest reads a
    month's day files again and again: an open and a close each time were a fiftieth of its CPU; a caller never
    closes it).  Each call proves by the descriptor's own stat that it is still those bytes: ValueError where it
    is not (the file written to since, or another file at ``path`` when first opened).  A file replaced at
    ``path`` after it was opened is still read as the file of ``key`` (its bytes the ones verified): a reader
    proves at its end that the paths it judged are unchanged."""
    kept = getattr(_FDS, "kept", None)
    if kept is None:
        kept = _FDS.kept = _Kept()
    k = (path, tuple(key))
    fd = kept.get(k)
    if fd is None:
        fd = os.open(path, os.O_RDONLY)
        kept[k] = fd
        while len(kept) > KEPT_FILES:
            os.close(kept.popitem(last=False)[1])
    else:
        kept.move_to_end(k)
    s = os.fstat(fd)
    if (s.st_size, s.st_mtime_ns, s.st_ino) != k[1]:  # (its footer and digests were of these bytes)
        os.close(kept.pop(k))
        raise ValueError(f"dataset: {path} was replaced while being read; read it again")
    return fd


_MISSING = object()
#: :func:`chunks_of`'s answers kept, under (footer, group, columns)
_KEPT_CHUNKS: dict = {}
#: :func:`placed`'s answers kept, under (footer, columns)
_KEPT_PLACED: dict = {}


"""Reference twin of ``liqcore._libs.reading``: the byte-level pieces of a Parquet column chunk, read
byte by byte for reading's sake (the kernel's specification; the property tests hold the two equal,
errors included).

* :func:`page_headers`: the page headers of a column chunk (Thrift compact protocol structs, each followed
  by its page's payload), one :data:`PAGE_DTYPE` record per page.
* :func:`delta_binary_packed`: the first values of a DELTA_BINARY_PACKED stream and where the stream ends.
* :func:`rle_hybrid`: the first values of an RLE / bit-packed hybrid stream (levels, dictionary indices).

The formats: apache/parquet-format ``src/main/thrift/parquet.thrift`` (PageHeader, DataPageHeader,
DictionaryPageHeader, DataPageHeaderV2), ``Encodings.md``, and Apache Thrift's compact protocol.  Every
read is bounds-checked: bytes that are truncated or malformed raise ValueError.
"""
from __future__ import annotations

import numpy as np

#: one page of a column chunk: its type (0 data v1, 1 index, 2 dictionary, 3 data v2), its payload's offset
#: in the buffer and compressed / uncompressed sizes, its value count and encoding, the definition levels'
#: encoding (v1; -1 otherwise), the null count (v2; -1 otherwise), the levels' byte lengths (v2; 0 otherwise)
#: and whether the values are compressed (v2's is_compressed, default 1; 1 for the other pages)
PAGE_DTYPE = np.dtype([("type", np.int32), ("data", np.int64), ("csize", np.int64), ("usize", np.int64),
                       ("nvalues", np.int64), ("encoding", np.int32), ("def_encoding", np.int32),
                       ("nnulls", np.int64), ("def_len", np.int64), ("rep_len", np.int64),
                       ("compressed", np.int8)])

_U64 = (1 << 64) - 1
_MAX_DEPTH = 64  # nesting of Thrift structs / lists / maps a skipped value may have
# compact protocol types
_T_TRUE, _T_FALSE, _T_BYTE, _T_I16, _T_I32, _T_I64, _T_DOUBLE, _T_BINARY = 1, 2, 3, 4, 5, 6, 7, 8
_T_LIST, _T_SET, _T_MAP, _T_STRUCT, _T_UUID = 9, 10, 11, 12, 13


def _bounds(buf, pos: int, end: int) -> memoryview:
    """``buf`` as a byte view, after checking ``0 <= pos <= end <= len(buf)``."""
    view = memoryview(buf).cast("B")
    pos, end = int(pos), int(end)
    if not 0 <= pos <= end <= len(view):
        raise ValueError(f"range [{pos}, {end}) outside a buffer of {len(view)} bytes")
    return view


class _Reader:
    """A cursor over ``buf[pos:end]``: each read past ``end`` raises ValueError."""

    def __init__(self, buf: memoryview, pos: int, end: int) -> None:
        self.buf, self.pos, self.end = buf, pos, end

    def byte(self) -> int:
        if self.pos >= self.end:
            raise ValueError("truncated")
        self.pos += 1
        return self.buf[self.pos - 1]

    def skip(self, n: int) -> None:
        if n < 0 or n > self.end - self.pos:
            raise ValueError("truncated")
        self.pos += n

    def uvarint(self) -> int:
        """An unsigned LEB128 varint of at most 10 bytes, taken modulo 2**64."""
        v = 0
        for k in range(10):
            b = self.byte()
            v |= (b & 0x7F) << (7 * k)
            if b < 0x80:
                return v & _U64
        raise ValueError("varint longer than 10 bytes")

    def zigzag(self) -> int:
        """A zigzag varint: a signed 64-bit integer."""
        u = self.uvarint()
        return (u >> 1) ^ -(u & 1)

    def i32(self) -> int:
        v = self.zigzag()
        if not -(1 << 31) <= v < (1 << 31):
            raise ValueError("i32 out of range")
        return v

    def field(self, last: int) -> tuple[int, int]:
        """The next field header of a struct: (type, id); type 0 is the struct's end."""
        h = self.byte()
        t = h & 0x0F
        if t == 0:
            return 0, 0
        d = h >> 4
        if d:
            return t, last + d
        fid = self.zigzag()
        if not -(1 << 15) <= fid < (1 << 15):
            raise ValueError("field id out of range")
        return t, fid

    def skip_value(self, t: int, depth: int, in_list: bool = False) -> None:
        """Skip a value of compact type ``t`` (a bool is one byte in a list or map, none in a struct field)."""
        if depth > _MAX_DEPTH:
            raise ValueError("too deeply nested")
        if t in (_T_TRUE, _T_FALSE):
            if in_list:
                self.skip(1)
        elif t == _T_BYTE:
            self.skip(1)
        elif t in (_T_I16, _T_I32, _T_I64):
            self.uvarint()
        elif t == _T_DOUBLE:
            self.skip(8)
        elif t == _T_BINARY:
            n = self.uvarint()
            if n > self.end - self.pos:
                raise ValueError("truncated")
            self.pos += n
        elif t in (_T_LIST, _T_SET):
            h = self.byte()
            n = h >> 4
            if n == 15:
                n = self.uvarint()
            for _ in range(n):
                self.skip_value(h & 0x0F, depth + 1, True)
        elif t == _T_MAP:
            n = self.uvarint()
            if n:
                kv = self.byte()
                for _ in range(n):
                    self.skip_value(kv >> 4, depth + 1, True)
                    self.skip_value(kv & 0x0F, depth + 1, True)
        elif t == _T_STRUCT:
            self.skip_struct(depth + 1)
        elif t == _T_UUID:
            self.skip(16)
        else:
            raise ValueError(f"unknown compact type {t}")

    def skip_struct(self, depth: int) -> None:
        last = 0
        while True:
            t, last = self.field(last)
            if t == 0:
                return
            self.skip_value(t, depth)


def _expect(t: int, want: int) -> None:
    if t != want:
        raise ValueError(f"a field of compact type {t} where {want} belongs")


def _sub_header(r: _Reader, ids: dict[int, str]) -> dict[str, int]:
    """One of DataPageHeader / DictionaryPageHeader / DataPageHeaderV2: its i32 fields named in ``ids``,
    ``is_compressed`` (id 7 of v2) as a bool; every other field skipped."""
    got: dict[str, int] = {}
    last = 0
    while True:
        t, last = r.field(last)
        if t == 0:
            return got
        name = ids.get(last)
        if name is None:
            r.skip_value(t, 1)
        elif name == "compressed":
            if t not in (_T_TRUE, _T_FALSE):
                raise ValueError("is_compressed is not a bool")
            got[name] = 1 if t == _T_TRUE else 0
        else:
            _expect(t, _T_I32)
            got[name] = r.i32()


_V1 = {1: "nvalues", 2: "encoding", 3: "def_encoding"}
_DICT = {1: "nvalues", 2: "encoding"}
_V2 = {1: "nvalues", 2: "nnulls", 4: "encoding", 5: "def_len", 6: "rep_len", 7: "compressed"}
_REQUIRED = {0: ("nvalues", "encoding"), 2: ("nvalues", "encoding"),
             3: ("nvalues", "nnulls", "encoding", "def_len", "rep_len")}


def page_headers(buf, pos: int, end: int) -> np.ndarray:
    """The pages of the column chunk in ``buf[pos:end]``, in order: one :data:`PAGE_DTYPE` record each.

    Each page is a PageHeader struct then ``compressed_page_size`` payload bytes; the pages must fill the
    range exactly.  A data page (type 0), dictionary page (2) or data page v2 (3) must carry its
    sub-header with its required fields; other page types are listed with their sizes only.  ValueError
    on a truncated or malformed header, a negative size or count, a payload past ``end``, or v2 levels
    longer than the payload."""
    return np.array(list(_walk(buf, pos, end)), dtype=PAGE_DTYPE)


def _walk(buf, pos: int, end: int):
    """:func:`page_headers`' records one page at a time (a caller may stop early; an error where it is met)."""
    view = _bounds(buf, pos, end)
    pos, end = int(pos), int(end)
    r = _Reader(view, pos, end)
    while r.pos < end:
        ptype = usize = csize = None
        subs: dict[int, dict[str, int]] = {}
        last = 0
        while True:
            t, last = r.field(last)
            if t == 0:
                break
            if last in (1, 2, 3, 4):
                _expect(t, _T_I32)
                v = r.i32()
                if last == 1:
                    ptype = v
                elif last == 2:
                    usize = v
                elif last == 3:
                    csize = v
            elif last in (5, 7, 8):
                _expect(t, _T_STRUCT)
                subs[last] = _sub_header(r, {5: _V1, 7: _DICT, 8: _V2}[last])
            else:
                r.skip_value(t, 1)
        if ptype is None or usize is None or csize is None:
            raise ValueError("a page header without its type or sizes")
        if usize < 0 or csize < 0:
            raise ValueError("a negative page size")
        rec = {"nvalues": 0, "encoding": -1, "def_encoding": -1, "nnulls": -1, "def_len": 0, "rep_len": 0,
               "compressed": 1}
        if ptype in _REQUIRED:
            sub = subs.get({0: 5, 2: 7, 3: 8}[ptype])
            if sub is None or any(k not in sub for k in _REQUIRED[ptype]):
                raise ValueError(f"a page of type {ptype} without its header's required fields")
            rec.update(sub)
            if rec["nvalues"] < 0 or (ptype == 3 and rec["nnulls"] < 0):
                raise ValueError("a negative count")
            if rec["def_len"] < 0 or rec["rep_len"] < 0 or rec["def_len"] + rec["rep_len"] > min(csize, usize):
                raise ValueError("levels longer than the page")
        data = r.pos
        if csize > end - data:
            raise ValueError("a page payload past the chunk's end")
        r.pos = data + csize
        yield (ptype, data, csize, usize, rec["nvalues"], rec["encoding"], rec["def_encoding"], rec["nnulls"],
               rec["def_len"], rec["rep_len"], rec["compressed"])


def _bits(view: memoryview, bitpos: int, width: int) -> int:
    """``width`` bits at bit ``bitpos`` of ``view``, least significant bit first."""
    v = 0
    for k in range(width):
        p = bitpos + k
        v |= ((view[p >> 3] >> (p & 7)) & 1) << k
    return v


def delta_binary_packed(buf, pos: int, end: int, n: int) -> tuple[np.ndarray, int]:
    """The first ``n`` values (int64) of the DELTA_BINARY_PACKED stream at ``buf[pos:end]``, and the offset
    just past the whole stream (every value its header counts).

    The stream: a header (block size -- a positive multiple of 128 --, miniblocks per block -- dividing it
    into miniblocks of a multiple of 32 values --, the value count, the first value as a zigzag varint),
    then blocks: the block's minimum delta (zigzag varint), one bit width (0..64) per miniblock, then the
    miniblocks, each its value count times its bit width bits, the deltas less the minimum, least
    significant bit first.  A value is the one before plus its delta, modulo 2**64.  The last block's
    miniblocks past the last value have no bytes (their widths are present, and ignored).  ValueError when
    the stream is truncated or malformed, or holds fewer than ``n`` values."""
    view = _bounds(buf, pos, end)
    pos, end, n = int(pos), int(end), int(n)
    if n < 0:
        raise ValueError("a negative count")
    r = _Reader(view, pos, end)
    block, per_block, total = r.uvarint(), r.uvarint(), r.uvarint()
    first = r.zigzag()
    if block == 0 or block % 128 or per_block == 0 or block % per_block or (block // per_block) % 32:
        raise ValueError("a malformed DELTA_BINARY_PACKED header")
    if total < n:
        raise ValueError(f"the stream holds {total} values, fewer than {n}")
    out = np.zeros(n, np.int64)
    if total == 0:
        return out, r.pos
    per_mini = block // per_block
    cur = first & _U64
    if n:
        out[0] = first
    got, left = 1, total - 1
    while left:
        min_delta = r.zigzag() & _U64
        widths = view[r.pos:r.pos + per_block]
        r.skip(per_block)
        for w in widths:
            if not left:
                break
            if w > 64:
                raise ValueError(f"a miniblock bit width {w} > 64")
            body = r.pos
            r.skip(per_mini * w // 8)
            k = min(per_mini, left)
            for j in range(min(k, n - got)):
                cur = (cur + min_delta + _bits(view, body * 8 + j * w, w)) & _U64
                out[got] = cur - (1 << 64) if cur >> 63 else cur
                got += 1
            left -= k
    return out, r.pos


def rle_hybrid(buf, pos: int, end: int, bit_width: int, n: int) -> np.ndarray:
    """The first ``n`` values (uint32) of the RLE / bit-packed hybrid stream at ``buf[pos:end]`` with values
    of ``bit_width`` bits (0..32), without a length prefix.

    The stream is runs, each a varint header: odd, ``header >> 1`` groups of 8 bit-packed values (the
    groups' bytes, least significant bit first); even, ``header >> 1`` repeats of one value held in
    ``ceil(bit_width / 8)`` little-endian bytes.  Only the bytes of the values taken are required (a last
    bit-packed run may be cut short after them).  ValueError when the stream ends before ``n`` values."""
    view = _bounds(buf, pos, end)
    pos, end, bit_width, n = int(pos), int(end), int(bit_width), int(n)
    if not 0 <= bit_width <= 32:
        raise ValueError(f"bit width {bit_width} outside 0..32")
    if n < 0:
        raise ValueError("a negative count")
    r = _Reader(view, pos, end)
    out = np.zeros(n, np.uint32)
    got = 0
    while got < n:
        h = r.uvarint()
        if h & 1:
            groups = h >> 1
            take = n - got if groups >= (n - got + 7) // 8 else groups * 8
            body = r.pos
            r.skip((take * bit_width + 7) // 8)
            for j in range(take):
                out[got + j] = _bits(view, body * 8 + j * bit_width, bit_width)
        else:
            take = min(h >> 1, n - got)
            nbytes = (bit_width + 7) // 8
            body = r.pos
            r.skip(nbytes)
            out[got:got + take] = int.from_bytes(view[body:body + nbytes], "little")
        got += take
    return out


# physical types and encodings (parquet.thrift) of :func:`decode_chunk`
_INT32, _INT64, _FLOAT, _DOUBLE = 1, 2, 4, 5
_PLAIN, _PLAIN_DICTIONARY, _RLE, _DELTA, _RLE_DICTIONARY, _BYTE_STREAM_SPLIT = 0, 2, 3, 5, 8, 9
_PHYSICAL = {_INT32: np.dtype("<i4"), _INT64: np.dtype("<i8"), _FLOAT: np.dtype("<f4"), _DOUBLE: np.dtype("<f8")}


def _values(enc: int, physical: int, buf, n: int, dictionary):
    """``n`` values (the physical type) of one page's value section ``buf``; None for an encoding not decoded."""
    dt = _PHYSICAL[physical]
    if enc == _PLAIN:
        if len(buf) < n * dt.itemsize:
            raise ValueError("a PLAIN page shorter than its values")
        return np.frombuffer(buf, dt, n)
    if enc == _BYTE_STREAM_SPLIT:  # byte k of every value, then byte k + 1 ...
        if len(buf) < n * dt.itemsize:
            raise ValueError("a BYTE_STREAM_SPLIT page shorter than its values")
        return np.frombuffer(buf, np.uint8, n * dt.itemsize).reshape(dt.itemsize, n).T.copy().view(dt).reshape(n)
    if enc == _DELTA and physical in (_INT32, _INT64):
        v, _end = delta_binary_packed(buf, 0, len(buf), n)
        return v.astype(dt)
    if enc in (_RLE_DICTIONARY, _PLAIN_DICTIONARY) and dictionary is not None:
        if n == 0:
            return dictionary[:0]
        if not len(buf):
            raise ValueError("a dictionary page's indices are missing")
        idx = rle_hybrid(buf, 1, len(buf), int(memoryview(buf).cast("B")[0]), n)
        if len(idx) and int(idx.max()) >= len(dictionary):
            raise ValueError("a dictionary index past the dictionary")
        return dictionary[idx]
    return None


def decode_chunk(buf, codec: int, physical: int, max_def: int, rows: int, r0: int, r1: int, decompress,
                 prefix: bool = False, row0: int = 0):
    """Rows ``[r0, r1)`` of one flat column chunk whose bytes are ``buf`` (its pages from the dictionary page
    on), decoding only the data pages that hold them (and the dictionary page): an array of the physical type
    (INT32, INT64, FLOAT, DOUBLE: ``<i4 <i8 <f4 <f8``); None where the chunk is not one decoded here (another
    physical type or encoding, a dictionary page after data or over another encoding, v2 repetition levels,
    v1 levels not RLE, a null of an integer column among the rows).  ``codec``: the chunk's (Thrift code);
    ``max_def``: 1 optional, 0 required; ``rows``: its row group's rows; ``decompress(codec, data, size)``:
    a page's payload uncompressed (None: a codec not decoded).  A null of a floating column is NaN.
    ValueError when the bytes do not add up (any page header, a page's values, the pages' row count).

    The pages: a data page v1 is its payload uncompressed, then (optional column) a 4-byte length and the
    definition levels (RLE / bit-packed, width 1), then the values; a v2 page holds its levels uncompressed
    before its (maybe compressed) values.  Values: PLAIN, BYTE_STREAM_SPLIT (byte k of every value, then
    byte k + 1), DELTA_BINARY_PACKED (integers), or dictionary indices (a bit width byte, then RLE /
    bit-packed indices into the dictionary page's PLAIN values).

    ``prefix``: ``buf`` may be the chunk's first bytes only; its pages are walked up to the first one that
    completes row ``r1`` (the later ones, and the row count, not looked at) and ValueError where the bytes end
    before it, within a page's header or payload or after the last whole page (the caller then reads the chunk
    whole).

    ``row0``: the row the first data page in ``buf`` starts at (``buf`` the chunk's dictionary page, if any,
    then its data pages from one holding row ``r0``, as the chunk's offset index places them: :func:`offset_index`);
    its rows are counted from there, and without ``prefix`` they must end at ``rows``."""
    if not 0 <= row0 <= r0 <= r1 <= rows:
        raise ValueError(f"rows [{r0}, {r1}) outside a row group of {rows}")
    dt = _PHYSICAL.get(physical)
    if dt is None:
        return None
    buf = memoryview(buf).cast("B")
    if prefix:
        heads, held = [], row0
        for h in _walk(buf, 0, len(buf)):
            heads.append(h)
            held += h[4] if h[0] in (0, 3) else 0
            if held >= r1 and h[0] in (0, 3):
                break
        else:
            raise ValueError("the chunk's first bytes end before the rows asked for")
    else:
        heads = page_headers(buf, 0, len(buf)).tolist()
    dictionary = None
    parts, row, first = [], row0, None
    int_null = False
    for t, lo, size, usize, n, enc, def_enc, _nulls, def_len, rep_len, compressed in heads:
        if t == 2:
            if dictionary is not None or row != row0 or enc not in (_PLAIN, _PLAIN_DICTIONARY):
                return None
            raw = decompress(codec, buf[lo:lo + size], usize)
            if raw is None:
                return None
            dictionary = _values(_PLAIN, physical, raw, n, None)
            continue
        if t not in (0, 3):
            continue  # (an index page: nothing of the rows)
        if row + n <= r0 or row >= r1:  # a page of no row asked for: passed over undecoded
            row += n
            continue
        defs = None
        if t == 0:
            raw = decompress(codec, buf[lo:lo + size], usize)
            if raw is None:
                return None
            raw = memoryview(raw).cast("B")
            pos = 0
            if max_def:
                if def_enc != _RLE or len(raw) < 4:
                    return None
                k = int.from_bytes(raw[:4], "little")
                defs = rle_hybrid(raw, 4, 4 + k, 1, n)
                pos = 4 + k
            vals = raw[pos:]
        else:
            lv = rep_len + def_len
            if rep_len or lv > size:
                return None
            if max_def:
                defs = rle_hybrid(buf, lo, lo + lv, 1, n)
            body = buf[lo + lv:lo + size]
            vals = decompress(codec, body, usize - lv) if compressed else body
            if vals is None:
                return None
        present = n if defs is None else int(np.count_nonzero(defs))
        v = _values(enc, physical, vals, present, dictionary)
        if v is None:
            return None
        if present < n:  # nulls: NaN in a floating column; in an integer column none may be asked for
            full = np.full(n, np.nan, dt) if dt.kind == "f" else np.zeros(n, dt)
            full[defs != 0] = v
            a, z = max(r0 - row, 0), min(r1 - row, n)
            if dt.kind != "f" and z > a and not defs[a:z].all():
                int_null = True
            v = full
        first = row if first is None else first
        parts.append(v)
        row += n
    if first is None:
        return np.zeros(0, dt) if r0 == r1 and (row == rows or prefix) else None  # (a prefix: walked to r1)
    if row != rows and not prefix:
        raise ValueError(f"the pages hold {row} rows, the row group {rows}")
    if int_null:
        return None
    v = parts[0] if len(parts) == 1 else np.concatenate(parts)
    return np.array(v[r0 - first:r1 - first], dt)


def offset_index(buf) -> np.ndarray:
    """A column chunk's offset index (Thrift ``OffsetIndex``: page_locations=1, a list of ``PageLocation``
    structs: offset=1 (i64), compressed_page_size=2 (i32), first_row_index=3 (i64), all required; other fields
    skipped) -> int64 array (pages, 3): each data page's offset in the file, its bytes (header included) and its
    first row in the row group.  ValueError when the bytes are malformed or truncated or a field is missing."""
    view = _bounds(buf, 0, len(memoryview(buf).cast("B")))
    r = _Reader(view, 0, len(view))
    out = None
    last = 0
    while True:
        t, last = r.field(last)
        if t == 0:
            break
        if last == 1 and t == _T_LIST:
            h = r.byte()
            n = h >> 4
            if n == 15:
                n = r.uvarint()
            _expect(h & 0x0F, _T_STRUCT)
            if n > len(view):
                raise ValueError("truncated")
            out = np.zeros((n, 3), np.int64)
            for i in range(n):
                got = {}
                f = 0
                while True:
                    t2, f = r.field(f)
                    if t2 == 0:
                        break
                    if f in (1, 3) and t2 == _T_I64:
                        got[f] = r.zigzag()
                    elif f == 2 and t2 == _T_I32:
                        got[f] = r.i32()
                    else:
                        r.skip_value(t2, 2)
                if len(got) != 3:
                    raise ValueError("a page location without offset, size or first row")
                out[i] = got[1], got[2], got[3]
        else:
            r.skip_value(t, 1)
    if out is None:
        raise ValueError("an offset index without page_locations")
    return out


def page_span(buf, first_page: int, end: int, rows: int, r0: int, r1: int):
    """The data pages of rows ``[r0, r1)`` (``r0 < r1``) of a column chunk, from its offset index ``buf``
    (:func:`offset_index`) -> ``(lo, hi, row0, row_end)``: the bytes ``[lo, hi)`` in the file of the pages from
    the one holding row ``r0`` to the one holding row ``r1 - 1``, and the rows ``[row0, row_end)`` they hold.
    None where the index does not place the chunk's pages exactly: the first page at ``first_page`` (the footer's
    first data page), each next one where the one before ends, the last one ending at ``end`` (the chunk's end),
    every size positive, first rows strictly increasing from 0 and below ``rows`` -- so the pages read through it
    are the chunk's own bytes.  ValueError when its bytes are malformed (:func:`offset_index`) or the rows are
    not within ``[0, rows)``."""
    if not 0 <= r0 < r1 <= rows:
        raise ValueError(f"rows [{r0}, {r1}) outside a row group of {rows} (or none)")
    at = offset_index(buf)
    if not len(at):
        return None
    off, size, first = at[:, 0], at[:, 1], at[:, 2]
    starts_ok = int(off[0]) == first_page and bool(np.all(off[1:] == off[:-1] + size[:-1]))
    if not (starts_ok and int(off[-1] + size[-1]) == end and bool(np.all(size > 0)) and int(first[0]) == 0
            and bool(np.all(first[1:] > first[:-1])) and int(first[-1]) < rows):
        return None
    i0 = int(np.searchsorted(first, r0, "right")) - 1
    i1 = int(np.searchsorted(first, r1, "left")) - 1
    row_end = int(first[i1 + 1]) if i1 + 1 < len(first) else rows
    return int(off[i0]), int(off[i1] + size[i1]), int(first[i0]), row_end


def read_placed(pread, cols, index, index_lo: int, r0: int, r1: int, decompress, dtypes):
    """Rows ``[r0, r1)`` (``r0 < r1``) of several column chunks of a file -> ``(values, bytes read)``.  ``pread(n,
    at)``: the file's ``n`` bytes from ``at`` (fewer at its end; the caller's read: the kernel does no I/O).  ``cols``: a row per chunk, ``(start, end, codec, physical, max_def, rows, first_page, index_at,
    index_len)``: its bytes ``[start, end)`` (from its dictionary page when it has one), codec and physical type
    (Thrift codes), 1 optional or 0 required, its row group's rows, its first data page, and its offset index's
    place and length (0: none).  ``index``: the chunks' offset indexes as read from the file's byte ``index_lo``
    on (None: each is read from the file).  ``dtypes``: per chunk the numpy type its values are given as.

    Per chunk, in order:

    * no offset index (``index_len <= 0``): False;
    * its offset index is ``index``'s bytes where they hold it whole, else read from the file (counted);
    * :func:`page_span` of it places the data pages of the rows -- None (not placed exactly), a short index or a
      ValueError: False;
    * the bytes read: the chunk's from its start to the last page's end when the pages begin at row 0 or it has no
      dictionary page, else its dictionary page (``[start, first_page)``) and then the pages ``[lo, hi)`` (the
      second read only when the first was whole); all counted; False where they are fewer than asked;
    * :func:`decode_chunk` of them (``row0``: the first page's first row, ``rows``: the last page's end row), a
      ValueError False, None ends the list with None; else the values, as ``dtypes[k]``.

    False tells the caller to read that chunk without its index (its bytes whole or their first part)."""
    if len(cols) and len(cols[0]) != 9:
        raise ValueError("read_placed: a chunk row has 9 fields")
    if not r0 < r1:
        raise ValueError(f"read_placed: rows [{r0}, {r1}), none")
    out, n_bytes = [], 0
    for k, row in enumerate(cols):
        start, end, codec, physical, max_def, rows, first_page, index_at, index_len = (int(x) for x in row)
        if index_len <= 0:
            out.append(False)
            continue
        a = -1 if index is None else index_at - index_lo
        if index is not None and 0 <= a and a + index_len <= len(index):
            raw = bytes(index[a:a + index_len])
        else:
            raw = pread(index_len, index_at) if index_at >= 0 else b""
            n_bytes += len(raw)
        v = False
        try:
            span = page_span(raw, first_page, end, rows, r0, r1) if len(raw) == index_len else None
            if span is not None:
                lo, hi, row0, row_end = span
                head = first_page - start
                if row0 == 0 or not head:
                    lo = start if row0 == 0 else lo
                    buf = pread(hi - lo, lo)
                    ok = len(buf) == hi - lo
                else:
                    buf = pread(head, start)
                    ok = len(buf) == head
                    if ok:
                        buf += pread(hi - lo, lo)
                        ok = len(buf) == head + hi - lo
                n_bytes += len(buf)
                if ok:
                    v = decode_chunk(buf, codec, physical, max_def, row_end, r0, r1, decompress, False, row0)
        except ValueError:
            v = False
        if v is None:
            out.append(None)
            break
        if v is not False and v.dtype != dtypes[k]:
            v = v.astype(dtypes[k])
        out.append(v)
    return out, n_bytes

"""Reference twin of ``liqcore._libs.reading``: a Parquet footer (the Thrift-compact-encoded
``FileMetaData``) -> what a reader needs, read by a small compact-protocol reader written for reading.

The wire format (apache/thrift ``doc/specs/thrift-compact-protocol.md``): a struct is fields then a stop
byte 0; a field header byte is ``dddd tttt`` (``dddd``: the id's delta from the struct's previous field,
1-15; 0: the id follows as a zigzag varint) and ``tttt`` the type (1/2 a bool field whose value is the
type itself, 3 i8 one byte, 4-6 i16/i32/i64 zigzag varints, 7 double 8 bytes, 8 binary: a varint length
then the bytes, 9/10 list/set, 11 map, 12 struct, 13 uuid 16 bytes); a list header byte is ``ssss tttt``
(``ssss`` 15: the size follows as a varint), bool elements one byte each.  The structs and ids read are
those of apache/parquet-format ``src/main/thrift/parquet.thrift``; every other field, known or not, is
skipped, a field of a known id but another wire type too (as Thrift's generated readers do).

Statistics are taken the way Arrow's ``ColumnChunkMetaData`` does (``MakeTypedColumnStats``): from
``min_value``/``max_value`` when the file's ``column_orders`` gives the column ``TYPE_ORDER``, else from the
deprecated ``min``/``max``; ``has_min_max`` when either of the pair is present.  Not emulated: Arrow's
refusal of statistics whose sort order is unknown (INT96, INTERVAL, legacy DECIMAL) and of statistics
written by old parquet-mr / parquet-cpp versions (``ApplicationVersion::HasCorrectStatistics``).

Malformed or truncated bytes raise ValueError (the kernel raises the same, with the same message).
"""
from __future__ import annotations

import struct

import numpy as np

#: one column chunk of one row group (the kernel's C struct has this layout, packed)
CHUNK_DTYPE = np.dtype([
    ("codec", "<i4"), ("data_page_offset", "<i8"), ("dictionary_page_offset", "<i8"),
    ("total_compressed_size", "<i8"), ("total_uncompressed_size", "<i8"), ("num_values", "<i8"),
    ("null_count", "<i8"), ("has_min_max", "i1"), ("min_i8", "<u8"), ("max_i8", "<u8"),
    ("min_int", "<i8"), ("max_int", "<i8"), ("min_f", "<f8"), ("max_f", "<f8"),
    ("offset_index_offset", "<i8"), ("offset_index_length", "<i8"),
])

#: structs nested deeper than this (counting the file's own struct as 0) are refused
MAX_DEPTH = 64

# compact-protocol wire types
STOP, TRUE, FALSE, I8, I16, I32, I64, DOUBLE, BINARY, LIST, SET, MAP, STRUCT, UUID = range(14)
# parquet physical types
INT32, INT64, FLOAT, PDOUBLE = 1, 2, 4, 5


class Reader:
    """A cursor over compact-protocol bytes: every read checks the bytes are there (ValueError if not)."""

    def __init__(self, buf: bytes) -> None:
        self.b = bytes(buf)
        self.pos = 0
        self.n = len(self.b)

    def take(self, k: int) -> bytes:
        """The next ``k`` bytes."""
        if k > self.n - self.pos:
            raise ValueError(f"footer truncated at offset {self.pos}")
        out = self.b[self.pos:self.pos + k]
        self.pos += k
        return out

    def byte(self) -> int:
        """The next byte, unsigned."""
        return self.take(1)[0]

    def varint(self) -> int:
        """An unsigned LEB128 varint of at most 10 bytes, kept to 64 bits."""
        start = self.pos
        out = 0
        for i in range(10):
            b = self.byte()
            out |= (b & 0x7F) << (7 * i)
            if not b & 0x80:
                return out & 0xFFFFFFFFFFFFFFFF
        raise ValueError(f"varint longer than 10 bytes at offset {start}")

    def zigzag(self) -> int:
        """A zigzag varint: a signed 64-bit integer."""
        u = self.varint()
        return ~(u >> 1) if u & 1 else u >> 1

    def i32(self) -> int:
        """A zigzag varint that must fit 32 bits (i32 and enum fields)."""
        start = self.pos
        v = self.zigzag()
        if not -2**31 <= v < 2**31:
            raise ValueError(f"i32 out of range at offset {start}")
        return v

    def binary(self) -> bytes:
        """A binary (or string) value: its varint length, then its bytes."""
        start = self.pos
        k = self.varint()
        if k > self.n - self.pos:
            raise ValueError(f"binary of {k} bytes at offset {start} runs past the footer")
        return self.take(k)

    def field(self, last: int) -> tuple[int, int]:
        """The next field header of a struct whose previous field id is ``last``: (id, wire type);
        wire type STOP (0) at the struct's end."""
        start = self.pos
        h = self.byte()
        t = h & 0x0F
        if t == STOP:
            return 0, STOP
        if t > UUID:
            raise ValueError(f"unknown thrift type {t} at offset {start}")
        if h >> 4:
            return last + (h >> 4), t
        fid = self.zigzag()
        if not -2**15 <= fid < 2**15:
            raise ValueError(f"field id out of range at offset {start}")
        return fid, t

    def list_header(self) -> tuple[int, int]:
        """A list (or set) header: (size, element wire type); the size no more than the bytes left (every
        element takes at least one byte)."""
        start = self.pos
        h = self.byte()
        size, t = h >> 4, h & 0x0F
        if size == 15:
            size = self.varint()
        if t == STOP or t > UUID:
            raise ValueError(f"unknown thrift type {t} at offset {start}")
        if size > self.n - self.pos:
            raise ValueError(f"list of {size} elements at offset {start} runs past the footer")
        return size, t

    def expect_list(self, what: str, want: int) -> int:
        """A list header whose elements must be of wire type ``want``: its size."""
        start = self.pos
        size, t = self.list_header()
        if t != want:
            raise ValueError(f"{what}: list of thrift type {t} at offset {start}, expected {want}")
        return size

    def skip(self, t: int, depth: int, element: bool = False) -> None:
        """Skip one value of wire type ``t`` (1-13: the readers of headers refuse any other; an element of a
        list, set or map when ``element``: a bool then takes a byte) nested ``depth`` structs deep."""
        if depth > MAX_DEPTH:
            raise ValueError(f"nesting deeper than {MAX_DEPTH} at offset {self.pos}")
        if t in (TRUE, FALSE):
            if element:
                self.take(1)
        elif t == I8:
            self.take(1)
        elif t in (I16, I32, I64):
            self.varint()
        elif t == DOUBLE:
            self.take(8)
        elif t == BINARY:
            self.binary()
        elif t == UUID:
            self.take(16)
        elif t in (LIST, SET):
            size, et = self.list_header()
            for _ in range(size):
                self.skip(et, depth + 1, True)
        elif t == MAP:
            start = self.pos
            size = self.varint()
            if size:
                if size > self.n - self.pos:
                    raise ValueError(f"map of {size} entries at offset {start} runs past the footer")
                kv = self.byte()
                kt, vt = kv >> 4, kv & 0x0F
                if kt == STOP or kt > UUID or vt == STOP or vt > UUID:
                    raise ValueError(f"unknown thrift type in map at offset {start}")
                for _ in range(size):
                    self.skip(kt, depth + 1, True)
                    self.skip(vt, depth + 1, True)
        elif t == STRUCT:
            last = 0
            while True:
                fid, ft = self.field(last)
                if ft == STOP:
                    return
                last = fid
                self.skip(ft, depth + 1)


def _schema_element(r: Reader, depth: int) -> dict:
    """SchemaElement: type=1, repetition_type=3, name=4 (required), num_children=5, converted_type=6."""
    e: dict = {"type": None, "rep": -1, "name": None, "children": 0, "conv": -1}
    keys = {1: "type", 3: "rep", 5: "children", 6: "conv"}
    last = 0
    while True:
        fid, t = r.field(last)
        if t == STOP:
            break
        last = fid
        if fid in keys and t == I32:
            e[keys[fid]] = r.i32()
        elif fid == 4 and t == BINARY:
            e["name"] = r.binary().decode("utf-8")
        else:
            r.skip(t, depth + 1)
    if e["name"] is None:
        raise ValueError("schema element without name")
    return e


def _key_value(r: Reader, depth: int) -> tuple[bytes, bytes]:
    """KeyValue: key=1 (required), value=2 (b"" when absent)."""
    key, value = None, b""
    last = 0
    while True:
        fid, t = r.field(last)
        if t == STOP:
            break
        last = fid
        if fid == 1 and t == BINARY:
            key = r.binary()
        elif fid == 2 and t == BINARY:
            value = r.binary()
        else:
            r.skip(t, depth + 1)
    if key is None:
        raise ValueError("key_value_metadata entry without key")
    return key, value


def _statistics(r: Reader, depth: int) -> dict:
    """Statistics: max=1, min=2, null_count=3, max_value=5, min_value=6 (the rest skipped)."""
    s: dict = {"null_count": -1}
    names = {1: "max", 2: "min", 5: "max_value", 6: "min_value"}
    last = 0
    while True:
        fid, t = r.field(last)
        if t == STOP:
            break
        last = fid
        if fid in names and t == BINARY:
            s[names[fid]] = r.binary()
        elif fid == 3 and t == I64:
            s["null_count"] = r.zigzag()
        else:
            r.skip(t, depth + 1)
    return s


_META_I64 = {5: "num_values", 6: "total_uncompressed_size", 7: "total_compressed_size", 9: "data_page_offset",
             11: "dictionary_page_offset"}
_META_REQUIRED = ("codec", "num_values", "total_uncompressed_size", "total_compressed_size", "data_page_offset")


def _column_meta(r: Reader, depth: int) -> dict:
    """ColumnMetaData: codec=4, num_values=5, total_uncompressed_size=6, total_compressed_size=7,
    data_page_offset=9, dictionary_page_offset=11, statistics=12; the five sizes and offsets required."""
    m: dict = {"dictionary_page_offset": -1, "stats": None}
    last = 0
    while True:
        fid, t = r.field(last)
        if t == STOP:
            break
        last = fid
        if fid == 4 and t == I32:
            m["codec"] = r.i32()
        elif fid in _META_I64 and t == I64:
            m[_META_I64[fid]] = r.zigzag()
        elif fid == 12 and t == STRUCT:
            m["stats"] = _statistics(r, depth + 1)
        else:
            r.skip(t, depth + 1)
    for k in _META_REQUIRED:
        if k not in m:
            raise ValueError(f"column metadata without {k}")
    return m


def _column_chunk(r: Reader, depth: int) -> dict:
    """ColumnChunk: meta_data=3 (required here: encrypted column metadata is not read), offset_index_offset=4
    and offset_index_length=5 (where the chunk's page index is: -1 and 0 when absent)."""
    meta = None
    place = {"offset_index_offset": -1, "offset_index_length": 0}
    last = 0
    while True:
        fid, t = r.field(last)
        if t == STOP:
            break
        last = fid
        if fid == 3 and t == STRUCT:
            meta = _column_meta(r, depth + 1)
        elif fid == 4 and t == I64:
            place["offset_index_offset"] = r.zigzag()
        elif fid == 5 and t == I32:
            place["offset_index_length"] = r.i32()
        else:
            r.skip(t, depth + 1)
    if meta is None:
        raise ValueError("column chunk without meta_data")
    meta.update(place)
    return meta


class _Groups:
    """The row groups of one ``row_groups`` field: each group's row count and column chunks; every
    ``columns`` list must have as many chunks as the first one read."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.ncols = -1
        self.rows: list[int] = []
        self.chunks: list[list[dict]] = []

    def columns(self, r: Reader, g: int, depth: int) -> list[dict]:
        size = r.expect_list("row group columns", STRUCT)
        if self.ncols < 0:
            if self.count * size > r.n:
                raise ValueError(f"{self.count} row groups of {size} columns cannot fit a footer of {r.n} bytes")
            self.ncols = size
        elif size != self.ncols:
            raise ValueError(f"row group {g} has {size} columns, the first {self.ncols}")
        return [_column_chunk(r, depth + 1) for _ in range(size)]

    def group(self, r: Reader, g: int, depth: int) -> None:
        """RowGroup: columns=1 (required), num_rows=3 (required)."""
        cols, rows = None, None
        last = 0
        while True:
            fid, t = r.field(last)
            if t == STOP:
                break
            last = fid
            if fid == 1 and t == LIST:
                cols = self.columns(r, g, depth)
            elif fid == 3 and t == I64:
                rows = r.zigzag()
            else:
                r.skip(t, depth + 1)
        if cols is None:
            raise ValueError(f"row group {g} without columns")
        if rows is None:
            raise ValueError(f"row group {g} without num_rows")
        self.rows.append(rows)
        self.chunks.append(cols)


def _column_order(r: Reader, depth: int) -> bool:
    """ColumnOrder (a union): True when it is TYPE_ORDER (field 1, a struct)."""
    type_order = False
    last = 0
    while True:
        fid, t = r.field(last)
        if t == STOP:
            return type_order
        last = fid
        if fid == 1 and t == STRUCT:
            type_order = True
        r.skip(t, depth + 1)


def _leaves(elements: list[dict]) -> list[tuple[str, int, int, int]]:
    """The leaf columns of a depth-first schema list (element 0 the root): (dotted path, physical type,
    repetition or -1, converted type or -1).  A leaf has a type and no children; a group without
    children holds no column."""
    if not elements:
        raise ValueError("schema is empty")
    out = []
    path: list[str] = []
    left = [elements[0]["children"]]
    if left[0] < 0:
        raise ValueError("schema element 0 has a negative num_children")
    i = 1
    while left:
        if left[-1] == 0:
            left.pop()
            if path:
                path.pop()
            continue
        if i >= len(elements):
            raise ValueError("schema ends inside a group")
        e = elements[i]
        left[-1] -= 1
        if e["children"] < 0:
            raise ValueError(f"schema element {i} has a negative num_children")
        if e["children"] == 0 and e["type"] is not None:
            out.append((".".join(path + [e["name"]]), e["type"], e["rep"], e["conv"]))
        elif e["children"] > 0:
            path.append(e["name"])
            left.append(e["children"])
        i += 1
    if i != len(elements):
        raise ValueError(f"schema has {len(elements) - i} elements outside its root")
    return out


def _signed(raw: bytes, width: int) -> int:
    return int.from_bytes(raw[:width].ljust(width, b"\0"), "little", signed=True)


def _float(raw: bytes, fmt: str, width: int) -> float:
    return struct.unpack(fmt, raw[:width].ljust(width, b"\0"))[0]


def _fill(out: np.void, m: dict, ptype: int, type_order: bool) -> None:
    """One chunk's record from its parsed ColumnMetaData ``m``."""
    for k in ("codec",) + _META_REQUIRED[1:] + ("dictionary_page_offset", "offset_index_offset", "offset_index_length"):
        out[k] = m[k]
    s = m["stats"]
    out["null_count"] = -1 if s is None else s["null_count"]
    out["min_f"] = out["max_f"] = np.nan
    lo_key, hi_key = ("min_value", "max_value") if type_order else ("min", "max")
    if s is None or (lo_key not in s and hi_key not in s):
        return
    out["has_min_max"] = 1
    for side, key in (("min", lo_key), ("max", hi_key)):
        raw = s.get(key, b"")
        out[side + "_i8"] = int.from_bytes(raw[:8].ljust(8, b"\0"), "little")
        if ptype == INT32:
            out[side + "_int"] = _signed(raw, 4)
        elif ptype == INT64:
            out[side + "_int"] = _signed(raw, 8)
        elif ptype == FLOAT:
            out[side + "_f"] = _float(raw, "<f", 4)
        elif ptype == PDOUBLE:
            out[side + "_f"] = _float(raw, "<d", 8)


def scan_footer(buf: bytes) -> dict:
    """The serialized FileMetaData ``buf`` -> ``{"num_rows", "created_by", "schema", "kv", "rows",
    "chunks"}``: the file's row count; its writer (str or None); its leaf columns in order, each (dotted
    path, physical type, repetition or -1, converted type or -1); its key-value metadata (bytes -> bytes, a
    missing value b""); rows per row group (int64); the column chunks, shape (groups, columns) of
    :data:`CHUNK_DTYPE` (dictionary_page_offset and null_count -1 when absent; min/max zero, NaN for the
    floats, unless has_min_max; min_i8/max_i8 the first 8 bytes of the value, zero-padded, read
    little-endian; min_int/max_int for INT32 (sign-extended) and INT64 columns; min_f/max_f for FLOAT and
    DOUBLE).  ValueError when the bytes are malformed or truncated."""
    r = Reader(buf)
    schema = num_rows = groups = orders = None
    kv: dict[bytes, bytes] = {}
    created_by = None
    last = 0
    while True:
        fid, t = r.field(last)
        if t == STOP:
            break
        last = fid
        if fid == 2 and t == LIST:
            schema = [_schema_element(r, 1) for _ in range(r.expect_list("schema", STRUCT))]
        elif fid == 3 and t == I64:
            num_rows = r.zigzag()
        elif fid == 4 and t == LIST:
            groups = _Groups(r.expect_list("row_groups", STRUCT))
            for g in range(groups.count):
                groups.group(r, g, 1)
        elif fid == 5 and t == LIST:
            kv = dict(_key_value(r, 1) for _ in range(r.expect_list("key_value_metadata", STRUCT)))
        elif fid == 6 and t == BINARY:
            created_by = r.binary().decode("utf-8")
        elif fid == 7 and t == LIST:
            orders = [_column_order(r, 1) for _ in range(r.expect_list("column_orders", STRUCT))]
        else:
            r.skip(t, 1)
    if schema is None:
        raise ValueError("file metadata without schema")
    if num_rows is None:
        raise ValueError("file metadata without num_rows")
    if groups is None:
        raise ValueError("file metadata without row_groups")
    leaves = _leaves(schema)
    ncol = len(leaves)
    if groups.count and groups.ncols != ncol:
        raise ValueError(f"row groups have {groups.ncols} columns, the schema {ncol}")
    if orders is not None and len(orders) != ncol:
        raise ValueError(f"{len(orders)} column orders for {ncol} columns")
    chunks = np.zeros((groups.count, ncol), CHUNK_DTYPE)
    for g, cols in enumerate(groups.chunks):
        for j, m in enumerate(cols):
            _fill(chunks[g, j], m, leaves[j][1], orders is not None and orders[j])
    return {"num_rows": num_rows, "created_by": created_by, "schema": leaves, "kv": kv,
            "rows": np.array(groups.rows, np.int64), "chunks": chunks}

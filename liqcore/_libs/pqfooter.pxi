# cython: language_level=3
"""A Parquet file's footer (the Thrift-compact-encoded ``FileMetaData``) read in one pass: :func:`scan_footer`
gives the row counts, the leaf schema, the key-value metadata and every column chunk's offsets, sizes, codec
and statistics, in about a millisecond for a footer of 552 row groups of 10 columns (pyarrow's
``read_metadata`` and a Python walk of the statistics: some 30 ms).

The wire format is Thrift's compact protocol (apache/thrift ``doc/specs/thrift-compact-protocol.md``), the
structs and field ids those of apache/parquet-format ``src/main/thrift/parquet.thrift``; every field not
read (a known id of another wire type too) is skipped, nested structs and fields of later format versions
included.  Every read is bounds-checked and the nesting bounded (:data:`MAX_DEPTH`): malformed or truncated
bytes raise ValueError.  The column chunks are written into a numpy array of :data:`CHUNK_DTYPE` as C
structs; the statistics' values are noted as positions in the footer while scanning and decoded once the
file's ``column_orders`` (written after the row groups) say which of the two pairs Arrow reads.

The specification is the reference twin ``pysrc/pqfooter.py`` (its docstring: the statistics rule, what is
not emulated); the property tests hold the two equal, errors included, and both to pyarrow.
"""
cimport cython
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset

import numpy as np

#: one column chunk of one row group (the C struct ``Chunk`` has this layout, packed)
CHUNK_DTYPE = np.dtype([
    ("codec", "<i4"), ("data_page_offset", "<i8"), ("dictionary_page_offset", "<i8"),
    ("total_compressed_size", "<i8"), ("total_uncompressed_size", "<i8"), ("num_values", "<i8"),
    ("null_count", "<i8"), ("has_min_max", "i1"), ("min_i8", "<u8"), ("max_i8", "<u8"),
    ("min_int", "<i8"), ("max_int", "<i8"), ("min_f", "<f8"), ("max_f", "<f8"),
    ("offset_index_offset", "<i8"), ("offset_index_length", "<i8"),
])

#: structs nested deeper than this (counting the file's own struct as 0) are refused
MAX_DEPTH = 64

cdef enum:
    T_STOP = 0
    T_TRUE = 1
    T_FALSE = 2
    T_I8 = 3
    T_I16 = 4
    T_I32 = 5
    T_I64 = 6
    T_DOUBLE = 7
    T_BINARY = 8
    T_LIST = 9
    T_SET = 10
    T_MAP = 11
    T_STRUCT = 12
    T_UUID = 13

cdef enum:
    P_INT32 = 1
    P_INT64 = 2
    P_FLOAT = 4
    P_DOUBLE = 5

# ColumnMetaData's required fields, as bits of a mask (the order their absence is reported in)
cdef enum:
    M_CODEC = 1
    M_NUM_VALUES = 2
    M_UNCOMPRESSED = 4
    M_COMPRESSED = 8
    M_DATA_PAGE = 16

cdef int _MAX_DEPTH = MAX_DEPTH
cdef double _NAN = float("nan")


cdef packed struct Chunk:
    int32_t codec
    int64_t data_page_offset
    int64_t dictionary_page_offset
    int64_t total_compressed_size
    int64_t total_uncompressed_size
    int64_t num_values
    int64_t null_count
    int8_t has_min_max
    uint64_t min_i8
    uint64_t max_i8
    int64_t min_int
    int64_t max_int
    double min_f
    double max_f
    int64_t offset_index_offset
    int64_t offset_index_length


cdef struct Stat:
    # where a chunk's statistics values are in the footer: max, min, max_value, min_value (off -1: absent)
    Py_ssize_t off[4]
    Py_ssize_t length[4]
    int8_t present  # the chunk's metadata has a statistics struct


cdef struct Cur:
    const uint8_t* b
    Py_ssize_t pos
    Py_ssize_t n


if sizeof(Chunk) != CHUNK_DTYPE.itemsize:
    raise ImportError(f"pqfooter: the C chunk struct has {sizeof(Chunk)} bytes, CHUNK_DTYPE {CHUNK_DTYPE.itemsize}")


# ---- the compact protocol ----

cdef inline int _take(Cur* r, uint64_t k) except -1:
    """Step over the next ``k`` bytes (ValueError unless they are there)."""
    if k > <uint64_t>(r.n - r.pos):
        raise ValueError(f"footer truncated at offset {r.pos}")
    r.pos += <Py_ssize_t>k
    return 0


cdef inline int _byte(Cur* r, uint8_t* out) except -1:
    if r.pos >= r.n:
        raise ValueError(f"footer truncated at offset {r.pos}")
    out[0] = r.b[r.pos]
    r.pos += 1
    return 0


cdef inline int _varint(Cur* r, uint64_t* out) except -1:
    """An unsigned LEB128 varint of at most 10 bytes, kept to 64 bits."""
    cdef Py_ssize_t start = r.pos
    cdef uint64_t v = 0
    cdef uint8_t b
    cdef int i
    if r.pos < r.n and r.b[r.pos] < 0x80:  # (one byte: most of a footer's varints)
        out[0] = r.b[r.pos]
        r.pos += 1
        return 0
    for i in range(10):
        _byte(r, &b)
        v |= (<uint64_t>(b & 0x7F)) << (7 * i)
        if not b & 0x80:
            out[0] = v
            return 0
    raise ValueError(f"varint longer than 10 bytes at offset {start}")


cdef inline int _zigzag(Cur* r, int64_t* out) except -1:
    cdef uint64_t u
    _varint(r, &u)
    out[0] = <int64_t>((u >> 1) ^ (0 - (u & 1)))
    return 0


cdef inline int _i32(Cur* r, int32_t* out) except -1:
    """A zigzag varint that must fit 32 bits (i32 and enum fields)."""
    cdef Py_ssize_t start = r.pos
    cdef int64_t v
    _zigzag(r, &v)
    if v < -2147483648 or v > 2147483647:
        raise ValueError(f"i32 out of range at offset {start}")
    out[0] = <int32_t>v
    return 0


cdef inline int _binary(Cur* r, Py_ssize_t* off, Py_ssize_t* length) except -1:
    """A binary value: where its bytes are (``off``, ``length``), stepped over."""
    cdef Py_ssize_t start = r.pos
    cdef uint64_t k
    _varint(r, &k)
    if k > <uint64_t>(r.n - r.pos):
        raise ValueError(f"binary of {k} bytes at offset {start} runs past the footer")
    off[0] = r.pos
    length[0] = <Py_ssize_t>k
    r.pos += <Py_ssize_t>k
    return 0


cdef bytes _bytes(Cur* r):
    """A binary value as bytes."""
    cdef Py_ssize_t off, length
    _binary(r, &off, &length)
    return r.b[off:off + length]


cdef inline int _field(Cur* r, int64_t last, int64_t* fid, int* t) except -1:
    """The next field header of a struct whose previous field id is ``last``; ``t`` T_STOP at its end."""
    cdef Py_ssize_t start = r.pos
    cdef uint8_t h
    cdef int64_t v
    _byte(r, &h)
    t[0] = h & 0x0F
    if t[0] == T_STOP:
        return 0
    if t[0] > T_UUID:
        raise ValueError(f"unknown thrift type {t[0]} at offset {start}")
    if h >> 4:
        fid[0] = last + (h >> 4)
        return 0
    _zigzag(r, &v)
    if v < -32768 or v > 32767:
        raise ValueError(f"field id out of range at offset {start}")
    fid[0] = v
    return 0


cdef inline int _list_header(Cur* r, uint64_t* size, int* t) except -1:
    """A list (or set) header; the size no more than the bytes left (each element takes a byte or more)."""
    cdef Py_ssize_t start = r.pos
    cdef uint8_t h
    _byte(r, &h)
    size[0] = h >> 4
    t[0] = h & 0x0F
    if size[0] == 15:
        _varint(r, size)
    if t[0] == T_STOP or t[0] > T_UUID:
        raise ValueError(f"unknown thrift type {t[0]} at offset {start}")
    if size[0] > <uint64_t>(r.n - r.pos):
        raise ValueError(f"list of {size[0]} elements at offset {start} runs past the footer")
    return 0


cdef int _expect_list(Cur* r, str what, int want, Py_ssize_t* size) except -1:
    """A list header whose elements must be of wire type ``want``."""
    cdef Py_ssize_t start = r.pos
    cdef uint64_t s
    cdef int t
    _list_header(r, &s, &t)
    if t != want:
        raise ValueError(f"{what}: list of thrift type {t} at offset {start}, expected {want}")
    size[0] = <Py_ssize_t>s
    return 0


cdef int _skip(Cur* r, int t, int depth, bint element) except -1:
    """Skip one value of wire type ``t`` (1-13; an element of a list, set or map when ``element``: a bool
    then takes a byte) nested ``depth`` structs deep."""
    cdef uint64_t size, i, k
    cdef int et, kt, vt, ft
    cdef uint8_t kv
    cdef int64_t last, fid
    cdef Py_ssize_t start
    if depth > _MAX_DEPTH:
        raise ValueError(f"nesting deeper than {MAX_DEPTH} at offset {r.pos}")
    if t == T_TRUE or t == T_FALSE:
        if element:
            _take(r, 1)
    elif t == T_I8:
        _take(r, 1)
    elif t == T_I16 or t == T_I32 or t == T_I64:
        _varint(r, &k)
    elif t == T_DOUBLE:
        _take(r, 8)
    elif t == T_BINARY:
        start = r.pos
        _varint(r, &k)
        if k > <uint64_t>(r.n - r.pos):
            raise ValueError(f"binary of {k} bytes at offset {start} runs past the footer")
        r.pos += <Py_ssize_t>k
    elif t == T_UUID:
        _take(r, 16)
    elif t == T_LIST or t == T_SET:
        _list_header(r, &size, &et)
        for i in range(size):
            _skip(r, et, depth + 1, True)
    elif t == T_MAP:
        start = r.pos
        _varint(r, &size)
        if size:
            if size > <uint64_t>(r.n - r.pos):
                raise ValueError(f"map of {size} entries at offset {start} runs past the footer")
            _byte(r, &kv)
            kt = kv >> 4
            vt = kv & 0x0F
            if kt == T_STOP or kt > T_UUID or vt == T_STOP or vt > T_UUID:
                raise ValueError(f"unknown thrift type in map at offset {start}")
            for i in range(size):
                _skip(r, kt, depth + 1, True)
                _skip(r, vt, depth + 1, True)
    elif t == T_STRUCT:
        last = 0
        while True:
            _field(r, last, &fid, &ft)
            if ft == T_STOP:
                return 0
            last = fid
            _skip(r, ft, depth + 1, False)
    return 0


# ---- the structs read ----

cdef tuple _schema_element(Cur* r, int depth):
    """SchemaElement: (type or None, repetition or -1, name, num_children (0 when absent), converted or -1)."""
    cdef int64_t last = 0, fid
    cdef int t
    cdef int32_t v
    ptype = None
    cdef int32_t rep = -1, children = 0, conv = -1
    name = None
    while True:
        _field(r, last, &fid, &t)
        if t == T_STOP:
            break
        last = fid
        if (fid == 1 or fid == 3 or fid == 5 or fid == 6) and t == T_I32:
            _i32(r, &v)
            if fid == 1:
                ptype = v
            elif fid == 3:
                rep = v
            elif fid == 5:
                children = v
            else:
                conv = v
        elif fid == 4 and t == T_BINARY:
            name = _bytes(r).decode("utf-8")
        else:
            _skip(r, t, depth + 1, False)
    if name is None:
        raise ValueError("schema element without name")
    return ptype, rep, name, children, conv


cdef tuple _key_value(Cur* r, int depth):
    """KeyValue: (key, value; b"" when absent)."""
    cdef int64_t last = 0, fid
    cdef int t
    key = None
    value = b""
    while True:
        _field(r, last, &fid, &t)
        if t == T_STOP:
            break
        last = fid
        if fid == 1 and t == T_BINARY:
            key = _bytes(r)
        elif fid == 2 and t == T_BINARY:
            value = _bytes(r)
        else:
            _skip(r, t, depth + 1, False)
    if key is None:
        raise ValueError("key_value_metadata entry without key")
    return key, value


cdef int _statistics(Cur* r, Chunk* c, Stat* s, int depth) except -1:
    """Statistics: max=1, min=2, null_count=3, max_value=5, min_value=6 (positions noted)."""
    cdef int64_t last = 0, fid, v
    cdef int t, k
    for k in range(4):
        s.off[k] = -1
        s.length[k] = 0
    s.present = 1
    c.null_count = -1
    while True:
        _field(r, last, &fid, &t)
        if t == T_STOP:
            return 0
        last = fid
        if (fid == 1 or fid == 2 or fid == 5 or fid == 6) and t == T_BINARY:
            k = (fid - 1) if fid < 3 else (fid - 3)
            _binary(r, &s.off[k], &s.length[k])
        elif fid == 3 and t == T_I64:
            _zigzag(r, &v)
            c.null_count = v
        else:
            _skip(r, t, depth + 1, False)


cdef int _column_meta(Cur* r, Chunk* c, Stat* s, int depth) except -1:
    """ColumnMetaData: codec=4, num_values=5, total_uncompressed_size=6, total_compressed_size=7,
    data_page_offset=9, dictionary_page_offset=11, statistics=12; the first five required."""
    cdef int64_t last = 0, fid, v
    cdef int32_t v32
    cdef int t, seen = 0
    memset(c, 0, sizeof(Chunk))
    c.dictionary_page_offset = -1
    c.null_count = -1
    s.present = 0
    while True:
        _field(r, last, &fid, &t)
        if t == T_STOP:
            break
        last = fid
        if fid == 4 and t == T_I32:
            _i32(r, &v32)  # (read into locals: the packed struct's members may be unaligned)
            c.codec = v32
            seen |= M_CODEC
        elif fid == 5 and t == T_I64:
            _zigzag(r, &v)
            c.num_values = v
            seen |= M_NUM_VALUES
        elif fid == 6 and t == T_I64:
            _zigzag(r, &v)
            c.total_uncompressed_size = v
            seen |= M_UNCOMPRESSED
        elif fid == 7 and t == T_I64:
            _zigzag(r, &v)
            c.total_compressed_size = v
            seen |= M_COMPRESSED
        elif fid == 9 and t == T_I64:
            _zigzag(r, &v)
            c.data_page_offset = v
            seen |= M_DATA_PAGE
        elif fid == 11 and t == T_I64:
            _zigzag(r, &v)
            c.dictionary_page_offset = v
        elif fid == 12 and t == T_STRUCT:
            _statistics(r, c, s, depth + 1)
        else:
            _skip(r, t, depth + 1, False)
    if not seen & M_CODEC:
        raise ValueError("column metadata without codec")
    if not seen & M_NUM_VALUES:
        raise ValueError("column metadata without num_values")
    if not seen & M_UNCOMPRESSED:
        raise ValueError("column metadata without total_uncompressed_size")
    if not seen & M_COMPRESSED:
        raise ValueError("column metadata without total_compressed_size")
    if not seen & M_DATA_PAGE:
        raise ValueError("column metadata without data_page_offset")
    return 0


cdef int _column_chunk(Cur* r, Chunk* c, Stat* s, int depth) except -1:
    """ColumnChunk: meta_data=3 (required: encrypted column metadata is not read), offset_index_offset=4 and
    offset_index_length=5 (the page index's places; -1 and 0 when absent)."""
    cdef int64_t last = 0, fid, v, oi_off = -1, oi_len = 0
    cdef int32_t v32
    cdef int t
    cdef bint meta = False
    while True:
        _field(r, last, &fid, &t)
        if t == T_STOP:
            break
        last = fid
        if fid == 3 and t == T_STRUCT:
            _column_meta(r, c, s, depth + 1)
            meta = True
        elif fid == 4 and t == T_I64:
            _zigzag(r, &v)
            oi_off = v
        elif fid == 5 and t == T_I32:
            _i32(r, &v32)
            oi_len = v32
        else:
            _skip(r, t, depth + 1, False)
    if not meta:
        raise ValueError("column chunk without meta_data")
    c.offset_index_offset = oi_off
    c.offset_index_length = oi_len
    return 0


cdef class _Groups:
    """The row groups of one ``row_groups`` field: rows per group, and the chunks (C structs in a numpy
    array of CHUNK_DTYPE) with their statistics' positions, allocated at the first ``columns`` list (every
    one must have as many chunks)."""
    cdef Py_ssize_t count, ncols
    cdef object rows, chunks, stats
    cdef int64_t* rows_p
    cdef Chunk* chunks_p
    cdef Stat* stats_p

    def __cinit__(self, Py_ssize_t count):
        self.count = count
        self.ncols = -1
        self.rows = np.zeros(count, np.int64)
        self.chunks = np.zeros(0, CHUNK_DTYPE)
        self.rows_p = NULL
        self.chunks_p = NULL
        self.stats_p = NULL
        cdef int64_t[::1] rv = self.rows
        if count:
            self.rows_p = &rv[0]

    cdef int columns(self, Cur* r, Py_ssize_t g, int depth) except -1:
        cdef Py_ssize_t size, j
        cdef uint8_t[::1] raw
        _expect_list(r, "row group columns", T_STRUCT, &size)
        if self.ncols < 0:
            if size and self.count > r.n // size:
                raise ValueError(f"{self.count} row groups of {size} columns cannot fit a footer of {r.n} bytes")
            self.ncols = size
            if self.count * size:
                self.chunks = np.zeros(self.count * size, CHUNK_DTYPE)
                raw = self.chunks.view(np.uint8)
                self.chunks_p = <Chunk*>&raw[0]
                self.stats = np.zeros(self.count * size * sizeof(Stat), np.uint8)
                raw = self.stats
                self.stats_p = <Stat*>&raw[0]
        elif size != self.ncols:
            raise ValueError(f"row group {g} has {size} columns, the first {self.ncols}")
        for j in range(size):
            _column_chunk(r, &self.chunks_p[g * size + j], &self.stats_p[g * size + j], depth + 1)
        return 0

    cdef int group(self, Cur* r, Py_ssize_t g, int depth) except -1:
        """RowGroup: columns=1 (required), num_rows=3 (required)."""
        cdef int64_t last = 0, fid, rows = 0
        cdef int t
        cdef bint cols = False, has_rows = False
        while True:
            _field(r, last, &fid, &t)
            if t == T_STOP:
                break
            last = fid
            if fid == 1 and t == T_LIST:
                self.columns(r, g, depth)
                cols = True
            elif fid == 3 and t == T_I64:
                _zigzag(r, &rows)
                has_rows = True
            else:
                _skip(r, t, depth + 1, False)
        if not cols:
            raise ValueError(f"row group {g} without columns")
        if not has_rows:
            raise ValueError(f"row group {g} without num_rows")
        self.rows_p[g] = rows
        return 0


cdef int _column_order(Cur* r, int depth) except -1:
    """ColumnOrder (a union): True when it is TYPE_ORDER (field 1, a struct)."""
    cdef int64_t last = 0, fid
    cdef int t
    cdef bint type_order = False
    while True:
        _field(r, last, &fid, &t)
        if t == T_STOP:
            return type_order
        last = fid
        if fid == 1 and t == T_STRUCT:
            type_order = True
        _skip(r, t, depth + 1, False)


@cython.wraparound(True)
def _leaves(list elements):
    """The leaf columns of a depth-first schema list (element 0 the root): (dotted path, physical type,
    repetition or -1, converted type or -1).  A leaf has a type and no children; a group without
    children holds no column."""
    if not elements:
        raise ValueError("schema is empty")
    out = []
    path = []
    left = [elements[0][3]]
    if left[0] < 0:
        raise ValueError("schema element 0 has a negative num_children")
    cdef Py_ssize_t i = 1
    while left:
        if left[-1] == 0:
            left.pop()
            if path:
                path.pop()
            continue
        if i >= len(elements):
            raise ValueError("schema ends inside a group")
        ptype, rep, name, children, conv = elements[i]
        left[-1] -= 1
        if children < 0:
            raise ValueError(f"schema element {i} has a negative num_children")
        if children == 0 and ptype is not None:
            out.append((".".join(path + [name]), ptype, rep, conv))
        elif children > 0:
            path.append(name)
            left.append(children)
        i += 1
    if i != len(elements):
        raise ValueError(f"schema has {len(elements) - i} elements outside its root")
    return out


# ---- the statistics' values ----

cdef uint64_t _raw8(const uint8_t* b, Py_ssize_t off, Py_ssize_t length) noexcept:
    """The first 8 bytes of a value (absent: off -1), zero-padded, read little-endian."""
    cdef uint64_t v = 0
    cdef Py_ssize_t k
    if off < 0:
        return 0
    for k in range(min(length, 8)):
        v |= (<uint64_t>b[off + k]) << (8 * k)
    return v


cdef void _decode(const uint8_t* b, Chunk* c, Stat* s, int ptype, bint type_order) noexcept:
    """A chunk's min/max from the pair of statistics values Arrow reads (min_value/max_value under
    TYPE_ORDER, else the deprecated min/max)."""
    cdef int lo = 3 if type_order else 1
    cdef int hi = 2 if type_order else 0
    cdef uint64_t mn, mx
    cdef uint32_t m32
    cdef float f
    cdef double d
    c.min_f = _NAN
    c.max_f = _NAN
    if not s.present or (s.off[lo] < 0 and s.off[hi] < 0):
        return
    c.has_min_max = 1
    mn = _raw8(b, s.off[lo], s.length[lo])
    mx = _raw8(b, s.off[hi], s.length[hi])
    c.min_i8 = mn
    c.max_i8 = mx
    if ptype == P_INT32:
        c.min_int = <int32_t>(<uint32_t>mn)
        c.max_int = <int32_t>(<uint32_t>mx)
    elif ptype == P_INT64:
        c.min_int = <int64_t>mn
        c.max_int = <int64_t>mx
    elif ptype == P_FLOAT:
        m32 = <uint32_t>mn
        memcpy(&f, &m32, 4)
        c.min_f = f
        m32 = <uint32_t>mx
        memcpy(&f, &m32, 4)
        c.max_f = f
    elif ptype == P_DOUBLE:
        memcpy(&d, &mn, 8)
        c.min_f = d
        memcpy(&d, &mx, 8)
        c.max_f = d


def scan_footer(buf) -> dict:
    """The serialized FileMetaData ``buf`` (bytes-like) -> ``{"num_rows", "created_by", "schema", "kv",
    "rows", "chunks"}``: the file's row count; its writer (str or None); its leaf columns in order, each
    (dotted path, physical type, repetition or -1, converted type or -1); its key-value metadata (bytes ->
    bytes, a missing value b""); rows per row group (int64); the column chunks, shape (groups, columns) of
    :data:`CHUNK_DTYPE` (dictionary_page_offset and null_count -1 when absent; min/max zero, NaN for the
    floats, unless has_min_max; min_i8/max_i8 the first 8 bytes of the value, zero-padded, read
    little-endian; min_int/max_int for INT32 (sign-extended) and INT64 columns; min_f/max_f for FLOAT and
    DOUBLE).  ValueError when the bytes are malformed or truncated."""
    cdef const uint8_t[::1] mv = memoryview(buf).cast("B")
    cdef Cur cur
    cdef Cur* r = &cur
    cdef int64_t last = 0, fid, num_rows = 0
    cdef int t
    cdef Py_ssize_t size, g, j, k, ncol
    cdef bint has_num_rows = False
    cdef _Groups groups = None
    cdef uint8_t[::1] type_order
    cur.b = &mv[0] if mv.shape[0] else NULL
    cur.pos = 0
    cur.n = mv.shape[0]
    schema = orders = None
    kv = {}
    created_by = None
    while True:
        _field(r, last, &fid, &t)
        if t == T_STOP:
            break
        last = fid
        if fid == 2 and t == T_LIST:
            _expect_list(r, "schema", T_STRUCT, &size)
            schema = [_schema_element(r, 1) for _ in range(size)]
        elif fid == 3 and t == T_I64:
            _zigzag(r, &num_rows)
            has_num_rows = True
        elif fid == 4 and t == T_LIST:
            _expect_list(r, "row_groups", T_STRUCT, &size)
            groups = _Groups(size)
            for g in range(size):
                groups.group(r, g, 1)
        elif fid == 5 and t == T_LIST:
            _expect_list(r, "key_value_metadata", T_STRUCT, &size)
            kv = dict([_key_value(r, 1) for _ in range(size)])
        elif fid == 6 and t == T_BINARY:
            created_by = _bytes(r).decode("utf-8")
        elif fid == 7 and t == T_LIST:
            _expect_list(r, "column_orders", T_STRUCT, &size)
            orders = [_column_order(r, 1) for _ in range(size)]
        else:
            _skip(r, t, 1, False)
    if schema is None:
        raise ValueError("file metadata without schema")
    if not has_num_rows:
        raise ValueError("file metadata without num_rows")
    if groups is None:
        raise ValueError("file metadata without row_groups")
    leaves = _leaves(schema)
    ncol = len(leaves)
    if groups.count and groups.ncols != ncol:
        raise ValueError(f"row groups have {groups.ncols} columns, the schema {ncol}")
    if orders is not None and len(orders) != ncol:
        raise ValueError(f"{len(orders)} column orders for {ncol} columns")
    type_order = np.array([orders is not None and orders[j] for j in range(ncol)], np.uint8)
    ptypes = np.array([leaf[1] for leaf in leaves], np.int32)
    cdef int32_t[::1] pt = ptypes
    for g in range(groups.count):
        for j in range(ncol):
            k = g * ncol + j
            _decode(cur.b, &groups.chunks_p[k], &groups.stats_p[k], pt[j], type_order[j])
    return {"num_rows": num_rows, "created_by": created_by, "schema": leaves, "kv": kv,
            "rows": groups.rows, "chunks": groups.chunks.reshape(groups.count, ncol)}

# cython: language_level=3
"""The byte-level pieces of a Parquet column chunk, for :mod:`liqcore.dataset.pages` (a decoder of only the
data pages a row range needs):

* :func:`page_headers`: the page headers of a column chunk (Thrift compact protocol structs, each followed
  by its page's payload), one :data:`PAGE_DTYPE` record per page.
* :func:`delta_binary_packed`: the first values of a DELTA_BINARY_PACKED stream and where the stream ends.
* :func:`rle_hybrid`: the first values of an RLE / bit-packed hybrid stream (levels, dictionary indices).
* :func:`read_placed`: a row range of several column chunks of a file, each from the pages its offset index
  places (:func:`page_span`, then :func:`decode_chunk`), in one call.

The formats: apache/parquet-format ``src/main/thrift/parquet.thrift``, ``Encodings.md``, and Apache
Thrift's compact protocol.  Every read is checked against the range given, explicitly (the release build
compiles without Cython's bounds checks; the debug build, ``LIQCORE_DEBUG=1``, adds them), so truncated
or malformed bytes raise ValueError.  The specification is the reference twin ``pysrc/pqpages.py``, which
the property tests hold equal, errors included.  (Multi-byte loads assume a little-endian host, as the rest of the kernels do.)

Why one module: the page headers, the offset index's page places (:func:`page_span`) and the decoders share the
compact-protocol reader and the checked-range cursor at C level (cdef functions inlined across them); split,
each would carry its own copy or call across extension modules on every page.
"""
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset
from cpython.mem cimport PyMem_Malloc, PyMem_Realloc, PyMem_Free

import numpy as np

#: one page of a column chunk: its type (0 data v1, 1 index, 2 dictionary, 3 data v2), its payload's offset
#: in the buffer and compressed / uncompressed sizes, its value count and encoding, the definition levels'
#: encoding (v1; -1 otherwise), the null count (v2; -1 otherwise), the levels' byte lengths (v2; 0 otherwise)
#: and whether the values are compressed (v2's is_compressed, default 1; 1 for the other pages)
PAGE_DTYPE = np.dtype([("type", np.int32), ("data", np.int64), ("csize", np.int64), ("usize", np.int64),
                       ("nvalues", np.int64), ("encoding", np.int32), ("def_encoding", np.int32),
                       ("nnulls", np.int64), ("def_len", np.int64), ("rep_len", np.int64),
                       ("compressed", np.int8)])

cdef enum:
    PAGE_MAX_DEPTH = 64  # nesting of Thrift structs / lists / maps a skipped value may have
    # the fields of a page's sub-header (DataPageHeader, DictionaryPageHeader, DataPageHeaderV2)
    S_NV = 0
    S_ENC = 1
    S_DEFENC = 2
    S_NNULLS = 3
    S_DEFLEN = 4
    S_REPLEN = 5
    S_COMP = 6
    NSLOTS = 7


cdef struct PageCur:
    const uint8_t* p
    Py_ssize_t pos
    Py_ssize_t end


cdef struct Sub:
    int64_t v[NSLOTS]
    int have[NSLOTS]


cdef int _init(PageCur* c, const uint8_t[::1] buf, Py_ssize_t pos, Py_ssize_t end) except -1:
    """``c`` over ``buf[pos:end]``, after checking ``0 <= pos <= end <= len(buf)``."""
    cdef Py_ssize_t size = buf.shape[0]
    if not (0 <= pos <= end <= size):
        raise ValueError(f"range [{pos}, {end}) outside a buffer of {size} bytes")
    c.p = &buf[0] if size > 0 else NULL
    c.pos = pos
    c.end = end
    return 0


cdef inline int _pskip(PageCur* c, uint64_t n) except -1:
    if n > <uint64_t>(c.end - c.pos):
        raise ValueError("truncated")
    c.pos += <Py_ssize_t>n
    return 0


cdef inline int _pbyte(PageCur* c, uint32_t* out) except -1:
    if c.pos >= c.end:
        raise ValueError("truncated")
    out[0] = c.p[c.pos]
    c.pos += 1
    return 0


cdef inline int _uvarint(PageCur* c, uint64_t* out) except -1:
    """An unsigned LEB128 varint of at most 10 bytes, taken modulo 2**64."""
    cdef uint64_t v = 0
    cdef uint32_t b
    cdef int k
    for k in range(10):
        _pbyte(c, &b)
        v |= (<uint64_t>(b & 0x7F)) << (7 * k)
        if b < 0x80:
            out[0] = v
            return 0
    raise ValueError("varint longer than 10 bytes")


cdef inline int _pzigzag(PageCur* c, int64_t* out) except -1:
    cdef uint64_t u
    _uvarint(c, &u)
    out[0] = <int64_t>((u >> 1) ^ (<uint64_t>0 - (u & 1)))
    return 0


cdef int _pi32(PageCur* c, int64_t* out) except -1:
    _pzigzag(c, out)
    if not (-2147483648 <= out[0] <= 2147483647):
        raise ValueError("i32 out of range")
    return 0


cdef int _pfield(PageCur* c, int64_t last, int* t, int64_t* fid) except -1:
    """The next field header of a struct: its type (0: the struct's end) and id."""
    cdef uint32_t h = 0
    cdef int64_t v
    _pbyte(c, &h)
    t[0] = h & 0x0F
    if t[0] == 0:
        fid[0] = 0
        return 0
    if h >> 4:
        fid[0] = last + (h >> 4)
        return 0
    _pzigzag(c, &v)
    if not (-32768 <= v <= 32767):
        raise ValueError("field id out of range")
    fid[0] = v
    return 0


cdef int _skip_value(PageCur* c, int t, int depth, bint in_list) except -1:
    """Skip a value of compact type ``t`` (a bool is one byte in a list or map, none in a struct field)."""
    cdef uint64_t n, u, i
    cdef uint32_t h = 0
    if depth > PAGE_MAX_DEPTH:
        raise ValueError("too deeply nested")
    if t == 1 or t == 2:
        if in_list:
            _pskip(c, 1)
    elif t == 3:
        _pskip(c, 1)
    elif t == 4 or t == 5 or t == 6:
        _uvarint(c, &u)
    elif t == 7:
        _pskip(c, 8)
    elif t == 8:
        _uvarint(c, &n)
        _pskip(c, n)
    elif t == 9 or t == 10:
        _pbyte(c, &h)
        n = h >> 4
        if n == 15:
            _uvarint(c, &n)
        i = 0
        while i < n:
            _skip_value(c, h & 0x0F, depth + 1, True)
            i += 1
    elif t == 11:
        _uvarint(c, &n)
        if n:
            _pbyte(c, &h)
            i = 0
            while i < n:
                _skip_value(c, h >> 4, depth + 1, True)
                _skip_value(c, h & 0x0F, depth + 1, True)
                i += 1
    elif t == 12:
        _skip_struct(c, depth + 1)
    elif t == 13:
        _pskip(c, 16)
    else:
        raise ValueError(f"unknown compact type {t}")
    return 0


cdef int _skip_struct(PageCur* c, int depth) except -1:
    cdef int t
    cdef int64_t fid = 0
    while True:
        _pfield(c, fid, &t, &fid)
        if t == 0:
            return 0
        _skip_value(c, t, depth, False)


cdef int _slot(int kind, int64_t fid):
    """The sub-header slot of field ``fid`` of a sub-header (PageHeader field ``kind``: 5, 7 or 8); -1: none."""
    if kind == 5:
        return S_NV if fid == 1 else S_ENC if fid == 2 else S_DEFENC if fid == 3 else -1
    if kind == 7:
        return S_NV if fid == 1 else S_ENC if fid == 2 else -1
    if fid == 1:
        return S_NV
    if fid == 2:
        return S_NNULLS
    if fid == 4:
        return S_ENC
    if fid == 5:
        return S_DEFLEN
    if fid == 6:
        return S_REPLEN
    if fid == 7:
        return S_COMP
    return -1


cdef int _sub_header(PageCur* c, int kind, Sub* s) except -1:
    """Sub-header ``kind`` (5, 7, 8) into ``s``: its i32 fields and is_compressed; other fields skipped."""
    cdef int t, k, slot
    cdef int64_t fid = 0
    for k in range(NSLOTS):
        s.have[k] = 0
        s.v[k] = 0
    while True:
        _pfield(c, fid, &t, &fid)
        if t == 0:
            return 0
        slot = _slot(kind, fid)
        if slot < 0:
            _skip_value(c, t, 1, False)
        elif slot == S_COMP:
            if t != 1 and t != 2:
                raise ValueError("is_compressed is not a bool")
            s.v[slot] = 1 if t == 1 else 0
            s.have[slot] = 1
        else:
            if t != 5:
                raise ValueError(f"a field of compact type {t} where 5 belongs")
            _pi32(c, &s.v[slot])
            s.have[slot] = 1


cdef struct Page:
    int64_t ptype
    int64_t data
    int64_t csize
    int64_t usize
    int64_t nv
    int64_t enc
    int64_t defenc
    int64_t nnulls
    int64_t deflen
    int64_t replen
    int64_t comp


cdef int _page(PageCur* c, Page* pg) except -1:
    """The page header at ``c`` into ``pg``, ``c`` moved past its payload (:func:`page_headers`' checks)."""
    cdef Sub subs[3]
    cdef Sub* s
    cdef int have_sub[3]
    cdef int t, k, which
    cdef int64_t fid, v, ptype, usize, csize
    cdef bint got_type, got_u, got_c
    cdef int64_t nv, enc, defenc, nnulls, deflen, replen, comp
    cdef Py_ssize_t data
    got_type = got_u = got_c = False
    ptype = usize = csize = 0
    have_sub[0] = have_sub[1] = have_sub[2] = 0
    fid = 0
    while True:
        _pfield(c, fid, &t, &fid)
        if t == 0:
            break
        if 1 <= fid <= 4:
            if t != 5:
                raise ValueError(f"a field of compact type {t} where 5 belongs")
            _pi32(c, &v)
            if fid == 1:
                ptype = v
                got_type = True
            elif fid == 2:
                usize = v
                got_u = True
            elif fid == 3:
                csize = v
                got_c = True
        elif fid == 5 or fid == 7 or fid == 8:
            if t != 12:
                raise ValueError(f"a field of compact type {t} where 12 belongs")
            which = 0 if fid == 5 else 1 if fid == 7 else 2
            _sub_header(c, <int>fid, &subs[which])
            have_sub[which] = 1
        else:
            _skip_value(c, t, 1, False)
    if not (got_type and got_u and got_c):
        raise ValueError("a page header without its type or sizes")
    if usize < 0 or csize < 0:
        raise ValueError("a negative page size")
    nv, enc, defenc, nnulls, deflen, replen, comp = 0, -1, -1, -1, 0, 0, 1
    if ptype == 0 or ptype == 2 or ptype == 3:
        which = 0 if ptype == 0 else 1 if ptype == 2 else 2
        s = &subs[which]
        if not have_sub[which] or not (s.have[S_NV] and s.have[S_ENC]) or (
                ptype == 3 and not (s.have[S_NNULLS] and s.have[S_DEFLEN] and s.have[S_REPLEN])):
            raise ValueError(f"a page of type {ptype} without its header's required fields")
        nv = s.v[S_NV]
        enc = s.v[S_ENC]
        for k in range(NSLOTS):
            if s.have[k]:
                if k == S_DEFENC:
                    defenc = s.v[k]
                elif k == S_NNULLS:
                    nnulls = s.v[k]
                elif k == S_DEFLEN:
                    deflen = s.v[k]
                elif k == S_REPLEN:
                    replen = s.v[k]
                elif k == S_COMP:
                    comp = s.v[k]
        if nv < 0 or (ptype == 3 and nnulls < 0):
            raise ValueError("a negative count")
        if deflen < 0 or replen < 0 or deflen + replen > min(csize, usize):
            raise ValueError("levels longer than the page")
    data = c.pos
    if csize > c.end - data:
        raise ValueError("a page payload past the chunk's end")
    c.pos = data + csize
    pg.ptype, pg.data, pg.csize, pg.usize, pg.nv, pg.enc = ptype, data, csize, usize, nv, enc
    pg.defenc, pg.nnulls, pg.deflen, pg.replen, pg.comp = defenc, nnulls, deflen, replen, comp
    return 0


def page_headers(const uint8_t[::1] buf, Py_ssize_t pos, Py_ssize_t end):
    """The pages of the column chunk in ``buf[pos:end]``, in order: one :data:`PAGE_DTYPE` record each.

    Each page is a PageHeader struct then ``compressed_page_size`` payload bytes; the pages must fill the
    range exactly.  A data page (type 0), dictionary page (2) or data page v2 (3) must carry its
    sub-header with its required fields; other page types are listed with their sizes only.  ValueError
    on a truncated or malformed header, a negative size or count, a payload past ``end``, or v2 levels
    longer than the payload."""
    cdef PageCur c
    cdef Page pg
    _init(&c, buf, pos, end)
    rows = []
    while c.pos < c.end:
        _page(&c, &pg)
        rows.append((pg.ptype, pg.data, pg.csize, pg.usize, pg.nv, pg.enc, pg.defenc, pg.nnulls, pg.deflen,
                     pg.replen, pg.comp))
    return np.array(rows, dtype=PAGE_DTYPE)


cdef inline uint64_t _bits(const uint8_t* p, Py_ssize_t end, Py_ssize_t body, uint64_t bitpos,
                           int width) noexcept nogil:
    """``width`` (0..64) bits at bit ``bitpos`` past byte ``body``, least significant bit first (the bits
    must lie before byte ``end``)."""
    cdef Py_ssize_t at = body + <Py_ssize_t>(bitpos >> 3)
    cdef int sh = bitpos & 7
    cdef uint64_t word, v = 0
    cdef int k
    if width == 0:
        return 0
    if at + 8 <= end:
        memcpy(&word, p + at, 8)
        v = word >> sh
        if sh + width > 64:
            v |= (<uint64_t>p[at + 8]) << (64 - sh)
    else:
        for k in range(end - at):
            v |= (<uint64_t>p[at + k]) << (8 * k)
        v >>= sh
    if width < 64:
        v &= ((<uint64_t>1) << width) - 1
    return v


cdef int _delta(PageCur* c, int64_t* o, Py_ssize_t n, Py_ssize_t need=-1) except -1:
    """:func:`delta_binary_packed` at ``c`` into ``o`` (``n`` values), ``c`` moved past the stream; ``need``: the
    values the stream must hold (``n`` when -1; more than the ``n`` decoded where a caller reads only the first)."""
    cdef uint64_t block, per_block, total, per_mini, left, k, i, j, m, cur, md
    cdef int64_t first, min_delta
    cdef Py_ssize_t widths, body, got
    cdef int w
    if n < 0:
        raise ValueError("a negative count")
    _uvarint(c, &block)
    _uvarint(c, &per_block)
    _uvarint(c, &total)
    _pzigzag(c, &first)
    if block == 0 or block % 128 or per_block == 0 or block % per_block or (block // per_block) % 32:
        raise ValueError("a malformed DELTA_BINARY_PACKED header")
    if need < n:
        need = n
    if total < <uint64_t>need:
        raise ValueError(f"the stream holds {total} values, fewer than {need}")
    if total == 0:
        return 0
    per_mini = block // per_block
    cur = <uint64_t>first
    if n:
        o[0] = first
    got = 1
    left = total - 1
    while left:
        _pzigzag(c, &min_delta)
        md = <uint64_t>min_delta
        widths = c.pos
        _pskip(c, per_block)
        i = 0
        while i < per_block and left:
            w = c.p[widths + i]
            i += 1
            if w > 64:
                raise ValueError(f"a miniblock bit width {w} > 64")
            body = c.pos
            if w and per_mini // 8 > <uint64_t>(c.end - c.pos):
                raise ValueError("truncated")
            _pskip(c, per_mini // 8 * w)
            k = per_mini if per_mini < left else left
            m = 0 if got >= n else k if k < <uint64_t>(n - got) else <uint64_t>(n - got)
            for j in range(m):
                cur = cur + md + _bits(c.p, c.end, body, j * w, w)
                o[got] = <int64_t>cur
                got += 1
            left -= k
    return 0


def delta_binary_packed(const uint8_t[::1] buf, Py_ssize_t pos, Py_ssize_t end, Py_ssize_t n):
    """The first ``n`` values (int64) of the DELTA_BINARY_PACKED stream at ``buf[pos:end]``, and the offset
    just past the whole stream (every value its header counts).

    The stream: a header (block size -- a positive multiple of 128 --, miniblocks per block -- dividing it
    into miniblocks of a multiple of 32 values --, the value count, the first value as a zigzag varint),
    then blocks: the block's minimum delta (zigzag varint), one bit width (0..64) per miniblock, then the
    miniblocks, each its value count times its bit width bits, the deltas less the minimum, least
    significant bit first.  A value is the one before plus its delta, modulo 2**64.  The last block's
    miniblocks past the last value have no bytes (their widths are present, and ignored).  ValueError when
    the stream is truncated or malformed, or holds fewer than ``n`` values."""
    cdef PageCur c
    _init(&c, buf, pos, end)
    if n < 0:
        raise ValueError("a negative count")
    out = np.zeros(n, np.int64)
    cdef int64_t[::1] o = out
    _delta(&c, &o[0] if n else NULL, n)
    return out, c.pos


cdef int _rle(PageCur* c, int bit_width, uint32_t* o, Py_ssize_t n) except -1:
    """:func:`rle_hybrid` at ``c`` into ``o`` (``n`` values)."""
    cdef uint64_t h, groups, take, j
    cdef Py_ssize_t got = 0, body, need
    cdef int nbytes, k
    cdef uint32_t value
    if not (0 <= bit_width <= 32):
        raise ValueError(f"bit width {bit_width} outside 0..32")
    if n < 0:
        raise ValueError("a negative count")
    nbytes = (bit_width + 7) // 8
    while got < n:
        need = n - got
        _uvarint(c, &h)
        if h & 1:
            groups = h >> 1
            take = <uint64_t>need if groups >= <uint64_t>((need + 7) // 8) else groups * 8
            body = c.pos
            _pskip(c, (take * bit_width + 7) // 8)
            for j in range(take):
                o[got + <Py_ssize_t>j] = <uint32_t>_bits(c.p, c.end, body, j * bit_width, bit_width)
        else:
            take = h >> 1
            if take > <uint64_t>need:
                take = need
            body = c.pos
            _pskip(c, nbytes)
            value = 0
            for k in range(nbytes):
                value |= (<uint32_t>c.p[body + k]) << (8 * k)
            for j in range(take):
                o[got + <Py_ssize_t>j] = value
        got += <Py_ssize_t>take
    return 0


def rle_hybrid(const uint8_t[::1] buf, Py_ssize_t pos, Py_ssize_t end, int bit_width, Py_ssize_t n):
    """The first ``n`` values (uint32) of the RLE / bit-packed hybrid stream at ``buf[pos:end]`` with values
    of ``bit_width`` bits (0..32), without a length prefix.

    The stream is runs, each a varint header: odd, ``header >> 1`` groups of 8 bit-packed values (the
    groups' bytes, least significant bit first); even, ``header >> 1`` repeats of one value held in
    ``ceil(bit_width / 8)`` little-endian bytes.  Only the bytes of the values taken are required (a last
    bit-packed run may be cut short after them).  ValueError when the stream ends before ``n`` values."""
    cdef PageCur c
    _init(&c, buf, pos, end)
    if not (0 <= bit_width <= 32):
        raise ValueError(f"bit width {bit_width} outside 0..32")
    if n < 0:
        raise ValueError("a negative count")
    out = np.zeros(n, np.uint32)
    cdef uint32_t[::1] o = out
    _rle(&c, bit_width, &o[0] if n else NULL, n)
    return out


cdef enum:
    PT_INT32 = 1
    PT_INT64 = 2
    PT_FLOAT = 4
    PT_DOUBLE = 5
    E_PLAIN = 0
    E_PLAIN_DICTIONARY = 2
    E_RLE = 3
    E_DELTA = 5
    E_RLE_DICTIONARY = 8
    E_BSS = 9


_DTYPE_OF = {PT_INT32: np.dtype("<i4"), PT_INT64: np.dtype("<i8"), PT_FLOAT: np.dtype("<f4"),
             PT_DOUBLE: np.dtype("<f8")}


cdef object _page_values(int enc, int physical, int w, object vals, Py_ssize_t present, object dictionary,
                         Py_ssize_t upto=-1):
    """The ``present`` values (physical type) of one page's value section ``vals``, as bytes of ``present * w``;
    None for an encoding not decoded here (the twin's ``_values``).  ``upto`` (0 <= upto <= present): a
    DELTA_BINARY_PACKED page's first ``upto`` values only (the stream's headers all checked, the values past them
    not decoded: the bytes are ``upto * w``), where the caller reads no later one."""
    cdef const uint8_t[::1] v = vals
    cdef Py_ssize_t size = v.shape[0], i, k
    cdef PageCur c
    cdef int64_t[::1] d64
    cdef uint32_t[::1] idx
    cdef uint8_t[::1] o8
    cdef const uint8_t[::1] dct
    cdef uint32_t top
    cdef Py_ssize_t nd
    if enc == E_PLAIN:
        if size < present * w:
            raise ValueError("a PLAIN page shorter than its values")
        return np.frombuffer(vals, np.uint8, present * w)
    if enc == E_BSS:
        if size < present * w:
            raise ValueError("a BYTE_STREAM_SPLIT page shorter than its values")
        out = np.empty(present * w, np.uint8)
        o8 = out
        for k in range(w):
            for i in range(present):
                o8[i * w + k] = v[k * present + i]
        return out
    if enc == E_DELTA and (physical == PT_INT32 or physical == PT_INT64):
        if upto < 0 or upto > present:
            upto = present
        _init(&c, v, 0, size)
        d = np.empty(upto, np.int64)
        d64 = d
        _delta(&c, &d64[0] if upto else NULL, upto, present)
        return (d.astype(np.int32) if physical == PT_INT32 else d).view(np.uint8)
    if (enc == E_RLE_DICTIONARY or enc == E_PLAIN_DICTIONARY) and dictionary is not None:
        dct = dictionary
        nd = dct.shape[0] // w
        if present == 0:
            return np.zeros(0, np.uint8)
        if size == 0:
            raise ValueError("a dictionary page's indices are missing")
        _init(&c, v, 1, size)
        ix = np.zeros(present, np.uint32)
        idx = ix
        _rle(&c, v[0], &idx[0], present)
        top = 0
        for i in range(present):
            if idx[i] > top:
                top = idx[i]
        if <Py_ssize_t>top >= nd:
            raise ValueError("a dictionary index past the dictionary")
        out = np.empty(present * w, np.uint8)
        o8 = out
        if w == 1:  # (the widths by name: a memcpy call per value costs more than the value)
            for i in range(present):
                o8[i] = dct[idx[i]]
        elif w == 4:  # (a memcpy of a constant size: one unaligned move, inlined)
            for i in range(present):
                memcpy(&o8[i * 4], &dct[idx[i] * 4], 4)
        elif w == 8:
            for i in range(present):
                memcpy(&o8[i * 8], &dct[idx[i] * 8], 8)
        else:
            for i in range(present):
                memcpy(&o8[i * w], &dct[idx[i] * w], w)
        return out
    return None


def decode_chunk(buf, int codec, int physical, int max_def, Py_ssize_t rows, Py_ssize_t r0, Py_ssize_t r1,
                 decompress, bint prefix=False, Py_ssize_t row0=0):
    """Rows ``[r0, r1)`` of one flat column chunk whose bytes are ``buf`` (its pages from the dictionary page
    on), decoding only the data pages that hold them (and the dictionary page): an array of the physical type
    (INT32, INT64, FLOAT, DOUBLE: ``<i4 <i8 <f4 <f8``); None where the chunk is not one decoded here (another
    physical type or encoding, a dictionary page after data or over another encoding, v2 repetition levels,
    v1 levels not RLE, a null of an integer column among the rows).  ``codec``: the chunk's (Thrift code);
    ``max_def``: 1 optional, 0 required; ``rows``: its row group's rows; ``decompress(codec, data, size)``:
    a page's payload uncompressed (None: a codec not decoded).  A null of a floating column is NaN.
    ValueError when the bytes do not add up (any page header, a page's values, the pages' row count).
    ``prefix``: ``buf`` may be the chunk's first bytes only: the pages are walked up to the first one that
    completes row ``r1`` (the twin's docstring), ValueError where the bytes end before it.  ``row0``: the row
    the first data page in ``buf`` starts at (the chunk's dictionary page, then its data pages from one holding
    ``r0``: :func:`offset_index`)."""
    cdef const uint8_t[::1] b = buf
    cdef Py_ssize_t size = b.shape[0], n_pages = 0, cap = 16, i, row = 0, n, present, j, a, z, at, kv
    cdef Py_ssize_t lo, csz, usz, lv, k, dst, first = -1, held = 0
    cdef bint complete = False
    cdef PageCur c
    cdef Page* pg
    cdef Page* pp
    cdef int w
    cdef bint int_null = False, is_float, has_defs
    cdef int64_t t
    cdef uint32_t[::1] defs
    cdef const uint8_t[::1] src
    cdef uint8_t[::1] o
    cdef uint64_t nan64 = 0x7FF8000000000000ULL
    cdef uint32_t nan32 = 0x7FC00000U
    cdef PageCur dc
    if not (0 <= row0 <= r0 <= r1 <= rows):
        raise ValueError(f"rows [{r0}, {r1}) outside a row group of {rows}")
    dt = _DTYPE_OF.get(physical)
    if dt is None:
        return None
    w = dt.itemsize
    is_float = physical == PT_FLOAT or physical == PT_DOUBLE
    mv = memoryview(buf).cast("B")
    # every page header first (a malformed one anywhere is an error before any page is decoded)
    _init(&c, b, 0, size)
    row = held = row0
    pg = <Page*>PyMem_Malloc(cap * sizeof(Page))
    if pg == NULL:
        raise MemoryError()
    try:
        while c.pos < c.end:
            if n_pages == cap:
                cap *= 2
                pp = <Page*>PyMem_Realloc(pg, cap * sizeof(Page))
                if pp == NULL:
                    raise MemoryError()
                pg = pp
            _page(&c, &pg[n_pages])
            n_pages += 1
            if prefix and (pg[n_pages - 1].ptype == 0 or pg[n_pages - 1].ptype == 3):
                held += pg[n_pages - 1].nv
                if held >= r1:
                    complete = True
                    break
        if prefix and not complete:
            raise ValueError("the chunk's first bytes end before the rows asked for")
        out = np.empty((r1 - r0) * w, np.uint8)
        o = out
        dictionary = None
        for i in range(n_pages):
            t = pg[i].ptype
            lo, csz, usz, n = pg[i].data, pg[i].csize, pg[i].usize, pg[i].nv
            if t == 2:
                if dictionary is not None or row != row0 or (pg[i].enc != E_PLAIN and pg[i].enc != E_PLAIN_DICTIONARY):
                    return None
                raw = decompress(codec, mv[lo:lo + csz], usz)
                if raw is None:
                    return None
                dictionary = _page_values(E_PLAIN, physical, w, raw, n, None)
                continue
            if t != 0 and t != 3:
                continue  # (an index page: nothing of the rows)
            if row + n <= r0 or row >= r1:  # a page of no row asked for: passed over undecoded
                row += n
                continue
            has_defs = False
            if t == 0:
                raw = decompress(codec, mv[lo:lo + csz], usz)
                if raw is None:
                    return None
                src = raw
                at = 0
                if max_def:
                    if pg[i].defenc != E_RLE or src.shape[0] < 4:
                        return None
                    kv = src[0] | (src[1] << 8) | (src[2] << 16) | (<Py_ssize_t>src[3] << 24)
                    _init(&dc, src, 4, 4 + kv)
                    dd = np.zeros(n, np.uint32)
                    defs = dd
                    _rle(&dc, 1, &defs[0] if n else NULL, n)
                    has_defs = True
                    at = 4 + kv
                vals = memoryview(raw)[at:] if at else raw  # (a view: no copy of the page)
            else:
                lv = pg[i].replen + pg[i].deflen
                if pg[i].replen or lv > csz:
                    return None
                if max_def:
                    _init(&dc, b, lo, lo + lv)
                    dd = np.zeros(n, np.uint32)
                    defs = dd
                    _rle(&dc, 1, &defs[0] if n else NULL, n)
                    has_defs = True
                body = mv[lo + lv:lo + csz]
                vals = decompress(codec, body, usz - lv) if pg[i].comp else body
                if vals is None:
                    return None
            present = n
            if has_defs:
                present = 0
                for j in range(n):
                    if defs[j] != 0:
                        present += 1
            a = r0 - row if r0 > row else 0  # the page's rows asked for: [a, z) (its values past z not needed: a
            z = r1 - row if r1 < row + n else n  # delta stream's not decoded)
            got = _page_values(pg[i].enc, physical, w, vals, present, dictionary, z if z < present else present)
            if got is None:
                return None
            src = got
            first = row if first < 0 else first
            if not has_defs or present == n:
                if z > a:
                    memcpy(&o[(row + a - r0) * w], &src[a * w], (z - a) * w)
            else:
                k = 0  # the value of row j: the k-th present one
                for j in range(z):
                    if defs[j] != 0:
                        if j >= a:
                            memcpy(&o[(row + j - r0) * w], &src[k * w], w)
                        k += 1
                    elif j >= a:
                        dst = (row + j - r0) * w
                        if not is_float:
                            int_null = True
                            memset(&o[dst], 0, w)
                        elif w == 8:
                            memcpy(&o[dst], &nan64, 8)
                        else:
                            memcpy(&o[dst], &nan32, 4)
            row += n
    finally:
        PyMem_Free(pg)
    if first < 0:
        return np.zeros(0, dt) if r0 == r1 and (row == rows or prefix) else None  # (a prefix: walked to r1)
    if row != rows and not prefix:
        raise ValueError(f"the pages hold {row} rows, the row group {rows}")
    if int_null:
        return None
    return out.view(dt)


cdef int64_t _locations(PageCur* c, const uint8_t[::1] buf) except -1:
    """The header of OffsetIndex's page_locations list (a list of structs) -> its length."""
    cdef uint32_t h = 0
    cdef uint64_t n = 0
    _pbyte(c, &h)
    n = h >> 4
    if n == 15:
        _uvarint(c, &n)
    if (h & 0x0F) != 12:
        raise ValueError(f"a field of compact type {h & 0x0F} where 12 belongs")
    if n > <uint64_t>buf.shape[0]:
        raise ValueError("truncated")
    return <int64_t>n


cdef int _location(PageCur* c, int64_t* off, int64_t* size, int64_t* first) except -1:
    """One PageLocation: offset=1 (i64), compressed_page_size=2 (i32), first_row_index=3 (i64), all required."""
    cdef int t2, got = 0
    cdef int64_t f = 0
    while True:
        _pfield(c, f, &t2, &f)
        if t2 == 0:
            break
        if f == 1 and t2 == 6:
            _pzigzag(c, off)
            got |= 1
        elif f == 3 and t2 == 6:
            _pzigzag(c, first)
            got |= 4
        elif f == 2 and t2 == 5:
            _pi32(c, size)
            got |= 2
        else:
            _skip_value(c, t2, 2, False)
    if got != 7:
        raise ValueError("a page location without offset, size or first row")
    return 0


def offset_index(const uint8_t[::1] buf):
    """A column chunk's offset index (Thrift ``OffsetIndex``) -> int64 array (pages, 3): each data page's
    offset in the file, its bytes and its first row (the twin's docstring).  ValueError when malformed."""
    cdef PageCur c
    cdef int t
    cdef int64_t last = 0, f, n, i
    cdef int64_t[:, ::1] o
    _init(&c, buf, 0, buf.shape[0])
    out = None
    while True:
        _pfield(&c, last, &t, &f)
        if t == 0:
            break
        last = f
        if f == 1 and t == 9:
            n = _locations(&c, buf)
            out = np.zeros((n, 3), np.int64)
            o = out
            for i in range(n):
                _location(&c, &o[i, 0], &o[i, 1], &o[i, 2])
        else:
            _skip_value(&c, t, 1, False)
    if out is None:
        raise ValueError("an offset index without page_locations")
    return out


def page_span(const uint8_t[::1] buf, int64_t first_page, int64_t end, int64_t rows, int64_t r0, int64_t r1):
    """The data pages of rows ``[r0, r1)`` (``r0 < r1``) of a column chunk, from its offset index ``buf`` (as
    :func:`offset_index` reads it) -> ``(lo, hi, row0, row_end)``: their bytes ``[lo, hi)`` in the file and their
    rows ``[row0, row_end)``; None where the index does not place the chunk's pages exactly (the first at
    ``first_page``, each next where the one before ends, the last ending at ``end``; first rows from 0 up, each
    below ``rows``).  ValueError when its bytes are malformed (the twin's docstring)."""
    cdef PageCur c
    cdef int t
    cdef int64_t last = 0, f, off, size, first, i, n
    cdef int64_t at = first_page, prev_first = -1, lo = -1, hi = -1, row0 = -1, row_end = -1
    cdef bint seen = False, placed = True
    if not (0 <= r0 < r1 <= rows):
        raise ValueError(f"rows [{r0}, {r1}) outside a row group of {rows} (or none)")
    _init(&c, buf, 0, buf.shape[0])
    while True:
        _pfield(&c, last, &t, &f)
        if t == 0:
            break
        last = f
        if f == 1 and t == 9:  # (a list given twice: the last one, as the twin's offset_index keeps it)
            seen = True
            at, prev_first, lo, hi, row0, row_end, placed = first_page, -1, -1, -1, -1, -1, True
            n = _locations(&c, buf)
            for i in range(n):
                off = size = first = 0
                _location(&c, &off, &size, &first)
                if off != at or size <= 0 or first <= prev_first or first >= rows or (i == 0 and first != 0):
                    placed = False  # (the rest still parsed: malformed bytes after it are ValueError, as the twin's)
                if first <= r0:
                    lo, row0 = off, first
                if first < r1:
                    hi = off + size
                elif row_end < 0:
                    row_end = first
                at = off + size
                prev_first = first
        else:
            _skip_value(&c, t, 1, False)
    if not seen:
        raise ValueError("an offset index without page_locations")
    if not placed or prev_first < 0 or at != end:
        return None
    return lo, hi, row0, (rows if row_end < 0 else row_end)



def read_placed(pread, const int64_t[:, ::1] cols, index, int64_t index_lo, Py_ssize_t r0, Py_ssize_t r1,
                decompress, dtypes):
    """Rows ``[r0, r1)`` (``r0 < r1``) of the column chunks ``cols`` of a file (``pread(n, at)``: its ``n`` bytes from
    ``at``, fewer at its end: the caller's read, this module does no I/O), each from its
    dictionary page and the data pages its offset index places (:func:`page_span`), decoded by
    :func:`decode_chunk` -> ``(values, bytes read)``.  ``cols``: a row per chunk, ``(start, end, codec, physical,
    max_def, rows, first_page, index_at, index_len)`` (its bytes, its codec and physical type, 1 optional or 0
    required, its row group's rows, its first data page, its offset index's place and length); ``index``: the
    chunks' offset indexes as read from the file's byte ``index_lo`` on (None: each read here); ``dtypes``: per
    chunk the numpy type its values are given as.  Per chunk its values, False where it has no index, its index
    does not place its pages or their bytes do not decode (the caller reads that chunk without the index), or
    None where it is not one decoded here -- the list then ends there.  The twin's docstring is the rule."""
    cdef Py_ssize_t k, n = cols.shape[0], a, got_bytes = 0
    cdef int64_t start, end, first_page, index_at, index_len, lo, hi, row0, row_end, head
    cdef Py_ssize_t n_index = -1 if index is None else len(index)
    if cols.shape[1] != 9:
        raise ValueError("read_placed: a chunk row has 9 fields")
    if not r0 < r1:
        raise ValueError(f"read_placed: rows [{r0}, {r1}), none")
    iv = None if index is None else memoryview(index).cast("B")
    out = []
    for k in range(n):
        start, end, first_page = cols[k, 0], cols[k, 1], cols[k, 6]
        index_at, index_len = cols[k, 7], cols[k, 8]
        if index_len <= 0:
            out.append(False)
            continue
        a = -1 if index is None else index_at - index_lo
        if 0 <= a and a + index_len <= n_index:
            raw = iv[a:a + index_len]
        else:
            raw = pread(index_len, index_at) if index_at >= 0 else b""
            got_bytes += len(raw)
        v = False
        try:
            span = page_span(raw, first_page, end, cols[k, 5], r0, r1) if len(raw) == index_len else None
            if span is not None:
                lo, hi, row0, row_end = span
                head = first_page - start  # (the dictionary page: before the first data page)
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
                got_bytes += len(buf)
                if ok:  # (the pages read must hold exactly the rows their places say: decode_chunk counts them)
                    v = decode_chunk(buf, <int>cols[k, 2], <int>cols[k, 3], <int>cols[k, 4], row_end, r0, r1,
                                     decompress, False, row0)
        except ValueError:
            v = False
        if v is None:
            out.append(None)
            break
        if v is not False and v.dtype != dtypes[k]:
            v = v.astype(dtypes[k])
        out.append(v)
    return out, got_bytes

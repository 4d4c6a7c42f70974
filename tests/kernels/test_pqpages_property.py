"""The Parquet page kernel (liqcore._libs.reading) vs its twin (pysrc.pqpages), and the page reader
(liqcore.dataset.pages) vs pyarrow.

Kernel vs twin, on the bytes pyarrow writes (page headers of every chunk, the DELTA_BINARY_PACKED values
of a page, definition levels and dictionary indices) and on those bytes cut short or with bytes changed:
the same results, or ValueError from both.  Reader vs pyarrow, bit for bit and dtype for dtype: random
tables (timestamps random and sorted, few-valued int8 / uint8 dictionary columns, floats with NaN and
nulls, DELTA_BINARY_PACKED and BYTE_STREAM_SPLIT columns) written with random codecs, page versions,
page and group sizes and statistics, read at random row ranges of random groups; a page outside the
range corrupted (pyarrow's read of the group fails, the reader's is still right: it did not decode
it); None where the reader does not go (a null in an integer column, a boolean column); and the
layout liqcore's dataset writer gives its files (with one page per chunk and with 1024-row pages)."""
from __future__ import annotations

import functools
import hashlib
import io
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore._libs import reading as kernel
from liqcore._libs.reading import scan_footer
from liqcore.dataset import pages
from pysrc import pqpages as twin

pytestmark = pytest.mark.property

_TS = 1_700_000_000_000_000_000


def _same(name: str, *args):
    """Kernel and twin function ``name`` on ``args``: both raise ValueError, or both give equal results
    (arrays: dtype and bytes); the result, or None after a ValueError."""
    try:
        want = getattr(twin, name)(*args)
    except ValueError:
        with pytest.raises(ValueError):
            getattr(kernel, name)(*args)
        return None
    got = getattr(kernel, name)(*args)
    for g, w in zip(got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,)):
        if w is None:  # (decode_chunk: a chunk not decoded here)
            assert g is None
        elif isinstance(w, np.ndarray):
            assert isinstance(g, np.ndarray) and g.dtype == w.dtype and g.tobytes() == w.tobytes()
        else:
            assert g == w
    return got


def _table(seed: int, n: int) -> pa.Table:
    """A table of ``n`` rows of every column kind the reader is for (and random ones)."""
    rng = np.random.default_rng(seed)
    f = rng.normal(100.0, 10.0, n).round(2)
    f[rng.random(n) < 0.05] = np.nan
    return pa.table({
        "ts": np.sort(_TS + rng.integers(0, 10**12, n)),
        "recv": _TS + rng.integers(0, 10**12, n),
        "delta": np.cumsum(rng.integers(-5, 1000, n)) + _TS,
        "wide": rng.integers(-2**63, 2**63 - 1, n, dtype=np.int64),
        "kind": pa.array(rng.integers(0, 4, n).astype(np.int8)),
        "flags": pa.array(rng.choice(np.array([0, 1, 255], np.uint8), n)),
        "i32": pa.array(rng.integers(-2**31, 2**31 - 1, n, dtype=np.int64).astype(np.int32)),
        "price": pa.array(f, mask=rng.random(n) < 0.05),
        "f4": rng.normal(size=n).astype(np.float32),
    })


@st.composite
def _written(draw):
    """(table, parquet bytes, write options) of a random table written with random options."""
    n = draw(st.integers(1, 2000))
    t = _table(draw(st.integers(0, 2**32 - 1)), n)
    enc = {"delta": "DELTA_BINARY_PACKED", "wide": "DELTA_BINARY_PACKED"}
    if draw(st.booleans()):
        enc["i32"] = "DELTA_BINARY_PACKED"
    if draw(st.booleans()):
        enc.update(price="BYTE_STREAM_SPLIT", f4="BYTE_STREAM_SPLIT")
    opts = dict(
        compression=draw(st.sampled_from(["zstd", "none", "snappy"])),
        data_page_version=draw(st.sampled_from(["1.0", "2.0"])),
        max_rows_per_page=draw(st.one_of(st.none(), st.integers(1, 2000))),
        row_group_size=draw(st.integers(1, 3000)),
        write_statistics=draw(st.booleans()),
        use_dictionary=["kind", "flags"] + [c for c in ("ts", "i32") if c not in enc and draw(st.booleans())],
        column_encoding=enc,
    )
    buf = io.BytesIO()
    pq.write_table(t, buf, **opts)
    return t, buf.getvalue(), opts


def _chunks_of(raw: bytes, g: int, names: list) -> list | None:
    """pages.chunks_of of group ``g`` of the Parquet file ``raw``, from its footer scan, each column read as its
    Arrow type's numpy type (as the checked read asks for its columns)."""
    n = int.from_bytes(raw[-8:-4], "little")
    sc = scan_footer(raw[len(raw) - 8 - n:len(raw) - 8])
    arrow = pq.ParquetFile(io.BytesIO(raw)).schema_arrow
    want = {}
    for name in names:
        try:
            want[name] = np.dtype(arrow.field(name).type.to_pandas_dtype())
        except (KeyError, NotImplementedError, TypeError):
            return None
    args = (tuple(tuple(c) for c in sc["schema"]), sc["chunks"], sc["rows"], g, names, want)
    made = pages.chunks_of(*args)
    # kept under the footer's key: the same answer, and the kept one the next time (a key is a footer's identity)
    key = ("mem", hashlib.sha256(raw).hexdigest())
    kept = pages.chunks_of(*args, key=key)
    assert kept == made and pages.chunks_of(*args, key=key) is kept
    return made


def _read_rows(fd: int, raw: bytes, g: int, names: list, lo: int, hi: int):
    chunks = _chunks_of(raw, g, names)
    return None if chunks is None else pages.read_rows(fd, chunks, names, lo, hi)


def _chunk_ranges(raw: bytes):
    md = pq.ParquetFile(io.BytesIO(raw)).metadata
    for g in range(md.num_row_groups):
        yield from _chunks_of(raw, g, md.schema.names) or ()


def test_page_dtype_is_the_twins():
    assert kernel.PAGE_DTYPE == twin.PAGE_DTYPE


@settings(max_examples=15, deadline=None)
@given(_written(), st.data())
def test_page_headers_as_the_twin(w, data):
    _, raw, _ = w
    chunks = list(_chunk_ranges(raw))
    assert len(chunks) >= 9
    for c in chunks[:18]:
        heads = _same("page_headers", raw, c.start, c.end)
        assert heads is not None and len(heads) and heads["nvalues"][heads["type"] != 2].sum() == c.rows
    c = data.draw(st.sampled_from(chunks))
    cut = data.draw(st.integers(c.start, c.end))
    _same("page_headers", raw, c.start, cut)
    spoilt = bytearray(raw[c.start:c.end])
    for _ in range(data.draw(st.integers(1, 4))):
        spoilt[data.draw(st.integers(0, len(spoilt) - 1))] = data.draw(st.integers(0, 255))
    _same("page_headers", bytes(spoilt), 0, len(spoilt))
    _same("page_headers", raw, c.start, c.end + 1)  # past the chunk: the next page header, or out of range


def _pages_of(raw: bytes, c: pages.Chunk):
    """(page record, its payload uncompressed: levels then values) of each data page of chunk ``c``."""
    for p in kernel.page_headers(raw, c.start, c.end):
        p = p.tolist()
        ptype, at, csize, usize = p[:4]
        body = memoryview(raw)[at:at + csize]
        if ptype == 0:
            yield p, bytes(pages._decompress(c.codec, body, usize))
        elif ptype == 3:
            d = p[8]
            rest = pages._decompress(c.codec, body[d:], usize - d) if p[10] else body[d:]
            yield p, bytes(body[:d]) + bytes(rest)


@settings(max_examples=15, deadline=None)
@given(_written(), st.data())
def test_streams_as_the_twin(w, data):
    t, raw, opts = w
    md = pq.ParquetFile(io.BytesIO(raw)).metadata
    g = data.draw(st.integers(0, md.num_row_groups - 1))
    names = ["delta", "wide", "price", "kind"]
    first = sum(md.row_group(i).num_rows for i in range(g))
    for name, c in zip(names, _chunks_of(raw, g, names)):
        row = first
        for p, page in _pages_of(raw, c):
            nvalues, enc, v2, d = p[4], p[5], p[0] == 3, p[8]
            lev = (0, d) if v2 else (4, 4 + int.from_bytes(page[:4], "little"))
            defs = _same("rle_hybrid", page, lev[0], lev[1], 1, nvalues)
            assert np.array_equal(defs.astype(bool), t[name].is_valid().to_numpy()[row:row + nvalues])
            _same("rle_hybrid", page, lev[0], lev[1], 1, nvalues + data.draw(st.integers(0, 100)))
            at, k = lev[1], int(defs.sum())
            if enc == 5:
                n = data.draw(st.integers(0, k))
                vals, end = _same("delta_binary_packed", page, at, len(page), n)
                assert end == len(page)
                assert np.array_equal(vals, t[name].to_numpy()[row:row + n])
                _same("delta_binary_packed", page, at, data.draw(st.integers(at, len(page))), n)
                _same("delta_binary_packed", page, at, len(page), k + 1)
            elif enc in (2, 8) and at < len(page):
                _same("rle_hybrid", page, at + 1, len(page), page[at], k)
                _same("rle_hybrid", page, at + 1, data.draw(st.integers(at + 1, len(page))), page[at], k)
            row += nvalues
    blob = data.draw(st.binary(max_size=64))
    _same("delta_binary_packed", blob, 0, len(blob), data.draw(st.integers(0, 300)))
    _same("rle_hybrid", blob, 0, len(blob), data.draw(st.integers(0, 33)), data.draw(st.integers(0, 300)))
    _same("page_headers", blob, 0, len(blob))
    _same("rle_hybrid", blob, 0, len(blob) + 1, 1, 1)


def _check(raw: bytes, g: int, names: list[str], lo: int, hi: int, path) -> None:
    """read_rows of rows [lo, hi) of group g equals pyarrow's, bit for bit."""
    path.write_bytes(raw)
    pf = pq.ParquetFile(path)
    ref = pf.read_row_groups([g], columns=names).slice(lo, hi - lo)
    fd = os.open(path, os.O_RDONLY)
    try:
        got = _read_rows(fd, raw, g, names, lo, hi)
    finally:
        os.close(fd)
    assert got is not None
    for name in names:
        want = ref.column(name).to_numpy()
        assert got[name].dtype == want.dtype and got[name].tobytes() == want.tobytes(), name


@settings(max_examples=30, deadline=None)
@given(_written(), st.data())
def test_read_rows_as_pyarrow(tmp_path_factory, w, data):
    t, raw, opts = w
    md = pq.ParquetFile(io.BytesIO(raw)).metadata
    g = data.draw(st.integers(0, md.num_row_groups - 1))
    rows = md.row_group(g).num_rows
    lo = data.draw(st.integers(0, rows))
    hi = data.draw(st.integers(lo, rows))
    names = data.draw(st.lists(st.sampled_from(t.column_names), min_size=1, unique=True))
    _check(raw, g, names, lo, hi, tmp_path_factory.mktemp("pq") / "t.parquet")


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["1.0", "2.0"]), st.integers(0, 9), st.integers(1, 99))
def test_only_the_pages_of_the_rows_are_decoded(seed, version, page, width):
    t = _table(seed, 1000)
    buf = io.BytesIO()
    pq.write_table(t, buf, compression="zstd", data_page_version=version, max_rows_per_page=100,
                   column_encoding={"delta": "DELTA_BINARY_PACKED"}, use_dictionary=["kind"])
    raw = bytearray(buf.getvalue())
    md = pq.ParquetFile(io.BytesIO(bytes(raw))).metadata
    names = ["delta", "kind", "price"]
    chunks = _chunks_of(bytes(raw), 0, names)
    for c in chunks:  # page `page` of every column: its compressed payload zeroed
        p = [h for h in kernel.page_headers(bytes(raw), c.start, c.end) if h["type"] != 2][page]
        raw[int(p["data"]) + int(p["def_len"]):int(p["data"]) + int(p["csize"])] = bytes(
            int(p["csize"]) - int(p["def_len"]))
    with pytest.raises(Exception):
        pq.ParquetFile(io.BytesIO(bytes(raw))).read_row_groups([0], columns=names)
    lo = 0 if page else 100  # rows of the pages before the spoilt one, or after it
    hi = page * 100 if page else min(1000, 100 + width * 10)
    view = memoryview(bytes(raw))
    for name, c in zip(names, chunks):
        got = pages.decode(view[c.start:c.end], c, lo, hi)
        assert got.tobytes() == t[name].to_numpy()[lo:hi].tobytes()
        with pytest.raises(ValueError):
            pages.decode(view[c.start:c.end], c, page * 100, page * 100 + 1)


def test_what_it_does_not_read_is_none(tmp_path):
    n = 3000
    t = pa.table({"i": pa.array(np.arange(n), mask=np.arange(n) % 7 == 3), "b": np.arange(n) % 2 == 0,
                  "x": np.arange(n, dtype=np.float64)})
    path = tmp_path / "t.parquet"
    pq.write_table(t, path, max_rows_per_page=500)
    raw = path.read_bytes()
    fd = os.open(path, os.O_RDONLY)
    try:
        assert _read_rows(fd, raw, 0, ["i"], 0, 10) is None  # a null in an integer column
        assert _read_rows(fd, raw, 0, ["i"], 0, 3)["i"].tobytes() == np.arange(3).tobytes()
        assert _chunks_of(raw, 0, ["b"]) is None  # boolean
        assert _chunks_of(raw, 0, ["nope"]) is None
        with pytest.raises(ValueError):
            _read_rows(fd, raw, 0, ["x"], 0, n + 1)
    finally:
        os.close(fd)
    pq.write_table(t, path, compression="lz4")
    raw = path.read_bytes()
    fd = os.open(path, os.O_RDONLY)
    try:
        # (pyarrow's "lz4" is the footer's LZ4_RAW, code 7: decoded through pyarrow's own decompressor)
        assert _read_rows(fd, raw, 0, ["x"], 0, 10)["x"].tobytes() == np.arange(10, dtype=np.float64).tobytes()
    finally:
        os.close(fd)


def _dataset_like(n: int, seed: int) -> pa.Table:
    """Columns of a liqcore partition file, with their types (a time-sorted block of trades and quotes)."""
    rng = np.random.default_rng(seed)
    ts = np.sort(_TS + rng.integers(0, 86_400 * 10**9, n))
    price = 60_000 + np.cumsum(rng.integers(-3, 4, n)) * 0.1
    ask = price + 0.1
    ask[rng.random(n) < 0.4] = np.nan
    return pa.table({
        "ts_event_ns": ts, "ts_recv_ns": ts + rng.integers(10**5, 10**8, n),
        "kind": pa.array(rng.choice(np.array([1, 2], np.int8), n)),
        "side": pa.array(rng.choice(np.array([1, 2, 3, 4], np.int8), n)),
        "price": price.round(1), "qty": rng.exponential(0.1, n).round(4),
        "flags": pa.array(rng.choice(np.array([0, 1], np.uint8), n)),
        "trade_id": np.where(rng.random(n) < 0.5, np.arange(n) + 10**9, 0),
        "ask_price": ask, "ask_qty": np.where(np.isnan(ask), np.nan, 1.0),
    })


@pytest.mark.parametrize("page_rows", [None, 1024])
def test_the_dataset_writers_layout(tmp_path, page_rows):
    """The options of liqcore.dataset.write._write_parquet (zstd by column -- none for the times and the codes --,
    dictionaries for kind / side / flags, DELTA_BINARY_PACKED times and trade ids, 16384-row groups), one page per
    chunk or 1024-row pages."""
    from liqcore.dataset.read import ROW_GROUP_ROWS
    from liqcore.dataset.write import _DELTA_COLUMNS
    from liqcore.io.contract import column_codecs

    t = _dataset_like(40_000, 7)
    path = tmp_path / "part-0.parquet"
    with pq.ParquetWriter(path, t.schema, compression=column_codecs(t.column_names),
                          use_dictionary=["kind", "side", "flags"],
                          column_encoding={c: "DELTA_BINARY_PACKED" for c in _DELTA_COLUMNS},
                          max_rows_per_page=page_rows) as w:
        w.write_table(t, row_group_size=ROW_GROUP_ROWS)
    raw = path.read_bytes()
    md = pq.ParquetFile(path).metadata
    assert md.row_group(0).num_rows == ROW_GROUP_ROWS
    for g, lo, hi in [(0, 0, ROW_GROUP_ROWS), (0, 1024, 2048), (1, 1000, 1030), (1, 16383, 16384),
                      (2, 0, md.row_group(2).num_rows), (2, 5000, 7000)]:
        _check(raw, g, t.column_names, lo, hi, path)


def _same_chunk(buf, c: pages.Chunk, r0: int, r1: int):
    """decode_chunk of kernel and twin on the same chunk bytes and rows (:func:`_same`): both ValueError, both
    None, or arrays equal in dtype and bytes."""
    return _same("decode_chunk", buf, c.codec, c.physical, c.max_def, c.rows, r0, r1, pages._decompress)


@settings(max_examples=40, deadline=None)
@given(_written(), st.data())
def test_decode_chunk_as_the_twin(w, data):
    """The page loop (kernel) and its twin on every column of random chunks at random rows, on those bytes
    cut short, with bytes changed, and with rows past the group: equal results, None or ValueError alike."""
    t, raw, _ = w
    md = pq.ParquetFile(io.BytesIO(raw)).metadata
    g = data.draw(st.integers(0, md.num_row_groups - 1))
    rows = md.row_group(g).num_rows
    decoded = 0
    for c in _chunks_of(raw, g, t.column_names) or ():
        r0 = data.draw(st.integers(0, rows))
        r1 = data.draw(st.integers(r0, rows))
        got = _same_chunk(raw[c.start:c.end], c, r0, r1)
        decoded += got is not None
        _same_chunk(memoryview(raw)[c.start:c.end], c, r0, r1)  # (a view, as read_rows gives it)
        _same_chunk(raw[c.start:c.end], c, r0, rows + data.draw(st.integers(1, 5)))
    assert decoded  # (the float and timestamp columns decode whatever the options)
    c = data.draw(st.sampled_from(_chunks_of(raw, g, t.column_names)))
    cut = raw[c.start:data.draw(st.integers(c.start, c.end))]
    _same_chunk(cut, c, 0, data.draw(st.integers(0, rows)))
    spoilt = bytearray(raw[c.start:c.end])
    for _ in range(data.draw(st.integers(1, 4))):
        spoilt[data.draw(st.integers(0, len(spoilt) - 1))] = data.draw(st.integers(0, 255))
    r0 = data.draw(st.integers(0, rows))
    _same_chunk(bytes(spoilt), c, r0, data.draw(st.integers(r0, rows)))
    blob = data.draw(st.binary(max_size=64))
    _same_chunk(blob, c, 0, 0)


@settings(max_examples=40, deadline=None)
@given(_written(), st.data())
def test_a_chunks_first_bytes_decode_as_the_whole_chunk(w, data):
    """``prefix=True`` (the chunk's first bytes): kernel and twin alike, cut anywhere, spoilt or not; where the
    bytes hold every page up to the one that completes the rows, the same values as the whole chunk's decode;
    cut before the end of that page, ValueError from both (the caller then reads the whole chunk)."""
    t, raw, _ = w
    md = pq.ParquetFile(io.BytesIO(raw)).metadata
    g = data.draw(st.integers(0, md.num_row_groups - 1))
    rows = md.row_group(g).num_rows
    for c in _chunks_of(raw, g, t.column_names) or ():
        r0 = data.draw(st.integers(0, rows))
        r1 = data.draw(st.integers(r0, rows))
        whole = _same_chunk(raw[c.start:c.end], c, r0, r1)
        heads = kernel.page_headers(raw, c.start, c.end)
        held, need = 0, None  # (the end of the page that completes row r1)
        for h in heads:
            held += int(h["nvalues"]) if int(h["type"]) in (0, 3) else 0
            if int(h["type"]) in (0, 3) and held >= r1:
                need = int(h["data"]) + int(h["csize"])
                break
        cut = data.draw(st.integers(c.start, c.end))
        args = (c.codec, c.physical, c.max_def, c.rows, r0, r1, pages._decompress, True)
        got = _same("decode_chunk", raw[c.start:cut], *args)
        if need is not None and cut >= need and whole is not None:
            assert got is not None and got.tobytes() == whole.tobytes()
        elif need is not None and cut < need:
            with pytest.raises(ValueError):
                kernel.decode_chunk(raw[c.start:cut], *args)
    c = data.draw(st.sampled_from(_chunks_of(raw, g, t.column_names)))
    spoilt = bytearray(raw[c.start:c.end])
    for _ in range(data.draw(st.integers(1, 4))):
        spoilt[data.draw(st.integers(0, len(spoilt) - 1))] = data.draw(st.integers(0, 255))
    r0 = data.draw(st.integers(0, rows))
    cut = data.draw(st.integers(0, len(spoilt)))
    _same("decode_chunk", bytes(spoilt[:cut]), c.codec, c.physical, c.max_def, c.rows, r0,
          data.draw(st.integers(r0, rows)), pages._decompress, True)


def test_no_rows_at_a_page_boundary_from_a_prefix_as_from_the_whole_chunk(tmp_path):
    """No rows asked for at a page's first row ([0, 0), [200, 200)): the chunk's first bytes give the empty array the
    whole chunk gives, kernel and twin alike (they gave None: a prefix walked to no row decoded none).  Negative
    control: bytes cut before the page that completes the rows are an error from both."""
    t = pa.table({"x": np.arange(1000, dtype=np.int64)})
    path = tmp_path / "t.parquet"
    pq.write_table(t, path, compression="zstd", max_rows_per_page=200, use_dictionary=False,
                   column_encoding={"x": "DELTA_BINARY_PACKED"})
    raw = path.read_bytes()
    c = _chunks_of(raw, 0, ["x"])[0]
    for r in (0, 200):
        args = (c.codec, c.physical, c.max_def, c.rows, r, r, pages._decompress)
        whole = _same("decode_chunk", raw[c.start:c.end], *args)
        got = _same("decode_chunk", raw[c.start:c.end], *args, True)
        assert whole is not None and got is not None and len(got) == 0 and got.dtype == whole.dtype
    for impl in (kernel, twin):
        with pytest.raises(ValueError):
            impl.decode_chunk(raw[c.start:c.start + 3], c.codec, c.physical, c.max_def, c.rows, 0, 0,
                              pages._decompress, True)


def test_read_rows_reads_a_prefix_and_falls_back_to_the_whole_chunk(tmp_path, monkeypatch):
    """A read of the first rows of a group reads the chunk's first bytes only; a prefix that ends too soon (the
    estimate of a chunk whose first pages are larger) is read again whole; both give pyarrow's values.  Negative
    control: with prefixes off every read is whole."""
    rng = np.random.default_rng(5)
    n = 4000
    x = np.concatenate([rng.normal(size=1000), np.zeros(n - 1000)])  # (the first pages random, the rest constant)
    t = pa.table({"x": x})
    path = tmp_path / "t.parquet"
    pq.write_table(t, path, compression="zstd", max_rows_per_page=200, use_dictionary=False)
    raw = path.read_bytes()
    c = _chunks_of(raw, 0, ["x"])[0]
    sizes = []
    real = os.pread
    monkeypatch.setattr(os, "pread", lambda f, size, at: sizes.append(size) or real(f, size, at))
    fd = os.open(path, os.O_RDONLY)
    try:
        for lo, hi, prefix_only in ((3000, 3100, False), (0, 100, True), (800, 1000, False)):
            sizes.clear()
            got = _read_rows(fd, raw, 0, ["x"], lo, hi)["x"]
            assert got.tobytes() == x[lo:hi].tobytes()
            if prefix_only:
                assert sizes == [sizes[0]] and sizes[0] < (c.end - c.start) / 2
        sizes.clear()
        _read_rows(fd, raw, 0, ["x"], 800, 1000)  # (the first fifth of the rows, most of the bytes: read again)
        assert sizes[-1] == c.end - c.start and len(sizes) == 2
        monkeypatch.setattr(pages, "PREFIX_READS", False)
        sizes.clear()
        _read_rows(fd, raw, 0, ["x"], 0, 100)
        assert sizes == [c.end - c.start]
    finally:
        os.close(fd)


def _indexed(seed: int, n: int, page: int, version: str, codec: str = "zstd") -> bytes:
    """A table of ``n`` rows written with pages of ``page`` rows and the Parquet page index (offset index)."""
    buf = io.BytesIO()
    pq.write_table(_table(seed, n), buf, compression=codec, data_page_version=version, max_rows_per_page=page,
                   column_encoding={"delta": "DELTA_BINARY_PACKED"}, use_dictionary=["kind", "flags"],
                   write_page_index=True, row_group_size=max(n // 2, 1))
    return buf.getvalue()


def _index_of(raw: bytes, c) -> bytes:
    return raw[c.index_at:c.index_at + c.index_len]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 1500), st.integers(1, 400), st.sampled_from(["1.0", "2.0"]),
       st.data())
def test_the_offset_index_and_the_page_span_are_the_twins_and_pyarrows(seed, n, page, version, data):
    """offset_index and page_span of kernel and twin agree, on the offset indexes pyarrow writes (each page where
    its header is, its first row the rows before it) and on them cut short or with a byte changed; the span of
    random rows is the pages holding them."""
    raw = _indexed(seed, n, page, version)
    for c in _chunk_ranges(raw):
        idx = _index_of(raw, c)
        assert c.index_len > 0 and c.first_page >= c.start
        at = _same("offset_index", idx)
        heads = [h for h in kernel.page_headers(raw, c.start, c.end) if h["type"] in (0, 3)]
        assert len(at) == len(heads) and at[0, 0] == c.first_page and int(at[-1, 0] + at[-1, 1]) == c.end
        assert at[:, 2].tolist() == np.concatenate([[0], np.cumsum([h["nvalues"] for h in heads])[:-1]]).tolist()
        if c.rows:
            r0 = data.draw(st.integers(0, c.rows - 1))
            r1 = data.draw(st.integers(r0 + 1, c.rows))
            lo, hi, row0, row_end = _same("page_span", idx, c.first_page, c.end, c.rows, r0, r1)
            first = at[:, 2].tolist() + [c.rows]
            i0 = max(i for i in range(len(at)) if first[i] <= r0)
            i1 = max(i for i in range(len(at)) if first[i] < r1)
            assert (lo, hi, row0, row_end) == (at[i0, 0], at[i1, 0] + at[i1, 1], first[i0], first[i1 + 1])
            _same("page_span", idx, c.first_page + 1, c.end, c.rows, r0, r1)  # (not where the footer says: None)
            _same("page_span", idx, c.first_page, c.end - 1, c.rows, r0, r1)
            _same("page_span", idx, c.first_page, c.end, c.rows, r0, r0)  # (no rows: ValueError)
        cut = data.draw(st.integers(0, len(idx)))
        _same("offset_index", idx[:cut])
        bad = bytearray(idx)
        bad[data.draw(st.integers(0, len(idx) - 1))] = data.draw(st.integers(0, 255))
        _same("offset_index", bytes(bad))
        if c.rows:
            _same("page_span", bytes(bad), c.first_page, c.end, c.rows, 0, c.rows)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 1500), st.integers(1, 300), st.sampled_from(["1.0", "2.0"]),
       st.data())
def test_decode_chunk_from_a_page_on_is_the_twins_and_pyarrows(seed, n, page, version, data):
    """decode_chunk given the dictionary page and the data pages from the one holding r0 (``row0``: its first
    row, ``rows``: where the last one read ends) gives kernel and twin alike what pyarrow reads; the pages read
    holding fewer or more rows than said is ValueError from both."""
    raw = _indexed(seed, n, page, version)
    tab = pq.ParquetFile(io.BytesIO(raw))
    g = data.draw(st.integers(0, tab.metadata.num_row_groups - 1))
    names = ["ts", "delta", "kind", "price", "f4"]
    want = tab.read_row_groups([g], columns=names)
    for name, c in zip(names, _chunks_of(raw, g, names)):
        if not c.rows:
            continue
        r0 = data.draw(st.integers(0, c.rows - 1))
        r1 = data.draw(st.integers(r0 + 1, c.rows))
        lo, hi, row0, row_end = kernel.page_span(_index_of(raw, c), c.first_page, c.end, c.rows, r0, r1)
        buf = raw[c.start:c.first_page] + raw[lo:hi] if row0 else raw[c.start:hi]
        args = (c.codec, c.physical, c.max_def)
        got = _same("decode_chunk", buf, *args, row_end, r0, r1, pages._decompress, False, row0)
        if got is not None:
            ref = want.column(name).to_numpy()[r0:r1]
            assert got.astype(c.dtype).tobytes() == ref.astype(c.dtype).tobytes(), name
        if row_end > r1:  # (rows said to end elsewhere than the pages do)
            _same("decode_chunk", buf, *args, row_end - 1, r0, r1, pages._decompress, False, row0)
        _same("decode_chunk", buf, *args, row_end, r0, r1, pages._decompress, False, max(row0 - 1, 0)) \
            if row0 else None


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(3, 9), st.sampled_from(["1.0", "2.0"]))
def test_a_chunk_with_an_offset_index_reads_only_the_pages_of_the_rows(tmp_path_factory, seed, page, version):
    """Every byte of the pages before the rows' pages (headers too) zeroed: read_rows still gives pyarrow's rows of
    the untouched pages (it reads the dictionary page and the rows' pages alone); without the offset index (the
    same file's chunks as written before it) the read fails on the spoilt bytes."""
    raw = bytearray(_indexed(seed, 1000, 100, version))
    names = ["ts", "delta", "kind", "price"]
    want = pq.ParquetFile(io.BytesIO(bytes(raw))).read_row_groups([0], columns=names)
    chunks = _chunks_of(bytes(raw), 0, names)
    lo_row = page * 50  # (groups of 500 rows: the pages from row lo_row's on are kept)
    for c in chunks:
        at = kernel.offset_index(_index_of(bytes(raw), c))
        keep = int(at[np.searchsorted(at[:, 2], lo_row, "right") - 1, 0])
        raw[c.first_page:keep] = bytes(keep - c.first_page)
    path = tmp_path_factory.mktemp("pq") / "t.parquet"
    path.write_bytes(bytes(raw))
    fd = os.open(path, os.O_RDONLY)
    try:
        got = pages.read_rows(fd, chunks, names, lo_row, 500)
        for name in names:
            assert got[name].tobytes() == want.column(name).to_numpy()[lo_row:].tobytes(), name
        before = [c._replace(index_at=-1, index_len=0) for c in chunks]
        with pytest.raises(ValueError):
            pages.read_rows(fd, before, names, lo_row, 500)
    finally:
        os.close(fd)


def test_an_offset_index_that_misplaces_the_pages_is_not_used(tmp_path):
    """An offset index whose first rows are shifted by one page (a file changed outside the checked bytes) does not
    place the chunk's pages as they are: the read takes the chunk as without an index and gives pyarrow's rows."""
    raw = _indexed(3, 1000, 100, "1.0", codec="none")
    names = ["ts", "price"]
    want = pq.ParquetFile(io.BytesIO(raw)).read_row_groups([0], columns=names)
    chunks = _chunks_of(raw, 0, names)
    path = tmp_path / "t.parquet"
    path.write_bytes(raw)
    # the same locations with each first row one page later (the last page's first row past the rows: refused)
    forged = []
    for c in chunks:
        at = kernel.offset_index(_index_of(raw, c))
        assert kernel.page_span(_index_of(raw, c), c.first_page, c.end, c.rows, 150, 250) is not None
        at[:, 2] = np.append(at[1:, 2], c.rows)
        forged.append(_offset_index_bytes(at))
        assert kernel.page_span(forged[-1], c.first_page, c.end, c.rows, 150, 250) is None
    fd = os.open(path, os.O_RDONLY)
    try:
        index = (0, b"".join(forged))
        placed = []
        for c, b in zip(chunks, forged):
            placed.append(c._replace(index_at=sum(len(x) for x in forged[:len(placed)]), index_len=len(b)))
        got = pages.read_rows(fd, placed, names, 150, 250, index)
        for name in names:
            assert got[name].tobytes() == want.column(name).to_numpy()[150:250].tobytes(), name
    finally:
        os.close(fd)


def _offset_index_bytes(at: np.ndarray) -> bytes:
    """An OffsetIndex struct (Thrift compact) of the page locations ``at`` (offset, size, first row each)."""
    def varint(u: int) -> bytes:
        out = bytearray()
        while True:
            b = u & 0x7F
            u >>= 7
            out.append(b | (0x80 if u else 0))
            if not u:
                return bytes(out)

    def zz(v: int) -> bytes:
        return varint((v << 1) ^ (v >> 63))

    body = bytearray([0x19])  # field 1, a list
    n = len(at)
    body += bytes([(n << 4) | 12]) if n < 15 else bytes([0xFC]) + varint(n)
    for off, size, first in at.tolist():
        body += bytes([0x16]) + zz(off) + bytes([0x15]) + zz(size) + bytes([0x16]) + zz(first) + b"\0"
    return bytes(body + b"\0")


def _placed_of(raw: bytes, names: list):
    """pages.placed of the Parquet file ``raw`` (every group), from its footer scan, each column as its Arrow type's
    numpy type (as :func:`_chunks_of` asks); its rows are :func:`_chunks_of`'s chunks, group by group."""
    n = int.from_bytes(raw[-8:-4], "little")
    sc = scan_footer(raw[len(raw) - 8 - n:len(raw) - 8])
    arrow = pq.ParquetFile(io.BytesIO(raw)).schema_arrow
    want = {name: np.dtype(arrow.field(name).type.to_pandas_dtype()) for name in names}
    schema = tuple(tuple(c) for c in sc["schema"])
    got = pages.placed(schema, sc["chunks"], sc["rows"], names, want)
    for g in range(len(sc["rows"])):
        made = pages.chunks_of(schema, sc["chunks"], sc["rows"], g, names, want)
        fields = [tuple(int(x) for x in (c.start, c.end, c.codec, c.physical, c.max_def, c.rows, c.first_page,
                                         c.index_at, c.index_len)) for c in made]
        assert fields == [tuple(r) for r in got.table[g].tolist()]
        assert [c.dtype for c in made] == list(got.dtypes)
        idx = [c for c in made if c.index_len > 0 and c.index_at >= 0]
        assert got.spans[g] == ((min(c.index_at for c in idx), max(c.index_at + c.index_len for c in idx))
                                if idx else None)
    return got


def _same_placed(fd, cols, index, index_lo, r0, r1, dtypes):
    """read_placed of kernel and twin: equal values (False, None, or arrays dtype and bytes) and bytes counted, or
    ValueError / OSError from both -> the kernel's answer (None after an error)."""
    try:
        want = twin.read_placed(functools.partial(os.pread, fd), cols, index, index_lo, r0, r1, pages._decompress,
                                dtypes)
    except (ValueError, OSError) as e:
        with pytest.raises(type(e)):
            kernel.read_placed(functools.partial(os.pread, fd), cols, index, index_lo, r0, r1, pages._decompress,
                               dtypes)
        return None
    got = kernel.read_placed(functools.partial(os.pread, fd), cols, index, index_lo, r0, r1, pages._decompress,
                             dtypes)
    assert got[1] == want[1] and len(got[0]) == len(want[0])
    for g, w in zip(got[0], want[0]):
        if w is None or w is False:
            assert g is w
        else:
            assert g.dtype == w.dtype and g.tobytes() == w.tobytes()
    return got


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 1500), st.integers(1, 300), st.sampled_from(["1.0", "2.0"]),
       st.sampled_from(["zstd", "none", "snappy"]), st.booleans(), st.data())
def test_read_placed_is_the_twins_and_read_rows(tmp_path_factory, seed, n, page, version, codec, with_index, data):
    """read_placed of kernel and twin agree (values, bytes read) on files pyarrow writes with the page index, given
    their offset indexes read already or not, on those bytes with an offset index byte changed or the file cut
    short; read_placed_rows (the compiled call, then read_rows for a chunk it leaves) gives read_rows' values and
    pyarrow's rows, and a file written without the page index goes to read_rows whole."""
    raw = bytearray(_indexed(seed, n, page, version, codec))
    names = data.draw(st.lists(st.sampled_from(["ts", "recv", "delta", "wide", "kind", "flags", "i32", "price",
                                                "f4"]), min_size=1, unique=True))
    md = pq.ParquetFile(io.BytesIO(bytes(raw))).metadata
    g = data.draw(st.integers(0, md.num_row_groups - 1))
    rows = md.row_group(g).num_rows
    r0 = data.draw(st.integers(0, rows - 1))
    r1 = data.draw(st.integers(r0 + 1, rows))
    p = _placed_of(bytes(raw), names)
    table, dtypes = p.table, p.dtypes
    chunks = _chunks_of(bytes(raw), g, names)
    spoil = data.draw(st.sampled_from(["none", "index", "cut"]))
    if spoil == "index":
        k = data.draw(st.integers(0, len(names) - 1))
        at = int(table[g, k, 7]) + data.draw(st.integers(0, int(table[g, k, 8]) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    elif spoil == "cut":
        del raw[data.draw(st.integers(int(table[g, :, 0].min()), len(raw) - 1)):]
    path = tmp_path_factory.mktemp("pq") / "t.parquet"
    path.write_bytes(bytes(raw))
    fd = os.open(path, os.O_RDONLY)
    try:
        index = pages.placed_index(fd, p, [g]) if with_index else None
        if with_index:
            assert index == pages.index_bytes(fd, [chunks])
        got = _same_placed(fd, table[g], None if index is None else index[1], 0 if index is None else index[0],
                           r0, r1, dtypes)
        if spoil != "none":
            return
        assert got is not None and all(isinstance(v, np.ndarray) for v in got[0]), "every chunk placed and decoded"
        slow = pages.read_rows(fd, chunks, names, r0, r1, index)
        fast = pages.read_placed_rows(fd, p, g, names, r0, r1, index, lambda: chunks)
        ref = pq.ParquetFile(path).read_row_groups([g], columns=names).slice(r0, r1 - r0)
        for name in names:
            want = ref.column(name).to_numpy()
            assert fast[name].dtype == slow[name].dtype == want.dtype
            assert fast[name].tobytes() == slow[name].tobytes() == want.tobytes(), name
        unplaced = table.copy()
        unplaced[..., 8] = 0  # (the same chunks as a file written before the page index: none placed)
        before = pages.UNPLACED[0]
        q = p._replace(table=unplaced, spans=[None] * len(p.spans))
        flat = pages.read_placed_rows(fd, q, g, names, r0, r1, None,
                                      lambda: [c._replace(index_at=-1, index_len=0) for c in chunks])
        assert pages.UNPLACED[0] == before + len(names)
        assert all(flat[name].tobytes() == fast[name].tobytes() for name in names)
    finally:
        os.close(fd)


def test_read_placed_reads_a_chunk_its_index_misplaces_without_it(tmp_path, monkeypatch):
    """A forged offset index (first rows one page late): the kernel leaves that chunk (False) and read_placed_rows
    reads it without the index, pyarrow's rows; with the fallback taken away (read as None) the test would see
    None, so the values come from the fallback (a negative control)."""
    raw = _indexed(3, 1000, 100, "1.0", codec="none")
    names = ["ts", "price"]
    want = pq.ParquetFile(io.BytesIO(raw)).read_row_groups([0], columns=names)
    p = _placed_of(raw, names)
    table, dtypes = p.table, p.dtypes
    forged = []
    for k in range(len(names)):
        at = kernel.offset_index(raw[table[0, k, 7]:table[0, k, 7] + table[0, k, 8]])
        at[:, 2] = np.append(at[1:, 2], table[0, k, 5])
        forged.append(_offset_index_bytes(at))
    whole = table.copy()
    whole[0, :, 7] = [0, len(forged[0])]
    whole[0, :, 8] = [len(b) for b in forged]
    t = whole[0]
    q = p._replace(table=whole)
    path = tmp_path / "t.parquet"
    path.write_bytes(raw)
    fd = os.open(path, os.O_RDONLY)
    try:
        vals, _n = kernel.read_placed(functools.partial(os.pread, fd), t, b"".join(forged), 0, 150, 250,
                                      pages._decompress, dtypes)
        assert vals == [False, False]
        chunks = _chunks_of(raw, 0, names)
        got = pages.read_placed_rows(fd, q, 0, names, 150, 250, (0, b"".join(forged)), lambda: chunks)
        for name in names:
            assert got[name].tobytes() == want.column(name).to_numpy()[150:250].tobytes(), name
        monkeypatch.setattr(pages, "_unplaced", lambda *a: None)
        assert pages.read_placed_rows(fd, q, 0, names, 150, 250, (0, b"".join(forged)), lambda: chunks) is None
    finally:
        os.close(fd)


@pytest.mark.parametrize("folder", ["binance-forceorder-2024-08", "binance-forceorder-2025-01"])
def test_read_placed_rows_is_read_rows_on_the_real_recordings(real_data, tmp_path, folder):
    """The real Binance recordings (liquidations and trades) converted: every row group of every partition file
    read at row ranges of every kind (whole, one row, each page's edges, random) by the compiled call gives
    read_rows' values and pyarrow's, bit for bit."""
    from liqcore.dataset import convert_to_dataset
    from liqcore.dataset.checked import _DTYPES, footer

    files = [real_data / folder / "binance.csv", real_data / folder / "binance_trades.csv"]
    ds = tmp_path / "ds"
    convert_to_dataset([f for f in files if f.is_file()], ds, warn=lambda _m: None)
    rng = np.random.default_rng(7)
    n_reads = 0
    for path in sorted(ds.rglob("*.parquet")):
        f = footer(str(path))
        pf = pq.ParquetFile(path)
        names = [c for c in ("ts_event_ns", "ts_recv_ns", "kind", "side", "price", "qty", "flags")
                 if c in pf.schema_arrow.names]
        p = pages.placed(f.schema, f.chunks, f.rows, names, _DTYPES)
        table = p.table
        fd = os.open(path, os.O_RDONLY)
        try:
            for g in range(len(f.rows)):
                rows = int(f.rows[g])
                chunks = pages.chunks_of(f.schema, f.chunks, f.rows, g, names, _DTYPES)
                assert (table[g, :, 8] > 0).all(), "the writer places every chunk's pages"
                ref = pf.read_row_groups([g], columns=names)
                a = int(rng.integers(0, rows))
                for r0, r1 in {(0, rows), (0, 1), (rows - 1, rows), (a, int(rng.integers(a + 1, rows + 1))),
                               (min(2047, rows - 1), min(2049, rows))}:
                    index = pages.placed_index(fd, p, [g])
                    fast = pages.read_placed_rows(fd, p, g, names, r0, r1, index, lambda: chunks)
                    slow = pages.read_rows(fd, chunks, names, r0, r1, index)
                    for name in names:
                        want = ref.column(name).to_numpy()[r0:r1].astype(_DTYPES[name])
                        assert fast[name].dtype == slow[name].dtype == want.dtype
                        assert fast[name].tobytes() == slow[name].tobytes() == want.tobytes(), (path.name, g, name)
                    n_reads += 1
        finally:
            os.close(fd)
    assert n_reads >= 10

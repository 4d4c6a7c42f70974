"""The compiled Parquet footer scan (liqcore._libs.reading) vs pyarrow's ``read_metadata`` and vs its twin
(pysrc.pqfooter): random tables written by pyarrow with random options (int64, int32, int8 and uint8 columns,
float64 with NaN and nulls, an all-null column; statistics on, off or for some columns; dictionary on or off;
zstd, snappy or no compression; many row groups; data pages v1 or v2; the page index on or off; schema
metadata of random bytes, a 100 KB value among them) read field by field alike; a file written by the
dataset writer (liqcore.dataset.write); unknown fields of every wire type skipped; and truncated, corrupted
or too deeply nested footers: the kernel and the twin raise the same ValueError (or agree on what they
read), the kernel never crashes."""
from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore._libs.reading import CHUNK_DTYPE, scan_footer
from liqcore.dataset.footer_scan import read_footer_bytes, scan
from pysrc import pqfooter as twin

pytestmark = pytest.mark.property

_PHYSICAL = {"BOOLEAN": 0, "INT32": 1, "INT64": 2, "INT96": 3, "FLOAT": 4, "DOUBLE": 5, "BYTE_ARRAY": 6,
             "FIXED_LEN_BYTE_ARRAY": 7}
_CODEC = {"UNCOMPRESSED": 0, "SNAPPY": 1, "GZIP": 2, "LZO": 3, "BROTLI": 4, "LZ4": 5, "ZSTD": 6, "LZ4_RAW": 7}
_CONVERTED = {"NONE": -1, "UINT_8": 11, "INT_8": 15}
_COLUMNS = {"i64": pa.int64(), "i32": pa.int32(), "i8": pa.int8(), "u8": pa.uint8(), "f64": pa.float64(),
            "none": pa.float64()}


def _footer(data: bytes) -> bytes:
    n = int.from_bytes(data[-8:-4], "little")
    return data[-8 - n:-8]


def _write(table: pa.Table, **options) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, **options)
    return sink.getvalue().to_pybytes()


@st.composite
def _files(draw) -> bytes:
    """A Parquet file (its bytes) of a random table written with random options."""
    n = draw(st.integers(0, 200))

    def ints(lo, hi):
        return draw(st.lists(st.one_of(st.none(), st.integers(lo, hi)), min_size=n, max_size=n))

    cols = {
        "i64": ints(-2**63, 2**63 - 1), "i32": ints(-2**31, 2**31 - 1), "i8": ints(-128, 127), "u8": ints(0, 255),
        "f64": draw(st.lists(st.one_of(st.none(), st.just(float("nan")), st.floats(allow_nan=False)),
                             min_size=n, max_size=n)),
        "none": [None] * n,
    }
    table = pa.table({k: pa.array(v, _COLUMNS[k]) for k, v in cols.items()})
    meta = draw(st.dictionaries(st.binary(min_size=1, max_size=8).filter(lambda k: not k.startswith(b"ARROW")),
                                st.binary(max_size=16), max_size=4))
    if draw(st.booleans()):
        meta[b"big"] = os.urandom(100_000)
    if meta:
        table = table.replace_schema_metadata(meta)
    stats = draw(st.one_of(st.booleans(), st.lists(st.sampled_from(list(_COLUMNS)), unique=True)))
    return _write(table, row_group_size=draw(st.integers(1, max(n, 1))), write_statistics=stats,
                  use_dictionary=draw(st.booleans()), compression=draw(st.sampled_from(["zstd", "none", "snappy"])),
                  data_page_version=draw(st.sampled_from(["1.0", "2.0"])), write_page_index=draw(st.booleans()))


def _assert_same(a: dict, b: dict) -> None:
    """Two scans equal, field by field (NaN equal to NaN)."""
    assert a.keys() == b.keys()
    for k in ("num_rows", "created_by", "schema", "kv"):
        assert a[k] == b[k], k
    assert a["rows"].dtype == b["rows"].dtype == np.int64
    assert np.array_equal(a["rows"], b["rows"])
    assert a["chunks"].dtype == b["chunks"].dtype == CHUNK_DTYPE
    assert a["chunks"].shape == b["chunks"].shape
    for f in CHUNK_DTYPE.names:
        assert np.array_equal(a["chunks"][f], b["chunks"][f], equal_nan=f.endswith("_f")), f


def _assert_as_pyarrow(data: bytes, out: dict) -> None:
    """``out`` (a scan of ``data``'s footer) reports what pyarrow reads of the file."""
    md = pq.read_metadata(pa.BufferReader(data))
    assert out["num_rows"] == md.num_rows
    assert out["created_by"] == md.created_by
    assert out["kv"] == (md.metadata or {})
    cols = [md.schema.column(j) for j in range(md.num_columns)]
    assert [s[0] for s in out["schema"]] == [c.path for c in cols]
    assert [s[1] for s in out["schema"]] == [_PHYSICAL[c.physical_type] for c in cols]
    assert [s[3] for s in out["schema"]] == [_CONVERTED[c.converted_type] for c in cols]
    assert [s[2] for s in out["schema"]] == [1] * len(cols)  # (pyarrow's columns are nullable: OPTIONAL)
    assert out["rows"].tolist() == [md.row_group(g).num_rows for g in range(md.num_row_groups)]
    ch = out["chunks"]
    assert ch.shape == (md.num_row_groups, md.num_columns)
    for g in range(md.num_row_groups):
        for j in range(md.num_columns):
            c, r = md.row_group(g).column(j), ch[g, j]
            assert r["codec"] == _CODEC[c.compression]
            assert r["data_page_offset"] == c.data_page_offset
            assert r["dictionary_page_offset"] == (c.dictionary_page_offset if c.has_dictionary_page else -1)
            assert r["total_compressed_size"] == c.total_compressed_size
            assert r["total_uncompressed_size"] == c.total_uncompressed_size
            assert r["num_values"] == c.num_values
            s = c.statistics
            assert r["null_count"] == (s.null_count if s is not None and s.has_null_count else -1)
            assert r["has_min_max"] == (s is not None and s.has_min_max)
            if not r["has_min_max"]:
                assert r["min_int"] == r["max_int"] == 0 and np.isnan(r["min_f"]) and np.isnan(r["max_f"])
            elif c.physical_type in ("INT32", "INT64"):
                assert (r["min_int"], r["max_int"]) == (s.min, s.max)
                width = 4 if c.physical_type == "INT32" else 8
                assert int(r["min_i8"]) == s.min % 2 ** (8 * width)
            elif c.physical_type == "DOUBLE":
                assert np.float64(r["min_f"]).tobytes() == np.float64(s.min).tobytes()
                assert np.float64(r["max_f"]).tobytes() == np.float64(s.max).tobytes()


@settings(max_examples=40, deadline=None)
@given(_files())
def test_the_scan_reads_what_pyarrow_reads_and_the_twin_agrees(data):
    footer = _footer(data)
    out = scan_footer(footer)
    _assert_as_pyarrow(data, out)
    _assert_same(out, twin.scan_footer(footer))


def _with_unknown_fields(data: bytes, value: bytes) -> bytes:
    """``data`` with FileMetaData field 100 (``value``: a wire type byte's value, long-form header) added before
    the struct's stop byte, the footer length updated."""
    footer = _footer(data)
    assert footer[-1] == 0
    typ, body = value[0], value[1:]
    new = footer[:-1] + bytes([typ]) + bytes([200, 1]) + body + b"\0"  # (field id 100: zigzag 200, a varint)
    return data[:len(data) - 8 - len(footer)] + new + len(new).to_bytes(4, "little") + b"PAR1"


# unknown values of every wire type (field type byte, then the value)
_UNKNOWN = [
    bytes([1]), bytes([2]), bytes([3, 0x7F]), bytes([4, 0x03]), bytes([5, 0xFF, 0x01]), bytes([6, 0x80, 0x01]),
    bytes([7]) + b"\x00" * 7 + b"\x40", bytes([8, 3]) + b"abc", bytes([9, 0x22, 1, 2]),  # list<bool> [true, false]
    bytes([9, 0x2C, 0x15, 0x01, 0x00, 0x00]),  # list of 2 structs (one holding an i32 field)
    bytes([10, 0x15, 0x02]), bytes([11, 2, 0x58, 0x02, 1, 0x61, 0x04, 1, 0x62]),  # set<i32>, map<i32, binary>
    bytes([11, 0]),  # an empty map
    bytes([12, 0x1C, 0x1C, 0x15, 0x06, 0x00, 0x00, 0x00]),  # struct { struct { struct { i32 } } }
]


def test_unknown_fields_of_every_type_are_skipped_as_pyarrow_skips_them():
    table = pa.table({"i64": pa.array([1, 2, None], pa.int64()), "f64": [0.5, None, -1.0]})
    data = _write(table, row_group_size=2)
    base = scan_footer(_footer(data))
    for value in _UNKNOWN:
        changed = _with_unknown_fields(data, value)
        out = scan_footer(_footer(changed))
        _assert_as_pyarrow(changed, out)
        _assert_same(out, base)
        _assert_same(out, twin.scan_footer(_footer(changed)))
    uuid = _footer(_with_unknown_fields(data, bytes([13]) + bytes(range(16))))  # (a uuid: not every Thrift reads one)
    _assert_same(scan_footer(uuid), base)
    _assert_same(twin.scan_footer(uuid), base)


def _outcome(fn, footer: bytes):
    """What a scan gives: its result, or the ValueError's message (any other exception fails the test)."""
    try:
        return fn(footer)
    except ValueError as e:
        return ("ValueError", str(e))


def _agree(footer: bytes) -> None:
    k, t = _outcome(scan_footer, footer), _outcome(twin.scan_footer, footer)
    if isinstance(k, tuple) or isinstance(t, tuple):
        assert k == t
    else:
        _assert_same(k, t)


_SAMPLES = [
    _footer(_write(pa.table({"a": pa.array([1, None, 3], pa.int64()), "b": [0.5, float("nan"), None],
                             "c": pa.array([1, 2, 3], pa.uint8())}).replace_schema_metadata({b"k": b"v"}),
                   row_group_size=1, write_page_index=True)),
    _footer(_write(pa.table({"s": pa.array([{"x": 1, "y": [1.0, 2.0]}, None])}), write_statistics=False)),
    _footer(_write(pa.table({"i": pa.array([5, 6], pa.int32())}), data_page_version="2.0", compression="snappy")),
]


def test_nested_columns_are_named_by_their_dotted_path():
    data = _write(pa.table({"s": pa.array([{"x": 1, "y": [1.0, 2.0]}, None]), "z": [1, 2]}))
    out = scan_footer(_footer(data))
    md = pq.read_metadata(pa.BufferReader(data))
    assert [s[0] for s in out["schema"]] == [md.schema.column(j).path for j in range(md.num_columns)]
    assert out["chunks"].shape == (1, 3)
    _assert_same(out, twin.scan_footer(_footer(data)))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_SAMPLES), st.data())
def test_truncated_or_corrupted_footers_raise_alike(footer, data):
    how = data.draw(st.sampled_from(["truncate", "flip", "insert"]))
    b = bytearray(footer)
    if how == "truncate":
        b = b[:data.draw(st.integers(0, len(b) - 1))]
    elif how == "flip":
        for _ in range(data.draw(st.integers(1, 4))):
            b[data.draw(st.integers(0, len(b) - 1))] ^= data.draw(st.integers(1, 255))
    else:
        at = data.draw(st.integers(0, len(b)))
        b[at:at] = data.draw(st.binary(min_size=1, max_size=6))
    _agree(bytes(b))


def test_nesting_past_the_bound_is_refused():
    deep = b"".join([bytes([0x0C, 200, 1])] + [bytes([0x1C])] * 100) + b"\0" * 102
    for fn in (scan_footer, twin.scan_footer):
        with pytest.raises(ValueError, match="nesting deeper than 64"):
            fn(deep)
    _agree(deep)
    for bad in (b"", b"\x0f", b"\x15\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", b"\x19\xf8\xff\xff\xff\x0f"):
        _agree(bad)
        with pytest.raises(ValueError):
            scan_footer(bad)


def test_a_file_written_by_the_dataset_writer(tmp_path, monkeypatch):
    import liqcore.dataset.read as read
    from liqcore.dataset.rows import _ROW_DTYPE
    from liqcore.dataset.write import _write_parquet

    monkeypatch.setattr(read, "ROW_GROUP_ROWS", 64)  # (many row groups of a small file)
    rng = np.random.default_rng(7)
    n = 2000
    rows = np.zeros(n, _ROW_DTYPE)
    rows["ts_event_ns"] = np.sort(rng.integers(1_700_000_000_000_000_000, 1_700_000_100_000_000_000, n))
    rows["ts_recv_ns"] = rows["ts_event_ns"] + rng.integers(0, 1000, n)
    rows["kind"] = rng.choice([1, 2, 7], n, p=[0.02, 0.49, 0.49])
    rows["side"] = rng.choice([3, 4], n)
    rows["price"] = rng.uniform(1, 100, n)
    rows["qty"] = rng.uniform(0, 5, n)
    rows["trade_id"] = np.where(rows["kind"] == 2, np.arange(n), 0)
    path = tmp_path / "part-0.parquet"
    _write_parquet(rows, ("binance", "BTCUSDT"), path)
    data = path.read_bytes()
    fd = os.open(path, os.O_RDONLY)
    try:
        out = scan(fd, len(data))
    finally:
        os.close(fd)
    assert out["meta_len"] == pq.read_metadata(path).serialized_size
    assert out["chunks"].shape[0] > 10 and {b"liqcore", b"liqcore.clock.v1"} <= set(out["kv"])
    meta_len = out.pop("meta_len")
    _assert_as_pyarrow(data, out)
    _assert_same(out, twin.scan_footer(data[-8 - meta_len:-8]))


def test_read_footer_bytes_refuses_what_is_not_a_whole_parquet_file(tmp_path):
    data = _write(pa.table({"a": [1, 2, 3]}))
    cases = {"short": b"PAR1", "magic": data[:-4] + b"PARE", "length": data[:-8] + (10**6).to_bytes(4, "little")
             + b"PAR1", "ok": data}
    for name, body in cases.items():
        p = tmp_path / name
        p.write_bytes(body)
        fd = os.open(p, os.O_RDONLY)
        try:
            if name == "ok":
                assert read_footer_bytes(fd, len(body)) == _footer(data)
                continue
            with pytest.raises(ValueError, match="not a Parquet file|truncated Parquet file"):
                read_footer_bytes(fd, len(body))
            with pytest.raises(ValueError):  # (the file is shorter than the size given)
                read_footer_bytes(fd, len(body) + 100)
        finally:
            os.close(fd)

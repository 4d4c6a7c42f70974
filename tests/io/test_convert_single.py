"""``liqcore convert FILE --out x.parquet``, the single-file path at the reader's floor: the columns go from
numpy to Arrow without a Python object per row (and without pandas), and the file written is the one the
per-row way wrote (a reference kept here), on generated tardis files and on the real Binance recordings."""
from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore.cli import main
from liqcore.io import events_to_table, save_events
from liqcore.dataset.load import load_events
from liqcore.io.base import arrow_nulls as _nulls, arrow_numpy as _np
from liqcore.types import EVENT_DTYPE, SymbolRegistry

ROOT = Path(__file__).resolve().parents[2]
HEADER = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"
T0_US = 1_722_470_400_000_000  # 2024-08-01T00:00Z


def reference_table(events: np.ndarray, registry: SymbolRegistry, trade_ids=None) -> pa.Table:
    """The table as events_to_table built it before (a Python string per row): the reference."""
    sid = events["symbol_id"].astype(np.int64)
    syms = registry.symbols_array()
    vnames = np.array(["", "bybit", "binance", "okx"], dtype=object)
    snames = np.array(["none", "long", "short", "buy", "sell"], dtype=object)
    knames = np.array(["", "liquidation", "trade", "mark", "funding", "gap", "open_interest", "quote"], dtype=object)
    symbol = np.where(sid >= 0, syms[np.clip(sid, 0, max(len(syms) - 1, 0))] if len(syms) else "", "*")
    ids = np.zeros(len(events), np.int64) if trade_ids is None else np.asarray(trade_ids, np.int64)
    return pa.table({
        "ts_event_ns": pa.array(events["ts_event"], pa.int64()),
        "ts_recv_ns": pa.array(events["ts_recv"], pa.int64()),
        "venue": pa.array(vnames[events["venue"].astype(np.int64)].tolist(), pa.string()),
        "symbol": pa.array(symbol.tolist(), pa.string()),
        "kind": pa.array(knames[events["kind"].astype(np.int64)].tolist(), pa.string()),
        "side": pa.array(snames[events["side"].astype(np.int64)].tolist(), pa.string()),
        "price": pa.array(events["price"], pa.float64()),
        "qty": pa.array(events["qty"], pa.float64()),
        "flags": pa.array(events["flags"], pa.uint8()),
        "trade_id": pa.array(ids, pa.int64()),
    })


def assert_same(got: pa.Table, want: pa.Table) -> None:
    """Equal tables, float columns bit for bit (NaN equal to the same NaN)."""
    assert got.schema.remove_metadata().equals(want.schema.remove_metadata())
    for name in want.column_names:
        g, w = got[name].combine_chunks(), want[name].combine_chunks()
        if pa.types.is_floating(w.type):
            np.testing.assert_array_equal(np.asarray(g).view(np.int64), np.asarray(w).view(np.int64), err_msg=name)
        else:
            assert g.equals(w), name


@st.composite
def event_arrays(draw):
    n_syms = draw(st.integers(0, 3))
    reg = SymbolRegistry()
    for i in range(n_syms):
        reg.id(2, f"SYM{i}USDT")
    n = draw(st.integers(0, 60))
    ev = np.zeros(n, EVENT_DTYPE)
    ints = st.integers(-(2**63), 2**63 - 1)
    ev["ts_event"] = draw(st.lists(ints, min_size=n, max_size=n))
    ev["ts_recv"] = draw(st.lists(ints, min_size=n, max_size=n))
    floats = st.floats(allow_nan=True, allow_infinity=True)
    ev["price"] = draw(st.lists(floats, min_size=n, max_size=n))
    ev["qty"] = draw(st.lists(floats, min_size=n, max_size=n))
    ev["symbol_id"] = draw(st.lists(st.integers(-2, n_syms + 2), min_size=n, max_size=n))  # past the registry too
    ev["venue"] = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    ev["kind"] = draw(st.lists(st.integers(0, 7), min_size=n, max_size=n))
    ev["side"] = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    ev["flags"] = draw(st.lists(st.integers(0, 255), min_size=n, max_size=n))
    ids = draw(st.none() | st.lists(ints, min_size=n, max_size=n))
    step = draw(st.sampled_from([1, 2]))  # a strided view of the events, too
    ev = ev[::step]
    ids = np.asarray(ids, np.int64)[::step] if ids is not None else None
    return ev, reg, ids


@settings(max_examples=150, deadline=None)
@given(event_arrays())
def test_events_to_table_equals_the_per_row_reference(case):
    ev, reg, ids = case
    assert_same(events_to_table(ev, reg, ids), reference_table(ev, reg, ids))


@settings(max_examples=60, deadline=None)
@given(event_arrays())
def test_saved_file_reads_back_as_the_reference(tmp_path_factory, case):
    """The writer's settings (delta-encoded times and ids, dictionary names) keep every value, extremes too."""
    ev, reg, ids = case
    path = tmp_path_factory.mktemp("save") / "x.parquet"
    save_events(ev, path, registry=reg, trade_ids=ids)
    assert_same(pq.read_table(path), reference_table(ev, reg, ids))


@st.composite
def arrow_columns(draw):
    typ = draw(st.sampled_from([pa.int64(), pa.int32(), pa.float64(), pa.bool_(), pa.int8()]))
    if pa.types.is_boolean(typ):
        vals = st.booleans()
    elif pa.types.is_floating(typ):
        vals = st.floats(allow_nan=True, allow_infinity=True)
    else:
        bits = typ.bit_width - 1
        vals = st.integers(-(2**bits), 2**bits - 1)
    cells = draw(st.lists(st.none() | vals if draw(st.booleans()) else vals, max_size=40))
    arr = pa.array(cells, typ)
    a = draw(st.integers(0, len(cells)))
    b = draw(st.integers(a, len(cells)))
    return arr.slice(a, b - a)  # a slice: an offset into the buffers


@settings(max_examples=200, deadline=None)
@given(arrow_columns())
def test_np_equals_pyarrows_to_numpy(arr):
    dtype = np.float64 if pa.types.is_floating(arr.type) else (bool if pa.types.is_boolean(arr.type) else np.int64)
    got = _np(arr, dtype)
    with np.errstate(invalid="ignore"):  # (pyarrow's nulls as NaN, cast to an integer: the nulls compared below)
        want = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=dtype)
    assert got.dtype == want.dtype and len(got) == len(arr)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(_nulls(arr), np.asarray(pc.is_null(arr).to_numpy(zero_copy_only=False), bool))


def _tardis_file(path: Path, n: int, seed: int = 3, bad: bool = True) -> Path:
    """A tardis trades file of ``n`` good rows, then (``bad``) bad ones (empty price, unknown side, zero
    amount, a bad time) and a repeated row (the same trade id: a duplicate)."""
    rng = np.random.default_rng(seed)
    ts = T0_US + np.cumsum(rng.integers(1, 50_000, n))
    px = np.round(60_000 + np.cumsum(rng.choice([-0.5, 0.0, 0.5], n)), 1)
    rows = [f"binance-futures,BTCUSDT,{t},{t + int(d)},{4_000_000_000 + i},{s},{p!r},{a!r}"
            for i, (t, d, s, p, a) in enumerate(zip(ts.tolist(), rng.integers(1_000, 90_000, n).tolist(),
                                                    np.where(rng.random(n) < 0.5, "buy", "sell").tolist(),
                                                    px.tolist(), (rng.integers(1, 9_000, n) / 1000).tolist()))]
    t = int(ts[-1])
    rows += [] if not bad else [f"binance-futures,BTCUSDT,{t + 1},{t + 2},9,buy,,0.1",
             f"binance-futures,BTCUSDT,{t + 1},{t + 2},10,hold,60000.0,0.1",
             f"binance-futures,BTCUSDT,{t + 1},{t + 2},11,sell,60000.0,0",
             f"binance-futures,BTCUSDT,abc,{t + 2},12,sell,60000.0,0.2",
             rows[n // 2]]
    with gzip.open(path, "wt") as fh:
        fh.write(HEADER + "\n" + "".join(r + "\n" for r in rows))
    return path


def test_convert_out_matches_pyarrows_own_mapping(tmp_path):
    """The file written equals the tardis rows mapped to the contract by pyarrow alone (the bad rows
    dropped, the repeated trade once), and says what it dropped."""
    n = 20_000
    src = _tardis_file(tmp_path / "binance-futures_trades_2024-08-01_BTCUSDT.csv.gz", n)
    out = tmp_path / "x.parquet"
    assert main(["convert", str(src), "--out", str(out)]) == 0
    got = pq.read_table(out)
    text = {c: pa.string() for c in ("timestamp", "local_timestamp", "price", "amount")}  # bad cells below
    raw = pacsv.read_csv(src, convert_options=pacsv.ConvertOptions(column_types=text)).slice(0, n)
    raw = raw.cast(pa.schema([f.with_type(pa.int64() if f.name in ("timestamp", "local_timestamp") else
                                          pa.float64() if f.name in ("price", "amount") else f.type)
                              for f in raw.schema]))  # the good rows, in file (= time) order
    want = pa.table({
        "ts_event_ns": pc.multiply(raw["timestamp"], 1000),
        "ts_recv_ns": pc.multiply(raw["local_timestamp"], 1000),
        "venue": pa.array(["binance"] * n),
        "symbol": raw["symbol"],
        "kind": pa.array(["trade"] * n),
        "side": raw["side"],
        "price": raw["price"],
        "qty": raw["amount"],
        "flags": pa.array(np.zeros(n, np.uint8)),
        "trade_id": raw["id"],
    })
    assert got.schema.remove_metadata().equals(want.schema)
    assert got.equals(want.cast(got.schema))
    r = load_events(src)
    assert r.duplicates == 1 and sum(r.rejects.values()) == 4


def test_convert_out_builds_no_python_objects(tmp_path):
    """The single-file convert of a clean file (the usual one) reads, checks and writes in Arrow and numpy:
    pyarrow's ``to_numpy`` / ``pa.array`` of numpy (which import pandas) and per-row strings are not on
    its path."""
    src = _tardis_file(tmp_path / "binance-futures_trades_2024-08-01_BTCUSDT.csv.gz", 2_000, bad=False)
    out = tmp_path / "x.parquet"
    code = ("import sys; from liqcore.cli import main; rc = main(['convert', sys.argv[1], '--out', sys.argv[2]]); "
            "print('pandas imported' if 'pandas' in sys.modules else 'no pandas'); sys.exit(rc)")
    p = subprocess.run([sys.executable, "-c", code, str(src), str(out)], capture_output=True, text=True, timeout=120,
                       cwd=ROOT)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "no pandas", p.stdout
    assert pq.read_table(out).num_rows == 2_000


def test_convert_out_real_recordings_equal_the_reference(real_data, tmp_path):
    """Each real Binance recording, converted: the file holds the table the per-row way built, row for row."""
    files = sorted(real_data.glob("*/*.csv"))
    assert files
    for i, f in enumerate(files):
        out = tmp_path / f"{i}.parquet"
        assert main(["convert", str(f), "--out", str(out)]) == 0
        r = load_events(f)
        want = reference_table(r.events, r.registry, r.trade_ids)
        got = pq.read_table(out)
        assert got.num_rows == len(r.events) > 0, f
        assert_same(got, want)

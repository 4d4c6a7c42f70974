"""Datasets hold codes, not strings (format 2): kind and side as int8 codes, venue / symbol / date in the
directory names read dictionary-encoded, rows in time-sorted row groups of bounded size; datasets
written before format 2 (names in every row) still load, say so once, and are upgraded by the next write."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from liqcore.synthetic.market import synthetic_market
from liqcore.dataset.read import FORMAT_FILE
from liqcore.dataset import load_dataset, write_dataset
from liqcore.io import events_to_table
from liqcore.dataset import read as io_dataset

D = 86_400_000_000_000
_FIELDS = ("ts_event", "ts_recv", "price", "qty", "side", "kind", "venue", "flags")


@pytest.fixture(scope="module")
def market():
    return synthetic_market(days=2, symbols=("ETHUSDT", "SOLUSDT"), seed=3)


def _named(res):
    """Events with their symbol names, in a canonical order."""
    ev = res.events
    names = res.registry.symbols_array()[ev["symbol_id"]]
    order = np.lexsort([ev[f] for f in reversed(_FIELDS)] + [names])
    return ev[order], names[order]


def _same(a, b):
    ea, na = _named(a)
    eb, nb = _named(b)
    assert len(ea) == len(eb) and np.array_equal(na, nb)
    for f in _FIELDS:
        assert np.array_equal(ea[f], eb[f]), f


def _write_old(events, registry, out):
    """A dataset as written before format 2: the contract columns with kind and side as names, venue /
    symbol / date in the directory names, no format file."""
    t = events_to_table(events, registry)
    day = (events["ts_event"] // D).astype("datetime64[D]").astype(str)
    for v in np.unique(t["venue"].to_numpy(zero_copy_only=False)):
        for s in np.unique(t["symbol"].to_numpy(zero_copy_only=False)):
            for d in np.unique(day):
                m = (t["venue"].to_numpy(zero_copy_only=False) == v) & (t["symbol"].to_numpy(zero_copy_only=False) == s) \
                    & (day == d)
                if not m.any():
                    continue
                part = out / f"venue={v}" / f"symbol={s}" / f"date={d}"
                part.mkdir(parents=True)
                sub = t.filter(pa.array(m)).drop_columns(["venue", "symbol"])
                pq.write_table(sub.sort_by([("ts_event_ns", "ascending"), ("ts_recv_ns", "ascending")]),
                               part / "part-0.parquet", compression="zstd")


def test_a_dataset_holds_codes_and_loads_the_same_events(tmp_path, market):
    out = tmp_path / "ds"
    write_dataset(market.events, out, market.registry)
    fmt = json.loads((out / FORMAT_FILE).read_text())
    assert fmt["format"] == 3 and fmt["kinds"][2] == "trade" and fmt["sides"][3] == "buy"
    assert sorted(map(tuple, fmt["symbols"])) == [("bybit", "ETHUSDT"), ("bybit", "SOLUSDT")]
    f = next(out.glob("venue=bybit/symbol=ETHUSDT/date=*/part-0.parquet"))
    schema = pq.read_schema(f)
    assert schema.field("kind").type == pa.int8() and schema.field("side").type == pa.int8()
    assert not any(pa.types.is_string(t) or pa.types.is_large_string(t) for t in schema.types)
    assert json.loads(schema.metadata[b"liqcore"])["symbol"] == "ETHUSDT"
    notes = []
    res = load_dataset(out, warn=notes.append)
    assert notes == []
    ref = type(res)(events=market.events, registry=market.registry)
    _same(res, ref)


def test_the_load_makes_no_string_per_row(tmp_path, market, monkeypatch):
    out = tmp_path / "ds"
    write_dataset(market.events, out, market.registry)
    seen = []
    real = np.unique

    def unique(a, *args, **kw):  # the old loader's per-row string pass went through np.unique
        seen.append(np.asarray(a).dtype.kind)
        return real(a, *args, **kw)

    monkeypatch.setattr(np, "unique", unique)
    res = load_dataset(out)
    assert len(res.events) == len(market.events)
    assert not [k for k in seen if k in "USO"]


def test_row_groups_are_time_sorted_and_bounded(tmp_path, market, monkeypatch):
    monkeypatch.setattr(io_dataset, "ROW_GROUP_ROWS", 5_000)
    out = tmp_path / "ds"
    write_dataset(market.events, out, market.registry)
    for f in out.glob("venue=*/symbol=*/date=*/part-0.parquet"):
        md = pq.ParquetFile(f).metadata
        assert md.num_row_groups > 1
        col = md.schema.to_arrow_schema().get_field_index("ts_event_ns")
        kcol = md.schema.to_arrow_schema().get_field_index("kind")
        prev_max = {}
        bulk_seen = False
        for g in range(md.num_row_groups):  # two sections: the rare kinds, then trades and quotes
            rg = md.row_group(g)
            assert rg.num_rows <= 5_000
            ks = rg.column(kcol).statistics
            bulk = ks.min in io_dataset.BULK_KINDS and ks.max in io_dataset.BULK_KINDS and ks.min >= 2
            assert bulk or not bulk_seen  # no rare-kind group after the bulk began
            bulk_seen |= bulk
            st = rg.column(col).statistics
            assert st.has_min_max and st.min <= st.max
            assert prev_max.get(bulk) is None or st.min >= prev_max[bulk]
            prev_max[bulk] = st.max
        assert bulk_seen


def test_an_old_dataset_loads_the_same_says_so_once_and_is_upgraded_by_a_write(tmp_path, market):
    ev = market.events
    out = tmp_path / "old"
    first = ev[ev["ts_event"] < int(ev["ts_event"][0]) // D * D + D]
    _write_old(first, market.registry, out)
    assert not (out / FORMAT_FILE).exists()
    assert pq.read_schema(next(out.glob("venue=*/symbol=*/date=*/*.parquet"))).field("kind").type == pa.string()
    notes = []
    old = load_dataset(out, warn=notes.append)
    load_dataset(out, warn=notes.append)
    assert len(notes) == 1 and "before format 2" in notes[0] and "upgrade" in notes[0]
    _same(old, type(old)(events=first, registry=market.registry))
    # the next write upgrades every partition (old ones included) and adds the rest
    write_dataset(ev, out, market.registry)
    assert json.loads((out / FORMAT_FILE).read_text())["format"] == 3
    for f in out.glob("venue=*/symbol=*/date=*/*.parquet"):
        assert pq.read_schema(f).field("kind").type == pa.int8()
    notes = []
    new = load_dataset(out, warn=notes.append)
    assert notes == []
    _same(new, type(new)(events=ev, registry=market.registry))

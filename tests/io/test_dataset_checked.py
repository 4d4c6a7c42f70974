"""Partition files written from loaded events are marked checked and read without judging them again:
the same events as the checking read for any selection (time range, kinds, receive range, symbols,
venues, clock guard), in the same order with the same symbol ids; a file without the mark (a bare
array, a bad row, a merge that a load would dedupe, a file replaced by another tool) or whose bytes are
not those the dataset's mark (size, SHA-256) was taken of (rewritten with its footer kept, copied into
another dataset) is read the checking way, its bad rows counted and dropped."""
from __future__ import annotations

import os

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liqcore.synthetic.market import synthetic_market
from liqcore.dataset import load_dataset, write_dataset
from liqcore.io import save_events
from liqcore.dataset.load import load_events
from liqcore.dataset import read as io_dataset
from liqcore.types import Kind
from tests.io.test_trade_ids import reference_keep  # the duplicate rule written out row by row

D = 86_400_000_000_000
_DS: dict = {}


def _mark(path) -> dict:
    return orjson.loads(pq.read_metadata(path).metadata[b"liqcore"])


def _files(ds):
    return sorted(ds.glob("venue=*/symbol=*/date=*/*.parquet"))


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """A dataset of two venues, three (venue, symbol) pairs, written from a load (small row groups)."""
    tmp = tmp_path_factory.mktemp("checked")
    a = synthetic_market(days=2, symbols=("ETHUSDT", "SOLUSDT"), seed=3, venue="bybit", cache=False)
    b = synthetic_market(days=2, symbols=("ETHUSDT",), seed=4, venue="binance", cache=False)
    fa, fb = save_events(a.events, tmp / "a.parquet", a.registry), save_events(b.events, tmp / "b.parquet", b.registry)
    res = load_events([fa, fb])
    assert res.checked and len(res.events) > 10_000
    out = tmp / "ds"
    keep = io_dataset.ROW_GROUP_ROWS
    io_dataset.ROW_GROUP_ROWS = 3_000
    try:
        write_dataset(res, out)
    finally:
        io_dataset.ROW_GROUP_ROWS = keep
    return out, res


def test_a_dataset_written_from_a_load_is_marked_and_reads_as_the_checking_read(checked):
    ds, res = checked
    files = _files(ds)
    assert len(files) == 6 and all(_mark(f).get("checked") is True for f in files)
    fast, slow = load_dataset(ds), load_dataset(ds, recheck=True)
    assert fast.files[str(ds)]["checked"] is True and slow.files[str(ds)]["checked"] is False
    assert np.array_equal(fast.events, slow.events) and list(fast.registry) == list(slow.registry)
    assert fast.rejects == slow.rejects == {} and slow.duplicates == 0
    # the whole dataset is the load it was written from (named events in a canonical order: the
    # dataset orders ties of event time file by file)
    a, b = _canonical(fast), _canonical(res)
    assert len(a[0]) == len(b[0]) and np.array_equal(a[1], b[1])
    for f in ("ts_event", "ts_recv", "price", "qty", "side", "kind", "venue", "flags"):
        assert np.array_equal(a[0][f], b[0][f]), f


def _canonical(res):
    ev = res.events
    names = res.registry.symbols_array()[ev["symbol_id"]].astype(str)
    order = np.lexsort([ev[f] for f in ("qty", "price", "side", "kind", "ts_recv", "ts_event", "venue")] + [names])
    return ev[order], names[order]


_KINDS = [int(k) for k in Kind if int(k) > 0]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lo=st.floats(0, 2.2), span=st.floats(0, 2.2), recv=st.booleans(), r_lo=st.floats(0, 2), r_span=st.floats(0, 1),
       kinds=st.one_of(st.none(), st.sets(st.sampled_from(_KINDS), min_size=1)),
       symbols=st.sampled_from([None, ["ETHUSDT"], ["SOLUSDT"]]), venues=st.sampled_from([None, ["bybit"], ["binance"]]),
       skew=st.sampled_from([None, 0, 1_000_000, 10**12]), fl=st.sampled_from([0, 50_000_000]))
def test_any_selection_of_a_checked_dataset_equals_the_checking_read(checked, lo, span, recv, r_lo, r_span, kinds,
                                                                      symbols, venues, skew, fl):
    ds, res = checked
    t0 = int(res.events["ts_event"].min()) - D // 10
    start, end = t0 + int(lo * D), t0 + int((lo + span) * D)
    rr = (t0 + int(r_lo * D), t0 + int((r_lo + r_span) * D), fl) if recv else None
    kw = dict(start_ns=start, end_ns=end, kinds=kinds, recv_range=rr, symbols=symbols, venues=venues,
              max_clock_skew_ns=skew, check=False)
    from liqcore.dataset import checked as C

    C._RECENT.clear()  # (row groups decoded by the example before would not be decoded again)
    fast, slow = load_dataset(ds, **kw), load_dataset(ds, recheck=True, **kw)
    assert fast.files[str(ds)]["checked"] is True
    assert np.array_equal(fast.events, slow.events)
    assert list(fast.registry) == list(slow.registry)
    assert fast.rejects == slow.rejects and fast.duplicates == slow.duplicates == 0
    assert fast.files[str(ds)]["records"] == slow.files[str(ds)]["records"]
    # the row groups decoded: every matching row lies in one, and none is decoded when nothing can match
    assert fast.files[str(ds)]["rows_read"] >= len(fast.events)
    assert fast.files[str(ds)]["rows_read"] <= slow.files[str(ds)]["rows_read"]
    again = load_dataset(ds, **kw)  # the same read at once: its last row groups come from memory
    assert np.array_equal(again.events, fast.events)
    assert again.files[str(ds)]["rows_read"] <= fast.files[str(ds)]["rows_read"]


def test_the_clock_guard_applies_to_checked_files(tmp_path):
    m = synthetic_market(days=1, symbols=("ETHUSDT",), seed=5, cache=False)
    ev = m.events.copy()
    ev["ts_recv"][100:110] = ev["ts_event"][100:110] - 10_000_000_000  # received 10 s before the event
    f = save_events(ev, tmp_path / "m.parquet", m.registry)
    res = load_events([f], max_clock_skew_ns=None)
    write_dataset(res, tmp_path / "ds")
    assert all(_mark(p).get("checked") for p in _files(tmp_path / "ds"))
    for skew in (None, 1_000_000_000, 20_000_000_000):
        fast = load_dataset(tmp_path / "ds", max_clock_skew_ns=skew)
        slow = load_dataset(tmp_path / "ds", max_clock_skew_ns=skew, recheck=True)
        assert np.array_equal(fast.events, slow.events) and fast.rejects == slow.rejects
    assert load_dataset(tmp_path / "ds", max_clock_skew_ns=1_000_000_000).rejects == {"future_time": 10}


def _bad_trade(tmp_path):
    m = synthetic_market(days=1, symbols=("ETHUSDT",), seed=6, cache=False)
    ev = m.events.copy()
    k = int(np.flatnonzero(ev["kind"] == int(Kind.TRADE))[50])
    ev["price"][k] = np.nan
    return ev, m.registry


def test_a_bare_array_is_not_marked_and_its_bad_rows_still_drop(tmp_path):
    ev, reg = _bad_trade(tmp_path)
    write_dataset(ev, tmp_path / "ds", reg)
    assert not any(_mark(p).get("checked") for p in _files(tmp_path / "ds"))
    got = load_dataset(tmp_path / "ds")
    assert got.files[str(tmp_path / "ds")]["checked"] is False
    assert got.rejects == {"non_finite": 1} and len(got.events) == len(ev) - 1
    # said to be checked, a row that breaks a row rule still keeps the mark off
    write_dataset(ev, tmp_path / "ds2", reg, checked=True)
    assert not any(_mark(p).get("checked") for p in _files(tmp_path / "ds2"))
    assert load_dataset(tmp_path / "ds2").rejects == {"non_finite": 1}


def test_a_file_replaced_by_another_tool_is_read_the_checking_way(tmp_path):
    m = synthetic_market(days=1, symbols=("ETHUSDT",), seed=7, cache=False)
    f = save_events(m.events, tmp_path / "m.parquet", m.registry)
    write_dataset(load_events([f]), tmp_path / "ds")
    (part,) = _files(tmp_path / "ds")
    n = len(load_dataset(tmp_path / "ds").events)  # (its footer is now cached)
    t = pq.read_table(part)
    price = t.column("price").to_numpy().copy()
    k = int(np.flatnonzero(t.column("kind").to_numpy() == int(Kind.TRADE))[3])
    price[k] = -1.0
    t = t.set_column(t.schema.get_field_index("price"), "price", pa.array(price))
    pq.write_table(t.replace_schema_metadata(None), part)  # another tool: no mark
    got = load_dataset(tmp_path / "ds")
    assert got.files[str(tmp_path / "ds")]["checked"] is False
    assert got.rejects == {"non_positive": 1} and len(got.events) == n - 1


def test_a_file_rewritten_by_plain_pyarrow_with_its_footer_kept_is_checked_again_and_named(tmp_path):
    """``read_table`` -> edit -> ``write_table`` keeps the schema metadata, so the footer still says checked;
    the dataset's marks (size, SHA-256) no longer match: the load reads the checking way, counts and drops a
    trade at -1.0, a price of inf and a NaN size, removes the duplicated row, and names the file once."""
    import shutil

    from liqcore.dataset.checked import MARKS_FILE

    m = synthetic_market(days=1, symbols=("ETHUSDT",), seed=10, cache=False)
    f = save_events(m.events, tmp_path / "m.parquet", m.registry)
    ds = tmp_path / "ds"
    write_dataset(load_events([f]), ds)
    (part,) = _files(ds)
    rel = part.relative_to(ds).as_posix()
    assert rel in orjson.loads((ds / MARKS_FILE).read_bytes())["files"]
    before = load_dataset(ds)  # (its footer and digest are now cached)
    assert before.files[str(ds)]["checked"] is True and before.rejects == {} and before.duplicates == 0
    n = len(before.events)
    t = pq.read_table(part)
    trades = np.flatnonzero(t.column("kind").to_numpy() == int(Kind.TRADE))
    price, qty = t.column("price").to_numpy().copy(), t.column("qty").to_numpy().copy()
    price[trades[3]], price[trades[7]], qty[trades[11]] = -1.0, np.inf, np.nan
    t = t.set_column(t.schema.get_field_index("price"), "price", pa.array(price))
    t = t.set_column(t.schema.get_field_index("qty"), "qty", pa.array(qty))
    j = int(trades[20])
    t = pa.concat_tables([t.slice(0, j + 1), t.slice(j, 1), t.slice(j + 1)])  # one row twice
    pq.write_table(t, part)  # plain pyarrow: the schema metadata (the footer's "checked": true) is kept
    assert _mark(part).get("checked") is True
    notes: list = []
    got = load_dataset(ds, warn=notes.append)
    assert got.files[str(ds)]["checked"] is False and got.files[str(ds)]["unverified"] == [str(part)]
    assert sum(got.rejects.values()) == 3 and got.rejects == {"non_positive": 1, "non_finite": 2}
    assert got.duplicates == 1 and len(got.events) == n - 3
    slow = load_dataset(ds, recheck=True)
    assert np.array_equal(got.events, slow.events) and got.rejects == slow.rejects
    assert len(notes) == 1 and rel in notes[0] and "checked as read" in notes[0]
    load_dataset(ds, warn=notes.append)
    assert len(notes) == 1  # said once
    # the same file copied into another dataset (its footer says checked, that dataset has no mark of it)
    other = tmp_path / "other"
    (other / part.parent.relative_to(ds)).mkdir(parents=True)
    shutil.copy(ds / "_liqcore_dataset.json", other)
    shutil.copy(part, other / rel)
    assert load_dataset(other, warn=notes.append).rejects == got.rejects and rel in notes[-1]
    # a clean partition rewritten with the same rows (other bytes), then written into: the old file is not
    # the one marked, so the merge is not marked either (its rows are not vouched for)
    ds2 = tmp_path / "ds2"
    write_dataset(load_events([f]), ds2)
    (part2,) = _files(ds2)
    pq.write_table(pq.read_table(part2), part2, compression="snappy")
    write_dataset(load_events([f]), ds2)
    assert orjson.loads((ds2 / MARKS_FILE).read_bytes())["files"] == {}
    assert load_dataset(ds2).files[str(ds2)]["checked"] is False


def test_a_merge_removes_what_a_load_would_and_keeps_the_mark(tmp_path):
    m = synthetic_market(days=1, symbols=("ETHUSDT",), seed=8, cache=False)
    f = save_events(m.events, tmp_path / "m.parquet", m.registry)
    res = load_events([f])
    ds = tmp_path / "ds"
    write_dataset(res, ds)
    write_dataset(res, ds)  # the same rows again: exact duplicates, removed by the merge
    assert all(_mark(p).get("checked") for p in _files(ds))
    assert len(load_dataset(ds).events) == len(res.events)
    # a second recording of the same events (other receive times, no ids): the merge applies a load's
    # duplicate rule, so nothing is added and the partitions stay marked
    ev = res.events.copy()
    ev["ts_recv"] += 1_000
    info = write_dataset(ev, ds, res.registry, checked=True)
    assert info["rows_added"] == 0
    assert all(_mark(p).get("checked") for p in _files(ds))
    got = load_dataset(ds)
    assert got.duplicates == 0 and got.files[str(ds)]["checked"] is True and len(got.events) == len(res.events)


def test_convert_marks_its_partitions(tmp_path):
    from liqcore.dataset import convert_to_dataset

    m = synthetic_market(days=1, symbols=("ETHUSDT",), seed=9, cache=False)
    f = save_events(m.events, tmp_path / "m.csv", m.registry)
    convert_to_dataset([f], tmp_path / "ds")
    assert all(_mark(p).get("checked") for p in _files(tmp_path / "ds"))
    assert np.array_equal(load_dataset(tmp_path / "ds").events, load_dataset(tmp_path / "ds", recheck=True).events)


_VAL = st.sampled_from([1.5, 0.0, -2.0, np.nan, np.inf, -np.inf, 3000.0])
# a clean row of each kind (time, kind, side, price, qty), or one with any codes and values
_CLEAN = st.sampled_from([(1, 2, 3, 3000.0, 1.5), (1, 1, 2, 3000.0, 1.5), (1, 7, 4, 3000.0, 0.0), (1, 7, 3, 0.0, 0.0),
                          (1, 3, 0, np.nan, 0.0), (1, 4, 0, 0.0001, 0.0), (1, 5, 0, np.nan, 0.0)])
_ANY = st.tuples(st.sampled_from([1, 0, -5]), st.integers(-1, 8), st.integers(-1, 5), _VAL, _VAL)


@settings(max_examples=400, deadline=None)
@given(rows=st.lists(st.one_of(_CLEAN, _ANY), min_size=1, max_size=4), star=st.booleans())
def test_the_write_time_row_rules_are_the_loaders(rows, star):
    """A partition's rows pass :func:`row_problems` exactly when the contract's reader keeps every one
    of them unchanged (an empty quote side's price it would set to 0 counts as a change)."""
    from liqcore.dataset.write import _ROW_DTYPE
    from liqcore.io.base import FileState
    from liqcore.dataset.rows import row_problems
    from liqcore.io.contract import contract_table
    from liqcore.types import SymbolRegistry
    from liqcore.venues.common import Sink

    r = np.zeros(len(rows), _ROW_DTYPE)
    for i, (t, k, sd, p, q) in enumerate(rows):
        r[i] = (t * 1_700_000_000_000_000_000, 1_700_000_000_000_000_000, k, sd, p, q, 0, 0)
    sym = "*" if star else "ETHUSDT"
    table = pa.table({"ts_event_ns": r["ts_event_ns"], "ts_recv_ns": r["ts_recv_ns"], "kind": r["kind"],
                      "side": r["side"], "price": r["price"], "qty": r["qty"], "flags": r["flags"],
                      "venue": ["bybit"] * len(r), "symbol": [sym] * len(r)})
    st_ = FileState("x", Sink(SymbolRegistry(), None), False, "parquet")
    out = contract_table(table, st_, lambda row: str(row), null_reason="missing_field")
    unchanged = len(out) == len(r) and np.array_equal(out["price"], r["price"], equal_nan=True)
    assert (row_problems(r, sym) == 0) == unchanged


def reference_repeats_kept(rows: np.ndarray, src: list) -> np.ndarray:
    """The writer's rule for quote rows written out row by row: the sources are added one at a time, in the
    order of their numbers; a quote row of the source being added is dropped while an equal row (byte for
    byte) is already held more times than this source has shown it so far; every other row is kept."""
    held: dict = {}
    keep = np.ones(len(rows), bool)
    for s in sorted(set(src)):
        mine: dict = {}
        for i in range(len(rows)):
            if src[i] != s or rows["kind"][i] != int(Kind.QUOTE):
                continue
            v = rows[i:i + 1].tobytes()
            mine[v] = mine.get(v, 0) + 1
            keep[i] = mine[v] > held.get(v, 0)
        for v, c in mine.items():
            held[v] = max(held.get(v, 0), c)
    return keep


@settings(max_examples=300, deadline=None)
@given(te=st.lists(st.integers(0, 5), min_size=1, max_size=30) | st.lists(st.integers(0, 40), min_size=1, max_size=60),
       data=st.data())
def test_a_partitions_rows_merge_as_a_lexicographic_sort(te, data):
    """Old and new rows of a partition (each run sorted by event time, or not at all) merge to the rows sorted by
    (event time, receive time, quotes before trades), stable; a quote row that an earlier source (the old rows,
    then each new run) already holds as often is dropped, repeats within one source stay; then a load's
    duplicate rule (the same trade id, or the same row where one has no id; quotes never): as one
    lexicographic sort and the rules written out row by row would."""
    from liqcore.dataset.write import _ROW_DTYPE, _merge_rows

    n = len(te)
    r = np.zeros(n, _ROW_DTYPE)
    r["ts_event_ns"] = te
    r["ts_recv_ns"] = data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    r["price"] = data.draw(st.lists(st.sampled_from([1.0, 2.0]), min_size=n, max_size=n))
    r["kind"] = data.draw(st.lists(st.sampled_from([int(Kind.TRADE), int(Kind.QUOTE)]), min_size=n, max_size=n))
    r["trade_id"] = data.draw(st.lists(st.sampled_from([0, 0, 7, 9]), min_size=n, max_size=n))
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=3)))  # sources: the old rows, then new runs
    src = np.zeros(n, np.uint8)
    for c in cuts:
        src[c:] += 1
    one = not cuts or data.draw(st.booleans())  # one source (a rewrite of a partition's own rows)
    if data.draw(st.booleans()):  # each source's rows sorted by event time
        for s in set(src.tolist()):
            at = np.flatnonzero(src == s)
            r[at] = np.sort(r[at], order="ts_event_ns", kind="stable")
    order = np.lexsort((r["kind"] != int(Kind.QUOTE), r["ts_recv_ns"], r["ts_event_ns"]))
    want, wsrc = r[order], src[order]
    if not one:
        keep = reference_repeats_kept(want, wsrc.tolist())
        want = want[keep]
    rows = [(int(w["ts_event_ns"]), int(w["kind"]), int(w["side"]), float(w["price"]), float(w["qty"])) for w in want]
    want = want[reference_keep(rows, want["trade_id"].tolist(), (want["kind"] == int(Kind.QUOTE)).tolist())]
    # (runs of one event time in order stay as they are; only runs out of order are sorted, in place)
    got = _merge_rows(r.copy()) if one else _merge_rows(r.copy(), src.copy())
    assert got.tobytes() == want.tobytes()


@settings(max_examples=400, deadline=None)
@given(a=st.lists(st.integers(-3, 6), max_size=25), z=st.lists(st.integers(-3, 6), max_size=25), sort=st.booleans())
def test_the_section_merge_is_the_stable_sort(a, z, sort):
    """A partition file's two sections (each sorted by event time) come out in ``np.argsort(kind="stable")``
    order, whichever run is the short one; any other order falls back to that sort."""
    from liqcore.dataset.rows import event_order

    ts = np.asarray((sorted(a) + sorted(z)) if sort else (a + z), dtype=np.int64)
    got = event_order(ts)
    want = np.argsort(ts, kind="stable")
    assert np.array_equal(np.arange(len(ts)) if got is None else got, want)


@settings(max_examples=200, deadline=None)
@given(te=st.lists(st.integers(0, 3), min_size=1, max_size=40), data=st.data(), buckets=st.sampled_from([1, 2, 0]))
def test_duplicates_are_found_by_hash_then_compared_whole(te, data, buckets):
    """The merge finds equal rows among rows sharing their event time through a hash of the other
    columns, then compares the rows that hash alike byte for byte: the rows and groups a comparison of every
    row's bytes gives, also when the hash collides (``buckets``: the hash cut to 1 or 2 values; 0: the real hash).  A
    quote's bid and ask (same times, other side and price) are never duplicates."""
    from liqcore.dataset import rows as DS

    n = len(te)
    r = np.zeros(n, DS._ROW_DTYPE)
    r["ts_event_ns"] = np.sort(te)
    r["ts_recv_ns"] = data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    r["side"] = data.draw(st.lists(st.sampled_from([3, 4]), min_size=n, max_size=n))
    r["price"] = data.draw(st.lists(st.sampled_from([1.0, 2.0, -0.0, 0.0]), min_size=n, max_size=n))
    r["trade_id"] = data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    idx = DS._equal_time_runs(r["ts_event_ns"])
    real = DS._row_hash
    with pytest.MonkeyPatch.context() as mp:
        if buckets:
            mp.setattr(DS, "_row_hash", lambda rows, i: real(rows, i) % np.uint64(buckets))
        _assert_equal_groups(DS, r, idx)


def test_a_partition_file_stores_its_times_and_codes_plain_and_its_prices_and_sizes_compressed(tmp_path):
    """The writer's codecs by column: the delta-packed times and the dictionary-coded kind, side and flags without
    compression (zstd made them no smaller: their pages are decoded as they lie), the prices and sizes (and the
    quotes' ask) with zstd; the page decoder reads every column of such a file as pyarrow does."""
    import pyarrow.parquet as pq

    from liqcore.dataset import pages
    from liqcore.dataset import write as DS

    n = 4000
    rows = np.zeros(n, DS._ROW_DTYPE)
    rows["ts_event_ns"] = np.arange(n) * 1_000_000 + 1_700_000_000_000_000_000
    rows["ts_recv_ns"] = rows["ts_event_ns"] + 5_000_000
    rows["kind"] = np.where(np.arange(n) % 3 == 0, 2, 7)
    rows["side"] = np.where(rows["kind"] == 7, 3 + np.arange(n) % 2, 1)
    rows["price"] = 100.0 + (np.arange(n) % 50) * 0.5
    rows["qty"] = 1.0 + np.arange(n) % 7
    f = str(tmp_path / "p.parquet")
    DS._write_parquet(rows, ("binance", "BTCUSDT"), f)
    md = pq.ParquetFile(f).metadata
    codecs = {md.row_group(g).column(j).path_in_schema: md.row_group(g).column(j).compression
              for g in range(md.num_row_groups) for j in range(md.num_columns)}
    assert {c: codecs[c] for c in ("ts_event_ns", "ts_recv_ns", "kind", "side", "flags")} == dict.fromkeys(
        ("ts_event_ns", "ts_recv_ns", "kind", "side", "flags"), "UNCOMPRESSED")
    assert {c: codecs[c] for c in ("price", "qty", "ask_price", "ask_qty")} == dict.fromkeys(
        ("price", "qty", "ask_price", "ask_qty"), "ZSTD")
    from liqcore._libs.reading import scan_footer

    raw = open(f, "rb").read()
    sc = scan_footer(raw[-int.from_bytes(raw[-8:-4], "little") - 8:-8])
    fd = os.open(f, os.O_RDONLY)
    try:
        for g in range(md.num_row_groups):
            want = pq.ParquetFile(f).read_row_group(g)
            names = [c for c in ("ts_event_ns", "ts_recv_ns", "side", "price", "qty") if c in want.column_names]
            ch = pages.chunks_of(tuple(sc["schema"]), sc["chunks"], sc["rows"], g, names,
                                 {c: want.column(c).to_numpy().dtype for c in names})
            got = pages.read_rows(fd, ch, names, 0, want.num_rows)
            for c in names:
                assert np.array_equal(got[c], want.column(c).to_numpy()), (g, c)
    finally:
        os.close(fd)


@settings(max_examples=25, deadline=None)
@given(kinds=st.lists(st.sampled_from([1, 2, 2, 2, 3, 7, 7]), min_size=1, max_size=1200), groups=st.sampled_from([1, 3, 7, 50]))
def test_a_partition_file_is_written_a_row_group_at_a_time_as_whole_sections_were(tmp_path_factory, kinds, groups):
    """The writer builds each section from the rows in blocks of whole row groups (no columnar copy of the
    partition held): the file is byte for byte the one written from the whole table's three sections (the
    rare kinds, the trades, the quotes with each bid-and-ask pair as one row, pairs never cut by a block)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from liqcore.dataset import write as DS
    from liqcore.dataset import read as IO
    from liqcore.io.contract import column_codecs

    n = len(kinds)
    rows = np.zeros(n, DS._ROW_DTYPE)
    rows["ts_event_ns"] = np.arange(n) // 2  # (a quote at an even place and the next one: an update's two sides)
    rows["kind"] = kinds
    rows["side"] = np.where(rows["kind"] == 7, 3 + np.arange(n) % 2, 0)
    rows["price"] = np.arange(n) * 0.5
    table = DS._file_table(rows, "binance", "BTCUSDT")
    quotes = DS._quote_table(rows[rows["kind"] == 7], ("binance", "BTCUSDT"))
    d = tmp_path_factory.mktemp("rg")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(IO, "ROW_GROUP_ROWS", groups)
        DS._write_parquet(rows, ("binance", "BTCUSDT"), str(d / "new.parquet"))
        bulk = pc.is_in(table.column("kind"), value_set=pa.array(IO.BULK_KINDS, pa.int8()))
        with pq.ParquetWriter(str(d / "ref.parquet"), table.schema, compression=column_codecs(table.schema.names),
                              use_dictionary=["kind", "side", "flags"], write_page_index=DS.PAGE_INDEX,
                              column_encoding={c: "DELTA_BINARY_PACKED" for c in DS._DELTA_COLUMNS}) as w:
            trades = pc.equal(table.column("kind"), pa.scalar(2, pa.int8()))
            fp = DS.FirstPassage()  # the footer's first-passage index, of the row groups as written here
            for part in (table.filter(pc.invert(bulk)), table.filter(trades), quotes):
                if part.num_rows:
                    w.write_table(part, row_group_size=groups)
                    fp.add(part, groups)
            index = DS._clock_index(DS._by_section(rows))  # the footer's clock index (liquidations, gaps)
            if index is not None:
                w.add_key_value_metadata({DS.CLOCK_KEY: index})
            w.add_key_value_metadata({DS.FP_KEY: fp.encode()})
    assert (d / "new.parquet").read_bytes() == (d / "ref.parquet").read_bytes()


@settings(max_examples=300, deadline=None)
@given(a=st.lists(st.integers(0, 6), max_size=30), b=st.lists(st.integers(0, 6), max_size=30), split=st.integers(0, 30),
       sort_b=st.booleans())
def test_old_and_new_rows_merge_as_their_concatenation_stably_sorted(a, b, split, sort_b):
    """A partition's old rows (a file's two sections, each sorted by event time) and a file's new rows (sorted)
    are merged in one array, as their concatenation stably sorted would be; new rows out of order: the
    concatenation, which the merge sorts."""
    from liqcore.dataset import rows as DS

    old, new = np.zeros(len(a), DS._ROW_DTYPE), np.zeros(len(b), DS._ROW_DTYPE)
    k = min(split, len(a))
    old["ts_event_ns"] = sorted(a[:k]) + sorted(a[k:])
    new["ts_event_ns"] = sorted(b) if sort_b else b
    old["qty"], new["qty"] = np.arange(len(a)), 100 + np.arange(len(b))  # which row is which
    cat = np.concatenate([old, new])
    got = DS._merge_runs(old, new)
    if sort_b or b == sorted(b):
        assert got.tobytes() == cat[np.argsort(cat["ts_event_ns"], kind="stable")].tobytes()
    else:
        assert got.tobytes() == cat.tobytes()
    assert DS._merge_rows(got).tobytes() == DS._merge_rows(cat).tobytes()
    # each row's source label moves with it (the quote rule needs to know which rows were there before)
    lab = np.arange(len(cat), dtype=np.uint16)
    got2, moved = DS._merge_runs(old, new, lab)
    assert got2.tobytes() == got.tobytes() and got.tobytes() == cat[moved].tobytes()


def test_real_recordings_read_fast_as_checked_and_a_plain_pyarrow_rewrite_of_one_is_caught(tmp_path, real_data):
    """Real Binance recordings (liquidations and trades) converted: the fast read of the busiest symbol is its
    checking read; its busiest partition rewritten by plain pyarrow (footer kept) with a trade at -1.0, a
    price of inf, a NaN size and a duplicated row is read the checking way: 3 rejects, 1 duplicate, the file
    named.  Every folder's whole dataset reads fast as its checking read (a lone row of a small partition
    is not judged a stray against the next symbol's rows)."""
    from liqcore.dataset import convert_to_dataset

    for folder in ("binance-forceorder-2024-08", "binance-forceorder-2025-12", "binance-forceorder-2025-01"):
        src = real_data / folder
        ds = tmp_path / folder
        convert_to_dataset([src / "binance.csv", src / "binance_trades.csv"], ds)
        whole, checking = load_dataset(ds), load_dataset(ds, recheck=True)
        assert whole.files[str(ds)]["checked"] is True and len(_files(ds)) > 50
        assert np.array_equal(whole.events, checking.events) and list(whole.registry) == list(checking.registry)
        assert checking.rejects == {} and checking.duplicates == 0
    part = max((pq.read_metadata(p).num_rows, p) for p in _files(ds))[1]  # the busiest partition
    sym = [part.parent.parent.name[len("symbol="):]]
    fast, slow = load_dataset(ds, symbols=sym), load_dataset(ds, symbols=sym, recheck=True)
    assert fast.files[str(ds)]["checked"] is True and len(fast.events) > 1_000
    assert np.array_equal(fast.events, slow.events) and list(fast.registry) == list(slow.registry)
    assert fast.rejects == slow.rejects == {} and slow.duplicates == 0
    t = pq.read_table(part)
    trades = np.flatnonzero(t.column("kind").to_numpy() == int(Kind.TRADE))
    assert len(trades) > 30
    price, qty = t.column("price").to_numpy().copy(), t.column("qty").to_numpy().copy()
    price[trades[1]], price[trades[5]], qty[trades[9]] = -1.0, np.inf, np.nan
    t = t.set_column(t.schema.get_field_index("price"), "price", pa.array(price))
    t = t.set_column(t.schema.get_field_index("qty"), "qty", pa.array(qty))
    j = int(trades[20])
    pq.write_table(pa.concat_tables([t.slice(0, j + 1), t.slice(j, 1), t.slice(j + 1)]), part)
    assert _mark(part).get("checked") is True  # the footer still says so
    notes: list = []
    got = load_dataset(ds, symbols=sym, warn=notes.append)
    assert got.files[str(ds)]["unverified"] == [str(part)] and len(notes) == 1
    assert part.relative_to(ds).as_posix() in notes[0]
    assert got.rejects == {"non_positive": 1, "non_finite": 2} and got.duplicates == 1
    assert len(got.events) == len(fast.events) - 3
    assert np.array_equal(got.events, load_dataset(ds, symbols=sym, recheck=True).events)


def test_the_checking_read_judges_stray_times_within_each_partition(tmp_path):
    """A dataset scan lays partitions end to end (venue, symbol, date): a lone row of a small partition lies
    days from the rows of the symbols before and after it, and is no stray (the fast read keeps it, the
    checking read must too); a row days from its own partition's neighbours (a file another tool wrote) is."""
    from liqcore.types import EVENT_DTYPE, SymbolRegistry, Venue

    reg = SymbolRegistry()
    t0 = 1_767_225_600_000_000_000
    # AAA and CCC: day 10; BBB: one row on day 5, among DDD's rows of that day (DDD: days 5 and 10). The
    # scan reads AAA (day 10), BBB (day 5), CCC (day 10), DDD: BBB's row lies 5 days from both its neighbours
    h = 3_600_000_000_000
    rows = []
    for name, times in (("AAAUSDT", [t0 + 9 * D + k * h for k in range(10)]), ("BBBUSDT", [t0 + 4 * D + 5 * h + 1]),
                        ("CCCUSDT", [t0 + 9 * D + k * h + 7 for k in range(10)]),
                        ("DDDUSDT", [t0 + 4 * D + k * h for k in range(10)] + [t0 + 9 * D + k * h + 9 for k in range(10)])):
        sid = reg.id(int(Venue.BYBIT), name)
        rows += [(t, t + 5_000_000, 3000.0, 1.0, sid, int(Venue.BYBIT), 1, int(Kind.LIQUIDATION), 0) for t in times]
    ev = np.array(sorted(rows), dtype=EVENT_DTYPE)
    f = save_events(ev, tmp_path / "m.parquet", reg)
    res = load_events([f])
    assert len(res.events) == 41 and res.rejects == {}
    ds = tmp_path / "ds"
    write_dataset(res, ds)
    fast, slow = load_dataset(ds), load_dataset(ds, recheck=True)
    assert fast.files[str(ds)]["checked"] is True and len(fast.events) == 41
    assert slow.rejects == {} and np.array_equal(fast.events, slow.events)
    # a partition written by another tool with a row five days from its neighbours: judged a stray
    (part,) = [p for p in _files(ds) if "AAAUSDT" in str(p)]
    t = pq.read_table(part)
    te = t.column("ts_event_ns").to_numpy().copy()
    assert len(te) == 10
    te[4] += 5 * D
    pq.write_table(t.set_column(0, "ts_event_ns", pa.array(te)).replace_schema_metadata(None), part)
    got = load_dataset(ds)
    assert got.files[str(ds)]["checked"] is False and got.rejects == {"implausible_time": 1}
    assert len(got.events) == 40


def test_a_read_verifies_the_footer_and_the_row_groups_it_decodes(tmp_path):
    """The mark holds the SHA-256 of the file's footer and of each row group's bytes: a read verifies the
    footer and the groups it decodes (each once per process), so a short read of a big file does not digest
    all of it, and a byte changed in place inside a group fails exactly the reads that decode that group."""
    from liqcore.dataset import checked as C

    m = synthetic_market(days=1, symbols=("ETHUSDT",), seed=11, cache=False)
    f = save_events(m.events, tmp_path / "m.parquet", m.registry)
    ds = tmp_path / "ds"
    keep = io_dataset.ROW_GROUP_ROWS
    io_dataset.ROW_GROUP_ROWS = 2_000
    try:
        write_dataset(load_events([f]), ds)
    finally:
        io_dataset.ROW_GROUP_ROWS = keep
    (part,) = _files(ds)
    mark = C.read_marks(ds)[part.relative_to(ds).as_posix()]
    ft = C.footer(str(part))
    assert len(mark["groups"]) == len(ft.spans) >= 6 and ft.spans[-1][1] <= ft.key[0] - 8 - ft.meta_len
    # a window that decodes a few groups verifies those and the footer only
    te = ft.ev
    g = int(np.flatnonzero(ft.kd[:, 0] == int(Kind.TRADE))[2])  # a trades group well inside the day
    w = dict(start_ns=int(te[g, 0]), end_ns=int(te[g, 1]), kinds={int(Kind.TRADE)})
    fast = load_dataset(ds, **w)
    assert fast.files[str(ds)]["checked"] is True
    assert np.array_equal(fast.events, load_dataset(ds, recheck=True, **w).events)
    done = C._GROUPS_OK[(str(part), ft.key, mark["footer"])]
    assert -1 in done and g in done and len(done) < len(ft.spans)  # not the whole file
    # one byte of another group changed in place (same size, same footer)
    spans = [ft.spans[i] for i in range(len(ft.spans))]  # (made per group on demand: taken while the file is it)
    other = max(i for i in range(len(ft.spans)) if i not in done)
    lo, hi = ft.spans[other]
    with open(part, "r+b") as fh:
        fh.seek((lo + hi) // 2)
        b = fh.read(1)
        fh.seek((lo + hi) // 2)
        fh.write(bytes([b[0] ^ 0xFF]))
    ft2 = C.footer(str(part))
    assert ft2.key != ft.key and [ft2.spans[i] for i in range(len(ft2.spans))] == spans
    assert C.verify_groups(str(part), ft2, mark, sorted(done - {-1}))  # what the window decodes: unchanged
    assert not C.verify_groups(str(part), ft2, mark, [other])
    again = load_dataset(ds, **w)
    assert again.files[str(ds)]["checked"] is True and np.array_equal(again.events, fast.events)
    assert not C.verified(str(part), mark)  # the whole file's digest (a merge's check) sees the change
    # a changed footer (statistics, places) fails every read
    bad = dict(mark, footer="0" * 64)
    assert not C.verify_groups(str(part), ft2, bad, [])


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 3), st.sampled_from([2, 2, 7, 1]), st.sampled_from([3, 4]),
                               st.sampled_from([1.0, 2.0]), st.integers(0, 2)), min_size=1, max_size=40))
def test_the_load_rule_pass_leaves_quotes_out_with_the_same_result(rows):
    """The merge's load-rule duplicate pass runs over the rows sharing a time that are not quotes: the rows
    kept are those the pass over every row sharing a time keeps (the rule never pairs quotes), so a day of a
    busy book is not copied for it."""
    from liqcore.dataset import rows as DS

    r = np.zeros(len(rows), DS._ROW_DTYPE)
    r["ts_event_ns"] = sorted(x[0] for x in rows)
    r["kind"] = [x[1] for x in rows]
    r["side"] = [x[2] if x[1] != 1 else x[2] - 2 for x in rows]
    r["price"] = [x[3] for x in rows]
    r["qty"] = 1.0
    r["trade_id"] = [x[4] for x in rows]
    idx = DS._equal_time_runs(r["ts_event_ns"])

    def kept(ix):
        keep = np.ones(len(r), bool)
        if len(ix):
            k = DS._run_duplicates(DS.take_records(r, ix))
            if k is not None:
                keep[ix] = k
        return keep

    assert np.array_equal(kept(DS._not_quotes(r, idx)), kept(idx))


@settings(max_examples=300, deadline=None)
@given(te=st.lists(st.integers(0, 40), min_size=1, max_size=60), data=st.data())
def test_duplicates_in_runs_of_two_are_found_by_comparing_the_two_rows(te, data):
    """Runs of one event time of two rows (a quote's bid and ask: nearly every run of a book) are settled
    by comparing their two rows' bytes, longer runs by the hash: together the rows and groups a comparison
    of every row's bytes gives (NaN, 0.0 and -0.0 prices told apart by their bytes, as the file keeps
    them), also over a run's quote rows alone (rows of one run that are not neighbours)."""
    from liqcore.dataset import rows as DS

    n = len(te)
    r = np.zeros(n, DS._ROW_DTYPE)
    r["ts_event_ns"] = np.sort(te)
    r["ts_recv_ns"] = data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    r["kind"] = data.draw(st.lists(st.sampled_from([int(Kind.TRADE), int(Kind.QUOTE)]), min_size=n, max_size=n))
    r["side"] = data.draw(st.lists(st.sampled_from([3, 4]), min_size=n, max_size=n))
    r["price"] = data.draw(st.lists(st.sampled_from([1.0, np.nan, -0.0, 0.0]), min_size=n, max_size=n))
    r["trade_id"] = data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    idx = DS._equal_time_runs(r["ts_event_ns"])
    _assert_equal_groups(DS, r, idx)
    quotes = idx[r["kind"][idx] == int(Kind.QUOTE)]  # (the merge's subset: a run's quote rows, not adjacent)
    _assert_equal_groups(DS, r, quotes)


def _assert_equal_groups(DS, r, idx):
    """``_equal_groups(r, idx)`` is, written out: the rows of ``idx`` whose bytes another row of ``idx`` has,
    numbered alike exactly when their bytes are alike, each number's rows next to each other in increasing
    positions."""
    b = [r[i:i + 1].tobytes() for i in idx]
    want = [int(i) for i, x in zip(idx, b) if b.count(x) > 1]
    pos, group = DS._equal_groups(r, idx)
    assert sorted(pos.tolist()) == want and len(pos) == len(want)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]]) if len(group) else group
    assert len(starts) == len(set(group.tolist()))  # each number's rows together
    assert all(pos[k + 1] > pos[k] for k in range(len(pos) - 1) if group[k + 1] == group[k])
    by_pos = {int(p): int(g) for p, g in zip(pos, group)}
    for i in want:
        for j in want:
            assert (by_pos[i] == by_pos[j]) == (r[i:i + 1].tobytes() == r[j:j + 1].tobytes())


@pytest.mark.property
@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.one_of(_CLEAN, _ANY), min_size=0, max_size=40), star=st.booleans(),
       t0=st.sampled_from([1_700_000_000_000_000_000, 0, -1]))
def test_the_row_rules_count_as_their_twin(rows, star, t0):
    """:func:`row_problems` counts a partition's rule breaks in one compiled pass
    (:func:`liqcore._libs.reading.row_problems`): the count of its numpy twin (``pysrc/readrows.py``), on
    clean rows and any rows, venue-wide or not, times above and at or below 0."""
    from liqcore.dataset.write import _ROW_DTYPE
    from liqcore.dataset import checked as CK  # noqa: F401
    from liqcore.dataset import rows as RW
    from liqcore.types import Kind
    from pysrc import readrows as twin

    r = np.zeros(len(rows), _ROW_DTYPE)
    for i, (t, k, sd, p, q) in enumerate(rows):
        r[i] = (t * t0, 1_700_000_000_000_000_000, k, sd, p, q, 0, 0)
    sym = "*" if star else "ETHUSDT"
    assert RW.row_problems(r, sym) == twin.row_problems(r, int(max(Kind)), star)


@settings(max_examples=200, deadline=None)
@given(kinds=st.lists(st.sampled_from([1, 2, 3, 7]), max_size=30) | st.lists(st.sampled_from([1, 2, 3, 7]), max_size=1).map(
    lambda k: k * 9))
def test_rows_cut_into_sections_as_their_kinds_say(kinds):
    """A partition's rows cut into its file's three sections (the rare kinds, the trades, the quotes), each in
    the rows' order: a one-kind run of rows (a file of trades or quotes: a fast path) as any other."""
    from liqcore.dataset import write as DS

    r = np.zeros(len(kinds), DS._ROW_DTYPE)
    r["kind"] = kinds
    r["ts_event_ns"] = np.arange(len(kinds))
    got = DS._by_section(r)
    sec = DS._section(r["kind"])
    assert len(got) == 3
    for i in range(3):
        assert got[i].dtype == DS._ROW_DTYPE and got[i].tobytes() == r[sec == i].tobytes()


@settings(max_examples=200, deadline=None)
@given(tr=st.lists(st.integers(0, 60), min_size=1, max_size=80), lo=st.integers(-5, 65), span=st.integers(0, 30))
def test_a_groups_receive_slice_leaves_out_only_rows_received_outside_the_range(tr, lo, span):
    """:meth:`DecodedGroup.recv_slice` of a group without sorted event times (its running extremes): every row
    before its start or from its end is received outside [lo, hi), whatever the order of the receive times
    (nearly sorted in a file, any order here)."""
    from liqcore.dataset.decoded import DecodedGroup

    a = np.asarray(tr, np.int64)
    hi = lo + span
    g = DecodedGroup({"ts_recv_ns": a})
    i0, i1 = g.recv_slice(lo, hi)
    assert 0 <= i0 <= i1 <= len(a)
    inside = (a >= lo) & (a < hi)
    assert not inside[:i0].any() and not inside[i1:].any()
    # and it is the tightest slice its running extremes allow: its first and last rows can be received inside
    if i1 > i0:
        assert np.maximum.accumulate(a)[i0] >= lo and np.minimum.accumulate(a[::-1])[::-1][i1 - 1] < hi


@settings(max_examples=300, deadline=None)
@given(te=st.lists(st.integers(0, 40), min_size=1, max_size=80), delay=st.data(), lo=st.integers(-20, 90),
       span=st.integers(0, 40))
def test_a_sorted_groups_receive_slice_follows_its_delays_and_leaves_out_only_rows_received_outside(te, delay, lo,
                                                                                                   span):
    """:meth:`DecodedGroup.recv_slice` of a group whose event times are sorted (a checked file's bulk rows) bounds
    the rows by their least and greatest receive delay (two binary searches on the event times, no running
    extremes): every row before its start or from its end is received outside [lo, hi) -- delays of any sign
    and spread, ties in event time -- and its first and last rows are stamped where the delays allow a receive
    time inside (the slice is not cut wider than the bounds say; one row later or earlier would be wrong
    somewhere in these examples)."""
    from liqcore.dataset.decoded import DecodedGroup

    e = np.sort(np.asarray(te, np.int64))
    d = np.asarray(delay.draw(st.lists(st.integers(-6, 25), min_size=len(e), max_size=len(e))), np.int64)
    r = e + d
    hi = lo + span
    g = DecodedGroup({"ts_event_ns": e, "ts_recv_ns": r})
    i0, i1 = g.recv_slice(lo, hi)
    assert g._pmax is None and g._smin is None  # (the delays' path: no running extremes made)
    assert 0 <= i0 <= i1 <= len(e)
    inside = (r >= lo) & (r < hi)
    assert not inside[:i0].any() and not inside[i1:].any()
    if i1 > i0:  # the tightest slice the delays allow
        assert e[i0] + d.max() >= lo and e[i1 - 1] + d.min() < hi
    # the same slice a second time (the bounds are made once per decoded group)
    assert g.recv_slice(lo, hi) == (i0, i1)


def test_a_sorted_groups_receive_slice_handles_bounds_beyond_int64():
    """Receive ranges reaching the ends of int64 (an open range) slice a sorted group without overflow."""
    from liqcore.dataset.decoded import DecodedGroup

    e = np.asarray([10, 20, 30], np.int64)
    g = DecodedGroup({"ts_event_ns": e, "ts_recv_ns": e + np.asarray([-5, 0, 7])})
    assert g.recv_slice(-(2**63), 2**63 - 1) == (0, 3)
    assert g.recv_slice(2**63 - 1, 2**63 - 1) == (3, 3)
    assert g.recv_slice(-(2**63), -(2**63) + 1) == (0, 0)


def test_a_short_receive_range_passes_only_its_slice_of_a_decoded_group_through_the_row_passes(checked,
                                                                                                monkeypatch):
    """A read of a second of receive time decodes whole row groups (up to 3,000 rows here) but hands the row
    filters only the slice of each group its receive times can place in that second (the window-local
    backtest's hundreds of short reads: their numpy passes follow the rows asked for, not the groups);
    the events are the checking read's."""
    from liqcore.dataset import checked as C

    ds, res = checked
    seen = []
    real = C._row_mask

    def spy(te, tr, kind, *a):
        seen.append(len(te))
        return real(te, tr, kind, *a)

    monkeypatch.setattr(C, "_row_mask", spy)
    tr = np.sort(res.events["ts_recv"])
    mid = int(tr[len(tr) // 2])
    rr = (mid, mid + 1_000_000_000, 0)
    C._RECENT.clear()
    fast = load_dataset(ds, recv_range=rr, check=False)
    slow = load_dataset(ds, recv_range=rr, check=False, recheck=True)
    assert np.array_equal(fast.events, slow.events) and len(fast.events) > 0
    decoded = fast.files[str(ds)]["rows_read"]
    assert seen and decoded > 20 * len(fast.events)
    assert sum(seen) <= 4 * len(fast.events) + 100 < decoded / 4, (sum(seen), len(fast.events), decoded)


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 40), seed=st.integers(0, 10**6), ids=st.booleans())
def test_a_quote_groups_pairs_are_laid_out_as_expand_pairs_lays_them(n, seed, ids):
    """Rows of a format-3 quote group (every one carrying its ask) written straight into events, two a row
    (:func:`_fill`), are the events :func:`expand_pairs` then the one-a-row layout give, trade ids too."""
    from liqcore.dataset import checked as C
    from liqcore.types import EVENT_DTYPE

    rng = np.random.default_rng(seed)
    c = {"ts_event_ns": rng.integers(1, 10**6, n), "ts_recv_ns": rng.integers(1, 10**6, n),
         "kind": np.full(n, int(Kind.QUOTE), np.int8), "side": np.full(n, 3, np.int8),
         "price": rng.random(n) * 100, "qty": rng.random(n), "flags": rng.integers(0, 3, n).astype(np.int8),
         "ask_price": rng.random(n) * 100 + 100, "ask_qty": rng.random(n)}
    if ids:
        c["trade_id"] = rng.integers(0, 5, n)
    assert C._all_paired(c) and C._n_events(c) == 2 * n
    got = np.zeros(2 * n, EVENT_DTYPE)
    C._fill(got, c, 3, 2)
    ref = C.expand_pairs(dict(c))
    want = np.zeros(2 * n, EVENT_DTYPE)
    C._fill(want, ref, 3, 2)  # (one a row: the layout before pairs were written straight)
    assert "ask_price" not in ref and got.tobytes() == want.tobytes()
    assert (got["side"][1::2] == 4).all() and np.array_equal(got["price"][1::2], c["ask_price"])


def test_a_book_files_read_gathers_its_events_once(tmp_path, monkeypatch):
    """A read of one format-3 file's liquidations, trades and quotes (the window read's) lays the quotes'
    section among the trades and the rare rows by event time in one gather of the events, not one per
    order; the events are the checking read's."""
    from liqcore.synthetic.market import synthetic_market
    from liqcore.dataset import checked as C

    m = synthetic_market(days=1, symbols=("BTCUSDT",), seed=5, cache=False, effects={"book": True})
    write_dataset(m.events, tmp_path / "ds", m.registry, checked=True)
    import liqcore.types as T

    gathers = []
    real = T.take_records

    def count(rec, idx):
        gathers.append(len(idx))
        return real(rec, idx)

    monkeypatch.setattr(T, "take_records", count)
    C._RECENT.clear()
    fast = load_dataset(tmp_path / "ds", check=False)
    monkeypatch.setattr(T, "take_records", real)
    slow = load_dataset(tmp_path / "ds", check=False, recheck=True)
    assert np.array_equal(fast.events, slow.events)
    assert (fast.events["kind"] == int(Kind.QUOTE)).any() and (fast.events["kind"] == int(Kind.LIQUIDATION)).any()
    assert len(gathers) == 1, gathers


@settings(max_examples=300, deadline=None)
@given(te=st.lists(st.integers(0, 4), min_size=1, max_size=40), data=st.data())
def test_the_rows_an_earlier_source_cancels_are_the_rule_written_out(te, data):
    """``_repeats`` (rows sorted by event time, each with its source, in any order of sources: the writer
    hands them source by source, the rule does not count on it) drops the quote rows the rule written out
    row by row drops: each source added in turn, a row already held as often as this source has shown it
    cancels it."""
    from liqcore.dataset import rows as DS

    n = len(te)
    r = np.zeros(n, DS._ROW_DTYPE)
    r["ts_event_ns"] = np.sort(te)
    r["kind"] = int(Kind.QUOTE)
    r["side"] = data.draw(st.lists(st.sampled_from([3, 4]), min_size=n, max_size=n))
    r["price"] = data.draw(st.lists(st.sampled_from([1.0, 2.0]), min_size=n, max_size=n))
    src = np.asarray(data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), np.uint8)
    drop = DS._repeats(r, src, DS._equal_time_runs(r["ts_event_ns"]))
    keep = np.ones(n, bool)
    keep[drop] = False
    assert len(set(drop.tolist())) == len(drop)
    assert np.array_equal(keep, reference_repeats_kept(r, src.tolist()))

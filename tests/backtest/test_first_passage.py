"""The first-passage index (``liqcore.dataset.fpindex``, issue 71): written by the dataset writer into each
partition file's footer, taken only where it agrees with the file it indexes, and the read plan that asks it
(where a resting entry's level, a position's take-profit or stop-loss, or the quotes first reach it: the
index's blocks instead of the row groups) gives the full replay's trades, ledger, summary and records exactly,
over random strategy parameters and every dataset shape of the suite (trades only, with the top of book, with
late and reordered liquidations, with gaps, several symbols, with depth); a file rewritten after it was indexed,
or an index that is not its file's, is read the slow way with the same result."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liqcore.config import Params
from liqcore.types import Kind
from tests.backtest.test_backtest_default_read import _DS, _late_dataset, _same_ledger, _same_records, _write
from tests.backtest.test_backtest_windows import _summary

ROOT = Path(__file__).resolve().parents[2]


def _files(path) -> list:
    from liqcore.dataset.read import parquet_files

    return sorted(f for d in Path(path).rglob("date=*") for f in parquet_files(str(d)))


def _shape(tmp_path_factory, name: str, seed: int):
    """The dataset of shape ``name`` (built once per session) -> (path, symbols to select)."""
    key = ("fp", name, seed)
    if key in _DS:
        return _DS[key]
    from liqcore.synthetic.market import synthetic_market

    out = tmp_path_factory.mktemp(f"fp-{name}") / "ds"
    if name == "late":  # liquidations received late and stamped out of order, trades ahead of their receipt
        got = (_late_dataset(tmp_path_factory, seed, 40.0, 20.0, 2_000, 4.0, True), None)
    elif name == "depth":  # trades, quotes, liquidation bursts and L2 depth in its own files
        sys.path.insert(0, str(ROOT / "benches"))
        from bench_depth_backtest import build

        base = tmp_path_factory.mktemp("fp-depth")
        build(base, depth=60_000, rate=40_000, quotes=80_000, seed=seed)
        got = (str(base / "depth"), None)
    else:
        syms = ("BTCUSDT", "ETHUSDT") if name == "multi" else ("BTCUSDT",)
        m = synthetic_market(days=2, symbols=syms, seed=seed, cache=False,
                             effects=None if name == "trades" else {"book": True})
        ev = m.events
        if name == "gaps":  # a recording's gaps: GAP rows in the rare section, the detector's clock set at them
            from liqcore.types import EVENT_DTYPE

            liq = np.flatnonzero(ev["kind"] == int(Kind.LIQUIDATION))[::25]
            gap = np.zeros(len(liq), EVENT_DTYPE)  # (as a live feed writes one: liqcore.live.feeds.gap_events)
            gap["ts_event"] = gap["ts_recv"] = ev["ts_recv"][liq] + 1_000_000_000
            gap["symbol_id"], gap["venue"], gap["kind"], gap["price"] = ev["symbol_id"][liq], ev["venue"][liq], \
                int(Kind.GAP), np.nan
            ev = np.sort(np.concatenate([ev, gap]), order="ts_recv", kind="stable")
        got = (_write(ev, m.registry, out, 2_000), ["BTCUSDT"] if name == "multi" else None)
    _DS[key] = got
    return got


def _runs(path, p, symbols):
    """The full replay, the default read with the index, the default read without it."""
    from liqcore.backtest import row_groups as RG
    from liqcore.backtest.run import backtest_chunked, backtest_windows, resolve_strategy

    obj, p = resolve_strategy(None, p)
    full = backtest_chunked(path, p, obj, equity=10_000.0, symbols=symbols)
    fast = backtest_windows(path, p, obj, equity=10_000.0, symbols=symbols)
    RG.FIRST_PASSAGE = False  # (not monkeypatch: it would stay off for hypothesis's next examples)
    try:
        slow = backtest_windows(path, p, obj, equity=10_000.0, symbols=symbols)
    finally:
        RG.FIRST_PASSAGE = True
    return full, fast, slow


def _same_result(fast, *others) -> None:
    """The same trades, ledger (every field), records, summary and counts as each of ``others``."""
    for other in others:
        assert fast.trades() == other.trades()
        _same_ledger(fast.ledger, other.ledger)
        _same_records(fast.records, other.records)
        assert _summary(fast) == _summary(other)
        assert (fast.counts == other.counts).all()


def _blocks(path, symbols):
    from liqcore.backtest.row_groups import _bulk_groups
    from liqcore.dataset.read import check_selection

    return _bulk_groups(path, check_selection(path, symbols, None, None))["blocks"]


@pytest.mark.parametrize("shape", ["trades", "book", "late", "gaps", "multi", "depth"])
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.sampled_from([5, 11]),
       fill=st.sampled_from(["queue", "through", "touch"]), offset=st.sampled_from(["0.02%", "0.1%", "0.3%"]),
       tp=st.sampled_from(["0.05%", "0.3%", "1%"]), sl=st.sampled_from(["0.1%", "0.5%", "2%"]),
       hold=st.sampled_from(["5m", "4h"]), entry=st.sampled_from(["10s", "10m", "1h"]),
       model=st.sampled_from(["risk-averse", "prob:2"]))
def test_the_plan_that_asks_the_index_equals_the_full_replay(tmp_path_factory, shape, seed, fill, offset, tp, sl,
                                                              hold, entry, model):
    path, symbols = _shape(tmp_path_factory, shape, seed)
    if shape == "depth" and fill != "queue":
        fill = "queue"  # (the depth is the queue rule's)
    p = Params.from_mapping({"fill": fill, "offset": offset, "take-profit": tp, "stop-loss": sl,
                             "hold-timeout": hold, "entry-timeout": entry, "queue-model": model})
    assert _blocks(path, symbols) is not None  # every file of the selection carries its index, and it is taken
    full, fast, slow = _runs(path, p, symbols)
    assert fast.read["path"] == "windows"
    _same_result(fast, full, slow)
    # the blocks only ever narrow what is decoded and replayed
    assert fast.read["rows_skipped"] >= slow.read["rows_skipped"]


@pytest.mark.parametrize("shape", ["trades", "book", "late", "gaps"])
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.sampled_from([5, 11]), fill=st.sampled_from(["queue", "through"]),
       cooldown=st.sampled_from(["0s", "5m", "2h", "12h"]), daily=st.sampled_from(["0.05%", "0.3%", "1%"]),
       hours=st.sampled_from(["all", "8-20", "22-6"]), dense=st.booleans())
def test_signals_refused_whatever_the_prints_are_decided_without_their_windows(tmp_path_factory, shape, seed, fill,
                                                                              cooldown, daily, hours, dense):
    """A signal a flat simulator refuses before it reads a price (a cooldown, the daily or weekly loss limit, the
    trading hours, a bot that has not heard its last order end) is decided on its liquidations alone, its window
    of trades and quotes left unread: the full replay's trades, ledger, records, counts and summary all the
    same, over random cooldowns, loss limits and hours (dense signals: a lower threshold)."""
    path, symbols = _shape(tmp_path_factory, shape, seed)
    m = {"fill": fill, "cooldown": cooldown, "daily-loss": daily, "hours": hours}
    if dense:
        m.update({"min-history": "20"})
    full, fast, slow = _runs(path, Params.from_mapping(m), symbols)
    assert fast.read["path"] == "windows"
    _same_result(fast, full, slow)


def test_some_refused_signals_left_their_windows_unread(tmp_path_factory):
    """A cooldown of twelve hours refuses most signals: their windows are not read, with the full replay's
    result."""
    path, symbols = _shape(tmp_path_factory, "book", 5)
    p = Params.from_mapping({"fill": "queue", "cooldown": "12h", "min-history": "20"})
    full, fast, _slow = _runs(path, p, symbols)
    refused = int(fast.counts[:, 10].sum())  # (C_COOLDOWN)
    assert refused > 0 and 0 < fast.read["windows_unread"] <= refused + int(fast.counts[:, 13].sum())
    assert fast.trades() == full.trades() and _summary(fast) == _summary(full)


def test_the_refusals_decided_before_any_price_are_the_kernels_codes():
    """The reasons the window plan decides without a window are the kernel's codes that ``step_entry`` returns
    before it reads the last price or the book."""
    from liqcore._jit import simdefs as D
    from liqcore.backtest.passage import REFUSED_WHATEVER_THE_PRINTS as _REFUSED_WHATEVER_THE_PRINTS

    assert set(_REFUSED_WHATEVER_THE_PRINTS) == {D.R_BUSY, D.R_COOLDOWN, D.R_MIXED, D.R_HOURS, D.R_LOSS_LIMIT,
                                                 D.R_SKIPPED, D.R_DAILY_TRADES}
    assert D.R_NO_REF not in _REFUSED_WHATEVER_THE_PRINTS and D.R_ORDER not in _REFUSED_WHATEVER_THE_PRINTS
    assert D.C_COOLDOWN == 10 and D.C_LOSS_LIMIT == 13  # (the counts' columns read above)


def test_the_index_agrees_with_the_row_groups_statistics(tmp_path_factory):
    """The groups' ranges merged from the index's blocks are the Parquet statistics, group for group (the fast
    path of ``_bulk_groups`` and the slow one), on the book with late rows."""
    from liqcore.backtest import row_groups as RG
    from liqcore.dataset.read import check_selection

    path, _s = _shape(tmp_path_factory, "late", 5)
    sel = check_selection(path, None, None, None)
    fast = RG._bulk_groups(path, sel)
    RG.FIRST_PASSAGE = False
    try:
        slow = RG._bulk_groups(path, sel)
    finally:
        RG.FIRST_PASSAGE = True
    assert fast["blocks"] is not None and slow["blocks"] is None
    for k in ("te_min", "te_max", "tr_min", "tr_max", "p_min", "p_max", "q_max", "has_trades", "has_quotes"):
        assert fast[k].dtype == slow[k].dtype and np.array_equal(fast[k], slow[k]), k
    assert [w[:3] for w in fast["where"]] == [w[:3] for w in slow["where"]]
    b = fast["blocks"]  # every bulk row in exactly one block, blocks of at most BLOCK rows
    from liqcore.dataset.fpindex import BLOCK

    assert int(b["n"].sum()) == sum(w[2] for w in fast["where"]) and int(b["n"].max()) <= BLOCK


def test_the_index_describes_the_rows_it_indexes(tmp_path_factory):
    """Each block's ranges, volume and place are those of the rows it names, decoded from the file."""
    import pyarrow.parquet as pq

    from liqcore.dataset import fpindex
    from liqcore.dataset.checked import footer

    path, _s = _shape(tmp_path_factory, "book", 11)
    for f in _files(path):
        ft = footer(f)
        b = fpindex.decode(pq.read_metadata(f).metadata[fpindex.KEY], ft.rows, ft.ev, ft.rv)
        assert b is not None and len(b)
        t = pq.read_table(f)
        cols = {c: t.column(c).to_numpy(zero_copy_only=False) for c in ("kind", "ts_recv_ns", "price", "qty")}
        ask = np.asarray(t.column("ask_price").to_pandas(), float)
        for x in b[:: max(len(b) // 40, 1)]:
            r = slice(int(x["row0"]), int(x["row0"] + x["n"]))
            assert (cols["kind"][r] == x["kind"]).all()
            assert cols["ts_recv_ns"][r].min() == x["tr_min"] and cols["ts_recv_ns"][r].max() == x["tr_max"]
            assert np.nanmin(np.concatenate([cols["price"][r], ask[r]])) == x["p_min"]
            if x["kind"] == int(Kind.TRADE):
                assert cols["qty"][r].sum() == pytest.approx(x["vol"], rel=1e-12)
            else:
                assert np.nanmax(ask[r]) == x["ask_max"] and cols["price"][r].max() == x["bid_max"]


def test_a_dataset_without_the_index_reads_as_today(tmp_path_factory, monkeypatch):
    """Files written without the index (no footer key): the groups' statistics, no blocks, the same result."""
    import liqcore.dataset.write as W
    from liqcore.synthetic.market import synthetic_market

    class NoIndex:
        def add(self, *a):
            pass

        def encode(self):
            return None

    monkeypatch.setattr(W, "FirstPassage", NoIndex)
    m = synthetic_market(days=2, symbols=("BTCUSDT",), seed=5, cache=False, effects={"book": True})
    path = _write(m.events, m.registry, tmp_path_factory.mktemp("fp-none") / "ds", 2_000)
    assert _blocks(path, None) is None
    full, fast, slow = _runs(path, Params.from_mapping({"fill": "queue"}), None)
    assert fast.read["path"] == "windows" and fast.trades() == full.trades() == slow.trades()
    assert fast.read == slow.read and _summary(fast) == _summary(full)


def test_a_stale_or_tampered_index_is_not_taken(tmp_path_factory, tmp_path):
    """An index that is not its file's -- another file's footer value put on a file rewritten with the rows
    changed, and the marks taken again so the rewrite passes the digest check -- fails the index's own checks
    against the footer (rows, groups, time ranges): the groups' statistics are read, the same result as the full
    replay.  A file rewritten after it was marked (its index copied with the footer's metadata) fails the digest
    check: the default read is refused and every event is replayed the checking way."""
    import shutil

    import pyarrow.parquet as pq

    from liqcore.backtest.run import backtest_windows, resolve_strategy
    from liqcore.backtest.stream import NotStreamable
    from liqcore.dataset import fpindex
    from liqcore.dataset.checked import MARKS_FILE, mark_of

    src, _s = _shape(tmp_path_factory, "book", 5)
    ds = tmp_path / "ds"
    shutil.copytree(src, ds)
    files = _files(ds)
    # 1. rewritten after it was marked: refused by the digest, replayed the slow way
    pf = pq.ParquetFile(files[0])
    stale = pf.metadata.metadata[fpindex.KEY]  # the file's index, carried over to the rewrite
    groups = [pf.read_row_group(i) for i in range(pf.num_row_groups)]
    groups[-1] = groups[-1].slice(0, groups[-1].num_rows - 5)  # (the same sections, the last rows gone)
    meta = {**groups[0].schema.metadata, fpindex.KEY: stale}
    with pq.ParquetWriter(files[0], groups[0].schema.with_metadata(meta)) as w:
        for g in groups:
            w.write_table(g.replace_schema_metadata(meta))
    obj, p = resolve_strategy(None, Params.from_mapping({"fill": "queue"}))
    with pytest.raises(NotStreamable, match="verified checked mark"):
        backtest_windows(str(ds), p, obj, equity=10_000.0)
    # 2. ... and marked again (a tool that re-marks what it rewrote): the index, another file's, is refused by
    # its own checks; the read takes the statistics and gives the full replay's result
    import orjson

    marks_p = ds / MARKS_FILE
    marks = orjson.loads(marks_p.read_bytes())
    rel = str(Path(files[0]).relative_to(ds))
    marks["files"][rel] = mark_of(str(files[0]))
    marks_p.write_bytes(orjson.dumps(marks))
    md = pq.read_metadata(files[0])
    assert fpindex.KEY in md.metadata  # (the stale index rode along with the footer's metadata)
    assert _blocks(str(ds), None) is None
    full, fast, slow = _runs(str(ds), Params.from_mapping({"fill": "queue"}), None)
    assert fast.read["path"] == "windows" and fast.trades() == full.trades() == slow.trades()
    _same_ledger(fast.ledger, full.ledger)
    assert _summary(fast) == _summary(full)


@pytest.mark.parametrize("bad", ["rows", "order", "time", "garbage"])
def test_decode_refuses_an_index_that_does_not_fit_the_footer(tmp_path_factory, bad):
    import base64

    import pyarrow.parquet as pq

    from liqcore.dataset import fpindex
    from liqcore.dataset.checked import footer

    path, _s = _shape(tmp_path_factory, "book", 11)
    f = _files(path)[0]
    ft = footer(f)
    raw = pq.read_metadata(f).metadata[fpindex.KEY]
    assert fpindex.decode(raw, ft.rows, ft.ev, ft.rv) is not None
    head, _, body = raw.partition(b"\n")
    b = np.frombuffer(base64.b64decode(body), fpindex.BLOCK_DTYPE).copy()
    if bad == "rows":
        b["n"][3] += 1
    elif bad == "order":
        b["row0"][3] += 7
    elif bad == "time":
        b["tr_min"][np.argmin(b["tr_min"])] -= 1
    value = head + b"\n" + (base64.b64encode(b.tobytes()) if bad != "garbage" else b"not base64 !")
    assert fpindex.decode(value, ft.rows, ft.ev, ft.rv) is None

"""The queue fill rule (and the price grid) on a dataset read in time chunks: the top of book goes to the
simulator chunk by chunk, the queue state carries across chunks, and the result is the whole load's,
over chunk sizes, fill rules, queue models, the grid's read-ahead and datasets whose book starts late
or is missing (the fall-back to ``through``)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore.backtest.run import backtest, backtest_chunked, resolve_strategy
from liqcore.config import Params
from liqcore.types import Kind

DAY = 86_400_000_000_000
_DS: dict = {}


def _datasets(tmp_path_factory) -> dict:
    """Three datasets of the same market: with its book, with its book from the second half of the
    span only, and without a book."""
    if not _DS:
        from liqcore.synthetic.market import synthetic_market
        from liqcore.dataset import write_dataset

        m = synthetic_market(days=3, symbols=("BTCUSDT",), seed=5, cache=False, effects={"book": True})
        ev = m.events
        quote = ev["kind"] == int(Kind.QUOTE)
        half = int(ev["ts_event"][0]) + (int(ev["ts_event"][-1]) - int(ev["ts_event"][0])) // 2
        root = tmp_path_factory.mktemp("chunked_book")
        for name, keep in (("book", np.ones(len(ev), bool)), ("late", ~quote | (ev["ts_event"] >= half)),
                           ("bare", ~quote)):
            write_dataset(ev[keep], root / name, m.registry, checked=True)
            _DS[name] = str(root / name)
    return _DS


def _same(whole, chunked):
    assert whole.to_json() == chunked.to_json()
    assert whole.detector_counts == chunked.detector_counts
    assert whole.n_prints == chunked.n_prints
    assert whole.fill_fallback == chunked.fill_fallback
    assert np.array_equal(whole.ledger, chunked.ledger)


@settings(max_examples=24, deadline=None)
@given(data=st.sampled_from(["book", "late", "bare"]), days=st.floats(0.02, 3.5),
       fill=st.sampled_from(["queue", "queue", "through", "touch"]),
       model=st.sampled_from(["risk-averse", "prob:2", "prob:3"]), unseen=st.sampled_from(["seen", "empty"]),
       grid=st.sampled_from(["off", "auto"]), grid_prints=st.sampled_from([300, 5_000, 1 << 18]),
       offset=st.sampled_from(["0.02%", "0.05%", "0.1%"]), tp=st.sampled_from(["0.05%", "0.15%", "0.5%"]),
       quantile=st.sampled_from(["0.9", "0.95"]))
def test_queue_rule_in_chunks_equals_the_whole_load(tmp_path_factory, data, days, fill, model, unseen, grid,
                                                    grid_prints, offset, tp, quantile):
    from liqcore.execution import events as E

    path = _datasets(tmp_path_factory)[data]
    grid = "auto" if fill == "queue" else grid  # (the queue rule's limits are on the grid: off is refused with it)
    p = Params.from_mapping({"fill": fill, "queue-model": model, "queue-unseen": unseen, "price-grid": grid,
                             "offset": offset, "take-profit": tp, "quantile": quantile})
    obj, p = resolve_strategy(None, p)
    # the grid is read from each symbol's first GRID_PRINTS prints: fewer than a chunk holds, or than the span
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(E, "GRID_PRINTS", grid_prints)
        whole = backtest([path], p, equity=10_000.0, chunk_days=0)
        assert whole.events is not None and len(whole.records) > 0
        assert whole.fill_fallback == (fill == "queue" and data == "bare")
        _same(whole, backtest_chunked(path, p, obj, equity=10_000.0, chunk_days=days))


def test_the_queue_rule_reads_a_dataset_in_chunks_with_the_book(tmp_path_factory, monkeypatch):
    """``backtest(DS, fill=queue)`` reads in chunks (no read spans more than one, no events kept), replays
    the quotes (without them it falls back to through) and equals the whole load."""
    from tests.backtest.test_backtest_chunked import _spy_reads

    path = _datasets(tmp_path_factory)["book"]
    p = Params.from_mapping({"fill": "queue", "offset": "0.02%", "quantile": "0.9"})
    whole = backtest(path, p, equity=10_000.0, chunk_days=0)
    calls = _spy_reads(monkeypatch)
    res = backtest(path, p, equity=10_000.0, chunk_days=0.25, read="all")
    assert res.events is None and not res.fill_fallback
    assert len(calls) >= 8 and all(s is not None and e - s <= DAY // 4 for s, e in calls)
    _same(whole, res)
    # the book was read: the same market without its quotes falls back to through.  (Its result is not the
    # test: with limits on the tick, the default, every queue fill of this day is a print through the limit and
    # the two rules agree to the last digit; they differed only while the through rule's limits were off it.)
    bare = backtest(_datasets(tmp_path_factory)["bare"], p, equity=10_000.0, chunk_days=0.25, read="all")
    assert bare.fill_fallback and bare.summary()["fills"] == res.summary()["fills"] > 0


def test_a_chunk_held_for_the_grid_keeps_only_what_the_simulator_reads(tmp_path_factory, monkeypatch):
    """Until the grid is known the chunks are held, without their events; from then on they pass."""
    from liqcore.backtest import stream as C
    from liqcore.execution import events as E

    path = _datasets(tmp_path_factory)["book"]
    monkeypatch.setattr(E, "GRID_PRINTS", 2_000)
    held = []
    real_feed = C._GridGate.feed

    def feed(self, cells, ch, rec, ni):
        real_feed(self, cells, ch, rec, ni)
        held.append(len(self.held))

    monkeypatch.setattr(C._GridGate, "feed", feed)
    p = Params.from_mapping({"fill": "queue"})
    obj, p = resolve_strategy(None, p)
    res = backtest_chunked(path, p, obj, equity=10_000.0, chunk_days=0.01)
    assert len(held) > 50 and max(held) >= 2 and held[-1] == 0  # held for a few chunks, then none


def test_queue_rule_in_chunks_on_the_real_recordings_falls_back_as_the_whole_load(real_data, tmp_path):
    """The real Binance recordings (liquidations and trades, no book): in chunks, the queue rule falls
    back to through with the whole load's result."""
    from liqcore.dataset import convert_to_dataset

    ds = tmp_path / "ds"
    folder = real_data / "binance-forceorder-2025-01"
    convert_to_dataset([folder / "binance.csv", folder / "binance_trades.csv"], ds, warn=lambda _m: None)
    from liqcore.dataset import load_dataset

    p = Params.from_mapping({"fill": "queue", "quantile": "0.9", "min-history": 5})
    obj, p = resolve_strategy(None, p)
    whole = backtest(load_dataset(str(ds), symbols=["BTCUSDT"]), p, equity=10_000.0)
    assert whole.fill_fallback and whole.n_prints > 5_000
    for days in (0.01, 0.5):
        _same(whole, backtest_chunked(str(ds), p, obj, symbols=["BTCUSDT"], equity=10_000.0, chunk_days=days))


@pytest.mark.parametrize("data", ["book", "late", "bare"])
def test_a_sweep_over_fill_rules_in_chunks_equals_the_whole_partition(tmp_path_factory, data):
    """A sweep over fill rules, queue models and the price grid reads a dataset partition in chunks with
    its book (every task in chunks, none loaded whole) and gives the whole partition's rows, window by
    window, fill-model label included (a partition without a quote: the queue rule's fall-back)."""
    import dataclasses

    from liqcore.sweep import grid as SG
    from liqcore.sweep import cells as S
    from liqcore.execution import events as E
    from tests.backtest.test_sweep_stream import _same, _table, _windows

    path = _datasets(tmp_path_factory)[data]
    grid = SG.validate_grid({"fill": ["through", "queue", "touch"], "queue-model": ["risk-averse", "prob:2"],
                             "price-grid": ["tick", "auto"], "offset": ["0.02%", "0.1%"], "quantile": ["0.9"]})
    part = S.Partition(S.Source("dataset", path=path), ("BTCUSDT",))
    from liqcore.dataset import load_dataset

    t0 = int(load_dataset(path).events["ts_recv"].min())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(E, "GRID_PRINTS", 3_000)  # the grid's prints span several chunks
        a, _ = _table([part], _windows(t0), grid=grid)
        b, stats = _table([dataclasses.replace(part, chunk_days=0.1)], _windows(t0), grid=grid)
    _same(a, b)
    assert stats["chunked_tasks"] >= 1 and stats["chunked_ran_whole"] == {}
    labels = set(b["fill_model"])
    assert any("no top of book" in x for x in labels) == (data == "bare")

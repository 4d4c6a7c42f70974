"""A backtest of a dataset reads it in time chunks by default (memory: one chunk, not the span) and gives
the whole load's result: trades, counts, detector counts and summary, over chunk sizes and strategy
parameters; strategies without a chunked path load the span whole with the same result."""
from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore.backtest.run import backtest, backtest_chunked, resolve_strategy
from liqcore.config import Params

DAY = 86_400_000_000_000
_DS: dict = {}


def _dataset(tmp_path_factory):
    if "path" not in _DS:
        from liqcore.synthetic.market import synthetic_market
        from liqcore.dataset import write_dataset

        m = synthetic_market(days=2, symbols=("BTCUSDT",), seed=5, cache=False)
        out = tmp_path_factory.mktemp("chunked") / "ds"
        write_dataset(m.events, out, m.registry, checked=True)  # read as a converted dataset is (no re-check)
        _DS["path"] = str(out)
    return _DS["path"]


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return _dataset(tmp_path_factory)


def _spy_reads(monkeypatch) -> list:
    """The (start_ns, end_ns) of every dataset read from now on (the reads still happen)."""
    from liqcore.dataset import read as D

    calls = []
    real = D.load_dataset

    def spy(*a, **kw):
        calls.append((kw.get("start_ns"), kw.get("end_ns")))
        return real(*a, **kw)

    monkeypatch.setattr(D, "load_dataset", spy)
    return calls


def _same(whole, chunked):
    a, b = whole.to_json(), chunked.to_json()
    assert a == b
    assert whole.detector_counts == chunked.detector_counts
    assert whole.n_prints == chunked.n_prints


@settings(max_examples=12)
@given(days=st.floats(0.03, 2.5), offset=st.sampled_from(["0.05%", "0.1%", "0.3%"]),
       tp=st.sampled_from(["0.15%", "0.3%", "1%"]), sl=st.sampled_from(["0.2%", "0.5%"]),
       hold=st.sampled_from(["5m", "30m", "4h"]), entry=st.sampled_from(["10s", "90s", "10m"]),
       quantile=st.sampled_from(["0.9", "0.95"]), cooldown=st.sampled_from(["0s", "10m"]))
def test_chunked_backtest_equals_the_whole_load(tmp_path_factory, days, offset, tp, sl, hold, entry, quantile,
                                                cooldown):
    path = _dataset(tmp_path_factory)
    p = Params.from_mapping({"offset": offset, "take-profit": tp, "stop-loss": sl, "hold-timeout": hold,
                             "entry-timeout": entry, "quantile": quantile, "cooldown": cooldown})
    obj, p = resolve_strategy(None, p)
    whole = backtest([path], p, equity=10_000.0, chunk_days=0)
    assert whole.events is not None and len(whole.records) > 0  # cascades were found and traded on
    _same(whole, backtest_chunked(path, p, obj, equity=10_000.0, chunk_days=days))


def test_dataset_backtest_reads_in_chunks_by_default(ds, monkeypatch):
    """``backtest(DS)`` reads one day at a time (no read spans more) and keeps no events: memory is one
    chunk; the result is the whole load's."""
    p = Params()
    whole = backtest(ds, p, chunk_days=0)
    calls = _spy_reads(monkeypatch)
    res = backtest(ds, p, read="all")  # the full replay (the default; window-local: test_backtest_windows)
    assert len(calls) >= 2 and all(s is not None and e - s <= DAY for s, e in calls)
    assert res.events is None and len(res.ledger) > 0
    _same(whole, res)


def test_the_default_chunk_holds_about_a_million_rows_of_the_densest_day(ds, monkeypatch):
    """A dense day is read in parts of the day (the footers' row counts decide, nothing decoded), a sparse
    one whole; the result is the whole load's either way."""
    from liqcore.backtest import chunked as C
    from liqcore.dataset import read as D

    rows = D.rows_per_partition(ds, D.dataset_info(ds))
    densest = max(rows.values())
    assert len(rows) >= 2 and densest > 10_000
    assert C.default_chunk_days(ds) == 1.0  # the default budget: a day of this market fits
    monkeypatch.setattr(C, "DEFAULT_CHUNK_ROWS", densest // 4 + 1)
    assert C.default_chunk_days(ds) == 6 / 24  # a quarter of the densest day: 6 hours
    monkeypatch.setattr(C, "DEFAULT_CHUNK_ROWS", densest // 4 - 1)
    assert C.default_chunk_days(ds) == 5 / 24  # rounded down to whole hours
    monkeypatch.setattr(C, "DEFAULT_CHUNK_ROWS", 10)
    assert C.default_chunk_days(ds) == C.MIN_CHUNK_DAYS  # at least an hour
    assert C.default_chunk_days(ds, ["NOPE"]) == C.DEFAULT_CHUNK_DAYS  # the read itself names the error
    monkeypatch.setattr(C, "DEFAULT_CHUNK_ROWS", densest // 4 + 1)
    calls = _spy_reads(monkeypatch)
    p = Params()
    res = backtest(ds, p, read="all")
    assert len(calls) >= 8 and all(e - s <= DAY // 4 for s, e in calls)
    monkeypatch.undo()
    _same(backtest(ds, p, chunk_days=0), res)


def test_strategy_without_a_chunked_path_loads_whole_with_the_same_result(ds):
    p = Params.from_mapping({"strategy": "liq-trend"})
    obj, p = resolve_strategy(None, p)
    from liqcore.backtest.stream import NotStreamable

    with pytest.raises(NotStreamable, match="liq-trend"):
        backtest_chunked(ds, p, obj, chunk_days=0.5)
    a = backtest(ds, p, chunk_days=0.5)
    assert a.events is not None  # loaded whole
    assert a.to_json() == backtest(ds, p, chunk_days=0).to_json()


def test_cli_backtest_of_a_dataset_is_chunked_and_equals_the_whole_load(ds, capsys, tmp_path):
    from liqcore.cli import main

    assert main(["backtest", ds, "--json", "--chunk-days", "0.3", "--read", "all"]) == 0
    chunked = orjson.loads(capsys.readouterr().out)
    assert main(["backtest", ds, "--json", "--chunk-days", "0"]) == 0
    whole = orjson.loads(capsys.readouterr().out)
    assert chunked == whole and len(whole["trades"]) > 0
    # the report of a chunked run plots its example trades from the events read around them
    assert main(["backtest", ds, "--no-progress", "--report", str(tmp_path / "rep")]) == 0
    out = capsys.readouterr().out
    assert "report written" in out and (tmp_path / "rep" / "report.html").is_file()
    assert any(p.suffix == ".png" for p in (tmp_path / "rep").iterdir())


@pytest.mark.parametrize("command", ["sweep", "walkforward"])
def test_sweep_and_walkforward_read_a_dataset_in_chunks_by_default(ds, command):
    import argparse

    from liqcore.commands import _scale

    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--synthetic", action="store_true")
    parser.add_argument("--symbols")
    parser.add_argument("--start")
    parser.add_argument("--end")
    _scale.add_scale_arguments(parser, walkforward=command == "walkforward")
    parts, _span, _label = _scale.plan_source(parser.parse_args([ds]), Params(), {})
    assert parts and all(p.chunk_days == 1.0 for p in parts)
    parts, _span, _label = _scale.plan_source(parser.parse_args([ds, "--chunk-days", "0"]), Params(), {})
    assert all(p.chunk_days is None for p in parts)  # 0: whole


def test_the_feed_latency_sample_holds_no_chunk_alive(monkeypatch):
    """The receive-delay sample of a chunked run keeps at most about LATENCY_SAMPLE values, as arrays of
    their own: a strided view would keep each chunk's whole delay array alive (30 days at 3 M trades a
    day grew the peak by 0.25 GiB), and its median / p99 are those of every k-th event of the run."""
    import numpy as np

    from liqcore.backtest import chunked as C
    from liqcore.types import make_events

    monkeypatch.setattr(C, "LATENCY_SAMPLE", 1_000)
    d = C._Delays()
    every = []
    for k in range(40):
        ts = np.arange(k * 5_000, (k + 1) * 5_000, dtype=np.int64) * 1_000_000
        lag = (np.arange(5_000, dtype=np.int64) * 7919 + k) % 100_000
        every.append(lag)
        d.add(make_events(ts_event=ts, ts_recv=ts + lag))
    held = sum((p.base if p.base is not None else p).nbytes for p in d.parts)
    assert d.n <= C.LATENCY_SAMPLE and held <= 8 * (C.LATENCY_SAMPLE + 5_000)  # not 40 chunks' arrays
    allv = np.concatenate(every)
    assert np.array_equal(np.concatenate(d.parts), allv[::d.stride]) and d.stride > 1
    assert f"every {d.stride}th event" in d.note(0)

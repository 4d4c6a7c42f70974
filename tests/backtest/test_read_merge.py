"""A read of several files merged by one compiled pass (liqcore.dataset.rows.MERGE) and each read sorted by
receive time where it is read (liqcore.backtest.stream.RECV_SORT): the events and the backtest of the numpy
passes, byte for byte, on a synthetic dataset of two venues and on the real recordings (many symbols), in one
process and with reading processes."""
from __future__ import annotations

import numpy as np
import pytest

from liqcore.backtest import stream
from liqcore.dataset import rows


@pytest.fixture(scope="module")
def two_venues(tmp_path_factory):
    from tests.backtest.test_backtest_chunked_scope import _dataset

    return _dataset(str(tmp_path_factory.mktemp("merge")))


def _load(path, merge: bool, monkeypatch, **kw):
    from liqcore.dataset import load_dataset

    monkeypatch.setattr(rows, "MERGE", merge)
    return load_dataset(path, check=False, **kw).events


def _chunked(path, monkeypatch, merge: bool, recv: bool, workers: int, days: float):
    from liqcore.backtest.run import backtest_chunked, resolve_strategy
    from liqcore.config import Params

    monkeypatch.setattr(rows, "MERGE", merge)
    monkeypatch.setattr(stream, "RECV_SORT", recv)
    strategy, params = resolve_strategy("cascade-mm", Params.from_mapping({"fill": "queue", "quantile": "0.9",
                                                                            "min-history": 5}))
    seen = []
    res = backtest_chunked(path, params, strategy, equity=10_000.0, chunk_days=days, on_chunk=seen.append,
                           workers=workers)
    return res, seen


def _same_result(a, b):
    assert a.ledger.tobytes() == b.ledger.tobytes()
    assert a.to_json() == b.to_json() and a.detector_counts == b.detector_counts and a.n_events == b.n_events


def test_several_files_merged_are_the_numpy_sort(two_venues, monkeypatch):
    want = _load(two_venues, False, monkeypatch)
    got = _load(two_venues, True, monkeypatch)
    assert len(want) > 10_000 and got.tobytes() == want.tobytes()
    t = np.sort(want["ts_event"])
    lo, hi = int(t[len(t) // 3]), int(t[2 * len(t) // 3])
    assert _load(two_venues, True, monkeypatch, start_ns=lo, end_ns=hi).tobytes() == \
        _load(two_venues, False, monkeypatch, start_ns=lo, end_ns=hi).tobytes()


@pytest.mark.parametrize("workers", [1, 2])
def test_the_backtest_in_chunks_is_the_numpy_passes_one(two_venues, monkeypatch, workers):
    want, seen_w = _chunked(two_venues, monkeypatch, False, False, 1, 0.2)
    got, seen = _chunked(two_venues, monkeypatch, True, True, workers, 0.2)
    assert seen == seen_w and len(seen) >= 10
    _same_result(got, want)
    assert len(want.ledger) > 0


def test_a_read_without_receive_times_is_left_to_the_plan():
    """Rows recorded without a receive time (-1) are left as they are (the read's plan fills them, then sorts):
    a sort here would put them first; rows with one are sorted by it, stable."""
    from liqcore.types import EVENT_DTYPE

    ev = np.zeros(6, EVENT_DTYPE)
    ev["ts_event"] = [1, 2, 3, 4, 5, 6]
    ev["ts_recv"] = [5, 4, -1, 7, 7, 6]
    ev["price"] = np.arange(6)
    before = ev.tobytes()
    assert stream.recv_sorted(ev).tobytes() == before
    ev["ts_recv"][2] = 4
    got = stream.recv_sorted(ev)
    assert got["price"].tolist() == [1, 2, 0, 5, 3, 4]  # (4, 4, 5, 6, 7, 7: the equal ones in their order)


@pytest.mark.parametrize("folder", ["binance-forceorder-2024-08", "binance-forceorder-2025-12"])
def test_the_real_recordings_merged_and_sorted_where_read_are_the_numpy_passes(real_data, tmp_path, monkeypatch,
                                                                                folder):
    from liqcore.backtest.stream import NotStreamable
    from liqcore.dataset import convert_to_dataset

    ds = tmp_path / "ds"
    files = [real_data / folder / "binance.csv", real_data / folder / "binance_trades.csv"]
    convert_to_dataset([f for f in files if f.is_file()], ds, warn=lambda _m: None)
    want = _load(str(ds), False, monkeypatch)
    assert len(np.unique(want["symbol_id"])) > 5  # many files merged
    assert _load(str(ds), True, monkeypatch).tobytes() == want.tobytes()
    ran = 0
    for days, workers in ((0.2, 1), (1.0, 2)):
        try:
            w, seen_w = _chunked(str(ds), monkeypatch, False, False, 1, days)
        except NotStreamable:  # a recording's pause at a cut: refused either way
            with pytest.raises(NotStreamable):
                _chunked(str(ds), monkeypatch, True, True, workers, days)
            continue
        g, seen = _chunked(str(ds), monkeypatch, True, True, workers, days)
        assert seen == seen_w
        _same_result(g, w)
        ran += 1
    assert ran >= 1

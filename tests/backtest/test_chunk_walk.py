"""The walk of a chunked dataset backtest through the rooms, counted with cProfile: each chunk's data is
read from the dataset once, made into a chunk by one compiled pass, given to the detector once and its
records taken once (docs/maintainers/design.md, "How a chunk flows"; benches/trace_rooms.py prints the whole walk)."""
from __future__ import annotations

import cProfile
import pstats
from pathlib import Path

import pytest

from liqcore.backtest.run import backtest_chunked, resolve_strategy
from liqcore.config import Params

PKG = Path(__file__).resolve().parents[2] / "liqcore"


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    from liqcore.dataset import write_dataset
    from liqcore.synthetic.market import synthetic_market

    m = synthetic_market(days=4, symbols=("ETHUSDT",), seed=5, cache=False)
    out = tmp_path_factory.mktemp("walk") / "ds"
    write_dataset(m.events, out, m.registry, checked=True)
    return str(out)


def _calls(stats: pstats.Stats, module: str, function: str) -> int:
    """How many times ``function`` of ``liqcore/<module>.py`` was called in the profile."""
    path = str(PKG / f"{module}.py")
    return sum(nc for (fname, _line, fn), (_cc, nc, *_rest) in stats.stats.items()
               if fname == path and fn == function)


@pytest.mark.parametrize("chunk_days", [1.0, 0.5])
def test_each_chunk_walks_each_room_once(ds, chunk_days):
    strategy, params = resolve_strategy(None, Params())
    backtest_chunked(ds, params, strategy, chunk_days=chunk_days)  # warm: kernels compiled or loaded
    prof = cProfile.Profile()
    prof.enable()
    res = backtest_chunked(ds, params, strategy, chunk_days=chunk_days)
    prof.disable()
    stats = pstats.Stats(prof)
    chunks = _calls(stats, "backtest/stream", "__call__")  # _Fuse.__call__: the one compiled pass of a chunk
    assert chunks >= 4 / chunk_days, chunks  # 4 days of data, read chunk_days at a time
    reads = _calls(stats, "backtest/stream", "_read_range")
    assert chunks - 1 <= reads <= chunks + 1, (reads, chunks)  # one dataset read per chunk (the last may be empty)
    assert _calls(stats, "dataset/read", "load_dataset") == reads
    # the detector: once per chunk through the loop's runner, plus the end-of-input flush
    assert _calls(stats, "backtest/stream", "run") == chunks
    assert _calls(stats, "execution/detect", "confirmed_records") == chunks
    # the simulator's replay is set up once for the span, not per chunk
    assert _calls(stats, "execution/replay", "new_replay") <= 2
    assert res.summary()["trades"] >= 0

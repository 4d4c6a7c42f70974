"""The queue at depth read in time chunks: the depth books are kept across the chunks of a replay (as the
queue state is), so a market read and replayed in chunks of any length gives the rows of one pass over it
(the hand-made tardis-layout market of tests/depth_episodes.py: exactly the even episodes fill)."""
from __future__ import annotations

import pytest

from depth_episodes import write_market

from liqcore.backtest import stream as ST
from liqcore.config import Params
from liqcore.sweep import cells as S

pytestmark = pytest.mark.slow

MIN_NS = 60_000_000_000
DEPTH_PARAMS = {"fill": "queue", "offset": "0.5%", "min-history": "20", "refresh": "0"}


def _rows(files, chunk_ns, **extra):
    p = Params.from_mapping({**DEPTH_PARAMS, **extra})
    part = S.Partition(S.Source("files", paths=tuple(str(f) for f in files)), ())
    rows, _note = ST.evaluate_streamed(part, p, [p], [S.Window()], chunk_ns=chunk_ns, load=S.load_partition,
                                       row=S._sim_row)
    return rows


@pytest.mark.parametrize("model", ["risk-averse", "prob:2"])
def test_depth_in_chunks_equals_one_pass(tmp_path, model):
    files = write_market(tmp_path / "m", 6)
    whole = _rows(files, 1000 * 86_400 * 10**9, **{"queue-model": model})
    assert not whole[0].get("queue_fallback")  # depth without quotes is a book: the queue rule holds
    assert whole[0]["orders"] == 6 and whole[0]["fills"] == 3  # episodes 0, 2, 4: their prints pass the queue
    for chunk_min in (1, 7, 61, 180):
        assert _rows(files, chunk_min * MIN_NS, **{"queue-model": model}) == whole, chunk_min


def test_refill_behind_in_chunks_equals_one_pass(tmp_path):
    files = write_market(tmp_path / "m", 4, refill=True)
    whole = _rows(files, 1000 * 86_400 * 10**9)
    assert whole[0]["orders"] == 4 and whole[0]["fills"] == 4  # 2 ahead after the cancel, 5 printed
    for chunk_min in (1, 5, 31):
        assert _rows(files, chunk_min * MIN_NS) == whole, chunk_min

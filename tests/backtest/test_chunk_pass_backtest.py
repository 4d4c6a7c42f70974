"""The chunked backtest through the fused pass, on a dataset with its book, bad trade prices, non-finite
funding rates and events recorded without a receive time: under both fill rules and several chunk
lengths, the whole load's result (trades, counts, the dropped events, the data and feed-latency notes)."""
from __future__ import annotations

import numpy as np
import pytest

from liqcore.backtest.run import backtest, backtest_chunked, resolve_strategy
from liqcore.config import Params
from liqcore.types import Kind


@pytest.fixture(scope="module")
def dirty(tmp_path_factory) -> str:
    from liqcore.synthetic.market import synthetic_market
    from liqcore.dataset import write_dataset

    m = synthetic_market(days=2, symbols=("BTCUSDT",), seed=11, cache=False, effects={"book": True})
    ev = m.events.copy()
    rng = np.random.default_rng(4)
    u = rng.random(len(ev))
    bad = (ev["kind"] == int(Kind.TRADE)) & (u < 0.01)
    ev["price"][bad] = rng.choice([np.nan, 0.0, -1.0, np.inf], int(bad.sum()))
    funding = ev["kind"] == int(Kind.FUNDING)
    ev["price"][np.flatnonzero(funding)[::3]] = np.nan
    ev["ts_recv"][rng.random(len(ev)) < 0.05] = -1  # recorded without a receive time
    out = tmp_path_factory.mktemp("dirty") / "ds"
    write_dataset(ev, out, m.registry, checked=True)
    return str(out)


@pytest.mark.parametrize("fill", ["through", "queue"])
def test_the_fused_chunks_give_the_whole_load_on_dirty_data(dirty, fill):
    p = Params.from_mapping({"fill": fill, "feed-latency": "7ms", "quantile": "0.9"})
    obj, p = resolve_strategy(None, p)
    whole = backtest([dirty], p, equity=10_000.0, chunk_days=0)
    assert whole.dropped.get("bad_funding_rate", 0) > 0  # (the dataset reader drops the bad trade prices itself)
    assert "7 ms (feed-latency)" in whole.latency["feed"] and len(whole.ledger) > 0
    for days in (0.04, 0.3, 1.5):
        got = backtest_chunked(dirty, p, obj, equity=10_000.0, chunk_days=days)
        assert got.to_json() == whole.to_json()
        assert got.dropped == whole.dropped and got.latency == whole.latency
        assert got.n_prints == whole.n_prints and got.detector_counts == whole.detector_counts
        assert np.array_equal(got.ledger, whole.ledger)

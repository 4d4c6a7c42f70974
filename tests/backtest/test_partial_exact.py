"""The default read is exact with ``--fill queue --partial on``: an open position whose partially filled entry
still rests is not passed over where a print reaches the entry's price (the rest fills there), so the window-local
read gives the full replay's trades, ledger (fills and the share filled), records, summary and counts, on top of
book (``benches/bench_density.py``'s generator with its quotes) and at depth (``benches/bench_depth_backtest.py``'s
day), over random strategy parameters."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liqcore.config import Params
from tests.backtest.test_first_passage import _same_result

ROOT = Path(__file__).resolve().parents[2]
_DS: dict = {}


def _tob(tmp_path_factory) -> str:
    """Two days of one symbol at 200,000 trades and 400,000 top-of-book updates a day (the density bench's random
    walk on a 0.1 grid, its cascades), written in row groups of 5,000 rows."""
    if "tob" not in _DS:
        sys.path.insert(0, str(ROOT / "benches"))
        from bench_density import day_events, day_tables

        import liqcore.dataset.read as iod
        from liqcore.dataset import write_dataset
        from liqcore.types import SymbolRegistry

        reg = SymbolRegistry()
        days = [day_events(day_tables("BTCUSDT", d, 200_000, 1500, 30, 7, 400_000), reg) for d in range(2)]
        out = tmp_path_factory.mktemp("partial-tob") / "ds"
        keep, iod.ROW_GROUP_ROWS = iod.ROW_GROUP_ROWS, 5_000
        try:
            write_dataset(np.concatenate([d[0] for d in days]), str(out), reg,
                          trade_ids=np.concatenate([d[1] for d in days]), checked=True)
        finally:
            iod.ROW_GROUP_ROWS = keep
        _DS["tob"] = str(out)
    return _DS["tob"]


def _depth(tmp_path_factory) -> str:
    if "depth" not in _DS:
        sys.path.insert(0, str(ROOT / "benches"))
        from bench_depth_backtest import build

        base = tmp_path_factory.mktemp("partial-depth")
        build(base, depth=100_000, rate=60_000, quotes=120_000, seed=11)
        _DS["depth"] = str(base / "depth")
    return _DS["depth"]


def _both(path, m: dict, equity: float):
    from liqcore.backtest.run import backtest_chunked, backtest_windows, resolve_strategy

    obj, p = resolve_strategy(None, Params.from_mapping({"fill": "queue", "partial": "on", **m}))
    return (backtest_windows(path, p, obj, equity=equity), backtest_chunked(path, p, obj, equity=equity))


def test_a_resting_rest_is_not_passed_over(tmp_path_factory):
    """A set the first passage judged by the stop and take-profit alone (a rest filled later by the default read
    than by the full replay, or not at all): now the same ledger, and some of its entries took several fills."""
    m = {"offset": "0.1%", "take-profit": "1%", "stop-loss": "0.5%", "hold-timeout": "5m", "entry-timeout": "1h",
         "queue-model": "risk-averse", "daily-loss": "0", "weekly-loss": "0", "notional": "90000"}
    fast, full = _both(_tob(tmp_path_factory), m, 1e6)
    assert fast.read["path"] == "windows"
    assert (full.ledger["fills"] > 1).any()
    _same_result(fast, full)


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["tob", "depth"])
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(offset=st.sampled_from(["0.02%", "0.05%", "0.1%", "0.3%"]), tp=st.sampled_from(["0.03%", "0.1%", "0.3%", "1%"]),
       sl=st.sampled_from(["0.1%", "0.5%", "2%"]), hold=st.sampled_from(["5m", "4h"]),
       entry=st.sampled_from(["10s", "10m", "1h"]), model=st.sampled_from(["risk-averse", "prob:2"]),
       notional=st.sampled_from(["9000", "90000", "900000"]), daily=st.sampled_from(["0", "0.3%"]))
def test_the_default_read_equals_the_full_replay_with_partial_fills(tmp_path_factory, shape, offset, tp, sl, hold,
                                                                     entry, model, notional, daily):
    path = _tob(tmp_path_factory) if shape == "tob" else _depth(tmp_path_factory)
    m = {"offset": offset, "take-profit": tp, "stop-loss": sl, "hold-timeout": hold, "entry-timeout": entry,
         "queue-model": model, "notional": notional, "daily-loss": daily, "weekly-loss": daily}
    fast, full = _both(path, m, 1e6)
    assert fast.read["path"] == "windows"
    _same_result(fast, full)


@pytest.mark.parametrize("side", [1, -1])
@settings(max_examples=200, deadline=None)
@given(entry=st.floats(1.0, 1e5), grid=st.sampled_from([0.0, 1.0, 10.0, 100.0]), frac=st.floats(-0.01, 0.01))
def test_the_rest_bound_is_quiet_only_past_the_entry_tick(side, entry, grid, frac):
    """A price past :func:`~liqcore.backtest.passage.rest_level` (above it for a long, below for a short) is on a
    tick strictly past the entry's, as the simulator compares them: a print there fills none of the rest."""
    from liqcore.backtest.passage import rest_level
    from liqcore.backtest.row_groups import on_grid

    stop = entry * (1 - side * 0.05)
    lvl = rest_level(stop, entry, side, grid)
    px = np.nextafter(lvl, np.inf if side > 0 else -np.inf) * (1 + abs(frac) * side)
    kp, ke = on_grid(px, grid), on_grid(entry, grid)
    assert (kp > ke) if side > 0 else (kp < ke)

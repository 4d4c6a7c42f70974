"""A partition read and replayed in time chunks (``chunk_days``) gives the whole-partition rows, cell by
cell: synthetic market, a dataset, several windows, strategies that cannot be chunked fall back."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from liqcore.backtest import stream as ST
from liqcore.sweep import grid as SG, runners as SR, store as SS, cells as S
from liqcore.config import Params

DAY = S.NS_PER_DAY
SRC = S.Source("synthetic", days=3, seed=11)
GRID = SG.validate_grid({"offset": ["0.05%", "0.2%"], "take-profit": ["0.3%", "1%"], "stop-loss": ["0.5%"],
                        "hold-timeout": ["30m", "4h"], "entry-timeout": ["90s"],
                        "daily-loss": ["0.5%"], "quantile": ["0.9", "0.95"]})


def _table(parts, windows, grid=GRID, whole_ok=False, **kw):
    det, _ = SG.split_grid(grid)
    n0 = sum(S._WHOLE.values())
    df, stats = SS.run_cells(SG.expand_cells(grid), parts, windows, Params(), det, runner=SR.LocalRunner(1),
                            with_daily=True, **kw)
    assert whole_ok or sum(S._WHOLE.values()) == n0, S._WHOLE  # every chunked task ran in chunks
    return df.drop(columns=["cell"]).sort_values(list(grid) + ["partition", "range"]).reset_index(drop=True), stats


def _windows(start):
    return [S.Window(), S.Window(start + DAY // 3, start + 2 * DAY + 7_000_000_000, "mid"),
            S.Window(start + DAY, None, "late")]


def _same(a, b):
    assert len(a) == len(b) and len(a) > 0
    assert int(a["trades"].sum()) > 0  # something happened
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_chunked_synthetic_sweep_equals_whole_cell_by_cell():
    from liqcore.synthetic.market import DEFAULT_START_NS

    whole = [S.Partition(SRC, ("BTCUSDT",)), S.Partition(SRC, ("ETHUSDT", "SOLUSDT"))]
    chunked = [dataclasses.replace(p, chunk_days=0.1) for p in whole]  # 30 chunks, every boundary crossed
    a, _ = _table(whole, _windows(DEFAULT_START_NS))
    b, st = _table(chunked, _windows(DEFAULT_START_NS))
    _same(a, b)
    assert st["partition_loads"] == 2 * 2  # one chunked pass per (partition, detector configuration)
    assert st["chunked_tasks"] == 4 and st["chunked_ran_whole"] == {}


def test_chunked_pass_hands_records_across_chunks(monkeypatch):
    """The chunks really are chunks: no chunk holds more than its share (the generator itself runs in
    parts of 5,000 rows), and records confirmed in one chunk enter the simulator in a later one, still
    giving the whole run's rows."""
    from liqcore.synthetic import chunks as SC
    from liqcore.synthetic.market import DEFAULT_START_NS

    monkeypatch.setattr(SC, "ROW_BLOCK", 5000)
    monkeypatch.setattr(SC, "U_BLOCK", 7000)

    sizes = []
    real = ST.fused_chunks

    def spy(part, chunk_ns, load=None, **kw):
        for ch, reg in real(part, chunk_ns, load, **kw):
            sizes.append(len(ch.events))
            yield ch, reg

    monkeypatch.setattr(ST, "fused_chunks", spy)
    part = S.Partition(SRC, ("BTCUSDT",))
    a, _ = _table([part], _windows(DEFAULT_START_NS))
    b, _ = _table([dataclasses.replace(part, chunk_days=0.05)], _windows(DEFAULT_START_NS))
    _same(a, b)
    assert len(sizes) >= 50 and max(sizes) < sum(sizes) / 20


def test_chunked_dataset_partition_reads_ranges_and_equals_whole(tmp_path, monkeypatch):
    from liqcore.synthetic.market import synthetic_market
    from liqcore.dataset import write_dataset
    from liqcore.dataset import read as D

    m = synthetic_market(days=3, symbols=("BTCUSDT",), seed=11, cache=False)
    out = tmp_path / "ds"
    write_dataset(m.events, out, m.registry)
    src = S.Source("dataset", path=str(out))
    calls = []
    real = D.load_dataset

    def spy(*a, **kw):
        if kw.get("kinds") is None:  # (the default read's detection pass, which refuses these unchecked files,
            calls.append((kw.get("start_ns"), kw.get("end_ns")))  # reads the liquidations' kinds first)
        return real(*a, **kw)

    part = S.Partition(src, ("BTCUSDT",))
    a, _ = _table([part], _windows(int(m.events["ts_recv"].min())))
    monkeypatch.setattr(D, "load_dataset", spy)
    b, _ = _table([dataclasses.replace(part, chunk_days=0.25)], _windows(int(m.events["ts_recv"].min())))
    _same(a, b)
    assert len(calls) >= 12 and all(s is not None and e - s <= DAY // 4 for s, e in calls)


def test_strategy_without_a_chunked_path_runs_whole_with_the_same_rows():
    grid = SG.validate_grid({"strategy": ["liq-trend"], "quantile": ["0.9"]})
    part = S.Partition(SRC, ("BTCUSDT",))
    a, _ = _table([part], [S.Window()], grid=grid)
    n0 = sum(S._WHOLE.values())
    b, st = _table([dataclasses.replace(part, chunk_days=0.25)], [S.Window()], grid=grid, whole_ok=True)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert st["chunked_tasks"] == 0 and list(st["chunked_ran_whole"].values()) == [1]
    from liqcore.sweep.schedule import describe

    assert "1 task(s) ran on the whole partition instead of in chunks: strategy liq-trend" in describe(st)
    assert sum(S._WHOLE.values()) == n0 + 1 and any("liq-trend" in k for k in S._WHOLE)


def test_gap_longer_than_max_time_jump_at_a_boundary_is_not_chunked():
    """Events a day and more apart at a chunk boundary: the detector's stray-time test would see other
    neighbours, so the partition runs whole (same rows)."""
    from liqcore.types import EVENT_DTYPE

    ev = np.zeros(6, dtype=EVENT_DTYPE)
    t0 = 1_700_000_000_000_000_000
    ev["ts_event"] = [t0, t0 + 1, t0 + 2, t0 + 3 * DAY, t0 + 3 * DAY + 1, t0 + 3 * DAY + 2]
    ev["ts_recv"] = ev["ts_event"]
    ev["kind"], ev["price"], ev["qty"], ev["side"] = 2, 100.0, 1.0, 1
    from liqcore.types import SymbolRegistry

    class P:  # a partition of recording files: loaded whole (by ``load``), then cut
        source = S.Source("files")

    with pytest.raises(ST.NotStreamable, match="max-time-jump"):
        ST.evaluate_streamed(P(), Params(), [Params()], [S.Window()], chunk_ns=DAY,
                             load=lambda part: (ev, SymbolRegistry([("bybit", "XUSDT")])), row=S._sim_row)


def test_cli_walkforward_chunk_days_equals_whole(tmp_path, capsys):
    import json

    from liqcore.cli import main

    reps = []
    for extra in ([], ["--chunk-days", "0.3"]):
        rc = main(["walkforward", "--synthetic", "--days", "4", "--seed", "11", "--symbols", "ETHUSDT",
                   "--grid", "offset=0.1%,0.3%", "--grid", "quantile=0.9,0.95", "--folds", "2", "--train", "2d",
                   "--test", "1d", "--workers", "1", "--json"] + extra)
        assert rc == 0
        said = capsys.readouterr()
        reps.append(json.loads(said.out))
    a, b = reps
    assert a["folds"] == b["folds"] and a["overall"] == b["overall"]
    assert b["stats"]["chunked_tasks"] > 0 and not b["stats"]["chunked_ran_whole"]

"""A sweep cell is its lone backtest whichever way its partition is read: over two symbols together (``--by all``:
the partition read whole) and cut into days (``--partition-days``), a cell spans what ``liqcore backtest DS`` of
its configuration spans (a row received after the last day's midnight counts in both: ``days``, Sharpe, exposure
the same to the last bit); and a grid parameter is checked beside the sweep's own parameters (``--fill queue
--grid partial=on,off`` runs, each cell its lone backtest; a cell no backtest could run is refused by name)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
_DS: dict = {}
#: the sweep's metric columns and the lone backtest summary's keys for them
KEYS = {"trades": "trades", "win_rate": "win_rate", "avg_return": "avg_return", "total_return": "total_return",
        "sharpe": "sharpe", "max_drawdown": "max_drawdown", "fills": "fills", "orders": "orders", "days": "days",
        "n_take_profit": "take_profit", "n_stop_loss": "stop_loss", "n_timeout": "timeout", "exposure": "exposure",
        "fill_model": "fill_model", "range_start_ns": "start_ns", "range_end_ns": "end_ns"}


def _two_symbols(tmp_path_factory) -> str:
    """Two UTC days of BTCUSDT and ETHUSDT (the density bench's generator, 60,000 trades a day each), the last
    trade received 14 ms after the second day's midnight."""
    if "two" not in _DS:
        sys.path.insert(0, str(ROOT / "benches"))
        from bench_density import DAY_US, T0_US, day_events, day_tables

        from liqcore.dataset import write_dataset
        from liqcore.types import Kind, SymbolRegistry

        reg = SymbolRegistry()
        parts = [day_events(day_tables(s, d, 60_000, 1500, 30, 7), reg) for s in ("BTCUSDT", "ETHUSDT")
                 for d in range(2)]
        ev, tid = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        o = np.argsort(ev["ts_event"], kind="stable")
        ev, tid = ev[o], tid[o]
        last = np.flatnonzero(ev["kind"] == int(Kind.TRADE))[-1]
        ev["ts_recv"][last] = (T0_US + 2 * DAY_US) * 1000 + 14_000_000
        out = tmp_path_factory.mktemp("two") / "ds"
        write_dataset(ev, str(out), reg, trade_ids=tid, checked=True)
        _DS["two"] = str(out)
    return _DS["two"]


def _sweep(capsys, tmp_path, path, *args):
    import pandas as pd

    from liqcore.cli import main

    out = tmp_path / "t.parquet"
    capsys.readouterr()
    assert main(["sweep", path, *args, "--workers", "1", "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    return pd.read_parquet(out)


def _lone(capsys, path, *args) -> dict:
    from liqcore.cli import main

    capsys.readouterr()
    assert main(["backtest", path, "--equity", "10000", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)["summary"]


def _same(row, s, what) -> None:
    for col, key in KEYS.items():
        a, b = row[col], s.get(key)
        assert (a == b) or (a != a and b is None), (what, col, a, b)


def test_cells_over_all_symbols_span_what_their_lone_backtests_span(tmp_path_factory, tmp_path, capsys):
    path = _two_symbols(tmp_path_factory)
    table = _sweep(capsys, tmp_path, path, "--grid", "min-large=3", "--grid", "take-profit=0.904%,0.3%",
                   "--by", "all")
    assert len(table) == 2 and int(table["trades"].sum()) > 0
    for _, row in table.iterrows():
        s = _lone(capsys, path, "--min-large", "3", "--take-profit", row["take-profit"])
        assert s["days"] == 3  # (the row received after midnight: a third UTC day, in both)
        _same(row, s, row["take-profit"])


def test_cells_of_day_partitions_are_their_days_lone_backtests(tmp_path_factory, tmp_path, capsys):
    """``--partition-days 1 --warmup 0s``: the first day's cell is ``--start D1 --end D2``, the last day's
    ``--start D2`` (its end open, as the sweep's span is the selection's days)."""
    path = _two_symbols(tmp_path_factory)
    table = _sweep(capsys, tmp_path, path, "--grid", "min-large=3", "--by", "all", "--partition-days", "1",
                   "--warmup", "0s")
    assert len(table) == 2
    spans = {"2024-08-01": ("--start", "2024-08-01", "--end", "2024-08-02"), "2024-08-02": ("--start", "2024-08-02")}
    for _, row in table.iterrows():
        day = row["partition"].rsplit("@", 1)[1]
        _same(row, _lone(capsys, path, "--min-large", "3", *spans[day]), day)


def test_partial_is_a_grid_parameter_under_the_queue_rule(tmp_path_factory, tmp_path, capsys):
    from tests.backtest.test_partial_exact import _tob

    path = _tob(tmp_path_factory)
    conf = ["--fill", "queue", "--offset", "0.1%", "--notional", "900000", "--daily-loss", "0", "--weekly-loss", "0"]
    table = _sweep(capsys, tmp_path, path, *conf, "--grid", "partial=on,off", "--equity", "1000000")
    assert sorted(table["partial"]) == ["off", "on"]
    for _, row in table.iterrows():
        s = _lone(capsys, path, *conf, "--partial", row["partial"], "--equity", "1000000")
        _same(row, s, row["partial"])
    from liqcore.cli import main

    capsys.readouterr()
    assert main(["sweep", path, "--grid", "fill=queue,through", "--grid", "partial=on,off", "--out",
                 str(tmp_path / "u.parquet")]) == 2
    err = capsys.readouterr().err
    assert "grid: the cell fill=through, partial=on: partial: --partial on needs --fill queue" in err, err


@pytest.mark.parametrize("grid", [["partial=on"], ["offset=abc", "fill=queue"]])
def test_a_value_no_cell_can_run_is_refused(tmp_path, capsys, grid):
    from liqcore.cli import main

    args = [a for g in grid for a in ("--grid", g)]
    capsys.readouterr()
    assert main(["sweep", "--synthetic", "--days", "1", *args, "--out", str(tmp_path / "t.parquet")]) == 2
    assert "grid: " in capsys.readouterr().err

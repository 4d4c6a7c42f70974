"""Sweeps over detector x execution parameters x partitions x windows: equal to single backtests,
one detection per detector configuration and partition, resumable, identical on a process pool and
on a dask cluster; bad input fails before any work."""
import json
import re
import socket

import numpy as np
import pandas as pd
import pytest

from liqcore.sweep import grid as SG, runners as SR, store as SS, cells as S
from liqcore.backtest.run import backtest, simulate
from liqcore.cli import main
from liqcore.config import Params

SRC = S.Source("synthetic", days=2, seed=11)
PARTS = [S.Partition(SRC, ("ETHUSDT",)), S.Partition(SRC, ("SOLUSDT",))]
GRID = {"quantile": [0.9, 0.95], "offset": ["0.1%", "0.3%"], "take-profit": ["0.15%", "0.5%"]}
METRIC_COLS = ["trades", "win_rate", "avg_return", "total_return", "sharpe", "max_drawdown", "fills"]


def _run(**kw):
    grid = SG.validate_grid(GRID)
    det, _ = SG.split_grid(grid)
    cells = SG.expand_cells(grid)
    return SS.run_cells(cells, PARTS, [S.Window(None, None, "all")], Params(), det, **kw)


def test_grid_validation_and_split():
    grid = SG.validate_grid({"quantile": [0.9], "min_large": [2, 3], "offset": ["0.1%"]})
    assert list(grid) == ["quantile", "min-large", "offset"]
    assert SG.split_grid(grid) == (["quantile", "min-large"], ["offset"])
    with pytest.raises(ValueError, match="unknown parameter 'bogus'"):
        SG.validate_grid({"bogus": [1]})
    with pytest.raises(ValueError, match="empty"):
        SG.validate_grid({})
    with pytest.raises(ValueError, match="no values"):
        SG.validate_grid({"offset": []})
    with pytest.raises(ValueError, match="quantile"):
        SG.validate_grid({"quantile": [2.0]})
    # a value twice is one line (it made two rows of one cell, and counted twice as trials)
    with pytest.raises(ValueError, match=r"^grid: 'offset' gives '0.1%' twice$"):
        SG.validate_grid({"offset": ["0.1%", "0.2%", "0.1%"]})
    # a grid of millions of cells is refused before it is built, unless drawn from (--samples)
    pct = [f"{k / 100}%" for k in range(1, 11)]
    big = SG.validate_grid({"offset": pct, "take-profit": pct, "stop-loss": pct, "trail": pct,
                            "cooldown": [f"{k}s" for k in range(1, 11)], "entry-timeout": [f"{k}m" for k in range(1, 11)],
                            "hold-timeout": ["1m", "2m"]})
    with pytest.raises(ValueError, match=r"^grid: 2,000,000 cells \(10 x 10 x 10 x 10 x 10 x 10 x 2\) is more than "
                                         r"1,000,000; draw some of them with --samples N$"):
        SG.expand_cells(big)
    assert len(SG.expand_cells(big, samples=5)) == 5


def test_random_search_is_a_seeded_subset():
    grid = SG.validate_grid({"offset": ["0.1%", "0.2%", "0.3%"], "take-profit": ["0.1%", "0.2%"],
                            "quantile": [0.9, 0.95, 0.99]})
    full = SG.expand_cells(grid)
    a = SG.expand_cells(grid, samples=5, seed=3)
    assert len(a) == 5 and len({json.dumps(c) for c in a}) == 5
    assert all(c in full for c in a)
    assert a == SG.expand_cells(grid, samples=5, seed=3)
    assert a != SG.expand_cells(grid, samples=5, seed=4)
    assert SG.expand_cells(grid, samples=100) == full


def test_rows_equal_single_backtests_and_one_detection_per_config(monkeypatch):
    calls = []
    real = S.detect_partition
    monkeypatch.setattr(S, "detect_partition", lambda prep, det: calls.append(det.quantile) or real(prep, det))
    S._CACHE.clear()
    table, stats = _run(chunk=2)
    assert len(table) == 16 and stats["ran"] == 8  # 4 execution cells per task of 2
    assert sorted(calls) == [0.9, 0.9, 0.95, 0.95]  # 2 detector configurations x 2 partitions
    for part in PARTS:
        ev, reg = S.load_partition(part)
        for _, row in table[table["partition"] == part.label].iterrows():
            p = Params.from_mapping({k: row[k] for k in GRID})
            single = backtest(ev, p, registry=reg).summary()
            for c in ("trades", "fills", "total_return", "sharpe", "max_drawdown", "win_rate"):
                assert row[c] == single[c] or (row[c] is None and single[c] is None) or \
                    (pd.isna(row[c]) and single[c] is None), c
    assert table["total_return"].nunique() > 4


def test_window_equals_simulate_on_the_slice():
    ev, reg = S.load_partition(PARTS[0])
    prep = S.Prepared(ev, reg)
    p = Params()
    rec = S.detect_partition(prep, p)
    t0 = int(prep.ts[0])
    w = S.Window(t0 + 12 * 3600 * 10**9, t0 + 36 * 3600 * 10**9, "w")
    row = S.evaluate_cells(prep, p, rec, [p], [w])[0]
    i0, i1 = prep.cut(w)
    m = (rec["confirm_recv_ns"] >= w.start_ns) & (rec["confirm_recv_ns"] < w.end_ns)
    r = rec[m].copy()
    r["event_index"] -= i0
    ref = simulate(prep.events[i0:i1], r, reg, p).summary()
    for c in ("trades", "fills", "total_return", "sharpe", "max_drawdown", "cascades"):
        assert row[c] == ref[c], c
    assert m.sum() >= 1


def test_resume_after_interrupt_skips_finished_cells(tmp_path):
    out = tmp_path / "s.parquet"
    full, _ = _run()

    def hook(n):
        if n == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _run(out=out, chunk=1, on_task=hook)
    parts = list((tmp_path / "s.parquet.parts").glob("*.parquet"))
    assert len(parts) == 3 and not out.exists()
    again, stats = _run(out=out, chunk=1)
    assert stats["cached"] == 3 and stats["ran"] == 13
    assert out.exists() and not (tmp_path / "s.parquet.parts").exists()
    assert again[METRIC_COLS].equals(full[METRIC_COLS])
    third, stats = _run(out=out, chunk=1)
    assert stats["ran"] == 0 and stats["cached"] == 16
    assert third[METRIC_COLS].equals(full[METRIC_COLS])


def test_process_pool_equals_in_process():
    a, _ = _run()
    with SR.LocalRunner(2) as r:
        b, _ = _run(runner=r, chunk=2)
    assert list(a["cell"]) == list(b["cell"])
    assert a[METRIC_COLS].equals(b[METRIC_COLS])


@pytest.mark.slow
def test_dask_cluster_equals_in_process():
    distributed = pytest.importorskip("distributed")
    a, _ = _run()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        b, _ = _run(runner=SR.DaskRunner(cluster.scheduler_address, timeout=10), chunk=2)
    assert list(a["cell"]) == list(b["cell"])
    assert a[METRIC_COLS].equals(b[METRIC_COLS])


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(args, capsys):
    rc = main(args)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_cli_unreachable_scheduler_fails_fast(capsys):
    from _procs import Stopwatch

    watch = Stopwatch()  # (less the time this process waited for a CPU that others held: a bound at any load)
    rc, _, err = _cli(["sweep", "--synthetic", "--days", "1", "--grid", "offset=0.1%,0.2%",
                       "--scheduler", f"tcp://127.0.0.1:{_free_port()}", "--dask-timeout", "1"], capsys)
    assert rc == 2 and watch.stop().unloaded < 8, watch
    assert "cannot reach the scheduler" in err and err.count("\n") == 1


@pytest.mark.parametrize("args,msg", [
    (["--grid", "bogus=1,2"], "unknown parameter 'bogus'"),
    (["--grid", "offset="], "no values"),
    (["--grid", "quantile=0.9", "--grid", "quantile=0.95"], "twice"),
    (["--grid", "offset=0.1%", "--symbols", "ETHUSDT", "--start", "2020-01-01", "--end", "2020-01-02"],
     "outside"),
    (["--grid", "offset=0.1%", "--metric", "nope", "--plot", "x.png"], "metric"),
])
def test_cli_sweep_bad_input(capsys, args, msg):
    rc, _, err = _cli(["sweep", "--synthetic", "--days", "1", "--no-progress"] + args, capsys)
    assert rc == 2 and msg in err and err.count("\n") == 1


def test_cli_grid_file_errors(tmp_path, capsys):
    empty = tmp_path / "empty.toml"
    empty.write_text("[grid]\n")
    rc, _, err = _cli(["sweep", "--synthetic", "--days", "1", "--grid", str(empty)], capsys)
    assert rc == 2 and "empty" in err
    bad = tmp_path / "bad.toml"
    bad.write_text("[grid]\nquantile = [0.9]\nwindoww = ['30s']\n")
    rc, _, err = _cli(["sweep", "--synthetic", "--days", "1", "--grid", str(bad)], capsys)
    assert rc == 2 and "windoww" in err


def test_cli_sweep_grid_file_parquet_heatmap(tmp_path, capsys):
    g = tmp_path / "grid.toml"
    g.write_text('[grid]\nquantile = [0.9, 0.95]\noffset = ["0.1%", "0.3%"]\ntake_profit = ["0.15%", "0.5%"]\n'
                 '[sweep]\nsamples = 6\nseed = 2\nsymbols = ["ETHUSDT", "SOLUSDT"]\n')
    out, png = tmp_path / "s.parquet", tmp_path / "h.png"
    rc, stdout, _ = _cli(["sweep", "--synthetic", "--days", "2", "--seed", "11", "--grid", str(g), "--workers", "1",
                          "--out", str(out), "--plot", str(png), "--heatmap", "offset,quantile", "--json",
                          "--split-days", "1"], capsys)
    assert rc == 0
    rows = json.loads(stdout)
    assert len(rows) == 6 * 2 * 2  # samples x symbols x day ranges
    t = pd.read_parquet(out)
    assert len(t) == 24 and {"quantile", "offset", "take-profit", "partition", "range", "sharpe",
                             "total_return", "max_drawdown", "win_rate", "avg_return", "trades"} <= set(t.columns)
    assert t["range"].nunique() == 2 and set(t["partition"]) == {"ETHUSDT", "SOLUSDT"}
    shs = [r["total_return"] for r in rows]
    assert shs == sorted(shs, reverse=True)
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_cli_detector_window_parameter_and_date_ranges_are_separate_columns(capsys):
    rc, stdout, _ = _cli(["sweep", "--synthetic", "--days", "2", "--seed", "11", "--symbols", "ETHUSDT",
                          "--grid", "window=30s,60s", "--grid", "offset=0.1%", "--split-days", "1", "--workers", "1",
                          "--json", "--no-progress"], capsys)
    assert rc == 0
    rows = json.loads(stdout)
    assert len(rows) == 4
    assert {r["window"] for r in rows} == {"30s", "60s"}  # the detector parameter
    assert {r["range"] for r in rows} == {"2026-01-05", "2026-01-06"}  # the date ranges
    # the detector window changes the cascades
    by = {(r["window"], r["range"]): r["cascades"] for r in rows}
    assert by[("30s", "2026-01-05")] != by[("60s", "2026-01-05")] or by[("30s", "2026-01-06")] != by[("60s", "2026-01-06")]


def _stored(parts):
    """The finished parts of a sweep (a part being written is a hidden temporary file beside them)."""
    return [f for f in parts.glob("*.parquet") if not f.name.startswith(".")]


@pytest.mark.slow
def test_cli_sweep_interrupted_by_sigint_resumes(tmp_path):
    """A real run stopped by Ctrl-C (SIGINT) midway: the finished tasks stay stored, the rerun runs only
    the rest, and the table equals an uninterrupted run."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    # 20 x 25 x 2 cells on 2 partitions: 8 tasks of 250 cells with one worker (the sweep's own split), so
    # at least 6 remain when the second is stored
    offs = ",".join(f"{0.04 * i:.2f}%" for i in range(1, 21))
    tps = ",".join(f"{0.05 * i:.2f}%" for i in range(1, 26))
    base = [sys.executable, "-m", "liqcore", "sweep", "--synthetic", "--days", "2", "--seed", "11",
            "--symbols", "ETHUSDT,SOLUSDT", "--grid", f"offset={offs}", "--grid", f"take-profit={tps}",
            "--grid", "quantile=0.9,0.95", "--workers", "1", "--no-progress"]
    out = tmp_path / "s.parquet"
    env = dict(os.environ, PYTHONPATH=str(root))
    proc = subprocess.Popen(base + ["--out", str(out)], cwd=root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    parts = tmp_path / "s.parquet.parts"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if parts.is_dir() and len(_stored(parts)) >= 2:
            break
        time.sleep(0.02)
    if proc.poll() is not None:
        pytest.fail("the sweep finished before it could be interrupted; make the grid larger")
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 130
    stored = len(_stored(parts))
    assert stored >= 2 and not out.exists()
    again = subprocess.run(base + ["--out", str(out)], cwd=root, env=env, capture_output=True, timeout=300,
                           text=True)
    assert again.returncode == 0, again.stderr
    import re

    m = re.search(r"(\d+) cells run, (\d+) already stored", again.stdout)
    assert m and int(m.group(2)) > 0 and int(m.group(1)) + int(m.group(2)) == 2000
    rows = pd.read_parquet(out).to_dict("records")
    fresh = subprocess.run(base + ["--json"], cwd=root, env=env, capture_output=True, timeout=300)
    want = json.loads(fresh.stdout)
    assert len(rows) == len(want) == 20 * 25 * 2 * 2
    key = lambda r: (r["partition"], r["quantile"], r["offset"], r["take-profit"])  # noqa: E731
    assert sorted((key(r), r["total_return"], r["trades"]) for r in rows) == \
        sorted((key(r), r["total_return"], r["trades"]) for r in want)
    assert not parts.exists()


def test_cli_sweep_row_equals_cli_backtest(capsys):
    rc, stdout, _ = _cli(["sweep", "--synthetic", "--days", "2", "--seed", "11", "--symbols", "SOLUSDT",
                          "--grid", "offset=0.2%,0.3%", "--grid", "quantile=0.9", "--workers", "1", "--json",
                          "--no-progress"], capsys)
    assert rc == 0
    row = next(r for r in json.loads(stdout) if r["offset"] == "0.3%")
    rc, stdout, _ = _cli(["backtest", "--synthetic", "--days", "2", "--seed", "11", "--symbols", "SOLUSDT",
                          "--offset", "0.3%", "--quantile", "0.9", "--json", "--no-progress"], capsys)
    s = json.loads(stdout)["summary"]
    for k in ("trades", "total_return", "sharpe", "max_drawdown", "cascades", "fills", "win_rate"):
        assert row[k] == s[k], k


def test_cli_by_all_is_the_portfolio_backtest(capsys):
    args = ["--synthetic", "--days", "2", "--seed", "11", "--symbols", "ETHUSDT,SOLUSDT", "--no-progress", "--json"]
    rc, stdout, _ = _cli(["sweep", *args, "--grid", "take-profit=0.3%,0.5%", "--by", "all", "--workers", "1"], capsys)
    assert rc == 0
    rows = json.loads(stdout)
    assert len(rows) == 2 and {r["partition"] for r in rows} == {"ETHUSDT,SOLUSDT"}
    row = next(r for r in rows if r["take-profit"] == "0.5%")
    rc, stdout, _ = _cli(["backtest", *args, "--take-profit", "0.5%"], capsys)
    s = json.loads(stdout)["summary"]
    for k in ("trades", "total_return", "sharpe", "max_drawdown", "cascades"):
        assert row[k] == s[k], k


@pytest.mark.slow
def test_cli_dask_local_equals_in_process(capsys):
    pytest.importorskip("distributed")
    args = ["sweep", "--synthetic", "--days", "2", "--seed", "11", "--symbols", "ETHUSDT,SOLUSDT",
            "--grid", "offset=0.1%,0.3%", "--grid", "quantile=0.9,0.95", "--json", "--no-progress"]
    rc, local, _ = _cli(args + ["--workers", "1"], capsys)
    assert rc == 0
    rc, dasked, _ = _cli(args + ["--dask", "local", "--workers", "2"], capsys)
    assert rc == 0
    assert json.loads(local) == json.loads(dasked)


def test_generic_strategy_path_equals_the_window_fast_path():
    """The seam's two paths (window fast path; the backtest front for any other strategy) agree."""
    ev, reg = S.load_partition(PARTS[1])
    prep = S.Prepared(ev, reg)
    p = Params.from_mapping({"offset": "0.1%", "take-profit": "0.3%"})
    rec = S.detect_partition(prep, p)
    t0 = int(prep.ts[0])
    for w in (S.Window(), S.Window(t0 + 6 * 3600 * 10**9, t0 + 30 * 3600 * 10**9, "w")):
        fast = S._simulate_window(prep, rec, p, w, 1.0, True)
        slow = S._generic_window(prep, rec, p, w, 1.0, True)
        assert fast.keys() == slow.keys()
        for k in fast:
            assert fast[k] == slow[k], k


def test_cli_silent_server_is_not_a_scheduler(capsys):
    """A port that accepts connections but never speaks dask: a clear error within --dask-timeout."""
    import threading

    from _procs import Stopwatch

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    conns = []
    stop = threading.Event()

    def accept():
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                conns.append(srv.accept()[0])
            except OSError:
                pass

    th = threading.Thread(target=accept, daemon=True)
    th.start()
    try:
        watch = Stopwatch()  # (less the time this process waited for a CPU that others held: any load)
        rc, _, err = _cli(["walkforward", "--synthetic", "--days", "2", "--grid", "offset=0.1%,0.2%",
                           "--scheduler", f"tcp://127.0.0.1:{srv.getsockname()[1]}", "--dask-timeout", "1.5s"],
                          capsys)
        assert rc == 2 and watch.stop().unloaded < 6, watch
        assert "cannot reach the scheduler" in err and err.count("\n") == 1
    finally:
        stop.set()
        th.join()
        for c in conns:
            c.close()
        srv.close()


def test_metric_columns_are_never_named_like_a_parameter(tmp_path, capsys):
    """A sweep table holds the parameter ``take-profit`` and the count of take-profit exits: the count
    is ``n_take_profit`` (no metric column can be read as a parameter, with ``-`` or ``_``), in the
    CLI table, its Parquet file, the walk-forward cells and the Python ``sweep`` table."""
    from liqcore.backtest.run import sweep
    from liqcore.config import is_parameter_name

    assert is_parameter_name("take_profit") and is_parameter_name("take-profit") and not is_parameter_name("trades")
    assert [m for m in S.METRICS if is_parameter_name(m)] == []
    out = tmp_path / "s.parquet"
    rc, stdout, _ = _cli(["sweep", "--synthetic", "--days", "2", "--seed", "11", "--symbols", "SOLUSDT",
                          "--grid", "take_profit=0.15%,0.5%", "--workers", "1", "--json", "--no-progress",
                          "--out", str(out)], capsys)
    assert rc == 0
    rows = json.loads(stdout)
    t = pd.read_parquet(out)
    for cols in (set(rows[0]), set(t.columns)):
        assert {"take-profit", "n_take_profit", "n_stop_loss", "n_timeout"} <= cols
        assert not {"take_profit", "stop_loss", "timeout"} & cols
    assert set(t["take-profit"]) == {"0.15%", "0.5%"}
    assert (t["n_take_profit"] + t["n_stop_loss"] + t["n_timeout"] <= t["fills"]).all()
    # the exit counts are those of the backtest
    rc, stdout, _ = _cli(["backtest", "--synthetic", "--days", "2", "--seed", "11", "--symbols", "SOLUSDT",
                          "--take-profit", "0.5%", "--json", "--no-progress"], capsys)
    s = json.loads(stdout)["summary"]
    row = next(r for r in rows if r["take-profit"] == "0.5%")
    assert (row["n_take_profit"], row["n_stop_loss"], row["n_timeout"]) == (s["take_profit"], s["stop_loss"],
                                                                            s["timeout"])
    assert s["take_profit"] + s["stop_loss"] > 0
    # walk-forward: its cells table has the same columns
    wf = tmp_path / "wf"
    rc, _, err = _cli(["walkforward", "--synthetic", "--days", "3", "--seed", "11", "--symbols", "SOLUSDT",
                       "--grid", "take-profit=0.15%,0.5%", "--folds", "2", "--workers", "1", "--no-progress",
                       "--out", str(wf)], capsys)
    assert rc == 0, err
    cells = pd.read_parquet(wf / "cells.parquet")
    assert {"take-profit", "n_take_profit"} <= set(cells.columns) and "take_profit" not in cells.columns
    # the Python API: a grid named with ``_`` keeps its parameter values
    ev, reg = S.load_partition(PARTS[1])
    table = sweep(ev, {"take_profit": ["0.15%", "0.5%"]}, registry=reg, progress=False)
    assert list(table["take_profit"]) == ["0.15%", "0.5%"]
    assert list(table["n_take_profit"]) != list(table["take_profit"]) and "n_timeout" in table.columns
    # (``strategy`` is the parameter itself: the strategy that ran)
    assert [c for c in table.columns if c not in ("take_profit", "strategy") and is_parameter_name(c)] == []


def test_a_stored_cell_is_taken_again_only_for_the_same_data_equity_and_market(tmp_path, capsys):
    """``--out`` resumes only cells of the same data and starting equity: new rows in the dataset, another ``--equity``
    or another ``--preset`` / ``--knob`` of the synthetic market run the cells again (they were taken from the table
    as stored, results of other data); each row then equals its lone backtest."""
    from liqcore import synthetic_market
    from liqcore.io import save_events

    m = synthetic_market(days=3, symbols=("ETHUSDT",), seed=11)
    ev = m.events
    day = 86_400_000_000_000
    t0 = int(ev["ts_event"][0]) // day * day
    first, rest = tmp_path / "a.parquet", tmp_path / "b.parquet"
    save_events(ev[ev["ts_event"] < t0 + 2 * day], first, registry=m.registry)
    save_events(ev[ev["ts_event"] >= t0 + 2 * day], rest, registry=m.registry)
    ds, out = tmp_path / "ds", tmp_path / "cells.parquet"
    assert main(["convert", str(first), "--dataset", str(ds)]) == 0
    sweep = ["sweep", str(ds), "--grid", "offset=0.1%,0.3%", "--workers", "1", "--out", str(out), "--no-progress"]

    def ran(args) -> str:
        capsys.readouterr()
        assert main(args) == 0
        cap = capsys.readouterr()
        return re.search(r"(\d+) cells run, (\d+) already stored", cap.out + cap.err).group(0)

    assert ran(sweep) == "2 cells run, 0 already stored"
    assert ran(sweep) == "0 cells run, 2 already stored"
    assert main(["convert", str(rest), "--dataset", str(ds)]) == 0  # a new day in the same dataset
    assert ran(sweep) == "2 cells run, 0 already stored"
    assert ran(sweep + ["--equity", "500"]) == "2 cells run, 0 already stored"
    row = pd.read_parquet(out).set_index("offset").loc["0.3%"]
    capsys.readouterr()
    assert main(["backtest", str(ds), "--offset", "0.3%", "--equity", "500", "--json", "--no-progress"]) == 0
    s = json.loads(capsys.readouterr().out)["summary"]
    assert (row["trades"], row["total_return"]) == (s["trades"], s["total_return"])
    syn = ["sweep", "--synthetic", "--days", "2", "--seed", "11", "--symbols", "ETHUSDT", "--grid", "offset=0.3%",
           "--workers", "1", "--out", str(tmp_path / "syn.parquet"), "--no-progress"]
    assert ran(syn) == "1 cells run, 0 already stored"
    assert ran(syn + ["--knob", "vol_liq=3"]) == "1 cells run, 0 already stored"
    assert ran(syn + ["--knob", "vol_liq=3"]) == "0 cells run, 1 already stored"


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_sweep_killed_with_sigkill_leaves_no_worker_running(tmp_path):
    """SIGKILL of ``sweep --workers 2`` (no handler runs): its pool workers end with it (they ran on, reparented,
    for minutes, holding the caller's output open)."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offs = ",".join(f"{0.04 * i:.2f}%" for i in range(1, 21))
    tps = ",".join(f"{0.05 * i:.2f}%" for i in range(1, 26))
    cmd = [sys.executable, "-m", "liqcore", "sweep", "--synthetic", "--days", "2", "--seed", "11",
           "--symbols", "ETHUSDT,SOLUSDT", "--grid", f"offset={offs}", "--grid", f"take-profit={tps}",
           "--grid", "quantile=0.9,0.95", "--workers", "2", "--no-progress", "--out", str(tmp_path / "s.parquet")]
    proc = subprocess.Popen(cmd, cwd=root, env=dict(os.environ, PYTHONPATH=str(root)), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)

    def group() -> list[int]:  # the processes of the sweep's session but itself
        got = []
        for d in Path("/proc").iterdir():
            try:
                if d.name.isdigit() and int(d.name) != proc.pid and os.getsid(int(d.name)) == proc.pid:
                    got.append(int(d.name))
            except (OSError, ProcessLookupError):
                continue
        return got

    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and len(group()) < 2:
            time.sleep(0.05)
        if proc.poll() is not None:
            pytest.fail("the sweep ended before its workers started; make the grid larger")
        time.sleep(0.5)  # (the workers at work)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and group():
            time.sleep(0.05)
        assert group() == [], "workers still running after their sweep was killed"
    finally:
        for pid in group():
            os.kill(pid, signal.SIGKILL)


def _homemade_liquidations(path, n: int = 3000) -> None:
    """A homemade CSV of liquidations (its own column names, ms times), a larger one every 7th row."""
    import random

    rnd = random.Random(1)
    t0, p = 1_723_680_000_000, 58_000.0
    rows = ["time,sym,dir,px,amt"]
    for i in range(n):
        p *= 1 + rnd.gauss(0, 0.0005)
        q = rnd.choice([0.01, 0.02, 0.5, 3.0, 8.0]) if i % 7 == 0 else 0.01
        rows.append(f"{t0 + i * 500},BTCUSDT,{'BUY' if i % 2 else 'SELL'},{p:.1f},{q}")
    path.write_text("\n".join(rows) + "\n")


def test_cli_sweep_reads_homemade_files_through_their_column_mapping(tmp_path, capfd):
    """``sweep --columns``: every partition reads the files through the mapping (the workers read them without it:
    'cannot detect the format'), and a skipped file is said once (it was said once per partition: 73 times over
    the 72 symbols of the real sample)."""
    f = tmp_path / "liqs.csv"
    _homemade_liquidations(f)
    opts = ["--columns", "ts=time,symbol=sym,side=dir,price=px,qty=amt", "--ts-unit", "ms", "--venue", "binance",
            "--kind", "liquidation", "--side-means", "order"]
    assert main(["detect", str(f), *opts, "--json"]) == 0
    want = len([x for x in capfd.readouterr().out.splitlines() if x.strip()])  # (JSON lines: a cascade each)
    assert want >= 2
    assert main(["sweep", str(f), *opts, "--grid", "offset=0.1%,0.2%", "--json", "--no-progress"]) == 0, \
        capfd.readouterr().err
    rows = json.loads(capfd.readouterr().out)
    assert [r["cascades"] for r in rows] == [want, want]
    d = tmp_path / "d"
    d.mkdir()
    (d / "bad.csv").write_text("garbage,stuff\n")
    sample = __import__("pathlib").Path(__file__).resolve().parents[2] / "liqcore" / "data" / "sample_liquidations.csv"
    (d / "liqs.csv").write_bytes(sample.read_bytes())
    assert main(["sweep", str(d), "--grid", "offset=0.1%,0.2%", "--no-progress", "--workers", "2"]) == 0
    err = capfd.readouterr().err
    assert err.count("skipped") == 1 and "bad.csv" in err

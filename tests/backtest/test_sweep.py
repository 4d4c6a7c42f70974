"""Parameter sweeps: one detection, many simulations; threads and dask give the same table."""
import json

import numpy as np
import pytest

from liqcore.backtest.run import backtest, sweep
from liqcore.synthetic.market import synthetic_market
from liqcore.cli import main
from liqcore.commands.sweep import parse_grid
from liqcore.config import Params


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    return synthetic_market(days=2, symbols=("ETHUSDT", "SOLUSDT"), seed=11,
                            cache_dir=tmp_path_factory.mktemp("cache"))


def test_parse_grid_validates_every_value():
    assert parse_grid(["offset=0.1%,0.2%", "fill=through,touch"]) == {
        "offset": ["0.1%", "0.2%"], "fill": ["through", "touch"]}
    with pytest.raises(ValueError, match="NAME=V1"):
        parse_grid(["offset"])
    with pytest.raises(ValueError, match="fill"):
        parse_grid(["fill=through,sideways"])
    with pytest.raises(ValueError, match="twice"):
        parse_grid(["offset=0.1%", "offset=0.2%"])
    with pytest.raises(ValueError, match="--grid"):
        parse_grid([])


def test_sweep_rows_equal_single_backtests(market):
    grid = {"offset": ["0.1%", "0.3%"], "take-profit": ["0.15%", "0.5%"]}
    table = sweep(market, grid, Params(), equity=10_000.0, progress=False)
    assert len(table) == 4
    for _, row in table.iterrows():
        p = Params.from_mapping({"offset": row["offset"], "take-profit": row["take-profit"]})
        single = backtest(market, p, equity=10_000.0).summary()
        assert row["fills"] == single["fills"]
        assert row["total_return"] == single["total_return"]
    # the grid actually changes the outcome
    assert table["total_return"].nunique() > 1


def test_sweep_refuses_detector_parameters(market):
    with pytest.raises(ValueError, match="detector parameter"):
        sweep(market, {"window": ["30s", "60s"]}, progress=False)


def test_dask_matches_threads(market):
    distributed = pytest.importorskip("distributed")
    grid = {"stop-loss": ["0.25%", "1%"], "fill": ["through", "touch"]}
    threads = sweep(market, grid, equity=1.0, progress=False, workers=2)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        dasked = sweep(market, grid, equity=1.0, progress=False, client=client)
    assert threads.to_dict("records") == dasked.to_dict("records")


def test_cli_sweep_json_out_and_plot(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LIQCORE_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "sweep.csv"
    png = tmp_path / "sweep.png"
    rc = main(["sweep", "--synthetic", "--days", "1", "--symbols", "ETHUSDT", "--seed", "3",
               "--grid", "offset=0.1%,0.2%", "--grid", "take-profit=0.15%,0.3%",
               "--json", "--out", str(out), "--plot", str(png)])
    assert rc == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 4 and {r["offset"] for r in rows} == {"0.1%", "0.2%"}
    rets = [r["total_return"] for r in rows]
    assert rets == sorted(rets, reverse=True)
    assert out.read_text().count("\n") == 5
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"


def test_cli_sweep_bad_grid_is_a_clean_error(capsys):
    assert main(["sweep", "--synthetic", "--days", "1", "--grid", "offset=abc"]) == 2
    assert "offset" in capsys.readouterr().err


def _sweep_against(addr, monkeypatch, capsys, extra=()):
    """(the error line, the sweep's ``_procs.Stopwatch``: an upper bound on its ``unloaded`` seconds -- less those
    this process waited for a CPU that others held -- holds at any load; a lower bound, a timeout waited out, is
    on its ``wall`` seconds: the run delay of the threads it counts can cover time the sweep spent sleeping)."""
    from _procs import Stopwatch

    import liqcore.commands.inputs as inputs_cmd

    def no_work(*_a, **_k):
        raise AssertionError("the sweep loaded its input before connecting to the scheduler")

    monkeypatch.setattr(inputs_cmd, "load_source", no_work)
    watch = Stopwatch()
    rc = main(["sweep", "--synthetic", "--days", "1", "--grid", "offset=0.1%,0.2%", "--dask", addr, *extra])
    watch.stop()
    err = capsys.readouterr().err
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0], watch


def test_cli_sweep_closed_scheduler_port_fails_at_once(monkeypatch, capsys):
    pytest.importorskip("distributed")
    from tests._live_helpers import closed_port

    addr = f"tcp://127.0.0.1:{closed_port()}"
    line, watch = _sweep_against(addr, monkeypatch, capsys)  # default --dask-timeout 10s
    assert line.startswith(f"liqcore sweep: error: dask: cannot reach the scheduler at {addr}")
    assert watch.unloaded < 10


def test_cli_sweep_silent_scheduler_gives_up_after_dask_timeout(monkeypatch, capsys):
    import socket

    pytest.importorskip("distributed")
    srv = socket.socket()  # accepts connections (the kernel's backlog) and never says anything
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    try:
        addr = f"tcp://127.0.0.1:{srv.getsockname()[1]}"
        line, watch = _sweep_against(addr, monkeypatch, capsys, ["--dask-timeout", "1.5s"])
    finally:
        srv.close()
    assert line.startswith(f"liqcore sweep: error: dask: cannot reach the scheduler at {addr} within 1.5s")
    # (waited out the timeout, then gave up: not hung; the timeout counts from the command's start, here the
    # test process's, long past: the floor of half a second is what is left to wait)
    assert watch.wall > 0.45 and watch.unloaded < 60


def test_cli_sweep_non_dask_server_is_one_line(monkeypatch, capsys):
    import socket
    import threading

    pytest.importorskip("distributed")
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)

    def answer():  # an HTTP-ish reply where a dask handshake is expected
        try:
            while True:
                c, _ = srv.accept()
                c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 4)
                c.close()
        except OSError:
            pass

    threading.Thread(target=answer, daemon=True).start()
    try:
        addr = f"127.0.0.1:{srv.getsockname()[1]}"
        line, watch = _sweep_against(addr, monkeypatch, capsys, ["--dask-timeout", "3s"])
    finally:
        srv.close()
    assert line.startswith("liqcore sweep: error: dask: ") and addr in line
    assert watch.unloaded < 8


def test_cli_sweep_bad_dask_timeout(capsys):
    assert main(["sweep", "--synthetic", "--grid", "offset=0.1%", "--dask", "local", "--dask-timeout", "0"]) == 2
    assert "dask-timeout" in capsys.readouterr().err


@pytest.mark.parametrize("extra,needle", [(["--plot", "x.gif"], "plot: expected a .png"),
                                          (["--plot", "x.png", "--metric", "bogus"], "metric: expected one of")])
def test_cli_sweep_plot_arguments_checked_before_the_sweep(tmp_path, monkeypatch, capsys, extra, needle):
    import liqcore.commands.inputs as inputs_cmd

    def no_work(*_a, **_k):
        raise AssertionError("the sweep ran before its --plot arguments were checked")

    monkeypatch.setattr(inputs_cmd, "load_source", no_work)
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "--synthetic", "--grid", "offset=0.1%", *extra]) == 2
    assert needle in capsys.readouterr().err


def test_plot_metric_names_are_the_table_columns(tmp_path):
    """Every metric --plot/--metric accepts is a column of the table a sweep writes."""
    import pandas as pd

    from liqcore.sweep.cells import METRICS

    out = tmp_path / "s.parquet"
    assert main(["sweep", "--synthetic", "--days", "1", "--symbols", "ETHUSDT", "--grid", "offset=0.1%,0.2%",
                 "--no-progress", "--workers", "1", "--out", str(out)]) == 0
    assert set(METRICS) <= set(pd.read_parquet(out).columns)


def test_cli_sweep_on_a_reachable_tcp_scheduler(tmp_path, monkeypatch, capsys):
    distributed = pytest.importorskip("distributed")
    monkeypatch.setenv("LIQCORE_CACHE", str(tmp_path / "cache"))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        addr = cluster.scheduler_address
        assert addr.startswith("tcp://127.0.0.1:")
        rc = main(["sweep", "--synthetic", "--days", "0.5", "--symbols", "ETHUSDT", "--seed", "3", "--no-progress",
                   "--grid", "offset=0.1%,0.2%", "--json", "--dask", addr])
    assert rc == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(r["offset"] for r in rows) == ["0.1%", "0.2%"]


@pytest.mark.slow
def test_cli_sweep_silent_scheduler_default_ends_within_10s_as_a_process():
    # the bound separates liqcore's own 8 s wait from dask's 30 s default connect timeout; the margin
    # above 8 s is process start-up and imports, which take several seconds on a loaded 2-core machine
    import socket
    import sys
    from pathlib import Path

    pytest.importorskip("distributed")
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    addr = f"tcp://127.0.0.1:{srv.getsockname()[1]}"
    root = Path(__file__).resolve().parents[2]
    from _procs import run_timed

    try:  # (the seconds it ran less those it waited for a CPU that other processes held: a bound at any load)
        proc, watch = run_timed([sys.executable, "-m", "liqcore", "sweep", "--synthetic", "--grid", "offset=0.1%",
                                 "--dask", addr], 60, cwd=root)
    finally:
        srv.close()
    assert proc.returncode == 2 and watch.unloaded < 25, (str(watch), proc.stderr)
    assert proc.stderr.strip().startswith(f"liqcore sweep: error: dask: cannot reach the scheduler at {addr} within 8s (")


def test_heatmap_names_its_unit_and_what_it_averages(tmp_path):
    """The heatmap's values are the mean over the symbols: the figure says so, in the table's unit (%)."""
    import pandas as pd

    from liqcore.commands.sweep import plot_sweep

    out = tmp_path / "s.csv"
    assert main(["sweep", "--synthetic", "--days", "1", "--symbols", "ETHUSDT,SOLUSDT", "--grid", "offset=0.1%,0.2%",
                 "--grid", "take-profit=0.15%,0.3%", "--no-progress", "--workers", "1", "--out", str(out)]) == 0
    table = pd.read_csv(out)
    title = plot_sweep(table, ["offset", "take-profit"], "total_return", str(tmp_path / "h.png"))
    assert "total_return (%)" in title and "mean over 2 partitions (ETHUSDT, SOLUSDT), equal weights" in title
    one = plot_sweep(table[table.partition == "ETHUSDT"], ["offset", "take-profit"], "total_return",
                     str(tmp_path / "h1.png"))
    assert "one cell per point" in one
    line = plot_sweep(table, ["offset"], "sharpe", str(tmp_path / "l.png"), grid=["offset", "take-profit"])
    assert "sharpe (daily returns, annualised)" in line and "take-profit (2 values)" in line

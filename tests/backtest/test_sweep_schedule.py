"""Sweep scheduling: the work follows the data.  Each worker loads a partition at most once (loads <=
partitions + workers - 1 on a real process pool, counted by the processes that load); partitions cut
across more workers than there are partitions are loaded once, before the fork; a dask cluster of
worker processes places tasks by partition too, with warm workers; the tables are the same cell by
cell whichever runs them; the run reports its loads and worker utilisation."""
import os
import sys
import signal

import pytest

from liqcore.sweep import schedule as SC
from liqcore.sweep import grid as SG, runners as SR, store as SS, cells as S
from liqcore.cli import main
from liqcore.config import Params

SRC = S.Source("synthetic", days=2, seed=11)
PARTS3 = [S.Partition(SRC, (s,)) for s in ("ETHUSDT", "SOLUSDT", "XRPUSDT")]
GRID = {"quantile": [0.9, 0.95], "offset": ["0.1%", "0.2%", "0.3%"], "take-profit": ["0.15%", "0.5%"]}
METRIC_COLS = ["trades", "win_rate", "avg_return", "total_return", "sharpe", "max_drawdown", "fills"]


def _run(parts, **kw):
    grid = SG.validate_grid(GRID)
    det, _ = SG.split_grid(grid)
    return SS.run_cells(SG.expand_cells(grid), parts, [S.Window(None, None, "all")], Params(), det, **kw)


@pytest.fixture
def load_log(tmp_path, monkeypatch):
    """Every load_partition call, by any process forked from this one: one line 'pid label'."""
    log = tmp_path / "loads.log"
    real = S.load_partition

    def counted(part):
        with open(log, "a") as f:
            f.write(f"{os.getpid()} {part.label}\n")
        return real(part)

    monkeypatch.setattr(S, "load_partition", counted)
    S._CACHE.clear()
    return lambda: [ln.split() for ln in log.read_text().splitlines()] if log.exists() else []


def test_assign_cuts_the_plan_into_equal_consecutive_runs(monkeypatch):
    grid = SG.validate_grid(GRID)
    det, _ = SG.split_grid(grid)
    tasks, _ = S.plan_tasks(SG.expand_cells(grid), PARTS3, [S.Window()], Params(), det, chunk=1)
    assert len(tasks) == 36
    # a small run uses fewer workers: a load costs more than a few cells
    assert sum(1 for s in SC.assign(tasks, 16) if s) == 2 == -(-36 // SC.MIN_SEGMENT_CELLS)
    monkeypatch.setattr(SC, "MIN_SEGMENT_CELLS", 1)
    for w in (1, 2, 3, 5, 16):
        segs = SC.assign(tasks, w)
        assert sorted(i for s in segs for i in s) == list(range(36))
        assert all(s == list(range(s[0], s[0] + len(s))) for s in segs if s)  # consecutive, in plan order
        assert max(map(len, segs)) - min(map(len, segs)) <= 1
        loads = sum(len({tasks[i].part.label for i in s}) for s in segs)
        assert loads <= len(PARTS3) + w - 1
    # a worker that holds a partition gets the run that starts with it
    segs = SC.assign(tasks, 2, {1: S._hash(PARTS3[0].ident())})
    assert tasks[segs[1][0]].part.label == "ETHUSDT"


def test_pool_loads_each_partition_once_per_worker(load_log):
    ref, _ = _run(PARTS3)
    S._CACHE.clear()
    n_ref = len(load_log())
    with SR.LocalRunner(2) as r:
        table, stats = _run(PARTS3, runner=r, chunk=1)  # 36 tasks of one cell each
    loads = load_log()[n_ref:]
    assert len(loads) <= len(PARTS3) + 2 - 1, loads
    per_worker = {}
    for pid, label in loads:
        per_worker.setdefault(pid, []).append(label)
    assert all(len(v) == len(set(v)) for v in per_worker.values()), per_worker  # at most once per worker
    assert stats["partition_loads"] == len(loads) and stats["tasks"] == 36 and stats["workers"] == 2
    assert 0 < stats["utilisation"] <= 1 and stats["busy_s"] > 0 and stats["wall_s"] > 0
    assert list(ref["cell"]) == list(table["cell"])
    assert ref[METRIC_COLS].equals(table[METRIC_COLS])


def test_fewer_partitions_than_workers_load_once_before_the_fork(load_log, monkeypatch):
    monkeypatch.setattr(SC, "MIN_SEGMENT_CELLS", 1)  # 12 cells on 3 workers
    ref, _ = _run(PARTS3[:1])
    S._CACHE.clear()
    n_ref = len(load_log())
    with SR.LocalRunner(3) as r:
        table, stats = _run(PARTS3[:1], runner=r, chunk=1)
        busy = dict(r.counters.busy_s)
    loads = load_log()[n_ref:]
    assert loads == [[str(os.getpid()), "ETHUSDT"]]  # once, by this process; the workers share it
    assert stats["partition_loads"] == 1
    assert len(busy) == 3 and all(v > 0 for v in busy.values())  # the partition was cut across all three
    assert not S.SHARED  # released with the pool
    assert ref[METRIC_COLS].equals(table[METRIC_COLS])


@pytest.mark.parametrize("dead_before_send", [False, True], ids=["dying", "dead-before-its-tasks-are-sent"])
def test_a_killed_pool_worker_is_an_error_not_a_hang(dead_before_send):
    with SR.LocalRunner(2) as r:
        grid = SG.validate_grid(GRID)
        det, _ = SG.split_grid(grid)
        tasks, _ = S.plan_tasks(SG.expand_cells(grid), PARTS3, [S.Window()], Params(), det, chunk=1)
        r.prepare(tasks)
        os.kill(r._pool.procs[1].pid, signal.SIGKILL)
        if dead_before_send:  # its pipe is closed: sending its tasks is a broken pipe, said as its death
            r._pool.procs[1].join(5.0)
        with pytest.raises(RuntimeError, match="worker process .* died"):
            list(r.run(tasks))


@pytest.mark.slow
def test_dask_places_tasks_by_partition_on_warm_workers():
    distributed = pytest.importorskip("distributed")
    with SR.LocalRunner(2) as r:
        pool, _ = _run(PARTS3, runner=r, chunk=1)
    options = list(sys.warnoptions)
    with SR.local_cluster(2) as cluster:  # (no work stealing: a busy machine moves no pinned task)
        # (the process's warning options as they were: the quiet resource tracker's option is the tracker's alone)
        assert sys.warnoptions == options
        runner = SR.DaskRunner(cluster.scheduler_address, timeout=10)
        with runner:
            warm = runner.client.run(lambda dask_worker: getattr(dask_worker, "liqcore_warm_s", None))
            table, stats = _run(PARTS3, runner=runner, chunk=1)
    assert len(warm) == 2 and all(v is not None and v > 0 for v in warm.values()), warm
    assert stats["partition_loads"] <= len(PARTS3) + 2, stats
    assert stats["workers"] == 2 and stats["tasks"] == 36 and 0 < stats["utilisation"] <= 1
    assert list(pool["cell"]) == list(table["cell"])
    assert pool[METRIC_COLS].equals(table[METRIC_COLS])


def test_a_dask_worker_closed_while_it_warms_logs_no_error(caplog):
    """Ctrl-C under load: the command closes its dask workers while their warm-up still loads the kernels, and dask
    cancels the plugin's ``setup`` inside its own error-logging wrapper (``log_errors``, as ``Worker.plugin_add``
    runs it).  A cancellation let out of ``setup`` was logged there as an ERROR with its traceback, under the
    command's one line "interrupted"; the warm-up now ends quietly.  (The warm-up's thread is released after.)"""
    pytest.importorskip("distributed")
    import asyncio
    import logging
    import threading
    import types

    from distributed.utils import log_errors

    started, release = threading.Event(), threading.Event()

    def loading():
        started.set()
        release.wait(30)
        return 1.0

    worker = types.SimpleNamespace(address="tcp://127.0.0.1:1")

    @log_errors
    async def plugin_add():
        await SC.WarmPlugin(loading).setup(worker=worker)

    async def closed_while_warming():
        task = asyncio.ensure_future(plugin_add())
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, started.wait, 30), "the warm-up never started"
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        finally:
            release.set()
        return task

    with caplog.at_level(logging.DEBUG):
        task = asyncio.run(closed_while_warming())
    assert task.done() and worker.liqcore_warm_s is None
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
    assert any("closed while liqcore's kernels loaded" in r.getMessage() for r in caplog.records)


def test_a_dask_worker_that_dies_has_its_tasks_run_by_the_others():
    """Pinned tasks of a worker killed mid-run (SIGKILL) run on the workers still there (the nanny's
    restarted worker has a new address): the same table."""
    pytest.importorskip("distributed")
    ref, _ = _run(PARTS3)
    with SR.local_cluster(2) as cluster:
        runner = SR.DaskRunner(cluster.scheduler_address, timeout=10)
        with runner:
            victim = sorted(runner.client.scheduler_info()["workers"])[1]
            pid = runner.client.run(os.getpid, workers=[victim])[victim]
            killed = []

            def hook(n):
                if n == 3 and not killed:
                    killed.append(victim)
                    os.kill(pid, signal.SIGKILL)

            table, stats = _run(PARTS3, runner=runner, chunk=1, on_task=hook)
            after = sorted(runner.client.scheduler_info()["workers"])
    assert killed and victim not in after
    assert stats["tasks"] == 36
    assert list(ref["cell"]) == list(table["cell"])
    assert ref[METRIC_COLS].equals(table[METRIC_COLS])


def test_cli_sweep_and_walkforward_report_loads_and_utilisation(capsys):
    rc = main(["sweep", "--synthetic", "--days", "2", "--seed", "11", "--symbols", "ETHUSDT,SOLUSDT",
               "--grid", "offset=0.1%,0.2%,0.3%", "--workers", "2", "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0
    line = [ln for ln in out.splitlines() if ln.startswith("scheduling:")]
    assert line and "2 partition(s) loaded 2 time(s)" in line[0] and "worker utilisation" in line[0] \
        and "s wall" in line[0], out
    rc = main(["walkforward", "--synthetic", "--days", "4", "--seed", "11", "--symbols", "ETHUSDT",
               "--grid", "offset=0.1%,0.2%,0.3%", "--folds", "2", "--workers", "2", "--json"])
    import json

    rep = json.loads(capsys.readouterr().out)
    st = rep["stats"]
    assert rc == 0 and st["partition_loads"] >= 1 and st["workers"] == 2 and 0 < st["utilisation"] <= 1
    assert st["test_folds"]["tasks"] == 2 and st["test_folds"]["partition_loads"] == 0  # held by a worker


def test_an_interrupted_pool_run_stops_its_workers_and_resumes(tmp_path):
    out = tmp_path / "s.parquet"
    full, _ = _run(PARTS3)

    runner = SR.LocalRunner(2)
    workers = []

    def hook(n):
        if n == 5:
            workers.extend(runner._pool.procs)  # this run's workers (other tests' processes are not ours)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _run(PARTS3, out=out, chunk=1, on_task=hook, runner=runner)
    assert runner._pool is None and len(workers) == 2
    assert not [p.pid for p in workers if p.is_alive()]  # stopped (terminated, killed if need be) and reaped
    assert len(list((tmp_path / "s.parquet.parts").glob("*.parquet"))) == 5
    again, stats = _run(PARTS3, out=out, chunk=1, runner=SR.LocalRunner(2))
    assert stats["cached"] == 5 and stats["ran"] == 31
    assert again[METRIC_COLS].equals(full[METRIC_COLS])


def test_interleaved_tasks_deal_the_grid_in_turn_and_keep_the_cells_order():
    """A partition's cells cut into tasks for the workers (``interleave``): the cells of one entry (every parameter
    but take-profit and stop-loss: they share their windows' reads) are dealt to the tasks in turn, a group at a
    time, so each task holds offsets from across the grid (the cells of one offset cost alike: runs of them left
    one worker last to finish) and each offset's cells are in one task; with fewer entries than tasks, the cells
    one at a time.  Every cell is in exactly one task, and the table's order is the cells' own, as without it."""
    grid = SG.validate_grid({"offset": ["0.05%", "0.1%", "0.2%", "0.3%"], "take-profit": ["0.3%", "0.5%"],
                             "stop-loss": ["0.3%", "1%"]})
    det, _ = SG.split_grid(grid)
    cells = SG.expand_cells(grid)
    plain, order0 = S.plan_tasks(cells, PARTS3[:1], [S.Window()], Params(), det, chunk=8)
    mixed, order1 = S.plan_tasks(cells, PARTS3[:1], [S.Window()], Params(), det, chunk=8, interleave=True)
    assert order1 == order0 and len(mixed) == len(plain) == 2
    assert sorted(k for t in mixed for k in t.keys) == sorted(order0)
    offsets = [c["offset"] for c in cells]
    assert [sorted({c["offset"] for c in t.exec_values}) for t in plain] == [sorted(set(offsets[:8])),
                                                                             sorted(set(offsets[8:]))]  # runs
    by_offset = {o: [c for c in cells if c["offset"] == o] for o in grid["offset"]}
    first, second = list(by_offset.values())[0::2], list(by_offset.values())[1::2]
    assert [t.exec_values for t in mixed] == [[c for g in first for c in g], [c for g in second for c in g]]
    # an offset alone, four take-profits: fewer entries than tasks, the cells dealt one at a time
    one = SG.expand_cells(SG.validate_grid({"offset": ["0.1%"], "take-profit": ["0.3%", "0.5%", "1%", "2%"]}))
    dealt, _ = S.plan_tasks(one, PARTS3[:1], [S.Window()], Params(), det, chunk=2, interleave=True)
    assert [t.exec_values for t in dealt] == [[one[0], one[2]], [one[1], one[3]]]

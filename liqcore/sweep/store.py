"""Storing and resuming a sweep: :class:`Store` keeps the finished cells of a run (``OUT``, a Parquet
file, plus ``OUT.parts/``, one file per finished task written the moment it ends, locally or on
object storage); :func:`run_cells` plans the tasks, leaves out the cells already stored (a rerun after
a crash or an interruption picks up where it stopped; an unreadable part is named and its cells run
again), runs the rest on a runner (:mod:`liqcore.sweep.runners`) and returns the table in
cell order."""
from __future__ import annotations

import math
import time
from pathlib import Path

from liqcore.sweep.runners import LocalRunner, scheduling
from liqcore.sweep.cells import Partition, Task, Window, plan_tasks
from liqcore.config import Params

__all__ = ["Store", "run_cells"]


class Store:
    """Finished cells of a run: ``OUT`` (a Parquet file of rows) plus ``OUT.parts/`` (one Parquet file
    per finished task, written as soon as the task ends).  ``None`` keeps rows in memory only."""

    def __init__(self, out: str | Path | None):
        from liqcore.io.storage import PartsStore, is_url, unreadable_part

        self.rows: dict[str, dict] = {}
        if out and is_url(str(out)):  # object storage: the same layout, each part one object
            self.out = self.parts = None
            self._url = PartsStore(str(out), self.rows)
            return
        self._url = None
        self.out = Path(out) if out else None
        self.parts = self.out.with_name(self.out.name + ".parts") if self.out else None
        if self.out is None:
            return
        import pyarrow.parquet as pq

        files = ([self.out] if self.out.is_file() else []) + (sorted(f for f in self.parts.glob("*.parquet")
                                                                       if not f.name.startswith("."))
                                                                if self.parts and self.parts.is_dir() else [])
        for f in files:
            try:
                for r in pq.read_table(f).to_pylist():
                    if r.get("cell"):
                        self.rows[r["cell"]] = r
            except Exception as exc:  # a part cut short by a crash: named, and its cells run again
                unreadable_part(f, exc)

    def add(self, task: Task, rows: list[dict]) -> None:
        for r in rows:
            self.rows[r["cell"]] = r
        import pyarrow as pa

        if self._url is not None:
            self._url.add(task.key, pa.Table.from_pylist(_plain(rows)))
        if self.parts is None:
            return
        import pyarrow.parquet as pq

        from liqcore._atomic import atomic_path

        self.parts.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.parts / f"{task.key}.parquet") as tmp:  # a finished task is whole on disk
            pq.write_table(pa.Table.from_pylist(_plain(rows)), tmp)

    def finish(self, order: list[str]):
        """The rows in cell order as a DataFrame; written to OUT (the parts are then removed)."""
        import pandas as pd

        rows = [self.rows[k] for k in order if k in self.rows]
        df = pd.DataFrame(_plain(rows))
        if self._url is not None:
            import pyarrow as pa

            self._url.finish(pa.Table.from_pandas(df, preserve_index=False))
        if self.out is not None:
            import shutil

            import pyarrow as pa
            import pyarrow.parquet as pq

            from liqcore._atomic import atomic_path

            self.out.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(self.out) as tmp:  # the earlier table stays until this one is whole
                pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp)
            if self.parts is not None and self.parts.is_dir():
                shutil.rmtree(self.parts, ignore_errors=True)
        return df


def _plain(rows: list[dict]) -> list[dict]:
    """Same keys in every row (missing -> None) so Parquet gets one schema."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    return [{k: r.get(k) for k in keys} for r in rows]



def run_cells(cells: list[dict], partitions: list[Partition], windows: list[Window], base: Params,
              det_names: list[str], *, equity: float = 1.0, with_daily: bool = False, out=None,
              runner=None, progress: bool = False, chunk: int | None = None, on_task=None,
              description: str = "sweep"):
    """Evaluate every (cell, partition, window); returns (table in cell order: a
    :class:`~liqcore.backtest.results.SweepResult`, a DataFrame; stats).  Finished
    tasks are stored in ``out`` (resumable: a rerun skips stored cells).  ``on_task(n_done)`` is called
    after each stored task (a hook for interruption tests)."""
    try:
        import pandas  # noqa: F401  (the result table)
    except ImportError:  # pragma: no cover
        raise ValueError("sweep: needs pandas (pip install 'liqcore[sweep]')") from None
    store = Store(out)
    interleave = chunk is None and any(p.chunk_days for p in partitions)
    if chunk is None and any(p.chunk_days for p in partitions):
        # a partition read in chunks is read once per task: one task per detector configuration, split in
        # as many as it takes for every worker to get cells (each worker reads the partition once for its own)
        n_groups = max(1, len({tuple(str(c.get(n)) for n in det_names) for c in cells}) * len(partitions))
        splits = max(1, math.ceil(max(1, getattr(runner, "workers", 1) or 1) / n_groups))
        chunk = max(1, math.ceil(len(cells) / splits))
    if chunk is None:
        n_groups = max(1, len({tuple(str(c.get(n)) for n in det_names) for c in cells}) * len(partitions))
        per_group = math.ceil(len(cells) * len(partitions) / n_groups)
        splits = math.ceil(4 * max(1, getattr(runner, "workers", 1) or 1) / n_groups)
        chunk = max(10, min(250, math.ceil(per_group / splits)))
    tasks, order = plan_tasks(cells, partitions, windows, base, det_names, equity, with_daily, chunk,
                              done=set(store.rows), interleave=interleave)
    stats = {"cells": len(order), "cached": len(order) - sum(len(t.keys) for t in tasks), "tasks": len(tasks)}
    runner = runner or LocalRunner(1)
    from contextlib import nullcontext

    bar = None
    if progress and tasks:  # a rich bar on stderr in a terminal, one updating line in a notebook
        from liqcore.progress import progress_bar

        bar = progress_bar(description, sum(len(t.keys) for t in tasks), stderr=True)
    n_done = 0
    with runner:
        counters = getattr(runner, "counters", None)
        before = counters.snapshot() if counters is not None else None
        chunked0 = (counters.chunked, dict(counters.whole)) if counters is not None else None
        t_run = time.perf_counter()
        if tasks and hasattr(runner, "prepare"):
            runner.prepare(tasks)  # local workers start (fork) here, before the progress display's thread
        with (bar if bar is not None else nullcontext()):
            for task, rows in runner.run(tasks):
                store.add(task, rows)
                n_done += 1
                if bar is not None:
                    bar.advance(len(rows))
                if on_task is not None:
                    on_task(n_done)
        wall = time.perf_counter() - t_run
    stats["ran"] = n_done
    if counters is not None:
        stats.update(scheduling(runner, before, wall, len({t.part.label for t in tasks})))
        if any(p.chunk_days for p in partitions):
            stats["chunked_tasks"] = counters.chunked - chunked0[0]
            stats["chunked_ran_whole"] = {k: v - chunked0[1].get(k, 0) for k, v in counters.whole.items()
                                          if v > chunked0[1].get(k, 0)}
    from liqcore.backtest.results import SweepResult

    return SweepResult.of(store.finish(order), list(cells[0]) if cells else []), stats

"""One ``liqcore download``: plan the files, skip those already there, fetch ``jobs`` at a time, and
either keep each file (``out``) or convert it into the dataset (``dataset``) as it arrives.

Conversion follows the plan's order (symbol, period, type) whatever order the downloads finish in, so
the dataset is the one ``liqcore convert`` builds from the same files; downloads run at most
``2 x jobs`` files ahead of it, so the disk holds a few files and memory one file's events.  Each
file goes through :func:`liqcore.dataset.convert_to_dataset` (the readers, checks and writer of
``convert``), keyed in the dataset's manifest by its URL: a rerun skips every file already
converted, without fetching it.  Downloaded files wait in ``DS/.liqcore-download-PID/`` (a dataset on
object storage: a local temporary directory) and are deleted once converted; a run removes the
directories of runs that died.
"""
from __future__ import annotations

import asyncio
import calendar
import contextlib
import os
import shutil
import sys
import tempfile
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from liqcore.download.fetch import ChecksumMismatch, Fetcher, FetchFailed, HostUnresolved, KeyRefused, Missing
from liqcore.download.sources import SOURCES, Unit, plan

__all__ = ["download", "DownloadSummary", "STAGE_PREFIX"]

#: the directory (inside a local dataset) where a run's files wait for their conversion
STAGE_PREFIX = ".liqcore-download-"
#: at most this many names listed per line of the summary
_LIST = 10


@dataclass
class DownloadSummary:
    """What a download did: per type (``files``, ``days``, ``bytes``, ``rows`` added to the dataset),
    what was skipped and why (reason -> labels), what the source does not have (``missing``: 404),
    what was refused (a checksum mismatch) or failed (label -> why), the retries, the rows the
    readers dropped (reason -> count)."""

    source: str
    to_dataset: bool
    by_type: dict = field(default_factory=dict)
    days: set = field(default_factory=set)
    skipped: dict = field(default_factory=dict)
    missing: list = field(default_factory=list)
    refused: dict = field(default_factory=dict)
    failed: dict = field(default_factory=dict)
    retries: int = 0
    rejects: dict = field(default_factory=dict)
    stale_removed: int = 0

    @property
    def ok(self) -> bool:
        return not self.refused and not self.failed

    def add(self, unit: Unit, nbytes: int, rows: int | None) -> None:
        t = self.by_type.setdefault(unit.type, {"files": 0, "days": set(), "bytes": 0, "rows": 0})
        t["files"] += 1
        t["days"].update(_days_of(unit.period))
        t["bytes"] += int(nbytes)
        t["rows"] += int(rows or 0)
        self.days.update(_days_of(unit.period))

    def lines(self) -> list[str]:
        from liqcore.cache import format_size

        files = sum(t["files"] for t in self.by_type.values())
        nbytes = sum(t["bytes"] for t in self.by_type.values())
        out = [f"download {self.source}: {files} file(s) fetched covering {len(self.days)} day(s), "
               f"{format_size(nbytes)} ({nbytes:,} bytes); {self.retries} retr{'y' if self.retries == 1 else 'ies'}"]
        for name, t in sorted(self.by_type.items()):
            rows = f", {t['rows']:,} rows added to the dataset" if self.to_dataset else ""
            out.append(f"  {name}: {t['files']} file(s), {len(t['days'])} day(s), {format_size(t['bytes'])} "
                       f"({t['bytes']:,} bytes){rows}")
        for why, labels in self.skipped.items():
            out.append(f"skipped {len(labels)} file(s) {why}: {_names(labels)}")
        if self.missing:
            out.append(f"missing at the source (HTTP 404), {len(self.missing)} file(s): {_names(self.missing)}")
        for label, why in self.refused.items():
            out.append(f"refused {label}: {why}")
        for label, why in self.failed.items():
            out.append(f"failed {label}: {why}")
        if self.rejects:
            out.append("rows dropped by the readers, by reason: "
                       + ", ".join(f"{k}={v:,}" for k, v in sorted(self.rejects.items())))
        if self.stale_removed:
            out.append(f"removed the files of {self.stale_removed} earlier run(s) that were stopped")
        return out


def _names(labels: list[str]) -> str:
    more = f" ... and {len(labels) - _LIST} more" if len(labels) > _LIST else ""
    return ", ".join(labels[:_LIST]) + more


def _days_of(period: str) -> list[str]:
    if len(period) == 10:
        return [period]
    y, m = int(period[:4]), int(period[5:7])
    return [f"{period}-{d:02d}" for d in range(1, calendar.monthrange(y, m)[1] + 1)]


def download(source: str, symbols, types, start, end, *, dataset=None, out=None, exchange: str | None = None,
             base_url: str | None = None, jobs: int = 4, retries: int = 5, backoff_s: float = 1.0,
             strict: bool = False, monthly: bool = False, api_key=None, lock_wait: float | None = None,
             feed_latency_ns: int = 0, instruments=None, progress: bool = False, warn=None,
             timeout_s: float = 60.0) -> DownloadSummary:
    """Fetch ``source``'s files of ``symbols`` x ``types`` from ``start`` to ``end`` (dates, both
    included) into the dataset ``dataset`` or the directory ``out`` (exactly one); see the module
    docstring.  ``api_key``: a :class:`liqcore.secrets.Secret` (tardis), sent as a Bearer token and
    never shown.  ``strict``: a file the source does not have (404) stops the run.  Raises ValueError
    for a bad request, a refused key or (``strict``) a missing file; refused and failed files are in
    the summary (``ok`` False)."""
    if (dataset is None) == (out is None):
        raise ValueError("out: give exactly one of --dataset DS or --out DIR")
    if int(jobs) < 1:
        raise ValueError(f"jobs: must be at least 1, got {jobs}")
    if int(retries) < 0:
        raise ValueError(f"retries: must be 0 or more, got {retries}")
    src = SOURCES.get(source)
    notes: list[str] = []  # the request cut to the days the source publishes (said before any transfer)
    units = plan(source, symbols, types, start, end, base_url=base_url, exchange=exchange, monthly=monthly,
                 notes=notes)
    for line in notes:
        (warn or _warn)(line)
    if dataset is not None:
        unreadable = sorted({u.type for u in units if not src.can_read(u.type)})
        if unreadable:
            raise ValueError(f"types: liqcore cannot read {source} {', '.join(unreadable)} files into a dataset "
                             f"(it reads {', '.join(src.types())}); use --out to keep them as downloaded")
    if src.needs_key and not api_key:
        raise ValueError("TARDIS_API_KEY: no tardis.dev API key (set TARDIS_API_KEY or give --key-file FILE, "
                         "a file of mode 0600)")
    summary = DownloadSummary(source, dataset is not None)
    # the directories this run creates (--out, the dataset's folder): removed again if they end up empty
    made = missing_dirs(out if out is not None else dataset)
    try:
        return _download(source, units, summary, dataset, out, jobs=jobs, retries=retries, backoff_s=backoff_s,
                         strict=strict, api_key=api_key, lock_wait=lock_wait, feed_latency_ns=feed_latency_ns,
                         instruments=instruments, progress=progress, warn=warn, timeout_s=timeout_s)
    finally:
        remove_empty(made)


def remove_empty(dirs: list[Path]) -> None:
    """Remove the directories ``dirs`` (deepest first) that are empty; one holding anything stays."""
    for d in dirs:
        try:
            d.rmdir()
        except OSError:
            pass


def missing_dirs(where) -> list[Path]:
    """``where`` (a local path) and its missing parents, deepest first: what a ``mkdir(parents=True)`` makes."""
    from liqcore.io import storage

    if where is None or storage.is_url(str(where)):
        return []
    out = []
    p = Path(where).absolute()
    while not p.exists() and p != p.parent:
        out.append(p)
        p = p.parent
    return out


def _download(source, units, summary, dataset, out, *, jobs, retries, backoff_s, strict, api_key, lock_wait,
              feed_latency_ns, instruments, progress, warn, timeout_s) -> DownloadSummary:
    todo, stage = _todo(units, summary, dataset, out)
    from liqcore.interrupt import drop_forced_exit, on_forced_exit

    def remove_stage():
        shutil.rmtree(stage, ignore_errors=True)

    if dataset is not None:  # (a Ctrl-C whose deadline ends the process before the finally below)
        on_forced_exit(remove_stage)
    try:
        asyncio.run(_run(todo, summary, stage, dataset=dataset, jobs=jobs, retries=retries, backoff_s=backoff_s,
                         strict=strict, api_key=api_key, lock_wait=lock_wait, feed_latency_ns=feed_latency_ns,
                         instruments=instruments, progress=progress, warn=warn, timeout_s=timeout_s,
                         source=source))
    finally:
        if dataset is not None:
            remove_stage()
            drop_forced_exit(remove_stage)
    return summary


def _todo(units: list[Unit], summary: DownloadSummary, dataset, out) -> tuple[list[Unit], Path]:
    """The units still to fetch (the others in ``summary.skipped``) and where the files go."""
    from liqcore.io import storage

    if out is not None:
        if storage.is_url(str(out)):
            raise ValueError(f"out: --out is a local directory ({out} is a URL; --dataset may be one)")
        where = Path(out)
        if where.exists() and not where.is_dir():
            raise ValueError(f"out: {where} exists and is not a directory")
        where.mkdir(parents=True, exist_ok=True)
        have = [u for u in units if (where / u.name).is_file()]
        if have:
            summary.skipped["already in --out"] = [u.label for u in have]
        return [u for u in units if not (where / u.name).is_file()], where
    from liqcore.dataset import read_manifest

    done = read_manifest(dataset)
    have = [u for u in units if isinstance(done.get(u.url), dict) and "filters" not in done[u.url]]
    if have:
        summary.skipped["already in the dataset"] = [u.label for u in have]
    skip = {u.url for u in have}
    todo = [u for u in units if u.url not in skip]
    if storage.is_url(dataset):
        stage = Path(tempfile.mkdtemp(prefix="liqcore-download-"))
    else:
        root = Path(dataset)
        if root.exists() and not root.is_dir():
            raise ValueError(f"dataset: {root} exists and is not a directory")
        summary.stale_removed = _remove_dead_stages(root)
        stage = root / f"{STAGE_PREFIX}{os.getpid()}"
        stage.mkdir(parents=True, exist_ok=True)
    return todo, stage


def _remove_dead_stages(root: Path) -> int:
    """Remove the waiting rooms of earlier runs into ``root`` whose process is gone; how many."""
    from liqcore._atomic import pid_alive

    n = 0
    if not root.is_dir():
        return 0
    for d in root.glob(f"{STAGE_PREFIX}*"):
        pid = d.name[len(STAGE_PREFIX):]
        if d.is_dir() and pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(d, ignore_errors=True)
            n += 1
    return n


async def _run(todo: list[Unit], summary: DownloadSummary, stage: Path, *, dataset, jobs, retries, backoff_s,
               strict, api_key, lock_wait, feed_latency_ns, instruments, progress, warn, timeout_s, source):
    import aiohttp

    headers = {"Authorization": f"Bearer {api_key.reveal()}"} if api_key else {}
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout_s, sock_read=timeout_s)
    bar = _Bar(len(todo), enabled=progress)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout, auto_decompress=False,
                                     raise_for_status=False) as session:
        fetcher = Fetcher(session, jobs=jobs, retries=retries, backoff_s=backoff_s, on_bytes=bar.bytes)
        pending: deque = deque()
        rest = iter(todo)

        def top_up() -> None:  # keep up to 2 x jobs downloads ahead of the conversion
            while len(pending) < 2 * int(jobs):
                u = next(rest, None)
                if u is None:
                    return
                pending.append((u, asyncio.ensure_future(
                    fetcher.fetch(u.url, stage / u.name, checksum_url=u.checksum_url))))

        try:
            with bar:
                top_up()
                while pending:
                    u, task = pending.popleft()
                    try:
                        got = await task
                    except Missing:
                        if strict:
                            raise ValueError(f"missing at the source (HTTP 404): {u.label} ({u.url}); "
                                             f"--strict stops here") from None
                        summary.missing.append(u.label)
                        continue
                    except ChecksumMismatch as exc:
                        summary.refused[u.label] = str(exc)
                        continue
                    except FetchFailed as exc:
                        summary.failed[u.label] = f"{exc} ({u.url})"
                        continue
                    except KeyRefused as exc:
                        raise ValueError(_refused_line(source, api_key, str(exc))) from None
                    except HostUnresolved as exc:  # every file is on that host: no point trying the others
                        raise ValueError(f"{source}: {exc}: no network, or a wrong --base-url; nothing more "
                                         f"was fetched") from None
                    finally:
                        top_up()
                        bar.file_done()
                    rows = None
                    if dataset is not None:
                        rows = await asyncio.to_thread(_convert, got.path, u, summary, dataset,
                                                       lock_wait=lock_wait, feed_latency_ns=feed_latency_ns,
                                                       instruments=instruments, warn=warn)
                        if rows is None:
                            continue
                    summary.add(u, got.nbytes, rows)
        finally:
            summary.retries = fetcher.retried
            for _u, t in pending:
                t.cancel()
            await asyncio.gather(*(t for _u, t in pending), return_exceptions=True)


def _refused_line(source: str, api_key, status: str) -> str:
    if source == "tardis" or api_key:
        return (f"TARDIS_API_KEY: tardis.dev refused the API key ({status}); check TARDIS_API_KEY or the "
                f"--key-file (a key shows in your tardis.dev account)")
    return f"{source}: the source refused the request ({status})"


def _convert(path: Path, u: Unit, summary: DownloadSummary, dataset, *, lock_wait, feed_latency_ns, instruments,
             warn) -> int | None:
    """Convert one downloaded file into the dataset (keyed by its URL), then delete it; the rows added,
    or None when the file could not be read (in ``summary.failed``)."""
    from liqcore.dataset import DatasetLocked, convert_to_dataset
    from liqcore.io import storage

    storage.note_source(path, u.url)
    try:
        res = convert_to_dataset([path], dataset, feed_latency_ns=feed_latency_ns, instruments=instruments,
                                 lock_wait=lock_wait, warn=warn or _warn)
    except DatasetLocked:  # another writer kept the dataset past --lock-wait: the run stops, saying which
        raise
    except (ValueError, OSError) as exc:
        summary.failed[u.label] = "cannot be read: " + " ".join(str(exc).split())
        return None
    finally:
        storage.forget_source(path)
        with contextlib.suppress(OSError):
            path.unlink()
    for k, v in res["rejects"].items():
        summary.rejects[k] = summary.rejects.get(k, 0) + v
    return int(res["rows_added"])


def _warn(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class _Bar:
    """The progress over files (each a day or a month) and bytes: a rich bar on a terminal's stderr
    (``files (days) ━━━━ 4/12 files``, ``bytes ━━━━ 3.1 MB``), one updating line in a Jupyter kernel,
    nothing otherwise (or when not ``enabled``)."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.done, self.nbytes, self._p, self._line = total, 0, 0, None, None
        if not enabled or total == 0:
            return
        from liqcore.progress import TextLine, in_notebook

        if in_notebook():
            self._line = TextLine("download (files)", total)
        elif sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._p = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[shown]}"),
                               TimeElapsedColumn(), console=Console(stderr=True), transient=True)

    def __enter__(self):
        if self._p is not None:
            self._p.__enter__()
            self._files = self._p.add_task("files (days)", total=self.total, shown=f"0/{self.total} files")
            self._bytes = self._p.add_task("bytes", total=None, shown="0.0 MB")
        elif self._line is not None:
            self._line.__enter__()
        return self

    def bytes(self, n: int) -> None:
        self.nbytes += n
        if self._p is not None:
            from liqcore.cache import format_size

            self._p.update(self._bytes, advance=n, shown=format_size(self.nbytes))

    def file_done(self) -> None:
        self.done += 1
        if self._p is not None:
            self._p.update(self._files, advance=1, shown=f"{self.done}/{self.total} files")
        elif self._line is not None:
            self._line.advance(1)

    def __exit__(self, *exc):
        if self._p is not None:
            return self._p.__exit__(*exc)
        if self._line is not None:
            return self._line.__exit__(*exc)
        return False

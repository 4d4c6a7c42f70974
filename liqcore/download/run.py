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
import datetime as _dt
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
from liqcore.download.sources import Unit, plan, source_of
from liqcore.secrets import redact_text

__all__ = ["download", "DownloadSummary", "STAGE_PREFIX", "MAX_JOBS", "MAX_RETRIES", "check_jobs"]

#: the directory (inside a local dataset) where a run's files wait for their conversion
STAGE_PREFIX = ".liqcore-download-"
#: at most this many names listed per line of the summary
_LIST = 10
#: the most downloads at a time (``--jobs``): the archives' servers throttle well before it, and each job holds a
#: connection and a file ahead of the conversion
MAX_JOBS = 64
#: the most retries of a file (``--retries``): its waits double up to a minute each, so 100 are over an hour and a half
MAX_RETRIES = 100


def check_jobs(jobs: int, retries: int) -> None:
    """``jobs`` from 1 to :data:`MAX_JOBS`, ``retries`` from 0 to :data:`MAX_RETRIES`; else one line naming the
    option and its range."""
    if not 1 <= int(jobs) <= MAX_JOBS:
        raise ValueError(f"jobs: must be at least 1 and at most {MAX_JOBS} (downloads at a time); got {jobs}")
    if not 0 <= int(retries) <= MAX_RETRIES:
        raise ValueError(f"retries: must be 0 or more and at most {MAX_RETRIES} (retries of a file, each wait up to "
                         f"a minute); got {retries}")


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
    republished: list = field(default_factory=list)  # already there, but the source's version changed: fetched again
    missing_status: tuple = (404,)

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
        if self.republished:
            out.append(f"fetched again {len(self.republished)} file(s) the source republished since they were taken "
                       f"(a new checksum, ETag or size): {_names(self.republished)}")
        if self.missing:
            how = " or ".join(f"HTTP {s}" for s in self.missing_status)
            out.append(f"missing at the source ({how}), {len(self.missing)} file(s): {_names(self.missing)}")
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
             timeout_s: float = 60.0, market: str | None = None) -> DownloadSummary:
    """Fetch ``source``'s files of ``symbols`` x ``types`` from ``start`` to ``end`` (dates, both
    included) into the dataset ``dataset`` or the directory ``out`` (exactly one); see the module
    docstring.  ``api_key``: a :class:`liqcore.secrets.Secret` (tardis), sent as a Bearer token and
    never shown.  ``strict``: a file the source does not have (404) stops the run.  Raises ValueError
    for a bad request, a refused key or (``strict``) a missing file, and ConnectionError (an OSError)
    when the source's host name does not resolve (no network, or a wrong ``base_url``); refused and
    failed files are in the summary (``ok`` False).  ``market``: binance-vision's ``usd-m`` (default)
    or ``coin-m`` archive."""
    if (dataset is None) == (out is None):
        raise ValueError("out: give exactly one of --dataset DS or --out DIR")
    check_jobs(jobs, retries)
    if base_url is not None:
        from urllib.parse import urlsplit

        parts = urlsplit(str(base_url))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            # (no "://": no scheme, though Python 3.10's urlsplit takes "127.0.0.1:8080"'s host for one)
            shown = f"{parts.scheme}://{parts.hostname or ''}" if parts.scheme and "://" in str(base_url) else "no scheme"
            raise ValueError(f"base-url: must be an http:// or https:// address with a host; got {shown}")
    src = source_of(source, market)
    notes: list[str] = []  # the request cut to the days the source publishes (said before any transfer)
    units = plan(source, symbols, types, start, end, base_url=base_url, exchange=exchange, monthly=monthly,
                 notes=notes, market=market)
    for line in notes:
        (warn or _warn)(line)
    if dataset is not None:
        unreadable = sorted({u.type for u in units if not src.can_read(u.type)})
        if unreadable:
            raise ValueError(f"types: liqcore cannot read {source} {', '.join(unreadable)} files into a dataset "
                             f"(it reads {', '.join(src.readable or src.types())}); use --out to keep them as downloaded")
    if src.needs_key and not api_key:
        keyed = [u for u in units if not (src.keyless_first_of_month and u.period.endswith("-01"))]
        if keyed:
            free = " (without one tardis.dev serves the first day of each month only: "
            free = free + f"{len({u.period for u in keyed})} requested day(s) are not)" if \
                src.keyless_first_of_month else ""
            raise ValueError(f"TARDIS_API_KEY: no tardis.dev API key{free}; set TARDIS_API_KEY or give "
                             "--key-file FILE, a file of mode 0600")
    summary = DownloadSummary(source, dataset is not None, missing_status=src.missing_status)
    # the directories this run creates (--out, the dataset's folder): removed again if they end up empty
    made = missing_dirs(out if out is not None else dataset)
    try:
        return _download(source, units, summary, dataset, out, span=(start, end), jobs=jobs, retries=retries, backoff_s=backoff_s,
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


def _download(source, units, summary, dataset, out, *, span, jobs, retries, backoff_s, strict, api_key, lock_wait,
              feed_latency_ns, instruments, progress, warn, timeout_s) -> DownloadSummary:
    todo, stage, have = _todo(units, summary, dataset, out, span)
    from liqcore.interrupt import drop_forced_exit, on_forced_exit

    def remove_stage():
        shutil.rmtree(stage, ignore_errors=True)

    if dataset is not None:  # (a Ctrl-C whose deadline ends the process before the finally below)
        on_forced_exit(remove_stage)
    try:
        asyncio.run(_run(todo, summary, stage, have=have, order={u.url: i for i, u in enumerate(units)},
                         span=span, dataset=dataset, jobs=jobs, retries=retries, backoff_s=backoff_s,
                         strict=strict, api_key=api_key, lock_wait=lock_wait, feed_latency_ns=feed_latency_ns,
                         instruments=instruments, progress=progress, warn=warn, timeout_s=timeout_s,
                         source=source))
    finally:
        if dataset is not None:
            remove_stage()
            drop_forced_exit(remove_stage)
    return summary


def _month_cut(u: Unit, span) -> tuple[str, str] | None:
    """The (UTC) days of the file ``u`` a request ``span`` (first and last day) asks for, when it does not ask for
    all the file holds (a dataset takes only those days' events); None for a file wholly asked for. A month's file
    holds its month; OKX's file of a day holds the day in UTC+8 (16:00 UTC the day before to 15:59:59 UTC), so
    parts of two UTC days; any other day's file its day."""
    if len(u.period) == 7:
        first = _dt.date.fromisoformat(u.period + "-01")
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    elif source_of(u.source).day_start_h < 0:  # (a day file from before UTC midnight: parts of two UTC days)
        last = _dt.date.fromisoformat(u.period)
        first = last - _dt.timedelta(days=1)
    else:
        return None
    lo, hi = max(first, span[0]), min(last, span[1])
    return None if (lo, hi) == (first, last) else (lo.isoformat(), hi.isoformat())


def _taken(entry, u: Unit, span) -> bool:
    """Whether a manifest ``entry`` holds what ``u`` asks for: the whole file, or the days of a month's (or OKX's)
    file the request asks for (:func:`_month_cut`)."""
    if not isinstance(entry, dict):
        return False
    if "filters" not in entry:
        return True
    cut = _month_cut(u, span)
    return cut is not None and any(isinstance(f, dict) and f.get("days") == list(cut) and not f.get("kind")
                                   and not f.get("symbol") for f in entry["filters"])


def _todo(units: list[Unit], summary: DownloadSummary, dataset, out, span) -> tuple[list[Unit], Path, list]:
    """The units still to fetch (the others in ``summary.skipped``), where the files go, and the units
    already there with the source's version they were taken at (``(unit, version or None)``: a rerun asks
    the source for its version now and fetches again what it republished)."""
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
        return [u for u in units if not (where / u.name).is_file()], where, [(u, where / u.name) for u in have]
    from liqcore.dataset import read_manifest

    done = read_manifest(dataset)
    have = [u for u in units if _taken(done.get(storage.display(u.url)), u, span)]  # (kept by its shown URL)
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
    return todo, stage, [(u, done[storage.display(u.url)].get("source_version")) for u in have]


async def _republished(fetcher, have: list, summary: DownloadSummary) -> list[Unit]:
    """The units of ``have`` whose source version now differs from the one they were taken at (a file the
    source republished: a new ``.CHECKSUM``, ETag or size); they leave ``summary.skipped`` and are said in
    ``summary.republished``.  ``have``: ``(unit, the version it was converted at)`` (a dataset's manifest; a
    unit converted before versions were kept is left as it is) or ``(unit, the local file)`` (``--out``: the
    file is compared with the source's version, :func:`liqcore.download.fetch.local_matches`)."""
    from liqcore.download.fetch import local_matches

    known = [(u, v) for u, v in have if v]
    if not known:
        return []
    now = await asyncio.gather(*(fetcher.version(u.url, u.checksum_url) for u, _v in known))

    def changed(v, cur) -> bool:
        if cur is None:
            return False  # the source no longer says (or has it): the file kept stays
        if isinstance(v, Path):
            return not local_matches(v, cur)
        return cur != v

    # (the local files' digests off the loop)
    again = await asyncio.to_thread(lambda: [u for (u, v), cur in zip(known, now) if changed(v, cur)])
    if again:
        gone = {u.label for u in again}
        for why in list(summary.skipped):
            summary.skipped[why] = [lab for lab in summary.skipped[why] if lab not in gone]
            if not summary.skipped[why]:
                del summary.skipped[why]
        summary.republished = [u.label for u in again]
    return again


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


async def _run(todo: list[Unit], summary: DownloadSummary, stage: Path, *, have, order, span, dataset, jobs, retries,
               backoff_s, strict, api_key, lock_wait, feed_latency_ns, instruments, progress, warn, timeout_s,
               source):
    import aiohttp

    headers = {"Authorization": f"Bearer {api_key.reveal()}"} if api_key else {}
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout_s, sock_read=timeout_s)
    bar = None
    async with aiohttp.ClientSession(headers=headers, timeout=timeout, auto_decompress=False,
                                     raise_for_status=False) as session:
        src = source_of(source)
        fetcher = Fetcher(session, jobs=jobs, retries=retries, backoff_s=backoff_s, on_bytes=lambda n: bar.bytes(n),
                          missing_status=src.missing_status, refused_status=src.refused_status,
                          on_wait=lambda s, why: _warn(f"{source}: {why}: waiting {s:.0f} s before the next try"))
        try:  # the files already there that the source has republished since: fetched again
            todo = sorted(todo + await _republished(fetcher, have, summary), key=lambda u: order[u.url])
        except KeyRefused as exc:
            raise ValueError(_refused_line(source, api_key, str(exc))) from None
        except HostUnresolved as exc:  # a network failure, not a bad request: the CLI's exit 1, not 2
            raise ConnectionError(f"{source}: {exc}: no network, or a wrong --base-url; nothing was fetched") \
                from None
        except FetchFailed as exc:
            raise ValueError(f"{source}: asking the source for the versions of the files already there: {exc}") \
                from None
        bar = _Bar(len(todo), enabled=progress)
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
                    except Missing as exc:
                        if strict:
                            raise ValueError(f"missing at the source ({exc}): {u.label} ({redact_text(u.url)}); "
                                             f"--strict stops here") from None
                        summary.missing.append(u.label)
                        continue
                    except ChecksumMismatch as exc:
                        summary.refused[u.label] = str(exc)
                        continue
                    except FetchFailed as exc:
                        summary.failed[u.label] = redact_text(f"{exc} ({u.url})")  # (the URL shown, its secrets out of the text)
                        continue
                    except KeyRefused as exc:
                        raise ValueError(_refused_line(source, api_key, str(exc))) from None
                    except HostUnresolved as exc:  # every file is on that host: no point trying the others
                        raise ConnectionError(f"{source}: {exc}: no network, or a wrong --base-url; nothing more "
                                              f"was fetched") from None
                    finally:
                        top_up()
                        bar.file_done()
                    rows = None
                    if dataset is not None:
                        rows = await asyncio.to_thread(_convert, got.path, u, summary, dataset,
                                                       lock_wait=lock_wait, feed_latency_ns=feed_latency_ns,
                                                       instruments=instruments, warn=warn, version=got.version,
                                                       days=_month_cut(u, span))
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
             warn, version: str | None = None, days=None) -> int | None:
    """Convert one downloaded file into the dataset (keyed by its URL), then delete it; the rows added,
    or None when the file could not be read (in ``summary.failed``)."""
    from liqcore.dataset import DatasetLocked, convert_to_dataset
    from liqcore.io import storage

    storage.note_source(path, storage.display(u.url), version)  # (the manifest keeps no credential)
    try:
        # (a file the source published with no row, a header alone: said in a warning, never a failed file)
        res = convert_to_dataset([path], dataset, feed_latency_ns=feed_latency_ns, instruments=instruments,
                                 lock_wait=lock_wait, warn=warn or _warn, days=days, allow_empty=True)
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

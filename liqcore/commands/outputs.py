"""One behaviour for every output flag (``--out``, ``--report``, ``--plot``, ``--journal``, ``--log``...),
applied before a command does any work: the missing parent directories are created, and a path that
cannot be written (a parent that is a file, a directory where a file is wanted, no write permission,
a read-only file system) is a usage error: one line naming the flag, exit 2, no traceback.

    from liqcore.commands.outputs import output_dir, output_file
    output_file(args.out, "out")          # FILE: parents created, the directory checked writable
    output_dir(args.report, "report")     # DIR: created, checked writable

An output named by a URL (``s3://bucket/out.parquet``, any fsspec URL; :mod:`liqcore.io.storage`),
where the command writes it through the URL's file system (``url_ok=True``), is checked the same way
without creating anything locally: its file system known, its bucket there.  Elsewhere a URL is
refused (it never becomes a local directory named ``s3:``).
"""
from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from liqcore._extras import need

from liqcore._tables import fit_table, titled_table

__all__ = ["OutputPathError", "output_file", "output_dir", "print_frame", "remove_empty_outputs",
           "forget_created_outputs"]

#: the directories :func:`output_dir` and :func:`output_file` created in this process (parents first): a
#: command interrupted (Ctrl-C) or failing before it wrote into them leaves none of them behind empty
#: (:func:`remove_empty_outputs`, run by :func:`liqcore.cli.main` and at an interrupt's forced exit)
_CREATED: list = []


class OutputPathError(ValueError):
    """An output path that cannot be written (a usage error: the CLI prints one line, exit 2)."""


def _reason(exc: OSError) -> str:
    return exc.strerror or exc.__class__.__name__


#: file systems of the kernel's own objects (processes, devices, settings): no file can be created there
_PSEUDO_FS = frozenset({"proc", "sysfs", "cgroup", "cgroup2", "devpts", "debugfs", "tracefs", "securityfs",
                        "configfs", "bpf", "pstore", "efivarfs", "fusectl", "mqueue", "binfmt_misc", "nsfs",
                        "rpc_pipefs", "autofs", "selinuxfs"})


def _fs_type(path: Path) -> str | None:
    """The type of the file system ``path`` is on (``proc``, ``ext4``...), read from ``/proc/self/mounts``;
    None where that cannot be told (another system, an unreadable table)."""
    try:
        real = os.path.realpath(path)
        with open("/proc/self/mounts", encoding="utf-8", errors="replace") as fh:
            rows = [line.split() for line in fh]
    except OSError:
        return None
    best, fs = "", None
    for row in rows:
        if len(row) < 3:
            continue
        mnt = row[1].replace("\\040", " ").replace("\\011", "\t").replace("\\134", "\\")
        inside = real == mnt or real.startswith(mnt.rstrip("/") + "/")
        if inside and len(mnt) >= len(best):  # the deepest mount holding it (the last of equals: on top)
            best, fs = mnt, row[2]
    return fs


def _write_reason(exc: OSError, d: Path) -> str:
    """Why nothing can be written into (or created at) ``d``, in words: the system's reason, unless it
    misleads (a proc or sys file system answers "No such file or directory" for a directory that is
    there): then what the place is."""
    here = next((p for p in (d, *d.parents) if p.is_dir()), d)
    fs = _fs_type(here)
    if fs in _PSEUDO_FS:
        return (f"{'it' if here == d else here} is on the {fs} file system, which holds no files "
                "(not a writable file system)")
    if exc.errno == errno.EROFS:
        return "read-only file system"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENOENT and here == d:
        return f"files cannot be created there (not a writable file system{f': {fs}' if fs else ''})"
    return _reason(exc)


def _blocking_file(path: Path) -> Path | None:
    """The first existing ancestor of ``path`` (itself included) that is not a directory."""
    for p in [path, *path.parents]:
        if p.exists() or p.is_symlink():
            return None if p.is_dir() else p
    return None


def _make_dir(d: Path, flag: str, what: str) -> None:
    blocker = _blocking_file(d)
    if blocker is not None:
        raise OutputPathError(f"{flag}: cannot write {what}: {blocker} is a file, not a directory")
    missing = [p for p in (d, *d.parents) if not (p.exists() or p.is_symlink())]
    if missing:  # noted before they are made: a Ctrl-C landing as mkdir returns still finds them listed
        if not _CREATED:
            from liqcore.interrupt import on_forced_exit

            on_forced_exit(remove_empty_outputs)  # (idempotent: the list is emptied when it runs)
        _CREATED.extend(reversed(missing))
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(f"{flag}: cannot create the directory {d}: {_write_reason(exc, d.parent)}") from None
    # probe by writing (os.access says yes to root even where a write fails, e.g. a read-only mount)
    try:
        with tempfile.TemporaryFile(dir=d, prefix=".liqcore-write-test-"):
            pass
    except OSError as exc:
        raise OutputPathError(f"{flag}: cannot write into the directory {d}: {_write_reason(exc, d)}") from None


def remove_empty_outputs() -> list:
    """Remove the directories this process created for its outputs that are still empty (the deepest first; one
    that holds anything is kept, and so are its parents), then forget them all; the removed ones."""
    removed = []
    for p in reversed(_CREATED):
        try:
            p.rmdir()
        except OSError:  # not empty (or gone): kept
            continue
        removed.append(p)
    _CREATED.clear()
    return removed


def forget_created_outputs() -> None:
    """The command finished: what it created is its output, kept even when empty."""
    _CREATED.clear()


def output_dir(path: str | os.PathLike | None, flag: str = "out", *, url_ok: bool = False) -> Path | None:
    """Create the output directory ``path`` (and its parents) and check that it can be written;
    ``None`` passes through.  Raises :class:`OutputPathError` (a ValueError) naming ``flag``."""
    if path is None:
        return None
    if _url(path, flag, directory=True, ok=url_ok):
        return path
    p = Path(path).expanduser()
    if str(path) == "":
        raise OutputPathError(f"{flag}: empty path")
    _make_dir(p, flag, f"the directory {p}")
    return p


def output_file(path: str | os.PathLike | None, flag: str = "out", *, url_ok: bool = False) -> Path | None:
    """Create the parent directories of the output file ``path`` and check that the file can be
    written there (an existing file is replaced later, not now); ``None`` passes through.
    Raises :class:`OutputPathError` (a ValueError) naming ``flag``."""
    if path is None:
        return None
    if str(path) == "":
        raise OutputPathError(f"{flag}: empty path")
    if _url(path, flag, directory=False, ok=url_ok):
        return path
    p = Path(path).expanduser()
    if p.is_dir():
        raise OutputPathError(f"{flag}: {p} is a directory; give a file name")
    _make_dir(p.parent, flag, str(p))
    if p.exists() and not os.access(p, os.W_OK):
        raise OutputPathError(f"{flag}: cannot write {p}: permission denied")
    return p


def _url(path, flag: str, *, directory: bool, ok: bool) -> bool:
    """An output URL, checked (never a local path); False for a local path.  ``ok``: the command
    writes this output through a URL's file system (else a URL is refused, never made a directory)."""
    from liqcore.io import storage

    if not storage.is_url(str(path)):
        return False
    if not ok:
        raise OutputPathError(f"{flag}: this output is written to local files only; give a local path, "
                              f"not the URL {storage.display(path)}")
    try:
        storage.check_output(str(path), flag, directory=directory)
    except ValueError as exc:
        raise OutputPathError(str(exc)) from None
    return True


def print_frame(console, frame, title: str, percent=(), caption: str | None = None) -> None:
    """A DataFrame as a rich table; the columns named in ``percent`` hold fractions, shown in % (0.5 -> 50%);
    ``caption``: a line under it (what a column's unit is)."""
    pd = need("research", "pandas")
    from rich.table import Table

    t = titled_table(title, title_justify="left", caption=caption)
    for c in frame.columns:
        t.add_column(str(c), justify="right" if pd.api.types.is_numeric_dtype(frame[c]) else "left")
    pct = [str(c) in set(percent) for c in frame.columns]
    for row in frame.itertuples(index=False):
        cells = []
        for v, is_pct in zip(row, pct):
            if isinstance(v, float) and is_pct:
                cells.append("—" if v != v else f"{v * 100:.4g}%")
            elif isinstance(v, float):
                cells.append("—" if v != v else (f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"))
            else:
                cells.append(f"{v:,}" if isinstance(v, int) else str(v))
        t.add_row(*cells)
    console.print(fit_table(console, t))

"""Atomic outputs: a file or a report directory is either wholly the old one or wholly the new one.

The details: docs/reference/backtest-outputs.md, "Atomic outputs".

May import: the standard library.
"""
from __future__ import annotations

import contextlib
import errno
import itertools
import os
import shutil
import stat
from pathlib import Path
from typing import Iterator

__all__ = ["DiskFull", "is_disk_full", "atomic_path", "write_bytes", "write_text", "save_figure",
           "building_dir", "remove_stale", "replace_durably"]

_TAG = ".liqcore-tmp-"
_COUNTER = itertools.count()
_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_FULL_TEXT = ("no space left on device", "disk quota exceeded")


class DiskFull(OSError):
    """No space left (ENOSPC or EDQUOT) while writing ``filename``; the earlier output is kept."""


def is_disk_full(exc: BaseException) -> bool:
    """True for ENOSPC/EDQUOT, also where a library (pyarrow) only says so in the message."""
    if not isinstance(exc, OSError):
        return False
    if exc.errno in _FULL_ERRNOS:
        return True
    text = str(exc).lower()
    return any(t in text for t in _FULL_TEXT)


def _disk_full(exc: OSError, dest: Path) -> DiskFull:
    code = exc.errno if exc.errno in _FULL_ERRNOS else errno.ENOSPC
    return DiskFull(code, "no space left on device", str(dest))


def _named(exc: OSError, dest: Path) -> OSError:
    """``exc`` with the path it failed to write (a write error of a library often names none)."""
    if exc.errno:
        return OSError(exc.errno, os.strerror(exc.errno), str(dest))
    return OSError(errno.EIO, " ".join(str(exc).split()) or type(exc).__name__, str(dest))


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (this process does; pid 0 or less never names a writer)."""
    if pid <= 0:
        return False
    if pid == os.getpid() or os.name == "nt":  # Windows: os.kill(pid, 0) would signal the process
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _pid_of(name: str, prefix: str, suffix: str = "") -> int | None:
    core = name[len(prefix):len(name) - len(suffix) if suffix else None]
    head = core.split("-", 1)[0]
    return int(head) if head.isdigit() else None


def remove_stale(dest: str | os.PathLike) -> int:
    """Remove the temporary files and directories of ``dest`` left by writers that are no longer
    running (a kill between writing and renaming); returns how many were removed."""
    dest = Path(dest)
    parent = dest.parent
    n = 0
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return 0
    file_prefix = _TAG
    dir_prefix = f".{dest.name}{_TAG}"
    for e in entries:
        pid = None
        if e.name.startswith(dir_prefix):
            pid = _pid_of(e.name, dir_prefix)
        elif e.name.startswith(file_prefix) and e.name.endswith("." + dest.name):
            pid = _pid_of(e.name, file_prefix)
        if pid is None or pid_alive(pid):
            continue
        try:
            if e.is_dir(follow_symlinks=False):
                shutil.rmtree(e.path, ignore_errors=True)
            else:
                os.unlink(e.path)
            n += 1
        except OSError:
            pass
    return n


def _fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _target(dest) -> Path:
    p = Path(dest).expanduser()
    if p.is_symlink():  # write through the link: the link stays, its target is replaced
        p = Path(os.path.realpath(p))
    return p


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike, *, fsync: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``dest`` for the caller to write (by name: its suffixes are
    those of ``dest``, so writers that pick a format by suffix work); on a clean exit the file is
    flushed (fsync when ``fsync``), given ``dest``'s mode and renamed over ``dest``.  On any error
    the temporary file is removed and ``dest`` is left as it was; a full disk is raised as
    :class:`DiskFull` naming ``dest``."""
    dest = _target(dest)
    remove_stale(dest)
    tmp = dest.parent / f"{_TAG}{os.getpid()}-{next(_COUNTER)}.{dest.name}"
    try:
        # created here (mode 0666 less the umask, as a plain open would give), then written by the caller
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        try:
            os.chmod(tmp, stat.S_IMODE(dest.stat().st_mode))
        except OSError:
            pass
        yield tmp
        _replace(tmp, dest, fsync)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, DiskFull) and is_disk_full(exc):
            raise _disk_full(exc, dest) from exc
        if isinstance(exc, OSError) and (not exc.filename or str(exc.filename) == str(tmp)):
            raise _named(exc, dest) from exc
        raise
    if fsync:
        _fsync_dir(dest.parent)


def _replace(tmp: Path, dest: Path, fsync: bool) -> None:
    if fsync:
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    os.replace(tmp, dest)


def replace_durably(tmp: str | os.PathLike, dest: str | os.PathLike) -> None:
    """Rename a finished temporary file ``tmp`` over ``dest`` the way :func:`atomic_path` does: the file
    fsynced first, the rename, then the directory fsynced (for a writer that names its own temporaries,
    such as a dataset's partitions and manifest)."""
    dest = Path(dest)
    _replace(Path(tmp), dest, True)
    _fsync_dir(dest.parent)


def write_bytes(dest: str | os.PathLike, data: bytes, *, fsync: bool = True) -> Path:
    """Write ``data`` to ``dest`` atomically (see :func:`atomic_path`); returns ``dest``."""
    with atomic_path(dest, fsync=fsync) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
    return Path(dest)


def write_text(dest: str | os.PathLike, text: str, *, encoding: str = "utf-8", fsync: bool = True) -> Path:
    """Write ``text`` to ``dest`` atomically (see :func:`atomic_path`); returns ``dest``."""
    return write_bytes(dest, text.encode(encoding), fsync=fsync)


def save_figure(fig, dest: str | os.PathLike, **kwargs) -> Path:
    """``fig.savefig(dest, **kwargs)`` through a temporary file (a figure is not fsynced)."""
    with atomic_path(dest, fsync=False) as tmp:
        fig.savefig(tmp, **kwargs)
    return Path(dest)


# ---- directories ------------------------------------------------------------------------------
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap the directories ``a`` and ``b`` in one step (Linux renameat2 RENAME_EXCHANGE); False
    where the platform or the file system cannot."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, getattr(errno, "ENOTSUP", errno.EINVAL), errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _owned_only(d: Path, owned) -> bool:
    """Does the existing directory ``d`` hold nothing but files a report writes (``owned(name)``)?"""
    try:
        with os.scandir(d) as it:
            return all(e.is_file(follow_symlinks=False) and owned(e.name) for e in it)
    except OSError:
        return False


@contextlib.contextmanager
def building_dir(dest: str | os.PathLike, owned=None) -> Iterator[Path]:
    """Yield an empty directory beside ``dest`` to build an output directory in; on a clean exit it
    replaces ``dest`` whole (an atomic exchange where the platform has one), so ``dest`` is at every
    moment either wholly the earlier directory or wholly the new one.  On any error the new
    directory is removed and ``dest`` is left as it was.

    ``owned(name)`` says which file names the output writes.  Where ``dest`` also holds anything
    else (other files, sub-directories, or it is the current directory), it is not swapped: the new
    files are renamed into it one by one (each atomically, the last one given last) and owned files
    the new output no longer has are removed; the other files are never touched."""
    dest = Path(dest).expanduser()
    if dest.is_symlink():
        dest = Path(os.path.realpath(dest))
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(dest)
    stage = dest.parent / f".{dest.name}{_TAG}{os.getpid()}-{next(_COUNTER)}"
    try:
        os.mkdir(stage)
        yield stage
        _swap_in(stage, dest, owned)
    except BaseException as exc:
        shutil.rmtree(stage, ignore_errors=True)
        if isinstance(exc, OSError) and is_disk_full(exc):
            # named by where the file was to go (the directory the user gave), not the one being built
            inner = str(exc.filename or "")
            named = dest / inner[len(str(stage)) + 1:] if inner.startswith(str(stage) + os.sep) else dest
            raise _disk_full(exc, named) from exc
        if isinstance(exc, OSError) and not exc.filename:
            raise _named(exc, dest) from exc
        raise


def _swap_in(stage: Path, dest: Path, owned) -> None:
    owned = owned or (lambda name: False)
    try:
        is_cwd = dest.exists() and os.path.samefile(dest, os.getcwd())
    except OSError:
        is_cwd = False
    if not dest.exists():
        os.rename(stage, dest)
        _fsync_dir(dest.parent)
        return
    if not dest.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(dest))
    if not is_cwd and _owned_only(dest, owned):
        try:
            os.rmdir(dest)  # empty: a plain rename then puts the new one in its place
            os.rename(stage, dest)
            _fsync_dir(dest.parent)
            return
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
        if _exchange(stage, dest):
            _fsync_dir(dest.parent)
            shutil.rmtree(stage, ignore_errors=True)  # now the earlier directory
            return
        # no exchange: the earlier directory steps aside for the moment of one rename
        old = dest.parent / f".{dest.name}{_TAG}{os.getpid()}-{next(_COUNTER)}"
        os.rename(dest, old)
        try:
            os.rename(stage, dest)
        except BaseException:
            os.rename(old, dest)
            raise
        _fsync_dir(dest.parent)
        shutil.rmtree(old, ignore_errors=True)
        return
    # a shared directory: file by file, the new files first, then the stale owned ones go
    names = sorted(os.listdir(stage))
    last = [n for n in names if n.endswith((".html", ".md"))]
    for n in [n for n in names if n not in last] + last:
        os.replace(stage / n, dest / n)
    keep = set(names)
    for e in os.scandir(dest):
        if e.name not in keep and e.is_file(follow_symlinks=False) and owned(e.name):
            with contextlib.suppress(OSError):
                os.unlink(e.path)
    os.rmdir(stage)
    _fsync_dir(dest)

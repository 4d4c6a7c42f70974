"""Where liqcore keeps regenerable data (the synthetic-market ``.npz`` files), and how to inspect or
clear it.

The cache lives in the user's cache directory, never in the working directory:

1. ``$LIQCORE_CACHE_DIR`` when set (``$LIQCORE_CACHE`` is still honoured as an older spelling);
2. otherwise the platform's user cache directory for ``liqcore``: ``$XDG_CACHE_HOME/liqcore`` or
   ``~/.cache/liqcore`` on Linux, ``~/Library/Caches/liqcore`` on macOS,
   ``%LOCALAPPDATA%\\liqcore\\Cache`` on Windows.

Everything in it can be deleted at any time (``liqcore cache clear``); it is rebuilt on demand.
:func:`clear_cache` deletes only the files liqcore writes there (``synth-*.npz`` and their temporary
files), so pointing ``$LIQCORE_CACHE_DIR`` at a shared directory is safe.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ENV_VAR", "cache_dir", "cache_files", "cache_info", "clear_cache", "LEGACY_DIR_NAME"]

ENV_VAR = "LIQCORE_CACHE_DIR"
_OLD_ENV_VAR = "LIQCORE_CACHE"
#: the directory older versions created in the working directory
LEGACY_DIR_NAME = ".liqcore-cache"
#: the files liqcore writes into the cache directory
_PATTERNS = ("synth-*.npz",)


def cache_dir() -> Path:
    """The cache directory in force (not created here)."""
    for var in (ENV_VAR, _OLD_ENV_VAR):
        v = os.environ.get(var, "").strip()
        if v:
            return Path(v).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("liqcore", appauthor=False))


def cache_files(path: str | Path | None = None) -> list[Path]:
    """liqcore's files in ``path`` (default: :func:`cache_dir`), sorted."""
    d = Path(path) if path is not None else cache_dir()
    if not d.is_dir():
        return []
    return sorted({f for pat in _PATTERNS for f in d.glob(pat) if f.is_file()})


def cache_info(path: str | Path | None = None) -> dict:
    """``{"path", "exists", "files", "bytes"}`` of the cache (default: :func:`cache_dir`)."""
    d = Path(path) if path is not None else cache_dir()
    files = cache_files(d)
    return {"path": str(d), "exists": d.is_dir(), "files": len(files),
            "bytes": sum(f.stat().st_size for f in files)}


def clear_cache(path: str | Path | None = None) -> dict:
    """Delete liqcore's files from the cache (default: :func:`cache_dir`); the directory itself is
    removed when that leaves it empty.  Returns ``{"path", "files", "bytes"}`` of what was deleted."""
    d = Path(path) if path is not None else cache_dir()
    n = size = 0
    for f in cache_files(d):
        try:
            st = f.stat().st_size
            f.unlink()
        except FileNotFoundError:
            continue
        n += 1
        size += st
    try:
        d.rmdir()  # only when empty
    except OSError:
        pass
    return {"path": str(d), "files": n, "bytes": size}

"""Where liqcore keeps regenerable data (the synthetic-market ``.npz`` files), and how to inspect or
clear it.

The cache lives in the user's cache directory, never in the working directory:

1. ``$LIQCORE_CACHE_DIR`` when set (``$LIQCORE_CACHE`` is still honoured as an older spelling);
2. otherwise the platform's user cache directory for ``liqcore``: ``$XDG_CACHE_HOME/liqcore`` or
   ``~/.cache/liqcore`` on Linux, ``~/Library/Caches/liqcore`` on macOS,
   ``%LOCALAPPDATA%\\liqcore\\Cache`` on Windows.

Everything in it can be deleted at any time (``liqcore cache clear``); it is rebuilt on demand.
:func:`clear_cache` deletes only the files liqcore writes there (``synth-*.npz`` and their temporary
files, and ``judge-answers.sqlite``, a backtest's language-model answers: :mod:`liqcore.judge.cache`),
so pointing ``$LIQCORE_CACHE_DIR`` at a shared directory is safe.  The size cap below evicts markets
only, never the judge's answers.

The cache has a size cap: ``$LIQCORE_CACHE_MAX`` (``--cache-max`` on the command line; a size such
as ``500MB``, ``2GB``, ``0`` to keep nothing, ``unlimited``), default :data:`DEFAULT_MAX_BYTES`
(1 GB).  Each use of a file marks it used (its modification time); after a write, the least
recently used files are deleted until the cache fits (:func:`enforce_limit`), and a file larger
than the cap alone is not written.
"""
from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path

__all__ = ["ENV_VAR", "MAX_ENV_VAR", "DEFAULT_MAX_BYTES", "cache_dir", "cache_files", "cache_info", "clear_cache",
           "enforce_limit", "format_size", "max_bytes", "parse_size", "touch", "LEGACY_DIR_NAME"]

ENV_VAR = "LIQCORE_CACHE_DIR"
#: the size cap of the cache (a size: ``500MB``, ``2GB``, ``0``, ``unlimited``)
MAX_ENV_VAR = "LIQCORE_CACHE_MAX"
#: the cap when ``$LIQCORE_CACHE_MAX`` is not set: 1 GB
DEFAULT_MAX_BYTES = 1_000_000_000
_OLD_ENV_VAR = "LIQCORE_CACHE"
#: the directory older versions created in the working directory
LEGACY_DIR_NAME = ".liqcore-cache"
#: the files liqcore writes into the cache directory
_PATTERNS = ("synth-*.npz",)
#: the judge's answers (``liqcore.judge.cache``): cleared with the rest, never evicted by the size cap
#: (answers cost a model call each, markets only a regeneration)
_JUDGE_PATTERNS = ("judge-answers.sqlite", "judge-answers.sqlite-wal", "judge-answers.sqlite-shm")


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


def _sizes(files: list[Path]) -> list[tuple[Path, int, float]]:
    """(file, size, last use) of the files still there."""
    out = []
    for f in files:
        try:
            st = f.stat()
        except OSError:  # deleted meanwhile (another process evicting or clearing)
            continue
        out.append((f, st.st_size, st.st_mtime))
    return out


def cache_info(path: str | Path | None = None) -> dict:
    """``{"path", "exists", "files", "bytes", "max_bytes"}`` of the cache (default: :func:`cache_dir`);
    ``max_bytes`` is the cap in force (None: unlimited)."""
    d = Path(path) if path is not None else cache_dir()
    files = _sizes(cache_files(d))
    judge = _sizes(_judge_files(d))
    return {"path": str(d), "exists": d.is_dir(), "files": len(files),
            "bytes": sum(size for _f, size, _t in files), "max_bytes": max_bytes(),
            "judge_bytes": sum(size for _f, size, _t in judge)}


def _judge_files(d: Path) -> list[Path]:
    return sorted(f for pat in _JUDGE_PATTERNS for f in d.glob(pat) if f.is_file()) if d.is_dir() else []


_SIZE_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([kmgt]i?b|b)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
               "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_size(text, name: str = "cache-max") -> int | None:
    """``"500MB"`` -> 500_000_000 (kB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB of 1024, a plain
    number is bytes); ``"unlimited"`` / ``"none"`` -> None.  Anything else is a ValueError."""
    t = str(text).strip()
    if t.lower() in ("unlimited", "none", "inf"):
        return None
    m = _SIZE_RE.match(t)
    if not m:
        raise ValueError(f"{name}: expected a size such as 500MB, 2GB, 0 or unlimited; got {text!r}")
    v = float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()]
    if not math.isfinite(v):
        raise ValueError(f"{name}: expected a size such as 500MB, 2GB, 0 or unlimited; got {text!r}")
    return int(v)


def format_size(n: int | None) -> str:
    """``1_000_000_000`` -> ``"1.0 GB"`` (powers of 1000); None -> ``"unlimited"``."""
    if n is None:
        return "unlimited"
    if n >= 10**9:
        return f"{n / 1e9:.1f} GB"
    return f"{n / 1e6:.1f} MB"


def max_bytes() -> int | None:
    """The cap in force: ``$LIQCORE_CACHE_MAX`` when set (None: unlimited), else :data:`DEFAULT_MAX_BYTES`."""
    v = os.environ.get(MAX_ENV_VAR, "").strip()
    if not v:
        return DEFAULT_MAX_BYTES
    return parse_size(v, MAX_ENV_VAR)


def touch(path: str | Path) -> None:
    """Mark a cache file used now (eviction deletes the least recently used first)."""
    try:
        os.utime(path)
    except OSError:  # read-only cache or a file deleted meanwhile: only the eviction order suffers
        pass


def enforce_limit(path: str | Path | None = None, limit: int | None | str = "env",
                  keep: str | Path | None = None) -> dict:
    """Delete the least recently used of liqcore's files in the cache (default: :func:`cache_dir`)
    until the rest fit in ``limit`` bytes (default: :func:`max_bytes`; None: no cap).  ``keep`` (the
    file just written or loaded) goes last: it is deleted only when it alone exceeds the cap.
    Returns ``{"path", "files", "bytes", "max_bytes"}``: what was deleted and the cap."""
    d = Path(path) if path is not None else cache_dir()
    cap = max_bytes() if limit == "env" else limit
    gone = freed = 0
    if cap is not None:
        entries = _sizes(cache_files(d))
        keep_p = Path(keep).resolve() if keep is not None else None
        # oldest use first; the kept file after every other
        entries.sort(key=lambda e: (keep_p is not None and e[0].resolve() == keep_p, e[2], e[0].name))
        total = sum(size for _f, size, _t in entries)
        now = time.time()
        for f, size, t in entries:
            if total <= cap:
                break
            if ".tmp" in f.name and now - t < 600:
                continue  # another process is writing it
            try:
                f.unlink()
            except FileNotFoundError:
                pass
            except OSError:  # in use elsewhere (Windows) or read-only: keep it, count it
                continue
            total -= size
            gone += 1
            freed += size
    return {"path": str(d), "files": gone, "bytes": freed, "max_bytes": cap}


def clear_cache(path: str | Path | None = None) -> dict:
    """Delete liqcore's files from the cache (default: :func:`cache_dir`); the directory itself is
    removed when that leaves it empty.  Returns ``{"path", "files", "bytes"}`` of what was deleted."""
    d = Path(path) if path is not None else cache_dir()
    n = size = 0
    for f in cache_files(d) + _judge_files(d):
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

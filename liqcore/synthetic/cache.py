"""The synthetic market's cache entries: where one lives (``synth-<key>.npz`` in the cache directory),
reading one back, and writing one (atomically, under the cache's size cap, least recently used evicted
first).  The key itself (the generator's version, code digest and arguments) is the generator's
(:mod:`liqcore.synthetic.market`); an entry that cannot be read is regenerated, and a directory that
cannot be written only costs the next call a regeneration.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

__all__ = ["cache_path", "read_market", "write_market"]


def cache_dir(where) -> Path:
    """``where``, or the user's liqcore cache directory when it is None."""
    if where is not None:
        return Path(where)
    from liqcore.cache import cache_dir as default_cache_dir

    return default_cache_dir()


def cache_path(where, key: str) -> Path:
    """The file of the market cached under ``key`` in ``where`` (None: the default cache directory)."""
    return cache_dir(where) / f"synth-{key}.npz"


def read_market(path: Path, event_dtype: np.dtype, truth_dtype: np.dtype) -> tuple[np.ndarray, np.ndarray] | None:
    """The ``(events, truth)`` cached at ``path`` (marked as used now: evicted last), or None when there is
    no entry or it cannot be read (the caller regenerates and overwrites it)."""
    if not path.is_file():
        return None
    try:
        from liqcore.cache import load_market

        events, truth = load_market(path, event_dtype)
        if events.dtype == event_dtype and truth.dtype == truth_dtype:
            from liqcore.cache import touch

            touch(path)  # used now: evicted last
            return events, truth
    except (OSError, ValueError, KeyError):
        pass  # unreadable cache entry: regenerate and overwrite
    return None


#: cache directories a write failed in, this process: directory -> the system's reason (said once, on stderr)
UNWRITABLE: dict = {}


def write_market(path: Path, events: np.ndarray, truth: np.ndarray) -> Path | None:
    """Cache ``(events, truth)`` at ``path``; returns the path, or None when nothing was written (the cache
    is off, the entry is bigger than the cap (said on stderr), or the directory cannot be written)."""
    from liqcore.cache import MAX_ENV_VAR, enforce_limit, format_size, max_bytes, save_market

    cap = max_bytes()
    if cap == 0:  # the user asked for no cache
        return None
    written = None
    tmp = path.with_suffix(f".tmp{os.getpid()}.npz")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_market(tmp, events, truth)  # compressed: its size is known once written
        size = tmp.stat().st_size
        if cap is not None and size > cap:
            tmp.unlink()
            print(f"synthetic market: not cached: it takes {format_size(size)}, more than the cache cap of "
                  f"{format_size(cap)} (--cache-max or ${MAX_ENV_VAR})", file=sys.stderr)
        else:
            os.replace(tmp, path)
            written = path
    except OSError as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        # a read-only directory only costs the next call a regeneration: said once per directory and process
        where = str(path.parent)
        if where not in UNWRITABLE:
            UNWRITABLE[where] = exc.strerror or type(exc).__name__
            print(f"synthetic market: not cached: the cache directory {where} cannot be written "
                  f"({UNWRITABLE[where]}); the market is generated again on each run ($LIQCORE_CACHE_DIR sets "
                  "another)", file=sys.stderr)
    if written is not None:
        enforce_limit(path.parent, keep=path)  # least recently used first, down to the cap
    return written

"""The Numba kernels: the execution model (``sim.py``: signals -> orders -> fills -> trades), the
synthetic market (``synth.py``), the feature store's scans (``features.py``), the zone
detector (``zones.py``) and the chunked backtest's one pass per chunk from the read to the simulator
(``chunks.py``).  Nothing here compiles at import: functions compile (or load from the
Numba cache) on first call, and only modules that need them import this package.

May import: numpy, numba, ``liqcore.types`` and the signal contract (``SIGNAL_DTYPE`` and its
codes) only -- no I/O, no pandas, nothing above the kernels.  Imported by ``strategies``,
``backtest``, ``research`` and ``commands``.  This ``__init__`` alone touches files (``os``, ``hashlib``): the
Numba cache's bookkeeping (:func:`drop_stale_cache`), called once at import, no kernel's code.

A new Numba kernel goes here as one module, with its pure-Python twin in ``pysrc/``, its row in
``pysrc.TWINS`` and a property test comparing the two.
"""
from __future__ import annotations

import hashlib
import os

#: the file beside a folder's Numba cache that holds the stamp of the folder's sources the cache was made from
STAMP_NAME = "liqcore-sources.stamp"


def _probe() -> None:  # (a function of this folder: Numba's cache path for it is the folder's kernels')
    return None


def sources_stamp(folder: str) -> str:
    """A digest of the Python sources of ``folder`` (each one's name, modification time in ns and size)."""
    h = hashlib.sha1()
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            st = os.stat(os.path.join(folder, name))
            h.update(f"{name}:{st.st_mtime_ns}:{st.st_size};".encode())
    return h.hexdigest()


def drop_stale_cache(probe=_probe) -> int:
    """Numba keys a cached kernel on its own file alone: a kernel calling one of another module keeps that callee's
    old code compiled in after the other module alone changed (an edit in an editable checkout ran the old fill
    model until the cache was cleared by hand).  Here the cache of the kernels of ``probe``'s folder is keyed on
    all of the folder's sources: where any changed since the stamp kept beside the cache, every cache entry of the
    folder's modules is removed (each kernel compiled again at its first call) and the new stamp written -> the
    entries removed.  A cache Numba cannot place, read or write is left as it is (0).  Called once, at this
    package's import (the kernels' modules import it first)."""
    try:
        from numba.core.caching import FunctionCache

        folder = os.path.dirname(os.path.abspath(probe.__code__.co_filename))
        cache = FunctionCache(probe).cache_path
        stamp = sources_stamp(folder)
        at = os.path.join(cache, STAMP_NAME)
        try:
            with open(at, encoding="ascii") as f:
                if f.read() == stamp:
                    return 0
        except FileNotFoundError:
            pass
        mods = {name[:-3] for name in os.listdir(folder) if name.endswith(".py")}
        gone = 0
        for name in os.listdir(cache) if os.path.isdir(cache) else ():
            if name.endswith((".nbi", ".nbc")) and name.split(".", 1)[0] in mods:
                try:
                    os.remove(os.path.join(cache, name))
                    gone += 1
                except FileNotFoundError:  # (another process removed it first)
                    pass
        os.makedirs(cache, exist_ok=True)
        tmp = f"{at}.{os.getpid()}"
        with open(tmp, "w", encoding="ascii") as f:
            f.write(stamp)
        os.replace(tmp, at)
        return gone
    except (OSError, RuntimeError, ImportError, UnicodeDecodeError):  # (no cache Numba can place, a read-only one)
        return 0


drop_stale_cache()

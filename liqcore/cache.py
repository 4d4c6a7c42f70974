"""Where liqcore keeps regenerable data (the synthetic-market ``.npz`` files), and how to inspect or clear it.

The directory, what :func:`clear_cache` deletes, the size cap (:func:`enforce_limit`) and the market
file's lossless column encoding (:func:`save_market` / :func:`load_market`): docs/reference/backtest-outputs.md, "The cache".

May import: numpy, zstandard and platformdirs (inside functions) and the standard library; never the
synthetic market itself (``synthetic.cache`` calls it).
"""
from __future__ import annotations

import json
import math
import os
import re
import time
from pathlib import Path

import numpy as np

__all__ = ["ENV_VAR", "MAX_ENV_VAR", "DEFAULT_MAX_BYTES", "cache_dir", "cache_files", "cache_info", "clear_cache",
           "enforce_limit", "format_size", "max_bytes", "parse_size", "touch", "LEGACY_DIR_NAME", "save_market",
           "load_market", "MARKET_CODEC"]

ENV_VAR = "LIQCORE_CACHE_DIR"
#: the size cap of the cache (a size: ``500MB``, ``2GB``, ``0``, ``unlimited``)
MAX_ENV_VAR = "LIQCORE_CACHE_MAX"
#: the cap when ``$LIQCORE_CACHE_MAX`` is not set: 1 GB
DEFAULT_MAX_BYTES = 1_000_000_000
_OLD_ENV_VAR = "LIQCORE_CACHE"
#: the directory older versions created in the working directory
LEGACY_DIR_NAME = ".liqcore-cache"
#: the files liqcore writes into the cache directory
_PATTERNS = ("synth-*.npz", "footer-*.bin")  # (footer-: :mod:`liqcore.dataset.footcache`)
#: the judge's answers (``liqcore.judge.cache``): cleared with the rest, never evicted by the size cap
#: (answers cost a model call each, markets only a regeneration)
_JUDGE_PATTERNS = ("judge-answers.sqlite", "judge-answers.sqlite-wal", "judge-answers.sqlite-shm")
#: the datasets' verification ledger (``liqcore.dataset.ledger``: the row groups already hashed): cleared with
#: the rest (a read then hashes again what it decodes), never evicted by the size cap (a few kB)
_LEDGER_PATTERNS = ("verified-groups.json",)


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
    judge = _sizes(_named_files(d, _JUDGE_PATTERNS))
    return {"path": str(d), "exists": d.is_dir(), "files": len(files),
            "bytes": sum(size for _f, size, _t in files), "max_bytes": max_bytes(),
            "judge_bytes": sum(size for _f, size, _t in judge)}


def _named_files(d: Path, patterns) -> list[Path]:
    """The files of ``d`` matching ``patterns``, sorted ([] without ``d``)."""
    return sorted(f for pat in patterns for f in d.glob(pat) if f.is_file()) if d.is_dir() else []


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
    for f in cache_files(d) + _named_files(d, _JUDGE_PATTERNS + _LEDGER_PATTERNS):
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


# ------------------------------------------------------------------------------------ market files

#: the version of the column coding of a market file (the ``codec`` member)
MARKET_CODEC = 1
_ZSTD_LEVEL = 3
#: rows per chunk of a market file (10 MB of events): chunks decode independently, in parallel
_CHUNK = 1 << 18


def _bits_equal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype.itemsize == b.dtype.itemsize and bool(np.array_equal(a.view(f"u{a.dtype.itemsize}"),
                                                                        b.view(f"u{b.dtype.itemsize}")))


def _decimals(v: np.ndarray) -> int | None:
    """The fewest decimals d (0..9) such that ``round(v * 10**d) / 10**d`` is ``v`` bit for bit, or None
    (found on a sample of ``v`` first, then confirmed, or raised, on all of it)."""
    def fits(x, d) -> bool:
        m = np.round(x * 10.0**d)
        return bool(np.all(np.abs(m) < 2.0**53)) and _bits_equal(m / 10.0**d, x)  # (NaN, inf: never)

    with np.errstate(all="ignore"):
        sample = v[:: max(1, len(v) // 1024)]
        start = next((d for d in range(10) if fits(sample, d)), None)
        if start is None:
            return None
        return next((d for d in range(start, 10) if fits(v, d)), None)


def _narrow(v: np.ndarray) -> np.ndarray:
    """Integers in the smallest of int8 / int16 / int32 that holds them all (as they are otherwise)."""
    if v.dtype.kind not in "iu" or not len(v) or v.dtype.itemsize == 1:
        return v
    lo, hi = int(v.min()), int(v.max())
    for small in (np.int8, np.int16, np.int32):
        info = np.iinfo(small)
        if info.min <= lo and hi <= info.max:
            return v.astype(small) if np.dtype(small).itemsize < v.dtype.itemsize else v
    return v


def _encode_column(name: str, col: np.ndarray, events: np.ndarray):
    """(how, the integers or values stored, extra) of one event column (of a chunk), each way lossless."""
    col = np.ascontiguousarray(col)
    if name == "ts_event" and col.dtype == np.int64:
        first = int(col[0]) if len(col) else 0
        steps = np.diff(col, prepend=np.array([first], col.dtype))  # the first step is 0
        unit = int(np.gcd.reduce(steps)) if len(steps) and steps.min() >= 0 else 0
        if unit > 1:  # times on a grid (a millisecond one): steps in its units
            steps //= unit
        return "steps", _narrow(steps), {"first": first, "unit": max(unit, 1)}
    if name == "ts_recv" and col.dtype == np.int64 and events.dtype.fields["ts_event"][0] == np.int64:
        return "offset:ts_event", _narrow(col - events["ts_event"]), None
    if col.dtype.kind == "f":
        d = _decimals(col) if len(col) else None
        if d is not None:
            return "decimals", _narrow(np.round(col * 10.0**d).astype(np.int64)), d
    return "raw", _narrow(col), None


def save_market(path: str | Path, events: np.ndarray, truth: np.ndarray) -> None:
    """Write a market (its event array and its planted truth) to ``path`` (an ``.npz``): the events in
    chunks of :data:`_CHUNK` rows, each column of a chunk coded on its own (:func:`_encode_column`)
    and compressed with zstd, so that chunks load independently, in parallel."""
    from concurrent.futures import ThreadPoolExecutor

    import zstandard

    names = events.dtype.names
    meta = {"codec": MARKET_CODEC, "n": len(events), "fields": {f: events.dtype[f].str for f in names},
            "chunks": []}

    def encode(a):  # one chunk: (its entry, its frames); zstd and numpy release the GIL
        comp = zstandard.ZstdCompressor(level=_ZSTD_LEVEL)  # one per call: not shared across threads
        part = events[a:a + _CHUNK]
        chunk, frames = {"rows": len(part), "columns": {}}, {}
        for f in names:
            how, stored, extra = _encode_column(f, part[f], part)
            frames[f] = comp.compress(np.ascontiguousarray(stored).tobytes())
            chunk["columns"][f] = {"how": how, "dtype": stored.dtype.str, "extra": extra, "size": len(frames[f])}
        return chunk, frames

    blobs: dict = {f: [] for f in names}
    sizes = {f: 0 for f in names}
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        for chunk, frames in pool.map(encode, range(0, len(events), _CHUNK)):
            for f in names:
                chunk["columns"][f]["at"] = sizes[f]
                blobs[f].append(frames[f])
                sizes[f] += len(frames[f])
            meta["chunks"].append(chunk)
    members = {f"col.{f}": np.frombuffer(b"".join(blobs[f]), np.uint8) for f in names}
    np.savez(path, meta=np.array(json.dumps(meta)), truth=truth, **members)


def _decode_chunk(events: np.ndarray, chunk: dict, blobs: dict) -> None:
    """Decompress one chunk's columns and write them into ``events`` (its rows), in place."""
    import zstandard

    dec = zstandard.ZstdDecompressor()  # one per call: an instance is not shared across threads
    for f, info in chunk["columns"].items():  # ts_event before ts_recv (the offsets are from it)
        blob = blobs[f]
        v = np.frombuffer(dec.decompress(blob[info["at"]:info["at"] + info["size"]]), np.dtype(info["dtype"]))
        out = events[f]
        if len(v) != len(events):
            raise ValueError(f"column {f} holds {len(v):,} values in a chunk of {len(events):,} rows")
        how = info["how"]
        if how == "steps":
            np.cumsum(v, out=out)
            if info["extra"]["unit"] > 1:
                np.multiply(out, info["extra"]["unit"], out=out)
            np.add(out, info["extra"]["first"], out=out)
        elif how == "offset:ts_event":
            np.add(events["ts_event"], v, out=out)
        elif how == "decimals":
            np.divide(v, 10.0 ** int(info["extra"]), out=out)
        elif how == "raw":  # (narrowed or as it was)
            np.copyto(out, v, casting="safe")
        else:
            raise ValueError(f"column {f}: unknown coding {how!r}")


def load_market(path: str | Path, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """(events, truth) of a market file written by :func:`save_market`.  ValueError (or KeyError, OSError)
    when the file does not hold events of ``dtype`` so coded."""
    from concurrent.futures import ThreadPoolExecutor

    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        if meta.get("codec") != MARKET_CODEC:
            raise ValueError(f"{path}: market codec {meta.get('codec')!r}, expected {MARKET_CODEC}")
        dtype = np.dtype(dtype)
        fields = meta["fields"]
        if tuple(fields) != dtype.names or any(fields[f] != dtype[f].str for f in fields):
            raise ValueError(f"{path}: events of another layout than {dtype}")
        blobs = {f: memoryview(z[f"col.{f}"]) for f in fields}
        truth = z["truth"]
    n = int(meta["n"])
    events = np.empty(n, dtype=dtype)
    starts = np.cumsum([0] + [c["rows"] for c in meta["chunks"]]).tolist()
    if starts[-1] != n:
        raise ValueError(f"{path}: chunks hold {starts[-1]:,} rows, expected {n:,}")

    def one(i):
        try:
            _decode_chunk(events[starts[i]:starts[i + 1]], meta["chunks"][i], blobs)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None

    # zstd and numpy release the GIL: chunks decode side by side
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        list(pool.map(one, range(len(meta["chunks"]))))
    return events, truth

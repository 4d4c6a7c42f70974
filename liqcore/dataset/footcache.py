"""A partition file's footer, as read and decoded, kept between processes: :func:`load` and :func:`save`.

A backtest over a month first looks at every day file's footer: a busy day's footer is about 2 MB (its
first-passage index, :mod:`liqcore.dataset.fpindex`, most of it), read, scanned (:mod:`liqcore.dataset.footer_scan`)
and its index decoded -- several milliseconds a file, a tenth of a warm backtest of a month.  A later process
takes them from here instead: the footer scan's results (row counts, leaf schema, column chunks, the key-value
metadata but the index's) and the index's blocks as decoded and proven against that footer.

An entry is kept under the file's path and its whole stat identity (size, modification and change times,
inode, device: :func:`liqcore.dataset.ledger.identity`), as the verification ledger keeps what it verified: any
write to the file, a rename over it, ``touch``, a copy or a restore gives another identity, and an entry of
another identity is passed over (the footer is read again).  An entry is written only for a file last changed
at least :data:`~liqcore.dataset.ledger.SETTLED_NS` before (a write in the same clock tick could leave its
times as they were).  What the entry holds is checked on loading (its format, path, identity, every array's
type); an entry that does not load is passed over.  Entries are ``footer-*.bin`` files in liqcore's cache
directory (:func:`liqcore.cache.cache_dir`): evicted with its other files by the size cap, listed by ``liqcore
cache info`` and removed by ``liqcore cache clear``; a process writes no more entries than the cap leaves room
for (a read of a year of busy day files, 1.7 MB each, keeps the first ones); writing one is best effort (a
read-only cache only costs the reads).  ``LIQCORE_VERIFY=always`` (every process hashes and reads afresh): not used.

May import: the standard library, numpy, orjson, pyarrow (its memory map), ``liqcore.cache``,
``liqcore._libs.reading`` and this package's ``ledger`` and ``fpindex``.
"""
from __future__ import annotations

import hashlib
import os
import time

import numpy as np

#: the entries' layout (an entry of another is passed over)
FORMAT = 1
#: the entries' file names in the cache directory
PATTERN = "footer-*.bin"
#: the bytes of entries this process may still write (None: not known yet; known at its first entry): the cache's
#: cap less what the cache holds then, so a read of more files than the cap holds writes no more than the cap
_budget: list = [None]


def enabled() -> bool:
    """Whether entries are kept and taken (not under ``LIQCORE_VERIFY=always``)."""
    from liqcore.dataset import ledger

    return ledger.enabled()


def keeps(st: os.stat_result) -> bool:
    """Whether a file of stat ``st`` gets an entry: entries kept, and the file last changed at least
    :data:`~liqcore.dataset.ledger.SETTLED_NS` ago (a later write in the same clock tick could leave its times)."""
    from liqcore.dataset import ledger

    return enabled() and time.time_ns() - max(int(st.st_mtime_ns), int(st.st_ctime_ns)) >= ledger.SETTLED_NS


def _entry(path: str):
    from liqcore.cache import cache_dir

    name = hashlib.sha256(os.path.abspath(path).encode()).hexdigest()[:32]
    return cache_dir() / f"footer-{name}.bin"


_MAGIC = b"liqcore-footer\n"


def load(path: str, st: os.stat_result):
    """The footer scan (the dict :func:`~liqcore.dataset.footer_scan.scan` gives, less the first-passage index's
    value) and the index's blocks (None: no usable index) kept for the file at ``path`` while its stat was ``st``
    -> ``(scan, blocks)``; None when no entry of that identity loads.  The arrays are views of the entry's bytes
    (read-only)."""
    import orjson

    from liqcore._libs.reading import CHUNK_DTYPE
    from liqcore.dataset import ledger
    from liqcore.dataset.fpindex import BLOCK_DTYPE

    if not enabled():
        return None
    p = _entry(path)
    data = _mapped(p)
    if data is None:
        return None
    try:  # (an entry that does not load, whatever the way: passed over, the footer is read)
        if bytes(data[:len(_MAGIC)]) != _MAGIC:
            return None
        at = len(_MAGIC) + 8
        n = int.from_bytes(data[len(_MAGIC):at], "little")
        head = orjson.loads(bytes(data[at:at + n]))
        at += n
        if not isinstance(head, dict) or head.get("format") != FORMAT \
                or head.get("path") != os.path.abspath(path) or head.get("id") != ledger.identity(st) \
                or head.get("dtypes") != [str(CHUNK_DTYPE.descr), str(BLOCK_DTYPE.descr)]:
            return None
        parts = []
        for size in head["sizes"]:
            if at + size > len(data):
                return None
            parts.append(data[at:at + size])
            at += size
        if at != len(data):
            return None
        g, c = head["shape"]
        rows = np.frombuffer(parts[0], np.int64)
        chunks = np.frombuffer(parts[1], CHUNK_DTYPE).reshape(g, c)
        blocks = np.frombuffer(parts[2], BLOCK_DTYPE) if head["blocks"] else None
        if len(rows) != g:
            return None
        kv = {bytes(parts[3 + 2 * k]): bytes(parts[4 + 2 * k]) for k in range(head["kv"])}
        sc = {"num_rows": int(head["num_rows"]), "created_by": str(head["created_by"]),
              "schema": [tuple(x) for x in head["schema"]], "rows": rows, "chunks": chunks,
              "meta_len": int(head["meta_len"]), "kv": kv}
    except (ValueError, TypeError, KeyError, orjson.JSONDecodeError):
        return None
    from liqcore.cache import touch

    touch(p)  # (used now: the size cap evicts the least recently used first)
    return sc, blocks


def _mapped(p):
    """The entry at ``p`` as a read-only memoryview of the file mapped into memory (None: it does not open or map):
    the page cache's own pages, not a copy -- a month's entries are tens of MB, and fresh memory for a copy of them
    was a tenth of a warm backtest's CPU on a virtual machine, where a page first touched is costly.  The mapping
    keeps no descriptor open (pyarrow's memory map, closed once read: the buffer keeps the mapping) and lives while
    an array of the entry does.  liqcore never writes an entry in place (it writes another file and renames it over,
    and removes entries by unlinking them): an entry cut short in place by something else while a process holds it
    would end that process (the system's bus error, as with any file mapped into memory)."""
    import pyarrow as pa

    try:
        if os.path.getsize(p) <= 0:  # (an empty file cannot be mapped; it is no entry either)
            return None
        with pa.memory_map(str(p), "r") as mm:
            buf = mm.read_buffer()
    except (OSError, pa.ArrowException):
        return None
    return memoryview(buf)


def save(path: str, st: os.stat_result, sc: dict, blocks) -> None:
    """Keep the footer scan ``sc`` of the file at ``path`` (stat ``st`` when it was read) and its first-passage
    ``blocks`` (None: no usable index) for later processes (best effort), unless the file changed too recently
    to tell a later write by its times."""
    import orjson

    from liqcore._libs.reading import CHUNK_DTYPE
    from liqcore.dataset import ledger
    from liqcore.dataset.fpindex import BLOCK_DTYPE, KEY

    if not keeps(st):
        return
    ident = ledger.identity(st)
    rows = np.ascontiguousarray(sc["rows"], np.int64)
    chunks = np.ascontiguousarray(sc["chunks"])
    if chunks.dtype != CHUNK_DTYPE or chunks.ndim != 2 or (blocks is not None and blocks.dtype != BLOCK_DTYPE):
        return
    kv = [(k, v) for k, v in sc["kv"].items() if k != KEY]
    parts = [rows.tobytes(), chunks.tobytes(), b"" if blocks is None else np.ascontiguousarray(blocks).tobytes()]
    for k, v in kv:
        parts += [bytes(k), bytes(v)]
    head = orjson.dumps({"format": FORMAT, "path": os.path.abspath(path), "id": ident,
                         "dtypes": [str(CHUNK_DTYPE.descr), str(BLOCK_DTYPE.descr)], "shape": list(chunks.shape),
                         "num_rows": int(sc["num_rows"]), "created_by": str(sc["created_by"]),
                         "schema": [list(x) for x in sc["schema"]], "meta_len": int(sc["meta_len"]),
                         "blocks": blocks is not None, "kv": len(kv), "sizes": [len(x) for x in parts]})
    p = _entry(path)
    size = len(_MAGIC) + 8 + len(head) + sum(len(x) for x in parts)
    if not _room(p, size):
        return
    tmp = p.with_name(f"{p.name}.{os.getpid()}.tmp")
    try:
        os.makedirs(p.parent, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(_MAGIC + len(head).to_bytes(8, "little") + head)
            for x in parts:
                fh.write(x)
        os.replace(tmp, p)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _room(p, size: int) -> bool:
    """Whether an entry of ``size`` bytes fits what this process may still write (:data:`_budget`, set at its
    first entry from the cache's cap and what it holds then, after the cap is enforced); taken from it if so."""
    from liqcore.cache import cache_info, enforce_limit, max_bytes

    if _budget[0] is None:
        try:
            cap = max_bytes()
            if cap is not None:
                enforce_limit()  # (the least recently used files first, down to the cap)
                _budget[0] = max(cap - int(cache_info()["bytes"]), 0)
            else:
                _budget[0] = -1  # (no cap)
        except (OSError, ValueError):
            _budget[0] = 0
    if _budget[0] < 0:
        return True
    if size > _budget[0]:
        return False
    _budget[0] -= size
    return True

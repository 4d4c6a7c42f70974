"""The verification ledger: which row groups of a checked partition file an earlier process hashed and found
to be the bytes of its mark, kept under the file's whole stat identity, so a later process does not hash
them again.  git's index works the same way (a file whose stat data is the one recorded when it was hashed
is not hashed again).

The identity is the file's size, modification time and change time (nanoseconds), inode and device: any
write to the file, a rename over it, ``touch`` or ``os.utime`` setting its times back, a copy or a restore
gives another identity (the change time is set by the kernel, never by a tool), and a file with another
identity is hashed again.  The "racy" case of git's index is kept out the same way: an identity is recorded
only when the file's last modification and change are at least :data:`SETTLED_NS` older than the hash (a
write in the same clock tick as the hash could leave the times as they were).  Each entry also names the
mark it was checked against (a digest of the mark's group and footer digests): a mark taken again is
checked again.

The ledger is a small JSON file in liqcore's cache directory (:func:`liqcore.cache.cache_dir`:
``verified-groups.json``, cleared with the cache by ``liqcore cache clear``); writing it is best effort (a
read-only cache only costs the hashes).  ``LIQCORE_VERIFY=always``: every process hashes what it reads,
as without a ledger.

May import: the standard library, orjson and ``liqcore.cache``.
"""
from __future__ import annotations

import atexit
import base64
import hashlib
import os
import time

#: the ledger's file name in the cache directory
FILE_NAME = "verified-groups.json"
#: the environment variable that turns the ledger off (``always``: hash in every process)
ENV_VAR = "LIQCORE_VERIFY"
#: an identity is recorded only for a file last modified and changed at least this long before the hash
SETTLED_NS = 2_000_000_000
#: files kept in the ledger (the earliest recorded dropped first)
MAX_FILES = 100_000
#: the ledger is written at most this often while a process verifies (and when it ends)
_FLUSH_NS = 1_000_000_000

_state = {"key": None, "files": {}, "dirty": {}, "flushed": 0, "hooked": False}


def enabled() -> bool:
    return os.environ.get(ENV_VAR, "").strip().lower() != "always"


def _path() -> str:
    from liqcore.cache import cache_dir

    return os.path.join(str(cache_dir()), FILE_NAME)


def identity(st: os.stat_result) -> list:
    """The stat identity a ledger entry is kept under."""
    return [int(st.st_size), int(st.st_mtime_ns), int(st.st_ctime_ns), int(st.st_ino), int(st.st_dev)]


def mark_id(mark: dict) -> str:
    """A digest of a mark's footer and group digests (what an entry was checked against)."""
    h = hashlib.sha256(str(mark.get("footer")).encode())
    for g in mark.get("groups") or ():
        h.update(str(g).encode())
    return h.hexdigest()[:32]


def _stat_key(p: str):
    try:
        s = os.stat(p)
    except OSError:
        return None
    return (s.st_size, s.st_mtime_ns, s.st_ino)


def _load(p: str) -> dict:
    import orjson

    try:
        with open(p, "rb") as fh:
            d = orjson.loads(fh.read())
    except (OSError, orjson.JSONDecodeError):
        return {}
    files = d.get("files") if isinstance(d, dict) and d.get("format") == 1 else None
    return files if isinstance(files, dict) else {}


def _files() -> dict:
    """The ledger's entries as last written (read again when the file changed: another process wrote it)."""
    p = _path()
    key = _stat_key(p)
    if key != _state["key"]:
        _state["key"], _state["files"] = key, (_load(p) if key is not None else {})
    return _state["files"]


def _bits(groups) -> str:
    top = max(groups) + 2  # (-1, the footer, is bit 0)
    b = bytearray((top + 7) // 8)
    for g in groups:
        b[(g + 1) >> 3] |= 1 << ((g + 1) & 7)
    return base64.b64encode(bytes(b)).decode()


def _groups(bits: str) -> set:
    try:
        b = base64.b64decode(bits, validate=True)
    except (ValueError, TypeError):
        return set()
    return {8 * i + k - 1 for i, x in enumerate(b) if x for k in range(8) if x >> k & 1}


def recalled(path: str, ident: list, mark: str) -> set:
    """The row groups (-1: the footer) of the file at ``path`` that the ledger holds as verified against the
    mark ``mark`` (:func:`mark_id`) while the file had identity ``ident``; empty when it holds none."""
    if not enabled():
        return set()
    d = _state["dirty"].get(path)
    if d is not None and d[0] == ident and d[1] == mark:
        return set(d[2])
    e = _files().get(path)
    if not isinstance(e, dict) or e.get("id") != ident or e.get("mark") != mark or not isinstance(e.get("groups"), str):
        return set()
    return _groups(e["groups"])


def record(path: str, ident: list, mark: str, groups: set, hashed_at_ns: int) -> None:
    """Keep ``groups`` (the set of every group of the file at ``path`` verified so far against ``mark`` with
    identity ``ident``, hashed from ``hashed_at_ns`` on, :func:`time.time_ns`; kept by reference: the caller
    adds to it) for later processes, unless the file changed too recently to tell a later write by its times
    (:data:`SETTLED_NS`)."""
    if not enabled() or not groups or hashed_at_ns - max(ident[1], ident[2]) < SETTLED_NS:
        return
    _state["dirty"][path] = (ident, mark, groups)
    if not _state["hooked"]:
        _state["hooked"] = True
        atexit.register(flush)
    if time.monotonic_ns() - _state["flushed"] >= _FLUSH_NS:
        flush()


def flush() -> None:
    """Write the entries recorded since the last write into the ledger (merged with what another process
    wrote meanwhile; best effort)."""
    import orjson

    dirty = _state["dirty"]
    if not dirty:
        return
    todo = list(dirty.items())  # (taken first: a thread may record meanwhile; it is written next time)
    for path, _e in todo:
        dirty.pop(path, None)
    _state["flushed"] = time.monotonic_ns()
    p = _path()
    files = dict(_files())
    for path, (ident, mark, groups) in todo:
        both = set(groups)
        old = files.pop(path, None)
        if isinstance(old, dict) and old.get("id") == ident and old.get("mark") == mark \
                and isinstance(old.get("groups"), str):  # (another process verified other groups of it)
            both |= _groups(old["groups"])
        files[path] = {"id": ident, "mark": mark, "groups": _bits(both)}  # (last: the latest)
    while len(files) > MAX_FILES:
        files.pop(next(iter(files)))
    tmp = f"{p}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(orjson.dumps({"format": 1, "files": files}))
        os.replace(tmp, p)
    except OSError:  # (a read-only cache: later processes hash again)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return
    _state["key"], _state["files"] = _stat_key(p), files

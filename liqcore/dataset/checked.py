"""Reading a dataset's checked partition files at the Parquet decoder's pace (:func:`read_checked`).

A file written from loaded events is marked in the dataset's :data:`MARKS_FILE` (size, SHA-256 of
its bytes, footer and row groups: :func:`mark_of`); a read verifies what it decodes
(:func:`verify_groups`) and lays the rows out as events without judging them again.  Footers and
digests are cached per process, the groups verified also across processes (:mod:`.ledger`).  The rule and
its reasons: docs/maintainers/data.md, "The dataset's files".

Why one module: the footer read (its groups' ranges, spans and fixed columns), the marks, the verification of
what is decoded and the read that decodes it are one chain of proof -- each step trusts only what the one
before it checked, under the same stat key -- and splitting it would pass that key and the footers' caches
across modules.

May import: numpy, pyarrow (inside functions), ``types``, ``venues.common`` and this package's
``decoded``, ``file_events``, ``footer_scan``, ``blocks``, ``ledger``, ``pages`` and ``rows``.
"""
from __future__ import annotations

import errno
import functools
import os
import stat
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from liqcore.dataset.decoded import DecodedGroup, counted, filled as _filled
from liqcore.dataset import file_events as one_pass
from liqcore.dataset.file_events import file_events
from liqcore.dataset.rows import bulk_order, event_merged, event_order
from liqcore.types import EVENT_DTYPE

#: the event columns of a partition file, as read (trade ids only when asked)
_COLS = ("ts_event_ns", "ts_recv_ns", "kind", "side", "price", "qty", "flags")
_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1
#: the columns of a format-3 partition file's quote rows that carry the ask (null on every other row)
ASK_COLS = ("ask_price", "ask_qty")
#: columns a row group's statistics may prove one value (or all null) for: filled in, not decoded
#: (a group of quotes: kind, side and flags; a group of trades: kind and the ask columns)
_FIXED = ("kind", "side", "flags") + ASK_COLS


@dataclass(frozen=True)
class Footer:
    """What the read needs of one partition file's footer: the mark, and per row group its rows and the
    min / max of event time, receive time and kind (no statistics: the widest range, never pruned)."""

    checked: bool
    rows: np.ndarray
    ev: np.ndarray  # (groups, 2): min, max
    rv: np.ndarray
    kd: np.ndarray
    key: tuple = ()  # the file's size, modification time and inode when read
    # the whole file's bounds (a file outside a read's range is passed over without numpy)
    ev_lo: int = _I64_MIN
    ev_hi: int = _I64_MAX
    rv_lo: int = _I64_MIN
    rv_hi: int = _I64_MAX
    # each row group's bytes in the file ([start, end): its column chunks) and the footer's length in bytes
    spans: tuple = ()  # (a :class:`_Spans`: made group by group when asked)
    meta_len: int = 0
    asks: bool = False  # the file has the ask columns of format 3 (a quote row carries its bid and ask)
    events: int = -1  # the events its rows give (a quote row carrying an ask: two), from the statistics
    # per row group, the columns of :data:`_FIXED` its statistics prove it needs no decode for: name -> the
    # value of every row (min == max, no null), or None when every row is null (a trade group's ask columns)
    fixed: tuple = ()  # (a :class:`_Fixed`: made group by group when asked)
    kv: dict = None  # the footer's key-value metadata (bytes -> bytes)
    # the footer scan's leaf columns ((name, physical type, repetition, converted type), thrift codes) and
    # column chunks (groups x columns: :data:`liqcore._libs.reading.CHUNK_DTYPE`), for the page decoder
    schema: tuple = ()
    chunks: np.ndarray = None
    # its first-passage blocks, decoded and proven against it (``(blocks or None)``; empty: not decoded yet,
    # :func:`liqcore.dataset.blocks.fp_blocks` decodes them from ``kv``)
    fp: tuple = ()


_FOOTERS: dict[str, tuple] = {}


def footer(path: str) -> Footer:
    """The footer of the partition file at ``path`` (cached while its size, modification time and inode stay),
    read by the compiled footer scan (:mod:`liqcore.dataset.footer_scan`).  ValueError naming the file when it is
    not Parquet (a directory, cut short) or changes while it is read; an OSError of its read names it too."""
    import orjson

    from liqcore.dataset.footer_scan import scan

    from liqcore.dataset import footcache

    try:
        s = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(path)) from None
    key = (s.st_size, s.st_mtime_ns, s.st_ino)
    hit = _FOOTERS.get(path)
    if hit is not None and hit[0] == key:
        return hit[1]
    kept = footcache.load(path, s)  # (an earlier process's read of this very file: path and whole identity)
    if kept is None:
        if stat.S_ISDIR(s.st_mode):  # (a file's first opening: what is wrong with it said here, naming it)
            raise ValueError(f"dataset partition file {path}: a directory, not a Parquet file")
        fd = os.open(path, os.O_RDONLY)
        try:
            s = os.fstat(fd)
            key = (s.st_size, s.st_mtime_ns, s.st_ino)
            try:
                sc = scan(fd, s.st_size)
            except ValueError as exc:  # not Parquet, cut short, a malformed footer
                raise ValueError(f"dataset partition file {path}: {exc}") from None
            except OSError as exc:  # (pread's error names no file)
                raise OSError(exc.errno, exc.strerror, str(path)) from None
            s = os.fstat(fd)
            if (s.st_size, s.st_mtime_ns, s.st_ino) != key:
                raise ValueError(f"dataset: {path} changed while it was read; read it again")
        finally:
            os.close(fd)
    else:
        sc = kept[0]
    kv = sc["kv"]
    meta = kv.get(b"liqcore")
    try:
        checked = bool(meta) and orjson.loads(meta).get("checked") is True
    except (orjson.JSONDecodeError, AttributeError):
        checked = False
    names = [c[0] for c in sc["schema"]]
    ch = sc["chunks"]
    rows = np.asarray(sc["rows"], np.int64)
    g = len(rows)
    ranges = {}
    for c in ("ts_event_ns", "ts_recv_ns", "kind"):  # (no statistics: the widest range, never pruned)
        r = np.tile(np.array([_I64_MIN, _I64_MAX], np.int64), (g, 1))
        if c in names and g:
            x = ch[:, names.index(c)]
            has = x["has_min_max"] != 0
            r[has, 0], r[has, 1] = x["min_int"][has], x["max_int"][has]
        ranges[c] = r
    asks = all(c in names for c in ASK_COLS)
    events = int(rows.sum())
    if asks and g:  # every non-null ask is a second event (null counts: from the statistics; none: every row)
        nulls = ch[:, names.index("ask_price")]["null_count"]
        events += int((rows - np.where(nulls >= 0, nulls, 0)).sum())
    if not all(c in names for c in _COLS):
        checked = False
    ev, rv = ranges["ts_event_ns"], ranges["ts_recv_ns"]
    bounds = (int(ev[:, 0].min()), int(ev[:, 1].max()), int(rv[:, 0].min()), int(rv[:, 1].max())) if g else ()
    if not bounds:
        bounds = (_I64_MIN, _I64_MAX, _I64_MIN, _I64_MAX)
    fix = tuple((names.index(c), c) for c in _FIXED if c in names)
    fp = () if kept is None else (kept[1],)
    if kept is None and footcache.keeps(s):  # (kept for later processes with its first-passage blocks)
        from liqcore.dataset import fpindex

        fp = (None if fpindex.KEY not in kv else fpindex.decode(kv[fpindex.KEY], rows, ev, rv),)
        footcache.save(path, s, sc, fp[0])
    f = Footer(checked, rows, ev, rv, ranges["kind"], key, *bounds, spans=_Spans(ch, rows),
               meta_len=int(sc["meta_len"]), asks=asks, events=events, fixed=_Fixed(ch, rows, fix), kv=kv,
               schema=tuple(tuple(c) for c in sc["schema"]), chunks=ch, fp=fp)
    if len(_FOOTERS) > 100_000:  # a long-lived process reading many datasets: start afresh
        _FOOTERS.clear()
    _FOOTERS[path] = (key, f)
    return f


#: the dataset's list of checked partition files (in its root): {"format": 1, "digest": "sha256", "files":
#: {"venue=V/symbol=S/date=D/part-0.parquet": {"size": bytes, "sha256": the file's, "footer": the footer's,
#: "groups": [each row group's], "events": a read's events of it}}} (SHA-256 digests; :func:`mark_of`)
MARKS_FILE = "_liqcore_checked.json"

_MARKS: dict[str, tuple] = {}  # dataset root -> (the marks file's stat key, its files)
_DIGESTS: dict[str, tuple] = {}  # file path -> (its stat key when digested, its SHA-256 hex)


def _stat_key(path: str) -> tuple | None:
    try:
        s = os.stat(path)
    except FileNotFoundError:
        return None
    return (s.st_size, s.st_mtime_ns, s.st_ino)


_META: OrderedDict = OrderedDict()  # path -> (stat key, its parsed Parquet metadata), the last files read


def metadata(path: str, key: tuple | None = None):
    """The Parquet metadata of the file at ``path``, parsed once per process while its size, modification time and
    inode stay ``key`` (default: as they are now): a day file's footer (with its first-passage index, megabytes)
    was parsed again by each of the footer read, the bulk groups, the file's opening and the row count.
    ValueError when the file changes while it is parsed."""
    import pyarrow.parquet as pq

    key = _stat_key(path) if key is None else tuple(key)
    hit = _META.get(path)
    if hit is not None and hit[0] == key:
        _META.move_to_end(path)
        return hit[1]
    md = pq.read_metadata(path)
    if _stat_key(path) != key:
        raise ValueError(f"dataset: {path} changed while it was read; read it again")
    _META[path] = (key, md)
    while len(_META) > 256:
        _META.popitem(last=False)
    return md


def stat_key(path: str) -> tuple | None:
    """The (size, modification time, inode) key under which a file's footer read is kept (:func:`footer`):
    a file changed or replaced since has another key; None when it is gone."""
    return _stat_key(path)


def read_marks(root) -> dict:
    """The checked marks of the local dataset ``root``: path in the dataset -> its mark (:func:`mark_of`; {}
    without a marks file, or with one that is not valid: then nothing is trusted)."""
    import orjson

    p = os.path.join(str(root), MARKS_FILE)
    key = _stat_key(p)
    if key is None:
        return {}
    hit = _MARKS.get(p)
    if hit is not None and hit[0] == key:
        return hit[1]
    try:
        with open(p, "rb") as fh:
            d = orjson.loads(fh.read())
        files = d.get("files") if isinstance(d, dict) and d.get("digest") == "sha256" else None
        files = {str(k): v for k, v in files.items() if isinstance(v, dict)} if isinstance(files, dict) else {}
    except (OSError, orjson.JSONDecodeError):
        files = {}
    if len(_MARKS) > 10_000:
        _MARKS.clear()
    _MARKS[p] = (key, files)
    return files


def file_digest(path: str) -> tuple[tuple, str]:
    """The SHA-256 (hex) of the bytes of the file at ``path``, with the size, modification time and inode of
    the file it digested -> ``(key, digest)`` (cached while they stay)."""
    import hashlib

    key = _stat_key(path)
    hit = _DIGESTS.get(path)
    if hit is not None and hit[0] == key:
        return hit
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        s = os.fstat(fh.fileno())
        key = (s.st_size, s.st_mtime_ns, s.st_ino)
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
        s = os.fstat(fh.fileno())
        if (s.st_size, s.st_mtime_ns, s.st_ino) != key:  # written to while digested: not the file of any mark
            return key, ""
    if len(_DIGESTS) > 100_000:
        _DIGESTS.clear()
    _DIGESTS[path] = (key, h.hexdigest())
    return _DIGESTS[path]


class _PerGroup:
    """A per-row-group value of a file's footer, made on demand, group by group, from the footer scan's column
    chunks (``chunks``: groups x columns, :data:`liqcore._libs.reading.CHUNK_DTYPE`): a read looks at the few
    groups it decodes, and a day file has hundreds."""

    __slots__ = ("chunks", "rows", "_got")

    def __init__(self, chunks: np.ndarray, rows: np.ndarray):
        self.chunks, self.rows, self._got = chunks, rows, {}

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, g: int):
        n = len(self.rows)
        g = int(g) + (n if int(g) < 0 else 0)
        if not 0 <= g < n:
            raise IndexError(g)
        if g not in self._got:
            self._got[g] = self._make(g)
        return self._got[g]

    def __eq__(self, other) -> bool:
        return len(self) == len(other) and all(self[i] == other[i] for i in range(len(self)))

    def _make(self, g: int):
        raise NotImplementedError


class _Fixed(_PerGroup):
    """Per row group, the columns of :data:`_FIXED` whose statistics prove every row's value (min == max and no
    null: that value; every row null: None), a dict each."""

    __slots__ = ("fix",)

    def __init__(self, chunks: np.ndarray, rows: np.ndarray, fix: tuple):
        super().__init__(chunks, rows)
        self.fix = fix

    def _make(self, g: int) -> dict:
        n = int(self.rows[g])
        got = {}
        row = self.chunks[g].tolist()  # (the group's chunks as tuples: a numpy record's field is a microsecond)
        k_null, k_mm, k_lo, k_hi = (self.chunks.dtype.names.index(k) for k in ("null_count", "has_min_max", "min_int",
                                                                                "max_int"))
        for j, c in self.fix:
            x = row[j]
            nulls = int(x[k_null])
            if nulls < 0:  # (no null count: nothing proven)
                continue
            if n and nulls == n and c in ASK_COLS:
                got[c] = None
            elif nulls == 0 and x[k_mm] and int(x[k_lo]) == int(x[k_hi]) and c not in ASK_COLS:
                got[c] = int(x[k_lo])
        return got


class _Spans(_PerGroup):
    """Each row group's bytes in the file ``(start, end)``: from its column chunks' first page (the dictionary
    page where there is one) to their end."""

    __slots__ = ()

    def _make(self, g: int) -> tuple:
        x = self.chunks[g]
        if not len(x):
            return (0, 0)
        start = x["data_page_offset"].copy()
        dic = x["dictionary_page_offset"]
        start = np.where(dic > 0, np.minimum(start, dic), start)
        return (int(start.min()), int((start + x["total_compressed_size"]).max()))


def _sha(fd: int, lo: int, hi: int) -> str:
    import hashlib

    h = hashlib.sha256()
    while lo < hi:
        b = os.pread(fd, min(hi - lo, 1 << 22), lo)
        if not b:
            break
        h.update(b)
        lo += len(b)
    return h.hexdigest()


def mark_of(path: str) -> dict:
    """The checked mark of the file at ``path`` as the marks file keeps it: its size, the SHA-256 of its
    bytes, of its footer (the Parquet metadata and its length: every row group's place, size and
    statistics) and of each row group's bytes (``Footer.spans``), so a read verifies what it decodes; and the events
    a read gives of it (said when the file is gone)."""
    key, digest = file_digest(path)
    f = footer(path)
    fd = os.open(path, os.O_RDONLY)
    try:
        s = os.fstat(fd)
        if (s.st_size, s.st_mtime_ns, s.st_ino) != key or tuple(f.key) != key:
            raise ValueError(f"dataset: {path} changed while it was marked")
        tail = key[0] - 8 - f.meta_len
        return {"size": int(key[0]), "sha256": digest, "footer": _sha(fd, tail, key[0]),
                "groups": [_sha(fd, *f.spans[g]) for g in range(len(f.spans))], "events": int(f.events)}
    finally:
        os.close(fd)


_GROUPS_OK: dict = {}  # (path, stat key, the mark's footer digest) -> the row groups verified (-1: the footer)
_MARK_IDS: dict = {}  # a key of _GROUPS_OK -> its mark's ledger id, once the ledger was asked for it (ledger.mark_id)


def verify_groups(path: str, f: Footer, mark, groups) -> bool:
    """Whether the footer ``f`` of the file at ``path`` and its row groups ``groups`` are the bytes ``mark``
    was taken of (the footer's SHA-256, each group's; a mark without them: the whole file's).  Each is
    digested once per process while the file's size, modification time and inode stay, and not at all where
    an earlier process digested it while the file had the same whole stat identity (:mod:`.ledger`)."""
    if not isinstance(mark, dict) or not f.key or mark.get("size") != f.key[0]:
        return False
    sums = mark.get("groups")
    if not isinstance(sums, list):
        return verified(path, mark, f.key)
    if len(sums) != len(f.spans):
        return False
    ck = (path, f.key, str(mark.get("footer")))  # (a mark taken again: verified again)
    ok = _GROUPS_OK.get(ck)
    if ok is None:
        if len(_GROUPS_OK) > 100_000:
            _GROUPS_OK.clear()
            _MARK_IDS.clear()
        ok = _GROUPS_OK[ck] = set()
    todo = ([-1] if -1 not in ok else []) + [int(g) for g in groups if int(g) not in ok]
    if not todo:
        return True
    from liqcore.dataset import ledger

    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        s = os.fstat(fd)
        if (s.st_size, s.st_mtime_ns, s.st_ino) != tuple(f.key):  # not the file its footer was read from
            return False
        ident, mid = ledger.identity(s), _MARK_IDS.get(ck)
        if mid is None:  # (the groups an earlier process hashed while the file had this whole identity)
            mid = _MARK_IDS[ck] = ledger.mark_id(mark)
            ok |= ledger.recalled(os.path.abspath(path), ident, mid)
            todo = [g for g in todo if g not in ok]
        t0 = time.time_ns()
        for g in todo:
            try:
                lo, hi = (f.key[0] - 8 - f.meta_len, f.key[0]) if g < 0 else f.spans[g]
            except ValueError:  # (the file changed since its footer was read)
                return False
            if _sha(fd, lo, hi) != (mark.get("footer") if g < 0 else sums[g]):
                return False
            ok.add(g)
    finally:
        os.close(fd)
    if todo:
        ledger.record(os.path.abspath(path), ident, mid, ok, t0)
    return True


def verified(path: str, mark, key: tuple | None = None) -> bool:
    """Whether the file at ``path`` is the one its ``mark`` (:func:`read_marks`) was taken of: the same size
    and the same SHA-256 of its bytes (``key``: and the size, modification time and inode its footer was
    read with, so the footer read is of the bytes verified)."""
    if not isinstance(mark, dict) or not isinstance(mark.get("sha256"), str):
        return False
    try:
        k, digest = file_digest(path)
    except FileNotFoundError:
        return False
    return k[0] == mark.get("size") and digest == mark["sha256"] and (key is None or k == tuple(key))


def groups_to_read(f: Footer, start_ns, end_ns, kinds, recv_range, bulk=None) -> np.ndarray:
    """Indices of the row groups of ``f`` whose statistics can hold a row of the selection (the same
    conditions as the row filter of :func:`read_checked`).  ``bulk``: the file is written in sections
    (its dataset's format file says so) and these are the kinds of its bulk section
    (:data:`liqcore.dataset.read.BULK_KINDS`), so a row group whose ``kind`` minimum is one of them
    (trade, quote) holds only those -- a read of liquidations and marks passes over a group of trades
    and quotes, though its kind range [2, 7] spans the codes of marks."""
    from liqcore.venues.common import RECV_UNKNOWN

    # the whole file first: most files of a long span lie outside a short read
    if not len(f.rows) or (start_ns is not None and f.ev_hi < int(start_ns)) \
            or (end_ns is not None and f.ev_lo >= int(end_ns)):
        return np.zeros(0, np.int64)
    if recv_range is not None:
        lo, hi, fl = (int(x) for x in recv_range)
        if not (f.rv_hi >= lo and f.rv_lo < hi) and not (f.rv_lo <= RECV_UNKNOWN <= f.rv_hi
                                                        and f.ev_hi >= lo - fl and f.ev_lo < hi - fl):
            return np.zeros(0, np.int64)
    # (the receive range first: a read of a few seconds of a day file keeps a few of its hundreds of groups,
    # and the other tests look at those alone)
    if recv_range is not None:
        recorded = (f.rv[:, 1] >= lo) & (f.rv[:, 0] < hi)
        if f.rv_lo <= RECV_UNKNOWN <= f.rv_hi:
            recorded |= (f.rv[:, 0] <= RECV_UNKNOWN) & (f.rv[:, 1] >= RECV_UNKNOWN) \
                & (f.ev[:, 1] >= lo - fl) & (f.ev[:, 0] < hi - fl)
        idx = np.flatnonzero(recorded)
    else:
        idx = np.arange(len(f.rows))
    ok = f.rows[idx] > 0
    if start_ns is not None:
        ok &= f.ev[idx, 1] >= int(start_ns)
    if end_ns is not None:
        ok &= f.ev[idx, 0] < int(end_ns)
    if kinds is not None:
        kd = f.kd[idx]
        lo_k, hi_k = kd[:, 0], kd[:, 1]
        codes = sorted({int(k) for k in kinds})
        hit = _any_within(codes, lo_k, hi_k)
        if bulk:  # (a few codes each side: comparisons, not np.isin's sort, on a read's few groups)
            bk = {int(k) for k in bulk}
            in_bulk = _any_within([c for c in codes if c in bk], lo_k, hi_k)
            starts_bulk = np.zeros(len(kd), bool)
            for k in bk:
                starts_bulk |= lo_k == k
            hit = np.where(starts_bulk, in_bulk, hit)
        ok &= hit
    return idx[ok]


def _any_within(codes: list, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Per row: whether one of ``codes`` lies in ``[lo, hi]``."""
    out = np.zeros(len(lo), bool)
    for c in codes:
        out |= (lo <= c) & (c <= hi)
    return out


#: the row groups decoded last (path, footer, group, columns -> a :class:`~liqcore.dataset.decoded.DecodedGroup`): a
#: window-local backtest reads consecutive receive-time ranges whose boundary groups it would otherwise decode twice
_RECENT: OrderedDict = OrderedDict()
_RECENT_GROUPS = 8
#: and more of them while their columns fit in this many bytes: the windows of dense signals, a step read
#: on while an order or position is live, the book read back and the price grid's first prints meet the
#: same groups again, each decoded once (the bound keeps a 30-day read's peak)
_RECENT_BYTES = 64 << 20
_recent_bytes = [0]


class keep_decoded:  # noqa: N801 - used as a context manager, named as the others of its kind
    """Within it, the row groups decoded stay in memory while they fit in ``max_bytes`` (instead of
    :data:`_RECENT_BYTES`): a sweep's worker replays many configurations over the same signals' windows,
    and each row group is then decoded once for all of them, not once per configuration.  On leaving,
    the bound is restored and what is over it let go; reads give the same rows either way.  (A read decodes
    the part of a group its rows can be in, :func:`~liqcore.dataset.blocks.row_spans`: the configurations
    whose reads meet the same blocks share that part.)"""

    def __init__(self, max_bytes: int):
        self.max_bytes = int(max_bytes)

    def __enter__(self):
        global _RECENT_BYTES
        self._was = _RECENT_BYTES
        _RECENT_BYTES = max(self._was, self.max_bytes)
        return self

    def __exit__(self, *exc):
        global _RECENT_BYTES
        _RECENT_BYTES = self._was
        while len(_RECENT) > _RECENT_GROUPS and _recent_bytes[0] > _RECENT_BYTES:
            _recent_bytes[0] -= _nbytes(_RECENT.popitem(last=False)[1])
        return False


_OPEN: OrderedDict = OrderedDict()  # (path, footer key) -> an open ParquetFile (the last few)
#: files kept open: a window-local backtest's steps, the book read back and the last prints move among a
#: month's day files (opening one parses its footer again, a first-passage index included)
_OPEN_FILES = 32


def _open(path: str, f: Footer):
    import pyarrow.parquet as pq

    k = (path, f.key)
    pf = _OPEN.get(k)
    if pf is None:
        fh = open(path, "rb")
        s = os.fstat(fh.fileno())
        if (s.st_size, s.st_mtime_ns, s.st_ino) != tuple(f.key):  # (its footer and digest were of these bytes)
            fh.close()
            raise ValueError(f"dataset: {path} was replaced while being read; read it again")
        pf = _OPEN[k] = pq.ParquetFile(fh, metadata=metadata(path, f.key))
        while len(_OPEN) > _OPEN_FILES:
            _OPEN.popitem(last=False)[1].close(force=True)  # (and the file it was opened on)
    _OPEN.move_to_end(k)
    return pf


def _groups(path: str, f: Footer, groups: np.ndarray, cols: list, spans=None):
    """The row groups ``groups`` of the file at ``path`` (columns ``cols``), each a
    :class:`~liqcore.dataset.decoded.DecodedGroup`, the ones decoded by the last reads taken from memory ->
    ``([group], rows decoded now)``.  ``spans``: per group its rows ``(r0, r1)`` to decode (None: all of it;
    :func:`row_spans`): a part of a group is decoded page by page (:mod:`liqcore.dataset.pages`) and kept page by
    page (:data:`SPAN_ROWS`: two reads meeting the same page decode it once, whatever else they span), a group
    decoded whole before is sliced."""
    key = (path, f.key, tuple(cols))
    want = []  # (cache key of a whole group, or None: of its pages; group, r0, r1, the pages' keys)
    todo = []  # (cache key, group, r0, r1): what is decoded now (a part: the pages missing, in one span)
    for k, g in enumerate(groups.tolist()):
        n = int(f.rows[g])
        r0, r1 = (0, n) if spans is None or spans[k] is None else spans[k]
        if r1 > r0:  # (widened to the writer's pages, decoded whole anyway: reads meeting the same pages share them)
            r0, r1 = r0 - r0 % SPAN_ROWS, min(n, -(-r1 // SPAN_ROWS) * SPAN_ROWS)
        pages = [(key, g, p, min(n, p + SPAN_ROWS)) for p in range(r0, r1, SPAN_ROWS)]
        # (a whole group whose pages are all kept is taken from them, not decoded again)
        if (key, g) in _RECENT or r1 <= r0 or ((r0, r1) == (0, n) and not all(pk in _RECENT for pk in pages)):
            w = ((key, g) if (r0, r1) == (0, n) or (key, g) in _RECENT else (key, g, r0, r1), g, r0, r1)
            want.append(w + (None,))
            if w[0] not in _RECENT and all(t[0] != w[0] for t in todo):
                todo.append(w)
            continue
        miss = [pk for pk in pages if pk not in _RECENT]
        want.append((None, g, r0, r1, pages))
        if miss:
            todo.append(((key, g, miss[0][2], miss[-1][3]), g, miss[0][2], miss[-1][3]))
    by_cols: dict = {}  # the columns each group needs decoded (its fixed ones filled in): one call per set
    fixed = {}
    for w in todo:
        fx = fixed[w[1]] = f.fixed[w[1]] if f.fixed else {}
        by_cols.setdefault(tuple(c for c in cols if c not in fx), []).append(w)
    decoded = 0
    types = _column_types(path, f) if todo else None
    fresh: dict = {}  # (group, r0, r1) -> the columns of a span of pages decoded now (a read of just them: as they are)
    for dec, ws in by_cols.items():
        got = _decode_pages(path, f, ws, list(dec))
        whole = [w for w in ws if w[0] not in got]
        if whole:  # (the pages' layout not one the page decoder knows: pyarrow's decoder, whole groups)
            pf = _open(path, f)
            t = pf.read_row_groups([w[1] for w in whole], columns=list(dec), use_threads=True)
            o = 0
            for w in whole:
                n = int(f.rows[w[1]])
                part = t.slice(o + w[2], w[3] - w[2])
                got[w[0]] = {name: part.column(k).to_numpy() for k, name in enumerate(dec)}
                o += n
            del t
        for w in ws:
            n = w[3] - w[2]
            c = _with_fixed(got[w[0]], cols, fixed[w[1]], n, types)
            decoded += counted((path, f.key, w[1]), w[2], w[3])  # (within ``count_once``: a row once)
            if len(w[0]) == 2 or w[3] - w[2] <= SPAN_ROWS or w[3] <= w[2]:
                _keep(w[0], DecodedGroup(c))
                continue
            fresh[(w[1], w[2], w[3])] = c
            for p in range(w[2], w[3], SPAN_ROWS):  # (a span of pages: kept page by page, views of the span's
                q = min(w[3], p + SPAN_ROWS)  # arrays, which live while a page of them is kept; copies were a
                _keep((key, w[1], p, q), DecodedGroup({name: v[p - w[2]:q - w[2]] for name, v in c.items()}))  # 20th
    parts = []
    for ck, g, r0, r1, pages in want:
        if pages is None:
            dg = _RECENT[ck]
            _RECENT.move_to_end(ck)
            if len(ck) == 2 and (r0, r1) != (0, int(f.rows[g])):  # (a part of a group decoded whole before)
                dg = DecodedGroup({name: v[r0:r1] for name, v in dg.cols.items()})
        else:
            got = []
            for pk in pages:
                _RECENT.move_to_end(pk)
                got.append(_RECENT[pk])
            c = fresh.get((g, r0, r1))
            dg = got[0] if len(got) == 1 else DecodedGroup(c) if c is not None else \
                DecodedGroup({name: np.concatenate([x.cols[name] for x in got]) for name in got[0].cols})
        parts.append(dg)
    while len(_RECENT) > max(_RECENT_GROUPS, len(groups)) and _recent_bytes[0] > _RECENT_BYTES:
        _recent_bytes[0] -= _nbytes(_RECENT.popitem(last=False)[1])
    return parts, decoded


def _keep(ck, dg: DecodedGroup) -> None:
    """``dg`` into the decoded groups kept (:data:`_RECENT`) under ``ck``, its bytes counted."""
    old = _RECENT.pop(ck, None)
    if old is not None:
        _recent_bytes[0] -= _nbytes(old)
    _RECENT[ck] = dg
    _recent_bytes[0] += _nbytes(dg)


#: decode row groups page by page (:mod:`liqcore.dataset.pages`; off: pyarrow's decoder, whole groups)
PAGES = True
#: the grain of the parts of row groups decoded (the rows of a data page the writer writes,
#: :data:`liqcore.dataset.write.PAGE_ROWS`): a part is widened to it, so two reads whose rows lie in the same
#: pages share one decode (the rows a read cannot match are dropped by its row filter, as in a whole group)
SPAN_ROWS = 2048


#: the numpy type each column of a partition file is read as (its Arrow type's): the page decoder decodes a
#: column stored as that type plainly, else the group is read by pyarrow
_DTYPES = {"ts_event_ns": np.int64, "ts_recv_ns": np.int64, "kind": np.int8, "side": np.int8, "price": np.float64,
           "qty": np.float64, "flags": np.uint8, "trade_id": np.int64, "ask_price": np.float64, "ask_qty": np.float64}
_DTYPE_ITEMS = tuple(_DTYPES.items())  # (as :func:`liqcore.dataset.pages.placed` keys its answers)


def _decode_pages(path: str, f: Footer, ws: list, dec: list) -> dict:
    """The columns ``dec`` of the rows ``(r0, r1)`` of each ``(cache key, group, r0, r1)`` of ``ws`` decoded
    page by page (:mod:`liqcore.dataset.pages`, from the verified footer's column chunks: a group's placed chunks
    in one compiled call) -> cache key -> columns; the ones the page decoder does not know left out (pyarrow's)."""
    out: dict = {}
    if not PAGES or not dec or f.chunks is None:
        return out
    from liqcore.dataset import pages

    fd = pages.open_as(path, f.key)  # (kept open; proven still the footer's bytes)
    key = (path, tuple(f.key))  # (a group's chunks from its footer row: kept under the footer's stat key)
    p = pages.placed(f.schema, f.chunks, f.rows, dec, _DTYPE_ITEMS, key=key)
    index = None if p is None else pages.placed_index(fd, p, [w[1] for w in ws])  # (in one read)
    for w in ws if p is not None else ():
        got = pages.read_placed_rows(fd, p, w[1], dec, w[2], w[3], index, functools.partial(
            pages.chunks_of, f.schema, f.chunks, f.rows, w[1], dec, _DTYPES, key=key))
        if got is not None:
            out[w[0]] = got
    return out


def _column_types(path: str, f: Footer) -> dict:
    """The numpy type of each column of the file at ``path`` as a decoder gives it (the fixed columns' types):
    from the footer scan's physical and converted types (:func:`liqcore.dataset.pages.dtype_of`), else from the
    Arrow schema of its verified footer."""
    from liqcore.dataset.pages import dtype_of

    hit = _SCHEMAS.get((path, f.key))
    if hit is None:
        if len(_SCHEMAS) > 256:
            _SCHEMAS.clear()
        hit = {c[0]: dtype_of(c) for c in f.schema}
        if not f.schema or any(v is None for v in hit.values()):
            sch = metadata(path, f.key).schema.to_arrow_schema()
            hit = {name: np.dtype(sch.field(name).type.to_pandas_dtype()) for name in sch.names}
        _SCHEMAS[(path, f.key)] = hit
    return hit


_SCHEMAS: dict = {}  # (path, stat key) -> its columns' numpy types


def _nbytes(dg: DecodedGroup) -> int:
    return sum(int(a.nbytes) for a in dg.cols.values())


def _with_fixed(got: dict, cols: list, fx: dict, n: int, types: dict) -> dict:
    """A row group's columns ``cols`` (``n`` rows): the decoded ones ``got``, the fixed ones ``fx`` (a value:
    every row's, laid out as the decoder gives it, the file's column type); the ask columns of a group
    without a quote (``fx`` None: every row null) are left out (its rows are one event each)."""
    out = {}
    for c in cols:
        if c in got:
            out[c] = got[c]
        elif fx[c] is not None:
            out[c] = _filled(n, fx[c], types[c])
    return out


def _open_terms(f: Footer, g: int, start_ns, end_ns, kinds, recv_range) -> tuple:
    """``(start_ns, end_ns, kinds, recv_range)`` of a read, each left None where row group ``g``'s
    statistics (of the verified footer ``f``) prove every row of it passes that test: its event times
    inside ``[start_ns, end_ns)``, every kind code of its range asked for, every receive time recorded
    and inside the receive range.  :func:`_row_mask` then makes no pass for it."""
    from liqcore.venues.common import RECV_UNKNOWN

    ev, kd, rv = f.ev[g], f.kd[g], f.rv[g]
    if start_ns is not None and int(ev[0]) >= int(start_ns):
        start_ns = None
    if end_ns is not None and int(ev[1]) < int(end_ns):
        end_ns = None
    if kinds is not None and int(kd[1]) - int(kd[0]) < 64 \
            and set(range(int(kd[0]), int(kd[1]) + 1)) <= {int(k) for k in kinds}:
        kinds = None
    if recv_range is not None and int(rv[0]) >= int(recv_range[0]) and int(rv[1]) < int(recv_range[1]) \
            and int(rv[0]) > RECV_UNKNOWN:
        recv_range = None
    return start_ns, end_ns, kinds, recv_range


def _row_mask(te, tr, kind, start_ns, end_ns, kinds, recv_range):
    m = None

    def both(a, b):
        return b if a is None else a & b

    if start_ns is not None:
        m = both(m, te >= int(start_ns))
    if end_ns is not None:
        m = both(m, te < int(end_ns))
    if kinds is not None:
        m = both(m, np.isin(kind, np.asarray(sorted(kinds), np.int8)))
    if recv_range is not None:
        from liqcore.venues.common import RECV_UNKNOWN

        lo, hi, fl = (int(x) for x in recv_range)
        m = both(m, ((tr >= lo) & (tr < hi)) | ((tr == RECV_UNKNOWN) & (te >= lo - fl) & (te < hi - fl)))
    return m


class Unverified(Exception):
    """A file's footer or row groups are not the bytes its checked mark was taken of (``args[0]``: its path)."""


def _events(m, two, n: int) -> int:
    """Events of the rows selected by mask ``m`` (None: all ``n``), rows marked in ``two`` counting twice."""
    if two is None:
        return n if m is None else int(np.count_nonzero(m))
    return (n + int(np.count_nonzero(two))) if m is None else int(np.count_nonzero(m)) + int(np.count_nonzero(m & two))


def rows_of(path: str, f: Footer, mark, group: int, r0: int, r1: int):
    """The rows ``[r0, r1)`` of row group ``group`` of the checked file at ``path`` (footer ``f``) as a read decodes
    them (its event columns, the ask columns where the file has them, the fixed ones filled in), the group verified
    against ``mark`` first (:class:`Unverified` when it is not those bytes) -> ``(rows, rows decoded now)``: a
    :class:`~liqcore.dataset.decoded.DecodedGroup` of the span widened to the writer's pages, the same decoded
    pages the reads share (:data:`SPAN_ROWS`): a look-up of a few rows next to a read's decodes nothing again."""
    parts, decoded = decoded_spans(path, f, mark, np.array([int(group)], np.int64), [(int(r0), int(r1))])
    return parts[0], decoded


def decoded_spans(path: str, f: Footer, mark, groups: np.ndarray, spans: list):
    """:func:`rows_of` of several row groups at once (``spans``: per group ``(r0, r1)``, None for all of it), each
    verified against ``mark`` first -> ``([rows], rows decoded now)``, decoded as :func:`read_checked` decodes them
    (the same pages, kept and shared with its reads)."""
    if not verify_groups(path, f, mark, groups):
        raise Unverified(path)
    return _groups(path, f, groups, list(_COLS) + (list(ASK_COLS) if f.asks else []), spans)


def selected_rows(f: Footer, gi: int, part, start_ns, end_ns, kinds, recv_range, skew, counts: bool = True):
    """The rows of row group ``gi`` (its decoded ``part``, of the verified footer ``f``) a read of event times
    [start_ns, end_ns), ``kinds`` and ``recv_range`` keeps (less those ahead of their receive time by more than
    ``skew``, the live engine's clock guard) -> ``(columns or None for none, events matched, events dropped as
    ahead)``, views where the rows kept are one run.  ``counts=False``: no counts (0), and a group of one kind asked
    for, every row with a receive time (a bulk group), tested by its receive and event times alone."""
    from liqcore.venues.common import RECV_CLOCK_MIN_NS, RECV_UNKNOWN

    c = part.cols
    recorded = int(f.rv[gi, 0]) > RECV_UNKNOWN  # (every row has a receive time: its statistics say so)
    lean = not counts and recorded and recv_range is not None and kinds is not None \
        and int(f.kd[gi, 0]) == int(f.kd[gi, 1]) and int(f.kd[gi, 0]) in {int(k) for k in kinds}
    got = one_pass.bulk_kept(f.ev[gi], c, start_ns, end_ns, recv_range, skew, RECV_CLOCK_MIN_NS) \
        if lean and one_pass.BULK_KEEP else one_pass.NOT_HERE
    if got is not one_pass.NOT_HERE:
        return got, 0, 0
    if recv_range is not None and recorded \
            and not (int(recv_range[0]) <= int(f.rv[gi, 0]) and int(f.rv[gi, 1]) < int(recv_range[1])):
        i0, i1 = part.recv_slice(int(recv_range[0]), int(recv_range[1]))
        if i1 <= i0:
            return None, 0, 0
        if i1 - i0 < len(c["ts_recv_ns"]):
            c = {name: v[i0:i1] for name, v in c.items()}  # (views: the rows outside cannot match)
    te, tr = c["ts_event_ns"], c["ts_recv_ns"]
    if lean:
        m = (tr >= int(recv_range[0])) & (tr < int(recv_range[1]))
        m &= (te >= int(start_ns)) if start_ns is not None and int(f.ev[gi, 0]) < int(start_ns) else True
        m &= (te < int(end_ns)) if end_ns is not None and int(f.ev[gi, 1]) >= int(end_ns) else True
        if skew is not None:
            m &= ~((tr >= RECV_CLOCK_MIN_NS) & (te - tr > int(skew)))
        return _kept(c, m), 0, 0
    m = _row_mask(te, tr, c["kind"], *_open_terms(f, gi, start_ns, end_ns, kinds, recv_range))
    two = ~np.isnan(c["ask_price"]) if "ask_price" in c else None  # rows that are two events (counted so)
    matched, n_future = _events(m, two, len(te)), 0
    if skew is not None:  # the live engine's clock guard (drop_future)
        ahead = (tr >= RECV_CLOCK_MIN_NS) & (te - tr > int(skew))
        if m is not None:
            ahead &= m
        k = _events(ahead, two, len(te))
        if k:
            n_future += k
            m = ~ahead if m is None else m & ~ahead
    return _kept(c, m), matched, n_future


def _kept(c: dict, m):
    """``c`` less the rows mask ``m`` drops (None: none): views where those kept are one run; None for none kept."""
    if m is not None and not m.all():
        k = np.flatnonzero(m)
        if len(k) and int(k[-1]) - int(k[0]) + 1 == len(k):
            c = {name: v[int(k[0]):int(k[-1]) + 1] for name, v in c.items()}
        else:
            c = {name: v[m] for name, v in c.items()}
    return c if len(c["ts_event_ns"]) else None


def read_checked(files, start_ns=None, end_ns=None, kinds=None, recv_range=None, max_clock_skew_ns=None,
                 trade_ids: bool = False, marks=None, bulk=None):
    """The events of checked partition files ``files`` (``(path, venue code, symbol id)``, in the order
    a dataset scan lists them) with event time in [start_ns, end_ns), kind in ``kinds`` and received in
    ``recv_range`` (``(lo, hi, feed_latency_ns)``, as :func:`liqcore.dataset.read.recv_filter`), in event-time
    order (stable) -> ``(events, trade ids or None, rows matched, rows of the row groups decoded,
    events dropped as ahead of their receive time, the symbol ids that have events)``.  ``marks``: path ->
    its checked mark: the footer and every row group to be decoded are verified against it first
    (:func:`verify_groups`; :class:`Unverified` when one is not).  ``bulk``: the kinds of the bulk
    section of files written in sections (:func:`groups_to_read`)."""
    from liqcore.types import take_records

    from liqcore.dataset.blocks import row_spans

    pieces, id_pieces = [], []
    pend = []  # the pieces whose section order is still to be applied
    matched = decoded = n_future = 0
    present = set()
    skew = None if max_clock_skew_ns is None else int(max_clock_skew_ns)
    for path, venue, sid in files:
        f = footer(path)
        groups = groups_to_read(f, start_ns, end_ns, kinds, recv_range, bulk)
        if marks is not None and not verify_groups(path, f, marks.get(path), groups):
            raise Unverified(path)
        if not len(groups):
            continue
        cols = list(_COLS) + (["trade_id"] if trade_ids else []) + (list(ASK_COLS) if f.asks else [])
        spans = row_spans(path, f, groups, start_ns, end_ns, recv_range) \
            if PAGES and marks is not None else None
        if spans is not None:  # (groups none of whose rows can match: not decoded)
            keep = [k for k, sp in enumerate(spans) if sp != (0, 0)]
            groups, spans = groups[keep], [spans[k] for k in keep]
            if not len(groups):
                continue
        parts, n_new = _groups(path, f, groups, cols, spans)
        decoded += n_new
        kept, kept_at = [], []  # each row group's columns, the selection's rows, quotes as their two sides
        for gi, part in zip(groups.tolist(), parts):
            c, k_m, k_f = selected_rows(f, gi, part, start_ns, end_ns, kinds, recv_range, skew)
            matched, n_future = matched + k_m, n_future + k_f
            if c is not None:
                kept.append(c if "ask_price" in c and _all_paired(c) else expand_pairs(c))
                kept_at.append(gi)
        # a file in sections: its rows laid out in event order by one compiled pass (None: the numpy passes)
        ev = file_events(kept, f.kd[kept_at], sid, venue) if f.asks and kept and not trade_ids else None
        if ev is not None:
            present.add(sid)
            pieces.append((ev, None))
            continue
        n = sum(_n_events(c) for c in kept)
        if not n:
            continue
        ev = np.empty(n, EVENT_DTYPE)
        ids = np.empty(n, np.int64) if trade_ids else None
        o = 0
        for c in kept:
            k = _n_events(c)
            _fill(ev[o:o + k], c, sid, venue)
            if ids is not None and k == len(c["trade_id"]):
                ids[o:o + k] = c["trade_id"]
            elif ids is not None:  # (a bid keeps its row's id, its ask has none, as expand_pairs gives them)
                ids[o:o + k:2], ids[o + 1:o + k:2] = c["trade_id"], 0
            o += k
        del kept
        # the quotes' own section laid among the trades as format 2 holds them (the gather is made once,
        # with the event-time order of the pieces when this file is the only one)
        order = bulk_order(ev["ts_event"], ev["ts_recv"], ev["kind"]) if f.asks else None
        if order is not None:
            pend.append(len(pieces))
        present.add(sid)
        pieces.append((ev, order))
        if ids is not None:
            id_pieces.append(ids)
    if len(pieces) == 1 and pieces[0][1] is not None:  # one gather: the section merge, then event time
        ev, order = pieces[0]
        later = event_order(ev["ts_event"][order])
        final = order if later is None else order[later]
        ev = take_records(ev, final)
        tids = id_pieces[0][final] if trade_ids else None
        if tids is not None and not tids.any():
            tids = None
        return ev, tids, matched, decoded, n_future, present
    for j in pend:
        ev, order = pieces[j]
        pieces[j] = (take_records(ev, order), None)
        if trade_ids:
            id_pieces[j] = id_pieces[j][order]
    pieces = [p for p, _o in pieces]
    if not trade_ids or not pieces:  # (several files: their runs merged by one compiled pass, into one new array)
        return event_merged(pieces), None, matched, decoded, n_future, present
    ev, tids = event_merged(pieces, id_pieces)  # (the ids in the events' order: a file's sections, several files)
    del pieces
    if not tids.any():
        tids = None
    return ev, tids, matched, decoded, n_future, present


def _all_paired(c: dict) -> bool:
    """Whether every row of the columns ``c`` is a format-3 quote row carrying its ask (a group of the
    quotes' section: :func:`_fill` lays it out as two events a row, without :func:`expand_pairs`'s copies)."""
    return not np.isnan(c["ask_price"]).any()


def _n_events(c: dict) -> int:
    """The events of the columns ``c``: two a row when they still carry the ask columns (all paired)."""
    return len(c["ts_event_ns"]) * (2 if "ask_price" in c else 1)


def _fill(w: np.ndarray, c: dict, sid: int, venue: int) -> None:
    """Write the columns ``c`` as the events ``w`` (EVENT_DTYPE): one a row, or, with the ask columns
    (every row a quote carrying its ask), its bid then its ask, as :func:`expand_pairs` lays them out."""
    w["symbol_id"], w["venue"] = sid, venue
    if "ask_price" not in c:
        w["ts_event"], w["ts_recv"] = c["ts_event_ns"], c["ts_recv_ns"]
        w["price"], w["qty"] = c["price"], c["qty"]
        w["side"], w["kind"], w["flags"] = c["side"], c["kind"], c["flags"]
        return
    bid, ask = w[0::2], w[1::2]
    for half in (bid, ask):
        half["ts_event"], half["ts_recv"] = c["ts_event_ns"], c["ts_recv_ns"]
        half["kind"], half["flags"] = c["kind"], c["flags"]
    bid["side"], bid["price"], bid["qty"] = c["side"], c["price"], c["qty"]
    ask["side"], ask["price"], ask["qty"] = 4, c["ask_price"], c["ask_qty"]  # Side.SELL


def expand_pairs(c: dict) -> dict:
    """Columns of partition-file rows (numpy arrays by name; ``ask_price`` and ``ask_qty`` NaN where null)
    -> the same rows as events: a format-3 quote row that carries the ask (``ask_price`` not null) becomes
    its bid (side buy, ``price``, ``qty``) followed by its ask (side sell, ``ask_price``, ``ask_qty``), with
    the row's times, kind and flags; every other row stays one row.  The ask columns are dropped."""
    ap = c.get("ask_price")
    if ap is None:
        return c
    aq = c["ask_qty"]
    rest = {k: v for k, v in c.items() if k not in ASK_COLS}
    paired = ~np.isnan(ap)
    k = int(np.count_nonzero(paired))
    if not k:
        return rest
    reps = 2 if k == len(ap) else paired.astype(np.int64) + 1  # (a row group of quotes: every row two)
    out = {name: np.repeat(v, reps) for name, v in rest.items()}
    second = np.flatnonzero(paired) + np.arange(1, k + 1)  # the ask's place: after its bid
    out["side"][second] = 4  # Side.SELL
    out["price"][second] = ap[paired]
    out["qty"][second] = aq[paired]
    if "trade_id" in out:
        out["trade_id"][second] = 0
    return out

"""What every module of :mod:`liqcore.io` shares: the result of a load (:class:`LoadResult`), duplicate
removal (:func:`dedupe`) and the warning helpers; what a reader declares (:class:`Reader`) and the per-file
state it is handed (:class:`FileState`) are :mod:`liqcore.venues.reader`'s, used from here.  Imports nothing
else from the package."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from liqcore.types import Kind, SymbolRegistry
from liqcore.venues.common import KIND_NAMES
# what a reader declares and the per-file state it is handed live with the venues' archive readers, which declare
# readers too (liqcore.venues.reader); io's readers and its registry take them from there
from liqcore.venues.reader import (  # noqa: F401
    SHAPES, SOFT_REJECTS as _SOFT, TIER_ENVELOPE, TIER_HEADERLESS, TIER_JSON, TIER_MARKED, FileState, Reader, fmt_ns,
)

_QUOTE = int(Kind.QUOTE)
_DEPTH = int(Kind.DEPTH)


@dataclass
class LoadResult:
    """What :func:`load_events` returns.

    ``events``: EVENT_DTYPE sorted by ts_event (stable), deduplicated.  ``registry``: the symbol ids
    used.  ``rejects``: reason -> count of dropped records (plus ``control`` frames and
    ``not_a_record`` lines, which are recognised but carry no event).  ``duplicates``: exact
    duplicates removed.  ``sources``: the files read.  ``files``: per file, what was read from it:
    ``format``, ``records`` (rows or lines read), ``events`` (kept), ``rejects`` (reason -> rows
    dropped), ``reordered`` (rows stamped earlier than a row above them: sorted into place),
    ``start_ns`` / ``end_ns`` (event-time span, None without events), ``venues``, ``symbols`` and
    ``kinds`` (name -> events) found (see :func:`file_report`); a file read through a column mapping
    adds ``mapping`` (what each column was taken as).  ``skipped``: files that could not be read (path -> why; the other
    files are loaded).  ``warnings``: lines said about the load (skipped files, compressed files cut
    short), also written to stderr as they happen unless the caller passed its own ``warn``.
    """

    events: np.ndarray
    registry: SymbolRegistry
    rejects: dict = field(default_factory=dict)
    duplicates: int = 0
    sources: list = field(default_factory=list)
    files: dict = field(default_factory=dict)
    recovered: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    #: the venue's trade id of each event (int64, aligned with ``events``; 0: none), or None when no event
    #: has one; read by dedupe and written into datasets, never by a kernel (the event layout stays 40 B)
    trade_ids: np.ndarray | None = None
    #: the events passed a load's checks (row rules, plausibility, duplicates): a dataset written from
    #: them marks its partition files checked, and their reads do not judge them again
    checked: bool = False

    def __len__(self) -> int:
        return len(self.events)

    @property
    def n_rejected(self) -> int:
        return sum(v for k, v in self.rejects.items() if k not in ("control",) and k not in _SOFT)

    def rejects_text(self) -> str:
        """The rejects by reason, then which file(s) they came from: ``malformed_json=1, unknown_topic=1
        (from bad.jsonl)``, or per file when several files had some (``(a.jsonl: malformed_json=1;
        b.jsonl: unknown_topic=1)``)."""
        text = ", ".join(f"{k}={v}" for k, v in sorted(self.rejects.items()))
        by_file = {p: r for p, info in self.files.items() if (r := {k: v for k, v in (info.get("rejects") or {}).items() if v})}
        if len(by_file) == 1:
            return f"{text} (from {next(iter(by_file))})"
        if by_file:
            return text + " (" + "; ".join(f"{p}: " + ", ".join(f"{k}={v}" for k, v in sorted(r.items()))
                                          for p, r in by_file.items()) + ")"
        return text

    def summary(self) -> str:
        """A few human lines: totals, per-file counts, rejects by reason."""
        ev = self.events
        lines = [f"{len(ev)} events from {len(self.sources)} file(s); {self.duplicates} duplicates removed"
                 + (f" ({DUPLICATE_RULE})" if self.duplicates else "")]
        if len(ev):
            kinds = np.bincount(ev["kind"].astype(np.int64), minlength=7)
            parts = [f"{KIND_NAMES.get(k, k)}={int(c)}" for k, c in enumerate(kinds) if c]
            lines.append("  kinds: " + ", ".join(parts))
            lines.append(f"  time: {fmt_ns(int(ev['ts_event'][0]))} .. {fmt_ns(int(ev['ts_event'][-1]))}")
        for path, info in self.files.items():
            line = f"  {path}: format={info['format']} records={info['records']} events={info['events']}"
            if info.get("reordered"):
                line += f" reordered={info['reordered']}"
            lines.append(line)
        if self.rejects:
            lines.append("  rejects: " + self.rejects_text())
        if self.recovered:
            lines.append("  recovered: " + ", ".join(f"{k}={v}" for k, v in sorted(self.recovered.items())))
        for path, why in self.skipped.items():
            lines.append(f"  skipped {path}: {why}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------------- helpers


def file_report(arr: np.ndarray, registry: SymbolRegistry, scan=None) -> dict:
    """What one file's events (in file order) hold: ``reordered`` (rows whose event time is earlier
    than a row above them, which the load sorts into place), ``start_ns`` / ``end_ns``, and the
    ``venues``, ``symbols`` and ``kinds`` (name -> count) found.  ``scan``: ``arr``'s
    :func:`liqcore._libs.reading.event_scan` when the caller has it (the ranges and the order from it)."""
    if not len(arr):
        return {"reordered": 0, "start_ns": None, "end_ns": None, "venues": [], "symbols": [], "kinds": {}}
    if scan is None:
        from liqcore._libs.reading import event_scan

        scan = event_scan(arr)
    ts = arr["ts_event"]
    reordered = 0 if scan.te_sorted else _reordered(ts)
    k = arr["kind"]
    if scan.kind_min == scan.kind_max >= 0:  # one kind (a file of trades, of quotes): no count of every row
        kinds = np.zeros(max(8, scan.kind_min + 1), dtype=np.int64)
        kinds[scan.kind_min] = len(k)
    else:
        kinds = np.bincount(k.astype(np.int64), minlength=8)
    from liqcore.types import Venue

    # the distinct venue codes and symbol ids by counting (small integers), not by sorting every row
    v = arr["venue"]
    if scan.venue_min == scan.venue_max:
        vcodes = np.array([scan.venue_min])
    else:
        vcodes = np.flatnonzero(np.bincount(v.astype(np.int64) - np.int64(-128), minlength=256)) - 128
    venues = sorted({Venue(int(v)).name.lower() if int(v) in Venue._value2member_map_ else str(int(v))
                     for v in vcodes})
    sid = arr["symbol_id"]
    lo, hi = scan.sid_min, scan.sid_max
    ids = [lo] if lo == hi else (np.flatnonzero(np.bincount(sid.astype(np.int64) - lo)) + lo).tolist()
    symbols = sorted({registry.symbol(int(s)) for s in ids if s >= 0})
    return {"reordered": reordered, "start_ns": scan.te_min, "end_ns": scan.te_max, "venues": venues,
            "symbols": symbols, "kinds": {KIND_NAMES.get(k, str(k)): int(c) for k, c in enumerate(kinds) if c}}


def _reordered(ts: np.ndarray, block: int = 1 << 20) -> int:
    """Rows of ``ts`` earlier than a row above them, counted ``block`` rows at a time (the running maximum
    carried from block to block: a block's temporaries, not the file's)."""
    n = len(ts)
    count = 0
    top = None  # the largest time above the block
    for a in range(0, n, block):
        t = ts[a:a + block]
        if (top is None or t[0] >= top) and bool(np.all(t[1:] >= t[:-1])):  # in order (the usual file)
            top = t[-1]
            continue
        acc = np.maximum.accumulate(t)
        if top is not None:  # (the first row of the file has no row above it)
            np.maximum(acc, top, out=acc)
            count += int(t[0] < top)
        count += int(np.count_nonzero(t[1:] < acc[:-1]))
        top = acc[-1]
    return count


def unknown_venues(result: "LoadResult") -> dict[str, dict[str, int]]:
    """Venue name -> {file: records} of the records a load rejected as ``unknown_venue`` that named a venue
    (``files[path]["unknown_venues"]``: a plugin's venue whose package is not installed, a misspelt name)."""
    out: dict[str, dict[str, int]] = {}
    for path, info in result.files.items():
        for name, k in (info.get("unknown_venues") or {}).items():
            by = out.setdefault(name, {})
            by[path] = by.get(path, 0) + int(k)
    return out


def unknown_venues_cause(names) -> str:
    """``venue 'acme' is not registered (is its plugin package installed?)`` for the venue names ``names``."""
    names = list(names)
    quoted = ", ".join(repr(str(v)) for v in names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    if len(names) == 1:
        return f"venue {quoted} is not registered (is its plugin package installed?)"
    return f"venues {quoted} are not registered (are their plugin packages installed?)"


def unknown_venues_note(result: "LoadResult") -> str | None:
    """One line saying which records a load left out for naming a venue not registered: the venue(s), how many
    and from which files (None: none)."""
    named = unknown_venues(result)
    if not named:
        return None
    n = sum(sum(by.values()) for by in named.values())
    files = sorted({p for by in named.values() for p in by})
    where = ", ".join(files[:3]) + (f" (+{len(files) - 3} more)" if len(files) > 3 else "")
    return f"{n:,} record(s) of {where} left out: {unknown_venues_cause(sorted(named))}"


def warn_stderr(line: str) -> None:
    import sys

    print(f"warning: {line}", file=sys.stderr, flush=True)


def unreadable_why(path, exc: Exception) -> str:
    """Why a file could not be read, without repeating its name."""
    why = str(exc) if isinstance(exc, ValueError) else (exc.strerror or str(exc))
    if why.startswith(f"{path}:"):
        why = why[len(str(path)) + 1:].strip()
    if why.startswith("format: "):
        why = why[len("format: "):]
    return why.replace(f" of {path}", "")


#: the duplicate rule (:func:`dedupe`) in the words a load's summary and a convert say it with
DUPLICATE_RULE = ("an event seen twice -- the same row, or a trade's same id -- is kept once; a repeated quote or "
                  "depth row is a state of the book and kept")


def dedupe(events: np.ndarray, trade_ids: np.ndarray | None = None, *, with_ids: bool = False):
    """Drop duplicates, keeping the input order.  Two events are the same when their rows are equal
    (venue, symbol, kind, ts_event, side, qty, price; floats bit-exact) and, when both carry the
    venue's trade id (``trade_ids``, 0: none), their ids are equal: two trades with different ids are
    two trades, whatever their time, price, size and side, and the same trade seen twice (overlapping
    recordings) goes.  An event without an id (a liquidation, a source that keeps none) is the same as
    any event with its row: of such a group the events with an id are kept (one per id), else the
    first, so a recording and its own export without ids show each trade once, in either order.  Of the
    copies of one event the earliest received is kept (the same trade recorded by two sources: it was
    known from its first arrival on, whichever source is read first), ties by input order, as a dataset's
    writer keeps it (it orders each stamp's rows by receive time before this rule).
    Quotes are states of the book, not occurrences: a top of book that comes back within the same
    stamp (A, B, A) is kept, so the last state stays the last.  Returns (events, number removed), or
    with ``with_ids`` (events, trade ids kept, number removed)."""
    keep = duplicate_keep(events, trade_ids)
    if keep is None:
        ev, ids, k = events, trade_ids, 0
    else:
        ev, ids = events[keep], (trade_ids[keep] if trade_ids is not None else None)
        k = len(events) - len(ev)
    return (ev, ids, k) if with_ids else (ev, k)


def duplicate_keep(events: np.ndarray, trade_ids=None) -> np.ndarray | None:
    """The rows :func:`dedupe` keeps (a boolean mask), or None when it keeps them all."""
    n = len(events)
    if n < 2:
        return None
    ts = events["ts_event"]
    # quotes and depth levels are states of the book, not occurrences: never duplicates
    not_quote = (events["kind"] != _QUOTE) & (events["kind"] != _DEPTH)
    if np.all(ts[1:] >= ts[:-1]):
        # sorted: duplicates share ts_event, so only runs of equal times need the full key
        eq = ts[1:] == ts[:-1]
        if not eq.any():
            return None
        cand = np.zeros(n, dtype=bool)
        cand[1:] |= eq
        cand[:-1] |= eq
        idx = np.flatnonzero(cand & not_quote)
    else:
        idx = np.flatnonzero(not_quote)
    if not len(idx):
        return None
    sub = events[idx]
    key = np.empty(
        len(idx),
        dtype=[("ts", "<i8"), ("sid", "<i4"), ("venue", "i1"), ("kind", "i1"), ("side", "i1"), ("p", "<i8"), ("q", "<i8")],
    )
    key["ts"] = sub["ts_event"]
    key["sid"] = sub["symbol_id"]
    key["venue"] = sub["venue"]
    key["kind"] = sub["kind"]
    key["side"] = sub["side"]
    key["p"] = sub["price"].view(np.int64)
    key["q"] = sub["qty"].view(np.int64)
    _u, row_first, group = np.unique(key, return_index=True, return_inverse=True)
    group = group.reshape(-1)
    tid = np.asarray(trade_ids[idx], np.int64) if trade_ids is not None else None
    recv = sub["ts_recv"]
    if tid is None or not tid.any():  # no ids: the row alone
        if len(row_first) == len(idx):
            return None
        first = _earliest(recv, group)
        drop_unnamed = np.zeros(len(idx), dtype=bool)
    else:
        pair = np.empty(len(idx), dtype=[("g", "<i8"), ("t", "<i8")])
        pair["g"], pair["t"] = group, tid
        _u, pair_group = np.unique(pair, return_inverse=True)
        first = _earliest(recv, pair_group.reshape(-1))  # one per (row, id)
        named = np.zeros(len(row_first), dtype=bool)
        named[group[tid != 0]] = True
        drop_unnamed = (tid == 0) & named[group]  # no id, and its row has an event with one: the same event
        if len(first) == len(idx) and not drop_unnamed.any():
            return None
    keep_sub = np.zeros(len(idx), dtype=bool)
    keep_sub[first] = True
    keep_sub &= ~drop_unnamed
    keep = np.ones(n, dtype=bool)
    keep[idx] = keep_sub
    return keep


def _earliest(recv: np.ndarray, group: np.ndarray) -> np.ndarray:
    """The position of each group's earliest-received member (ties: the first in input order)."""
    order = np.lexsort((recv, group))  # stable: equal (group, receive time) keep their input order
    g = group[order]
    head = np.ones(len(g), dtype=bool)
    head[1:] = g[1:] != g[:-1]
    return order[head]


#: Arrow's names of its floating types -> numpy's (the integer types share their names)
_ARROW_FLOATS = {"double": "float64", "float": "float32", "halffloat": "float16"}


def numpy_dtype(typ) -> np.dtype:
    """The numpy type of an Arrow primitive number type, by name (``DataType.to_pandas_dtype`` imports pandas on
    pyarrow before 26: a few tenths of a second on each convert)."""
    name = str(typ)
    return np.dtype(_ARROW_FLOATS.get(name, name))


def arrow_numpy(arr, dtype) -> np.ndarray:
    """An Arrow array as numpy: a null-free primitive one read from its data buffer (pyarrow's
    ``to_numpy`` imports pandas, a fixed cost of a few tenths of a second on each convert)."""
    import pyarrow as pa

    if arr.null_count or not (pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type)
                              or pa.types.is_boolean(arr.type)):
        with np.errstate(invalid="ignore"):  # (a null read as NaN cast to an integer: the caller masks nulls)
            return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=dtype)
    if pa.types.is_boolean(arr.type):  # bits: as bytes first
        arr = arr.cast(pa.uint8())
    data = np.frombuffer(arr.buffers()[1], dtype=numpy_dtype(arr.type))
    return np.asarray(data[arr.offset:arr.offset + len(arr)], dtype=dtype)


def arrow_nulls(col) -> np.ndarray:
    """The mask of a column's empty cells."""
    import pyarrow.compute as pc

    return np.zeros(len(col), dtype=bool) if not col.null_count else arrow_numpy(pc.is_null(col), bool)


class RowBuffer:
    """Chunks of rows (a reader's batches) appended into one array that grows in place: ``numpy.ndarray.resize``
    reallocates, which moves a large block's pages without copying them, so the rows are written once and
    no second array of the whole is allocated and filled as joining the chunks at the end would.  Grown by half at a
    time (its spare room: at most half the rows); :meth:`take` cuts it to the rows appended."""

    GROW = 1.5

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)
        self.buf: np.ndarray | None = None
        self.n = 0

    def append(self, rows: np.ndarray) -> None:
        k = len(rows)
        if not k:
            return
        if self.buf is None:
            self.buf = np.empty(k, self.dtype)
        elif self.n + k > len(self.buf):
            self.buf.resize(max(int(len(self.buf) * self.GROW), self.n + k), refcheck=False)
        self.buf[self.n:self.n + k] = rows
        self.n += k

    def take(self) -> np.ndarray:
        """The rows appended, in order, as one array (the buffer is handed over: the next append starts anew)."""
        buf, self.buf, n, self.n = self.buf, None, self.n, 0
        if buf is None:
            return np.zeros(0, self.dtype)
        if n < len(buf):
            buf.resize(n, refcheck=False)
        return buf



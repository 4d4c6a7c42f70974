"""A dataset's partition files judged where a read or a write first opens them, never per row or per read: a file
is a Parquet file (not a directory, not cut short: :func:`liqcore.dataset.checked.footer` says so, naming it) of
the event contract's columns, each of a type the readers read (:func:`check_file`, from the footer a read takes
anyway; :func:`check_table`, of a file read whole: object storage, a write's merge); and the partition files the
dataset's own checked marks list that are gone (:func:`check_gone`): a read of a selection that held them would
silently give fewer rows; and the partitions of a venue no longer registered (:func:`registered_only`: a plugin's,
its package uninstalled), left out of a read with one line naming the venue, never read as rows of no venue.

Why refuse rather than read what can be read: a partition that is not of the contract is no partition liqcore
wrote (a foreign table, a file written over): reading it gave a traceback or a row made up of defaults, and a
write merged that row into the partition it rewrote.

May import: pyarrow (inside functions), ``venues.common`` (the registered venues' names), ``io``'s ``base`` and
``storage``, and this package's ``checked``.
"""
from __future__ import annotations

import os

#: a partition file's columns: name -> (required, the kinds of type the readers read, the type in words); the
#: kinds: "int" (any integer), "float" (float or double), "string" (UTF-8 or bytes: a format-1 file's names)
_COLUMNS = {
    "ts_event_ns": (True, ("int",), "int64"),
    "ts_recv_ns": (False, ("int",), "int64"),
    "kind": (True, ("int", "string"), "an int8 code or a name"),
    "side": (True, ("int", "string"), "an int8 code or a name"),
    "price": (True, ("float", "int"), "float64"),
    "qty": (True, ("float", "int"), "float64"),
    "flags": (False, ("int",), "uint8"),
    "trade_id": (False, ("int",), "int64"),
    "ask_price": (False, ("float",), "float64"),
    "ask_qty": (False, ("float",), "float64"),
}

#: Parquet's physical types (the footer scan's codes) -> (kind, name); INT32 / INT64 refined by the converted type
_PHYSICAL = {0: ("bool", "boolean"), 1: ("int", "int32"), 2: ("int", "int64"), 3: ("int96", "int96"),
             4: ("float", "float"), 5: ("float", "double"), 6: ("string", "binary"),
             7: ("fixed", "fixed_len_byte_array")}
#: converted types that name an integer's width or another meaning (Parquet's ConvertedType codes)
_CONVERTED = {11: "uint8", 12: "uint16", 13: "uint32", 14: "uint64", 15: "int8", 16: "int16", 17: "int32",
              18: "int64", 5: "decimal", 6: "date32", 7: "time32", 8: "time64", 9: "timestamp[ms]",
              10: "timestamp[us]"}


def _leaf(physical: int, converted: int) -> tuple[str, str]:
    """A footer scan's leaf column (physical and converted type codes) -> (kind, the type in words)."""
    kind, name = _PHYSICAL.get(int(physical), ("other", f"physical type {physical}"))
    if physical == 6:
        return kind, "string" if converted == 0 else name
    if physical in (1, 2) and converted in _CONVERTED:
        name = _CONVERTED[converted]
        if converted in (5, 6, 7, 8, 9, 10):
            kind = "other"
    return kind, name


def _arrow(t) -> tuple[str, str]:
    """A pyarrow type -> (kind, the type in words)."""
    import pyarrow as pa

    v = t.value_type if pa.types.is_dictionary(t) else t
    if pa.types.is_integer(v):
        return "int", str(t)
    if pa.types.is_floating(v):
        return "float", str(t)
    if pa.types.is_string(v) or pa.types.is_large_string(v) or pa.types.is_binary(v) or pa.types.is_large_binary(v):
        return "string", str(t)
    return "other", str(t)


def problem(columns: dict) -> str | None:
    """What makes a file of ``columns`` (name -> (kind, the type in words)) no partition of the event contract, in
    one line (the columns missing, then those of a type the readers cannot read, as found and as expected), or
    None."""
    missing = [c for c, (req, _k, _w) in _COLUMNS.items() if req and c not in columns]
    wrong = [f"{c} is {columns[c][1]} (expected {want})" for c, (_r, kinds, want) in _COLUMNS.items()
             if c in columns and columns[c][0] not in kinds]
    if not missing and not wrong:
        return None
    parts = []
    if missing:
        has = list(columns)
        shown = ", ".join(has[:12]) + (f" and {len(has) - 12} more" if len(has) > 12 else "") if has else "none"
        parts.append(f"lacks column(s) {', '.join(missing)} (has: {shown})")
    if wrong:
        parts.append("column " + ", ".join(wrong))
    return "not a partition file of liqcore's event contract: " + "; ".join(parts)


def check_file(path: str):
    """The footer (:func:`liqcore.dataset.checked.footer`; None where only pyarrow reads it) of the local partition
    file at ``path``, or ValueError,
    one line naming it, when it is not a Parquet file of the event contract's columns and types (its footer's
    leaf schema: nothing decoded; the footer is the one a read takes and keeps anyway)."""
    from liqcore.dataset.checked import footer

    try:
        f = footer(path)
        columns = {c[0]: _leaf(c[1], c[3]) for c in f.schema}
    except ValueError as exc:  # (Parquet the compiled scan does not read, pyarrow may: its schema, else the error)
        import pyarrow as pa
        import pyarrow.parquet as pq

        if os.path.isdir(path):
            raise
        try:
            schema = pq.read_schema(path)
        except (pa.ArrowException, OSError):
            raise exc from None
        f, columns = None, {x.name: _arrow(x.type) for x in schema}
    why = problem(columns)
    if why:
        raise ValueError(f"dataset partition file {path}: {why}")
    return f


def check_schema(schema, where: str) -> None:
    """ValueError naming ``where`` when the pyarrow ``schema`` of a partition file is not of the event contract's
    columns and types (:func:`problem`)."""
    why = problem({f.name: _arrow(f.type) for f in schema})
    if why:
        raise ValueError(f"dataset partition file {where}: {why}")


def check_table(table, where: str):
    """``table`` (a partition file read whole, ``where`` naming it), or ValueError naming it when its columns are
    not the event contract's (:func:`check_schema`)."""
    check_schema(table.schema, where)
    return table


def read_table(source, where: str):
    """A partition file read whole with pyarrow (``source``: its path, or a file object of its bytes) and checked
    (:func:`check_table`); a file pyarrow cannot read is a ValueError naming ``where``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if isinstance(source, (str, os.PathLike)):
        check_file(str(source))  # (a directory, a file cut short: said as such, before pyarrow reads it)
    try:
        table = pq.read_table(source)
    except (pa.ArrowException, OSError) as exc:
        raise ValueError(f"dataset partition file {where}: cannot be read: {' '.join(str(exc).split())}") from None
    return check_table(table, where)


_GONE_CACHE: dict = {}  # dataset root -> (the marks dict read_marks gave, {partition: [(name, mark)]})


def _marked(root) -> dict:
    """(venue, symbol, date) -> [(the file's path in the dataset, its mark)] of the local dataset ``root``'s
    checked marks (parsed once per version of its marks file)."""
    from liqcore.dataset.checked import read_marks

    marks = read_marks(root)
    key = str(root)
    hit = _GONE_CACHE.get(key)
    if hit is not None and hit[0] is marks:
        return hit[1]
    out: dict = {}
    for rel, mark in marks.items():
        parts = rel.split("/")
        if len(parts) == 4 and parts[0].startswith("venue=") and parts[1].startswith("symbol=") \
                and parts[2].startswith("date="):
            out.setdefault((parts[0][6:], parts[1][7:], parts[2][5:]), []).append((rel, mark))
    if len(_GONE_CACHE) > 1_000:
        _GONE_CACHE.clear()
    _GONE_CACHE[key] = (marks, out)
    return out


def gone(root, present, select) -> list[tuple[str, dict]]:
    """The partition files the local dataset ``root``'s checked marks list, of the partitions ``select`` keeps
    (a function of a list of (venue, symbol, date) partitions -> those of the selection), whose partition is not
    ``present`` (a set of the partitions that hold a Parquet file): [(path in the dataset, its mark)]."""
    marked = _marked(root)
    if not marked:
        return []
    lost = [p for p in marked if p not in present]
    return [x for p in sorted(select(lost)) for x in marked[p]] if lost else []


def gone_note(root, files) -> str:
    """The partition files ``files`` (:func:`gone`) in words: their names, and the events each held where its mark
    says (marks written since this check keep the count)."""
    shown = []
    for rel, mark in files[:5]:
        n = mark.get("events") if isinstance(mark, dict) else None
        shown.append(f"{rel} ({n:,} events)" if isinstance(n, int) and not isinstance(n, bool) else rel)
    more = f" and {len(files) - 5} more" if len(files) > 5 else ""
    return ", ".join(shown) + more


def check_gone(root, present, select) -> None:
    """ValueError, one line naming them and the ways out, when partition files the local dataset ``root``'s checked
    marks list are gone from the partitions ``select`` keeps (:func:`gone`): a read of them would silently give
    fewer rows."""
    from liqcore.dataset.checked import MARKS_FILE

    files = gone(root, present, select)
    if files:
        raise ValueError(
            f"dataset {root}: {len(files)} partition file(s) its list of checked files ({MARKS_FILE}) holds are "
            f"gone: {gone_note(root, files)}; put them back, convert their sources into it again (liqcore convert "
            f"SOURCES --dataset {root} --force), or forget them (liqcore dataset upgrade {root})")


def unregistered_venues(parts) -> list[str]:
    """The venues of the (venue, symbol, date) ``parts`` that no registered venue is named for (a plugin's venue
    whose package is not installed: its rows cannot be given a venue code), sorted."""
    from liqcore.venues.common import VENUE_BY_NAME

    # (.get, not ``in``: a name not seen yet registers every venue, the plugins' included, before it is judged)
    return sorted({p[0] for p in parts if VENUE_BY_NAME.get(p[0]) is None})


def unregistered_note(names) -> str:
    """``venue 'acme' (partition venue=acme/) is not a registered venue: install its plugin package (registered:
    ...)`` for the venue names ``names``."""
    from liqcore.venues.common import VENUE_BY_NAME

    quoted = ", ".join(repr(str(v)) for v in names)
    folders = ", ".join(f"venue={v}/" for v in names)
    known = ", ".join(VENUE_BY_NAME)
    if len(names) == 1:
        return (f"venue {quoted} (partition {folders}) is not a registered venue: install its plugin package "
                f"(registered: {known})")
    return (f"venues {quoted} (partitions {folders}) are not registered venues: install their plugin packages "
            f"(registered: {known})")


#: (dataset, venues) already said to be left out of a read: each said once per process
_TOLD_UNREGISTERED: set = set()


def registered_only(path, parts, *, strict: bool, warn=None) -> list:
    """``parts`` less the partitions of venues no longer registered (:func:`unregistered_venues`): their rows cannot
    be read as any venue's, and a read that reached them would only count every row rejected (and a checked
    file's mark would seem not to match its bytes).  Some left out among others: said once per process (``warn``,
    default stderr) with their partitions and rows; nothing else in ``parts`` and ``strict``: a ValueError naming
    the venue(s) and the way out (not strict: no partition, the caller's empty read)."""
    gone = unregistered_venues(parts)
    if not gone:
        return list(parts)
    kept = [p for p in parts if p[0] not in gone]
    note = unregistered_note(gone)
    if not kept and strict:
        raise ValueError(f"dataset: {path}: {note}")
    key = (str(path), tuple(gone))
    if key not in _TOLD_UNREGISTERED:
        _TOLD_UNREGISTERED.add(key)
        left = [p for p in parts if p[0] in gone]
        from liqcore.io import storage

        rows = "" if storage.is_url(path) else f", {_rows_of(path, left):,} rows"
        if warn is None:
            from liqcore.io.base import warn_stderr as warn
        warn(f"dataset {path}: {len(left)} partition(s){rows} left out of the read: {note}")
    return kept


def _rows_of(root, parts) -> int:
    """The events the partition files of ``parts`` of the local dataset ``root`` hold, from their footers (a file
    whose footer cannot be read: not counted; the partitions are left out of the read all the same)."""
    from liqcore.dataset.checked import footer

    n = 0
    for v, s, d in parts:
        try:
            with os.scandir(os.path.join(str(root), f"venue={v}", f"symbol={s}", f"date={d}")) as it:
                names = [e.path for e in it if e.name.endswith(".parquet") and not e.name.startswith((".", "_"))]
            n += sum(footer(f).events for f in names)
        except (OSError, ValueError):
            continue
    return n

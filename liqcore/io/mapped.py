"""Reader of homemade files: any CSV or Parquet read through a column mapping given on the command
line (``--columns ts=T,symbol=s,side=S,price=p,qty=q --ts-unit ms --side-means order --kind
liquidation``, optional ``venue=`` and ``ts_recv=`` columns, or ``--venue``), format ``columns``.

The details: docs/how-to/convert.md, "Homemade files through a column mapping".

May import: ``numpy``, ``pandas``, ``pyarrow``, ``types``, ``validate``, ``venues.common`` and this
package's ``base``.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from liqcore.io.base import Reader, FileState
from liqcore.types import EVENT_DTYPE, VENUE_SPAN, Flag, Kind, Side, Venue
from liqcore.venues.common import RECV_UNKNOWN, VENUE_BY_NAME, Reject, wire_number

#: the fields a mapping names (``ts``, ``symbol``, ``side``, ``price``, ``qty`` are required)
REQUIRED = ("ts", "symbol", "side", "price", "qty")
OPTIONAL = ("venue", "ts_recv")
#: ``--ts-unit`` -> ns per unit
TS_UNITS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_UNIT_WORDS = {"s": "seconds", "ms": "ms", "us": "µs", "ns": "ns"}
SIDE_MEANS = ("order", "position")
KINDS = ("liquidation", "trade")
#: the calendar a file's times must fall in: 2017-01-01 .. 2100-01-01
_T_MIN_NS = 1_483_228_800_000_000_000
_BUY = frozenset({"BUY", "B", "BID"})
_SELL = frozenset({"SELL", "S", "ASK"})
_LONG = frozenset({"LONG", "L"})
_SHORT = frozenset({"SHORT"})


@dataclass(frozen=True)
class ColumnMapping:
    """What the user said about a homemade file: field -> column name, the time unit, what the side
    column means (liquidations), the kind of every row, and the venue (a constant, or a column)."""

    columns: dict = field(default_factory=dict)
    ts_unit: str = "ms"
    side_means: str | None = None
    kind: str = "liquidation"
    venue: str | None = None

    def fields(self) -> tuple:
        """The mapping as a tuple of plain values (hashable, picklable): :meth:`from_fields` gives it back."""
        return (tuple(self.columns.items()), self.ts_unit, self.side_means, self.kind, self.venue)

    @classmethod
    def from_fields(cls, t: tuple) -> "ColumnMapping":
        return cls(dict(t[0]), *t[1:])


def parse_columns(text: str) -> dict:
    """``"ts=T,symbol=s,side=S,price=p,qty=q"`` -> {field: column}; ValueError naming what is wrong."""
    out: dict = {}
    for item in str(text or "").split(","):
        if not item.strip():
            continue
        name, sep, col = item.partition("=")
        name, col = name.strip().lower(), col.strip()
        if not sep or not name or not col:
            raise ValueError(f"columns: expected FIELD=COLUMN, got {item.strip()!r} (fields: "
                             f"{', '.join(REQUIRED + OPTIONAL)})")
        if name not in REQUIRED + OPTIONAL:
            raise ValueError(f"columns: unknown field {name!r} (fields: {', '.join(REQUIRED + OPTIONAL)})")
        if name in out:
            raise ValueError(f"columns: field {name!r} is given twice")
        out[name] = col
    missing = [f for f in REQUIRED if f not in out]
    if missing:
        raise ValueError(f"columns: {', '.join(missing)} not mapped (give {', '.join(f + '=COLUMN' for f in missing)})")
    return out


def make_mapping(columns: str, ts_unit: str | None, side_means: str | None, kind: str | None,
                 venue: str | None) -> ColumnMapping:
    """The mapping of the command-line options (``--columns``, ``--ts-unit``, ``--side-means``,
    ``--kind``, ``--venue``); ValueError naming the option that is missing or wrong."""
    cols = parse_columns(columns)
    unit = (ts_unit or "").strip().lower()
    if unit not in TS_UNITS:
        raise ValueError(f"ts-unit: give --ts-unit, one of {', '.join(TS_UNITS)} (the unit of column "
                         f"{cols['ts']!r}); got {ts_unit!r}" if ts_unit else
                         f"ts-unit: --columns needs --ts-unit (s, ms, us or ns: the unit of column {cols['ts']!r})")
    k = (kind or "").strip().lower().rstrip("s")
    if k not in KINDS:
        raise ValueError("kind: --columns needs --kind liquidation or --kind trade (what every row is)"
                         + (f"; got {kind!r}" if kind else ""))
    means = (side_means or "").strip().lower() or None
    if means is not None and means not in SIDE_MEANS:
        raise ValueError(f"side-means: expected order or position; got {side_means!r}")
    if k == "liquidation" and means is None:
        raise ValueError("side-means: liquidations need --side-means order (the forced order's side: BUY = a "
                         "short was liquidated) or --side-means position (the liquidated position: LONG / SHORT)")
    if k == "trade" and means == "position":
        raise ValueError("side-means: a trade's side is the taker's order side (--side-means order), not a position")
    v = None
    if venue:
        v = _venue_name(venue)
        if v is None:
            raise ValueError(f"venue: unknown venue {venue!r} (expected one of {', '.join(VENUE_BY_NAME)})")
    elif "venue" not in cols:
        raise ValueError(f"venue: --columns needs --venue {'|'.join(VENUE_BY_NAME)} or a venue=COLUMN mapping")
    return ColumnMapping(columns=cols, ts_unit=unit, side_means=means, kind=k, venue=v)


def _venue_name(text) -> str | None:
    from liqcore.venues.registry import venue_by_alias

    return venue_by_alias(text)  # (a registered venue's name, or a spelling it has in files: its aliases)


# ------------------------------------------------------------------------------------------- reading
def _read_table(path: Path):
    """The file as a pyarrow Table: Parquet (by its magic bytes or name), JSON lines (one object a line, the
    first non-blank byte ``{``; its keys the columns), else CSV (every column as text, so a mapping's checks see
    what the file holds); a ``.gz`` / ``.zst`` / ``.bz2`` name is decompressed."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    name = path.name.lower()
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic == b"PAR1" or name.endswith((".parquet", ".pq")):
        return pq.read_table(path)
    with pa.input_stream(str(path), compression="detect") as fh:
        head = fh.read(4096).lstrip()
    if head[:1] == b"{":
        import pyarrow.json as pjson

        try:
            with pa.input_stream(str(path), compression="detect") as fh:
                return pjson.read_json(fh)
        except pa.ArrowInvalid as exc:
            raise ValueError(f"format: {path} is not JSON lines pyarrow can read ({str(exc).splitlines()[0]})") \
                from None
    try:
        return pcsv.read_csv(str(path), convert_options=pcsv.ConvertOptions(
            column_types=None, strings_can_be_null=True, quoted_strings_can_be_null=True))
    except pa.ArrowInvalid as exc:
        raise ValueError(f"format: {path} is not a CSV file pyarrow can read ({str(exc).splitlines()[0]})") from None


def _column(table, fld: str, col: str, path) -> "object":
    if col not in table.column_names:
        have = ", ".join(table.column_names[:12]) + (" ..." if len(table.column_names) > 12 else "")
        raise ValueError(f"columns: {fld}={col}: {path} has no column {col!r} (its columns: {have})")
    return table.column(col)


def _numbers(arr) -> np.ndarray:
    """A pyarrow column -> float64 (NaN where a value is missing or not a number)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type) or pa.types.is_decimal(arr.type):
        return pc.cast(arr, pa.float64(), safe=False).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    text = pc.cast(arr, pa.string())
    try:  # every value a number (or missing): pyarrow's own parse
        return pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    out = np.full(len(text), np.nan)  # some value is not a number: NaN there, value by value (as pyarrow's cast
    for i, v in enumerate(text.to_pylist()):  # reads them: "58_000" is no number)
        if v is not None:
            try:
                out[i] = wire_number(v)
            except ValueError:
                pass
    return out


def _times(arr, unit: str, fld: str, col: str) -> tuple[np.ndarray, np.ndarray]:
    """(ns since the epoch as int64, valid mask) of a time column in ``unit`` (timestamp columns
    carry their own unit)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_timestamp(arr.type):
        a = pc.cast(arr, pa.timestamp("ns", tz=arr.type.tz)).cast(pa.int64())
        valid = ~np.asarray(pc.is_null(a).to_numpy(zero_copy_only=False), dtype=bool)
        return np.asarray(a.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64), valid
    if pa.types.is_integer(arr.type):
        valid = ~np.asarray(pc.is_null(arr).to_numpy(zero_copy_only=False), dtype=bool)
        raw = np.asarray(pc.cast(arr, pa.int64()).fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
        with np.errstate(over="ignore"):
            ns = raw * TS_UNITS[unit]
        ok = np.abs(raw) <= (2**62) // TS_UNITS[unit]
        return ns, valid & ok
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        s = pc.cast(arr, pa.string()).to_numpy(zero_copy_only=False)
        digits = np.array([bool(x) and x.strip().lstrip("-").isdigit() for x in s], dtype=bool) if len(s) else np.zeros(0, bool)
        if digits.all():  # integers as text: exact
            raw = np.array([int(x) for x in s], dtype=object)
            ok = np.array([abs(x) <= (2**62) // TS_UNITS[unit] for x in raw], dtype=bool)
            ns = np.array([x * TS_UNITS[unit] if o else 0 for x, o in zip(raw, ok)], dtype=np.int64)
            return ns, ok
    f = _numbers(arr)
    valid = np.isfinite(f)
    ns = np.zeros(len(f), dtype=np.int64)
    per = TS_UNITS[unit]
    ok = valid & (np.abs(np.where(valid, f, 0.0) * per) < 2.0**62)
    # whole units exactly, the fraction to the µs (a float of seconds since the epoch holds ~0.2 µs)
    whole = np.floor(f[ok])
    frac = f[ok] - whole
    step = 1_000 if per >= 1_000_000 else 1
    ns[ok] = whole.astype(np.int64) * per + np.round(frac * (per // step)).astype(np.int64) * step
    return ns, ok


def _utc(ns: int) -> str:
    return _dt.datetime.fromtimestamp(ns / 1e9, tz=_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _check_calendar(col, m: ColumnMapping, path) -> None:
    """A time unit that puts most rows outside 2017 .. 2100 is an error naming the column and
    the unit that would fit."""
    import pyarrow as pa

    if pa.types.is_timestamp(col.type):
        import pyarrow.compute as pc

        f = pc.cast(pc.cast(col, pa.timestamp("ns", tz=col.type.tz)), pa.int64()).to_numpy(zero_copy_only=False)
        f = np.asarray(f, dtype=np.float64)
        per, said = 1, "a timestamp column"
    else:
        f = _numbers(col)
        per, said = TS_UNITS[m.ts_unit], f"read as {_UNIT_WORDS[m.ts_unit]} since the epoch"
    t = f[np.isfinite(f)] * per
    if not len(t):
        if len(f):
            raise ValueError(f"columns: ts={m.columns['ts']}: no row of {path} holds a number of {m.ts_unit} "
                             f"(e.g. {_example(col)!r})")
        return
    from liqcore.validate import FILE_TIME_MAX_NS

    hi = FILE_TIME_MAX_NS  # fixed: a file reads the same whatever the day
    inside = (t >= _T_MIN_NS) & (t <= hi)
    if np.count_nonzero(inside) * 2 >= len(t):
        return
    med = float(np.median(t)) / per  # the column's median value as written
    fits = [u for u, k in TS_UNITS.items() if _T_MIN_NS <= med * k <= hi]

    def day(x: float) -> str:
        return _utc(int(x)) if abs(x) < 9e18 else ("after 2262" if x > 0 else "before 1677")

    raise ValueError(f"ts-unit: column {m.columns['ts']!r} of {path} {said} gives {day(t.min())} .. "
                     f"{day(t.max())} (UTC), outside 2017 .. 2100"
                     + (f"; it fits --ts-unit {' or '.join(fits)}" if fits else "; is it a time column?"))


def _distinct(col, upper: bool = True) -> tuple[list, np.ndarray, np.ndarray]:
    """(distinct values, index of each row's value, rows per value) of a text column, stripped (and
    upper-cased), missing values as "" -- in pyarrow, so 10 M rows of a few symbols stay fast."""
    import pyarrow as pa
    import pyarrow.compute as pc

    s = pc.utf8_trim_whitespace(pc.cast(col, pa.string()).fill_null(""))
    if upper:
        s = pc.utf8_upper(s)
    uniq = pc.unique(s)
    idx = np.asarray(pc.index_in(s, value_set=uniq).to_numpy(zero_copy_only=False), dtype=np.int64)
    counts = np.bincount(idx, minlength=len(uniq)) if len(idx) else np.zeros(len(uniq), dtype=np.int64)
    return uniq.to_pylist(), idx, counts


def _side_codes(uniq: list, inv: np.ndarray, m: ColumnMapping) -> tuple[np.ndarray, dict]:
    """(liqcore side per row, 0 = not recognised; {value as written: meaning}) for a side column."""
    codes = np.zeros(len(uniq), dtype=np.int8)
    meaning: dict = {}
    for i, u in enumerate(uniq):
        c = 0
        if m.kind == "trade":
            c = int(Side.BUY) if u in _BUY else int(Side.SELL) if u in _SELL else 0
        elif m.side_means == "order":  # the forced order: BUY closes a short
            c = int(Side.SHORT) if u in _BUY else int(Side.LONG) if u in _SELL else 0
        else:
            c = (int(Side.LONG) if u in _LONG or u in _BUY else int(Side.SHORT) if u in _SHORT or u in _SELL else 0)
        codes[i] = c
        meaning[str(u)] = c
    return codes[inv], meaning


def _side_error(meaning: dict, counts: dict, m: ColumnMapping, path) -> str | None:
    bad = [v for v, c in meaning.items() if c == 0]
    if not bad:
        return None
    if m.kind == "liquidation" and m.side_means == "order" and all(v in _LONG | _SHORT for v in bad):
        return (f"columns: side={m.columns['side']}: the values of {path} are {'/'.join(sorted(meaning))}, position "
                "sides, not order sides: use --side-means position")
    expect = "BUY/SELL" if m.kind == "trade" or m.side_means == "order" else "LONG/SHORT (or BUY/SELL = long/short)"
    shown = ", ".join(repr(v) for v in sorted(bad, key=lambda v: -counts.get(v, 0))[:5])
    return (f"columns: side={m.columns['side']}: {path} has side values that are not recognised ({shown}; expected "
            f"{expect})")


def read_mapped(path, st: FileState, m: ColumnMapping) -> np.ndarray:
    """One homemade file -> events (file order; receive times RECV_UNKNOWN unless ``ts_recv`` is
    mapped).  Bad rows are counted on ``st``; a mapping that does not fit is a ValueError naming
    the column.  What each column was taken as goes to ``st.info["mapping"]``."""
    path = Path(path)
    table = _read_table(path)
    cols = {f: _column(table, f, c, path) for f, c in m.columns.items()}
    n = table.num_rows
    st.records = n
    sink = st.sink
    ok = np.ones(n, dtype=bool)

    def drop(mask: np.ndarray, reason: str, fld: str) -> None:
        nonlocal ok
        bad = ok & mask
        k = int(np.count_nonzero(bad))
        if k:
            if st.strict:
                row = int(np.flatnonzero(bad)[0]) + 1
                raise ValueError(f"{path}:{row}: {reason} ({m.columns.get(fld, fld)})")
            sink.count(reason, k)
            st.culprits[(reason, fld)] = st.culprits.get((reason, fld), 0) + k
            ok &= ~mask

    _check_calendar(cols["ts"], m, path)
    ts, tvalid = _times(cols["ts"], m.ts_unit, "ts", m.columns["ts"])
    drop(~tvalid, "bad_time", "ts")
    recv = np.full(n, RECV_UNKNOWN, dtype=np.int64)
    if "ts_recv" in cols:
        r, rvalid = _times(cols["ts_recv"], m.ts_unit, "ts_recv", m.columns["ts_recv"])
        recv = np.where(rvalid, r, RECV_UNKNOWN)

    import pyarrow as pa
    import pyarrow.compute as pc

    suniq, sinv, scount = _distinct(cols["side"])
    side, meaning = _side_codes(suniq, sinv, m) if n else (np.zeros(0, np.int8), {})
    if n:
        counts = dict(zip(suniq, scount.tolist()))
        why = _side_error(meaning, counts, m, path)
        unknown = side == 0
        nu = int(np.count_nonzero(unknown))
        # most rows, or more than 1 % and more than 10 of them: the mapping is wrong (a few: counted)
        if why is not None and (nu * 2 > n or (nu > 10 and nu * 100 > n)):
            raise ValueError(why)
        drop(unknown, "bad_side", "side")
    price = _numbers(cols["price"])
    qty = _numbers(cols["qty"])
    for arr, fld in ((price, "price"), (qty, "qty")):
        drop(np.isnan(arr), "non_numeric", fld)
        drop(~np.isfinite(arr), "non_finite", fld)
        drop(~(arr > 0), "non_positive", fld)
    for fld in ("price", "qty"):
        nbad = st.culprits.get(("non_numeric", fld), 0) + st.culprits.get(("non_positive", fld), 0)
        if n and nbad * 2 > n:
            raise ValueError(f"columns: {fld}={m.columns[fld]}: {nbad:,} of {n:,} rows of {path} are not positive "
                             f"numbers (e.g. {_example(cols[fld])!r})")

    # venue: a constant or a column
    if m.venue is not None:
        venue = np.full(n, VENUE_BY_NAME[m.venue], dtype=np.int8)
        venues_seen = {m.venue: n}
    else:
        uv, vinv, _ = _distinct(cols["venue"], upper=False)
        vcodes = np.array([VENUE_BY_NAME.get(_venue_name(u) or "", 0) for u in uv], dtype=np.int8)
        venue = vcodes[vinv] if len(uv) else np.zeros(n, dtype=np.int8)
        if n and np.count_nonzero(venue == 0) * 2 > n:
            bad = [repr(u) for u, c in zip(uv, vcodes) if c == 0][:5]
            raise ValueError(f"columns: venue={m.columns['venue']}: {path} has venues that are not recognised "
                             f"({', '.join(bad)}; expected one of {', '.join(VENUE_BY_NAME)})")
        drop(venue == 0, "unknown_venue", "venue")
        venues_seen = {}

    # symbols: one id per (venue, symbol), the venue's alphabet checked once per name
    sid = np.full(n, -1, dtype=np.int32)
    if n:
        syms, syinv, _ = _distinct(cols["symbol"])
        key = venue.astype(np.int64) * len(syms) + syinv  # small integers: a lookup table, no sort
        seen = np.flatnonzero(np.bincount(key, minlength=VENUE_SPAN * len(syms)))
        ids = np.full(VENUE_SPAN * len(syms), -1, dtype=np.int32)  # (venue: a registered code, 1..127, or 0)
        for k in seen.tolist():
            v, s_ = divmod(k, len(syms))
            if v == 0:
                continue
            try:
                ids[k] = sink.sid(int(v), syms[s_])
            except Reject:
                pass
        sid = ids[key]
        nbad = int(np.count_nonzero(ok & (sid < 0)))
        if nbad * 2 > n:
            raise ValueError(f"columns: symbol={m.columns['symbol']}: {nbad:,} of {n:,} rows of {path} have no "
                             f"usable symbol (e.g. {syms[syinv[np.flatnonzero(sid < 0)[0]]]!r})")
        drop(sid < 0, "bad_symbol", "symbol")

    kind = int(Kind.LIQUIDATION) if m.kind == "liquidation" else int(Kind.TRADE)
    out = np.zeros(int(np.count_nonzero(ok)), dtype=EVENT_DTYPE)
    out["ts_event"] = ts[ok]
    out["ts_recv"] = recv[ok]
    out["price"] = price[ok]
    out["qty"] = qty[ok]
    out["symbol_id"] = sid[ok]
    out["side"] = side[ok]
    out["kind"] = kind
    out["venue"] = venue[ok]
    if kind == Kind.LIQUIDATION:
        # the venues whose liquidation streams push at most one liquidation per symbol per second
        from liqcore.venues.registry import registered

        throttled = np.isin(out["venue"], [s.code for s in registered() if s.sampled_liquidations])
        out["flags"][throttled] = int(Flag.THROTTLED)
    st.info["mapping"] = _describe_file(m, out, meaning, venues_seen, st.sink.registry)
    return out


def _example(arr) -> str:
    import pyarrow as pa
    import pyarrow.compute as pc

    for x in pc.cast(arr, pa.string()).to_pylist()[:1000]:
        try:
            if x is None or not wire_number(x) > 0:
                return "" if x is None else x
        except ValueError:
            return x
    return ""


def _describe_file(m: ColumnMapping, ev: np.ndarray, meaning: dict, venues_seen: dict, registry) -> dict:
    """What each column was taken as, in one file (merged over files by :func:`mapping_report`)."""
    info: dict = {"columns": dict(m.columns), "ts_unit": m.ts_unit, "side_means": m.side_means, "kind": m.kind,
                  "venue": m.venue, "side_values": sorted(v for v, c in meaning.items() if c)}
    if len(ev):
        info.update(ts_min_ns=int(ev["ts_event"].min()), ts_max_ns=int(ev["ts_event"].max()),
                    price_min=float(ev["price"].min()), price_max=float(ev["price"].max()),
                    qty_min=float(ev["qty"].min()), qty_max=float(ev["qty"].max()))
        rec = ev["ts_recv"][ev["ts_recv"] != RECV_UNKNOWN]
        if len(rec):
            info.update(recv_min_ns=int(rec.min()), recv_max_ns=int(rec.max()))
        info["symbols"] = sorted({registry.symbol(int(s)) for s in np.unique(ev["symbol_id"])})
        info["venues"] = sorted({Venue(int(v)).name.lower() for v in np.unique(ev["venue"])})
    return info


def _side_words(info: dict) -> str:
    vals = "/".join(info["side_values"]) or "none usable"
    if info["kind"] == "trade":
        return f"values {vals} read as the taker's side"
    if info["side_means"] == "order":
        return f"values {vals} read as the forced order's side: BUY = a short was liquidated"
    return f"values {vals} read as the liquidated position's side"


def mapping_report(result) -> str | None:
    """One line saying what each mapped column was taken as, over every file of a load read through
    a column mapping (None when none was)."""
    infos = [f["mapping"] for f in result.files.values() if isinstance(f, dict) and f.get("mapping")]
    if not infos:
        return None
    first = infos[0]
    c = first["columns"]
    with_rows = [i for i in infos if "ts_min_ns" in i]

    def span(lo_key: str, hi_key: str) -> str:
        lo = min(i[lo_key] for i in with_rows if lo_key in i)
        hi = max(i[hi_key] for i in with_rows if hi_key in i)
        return f"{_utc(lo)} .. {_utc(hi)} UTC"

    unit = _UNIT_WORDS[first["ts_unit"]]
    side_values = sorted({v for i in infos for v in i["side_values"]})
    parts = []
    parts.append(f"ts ← {c['ts']} ({unit} since the epoch" + (f", {span('ts_min_ns', 'ts_max_ns')})" if with_rows else ")"))
    syms = sorted({s for i in with_rows for s in i.get("symbols", ())})
    parts.append(f"symbol ← {c['symbol']} ({len(syms)} symbol(s): {', '.join(syms[:5])}{' ...' if len(syms) > 5 else ''})")
    parts.append(f"side ← {c['side']} ({_side_words({**first, 'side_values': side_values})})")
    if with_rows:
        pmin, pmax = min(i["price_min"] for i in with_rows), max(i["price_max"] for i in with_rows)
        qmin, qmax = min(i["qty_min"] for i in with_rows), max(i["qty_max"] for i in with_rows)
        parts.append(f"price ← {c['price']} (quote currency per base unit, {pmin:g} .. {pmax:g})")
        parts.append(f"qty ← {c['qty']} (base units, {qmin:g} .. {qmax:g})")
    else:
        parts.append(f"price ← {c['price']} (quote currency per base unit)")
        parts.append(f"qty ← {c['qty']} (base units)")
    if "venue" in c:
        venues = sorted({v for i in with_rows for v in i.get("venues", ())})
        parts.append(f"venue ← {c['venue']} ({', '.join(venues) or 'none usable'})")
    else:
        parts.append(f"venue = {first['venue']} (--venue)")
    if "ts_recv" in c:
        has = [i for i in with_rows if "recv_min_ns" in i]
        parts.append(f"ts_recv ← {c['ts_recv']} ({unit} since the epoch"
                     + (f", {span('recv_min_ns', 'recv_max_ns')})" if has else ")"))
    else:
        parts.append("ts_recv: none (event time + feed latency, flagged estimated)")
    parts.append(f"kind = {first['kind']} (--kind)")
    return "columns: " + ", ".join(parts)


def _load_needs_mapping(path, st: FileState) -> np.ndarray:
    m = getattr(st, "mapping", None)
    if m is None:
        raise ValueError("format: --format columns needs --columns ts=COL,symbol=COL,side=COL,price=COL,qty=COL "
                         "(with --ts-unit, --kind, --side-means and --venue)")
    return read_mapped(path, st, m)


COLUMNS = Reader(
    name="columns",
    doc="any CSV or Parquet file read through --columns ts=T,symbol=s,side=S,price=p,qty=q[,venue=v][,ts_recv=r] "
        "with --ts-unit, --kind, --side-means and --venue",
    shape="path",
    load=_load_needs_mapping,
)

"""Readers of the event contract, liqcore's own columns: ``contract-csv`` (header
``ts_event_ns,venue,symbol,side,price,qty[,kind][,ts_recv_ns][,flags][,trade_id]``) and ``parquet`` (the same
columns, as :func:`liqcore.io.save_events` and ``liqcore convert`` write them; datasets hold them too).
Both go through one vectorised check (:func:`contract_table`) that gives a record the same reject reason
as the CSV row path (:func:`_contract_row`)."""
from __future__ import annotations

import io as _io
import math
from pathlib import Path

import numpy as np

from liqcore.io.base import TIER_MARKED, Reader, FileState
from liqcore.types import EVENT_DTYPE, VENUE_SPAN, Kind, Venue, venue_registered
from liqcore.venues.common import (KIND_BY_NAME, RECV_UNKNOWN, SIDE_BY_NAME, VENUE_BY_NAME, Reject, Sink,
                                   note_unknown_venue)

_I64_MAX = 2**63 - 1
CONTRACT_COLUMNS = ("ts_event_ns", "venue", "symbol", "side", "price", "qty")
CONTRACT_OPTIONAL = ("kind", "ts_recv_ns", "flags", "trade_id")
#: the columns liqcore writes to Parquet without compression: the times, delta-packed (DELTA_BINARY_PACKED: zstd
#: took 1-3 % off them, a day of a busy symbol's trades and quotes 61.1 -> 62.2 MB), and the dictionary-coded
#: few-valued ones (zstd made them larger); a read then decodes their pages as they lie, without a decompression
#: (two of the five or six columns of every page a backtest's window reads), and a write compresses a fifth
#: fewer bytes
STORED_PLAIN = ("ts_event_ns", "ts_recv_ns", "kind", "side", "flags", "venue", "symbol")


def column_codecs(names, codec: str = "zstd") -> dict:
    """Each Parquet column ``names``' compression as liqcore writes it: none for :data:`STORED_PLAIN`, else
    ``codec`` (pyarrow's ``compression=`` by column)."""
    return {n: "none" if n in STORED_PLAIN else codec for n in names}


def table_trade_ids(table, kept: list | None = None) -> np.ndarray | None:
    """A table's ``trade_id`` column (the venues' trade ids; null or 0: none) as int64, cut to the rows
    :func:`contract_table` kept (``kept``), or None when the table has no id."""
    if not table.num_rows or "trade_id" not in table.column_names:
        return None
    tids = np.asarray(table.column("trade_id").fill_null(0).to_numpy(zero_copy_only=False), np.int64)
    if kept:
        tids = tids[kept[0]]
    return tids if tids.any() else None


def _contract_row(rec: dict, sink: Sink, lineno: int, has_kind: bool, has_recv: bool, has_flags: bool,
                  has_id: bool = False):
    """One CSV row -> (the event's fields, its trade id: 0 for none); Reject naming the first bad field."""
    from liqcore.venues.common import num, pos, wire_number

    try:
        ts_s = rec["ts_event_ns"]
        try:
            ts = wire_number(ts_s, int)
        except (TypeError, ValueError):
            raise Reject("non_numeric", "ts_event_ns") from None
        if ts <= 0 or ts > _I64_MAX:
            raise Reject("bad_time", "ts_event_ns")
        vname = (rec["venue"] or "").strip().lower()
        venue = VENUE_BY_NAME.get(vname)
        if venue is None:
            try:
                venue = int(Venue(int(vname)))
                if venue == 0:
                    raise ValueError
            except ValueError:
                note_unknown_venue(sink, vname)  # (a plugin's venue not installed: the load names it)
                raise Reject("unknown_venue", f"venue {vname!r}, not registered: is its plugin package installed?"
                             if vname and not vname.isdigit() else "venue") from None
        symbol = (rec["symbol"] or "").strip().upper()
        if not symbol:
            raise Reject("missing_field", "symbol")
        kind = int(Kind.LIQUIDATION)
        if has_kind and (rec.get("kind") or "").strip():
            k = rec["kind"].strip().lower()
            kind = KIND_BY_NAME.get(k, -1)
            if kind < 0:
                try:
                    kind = int(Kind(int(k)))
                except ValueError:
                    raise Reject("bad_kind", "kind") from None
        if symbol == "*" and kind != Kind.GAP:  # "*" (every symbol of the venue) only names GAP events
            raise Reject("bad_symbol", "symbol")
        side = SIDE_BY_NAME.get((rec["side"] or "").strip().lower(), -1)
        if side < 0:
            raise Reject("bad_side", "side")
        if kind == Kind.LIQUIDATION and side not in (1, 2):
            raise Reject("bad_side", "side")
        if kind == Kind.TRADE and side not in (3, 4):
            raise Reject("bad_side", "side")
        if kind == Kind.QUOTE and side not in (3, 4):  # the side of the book: buy = bid, sell = ask
            raise Reject("bad_side", "side")
        if kind in (Kind.LIQUIDATION, Kind.TRADE):
            price = pos(rec["price"], "price")
            qty = pos(rec["qty"], "qty")
        elif kind == Kind.QUOTE:  # a displayed size of 0 is an empty side (its price is not read)
            q = rec["qty"]
            qty = 0.0 if q in (None, "") else num(q, "qty")
            if qty < 0:
                raise Reject("non_positive", "qty")
            price = pos(rec["price"], "price") if qty > 0 else 0.0
        else:  # mark/funding/gap/open interest: price may be NaN (unknown), qty empty = 0
            p = rec["price"]
            try:
                price = float("nan") if p in (None, "") else wire_number(p)
            except ValueError:
                raise Reject("non_numeric", "price") from None
            if math.isinf(price):
                raise Reject("non_finite", "price")
            q = rec["qty"]
            qty = 0.0 if q in (None, "") else num(q, "qty")
        recv = RECV_UNKNOWN
        if has_recv and (rec.get("ts_recv_ns") or "").strip():
            try:
                recv = wire_number(rec["ts_recv_ns"], int)
            except ValueError:
                raise Reject("non_numeric", "ts_recv_ns") from None
            if not -_I64_MAX <= recv <= _I64_MAX:
                raise Reject("bad_time", "ts_recv_ns")
        flags = 0
        if has_flags and (rec.get("flags") or "").strip():
            try:
                flags = wire_number(rec["flags"], int)
            except ValueError:
                raise Reject("non_numeric", "flags") from None
            if not 0 <= flags <= 0xFF:  # a byte: a value beyond one is no flags (it was wrapped)
                raise Reject("non_numeric", "flags")
        tid = 0
        if has_id and (rec.get("trade_id") or "").strip():  # (an empty one: no id)
            try:
                tid = wire_number(rec["trade_id"], int)
            except ValueError:
                raise Reject("non_numeric", "trade_id") from None
            if not -(1 << 63) <= tid < (1 << 63):
                raise Reject("non_numeric", "trade_id")
    except KeyError as exc:
        raise Reject("missing_field", str(exc.args[0])) from None
    sid = -1 if symbol == "*" else sink.sid(venue, symbol)
    return (ts, recv, price, qty, sid, side, kind, venue, flags), tid


def _load_contract_csv(data: bytes, st: FileState) -> np.ndarray | None:
    """Vectorised through pyarrow when every cell parses; else row by row (exact file:line)."""
    table = _read_contract_csv_table(data)
    if table is not None:
        cols = [c.strip() for c in table.column_names]
        if all(c in cols for c in CONTRACT_COLUMNS) and len(cols) == len(set(cols)):
            table = table.rename_columns(cols)
            kept: list = []
            arr = contract_table(table, st, lambda row: f"{st.path}:{row + 2}", null_reason="non_numeric", kept=kept)
            st.sink.arrays.append((len(st.sink.rows), arr, table_trade_ids(table, kept)))  # with the trade ids
            return None
    _load_contract_csv_rows(data, st)
    return None


def _load_contract_csv_rows(data: bytes, st: FileState) -> None:
    import csv

    text = data.decode("utf-8", errors="replace")
    reader = csv.DictReader(_io.StringIO(text, newline=""))
    cols = [c.strip() for c in (reader.fieldnames or [])]
    reader.fieldnames = cols
    missing = [c for c in CONTRACT_COLUMNS if c not in cols]
    if missing:
        raise ValueError(f"{st.path}: contract CSV lacks column(s) {', '.join(missing)} (header: {','.join(cols)})")
    has_kind, has_recv, has_flags = "kind" in cols, "ts_recv_ns" in cols, "flags" in cols
    has_id = "trade_id" in cols
    sink = st.sink
    rows = sink.rows
    for i, rec in enumerate(reader):
        lineno = reader.line_num
        st.records += 1
        try:
            row, tid = _contract_row(rec, sink, lineno, has_kind, has_recv, has_flags, has_id)
        except Reject as r:
            st.bad(lineno, r.reason, r.field)
            continue
        rows.append(row)
        if tid:
            sink.tids[len(rows) - 1] = tid


#: the types a contract Parquet file's columns may have: column -> (the kinds of type read, the type in words); the
#: kinds: "int", "float", "decimal", "time" (a timestamp), "name" (a string, bytes or a dictionary of them), "null"
#: (a column of no value: an optional one is read as absent)
_PARQUET_TYPES = {
    "ts_event_ns": (("int", "time", "float", "decimal"), "an integer of ns or a timestamp"),
    "ts_recv_ns": (("int", "time", "float", "decimal", "null"), "an integer of ns or a timestamp"),
    "venue": (("name", "int"), "a name or a venue code"),
    "symbol": (("name", "int"), "a name"),
    "side": (("name", "int"), "a name or a side code"),
    "kind": (("name", "int", "null"), "a name or a kind code"),
    "price": (("float", "int", "decimal"), "a number"),
    "qty": (("float", "int", "decimal"), "a number"),
    "flags": (("int", "null"), "an integer"),
    "trade_id": (("int", "null"), "an integer"),
}


def _type_kind(t) -> str:
    import pyarrow as pa

    v = t.value_type if pa.types.is_dictionary(t) else t
    if pa.types.is_integer(v):
        return "int"
    if pa.types.is_floating(v):
        return "float"
    if pa.types.is_decimal(v):
        return "decimal"
    if pa.types.is_timestamp(v):
        return "time"
    if pa.types.is_null(v):
        return "null"
    if pa.types.is_string(v) or pa.types.is_large_string(v) or pa.types.is_binary(v) or pa.types.is_large_binary(v):
        return "name"
    return "other"


def parquet_type_problems(schema) -> list[str]:
    """The contract columns of a Parquet file's ``schema`` (pyarrow) of a type the contract's reader cannot read,
    each as ``"price is string (expected a number)"`` (the file's other columns are not read)."""
    return [f"{f.name} is {f.type} (expected {_PARQUET_TYPES[f.name][1]})" for f in schema
            if f.name in _PARQUET_TYPES and _type_kind(f.type) not in _PARQUET_TYPES[f.name][0]]


def _plain_types(table):
    """A contract table whose columns passed :func:`parquet_type_problems` in the types :func:`contract_table` reads:
    an optional column of no value (type null) dropped, prices and sizes of another numeric type as float64 (a
    column cast only where its type is another: liqcore's own files pass as they are)."""
    import pyarrow as pa

    for i in reversed(range(table.num_columns)):
        f = table.schema.field(i)
        if pa.types.is_null(f.type) and f.name in CONTRACT_OPTIONAL:
            table = table.remove_column(i)
        elif f.name in ("price", "qty") and f.type != pa.float64():
            table = table.set_column(i, f.name, table.column(i).cast(pa.float64()))
    return table


def _load_parquet(path: Path, st: FileState) -> np.ndarray:
    """A contract Parquet file -> events (rejects counted per reason; strict names the row).  A file without the
    contract's columns, or with one of a type the contract cannot read, is a ValueError naming it (of several
    files: skipped, said so)."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    missing = [c for c in CONTRACT_COLUMNS if c not in table.column_names]
    if missing:
        raise ValueError(f"{path}: Parquet file lacks column(s) {', '.join(missing)} (has: {', '.join(table.column_names)})")
    wrong = parquet_type_problems(table.schema)
    if wrong:
        raise ValueError(f"{path}: Parquet file with column(s) of a type the contract does not read: "
                         f"{', '.join(wrong)}")
    table = _plain_types(table)
    kept: list = []
    arr = contract_table(table, st, lambda row: f"{path}: row {row}", null_reason="missing_field", kept=kept)
    st.trade_ids = table_trade_ids(table, kept)  # the venues' trade ids, beside the rows kept
    return arr


def contract_table(table, st: FileState, where, null_reason: str, kept: list | None = None) -> np.ndarray:
    """Vectorised contract columns -> events, with the same checks, in the same order, as the CSV
    row path (:func:`_contract_row`), so a record gets the same reject reason either way.  Nulls are
    ``null_reason`` (CSV: an empty cell is not a number; Parquet: a missing value)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cols = table.column_names
    n = table.num_rows
    st.records += n
    out = np.zeros(n, dtype=EVENT_DTYPE)
    bad = np.zeros(n, dtype=bool)
    sink = st.sink
    first_bad: list = []

    def reject(mask: np.ndarray, reason: str, what: str) -> None:
        new = mask & ~bad
        k = int(new.sum())
        if k:
            first_bad.append((int(np.flatnonzero(new)[0]), reason, what))
            sink.count(reason, k)
            bad[new] = True

    def nulls(name) -> np.ndarray:
        return np.asarray(pc.is_null(table.column(name)).to_numpy(zero_copy_only=False), dtype=bool)

    def ints(name, fill: int) -> np.ndarray:
        c = table.column(name)
        if c.type.id == 18 or str(c.type).startswith("timestamp"):  # timestamps -> ns
            c = c.cast("timestamp[ns]").cast("int64")
        arr = c.fill_null(fill).to_numpy(zero_copy_only=False)
        if arr.dtype.kind == "f":
            arr = np.where(np.isfinite(arr), arr, fill)
        return np.asarray(arr).astype(np.int64)

    def names_to_codes(name, mapping, empty: int = -1, numeric_ok: bool = True):
        c = table.column(name)
        if pa.types.is_integer(c.type):  # codes already (a dataset's columns)
            return np.asarray(c.fill_null(empty).to_numpy(zero_copy_only=False)).astype(np.int64)
        if not n:
            return np.zeros(0, np.int64)
        # the distinct names only (a dictionary), never a pass over the rows' strings
        idx, values = column_dictionary(c)
        codes = []
        for u in values + [""]:  # the last: a null
            key = ("" if u is None else str(u)).strip().lower()
            code = empty if key == "" else mapping.get(key, -1)
            if code < 0 and key and numeric_ok:
                try:
                    code = int(key)
                except ValueError:
                    code = -1
            codes.append(code)
        return np.asarray(codes, dtype=np.int64)[idx]

    # ts_event_ns
    reject(nulls("ts_event_ns"), null_reason, "ts_event_ns")
    ts = ints("ts_event_ns", 0)
    reject(ts <= 0, "bad_time", "ts_event_ns")
    out["ts_event"] = ts
    # venue
    venue = names_to_codes("venue", VENUE_BY_NAME)
    known_venue = venue_registered(venue)
    if n and not known_venue.all() and not pa.types.is_integer(table.column("venue").type):
        _name_unknown_venues(table.column("venue"), ~known_venue & ~bad, sink)
    reject(~known_venue, "unknown_venue", "venue")
    venue = np.where(known_venue, venue, 0)
    # symbol ("*" = every symbol of the venue, as written for venue-wide GAP events): the distinct
    # names (a dictionary) are cleaned, the rows carry their index
    if n:
        sym_idx, sym_values = column_dictionary(table.column("symbol"))
    else:
        sym_idx, sym_values = np.zeros(0, np.int64), []
    sym_names = [("" if u is None else str(u)).strip().upper() for u in sym_values] + [""]  # the last: a null
    n_sym = len(sym_names)
    reject(np.asarray([u == "" for u in sym_names], dtype=bool)[sym_idx], "missing_field", "symbol")
    star = np.asarray([u == "*" for u in sym_names], dtype=bool)[sym_idx]
    # kind (empty: liquidation), side
    kind = names_to_codes("kind", KIND_BY_NAME, int(Kind.LIQUIDATION)) if "kind" in cols else np.full(n, int(Kind.LIQUIDATION))
    reject((kind < 1) | (kind > int(max(Kind))), "bad_kind", "kind")
    reject(star & (kind != Kind.GAP), "bad_symbol", "symbol")
    side = names_to_codes("side", SIDE_BY_NAME, 0, numeric_ok=False)
    reject((side < 0) | (side > 4), "bad_side", "side")
    is_liq = kind == Kind.LIQUIDATION
    is_trade = kind == Kind.TRADE
    reject(is_liq & ~((side == 1) | (side == 2)), "bad_side", "side")
    reject(is_trade & ~((side == 3) | (side == 4)), "bad_side", "side")
    is_quote = kind == Kind.QUOTE  # side of the book: buy = bid, sell = ask
    reject(is_quote & ~((side == 3) | (side == 4)), "bad_side", "side")
    tradeish = is_liq | is_trade
    # price, then qty (liquidations and trades: finite and > 0)
    p_null, q_null = nulls("price"), nulls("qty")
    price = np.asarray(table.column("price").fill_null(float("nan")).to_numpy(zero_copy_only=False), dtype=np.float64)
    qty = np.asarray(table.column("qty").fill_null(0.0).to_numpy(zero_copy_only=False), dtype=np.float64)
    for v, vnull, name in ((price, p_null, "price"), (qty, q_null, "qty")):
        reject(tradeish & vnull, null_reason, name)
        reject(tradeish & ~np.isfinite(v), "non_finite", name)
        reject(tradeish & (v <= 0), "non_positive", name)
        reject(~tradeish & np.isinf(v), "non_finite", name)
        reject(~tradeish & np.isnan(v) & (name == "qty"), "non_finite", name)
    # quotes: a displayed size >= 0; a non-empty side needs a finite positive price (an empty one's is 0)
    reject(is_quote & (qty < 0), "non_positive", "qty")
    reject(is_quote & (qty > 0) & ~(np.isfinite(price) & (price > 0)), "non_positive", "price")
    price = np.where(is_quote & (qty == 0), 0.0, price)
    out["price"] = price
    out["qty"] = qty
    out["ts_recv"] = ints("ts_recv_ns", RECV_UNKNOWN) if "ts_recv_ns" in cols else RECV_UNKNOWN
    if "flags" in cols:  # a byte: a value beyond one is no flags (the row path's check, in its place)
        flags = ints("flags", 0)
        reject((flags < 0) | (flags > 0xFF), "non_numeric", "flags")
        out["flags"] = (flags & 0xFF).astype(np.uint8)
    # symbol ids per distinct (venue, symbol): a table over (venue code, name index), filled for the
    # pairs present (one counting pass over small integers)
    pair = venue * n_sym + sym_idx  # (venue: a registered code or 0)
    ids = np.full(VENUE_SPAN * n_sym, -2, dtype=np.int32)
    for k in np.flatnonzero(np.bincount(pair, minlength=VENUE_SPAN * n_sym)).tolist():
        vi, name = divmod(k, n_sym)
        name = sym_names[name]
        try:
            ids[k] = -1 if name == "*" else (sink.sid(vi, name) if (vi and name) else -2)
        except Reject:  # outside the venue's symbol alphabet (checked last, as on the row path)
            ids[k] = -3
    sid = ids[pair]
    reject(sid == -3, "bad_symbol", "symbol")
    out["symbol_id"] = np.where(sid < -1, 0, sid)
    if st.strict and first_bad:
        row, reason, what = min(first_bad)
        if reason == "unknown_venue" and not pa.types.is_integer(table.column("venue").type):
            name = str(table.column("venue")[int(row)].as_py() or "").strip().lower()
            if name and not name.isdigit():  # (a plugin's venue not installed, as the row path names it)
                what = f"venue {name!r}, not registered: is its plugin package installed?"
        raise ValueError(f"{where(row)}: {reason} ({what})")
    out["side"] = np.clip(side, 0, 4)
    out["kind"] = np.clip(kind, 0, int(max(Kind)))
    out["venue"] = venue
    if kept is not None:  # the caller's side arrays (trade ids) follow the rows kept
        kept.append(~bad)
    return out[~bad] if bad.any() else out  # (a copy of every record only when some go)


def _name_unknown_venues(column, rows: np.ndarray, sink: Sink) -> None:
    """The names the venue ``column`` gives the ``rows`` (a mask) rejected as ``unknown_venue``, kept on the sink
    with their counts (:func:`liqcore.venues.common.note_unknown_venue`)."""
    idx, values = column_dictionary(column)
    counts = np.bincount(np.asarray(idx, np.int64)[rows], minlength=len(values) + 1)
    for i in np.flatnonzero(counts[:len(values)]).tolist():
        if values[i] is not None:
            note_unknown_venue(sink, str(values[i]).strip().lower(), int(counts[i]))


def column_dictionary(column) -> tuple[np.ndarray, list]:
    """A string (or dictionary-encoded) column -> (each row's index into the distinct values, the
    values); a null row gets the index ``len(values)``.  The distinct values come from Arrow's hash
    (a dictionary column: its dictionary), so no Python or NumPy string is made per row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    c = column
    if isinstance(c, pa.ChunkedArray):
        c = c.unify_dictionaries() if pa.types.is_dictionary(c.type) else c
        if pa.types.is_dictionary(c.type):
            chunks = c.chunks
            values = chunks[0].dictionary if chunks else pa.array([], c.type.value_type)
            indices = pa.chunked_array([ch.indices for ch in chunks], c.type.index_type)
        else:
            c = c.combine_chunks()
    if not pa.types.is_dictionary(c.type) and not isinstance(c, pa.ChunkedArray):
        if not (pa.types.is_string(c.type) or pa.types.is_large_string(c.type)):
            c = c.cast(pa.string())
        enc = pc.dictionary_encode(c)
        values, indices = enc.dictionary, enc.indices
    elif isinstance(c, pa.Array):  # a (non-chunked) dictionary array
        values, indices = c.dictionary, c.indices
    vals = values.to_pylist()
    idx = np.asarray(pc.fill_null(indices, len(vals)).to_numpy(zero_copy_only=False)).astype(np.int64)
    return idx, vals


def _read_contract_csv_table(data: bytes):
    """The contract CSV through pyarrow's reader (typed columns), or None when a cell does not
    parse as its type (then the row path names the record)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    types = {"ts_event_ns": pa.int64(), "ts_recv_ns": pa.int64(), "flags": pa.int64(), "trade_id": pa.int64(),
             "price": pa.float64(),
             "qty": pa.float64(), "venue": pa.string(), "symbol": pa.string(), "side": pa.string(), "kind": pa.string()}
    try:
        opts = pacsv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=False,
                                    quoted_strings_can_be_null=False)
        return pacsv.read_csv(_io.BytesIO(data), convert_options=opts)
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError):
        return None


def _sniff_csv(s: bytes) -> bool:
    return s.startswith(b"ts_event_ns")


CSV = Reader("contract-csv", "header ts_event_ns,venue,symbol,side,price,qty[,kind][,ts_recv_ns][,flags]", "bytes",
             _load_contract_csv, _sniff_csv, TIER_MARKED, own_clock=True)
PARQUET = Reader("parquet", "the same columns (as written by save_events / liqcore convert)", "path",
                 _load_parquet, suffixes=(".parquet", ".pq"), magic=b"PAR1", own_clock=True)

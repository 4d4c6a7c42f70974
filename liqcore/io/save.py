"""Writing events as contract Parquet or CSV files (:func:`save_events`), as every reader of the
contract reads them back."""
from __future__ import annotations

import io as _io
from pathlib import Path

import numpy as np

from liqcore.io.base import LoadResult, numpy_dtype
from liqcore.io.contract import CONTRACT_COLUMNS, CONTRACT_OPTIONAL, column_codecs
from liqcore.codes import KIND_TABLE
from liqcore.venues.files import base_name, compression
from liqcore.types import EVENT_DTYPE, SymbolRegistry, venue_slot, venue_slot_names


def events_to_table(events: np.ndarray, registry: SymbolRegistry, trade_ids: np.ndarray | None = None):
    """Events -> pyarrow Table with the contract columns (names as strings) and ``trade_id`` (int64,
    the venue's trade id aligned with the events; 0: none), so that a load of the file with the
    recording it came from tells the same trade by its id."""
    import pyarrow as pa

    syms = registry.symbols_array()
    n = len(syms)
    sid = events["symbol_id"].astype(np.int64)
    # each name column as codes into its (tiny) table of names, taken in C (no Python string per row);
    # a symbol id past the registry names its last symbol, a negative one "*" (a global event)
    sym_idx = np.where(sid >= 0, np.minimum(sid, n - 1) if n else n + 1, n)
    return pa.table(
        {
            "ts_event_ns": _column(events["ts_event"], pa.int64()),
            "ts_recv_ns": _column(events["ts_recv"], pa.int64()),
            "venue": _names(venue_slot_names(), venue_slot(events["venue"])),
            "symbol": _names([*syms.tolist(), "*", ""], sym_idx),
            "kind": _names(_KINDS, events["kind"]),
            "side": _names(_SIDES, events["side"]),
            "price": _column(events["price"], pa.float64()),
            "qty": _column(events["qty"], pa.float64()),
            "flags": _column(events["flags"], pa.uint8()),
            "trade_id": _column(_ids(events, trade_ids), pa.int64()),
        }
    )


#: how the contract's Parquet file is written: the times and trade ids (rising, mostly) delta-encoded, the names
#: dictionary-encoded, prices and sizes plain (6 M tardis trades: written in 0.8 s instead of 1.0 s, 63 MB instead
#: of 91 MB, read back in half the time; the table read back is the same); zstd but for the delta-packed times and
#: the dictionary-coded columns, which it made no smaller (:func:`liqcore.io.contract.column_codecs`)
PARQUET_OPTIONS = {
    "compression": column_codecs(CONTRACT_COLUMNS + CONTRACT_OPTIONAL),
    "use_dictionary": ["venue", "symbol", "kind", "side", "flags"],
    "column_encoding": {"ts_event_ns": "DELTA_BINARY_PACKED", "ts_recv_ns": "DELTA_BINARY_PACKED",
                        "trade_id": "DELTA_BINARY_PACKED"},
}

_SIDES = ["none", "long", "short", "buy", "sell"]
_KINDS = list(KIND_TABLE)  # every event kind (liqcore.codes: the one table)


def _column(values: np.ndarray, typ):
    """A numpy column as an Arrow array of ``typ`` (its bytes, one copy when strided; ``pa.array`` of a
    numpy array imports pandas, a fixed cost of a few tenths of a second on each convert)."""
    import pyarrow as pa

    values = np.ascontiguousarray(values, dtype=numpy_dtype(typ))
    return pa.Array.from_buffers(typ, len(values), [None, pa.py_buffer(values)])


def _names(names: list, codes: np.ndarray):
    """A string column: ``names[code]`` for each code (an IndexError for a code out of the table)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    codes = np.asarray(codes, dtype=np.int64)
    if len(codes) and (int(codes.min()) < 0 or int(codes.max()) >= len(names)):
        raise IndexError(f"code out of range for {len(names)} names")
    raw = [str(x).encode() for x in names]  # the table of names, built from its buffers (as _column)
    offsets = np.cumsum([0] + [len(b) for b in raw], dtype=np.int32)
    table = pa.Array.from_buffers(pa.string(), len(raw), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(raw))])
    return pc.take(table, _column(codes, pa.int64()))


def _ids(events: np.ndarray, trade_ids) -> np.ndarray:
    if trade_ids is None:
        return np.zeros(len(events), np.int64)
    trade_ids = np.asarray(trade_ids, np.int64)
    if len(trade_ids) != len(events):
        raise ValueError(f"trade_ids: {len(trade_ids)} ids for {len(events)} events")
    return trade_ids


def save_events(result, path, registry: SymbolRegistry | None = None, trade_ids: np.ndarray | None = None) -> Path:
    """Write events (a LoadResult, or an array with ``registry=``) as a contract Parquet or CSV file
    (chosen by the suffix: .parquet/.pq or .csv, optionally .csv.gz), with the venues' trade ids
    (a LoadResult's ``trade_ids``, or ``trade_ids=`` aligned with the array) in ``trade_id``."""
    if isinstance(result, LoadResult):
        events, registry, trade_ids = result.events, result.registry, result.trade_ids
    else:
        events = np.asarray(result)
        if registry is None:
            raise ValueError("registry: needed to name the symbols of a bare event array")
    if events.dtype != EVENT_DTYPE:
        raise ValueError("events: expected an EVENT_DTYPE array")
    from liqcore.io import storage

    url = str(path) if storage.is_url(str(path)) else None
    path = Path(path) if url is None else Path(url.rsplit("/", 1)[-1])
    table = events_to_table(events, registry, trade_ids)
    base = base_name(path)
    if url is not None and (base.endswith(".parquet") or base.endswith(".pq")):  # one object, whole
        import pyarrow.parquet as pq

        buf = _io.BytesIO()
        pq.write_table(table, buf, **PARQUET_OPTIONS)
        storage.write_bytes(url, buf.getvalue())
        return url
    if base.endswith(".parquet") or base.endswith(".pq"):
        import pyarrow.parquet as pq

        from liqcore._atomic import atomic_path

        with atomic_path(path) as tmp:  # a kill or a full disk leaves the earlier file whole
            pq.write_table(table, tmp, **PARQUET_OPTIONS)
    elif base.endswith(".csv"):
        import pyarrow.csv as pacsv

        order = ["ts_event_ns", "venue", "symbol", "side", "price", "qty", "kind", "ts_recv_ns", "flags", "trade_id"]
        buf = _io.BytesIO()
        buf.write((",".join(order) + "\n").encode())
        # floats in their shortest round-trip form (as repr), no quoting (names hold no commas)
        pacsv.write_csv(table.select(order), buf, pacsv.WriteOptions(include_header=False, quoting_style="none"))
        data = buf.getvalue()
        if compression(path) == "gz":
            import gzip

            data = gzip.compress(data)
        elif compression(path) == "zst":
            import zstandard

            data = zstandard.ZstdCompressor().compress(data)
        if url is not None:
            storage.write_bytes(url, data)
            return url
        from liqcore._atomic import write_bytes

        write_bytes(path, data)
    else:
        raise ValueError(f"path: {path} must end in .parquet, .pq or .csv")
    return path

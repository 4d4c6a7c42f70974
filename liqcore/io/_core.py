"""Bulk loading and saving of recordings in the event contract.

:func:`load_events` reads any mix of recording files into one event array sorted by ``ts_event``
(stable sort: equal times keep file/line order), with exact duplicates removed and every rejected
record counted by reason.  Formats (``format=None`` detects them per file, and per line inside
files of JSON lines and log lines, so a valid record is never dropped because of its neighbours):

=====================  ==========================================================================
``raw``                one websocket message per line (Bybit, Binance, OKX; venue told by shape)
``recorder``           ``{"recv_ns": <int>, "venue": "bybit", "frame": {...} | "<json text>"}``
                       (what ``liqcore record`` writes)
``bybit-archive``      Bybit liquidation archive lines: ``{"ts": <recv ms>, "exchange": "bybit",
                       "stream": "liquidation", ..., "result": {"ts": ..., "data": [<allLiquidation
                       items>]}}``
``binance-log``        Binance liquidation log lines ``2026-03-10 13:10:19 Liquidation: {<forceOrder
                       "o" object>}``; other text lines are ``not_a_record``
``jsonl``              any mix of the four kinds above, told line by line
``binance-csv``        headerless ``s,S,o,f,q,p,ap,X,l,z,T,usd_size[,tier]`` (USDT stripped from s)
``binance-trades-csv`` headerless ``E,symbol,a,p,q,T,m[,usd_size,tier]`` aggTrades
``contract-csv``       header ``ts_event_ns,venue,symbol,side,price,qty[,kind][,ts_recv_ns][,flags]``
``parquet``            the same columns (as written by :func:`save_events` / ``liqcore convert``)
=====================  ==========================================================================

Former names of some formats are still accepted (:data:`FORMAT_ALIASES`).

``.gz`` and ``.zst`` variants of every text format are read transparently (gzip files may hold several
members, zstd files several frames; a file cut short by a crash, or corrupt part-way, loads up to the
damage, counted as ``truncated_file`` and said in a warning naming the file and how much was read).
Of several files, one that cannot be read is skipped with a warning naming it (``strict``: an error).  Line
formats are streamed in blocks of whole lines (:data:`_BLOCK_BYTES`), so memory stays about one
block plus the events.

Receive times: recorded ones are kept (recorder ``recv_ns``, Bybit archive ``ts``, contract
``ts_recv_ns``); otherwise ``ts_recv = ts_event + feed_latency_ns`` and ``Flag.RECV_ESTIMATED`` is
set.  Duplicates: same venue, symbol, kind, ts_event, side, qty and price (bit-exact) -> the first
occurrence (in sorted order) is kept, the rest are counted in ``duplicates``.
"""
from __future__ import annotations

import io as _io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from liqcore.types import EVENT_DTYPE, Flag, Kind, SymbolRegistry, Venue, side_name, venue_name
from liqcore.venues.common import (
    DEFAULT_MAX_CLOCK_SKEW_NS,
    KIND_BY_NAME,
    KIND_NAMES,
    RECV_CLOCK_MIN_NS,
    RECV_UNKNOWN,
    SIDE_BY_NAME,
    VENUE_BY_NAME,
    Reject,
    Sink,
    drop_future,
    fill_recv,
    rows_to_events,
)

__all__ = [
    "FORMATS",
    "FORMAT_ALIASES",
    "canonical_format",
    "NoUsableInput",
    "require_events",
    "require_usable",
    "LoadResult",
    "load_events",
    "save_events",
    "detect_format",
    "open_text",
    "events_to_table",
]

FORMATS = (
    "raw",
    "recorder",
    "bybit-archive",
    "binance-log",
    "jsonl",
    "binance-csv",
    "binance-trades-csv",
    "contract-csv",
    "parquet",
)

#: former format names, still accepted
FORMAT_ALIASES = {"seed004": "bybit-archive", "seed001": "binance-log"}
#: formats of one record per line, decoded by :class:`liqcore.venues.decoder.LineDecoder`
LINE_FORMATS = frozenset({"raw", "recorder", "bybit-archive", "binance-log", "jsonl"})


def canonical_format(name: str | None) -> str | None:
    """A format name (or a former alias) -> its name in :data:`FORMATS`; None stays None.
    Unknown names raise ValueError listing the formats."""
    if name is None:
        return None
    key = str(name).strip().lower()
    key = FORMAT_ALIASES.get(key, key)
    if key not in FORMATS:
        raise ValueError(f"format: unknown format {name!r} (expected one of {', '.join(FORMATS)})")
    return key


def format_arg(text: str) -> str:
    """argparse ``type=`` for ``--format`` (with ``choices=FORMATS``): former names map to the
    current ones; anything else is left for ``choices`` to report."""
    key = str(text).strip().lower()
    return FORMAT_ALIASES.get(key, key)


#: rejects that are not "bad records": lines of prose in a log file, blank lines
_SOFT = frozenset({"not_a_record", "wall_clock_time_duplicate"})

_I64_MAX = 2**63 - 1
CONTRACT_COLUMNS = ("ts_event_ns", "venue", "symbol", "side", "price", "qty")
CONTRACT_OPTIONAL = ("kind", "ts_recv_ns", "flags")


@dataclass
class LoadResult:
    """What :func:`load_events` returns.

    ``events``: EVENT_DTYPE sorted by ts_event (stable), deduplicated.  ``registry``: the symbol ids
    used.  ``rejects``: reason -> count of dropped records (plus ``control`` frames and
    ``not_a_record`` lines, which are recognised but carry no event).  ``duplicates``: exact
    duplicates removed.  ``sources``: the files read.  ``files``: per-file ``{"format", "records",
    "events", "rejects"}``.  ``skipped``: files that could not be read (path -> why; the other
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

    def __len__(self) -> int:
        return len(self.events)

    @property
    def n_rejected(self) -> int:
        return sum(v for k, v in self.rejects.items() if k not in ("control",) and k not in _SOFT)

    def summary(self) -> str:
        """A few human lines: totals, per-file counts, rejects by reason."""
        ev = self.events
        lines = [f"{len(ev)} events from {len(self.sources)} file(s); {self.duplicates} duplicates removed"]
        if len(ev):
            kinds = np.bincount(ev["kind"].astype(np.int64), minlength=7)
            parts = [f"{KIND_NAMES.get(k, k)}={int(c)}" for k, c in enumerate(kinds) if c]
            lines.append("  kinds: " + ", ".join(parts))
            lines.append(f"  time: {_fmt_ns(int(ev['ts_event'][0]))} .. {_fmt_ns(int(ev['ts_event'][-1]))}")
        for path, info in self.files.items():
            lines.append(f"  {path}: format={info['format']} records={info['records']} events={info['events']}")
        if self.rejects:
            lines.append("  rejects: " + ", ".join(f"{k}={v}" for k, v in sorted(self.rejects.items())))
        if self.recovered:
            lines.append("  recovered: " + ", ".join(f"{k}={v}" for k, v in sorted(self.recovered.items())))
        for path, why in self.skipped.items():
            lines.append(f"  skipped {path}: {why}")
        return "\n".join(lines)


def _fmt_ns(ns: int) -> str:
    import datetime as _dt

    return _dt.datetime.fromtimestamp(ns / 1e9, tz=_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


# --------------------------------------------------------------------------------------------- I/O


def _compression(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(".gz"):
        return "gz"
    if name.endswith(".zst") or name.endswith(".zstd"):
        return "zst"
    return None


def _base_name(path: Path) -> str:
    name = path.name.lower()
    for suf in (".gz", ".zst", ".zstd"):
        if name.endswith(suf):
            return name[: -len(suf)]
    return name


def open_binary(path) -> _io.BufferedIOBase:
    """Open a possibly .gz/.zst compressed file for binary reading."""
    path = Path(path)
    comp = _compression(path)
    if comp == "gz":
        import gzip

        return gzip.open(path, "rb")
    if comp == "zst":
        import zstandard

        fh = open(path, "rb")
        return _io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(fh, read_across_frames=True, closefd=True))
    return open(path, "rb")


def open_text(path):
    """Open a possibly compressed text file as UTF-8 text."""
    return _io.TextIOWrapper(open_binary(path), encoding="utf-8", errors="replace", newline="")


#: bytes per block when streaming line files (memory use stays about one block plus the events)
_BLOCK_BYTES = 64 << 20


class _Blocks:
    """A (possibly .gz/.zst compressed) file as blocks of whole lines of about ``size`` bytes.

    zstd files may hold several frames (a writer restarted within the file appends one); a file cut
    short by a crashed writer yields everything decodable before the cut and sets ``truncated``.
    """

    def __init__(self, path: Path, size: int | None = None):
        self.path = path
        self.size = size or _BLOCK_BYTES
        self.truncated = False
        self.error = ""  # why a compressed stream stopped early ("" when it ends early but is not corrupt)
        self.consumed = 0  # compressed bytes read
        self.produced = 0  # bytes yielded (decompressed)
        self.lines = 0  # line ends yielded

    def truncation_note(self) -> str:
        """One line on a compressed file that ended early: what was read before the cut."""
        comp = {"gz": "gzip", "zst": "zstd"}.get(_compression(self.path), "compressed")
        try:
            size = self.path.stat().st_size
        except OSError:
            size = self.consumed
        where = (f"corrupt {comp} data ({self.error})" if self.error else f"the {comp} stream ends early (file cut short?)")
        return (f"{self.path}: {where}: read {self.lines:,} lines ({self.produced / 1e6:,.1f} MB decompressed) "
                f"from {self.consumed:,} of {size:,} compressed bytes; whatever followed is missing")

    def _raw(self):
        comp = _compression(self.path)
        with open(self.path, "rb") as fh:
            if comp is None:
                while True:
                    chunk = fh.read(self.size)
                    if not chunk:
                        return
                    yield chunk
            else:  # gzip members / zstd frames, one after another; everything before a cut is kept
                if comp == "gz":
                    import zlib

                    new_dobj, errors = (lambda: zlib.decompressobj(31)), (zlib.error,)
                else:
                    import zstandard

                    dctx = zstandard.ZstdDecompressor()
                    new_dobj, errors = dctx.decompressobj, (zstandard.ZstdError,)
                dobj = new_dobj()
                fed = False  # the current member/frame has input but has not ended yet
                step = min(self.size, 4 << 20)  # compressed bytes per read
                pending: list = []  # decompressed, not yet yielded (fed in slices: a corrupt spot
                try:  # loses only what follows it)
                    while True:
                        chunk = fh.read(step)
                        if not chunk:
                            break
                        self.consumed += len(chunk)
                        for off in range(0, len(chunk), 1 << 16):
                            data = chunk[off : off + (1 << 16)]
                            while data:
                                if comp == "gz" and not fed:  # zero padding between or after members
                                    data = data.lstrip(b"\0")  # (as gzip allows)
                                    if not data:
                                        break
                                out = dobj.decompress(data)
                                fed = True
                                if out:
                                    pending.append(out)
                                if dobj.eof:
                                    data = dobj.unused_data
                                    dobj = new_dobj()
                                    fed = False
                                else:
                                    data = b""
                        if pending:
                            out, pending = b"".join(pending), []
                            self.produced += len(out)
                            yield out
                except errors as exc:
                    if pending:
                        out, pending = b"".join(pending), []
                        self.produced += len(out)
                        yield out
                    if not self.produced:
                        kind = "gzip" if comp == "gz" else "zstd"
                        raise ValueError(f"{self.path}: not a readable {kind} file ({exc})") from None
                    self.error = str(exc)
                    self.truncated = True
                    return
                if fed:
                    self.truncated = True

    def __iter__(self):
        carry = b""
        for chunk in self._raw():
            buf = carry + chunk if carry else chunk
            cut = buf.rfind(b"\n")
            if cut < 0:
                carry = buf
                continue
            carry = buf[cut + 1 :]
            block = buf[: cut + 1]
            self.lines += block.count(b"\n")
            yield block
        if carry:
            self.lines += 1
            yield carry


def _read_all(path: Path) -> tuple[bytes, bool]:
    """The whole (decompressed) file, and whether a compressed file ended early."""
    blocks = _Blocks(path)
    data = b"".join(blocks)
    return data, blocks.truncated


# ------------------------------------------------------------------------------------ detection


def _sniff_line(line: bytes) -> str | None:
    s = line.strip()
    if not s:
        return None
    if s[:1] == b"{" or s[:1] == b"[":
        if b'"recv_ns"' in s and (b'"frame"' in s or b'"gap"' in s):
            return "recorder"
        if b'"exchange"' in s and b'"result"' in s:
            return "bybit-archive"
        return "raw"
    if s.lower() == b"pong" or s.lower() == b"ping":
        return "raw"
    if b" Liquidation: {" in s:
        return "binance-log"
    if s.startswith(b"ts_event_ns"):
        return "contract-csv"
    parts = s.split(b",")
    if len(parts) >= 12 and parts[1].strip() in (b"BUY", b"SELL"):
        return "binance-csv"
    if len(parts) >= 7 and parts[0].strip().isdigit() and parts[2].strip().isdigit():
        return "binance-trades-csv"
    return None


def _detect(path: Path, head: bytes | None) -> tuple[str, dict]:
    """(format, {line kind: count in the head}) of a file."""
    base = _base_name(path)
    if base.endswith(".parquet") or base.endswith(".pq"):
        return "parquet", {}
    if head is None:
        with open_binary(path) as fh:
            head = fh.read(1 << 16)
    if head[:4] == b"PAR1":
        return "parquet", {}
    found: dict[str, int] = {}
    for line in head.split(b"\n")[:200]:
        fmt = _sniff_line(line)
        if fmt:
            found[fmt] = found.get(fmt, 0) + 1
    if not found:
        raise ValueError(f"format: cannot detect the format of {path} (use --format, one of {', '.join(FORMATS)})")
    json_kinds = [f for f in ("recorder", "bybit-archive", "raw") if f in found]
    if "binance-log" in found:
        # log files are text with log lines in between; mostly JSON lines with a log line: a mix
        n_json = sum(found[f] for f in json_kinds)
        return ("jsonl" if n_json > found["binance-log"] else "binance-log"), found
    if json_kinds:
        return (json_kinds[0] if len(json_kinds) == 1 else "jsonl"), found
    return max(found, key=found.get), found


def detect_format(path, head: bytes | None = None) -> str:
    """Guess a file's format from its name and first lines.  Raises ValueError when nothing fits.
    Files of JSON lines and log lines are decoded line by line whatever this says (it names the
    file's dominant kind, or ``jsonl`` for a mix)."""
    return _detect(Path(path), head)[0]


# --------------------------------------------------------------------------------- per-format


class _FileState:
    """Counters for one file (records seen, strict mode)."""

    __slots__ = ("path", "strict", "records", "sink", "fmt", "culprits")

    def __init__(self, path: str, sink: Sink, strict: bool, fmt: str):
        self.path = path
        self.sink = sink
        self.strict = strict
        self.records = 0
        self.fmt = fmt
        self.culprits: dict = {}  # (reason, field) -> count: which column a forced format misreads

    def bad(self, lineno: int, reason: str, detail: str = "") -> None:
        self.sink.count(reason)
        key = (reason, detail)
        self.culprits[key] = self.culprits.get(key, 0) + 1
        if self.strict and reason not in _SOFT:
            raise ValueError(f"{self.path}:{lineno}: {reason}{(' (' + detail + ')') if detail else ''}")


def _load_binance_csv(data: bytes, st: _FileState) -> None:
    from liqcore.venues.binance.parse import parse_csv_liquidations

    parse_csv_liquidations(data, st)


def _load_binance_trades_csv(data: bytes, st: _FileState) -> None:
    from liqcore.venues.binance.parse import parse_csv_agg_trades

    parse_csv_agg_trades(data, st)


def _contract_row(rec: dict, sink: Sink, lineno: int, has_kind: bool, has_recv: bool, has_flags: bool):
    from liqcore.venues.common import num, pos

    try:
        ts_s = rec["ts_event_ns"]
        try:
            ts = int(ts_s)
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
                raise Reject("unknown_venue", "venue") from None
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
        if kind in (Kind.LIQUIDATION, Kind.TRADE):
            price = pos(rec["price"], "price")
            qty = pos(rec["qty"], "qty")
        else:  # mark/funding/gap/open interest: price may be NaN (unknown), qty empty = 0
            p = rec["price"]
            try:
                price = float("nan") if p in (None, "") else float(p)
            except ValueError:
                raise Reject("non_numeric", "price") from None
            if math.isinf(price):
                raise Reject("non_finite", "price")
            q = rec["qty"]
            qty = 0.0 if q in (None, "") else num(q, "qty")
        recv = RECV_UNKNOWN
        if has_recv and (rec.get("ts_recv_ns") or "").strip():
            try:
                recv = int(rec["ts_recv_ns"])
            except ValueError:
                raise Reject("non_numeric", "ts_recv_ns") from None
            if not -_I64_MAX <= recv <= _I64_MAX:
                raise Reject("bad_time", "ts_recv_ns")
        flags = 0
        if has_flags and (rec.get("flags") or "").strip():
            try:
                flags = int(rec["flags"]) & 0xFF
            except ValueError:
                raise Reject("non_numeric", "flags") from None
    except KeyError as exc:
        raise Reject("missing_field", str(exc.args[0])) from None
    sid = -1 if symbol == "*" else sink.sid(venue, symbol)
    return (ts, recv, price, qty, sid, side, kind, venue, flags)


def _load_contract_csv(data: bytes, st: _FileState) -> np.ndarray | None:
    """Vectorised through pyarrow when every cell parses; else row by row (exact file:line)."""
    table = _read_contract_csv_table(data)
    if table is not None:
        cols = [c.strip() for c in table.column_names]
        if all(c in cols for c in CONTRACT_COLUMNS) and len(cols) == len(set(cols)):
            table = table.rename_columns(cols)
            return _load_table(table, st, lambda row: f"{st.path}:{row + 2}", null_reason="non_numeric")
    _load_contract_csv_rows(data, st)
    return None


def _load_contract_csv_rows(data: bytes, st: _FileState) -> None:
    import csv

    text = data.decode("utf-8", errors="replace")
    reader = csv.DictReader(_io.StringIO(text, newline=""))
    cols = [c.strip() for c in (reader.fieldnames or [])]
    reader.fieldnames = cols
    missing = [c for c in CONTRACT_COLUMNS if c not in cols]
    if missing:
        raise ValueError(f"{st.path}: contract CSV lacks column(s) {', '.join(missing)} (header: {','.join(cols)})")
    has_kind, has_recv, has_flags = "kind" in cols, "ts_recv_ns" in cols, "flags" in cols
    sink = st.sink
    rows = sink.rows
    for i, rec in enumerate(reader):
        lineno = reader.line_num
        st.records += 1
        try:
            rows.append(_contract_row(rec, sink, lineno, has_kind, has_recv, has_flags))
        except Reject as r:
            st.bad(lineno, r.reason, r.field)


def _load_parquet(path: Path, st: _FileState) -> np.ndarray:
    """A contract Parquet file -> events (rejects counted per reason; strict names the row)."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    missing = [c for c in CONTRACT_COLUMNS if c not in table.column_names]
    if missing:
        raise ValueError(f"{path}: Parquet file lacks column(s) {', '.join(missing)} (has: {', '.join(table.column_names)})")
    return _load_table(table, st, lambda row: f"{path}: row {row}", null_reason="missing_field")


def _load_table(table, st: _FileState, where, null_reason: str) -> np.ndarray:
    """Vectorised contract columns -> events, with the same checks, in the same order, as the CSV
    row path (:func:`_contract_row`), so a record gets the same reject reason either way.  Nulls are
    ``null_reason`` (CSV: an empty cell is not a number; Parquet: a missing value)."""
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

    def col(name):
        return table.column(name).to_numpy(zero_copy_only=False)

    def ints(name, fill: int) -> np.ndarray:
        c = table.column(name)
        if c.type.id == 18 or str(c.type).startswith("timestamp"):  # timestamps -> ns
            c = c.cast("timestamp[ns]").cast("int64")
        arr = c.fill_null(fill).to_numpy(zero_copy_only=False)
        if arr.dtype.kind == "f":
            arr = np.where(np.isfinite(arr), arr, fill)
        return np.asarray(arr).astype(np.int64)

    def names_to_codes(name, mapping, empty: int = -1, numeric_ok: bool = True):
        arr = np.asarray(col(name))
        if arr.dtype.kind in "iu":
            return arr.astype(np.int64)
        arr = np.where(nulls(name), "", arr.astype(str)) if n else arr.astype(str)
        uniq, inv = np.unique(arr, return_inverse=True)
        codes = []
        for u in uniq:
            key = u.strip().lower()
            c = empty if key == "" else mapping.get(key, -1)
            if c < 0 and key and numeric_ok:
                try:
                    c = int(key)
                except ValueError:
                    c = -1
            codes.append(c)
        return np.asarray(codes, dtype=np.int64)[inv.reshape(-1)] if n else np.zeros(0, np.int64)

    # ts_event_ns
    reject(nulls("ts_event_ns"), null_reason, "ts_event_ns")
    ts = ints("ts_event_ns", 0)
    reject(ts <= 0, "bad_time", "ts_event_ns")
    out["ts_event"] = ts
    # venue
    venue = names_to_codes("venue", VENUE_BY_NAME)
    reject((venue < 1) | (venue > 3), "unknown_venue", "venue")
    # symbol ("*" = every symbol of the venue, as written for venue-wide GAP events)
    sym = np.where(nulls("symbol"), "", np.asarray(col("symbol")).astype(str)) if n else np.zeros(0, str)
    sym = np.char.upper(np.char.strip(sym.astype(str)))
    reject(sym == "", "missing_field", "symbol")
    # kind (empty: liquidation), side
    kind = names_to_codes("kind", KIND_BY_NAME, int(Kind.LIQUIDATION)) if "kind" in cols else np.full(n, int(Kind.LIQUIDATION))
    reject((kind < 1) | (kind > 6), "bad_kind", "kind")
    reject((sym == "*") & (kind != Kind.GAP), "bad_symbol", "symbol")
    side = names_to_codes("side", SIDE_BY_NAME, 0, numeric_ok=False)
    reject((side < 0) | (side > 4), "bad_side", "side")
    is_liq = kind == Kind.LIQUIDATION
    is_trade = kind == Kind.TRADE
    reject(is_liq & ~((side == 1) | (side == 2)), "bad_side", "side")
    reject(is_trade & ~((side == 3) | (side == 4)), "bad_side", "side")
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
    out["price"] = price
    out["qty"] = qty
    out["ts_recv"] = ints("ts_recv_ns", RECV_UNKNOWN) if "ts_recv_ns" in cols else RECV_UNKNOWN
    if "flags" in cols:
        out["flags"] = (ints("flags", 0) & 0xFF).astype(np.uint8)
    # symbol ids per distinct (venue, symbol)
    keys = np.char.add(np.char.add(np.clip(venue, 0, 9).astype(str), "|"), sym) if n else np.zeros(0, str)
    uk, inv = np.unique(keys, return_inverse=True)
    ids = np.empty(len(uk), dtype=np.int32)
    for j, k in enumerate(uk):
        v, _, name = k.partition("|")
        vi = int(v)
        try:
            ids[j] = -1 if name == "*" else (sink.sid(vi, name) if (1 <= vi <= 3 and name) else -2)
        except Reject:  # outside the venue's symbol alphabet (checked last, as on the row path)
            ids[j] = -3
    sid = ids[inv.reshape(-1)] if n else np.zeros(0, np.int32)
    reject(sid == -3, "bad_symbol", "symbol")
    out["symbol_id"] = np.where(sid < -1, 0, sid)
    if st.strict and first_bad:
        row, reason, what = min(first_bad)
        raise ValueError(f"{where(row)}: {reason} ({what})")
    out["side"] = np.clip(side, 0, 4)
    out["kind"] = np.clip(kind, 0, 6)
    out["venue"] = np.clip(venue, 0, 3)
    return out[~bad]


def _read_contract_csv_table(data: bytes):
    """The contract CSV through pyarrow's reader (typed columns), or None when a cell does not
    parse as its type (then the row path names the record)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    types = {"ts_event_ns": pa.int64(), "ts_recv_ns": pa.int64(), "flags": pa.int64(), "price": pa.float64(),
             "qty": pa.float64(), "venue": pa.string(), "symbol": pa.string(), "side": pa.string(), "kind": pa.string()}
    try:
        opts = pacsv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=False,
                                    quoted_strings_can_be_null=False)
        return pacsv.read_csv(_io.BytesIO(data), convert_options=opts)
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError):
        return None


# ----------------------------------------------------------------------------------------- API


_DIR_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json", ".csv", ".parquet", ".pq", ".log"})


def _base_suffix(path: Path) -> str:
    return Path(_base_name(path)).suffix.lower()


def _expand(paths) -> list[Path]:
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.is_file() and _base_suffix(q) in _DIR_SUFFIXES))
        elif p.exists():
            out.append(p)
        else:
            raise ValueError(f"paths: no such file: {p}")
    return out


def load_events(
    paths,
    format: str | None = None,
    registry: SymbolRegistry | None = None,
    strict: bool = False,
    feed_latency_ns: int = 0,
    instruments=None,
    max_clock_skew_ns: int | None = DEFAULT_MAX_CLOCK_SKEW_NS,
    warn=None,
) -> LoadResult:
    """Read recordings into one sorted, deduplicated event array.

    ``paths``: a path or an iterable of paths (directories are walked).  ``format``: one of
    :data:`FORMATS` to force it for every line, ``None`` to detect per file (and per line in files
    of JSON or log lines).  ``registry``: symbol ids to use (a
    new registry when None).  ``strict``: raise ValueError naming file and line (row for Parquet) of
    the first bad record instead of counting it.  ``feed_latency_ns``: receive time assigned, as
    ``ts_event + feed_latency_ns`` with ``Flag.RECV_ESTIMATED``, to events recorded without one.
    ``instruments``: OKX instId -> ctVal additions to the shipped table.  ``max_clock_skew_ns``: an
    event recorded with a receive time and stamped more than this ahead of it is dropped and counted as
    ``future_time`` (the live engine applies the same rule; None disables it).

    Of several files, one that cannot be read (format not recognised, not a valid gzip / zstd /
    Parquet file, a CSV without the contract's columns, an I/O error) is skipped, named in
    ``skipped`` and in a warning, and the rest are loaded; ``strict`` stops at it instead (as does a
    single file, or when no file can be read).  A compressed file cut short loads up to the cut, with
    a warning naming the file and how much was read.  ``warn``: called with each warning line
    (default: written to stderr as ``warning: ...``).
    """
    if warn is None:
        warn = _warn_stderr
    format = canonical_format(format)
    feed_latency_ns = int(feed_latency_ns)
    if feed_latency_ns < 0:
        raise ValueError("feed_latency_ns: must be >= 0")
    registry = registry if registry is not None else SymbolRegistry()
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    from liqcore.dataset import is_dataset

    paths = list(paths)
    datasets = [p for p in paths if is_dataset(p)]  # partitioned datasets (liqcore convert --dataset)
    files = _expand([p for p in paths if not is_dataset(p)])
    if len(files) > 1:  # one at a time, so that a file that cannot be read does not take the others down
        return _load_each(files, datasets, warn=warn, format=format, registry=registry, strict=strict,
                          feed_latency_ns=feed_latency_ns, instruments=instruments,
                          max_clock_skew_ns=max_clock_skew_ns)
    from liqcore.venues.instruments import load_instruments

    inst = load_instruments(instruments)
    result = LoadResult(events=np.zeros(0, EVENT_DTYPE), registry=registry)
    chunks = []
    totals: dict[str, int] = {}
    recovered: dict[str, int] = {}
    for path in files:
        sink = Sink(registry, inst)
        base = _base_name(path)
        blocks = None
        if format == "parquet" or (format is None and (base.endswith(".parquet") or base.endswith(".pq"))):
            fmt = "parquet"
        else:
            reader = _Blocks(path)
            blocks = iter(reader)
            first = next(blocks, b"")
            if format is not None:
                fmt, found = format, {}
            else:
                fmt, found = _detect(path, first[: 1 << 16])
        st = _FileState(str(path), sink, strict, fmt)
        if fmt == "parquet":
            arr = _load_parquet(path, st)
        else:
            if fmt in LINE_FORMATS:
                # line formats stream block by block (memory stays ~ one block); a detected format
                # names the file, but every line is decoded by its own kind (a forced one applies
                # to every line)
                from liqcore.venues.decoder import LineDecoder

                if format is not None:
                    dec = LineDecoder(sink, fmt)
                else:  # log lines seen: the other text lines are expected (not_a_record)
                    dec = LineDecoder(sink, "binance-log" if fmt == "binance-log" else "jsonl",
                                      prose="binance-log" in found)
                line = 0
                block = first
                while block:
                    dec.feed_lines(block, st, line)
                    line += block.count(b"\n")
                    block = next(blocks, b"")
            else:
                data = first + b"".join(blocks)
                if fmt == "binance-csv":
                    _load_binance_csv(data, st)
                elif fmt == "binance-trades-csv":
                    _load_binance_trades_csv(data, st)
                elif fmt == "contract-csv":
                    arr = _load_contract_csv(data, st)
                    if arr is not None:
                        sink.arrays.append((len(sink.rows), arr))
                else:  # pragma: no cover - guarded above
                    raise ValueError(f"format: unknown format {fmt!r}")
                data = b""
            if reader.truncated:
                st.bad(0, "truncated_file", "compressed stream ends early")
            arr = sink.events()
            data = b""
            if reader.truncated:
                note = reader.truncation_note() + f" ({len(arr):,} events loaded from it)"
                result.warnings.append(note)
                warn(note)
        arr = _sane(arr, st, forced=format is not None)  # plausible times, symbols, prices (liqcore.validate)
        arr, n_future = drop_future(arr, max_clock_skew_ns)  # the live engine's clock guard
        if n_future:
            sink.counters["future_time"] = sink.counters.get("future_time", 0) + n_future
        chunks.append(arr)
        rej = {k: v for k, v in sink.counters.items() if not k.startswith("recovered_")}
        for k, v in sink.counters.items():
            if k.startswith("recovered_"):
                recovered[k[len("recovered_"):]] = recovered.get(k[len("recovered_"):], 0) + v
        for k, v in rej.items():
            totals[k] = totals.get(k, 0) + v
        result.files[str(path)] = {"format": fmt, "records": st.records, "events": len(arr), "rejects": rej}
        result.sources.append(str(path))
    for d in datasets:
        from liqcore.dataset import load_dataset

        dres = load_dataset(d, registry=registry, max_clock_skew_ns=max_clock_skew_ns)
        chunks.append(dres.events)
        for k, v in dres.rejects.items():
            totals[k] = totals.get(k, 0) + v
        result.files[str(d)] = dres.files[str(d)]
        result.sources.append(str(d))
    events = np.concatenate(chunks) if chunks else np.zeros(0, EVENT_DTYPE)
    fill_recv(events, feed_latency_ns)
    order = np.argsort(events["ts_event"], kind="stable")
    events = events[order]
    events, ndup = dedupe(events)
    result.events = events
    result.duplicates = ndup
    result.rejects = totals
    result.recovered = recovered
    return result


def _warn_stderr(line: str) -> None:
    import sys

    print(f"warning: {line}", file=sys.stderr, flush=True)


def _unreadable_why(path, exc: Exception) -> str:
    """Why a file could not be read, without repeating its name."""
    why = str(exc) if isinstance(exc, ValueError) else (exc.strerror or str(exc))
    if why.startswith(f"{path}:"):
        why = why[len(str(path)) + 1:].strip()
    if why.startswith("format: "):
        why = why[len("format: "):]
    return why.replace(f" of {path}", "")


def _load_each(files, datasets, *, warn, strict: bool, registry, **kw) -> LoadResult:
    """:func:`load_events` of several files, file by file: a file that cannot be read is skipped
    and named (``strict``: it stops the load); the results are merged as one load would give them
    (same order, same duplicates removed)."""
    registry = registry if registry is not None else SymbolRegistry()
    parts: list[LoadResult] = []
    skipped: dict[str, str] = {}
    notes: list[str] = []
    for path in files:
        try:
            parts.append(load_events([path], registry=registry, strict=strict, warn=warn, **kw))
        except (ValueError, OSError) as exc:
            why = _unreadable_why(path, exc)
            if strict:
                raise ValueError(f"{path}: {why}") from None
            skipped[str(path)] = why
            note = f"skipped {path}: {why}"
            notes.append(note)
            warn(note)
    if not parts and not datasets:
        listed = "; ".join(f"{p}: {w}" for p, w in list(skipped.items())[:3])
        more = f" (+{len(skipped) - 3} more)" if len(skipped) > 3 else ""
        raise ValueError(f"paths: none of the {len(files)} files could be read ({listed}{more})")
    if datasets:
        parts.append(load_events(datasets, registry=registry, strict=strict, warn=warn, **kw))
    result = LoadResult(events=np.zeros(0, EVENT_DTYPE), registry=registry, skipped=skipped)
    for r in parts:
        for k, v in r.rejects.items():
            result.rejects[k] = result.rejects.get(k, 0) + v
        for k, v in r.recovered.items():
            result.recovered[k] = result.recovered.get(k, 0) + v
        result.duplicates += r.duplicates
        result.sources.extend(r.sources)
        result.files.update(r.files)
        result.warnings.extend(r.warnings)
    result.warnings.extend(notes)
    events = np.concatenate([r.events for r in parts]) if parts else np.zeros(0, EVENT_DTYPE)
    events = events[np.argsort(events["ts_event"], kind="stable")]
    result.events, ndup = dedupe(events)
    result.duplicates += ndup
    return result


#: the columns of the headerless CSV formats, by position (what a forced format misreads is named)
_CSV_COLUMNS = {
    "binance-csv": ("s", "S", "o", "f", "q", "p", "ap", "X", "l", "z", "T", "usd_size"),
    "binance-trades-csv": ("E", "symbol", "a", "p", "q", "T", "m", "usd_size"),
}
#: rejects that say a record is not what its format claims (a forced format that does not fit)
_MISFIT = frozenset({"bad_symbol", "bad_time", "implausible_time", "non_numeric", "non_finite", "non_positive",
                     "bad_side", "bad_row", "missing_field", "unknown_format", "implausible_price",
                     "implausible_notional"})


def _column_label(fmt: str, field: str) -> str:
    cols = _CSV_COLUMNS.get(fmt)
    if cols and field in cols:
        return f"column {cols.index(field) + 1} ({field})"
    if field in ("s", "symbol"):
        return "the symbol column"
    return f"column {field!r}" if field else "its records"


def _sane(arr: np.ndarray, st: _FileState, forced: bool) -> np.ndarray:
    """One file's events (in file order) without the implausible ones (liqcore.validate: times outside
    2017 .. now + 1 day or stray from their neighbours, prices off the symbol's reference by 10x,
    absurd notionals), each counted.  With a forced headerless CSV format, a file most of whose records
    fail, or whose price column steps by exactly 1 like an id, raises ValueError naming the column."""
    from liqcore.validate import implausible_times, implausible_values

    sink = st.sink
    if len(arr):
        # liqcore's own format may hold a relative clock (a simulation's): every time before 2000
        calendar = st.fmt not in ("contract-csv", "parquet", "dataset") or int(arr["ts_event"].max()) >= RECV_CLOCK_MIN_NS
        tbad = implausible_times(arr["ts_event"], arr["ts_recv"], recv_unknown=RECV_UNKNOWN, calendar=calendar)
        n = int(np.count_nonzero(tbad))
        if n:
            sink.count("implausible_time", n)
            st.culprits[("implausible_time", "T")] = st.culprits.get(("implausible_time", "T"), 0) + n
            arr = arr[~tbad]
    if len(arr):
        pbad, nbad = implausible_values(arr)
        nbad &= ~pbad
        for mask, reason, col in ((pbad, "implausible_price", "p"), (nbad, "implausible_notional", "q")):
            n = int(np.count_nonzero(mask))
            if n:
                sink.count(reason, n)
                st.culprits[(reason, col)] = st.culprits.get((reason, col), 0) + n
        if pbad.any() or nbad.any():
            arr = arr[~(pbad | nbad)]
    if forced and st.fmt in _CSV_COLUMNS:  # headerless columns read by position: garbage if they do not fit
        _check_fit(arr, st)
    if st.strict:
        found = {k[0]: v for k, v in st.culprits.items() if k[0] in ("implausible_time", "implausible_price",
                                                                     "implausible_notional")}
        if found:
            raise ValueError(f"{st.path}: " + ", ".join(f"{k} in {v:,} event(s)" for k, v in sorted(found.items())))
    return arr


def _check_fit(arr: np.ndarray, st: _FileState) -> None:
    """A forced format that does not fit the file: ValueError naming the column that looks wrong."""
    fmt = st.fmt
    misfit = {k: v for k, v in st.culprits.items() if k[0] in _MISFIT}
    n_bad = sum(misfit.values())
    total = max(st.records, n_bad + len(arr))
    if total and n_bad * 2 > total:
        (reason, field), n = max(misfit.items(), key=lambda kv: kv[1])
        raise ValueError(f"format: {st.path} does not fit --format {fmt}: {_column_label(fmt, field)} looks wrong "
                         f"({reason} in {n:,} of {total:,} rows); check the file's columns or let the format "
                         "be detected")
    # a price column that steps by exactly 1 (an id, not a price)
    tradeish = arr[(arr["kind"] == 1) | (arr["kind"] == 2)] if len(arr) else arr
    if len(tradeish) >= 10:
        for sid in np.unique(tradeish["symbol_id"])[:50]:
            p = tradeish["price"][tradeish["symbol_id"] == sid]
            if len(p) < 10:
                continue
            d = np.diff(p)
            if np.all(p == np.round(p)) and np.count_nonzero(d == 1.0) * 2 > len(d):
                raise ValueError(f"format: {st.path} does not fit --format {fmt}: {_column_label(fmt, 'p')} "
                                 f"steps by exactly 1 like an id ({int(np.count_nonzero(d == 1.0)):,} of "
                                 f"{len(d):,} steps), not a price")


class NoUsableInput(ValueError):
    """The input yields no usable events (the command line exits 1, naming why)."""

    exit_code = 1


def _inputs_label(inputs) -> str:
    if inputs is None:
        return "the input"
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    names = [str(p) for p in inputs]
    if not names:
        return "the input"
    return ", ".join(names[:3]) + (f" (+{len(names) - 3} more)" if len(names) > 3 else "")


def _counts(counts: dict) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def why_empty(result: "LoadResult | None" = None, *, rejects: dict | None = None, n_files: int | None = None,
              records: int | None = None, what: str = "rows") -> str:
    """Why a load gave nothing: no files, empty files, or every record rejected (by reason, naming
    the files they came from and the files skipped)."""
    where = ""
    if result is not None:
        rejects = result.rejects
        n_files = len(result.sources)
        records = sum(int(info.get("records", 0)) for info in result.files.values())
        named = [(p, {k: v for k, v in (info.get("rejects") or {}).items() if v})
                 for p, info in result.files.items()]
        named = [(p, r) for p, r in named if r]
        if len(named) == 1:
            where = f" in {named[0][0]}"
        elif named:
            where = ": " + "; ".join(f"{p}: {_counts(r)}" for p, r in named[:3]) + \
                (f" (+{len(named) - 3} more files)" if len(named) > 3 else "")
        if result.skipped:
            where += "; skipped " + "; ".join(f"{p} ({w})" for p, w in list(result.skipped.items())[:3]) + \
                (f" (+{len(result.skipped) - 3} more)" if len(result.skipped) > 3 else "")
    rejects = {k: v for k, v in (rejects or {}).items() if v}
    if n_files == 0:
        suffixes = ", ".join(sorted(_DIR_SUFFIXES))
        return f"no recording files found (looked for {suffixes}, optionally .gz/.zst)"
    total = sum(rejects.values())
    if total:
        return f"{total:,} {what} rejected ({_counts(rejects)}){where}"
    if records:
        return f"{records:,} {what} read, none with an event"
    return "the file(s) hold no records" if n_files is None or n_files > 1 else "the file holds no records"


def require_events(result: "LoadResult", inputs=None, *, allow_empty: bool = False, usable: int | None = None,
                   selection: str = "", warn=None) -> bool:
    """The one check of every command that reads recordings: True when there are usable events.

    ``usable``: events left after the command's own selection (default: every loaded event);
    ``selection`` names that selection (e.g. ``"--symbol BTCUSDT"``) for the message.  When nothing
    is usable: raises :class:`NoUsableInput` ("no usable events in X: 12 rows rejected (malformed_json
    10, not_a_record 2)"), or, with ``allow_empty``, writes the same line as a warning (to ``warn``,
    default stderr) and returns False."""
    n = len(result.events) if usable is None else int(usable)
    if n > 0:
        return True
    where = _inputs_label(inputs if inputs is not None else result.sources)
    if len(result.events) and selection:
        why = f"none of its {len(result.events):,} events match {selection}"
    else:
        why = why_empty(result)
    return _no_usable(f"no usable events in {where}: {why}", allow_empty, warn)


def require_usable(n_usable: int, inputs=None, *, reason: str = "", allow_empty: bool = False, warn=None) -> bool:
    """:func:`require_events` for inputs that are not loaded with :func:`load_events` (e.g. frames
    for a replay): ``reason`` says why nothing was usable."""
    if n_usable > 0:
        return True
    msg = f"no usable events in {_inputs_label(inputs)}" + (f": {reason}" if reason else "")
    return _no_usable(msg, allow_empty, warn)


def _no_usable(msg: str, allow_empty: bool, warn) -> bool:
    if not allow_empty:
        raise NoUsableInput(msg + " (--allow-empty to accept an empty input)")
    import sys

    print(f"warning: {msg}", file=warn or sys.stderr)
    return False


def dedupe(events: np.ndarray) -> tuple[np.ndarray, int]:
    """Drop exact duplicates (venue, symbol, kind, ts_event, side, qty, price; floats bit-exact),
    keeping the first occurrence and the input order.  Returns (events, number removed)."""
    n = len(events)
    if n < 2:
        return events, 0
    ts = events["ts_event"]
    if np.all(ts[1:] >= ts[:-1]):
        # sorted: duplicates share ts_event, so only runs of equal times need the full key
        eq = ts[1:] == ts[:-1]
        if not eq.any():
            return events, 0
        cand = np.zeros(n, dtype=bool)
        cand[1:] |= eq
        cand[:-1] |= eq
        idx = np.flatnonzero(cand)
    else:
        idx = np.arange(n)
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
    _, first = np.unique(key, return_index=True)
    if len(first) == len(idx):
        return events, 0
    keep = np.ones(n, dtype=bool)
    keep[idx] = False
    keep[idx[first]] = True
    return events[keep], n - int(keep.sum())


# ----------------------------------------------------------------------------------------- save


def events_to_table(events: np.ndarray, registry: SymbolRegistry):
    """Events -> pyarrow Table with the contract columns (names as strings)."""
    import pyarrow as pa

    sid = events["symbol_id"].astype(np.int64)
    syms = registry.symbols_array()
    vnames = np.array(["", "bybit", "binance", "okx"], dtype=object)
    snames = np.array(["none", "long", "short", "buy", "sell"], dtype=object)
    knames = np.array(["", "liquidation", "trade", "mark", "funding", "gap", "open_interest"], dtype=object)
    symbol = np.where(sid >= 0, syms[np.clip(sid, 0, max(len(syms) - 1, 0))] if len(syms) else "", "*")
    return pa.table(
        {
            "ts_event_ns": pa.array(events["ts_event"], pa.int64()),
            "ts_recv_ns": pa.array(events["ts_recv"], pa.int64()),
            "venue": pa.array(vnames[events["venue"].astype(np.int64)].tolist(), pa.string()),
            "symbol": pa.array(symbol.tolist(), pa.string()),
            "kind": pa.array(knames[events["kind"].astype(np.int64)].tolist(), pa.string()),
            "side": pa.array(snames[events["side"].astype(np.int64)].tolist(), pa.string()),
            "price": pa.array(events["price"], pa.float64()),
            "qty": pa.array(events["qty"], pa.float64()),
            "flags": pa.array(events["flags"], pa.uint8()),
        }
    )


def save_events(result, path, registry: SymbolRegistry | None = None) -> Path:
    """Write events (a LoadResult, or an array with ``registry=``) as a contract Parquet or CSV file
    (chosen by the suffix: .parquet/.pq or .csv, optionally .csv.gz)."""
    if isinstance(result, LoadResult):
        events, registry = result.events, result.registry
    else:
        events = np.asarray(result)
        if registry is None:
            raise ValueError("registry: needed to name the symbols of a bare event array")
    if events.dtype != EVENT_DTYPE:
        raise ValueError("events: expected an EVENT_DTYPE array")
    path = Path(path)
    table = events_to_table(events, registry)
    base = _base_name(path)
    if base.endswith(".parquet") or base.endswith(".pq"):
        import pyarrow.parquet as pq

        from liqcore._atomic import atomic_path

        with atomic_path(path) as tmp:  # a kill or a full disk leaves the earlier file whole
            pq.write_table(table, tmp, compression="zstd")
    elif base.endswith(".csv"):
        import pyarrow.csv as pacsv

        order = ["ts_event_ns", "venue", "symbol", "side", "price", "qty", "kind", "ts_recv_ns", "flags"]
        buf = _io.BytesIO()
        buf.write((",".join(order) + "\n").encode())
        # floats in their shortest round-trip form (as repr), no quoting (names hold no commas)
        pacsv.write_csv(table.select(order), buf, pacsv.WriteOptions(include_header=False, quoting_style="none"))
        data = buf.getvalue()
        if _compression(path) == "gz":
            import gzip

            data = gzip.compress(data)
        elif _compression(path) == "zst":
            import zstandard

            data = zstandard.ZstdCompressor().compress(data)
        from liqcore._atomic import write_bytes

        write_bytes(path, data)
    else:
        raise ValueError(f"path: {path} must end in .parquet, .pq or .csv")
    return path

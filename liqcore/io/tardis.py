"""Readers of tardis.dev's downloadable CSV files (``.csv`` / ``.csv.gz``), told by their header.

``tardis-liquidations``, ``tardis-trades``, ``tardis-derivative-ticker``, ``tardis-quotes`` and
``tardis-book-snapshot``: read with pyarrow's CSV reader in batches, converted column-wise; a bad cell
costs its row (the lenient path), never the file.  Sides, times, units, venues and what tells
trades from liquidations: docs/how-to/backtest.md, "tardis.dev exports and raw captures", and docs/data.md.

May import: numpy, pyarrow (inside functions), ``types``, ``validate``, ``venues.common``, ``venues.registry``,
``_libs.readrows`` and this package's ``base``, ``files`` and ``tardis_liquidations``.
"""
from __future__ import annotations

import io as _io
from pathlib import Path

import numpy as np

from liqcore._libs.reading import quote_rows, trade_rows
from liqcore.io.base import TIER_MARKED, Reader, FileState
from liqcore.io.base import arrow_nulls as _nulls, arrow_numpy as _np
from liqcore.io.base import RowBuffer
from liqcore.venues.registry import part_cache, part_function
from liqcore.venues.files import Blocks, DamagedMember
from liqcore.io.tardis_liquidations import _not_liquidations
from liqcore.types import EVENT_DTYPE, VENUE_SPAN, Kind, Side

#: tardis exchange ids -> venue codes (1 Bybit, 2 Binance, 3 OKX); any other id is looked up among the registered
#: venues' names and ``aliases`` (Gate's ``gate-io-futures``), :func:`_exchange_code`
EXCHANGES = {b"bybit": 1, b"binance-futures": 2, b"binance-delivery": 2, b"okex-swap": 3}  # binance-delivery: COIN-M


def _exchange_code(name: bytes) -> int:
    """The venue code of a tardis exchange id (0: no registered venue has it)."""
    code = EXCHANGES.get(name)
    if code is None:
        from liqcore.venues.registry import venue_by_alias, venue_spec

        venue = venue_by_alias(name.decode("utf-8", "replace"))
        code = venue_spec(venue).code if venue else 0
    return code


def _in_contracts(code: int) -> bool:
    """Whether the venue's tardis sizes are contracts (OKX, Gate: ``amount`` = |size| in contracts)."""
    from liqcore.venues.registry import spec_or_none

    spec = spec_or_none(code)
    return bool(spec is not None and spec.sizes_in_contracts)


_INVERSE_USD = part_cache()


def _inverse_usd(code: int, name: str) -> float:
    """The USD value of one contract of the venue's inverse ``name`` (its ``contracts`` part); 0.0: linear."""
    fn = part_function(_INVERSE_USD, code, "contracts", "inverse_contract_usd")
    return float(fn(name)) if fn is not None else 0.0
_COMMON = ("exchange", "symbol", "timestamp", "local_timestamp")
_TRADES = _COMMON + ("id", "side", "price", "amount")
_TICKER = _COMMON + ("funding_timestamp", "funding_rate", "open_interest", "mark_price")
_QUOTES = _COMMON + ("ask_amount", "ask_price", "bid_price", "bid_amount")
_BOOK = _COMMON + ("asks[0].price", "asks[0].amount", "bids[0].price", "bids[0].amount")
_INT_COLS = frozenset({"timestamp", "local_timestamp", "funding_timestamp"})
_STR_COLS = frozenset({"exchange", "symbol", "side", "id", "is_snapshot"})
_SAMPLED = 8
_NAN = float("nan")
#: inverse rows: ``scale`` is the USD value of one contract (Bybit 1; Binance COIN-M ``btcusd_perp``, tardis's
#: binance-delivery: its contract size, 100 for BTCUSD, 10 for the other pairs), the base quantity
#: ``amount x scale / price``
_INT_RE = r"^\s*(?:\d{1,18}|[1-8]\d{18})\s*$"
_FLOAT_RE = r"^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$"
#: a file with more than this share of its rows rejected is an error naming the column
_BULK = 0.5
#: the shortcuts for the usual batch (one exchange and symbol, no empty or bad cell: nothing to reject), which
#: give the general checks' answer without their masks; off only in the tests that hold the two equal
_SHORTCUTS = True


def _header(head: bytes) -> list[str]:
    line = head.split(b"\n", 1)[0].rstrip(b"\r")
    if line.startswith(b"\xef\xbb\xbf"):
        line = line[3:]
    return [c.strip().strip(b'"').decode("utf-8", "replace") for c in line.split(b",")]


def _tradeish_kind(path, head: bytes) -> str | None:
    """'liquidations' / 'trades' for a file with the shared header: its name, else its ``id`` column
    (empty in every row of the head: liquidations); None when neither tells."""
    name = Path(str(path)).name.lower()
    if "liquidation" in name:
        return "liquidations"
    if "trade" in name:
        return "trades"
    cols = _header(head)
    try:
        i = cols.index("id")
    except ValueError:
        return None
    ids = [ln.split(b",")[i].strip() if ln.count(b",") >= i else b"" for ln in head.split(b"\n")[1:50] if ln.strip()]
    if not ids:
        return None
    return "liquidations" if not any(ids) else "trades"


def _sniff_trades_header(s: bytes) -> bool:
    return s.startswith(b"exchange,symbol,timestamp,local_timestamp,id,side,price,amount")


def _sniff_ticker(s: bytes) -> bool:
    return s.startswith(b"exchange,symbol,timestamp,local_timestamp,") and b"funding_rate" in s and b"mark_price" in s


def _sniff_quotes(s: bytes) -> bool:
    return s.startswith(b"exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount")


def _sniff_book(s: bytes) -> bool:
    return s.startswith(b"exchange,symbol,timestamp,local_timestamp,") and b"asks[0].price" in s and b"bids[0].price" in s


def _file_sniffer(line_sniff, tradeish: str | None = None):
    def sniff(path, head: bytes) -> bool:
        first = head.split(b"\n", 1)[0].strip()
        if first.startswith(b"\xef\xbb\xbf"):
            first = first[3:]
        if not line_sniff(first):
            return False
        if tradeish is None:
            return True
        kind = _tradeish_kind(path, head)
        if kind is None:
            raise ValueError(f"format: {path} has the header of tardis trades and liquidations files, and neither "
                             "its name nor its id column tells which: use --format tardis-trades or "
                             "--format tardis-liquidations")
        return kind == tradeish
    return sniff


# ------------------------------------------------------------------------------------ reading


class _Stream(_io.RawIOBase):
    """A file's decompressed blocks (:class:`liqcore.venues.files.Blocks`: gzip members, zstd frames, a
    file cut short read up to the cut, one with a damaged gzip member up to that member) as a binary stream
    for pyarrow."""

    def __init__(self, blocks):
        self._it = iter(blocks)
        self._buf = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not len(self._buf):
            nxt = next(self._it, None)
            if nxt is None:
                return 0
            self._buf = memoryview(nxt)
        k = min(len(b), len(self._buf))
        b[:k] = self._buf[:k]
        self._buf = self._buf[k:]
        return k


class _Lenient(Exception):
    """A cell did not parse as its column's type: read the file again, every column as bytes."""


class _Clean(Exception):
    """A row pyarrow could not hand to the handler (bytes that are not UTF-8): read it again cleaned."""


class _Robust(Exception):
    """The compressed stream failed in pyarrow's reader: read it again through liqcore's (which reads a
    file cut short, or corrupt part-way, up to the damage)."""


def _batches(path: Path, cols: tuple, st: FileState, lenient: bool, robust: bool, opened: list, clean: bool = False,
             damaged: DamagedMember | None = None):
    """Record batches of ``cols`` of the file; rows with a wrong number of cells are ``bad_row`` (``damaged``:
    read up to that damaged gzip member)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from liqcore.venues.files import compression

    binary = pa.binary()
    dict_bin = pa.dictionary(pa.int32(), pa.binary())
    types = {}
    for c in cols:
        if lenient:
            types[c] = binary
        elif c == "id":  # the venue's trade id: a number (Binance, OKX) or a UUID (Bybit)
            types[c] = binary
        elif c in _STR_COLS:
            types[c] = dict_bin
        elif c in _INT_COLS:
            types[c] = pa.int64()
        else:
            types[c] = pa.float64()

    def bad_row(row) -> str:
        st.sink.count("bad_row")
        st.culprits[("bad_row", "")] = st.culprits.get(("bad_row", ""), 0) + 1
        return "error" if st.strict else "skip"

    conv = pacsv.ConvertOptions(column_types=types, include_columns=list(cols), null_values=[""],
                                strings_can_be_null=True, quoted_strings_can_be_null=True, check_utf8=False)
    # rows with a wrong number of cells: the first reading stops at one, the clean one counts them
    # (pyarrow hands a row to the handler as text: only bytes made valid UTF-8 get there)
    parse = pacsv.ParseOptions(invalid_row_handler=bad_row if clean else None, newlines_in_values=False)
    read = pacsv.ReadOptions(block_size=16 << 20, use_threads=True)
    if robust or clean:
        blk = Blocks(path, damaged=damaged)
        opened.append(blk)
        # clean: bytes that are not UTF-8 replaced, so that a bad row reaches the handler (pyarrow
        # hands it over as text)
        source = _Stream((b.decode("utf-8", "replace").encode() for b in blk) if clean else blk)
    else:
        comp = {"gz": "gzip", "zst": "zstd"}.get(compression(path))
        source = None
        if comp == "gzip":
            try:  # python-isal when installed: gzip decompressed about twice as fast, in its own thread
                from isal import igzip_threaded

                source = igzip_threaded.open(str(path), "rb", threads=1)
            except ImportError:
                source = None
        if source is None:
            source = pa.input_stream(str(path), compression=comp)
    try:
        reader = pacsv.open_csv(source, read_options=read, parse_options=parse, convert_options=conv)
        for batch in reader:
            yield batch
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError, EOFError, ValueError) as exc:
        if isinstance(exc, ValueError) and not isinstance(exc, pa.ArrowException) and (robust or clean):
            raise  # liqcore's decompression: a damaged gzip member (read again up to it), a file it cannot read
        msg = (str(exc).splitlines() or [""])[0][:200]
        if "conversion error" in msg and not lenient:
            raise _Lenient() from None
        if st.strict and "CSV parse error" in msg:
            raise ValueError(f"{path}: bad_row ({msg})") from None
        if "CSV parse error" in msg and not clean:
            raise _Clean() from None
        if "CSV parse error" in msg or "conversion error" in msg or robust or clean:
            raise ValueError(f"{path}: not a readable CSV file ({msg})") from None
        raise _Robust() from None
    finally:
        if not (robust or clean):
            source.close()


class _Conv:
    """Column-wise conversion of one file's batches to events, with the counts and samples of what
    was rejected."""

    def __init__(self, path: Path, st: FileState, kind: str, lenient: bool):
        self.path = path
        self.st = st
        self.kind = kind
        self.lenient = lenient
        self.row0 = 0  # rows of the file before this batch
        self.samples: dict = {}  # (reason, column) -> a few values
        self.tids: list = []  # each batch's trade ids (trades)
        self.liq_ids: list = []  # each batch's ``id`` cells (liquidations told by the file name; 0: empty)
        self.state: dict = {}  # derivative ticker: per symbol id, the last values seen
        self.first_bad: tuple | None = None

    # -- columns
    def ints(self, batch, name):
        import pyarrow.compute as pc

        col = batch.column(name)
        if self.lenient:
            bad_text = self._bad_text(col, _INT_RE)
            col = self._num(col, _INT_RE, "int64")
        else:
            bad_text = None
        null = _nulls(col)
        v = _np(col.fill_null(0) if col.null_count else col, np.int64)
        return v, null, bad_text

    def floats(self, batch, name):
        import pyarrow.compute as pc

        col = batch.column(name)
        bad_text = None
        if self.lenient:
            bad_text = self._bad_text(col, _FLOAT_RE)
            col = self._num(col, _FLOAT_RE, "float64")
        null = _nulls(col)
        v = _np(col.fill_null(_NAN) if col.null_count else col, np.float64)
        return v, null, bad_text

    @staticmethod
    def _num(col, regex, typ):
        import pyarrow as pa
        import pyarrow.compute as pc

        ok = pc.fill_null(pc.match_substring_regex(col, regex), False)
        kept = pc.if_else(ok, col, pa.scalar(None, col.type))
        return pc.utf8_trim_whitespace(kept.cast(pa.string())).cast(typ)

    @staticmethod
    def _bad_text(col, regex):
        """Mask of cells that hold something that is not a number (empty cells are not)."""
        import pyarrow.compute as pc

        ok = pc.match_substring_regex(col, regex)
        ok = _np(pc.fill_null(ok, True), bool)
        empty = _np(pc.fill_null(pc.equal(pc.binary_length(col), 0), False), bool)
        return ~ok & ~empty

    def codes(self, batch, name):
        """(indices, values) of a bytes column: -1 for an empty cell, values as stripped bytes."""
        import pyarrow as pa
        import pyarrow.compute as pc

        col = batch.column(name)
        if not pa.types.is_dictionary(col.type):
            col = pc.dictionary_encode(col)
        ind = col.indices
        ind = ind if ind.null_count == 0 else ind.fill_null(-1)
        idx = _np(ind, np.int64)
        values = [v.strip() if v is not None else b"" for v in col.dictionary.to_pylist()]
        return idx, values

    # -- rejects
    def reject(self, bad, mask, reason, column, values=None):
        new = mask & ~bad
        k = int(np.count_nonzero(new))
        if not k:
            return
        st = self.st
        st.sink.count(reason, k)
        key = (reason, column)
        st.culprits[key] = st.culprits.get(key, 0) + k
        first = int(np.flatnonzero(new)[0])
        if self.first_bad is None:
            self.first_bad = (self.row0 + first, reason, column)
        if values is not None:
            sample = self.samples.setdefault(key, [])
            for i in np.flatnonzero(new)[:5].tolist():
                if len(sample) >= 3:
                    break
                v = values(i)
                if v not in sample:
                    sample.append(v)
        bad |= new

    def _strict(self):
        if self.st.strict and self.first_bad is not None:
            row, reason, column = self.first_bad
            raise ValueError(f"{self.path}:{row + 2}: {reason} ({column})")

    # -- the common columns
    def common(self, batch):
        """(bad, venue, sid, ts, recv, scale, inverse) of a batch; scale = contract value (OKX; an inverse row:
        USD per contract) or 1."""
        n = batch.num_rows
        bad = np.zeros(n, dtype=bool)
        sink = self.st.sink
        ex_idx, ex_vals = self.codes(batch, "exchange")
        sy_idx, sy_vals = self.codes(batch, "symbol")
        vcode = np.array([_exchange_code(v.lower()) for v in ex_vals] + [0], dtype=np.int64)
        width = len(sy_vals) + 1
        # the usual file: one exchange and one symbol in every row (each dictionary one value, no empty
        # cell) -- every per-row table lookup below is that one value (no gather, no mask of n rows)
        one = (_SHORTCUTS and n > 0 and len(ex_vals) == 1 and len(sy_vals) == 1 and vcode[0] != 0
               and int(ex_idx.min()) >= 0 and int(sy_idx.min()) >= 0)
        if one:
            venue = np.full(n, vcode[0])
            key0 = int(vcode[0]) * width
            present = np.array([key0])
        else:
            venue = vcode[ex_idx]  # -1 -> the appended 0
            self.reject(bad, ex_idx < 0, "missing_field", "exchange")
            self.reject(bad, venue == 0, "unknown_venue", "exchange",
                        lambda i: ex_vals[ex_idx[i]].decode("utf-8", "replace")[:40])
            self.reject(bad, sy_idx < 0, "missing_field", "symbol")
            # one symbol id per (venue, symbol) -- a table over the (tiny) dictionaries --; OKX contract
            # values; Bybit inverse contracts
            key = venue * width + np.where(sy_idx < 0, len(sy_vals), sy_idx)
            present = np.flatnonzero(np.bincount(key, minlength=VENUE_SPAN * width))
        sids = np.zeros(VENUE_SPAN * width, dtype=np.int64)
        scale = np.ones(VENUE_SPAN * width, dtype=np.float64)
        inverse = np.zeros(VENUE_SPAN * width, dtype=bool)
        sym_bad = np.zeros(VENUE_SPAN * width, dtype=bool)
        inst_bad = np.zeros(VENUE_SPAN * width, dtype=bool)
        from liqcore.venues.common import Reject

        for j in present.tolist():
            v, s = divmod(j, width)
            if v == 0 or s == len(sy_vals):
                continue
            try:
                name = sy_vals[s].decode("utf-8")
                sids[j] = sink.sid(v, name)
            except (UnicodeDecodeError, Reject):
                sym_bad[j] = True
                continue
            if _in_contracts(v):
                ct = sink.instruments.get(name.upper())
                if ct is None:
                    inst_bad[j] = True
                else:
                    scale[j] = ct
            else:  # an inverse contract (Bybit's BTCUSD, Binance COIN-M): amounts are contracts of that many USD
                usd = _inverse_usd(v, name.upper())
                if usd > 0:
                    inverse[j] = True
                    scale[j] = usd
        def per_row(table):  # each row's value of a (venue, symbol) table
            return np.full(n, table[key0]) if one else table[key]

        if not one or sym_bad[key0]:
            self.reject(bad, per_row(sym_bad), "bad_symbol", "symbol",
                        lambda i: sy_vals[sy_idx[i]].decode("utf-8", "replace")[:40])
        self.inst_bad = per_row(inst_bad)
        self.inst_name = lambda i: sy_vals[sy_idx[i]].decode("utf-8", "replace")[:40]
        ts = self.times(batch, "timestamp", bad, required=True)
        recv = self.times(batch, "local_timestamp", bad, required=False)
        return bad, venue, per_row(sids), ts, recv, per_row(scale), per_row(inverse)

    def times(self, batch, name, bad, required: bool):
        """A time column in ns: the unit of each value told by its size (ms, us or ns)."""
        from liqcore.validate import FILE_TIME_MAX_NS, TIME_MIN_NS

        v, null, bad_text = self.ints(batch, name)
        if bad_text is not None:
            self.reject(bad, bad_text, "non_numeric", name)
        ns = to_ns(v)
        # the usual column: a number in every cell, every time inside the bounds below -- nothing to reject
        # (min / max: two passes, no mask)
        whole = _SHORTCUTS and len(ns) > 0 and not null.any()
        if required:
            if whole and int(ns.min()) > 0:
                return ns
            self.reject(bad, null, "missing_field", name)
            # event times outside the calendar: the plausibility rule (implausible_time)
            self.reject(bad, (ns <= 0) & ~null, "bad_time", name, lambda i: str(int(v[i])))
            return ns
        # a recorded receive time is a clock reading: outside 2017 .. 2100 the row is not trusted (a
        # fixed bound: a file reads the same whatever the day)
        if whole and int(ns.min()) >= TIME_MIN_NS and int(ns.max()) <= FILE_TIME_MAX_NS:
            return ns
        self.reject(bad, ~null & ((ns < TIME_MIN_NS) | (ns > FILE_TIME_MAX_NS)), "bad_time", name,
                    lambda i: str(int(v[i])))
        return np.where(null, -1, ns)

    def positive(self, batch, name, bad):
        v, null, bad_text = self.floats(batch, name)
        if _SHORTCUTS and bad_text is None and len(v) and not null.any() and v.min() > 0 and v.max() < np.inf:
            return v  # every cell a finite number > 0 (by min / max: a NaN fails both): nothing to reject
        if bad_text is not None:
            self.reject(bad, bad_text, "non_numeric", name)
        self.reject(bad, null, "missing_field", name)
        self.reject(bad, ~np.isfinite(v), "non_finite", name)
        self.reject(bad, v <= 0, "non_positive", name, lambda i: repr(float(v[i])))
        return v


def _trade_ids(col) -> np.ndarray:
    """The ``id`` column -> int64 trade ids (0: empty): numbers as they are, other text (Bybit's
    UUIDs) by a stable 64-bit hash of each distinct value (:func:`liqcore.venues.common.trade_id`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        v = pc.cast(pc.cast(col, pa.string()), pa.int64())
        return _np(v.fill_null(0) if v.null_count else v, np.int64)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    from liqcore.venues.common import trade_id

    enc = pc.dictionary_encode(col)
    values = enc.dictionary.to_pylist()
    codes = np.array([trade_id(x.decode("utf-8", "replace").strip()) for x in values] + [0], dtype=np.int64)
    idx = _np(enc.indices.fill_null(len(values)), np.int64)
    return codes[idx]


def to_ns(v: np.ndarray) -> np.ndarray:
    """Epoch times in ms (13 digits), us (16) or ns (19), each told by its size -> ns (0: none fits)."""
    v = np.asarray(v, dtype=np.int64)
    if len(v):  # one unit for the whole column (the usual case): one pass
        lo, hi = int(v.min()), int(v.max())
        if 10**14 <= lo and hi < 9 * 10**15:
            return v * 1_000
        if lo >= 10**17:
            return v
    us = (v >= 10**14) & (v < 9 * 10**15)
    ms = (v >= 10**11) & (v < 9 * 10**12)
    return np.where(v >= 10**17, v, np.where(us, v * 1_000, np.where(ms, v * 1_000_000, 0)))


# --------------------------------------------------------------------------------- the kinds


def _tradeish(c: _Conv, batch, liquidations: bool) -> np.ndarray:
    bad, venue, sid, ts, recv, scale, inverse = c.common(batch)
    s_idx, s_vals = c.codes(batch, "side")
    if liquidations:  # the forced order's side -> the liquidated position
        table = {b"buy": int(Side.SHORT), b"sell": int(Side.LONG)}
    else:
        table = {b"buy": int(Side.BUY), b"sell": int(Side.SELL)}
    codes = np.array([table.get(v.lower(), 0) for v in s_vals] + [0], dtype=np.int64)
    side = codes[s_idx]
    c.reject(bad, s_idx < 0, "missing_field", "side")
    c.reject(bad, side == 0, "bad_side", "side", lambda i: s_vals[s_idx[i]].decode("utf-8", "replace")[:20])
    price = c.positive(batch, "price", bad)
    amount = c.positive(batch, "amount", bad)
    c.reject(bad, c.inst_bad, "unknown_instrument", "symbol", c.inst_name)
    if _sizes_as_read(inverse, scale):
        qty = amount  # sizes as read: a size not finite and > 0 is a row rejected above
    else:
        with np.errstate(all="ignore"):
            qty = np.where(inverse, amount * scale / price, amount * scale)
        c.reject(bad, ~np.isfinite(qty) | (qty <= 0), "non_finite", "amount")
    c._strict()
    tids = _trade_ids(batch.column("id")) if "id" in batch.schema.names else None
    keep = ~bad if bad.any() else None
    if tids is not None:
        (c.liq_ids if liquidations else c.tids).append(tids if keep is None else tids[keep])
    kind = int(Kind.LIQUIDATION) if liquidations else int(Kind.TRADE)
    return trade_rows(ts, recv, price, qty, sid, side, venue, kind, _SAMPLED if liquidations else 0, keep)


def _top_of_book(c: _Conv, batch, cols) -> np.ndarray:
    """Two QUOTE rows per update (bid, then ask)."""
    ask_p, ask_q, bid_p, bid_q = cols
    bad, venue, sid, ts, recv, scale, inverse = c.common(batch)
    sides = []
    for pname, qname in ((bid_p, bid_q), (ask_p, ask_q)):
        p, p_null, p_text = c.floats(batch, pname)
        q, q_null, q_text = c.floats(batch, qname)
        if _clean_side(p, p_null, p_text, q, q_null, q_text):  # nothing to reject: no mask of n rows
            empty = q == 0  # an empty side of the book
            sides.append((np.where(empty, 0.0, p), np.where(empty, 0.0, q), empty) if empty.any() else (p, q, empty))
            continue
        for t, name in ((p_text, pname), (q_text, qname)):
            if t is not None:
                c.reject(bad, t, "non_numeric", name)
        c.reject(bad, ~p_null & ~np.isfinite(p), "non_finite", pname)
        c.reject(bad, ~p_null & (p <= 0), "non_positive", pname, lambda i, p=p: repr(float(p[i])))
        c.reject(bad, ~p_null & q_null, "missing_field", qname)
        c.reject(bad, ~q_null & ~np.isfinite(q), "non_finite", qname)
        c.reject(bad, ~q_null & (q < 0), "non_positive", qname, lambda i, q=q: repr(float(q[i])))
        empty = p_null | (~q_null & (q == 0))  # an empty side of the book
        sides.append((np.where(empty, 0.0, p), np.where(empty | q_null, 0.0, q), empty))
    (bp, bq, b_empty), (ap, aq, a_empty) = sides
    c.reject(bad, b_empty & a_empty, "missing_field", f"{bid_p},{ask_p}")
    # a crossed book (bid >= ask) is kept and counted (``crossed_book``) by the plausibility pass, as
    # for every reader of top of book
    c.reject(bad, c.inst_bad, "unknown_instrument", "symbol", c.inst_name)
    c._strict()
    keep = None if _SHORTCUTS and not bad.any() else ~bad  # None: every row kept (no gather)
    # sizes as read unless a row is of a Bybit inverse contract or an OKX one (contracts x contract value)
    plain = _sizes_as_read(inverse, scale)
    if not plain and inverse.any():  # an inverse row's USD size: contracts x USD per contract (then / price)
        bq, aq = np.where(inverse, bq * scale, bq), np.where(inverse, aq * scale, aq)
    return quote_rows(ts, recv, bp, bq, ap, aq, sid, venue, keep, None if plain else inverse, None if plain else scale)


def _sizes_as_read(inverse: np.ndarray, scale: np.ndarray) -> bool:
    """Whether a batch's sizes are as read: no row of a Bybit inverse contract or an OKX one (contracts x
    contract value), so no size is converted (a shortcut: off with :data:`_SHORTCUTS`)."""
    return bool(_SHORTCUTS and not inverse.any() and np.all(scale == 1.0))


def _clean_side(p, p_null, p_text, q, q_null, q_text) -> bool:
    """Whether a side of a batch of quotes has nothing the checks of :func:`_top_of_book` reject: every cell a
    number (no text read leniently, no empty cell), every price finite and > 0, every size finite and >= 0
    (by min / max: a NaN fails both)."""
    return bool(_SHORTCUTS and p_text is None and q_text is None and len(p) and not p_null.any() and not q_null.any()
                and p.min() > 0 and p.max() < np.inf and q.min() >= 0 and q.max() < np.inf)


def _ticker(c: _Conv, batch) -> np.ndarray:
    """MARK / FUNDING / OPEN_INTEREST rows when their value changes (per symbol, across batches)."""
    bad, venue, sid, ts, recv, scale, inverse = c.common(batch)
    c._strict()
    mark, m_null, m_text = c.floats(batch, "mark_price")
    rate, r_null, r_text = c.floats(batch, "funding_rate")
    oi, o_null, o_text = c.floats(batch, "open_interest")
    fts_raw, f_null, f_text = c.ints(batch, "funding_timestamp")
    fts = np.where(f_null, -1, to_ns(fts_raw))
    quiet = np.zeros(len(bad), dtype=bool)  # a bad cell costs its value, not the row
    for t, name in ((m_text, "mark_price"), (r_text, "funding_rate"), (o_text, "open_interest"),
                    (f_text, "funding_timestamp")):
        if t is not None:
            c.reject(quiet.copy(), t & ~bad, "non_numeric", name)
    m_ok = ~m_null & np.isfinite(mark) & (mark > 0) & ~bad
    c.reject(quiet.copy(), ~m_null & ~m_ok & ~bad, "non_positive", "mark_price", lambda i: repr(float(mark[i])))
    r_ok = ~r_null & np.isfinite(rate) & (np.abs(rate) < 1.0) & ~bad
    c.reject(quiet.copy(), ~r_null & ~r_ok & ~bad, "implausible_funding", "funding_rate",
             lambda i: repr(float(rate[i])))
    o_ok = ~o_null & np.isfinite(oi) & (oi >= 0) & ~bad & ~c.inst_bad
    c.reject(quiet.copy(), ~o_null & np.isfinite(oi) & (oi >= 0) & ~bad & c.inst_bad, "unknown_instrument", "symbol",
             c.inst_name)
    c.reject(quiet.copy(), ~o_null & ~(np.isfinite(oi) & (oi >= 0)) & ~bad, "non_finite", "open_interest",
             lambda i: repr(float(oi[i])))
    rows, kinds, prices, qtys = [], [], [], []
    n = len(bad)
    ar = np.arange(n)
    for s in np.unique(sid[~bad]).tolist():
        grp = (sid == s) & ~bad
        last = c.state.setdefault(s, {"mark": _NAN, "rate": _NAN, "fts": -2, "oi": _NAN})
        # the mark price known at each row (carried across rows and batches)
        gm = m_ok & grp
        idx = np.maximum.accumulate(np.where(gm, ar, -1))
        mark_ff = np.where(idx >= 0, mark[np.maximum(idx, 0)], last["mark"])
        # MARK: when it changes
        mi = np.flatnonzero(gm)
        mv = mark[mi]
        prev = np.r_[last["mark"], mv[:-1]]
        ch = mi[mv != prev]
        rows.append(ch), kinds.append(np.full(len(ch), int(Kind.MARK))), prices.append(mark[ch])
        qtys.append(np.zeros(len(ch)))
        # FUNDING: when the rate or the funding time changes
        ri = np.flatnonzero(r_ok & grp)
        rv, fv = rate[ri], fts[ri]
        ch = ri[(rv != np.r_[last["rate"], rv[:-1]]) | (fv != np.r_[last["fts"], fv[:-1]])]
        rows.append(ch), kinds.append(np.full(len(ch), int(Kind.FUNDING))), prices.append(rate[ch])
        qtys.append(np.zeros(len(ch)))
        # OPEN_INTEREST: when it changes (base units; Bybit inverse: USD / mark price)
        oi_i = np.flatnonzero(o_ok & grp)
        ov = oi[oi_i]
        ch = oi_i[ov != np.r_[last["oi"], ov[:-1]]]
        with np.errstate(all="ignore"):
            q = np.where(inverse[ch], oi[ch] * scale[ch] / mark_ff[ch], oi[ch] * scale[ch])
        usable = np.isfinite(q)
        c.reject(quiet.copy(), np.isin(ar, ch[~usable]), "missing_field", "mark_price")
        ch, q = ch[usable], q[usable]
        rows.append(ch), kinds.append(np.full(len(ch), int(Kind.OPEN_INTEREST))), prices.append(mark_ff[ch])
        qtys.append(q)
        if len(mi):
            last["mark"] = float(mark[mi[-1]])
        if len(ri):
            last["rate"], last["fts"] = float(rate[ri[-1]]), int(fts[ri[-1]])
        if len(oi_i):
            last["oi"] = float(oi[oi_i[-1]])
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    k = np.concatenate(kinds) if kinds else np.zeros(0, np.int64)
    order = np.lexsort((k, r))  # file order; MARK, FUNDING, OPEN_INTEREST within a row
    r = r[order]
    out = np.zeros(len(r), dtype=EVENT_DTYPE)
    out["ts_event"] = ts[r]
    out["ts_recv"] = recv[r]
    out["price"] = (np.concatenate(prices) if prices else np.zeros(0))[order]
    out["qty"] = (np.concatenate(qtys) if qtys else np.zeros(0))[order]
    out["symbol_id"] = sid[r]
    out["kind"] = k[order]
    out["venue"] = venue[r]
    return out


#: format -> (columns read, the batch converter)
_KINDS = {
    "tardis-liquidations": (_TRADES, lambda c, b: _tradeish(c, b, True)),
    "tardis-trades": (_TRADES, lambda c, b: _tradeish(c, b, False)),
    "tardis-derivative-ticker": (_TICKER, _ticker),
    "tardis-quotes": (_QUOTES, lambda c, b: _top_of_book(c, b, ("ask_price", "ask_amount", "bid_price", "bid_amount"))),
    "tardis-book-snapshot": (_BOOK, lambda c, b: _top_of_book(c, b, _BOOK[4:])),
}


def _load(fmt: str, path: Path, st: FileState) -> np.ndarray:
    from liqcore.venues.files import read_head

    cols, convert = _KINDS[fmt]
    head = read_head(path, 1 << 16)  # (a file cut short: what precedes the cut)
    header = _header(head)
    missing = [c for c in cols if c not in header]
    if missing:
        raise ValueError(f"format: {path} does not fit --format {fmt}: the header lacks column(s) "
                         f"{', '.join(missing)} (header: {','.join(header)[:200]})")
    # the trade id is read for trades (dedupe tells trades apart by it), and for liquidations told by
    # the file name (an id column filled with trade ids says the file holds trades)
    if fmt != "tardis-trades" and not (fmt == "tardis-liquidations" and not st.forced):
        cols = tuple(c for c in cols if c != "id")
    sink = st.sink
    before = (dict(sink.counters), dict(st.culprits), st.records, len(sink.registry))
    lenient = robust = clean = False
    damaged = None
    while True:
        conv = _Conv(path, st, fmt, lenient)
        rows = RowBuffer(EVENT_DTYPE)  # each batch's rows written once into the file's array
        opened: list = []
        try:
            for batch in _batches(path, cols, st, lenient, robust, opened, clean, damaged):
                n = batch.num_rows
                st.records += n
                rows.append(convert(conv, batch))
                conv.row0 += n
            break
        except (_Lenient, _Robust, _Clean, DamagedMember) as again:  # start over: every column as bytes /
            if isinstance(again, _Lenient):  # liqcore's decompression / bytes that are not UTF-8 replaced /
                lenient = True  # up to a damaged gzip member (the text it gave dropped)
            elif isinstance(again, _Clean):
                clean = True
            else:
                if isinstance(again, DamagedMember) and damaged is not None:
                    raise again  # (the file changed while it was read)
                robust = True
                damaged = again if isinstance(again, DamagedMember) else damaged
            sink.counters.clear()
            sink.counters.update(before[0])
            st.culprits.clear()
            st.culprits.update(before[1])
            st.records = before[2]
    import pyarrow as pa

    pa.default_memory_pool().release_unused()  # the CSV reader's buffers: not held through the checks
    if opened and opened[-1].truncated:
        st.bad(0, "truncated_file", "compressed stream ends early")
        from liqcore.io.base import warn_stderr

        warn_stderr(opened[-1].truncation_note())
    _bulk_check(path, fmt, st, conv)
    if conv.tids:
        st.trade_ids = conv.tids[0] if len(conv.tids) == 1 else np.concatenate(conv.tids)
    out = rows.take()
    if fmt == "tardis-liquidations" and not st.forced and conv.liq_ids:
        why = _not_liquidations(out, np.concatenate(conv.liq_ids))
        if why:
            raise ValueError(f"format: {path}: named liquidations but looks like trades ({why}); read it with "
                             "--format tardis-trades, or with --format tardis-liquidations if it really holds "
                             "liquidations")
    return out


def _bulk_check(path, fmt: str, st: FileState, conv: _Conv) -> None:
    """A file most of whose rows are rejected: ValueError naming the column and what it holds."""
    rows = st.records
    counted = {k: v for k, v in st.culprits.items() if k[0] not in ("truncated_file",)}
    if not rows or not counted:
        return
    (reason, column), n = max(counted.items(), key=lambda kv: kv[1])
    if fmt == "tardis-derivative-ticker" and column not in _COMMON:  # a bad cell costs its value, not the row
        return
    if n <= _BULK * rows:
        return
    sample = conv.samples.get((reason, column))
    shows = f", e.g. {', '.join(repr(s) for s in sample)}" if sample else ""
    extra = ""
    if reason == "unknown_venue":
        from liqcore.venues.registry import registered

        ids = [e.decode() for e in EXCHANGES] + [a for sp in registered() for a in sp.aliases[:1]
                                                 if a.encode() not in EXCHANGES]
        extra = f"; liqcore reads the exchanges {', '.join(dict.fromkeys(ids))}"
    what = f"column {column!r} looks wrong" if column else "its rows look wrong"
    raise ValueError(f"format: {path} ({fmt}): {what}: {reason} in {n:,} of {rows:,} rows{shows}{extra}")


def _loader(fmt: str):
    def load(path, st: FileState) -> np.ndarray:
        return _load(fmt, Path(path), st)
    return load


_SUFFIXES = (".csv",)

LIQUIDATIONS = Reader(
    "tardis-liquidations", "tardis.dev liquidations CSV: exchange,symbol,timestamp,local_timestamp,id,side,price,"
    "amount (side = the forced order's side: buy -> short liquidated)", "path", _loader("tardis-liquidations"),
    tier=TIER_MARKED, suffixes=_SUFFIXES, sniff_file=_file_sniffer(_sniff_trades_header, "liquidations"))
TRADES = Reader(
    "tardis-trades", "tardis.dev trades CSV: the same header, side = the taker", "path", _loader("tardis-trades"),
    tier=TIER_MARKED, suffixes=_SUFFIXES, sniff_file=_file_sniffer(_sniff_trades_header, "trades"))
DERIVATIVE_TICKER = Reader(
    "tardis-derivative-ticker", "tardis.dev derivative_ticker CSV: funding, open interest, mark price", "path",
    _loader("tardis-derivative-ticker"), _sniff_ticker, TIER_MARKED, suffixes=_SUFFIXES,
    sniff_file=_file_sniffer(_sniff_ticker))
QUOTES = Reader(
    "tardis-quotes", "tardis.dev quotes CSV: top of book as QUOTE rows (BUY = bid, SELL = ask)", "path",
    _loader("tardis-quotes"), _sniff_quotes, TIER_MARKED, suffixes=_SUFFIXES, sniff_file=_file_sniffer(_sniff_quotes))
BOOK_SNAPSHOT = Reader(
    "tardis-book-snapshot", "tardis.dev book_snapshot_5 / book_snapshot_25 CSV: the top level as QUOTE rows", "path",
    _loader("tardis-book-snapshot"), _sniff_book, TIER_MARKED, suffixes=_SUFFIXES, sniff_file=_file_sniffer(_sniff_book))

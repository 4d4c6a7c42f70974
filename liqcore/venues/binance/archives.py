"""Readers of Binance's files (the registry's ``archives`` part): the public data files of USD-M and COIN-M futures
(data.binance.vision), liquidation log lines (``binance-log``) and the headerless CSVs third-party recorders write
of ``!forceOrder@arr`` (``binance-csv``) and aggTrades (``binance-trades-csv``), whose rows are parsed by
:mod:`liqcore.venues.binance.parse`.

``binance-aggtrades``, ``binance-trades``, ``binance-bookticker``, ``binance-metrics`` and
``binance-funding``, daily or monthly zips (or their CSV); ``binance-cm-trades`` (COIN-M ``trades``: ``base_qty``
where USD-M has ``quote_qty``) and ``binance-liquidations`` (``liquidationSnapshot``).  Columns, sides and times:
docs/reference/archives.md, "Formats" and "Binance public data, column by column".

COIN-M (inverse) files are told by their symbol (``BTCUSD_PERP``, ``ETHUSD_241227``:
:mod:`liqcore.venues.binance.contracts`): their quantities are contracts, read as base units
``contracts x contract size / price`` (so a fill's notional is ``contracts x contract size`` USD).  A file whose
columns say one market and whose name the other is refused, never read with the wrong units.

May import: numpy, ``types``, this venue's ``parse`` and ``contracts`` and the venues' shared ``archives`` and
``reader``.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from liqcore.venues.archives import (Layout, Rows, build, finish, first_line, header_cells, kept_in_order,
                                     name_symbol, read_columns)
from liqcore.venues.reader import TIER_HEADERLESS, TIER_MARKED, FileState, Reader, line_decoder
from liqcore.types import Flag, Kind
from liqcore.venues.binance.contracts import contract_usd, is_coin_m

VENUE = 2  # Venue.BINANCE
#: tardis.dev leaves the ``id`` of Binance's liquidations empty (a file of them with distinct ids holds trades)
TARDIS_LIQUIDATION_IDS_EMPTY = True
#: Binance has sent at most one liquidation per symbol per second (the latest of each 1,000 ms) since
#: 2021-04-27: three of one symbol within a second cannot occur in its feed from then on
ONE_LIQUIDATION_PER_SECOND_SINCE_NS = 1_619_481_600_000_000_000
_TRADE, _FUNDING, _OI, _QUOTE = int(Kind.TRADE), int(Kind.FUNDING), int(Kind.OPEN_INTEREST), int(Kind.QUOTE)
_BUY, _SELL = 3, 4
_LIQ = int(Kind.LIQUIDATION)
_THROTTLED = int(Flag.THROTTLED)
_LONG, _SHORT = 1, 2  # the liquidated position: a forced SELL closes a LONG
_NAME = re.compile(r"^([A-Za-z0-9_]+)-(aggTrades|trades|bookTicker|metrics|fundingRate|liquidationSnapshot)-"
                   r"\d{4}-\d{2}(?:-\d{2})?\.", re.IGNORECASE)

AGG = Layout(("agg_trade_id", "price", "quantity", "first_trade_id", "last_trade_id", "transact_time",
              "is_buyer_maker"),
             {"agg_trade_id": "int", "price": "float", "quantity": "float", "transact_time": "int",
              "is_buyer_maker": "bool"},
             required=("price", "quantity", "transact_time", "is_buyer_maker"))
TRADES = Layout(("id", "price", "qty", "quote_qty", "time", "is_buyer_maker"),
                {"id": "int", "price": "float", "qty": "float", "time": "int", "is_buyer_maker": "bool"},
                required=("price", "qty", "quote_qty", "time", "is_buyer_maker"))
#: COIN-M trades: ``qty`` in contracts, ``base_qty`` in coins
CM_TRADES = Layout(("id", "price", "qty", "base_qty", "time", "is_buyer_maker"),
                   {"id": "int", "price": "float", "qty": "float", "time": "int", "is_buyer_maker": "bool"},
                   required=("price", "qty", "base_qty", "time", "is_buyer_maker"))
LIQUIDATIONS = Layout(("time", "side", "order_type", "time_in_force", "original_quantity", "price", "average_price",
                       "order_status", "last_fill_quantity", "accumulated_fill_quantity"),
                      {"time": "int", "side": "str", "original_quantity": "str", "price": "str",
                       "average_price": "float", "order_status": "str", "last_fill_quantity": "str",
                       "accumulated_fill_quantity": "float"},
                      required=("time", "side", "average_price", "accumulated_fill_quantity"))
BOOK = Layout(("update_id", "best_bid_price", "best_bid_qty", "best_ask_price", "best_ask_qty", "transaction_time",
               "event_time"),
              {"best_bid_price": "float", "best_bid_qty": "float", "best_ask_price": "float", "best_ask_qty": "float",
               "transaction_time": "int"})
METRICS = Layout(("create_time", "symbol", "sum_open_interest", "sum_open_interest_value"),
                 {"create_time": "time", "symbol": "str", "sum_open_interest": "float"},
                 required=("create_time", "sum_open_interest"))
FUNDING = Layout(("calc_time", "funding_interval_hours", "last_funding_rate"),
                 {"calc_time": "int", "last_funding_rate": "float"})


def _symbol(path: Path, st: FileState, fmt: str) -> str:
    sym = name_symbol(Path(path), _NAME)
    if sym is None:
        raise ValueError(f"{path}: cannot tell the symbol: a Binance public data file is named "
                         f"<SYMBOL>-<kind>-<date>.zip (e.g. BTCUSDT-aggTrades-2024-08-08.zip); rename it so")
    return sym


def _market(path: Path, sym: str, fmt: str, coin_m: bool | None) -> bool:
    """Whether ``sym`` is COIN-M; ``coin_m`` (what the file's columns say, None: they do not tell) must agree."""
    named = is_coin_m(sym)
    if coin_m is not None and coin_m != named:
        says = "COIN-M (base_qty)" if coin_m else "USD-M (quote_qty)"
        raise ValueError(f"{path}: cannot tell the contract type: its columns are {says}, its symbol {sym} is "
                         f"{'COIN-M' if named else 'USD-M'}; liqcore reads neither (the quantities would be in the "
                         "wrong unit): name the file <SYMBOL>-<kind>-<date> with its own symbol")
    return named


def to_base(qty: np.ndarray, price: np.ndarray, sym: str) -> np.ndarray:
    """COIN-M contracts -> base units at ``price`` (``contracts x contract size / price``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return qty * contract_usd(sym) / price


def _trades(path, st: FileState, fmt: str, layout: Layout, qty_col: str, ts_col: str, id_col: str,
            coin_m: bool | None = None) -> np.ndarray:
    """The trades of a ``trades`` or ``aggTrades`` file, each with its id (``id_col``: the trade's, or the
    aggregate's) beside it (``st.trade_ids``; 0 where a row has none): the duplicate rule then keeps two trades
    alike in time, price, size and side that are two trades (a taker order filling two 1-contract makers at one
    price), and drops the same trade seen twice."""
    path = Path(path)
    sym = _symbol(path, st, fmt)
    inverse = _market(path, sym, fmt, coin_m)
    cols = read_columns(path, st, layout, fmt)
    rows = Rows(st, cols, path)
    ts = rows.time(ts_col)
    price = rows.positive("price")
    qty = rows.positive(qty_col)
    if "is_buyer_maker" in cols.nonnum and cols.nonnum["is_buyer_maker"] is not None:
        rows.reject(cols.nonnum["is_buyer_maker"], "bad_side", "is_buyer_maker",
                    cols.samples.get("is_buyer_maker"))
    rows.reject(cols.missing["is_buyer_maker"], "missing_field", "is_buyer_maker", "")
    maker = cols.values["is_buyer_maker"]
    side = np.where(maker, _SELL, _BUY).astype(np.int8)  # the buyer made the book: the taker sold
    rows.ids(id_col)
    sid = rows.symbols(sym, VENUE, st.sink)
    rows.check_bulk(fmt)
    if inverse:
        qty = to_base(qty, price, sym)
    idx = kept_in_order(ts, rows.keep(), st)
    ids = cols.values.get(id_col)
    if ids is not None:  # (an empty cell: 0, no id; one that is no number was rejected, rows.ids)
        ids = np.asarray(ids[idx], np.int64)
        ids = np.where(ids > 0, ids, 0)
    st.trade_ids = ids
    del cols, maker
    rows.cols.values.clear()  # the columns are gathered below: nothing else holds them
    n = len(ts) if isinstance(idx, slice) else len(idx)
    ev = build(n, ts, price, qty, sid, side, _TRADE, VENUE, idx=idx)
    del ts, price, qty, sid, side, idx
    return finish(ev, st, rows, fmt)


def load_aggtrades(path, st: FileState) -> np.ndarray:
    return _trades(path, st, st.fmt, AGG, "quantity", "transact_time", "agg_trade_id")


def load_trades(path, st: FileState) -> np.ndarray:
    return _trades(path, st, st.fmt, TRADES, "qty", "time", "id", coin_m=False)


def load_cm_trades(path, st: FileState) -> np.ndarray:
    return _trades(path, st, st.fmt, CM_TRADES, "qty", "time", "id", coin_m=True)


def load_bookticker(path, st: FileState) -> np.ndarray:
    path = Path(path)
    sym = _symbol(path, st, st.fmt)
    inverse = _market(path, sym, st.fmt, None)
    cols = read_columns(path, st, BOOK, st.fmt)
    rows = Rows(st, cols, path)
    ts = rows.time("transaction_time")
    bid = rows.positive("best_bid_price")
    bid_q = rows.positive("best_bid_qty", allow_zero=True)
    ask = rows.positive("best_ask_price")
    ask_q = rows.positive("best_ask_qty", allow_zero=True)
    # a crossed book (bid >= ask): kept and counted (``crossed_book``) by the plausibility pass
    sid = rows.symbols(sym, VENUE, st.sink)
    if inverse:  # sizes in contracts: base units at each side's own price
        bid_q, ask_q = to_base(bid_q, bid, sym), to_base(ask_q, ask, sym)
    keep = rows.keep()
    n = int(keep.sum())
    ev = build(2 * n, np.repeat(ts[keep], 2), np.column_stack((bid[keep], ask[keep])).reshape(-1),
               np.column_stack((bid_q[keep], ask_q[keep])).reshape(-1), np.repeat(sid[keep], 2),
               np.tile(np.array([_BUY, _SELL], np.int8), n), _QUOTE, VENUE)
    return finish(ev, st, rows, st.fmt, group=2)


def load_metrics(path, st: FileState) -> np.ndarray:
    path = Path(path)
    cols = read_columns(path, st, METRICS, st.fmt)
    rows = Rows(st, cols, path)
    ts = rows.time("create_time")
    oi = rows.positive("sum_open_interest", allow_zero=True)
    named = name_symbol(path, _NAME)
    if "symbol" in cols.values:
        import pyarrow.compute as pc

        held = set(pc.unique(cols.values["symbol"]).to_pylist()) - {None}
    else:
        held = {_symbol(path, st, st.fmt)}
    coin_m = sorted(s for s in held | ({named} if named else set()) if is_coin_m(str(s).strip().upper()))
    if coin_m:  # COIN-M open interest is in contracts, at no price the file gives
        raise ValueError(f"{path}: COIN-M metrics ({coin_m[0]}): open interest in contracts, which liqcore does not "
                         "read (it would be taken for coins); keep the file as downloaded")
    if "symbol" in cols.values:
        sid = rows.symbols("symbol", VENUE, st.sink)
    else:
        sid = rows.symbols(_symbol(path, st, st.fmt), VENUE, st.sink)
    keep = rows.keep()
    ev = build(int(keep.sum()), ts[keep], np.nan, oi[keep], sid[keep], 0, _OI, VENUE)
    return finish(ev, st, rows, st.fmt)


def load_funding(path, st: FileState) -> np.ndarray:
    path = Path(path)
    sym = _symbol(path, st, st.fmt)
    cols = read_columns(path, st, FUNDING, st.fmt)
    rows = Rows(st, cols, path)
    ts = rows.time("calc_time")
    rate = rows.finite("last_funding_rate")
    rows.reject(np.abs(np.nan_to_num(rate)) > 1.0, "implausible_price", "last_funding_rate")  # > 100 % a period
    sid = rows.symbols(sym, VENUE, st.sink)
    keep = rows.keep()
    ev = build(int(keep.sum()), ts[keep], rate[keep], 0.0, sid[keep], 0, _FUNDING, VENUE)
    return finish(ev, st, rows, st.fmt)


def load_liquidations(path, st: FileState) -> np.ndarray:
    """``liquidationSnapshot`` (one forced order per row, each row written twice by the archive): exact duplicate
    rows collapsed (counted ``duplicate``; two rows differing in any cell stay two), side from the forced order
    (SELL: a LONG liquidated), price = ``average_price``, quantity = ``accumulated_fill_quantity`` (COIN-M: in
    contracts, read as base units at ``average_price``); a row with nothing filled is dropped (``no_fill``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    path = Path(path)
    fmt = st.fmt
    sym = _symbol(path, st, fmt)
    inverse = is_coin_m(sym)
    cols = read_columns(path, st, LIQUIDATIONS, fmt)
    rows = Rows(st, cols, path)
    ts = rows.time("time")
    side = rows.side("side", {"sell": _LONG, "buy": _SHORT})
    price = rows.positive("average_price", allow_zero=True)
    filled = rows.positive("accumulated_fill_quantity", allow_zero=True)
    rows.reject((filled == 0) | (price == 0), "no_fill", "accumulated_fill_quantity")
    # exact duplicates: every cell of a row equal to an earlier row's
    texts = [c for c in ("side", "original_quantity", "price", "order_status", "last_fill_quantity")
             if c in cols.values and cols.values[c] is not None]
    table = pa.table({"t": ts, "p": price, "q": filled,
                      **{c: pc.utf8_trim_whitespace(cols.values[c]) for c in texts}})
    dup = np.zeros(cols.n, dtype=bool)
    if cols.n > 1:
        keys = table.append_column("i", pa.array(np.arange(cols.n)))
        first = keys.group_by([c for c in keys.column_names if c != "i"], use_threads=False).aggregate(
            [("i", "min")]).column("i_min").to_numpy()
        dup[:] = True
        dup[first] = False
    sid = rows.symbols(sym, VENUE, st.sink)
    rows.check_bulk(fmt)
    keep = rows.keep()
    dup &= keep  # counted apart from the bad rows: the archive's pairs are not bad rows (nor the bulk check's)
    if dup.any():
        st.sink.count("duplicate", int(np.count_nonzero(dup)))
        keep &= ~dup
    if inverse:
        filled = to_base(filled, price, sym)
    idx = kept_in_order(ts, keep, st)
    n = len(ts) if isinstance(idx, slice) else len(idx)
    ev = build(n, ts, price, filled, sid, side, _LIQ, VENUE, idx=idx)
    ev["flags"] = _THROTTLED  # the stream's snapshot rule: at most one liquidation per symbol per second
    return finish(ev, st, rows, fmt)


# -------------------------------------------------------------------------------------- telling

_NUM = re.compile(rb"^-?[0-9]+(\.[0-9]+)?(e-?[0-9]+)?$", re.IGNORECASE)
_WORD = re.compile(rb"^[A-Za-z_]+$")


def _shape(cells: list, kinds: str) -> bool:
    """A headerless row's cells against ``kinds`` (i: integer, f: number, b: true/false, w: a word: letters and
    underscores)."""
    if len(cells) < len(kinds):
        return False
    for c, k in zip(cells, kinds):
        c = c.strip()
        if k == "i" and not c.isdigit():
            return False
        if k == "f" and not _NUM.match(c):
            return False
        if k == "b" and c.lower() not in (b"true", b"false"):
            return False
        if k == "w" and not _WORD.match(c):
            return False
    return True


def _sniffer(kind: str, layout: Layout, shape: str | None, coin_m: bool | None = None):
    """``coin_m`` (True / False): a headerless file is this format only for a COIN-M / USD-M symbol in its name."""
    def sniff(path, head) -> bool:
        path = Path(path)
        line = first_line(path, head)
        if not line:
            return False
        cells = header_cells(line)
        if cells:
            return cells[: len(layout.names)] == list(layout.names)[: len(cells)] and layout.header_fits(cells)
        m = _NAME.match(path.name)
        return (shape is not None and bool(m) and m.group(2).lower() == kind.lower()
                and (coin_m is None or is_coin_m(m.group(1).upper()) == coin_m)
                and _shape(line.split(b","), shape))

    return sniff


_SUFFIXES = (".zip", ".csv")
AGGTRADES_READER = Reader(
    "binance-aggtrades", "Binance public data USD-M aggTrades (.zip/.csv; agg_trade_id,price,quantity,first_trade_id,"
    "last_trade_id,transact_time,is_buyer_maker; header optional)", "path", load_aggtrades,
    suffixes=_SUFFIXES, sniff_file=_sniffer("aggTrades", AGG, "iffiiib"))
TRADES_READER = Reader(
    "binance-trades", "Binance public data USD-M trades (.zip/.csv; id,price,qty,quote_qty,time,is_buyer_maker)",
    "path", load_trades, suffixes=_SUFFIXES, sniff_file=_sniffer("trades", TRADES, "ifffib", coin_m=False))
CM_TRADES_READER = Reader(
    "binance-cm-trades", "Binance public data COIN-M trades (.zip/.csv; id,price,qty,base_qty,time,is_buyer_maker; "
    "qty in contracts)", "path", load_cm_trades, suffixes=_SUFFIXES,
    sniff_file=_sniffer("trades", CM_TRADES, "ifffib", coin_m=True))
LIQUIDATIONS_READER = Reader(
    "binance-liquidations", "Binance public data liquidationSnapshot (.zip/.csv; time,side,order_type,time_in_force,"
    "original_quantity,price,average_price,order_status,last_fill_quantity,accumulated_fill_quantity) -> "
    "LIQUIDATION rows, duplicates collapsed", "path", load_liquidations, suffixes=_SUFFIXES,
    sniff_file=_sniffer("liquidationSnapshot", LIQUIDATIONS, "iwwwfffwff"))
BOOKTICKER_READER = Reader(
    "binance-bookticker", "Binance public data USD-M bookTicker (.zip/.csv; update_id,best_bid_price,best_bid_qty,"
    "best_ask_price,best_ask_qty,transaction_time,event_time) -> QUOTE rows", "path", load_bookticker,
    suffixes=_SUFFIXES, sniff_file=_sniffer("bookTicker", BOOK, "iffffii"))
METRICS_READER = Reader(
    "binance-metrics", "Binance public data USD-M metrics (.zip/.csv; create_time,symbol,sum_open_interest,...) "
    "-> OPEN_INTEREST", "path", load_metrics, suffixes=_SUFFIXES, sniff_file=_sniffer("metrics", METRICS, None))
FUNDING_READER = Reader(
    "binance-funding", "Binance public data USD-M fundingRate (.zip/.csv; calc_time,funding_interval_hours,"
    "last_funding_rate) -> FUNDING", "path", load_funding, suffixes=_SUFFIXES,
    sniff_file=_sniffer("fundingRate", FUNDING, "iif"))
#: the data.binance.vision readers
VISION_READERS = (AGGTRADES_READER, TRADES_READER, CM_TRADES_READER, BOOKTICKER_READER, METRICS_READER,
                  FUNDING_READER, LIQUIDATIONS_READER)


# ---- liquidation log lines and the headerless CSVs of third-party recorders
def _load_binance_csv(data: bytes, st: FileState) -> None:
    from liqcore.venues.binance.parse import parse_csv_liquidations

    parse_csv_liquidations(data, st)


def _load_binance_trades_csv(data: bytes, st: FileState) -> None:
    from liqcore.venues.binance.parse import parse_csv_agg_trades

    parse_csv_agg_trades(data, st)


def _sniff_log(s: bytes) -> bool:
    return b" Liquidation: {" in s


def _sniff_csv(s: bytes) -> bool:
    parts = s.split(b",")
    return len(parts) >= 12 and parts[1].strip() in (b"BUY", b"SELL")


def _sniff_trades_csv(s: bytes) -> bool:
    parts = s.split(b",")
    return len(parts) >= 7 and parts[0].strip().isdigit() and parts[2].strip().isdigit()


LOG = Reader("binance-log", 'Binance liquidation log lines 2026-03-10 13:10:19 Liquidation: {<forceOrder "o" '
             "object>}; other text lines are not_a_record", "lines", line_decoder, _sniff_log, TIER_MARKED,
             aliases=("seed001",), prose=True)
CSV = Reader("binance-csv", "headerless s,S,o,f,q,p,ap,X,l,z,T,usd_size[,tier] (USDT stripped from s)", "bytes",
             _load_binance_csv, _sniff_csv, TIER_HEADERLESS,
             columns=("s", "S", "o", "f", "q", "p", "ap", "X", "l", "z", "T", "usd_size"))
TRADES_CSV = Reader("binance-trades-csv", "headerless E,symbol,a,p,q,T,m[,usd_size,tier] aggTrades", "bytes",
                    _load_binance_trades_csv, _sniff_trades_csv, TIER_HEADERLESS,
                    columns=("E", "symbol", "a", "p", "q", "T", "m", "usd_size"))

#: every reader of this part (:mod:`liqcore.io.registry` registers them)
READERS = (LOG, CSV, TRADES_CSV, *VISION_READERS)
#: where liqcore.io.registry lists them: the log lines after the recorder's, the headerless CSVs after plain JSON
#: lines (VISION_READERS: with the public archives)
READER_SLOTS = {"recorded": (LOG,), "jsonl": (CSV, TRADES_CSV)}

#: tardis.dev's first day per (exchange id, data type or ``*``), from its "Historical data details": Binance USDT
#: futures "available since 2019-11-17", COIN futures 2020-06-16 (``liqcore download tardis``)
TARDIS_SPANS = {("binance-futures", "*"): (2019, 11, 17), ("binance-delivery", "*"): (2020, 6, 16)}

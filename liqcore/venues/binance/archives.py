"""Readers of Binance's files (the registry's ``archives`` part): the public data files of USD-M futures
(data.binance.vision), liquidation log lines (``binance-log``) and the headerless CSVs third-party recorders write
of ``!forceOrder@arr`` (``binance-csv``) and aggTrades (``binance-trades-csv``), whose rows are parsed by
:mod:`liqcore.venues.binance.parse`.

``binance-aggtrades``, ``binance-trades``, ``binance-bookticker``, ``binance-metrics`` and
``binance-funding``, daily or monthly zips (or their CSV).  Columns, sides and times: docs/reference/archives.md,
"Formats" and "Binance public data, column by column".

May import: numpy, ``types``, this venue's ``parse`` and the venues' shared ``archives`` and ``reader``.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from liqcore.venues.archives import (Layout, Rows, build, finish, first_line, header_cells, kept_in_order,
                                     name_symbol, read_columns)
from liqcore.venues.reader import TIER_HEADERLESS, TIER_MARKED, FileState, Reader, line_decoder
from liqcore.types import Kind

VENUE = 2  # Venue.BINANCE
_TRADE, _FUNDING, _OI, _QUOTE = int(Kind.TRADE), int(Kind.FUNDING), int(Kind.OPEN_INTEREST), int(Kind.QUOTE)
_BUY, _SELL = 3, 4
_NAME = re.compile(r"^([A-Za-z0-9_]+)-(aggTrades|trades|bookTicker|metrics|fundingRate)-\d{4}-\d{2}(?:-\d{2})?\.",
                   re.IGNORECASE)

AGG = Layout(("agg_trade_id", "price", "quantity", "first_trade_id", "last_trade_id", "transact_time",
              "is_buyer_maker"),
             {"price": "float", "quantity": "float", "transact_time": "int", "is_buyer_maker": "bool"})
TRADES = Layout(("id", "price", "qty", "quote_qty", "time", "is_buyer_maker"),
                {"price": "float", "qty": "float", "time": "int", "is_buyer_maker": "bool"})
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


def _trades(path, st: FileState, fmt: str, layout: Layout, qty_col: str, ts_col: str) -> np.ndarray:
    path = Path(path)
    sym = _symbol(path, st, fmt)
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
    sid = rows.symbols(sym, VENUE, st.sink)
    rows.check_bulk(fmt)
    idx = kept_in_order(ts, rows.keep(), st)
    del cols, maker
    rows.cols.values.clear()  # the columns are gathered below: nothing else holds them
    n = len(ts) if isinstance(idx, slice) else len(idx)
    ev = build(n, ts, price, qty, sid, side, _TRADE, VENUE, idx=idx)
    del ts, price, qty, sid, side, idx
    return finish(ev, st, rows, fmt)


def load_aggtrades(path, st: FileState) -> np.ndarray:
    return _trades(path, st, st.fmt, AGG, "quantity", "transact_time")


def load_trades(path, st: FileState) -> np.ndarray:
    return _trades(path, st, st.fmt, TRADES, "qty", "time")


def load_bookticker(path, st: FileState) -> np.ndarray:
    path = Path(path)
    sym = _symbol(path, st, st.fmt)
    cols = read_columns(path, st, BOOK, st.fmt)
    rows = Rows(st, cols, path)
    ts = rows.time("transaction_time")
    bid = rows.positive("best_bid_price")
    bid_q = rows.positive("best_bid_qty", allow_zero=True)
    ask = rows.positive("best_ask_price")
    ask_q = rows.positive("best_ask_qty", allow_zero=True)
    # a crossed book (bid >= ask): kept and counted (``crossed_book``) by the plausibility pass
    sid = rows.symbols(sym, VENUE, st.sink)
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


# -------------------------------------------------------------------------------------- telling

_NUM = re.compile(rb"^-?[0-9]+(\.[0-9]+)?(e-?[0-9]+)?$", re.IGNORECASE)


def _shape(cells: list, kinds: str) -> bool:
    """A headerless row's cells against ``kinds`` (i: integer, f: number, b: true/false)."""
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
    return True


def _sniffer(kind: str, layout: Layout, shape: str | None):
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
                and _shape(line.split(b","), shape))

    return sniff


_SUFFIXES = (".zip", ".csv")
AGGTRADES_READER = Reader(
    "binance-aggtrades", "Binance public data USD-M aggTrades (.zip/.csv; agg_trade_id,price,quantity,first_trade_id,"
    "last_trade_id,transact_time,is_buyer_maker; header optional)", "path", load_aggtrades,
    suffixes=_SUFFIXES, sniff_file=_sniffer("aggTrades", AGG, "iffiiib"))
TRADES_READER = Reader(
    "binance-trades", "Binance public data USD-M trades (.zip/.csv; id,price,qty,quote_qty,time,is_buyer_maker)",
    "path", load_trades, suffixes=_SUFFIXES, sniff_file=_sniffer("trades", TRADES, "ifffib"))
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
VISION_READERS = (AGGTRADES_READER, TRADES_READER, BOOKTICKER_READER, METRICS_READER, FUNDING_READER)


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

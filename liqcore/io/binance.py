"""Readers of Binance's file shapes: liquidation log lines (``binance-log``) and the headerless CSVs
third-party recorders write of ``!forceOrder@arr`` (``binance-csv``) and aggTrades
(``binance-trades-csv``).  The rows are parsed by :mod:`liqcore.venues.binance.parse`."""
from __future__ import annotations

from liqcore.io.base import TIER_HEADERLESS, TIER_MARKED, Reader, FileState
from liqcore.io.jsonlines import line_decoder


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

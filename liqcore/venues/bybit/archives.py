"""Readers of Bybit's files (the registry's ``archives`` part): the liquidation archive lines (``bybit-archive``,
:data:`ARCHIVE`) and the public trade archive (public.bybit.com/trading: ``<SYMBOL><YYYY-MM-DD>.csv.gz``, e.g.
``BTCUSDT2024-01-01.csv.gz``), format ``bybit-trades`` (:data:`TRADES`).

Header ``timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,homeNotional,
foreignNotional`` (recent files add ``RPI``).  One TRADE per row: ``timestamp`` in seconds with a
fraction (kept to the microsecond; a cell in ms / µs / ns is told by its magnitude), the symbol from
its column, ``side`` = the taker (``Buy`` -> Side.BUY), ``size`` in base units for linear contracts
(``...USDT``, ``...USDC``, ``...PERP``); for inverse contracts (``BTCUSD``, ``BTCUSDH24``: one
contract = 1 USD) the base quantity is ``size / price``.  The archive lists a day newest first: rows
are put in time order (counted in the file's ``reordered``).  See :mod:`liqcore.venues.archives` for
what every archive reader shares.

May import: numpy, ``types``, this venue's ``contracts`` and the venues' shared ``archives`` and ``reader``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from liqcore.venues.bybit.contracts import is_inverse
from liqcore.venues.archives import Layout, Rows, build, finish, first_line, header_cells, read_columns
from liqcore.venues.trade_ids import text_ids
from liqcore.venues.reader import TIER_ENVELOPE, FileState, Reader, is_json, line_decoder

__all__ = ["ARCHIVE", "TRADES", "READERS"]

VENUE = 1  # Venue.BYBIT
_TRADE = 2
_SIDES = {"buy": 3, "sell": 4}
LAYOUT = Layout(("timestamp", "symbol", "side", "size", "price", "tickdirection", "trdmatchid", "grossvalue",
                 "homenotional", "foreignnotional"),
                {"timestamp": "float", "symbol": "str", "side": "str", "size": "float", "price": "float",
                 "trdmatchid": "str"}, required=("timestamp", "symbol", "side", "size", "price"))


def load(path, st: FileState) -> np.ndarray:
    path = Path(path)
    cols = read_columns(path, st, LAYOUT, st.fmt)
    rows = Rows(st, cols, path)
    ts = rows.time("timestamp")
    side = rows.side("side", _SIDES)
    price = rows.positive("price")
    size = rows.positive("size")
    sid = rows.symbols("symbol", VENUE, st.sink)
    keep = rows.keep()
    reg = st.sink.registry
    qty = size.copy()
    for s in np.unique(sid[keep]):
        if is_inverse(reg.symbol(int(s))):
            m = sid == s
            qty[m] = size[m] / price[m]
    tid = cols.values.get("trdmatchid")
    if tid is not None:  # (each trade's id: two trades alike but for it are two)
        st.trade_ids = text_ids(tid)[keep]
    ev = build(int(keep.sum()), ts[keep], price[keep], qty[keep], sid[keep], side[keep], _TRADE, VENUE)
    return finish(ev, st, rows, st.fmt)


def _sniff(path, head) -> bool:
    cells = header_cells(first_line(Path(path), head))
    return cells[:5] == ["timestamp", "symbol", "side", "size", "price"]


TRADES = Reader("bybit-trades", "Bybit public trade archive (BTCUSDT2024-01-01.csv.gz; timestamp,symbol,side,size,"
                "price,tickDirection,trdMatchID,grossValue,homeNotional,foreignNotional[,RPI])", "path", load,
                suffixes=(".csv",), sniff_file=_sniff)


# ---- the liquidation archive lines
def _sniff_archive(s: bytes) -> bool:
    return is_json(s) and b'"exchange"' in s and b'"result"' in s


ARCHIVE = Reader("bybit-archive", 'Bybit liquidation archive lines: {"ts": <recv ms>, "exchange": "bybit", '
                 '"stream": "liquidation", ..., "result": {"ts": ..., "data": [<allLiquidation items>]}}',
                 "lines", line_decoder, _sniff_archive, TIER_ENVELOPE, aliases=("seed004",), mix=True)

#: every reader of this part (:mod:`liqcore.io.registry` registers them)
READERS = (ARCHIVE, TRADES)
#: where liqcore.io.registry lists them: the archive lines after the recorder's (TRADES: with the public archives)
READER_SLOTS = {"recorded": (ARCHIVE,)}

#: tardis.dev's first day per (exchange id, data type or ``*``; ``linear``: the first day of a USDT or USDC symbol),
#: from its "Historical data details": Bybit Derivatives inverse contracts since 2019-11-07, linear since
#: 2020-05-28, "Liquidations datasets are available since 2020-12-18" (``liqcore download tardis``)
TARDIS_SPANS = {("bybit", "*"): (2019, 11, 7), ("bybit", "linear"): (2020, 5, 28),
                ("bybit", "liquidations"): (2020, 12, 18)}

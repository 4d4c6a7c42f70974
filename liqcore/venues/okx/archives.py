"""Reader of OKX's files (the registry's ``archives`` part): the trade archive (OKX historical data: ``<instId>-trades-<YYYY-MM-DD>.zip`` holding one
CSV, e.g. ``BTC-USDT-SWAP-trades-2024-01-01.zip``; the CSV itself, ``.gz`` or ``.zst`` too), format
``okx-trades``.

A bilingual header ``trade_id/交易id,side/交易方向,size/数量,price/价格,created_time/成交时间`` (the
English part is what counts; an English-only header is read too), or the header of OKX's files since,
``instrument_name,trade_id,side,price,size,created_time[,source]``: the columns are read by their names.
Each trade keeps its ``trade_id`` (two trades alike in time, price, size and side are two trades).  One TRADE per row: the
instrument from the file name (the rows do not name it), ``created_time`` in milliseconds (a cell in
s / µs / ns is told by its magnitude), ``side`` = the taker (``buy`` -> Side.BUY).  ``size`` is in
CONTRACTS for swaps and futures: the base quantity is ``size x ctVal`` (the instrument table of
:mod:`liqcore.venues.instruments`, extended with ``--instruments``); an instrument without a ctVal is
``unknown_instrument`` (never a guess), so such a file is an error naming it.  Spot instruments
(``BTC-USDT``) are sized in base units.  See :mod:`liqcore.venues.archives` for what every archive
reader shares.

May import: numpy, ``types``, ``venues.instruments`` and the venues' shared ``archives`` and ``reader``.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from liqcore.venues.archives import Layout, Rows, build, finish, first_line, header_cells, name_symbol, read_columns
from liqcore.venues.reader import FileState, Reader

__all__ = ["TRADES", "READERS"]

VENUE = 3  # Venue.OKX
#: tardis.dev leaves the ``id`` of OKX's liquidations empty (a file of them with distinct ids holds trades)
TARDIS_LIQUIDATION_IDS_EMPTY = True
_TRADE = 2
_SIDES = {"buy": 3, "sell": 4}
_NAME = re.compile(r"^([A-Za-z0-9]+(?:-[A-Za-z0-9]+)+)-(?:agg)?trades-\d{4}-\d{2}(?:-\d{2})?\.", re.IGNORECASE)
LAYOUT = Layout(("trade_id", "side", "size", "price", "created_time"),
                {"trade_id": "int", "side": "str", "size": "float", "price": "float", "created_time": "int"},
                required=("side", "size", "price", "created_time"))
#: the columns that tell a header of the trade archive, in either of OKX's layouts: the older one
#: (``trade_id,side,size,price,created_time``, bilingual or English) and the one of its files since
#: (``instrument_name,trade_id,side,price,size,created_time[,source]``)
_HEADER = {"trade_id", "side", "size", "price", "created_time"}


def load(path, st: FileState) -> np.ndarray:
    path = Path(path)
    inst = name_symbol(path, _NAME)
    if inst is None:
        raise ValueError(f"{path}: cannot tell the instrument: an OKX trade archive is named "
                         "<instId>-trades-<date>.zip (e.g. BTC-USDT-SWAP-trades-2024-01-01.zip); rename it so")
    cols = read_columns(path, st, LAYOUT, st.fmt)
    rows = Rows(st, cols, path)
    ts = rows.time("created_time")
    side = rows.side("side", _SIDES)
    price = rows.positive("price")
    size = rows.positive("size")
    parts = inst.split("-")
    derivative = len(parts) >= 3  # BTC-USDT-SWAP, BTC-USDT-240329: sized in contracts
    ct_val = st.sink.instruments.get(inst) if derivative else 1.0
    if ct_val is None:
        rows.reject(np.ones(cols.n, dtype=bool), "unknown_instrument", "size",
                    f"{inst} has no contract value; give it with --instruments")
        ct_val = 1.0
    rows.ids("trade_id")
    sid = rows.symbols(inst, VENUE, st.sink)
    keep = rows.keep()
    ids = cols.values.get("trade_id")
    if ids is not None:  # (each trade's id: two trades alike but for it are two; 0 where a cell is empty;
        # one that is no number was rejected, rows.ids)
        ids = np.asarray(ids[keep], np.int64)
        st.trade_ids = np.where(ids > 0, ids, 0)
    ev = build(int(keep.sum()), ts[keep], price[keep], size[keep] * float(ct_val), sid[keep], side[keep], _TRADE,
               VENUE)
    return finish(ev, st, rows, st.fmt)


def _sniff(path, head) -> bool:
    cells = header_cells(first_line(Path(path), head))
    return _HEADER <= set(cells) and set(cells) <= _HEADER | {"instrument_name", "source"}


TRADES = Reader("okx-trades", "OKX trade archive (BTC-USDT-SWAP-trades-2024-01-01.zip; trade_id/交易id,side/交易方向,"
                "size/数量,price/价格,created_time/成交时间, or instrument_name,trade_id,side,price,size,created_time"
                "[,source]; size in contracts x ctVal)", "path", load,
                suffixes=(".zip", ".csv"), sniff_file=_sniff)

#: every reader of this part (:mod:`liqcore.io.registry` registers them)
READERS = (TRADES,)

#: tardis.dev's first day per (exchange id, data type or ``*``), from its "Historical data details": OKX swaps and
#: futures since 2019-03-30, liquidations since 2020-12-18 (``liqcore download tardis``)
TARDIS_SPANS = {("okex-swap", "*"): (2019, 3, 30), ("okex-swap", "liquidations"): (2020, 12, 18),
                ("okex-futures", "*"): (2019, 3, 30), ("okex-futures", "liquidations"): (2020, 12, 18)}

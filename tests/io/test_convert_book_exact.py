"""``convert`` of tardis ``quotes`` and ``trades`` files loads exactly the events a load of the same files gives,
under the dataset's write rules and nothing else: every row sorted by (event time, receive time, quotes before
trades), a trade's exact duplicates once (the first), every quote row kept (a top of book that comes back within
a stamp, or is sent twice, is kept as a load keeps it), a quote's empty side with the price 0.  Generated books with empty
sides, many updates of one event time, repeated rows, event times out of order in the file (tardis orders a file
by receive time), over row groups of a few rows (pairs cut at a group's edge) and files read ahead."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import liqcore.dataset.readahead as RA
import liqcore.dataset.write as DS
import liqcore.dataset.read as IO
from liqcore.dataset.load import load_events
from liqcore.types import Kind

T0_US = 1_722_470_400_000_000  # 2024-08-01T00:00Z
QUOTES = "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount"
TRADES = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"

_SIDE = st.one_of(st.tuples(st.integers(0, 3), st.integers(0, 3)),  # (price step, size step)
                  st.just(None),  # an empty side: empty cells
                  st.just("zero"))  # an empty side: a size of 0
_QUOTE = st.tuples(st.integers(0, 6), st.integers(0, 2), _SIDE, _SIDE, st.sampled_from([1, 1, 1, 2, 3]))
_TRADE = st.tuples(st.integers(0, 6), st.integers(0, 2), st.integers(0, 3), st.sampled_from(["buy", "sell"]),
                   st.sampled_from([1, 1, 2]))


def _gz(path: Path, header: str, rows: list[str]) -> Path:
    with gzip.open(path, "wt") as fh:
        fh.write(header + "\n" + "".join(r + "\n" for r in rows))
    return path


def _side(s, base):
    if s is None:
        return "", ""
    if s == "zero":
        return f"{base:.1f}", "0"
    return f"{base + s[0] / 10:.1f}", f"{1 + s[1] / 2}"


def _reference(ev: np.ndarray, tids) -> np.ndarray:
    """The dataset's rules on a load's events: an empty quote side's price 0; sorted by (event time, receive
    time, quotes first), stable; exact duplicates (the whole row and its trade id) of a trade once, the first;
    every quote row (one source: its rows are states of the book, a repeat is kept)."""
    ev = ev.copy()
    empty = (ev["kind"] == int(Kind.QUOTE)) & (ev["qty"] == 0)
    ev["price"][empty] = 0.0
    order = np.lexsort((ev["kind"] != int(Kind.QUOTE), ev["ts_recv"], ev["ts_event"]))
    ev = ev[order]
    tid = np.zeros(len(ev), np.int64) if tids is None else np.asarray(tids)[order]
    key = np.zeros(len(ev), np.dtype([("e", ev.dtype), ("t", np.int64)]))
    key["e"], key["t"] = ev, tid
    _u, first = np.unique(key.view(np.dtype((np.void, key.dtype.itemsize))), return_index=True)
    keep = np.zeros(len(ev), bool)
    keep[first] = True
    keep |= ev["kind"] == int(Kind.QUOTE)
    return ev[keep]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(quotes=st.lists(_QUOTE, min_size=1, max_size=60), trades=st.lists(_TRADE, max_size=30),
       groups=st.sampled_from([1, 2, 3, 5, 64]), data=st.data())
def test_a_converted_book_loads_the_events_of_its_files(tmp_path_factory, quotes, trades, groups, data):
    d = tmp_path_factory.mktemp("book")
    q_rows, t_rows = [], []
    for dt, lag, bid, ask, copies in quotes:
        ts = T0_US + 3_600_000_000 + dt * 1000
        if not isinstance(bid, tuple) and not isinstance(ask, tuple):  # (both sides empty: a row a load rejects)
            ask = (0, 0)
        bp, bq = _side(bid, 64_000.0)
        ap, aq = _side(ask, 64_000.5)
        q_rows += [f"binance-futures,BTCUSDT,{ts},{ts + 1000 * (1 + lag)},{aq},{ap},{bp},{bq}"] * copies
    for i, (dt, lag, p, side, copies) in enumerate(trades):
        ts = T0_US + 3_600_000_000 + dt * 1000
        t_rows += [f"binance-futures,BTCUSDT,{ts},{ts + 1000 * (1 + lag)},{1000 + i},{side},"
                   f"{64_000 + p / 10:.1f},0.5"] * copies
    # a tardis file is in receive-time order: event times out of order within it
    q_rows.sort(key=lambda r: int(r.split(",")[3]))
    t_rows.sort(key=lambda r: int(r.split(",")[3]))
    files = [_gz(d / "binance-futures_quotes_2024-08-01_BTCUSDT.csv.gz", QUOTES, q_rows)]
    if t_rows:
        files.append(_gz(d / "binance-futures_trades_2024-08-01_BTCUSDT.csv.gz", TRADES, t_rows))
    loaded = load_events(files, warn=lambda _m: None)
    want = _reference(loaded.events, loaded.trade_ids)
    ds = d / "ds"
    import pytest

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(IO, "ROW_GROUP_ROWS", groups)  # row groups of a few rows: pairs at a group's edge
        mp.setattr(RA, "_SMALL_FILE_BYTES", data.draw(st.sampled_from([0, 1 << 20])))  # read ahead or not
        DS.convert_to_dataset(files, ds, warn=lambda _m: None)
    for recheck in (False, True):  # the checked read and the checking read
        got = IO.load_dataset(ds, check=False, recheck=recheck)
        assert got.events.tobytes() == want.tobytes(), recheck

"""The tardis reader's shortcuts for the usual batch (one exchange and one symbol in every row, no empty or bad
cell: nothing to reject, no mask or gather of its rows) load exactly what the general checks load: the same
events, byte for byte, the same trade ids and the same rejects counted, on generated quotes and trades files
with bad cells, empty sides, several exchanges and symbols (OKX contracts, Bybit inverse contracts), and on
the bundled real Binance recordings written as tardis files."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import liqcore.io.tardis as T
from liqcore.dataset.load import load_events

T0_US = 1_722_470_400_000_000  # 2024-08-01T00:00Z
QUOTES = "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount"
TRADES = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"
#: (exchange, symbol): Binance; OKX (sizes in contracts x the contract value); Bybit inverse (USD / price); an
#: exchange liqcore does not read, a symbol that is none, empty cells
VENUES = [("binance-futures", "BTCUSDT"), ("okex-swap", "BTC-USDT-SWAP"), ("bybit", "BTCUSD"),
          ("binance-futures", "ETHUSDT"), ("ftx", "BTC-PERP"), ("binance-futures", "BTC$USDT"),
          ("binance-futures", ""), ("", "BTCUSDT")]
_GOOD_PRICE = st.integers(0, 50).map(lambda i: f"{64000 + i / 10:.1f}")
_GOOD_SIZE = st.integers(0, 9).map(lambda i: f"{i / 4}")
#: bad cells (empty, zero, negative, not finite, text) and odd times (0: a good one; 1 an empty receive time, 2
#: a receive time of no unit, 3 one in ns, 4 a negative event time); each file draws the few it holds, so a
#: file with one kind of fault and no other (the edges of the shortcuts' tests) is drawn too
_BAD_PRICES = ["", "0", "-1", "inf", "nan", "abc", "1e400"]
_BAD_SIZES = ["", "0", "-2", "inf", "x"]


def _time(i: int, odd: int) -> tuple[str, str]:
    us = T0_US + i * 1000
    recv = {1: "", 2: "123", 3: str(us + 5) + "000"}.get(odd, str(us + 5))
    return str(us if odd != 4 else -us), recv


def _cell(draw, good, bad: list) -> str:
    return draw(st.sampled_from(bad)) if bad and draw(st.integers(0, 3)) == 0 else draw(good)


@st.composite
def _rows(draw, trades: bool):
    # each file's faults: none (the usual file: the shortcuts' case), or a few kinds
    odds = [0] + draw(st.lists(st.integers(1, 4), max_size=2))
    bad_p = draw(st.lists(st.sampled_from(_BAD_PRICES), max_size=2))
    bad_q = draw(st.lists(st.sampled_from(_BAD_SIZES), max_size=2))
    bad_side = draw(st.lists(st.sampled_from(["", "hold"]), max_size=1))
    # one exchange and symbol (mostly the usual one), or several in one file
    venues = [draw(st.sampled_from(VENUES[:1] * 4 + VENUES))] + draw(st.lists(st.sampled_from(VENUES), max_size=2))
    n = draw(st.integers(1, 40))
    rows = []
    for i in range(n):
        ex, sym = draw(st.sampled_from(venues))
        ts, recv = _time(i, draw(st.sampled_from(odds)))
        if trades:
            side = _cell(draw, st.sampled_from(["buy", "sell"]), bad_side)
            rows.append(f"{ex},{sym},{ts},{recv},{9000 + i},{side},{_cell(draw, _GOOD_PRICE, bad_p)},"
                        f"{_cell(draw, _GOOD_SIZE.filter(lambda c: c != '0.0'), bad_q)}")
        else:
            cells = [_cell(draw, _GOOD_SIZE, bad_q), _cell(draw, _GOOD_PRICE, bad_p), _cell(draw, _GOOD_PRICE, bad_p),
                     _cell(draw, _GOOD_SIZE, bad_q)]
            rows.append(f"{ex},{sym},{ts},{recv}," + ",".join(cells))
    return rows


def loaded(path: Path):
    """What a load of ``path`` gives, to compare: (events' bytes, trade ids, rejects, duplicates, events), or
    ("refused", why)."""
    try:
        res = load_events(path, warn=lambda _l: None)
    except ValueError as exc:
        return ("refused", str(exc))
    tids = None if res.trade_ids is None else res.trade_ids.tolist()
    return (res.events.tobytes(), tids, dict(res.rejects), res.duplicates, len(res.events))


def _load_both(path: Path, monkeypatch):
    """The load with the shortcuts, and with the general checks only."""
    out = []
    for on in (True, False):
        monkeypatch.setattr(T, "_SHORTCUTS", on)
        out.append(loaded(path))
    return out


@pytest.mark.property
@pytest.mark.parametrize("trades", [False, True], ids=["quotes", "trades"])
def test_shortcuts_load_what_the_general_checks_load(tmp_path, monkeypatch, trades):
    name = "binance-futures_trades_2024-08-01_X.csv.gz" if trades else "binance-futures_quotes_2024-08-01_X.csv.gz"
    header = TRADES if trades else QUOTES
    seen = {"clean": 0}

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(_rows(trades))
    def check(rows):
        p = tmp_path / name
        with gzip.open(p, "wt") as fh:
            fh.write(header + "\n" + "".join(r + "\n" for r in rows))
        fast, general = _load_both(p, monkeypatch)
        assert fast == general
        if fast[0] != "refused" and not fast[2]:
            seen["clean"] += 1

    check()
    assert seen["clean"] > 0  # the shortcuts' case (nothing rejected) was among the files


def real_tardis_files(real_data: Path, tmp_path: Path):
    """Each bundled Binance recording's trades of its busiest symbol (at most 20,000), written as a tardis trades
    file and a quotes file of their prices (the real times, prices and sizes): yields (path, rows in it)."""
    for folder in ("binance-forceorder-2024-08", "binance-forceorder-2025-01", "binance-forceorder-2025-12"):
        src = real_data / folder / "binance_trades.csv"
        if not src.is_file():
            continue
        res = load_events(src, warn=lambda _l: None)
        ev = res.events[res.events["kind"] == 2]
        ids, counts = np.unique(ev["symbol_id"], return_counts=True)
        tr = ev[ev["symbol_id"] == ids[np.argmax(counts)]][:20000]
        sym = res.registry.lookup(int(tr["symbol_id"][0]))[1]
        us = (tr["ts_event"] // 1000).tolist()
        rus = np.where(tr["ts_recv"] > 0, tr["ts_recv"] // 1000, tr["ts_event"] // 1000).tolist()
        px, qty = tr["price"].tolist(), tr["qty"].tolist()
        trades = [f"binance-futures,{sym},{a},{b},{i},{'buy' if s == 1 else 'sell'},{p!r},{q!r}"
                  for i, (a, b, s, p, q) in enumerate(zip(us, rus, tr["side"].tolist(), px, qty))]
        quotes = [f"binance-futures,{sym},{a},{b},{q!r},{p * 1.0001!r},{p!r},{q!r}"
                  for a, b, p, q in zip(us, rus, px, qty)]
        for name, header, rows in ((f"binance-futures_trades_2024-08-01_{sym}.csv.gz", TRADES, trades),
                                   (f"binance-futures_quotes_2024-08-01_{sym}.csv.gz", QUOTES, quotes)):
            p = tmp_path / folder / name
            p.parent.mkdir(parents=True, exist_ok=True)
            with gzip.open(p, "wt") as fh:
                fh.write(header + "\n" + "".join(r + "\n" for r in rows))
            yield p, len(rows)


def test_shortcuts_on_the_real_recordings(real_data, tmp_path, monkeypatch):
    """The bundled real recordings as tardis files (:func:`real_tardis_files`) load the same both ways."""
    for p, rows in real_tardis_files(real_data, tmp_path):
        fast, general = _load_both(p, monkeypatch)
        assert fast[0] != "refused" and fast[4] == rows * (2 if "quotes" in p.name else 1)
        assert fast == general

"""Instruments across venues: one id joins Bybit, Binance, OKX and Gate; user overrides; the merged tape;
throttles; instrument-scope detection through the public function."""
from __future__ import annotations

import numpy as np
import pytest

from liqcore.config import Params
from liqcore.instruments import (default_table, detect_instruments, groups, load_table, merged_tape,
                                 throttle_ns)
from liqcore.types import EVENT_DTYPE, Flag, Kind, RecordKind, Side, SymbolRegistry, Venue


def test_btc_joins_the_four_venues():
    t = default_table()
    assert t.members("BTC-USDT") == {"bybit": "BTCUSDT", "binance": "BTCUSDT", "okx": "BTC-USDT-SWAP",
                                     "gate": "BTC_USDT"}
    assert t.lookup("okx", "BTC-USDT-SWAP") == "BTC-USDT"
    assert t.lookup("gate", "ETH_USDT") == "ETH-USDT" and t.lookup("gate", "ETHUSDT") is None
    assert t.lookup("binance", "btcusdt") == "BTC-USDT"
    assert t.lookup("bybit", "NEWCOINUSDT") == "NEWCOIN-USDT"  # the naming rule
    assert t.lookup("bybit", "BTCPERP") is None
    with pytest.raises(ValueError, match="unknown instrument"):
        t.members("NOPE")


def test_overrides_from_toml(tmp_path):
    p = tmp_path / "inst.toml"
    p.write_text('[instruments.BTC-USDT]\nbybit = "BTCUSDT"\nbinance = "BTCUSDT"\nokx = "BTC-USD-SWAP"\n'
                 '[instruments.MYBTC]\nokx = "BTC-USDT-SWAP"\n')
    t = load_table(p)
    assert t.lookup("okx", "BTC-USDT-SWAP") == "MYBTC"
    assert t.members("BTC-USDT")["okx"] == "BTC-USD-SWAP"
    bad = tmp_path / "bad.toml"
    bad.write_text('[instruments.X]\nkraken = "XBT"\n')
    with pytest.raises(ValueError, match="unknown venue 'kraken'"):
        load_table(bad)


def test_throttles():
    assert throttle_ns("binance") == 1_000_000_000
    assert throttle_ns("okx") == 1_000_000_000
    assert throttle_ns("gate") == 1_000_000_000  # (Gate: up to one liquidation a contract a second)
    assert throttle_ns("bybit", 1_750_000_000_000_000_000) == 0
    assert throttle_ns("bybit", 1_700_000_000_000_000_000) == 1_000_000_000  # before allLiquidation
    assert throttle_ns("bybit", flags=int(Flag.THROTTLED)) == 1_000_000_000


def _two_venue_events():
    reg = SymbolRegistry([("bybit", "BTCUSDT"), ("okx", "BTC-USDT-SWAP"), ("bybit", "ETHUSDT")])
    rows = []
    t0 = 1_750_000_000_000_000_000
    for i in range(20):
        q = 2.0 - 0.05 * i
        rows.append((t0 + i * 5_000_000_000, t0 + i * 5_000_000_000, 100.0, q, 0, 1, 1, 1, 0))
        rows.append((t0 + i * 5_000_000_000 + 1, t0 + i * 5_000_000_000 + 1, 100.0, q, 1, 1, 1, 3, 0))
        rows.append((t0 + i * 5_000_000_000 + 2, t0 + i * 5_000_000_000 + 2, 10.0, q, 2, 1, 1, 1, 0))
    tc = t0 + 200_000_000_000
    rows.append((tc, tc, 100.0, 50.0, 1, 1, 1, 3, 0))  # OKX first
    rows.append((tc + 150_000_000, tc + 150_000_000, 100.0, 60.0, 0, 1, 1, 1, 0))
    return np.array(rows, dtype=EVENT_DTYPE), reg, tc


def test_groups_and_merged_tape():
    ev, reg, _ = _two_venue_events()
    g, names = groups(reg)
    assert g[0] == g[1] != g[2]
    assert names[g[0]] == "BTC-USDT" and names[g[2]] == "ETH-USDT"
    tape = merged_tape(ev, reg, "BTC-USDT")
    assert set(tape["venue"].tolist()) == {int(Venue.BYBIT), int(Venue.OKX)}
    assert np.all(np.diff(tape["ts_event"]) >= 0)
    with pytest.raises(ValueError, match="no events of"):
        merged_tape(ev, reg, "SOL-USDT")


def test_detect_instruments_split_cascade():
    ev, reg, tc = _two_venue_events()
    p = Params(min_history=10, refresh_ns=0)
    recs, shares, counts, names = detect_instruments(ev, reg, p)
    conf = recs[recs["record"] == RecordKind.CONFIRMED]
    assert len(conf) == 1
    assert conf[0]["venue"] == Venue.OKX and conf[0]["start_ns"] == tc
    assert sorted(shares["venue"].tolist()) == [int(Venue.BYBIT), int(Venue.OKX)]
    from liqcore._libs.detection import CascadeDetector

    venue_recs, _ = CascadeDetector.from_params(p).run(ev, flush=True)
    assert len(venue_recs) == 0

"""Trading instrument-scope cascades on a chosen venue (the backtest half of cross-venue trading)."""
from __future__ import annotations

import functools

import numpy as np
import orjson
import pytest

from liqcore.backtest.run import prepare_events, resolve_strategy, run_strategy
from liqcore.synthetic.venues import venue_market
from liqcore.config import Params
from liqcore.instruments import detect_instruments, groups, retarget
from liqcore.types import RecordKind, Venue


@functools.lru_cache(maxsize=None)
def _market():
    m = venue_market(days=3, venues=("bybit", "binance"), lead_ms={"bybit": 150}, seed=7)
    return m, prepare_events(m.events)


def test_retarget_moves_every_cascade_to_the_trade_venue():
    m, ev = _market()
    group, _ = groups(m.registry)
    recs, _, _, _ = detect_instruments(ev, m.registry, Params())
    conf = recs[recs["record"] == RecordKind.CONFIRMED]
    assert {int(v) for v in conf["venue"]} == {int(Venue.BYBIT), int(Venue.BINANCE)}  # both fire first sometimes
    out, dropped = retarget(recs, m.registry, group, "binance")
    assert dropped == 0 and len(out) == len(recs)
    bn = m.registry.get("binance", "BTCUSDT")
    assert set(out["symbol_id"].tolist()) == {bn} and set(out["venue"].tolist()) == {int(Venue.BINANCE)}
    assert np.array_equal(out["confirm_recv_ns"], recs["confirm_recv_ns"])  # the decision time is kept
    out, dropped = retarget(recs, m.registry, group, "okx")  # no OKX symbol in this market
    assert len(out) == 0 and dropped == len(conf)


def test_cascade_mm_trades_instrument_cascades_on_the_trade_venue():
    m, ev = _market()
    group, _ = groups(m.registry)
    params = Params()
    strategy, params = resolve_strategy("cascade-mm", params)
    recs, _, _, _ = detect_instruments(ev, m.registry, params, group=group)
    recs, _ = retarget(recs, m.registry, group, "binance")
    res = run_strategy(ev, m.registry, params, strategy, records=recs)
    trades = res.trades()
    assert len(trades) > 0
    assert {(t["venue"], t["symbol"]) for t in trades} == {("binance", "BTCUSDT")}
    n_inst = len(recs[recs["record"] == RecordKind.CONFIRMED])
    assert res.summary()["cascades"] == n_inst
    # venue scope on the same market: every venue's view of a cascade is a cascade of its own, traded
    # on its own venue
    venue_res = run_strategy(ev, m.registry, params, strategy)
    assert {t["venue"] for t in venue_res.trades()} == {"bybit", "binance"}
    assert venue_res.summary()["cascades"] > n_inst


def test_cli_instrument_scope_on_one_venue_is_venue_scope(capsysbinary):
    from liqcore.cli import main

    base = ["backtest", "--synthetic", "--days", "2", "--symbols", "BTCUSDT", "--json", "--no-progress"]
    assert main(base) == 0
    a = orjson.loads(capsysbinary.readouterr().out)
    assert main(base + ["--scope", "instrument", "--trade-venue", "bybit"]) == 0
    b = orjson.loads(capsysbinary.readouterr().out)
    assert a["trades"] == b["trades"] and len(a["trades"]) > 0


def test_cli_trade_venue_needs_instrument_scope(capsys):
    from liqcore.cli import main

    assert main(["backtest", "--synthetic", "--days", "1", "--trade-venue", "binance"]) != 0
    assert "only with --scope instrument" in capsys.readouterr().err


def test_compare_shows_venue_scope_against_instrument_scope():
    from liqcore.backtest.compare import compare

    m, _ = _market()
    res = compare(m.events, m.registry, ["cascade-mm"], n_folds=2, fills=(), trade_venue="binance")
    venue_row = res.row("cascade-mm", "all")
    inst_row = res.row("cascade-mm · instrument@binance", "all")
    assert venue_row["trades"] > 0 and inst_row["trades"] > 0
    # venue scope trades each venue's view of a cascade; instrument scope one per cascade, on Binance
    assert inst_row["trades"] < venue_row["trades"]


def test_compare_cli_on_the_multi_venue_synthetic_market(capsys):
    import orjson

    from liqcore.cli import main

    assert main(["compare", "--synthetic", "--venues", "bybit,binance", "--days", "1", "--strategies", "cascade-mm",
                 "--trade-venue", "binance", "--folds", "1", "--json", "--no-progress"]) == 0
    out = orjson.loads(capsys.readouterr().out)
    text = orjson.dumps(out).decode()
    assert "cascade-mm · instrument@binance" in text and "synthetic BTCUSDT on bybit, binance" in text
    assert main(["compare", "--synthetic", "--venues", "bybit,binance", "--market", "null"]) != 0
    assert "venues:" in capsys.readouterr().err

"""The execution model's rules, each pinned on a small hand-made market, and the strategy layer's
API: registry, parameters in the one vocabulary, errors, the user's own strategy."""
from __future__ import annotations

import importlib.util
import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest

from liqcore.backtest.run import backtest, simulate_signals
from liqcore.config import Params
from liqcore.strategies import (ENTRY_LIMIT, ENTRY_MARKET, NEVER, SKIP_MIXED, ParamSpec, Strategy,
                                empty_signals, get_strategy, register_strategy)
from liqcore.types import EVENT_DTYPE, Kind, Side, SymbolRegistry

S = 1_000_000_000
MS = 1_000_000
T0 = 1_767_225_600 * S + 10 * 3600 * S  # 2026-01-01 10:00 UTC
ROOT = Path(__file__).resolve().parents[2]


def trades(*series):
    """Trade prints: ``series`` = one list of (seconds after T0, price) per symbol id."""
    rows = [(T0 + int(t * S), sid, px) for sid, ser in enumerate(series) for t, px in ser]
    rows.sort(key=lambda r: (r[0], r[1]))
    ev = np.zeros(len(rows), dtype=EVENT_DTYPE)
    for i, (ts, sid, px) in enumerate(rows):
        ev[i] = (ts, ts, px, 1.0, sid, Side.BUY, Kind.TRADE, 2, 0)
    return ev


def registry(n=1):
    return SymbolRegistry([("binance", s) for s in ("ETHUSDT", "SOLUSDT", "XRPUSDT")[:n]])


def signal(ev, at_s, sid=0, **kw):
    """One signal decided at ``T0 + at_s`` right after the last event at or before it."""
    g = empty_signals(1)
    ts = T0 + int(at_s * S)
    g["ts_ns"] = ts
    g["ev_idx"] = int(np.searchsorted(ev["ts_recv"], ts, side="right")) - 1
    g["symbol_id"] = sid
    for k, v in kw.items():
        g[k] = v
    return g


def run(ev, sigs, n_sym=1, **params):
    p = Params.from_mapping({"daily-loss": 0, "weekly-loss": 0, "cooldown": 0, **params})
    sig = np.concatenate(sigs) if sigs else empty_signals(0)
    return simulate_signals(ev, sig, registry(n_sym), p, equity=1000.0)


def only(res):
    (t,) = res.trades(detail=True)
    return t


def test_market_entry_fills_at_the_first_print_after_arrival_with_slippage_and_taker_fees():
    ev = trades([(0, 100.0), (0.02, 100.5), (1, 101.0), (2, 102.0), (9, 103.0)])
    # latency 50 ms: the print at 0.02 s is before arrival; the fill is the print at 1 s
    res = run(ev, [signal(ev, 0, entry=ENTRY_MARKET, max_hold_ns=5 * S, take_profit=0.0)], **{"slippage-bps": 10})
    t = only(res)
    assert t["entry"] == "market" and t["entry_ns"] == T0 + S
    assert t["entry_price"] == pytest.approx(101.0 * 1.001)
    assert t["exit_reason"] == "max_hold" and t["exit_ns"] == T0 + 9 * S  # first print at/after fill + 5 s
    assert t["exit_price"] == pytest.approx(103.0 * 0.999)
    # taker in, taker out, each on its own fill's notional (as a fraction of the entry's)
    assert t["fees"] == pytest.approx(5.5e-4 + 5.5e-4 * t["exit_price"] / t["entry_price"], rel=1e-12)
    assert res.summary()["max_hold"] == 1


def test_short_market_entry_slips_down_and_the_params_hold_timeout_is_called_timeout():
    ev = trades([(0, 100.0), (1, 99.0), (40, 98.0)])
    res = run(ev, [signal(ev, 0, direction=-1, entry=ENTRY_MARKET)], **{"slippage-bps": 10, "hold-timeout": "30s",
                                                                         "take-profit": "50%", "stop-loss": "5%"})
    t = only(res)
    assert t["side"] == "short" and t["entry_price"] == pytest.approx(99.0 * 0.999)
    assert t["exit_reason"] == "timeout" and t["exit_price"] == pytest.approx(98.0 * 1.001)


def test_trailing_stop_follows_the_best_print():
    ev = trades([(0, 100.0), (1, 100.0), (2, 101.0), (3, 102.0), (4, 101.5), (5, 100.9), (6, 90.0)])
    res = run(ev, [signal(ev, 0, entry=ENTRY_MARKET, trail=0.01, take_profit=0.0, stop_loss=0.05)])
    t = only(res)
    # peak 102 -> stop 100.98; 101.5 stays above, 100.9 triggers
    assert t["exit_reason"] == "trail" and t["exit_ns"] == T0 + 5 * S and t["exit_price"] == 100.9


def test_the_tightest_stop_is_in_force_and_stops_come_before_take_profit():
    ev = trades([(0, 100.0), (1, 100.0), (2, 100.8), (3, 110.0)])
    # fill 100; stop-loss 99.5, stop price 101 (tighter), take-profit 100.5: the print 100.8 is beyond
    # both the stop (<= 101) and the take-profit (> 100.5): the stop wins
    res = run(ev, [signal(ev, 0, entry=ENTRY_MARKET, stop_price=101.0, take_profit=0.005, stop_loss=0.005)])
    t = only(res)
    assert t["exit_reason"] == "stop_price" and t["exit_price"] == 100.8 and t["exit_ns"] == T0 + 2 * S


def test_a_loose_stop_price_leaves_the_stop_loss_in_force():
    ev = trades([(0, 100.0), (1, 100.0), (2, 99.4)])
    res = run(ev, [signal(ev, 0, entry=ENTRY_MARKET, stop_price=95.0, take_profit=0.01, stop_loss=0.005)])
    assert only(res)["exit_reason"] == "stop_loss"


def test_signal_exit_closes_at_the_first_print_after_exit_time_plus_latency():
    ev = trades([(0, 100.0), (1, 100.0), (2.5, 100.1), (2.52, 100.2), (3, 100.3), (9, 100.4)])
    res = run(ev, [signal(ev, 0, entry=ENTRY_MARKET, exit_ns=T0 + int(2.5 * S), exit_code=7, take_profit=0.0)])
    t = only(res)
    # exit time 2.5 s + 50 ms latency -> the print at 3 s (2.52 s is too early)
    assert t["exit_reason"] == "signal_exit" and t["exit_ns"] == T0 + 3 * S and t["exit_price"] == 100.3
    assert t["exit_code"] == "exit_7"
    assert res.summary()["signal_exit"] == 1


def test_a_signal_exit_due_before_the_fill_cancels_the_entry():
    ev = trades([(0, 100.0), (1, 100.0), (5, 99.0)])  # the limit at 99.85 would fill at 5 s
    res = run(ev, [signal(ev, 0, exit_ns=T0 + 2 * S)])
    s = res.summary()
    assert s["orders"] == 1 and s["fills"] == 0 and s["unfilled"] == 1 and not res.trades()


def test_replace_closes_the_weakest_position_for_a_stronger_signal():
    ev = trades([(0, 100.0), (1, 100.0), (5, 100.1), (6, 100.2), (7, 100.3)],
                [(0, 50.0), (1, 50.0), (5.5, 50.1), (6, 50.2)])
    weak = signal(ev, 0.5, sid=0, entry=ENTRY_MARKET, confidence=0.3, take_profit=0.0)
    strong = signal(ev, 5, sid=1, entry=ENTRY_MARKET, confidence=0.8, take_profit=0.0)
    res = run(ev, [weak, strong], n_sym=2, **{"max-positions": 1, "replace-weakest": "on"})
    (t,) = res.trades()
    # the weak position closes at its symbol's first print at/after 5 s + latency, taker
    assert t["symbol"] == "ETHUSDT" and t["exit_reason"] == "replaced" and t["exit_ns"] == T0 + 6 * S
    assert res.summary()["fills"] == 2 and int(res.open_at_end[1]) == 1
    # without replace the strong signal is refused at the cap
    res2 = run(ev, [weak, strong], n_sym=2, **{"max-positions": 1})
    assert res2.summary()["max_positions"] == 1 and res2.summary()["fills"] == 1
    # an equally confident signal never replaces
    even = signal(ev, 5, sid=1, entry=ENTRY_MARKET, confidence=0.3)
    res3 = run(ev, [weak, even], n_sym=2, **{"max-positions": 1, "replace-weakest": "on"})
    assert res3.summary()["max_positions"] == 1


def test_replace_same_closes_the_symbols_position_then_enters_after_the_close():
    ev = trades([(0, 100.0), (1, 100.0), (5, 100.1), (6, 100.2), (7, 100.3), (8, 100.4)])
    weak = signal(ev, 0.5, entry=ENTRY_MARKET, confidence=0.3, take_profit=0.0, tag=1)
    strong = signal(ev, 5, direction=-1, entry=ENTRY_MARKET, confidence=0.8, take_profit=0.0, tag=2,
                    max_hold_ns=S)
    res = run(ev, [weak, strong], **{"replace-same": "on"})
    old, new = res.trades(detail=True)
    assert old["exit_reason"] == "replaced" and old["exit_ns"] == T0 + 6 * S  # first print at/after 5 s + 50 ms
    # the new short: decided at 5 s, sent at the close (6 s), arrives 50 ms later, fills at the next print
    assert new["side"] == "short" and new["signal_ns"] == T0 + 5 * S and new["entry_ns"] == T0 + 7 * S
    assert new["exit_reason"] == "max_hold" and new["exit_ns"] == T0 + 8 * S
    s = res.summary()
    assert s["busy"] == 0 and s["orders"] == 2 and s["fills"] == 2 and s["replaced"] == 1
    # off (the default): the symbol is busy
    s = run(ev, [weak, strong]).summary()
    assert s["busy"] == 1 and s["fills"] == 1 and s["replaced"] == 0


def test_replace_same_queued_entry_travels_with_its_signals_own_latency():
    """A signal carrying its own (drawn) order latency: the replaced position closes that latency after
    the decision and the queued entry, sent at the close, arrives that latency later too."""
    ev = trades([(0, 100.0), (1, 100.0), (5, 100.1), (6, 100.2), (7, 100.3), (8, 100.4), (9.5, 100.5),
                 (10, 100.6), (11, 100.7)])
    weak = signal(ev, 0.5, entry=ENTRY_MARKET, confidence=0.3, take_profit=0.0, tag=1)
    strong = signal(ev, 5, direction=-1, entry=ENTRY_MARKET, confidence=0.8, take_profit=0.0, tag=2,
                    latency_ns=2 * S, max_hold_ns=S)
    old, new = run(ev, [weak, strong], **{"replace-same": "on"}).trades(detail=True)
    assert old["exit_reason"] == "replaced" and old["exit_ns"] == T0 + 7 * S  # 5 s + its 2 s
    # sent at the close (7 s), arrives at 9 s: fills at the print of 9.5 s (with the run's 50 ms: 8 s)
    assert new["side"] == "short" and new["entry_ns"] == T0 + int(9.5 * S)


def test_replace_same_queued_entry_goes_out_whatever_closes_the_position():
    # the stop-loss (1 %) closes the long at 5.02 s, before the replacement's due time (5.05 s)
    ev = trades([(0, 100.0), (1, 100.0), (5.02, 98.0), (5.04, 98.0), (5.2, 98.1), (9, 98.2)])
    weak = signal(ev, 0.5, entry=ENTRY_MARKET, confidence=0.3, take_profit=0.0, stop_loss=0.01, tag=1)
    strong = signal(ev, 5, entry=ENTRY_MARKET, confidence=0.8, take_profit=0.0, stop_loss=0.5, tag=2)
    res = run(ev, [weak, strong], **{"replace-same": "on"})
    led = res.ledger
    assert len(led) == 1 and res.trades()[0]["exit_reason"] == "stop_loss" and led[0]["exit_ns"] == T0 + int(5.02 * S)
    st = res.summary()
    assert st["fills"] == 2 and int(res.open_at_end[0]) == 1  # the queued entry filled at 5.2 s (5.02 + 50 ms, next print)


def test_replace_same_keeps_the_cap_slot_while_closing_and_a_working_entry_is_swapped_at_once():
    ev = trades([(0, 100.0), (1, 100.0), (5, 100.1), (5.5, 100.1), (6, 100.2), (7, 100.3)],
                [(0, 50.0), (1, 50.0), (5.01, 50.0), (6, 50.1), (7, 50.2)])
    a = signal(ev, 0.5, sid=0, entry=ENTRY_MARKET, confidence=0.3, take_profit=0.0, tag=1)
    a2 = signal(ev, 5, sid=0, entry=ENTRY_MARKET, confidence=0.8, take_profit=0.0, tag=2)
    b = signal(ev, 5.005, sid=1, entry=ENTRY_MARKET, confidence=0.9, take_profit=0.0, tag=3)
    # max-positions 1: symbol 0 closes for its replacement at 5.5 s; symbol 1's signal in between is
    # refused at the cap (the slot is the queued entry's), even with replace-weakest on
    res = run(ev, [a, a2, b], n_sym=2, **{"replace-same": "on", "max-positions": 1, "replace-weakest": "on"})
    c = res.counts
    from liqcore._jit import sim

    assert c[1, sim.C_MAX_POSITIONS] == 1 and c[1, sim.C_FILLS] == 0
    assert c[0, sim.C_FILLS] == 2 and c[0, sim.C_REPLACED] == 1
    # a working (not yet filled) limit entry is cancelled and the more confident one placed at once
    lim = signal(ev, 0.5, entry=ENTRY_LIMIT, confidence=0.3, offset=0.05, tag=1)
    mkt = signal(ev, 0.7, entry=ENTRY_MARKET, confidence=0.8, take_profit=0.0, tag=2)
    res = run(ev, [lim, mkt], **{"replace-same": "on"})
    c = res.counts
    assert c[0, sim.C_UNFILLED] == 1 and c[0, sim.C_ORDERS] == 2 and c[0, sim.C_FILLS] == 1
    assert c[0, sim.C_REPLACED] == 0 and c[0, sim.C_BUSY] == 0


def test_simultaneous_signals_are_ranked_by_confidence():
    ev = trades([(0, 100.0), (1, 100.0), (2, 100.0)], [(0, 50.0), (1, 50.0), (2, 50.0)])
    a = signal(ev, 0.5, sid=0, entry=ENTRY_MARKET, confidence=0.2)
    b = signal(ev, 0.5, sid=1, entry=ENTRY_MARKET, confidence=0.9)
    res = run(ev, [a, b], n_sym=2, **{"max-positions": 1})  # a comes first in the array, b is stronger
    assert res.per_symbol()["binance:SOLUSDT"]["fills"] == 1
    assert res.per_symbol()["binance:ETHUSDT"]["max_positions"] == 1


def test_daily_trades_caps_positions_opened_per_symbol_per_utc_day():
    day = 86_400
    ev = trades([(0, 100.0), (1, 100.0), (3, 100.0), (10, 100.0), (11, 100.0), (13, 100.0),
                 (day, 100.0), (day + 1, 100.0), (day + 3, 100.0)])
    sigs = [signal(ev, t, entry=ENTRY_MARKET, max_hold_ns=1 * S) for t in (0.5, 10.5, day + 0.5)]
    res = run(ev, sigs, **{"daily-trades": 1})
    s = res.summary()
    assert s["fills"] == 2 and s["daily_trades"] == 1  # the second signal of day one is refused


def test_leverage_caps_the_sum_of_open_notionals():
    ev = trades([(0, 100.0), (1, 100.0), (60, 100.0)], [(0, 50.0), (1, 50.0), (60, 50.0)],
                [(0, 10.0), (1, 10.0), (60, 10.0)])
    sigs = [signal(ev, 0.5, sid=i, entry=ENTRY_MARKET, take_profit=0.0, stop_loss=0.0, max_hold_ns=30 * S)
            for i in range(3)]
    res = run(ev, sigs, n_sym=3, size=0.25, leverage=0.3)
    s = res.summary()
    # 250 + 50 (capped to the room left under 0.3 x 1000), the third finds no room
    assert s["fills"] == 2 and s["leverage"] == 1
    assert sorted(res.ledger["notional"].tolist()) == pytest.approx([50.0, 250.0])


def test_fixed_notional_and_size_multiplier():
    ev = trades([(0, 100.0), (1, 100.0), (60, 100.0)])
    res = run(ev, [signal(ev, 0.5, entry=ENTRY_MARKET, size_mult=2.0, max_hold_ns=10 * S)], notional=100)
    assert res.ledger["notional"][0] == 200.0


def test_skip_signals_are_counted_by_code():
    ev = trades([(0, 100.0), (1, 100.0)])
    sigs = [signal(ev, 0.5, direction=0, skip_code=SKIP_MIXED), signal(ev, 0.6, direction=0, skip_code=100)]
    s = run(ev, sigs).summary()
    assert s["mixed"] == 1 and s["skipped"] == 1 and s["skips"] == {"skip_100": 1}


def test_cascade_mm_is_the_guide_simulator():
    """The guide's strategy through backtest(strategy=...) gives the records path's ledger exactly."""
    from liqcore.backtest.run import detect, prepare_events, simulate
    from liqcore.synthetic.market import synthetic_market

    m = synthetic_market(days=1, symbols=("ETHUSDT", "BTCUSDT"), seed=5)
    p = Params()
    ev = prepare_events(m.events)
    rec, _ = detect(ev, p)
    old = simulate(ev, rec, m.registry, p, equity=1000.0)
    new = backtest(m, p, strategy="cascade-mm", equity=1000.0)
    assert len(old.ledger) > 5
    assert new.ledger.tobytes() == old.ledger.tobytes()
    assert np.array_equal(new.counts, old.counts)
    assert new.strategy == "cascade-mm" and old.summary()["cascades"] == new.summary()["cascades"]


# ---- the strategy layer's API ----------------------------------------------------------------
class _Probe(Strategy):
    name = "probe-strategy"
    PARAMS = (ParamSpec("probe-level", "0.5%", __import__("liqcore.config").config.parse_fraction, "a level"),)
    DEFAULTS = {"stop_loss": 0.02}
    needs = frozenset({"trade", "funding"})

    def signals(self, events, params, registry, records=None):
        return empty_signals(0)


def test_registry_unknown_names_and_foreign_parameters():
    assert get_strategy("cascade-mm").name == "cascade-mm"
    with pytest.raises(ValueError, match="did you mean 'cascade-mm'"):
        get_strategy("cascade-m")
    register_strategy(_Probe, replace=True)
    p = Params.from_mapping({"probe_level": "1%"})  # TOML spelling
    assert p.probe_level == 0.01
    with pytest.raises(ValueError, match="probe-level: a parameter of strategy probe-strategy, not of cascade-mm"):
        backtest(trades([(0, 1.0)]), p, registry=registry())
    # the strategy's defaults for shared parameters apply unless set
    q = Params.from_mapping({"strategy": "probe-strategy"})
    assert _Probe.resolve(q).stop_loss == 0.02 and q.probe_level == 0.005
    assert _Probe.resolve(Params.from_mapping({"strategy": "probe-strategy", "stop-loss": "1%"})).stop_loss == 0.01
    with pytest.raises(ValueError, match="no funding events"):
        backtest(trades([(0, 1.0)]), q, registry=registry())
    with pytest.raises(ValueError, match="shared parameter"):
        class Bad(Strategy):
            name = "bad-strategy"
            PARAMS = (ParamSpec("offset", 0.1, float, "clash"),)
        register_strategy(Bad)


def test_cli_strategy_errors_exit_2_before_any_work(capsys):
    from liqcore.cli import main

    register_strategy(_Probe, replace=True)
    assert main(["backtest", "--synthetic", "--days", "1", "--strategy", "cascade-mn"]) == 2
    assert "did you mean 'cascade-mm'" in capsys.readouterr().err
    assert main(["backtest", "--synthetic", "--days", "1", "--probe-level", "1%"]) == 2
    assert "probe-level: a parameter of strategy probe-strategy" in capsys.readouterr().err


def test_new_shared_parameters_in_the_one_vocabulary(tmp_path):
    from liqcore.config import load_config, split_config

    cfg = tmp_path / "c.toml"
    cfg.write_text('slippage_bps = 2\nmax_positions = 3\nreplace_weakest = true\ndaily_trades = 6\n'
                   'leverage = 3\ntrail = "1%"\nnotional = 500\n')
    p = Params.from_mapping(split_config(load_config(cfg))[0])
    assert (p.slippage_bps, p.max_positions, p.replace_weakest, p.daily_trades, p.leverage, p.trail, p.notional) == \
        (2.0, 3, True, 6, 3.0, 0.01, 500.0)
    assert Params(slippage_bps=2, max_positions=3, replace_weakest=True).max_positions == 3
    with pytest.raises(ValueError, match="replace-weakest: expected on or off"):
        Params.from_mapping({"replace-weakest": "maybe"})
    with pytest.raises(ValueError, match="slippage-bps"):
        Params.from_mapping({"slippage-bps": -1})


def test_cli_backtest_runs_the_new_parameters_and_names_the_strategy(tmp_path):
    import orjson

    from liqcore.cli import main

    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        assert main(["backtest", "--synthetic", "--days", "1", "--symbols", "ETHUSDT", "--strategy", "cascade-mm",
                     "--trail", "0.1%", "--slippage-bps", "1", "--no-progress", "--out", str(tmp_path / "o")]) == 0
    doc = orjson.loads((tmp_path / "o" / "summary.json").read_bytes())
    assert doc["summary"]["strategy"] == "cascade-mm" and doc["summary"]["params"]["trail"] == "0.1%"
    import pyarrow.csv as pcsv

    led = pcsv.read_csv(tmp_path / "o" / "ledger.csv")
    assert {"strategy", "tag", "exit_reason", "exit_code", "entry"} <= set(led.column_names)
    assert set(led.column("strategy").to_pylist()) <= {"cascade-mm"}


def test_the_users_own_strategy_example_runs():
    spec = importlib.util.spec_from_file_location("my_strategy", ROOT / "examples" / "my_strategy.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    # on a hand-made market: a big long liquidation -> a long market entry that takes profit
    ev = np.zeros(5, dtype=EVENT_DTYPE)
    rows = [(0, Kind.TRADE, Side.BUY, 100.0, 1.0), (1, Kind.LIQUIDATION, Side.LONG, 99.0, 2000.0),
            (1.5, Kind.TRADE, Side.SELL, 99.0, 1.0), (2, Kind.TRADE, Side.BUY, 99.5, 1.0),
            (3, Kind.TRADE, Side.BUY, 100.0, 1.0)]
    for i, (t, k, sd, px, q) in enumerate(rows):
        ts = T0 + int(t * S)
        ev[i] = (ts, ts, px, q, 0, sd, k, 2, 0)
    res = backtest(ev, Params(), strategy=mod.BigLiquidationFade, registry=registry(), equity=1000.0)
    (t,) = res.trades(detail=True)
    assert t["strategy"] == "big-liq-fade" and t["side"] == "long" and t["entry"] == "market"
    assert t["entry_price"] == 99.0 and t["exit_reason"] == "take_profit"
    # the take-profit 99.0 x 1.003 = 99.297, a sell limit: on the instrument's 0.01 tick at or above (the default)
    assert t["exit_price"] == 99.3 and t["inputs"]["liquidation_index"] == 1
    # and its command-line demo on a small synthetic market
    with redirect_stdout(io.StringIO()):
        s = mod.main(["--days", "0.5"])
    assert s["strategy"] == "big-liq-fade" and s["cascades"] > 0


@pytest.mark.parametrize("field,value,msg", [
    ("direction", 2, "direction"), ("confidence", 1.5, "confidence"), ("size_mult", 0.0, "size_mult"),
    ("take_profit", -0.01, "take_profit"), ("stop_price", -5.0, "stop_price"), ("max_hold_ns", -2, "max_hold_ns"),
    ("symbol_id", -1, "symbol_id"), ("entry", 3, "entry"),
])
def test_bad_signals_are_a_clear_error(field, value, msg):
    ev = trades([(0, 100.0)])
    g = signal(ev, 0)
    g[field] = value
    with pytest.raises(ValueError, match=msg):
        run(ev, [g])


def test_signal_order_is_time_event_then_confidence():
    from liqcore.strategies import sort_signals

    g = empty_signals(4)
    g["ts_ns"] = [5, 5, 5, 1]
    g["ev_idx"] = [2, 1, 1, 0]
    g["confidence"] = [0.9, 0.2, 0.7, 0.1]
    g["tag"] = [0, 1, 2, 3]
    assert sort_signals(g)["tag"].tolist() == [3, 2, 1, 0]


def test_strategy_duration_parameters_follow_the_vocabularys_units():
    class Timed(Strategy):
        name = "timed-probe"
        PARAMS = (ParamSpec("probe-bar", "5m", __import__("liqcore.config").config.parse_duration, "a bar"),)

        def signals(self, events, params, registry, records=None):
            return empty_signals(0)

    register_strategy(Timed, replace=True)
    assert Params.from_mapping({"probe-bar": 60}).probe_bar_ns == 60 * S  # CLI / TOML: plain numbers are seconds
    assert Params.from_mapping({"probe_bar": "2m"}).probe_bar_ns == 120 * S
    assert Params.from_mapping({"probe_bar_ns": 7}).probe_bar_ns == 7  # Python field: nanoseconds
    assert Params().replace(probe_bar_ns=9).probe_bar_ns == 9
    assert Params(strategy="timed-probe").probe_bar_ns == 300 * S  # the strategy's default
    assert Timed.value(Params(), "probe-bar") == 300 * S
    assert Params.from_mapping({"strategy": "timed-probe", "probe-bar": "1m"}).describe()["probe-bar"] == "1m"
    with pytest.raises(ValueError, match="probe-bar"):
        Params.from_mapping({"probe-bar": "soon"})


def test_parameter_specs_accept_plain_types_and_tuples():
    class Plain(Strategy):
        name = "plain-probe"
        PARAMS = (("plain-count", 3, int, "a count"), ParamSpec("plain-level", 1.5, float, "a level"),
                  {"name": "plain-flag", "default": False, "type": bool, "help": "a switch"})

        def signals(self, events, params, registry, records=None):
            return empty_signals(0)

    register_strategy(Plain, replace=True)
    p = Params.from_mapping({"strategy": "plain-probe", "plain-count": "4", "plain_level": "2.5", "plain-flag": "on"})
    assert (p.plain_count, p.plain_level, p.plain_flag) == (4, 2.5, True)
    with pytest.raises(ValueError, match="plain-count: expected a whole number"):
        Params.from_mapping({"plain-count": "4.5"})
    with pytest.raises(ValueError, match="plain-level: expected a number"):
        Params.from_mapping({"plain-level": "high"})


def test_report_of_another_strategy_names_it_and_leaves_out_the_guides_claims(tmp_path):
    from liqcore.backtest.report import write_report

    ev = trades([(0, 100.0), (1, 100.0), (2, 101.0), (3, 102.0), (4, 100.5)])
    sig = signal(ev, 0, entry=ENTRY_MARKET, trail=0.01, take_profit=0.0)
    p = Params.from_mapping({"daily-loss": 0, "weekly-loss": 0})
    res = simulate_signals(ev, sig, registry(), p, equity=1000.0, strategy=_Probe)
    assert res.strategy == "probe-strategy" and res.trades()[0]["exit_reason"] == "trail"
    write_report(res, tmp_path / "rep", title="probe")
    html = (tmp_path / "rep" / "report.html").read_text()
    assert "probe-strategy" in html and "trail=1" in html and "Measured vs the trading guide" not in html


def test_cli_a_strategy_whose_inputs_the_data_lacks_exits_2(capsys):
    from liqcore.cli import main

    class NeedsOI(Strategy):
        name = "oi-probe"
        needs = frozenset({"trade", "open_interest"})

        def signals(self, events, params, registry, records=None):  # pragma: no cover - never reached
            raise AssertionError("signals must not run when inputs are missing")

    register_strategy(NeedsOI, replace=True)
    assert main(["backtest", "--synthetic", "--days", "0.1", "--symbols", "ETHUSDT", "--strategy", "oi-probe",
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "strategy oi-probe: the data has no open_interest events" in err and len(err.strip().splitlines()) == 1


def test_a_strategys_skip_is_counted_as_its_skip_even_while_busy_but_mixed_keeps_the_guides_order():
    ev = trades([(0, 100.0), (1, 100.0), (2, 100.0), (3, 100.0)])
    sigs = [signal(ev, 0.5, entry=ENTRY_MARKET, take_profit=0.0, stop_loss=0.0),  # opens at 1 s, stays open
            signal(ev, 1.5, direction=0, skip_code=101), signal(ev, 1.6, direction=0, skip_code=SKIP_MIXED)]
    s = run(ev, sigs).summary()
    assert s["skipped"] == 1 and s["skips"] == {"skip_101": 1}
    assert s["busy"] == 1 and s["mixed"] == 0

"""Detector thresholds seeded from recordings at start-up (`Engine.seed_history`, `liqcore run --seed-history`)."""
from __future__ import annotations

import argparse

import numpy as np
import orjson
import pytest

from liqcore.config import Params
from liqcore.live.engine import Engine
from liqcore.testing.fake_replay import liquidation_frame, trade_frame
from liqcore.types import EVENT_DTYPE, Kind, Side

S = 1_000_000_000
T0 = 1_767_225_600 * S
PARAMS = Params.from_mapping({"min_history": 5, "history": 50, "refresh": "0s"})


def liquidations(engine, symbol, notionals, t0=T0, venue="bybit", price=100.0):
    sid = engine.registry.id(venue, symbol)
    ev = np.zeros(len(notionals), dtype=EVENT_DTYPE)
    ev["ts_event"] = ev["ts_recv"] = t0 + np.arange(len(notionals)) * 120 * S  # apart: no cluster
    ev["price"] = price
    ev["qty"] = np.asarray(notionals, dtype=float) / price
    ev["symbol_id"] = sid
    ev["side"] = Side.LONG
    ev["kind"] = Kind.LIQUIDATION
    ev["venue"] = int(engine.registry.venue(sid))
    return ev


def live_cascade(engine, t_ms):
    """A trade, then two large long liquidations 1 s apart (a cascade once a threshold exists)."""
    frames = [trade_frame("ETHUSDT", 2500.0, ts_ms=t_ms), liquidation_frame("ETHUSDT", 2500.0, 40.0, ts_ms=t_ms + 10),
              liquidation_frame("ETHUSDT", 2499.0, 40.0, ts_ms=t_ms + 1010)]
    out = []
    for i, f in enumerate(frames):
        out += engine.on_frame("bybit", orjson.dumps(f), (t_ms + 10 + 1000 * i) * 1_000_000)
    return out


def test_seeded_engine_trades_the_first_cascade_an_unseeded_one_waits():
    t_ms = (T0 + 3600 * S) // 1_000_000
    fresh = Engine(PARAMS, symbols=["ETHUSDT"])
    assert live_cascade(fresh, t_ms) == []  # min_history not reached: no threshold, no cascade
    eng = Engine(PARAMS, symbols=["ETHUSDT"])
    hist = liquidations(eng, "ETHUSDT", np.linspace(1_000, 20_000, 20))
    assert eng.seed_history(hist, now_ns=T0 + 3600 * S) == {"bybit:ETHUSDT": 20}
    ds = live_cascade(eng, t_ms)
    assert len(ds) == 1 and ds[0].action == "order" and ds[0].side == "buy"


def test_seed_is_point_in_time_per_venue_and_keeps_the_last_history():
    eng = Engine(PARAMS, symbols=["ETHUSDT"])
    past = liquidations(eng, "ETHUSDT", np.full(80, 1_000.0))
    recent = liquidations(eng, "ETHUSDT", np.full(50, 5_000.0), t0=T0 + 80 * 120 * S)
    future = liquidations(eng, "ETHUSDT", np.full(30, 1e9), t0=T0 + 10**6 * S)
    other_venue = liquidations(eng, "ETHUSDT", np.full(10, 1e9), venue="okx")
    hist = np.concatenate([future, recent, other_venue, past])  # any order
    assert eng.seed_history(hist, now_ns=T0 + 10**5 * S) == {"bybit:ETHUSDT": 50}
    # the threshold is the P95 of the last 50 notionals before now: all 5,000
    sid = eng.registry.id("bybit", "ETHUSDT")
    eng.detector.update(T0 + 10**5 * S, T0 + 10**5 * S, sid, 1, int(Kind.LIQUIDATION), int(Side.LONG), 100.0, 1.0)
    assert eng.detector.threshold(sid) == pytest.approx(5_000.0)
    assert eng.seed_history(np.zeros(0, dtype=EVENT_DTYPE)) == {}
    with pytest.raises(ValueError, match="source"):
        eng.seed_history(np.zeros(3))


def test_seed_from_a_recorder_file(tmp_path):
    from liqcore.live.recorder import Recorder

    rec = Recorder(tmp_path)
    for i in range(12):
        t_ms = T0 // 1_000_000 + i * 60_000
        f = liquidation_frame("ETHUSDT", 2500.0, 1.0 + i, ts_ms=t_ms)
        rec.write_frame("bybit", orjson.dumps(f), t_ms * 1_000_000 + 5_000_000)
    rec.close()
    eng = Engine(PARAMS, symbols=["ETHUSDT"])
    assert eng.seed_history(tmp_path) == {"bybit:ETHUSDT": 12}


def test_seeding_equals_having_seen_the_liquidations_live(real_data):
    """Real Binance forceOrder recordings: a detector seeded with a symbol's first n-1 liquidations
    computes at the n-th the same threshold as one that processed all n."""
    from liqcore.dataset.load import load_events

    path = real_data / "binance-forceorder-2025-12" / "binance.csv"
    eng = Engine(PARAMS, venues=["binance"], symbols=["binance:ETHUSDT"])
    ev = load_events(path, registry=eng.registry).events
    liq = ev[ev["kind"] == Kind.LIQUIDATION]
    sids, n = np.unique(liq["symbol_id"], return_counts=True)
    checked = 0
    for sid in sids[n >= PARAMS.min_history + 2][:8].tolist():
        mine = liq[liq["symbol_id"] == sid]
        last = mine[-1]
        seeded = Engine(PARAMS, venues=["binance"], symbols=["binance:ETHUSDT"], registry=eng.registry)
        got = seeded.seed_history(mine[:-1], now_ns=int(last["ts_recv"]))
        assert list(got.values()) == [min(len(mine) - 1, PARAMS.history)]
        live = Engine(PARAMS, venues=["binance"], symbols=["binance:ETHUSDT"], registry=eng.registry)
        for e in (seeded, live):
            rows = mine[-1:] if e is seeded else mine
            for r in rows:
                e.detector.update(int(r["ts_event"]), int(r["ts_recv"]), sid, int(r["venue"]), int(r["kind"]),
                                  int(r["side"]), float(r["price"]), float(r["qty"]))
        assert seeded.detector.threshold(sid) == live.detector.threshold(sid)
        assert seeded.detector.threshold(sid) > 0
        checked += 1
    assert checked >= 3


def test_run_command_seeds_the_engine(tmp_path):
    from liqcore.commands import run as run_cmd
    from liqcore.live.recorder import Recorder

    rec = Recorder(tmp_path / "rec")
    for i in range(8):
        t_ms = T0 // 1_000_000 + i * 60_000
        rec.write_frame("bybit", orjson.dumps(liquidation_frame("SOLUSDT", 150.0, 10.0 + i, ts_ms=t_ms)), t_ms * 1_000_000)
    rec.close()
    parser = argparse.ArgumentParser()
    run_cmd.add_arguments(parser)
    args = parser.parse_args(["--symbols", "SOLUSDT", "--no-dashboard", "--min-history", "5",
                              "--seed-history", str(tmp_path / "rec")])
    engine, runner, fake = run_cmd.build(args)
    assert fake is None
    sid = engine.registry.id("bybit", "SOLUSDT")
    assert np.isnan(engine.detector.threshold(sid))  # computed at the next liquidation
    engine.detector.update(T0 + 3600 * S, T0 + 3600 * S, sid, 1, int(Kind.LIQUIDATION), int(Side.LONG), 150.0, 1.0)
    assert engine.detector.threshold(sid) > 0  # 8 seeded >= min-history 5: a threshold at the first live one

    from liqcore.cli import main

    assert main(["run", "--symbols", "SOLUSDT", "--no-dashboard", "--seed-history", str(tmp_path / "missing")]) == 2


TREND = Params.from_mapping({"strategy": "liq-trend", "segment": "1m", "baseline": 6, "candle-lookback": "3m"})
M0 = T0 // (60 * S) * 60 * S


def trend_history(eng):
    """Eight minutes of ETHUSDT: a liquidation per minute (1,000 / 1,200 quote), falling trades."""
    sid = eng.registry.id("bybit", "ETHUSDT")
    rows = []
    for m in range(8):
        rows.append((M0 + m * 60 * S + 30 * S, Kind.LIQUIDATION, Side.LONG, 100.0, (1000.0 if m % 2 else 1200.0) / 100))
        rows.append((M0 + m * 60 * S + 40 * S, Kind.TRADE, Side.SELL, 2600.0 - m, 1.0))
    ev = np.zeros(len(rows), dtype=EVENT_DTYPE)
    for i, (t, k, side, px, q) in enumerate(rows):
        ev[i]["ts_event"] = ev[i]["ts_recv"] = t
        ev[i]["kind"], ev[i]["side"], ev[i]["price"], ev[i]["qty"] = int(k), int(side), px, q
    ev["symbol_id"], ev["venue"] = sid, int(eng.registry.venue(sid))
    return ev


def trend_live(eng):
    """Minute 8: a 40,000-quote long flush and lower trades; a trade after the close reveals it."""
    t_ms = (M0 + 8 * 60 * S) // 1_000_000
    frames = [(trade_frame("ETHUSDT", 2590.0, ts_ms=t_ms + 5_000), t_ms + 5_000),
              (liquidation_frame("ETHUSDT", 2580.0, 40_000.0 / 2580.0, ts_ms=t_ms + 20_000), t_ms + 20_000),
              (trade_frame("ETHUSDT", 2570.0, ts_ms=t_ms + 40_000), t_ms + 40_000),
              (trade_frame("ETHUSDT", 2569.0, ts_ms=t_ms + 61_000), t_ms + 61_000)]
    out = []
    for f, t in frames:
        out += eng.on_frame("bybit", orjson.dumps(f), t * 1_000_000)
    return [d for d in out if d.action == "order"]


def test_liq_trend_seeded_from_a_recording_trades_its_first_segment_close():
    """liq-trend's 24 h baseline (here 6 one-minute segments) comes from the recording at start-up:
    the seeded engine decides at the first segment close after a live flush, a fresh one cannot."""
    fresh = Engine(TREND, symbols=["ETHUSDT"])
    assert trend_live(fresh) == []  # no baseline yet: no z-score
    eng = Engine(TREND, symbols=["ETHUSDT"])
    eng.seed_history(trend_history(eng), now_ns=M0 + 8 * 60 * S)
    assert len(eng.stream.hist[eng.registry.id("bybit", "ETHUSDT")]) == 6
    ds = trend_live(eng)
    assert len(ds) == 1 and ds[0].side == "sell"  # longs wiped out -> short


def test_liq_trend_baseline_survives_a_restart_through_the_journal(tmp_path):
    """Session 1 sees the eight minutes live and shuts down (the stream's state goes to the journal);
    session 2, a new engine on the same journal file, trades the flush at its first segment close."""
    import asyncio

    from liqcore.live.journal import Journal

    async def session(feed):
        eng = Engine(TREND, symbols=["ETHUSDT"], journal=Journal(tmp_path / "j.sqlite"))
        await eng.start()
        out = feed(eng)
        await eng.shutdown(timeout=1)
        eng.journal.close()
        return out

    def first(eng):
        for e in trend_history(eng):
            eng.on_events(e[None])
        return []

    asyncio.run(session(first))
    assert len(asyncio.run(session(trend_live))) == 1
    (tmp_path / "j.sqlite").unlink()
    assert asyncio.run(session(trend_live)) == []  # a fresh journal: no baseline

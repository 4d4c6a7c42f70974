"""Live-path hardening: the clock guard (future timestamps), errors that are exported and halt entries,
the replay clock (paper trading a replay = a backtest of it), fills labelled by kind, threshold warm-up."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import numpy as np
import orjson
import pytest

from liqcore.config import Params
from liqcore.live.engine import Engine
from liqcore.live.runner import LiveRunner
from liqcore.venues.bybit.fake import FakeExchange
from liqcore.testing.fake_replay import liquidation_frame, trade_frame

pytestmark = pytest.mark.timeout(90)

BASE = (0.5, 0.1, 0.3, 0.2, 0.4)  # ETH qty at 3000: the threshold sits near 1500 quote
# a 3 s cascade window and a threshold computed once (no hourly refresh in these short scripts)
P = Params.from_mapping({"min-history": 5, "history": 50, "window": "3s", "refresh": "30d"})


def poisoned_frames(now_ms: int, symbol: str = "ETHUSDT", future: bool = True) -> list[tuple[int, bytes]]:
    """(recv_ns, frame): baseline liquidations, a reference print, optionally ONE liquidation stamped an
    hour ahead, then two large liquidations 4 s apart (more than the 3 s window: no cascade)."""
    t = now_ms - 10_000
    out = [(t + i, liquidation_frame(symbol, 3000, q, "Buy", t + i)) for i, q in enumerate(BASE)]
    out.append((t + 4000, trade_frame(symbol, 3000.0, 1, "Sell", t + 4000)))
    if future:
        out.append((t + 4100, liquidation_frame(symbol, 3000, 0.2, "Buy", t + 4100 + 3_600_000)))
    out.append((t + 5000, liquidation_frame(symbol, 3000, 10, "Buy", t + 5000)))
    out.append((t + 9000, trade_frame(symbol, 3000.0, 1, "Sell", t + 9000)))
    out.append((t + 9000, liquidation_frame(symbol, 3000, 12, "Buy", t + 9000)))
    return [(r * 1_000_000, orjson.dumps(f)) for r, f in out]


# ------------------------------------------------------------------------------------------- item 1
@pytest.mark.parametrize("skew,orders", [("5s", 0), ("1000d", 1)])
def test_a_future_stamp_does_not_poison_the_detector_clock(skew, orders):
    """Guarded (default 5 s): the hour-ahead liquidation is rejected as future_time, the two large ones stay
    4 s apart and confirm nothing, and no clock moves past what was received.  Unguarded, the same input
    confirms a cascade (every later event clamped to the future time) and places an order."""
    params = P.replace(max_clock_skew_ns=Params.from_mapping({"max-clock-skew": skew}).max_clock_skew_ns)
    eng = Engine(params, symbols=["ETHUSDT", "SOLUSDT"])
    now_ms = int(time.time() * 1000)
    ds = []
    for sym, fut in (("ETHUSDT", True), ("SOLUSDT", False)):  # SOL: the same script without the bad stamp
        for recv, f in poisoned_frames(now_ms, sym, fut):
            ds += eng.on_frame("bybit", f, recv)
    assert sum(d.action == "order" for d in ds) == orders
    if orders == 0:
        assert ds == [] and eng.cascades == 0
        assert eng.decoder("bybit").counters["future_time"] == 1
        assert eng.metrics.value("liqcore_rejects_total", reason="decoder_future_time", venue="bybit") == 1
        assert eng._last_event_ns <= now_ms * 1_000_000  # the engine-wide clock was not moved ahead
    else:
        assert ds[0].symbol == "ETHUSDT"  # the clean symbol never confirms


def test_engine_on_events_applies_the_same_guard():
    """Events handed to on_events directly (embedding) meet the same rule."""
    from liqcore.venues.decoder import Decoder

    dec = Decoder("bybit", max_clock_skew_ns=None)  # let the bad stamp through the decoder
    eng = Engine(P, symbols=["ETHUSDT"], registry=dec.registry)
    ev = np.concatenate([dec.feed(f, r) for r, f in poisoned_frames(int(time.time() * 1000))])
    assert eng.on_events(ev) == [] and eng.rejects["future_time"] == 1 and eng.cascades == 0


def test_engine_on_events_counts_rows_of_no_registered_symbol():
    """Rows naming an id the engine's registry never gave, or another venue than their symbol's, are counted and
    left out (they reached the detector uncounted: state for a symbol nothing can name)."""
    from liqcore.venues.decoder import Decoder

    dec = Decoder("bybit")
    eng = Engine(P, symbols=["ETHUSDT"], registry=dec.registry)
    now = int(time.time() * 1000)
    ev = np.concatenate([dec.feed(orjson.dumps(trade_frame("ETHUSDT", 3000.0, 1.0, "Buy", now + i, f"t{i}")),
                                  (now + i) * 1_000_000) for i in range(4)])
    assert len(ev) == 4
    ev["symbol_id"][1] = len(dec.registry) + 5  # never given
    ev["symbol_id"][2] = -7
    ev["venue"][3] = 77  # not the symbol's venue
    eng.on_events(ev)
    assert eng.events == 1 and eng.rejects == {"unknown_symbol": 2, "venue_mismatch": 1}
    good = ev[:1].copy()
    good["ts_event"] += 10_000_000
    good["ts_recv"] += 10_000_000
    eng.on_events(good)  # a clean batch passes whole
    assert eng.events == 2 and eng.rejects == {"unknown_symbol": 2, "venue_mismatch": 1}


def test_loaders_and_backtest_apply_the_same_guard(tmp_path):
    from liqcore.backtest.run import backtest
    from liqcore.dataset.load import load_events
    from liqcore.live.recorder import Recorder

    with Recorder(tmp_path / "rec") as rec:
        for r, f in poisoned_frames(1_763_683_200_000):
            rec.write_frame("bybit", f, r)
    res = load_events(rec.files)
    assert res.rejects["future_time"] == 1 and len(res.events) == 9
    assert len(backtest(res, P).records) == 0  # nothing confirmed, as live
    raw = load_events(rec.files, max_clock_skew_ns=None)
    assert len(raw.events) == 10 and len(backtest(raw.events, P, registry=raw.registry).records) == 0
    assert backtest(raw.events, P, registry=raw.registry).dropped["future_time"] == 1
    # the CLI: same count in the backtest's input and nothing traded
    p = subprocess.run([sys.executable, "-m", "liqcore", "backtest", *map(str, rec.files), "--json", "--min-history",
                        "5", "--history", "50", "--window", "3s", "--refresh", "30d"], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    assert json.loads(p.stdout)["trades"] == []


@pytest.mark.integration
@pytest.mark.parametrize("skew,orders", [("5s", 0), ("1000d", 1)])
def test_future_stamped_liquidation_through_the_fake_exchange_places_no_order(skew, orders):
    """`run --live` path: BybitGateway against the fake venue; the public frames arrive over its websocket."""
    async def main():
        async with FakeExchange() as fx:
            from liqcore.venues.bybit.gateway import BybitGateway

            params = P.replace(max_clock_skew_ns=Params.from_mapping({"max-clock-skew": skew}).max_clock_skew_ns)
            gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, symbols=["ETHUSDT"])
            eng = Engine(params, symbols=["ETHUSDT"], gateway=gw)
            runner = LiveRunner(eng, "bybit", ["ETHUSDT"], ws_url=fx.public_ws_url, clock_interval_s=0.05)
            stop = asyncio.Event()
            task = asyncio.create_task(runner.run(stop=stop))
            await runner.feed.wait_connected(5)
            await asyncio.sleep(0.2)
            for _, f in poisoned_frames(int(time.time() * 1000)):
                await fx.push(f)
            t = time.monotonic()
            while eng.decoder("bybit").counters["frames"] < 10 and time.monotonic() - t < 5:
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.5)
            stop.set()
            summary = await task
            return len(fx.requests_to("/v5/order/create")), summary

    n, summary = asyncio.run(main())
    assert n == orders
    if not orders:
        assert summary["decoder"]["future_time"] == 1 and summary["cascades"] == 0


@pytest.mark.integration
def test_run_live_replay_with_a_future_stamp_places_no_order(tmp_path):
    """`liqcore run --replay FILE --live`: the gateway trades against the in-process fake venue, on the replayed clock
    (a frame stamped past its receive time is still refused, nothing is ordered)."""
    from liqcore.live.recorder import Recorder

    with Recorder(tmp_path / "rec") as rec:
        for r, f in poisoned_frames(int(time.time() * 1000)):
            rec.write_frame("bybit", f, r)
    p = subprocess.run([sys.executable, "-m", "liqcore", "run", "--symbols", "ETHUSDT", "--replay", str(tmp_path / "rec"),
                        "--live", "--duration", "30", "--no-dashboard", "--json", "--log", str(tmp_path / "log.jsonl"),
                        "--min-history", "5", "--history", "50", "--window", "3s", "--refresh", "30d"],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()[-3000:]
    s = json.loads(p.stdout)
    assert s["mode"] == "live" and s["clock"] == "replay" and s["frames"] >= 10
    assert s["decoder"]["future_time"] == 1 and s["cascades"] == 0 and s["orders"] == 0


def test_max_clock_skew_is_one_name_everywhere(tmp_path):
    from liqcore.config import params_from_args

    assert Params().max_clock_skew_ns == 5_000_000_000
    assert Params.from_mapping({"max_clock_skew": "250ms"}).max_clock_skew_ns == 250_000_000
    cfg = tmp_path / "p.toml"
    cfg.write_text('max_clock_skew = "2s"\n')
    import argparse

    from liqcore.config import add_param_arguments

    ap = argparse.ArgumentParser()
    add_param_arguments(ap)
    assert params_from_args(ap.parse_args(["--config", str(cfg)])).max_clock_skew_ns == 2_000_000_000
    assert params_from_args(ap.parse_args(["--max-clock-skew", "1s"])).max_clock_skew_ns == 1_000_000_000
    with pytest.raises(ValueError, match="max-clock-skew"):
        Params.from_mapping({"max-clock-skew": "soon"})


# ------------------------------------------------------------------------------------------- item 7
def test_failing_clock_is_counted_exported_and_halts_entries():
    eng = Engine(P, symbols=["ETHUSDT"])
    boom = RuntimeError("clock broke")

    def bad_clock(ts):
        raise boom

    good = eng.core.on_clock
    eng.core.on_clock = bad_clock
    for _ in range(eng.clock_failure_limit - 1):
        with pytest.raises(RuntimeError):
            eng.on_clock()
        eng.clock_failed(boom)
    assert not eng.halted  # a few failures are counted, entries continue
    with pytest.raises(RuntimeError):
        eng.on_clock()
    eng.clock_failed(boom)
    assert eng.halted.startswith("clock failing") and "clock broke" in eng.halted
    ds = []
    for r, f in poisoned_frames(int(time.time() * 1000), future=False)[:-2]:
        ds += eng.on_frame("bybit", f, r)
    now_ms = int(time.time() * 1000)
    for q, dt in ((10, 0), (12, 500)):
        ds += eng.on_frame("bybit", orjson.dumps(liquidation_frame("ETHUSDT", 3000, q, "Buy", now_ms + dt)),
                           (now_ms + dt) * 1_000_000)
    assert [d.reason for d in ds] == ["halted"] and eng.orders == 0
    text = eng.metrics.render()
    assert f'liqcore_errors_total{{source="clock"}} {eng.clock_failure_limit}' in text
    assert "liqcore_entries_halted 1" in text and 'liqcore_blocked_total{reason="halted"} 1' in text
    snap = eng.snapshot()
    assert snap["errors"] == eng.clock_failure_limit and snap["halted"] and snap["blocked"] == {"halted": 1}
    from rich.console import Console

    from liqcore.live.dashboard import render

    snap["feeds"] = []
    con = Console(record=True, width=200)
    con.print(render(snap))
    out = con.export_text()
    assert "ENTRIES HALTED" in out and "errors 5 (clock 5)" in out
    eng.core.on_clock = good  # a tick succeeds again: entries resume
    eng.on_clock()
    eng.clock_ok()
    assert not eng.halted and eng.clock_failures == 0 and eng.halts == 1


@pytest.mark.integration
def test_runner_clock_failures_reach_metrics_endpoint_and_summary():
    """The runner's clock task: failures are counted, exported on /metrics, halt entries; the summary says so."""
    import aiohttp

    async def main():
        async with FakeExchange() as fx:
            eng = Engine(P, symbols=["ETHUSDT"])
            eng.clock_failure_limit = 3
            eng.core.on_clock = lambda ts: 1 / 0
            runner = LiveRunner(eng, "bybit", ["ETHUSDT"], ws_url=fx.public_ws_url, clock_interval_s=0.02,
                                metrics_port=0)
            stop = asyncio.Event()
            task = asyncio.create_task(runner.run(stop=stop))
            t = time.monotonic()
            while not eng.halted and time.monotonic() - t < 5:
                await asyncio.sleep(0.02)
            port = runner._metrics_runner.addresses[0][1]
            async with aiohttp.ClientSession() as s:
                async with s.get(f"http://127.0.0.1:{port}/metrics") as r:
                    text = await r.text()
            stop.set()
            return text, await task

    text, summary = asyncio.run(main())
    assert "liqcore_entries_halted 1" in text and 'liqcore_errors_total{source="clock"}' in text
    assert summary["halted"].startswith("clock failing") and summary["errors_by_source"]["clock"] >= 3
    assert summary["errors"] >= 3 and summary["halts"] == 1


@pytest.mark.integration
def test_private_stream_ping_failure_is_counted_and_reconnects(monkeypatch):
    import aiohttp

    from liqcore.venues.bybit.gateway import BybitGateway

    real = aiohttp.ClientWebSocketResponse.send_str
    failed = []

    async def flaky(self, data, *a, **k):
        if '"op":"ping"' in data and not failed:
            failed.append(data)
            raise ConnectionResetError("socket gone")
        return await real(self, data, *a, **k)

    monkeypatch.setattr(aiohttp.ClientWebSocketResponse, "send_str", flaky)

    async def main():
        async with FakeExchange() as fx:
            gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, symbols=["ETHUSDT"],
                              ping_interval=0.1)
            eng = Engine(P, symbols=["ETHUSDT"], gateway=gw)
            await eng.start()
            t = time.monotonic()
            while gw.stream.stats["reconnects"] < 1 and time.monotonic() - t < 5:
                await asyncio.sleep(0.02)
            stats = dict(gw.stream.stats)
            errs = eng.error_counts()
            text = eng.metrics.render()
            await eng.shutdown()
            return stats, errs, text

    stats, errs, text = asyncio.run(main())
    assert failed and stats["ping_failures"] == 1 and stats["reconnects"] >= 1
    assert errs["private_ping"] == 1 and 'liqcore_errors_total{source="private_ping"} 1' in text


# ------------------------------------------------------------------------------------------- item 17
def test_dashboard_shows_threshold_warm_up():
    from rich.console import Console

    from liqcore.live.dashboard import render

    eng = Engine(P, symbols=["ETHUSDT", "SOLUSDT"])
    t = int(time.time() * 1000) - 5000
    for i, q in enumerate(BASE[:3]):
        eng.on_frame("bybit", orjson.dumps(liquidation_frame("ETHUSDT", 3000, q, "Buy", t + i)), (t + i) * 10**6)
    rows = {r["symbol"]: r for r in eng.snapshot()["symbols"]}
    assert rows["ETHUSDT"]["warmup"] == {"seen": 3, "need": 5} and rows["SOLUSDT"]["warmup"] == {"seen": 0, "need": 5}
    snap = eng.snapshot()
    snap["feeds"] = []
    con = Console(record=True, width=200)
    con.print(render(snap))
    assert "warm-up 3/5" in con.export_text()
    for i, q in enumerate(BASE[3:] + (0.3,)):  # (the threshold is computed at the first liquidation after those)
        eng.on_frame("bybit", orjson.dumps(liquidation_frame("ETHUSDT", 3000, q, "Buy", t + 10 + i)), (t + 10 + i) * 10**6)
    rows = {r["symbol"]: r for r in eng.snapshot()["symbols"]}
    assert rows["ETHUSDT"]["warmup"] is None and rows["ETHUSDT"]["threshold"] > 0  # the threshold exists


# ------------------------------------------------------------------------------------------- item 8
REPLAY_FLAGS = ["--min-history", "5", "--history", "50", "--window", "3s", "--refresh", "30d", "--offset", "0.5%",
                "--take-profit", "0.5%", "--stop-loss", "0.5%", "--entry-timeout", "2m", "--hold-timeout", "2m",
                "--cooldown", "5m", "--equity", "10000"]


def replay_recording(path, t0_ms: int = 1_763_683_200_000):
    """A recording with ten cascades minutes apart (recorded time) and every outcome: take-profit,
    stop-loss, hold timeout, unfilled entry (entry timeout), a cascade inside a cooldown, a busy symbol.
    Reference prices are multiples of 400, so the 0.5 % levels fall on the 0.01 price grid paper orders use."""
    from liqcore.live.recorder import Recorder

    frames: list[tuple[int, dict]] = []
    for i, q in enumerate(BASE):
        frames.append((t0_ms + i * 100, liquidation_frame("ETHUSDT", 3000, q, "Buy", t0_ms + i * 100)))
    # (minutes after t0, side of the liquidations, outcome)
    script = [(1, "Buy", "tp"), (11, "Sell", "sl"), (12, "Buy", "cooldown"), (21, "Buy", "timeout"),
              (31, "Sell", "tp"), (41, "Buy", "unfilled"), (42, "Sell", "busy"), (51, "Sell", "timeout"),
              (61, "Buy", "sl"), (71, "Sell", "tp")]
    for k, (minute, side, outcome) in enumerate(script):
        t = t0_ms + minute * 60_000
        if outcome != "busy":  # (a busy symbol's print stays at the resting entry's reference)
            ref = 2000.0 + 400 * (k % 3)  # limit and levels on the 0.01 grid
        long_ = side == "Buy"  # longs liquidated: buy below the reference
        lim = ref * (0.995 if long_ else 1.005)
        tp, sl = (lim * 1.005, lim * 0.995) if long_ else (lim * 0.995, lim * 1.005)
        frames.append((t, trade_frame("ETHUSDT", ref, 1, "Sell", t)))
        frames.append((t + 100, liquidation_frame("ETHUSDT", 3000, 10, side, t + 100)))
        frames.append((t + 200, liquidation_frame("ETHUSDT", 3000, 12, side, t + 200)))
        if outcome in ("cooldown", "busy"):
            continue
        if outcome != "unfilled":
            frames.append((t + 1000, trade_frame("ETHUSDT", lim - 1 if long_ else lim + 1, 1, "Sell", t + 1000)))
        exit_px = {"tp": tp + (1 if long_ else -1), "sl": sl - (1 if long_ else -1), "timeout": lim + (1 if long_ else -1),
                   "unfilled": ref}[outcome]
        dt = 2000 if outcome in ("tp", "sl") else 150_000  # (a print after the 2 min hold / entry timeout)
        frames.append((t + dt, trade_frame("ETHUSDT", round(exit_px, 2), 1, "Sell", t + dt)))
    frames.sort(key=lambda x: x[0])
    with Recorder(path) as rec:
        for i, (ms, f) in enumerate(frames):
            rec.write_frame("bybit", orjson.dumps(f), (ms + 30) * 1_000_000 + i)  # 30 ms feed latency
    return rec.files


def _trade_key(t: dict) -> tuple:
    return (t["symbol"], t["side"], t["signal_ns"], t["entry_ns"], t["exit_ns"], t["exit_reason"])


@pytest.mark.integration
@pytest.mark.timeout(600)  # two CPU-bound commands: bounds that hold on a busy machine (a hang guard only)
def test_paper_replay_through_the_fake_exchange_trades_like_the_backtest(tmp_path):
    """`run --replay` at full speed follows the recording's receive times: the same trades as `liqcore
    backtest` on the same recording (entries, exits, prices, reasons), not cooldowns on the wall clock."""
    files = replay_recording(tmp_path / "rec")
    bt = subprocess.run([sys.executable, "-m", "liqcore", "backtest", *map(str, files), "--json", "--no-progress",
                         *REPLAY_FLAGS], capture_output=True, timeout=240)
    assert bt.returncode == 0, bt.stderr.decode()[-2000:]
    bt_trades = json.loads(bt.stdout)["trades"]
    assert sorted(t["exit_reason"] for t in bt_trades) == ["stop_loss", "stop_loss", "take_profit", "take_profit",
                                                           "take_profit", "timeout", "timeout"]
    assert len(files) == 2  # (the recorder starts a file per hour: the directory is replayed)
    run = subprocess.run([sys.executable, "-m", "liqcore", "run", "--symbols", "ETHUSDT", "--replay", str(files[0].parent),
                          "--speed", "0", "--duration", "60", "--no-dashboard", "--json", "--log",
                          str(tmp_path / "log.jsonl"), *REPLAY_FLAGS], capture_output=True, timeout=240)
    assert run.returncode == 0, run.stderr.decode()[-3000:]
    s = json.loads(run.stdout)
    assert s["clock"] == "replay" and s["mode"] == "paper"
    paper = s["trades"]
    assert [_trade_key(t) for t in paper] == [_trade_key(t) for t in bt_trades]
    for a, b in zip(paper, bt_trades):
        assert a["entry_price"] == pytest.approx(b["entry_price"], rel=1e-12)
        assert a["exit_price"] == pytest.approx(b["exit_price"], rel=1e-12)
        assert a["return"] == pytest.approx(b["return"], rel=1e-9, abs=1e-12)
    reasons = sorted(d["reason"] for d in s["decisions"] if d["action"] != "order")
    assert reasons == ["busy", "cooldown"]  # the two the backtest refuses too; no wall-clock cooldowns
    assert s["orders"] == 8 and s["fills_by_kind"] == {"entry": 7, "exit": 7} and s["fills"] == 14
    from liqcore.commands.run import summary_line

    assert "orders=8 fills=14 (entry 7, exit 7) trades=7" in summary_line(s)


def _paper_replay(files, params, *, tick_each_frame=True):
    """Paper trading a recording in-process, as `run --replay` does: the engine on the replay clock, a clock
    tick after every frame (the runner ticks between frames)."""
    from liqcore.testing.fake_replay import ReplayClock, read_recording

    eng = Engine(params, symbols=["ETHUSDT"])
    rc = ReplayClock()
    eng.replay_clock = rc
    for recv, data in rc.wrap(read_recording([str(f) for f in files], "bybit")):
        eng.on_frame("bybit", data, recv)
        if tick_each_frame:
            eng.on_clock()
    return eng


@pytest.mark.integration
@pytest.mark.timeout(600)  # CPU-bound: a hang guard that holds on a busy machine
def test_paper_replay_of_a_market_entry_strategy_trades_like_the_backtest(tmp_path):
    """A streaming strategy with market entries and exit notices: paper trading a recording gives exactly
    the backtest's trades (entry and exit times, prices, reasons), and cascade-mm's too."""
    import sys as _sys

    _sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    import _live_strategy

    _live_strategy.register()
    from liqcore.backtest.run import backtest

    files = replay_recording(tmp_path / "rec")
    params = Params.from_mapping({"min-history": 5, "history": 50, "window": "3s", "refresh": "30d",
                                  "cooldown": "5m", "hold-timeout": "2m", "slippage-bps": 2,
                                  "strategy": "test-every-third"})
    bt = backtest([str(f) for f in files], params, equity=10_000.0)
    eng = _paper_replay(files, params)
    paper = eng.core.ledger()
    assert len(bt.ledger) >= 3
    assert (bt.ledger["exit_reason"] == 8).any()  # signal exits (the notices) among them
    cols = ["symbol_id", "side", "signal_ns", "entry_ns", "exit_ns", "exit_reason"]
    assert [tuple(r) for r in paper[cols].tolist()] == [tuple(r) for r in bt.ledger[cols].tolist()]
    np.testing.assert_allclose(paper["entry_price"], bt.ledger["entry_price"], rtol=1e-12)
    np.testing.assert_allclose(paper["exit_price"], bt.ledger["exit_price"], rtol=1e-12)
    np.testing.assert_allclose(paper["ret"], bt.ledger["ret"], rtol=1e-9, atol=1e-12)
    n_open = int(bt.open_at_end.sum())
    assert eng.fill_kinds["entry"] == len(bt.ledger) + n_open and eng.orders == len(bt.ledger) + n_open
    assert eng.core.position(0)["status"] == ("open" if n_open else "flat")
    # the guide's strategy on the same recording through the same in-process replay
    gp = params.replace(strategy="cascade-mm")
    for k, v in dict(offset=0.005, take_profit=0.005, stop_loss=0.005, entry_timeout_ns=120_000_000_000).items():
        gp = gp.replace(**{k: v})
    bt2 = backtest([str(f) for f in files], gp, equity=10_000.0)
    eng2 = _paper_replay(files, gp)
    assert len(bt2.ledger) == 7
    assert [tuple(r) for r in eng2.core.ledger()[cols].tolist()] == [tuple(r) for r in bt2.ledger[cols].tolist()]

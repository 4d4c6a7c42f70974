"""A whole-market recording (Binance's all-market ``!forceOrder@arr`` frames over 300 symbols, the recorder's
format): every symbol keeps its own rolling threshold and cascade state, so the cascades found over the whole
market are, symbol by symbol, those of the symbol's liquidations alone; `detect` lists them and the
market-wide episodes."""
from __future__ import annotations

import numpy as np
import orjson
import pytest

from liqcore.types import RecordKind

N_SYMBOLS = 300


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    from tests.market._venues import write_all_market_recording

    path = tmp_path_factory.mktemp("allmkt") / "binance-all.jsonl"
    write_all_market_recording(path, [f"C{k:03d}USDT" for k in range(N_SYMBOLS)])
    return path


def _cascades(rec):
    c = rec[rec["record"] == RecordKind.CONFIRMED]
    e = {int(r["cascade_id"]): r for r in rec[rec["record"] == RecordKind.ENDED]}
    return [(int(x["start_ns"]), int(x["confirm_ns"]), int(e[int(x["cascade_id"])]["end_ns"]),
             int(e[int(x["cascade_id"])]["n_events"]), int(e[int(x["cascade_id"])]["n_large"])) for x in c]


def test_each_symbol_of_the_whole_market_keeps_its_own_threshold_and_cascades(recording):
    from liqcore._libs.detection import CascadeDetector
    from liqcore.dataset.load import load_events

    res = load_events([recording])
    ev = res.events
    assert len({res.registry.symbol(int(s)) for s in np.unique(ev["symbol_id"])}) == N_SYMBOLS
    rec, counts = CascadeDetector().run(ev, flush=True)
    assert counts["cascades"] >= N_SYMBOLS  # the bursts (two per symbol) confirm
    rng = np.random.default_rng(0)
    for sid in rng.choice(np.unique(ev["symbol_id"]), 25, replace=False):
        alone, _ = CascadeDetector().run(ev[ev["symbol_id"] == sid], flush=True)
        mine = rec[rec["symbol_id"] == sid]
        assert _cascades(mine) == _cascades(alone) and len(_cascades(alone)) >= 1
        assert np.array_equal(mine[mine["record"] == RecordKind.CONFIRMED]["threshold"],
                              alone[alone["record"] == RecordKind.CONFIRMED]["threshold"])


def test_detect_reads_the_all_market_stream_per_symbol(recording, capsys):
    from liqcore.cli import main

    assert main(["detect", str(recording), "--json", "--market-wide", "5"]) == 0
    rows = [orjson.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    per = [r for r in rows if not r.get("market_wide")]
    wide = [r for r in rows if r.get("market_wide")]
    assert len({r["symbol"] for r in per}) == N_SYMBOLS and {r["venue"] for r in per} == {"binance"}
    assert wide and all(w["n_instruments"] >= 5 for w in wide)


STREAM = '{"channel":"liquidation-orders","instType":"SWAP"}'


def _record_okx(out_dir, inst: dict, play, *flags: str):
    """``liqcore record --venue okx --symbols all --out out_dir`` against a fake OKX market stream and a local OKX
    REST server listing ``inst`` (read at each request: a dict the test changes is a venue whose list changes),
    while ``play(push)`` plays the venue in a thread (``push(instId, t_ms, contracts, price)``); the recording
    is stopped (SIGINT) once ``play`` returned and every pushed liquidation is on disk.  Returns (exit code,
    the liquidations pushed: instId -> [(contracts, price)])."""
    import os
    import signal
    import threading
    import time

    from aiohttp import web

    from liqcore.cli import main
    from liqcore.dataset.load import load_events
    from liqcore.testing.fake_exchange import FakeExchangeThread
    from liqcore.venues.fake_streams import FakeMarketStream
    from liqcore.venues.fake_universe import okx_instruments, okx_tickers
    from liqcore.venues.okx.samples import liquidation_frame

    from tests.market._venues import Server, wait_for

    app = web.Application()

    async def instruments(_):
        return web.json_response(okx_instruments(inst))

    async def tickers(_):
        return web.json_response(okx_tickers(inst))

    app.router.add_get("/api/v5/public/instruments", instruments)
    app.router.add_get("/api/v5/market/tickers", tickers)
    ft = FakeExchangeThread(FakeMarketStream, venue="okx")
    fs = ft.start()
    pushed: dict = {}

    def push(inst_id, t_ms, sz, px):
        ft.call(fs.push(liquidation_frame(inst_id, t_ms, sz, px), STREAM))
        pushed.setdefault(inst_id, []).append((sz, px))

    def on_disk():
        try:
            return len(load_events([out_dir], warn=lambda m: None).events) == sum(map(len, pushed.values()))
        except ValueError:  # (nothing written yet)
            return False

    def venue():
        deadline = time.monotonic() + 120
        try:
            wait_for(lambda: fs.subscribed(STREAM), deadline, 0.02)
            play(push)
            wait_for(on_disk, deadline, 0.1)
        finally:
            os.kill(os.getpid(), signal.SIGINT)

    t = threading.Thread(target=venue, daemon=True)
    try:
        with Server(app) as srv:
            t.start()
            code = main(["record", "--venue", "okx", "--symbols", "all", "--rest-url", srv.url, "--ws-url", fs.ws_url,
                         "--out", str(out_dir), "--flush", "0.1", "--quiet", "--duration", "200", *flags])
    finally:
        t.join(30)
        ft.stop()
    return code, pushed


def _check_sized(out_dir, pushed: dict, ct: dict) -> np.ndarray:
    """The recording read back: every pushed liquidation in base units (contracts x ctVal) and its notional
    (that x price), symbol by symbol; returns the liquidations read."""
    from liqcore.dataset.load import load_events
    from liqcore.types import Kind

    res = load_events([out_dir])
    ev = res.events[res.events["kind"] == int(Kind.LIQUIDATION)]
    assert not res.rejects.get("unknown_instrument") and len(ev) == sum(map(len, pushed.values()))
    for inst_id, rows in pushed.items():
        mine = ev[ev["symbol_id"] == res.registry.id("okx", inst_id)]
        assert sorted(mine["qty"].tolist()) == pytest.approx(sorted(sz * ct[inst_id] for sz, _ in rows), rel=1e-12)
        assert sorted((mine["qty"] * mine["price"]).tolist()) == pytest.approx(
            sorted(sz * ct[inst_id] * px for sz, px in rows), rel=1e-12)  # notional = contracts x ctVal x price
    return ev


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_an_okx_whole_market_recording_keeps_its_instrument_list_and_reads_back_in_base_units(tmp_path, capsys):
    """OKX counts liquidations in contracts: `record --venue okx --symbols all` keeps the venue's instrument list
    (400 swaps, each its own ctVal, tick and lot, with the time fetched) beside the recording, and reading the
    recording back gives, per symbol, quantity = contracts x ctVal and notional = that x price; the same files
    without the list are refused as unknown_instrument (never a guess)."""
    import shutil
    import time

    from liqcore.dataset.load import load_events
    from liqcore.venues.fake_universe import market_instruments, okx_inst_id
    from liqcore.venues.instruments import RECORDING_INSTRUMENTS

    inst = market_instruments(400, seed=3)
    ct = {okx_inst_id(s): i["qtyStep"] for s, i in inst.items()}  # (the fake lists a contract of one lot)
    picks = sorted(inst)[::67]  # six swaps over every grid, majors and long tail
    assert len({inst[p]["qtyStep"] for p in picks}) >= 4

    def play(push):
        t0 = int(time.time() * 1000) - 10_000
        for k, s in enumerate(picks):
            for j, sz in enumerate((3, 17, 250)):
                push(okx_inst_id(s), t0 + k * 100 + j, sz, inst[s]["price"])

    out_dir = tmp_path / "rec"
    code, pushed = _record_okx(out_dir, inst, play)
    err = capsys.readouterr().err
    assert code == 0, err
    kept = orjson.loads((out_dir / RECORDING_INSTRUMENTS).read_bytes())
    assert kept["venue"] == "okx" and len(kept["contract"]) == 400 and kept["contract"] == pytest.approx(ct)
    assert abs(kept["fetched_ns"] - time.time_ns()) < 600e9 and len(kept["rules"]) == 400
    assert f"instrument list kept in {out_dir / RECORDING_INSTRUMENTS}" in err
    ev = _check_sized(out_dir, pushed, ct)
    # backtest --symbols all of the recording takes the list kept with it (no --instruments, nothing cached)
    from liqcore.backtest.rules import kept_list, load_rules

    assert kept_list([tmp_path, out_dir]) == str(out_dir / RECORDING_INSTRUMENTS) and kept_list([tmp_path]) is None
    u, source = load_rules(kept_list([out_dir]), "okx", cache_dir=tmp_path / "empty-cache")
    assert len(u.rules) == 400 and str(out_dir / RECORDING_INSTRUMENTS) in source
    # the same frames without the list: the swaps the shipped table lacks are refused, never guessed
    bare = tmp_path / "bare"
    shutil.copytree(out_dir, bare)
    (bare / RECORDING_INSTRUMENTS).unlink()
    res2 = load_events([bare], warn=lambda m: None)
    assert res2.rejects.get("unknown_instrument", 0) >= 3 and len(res2.events) < len(ev)


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_a_swap_listed_while_recording_joins_the_kept_list_and_reads_back_sized(tmp_path, capsys):
    """`--instruments-refresh`: the list is asked for again while recording and merged into the kept one, so the
    liquidations of a swap the venue lists mid-recording (ctVal 7, in no table) read back in base units too."""
    import time

    from liqcore.venues.fake_universe import market_instruments, okx_inst_id
    from liqcore.venues.instruments import RECORDING_INSTRUMENTS

    from tests.market._venues import wait_for

    inst = market_instruments(20, seed=4)
    out_dir = tmp_path / "rec"
    side = out_dir / RECORDING_INSTRUMENTS

    def kept() -> dict:
        try:
            return orjson.loads(side.read_bytes())["contract"]
        except (OSError, ValueError, KeyError):
            return {}

    def play(push):
        t0 = int(time.time() * 1000) - 10_000
        old = sorted(inst)[7]
        push(okx_inst_id(old), t0, 4, inst[old]["price"])
        inst["NEWXUSDT"] = {"tickSize": 0.001, "qtyStep": 7.0, "minOrderQty": 7.0, "price": 1.234, "turnover": 1e7}
        assert wait_for(lambda: "NEWX-USDT-SWAP" in kept(), time.monotonic() + 60)
        for j, sz in enumerate((2, 30)):
            push("NEWX-USDT-SWAP", t0 + 100 + j, sz, 1.234)

    code, pushed = _record_okx(out_dir, inst, play, "--instruments-refresh", "0.3s")
    err = capsys.readouterr().err
    assert code == 0, err
    ct = {okx_inst_id(s): i["qtyStep"] for s, i in inst.items()}
    assert kept() == pytest.approx(ct) and len(kept()) == 21
    ev = _check_sized(out_dir, pushed, ct)
    assert len(ev) == 3 and sorted(pushed["NEWX-USDT-SWAP"]) == [(2, 1.234), (30, 1.234)]

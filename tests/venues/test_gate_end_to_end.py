"""Gate end to end: ``record --venue gate`` against the local fake Gate streams (127.0.0.1), and a synthetic Gate
recording (the synthetic market rendered in Gate's frames) loaded, converted into a dataset and backtested.

The fake follows Gate Futures WebSocket v4 (the subscribe request and its answer, ``futures.ping`` /
``futures.pong``, ``!all`` for every contract's liquidations: tests/venues/test_gate_conformance.py cites the
document); the frames are the ``samples`` part's, in the shapes Gate documents.
"""
from __future__ import annotations

import asyncio
import time

import numpy as np
import orjson
import pytest

from liqcore.types import Flag, Kind, Side
from tests._live_helpers import depth_book, recorded_lines


async def _until(cond, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def _record_from_fake(out, drive, *, depth_books=None, **rec):
    """``record --venue gate`` of BTC_USDT into ``out`` from the fake Gate streams (served on 127.0.0.1) while
    ``await drive(fs)`` runs, stopped after it (its end awaited 30 s at most) -> (record's result, the fake).
    ``depth_books``: the fake's REST base books, the recorder given its REST address; ``rec``: record's options."""
    from liqcore.commands.record import record
    from liqcore.venues.fake_streams import FakeMarketStream

    async with FakeMarketStream("gate") as fs:
        if depth_books is not None:
            fs.depth_books.update(depth_books)
            rec["rest_url"] = fs.rest_url
        stop = asyncio.Event()
        task = asyncio.create_task(record("gate", ["BTC_USDT"], str(out), ws_url=fs.ws_url, stop_event=stop, **rec))
        try:
            await drive(fs)
        finally:
            stop.set()
            res = await asyncio.wait_for(task, 30)
    return res, fs


def _depth_rows(out):
    """The recording's DEPTH rows in receive order, up to the recorder's stop (it rejected none)."""
    from liqcore.dataset.load import load_events

    got = load_events(out)
    assert got.n_rejected == 0, got.rejects
    ev = got.events[got.events["kind"] == Kind.DEPTH]
    ev = ev[np.argsort(ev["ts_recv"], kind="stable")]
    stops = [x["recv_ns"] for x in recorded_lines(out) if x.get("gap", {}).get("reason") == "stopped"]
    return ev[ev["ts_recv"] < min(stops)]


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_record_venue_gate_keeps_every_liquidation_and_the_recording_loads_in_base_units(tmp_path):
    from liqcore.dataset.load import load_events
    from liqcore.venues.gate.samples import bbo_frame, liquidation_frame, trade_frame

    out = tmp_path / "rec"

    async def drive(fs):
        all_liq = '{"channel":"futures.public_liquidates","payload":["!all"]}'
        await _until(lambda: fs.subscribed(all_liq) and fs.subscribed(
            '{"channel":"futures.trades","payload":["BTC_USDT"]}') and fs.subscribed(
            '{"channel":"futures.book_ticker","payload":["BTC_USDT"]}'))
        t = int(time.time() * 1000)
        # a long (the forced order's size negative: a sell) and a short (positive) of BTC_USDT, a long of
        # ETH_USDT (every contract: !all)
        fs.liquidation(liquidation_frame("BTC_USDT", t, 120, 60000.5, "long"), "BTC_USDT")
        fs.liquidation(liquidation_frame("BTC_USDT", t + 1, 2.5, 60001.0, "short"), "BTC_USDT")
        fs.liquidation(liquidation_frame("ETH_USDT", t + 2, 30, 3000.25, "long"), "ETH_USDT")
        fs.trade(trade_frame("BTC_USDT", t + 3, 7, 60000.0, "sell", trade_id=11), "BTC_USDT")
        fs.write(bbo_frame("BTC_USDT", t + 4, 59999.9, 100, 60000.1, 250),
                 '{"channel":"futures.book_ticker","payload":["BTC_USDT"]}')
        await asyncio.sleep(0.3)

    res, fs = asyncio.run(_record_from_fake(out, drive, flush_s=0.1))
    size_decimal, sent = list(fs.gate_size_decimal), list(fs.messages)
    assert res["failure"] is None and res["lines"] >= 5, res
    assert size_decimal and all(h == "1" for h in size_decimal)  # sizes asked as decimal strings
    subs = [orjson.loads(m) for m in sent if b'"subscribe"' in m]
    assert {"channel": "futures.public_liquidates", "payload": ["!all"]} in [
        {"channel": s["channel"], "payload": s["payload"]} for s in subs]
    got = load_events(out)
    ev = got.events
    assert got.n_rejected == 0, got.rejects
    liq = ev[ev["kind"] == Kind.LIQUIDATION]
    assert liq["side"].tolist() == [Side.LONG, Side.SHORT, Side.LONG]
    assert liq["qty"].tolist() == [pytest.approx(120 * 0.0001), pytest.approx(2.5 * 0.0001), pytest.approx(30 * 0.01)]
    assert all(f & Flag.SAMPLED for f in liq["flags"].tolist()) and set(ev["venue"].tolist()) == {4}
    names = dict((sid, sym) for sid, v, sym in got.registry)
    assert sorted(names[s] for s in set(liq["symbol_id"].tolist())) == ["BTC_USDT", "ETH_USDT"]
    trades = ev[ev["kind"] == Kind.TRADE]
    assert trades["side"].tolist() == [Side.SELL] and trades["qty"].tolist() == [pytest.approx(0.0007)]
    assert (ev["kind"] == Kind.QUOTE).sum() == 2


def _synthetic_recording(tmp_path, days: int, hours: float | None = None):
    """The synthetic market (BTCUSDT, ETHUSDT) in Gate's frames (received in its first ``hours``), written by the
    recorder -> (market, its dir, frames, the receive time the frames end before)."""
    from liqcore.live.recorder import Recorder
    from liqcore.synthetic.market import synthetic_market

    m = synthetic_market(days=days, symbols=("BTCUSDT", "ETHUSDT"), seed=11, venue="gate", cache=False)
    rec = Recorder(tmp_path / "rec")
    n = 0
    end = int(m.events["ts_recv"].min() + hours * 3600e9) if hours else 2**62
    for recv_ns, frame in m.frames("gate"):
        if recv_ns >= end:
            break
        assert frame.startswith(b'{"time":') and b'"channel":"futures.' in frame
        rec.write_frame("gate", frame, recv_ns)
        n += 1
    rec.close()
    return m, tmp_path / "rec", n, end


@pytest.mark.slow
def test_a_synthetic_gate_recording_loads_and_converts_into_a_dataset(tmp_path):
    from liqcore.cli import main
    from liqcore.dataset.load import load_events
    from liqcore.dataset.read import load_dataset

    m, rec, n, end = _synthetic_recording(tmp_path, 1, hours=2)
    got = load_events(rec)
    ev = got.events
    assert got.n_rejected == 0 and len(ev) == n
    # the same liquidations as the market shows Gate's stream (one a contract a second), in base units
    want = m.events[(m.events["kind"] == Kind.LIQUIDATION) & m.sampled_mask("gate") & (m.events["ts_recv"] < end)]
    liq = ev[ev["kind"] == Kind.LIQUIDATION]
    assert len(liq) == len(want) > 0
    key = np.lexsort((want["price"], want["ts_event"]))
    key2 = np.lexsort((liq["price"], liq["ts_event"]))
    assert liq["side"][key2].tolist() == want["side"][key].tolist()
    assert np.allclose(liq["qty"][key2], want["qty"][key], rtol=1e-9)
    assert {sym for _s, _v, sym in got.registry} == {"BTC_USDT", "ETH_USDT"}
    ds = tmp_path / "ds"
    assert main(["convert", str(rec), "--dataset", str(ds)]) == 0
    assert [p.name for p in ds.glob("venue=*")] == ["venue=gate"]
    back = load_dataset(ds)
    assert len(back.events) == len(ev) and set(back.events["venue"].tolist()) == {4}


@pytest.mark.slow
def test_a_backtest_runs_on_a_gate_dataset(tmp_path, capsys):
    import json

    from liqcore.cli import main

    _m, rec, _n, _end = _synthetic_recording(tmp_path, 2)
    ds = tmp_path / "ds"
    assert main(["convert", str(rec), "--dataset", str(ds)]) == 0
    capsys.readouterr()
    assert main(["backtest", str(ds), "--equity", "10000", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["summary"]["cascades"] > 0 and len(out["trades"]) > 0


def test_the_synthetic_markets_gate_frames_decode_into_the_events_they_render():
    """The samples part's ``render_synthetic`` (what ``Market.frames("gate")`` yields): liquidations signed as the
    forced order (a long's negative: a sell; tests/venues/test_gate_conformance.py names the documents), trades by the
    taker, sizes in contracts of the bundled multiplier; tickers not rendered."""
    from liqcore.venues.decoder import Decoder
    from liqcore.venues.gate.samples import render_synthetic

    t = 1_767_225_600_000_000_000
    rows = [(t, 60000.5, 0.0123, 0, Side.LONG, Kind.LIQUIDATION, True),
            (t + 1, 60000.0, 0.5, 0, Side.SHORT, Kind.LIQUIDATION, True),
            (t + 2, 3000.25, 1.37, 1, Side.SELL, Kind.TRADE, True),
            (t + 3, 3000.25, 9.0, 1, Side.LONG, Kind.LIQUIDATION, False),   # not shown by a sampled stream
            (t + 4, 3000.3, 0.0, 1, 0, Kind.MARK, True)]
    cols = list(zip(*rows))
    frames = list(render_synthetic(range(len(rows)), cols[0], [x + 5 for x in cols[0]], cols[1], cols[2], cols[3],
                                   cols[4], cols[5], cols[6], {0: "BTCUSDT", 1: "ETHUSDT"}, {0: 1, 1: 2},
                                   {0: 4, 1: 2}))
    assert len(frames) == 3
    dec = Decoder("gate")
    ev = np.concatenate([dec.feed(f, r) for r, f in frames])
    assert ev["kind"].tolist() == [Kind.LIQUIDATION, Kind.LIQUIDATION, Kind.TRADE]
    assert ev["side"].tolist() == [Side.LONG, Side.SHORT, Side.SELL]
    assert ev["qty"].tolist() == [pytest.approx(0.0123), pytest.approx(0.5), pytest.approx(1.37)]
    assert ev["price"].tolist() == [60000.5, 60000.0, 3000.25]
    assert b'"size":"-' in frames[0][1] and b'"size":"-' not in frames[1][1]  # the long's forced sell: negative
    assert b'"contract":"BTC_USDT"' in frames[0][1]


def test_synthetic_gate_frames_refuse_a_contract_without_a_known_multiplier():
    from liqcore.venues.gate.samples import render_synthetic

    frames = render_synthetic([0], [1], [2], [0.1], [100.0], [0], [Side.LONG], [Kind.LIQUIDATION], [True],
                              {0: "DOGEUSDT"}, {0: 5}, {0: 0})
    with pytest.raises(ValueError, match="no Gate contract size .* DOGE_USDT"):
        next(iter(frames))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_run_replay_of_a_gate_recording_paper_trades_what_the_backtest_finds(tmp_path, capsys):
    """``liqcore run --venue gate --replay REC`` serves the recording through the fake Gate streams (its
    ``fake_streams`` part), trades it on paper with the bundled contracts' rules, and books the trades
    ``liqcore backtest REC`` finds on the same recording."""
    import json
    import re

    from liqcore.cli import main

    _m, rec, _n, _end = _synthetic_recording(tmp_path, 1)
    capsys.readouterr()
    assert main(["run", "--venue", "gate", "--symbols", "BTC_USDT,ETH_USDT", "--replay", str(rec), "--speed", "0",
                 "--no-dashboard"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("paper gate BTC_USDT,ETH_USDT: ") and "no_instrument" not in line
    paper = int(re.search(r" trades=(\d+)", line).group(1))
    assert main(["backtest", str(rec), "--equity", "10000", "--json"]) == 0
    assert paper == len(json.loads(capsys.readouterr().out)["trades"]) > 0


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_record_depth_gate_keeps_the_book_by_gates_update_id_rule(tmp_path):
    """``record --venue gate --depth``: ``futures.order_book_update`` frames and the REST base books
    (``GET /api/v4/futures/usdt/order_book?with_id=true``) the recorder asks for, read back as the book: updates
    older than the base book dropped, the one holding baseID+1 applied, a lost update a gap and a new base book
    (Gate, "How to maintain local order book")."""
    out = tmp_path / "rec"
    book = {"id": 100, "bids": [["60000", "50"], ["59999.9", "20"]], "asks": [["60000.1", "10"]]}
    topic = '{"channel":"futures.order_book_update","payload":["BTC_USDT","100ms","20"]}'
    t = int(time.time() * 1000)

    def upd(U, u, b=(), a=()):
        return {"time": t // 1000, "time_ms": t, "channel": "futures.order_book_update", "event": "update",
                "result": {"t": t + u, "s": "BTC_USDT", "U": U, "u": u, "b": [{"p": p, "s": q} for p, q in b],
                           "a": [{"p": p, "s": q} for p, q in a]}}

    async def drive(fs):
        await _until(lambda: fs.subscribed(topic))
        fs.write(upd(95, 99, [["59999", "7"]]), topic)           # older than the base book: dropped
        fs.write(upd(100, 102, [["60000", "40"]]), topic)        # 100 <= 101 <= 102: the first applied
        await _until(lambda: sum("rest" in x for x in recorded_lines(out)) == 1)
        fs.write(upd(103, 103, (), [["60000.1", "0"]]), topic)
        book.update(id=110, bids=[["60000", "80"]], asks=[["60000.5", "10"]])
        fs.write(upd(106, 111, [["59990", "10"]]), topic)        # 104..105 lost: a break
        await _until(lambda: sum("rest" in x for x in recorded_lines(out)) == 2)
        fs.write(upd(112, 112, (), [["60000.6", "20"]]), topic)
        await _until(lambda: sum(isinstance(x.get("frame"), dict) for x in recorded_lines(out)) >= 5)

    res, fs = asyncio.run(asyncio.wait_for(_record_from_fake(
        out, drive, depth_books={"BTC_USDT": lambda: (book["id"], book["bids"], book["asks"])}, flush_s=0.05,
        book=False, depth=1), 90))
    rest = list(fs.rest_requests)
    assert rest.count("/api/v4/futures/usdt/order_book") == 2 and res["depth"]["snapshots"] == 2
    ev = _depth_rows(out)
    flags = ev["flags"].tolist()
    assert flags.count(int(Flag.DEPTH_GAP)) == 1
    # after the break: the new base book (id 110), the straddling update (106..111 holds 111) and 112
    # (in contracts: BTC_USDT's are 0.0001 BTC each)
    assert depth_book(ev, 0.0001) == {(Side.BUY, 60000.0): 80.0, (Side.BUY, 59990.0): 10.0,
                                      (Side.SELL, 60000.5): 10.0, (Side.SELL, 60000.6): 20.0}


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_record_depth_gate_takes_a_full_push_as_the_book_without_a_rest_base_book(tmp_path):
    """The fake's ``futures.order_book_update`` full pushes (``samples.depth_frame(full=True)``: Gate's ``"full":
    true``, changelog 2025-05-22, "the user should replace the local order book with the provided data"): one as the
    first push of the subscription (as Gate's Order Book V2 documents its first push), without ``U``, is the book at
    once (no REST base book asked for); an update follows its ``u``; a later full push replaces the book (a level it
    does not hold is gone).  The recording reads back as that book."""
    from liqcore.venues.gate.samples import depth_frame

    out = tmp_path / "rec"
    topic = '{"channel":"futures.order_book_update","payload":["BTC_USDT","100ms","20"]}'
    t = int(time.time() * 1000)

    def depth_lines():
        return sum(isinstance(x.get("frame"), dict) and x["frame"].get("channel") == "futures.order_book_update"
                   for x in recorded_lines(out))

    async def drive(fs):
        await _until(lambda: fs.subscribed(topic))
        fs.write(depth_frame("BTC_USDT", t, [("60000", 50), ("59999.9", 20)], [("60000.1", 10)], last_id=100,
                             full=True), topic)
        fs.write(depth_frame("BTC_USDT", t + 1, [("60000", 40)], (), 101, 101), topic)
        fs.write(depth_frame("BTC_USDT", t + 2, [("59990", 5)], [("60000.5", 7)], last_id=200, full=True), topic)
        fs.write(depth_frame("BTC_USDT", t + 3, (), [("60000.6", 3)], 201, 201), topic)
        await _until(lambda: depth_lines() >= 4)

    res, fs = asyncio.run(asyncio.wait_for(_record_from_fake(
        out, drive, depth_books={"BTC_USDT": lambda: (1, [["1", "1"]], [["2", "1"]])},  # (never to be asked for)
        flush_s=0.05, book=False, depth=1), 90))
    rest = list(fs.rest_requests)
    assert "/api/v4/futures/usdt/order_book" not in rest and res["depth"]["snapshots"] == 0
    ev = _depth_rows(out)
    assert not any(int(f) & Flag.DEPTH_GAP for f in ev["flags"].tolist())
    # (in contracts: BTC_USDT's are 0.0001 BTC each)
    assert depth_book(ev, 0.0001) == {(Side.BUY, 59990.0): 5.0, (Side.SELL, 60000.5): 7.0, (Side.SELL, 60000.6): 3.0}

"""`liqcore record --depth` against each venue's documented depth protocol, on fakes served on 127.0.0.1: the
recording keeps every depth frame and the REST snapshots the recorder asked for; read back, it is the venue's
book as DEPTH rows, a sequence break marked as a gap and followed by a fresh snapshot, never papered over.

* Binance USD-M ("How to manage a local order book correctly"): buffer `<symbol>@depth` events, get `GET
  /fapi/v1/depth?symbol=S&limit=1000`, drop events with `u` < `lastUpdateId`, the first applied one has `U` <=
  `lastUpdateId` <= `u`, then each `pu` equals the previous `u`, "otherwise initialize the process from step 3".
* OKX v5 (changelog "Delist initial snapshot and checksum field in order book channels", 2026; checksum
  deprecation notice of 21 May 2026: "will always return 0 and must no longer be used"): `books` sends updates
  only; buffer them, get `GET /api/v5/market/books`, drop updates with `seqId` <= the snapshot's, the first has
  `prevSeqId` <= snapshot `seqId` < `seqId`; each `prevSeqId` equals the previous `seqId`.
* Bybit v5 "Orderbook": "Once you have subscribed successfully, you will receive a snapshot immediately"; a
  delta whose `u` does not increase is a break: the recorder re-subscribes for a new snapshot.
"""
from __future__ import annotations

import asyncio
import time

import numpy as np
import orjson
import pytest

from liqcore.types import Flag, Kind, Side
from tests._live_helpers import depth_book as _book, recorded_lines as _lines, wait_until

B, A = int(Side.BUY), int(Side.SELL)
SNAP, GAP = int(Flag.SNAPSHOT), int(Flag.DEPTH_GAP)
T0 = int(time.time() * 1000)  # ms: the venue's times near the receive times


def _rests(out):
    return [x for x in _lines(out) if "rest" in x]


def _depth(out):
    from liqcore.dataset.load import load_events

    res = load_events(out)
    ev = res.events[res.events["kind"] == Kind.DEPTH]
    ev = ev[np.argsort(ev["ts_recv"], kind="stable")]  # (the replay's order: receive time)
    # the recorder's stop writes a gap line per connection (the books unknown from there): the rows before it
    stops = [x["recv_ns"] for x in _lines(out) if x.get("gap", {}).get("reason") == "stopped"]
    assert stops and (ev["flags"][ev["ts_recv"] >= min(stops)] == GAP).all()
    return ev[ev["ts_recv"] < min(stops)], res


async def _recording(venue, out, fs_kwargs, drive, depth=1, **rec):
    from liqcore.commands.record import record

    stop = asyncio.Event()
    task = asyncio.ensure_future(record(venue, rec.pop("symbols"), str(out), flush_s=0.05, stop_event=stop,
                                        book=False, depth=depth, **rec, **fs_kwargs))
    try:
        await drive()
    finally:
        stop.set()
        res = await asyncio.wait_for(task, 30)
    return res


def test_binance_depth_recorded_with_its_rest_snapshots_and_a_break_refetched(tmp_path):
    from liqcore.venues.fake_streams import FakeMarketStream

    out = tmp_path / "rec"
    book = {"uid": 100, "bids": [["100.0", "5"], ["99.9", "2"]], "asks": [["100.1", "1"], ["100.2", "3"]]}

    def ev(U, u, pu, b=(), a=()):
        return {"e": "depthUpdate", "E": T0 + u, "T": T0 + u, "s": "BTCUSDT", "U": U, "u": u, "pu": pu,
                "b": list(b), "a": list(a)}

    async def main():
        async with FakeMarketStream("binance") as fs:
            fs.depth_books["BTCUSDT"] = lambda: (book["uid"], book["bids"], book["asks"])
            name = "btcusdt@depth@100ms"

            async def drive():
                await wait_until(lambda: fs.subscribed(name), 20)
                await fs.push(ev(90, 95, 89, [["99.8", "7"]]), name)  # before the snapshot: u < 100, dropped
                await fs.push(ev(96, 101, 95, [["100.0", "4"]]), name)  # straddles lastUpdateId 100: applied
                await wait_until(lambda: len(_rests(out)) == 1, 20)
                await fs.push(ev(102, 104, 101, (), [["100.1", "0"]]), name)
                book.update(uid=108, bids=[["100.0", "9"]], asks=[["100.3", "1"]])
                await fs.push(ev(106, 108, 105, [["99.5", "1"]]), name)  # pu 105 != 104: a break
                await wait_until(lambda: len(_rests(out)) == 2, 20)
                await fs.push(ev(109, 110, 108, (), [["100.4", "2"]]), name)
                await wait_until(lambda: sum("frame" in x for x in _lines(out)) >= 5, 20)

            return await _recording("binance", out, {"ws_url": fs.ws_url, "rest_url": fs.rest_url}, drive,
                                    symbols=["BTCUSDT"]), list(fs.rest_requests)

    res, rest = asyncio.run(asyncio.wait_for(main(), 90))
    assert rest.count("/fapi/v1/depth") == 2
    assert res["depth"]["snapshots"] == 2 and res["depth"]["bad_frames"] == 0
    assert [x["rest"]["path"] for x in _rests(out)] == ["/fapi/v1/depth"] * 2
    ev, r = _depth(out)
    assert r.n_rejected == 0, r.rejects
    flags = ev["flags"].tolist()
    assert flags.count(GAP) == 1  # the break, marked
    g = flags.index(GAP)
    # before the break: the snapshot, then 96..101 and 102..104 on it
    assert _book(ev[:g]) == {(B, 100.0): 4.0, (B, 99.9): 2.0, (A, 100.2): 3.0}
    # after it: the new snapshot (lastUpdateId 108), the buffered 106..108 straddling it, then 109..110
    assert _book(ev) == {(B, 100.0): 9.0, (B, 99.5): 1.0, (A, 100.3): 1.0, (A, 100.4): 2.0}
    assert (B, 99.8) not in _book(ev[:g])  # the event older than the first snapshot never applied
    # converted into a dataset: its depth files hold the same rows, in receive order, with book checkpoints
    from liqcore.cli import main
    from liqcore.dataset import load_depth

    assert main(["convert", str(out), "--dataset", str(tmp_path / "ds")]) == 0
    rows, _reg = load_depth(tmp_path / "ds")
    assert len(rows) >= len(ev) and list((tmp_path / "ds").rglob("book.parquet"))
    for f in ("price", "qty", "side", "flags", "ts_recv"):
        assert rows[f][:len(ev)].tolist() == ev[f].tolist()


def test_okx_books_updates_only_on_a_rest_snapshot_and_a_seq_break_refetched(tmp_path):
    from liqcore.venues.fake_streams import FakeMarketStream

    out = tmp_path / "rec"
    inst = "BTC-USDT-SWAP"
    book = {"seq": 50, "bids": [["100", "5"], ["99.9", "2"]], "asks": [["100.1", "1"]]}

    def upd(seq, prev, b=(), a=()):  # OKX levels: [price, size, "0", orders]; checksum deprecated: 0
        return {"arg": {"channel": "books", "instId": inst}, "action": "update",
                "data": [{"asks": [list(x) + ["0", "1"] for x in a], "bids": [list(x) + ["0", "1"] for x in b],
                          "ts": str(T0 + seq), "checksum": 0, "seqId": seq, "prevSeqId": prev}]}

    async def main():
        async with FakeMarketStream("okx") as fs:
            fs.depth_books[inst] = lambda: (book["seq"], book["bids"], book["asks"])
            arg = orjson.dumps({"channel": "books", "instId": inst}).decode()

            async def drive():
                await wait_until(lambda: fs.subscribed(arg), 20)
                await fs.push(upd(45, 40, [["99.7", "1"]]), arg)  # older than the snapshot: dropped
                await fs.push(upd(52, 45, [["100", "4"]]), arg)  # 45 <= 50 < 52: the first applied
                await wait_until(lambda: len(_rests(out)) == 1, 20)
                await fs.push(upd(53, 52, (), [["100.1", "0"]]), arg)
                book.update(seq=60, bids=[["100", "8"]], asks=[["100.5", "1"]])
                await fs.push(upd(61, 58, [["99", "1"]]), arg)  # prevSeqId 58 != 53: a break
                await wait_until(lambda: len(_rests(out)) == 2, 20)
                await fs.push(upd(62, 61, (), [["100.6", "2"]]), arg)
                await wait_until(lambda: sum("frame" in x for x in _lines(out)
                                             if isinstance(x.get("frame"), dict) and "data" in x["frame"]) >= 5, 20)

            return await _recording("okx", out, {"ws_url": fs.ws_url, "rest_url": fs.rest_url}, drive,
                                    symbols=["BTCUSDT"]), list(fs.rest_requests)

    res, rest = asyncio.run(asyncio.wait_for(main(), 90))
    assert rest.count("/api/v5/market/books") == 2 and res["depth"]["snapshots"] == 2
    ev, r = _depth(out)
    assert r.n_rejected == 0, r.rejects
    flags = ev["flags"].tolist()
    assert flags.count(GAP) == 1
    g = flags.index(GAP)
    ct = 0.01  # BTC-USDT-SWAP: sizes in contracts x ctVal (the bundled instrument list)
    assert {k: round(v / ct, 9) for k, v in _book(ev[:g]).items()} == {(B, 100.0): 4.0, (B, 99.9): 2.0}
    # the break's update (61, prevSeqId 58) straddles the new snapshot (seqId 60): applied on it, then 62
    assert {k: round(v / ct, 9) for k, v in _book(ev).items()} == {(B, 100.0): 8.0, (B, 99.0): 1.0,
                                                                    (A, 100.5): 1.0, (A, 100.6): 2.0}


def test_bybit_depth_break_resubscribes_for_a_new_snapshot(tmp_path):
    from liqcore.venues.bybit.fake import FakeExchange

    out = tmp_path / "rec"
    book = {"u": 10, "bids": [["3000.0", "5"], ["2999.9", "2"]], "asks": [["3000.1", "1"]]}
    topic = "orderbook.50.ETHUSDT"

    def delta(u, b=(), a=()):
        return {"topic": topic, "type": "delta", "ts": T0 + u, "data": {"s": "ETHUSDT", "b": list(b), "a": list(a),
                                                                       "u": u, "seq": u}, "cts": T0 + u}

    async def main():
        async with FakeExchange() as fx:
            fx.books["ETHUSDT"] = lambda: (book["u"], book["bids"], book["asks"])

            async def drive():
                await wait_until(lambda: fx.subscribed(topic), 20)
                await fx.push(delta(11, [["3000.0", "4"]]))
                await fx.push(delta(12, (), [["3000.1", "0"]]))
                book.update(u=30, bids=[["3001.0", "1"]], asks=[["3001.5", "2"]])
                await fx.push(delta(12, [["2999.0", "9"]]))  # u does not increase: a break
                await wait_until(lambda: any(op == "unsubscribe" and topic in args
                                             for _c, op, args, _ok in fx.public_ops), 20)
                await wait_until(lambda: sum(isinstance(x.get("frame"), dict)
                                             and x["frame"].get("type") == "snapshot" for x in _lines(out)) >= 2, 20)
                await fx.push(delta(31, (), [["3001.6", "1"]]))
                await wait_until(lambda: sum(isinstance(x.get("frame"), dict) and x["frame"].get("u") == 31
                                             or (isinstance(x.get("frame"), dict)
                                                 and x["frame"].get("data", {}).get("u") == 31)
                                             for x in _lines(out)) >= 1, 20)

            return await _recording("bybit", out, {"ws_url": fx.public_ws_url}, drive, depth=50,
                                    symbols=["ETHUSDT"])

    res = asyncio.run(asyncio.wait_for(main(), 90))
    assert res["depth"]["resubscribed"] >= 1
    ev, r = _depth(out)
    assert r.n_rejected == 0, r.rejects
    flags = ev["flags"].tolist()
    assert flags.count(GAP) == 1
    g = flags.index(GAP)
    assert _book(ev[:g]) == {(B, 3000.0): 4.0, (B, 2999.9): 2.0}
    assert _book(ev) == {(B, 3001.0): 1.0, (A, 3001.5): 2.0, (A, 3001.6): 1.0}


def test_record_depth_refuses_the_whole_market_and_a_depth_bybit_does_not_stream(tmp_path, capsys):
    from liqcore.cli import main

    assert main(["record", "--venue", "binance", "--symbols", "all", "--depth", "--out", str(tmp_path / "a")]) != 0
    assert "--symbols all" in capsys.readouterr().err
    assert main(["record", "--venue", "bybit", "--symbols", "ETHUSDT", "--depth", "--depth-levels", "100",
                 "--out", str(tmp_path / "b")]) != 0
    assert "50, 200, 1000" in capsys.readouterr().err


@pytest.mark.parametrize("venue, want", [("binance", "btcusdt@depth@100ms"), ("bybit", "orderbook.1000.BTCUSDT"),
                                         ("okx", '{"channel":"books","instId":"BTC-USDT-SWAP"}')])
def test_each_venue_subscribes_its_depth_stream(venue, want):
    from liqcore.live.feeds import stream_module

    specs = stream_module(venue).connection_specs(["BTCUSDT"], depth=1000 if venue == "bybit" else True)
    topics = [t for sp in specs for t in sp.topics]
    assert want in topics
    if venue == "binance":  # book data: the /public path
        assert [sp.url for sp in specs if want in sp.topics][0].endswith("/public/ws")
    assert not any("depth" in t or "books" in t or t.startswith("orderbook.")
                   for sp in stream_module(venue).connection_specs(["BTCUSDT"]) for t in sp.topics)


def test_each_hourly_file_gets_its_own_snapshot_and_one_pass_over_both_keeps_the_book_going(tmp_path):
    """The recording moves to the next UTC hour: the keeper starts the books again as a reader of that file alone
    does, so the new file holds a snapshot of its own; read alone, each file gives its book; read in one pass,
    the book goes on across the boundary (the new file's snapshot passed over, no gap)."""
    from liqcore.dataset.load import load_events
    from liqcore.live.depthkeep import HOUR_NS, DepthKeeper
    from liqcore.live.recorder import Recorder
    from liqcore.venues.fake_streams import FakeMarketStream

    out = tmp_path / "rec"
    h = (time.time_ns() // HOUR_NS + 1) * HOUR_NS  # the next hour boundary (the venue's own times before it)
    clock = {"now": h - 2_000_000_000}
    book = {"uid": 100, "bids": [["100.0", "5"]], "asks": [["100.1", "1"]]}

    def ev(U, u, pu, b=(), a=()):
        return orjson.dumps({"e": "depthUpdate", "E": T0, "T": T0, "s": "BTCUSDT", "U": U, "u": u, "pu": pu,
                             "b": list(b), "a": list(a)})

    async def main():
        async with FakeMarketStream("binance") as fs:
            fs.depth_books["BTCUSDT"] = lambda: (book["uid"], book["bids"], book["asks"])
            rec = Recorder(out, flush_every_s=0.0)
            k = DepthKeeper("binance", rec, rest_base=fs.rest_url, clock=lambda: clock["now"])

            def frame(payload, at):
                clock["now"] = at
                rec.write_frame("binance", payload, at)
                k.frame(payload, at)

            try:
                frame(ev(90, 101, 89, [["100.0", "4"]]), h - 2_000_000_000)
                await wait_until(lambda: k.counts["snapshots"] == 1, 20)
                frame(ev(102, 104, 101, [["99.9", "2"]]), h - 1_000_000_000)
                book.update(uid=106, bids=[["100.0", "4"], ["99.9", "2"], ["99.8", "1"]])
                frame(ev(105, 107, 104, [["99.8", "3"]]), h + 1_000_000_000)  # the next hour's file
                await wait_until(lambda: k.counts["snapshots"] == 2, 20)
                frame(ev(108, 110, 107, (), [["100.1", "0"]]), h + 2_000_000_000)
            finally:
                await k.close()
                rec.close()

    asyncio.run(asyncio.wait_for(main(), 60))
    files = sorted(out.glob("*.jsonl.zst"))
    assert len(files) == 2 and [sum("rest" in orjson.loads(x) for x in __import__(
        "liqcore.live.recorder", fromlist=["read_lines"]).read_lines(f)) for f in files] == [1, 1]

    def book_of(paths):
        r = load_events(paths)
        d = r.events[r.events["kind"] == Kind.DEPTH]
        d = d[np.argsort(d["ts_recv"], kind="stable")]
        assert r.n_rejected == 0, r.rejects
        return d, _book(d)

    d0, b0 = book_of(files[0])
    assert b0 == {(B, 100.0): 4.0, (B, 99.9): 2.0, (A, 100.1): 1.0}
    d1, b1 = book_of(files[1])  # alone: from its own snapshot (uid 106), the update straddling it, then 108..110
    assert b1 == {(B, 100.0): 4.0, (B, 99.9): 2.0, (B, 99.8): 3.0}
    both, bb = book_of(out)  # one pass: the book goes on, the second snapshot passed over
    assert bb == {(B, 100.0): 4.0, (B, 99.9): 2.0, (B, 99.8): 3.0}
    assert not (both["flags"] & GAP).any() and int((both["flags"] & SNAP).astype(bool).sum()) == 2

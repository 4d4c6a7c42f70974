"""Recorder: hourly zstd files of raw frames with receive times, gap lines, crash-safe blocks."""
from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import orjson
import pytest
from websockets.asyncio.server import serve

from liqcore.commands.record import record
from liqcore.live.recorder import Recorder, frame_line, gap_line, hour_file_name, read_lines

pytestmark = pytest.mark.timeout(60)

H = 3600 * 10**9
T0 = 1_763_683_200 * 10**9  # 2025-11-21T00:00:00Z

LIQ = b'{"topic":"allLiquidation.ETHUSDT","type":"snapshot","ts":1763683200500,"data":[{"T":1763683200400,"s":"ETHUSDT","S":"Buy","v":"12.5","p":"3000.5"}]}'
TRADE = b'{"topic":"publicTrade.ETHUSDT","type":"snapshot","ts":1763683200600,"data":[{"T":1763683200590,"s":"ETHUSDT","S":"Sell","v":"0.5","p":"3001.0","i":"a","BT":false}]}'


def test_lines_and_names():
    ln = frame_line("bybit", LIQ, 5)
    obj = orjson.loads(ln)
    assert obj == {"recv_ns": 5, "venue": "bybit", "frame": orjson.loads(LIQ)} and ln.endswith(b"}\n")
    assert orjson.loads(frame_line("okx", b"pong", 7))["frame"] == "pong"
    assert orjson.loads(frame_line("okx", b"\xff\xfe", 7))["frame"] == "\ufffd\ufffd"
    multi = frame_line("bybit", b'{"a":\n1}', 1)
    assert multi.count(b"\n") == 1 and orjson.loads(multi)["frame"] == {"a": 1}
    assert orjson.loads(gap_line("bybit", "stale", 9)) == {"recv_ns": 9, "venue": "bybit", "gap": {"reason": "stale"}}
    assert hour_file_name("bybit", T0 + 3 * H + 5) == "bybit-20251121T03.jsonl.zst"


def test_hourly_rotation_and_roundtrip(tmp_path):
    with Recorder(tmp_path) as rec:
        rec.write_frame("bybit", LIQ, T0 + 10)
        rec.write_frame("bybit", TRADE, T0 + H - 1)
        rec.write_gap("bybit", "closed", T0 + H + 5)
        rec.write_frame("bybit", LIQ, T0 + H + 6)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["bybit-20251121T00.jsonl.zst", "bybit-20251121T01.jsonl.zst"]
    first = [orjson.loads(x) for x in read_lines(tmp_path / files[0])]
    second = [orjson.loads(x) for x in read_lines(tmp_path / files[1])]
    assert [x["recv_ns"] for x in first] == [T0 + 10, T0 + H - 1]
    assert second[0]["gap"] == {"reason": "closed"} and second[1]["frame"]["topic"] == "allLiquidation.ETHUSDT"


def test_crash_loses_at_most_the_unflushed_block(tmp_path):
    """A child process writes, flushes, writes more, then dies by SIGKILL: the flushed lines survive."""
    code = textwrap.dedent(f"""
        import os, signal
        from liqcore.live.recorder import Recorder
        rec = Recorder({str(tmp_path)!r}, flush_every_lines=10**9)
        for i in range(100):
            rec.write_frame("bybit", b'{{"i":%d}}' % i, {T0} + i)
        rec.flush()
        for i in range(100, 150):
            rec.write_frame("bybit", b'{{"i":%d}}' % i, {T0} + i)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    p = subprocess.run([sys.executable, "-c", code], timeout=30)
    assert p.returncode == -9
    (f,) = list(tmp_path.iterdir())
    got = [orjson.loads(x)["frame"]["i"] for x in read_lines(f)]
    assert got[:100] == list(range(100)) and len(got) <= 150


@pytest.mark.integration
@pytest.mark.timeout(30)
def test_record_from_loopback_server_and_reload(tmp_path):
    async def handler(ws):
        async for msg in ws:
            if "subscribe" in msg:
                await ws.send(LIQ)
                await ws.send(TRADE)
                await ws.send(b'{"success":true,"ret_msg":"pong","conn_id":"c","op":"ping"}')
                await ws.close()  # a drop: recorded as a gap, then the recorder reconnects

    async def main():
        async with serve(handler, "127.0.0.1", 0) as srv:
            url = f"ws://127.0.0.1:{srv.sockets[0].getsockname()[1]}"
            return await record("bybit", ["ETHUSDT"], str(tmp_path), url, duration=1.0, flush_s=0.1,
                                backoff_initial_s=0.05, backoff_max_s=0.1)

    res = asyncio.run(main())
    assert res["lines"] >= 4 and res["gaps"] >= 2
    lines = [orjson.loads(x) for f in sorted(tmp_path.iterdir()) for x in read_lines(f)]
    frames = [x for x in lines if "frame" in x]
    gaps = [x for x in lines if "gap" in x]
    assert frames[0]["frame"] == orjson.loads(LIQ) and frames[1]["frame"] == orjson.loads(TRADE)
    assert all(x["venue"] == "bybit" and isinstance(x["recv_ns"], int) for x in lines)
    assert gaps and gaps[0]["gap"]["reason"]
    io = pytest.importorskip("liqcore.io")
    pytest.importorskip("liqcore.venues.decoder")
    ev = io.load_files(sorted(tmp_path.iterdir())[0]).events
    from liqcore.types import Kind
    kinds = set(int(k) for k in ev["kind"])
    assert int(Kind.LIQUIDATION) in kinds and int(Kind.TRADE) in kinds


@pytest.mark.integration
def test_record_command_against_the_fake_exchange(tmp_path):
    from liqcore.testing.fake_exchange import FakeExchangeThread
    from liqcore.testing.fake_replay import frames_from_objects, liquidation_frame, trade_frame

    now_ms = 1_763_683_200_000
    frames = [(now_ms * 10**6 + i, f) for i, f in enumerate(
        [liquidation_frame("ETHUSDT", 3000, 1.5, "Buy", now_ms), trade_frame("ETHUSDT", 3001, 0.1, "Sell", now_ms + 1),
         liquidation_frame("SOLUSDT", 150, 20, "Sell", now_ms + 2)])]
    th = FakeExchangeThread(replay=frames_from_objects(frames), speed=None)
    fx = th.start()
    try:
        out = tmp_path / "rec"
        p = subprocess.run([sys.executable, "-m", "liqcore", "record", "--venue", "bybit", "--symbols", "ETHUSDT,SOLUSDT",
                            "--out", str(out), "--ws-url", fx.public_ws_url, "--duration", "2", "--quiet"],
                           capture_output=True, timeout=60)
    finally:
        th.stop()
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    assert b"recorded" in p.stdout
    lines = [orjson.loads(x) for f in sorted(out.iterdir()) for x in read_lines(f)]
    topics = [x["frame"].get("topic") for x in lines if isinstance(x.get("frame"), dict)]
    assert {"allLiquidation.ETHUSDT", "publicTrade.ETHUSDT", "allLiquidation.SOLUSDT"} <= set(topics)
    pytest.importorskip("liqcore.venues.decoder")
    from liqcore.dataset.load import load_events
    from liqcore.types import Kind

    res = load_events(out)
    assert (res.events["kind"] == Kind.LIQUIDATION).sum() == 2 and (res.events["kind"] == Kind.TRADE).sum() == 1


@pytest.mark.integration
@pytest.mark.timeout(30)
def test_bybit_recorder_subscribes_tickers_and_keeps_open_interest(tmp_path):
    subscribed = []
    ticker = (b'{"topic":"tickers.ETHUSDT","type":"snapshot","ts":1700000000000,"cs":1,"data":{"symbol":"ETHUSDT",'
              b'"markPrice":"3000.5","fundingRate":"0.0001","openInterest":"68744.761"}}')

    async def handler(ws):
        async for msg in ws:
            if "subscribe" in msg:
                subscribed.extend(orjson.loads(msg)["args"])
                if "tickers.ETHUSDT" in subscribed:
                    await ws.send(ticker)

    async def main():
        async with serve(handler, "127.0.0.1", 0) as srv:
            url = f"ws://127.0.0.1:{srv.sockets[0].getsockname()[1]}"
            return await record("bybit", ["ETHUSDT"], str(tmp_path), url, duration=0.8, flush_s=0.1)

    asyncio.run(main())
    assert {"allLiquidation.ETHUSDT", "publicTrade.ETHUSDT", "tickers.ETHUSDT"} <= set(subscribed)
    from liqcore.dataset.load import load_events
    from liqcore.types import Kind

    ev = load_events(sorted(tmp_path.iterdir())).events
    oi = ev[ev["kind"] == Kind.OPEN_INTEREST]
    assert len(oi) == 1 and oi["qty"][0] == 68744.761 and oi["price"][0] == 3000.5

"""`liqcore run --on-demand` with a strategy that checks candles (``liq-trend``'s candle look-back): a symbol
subscribed on demand has no trades from before, so the runner asks the venue's REST klines (the fake Binance
stream on 127.0.0.1 serves ``/fapi/v1/klines`` as Binance documents it) and the strategy decides on them; a symbol
the venue has no klines for is decided on its trades alone.  Every wait is on a condition, with a bound."""
from __future__ import annotations

import asyncio
import time

import pytest

from liqcore.venues.fake_streams import FakeMarketStream
from liqcore.venues.binance.samples import liquidation_frame, trade_frame

from _fake_market_run import free_port, metric_total, start_run, stop_run, until
from tests.market._venues import kline_rows

SEG_S = 2  # the strategy's segment (s): short, so a baseline of 5 takes seconds of wall time
PX = {"SOLUSDT": 150.0, "XRPUSDT": 0.6}


async def _next_segment() -> int:
    """Wait (bounded) for the next segment of the wall clock to start; its start (ms)."""
    start = (time.time_ns() // 1_000_000 // (SEG_S * 1000) + 1) * SEG_S * 1000
    deadline = time.monotonic() + 2 * SEG_S + 5
    while time.time_ns() // 1_000_000 < start + 50:  # (50 ms in: clear of the boundary)
        assert time.monotonic() < deadline, "the wall clock did not reach the next segment"
        await asyncio.sleep(0.01)
    return start


@pytest.mark.integration
@pytest.mark.timeout(180)
def test_run_on_demand_asks_the_venue_s_klines_and_the_strategy_trades_on_them(tmp_path):
    now_ms = time.time_ns() // 1_000_000
    # SOL's last minutes fell from 160 (its klines: the look-back's candles and the current one); XRP: none served
    sol = kline_rows((now_ms // 60_000 - 10) * 60_000, 12, price0=160.0, step=-0.5)

    async def session():
        fs = await FakeMarketStream("binance", klines={"SOLUSDT": sol}).start()
        port = free_port()
        proc = start_run("--venue", "binance", "--symbols", "SOLUSDT,XRPUSDT", "--ws-url", fs.ws_url, "--rest-url",
                         fs.rest_url, "--on-demand", "60", "--book-symbols", "SOLUSDT,XRPUSDT", "--strategy", "liq-trend",
                         "--segment", f"{SEG_S}s", "--baseline", "5", "--candle-lookback", "3m", "--notional", "100",
                         "--log", str(tmp_path / "run.log"), metrics_port=port)
        asked = []
        try:
            await until(lambda: {"solusdt@aggTrade", "xrpusdt@aggTrade", "solusdt@forceOrder", "xrpusdt@forceOrder"} <= fs.subscriptions()
                        and fs.rest_requests.count("/fapi/v1/klines") == 2, "both symbols subscribed, klines asked",
                        proc)
            asked = list(fs.rest_requests)
            for k in range(7):  # the z-score's baseline: 100 / 200 of liquidations a segment, both sides
                t = await _next_segment()
                for s, p in PX.items():
                    n = 100.0 if k % 2 == 0 else 200.0
                    fs.liquidation(liquidation_frame(s, t + 60, n / 2 / p, p, "SELL"), s)
                    fs.liquidation(liquidation_frame(s, t + 61, n / 2 / p, p, "BUY"), s)
            t = await _next_segment()
            for s, p in PX.items():  # a long flush (a strong short), then one trade below SOL's last candle close
                fs.liquidation(liquidation_frame(s, t + 60, 50_000.0 / p, p, "SELL"), s)
                fs.trade(trade_frame(s, t + 100, 1.0, p * 0.9), s)
            await until(lambda: metric_total(port, "liqcore_decisions_total") >= 2, "both symbols decided at the segment's close", proc)
        finally:
            rc, summary, err = stop_run(proc)
            await fs.stop()
        return asked, rc, summary, err

    asked, rc, s, err = asyncio.run(session())
    assert rc == 0, err[-2000:]
    assert s["on_demand"]["klines"] == {"asked": 2, "answered": 1, "failed": 1, "candles": 4, "dropped": 0}
    by = {d["symbol"]: d for d in s["decisions"]}
    assert set(by) == {"SOLUSDT", "XRPUSDT"}, s["decisions"]
    # SOL: the falling candles align the short (its one trade alone would not); XRP: one trade, no candles: not
    # aligned, skipped before the judge
    assert by["SOLUSDT"]["action"] == "order" and by["SOLUSDT"]["side"] == "sell", by["SOLUSDT"]
    assert "candles aligned" in by["SOLUSDT"]["notes"], by["SOLUSDT"]
    assert by["XRPUSDT"]["action"] == "none" and by["XRPUSDT"]["reason"] == "skipped", by["XRPUSDT"]
    assert s["orders"] == 1
    assert "/fapi/v1/klines" in asked


T0_MS = 1_767_225_600_000  # 2026-01-01 00:00 UTC
MIN = 60_000
FLUSH_MS = T0_MS + 41 * MIN + 5_000


def _price(t_ms: int) -> float:
    """SOL's tape: down from 110 (minute 30) to 100 at the flush, then up to 100.5 by minute 44."""
    if t_ms <= FLUSH_MS:
        return round(110.0 - 10.0 * (t_ms - T0_MS - 30 * MIN) / (FLUSH_MS - T0_MS - 30 * MIN), 2)
    return round(100.0 + 0.5 * (t_ms - FLUSH_MS) / (T0_MS + 44 * MIN - FLUSH_MS), 2)


def _write_recording(path) -> None:
    """A Binance recording of SOLUSDT (the recorder's lines, received 40 ms after the event): a long and a short
    liquidation a minute, falling in size (a detector threshold, none of them large), for 41 minutes; then one long
    flush of 50,000 (a large one: a live signal, its trades subscribed; a strong short at the minute-42 close); a
    trade every 5 s from minute 30 to 44, falling until the flush and rising a little after it."""
    import orjson

    lines = []
    for m in range(41):
        n = 300.0 - 5.0 * m
        for k, side in ((10_000, "SELL"), (20_000, "BUY")):
            t = T0_MS + m * MIN + k
            lines.append((t, liquidation_frame("SOLUSDT", t, n / _price(max(t, T0_MS + 30 * MIN)) / 2, _price(max(t, T0_MS + 30 * MIN)), side)))
    lines.append((FLUSH_MS, liquidation_frame("SOLUSDT", FLUSH_MS, 50_000.0 / 100.0, 100.0, "SELL")))
    for i, t in enumerate(range(T0_MS + 30 * MIN, T0_MS + 44 * MIN, 5_000)):
        if t != FLUSH_MS:
            lines.append((t, orjson.dumps({"e": "aggTrade", "E": t, "s": "SOLUSDT", "a": i, "p": f"{_price(t):.2f}",
                                           "q": "1.000", "f": i, "l": i, "T": t, "m": bool(i % 2)})))
    lines.sort(key=lambda x: x[0])
    with open(path, "wb") as f:
        for t, fr in lines:
            f.write(orjson.dumps({"recv_ns": t * 1_000_000 + 40_000_000, "venue": "binance",
                                  "frame": orjson.loads(fr)}) + b"\n")


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_a_replay_gives_the_candles_of_the_trades_it_held_back(tmp_path, capsys):
    """Under ``--replay`` there is no venue to ask: a symbol subscribed on demand gets, at that replay time, the
    1-minute candles of its recorded trades the gate held back (its look-back's span) -- what the venue's klines
    would have said -- so the candle check sees the fall before the flush, not only the rise after it."""
    import orjson

    from liqcore.cli import main

    rec = tmp_path / "sol.jsonl"
    _write_recording(rec)

    def run(speed: str) -> dict:
        code = main(["run", "--venue", "binance", "--symbols", "SOLUSDT", "--replay", str(rec), "--speed", speed,
                     "--on-demand", "10", "--strategy", "liq-trend", "--segment", "1m", "--baseline", "30",
                     "--candle-lookback", "3m", "--min-history", "20", "--notional", "100", "--no-dashboard", "--json",
                     "--duration", "200"])
        out = capsys.readouterr()
        assert code == 0, out.err[-2000:]
        return orjson.loads(out.out.strip().splitlines()[-1])

    s, paced = run("0"), run("600")  # (as fast as possible; the recording's 44 minutes in about 4.4 s)
    def same(d):  # (a client id is made afresh each run)
        return [{k: v for k, v in x.items() if k != "client_id"} for x in d["decisions"]]

    assert same(s) == same(paced) and s["on_demand"] == paced["on_demand"]
    od = s["on_demand"]
    # subscribed once, on the flush; the 3-minute look-back's span: minutes 38 to 41, from the held-back trades
    assert od["ever"] == 1 and od["gated"] > 0
    assert "klines" in od, "no candles given"
    assert od["klines"] == {"asked": 1, "answered": 1, "failed": 0, "candles": 4, "dropped": 0, "source": "recording"}
    [d] = [d for d in s["decisions"] if d["ts_ns"] // 1_000_000 == T0_MS + 42 * MIN]
    assert d["symbol"] == "SOLUSDT" and d["action"] == "order" and d["side"] == "sell", d
    assert "candles aligned" in d["notes"], d


@pytest.mark.parametrize("venue,name", [("okx", "SOL-USDT-SWAP"), ("binance", "SOLUSDT")])
def test_the_fake_stream_serves_the_venue_s_klines_as_documented(venue, name):
    """What the runner's klines client reads from the fake: a span paged and sorted (OKX newest first on the wire,
    ``after``/``before`` exclusive bounds), and an instrument it does not hold answered with the venue's error."""
    from liqcore.market.klines import KlinesError, fetch_klines

    rows = kline_rows(T0_MS, 400, price0=100.0, step=0.01)

    async def session():
        fs = await FakeMarketStream(venue, klines={name: rows}).start()
        try:
            got, dropped = await fetch_klines(venue, name, T0_MS + 5 * MIN, T0_MS + 350 * MIN, base_url=fs.rest_url)
            with pytest.raises(KlinesError, match="51001|-1121"):
                await fetch_klines(venue, "NOPE-USDT-SWAP" if venue == "okx" else "NOPEUSDT", T0_MS, T0_MS + MIN,
                                   base_url=fs.rest_url)
            return got, dropped, fs.rest_requests
        finally:
            await fs.stop()

    got, dropped, asked = asyncio.run(session())
    assert dropped == 0 and got["open_ms"].tolist() == [r[0] for r in rows[5:351]]
    assert got["close"].tolist() == [r[4] for r in rows[5:351]] and got["volume"].tolist() == [r[5] for r in rows[5:351]]
    assert len(asked) == (3 if venue == "okx" else 2)  # (OKX: 300 rows a page)

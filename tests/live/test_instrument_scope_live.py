"""`liqcore run --live --scope instrument`: the liquidation streams of two fake venues (Bybit and Binance, or
Bybit and OKX wire formats, on 127.0.0.1), one detector across them, the order on the trade venue only."""
from __future__ import annotations

import asyncio
import time

import pytest

from _live_helpers import until_subscribed, wait_until
from liqcore.cli import build_parser
from liqcore.venues.bybit.fake import FakeExchange
from liqcore.testing.fake_replay import liquidation_frame, trade_frame
from liqcore.venues.fake_streams import FakeMarketStream
from liqcore.venues.binance.samples import liquidation_frame as binance_liquidation
from liqcore.venues.okx.samples import liquidation_frame as okx_liquidation

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

BASELINE = [0.5, 0.1, 0.3, 0.2, 0.4, 0.15, 0.35, 0.25, 0.45, 0.05]  # ETH qty at 3000 (P95 ~ 1.4k quote)
#: the watched venue's liquidation stream, and one liquidation of ``qty`` ETH (a LONG liquidated) in its wire format
STREAMS = {
    "binance": ("ethusdt@forceOrder", lambda t, qty, px: binance_liquidation("ETHUSDT", t, qty, px, "SELL")),
    "okx": ('{"channel":"liquidation-orders","instType":"SWAP"}',  # (sizes in contracts of 0.1 ETH)
            lambda t, qty, px: okx_liquidation("ETH-USDT-SWAP", t, round(qty * 10, 4), px, "sell")),
}


async def _wait(cond, timeout=15.0):
    await wait_until(cond, timeout)


async def _session(tmp_path, scope: str, monkeypatch, other: str = "binance"):
    """One live session against a fake Bybit (trade venue) and a fake ``other`` venue's stream: baseline
    liquidations on both, then ONE large liquidation on ``other`` and ONE on Bybit 2 s apart.  Returns
    (creates, engine, summary)."""
    from liqcore.commands.run import build

    monkeypatch.delenv("LIQCORE_KEY_FILE", raising=False)
    liq, frame = STREAMS[other]
    async with FakeExchange() as fx, FakeMarketStream(other) as fb:
        monkeypatch.setenv("BYBIT_API_KEY", fx.api_key)
        monkeypatch.setenv("BYBIT_API_SECRET", fx.api_secret)
        argv = ["run", "--live", "--symbols", "ETHUSDT", "--scope", scope, "--ws-url", fx.public_ws_url,
                "--rest-url", fx.rest_url, "--private-ws-url", fx.private_ws_url, "--no-dashboard",
                "--journal", str(tmp_path / f"{scope}.sqlite"), "--min-history", "5", "--history", "50"]
        if scope == "instrument":
            argv += ["--trade-venue", "bybit", "--watch-venues", f"bybit,{other}", "--venue-url", f"{other}={fb.ws_url}"]
        engine, runner, fake = build(build_parser("run").parse_args(argv))
        assert fake is None
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop=stop))
        try:
            await _wait(lambda: fx.connections("public") >= 1 and (scope == "venue" or fb.subscribed(liq)))
            t0 = int(time.time() * 1000) - 30_000
            await until_subscribed(fx, [liquidation_frame("ETHUSDT", 3000, 1, "Buy", t0),
                                        trade_frame("ETHUSDT", 3000.0, 1, "Sell", t0)])  # subscriptions acked
            for i, q in enumerate(BASELINE):
                await fx.push(liquidation_frame("ETHUSDT", 3000, q, "Buy", t0 + i * 1000))
                await fb.push(frame(t0 + i * 1000 + 500, q, 3000.0), liq)
            await fx.push(trade_frame("ETHUSDT", 3000.0, 1, "Sell", t0 + 20_000))
            # the two venues' sockets are not ordered with each other: on a busy machine Bybit's baseline could
            # arrive after the other venue's large liquidation (its times then clamped to the group's clock, inside
            # the cascade); so each step waits (bounded) until the detector has taken the frames before it
            seen = len(BASELINE) * (2 if scope == "instrument" else 1)
            await _wait(lambda: engine.detector.stats["liquidations"] >= seen)
            # the split cascade: one large liquidation per venue, 2 s apart (the first on the other venue)
            await fb.push(frame(t0 + 21_000, 10.0, 3000.0), liq)
            if scope == "instrument":
                await _wait(lambda: engine.detector.stats["liquidations"] >= seen + 1)
            await fx.push(liquidation_frame("ETHUSDT", 2999, 12, "Buy", t0 + 23_000))
            want_liqs = 2 * len(BASELINE) + 2 if scope == "instrument" else len(BASELINE) + 1
            await _wait(lambda: engine.detector.stats["liquidations"] >= want_liqs)
            if scope == "instrument":
                await _wait(lambda: fx.requests_to("/v5/order/create"))
            await asyncio.sleep(0.3)  # (any further create would arrive by now)
        finally:
            stop.set()
            summary = await task
            engine.journal.close()
        return fx.requests_to("/v5/order/create"), engine, summary


@pytest.mark.parametrize("other", ["binance", "okx"])
def test_a_cascade_split_across_two_venues_places_one_order_on_the_trade_venue(tmp_path, monkeypatch, other):
    creates, engine, summary = asyncio.run(_session(tmp_path, "instrument", monkeypatch, other))
    assert len(creates) == 1
    body = creates[0].body
    assert body["symbol"] == "ETHUSDT" and body["side"] == "Buy" and creates[0].ret_code == 0
    assert summary["cascades"] == 1 and summary["orders"] == 1
    assert summary["watch"][0]["venue"] == other and summary["watch"][0]["frames"] >= len(BASELINE) + 1
    d = [x for x in summary["decisions"] if x["action"] == "order"]
    assert len(d) == 1 and d[0]["venue"] == "bybit" and d[0]["first_venue"] == other
    sh = d[0]["shares"]
    assert sh[other]["large"] == 1 and sh["bybit"]["large"] == 1
    assert sh[other]["long_notional"] == pytest.approx(30_000.0)
    assert sh["bybit"]["long_notional"] == pytest.approx(2999 * 12)
    assert sh[other]["first_large_ns"] < sh["bybit"]["first_large_ns"]
    # the journal's decision row names them too
    import sqlite3

    import orjson

    con = sqlite3.connect(tmp_path / "instrument.sqlite")
    rows = [orjson.loads(x) for (x,) in con.execute("SELECT data FROM log WHERE type = 'decision'")]
    con.close()
    rows = [r for r in rows if r.get("action") == "order"]
    assert len(rows) == 1 and rows[0]["first_venue"] == other and rows[0]["shares"][other]["large"] == 1


def test_the_same_split_cascade_places_no_order_in_venue_scope(tmp_path, monkeypatch):
    creates, engine, summary = asyncio.run(_session(tmp_path, "venue", monkeypatch))
    assert creates == [] and summary["cascades"] == 0 and summary["orders"] == 0
    assert engine.detector.stats["large"] == 1  # the Bybit large liquidation was seen: one alone is no cascade


def test_instrument_scope_usage_errors(tmp_path):
    from liqcore.commands.run import build

    for extra, why in ((["--strategy", "cascade-fade"], "cascade-mm"),
                       (["--watch-venues", "bybit,kraken"], "watch-venues"),
                       (["--venue-url", "binance"], "venue-url"),
                       (["--watch-venues", "bybit"], "nothing to watch")):
        args = build_parser("run").parse_args(["run", "--symbols", "ETHUSDT", "--scope", "instrument",
                                               "--no-dashboard", *extra])
        with pytest.raises(ValueError, match=why):
            build(args)

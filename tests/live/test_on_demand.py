"""Data on demand (`run --on-demand`): against the fake Binance stream on 127.0.0.1, the trades of a symbol are
subscribed when it gets a live signal (a large liquidation), kept while its paper entry rests, unsubscribed when
done; the always-on list (--book-symbols) is subscribed from the start; a quiet symbol's trades never arrive.
Every wait is on a condition, with a bound."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson
import pytest

from liqcore.live.ondemand import OnDemand
from liqcore.testing import CrashPlay, crash_symbols
from liqcore.venues.fake_streams import FakeMarketStream
from liqcore.venues.binance.samples import trade_frame

from _fake_market_run import decoded, free_port, start_run, stop_run, until

def _ops(fs, op: str) -> list[str]:
    """Every stream name the runner asked the fake to (un)subscribe, in order."""
    out = []
    for m in fs.messages:
        d = orjson.loads(m)
        if d.get("method") == op:
            out += d["params"]
    return out


async def _session(tmp_path: Path):
    syms = ["BTCUSDT", "SOLUSDT", *crash_symbols(8)]  # (a paper order needs the symbol's trading rules: SOL's are known)
    fs = await FakeMarketStream("binance").start()
    port = free_port()
    proc = start_run("--venue", "binance", "--symbols", ",".join(syms), "--ws-url", fs.ws_url, "--on-demand", "0.5",
                     "--book-symbols", "BTCUSDT", "--min-history", "20", "--window", "2s", "--entry-timeout", "2s",
                     "--log", str(tmp_path / "run.log"), metrics_port=port)
    seen = {}
    try:
        subs = fs.subscriptions
        await until(lambda: {f"{s.lower()}@forceOrder" for s in syms} <= subs() and "btcusdt@aggTrade" in subs(),
                     "the liquidation streams and the always-on symbol's trades", proc)
        seen["start"] = sorted(n for n in subs() if not n.endswith("@forceOrder"))
        crash = CrashPlay(fs, syms, seed=5)
        await crash.warm_up(25, falling=True)  # (none above the threshold; its one trade per symbol reaches the subscribed symbol only)
        seen["quiet_trade_delivered"] = fs.trade(trade_frame("Z005USDT", 1, 1.0, 2.25), "Z005USDT")[1]
        crash.liquidate("SOLUSDT", 50_000.0)  # a large one: a live signal on SOL
        await until(lambda: "solusdt@aggTrade" in subs(), "SOL's trades subscribed on its signal", proc)
        seen["after_signal"] = sorted(n for n in subs() if not n.endswith("@forceOrder"))
        t_ms = time.time_ns() // 1_000_000
        assert fs.trade(trade_frame("SOLUSDT", t_ms, 1.0, crash.price["SOLUSDT"]), "SOLUSDT")[1] == 1
        # the trade (on the on-demand connection) decoded before the confirm (on the liquidation one) is written
        await until(lambda: decoded(port) >= crash.written + 1, "SOL's trade decoded", proc)
        crash.liquidate("SOLUSDT", 50_000.0)  # confirms: a paper entry rests, then times out (2 s)
        await until(lambda: "solusdt@aggTrade" in _ops(fs, "UNSUBSCRIBE"), "SOL's trades unsubscribed when done",
                     proc)
        seen["end"] = sorted(n for n in subs() if not n.endswith("@forceOrder"))
    finally:
        rc, summary, err = stop_run(proc)
        await fs.stop()
    return seen, fs, rc, summary, err


def test_trades_are_subscribed_on_a_signal_and_unsubscribed_when_done(tmp_path):
    seen, fs, rc, s, err = asyncio.run(_session(tmp_path))
    assert rc == 0, err[-2000:]
    assert seen["start"] == ["btcusdt@aggTrade"]  # the always-on list, nothing else
    assert seen["quiet_trade_delivered"] == 0  # a quiet symbol's trades are not sent to the runner at all
    assert seen["after_signal"] == ["btcusdt@aggTrade", "solusdt@aggTrade"]
    assert seen["end"] == ["btcusdt@aggTrade"]
    assert _ops(fs, "SUBSCRIBE").count("solusdt@aggTrade") == 1 and _ops(fs, "UNSUBSCRIBE") == ["solusdt@aggTrade"]
    assert s["cascades"] == 1 and s["orders"] == 1, [d["reason"] for d in s["decisions"]]  # the signal was traded (the trade gave its reference price)
    assert s["on_demand"] == {"subscribed": 1, "peak": 2, "ever": 2, "always": 1, "symbols": 10,
                              "subscribes": 1, "unsubscribes": 1}


def test_each_venue_speaks_its_own_subscribe_and_unsubscribe():
    b = OnDemand("binance", ["ETHUSDT", "SOLUSDT"], opts={"trades": True, "book": True}, url="ws://127.0.0.1:1")
    assert [orjson.loads(m) for m in b.messages("unsubscribe", ["SOLUSDT"])] == [
        {"method": "UNSUBSCRIBE", "params": ["solusdt@aggTrade", "solusdt@bookTicker"], "id": 1}]
    # Binance: the trades on /market, the top of book on /public, each on its own connection (one path each)
    assert [sp.url for sp in b.specs] == ["ws://127.0.0.1:1/market/ws", "ws://127.0.0.1:1/public/ws"]
    assert [orjson.loads(m)["params"] for m in b.messages("subscribe", ["SOLUSDT"], "public")] == [["solusdt@bookTicker"]]
    market, public = [], []
    b.subscribed = {"ETHUSDT"}
    assert b.drop_symbols(["ETHUSDT"], send=[market.append, public.append]) == ["ETHUSDT"]
    assert [orjson.loads(m)["params"] for m in market] == [["ethusdt@aggTrade"]]
    assert [orjson.loads(m)["params"] for m in public] == [["ethusdt@bookTicker"]]
    y = OnDemand("bybit", ["ETHUSDT"], opts={"trades": True, "book": True}, url="ws://127.0.0.1:1/v5/public/linear")
    assert orjson.loads(y.messages("subscribe", ["ETHUSDT"])[0])["args"] == ["publicTrade.ETHUSDT", "orderbook.1.ETHUSDT"]
    o = OnDemand("okx", ["ETHUSDT"], opts={"trades": True}, url="ws://127.0.0.1:1/ws/v5/public")
    assert orjson.loads(o.messages("subscribe", ["ETHUSDT"])[0]) == {
        "op": "subscribe", "args": [{"channel": "trades", "instId": "ETH-USDT-SWAP"}]}
    with pytest.raises(ValueError, match="book-symbols: BTCUSDT not among the traded symbols"):
        OnDemand("binance", ["ETHUSDT"], always=["BTCUSDT"])


def test_a_resting_order_keeps_its_symbol_wanted_after_the_cascade_ends():
    import time as _t

    from liqcore.config import Params
    from liqcore.live.engine import Engine
    from liqcore.venues.binance.samples import liquidation_frame

    syms = ["SOLUSDT", "XRPUSDT"]
    eng = Engine(Params(min_history=20, window_ns=2_000_000_000), venues=["binance"], symbols=syms)
    od = OnDemand("binance", syms, url="ws://127.0.0.1:1/ws", linger_s=0.0)
    t = _t.time_ns() // 1_000_000 - 60_000
    for k in range(25):  # falling sizes: a threshold, no signal
        for s in syms:
            t += 1
            eng.on_frame("binance", liquidation_frame(s, t, round((1500 - 40 * k) / 150.0, 4), 150.0), t * 1_000_000)
    assert od.wanted(eng) == set()
    eng.on_frame("binance", trade_frame("SOLUSDT", t + 1, 1.0, 150.0), (t + 1) * 1_000_000)
    eng.on_frame("binance", liquidation_frame("SOLUSDT", t + 2, 300.0, 150.0), (t + 2) * 1_000_000)
    assert od.wanted(eng) == {"SOLUSDT"}  # a large liquidation pending: a live signal
    eng.on_frame("binance", liquidation_frame("SOLUSDT", t + 3, 300.0, 150.0), (t + 3) * 1_000_000)
    assert eng.orders == 1 and eng.core.position(eng._by_symbol["SOLUSDT"][1])["status"] != "flat"
    eng.detector.tick((t + 60_000) * 1_000_000)  # the cascade ends; the entry still rests
    assert not eng.detector.active(eng._by_symbol["SOLUSDT"][0])
    od._last_liq.clear()  # (its last liquidation long ago)
    assert od.wanted(eng) == {"SOLUSDT"}
    sent = []
    assert od.step(eng, sent.append) == (["SOLUSDT"], [])
    assert [orjson.loads(m)["params"] for m in sent] == [["solusdt@aggTrade"]]


def test_bybit_topics_come_and_go_with_a_signal(tmp_path):
    """The same against the fake Bybit: ``publicTrade.SOLUSDT`` subscribed on SOL's large liquidation and
    unsubscribed once its signal lapsed (no confirming one within the 2 s window), XRP's always on."""
    from liqcore.venues.bybit.fake import FakeExchange
    from liqcore.testing.fake_replay import liquidation_frame as bybit_liq

    syms = ["SOLUSDT", "XRPUSDT", "DOGEUSDT"]

    async def go():
        fx = FakeExchange()
        await fx.start()

        def topics() -> set:
            return {t for c in list(fx._conns) if c.kind == "public" and not c.closed for t in c.topics}

        proc = start_run("--venue", "bybit", "--symbols", ",".join(syms), "--ws-url", fx.public_ws_url, "--on-demand",
                         "0.5", "--book-symbols", "XRPUSDT", "--min-history", "20", "--window", "2s",
                         "--log", str(tmp_path / "run.log"))
        seen = {}
        try:
            await until(lambda: {f"allLiquidation.{s}" for s in syms} | {"publicTrade.XRPUSDT"} <= topics(),
                        "liquidations of every symbol and XRP's trades", proc)
            seen["start"] = sorted(t for t in topics() if t.startswith("publicTrade."))
            t = time.time_ns() // 1_000_000
            for k in range(25):  # falling sizes: thresholds, no signal
                for s in syms:
                    t += 1
                    await fx.push(bybit_liq(s, 1.0, round(1500 - 40 * k, 1), "Buy", t))
            await fx.push(bybit_liq("SOLUSDT", 1.0, 50_000.0, "Buy", t + 1))  # SOL's signal
            await until(lambda: "publicTrade.SOLUSDT" in topics(), "SOL's trades subscribed", proc)
            seen["signal"] = sorted(t for t in topics() if t.startswith("publicTrade."))
            await until(lambda: "publicTrade.SOLUSDT" not in topics(), "SOL's trades unsubscribed", proc)
            seen["end"] = sorted(t for t in topics() if t.startswith("publicTrade."))
        finally:
            rc, summary, err = stop_run(proc)
            await fx.stop()
        return seen, rc, summary, err

    seen, rc, s, err = asyncio.run(go())
    assert rc == 0, err[-2000:]
    assert seen == {"start": ["publicTrade.XRPUSDT"], "signal": ["publicTrade.SOLUSDT", "publicTrade.XRPUSDT"],
                    "end": ["publicTrade.XRPUSDT"]}
    assert s["cascades"] == 0 and s["on_demand"]["ever"] == 2 and s["on_demand"]["unsubscribes"] == 1


def test_an_okx_replay_gate_reads_the_instid_of_each_channel():
    """The replay gate of an OKX run: a per-symbol channel's push (``trades``, ``bbo-tbt``, ``books5``) passes
    only while its instrument is subscribed, named by the ``arg``'s instId whether the run names it ``ETHUSDT``
    or ``SOL-USDT-SWAP``; liquidations (``instType``-wide), answers and untraded instruments always pass."""
    from types import SimpleNamespace

    import numpy as np

    from liqcore.venues.okx.samples import bbo_frame, liquidation_frame as okx_liq, trade_frame as okx_trade

    syms = ["ETHUSDT", "SOL-USDT-SWAP"]
    passed: list = []
    eng = SimpleNamespace(on_frame=lambda v, f, t=None: passed.append(f) or [], detector=SimpleNamespace(),
                          _by_symbol={s: (i, i) for i, s in enumerate(syms)}, decisions=[], liq_seen={},
                          core=SimpleNamespace(st={"status": np.zeros(2, np.int8)}))
    od = OnDemand("okx", syms, always=["ETHUSDT"], url="ws://127.0.0.1:1/ws/v5/public", clock=lambda: 10**18)
    gate = od.hold_back(eng)
    books5 = (b'{"arg":{"channel":"books5","instId":"SOL-USDT-SWAP"},"data":[{"asks":[["1","1","0","1"]],'
              b'"bids":[["0.9","1","0","1"]],"instId":"SOL-USDT-SWAP","ts":"1723161255030","seqId":1}]}')
    answer = b'{"event":"subscribe","arg":{"channel":"trades","instId":"SOL-USDT-SWAP"},"connId":"a"}'
    frames = {"eth trade": okx_trade("ETH-USDT-SWAP", 1, 1, 3000.0), "eth book": bbo_frame("ETH-USDT-SWAP", 1, 1, 1, 2, 1),
              "sol trade": okx_trade("SOL-USDT-SWAP", 1, 1, 150.0), "sol book": bbo_frame("SOL-USDT-SWAP", 1, 1, 1, 2, 1),
              "sol books5": books5, "sol liquidation": okx_liq("SOL-USDT-SWAP", 1, 3, 150.0), "answer": answer,
              "btc trade": okx_trade("BTC-USDT-SWAP", 1, 1, 60000.0)}
    for f in frames.values():
        gate("okx", f, 1)
    assert [k for k, f in frames.items() if f in passed] == ["eth trade", "eth book", "sol liquidation", "answer",
                                                             "btc trade"]
    assert od.gated == 3


def test_binance_on_demand_book_and_trades_reach_the_fake_on_their_own_paths():
    """Against the fake Binance stream (which, like the venue, acknowledges and never sends a stream subscribed on
    the other path): the always-on symbol's trades arrive on the /market connection and its top of book on the
    /public one; dropping it unsubscribes each on its own connection."""
    from liqcore.live.feeds import FeedManager
    from liqcore.venues.binance.samples import book_ticker_frame

    async def until(cond, what):
        deadline = time.monotonic() + 30
        while not cond():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            await asyncio.sleep(0.02)

    async def go():
        async with FakeMarketStream("binance") as fs:
            od = OnDemand("binance", ["SOLUSDT", "ETHUSDT"], always=["SOLUSDT"], opts={"trades": True, "book": True},
                          url=fs.ws_url)
            got: list[bytes] = []
            fm = FeedManager("binance", ["SOLUSDT"], lambda v, f, t=None: got.append(bytes(f)), specs=list(od.specs))
            await fm.start()
            try:
                await until(lambda: fs.subscribed("solusdt@aggTrade") and fs.subscribed("solusdt@bookTicker"),
                            "the always-on symbol's trades and book")
                t = time.time_ns() // 1_000_000
                fs.trade(trade_frame("SOLUSDT", t, 1.0, 150.0), "SOLUSDT")
                fs.write(book_ticker_frame("SOLUSDT", t, 149.9, 1.0, 150.1, 1.0), "solusdt@bookTicker")
                await until(lambda: sum(f.startswith(b'{"e"') for f in got) >= 2, "both frames")
                od.drop_symbols(["SOLUSDT"], send=[c.send for c in fm.connections])
                await until(lambda: not fs.subscribed("solusdt@aggTrade") and not fs.subscribed("solusdt@bookTicker"),
                            "both unsubscribed")
                return sorted(sp.url.rsplit("/", 2)[1] for sp in fm.specs), sorted(fs.ops)
            finally:
                await fm.stop()

    paths, ops = asyncio.run(go())
    assert paths == ["market", "public"]
    assert ("unsubscribe", ["solusdt@aggTrade"]) in ops and ("unsubscribe", ["solusdt@bookTicker"]) in ops

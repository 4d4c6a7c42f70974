"""`journal --explain` of a Binance session over several symbols, a long-tail one among them (no known trading
rules): every decided cascade lined up, whatever its symbol; a symbol the session refused to trade says why
(``no order (no_instrument)``) instead of a bare "no order", and the backtest it is compared with refuses it too
and trades the others on the session's own rules (their ticks).  The session runs against the fake Binance stream
on 127.0.0.1 (`liqcore run --record`), every wait bounded."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

from liqcore.testing import CrashPlay
from liqcore.venues.fake_streams import FakeMarketStream
from liqcore.venues.binance.samples import trade_frame

from _fake_market_run import ROOT, decoded, free_port, start_run, stop_run, until

SYMS = ["SOLUSDT", "XRPUSDT", "Z001USDT", "Z002USDT"]


async def _session(tmp: Path) -> dict:
    fs = await FakeMarketStream("binance").start()
    port = free_port()
    proc = start_run("--venue", "binance", "--symbols", ",".join(SYMS), "--ws-url", fs.ws_url, "--journal",
                     str(tmp / "j.sqlite"), "--record", str(tmp / "rec"), "--min-history", "20", "--window", "5s",
                     "--log", str(tmp / "run.log"), metrics_port=port)
    try:
        await until(lambda: {f"{s.lower()}@aggTrade" for s in SYMS} <= fs.subscriptions(), "subscriptions", proc)
        c = CrashPlay(fs, SYMS, seed=1)
        await c.warm_up(25, falling=True)
        for _ in range(2):  # a cascade on every symbol
            for s in SYMS:
                c.liquidate(s, 50_000.0)
            await until(lambda: decoded(port) >= c.written, "the large liquidations decoded", proc)
        # (the prints come at least 0.5 s of receive time after the decisions, beyond the 50 ms the backtest's orders
        # take to arrive: a spacing of the recorded times, which a slower machine only makes longer)
        await asyncio.sleep(0.5)
        n = 0
        for f in (0.99, 0.98, 0.985, 1.0, 1.01):  # prints through the entries, then back up
            for s in SYMS:
                n += 1
                _, k = fs.trade(trade_frame(s, time.time_ns() // 1_000_000, 5.0, round(c.price[s] * f, 4), "SELL",
                                            trade_id=n), s)
                c.written += k
            await until(lambda: decoded(port) >= c.written, "the prints decoded", proc)
    finally:
        rc, summary, err = stop_run(proc)
        await fs.stop()
    assert rc == 0, err[-2000:]
    return summary


def test_explain_lines_up_every_symbol_and_says_why_one_was_not_traded(tmp_path):
    s = asyncio.run(_session(tmp_path))
    assert s["cascades"] == 4 and s["orders"] == 2  # the long-tail symbols have no trading rules: no order
    r = subprocess.run([sys.executable, "-m", "liqcore", "journal", str(tmp_path / "j.sqlite"), "--recording",
                        str(tmp_path / "rec"), "--explain", "--json"], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = json.loads(r.stdout)["explain"]["orders"]
    by = {row["symbol"]: row for row in rows}
    assert set(by) == set(SYMS)
    assert by["SOLUSDT"]["live_status"] == "filled" and by["XRPUSDT"]["live_status"] == "filled"
    for sym in ("Z001USDT", "Z002USDT"):
        assert (by[sym]["live_status"], by[sym]["live_reason"]) == ("no order", "no_instrument")
        # the backtest applies the same refusals: no rules, no order there either (the prints went through them)
        assert by[sym]["backtest_status"] == "no order" and by[sym]["category"] == "not_traded" and by[sym]["gap"] == 0
    # and the same rules: the backtest's entries of the traded symbols on their ticks (SOL 0.01, XRP 0.0001), as
    # the live ones
    from decimal import Decimal

    for sym, tick in (("SOLUSDT", "0.01"), ("XRPUSDT", "0.0001")):
        assert by[sym]["backtest_price"] is not None
        assert Decimal(repr(by[sym]["backtest_price"])) % Decimal(tick) == 0, (sym, by[sym]["backtest_price"])
        assert Decimal(repr(by[sym]["live_price"])) % Decimal(tick) == 0

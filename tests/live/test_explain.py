"""`liqcore journal DB --recording DIR --explain`: a session against the loopback fake exchange with planted
differences from the backtest's fill model (the venue fills every entry one tick worse than its limit and
rejects every third post-only create) is replayed from its own recording, and the explanation recovers them:
the rejected entry is the one backtest-only fill, the price part of the gap is exactly one tick on each
filled quantity, and the parts of the gap add up to it."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import orjson
import pytest

from liqcore.live.engine import Engine
from liqcore.live.journal import Journal
from liqcore.live.recorder import Recorder
from liqcore.venues.bybit.fake import FakeExchange
from liqcore.testing.fake_replay import liquidation_frame, trade_frame

from _live_helpers import BASELINE as BASE
from _live_helpers import PARAMS
from _live_helpers import wait_until as _wait

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

SYMBOLS = {"ETHUSDT": (3000.0, 1.0, 0.01), "SOLUSDT": (200.0, 15.0, 0.01), "XRPUSDT": (2.0, 1500.0, 0.0001)}


def _session(tmp_path, **planted):
    """A cascade on each of three symbols; every entry that rests is filled by a print through it, then
    closed by a print through its take-profit.  Journal and recording in tmp_path."""

    async def main():
        from liqcore.venues.bybit.gateway import BybitGateway

        async with FakeExchange(**planted) as fx:
            syms = list(SYMBOLS)
            gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, symbols=syms,
                              retry_backoff=0.02, timeout=2.0)
            eng = Engine(PARAMS, symbols=syms, gateway=gw, journal=Journal(tmp_path / "j.sqlite"))
            eng.recorder = Recorder(tmp_path / "rec")
            await eng.start()
            t0 = int(time.time() * 1000) - 30_000
            now = time.time_ns() - 2_000_000

            def send(f, k=[0]):
                k[0] += 1
                return eng.on_frame("bybit", orjson.dumps(f), now + k[0])

            orders = {}
            for sym, (px, q, _tick) in SYMBOLS.items():
                ds = []
                for i, b in enumerate(BASE):
                    ds += send(liquidation_frame(sym, px, b * q, "Buy", t0 + i * 1000))
                ds += send(trade_frame(sym, px, 1, "Sell", t0 + 20_000))
                ds += send(liquidation_frame(sym, px, 10 * q, "Buy", t0 + 21_000))
                ds += send(liquidation_frame(sym, px * 0.99999, 12 * q, "Buy", t0 + 22_000))
                orders.update({d.symbol: d for d in ds if d.action == "order"})
                # one create at a time: the venue sees them in this order (the third is rejected)
                await _wait(lambda: eng.books[sym].entry_status != "pending")
            assert set(orders) == set(SYMBOLS)
            await asyncio.sleep(0.1)  # past the order latency
            for sym, d in orders.items():
                for px in (d.price * 0.999, d.take_profit * 1.001):
                    await fx.trade(sym, px)
                    eng.on_frame("bybit", orjson.dumps(trade_frame(sym, px, 1, "Sell", int(time.time() * 1000))),
                                 time.time_ns())
                    await asyncio.sleep(0.15)
            n = len(SYMBOLS) - (1 if planted.get("reject_post_only_every") else 0)
            await _wait(lambda: sum(eng.books[s].trades for s in SYMBOLS) == n)
            await eng.shutdown(timeout=2)
            eng.journal.close()
            eng.recorder.close()
            return orders

    return asyncio.run(main())


def _explain(tmp_path, *extra):
    p = subprocess.run([sys.executable, "-m", "liqcore", "journal", str(tmp_path / "j.sqlite"), "--recording",
                        str(tmp_path / "rec"), "--explain", *extra], capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr.decode()[-3000:]
    return p.stdout.decode()


def test_explain_recovers_a_planted_reject_and_a_one_tick_worse_fill(tmp_path):
    orders = _session(tmp_path, fill_worse_ticks=1, reject_post_only_every=3)
    ex = json.loads(_explain(tmp_path, "--json"))["explain"]
    rows = {r["symbol"]: r for r in ex["orders"]}
    assert set(rows) == set(SYMBOLS)
    # no bad day in this session: no unknown outcome, no protection report, no signal skipped in a ban
    assert ex["incidents"] == {"unknown": [], "protection": [], "banned": []}
    # the third post-only create was rejected by the venue: filled in the backtest only
    rejected = [s for s, r in rows.items() if r["live_status"] == "rejected"]
    assert len(rejected) == 1 and ex["counts"]["live_rejected"] == 1
    assert rows[rejected[0]]["category"] == "backtest_only" and rows[rejected[0]]["backtest_status"] == "filled"
    assert ex["counts"]["both"] == 2 and ex["counts"]["backtest_only"] == 1 and ex["counts"]["live_only"] == 0
    assert ex["components"]["missed_fills"] == pytest.approx(-rows[rejected[0]]["backtest_pnl"])
    assert rows[rejected[0]]["backtest_pnl"] > 0  # the missed fill was a winner in the backtest
    # every other entry filled one tick worse: the price part is one tick on each live quantity
    price = 0.0
    for sym, r in rows.items():
        if sym in rejected:
            continue
        px, _q, tick = SYMBOLS[sym]
        assert r["category"] == "both"
        assert r["live_price"] == pytest.approx(orders[sym].price + tick)
        assert r["backtest_price"] == pytest.approx(orders[sym].price, rel=1e-9)
        assert r["price_diff_bps"] == pytest.approx(tick / orders[sym].price * 1e4, rel=1e-6)
        price -= tick * orders[sym].qty
        assert r["queue"] == "n/a (fill model: through)" and r["backtest_fill_rule"] == "print"
        # the explained run's orders arrive the inferred one-way outbound latency (median) after the decision
        assert r["live_latency_ms"] is not None and r["backtest_latency_ms"] == pytest.approx(
            ex["one_way"]["outbound_ms"], abs=1e-3)
    assert ex["components"]["price"] == pytest.approx(price, rel=1e-6)
    # the parts add up to the gap, which is live - backtest over the orders
    assert sum(ex["components"].values()) == pytest.approx(ex["pnl"]["gap"], abs=1e-9)
    assert ex["pnl"]["gap"] == pytest.approx(sum(r["gap"] for r in ex["orders"]), abs=1e-9)
    assert ex["fill_rate"]["live"] == pytest.approx(2 / 3) and ex["fill_rate"]["backtest"] == pytest.approx(1.0)
    # the same as rich tables; the go-live checklist has its live-vs-model row
    text = _explain(tmp_path)
    assert "1 backtest only" in text and "missed fills" in text and "n/a (fill model: through) (print)" in text
    assert "rejected" in text and "sums to the gap" in text
    assert "[fail] live fills vs the model: 2 of 3 backtest fills filled live (1 missed, 1 rejected by the venue" in text


def test_explain_without_planted_differences_has_no_gap_from_fills(tmp_path):
    _session(tmp_path)
    # the journal measured each entry's latency (create sent -> the venue's answer) and the liquidation rate at
    # the send: a backtest can draw its order latency from them (order-latency-from)
    from liqcore.execution.latency import journal_latencies

    s = journal_latencies(tmp_path / "j.sqlite")
    assert len(s) == 3 and (s.latency_ns > 0).all() and (s.latency_ns < 2_000_000_000).all()
    assert (s.rate >= 12.0).all()  # each symbol's 12 liquidations were received in the minute before its send
    ex = json.loads(_explain(tmp_path, "--json"))["explain"]
    assert ex["counts"]["both"] == 3 and ex["counts"]["backtest_only"] == ex["counts"]["live_only"] == 0
    assert ex["components"]["price"] == pytest.approx(0.0, abs=1e-9)
    assert ex["components"]["missed_fills"] == ex["components"]["extra_fills"] == 0.0
    assert all(r["price_diff_bps"] == pytest.approx(0.0, abs=1e-9) for r in ex["orders"])


def test_explain_needs_the_recording(tmp_path):
    _session(tmp_path)
    p = subprocess.run([sys.executable, "-m", "liqcore", "journal", str(tmp_path / "j.sqlite"), "--explain"],
                       capture_output=True, timeout=60)
    assert p.returncode != 0 and b"--recording" in p.stderr and len(p.stderr.strip().splitlines()) == 1

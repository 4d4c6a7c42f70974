"""`journal --explain` recovers a one-way order delay: a live session under ``--fill queue`` against the
loopback fake exchange that delays only ONE direction -- order arrival (``order_delay_ms``: the create takes
effect 300 ms after it was sent) or the venue's answers and private pushes (``response_delay_ms``: 300 ms
late) -- with a scripted book that makes the difference matter (a print through the entry's price between
its true arrival and the arrival half the round trip would give).  "Recovered" means:

* the explain output reports the one-way latency it inferred (from the venue's timestamp of its answer to
  the create): the outbound median within 60 ms of the planted delay in the first session, under 60 ms in
  the second (where the 300 ms are inbound, which it reports instead);
* the explained backtest (its orders arrive the inferred outbound median after the decision) puts every
  entry in the same category as live (filled in both, or in neither), a filled one at a price within one
  tick and on the same recorded event, give or take one;
* negative control: the same recording with the round trip split 50/50 (the default ``latency-split``,
  without the venue's timestamps) gets the entry's fate wrong -- so the check above can fail."""
from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import time

import orjson
import pytest

from liqcore.live.engine import Engine
from liqcore.live.journal import Journal
from liqcore.live.recorder import Recorder
from liqcore.venues.bybit.fake import FakeExchange
from liqcore.testing.fake_replay import trade_frame
from liqcore.venues.bybit.samples import orderbook_frame

from _live_helpers import PARAMS, cascade_frames
from _live_helpers import wait_until as _wait

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

TICK = 0.01
DELAY_MS = 300.0


def _session(tmp_path, print_after_s, **delay):
    """A cascade on ETHUSDT decides a buy at 2995.5 with 5.0 displayed at that bid; ``print_after_s`` later the ask
    comes down to 2995.5 and a sell of 6.0 prints through it at 2995.0.  An order already resting fills on
    that print; one arriving after it is refused as post-only (venue: the last trade reached its price;
    the queue rule: the ask in force did).  Returns the receive times of the frames fed (ns)."""
    fed = []

    async def main():
        from liqcore.venues.bybit.gateway import BybitGateway

        async with FakeExchange(**delay) as fx:
            fx.set_last_price("ETHUSDT", 3000.0)
            gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, symbols=["ETHUSDT"],
                              retry_backoff=0.02, timeout=2.0)
            eng = Engine(PARAMS.replace(fill="queue"), symbols=["ETHUSDT"], gateway=gw,
                         journal=Journal(tmp_path / "j.sqlite"))
            eng.recorder = Recorder(tmp_path / "rec")
            await eng.start()

            def feed(frame):
                t = time.time_ns()
                fed.append(t)
                return eng.on_frame("bybit", frame, t)

            t0 = int(time.time() * 1000) - 30_000
            frames = cascade_frames(t0_ms=t0)
            ds = []
            for f in frames[:-1]:
                ds += feed(f)
            now = int(time.time() * 1000)
            # (2996.01: the recorded prices show the venue's 0.01 tick to the backtest's price grid)
            feed(orderbook_frame("ETHUSDT", now, 2995.5, 5.0, 2996.01, 4.0, update_id=1))
            ds += feed(frames[-1])
            orders = [d for d in ds if d.action == "order"]
            assert len(orders) == 1 and orders[0].price == 2995.5
            await asyncio.sleep(print_after_s)
            now = int(time.time() * 1000)
            feed(orderbook_frame("ETHUSDT", now, 2995.0, 3.0, 2995.5, 2.0, update_id=2))
            await fx.trade("ETHUSDT", 2995.0, 6.0, "Sell")
            feed(orjson.dumps(trade_frame("ETHUSDT", 2995.0, 6.0, "Sell", now, trade_id="x1")))
            await asyncio.sleep(0.2)
            feed(orjson.dumps(trade_frame("ETHUSDT", 2995.51, 0.5, "Buy", int(time.time() * 1000), trade_id="x2")))
            await _wait(lambda: len(fx.requests_to("/v5/order/create")) >= 1)
            await asyncio.sleep(2 * DELAY_MS / 1e3 + 0.3)  # the delayed create and its answers and pushes are in
            # a print through the take-profit closes any position (venue and backtest): a closed trade each
            await fx.trade("ETHUSDT", 3005.0, 1.0, "Buy")
            feed(orjson.dumps(trade_frame("ETHUSDT", 3005.0, 1.0, "Buy", int(time.time() * 1000), trade_id="x3")))
            await asyncio.sleep(DELAY_MS / 1e3 + 0.3)
            await eng.shutdown(timeout=2)
            eng.journal.close()
            eng.recorder.close()

    asyncio.run(main())
    return fed


def _explain(tmp_path):
    p = subprocess.run([sys.executable, "-m", "liqcore", "journal", str(tmp_path / "j.sqlite"), "--recording",
                        str(tmp_path / "rec"), "--explain", "--json"], capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr.decode()[-3000:]
    return json.loads(p.stdout.decode())["explain"]


def _text(tmp_path):
    p = subprocess.run([sys.executable, "-m", "liqcore", "journal", str(tmp_path / "j.sqlite"), "--recording",
                        str(tmp_path / "rec"), "--explain"], capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr.decode()[-3000:]
    return p.stdout.decode()


def _recovered(ex, fed, price=True):
    """Every order: same category live and backtest, within one tick, on the same event give or take one."""
    for r in ex["orders"]:
        assert r["category"] in ("both", "neither"), r
        if r["category"] == "both":
            # the session's fill model is the queue rule on top of book (its recording has no depth); a fill by a
            # print through the limit is named print (docs/explanation/fill-model.md)
            assert r["backtest_fill_rule"] in ("queue (top of book)", "print"), r
            if price:
                assert abs(r["live_price"] - r["backtest_price"]) <= TICK + 1e-9
            lt = r["decision_ns"] + r["live_fill_delay_ms"] * 1e6
            bt = r["decision_ns"] + r["backtest_fill_delay_ms"] * 1e6
            # the live fill time is the venue's, in whole milliseconds: it happened within the millisecond
            # from lt (a frame fed in that millisecond before the backtest's fill is not "between")
            lo, hi = (min(lt + 1e6, bt), bt) if lt < bt else (bt, lt)
            between = sum(1 for t in fed if lo < t <= hi)
            assert between <= 1, (lt, bt, between)


def _split_control(tmp_path):
    """The explanation with the round trip split 50/50 (no venue timestamps): the categories it gets."""
    from liqcore.live.explain import _live_orders, explain_session, one_way_latency
    from liqcore.live.report import _model_run

    db = sqlite3.connect(tmp_path / "j.sqlite")
    try:
        session = [orjson.loads(d) for d, in db.execute("SELECT data FROM log WHERE type='session' ORDER BY id")][-1]
        live = _live_orders(db)
        for lv in live.values():
            lv["venue_ns"] = None
        ow = one_way_latency(live, 0.5)
        res = _model_run(tmp_path / "rec", session, order_latency_ns=int(ow["outbound_ms"] * 1e6))
        return ow, explain_session(db, session, res, one_way=ow)
    finally:
        db.close()


def test_explain_recovers_a_delay_on_the_way_out(tmp_path):
    # the print 200 ms after the decision: before the order's arrival (300 ms), after half the round trip
    fed = _session(tmp_path, 0.2, order_delay_ms=DELAY_MS)
    ex = _explain(tmp_path)
    ow = ex["one_way"]
    assert ow["orders"] == 1 and "venue's timestamp" in ow["method"] and ow["backtest_used"]
    assert abs(ow["outbound_ms"] - DELAY_MS) <= 60.0 and ow["inbound_ms"] < 60.0
    (r,) = ex["orders"]
    assert r["live_status"] == "rejected" and r["category"] == "neither"  # arrived after the print: refused
    _recovered(ex, fed)
    assert r["live_latency_ms"] == pytest.approx(ow["outbound_ms"], abs=1e-6)
    # negative control: half of the round trip out arrives before the print: the backtest fills it
    ow50, ex50 = _split_control(tmp_path)
    assert ow50["outbound_ms"] < DELAY_MS - 100
    assert ex50["orders"][0]["category"] == "backtest_only", (ow50, ex50["orders"][0], ex50["order_latency"])
    text = _text(tmp_path)
    assert "one-way order latency inferred over 1 live entries from the venue's timestamp" in text
    assert "'live lat ms' is the outbound estimate" in text


def test_explain_recovers_a_delay_on_the_way_back(tmp_path):
    # the print 80 ms after the decision: after the order's arrival (at once), before half the round trip
    fed = _session(tmp_path, 0.08, response_delay_ms=DELAY_MS)
    ex = _explain(tmp_path)
    ow = ex["one_way"]
    assert ow["orders"] == 1 and abs(ow["inbound_ms"] - DELAY_MS) <= 60.0 and ow["outbound_ms"] < 60.0
    (r,) = ex["orders"]
    assert r["category"] == "both" and r["live_price"] == pytest.approx(2995.5)  # rested at once, filled
    _recovered(ex, fed)
    # the live queue estimate of the entry: it rested behind the 5.0 shown at its price... or, seen late
    # (the answer came 300 ms late), behind what was shown then; the queue rule filled it, as the venue did
    lq = r["live_queue"]
    assert lq is not None and lq["venue_filled"]
    # negative control: half of the 300 ms round trip on the way out arrives after the print: refused
    ow50, ex50 = _split_control(tmp_path)
    assert ow50["outbound_ms"] > 100
    assert ex50["orders"][0]["category"] == "live_only"


def test_explain_recovers_the_entry_price_under_a_delay_on_the_way_back(tmp_path):
    # the recording's prints (3000, 2995, 2995.51, 3005) are never one tick apart: the backtest's price grid
    # is their greatest common step (0.01, the venue's tick), not their smallest (0.51, which put the limit
    # at 2995.23 where live placed it at 2995.5)
    fed = _session(tmp_path, 0.08, response_delay_ms=DELAY_MS)
    ex = _explain(tmp_path)
    _recovered(ex, fed)
    (r,) = ex["orders"]
    assert r["backtest_price"] == pytest.approx(2995.5) and r["live_price"] == pytest.approx(2995.5)


def test_a_latency_split_of_0_is_honoured_not_read_as_half(tmp_path):
    """A session run with ``latency-split 0`` (all of the round trip on the way back, as the backtest takes it)
    puts none of a create's round trip on the way out; the default (no split recorded) is half of it."""
    from liqcore.live.explain import live_one_way

    db = sqlite3.connect(tmp_path / "j.sqlite")
    db.executescript("CREATE TABLE log (id INTEGER PRIMARY KEY, ts_ns INTEGER NOT NULL, type TEXT NOT NULL, key TEXT,"
                     " data TEXT); CREATE TABLE fills (exec_id TEXT PRIMARY KEY, client_id TEXT, symbol TEXT,"
                     " data TEXT, ts_ns INTEGER)")
    dec, sent, ans = 1_000_000_000, 1_010_000_000, 1_210_000_000  # sent 10 ms after the decision, answered 200 ms later
    for ts, typ, data in ((dec, "intent", {"symbol": "ETHUSDT", "side": "buy", "decision_ns": dec}),
                          (sent, "sent", {"sent_ns": sent}), (ans, "ack", {"ack_ns": ans})):
        db.execute("INSERT INTO log (ts_ns, type, key, data) VALUES (?, ?, ?, ?)", (ts, typ, "c1", json.dumps(data)))
    got = {s: live_one_way(db, {"params": {} if s is None else {"latency_split": s}}) for s in (0.0, None, 1.0)}
    db.close()
    assert got[0.0]["outbound_ms"] == pytest.approx(10.0) and got[0.0]["inbound_ms"] == pytest.approx(200.0)
    assert "latency-split 0 %" in got[0.0]["method"]
    assert got[None]["outbound_ms"] == pytest.approx(110.0) and got[1.0]["outbound_ms"] == pytest.approx(210.0)

"""The fast lane (an entry prepared while the feed is quiet, written when its cascade confirms): the order,
the journal and the decision are those of the order path; every case it cannot vouch for falls back to the
order path; the write-ahead line is the journal's own serialisation of the final intent."""
from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from liqcore.config import Params
from liqcore.venues.bybit.gateway import BybitGateway
from liqcore.live.engine import Engine
from liqcore.live.journal import Journal
from liqcore.venues.bybit.fake import FakeExchange
from liqcore.testing.fake_replay import liquidation_frame, trade_frame

pytestmark = pytest.mark.timeout(60)

PARAMS = Params(min_history=5, history=50)
BASELINE = [0.5, 0.1, 0.3, 0.2, 0.4, 0.15, 0.35, 0.25, 0.45, 0.05]


def _decided(d):
    return (d.action, d.reason, d.side, d.price, d.qty, d.take_profit, d.stop_loss, d.ref_price, d.ts_ns)


async def _session(tmp_path, name, prearm, steps, tamper=None, idle=None):
    """Feed ``steps`` (lists of frames, one on_frame call each, the loop polled in between) to a live engine on
    the fake Bybit; returns what it decided, sent and journaled."""
    async with FakeExchange() as fx:
        gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, symbols=["ETHUSDT"])
        j = Journal(tmp_path / f"{name}.sqlite")
        eng = Engine(PARAMS, symbols=["ETHUSDT"], gateway=gw, journal=j)
        eng.prearm = prearm
        await eng.start()
        out = []
        try:
            t_recv = time.time_ns() - 5_000_000_000
            for k, frames in enumerate(steps):
                for i, f in enumerate(frames):
                    out += eng.on_frame("bybit", orjson.dumps(f), t_recv + k * 1_000_000 + i)
                if tamper is not None and eng._arms:
                    tamper(eng)
                if idle is not None:  # the runner's quiet-feed ticks between two frames
                    idle.append(([eng.idle_tick() for _ in range(3)], bool(eng._arms)))
                await asyncio.sleep(0.01)
            t = time.monotonic()
            while eng.books["ETHUSDT"].entry_status == "pending" and time.monotonic() - t < 5:
                await asyncio.sleep(0.01)
            creates = [r.body for r in fx.requests_to("/v5/order/create")]
            status = eng.books["ETHUSDT"].entry_status
            ilog = j._ilog_path.read_bytes().rstrip(b"\0")  # (zero-filled past its lines while open)
            lane = dict(eng.lane)
            orders, seq = eng.orders, eng._seq
        finally:
            await eng.shutdown(cancel_entries=False)
        rows = j.db.execute("select client_id, kind, side, status, price, qty, intent from orders").fetchall()
        j.close()
    return {"decided": [_decided(d) for d in out], "creates": creates, "status": status, "lane": lane,
            "orders": orders, "seq": seq, "rows": rows, "ilog": ilog, "intents": [d.intent for d in out if d.intent]}


def _steps(t0, confirm_with_trade=False):
    base = [[liquidation_frame("ETHUSDT", 3000, q, "Buy", t0 + i * 1000)] for i, q in enumerate(BASELINE)]
    first = [[trade_frame("ETHUSDT", 3000.0, 1, "Sell", t0 + 20_000)], [liquidation_frame("ETHUSDT", 3000, 10, "Buy", t0 + 21_000)]]
    last = [liquidation_frame("ETHUSDT", 2999, 12, "Buy", t0 + 22_000)]
    if confirm_with_trade:  # a print just before the confirming frame
        last = [trade_frame("ETHUSDT", 3010.0, 1, "Sell", t0 + 21_500)] + last
    return base + first + [last]


def _strip(body):
    return {k: v for k, v in body.items() if k != "orderLinkId"}


def _run(tmp_path, name, prearm, **kw):
    t0 = int(time.time() * 1000) - 60_000
    tamper, idle = kw.pop("tamper", None), kw.pop("idle", None)
    return asyncio.run(_session(tmp_path, name, prearm, _steps(t0, **kw), tamper, idle))


@pytest.mark.parametrize("confirm_with_trade", [False, True])
def test_lane_sends_what_the_order_path_sends(tmp_path, confirm_with_trade):
    on = _run(tmp_path, "on", True, confirm_with_trade=confirm_with_trade)
    off = _run(tmp_path, "off", False, confirm_with_trade=confirm_with_trade)
    assert off["lane"]["fired"] == 0
    # (a print between the first large liquidation and the confirming one moves the reference price: the
    # entry is prepared again after that frame, at the new price)
    assert on["lane"]["armed"] >= (2 if confirm_with_trade else 1)
    assert on["lane"]["fired"] == 1 and on["lane"]["mismatch"] == 0 and on["lane"]["fallback"] == 0
    # same decision (the decision time is the confirming event's receive time in both) and the same create
    assert [x[:8] for x in on["decided"]] == [x[:8] for x in off["decided"]]
    assert [x[0] for x in on["decided"]] == ["order"]
    assert on["decided"][0][7] == (3010.0 if confirm_with_trade else 3000.0)
    assert len(on["creates"]) == len(off["creates"]) == 1
    assert _strip(on["creates"][0]) == _strip(off["creates"][0])
    assert on["creates"][0]["orderLinkId"] == on["intents"][0].client_id
    assert on["creates"][0]["orderLinkId"].startswith("lc-ETH-1-")
    assert on["status"] == off["status"] == "new" and on["orders"] == off["orders"] == 1 and on["seq"] == 1
    # journal: one order row each, the same but for the client id; the write-ahead line is the journal's own
    # serialisation of the final intent (decision time and cascade id filled in)
    assert [r[1:6] for r in on["rows"]] == [r[1:6] for r in off["rows"]]
    line = orjson.loads(on["ilog"].splitlines()[-1])
    intent = on["intents"][0]
    assert orjson.loads(Journal.intent_raw(intent)) == line["intent"] == orjson.loads(on["rows"][0][6])
    assert line["seq"] == 1 and line["ts_ns"] == intent.decision_ns == on["decided"][0][8]
    assert intent.meta["cascade_id"] == 0


@pytest.mark.parametrize("prearm", [True, False])
def test_idle_ticks_warm_only_while_a_cascade_can_confirm(tmp_path, prearm):
    """The runner's quiet-feed tick runs the scratch path only once the next liquidation could confirm (after
    the first large one), the lean run while the entry is prepared; it changes nothing the engine decides."""
    ticks = []
    got = _run(tmp_path, f"idle{prearm}", prearm, idle=ticks)
    ref = _run(tmp_path, f"ref{prearm}", prearm)
    runs = [r for r, _ in ticks]
    # baseline liquidations and the print: nothing can confirm yet; the first large one: a scratch cascade
    # confirms at every tick, until the confirming frame started the cascade (and the entry works)
    assert runs[:len(BASELINE) + 1] == [[0, 0, 0]] * (len(BASELINE) + 1)
    assert runs[len(BASELINE) + 1] == [1, 1, 1] and runs[-1] == [0, 0, 0]
    assert ticks[len(BASELINE) + 1][1] is prearm  # (lean while the entry is prepared)
    assert [x[:8] for x in got["decided"]] == [x[:8] for x in ref["decided"]] and got["lane"] == ref["lane"]
    assert [r[1:6] for r in got["rows"]] == [r[1:6] for r in ref["rows"]] and got["status"] == ref["status"]
    assert [_strip(b) for b in got["creates"]] == [_strip(b) for b in ref["creates"]]


def _tamper_price(eng):  # the prepared decision is not the core's
    for arm in eng._arms.values():
        for side in arm["sides"].values():
            side["res"] = dict(side["res"], price=side["res"]["price"] * 1.01)


def _tamper_age(eng):  # signed too long ago (the venue's receive window)
    for arm in eng._arms.values():
        arm["made_ns"] -= 2 * eng.arm_ttl_ns


@pytest.mark.parametrize("tamper, counter", [(_tamper_price, "mismatch"), (_tamper_age, "fallback")])
def test_a_prepared_entry_it_cannot_vouch_for_is_left_to_the_order_path(tmp_path, tamper, counter):
    on = _run(tmp_path, "on", True, tamper=tamper)
    off = _run(tmp_path, "off", False)
    assert on["lane"]["fired"] == 0 and on["lane"][counter] == 1
    assert [x[:8] for x in on["decided"]] == [x[:8] for x in off["decided"]]
    assert _strip(on["creates"][0]) == _strip(off["creates"][0]) and len(on["creates"]) == 1


def test_lane_is_off_where_it_cannot_apply(tmp_path):
    eng = Engine(PARAMS, symbols=["ETHUSDT"])  # paper: the in-process venue needs no lane
    assert not eng._lane_on() and eng._rearm() == 0
    j = Journal(tmp_path / "c.sqlite", write_ahead="commit")  # the write-ahead is a commit: no prepared line

    async def run():
        async with FakeExchange() as fx:
            gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, symbols=["ETHUSDT"])
            e = Engine(PARAMS, symbols=["ETHUSDT"], gateway=gw, journal=j)
            await e.start()
            try:
                assert not e._lane_on()
            finally:
                await e.shutdown(cancel_entries=False)

    asyncio.run(run())
    j.close()


def test_lane_does_not_fire_into_a_ban(tmp_path):
    """A prepared entry is not written while the venue's host bans this IP (the lane's synchronous
    ``gateway.banned()`` check before its write): no create goes out, the order path names the reason."""
    line = "bybit: IP banned by api.bybit.com until 2026-11-26T09:00:00Z (HTTP 403)"

    def ban(eng):
        eng.gateway.banned = lambda: line  # (the venue gateway reads its governors; here: banned from now on)

    on = _run(tmp_path, "banned", True, tamper=ban)
    assert on["lane"]["armed"] >= 1 and on["lane"]["fired"] == 0
    assert on["creates"] == [] and [x[:2] for x in on["decided"]] == [("none", "banned")]

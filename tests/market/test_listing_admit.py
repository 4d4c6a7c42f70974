"""A new listing joins a running engine (:func:`liqcore.live.admit.admit`, through
:meth:`liqcore.live.listing.ListingWatch.apply`): the strategy core grows by it with the state it held kept, its
liquidations are sized (OKX: no longer ``unknown_instrument``) and its cascades traded on its own rules, on the
paper venue and through the Bybit gateway against the fake exchange; a delisted symbol's on-demand streams are
unsubscribed in each venue's own message."""
from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import numpy as np
import orjson
import pytest

from liqcore.config import Params
from liqcore.market.universe import Universe
from liqcore.venues.instruments import Instrument


def _universe(venue: str, rules: dict, contract=None) -> Universe:
    return Universe(venue, "USDT", rules, {s: 1e9 for s in rules}, time.time_ns(), contract=dict(contract or {}))


def _grid(x, step: str) -> bool:
    q = Decimal(repr(float(x))) / Decimal(step)
    return q == q.to_integral_value() and q > 0


def test_the_core_grows_by_a_symbol_and_keeps_the_state_it_held():
    from liqcore._jit import sim
    from liqcore.backtest.core import StrategyCore

    core = StrategyCore(Params(), ["bybit:AUSDT", "bybit:BUSDT"], equity=10_000.0)
    t = 1_767_225_600_000_000_000
    core.on_trade(0, t, 2.0)
    d = core.on_cascade({"symbol_idx": 0, "ts_ns": t + 1, "dominant": 1, "cascade_id": 1})
    assert d["action"] == "order"
    before = core.st.copy(), core.par.copy(), core.counts.copy()
    assert core.add_symbols(["bybit:NEWUSDT"]) == [2]
    assert core.st[:2].tobytes() == before[0].tobytes() and core.par[:2].tobytes() == before[1].tobytes()
    assert (core.counts[:2] == before[2]).all() and core.counts.shape == (3, before[2].shape[1])
    assert core.st[2:].tobytes() == sim.new_state(1).tobytes()  # a flat row
    assert core.symbol(2) == "NEWUSDT" and core.par[2]["take_profit"] == core.par[1]["take_profit"]
    with pytest.raises(ValueError, match="traded already"):
        core.add_symbols(["bybit:NEWUSDT"])
    core.on_trade(2, t + 2, 0.5)
    d = core.on_cascade({"symbol_idx": 2, "ts_ns": t + 3, "dominant": 1, "cascade_id": 2})
    assert d["action"] == "order" and d["ref_price"] == 0.5


def _okx_frames(inst: str, px: float):
    from liqcore.venues.okx.samples import liquidation_frame, trade_frame

    t0 = int(time.time() * 1000) - 30_000
    out = [liquidation_frame(inst, t0 + i * 1000, q, px) for i, q in enumerate([5, 1, 3, 2, 4, 1.5])]
    out += [trade_frame(inst, t0 + 20_000, 10, px), liquidation_frame(inst, t0 + 21_000, 100, px),
            liquidation_frame(inst, t0 + 22_000, 120, px * 0.9995)]
    return out


def test_an_okx_listing_s_liquidations_are_sized_and_traded_once_the_refreshed_list_holds_it():
    from liqcore.live.engine import Engine
    from liqcore.live.listing import ListingWatch

    old = {"C000-USDT-SWAP": Instrument("C000-USDT-SWAP", 0.01, 0.1, 0.1)}
    eng = Engine(Params(min_history=5, history=50), venues=["okx"], symbols=list(old), notional=100.0)
    u0 = _universe("okx", old, {"C000-USDT-SWAP": 0.1})
    eng.decoder("okx").set_instruments(u0.contract)
    eng.order_manager.use_only(old)
    watch = ListingWatch(eng, "okx", None, u0, u0, interval_s=60)
    new = "NEW1-USDT-SWAP"
    dec = eng.decoder("okx")
    before = [d for f in _okx_frames(new, 2.51237) for d in eng.on_frame("okx", f)]
    assert dec.counters.get("unknown_instrument", 0) == 9 and before == []  # no contract size: never guessed
    # the venue lists it: tick 0.0001, a contract of 10 base units (lot 1 contract)
    rules = {**old, new: Instrument(new, 0.0001, 10.0, 10.0)}
    out = watch.apply(*([_universe("okx", rules, {"C000-USDT-SWAP": 0.1, new: 10.0})] * 2))
    assert out["joined"] == [new] and out["traded"] == [new]
    got = [d for f in _okx_frames(new, 2.51237) for d in eng.on_frame("okx", f)]
    assert dec.counters["unknown_instrument"] == 9  # (its frames are sized now)
    sid = eng.registry.id("okx", new)
    assert eng.liq_seen[sid] == 8 and eng._by_symbol[new] == (sid, 1)
    (d,) = [d for d in got if d.action == "order"]
    intent = eng.books[new].entry  # (the paper venue holds it: placed at once)
    assert intent.symbol == new and _grid(intent.price, "0.0001") and _grid(intent.qty, "10")
    assert intent.price <= 2.51237 and intent.qty * intent.price <= 100.0  # a buy, rounded down


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_a_listing_admitted_while_running_sends_its_order_through_the_bybit_gateway_on_its_grid():
    from liqcore.live.admit import admit
    from liqcore.venues.bybit.gateway import BybitGateway
    from liqcore.live.engine import Engine
    from liqcore.venues.bybit.fake import FakeExchange

    from tests.market.test_symbol_rules import _frames

    inst = {"ARCUSDT": {"tickSize": 0.0001, "qtyStep": 10.0, "minOrderQty": 10.0},
            "NEWUSDT": {"tickSize": 0.001, "qtyStep": 1.0, "minOrderQty": 1.0}}

    async def main():
        async with FakeExchange(instruments=inst) as fx:
            gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, symbols=["ARCUSDT"],
                              retry_backoff=0.02, timeout=2.0)
            eng = Engine(Params(min_history=5, history=50), symbols=["ARCUSDT"], gateway=gw, notional=1234.5)
            eng.order_manager.use_only({"ARCUSDT": Instrument("ARCUSDT", 0.0001, 10.0, 10.0),
                                        "NEWUSDT": Instrument("NEWUSDT", 0.001, 1.0, 1.0)})
            await eng.start()
            assert admit(eng, "bybit", ["NEWUSDT", "ARCUSDT"]) == ["NEWUSDT"]
            deadline = time.monotonic() + 30
            while gw._instruments.get("NEWUSDT") is None and time.monotonic() < deadline:
                await asyncio.sleep(0.01)  # (the gateway loads its instrument in a task)
            got = [d for f in _frames("NEWUSDT", 3.14159) for d in eng.on_frame("bybit", f, orjson.loads(f)["ts"] * 1_000_000)]
            (d,) = [d for d in got if d.action == "order"]
            await eng.drain(5)
            (req,) = fx.requests_to("/v5/order/create")
            assert req.ret_code == 0 and req.body["symbol"] == "NEWUSDT"
            price, qty = Decimal(req.body["price"]), Decimal(req.body["qty"])
            assert price % Decimal("0.001") == 0 and qty % 1 == 0 and qty >= 1 and price <= Decimal("3.14159")
            await eng.shutdown()

    asyncio.run(main())


@pytest.mark.parametrize("venue,sym,want", [
    ("binance", "C005USDT", {"method": "UNSUBSCRIBE", "params": ["c005usdt@aggTrade"]}),
    ("bybit", "C005USDT", {"op": "unsubscribe", "args": ["publicTrade.C005USDT"]}),
    ("okx", "C005-USDT-SWAP", {"op": "unsubscribe", "args": [{"channel": "trades", "instId": "C005-USDT-SWAP"}]}),
])
def test_on_demand_unsubscribes_a_delisted_symbol_in_the_venue_s_own_message(venue, sym, want):
    from liqcore.live.ondemand import OnDemand

    other = {"okx": "C001-USDT-SWAP"}.get(venue, "C001USDT")
    od = OnDemand(venue, [other, sym], always=[other, sym], url="ws://127.0.0.1:9/ws")
    assert sym in od.spec.symbols
    sent: list = []
    assert od.drop_symbols([sym], send=sent.append) == [sym]
    (msg,) = [orjson.loads(m) for m in sent]
    assert {k: msg[k] for k in want} == want
    assert od.spec.symbols == [other] and sym not in od.symbols and sym not in od.always
    assert all(sym.lower() not in m.decode().lower() for m in od.spec.subscribe)  # (a reconnect: not again)
    assert od.drop_symbols([sym], send=sent.append) == [] and len(sent) == 1
    assert np.array_equal(sorted(od.subscribed), [other])


@pytest.mark.parametrize("venue", ["binance", "okx", "bybit"])
def test_the_feed_unsubscribes_a_delisted_symbol_s_streams_and_keeps_the_all_market_one(venue):
    from liqcore.live.feeds import FeedManager
    from liqcore.market.streams import whole_market_specs

    syms = {"okx": ["C001-USDT-SWAP", "C005-USDT-SWAP"]}.get(venue, ["C001USDT", "C005USDT"])
    specs = whole_market_specs(venue, syms, syms, url="ws://127.0.0.1:9/ws", book=True)
    fm = FeedManager(venue, syms, lambda *a: None, specs=specs)
    before = [t for sp in fm.specs for t in sp.topics]
    mine = fm.symbol_topics([syms[1]])
    assert len(mine) >= 2 and all(syms[1].lower() in t.lower() for t in mine)  # (its trades and its book)
    sent: list = []
    for c in fm.connections:  # (Binance: the market and the public connection)
        c.send = lambda m: sent.append(orjson.loads(m)) or True
    assert fm.remove_topics(mine) == mine
    after = [t for sp in fm.specs for t in sp.topics]
    assert after == [t for t in before if t not in mine]  # the all-market stream and the other symbol's stay
    assert fm.specs[0].symbols == [syms[0]] or venue == "bybit" and syms[1] not in fm.specs[0].symbols
    got = [a for m in sent for a in (m.get("params") or m.get("args"))]
    if venue == "okx":
        assert [orjson.dumps(a).decode() for a in got] == mine and all(m["op"] == "unsubscribe" for m in sent)
    else:
        assert got == mine and all(m.get("method", m.get("op")).lower() == "unsubscribe" for m in sent)
    resub = [a for sp in fm.specs for m in sp.subscribe
             for a in (orjson.loads(m).get("params") or orjson.loads(m)["args"])]
    assert len(resub) == len(after) and not any(syms[1].lower() in orjson.dumps(a).decode().lower() for a in resub)


async def _until(cond, what, timeout_s: float = 30.0):
    """Wait (bounded) for ``cond()``: polled every 20 ms, failing with ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def test_a_binance_combined_stream_connection_unsubscribes_a_delisted_symbol_and_reconnects_without_it():
    """Binance connections whose streams are in their URL (``/market/stream?streams=a/b/c`` and the book data's
    ``/public/stream?streams=...``), against the fake Binance stream on 127.0.0.1: a delisted symbol's streams
    leave in one ``UNSUBSCRIBE`` on each open connection that held them (the fake records exactly which), no
    frame of them arrives after, and the reconnects after the venue drops the connections ask for the URLs
    without them."""
    from liqcore.live.feeds import FeedManager
    from liqcore.venues.fake_streams import FakeMarketStream
    from liqcore.venues.binance.samples import trade_frame
    from liqcore.venues.binance.stream import connection_specs

    from tests.market._venues import wait_for

    syms = ["C001USDT", "C005USDT", "C007USDT"]

    async def session():
        fs = await FakeMarketStream("binance").start()
        base = f"ws://127.0.0.1:{fs.port}"
        specs = connection_specs(syms, url=base, combined=True, all_liquidations=True, book=True)
        assert [sp.url.split("?")[0] for sp in specs] == [base + "/market/stream", base + "/public/stream"]
        assert not any(sp.subscribe for sp in specs)
        got: list = []
        fm = FeedManager("binance", syms, lambda v, f, t=None: got.append(bytes(f)), specs=specs)

        await fm.start()
        try:
            names = [list(sp.topics) for sp in specs]
            await _until(lambda: sorted(fs.ops) == sorted(("url", n) for n in names), "the combined connections")
            mine = fm.symbol_topics(["C005USDT"])
            assert mine == ["c005usdt@aggTrade", "c005usdt@bookTicker"]
            assert fm.remove_topics(mine) == mine
            await _until(lambda: len(fs.ops) == 4, "the unsubscribes")
            left = [[n for n in ns if n not in mine] for ns in names]
            after_unsub = (list(fs.ops), fs.subscriptions())
            t = int(time.time() * 1000)
            delivered = (fs.trade(trade_frame("C005USDT", t, 1.0, 2.0), "C005USDT")[1],
                         fs.trade(trade_frame("C007USDT", t, 1.0, 3.0), "C007USDT")[1])
            await _until(lambda: any(b'"C007USDT"' in f for f in got), "the kept symbol's trade")
            assert await fs.drop() == 2
            await _until(lambda: len(fs.ops) == 6, "the reconnects")
            return names, left, after_unsub, delivered, list(fs.ops), [sp.url for sp in fm.specs], got
        finally:
            await fm.stop()
            await fs.stop()

    names, left, (ops, subs), delivered, ops_after, urls, got = asyncio.run(session())
    assert sorted(ops[2:]) == [("unsubscribe", ["c005usdt@aggTrade"]), ("unsubscribe", ["c005usdt@bookTicker"])]
    assert subs == set(left[0]) | set(left[1]) and "!forceOrder@arr" in subs  # (the all-market stream stays)
    assert delivered == (0, 1) and not any(b'"C005USDT"' in f for f in got)
    assert sorted(ops_after[4:]) == sorted(("url", ns) for ns in left)
    assert urls[0].endswith("/market/stream?streams=" + "/".join(left[0]))
    assert urls[1].endswith("/public/stream?streams=" + "/".join(left[1]))


def test_streams_removed_while_a_combined_connection_connects_are_unsubscribed_once_it_is_up():
    """The race CI met under load: the fake Binance stream has the upgrade request of each combined connection (its
    URL names ``c005usdt@...``) but answers it 1 s late; the delisted symbol's streams are removed in that second,
    while the client is not yet connected, so no ``UNSUBSCRIBE`` can go.  Once each connection is up, the streams its
    socket asked for and that were removed since are unsubscribed there (one request on each), and no frame of
    them arrives after; a reconnect asks for the URLs without them.  Before the change the venue kept sending them."""
    from liqcore.live.feeds import FeedManager
    from liqcore.venues.fake_streams import FakeMarketStream
    from liqcore.venues.binance.samples import trade_frame
    from liqcore.venues.binance.stream import connection_specs

    syms = ["C001USDT", "C005USDT", "C007USDT"]

    async def session():
        fs = await FakeMarketStream("binance").start()
        fs.handshake_delay_s = 1.0
        base = f"ws://127.0.0.1:{fs.port}"
        specs = connection_specs(syms, url=base, combined=True, all_liquidations=True, book=True)
        got: list = []
        fm = FeedManager("binance", syms, lambda v, f, t=None: got.append(bytes(f)), specs=specs)

        await fm.start()
        try:
            names = [list(sp.topics) for sp in specs]
            await _until(lambda: len(fs.handshakes) == 2, "the two upgrade requests")
            assert not any(c.connected for c in fm.connections)  # (the connects are in flight)
            asked = list(fs.handshakes)
            mine = fm.symbol_topics(["C005USDT"])
            assert fm.remove_topics(mine) == mine
            await _until(lambda: len(fs.ops) == 4, "the connections and the late unsubscribes")
            ops, subs = list(fs.ops), fs.subscriptions()
            t = int(time.time() * 1000)
            delivered = (fs.trade(trade_frame("C005USDT", t, 1.0, 2.0), "C005USDT")[1],
                         fs.trade(trade_frame("C007USDT", t, 1.0, 3.0), "C007USDT")[1])
            await _until(lambda: any(b'"C007USDT"' in f for f in got), "the kept symbol's trade")
            fs.handshake_delay_s = 0.0
            assert await fs.drop() == 2
            await _until(lambda: len(fs.ops) == 6, "the reconnects")
            return names, mine, asked, ops, subs, delivered, list(fs.ops), got
        finally:
            await fm.stop()
            await fs.stop()

    names, mine, asked, ops, subs, delivered, ops_after, got = asyncio.run(session())
    assert all("c005usdt@" in a for a in asked)  # (the sockets asked for the old URLs)
    # the two connections come up in either order, each one's unsubscribe after its own connection (the other's
    # upgrade may be answered after it: both answers are held 1 s from requests a few ms apart)
    assert sorted(o for o in ops if o[0] == "url") == sorted(("url", n) for n in names)
    assert sorted(o for o in ops if o[0] == "unsubscribe") == [("unsubscribe", ["c005usdt@aggTrade"]),
                                                              ("unsubscribe", ["c005usdt@bookTicker"])]
    for i, (op, streams) in enumerate(ops):
        if op == "unsubscribe":
            assert any(o == "url" and streams[0] in ns for o, ns in ops[:i]), ops
    left = [[n for n in ns if n not in mine] for ns in names]
    assert subs == set(left[0]) | set(left[1]) and "!forceOrder@arr" in subs
    assert delivered == (0, 1) and not any(b'"C005USDT"' in f for f in got)
    assert sorted(ops_after[4:]) == sorted(("url", ns) for ns in left)  # (no second unsubscribe on the reconnects)


def test_a_combined_url_loses_only_the_unsubscribed_streams():
    from liqcore.venues.binance.stream import url_without

    u = "wss://fstream.binance.com/market/stream?streams=!forceOrder@arr/c005usdt@aggTrade/c001usdt@aggTrade&x=1"
    assert url_without(u, ["c005usdt@aggTrade"]) == ("wss://fstream.binance.com/market/stream?streams="
                                                     "!forceOrder@arr/c001usdt@aggTrade&x=1")
    assert url_without(u, ["!forceOrder@arr", "c005usdt@aggTrade", "c001usdt@aggTrade"]) == (
        "wss://fstream.binance.com/market/stream?x=1")  # (none left: it subscribes by message)
    assert url_without("ws://127.0.0.1:9/stream?streams=a@b", ["a@b"]) == "ws://127.0.0.1:9/stream"
    assert url_without("ws://127.0.0.1:9/ws", ["a@b"]) == "ws://127.0.0.1:9/ws"

"""`liqcore run --venue bybit --symbols all` at 400 symbols against the fake Bybit on 127.0.0.1: the
``allLiquidation`` topics (and the ``--also`` trades) are sharded over connections within the venue's limits
(the fake refuses a connection's args past 21,000 characters), every shard re-subscribes its own topics after
the venue drops the connections, and every one of the 400 symbols' liquidations reaches the detector."""
from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

import orjson
import pytest
from hypothesis import given, settings, strategies as st

from liqcore.venues.bybit.stream import ARGS_PER_REQUEST, MAX_ARGS_CHARS, args_chars, topic_specs

from tests.market._venues import wait_for as _wait

_SYM = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=30).map(lambda s: s + "USDT")


@settings(max_examples=60, deadline=None)
@given(st.lists(_SYM, min_size=1, max_size=1500, unique=True), st.integers(200, MAX_ARGS_CHARS))
def test_bybit_shards_keep_every_connection_s_args_within_the_limit(symbols, limit):
    tops = [f"allLiquidation.{s}" for s in symbols]
    specs = topic_specs(tops, "ws://127.0.0.1:9/v5/public/linear", max_chars=limit)
    assert [t for sp in specs for t in sp.topics] == tops  # every topic once, in order
    for sp in specs:
        assert args_chars(sp.topics) == len(orjson.dumps(sp.topics)) <= limit  # (the array as sent)
        sent = [orjson.loads(m) for m in sp.subscribe]
        assert all(len(m["args"]) <= ARGS_PER_REQUEST for m in sent)
        assert [a for m in sent for a in m["args"]] == sp.topics
    # as few connections as the limit allows: no two neighbours would have fitted on one
    for a, b in zip(specs, specs[1:]):
        assert args_chars(a.topics + b.topics[:1]) > limit


def test_topics_added_while_running_fill_the_connection_with_room_then_open_another():
    from liqcore.live.feeds import FeedManager

    tops = [f"allLiquidation.S{i:04d}XXXXXXXXUSDT" for i in range(590)]  # 32 characters each
    fm = FeedManager("bybit", ["S0000XXXXXXXXUSDT"], lambda *a: None, specs=topic_specs(tops, "ws://127.0.0.1:9/ws"))
    assert len(fm.specs) == 1 and args_chars(tops) <= MAX_ARGS_CHARS
    more = [f"allLiquidation.N{i:04d}XXXXXXXXUSDT" for i in range(20)]
    room = (MAX_ARGS_CHARS - args_chars(tops)) // 35  # (35: a topic, its quotes and a comma)
    assert 0 < room < len(more)
    fm._stopping = True  # (no loop here: a new connection is made, not started)
    assert fm.add_topics(more + tops[:3]) == more  # (subscribed already: left out)
    assert fm.specs[0].topics == tops + more[:room] and fm.specs[1].topics == more[room:]
    assert all(args_chars(sp.topics) <= MAX_ARGS_CHARS for sp in fm.specs)
    assert [a for m in fm.specs[0].subscribe for a in orjson.loads(m)["args"]] == tops + more[:room]  # (reconnects)
    assert fm.remove_topics([more[0], more[-1], "allLiquidation.NOTHELD"]) == [more[0], more[-1]]
    assert more[0] not in fm.specs[0].topics and more[-1] not in fm.specs[1].topics
    assert not any(more[0] in m.decode() for m in fm.specs[0].subscribe)


async def _on_loop(f, *args):
    return f(*args)


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_bybit_all_at_400_symbols_shards_resubscribes_and_every_symbol_reaches_the_detector():
    import math

    from liqcore.cli import build_parser
    from liqcore.commands.run import _run, build
    from liqcore.testing.fake_exchange import FakeExchangeThread
    from liqcore.testing.fake_replay import liquidation_frame
    from liqcore.venues.fake_universe import market_instruments

    inst = market_instruments(400, prefix="LONGTAIL")  # the five majors and LONGTAIL000USDT ... (a long tail)
    names = sorted(inst)
    ft = FakeExchangeThread(instruments=inst)
    fx = ft.start()
    liq = [f"allLiquidation.{s}" for s in names]
    every = liq + [f"publicTrade.{s}" for s in names]  # (the liquidations may fill a shard of their own: the
    # trades' shards are waited for too, else a busy machine's snapshot of the shards can miss one still subscribing)
    steps: dict = {}
    seen: dict = {}  # (the counts behind a failed step)
    shards: dict = {}

    def groups(ops) -> dict:
        out: dict = {}
        for cid, op, args, ok in ops:
            if op == "subscribe" and ok:
                out.setdefault(cid, set()).update(args)
        return out

    args = build_parser("run").parse_args([
        "run", "--venue", "bybit", "--symbols", "all", "--also", ",".join(names), "--rest-url", fx.rest_url,
        "--ws-url", fx.public_ws_url, "--instruments-refresh", "0", "--no-dashboard", "--min-history", "1",
        "--history", "50", "--silent-after", "0"])  # (the fake sends no trades: on a slow machine the silent-
    # stream watch would re-subscribe them within the test, which counts the shards' own re-subscriptions)
    engine, runner, fake = build(args)
    assert fake is None and len(runner.feed.specs) >= 2  # 800 topics of these names: over one connection's args
    assert runner.feed.watch.silent_after_s == 0

    def venue():
        deadline = time.monotonic() + 180
        try:
            steps["subscribed"] = _wait(lambda: all(fx.subscribed(t) for t in every), deadline)
            ops = list(fx.public_ops)
            shards["first"] = groups(ops)
            steps["all_accepted"] = all(ok for *_, ok in ops) and all(len(a) <= ARGS_PER_REQUEST for _, _, a, _ in ops)
            n = len(ops)
            seen["dropped"] = ft.call(_on_loop(fx.drop, "public"))  # (on the fake's loop: its sockets are that loop's)
            seen["shards"] = len(shards["first"])
            steps["dropped"] = seen["dropped"] == seen["shards"]
            steps["resubscribed"] = _wait(lambda: all(fx.subscribed(t) for t in every)
                                          and sum(map(len, groups(fx.public_ops[n:]).values()))
                                          == sum(map(len, shards["first"].values())), deadline)
            shards["again"] = groups(fx.public_ops[n:])
            now = int(time.time() * 1000)
            for k in range(2):  # two liquidations per symbol (a threshold at min-history 1)
                for i, s in enumerate(names):
                    px = inst[s]["price"]
                    ft.call(fx.push(liquidation_frame(s, px, 100.0 / px, "Buy", now - 60_000 + k * 20_000 + i)))
            steps["detected"] = _wait(lambda: all(engine.liq_seen.get(engine.registry.id("bybit", s), 0) == 2
                                                  for s in names), deadline)
        finally:
            os.kill(os.getpid(), signal.SIGINT)

    t = threading.Thread(target=venue, daemon=True)
    try:
        t.start()
        summary = asyncio.run(_run(runner, engine, None, 250))
    finally:
        t.join(30)
        ft.stop()
    assert steps == {k: True for k in ("subscribed", "all_accepted", "dropped", "resubscribed", "detected")}, \
        (steps, seen)
    first, again = shards["first"], shards["again"]
    assert len(first) >= 2 and all(len(orjson.dumps(sorted(g))) <= MAX_ARGS_CHARS for g in first.values())
    # each shard re-subscribed its own topics on its new connection: the same groups
    assert sorted(map(sorted, first.values())) == sorted(map(sorted, again.values()))
    assert set().union(*first.values()) >= set(liq) | {f"publicTrade.{s}" for s in names}
    for s in names:  # every symbol's liquidations reached the detector: its threshold exists
        assert math.isfinite(engine.detector.threshold(engine.registry.id("bybit", s))), s
    assert summary["gaps"] >= len(first) and summary["rejects"].get("future_time", 0) == 0

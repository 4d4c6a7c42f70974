"""Reaction latency on loopback: from the fake exchange sending the confirming liquidation frame to it
receiving the order-create request (``liqcore run --live`` path: picows feed -> Decoder ->
CascadeDetector -> StrategyCore -> journal (SQLite WAL) -> BybitGateway -> aiohttp -> fake REST).

Each cascade: a reference trade, then two large liquidations (the second confirms); the order is
cancelled afterwards so the symbol is free for the next one (event times are 2 minutes apart, so every
cascade has ended before the next starts). The threshold is recomputed every event (``refresh=0``)
and each cascade's liquidations are a little larger than all before (so they stay above the P95). The fake's create/cancel rate limit is switched off (it
would cap the run at 10 orders/s, not change the latency).

Printed: p50/p90/p99/max of the loopback reaction and, measured in the same run: the in-process part
alone (``Engine.on_frame`` of the confirming frame up to the journaled intent) and the floor of the
same hops without the engine (a bare picows client that answers the marked frame with one aiohttp
request to the same fake), with the ratios.

    python benches/bench_reaction.py [--cascades 1000] [--no-journal] [--burst] [--stages] [--before REV]

``--before REV`` runs the same bench with the order path (Bybit REST client, gateway, limiter) of an
earlier revision, for before/after figures from one session.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's liqcore, not an installed one


def baseline(t_ms: int) -> list[bytes]:
    """200 small liquidations (notionals 150..1320 quote) in 5 frames: the threshold history."""
    return [orjson.dumps({"topic": "allLiquidation.ETHUSDT", "type": "snapshot", "ts": t_ms + j * 100,
                          "data": [{"T": t_ms + j * 100, "s": "ETHUSDT", "S": "Buy", "v": f"{0.05 + 0.01 * i:.2f}",
                                    "p": "3000"} for i in range(40)]}) for j in range(5)]


def large(i: int) -> float:
    return round(10.0 * 1.001 ** i, 2) + 0.01 * (i % 2)


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


JOURNAL_CALLS = ("cascade", "intent_ahead", "intent_rows", "decision", "maybe_flush")
GW_CALLS = ("order_body", "fast_post_bytes")


def instrument(eng, gw, marks: dict) -> None:
    """Wall-clock stamps of the confirming frame's hops: feed receive, engine decision done, gateway task
    running, create request written (the fake stamps the receive).  Adds ~1 us per hop."""
    on_frame, place, h1_request, h1_begin = eng.on_frame, gw.place, gw.rest._h1.request, gw.rest._h1.begin

    def on_frame_i(venue, frame, recv_ns=None):
        for k in [k for k in marks if k.startswith("journal_")]:
            del marks[k]
        out = on_frame(venue, frame, recv_ns)
        if out and out[0].action == "order":
            marks["recv"], marks["decided"] = recv_ns, time.time_ns()
        return out

    async def place_i(intent, sent=None):
        marks["task"] = time.time_ns()
        return await (place(intent) if sent is None else place(intent, sent=sent))

    async def h1_request_i(data, timeout):
        if b"/v5/order/create " in data[:64]:
            marks["write"] = time.time_ns()  # the bytes go out on this call's stack, before its first await
            marks["path"] = "task"
        return await h1_request(data, timeout)

    def h1_begin_i(data, timeout, loop):
        if b"/v5/order/create " in data[:64]:
            marks["write"] = time.time_ns()  # written inside on_frame (send_now)
            marks["path"] = "sync"
        return h1_begin(data, timeout, loop)

    eng.on_frame, gw.place, gw.rest._h1.request, gw.rest._h1.begin = on_frame_i, place_i, h1_request_i, h1_begin_i
    for obj, name in ((gw, "order_body"), (gw.rest, "fast_post_bytes")):
        fn = getattr(obj, name)

        def w(*a, _fn=fn, _name=name, **k):
            t = time.perf_counter_ns()
            try:
                return _fn(*a, **k)
            finally:
                marks["gw_" + _name] = time.perf_counter_ns() - t

        setattr(obj, name, w)
    submit = eng.order_manager.submit

    def submit_i(intent, recv_ns):
        marks["submit"] = time.time_ns()
        submit(intent, recv_ns)

    eng.order_manager.submit = submit_i
    j = eng.journal
    if j is not None:  # time spent in journal calls inside the confirming frame's on_frame
        def timed(name, fn):
            def w(*a, **k):
                t = time.perf_counter_ns()
                try:
                    return fn(*a, **k)
                finally:
                    marks["journal_" + name] = marks.get("journal_" + name, 0) + time.perf_counter_ns() - t
            return w

        for name in ("intent_ahead", "intent_rows", "decision", "cascade", "maybe_flush", "note"):
            setattr(j, name, timed(name, getattr(j, name)))


async def main(n: int, use_journal: bool, stages: bool = False, burst: bool = False) -> None:
    from liqcore.config import Params
    from liqcore.venues.bybit.gateway import BybitGateway
    from liqcore.live.engine import Engine
    from liqcore.live.journal import Journal
    from liqcore.live.runner import LiveRunner
    from liqcore.venues.bybit.fake import FakeExchange
    from liqcore.testing.fake_replay import liquidation_frame, trade_frame

    params = Params(min_history=100, history=1000, refresh_ns=0)
    tmp = tempfile.TemporaryDirectory()
    async with FakeExchange(rate_limit=None) as fx:
        gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, symbols=["ETHUSDT"],
                          create_rate=1_000_000, cancel_rate=1_000_000)
        journal = Journal(Path(tmp.name) / "bench.sqlite") if use_journal else None
        eng = Engine(params, symbols=["ETHUSDT"], gateway=gw, journal=journal)
        marks: dict[str, int] = {}  # per cascade, with --stages: wall-clock ns of each hop (same clock as the fake)
        if stages:
            instrument(eng, gw, marks)
        runner = LiveRunner(eng, "bybit", ["ETHUSDT"], ws_url=fx.public_ws_url)
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop=stop))
        await runner.feed.wait_connected(10)
        await asyncio.sleep(0.3)
        sent: dict[bytes, int] = {}
        fx.on_sent.append(lambda topic, data, ns: sent.__setitem__(data, ns) if b'"p":"2999"' in data else None)
        t_ms = int(time.time() * 1000) - n * 120_000 - 600_000
        for f in baseline(t_ms):
            await fx.push(f)
        totals, failures, stage_rows, paths = [], 0, [], {}
        for k in range(n):
            t0 = t_ms + 60_000 + k * 120_000
            creates_before = len(fx.requests_to("/v5/order/create"))
            frames_before = eng.frames.get("bybit", 0)
            await fx.push(trade_frame("ETHUSDT", 3000.0, 1, "Sell", t0))
            await fx.push(liquidation_frame("ETHUSDT", 3000, large(2 * k), "Buy", t0 + 1000))
            if not burst:  # the first liquidation is handled before the confirming one is sent
                t_wait = time.monotonic()
                while eng.frames.get("bybit", 0) < frames_before + 2 and time.monotonic() - t_wait < 1:
                    await asyncio.sleep(0)
            confirm = orjson.dumps(liquidation_frame("ETHUSDT", 2999, large(2 * k + 1), "Buy", t0 + 2000))
            await fx.push(confirm)
            t_wait = time.monotonic()
            while len(fx.requests_to("/v5/order/create")) == creates_before:
                await asyncio.sleep(0.002)  # a timer, not a busy loop: the loop idles in epoll meanwhile
                if time.monotonic() - t_wait > 5:
                    break
            creates = fx.requests_to("/v5/order/create")
            if len(creates) == creates_before or confirm not in sent:
                failures += 1
                continue
            totals.append(creates[-1].recv_ns - sent[confirm])
            if stages and all(k in marks for k in ("recv", "decided", "write", "submit")):
                paths[marks["path"]] = paths.get(marks["path"], 0) + 1
                fake = creates[-1].recv_ns
                row = [marks["recv"] - sent[confirm], marks["decided"] - marks["recv"], marks["write"] - marks["recv"],
                       fake - marks["write"], fake - marks["decided"], marks["write"] - marks["submit"],
                       marks["decided"] - marks["write"]]
                row += [marks.get("journal_" + n, 0) for n in JOURNAL_CALLS]
                row += [marks.get("gw_" + n, 0) for n in GW_CALLS]
                stage_rows.append(row)
            marks.clear()
            cid = creates[-1].body["orderLinkId"]
            await eng.drain(5)
            await eng._cancel("ETHUSDT", cid)
            t_wait = time.monotonic()
            while eng.books["ETHUSDT"].entry is not None and time.monotonic() - t_wait < 5:
                await asyncio.sleep(0.001)
        stop.set()
        await task
        if journal is not None:
            journal.close()

    # the floor: the same loopback hops with no engine (a bare picows client that, on the marked frame,
    # sends one aiohttp request to the fake), measured on the same fake in the same run
    floor = []
    async with FakeExchange(rate_limit=None) as fx:
        import aiohttp
        from picows import WSListener, WSMsgType, ws_connect

        session = aiohttp.ClientSession()
        url = fx.rest_url + "/v5/market/time"
        pending = []

        class L(WSListener):
            def on_ws_frame(self, t, frame):
                if frame.msg_type == WSMsgType.TEXT and b'"p":"2999"' in frame.get_payload_as_bytes():
                    pending.append(asyncio.get_running_loop().create_task(session.get(url)))

        tr, _ = await ws_connect(L, fx.public_ws_url)
        tr.send(WSMsgType.TEXT, b'{"op":"subscribe","args":["allLiquidation.ETHUSDT"]}')
        await asyncio.sleep(0.3)
        fsent: dict[bytes, int] = {}
        fx.on_sent.append(lambda topic, data, ns: fsent.__setitem__(data, ns) if b'"p":"2999"' in data else None)
        for k in range(n):
            before = len(fx.requests_to("/v5/market/time"))
            frame = orjson.dumps(liquidation_frame("ETHUSDT", 2999, large(k), "Buy", t_ms + k))
            await fx.push(frame)
            t_wait = time.monotonic()
            while len(fx.requests_to("/v5/market/time")) == before and time.monotonic() - t_wait < 5:
                await asyncio.sleep(0.002)
            reqs = fx.requests_to("/v5/market/time")
            if len(reqs) > before and frame in fsent:
                floor.append(reqs[-1].recv_ns - fsent[frame])
            for task in pending:
                (await task).release()
            pending.clear()
        tr.disconnect()
        await session.close()

    # the in-process part on the same kind of frames: the same live-mode engine (a BybitGateway that is
    # never started, so intents stay in engine.pending), same journal mode; each entry is then
    # reported cancelled to free the symbol
    from liqcore.venues.gateway import OrderUpdate

    inproc = []
    j2 = Journal(Path(tmp.name) / "inproc.sqlite") if use_journal else None
    gw2 = BybitGateway("k" * 8, "s" * 16, "http://127.0.0.1:9", "ws://127.0.0.1:9", symbols=["ETHUSDT"])
    e2 = Engine(params, symbols=["ETHUSDT"], gateway=gw2, journal=j2)
    e2.warmup()
    for f in baseline(t_ms):
        e2.on_frame("bybit", f)
    for k in range(n):
        t0 = t_ms + 60_000 + k * 120_000
        now = time.time_ns()
        e2.on_frame("bybit", orjson.dumps(trade_frame("ETHUSDT", 3000.0, 1, "Sell", t0)), now)
        e2.on_frame("bybit", orjson.dumps(liquidation_frame("ETHUSDT", 3000, large(2 * k), "Buy", t0 + 1000)), now)
        frame = orjson.dumps(liquidation_frame("ETHUSDT", 2999, large(2 * k + 1), "Buy", t0 + 2000))
        a = time.perf_counter_ns()
        ds = e2.on_frame("bybit", frame, now)
        b = time.perf_counter_ns()
        if ds and ds[0].action == "order":
            inproc.append(b - a)
            e2.pending.clear()
            e2._on_update(OrderUpdate(ds[0].client_id, "cancelled", "ETHUSDT", kind="entry", ts_ns=now))
    if j2 is not None:
        j2.close()
    tmp.cleanup()

    us = [x / 1000 for x in totals]
    ip = [x / 1000 for x in inproc]
    print(f"reaction on loopback (fake sends confirming frame -> fake receives order/create), "
          f"journal={'on' if use_journal else 'off'}, {'burst' if burst else 'first liquidation handled before'}, "
          f"{len(us)} cascades, {failures} without an order")
    print(f"  loopback total : p50 {pct(us, .5):8.1f} us   p90 {pct(us, .9):8.1f} us   p99 {pct(us, .99):8.1f} us"
          f"   max {max(us):8.1f} us   mean {statistics.fmean(us):8.1f} us")
    print(f"  in-process only: p50 {pct(ip, .5):8.1f} us   p90 {pct(ip, .9):8.1f} us   p99 {pct(ip, .99):8.1f} us"
          f"   (live-mode Engine.on_frame of the confirming frame up to the queued intent, {len(ip)} decisions)")
    fl = [x / 1000 for x in floor]
    print(f"  floor (no engine): p50 {pct(fl, .5):8.1f} us   p90 {pct(fl, .9):8.1f} us   p99 {pct(fl, .99):8.1f} us"
          f"   (bare picows receive -> aiohttp GET to the same fake, {len(fl)} frames)")
    print(f"  ratio total/in-process (p50): x{pct(us, .5) / pct(ip, .5):.1f}; total/floor (p50): "
          f"x{pct(us, .5) / pct(fl, .5):.2f}; total - floor (p50): {pct(us, .5) - pct(fl, .5):.1f} us")
    if stage_rows:
        names = ["fake send -> feed receive (websocket hop)", "feed receive -> Engine.on_frame returned",
                 "feed receive -> create written", "create written -> fake handler (loop + loopback + aiohttp server)",
                 "on_frame returned -> fake handler", "  _submit called -> create written",
                 "  create written -> on_frame returned"]
        print(f"  stages (--stages, {len(stage_rows)} cascades, create written by: {paths}; medians and p99 in us):")
        names += [*[f"  of which: journal.{n}" for n in JOURNAL_CALLS], *[f"  of which: {n}" for n in GW_CALLS]]
        for i, name in enumerate(names):
            col = [r[i] / 1000 for r in stage_rows]
            print(f"    {name:52s} p50 {pct(col, .5):7.1f}   p90 {pct(col, .9):7.1f}   p99 {pct(col, .99):7.1f}")
    print(f"  targets: p50 <= 300 us {'OK' if pct(us, .5) <= 300 else 'MISSED'}, "
          f"p99 <= 1000 us {'OK' if pct(us, .99) <= 1000 else 'MISSED'}")


#: the order path's files (at a revision from issue 68's move of the gateways into venues/ on: before it, the
#: limiter was liqcore/live/ratelimit.py and the gateway liqcore/live/bybit_gateway.py, importing modules now gone)
ORDER_PATH = ("liqcore/venues/ratelimit.py", "liqcore/venues/bybit/rest.py", "liqcore/venues/bybit/gateway.py",
              "liqcore/live/engine.py")


def load_order_path(rev: str) -> None:
    """Load the Bybit REST client, gateway and limiter as they were at git revision ``rev`` (for a
    before/after comparison in one session); everything else stays as checked out."""
    import importlib.util
    import subprocess
    import sys

    import liqcore.live
    import liqcore.venues.bybit  # noqa: F401  (parent packages first)

    root = Path(__file__).resolve().parents[1]
    tmpdir = Path(tempfile.mkdtemp(prefix="liqcore-before-"))
    for path in ORDER_PATH:
        src = subprocess.run(["git", "-C", str(root), "show", f"{rev}:{path}"], check=True, capture_output=True).stdout
        f = tmpdir / Path(path).name
        f.write_bytes(src)
        name = path[:-3].replace("/", ".")
        spec = importlib.util.spec_from_file_location(name, f)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--cascades", type=int, default=1000)
    ap.add_argument("--no-journal", action="store_true")
    ap.add_argument("--stages", action="store_true", help="also stamp each hop of the confirming frame")
    ap.add_argument("--burst", action="store_true",
                    help="send the trade, the first and the confirming liquidation back to back (the client then "
                         "handles the two earlier frames inside the measured time)")
    ap.add_argument("--before", metavar="REV", help="run with the order path (Bybit REST client, gateway, "
                    "limiter) of git revision REV, e.g. 7702fa0")
    a = ap.parse_args()
    if a.before:
        if a.stages:
            ap.error("--stages needs the current order path")
        load_order_path(a.before)
    logging.disable(logging.WARNING)
    import uvloop

    uvloop.run(main(a.cascades, not a.no_journal, a.stages, a.burst))

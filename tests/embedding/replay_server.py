"""A local Bybit v5 public websocket that plays a recorded cascade to the embedding examples' own clients.

    python -m tests.embedding.replay_server [--rate 2000] [--extra-liquidations 6000] [--port 0]

It plays the bundled sample recording (Bybit ETHUSDT liquidations, trades and tickers holding two
cascades) in its recorded order, paced by liquidations: ``--rate`` liquidations per second.  The sample
holds 180 liquidations, so ``--extra-liquidations`` more (SOLUSDT, one per frame, sizes from a seeded
generator, event times spread evenly over the recording's span) are merged in by event time to keep that
rate for a few seconds.  The frames are Bybit v5 ``allLiquidation`` / ``publicTrade`` / ``tickers`` pushes
as the venue documents them (https://bybit-exchange.github.io/docs/v5/websocket/public/all-liquidation,
.../public/trade, .../public/ticker); a client subscribes with ``{"op": "subscribe", "args": [topics]}``
and gets ``{"success": true, "op": "subscribe", ...}``, then the frames of its topics; the server closes
the connection after the last one.

Prints ``listening on PORT`` once ready, then, when a client is done, ``sent N frames, L liquidations in
S s`` (the rate achieved).  Uses the lean core only (aiohttp, orjson and liqcore's recording reader).
"""
from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time

import orjson
from aiohttp import WSMsgType, web


def frames(extra: int, seed: int = 11) -> list[tuple[str, int, bytes]]:
    """(topic, liquidations in the frame, frame bytes) of the sample recording with ``extra`` SOLUSDT
    liquidations merged in by event time."""
    from liqcore.data import sample_recording
    from liqcore.live.recorder import read_lines

    rec = []
    for line in read_lines(sample_recording()):
        obj = orjson.loads(line)
        f = obj["frame"]
        rec.append((int(f["ts"]), f["topic"], len(f["data"]) if f["topic"].startswith("allLiquidation") else 0,
                    orjson.dumps(f)))
    t0, t1 = rec[0][0], rec[-1][0]
    rng = random.Random(seed)
    injected = []
    for i in range(extra):
        t = t0 + (t1 - t0) * (i + 1) // (extra + 1)
        qty = round(rng.lognormvariate(3.0, 1.2), 1) + 0.1
        side = "Buy" if rng.random() < 0.5 else "Sell"
        price = round(140.0 + 5.0 * rng.random(), 3)
        f = {"topic": "allLiquidation.SOLUSDT", "type": "snapshot", "ts": t + 300,
             "data": [{"T": t, "s": "SOLUSDT", "S": side, "v": str(qty), "p": str(price)}]}
        injected.append((t + 300, f["topic"], 1, orjson.dumps(f)))
    merged = sorted(rec + injected, key=lambda r: r[0])  # stable: the recording's own order on ties
    return [(topic, n, data) for _, topic, n, data in merged]


async def serve(args) -> None:
    playlist = frames(args.extra_liquidations)
    done = asyncio.Event()

    async def ws_handler(request):
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        topics: set[str] = set()
        msg = await ws.receive(timeout=30)
        if msg.type == WSMsgType.TEXT:
            req = orjson.loads(msg.data)
            if req.get("op") == "subscribe":
                topics = set(req.get("args") or [])
                await ws.send_bytes(orjson.dumps({"success": True, "ret_msg": "", "conn_id": "replay",
                                                  "op": "subscribe"}))
        loop = asyncio.get_running_loop()
        start = loop.time()
        sent = liqs = 0
        i = 0
        while i < len(playlist):
            due = liqs / args.rate  # the next liquidation's time on the replay clock (s)
            now = loop.time() - start
            if due > now:
                await asyncio.sleep(min(due - now, 0.002))
                continue
            topic, n, data = playlist[i]  # every frame up to and including the next due liquidation
            i += 1
            if topic not in topics:
                continue
            await ws.send_bytes(data)
            sent += 1
            liqs += n
        took = loop.time() - start
        await ws.close()
        print(f"sent {sent} frames, {liqs} liquidations in {took:.2f} s", flush=True)
        done.set()
        return ws

    app = web.Application()
    app.router.add_get("/v5/public/linear", ws_handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    print(f"listening on {port}", flush=True)
    await done.wait()
    await runner.cleanup()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="replay the sample recording as a Bybit v5 public websocket")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--rate", type=float, default=2000.0, help="liquidations per second")
    ap.add_argument("--extra-liquidations", type=int, default=6000)
    args = ap.parse_args(argv)
    t = time.perf_counter()
    asyncio.run(serve(args))
    print(f"served for {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

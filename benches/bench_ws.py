"""Websocket receive cost on loopback: picows vs websockets (the transport choice of liqcore.live).

A server process (picows) sends N liquidation-sized text frames as fast as it can to each client
that connects; the client (this process, uvloop) receives them with either library. Reported per
library: wall messages/s and CPU microseconds per received message of the client process (the
receive cost), median of --repeat runs, and the ratio websockets / picows.

    python benches/bench_ws.py [--n 200000] [--repeat 5]
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import time

FRAME = (b'{"topic":"allLiquidation.ETHUSDT","type":"snapshot","ts":1739502303204,'
         b'"data":[{"T":1739502302929,"s":"ETHUSDT","S":"Sell","v":"12.5","p":"3001.25"}]}')


def _server(port_q, n):
    import logging

    logging.disable(logging.WARNING)  # picows logs every write-buffer pause/resume
    import uvloop
    from picows import WSListener, WSMsgType, ws_create_server

    class L(WSListener):
        def on_ws_connected(self, t):
            asyncio.get_running_loop().create_task(self.blast(t))

        async def blast(self, t):
            for i in range(n):
                t.send(WSMsgType.TEXT, FRAME)
                if i % 2000 == 0:
                    await asyncio.sleep(0)  # let the socket drain
            t.send(WSMsgType.TEXT, b"END")

    async def main():
        srv = await ws_create_server(lambda req: L(), "127.0.0.1", 0)
        port_q.put(srv.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    uvloop.run(main())


async def recv_picows(url, n):
    from picows import WSListener, WSMsgType, ws_connect

    done = asyncio.get_running_loop().create_future()
    count = [0]

    class L(WSListener):
        def on_ws_frame(self, t, frame):
            if frame.msg_type == WSMsgType.TEXT:
                p = frame.get_payload_as_bytes()
                if p == b"END":
                    done.set_result(None)
                    t.disconnect()
                else:
                    count[0] += 1

    c0, t0 = time.process_time(), time.perf_counter()
    await ws_connect(L, url)
    await done
    return count[0], time.perf_counter() - t0, time.process_time() - c0


async def recv_websockets(url, n):
    from websockets.asyncio.client import connect

    c0, t0 = time.process_time(), time.perf_counter()
    count = 0
    async with connect(url, max_size=None, compression=None) as ws:
        async for msg in ws:
            if msg == "END" or msg == b"END":
                break
            count += 1
    return count, time.perf_counter() - t0, time.process_time() - c0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    import uvloop

    q = mp.Queue()
    proc = mp.Process(target=_server, args=(q, a.n), daemon=True)
    proc.start()
    url = f"ws://127.0.0.1:{q.get(timeout=30)}/"
    res = {"picows": [], "websockets": []}
    try:
        for _ in range(a.repeat):
            for name, fn in (("picows", recv_picows), ("websockets", recv_websockets)):
                cnt, wall, cpu = uvloop.run(fn(url, a.n))
                assert cnt == a.n, (name, cnt)
                res[name].append((cnt / wall, cpu / cnt * 1e6))
    finally:
        proc.terminate()
    print(f"loopback, {a.n} frames of {len(FRAME)} bytes, uvloop, median of {a.repeat}")
    med = {}
    for name, rows in res.items():
        mps = statistics.median(r[0] for r in rows)
        us = statistics.median(r[1] for r in rows)
        med[name] = (mps, us)
        print(f"  {name:10s}  {mps:12,.0f} msg/s   {us:6.2f} us CPU per message (client)")
    print(f"  ratio websockets/picows: CPU per message x{med['websockets'][1] / med['picows'][1]:.2f}, "
          f"throughput x{med['picows'][0] / med['websockets'][0]:.2f} for picows")


if __name__ == "__main__":
    main()

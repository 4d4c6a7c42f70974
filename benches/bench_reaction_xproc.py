"""Reaction latency across processes: a fake Bybit v5 exchange in its own process stamps the time just
before it writes the confirming liquidation frame and again when the whole ``POST /v5/order/create`` has
arrived (the ``data_received`` call that completed the request, before the fake's HTTP server parses it).

Three contenders, each a separate client process with its own fake (all fakes live in the one server
process, which is this script), taken in turn cascade by cascade (the order rotates every round):

* ``floor``: picows + one raw keep-alive HTTP/1.1 connection, orjson, HMAC sign, the create written from
  the websocket callback (``benches/bench_reaction_xproc.py --role floor``);
* ``naive``: a ~100-line bot: websockets + aiohttp + json, rolling P95 by sorting a deque
  (``--role naive``);
* ``liqcore``: ``python -m liqcore run --live`` (the real runner, Bybit gateway and SQLite journal) pointed
  at its fake with ``--ws-url/--rest-url/--private-ws-url``;
* ``liqcore-x``: the same with ``--scope instrument --trade-venue bybit --watch-venues bybit,binance``: it
  also watches a fake Binance liquidation stream (``liqcore.venues.fake_streams``, in this process too).
  Each of its cascades is split across the two venues: one large liquidation on one venue, the confirming
  one on the other (``--confirm-on``: alternately Bybit and Binance by default, reported apart); the
  order goes to Bybit.  ``liqcore-x/liqcore`` p50 is the cost of instrument scope (bar <= 1.3).

Every contender applies the same rule: a liquidation is large when its notional is above the P95 of the
symbol's last 1000 liquidation notionals (100 needed first); two large ones within 60 s are a cascade,
answered by one limit order.  Each cascade is on ETHUSDT, whose threshold is established (200 small
liquidations first): a reference trade and the first large liquidation, then >= ``--idle`` ms of silence,
then the confirming liquidation.  After the create the fake cancels the order (the engine frees the
symbol through its private stream) and the feed stays quiet until the next cascade.  ``--tape`` adds a
background tape of 200 trades/s (BTCUSDT ``publicTrade``, subscribed by every contender).

    python benches/bench_reaction_xproc.py [--cascades 300] [--variants quiet,tape] [--idle 25]

Prints p50/p90/p99 per contender and variant, the ratios liqcore/floor (p50, p99) and naive/liqcore (p50)
against the bars (<= 1.3x, <= 1.5x, >= 2.5x), the load average before and after and the hypervisor steal.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import hmac
import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's liqcore, not an installed one
SYMBOL, TAPE_SYMBOL = "ETHUSDT", "BTCUSDT"
BINANCE_LIQ = "ethusdt@forceOrder"
TOPICS = [f"allLiquidation.{SYMBOL}", f"publicTrade.{SYMBOL}", f"publicTrade.{TAPE_SYMBOL}"]


def large(i: int) -> float:
    return round(10.0 * 1.001 ** i, 2) + 0.01 * (i % 2)


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


# ----------------------------------------------------------------------------------------------- floor
def floor_client(ws_url: str, rest_url: str, key: str, secret: str, stamps_path: str | None = None) -> None:
    """picows + one raw keep-alive HTTP/1.1 connection; decide and write on the websocket callback."""
    import bisect
    import socket
    from urllib.parse import urlsplit

    import uvloop
    from picows import WSListener, WSMsgType, ws_connect

    u = urlsplit(rest_url)
    host, port = u.hostname, u.port
    key_b, secret_b, rw = key.encode(), secret.encode(), b"5000"
    head = (b"POST /v5/order/create HTTP/1.1\r\nHost: " + f"{host}:{port}".encode() +
            b"\r\nContent-Type: application/json\r\nX-BAPI-API-KEY: " + key_b + b"\r\nX-BAPI-RECV-WINDOW: 5000\r\n")
    loads, dumps, new = orjson.loads, orjson.dumps, hmac.new
    hist: list[float] = []  # sorted notionals (the P95 read is an index)
    order: list[float] = []  # arrival order, for the 1000-long window
    larges: list[int] = []
    n = [0]
    stamps: list[tuple[int, int]] = []
    clock = time.perf_counter_ns
    if stamps_path:
        def dump(*_):
            Path(stamps_path).write_text("\n".join(orjson.dumps([a, b, b, {}]).decode() for a, b in stamps))
            os._exit(0)

        signal.signal(signal.SIGTERM, dump)

    class H(asyncio.Protocol):
        def connection_made(self, t):
            t.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def data_received(self, data):  # the answers are not needed by the bench
            pass

    async def main():
        loop = asyncio.get_running_loop()
        http, _ = await loop.create_connection(H, host, port)

        class L(WSListener):
            def on_ws_frame(self, tr, frame):
                t_rx = clock()
                if frame.msg_type != WSMsgType.TEXT:
                    return
                m = loads(frame.get_payload_as_bytes())
                topic = m.get("topic", "")
                if not topic.startswith("allLiquidation."):
                    return
                for r in m["data"]:
                    x = float(r["v"]) * float(r["p"])
                    t = r["T"]
                    if len(hist) >= 100 and x > hist[int(0.95 * (len(hist) - 1))]:
                        while larges and larges[0] < t - 60_000:
                            larges.pop(0)
                        larges.append(t)
                        if len(larges) >= 2:
                            larges.clear()
                            n[0] += 1
                            body = dumps({"category": "linear", "symbol": r["s"], "side": "Buy", "orderType": "Limit",
                                          "qty": "0.01", "price": "2900.00", "timeInForce": "GTC",
                                          "orderLinkId": f"floor-{os.getpid()}-{n[0]}"})
                            ts = str(time.time_ns() // 1_000_000).encode()
                            sig = new(secret_b, ts + key_b + rw + body, hashlib.sha256).hexdigest().encode()
                            http.write(head + b"X-BAPI-TIMESTAMP: " + ts + b"\r\nX-BAPI-SIGN: " + sig +
                                       b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
                            if stamps_path:
                                stamps.append((t_rx, clock()))
                    bisect.insort(hist, x)
                    order.append(x)
                    if len(order) > 1000:
                        del hist[bisect.bisect_left(hist, order.pop(0))]

        tr, _ = await ws_connect(L, ws_url)
        tr.send(WSMsgType.TEXT, dumps({"op": "subscribe", "args": TOPICS}))
        await tr.wait_disconnected()

    uvloop.run(main())


# ----------------------------------------------------------------------------------------------- naive
NAIVE = '''
import asyncio, collections, hashlib, hmac, json, sys, time
import aiohttp, websockets

WS, REST, KEY, SECRET = sys.argv[1:5]
TOPICS = json.loads(sys.argv[5])
hist = collections.deque(maxlen=1000)
larges = collections.deque()
count = 0


def sign(ts, body):
    return hmac.new(SECRET.encode(), (ts + KEY + "5000" + body).encode(), hashlib.sha256).hexdigest()


async def place(session, symbol):
    global count
    count += 1
    body = json.dumps({"category": "linear", "symbol": symbol, "side": "Buy", "orderType": "Limit",
                       "qty": "0.01", "price": "2900.00", "timeInForce": "GTC",
                       "orderLinkId": "naive-%d" % count})
    ts = str(int(time.time() * 1000))
    headers = {"X-BAPI-API-KEY": KEY, "X-BAPI-TIMESTAMP": ts, "X-BAPI-RECV-WINDOW": "5000",
               "X-BAPI-SIGN": sign(ts, body), "Content-Type": "application/json"}
    async with session.post(REST + "/v5/order/create", data=body, headers=headers) as r:
        await r.json()


def on_liquidation(row):
    notional = float(row["v"]) * float(row["p"])
    t = row["T"]
    fire = False
    if len(hist) >= 100:
        p95 = sorted(hist)[int(0.95 * (len(hist) - 1))]
        if notional > p95:
            while larges and larges[0] < t - 60000:
                larges.popleft()
            larges.append(t)
            if len(larges) >= 2:
                larges.clear()
                fire = True
    hist.append(notional)
    return fire


async def main():
    async with aiohttp.ClientSession() as session:
        async with websockets.connect(WS, max_size=None) as ws:
            await ws.send(json.dumps({"op": "subscribe", "args": TOPICS}))
            async for msg in ws:
                m = json.loads(msg)
                if not m.get("topic", "").startswith("allLiquidation."):
                    continue
                for row in m["data"]:
                    if on_liquidation(row):
                        await place(session, row["s"])


asyncio.run(main())
'''


# ----------------------------------------------------------------------------------------------- server
LIQCORE_COLD = '''
import gc, sys
from liqcore.live import runner
runner.LiveRunner.__init__.__kwdefaults__["warm_interval_s"] = None
gc.freeze = lambda: None
from liqcore.cli import main
sys.argv[0] = "liqcore"
sys.exit(main())
'''

LIQCORE_STAMPS = '''
import sys, time, atexit, json
path = sys.argv.pop(1)
from liqcore.live import engine as E, journal as J, bybit_gateway as G, orders as O, decisions as DL
from liqcore.venues.bybit import h1 as H1, rest as R
from liqcore.venues import decoder as D
from liqcore.backtest import core as C
stamps, w, parts = [], [0], {}
clock = time.perf_counter_ns

def timed(owner, name, key):
    fn = getattr(owner, name)
    def wrapper(*a, **k):
        t = clock()
        try:
            return fn(*a, **k)
        finally:
            parts[key] = parts.get(key, 0) + clock() - t
    setattr(owner, name, wrapper)

for owner, name in ((E.Engine, "_on_record"), (E.Engine, "_decide"), (O.OrderManager, "place_entry"), (O.OrderManager, "submit"),
                    (J.Journal, "intent_ahead"), (J.Journal, "intent_rows"), (G.BybitGateway, "order_body"),
                    (R.BybitREST, "post_now"), (R.BybitREST, "fast_post_bytes"), (C.StrategyCore, "on_cascade"),
                    (DL.DecisionLog, "emit"), (D.Decoder, "feed"), (DL, "record_dict")):
    timed(owner, name, name)
on_frame, begin = E.Engine.on_frame, H1.H1Client.begin

def on_frame_s(self, venue, frame, recv_ns=None):
    t = clock()
    w[0] = 0
    parts.clear()
    out = on_frame(self, venue, frame, recv_ns)
    if out and out[0].action == "order" and w[0]:
        stamps.append((t, w[0], clock(), dict(parts)))
    return out

def begin_s(self, data, timeout, loop):
    w[0] = clock()
    return begin(self, data, timeout, loop)

E.Engine.on_frame, H1.H1Client.begin = on_frame_s, begin_s
atexit.register(lambda: open(path, "w").write("\\n".join(json.dumps(s) for s in stamps)))
from liqcore.cli import main
sys.argv[0] = "liqcore"
sys.exit(main())
'''


def ws_text(data: bytes) -> bytes:
    n = len(data)
    if n < 126:
        return bytes((0x81, n)) + data
    if n < 65536:
        return bytes((0x81, 126)) + n.to_bytes(2, "big") + data
    return bytes((0x81, 127)) + n.to_bytes(8, "big") + data


def _cpu_ticks() -> tuple[int, int]:
    """(steal, total) jiffies of the whole machine so far (Linux /proc/stat): on a VM, the time the
    hypervisor gave the vCPUs to somebody else, which no contender can do anything about."""
    try:
        f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return (f[7] if len(f) > 7 else 0), sum(f[:8])
    except (OSError, ValueError):
        return 0, 0


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


RX: dict = {}


def install_rx_stamp() -> None:
    """Stamp each server connection's last ``data_received`` (perf_counter_ns): for a request, the call
    that completed it, i.e. when the whole request had arrived, before aiohttp parses and dispatches it."""
    from aiohttp import web_protocol

    orig = web_protocol.RequestHandler.data_received
    clock = time.perf_counter_ns

    def data_received(self, data):
        RX[self] = clock()  # (RequestHandler has __slots__)
        return orig(self, data)

    web_protocol.RequestHandler.data_received = data_received


class Contender:
    def __init__(self, name: str):
        self.name = name
        self.fx = None
        self.fb = None  # liqcore-x: its fake Binance liquidation stream
        self.proc = None
        self.creates: asyncio.Queue = asyncio.Queue()
        self.lat: dict[str, list[float]] = {}
        self.misses: dict[str, int] = {}
        self.sends: list[tuple[str, int, int]] = []
        self.by_on: dict[tuple[str, str], list[float]] = {}  # liqcore-x: latencies by the confirming venue

    def public(self):
        return [c for c in self.fx._conns if c.kind == "public" and not c.closed]

    def ready(self) -> bool:
        if not any(set(TOPICS) <= c.topics for c in self.public()):
            return False
        if self.fb is not None and not self.fb.subscribed(BINANCE_LIQ):
            return False
        return not self.name.startswith("liqcore") or any(c.kind == "private" and not c.closed for c in self.fx._conns)

    def write(self, frame: dict | bytes) -> int:
        data = ws_text(frame if isinstance(frame, bytes) else orjson.dumps(frame))
        conns = [c.transport for c in self.public() if c.transport is not None]
        t = time.perf_counter_ns()  # just before the write
        for tr in conns:
            tr.write(data)
        return t


async def _web_health(port: int) -> dict:
    """The dashboard server's own counters (``/api/health``: pages connected, views pushed)."""
    import aiohttp

    async with aiohttp.ClientSession() as s:
        async with s.get(f"http://127.0.0.1:{port}/api/health") as r:
            return await r.json()


async def _page_connected(port: int, timeout: float = 30.0) -> None:
    """Wait until the dashboard on ``port`` has a page connected (its websocket), SystemExit otherwise."""
    import aiohttp

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (await _web_health(port))["pages"] >= 1:
                return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit(f"liqcore-web: no page connected to the dashboard on 127.0.0.1:{port} within {timeout:g} s")


async def server(args) -> None:
    from liqcore.venues.bybit.fake import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeExchange
    from liqcore.testing.fake_replay import liquidation_frame, trade_frame
    from liqcore.venues.binance.samples import liquidation_frame as binance_liq

    install_rx_stamp()
    tmp = tempfile.TemporaryDirectory(prefix="liqcore-xproc-")
    names = [n for n in args.contenders.split(",") if n]
    cs = [Contender(n) for n in names]
    env = dict(os.environ, BYBIT_API_KEY=DEFAULT_API_KEY, BYBIT_API_SECRET=DEFAULT_API_SECRET,
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("LIQCORE_KEY_FILE", None)
    for c in cs:
        c.fx = FakeExchange(rate_limit=None)

        def hook(rec, c=c):
            if rec.path == "/v5/order/create":
                c.creates.put_nowait((c.fx._bench_rx, rec))

        orig_http = c.fx._http

        async def _http(request, c=c, orig_http=orig_http):
            c.fx._bench_rx = RX.get(request.protocol, 0)
            return await orig_http(request)

        c.fx._http = _http  # (before start: the router binds the handler)
        c.fx.on_request.append(hook)
        await c.fx.start()
        fx = c.fx
        if c.name == "floor":
            cmd = [sys.executable, __file__, "--role", "floor", fx.public_ws_url, fx.rest_url]
            if args.stages:
                cmd += ["--stamps", str(Path(tmp.name) / "floor.stamps")]
        elif c.name == "naive":
            cmd = [sys.executable, "-c", NAIVE, fx.public_ws_url, fx.rest_url, DEFAULT_API_KEY, DEFAULT_API_SECRET,
                   orjson.dumps(TOPICS).decode()]
        elif c.name in ("liqcore", "liqcore-cold", "liqcore-x", "liqcore-web"):
            pre = ["-c", LIQCORE_STAMPS, str(Path(tmp.name) / f"{c.name}.stamps")] if args.stages else ["-m", "liqcore"]
            if c.name == "liqcore-cold":  # the same with the runner's warm path and gc.freeze off (before/after)
                pre = ["-c", LIQCORE_COLD]
            cmd = [sys.executable, *pre, "run", "--live", "--venue", "bybit",
                   "--symbols", f"{SYMBOL},{TAPE_SYMBOL}", "--ws-url", fx.public_ws_url, "--rest-url", fx.rest_url,
                   "--private-ws-url", fx.private_ws_url, "--journal", str(Path(tmp.name) / f"{c.name}.sqlite"),
                   "--no-dashboard", "--log", str(Path(tmp.name) / f"{c.name}.log"), "--log-level", "WARNING",
                   "--min-history", "100", "--history", "1000", *args.liqcore_args]
            if c.name == "liqcore-x":
                from liqcore.venues.fake_streams import FakeMarketStream

                c.fb = await FakeMarketStream("binance").start()
                cmd += ["--scope", "instrument", "--trade-venue", "bybit", "--watch-venues", "bybit,binance",
                        "--venue-url", f"binance={c.fb.ws_url}"]
            if c.name == "liqcore-web":  # the web dashboard served, and a page open on it (below)
                import socket

                with socket.socket() as sk:
                    sk.bind(("127.0.0.1", 0))
                    c.web_port = sk.getsockname()[1]
                cmd += ["--web", f"127.0.0.1:{c.web_port}"]
        else:
            raise SystemExit(f"unknown contender {c.name!r}")
        c.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL if not args.verbose else None)
    t_wait = time.monotonic()
    while not all(c.ready() for c in cs):
        await asyncio.sleep(0.05)
        for c in cs:
            if c.proc.poll() is not None:
                raise SystemExit(f"{c.name} exited with {c.proc.returncode} before subscribing")
        if time.monotonic() - t_wait > 60:
            raise SystemExit("contenders not ready after 60 s: " + ", ".join(c.name for c in cs if not c.ready()))
    pages = []
    for c in cs:  # liqcore-web: a headless Chromium keeps the dashboard page open for the whole measurement
        if c.name == "liqcore-web":
            import shutil

            exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
            if exe is None:
                raise SystemExit("liqcore-web: needs chromium (apt-get install chromium) to keep a page open")
            pages.append(subprocess.Popen(
                [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 f"--user-data-dir={Path(tmp.name) / 'chromium'}", "--remote-debugging-port=0",
                 f"http://127.0.0.1:{c.web_port}/"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            await _page_connected(c.web_port)
    await asyncio.sleep(1.0)
    # this process stamps both ends of every measurement: no cyclic-GC pass of its own (the fakes' records
    # grow all session) may land between them and be charged to a contender
    gc.collect()
    gc.freeze()
    gc.disable()
    cpu0 = {c.name: (_cpu_s(c.proc.pid), time.monotonic()) for c in cs}

    n = args.cascades
    variants = [v for v in args.variants.split(",") if v]
    total = n * len(variants)
    t_ms = int(time.time() * 1000) - total * 120_000 - 600_000
    vt = [t_ms]  # the event-time clock every frame is stamped with (monotonic per symbol)
    for c in cs:
        for j in range(5):
            t = t_ms + j * 100
            c.write({"topic": f"allLiquidation.{SYMBOL}", "type": "snapshot", "ts": t,
                     "data": [{"T": t, "s": SYMBOL, "S": "Buy", "v": f"{0.05 + 0.01 * i:.2f}", "p": "3000"}
                              for i in range(40)]})
        if c.fb is not None:  # the Binance threshold: one liquidation per frame, as the venue pushes them
            for i in range(200):
                await c.fb.push(binance_liq(SYMBOL, t_ms + i, 0.05 + 0.001 * (i % 40), 3000.0, "SELL"), BINANCE_LIQ)
    await asyncio.sleep(0.5)
    rng = random.Random(7)
    load = {}
    for vi, variant in enumerate(variants):
        tape_task = None
        if variant == "tape":
            async def tape():
                i = 0
                nxt = time.monotonic()
                while True:
                    nxt += 1 / 200
                    await asyncio.sleep(max(0.0, nxt - time.monotonic()))
                    i += 1
                    f = orjson.dumps(trade_frame(TAPE_SYMBOL, 60000.0 + (i % 7), 0.01, "Sell" if i % 2 else "Buy",
                                                 vt[0], trade_id=f"tape{i}"))
                    for c in cs:
                        c.write(f)

            tape_task = asyncio.get_running_loop().create_task(tape())
        load[variant] = [os.getloadavg()[0], _cpu_ticks()]
        for c in cs:
            c.lat[variant], c.misses[variant] = [], 0
        for k in range(n):
            kk = vi * n + k
            t0 = t_ms + 60_000 + kk * 120_000
            order = cs[k % len(cs):] + cs[:k % len(cs)]
            for c in order:
                vt[0] = t0
                c.write(trade_frame(SYMBOL, 3000.0, 1, "Sell", t0))
                on = "bybit"
                if c.fb is not None:  # a split cascade: the first large liquidation on one venue, the confirming on the other
                    on = args.confirm_on if args.confirm_on != "alternate" else ("bybit", "binance")[k % 2]
                if on == "binance":
                    c.write(liquidation_frame(SYMBOL, 3000, large(2 * kk), "Buy", t0 + 1000))
                elif c.fb is not None:
                    await c.fb.push(binance_liq(SYMBOL, t0 + 1000, large(2 * kk), 3000.0, "SELL"), BINANCE_LIQ)
                else:
                    c.write(liquidation_frame(SYMBOL, 3000, large(2 * kk), "Buy", t0 + 1000))
                await asyncio.sleep((args.idle + rng.random() * args.idle) / 1000)  # quiet feed
                vt[0] = t0 + 2000
                while not c.creates.empty():
                    c.creates.get_nowait()
                if on == "binance":  # (stamped just before the write, as c.write stamps Bybit's)
                    t_send = c.fb.write(binance_liq(SYMBOL, t0 + 2000, large(2 * kk + 1), 2999.0, "SELL"),
                                             BINANCE_LIQ)
                else:
                    t_send = c.write(liquidation_frame(SYMBOL, 2999, large(2 * kk + 1), "Buy", t0 + 2000))
                try:
                    rx, rec = await asyncio.wait_for(c.creates.get(), 5)
                except asyncio.TimeoutError:
                    c.misses[variant] += 1
                    continue
                c.lat[variant].append((rx - t_send) / 1000)
                if c.fb is not None:
                    c.by_on.setdefault((variant, on), []).append((rx - t_send) / 1000)
                c.sends.append((variant, t_send, rx))
                link = (rec.body or {}).get("orderLinkId")
                await asyncio.sleep(0.005)  # let the create be answered first
                try:
                    _, pushes = c.fx.venue.cancel({"category": "linear", "symbol": SYMBOL, "orderLinkId": link})
                    await c.fx._push_private(pushes)
                except Exception:
                    pass
                await asyncio.sleep((args.idle + rng.random() * args.idle) / 1000)
        load[variant] += [os.getloadavg()[0], _cpu_ticks()]
        if tape_task is not None:
            tape_task.cancel()
        await asyncio.sleep(0.2)
    cpu = {c.name: ((_cpu_s(c.proc.pid) - cpu0[c.name][0]), time.monotonic() - cpu0[c.name][1]) for c in cs}
    gc.enable()
    for c in cs:
        if c.name == "liqcore-web":
            print(f"  liqcore-web dashboard at the end: {await _web_health(c.web_port)}")
    for pg in pages:
        pg.terminate()
    for c in cs:
        c.proc.send_signal(signal.SIGINT) if c.name.startswith("liqcore") else c.proc.terminate()
    for c in cs:
        try:
            c.proc.wait(15)
        except subprocess.TimeoutExpired:
            c.proc.kill()
        await c.fx.stop()
        if c.fb is not None:
            await c.fb.stop()
    stages = {}
    if args.stages:
        for c in cs:
            f = Path(tmp.name) / f"{c.name}.stamps"
            if f.exists() and f.read_text().strip():
                st = [orjson.loads(ln) for ln in f.read_text().split("\n") if ln.strip()]
                rows = []
                for v, t, rx in c.sends:  # the client stamps between the fake's two (all on CLOCK_MONOTONIC)
                    m = [x for x in st if t < x[0] and x[1] < rx]
                    if m:
                        r, w, ret, parts = m[0]
                        rows.append((v, (r - t) / 1000, (w - r) / 1000, (rx - w) / 1000, (ret - w) / 1000, parts))
                stages[c.name] = rows
    tmp.cleanup()
    if args.dump_sends:  # each contender's (variant, write stamp, arrival stamp) and pid, for trace_reaction_xproc.py
        Path(args.dump_sends).write_bytes(orjson.dumps({c.name: {"pid": c.proc.pid, "sends": c.sends} for c in cs}))

    print(f"cross-process reaction (fake writes the confirming frame -> whole POST /v5/order/create arrived), "
          f"{n} cascades per contender and variant, idle {args.idle}-{2 * args.idle} ms before each confirming frame")
    print("  CPU used by each contender during the measured session (all variants, the idle gaps included): " +
          ", ".join(f"{k} {v:.2f} s = {100 * v / w:.1f} % of one core" for k, (v, w) in cpu.items()))
    for variant in variants:
        (l0, (s0, t0)), (l1, (s1, t1)) = load[variant][:2], load[variant][2:]
        steal = f", hypervisor steal {100 * (s1 - s0) / (t1 - t0):.1f} % of CPU time" if t1 > t0 else ""
        print(f"  [{variant}{' 200 trades/s' if variant == 'tape' else ''}] load average {l0:.2f} -> {l1:.2f}{steal}")
        res = {}
        for c in cs:
            xs = c.lat[variant]
            if not xs:
                print(f"    {c.name:8s} no orders ({c.misses[variant]} missed)")
                continue
            res[c.name] = (pct(xs, .5), pct(xs, .9), pct(xs, .99))
            print(f"    {c.name:8s} p50 {res[c.name][0]:7.1f} us   p90 {res[c.name][1]:7.1f} us   "
                  f"p99 {res[c.name][2]:7.1f} us   ({len(xs)} orders, {c.misses[variant]} missed)")
        for name, rows in stages.items():
            rows = [r for r in rows if r[0] == variant]
            if rows:
                cols = list(zip(*rows))[1:5]
                print(f"      {name:8s} stages p50 (p99) us: fake write -> client frame callback "
                      f"{pct(cols[0], .5):6.1f} ({pct(cols[0], .99):6.1f}); callback -> create written "
                      f"{pct(cols[1], .5):6.1f} ({pct(cols[1], .99):6.1f}); written -> whole request at the fake "
                      f"{pct(cols[2], .5):6.1f} ({pct(cols[2], .99):6.1f}); written -> callback returned "
                      f"{pct(cols[3], .5):6.1f} ({pct(cols[3], .99):6.1f})")
                keys = sorted({k for r in rows for k in r[5]})
                if keys:
                    print("        of which (p50 us, includes nesting): " + ", ".join(
                        f"{k} {pct([r[5].get(k, 0) / 1000 for r in rows], .5):.1f}" for k in keys))
        if {"floor", "liqcore"} <= res.keys():
            r50, r99 = res["liqcore"][0] / res["floor"][0], res["liqcore"][2] / res["floor"][2]
            print(f"    liqcore/floor p50 x{r50:.2f} (bar <= 1.3: {'OK' if r50 <= 1.3 else 'MISSED'})   "
                  f"p99 x{r99:.2f} (bar <= 1.5: {'OK' if r99 <= 1.5 else 'MISSED'})")
        if {"naive", "liqcore"} <= res.keys():
            rn = res["naive"][0] / res["liqcore"][0]
            print(f"    naive/liqcore p50 x{rn:.2f} (bar >= 2.5: {'OK' if rn >= 2.5 else 'MISSED'})")
        for c in cs:
            for (v, on), xs in sorted(c.by_on.items()):
                if v == variant and xs:
                    print(f"      {c.name} confirming liquidation on {on}: p50 {pct(xs, .5):7.1f} us   "
                          f"p99 {pct(xs, .99):7.1f} us   ({len(xs)} orders)")
        if {"liqcore-x", "liqcore"} <= res.keys():
            rx = res["liqcore-x"][0] / res["liqcore"][0]
            print(f"    liqcore-x/liqcore (instrument scope / venue scope) p50 x{rx:.2f} "
                  f"(bar <= 1.3: {'OK' if rx <= 1.3 else 'MISSED'})   p99 x{res['liqcore-x'][2] / res['liqcore'][2]:.2f}")
        if {"liqcore-web", "liqcore"} <= res.keys():
            w50, w99 = res["liqcore-web"][0] / res["liqcore"][0], res["liqcore-web"][2] / res["liqcore"][2]
            print(f"    liqcore-web/liqcore (a dashboard page open) p50 x{w50:.2f}   p99 x{w99:.2f} "
                  f"(bar <= 1.10: {'OK' if max(w50, w99) <= 1.10 else 'MISSED'})")
        if {"liqcore-cold", "liqcore"} <= res.keys():
            print(f"    liqcore/liqcore-cold (warm path on/off) p50 x{res['liqcore'][0] / res['liqcore-cold'][0]:.2f}"
                  f"   p99 x{res['liqcore'][2] / res['liqcore-cold'][2]:.2f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--role", default="server", choices=("server", "floor"))
    ap.add_argument("urls", nargs="*")
    ap.add_argument("--cascades", type=int, default=300)
    ap.add_argument("--variants", default="quiet,tape", help="comma list of quiet,tape")
    ap.add_argument("--idle", type=float, default=25.0, help="ms of silence before the confirming frame (x1..x2)")
    ap.add_argument("--contenders", default="floor,naive,liqcore",
                    help="comma list of floor, naive, liqcore, liqcore-cold (liqcore without the warm path), "
                         "liqcore-x (liqcore in instrument scope over a fake Bybit and a fake Binance), "
                         "liqcore-web (liqcore with --web and a headless Chromium page open on it)")
    ap.add_argument("--confirm-on", default="alternate", choices=("alternate", "bybit", "binance"),
                    help="liqcore-x: the venue of each cascade's confirming liquidation (the first large one is "
                         "on the other)")
    ap.add_argument("--liqcore-args", nargs="*", default=[], help="extra flags for liqcore run")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--stages", action="store_true", help="also stamp (CLOCK_MONOTONIC) the frame callback and the "
                    "create write inside the floor and liqcore processes")
    ap.add_argument("--stamps", help=argparse.SUPPRESS)
    ap.add_argument("--dump-sends", help="write every measurement's stamps (CLOCK_MONOTONIC ns) and the contenders' "
                    "pids to this JSON file")
    a = ap.parse_args()
    if a.role == "floor":
        from liqcore.venues.bybit.fake import DEFAULT_API_KEY, DEFAULT_API_SECRET

        floor_client(a.urls[0], a.urls[1], DEFAULT_API_KEY, DEFAULT_API_SECRET, a.stamps)
    else:
        logging.disable(logging.WARNING)
        import uvloop

        uvloop.run(server(a))

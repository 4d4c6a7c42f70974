"""A trading bot that embeds liqcore in its own asyncio loop, as bots are written.

The bot owns everything around the engine: its event loop (plain ``asyncio.run``), its websocket client
(``aiohttp``, not liqcore's transport), its order code (:class:`MyOrders`) and its timers.  liqcore only
turns each frame into decisions: ``Engine.on_frame(venue, frame, recv_ns)`` decodes, detects and
decides synchronously, in microseconds, and returns; it never creates, owns or blocks the loop.

    python examples/embed_asyncio_bot.py --url ws://127.0.0.1:8765/v5/public/linear \\
        --symbols ETHUSDT --record frames.jsonl --decisions decisions.jsonl

It subscribes to Bybit v5 public topics (liquidations, trades, tickers) of ``--symbols``, feeds every
frame to the engine, "places" each order decision with its own order code (here: a log, where a real
bot calls its exchange client), and stops when the server closes the connection, after ``--duration``
seconds (whether frames arrive or not), or on Ctrl-C / SIGTERM (it says ``interrupted`` and prints its
summary).  The ``--decisions`` and ``--cascades`` lines are written and flushed as they happen: a bot killed
keeps what it decided.  ``--record`` writes the frames as received, one recorder line each
(``{"recv_ns", "venue", "frame"}``), so that ``liqcore detect --json FILE`` runs on the same frames;
``--cascades`` the detector's records (``on_cascade``: confirmed, then ended).

A ticker task measures how late the loop runs it (asyncio's own measure of a blocked loop: a task that
asks to wake every ``--tick-ms`` and notes how much later it woke).  The last line printed is one JSON
object: frames and liquidations received, the decisions and cascades, and the loop's lag percentiles
(ms) over the ticks taken while liquidations were arriving.

Needs only the lean core: ``pip install liqcore``.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import signal
import sys
import time

import aiohttp

from liqcore import Engine, Params


class MyOrders:
    """The bot's own order code: where a real bot would sign and send the order to its exchange."""

    def __init__(self, log_path: str | None) -> None:
        self.sent: list[dict] = []
        self._log = open(log_path, "w", encoding="utf-8", buffering=1) if log_path else None  # (a line at a time)

    def act(self, decision) -> None:
        row = {"symbol": decision.symbol, "cascade_id": decision.cascade_id, "ts_ns": decision.ts_ns,
               "dominant": decision.dominant, "action": decision.action, "reason": decision.reason,
               "side": decision.side, "price": decision.price, "qty": decision.qty,
               "take_profit": decision.take_profit, "stop_loss": decision.stop_loss}
        if decision.action == "order":
            self.sent.append(row)  # here: exchange.create_order(symbol, side, "limit", qty, price, post_only=True)
        if self._log is not None:
            self._log.write(json.dumps(row) + "\n")

    def close(self) -> None:
        if self._log is not None:
            self._log.close()


class LoopLag:
    """Lateness of a task that asks to wake every ``interval_s`` (ms), kept while ``recording``."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.recording = False
        self.lags_ms: list[float] = []

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            t0 = loop.time()
            await asyncio.sleep(self.interval_s)
            late = (loop.time() - t0 - self.interval_s) * 1e3
            if self.recording:
                self.lags_ms.append(max(0.0, late))

    def percentile(self, q: float) -> float | None:
        if not self.lags_ms:
            return None
        xs = sorted(self.lags_ms)
        return xs[min(len(xs) - 1, int(q / 100.0 * len(xs)))]


async def run_bot(args) -> dict:
    symbols = [s.strip() for s in args.symbols.split(",") if s.strip()]
    cascades = open(args.cascades, "w", encoding="utf-8", buffering=1) if args.cascades else None  # (flushed a line at a time)

    def on_cascade(rec: dict) -> None:  # the detector's records (confirmed, then ended), as they happen
        if cascades is not None:
            cascades.write(json.dumps(rec) + "\n")

    # paper gateway, never started: the bot sends its own orders
    engine = Engine(Params(), symbols=symbols, on_cascade=on_cascade)
    # warm up before the feed: the compiled kernels and the venue's decoder load now, not on the first frame
    engine.warmup()
    engine.decoder("bybit")
    # what was loaded so far (numpy, numba's kernels: a large heap) is never scanned again by a full garbage
    # collection, which would otherwise pause the loop for ~100 ms now and then
    gc.freeze()
    orders = MyOrders(args.decisions)
    lag = LoopLag(args.tick_ms / 1e3)
    ticker = asyncio.create_task(lag.run())
    record = open(args.record, "wb") if args.record else None
    frames = liquidations = decisions = 0
    engine_cpu_ns: list[int] = []  # the CPU time of each frame's on_frame and orders, ns
    first_liq = last_liq = None
    interrupted = False
    topics = [f"{t}.{s}" for s in symbols for t in ("allLiquidation", "publicTrade", "tickers")]
    # the deadline runs from the start, a quiet feed included; Ctrl-C and SIGTERM end the run as it does
    deadline = None if args.duration is None else time.monotonic() + args.duration
    loop, me = asyncio.get_running_loop(), asyncio.current_task()
    signals = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, me.cancel)
            signals.append(sig)
        except (NotImplementedError, RuntimeError):  # (no signal handlers here: the default behaviour)
            pass
    try:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(args.url, heartbeat=20, max_msg_size=0) as ws:
                await ws.send_str(json.dumps({"op": "subscribe", "args": topics}))
                while True:
                    try:
                        msg = await ws.receive(timeout=None if deadline is None else deadline - time.monotonic())
                    except asyncio.TimeoutError:
                        break  # --duration reached on a quiet feed
                    if msg.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                        break
                    recv_ns = time.time_ns()
                    data = msg.data.encode() if isinstance(msg.data, str) else msg.data
                    if b'"topic"' not in data:  # subscription answers, pongs
                        continue
                    frames += 1
                    if record is not None:
                        record.write(b'{"recv_ns":%d,"venue":"bybit","frame":%s}\n' % (recv_ns, data))
                    if b'"allLiquidation.' in data:
                        n = data.count(b'"T":')
                        liquidations += n
                        first_liq = first_liq or recv_ns
                        last_liq = recv_ns
                        lag.recording = True
                    if args.no_engine:  # the host alone (a baseline of the loop's lag without liqcore)
                        continue
                    c0 = time.thread_time_ns()  # (CPU time: what liqcore holds the loop for, whatever the load)
                    for d in engine.on_frame("bybit", data, recv_ns):  # decode -> detect -> decide
                        decisions += 1
                        orders.act(d)
                    engine_cpu_ns.append(time.thread_time_ns() - c0)
                    if deadline is not None and time.monotonic() > deadline:
                        break
    except asyncio.CancelledError:  # Ctrl-C or SIGTERM (the handlers above cancel this task)
        interrupted = True
        if hasattr(me, "uncancel"):  # (Python 3.11+: the task is no longer being cancelled; 3.10 keeps no count)
            me.uncancel()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        lag.recording = False
        ticker.cancel()
        orders.close()
        if cascades is not None:
            cascades.close()
        if record is not None:
            record.close()
    span_s = (last_liq - first_liq) / 1e9 if first_liq and last_liq and last_liq > first_liq else None
    return {"interrupted": interrupted, "frames": frames, "liquidations": liquidations,
            "liquidations_per_s": round(liquidations / span_s, 1) if span_s else None,
            "decisions": decisions, "orders": len(orders.sent),
            "lag_ticks": len(lag.lags_ms), "tick_ms": args.tick_ms,
            "lag_p50_ms": lag.percentile(50), "lag_p99_ms": lag.percentile(99),
            "lag_max_ms": max(lag.lags_ms) if lag.lags_ms else None,
            "engine_cpu_max_ms": max(engine_cpu_ns) / 1e6 if engine_cpu_ns else None}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True, help="the Bybit v5 public websocket (ws://...)")
    ap.add_argument("--symbols", default="ETHUSDT", help="comma-separated symbols (default ETHUSDT)")
    ap.add_argument("--record", help="write the frames as received here (recorder lines)")
    ap.add_argument("--decisions", help="write every decision here (one JSON object a line)")
    ap.add_argument("--cascades", help="write the detector's cascade records here (one JSON object a line)")
    ap.add_argument("--no-engine", action="store_true",
                    help="receive and record, but feed nothing to liqcore (the loop's lag without it)")
    ap.add_argument("--tick-ms", type=float, default=1.0, help="the lag ticker's interval (ms, default 1)")
    ap.add_argument("--duration", type=float, help="stop after this many seconds (default: when the server closes)")
    args = ap.parse_args(argv)
    try:
        summary = asyncio.run(run_bot(args))
    except (aiohttp.ClientError, OSError) as exc:
        print(f"embed_asyncio_bot: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # (a Ctrl-C before the bot's own handler was installed)
        print("interrupted", file=sys.stderr)
        return 130
    if summary["interrupted"]:
        print("interrupted", file=sys.stderr)
    print(json.dumps(summary))
    return 130 if summary["interrupted"] else 0


if __name__ == "__main__":
    sys.exit(main())

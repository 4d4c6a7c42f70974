"""``liqcore venue``: a local fake venue (Binance USD-M, Bybit or OKX) on 127.0.0.1 with a replayed market, to
try ``liqcore run --live`` offline before risking money: the venue's order REST API, its private stream and
its public market streams on one base URL, the market replayed (a recording, or the synthetic market rendered
as that venue's frames) and its trades moving the fake's matching, so that orders rest, fill and trigger.

It prints the ``liqcore run ... --live`` line that points at it and writes a throwaway key file holding the
fake's test keys.  Usage: docs/how-to/try-live-offline.md, "Try live trading offline: a local venue".

May import: ``testing`` (the fake venues and their replay), ``synthetic`` (the market replayed) and
``interrupt`` (the throwaway key file removed on a forced exit).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import signal
import sys
import tempfile
from pathlib import Path

import orjson

HELP = "serve a local fake Binance, Bybit or OKX (REST, private and market streams) with a replayed market, to try --live offline"

VENUES = ("binance", "bybit", "okx")
#: the venues' public trade streams a live run subscribes: the replay starts once one is subscribed
_TRADES_SUBSCRIBED = {
    "binance": lambda fv, syms: any(fv.market.subscribed(f"{s.lower()}@aggTrade") for s in syms),
    "okx": lambda fv, syms: fv.subscribed("trades"),
}
_SUBSCRIBE_GRACE_S = 0.25  # after the first trade stream's subscription: the client's remaining subscriptions


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--venue", required=True, choices=VENUES, help="the venue to play: binance | bybit | okx")
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (default 0: a free one, printed)")
    p.add_argument("--symbols", default="ETHUSDT,SOLUSDT",
                   help="comma list of the synthetic market's symbols (default ETHUSDT,SOLUSDT); the fakes list "
                        "BTC, ETH, SOL, XRP (and DOGE on Binance and Bybit)")
    p.add_argument("--replay", default="synthetic", metavar="PATH|synthetic",
                   help="recorder files or a directory of this venue's frames, or synthetic (default): the seeded "
                        "synthetic market rendered as this venue's frames")
    p.add_argument("--replay-days", type=float, default=1.0, help="days of synthetic market (default 1)")
    p.add_argument("--seed", type=int, default=7, help="seed of the synthetic market (default 7)")
    p.add_argument("--speed", type=float, default=0.0,
                   help="replay speed factor: 1 = the recorded pace, 0 = as fast as possible (default 0)")
    p.add_argument("--key-file", metavar="FILE",
                   help="where to write the fake's test keys (mode 0600; default: a temporary file removed on exit)")
    p.add_argument("--json", action="store_true", help="print the URLs, the key file and the run line as one JSON line")


def run(args) -> int:
    if args.port < 0 or args.port > 65535:
        raise ValueError(f"port: must be 0..65535; got {args.port}")
    if args.speed < 0:
        raise ValueError(f"speed: must be >= 0 (0 = as fast as possible); got {args.speed}")
    symbols = _symbols(args.symbols)
    source = _replay_source(args, symbols)
    try:
        asyncio.run(_serve(args, symbols, source))
    except KeyboardInterrupt:
        return 130
    return 0


def _symbols(text: str) -> list[str]:
    """``--symbols`` as the synthetic market names them (``ETHUSDT``; OKX's ``ETH-USDT-SWAP`` accepted too)."""
    out = []
    for s in str(text).split(","):
        s = s.strip().upper()
        if s.endswith("-USDT-SWAP"):
            s = s[:-len("-USDT-SWAP")] + "USDT"
        if s:
            out.append(s)
    if not out:
        raise ValueError("symbols: give at least one, e.g. ETHUSDT")
    return out


def venue_symbol(venue: str, symbol: str) -> str:
    """``symbol`` (``ETHUSDT``) as ``venue`` lists its USDT perpetual: OKX ``ETH-USDT-SWAP``, the others as is."""
    if venue == "okx" and symbol.endswith("USDT"):
        return f"{symbol[:-4]}-USDT-SWAP"
    return symbol


def _replay_source(args, symbols):
    """The frames to replay, ``(recv_ns, bytes)`` in this venue's wire format."""
    from liqcore.testing.fake_replay import read_recording, synthetic_frames

    if args.replay != "synthetic":
        if not Path(args.replay).exists():
            raise ValueError(f"replay: {args.replay} does not exist")
        return read_recording(args.replay, args.venue)
    if not args.replay_days > 0:
        raise ValueError("replay-days: must be positive")
    from liqcore.synthetic.market import build_params, synthetic_market
    from liqcore.synthetic.memory import check_fits

    check_fits({s: build_params(s, args.replay_days) for s in symbols}, args.replay_days, option="replay-days")
    market = synthetic_market(days=args.replay_days, symbols=tuple(symbols), seed=args.seed, venue=args.venue)
    return synthetic_frames(market, args.venue)


def key_lines(venue: str, fv) -> str:
    """The key file ``liqcore run --live --key-file`` reads for ``venue``, with the fake's test keys."""
    if venue == "okx":
        return (f"OKX_API_KEY={fv.api_key}\nOKX_API_SECRET={fv.api_secret}\n"
                f"OKX_API_PASSPHRASE={fv.passphrase}\n")
    name = venue.upper()
    return f"{name}_API_KEY={fv.api_key}\n{name}_API_SECRET={fv.api_secret}\n"


def _write_key_file(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def run_line(venue: str, symbols, port: int, key_file: str) -> str:
    """The ``liqcore run`` command that trades on the fake venue at ``port``."""
    base = f"ws://127.0.0.1:{port}"
    argv = ["liqcore", "run", "--venue", venue, "--symbols", ",".join(venue_symbol(venue, s) for s in symbols), "--live", "--key-file", key_file,
            "--rest-url", f"http://127.0.0.1:{port}", "--ws-url", base, "--private-ws-url", base]
    return " ".join(shlex.quote(a) for a in argv)


def _start_fake(venue: str, port: int, source, speed: float):
    from liqcore.testing.fake_binance import FakeBinance
    from liqcore.testing.fake_exchange import FakeExchange
    from liqcore.venues.okx.fake import FakeOkx

    if venue == "bybit":  # the Bybit fake replays and matches its own frames (from the first subscription)
        return FakeExchange(host="127.0.0.1", port=port, replay=source, speed=speed, replay_start="subscribe")
    return (FakeBinance if venue == "binance" else FakeOkx)(host="127.0.0.1", port=port)


def _remove_key_dir(tmp: str) -> None:
    try:
        os.unlink(Path(tmp) / "keys.env")
        os.rmdir(tmp)
    except OSError:
        pass


async def _serve(args, symbols, source) -> None:
    from liqcore.interrupt import drop_forced_exit, on_forced_exit

    venue = args.venue
    fv = _start_fake(venue, args.port, source, args.speed)
    await fv.start()
    cleanup = None
    try:
        if args.key_file:
            key_path = Path(args.key_file)
        else:  # a throwaway: removed on exit, a Ctrl-C's forced exit included (which skips this finally)
            tmp = tempfile.mkdtemp(prefix=f"liqcore-venue-{venue}-")
            cleanup = lambda: _remove_key_dir(tmp)  # noqa: E731
            on_forced_exit(cleanup)
            key_path = Path(tmp) / "keys.env"
        _write_key_file(key_path, key_lines(venue, fv))
        line = run_line(venue, symbols, fv.port, str(key_path))
        if args.json:
            print(orjson.dumps({"venue": venue, "port": fv.port, "rest_url": f"http://127.0.0.1:{fv.port}",
                                "ws_url": f"ws://127.0.0.1:{fv.port}", "key_file": str(key_path),
                                "run": line}).decode(), flush=True)
        else:
            print(f"fake {venue} serving on 127.0.0.1:{fv.port} (REST, private stream and market streams); "
                  f"its test keys are in {key_path}", flush=True)
            print("trade on it (add --duration S, --json, --journal FILE as you like):", flush=True)
            print(line, flush=True)
        stop = asyncio.Event()  # SIGTERM (a service manager's stop): the same clean end as the key file's
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        replay = asyncio.ensure_future(_replay_and_say(fv, venue, symbols, source, args.speed))
        await stop.wait()
        replay.cancel()
        print(f"liqcore venue: stopped (SIGTERM); port {fv.port} closed", file=sys.stderr, flush=True)
    finally:
        if cleanup is not None:
            cleanup()
            drop_forced_exit(cleanup)
        await fv.stop()


async def _replay_and_say(fv, venue: str, symbols, source, speed: float) -> None:
    replayed = await (_replay_bybit(fv) if venue == "bybit" else _replay(fv, venue, symbols, source, speed))
    print(f"replay finished: {replayed} frames; serving until Ctrl-C", file=sys.stderr, flush=True)


async def _replay_bybit(fx) -> int:
    await fx.replay_done.wait()
    return int(fx.stats["replayed"])


async def _replay(fv, venue: str, symbols, source, speed: float) -> int:
    """Send ``source`` on the fake's market streams once a client subscribed to a trade stream; each trade also
    goes through the fake's matching (a resting limit fills on a print through it, a stop triggers)."""
    from liqcore.testing.fake_replay import paced

    subscribed = _TRADES_SUBSCRIBED[venue]
    while not subscribed(fv, symbols):
        await asyncio.sleep(0.05)
    await asyncio.sleep(_SUBSCRIBE_GRACE_S)
    n = 0
    send = _binance_frame if venue == "binance" else _okx_frame
    async for _, data in paced(source, speed):
        n += await send(fv, data)
    return n


async def _binance_frame(fb, data: bytes) -> int:
    """One Binance push: to every stream that carries its event, and an aggTrade to the matching.  A recorded
    or rendered combined-stream frame (``{"stream": ..., "data": ...}``) is sent as its event, as the raw
    stream sends it: the wrapper names one of the event's streams, not necessarily the one subscribed
    (``!forceOrder@arr`` for a client of ``<symbol>@forceOrder``)."""
    from liqcore.testing.fake_streams import binance_streams

    if data.startswith(b'{"stream":"'):
        at = data.find(b'"data":')
        if at < 0:
            return 0
        data = data[at + 7:data.rindex(b"}")]
    names = binance_streams(data)
    if not names:
        return 0
    fb.market.write_any(data, names)
    if b'"aggTrade"' in data:
        try:
            ev = orjson.loads(data)
            sym, px, qty = ev["s"], float(ev["p"]), float(ev["q"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return 1
        if sym in fb.venue.instruments:
            await fb.trade(sym, px, qty)
    return 1


async def _okx_frame(fo, data: bytes) -> int:
    """One OKX push ``{"arg", "data"}``: to the subscribers of its channel, and a trade to the matching."""
    try:
        msg = orjson.loads(data)
        arg, rows = msg["arg"], msg["data"]
        channel = arg["channel"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return 0
    if channel == "trades":
        for row in rows:
            inst = row.get("instId")
            if inst in fo.instruments:
                try:
                    await fo.match_trade(inst, float(row["px"]), float(row["sz"]))
                except (KeyError, ValueError):
                    continue
    await fo.publish(channel, arg, rows)
    return 1

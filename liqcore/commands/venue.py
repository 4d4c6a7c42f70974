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

HELP = "serve a venue's local fake (REST, private and market streams) with a replayed market, to try --live offline"

#: the replay's default pace: a synthetic day in 2.4 minutes, steady enough for a run to keep up with (the run
#: line's cooldown and timeouts scaled to it: :func:`paced_options`), so a session decides as on the market's clock
DEFAULT_SPEED = 600.0



def venues() -> list[str]:
    """The venues with a whole local fake (their spec's ``local_fake``), sorted by name."""
    from liqcore.venues.registry import registered

    return sorted(s.name for s in registered() if s.local_fake)


def add_arguments(p: argparse.ArgumentParser) -> None:
    names = venues()
    p.add_argument("--venue", required=True, choices=names, help=f"the venue to play: {' | '.join(names)}")
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (default 0: a free one, printed)")
    p.add_argument("--symbols", default="ETHUSDT,SOLUSDT",
                   help="comma list of the synthetic market's symbols (default ETHUSDT,SOLUSDT); the fakes list "
                        "BTC, ETH, SOL, XRP (and DOGE on most)")
    p.add_argument("--replay", default="synthetic", metavar="PATH|synthetic",
                   help="recorder files or a directory of this venue's frames, or synthetic (default): the seeded "
                        "synthetic market rendered as this venue's frames")
    p.add_argument("--replay-days", type=float, default=1.0, help="days of synthetic market (default 1)")
    p.add_argument("--seed", type=int, default=7, help="seed of the synthetic market (default 7)")
    p.add_argument("--speed", type=float, default=DEFAULT_SPEED,
                   help=f"replay speed factor: 1 = the recorded pace, {DEFAULT_SPEED:g} (default) a day in "
                        f"{86400 / DEFAULT_SPEED / 60:g} min, the run line's cooldown and timeouts scaled to it; "
                        "0 = as fast as possible (the run's cooldown and timeouts then pass in wall time: most "
                        "cascades fall in them)")
    p.add_argument("--key-file", metavar="FILE",
                   help="where to write the fake's test keys (mode 0600; default: a temporary file removed on exit)")
    p.add_argument("--json", action="store_true", help="print the URLs, the key file and the run line as one JSON line")


def run(args) -> int:
    if args.port < 0 or args.port > 65535:
        raise ValueError(f"port: must be 0..65535; got {args.port}")
    from liqcore.commands._venues import check_speed

    check_speed(args.speed)
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
    """``symbol`` (``ETHUSDT``) as ``venue`` lists its USDT perpetual (its spec's ``symbol_for``: OKX
    ``ETH-USDT-SWAP``, the others as is)."""
    from liqcore.venues.registry import venue_spec

    return venue_spec(venue).symbol_for(symbol[:-4]) if symbol.endswith("USDT") else symbol


def _replay_source(args, symbols):
    """The frames to replay: a callable giving ``(recv_ns, bytes)`` in this venue's wire format afresh (each
    trading session replays them from the beginning)."""
    from liqcore.testing.fake_replay import read_recording, synthetic_frames

    if args.replay != "synthetic":
        if not Path(args.replay).exists():
            raise ValueError(f"replay: {args.replay} does not exist")
        return lambda: read_recording(args.replay, args.venue)
    from liqcore.units import parse_days

    parse_days(args.replay_days, "replay-days")
    from liqcore.synthetic.market import build_params, synthetic_market
    from liqcore.synthetic.memory import check_fits

    check_fits({s: build_params(s, args.replay_days) for s in symbols}, args.replay_days, option="replay-days")
    market = synthetic_market(days=args.replay_days, symbols=tuple(symbols), seed=args.seed, venue=args.venue)
    return lambda: synthetic_frames(market, args.venue)


def key_lines(venue: str, fv) -> str:
    """The key file ``liqcore run --live --key-file`` reads for ``venue``, with the fake's test keys (and its
    passphrase where the venue's keys have one: the spec's ``needs_passphrase``)."""
    from liqcore.venues.registry import venue_spec

    name = venue.upper()
    text = f"{name}_API_KEY={fv.api_key}\n{name}_API_SECRET={fv.api_secret}\n"
    if venue_spec(venue).needs_passphrase:
        text += f"{name}_API_PASSPHRASE={fv.passphrase}\n"
    return text


def _write_key_file(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def paced_options(speed: float) -> list[str]:
    """The run's options whose time passes on the wall clock (the cooldown after a close, the entry and the hold
    timeouts), their defaults divided by the replay's ``speed``: at the replay's pace they last what they last on
    the market's clock (a 5-minute cooldown is 5 minutes of replayed market), so the run decides on the cascades a
    backtest of the same market decides on.  None at the recorded pace (1) or as fast as possible (0: no pace)."""
    from liqcore.config import Params
    from liqcore.units import format_duration

    if not speed > 0 or speed == 1:
        return []
    par = Params()
    out = []
    for flag, ns in (("--cooldown", par.cooldown_ns), ("--entry-timeout", par.entry_timeout_ns),
                     ("--hold-timeout", par.hold_timeout_ns)):
        out += [flag, format_duration(max(int(round(int(ns) / speed / 1e6)), 1) * 1_000_000)]  # (whole ms)
    return out


def run_line(venue: str, symbols, port: int, key_file: str, speed: float = 0.0) -> str:
    """The ``liqcore run`` command that trades on the fake venue at ``port`` (its times scaled to the replay's
    ``speed``: :func:`paced_options`)."""
    base = f"ws://127.0.0.1:{port}"
    argv = ["liqcore", "run", "--venue", venue, "--symbols", ",".join(venue_symbol(venue, s) for s in symbols), "--live", "--key-file", key_file,
            "--rest-url", f"http://127.0.0.1:{port}", "--ws-url", base, "--private-ws-url", base, *paced_options(speed)]
    return " ".join(shlex.quote(a) for a in argv)


def _start_fake(venue: str, port: int, source, speed: float):
    """The venue's whole local fake (its spec's ``local_fake``, ``module:Class``); the replay is the local
    market's (:mod:`liqcore.testing.fake_session`)."""
    import importlib

    from liqcore.venues.registry import venue_spec

    module, _, name = venue_spec(venue).local_fake.partition(":")
    return getattr(importlib.import_module(module), name)(host="127.0.0.1", port=port)


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
    # SIGTERM (a service manager's stop): the same clean end as the key file's, its handler in place before the run
    # line says the fake is ready (a stop sent on reading it found the default action: killed, the keys left)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        if args.key_file:
            key_path = Path(args.key_file)
        else:  # a throwaway: removed on exit, a Ctrl-C's forced exit included (which skips this finally)
            tmp = tempfile.mkdtemp(prefix=f"liqcore-venue-{venue}-")
            cleanup = lambda: _remove_key_dir(tmp)  # noqa: E731
            on_forced_exit(cleanup)
            key_path = Path(tmp) / "keys.env"
        _write_key_file(key_path, key_lines(venue, fv))
        line = run_line(venue, symbols, fv.port, str(key_path), args.speed)
        paced = paced_options(args.speed)
        if args.json:
            print(orjson.dumps({"venue": venue, "port": fv.port, "rest_url": f"http://127.0.0.1:{fv.port}",
                                "ws_url": f"ws://127.0.0.1:{fv.port}", "key_file": str(key_path),
                                "speed": args.speed, "paced": paced, "run": line}).decode(), flush=True)
        else:
            print(f"fake {venue} serving on 127.0.0.1:{fv.port} (REST, private stream and market streams); "
                  f"its test keys are in {key_path}", flush=True)
            if paced:
                print(f"the market replays at {args.speed:g}x its pace: the run's cooldown, entry and hold timeouts "
                      f"are scaled to it ({' '.join(paced)}), so it decides as on the market's clock", flush=True)
            elif args.speed == 0:
                print("the market replays as fast as possible: the run's cooldown (5m) and timeouts pass in wall "
                      "time, most cascades fall in them", flush=True)
            print("trade on it (add --duration S, --json, --journal FILE as you like):", flush=True)
            print(line, flush=True)
        from liqcore.testing.fake_session import LocalMarket

        from liqcore.venues.registry import venue_spec

        spec = venue_spec(venue)  # (a fake of its own matching: its frames pushed; else the venue's fake_streams part)
        send = _exchange_frame if spec.fake == "exchange" else spec.part("fake_streams").replay_frame
        market = LocalMarket(fv, venue, [venue_symbol(venue, s) for s in symbols], source, args.speed, send)
        replay = asyncio.ensure_future(market.run())
        await stop.wait()
        replay.cancel()
        print(f"liqcore venue: stopped (SIGTERM); port {fv.port} closed", file=sys.stderr, flush=True)
    finally:
        if cleanup is not None:
            cleanup()
            drop_forced_exit(cleanup)
        await fv.stop()


async def _exchange_frame(fx, data: bytes) -> int:
    """One push of a fake with its own matching (Bybit's): to the subscribers of its topic, and a ``publicTrade`` to the matching."""
    await fx.push(data)
    return 1

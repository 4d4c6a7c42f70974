"""``liqcore venue``: a local fake venue (Binance USD-M, Bybit, OKX, Gate, or a plugin's venue that has the parts
it needs: :func:`missing`) on 127.0.0.1 with a replayed market, to try ``liqcore run --live`` offline before
risking money: the venue's order REST API, its private stream and its public market streams on one base URL, the
market replayed (a recording, or the synthetic market rendered as that venue's frames) and its trades moving the
fake's matching, so that orders rest, fill and trigger.

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



#: the parts of a venue the command asks for: its side of the local market, its order gateway (the run line trades
#: ``--live`` on the fake) and, on the synthetic market, the frames built from values
NEEDED_PARTS = ("fake_session", "gateway")


def missing(spec, synthetic: bool = True) -> list[str]:
    """What ``liqcore venue`` needs of the venue of ``spec`` that it lacks (empty: it can play it): its whole local
    fake (the spec's ``local_fake``), its ``fake_session`` and ``gateway`` parts, its ``samples`` part for the
    synthetic market and, unless its fake is a whole exchange of its own (``fake="exchange"``), its
    ``fake_streams`` part (no part imported)."""
    out = [] if spec.local_fake else ["whole local fake (its VenueSpec's local_fake, 'module:Class')"]
    parts = [*NEEDED_PARTS, *(("samples",) if synthetic else ()),
             *(() if spec.fake == "exchange" else ("fake_streams",))]
    out += [f"{p!r} part ({spec.package}.{p})" for p in parts if not spec.has_part(p)]
    return out


def venues() -> list[str]:
    """The registered venues (plugins' included) the command can play (:func:`missing`: nothing), sorted by name."""
    from liqcore.venues.registry import registered

    return sorted(s.name for s in registered() if not missing(s))


def check_venue(name: str, synthetic: bool = True) -> str:
    """``--venue``: the registered venue's name; else one line (an unknown name: the registered ones; a venue the
    command cannot play: what it lacks, and the venues it can play)."""
    from liqcore.venues.registry import venue_spec

    spec = venue_spec(name)
    lacks = missing(spec, synthetic)
    if lacks:
        raise ValueError(f"venue: liqcore venue cannot play {spec.name}: it has no {'; no '.join(lacks)} (the venues "
                         f"it plays: {', '.join(venues()) or 'none'})")
    return spec.name


def add_arguments(p: argparse.ArgumentParser) -> None:
    names = venues()
    p.add_argument("--venue", required=True, metavar="VENUE",
                   help=f"the venue to play: {' | '.join(names) or 'none'} (the registered venues, plugins' included, "
                        "that have a whole local fake (their VenueSpec's local_fake) and the parts it needs: "
                        "fake_session, gateway, samples (the synthetic market) and fake_streams (unless their fake "
                        "is a whole exchange))")
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
    args.venue = check_venue(args.venue, synthetic=args.replay == "synthetic")
    symbols = _symbols(args.symbols)
    source = _replay_source(args, symbols)
    try:
        interrupted = _run_loop(_serve(args, symbols, source))
    except KeyboardInterrupt:
        return 130
    return 130 if interrupted else 0


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


#: seconds a stop (Ctrl-C, SIGTERM) gives the replay and then the fake's server to end, its client connections
#: closed at once first (no close handshake, no request in progress waited for), and again the event loop's tasks
#: left after it (:func:`_run_loop`); whatever is still running then is left to the process's end.  Together well
#: within the Ctrl-C mechanism's deadline (:data:`liqcore.interrupt.GRACE_S`), which ends the process regardless
STOP_BUDGET_S = 0.25


class _StopSignals:
    """SIGINT and SIGTERM as a stop of :func:`_serve` through its event loop: Python-level handlers that set ``stop``
    with ``loop.call_soon_threadsafe``.

    Not ``loop.add_signal_handler``, which takes over the process's wakeup fd (``signal.set_wakeup_fd``): the Ctrl-C
    mechanism's thread (:class:`liqcore.interrupt.InterruptGuard`) hears a Ctrl-C through it and ends, at its deadline,
    a command that has not stopped; taken, that deadline never came.  Nor the mechanism's own handler, whose
    KeyboardInterrupt, raised wherever the main thread is, could land inside the running loop's own machinery (a
    busy replay keeps it there) and lose a task's wake-up: ``asyncio.run``'s end then waited for that task for ever.
    The first Ctrl-C says "liqcore venue: interrupted" (the mechanism's line, said once) and stops the venue; a second
    one goes to the handler before this one (the mechanism's: the process ends at once)."""

    def __init__(self, loop, stop: asyncio.Event):
        from liqcore.interrupt import InterruptGuard

        self.loop, self.stop = loop, stop
        self.interrupted = self.terminated = False
        self._prev: dict = {}
        prev = signal.getsignal(signal.SIGINT)
        owner = getattr(prev, "__self__", None)
        self._guard = owner if isinstance(owner, InterruptGuard) else None
        for sig, handler in ((signal.SIGINT, self._on_int), (signal.SIGTERM, self._on_term)):
            old = signal.getsignal(sig)
            if sig == signal.SIGINT and old == signal.SIG_IGN:
                continue  # (started with Ctrl-C ignored: it stays ignored)
            try:
                signal.signal(sig, handler)
            except ValueError:  # pragma: no cover - not the main thread: no signals here
                continue
            self._prev[sig] = old

    def _on_int(self, signum, frame) -> None:
        if self.interrupted or self.loop.is_closed():  # a second Ctrl-C: now, as the handler before this one has it
            prev = self._prev.get(signal.SIGINT)
            if callable(prev):
                prev(signum, frame)
                return
            raise KeyboardInterrupt
        self.interrupted = True
        if self._guard is not None:
            self._guard.interrupted = True
            self._guard.say_interrupted()
        else:  # (straight to the descriptor: the main thread may be inside a write to sys.stderr)
            try:
                os.write(2, b"liqcore venue: interrupted\n")
            except OSError:
                pass
        self.loop.call_soon_threadsafe(self.stop.set)

    def _on_term(self, signum, frame) -> None:
        self.terminated = True
        if not self.loop.is_closed():  # (closed: the process is ending)
            self.loop.call_soon_threadsafe(self.stop.set)

    def restore(self) -> None:
        """The handlers before these back in place (while the loop still runs: these call into it)."""
        for sig, old in self._prev.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)
        self._prev = {}


async def _stop_serving(fv, budget: float = STOP_BUDGET_S) -> None:
    """The end of the fake ``fv`` within ``budget`` seconds: every other task of the command's event loop cancelled
    (the market and its replay, the requests in progress), every client connection closed at once (a client that
    never answers a close frame, one that stopped reading, one in the middle of a request: none is waited for), then
    the fake's own stop; what has not ended by then is left to the process's end.  A stop's own error is raised."""
    loop = asyncio.get_running_loop()
    end = loop.time() + budget
    me = asyncio.current_task()
    others = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
    for t in others:
        t.cancel()
    abort = getattr(fv, "abort_connections", None)
    if abort is not None:
        abort()
    if others:
        await asyncio.wait(others, timeout=budget / 2)
    stopping = asyncio.ensure_future(fv.stop())
    await asyncio.wait({stopping}, timeout=max(end - loop.time(), 0.02))
    if stopping.done():
        stopping.result()
    else:
        stopping.cancel()


def _run_loop(main, budget: float = STOP_BUDGET_S):
    """``asyncio.run(main)`` with a bounded end: once ``main`` has returned (or a KeyboardInterrupt has stopped the
    loop), the tasks left are cancelled and given ``budget`` seconds to end, and the loop is closed whatever they do
    (its executor's threads not waited for).  ``asyncio.run`` waits for each of them without a bound: one task that
    cannot end, and a Ctrl-C'd venue never ended."""
    loop = asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(main)
    finally:
        try:
            left = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in left:
                t.cancel()
            if left:
                loop.run_until_complete(asyncio.wait(left, timeout=budget))
            for t in left:
                if not t.done():
                    t._log_destroy_pending = False  # (left to the process's end: not a leak to report)
                elif not t.cancelled():
                    t.exception()  # (ended by the stop: its error is not this command's)
            gens = loop.create_task(loop.shutdown_asyncgens())
            loop.run_until_complete(asyncio.wait({gens}, timeout=budget))
            gens._log_destroy_pending = False
        finally:
            asyncio.set_event_loop(None)
            loop.close()


async def _serve(args, symbols, source) -> bool:
    """Serve until SIGINT or SIGTERM; True: stopped by a Ctrl-C."""
    from liqcore.interrupt import drop_forced_exit, on_forced_exit

    venue = args.venue
    fv = _start_fake(venue, args.port, source, args.speed)
    await fv.start()
    cleanup = None
    # Ctrl-C and SIGTERM (a service manager's stop): the same clean end, the key file removed, their handlers in place
    # before the run line says the fake is ready (a stop sent on reading it found the default action: killed, the
    # keys left); the end bounded (:func:`_stop_serving`)
    stop = asyncio.Event()
    signals = _StopSignals(asyncio.get_running_loop(), stop)
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
        asyncio.ensure_future(market.run())  # (ended with the fake: :func:`_stop_serving`)
        await stop.wait()
    finally:
        try:
            if cleanup is not None:
                cleanup()
                drop_forced_exit(cleanup)
            await _stop_serving(fv)
        finally:
            signals.restore()
    if signals.terminated and not signals.interrupted:
        print(f"liqcore venue: stopped (SIGTERM); port {fv.port} closed", file=sys.stderr, flush=True)
    return signals.interrupted


async def _exchange_frame(fx, data: bytes) -> int:
    """One push of a fake with its own matching (Bybit's): to the subscribers of its topic, and a ``publicTrade`` to the matching."""
    await fx.push(data)
    return 1

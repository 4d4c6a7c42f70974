"""``liqcore record``: raw websocket frames with their receive times (zstd, hourly files per venue).

Usage, ``--symbols all``, the frames subscribed, the line format, ``--dataset`` and the exit status:
docs/how-to/get-data.md, "`liqcore record`", and docs/how-to/record.md, "Recording".

May import: the layers below the command line (``live`` feeds and recorder, ``market``, ``venues``,
``download.feeder``, ``config``) and this package's shared ``inputs``, ``outputs`` and ``_market``.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from datetime import datetime, timezone

from liqcore.commands._venues import venue_list, venues_where
from liqcore.venues.registry import venue_spec
from liqcore.types import DEFAULT_VENUE

HELP = "record raw websocket frames with receive times (zstd, hourly files)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from liqcore.config import add_param_arguments

    p.add_argument("--venue", default=DEFAULT_VENUE, metavar="VENUE",
                   help=f"the venue: {venue_list(' | ')} (the registered venues, plugins' included; default "
                        f"{DEFAULT_VENUE})")
    p.add_argument("--symbols", required=True, help="comma list, e.g. ETHUSDT,SOLUSDT; or all (every liquidation of "
                                                    "the venue)")
    from liqcore.commands._market import add_universe_arguments

    add_universe_arguments(p, also="recorded", narrowed=f"left out ({venues_where('per_topic_subscriptions')})")
    p.add_argument("--rest-url", default=None, metavar="URL",
                   help="the venue's REST base URL (mirrors, tests): --symbols all takes its instrument list there, "
                        "--depth its order-book snapshots")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument("--dataset", default=None, metavar="DS",
                   help="also convert each hourly file into the dataset DS as it closes (and, at the start, the "
                        "files of --out not converted yet)")
    p.add_argument("--ws-url", metavar="URL", help="override the public websocket URL")
    p.add_argument("--network", default="mainnet", choices=("mainnet", "testnet", "demo"))
    p.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S seconds")
    p.add_argument("--flush", type=float, default=1.0, metavar="S", help="flush a block every S seconds")
    p.add_argument("--quiet", action="store_true", help="no periodic status line")
    p.add_argument("--no-book", dest="book", action="store_false",
                   help="do not record the top of book (best bid/ask and sizes; recorded by default)")
    p.add_argument("--depth", action="store_true",
                   help="also record each symbol's order-book depth, its venue's snapshot-plus-delta protocol followed "
                        f"(a REST snapshot, then the stream's deltas: {venues_where('rest_depth_snapshots')}; the "
                        f"stream's own snapshot: {venues_where('rest_depth_snapshots', False)}); a sequence break "
                        "gets a new snapshot and is marked as a gap in the data")
    p.add_argument("--depth-levels", type=int, default=1000, metavar="N",
                   help=f"--depth on {venues_where('depth_levels')}: the depth stream's levels a side (one of the "
                        "counts the venue's stream offers; default 1000)")
    p.add_argument("--instruments-refresh", default="1h", metavar="DUR",
                   help=f"--symbols all on {venues_where('sizes_in_contracts')} (sizes in contracts): ask the venue "
                        "for its instrument list again every DUR (default 1h; 0: never) and merge it into the one kept "
                        "with the recording (a swap listed while recording is sized when read back)")
    add_param_arguments(p, groups=("feed",))


class StatusLine(logging.Handler):
    """The recorder's status line on stderr and, while it is up, the ``liqcore`` loggers' warnings.  On a
    terminal the status is rewritten in place with ``\\r``, and a warning ends it first, so it starts a line
    of its own and the next status is drawn on a fresh line.  Anywhere else (a log file, a pipe: ``tty``
    False; None asks the stream) each status is a line of its own, stamped with the UTC time, at most one
    per ``every_s`` seconds (the first at once; each second while lines are not being written): a log file
    gets readable lines, not one endless line."""

    def __init__(self, stream=None, *, tty: bool | None = None, every_s: float = 60.0, clock=time.monotonic):
        super().__init__(logging.WARNING)
        self._stream = stream
        self._tty = tty
        self._every_s, self._clock, self._last = float(every_s), clock, None
        self._open = False  # a status text is on the current line, not ended by a newline
        self.setFormatter(logging.Formatter("warning: %(message)s"))

    @property
    def stream(self):
        return self._stream or sys.stderr

    @property
    def tty(self) -> bool:
        if self._tty is None:
            try:
                self._tty = bool(self.stream.isatty())
            except (AttributeError, ValueError, OSError):
                self._tty = False
        return self._tty

    def show(self, text: str, urgent: bool = False) -> None:
        """Show the status ``text``; ``urgent`` (lines being lost) is written off a terminal without the wait."""
        if not self.tty:
            now = self._clock()
            if not urgent and self._last is not None and now - self._last < self._every_s:
                return
            self._last = now
            stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            self.stream.write(f"{stamp} {text}\n")
            self.stream.flush()
            return
        self.stream.write("\r" + text)
        self.stream.flush()
        self._open = True

    def end(self) -> None:
        """End the status line (a newline), if one is showing."""
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = self.format(record)
            self.end()
            self.stream.write(msg + "\n")
            self.stream.flush()
        except Exception:  # pragma: no cover - logging must not break the recorder
            self.handleError(record)

    def __enter__(self):
        root = logging.getLogger("liqcore")
        root.addHandler(self)
        self._propagate, root.propagate = root.propagate, False  # said here, not twice
        return self

    def __exit__(self, *exc):
        root = logging.getLogger("liqcore")
        root.removeHandler(self)
        root.propagate = self._propagate
        self.end()


def _gaps_text(reasons: dict) -> str:
    """The gap lines written, by reason: ``0 gaps``, ``2 gaps (1 silent, 1 stopped: the recorder's own stop)``."""
    from liqcore.live.transport import OWN_STOP

    n = sum(reasons.values())
    if not n:
        return "0 gaps"
    parts = [f"{k} {r}" + (": the recorder's own stop" if r == OWN_STOP else "") for r, k in sorted(reasons.items())]
    return f"{n} gap{'' if n == 1 else 's'} ({', '.join(parts)})"


def _symbols(text: str) -> list[str]:
    from liqcore.commands._market import traded_symbols

    return traded_symbols(text)


def _whole_market(args, venue: str) -> tuple[list[str], list, object]:
    """``--symbols all``: the symbols watched, the connection specs (liqcore.market.streams) and, for OKX (whose
    liquidations come in contracts), the venue's instrument list to keep with the recording (else None)."""
    from liqcore.market.streams import ALL_MARKET_STREAM, whole_market_specs

    from liqcore.commands._market import select_universe, symbol_list

    also = symbol_list(args.also)
    if venue in ALL_MARKET_STREAM:
        if args.exclude or args.min_volume is not None:
            raise ValueError(f"symbols: {venue}'s all-market liquidation stream carries every symbol and cannot be "
                             "narrowed (--exclude / --min-volume are for "
                             f"{venues_where('per_topic_subscriptions')}); select symbols when reading "
                             "(liqcore events --symbol)")
        kept = None
        if venue_spec(venue).sizes_in_contracts:  # every swap's contract value is kept with the recording
            kept, _ = select_universe(args, venue, args.rest_url)
            print(f"{kept.describe()}: kept with the recording (its contract sizes)", file=sys.stderr)
        print(f"recording every {venue} liquidation ({ALL_MARKET_STREAM[venue]})"
              + (f" and the trades of {','.join(also)}" if also else ""), file=sys.stderr)
        return (also or ["ALL"]), whole_market_specs(venue, [], also, url=args.ws_url, network=args.network,
                                                     book=args.book), kept
    _, u = select_universe(args, venue, args.rest_url)
    specs = whole_market_specs(venue, u.symbols, also, url=args.ws_url, network=args.network, book=args.book,
                               tickers=True)
    print(f"{u.describe()}; {len(specs)} connection(s)", file=sys.stderr)
    return u.symbols, specs, None


async def _keep_refreshed(args, venue: str, stop: asyncio.Event, every_s: float) -> None:
    """OKX ``--symbols all``: the instrument list asked for again every ``every_s`` until ``stop`` and merged into
    the one kept with the recording; a refresh that fails is said once and the list kept stays as it is."""
    from liqcore.commands._market import fetch_selection
    from liqcore.market.universe import keep_with_recording

    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), every_s)
            return
        except asyncio.TimeoutError:
            pass
        try:
            u, _ = await fetch_selection(args, venue, args.rest_url, max_age_s=every_s / 2)
            keep_with_recording(u, args.out)
        except (ValueError, OSError) as e:  # (UniverseError is a ValueError)
            logging.getLogger("liqcore.record").warning(
                "instrument list not refreshed (%s); the one kept with the recording stays as it is", e)


async def record(venue: str, symbols: list[str], out: str, ws_url: str | None = None, network: str = "mainnet",
                 duration: float | None = None, flush_s: float = 1.0, quiet: bool = True,
                 stop_event: asyncio.Event | None = None, book: bool = True, on_closed=None, depth: int = 0,
                 rest_url: str | None = None, **conn_kwargs) -> dict:
    """Record until ``duration`` elapses, ``stop_event`` is set or the task is cancelled; returns counts.
    ``book``: also the top of book of every symbol.  ``on_closed(path)``: called with each hourly file
    once it is closed whole.  ``depth``: also each symbol's depth (Bybit: the ``orderbook.<depth>`` stream;
    0: none), kept whole by :class:`liqcore.live.depthkeep.DepthKeeper` (its REST snapshots from
    ``rest_url``, default the venue's)."""
    from liqcore.live.feeds import FeedManager
    from liqcore.live.recorder import Recorder

    rec = Recorder(out, flush_every_s=flush_s, on_closed=on_closed)
    stop = stop_event or asyncio.Event()

    keeper = None

    def on_gap_events(events, reason):
        rec.write_gap(venue, reason, int(events["ts_recv"][0]))
        if keeper is not None:
            keeper.gap(int(events["ts_recv"][0]))

    if "specs" not in conn_kwargs:
        from liqcore.live.feeds import stream_module

        # Bybit: also the tickers stream (mark price, funding rate and open interest)
        spec = venue_spec(venue)
        extra = {"tickers": True} if spec.ticker_stream else {}
        if depth:
            extra["depth"] = int(depth) if spec.depth_levels else True
        conn_kwargs["specs"] = stream_module(venue).connection_specs(symbols, url=ws_url, network=network,
                                                                    book=book, **extra)
    from liqcore.venues.decoder import Decoder

    # frames are decoded only until the first one with market data (not an ack or pong, nor one the venue's parser
    # failed on: said once, in one line naming the venue and the exception, and named at the end if no data came)
    probe = Decoder(venue)
    data = [0]
    said = [False]

    def on_frame(v, payload, recv_ns):
        rec.write_frame(v, payload, recv_ns)
        if keeper is not None:
            keeper.frame(payload, recv_ns)
        if not data[0]:
            probe.feed_rows(payload, recv_ns)
            c = probe.counters
            data[0] = c["frames"] - c["control"] - c.get("bad_frame", 0)
            if not said[0] and probe.bad_frame_error is not None:
                said[0] = True
                logging.getLogger("liqcore.record").warning(
                    "venue %s's parser (its parse part's parse_obj) failed on a frame: %s; the frame was recorded as "
                    "it came, the failures are counted (bad_frame) and not said again", venue, probe.bad_frame_error)

    def unread() -> str | None:  # the frames the venue's parser failed on, while no market data was read
        n = probe.counters.get("bad_frame", 0)
        return (f"{n} frame{'' if n == 1 else 's'} failed in venue {venue}'s parser (its parse part's parse_obj): "
                f"{probe.bad_frame_error}") if n and not data[0] else None

    fm = FeedManager(venue, symbols, on_frame, on_gap_events, url=ws_url, network=network, **conn_kwargs)
    if depth:
        from liqcore.live.depthkeep import DepthKeeper

        market = venue_spec(venue).part("market")  # (books restarted by a resubscription: its depth_topic)
        topic = getattr(market, "depth_topic", None)
        keeper = DepthKeeper(venue, rec, rest_base=rest_url, network=network, resubscribe=fm.resubscribe,
                             depth_topic=(lambda s: topic(s, int(depth))) if topic is not None else None)

    def on_silent(r):  # a subscribed stream silent while the others flow: a gap line naming it (the feed logs it)
        now = time.time_ns()
        rec.write_gap(venue, "silent", now, stream=r.stream, since_ns=r.since_ns)
        if keeper is not None:
            keeper.gap(now)  # (a reader of the recording takes every gap line as a break of the venue's books)

    fm.watch.on_silent.append(on_silent)
    status = StatusLine()
    with status if not quiet else contextlib.nullcontext():
        await fm.start()
        t0 = time.monotonic()
        try:
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), min(flush_s, 1.0))
                except asyncio.TimeoutError:
                    pass
                rec.maybe_flush()
                if not quiet:
                    h = fm.health()
                    lost = f" NOT WRITTEN={rec.unwritten}" if rec.unwritten else ""
                    status.show(f"{venue}: frames={h['frames']} gaps={h['gaps']} connected={h['connected']} "
                                f"coverage={h['coverage']:.3f}{lost}", urgent=bool(rec.unwritten))
                if duration is not None and time.monotonic() - t0 >= duration:
                    break
        finally:
            await fm.stop()
            if keeper is not None:
                await keeper.close()
            rec.close()
    h, why_unread = fm.health(), unread()
    # (what the files hold: ``gaps`` the gap lines written, each reason counted in ``gap_reasons``, the feed's
    # own stop included; ``feed_gaps``: the connections lost, the feed's count)
    return {**h, "feed_gaps": h["gaps"], "lines": rec.lines, "frames_written": rec.frames, "gaps": rec.gaps,
            "gap_reasons": dict(rec.gap_reasons), "files": [str(p) for p in rec.files],
            "depth": dict(keeper.counts) if keeper is not None else None,
            "seconds": time.monotonic() - t0, "failure": fm.failure(data_frames=data[0], unread=why_unread),
            "unread": why_unread, "frame_handler_failure": fm.handler_failure(), "unwritten": rec.unwritten, "write_error": rec.error}


def run(args) -> int:
    from liqcore.cli import install_uvloop
    from liqcore.config import params_from_args
    from liqcore.live.feeds import stream_module

    params = params_from_args(args)
    stream_module(args.venue)  # validates the venue
    venue = args.venue.lower()
    extra = {}
    kept = None  # (OKX --symbols all: the instrument list kept with the recording)
    from liqcore.units import parse_duration

    from liqcore.commands._market import whole_market

    refresh_s = parse_duration(args.instruments_refresh, "instruments-refresh") / 1e9
    depth = 0
    if args.depth:
        if whole_market(args.symbols):
            raise ValueError("depth: --depth records the books of the symbols named; not with --symbols all")
        depth = 1
        if venue_spec(venue).depth_levels:  # (refused here, before anything connects)
            depth = venue_spec(venue).part("stream").check_depth_levels(args.depth_levels)
    if whole_market(args.symbols):
        symbols, extra["specs"], kept = _whole_market(args, venue)
    else:
        from liqcore.commands._market import check_list_flags

        check_list_flags(args)
        symbols = _symbols(args.symbols)
        from liqcore.commands.inputs import warn_unknown_symbols

        warn_unknown_symbols(symbols, "; the feed may receive nothing for it", venue=venue)
    if args.duration is not None and args.duration <= 0:
        raise ValueError("duration: must be positive seconds")
    if not args.flush > 0:
        raise ValueError(f"flush: must be positive seconds; got {args.flush:g}")
    from liqcore.commands.outputs import output_dir

    output_dir(args.out, "--out")
    if kept is not None:
        from liqcore.market.universe import keep_with_recording

        print(f"instrument list kept in {keep_with_recording(kept, args.out)}", file=sys.stderr)
    feeder = None
    if args.dataset:  # each hourly file into the dataset as it closes; first, those a stopped run left
        from pathlib import Path

        from liqcore.download.feeder import DatasetFeeder

        output_dir(args.dataset, "--dataset", url_ok=True)
        feeder = DatasetFeeder(args.dataset)
        for f in sorted(Path(args.out).glob("*.jsonl.zst")):
            feeder.submit(f)
    install_uvloop()

    async def main():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        from liqcore.interrupt import graceful_stop

        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, graceful_stop("record", stop, "stopping: the open file is closed whole")
                                        if sig == signal.SIGINT else stop.set)
            except (NotImplementedError, RuntimeError):
                pass
        refresher = None
        if kept is not None and refresh_s > 0:  # (a swap listed while recording: its ctVal kept too)
            refresher = asyncio.ensure_future(_keep_refreshed(args, venue, stop, refresh_s))
        try:
            res = await record(venue, symbols, args.out, args.ws_url, args.network, args.duration,
                               args.flush, args.quiet, stop, book=args.book,
                               ping_interval_s=params.ping_interval_ns / 1e9,
                               stall_timeout_s=params.stall_timeout_ns / 1e9,
                               silent_after_s=params.silent_after_ns / 1e9,
                               on_closed=feeder.submit if feeder is not None else None,
                               depth=depth, rest_url=args.rest_url, **extra)
        finally:
            if refresher is not None:
                refresher.cancel()
        return res, stop.is_set()

    res, stopped = asyncio.run(main())  # (the status line ends itself: StatusLine)
    print(f"recorded {res['frames_written']} frames, {_gaps_text(res['gap_reasons'])} into "
          f"{', '.join(res['files']) or '(nothing)'}")
    if res["frame_handler_failure"] and not res["failure"]:  # (the frames were recorded all the same)
        print(f"liqcore record: warning: {res['frame_handler_failure']}; the frames were recorded all the same",
              file=sys.stderr)
    if res.get("depth") is not None:
        d = res["depth"]
        print(f"depth: {d['snapshots']} REST snapshots, {d['resubscribed']} re-subscriptions, {d['failed']} failed "
              f"snapshot requests, {d['bad_frames']} depth frames that did not parse", file=sys.stderr)
    if feeder is not None:  # stopped by a signal: only the file being converted; the next run takes the rest
        feeder.close(wait=not stopped)
        print(feeder.summary() + ("; the files not converted yet are taken by the next record --dataset"
                                  if stopped else ""), file=sys.stderr)
        if feeder.failed:
            print(f"liqcore record: error: {len(feeder.failed)} file(s) not converted into {args.dataset} "
                  f"(named above)", file=sys.stderr)
            return 1
    if res["write_error"]:  # frames the disk did not take: said at once (log), counted, and a failed run
        print(f"liqcore record: error: cannot write {res['write_error']}: {res['unwritten']} lines not written",
              file=sys.stderr)
        return 1
    if res["unread"]:  # frames came and were written, none the venue's parser could read: a plugin to fix
        print(f"liqcore record: error: no market data read in {res['seconds']:.1f} s ({res['frames_written']} frames "
              f"recorded as they came): {res['failure']}", file=sys.stderr)
        return 1
    if res["failure"] or not res["lines"]:  # a recorder that recorded nothing failed at its job (cron, systemd)
        print(f"liqcore record: error: nothing recorded in {res['seconds']:.1f} s: "
              f"{res['failure'] or 'no frame was written'}", file=sys.stderr)
        return 1
    return 0

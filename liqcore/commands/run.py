"""``liqcore run``: the live runner: websocket feeds, cascade detector, strategy, paper (default) or the venue's
order gateway (Bybit, Binance, OKX).

Usage, ``--symbols all``, replays, ``--live`` and keys, the kill switch, ``--web``, signals and the
exit status: docs/reference/commands.md, "`liqcore run`", and docs/how-to/run-live.md.

May import: the layers below the command line (``live``, ``testing`` for ``--replay``, ``venues``,
``market``, ``features``, ``strategies``, ``synthetic``, ``io``, ``secrets``, ``config``) and this
package's shared ``inputs``, ``outputs``, ``_market``, ``_judge`` and ``_web``.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys

import orjson

from liqcore.commands._venues import venue_list, venues_where, venues_with_part
from liqcore.venues.registry import spec_or_none, venue_spec
from liqcore.types import DEFAULT_VENUE

HELP = "live runner: feeds, detector, strategy, paper or the venue's order gateway, dashboard"


def _feature_names(text: str) -> list[str]:
    """``--features``: comma-separated feature names, each checked (a bad one is a usage error)."""
    from liqcore.features.registry import parse_name

    names = [n.strip() for n in text.split(",") if n.strip()]
    for n in names:
        try:
            parse_name(n)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return names


def add_arguments(p: argparse.ArgumentParser) -> None:
    from liqcore.config import add_param_arguments

    p.add_argument("--venue", default=DEFAULT_VENUE, metavar="VENUE",
                   help=f"market-data venue: {venue_list(' | ')} (the registered venues, plugins' included; default "
                        f"{DEFAULT_VENUE})")
    p.add_argument("--symbols", default="DOGEUSDT,SOLUSDT,ETHUSDT",
                   help="comma list of traded symbols; or all (every perpetual of the venue: its all-market "
                        "liquidation stream, the traded symbols and their trading rules from its instrument list)")
    from liqcore.commands._market import add_universe_arguments

    add_universe_arguments(p, also="subscribed", narrowed="not traded")
    p.add_argument("--instruments-refresh", default="1h", metavar="DUR",
                   help="--symbols all: ask the venue for its instrument list again every DUR (default 1h; 0: never): "
                        "delisted symbols get no new order (their positions and entries per --delisted) and leave "
                        "the feeds, new listings are traded at once on their rules, changed rules apply")
    p.add_argument("--delisted", default="report", choices=("report", "close"),
                   help="--symbols all: a delisted symbol's position and resting entry: report them (log and journal; "
                        "default) or close them (entry cancelled, position closed at market)")
    p.add_argument("--scope", default="venue", choices=("venue", "instrument"),
                   help="venue: a cascade is counted on the trade venue's liquidations alone; instrument: on the "
                        "liquidations of every venue of the instrument (--watch-venues), each judged against its own "
                        "venue's threshold, orders on the trade venue only")
    p.add_argument("--trade-venue", metavar="V", help="the venue orders go to (default: --venue); with --scope "
                   "instrument its symbols are the traded ones")
    p.add_argument("--watch-venues", default=venue_list(","), metavar="V[,V...]",
                   help="--scope instrument: the venues whose liquidation streams are watched (default every "
                        f"registered venue: {venue_list(',')})")
    p.add_argument("--venue-url", action="append", default=[], metavar="VENUE=URL",
                   help="--scope instrument: a public websocket URL override for one watched venue (repeatable)")
    p.add_argument("--network", default="mainnet", choices=("mainnet", "testnet", "demo"))
    p.add_argument("--ws-url", metavar="URL", help="public websocket override: a full URL, or a scheme://host:port "
                   "base to which the venue's documented public path is appended")
    p.add_argument("--rest-url", metavar="URL", help="REST base override (scheme://host:port): the order gateway's "
                   "(--live) and the venue's instrument list (--symbols all; a symbol list on "
                   f"{venues_where('rules_from_instrument_list')})")
    p.add_argument("--private-ws-url", metavar="URL", help="private websocket override (--live): a full URL, or a "
                   "scheme://host:port base to which the venue's documented private path is appended")
    p.add_argument("--live", action="store_true", help="send real orders through the venue's order gateway "
                   f"({venues_with_part('gateway')})")
    p.add_argument("--listen-key-keepalive", type=float, default=1800.0, metavar="SECONDS",
                   help="--live on a venue whose user stream lives on a listenKey: seconds between its keepalives "
                        "(default 1800; "
                        "a keepalive answered -1125 gets a new listenKey and a new stream)")
    p.add_argument("--key-file", metavar="FILE", help="--live: 0600 file with <VENUE>_API_KEY and <VENUE>_API_SECRET "
                   f"(and <VENUE>_API_PASSPHRASE on {venues_where('needs_passphrase')}; e.g. "
                   f"{DEFAULT_VENUE.upper()}_API_KEY)")
    p.add_argument("--replay", metavar="PATH|synthetic",
                   help="replay recordings (or a synthetic market) through a local fake: the venue's whole fake "
                        f"exchange ({venues_where('fake', 'exchange')}) or its fake market streams "
                        f"({venues_where('fake', 'streams')})")
    p.add_argument("--allow-empty", action="store_true",
                   help="run (with a warning) even when --replay or --seed-history recordings have nothing usable")
    p.add_argument("--replay-days", type=float, default=1.0, help="days of synthetic market for --replay synthetic")
    p.add_argument("--speed", type=float, default=0.0, help="replay speed factor (0 = as fast as possible)")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds (a replay also stops when the recording ends)")
    p.add_argument("--journal", metavar="FILE", help="SQLite journal (default: liqcore-live.sqlite with --live); "
                   "one run writes a journal at a time: a second run on the same file refuses to start")
    p.add_argument("--read-only", action="store_true",
                   help="watch only: no order is sent (the kill switch is on from the start) and no journal is "
                        "written (e.g. beside the run that holds --journal)")
    p.add_argument("--record", metavar="DIR", help="also record every frame the engine receives, with its receive "
                   "time (what `liqcore journal --recording` replays through the fill model)")
    p.add_argument("--metrics-port", type=int, metavar="N", help="Prometheus endpoint on 127.0.0.1:N/metrics")
    p.add_argument("--no-dashboard", action="store_true", help="no live dashboard (e.g. under a service manager)")
    from liqcore.commands._web import add_web_arguments

    add_web_arguments(p, "serve the web dashboard on HOST:PORT (default host 127.0.0.1; read-only; any other "
                         "interface, and --web-control, need the token printed at start or --web-token-file)")
    p.add_argument("--web-control", action="store_true",
                   help="--web: add the kill-switch and flatten-all buttons (each asks for confirmation; they need "
                        "the token, the loopback too)")
    p.add_argument("--log", metavar="FILE", help="JSON log file (default: stderr)")
    p.add_argument("--features", metavar="N[,N...]", type=_feature_names,
                   help="named features to keep current from the stream (e.g. flow.ofi@5m:zscore; see "
                        "`liqcore features --list`); shown in the snapshot")
    p.add_argument("--log-level", default="INFO")
    p.add_argument("--kill-switch", metavar="FILE", help="no new entries while this file exists")
    p.add_argument("--equity", type=float, default=10_000.0, help="paper starting equity (quote; --live reads the wallet)")
    p.add_argument("--json", action="store_true", help="print the final summary as JSON")
    p.add_argument("--on-demand", nargs="?", type=float, const=10.0, metavar="LINGER_S",
                   help="trades and top of book only for symbols with a live signal, a resting order or a position "
                        "(subscribed when needed, unsubscribed LINGER_S seconds after, default 10); liquidations of "
                        "every symbol as always")
    p.add_argument("--book-symbols", metavar="S[,S...]", help="with --on-demand: symbols whose trades and top of "
                   "book stay subscribed all the time")
    p.add_argument("--book", choices=("top", "depth"), default="top",
                   help="the book the live queue estimate of a resting entry reads: top (the top of book, default) or "
                        "depth (also each traded symbol's L2 depth, its venue's protocol followed: the size shown at "
                        "the entry's level is ahead of it, and that level's changes move its queue)")
    p.add_argument("--seed-history", nargs="+", metavar="PATH",
                   help="recordings whose past liquidations seed the detector's thresholds at start-up")
    add_param_arguments(p, groups=("detector", "strategy", "execution", "risk", "feed"))
    from liqcore.commands._judge import add_judge_arguments

    add_judge_arguments(p)


def _symbols(text: str) -> list[str]:
    from liqcore.commands._market import traded_symbols

    return traded_symbols(text)


def _replay_source(args, symbols, venue: str = DEFAULT_VENUE, topics=None):
    """The frames a ``--replay`` sends; Binance, OKX: only those of the subscribed ``topics`` (Binance stream names,
    OKX args as JSON)."""
    from liqcore.testing.fake_replay import read_recording, synthetic_frames

    if args.replay == "synthetic":
        if venue_spec(venue).fake != "exchange":
            raise ValueError("replay: the synthetic market is replayed through a whole fake exchange; use --venue "
                             f"{venues_where('fake', 'exchange', sep=' or ')}")
        from liqcore.synthetic.market import synthetic_market

        from liqcore.units import parse_days

        parse_days(args.replay_days, "replay-days")
        from liqcore.synthetic.market import build_params
        from liqcore.synthetic.memory import check_fits

        check_fits({s: build_params(s, args.replay_days) for s in symbols}, args.replay_days, option="replay-days")
        return synthetic_frames(synthetic_market(days=args.replay_days, symbols=tuple(symbols), venue=venue), venue)
    from pathlib import Path

    if not Path(args.replay).exists():
        raise ValueError(f"replay: {args.replay} does not exist")
    if venue_spec(venue).fake == "streams":
        from liqcore.venues.fake_streams import market_streams

        route = market_streams(venue)

        def wanted(frame) -> bool:
            return any(n in topics for n in route(frame))
        what = "of the subscribed streams"
    else:
        keys = [f'.{s}"'.encode() for s in symbols]

        def wanted(frame) -> bool:
            return any(k in frame for k in keys)
        what = f"of --symbols {','.join(symbols)}" if len(symbols) <= 10 else f"of the {len(symbols)} symbols"
    _check_replay(args.replay, venue, wanted, what, args.allow_empty)
    args.replay_rejects = {}  # lines the replay skips (implausible receive times, malformed): in the summary
    frames = read_recording(args.replay, venue, stats=args.replay_rejects)
    return (f for f in frames if wanted(f[1])) if venue_spec(venue).fake == "streams" else frames


def _check_replay(path, venue: str, wanted, what: str, allow_empty: bool) -> None:
    """Fail (exit 1, naming why) unless the recording has a frame of ``venue`` that the run ``wanted``: stops
    at the first one, reads the whole recording only when there is none."""
    from liqcore.io import require_usable
    from liqcore.testing.fake_replay import read_recording

    stats: dict = {}
    frames = 0
    for _, frame in read_recording(path, venue, stats=stats):
        frames += 1
        if wanted(frame):
            return
    name = venue.capitalize()
    if frames:
        why = f"{frames:,} {name} frames, none {what}"
    elif stats:
        why = f"{sum(stats.values()):,} lines skipped (" + ", ".join(f"{k} {v:,}" for k, v in sorted(stats.items())) + ")"
        if stats.get("raw_frame"):
            why += ("; raw_frame: a venue's websocket frame without the recorder's receive time (`liqcore detect` and "
                    "`backtest` read those)")
    else:
        why = "no recorder lines found"
    require_usable(0, [path], reason=why + f"; --replay takes {name} recorder files (what `liqcore record --venue "
                   f"{venue}` writes)", allow_empty=allow_empty)


def _instrument_scope(args, params, venue: str, symbols: list[str]):
    """``--scope instrument``: ``(watch, detector, registry)``: the other venues' liquidation feeds
    (``(venue, their symbols of the traded instruments, URL override or None)``), the instrument-scope detector
    and the registry it shares with the engine; ``((), None, None)`` for venue scope."""
    if getattr(args, "scope", "venue") != "instrument":
        if args.trade_venue and args.trade_venue.lower() != args.venue.lower():
            raise ValueError("trade-venue: with --scope venue the trade venue is --venue")
        return (), None, None
    from liqcore.instruments import load_table
    from liqcore.live.xscope import InstrumentDetector
    from liqcore.venues.registry import venue_names
    from liqcore.strategies import resolve_strategy
    from liqcore.types import SymbolRegistry

    names = venue_names()
    if venue not in names:
        raise ValueError(f"trade-venue: unknown venue {venue!r} ({', '.join(names)})")
    strat, p = resolve_strategy(None, params)
    if strat.name != "cascade-mm":
        raise ValueError(f"scope: --scope instrument runs the detector-driven cascade-mm live; got --strategy {strat.name}")
    if args.replay:
        raise ValueError("scope: --replay serves one venue; --scope instrument needs every venue's live feed")
    venues = [v.strip().lower() for v in str(args.watch_venues).split(",") if v.strip()]
    bad = [v for v in venues if v not in names]
    if bad:
        raise ValueError(f"watch-venues: unknown venue {bad[0]!r} ({', '.join(names)})")
    urls = {}
    for item in args.venue_url:
        v, sep, url = str(item).partition("=")
        if not sep or v.strip().lower() not in names or not url:
            raise ValueError(f"venue-url: expected VENUE=URL with VENUE one of {', '.join(names)}; got {item!r}")
        urls[v.strip().lower()] = url
    table = load_table()
    watch = []
    for v in venues:
        if v == venue:
            continue
        syms = []
        for s in symbols:
            inst = table.lookup(venue, s)
            other = table.rows.get(inst, {}).get(v) if inst else None
            if other:
                syms.append(other)
        if syms:
            watch.append((v, syms, urls.get(v)))
    if not watch:
        raise ValueError(f"scope: no other venue of --watch-venues lists {','.join(symbols)}; nothing to watch")
    registry = SymbolRegistry()
    return watch, InstrumentDetector(p, registry, venue, table), registry


def web_options(args) -> dict | None:
    """``--web`` and its flags as the runner's ``web`` dict (:func:`liqcore.live.web.web_options`)."""
    from liqcore.live.web import web_options as options

    return options(args)


def build(args):
    """Engine, runner and fake-exchange thread (or None) from parsed arguments."""
    from liqcore.config import params_from_args
    from liqcore.live.engine import Engine
    from liqcore.live.feeds import stream_module
    from liqcore.live.journal import Journal
    from liqcore.live.runner import LiveRunner

    params = params_from_args(args)
    if getattr(params, "partial", False):
        raise ValueError("partial: --partial on is a backtest fill model; a live run fills whole orders on paper "
                         "and takes the venue's own fills live: run without it")
    from liqcore.live.streampath import check_live_strategy

    check_live_strategy(params)  # an unknown strategy or one without a streaming form: before anything starts
    from liqcore.commands._judge import judged_strategy
    from liqcore.strategies import resolve_strategy

    strategy = judged_strategy(args, resolve_strategy(None, params)[0], live=True)  # (liq-trend's --judge)
    from liqcore.commands._judge import check_judge

    checked = check_judge(strategy)  # an OpenAI-compatible judge: one cheap call before anything starts
    if checked:
        print(checked, flush=True)
    if args.book_symbols and args.on_demand is None:
        raise ValueError("book-symbols: the always-on list is for --on-demand")
    venue = (args.trade_venue or args.venue).lower()
    stream_module(venue)
    universe = None  # --symbols all: (the venue's instrument list, the traded part of it)
    from liqcore.commands._market import whole_market
    from liqcore.units import parse_duration

    parse_duration(args.instruments_refresh, "instruments-refresh")  # (a bad one refused, --symbols all or not)
    if whole_market(args.symbols):
        if getattr(args, "scope", "venue") == "instrument":
            raise ValueError("scope: --symbols all watches one venue's whole market; --scope instrument takes a list")
        from liqcore.commands._market import select_universe
        from liqcore.units import parse_duration

        refresh_s = parse_duration(args.instruments_refresh, "instruments-refresh") / 1e9  # (checked before it starts)
        universe = select_universe(args, venue, args.rest_url)
        symbols = universe[1].symbols
        print(f"{universe[1].describe()}: every one traded on its own rules", file=sys.stderr, flush=True)
    else:
        from liqcore.commands._market import check_list_flags

        check_list_flags(args)
        symbols = _symbols(args.symbols)
        if not args.replay:  # the live venues: a symbol they do not list brings no market data
            from liqcore.commands.inputs import warn_unknown_symbols

            warn_unknown_symbols(symbols, "; the feed may receive nothing for it", venue=venue)
    watch, detector, registry = _instrument_scope(args, params, venue, symbols)
    from liqcore.live.feeds import feed_options
    from liqcore.strategies import resolve_strategy

    strat = type(resolve_strategy(None, params)[0])
    # a strategy whose inputs this venue's live stream cannot deliver: refused before anything starts
    from liqcore.live.runner import book_needs

    # (the top of book: every --live run, and a paper run under --fill queue; the runner's feed asks the same)
    needs = frozenset(strat.needs_for(params)) | {"liquidation", "trade"} | book_needs(params.fill == "queue", args.live)
    feed_opts = feed_options(venue, needs, who=f"strategy {strat.name}")
    if getattr(args, "features", None):  # (--features: kept current from the same feed)
        from liqcore.live.runner import feature_needs

        feed_opts = feed_options(venue, needs | feature_needs(args.features), who="--features")
    # --notional is the shared parameter (quote notional per trade instead of --size x equity)
    notional = params.notional if params.notional > 0 else None
    if notional is not None and "size" in params.explicit:
        raise ValueError("notional: give either --notional or --size, not both")
    if args.metrics_port is not None and not 1 <= args.metrics_port <= 65535:
        raise ValueError(f"metrics-port: must be a TCP port, 1..65535; got {args.metrics_port}")
    from liqcore.commands._venues import check_speed

    check_speed(args.speed)
    if not args.listen_key_keepalive > 0:  # (checked with or without --live, as every option's value)
        raise ValueError(f"listen-key-keepalive: must be > 0 seconds, got {args.listen_key_keepalive:g}")
    if args.live and args.replay and venue_spec(venue).fake != "exchange":
        raise ValueError(f"live: --replay --live trades against a whole fake exchange "
                         f"({venues_where('fake', 'exchange')}); to try the {venue} order "
                         f"path offline, start `liqcore venue --venue {venue}` and run the line it prints (or drop "
                         f"--replay to trade on {venue})")
    from liqcore.live.gateways import venue_urls

    # a base (scheme://host:port) gets the venue's documented paths; a full URL is used as it is
    urls = venue_urls(venue, args.network, args.ws_url, args.rest_url, args.private_ws_url)
    ws_url, rest_url, priv_url = urls.ws, urls.rest, urls.private_ws
    if args.live and not args.replay:
        from liqcore.live.gateways import entry

        entry(venue).gateway_class()  # (a gateway this installation lacks: said before anything starts)
    fake_thread = replay_clock = None
    if args.replay:
        if spec_or_none(venue) is None:
            raise ValueError("replay: the fake venues replay the registered venues' recordings; use --venue "
                             f"{venue_list(' or ')}")
        from liqcore.testing.fake_exchange import FakeExchangeThread

        if venue_spec(venue).fake == "streams" or universe is not None:  # (the streams the run subscribes)
            subscribed = {t for sp in _feed_specs(venue, symbols, universe, args, feed_opts, None) for t in sp.topics}
        else:
            # (a venue whose whole fake exchange serves the replay: its stream part's topics of the symbols)
            subscribed = venue_spec(venue).part("stream").topics(symbols, tickers=bool(feed_opts.get("tickers")))
        source = _replay_source(args, symbols, venue, subscribed)
        # a replay runs on the replayed receive times (cooldowns, timeouts, loss limits, decisions), paper and
        # --live alike, like a backtest of the same recording
        from liqcore.testing.fake_replay import Lockstep, ReplayClock

        # (Binance, OKX: the source holds only the subscribed streams' frames)
        replay_clock = ReplayClock(topics=subscribed if venue_spec(venue).fake == "exchange" else None)
        source = replay_clock.wrap(source)
        if venue_spec(venue).fake == "streams":
            from liqcore.venues.fake_streams import FakeMarketStream

            fake_thread = FakeExchangeThread(FakeMarketStream, venue=venue, replay=source, speed=args.speed or None)
            ws_url = fake_thread.start().ws_url
        else:
            # --live: the fake venue's matching engine on the replay's clock and in step with the engine
            # (liqcore.testing.fake_replay.Lockstep: the same orders and fills at any load; the engine's side
            # of the step is set below, once the engine and its gateway exist)
            if args.live:  # (served by the run's own loop: a step costs no thread switch)
                from liqcore.testing.fake_exchange import FakeExchangeInLoop

                fake_thread = FakeExchangeInLoop(venue_spec(venue).part("fake").FAKE, replay=source,
                                                 speed=args.speed or None,
                                                 lockstep=Lockstep(replay_clock), venue_clock_ms=replay_clock.venue_ms)
            else:
                fake_thread = FakeExchangeThread(venue_spec(venue).part("fake").FAKE, replay=source,
                                                 speed=args.speed or None)
            fx = fake_thread.start()
            ws_url, rest_url, priv_url = fx.public_ws_url, fx.rest_url, fx.private_ws_url
    gateway = None
    if args.live:  # the venue's order gateway (liqcore.live.gateways: each venue's gateway part, through the registry)
        from liqcore.live.gateways import load_keys, make_gateway
        from liqcore.secrets import register_secret
        from liqcore.secrets import Credentials, Secret

        if fake_thread is not None:
            creds = Credentials(Secret(fake_thread.fx.api_key), Secret(fake_thread.fx.api_secret), "fake exchange")
        else:
            creds = load_keys(venue, key_file=args.key_file)
        for v in (creds.api_key, creds.api_secret, creds.passphrase):
            if v is not None:
                register_secret(v.reveal())
        gateway = make_gateway(venue, creds, args.network, rest_url=rest_url, private_ws_url=priv_url,
                               symbols=symbols, ping_interval=params.ping_interval_ns / 1e9,
                               stale_after=params.stall_timeout_ns / 1e9,
                               listen_key_keepalive=args.listen_key_keepalive)
    journal_path = args.journal or ("liqcore-live.sqlite" if args.live and fake_thread is None else None)
    journal = None
    if journal_path and not args.read_only:
        # one engine per journal (a second run refuses, naming the holder); the intent log under a lease, so
        # another program opening it makes this run leave the map before the file can shrink under it
        try:
            journal = Journal(journal_path, exclusive=True, lease=True)
        except BaseException:
            if fake_thread is not None:
                fake_thread.stop()
            raise
    engine = Engine(params, venues=[venue, *(v for v, _, _ in watch)], gateway=gateway, journal=journal,
                    symbols=symbols, equity=args.equity, notional=notional, kill_switch=args.kill_switch,
                    strategy=strategy, registry=registry, detector=detector)
    from liqcore.commands._market import list_rules

    rules = universe[1].rules if universe is not None else list_rules(args, venue, symbols)
    if rules is not None:  # every order on its symbol's rules from the venue's list; no rules, no order
        engine.order_manager.use_only(rules)
    listing = None
    if universe is not None:  # a cascade on a symbol the instrument list does not hold: no_instrument
        engine.listed = {engine.registry.id(venue, s) for s in universe[0].rules}
        if universe[0].contract:  # OKX: every listed swap's contract size (its sizes come in contracts)
            engine.decoder(venue).set_instruments(universe[0].contract)
        listing = _listing_watch(args, engine, venue, universe, refresh_s)
    if args.read_only:
        engine.kill_switch.manual = True  # (SIGUSR1 would turn it off: a read-only run keeps it on)
        engine.kill_switch.toggle = lambda: True
    engine.replay_clock = replay_clock
    if getattr(replay_clock, "step", None) is not None:  # --replay --live: the engine's side of the step
        replay_clock.step.idle = _engine_idle(engine, fake_thread.fx)
        replay_clock.step.process = engine.on_frame
    if gateway is None and replay_clock is None and venue_spec(venue).public_clock:
        # paper trading on the venue's data: event times are judged against its clock (public time endpoint):
        # --rest-url's, else the network's -- unless the feed is not the network's (--ws-url without
        # --rest-url): its clock is then unknown, and asking the network's would ask a venue the run never
        # connected to
        import functools

        spec = venue_spec(venue)  # (its public_clock: its gateway part's public_clock_offset(rest base))
        if rest_url or not ws_url:
            engine.venue_clock = functools.partial(spec.part("gateway").public_clock_offset,
                                                   rest_url or spec.part("stream").REST_ENDPOINTS[args.network])
        else:
            logging.getLogger("liqcore.run").info(
                "venue clock: --ws-url without --rest-url: event times are judged by this machine's clock "
                "(give --rest-url to judge them by the venue's)")
    if args.record:
        from liqcore.live.recorder import Recorder

        engine.recorder = Recorder(args.record)
    if args.seed_history:
        from pathlib import Path

        for path in args.seed_history:
            if not Path(path).exists():
                raise ValueError(f"seed-history: {path} does not exist")
        seeded = engine.seed_history(args.seed_history)
        from liqcore.io import require_usable

        require_usable(sum(seeded.values()), args.seed_history, allow_empty=args.allow_empty,
                       reason=f"no {venue} liquidation received before now to seed the thresholds from")
    runner = LiveRunner(engine, venue, symbols, ws_url=ws_url, network=args.network, metrics_port=args.metrics_port,
                        on_demand=None if args.on_demand is None else {
                            "always": _symbols(args.book_symbols) if args.book_symbols else [], "linger_s": args.on_demand,
                            "rest_url": rest_url},
                        web=web_options(args),
                        specs=_feed_specs(venue, symbols, universe, args, feed_opts, ws_url) if universe else None,
                        dashboard=not args.no_dashboard and sys.stdout.isatty(), install_signals=True,
                        features=getattr(args, "features", None) or (), watch=watch,
                        ping_interval_s=params.ping_interval_ns / 1e9, stall_timeout_s=params.stall_timeout_ns / 1e9,
                        # (a replay's streams are whatever the recording holds: not watched for silence)
                        silent_after_s=0.0 if args.replay else params.silent_after_ns / 1e9,
                        book_depth=args.book == "depth", rest_url=rest_url)
    runner.listing = listing
    if listing is not None:
        listing.runner = runner  # (its traded symbols and data on demand follow the list)
        # a delisted symbol's streams (Bybit: its liquidations; its trades and book of --also): unsubscribed
        listing.on_left = lambda syms: runner.feed.remove_topics(runner.feed.symbol_topics(syms))
    if listing is not None and venue_spec(venue).per_topic_subscriptions:  # a new listing's liquidation topic: on
        topic = venue_spec(venue).part("market").liquidation_topic  # a connection with room left
        listing.on_joined = lambda syms: runner.feed.add_topics([topic(s) for s in syms])
    return engine, runner, fake_thread


def _engine_idle(engine, fx):
    """Whether the engine trading a replay on the fake venue ``fx`` has nothing on its way: its orders written
    and answered, its deferred bookkeeping done and every private push the venue wrote read (the step of a
    ``--replay --live``: :class:`liqcore.testing.fake_replay.Lockstep`)."""
    om = engine.order_manager
    stream = getattr(engine.gateway, "stream", None)  # (the Bybit gateway's private stream)

    def idle() -> bool:
        if om.tasks or om.inflight or om.pending or om.books_q:
            return False
        if stream is not None:
            st = stream.stats
            return st["frames"] + st["duplicates"] >= fx.stats["private_data_sent"]
        return True
    return idle


def _listing_watch(args, engine, venue: str, universe, every_s: float):
    """``--instruments-refresh``: the instrument list asked again every ``every_s`` while running
    (:class:`liqcore.live.listing.ListingWatch`), or None (0: never)."""
    if every_s <= 0:
        return None
    from liqcore.commands._market import fetch_selection
    from liqcore.live.listing import ListingWatch

    return ListingWatch(engine, venue, lambda: fetch_selection(args, venue, args.rest_url, max_age_s=every_s / 2),
                        *universe, interval_s=every_s, delisted=args.delisted)


def _feed_specs(venue: str, symbols, universe, args, feed_opts: dict, url):
    """The market-data connections of the run: ``--symbols all``: the venue's all-market liquidation stream
    (:func:`liqcore.market.streams.whole_market_specs`) and the --also symbols' trades; a list: its streams."""
    if universe is None:
        from liqcore.live.feeds import stream_module

        return stream_module(venue).connection_specs(symbols, url=url, network=args.network, **feed_opts)
    from liqcore.commands._market import symbol_list
    from liqcore.market.streams import whole_market_specs

    also = symbol_list(args.also)
    if args.replay and args.on_demand is not None:  # every symbol's trades on the one feed, gated on replay time
        also = list(dict.fromkeys([*also, *symbols]))  # (liqcore.live.ondemand: OnDemand.gate)
    return whole_market_specs(venue, symbols, also, url=url, network=args.network,
                              book=bool(feed_opts.get("book")), tickers=bool(feed_opts.get("tickers")))


async def _stop_after_replay(fx, engine, stop: asyncio.Event, settle_s: float = 1.0, linger: bool = False) -> None:
    """Set ``stop`` once the fake exchange has sent the whole replay and no frame arrived for ``settle_s``
    (``linger``, the web dashboard's replay: say so and keep serving the final state until a signal or
    ``--duration``)."""
    while fx.replay_done is None or not fx.replay_done.is_set():
        await asyncio.sleep(0.1)
    last, quiet = -1, 0.0
    while quiet < settle_s:
        await asyncio.sleep(0.1)
        n = sum(engine.frames.values())
        quiet = quiet + 0.1 if n == last else 0.0
        last = n
    if linger:
        print("replay finished: the web dashboard keeps the final state until Ctrl-C (or --duration)",
              file=sys.stderr, flush=True)
        return
    stop.set()


async def _run(runner, engine, fake_thread, duration):
    """The runner until ``duration``, a signal, or (a replay) the end of the recording."""
    from liqcore.venues.gateway import GatewayError

    stop = asyncio.Event()
    watcher = listing = None
    if fake_thread is not None:
        watcher = asyncio.ensure_future(_stop_after_replay(fake_thread.fx, engine, stop, linger=runner.web is not None))
    if getattr(runner, "listing", None) is not None:  # --symbols all: the instrument list refreshed
        listing = asyncio.ensure_future(runner.listing.run(stop))
    try:
        try:
            summary = await runner.run(duration=duration, stop=stop)
        except GatewayError:  # (the venue refused the key at start: its sessions closed before the one line)
            if engine.gateway is not None:
                try:
                    await engine.gateway.close()
                except Exception:  # noqa: BLE001 - the start's own error is the one reported
                    pass
            raise
        if listing is not None:
            summary["instruments"] = runner.listing.summary()
        return summary
    finally:
        for task in (watcher, listing):
            if task is not None:
                task.cancel()


#: the loggers whose lines are said on stderr also when ``--log`` sends the JSON log to a file: a feed that cannot
#: connect, a silent stream, a venue's ban of this IP (and each signal skipped in it), an open position left
#: without its take-profit or stop-loss (each line names the venue and the reason)
_NOTICES = ("liqcore.transport.connect", "liqcore.feeds.silent", "liqcore.governor", "liqcore.protection")


def run(args) -> int:
    import errno
    import faulthandler
    import sqlite3

    from liqcore.cli import install_uvloop
    from liqcore.venues.gateway import GatewayError

    if not faulthandler.is_enabled():  # a fatal signal (SIGSEGV, SIGBUS, ...) leaves its traceback on stderr
        faulthandler.enable()
    from liqcore.live.logging import setup_json_logging, teardown_json_logging

    if args.duration is not None and not args.duration > 0:
        raise ValueError("duration: must be positive seconds")
    if getattr(args, "book", "top") == "depth" and args.replay:
        raise ValueError("book: --book depth reads the venue's depth as it streams (with the snapshots it asks for); "
                         "a replay serves the recording's frames alone: run the replay with --book top")
    from liqcore.commands.outputs import output_file

    output_file(args.journal or ("liqcore-live.sqlite" if args.live and not args.replay else None), "--journal")
    output_file(args.log, "--log")
    log_handler = setup_json_logging(args.log, args.log_level)
    notices = None
    if args.log:  # the log goes to a file: a feed that cannot connect is still said on stderr
        notices = logging.StreamHandler(sys.stderr)
        notices.setFormatter(logging.Formatter("warning: %(message)s"))
        for name in _NOTICES:  # (a silent stream, a venue's ban, a position left unprotected too)
            logging.getLogger(name).addHandler(notices)
    try:
        install_uvloop()  # (before build: a --replay --live venue is served by the run's own loop)
        engine, runner, fake_thread = build(args)
        if args.features:  # the engine keeps them current from the stream; the runner's snapshot shows them
            from liqcore.features.live import LiveFeatures

            engine.features = LiveFeatures(args.features, engine.registry, params=engine.params)
        try:
            own = getattr(fake_thread, "runner", None)  # (FakeExchangeInLoop: the venue's loop is the run's)
            summary = (own.run if own is not None else asyncio.run)(_run(runner, engine, fake_thread, args.duration))
        finally:
            if engine.journal is not None:
                engine.journal.close()
            if engine.recorder is not None:
                engine.recorder.close()
            if fake_thread is not None:
                fake_thread.stop()
            if getattr(engine.strategy, "runner", None) is not None:
                engine.strategy.runner.close()
        if engine.recorder is not None and isinstance(summary, dict):
            # the recorder's last flush happens at close, after the runner's summary: it can be the write that
            # fails (a disk that fills in the last second), so the summary takes the recorder's final state
            summary["recorder"] = runner.recorder_summary()
        from liqcore.commands._judge import judge_line, judge_summary

        judged = judge_summary(engine.strategy)
        if judged is not None:
            summary["judge"] = judged
    except sqlite3.Error as exc:  # the journal's own cause (e.g. "database or disk is full"), one line
        print(f"liqcore run: error: {exc}", file=sys.stderr)
        return 1
    except GatewayError as exc:  # the venue refused the key, or its order API cannot be reached: one line
        from liqcore.live.logging import redact

        print("liqcore run: error: " + redact(" ".join(str(exc).split())), file=sys.stderr)
        return 1
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE or (args.web and exc.errno in (errno.EADDRNOTAVAIL, errno.EACCES)):
            print(f"liqcore run: error: --web {args.web}: cannot bind: {exc.strerror or exc}", file=sys.stderr)
            return 1
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"liqcore run: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    finally:
        teardown_json_logging(log_handler)
        if notices is not None:
            for name in _NOTICES:
                logging.getLogger(name).removeHandler(notices)
    for k, v in (getattr(args, "replay_rejects", None) or {}).items():  # lines the replay skipped
        summary.setdefault("rejects", {})[f"replay_{k}"] = v
    if args.json:
        print(orjson.dumps(summary, option=orjson.OPT_SERIALIZE_NUMPY).decode())
    else:
        print(summary_line(summary))
        if summary.get("judge"):
            from liqcore.commands._judge import judge_line

            print(judge_line(summary["judge"]))
    sd = summary.get("shutdown") or {}
    for u in sd.get("unconfirmed") or []:
        print(f"NOT CONFIRMED CANCELLED (may still rest at the venue): {u['symbol']} {u['client_id']} "
              f"({u['reason']})", file=sys.stderr)
    for u in sd.get("unreconciled") or []:
        print(f"NOT RECONCILED (the venue reports {u['venue_filled']:g} filled, {u['booked']:g} booked; the next "
              f"start settles it): {u['symbol']} {u['client_id']} ({u['reason']})", file=sys.stderr)
    rec = summary.get("recorder") or {}
    if rec.get("error"):  # --record lost frames (e.g. a full disk): said once in the log, counted, a failed run
        print(f"liqcore run: error: --record: cannot write {rec['error']}: {rec['unwritten']} lines not written",
              file=sys.stderr)
        return 1
    failure = summary.get("feed_failure")
    if failure and summary.get("interrupted"):  # the user's Ctrl-C cut the run short: not a feed that failed
        print("note: interrupted before the feed delivered market data: no cascade could be seen", file=sys.stderr)
    elif failure and args.replay and args.allow_empty and "never connected" not in failure:
        # an empty replay the user allowed: the fake venue had no market data to send
        print(f"warning: {failure} (--allow-empty)", file=sys.stderr)
    elif failure:  # a run that never saw the market failed at its job
        print(f"liqcore run: error: {failure}", file=sys.stderr)
        return 1
    return 0


def summary_line(summary: dict) -> str:
    """The one-line text summary: ``fills=4 (entry 2, exit 2)`` tells entry fills from exit fills."""
    fk = summary["fills_by_kind"]
    from liqcore.live.runner import symbols_text
    from liqcore.venues.registry import quote_of

    # the account's equity in the venue's quote currency (the unit said: a bare 9993.90 names none)
    quote = quote_of(summary["venue"])

    line = (f"{summary['mode']} {summary['venue']} {symbols_text(summary['symbols'])}: frames={summary['frames']} "
            f"cascades={summary['cascades']} orders={summary['orders']} "
            f"fills={summary['fills']} (entry {fk['entry']}, exit {fk['exit']}) trades={len(summary['trades'])} "
            f"equity={summary['equity']:.2f} {quote} gaps={summary['gaps']} coverage={100 * summary['coverage']:.2f}% "
            f"errors={summary['errors']}")
    for w in summary.get("watch") or []:  # --scope instrument: the other venues' liquidation feeds
        line += f" watched {w['venue']} {','.join(w['symbols'])}: frames={w['frames']}"
    if (summary.get("decided") or {}).get("no_instrument"):  # cascades on symbols without trading rules
        line += f" no_instrument={summary['decided']['no_instrument']} (cascades refused: no trading rules)"
    dropped = {k: v for k, v in (summary.get("rejects") or {}).items() if "implausible" in k and v}
    if dropped:
        line += " dropped: " + ", ".join(f"{k} {v:,}" for k, v in sorted(dropped.items()))
    if summary["halted"]:
        line += f" ENTRIES HALTED: {summary['halted']}"
    rec = summary.get("recorder") or {}
    if rec.get("unwritten"):
        line += f" RECORD LINES NOT WRITTEN: {rec['unwritten']}"
    if summary.get("frame_handler_errors"):  # a venue's (a plugin's) frame handler failed: its frames passed on
        line += f" frame_handler_errors={summary['frame_handler_errors']}"
    for name, text in (summary.get("alarms") or {}).items():
        line += f" ALARM {name}: {text}"
    return line

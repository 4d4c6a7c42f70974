"""Before going live: one table of what the venue, the key and the account say (``liqcore preflight``).

    liqcore preflight --venue bybit --symbols ETHUSDT,SOLUSDT --notional 50             # public checks only
    liqcore preflight --venue bybit --symbols ETHUSDT --key-file ~/.bybit.keys --notional 50
    liqcore preflight --venue binance --symbols ETHUSDT --fill queue --json
    liqcore preflight --venue okx --symbols ETHUSDT --key-file ~/.okx.keys --notional 50   # + OKX_API_PASSPHRASE

Checks (``liqcore.live.preflight``): the REST base answers; this machine's clock against the venue's server
time, within the bound its signing needs; every public stream the live run would subscribe (the strategy's
inputs, trades and the top of book, as ``liqcore run --live`` subscribes them) delivers a first frame within ``--timeout``; each symbol's smallest order
against ``--notional``; with a key: its permissions (trading on; withdrawals on is a warning), the position and
margin modes, each symbol's leverage, and the account's maker and taker fees against the strategy's
``maker-fee-bps`` / ``taker-fee-bps`` (the guide's edge needs a maker fee of at most 2 bps).

Keys come from ``--key-file`` (mode 0600) or the environment (``BYBIT_API_KEY`` / ``BYBIT_API_SECRET``,
``BINANCE_...``, ``OKX_...`` and ``OKX_API_PASSPHRASE``), never from the command line; they are never printed.
Exit status 1 when any check FAILs (the table names it), 0 otherwise (warnings included).
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass

from liqcore.secrets import Secret, mask_key
from liqcore.commands._venues import venue_list, venues_where
from liqcore.venues.registry import venue_spec
from liqcore.types import DEFAULT_VENUE

HELP = "before going live: streams, clock skew, REST, key permissions, modes, leverage, fees, minimum order sizes"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from liqcore.config import add_param_arguments
    from liqcore.units import parse_duration

    def duration(text: str) -> float:
        try:
            return parse_duration(text, "timeout") / 1e9
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    p.add_argument("--venue", default=DEFAULT_VENUE, metavar="VENUE",
                   help=f"the venue: {venue_list(' | ')} (the registered venues, plugins' included; default "
                        f"{DEFAULT_VENUE})")
    p.add_argument("--symbols", default="ETHUSDT", help="comma-separated symbols the run would trade (default ETHUSDT)")
    p.add_argument("--key-file", metavar="FILE", help="0600 file with the venue's API key and secret, <VENUE>_API_KEY "
                                                      "and <VENUE>_API_SECRET (and <VENUE>_API_PASSPHRASE on "
                                                      f"{venues_where('needs_passphrase')}); default: the environment")
    p.add_argument("--network", default="mainnet", choices=("mainnet", "testnet", "demo"))
    p.add_argument("--ws-url", metavar="URL", help="public websocket URL as `liqcore run --ws-url` takes it: a full URL "
                                                "(e.g. wss://127.0.0.1:8443/<the venue's path>) or a scheme://host:port "
                                                "base the venue's paths are appended to")
    p.add_argument("--rest-url", metavar="URL", help="REST base (scheme://host:port)")
    p.add_argument("--private-ws-url", metavar="URL", help="private websocket base (as `liqcore run` takes it; "
                                                           "not connected by these checks)")
    p.add_argument("--spot-rest-url", metavar="URL", help="a venue whose key's restrictions are read from its spot "
                                                          "API: that REST base (default: --rest-url, else the venue's "
                                                          "spot host)")
    p.add_argument("--timeout", type=duration, default=10.0, metavar="DUR",
                   help="how long each stream may take to deliver its first frame, and each request (default 10s)")
    p.add_argument("--json", action="store_true", help="the rows as JSON")
    add_param_arguments(p, groups=("strategy", "execution", "risk"))


@dataclass(frozen=True, repr=False)
class _WithPassphrase:
    """OKX credentials: the key, its secret and its passphrase (each a Secret: none prints)."""

    api_key: Secret
    api_secret: Secret
    passphrase: Secret

    def __repr__(self) -> str:
        return f"Credentials(api_key={mask_key(self.api_key)!r}, api_secret=Secret('***'), passphrase=Secret('***'))"


def _credentials(venue: str, key_file):
    """The venue's credentials, or None when none are given at all; ValueError (one line) on a bad file."""
    import os

    from liqcore.secrets import KEY_FILE_ENV, load_credentials

    prefix = venue.upper()
    if key_file is None and not (os.environ.get(f"{prefix}_API_KEY") or os.environ.get(f"{prefix}_API_SECRET")
                                 or os.environ.get(KEY_FILE_ENV)):
        return None
    creds = load_credentials(venue, key_file=key_file)
    if not venue_spec(venue).needs_passphrase:
        return creds
    from liqcore.secrets import load_named_secret

    name = f"{venue.upper()}_API_PASSPHRASE"  # (the name liqcore.secrets.load_credentials reads it by)
    passphrase = load_named_secret(name, key_file)
    if passphrase is None:
        raise ValueError(f"{name}: {venue} keys need their passphrase (in --key-file or the environment)")

    return _WithPassphrase(creds.api_key, creds.api_secret, passphrase)


def run(args) -> int:
    import orjson

    from liqcore.commands._market import traded_symbols
    from liqcore.config import params_from_args
    from liqcore.secrets import register_secret
    from liqcore.venues.registry import venue_names
    from liqcore.live.preflight import preflight
    from liqcore.strategies import resolve_strategy

    venue = str(args.venue).lower()
    if venue not in venue_names():
        raise ValueError(f"venue: expected one of {', '.join(venue_names())}; got {args.venue!r}")
    symbols = traded_symbols(args.symbols)
    params = params_from_args(args)
    strat = type(resolve_strategy(None, params)[0])
    # the streams `liqcore run --live` would subscribe for this strategy (its inputs, trades, the top of book)
    from liqcore.live.runner import book_needs

    needs = frozenset(strat.needs_for(params)) | {"liquidation", "trade"} | book_needs(params.fill == "queue", True)
    from liqcore.live.feeds import feed_options

    feed_options(venue, needs, who=f"strategy {strat.name}")  # (a kind the venue cannot deliver: one line)
    creds = _credentials(venue, args.key_file)
    if creds is not None:
        for v in (creds.api_key, creds.api_secret, getattr(creds, "passphrase", None)):
            if v is not None:
                register_secret(v.reveal())
    notional = params.notional if params.notional > 0 else None
    from liqcore.live.gateways import venue_urls

    # the URLs as `liqcore run` takes them: a full URL as it is, a scheme://host:port base with the venue's paths
    urls = venue_urls(venue, args.network, args.ws_url, args.rest_url, args.private_ws_url)
    ws_url = args.ws_url if args.ws_url is None else urls.ws
    rows = asyncio.run(preflight(venue, symbols, ws_url=ws_url, rest_url=args.rest_url, network=args.network,
                                 creds=creds, timeout_s=args.timeout, notional=notional, needs=needs,
                                 maker_fee_bps=params.maker_fee_bps, taker_fee_bps=params.taker_fee_bps,
                                 spot_rest_url=args.spot_rest_url))
    failed = [r for r in rows if r.status == "FAIL"]
    if args.json:
        print(orjson.dumps({"venue": venue, "symbols": symbols, "ok": not failed,
                            "rows": [r.to_dict() for r in rows]}).decode())
    else:
        from rich.console import Console
        from rich.table import Table

        console = Console(file=sys.stdout, width=max(Console(file=sys.stdout).width, 160))
        t = Table(title=f"preflight {venue} {','.join(symbols)}: {len(rows)} checks, "
                        f"{len(failed)} failed, {sum(r.status == 'WARN' for r in rows)} warnings")
        for col in ("check", "target", "result", "detail"):
            t.add_column(col, overflow="fold")
        style = {"PASS": "green", "WARN": "yellow", "FAIL": "bold red", "SKIP": "dim"}
        for r in rows:
            t.add_row(r.check, r.target, f"[{style[r.status]}]{r.status}[/]", r.detail)
        console.print(t)
    if failed:
        names = "; ".join(f"{r.check} {r.target}" for r in failed[:5]) + ("; ..." if len(failed) > 5 else "")
        print(f"liqcore preflight: error: {len(failed)} check{'' if len(failed) == 1 else 's'} failed: {names}",
              file=sys.stderr)
        return 1
    return 0

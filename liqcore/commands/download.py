"""``liqcore download``: the venues' public archives or tardis.dev's datasets, into a dataset or a directory.

Sources, ``--dataset`` / ``--out``, retries, resuming and the tardis.dev key: docs/how-to/get-data.md,
"`liqcore download`".

May import: the layers below the command line (``download``, ``secrets``, ``config``) and this
package's shared ``outputs``.
"""
from __future__ import annotations

import os

import argparse
import sys

from liqcore.commands._venues import venues_where
from liqcore.types import DEFAULT_VENUE

HELP = "download the venues' public archives or tardis.dev datasets into a dataset or a directory"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from liqcore.download.sources import SOURCES

    p.add_argument("source", choices=list(SOURCES), help="where from")
    p.add_argument("--symbols", required=True, help="comma list, as the source names them (BTCUSDT, BTC-USDT-SWAP)")
    p.add_argument("--types", default=None,
                   help="comma list of file types (default: the source's first: aggTrades, trades, liquidations)")
    p.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD", help="first UTC day")
    p.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD", help="last UTC day (included)")
    p.add_argument("--dataset", default=None, metavar="DS", help="convert into the partitioned dataset DS")
    p.add_argument("--out", default=None, metavar="DIR", help="keep the files as downloaded in DIR")
    p.add_argument("--exchange", default=None, help=f"tardis: the exchange id, as tardis.dev names it (e.g. {DEFAULT_VENUE})")
    p.add_argument("--key-file", default=None, metavar="FILE", help="tardis: a 0600 file holding the API key")
    p.add_argument("--base-url", default=None, metavar="URL", help="the source's address (a mirror)")
    split = [s for s in SOURCES.values() if s.markets]
    p.add_argument("--market", default="usd-m", choices=list(dict.fromkeys(m for s in split for m in s.markets)),
                   help=f"{', '.join(s.name for s in split)}: USD-M (linear, default) or COIN-M (coin-margined, "
                        "inverse) futures")
    p.add_argument("--monthly", action="store_true",
                   help=f"{', '.join(s.name for s in SOURCES.values() if s.monthly)}: monthly files for the types "
                        "that have them (a month's events in memory)")
    p.add_argument("--jobs", type=int, default=4, help="downloads at a time (default 4, at most 64)")
    p.add_argument("--retries", type=int, default=5,
                   help="retries of a file on 429, 5xx or a cut connection (default 5, at most 100)")
    p.add_argument("--backoff", default="1s", metavar="DUR",
                   help="first wait before a retry when the server sends no Retry-After, doubled each time (default 1s)")
    p.add_argument("--timeout", default="60s", metavar="DUR", help="connect and read timeout (default 60s)")
    p.add_argument("--strict", action="store_true", help="a file the source does not have (404) is an error")
    p.add_argument("--lock-wait", default="10m", metavar="DUR",
                   help="with --dataset: how long to wait while another process writes the dataset (default 10m)")
    p.add_argument("--feed-latency", default="0", metavar="DUR",
                   help="receive time = event time + this, for files without receive times (default 0)")
    p.add_argument("--instruments", default=None, metavar="FILE",
                   help="contract values of instruments liqcore does not ship (swaps of "
                        f"{venues_where('sizes_in_contracts')})")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args) -> int:
    from liqcore.config import parse_duration
    from liqcore.download import download
    from liqcore.download.sources import parse_day

    if bool(args.out) == bool(args.dataset):
        raise ValueError("out: give exactly one of --dataset DS or --out DIR")
    from liqcore.download.run import check_jobs, missing_dirs, remove_empty

    check_jobs(args.jobs, args.retries)  # (before any directory is made)
    for opt in ("backoff", "timeout", "lock_wait", "feed_latency"):  # every duration, whatever the source or output
        parse_duration(getattr(args, opt), opt.replace("_", "-"))

    made = missing_dirs(args.out or args.dataset)  # made below; not left behind empty (a failed run)
    try:
        return _run(args)
    finally:
        remove_empty(made)


def _run(args) -> int:
    from liqcore.config import parse_duration
    from liqcore.download import download
    from liqcore.download.sources import parse_day

    if args.dataset:
        from liqcore.commands.outputs import output_dir

        output_dir(args.dataset, "--dataset", url_ok=True)
    start, end = parse_day(args.start, "from"), parse_day(args.end, "to")
    key = None
    if args.source == "tardis":
        from liqcore.secrets import load_api_key

        # no key at all: tardis serves the first day of each month without one (download() says what else needs it)
        key = load_api_key("TARDIS_API_KEY", args.key_file) if args.key_file or \
            os.environ.get("TARDIS_API_KEY", "").strip() else None
    elif args.key_file:
        raise ValueError(f"key-file: {args.source} needs no key (only tardis does)")
    elif args.exchange:
        raise ValueError(f"exchange: {args.source} serves one exchange (only tardis takes --exchange)")
    from liqcore.download.sources import SOURCES

    src = SOURCES[args.source]
    if args.market != "usd-m" and not src.markets:
        split = ", ".join(s.name for s in SOURCES.values() if s.markets)
        raise ValueError(f"market: {args.source} serves one market (only {split} takes --market)")
    summary = download(
        args.source, args.symbols.split(","), (args.types or "").split(","), start, end,
        dataset=args.dataset, out=args.out, exchange=args.exchange, base_url=args.base_url, jobs=args.jobs,
        retries=args.retries, backoff_s=parse_duration(args.backoff, "backoff") / 1e9,
        timeout_s=parse_duration(args.timeout, "timeout") / 1e9, strict=args.strict, monthly=args.monthly,
        api_key=key, lock_wait=parse_duration(args.lock_wait, "lock-wait") / 1e9,
        feed_latency_ns=parse_duration(args.feed_latency, "feed-latency"), instruments=args.instruments,
        progress=not args.no_progress, market=args.market if src.markets else None)
    for line in summary.lines():
        print(line, file=sys.stderr)
    if not summary.ok:
        bad = len(summary.refused) + len(summary.failed)
        print(f"liqcore download: error: {bad} file(s) refused or failed (named above); run again to retry them",
              file=sys.stderr)
        return 1
    return 0

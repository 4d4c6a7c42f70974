"""The go-live checklist of a session, from its journal.

    liqcore journal liqcore-live.sqlite                      # text report
    liqcore journal liqcore-live.sqlite --json               # one JSON object
    liqcore journal session.sqlite --recording rec/          # + live fills beside the fill model on the
                                                             #   session's recorded frames (run --record)
    liqcore journal session.sqlite --recording rec/ --explain  # + every order lined up, the pnl gap decomposed
    liqcore journal session.sqlite --web :8080               # the session's view on the web dashboard

Cascades per UTC day per symbol, fill rate, win rate, reaction time (decision to create request written,
decision to the venue's acknowledgement: p50/p99), the fee the venue charged beside the fee model, and
(with ``--recording``) every live entry fill beside the one the backtest's fill model gives on the same
frames with the session's parameters; with ``--explain``, every order lined up live vs backtest and the
pnl gap decomposed (missed fills, extra fills, price, fees, timing: liqcore.live.explain).

A row that cannot be read (its data not a JSON object, a field the report reads of the wrong type) is left out
and counted: the report says how many of which table and type (``left_out`` in the JSON, with a warning on
stderr) and judges the rest; so do ``--explain`` (its rows counted with the report's) and ``--web`` (a warning on
stderr, ``left_out`` in the view, an alarm line on the page).
"""
from __future__ import annotations

import argparse
import sys

import orjson

from liqcore.commands._web import add_web_arguments

HELP = "the go-live checklist of a session's journal: cascades/day, fill and win rate, reaction, fees, live vs model"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", metavar="PATH", help="the session's SQLite journal (liqcore run --journal)")
    p.add_argument("--recording", nargs="+", metavar="PATH",
                   help="the session's recorded frames (liqcore run --record DIR, or liqcore record): replayed "
                        "through the backtest's fill model and compared fill by fill")
    p.add_argument("--explain", action="store_true",
                   help="with --recording: line up every order live vs backtest (filled in both, live only, backtest "
                        "only; price, latency, queue position) and decompose the pnl gap into missed fills, extra "
                        "fills, price, fees and timing (USD)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_web_arguments(p, "serve the session's view on the web dashboard (default host 127.0.0.1) until Ctrl-C")


def serve(args) -> int:
    """``--web``: the finished session's view (the journal's tables, read once), served until SIGINT/SIGTERM."""
    import asyncio
    import signal

    from liqcore.io import NoUsableInput
    from liqcore.live.web import WebDashboard, announce, web_options
    from liqcore.live.web_journal import journal_view

    opts = web_options(args)
    try:
        view = journal_view(args.path)
    except ValueError as exc:  # not a journal: one line, as the report's
        raise NoUsableInput(str(exc)) from None
    if view.get("left_out"):
        _warn_left_out(args.path, view["left_out"], "view")

    async def main() -> None:
        web = WebDashboard(lambda: view, opts["host"], opts["port"], token=opts["token"], ssl_context=opts["ssl"])
        url = await web.start()
        announce(url, opts, f" (the session in {args.path}; Ctrl-C stops)")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await web.stop()

    try:
        asyncio.run(main())
    except OSError as exc:
        print(f"liqcore journal: error: --web {args.web}: cannot bind: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


def _warn_left_out(path, left: list[dict], what: str) -> None:
    """One line on stderr: the journal's rows that could not be read, left out of the ``what``."""
    from liqcore.live.journal_rows import left_out_text

    print(f"liqcore journal: warning: {path}: left out {left_out_text(left)}; the {what} is of the other rows",
          file=sys.stderr)


def run(args) -> int:
    from pathlib import Path

    from liqcore.io import NoUsableInput
    from liqcore.live.report import format_report, journal_report

    if Path(args.path).is_dir():
        raise ValueError(f"journal: {args.path} is a directory, not a journal file "
                         "(the file liqcore run --journal wrote)")
    if not Path(args.path).exists():
        raise ValueError(f"journal: {args.path} does not exist")
    for r in args.recording or ():
        if not Path(r).exists():
            raise ValueError(f"recording: {r} does not exist")
    if (args.web_token_file or args.web_cert or args.web_key) and not args.web:
        raise ValueError("web: --web-token-file and --web-cert/--web-key need --web [HOST:]PORT")
    if args.web:
        return serve(args)
    if args.explain and not args.recording:
        raise ValueError("explain: needs the session's recording (--recording DIR) to replay through the backtest")
    try:
        rep = journal_report(args.path, recording=args.recording, explain=args.explain)
    except ValueError as exc:
        raise NoUsableInput(str(exc)) from None
    if rep.get("left_out") and args.json:  # (the text report says it in its second line; the JSON in "left_out")
        _warn_left_out(args.path, rep["left_out"], "report")
    if args.json:
        sys.stdout.write(orjson.dumps(rep, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS).decode() + "\n")
    else:
        print(format_report(rep))
        if rep.get("explain") is not None:
            from liqcore.live.explain import format_explain

            format_explain(rep["explain"])
    return 0

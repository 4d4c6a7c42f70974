"""Convert recordings to the event contract as Parquet (or CSV).

    liqcore convert PATH... --out FILE.parquet [--format F] [--feed-latency DUR] [--strict]

Columns: ts_event_ns, ts_recv_ns (int64), venue, symbol, kind, side (strings), price, qty (float64),
flags (uint8); readable by pandas, polars, duckdb and ``liqcore.io.load_events``.  An --out ending in
.csv writes the contract CSV instead.
"""
from __future__ import annotations

import argparse
import sys

HELP = "convert recordings to the event contract as Parquet"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from liqcore.commands.inputs import add_recording_arguments, add_time_arguments

    add_recording_arguments(p)
    add_time_arguments(p)
    p.add_argument("--out", required=True, metavar="FILE", help="output .parquet (or .csv) file")
    p.add_argument("--kind", default=None, help="keep only these kinds (comma list)")
    p.add_argument("--symbol", default=None, help="keep only these symbols (comma list)")


def run(args) -> int:
    from liqcore.commands.inputs import load_recordings, select, selection_label, time_window
    from liqcore.commands.outputs import output_file
    from liqcore.io import require_events, save_events

    output_file(args.out, "--out")
    start, end = time_window(args)
    result = load_recordings(args)
    events = select(result.events, result.registry, kind=args.kind, symbol=args.symbol, start=start, end=end)
    require_events(result, args.paths, allow_empty=args.allow_empty, usable=len(events),
                   selection=selection_label(kind=args.kind, symbol=args.symbol, start=args.start, end=args.end))
    path = save_events(events, args.out, registry=result.registry)
    print(result.summary(), file=sys.stderr)
    print(f"wrote {len(events)} events to {path}", file=sys.stderr)
    return 0

"""Convert recordings to the event contract as Parquet (or CSV), or into a partitioned dataset.

    liqcore convert PATH... --out FILE.parquet [--format F] [--feed-latency DUR] [--strict]
    liqcore convert PATH... --dataset DIR [--force]

Columns: ts_event_ns, ts_recv_ns (int64), venue, symbol, kind, side (strings), price, qty (float64),
flags (uint8); readable by pandas, polars, duckdb and ``liqcore.io.load_events``.  An --out ending in
.csv writes the contract CSV instead.

--dataset DIR writes a hive-partitioned Parquet dataset, DIR/venue=V/symbol=S/date=YYYY-MM-DD/
(UTC dates of the event times), one file at a time.  Converting more files (a new day's recording)
adds partitions; rows of a partition that already exists are merged with it, exact duplicates
removed, so converting the same data twice never duplicates it.  Files already converted unchanged
(same path, size and modification time, kept in DIR/_liqcore_manifest.json) are skipped; --force
converts them again.  backtest, sweep and walkforward read such a directory with --symbols, --start
and --end, opening only the partitions they need.
"""
from __future__ import annotations

import argparse
import sys

HELP = "convert recordings to the event contract as Parquet, or into a partitioned dataset"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from liqcore.commands.events import add_load_arguments

    add_load_arguments(p)
    p.add_argument("--out", default=None, metavar="FILE", help="output .parquet (or .csv) file")
    p.add_argument("--dataset", default=None, metavar="DIR",
                   help="add the events to the partitioned dataset in DIR (venue / symbol / date)")
    p.add_argument("--force", action="store_true", help="with --dataset: convert files already converted, too")
    p.add_argument("--kind", default=None, help="keep only these kinds (comma list)")
    p.add_argument("--symbol", default=None, help="keep only these symbols (comma list)")


def run(args) -> int:
    if bool(args.out) == bool(args.dataset):
        raise ValueError("out: give exactly one of --out FILE or --dataset DIR")
    if args.dataset:
        from liqcore.commands.outputs import output_dir
        from liqcore.config import parse_duration

        output_dir(args.dataset, "--dataset")
        from liqcore.dataset import convert_to_dataset

        latency = parse_duration(args.feed_latency, "feed-latency")
        kinds = [k.strip() for k in args.kind.split(",") if k.strip()] if args.kind else None
        if kinds:
            from liqcore.venues.common import KIND_BY_NAME

            bad = [k for k in kinds if k not in KIND_BY_NAME]
            if bad:
                raise ValueError(f"kind: unknown kind(s) {', '.join(bad)}")
        syms = [s.strip() for s in args.symbol.split(",") if s.strip()] if args.symbol else None
        res = convert_to_dataset(args.paths, args.dataset, format=args.format, feed_latency_ns=latency,
                                 strict=args.strict, instruments=args.instruments, force=args.force,
                                 kinds=kinds, symbols=syms)
        print(f"converted {len(res['converted'])} file(s), skipped {len(res['skipped'])} already converted; "
              f"{res['rows_added']} new rows in {res['partitions']} partition(s) of {args.dataset}", file=sys.stderr)
        if res["rejects"]:
            print("rejects: " + ", ".join(f"{k}={v}" for k, v in sorted(res["rejects"].items())), file=sys.stderr)
        return 0
    from liqcore.commands.events import load_from_args, select, selection_label
    from liqcore.io import require_events, save_events

    from liqcore.commands.outputs import output_file

    output_file(args.out, "--out")
    result = load_from_args(args)
    events = select(result, args.kind, args.symbol)
    require_events(result, args.paths, allow_empty=args.allow_empty, usable=len(events),
                   selection=selection_label(kind=args.kind, symbol=args.symbol))
    path = save_events(events, args.out, registry=result.registry)
    print(result.summary(), file=sys.stderr)
    print(f"wrote {len(events)} events to {path}", file=sys.stderr)
    return 0

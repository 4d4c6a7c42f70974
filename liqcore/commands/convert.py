"""Convert recordings to the event contract as Parquet (or CSV).

    liqcore convert PATH... --out FILE.parquet [--format F] [--feed-latency DUR] [--strict]
    liqcore convert PATH... --dataset DIR [--kind K] [--symbol S] [--start T] [--end T] [--force] [--lock-wait DUR]

Columns: ts_event_ns, ts_recv_ns (int64), venue, symbol, kind, side (strings), price, qty (float64),
flags (uint8), trade_id (int64: the venue's trade id, 0 for none); readable by pandas, polars, duckdb
and ``liqcore.load_events``.  An --out ending in .csv writes the contract CSV instead.

--out and --dataset may be URLs (s3://bucket/ds, gs://..., any fsspec URL; credentials from the
environment, profile files or --storage-option KEY=VALUE), and so may the recordings.

--dataset adds the events to a partitioned dataset, one writer at a time: a second convert into the
same dataset waits (saying for which process) up to --lock-wait, then fails naming it.  Of several
files, one that cannot be read is skipped with a warning naming it (--strict: an error).

--kind, --symbol, --start and --end keep the same events with either output (--start/--end: received in
[start, end)); a selection that keeps no event fails as "no usable events" with either (--allow-empty: a
warning).  The dataset's manifest records a file converted with a selection as converted for that selection
only: the same convert again skips it, one with another selection or none takes it again (the rows already in
the dataset are not added twice).  --force and --lock-wait are for --dataset: with --out they are refused
(--out writes its file anew every time).
"""
from __future__ import annotations

import argparse
import os
import sys

HELP = "convert recordings to the event contract as Parquet"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from liqcore.commands.inputs import add_recording_arguments, add_time_arguments

    add_recording_arguments(p)
    add_time_arguments(p)
    p.add_argument("--out", default=None, metavar="FILE", help="output .parquet (or .csv) file")
    p.add_argument("--dataset", default=None, metavar="DIR",
                   help="add the events to the partitioned dataset in DIR (venue / symbol / date)")
    p.add_argument("--force", action="store_true",
                   help="with --dataset: convert files already converted, too (refused with --out, which always "
                        "writes its file anew)")
    p.add_argument("--lock-wait", default=None, metavar="DUR",
                   help="with --dataset: how long to wait while another process writes the dataset, then fail "
                        "(e.g. 0 to fail at once, 1h; default 10m)")
    p.add_argument("--kind", default=None, help="keep only these kinds (comma list)")
    p.add_argument("--symbol", default=None, help="keep only these symbols (comma list)")
    from liqcore.commands.inputs import add_mapping_arguments

    add_mapping_arguments(p)  # after the command's own --kind / --venue, which then say the rows' kind / venue


def run(args) -> int:
    from liqcore.commands.inputs import load_recordings, select, selection_label, time_window
    from liqcore.commands.outputs import output_file
    from liqcore.io import require_events, save_events
    from liqcore.units import parse_duration

    # --lock-wait's value checked first, alike with --dataset, --out or neither (then refused with --out)
    lock_wait = parse_duration("10m" if args.lock_wait is None else args.lock_wait, "lock-wait") / 1e9
    if bool(args.out) == bool(args.dataset):
        raise ValueError("out: give exactly one of --out FILE or --dataset DIR")
    start, end = time_window(args)  # (checked alike for either output)
    if args.dataset:
        return _to_dataset(args, (start, end), lock_wait)
    if args.force:
        raise ValueError("force: --force is for --dataset (convert files the dataset already holds again); "
                         "--out writes its file anew every time")
    if args.lock_wait is not None:
        raise ValueError("lock-wait: --lock-wait is for --dataset (waiting for another writer of the dataset)")
    output_file(args.out, "--out", url_ok=True)
    result = load_recordings(args)
    keep = select(result.events, result.registry, kind=args.kind, symbol=args.symbol, start=start, end=end,
                  mask=True)
    events, tids = result.events, result.trade_ids  # the venues' trade ids, kept alike
    if not keep.all():  # a selection: cut (no copy of the whole file when every event is kept)
        events, tids = events[keep], (tids[keep] if tids is not None else None)
    require_events(result, args.paths, allow_empty=args.allow_empty, usable=len(events),
                   selection=selection_label(kind=args.kind, symbol=args.symbol, start=args.start, end=args.end))
    path = save_events(events, args.out, registry=result.registry, trade_ids=tids)
    print(result.summary(), file=sys.stderr)
    print(f"wrote {len(events)} events to {path}", file=sys.stderr)
    return 0


def _to_dataset(args, span, lock_wait: float) -> int:
    """``--dataset DIR``: add the recordings to the partitioned dataset (files already converted are
    skipped by name, size, mtime and filters unless ``--force``), one writer at a time."""
    from liqcore.commands.outputs import output_dir
    from liqcore.io import storage

    fresh = not storage.is_url(args.dataset) and not os.path.exists(args.dataset)
    output_dir(args.dataset, "--dataset", url_ok=True)
    from pathlib import Path

    from liqcore.dataset.write import remove_unwritten

    try:
        code = _convert_into(args, span, lock_wait)
    except BaseException:
        if fresh:  # a failed convert leaves no dataset folder it made (the writer lock, an empty manifest)
            remove_unwritten(Path(args.dataset))
        raise
    if fresh:  # (--allow-empty) nor one that wrote nothing into it: no dataset of a manifest alone
        remove_unwritten(Path(args.dataset))
        if not os.path.exists(args.dataset):
            print(f"nothing written: {args.dataset} not created", file=sys.stderr)
    return code


def _convert_into(args, span, lock_wait: float) -> int:
    from liqcore.config import parse_duration
    from liqcore.dataset import convert_to_dataset

    latency = parse_duration(args.feed_latency, "feed-latency")
    from liqcore.commands.inputs import column_mapping, kind_names

    kinds = kind_names(args.kind) if args.kind else None
    columns = column_mapping(args)  # a homemade file's mapping (--columns): the same as --out reads it with
    from liqcore.commands.inputs import symbol_list

    syms = (symbol_list(args.symbol) or None) if args.symbol else None  # (as --out reads them: any case, no venue:)
    res = convert_to_dataset(args.paths, args.dataset, format=args.format, feed_latency_ns=latency,
                             strict=args.strict, instruments=args.instruments, force=args.force,
                             kinds=kinds, symbols=syms, lock_wait=lock_wait, columns=columns,
                             allow_empty=getattr(args, "allow_empty", False), span=span,
                             on_wait=lambda line: print(line, file=sys.stderr, flush=True))
    if res.get("mapping"):
        print(res["mapping"], file=sys.stderr)
    bad = f", {len(res['unreadable'])} unreadable (named above)" if res["unreadable"] else ""
    from liqcore.io.storage import display

    print(f"converted {len(res['converted'])} file(s), skipped {len(res['skipped'])} already converted{bad}; "
          f"{res['rows_added']} new rows in {res['partitions']} partition(s) of {display(args.dataset)}",
          file=sys.stderr)
    dup, there = res.get("duplicates", 0), res.get("rows_offered", 0) - res["rows_added"]
    if dup or there > 0:  # what was not added, and why (the one duplicate rule of loads and datasets)
        from liqcore.io.base import DUPLICATE_RULE

        print(f"not added: {dup} duplicate(s) within the files read ({DUPLICATE_RULE}), {max(there, 0)} row(s) "
              "already in the dataset (by the same rule)", file=sys.stderr)
    if res["stale_removed"]:
        print(f"removed {len(res['stale_removed'])} temporary file(s) left by interrupted writers", file=sys.stderr)
    if res["rejects"]:
        print("rejects: " + ", ".join(f"{k}={v}" for k, v in sorted(res["rejects"].items())), file=sys.stderr)
    return 0

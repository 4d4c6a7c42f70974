"""``liqcore dataset``: look after a dataset (``upgrade``: :func:`liqcore.dataset.upgrade_dataset`; ``verify``:
:func:`liqcore.dataset.verify_dataset`).  What the user
reads: ``liqcore.cli_help.DESCRIPTIONS["dataset"]``.

May import: ``orjson``, ``config`` (durations), ``dataset``, ``io.storage``, ``progress`` and this package's helpers.
"""
from __future__ import annotations

import argparse
import sys

HELP = ("look after a dataset: upgrade rewrites the partitions an older release wrote (an older format, or files "
        "without their pages' places) in the layout written now; verify judges every file against its checked mark")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("upgrade", "verify"),
                   help="upgrade: rewrite the partitions an older release wrote in the layout written now; verify: "
                        "read every file and judge it against its checked mark (exit 1 when one is damaged or gone)")
    p.add_argument("dataset", metavar="DS", help="the dataset (a directory, or a URL)")
    p.add_argument("--dry-run", action="store_true", help="only say how many partitions an upgrade would rewrite "
                                                           "(upgrade)")
    p.add_argument("--lock-wait", default="10m", metavar="DUR",
                   help="how long to wait while another process writes the dataset, then fail (e.g. 0 to fail at "
                        "once, 1h; default 10m)")
    p.add_argument("--json", action="store_true", help="print one JSON object (on stdout)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    from liqcore.commands.inputs import add_storage_arguments

    add_storage_arguments(p)


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def run(args) -> int:
    import contextlib

    import orjson

    from liqcore.config import parse_duration
    from liqcore.dataset import upgrade_dataset
    from liqcore.io.storage import display

    lock_wait = parse_duration(args.lock_wait, "lock-wait") / 1e9
    name = display(args.dataset)
    _check_not_a_file(args.dataset)
    if args.action == "verify":
        if args.dry_run:
            raise ValueError("dry-run: is for upgrade (verify writes nothing)")
        return _verify(args, name, lock_wait)
    with contextlib.ExitStack() as stack:
        res = upgrade_dataset(args.dataset, dry_run=args.dry_run, lock_wait=lock_wait,
                              progress=_progress(stack, args, "dataset upgrade (partitions)"))
    if res.get("stale_removed"):
        print(f"removed {res['stale_removed']} temporary file(s) left by interrupted writers", file=sys.stderr)
    if args.json:
        print(orjson.dumps({**res, "dataset": name, "dry_run": bool(args.dry_run)}).decode())
        return 0
    n, k = res["partitions"], res["to_rewrite"]
    if args.dry_run:
        if k:
            print(f"{name}: {k:,} of {n:,} partition(s) to rewrite ({_why(res)}; {_mb(res['bytes_before'])} of "
                  f"partition files); liqcore dataset upgrade {args.dataset} rewrites them")
        else:
            print(f"{name}: {n:,} partition(s), all in the layout written now: nothing to rewrite")
        return 0
    if not res["rewritten"]:
        print(f"{name}: {n:,} partition(s), all in the layout written now: nothing rewritten")
        return 0
    sizes = f"; {_mb(res['bytes_before'])} -> {_mb(res['bytes_after'])} of partition files" if res["bytes_before"] else ""
    print(f"{name}: {res['rewritten']:,} of {n:,} partition(s) rewritten in the layout written now "
          f"(format {res['format']}, each column chunk's pages placed){sizes}")
    return 0


def _verify(args, name: str, lock_wait: float) -> int:
    import contextlib

    import orjson

    from liqcore.dataset import verify_dataset

    with contextlib.ExitStack() as stack:
        res = verify_dataset(args.dataset, lock_wait=lock_wait, progress=_progress(stack, args, "dataset verify (files)"))
    bad = bool(res["damaged"] or res["gone"])
    if args.json:
        print(orjson.dumps({**res, "dataset": name}).decode())
        return 1 if bad else 0
    print(f"{name}: {res['files']:,} partition file(s), {_mb(res['bytes'])} read: {res['verified']:,} verified, "
          f"{len(res['damaged']):,} damaged, {len(res['changed']):,} changed, {len(res['unmarked']):,} unmarked, "
          f"{len(res['gone']):,} gone")
    for d in res["damaged"]:
        print(f"damaged: {d['file']}: row group(s) {', '.join(map(str, d['row_groups']))} not the bytes written (a "
              "byte changed on disk; reads refuse it: convert its source again with --force)")
    for what, note in (("changed", "rewritten by another tool: read the checking way"),
                       ("unmarked", "no checked mark: read the checking way"),
                       ("gone", "marked, no longer there: a read of its partition stops at it")):
        for f in res[what]:
            print(f"{what}: {f} ({note})")
    return 1 if bad else 0


def _progress(stack, args, title: str):
    """A ``progress(done, total)`` that shows a bar on stderr (opened on ``stack`` at its first call), or does nothing
    under ``--no-progress`` or ``--json``."""
    bar = [None]

    def progress(done: int, total: int) -> None:
        if args.no_progress or args.json:
            return
        if bar[0] is None:
            from liqcore.progress import progress_bar

            bar[0] = stack.enter_context(progress_bar(title, total, stderr=True))
        bar[0].advance()

    return progress


def _check_not_a_file(path: str) -> None:
    """A local ``DS`` that is a file (a recording, a Parquet file) is not a dataset: ValueError saying so (not
    "no such directory", which would send the user looking for a path that is there)."""
    from pathlib import Path

    from liqcore.io.storage import is_url

    if is_url(str(path)):
        return
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise ValueError(f"dataset: {path} is a file, not a dataset folder (a dataset is the directory that "
                         "convert --dataset, download --dataset or record --dataset writes)")


def _why(res: dict) -> str:
    from liqcore.dataset.read import FORMAT

    if res["format_before"] < FORMAT:
        return f"the dataset is of format {res['format_before']}, the writer writes format {FORMAT}"
    return "written without their pages' places, or in several files"

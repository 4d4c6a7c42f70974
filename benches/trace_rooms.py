"""The walk of a backtest through the house: which room (package, or module of ``backtest`` and
``execution``) each Python call of ``liqcore backtest DS`` is in, in call order, and how often the walk
enters each room.

    PYTHONPATH=$PWD python benches/trace_rooms.py [--days 4] [--chunk-days 1] [--read all|windows]

A synthetic market of ``--days`` days is written as a dataset in a temporary directory, then
``liqcore backtest DS`` runs in this process under ``sys.setprofile``.  An *entry* is a call whose room
differs from its caller's room; the report gives the entries per room over the whole run and over
the per-chunk loop (between the first and the last call of the chunk pass, ``fuse_chunk``), and the
room sequence of one chunk.  docs/maintainers/design.md, "How a chunk flows", quotes its figures.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import io
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PKG = os.path.join(ROOT, "liqcore") + os.sep
SPLIT = ("backtest", "execution", "dataset", "sweep", "synthetic")  # rooms seen module by module


def room_of(filename: str) -> str | None:
    if not filename.startswith(PKG):
        return None
    parts = filename[len(PKG):].split(os.sep)
    if len(parts) == 1:
        return parts[0].removesuffix(".py")
    if parts[0] in SPLIT:
        return f"{parts[0]}/{parts[1].removesuffix('.py')}"
    return parts[0]


def trace(argv: list[str]):
    """Run ``liqcore`` with ``argv`` in this process; the calls' rooms in order, with each caller's room."""
    from liqcore.cli import main

    walk: list[tuple[str, str | None, str]] = []  # (room, caller's room, function)

    def prof(frame, event, arg):
        if event != "call":
            return
        room = room_of(frame.f_code.co_filename)
        if room is None:
            return
        back = frame.f_back
        caller = None
        while back is not None and caller is None:  # the nearest liqcore caller
            caller = room_of(back.f_code.co_filename)
            back = back.f_back
        walk.append((room, caller, frame.f_code.co_name))

    sys.setprofile(prof)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            rc = main(argv)
    finally:
        sys.setprofile(None)
    return rc, walk


def entries(walk) -> collections.Counter:
    return collections.Counter(room for room, caller, _ in walk if room != caller)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=int, default=4)
    ap.add_argument("--chunk-days", type=float, default=1.0)
    ap.add_argument("--read", default="all", choices=("all", "windows"))
    a = ap.parse_args()
    from liqcore.dataset import write_dataset
    from liqcore.synthetic.market import synthetic_market

    m = synthetic_market(days=a.days, seed=5, symbols=["ETHUSDT"])
    with tempfile.TemporaryDirectory() as tmp:
        ds = os.path.join(tmp, "ds")
        write_dataset(m.events, ds, registry=m.registry)
        argv = ["backtest", ds, "--read", a.read] + (["--chunk-days", str(a.chunk_days)] if a.read == "all" else [])
        trace(argv)  # warm: kernels compiled or loaded, modules imported
        rc, walk = trace(argv)
    passes = [i for i, (_, _, fn) in enumerate(walk) if fn == "fused_chunks"]
    fuse = [i for i, (room, _, fn) in enumerate(walk) if fn == "fuse_chunk"]
    print(f"liqcore {' '.join(argv[:1] + ['DS'] + argv[2:])}: exit {rc}; {len(walk)} liqcore calls; "
          f"{len(fuse)} chunk passes (fuse_chunk calls)")
    tot = entries(walk)
    print("entries per room, whole run (a call whose room differs from its caller's):")
    for room, n in tot.most_common():
        print(f"  {n:6d}  {room}")
    if len(fuse) >= 2:
        lo, hi = fuse[0], fuse[-1]
        loop = entries(walk[lo:hi])
        print(f"entries per room between the first and the last chunk pass ({len(fuse) - 1} chunks):")
        for room, n in loop.most_common():
            print(f"  {n:6d}  {room}  ({n / (len(fuse) - 1):.1f} per chunk)")
        one = walk[fuse[-2]:fuse[-1]]
        seq = [one[0][0]] + [r for (r, c, _) in one[1:] if r != c]
        collapsed = [r for i, r in enumerate(seq) if i == 0 or r != seq[i - 1]]
        print("one chunk's walk (rooms entered, in order): " + " -> ".join(collapsed))
    del passes
    return rc


if __name__ == "__main__":
    sys.exit(main())

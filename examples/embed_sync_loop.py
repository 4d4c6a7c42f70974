"""liqcore embedded in a plain synchronous loop (no asyncio), as many scripts are written.

The script reads frames from wherever it gets them (here: recorder lines, ``{"recv_ns", "venue",
"frame"}``, from a file or standard input; the bundled sample recording when none is named), hands each
to ``Engine.on_frame`` and acts on the decisions it returns with its own code.  Nothing here needs an
event loop: the engine decides synchronously and returns.

    python examples/embed_sync_loop.py                      # the bundled sample recording
    python examples/embed_sync_loop.py recordings/x.jsonl.zst --decisions decisions.jsonl
    cat lines.jsonl | python examples/embed_sync_loop.py -

It prints one JSON line per decision, then one JSON summary line (frames, decisions, orders, and the
mean time per frame in microseconds).  Ctrl-C (or SIGTERM) stops it: it says ``interrupted`` and prints the
summary of what it read; ``--decisions`` lines are written and flushed as they happen.

Needs only the lean core: ``pip install liqcore``.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import time

import orjson

from liqcore import Engine, Params


def lines_of(path: str):
    """Recorder lines from ``path`` (``-``: standard input; ``.zst`` and ``.gz`` are decompressed)."""
    if path == "-":
        yield from sys.stdin.buffer
        return
    from liqcore.live.recorder import read_lines

    yield from read_lines(path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", nargs="?", help="recorder lines (default: the bundled sample recording; - for stdin)")
    ap.add_argument("--symbols", default="ETHUSDT", help="comma-separated traded symbols (default ETHUSDT)")
    ap.add_argument("--decisions", help="write every decision here too (one JSON object a line)")
    args = ap.parse_args(argv)
    path = args.path
    if path is None:
        from liqcore.data import sample_recording

        path = str(sample_recording())
    engine = Engine(Params(), symbols=[s.strip() for s in args.symbols.split(",") if s.strip()])
    out = open(args.decisions, "w", encoding="utf-8", buffering=1) if args.decisions else None  # (line by line)
    frames = decisions = orders = bad = 0
    spent = 0.0
    interrupted = False

    def _term(*_):  # SIGTERM stops the loop as Ctrl-C does
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, _term)
    try:
        for line in lines_of(path):
            try:
                rec = orjson.loads(line)
                frame = rec["frame"]
                recv_ns = int(rec["recv_ns"])
                venue = rec.get("venue", "bybit")
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                bad += 1  # not a recorder line: counted and skipped
                continue
            data = frame.encode() if isinstance(frame, str) else orjson.dumps(frame)
            t0 = time.perf_counter()
            got = engine.on_frame(venue, data, recv_ns)
            spent += time.perf_counter() - t0
            frames += 1
            for d in got:
                decisions += 1
                row = {"symbol": d.symbol, "cascade_id": d.cascade_id, "ts_ns": d.ts_ns, "dominant": d.dominant,
                       "action": d.action, "reason": d.reason, "side": d.side, "price": d.price, "qty": d.qty}
                if d.action == "order":
                    orders += 1  # the script's own order code goes here
                print(json.dumps(row), flush=True)
                if out is not None:
                    out.write(json.dumps(row) + "\n")
    except KeyboardInterrupt:
        interrupted = True
        print("interrupted", file=sys.stderr)
    finally:
        if out is not None:
            out.close()
    print(json.dumps({"interrupted": interrupted, "frames": frames, "bad_lines": bad, "decisions": decisions,
                      "orders": orders, "us_per_frame": round(spent / frames * 1e6, 2) if frames else None}))
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())

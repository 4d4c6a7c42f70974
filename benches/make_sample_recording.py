"""Generate liqcore/data/sample-bybit.jsonl.zst: the small Bybit recording bundled with liqcore.

A slice of the synthetic market (``liqcore.synthetic.market``, seed 7, ETHUSDT) as its Bybit v5
public frames (``allLiquidation``, ``publicTrade``, ``tickers``), written in the recorder's line format
(``{"recv_ns": ..., "venue": "bybit", "frame": {...}}``, what ``liqcore record`` writes) and compressed
with zstd.  The slice, 03:00-07:42 UTC of the market's first day, is long enough for the detector's
default 100 liquidations of history and holds two cascades that the default parameters confirm.

    python benches/make_sample_recording.py            # rewrite the bundled file
    python benches/make_sample_recording.py -o out.jsonl.zst
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import zstandard

SYMBOLS = ("ETHUSDT",)
SEED = 7
FROM_H, TO_H = 3.0, 7.7  # hours after the market's start


def generate() -> bytes:
    from liqcore.synthetic.market import DEFAULT_START_NS, synthetic_market
    from liqcore.live.recorder import frame_line

    with tempfile.TemporaryDirectory() as cache:
        market = synthetic_market(days=1, symbols=SYMBOLS, seed=SEED, cache_dir=cache)
    a = DEFAULT_START_NS + int(FROM_H * 3600e9)
    b = DEFAULT_START_NS + int(TO_H * 3600e9)
    body = b"".join(frame_line("bybit", frame, recv) for recv, frame in market.frames("bybit") if a <= recv < b)
    return zstandard.ZstdCompressor(level=19).compress(body)


def main() -> None:
    default = Path(__file__).resolve().parents[1] / "liqcore" / "data" / "sample-bybit.jsonl.zst"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--out", type=Path, default=default)
    args = ap.parse_args()
    blob = generate()
    args.out.write_bytes(blob)
    print(f"wrote {len(blob):,} bytes to {args.out}")


if __name__ == "__main__":
    main()

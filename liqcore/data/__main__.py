"""``python -m liqcore.data DIR``: copy the bundled sample recording into DIR and print its path."""
from __future__ import annotations

import argparse
import sys

from liqcore.data import SAMPLE_VENUE, copy_sample


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m liqcore.data",
                                 description=f"copy liqcore's bundled sample recording ({SAMPLE_VENUE} frames, recorder format, "
                                             "zstd) into a directory")
    ap.add_argument("dest", metavar="DIR", help="directory to copy into (created when missing)")
    args = ap.parse_args(argv)
    try:
        path = copy_sample(args.dest)
    except (OSError, ValueError) as exc:
        print(f"python -m liqcore.data: error: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Show or clear liqcore's cache of regenerable data (the synthetic markets built by ``demo``,
``backtest --synthetic``, ``sweep --synthetic`` and ``run --replay synthetic``).

    liqcore cache             # same as: liqcore cache info
    liqcore cache info        # where the cache is, how many files, how large
    liqcore cache clear       # delete them (they are rebuilt on demand)

The cache directory is ``$LIQCORE_CACHE_DIR`` when set, else the user cache directory
(``$XDG_CACHE_HOME/liqcore`` or ``~/.cache/liqcore`` on Linux, ``~/Library/Caches/liqcore`` on macOS,
``%LOCALAPPDATA%\\liqcore\\Cache`` on Windows).  Only liqcore's own files are deleted.  A
``.liqcore-cache/`` directory left in the working directory by older versions is reported and cleared too.
"""
from __future__ import annotations

import argparse
from pathlib import Path

HELP = "show where the synthetic-market cache is and how large (info), or delete it (clear)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", nargs="?", default="info", choices=("info", "clear"),
                   help="info (default): path, files and size; clear: delete the cached files")
    p.add_argument("--dir", metavar="DIR", default=None,
                   help="act on this cache directory instead of the default ($LIQCORE_CACHE_DIR or the user cache)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def run(args) -> int:
    import orjson

    from liqcore.cache import LEGACY_DIR_NAME, cache_dir, cache_info, clear_cache

    target = Path(args.dir).expanduser() if args.dir else cache_dir()
    if target.exists() and not target.is_dir():
        raise ValueError(f"dir: {target} is not a directory")
    legacy = Path.cwd() / LEGACY_DIR_NAME
    legacy_info = cache_info(legacy) if args.dir is None and legacy.resolve() != target.resolve() else None
    if legacy_info is not None and not legacy_info["files"]:
        legacy_info = None
    if args.action == "info":
        info = cache_info(target)
        out = {**info, "legacy": legacy_info}
        if args.json:
            print(orjson.dumps(out).decode())
            return 0
        print(f"cache: {info['path']}")
        print(f"  {info['files']} file(s), {_mb(info['bytes'])}" + ("" if info["exists"] else " (not created yet)"))
        if legacy_info is not None:
            print(f"older cache in the working directory: {legacy_info['path']} "
                  f"({legacy_info['files']} file(s), {_mb(legacy_info['bytes'])}); 'liqcore cache clear' removes it")
        return 0
    done = clear_cache(target)
    out = {**done, "legacy": clear_cache(legacy) if legacy_info is not None else None}
    if args.json:
        print(orjson.dumps(out).decode())
        return 0
    print(f"cleared {done['files']} file(s), {_mb(done['bytes'])} from {done['path']}")
    if out["legacy"] is not None:
        print(f"cleared {out['legacy']['files']} file(s), {_mb(out['legacy']['bytes'])} from {out['legacy']['path']}")
    return 0

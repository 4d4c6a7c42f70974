"""Show or clear liqcore's cache of regenerable data (the synthetic markets built by ``demo``,
``backtest --synthetic``, ``sweep --synthetic`` and ``run --replay synthetic``, and the dataset files' footers as
read).

The details: docs/reference/commands.md, "`liqcore cache`".

May import: ``orjson``, ``cache``, ``judge.cache`` and this package's ``inputs``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

HELP = ("the cache of synthetic markets and dataset footers: where and how large (info), delete it (clear), fit it "
        "to its cap (trim), export the judge's answers (export-judge)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", nargs="?", default="info", choices=("info", "clear", "trim", "export-judge"),
                   help="info (default): path, files, size and cap; clear: delete the cached files; "
                        "trim: delete the least recently used until the cache fits its cap; export-judge OUT: "
                        "write the judge's cached answers as a replay file (for --judge replay:OUT)")
    p.add_argument("out", nargs="?", default=None, metavar="OUT", help="export-judge: the replay file to write (JSONL)")
    p.add_argument("--judge-model", metavar="NAME", default=None, help="export-judge: only this model's answers")
    p.add_argument("--dir", metavar="DIR", default=None,
                   help="act on this cache directory instead of the default ($LIQCORE_CACHE_DIR or the user cache)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    from liqcore.commands.inputs import add_cache_max_argument

    add_cache_max_argument(p)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _state(info: dict) -> str:
    """``  2 file(s), 214.0 MB of a 1.0 GB cap`` (what the cache holds now)."""
    from liqcore.cache import format_size

    cap = info["max_bytes"]
    return (f"  {info['files']} file(s), {_mb(info['bytes'])} "
            + ("(no size cap)" if cap is None else f"of a {format_size(cap)} cap")
            + ("" if info["exists"] else " (no cache directory: nothing cached)")
            + (f"; the judge's answers {_mb(info['judge_bytes'])}" if info.get("judge_bytes") else ""))


def run(args) -> int:
    import orjson

    from liqcore.cache import LEGACY_DIR_NAME, cache_dir, cache_info, clear_cache, enforce_limit

    target = Path(args.dir).expanduser() if args.dir else cache_dir()
    if target.exists() and not target.is_dir():
        raise ValueError(f"dir: {target} is not a directory")
    legacy = Path.cwd() / LEGACY_DIR_NAME
    legacy_info = cache_info(legacy) if args.dir is None and legacy.resolve() != target.resolve() else None
    if legacy_info is not None and not legacy_info["files"]:
        legacy_info = None
    if args.action == "export-judge":
        if not args.out:
            raise ValueError("cache export-judge: give the replay file to write (liqcore cache export-judge OUT)")
        from liqcore.judge.cache import FILE_NAME, JudgeCache

        jc = JudgeCache(target / FILE_NAME)
        try:
            done = jc.export(args.out, model=args.judge_model)
        finally:
            jc.close()
        if args.json:
            print(orjson.dumps({**done, "out": str(args.out)}).decode())
            return 0
        print(f"{done['written']:,} answer(s) written to {args.out} (--judge replay:{args.out}); "
              f"{done['late']:,} late and {done['unparsable']:,} refused left out (not entered either way)")
        return 0
    if args.out is not None:
        raise ValueError(f"cache {args.action}: takes no file (only export-judge does)")
    if args.action == "info":
        info = cache_info(target)
        out = {**info, "legacy": legacy_info}
        if args.json:
            print(orjson.dumps(out).decode())
            return 0
        print(f"cache: {info['path']}")
        print(_state(info))
        if legacy_info is not None:
            print(f"older cache in the working directory: {legacy_info['path']} "
                  f"({legacy_info['files']} file(s), {_mb(legacy_info['bytes'])}); 'liqcore cache clear' removes it")
        return 0
    if args.action == "trim":
        done = enforce_limit(target)
        after = cache_info(target)
        if args.json:
            print(orjson.dumps({**done, "after": after}).decode())
            return 0
        print(f"trimmed {done['files']} least recently used file(s), {_mb(done['bytes'])} from {done['path']}")
        print(_state(after))
        return 0
    done = clear_cache(target)
    out = {**done, "legacy": clear_cache(legacy) if legacy_info is not None else None}
    after = cache_info(target)
    if args.json:
        print(orjson.dumps({**out, "after": after}).decode())
        return 0
    print(f"cleared {done['files']} file(s), {_mb(done['bytes'])} from {done['path']}")
    print(_state(after))
    if out["legacy"] is not None:
        print(f"cleared {out['legacy']['files']} file(s), {_mb(out['legacy']['bytes'])} from {out['legacy']['path']}")
    return 0

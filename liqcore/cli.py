"""``liqcore`` command line.  Each sub-command lives in ``liqcore/commands/<name>.py`` and exposes
``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``; modules are imported only
when their command runs, so ``liqcore --help`` stays fast.

This is the only place in the package that installs uvloop as the event-loop policy
(:func:`install_uvloop`, called by the asynchronous commands).
"""
from __future__ import annotations

import argparse
import functools
import importlib
import math
import re
import sys
import time

from liqcore.cli_help import DESCRIPTIONS

#: when the command started (time.monotonic()): deadlines such as --dask-timeout count from here
STARTED = time.monotonic()

COMMANDS = {
    "demo": "liqcore.commands.demo",
    "detect": "liqcore.commands.detect",
    "events": "liqcore.commands.events",
    "convert": "liqcore.commands.convert",
    "dataset": "liqcore.commands.dataset",
    "backtest": "liqcore.commands.backtest",
    "sweep": "liqcore.commands.sweep",
    "walkforward": "liqcore.commands.walkforward",
    "compare": "liqcore.commands.compare",
    "record": "liqcore.commands.record",
    "run": "liqcore.commands.run",
    "preflight": "liqcore.commands.preflight",
    "journal": "liqcore.commands.journal",
    "features": "liqcore.commands.features",
    "study": "liqcore.commands.study",
    "cache": "liqcore.commands.cache",
    "leak-audit": "liqcore.commands.leak_audit",
    "research": "liqcore.commands.research",
    "download": "liqcore.commands.download",
    "venue": "liqcore.commands.venue",
}

#: the extras a command cannot run without (``liqcore._extras``); the others run on the lean core, and
#: their optional parts (the report's charts, a Dask cluster, object storage) ask for theirs when used
COMMAND_EXTRAS = {
    "research": ("research", "plot"),
    "study": ("research",),
    "compare": ("research",),  # its intervals (scipy) and tables: every comparison with trades
    "sweep": ("sweep",),
    "walkforward": ("sweep",),
}
#: commands of which only a part needs an extra (checked when that part runs, the rest runs on the lean core):
#: command -> (the extras, the part that needs them), for the Getting started page's table
COMMAND_EXTRAS_IN_PART = {
    "features": (("research",), "the values and the bars (`--at`, `--bar`); `--list` runs on the lean core"),
}

_HELP = {
    "demo": "build the default synthetic market (30 days x 5 symbols), detect, backtest, report",
    "detect": "detect liquidation cascades in recorded events",
    "events": "print normalised events (or a per venue/symbol/kind summary) from recordings",
    "convert": "convert recordings to the event contract as Parquet",
    "dataset": "look after a dataset: upgrade rewrites the partitions an older release wrote in the layout written now",
    "backtest": "backtest the cascade strategy on recordings or a synthetic market",
    "compare": "compare every strategy in and out of sample on recordings, the default and the null synthetic market",
    "sweep": "sweep detector / strategy / execution parameters x symbols x date ranges (process pool or dask)",
    "walkforward": "walk-forward validation of a parameter grid: per-fold selection, out-of-sample runs, PBO, DSR",
    "record": "record raw websocket frames with receive times (zstd, hourly files)",
    "run": "live runner: feeds, detector, strategy, paper or the venue's order gateway, dashboard",
    "preflight": "before going live: streams, clock skew, REST, key permissions, modes, leverage, fees, minimum order sizes",
    "journal": "the go-live checklist of a session's journal: cascades/day, fill and win rate, reaction, fees, live vs model",
    "features": "named point-in-time features at given times (--at/--names, --list), or feature bars (--bar)",
    "study": "research studies: event (default), ic, heatmap, contagion, volatility, oi, microstructure, strategies, distributions, lag, regimes, lead-lag",
    "cache": ("the synthetic-market cache: where and how large (info), delete it (clear), fit it to its cap "
             "(trim), export the judge's answers (export-judge)"),
    "leak-audit": "recompute features on the input cut at sampled times; exit 1 when a value used the future",
    "research": "run every research study; --report DIR writes FINDINGS.md + an HTML page with figures and criteria",
    "download": "download the venues' public archives or tardis.dev datasets into a dataset or a directory",
    "venue": "serve a venue's local fake (REST, private and market streams) with a replayed market, to try --live offline",
}


def install_uvloop() -> bool:
    """Install uvloop's event-loop policy (CLI only). Returns False where uvloop is unavailable."""
    try:
        import asyncio

        import uvloop
    except ImportError:  # pragma: no cover - platform without uvloop
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


def _finite_float(text: str) -> float:
    """``type=float`` of every option: a float, and finite (``--equity 1e400`` is inf, ``nan`` no number at all:
    one line naming the option, not a value that every later check lets through)."""
    x = float(text)  # (not a number: argparse's own "invalid float value")
    if not math.isfinite(x):
        raise argparse.ArgumentTypeError(f"must be a finite number; got {text!r}")
    return x


def _int64(text: str) -> int:
    """``type=int`` of every option: a whole number a 64-bit integer holds (what the kernels and numpy take)."""
    x = int(text)  # (not a whole number: argparse's own "invalid int value")
    if not -(2**63) <= x < 2**63:
        raise argparse.ArgumentTypeError(f"must be a whole number from -2**63 to 2**63-1 (a 64-bit integer); "
                                         f"got {text!r}")
    return x


class _Parser(argparse.ArgumentParser):
    """An argument parser whose mistakes are one line (argparse's own prints the command's whole usage first:
    67 lines for ``backtest --seed abc``), like every other bad value; its subcommands' parsers are of it too.
    Its ``type=float`` options take finite numbers only and its ``type=int`` ones 64-bit integers
    (:func:`_finite_float`, :func:`_int64`): a command's own range check then never meets inf, NaN or a number
    that overflows the kernels."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register("type", float, _finite_float)  # (argument groups share the parser's registry)
        self.register("type", int, _int64)

    def error(self, message):
        hint = f" (see {self.prog} --help)" if " " in self.prog else ""  # a command's: where its options are
        self.exit(2, f"{self.prog}: error: {redacted(message)}{hint}\n")  # (a bad value is echoed: its secrets out)


def redacted(text) -> str:
    """``text`` as a message on stderr may show it: every URL in it without its ``user:password@`` and with its
    credential parameters' values as ``***``, and every registered secret scrubbed
    (:func:`liqcore.secrets.redact_text`).  An option's bad value is echoed (argparse's "invalid int value:
    'wss://user:pass@host'", "unrecognized arguments: ...", a command's "web: '...' is not [HOST:]PORT"): a
    credential given in it never reaches stderr in clear."""
    from liqcore.secrets import redact_text, registered_secrets

    return redact_text(text, registered_secrets())


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    from liqcore import __version__

    parser = _Parser(
        prog="liqcore",
        description="liqcore: detect, backtest and trade crypto perpetual-futures liquidation cascades.",
    )
    parser.add_argument("--version", action="version", version=f"liqcore {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, modname in COMMANDS.items():
        if only is not None and name != only:
            sub.add_parser(name, help=_HELP[name], add_help=False)
            continue
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name != modname:
                raise
            continue
        p = sub.add_parser(name, help=getattr(mod, "HELP", _HELP[name]),
                           description=DESCRIPTIONS.get(name, getattr(mod, "__doc__", None)),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


_NEGATIVE_VALUE = re.compile(r"^-\.?[0-9]")


def attach_negative_values(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """``--offset -1%`` -> ``--offset=-1%``: argparse takes a value that starts with ``-`` and is not
    a plain number (``-1%``, ``-5ms``, ``-2bps``) for an option, so every option that takes one value
    gets the next token attached when it looks like a negative number (the value is then validated)."""
    sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    cmd = next((a for a in argv if not a.startswith("-")), None)
    if sub is None or cmd not in sub.choices:
        return argv
    options = sub.choices[cmd]._option_string_actions
    out: list[str] = []
    i = 0
    while i < len(argv):
        tok = argv[i]
        action = options.get(tok)
        if (action is not None and action.nargs is None and i + 1 < len(argv)
                and _NEGATIVE_VALUE.match(argv[i + 1]) and argv[i + 1] not in options):
            out.append(f"{tok}={argv[i + 1]}")
            i += 2
            continue
        if tok == "--":
            out.extend(argv[i:])
            break
        out.append(tok)
        i += 1
    return out


#: commands that stop gracefully on SIGINT in their own event loop (no forced-exit deadline)
OWN_STOP = ("run", "record")


def main(argv: list[str] | None = None) -> int:
    """Run one command; Ctrl-C is handled the same way for every command (:mod:`liqcore.interrupt`):
    "interrupted" on stderr, exit 130 within a second."""
    from liqcore.interrupt import GRACE_S, InterruptGuard, is_interrupt

    entry = argv is None  # the process's own command (console script, python -m liqcore)
    argv = list(sys.argv[1:] if argv is None else argv)
    cmd = next((a for a in argv if not a.startswith("-")), None)
    with InterruptGuard(cmd if cmd in COMMANDS else None, None if cmd in OWN_STOP else GRACE_S,
                        own_process=entry and cmd not in OWN_STOP) as guard:
        try:
            code = _main(argv)
            if entry:  # from here a Ctrl-C (however late: the exit's steps, the interpreter's) ends the process
                guard.command_ended(functools.partial(_settle_outputs, code))  # at once: "interrupted", 130
        except KeyboardInterrupt:
            code = 130
        except BaseException as exc:  # an interrupt wrapped in another error is still an interrupt
            if entry and isinstance(exc, SystemExit) and not is_interrupt(exc):  # --help, --version, a usage
                code = _exit_status(exc)  # error (said): its status, the process ended as every command's
                guard.command_ended()
            elif not is_interrupt(exc):
                _settle_outputs(0)  # a crash (a traceback follows): its outputs kept as they are, for its report
                raise
            else:
                guard.say_interrupted()
                code = 130
        code = guard.exit_code(code)
        _settle_outputs(code)
        if entry and guard.interrupted and cmd not in OWN_STOP:
            guard.exit_now()  # 130 now: the interpreter's teardown of a large heap can take seconds
        if entry:  # the process ends with the command's code after the interpreter's exit steps, never its teardown
            guard.exit_at_end(code)  # (which resets SIGINT to the system's default: a Ctrl-C there said nothing)
        return code


def _exit_status(exc: SystemExit) -> int:
    """The process's exit status for ``exc`` as the interpreter gives it (a message: said on stderr, 1)."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(redacted(exc.code), file=sys.stderr)
    return 1


def _settle_outputs(code: int) -> None:
    """After a command: the output directories it created and left empty are removed when it was interrupted
    or failed (a Ctrl-C leaves no empty ``--report`` / ``--out`` behind); kept when it succeeded."""
    outputs = sys.modules.get("liqcore.commands.outputs")
    if outputs is None:  # (no output path was prepared)
        return
    if code:
        outputs.remove_empty_outputs()
    else:
        outputs.forget_created_outputs()


def _main(argv: list[str]) -> int:
    try:
        return _run_command(argv)
    except ImportError as exc:  # an extra that is not installed: one line naming it, exit 1
        from liqcore._extras import missing_extra_of

        missing = missing_extra_of(exc)
        if missing is None:
            raise
        cmd = next((a for a in argv if not a.startswith("-")), None)
        print(f"liqcore {cmd}: {missing}" if cmd in COMMANDS else f"liqcore: {missing}", file=sys.stderr)
        return 1


def _run_command(argv: list[str]) -> int:
    cmd = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(only=cmd if cmd in COMMANDS else None)
    args, extra = parser.parse_known_args(attach_negative_values(parser, argv))
    if extra:  # argparse's own error, with the nearest option of the command for each unknown one
        sub = _subparser(parser, getattr(args, "command", None))
        parser.error(f"unrecognized arguments: {' '.join(extra)}{_did_you_mean(sub or parser, extra)}")
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    if args.command in COMMAND_EXTRAS:  # checked before any work: a missing extra costs nothing
        from liqcore._extras import require

        require(*COMMAND_EXTRAS[args.command])
    from liqcore.interrupt import is_interrupt
    from liqcore.io import NoUsableInput

    try:
        if getattr(args, "synthetic_only", None) and not getattr(args, "synthetic", True):
            raise ValueError(args.synthetic_only)  # --seed, --preset, ... without --synthetic: refused, not ignored
        if getattr(args, "cache_max", None) is not None:  # --cache-max: this process and its workers
            import os

            from liqcore.cache import MAX_ENV_VAR, parse_size

            parse_size(args.cache_max)
            os.environ[MAX_ENV_VAR] = args.cache_max
        if getattr(args, "storage_option", None):  # --storage-option: the file systems of URLs (never printed)
            from liqcore.io import storage

            storage.set_options(args.storage_option)
            if getattr(args, "scheduler", None) or getattr(args, "dask", None) not in (None, "local"):
                print("note: --storage-option applies to this process; the dask workers read the store with "
                      "the credentials and endpoint of their own environment", file=sys.stderr)
        urls = [v for v in [*(getattr(args, "paths", None) or []), getattr(args, "dataset", None),
                            getattr(args, "out", None)] if isinstance(v, str) and "://" in v]
        if urls:  # the object store's package loaded once, before any worker process forks
            from liqcore.io import storage

            storage.preload(urls)
        return int(args._run(args) or 0)
    except NoUsableInput as exc:  # the input yields no usable events: say why, exit 1
        print(f"liqcore {args.command}: error: {redacted(exc)}", file=sys.stderr)
        return 1
    except ValueError as exc:  # bad input or parameters: a clear message, not a traceback (a value it echoes:
        if is_interrupt(exc):  # its secrets out)
            raise
        print(f"liqcore {args.command}: error: {redacted(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `liqcore events ... | head`
        return 0
    except OSError as exc:  # a full disk, a file system error: one line naming the path, not a traceback
        if is_interrupt(exc):
            raise
        print(f"liqcore {args.command}: error: {redacted(os_error_line(exc, args))}", file=sys.stderr)
        return 1


def _subparser(parser: argparse.ArgumentParser, name) -> argparse.ArgumentParser | None:
    sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    return sub.choices.get(name) if sub is not None and name else None


def _did_you_mean(parser: argparse.ArgumentParser, extra: list[str]) -> str:
    """``" (did you mean --sample?)"`` for the unknown options of ``extra`` close to one of ``parser``'s."""
    import difflib

    names = [o for o in parser._option_string_actions if o.startswith("--")]
    hints = []
    for tok in extra:
        if not tok.startswith("--"):
            continue
        near = difflib.get_close_matches(tok.split("=", 1)[0], names, n=1, cutoff=0.6)
        if near:
            hints.append(f"{tok.split('=', 1)[0]} -> {near[0]}" if len(extra) > 1 else near[0])
    return f" (did you mean {', '.join(hints)}?)" if hints else ""


#: the output flags a command may have, in the order a message names them when an error has no path
_OUTPUT_FLAGS = ("out", "dataset", "report", "plot", "journal", "record", "log")


def os_error_line(exc: OSError, args=None) -> str:
    """One line for an OSError: a full disk (ENOSPC, EDQUOT) says "no space left" and names the
    path (the error's own, else the command's output flag); other errors give the system's reason
    and the path they name."""
    from liqcore._atomic import is_disk_full

    full = is_disk_full(exc)
    path = exc.filename or exc.filename2
    where = None
    if path is None and full and args is not None:  # a write without a path: the output being written
        for flag in _OUTPUT_FLAGS:
            value = getattr(args, flag, None)
            if isinstance(value, str) and value:
                path, where = value, f"--{flag}"
                break
    at = f" {path}" if path is not None else ""
    at += f" (the output of {where})" if where else ""
    if full:
        return f"no space left on device writing{at}; the outputs already complete were kept"
    reason = " ".join((exc.strerror or str(exc) or type(exc).__name__).split())  # one line
    return f"{reason}:{at}" if at else reason


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The synthetic market's own options (``--days``, ``--seed``, ``--preset``, ``--knob``) given with recordings or a
dataset were ignored in silence by every command but ``backtest --days``: each is now refused in one line naming
it, before any work (exit 2), by every command that takes recordings or ``--synthetic``; with ``--synthetic`` they
are parsed as before (``--knob`` repeatable)."""
from __future__ import annotations

import pytest

from liqcore.cli import build_parser, main

_COMMANDS = ("backtest", "sweep", "features", "research", "compare", "walkforward", "study", "leak-audit")
_OPTIONS = {"--seed": (["3"], "seed: only with --synthetic (the synthetic market's seed; got --seed 3)"),
            "--preset": (["null"], "preset: only with --synthetic (a named synthetic market; got --preset null)"),
            "--knob": (["vol_liq=2", "--knob", "impact=1"],
                       "knob: only with --synthetic (a synthetic-market knob; got --knob vol_liq=2 --knob impact=1)"),
            "--days": (["5"], "days: only with --synthetic (the synthetic market's length in days; got --days 5); "
                              "recordings and datasets are cut in time with --start / --end")}


@pytest.mark.parametrize("command", _COMMANDS)
@pytest.mark.parametrize("option", sorted(_OPTIONS))
def test_a_synthetic_option_with_recordings_is_refused(command, option, tmp_path, capsys):
    rec = tmp_path / "missing-recording.parquet"  # (refused before any read: the file is never looked at)
    value, line = _OPTIONS[option]
    argv = [command, str(rec), option, *value]
    if command == "sweep":
        argv += ["--grid", "offset=0.1%,0.2%"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"liqcore {command}: error: {line}"], err


def test_with_synthetic_they_parse_as_before():
    args = build_parser(only="backtest").parse_args(
        ["backtest", "--synthetic", "--seed", "3", "--preset", "null", "--knob", "a=1", "--knob", "b=2", "--days", "2"])
    assert (args.seed, args.preset, args.knob, args.days) == (3, "null", ["a=1", "b=2"], 2.0)
    plain = build_parser(only="backtest").parse_args(["backtest", "--synthetic"])
    assert (plain.seed, plain.preset, plain.knob) == (7, None, [])


def test_their_defaults_with_recordings_are_not_refused(tmp_path, capsys):
    args = build_parser(only="sweep").parse_args(["sweep", str(tmp_path / "x.parquet"), "--symbols", "ETHUSDT"])
    assert getattr(args, "synthetic_only", None) is None  # (nothing given: nothing for liqcore.cli to refuse)
    assert args.seed == 7 and args.knob == []

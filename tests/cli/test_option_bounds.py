"""Numbers out of range are one-line errors naming the option and the range, never a traceback: infinite, NaN,
huge and beyond-int64 durations, counts and times (``--window 1e400``, ``--history 99999999999999999999``,
``--start 99999999999999999999999``), feature bars that would not fit in memory (``--bar 1ms``), and the
misleading messages of an output on /proc, ``dataset upgrade FILE`` and an unreadable ``--instruments`` file."""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from liqcore.cli import main
from liqcore.units import DURATION_MAX_NS, INT64_MAX, parse_duration, parse_whole

#: the out-of-range numbers tried on every numeric option
HUGE = ("1e400", "-1e400", "nan", "1e30", "99999999999999999999")


@pytest.fixture
def liq_csv(tmp_path) -> Path:
    """A small tardis liquidations file: 60 rows of BTCUSDT, one every 30 minutes (1.2 days)."""
    rows = ["exchange,symbol,timestamp,local_timestamp,id,side,price,amount"]
    t0 = 1_737_900_000_000_000
    for i in range(60):
        t = t0 + i * 1_800_000_000
        side = "sell" if i % 2 else "buy"
        rows.append(f"binance-futures,BTCUSDT,{t},{t + 50_000},,{side},{100_000 + i},{0.5 + i % 3}")
    p = tmp_path / "binance-futures_liquidations_2025-01-26.csv"
    p.write_text("\n".join(rows) + "\n")
    return p


def _rc(argv) -> int:
    """``main(argv)``'s exit status: argparse's own errors (a bad option value) exit through SystemExit."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def _err_line(capsys, command: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"liqcore {command}: error: "), err
    assert "Traceback" not in err[0]
    return err[0]


# ---- the parsers ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["1e400", "-1e400", "1e30", "99999999999999d", "99999999999999999999", "36501d",
                                   float("inf"), float("-inf"), float("nan"), 1e30, 10**30])
def test_parse_duration_refuses_what_int64_nanoseconds_cannot_hold(value):
    with pytest.raises(ValueError, match=r"^window: .*at most 36500d \(100 years\)"):
        parse_duration(value, "window")


def test_parse_duration_takes_up_to_100_years():
    assert parse_duration("36500d", "window") == DURATION_MAX_NS
    assert parse_duration(str(36500 * 86400), "window") == DURATION_MAX_NS  # (a plain number is seconds)
    assert parse_duration("0", "window") == 0 and parse_duration("50ms", "window") == 50_000_000


def test_parse_whole_stays_inside_int64():
    assert parse_whole(str(INT64_MAX), "n") == INT64_MAX
    for value in ("99999999999999999999", 2**63, "1e30", 1e30):
        with pytest.raises(ValueError, match=r"^n: must be at most 9223372036854775807 \(2\*\*63-1"):
            parse_whole(value, "n", minimum=1)
    with pytest.raises(ValueError, match=r"^n: must be at least -9223372036854775808"):
        parse_whole("-99999999999999999999", "n")
    assert parse_whole("99999999999999999999", "n", maximum=None) == 99999999999999999999  # (its caller bounds it)


@pytest.mark.parametrize("value", ["99999999999999999999999", "-99999999999999999999999", "9223372036854775808",
                                   "3000-01-01", "2262-04-12T00:00:00Z", "9" * 5000, 1e30,
                                   np.array([2**64 - 1], dtype=np.uint64)])
def test_parse_times_refuses_what_int64_nanoseconds_cannot_hold(value):
    from liqcore.features.inputs import parse_times

    with pytest.raises(ValueError, match=r"^at: .*outside the times int64 nanoseconds since the epoch hold: "
                                         r"1677-09-21T00:12:44Z to 2262-04-11T23:47:16Z"):
        parse_times(value, "at")
    assert parse_times("9223372036854775807", "at").tolist() == [INT64_MAX]
    assert parse_times("2026-01-05T13:00:00Z").tolist() == [1_767_618_000_000_000_000]


def _params_of_kind(kinds):
    """(name, spec parser) of every parameter, the shared ones and each strategy's, whose parser is of ``kinds``."""
    from liqcore.params import PARAMS, strategy_registry
    from liqcore.units import parse_nonneg_int, parse_pos_int

    out = {s.name: s.parse for s in PARAMS}
    for cls in strategy_registry().all_strategies():
        out.update({s.name: s.parse for s in cls.specs()})
    named = {"duration": (parse_duration,), "whole": (parse_pos_int, parse_nonneg_int)}
    from liqcore.params import _history

    named["whole"] += (_history,)
    want = sum((named[k] for k in kinds), ())
    return sorted(n for n, parse in out.items() if parse in want)


@pytest.mark.parametrize("name", _params_of_kind(["duration", "whole"]))
def test_every_duration_and_count_parameter_refuses_huge_values_naming_itself(name):
    from liqcore.params import Params

    assert len(_params_of_kind(["duration"])) >= 20
    for value in HUGE:
        with pytest.raises(ValueError, match=rf"^{name}: "):
            Params.from_mapping({name: value})


def test_params_nanosecond_fields_are_bounded_too():
    from liqcore.params import Params

    for value in (1e30, 10**30, DURATION_MAX_NS + 1):
        with pytest.raises(ValueError, match=r"^window: must be at most 36500d \(100 years\)"):
            Params(window_ns=value)
    with pytest.raises(ValueError, match=r"^refresh: must be at most 36500d"):
        Params.from_mapping({"refresh_ns": 10**30})  # (a TOML file's field name: nanoseconds)
    assert Params(window_ns=DURATION_MAX_NS).window_ns == DURATION_MAX_NS


def test_history_is_bounded_by_what_the_detector_allocates():
    from liqcore.params import Params

    for value in ("1000001", "1e12", "99999999999999999999", 2**31 - 1):
        with pytest.raises(ValueError, match=r"^history: must be within \[1, 1000000\]"):
            Params.from_mapping({"history": value})
    assert Params.from_mapping({"history": "1000000"}).history == 1_000_000


# ---- the command line: one line, exit 2, naming the option ------------------------------------------------------
@pytest.mark.parametrize("command,option", [
    ("detect", "--window"), ("detect", "--refresh"), ("detect", "--history"), ("detect", "--min-history"),
    ("detect", "--min-large"), ("detect", "--feed-latency"), ("detect", "--start"), ("detect", "--end"),
    ("events", "--feed-latency"), ("events", "--start"), ("events", "--end"),
    ("backtest", "--hold-timeout"), ("backtest", "--order-latency"), ("backtest", "--max-clock-skew"),
    ("backtest", "--entry-timeout"), ("backtest", "--latency-seed"), ("features", "--bar"),
])
def test_cli_out_of_range_numbers_are_one_line_naming_the_option(command, option, liq_csv, tmp_path, capsys,
                                                                 monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = option.lstrip("-")
    for value in HUGE:
        rc = main([command, str(liq_csv), f"{option}={value}"])
        line = _err_line(capsys, command)
        assert rc == 2 and line.startswith(f"liqcore {command}: error: {name}: "), (value, line)


def test_cli_audit_cases(liq_csv, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for argv, expected in (
        (["detect", str(liq_csv), "--window", "99999999999999d"], "window: must be at most 36500d (100 years)"),
        (["backtest", str(liq_csv), "--order-latency", "99999999999d"], "order-latency: must be at most 36500d"),
        (["detect", str(liq_csv), "--history", "99999999999999999999"], "history: must be within [1, 1000000]"),
        (["events", str(liq_csv), "--start", "99999999999999999999999"], "start: '99999999999999999999999' is "
                                                                          "outside the times int64 nanoseconds"),
        (["features", str(liq_csv), "--at", "99999999999999999999999", "--names", "price.return@5m"],
         "at: '99999999999999999999999' is outside the times"),
        (["detect", str(liq_csv), "--market-wide", "2", "--chance", "100001"],
         "chance: at least 20 draws, at most 100000"),
    ):
        assert main(argv) == 2, argv
        assert expected in _err_line(capsys, argv[0]), argv


# ---- feature bars that cannot fit -------------------------------------------------------------------------------
def test_features_bar_too_short_is_refused_before_allocating(liq_csv, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "f.parquet"
    assert main(["features", str(liq_csv), "--bar", "1ms", "--out", str(out), "--no-progress"]) == 2
    line = _err_line(capsys, "features")
    # 1.2 days of 1-ms bars: how many, the limit, and a bar that fits
    assert line.startswith("liqcore features: error: bar: 1ms bars over this input (1 symbol(s), up to 1.2 days each) "
                           "would be 106,200,001 bars, more than the limit of "), line
    assert re.search(r"; a --bar of \S+ or longer fits, or narrow the input", line)  # (which: by the memory left)
    assert not out.exists()


def test_features_bar_limit_is_max_bars(liq_csv, tmp_path, capsys, monkeypatch):
    import importlib

    rf = importlib.import_module("liqcore.research.features")  # (the package's name ``features`` is the function)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(rf, "MAX_BARS", 1000)
    assert main(["features", str(liq_csv), "--bar", "1m", "--no-progress"]) == 2  # 1,771 bars
    line = _err_line(capsys, "features")
    assert "would be 1,771 bars, more than the limit of 1,000 a table (about 750 bytes of memory a bar" in line, line
    assert "a --bar of 5m or longer fits" in line
    assert main(["features", str(liq_csv), "--bar", "5m", "--no-progress"]) == 0  # 355 bars
    capsys.readouterr()


# ---- messages that named the wrong reason -----------------------------------------------------------------------
@pytest.mark.skipif(not os.path.isdir("/proc/self") or not os.path.exists("/proc/self/mounts"),
                    reason="needs a Linux /proc")
@pytest.mark.parametrize("argv,expected", [
    (["convert", "{csv}", "--out", "/proc/x.parquet"], "--out: cannot write into the directory /proc: it is on the "
                                                       "proc file system, which holds no files (not a writable file "
                                                       "system)"),
    (["features", "{csv}", "--out", "/proc/x.parquet"], "cannot write into the directory /proc: it is on the proc "
                                                        "file system"),
    (["backtest", "{csv}", "--out", "/proc/bt"], "--out: cannot create the directory /proc/bt: it is on the proc file "
                                                 "system"),
])
def test_an_output_on_proc_says_why_not_no_such_file(argv, expected, liq_csv, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = [a.replace("{csv}", str(liq_csv)) for a in argv]
    assert main(argv) == 2
    line = _err_line(capsys, argv[0])
    assert expected in line and "No such file or directory" not in line, line


def test_dataset_upgrade_of_a_file_says_it_is_a_file(liq_csv, capsys):
    assert main(["dataset", "upgrade", str(liq_csv)]) == 2
    line = _err_line(capsys, "dataset")
    assert f"dataset: {liq_csv} is a file, not a dataset folder" in line and "no such directory" not in line, line


@pytest.mark.parametrize("content,why", [
    (bytes(range(256)) * 4, "cannot be read as an instrument list (not UTF-8 text, so not JSON)"),
    (b"symbol,ctVal\nBTC-USDT-SWAP,0.01\n", "cannot be read as an instrument list (not JSON: "),
    (b"", "cannot be read as an instrument list (empty)"),
    (b'{"BTC-USDT-SWAP": "x"}', "ctVal of 'BTC-USDT-SWAP' is not a number: 'x'"),
    (None, "is a directory; expected a JSON file"),
])
def test_an_unreadable_instruments_file_is_named_with_its_option(content, why, liq_csv, tmp_path, capsys):
    inst = tmp_path / "inst.csv"
    if content is None:
        inst.mkdir()
    else:
        inst.write_bytes(content)
    assert main(["events", str(liq_csv), "--instruments", str(inst)]) == 2
    line = _err_line(capsys, "events")
    assert line.startswith(f"liqcore events: error: --instruments {inst}: {why}"), line
    assert "surrogates" not in line


def test_a_missing_instruments_file_is_named_with_its_option(liq_csv, tmp_path, capsys):
    assert main(["events", str(liq_csv), "--instruments", str(tmp_path / "none.json")]) == 2
    assert _err_line(capsys, "events").endswith(f"--instruments {tmp_path / 'none.json'}: no such file")


# ---- every type=float / type=int option of every command --------------------------------------------------------
def _typed_options():
    """(command, option, type) of every option of every command that argparse converts with float or int."""
    import argparse

    from liqcore.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return [(name, a.option_strings[-1], a.type) for name, p in sub.choices.items() for a in p._actions
            if a.option_strings and a.type in (float, int)]


def test_every_float_and_int_option_is_bounded(capsys):
    typed = _typed_options()
    assert len(typed) > 40 and {t for _c, _o, t in typed} == {float, int}
    for command, option, kind in typed:
        if kind is float:
            values, want = ("1e400", "-1e400", "nan", "inf"), "must be a finite number"
        else:
            values = ("99999999999999999999", "-9223372036854775809")
            want = "must be a whole number from -2**63 to 2**63-1 (a 64-bit integer)"
        for value in values:
            assert _rc([command, f"{option}={value}"]) == 2, (command, option, value)
            line = _err_line(capsys, command)
            assert f"error: argument {option}: {want}; got '{value}'" in line, line
    # what they took before they still take: a float's finite numbers, an int's 64-bit ones, argparse's own words else
    assert _rc(["events", "--limit=abc"]) == 2 and "argument --limit: invalid int value: 'abc'" in _err_line(
        capsys, "events")
    assert _rc(["demo", "--days=x"]) == 2 and "argument --days: invalid float value: 'x'" in _err_line(capsys, "demo")


def test_strategy_bar_grid_is_bounded(tmp_path):
    from liqcore.strategies._common import MAX_GRID_BARS, bar_grid
    from liqcore.types import EVENT_DTYPE

    ev = np.zeros(2, EVENT_DTYPE)
    ev["ts_recv"] = [1_737_900_000_000_000_000, 1_737_900_000_000_000_000 + 200 * 86_400_000_000_000]
    assert len(bar_grid(ev, 60_000_000_000)) == 288_000
    with pytest.raises(ValueError, match=r"^segment: bars of 1s from the first to the last event \(200.0 days\) would "
                                         r"be 17,280,000 bar closes, more than the limit of 10,000,000 .*; "
                                         r"a --segment of 5s or longer fits$"):
        bar_grid(ev, 1_000_000_000, "segment")
    with pytest.raises(ValueError, match=r"^bar: must be at least 1s"):
        bar_grid(ev, 1)
    assert MAX_GRID_BARS == 10_000_000


def test_backtest_strategy_bar_too_short_is_one_line(liq_csv, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    trades = tmp_path / "binance-futures_trades_2025-01-26.csv"
    rows = ["exchange,symbol,timestamp,local_timestamp,id,side,price,amount"]
    t0 = 1_737_900_000_000_000
    rows += [f"binance-futures,BTCUSDT,{t0 + i * 60_000_000},{t0 + i * 60_000_000 + 1000},{i},buy,{100_000 + i},1"
             for i in range(1000)]
    trades.write_text("\n".join(rows) + "\n")
    assert main(["backtest", str(liq_csv), str(trades), "--strategy", "vol-breakout", "--bar", "1ns",
                 "--no-progress"]) == 2
    assert "error: bar: must be at least 1s (each bar close is a decision" in _err_line(capsys, "backtest")


def test_a_huge_synthetic_length_says_its_memory_in_few_digits(capsys):
    assert _rc(["demo", "--days", "1e30"]) == 2
    line = _err_line(capsys, "demo")
    assert "days: a 1e+30-day synthetic market" in line and " GiB of memory" in line, line
    assert not re.search(r"\d{10}", line), line  # (8.49e+27 GiB, not 28 digits)


# ---- options counting days, sweeps' own options, strategies' bars ----------------------------------------------
def test_parse_days_is_a_minute_to_100_years():
    from liqcore.units import parse_days

    assert parse_days("0.5", "chunk-days") == 0.5 and parse_days(0, "chunk-days", zero_ok=True) == 0.0
    assert parse_days(36500, "split-days") == 36500.0
    for value in (1e300, 1.7e308, 1e-300, 36501, -1, 0):
        with pytest.raises(ValueError, match=r"^split-days: must be from 0.000694 \(a minute\) to 36500 days"):
            parse_days(value, "split-days")
    with pytest.raises(ValueError, match=r"^chunk-days: must be 0 or from 0.000694"):
        parse_days(1e-300, "chunk-days", zero_ok=True)
    with pytest.raises(ValueError, match=r"^chunk-days: must be finite"):
        parse_days(float("nan"), "chunk-days")


@pytest.mark.parametrize("option,value,expected", [
    ("--partition-days", "1e300", "partition-days: must be from 0.000694 (a minute) to 36500 days"),
    ("--partition-days", "1e-300", "partition-days: must be from 0.000694"),  # (a 0-ns step: a loop without end)
    ("--chunk-days", "1.7e308", "chunk-days: must be 0 or from 0.000694"),
    ("--chunk-days", "1e-300", "chunk-days: must be 0 or from 0.000694"),
    ("--split-days", "1e300", "split-days: must be from 0.000694"),
    ("--split-days", "1e-300", "split-days: must be from 0.000694"),
    ("--warmup", "nan", "warmup: expected a duration"),  # (refused though no partition uses it)
    ("--warmup", "1e400", "warmup: must be a finite duration, at most 36500d"),
    ("--workers", "9223372036854775807", "workers: must be from 1 to "),  # (a pool that never starts)
    ("--end", "99999999999999999999", "end: '99999999999999999999' is outside the times int64 nanoseconds"),
    ("--days", "1e300", "days: must be a positive number of days below 1e290"),
])
def test_sweep_options_out_of_range_are_one_line(option, value, expected, liq_csv, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    src = ["--synthetic", "--days", "0.05"] if option != "--days" else ["--synthetic"]
    argv = ["sweep", *src, "--grid", "window=30s,60s", "--workers", "1", "--no-progress", f"{option}={value}"]
    assert _rc(argv) == 2, argv
    line = _err_line(capsys, "sweep")
    assert f"error: {expected}" in line, line


def test_sweep_start_end_numbers_are_nanoseconds_not_years():
    from liqcore.commands._scale import parse_time

    assert parse_time("1737900000000000000", "start") == 1_737_900_000_000_000_000  # (numpy read a year: garbage)
    assert parse_time("2026-01-05", "start") == 1_767_571_200_000_000_000
    assert parse_time("2026-01-05T12:00", "end") == 1_767_614_400_000_000_000
    for value in ("3000-01-01", "99999999999999999999"):  # (numpy wrapped them around to 1677..)
        with pytest.raises(ValueError, match=r"^start: .* is outside the times int64 nanoseconds"):
            parse_time(value, "start")


def test_synthetic_days_beyond_a_float_of_nanoseconds(capsys):
    for argv in (["backtest", "--synthetic", "--days", "1.7e308"], ["demo", "--days", "1e300"]):
        assert _rc(argv) == 2
        line = _err_line(capsys, argv[0])
        assert "days: must be a positive number of days below 1e290" in line and "t_end" not in line, line


def test_chunked_replay_refuses_a_chunk_length_out_of_range():
    from liqcore.backtest.chunked import replay_chunked
    from liqcore.params import Params
    from liqcore.strategies import get_strategy

    for days in (1e-300, 1e300):
        with pytest.raises(ValueError, match=r"^chunk-days: must be from 0.000694 \(a minute\) to 36500 days"):
            replay_chunked("no-such-dataset", Params(), get_strategy("cascade-mm")(), chunk_days=days)


def test_bar_strategies_take_bars_of_a_second_or_more():
    from liqcore.strategies._common import BarClock, check_bar

    assert check_bar(1_000_000_000) == 1_000_000_000 and BarClock(60_000_000_000).bar == 60_000_000_000
    for bar in (1, 999_999_999):
        with pytest.raises(ValueError, match=r"^segment: must be at least 1s .*; got (1ns|0.999999999s)$"):
            BarClock(bar, "segment")


@pytest.mark.parametrize("argv,expected", [
    (["record", "--venue", "binance", "--symbols", "BTCUSDT", "--out", "rec", "--flush=-1"],
     "flush: must be positive seconds; got -1"),
    (["run", "--replay", "synthetic", "--replay-days", "0.02", "--duration", "5", "--instruments-refresh=1e400"],
     "instruments-refresh: must be a finite duration, at most 36500d"),  # (refused without --symbols all too)
    (["run", "--replay", "synthetic", "--replay-days", "1e-300", "--duration", "5"], "replay-days: must be from"),
    (["run", "--replay", "synthetic", "--replay-days", "0.02", "--duration", "5", "--strategy", "vol-breakout",
      "--bar", "1ns"], "bar: must be at least 1s"),  # (the live stream revealed a billion closes a second)
    (["venue", "--venue", "bybit", "--replay", "synthetic", "--replay-days", "1e300"], "replay-days: must be from"),
    (["venue", "--venue", "bybit", "--speed", "1e-300"], "speed: must be >= 0 (0 = as fast as possible), and else "
                                                         "at least 0.001"),  # (the paced timeouts: inf)
    (["run", "--replay", "synthetic", "--replay-days", "0.02", "--duration", "5", "--speed", "1e-300"],
     "speed: must be >= 0 (0 = as fast as possible), and else at least 0.001"),
    (["run", "--replay", "synthetic", "--replay-days", "0.02", "--duration", "5", "--metrics-port",
      "9223372036854775807"], "metrics-port: must be a TCP port, 1..65535"),  # (was "Servname not supported")
    (["run", "--replay", "synthetic", "--replay-days", "0.02", "--duration", "5", "--listen-key-keepalive=-1"],
     "listen-key-keepalive: must be > 0 seconds, got -1"),  # (checked without --live too)
])
def test_live_commands_refuse_out_of_range_values_before_starting(argv, expected, tmp_path):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "liqcore", *argv], cwd=tmp_path, capture_output=True, text=True,
                       timeout=120, env=dict(os.environ, LIQCORE_CACHE_DIR=str(tmp_path / "cache")))
    err = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(err) == 1 and f"liqcore {argv[0]}: error: {expected}" in err[0], r.stderr[-2000:]


def test_the_warm_path_may_still_set_its_never_refresh():
    """The live warm path's detector copy sets ``refresh_ns=1 << 62`` (never): a copy is held to int64, the user's
    values to 100 years."""
    import dataclasses

    from liqcore.params import Params

    assert dataclasses.replace(Params(), refresh_ns=1 << 62).refresh_ns == 1 << 62
    with pytest.raises(ValueError, match=r"^refresh: must be at most 36500d"):
        Params(refresh_ns=1 << 62)


# ---- a second audit: strategies' fractions, download's jobs, convert's --lock-wait, backtest's workers, ports ---
def _strategy_fraction_specs():
    """(strategy, parameter) of every strategy parameter that is a fraction, a quantile or a rate."""
    from liqcore.params import strategy_registry

    return sorted({(cls.name, s.name) for cls in strategy_registry().all_strategies() for s in cls.specs()
                   if s.metavar in ("FRAC", "Q", "RATE")})


@pytest.mark.parametrize("strategy,name", _strategy_fraction_specs())
def test_every_strategy_fraction_is_held_to_its_range(strategy, name):
    from liqcore.params import Params

    assert len(_strategy_fraction_specs()) >= 15
    for value in ("1e30", "2", "-1e30"):
        with pytest.raises(ValueError, match=rf"^{name}: must be within [\[(]-?[01](\.5)?, 1[\])] \("):
            Params.from_mapping({name: value})
    for value in ("101%", "1e400", "nan", "inf"):
        with pytest.raises(ValueError, match=rf"^{name}: "):
            Params.from_mapping({name: value})


@pytest.mark.parametrize("strategy,option,value,expected", [
    ("liq-trend", "--purity", "1e30", "purity: must be within [0.5, 1] (the larger side's share"),
    ("liq-trend", "--purity", "0.4", "purity: must be within [0.5, 1]"),  # (a long share of 0.45 would short)
    ("liq-trend", "--purity-strong", "-1", "purity-strong: must be within [0.5, 1]"),
    ("liq-trend", "--judge-min-confidence", "1.5", "judge-min-confidence: must be within [0, 1]"),
    ("imbalance-reversal", "--extreme", "0.5", "extreme: must be within (0.5, 1]"),
    ("imbalance-reversal", "--normal", "1e30", "normal: must be within [0, 1]"),
    ("zone-bounce", "--zone-width", "0", "zone-width: must be within (0, 1)"),
    ("zone-bounce", "--zone-quantile", "9e18", "zone-quantile: must be within [0, 1] (a quantile)"),
    ("cascade-score", "--trigger-quantile", "1.01", "trigger-quantile: must be within [0, 1]"),
    ("cascade-score", "--min-liq-quantile", "-0.1", "min-liq-quantile: must be within [0, 1]"),
    ("cascade-score", "--exit-drop", "1e30", "exit-drop: must be within [0, 1]"),
    ("cascade-score", "--stop-max", "100%", "stop-max: must be within [0, 1)"),
    ("cascade-score", "--funding-neutral", "1e30", "funding-neutral: must be within [0, 1]"),
    ("cascade-score", "--proximity-range", "nan", "proximity-range: must be a finite fraction"),
    ("flush-reversal-rule", "--funding-max", "1e30", "funding-max: must be within [-1, 1]"),
])
def test_cli_strategy_fractions_out_of_range_are_one_line(strategy, option, value, expected, liq_csv, tmp_path,
                                                          capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["backtest", str(liq_csv), "--strategy", strategy, f"{option}={value}", "--no-progress"]) == 2
    line = _err_line(capsys, "backtest")
    assert f"error: {expected}" in line, line


def test_strategy_fractions_in_range_are_taken_and_shown_as_percents():
    from liqcore.params import Params
    from liqcore.strategies import get_strategy

    p = Params.from_mapping({"strategy": "liq-trend", "purity": "60%", "judge-min-confidence": 0})
    shown = get_strategy("liq-trend").describe_params(p)
    assert shown["purity"] == "60%" and shown["judge-min-confidence"] == "0%" and shown["purity-strong"] == "90%"
    assert dict(Params.from_mapping({"extreme": 1, "zone-width": "99%", "funding-max": "-0.5"}).strategy_values) \
        == {"extreme": 1.0, "zone_width": 0.99, "funding_max": -0.5}


_DOWNLOAD = ["download", "binance-vision", "--symbols", "BTCUSDT", "--from", "2024-01-01", "--to", "2024-01-01",
             "--base-url", "http://127.0.0.1:9"]


@pytest.mark.parametrize("option,value,expected", [
    ("--jobs", "9000000000000000000", "jobs: must be at least 1 and at most 64 (downloads at a time)"),
    ("--jobs", "65", "jobs: must be at least 1 and at most 64"),
    ("--jobs", "9e18", "argument --jobs: invalid int value: '9e18'"),
    ("--retries", "9223372036854775807", "retries: must be 0 or more and at most 100"),
    ("--retries", "-1", "retries: must be 0 or more and at most 100"),
    ("--backoff", "nan", "backoff: expected a duration"),
    ("--lock-wait", "1e400", "lock-wait: must be a finite duration"),  # (with --out too: checked alike)
])
def test_download_counts_are_bounded_before_any_directory_is_made(option, value, expected, tmp_path, capsys):
    out = tmp_path / "out"
    assert _rc([*_DOWNLOAD, "--out", str(out), f"{option}={value}"]) == 2
    line = _err_line(capsys, "download")
    assert f"error: {expected}" in line, line
    assert not out.exists()


@pytest.mark.parametrize("output", [["--out", "o.parquet"], ["--dataset", "ds"], []])
@pytest.mark.parametrize("value,expected", [
    ("nan", "lock-wait: expected a duration like 50ms"),
    ("1e400", "lock-wait: must be a finite duration, at most 36500d"),
    ("-1", "lock-wait: must be a non-negative duration"),
])
def test_convert_lock_wait_is_checked_alike_with_or_without_dataset(output, value, expected, liq_csv, tmp_path,
                                                                     capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["convert", str(liq_csv), *output, f"--lock-wait={value}"]) == 2
    line = _err_line(capsys, "convert")
    assert f"error: {expected}" in line, line
    assert not (tmp_path / "ds").exists() and not (tmp_path / "o.parquet").exists()


def test_convert_lock_wait_with_out_is_still_refused(liq_csv, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["convert", str(liq_csv), "--out", "o.parquet", "--lock-wait", "5s"]) == 2
    assert "error: lock-wait: --lock-wait is for --dataset" in _err_line(capsys, "convert")


@pytest.mark.parametrize("argv,expected", [
    (["backtest", "{csv}", "--workers", "9223372036854775807"], "workers: must be at most "),
    (["backtest", "{csv}", "--workers", "100000"], "workers: must be at most "),
    (["backtest", "{csv}", "--workers=-1"], "workers: must be >= 0 (0: one per core)"),
    (["detect", "{csv}", "--market-window", "nan"], "market-window: malformed window 'nan'"),  # (without --market-wide)
    (["detect", "{csv}", "--market-window", "99999999999999d"], "market-window: window '99999999999999d' is longer"),
    (["detect", "{csv}", "--chance", "50"], "chance: the null test of market-wide cascades needs --market-wide K"),
])
def test_counts_and_windows_refused_before_any_work(argv, expected, liq_csv, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = [a.replace("{csv}", str(liq_csv)) for a in argv]
    assert main(argv) == 2
    line = _err_line(capsys, argv[0])
    assert f"error: {expected}" in line, line


def test_walkforward_cscv_blocks_are_bounded(capsys):
    from liqcore.sweep.overfit import MAX_BLOCKS, pbo

    argv = ["walkforward", "--synthetic", "--days", "0.05", "--grid", "window=30s,60s", "--workers", "1",
            "--no-progress"]
    for value in ("22", "9223372036854775806", "3", "0"):
        assert _rc([*argv, f"--cscv-blocks={value}"]) == 2
        line = _err_line(capsys, "walkforward")
        assert f"error: cscv-blocks: must be an even number >= 2 and at most {MAX_BLOCKS}" in line, line
    with pytest.raises(ValueError, match=r"^pbo: blocks must be an even number >= 2 and at most 20; got 40"):
        pbo(np.zeros((40, 2)), blocks=40)  # (137,846,528,820 splits)


@pytest.mark.parametrize("value,expected", [
    ("65536", "web: port 65536 out of range 0..65535"),
    ("-1", "web: port -1 out of range 0..65535"),
    ("9223372036854775807", "web: port 9223372036854775807 out of range 0..65535"),
    ("0.0.0.0:99999999999999999999", "web: port 99999999999999999999 out of range 0..65535"),
    ("1e400", "web: '1e400' is not [HOST:]PORT"),
    ("nan", "web: 'nan' is not [HOST:]PORT"),
])
def test_journal_web_port_is_a_tcp_port(value, expected, tmp_path, capsys):
    journal = tmp_path / "j.sqlite"
    journal.write_bytes(b"")  # (the port is checked before the journal is read)
    assert main(["journal", str(journal), f"--web={value}"]) == 2
    line = _err_line(capsys, "journal")
    assert f"error: {expected}" in line, line


# ---- an option's bad value echoed on stderr: its credentials never in clear -----------------------------------
URL = "wss://alice:s3cretpw@example.invalid/ws?token=tok3n-value&x=1"


@pytest.mark.parametrize("argv,where", [
    ([*_DOWNLOAD, "--out", "o", f"--jobs={URL}"], "liqcore download: error: argument --jobs: invalid int value: "),
    (["events", f"--limit={URL}"], "liqcore events: error: argument --limit: invalid int value: "),
    (["record", "--venue", "binance", "--symbols", "BTCUSDT", "--out", "r", "--flush", URL],
     "liqcore record: error: argument --flush: invalid float value: "),
    (["events", "x.csv", f"--no-such-option={URL}"], "liqcore: error: unrecognized arguments: "),
    (["journal", "{journal}", f"--web={URL}"], "liqcore journal: error: web: "),  # (a command's own ValueError)
])
def test_an_option_error_never_shows_a_url_secret(argv, where, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "j.sqlite").write_bytes(b"")
    argv = [a.replace("{journal}", str(tmp_path / "j.sqlite")) for a in argv]
    assert _rc(argv) != 0
    err = capsys.readouterr().err
    assert where in err and "example.invalid" in err, err  # (the URL is named, without its secrets)
    assert "s3cretpw" not in err and "alice" not in err and "tok3n-value" not in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_a_registered_secret_is_scrubbed_from_an_option_error(capsys, monkeypatch):
    from liqcore import secrets

    monkeypatch.setattr(secrets, "_REGISTERED", ["kEy-0f-the-venue"])
    assert _rc(["events", "--limit=kEy-0f-the-venue"]) == 2
    err = capsys.readouterr().err
    assert "kEy-0f-the-venue" not in err and "argument --limit: invalid int value: '***'" in err, err

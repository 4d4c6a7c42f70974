"""Inputs a new user gets wrong are refused with what was meant, never silently ignored: a string of
symbols, --sample with a path, --list or --at with options they ignore, a mistyped study name, and
the plain-number durations are documented."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from liqcore.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _cli(args, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "liqcore", *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)


def _one_line(r, prefix):
    err = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(err) == 1 and err[0].startswith(prefix), r.stderr
    return err[0]


def test_engine_takes_a_string_of_symbols_as_names_not_characters():
    from liqcore.live.engine import Engine

    assert Engine(symbols="ETHUSDT").traded == [("bybit", "ETHUSDT")]
    assert Engine(symbols="ethusdt, binance:SOLUSDT").traded == [("bybit", "ETHUSDT"), ("binance", "SOLUSDT")]
    assert Engine(symbols=["ETHUSDT"]).traded == [("bybit", "ETHUSDT")]
    with pytest.raises(ValueError, match="at least one symbol"):
        Engine(symbols=" , ")


def test_detect_sample_with_a_path_is_refused_not_mixed(tmp_path):
    rec = tmp_path / "rec.csv"
    rec.write_text("")
    line = _one_line(_cli(["detect", "--sample", str(rec)], tmp_path), "liqcore detect: error: sample: ")
    assert "not both" in line and str(rec) in line
    r = _cli(["detect", "--sample", "--json"], tmp_path)
    assert r.returncode == 0 and r.stdout.count("\n") > 0


def test_features_list_refuses_what_it_would_ignore(tmp_path, capsys):
    rec = tmp_path / "rec.csv"
    rec.write_text("")
    line = _one_line(_cli(["features", str(rec), "--list"], tmp_path), "liqcore features: error: list: ")
    assert "would ignore PATH" in line
    for extra, named in ((["--synthetic"], "--synthetic"), (["--bar", "5m"], "--bar"), (["--window", "30"], "--window"),
                         (["--at", "2026-01-05T00:00:00Z"], "--at")):
        assert main(["features", "--list", *extra]) == 2
        assert f"would ignore {named}" in capsys.readouterr().err
    assert main(["features", "--list"]) == 0
    assert "liquidations.liq_imbalance@15m:zscore" in capsys.readouterr().out


def test_features_at_refuses_bar_options(tmp_path, capsys):
    at = ["features", "--synthetic", "--days", "0.2", "--symbols", "ETHUSDT", "--at", "2026-01-05T03:00:00Z",
          "--names", "flow.ofi@5m", "--no-progress"]
    line = _one_line(_cli([*at, "--bar", "1m"], tmp_path), "liqcore features: error: bar: --bar is an option of feature bars")
    assert "flow.ofi@1m" in line
    for extra in (["--lag", "5s"], ["--zscore-window", "10"], ["--sparse"], ["--out", str(tmp_path / "x.csv")]):
        assert main([*at, *extra]) == 2
        assert f"{extra[0]} is an option of feature bars" in capsys.readouterr().err
    assert main([*at, "--json"]) == 0
    assert '"flow.ofi@5m"' in capsys.readouterr().out
    # bar mode keeps its defaults
    assert main(["features", "--synthetic", "--days", "0.2", "--symbols", "ETHUSDT", "--no-progress"]) == 0
    assert "bars of 1m" in capsys.readouterr().out


def test_a_mistyped_study_name_lists_the_studies(tmp_path):
    line = _one_line(_cli(["study", "nosuch"], tmp_path), "liqcore study: error: study: 'nosuch' is neither a study")
    assert "event, ic, heatmap, contagion, volatility, oi, microstructure, strategies" in line
    assert "recordings or --synthetic" in line
    line = _one_line(_cli(["study", "contagoin", "--synthetic", "--days", "0.1"], tmp_path), "liqcore study: error: ")
    assert "did you mean 'contagion'?" in line


def test_plain_number_durations_are_documented_and_mean_seconds(capsys):
    from liqcore.config import Params, params_from_args
    from liqcore.cli import build_parser

    with pytest.raises(SystemExit):
        main(["detect", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "a plain number is seconds (--window 30 = 30s)" in out
    parser = build_parser(only="detect")
    p = params_from_args(parser.parse_args(["detect", "--window", "30"]))
    assert p.window_ns == Params(window=30).window_ns == 30_000_000_000


def test_order_latency_given_a_directory_says_it_is_one(tmp_path):
    d = tmp_path / "journals"
    d.mkdir()
    for flag in ("--order-latency", "--order-latency-from"):
        line = _one_line(_cli(["backtest", "--synthetic", "--days", "0.05", "--cache-max", "0", flag, str(d)], tmp_path),
                         f"liqcore backtest: error: {flag[2:]}: ")
        assert f"{d} is a directory" in line and "journal" in line and "does not exist" not in line


def test_config_given_a_directory_names_the_flag(tmp_path):
    line = _one_line(_cli(["backtest", "--synthetic", "--days", "0.05", "--config", str(tmp_path)], tmp_path),
                     "liqcore backtest: error: --config: ")
    assert f"{tmp_path} is a directory" in line and "TOML" in line
    grid = tmp_path / "grid"
    grid.mkdir()
    from liqcore.sweep.grid import load_grid_file

    with pytest.raises(ValueError, match=f"--grid: {grid} is a directory"):
        load_grid_file(grid)


@pytest.mark.parametrize("line, wanted", [
    ('samples = "x"', "[sweep] samples must be a whole number; got 'x'"),
    ("seed = 1.5", "[sweep] seed must be a whole number; got 1.5"),
    ('split_days = "a"', "[sweep] split_days must be a number of days"),
    ("ranges = 3", "[sweep] ranges must be a list of texts"),
    ("symbols = [1, 2]", "[sweep] symbols must be a list of texts"),
    ("end = true", "[sweep] end must be a time"),
])
def test_a_grid_files_sweep_values_are_checked_by_key(tmp_path, line, wanted):
    """A bad ``[sweep]`` value is one line naming the file and the key (it was ``invalid literal for int()``)."""
    from liqcore.sweep.grid import load_grid_file

    g = tmp_path / "g.toml"
    g.write_text(f'[grid]\noffset = ["0.1%", "0.2%"]\n[sweep]\n{line}\n')
    with pytest.raises(ValueError) as e:
        load_grid_file(g)
    assert str(e.value).startswith(f"grid: {g}: ") and wanted in str(e.value)


def test_a_grid_files_sweep_texts_are_names_not_letters(tmp_path):
    """``symbols = "BTCUSDT,ETHUSDT"`` names two symbols (it was read letter by letter); TOML dates are times;
    ``samples = 6.0`` is six."""
    from liqcore.sweep.grid import load_grid_file

    g = tmp_path / "g.toml"
    g.write_text('[grid]\noffset = ["0.1%"]\n[sweep]\nsymbols = "BTCUSDT, ETHUSDT"\nranges = "2024-01-01:2024-01-02"\n'
                 "start = 2024-01-01\nend = 2024-01-03T00:00:00Z\nsamples = 6.0\n")
    _grid, opts = load_grid_file(g)
    assert opts == {"symbols": ["BTCUSDT", "ETHUSDT"], "ranges": ["2024-01-01:2024-01-02"], "start": "2024-01-01",
                    "end": "2024-01-03T00:00:00+00:00", "samples": 6}


@pytest.mark.parametrize("name", ["rec.csv.gz", "binance-futures_liquidations_2024-08-01_BTCUSDT.csv.gz",
                                  "rec.jsonl.zst"])
def test_a_compressed_name_on_a_plain_file_names_the_file(tmp_path, name):
    f = tmp_path / name
    f.write_bytes((ROOT / "liqcore" / "data" / "sample_liquidations.csv").read_bytes())
    for cmd in ("detect", "events"):
        r = _cli([cmd, str(f)], tmp_path)
        err = r.stderr.strip().splitlines()
        assert r.returncode != 0 and len(err) == 1 and "Traceback" not in r.stderr, r.stderr
        assert str(f) in err[0] and "not a " in err[0], err[0]


def test_detect_on_an_input_without_liquidations_says_so_and_fails(tmp_path):
    """A trades file has no liquidations: no cascade can be found, so an empty table (exit 0) would
    read as "none happened"; the command says what the input holds and exits 1 (--allow-empty: 0)."""
    f = tmp_path / "binance-futures_trades_2024-08-01_BTCUSDT.csv"
    t0 = 1_722_470_400_000_000
    f.write_text("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n" + "".join(
        f"binance-futures,BTCUSDT,{t0 + i * 250_000},{t0 + i * 250_000 + 30},{5_000_000 + i},buy,64000.5,0.01\n"
        for i in range(200)))
    r = _cli(["detect", str(f)], tmp_path)
    err = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(err) == 1 and r.stdout == "", (r.returncode, r.stderr, r.stdout)
    assert f"no liquidations in {f}: its 200 events are all trades (the input holds only trades)" in err[0]
    assert "--allow-empty" in err[0]
    ok = _cli(["detect", str(f), "--allow-empty"], tmp_path)
    assert ok.returncode == 0 and "no liquidations in" in ok.stdout and "no cascades" in ok.stdout


def test_a_misspelt_option_gets_a_did_you_mean(tmp_path):
    """``detect --smaple`` named the unknown option and stopped there; it now names the command's option
    nearest to it (several misspelt: each with its own), and an option near none gets no guess."""
    r = _cli(["detect", "--smaple"], tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1] == \
        "liqcore: error: unrecognized arguments: --smaple (did you mean --sample?)", r.stderr
    r = _cli(["backtest", "--synthtic", "--dyas=3"], tmp_path)
    assert r.stderr.strip().splitlines()[-1].endswith(
        "unrecognized arguments: --synthtic --dyas=3 (did you mean --synthtic -> --synthetic, --dyas -> --days?)")
    r = _cli(["backtest", "--zzzz"], tmp_path)
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].endswith("unrecognized arguments: --zzzz")


def test_the_top_level_help_names_every_cache_action(capsys):
    """``liqcore --help`` said cache was info or clear; it has trim and export-judge too."""
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for action in ("(info)", "(clear)", "(trim)", "(export-judge)"):
        assert action in text, text

"""Parameter ranges (liqcore.config.RULES): nonsense values are refused with the field named, from
Python, from TOML and from the command line; negative values parse as values on the command line."""
from __future__ import annotations

import pytest

from liqcore.cli import attach_negative_values, build_parser, main
from liqcore.config import PARAMS, RULES, Params, params_from_args

BAD = [
    ("offset", "150%"), ("offset", "-1%"), ("offset", 1.0), ("take-profit", 0), ("take-profit", "100%"),
    ("stop-loss", 0), ("stop-loss", "-0.25%"), ("maker-fee-bps", -50), ("maker-fee-bps", 500),
    ("taker-fee-bps", -1), ("size", 0), ("size", -0.25), ("size", 1000), ("quantile", 1.5),
    ("quantile", -0.1), ("window", 0), ("window", "-5s"), ("min-large", 0), ("history", 0),
    ("daily-loss", "-1%"), ("weekly-loss", "150%"), ("max-symbols", 0), ("entry-timeout", 0),
    ("hold-timeout", "0s"), ("max-ref-age", 0), ("min-history", -1), ("order-latency", "-1ms"),
]


@pytest.mark.parametrize("name,value", BAD, ids=[f"{n}={v}" for n, v in BAD])
def test_mapping_and_toml_names_refuse_nonsense_naming_the_field(name, value):
    with pytest.raises(ValueError, match=rf"^{name}: "):
        Params.from_mapping({name: value})
    with pytest.raises(ValueError, match=rf"^{name}: "):
        Params.from_mapping({name.replace("-", "_"): value})


@pytest.mark.parametrize("kw", [dict(offset=100.0), dict(offset=-0.01), dict(take_profit=0.0), dict(size=-0.1),
                                dict(window_ns=0), dict(taker_fee_bps=-1.0), dict(min_large=0)])
def test_python_fields_are_validated(kw):
    field = next(iter(kw))
    name = next(s.name for s in PARAMS if s.field == field)
    with pytest.raises(ValueError, match=rf"^{name}: must be"):
        Params(**kw)
    with pytest.raises(ValueError, match=rf"^{name}: must be"):
        Params().replace(**kw)


GOOD = [("offset", 0, 0.0), ("maker-fee-bps", -2, -2.0), ("maker-fee-bps", "-2.5", -2.5), ("taker-fee-bps", 0, 0.0),
        ("quantile", 1, 1.0), ("size", 3, 3.0), ("refresh", 0, 0), ("cooldown", 0, 0), ("min-history", 0, 0),
        ("daily-loss", "0%", 0.0)]


@pytest.mark.parametrize("name,value,want", GOOD, ids=[f"{n}={v}" for n, v, _ in GOOD])
def test_edge_values_that_make_sense_are_accepted(name, value, want):
    spec = next(s for s in PARAMS if s.name == name)
    assert getattr(Params.from_mapping({name: value}), spec.field) == want


def test_every_numeric_parameter_has_a_rule():
    # not numbers: the fill rule, its queue model, unseen-level rule, partial switch and price grid, the hours filter, the strategy name, the
    # replace on/off switches, live exits, the weekend switch, the calendar files, the feed-latency mode, the
    # latency journal and its by-rate switch
    numeric = {s.field for s in PARAMS if s.field not in ("fill", "queue_model", "queue_unseen", "partial", "price_grid",
                                                          "hours", "strategy",
                                                          "replace_weakest", "replace_same", "exits", "avoid_weekends",
                                                          "news_calendar", "maintenance_calendar", "feed_latency_mode",
                                                          "order_latency_from", "order_latency_by_rate")}
    assert numeric <= set(RULES), f"parameters without a range rule: {sorted(numeric - set(RULES))}"
    assert set(RULES) <= {s.field for s in PARAMS}


def _parse(argv):
    parser = build_parser(only=argv[0])
    return params_from_args(parser.parse_args(attach_negative_values(parser, argv)))


def test_negative_values_parse_as_values_on_the_command_line():
    assert _parse(["backtest", "--maker-fee-bps", "-2"]).maker_fee_bps == -2.0
    assert _parse(["backtest", "--maker-fee-bps", "-2.5", "--synthetic"]).maker_fee_bps == -2.5
    assert _parse(["backtest", "--maker-fee-bps=-1"]).maker_fee_bps == -1.0
    # a negative fraction is a value, and then refused by its rule (not "expected one argument")
    for argv in (["backtest", "--offset", "-1%"], ["backtest", "--offset=-1%"]):
        with pytest.raises(ValueError, match=r"^offset: must be within \[0%, 100%\)"):
            _parse(argv)
    with pytest.raises(ValueError, match=r"^window: must be a non-negative duration"):
        _parse(["detect", "--window", "-5s"])


def test_attach_negative_values_leaves_other_tokens_alone():
    parser = build_parser(only="backtest")
    argv = ["backtest", "--synthetic", "--offset", "0.2%", "--json", "-h"]
    assert attach_negative_values(parser, argv) == argv
    # flags taking no value are never glued to what follows
    assert attach_negative_values(parser, ["backtest", "--json", "-1"]) == ["backtest", "--json", "-1"]
    assert attach_negative_values(parser, ["backtest", "--offset", "-1%"]) == ["backtest", "--offset=-1%"]


@pytest.mark.parametrize("flag", ["--offset -1%", "--offset=-1%", "--offset 150%", "--take-profit 0",
                                  "--taker-fee-bps -1", "--size -0.5", "--stop-loss -1%"])
def test_cli_one_line_exit_2_naming_the_field(flag, capsys):
    argv = ["backtest", "--synthetic", "--days", "0.01", "--no-progress", *flag.split(" ")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    name = flag.lstrip("-").split("=")[0].split(" ")[0]
    assert len(err.splitlines()) == 1 and err.startswith(f"liqcore backtest: error: {name}: must be"), err


def test_cli_detect_refuses_a_negative_window_as_a_value(capsys):
    assert main(["detect", "--sample", "--window", "-30s"]) == 2
    err = capsys.readouterr().err
    assert "window: must be a non-negative duration" in err and "expected one argument" not in err


def test_toml_config_is_validated(tmp_path, capsys):
    cfg = tmp_path / "p.toml"
    cfg.write_text("[params]\noffset = 1.5\n")
    assert main(["backtest", "--synthetic", "--days", "0.01", "--config", str(cfg)]) == 2
    assert "offset: 1.5 without a % sign" in capsys.readouterr().err  # (a percent without its sign, most likely)
    cfg.write_text("maker_fee_bps = -2\ntake_profit = \"0.3%\"\n")
    parser = build_parser(only="backtest")
    p = params_from_args(parser.parse_args(["backtest", "--config", str(cfg)]))
    assert p.maker_fee_bps == -2.0 and p.take_profit == pytest.approx(0.003)


def test_sweep_grid_values_are_validated(capsys):
    assert main(["sweep", "--synthetic", "--days", "0.01", "--grid", "offset=0.1%,-1%"]) == 2
    assert "offset: must be within" in capsys.readouterr().err


def test_one_parser_per_kind_of_value_for_run_and_strategy_parameters():
    """Counts, numbers and switches parse the same way whether the parameter is the run's own
    (history, leverage, ...) or a strategy's (baseline, rate-z, ...)."""
    from liqcore.config import parse_number, parse_whole
    from liqcore.strategies import _common
    from liqcore.strategies.base import ParamSpec

    # a count given as a switch is refused (it used to become 1); an integral float text is a count
    with pytest.raises(ValueError, match="history: expected a whole number"):
        Params.from_mapping({"history": True})
    assert Params.from_mapping({"history": "2000.0"}).history == 2000
    assert Params.from_mapping({"history": "1_000"}).history == 1000
    # an infinite count is a clear ValueError, not an OverflowError
    with pytest.raises(ValueError, match="history: expected a whole number"):
        Params.from_mapping({"history": float("inf")})
    with pytest.raises(ValueError, match="maker-fee-bps: expected a number of basis points"):
        Params.from_mapping({"maker-fee-bps": True})
    with pytest.raises(ValueError, match="leverage: must be >= 0"):
        Params.from_mapping({"leverage": -1})
    # the strategies' parsers are the config's, so the same text means the same value in both
    assert _common.parse_float is parse_number
    assert _common.parse_pos_int("7.0", "baseline") == Params.from_mapping({"history": "7.0"}).history == 7
    assert _common.parse_int("0", "n") == Params.from_mapping({"min-history": "0"}).min_history == 0
    assert _common.parse_nonneg_float("2.5", "z") == Params.from_mapping({"leverage": "2.5"}).leverage == 2.5
    for bad in (True, "x", 2.5, float("nan"), "-3"):
        with pytest.raises(ValueError, match="baseline: "):
            _common.parse_pos_int(bad, "baseline")
        with pytest.raises(ValueError, match="history: "):
            Params.from_mapping({"history": bad})
    assert ParamSpec("n", 1, int).parse is parse_whole and ParamSpec("x", 1.0, float).parse is parse_number
    assert ParamSpec("n", 1, int).parse("-4", "n") == -4  # a plain int parameter may be negative


SLIPS = [("offset", 0.2), ("offset", "0.2"), ("take-profit", 0.06), ("stop-loss", "0.5"), ("trail", 0.1)]


@pytest.mark.parametrize("name,value", SLIPS, ids=[f"{n}={v!r}" for n, v in SLIPS])
def test_a_bare_price_distance_above_5_percent_needs_its_percent_sign(name, value):
    """``offset 0.2`` would be 20 % (no fill ever): refused from Python, TOML/mapping names and field
    names, with how to write 0.2 % and how to confirm 20 %."""
    x = float(value)
    field = name.replace("-", "_")
    for call in (lambda: Params.from_mapping({name: value}), lambda: Params.from_mapping({field: value}),
                 lambda: Params(**{field: value})):
        with pytest.raises(ValueError, match=rf"^{name}: {x:g} without a % sign") as exc:
            call()
        assert f"write {x:g}%" in str(exc.value) and f"write {x * 100:g}%" in str(exc.value)
    # with its % sign the same value is taken, and so is a small bare fraction
    assert getattr(Params.from_mapping({name: f"{x * 100:g}%"}), field) == pytest.approx(x)
    assert getattr(Params.from_mapping({name: f"{x:g}%"}), field) == pytest.approx(x / 100)
    assert getattr(Params(**{field: 0.05}), field) == 0.05 and getattr(Params(**{field: "0.004"}), field) == 0.004
    # a value once confirmed survives copies (replace, presets, mappings on top of it)
    p = Params(**{field: f"{x * 100:g}%"})
    assert getattr(p.replace(size=0.5), field) == pytest.approx(x)
    assert getattr(Params.from_mapping({"fill": "touch"}, base=p), field) == pytest.approx(x)


@pytest.mark.parametrize("name,value", [("offset", 15), ("offset", "15"), ("take-profit", "1.5"), ("stop-loss", 1),
                                        ("trail", "99")])
def test_a_bare_percent_of_1_or_more_gets_the_percent_hint_too(name, value):
    """``--offset 15`` (a percent without its sign) said only "must be within [0%, 100%) ... got 1500%"; it
    now gets the same hint as ``--offset 0.2``: how to write 15 %."""
    x = float(value)
    field = name.replace("-", "_")
    for call in (lambda: Params.from_mapping({name: value}), lambda: Params(**{field: value})):
        with pytest.raises(ValueError, match=rf"^{name}: {x:g} without a % sign") as exc:
            call()
        assert f"for {x:g} percent write {x:g}% (or {x / 100:g})" in str(exc.value)
    assert getattr(Params.from_mapping({name: f"{x:g}%"}), field) == pytest.approx(x / 100)
    with pytest.raises(ValueError, match=rf"^{name}: must be within"):  # 100 and more: the range rule
        Params.from_mapping({name: "100"})


def test_cli_bare_offset_0_2_is_refused_in_a_real_process(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root))
    r = subprocess.run([sys.executable, "-m", "liqcore", "backtest", "--synthetic", "--days", "0.05", "--symbols",
                        "ETHUSDT", "--offset", "0.2", "--no-progress"], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2 and r.stdout == ""
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("liqcore backtest: error: offset: 0.2 without a % sign")
    assert "for 0.2 percent write 0.2% (or 0.002)" in err[0]
    cfg = tmp_path / "p.toml"
    cfg.write_text("take_profit = 0.3\n")
    r = subprocess.run([sys.executable, "-m", "liqcore", "backtest", "--synthetic", "--days", "0.05", "--config",
                        str(cfg)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "error: take-profit: 0.3 without a % sign" in r.stderr
    r = subprocess.run([sys.executable, "-m", "liqcore", "sweep", "--synthetic", "--days", "0.05",
                        "--grid", "offset=0.1%,0.2"], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2 and "error: grid: offset: 0.2 without a % sign" in r.stderr
    r = subprocess.run([sys.executable, "-m", "liqcore", "backtest", "--synthetic", "--days", "0.05", "--symbols",
                        "ETHUSDT", "--offset", "0.2%", "--json", "--no-progress"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_price_grid_off_with_the_queue_rule_is_refused_not_silently_replaced():
    """The queue rule compares prints and quotes on each symbol's price grid: ``--price-grid off`` with ``--fill
    queue`` is one line (it was replaced by the grid without a word, and the run's parameters echoed ``off``)."""
    from liqcore import Params

    with pytest.raises(ValueError, match=r"^price-grid: off cannot go with --fill queue .*; got --price-grid off$"):
        Params.from_mapping({"fill": "queue", "price-grid": "off"})
    for grid in ("tick", "auto"):
        assert Params.from_mapping({"fill": "queue", "price-grid": grid}).price_grid == grid
    assert Params.from_mapping({"fill": "through", "price-grid": "off"}).price_grid == "off"

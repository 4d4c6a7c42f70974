"""``liqcore backtest <recordings> --days 5`` exited 0 and ignored ``--days``, which its help calls the synthetic
market's length: given with recordings or a dataset it is refused in one line naming the option (exit 2, before
any work: no --out folder), while the synthetic market keeps its length (--days given) and its default (30 days)."""
from __future__ import annotations

import pytest

from liqcore.cli import build_parser, main

_REFUSED = ("liqcore backtest: error: days: only with --synthetic (the synthetic market's length in days; got --days "
            "5); recordings and datasets are cut in time with --start / --end")


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """A small recording file and the same events as a dataset: {"file": path, "dataset": path}."""
    from liqcore.dataset import write_dataset
    from liqcore.io import save_events
    from liqcore.synthetic.market import synthetic_market

    m = synthetic_market(days=0.2, symbols=("ETHUSDT",), seed=3, cache=False)
    d = tmp_path_factory.mktemp("days")
    save_events(m.events, d / "ev.parquet", registry=m.registry)
    write_dataset(m.events, d / "ds", m.registry, checked=True)
    return {"file": str(d / "ev.parquet"), "dataset": str(d / "ds")}


@pytest.mark.parametrize("kind", ["file", "dataset"])
def test_days_with_recordings_is_refused_in_one_line(sources, kind, tmp_path, capsys):
    out = tmp_path / "bt"
    assert main(["backtest", sources[kind], "--days", "5", "--no-progress", "--out", str(out)]) == 2
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err.strip().splitlines() == [_REFUSED], cap.err
    assert not out.exists()  # refused before any work


@pytest.mark.parametrize("kind", ["file", "dataset"])
def test_recordings_without_days_run(sources, kind, capsys):
    assert main(["backtest", sources[kind], "--no-progress", "--json"]) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.startswith('{"summary":')


def _parsed(argv):
    from liqcore.commands.backtest import _synthetic_days

    args = build_parser(only="backtest").parse_args(["backtest", *argv])
    _synthetic_days(args)
    return args


def test_the_synthetic_market_keeps_its_days_and_their_default():
    assert _parsed(["--synthetic"]).days == 30.0  # the help's "(default 30)"
    assert _parsed(["--synthetic", "--days", "2.5"]).days == 2.5
    assert _parsed(["some.parquet"]).days == 30.0  # (not given: nothing to refuse)


def test_a_synthetic_backtest_is_as_long_as_its_days(capsys):
    assert main(["backtest", "--synthetic", "--days", "0.05", "--symbols", "ETHUSDT", "--no-progress"]) == 0
    assert "synthetic market (0.05 days, ETHUSDT" in capsys.readouterr().out

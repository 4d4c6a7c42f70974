"""liqcore compare: the null-market guard, in/out-of-sample splits, bad input before any work, and the
commands' shared inputs module."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from liqcore.backtest.compare import FILL_RULES, compare, fill_variant, folds, market, mean_ci, null_guard
from liqcore.cli import main
from liqcore.strategies import ENTRY_MARKET, Strategy, empty_signals, strategy_names

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_REC = ROOT / "liqcore" / "data" / "sample-bybit.jsonl.zst"
SAMPLE_LIQ = ROOT / "liqcore" / "data" / "sample_liquidations.csv"
EIGHT = ("cascade-mm", "cascade-fade", "imbalance-reversal", "zone-bounce", "vol-breakout", "liq-trend",
         "cascade-score", "flush-reversal-rule")


@pytest.fixture(scope="module")
def null7():
    return market("null", days=7)


@pytest.fixture(scope="module")
def null7_result(null7):
    return compare(null7.events, null7.registry, list(EIGHT), label="null")  # the built-in eight (other tests register their own)


def _report(res):
    rows = [r for r in res.rows if r["sample"] == "all"]
    return "\n".join(f"{r['strategy']:20s} n={r['trades']:4d} gross={r['gross_mean'] and r['gross_mean'] * 1e4:+.2f}bp "
                     f"lo={r['gross_lo'] and r['gross_lo'] * 1e4:+.2f} hi={r['gross_hi'] and r['gross_hi'] * 1e4:+.2f}"
                     if r["gross_lo"] is not None else f"{r['strategy']:20s} n={r['trades']}" for r in rows)


def test_all_eight_strategies_are_built_in():
    assert tuple(strategy_names()[:8]) == EIGHT


def test_null_market_no_gross_edge_beyond_its_interval(null7_result, capsys):
    res = null7_result
    # every strategy, and the guide's strategy again under each fill rule
    assert {r["strategy"] for r in res.rows} == set(EIGHT) | {fill_variant(f) for f in FILL_RULES}
    with capsys.disabled():
        print("\nnull market, 7 days x 5 symbols, all trades:\n" + _report(res))
    for r in res.rows:
        if r["sample"] != "all":
            continue
        if r["gross_lo"] is not None:
            assert r["gross_lo"] <= 0.0, (r["strategy"], r)
    assert null_guard(res) == []
    # the guard had something to judge: most strategies trade on a week of the null market
    assert sum(r["trades"] >= 10 for r in res.rows if r["sample"] == "all") >= 5


@pytest.mark.slow
def test_null_market_guard_30_days():
    m = market("null", days=30)
    res = compare(m.events, m.registry, list(EIGHT), label="null")
    print("\nnull market, 30 days x 5 symbols:\n" + _report(res))
    assert null_guard(res) == [], _report(res)


class PeekAhead(Strategy):
    """A deliberately leaking strategy: every 10 minutes it looks at the price 5 minutes AHEAD and
    trades in that direction for 5 minutes (the guard must flag it)."""

    name = "peek-ahead"
    needs = frozenset({"trade"})

    def signals(self, events, params, registry, records=None):
        tr = np.flatnonzero(events["kind"] == 2)
        out = []
        for sid in np.unique(events["symbol_id"][tr]):
            idx = tr[events["symbol_id"][tr] == sid]
            ts, px = events["ts_recv"][idx], events["price"][idx]
            grid = np.arange(ts[0] + 600_000_000_000, ts[-1] - 600_000_000_000, 600_000_000_000)
            i0 = np.searchsorted(ts, grid, side="right") - 1
            i1 = np.searchsorted(ts, grid + 300_000_000_000, side="right") - 1
            s = empty_signals(len(grid))
            s["ts_ns"] = grid
            s["ev_idx"] = idx[i0]
            s["symbol_id"] = sid
            s["direction"] = np.where(px[i1] > px[i0], 1, -1)
            s["entry"] = ENTRY_MARKET
            s["take_profit"] = 0.0
            s["stop_loss"] = 0.0
            s["max_hold_ns"] = 300_000_000_000
            out.append(s)
        return np.concatenate(out)


def test_the_guard_flags_a_strategy_that_looks_ahead(null7):
    res = compare(null7.events, null7.registry, [PeekAhead, "vol-breakout"], label="null")
    assert null_guard(res) == ["peek-ahead"]
    assert res.row("peek-ahead")["gross_lo"] > 0


def test_in_and_out_of_sample_split_the_trades(null7_result):
    res = null7_result
    assert len(res.folds) == 4
    (a0, a1), (b0, b1) = res.folds[0]
    assert res.in_sample == (a0, a1) and res.out_of_sample == (b0, res.folds[-1][1][1]) and a1 == b0
    for n in EIGHT:
        r_all, r_in, r_out = (res.row(n, s) for s in ("all", "in", "out"))
        assert r_in["trades"] + r_out["trades"] == r_all["trades"]  # blocks 0 and 1..N cover the span
    spans = [b for _, b in res.folds]
    assert all(spans[k][1] == spans[k + 1][0] for k in range(len(spans) - 1))  # concatenated test folds


def test_folds_and_interval_arithmetic():
    f = folds(0, 500, 4)
    assert f[0] == ((0, 100), (100, 200)) and f[-1] == ((300, 400), (400, 500))
    with pytest.raises(ValueError):
        folds(0, 3, 4)
    m, lo, hi = mean_ci(np.array([1.0, 2.0, 3.0, 4.0]), 0.95)
    assert m == 2.5 and lo == pytest.approx(2.5 - 3.182446 * np.std([1, 2, 3, 4], ddof=1) / 2, rel=1e-5)
    assert hi - m == pytest.approx(m - lo)
    assert mean_ci(np.array([5.0]))[1:] == (None, None)


def test_flush_reversal_binary_is_reported(null7_result):
    b = null7_result.binary
    assert set(b) == {"all", "in", "out"}
    for s in b.values():
        assert s["prior"] == 0.5 and s["n"] == s["n"]
        if s["n"]:
            lo, hi = s["wilson"]
            assert 0 <= lo <= s["hit_rate"] <= hi <= 1 and 0 <= s["p_value"] <= 1


# ---- CLI --------------------------------------------------------------------------------------------
def test_cli_compare_synthetic_json_both_markets(tmp_path, capsys):
    png, csv = tmp_path / "c.png", tmp_path / "c.csv"
    rc = main(["compare", "--synthetic", "--days", "2", "--strategies", "cascade-mm,vol-breakout,flush-reversal-rule",
               "--folds", "3", "--json", "--plot", str(png), "--out", str(csv)])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["markets"]) == {"default", "null"}
    for mk in doc["markets"].values():
        shown = ("cascade-mm", "vol-breakout", "flush-reversal-rule", *(fill_variant(f) for f in FILL_RULES))
        assert {(r["strategy"], r["sample"]) for r in mk["rows"]} == {(n, s) for n in shown for s in ("all", "in", "out")}
        assert all(r["fill"] for r in mk["rows"])  # every row names its fill model
        assert len(mk["folds"]) == 3 and mk["ci_method"] == "student-t"
        assert set(mk["binary"]) == {"all", "in", "out"}
    assert png.stat().st_size > 1000 and png.read_bytes()[:4] == b"\x89PNG"
    import pandas as pd

    df = pd.read_csv(csv, keep_default_na=False)  # the market named "null" is not a missing value
    assert set(df["market"]) == {"default", "null"} and len(df) == 36


def test_cli_compare_table_on_a_recording(capsys):
    rc = main(["compare", str(SAMPLE_REC), "--strategies", "cascade-mm,vol-breakout", "--folds", "2", "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "recordings" in out and "cascade-mm" in out and "vol-breakout" in out and "out of sample" in out


def _forbid_work(monkeypatch):
    import liqcore.backtest.compare as cmp
    import liqcore.commands.inputs as inputs

    def no_work(*_a, **_k):
        raise AssertionError("work started before the input was checked")

    monkeypatch.setattr(cmp, "market", no_work)
    monkeypatch.setattr(cmp, "compare", no_work)
    monkeypatch.setattr(inputs, "load_source", no_work)


@pytest.mark.parametrize("argv,needle", [
    (["--synthetic", "--strategies", "cascade-mm,zone-bounse"], "unknown strategy 'zone-bounse'; did you mean 'zone-bounce'"),
    (["--synthetic", "--strategies", "zone-bounce", "--min-notional", "1000000"],
     "min-notional: a parameter of strategy cascade-fade"),
    (["--synthetic", "--zone-width", "0.1%"], "zone-width: a parameter of strategy zone-bounce, cascade-score, not of cascade-mm"),
    (["--synthetic", "--strategies", "cascade-mm,cascade-mm"], "'cascade-mm' given twice"),
    (["--synthetic", "--strategy", "liq-trend"], "compare takes --strategies"),
    (["--synthetic", "--folds", "0"], "folds: must be >= 1"),
    (["--synthetic", "--preset", "reversion"], "choose them with --market"),
    (["--market", "null", str(SAMPLE_REC)], "add --synthetic"),
])
def test_cli_compare_bad_arguments_one_line_exit_2_before_any_work(argv, needle, monkeypatch, capsys):
    _forbid_work(monkeypatch)
    assert main(["compare", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err


def _check_na_funding(rows, ran):
    fr = [r for r in rows if r["strategy"] == "flush-reversal-rule"]
    assert fr and all(r["na"] == "needs funding" and r["trades"] is None for r in fr), fr
    for name in ran:  # the others ran: numbers, no n/a
        r = [r for r in rows if r["strategy"] == name and r["sample"] == "all"][0]
        assert r["na"] is None and isinstance(r["trades"], int), r


def test_cli_compare_one_strategy_without_its_inputs_is_na_the_rest_run(tmp_path, capsys):
    # the bundled recording has liquidations, trades and marks, no funding: the feature rule needs it
    png, csv = tmp_path / "c.png", tmp_path / "c.csv"
    rc = main(["compare", str(SAMPLE_REC), "--strategies", "cascade-mm,vol-breakout,flush-reversal-rule",
               "--no-progress", "--plot", str(png), "--out", str(csv)])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    line = [ln for ln in cap.out.splitlines() if "flush-reversal-rule" in ln]
    assert line and "n/a — needs funding" in line[0], cap.out
    assert "vol-breakout" in cap.out and png.stat().st_size > 0
    import pandas as pd

    df = pd.read_csv(csv)
    assert set(df[df.strategy == "flush-reversal-rule"].na) == {"needs funding"}
    assert df[df.strategy != "flush-reversal-rule"].na.isna().all()
    assert main(["compare", str(SAMPLE_REC), "--strategies", "cascade-mm,flush-reversal-rule", "--no-progress",
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    _check_na_funding(doc["markets"]["recordings"]["rows"], ["cascade-mm"])


def test_compare_real_binance_recordings_without_funding(real_data, capsys):
    """Binance's published liquidation files carry no funding: every other strategy still runs."""
    d = sorted(p for p in real_data.iterdir() if p.is_dir())[0]
    assert main(["compare", str(d), "--no-progress", "--json"]) == 0, capsys.readouterr().err
    doc = json.loads(capsys.readouterr().out)
    rows = doc["markets"]["recordings"]["rows"]
    # cascade-score's funding filter needs funding too (--funding-filter off runs it on these files)
    assert all(r["na"] == "needs funding" for r in rows if r["strategy"] == "cascade-score")
    _check_na_funding(rows, [n for n in EIGHT if n not in ("flush-reversal-rule", "cascade-score")])


def test_cli_compare_missing_inputs_named_before_any_strategy_runs(monkeypatch, capsys):
    import liqcore.backtest.compare as cmp

    def no_run(*_a, **_k):
        raise AssertionError("a strategy ran on data that lacks its inputs")

    monkeypatch.setattr(cmp, "run_strategy", no_run, raising=False)
    import liqcore.backtest.run as run_mod

    monkeypatch.setattr(run_mod, "run_strategy", no_run)
    # no strategy can run: exit 2, one line naming what is missing
    assert main(["compare", str(SAMPLE_REC), "--strategies", "flush-reversal-rule", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "strategy flush-reversal-rule: the data has no funding events" in err[0], err
    assert main(["compare", str(SAMPLE_LIQ), "--strategies", "cascade-mm", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "strategy cascade-mm: the data has no trade events" in err[0], err


# ---- the shared inputs module -------------------------------------------------------------------------
def _command_modules() -> dict[str, str]:
    """file stem -> command name, for every module registered as a command in the CLI."""
    from liqcore.cli import COMMANDS

    return {mod.rsplit(".", 1)[1]: name for name, mod in COMMANDS.items()}


def _imported_command_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("liqcore.commands."):
                found.add(node.module.split(".")[2])
            elif node.module == "liqcore.commands":
                found.update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("liqcore.commands."):
                    found.add(a.name.split(".")[2])
    return found


def test_no_command_imports_another_commands_helpers():
    """A command module imports shared modules (inputs, outputs, ...) only, never another command."""
    commands = _command_modules()
    assert {"inputs", "outputs"}.isdisjoint(commands)
    offenders = {}
    for path in sorted((ROOT / "liqcore" / "commands").glob("*.py")):
        bad = (_imported_command_modules(path) & set(commands)) - {path.stem}
        if bad:
            offenders[path.name] = sorted(bad)
    assert offenders == {}


@pytest.mark.parametrize("stem", ["backtest", "sweep", "features", "study", "detect", "events", "convert", "compare",
                                  "leak_audit", "research"])
def test_input_commands_take_their_inputs_from_the_inputs_module(stem):
    assert "inputs" in _imported_command_modules(ROOT / "liqcore" / "commands" / f"{stem}.py")


def test_the_ast_walk_sees_cross_command_imports(tmp_path):
    p = tmp_path / "x.py"
    p.write_text("def f():\n    from liqcore.commands.backtest import load_source\n    import liqcore.commands.features\n"
                 "    from liqcore.commands import study, inputs\n")
    assert _imported_command_modules(p) == {"backtest", "features", "study", "inputs"}


@pytest.mark.parametrize("cmd", ["backtest", "sweep", "features", "study", "detect", "events", "convert",
                                 "compare", "leak-audit", "research"])
def test_every_input_command_takes_the_shared_time_filter(cmd, capsys):
    with pytest.raises(SystemExit):
        main([cmd, "--help"])
    out = capsys.readouterr().out
    assert "--start" in out and "--end" in out and "--allow-empty" in out and "--format" in out


def test_time_filter_cuts_the_events(capsys):
    assert main(["events", str(SAMPLE_REC), "--json", "--kind", "trade", "--start", "2026-01-05T05:00:00Z",
                 "--end", "2026-01-05T05:10:00Z"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert rows and all(1767589200e9 <= r["ts_recv_ns"] < 1767589800e9 for r in rows)
    assert main(["events", str(SAMPLE_REC), "--start", "2026-01-05T05:00:00Z", "--end", "2026-01-05T04:00:00Z"]) == 2
    assert "end: must be after --start" in capsys.readouterr().err


def test_backtest_symbols_filter_recordings(capsys):
    assert main(["backtest", str(SAMPLE_REC), "--symbols", "SOLUSDT", "--json", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "none of its 6,414 events match --symbols SOLUSDT" in err
    assert main(["backtest", str(SAMPLE_REC), "--symbols", "ethusdt", "--json", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["strategy"] == "cascade-mm"


def _figure_texts(monkeypatch):
    """Record the texts of every matplotlib figure saved (the real savefig still writes the file)."""
    from matplotlib.figure import Figure

    seen: list[list[str]] = []
    orig = Figure.savefig

    def savefig(self, *a, **k):
        for ax in self.axes:  # every note inside its axes' x range (a text does not widen the axes)
            lo, hi = ax.get_xlim()
            assert all(lo <= t.get_position()[0] <= hi for t in ax.texts), [t.get_text() for t in ax.texts]
        seen.append([t.get_text() for ax in self.axes for t in ax.texts])
        return orig(self, *a, **k)

    monkeypatch.setattr(Figure, "savefig", savefig)
    return seen


def test_compare_plot_says_no_trades_where_a_strategy_has_none(tmp_path, monkeypatch):
    # one day of the default market: the feature rule cannot fire yet (its z-scores need 5 h of
    # history and the crowd is not short that day), cascade-mm trades
    from liqcore.backtest.compare import plot

    m = market("default", days=1, cache_dir=tmp_path / "cache")
    res = compare(m.events, m.registry, ["cascade-mm", "flush-reversal-rule"], label="default")
    assert res.row("flush-reversal-rule", "all")["trades"] == 0 and res.row("cascade-mm", "all")["trades"] > 0
    seen = _figure_texts(monkeypatch)
    plot({"default": res}, str(tmp_path / "c.png"))
    assert (tmp_path / "c.png").stat().st_size > 1000
    texts = [t for fig in seen for t in fig]
    assert texts.count("no trades") == 2  # the feature rule, on the gross and the net panel; not cascade-mm


# ---- the default market: every strategy trades; an empty row says why ----------------------------------

def test_cli_compare_an_empty_row_names_its_skip_counts(capsys):
    # a score of 11 on a 0-10 scale: every decision of cascade-score is skipped below_min_score
    rc = main(["compare", "--synthetic", "--days", "1", "--market", "default", "--strategies", "cascade-score",
               "--min-score", "11", "--folds", "2", "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0
    import re

    lines = [ln for ln in out.splitlines() if ln.startswith("cascade-score (all): 0 trades — ")]
    assert len(lines) == 1, out
    m = re.search(r"— (.*) \(skipped decisions, of (\d+)\)$", lines[0])
    assert m, lines[0]
    counts = dict((name, int(n)) for name, n in re.findall(r"([a-z_]+) (\d+)", m.group(1)))
    assert counts.get("below_min_score", 0) > 0 and sum(counts.values()) == int(m.group(2)), lines[0]
    # every empty row of the table has its line (all, in and out of sample)
    for sample in ("in", "out"):
        assert any(ln.startswith(f"cascade-score ({sample}): 0 trades — ") for ln in out.splitlines()), out


@pytest.mark.slow
def test_every_strategy_trades_at_least_five_times_on_the_default_market(default_market):
    """``liqcore compare --synthetic``'s strategies on its default market (30 days x 5 symbols, seed 7;
    its quotes only feed the queue fill rule's variants, left out here): each trades at least 5 times."""
    m = default_market
    res = compare(m.events, m.registry, list(EIGHT), fills=(), label="default")
    rows = {r["strategy"]: r for r in res.rows if r["sample"] == "all"}
    assert set(rows) == set(EIGHT)
    few = {n: (r["trades"], r.get("why") or r.get("na")) for n, r in rows.items() if not (r["trades"] or 0) >= 5}
    assert not few, few



def test_compare_says_its_own_queue_rows_fallback_in_the_row_not_as_a_warning_about_an_option(tmp_path, monkeypatch,
                                                                                              capsys):
    """On events without a top of book, compare's ``cascade-mm · queue`` row (a rule the user never asked for)
    falls back to through and says so in its fill label; no "--fill queue falls back" warning on stderr.  A user's
    own ``--fill queue`` still gets the warning."""
    from liqcore.backtest.run import backtest
    from liqcore.config import Params
    from liqcore.execution import events as E
    from liqcore.types import Kind

    m = market("default", days=1, cache_dir=tmp_path / "cache")
    ev = m.events[(m.events["kind"] != int(Kind.QUOTE)) & (m.events["kind"] != int(Kind.DEPTH))]
    monkeypatch.setattr(E, "_warned_no_book", False)
    res = compare(ev, m.registry, ["cascade-mm"], fills=("queue",), label="default")
    row = res.row(fill_variant("queue"), "all")
    assert row["fill"].startswith("through (queue asked; no top of book in the input)"), row["fill"]
    assert "--fill queue" not in capsys.readouterr().err
    backtest(ev, Params(fill="queue"), registry=m.registry)  # the user's own --fill queue: warned once
    assert E.NO_BOOK_WARNING in capsys.readouterr().err

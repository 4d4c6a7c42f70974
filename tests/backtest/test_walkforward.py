"""Walk-forward folds, per-fold selection and out-of-sample runs, CLI report and bad folds."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore.sweep import grid as SG, store as SS, cells as S
from liqcore.synthetic.market import DEFAULT_START_NS
from liqcore.sweep.walkforward import combine, folds, join_folds, walkforward
from liqcore.cli import main
from liqcore.config import Params

D = 86_400_000_000_000


def test_rolling_and_expanding_folds():
    f = folds(0, 10 * D, 4, train="2d", test="2d", scheme="rolling")
    assert [(x.train.start_ns, x.train.end_ns, x.test.start_ns, x.test.end_ns) for x in f] == [
        (0, 2 * D, 2 * D, 4 * D), (2 * D, 4 * D, 4 * D, 6 * D), (4 * D, 6 * D, 6 * D, 8 * D),
        (6 * D, 8 * D, 8 * D, 10 * D)]
    e = folds(0, 10 * D, 4, train="2d", test="2d", scheme="expanding")
    assert [x.train.start_ns for x in e] == [0] * 4 and [x.test.start_ns for x in e] == [2 * D, 4 * D, 6 * D, 8 * D]
    # defaults: folds + 1 equal blocks; fractions of the span
    d = folds(0, 10 * D, 4)
    assert d[0].train.end_ns == 2 * D and d[-1].test.end_ns == 10 * D
    fr = folds(0, 10 * D, 2, train=0.4, test=0.3)
    assert fr[0].train.end_ns == 4 * D and fr[1].test.end_ns == 10 * D


def test_folds_that_leave_a_test_fold_empty_are_errors():
    with pytest.raises(ValueError, match="last test fold would be empty"):
        folds(0, 10 * D, 5, train="4d", test="2d")
    with pytest.raises(ValueError, match="empty test"):
        folds(0, 10 * D, 3, train="10d")
    with pytest.raises(ValueError, match="scheme"):
        folds(0, 10 * D, 3, scheme="sliding")
    with pytest.raises(ValueError, match="unit"):
        folds(0, 10 * D, 3, train="3", test="2d")


def test_combine_is_equal_weight_across_partitions():
    a = {"trades": 2, "wins": 1, "avg_return": 0.01, "fills": 2, "day0": 10, "daily": [0.01, -0.02]}
    b = {"trades": 1, "wins": 1, "avg_return": 0.04, "fills": 1, "day0": 11, "daily": [0.0, 0.03]}
    c = combine([a, b])
    assert c["daily"] == pytest.approx([0.01, -0.01, 0.03])
    assert c["total_return"] == pytest.approx(1.01 * 0.99 * 1.03 - 1)
    assert c["trades"] == 3 and c["win_rate"] == pytest.approx(2 / 3) and c["avg_return"] == pytest.approx(0.02)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 20_000), st.lists(st.tuples(st.integers(0, 2), st.lists(
    st.floats(-0.5, 0.5, allow_nan=False, allow_subnormal=False), min_size=1, max_size=6)), min_size=1, max_size=6))
def test_joined_out_of_sample_return_is_the_folds_compounded(day0, spec):
    # folds in time order; each next fold starts on the day the last one ended (shared day), the next
    # day, or a day later: the joined return is the folds' returns compounded, whatever the day boundaries
    fm, d = [], day0
    for gap, daily in spec:
        d += gap if fm else 0
        fm.append(combine([{"trades": 1, "wins": 0, "avg_return": 0.0, "fills": 1, "day0": d, "daily": daily}]))
        d += len(daily) - 1
    daily, steps = join_folds(fm)
    want = np.prod([1.0 + m["total_return"] for m in fm]) - 1.0
    assert np.prod(1.0 + daily) - 1.0 == pytest.approx(want, rel=1e-9, abs=1e-12)
    assert np.prod(1.0 + steps) - 1.0 == pytest.approx(want, rel=1e-9, abs=1e-12)
    assert len(daily) == len({m["day0"] + i for m in fm for i in range(len(m["daily"]))})  # one return a day
    assert len(steps) == sum(len(m["daily"]) for m in fm)


def test_walkforward_picks_the_train_best_and_runs_it_alone_on_the_test_fold():
    src = S.Source("synthetic", days=4, seed=11)
    parts = [S.Partition(src, ("ETHUSDT",)), S.Partition(src, ("SOLUSDT",))]
    grid = SG.validate_grid({"quantile": [0.9, 0.95], "offset": ["0.1%", "0.3%"], "take-profit": ["0.15%", "0.5%"]})
    det, _ = SG.split_grid(grid)
    cells = SG.expand_cells(grid)
    span = (DEFAULT_START_NS, DEFAULT_START_NS + 4 * D)
    rep = walkforward(cells, parts, span, 3, Params(), det, metric="total_return", cscv_blocks=4)
    fl = folds(span[0], span[1], 3)
    assert len(rep["folds"]) == 3
    for f, fr in zip(fl, rep["folds"]):
        # every cell on the train window: the chosen one has the best combined total return
        tab, _ = SS.run_cells(cells, parts, [f.train], Params(), det, with_daily=True)
        scores = []
        for c in cells:
            rows = tab[np.logical_and.reduce([tab[k] == str(v) for k, v in c.items()])].to_dict("records")
            scores.append(combine(rows)["total_return"])
        best = cells[int(np.argmax(scores))]
        assert fr["cell"] == {k: str(v) for k, v in best.items()}
        assert fr["in_sample"]["total_return"] == pytest.approx(max(scores))
        # the out-of-sample figure is that cell run on the test window
        tt, _ = SS.run_cells([best], parts, [f.test], Params(), det, with_daily=True)
        oos = combine(tt.to_dict("records"))
        assert fr["out_of_sample"]["total_return"] == pytest.approx(oos["total_return"])
        assert fr["out_of_sample"]["trades"] == oos["trades"]
    ov = rep["overall"]
    # how much worse out of sample (total return: higher is better)
    assert ov["degradation"] == pytest.approx(ov["in_sample_mean"] - ov["out_of_sample_mean"])
    assert 0.0 <= rep["pbo"]["pbo"] <= 1.0 and rep["pbo"]["combinations"] == 6
    assert rep["dsr"]["trials"] == len(cells)


def test_cli_walkforward_report(tmp_path, capsys):
    out = tmp_path / "wf"
    rc = main(["walkforward", "--synthetic", "--days", "4", "--seed", "11", "--symbols", "ETHUSDT",
               "--grid", "offset=0.1%,0.3%", "--grid", "quantile=0.9,0.95", "--folds", "2", "--train", "2d",
               "--test", "1d", "--scheme", "expanding", "--workers", "1", "--out", str(out), "--json"])
    assert rc == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["scheme"] == "expanding" and len(rep["folds"]) == 2
    assert rep["folds"][1]["train_start_ns"] == rep["folds"][0]["train_start_ns"]
    on_disk = json.loads((out / "walkforward.json").read_text())
    assert on_disk["overall"] == rep["overall"]
    assert (out / "walkforward.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "cells.parquet").exists()
    # one partition: a fold's in-sample drawdown is its cell's own (trade by trade), the row of cells.parquet
    import pandas as pd

    cells = pd.read_parquet(out / "cells.parquet")
    for f in rep["folds"]:
        row = cells[(cells["offset"] == f["cell"]["offset"]) & (cells["quantile"].astype(str) == f["cell"]["quantile"])
                    & (cells["range"] == f"train{f['fold']}")]
        assert len(row) == 1 and f["in_sample"]["max_drawdown"] == row["max_drawdown"].iloc[0]
    ov = rep["overall"]
    assert ov["folds"] == 2 and ov["folds_in_means"] in (None, 0, 1, 2)
    p = rep["pbo"]
    assert p is None or p["periods_used"] == p["periods"] - p["periods"] % p["blocks"]


@pytest.mark.parametrize("args,msg", [
    (["--folds", "5", "--train", "3d", "--test", "1d"], "last test fold would be empty"),
    (["--folds", "2", "--train", "4d"], "empty test"),
    (["--metric", "luck"], "metric"),
    (["--cscv-blocks", "3"], "cscv-blocks"),
])
def test_cli_walkforward_bad_folds(capsys, args, msg):
    rc = main(["walkforward", "--synthetic", "--days", "4", "--symbols", "ETHUSDT", "--grid", "offset=0.1%,0.2%",
               "--workers", "1", "--no-progress"] + args)
    err = capsys.readouterr().err
    assert rc == 2 and msg in err and err.count("\n") == 1


def test_cli_walkforward_short_recording_folds_follow_the_data(tmp_path, capsys, monkeypatch):
    # the bundled 4 h 42 min recording as a dataset: the folds cover its hours, not the calendar day,
    # and what cannot be computed on them (a Sharpe ratio of daily returns) is said in words
    from pathlib import Path

    from liqcore.commands.walkforward import plot_walkforward
    from liqcore.data import sample_recording
    from liqcore.dataset.load import load_events

    ds, out = tmp_path / "ds", tmp_path / "wf"
    assert main(["convert", str(sample_recording()), "--dataset", str(ds)]) == 0
    capsys.readouterr()
    ts = load_events(sample_recording()).events["ts_recv"]
    rc = main(["walkforward", str(ds), "--grid", "offset=0.1%,0.2%", "--grid", "quantile=0.9,0.95", "--folds", "3",
               "--workers", "1", "--out", str(out), "--json"])
    assert rc == 0
    rep = json.loads(capsys.readouterr().out)
    first, last = int(ts.min()), int(ts.max())
    assert first - 10**9 <= rep["span"][0] and rep["span"][1] <= last + 10**9  # the data's span (ts within 1 s)
    assert rep["span"][1] - rep["span"][0] < D / 4  # 4.7 h, not the day
    for f in rep["folds"]:  # every test window lies inside the data: none is empty of events
        assert first - 10**9 <= f["test_start_ns"] < f["test_end_ns"] <= last + 10**9
        assert f["note"]["in_sample"].startswith("the Sharpe ratio of daily returns needs at least 2 UTC days")
        assert f["chosen_by"] is None and "first cell is used" in f["note"]["chosen"]
    assert rep["notes"] and "sharpe is undefined in every train window" in rep["notes"][0]
    # the three test folds lie within one UTC day: the joined return is all three compounded, not the last
    assert len({f["test_start_ns"] // D for f in rep["folds"]}) == 1
    fold_returns = [f["out_of_sample"]["total_return"] for f in rep["folds"]]
    joined = rep["overall"]["out_of_sample"]["total_return"]
    assert joined == pytest.approx(np.prod([1.0 + r for r in fold_returns]) - 1.0, rel=1e-12)
    assert sum(r != 0 for r in fold_returns) >= 2  # more than one fold traded: the last alone would differ
    assert rep["overall"]["out_of_sample"]["max_drawdown"] >= max(f["out_of_sample"]["max_drawdown"]
                                                                  for f in rep["folds"]) - 1e-15
    assert "at least 3 days" in rep["dsr"]["why"]
    drawn = plot_walkforward(rep, str(tmp_path / "p.png"))
    text = " ".join(drawn)
    assert "n/a: < 2 days" in text and "sharpe is undefined" in text.replace("\n", " ")
    assert "PBO n/a" in text and "DSR n/a" in text
    # the table says the same in words
    monkeypatch.setenv("COLUMNS", "400")  # one line per row: the words are not wrapped inside cells
    assert main(["walkforward", str(ds), "--grid", "offset=0.1%,0.2%", "--grid", "quantile=0.9,0.95", "--folds",
                 "3", "--workers", "1", "--no-progress"]) == 0
    table = capsys.readouterr().out
    assert "n/a: < 2 days" in table and "first cell: no sharpe" in table and "Sharpe ratio of daily returns needs" in table
    assert Path(out / "walkforward.png").stat().st_size > 0


def test_the_degradation_says_which_way_out_of_sample_went():
    """Positive: worse out of sample, in the metric's better direction (a drawdown: lower is better); negative:
    better out of sample, and said so in words (never "degradation 5.95" for an improvement)."""
    from liqcore.backtest.results import degradation_text
    from liqcore.sweep.walkforward import _score

    def deg(metric, is_mean, oos_mean):
        return _score(metric, is_mean) - _score(metric, oos_mean)

    assert deg("sharpe", 1.0, 6.95) == pytest.approx(-5.95)
    assert degradation_text(deg("sharpe", 1.0, 6.95), "-5.95") == "degradation -5.95 (better out of sample)"
    assert degradation_text(deg("sharpe", 2.0, 0.5), "1.50") == "degradation 1.50 (worse out of sample)"
    assert deg("max_drawdown", 0.02, 0.05) == pytest.approx(0.03)  # a deeper drawdown out of sample: worse
    assert degradation_text(None, "n/a") == "degradation n/a"


def test_a_span_of_two_days_or_more_has_its_folds_on_midnights():
    """``whole_days``: a recording whose first event is 50 ms after midnight spans whole UTC days (its folds then cut
    on midnights, never a 50 ms sliver of a day counted as a day of no return); a few hours' span keeps its hours."""
    from liqcore.commands._scale import whole_days

    t0 = DEFAULT_START_NS // D * D
    assert whole_days((t0 + 50_000_000, t0 + 9 * D - 10**9)) == (t0, t0 + 9 * D)
    assert whole_days((t0 + 3_600 * 10**9, t0 + 5 * 3_600 * 10**9)) == (t0 + 3_600 * 10**9, t0 + 5 * 3_600 * 10**9)
    f = folds(*whole_days((t0 + 50_000_000, t0 + 9 * D - 10**9)), 3, train="2d", test="2d")
    assert all(x.test.start_ns % D == 0 and x.test.end_ns % D == 0 for x in f)

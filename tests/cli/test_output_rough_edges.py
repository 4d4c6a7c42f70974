"""Rough edges of the command line's output: no empty line in front of an error, one separator in a
printed path, the study's two tables agree on the t-statistic, and a share is printed with its %."""
from __future__ import annotations

import io
import math
import subprocess
import sys

import numpy as np
import pytest
from rich.console import Console

from liqcore.cli import main
from liqcore.commands.outputs import print_frame
from liqcore.data import copy_sample
from liqcore.research.study import t_stat


@pytest.mark.parametrize("cmd", ["backtest", "research", "study", "compare"])
def test_an_early_error_is_the_first_and_only_line_on_stderr(cmd, tmp_path):
    """Progress on (the default), stderr not a terminal: nothing but the error line."""
    p = subprocess.run([sys.executable, "-m", "liqcore", cmd, "--synthetic", "--days", "0"], capture_output=True,
                       timeout=120, cwd=tmp_path)
    assert p.returncode == 2
    err = p.stderr.decode()
    assert err.startswith(f"liqcore {cmd}: error: days: ") and err.count("\n") == 1, repr(err)


def test_research_names_its_report_files_with_one_separator(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    copy_sample(tmp_path / "recordings")
    assert main(["research", "recordings/", "--studies", "event", "--report", "report/", "--no-progress"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "report written to report/FINDINGS.md and report/index.html" in out and "//" not in out
    assert (tmp_path / "report" / "FINDINGS.md").is_file()


def test_t_stat_rule():
    assert math.isnan(t_stat(np.array([]))) and math.isnan(t_stat(np.array([1.0])))
    assert math.isnan(t_stat(np.array([2.0, 2.0])))
    x = np.array([-3.803e-4, -36.78e-4])
    assert t_stat(x) == pytest.approx(x.mean() / (x.std(ddof=1) / math.sqrt(2)))


def test_study_tables_agree_on_t_and_show_shares_in_percent(tmp_path, capsys):
    """The bundled recording holds two cascades: the summary's pooled row and the split table's "all"
    row are the same two cascades, so they give the same t (n = 2 included)."""
    rec = copy_sample(tmp_path / "recordings")
    assert main(["study", str(rec), "--json"]) == 0
    import orjson

    doc = orjson.loads(capsys.readouterr().out)
    summ = {r["horizon"]: r for r in doc["summary"] if r["symbol"] == "ALL" and r["dominant"] == "both"}
    allrow = next(r for r in doc["splits"] if r["split"] == "all")
    assert allrow["n"] == 2
    for h in ("10s", "5m"):
        assert summ[h]["n"] == 2 and summ[h]["t_stat"] is not None
        assert allrow[f"t_{h}"] == pytest.approx(summ[h]["t_stat"])
    assert main(["study", str(rec)]) == 0
    out = capsys.readouterr().out
    row = next(ln for ln in out.splitlines() if ln.startswith("│ all "))
    assert "100%" in row  # recovered_1h: a share, with its %


def test_print_frame_percent_columns():
    import pandas as pd

    con = Console(file=io.StringIO(), width=200)
    print_frame(con, pd.DataFrame({"g": ["a", "b"], "share": [1.0, 0.125], "x": [1.0, float("nan")]}), "t",
                percent=["share"])
    text = con.file.getvalue()
    rows = [ln for ln in text.splitlines() if ln.startswith("│ a ") or ln.startswith("│ b ")]
    assert [c.split() for c in (r.split("│")[2] for r in rows)] == [["100%"], ["12.5%"]]
    assert [r.split("│")[3].strip() for r in rows] == ["1", "—"]  # other columns as before


def test_the_backtest_header_counts_are_the_tables(tmp_path, monkeypatch, capsys):
    """The header's cascade and signal counts are the table's ALL column (it printed the strategy's signal
    rows, one per cascade, as "signals": 118 beside the table's 106)."""
    import re

    monkeypatch.chdir(tmp_path)
    assert main(["backtest", "--synthetic", "--days", "7", "--symbols", "ETHUSDT,SOLUSDT", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    head = re.search(r"strategy cascade-mm: ([\d,]+) cascades, ([\d,]+) signals", out.replace("\n", " "))
    table = {m[0]: int(m[1]) for m in re.findall(r"│ (cascades|signals) +│ +(\d+) │", out)}
    assert head and table, out[:2000]
    assert (int(head[1].replace(",", "")), int(head[2].replace(",", ""))) == (table["cascades"], table["signals"])
    assert table["cascades"] != table["signals"]  # (the case where one number stood for both)


def test_the_sweep_table_says_what_its_return_columns_are(tmp_path, monkeypatch, capsys):
    """"mean ret" beside "return" said neither per what: the columns are the backtest table's "ret/trade" and
    "total ret", a line under the table says what each is, and the title is one line."""
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "--synthetic", "--days", "1", "--symbols", "ETHUSDT", "--grid", "offset=0.1%,0.2%",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    head = [ln for ln in out.splitlines() if "┃" in ln][0]
    assert "ret/trade" in head and "total ret" in head and "mean ret" not in head
    assert ("ret/trade: mean return per trade, a fraction of the trade's entry notional; total ret: the change of "
            "the cell's equity over its span") in " ".join(out.split())
    assert out.splitlines()[0].startswith("sweep on synthetic market") and out.splitlines()[0].endswith(
        "top 2 by total_return")

"""`liqcore demo`: market (cached), detection, backtest, summary beside the guide's claims, report."""
from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout

from liqcore.cli import main


def test_demo_small_market_prints_an_honest_summary_and_writes_the_report(tmp_path):
    out = io.StringIO()
    args = ["demo", "--days", "2", "--symbols", "ETHUSDT,BTCUSDT", "--seed", "11", "--cache-dir",
            str(tmp_path / "cache"), "--report", str(tmp_path / "rep"), "--no-progress"]
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        assert main(args) == 0
    text = out.getvalue()
    assert "73%" in text  # the guide's claim is printed beside the measured win rate
    assert ("The strategy LOST" in text) or ("The strategy MADE" in text) or ("No trade" in text)
    assert "BTCUSDT" in text and "ETHUSDT" in text
    # how many entries the fill rules fill differently, and why
    assert "through vs queue: " in text and "queue vs touch: " in text and "entries filled under" in text
    # the summary and the through line under it differ: the output says why (the price grid)
    assert "The summary above (" in " ".join(text.split()) and "exact offset price" in " ".join(text.split())
    html = (tmp_path / "rep" / "report.html").read_text()
    assert "SYNTHETIC" in html and "guide" in html
    assert "BTCUSDT" in html and "offset 0.1%" in html  # the BTC preset is listed
    assert list((tmp_path / "cache").glob("synth-*.npz"))  # the market is cached
    # a second run uses the cache and gives the same summary
    out2 = io.StringIO()
    with redirect_stdout(out2), redirect_stderr(io.StringIO()):
        i = args.index("--report")  # (--report and --no-report together are refused: a contradiction)
        assert main(args[:i] + args[i + 2:] + ["--no-report"]) == 0
    assert out2.getvalue().split("times:")[0] == text.split("times:")[0]


def test_demo_report_and_no_report_together_is_one_clear_error(tmp_path, capsys, monkeypatch):
    """``--report X --no-report`` dropped ``--report`` without a word; the two contradict each other, and the
    command says so before building anything (no folder made)."""
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--report", str(tmp_path / "X"), "--no-report", "--cache-dir", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"liqcore demo: error: report: --report {tmp_path / 'X'} and --no-report contradict each other; "
                   f"give one of them"], err
    assert list(tmp_path.iterdir()) == []

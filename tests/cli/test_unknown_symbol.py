"""A symbol no venue liqcore knows lists (``--symbols ETHUSD``) gets a warning naming the closest known
instrument, instead of a synthetic market (or a silent live feed) built without a word."""
from __future__ import annotations

import subprocess
import sys

import pytest

from liqcore.cli import main
from liqcore.instruments import known_symbols, unknown_symbol_note
from tests._live_helpers import closed_port


def test_every_known_symbol_passes_and_a_near_miss_names_the_closest():
    assert all(unknown_symbol_note(s) is None for s in known_symbols())
    assert unknown_symbol_note("ethusdt") is None and unknown_symbol_note("SOL-USDT-SWAP") is None
    for typo, closest in (("ETHUSD", "ETHUSDT"), ("BTCUSTD", "BTCUSDT"), ("SOLUSDC", "SOLUSDT"), ("XRPUSD", "XRPUSDT")):
        note = unknown_symbol_note(typo)
        assert note is not None and typo in note and f"the closest is {closest}" in note


def test_far_off_symbol_lists_the_known_ones():
    note = unknown_symbol_note("QQQQQQ")
    assert note is not None and "known: " in note and "BTCUSDT" in note


def _warnings(err: str) -> list[str]:
    return [ln for ln in err.splitlines() if ln.startswith("warning: symbol ")]


def test_synthetic_backtest_warns_once_per_unknown_symbol(capsys):
    args = ["backtest", "--synthetic", "--days", "0.05", "--no-progress", "--json"]
    assert main(args + ["--symbols", "ETHUSD,ETHUSDT"]) == 0
    w = _warnings(capsys.readouterr().err)
    assert len(w) == 1 and "ETHUSD is not an instrument" in w[0] and "the closest is ETHUSDT" in w[0]
    assert "generic parameters" in w[0]
    assert main(args + ["--symbols", "ETHUSDT"]) == 0
    assert _warnings(capsys.readouterr().err) == []


def test_compare_warns_once_for_both_markets(capsys):
    assert main(["compare", "--synthetic", "--days", "0.05", "--symbols", "ETHUSD", "--strategies", "cascade-mm",
                 "--no-progress", "--json"]) == 0
    assert len(_warnings(capsys.readouterr().err)) == 1


@pytest.mark.integration
@pytest.mark.timeout(120)
@pytest.mark.parametrize("cmd", ["run", "record"])
def test_live_run_and_record_warn_before_they_start(tmp_path, cmd):
    port = closed_port()
    extra = ["--rest-url", f"http://127.0.0.1:{port}", "--no-dashboard"] if cmd == "run" else \
        ["--out", str(tmp_path / "rec"), "--quiet"]
    p = subprocess.run([sys.executable, "-m", "liqcore", cmd, "--venue", "bybit", "--symbols", "ETHUSD",
                        "--ws-url", f"ws://127.0.0.1:{port}/", "--duration", "1", *extra],
                       capture_output=True, timeout=90, cwd=tmp_path)
    err = p.stderr.decode()
    w = _warnings(err)
    assert len(w) == 1 and "the closest is ETHUSDT" in w[0] and "the feed may receive nothing" in w[0], err[-2000:]
    assert err.index(w[0]) < err.index("cannot connect")  # said before the run starts

"""The fees a backtest reports are checked against its ledger and say their unit: each trade's ``fees`` is a
fraction of its entry notional and ``fees_quote`` the same in quote currency; the summary's ``fees_quote`` is the
ledger's ``fees_quote`` summed (the ``--json`` trades and ``ledger.csv`` alike) and ``fees_total`` is it as a
fraction of the starting equity."""
from __future__ import annotations

import json
import math

import pyarrow.csv as pcsv


def test_the_summary_fees_reproduce_from_the_ledger(tmp_path, capsys):
    from liqcore.cli import main

    out = tmp_path / "res"
    capsys.readouterr()
    assert main(["backtest", "--synthetic", "--days", "3", "--seed", "3", "--equity", "10000", "--json",
                 "--out", str(out)]) == 0
    got = json.loads(capsys.readouterr().out)
    s, trades = got["summary"], got["trades"]
    assert len(trades) >= 5
    by_trades = math.fsum(t["fees_quote"] for t in trades)
    ledger = pcsv.read_csv(out / "ledger.csv").to_pydict()
    by_ledger = math.fsum(ledger["fees_quote"])
    assert all(math.isclose(q, f * n, rel_tol=1e-12) for q, f, n in
               zip(ledger["fees_quote"], ledger["fees"], ledger["notional"]))
    assert math.isclose(s["fees_quote"], by_trades, rel_tol=1e-12)
    assert math.isclose(s["fees_quote"], by_ledger, rel_tol=1e-9)
    assert math.isclose(s["fees_total"], s["fees_quote"] / s["equity_start"], rel_tol=1e-12)
    assert s["fees_quote"] > 0 and s["equity_start"] == 10000

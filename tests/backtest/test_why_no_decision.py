"""A backtest that takes no decision says why, with the numbers (issue 70, item 9: ``backtest`` of the bundled
sample recording with ``--strategy cascade-fade`` printed "0 cascades" and nothing else): the detector's
cascades that did not reach the strategy's ``min-notional`` (the largest named: the detector's own total for
it), or, when the detector confirmed none, its counts against the threshold's history."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from liqcore.data import sample_recording

ROOT = Path(__file__).resolve().parents[2]


def backtest(*extra):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "liqcore", "backtest", str(sample_recording()), *extra],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    return " ".join((r.stdout + r.stderr).split())


def largest_cascade_notional() -> float:
    """The detector's own total (long + short notional at the cascade's end) of the sample's largest cascade."""
    from liqcore.backtest.run import detect, prepare_events
    from liqcore.config import Params
    from liqcore.dataset.load import load_events
    from liqcore.types import RecordKind

    ev = prepare_events(load_events(sample_recording()).events)
    rec, counts = detect(ev, Params())
    ended = rec[rec["record"] == int(RecordKind.ENDED)]
    assert counts["cascades"] == len(ended) == 2
    return float(np.max(ended["long_notional"] + ended["short_notional"]))


def test_cascade_fade_on_the_sample_says_which_rule_decided_and_the_numbers():
    out = backtest("--strategy", "cascade-fade")
    largest = largest_cascade_notional()
    assert "0 cascades, 0 signals" in out
    assert (f"no decision: the detector confirmed 2 cascade(s), none reached min-notional 5,000,000 (quote) of "
            f"liquidations: the largest reached {largest:,.0f}; --min-notional lowers it") in out, out


def test_without_history_the_detectors_counts_are_named():
    out = backtest("--strategy", "cascade-fade", "--min-history", "500")
    assert ("no decision: the detector confirmed no cascade: 180 liquidations, 0 of them large (above the 0.95 "
            "quantile of the symbol's last 1,000 liquidations, once 500 are known); no symbol has that history: "
            "the most is 180 liquidations (ETHUSDT), --min-history lowers it") in out, out


def test_a_run_with_decisions_says_nothing_of_the_kind():
    out = backtest("--strategy", "cascade-fade", "--min-notional", "2000000")
    assert "1 cascades, 1 signals" in out and "no decision" not in out

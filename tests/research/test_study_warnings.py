"""The studies let numerical warnings be seen: ``run_study`` no longer silences every RuntimeWarning
around the statistics, and no study installs a blanket filter.  Degenerate inputs (no trades, no
liquidations, a single cascade) are handled by explicit checks that yield the study's n/a / NaN
output, not by a silenced warning."""
from __future__ import annotations

import ast
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from liqcore.synthetic.market import synthetic_market
from liqcore.config import Params
from liqcore.execution.detect import confirmed_records, detect
from liqcore.research.studies import STUDIES, Panel, run_study, unavailable
from liqcore.types import Kind

ROOT = Path(__file__).resolve().parents[2]
STUDIES_DIR = ROOT / "liqcore" / "research" / "studies"


@pytest.fixture(scope="module")
def market():
    # small: 2 days (the heatmap needs a previous day), 2 symbols (contagion), open interest (oi)
    return synthetic_market(days=2, symbols=("BTCUSDT", "ETHUSDT"), seed=7, effects={"open_interest": True})


def test_run_study_lets_a_studys_runtime_warning_reach_the_caller(monkeypatch, market):
    def study_warns(panel, **_):
        np.nanmedian(np.full(3, np.nan))  # numpy: "All-NaN slice encountered"
        return unavailable("warns", "a study that hits an all-NaN sample", "every value is NaN")

    monkeypatch.setitem(STUDIES, "warns", study_warns)
    panel = Panel(market.events, market.registry)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        res = run_study("warns", panel)
    assert not res.available
    assert any(issubclass(w.category, RuntimeWarning) and "All-NaN" in str(w.message) for w in seen), \
        [str(w.message) for w in seen]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(RuntimeWarning, match="All-NaN"):
            run_study("warns", panel)


def _blanket_filters(path: Path) -> list[str]:
    """``warnings.simplefilter("ignore", ...)`` anywhere, or ``filterwarnings("ignore", ...)`` without a
    ``message=``: filters that silence a whole category rather than one expected warning."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        first = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
        kws = {k.arg for k in node.keywords}
        if node.func.attr == "simplefilter" and first == "ignore":
            out.append(f"{path.name}:{node.lineno} simplefilter('ignore')")
        if node.func.attr == "filterwarnings" and first == "ignore" and "message" not in kws and len(node.args) < 2:
            out.append(f"{path.name}:{node.lineno} filterwarnings('ignore') without a message")
    return out


def test_no_study_silences_a_whole_warning_category():
    files = sorted(STUDIES_DIR.glob("*.py"))
    assert len(files) >= len(STUDIES)
    found = [b for f in files for b in _blanket_filters(f)]
    assert found == []


def test_every_study_runs_with_runtime_warnings_as_errors(market):
    panel = Panel(market.events, market.registry)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        for name in STUDIES:
            res = run_study(name, panel)
            if name == "lead-lag":  # one venue: nothing to lead (tests/research/test_leadlag.py runs it on several)
                assert not res.available and "two venues" in res.reason
                continue
            assert res.available, (name, res.reason)
            assert res.findings, name


def test_degenerate_inputs_give_na_without_a_runtime_warning(market):
    ev = market.events
    first = np.sort(confirmed_records(detect(ev, Params())[0])["end_ns"])[0]
    one_cascade = ev[(ev["kind"] != Kind.LIQUIDATION) | (ev["ts_event"] <= first)]
    assert len(confirmed_records(detect(one_cascade, Params())[0])) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        # no trades: no price path, so no realized volatility and no quiet/volatile regime in the oi study
        no_trades = Panel(ev[ev["kind"] != Kind.TRADE], market.registry)
        res = run_study("oi", no_trades)
        assert res.available
        assert set(res.tables["oi"]["regime"]) == {"all"}
        assert math.isnan(res.headline["r2_quiet"]) and math.isnan(res.headline["r2_volatile"])
        for name in ("event", "ic", "heatmap", "volatility", "strategies"):
            res = run_study(name, no_trades)
            assert not res.available and "no trades" in res.reason, name
        # open interest that never changes: nothing to explain (this raised "Encountered all NA values")
        const_oi = ev.copy()
        const_oi["qty"][ev["kind"] == Kind.OPEN_INTEREST] = 5.0
        res = run_study("oi", Panel(const_oi, market.registry))
        assert not res.available and "never changes" in res.reason
        # no liquidations: every study says why it cannot run
        no_liq = Panel(ev[ev["kind"] != Kind.LIQUIDATION], market.registry)
        for name in STUDIES:
            res = run_study(name, no_liq)
            assert not res.available and res.findings == [f"not available because {res.reason}"], name
        # a single cascade: the event study reports it, with no interval to judge it by
        res = run_study("event", Panel(one_cascade, market.registry))
        assert res.headline["cascades"] == 1
        assert math.isnan(res.headline["ci_low_bp"]) and math.isnan(res.headline["ci_high_bp"])
        assert "too few observations to judge" in res.findings[0]
        assert "[n/a, n/a]" in res.findings[0]

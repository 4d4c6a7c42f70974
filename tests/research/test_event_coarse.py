"""An event study on coarse prices says so: how many cascades its means are of (a reference trade within
``--max-ref-age``, the horizon inside the data), a warning when the prices are too far apart for a horizon, and
``research`` takes ``--max-ref-age`` as ``study`` does."""
from __future__ import annotations

import json

import numpy as np
import pytest

_DS: dict = {}


def _coarse(tmp_path_factory) -> str:
    """Two synthetic days of one symbol, its trades thinned to the last of each minute (1-minute prices)."""
    if "coarse" not in _DS:
        from liqcore.io import save_events
        from liqcore.synthetic.market import synthetic_market
        from liqcore.types import Kind

        m = synthetic_market(days=2, symbols=("BTCUSDT",), seed=3, cache=False)
        ev = m.events
        tr = np.flatnonzero(ev["kind"] == int(Kind.TRADE))
        minute = ev["ts_recv"][tr] // 60_000_000_000
        keep = ev["kind"] != int(Kind.TRADE)
        keep[tr[np.r_[minute[1:] != minute[:-1], True]]] = True
        path = tmp_path_factory.mktemp("coarse") / "coarse.parquet"
        save_events(ev[keep], str(path), registry=m.registry)
        _DS["coarse"] = str(path)
    return _DS["coarse"]


def _run(capsys, *args) -> dict:
    from liqcore.cli import main

    capsys.readouterr()
    assert main([str(a) for a in args]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_study_says_what_its_means_are_of_and_warns_of_coarse_prices(tmp_path_factory, capsys):
    path = _coarse(tmp_path_factory)
    got = _run(capsys, "study", path, "--json", "--boot", "50")
    assert got["cascades"] > 5 and got["with_reference"] * 2 < got["cascades"]
    assert any("span at most 5 such gaps" in w and "10s, 30s, 1m, 5m" in w for w in got["warnings"]), got["warnings"]
    assert any("have no trade within 5 s before the decision" in w for w in got["warnings"]), got["warnings"]
    top = next(r for r in got["splits"] if r["split"] == "all")
    five = next(r for r in got["summary"] if r["symbol"] == "ALL" and r["dominant"] == "both" and r["horizon"] == "5m")
    assert top["cascades"] == got["cascades"] and top["n"] == five["n"] <= got["with_reference"]


def test_research_takes_max_ref_age(tmp_path_factory, capsys):
    path = _coarse(tmp_path_factory)
    short = _run(capsys, "research", path, "--studies", "event", "--json")["studies"]["event"]["headline"]
    wide = _run(capsys, "research", path, "--studies", "event", "--json", "--max-ref-age", "61s")
    h = wide["studies"]["event"]["headline"]
    assert h["max_ref_age_s"] == 61 and short["max_ref_age_s"] == 5
    assert h["with_reference"] > short["with_reference"] and h["used"] <= h["with_reference"] == h["cascades"]
    assert h["coarse_horizons"] == ["10s", "30s", "1m", "5m"] and h["price_spacing_s"] == pytest.approx(60, abs=1)
    assert any(f.startswith("warning: the prices are") for f in wide["studies"]["event"]["findings"])


def test_a_dense_series_is_not_warned_of(capsys):
    got = _run(capsys, "study", "--synthetic", "--days", "2", "--json", "--boot", "50")
    assert not any("span at most" in w for w in got["warnings"]), got["warnings"]

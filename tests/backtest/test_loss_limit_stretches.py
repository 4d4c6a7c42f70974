"""The flat stretches of the equity curve that the loss limits make are named: in the summary, the
report and the equity plot (shaded, with a legend), replayed from the ledger as the simulator applies
the limits."""
from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console

from liqcore.backtest.report import equity_figure, loss_limit_stretches, print_summary
from liqcore.backtest.run import detect, prepare_events, simulate
from liqcore.synthetic.market import synthetic_market
from liqcore.config import Params


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    m = synthetic_market(days=4, seed=11, symbols=("ETHUSDT", "BTCUSDT"),
                         cache_dir=tmp_path_factory.mktemp("cache"))
    return m, prepare_events(m.events)


@pytest.mark.parametrize("daily,weekly", [(0.002, 0.0), (0.0, 0.004), (0.002, 0.004), (0.01, 0.02)])
def test_stretches_hold_no_entry_and_exist_exactly_when_the_limit_skipped(market, daily, weekly):
    m, ev = market
    p = Params().replace(daily_loss=daily, weekly_loss=weekly)
    rec, _ = detect(ev, p)
    r = simulate(ev, rec, m.registry, p, equity=10_000.0)
    st = loss_limit_stretches(r)
    skipped = r.summary()["loss_limit"]
    assert bool(st) == bool(skipped > 0)
    L = r.ledger
    for a, b, kind in st:
        assert r.start_ns <= a < b <= r.end_ns and kind in (("daily",) if weekly == 0 else ("daily", "weekly"))
        assert not ((L["signal_ns"] >= a) & (L["signal_ns"] < b)).any(), "an entry was decided inside a stretch"
        if kind == "daily":
            assert a // 86_400_000_000_000 == (b - 1) // 86_400_000_000_000  # within one UTC day
    assert all(b1 <= a2 for (_, b1, _), (a2, _, _) in zip(st, st[1:]))  # in time, not overlapping
    if skipped:
        con = Console(file=io.StringIO(), width=250)
        print_summary(r, con, guide=False)
        out = con.file.getvalue()
        assert f"loss limits: {len(st)} stretch(es)" in out and "flat parts of the equity curve" in out
        legend = equity_figure(r).axes[0].get_legend()
        assert legend is not None
        assert {t.get_text() for t in legend.get_texts()} == {f"{k} loss limit: no new entries" for _, _, k in st}


def test_no_limits_no_stretches(market):
    m, ev = market
    p = Params().replace(daily_loss=0.0, weekly_loss=0.0)
    rec, _ = detect(ev, p)
    r = simulate(ev, rec, m.registry, p, equity=10_000.0)
    assert r.summary()["loss_limit"] == 0 and loss_limit_stretches(r) == []

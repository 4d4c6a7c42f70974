"""The summary counts add up as docs/reference/backtest-outputs.md writes them: each identity on the page is read from
the page and checked on backtests that exercise its terms (a daily trade limit, no cooldown, the queue rule), so the
page cannot leave a count out (it left out ``daily_trades`` and the exits beyond the three first ones)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from liqcore import Params, backtest, synthetic_market

DOC = Path(__file__).resolve().parents[2] / "docs" / "reference" / "backtest-outputs.md"


def _identities() -> list[tuple[str, list[str]]]:
    text = " ".join(DOC.read_text().split())
    block = re.search(r"They add up \(a count of an option left off is 0\): (.*?)\.", text).group(1)
    out = []
    for eq in block.split(";"):
        left, right = (x.strip() for x in eq.split("="))
        out.append((left, [t.strip() for t in right.split("+")]))
    return out


@pytest.fixture(scope="module")
def market():
    return synthetic_market(days=3, symbols=("ETHUSDT", "SOLUSDT"), seed=11)


@pytest.mark.parametrize("kw", [{}, {"daily-trades": 1, "cooldown": 0}, {"fill": "queue", "max-symbols": 1},
                                {"trail": "0.3%", "cooldown": 0}])
def test_the_pages_identities_hold(market, kw):
    ids = _identities()
    assert [x[0] for x in ids] == ["cascades", "signals", "orders", "fills"]
    res = backtest(market, Params.from_mapping(kw), equity=1000.0)
    s = res.to_json()["summary"]
    for left, terms in ids:
        assert all(t in s for t in terms), (left, [t for t in terms if t not in s])
        assert s[left] == sum(s[t] for t in terms), (left, {t: s[t] for t in terms}, s[left])
    assert s["cascades"] > 0 and s["fills"] > 0
    if kw.get("daily-trades"):
        assert s["daily_trades"] > 0  # (the count the page left out, exercised)

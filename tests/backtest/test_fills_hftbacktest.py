"""``--fill queue`` against hftbacktest's queue models, order by order, on two hours of the synthetic
market's top of book (benches/hbt_compare.py; skipped when hftbacktest is not installed)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("hftbacktest")

pytestmark = pytest.mark.slow


def test_queue_fills_agree_with_hftbacktest_order_by_order():
    sys.path.insert(0, str(ROOT))
    try:
        from benches.hbt_compare import compare, explain
    finally:
        sys.path.remove(str(ROOT))
    res, orders, ev = compare(hours=2.0, every_s=20.0, models=("risk-averse", "prob:2"))
    for model, (n, agree, diff, a, b) in res.items():
        assert n > 300
        assert agree / n >= 0.99, (model, agree, n)
        # the orders that join at the best are filled exactly as hftbacktest fills them
        at_best = [j for j, o in enumerate(orders) if o[3] == "at best"]
        assert all((a[j] is None) == (b[j] is None) for j in at_best)
        # and every difference has the one known cause: a level behind the best, unseen at arrival
        for j, _kind, x, y in diff:
            assert explain(ev, orders, j, x, y, 50_000_000).startswith("unseen level"), j

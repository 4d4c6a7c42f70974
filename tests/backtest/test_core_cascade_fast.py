"""StrategyCore.on_cascade: the plain-dict fast path (and the compiled entry point it calls) decides
exactly as the generic record parsing does, for orders and every refusal; other argument types fall back
to the dispatcher."""
from __future__ import annotations

from types import MappingProxyType

import numpy as np
import pytest

from liqcore.backtest.core import StrategyCore
from liqcore.config import Params


def _pair():
    p = Params()
    syms = ["bybit:ETHUSDT", "bybit:BTCUSDT"]
    return StrategyCore(p, syms, equity=10_000.0, mode="venue"), StrategyCore(p, syms, equity=10_000.0, mode="venue")


@pytest.mark.parametrize("dominant", [1, 2, 0])
def test_dict_fast_path_equals_generic_parsing(dominant):
    fast, slow = _pair()
    out_fast, out_slow = [], []
    t = 1_700_000_000_000_000_000
    for k in range(12):
        ts = t + k * 30_000_000_000  # 30 s apart: busy / cooldown refusals appear between orders
        for c in (fast, slow):
            c.on_trade(k % 2, ts, 3000.0 + k)
        rec = {"symbol_idx": k % 2, "ts_ns": ts + 5, "dominant": dominant, "cascade_id": k}
        out_fast.append(fast.on_cascade(rec))
        out_slow.append(slow.on_cascade(MappingProxyType(rec)))  # a Mapping that is not a dict: generic path
        if k % 3 == 2:
            for c in (fast, slow):
                c.external_reject(k % 2, ts + 6)
    assert out_fast == out_slow
    assert any(o["action"] == "order" for o in out_fast) == (dominant != 0)
    assert any(o["action"] == "none" for o in out_fast)
    assert fast.st.tobytes() == slow.st.tobytes() and fast.port.tobytes() == slow.port.tobytes()  # NaN levels too
    assert np.array_equal(fast.counts, slow.counts)


def test_other_types_fall_back_and_agree():
    a, b = _pair()
    t = 1_700_000_000_000_000_000
    for c in (a, b):
        c.on_trade(0, t, 3000.0)
    ra = a.on_cascade({"symbol_idx": 0, "ts_ns": t + 1, "dominant": 1, "cascade_id": 1})
    # numpy scalars and string dominants take the generic path and the dispatcher
    rb = b.on_cascade({"symbol_idx": np.int64(0), "ts_ns": np.int64(t + 1), "dominant": "long", "cascade_id": 1})
    assert ra == rb and ra["action"] == "order"
    with pytest.raises(ValueError, match="dominant"):
        a.on_cascade({"symbol_idx": 0, "ts_ns": t + 2, "dominant": "sideways"})
    with pytest.raises(ValueError, match="symbol_idx"):
        a.on_cascade({"symbol_idx": 7, "ts_ns": t + 2, "dominant": 1})
    ended = a.on_cascade({"symbol_idx": 0, "ts_ns": t + 3, "dominant": 1, "record": 2})
    assert ended["reason"] == "not_confirmed"

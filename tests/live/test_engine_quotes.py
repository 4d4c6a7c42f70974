"""The engine with top of book in its feed: quote frames reach the detector as quotes (no reject), and
a quote through the resting entry's price is no trade print (nothing fills until a trade does)."""
from __future__ import annotations

import orjson
import pytest

from liqcore.live.engine import Engine
from liqcore.testing.fake_replay import trade_frame
from liqcore.venues.bybit.samples import orderbook_frame

from _live_helpers import PARAMS, cascade_frames

pytestmark = pytest.mark.timeout(60)


def test_quotes_are_not_prints_and_not_rejects():
    fills = []
    eng = Engine(PARAMS, symbols=["ETHUSDT"], on_fill=fills.append)
    t0 = 1_763_683_200_000
    ds = []
    for f in cascade_frames(t0_ms=t0):
        ds += eng.on_frame("bybit", f, orjson.loads(f)["ts"] * 1_000_000)
    assert len(ds) == 1 and ds[0].action == "order" and ds[0].price == 2995.5
    # the book trades through the resting buy at 2995.5: quotes only, so nothing fills
    for i, (bid, ask) in enumerate([(2990.0, 2990.5), (2980.0, 2981.0), (2985.0, 2985.5)]):
        t = t0 + 23_000 + i
        assert eng.on_frame("bybit", orderbook_frame("ETHUSDT", t, bid, 5.0, ask, 5.0, update_id=i + 1), t * 10**6) == []
    assert fills == []
    assert "kind" not in eng.rejects and not eng.rejects.get("implausible_price")
    assert eng.decoder("bybit").counters["rejected_frames"] == 0
    t = t0 + 24_000
    eng.on_frame("bybit", orjson.dumps(trade_frame("ETHUSDT", 2995.0, 1, "Sell", t)), t * 10**6)
    assert [(f.kind, f.side, f.price) for f in fills] == [("entry", "buy", 2995.5)]

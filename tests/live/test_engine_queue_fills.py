"""Paper trading under ``--fill queue``: the engine hands its core the top of book, so a resting
post-only entry joins behind the size displayed at its price and fills only once more than that has
traded there -- the same rule as the backtest's (the core calls the same step functions)."""
from __future__ import annotations

import orjson
import pytest

from liqcore.live.engine import Engine
from liqcore.testing.fake_replay import trade_frame
from liqcore.venues.bybit.samples import orderbook_frame

from _live_helpers import PARAMS, cascade_frames

pytestmark = pytest.mark.timeout(60)


def _session(fill: str):
    fills = []
    eng = Engine(PARAMS.replace(fill=fill), symbols=["ETHUSDT"], on_fill=fills.append)
    t0 = 1_763_683_200_000
    ds = []
    for f in cascade_frames(t0_ms=t0):
        ds += eng.on_frame("bybit", f, orjson.loads(f)["ts"] * 1_000_000)
    assert len(ds) == 1 and ds[0].action == "order" and ds[0].price == 2995.5
    # the book comes down to the entry's price: 5.0 shown at the best bid 2995.5, ahead of it
    t = t0 + 23_000
    eng.on_frame("bybit", orderbook_frame("ETHUSDT", t, 2995.5, 5.0, 2996.0, 4.0, update_id=1), t * 10**6)
    at = []
    for i, qty in enumerate((3.0, 1.5, 1.0)):  # sells at the price: 3.0, 4.5, then 5.5 traded there
        t = t0 + 24_000 + 1000 * i
        eng.on_frame("bybit", orjson.dumps(trade_frame("ETHUSDT", 2995.5, qty, "Sell", t, trade_id=f"q{i}")),
                     t * 10**6)
        at.append(len(fills))
    return at, fills, eng


def test_paper_queue_fill_waits_for_the_displayed_queue_at_its_price():
    at, fills, eng = _session("queue")
    assert at == [0, 0, 1]  # not before more than the 5.0 ahead of it has traded
    assert [(f.kind, f.side, f.price) for f in fills] == [("entry", "buy", 2995.5)]
    assert eng.core.wants_quotes


def test_paper_touch_fills_on_the_first_print_and_through_never():
    at, fills, _ = _session("touch")
    assert at == [1, 1, 1]
    at, fills, eng = _session("through")
    assert at == [0, 0, 0] and not eng.core.wants_quotes


def test_live_feed_subscribes_the_top_of_book_under_the_queue_rule():
    from liqcore.live.feeds import FeedManager
    from liqcore.live.runner import strategy_needs

    queue = Engine(PARAMS.replace(fill="queue"), symbols=["ETHUSDT"])
    through = Engine(PARAMS, symbols=["ETHUSDT"])
    assert "quote" in strategy_needs(queue) and "quote" not in strategy_needs(through)
    for venue, topic in (("bybit", "orderbook.1.ETHUSDT"), ("binance", "ethusdt@bookTicker"), ("okx", "bbo-tbt")):
        fm = FeedManager(venue, ["ETHUSDT"], lambda *a: None, needs=strategy_needs(queue))
        subs = repr([s.__dict__ for s in fm.specs])
        assert topic in subs, (venue, subs[:300])
        plain = FeedManager(venue, ["ETHUSDT"], lambda *a: None, needs=strategy_needs(through))
        assert topic not in repr([s.__dict__ for s in plain.specs])


def test_live_feed_subscribes_the_top_of_book_whatever_the_fill_rule():
    """Orders at a venue (a gateway that is not the paper one): the top of book is subscribed under every fill
    rule (the live queue estimate of a resting entry and the silent-stream watch read it); paper trading
    asks for it only under the queue rule."""
    from liqcore.live.feeds import FeedManager
    from liqcore.venues.okx.gateway import OkxGateway
    from liqcore.live.runner import book_needs, strategy_needs

    assert book_needs(False, True) == book_needs(True, False) == {"quote"} and not book_needs(False, False)
    for fill in ("through", "touch", "queue"):
        gw = OkxGateway("k", "s", "p", "http://127.0.0.1:9", "ws://127.0.0.1:9", symbols=["ETH-USDT-SWAP"])
        live = Engine(PARAMS.replace(fill=fill), venues=("okx",), symbols=["ETH-USDT-SWAP"], gateway=gw)
        assert not live.paper and "quote" in strategy_needs(live), fill
        fm = FeedManager("okx", ["ETH-USDT-SWAP"], lambda *a: None, needs=strategy_needs(live))
        assert "bbo-tbt" in repr([s.__dict__ for s in fm.specs]), fill

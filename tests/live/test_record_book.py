"""`liqcore record` subscribes to the top of book by default (``--no-book`` turns it off), against the
fake exchange on 127.0.0.1; the recording loads back as QUOTE rows.  Subscriptions per venue too."""
from __future__ import annotations

import io
import threading
import time
from contextlib import redirect_stderr, redirect_stdout

import orjson
import pytest

from liqcore.cli import main
from liqcore.venues.bybit.samples import orderbook_frame


def _record(tmp_path, extra):
    from liqcore.testing import FakeExchangeThread

    ft = FakeExchangeThread()
    fx = ft.start()

    def venue():
        deadline = time.monotonic() + 30  # (the recorder's trades subscribed: a busy machine may take seconds)
        want = ["publicTrade.ETHUSDT"] + ([] if "--no-book" in extra else ["orderbook.1.ETHUSDT"])
        while not all(fx.subscribed(t) for t in want) and time.monotonic() < deadline:
            time.sleep(0.02)
        for i in range(5):
            t = int(time.time() * 1000)
            ft.call(fx.push(orderbook_frame("ETHUSDT", t, 3000.0 + i, 1.5, 3000.5 + i, 2.0, update_id=i + 1)))
            ft.call(fx.trade("ETHUSDT", 3000.2 + i))
            time.sleep(0.05)

    t = threading.Thread(target=venue, daemon=True)
    try:
        t.start()
        out = io.StringIO()
        with redirect_stdout(out), redirect_stderr(io.StringIO()):
            code = main(["record", "--venue", "bybit", "--symbols", "ETHUSDT", "--out", str(tmp_path),
                         "--ws-url", fx.public_ws_url, "--duration", "4", "--flush", "0.1", "--quiet", *extra])
        t.join(5)
    finally:
        ft.stop()
    assert code == 0, out.getvalue()
    return tmp_path


def _topics(lines):
    return [str(x["frame"].get("topic", "")) for x in lines if "frame" in x and isinstance(x["frame"], dict)]


def test_record_subscribes_top_of_book_by_default_and_it_loads_as_quotes(tmp_path):
    from liqcore.dataset.load import load_events
    from liqcore.live.recorder import read_lines
    from liqcore.types import Kind

    out = _record(tmp_path / "rec", [])
    lines = [orjson.loads(x) for f in sorted(out.iterdir()) for x in read_lines(f)]
    assert sum(t.startswith("orderbook.1.ETHUSDT") for t in _topics(lines)) == 5
    res = load_events(out)
    q = res.events[res.events["kind"] == Kind.QUOTE]
    assert len(q) == 10 and res.n_rejected == 0, res.rejects
    assert sorted(q["price"].tolist())[:2] == [3000.0, 3000.5]


def test_record_no_book_leaves_it_out(tmp_path):
    from liqcore.live.recorder import read_lines

    out = _record(tmp_path / "rec", ["--no-book"])
    lines = [orjson.loads(x) for f in sorted(out.iterdir()) for x in read_lines(f)]
    topics = _topics(lines)
    assert not any(t.startswith("orderbook") for t in topics)
    assert sum(t.startswith("publicTrade") for t in topics) == 5


@pytest.mark.parametrize("venue, want", [("binance", "ethusdt@bookTicker"), ("bybit", "orderbook.1.ETHUSDT"),
                                         ("okx", '{"channel":"bbo-tbt","instId":"ETH-USDT-SWAP"}')])
def test_each_venue_subscribes_its_top_of_book_only_when_asked(venue, want):
    from liqcore.live.feeds import stream_module

    mod = stream_module(venue)
    with_book = [t for s in mod.connection_specs(["ETHUSDT"], book=True) for t in s.topics]
    without = [t for s in mod.connection_specs(["ETHUSDT"]) for t in s.topics]
    assert want in with_book and want not in without
    assert set(without) < set(with_book)

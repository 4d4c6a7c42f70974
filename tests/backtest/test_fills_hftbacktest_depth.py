"""``--fill queue`` with L2 depth against hftbacktest's L2 backtest, order by order, on the generated
stream of benches/hbt_depth.py (levels up to 20 ticks behind the best cancelled and refilled while orders
rest there, sweeps printing at them; orders 0-20 ticks behind the best).  Runs wherever hftbacktest is
installed (the ``agreement`` extra; CI installs it); under CI (CI=true) its absence is a failure."""
from __future__ import annotations

import os

import numpy as np
import pytest

from _agreement import bench, require_hftbacktest

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

require_hftbacktest()


def _bench():
    return bench("hbt_depth")


@pytest.fixture(scope="module")
def stream():
    hd = _bench()
    ev, tick = hd.depth_stream(n_events=16_000, seed=5)
    return hd, ev, tick


def test_the_stream_is_one_book_in_both_formats(stream):
    """hftbacktest's depth, replayed from the converted events, has the best bid and ask (and their
    sizes) that liqcore's rows give, at every order's decision time; the stream changes levels behind
    the best and prints there."""
    from hftbacktest import BacktestAsset, HashMapMarketDepthBacktest

    hd, ev, tick = stream
    hev = hd.to_hftbacktest(ev, tick)
    orders = hd.depth_orders(ev, tick, every_s=15.0)
    assert len(orders) >= 40
    a = (BacktestAsset().data([hev]).linear_asset(1.0).constant_order_latency(0, 0).no_partial_fill_exchange()
         .trading_value_fee_model(0.0, 0.0).tick_size(tick).lot_size(hd.hc.LOT).last_trades_capacity(0)
         .risk_adverse_queue_model())
    hbt = HashMapMarketDepthBacktest([a])
    hbt.elapse(1)  # the clock starts at the first event
    book = hd.Book(tick)
    ts, kind, side, price, qty, flags = hd._cols(ev)
    i = 0
    for t, *_ in orders:
        while i < len(ts) and ts[i] <= t:
            book.apply(kind[i], side[i], price[i], qty[i], flags[i])
            i += 1
        hbt.elapse(t - hbt.current_timestamp)
        d = hbt.depth(0)
        bb, ba = book.best(hd.BID), book.best(hd.ASK)
        assert round(d.best_bid / tick) == bb and round(d.best_ask / tick) == ba, (t, d.best_bid, d.best_ask, bb, ba)
        assert d.best_bid_qty == pytest.approx(book.side[hd.BID][bb])
        assert d.best_ask_qty == pytest.approx(book.side[hd.ASK][ba])
        for back in (3, 11, 20):  # levels behind the best too
            assert d.bid_qty_at_tick(bb - back) == pytest.approx(book.side[hd.BID].get(bb - back, 0.0))
    hbt.close()
    # hidden levels change and sweeps print behind the best
    tr = ev[ev["kind"] == hd.TRADE]
    assert len(np.unique(tr["ts_recv"])) == len(tr)  # every print its own event
    dep = ev[(ev["kind"] == hd.DEPTH) & (ev["flags"] == 0)]
    assert len(dep) > 4000


MS = 1_000_000
T0 = 1_700_000_000_000_000_000


@pytest.mark.parametrize("model", ["risk-averse", "prob:2"])
def test_the_probe_is_hftbacktests_outcome(stream, model):
    """The probe's (benches/hbt_depth.depth_probe) expectation is hftbacktest's: it fills the order on the
    0.5 print; liqcore's top-of-book rule (the rows without depth) does not fill it."""
    hd = stream[0]
    ev, tick, orders = hd.depth_probe()
    hb = hd.hc.run_hftbacktest(hd.to_hftbacktest(ev, tick), orders, tick, 50 * MS, 30_000 * MS, model)
    assert hb == [T0 + 5000 * MS]
    assert hd.run_liqcore_depth(ev, orders, tick, 50 * MS, 30_000 * MS, model, depth=False) == [None]


@pytest.mark.parametrize("model", ["risk-averse", "prob:2"])
@pytest.mark.parametrize("ask, fills", [(2999.98, True), (2999.95, True), (2999.99, False)])
def test_a_depth_row_crossing_the_order_is_a_fill_in_both(stream, model, ask, fills):
    """hftbacktest fills a resting order on the depth row that brings the other side's best to or through its
    price (no print); liqcore's ``depth cross`` fills it at the same row.  Negative control: an ask one tick
    above the order fills neither; liqcore without the depth (top of book, prints only) never fills it."""
    hd = stream[0]
    ev, tick, orders = hd.cross_probe(ask)
    hb = hd.hc.run_hftbacktest(hd.to_hftbacktest(ev, tick), orders, tick, 50 * MS, 30_000 * MS, model)
    lq = hd.run_liqcore_depth(ev, orders, tick, 50 * MS, 30_000 * MS, model)
    assert hb == ([T0 + 5000 * MS] if fills else [None])
    assert lq == hb
    assert hd.run_liqcore_depth(ev, orders, tick, 50 * MS, 30_000 * MS, model, depth=False) == [None]


@pytest.mark.parametrize("model", ["risk-averse", "prob:2"])
@pytest.mark.parametrize("last, filled", [(3.0, 2.0), (0.25, 1.25)])
def test_partial_fills_are_hftbacktests_partial_fill_exchanges(stream, model, last, filled):
    """``--partial on`` against hftbacktest's ``PartialFillExchange`` on :func:`partial_probe`: a buy of 2 with 1.0
    ahead, prints of 1.5, 0.5 and ``last`` at its price: both fill 0.5 on the first print and ``filled`` in all by
    the cancel.  Negative control: the level x1e9 is not filled on the first print (only once the depth shows
    the level empty)."""
    hd = stream[0]
    ev, tick, orders = hd.partial_probe(last)
    lat, tmo = 50 * MS, 30_000 * MS
    hb = hd.run_hftbacktest_partial(hd.to_hftbacktest(ev, tick), orders, tick, lat, tmo, model, 2.0, ev["ts_recv"])
    lq = hd.run_liqcore_partial(ev, orders, tick, lat, tmo, model, 2.0)
    assert hb[0][0] == T0 + 5000 * MS and hb[0][1] == pytest.approx(filled)
    assert lq[0][0] == hb[0][0] and lq[0][1] == pytest.approx(hb[0][1], abs=1e-9)
    assert hd.same_partial(ev, lq, hb, 2.0) == (1, 1)
    control = hd.run_liqcore_partial(ev, orders, tick, lat, tmo, model, 2.0, qty_scale=1e9)
    assert control[0][0] != hb[0][0] and hd.same_partial(ev, control, hb, 2.0) == (1, 0)


@pytest.mark.parametrize("model", ["risk-averse", "prob:2"])
def test_partial_fills_agree_with_hftbacktest_on_the_stream(stream, model):
    """The generated stream with orders of its 90th percentile print under ``--partial on`` and
    ``PartialFillExchange``: the same first fill and quantity on >= 99 % of orders; the x1e9 control < 85 %."""
    hd, ev, tick = stream
    res = hd.compare_partial(ev, tick, 15.0, 50.0, 90.0, models=(model,))
    got = res["models"][model]
    n, same = hd.same_partial(ev, *got["depth"], res["qty"])
    cn, csame = hd.same_partial(ev, *got["x1e9"], res["qty"])
    assert n >= 50 and same >= 0.99 * n, (same, n)
    assert csame < 0.85 * cn, (csame, cn)


@pytest.fixture(scope="module")
def result(stream):
    hd, ev, tick = stream
    if not hd.liqcore_reads_depth():
        if CI:
            raise AssertionError("liqcore's --fill queue does not read the queue from depth rows (the probe order "
                                 "behind the best did not fill on the print its queue allows)")
        pytest.skip("liqcore's --fill queue does not read depth rows yet: the depth agreement gate cannot run")
    return hd, hd.compare(ev, tick, every_s=15.0, latency_ms=50.0, timeout_s=90.0)


@pytest.mark.parametrize("model", ["risk-averse", "prob:2"])
def test_depth_fills_agree_with_hftbacktest_and_the_control_does_not(result, model):
    hd, res = result
    ev = res["ev"]
    lq, hb = res["models"][model]["depth"]
    n, same = hd.same_outcome(ev, lq, hb)
    assert n >= 50 and res["why"][model].count("queue") >= 15  # fills on a print AT the limit: the queue decides
    assert same >= 0.99 * n, (model, same, n)
    tn, tsame = hd.same_outcome(ev, *res["models"][model]["top of book"])
    assert tsame < 0.95 * tn, (model, tsame, tn)  # the stream defeats the top-of-book rule: depth is what agrees
    cn, csame = hd.same_outcome(ev, *res["models"][model]["x1e9"])
    assert csame < 0.85 * cn, (model, csame, cn)  # sizes x1e9 at the order's level: the queue decides here


def _write_tardis(hd, ev, folder):
    """The stream as a tardis ``incremental_book_L2`` file and its ``trades`` file (us times: rows less
    than 1 us apart are moved 1 us apart, in order; ``timestamp`` = ``local_timestamp``)."""
    us = []
    for t in (ev["ts_recv"] // 1000).tolist():
        us.append(max(t, us[-1] + 1) if us else t)
    d_lines = ["exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"]
    t_lines = ["exchange,symbol,timestamp,local_timestamp,id,side,price,amount"]
    for e, u in zip(ev, us):
        if int(e["kind"]) == hd.DEPTH:
            snap = "true" if int(e["flags"]) & hd.SNAPSHOT else "false"
            side = "bid" if int(e["side"]) == hd.BID else "ask"
            d_lines.append(f"binance-futures,ETHUSDT,{u},{u},{snap},{side},{e['price']:.2f},{e['qty']:.6f}")
        elif int(e["kind"]) == hd.TRADE:
            side = "buy" if int(e["side"]) == hd.BID else "sell"
            t_lines.append(f"binance-futures,ETHUSDT,{u},{u},{len(t_lines)},{side},{e['price']:.2f},{e['qty']:.6f}")
    dp = folder / "binance-futures_incremental_book_L2_2023-11-14_ETHUSDT.csv"
    tp = folder / "binance-futures_trades_2023-11-14_ETHUSDT.csv"
    dp.write_text("\n".join(d_lines) + "\n")
    tp.write_text("\n".join(t_lines) + "\n")
    return dp, tp


def test_tardis_files_read_as_hftbacktests_own_converter_reads_them(stream, tmp_path):
    """read_tardis + to_hftbacktest against hftbacktest's ``data.utils.tardis.convert`` of the same files:
    hftbacktest fills the same orders at the same times from either."""
    from hftbacktest.data.utils import tardis

    hd, ev, tick = stream
    ev = ev[:6000]
    dp, tp = _write_tardis(hd, ev, tmp_path)
    ours, tick2 = hd.read_tardis(str(dp), str(tp))
    assert tick2 == pytest.approx(tick)
    assert (ours["kind"] == hd.DEPTH).sum() == (ev["kind"] == hd.DEPTH).sum()
    assert (ours["kind"] == hd.TRADE).sum() == (ev["kind"] == hd.TRADE).sum()
    theirs = tardis.convert([str(tp), str(dp)], buffer_size=4 * len(ev))  # trades first, as its docstring asks
    orders = hd.depth_orders(ours, tick, every_s=4.0, warmup_s=2.0)
    assert len(orders) >= 30
    for model in ("risk-averse", "prob:2"):
        a = hd.hc.run_hftbacktest(hd.to_hftbacktest(ours, tick), orders, tick, 50 * MS, 20_000 * MS, model)
        b = hd.hc.run_hftbacktest(theirs, orders, tick, 50 * MS, 20_000 * MS, model)
        assert a == b
        assert sum(x is not None for x in a) >= 5


def test_a_raw_binance_capture_is_read_by_binances_book_rules(tmp_path):
    """read_capture: the REST snapshot is a SNAPSHOT run; updates older than it are dropped, those before
    any snapshot too; a ``pu`` that is not the last ``u`` gives a DEPTH_GAP row and nothing until the next
    snapshot; a trade's side is the taker's (``m`` true: a taker SELL); at one receive time prints come
    before the depth; quotes follow the depth's best."""
    import gzip
    import json

    hd = _bench()

    def frame(ns, stream, data):
        return f"{ns} " + json.dumps({"stream": stream, "data": data})

    def upd(U, u, pu, b=(), a=()):
        return {"e": "depthUpdate", "E": 1, "T": 1, "s": "ETHUSDT", "U": U, "u": u, "pu": pu,
                "b": [[f"{p:.2f}", f"{q:.3f}"] for p, q in b], "a": [[f"{p:.2f}", f"{q:.3f}"] for p, q in a]}

    def trade(p, q, m):
        return {"e": "trade", "E": 1, "T": 1, "s": "ETHUSDT", "t": 1, "p": f"{p:.2f}", "q": f"{q:.3f}", "X": "MARKET",
                "m": m}

    s = "ethusdt@depth@0ms"
    lines = [
        frame(100, s, upd(1, 5, 0, b=[(99.0, 1.0)])),  # before any snapshot: dropped
        "200 " + json.dumps({"lastUpdateId": 10, "E": 1, "T": 1, "bids": [["100.00", "2.000"], ["99.99", "1.000"]],
                             "asks": [["100.01", "3.000"], ["100.02", "1.500"]]}),
        frame(300, s, upd(6, 9, 5, b=[(100.0, 9.0)])),  # older than the snapshot: dropped
        frame(400, s, upd(9, 12, 9, b=[(100.0, 1.5)])),
        frame(500, "ethusdt@trade", trade(100.0, 0.5, True)),
        frame(500, s, upd(13, 14, 12, b=[(100.0, 1.0)], a=[(100.02, 0.0)])),
        frame(600, s, upd(20, 21, 19, b=[(99.99, 4.0)])),  # pu 19 != 14: a gap
        frame(700, s, upd(22, 23, 21, b=[(99.99, 5.0)])),  # after the gap, before a snapshot: dropped
        frame(800, "ethusdt@trade", trade(100.01, 0.2, False)),
        "not a frame",
    ]
    p = tmp_path / "cap.gz"
    with gzip.open(p, "wt") as f:
        f.write("\n".join(lines) + "\n")
    ev, tick, counts = hd.read_capture(str(p))
    assert tick == pytest.approx(0.01)
    assert counts["before_snapshot"] == 2 and counts["stale"] == 1 and counts["gaps"] == 1 and counts["bad"] == 1
    got = [(int(e["ts_recv"]), int(e["kind"]), int(e["side"]), round(float(e["price"]), 2), float(e["qty"]),
            int(e["flags"])) for e in ev]
    snap = [r for r in got if r[5] & hd.SNAPSHOT]
    assert [(r[2], r[3], r[4]) for r in snap] == [(3, 100.0, 2.0), (3, 99.99, 1.0), (4, 100.01, 3.0), (4, 100.02, 1.5)]
    depth = [(r[0], r[2], r[3], r[4]) for r in got if r[1] == hd.DEPTH and not r[5]]
    assert depth == [(400, 3, 100.0, 1.5), (500, 3, 100.0, 1.0), (500, 4, 100.02, 0.0)]
    assert [r for r in got if r[5] & 64] == [(600, hd.DEPTH, 0, 0.0, 0.0, 64)]
    trades = [(r[0], r[2], r[3], r[4]) for r in got if r[1] == hd.TRADE]
    assert trades == [(500, 4, 100.0, 0.5), (800, 3, 100.01, 0.2)]
    at500 = [r[1] for r in got if r[0] == 500]
    assert at500[0] == hd.TRADE  # the print before the depth of the same receive time
    quotes = [(r[0], r[2], r[3], r[4]) for r in got if r[1] == hd.QUOTE]
    assert quotes[:2] == [(200, 3, 100.0, 2.0), (200, 4, 100.01, 3.0)]
    assert quotes[-2:] == [(500, 3, 100.0, 1.0), (500, 4, 100.01, 3.0)]
    h = hd.to_hftbacktest(ev, tick)  # the gap clears hftbacktest's book too
    from hftbacktest.types import DEPTH_CLEAR_EVENT

    clears = h[(h["ev"] & DEPTH_CLEAR_EVENT) == DEPTH_CLEAR_EVENT]
    assert clears["local_ts"].tolist() == [200, 600]

"""The decoder's single-event fast paths after orjson (Bybit legacy ``liquidation.``, OKX
``liquidation-orders``) give exactly what the checked parsers give: rows, counters, rejects and
duplicate suppression, for documented frames and every near miss (which fall back to the checked path)."""
from __future__ import annotations

import orjson
import pytest

from liqcore.venues import decoder as D


def legacy(**kw):
    d = {"updatedTime": 1703485237953, "symbol": "BTCUSDT", "side": "Sell", "size": "0.003", "price": "43511.70"}
    d.update(kw)
    d = {k: v for k, v in d.items() if v is not ...}
    return orjson.dumps({"topic": "liquidation.BTCUSDT", "type": "snapshot", "ts": 1703485237953, "data": d})


def okx(details=None, **kw):
    x = {"bkLoss": "0", "bkPx": "0.007831", "ccy": "", "posSide": "short", "side": "buy", "sz": "13", "ts": "1692266434010"}
    x.update(kw)
    x = {k: v for k, v in x.items() if v is not ...}
    return orjson.dumps({"arg": {"channel": "liquidation-orders", "instType": "SWAP"},
                         "data": [{"details": details if details is not None else [x], "instFamily": "BTC-USDT",
                                   "instId": "BTC-USDT-SWAP", "instType": "SWAP", "uly": "BTC-USDT"}]})


LEGACY = [legacy(), legacy(side="Buy"), legacy(side="buy"), legacy(side="SELL"), legacy(side="Long"), legacy(side=1),
          legacy(side=...), legacy(updatedTime=...), legacy(updatedTime=..., updateTime=1703485237953),
          legacy(updatedTime="1703485237953"), legacy(updatedTime=15), legacy(updatedTime=1.7e12),
          legacy(updatedTime=True), legacy(size="0"), legacy(size="-1"), legacy(size="nan"), legacy(size="inf"),
          legacy(size="1e3"), legacy(size=" 2"), legacy(size="1_0"), legacy(size=0.5), legacy(size=...),
          legacy(price="x"), legacy(symbol=""), legacy(symbol=...), legacy(symbol=" "), legacy(symbol=["x"]),
          legacy(symbol="ethusdt"), legacy(price="43511.71"),
          orjson.dumps({"topic": "liquidation.BTCUSDT", "data": [{"updatedTime": 1703485237953, "symbol": "BTCUSDT",
                                                                   "side": "Sell", "size": "1", "price": "2"}]}),
          orjson.dumps({"topic": "liquidation.BTCUSDT", "data": "x"}), orjson.dumps({"topic": 5, "data": {}})]
OKX = [okx(), okx(side="sell"), okx(side="SELL"), okx(side="long"), okx(side=None), okx(ts="15"), okx(ts=" 1692266434010"),
       okx(ts="+1692266434010"), okx(ts=1692266434010), okx(ts="1692266434010.5"), okx(ts="١٦٩٢٢٦٦٤٣٤٠١٠"),
       okx(sz="0"), okx(sz="abc"), okx(sz="1e400"), okx(bkPx="-2"), okx(bkPx=3), okx(bkPx=...),
       okx(details=[]), okx(details=[{"side": "buy", "sz": "1", "bkPx": "1", "ts": "1692266434010"}] * 2),
       okx(details=["x"]),
       orjson.dumps({"arg": {"channel": "liquidation-orders"}, "data": [{"details": [], "instId": "NOPE-USDT-SWAP"}]}),
       orjson.dumps({"arg": {"channel": "liquidation-orders"}, "data": [{"details": [{"side": "buy", "sz": "1",
                     "bkPx": "1", "ts": "1692266434010"}], "instId": "NOPE-USDT-SWAP"}]}),
       orjson.dumps({"event": "subscribe", "arg": {"channel": "liquidation-orders"}})]


def run(decoder_venue, frames, fast: bool, monkeypatch):
    if not fast:
        for name in ("_bybit_legacy_row", "_okx_liq_row", "_auto_row"):
            monkeypatch.setattr(D, name, lambda obj, sink, recv: None)
    d = D.Decoder(decoder_venue)
    d.set_instruments({"BTC-USDT-SWAP": 0.01})
    if not fast:  # the compiled whole-frame path too (tests/kernels/test_scan_live.py compares it on its own)
        d.__dict__.pop("feed", None)
        d.__dict__.pop("feed_rows", None)
        d._live = None
    out = [d.feed_rows(f, 1_704_000_000_000_000_000 + i) for i, f in enumerate(frames)]  # received after the stamps
    out += [d.feed(f, 5).tolist() for f in frames]  # the same frames again: duplicates are dropped alike
    monkeypatch.undo()
    return out, dict(d.counters)


@pytest.mark.parametrize("venue,frames", [("bybit", LEGACY), ("okx", OKX), (None, LEGACY + OKX)])
def test_fast_rows_equal_checked_rows(monkeypatch, venue, frames):
    fast = run(venue, frames, True, monkeypatch)
    slow = run(venue, frames, False, monkeypatch)
    assert fast == slow
    assert sum(1 for r in fast[0][:len(frames)] if r) >= 4  # several documented frames decode


def test_fast_paths_are_taken_and_sides_follow_the_venue_conventions():
    d = D.Decoder("bybit")
    assert D._bybit_legacy_row(orjson.loads(legacy()), d.sink, 7)[5] == 2  # Sell: a SHORT was liquidated
    assert D._bybit_legacy_row(orjson.loads(legacy(side="Buy")), d.sink, 7)[5] == 1  # Buy: a LONG
    o = D.Decoder("okx")
    o.set_instruments({"BTC-USDT-SWAP": 0.01})
    r = D._okx_liq_row(orjson.loads(okx()), o.sink, 7)
    assert r[5] == 2 and r[3] == pytest.approx(0.13) and r[7] == 3  # order side buy: a SHORT was liquidated
    assert D._okx_liq_row(orjson.loads(okx(side="sell")), o.sink, 7)[5] == 1

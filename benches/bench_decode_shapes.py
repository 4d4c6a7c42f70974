"""Live frame decoding per wire shape: ``Decoder.feed`` / ``Decoder.feed_rows`` against the orjson + dict
floor and, on the shapes it decodes, cryptofeed's own handler code.

``watch+feed``: the receive path, the silent-stream watch's stamp (``liqcore.live.silence.watch_handler``) then
``feed`` (the bar's figure is ``feed`` alone).

Shapes: Binance combined stream (``{"stream":...,"data":{forceOrder}}``), Bybit legacy ``liquidation.``,
OKX ``liquidation-orders``, Bybit ``allLiquidation``, Binance raw ``forceOrder``.  Each contender decodes
the same 20,000 distinct frames per round (times and sizes vary, so nothing is a duplicate); rounds are
interleaved and the median CPU ns/frame is printed with the ratios to the floor (bar: <= 1.2x).

* floor: ``orjson.loads`` + reading the event's fields out of the dicts into one tuple (float() of the
  strings, the side as a comparison) - what any decoder has to do at least, without validation, symbol
  ids, dedupe or an array;
* cryptofeed: the liquidation handlers of cryptofeed 2.4.1 (``exchanges/bybit.py``
  ``message_handler`` + ``_liquidation``; ``exchanges/binance.py`` ``message_handler`` + ``_liquidations``)
  re-typed here statement by statement: ``yapic.json.loads(msg, parse_float=Decimal)``, topic/stream
  dispatch, ``Decimal`` quantities, the ``Liquidation`` object (its constructor's asserts included).
  cryptofeed itself does not install here (its sdist builds Cython types and pulls ~20 dependencies);
  ``yapic.json`` is used when importable (``pip install yapic.json``), else stdlib ``json`` (printed).
  Its Bybit handler only takes topics starting with ``liquidation`` (not ``allLiquidation``) and its
  Binance handler only combined-stream frames, so it is timed on those two shapes.

    python benches/bench_decode_shapes.py [--frames 20000] [--rounds 7]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from liqcore.venues.decoder import Decoder  # noqa: E402

try:
    from yapic import json as cf_json  # cryptofeed's JSON library

    CF_JSON = "yapic.json"
except ImportError:  # pragma: no cover
    import json as cf_json

    CF_JSON = "stdlib json (yapic.json not installed)"

SYMS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT"]
T0 = 1_739_502_302_929


def frames(shape: str, n: int) -> list[bytes]:
    out = []
    for i in range(n):
        s, t, q = SYMS[i % 5], T0 + i * 7, f"{0.001 * (1 + i % 997):.3f}"
        p = f"{40000 + (i % 1000) * 0.5:.2f}"
        if shape == "binance_combined":
            out.append(b'{"stream":"!forceOrder@arr","data":{"e":"forceOrder","E":%d,"o":{"s":"%s","S":"%s","o":"LIMIT",'
                       b'"f":"IOC","q":"%s","p":"%s","ap":"%s","X":"FILLED","l":"%s","z":"%s","T":%d}}}'
                       % (t + 3, s.encode(), b"SELL" if i % 3 else b"BUY", q.encode(), p.encode(), p.encode(),
                          q.encode(), q.encode(), t))
        elif shape == "bybit_legacy":
            out.append(b'{"topic":"liquidation.%s","type":"snapshot","ts":%d,"data":{"updatedTime":%d,"symbol":"%s",'
                       b'"side":"%s","size":"%s","price":"%s"}}'
                       % (s.encode(), t + 3, t, s.encode(), b"Sell" if i % 3 else b"Buy", q.encode(), p.encode()))
        elif shape == "okx":
            inst = s[:-4] + "-USDT-SWAP"
            out.append(b'{"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[{"details":[{"bkLoss":"0",'
                       b'"bkPx":"%s","ccy":"","posSide":"short","side":"%s","sz":"%d","ts":"%d"}],"instFamily":"%s",'
                       b'"instId":"%s","instType":"SWAP","uly":"%s"}]}'
                       % (p.encode(), b"buy" if i % 3 else b"sell", 1 + i % 97, t, inst[:-5].encode(), inst.encode(),
                          inst[:-5].encode()))
        elif shape == "bybit_all":
            out.append(b'{"topic":"allLiquidation.%s","type":"snapshot","ts":%d,"data":[{"T":%d,"s":"%s","S":"%s",'
                       b'"v":"%s","p":"%s"}]}' % (s.encode(), t + 3, t, s.encode(), b"Sell" if i % 3 else b"Buy",
                                                   q.encode(), p.encode()))
        elif shape == "binance_raw":
            out.append(b'{"e":"forceOrder","E":%d,"o":{"s":"%s","S":"%s","o":"LIMIT","f":"IOC","q":"%s","p":"%s",'
                       b'"ap":"%s","X":"FILLED","l":"%s","z":"%s","T":%d}}'
                       % (t + 3, s.encode(), b"SELL" if i % 3 else b"BUY", q.encode(), p.encode(), p.encode(),
                          q.encode(), q.encode(), t))
    return out


# ---------------------------------------------------------------------------- the orjson + dict floor
def floor_fn(shape: str):
    loads = orjson.loads
    if shape in ("binance_combined", "binance_raw"):
        def f(b):
            m = loads(b)
            o = (m["data"] if "stream" in m else m)["o"]
            return (o["T"], float(o["ap"]), float(o["z"]), o["s"], o["S"] == "SELL")
    elif shape == "bybit_legacy":
        def f(b):
            d = loads(b)["data"]
            return (d["updatedTime"], float(d["price"]), float(d["size"]), d["symbol"], d["side"] == "Buy")
    elif shape == "okx":
        def f(b):
            d = loads(b)["data"][0]
            x = d["details"][0]
            return (int(x["ts"]), float(x["bkPx"]), float(x["sz"]) * 0.01, d["instId"], x["side"] == "sell")
    else:
        def f(b):
            x = loads(b)["data"][0]
            return (x["T"], float(x["p"]), float(x["v"]), x["s"], x["S"] == "Buy")
    return f


# ---------------------------------------------------------------------------- cryptofeed 2.4.1, re-typed
BUY, SELL, FILLED, UNFILLED = "buy", "sell", "filled", "unfilled"


class Liquidation:  # cryptofeed.types.Liquidation (a cdef class there)
    __slots__ = ("exchange", "symbol", "side", "quantity", "price", "id", "status", "timestamp", "raw")

    def __init__(self, exchange, symbol, side, quantity, price, id, status, timestamp, raw=None):
        assert isinstance(quantity, Decimal)
        assert isinstance(price, Decimal)
        assert timestamp is None or isinstance(timestamp, float)
        self.exchange, self.symbol, self.side, self.quantity, self.price = exchange, symbol, side, quantity, price
        self.id, self.status, self.timestamp, self.raw = id, status, timestamp, raw


class CfBybit:
    id = "BYBIT"

    def __init__(self):
        self.out = None
        self._map = {s: s[:-4] + "-USDT-PERP" for s in SYMS}

    def exchange_symbol_to_std_symbol(self, s):
        return self._map[s]

    def callback(self, kind, obj, ts):
        self.out = obj

    def message_handler(self, msg, timestamp):
        msg = cf_json.loads(msg, parse_float=Decimal)
        if "success" in msg:
            return
        elif msg["topic"].startswith("publicTrade"):
            return
        elif msg["topic"].startswith("orderbook"):
            return
        elif msg["topic"].startswith("kline"):
            return
        elif msg["topic"].startswith("liquidation"):
            self._liquidation(msg, timestamp)

    def _liquidation(self, msg, timestamp):
        # (cryptofeed passes msg['ts'], an int, where its own type asserts a float: the assert is kept
        # out of the way here by converting, as the cost is what is measured)
        liq = Liquidation(self.id, self.exchange_symbol_to_std_symbol(msg["data"]["symbol"]),
                          BUY if msg["data"]["side"] == "Buy" else SELL, Decimal(msg["data"]["size"]),
                          Decimal(msg["data"]["price"]), None, None, float(msg["ts"]), raw=msg)
        self.callback("liquidations", liq, timestamp)


class CfBinance(CfBybit):
    id = "BINANCE_FUTURES"

    def timestamp_normalize(self, ts):
        return ts / 1000.0

    def message_handler(self, msg, timestamp):
        msg = cf_json.loads(msg, parse_float=Decimal)
        pair, _ = msg["stream"].split("@", 1)
        msg = msg["data"]
        pair = pair.upper()
        if "e" in msg:
            if msg["e"] == "depthUpdate":
                return
            elif msg["e"] == "aggTrade":
                return
            elif msg["e"] == "forceOrder":
                self._liquidations(msg, timestamp)

    def _liquidations(self, msg, timestamp):
        pair = self.exchange_symbol_to_std_symbol(msg["o"]["s"])
        liq = Liquidation(self.id, pair, SELL if msg["o"]["S"] == "SELL" else BUY, Decimal(msg["o"]["q"]),
                          Decimal(msg["o"]["p"]), None, FILLED if msg["o"]["X"] == "FILLED" else UNFILLED,
                          self.timestamp_normalize(msg["E"]), raw=msg)
        self.callback("liquidations", liq, timestamp)


VENUE = {"binance_combined": "binance", "binance_raw": "binance", "bybit_legacy": "bybit", "bybit_all": "bybit",
         "okx": "okx"}


def decoder(shape):
    d = Decoder(VENUE[shape])
    if shape == "okx":
        d.set_instruments({s[:-4] + "-USDT-SWAP": 0.01 for s in SYMS})
    return d


def main(n: int, rounds: int, shapes: list[str]) -> None:
    import os

    print(f"decode per frame, {n} distinct frames x {rounds} rounds, medians (CPU ns/frame); cryptofeed JSON: {CF_JSON}; "
          f"load average {os.getloadavg()[0]:.2f}")
    summary = []
    for shape in shapes:
        fr = frames(shape, n)
        recv = time.time_ns()
        fl = floor_fn(shape)
        contenders = {"floor": lambda fr=fr, fl=fl: [fl(b) for b in fr]}

        def feed(fr=fr, shape=shape):
            d = decoder(shape)
            f = d.feed
            for b in fr:
                f(b, recv)
            assert d.counters["events"] == len(fr), (shape, d.counters)

        def feed_rows(fr=fr, shape=shape):
            d = decoder(shape)
            f = d.feed_rows
            for b in fr:
                f(b, recv)
            assert d.counters["events"] == len(fr), (shape, d.counters)

        def watched_feed(fr=fr, shape=shape):
            # the receive path: the silent-stream watch's stamp, then feed (liqcore.live.silence.watch_handler)
            from liqcore.live.silence import watch_handler

            d = decoder(shape)
            f = d.feed
            h = watch_handler(VENUE[shape], {}, lambda v, p, t: f(p, t), VENUE[shape])
            for b in fr:
                h(b, recv)
            assert d.counters["events"] == len(fr), (shape, d.counters)

        contenders["feed"], contenders["feed_rows"], contenders["watch+feed"] = feed, feed_rows, watched_feed
        if shape in ("binance_combined", "bybit_legacy"):
            cf = CfBinance() if shape == "binance_combined" else CfBybit()

            def cryptofeed(fr=fr, cf=cf):
                h = cf.message_handler
                for b in fr:
                    h(b, 0.0)

            contenders["cryptofeed"] = cryptofeed
        res = {k: [] for k in contenders}
        for _ in range(rounds):
            for k, fn in contenders.items():
                t = time.process_time_ns()  # CPU time: on a shared machine the wall clock mostly measures waiting
                fn()
                res[k].append((time.process_time_ns() - t) / n)
        med = {k: statistics.median(v) for k, v in res.items()}
        line = "  ".join(f"{k} {v:7.0f}" for k, v in med.items())
        print(f"  {shape:17s} {line}   feed/floor x{med['feed'] / med['floor']:.2f}  "
              f"feed_rows/floor x{med['feed_rows'] / med['floor']:.2f}  watch+feed/floor x{med['watch+feed'] / med['floor']:.2f}"
              + (f"  cryptofeed/feed x{med['cryptofeed'] / med['feed']:.2f}" if "cryptofeed" in med else ""))
        summary.append((shape, med))
    print(f"  load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--shapes", default="binance_combined,bybit_legacy,okx,bybit_all,binance_raw")
    a = ap.parse_args()
    main(a.frames, a.rounds, a.shapes.split(","))

"""``zone-bounce``: trade the bounce off a price level where many positions were liquidated (strategy 3).

Rules (the log-spaced heatmap, zones, the trigger on entering one, exits) and parameters:
docs/maintainers/strategies.md, "The rules of `zone-bounce`, in full".  The heatmap walk is the Numba kernel
``liqcore._jit.zones.zone_entries`` (twin ``pysrc/zones.py``).

May import: numpy, ``units``, ``_jit.zones`` and this package's ``base`` and ``_common``.
"""
from __future__ import annotations

import math

import numpy as np

from liqcore.units import FractionWithin, parse_duration
from liqcore.strategies._common import market_signals, parse_pos_int, parse_quantile, streams
from liqcore.strategies._common import _EMPTY, _LIQ, _TRADE, classify, signal_template
from liqcore.strategies._common import finish_signals
from liqcore.strategies.base import ParamSpec, SignalStream, Strategy

ZONE_PARAMS = (
    ParamSpec("zone-width", "0.2%", FractionWithin(0.0, 1.0, "()", "a bucket's width as a fraction of the price"),
              "width of a heatmap price bucket (log-spaced)", "FRAC"),
    ParamSpec("zone-lookback", "3d", parse_duration, "liquidations the heatmap holds (trailing)", "DUR"),
    ParamSpec("zone-quantile", 0.9, parse_quantile, "a zone is a bucket at or above this quantile of the non-empty buckets", "Q"),
    ParamSpec("zone-min-buckets", 10, parse_pos_int, "non-empty buckets needed before any bucket is a zone", "N"),
)


def bucket_of(price, width: float) -> np.ndarray:
    return np.floor(np.log(np.asarray(price, np.float64)) / math.log1p(width)).astype(np.int64)


def bucket_edge(b, width: float):
    """Lower edge of bucket ``b`` (``g^b``)."""
    return np.exp(np.asarray(b, np.float64) * math.log1p(width))


def check_zone_params(width: float, q: float) -> None:
    if not 0 < width < 1:
        raise ValueError(f"zone-width: must be above 0 and below 100%; got {width}")
    if not 0 <= q <= 1:
        raise ValueError(f"zone-quantile: must be within [0, 1]; got {q}")


def heatmap_at(s, t: int, last_liq_pos: int, width: float, lookback_ns: int):
    """The heatmap known at a decision: liquidations of stream ``s`` up to position ``last_liq_pos``
    (exclusive) in its liquidation arrays and received after ``t - lookback``.  Returns (buckets,
    notionals), buckets sorted."""
    lo = int(np.searchsorted(s.liq_ts, t - lookback_ns, side="right"))
    hi = int(last_liq_pos)
    if hi <= lo:
        return np.zeros(0, np.int64), np.zeros(0)
    b = bucket_of(s.liq_price[lo:hi], width)
    ub, inv = np.unique(b, return_inverse=True)
    heat = np.zeros(len(ub))
    np.add.at(heat, inv, s.liq_notional[lo:hi])
    return ub, heat


def zones_of(buckets: np.ndarray, heat: np.ndarray, q: float, min_buckets: int) -> np.ndarray:
    """The zone buckets of a heatmap (empty when fewer than ``min_buckets`` buckets are non-empty)."""
    if len(heat) < max(int(min_buckets), 1):
        return np.zeros(0, np.int64)
    a = np.sort(heat)
    n = len(a)
    h = (n - 1) * q
    lo = int(math.floor(h))
    thr = a[n - 1] if lo >= n - 1 else a[lo] + (h - lo) * (a[lo + 1] - a[lo])
    return buckets[heat >= thr]


class ZoneBounce(Strategy):
    __doc__ = __doc__  # the module's rules
    name = "zone-bounce"
    PARAMS = ZONE_PARAMS
    DEFAULTS = {"take_profit": 0.005, "stop_loss": 0.0, "hold_timeout_ns": 3_600_000_000_000}
    needs = frozenset({"liquidation", "trade"})

    def signals(self, events, params, registry, records=None):
        from liqcore._jit.zones import zone_entries

        p = type(self).resolve(params)
        width = float(self.value(p, "zone-width"))
        look = int(self.value(p, "zone-lookback"))
        q = float(self.value(p, "zone-quantile"))
        min_b = int(self.value(p, "zone-min-buckets"))
        check_zone_params(width, q)
        parts = []
        for sid, s in streams(events).items():
            if len(s.liq_idx) == 0 or len(s.tr_idx) < 2:
                continue
            pos = np.concatenate((s.liq_idx, s.tr_idx))
            order = np.argsort(pos, kind="stable")
            pos = pos[order]
            is_liq = np.concatenate((np.ones(len(s.liq_idx), np.bool_), np.zeros(len(s.tr_idx), np.bool_)))[order]
            ts = np.concatenate((s.liq_ts, s.tr_ts))[order]
            price = np.concatenate((s.liq_price, s.tr_price))[order]
            notional = np.concatenate((s.liq_notional, np.zeros(len(s.tr_idx))))[order]
            raw = bucket_of(price, width)
            ub, dense = np.unique(raw, return_inverse=True)
            rows, dirs, ranks = zone_entries(is_liq, ts, dense.astype(np.int64), notional, len(ub), look, q, min_b)
            if not len(rows):
                continue
            b = raw[rows]
            sig = market_signals(len(rows))
            sig["ts_ns"] = ts[rows]
            sig["ev_idx"] = pos[rows]
            sig["symbol_id"] = sid
            sig["direction"] = dirs
            sig["confidence"] = ranks
            sig["tag"] = b
            sig["stop_price"] = np.where(dirs > 0, bucket_edge(b - 1, width), bucket_edge(b + 2, width))
            parts.append(sig)
        return finish_signals(parts, p)

    def inputs(self, signal) -> dict:
        return {"zone_bucket": int(signal["tag"]), "zone_rank": float(signal["confidence"])}

    def stream(self, params, registry):
        return ZoneBounceStream(self, type(self).resolve(params), registry)


class _Heatmap:
    """One symbol's trailing liquidation heatmap, walked with its trades exactly as the batch kernel
    :func:`liqcore._jit.zones.zone_entries` walks it (same additions, removals and quantile)."""

    __slots__ = ("heat", "cnt", "liqs", "nonempty", "version", "thr_version", "thr", "vals", "prev_b")

    def __init__(self):
        from collections import deque

        self.heat: dict[int, float] = {}
        self.cnt: dict[int, int] = {}
        self.liqs = deque()
        self.nonempty = 0
        self.version = 0
        self.thr_version = -1
        self.thr = 0.0
        self.vals: list[float] = []
        self.prev_b: int | None = None

    def add(self, ts: int, b: int, notional: float) -> None:
        c = self.cnt.get(b, 0)
        if c == 0:
            self.nonempty += 1
            self.heat[b] = 0.0
        self.cnt[b] = c + 1
        self.heat[b] += notional
        self.liqs.append((ts, b, notional))
        self.version += 1

    def trade(self, ts: int, b: int, lookback: int, q: float, min_buckets: int):
        """``(direction, rank)`` when this trade enters a zone, else None."""
        liqs = self.liqs
        while liqs and liqs[0][0] <= ts - lookback:
            _t, j, n = liqs.popleft()
            c = self.cnt[j] - 1
            if c == 0:
                del self.cnt[j]
                del self.heat[j]
                self.nonempty -= 1
            else:
                self.cnt[j] = c
                self.heat[j] -= n
            self.version += 1
        prev = self.prev_b
        self.prev_b = b
        if prev is None or b == prev or b not in self.cnt or self.nonempty < min_buckets:
            return None
        if self.thr_version != self.version:
            self.vals = sorted(self.heat.values())
            a = self.vals
            nv = len(a)
            h = (nv - 1) * q
            lo = int(math.floor(h))
            self.thr = a[nv - 1] if lo >= nv - 1 else a[lo] + (h - lo) * (a[lo + 1] - a[lo])
            self.thr_version = self.version
        hb = self.heat[b]
        if not hb >= self.thr:
            return None
        import bisect

        below = bisect.bisect_right(self.vals, hb)
        return (1 if prev > b else -1), below / len(self.vals)


class ZoneBounceStream(SignalStream):
    """Streaming ``zone-bounce``: per symbol the trailing heatmap (liquidations join at once, leave
    before each trade once older than the look-back); a trade entering a zone is a signal decided at
    that trade (``after``)."""

    def __init__(self, strategy, params, registry):
        super().__init__(strategy, params, registry)
        v = lambda k: strategy.value(params, k)  # noqa: E731
        self.width, self.look = float(v("zone-width")), int(v("zone-lookback"))
        self.q, self.min_b = float(v("zone-quantile")), int(v("zone-min-buckets"))
        check_zone_params(self.width, self.q)
        self.maps: dict[int, _Heatmap] = {}
        self._bucket: dict[float, int] = {}
        self._template = signal_template(params)

    def _b(self, price: float) -> int:
        b = self._bucket.get(price)
        if b is None:
            if len(self._bucket) > 1_000_000:
                self._bucket.clear()
            b = self._bucket[price] = int(bucket_of(np.array([price]), self.width)[0])
        return b

    def on_event(self, ev, records=()):
        i = self.n
        self.n = i + 1
        kind, sid, price, qty, side, ts = classify(ev)
        if kind == _LIQ:
            m = self.maps.get(sid)
            if m is None:
                m = self.maps[sid] = _Heatmap()
            m.add(ts, self._b(price), price * qty)
        elif kind == _TRADE:
            m = self.maps.get(sid)
            if m is None:
                m = self.maps[sid] = _Heatmap()
            b = self._b(price)
            hit = m.trade(ts, b, self.look, self.q, self.min_b)
            if hit is not None:
                d, rank = hit
                sig = self._template.copy()
                sig["ts_ns"], sig["ev_idx"], sig["symbol_id"] = ts, i, sid
                sig["direction"], sig["confidence"], sig["tag"] = d, rank, b
                sig["stop_price"] = bucket_edge(np.array([b - 1 if d > 0 else b + 2]), self.width)[0]
                return _EMPTY, sig
        return _EMPTY, _EMPTY

"""``vol-breakout``: follow the price when the liquidation rate spikes (the research plan's strategy 4).

Rules (bars, the rate z-score trigger, direction, the exits) and parameters: docs/maintainers/strategies.md,
"The rules of `vol-breakout`, in full".

May import: numpy, ``units``, ``_libs.windows`` and this package's ``base`` and ``_common``.
"""
from __future__ import annotations

import math

import numpy as np

from liqcore.units import parse_duration
from liqcore.strategies._common import (
    bar_grid, ev_index_at, first_true_after, market_signals, parse_nonneg_float, parse_pos_int, streams,
    window_count,
)
from liqcore.strategies._common import _EMPTY, _LIQ, _TRADE, BarClock, signal_template
from liqcore.strategies._common import bar_clock, bar_event, finish_signals
from liqcore.strategies.base import ParamSpec, SignalStream, Strategy, exit_notices

EXIT_RATE_NORMAL = 101
SKIP_NO_PRICE = 101
SKIP_FLAT = 102


def rolling_z(x: np.ndarray, n: int) -> np.ndarray:
    """z of ``x[i]`` against ``x[i-n:i]`` (population std; flat -> 0; NaN for ``i < n``).  ``x`` are
    counts, so the sums are exact."""
    x = np.asarray(x, np.float64)
    m = len(x)
    out = np.full(m, np.nan)
    if m <= n:
        return out
    c1 = np.concatenate(([0.0], np.cumsum(x)))
    c2 = np.concatenate(([0.0], np.cumsum(x * x)))
    i = np.arange(n, m)
    s1 = c1[i] - c1[i - n]
    s2 = c2[i] - c2[i - n]
    mean = s1 / n
    var = np.maximum(s2 / n - mean * mean, 0.0)
    std = np.sqrt(var)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(std > 0, (x[i] - mean) / np.where(std > 0, std, 1.0), 0.0)
    out[n:] = z
    return out


class VolBreakout(Strategy):
    __doc__ = __doc__  # the module's rules
    name = "vol-breakout"
    PARAMS = (
        ParamSpec("bar", "1m", parse_duration, "bar length; decisions at bar closes", "DUR"),
        ParamSpec("baseline", 60, parse_pos_int, "previous bars (segments) the z-score compares with", "N"),
        ParamSpec("rate-z", 3.0, parse_nonneg_float, "z-score of the liquidation rate that triggers", "Z"),
        ParamSpec("rate-z-exit", 1.0, parse_nonneg_float, "z-score below which the rate has normalised (signal exit)", "Z"),
    )
    DEFAULTS = {"hold_timeout_ns": 3_600_000_000_000, "stop_loss": 0.0, "take_profit": 0.0}
    needs = frozenset({"liquidation", "trade"})
    SKIP_CODES = {SKIP_NO_PRICE: "no_price", SKIP_FLAT: "flat_bar"}
    EXIT_CODES = {EXIT_RATE_NORMAL: "rate_normal"}

    def signals(self, events, params, registry, records=None):
        p = type(self).resolve(params)
        bar = int(self.value(p, "bar"))
        n = int(self.value(p, "baseline"))
        zin = float(self.value(p, "rate-z"))
        zout = float(self.value(p, "rate-z-exit"))
        if bar <= 0:
            raise ValueError("bar: must be a positive duration")
        t = bar_grid(events, bar)
        ev_at = ev_index_at(events, t)
        parts = []
        for sid, s in streams(events).items():
            if not len(t) or not len(s.liq_ts):
                continue
            rate = window_count(s.liq_ts, t, bar)
            z = rolling_z(rate, n)
            with np.errstate(invalid="ignore"):
                trig = np.flatnonzero(z > zin)
                low = z < zout
            if not len(trig):
                continue
            tt = t[trig]
            hi = np.searchsorted(s.tr_ts, tt, side="right")
            lo = np.searchsorted(s.tr_ts, tt - bar, side="right")
            has = hi > lo
            op = np.where(has, s.tr_price[np.minimum(lo, len(s.tr_price) - 1)] if len(s.tr_price) else np.nan, np.nan)
            cl = np.where(has, s.tr_price[np.maximum(hi - 1, 0)] if len(s.tr_price) else np.nan, np.nan)
            d = np.sign(np.where(has, cl - op, 0.0)).astype(np.int8)
            sig = market_signals(len(trig))
            sig["ts_ns"] = tt
            sig["ev_idx"] = ev_at[trig]
            sig["symbol_id"] = sid
            sig["direction"] = d
            sig["skip_code"] = np.where(~has, SKIP_NO_PRICE, np.where(d == 0, SKIP_FLAT, 0))
            sig["confidence"] = np.minimum(1.0, z[trig] / (2.0 * zin)) if zin > 0 else 1.0
            sig["tag"] = tt // bar
            sig["stop_price"] = np.where(d != 0, op, np.nan)
            nx = first_true_after(low, trig)
            sig["exit_ns"] = np.where(nx >= 0, t[np.maximum(nx, 0)], sig["exit_ns"])
            sig["exit_code"] = np.where(nx >= 0, EXIT_RATE_NORMAL, 0)
            parts.append(sig)
        return finish_signals(parts, p)

    def inputs(self, signal) -> dict:
        return {"bar": int(signal["tag"]), "bar_open": float(signal["stop_price"])}

    def stream(self, params, registry):
        return VolBreakoutStream(self, type(self).resolve(params), registry)


class _RateZ:
    """One symbol's liquidation count per bar (a :class:`liqcore._libs.detection.TimeWindow` of one
    bar) and its z-score against the previous ``n`` bars, computed from exact integer sums with the
    batch form's arithmetic (:func:`rolling_z`)."""

    __slots__ = ("tw", "hist", "s1", "s2", "n")

    def __init__(self, bar_ns: int, n: int, bars_before: int):
        from collections import deque

        from liqcore._libs.detection import TimeWindow

        self.tw = TimeWindow(bar_ns)
        self.n = n
        self.hist = deque([0] * min(bars_before, n), maxlen=n)
        self.s1 = 0
        self.s2 = 0

    def close(self, c: int) -> float:
        """z of the bar closing at ``c`` (NaN before ``n`` bars), then the bar joins the baseline."""
        tw = self.tw
        tw.advance(c)
        x = tw.count
        n = self.n
        h = self.hist
        if len(h) == n:
            mean = float(self.s1) / n
            var = max(float(self.s2) / n - mean * mean, 0.0)
            std = math.sqrt(var)
            z = (x - mean) / std if std > 0 else 0.0
            old = h[0]
            self.s1 -= old
            self.s2 -= old * old
        else:
            z = math.nan
        h.append(x)
        self.s1 += x
        self.s2 += x * x
        return z


class VolBreakoutStream(SignalStream):
    """Streaming ``vol-breakout``: per symbol a one-bar :class:`~liqcore._libs.detection.TimeWindow`
    of liquidations and the rolling z of its counts, the bar's first and last trade; at each bar
    close revealed by an event (``before``) or the clock: exit notices (rate normalised) of open
    signals, then the close's own signal."""

    def __init__(self, strategy, params, registry):
        super().__init__(strategy, params, registry)
        v = lambda k: strategy.value(params, k)  # noqa: E731
        self.bar, self.nb = int(v("bar")), int(v("baseline"))
        self.zin, self.zout = float(v("rate-z")), float(v("rate-z-exit"))
        self.clock = BarClock(self.bar)
        self.closes = 0
        self.rate: dict[int, _RateZ] = {}
        self.px: dict[int, list] = {}  # sid -> [bar close of the trades, open, close]
        self.pending: dict[int, list] = {}  # sid -> [tag]
        self._template = signal_template(params)

    def _closes(self, closes, i):
        out = []
        for c in closes:
            for sid in sorted(self.rate):
                z = self.rate[sid].close(c)
                pend = self.pending.get(sid)
                if pend and z < self.zout:
                    for tag in pend:
                        out.append(exit_notices(c, i, sid, tag, EXIT_RATE_NORMAL))
                    pend.clear()
                if z > self.zin:
                    px = self.px.get(sid)
                    has = px is not None and px[0] == c
                    d = 0
                    if has:
                        ch = px[2] - px[1]
                        d = (ch > 0) - (ch < 0)
                    sig = self._template.copy()
                    tag = c // self.bar
                    sig["ts_ns"], sig["ev_idx"], sig["symbol_id"], sig["direction"] = c, i, sid, d
                    sig["skip_code"] = SKIP_NO_PRICE if not has else (SKIP_FLAT if d == 0 else 0)
                    sig["confidence"] = min(1.0, z / (2.0 * self.zin)) if self.zin > 0 else 1.0
                    sig["tag"] = tag
                    if d != 0:
                        sig["stop_price"] = px[1]
                        self.pending.setdefault(sid, []).append(tag)
                    out.append(sig)
            self.closes += 1
        return self.pack(out)

    def on_event(self, ev, records=()):
        kind, sid, price, qty, side, ts, before = bar_event(self, ev)
        if kind == _LIQ:
            r = self.rate.get(sid)
            if r is None:
                r = self.rate[sid] = _RateZ(self.bar, self.nb, self.closes)
            r.tw.push(ts, side, 1.0)
        elif kind == _TRADE:
            c = -(-ts // self.bar) * self.bar  # the close of the bar (c - bar, c] holding ts
            px = self.px.get(sid)
            if px is None:
                self.px[sid] = [c, price, price]
            elif px[0] != c:
                px[0], px[1], px[2] = c, price, price
            else:
                px[2] = price
        return before, _EMPTY

    def on_clock(self, ts_ns):
        return bar_clock(self, ts_ns)

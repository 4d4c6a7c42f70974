"""``cascade-score``: ride a scored liquidation cascade (the second strategy article).

Rules (window, trigger, entry, the 0-10 score, the funding and score filters, size, the scaled
stop, the exits) and parameters: docs/reference/strategies-scored.md, "`cascade-score`: ride a scored cascade".

Why one module: the score's terms, its filters and the stream that feeds them are one rule, read and
tested together.  May import: numpy, ``types``, ``units`` and this package's ``base``, ``_common`` and
``zone_bounce`` (the proximity heatmap).
"""
from __future__ import annotations

import math

import numpy as np

from liqcore.types import Kind
from liqcore.units import FractionWithin, parse_bool, parse_duration
from liqcore.strategies._common import (
    ev_index_at, market_signals, parse_nonneg_float, parse_pos_int, parse_quantile, streams, window_sum,
)
from liqcore.strategies._common import _EMPTY, _LIQ, _LONG, _TRADE, PrefixWindow, classify, signal_template
from liqcore.strategies._common import finish_signals, recorded_inputs
from liqcore.strategies.base import NEVER, ParamSpec, SignalStream, Strategy, exit_notices
from liqcore.strategies.zone_bounce import ZONE_PARAMS, bucket_edge, bucket_of, check_zone_params, heatmap_at, zones_of

SKIP_NO_FOLLOW = 101
SKIP_SMALL = 102
SKIP_LOW_SCORE = 103
SKIP_LATE = 104
SKIP_FUNDING = 105
SKIP_NO_FUNDING = 106
_FUNDING = int(Kind.FUNDING)
#: funding-neutral and funding-margin: a funding rate per interval (venues cap theirs at a few percent)
_RATE = FractionWithin(0.0, 1.0, "[]", "a funding rate per interval: 0 to 100%")
#: stop-min and stop-max: a stop-loss distance, as --stop-loss takes it
_STOP = FractionWithin(0.0, 1.0, "[)", "a stop-loss distance, as --stop-loss: below 100%")


def _parse_scale(value, name: str) -> str:
    v = str(value).strip().lower()
    if v not in ("quantile", "fixed"):
        raise ValueError(f"{name}: expected quantile or fixed; got {value!r}")
    return v


class RollingQuantile:
    """The ``q`` quantile (linear interpolation between order statistics) of the last ``n`` values
    added: a sorted list beside the values in arrival order.  The batch and the streaming form use
    this one class, so both give the same thresholds bit for bit."""

    __slots__ = ("n", "q", "buf", "srt")

    def __init__(self, n: int, q: float):
        from collections import deque

        self.n, self.q = int(n), float(q)
        self.buf: deque = deque()
        self.srt: list = []

    def __len__(self) -> int:
        return len(self.buf)

    def add(self, x: float) -> None:
        import bisect

        self.buf.append(x)
        bisect.insort(self.srt, x)
        if len(self.buf) > self.n:
            old = self.buf.popleft()
            del self.srt[bisect.bisect_left(self.srt, old)]

    def value(self) -> float:
        k = len(self.srt)
        pos = self.q * (k - 1)
        i = int(pos)
        a = self.srt[i]
        b = self.srt[min(i + 1, k - 1)]
        return a + (b - a) * (pos - i)


def trigger_level(rq: RollingQuantile | None, trig: float, min_hist: int) -> float:
    """The symbol's trigger: the quantile of its window notionals (``rq``) once it holds ``min_hist``
    of them, else ``trig`` (``trigger-notional``, also the level of ``trigger-scale fixed``)."""
    if rq is None or len(rq) < max(min_hist, 1):
        return trig
    return rq.value()


def liq_floors(notional: np.ndarray, floor: float, q: float, hist: int, min_hist: int) -> np.ndarray:
    """The counting floor in force at each liquidation of a symbol (``notional``, in receive order):
    the ``q`` quantile of the notionals of its previous ``hist`` liquidations (any size), ``floor``
    (``min-liq-notional``) before ``min_hist`` of them.  The streaming form uses the same
    :class:`RollingQuantile`, fed the same values in the same order."""
    rq = RollingQuantile(hist, q)
    out = np.full(len(notional), floor)
    for j, x in enumerate(notional.tolist()):
        out[j] = trigger_level(rq, floor, min_hist)
        rq.add(x)
    return out


def funding_ok(rate: float | None, side_long: bool, neutral: float, margin: float) -> int:
    """The funding filter: 0 when the rate in force shows the flushed side crowded (longs flushed:
    ``rate - neutral > margin``; shorts flushed: ``neutral - rate > margin``), else the skip code
    (``SKIP_FUNDING``; ``SKIP_NO_FUNDING`` without a funding rate yet)."""
    if rate is None or not math.isfinite(rate):
        return SKIP_NO_FUNDING
    excess = rate - neutral if side_long else neutral - rate
    return 0 if excess > margin else SKIP_FUNDING


def _parse_from(value, name: str) -> str:
    v = str(value).strip().lower()
    if v not in ("first", "trigger"):
        raise ValueError(f"{name}: expected first or trigger; got {value!r}")
    return v
EXIT_EXHAUSTED = 101


def scaled_stop(prices, mult: float, lo: float, hi: float, fallback: float) -> float:
    """The stop-loss from the price range of ``prices`` (the trades of the look-back):
    ``clip(mult x (max - min) / last, lo, hi)``; ``fallback`` without a trade."""
    if not len(prices):
        return fallback
    last = float(prices[-1])
    rng = (float(max(prices)) - float(min(prices))) / last if last > 0 else 0.0
    return min(max(mult * rng, lo), hi)


def score_formula(speed_ratio: float, n: float, trigger: float, distance: float | None, prox_range: float,
                  with_heatmap: bool) -> tuple[float, float, float, float]:
    """(score, speed points, size points, proximity points) -- see the module's docstring."""
    sp = 0.0
    if speed_ratio > 0 and math.isfinite(speed_ratio):
        sp = 4.0 * min(1.0, max(0.0, math.log10(speed_ratio) / 2.0))
    sz = 4.0 * min(1.0, n / (4.0 * trigger)) if trigger > 0 else 4.0
    if not with_heatmap:
        return (sp + sz) * 10.0 / 8.0, sp, sz, float("nan")
    px = 2.0 if distance is None else 2.0 * min(1.0, max(0.0, distance) / prox_range if prox_range > 0 else 1.0)
    return sp + sz + px, sp, sz, px


class CascadeScore(Strategy):
    __doc__ = __doc__  # the module's rules
    name = "cascade-score"
    PARAMS = (
        ParamSpec("score-window", "90s", parse_duration, "rolling window of liquidation notional per side", "DUR"),
        ParamSpec("min-liq-notional", 50_000.0, parse_nonneg_float,
                  "smallest liquidation (quote) that counts toward the window (trigger-scale fixed; before the history)",
                  "QUOTE"),
        ParamSpec("min-liq-quantile", 0.84, parse_quantile,
                  "trigger-scale quantile: the quantile of the symbol's own liquidation notionals that counts",
                  "FRAC"),
        ParamSpec("min-score", 7.0, parse_nonneg_float, "smaller cascade scores (0-10) are skipped", "SCORE"),
        ParamSpec("trigger-notional", 5_000_000.0, parse_nonneg_float,
                  "one side's window notional (quote) that triggers (trigger-scale fixed; before the history)", "QUOTE"),
        ParamSpec("trigger-scale", "quantile", lambda v, n: _parse_scale(v, n),
                  "the trigger and the counting floor per symbol: quantile (of its own window and liquidation "
                  "notionals) or fixed (trigger-notional, min-liq-notional)",
                  "quantile|fixed"),
        ParamSpec("trigger-quantile", 0.95, parse_quantile,
                  "quantile of the symbol's window notionals (after each counted liquidation) that triggers", "FRAC"),
        ParamSpec("trigger-history", 1000, parse_pos_int,
                  "previous counted liquidations of the trigger's quantile (of any size: the floor's)", "N"),
        ParamSpec("trigger-min-history", 50, parse_pos_int,
                  "counted liquidations needed before the quantile replaces trigger-notional (of any size: "
                  "before the floor's replaces min-liq-notional)", "N"),
        ParamSpec("funding-filter", True, parse_bool,
                  "enter only when the funding rate shows the flushed side crowded (on/off)", "on|off"),
        ParamSpec("funding-neutral", "0.01%", _RATE, "the funding rate of a balanced market", "RATE"),
        ParamSpec("funding-margin", 0.0, _RATE,
                  "how far beyond funding-neutral the rate must be (> margin)", "RATE"),
        ParamSpec("entry-delay", "5s", parse_duration, "decision this long after the anchor (see entry-from)", "DUR"),
        ParamSpec("entry-max", "15s", parse_duration, "with entry-from first: a decision later than this after the first liquidation is skipped", "DUR"),
        ParamSpec("entry-from", "trigger", lambda v, n: _parse_from(v, n),
                  "anchor of the entry delay: trigger (the window's crossing) or first (liquidation of the window)", "first|trigger"),
        ParamSpec("score-history", 100, parse_pos_int, "previous liquidations whose window speed gives the median", "N"),
        ParamSpec("score-notional", 10_000_000.0, parse_nonneg_float,
                  "window notional (quote) of a size multiplier of score/10 (capped at 2x)", "QUOTE"),
        ParamSpec("min-size-mult", 0.01, parse_nonneg_float, "smaller size multipliers are skipped", "X"),
        ParamSpec("exit-drop", 0.6, FractionWithin(0.0, 1.0, "[]", "a fall from the peak: 100% is all of it"), "fall of the window notional from its peak that exits", "FRAC"),
        ParamSpec("exit-min-move", "0.5%", FractionWithin(0.0, 1.0, "[]", "a price move: 0 to 100%"),
                  "favourable move since the decision needed before the exhaustion exit acts (0 = always)", "FRAC"),
        ParamSpec("stop-min", "0.8%", _STOP, "stop-loss in a quiet market (volatility-scaled stop)", "FRAC"),
        ParamSpec("stop-max", "1.5%", _STOP, "stop-loss in a volatile market (volatility-scaled stop)", "FRAC"),
        ParamSpec("stop-range-mult", 1.0, parse_nonneg_float,
                  "stop-loss = this x the price range of the last vol-lookback, within stop-min..stop-max", "X"),
        ParamSpec("vol-lookback", "15m", parse_duration, "trades whose price range sets the stop-loss", "DUR"),
        ParamSpec("proximity-range", "3%", FractionWithin(0.0, 1.0, "[]", "a distance to the price: 0 to 100%"),
                  "distance to the next zone worth full proximity points", "FRAC"),
    ) + ZONE_PARAMS
    DEFAULTS = {"stop_loss": 0.008, "take_profit": 0.02, "hold_timeout_ns": 600_000_000_000, "daily_trades": 6}
    needs = frozenset({"liquidation", "trade", "funding"})
    SKIP_CODES = {SKIP_NO_FOLLOW: "no_follow_through", SKIP_SMALL: "below_min_size",
                  SKIP_LOW_SCORE: "below_min_score", SKIP_LATE: "late_entry",
                  SKIP_FUNDING: "funding_not_elevated", SKIP_NO_FUNDING: "no_funding"}
    EXIT_CODES = {EXIT_EXHAUSTED: "window_exhausted"}

    def __init__(self):
        self._inputs: dict[tuple[int, int], dict] = {}

    @classmethod
    def needs_for(cls, params=None) -> frozenset:
        """Funding only with the funding filter on (the default)."""
        if params is not None and not cls.value(cls.resolve(params), "funding-filter"):
            return frozenset({"liquidation", "trade"})
        return frozenset(cls.needs)

    @classmethod
    def check_inputs(cls, kinds_present, params=None) -> None:
        try:
            super().check_inputs(kinds_present, params)
        except ValueError as e:
            if "funding" in str(e):
                raise ValueError(f"{e} (its funding filter; --funding-filter off runs without it)") from None
            raise

    def signals(self, events, params, registry, records=None):
        p = type(self).resolve(params)
        v = lambda k: self.value(p, k)  # noqa: E731
        W = int(v("score-window"))
        trig = float(v("trigger-notional"))
        min_liq, min_score = float(v("min-liq-notional")), float(v("min-score"))
        delay = int(v("entry-delay"))
        entry_max, from_first = int(v("entry-max")), v("entry-from") == "first"
        hist_n = int(v("score-history"))
        ref = float(v("score-notional"))
        min_mult = float(v("min-size-mult"))
        drop = float(v("exit-drop"))
        min_move = float(v("exit-min-move"))
        stop_lo, stop_hi = float(v("stop-min")), float(v("stop-max"))
        stop_mult, vol_look = float(v("stop-range-mult")), int(v("vol-lookback"))
        vol_stop = "stop_loss" not in p.explicit
        if stop_hi < stop_lo:
            raise ValueError(f"stop-max: must be at least stop-min ({stop_lo}); got {stop_hi}")
        prox = float(v("proximity-range"))
        width, look = float(v("zone-width")), int(v("zone-lookback"))
        zq, zmin = float(v("zone-quantile")), int(v("zone-min-buckets"))
        check_zone_params(width, zq)
        if W <= 0:
            raise ValueError("score-window: must be a positive duration")
        if drop > 1:
            raise ValueError(f"exit-drop: must be at most 100%; got {drop}")
        hold = int(p.hold_timeout_ns)
        scaled = v("trigger-scale") == "quantile"
        tq, th, tmin = float(v("trigger-quantile")), int(v("trigger-history")), int(v("trigger-min-history"))
        mq = float(v("min-liq-quantile"))
        fund_on, f_neutral, f_margin = bool(v("funding-filter")), float(v("funding-neutral")), float(v("funding-margin"))
        self._inputs = {}
        parts = []
        t_last = int(events["ts_recv"][-1]) if len(events) else 0
        all_rows: list = []
        fund = _funding_by_symbol(events) if fund_on else {}
        for sid, s in streams(events).items():
            m = len(s.liq_ts)
            if not m:
                continue
            rows = []
            # the window notional of its side right after each counted liquidation, and the trigger before it
            floors = liq_floors(s.liq_notional, min_liq, mq, th, tmin) if scaled else np.full(m, min_liq)
            counted = s.liq_notional >= floors
            after_all = np.full(m, np.nan)
            for side_long in (True, False):
                sel = np.flatnonzero((s.liq_long == side_long) & counted)
                ts_side, n_side = s.liq_ts[sel], s.liq_notional[sel]
                cum = np.concatenate(([0.0], np.cumsum(n_side)))
                lo = np.searchsorted(ts_side, ts_side - W, side="right")
                after_all[sel] = cum[np.arange(len(sel)) + 1] - cum[lo]
            thr_all = _trigger_levels(after_all, counted, trig, tq, th, tmin) if scaled else np.full(m, trig)
            f_ts, f_rate = fund.get(sid, (np.zeros(0, np.int64), np.zeros(0)))
            for side_long in (True, False):
                sel = np.flatnonzero((s.liq_long == side_long) & counted)
                if not len(sel):
                    continue
                ts_side = s.liq_ts[sel]
                n_side = s.liq_notional[sel]
                cum = np.concatenate(([0.0], np.cumsum(n_side)))
                lo = np.searchsorted(ts_side, ts_side - W, side="right")
                idx = np.arange(len(sel))
                before = cum[idx] - cum[lo]
                after = cum[idx + 1] - cum[lo]
                speed_series = after / (W / 1e9)
                thr_side = thr_all[sel]
                for k in np.flatnonzero((before < thr_side) & (after >= thr_side)).tolist():
                    trig_k = float(thr_side[k])
                    t0 = int(ts_side[k])
                    a = int(lo[k]) if from_first else k  # the anchor of the delay
                    td = max(int(ts_side[a]) + delay, t0)
                    if td > t_last:  # the data ends before the decision
                        continue
                    late = from_first and td - int(ts_side[a]) > entry_max
                    follow = int(np.searchsorted(ts_side, td, side="right")) > a + 1
                    N = float(window_sum(ts_side, n_side, np.array([td]), W)[0])
                    h = speed_series[max(0, k - hist_n):k]
                    med = float(np.median(h)) if len(h) else 0.0
                    r = (N / (W / 1e9)) / med if med > 0 else 0.0
                    # heatmap known at the decision: liquidations received at or before td
                    last_pos = int(np.searchsorted(s.liq_ts, td, side="right"))
                    ub, heat = heatmap_at(s, td, last_pos, width, look)
                    ti = int(np.searchsorted(s.tr_ts, td, side="right")) - 1
                    with_hm = len(ub) >= zmin and ti >= 0
                    dist = None
                    if with_hm:
                        price = float(s.tr_price[ti])
                        pb = int(bucket_of([price], width)[0])
                        zb = zones_of(ub, heat, zq, zmin)
                        if side_long:  # longs flushed: price falls; zones below
                            below = zb[zb < pb]
                            if len(below):
                                dist = (price - float(bucket_edge(below.max() + 1, width))) / price
                        else:
                            above = zb[zb > pb]
                            if len(above):
                                dist = (float(bucket_edge(above.min(), width)) - price) / price
                    score, sp, sz, px = score_formula(r, N, trig_k, dist, prox, with_hm)
                    ref_k = ref * trig_k / trig if scaled and trig > 0 else ref
                    mult = score / 10.0 * min(N / ref_k, 2.0) if ref_k > 0 else score / 10.0 * 2.0
                    skip = SKIP_LATE if late else (0 if follow else SKIP_NO_FOLLOW)
                    rate = None
                    if fund_on:
                        fi = int(np.searchsorted(f_ts, td, side="right")) - 1
                        rate = float(f_rate[fi]) if fi >= 0 else None
                        if skip == 0:
                            skip = funding_ok(rate, side_long, f_neutral, f_margin)
                    if skip == 0 and score < min_score:
                        skip = SKIP_LOW_SCORE
                    if skip == 0 and mult < min_mult:
                        skip = SKIP_SMALL
                    exit_ns = NEVER
                    if skip == 0:
                        ti0 = int(np.searchsorted(s.tr_ts, td, side="right")) - 1
                        p0 = float(s.tr_price[ti0]) if ti0 >= 0 else math.nan
                        exit_ns = _exhaustion_time(ts_side, n_side, td, W, drop, hold, t_last, s.tr_ts, s.tr_price,
                                                   p0, -1 if side_long else 1, min_move)
                    stop = math.nan
                    if vol_stop:
                        lo_t = int(np.searchsorted(s.tr_ts, td - vol_look, side="right"))
                        stop = scaled_stop(s.tr_price[lo_t:ti + 1], stop_mult, stop_lo, stop_hi, float(p.stop_loss))
                    rows.append((td, int(s.liq_idx[sel[k]]), -1 if side_long else 1, skip, score, mult, exit_ns,
                                 stop))
                    self._inputs[(sid, td)] = {"window_notional": N, "speed_ratio": r, "score": score,
                                               "speed_points": sp, "size_points": sz, "proximity_points": px,
                                               "zone_distance": dist, "size_mult": mult,
                                               "trigger_notional": trig_k, "funding_rate": rate,
                                               "min_liq_notional": float(floors[sel[k]])}
            if not rows:
                continue
            rows.sort()
            all_rows.extend((sid, x) for x in rows)
            sig = market_signals(len(rows))
            sig["ts_ns"] = [x[0] for x in rows]
            sig["ev_idx"] = ev_index_at(events, sig["ts_ns"])
            sig["symbol_id"] = sid
            sig["tag"] = [x[1] for x in rows]
            skip = np.array([x[3] for x in rows], np.int16)
            sig["skip_code"] = skip
            sig["direction"] = np.where(skip == 0, [x[2] for x in rows], 0)
            sig["confidence"] = np.clip([x[4] / 10.0 for x in rows], 0.0, 1.0)
            mult = np.array([x[5] for x in rows])
            sig["size_mult"] = np.where(skip == 0, mult, 1.0)
            ex = np.array([x[6] for x in rows], np.int64)
            sig["exit_ns"] = ex
            sig["exit_code"] = np.where(ex != NEVER, EXIT_EXHAUSTED, 0)
            parts.append(sig)
        out = finish_signals(parts, p)
        if vol_stop and len(out):
            stops = {(int(sid_), x[0]): x[7] for sid_, x in all_rows}
            out["stop_loss"] = [stops[(int(g["symbol_id"]), int(g["ts_ns"]))] for g in out]
        return out

    def inputs(self, signal) -> dict:
        return recorded_inputs(self._inputs, signal)

    def stream(self, params, registry):
        return CascadeScoreStream(self, type(self).resolve(params), registry)


class _LiqView:
    """The liquidation arrays :func:`heatmap_at` reads (receive time, price, notional)."""

    __slots__ = ("liq_ts", "liq_price", "liq_notional")

    def __init__(self, rows):
        a = np.array(rows, dtype=np.float64).reshape(-1, 3) if rows else np.zeros((0, 3))
        self.liq_ts = np.array([r[0] for r in rows], np.int64)
        self.liq_price = a[:, 1].copy()
        self.liq_notional = a[:, 2].copy()


class CascadeScoreStream(SignalStream):
    """Streaming ``cascade-score``: per symbol and side, running prefix sums of the liquidation
    notional (the batch form's window sums, bit for bit) and the window speeds after each
    liquidation; a crossing of ``trigger-notional`` schedules a decision ``entry-delay`` later, made
    when an event received after that time (or the clock) reveals it (``before``).  The exit
    (window exhausted) is followed at every arrival into / expiry out of the window after the
    decision; its notice is emitted once an event received after that time reveals it."""

    MAX_INPUTS = 100_000

    def __init__(self, strategy, params, registry):
        import heapq
        from collections import deque

        super().__init__(strategy, params, registry)
        v = lambda k: strategy.value(params, k)  # noqa: E731
        self.W, self.trig, self.delay = int(v("score-window")), float(v("trigger-notional")), int(v("entry-delay"))
        self.entry_max, self.from_first = int(v("entry-max")), v("entry-from") == "first"
        self.hist_n, self.ref, self.min_mult = int(v("score-history")), float(v("score-notional")), float(v("min-size-mult"))
        self.drop, self.prox = float(v("exit-drop")), float(v("proximity-range"))
        self.min_liq, self.min_score = float(v("min-liq-notional")), float(v("min-score"))
        self.min_move = float(v("exit-min-move"))
        self.stop_lo, self.stop_hi = float(v("stop-min")), float(v("stop-max"))
        self.stop_mult, self.vol_look = float(v("stop-range-mult")), int(v("vol-lookback"))
        self.vol_stop = "stop_loss" not in params.explicit
        if self.stop_hi < self.stop_lo:
            raise ValueError(f"stop-max: must be at least stop-min ({self.stop_lo}); got {self.stop_hi}")
        self.recent: dict[int, deque] = {}  # sid -> (ts, price) of the trades of the last vol-lookback
        self.trlog: dict[int, list] = {}  # sid -> [base, [(ts, price)]]: trades since the oldest tracker's decision
        self.width, self.look = float(v("zone-width")), int(v("zone-lookback"))
        self.zq, self.zmin = float(v("zone-quantile")), int(v("zone-min-buckets"))
        check_zone_params(self.width, self.zq)
        if self.W <= 0:
            raise ValueError("score-window: must be a positive duration")
        if self.drop > 1:
            raise ValueError(f"exit-drop: must be at most 100%; got {self.drop}")
        self.hold = int(params.hold_timeout_ns)
        self.scaled = v("trigger-scale") == "quantile"
        self.tq, self.th, self.tmin = float(v("trigger-quantile")), int(v("trigger-history")), int(v("trigger-min-history"))
        self.fund_on = bool(v("funding-filter"))
        self.f_neutral, self.f_margin = float(v("funding-neutral")), float(v("funding-margin"))
        self.rq: dict[int, RollingQuantile] = {}  # sid -> its window notionals after each counted liquidation
        self.mq = float(v("min-liq-quantile"))
        self.fq: dict[int, RollingQuantile] = {}  # sid -> the notionals of its liquidations (the counting floor)
        self.fund: dict[int, float] = {}  # sid -> the last funding rate received
        self.side: dict[tuple[int, bool], PrefixWindow] = {}
        self.speeds: dict[tuple[int, bool], deque] = {}
        self.liqs: dict[int, deque] = {}  # sid -> (ts, price, notional) within zone-lookback
        self.last_trade: dict[int, float] = {}
        self.due: list = []  # heap of (td, seq, sid, side_long, k_abs, tag, med)
        self.trackers: list[list] = []  # [sid, side_long, tag, end, peak, a_abs, e_abs]
        self._seq = 0
        self._deque, self._heapq = deque, heapq
        self._template = signal_template(params)
        strategy._inputs = {}

    # ---- decisions ---------------------------------------------------------------------------------
    def _decide(self, td, sid, side_long, k_abs, tag, med, i, late=False, thr=None, floor=None):
        st = self.strategy
        pw = self.side[(sid, side_long)]
        W = self.W
        follow = pw.base + len(pw.ts) > k_abs + 1  # every known liquidation is received at or before td
        N = pw.sum(0, td, W)
        r = (N / (W / 1e9)) / med if med > 0 else 0.0
        rows = list(self.liqs.get(sid, ()))
        view = _LiqView(rows)
        ub, heat = heatmap_at(view, td, len(rows), self.width, self.look)
        price = self.last_trade.get(sid)
        with_hm = len(ub) >= self.zmin and price is not None
        dist = None
        if with_hm:
            pb = int(bucket_of([price], self.width)[0])
            zb = zones_of(ub, heat, self.zq, self.zmin)
            if side_long:
                below = zb[zb < pb]
                if len(below):
                    dist = (price - float(bucket_edge(below.max() + 1, self.width))) / price
            else:
                above = zb[zb > pb]
                if len(above):
                    dist = (float(bucket_edge(above.min(), self.width)) - price) / price
        thr = self.trig if thr is None else thr
        score, sp, sz, px = score_formula(r, N, thr, dist, self.prox, with_hm)
        ref = self.ref * thr / self.trig if self.scaled and self.trig > 0 else self.ref
        mult = score / 10.0 * min(N / ref, 2.0) if ref > 0 else score / 10.0 * 2.0
        skip = SKIP_LATE if late else (0 if follow else SKIP_NO_FOLLOW)
        rate = self.fund.get(sid) if self.fund_on else None
        if skip == 0 and self.fund_on:
            skip = funding_ok(rate, side_long, self.f_neutral, self.f_margin)
        if skip == 0 and score < self.min_score:
            skip = SKIP_LOW_SCORE
        if skip == 0 and mult < self.min_mult:
            skip = SKIP_SMALL
        sig = self._template.copy()
        sig["ts_ns"], sig["ev_idx"], sig["symbol_id"], sig["tag"] = td, i, sid, tag
        sig["skip_code"] = skip
        sig["direction"] = (-1 if side_long else 1) if skip == 0 else 0
        sig["confidence"] = min(max(score / 10.0, 0.0), 1.0)
        sig["size_mult"] = mult if skip == 0 else 1.0
        if self.vol_stop:
            rec = [px for t_, px in self.recent.get(sid, ()) if td - self.vol_look < t_ <= td]
            sig["stop_loss"] = scaled_stop(rec, self.stop_mult, self.stop_lo, self.stop_hi, float(self.params.stop_loss))
        st._inputs[(sid, td)] = {"window_notional": N, "speed_ratio": r, "score": score, "speed_points": sp,
                                 "size_points": sz, "proximity_points": px, "zone_distance": dist, "size_mult": mult,
                                 "trigger_notional": thr, "funding_rate": rate,
                                 "min_liq_notional": self.min_liq if floor is None else floor}
        if len(st._inputs) > self.MAX_INPUTS:
            del st._inputs[next(iter(st._inputs))]
        if skip == 0:
            a_abs = pw.base + len(pw.ts)  # first arrival after td: not known yet
            e_abs = pw.base + pw.pos(td - W)
            end = td + self.hold if self.hold > 0 else None
            lg = self.trlog.setdefault(sid, [0, []])
            p0 = self.last_trade.get(sid, math.nan)
            self.trackers.append([sid, side_long, tag, end, N, a_abs, e_abs, False, False,
                                  lg[0] + len(lg[1]), p0, -1 if side_long else 1])
        return sig

    def _follow(self, t, upto, i, inclusive):
        """Evaluate every tracker at its window's arrival / expiry times and (with ``exit-min-move``)
        its symbol's trade times before ``upto`` (``<=`` with ``inclusive``); exit notices for the
        ones whose window fell ``exit-drop`` from its peak while the price had moved enough."""
        out = []
        W, keep_frac = self.W, 1.0 - self.drop
        mm = self.min_move
        alive = []
        for tr in self.trackers:
            sid, side_long, tag, end, peak, a_abs, e_abs, low, fav, k_abs, p0, dirn = tr
            pw = self.side[(sid, side_long)]
            n_abs = pw.base + len(pw.ts)
            lg = self.trlog.get(sid) if mm > 0 else None
            k_end = lg[0] + len(lg[1]) if lg is not None else 0
            done = False
            while True:
                ta = pw.ts[a_abs - pw.base] if a_abs < n_abs else None
                te = pw.ts[e_abs - pw.base] + W if e_abs < n_abs else None
                tt = lg[1][k_abs - lg[0]][0] if lg is not None and k_abs < k_end else None
                cands = [x for x in (ta, te, tt) if x is not None]
                if not cands:
                    break
                tau = min(cands)
                if tau > upto or (tau == upto and not inclusive):
                    break
                if end is not None and tau > end:
                    done = True
                    break
                moved = False
                while a_abs < n_abs and pw.ts[a_abs - pw.base] == tau:
                    a_abs += 1
                    moved = True
                while e_abs < n_abs and pw.ts[e_abs - pw.base] + W == tau:
                    e_abs += 1
                    moved = True
                if moved:
                    val = pw.sum(0, tau, W)
                    if val > peak:
                        peak = val
                    low = val <= keep_frac * peak
                while lg is not None and k_abs < k_end and lg[1][k_abs - lg[0]][0] == tau:
                    px = lg[1][k_abs - lg[0]][1]
                    fav = p0 == p0 and dirn * (px - p0) / p0 >= mm
                    k_abs += 1
                if low and (mm <= 0 or fav):
                    out.append(exit_notices(tau, i, sid, tag, EXIT_EXHAUSTED))
                    done = True
                    break
            if end is not None and not done and upto > end and (a_abs >= n_abs and e_abs >= n_abs) \
                    and (lg is None or k_abs >= k_end):
                done = True  # every later time is past the hold
            if not done:
                tr[4], tr[5], tr[6], tr[7], tr[8], tr[9] = peak, a_abs, e_abs, low, fav, k_abs
                alive.append(tr)
        self.trackers = alive
        if self.trlog:
            need: dict[int, int] = {}
            for tr in alive:
                need[tr[0]] = min(need.get(tr[0], tr[9]), tr[9])
            for sid in list(self.trlog):
                lg = self.trlog[sid]
                if sid not in need:
                    del self.trlog[sid]
                elif need[sid] - lg[0] > 1024:
                    d = need[sid] - lg[0]
                    del lg[1][:d]
                    lg[0] += d
        return out

    def _reveal(self, upto, i, inclusive=False):
        out = []
        due = self.due
        while due and (due[0][0] < upto or (inclusive and due[0][0] == upto)):
            td, _s, sid, side_long, k_abs, tag, med, late, thr, floor = self._heapq.heappop(due)
            out.append(self._decide(td, sid, side_long, k_abs, tag, med, i, late, thr, floor))
        if self.trackers:
            out.extend(self._follow(None, upto, i, inclusive))
        return self.pack(out) if out else _EMPTY

    # ---- the interface ----------------------------------------------------------------------------
    def on_event(self, ev, records=()):
        i = self.n
        self.n = i + 1
        kind, sid, price, qty, side, ts = classify(ev)
        before = _EMPTY
        if (self.due and self.due[0][0] < ts) or self.trackers:
            before = self._reveal(ts, i - 1)
        floor = self.min_liq
        if kind == _LIQ and self.scaled:  # the symbol's floor before this liquidation, then this one's notional
            fq = self.fq.get(sid)
            if fq is None:
                fq = self.fq[sid] = RollingQuantile(self.th, self.mq)
            floor = trigger_level(fq, self.min_liq, self.tmin)
            fq.add(price * qty)
        if kind == _LIQ and price * qty < floor:  # below the floor: the heatmap only
            lq = self.liqs.get(sid)
            if lq is None:
                lq = self.liqs[sid] = self._deque()
            lq.append((ts, price, price * qty))
            while lq and lq[0][0] <= ts - self.look:
                lq.popleft()
        elif kind == _LIQ:
            side_long = side == _LONG
            key = (sid, side_long)
            pw = self.side.get(key)
            if pw is None:
                pw = self.side[key] = PrefixWindow(1)
                self.speeds[key] = self._deque(maxlen=self.hist_n)
            n = price * qty
            pw.append(ts, n)
            idx = len(pw.ts) - 1
            cum = pw.cum[0]
            lo = pw.pos(ts - self.W)
            before_sum = cum[idx] - cum[lo]
            after_sum = cum[idx + 1] - cum[lo]
            sp = self.speeds[key]
            rq = self.rq.get(sid) if self.scaled else None
            if self.scaled and rq is None:
                rq = self.rq[sid] = RollingQuantile(self.th, self.tq)
            thr = trigger_level(rq, self.trig, self.tmin)
            if before_sum < thr and after_sum >= thr:
                med = float(np.median(np.array(sp))) if len(sp) else 0.0
                self._seq += 1
                a = lo if self.from_first else idx  # the anchor of the delay (list index)
                t_a = pw.ts[a]
                td = max(t_a + self.delay, ts)
                late = self.from_first and td - t_a > self.entry_max
                self._heapq.heappush(self.due, (td, self._seq, sid, side_long, pw.base + a, i, med, late, thr,
                                                floor))
            sp.append(after_sum / (self.W / 1e9))
            if rq is not None:
                rq.add(float(after_sum))
            lq = self.liqs.get(sid)
            if lq is None:
                lq = self.liqs[sid] = self._deque()
            lq.append((ts, price, n))
            while lq and lq[0][0] <= ts - self.look:
                lq.popleft()
            if not self.trackers and not self.due:
                pw.trim(ts - self.W)
        elif kind == 0 and self.fund_on and (ev[6] if type(ev) is tuple else int(ev["kind"])) == _FUNDING:
            if math.isfinite(price):
                self.fund[sid] = price
        elif kind == _TRADE:
            self.last_trade[sid] = price
            if self.vol_stop:
                rq = self.recent.get(sid)
                if rq is None:
                    rq = self.recent[sid] = self._deque()
                rq.append((ts, price))
                while rq[0][0] <= ts - self.vol_look:
                    rq.popleft()
            if self.min_move > 0:
                lg = self.trlog.get(sid)
                if lg is not None:
                    lg[1].append((ts, price))
        return before, _EMPTY

    def on_clock(self, ts_ns):
        if not self.due and not self.trackers:
            return _EMPTY
        return self._reveal(int(ts_ns), self.n - 1, inclusive=True)


def _funding_by_symbol(events: np.ndarray) -> dict:
    """Per symbol id: the receive times and rates of its FUNDING events with a finite rate (in order)."""
    ev = events[events["kind"] == _FUNDING]
    ev = ev[np.isfinite(ev["price"])]
    out = {}
    for sid in np.unique(ev["symbol_id"]).tolist():
        e = ev[ev["symbol_id"] == sid]
        out[int(sid)] = (e["ts_recv"].astype(np.int64), e["price"].astype(np.float64))
    return out


def _trigger_levels(after: np.ndarray, counted: np.ndarray, trig: float, q: float, hist: int,
                    min_hist: int) -> np.ndarray:
    """The trigger in force at each liquidation of a symbol (its own window notional quantile over
    the previous ``hist`` counted liquidations of either side; ``trig`` before ``min_hist``)."""
    rq = RollingQuantile(hist, q)
    out = np.full(len(after), trig)
    for j in np.flatnonzero(counted).tolist():
        out[j] = trigger_level(rq, trig, min_hist)
        rq.add(float(after[j]))
    return out


def _exhaustion_time(ts_side: np.ndarray, n_side: np.ndarray, td: int, W: int, drop: float, hold: int,
                     t_last: int, tr_ts=None, tr_px=None, p0: float = math.nan, direction: int = 0,
                     min_move: float = 0.0) -> int:
    """First time after ``td`` at which the side's window notional is at or below ``(1 - drop)`` of
    its peak since ``td`` (the window changes only when a liquidation arrives or leaves it) and, with
    ``min_move`` > 0, the last trade price received by then has moved at least ``min_move`` (a
    fraction of ``p0``, the last trade price at the decision) in the trade's ``direction``.  Only
    times up to ``t_last`` (the last receive time of the data) are known."""
    end = min(td + hold, t_last) if hold > 0 else t_last
    a0 = int(np.searchsorted(ts_side, td, side="right"))
    arrivals = ts_side[a0:np.searchsorted(ts_side, end, side="right")]
    e0 = int(np.searchsorted(ts_side, td - W, side="right"))
    exp = ts_side[e0:] + W
    exp = exp[(exp > td) & (exp <= end)]
    times = np.unique(np.concatenate((arrivals, exp)))
    if not len(times):
        return int(NEVER)
    s0 = float(window_sum(ts_side, n_side, np.array([td]), W)[0])
    vals = window_sum(ts_side, n_side, times, W)
    peak = np.maximum.accumulate(np.concatenate(([s0], vals)))[1:]
    low = vals <= (1.0 - drop) * peak
    if min_move <= 0:
        hit = np.flatnonzero(low)
        return int(times[hit[0]]) if len(hit) else int(NEVER)
    if not math.isfinite(p0) or tr_ts is None:
        return int(NEVER)
    a, b = int(np.searchsorted(tr_ts, td, side="right")), int(np.searchsorted(tr_ts, end, side="right"))
    tt = tr_ts[a:b]
    if not len(tt):  # no trade after the decision: the price never showed the move in the trade's favour
        return int(NEVER)
    fav = direction * (tr_px[a:b] - p0) / p0 >= min_move
    cand = np.unique(np.concatenate((times, tt)))
    iw = np.searchsorted(times, cand, side="right") - 1
    it = np.searchsorted(tt, cand, side="right") - 1
    ok = np.where(iw >= 0, low[np.maximum(iw, 0)], False) & np.where(it >= 0, fav[np.maximum(it, 0)], False)
    hit = np.flatnonzero(ok)
    return int(cand[hit[0]]) if len(hit) else int(NEVER)

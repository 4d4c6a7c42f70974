"""``flush-reversal-rule``: the feature rule "longs flushed, flow turned, crowd short -> UP this hour".

Rules (features, rule, trade, binary scoring: :func:`evaluate_binary`) and parameters:
docs/reference/strategies-scored.md, "`flush-reversal-rule`".

May import: numpy, ``types``, ``units``, ``execution.detect``, ``features`` (the named point-in-time
features) and this package's ``base`` and ``_common``.
"""
from __future__ import annotations

import math

import numpy as np

from liqcore.units import parse_duration
from liqcore.strategies._common import (
    bar_grid, concat_signals, ev_index_at, market_signals, parse_float, parse_nonneg_float, streams,
)
from liqcore.strategies._common import _EMPTY, BarClock, signal_template
from liqcore.strategies._common import finish_signals, recorded_inputs
from liqcore.strategies.base import ParamSpec, SignalStream, Strategy, exit_notices

HOUR_NS = 3_600_000_000_000
EXIT_HOUR_END = 101
FEATURES = ("liquidations.liq_imbalance@15m:zscore", "flow.ofi@5m:zscore", "funding.funding_avg@1h")


OFI_MODES = ("flip", "level")


def parse_ofi_mode(value, name: str = "ofi-mode") -> str:
    v = str(value).strip().lower()
    if v not in OFI_MODES:
        raise ValueError(f"{name}: expected one of {', '.join(OFI_MODES)}; got {value!r}")
    return v


def parse_funding_max(value, name: str = "funding-max") -> float:
    """``funding-max``: an average funding rate per interval, from -1 to 1 (-100 % to 100 %; venues cap theirs at a
    few percent), as a plain number (``0.0001``)."""
    x = parse_float(value, name)
    if not -1.0 <= x <= 1.0:
        raise ValueError(f"{name}: must be within [-1, 1] (an average funding rate per interval: -100% to 100%); "
                         f"got {value!r}")
    return x


def ofi_turned(of: np.ndarray, zo: float, mode: str) -> np.ndarray:
    """Bar closes (one instrument, in time order) where the ofi z-score meets the rule: above ``zo``
    and, with ``flip``, at or below ``zo`` at the previous bar close (a null never counts)."""
    with np.errstate(invalid="ignore"):
        above = of > zo
        if mode == "level":
            return above
        prev = np.concatenate(([np.nan], of[:-1]))
        return above & (prev <= zo)


class FlushReversal(Strategy):
    __doc__ = __doc__  # the module's rules
    name = "flush-reversal-rule"
    PARAMS = (
        ParamSpec("bar", "1m", parse_duration, "bar length; decisions at bar closes", "DUR"),
        ParamSpec("imbalance-z", 2.0, parse_nonneg_float, "fires when the liquidation-imbalance z-score is below minus this", "Z"),
        ParamSpec("ofi-z", 1.0, parse_float, "fires when the order-flow-imbalance z-score is above this", "Z"),
        ParamSpec("ofi-mode", "flip", parse_ofi_mode, "flip: the ofi z-score crosses ofi-z since the previous bar close; level: it is above ofi-z", "MODE"),
        ParamSpec("funding-max", 0.0, parse_funding_max, "fires when the average funding rate is below this", "RATE"),
    )
    DEFAULTS = {"take_profit": 0.0, "stop_loss": 0.0, "hold_timeout_ns": 0}
    needs = frozenset({"liquidation", "trade", "funding"})
    EXIT_CODES = {EXIT_HOUR_END: "hour_end"}

    def __init__(self):
        self._inputs: dict[tuple[int, int], dict] = {}
        self._context = None  # (params, registry, records) of the last batch run

    def feature_values(self, events, registry, times):
        """The three features at ``times`` per instrument: ``{sid: {name: array}}``."""
        from liqcore.features.store import FeatureStore

        if not len(times):
            return {}
        store = FeatureStore(events, registry)
        return {int(part["sid"]): part["values"] for part in store.compute(np.asarray(times, np.int64), list(FEATURES))}

    def signals(self, events, params, registry, records=None):
        p = type(self).resolve(params)
        bar = int(self.value(p, "bar"))
        zl = float(self.value(p, "imbalance-z"))
        zo = float(self.value(p, "ofi-z"))
        mode = str(self.value(p, "ofi-mode"))
        fmax = float(self.value(p, "funding-max"))
        t = bar_grid(events, bar)
        self._inputs = {}
        self._context = (p, registry, records)
        if not len(t):
            return concat_signals([])
        ev_at = ev_index_at(events, t)
        vals = self.feature_values(events, registry, t)
        parts = []
        for sid in sorted(vals):
            v = vals[sid]
            li, of, fu = (v[n] for n in FEATURES)
            with np.errstate(invalid="ignore"):
                ok = (li < -zl) & ofi_turned(of, zo, mode) & (fu < fmax)
            pos = np.flatnonzero(ok)
            if not len(pos):
                continue
            hour = t[pos] // HOUR_NS
            first = np.concatenate(([True], hour[1:] != hour[:-1]))
            pos, hour = pos[first], hour[first]
            sig = market_signals(len(pos))
            sig["ts_ns"] = t[pos]
            sig["ev_idx"] = ev_at[pos]
            sig["symbol_id"] = sid
            sig["tag"] = hour
            sig["exit_ns"] = (hour + 1) * HOUR_NS
            sig["exit_code"] = EXIT_HOUR_END
            for k, i in enumerate(pos.tolist()):
                self._inputs[(sid, int(t[i]))] = {n: float(v[n][i]) for n in FEATURES}
            parts.append(sig)
        return finish_signals(parts, p)

    def inputs(self, signal) -> dict:
        return recorded_inputs(self._inputs, signal)

    def binary_evaluation(self, signals, events, confidence: float = 0.95) -> dict:
        """The signals scored as the hourly binary the rule predicts (:func:`evaluate_binary`); beside
        them (``post_cascade``), the rule tested on every past post-cascade hour
        (:func:`post_cascade_binary`) with the parameters of the last :meth:`signals` run."""
        out = evaluate_binary(signals, events, confidence=confidence)
        if self._context is not None and len(events):
            params, registry, records = self._context
            out["post_cascade"] = post_cascade_binary(events, registry, params, records, confidence=confidence)
        return out

    def stream(self, params, registry):
        return FlushReversalStream(self, type(self).resolve(params), registry)


class FlushReversalStream(SignalStream):
    """Streaming ``flush-reversal-rule``: the three named features kept current by the feature
    store's live form (:class:`liqcore.research.LiveFeatures`, which evaluates a feature with the
    historical store's code on the same running sums); at each bar close revealed by an event
    (``before``) or the clock: the rule per instrument (once per UTC hour); the exit notice at the
    end of the signal's hour once an event received after it (or the clock) reveals it."""

    MAX_INPUTS = 100_000

    def __init__(self, strategy, params, registry):
        from liqcore.features.live import LiveFeatures

        super().__init__(strategy, params, registry)
        v = lambda k: strategy.value(params, k)  # noqa: E731
        self.bar = int(v("bar"))
        self.zl, self.zo, self.fmax = float(v("imbalance-z")), float(v("ofi-z")), float(v("funding-max"))
        self.flip = str(v("ofi-mode")) == "flip"
        self.prev_ofi: dict[int, float | None] = {}  # sid -> the ofi z-score at the previous bar close
        self.clock = BarClock(self.bar)
        self.lf = LiveFeatures(list(FEATURES), registry)
        self.fired: dict[int, int] = {}  # sid -> the last hour that fired
        self.exits: list[tuple[int, int, int]] = []  # (hour end, sid, tag), in time order
        self._template = signal_template(params)
        strategy._inputs = {}

    def _closes(self, closes, upto, i, inclusive=False):
        st = self.strategy
        out = []
        lf = self.lf
        sids = [sid for sid, _v, _s in lf.store.instruments]
        for c in closes:
            self._exits(c, i, out, inclusive=False)
            lf.advance(c)
            hour = c // HOUR_NS
            for sid in sids:
                of = lf.value(FEATURES[1], sid, c)
                prev, self.prev_ofi[sid] = self.prev_ofi.get(sid), of
                if self.fired.get(sid) == hour:
                    continue
                if of is None or not of > self.zo:
                    continue
                if self.flip and (prev is None or not prev <= self.zo):
                    continue
                li = lf.value(FEATURES[0], sid, c)
                if li is None or not li < -self.zl:
                    continue
                fu = lf.value(FEATURES[2], sid, c)
                if fu is None or not fu < self.fmax:
                    continue
                self.fired[sid] = hour
                sig = self._template.copy()
                sig["ts_ns"], sig["ev_idx"], sig["symbol_id"], sig["tag"] = c, i, sid, hour
                out.append(sig)
                self.exits.append(((hour + 1) * HOUR_NS, sid, hour))
                st._inputs[(sid, c)] = {FEATURES[0]: li, FEATURES[1]: of, FEATURES[2]: fu}
                if len(st._inputs) > self.MAX_INPUTS:
                    del st._inputs[next(iter(st._inputs))]
        self._exits(upto, i, out, inclusive)
        return self.pack(out)

    def _exits(self, upto, i, out, inclusive):
        ex = self.exits
        k = 0
        while k < len(ex) and (ex[k][0] < upto or (inclusive and ex[k][0] == upto)):
            t, sid, tag = ex[k]
            out.append(exit_notices(t, i, sid, tag, EXIT_HOUR_END))
            k += 1
        if k:
            del ex[:k]

    def on_event(self, ev, records=()):
        i = self.n
        self.n = i + 1
        row = ev if type(ev) is tuple else ev.tolist()
        ts = row[1]
        before = _EMPTY
        if self.clock.next is None or ts > self.clock.next or (self.exits and self.exits[0][0] < ts):
            closes = self.clock.due(ts)
            if closes or (self.exits and self.exits[0][0] < ts):
                before = self._closes(closes, ts, i - 1)
        self.lf.update(*row)
        return before, _EMPTY

    def on_clock(self, ts_ns):
        t = int(ts_ns)
        closes = self.clock.due(t, inclusive=True) if self.clock.next is not None else []
        if not closes and not (self.exits and self.exits[0][0] <= t):
            return _EMPTY
        return self._closes(closes, t, self.n - 1, inclusive=True)


def coin_p_greater(k: int, m: int) -> float:
    """One-sided exact binomial test against the 50/50 prior: P(X >= k), X ~ Binomial(m, 0.5) (scipy's
    ``binomtest(k, m, 0.5, alternative="greater").pvalue``, in exact integers: the backtest is part of
    the lean core, without scipy)."""
    from fractions import Fraction
    from math import comb

    return float(Fraction(sum(comb(m, i) for i in range(max(k, 0), m + 1)), 2 ** m))


def coin_p_two_sided(k: int, m: int) -> float:
    """Two-sided exact binomial test against 50/50: the chance of an outcome as far from m/2 as k or
    farther, either side (scipy's ``binomtest(k, m, 0.5).pvalue``; the distribution is symmetric)."""
    lo, hi = min(k, m - k), max(k, m - k)
    if lo == hi:
        return 1.0
    return min(1.0, 2.0 * coin_p_greater(hi, m))


def wilson(k: int, m: int, confidence: float) -> tuple[float, float]:
    """The Wilson score interval of k successes in m trials at ``confidence`` (two-sided, no continuity
    correction; scipy's ``proportion_ci(method="wilson")``)."""
    from statistics import NormalDist

    z = NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)
    p = k / m
    denom = 2.0 * (m + z * z)
    center = (2.0 * m * p + z * z) / denom
    delta = z * math.sqrt(4.0 * m * p * (1.0 - p) + z * z) / denom
    return (center - delta, center + delta)


def evaluate_binary(signals: np.ndarray, events: np.ndarray, *, confidence: float = 0.95) -> dict:
    """The rule as a binary prediction ("UP for the rest of the hour") against the 50/50 prior.

    For each long signal whose hour is complete in ``events`` (the last event is received at or after
    the hour's end): ``p0`` = last trade price received at or before the signal, ``close`` = last
    trade received before the hour's end, ``open`` = first trade received in the hour.  A hit when
    ``close > p0``; beside it, ``close > open``.  Returns ``n``, ``hits``, ``hit_rate``, ``prior``
    (0.5), ``p_value`` (one-sided binomial test, greater than 0.5), ``p_value_two_sided``, ``wilson``
    (the Wilson score interval at ``confidence``), the same for the hour's open (``hits_vs_open``,
    ...), and ``pending`` (signals whose hour is not complete, or without a trade price)."""
    sig = np.asarray(signals)
    sig = sig[sig["direction"] == 1]
    st = streams(events)
    last_t = int(events["ts_recv"][-1]) if len(events) else 0
    hits = hits_open = n = n_open = pending = 0
    for row in sig:
        s = st.get(int(row["symbol_id"]))
        t0 = int(row["ts_ns"])
        h0 = (t0 // HOUR_NS) * HOUR_NS
        h1 = h0 + HOUR_NS
        if s is None or last_t < h1:
            pending += 1
            continue
        i0 = int(np.searchsorted(s.tr_ts, t0, side="right")) - 1
        ic = int(np.searchsorted(s.tr_ts, h1, side="left")) - 1
        io = int(np.searchsorted(s.tr_ts, h0, side="left"))
        if i0 < 0 or ic < 0:
            pending += 1
            continue
        close = float(s.tr_price[ic])
        n += 1
        hits += close > float(s.tr_price[i0])
        if io <= ic:
            n_open += 1
            hits_open += close > float(s.tr_price[io])

    def stats(k: int, m: int) -> dict:
        if m == 0:
            return {"n": 0, "hits": 0, "hit_rate": None, "p_value": None, "p_value_two_sided": None,
                    "wilson": None}
        return {"n": m, "hits": k, "hit_rate": k / m, "p_value": coin_p_greater(k, m),
                "p_value_two_sided": coin_p_two_sided(k, m), "wilson": wilson(k, m, confidence)}

    a, b = stats(hits, n), stats(hits_open, n_open)
    out = dict(a)
    out.update({"prior": 0.5, "confidence": confidence, "pending": pending})
    out.update({f"{k}_vs_open": v for k, v in b.items()})
    return out


def describe_binary(b: dict) -> list[str]:
    """One line per reference price of an :func:`evaluate_binary` result, in words, with units: first
    the binary as the rule states it ("UP this hour": the hour's close above the hour's open), then
    against the price at the signal; hits of ``n`` complete signal hours, hit rate in % against the
    50 % prior, the one-sided binomial p-value and the Wilson interval; then the post-cascade hours
    (:func:`describe_post_cascade`) when present."""
    conf = f"{b.get('confidence', 0.95):.0%}"
    out = []
    for suffix, what in (("_vs_open", "close above the hour's open"), ("", "close above the price at the signal")):
        n = b.get(f"n{suffix}") or 0
        if not n:
            out.append(f"UP this hour ({what}): no complete signal hour, nothing to score "
                       f"({b.get('pending', 0)} signal(s) pending)")
            continue
        lo, hi = b[f"wilson{suffix}"]
        out.append(f"UP this hour ({what}): {b[f'hits{suffix}']} hits of {n} signal hours, hit rate "
                   f"{b[f'hit_rate{suffix}']:.1%} vs the 50% prior (Wilson {conf} interval {lo:.1%} to {hi:.1%}), "
                   f"one-sided binomial p = {b[f'p_value{suffix}']:.3g}")
    if b.get("post_cascade") is not None:
        out += describe_post_cascade(b["post_cascade"])
    return out


POST_CASCADE_DTYPE = np.dtype([("symbol_id", "<i4"), ("hour_ns", "<i8"), ("cascade_end_ns", "<i8"), ("ts_ns", "<i8")])


def post_cascade_hours(records: np.ndarray, bar_ns: int = 60_000_000_000) -> np.ndarray:
    """Every past post-cascade hour: per symbol and UTC hour, the first cascade that ended (ENDED
    records of the cascade detector), with ``ts_ns`` = the first bar close at or after the cascade's
    last large liquidation (``end_ns``; the bar grid of :func:`bar_grid`, so the features resolved
    there include the whole cascade) and ``hour_ns`` = the start of the UTC hour of ``ts_ns``.
    Sorted by (``ts_ns``, ``symbol_id``); a :data:`POST_CASCADE_DTYPE` array."""
    from liqcore.types import CASCADE_DTYPE, RecordKind

    rec = np.asarray(records, dtype=CASCADE_DTYPE)
    rec = rec[rec["record"] == int(RecordKind.ENDED)]
    out = np.zeros(len(rec), POST_CASCADE_DTYPE)
    if not len(rec):
        return out
    end = rec["end_ns"].astype(np.int64)
    ts = -(-end // bar_ns) * bar_ns
    out["symbol_id"], out["cascade_end_ns"], out["ts_ns"] = rec["symbol_id"], end, ts
    out["hour_ns"] = (ts // HOUR_NS) * HOUR_NS
    out = out[np.lexsort((out["symbol_id"], out["ts_ns"]))]
    seen: set = set()  # the first per (symbol, hour), in time order
    keep = np.zeros(len(out), bool)
    for i, (sid, h) in enumerate(zip(out["symbol_id"].tolist(), out["hour_ns"].tolist())):
        if (sid, h) not in seen:
            seen.add((sid, h))
            keep[i] = True
    return out[keep]


def post_cascade_binary(events: np.ndarray, registry, params=None, records: np.ndarray | None = None, *,
                        confidence: float = 0.95) -> dict:
    """The rule's hourly binary test on every past post-cascade hour (:func:`post_cascade_hours`; the
    cascade detector runs on ``events`` with ``params`` unless ``records`` are given): the three
    features resolved point-in-time at each hour's ``ts_ns`` (and the ofi z-score one bar before, for
    the flip), the rule evaluated there, and the hour scored as the binary "UP this hour": the last trade
    received before the hour's end above the hour's open (the first trade received in the hour).
    Hours the data does not complete, or without a trade, are ``pending``.

    Returns ``hours`` (the complete post-cascade hours), ``up`` (of them, how many closed above the
    open: the base rate), ``fired`` (hours where the rule held), ``hits`` / ``hit_rate`` /
    ``p_value`` / ``wilson`` (the rule's hours that closed above the open, one-sided binomial test
    against the 50 % prior), ``pending`` and ``rows`` (one dict per post-cascade hour)."""
    from liqcore.execution.detect import detect
    from liqcore.features.store import FeatureStore
    from liqcore.types import SymbolRegistry

    p = FlushReversal.resolve(params)
    bar = int(FlushReversal.value(p, "bar"))
    zl, zo = float(FlushReversal.value(p, "imbalance-z")), float(FlushReversal.value(p, "ofi-z"))
    mode, fmax = str(FlushReversal.value(p, "ofi-mode")), float(FlushReversal.value(p, "funding-max"))
    if records is None:
        records, _ = detect(events, p)
    hours = post_cascade_hours(records, bar)
    rows: list[dict] = []
    if len(hours):
        times = np.unique(np.concatenate((hours["ts_ns"], hours["ts_ns"] - bar)))
        store = FeatureStore(events, registry if registry is not None else SymbolRegistry())
        vals = {int(part["sid"]): part["values"] for part in store.compute(times, list(FEATURES))}
        st = streams(events)
        last_t = int(events["ts_recv"][-1])
        for h in hours:
            sid, t, h0 = int(h["symbol_id"]), int(h["ts_ns"]), int(h["hour_ns"])
            v = vals.get(sid)
            k, kp = int(np.searchsorted(times, t)), int(np.searchsorted(times, t - bar))
            li, of, fu = ((float(v[n][k]) if v is not None else math.nan) for n in FEATURES)
            prev = float(v[FEATURES[1]][kp]) if v is not None else math.nan
            turned = of > zo and (mode == "level" or prev <= zo)
            fired = bool(li < -zl and turned and fu < fmax)
            row = {"symbol_id": sid, "hour_ns": h0, "cascade_end_ns": int(h["cascade_end_ns"]), "ts_ns": t,
                   FEATURES[0]: li, FEATURES[1]: of, "ofi_prev": prev, FEATURES[2]: fu, "fired": fired,
                   "open": None, "close": None, "up": None}
            s = st.get(sid)
            if s is not None and last_t >= h0 + HOUR_NS:
                io = int(np.searchsorted(s.tr_ts, h0, side="left"))
                ic = int(np.searchsorted(s.tr_ts, h0 + HOUR_NS, side="left")) - 1
                if io <= ic:
                    row["open"], row["close"] = float(s.tr_price[io]), float(s.tr_price[ic])
                    row["up"] = row["close"] > row["open"]
            rows.append(row)
    done = [r for r in rows if r["up"] is not None]
    fired = [r for r in done if r["fired"]]
    k, m = sum(r["up"] for r in fired), len(fired)
    out = {"hours": len(done), "up": sum(r["up"] for r in done), "fired": m, "hits": k,
           "hit_rate": k / m if m else None, "p_value": None, "wilson": None, "prior": 0.5,
           "confidence": confidence, "pending": len(rows) - len(done), "rows": rows}
    if m:
        out["p_value"] = coin_p_greater(k, m)
        out["wilson"] = wilson(k, m, confidence)
    return out


def describe_post_cascade(pc: dict) -> list[str]:
    """A :func:`post_cascade_binary` result in words, with units."""
    n = pc["hours"]
    head = (f"post-cascade hours (one per symbol and UTC hour a cascade ended in): {n} complete"
            + (f", {pc['pending']} pending" if pc.get("pending") else ""))
    if not n:
        return [head + "; nothing to score"]
    lines = [head + f"; {pc['up']} of {n} closed above the hour's open ({pc['up'] / n:.1%}, all post-cascade hours)"]
    m = pc["fired"]
    if not m:
        lines.append("  the rule held in none of them")
        return lines
    lo, hi = pc["wilson"]
    lines.append(f"  the rule held in {m}: {pc['hits']} closed above the hour's open, hit rate {pc['hit_rate']:.1%} "
                 f"vs the 50% prior (Wilson {pc['confidence']:.0%} interval {lo:.1%} to {hi:.1%}), "
                 f"one-sided binomial p = {pc['p_value']:.3g}")
    return lines


__all__ = ["FlushReversal", "evaluate_binary", "describe_binary", "FEATURES", "post_cascade_hours",
           "post_cascade_binary", "describe_post_cascade", "POST_CASCADE_DTYPE"]

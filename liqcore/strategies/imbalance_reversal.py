"""``imbalance-reversal``: trade against an extreme one-sided liquidation imbalance (strategy 2).

Rules (bars, the trailing imbalance, entry, the normalised / worsens exits) and parameters:
docs/maintainers/strategies.md, "The rules of `imbalance-reversal`, in full".

May import: numpy, ``units`` and this package's ``base`` and ``_common``.
"""
from __future__ import annotations

import numpy as np

from liqcore.units import FractionWithin, parse_duration
from liqcore.strategies._common import (
    bar_grid, ev_index_at, market_signals, parse_nonneg_float, streams, window_sum,
)
from liqcore.strategies._common import _EMPTY, _LIQ, _LONG, BarClock, PrefixWindow, signal_template
from liqcore.strategies._common import bar_clock, bar_event, finish_signals
from liqcore.strategies.base import NEVER, ParamSpec, SignalStream, Strategy, exit_notices

EXIT_NORMAL = 101
EXIT_WORSE = 102


class ImbalanceReversal(Strategy):
    __doc__ = __doc__  # the module's rules
    name = "imbalance-reversal"
    PARAMS = (
        ParamSpec("bar", "5m", parse_duration, "bar length; decisions at bar closes", "DUR"),
        ParamSpec("imbalance-window", "15m", parse_duration, "window of the liquidation imbalance", "DUR"),
        ParamSpec("min-notional", 1_000_000.0, parse_nonneg_float,
                  "liquidation notional (quote) that triggers the strategy", "QUOTE"),
        ParamSpec("extreme", 0.7, FractionWithin(0.5, 1.0, "(]", "a one-sided share: above a half, at most all"),
                  "one-sided share of the liquidation notional that triggers (> 0.5)", "FRAC"),
        ParamSpec("normal", 0.2, FractionWithin(0.0, 1.0, "[]", "an imbalance's size: 0 to 100%"), "|imbalance| at or below which the imbalance has normalised", "FRAC"),
    )
    DEFAULTS = {"hold_timeout_ns": 3_600_000_000_000, "stop_loss": 0.01, "take_profit": 0.0}
    needs = frozenset({"liquidation", "trade"})
    EXIT_CODES = {EXIT_NORMAL: "imbalance_normal", EXIT_WORSE: "imbalance_worse"}

    def signals(self, events, params, registry, records=None):
        p = type(self).resolve(params)
        bar = int(self.value(p, "bar"))
        win = int(self.value(p, "imbalance-window"))
        min_notional = float(self.value(p, "min-notional"))
        extreme = float(self.value(p, "extreme"))
        normal = float(self.value(p, "normal"))
        if not 0.5 < extreme <= 1.0:
            raise ValueError(f"extreme: must be above 0.5 and at most 1; got {extreme}")
        if bar <= 0 or win <= 0:
            raise ValueError("bar, imbalance-window: must be positive durations")
        t = bar_grid(events, bar)
        ev_at = ev_index_at(events, t)
        hold = int(p.hold_timeout_ns)
        horizon = len(t) if hold <= 0 else hold // bar + 2
        parts = []
        for sid, s in streams(events).items():
            if not len(s.liq_ts) or not len(t):
                continue
            L = window_sum(s.liq_ts, np.where(s.liq_long, s.liq_notional, 0.0), t, win)
            S = window_sum(s.liq_ts, np.where(s.liq_long, 0.0, s.liq_notional), t, win)
            tot = L + S
            with np.errstate(invalid="ignore", divide="ignore"):
                imb = np.where(tot > 0, (S - L) / np.where(tot > 0, tot, 1.0), 0.0)
            ok = (tot >= min_notional) & (tot > 0)
            go_long = ok & (L >= extreme * tot)
            go_short = ok & (S >= extreme * tot)
            pos = np.flatnonzero(go_long | go_short)
            if not len(pos):
                continue
            normal_ok = np.abs(imb) <= normal
            sig = market_signals(len(pos))
            sig["ts_ns"] = t[pos]
            sig["ev_idx"] = ev_at[pos]
            sig["symbol_id"] = sid
            sig["direction"] = np.where(go_long[pos], 1, -1)
            sig["confidence"] = np.maximum(L[pos], S[pos]) / tot[pos]
            sig["tag"] = t[pos] // bar
            absimb, sgn = np.abs(imb), np.sign(imb)
            for k, i in enumerate(pos.tolist()):
                e = min(len(t), i + 1 + horizon)
                j_norm = np.flatnonzero(normal_ok[i + 1:e])
                worse = (sgn[i + 1:e] == sgn[i]) & (absimb[i + 1:e] > absimb[i]) & (tot[i + 1:e] > tot[i])
                j_worse = np.flatnonzero(worse)
                jn = int(j_norm[0]) if len(j_norm) else None
                jw = int(j_worse[0]) if len(j_worse) else None
                if jn is None and jw is None:
                    continue
                if jw is None or (jn is not None and jn <= jw):
                    sig["exit_ns"][k], sig["exit_code"][k] = t[i + 1 + jn], EXIT_NORMAL
                else:
                    sig["exit_ns"][k], sig["exit_code"][k] = t[i + 1 + jw], EXIT_WORSE
            parts.append(sig)
        return finish_signals(parts, p)

    def inputs(self, signal) -> dict:
        return {"bar": int(signal["tag"]), "one_sided_share": float(signal["confidence"])}

    def stream(self, params, registry):
        return ImbalanceReversalStream(self, type(self).resolve(params), registry)


class ImbalanceReversalStream(SignalStream):
    """Streaming ``imbalance-reversal``: per symbol, running prefix sums of the liquidated long /
    short notional (the batch form's window sums, bit for bit); at each bar close revealed by an
    event (``before``) or the clock: exit notices of open signals (normalised / worsened, within the
    hold horizon the batch form looks at), then the close's own signal."""

    def __init__(self, strategy, params, registry):
        super().__init__(strategy, params, registry)
        v = lambda k: strategy.value(params, k)  # noqa: E731
        self.bar, self.win = int(v("bar")), int(v("imbalance-window"))
        self.min_notional, self.extreme, self.normal = float(v("min-notional")), float(v("extreme")), float(v("normal"))
        if not 0.5 < self.extreme <= 1.0:
            raise ValueError(f"extreme: must be above 0.5 and at most 1; got {self.extreme}")
        if self.bar <= 0 or self.win <= 0:
            raise ValueError("bar, imbalance-window: must be positive durations")
        self.clock = BarClock(self.bar)
        hold = int(params.hold_timeout_ns)
        self.horizon_ns = None if hold <= 0 else (hold // self.bar + 2) * self.bar
        self.liq: dict[int, PrefixWindow] = {}
        self.pending: dict[int, list] = {}  # sid -> [[tag, sign, |imb|, total, last close allowed]]
        self._template = signal_template(params)

    def _closes(self, closes, i):
        out = []
        for c in closes:
            for sid in sorted(self.liq):
                pw = self.liq[sid]
                L = pw.sum(0, c, self.win)
                S = pw.sum(1, c, self.win)
                tot = L + S
                imb = (S - L) / tot if tot > 0 else 0.0
                sgn = (imb > 0) - (imb < 0)
                pend = self.pending.get(sid)
                if pend:
                    keep = []
                    for t in pend:
                        if t[4] is not None and c > t[4]:
                            continue
                        if abs(imb) <= self.normal:
                            out.append(exit_notices(c, i, sid, t[0], EXIT_NORMAL))
                        elif sgn == t[1] and abs(imb) > t[2] and tot > t[3]:
                            out.append(exit_notices(c, i, sid, t[0], EXIT_WORSE))
                        else:
                            keep.append(t)
                    self.pending[sid] = keep
                if tot >= self.min_notional and tot > 0:
                    go_long = L >= self.extreme * tot
                    if go_long or S >= self.extreme * tot:
                        sig = self._template.copy()
                        tag = c // self.bar
                        sig["ts_ns"], sig["ev_idx"], sig["symbol_id"] = c, i, sid
                        sig["direction"] = 1 if go_long else -1
                        sig["confidence"] = max(L, S) / tot
                        sig["tag"] = tag
                        out.append(sig)
                        last = None if self.horizon_ns is None else c + self.horizon_ns
                        self.pending.setdefault(sid, []).append([tag, sgn, abs(imb), tot, last])
                pw.trim(c - self.win)
        return self.pack(out)

    def on_event(self, ev, records=()):
        kind, sid, price, qty, side, ts, before = bar_event(self, ev)
        if kind == _LIQ:
            pw = self.liq.get(sid)
            if pw is None:
                pw = self.liq[sid] = PrefixWindow(2)
            n = price * qty
            pw.append(ts, n if side == _LONG else 0.0, 0.0 if side == _LONG else n)
        return before, _EMPTY

    def on_clock(self, ts_ns):
        return bar_clock(self, ts_ns)


__all__ = ["ImbalanceReversal", "EXIT_NORMAL", "EXIT_WORSE", "NEVER"]

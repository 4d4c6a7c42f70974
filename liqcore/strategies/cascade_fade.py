"""``cascade-fade``: fade a large liquidation cascade (the research plan's strategy 1).

Rules (running notional, trigger, direction, entry, the continuation exit) and parameters:
docs/maintainers/strategies.md, "The rules of `cascade-fade`, in full".

May import: numpy, ``types``, ``execution.detect`` and this package's ``base`` and ``_common``.
"""
from __future__ import annotations

import numpy as np

from liqcore.execution.detect import confirmed_records
from liqcore.strategies._common import (
    concat_signals, fill_exits, market_signals, parse_int, parse_nonneg_float, streams,
)
from liqcore.strategies._common import _EMPTY, _LIQ, _LONG, classify, signal_template
from liqcore.strategies.base import NEVER, SKIP_MIXED, ParamSpec, SignalStream, Strategy, exit_notices

EXIT_CONTINUES = 101


def _parse_from(value, name: str) -> str:
    v = str(value).strip().lower()
    if v not in ("end", "decision"):
        raise ValueError(f"{name}: expected end or decision; got {value!r}")
    return v


class CascadeFade(Strategy):
    __doc__ = __doc__  # the module's rules
    name = "cascade-fade"
    PARAMS = (
        ParamSpec("min-notional", 5_000_000.0, parse_nonneg_float,
                  "liquidation notional (quote) that triggers the strategy", "QUOTE"),
        ParamSpec("continue-large", 1, parse_int,
                  "large liquidations on the flushed side after the decision that close the position (0 = off)", "N"),
        ParamSpec("continue-from", "end", lambda v, n: _parse_from(v, n),
                  "where continuation liquidations start counting: end (of the cascade) or decision", "end|decision"),
    )
    DEFAULTS = {"hold_timeout_ns": 600_000_000_000, "stop_loss": 0.01, "take_profit": 0.0}
    needs = frozenset({"liquidation", "trade"})
    uses_detector = True
    EXIT_CODES = {EXIT_CONTINUES: "cascade_continues"}

    def signals(self, events, params, registry, records=None):
        from liqcore.types import CASCADE_DTYPE, RecordKind

        if records is None:
            raise ValueError("cascade-fade: needs the detector's cascade records")
        p = type(self).resolve(params)
        min_notional = float(self.value(p, "min-notional"))
        k_cont = int(self.value(p, "continue-large"))
        from_end = self.value(p, "continue-from") == "end"
        rec = np.asarray(records, dtype=CASCADE_DTYPE)
        conf = confirmed_records(rec)
        self._peak = 0.0  # the largest running notional of a cascade that did not trigger (why_no_decision)
        ended = rec[rec["record"] == int(RecordKind.ENDED)]
        # a cascade still active when the data ends (ended by the final flush, event_index -1) takes
        # every later liquidation of the data
        end_idx = {(int(r["symbol_id"]), int(r["cascade_id"])): int(r["event_index"]) if r["event_index"] >= 0
                   else len(events) for r in ended}
        st = streams(events)
        ts_all = events["ts_recv"]
        rows = []
        for r in conf:
            sid = int(r["symbol_id"])
            s = st.get(sid)
            ci = int(r["event_index"])
            L, S = float(r["long_notional"]), float(r["short_notional"])
            dec = None  # (event index, long, short)
            if L + S >= min_notional:
                dec = (ci, L, S)
            elif s is not None:
                e = end_idx.get((sid, int(r["cascade_id"])), len(events))
                a = np.searchsorted(s.liq_idx, ci, side="right")
                b = np.searchsorted(s.liq_idx, e, side="left")
                if b > a:
                    n = s.liq_notional[a:b]
                    lo = s.liq_long[a:b]
                    cl = L + np.cumsum(np.where(lo, n, 0.0))
                    cs = S + np.cumsum(np.where(lo, 0.0, n))
                    hit = np.flatnonzero(cl + cs >= min_notional)
                    if len(hit):
                        j = int(hit[0])
                        dec = (int(s.liq_idx[a + j]), float(cl[j]), float(cs[j]))
            if dec is None:  # (what it reached: said when no cascade triggers, why_no_decision)
                e = end_idx.get((sid, int(r["cascade_id"])), len(events))
                more = 0.0
                if s is not None:
                    a = np.searchsorted(s.liq_idx, ci, side="right")
                    more = float(s.liq_notional[a:np.searchsorted(s.liq_idx, e, side="left")].sum())
                self._peak = max(self._peak, L + S + more)
                continue
            di, dl, ds = dec
            direction = 1 if dl > ds else (-1 if ds > dl else 0)
            exit_ns = NEVER
            if direction != 0 and k_cont > 0 and s is not None:
                a = np.searchsorted(s.liq_idx, di, side="right")
                if from_end:  # only liquidations from the event that ends the cascade on
                    a = max(a, int(np.searchsorted(s.liq_idx, end_idx.get((sid, int(r["cascade_id"])),
                                                                            len(events)), side="left")))
                flushed_long = direction == 1
                m = (s.liq_long[a:] == flushed_long) & (s.liq_notional[a:] >= float(r["threshold"]))
                big = np.flatnonzero(m)
                if len(big) >= k_cont:
                    exit_ns = int(s.liq_ts[a + big[k_cont - 1]])
            rows.append((int(ts_all[di]), di, sid, direction, exit_ns, int(r["cascade_id"]), dl, ds))
        sig = market_signals(len(rows))
        if rows:
            arr = np.array([x[:6] for x in rows], dtype=np.int64)
            sig["ts_ns"], sig["ev_idx"], sig["symbol_id"] = arr[:, 0], arr[:, 1], arr[:, 2]
            sig["direction"] = arr[:, 3]
            sig["skip_code"] = np.where(arr[:, 3] == 0, SKIP_MIXED, 0)
            sig["exit_ns"] = arr[:, 4]
            sig["exit_code"] = np.where(arr[:, 4] != NEVER, EXIT_CONTINUES, 0)
            sig["tag"] = arr[:, 5]
        fill_exits(sig, p)
        return concat_signals([sig])

    def inputs(self, signal) -> dict:
        return {"cascade_id": int(signal["tag"])}

    def why_no_decision(self, res) -> str | None:
        """No decision although the detector confirmed cascades: none reached ``min-notional``; the largest
        running notional one reached (to its end) is named."""
        why = super().why_no_decision(res)
        n = int((getattr(res, "detector_counts", None) or {}).get("cascades", 0))
        if why is not None or not n or not hasattr(self, "_peak"):
            return why
        need = float(self.value(type(self).resolve(res.params), "min-notional"))
        return (f"the detector confirmed {n:,} cascade(s), none reached min-notional {need:,.0f} (quote) of "
                f"liquidations: the largest reached {self._peak:,.0f}; --min-notional lowers it")

    def stream(self, params, registry):
        return CascadeFadeStream(self, type(self).resolve(params), registry)


class CascadeFadeStream(SignalStream):
    """Streaming ``cascade-fade`` (the rules of :class:`CascadeFade`, fed the detector's records per
    event).  Per event: ENDED records close their cascade's running notional (the ending event's own
    liquidation is not part of it), then the event's liquidation counts toward the continuation exits
    of earlier decisions and toward the running notional of confirmed, undecided cascades, then the
    event's CONFIRMED records start new cascades (deciding at once when already at ``min-notional``)."""

    uses_detector = True

    def __init__(self, strategy, params, registry):
        super().__init__(strategy, params, registry)
        self.min_notional = float(strategy.value(params, "min-notional"))
        self.k_cont = int(strategy.value(params, "continue-large"))
        self.from_end = strategy.value(params, "continue-from") == "end"
        self.open: dict[tuple[int, int], list] = {}  # (sid, cid) -> [L, S, run_long, run_short]
        self.watch: dict[int, list] = {}  # sid -> [[tag, flushed_long, threshold, left, counting]]
        self._template = signal_template(params)

    def _signal(self, ts, i, sid, dl, ds, cid):
        direction = 1 if dl > ds else (-1 if ds > dl else 0)
        sig = self._template.copy()
        sig["ts_ns"], sig["ev_idx"], sig["symbol_id"], sig["direction"] = ts, i, sid, direction
        sig["skip_code"] = SKIP_MIXED if direction == 0 else 0
        sig["tag"] = cid
        return sig, direction

    def on_event(self, ev, records=()):
        from liqcore.types import RecordKind

        i = self.n
        self.n = i + 1
        kind, sid, price, qty, side, ts = classify(ev)
        out = []
        conf_rows = ()
        if len(records):
            rec = np.asarray(records)
            for r in rec[rec["record"] == int(RecordKind.ENDED)]:
                rsid, cid = int(r["symbol_id"]), int(r["cascade_id"])
                self.open.pop((rsid, cid), None)
                for t in self.watch.get(rsid, ()):
                    if t[0] == cid:
                        t[4] = True  # the cascade is over: same-side large liquidations now continue it
            conf_rows = rec[rec["record"] == int(RecordKind.CONFIRMED)]
        if kind == _LIQ:
            notional = price * qty
            is_long = side == _LONG
            w = self.watch.get(sid)
            if w:
                keep = []
                for t in w:
                    if t[4] and is_long == t[1] and notional >= t[2]:
                        t[3] -= 1
                        if t[3] == 0:
                            out.append(exit_notices(ts, i, sid, t[0], EXIT_CONTINUES))
                            continue
                    keep.append(t)
                self.watch[sid] = keep
            for key in [k for k in self.open if k[0] == sid]:
                c = self.open[key]
                if is_long:
                    c[2] += notional
                else:
                    c[3] += notional
                cl, cs = c[0] + c[2], c[1] + c[3]
                if cl + cs >= self.min_notional:
                    del self.open[key]
                    out.append(self._decide(ts, i, sid, cl, cs, key[1], c[4]))
        for r in conf_rows:
            rsid, cid = int(r["symbol_id"]), int(r["cascade_id"])
            L, S = float(r["long_notional"]), float(r["short_notional"])
            thr = float(r["threshold"])
            if L + S >= self.min_notional:
                out.append(self._decide(ts, i, rsid, L, S, cid, thr))
            else:
                self.open[(rsid, cid)] = [L, S, 0.0, 0.0, thr]
        if not out:
            return _EMPTY, _EMPTY
        return _EMPTY, self.pack(out)

    def _decide(self, ts, i, sid, dl, ds, cid, thr):
        sig, direction = self._signal(ts, i, sid, dl, ds, cid)
        if direction != 0 and self.k_cont > 0:
            self.watch.setdefault(sid, []).append([cid, direction == 1, thr, self.k_cont, not self.from_end])
        return sig


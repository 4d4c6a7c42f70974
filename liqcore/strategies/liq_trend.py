"""``liq-trend``: follow the side that is being wiped out (the first strategy article).

Rules (segments, z-score trigger, candle check, the judge, execution) and parameters:
docs/reference/strategies-scored.md, "`liq-trend`: follow the side being wiped out".

May import: numpy, ``units``, ``_libs.zscore``, ``judge`` (the decision matrix or a language model) and
this package's ``base``, ``_common`` and ``vol_breakout``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from liqcore.units import FractionWithin, parse_duration
from liqcore.strategies._common import (
    bar_grid, concat_signals, ev_index_at, fill_exits, market_signals, parse_nonneg_float, parse_pos_int,
    parse_unit_share, streams, window_sum,
)
from liqcore.strategies._common import _EMPTY, _LIQ, _LONG, _TRADE, BarClock, PrefixWindow, signal_template
from liqcore.strategies._common import bar_clock, bar_event, recorded_inputs
from liqcore.strategies.base import SKIP_MIXED, ParamSpec, SignalStream, Strategy
from liqcore.strategies.vol_breakout import rolling_z

SKIP_STRONG_NOT_ALIGNED = 101
SKIP_MEDIUM_NOT_ALIGNED = 102
SKIP_JUDGE_VETO = 103
SKIP_JUDGE_HOLD = 104
SKIP_BELOW_CONFIDENCE = 105
SKIP_JUDGE_NO_ANSWER = 106
CONF_HIGH = 1.0
CONF_MEDIUM = 0.6
#: purity and purity-strong: the larger side's share of the segment, from a half (below it a long share above
#: ``purity`` and one below ``1 - purity`` would both hold) to all of it
_PURITY = FractionWithin(0.5, 1.0, "[]", "the larger side's share: from a half to all of it")


class LiqTrend(Strategy):
    __doc__ = __doc__  # the module's rules
    name = "liq-trend"
    PARAMS = (
        ParamSpec("segment", "5m", parse_duration, "segment length of the liquidation z-score", "DUR"),
        ParamSpec("baseline", 288, parse_pos_int, "previous bars (segments) the z-score compares with", "N"),
        ParamSpec("min-liq-notional", 0.0, parse_nonneg_float, "smallest liquidation (quote) that counts", "QUOTE"),
        ParamSpec("z-entry", 2.0, parse_nonneg_float, "z-score of the segment's liquidation notional that triggers", "Z"),
        ParamSpec("z-strong", 4.0, parse_nonneg_float, "z-score of a strong signal", "Z"),
        ParamSpec("purity", 0.75, _PURITY, "one-sided share of the segment needed (> purity)", "FRAC"),
        ParamSpec("purity-strong", 0.9, _PURITY, "one-sided share of a strong signal (> purity-strong)", "FRAC"),
        ParamSpec("judge-min-confidence", 0.6, parse_unit_share, "the judge's confidence needed to enter", "FRAC"),
        ParamSpec("candle-lookback", "15m", parse_duration, "trade candles checked for alignment", "DUR"),
    )
    DEFAULTS = {"max_positions": 5, "max_symbols": 1000, "replace_weakest": False, "replace_same": True, "trail": 0.02,
                "stop_loss": 0.01, "take_profit": 0.0, "hold_timeout_ns": 0}
    needs = frozenset({"liquidation", "trade"})
    SKIP_CODES = {SKIP_STRONG_NOT_ALIGNED: "strong_not_aligned", SKIP_MEDIUM_NOT_ALIGNED: "medium_not_aligned",
                  SKIP_JUDGE_VETO: "judge_veto", SKIP_JUDGE_HOLD: "judge_hold",
                  SKIP_BELOW_CONFIDENCE: "below_confidence", SKIP_JUDGE_NO_ANSWER: "judge_no_answer"}

    def __init__(self, judge: Any = None, *, judge_timeout: float = 10.0, judge_concurrency: int = 8):
        from liqcore.judge import FunctionJudge, Judge, JudgeRunner, MatrixJudge

        if judge is None:
            judge = MatrixJudge()
        elif not isinstance(judge, Judge):
            if not callable(judge):
                raise ValueError("liq-trend: judge must be a Judge, a callable (context dict -> verdict) or None")
            judge = FunctionJudge(judge)
        self.judge = judge
        self.runner = JudgeRunner(judge, judge_timeout)
        if int(judge_concurrency) < 1:
            raise ValueError(f"judge-concurrency: must be at least 1; got {judge_concurrency!r}")
        self.judge_concurrency = int(judge_concurrency)  # (the batch form: questions at once)
        self.notes: dict[tuple[int, int], str] = {}  # (symbol id, tag) -> the judge's notes
        self.note_fields: dict[tuple[int, int], dict] = {}  # the same by part (liq_note, trend_note, ...)
        self._inputs: dict[tuple[int, int], dict] = {}

    def signal_note_fields(self, signal) -> dict:
        """The judge's notes on a signal by part (``liq_note``, ``trend_note``, ``news_note``,
        ``action_reason``; {} if none)."""
        return dict(self.note_fields.get((int(signal["symbol_id"]), int(signal["tag"])), {}))

    def signal_notes(self, signal) -> str:
        """The judge's notes on a signal (its verdict and reasons; "" if none)."""
        return self.notes.get((int(signal["symbol_id"]), int(signal["tag"])), "")

    def _judge_ctx(self, ctx: dict, sid: int, ts: int, direction: int, conf: float, registry, p) -> dict:
        ctx = dict(ctx)
        ctx.update(symbol_id=sid, ts_ns=ts, direction=direction, confidence=conf)
        if registry is not None and 0 <= sid < len(registry):
            ctx.update(venue=registry.venue(sid).name.lower(), symbol=registry.symbol(sid))
        for k in ("z-entry", "z-strong", "purity", "purity-strong"):
            ctx[k.replace("-", "_")] = float(self.value(p, k))
        ctx["segment_s"] = int(self.value(p, "segment")) / 1e9
        ctx["candle_lookback_s"] = int(self.value(p, "candle-lookback")) / 1e9
        return ctx

    def _verdict(self, ctx: dict, v, why: str, min_conf: float, tag: int) -> tuple[int, int, float]:
        """(direction, skip code, confidence) of a judged signal; its notes kept for the journal."""
        note = v.note_text() if v is not None else f"judge: no answer ({why})"
        self.notes[(int(ctx["symbol_id"]), tag)] = note
        self.note_fields[(int(ctx["symbol_id"]), tag)] = (
            {k: str(x) for k, x in v.notes.items()} if v is not None else {"action_reason": note})
        rec = self._inputs.get((int(ctx["symbol_id"]), int(ctx["ts_ns"])))
        if rec is not None:  # (a backtest's trade rows show the signal's inputs: the judge's notes with them)
            rec["judge"] = note
        if len(self.notes) > 10_000:
            for key in list(self.notes)[:5_000]:
                del self.notes[key]
                self.note_fields.pop(key, None)
        entered = v is not None and v.enters(min_conf)
        self.runner.count_verdict(v, entered)
        if v is None:
            return 0, SKIP_JUDGE_NO_ANSWER, float(ctx["confidence"])
        if entered:
            return int(ctx["direction"]), 0, float(v.confidence)
        code = (SKIP_JUDGE_HOLD if v.action == "hold" else SKIP_JUDGE_VETO if v.action != "enter"
                else SKIP_BELOW_CONFIDENCE)
        return 0, code, float(v.confidence) if v.action == "enter" else float(ctx["confidence"])

    def signals(self, events, params, registry, records=None):
        p = type(self).resolve(params)
        seg = int(self.value(p, "segment"))
        n = int(self.value(p, "baseline"))
        min_liq = float(self.value(p, "min-liq-notional"))
        z_entry = float(self.value(p, "z-entry"))
        z_strong = float(self.value(p, "z-strong"))
        purity = float(self.value(p, "purity"))
        purity_strong = float(self.value(p, "purity-strong"))
        look = int(self.value(p, "candle-lookback"))
        if seg <= 0 or look <= 0:
            raise ValueError("segment, candle-lookback: must be positive durations")
        t = bar_grid(events, seg, "segment")
        ev_at = ev_index_at(events, t)
        parts = []
        self._inputs = {}
        for sid, s in streams(events).items():
            if not len(t) or not len(s.liq_ts):
                continue
            keep = s.liq_notional >= min_liq
            nl = np.where(keep & s.liq_long, s.liq_notional, 0.0)
            ns = np.where(keep & ~s.liq_long, s.liq_notional, 0.0)
            L = window_sum(s.liq_ts, nl, t, seg)
            S = window_sum(s.liq_ts, ns, t, seg)
            rec = L + S
            z = _rolling_z_float(rec, n)
            with np.errstate(invalid="ignore"):
                trig = np.flatnonzero((z >= z_entry) & (rec > 0))
            if not len(trig):
                continue
            tt = t[trig]
            share = L[trig] / rec[trig]
            d = np.where(share > purity, -1, np.where(share < 1.0 - purity, 1, 0)).astype(np.int8)
            hi = np.searchsorted(s.tr_ts, tt, side="right")
            lo = np.searchsorted(s.tr_ts, tt - look, side="right")
            has = hi > lo
            if len(s.tr_price):
                chg = np.where(has, s.tr_price[np.maximum(hi - 1, 0)] - s.tr_price[np.minimum(lo, len(s.tr_price) - 1)], 0.0)
            else:
                chg = np.zeros(len(tt))
            aligned = has & (np.sign(chg) == d) & (d != 0)
            strong = (z[trig] >= z_strong) & (np.maximum(share, 1.0 - share) > purity_strong)
            sig = market_signals(len(trig))
            sig["ts_ns"] = tt
            sig["ev_idx"] = ev_at[trig]
            sig["symbol_id"] = sid
            sig["tag"] = tt // seg
            sig["confidence"] = np.where(strong, CONF_HIGH, CONF_MEDIUM)
            skip = np.where(d == 0, SKIP_MIXED,
                            np.where(aligned, 0, np.where(strong, SKIP_STRONG_NOT_ALIGNED, SKIP_MEDIUM_NOT_ALIGNED)))
            sig["skip_code"] = skip
            sig["direction"] = np.where(skip == 0, d, 0)
            for k in range(len(trig)):
                self._inputs[(sid, int(tt[k]))] = {"z": float(z[trig[k]]), "rec_notional": float(rec[trig[k]]),
                                                   "long_share": float(share[k]), "price_change": float(chg[k]),
                                                   "strength": "strong" if strong[k] else "medium",
                                                   "aligned": bool(aligned[k])}
                if aligned[k]:
                    self._inputs[(sid, int(tt[k]))].update(_candles(s.tr_ts, s.tr_price, int(tt[k]), look))
            parts.append(sig)
        out = concat_signals(parts)
        if len(out):
            min_conf = float(self.value(p, "judge-min-confidence"))
            ks = np.flatnonzero(out["direction"] != 0).tolist()
            ctxs = []
            for k in ks:  # every signal is known ahead (the judge only weighs it): asked all at once
                row = out[k]
                sid = int(row["symbol_id"])
                ctxs.append(self._judge_ctx(self._inputs[(sid, int(row["ts_ns"]))], sid, int(row["ts_ns"]),
                                            int(row["direction"]), float(row["confidence"]), registry, p))
            answers = self.runner.call_many(ctxs, getattr(self, "judge_concurrency", 8))
            for k, ctx, (v, why) in zip(ks, ctxs, answers):
                d, code, c = self._verdict(ctx, v, why, min_conf, int(out["tag"][k]))
                out["direction"][k], out["skip_code"][k], out["confidence"][k] = d, code, c
            out = concat_signals([out])
        fill_exits(out, p)
        return out

    def inputs(self, signal) -> dict:
        return recorded_inputs(self._inputs, signal)

    def stream(self, params, registry):
        return LiqTrendStream(self, type(self).resolve(params), registry)


class LiqTrendStream(SignalStream):
    """Streaming ``liq-trend``: per symbol, running prefix sums of the counted liquidations (the
    batch form's segment sums, bit for bit), the rolling z-score kernel of the segments
    (``RollingZScore``, as in the batch form) and the trades of the candle look-back; at each
    segment close revealed by an event (``before``) or the clock:
    the decision matrix, then the judge (in decision order)."""

    MAX_INPUTS = 100_000  # feature values kept for ``inputs()`` (oldest dropped first)

    def __init__(self, strategy, params, registry):
        from collections import deque

        from liqcore._libs.detection import RollingZScore

        super().__init__(strategy, params, registry)
        v = lambda k: strategy.value(params, k)  # noqa: E731
        self.seg, self.nb = int(v("segment")), int(v("baseline"))
        self.min_liq, self.z_entry, self.z_strong = float(v("min-liq-notional")), float(v("z-entry")), float(v("z-strong"))
        self.purity, self.look = float(v("purity")), int(v("candle-lookback"))
        self.purity_strong, self.min_conf = float(v("purity-strong")), float(v("judge-min-confidence"))
        self._asked: dict = {}  # key -> the signal row awaiting the judge's answer
        if self.seg <= 0 or self.look <= 0:
            raise ValueError("segment, candle-lookback: must be positive durations")
        self.clock = BarClock(self.seg, "segment")
        self.closes = 0
        self.liq: dict[int, PrefixWindow] = {}
        self.hist: dict[int, RollingZScore] = {}
        self._rz = RollingZScore
        self.trades: dict[int, deque] = {}
        self._deque = deque
        self._template = signal_template(params)
        self._restored = False
        #: the venue's REST 1-minute candles of a symbol whose trades do not cover the look-back yet (data on
        #: demand subscribes a symbol's trades only once it has a signal): symbol id -> (ts ns, price) points,
        #: each candle's open at its open time and its close one ns before the next minute; used only for the span
        #: before the symbol's first trade held (:meth:`add_klines`); :attr:`klines_pending`: asked, not answered
        self.klines: dict[int, list] = {}
        self.klines_pending: set[int] = set()
        strategy._inputs = {}

    def _closes(self, closes, i):
        st = self.strategy
        out = []
        for c in closes:
            rows = []
            for sid in sorted(self.liq):
                pw = self.liq[sid]
                L = pw.sum(0, c, self.seg)
                S = pw.sum(1, c, self.seg)
                rec = L + S
                z = self.hist[sid].update(rec)
                pw.trim(c - self.seg)
                if not (z >= self.z_entry and rec > 0):
                    continue
                share = L / rec
                d = -1 if share > self.purity else (1 if share < 1.0 - self.purity else 0)
                tr = self.trades.get(sid)
                if tr is not None:
                    while tr and tr[0][0] <= c - self.look:
                        tr.popleft()
                source = "trades"
                if sid in self.klines or sid in self.klines_pending:
                    tr, source = self._with_klines(sid, tr, c)
                has = bool(tr)
                chg = tr[-1][1] - tr[0][1] if has else 0.0
                aligned = has and d != 0 and ((chg > 0) - (chg < 0)) == d
                strong = z >= self.z_strong and max(share, 1.0 - share) > self.purity_strong
                skip = SKIP_MIXED if d == 0 else (0 if aligned else (SKIP_STRONG_NOT_ALIGNED if strong else SKIP_MEDIUM_NOT_ALIGNED))
                sig = self._template.copy()
                sig["ts_ns"], sig["ev_idx"], sig["symbol_id"] = c, i, sid
                sig["tag"] = c // self.seg
                sig["confidence"] = CONF_HIGH if strong else CONF_MEDIUM
                sig["skip_code"] = skip
                sig["direction"] = d if skip == 0 else 0
                st._inputs[(sid, c)] = {"z": float(z), "rec_notional": float(rec), "long_share": float(share),
                                        "price_change": float(chg), "strength": "strong" if strong else "medium",
                                        "aligned": bool(aligned)}
                if source != "trades":  # (the candles came from the venue's klines, or were asked and not back yet)
                    st._inputs[(sid, c)]["candle_source"] = source
                if aligned:
                    ts_a = np.fromiter((x[0] for x in tr), np.int64, len(tr))
                    px_a = np.fromiter((x[1] for x in tr), np.float64, len(tr))
                    st._inputs[(sid, c)].update(_candles(ts_a, px_a, c, self.look))
                rows.append(sig)
            if rows:
                sig = self.pack(rows)
                keep = np.ones(len(sig), bool)
                for k in np.flatnonzero(sig["direction"] != 0).tolist():
                    row = sig[k]
                    sid = int(row["symbol_id"])
                    ctx = st._judge_ctx(st._inputs[(sid, c)], sid, c, int(row["direction"]), float(row["confidence"]),
                                        self.registry, self.params)
                    if st.judge.instant:  # (the matrix, recorded answers: no I/O, decided at the close)
                        v, why = st.runner.call(ctx)
                        d, code, cf = st._verdict(ctx, v, why, self.min_conf, int(row["tag"]))
                        sig["direction"][k], sig["skip_code"][k], sig["confidence"][k] = d, code, cf
                    else:  # asked off the event path: the row comes out when the answer does
                        self._asked[(sid, c)] = sig[k:k + 1].copy()
                        st.runner.submit((sid, c), ctx)
                        keep[k] = False
                out.append(sig if keep.all() else sig[keep])
            self.closes += 1
        if len(st._inputs) > self.MAX_INPUTS:
            for key in list(st._inputs)[: len(st._inputs) - self.MAX_INPUTS]:
                del st._inputs[key]
        return self.pack(out)

    def ask_klines(self, sid: int, now_ns: int) -> tuple[int, int] | None:
        """The span (open times, ms) of the venue's 1-minute candles that would fill symbol ``sid``'s candle
        look-back at ``now_ns`` (the symbol then counts as waiting for them until :meth:`add_klines`), or None
        when its trades held already cover it or candles are held or asked."""
        if sid in self.klines_pending or self.klines.get(sid):
            return None
        tr = self.trades.get(sid)
        if tr and tr[0][0] <= now_ns - self.look:
            return None
        self.klines_pending.add(sid)
        return (now_ns - self.look) // 60_000_000_000 * 60_000, now_ns // 1_000_000

    def add_klines(self, sid: int, candles) -> None:
        """The venue's 1-minute candles of ``sid`` (rows with ``open_ms``, ``open``, ``close``; oldest first): used
        for the look-back's span before the first trade held.  None: the fetch failed (the candle check goes on
        with the trades alone)."""
        self.klines_pending.discard(sid)
        if candles is None:
            self.klines[sid] = []
            return
        pts = []
        for t, o, c in zip(candles["open_ms"].tolist(), candles["open"].tolist(), candles["close"].tolist()):
            pts.append((t * 1_000_000, o))
            pts.append(((t + 60_000) * 1_000_000 - 1, c))
        self.klines[sid] = pts

    def _with_klines(self, sid: int, tr, c: int):
        """(points, source) of the candle check at close ``c``: the venue's candle points in ``(c - look, c]``
        before the first trade held, then the trades; ``source`` says where the candles came from."""
        if sid in self.klines_pending:
            return tr, "klines pending"
        pts = self.klines.get(sid) or []
        first = tr[0][0] if tr else c + 1
        lo = c - self.look
        got = [p for p in pts if lo < p[0] <= c and p[0] < first]
        if pts and pts[-1][0] <= lo:  # (every candle is older than the look-back now: done with)
            self.klines.pop(sid, None)
        if not got:
            return tr, ("trades" if pts else "klines failed" if sid in self.klines else "trades")
        return self._deque(got + list(tr or ())), "klines"

    def on_event(self, ev, records=()):
        if self._restored:
            self._resume(int(ev["ts_recv"]))
        kind, sid, price, qty, side, ts, before = bar_event(self, ev)
        if kind == _LIQ:
            pw = self.liq.get(sid)
            if pw is None:
                pw = self.liq[sid] = PrefixWindow(2)
                self.hist[sid] = self._rz(self.nb, self.nb)
                if self.closes:  # the segments before the symbol's first liquidation held none
                    self.hist[sid].update_many(np.zeros(self.closes))
            n = price * qty
            keep = n >= self.min_liq
            pw.append(ts, n if keep and side == _LONG else 0.0, n if keep and side != _LONG else 0.0)
        elif kind == _TRADE:
            tr = self.trades.get(sid)
            if tr is None:
                tr = self.trades[sid] = self._deque()
            tr.append((ts, price))
            if len(tr) > 64 and tr[0][0] <= ts - self.look - self.seg:
                while tr and tr[0][0] <= ts - self.look - self.seg:
                    tr.popleft()
        if self._asked:
            return before, self._answers(ts, self.n - 1)
        return before, _EMPTY

    def _answers(self, ts: int, i: int) -> np.ndarray:
        """The signals whose judge answered (or ran out of time) since the last call, decided now (``ts``)."""
        st = self.strategy
        rows = []
        for key, ctx, v, why in st.runner.ready():
            row = self._asked.pop(key, None)
            if row is None:
                continue
            d, code, cf = st._verdict(ctx, v, why, self.min_conf, int(row["tag"][0]))
            row["direction"], row["skip_code"], row["confidence"] = d, code, cf
            row["ts_ns"], row["ev_idx"] = ts, i
            rows.append(row)
        return self.pack(rows)

    def on_clock(self, ts_ns):
        self._resume(int(ts_ns))
        out = bar_clock(self, ts_ns)
        if self._asked:
            out = self.pack([out, self._answers(int(ts_ns), self.n - 1)])
        return out

    def _key(self, sid: int) -> str:
        reg = self.registry
        if reg is not None and 0 <= sid < len(reg):
            return f"{reg.venue(sid).name.lower()}:{reg.symbol(sid)}"
        return str(sid)

    def _sid(self, key: str) -> int | None:
        if ":" in key:
            venue, sym = key.split(":", 1)
            return self.registry.id(venue, sym) if self.registry is not None else None
        return int(key)

    def snapshot(self) -> dict:
        """The stream's state, JSON-able, keyed by ``venue:SYMBOL``: per symbol the segment baseline
        (the last ``baseline`` segment notionals, oldest first), the liquidations of the segment in
        progress and the trades of the candle look-back; and the segment grid's next close.  The live
        engine keeps it in its journal, so a restart scores its first segment against the full
        baseline instead of waiting a day for one."""
        syms = {}
        for sid, rz in self.hist.items():
            pw = self.liq[sid]
            rows = [[pw.ts[k], pw.cum[0][k + 1] - pw.cum[0][k], pw.cum[1][k + 1] - pw.cum[1][k]]
                    for k in range(pw.off, len(pw.ts))]
            syms[self._key(sid)] = {"baseline": [float(x) for x in rz.values()], "liquidations": rows}
        for sid, tr in self.trades.items():
            syms.setdefault(self._key(sid), {})["trades"] = [[int(t), float(p)] for t, p in tr]
        return {"version": 1, "segment_ns": self.seg, "baseline_n": self.nb, "next_close_ns": self.clock.next,
                "closes": self.closes, "symbols": syms}

    def restore(self, state: dict) -> None:
        """Take over a :meth:`snapshot` (of a stream with the same ``segment`` and ``baseline``).
        Segments the stream did not see (the engine was down across a segment close) are left out of
        the baseline, not counted as segments without liquidations: the first event after the
        restart, or the clock, restarts the segment grid when a saved close has passed."""
        if not isinstance(state, dict) or state.get("version") != 1:
            raise ValueError("liq-trend: not a liq-trend stream snapshot")
        if int(state["segment_ns"]) != self.seg or int(state["baseline_n"]) != self.nb:
            raise ValueError(f"liq-trend: the snapshot's segment/baseline ({state['segment_ns']} ns, "
                             f"{state['baseline_n']}) differ from this stream's ({self.seg} ns, {self.nb})")
        self.liq, self.hist, self.trades = {}, {}, {}
        for key, d in state["symbols"].items():
            sid = self._sid(key)
            if sid is None:
                continue
            if "baseline" in d:
                rz = self.hist[sid] = self._rz(self.nb, self.nb)
                if d["baseline"]:
                    rz.update_many(np.asarray(d["baseline"], np.float64))
                pw = self.liq[sid] = PrefixWindow(2)
                for t, lo, sh in d.get("liquidations", ()):
                    pw.append(int(t), float(lo), float(sh))
            if d.get("trades"):
                self.trades[sid] = self._deque((int(t), float(p)) for t, p in d["trades"])
        nxt = state.get("next_close_ns")
        self.clock.next = None if nxt is None else int(nxt)
        self.closes = int(state.get("closes", 0))
        self._restored = self.clock.next is not None

    def _resume(self, ts: int) -> None:
        """After :meth:`restore`: when the saved segment close has passed, the segments in between
        were not seen; drop the partial segment and restart the grid at ``ts``."""
        if not getattr(self, "_restored", False):
            return
        self._restored = False
        if ts > self.clock.next:
            self.clock.next = (ts // self.seg + 1) * self.seg
            for sid in self.liq:
                self.liq[sid] = PrefixWindow(2)

    def seed(self, events) -> int:
        """Feed a recording (EVENT_DTYPE rows in receive order, e.g. the last day recorded before a
        start) through the stream to fill the segment baseline; the signals it gives are dropped and
        the judge is not called.  Returns the number of segment closes seen."""
        st = self.strategy
        judge, st.judge = st.judge, None
        try:
            for ev in events:
                self.on_event(ev)
            if len(events):
                self.on_clock(int(events["ts_recv"][-1]))
        finally:
            st.judge = judge
        st._inputs = {}
        return self.closes


def _candles(ts, price, t: int, look: int) -> dict:
    """The 1-minute candle figures shown to the judge (change %, volatility %, trend, count)."""
    from liqcore.judge import candle_stats

    c = candle_stats(ts, price, t, look)
    c.pop("price_change")  # (the candle check's own figure is kept)
    return c

    # ---- the baseline across restarts ---------------------------------------------------------------


def _rolling_z_float(x: np.ndarray, n: int) -> np.ndarray:
    """z of ``x[i]`` against ``x[i-n:i]`` (population std; NaN for ``i < n``; a flat baseline gives
    0): the rolling z-score kernel, as in the streaming form."""
    from liqcore._libs.detection import RollingZScore

    x = np.ascontiguousarray(x, np.float64)
    return RollingZScore(n, n).update_many(x) if len(x) else np.zeros(0)


__all__ = ["LiqTrend", "rolling_z"]

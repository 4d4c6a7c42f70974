"""Named features kept current from a live stream.

The details: docs/maintainers/research.md, "Live features, kept current".

May import: ``numpy``, ``_libs.detector``, ``params``, ``types`` and this package's ``book``, ``registry``,
``store``.
"""
from __future__ import annotations

import math

import numpy as np

from liqcore.features.book import COLUMNS as _BOOK_COLUMNS
from liqcore.features.book import good_quote as _good_quote
from liqcore.features.registry import ATR_BARS, all_bases, parse_name
from liqcore.features.inputs import check_lookback
from liqcore.features.store import (
    MAX_NOTIONAL, OK, REASONS, FeatureStore, _Inst, _Stream, DEFAULT_LOOKBACK, DEFAULT_MIN_PERIODS,
)
from liqcore.types import DEFAULT_VENUE, CASCADE_DTYPE, EVENT_DTYPE, Flag, Kind, RecordKind, Side, SymbolRegistry
from liqcore.venues.registry import sampled_liquidations

__all__ = ["LiveFeatures"]

_QUOTE = int(Kind.QUOTE)

_LIQ, _TRADE, _FUND, _GAP, _OI = int(Kind.LIQUIDATION), int(Kind.TRADE), int(Kind.FUNDING), int(Kind.GAP), \
    int(Kind.OPEN_INTEREST)
_LONG, _SHORT, _BUY, _SELL = int(Side.LONG), int(Side.SHORT), int(Side.BUY), int(Side.SELL)


class _Grow(_Stream):
    """An append-only stream: capacity buffers, running prefix sums, front trimming."""

    __slots__ = ("_ts", "_c", "_cum", "n", "off", "first_ts")

    def __init__(self, *names: str):
        self._ts = np.zeros(64, np.int64)
        self._c = {k: np.zeros(64) for k in names}
        self._cum = {k: np.zeros(65) for k in names}
        self.n = 0
        self.off = 0
        self.first_ts = None

    @property
    def ts(self):
        return self._ts[self.off:self.n]

    @property
    def cols(self):
        return {k: v[self.off:self.n] for k, v in self._c.items()}

    def cum(self, col):
        return self._cum[col][self.off:self.n + 1]

    @property
    def first(self):
        return self.first_ts

    def __len__(self):
        return self.n - self.off

    def append(self, ts: int, **vals: float) -> None:
        if self.n == len(self._ts):
            self._grow()  # compacts (moves n) or doubles
        n = self.n
        self._ts[n] = ts
        for k, v in vals.items():
            self._c[k][n] = v
            cum = self._cum[k]
            cum[n + 1] = cum[n] + v
        self.n = n + 1
        if self.first_ts is None:
            self.first_ts = ts

    def _grow(self) -> None:
        cap = len(self._ts)
        live = self.n - self.off
        new = max(64, 2 * live) if self.off > cap // 2 else 2 * cap
        ts = np.zeros(new, np.int64)
        ts[:live] = self._ts[self.off:self.n]
        self._ts = ts
        for k in list(self._c):
            c = np.zeros(new)
            c[:live] = self._c[k][self.off:self.n]
            self._c[k] = c
            cu = np.zeros(new + 1)
            cu[:live + 1] = self._cum[k][self.off:self.n + 1]
            self._cum[k] = cu
        self.n = live
        self.off = 0

    def trim(self, before_ns: int) -> None:
        """Drop entries older than ``before_ns`` (keeps one older entry: a last-known value)."""
        k = int(np.searchsorted(self._ts[self.off:self.n], before_ns, side="left")) - 1
        if k > 0:
            self.off += k


class _LiveStore(FeatureStore):
    """The historical store's evaluators over live, growing streams."""

    def __init__(self, registry, params, btc_symbol, lookback, min_periods):
        self.registry = registry
        self.params = params
        self.btc_symbol = str(btc_symbol).upper()
        self.lookback, self.min_periods = lookback, min_periods
        self.start_ns = None
        self.end_ns = None
        self._insts = {}
        self.dropped = {}
        self.user_errors = {}
        self._idx_cache, self._keep, self._grids, self._hist_meta = {}, [], {}, {}
        self._batch = False
        self._venue_start: dict[int, int] = {}
        self._venue_gaps: dict[int, list] = {}
        self._live_sids: list[int] = []
        self.confirms = _Grow("sid")  # every symbol's confirmations (the market-wide count)

    def _all_confirms(self):
        return self.confirms.ts, self.confirms.cols["sid"].astype(np.int64)

    @property
    def instruments(self):
        return [(s, self.registry.venue(s).name.lower(), self.registry.symbol(s)) for s in sorted(self._live_sids)]

    def _inst(self, sid):
        inst = self._insts.get(sid)
        if inst is None:
            venue, symbol = self.registry.lookup(sid)
            inst = _Inst(key=sid, venue=int(venue), symbol=symbol, events=None,
                         liq_all=_Grow("v", "vl", "vs", "nl"),
                         trades=_Grow("p", "r2", "qb", "qs", "vb", "vs", "nb"), funding=_Grow("rate", "integ"),
                         oi=_Grow("v"), gap_start=np.zeros(0, np.int64), gap_end_max=np.zeros(0, np.int64),
                         venue_start=self._venue_start.get(int(venue)),
                         sampled=sampled_liquidations(int(venue)))
            inst.cascades = _Grow("v")
            inst.book = _Grow(*_BOOK_COLUMNS)  # top of book after each quote row (liqcore.features.book)
            inst.last_book = [math.nan, math.nan, math.nan, math.nan]
            # [start, end] pairs (end None while open); venue-wide gaps seen before this instrument count
            inst.gaps = [list(g) for g in self._venue_gaps.get(int(venue), [])]
            if inst.gaps:
                LiveFeatures._sync_gaps(inst)
            inst.last_price = None
            inst.last_rate = None
            self._insts[sid] = inst
            self._live_sids.append(sid)
        return inst

    def _btc(self, inst):
        sid = self.registry.get(inst.venue, self.btc_symbol) if inst.venue >= 0 else None
        return None if sid is None else self._inst(sid)

    def _cascades(self, inst):
        return inst.cascades


class LiveFeatures:
    """Named features (``names``) of every instrument seen, kept current event by event.

    ``registry`` numbers the symbols of the events fed (the engine's or the loader's).  ``params``:
    detector parameters for the cascade features (default :class:`liqcore.config.Params`).
    ``lookback`` / ``min_periods``: history of the transforms (as in :func:`historical`).
    """

    def __init__(self, names, registry: SymbolRegistry | None = None, *, params=None, btc_symbol: str = "BTCUSDT",
                 lookback: int = DEFAULT_LOOKBACK, min_periods: int = DEFAULT_MIN_PERIODS):
        from liqcore.features.store import names_list

        self.names = [str(parse_name(n)) for n in names_list(names)]
        self._fnames = {n: parse_name(n) for n in self.names}
        lookback, min_periods = check_lookback(lookback, min_periods)
        self.registry = registry if registry is not None else SymbolRegistry()
        if params is None:
            from liqcore.params import Params

            params = Params()
        self.store = _LiveStore(self.registry, params, btc_symbol, lookback, min_periods)
        self.horizon_ns = max(self._horizon(fn) for fn in self._fnames.values())
        self.late = 0
        self.rejects = 0
        self._open_gaps: set[int] = set()
        self.now: int | None = None
        self._n = 0
        fams = {fn.family for fn in self._fnames.values()}
        self._user = any(all_bases()[fn.key].needs == "user" for fn in self._fnames.values())
        self._need_cascades = any(fn.name.startswith("liq_cascade") or fn.name == "market_wide"
                                  for fn in self._fnames.values())
        self._merged_cascades = any(fn.merged and fn.name.startswith("liq_cascade") for fn in self._fnames.values())
        self._det = None
        self._mdet: dict[str, tuple] = {}
        self._families = fams

    def _horizon(self, fn) -> int:
        span = fn.window_ns * (ATR_BARS if fn.name == "atr" else 2)
        hist = fn.window_ns * (self.store.lookback + 1) if fn.transform != "none" else 0
        return span + hist + 60_000_000_000

    # ---- feeding ------------------------------------------------------------------------------
    def on_events(self, events: np.ndarray) -> None:
        """Feed EVENT_DTYPE rows (in receive order)."""
        if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE:
            raise ValueError("events: expected an EVENT_DTYPE array")
        upd = self.update
        for row in events.tolist():
            upd(*row)

    def update(self, ts_event, ts_recv, price, qty, symbol_id, side, kind, venue, flags=0) -> None:
        """One event, fields in EVENT_DTYPE order (a row of ``events.tolist()`` unpacks into it)."""
        st = self.store
        t = int(ts_recv)
        if self.now is not None and t < self.now:
            self.late += 1
            t = self.now
        self.now = t
        st.end_ns = t
        if st.start_ns is None:
            st.start_ns = t
        sid, kind, side, venue = int(symbol_id), int(kind), int(side), int(venue)
        if kind != _GAP:
            if venue not in st._venue_start:
                st._venue_start[venue] = t
                for inst in st._insts.values():
                    if inst.venue == venue and not inst.components:
                        inst.venue_start = t
            if venue in self._open_gaps:  # the venue's first event after a gap ends the blind spot
                still = False
                for inst in st._insts.values():
                    if inst.venue == venue and inst.gaps and inst.gaps[-1][1] is None:
                        self._close_gaps(inst, venue, t)
                        still = still or inst.gaps[-1][1] is None
                for g in st._venue_gaps.get(venue, ()):
                    if g[1] is None:
                        if g[0] < t:
                            g[1] = t
                        else:
                            still = True
                if not still:
                    self._open_gaps.discard(venue)
        if sid < 0:
            if kind == _GAP:
                self._open_gaps.add(venue)
                vg = st._venue_gaps.setdefault(venue, [])
                if not (vg and vg[-1][1] is None):
                    vg.append([t, None])
                for inst in list(st._insts.values()):
                    if inst.venue == venue and not inst.components:
                        self._add_gap(inst, t)
                self._detect(ts_event, t, sid, venue, kind, side, price, qty)
            return
        if sid >= len(self.registry):
            self.rejects += 1
            return
        inst = st._inst(sid)
        if kind == _GAP:
            self._add_gap(inst, t)
            self._detect(ts_event, t, sid, venue, kind, side, price, qty)
        elif kind == _LIQ:
            self._detect(ts_event, t, sid, venue, kind, side, price, qty)
            if (side == _LONG or side == _SHORT) and _good(price, qty):
                v = price * qty
                if v <= MAX_NOTIONAL:
                    if side == _LONG:
                        inst.liq_all.append(t, v=v, vl=v, vs=0.0, nl=1.0)
                    else:
                        inst.liq_all.append(t, v=v, vl=0.0, vs=v, nl=0.0)
                    if flags & int(Flag.SAMPLED):
                        inst.sampled = True
        elif kind == _TRADE:
            if (side == _BUY or side == _SELL) and _good(price, qty):
                v = price * qty
                if v <= MAX_NOTIONAL:
                    lp = inst.last_price
                    r2 = 0.0 if lp is None else math.log(price / lp) ** 2
                    if side == _BUY:
                        inst.trades.append(t, p=price, r2=r2, qb=qty, qs=0.0, vb=v, vs=0.0, nb=1.0)
                    else:
                        inst.trades.append(t, p=price, r2=r2, qb=0.0, qs=qty, vb=0.0, vs=v, nb=0.0)
                    inst.last_price = price
        elif kind == _FUND:
            if price == price and abs(price) < 1.0:
                f = inst.funding
                if len(f) == 0 and f.n == 0:
                    f.append(t, rate=price, integ=0.0)
                else:
                    last_t = int(f._ts[f.n - 1])
                    integ = f._c["integ"][f.n - 1] + f._c["rate"][f.n - 1] * float(t - last_t)
                    f.append(t, rate=price, integ=integ)
        elif kind == _OI:
            if qty == qty and 0 <= qty < 1e18:
                inst.oi.append(t, v=qty)
        elif kind == _QUOTE:
            if bool(_good_quote(side, price, qty)):
                b = inst.last_book
                if side == _BUY:
                    b[0], b[1] = (price if qty > 0 else 0.0), qty
                else:
                    b[2], b[3] = (price if qty > 0 else 0.0), qty
                inst.book.append(t, bp=b[0], bq=b[1], ap=b[2], aq=b[3])
            else:
                st.dropped["bad_quote"] = st.dropped.get("bad_quote", 0) + 1
        if self._user:
            self._append_event(inst, (ts_event, t, price, qty, sid, side, kind, venue, flags))
        self._n += 1
        if self._n % 4096 == 0:
            self._trim(t)

    def _append_event(self, inst, row) -> None:
        buf = getattr(inst, "_evbuf", None)
        if buf is None:
            buf = inst._evbuf = [np.zeros(256, EVENT_DTYPE), 0]
        arr, n = buf
        if n == len(arr):
            arr = np.concatenate([arr, np.zeros(len(arr), EVENT_DTYPE)])
            buf[0] = arr
        arr[n] = row
        buf[1] = n + 1
        inst.events = arr[:n + 1]

    def _add_gap(self, inst, t: int) -> None:
        self._open_gaps.add(inst.venue)
        if inst.gaps and inst.gaps[-1][1] is None:
            return  # already blind
        inst.gaps.append([t, None])
        self._sync_gaps(inst)

    def _close_gaps(self, inst, venue: int, t: int) -> None:
        for g in inst.gaps:
            if g[1] is None and g[0] < t:
                g[1] = t
        self._sync_gaps(inst)

    @staticmethod
    def _sync_gaps(inst) -> None:
        I64 = np.iinfo(np.int64).max
        inst.gap_start = np.array([g[0] for g in inst.gaps], np.int64)
        inst.gap_end_max = np.maximum.accumulate(np.array([I64 if g[1] is None else g[1] for g in inst.gaps],
                                                          np.int64))

    def _detect(self, ts_event, ts_recv, sid, venue, kind, side, price, qty) -> None:
        if not self._need_cascades:
            return
        if self._det is None:
            from liqcore._libs.detection import CascadeDetector

            self._det = CascadeDetector.from_params(self.store.params)
        try:
            n = self._det.update(ts_event, ts_recv, sid, venue, kind, side, price, qty)
        except ValueError:
            n = 0
        if n:
            for rec in self._det.last_records():
                if int(rec["record"]) == int(RecordKind.CONFIRMED):
                    inst = self.store._inst(int(rec["symbol_id"]))
                    inst.cascades.append(int(rec["confirm_recv_ns"]),
                                         v=float(rec["long_notional"]) + float(rec["short_notional"]))
                    self.store.confirms.append(int(rec["confirm_recv_ns"]), sid=float(rec["symbol_id"]))
        if self._merged_cascades and sid >= 0:
            sym = self.registry.symbol(sid)
            got = self._mdet.get(sym)
            if got is None:
                from liqcore._libs.detection import CascadeDetector

                got = self._mdet[sym] = (CascadeDetector.from_params(self.store.params), _Grow("v"))
            det, stream = got
            try:
                n = det.update(ts_event, ts_recv, 0, venue, kind, side, price, qty)
            except ValueError:
                n = 0
            if n:
                for rec in det.last_records():
                    if int(rec["record"]) == int(RecordKind.CONFIRMED):
                        stream.append(int(rec["confirm_recv_ns"]),
                                      v=float(rec["long_notional"]) + float(rec["short_notional"]))

    def _trim(self, now: int) -> None:
        before = now - self.horizon_ns
        for inst in self.store._insts.values():
            if inst.components:
                continue
            for s in (inst.liq_all, inst.trades, inst.funding,
                      inst.oi, inst.cascades, inst.book):
                s.trim(before)
            ev = getattr(inst, "_evbuf", None)
            if ev is not None:
                arr, n = ev
                k = int(np.searchsorted(arr["ts_recv"][:n], before, side="left"))
                if k > n // 2 and k > 1024:
                    ev[0] = arr[k:].copy()
                    ev[1] = n - k
                    inst.events = ev[0][:n - k]
        for _det, s in self._mdet.values():
            s.trim(before)
        self.store.confirms.trim(before)

    def advance(self, t_ns: int) -> None:
        """Move the clock (no event): values after the last event stay readable up to ``t_ns``."""
        t = int(t_ns)
        if self.now is None or t > self.now:
            self.now = t
            self.store.end_ns = t

    # ---- reading ------------------------------------------------------------------------------
    def _sid(self, symbol) -> int:
        if symbol is None:
            sids = sorted(s for s in self.store._insts if not isinstance(s, tuple))
            if len(sids) != 1:
                raise ValueError(f"symbol: several instruments are live; name one (ETHUSDT or {DEFAULT_VENUE}:ETHUSDT)")
            return sids[0]
        if isinstance(symbol, (int, np.integer)):
            return int(symbol)
        v, _, s = str(symbol).strip().rpartition(":")
        hits = [sid for sid, ven, sym in self.store.instruments if sym == s.upper() and (not v or ven == v.lower())]
        if len(hits) != 1:
            raise ValueError(f"symbol: {symbol!r} is {'not live yet' if not hits else 'on several venues; add venue:'}")
        return hits[0]

    def _eval(self, name: str, symbol, t_ns):
        fn = self._fnames.get(name) or parse_name(name)
        if str(fn) not in self._fnames:
            raise ValueError(f"feature {name!r}: not kept by this LiveFeatures (kept: {', '.join(self.names)})")
        if self.now is None:
            return math.nan, 6
        sid = self._sid(symbol)
        t = self.now if t_ns is None else int(t_ns)
        st = self.store
        if fn.merged:
            sym = self.registry.symbol(sid)
            key = ("all", sym)
            comps = [st._inst(s) for s, _v, ss in self.registry if ss == sym]
            inst = st._insts.get(key)
            if inst is None:
                e = _Grow("v")
                inst = _Inst(key=key, venue=-1, symbol=sym, events=None, liq_all=e, trades=e, funding=e, oi=e, gap_start=np.zeros(0, np.int64),
                             gap_end_max=np.zeros(0, np.int64), venue_start=None, sampled=False)
                st._insts[key] = inst
            inst.components = comps
            inst.cascades = self._mdet[sym][1] if sym in self._mdet else _Grow("v")
        v, r = st.values(fn, sid, np.array([t], np.int64))
        st._clear_cache()
        return float(v[0]), int(r[0])

    def value(self, name: str, symbol=None, t_ns: int | None = None) -> float | None:
        """The value of ``name`` for ``symbol`` at ``t_ns`` (default: the latest receive time); None = null."""
        v, r = self._eval(name, symbol, t_ns)
        return None if r != OK or v != v else v

    def why_null(self, name: str, symbol=None, t_ns: int | None = None) -> str:
        """Why the value is null ("" when it is not)."""
        _v, r = self._eval(name, symbol, t_ns)
        return REASONS.get(r, "")

    def snapshot(self, symbol=None, t_ns: int | None = None) -> dict[str, float | None]:
        """Every kept feature of ``symbol`` at ``t_ns`` (default now); all None while the symbol
        has not been seen."""
        try:
            self._sid(symbol)
        except ValueError:
            return {n: None for n in self.names}
        return {n: self.value(n, symbol, t_ns) for n in self.names}


def _good(price: float, qty: float) -> bool:
    return price == price and qty == qty and 0 < price < math.inf and 0 < qty < math.inf


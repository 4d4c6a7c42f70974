"""The feature store: named point-in-time features at any times, exactly as they were knowable.

:func:`historical` and :class:`FeatureStore`: a value at ``t`` uses the events with ``ts_recv <= t``,
windows are ``(t - W, t]``, computed from prefix sums (bit-for-bit the live store's).  The rules and
nulls: docs/explanation/point-in-time.md, "The value of a feature at time `t`", and
docs/maintainers/research.md, "How it is computed, and how fast".

Why one module: the caches, windows and transforms are one object's state.  May import: numpy,
pandas, ``types``, ``params``, ``instruments``, ``io``, ``execution``, ``market.wide``, ``_jit.features``
and this package's ``registry`` and ``book``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from liqcore._extras import need
from liqcore.features.registry import (
    ATR_BARS, CORR_BUCKETS, FeatureName, all_bases, parse_name,
)
from liqcore.features.inputs import check_lookback, finish, names_list, parse_times, regular_step
from liqcore.types import CASCADE_DTYPE, EVENT_DTYPE, Flag, Kind, Side, SymbolRegistry
from liqcore.venues.registry import sampled_liquidations

__all__ = ["FeatureStore", "historical", "parse_times", "names_list", "REASONS", "DEFAULT_LOOKBACK", "DEFAULT_MIN_PERIODS"]

DEFAULT_LOOKBACK = 96
DEFAULT_MIN_PERIODS = 20
NS_PER_MIN = 60_000_000_000
I64_MAX = np.iinfo(np.int64).max
MAX_NOTIONAL = 1e18  # a liquidation/trade beyond this is bad data (dropped, counted)

#: why a value is null
REASONS = {
    0: "",
    1: "the window reaches before the data covers this stream",
    2: "after the end of the data",
    3: "feed gap in the window",
    4: "undefined: nothing in the window",
    5: "fewer past values than min_periods",
    6: "stream not in the data",
    7: "error in a user feature",
    8: "before the start of the data",
}
OK, R_COVER, R_END, R_GAP, R_EMPTY, R_HIST, R_MISSING, R_USER, R_BEFORE = range(9)


def _ss(a: np.ndarray, v) -> np.ndarray:
    v = np.asarray(v)
    if v.size < 256 or len(a) < 64:
        return np.searchsorted(a, v, side="right")
    from liqcore._jit.features import search_right

    return search_right(a, v)


class _Stream:
    """Events of one stream of one instrument: receive times (sorted) and prefix sums of columns."""

    __slots__ = ("ts", "cols", "cums", "lazy")

    def __init__(self, ts: np.ndarray, lazy: dict | None = None, **cols):
        self.ts = np.ascontiguousarray(ts, dtype=np.int64)
        self.cols = {k: np.ascontiguousarray(v, dtype=np.float64) for k, v in cols.items()}
        self.cums: dict[str, np.ndarray] = {}
        self.lazy = lazy or {}  # column -> function building it on first use

    def cum(self, col: str) -> np.ndarray:
        c = self.cums.get(col)
        if c is None:
            x = self.cols.get(col)
            if x is None:
                x = self.cols[col] = np.ascontiguousarray(self.lazy[col](), dtype=np.float64)
            c = np.empty(len(self.ts) + 1)
            c[0] = 0.0
            np.cumsum(x, out=c[1:])
            self.cums[col] = c
        return c

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def first(self) -> int | None:
        return int(self.ts[0]) if len(self.ts) else None


@dataclass
class _Inst:
    """The streams of one (venue, symbol), or of a symbol merged across venues (``sid`` < 0)."""

    key: object
    venue: int
    symbol: str
    events: np.ndarray | None  # every event of the instrument, in receive order (user features; lazy)
    liq_all: _Stream  # columns v (notional), vl / vs (notional if long / short, else 0), nl (1 if long)
    trades: _Stream  # columns p, r2 (squared log return), qb / qs, vb / vs (taker buy / sell qty, notional), nb
    funding: _Stream
    oi: _Stream
    gap_start: np.ndarray
    gap_end_max: np.ndarray  # running max of the gap ends, in gap-start order
    venue_start: int | None
    sampled: bool
    components: list = field(default_factory=list)  # merged: the per-venue instruments
    cascades: _Stream | None = None
    book: _Stream | None = None  # top of book after each quote row (liqcore.features.book; lazy)


def _bad_quotes(kind, side, price, qty) -> int:
    """How many QUOTE rows the book features leave out (:func:`liqcore.features.book.good_quote`)."""
    q = kind == Kind.QUOTE
    if not q.any():
        return 0
    from liqcore.features.book import good_quote

    return int(q.sum() - good_quote(side[q], price[q], qty[q]).sum())


class FeatureStore:
    """Named features over one set of events (any recording, a synthetic market, or a live buffer).

    ``events``: EVENT_DTYPE (any order; placed by ``ts_recv``).  ``registry`` numbers them.
    ``end_ns``: the time up to which the data is known to be complete (default: the last event's
    receive time); values after it are null.  ``params``: detector parameters for the cascade
    features (default :class:`liqcore.config.Params`).  ``btc_symbol``: the symbol the ``xasset``
    family compares with.  Bad values (non-finite or non-positive prices or quantities, notionals
    beyond 1e18, a bad side) are dropped and counted in :attr:`dropped`.
    """

    def __init__(self, events: np.ndarray, registry: SymbolRegistry | None = None, *, end_ns: int | None = None,
                 params=None, btc_symbol: str = "BTCUSDT", lookback: int = DEFAULT_LOOKBACK,
                 min_periods: int = DEFAULT_MIN_PERIODS, records: np.ndarray | None = None):
        if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE or events.ndim != 1:
            raise ValueError("events: expected a 1-D numpy array of liqcore.types.EVENT_DTYPE")
        from liqcore.execution.events import prepare_events

        self.events = prepare_events(events)  # receive order (stable)
        self.registry = registry if registry is not None else _registry_for(self.events)
        self.params = params
        self.btc_symbol = str(btc_symbol).upper()
        self.lookback, self.min_periods = check_lookback(lookback, min_periods)
        ts = self.events["ts_recv"]
        self.start_ns = int(ts[0]) if len(ts) else None
        if end_ns is None:
            self.end_ns = int(ts[-1]) if len(ts) else None
        else:
            self.end_ns = int(end_ns)
        self._records = records
        self._insts: dict[object, _Inst] = {}
        self._merged_records = None
        self.user_errors: dict[str, str] = {}
        self._idx_cache: dict = {}
        self._grids: dict = {}
        self._hist_meta: dict = {}
        self._batch = False
        self._keep: list = []
        self.dropped: dict[str, int] = {}
        self._prepare()

    # ---- building ---------------------------------------------------------------------------
    def _prepare(self) -> None:
        ev = self.events
        kind, side = ev["kind"], ev["side"]
        price, qty = ev["price"], ev["qty"]
        self._kind, self._side, self._ts = np.ascontiguousarray(kind), np.ascontiguousarray(side), \
            np.ascontiguousarray(ev["ts_recv"])
        self._px, self._qt = np.ascontiguousarray(price), np.ascontiguousarray(qty)
        with np.errstate(invalid="ignore", over="ignore"):
            notional = price * qty
            good = np.isfinite(price) & (price > 0) & np.isfinite(qty) & (qty > 0) & (notional <= MAX_NOTIONAL)
        is_liq, is_trade = kind == Kind.LIQUIDATION, kind == Kind.TRADE
        liq_ok = is_liq & good & ((side == Side.LONG) | (side == Side.SHORT))
        trade_ok = is_trade & good & ((side == Side.BUY) | (side == Side.SELL))
        fund_ok = (kind == Kind.FUNDING) & np.isfinite(price) & (np.abs(price) < 1.0)
        with np.errstate(invalid="ignore"):
            oi_ok = (kind == Kind.OPEN_INTEREST) & np.isfinite(qty) & (qty >= 0) & (qty < 1e18)
        self.dropped = {k: v for k, v in {
            "bad_liquidation": int(is_liq.sum() - liq_ok.sum()),
            "bad_trade": int(is_trade.sum() - trade_ok.sum()),
            "bad_funding_rate": int((kind == Kind.FUNDING).sum() - fund_ok.sum()),
            "bad_open_interest": int((kind == Kind.OPEN_INTEREST).sum() - oi_ok.sum()),
            "bad_quote": _bad_quotes(kind, side, price, qty),  # (counted now, not when a book feature is first read)
        }.items() if v}
        # one code per event: 1 liquidated long, 2 liquidated short, 3 taker buy, 4 taker sell,
        # 5 funding, 6 open interest, 7 gap, 0 anything else or a dropped value
        code = np.zeros(len(ev), np.int8)
        code[liq_ok] = np.where(side[liq_ok] == Side.LONG, 1, 2)
        code[trade_ok] = np.where(side[trade_ok] == Side.BUY, 3, 4)
        code[fund_ok] = 5
        code[oi_ok] = 6
        code[kind == Kind.GAP] = 7
        self._code = code
        self._notional = np.where(liq_ok | trade_ok, notional, 0.0)
        sid = ev["symbol_id"]
        # per symbol, still in receive order (int16 keys sort by radix: linear time)
        key = sid.astype(np.int16) if len(self.registry) < 32000 else sid
        order = np.argsort(key, kind="stable")
        bounds = np.searchsorted(key[order], np.arange(-1, len(self.registry) + 1))
        self._by_sid = {int(s): order[bounds[s + 1]:bounds[s + 2]] for s in range(-1, len(self.registry))}
        # venue coverage: first non-GAP event of the venue
        self._venue_start: dict[int, int] = {}
        self._venue_nongap: dict[int, np.ndarray] = {}
        ven = ev["venue"]
        for v in np.unique(ven).tolist():
            m = (ven == v) & (kind != Kind.GAP)
            t = ts_v = ev["ts_recv"][m]
            self._venue_nongap[int(v)] = ts_v
            if len(t):
                self._venue_start[int(v)] = int(t[0])

    @property
    def instruments(self) -> list[tuple[int, str, str]]:
        """(symbol_id, venue, symbol) of every instrument with events."""
        out = []
        for s, v, sym in self.registry:
            idx = self._by_sid.get(s)
            if idx is not None and len(idx):
                out.append((s, v.name.lower(), sym))
        return out

    def _inst(self, sid: int) -> _Inst:
        got = self._insts.get(sid)
        if got is not None:
            return got
        ev = self.events
        idx = self._by_sid.get(int(sid), np.zeros(0, np.int64))
        venue, symbol = self.registry.lookup(sid)
        code = self._code[idx]
        li = idx[(code == 1) | (code == 2)]  # gather each stream's rows straight from the columns
        ti = idx[(code == 3) | (code == 4)]
        fi, oi_, gi = idx[code == 5], idx[code == 6], idx[code == 7]
        nl_ = self._notional[li]
        is_l = self._code[li] == 1
        tp, qt_, nt_ = self._px[ti], self._qt[ti], self._notional[ti]
        is_b = self._code[ti] == 3
        lr2 = np.zeros(len(tp))
        if len(tp) > 1:
            lr2[1:] = np.log(tp[1:] / tp[:-1]) ** 2
        f_ts, f_rate = self._ts[fi], self._px[fi]
        # integral of the last-known rate: value at each funding event's time (ns * rate)
        integ = np.zeros(len(f_ts))
        if len(f_ts) > 1:
            integ[1:] = np.cumsum(f_rate[:-1] * np.diff(f_ts).astype(np.float64))
        gaps = self._gaps(gi, int(venue))
        inst = _Inst(
            key=sid, venue=int(venue), symbol=symbol, events=None,
            liq_all=_Stream(self._ts[li], v=nl_, lazy={
                "vl": lambda: np.where(is_l, nl_, 0.0), "vs": lambda: np.where(is_l, 0.0, nl_),
                "nl": lambda: is_l.astype(np.float64)}),
            trades=_Stream(self._ts[ti], p=tp, r2=lr2, lazy={
                "qb": lambda: np.where(is_b, qt_, 0.0), "qs": lambda: np.where(is_b, 0.0, qt_),
                "vb": lambda: np.where(is_b, nt_, 0.0), "vs": lambda: np.where(is_b, 0.0, nt_),
                "nb": lambda: is_b.astype(np.float64)}),
            funding=_Stream(f_ts, rate=f_rate, integ=integ),
            oi=_Stream(self._ts[oi_], v=self._qt[oi_]),
            gap_start=gaps[0], gap_end_max=gaps[1],
            venue_start=self._venue_start.get(int(venue)),
            sampled=bool(np.any(ev["flags"][li] & int(Flag.SAMPLED))) or sampled_liquidations(int(venue)),
        )
        self._insts[sid] = inst
        return inst

    def _gaps(self, own: np.ndarray, venue: int) -> tuple[np.ndarray, np.ndarray]:
        """Blind spots ``[gap, first event of the venue after it)`` of the GAP events ``own`` (indices)
        and of the venue-wide ones: (starts sorted, running max of the ends)."""
        wide = self._by_sid.get(-1, np.zeros(0, np.int64))
        wide = wide[(self._kind[wide] == Kind.GAP) & (self.events["venue"][wide] == venue)]
        g_idx = np.concatenate([own, wide])
        if not len(g_idx):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        start = np.sort(self._ts[g_idx])
        nongap = self._venue_nongap.get(venue, np.zeros(0, np.int64))
        j = np.searchsorted(nongap, start, side="right")
        if len(nongap):
            end = np.where(j < len(nongap), nongap[np.minimum(j, len(nongap) - 1)], I64_MAX)
        else:
            end = np.full(len(start), I64_MAX, np.int64)
        return start, np.maximum.accumulate(end.astype(np.int64))

    def _cascades(self, inst: _Inst) -> _Stream:
        if inst.cascades is not None:
            return inst.cascades
        if inst.components:  # merged across venues: the detector on the merged stream
            rec = self._merged_detect(inst)
        else:
            rec = self._records_all()
            rec = rec[rec["symbol_id"] == inst.key]
        rec = rec[np.argsort(rec["confirm_recv_ns"], kind="stable")]
        inst.cascades = _Stream(rec["confirm_recv_ns"], v=rec["long_notional"] + rec["short_notional"])
        return inst.cascades

    def _market_wide(self, inst: _Inst, W: int, t: np.ndarray):
        """Distinct instruments of the whole store with a confirmation in ``(t - W, t]`` (the same for every
        symbol; masked by the symbol's own data span and gaps like every liquidation feature)."""
        from liqcore.instruments import groups
        from liqcore.market.wide import market_wide_count

        ts, sid = self._all_confirms()
        n = len(self.registry)
        got = getattr(self, "_instrument_groups", None)
        if got is None or len(got) != n:  # the registry only grows (live): its length keys the table
            got = self._instrument_groups = groups(self.registry)[0]
        v = market_wide_count(ts, got[sid], t, window_ns=W).astype(np.float64)
        if inst.components:
            _, _, _, _, r = self._liq_parts(inst, W, t)
        else:
            r = self._mask(inst, t, W, inst.venue_start)
        return finish(v, r)

    def _all_confirms(self) -> tuple[np.ndarray, np.ndarray]:
        """``(confirm_recv_ns, symbol_id)`` of every symbol's confirmed cascades (the market-wide count's input)."""
        rec = self._records_all()
        return rec["confirm_recv_ns"], rec["symbol_id"].astype(np.int64)

    def _records_all(self) -> np.ndarray:
        if self._records is None:
            liq = self.events["kind"] == Kind.LIQUIDATION
            if not liq.any():
                self._records = np.zeros(0, CASCADE_DTYPE)
            else:
                from liqcore.execution.detect import detect
                from liqcore.params import Params

                ev = self.events[liq | (self.events["kind"] == Kind.GAP)]
                self._records, _ = detect(ev, self.params or Params())
        from liqcore.execution.detect import confirmed_records

        return confirmed_records(self._records)

    def _merged_detect(self, inst: _Inst) -> np.ndarray:
        from liqcore.execution.detect import detect
        from liqcore.params import Params

        idx = [self._by_sid.get(int(c.key), np.zeros(0, np.int64)) for c in inst.components]
        idx = np.sort(np.concatenate(idx)) if idx else np.zeros(0, np.int64)  # arrival order across venues
        ev = self.events[idx]
        ev = ev[(ev["kind"] == Kind.LIQUIDATION) | (ev["kind"] == Kind.GAP)].copy()
        if not len(ev):
            return np.zeros(0, CASCADE_DTYPE)
        ev["symbol_id"] = 0
        rec, _ = detect(ev, self.params or Params())
        from liqcore.execution.detect import confirmed_records

        return confirmed_records(rec)

    def _merged(self, symbol: str) -> _Inst:
        key = ("all", symbol)
        got = self._insts.get(key)
        if got is not None:
            return got
        # every venue the registry knows for the symbol (one without events yet adds nothing; which
        # instruments exist must not depend on events received later)
        comps = [self._inst(s) for s, _v, sym in self.registry if sym == symbol]
        if not comps:
            raise ValueError(f"symbol: {symbol!r} is not in the data")
        empty = _Stream(np.zeros(0, np.int64), v=np.zeros(0))
        inst = _Inst(key=key, venue=-1, symbol=symbol, events=np.zeros(0, EVENT_DTYPE),
                     liq_all=empty, trades=empty, funding=empty, oi=empty,
                     gap_start=np.zeros(0, np.int64), gap_end_max=np.zeros(0, np.int64), venue_start=None,
                     sampled=any(c.sampled for c in comps), components=comps)
        self._insts[key] = inst
        return inst

    # ---- symbols and sampling ---------------------------------------------------------------
    def resolve(self, symbol) -> list[int]:
        """Symbol ids of ``symbol`` (``ETHUSDT``, ``bybit:ETHUSDT``, an id, a list or a comma string of
        those; None = every instrument with events)."""
        if symbol is None:
            return [s for s, _, _ in self.instruments]
        if isinstance(symbol, (list, tuple, set)) or (isinstance(symbol, str) and "," in symbol):
            items = symbol.split(",") if isinstance(symbol, str) else list(symbol)
            out: list[int] = []
            for one in items:
                if str(one).strip():
                    out += [s for s in self.resolve(one) if s not in out]
            return out
        if isinstance(symbol, (int, np.integer)) and not isinstance(symbol, bool):
            if not 0 <= int(symbol) < len(self.registry):
                raise ValueError(f"symbol: id {symbol} is not in the registry")
            return [int(symbol)]
        s = str(symbol).strip()
        venue, _, name = s.rpartition(":")
        hits = [sid for sid, v, sym in self.instruments
                if sym == name.upper() and (not venue or v == venue.lower())]
        if not hits:
            known = sorted({f"{v}:{sym}" for _, v, sym in self.instruments})
            import difflib

            near = difflib.get_close_matches(s.upper(), [k.split(":")[1] for k in known] + known, n=1)
            raise ValueError(f"symbol: {s!r} is not in the data (known: {', '.join(known[:20])})"
                             + (f"; did you mean {near[0]!r}?" if near else ""))
        return hits

    def sampling(self) -> dict[str, str]:
        """Per instrument: how its venue samples liquidations."""
        out = {}
        for s, v, sym in self.instruments:
            inst = self._inst(s)
            out[f"{v}:{sym}"] = ("at most one liquidation per symbol per second (venue-sampled)" if inst.sampled
                                 else "every liquidation")
        return out

    # ---- evaluation -------------------------------------------------------------------------
    def values(self, name, sid: int, times) -> tuple[np.ndarray, np.ndarray]:
        """(values, reason codes) of one feature for one instrument at ``times`` (int64 ns)."""
        fn = name if isinstance(name, FeatureName) else parse_name(name)
        t = np.asarray(times, dtype=np.int64)
        inst = self._merged(self.registry.symbol(sid)) if fn.merged else self._inst(int(sid))
        try:
            v, r = self._base(inst, fn, t) if fn.transform == "none" else self._transformed(inst, fn, t)
        finally:
            if not self._batch:
                self._clear_cache()
        if self.start_ns is not None:
            r[(r != OK) & (t < self.start_ns)] = R_BEFORE
        return v, r

    def _clear_cache(self) -> None:
        self._idx_cache.clear()
        self._keep.clear()
        self._grids.clear()
        self._hist_meta.clear()

    def _transformed(self, inst: _Inst, fn: FeatureName, t: np.ndarray):
        from liqcore._jit.features import TRANSFORM_CODES, history_all

        M, W = self.lookback, fn.window_ns
        q = len(t)
        grid = regular_step(t)
        n = 0
        if grid is not None:
            step = math.gcd(grid, W)
            t0 = int(t[0]) - M * W
            n = (int(t[-1]) - t0) // step + 1
        if grid is not None and n <= q * (M + 1) and n < 50_000_000:
            d = W // step
            key = ("g", t0, step, n, d)
            gt = self._grids.get(key)
            if gt is None:
                # one window more at the front: searches at gt - W are searches at ext[:n]
                ext = (t0 - d * step) + np.arange(n + d, dtype=np.int64) * step
                gt = self._grids[key] = ext[d:]
                self._hist_meta[id(gt)] = (ext, d, 0, W)
            src, gr = self._base_cached(inst, fn, gt)
            idx0 = (t - t0) // step
            stride = d
            rx = gr[idx0]
        else:
            # k-major: block k holds t - k W for every t (sorted blocks when t is sorted), plus one
            # more block so that searches at ht - W are searches at ext[q:]
            key = ("h", id(t), W, M)
            ht = self._grids.get(key)
            if ht is None:
                self._keep.append(t)
                ext = (t[None, :] - np.arange(M + 2, dtype=np.int64)[:, None] * W).ravel()
                ht = self._grids[key] = ext[:(M + 1) * q]
                self._hist_meta[id(ht)] = (ext, 0, q, W)
            src, hr = self._base_cached(inst, fn, ht)
            idx0 = np.arange(q, dtype=np.int64)
            stride = -q
            rx = hr[:q]
        # every transform of one source at once (the store asks for mean, std and max of one base)
        skey = ("stats", inst.key, fn.key, W, fn.merged, id(src), id(t), fn.transform == "rank")
        got = self._grids.get(skey) if self._batch else None
        if got is None:
            got = history_all(src, idx0, stride, M, fn.transform == "rank")
            if self._batch:
                self._keep.append((src, t))
                self._grids[skey] = got
        out, cnt = got
        v = np.ascontiguousarray(out[:, TRANSFORM_CODES[fn.transform]])
        r = rx.copy()
        r[(r == OK) & (cnt < self.min_periods)] = R_HIST
        return finish(v, r)

    def _base_cached(self, inst: _Inst, fn: FeatureName, t: np.ndarray):
        """:meth:`_base` on a history grid, shared by the transforms of one base within a batch."""
        if not self._batch:
            return self._base(inst, fn, t)
        key = ("base", inst.key, fn.key, fn.window_ns, fn.merged, id(t))
        got = self._grids.get(key)
        if got is None:
            got = self._grids[key] = self._base(inst, fn, t)
            self._keep.append(t)
        return got

    def _base(self, inst: _Inst, fn: FeatureName, t: np.ndarray):
        key = fn.key
        spec = all_bases()[key]
        W = fn.window_ns
        if spec.needs == "user":
            return self._user(inst, spec, W, t)
        fam, nm = fn.family, fn.name
        if fam == "liquidations":
            if nm.startswith("liq_cascade") or nm == "market_wide":
                return self._cascade(inst, nm, W, t)
            return self._liq(inst, nm, W, t)
        if fam == "flow":
            return self._flow(inst, nm, W, t)
        if fam == "price":
            return self._price(inst, nm, W, t)
        if fam == "funding":
            return self._funding(inst, nm, W, t)
        if fam == "oi":
            return self._oi(inst, nm, W, t)
        if fam == "xasset":
            return self._xasset(inst, nm, W, t)
        if fam == "book":
            from liqcore.features.book import book_values

            return book_values(self, inst, nm, W, t, stream_cls=_Stream, empty=R_EMPTY)
        raise ValueError(f"feature {fn}: no evaluator")  # pragma: no cover

    def _at(self, ts: np.ndarray, t: np.ndarray, offset: int = 0) -> np.ndarray:
        """``searchsorted(ts, t - offset, 'right')``, cached within one :meth:`compute` call."""
        if len(t) < 64:
            return _ss(ts, t - offset)
        meta = self._hist_meta.get(id(t))
        if meta is not None and offset in (0, meta[3]):
            ext, off0, off_w, _w = meta
            full = self._at(ts, ext, 0)
            a = off0 if offset == 0 else off_w
            return full[a:a + len(t)]
        key = (id(ts), int(offset), id(t))
        got = self._idx_cache.get(key)
        if got is None:
            self._keep.append((ts, t))  # the ids stay valid while cached
            got = self._idx_cache[key] = _ss(ts, t - offset)
        return got

    # common null rules: end of data, coverage start, gaps over (t - span, t]
    def _mask(self, inst: _Inst, t: np.ndarray, span: int, cover: int | None,
              cover_span: int | None = None) -> np.ndarray:
        """Reasons: R_END after the data, R_MISSING without the stream, R_COVER when
        ``t - cover_span`` (default ``span``) is before the stream's first event, R_GAP when a feed
        gap overlaps ``(t - span, t]``."""
        r = np.zeros(len(t), np.uint8)
        if cover is None:
            r[:] = R_MISSING
        else:
            r[t - (span if cover_span is None else cover_span) < cover] = R_COVER
        if len(inst.gap_start):
            k = _ss(inst.gap_start, t)
            hit = (k > 0) & (inst.gap_end_max[np.maximum(k - 1, 0)] > t - span)
            r[(r == 0) & hit] = R_GAP
        if self.end_ns is not None:
            r[t > self.end_ns] = R_END
        else:
            r[:] = R_MISSING
        return r

    def _liq_parts(self, inst: _Inst, W: int, t: np.ndarray, lag: int = 0):
        """(long notional, short notional, long count, short count, reasons) over (t-lag-W, t-lag]."""
        if inst.components:
            acc = None
            started = np.zeros(len(t), bool)
            gap = np.zeros(len(t), bool)
            for c in inst.components:
                p = self._liq_parts(c, W, t, lag)
                use = p[4] == OK
                gap |= p[4] == R_GAP
                started |= use
                vals = [np.where(use, x, 0) for x in p[:4]]
                acc = vals if acc is None else [a + b for a, b in zip(acc, vals)]
            r = np.where(started, OK, R_COVER).astype(np.uint8)
            r[gap] = R_GAP
            if self.end_ns is not None:
                r[t > self.end_ns] = R_END
            return (*acc, r)
        s = inst.liq_all
        lo, hi = self._at(s.ts, t, lag + W), self._at(s.ts, t, lag)
        cl, cs, cn = s.cum("vl"), s.cum("vs"), s.cum("nl")
        n = hi - lo
        n_long = (cn[hi] - cn[lo]).astype(np.int64)
        r = self._mask(inst, t, W + lag, inst.venue_start)
        return cl[hi] - cl[lo], cs[hi] - cs[lo], n_long, n - n_long, r

    def _liq(self, inst: _Inst, nm: str, W: int, t: np.ndarray):
        if nm == "liq_largest":
            return self._largest(inst, W, t)
        L, S, nL, nS, r = self._liq_parts(inst, W, t)
        with np.errstate(invalid="ignore", divide="ignore"):
            if nm == "liq_volume":
                v = L + S
            elif nm in ("liq_long_volume", "liq_buy_volume"):  # Bybit's convention: Buy side = a long liquidated
                v = L
            elif nm in ("liq_short_volume", "liq_sell_volume"):
                v = S
            elif nm == "liq_count":
                v = (nL + nS).astype(np.float64)
            elif nm == "liq_long_count":
                v = nL.astype(np.float64)
            elif nm == "liq_short_count":
                v = nS.astype(np.float64)
            elif nm == "liq_rate":
                v = (nL + nS) * (NS_PER_MIN / W)
            elif nm == "liq_imbalance":
                tot = L + S
                v = np.where(nL + nS > 0, (S - L) / np.where(tot > 0, tot, 1.0), np.nan)
                r = np.where((r == OK) & (nL + nS == 0), R_EMPTY, r).astype(np.uint8)
            else:  # pragma: no cover
                raise ValueError(nm)
        return finish(v, r)

    def _largest(self, inst: _Inst, W: int, t: np.ndarray):
        from liqcore._jit.features import range_max

        if inst.components:
            best = np.full(len(t), np.nan)
            started = np.zeros(len(t), bool)
            gap = np.zeros(len(t), bool)
            for c in inst.components:
                v, r = self._largest(c, W, t)
                use = (r == OK) | (r == R_EMPTY)
                started |= use
                gap |= r == R_GAP
                best = np.where(use & ~np.isnan(v) & ~(v <= best), v, best)
            r = np.where(started, OK, R_COVER).astype(np.uint8)
            r[gap] = R_GAP
            r[(r == OK) & np.isnan(best)] = R_EMPTY
            if self.end_ns is not None:
                r[t > self.end_ns] = R_END
            return finish(best, r)
        s = inst.liq_all
        lo, hi = self._at(s.ts, t, W), self._at(s.ts, t)
        v = range_max(s.cols["v"], lo, hi)
        r = self._mask(inst, t, W, inst.venue_start)
        r[(r == OK) & (hi <= lo)] = R_EMPTY
        return finish(v, r)

    def _cascade(self, inst: _Inst, nm: str, W: int, t: np.ndarray):
        if nm == "market_wide":
            return self._market_wide(inst, W, t)
        s = self._cascades(inst)
        lo, hi = self._at(s.ts, t, W), self._at(s.ts, t)
        if nm == "liq_cascade_flag":
            v = (hi > lo).astype(np.float64)
        elif nm == "liq_cascade_count":
            v = (hi - lo).astype(np.float64)
        else:
            c = s.cum("v")
            v = c[hi] - c[lo]
        if inst.components:
            _, _, _, _, r = self._liq_parts(inst, W, t)
        else:
            r = self._mask(inst, t, W, inst.venue_start)
        return finish(v, r)

    def _flow(self, inst: _Inst, nm: str, W: int, t: np.ndarray):
        s = inst.trades
        lo, hi = self._at(s.ts, t, W), self._at(s.ts, t)
        r = self._mask(inst, t, W, s.first)
        with np.errstate(invalid="ignore", divide="ignore"):
            if nm == "trade_count":
                v = (hi - lo).astype(np.float64)
            elif nm in ("taker_buy_volume", "taker_buy_notional"):
                c = s.cum("qb" if nm.endswith("volume") else "vb")
                v = c[hi] - c[lo]
            elif nm in ("taker_sell_volume", "taker_sell_notional"):
                c = s.cum("qs" if nm.endswith("volume") else "vs")
                v = c[hi] - c[lo]
            else:
                cb, cs = s.cum("vb"), s.cum("vs")
                B, S = cb[hi] - cb[lo], cs[hi] - cs[lo]
                if nm == "volume":
                    v = B + S
                else:  # ofi
                    n = hi - lo
                    tot = B + S
                    v = np.where(n > 0, (B - S) / np.where(tot > 0, tot, 1.0), np.nan)
                    r[(r == OK) & (n == 0)] = R_EMPTY
        return finish(v, r)

    def _price(self, inst: _Inst, nm: str, W: int, t: np.ndarray):
        s = inst.trades
        p = s.cols["p"]
        first = s.first
        if nm == "last":
            r = self._mask(inst, t, W, first, 0)
            i = _ss(s.ts, t) - 1
            return finish(p[np.maximum(i, 0)] if len(p) else np.full(len(t), np.nan), r)
        span = W * (ATR_BARS if nm == "atr" else 1)
        r = self._mask(inst, t, span, first)
        if not len(p):
            return finish(np.full(len(t), np.nan), r)
        hi = self._at(s.ts, t)
        lo = self._at(s.ts, t, W)
        p_t = p[np.maximum(hi - 1, 0)]
        p_a = p[np.maximum(lo - 1, 0)]
        with np.errstate(invalid="ignore", divide="ignore"):
            if nm == "return":
                v = p_t / p_a - 1.0
            elif nm == "realized_vol":
                c = s.cum("r2")
                lo1 = np.maximum(lo, 1)  # the first trade has no return
                v = np.sqrt(np.maximum(c[np.maximum(hi, lo1)] - c[lo1], 0.0))
            elif nm == "range":
                v = self._true_range(p, lo, hi) / p_t
            else:  # atr
                k = np.arange(ATR_BARS, dtype=np.int64)
                ends = (t[:, None] - k[None, :] * W).ravel()
                e_hi = _ss(s.ts, ends)
                e_lo = _ss(s.ts, ends - W)
                tr = self._true_range(p, e_lo, e_hi).reshape(len(t), ATR_BARS)
                v = tr.mean(axis=1) / p_t
        return finish(v, r)

    @staticmethod
    def _true_range(p: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        from liqcore._jit.features import range_max

        pc = p[np.maximum(lo - 1, 0)]
        hmax = range_max(p, lo, hi)
        lmin = -range_max(-p, lo, hi)
        high = np.where(np.isnan(hmax), pc, np.maximum(hmax, pc))
        low = np.where(np.isnan(lmin), pc, np.minimum(lmin, pc))
        return high - low

    def _funding(self, inst: _Inst, nm: str, W: int, t: np.ndarray):
        if nm == "funding_rate":
            s = inst.funding
            r = self._mask(inst, t, W, s.first, 0)
            i = _ss(s.ts, t) - 1
            v = s.cols["rate"][np.maximum(i, 0)] if len(s) else np.full(len(t), np.nan)
            return finish(v, r)
        # funding_avg: every venue carrying the symbol
        r = self._mask(inst, t, W, inst.venue_start)
        total = np.zeros(len(t))
        n = np.zeros(len(t), np.int64)
        seen = False  # any venue's funding stream in the data (else the stream is missing, not uncovered)
        for sid, _v, sym in self.instruments:
            if sym != inst.symbol:
                continue
            c = self._inst(sid)
            s = c.funding
            if not len(s):
                continue
            seen = True
            ok = (t - W >= s.first) & (self._mask(c, t, W, s.first) == OK)
            integ = s.cols["integ"]
            rate = s.cols["rate"]

            def I(x):
                i = np.maximum(_ss(s.ts, x) - 1, 0)
                return integ[i] + rate[i] * (x - s.ts[i]).astype(np.float64)

            mean = (I(t) - I(t - W)) / float(W)
            total += np.where(ok, mean, 0.0)
            n += ok
        with np.errstate(invalid="ignore", divide="ignore"):
            v = np.where(n > 0, total / np.maximum(n, 1), np.nan)
        if not seen:  # as funding_rate: no funding event for the symbol on any venue
            r[r != R_END] = R_MISSING
        r[(r == OK) & (n == 0)] = R_COVER
        return finish(v, r)

    def _oi(self, inst: _Inst, nm: str, W: int, t: np.ndarray):
        s = inst.oi
        r = self._mask(inst, t, W, s.first, 0 if nm == "open_interest" else W)
        if not len(s):
            return finish(np.full(len(t), np.nan), r)
        val = s.cols["v"]
        now = val[np.maximum(_ss(s.ts, t) - 1, 0)]
        if nm == "open_interest":
            return finish(now, r)
        before = val[np.maximum(_ss(s.ts, t - W) - 1, 0)]
        with np.errstate(invalid="ignore", divide="ignore"):
            if nm == "oi_change":
                v = now - before
            else:
                v = np.where(before > 0, now / np.where(before > 0, before, 1.0) - 1.0, np.nan)
                r[(r == OK) & ~(before > 0)] = R_EMPTY
        return finish(v, r)

    def _btc(self, inst: _Inst) -> _Inst | None:
        """BTC on the instrument's venue, when the registry knows it (with or without events yet)."""
        sid = self.registry.get(inst.venue, self.btc_symbol) if inst.venue >= 0 else None
        return None if sid is None else self._inst(sid)

    def _xasset(self, inst: _Inst, nm: str, W: int, t: np.ndarray):
        btc = self._btc(inst)
        if btc is None:
            r = np.full(len(t), R_MISSING, np.uint8)
            return np.full(len(t), np.nan), r
        if nm in ("btc_liq", "btc_liq_lead"):
            L, S, _, _, r = self._liq_parts(btc, W, t, lag=W if nm == "btc_liq_lead" else 0)
            return finish(L + S, r)
        # liq_corr_btc
        r = self._mask(inst, t, W, inst.venue_start)
        rb = self._mask(btc, t, W, btc.venue_start)
        r = np.where(r == OK, rb, r).astype(np.uint8)
        edges = t[:, None] - W + (np.arange(CORR_BUCKETS + 1, dtype=np.int64) * W // CORR_BUCKETS)[None, :]
        ca = np.diff(_ss(inst.liq_all.ts, edges), axis=1).astype(np.float64)
        cb = np.diff(_ss(btc.liq_all.ts, edges), axis=1).astype(np.float64)
        da = ca - ca.mean(axis=1, keepdims=True)
        db = cb - cb.mean(axis=1, keepdims=True)
        sa, sb = (da * da).sum(axis=1), (db * db).sum(axis=1)
        flat = (ca.max(axis=1) == ca.min(axis=1)) | (cb.max(axis=1) == cb.min(axis=1))
        with np.errstate(invalid="ignore", divide="ignore"):
            v = np.where(flat, np.nan, (da * db).sum(axis=1) / np.sqrt(np.where(flat, 1.0, sa * sb)))
        v = np.clip(v, -1.0, 1.0)
        r[(r == OK) & flat] = R_EMPTY
        return finish(v, r)

    def _user(self, inst: _Inst, spec, W: int, t: np.ndarray):
        if inst.components:
            raise ValueError(f"feature {spec.key}: user features are per instrument (no '/all')")
        r = self._mask(inst, t, W, inst.venue_start)
        if inst.events is None:
            inst.events = self.events[self._by_sid.get(int(inst.key), np.zeros(0, np.int64))]
        ev = inst.events
        if spec.vectorized:
            try:
                v = np.asarray(spec.fn(ev, t.copy(), int(W)), dtype=np.float64)
                if v.shape != t.shape:
                    raise ValueError(f"returned shape {v.shape}, expected {t.shape}")
            except Exception as exc:  # a user bug: every value null, the reason says so
                self.user_errors[spec.key] = f"{type(exc).__name__}: {exc}"
                return np.full(len(t), np.nan), np.full(len(t), R_USER, np.uint8)
        else:
            ts = ev["ts_recv"]
            hi = _ss(ts, t)
            v = np.full(len(t), np.nan)
            cache: dict[int, float] = {}
            for i in np.flatnonzero(r == OK).tolist():
                ti = int(t[i])
                if ti in cache:
                    v[i] = cache[ti]
                    continue
                try:
                    x = spec.fn(ev[:hi[i]], ti, int(W))
                    x = np.nan if x is None else float(x)
                except Exception as exc:
                    self.user_errors[spec.key] = f"{type(exc).__name__}: {exc}"
                    x = np.nan
                    r[i] = R_USER
                v[i] = cache[ti] = x
        r[(r == OK) & np.isnan(v)] = R_EMPTY
        return finish(v, r)

    # ---- tables -----------------------------------------------------------------------------
    def compute(self, times, names, symbol=None) -> list[dict]:
        """Per instrument: ``{"symbol": "venue:SYMBOL", "sid": id, "t_ns": times, "values": {name: array},
        "reasons": {name: uint8 array}}``."""
        self.user_errors = {}
        t = parse_times(times)
        fnames = {n: parse_name(n) for n in names_list(names)}  # keyed by the names as given
        out = []
        for sid in self.resolve(symbol):
            vals, reasons = {}, {}
            self._batch = True  # share index searches across the names of one instrument
            try:
                for n, fn in fnames.items():
                    v, r = self.values(fn, sid, t)
                    vals[n], reasons[n] = v, r
            finally:
                self._batch = False
                self._clear_cache()
            out.append({"symbol": f"{self.registry.venue(sid).name.lower()}:{self.registry.symbol(sid)}",
                        "sid": sid, "t_ns": t, "values": vals, "reasons": reasons})
        return out

    def historical(self, times, names, symbol=None):
        """A pandas DataFrame: ``t_ns``, ``time`` (UTC), ``symbol`` (``venue:SYMBOL``), then one column
        per name (NaN = null).  ``df.attrs["null_reasons"]``: ``{symbol: {name: {reason: count}}}``;
        ``df.attrs["sampling"]``: how each venue samples liquidations."""
        pd = need("research", "pandas")

        parts = self.compute(times, names, symbol)
        nulls: dict = {}
        for p in parts:
            nr = {}
            for n, r in p["reasons"].items():
                codes, counts = np.unique(r[r != OK], return_counts=True)
                if len(codes):
                    nr[n] = {REASONS[int(c)]: int(k) for c, k in zip(codes, counts)}
            if nr:
                nulls[p["symbol"]] = nr
        cols = list(dict.fromkeys(names_list(names)))
        if parts:
            t_all = np.concatenate([p["t_ns"] for p in parts])
            d = {"t_ns": t_all, "time": pd.to_datetime(t_all, unit="ns", utc=True),
                 "symbol": pd.Categorical(np.repeat([p["symbol"] for p in parts], [len(p["t_ns"]) for p in parts]))}
            for c in cols:
                d[c] = np.concatenate([p["values"][c] for p in parts])
            df = pd.DataFrame(d)
        else:
            df = pd.DataFrame(columns=["t_ns", "time", "symbol"] + cols)
        df.attrs.update({"null_reasons": nulls, "sampling": self.sampling(), "dropped": dict(self.dropped),
                         "lookback": self.lookback, "min_periods": self.min_periods,
                         "user_errors": dict(self.user_errors)})
        return df


def _registry_for(events: np.ndarray) -> SymbolRegistry:
    """The process-wide registry, when it numbers every symbol id of ``events``; otherwise an error
    (without the registry that numbered them the events name no instrument, and every query would
    silently return an empty table)."""
    from liqcore.types import default_registry

    if len(events):
        sid = events["symbol_id"][events["symbol_id"] >= 0]  # -1: feed-wide events (gaps)
        top = int(sid.max()) if len(sid) else -1
        if top >= len(default_registry):
            raise ValueError(f"registry: the events carry symbol ids up to {top} but no registry was given and "
                             f"the process-wide one numbers {len(default_registry)} symbols; pass the "
                             "SymbolRegistry that numbered the events (e.g. FeatureStore(events, registry))")
    return default_registry


def _with_options(store: FeatureStore, *, lookback=None, min_periods=None, end_ns=None, params=None) -> FeatureStore:
    """``store`` when the options (None = the store's) change nothing; otherwise another store over the
    same events with them -- the caller's store is never changed.  Only the transforms' history
    (``lookback``, ``min_periods``) changing: a copy sharing the built streams, with its own caches;
    ``end_ns`` or ``params`` changing: a new store (the detector records are reused when the
    parameters are the same)."""
    import copy

    lb = store.lookback if lookback is None else lookback
    mp = store.min_periods if min_periods is None else min_periods
    lb, mp = check_lookback(lb, mp)
    new_end = end_ns is not None and int(end_ns) != store.end_ns
    new_params = params is not None and params is not store.params
    if new_end or new_params:
        return FeatureStore(store.events, store.registry, end_ns=store.end_ns if end_ns is None else end_ns,
                            params=store.params if params is None else params, btc_symbol=store.btc_symbol,
                            lookback=lb, min_periods=mp, records=None if new_params else store._records)
    if (lb, mp) == (store.lookback, store.min_periods):
        return store
    out = copy.copy(store)
    out.lookback, out.min_periods = lb, mp
    out._idx_cache, out._grids, out._hist_meta, out._keep = {}, {}, {}, []
    out._batch = False
    return out


def as_store(source, **kw) -> FeatureStore:
    """A :class:`FeatureStore` from a store, a synthetic ``Market``, a loader result, an
    ``(events, registry)`` pair, or recording paths.  The options (``lookback``, ``min_periods``,
    ``end_ns``, ``params``; None = default) apply to a given store too, without changing it."""
    if isinstance(source, FeatureStore):
        return _with_options(source, **kw)
    kw = {k: v for k, v in kw.items() if v is not None}
    if hasattr(source, "events") and hasattr(source, "registry"):
        return FeatureStore(source.events, source.registry, **kw)
    if isinstance(source, tuple) and len(source) == 2 and isinstance(source[0], np.ndarray):
        return FeatureStore(source[0], source[1], **kw)
    if isinstance(source, np.ndarray):
        return FeatureStore(source, None, **kw)
    from pathlib import Path

    if isinstance(source, (str, Path)) or (isinstance(source, (list, tuple)) and source
                                            and all(isinstance(p, (str, Path)) for p in source)):
        from liqcore.dataset.load import load_events

        res = load_events([source] if isinstance(source, (str, Path)) else list(source))
        if len(res.events) == 0:
            raise ValueError("source: no events could be read from the given files")
        return FeatureStore(res.events, res.registry, **kw)
    raise ValueError("source: expected a FeatureStore, a Market, a loader result, (events, registry) or paths")


def historical(times, names, source, *, symbol=None, lookback: int | None = None, min_periods: int | None = None,
               end_ns: int | None = None, params=None):
    """Each named feature at each time, exactly as it was knowable then (a pandas DataFrame, one
    row per (time, instrument); see :meth:`FeatureStore.historical`).

    ``times``: ns integers, ISO-8601 strings or datetimes.  ``names``: feature names (list or a
    comma string).  ``source``: a :class:`FeatureStore`, a synthetic ``Market``, a loader result,
    ``(events, registry)`` or recording paths.  ``symbol``: ``ETHUSDT`` / ``bybit:ETHUSDT`` (None =
    every instrument).  ``lookback`` (M, default 96) and ``min_periods`` (default 20) set the history
    of the transforms.  Reuse one ``FeatureStore`` for many calls on the same data."""
    store = as_store(source, lookback=lookback, min_periods=min_periods, end_ns=end_ns, params=params)
    return store.historical(times, names, symbol)

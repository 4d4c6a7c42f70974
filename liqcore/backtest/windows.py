"""A dataset backtest that reads only what a window-local strategy needs.

For a strategy that declares ``reads = "windows"`` (:attr:`liqcore.strategies.base.Strategy.reads`;
the guide's ``cascade-mm``), :func:`replay_windows` reads a dataset in two passes:

1. detection: only the rows that are not trades or quotes (liquidations, marks, funding, gaps, open
   interest), a small share; a dataset written with sections (its format file says ``"sections":
   true``) keeps them in their own row groups, so the Parquet reader skips the trades' row groups by
   their ``kind`` statistics.  The cascade detector runs over them (whole span, flushed at the end).
2. execution: for every confirmed record decided at ``t``, the window ``[t - before, t + after)`` of
   :meth:`~liqcore.strategies.base.Strategy.window_ns` (the reference trade's age; the entry
   timeout, hold timeout and order latencies); overlapping windows are merged, and a window is read
   on (by ``after`` more) while a position or order is still live at its end, and windows closer
   than one row group's time span are read as one (no row group is decoded twice).  Each window's trades,
   funding and the pass-1 rows in it are read by receive time, the row groups pruned by their
   ``ts_recv_ns`` statistics, and replayed by the simulator carrying its state.

Between windows the simulator is flat: a print there changes only the symbol's last price, and a
window starts ``max-ref-age`` before its signal, so the entry prices from the same reference trade
(or finds none, as the full replay does).  The ledger, the counts and the summary's metrics are the
full replay's when the detector's records are (tested); ``start_ns`` / ``end_ns`` come from the first
and last hour of the span.  What the detector misses without the trades and quotes:

* a liquidation received after a trade stamped later is clamped to that trade's time in the full
  replay (late events), not here;
* a liquidation's plausibility is judged against the last trade or quote price in the full replay,
  here against the last liquidation or mark price;
* a cascade ends at the first event past its window: in the full replay a trade, here the next
  liquidation or the end (``FLUSH``): the ended records differ, the confirmed ones (the signals) not;
* the stray-time test compares a liquidation with its neighbours, trades there, liquidations here.

The first two can change a confirmed record (and so a trade) when a liquidation arrives behind the
trades by more than the gap to the cascade window's edge, or sits a price factor away from the trades:
``--read all`` replays everything.  The data note's cheapest trade, the dropped bad prints and the
feed-latency note are taken over the rows read (they say so); ``n_prints`` counts the prints replayed.
"""
from __future__ import annotations

import numpy as np

from liqcore.backtest.stream import NS_PER_DAY, NotStreamable

#: ``--read`` choices: auto (the strategy's declaration), windows, all (the full replay)
READ_MODES = ("auto", "windows", "all")
_HOUR = 3_600_000_000_000


def window_reason(params, strategy) -> str | None:
    """Why ``strategy`` with ``params`` cannot run window-local, or None."""
    from liqcore.backtest.chunked import chunk_reason

    if getattr(type(strategy), "reads", "all") != "windows":
        return f"strategy {type(strategy).name} reads every event (reads = {getattr(type(strategy), 'reads', 'all')!r})"
    return chunk_reason(params, strategy)


def _span(path, symbols, start_ns, end_ns):
    from liqcore.io.dataset import check_selection

    sel = check_selection(path, list(symbols) or None, start_ns, end_ns)
    pairs = sorted({(p[0], p[1]) for p in sel})
    if len(pairs) != 1:
        raise NotStreamable(f"the selection holds {len(pairs)} (venue, symbol) pairs")
    days = sorted({p[2] for p in sel})
    lo = int(np.datetime64(days[0], "D").astype("datetime64[ns]").astype(np.int64))
    hi = int(np.datetime64(days[-1], "D").astype("datetime64[ns]").astype(np.int64)) + NS_PER_DAY
    if start_ns is not None:
        lo = max(lo, int(start_ns))
    if end_ns is not None:
        hi = min(hi, int(end_ns))
    return lo, hi, sel


class _Reader:
    """Reads of one dataset selection, counting the rows of the row groups decoded."""

    def __init__(self, path, symbols, start_ns, end_ns, params, registry, partitions):
        self.path, self.symbols, self.start_ns, self.end_ns = str(path), list(symbols) or None, start_ns, end_ns
        self.skew, self.fl = params.max_clock_skew_ns, int(params.feed_latency_ns or 0)
        self.reg = registry
        self.rows_read = 0
        self.partitions = partitions  # the selection's partitions, listed once for the hundreds of reads

    def read(self, start_ns, end_ns, kinds=None, recv=None):
        from liqcore.execution.events import prepare_events
        from liqcore.io.dataset import load_dataset
        from liqcore.venues.common import fill_recv

        a = start_ns if self.start_ns is None else max(start_ns, self.start_ns)
        b = end_ns if self.end_ns is None else min(end_ns, self.end_ns)
        if a >= b:
            return np.zeros(0, _dtype())
        res = load_dataset(self.path, symbols=self.symbols, start_ns=a, end_ns=b, max_clock_skew_ns=self.skew,
                           check=False, registry=self.reg, kinds=kinds, trade_ids=False, partitions=self.partitions,
                           recv_range=None if recv is None else (recv[0], recv[1], self.fl))
        self.rows_read += int(res.files[self.path].get("rows_read") or 0)
        if len(self.reg) > 1:
            raise NotStreamable("the selection holds more than one (venue, symbol) pair")
        ev = fill_recv(res.events, self.fl)
        lo = a if self.start_ns is None else self.start_ns
        m = (ev["ts_recv"] >= lo) if self.start_ns is not None else np.ones(len(ev), bool)
        if self.end_ns is not None:
            m &= ev["ts_recv"] < self.end_ns
        if recv is not None:
            m &= (ev["ts_recv"] >= recv[0]) & (ev["ts_recv"] < recv[1])
        return prepare_events(ev[m])


def _dtype():
    from liqcore.types import EVENT_DTYPE

    return EVENT_DTYPE


def replay_windows(path, params, strategy, *, symbols=None, start_ns: int | None = None, end_ns: int | None = None,
                   equity: float = 1.0):
    """The backtest of dataset ``path`` reading liquidations first, then trades only in the signals'
    windows (module docstring): a dict of :class:`liqcore.backtest.run.BacktestResult`'s fields plus
    ``detector_counts``, ``n_events`` (events read), ``kinds``, ``rows_read`` (rows of the row groups
    decoded) and ``rows_total`` (rows of the partitions selected).  :class:`NotStreamable` when the
    strategy or parameters need everything."""
    from liqcore.backtest.chunked import _Delays
    from liqcore.backtest.stream import _Cell, _Chunk, _note, cheapest_trade
    from liqcore.codes import KIND_NAMES
    from liqcore.execution.detect import confirmed_records
    from liqcore.execution.events import clean_prints
    from liqcore.execution.latency import order_latency_note
    from liqcore.execution.replay import at_end
    from liqcore.io.dataset import BULK_KINDS, rows_total
    from liqcore.strategies.cascade_mm import records_to_signals
    from liqcore.types import CASCADE_DTYPE, Kind, SymbolRegistry
    from liqcore._libs.detector import CascadeDetector

    why = window_reason(params, strategy)
    if why:
        raise NotStreamable(why)
    syms = tuple(symbols or ())
    lo, hi, sel = _span(path, syms, start_ns, end_ns)
    reg = SymbolRegistry()
    rd = _Reader(path, syms, start_ns, end_ns, params, reg, sel)
    rare = [int(k) for k in Kind if int(k) > 0 and int(k) not in BULK_KINDS]
    # pass 1: every row but trades and quotes, the detector over them
    det_ev, dropped = clean_prints(rd.read(lo, hi, kinds=rare))
    detector = CascadeDetector.from_params(params)
    rec_all, det_counts = detector.run(det_ev, flush=True)
    det_counts = {k: int(v) for k, v in dict(det_counts).items()}
    rec = confirmed_records(np.asarray(rec_all, dtype=CASCADE_DTYPE), ordered=True)
    before, after = type(strategy).window_ns(params)
    # the first and last hour of the span: its first and last receive times
    edge = [rd.read(lo, min(lo + _HOUR, hi), kinds=None), rd.read(max(hi - _HOUR, lo), hi, kinds=None)]
    t_first = min((int(e["ts_recv"][0]) for e in edge if len(e)), default=None)
    t_last = max((int(e["ts_recv"][-1]) for e in edge if len(e)), default=None)
    if t_first is None:
        raise NotStreamable("the selection has no events")
    n_sym = max(len(reg), 1, int(det_ev["symbol_id"].max()) + 1 if len(det_ev) else 1)
    sim_dtype = np.zeros(0, _dtype()).dtype
    from liqcore.backtest.chunked import _Source, _Span

    src = _Source(str(path), int(params.feed_latency_ns or 0), params.max_clock_skew_ns)
    cell = _Cell(params, _Span(src, (), None, None), reg, n_sym, equity, sim_dtype)
    t_rec = rec["confirm_recv_ns"].astype(np.int64)
    starts, ends = t_rec - before, t_rec + after
    det_recv = det_ev["ts_recv"]
    min_trade = None
    delays = _Delays()
    delays.add(det_ev)
    kinds = {int(k) for k in np.unique(det_ev["kind"])}
    n_events = len(det_ev)
    o = so = 0
    i = 0
    cur_end = None  # every receive time before this was read by an earlier window
    bulk_and_rare = [int(k) for k in Kind if int(k) > 0 and k != Kind.QUOTE]  # quotes: the queue rule only
    skew = params.max_clock_skew_ns
    n_total, n_groups = rows_total(path, list(syms) or None, start_ns, end_ns, groups=True)
    # windows closer than a row group's time span are read as one (the prints between them reach a
    # flat simulator, which only notes their price, as the full replay does): no row group decoded twice
    gap = int((hi - lo) / max(n_groups, 1))
    # a window is read a step at a time, on only while a position or order is live: a signal the
    # strategy refuses (loss limit, cooldown, busy) or an order that fills and exits soon costs one
    # step, not the whole plan (the trades are the same: between steps the simulator is flat)
    step = max(min(gap, after), 1_000_000_000)
    while i < len(rec):
        a = int(starts[i])
        b = min(int(ends[i]), int(t_rec[i]) + step)
        j = i + 1
        while True:
            while j < len(rec) and starts[j] < b + gap:  # windows closer than a row group: one read
                b = max(b, min(int(ends[j]), int(t_rec[j]) + step))
                j += 1
            if cur_end is not None and a < cur_end:
                a = cur_end
            # event time <= receive time + max-clock-skew (later ones are dropped as from the future)
            e_hi = hi if skew is None else min(hi, b + int(skew) + 1)
            raw = rd.read(lo, e_hi, kinds=bulk_and_rare, recv=(a, b))
            cur_end = b
            rare_pos = np.flatnonzero(raw["kind"] != int(Kind.TRADE))
            w, d = clean_prints(raw)
            for k, v in d.items():
                dropped[k] = dropped.get(k, 0) + v
            # the pass-1 rows of this window, as the detector saw them (their indices) and here
            p0, p1 = int(np.searchsorted(det_recv, a, "left")), int(np.searchsorted(det_recv, b, "left"))
            if len(rare_pos) != p1 - p0 or not _same_rows(w[rare_pos], det_ev[p0:p1]):
                raise NotStreamable("the window's liquidations differ from the detection pass's")
            m = (rec["event_index"] >= p0) & (rec["event_index"] < p1)
            r = rec[m].copy()
            r["event_index"] = rare_pos[r["event_index"] - p0] + o
            ch = _Chunk(w, o, so)
            cell.feed(ch, r, ch.sim_index(r["event_index"]))
            tr = w[w["kind"] == int(Kind.TRADE)]
            if len(tr):
                min_trade = cheapest_trade(tr, min_trade)
                kinds.add(int(Kind.TRADE))
            delays.add(tr)
            n_events += len(tr)
            o += len(ch.events)
            so += len(ch.sim)
            live = bool(np.any(cell.st["status"] != 0)) or (cell.carry is not None and len(cell.carry[0]) > 0)
            if not live or b >= hi:
                break
            a, b = b, min(b + step, hi)  # a position or order still live: read on
        i = j
    cell.start_ns, cell.last_ns = t_first, t_last
    got = {}

    def row(ledger, counts, st, port, eq, s_ns, e_ns, _daily):
        got.update(ledger=ledger, counts=counts, st=st, port=port, start_ns=s_ns, end_ns=e_ns)
        return got

    if cell.base is None:
        cell.base = 0
    cell.finish(False, row)
    sig = records_to_signals(rec, trail=float(getattr(params, "trail", 0.0) or 0.0))
    n = int(got["port"][0]["n_trades"])
    open_at_end, working_at_end = at_end(got["st"])
    liqs = [det_ev[det_ev["kind"] == int(Kind.LIQUIDATION)].copy()]
    note = _note(min_trade, liqs)
    if min_trade is not None and float(min_trade["price"][0] * min_trade["qty"][0]) >= 5_000.0:
        note = _note(_cheapest_trade(rd, lo, hi), liqs)  # the windows' cheapest is no bound: all trades
    res = dict(
        params=params, registry=reg, ledger=got["ledger"][:n].copy(), counts=got["counts"], equity0=float(equity),
        equity=float(got["port"][0]["equity"]), start_ns=int(got["start_ns"]), end_ns=int(got["end_ns"]),
        records=rec, n_prints=int(cell.n_prints), sim_seconds=float(cell.sim_seconds), open_at_end=open_at_end,
        working_at_end=working_at_end, note=note, events=None, dropped=dropped,
        strategy=type(strategy).name, signals=sig, strategy_obj=strategy,
        latency={"order": order_latency_note(params, None),
                 "feed": delays.note(int(params.feed_latency_ns or 0)) + " (over the rows read)"},
    )
    res.update(detector_counts=det_counts, n_events=n_events, kinds={KIND_NAMES[k] for k in kinds if k in KIND_NAMES},
               rows_read=rd.rows_read, rows_total=n_total)
    return res


def _same_rows(a: np.ndarray, b: np.ndarray) -> bool:
    return all(np.array_equal(a[c], b[c]) for c in ("ts_event", "ts_recv", "kind", "side", "price", "qty"))


def _cheapest_trade(rd: _Reader, lo: int, hi: int):
    """The cheapest trade print of the span (a read of every trade: only when the windows' cheapest
    would put a filtered-feed note in the summary)."""
    from liqcore.execution.events import clean_prints
    from liqcore.types import Kind

    best = None
    a = lo
    while a < hi:
        ev, _d = clean_prints(rd.read(a, min(a + NS_PER_DAY, hi), kinds=[int(Kind.TRADE)]))
        tr = ev[ev["kind"] == int(Kind.TRADE)]
        if len(tr):
            k = int(np.argmin(tr["price"] * tr["qty"]))
            if best is None or float(tr["price"][k] * tr["qty"][k]) < float(best["price"][0] * best["qty"][0]):
                best = tr[k:k + 1].copy()
        a += NS_PER_DAY
    return best

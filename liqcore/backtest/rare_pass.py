"""The window plan's detection pass (:func:`_exact_detection`): the full replay's confirmed records from the rare rows
and the few bulk rows that set the detector's clock, or :class:`~liqcore.backtest.stream.NotStreamable` naming what
cannot be proven; the span's first rows (:func:`_edges`) and the price grid from its first prints
(:func:`_first_prints_grid`).  Split from :mod:`liqcore.backtest.windows`, which calls them (and re-exports them),
so that the plan's one module stays readable.

May import: numpy, ``types``, ``validate``, the kernels, ``dataset``, ``execution`` and this package's
``row_groups`` and ``stream``.
"""
from __future__ import annotations

import numpy as np

from liqcore.backtest.row_groups import _ClockRows, _bulk_groups
from liqcore.backtest.stream import NS_PER_DAY, NotStreamable
from liqcore.dataset.clock import NONE as CLOCK_NONE

_HOUR = 3_600_000_000_000
#: the first span read at each end of the selection (:func:`_edges`), doubling until it holds rows
_EDGE = 10_000_000_000


def _exact_detection(rd, det_ev: np.ndarray, params, sel, lo: int, hi: int, gap: int, g=None, stray: bool = True):
    """The detector's records and counts over the rare rows ``det_ev`` (receive order) plus, before
    each liquidation and gap, the bulk row (trade or quote) that sets the detector's clock there
    (its "witness"), with the records' ``event_index`` pointing into ``det_ev``: the full replay's
    confirmed records, field for field, or :class:`NotStreamable` naming the statistic that cannot
    prove it.  Returns ``(records, detector counts, witnesses, (first, last receive time), clock rows)``, the span
    None with ``stray=False``.  ``g``: the selection's
    :func:`_bulk_groups`, when the caller has them.  ``stray=False``: one pair of several
    (:mod:`liqcore.backtest.pairs`), whose first row is not the full replay's first: the detector runs without the
    stray-time test, which the receive delays' bound below proves never drops a row but the full replay's first
    (the caller tests that one, of every pair's rows).

    Why this is the full replay's answer (the detector's rules: ``pysrc/detector.py``): in the full
    replay the trades and quotes reach the detector in only three ways --

    * its clock: an event is timed ``max(its event time, every earlier event's)`` (the late-event
      clamp), and a cascade expires at the first event past its window.  The clock at a liquidation
      or gap is the full replay's once the latest-stamped bulk row received before it is in the input
      (a bulk row received before ``ts_event - max-clock-skew`` is stamped before the event and
      cannot move it, so only the rows received in that short span are read, pruned by the row
      groups' ``ts_recv_ns`` statistics).  Marks and funding may see a lower clock here; a cascade
      then expires at the next liquidation instead of at a trade between, which changes no record's
      start, confirmation or counts (an expiry only ends a cascade; the next liquidation is taken
      as a fresh one either way).  The ended records' emit times can differ: a backtest keeps only
      the confirmed records (``BacktestResult.records``).
    * the plausibility rule: an event is dropped when its price is ``price-factor`` away from the
      last accepted price within ``reference-age``.  The bulk row groups' ``price`` statistics and
      the rare rows prove that no two prices within ``reference-age`` + 2 x the largest receive delay
      are that far apart, so no check fails in either replay; a trade is dropped above
      ``max-notional``: the groups' ``price`` x ``qty`` maxima prove none is.
    * the stray-time test: with every row's receive delay within a sixth of ``max-time-jump`` (the
      groups' time statistics), no event lies that far from both its neighbours in receive order,
      in any subsequence of the events; the first event's test is made on both inputs.

    Where a statistic cannot prove it (a 10x price move, an hours-long receive delay, a dataset
    without sections or statistics), NotStreamable: the caller replays every event."""
    from liqcore._libs.detection import CascadeDetector
    from liqcore.execution.events import clean_prints
    from liqcore.types import Kind
    from liqcore.validate import FILE_TIME_MAX_NS

    det = CascadeDetector.from_params(params)
    g = _bulk_groups(rd.path, sel) if g is None else g
    skew = params.max_clock_skew_ns
    fl = int(params.feed_latency_ns or 0)
    if len(g["te_min"]) and int(g["te_max"].max()) > FILE_TIME_MAX_NS:
        raise NotStreamable("a trade is stamped after 2099 (the detector drops it as from the future)")
    if len(g["p_min"]) and float((g["p_max"] * g["q_max"])[g["has_trades"]].max(initial=0.0)) > det.max_notional:
        raise NotStreamable("a trade group's price x qty maximum exceeds max-notional (it may be dropped)")
    # the largest |ts_event - ts_recv| of any row: exact over the rare rows, bounded by the groups' ranges
    # (a group whose time ranges allow more than a sixth of max-time-jump -- a sparse recording's
    # group spans hours -- has its two time columns decoded for its exact delays)
    jump = int(det.max_time_jump_ns)
    clock = _ClockRows(g, lo, hi, rd.start_ns, rd.end_ns, skew)
    delta = int(np.abs(det_ev["ts_event"] - det_ev["ts_recv"]).max(initial=0))
    if len(g["te_min"]):
        d_g = np.maximum(g["te_max"] - g["tr_min"], g["tr_max"] - g["te_min"])
        for i in np.flatnonzero(6 * d_g > jump):
            te_i, tr_i = clock.group(int(i))
            d_g[i] = int(np.abs(te_i - tr_i).max(initial=0))
        delta = max(delta, int(d_g.max()))
    if 6 * delta > jump:
        raise NotStreamable(f"a row group's receive delays may reach {delta / 1e9:,.0f} s, more than a sixth of "
                            f"max-time-jump ({jump / 1e9:,.0f} s): the stray-time test could differ")
    _check_prices(det, g, det_ev, delta)
    # how far ahead of its receive time a bulk row may be stamped (later ones are dropped on reading)
    ahead = max(int(skew) if skew is not None else int(np.max(g["te_max"] - g["tr_min"], initial=0)), 0)
    ahead += max(-fl, 0)
    who = np.flatnonzero((det_ev["kind"] == int(Kind.LIQUIDATION)) | (det_ev["kind"] == int(Kind.GAP)))
    # the setters the files' clock indexes prove (written at convert time); the others from decoded rows
    done, w_te, w_tr = clock.witness_of(det_ev["ts_event"][who], det_ev["ts_recv"][who])
    found = done & (w_te != CLOCK_NONE)
    wit: list = []  # (the witnesses of the liquidations the indexes leave: from decoded rows)
    who = who[~done]
    k = 0
    spans = []
    while k < len(who):  # liquidations whose spans are closer than a row group are read as one
        a = int(det_ev["ts_event"][who[k]]) - ahead
        b = int(det_ev["ts_recv"][who[k]])
        m = k + 1
        # (an hour of them at most: memory holds an hour of two columns, each row group decoded once)
        while m < len(who) and int(det_ev["ts_event"][who[m]]) - ahead < b + gap and b - a < _HOUR:
            b = max(b, int(det_ev["ts_recv"][who[m]]))
            m += 1
        spans.append((k, m, a, b))
        k = m
    clock.plan([clock.ids(a, b) for _k, _m, a, b in spans])  # the groups to decode, in the order needed
    for k, m, a, b in spans:
        te, tr = clock.rows(a, b)  # in event-time order
        if len(te):
            r_te, r_tr = det_ev["ts_event"][who[k:m]], det_ev["ts_recv"][who[k:m]]
            # a row moves the clock past a liquidation when stamped after it and received before it:
            # stamped in (its event time, its receive time + skew], a few rows; the latest such one
            i0 = np.searchsorted(te, r_te, "right")
            i1 = np.searchsorted(te, r_tr + ahead, "right")
            for x in np.flatnonzero(i1 > i0):
                before_it = np.flatnonzero(tr[i0[x]:i1[x]] < r_tr[x])
                if len(before_it):
                    j = int(i0[x] + before_it[-1])
                    wit.append((int(te[j]), int(tr[j])))
    u = np.concatenate([np.stack([w_te[found], w_tr[found]], axis=1).astype(np.int64),
                        np.array(wit, np.int64).reshape(-1, 2)])  # (event, receive time) of each witness: distinct, by
    u = u[np.lexsort((u[:, 0], u[:, 1]))]  # receive time, then event time
    u = u[np.concatenate([[True], np.any(u[1:] != u[:-1], axis=1)])] if len(u) else u
    w = np.zeros(len(u), det_ev.dtype)
    if len(w):
        # a bulk row only times the detector's clock (its price: no reference the plausibility rule
        # needs, proven above): it enters as a mark without a price, which does nothing else
        w["ts_event"], w["ts_recv"] = u[:, 0], u[:, 1]
        w["price"] = np.nan
        w["kind"] = int(Kind.MARK)
        one = det_ev[det_ev["symbol_id"] >= 0][:1]  # the symbol's id (a venue-wide gap carries -1)
        w["symbol_id"], w["venue"] = one["symbol_id"][0], one["venue"][0]
    rd.rows_clock = clock.rows_read
    both = np.concatenate([det_ev, w])
    order = np.lexsort((both["ts_event"], both["ts_recv"]))  # receive order, then event order (as loaded)
    stream = both[order]
    rare_at = np.flatnonzero(order < len(det_ev))  # position of det_ev[i] in the stream
    if not np.array_equal(order[rare_at], np.arange(len(det_ev))):
        raise NotStreamable("the rare rows are not in receive order")
    span = None  # (a pair of several: the caller reads the selection's first and last rows once, for them all)
    if stray:
        first, last = _edges(rd, det_ev, g, lo, hi)
        first, _d = clean_prints(first)
        if _first_stray(stream["ts_event"], jump) or _first_stray(first["ts_event"][first["kind"] != 0], jump):
            raise NotStreamable("the first event may be a stray time (a day's gap after it)")
        span = (int(first["ts_recv"][0]), int(last["ts_recv"][-1]))
    if not stray:  # (the same detector less its stray-time test: no row is that far from its neighbours, above)
        det = CascadeDetector.from_params(_StrayOff(params))
    rec, counts = det.run(stream, flush=True)
    rec = np.asarray(rec).copy()
    from liqcore.types import RecordKind

    idx = rec["event_index"]
    pos = np.searchsorted(rare_at, idx)
    at_rare = (idx >= 0) & (pos < len(rare_at)) & (rare_at[np.minimum(pos, max(len(rare_at) - 1, 0))] == idx)
    if np.any(~at_rare & (rec["record"] == int(RecordKind.CONFIRMED))):
        raise NotStreamable("a cascade confirmed at a bulk row")  # cannot happen: only liquidations confirm
    rec["event_index"] = np.where(at_rare, pos, -1)  # an expiry at a clock row: no event of det_ev
    return rec, {k2: int(v) for k2, v in dict(counts).items()}, len(w), span, clock


def _edges(rd, det_ev: np.ndarray, g: dict, lo: int, hi: int):
    """Every row (all kinds) of the selection's first receive times (at least three rows that are not
    bad prints: the detector's stray-time test of the first event reads the next two) and of its last
    ones, found from the rare rows and the bulk groups' ``ts_recv_ns`` statistics: spans of ten
    seconds, then doubling, read from each end until they hold them (a dense book: a few seconds, not
    the hour of rows read before)."""
    from liqcore.execution.events import bad_prints

    lows = [int(det_ev["ts_recv"][0])] if len(det_ev) else []
    highs = [int(det_ev["ts_recv"][-1])] if len(det_ev) else []
    if len(g["tr_min"]):
        lows.append(int(g["tr_min"].min()))
        highs.append(int(g["tr_max"].max()))
    if not lows:
        raise NotStreamable("the selection has no events")
    top = max(highs) + 1
    out = []
    for forward in (True, False):
        t, step = (min(lows) if forward else top), _EDGE
        parts: list = []
        n = 0
        while True:
            a, b = (t, min(t + step, top)) if forward else (max(t - step, min(lows)), t)
            ev = rd.read(lo, hi, kinds=None, recv=(a, b))
            if len(ev):
                parts.append(ev)
                bt, bf = bad_prints(ev)
                n += int(np.count_nonzero(~(bt | bf)))
            if n >= (3 if forward else 1):
                break
            if (forward and b >= top) or (not forward and a <= min(lows)):
                if parts:
                    break
                raise NotStreamable("the selection has no events")
            t, step = (b, step * 2) if forward else (a, step * 2)
        out.append(np.concatenate(parts if forward else parts[::-1]))
    return out[0], out[1]


def _first_prints_grid(rd, lo: int, hi: int, t_first: int, t_last: int, n_sym: int) -> dict:
    """Symbol id -> price grid, from its first :data:`~liqcore.execution.events.GRID_PRINTS` trade
    prints in receive order (read from the span's first receive time ``t_first`` in growing steps), as
    the full replay reads it (:class:`liqcore.backtest.stream._GridGate`).  A reader of several pairs
    (``rd.sids``) reads each pair's prints alone: a pair's rows in receive order are the same rows in the same
    order whether or not the other pairs' are read and merged among them."""
    sids = getattr(rd, "sids", None)
    if not sids:
        return _grid_of(rd, lo, hi, t_first, t_last, range(n_sym), {})
    out = dict.fromkeys(range(n_sym), 0.0)
    for sid in sorted(set(sids.values())):
        out.update(_grid_of(rd, lo, hi, t_first, t_last, [sid], {"sids": {sid}}))
    return out


def _grid_of(rd, lo: int, hi: int, t_first: int, t_last: int, sids, kw: dict) -> dict:
    """:func:`_first_prints_grid` of the symbol ids ``sids``, its reads given ``kw``."""
    from liqcore.execution.events import GRID_PRINTS, clean_prints, grid_of_prices
    from liqcore.types import Kind

    prices: dict = {sid: [] for sid in sids}
    seen = dict.fromkeys(prices, 0)
    a, step = t_first, _HOUR
    while a <= t_last and min(seen.values()) < GRID_PRINTS:
        ev, _d = clean_prints(rd.read(lo, hi, kinds=[int(Kind.TRADE)], recv=(a, a + step), **kw))
        m = ev["kind"] == int(Kind.TRADE)  # (a print neutralised by clean_prints is no longer one)
        px = ev["price"] if m.all() else ev["price"][m]  # (the column alone: not a copy of every row's record)
        sy = ev["symbol_id"] if m.all() else ev["symbol_id"][m]
        for sid in prices:
            take = px[sy == sid][:GRID_PRINTS - seen[sid]]
            prices[sid].append(take)
            seen[sid] += len(take)
        a = a + step
        step = _grid_step(step, a - t_first, seen, GRID_PRINTS)
    return {sid: grid_of_prices(np.concatenate(p)) if p else 0.0 for sid, p in prices.items()}


def _grid_step(step: int, done: int, seen: dict, need: int) -> int:
    """The next span of receive time :func:`_first_prints_grid` reads after ``done`` ns holding ``seen``
    (symbol id -> prints taken so far, each at most ``need``): the span the slowest symbol's rate so far
    says holds its missing prints, a quarter more (a busy symbol: about one read more, not a doubled span
    of rows read past the prints needed), at least a second; double the last span while a symbol has
    none yet; at most a day.  Only how many rows are decoded depends on it: the loop reads on until
    every symbol has its prints, so the grid is the same whatever the spans."""
    low = min(seen.values()) if seen else 0
    if low <= 0 or done <= 0:
        return min(step * 2, NS_PER_DAY)
    want = int(done * (need - low) / low * 1.25) + 1
    return max(min(want, NS_PER_DAY), 1_000_000_000)


def _first_stray(ts: np.ndarray, jump: int) -> bool:
    """The detector's stray-time test of a run's first event (from the next two, which agree)."""
    if len(ts) < 3:
        return len(ts) == 2 and abs(int(ts[0]) - int(ts[1])) > jump  # too few to tell: assume it could
    return abs(int(ts[0]) - int(ts[1])) > jump and abs(int(ts[1]) - int(ts[2])) <= jump


def _check_prices(det, g: dict, det_ev: np.ndarray, delta: int) -> None:
    """NotStreamable unless no two prices the plausibility rule could compare (event times within
    ``reference-age`` + 2 x ``delta``: the reference is the last accepted price, and the clock's
    latest event time at most 2 x delta after it) are ``price-factor`` apart: the bulk groups' price
    ranges and the rare rows' prices (liquidations, marks), bucketed by that span."""
    from liqcore.types import Kind

    span = int(det.reference_age_ns) + 2 * int(delta) + 1
    f = float(det.price_factor)
    k = det_ev["kind"]
    pr = det_ev["price"]
    m = ((k == int(Kind.LIQUIDATION)) | (k == int(Kind.MARK)) | (k == int(Kind.TRADE))
         | ((k == int(Kind.QUOTE)) & (det_ev["qty"] > 0)))
    m &= np.isfinite(pr) & (pr > 0)
    b_ev = det_ev["ts_event"][m] // span
    lo_b = [b_ev]
    hi_b = [b_ev]
    pmin, pmax = [pr[m]], [pr[m]]
    if len(g["te_min"]):
        lo_b.append(g["te_min"] // span)
        hi_b.append(g["te_max"] // span)
        pmin.append(g["p_min"])
        pmax.append(g["p_max"])
    blo, bhi = np.concatenate(lo_b), np.concatenate(hi_b)
    if not len(blo):
        return
    vmin, vmax = np.concatenate(pmin), np.concatenate(pmax)
    if not (np.all(np.isfinite(vmin)) and np.all(vmin > 0) and np.all(np.isfinite(vmax))):
        raise NotStreamable("a bulk row group holds a price that is not finite and positive")
    base = int(blo.min())
    nb = int(bhi.max()) - base + 2
    lo_p = np.full(nb, np.inf)
    hi_p = np.full(nb, -np.inf)
    width = bhi - blo
    for w in np.unique(width):  # items spanning several buckets count in each of them
        sel = width == w
        for d in range(int(w) + 1):
            i = blo[sel] - base + d
            np.minimum.at(lo_p, i, vmin[sel])
            np.maximum.at(hi_p, i, vmax[sel])
    lo2 = np.minimum(lo_p[:-1], lo_p[1:])  # a bucket and the next: every pair within the span
    hi2 = np.maximum(hi_p[:-1], hi_p[1:])
    ok = ~np.isfinite(lo2) | (hi2 <= lo2 * f)
    if not np.all(ok):
        b = int(np.flatnonzero(~ok)[0]) + base
        day = np.datetime64((b * span) // 1_000_000_000, "s")
        raise NotStreamable(f"prices near {day} UTC span more than price-factor {f:g}x (the plausibility rule "
                            "could judge a liquidation differently without the trades)")


class _StrayOff:
    """Parameters as given, with a ``max-time-jump`` no two times reach: the detector's stray-time test off."""

    def __init__(self, params):
        self._params = params

    def __getattr__(self, name):
        return (1 << 62) if name == "max_time_jump_ns" else getattr(self._params, name)

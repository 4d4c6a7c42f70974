"""liqcore's ``--fill queue`` with L2 depth against hftbacktest's L2 backtest, order by order
(``python benches/hbt_depth.py``; the test ``tests/backtest/test_fills_hftbacktest_depth.py``).

Streams: :func:`depth_stream` generates one symbol's L2 book (a snapshot, then one DEPTH row per level
change, each row its own nanosecond) where levels up to 20 ticks behind the best are cancelled and
refilled while orders rest there and taker sweeps print at those levels (one TRADE row per level, the
prints before the depth rows they cause); :func:`read_tardis` reads a tardis ``incremental_book_L2``
file and its trades file, :func:`read_capture` a raw Binance USD-M capture (``<ns> <json>`` frames and
REST snapshots), into the same rows (receive time orders the replay; at one receive time the prints
come before the depth, as hftbacktest's converter requires).  :func:`to_hftbacktest` writes the
rows as hftbacktest events (DEPTH_CLEAR_EVENT + DEPTH_SNAPSHOT_EVENT for a snapshot run, DEPTH_EVENT,
TRADE_EVENT, BUY/SELL flags, exchange time = receive time: no feed latency on either side).

Orders (:func:`depth_orders`): post-only, one lot of 1e-9, alternating buy / sell, 0..20 ticks behind
the best on their side in turn, every ``every_s`` seconds, the same constant order latency, cancelled
``timeout_s`` after they were sent.  hftbacktest: ``NoPartialFillExchange`` with
``RiskAdverseQueueModel`` / ``PowerProbQueueModel(2)`` (benches/hbt_compare.run_hftbacktest);
liqcore: the execution kernel, ``fill=queue``, on the rows with depth, with top of book only (the
rule for inputs without depth), and the negative control (its depth sizes x1e9: the queue at the
order's level is never reached).  Metric: the same outcome (both unfilled, or both filled at the same
event)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benches import hbt_compare as hc  # noqa: E402

BID, ASK = 3, 4
TRADE, QUOTE, DEPTH = 2, 7, 8
SNAPSHOT = 32
MAX_BACK = 20


def depth_stream(n_events: int = 40_000, seed: int = 1, tick: float = 0.01, price: float = 3000.0,
                 dt_ms: float = 200.0, levels: int = 40, churn: float = 0.4, quotes: bool = True,
                 take_mean: float = 0.35, sweep: float = 0.03):
    """(liqcore rows of one symbol: DEPTH + TRADE (+ QUOTE), tick).  Each step (exponential gaps of mean
    ``dt_ms``), on a side drawn at random:

    * ``churn`` (40 %): a level 1..20 ticks behind the best changes: emptied (8 %), cancelled down to
      x U(0.1, 0.9) (46 %), or refilled / added to (+ lognormal) -- the hidden levels of top of book;
    * 15 %: the best level's size changes (x U(0.5, 1.6));
    * 5 % (when the spread is wider than a tick): a new level inside the spread;
    * the rest: a taker order at the side's best, exponential size (mean ``take_mean`` x the best level; a
      share ``sweep`` of them sweeps 2-6 levels): one print per level it reaches (its side the taker's), then the depth
      rows of the levels it changed; a level it empties is removed (qty 0).
    Levels are kept ``levels`` deep on each side (a level added at the far end when one goes).  The
    book at the start is a SNAPSHOT run.  Times: nanoseconds from 2023-11-14, every row its own."""
    from liqcore.types import EVENT_DTYPE

    rng = np.random.default_rng(seed)
    k0 = round(price / tick)
    book = {BID: {k0 - j: _size(rng) for j in range(levels)}, ASK: {k0 + 1 + j: _size(rng) for j in range(levels)}}
    rows = []
    t = 1_700_000_000_000_000_000
    for side in (BID, ASK):
        for k, q in sorted(book[side].items()):
            rows.append((t, k, q, side, DEPTH, SNAPSHOT))
    t += 1

    def best(side):
        return max(book[BID]) if side == BID else min(book[ASK])

    def set_level(side, k, q):
        nonlocal t
        if q <= 0.0:
            book[side].pop(k, None)
            q = 0.0
        else:
            book[side][k] = q
        rows.append((t, k, q, side, DEPTH, 0))
        t += 1

    def quote_rows():
        nonlocal t
        if quotes:
            for side in (BID, ASK):
                b = best(side)
                rows.append((t, b, book[side][b], side, QUOTE, 0))
                t += 1

    def deepen(side):
        while len(book[side]) < levels:
            far = min(book[side]) - 1 if side == BID else max(book[side]) + 1
            set_level(side, far, _size(rng))

    quote_rows()
    rows.append((t, best(BID), 0.001, ASK, TRADE, 0))  # a first print (a reference price)
    t += 1
    set_level(BID, best(BID), round(book[BID][best(BID)] - 0.001, 6) or 0.0)
    while len(rows) < n_events:
        t += int(rng.exponential(dt_ms * 1e6)) + 1
        side = BID if rng.random() < 0.5 else ASK
        sgn = -1 if side == BID else 1
        b = best(side)
        u = rng.random()
        spread = best(ASK) - best(BID)
        if u < churn:
            k = b + sgn * int(rng.integers(1, MAX_BACK + 1))
            cur = book[side].get(k, 0.0)
            r = rng.random()
            if cur > 0.0 and r < 0.08:
                new = 0.0
            elif cur > 0.0 and r < 0.54:
                new = round(max(0.001, cur * rng.uniform(0.1, 0.9)), 3)
            else:
                new = round(cur + _size(rng), 3)
            set_level(side, k, new)
        elif u < churn + 0.15:
            set_level(side, b, round(max(0.001, book[side][b] * rng.uniform(0.5, 1.6)), 3))
        elif u < churn + 0.20 and spread > 1:
            set_level(side, b - sgn, _size(rng))
        else:
            lvls = sorted(book[side].items(), key=lambda kv: -kv[0] if side == BID else kv[0])
            if rng.random() < sweep:
                m = int(rng.integers(2, 7))
                q = sum(v for _k, v in lvls[:m]) * rng.uniform(0.8, 1.0)
            else:
                q = float(rng.exponential(take_mean * lvls[0][1]))
            q = round(q, 3) + 0.001
            taker = ASK if side == BID else BID
            changed = []
            for k, v in lvls[:-1]:  # a sweep never empties a side
                take = round(min(q, v), 6)
                rows.append((t, k, take, taker, TRADE, 0))
                t += 1
                changed.append((k, round(v - take, 6)))
                q = round(q - take, 6)
                if q <= 0.0:
                    break
            for k, left in changed:
                set_level(side, k, left if left > 1e-9 else 0.0)
            deepen(side)
        quote_rows()
    a = np.array(rows, dtype=[("t", "<i8"), ("k", "<i8"), ("q", "<f8"), ("s", "i1"), ("kind", "i1"), ("f", "u1")])
    ev = np.zeros(len(a), dtype=EVENT_DTYPE)
    ev["ts_event"] = ev["ts_recv"] = a["t"]
    ev["price"] = a["k"] * tick
    ev["qty"], ev["side"], ev["kind"], ev["flags"] = a["q"], a["s"], a["kind"], a["f"]
    return ev, tick


def _size(rng) -> float:
    return float(np.round(rng.lognormal(0.0, 0.7), 3)) + 0.01


def read_tardis(depth_path: str, trades_path: str, start_ms: float | None = None, hours: float | None = None,
                quotes: bool = True):
    """(liqcore rows, tick) of a tardis ``incremental_book_L2`` CSV(.gz) and its ``trades`` CSV(.gz) of
    one symbol: DEPTH rows (a run of ``is_snapshot`` rows: Flag.SNAPSHOT), TRADE rows (side: the taker's),
    and, with ``quotes``, a QUOTE pair wherever the best changed.  ts_recv = ts_event = local_timestamp
    (us -> ns); at one receive time the prints come first.  The tick is the smallest price step seen
    in the depth.  ``start_ms`` / ``hours``: a window of receive time (ms since the epoch, hours)."""
    import pyarrow.csv as pacsv

    from liqcore.types import EVENT_DTYPE

    d = pacsv.read_csv(depth_path).to_pydict()
    tr = pacsv.read_csv(trades_path).to_pydict()
    for need, tab, name in ((("local_timestamp", "is_snapshot", "side", "price", "amount"), d, depth_path),
                            (("local_timestamp", "side", "price", "amount"), tr, trades_path)):
        miss = [c for c in need if c not in tab]
        if miss:
            raise ValueError(f"{name}: not a tardis file of its kind (no column {', '.join(miss)})")
    dt = np.asarray(d["local_timestamp"], dtype=np.int64) * 1000
    tt = np.asarray(tr["local_timestamp"], dtype=np.int64) * 1000
    lo = int(start_ms * 1e6) if start_ms is not None else min(int(dt[0]), int(tt[0]) if len(tt) else int(dt[0]))
    hi = lo + int(hours * 3600e9) if hours is not None else 2**62
    dpx = np.asarray(d["price"], dtype=np.float64)
    steps = np.diff(np.unique(np.round(dpx, 10)))
    tick = float(np.round(steps[steps > 0].min(), 10)) if len(steps) else 0.01
    snap = np.asarray(d["is_snapshot"], dtype=bool)
    dside = np.where(np.asarray(d["side"]) == "bid", BID, ASK).astype(np.int8)
    tside = np.where(np.asarray(tr["side"]) == "buy", BID, ASK).astype(np.int8)
    # a window that starts mid-stream starts with the book as it stands (a snapshot run at its start)
    keep_d = (dt >= lo) & (dt < hi)
    keep_t = (tt >= lo) & (tt < hi)
    n = int(keep_d.sum() + keep_t.sum())
    ev = np.zeros(n, dtype=EVENT_DTYPE)
    ts = np.concatenate([tt[keep_t], dt[keep_d]])
    ev["ts_recv"] = ev["ts_event"] = ts
    ev["price"] = np.concatenate([np.asarray(tr["price"], dtype=np.float64)[keep_t], dpx[keep_d]])
    ev["qty"] = np.concatenate([np.asarray(tr["amount"], dtype=np.float64)[keep_t],
                                np.asarray(d["amount"], dtype=np.float64)[keep_d]])
    ev["side"] = np.concatenate([tside[keep_t], dside[keep_d]])
    nt, nd = int(keep_t.sum()), int(keep_d.sum())
    ev["kind"] = np.concatenate([np.full(nt, TRADE, np.int8), np.full(nd, DEPTH, np.int8)])
    ev["flags"] = np.concatenate([np.zeros(nt, np.uint8), np.where(snap[keep_d], SNAPSHOT, 0).astype(np.uint8)])
    pri = np.concatenate([np.zeros(int(keep_t.sum()), np.int8), np.ones(int(keep_d.sum()), np.int8)])
    order = np.lexsort((np.arange(n), pri, ts))  # receive time, then prints before depth, then file order
    ev = ev[order]
    if lo > int(dt[0]):
        ev = np.concatenate([_book_at(d, dt, dpx, dside, snap, lo), ev])
    if quotes:
        ev = add_quotes(ev)
    return ev, tick


def read_capture(path: str, symbol: str | None = None, quotes: bool = True):
    """(liqcore rows, tick) of a raw Binance USD-M capture: lines ``<receive ns> <json>`` (hftbacktest's
    collector; gzip or plain) holding combined-stream frames (``<sym>@depth...`` depthUpdate,
    ``<sym>@trade``) and REST depth snapshots (``{"lastUpdateId", "bids", "asks"}``).  Binance's book
    rules: a snapshot is a SNAPSHOT run at its receive time; updates with ``u`` < its ``lastUpdateId``
    are dropped; then each update's ``pu`` must be the previous ``u``, else a DEPTH_GAP row and nothing
    until the next snapshot.  Updates before the first snapshot are dropped.  A frame's rows share its
    receive time; trades: side = the taker's (``m`` true: the buyer was the maker, a taker SELL).
    Returns also the counts of what was dropped (a dict, third)."""
    import gzip
    import json

    from liqcore.types import EVENT_DTYPE

    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    rows = []  # (ts, price, qty, side, kind, flags, order within the time)
    last_u = None  # the last applied u; None: no book
    snap_id = None
    counts = {"lines": 0, "bad": 0, "before_snapshot": 0, "stale": 0, "gaps": 0, "other": 0}
    with opener(path, "rb") as f:
        for line in f:
            counts["lines"] += 1
            sp = line.find(b" ")
            try:
                ts = int(line[:sp])
                msg = json.loads(line[sp + 1:])
            except ValueError:
                counts["bad"] += 1
                continue
            if "lastUpdateId" in msg:
                snap_id = int(msg["lastUpdateId"])
                last_u = None
                for side, key in ((BID, "bids"), (ASK, "asks")):
                    for p, q in msg[key]:
                        rows.append((ts, float(p), float(q), side, DEPTH, SNAPSHOT, 1))
                continue
            stream, d = msg.get("stream", ""), msg.get("data", msg)
            if symbol and not stream.lower().startswith(symbol.lower() + "@"):
                counts["other"] += 1
                continue
            e = d.get("e")
            if e == "trade":
                rows.append((ts, float(d["p"]), float(d["q"]), ASK if d["m"] else BID, TRADE, 0, 0))
            elif e == "depthUpdate":
                u, pu = int(d["u"]), int(d["pu"])
                if snap_id is None:
                    counts["before_snapshot"] += 1
                    continue
                if u < snap_id:
                    counts["stale"] += 1
                    continue
                if last_u is not None and pu != last_u:
                    counts["gaps"] += 1
                    rows.append((ts, 0.0, 0.0, 0, DEPTH, 64, 1))
                    snap_id = None
                    last_u = None
                    continue
                last_u = u
                for side, key in ((BID, "b"), (ASK, "a")):
                    for p, q in d[key]:
                        rows.append((ts, float(p), float(q), side, DEPTH, 0, 1))
            else:
                counts["other"] += 1
    if not rows:
        raise ValueError(f"{path}: no depth or trade frames")
    a = np.array(rows, dtype=[("t", "<i8"), ("p", "<f8"), ("q", "<f8"), ("s", "i1"), ("k", "i1"), ("f", "u1"),
                              ("o", "i1")])
    a = a[np.lexsort((np.arange(len(a)), a["o"], a["t"]))]  # receive time, prints before depth, file order
    ev = np.zeros(len(a), dtype=EVENT_DTYPE)
    ev["ts_event"] = ev["ts_recv"] = a["t"]
    ev["price"], ev["qty"], ev["side"], ev["kind"], ev["flags"] = a["p"], a["q"], a["s"], a["k"], a["f"]
    tick = _tick_of(ev)
    if quotes:
        ev = add_quotes(ev)
    return ev, tick, counts


def _book_at(d, dt, dpx, dside, snap, lo):
    """The book at ``lo`` as one SNAPSHOT run (the depth rows before it replayed)."""
    from liqcore.types import EVENT_DTYPE

    amt = np.asarray(d["amount"], dtype=np.float64)
    book = {BID: {}, ASK: {}}
    prev = False
    for i in range(int(np.searchsorted(dt, lo))):
        if snap[i] and not prev:
            book = {BID: {}, ASK: {}}
        prev = bool(snap[i])
        side = int(dside[i])
        if amt[i] > 0.0:
            book[side][float(dpx[i])] = float(amt[i])
        else:
            book[side].pop(float(dpx[i]), None)
    rows = [(s, p, q) for s in (BID, ASK) for p, q in sorted(book[s].items())]
    out = np.zeros(len(rows), dtype=EVENT_DTYPE)
    out["ts_recv"] = out["ts_event"] = lo
    out["side"] = [r[0] for r in rows]
    out["price"] = [r[1] for r in rows]
    out["qty"] = [r[2] for r in rows]
    out["kind"] = DEPTH
    out["flags"] = SNAPSHOT
    return out


class Book:
    """The L2 book the rows give (DEPTH rows only): ``apply(kind, side, price, qty, flags)``,
    ``best(side)``; ``side[s]`` maps a level's tick to its size."""

    def __init__(self, tick: float):
        self.tick = tick
        self.side = {BID: {}, ASK: {}}
        self._snap = False

    def apply(self, kind, side, price, qty, flags) -> bool:
        """Apply one row; True when it was a DEPTH row."""
        if kind != DEPTH:
            self._snap = False
            return False
        if flags & 64:  # DEPTH_GAP: the book is unknown
            self.side = {BID: {}, ASK: {}}
            self._snap = False
            return True
        snap = bool(flags & SNAPSHOT)
        if snap and not self._snap:
            self.side = {BID: {}, ASK: {}}
        self._snap = snap
        k = round(price / self.tick)
        if qty > 0.0:
            self.side[side][k] = qty
        else:
            self.side[side].pop(k, None)
        return True

    def best(self, side):
        b = self.side[side]
        if not b:
            return None
        return max(b) if side == BID else min(b)


def _cols(ev):
    return (ev["ts_recv"].tolist(), ev["kind"].tolist(), ev["side"].tolist(), ev["price"].tolist(),
            ev["qty"].tolist(), ev["flags"].tolist())


def add_quotes(ev: np.ndarray) -> np.ndarray:
    """The rows with a QUOTE pair (best bid, best ask from the depth) after the last DEPTH row of each
    receive time (and of each snapshot run) that changed the best or its size."""
    tick = _tick_of(ev)
    book = Book(tick)
    ts, kind, side, price, qty, flags = _cols(ev)
    n = len(ev)
    at, qrows = [], []
    last = None
    for i in range(n):
        if not book.apply(kind[i], side[i], price[i], qty[i], flags[i]):
            continue
        if i + 1 < n and kind[i + 1] == DEPTH and ts[i + 1] == ts[i]:
            continue  # the frame goes on
        if flags[i] & SNAPSHOT and i + 1 < n and kind[i + 1] == DEPTH and flags[i + 1] & SNAPSHOT:
            continue
        bb, ba = book.best(BID), book.best(ASK)
        if bb is None or ba is None:
            continue
        cur = (bb, book.side[BID][bb], ba, book.side[ASK][ba])
        if cur != last:
            at += [i + 1, i + 1]
            qrows += [(ts[i], bb * tick, cur[1], BID), (ts[i], ba * tick, cur[3], ASK)]
            last = cur
    q = np.zeros(len(qrows), dtype=ev.dtype)
    if qrows:
        a = np.array(qrows, dtype=[("t", "<i8"), ("p", "<f8"), ("q", "<f8"), ("s", "i1")])
        q["ts_recv"] = q["ts_event"] = a["t"]
        q["price"], q["qty"], q["side"], q["kind"] = a["p"], a["q"], a["s"], QUOTE
    return np.insert(ev, np.asarray(at, dtype=np.int64), q)


def _tick_of(ev) -> float:
    px = np.unique(np.round(ev["price"][ev["kind"] == DEPTH], 10))
    st = np.diff(px)
    st = st[st > 1e-12]
    return float(np.round(st.min(), 10)) if len(st) else 0.01


def to_hftbacktest(ev: np.ndarray, tick: float) -> np.ndarray:
    """The rows as hftbacktest events (module docstring); QUOTE rows are left out (the depth holds them).
    A snapshot run: DEPTH_CLEAR_EVENT without a side (both sides cleared), then DEPTH_SNAPSHOT_EVENTs;
    a DEPTH_GAP row: DEPTH_CLEAR_EVENT."""
    from hftbacktest.types import (BUY_EVENT, DEPTH_CLEAR_EVENT, DEPTH_EVENT, DEPTH_SNAPSHOT_EVENT, EXCH_EVENT,
                                   LOCAL_EVENT, SELL_EVENT, TRADE_EVENT, event_dtype)

    ev = ev[(ev["kind"] == TRADE) | (ev["kind"] == DEPTH)]
    kind, flags = ev["kind"], ev["flags"].astype(np.int64)
    snap = (kind == DEPTH) & ((flags & SNAPSHOT) != 0)
    gap = (kind == DEPTH) & ((flags & 64) != 0)
    sideflag = np.where(ev["side"] == BID, BUY_EVENT, SELL_EVENT).astype(np.uint64)
    code = np.where(kind == TRADE, TRADE_EVENT, np.where(snap, DEPTH_SNAPSHOT_EVENT, DEPTH_EVENT)).astype(np.uint64)
    code = (code | sideflag | EXCH_EVENT | LOCAL_EVENT).astype(np.uint64)
    code[gap] = DEPTH_CLEAR_EVENT | EXCH_EVENT | LOCAL_EVENT
    out = np.zeros(len(ev), dtype=event_dtype)
    out["ev"], out["exch_ts"], out["local_ts"] = code, ev["ts_recv"], ev["ts_recv"]
    out["px"], out["qty"] = ev["price"], ev["qty"]
    out["px"][gap] = 0.0
    starts = np.flatnonzero(snap & ~np.concatenate([[False], snap[:-1]]))
    clear = np.zeros(len(starts), dtype=event_dtype)
    clear["ev"] = DEPTH_CLEAR_EVENT | EXCH_EVENT | LOCAL_EVENT
    clear["exch_ts"] = clear["local_ts"] = ev["ts_recv"][starts]
    return np.insert(out, starts, clear)


def depth_orders(ev: np.ndarray, tick: float, every_s: float, max_back: int = MAX_BACK, warmup_s: float = 60.0,
                 skipped: list | None = None):
    """[(decision ns, side +1/-1, price, kind)]: every ``every_s`` s from ``warmup_s`` after the first row,
    alternating buy / sell, ``back`` = 0, 1, ... ``max_back`` ticks behind the best on the order's side
    (in turn, per pair), from the depth in force at the decision (rows at or before it); kind: 'N behind'.
    An order priced through the last print (a buy above it: the book moved without a print) cannot be
    given to liqcore, whose limit is an offset from the last print: it goes to ``skipped``."""
    book = Book(tick)
    out = []
    ts_, kind, side_, price, qty, flags = _cols(ev)
    t_next = ts_[0] + int(warmup_s * 1e9)
    n = 0
    last = None
    for i in range(len(ev)):
        ts = ts_[i]
        while ts > t_next:
            bb, ba = book.best(BID), book.best(ASK)
            if bb is not None and ba is not None and bb < ba:
                side = 1 if n % 2 == 0 else -1
                back = (n // 2) % (max_back + 1)
                k = bb - back if side > 0 else ba + back
                n += 1
                # liqcore's limit is an offset from the last print, on the passive side of it
                if last is not None and (k <= last if side > 0 else k >= last):
                    out.append((t_next, side, k * tick, f"{back} behind"))
                elif skipped is not None:
                    skipped.append((t_next, side, k * tick, f"{back} behind"))
            t_next += int(every_s * 1e9)
        book.apply(kind[i], side_[i], price[i], qty[i], flags[i])
        if kind[i] == TRADE:
            last = round(price[i] / tick)
    return out


def run_liqcore_depth(ev, orders, tick, latency_ns, timeout_ns, model, qty_scale: float = 1.0, depth: bool = True):
    """liqcore's fill time per order (ns or None) on the rows (``depth`` False: without the DEPTH rows,
    top of book only); ``qty_scale``: DEPTH and QUOTE sizes times this (the negative control)."""
    one = ev if depth else ev[ev["kind"] != DEPTH]
    if qty_scale != 1.0:
        one = one.copy()
        m = (one["kind"] == DEPTH) | (one["kind"] == QUOTE)
        one["qty"][m] *= qty_scale
    gaps = np.diff([o[0] for o in orders]) if len(orders) > 1 else np.array([timeout_ns])
    lanes = int((timeout_ns + 2 * latency_ns) // max(int(gaps.min()), 1)) + 2  # an order's lane is free again
    return hc.run_liqcore(one, orders, tick, latency_ns, timeout_ns, model, lanes=lanes, qty_scale=1.0, depth=depth)


def reference_fills(ev, orders, tick, latency_ns, timeout_ns, model, lot: float = hc.LOT, why: list | None = None):
    """Per order, the fill time (ns or None) by hftbacktest 2.4.4's own rules for an L2 feed, written out in
    Python (not liqcore: the rule that the comparison holds liqcore to, to tell a difference of the
    rule from one of the bench).  Rules (hftbacktest/src/backtest/proc/nopartialfillexchange.rs,
    models/queue.rs): at arrival, a post-only order at or through the best on the other side expires;
    else its queue ahead ``front`` = the level's size.  A print at its price: ``front -= qty`` (prob:
    also ``cum += qty``); filled when ``round(-front / lot) > 0``.  A print through its price fills.
    A depth row at its level, ``prev -> new``: risk-averse: ``front = min(front, new)``; prob:N:
    ``chg = prev - new - cum; cum = 0``; a rise: ``front = min(front, new)``; a fall: ``back = prev -
    front``, ``p = back^N / (back^N + front^N)``, ``front = min(front - (1 - p) chg + min(back - p chg,
    0), new)``.  The other side's best reaching its price (a depth row, no print) fills it.  Fills count
    until the cancel arrives (sent ``timeout_ns`` after the order).  ``why``: a list, given one entry per
    order: 'expired' (post-only at arrival), 'queue' (a print at its price), 'through' (a print
    through it), 'crossed' (the depth crossed it, no print), 'none'."""
    ts_, kind, side, price, qty, flags = _cols(ev)
    n = len(ts_)
    arrive = sorted((o[0] + latency_ns, j) for j, o in enumerate(orders))
    state = {}
    book = Book(tick)
    a = 0
    for i in range(n + 1):
        while a < len(arrive) and (i == n or ts_[i] > arrive[a][0]):
            t, j = arrive[a]
            _t, sgn, px, _k = orders[j]
            k = round(px / tick)
            bb, ba = book.best(BID), book.best(ASK)
            crossed = (ba is not None and k >= ba) if sgn > 0 else (bb is not None and k <= bb)
            lvl = book.side[BID if sgn > 0 else ASK].get(k, 0.0)
            state[j] = None if crossed else lvl
            a += 1
        if i < n:
            book.apply(kind[i], side[i], price[i], qty[i], flags[i])
    ts = np.asarray(ts_)
    kinds, sides, prices, qtys = ev["kind"], ev["side"], ev["price"], ev["qty"]
    pw = 0.0 if model == "risk-averse" else float(model.split(":")[1])
    out = [None] * len(orders)
    reason = ["none"] * len(orders)
    for j, (t, sgn, px, _k) in enumerate(orders):
        front = state[j]
        if front is None:
            reason[j] = "expired"
            continue
        lo = int(np.searchsorted(ts, t + latency_ns, "right"))
        hi = int(np.searchsorted(ts, t + timeout_ns + latency_ns, "right"))
        k = round(px / tick)
        kk = np.round(prices[lo:hi] / tick).astype(np.int64)
        own, other = (BID, ASK) if sgn > 0 else (ASK, BID)
        at_or_through = (kk <= k) if sgn > 0 else (kk >= k)
        sel = np.flatnonzero(((kinds[lo:hi] == TRADE) & (sides[lo:hi] == other) & at_or_through)
                             | ((kinds[lo:hi] == DEPTH) & (sides[lo:hi] == own) & (kk == k))
                             | ((kinds[lo:hi] == DEPTH) & (sides[lo:hi] == other) & at_or_through & (qtys[lo:hi] > 0)))
        prev = None
        cum = 0.0
        # the level's size before the window: the last depth row at it (its size at arrival)
        prev = front
        for r in sel:
            i = lo + int(r)
            kd, sd, q = int(kinds[i]), int(sides[i]), float(qtys[i])
            if kd == TRADE:
                if kk[r] != k:
                    out[j], reason[j] = int(ts[i]), "through"
                    break
                front -= q
                cum += q
                if round(-front / lot) > 0:
                    out[j], reason[j] = int(ts[i]), "queue"
                    break
            elif sd == other:
                out[j], reason[j] = int(ts[i]), "crossed"  # the other side's best reached it: filled on the depth
                break
            else:
                new = q
                if pw == 0.0:
                    front = min(front, new)
                else:
                    chg = prev - new - cum
                    cum = 0.0
                    if chg < 0.0:
                        front = min(front, new)
                    else:
                        back = prev - front
                        fb, ff = max(back, 0.0) ** pw, max(front, 0.0) ** pw
                        p = fb / (fb + ff) if fb + ff > 0.0 else 1.0
                        front = min(front - (1.0 - p) * chg + min(back - p * chg, 0.0), new)
                prev = new
    if why is not None:
        why[:] = reason
    return out


MS = 1_000_000
T0 = 1_700_000_000_000_000_000


def _probe(rows):
    """A probe's rows ``(ms after T0 as ns, price, qty, side, kind, flags)`` with the quote pairs of their book
    (:func:`add_quotes`), its tick and its one order: a buy at 2999.98 decided at T0 + 1 s."""
    from liqcore.types import EVENT_DTYPE

    ev = np.zeros(len(rows), dtype=EVENT_DTYPE)
    for j, (dt, p, q, s, k, f) in enumerate(rows):
        ev[j]["ts_recv"] = ev[j]["ts_event"] = T0 + dt
        ev[j]["price"], ev[j]["qty"], ev[j]["side"], ev[j]["kind"], ev[j]["flags"] = p, q, s, k, f
    return add_quotes(ev), 0.01, [(T0 + 1000 * MS, 1, 2999.98, "2 behind")]


def depth_probe():
    """(rows, tick, orders): a buy rests 2 ticks behind the best where 1.0 is shown; the level is
    cancelled down to 0.1 and refilled to 5.0 (a rise goes behind the order); the levels above go and a
    print of 0.5 at its price follows: the queue read from the depth (0.1 ahead) fills the order on that
    print, top of book (5.0 shown when the level becomes the best) does not."""
    rows = [(0, 3000.00, 1.0, 3, 8, 32), (0, 2999.99, 1.0, 3, 8, 32), (0, 2999.98, 1.0, 3, 8, 32),
            (0, 3000.01, 1.0, 4, 8, 32), (1, 3000.00, 0.01, 4, 2, 0),
            (2000 * MS, 2999.98, 0.1, 3, 8, 0), (3000 * MS, 2999.98, 5.0, 3, 8, 0),
            (4000 * MS, 3000.00, 0.0, 3, 8, 0), (4000 * MS + 1, 2999.99, 0.0, 3, 8, 0),
            (5000 * MS, 2999.98, 0.5, 4, 2, 0), (6000 * MS, 2999.98, 4.6, 3, 8, 0),
            (60_000 * MS, 2999.98, 0.01, 4, 2, 0)]
    return _probe(rows)


def cross_probe(ask: float = 2999.98):
    """(rows, tick, orders): a buy rests 2 ticks behind the best (2999.98, 1.0 shown); the bids above it are
    pulled and an ask of 0.3 comes down to ``ask`` with no print.  At or through the order's price
    (2999.98 or below) hftbacktest's exchange fills the order at that row (``on_best_ask_update``), as
    liqcore's ``depth cross`` does; above it neither fills (no print follows within the order's 30 s)."""
    rows = [(0, 3000.00, 1.0, 3, 8, 32), (0, 2999.99, 1.0, 3, 8, 32), (0, 2999.98, 1.0, 3, 8, 32),
            (0, 3000.01, 1.0, 4, 8, 32), (1, 3000.00, 0.01, 4, 2, 0),
            (4000 * MS, 3000.00, 0.0, 3, 8, 0), (4000 * MS + 1, 2999.99, 0.0, 3, 8, 0),
            (5000 * MS, ask, 0.3, 4, 8, 0), (60_000 * MS, 3000.05, 0.01, 3, 2, 0)]
    return _probe(rows)


def partial_probe(last: float = 3.0):
    """(rows, tick, orders): a buy of 2 rests 2 ticks behind the best (2999.98, 1.0 shown); the bids above it are
    pulled and sellers print 1.5, 0.5 and ``last`` at its price: with partial fills 0.5 fills on the first print
    (1.0 was ahead), 0.5 more on the second, the rest (1.0, or ``last`` when smaller) on the third."""
    rows = [(0, 3000.00, 1.0, 3, 8, 32), (0, 2999.99, 1.0, 3, 8, 32), (0, 2999.98, 1.0, 3, 8, 32),
            (0, 3000.01, 1.0, 4, 8, 32), (1, 3000.00, 0.01, 4, 2, 0),
            (4000 * MS, 3000.00, 0.0, 3, 8, 0), (4000 * MS + 1, 2999.99, 0.0, 3, 8, 0),
            (5000 * MS, 2999.98, 1.5, 4, 2, 0), (5000 * MS + 1, 2999.98, 0.0, 3, 8, 0),
            (6000 * MS, 2999.98, 0.5, 4, 2, 0), (7000 * MS, 2999.98, last, 4, 2, 0),
            (60_000 * MS, 3000.05, 0.01, 3, 2, 0)]
    return _probe(rows)


def liqcore_reads_depth() -> bool:
    """True when liqcore's queue fill reads the queue at an order's level from the depth (:func:`depth_probe`)."""
    ev, tick, orders = depth_probe()
    got = run_liqcore_depth(ev, orders, tick, 50 * MS, 30_000 * MS, "risk-averse")
    return got[0] is not None and got[0] == T0 + 5000 * MS


def same_outcome(ev, a, b, only=None) -> tuple[int, int]:
    """(orders, the same outcome: both unfilled, or both filled at the same event -- the same receive
    time: the generated rows each have their own; on real data the rows of one frame share one)."""
    ts = ev["ts_recv"]
    js = range(len(a)) if only is None else only
    n = same = 0
    for j in js:
        n += 1
        x, y = a[j], b[j]
        if x is None and y is None:
            same += 1
        elif x is not None and y is not None and int(np.searchsorted(ts, x)) == int(np.searchsorted(ts, y)):
            same += 1
    return n, same


def compare(ev, tick, every_s=15.0, latency_ms=50.0, timeout_s=90.0, models=("risk-averse", "prob:2"),
            runs=("depth", "top of book", "x1e9")) -> dict:
    """{model: {run: (liqcore fills, hftbacktest fills)}} plus the orders; hftbacktest always has the depth."""
    hev = to_hftbacktest(ev, tick)
    orders = depth_orders(ev, tick, every_s)
    lat, tmo = int(latency_ms * 1e6), int(timeout_s * 1e9)
    out = {"orders": orders, "ev": ev, "tick": tick, "models": {}, "latency_ms": latency_ms, "timeout_s": timeout_s,
           "every_s": every_s, "reads_depth": liqcore_reads_depth()}
    for model in models:
        hb = hc.run_hftbacktest(hev, orders, tick, lat, tmo, model)
        why = []
        ref = reference_fills(ev, orders, tick, lat, tmo, model, why=why)
        out.setdefault("why", {})[model] = why
        out.setdefault("reference", {})[model] = (ref, hb)
        got = {}
        for run in runs:
            kw = {"depth": run != "top of book", "qty_scale": 1e9 if run == "x1e9" else 1.0}
            got[run] = (run_liqcore_depth(ev, orders, tick, lat, tmo, model, **kw), hb)
        out["models"][model] = got
    return out


def run_hftbacktest_partial(hev, orders, tick, latency_ns, timeout_ns, model: str, qty: float, times) -> list:
    """Per order of ``qty``: (the time of its first fill or None, the quantity filled by the time its cancel, sent
    ``timeout_ns`` after the order, arrived) by hftbacktest's ``PartialFillExchange``; the orders are looked at
    after every row time of ``times`` while they are live (a first fill's time is its row's)."""
    from hftbacktest import BacktestAsset, HashMapMarketDepthBacktest
    from hftbacktest.order import GTX, LIMIT

    a = (BacktestAsset().data([hev]).linear_asset(1.0).constant_order_latency(latency_ns, 0)
         .partial_fill_exchange().trading_value_fee_model(0.0, 0.0).tick_size(tick).lot_size(hc.LOT)
         .last_trades_capacity(0))
    a = a.risk_adverse_queue_model() if model == "risk-averse" else a.power_prob_queue_model(float(model[5:]))
    hbt = HashMapMarketDepthBacktest([a])
    hbt.elapse(1)
    first = [None] * len(orders)
    done = [0.0] * len(orders)
    live = set()
    for t, what, j in hc.stepped(hbt, orders, timeout_ns, latency_ns, times):  # (a look after each row)
        for oid in list(live):
            o = hbt.orders(0).get(oid)
            if o is not None:
                got = float(o.qty) - float(o.leaves_qty)
                if got > done[oid]:
                    done[oid] = got
                    if first[oid] is None:
                        first[oid] = int(o.exch_timestamp)
        if what == 0:
            _t, side, px, _k = orders[j]
            (hbt.submit_buy_order if side > 0 else hbt.submit_sell_order)(0, j, px, qty, GTX, LIMIT, False)
            live.add(j)
        elif what == 1:
            o = hbt.orders(0).get(j)
            if o is not None and o.cancellable:
                hbt.cancel(0, j, False)
        elif what == 2:
            live.discard(j)
        hbt.clear_inactive_orders(0)
    hbt.close()
    return list(zip(first, done))


def run_liqcore_partial(ev, orders, tick, latency_ns, timeout_ns, model, qty: float, qty_scale: float = 1.0):
    """Per order of ``qty`` base units: the quantity liqcore's ``--partial on`` filled (the queue at depth; the
    position holds until the rest is cancelled, no exits); ``qty_scale``: the control's DEPTH / QUOTE sizes."""
    from liqcore._jit import sim
    from liqcore.strategies import empty_signals, sort_signals

    one = ev
    if qty_scale != 1.0:
        one = ev.copy()
        m = (one["kind"] == DEPTH) | (one["kind"] == QUOTE)
        one["qty"][m] *= qty_scale
    gaps = np.diff([o[0] for o in orders]) if len(orders) > 1 else np.array([timeout_ns])
    lanes = int((2 * timeout_ns + 4 * latency_ns) // max(int(gaps.min()), 1)) + 3
    evl = np.repeat(one, lanes)
    evl["symbol_id"] = np.tile(np.arange(lanes, dtype=np.int32), len(one))
    ts = one["ts_recv"]
    tr = np.flatnonzero(one["kind"] == TRADE)
    sig = empty_signals(len(orders))
    for j, (t, side, px, _k) in enumerate(orders):
        i = int(np.searchsorted(ts, t, "right")) - 1
        ref = float(one["price"][tr[np.searchsorted(tr, i, "right") - 1]])
        sig[j]["ts_ns"], sig[j]["ev_idx"] = t, i * lanes + lanes - 1
        sig[j]["symbol_id"], sig[j]["direction"], sig[j]["tag"] = j % lanes, side, j
        sig[j]["offset"] = max(0.0, (1.0 - px / ref) if side > 0 else (px / ref - 1.0))
        sig[j]["size_mult"] = qty * px  # the order's quantity: a notional of 1 x qty x its limit
    sig["take_profit"] = np.nan  # the parameters': none (below), so the position is what filled until the
    sig["stop_loss"] = np.nan  # rest is cancelled
    sig["max_hold_ns"] = timeout_ns + 2 * latency_ns
    sig["entry_timeout_ns"] = timeout_ns + latency_ns
    sig = sort_signals(sig)
    par = hc.queue_params(lanes, tick, latency_ns, model)
    par["partial"] = 1
    par["take_profit"] = -1.0  # no take-profit, no stop-loss
    par["stop_loss"] = -1.0
    st = sim.new_state(lanes)
    port = sim.new_port(1.0, 0.0, 0.0, lanes, 1.0, notional=1.0, leverage=0.0)
    ledger = np.zeros(len(orders) + 1, dtype=sim.LEDGER_DTYPE)
    counts = np.zeros((lanes, sim.N_COUNTS), dtype=np.int64)
    tables, meta = sim.new_depth(lanes)
    sim.run_exec(evl, sig, st, port, par, ledger, counts, int(ts[-1]) + 10 * timeout_ns, tables, meta)
    assert counts[:, sim.C_BUSY].sum() == 0 and counts[:, sim.C_ORDERS].sum() == len(orders), "an order was not placed"
    out = [(None, 0.0)] * len(orders)
    for row in ledger[: port[0]["n_trades"]]:
        out[int(row["cascade_id"])] = (int(row["entry_ns"]), float(row["filled"]) * qty)
    for sid in range(lanes):  # a position still open at the end of the rows
        if st[sid]["status"] == sim.OPEN:
            s = st[sid]
            out[int(s["cascade_id"])] = (int(s["entry_ns"]), float(s["p_done"]) / float(s["p_qty"]) * qty)
    return out


def same_partial(ev, a, b, qty, only=None) -> tuple[int, int]:
    """(orders, the same outcome: both unfilled, or both first filled at the same event (receive time) with the
    same quantity filled by the cancel, within 1e-6 of the order's)."""
    ts = ev["ts_recv"]
    js = range(len(a)) if only is None else only
    n = same = 0
    for j in js:
        n += 1
        (ta, qa), (tb, qb) = a[j], b[j]
        if ta is None and tb is None:
            same += 1
        elif ta is not None and tb is not None and int(np.searchsorted(ts, ta)) == int(np.searchsorted(ts, tb)):
            same += abs(qa - qb) <= 1e-6 * qty
    return n, same


def compare_partial(ev, tick, every_s=15.0, latency_ms=50.0, timeout_s=90.0, models=("risk-averse", "prob:2"),
                    qty: float | None = None) -> dict:
    """``--partial on`` against hftbacktest's ``PartialFillExchange``: per model, the orders, the filled
    quantities of liqcore (depth, and the x1e9 control) and of hftbacktest.  ``qty``: the orders' quantity
    (default: the stream's 90th percentile print, so that prints at the price fill them in parts)."""
    hev = to_hftbacktest(ev, tick)
    orders = depth_orders(ev, tick, every_s)
    lat, tmo = int(latency_ms * 1e6), int(timeout_s * 1e9)
    if qty is None:
        qty = float(np.round(np.quantile(ev["qty"][ev["kind"] == TRADE], 0.9), 6))
    out = {"orders": orders, "qty": qty, "models": {}, "ev": ev}
    for model in models:
        hb = run_hftbacktest_partial(hev, orders, tick, lat, tmo, model, qty, ev["ts_recv"])
        out["models"][model] = {run: (run_liqcore_partial(ev, orders, tick, lat, tmo, model, qty,
                                                          qty_scale=1e9 if run == "x1e9" else 1.0), hb)
                                for run in ("depth", "x1e9")}
    return out


def report_partial(res: dict, title: str, gate: float, control_gate: float = 0.85) -> tuple[list[str], bool]:
    """Lines for :func:`compare_partial` (the gated metric first) and whether its gates hold."""
    heads, ok, lines = [], True, []
    qty = res["qty"]
    for model, got in res["models"].items():
        n, s = same_partial(res["ev"], *got["depth"], qty)
        cn, cs = same_partial(res["ev"], *got["x1e9"], qty)
        ok = ok and s >= gate * n and cs < control_gate * cn
        heads.append(f"{model} depth {s}/{n} = {100.0 * s / max(n, 1):.2f} %, x1e9 control {100.0 * cs / max(cn, 1):.2f} %")
        a, b = [x[1] for x in got["depth"][0]], [x[1] for x in got["depth"][1]]
        lines.append(f"  {model}: hftbacktest fills {sum(x > 0 for x in b)} orders, {sum(0 < x < qty - 1e-9 for x in b)} "
                     f"of them in part; liqcore {sum(x > 0 for x in a)}, {sum(0 < x < qty - 1e-9 for x in a)} in part; "
                     f"filled in all: hftbacktest {sum(b):.6g}, liqcore {sum(a):.6g} (base units)")
    head = (f"HEADLINE {title}, --partial on against hftbacktest's PartialFillExchange (orders of {qty:g} base units): "
            f"the same outcome (both unfilled, or first filled at the same event with the same quantity by the cancel), gate >= {100 * gate:g} % with depth and < {100 * control_gate:g} % "
            f"for the x1e9 control: " + "; ".join(heads) + f" -> {'met' if ok else 'NOT met'}")
    return [head] + lines, ok


def report(res: dict, title: str, gate: float, control_gate: float = 0.85) -> tuple[list[str], bool]:
    """Lines (the gated metric first) and whether the gates hold: the depth run >= ``gate``, the
    x1e9 control < ``control_gate``, for every model."""
    ev, orders = res["ev"], res["orders"]
    lines = []
    ok = True
    heads = []
    for model, got in res["models"].items():
        n, s = same_outcome(ev, *got["depth"])
        line = f"{model} depth {s}/{n} = {100.0 * s / max(n, 1):.2f} %"
        good = s >= gate * n
        if "x1e9" in got:
            cn, cs = same_outcome(ev, *got["x1e9"])
            line += f", x1e9 control {100.0 * cs / max(cn, 1):.2f} %"
            good = good and cs < control_gate * cn
        ok = ok and good
        heads.append(line)
    if not res.get("reads_depth", True):
        title += (" [this liqcore does not read depth rows: its 'depth' figures are the top-of-book rule given the "
                  "same rows]")
    lines.append(f"HEADLINE {title}: same outcome as hftbacktest (both unfilled, or both filled at the same event), "
                 f"gate >= {100 * gate:g} % with depth and < {100 * control_gate:g} % for the x1e9 control: "
                 + "; ".join(heads) + f" -> {'met' if ok else 'NOT met'}")
    for model, got in res["models"].items():
        hb = got["depth"][1] if "depth" in got else next(iter(got.values()))[1]
        lines.append(f"  {model}: hftbacktest fills {sum(y is not None for y in hb)} of {len(orders)} orders")
        if "why" in res:
            why = res["why"][model]
            tally = {w: why.count(w) for w in ("queue", "through", "crossed", "expired", "none")}
            rn, rs = same_outcome(ev, *res["reference"][model])
            crossed = [j for j, w in enumerate(why) if w == "crossed"]
            lines.append(f"    hftbacktest's rules written out (Python): same outcome {rs}/{rn}; its outcomes: "
                         f"fills on a print at the price {tally['queue']}, through it {tally['through']}, on a depth "
                         f"row that crossed the order with no print {tally['crossed']}; post-only expired "
                         f"{tally['expired']}, unfilled {tally['none']}")
            if crossed and "depth" in got:
                rest = [j for j in range(len(orders)) if j not in set(crossed)]
                xn, xs = same_outcome(ev, *got["depth"], only=crossed)
                rn_, rs_ = same_outcome(ev, *got["depth"], only=rest)
                lines.append(f"    liqcore depth on the orders hftbacktest fills by a crossing depth row: "
                             f"{xs}/{xn} = {100.0 * xs / max(xn, 1):.2f} % (liqcore's rule 'depth cross'); "
                             f"on the others {rs_}/{rn_} = {100.0 * rs_ / max(rn_, 1):.2f} %")
        for run, (a, b) in got.items():
            n, s = same_outcome(ev, a, b)
            early, late = hc.conservative(a, b)
            by = {}
            for j, o in enumerate(orders):
                back = int(o[3].split()[0])
                grp = "0" if back == 0 else ("1-5" if back <= 5 else ("6-10" if back <= 10 else "11-20"))
                by.setdefault(grp, []).append(j)
            parts = []
            for grp in ("0", "1-5", "6-10", "11-20"):
                if grp in by:
                    gn, gs = same_outcome(ev, a, b, by[grp])
                    parts.append(f"{grp} behind {100.0 * gs / max(gn, 1):.1f} %")
            lines.append(f"    liqcore {run:12s}: same outcome {s}/{n} = {100.0 * s / max(n, 1):.2f} %; fills "
                         f"{sum(x is not None for x in a)}; earlier than hftbacktest (or where it does not) {early}, "
                         f"later (or not at all) {late}; by ticks behind the best: " + ", ".join(parts))
    return lines, ok


def main(argv=None) -> int:
    import argparse
    import datetime as _dt
    import os
    import time

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=60_000, help="rows of each generated stream")
    ap.add_argument("--seeds", type=int, nargs="*", default=[1, 2], help="generated streams (none: --seeds alone)")
    ap.add_argument("--every", type=float, default=15.0, help="seconds between orders")
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--timeout", type=float, default=90.0, help="seconds an order rests")
    ap.add_argument("--tardis-depth", help="a tardis incremental_book_L2 CSV(.gz) of one symbol")
    ap.add_argument("--tardis-trades", help="its trades CSV(.gz)")
    ap.add_argument("--hours", type=float, help="real data: hours read from the start")
    ap.add_argument("--capture", nargs="+", help="raw Binance USD-M captures (<ns> <json> lines: depth, trade, "
                    "REST snapshot frames)")
    ap.add_argument("--real-every", type=float, default=5.0, help="real data: seconds between orders")
    ap.add_argument("--real-timeout", type=float, default=30.0, help="real data: seconds an order rests")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "hbt-depth.md"))
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--partial", action=argparse.BooleanOptionalAction, default=True,
                    help="also --partial on against hftbacktest's PartialFillExchange (orders of the stream's 90th "
                         "percentile print; default on)")
    args = ap.parse_args(argv)
    try:
        import hftbacktest
    except ImportError:
        print("hbt_depth: hftbacktest is not installed (pip install -e .[agreement])", file=sys.stderr)
        return 2
    all_lines = []
    ok = True
    t0 = time.process_time()
    if args.tardis_depth:
        if not args.tardis_trades:
            print("hbt_depth: --tardis-depth needs --tardis-trades", file=sys.stderr)
            return 2
        ev, tick = read_tardis(args.tardis_depth, args.tardis_trades, hours=args.hours)
        res = compare(ev, tick, args.real_every, args.latency_ms, args.real_timeout)
        lines, good = report(res, f"real depth {Path(args.tardis_depth).name}", 0.97)
        span = (int(ev["ts_recv"][-1]) - int(ev["ts_recv"][0])) / 3600e9
        lines.insert(1, f"  {len(ev):,} rows over {span:.2f} h, tick {tick:g}, {len(res['orders'])} post-only orders "
                        f"0-20 ticks behind the best, every {args.real_every:g} s, latency {args.latency_ms:g} ms, "
                        f"cancel after {args.real_timeout:g} s")
        all_lines += lines
        ok = ok and good
    for path in args.capture or ():
        ev, tick, counts = read_capture(path)
        res = compare(ev, tick, args.real_every, args.latency_ms, args.real_timeout)
        lines, good = report(res, f"real Binance depth {Path(path).name}", 0.97)
        span = (int(ev["ts_recv"][-1]) - int(ev["ts_recv"][0])) / 3600e9
        lines.insert(1, f"  {len(ev):,} rows over {span:.2f} h, tick {tick:g}, {len(res['orders'])} post-only orders "
                        f"0-20 ticks behind the best, every {args.real_every:g} s, latency {args.latency_ms:g} ms, "
                        f"cancel after {args.real_timeout:g} s; frames: {counts}")
        all_lines += lines
        ok = ok and good
        if args.partial:
            lines, good = report_partial(compare_partial(ev, tick, args.real_every, args.latency_ms, args.real_timeout),
                                         f"real Binance depth {Path(path).name}", 0.97)
            all_lines += lines
            ok = ok and good
    for seed in args.seeds:
        ev, tick = depth_stream(args.events, seed)
        res = compare(ev, tick, args.every, args.latency_ms, args.timeout)
        lines, good = report(res, f"generated L2 stream, seed {seed} (hidden levels cancelled and refilled)", 0.99)
        span = (int(ev["ts_recv"][-1]) - int(ev["ts_recv"][0])) / 3600e9
        lines.insert(1, f"  {len(ev):,} rows over {span:.2f} h, {len(res['orders'])} post-only orders 0-20 ticks "
                        f"behind the best, every {args.every:g} s, latency {args.latency_ms:g} ms, cancel after "
                        f"{args.timeout:g} s")
        all_lines += lines
        ok = ok and good
        if args.partial:
            lines, good = report_partial(compare_partial(ev, tick, args.every, args.latency_ms, args.timeout),
                                         f"generated L2 stream, seed {seed}", 0.99)
            all_lines += lines
            ok = ok and good
    cpu = time.process_time() - t0
    load = os.getloadavg()[0]
    all_lines.append(f"hftbacktest {hftbacktest.__version__ if hasattr(hftbacktest, '__version__') else '2.4.4'}; "
                     f"{cpu:.1f} s CPU, load {load:.1f}")
    for line in all_lines:
        print(line)
    if not args.no_write:
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        cmd = "python benches/hbt_depth.py " + " ".join(argv if argv is not None else sys.argv[1:])
        text = f"## {stamp}\n\n`{cmd.strip()}`\n\n```\n" + "\n".join(all_lines) + "\n```\n\n"
        p = Path(args.out)
        old = p.read_text() if p.exists() else "# liqcore --fill queue with depth against hftbacktest's L2 backtest\n\n"
        head, _, rest = old.partition("\n\n")
        p.write_text(head + "\n\n" + text + rest)
    if not ok:
        print("hbt_depth: a gate is not met (see the HEADLINE lines)", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

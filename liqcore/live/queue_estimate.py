"""The live queue-position estimate of each resting post-only entry: the size ahead of it and the chance
that it fills, from the top of book (or, with ``--book depth``, the L2 depth) and the prints the engine receives.

The details: docs/maintainers/live-gateways.md, "The live queue-position estimate of each resting post-only entry
(liqcore.live.queue_estimate)".

May import: ``numpy``, ``scipy``, ``_jit``, ``params`` and ``types``.
"""
from __future__ import annotations

import math
from collections import deque

import numpy as np

from liqcore._jit import sim
from liqcore.params import queue_power
from liqcore.types import Kind, Side

__all__ = ["QueueEstimate", "LiveQueue", "FLOW_WINDOW_NS"]

#: the window of prints whose rate and mean size give the chance of a fill (ns)
FLOW_WINDOW_NS = 60_000_000_000
_BID = int(Side.BUY)
_BUY, _SELL = int(Side.BUY), int(Side.SELL)
_QUOTE = int(Kind.QUOTE)
_DEPTH = int(Kind.DEPTH)


def poisson_at_least(k: int, mean: float) -> float:
    """P(N >= k) for N Poisson with mean ``mean`` (scipy's ``poisson.sf(k - 1, mean)``, without scipy:
    the live runner is part of the lean core).  Sums the smaller tail, each term exp(-mean + i ln mean -
    ln i!) (no overflow): the terms below ``k`` when ``k - 1 < mean`` (then 1 - that sum), else the terms
    from ``k`` up, which fall at least geometrically past the mean, until they no longer change the sum."""
    k = int(k)
    if k <= 0:
        return 1.0
    if not mean > 0.0:
        return 0.0
    lm = math.log(mean)

    def term(i: int) -> float:
        return math.exp(-mean + i * lm - math.lgamma(i + 1))

    if k - 1 < mean:  # the lower tail is the smaller one
        return max(0.0, 1.0 - math.fsum(term(i) for i in range(k)))
    total, i = 0.0, k
    t = term(i)
    while t > 0.0 and t > total * 1e-17:
        total += t
        i += 1
        t = term(i)
    return min(1.0, total)


class QueueEstimate:
    """Queue position of the resting entry of each of ``n`` symbols (index = the engine's core index).

    ``ticks``: each symbol's tick size (0 or missing: prices compared as they are); ``queue_model``
    ``risk-averse`` or ``prob:N``; ``unseen`` ``seen`` or ``empty`` (the ``queue-unseen`` rule);
    ``timeout_ns``: the entry timeout (the horizon of the chance of a fill)."""

    def __init__(self, n: int, *, ticks=None, queue_model: str = "risk-averse", unseen: str = "seen",
                 timeout_ns: int = 1_800_000_000_000) -> None:
        self.n = int(n)
        self.st = sim.new_state(self.n)
        t = np.zeros(self.n) if ticks is None else np.asarray(ticks, float)
        self.grid = np.where(t > 0, 1.0 / np.where(t > 0, t, 1.0), 0.0)
        self.pw = float(queue_power(queue_model))
        self.queue_model = queue_model
        self.unseen = 1 if unseen == "empty" else 0
        self.timeout_ns = int(timeout_ns)
        self.orders: dict[int, dict] = {}  # index -> the resting entry: client id, side, price, times, estimate at rest
        self._flow = [(deque(), deque()) for _ in range(self.n)]  # (prints hitting the bid, the ask): (ts, qty)
        self.depth = None  # (par, tables, meta, counts) once :meth:`use_depth`: the queue at depth

    def use_depth(self) -> None:
        """The queue at depth: DEPTH rows (:meth:`on_depth`) keep each symbol's L2 book, an entry joins behind the
        size shown at its level and that level's changes move its queue (the fill model's rule at depth, the
        ``--queue-model`` applied); the top of book no longer moves it.  Levels are keyed at 1e-8 of price."""
        if self.depth is None:
            self.depth = (self._params(self.n), *sim.new_depth(self.n), np.zeros((self.n, sim.N_COUNTS), np.int64))

    def _params(self, n: int) -> np.ndarray:
        par = np.zeros(n, sim.PARAM_DTYPE)
        par["queue"] = 1
        par["queue_pow"] = self.pw
        par["queue_unseen"] = self.unseen
        return par

    def grow(self, k: int) -> None:
        """``k`` more symbols (a new listing traded without a restart): flat rows, no tick known yet."""
        self.st = np.concatenate([self.st, sim.new_state(int(k))])
        self.grid = np.concatenate([self.grid, np.zeros(int(k))])
        self._flow += [(deque(), deque()) for _ in range(int(k))]
        if self.depth is not None:
            from liqcore._jit import depth as dp

            par, tables, meta, counts = self.depth
            meta = dp.grow_books(tables, meta, int(k))
            self.depth = (np.concatenate([par, self._params(int(k))]), tables, meta,
                          np.concatenate([counts, np.zeros((int(k), counts.shape[1]), np.int64)]))
        self.n += int(k)

    # ------------------------------------------------------------------ updates
    def on_quote(self, i: int, ts_ns: int, side: int, price: float, qty: float) -> None:
        """A top-of-book row (``side`` Side.BUY: the best bid, else the best ask)."""
        self._settle(i)
        sim.queue_quote(self.st, i, int(side), float(price), float(qty), self.pw, self.grid[i])

    def on_depth(self, i: int, ts_ns: int, side: int, price: float, qty: float, flags: int) -> None:
        """A DEPTH row (:meth:`use_depth`; without it the row is ignored).  A row that puts size on the other
        side at or through the resting entry's price fills it (the fill model's rule ``depth cross``)."""
        if self.depth is not None:
            par, tables, meta, counts = self.depth
            if sim.queue_depth(self.st, par, tables, meta, i, int(ts_ns), int(side), float(price), float(qty),
                               int(flags), counts):
                self._model_filled(i, ts_ns)

    def _settle(self, i: int) -> None:
        if self.depth is not None:  # a snapshot run ends at the symbol's next row of another kind
            par, tables, _meta, _c = self.depth
            sim.queue_depth_settle(self.st, par, tables, i)

    def on_trade(self, i: int, ts_ns: int, price: float, qty: float, side: int = 0) -> bool:
        """A print (``side`` the taker's Side; 0 unknown).  True when it fills the resting entry under the
        queue rule (the first such print is kept as the model's fill time)."""
        hits = self._flow[i]
        if side == _SELL or side == 0:
            _push(hits[0], ts_ns, qty)
        if side == _BUY or side == 0:
            _push(hits[1], ts_ns, qty)
        o = self.orders.get(i)
        if o is None:
            return False
        self._settle(i)
        filled = bool(sim.queue_print(self.st, i, float(price), float(qty), self.grid[i]))
        if filled:
            self._model_filled(i, ts_ns)
        return filled

    def _model_filled(self, i: int, ts_ns: int) -> None:
        """The queue rule filled row ``i``'s resting entry at ``ts_ns`` (the first such time is kept)."""
        o = self.orders.get(i)
        if o is not None and o["model_fill_ns"] is None:
            o["model_fill_ns"] = int(ts_ns)
            self.st[i]["status"] = sim.FLAT  # the model's order is filled: nothing more ahead of it

    def on_order_rested(self, i: int, ts_ns: int, client_id: str, side: str, price: float,
                        decision_ns: int | None = None) -> dict:
        """The entry ``client_id`` (``side`` buy/sell, limit ``price``) rests at the venue now; returns its
        estimate at rest (see :meth:`estimate`)."""
        sgn = 1 if side == "buy" else -1
        if self.depth is not None:
            par, tables, meta, _c = self.depth
            self._settle(i)
            sim.queue_rest_depth(self.st, par, tables, meta, i, sgn, float(price), self.unseen)
        else:
            sim.queue_rest(self.st, i, sgn, float(price), self.grid[i], self.unseen)
        self.orders[i] = {"client_id": client_id, "side": side, "price": float(price), "rested_ns": int(ts_ns),
                          "decision_ns": int(decision_ns if decision_ns is not None else ts_ns),
                          "model_fill_ns": None}
        est = self.estimate(i, ts_ns)
        self.orders[i]["at_rest"] = est
        return est

    def on_end(self, i: int, ts_ns: int, outcome: str) -> dict | None:
        """The resting entry of symbol ``i`` ended (``outcome``: filled, cancelled, rejected...): its record
        for the journal (estimate at rest, the last estimate, when the model filled it), or None."""
        o = self.orders.pop(i, None)
        if o is None:
            return None
        last = self.estimate_of(i, ts_ns, o)
        self.st[i]["status"] = sim.FLAT
        self.st[i]["q_ahead"] = np.inf
        a = o["at_rest"]
        return {"client_id": o["client_id"], "side": o["side"], "price": o["price"], "rested_ns": o["rested_ns"],
                "ahead_at_rest": a["ahead"], "level_at_rest": a["level"], "fill_chance_at_rest": a["fill_chance"],
                "ahead_last": last["ahead"], "model_fill_ns": o["model_fill_ns"], "end_ns": int(ts_ns),
                "outcome": outcome, "queue_model": self.queue_model,
                "book": "depth" if self.depth is not None else "top of book"}

    # ------------------------------------------------------------------ reads
    def estimate(self, i: int, ts_ns: int) -> dict | None:
        """The resting entry's estimate now: ``ahead`` (base units; None: unknown), ``level`` (the size
        displayed at its price when last seen), ``fill_chance`` (0..1 before its timeout; None: not
        known), ``model_filled`` (the queue rule has it filled).  None without a resting entry."""
        o = self.orders.get(i)
        return None if o is None else self.estimate_of(i, ts_ns, o)

    def estimate_of(self, i: int, ts_ns: int, o: dict) -> dict:
        s = self.st[i]
        filled = o["model_fill_ns"] is not None
        ahead = 0.0 if filled else float(s["q_ahead"])
        known = math.isfinite(ahead)
        left_ns = o["decision_ns"] + self.timeout_ns - int(ts_ns)
        chance = 1.0 if filled else (self._chance(i, ts_ns, o["side"], max(ahead, 0.0), left_ns) if known else None)
        return {"ahead": max(ahead, 0.0) if known else None, "level": float(s["q_level"]),
                "fill_chance": chance, "model_filled": filled}

    def _chance(self, i: int, ts_ns: int, side: str, ahead: float, left_ns: int) -> float | None:
        q = self._flow[i][0 if side == "buy" else 1]
        while q and q[0][0] < ts_ns - FLOW_WINDOW_NS:
            q.popleft()
        if not q or left_ns <= 0:
            return None if not q else 0.0
        mean = sum(x for _, x in q) / len(q)
        if not mean > 0:
            return None
        rate = len(q) / (FLOW_WINDOW_NS / 1e9)  # prints per second hitting the order's side
        need = math.floor(ahead / mean) + 1
        return poisson_at_least(need, rate * left_ns / 1e9)


def _push(q: deque, ts_ns: int, qty: float) -> None:
    q.append((int(ts_ns), float(qty)))
    while q and q[0][0] < ts_ns - FLOW_WINDOW_NS:
        q.popleft()


class LiveQueue:
    """The engine's side of the estimate: feeds :class:`QueueEstimate` from the engine's rows and order
    updates, and writes each entry's estimate record to the journal's ``queue_estimates`` table when the
    entry ends.  ``symbols``: the traded symbols in core-index order; ``tick_of(symbol)``: its tick size;
    ``journal_of()``: the journal in use (None: none)."""

    def __init__(self, symbols, params, tick_of, journal_of=lambda: None) -> None:
        self.symbols = list(symbols)
        self.index = {s: i for i, s in enumerate(self.symbols)}
        self.tick_of = tick_of
        self.journal_of = journal_of
        self.est = QueueEstimate(len(self.symbols), queue_model=getattr(params, "queue_model", "risk-averse"),
                                 unseen=getattr(params, "queue_unseen", "seen"),
                                 timeout_ns=int(getattr(params, "entry_timeout_ns", 1_800_000_000_000)))

    def add(self, symbols) -> None:
        """New traded symbols, next in core-index order."""
        new = [s for s in symbols if s not in self.index]
        for s in new:
            self.index[s] = len(self.symbols)
            self.symbols.append(s)
        self.est.grow(len(new))

    def use_depth(self) -> None:
        """The queue at depth (:meth:`QueueEstimate.use_depth`): the run subscribes the traded symbols' depth."""
        self.est.use_depth()

    def warmup(self, depth: bool = False) -> None:
        """Load (or compile) every kernel an entry's estimate runs, on a scratch estimate of the same rules, so
        that the frame that places the first entry does not pay for it (a cache load of ``queue_rest`` and
        ``queue_print``: 72-183 ms at load 7-9): the top of book's (a quote, an entry resting, a print through
        it, its end) and, with ``depth`` (or once :meth:`use_depth` was called), the L2 book's."""
        e = self.est
        for at_depth in (False, True) if depth or e.depth is not None else (False,):
            w = QueueEstimate(1, ticks=[0.01], queue_model=e.queue_model, unseen="empty" if e.unseen else "seen",
                              timeout_ns=e.timeout_ns)
            if at_depth:
                w.use_depth()
                w.on_depth(0, 1, int(Side.BUY), 100.0, 5.0, 0)
                w.on_depth(0, 1, int(Side.SELL), 100.01, 5.0, 0)
            w.on_quote(0, 2, int(Side.BUY), 100.0, 5.0)
            w.on_quote(0, 2, int(Side.SELL), 100.01, 5.0)
            w.on_trade(0, 3, 100.0, 1.0, int(Side.SELL))
            w.on_order_rested(0, 4, "warmup", "buy", 100.0)
            w.on_trade(0, 5, 99.99, 10.0, int(Side.SELL))
            w.on_end(0, 6, "filled")

    def on_row(self, i: int, ts_ns: int, kind: int, side: int, price: float, qty: float, flags: int = 0) -> None:
        """A QUOTE, DEPTH or TRADE row of traded symbol ``i`` (the engine's core index)."""
        if kind == _QUOTE:
            self.est.on_quote(i, ts_ns, side, price, qty)
        elif kind == _DEPTH:
            self.est.on_depth(i, ts_ns, side, price, qty, flags)
        elif price > 0:
            self.est.on_trade(i, ts_ns, price, qty, side)

    def on_update(self, u, intent, ts_ns: int) -> None:
        """An order update of an entry: a post-only limit the venue holds (``new``) rests; a terminal
        status ends it (its record goes to the journal)."""
        i = self.index.get(u.symbol)
        if i is None or u.kind != "entry":
            return
        o = self.est.orders.get(i)
        if o is None and u.status == "new" and intent is not None and intent.client_id == u.client_id \
                and intent.post_only and intent.order_type == "limit":
            tick = float(self.tick_of(u.symbol) or 0.0)
            self.est.grid[i] = 1.0 / tick if tick > 0 else 0.0
            self.est.on_order_rested(i, ts_ns, u.client_id, intent.side, float(intent.price),
                                     decision_ns=int(intent.decision_ns or ts_ns))
        elif o is not None and o["client_id"] == u.client_id and \
                u.status in ("filled", "partially_filled", "cancelled", "rejected", "deactivated"):
            rec = self.est.on_end(i, ts_ns, u.status)
            j = self.journal_of()
            if rec is not None and j is not None and hasattr(j, "queue_estimate"):
                j.queue_estimate({**rec, "symbol": u.symbol})

    def row(self, symbol: str, ts_ns: int) -> dict | None:
        """The estimate of ``symbol``'s resting entry now (:meth:`QueueEstimate.estimate`), for the dashboard."""
        i = self.index.get(symbol)
        return None if i is None else self.est.estimate(i, ts_ns)

"""liqcore's ``--fill queue`` against hftbacktest's queue models, order by order (the ``--compare``
part of ``benches/bench_fills.py``, and the slow test ``tests/backtest/test_fills_hftbacktest.py``).

The stream: one symbol of the synthetic market with its top of book (QUOTE pairs before the trades
that move the book, one-tick spread), its ``ts_recv`` used as both the exchange and the local time
(no feed latency on either side).  Conversion to hftbacktest's events: a quote row -> a DEPTH_EVENT
on its side (BUY_EVENT = bid, SELL_EVENT = ask) at its price and displayed size, preceded by zero-size
DEPTH_EVENTs for the levels the new best has passed (a bid that falls empties the bids above it:
top of book says nothing else of them); a trade -> TRADE_EVENT with its taker side (BUY_EVENT /
SELL_EVENT).  Orders: every ``every_s`` seconds a post-only (GTX) limit, alternating buy and sell,
at the best on its side (joins the queue), one tick behind it, or two ticks behind it (in turn), of
one lot of 1e-9 (so that "filled" means: more traded at its price than the queue ahead, as in
liqcore); order latency constant, ``latency_ms``; cancelled ``timeout_s`` after it was sent.
hftbacktest: ``NoPartialFillExchange`` + ``RiskAdverseQueueModel`` or ``PowerProbQueueModel(n)``;
liqcore: the execution kernel with ``fill=queue`` and the same model, the orders as signals (entry
timeout = timeout + latency, the cancel's arrival; a filled position closed at the next print)."""
from __future__ import annotations

import numpy as np

LOT = 1e-9
KINDS = ("at best", "1 behind", "2 behind", "3 behind")


def queue_stream(n_events: int = 40_000, seed: int = 1, tick: float = 0.01, price: float = 3000.0,
                 dt_ms: float = 250.0, pull: float = 0.003, churn: float = 0.0, hidden_out: list | None = None):
    """A stream where the queue decides: (liqcore events of one symbol, tick, the book at the start).

    One symbol, a one-tick spread, a price that moves only when a level is emptied.  Every event
    (exponential gaps of mean ``dt_ms``) is one of, on a side drawn at random:

    * 45 %: the best level's displayed size changes without a print (orders added / cancelled:
      x U(0.5, 1.6), at least 0.02) -- a quote row;
    * 54.7 %: a print at the best (the taker side: SELL at the bid, BUY at the ask) of an exponential
      size (mean 0.35 x the level); a print that reaches the level's size empties it, prints
      0.001 more than was displayed (the rest of the queue, e.g. a small bot order, goes with it), and
      the book moves a tick: that side's best retreats to the next level, the other side's best comes
      to the emptied price with a fresh size -- a trade row, then the quote rows;
    * ``pull`` (0.3 %): the best level is cancelled whole; its side retreats a tick, a print follows at
      the new best (so a limit at the pulled price fills THROUGH it), and the other side's best comes a
      tick closer (one-tick spread again).

    With ``churn`` 0 (default), levels behind the best never change until they are the best again
    (their sizes are kept); a level never shown gets a fresh size (lognormal, median 1.0) when it is
    first needed.  So the size a limit behind the best finds when its level becomes the best is the size
    that was there when it joined: liqcore's default rule for a level it has not seen (``queue-unseen
    seen``) holds by construction.

    ``churn`` > 0: that share of the events instead changes a level 1-3 ticks BEHIND the best, on a side
    drawn at random: orders there are cancelled (x U(0.2, 0.8)) or added (+ U(0.3, 1.5) x the level), in
    equal turns, while orders may rest there.  Top of book does not show these: they go to
    ``hidden_out`` (a list, appended ``(ns, side 3/4, tick, size)``) for hftbacktest's depth, not into
    the events liqcore reads.  This is where the default rule can be wrong: it counts the size displayed
    when the level becomes the best, a venue the size there when the order joined less what was
    cancelled since.

    The book at the start (every level the stream later visits) is returned for hftbacktest's depth
    snapshot; liqcore sees top of book only.  Times are nanoseconds from 2023-11-14."""
    from liqcore.types import EVENT_DTYPE

    rng = np.random.default_rng(seed)
    hidden = {3: {}, 4: {}}  # side -> {tick: size}: the whole book (3 bids, 4 asks)

    def size(side, k):
        v = hidden[side].get(k)
        if v is None:
            v = hidden[side][k] = float(np.round(rng.lognormal(0.0, 0.6), 3)) + 0.02
        return v

    k0 = round(price / tick)
    bid, ask = k0, k0 + 1
    for j in range(200):  # the book at the start: the 200 levels on each side of the touch
        size(3, bid - j)
        size(4, ask + j)
    start = {3: dict(hidden[3]), 4: dict(hidden[4])}
    rows = []
    t = 1_700_000_000_000_000_000
    last_px = bid * tick

    def quote(side):
        k = bid if side == 3 else ask
        rows.append((t, k * tick, size(side, k), side, 7))

    def trade(side_taker, k, q):
        rows.append((t, k * tick, q, side_taker, 2))

    quote(3)
    quote(4)
    trade(4, bid, 0.01)
    while len(rows) < n_events:
        t += int(rng.exponential(dt_ms * 1e6)) + 1
        side = 3 if rng.random() < 0.5 else 4
        k = bid if side == 3 else ask
        if churn > 0.0 and rng.random() < churn:  # a level behind the best changes, unseen by top of book
            k = (bid if side == 3 else ask) + (-1 if side == 3 else 1) * int(rng.integers(1, 4))
            lvl = size(side, k)
            if rng.random() < 0.5:
                lvl = max(0.02, round(lvl * rng.uniform(0.2, 0.8), 3))
            else:
                lvl = round(lvl * (1.0 + rng.uniform(0.3, 1.5)), 3)
            hidden[side][k] = lvl
            if hidden_out is not None:
                hidden_out.append((t, side, k, lvl))
            continue
        u = rng.random()
        if u < pull:
            hidden[side].pop(k, None)
            if side == 3:
                bid -= 1
                ask -= 1
            else:
                bid += 1
                ask += 1
            quote(side)
            t += 1
            nk = bid if side == 3 else ask
            trade(4 if side == 3 else 3, nk, float(np.round(0.3 * size(side, nk), 3)) + 0.001)
            hidden[side][nk] = size(side, nk) - rows[-1][2]
            if hidden[side][nk] <= 0.0:
                hidden[side][nk] = 0.02
            t += 1
            quote(side)
            t += 1
            hidden[7 - side].pop(ask if side == 3 else bid, None)  # a fresh level comes a tick closer
            quote(7 - side)
        elif u < pull + 0.45:
            hidden[side][k] = max(0.02, round(size(side, k) * rng.uniform(0.5, 1.6), 3))
            quote(side)
        else:
            lvl = size(side, k)
            q = float(np.round(rng.exponential(0.35 * lvl), 3)) + 0.001
            taker = 4 if side == 3 else 3
            if q < lvl:
                trade(taker, k, q)
                hidden[side][k] = round(lvl - q, 6)
                t += 1
                quote(side)
            else:
                trade(taker, k, round(lvl + 0.001, 6))
                hidden[side].pop(k, None)
                if side == 3:
                    bid -= 1
                    ask -= 1
                else:
                    bid += 1
                    ask += 1
                hidden[7 - side].pop(ask if side == 3 else bid, None)  # the emptied price: a fresh level
                t += 1
                quote(3)
                t += 1
                quote(4)
        last_px = k * tick
    ev = np.zeros(len(rows), dtype=EVENT_DTYPE)
    a = np.array(rows, dtype=[("t", "<i8"), ("p", "<f8"), ("q", "<f8"), ("s", "i1"), ("k", "i1")])
    ev["ts_event"] = ev["ts_recv"] = a["t"]
    ev["price"], ev["qty"], ev["side"], ev["kind"] = a["p"], a["q"], a["s"], a["k"]
    del last_px
    return ev, tick, start


def book_stream(hours: float = 6.0, symbol: str = "ETHUSDT", days: float = 1.0):
    """(events of one symbol, first ``hours``, ts_event := ts_recv; tick) from the synthetic market
    with its book."""
    from liqcore.synthetic.market import SYMBOL_SPECS, synthetic_market

    m = synthetic_market(days=days, symbols=(symbol,), effects={"book": True}, feed_latency_ns=0, cache=False)
    ev = m.events
    ev = ev[np.argsort(ev["ts_recv"], kind="stable")]
    ev = ev[(ev["kind"] == 2) | (ev["kind"] == 7)]
    ev = ev[ev["ts_recv"] < ev["ts_recv"][0] + int(hours * 3600e9)].copy()
    ev["ts_event"] = ev["ts_recv"]
    return ev, 10.0 ** -SYMBOL_SPECS[symbol].price_dec


def to_hftbacktest(ev: np.ndarray, tick: float, start: dict | None = None, hidden: list | None = None) -> np.ndarray:
    """The stream in hftbacktest's event format (see the module docstring); ``start`` ({side: {tick:
    size}}, :func:`queue_stream`): the book at the start, as depth events before the first row;
    ``hidden`` (``queue_stream(hidden_out=...)``): changes of levels behind the best, as depth events at
    their times (liqcore's events do not carry them)."""
    from hftbacktest.types import (BUY_EVENT, DEPTH_EVENT, EXCH_EVENT, LOCAL_EVENT, SELL_EVENT, TRADE_EVENT,
                                   event_dtype)

    rows = []
    levels = {3: {}, 4: {}}  # side -> {tick: qty} of the levels shown and not yet emptied
    best = {}  # side -> the tick of its best (the last quote row)
    if start:
        t0 = int(ev["ts_recv"][0])
        for side, book in start.items():
            flag = BUY_EVENT if side == 3 else SELL_EVENT
            for k, q in book.items():
                levels[side][k] = q
                rows.append((DEPTH_EVENT | EXCH_EVENT | LOCAL_EVENT | flag, t0, t0, k * tick, q, 0, 0, 0.0))
    hidden = list(hidden or ())
    h = 0
    for e in ev:
        ts, px, qty, side = int(e["ts_recv"]), float(e["price"]), float(e["qty"]), int(e["side"])
        while h < len(hidden) and hidden[h][0] < ts:
            ht, hside, hk, hq = hidden[h]
            levels[hside][hk] = hq
            rows.append((DEPTH_EVENT | EXCH_EVENT | LOCAL_EVENT | (BUY_EVENT if hside == 3 else SELL_EVENT), ht, ht,
                         hk * tick, hq, 0, 0, 0.0))
            h += 1
        if int(e["kind"]) == 7:
            k = round(px / tick)
            book = levels[side]
            flag = BUY_EVENT if side == 3 else SELL_EVENT
            top = best.get(side)
            if top is not None and (k < top if side == 3 else k > top):  # the best retreated: clear what it passed
                for lk in [lk for lk in book if (lk > k if side == 3 else lk < k)]:
                    rows.append((DEPTH_EVENT | EXCH_EVENT | LOCAL_EVENT | flag, ts, ts, lk * tick, 0.0, 0, 0, 0.0))
                    del book[lk]
            best[side] = k
            book[k] = qty
            rows.append((DEPTH_EVENT | EXCH_EVENT | LOCAL_EVENT | flag, ts, ts, px, qty, 0, 0, 0.0))
        else:
            flag = BUY_EVENT if side == 3 else SELL_EVENT
            rows.append((TRADE_EVENT | EXCH_EVENT | LOCAL_EVENT | flag, ts, ts, px, qty, 0, 0, 0.0))
    return np.array(rows, dtype=event_dtype)


def orders_for(ev: np.ndarray, tick: float, every_s: float, depth: int = 3):
    """[(decision ns, side +1/-1, price, kind)] on the stream's grid; kind: 'at best', '1 behind',
    '2 behind' ... (``depth`` kinds, :data:`KINDS`); the best is the quote in force at the decision."""
    out = []
    bid = ask = None
    t_next = int(ev["ts_recv"][0]) + int(60e9)
    i = 0
    n = 0
    for e in ev:
        ts = int(e["ts_recv"])
        while ts > t_next and bid is not None and ask is not None:
            side = 1 if n % 2 == 0 else -1
            back = (n // 2) % depth
            k = (round(bid / tick) - back) if side > 0 else (round(ask / tick) + back)
            out.append((t_next, side, k * tick, KINDS[back]))
            n += 1
            t_next += int(every_s * 1e9)
        if int(e["kind"]) == 7:
            if int(e["side"]) == 3:
                bid = float(e["price"])
            else:
                ask = float(e["price"])
        i += 1
    return out


def stepped(hbt, orders, timeout_ns: int, latency_ns: int, times=()):
    """(time, what, order) in time order, hftbacktest elapsed to each time first: per order 0 it is sent, 1 its
    cancel is sent (``timeout_ns`` later), 2 its cancel has arrived (the last look); 3 (order -1) each of
    ``times`` while an order is live (a look after that row)."""
    events = []
    times = np.unique(np.asarray(times, dtype=np.int64))
    for j, (t, _side, _px, _k) in enumerate(orders):
        end = t + timeout_ns + 2 * latency_ns + 1
        events += [(t, 0, j), (t + timeout_ns, 1, j), (end, 2, j)]
        if len(times):
            lo, hi = np.searchsorted(times, t), np.searchsorted(times, end)
            events += [(int(x), 3, -1) for x in times[lo:hi]]
    events.sort()
    for t, what, j in events:
        now = hbt.current_timestamp
        if t > now:
            hbt.elapse(t - now)
        yield t, what, j


def run_hftbacktest(hev, orders, tick, latency_ns, timeout_ns, model: str):
    """Per order: hftbacktest's fill time (ns) or None."""
    from hftbacktest import BacktestAsset, HashMapMarketDepthBacktest
    from hftbacktest.order import FILLED, GTX, LIMIT

    a = (BacktestAsset().data([hev]).linear_asset(1.0).constant_order_latency(latency_ns, 0)
         .no_partial_fill_exchange().trading_value_fee_model(0.0, 0.0).tick_size(tick).lot_size(LOT)
         .last_trades_capacity(0))
    a = a.risk_adverse_queue_model() if model == "risk-averse" else a.power_prob_queue_model(float(model[5:]))
    hbt = HashMapMarketDepthBacktest([a])
    hbt.elapse(1)  # the clock starts at the first event
    out = [None] * len(orders)
    live = {}  # order id -> cancel time
    for t, what, j in stepped(hbt, orders, timeout_ns, latency_ns):
        for oid in list(live):
            o = hbt.orders(0).get(oid)
            if o is not None and o.status == FILLED and out[oid] is None:
                out[oid] = int(o.exch_timestamp)
        if what == 0:
            _t, side, px, _k = orders[j]
            if side > 0:
                hbt.submit_buy_order(0, j, px, LOT, GTX, LIMIT, False)
            else:
                hbt.submit_sell_order(0, j, px, LOT, GTX, LIMIT, False)
            live[j] = t + timeout_ns
        elif what == 1:  # the cancel goes out (it reaches the venue a latency later: a fill before counts)
            o = hbt.orders(0).get(j)
            if o is not None and o.status == FILLED and out[j] is None:
                out[j] = int(o.exch_timestamp)
            elif o is not None and o.cancellable:
                hbt.cancel(0, j, False)
        else:
            live.pop(j, None)
        hbt.clear_inactive_orders(0)
    hbt.close()
    return out


def queue_params(lanes: int, tick: float, latency_ns: int, model: str) -> np.ndarray:
    """The kernel's parameters of ``lanes`` identical symbols under the queue rule (``model``), on ``tick``'s grid,
    with a constant order latency and no reference-age limit."""
    from liqcore._jit import sim
    from liqcore.params import queue_power

    par = np.zeros(lanes, dtype=sim.PARAM_DTYPE)
    par["order_latency_ns"] = latency_ns
    par["max_ref_age_ns"] = 10**15
    par["queue"] = 1
    par["queue_pow"] = queue_power(model)
    par["grid"] = round(1.0 / tick)
    return par


def run_liqcore(ev, orders, tick, latency_ns, timeout_ns, model: str, lanes: int = 8, unseen: str = "seen",
                qty_scale: float = 1.0, depth: bool = False):
    """Per order: liqcore's fill time (ns) or None (kernel, fill=queue).  The stream is replayed as
    ``lanes`` identical symbols and order ``j`` goes to symbol ``j % lanes``, so that a position
    still open (it closes at the next print) never blocks the next order (checked: no 'busy').
    ``unseen``: the queue-unseen rule; ``qty_scale``: displayed sizes times this (the negative control:
    x 1e9, the queue can never be reached); ``depth``: the simulator replays the DEPTH rows (the queue at
    depth), else it ignores them (top of book)."""
    from liqcore._jit import sim
    from liqcore.params import queue_power
    from liqcore.strategies import empty_signals, sort_signals

    n = len(orders)
    one = ev
    if qty_scale != 1.0:
        one = ev.copy()
        one["qty"][one["kind"] == 7] *= qty_scale
    ev = np.repeat(one, lanes)
    ev["symbol_id"] = np.tile(np.arange(lanes, dtype=np.int32), len(one))
    sig = empty_signals(n)
    ts = one["ts_recv"]
    last_trade = {}
    for j, (t, side, px, _k) in enumerate(orders):
        i = int(np.searchsorted(ts, t, "right")) - 1  # decided after the last event before t
        sig[j]["ts_ns"], sig[j]["ev_idx"] = t, i * lanes + lanes - 1
        sig[j]["symbol_id"] = j % lanes
        sig[j]["direction"] = side
        sig[j]["tag"] = j
        last_trade[j] = i
    # the limit is given as an offset from the last print: ref * (1 -+ offset) = px (then on the grid)
    tr = np.flatnonzero(one["kind"] == 2)
    for j, (t, side, px, _k) in enumerate(orders):
        r = tr[np.searchsorted(tr, last_trade[j], "right") - 1]
        ref = float(one["price"][r])
        sig[j]["offset"] = max(0.0, (1.0 - px / ref) if side > 0 else (px / ref - 1.0))
    sig["take_profit"] = 0.0
    sig["stop_loss"] = 0.0
    sig["max_hold_ns"] = 1  # a filled position closes at the next print: the next order is not blocked
    sig["entry_timeout_ns"] = timeout_ns + latency_ns
    sig = sort_signals(sig)
    par = queue_params(lanes, tick, latency_ns, model)
    par["queue_unseen"] = 1 if unseen == "empty" else 0
    st = sim.new_state(lanes)
    port = sim.new_port(1.0, 0.0, 0.0, lanes, 0.01)
    ledger = np.zeros(n + 1, dtype=sim.LEDGER_DTYPE)
    counts = np.zeros((lanes, sim.N_COUNTS), dtype=np.int64)
    if depth:
        tables, meta = sim.new_depth(lanes)
        sim.run_exec(ev, sig, st, port, par, ledger, counts, int(ts[-1]), tables, meta)
    else:
        sim.run_exec(ev, sig, st, port, par, ledger, counts, int(ts[-1]))
    assert counts[:, sim.C_BUSY].sum() == 0 and counts[:, sim.C_ORDERS].sum() == n, "an order was not placed"
    out = [None] * n
    for row in ledger[: port[0]["n_trades"]]:
        out[int(row["cascade_id"])] = int(row["entry_ns"])
        assert abs(row["entry_price"] - orders[int(row["cascade_id"])][2]) < tick / 2, (row["entry_price"], orders[int(row["cascade_id"])])
    for sid in range(lanes):
        if st[sid]["status"] == sim.OPEN:
            out[int(st[sid]["cascade_id"])] = int(st[sid]["entry_ns"])
    return out


def compare(hours=6.0, every_s=20.0, symbol="ETHUSDT", latency_ms=50.0, timeout_s=15.0,
            models=("risk-averse", "prob:2")):
    """{model: (n orders, agreements, [(order, kind, liqcore, hftbacktest)] of the differences)}."""
    ev, tick = book_stream(hours, symbol)
    hev = to_hftbacktest(ev, tick)
    orders = orders_for(ev, tick, every_s)
    lat, tmo = int(latency_ms * 1e6), int(timeout_s * 1e9)
    res = {}
    for model in models:
        a = run_liqcore(ev, orders, tick, lat, tmo, model)
        b = run_hftbacktest(hev, orders, tick, lat, tmo, model)
        diff = [(j, orders[j][3], x, y) for j, (x, y) in enumerate(zip(a, b)) if (x is None) != (y is None)]
        res[model] = (len(orders), len(orders) - len(diff), diff, a, b)
    return res, orders, ev


def explain(ev, orders, j, x, y, latency_ns) -> str:
    """Why order ``j`` filled on one side only (``x`` liqcore's fill time, ``y`` hftbacktest's)."""
    t, side, px, _k = orders[j]
    arrive = t + latency_ns
    ts = ev["ts_recv"]
    qside = 3 if side > 0 else 4
    when = y if y is not None else x
    seg = ev[(ts >= arrive) & (ts <= when)]
    seen = seg[(seg["kind"] == 7) & (seg["side"] == qside) & (np.abs(seg["price"] - px) < 1e-9)]
    before = ev[(ts < arrive) & (ev["kind"] == 7) & (ev["side"] == qside)]
    at_arrival = float(before["price"][-1]) if len(before) else float("nan")
    fill = seg[(seg["kind"] == 2) & (ts[(ts >= arrive) & (ts <= when)] == when)]
    at_px = len(fill) and bool(np.any(np.abs(fill["price"] - px) < 1e-9))
    behind = (px < at_arrival) if side > 0 else (px > at_arrival)
    if y is not None and behind and len(seen) and at_px:
        return ("unseen level: behind the best at arrival; hftbacktest reads its size then as 0 (a top-of-book "
                "feed shows nothing there) and puts the order first when the level appears with "
                f"{float(seen['qty'][0]):g} shown; liqcore counts that size as ahead, so the print at the price "
                "does not reach it")
    return f"unexplained (behind at arrival {behind}, level seen {len(seen)}, fill print at the price {at_px})"


def compare_report(hours=6.0, every_s=20.0, symbol="ETHUSDT", latency_ms=50.0, timeout_s=15.0) -> dict:
    import time

    t = time.perf_counter()
    res, orders, ev = compare(hours, every_s, symbol, latency_ms, timeout_s)
    print(f"hftbacktest comparison: {symbol}, {hours:g} h of the synthetic book market ({len(ev):,} events), "
          f"{len(orders)} post-only orders (every {every_s:g} s), order latency {latency_ms:g} ms, "
          f"cancel after {timeout_s:g} s; {time.perf_counter() - t:.1f} s")
    for model, (n, agree, diff, a, b) in res.items():
        fa = sum(x is not None for x in a)
        fb = sum(y is not None for y in b)
        same_t = sum(1 for x, y in zip(a, b) if x is not None and x == y)
        print(f"  {model:12s}: fill/no-fill identical on {agree}/{n} orders = {100.0 * agree / n:.2f} %; "
              f"fills liqcore {fa}, hftbacktest {fb}; same fill time on {same_t} of the orders both filled")
        kinds = {}
        for j, (_t, _s, _p, kind) in enumerate(orders):
            kinds.setdefault(kind, []).append(j)
        for kind, js in kinds.items():
            same = sum(1 for j in js if (a[j] is None) == (b[j] is None))
            print(f"    orders {kind}: {same}/{len(js)} identical ({100.0 * same / len(js):.2f} %)")
        by = {}
        for j, kind, x, y in diff:
            why = explain(ev, orders, j, x, y, int(latency_ms * 1e6))
            by.setdefault(("liqcore only" if x is not None else "hftbacktest only", why), []).append(j)
        for (who, why), js in sorted(by.items()):
            print(f"    {who}: {len(js)} order(s) {js[:10]}{' ...' if len(js) > 10 else ''}: {why}")
    return res


def at_limit_share(ev, orders, fills, tick) -> tuple[int, int]:
    """(fills whose print was AT the order's price, fills): ``fills`` per order (ns or None)."""
    tr = ev[ev["kind"] == 2]
    at = n = 0
    for (_t, _side, px, _k), x in zip(orders, fills):
        if x is None:
            continue
        n += 1
        p = tr["price"][np.searchsorted(tr["ts_recv"], x)]
        at += int(round(p / tick) == round(px / tick))
    return at, n


def agreement(ev, orders, a, b, kind=None, only=None) -> tuple[int, int, int]:
    """(orders of ``kind`` (all: None; ``only``: a set of order indices, further), fill/no-fill
    identical, the same outcome: both unfilled, or both filled at the same event).  Every event of
    :func:`queue_stream` has its own time, so a fill time names its event.  The same outcome is the
    metric the bench and the test gate on; fill / no-fill alone is reported beside it, with its own
    negative control (it separates a queue model from none far less)."""
    ts = ev["ts_recv"]
    js = [j for j, o in enumerate(orders) if (kind is None or o[3] == kind) and (only is None or j in only)]
    same = sum(1 for j in js if (a[j] is None) == (b[j] is None))
    exact = sum(1 for j in js if (a[j] is None and b[j] is None) or (
        a[j] is not None and b[j] is not None
        and int(np.searchsorted(ts, a[j])) == int(np.searchsorted(ts, b[j]))))
    return len(js), same, exact


def churned(orders, hidden, tick, latency_ns, timeout_ns, fills) -> set:
    """The orders whose level changed unseen (a ``hidden`` change at its price and side) while they
    rested: between their arrival and their fill (``fills``: hftbacktest's, ns or None) or cancel."""
    by = {}
    for t, side, k, _q in hidden:
        by.setdefault((side, k), []).append(t)
    out = set()
    for j, (t, side, px, _k) in enumerate(orders):
        ts = by.get((3 if side > 0 else 4, round(px / tick)), ())
        lo, hi = t + latency_ns, fills[j] if fills[j] is not None else t + timeout_ns + latency_ns
        if any(lo <= x <= hi for x in ts):
            out.add(j)
    return out


def queue_compare(n_events=40_000, seed=1, every_s=15.0, latency_ms=50.0, timeout_s=30.0,
                  models=("risk-averse", "prob:2"), runs=("seen", "empty", "seen/empty-hbt", "no queue"),
                  churn: float = 0.0) -> dict:
    """liqcore against hftbacktest on :func:`queue_stream`, every model, orders at the best and 1-3 ticks
    behind (in turn, alternating buy / sell).  Per model:

    * ``seen``: liqcore's default rule for a level behind the best against hftbacktest given the book at
      the start (a depth snapshot; the stream keeps levels behind the best unchanged, as the rule assumes);
    * ``empty``: liqcore ``queue-unseen empty`` against hftbacktest on top of book only (no snapshot: its
      depth holds 0 at a level never shown, the size last shown at one shown before);
    * ``seen/empty-hbt``: the default rule against hftbacktest without the snapshot (the rules differ);
    * ``no queue``: the negative control, liqcore with the displayed sizes x 1e9 (its queue is never
      reached: only prints through the limit fill), against hftbacktest with the snapshot.

    Fill times are compared as event times: every event of the stream has its own time, so equal
    times are the same event.  ``runs``: which of these to make.  ``churn`` (:func:`queue_stream`):
    levels behind the best cancelled and refilled unseen by top of book; hftbacktest's depth (the
    snapshot runs) gets those changes, liqcore does not.  The result's ``hidden`` lists them."""
    hidden = []
    ev, tick, start = queue_stream(n_events, seed, churn=churn, hidden_out=hidden)
    hev_snap = to_hftbacktest(ev, tick, start, hidden)
    hev_top = to_hftbacktest(ev, tick)
    orders = orders_for(ev, tick, every_s, depth=4)
    lat, tmo = int(latency_ms * 1e6), int(timeout_s * 1e9)
    out = {"orders": orders, "ev": ev, "tick": tick, "models": {}, "hidden": hidden, "latency_ns": lat,
           "timeout_ns": tmo}
    for model in models:
        memo = {}

        def hb(snap):
            if snap not in memo:
                memo[snap] = run_hftbacktest(hev_snap if snap else hev_top, orders, tick, lat, tmo, model)
            return memo[snap]

        def lq(**kw):
            key = tuple(sorted(kw.items()))
            if key not in memo:
                memo[key] = run_liqcore(ev, orders, tick, lat, tmo, model, **kw)
            return memo[key]

        make = {"seen": lambda: (lq(), hb(True)), "empty": lambda: (lq(unseen="empty"), hb(False)),
                "seen/empty-hbt": lambda: (lq(), hb(False)), "no queue": lambda: (lq(qty_scale=1e9), hb(True))}
        out["models"][model] = {name: make[name]() for name in runs}
    return out


def conservative(a, b) -> tuple[int, int]:
    """(orders liqcore fills where hftbacktest does not or at an earlier event, orders it fills later or
    not at all where hftbacktest fills): ``a`` liqcore's fill times, ``b`` hftbacktest's."""
    early = sum(1 for x, y in zip(a, b) if x is not None and (y is None or x < y))
    late = sum(1 for x, y in zip(a, b) if y is not None and (x is None or y < x))
    return early, late


def queue_report(n_events=40_000, seed=1, every_s=15.0, latency_ms=50.0, timeout_s=30.0, churn: float = 0.0,
                 runs=("seen", "empty", "seen/empty-hbt", "no queue")) -> dict:
    """:func:`queue_compare`, printed: per model the headline first (the same outcome, the metric the
    bench gates on, with the negative control's figure on the same metric), then fill / no-fill alone
    with its own control, then each run by order kind.  ``churn`` > 0: also the orders whose level
    changed unseen while they rested, apart.  Returns its result."""
    import time

    t = time.perf_counter()
    res = queue_compare(n_events, seed, every_s, latency_ms, timeout_s, runs=runs, churn=churn)
    orders, ev, tick = res["orders"], res["ev"], res["tick"]
    span = (int(ev["ts_recv"][-1]) - int(ev["ts_recv"][0])) / 3600e9
    what = (f"levels behind the best cancelled and refilled unseen ({len(res['hidden']):,} changes, churn {churn:g})"
            if churn else "levels behind the best unchanged")
    print(f"queue-decides stream (seed {seed}, {what}): {len(ev):,} events over {span:.1f} h, {len(orders)} post-only "
          f"orders (every {every_s:g} s, at the best and 1-3 ticks behind), order latency {latency_ms:g} ms, cancel "
          f"after {timeout_s:g} s; {time.perf_counter() - t:.1f} s")

    def pct(x, n):
        return f"{x}/{n} = {100.0 * x / max(n, 1):.2f} %"

    for model, got in res["models"].items():
        lq, hb = got["seen"]
        at, nf = at_limit_share(ev, orders, hb, tick)
        print(f"  {model}: hftbacktest fills {nf} orders, {at} of them ({100.0 * at / max(nf, 1):.1f} %) on a print AT "
              "the limit price (not through)")
        n, same, exact = agreement(ev, orders, lq, hb)
        line = f"    HEADLINE same outcome (both unfilled, or both filled at the same event): {pct(exact, n)}"
        if "no queue" in got:
            cn, csame, cexact = agreement(ev, orders, *got["no queue"])
            line += f"; negative control (liqcore's sizes x1e9) {pct(cexact, cn)}"
            line += f"\n    fill / no-fill alone: {pct(same, n)}; negative control {pct(csame, cn)}"
        print(line)
        early, late = conservative(lq, hb)
        print(f"    liqcore fills earlier than hftbacktest (or where it does not) on {early} orders, later (or not at "
              f"all) on {late}")
        if churn:
            ch = churned(orders, res["hidden"], tick, res["latency_ns"], res["timeout_ns"], hb)
            rest = set(range(len(orders))) - ch
            cn, _cs, ce = agreement(ev, orders, lq, hb, only=ch)
            rn, _rs, re_ = agreement(ev, orders, lq, hb, only=rest)
            print(f"    orders whose level changed unseen while they rested: same outcome {pct(ce, cn)}; the other "
                  f"orders: {pct(re_, rn)}")
        for name, (a, b) in got.items():
            n, same, exact = agreement(ev, orders, a, b)
            parts = []
            for kind in KINDS:
                kn, ks, ke = agreement(ev, orders, a, b, kind)
                parts.append(f"{kind} {100.0 * ke / max(kn, 1):.1f} % ({100.0 * ks / max(kn, 1):.1f} %)")
            print(f"    {name:15s}: same outcome {pct(exact, n)} (fill / no-fill {100.0 * same / n:.2f} %); by order, "
                  "same outcome (fill / no-fill): " + ", ".join(parts))
    return res

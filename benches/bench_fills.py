"""Fill-rule benchmarks, one run.

(a) Speed: the execution model (the guide's strategy, ``run_sim``, warm) on the default synthetic
    market WITH its top of book (30 days x 5 symbols, seed 7, ``effects={"book": True}``) under
    ``--fill through`` (baseline), ``touch``, ``queue`` (risk-averse) and ``queue`` with ``prob:2``,
    every rule with its maker limits on the symbols' price grids (``--price-grid auto``):
    wall medians, the queue/through ratio (bar <= 2x) and events/s (bar >= 50 M events/s, every row
    of the array counted, quotes included); and ``through`` on the same market without its book.
(b) Agreement with hftbacktest where the queue decides (``--compare``; hftbacktest is in the ``test`` and
    ``bench`` extras): the generated stream of ``benches/hbt_compare.queue_stream`` (one symbol, one-tick
    spread, prints at the best eating its queue, displayed size changing without prints: >= 90 % of the
    fills on a print AT the limit), ``--events`` rows; post-only orders every ``--every-queue`` seconds at
    the best and 1-3 ticks behind it; hftbacktest ``RiskAdverseQueueModel`` / ``PowerProbQueueModel(2)``
    against liqcore ``--fill queue`` (``queue-unseen seen`` and ``empty``), fill / no-fill and the fill's
    event compared order by order.  The metric gated on and reported first: the same outcome (both
    unfilled, or both filled at the same event); the real models must reach 99 % on it and the negative
    control (liqcore's displayed sizes x1e9: no queue can be reached) fall below 90 % on it, else the
    bench exits 1.  Fill / no-fill alone is printed beside it with its own control (it separates less).
    Then a second stream (``--churn``, default 0.1 of the events; 0: skipped) where levels behind the
    best are cancelled and refilled while orders rest there, unseen by top of book (hftbacktest's depth
    gets the changes): the bench exits 1 unless every difference is liqcore filling later (never earlier
    or where hftbacktest does not) and the orders whose level did not change agree on >= 99 %.
(c) The same against the synthetic market (``--compare-synthetic``; most fills there come THROUGH the
    limit, so it cannot tell a queue model from none): a stream of top of
    book + trades (the first ``--hours`` of one symbol of the book market) converted to hftbacktest's
    event format; the same post-only orders (one every ``--every`` seconds, alternating buy / sell,
    at the best bid / ask or one tick better / worse) run through its ``NoPartialFillExchange`` with
    ``RiskAdverseQueueModel`` and ``PowerProbQueueModel(2)`` and a constant order latency, and
    through liqcore's kernel with ``--fill queue``; fill / no-fill compared order by order.

    python benches/bench_fills.py [--days 30] [--repeat 5] [--compare] [--events 40000] [--churn 0.1]
                                  [--compare-synthetic]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def run_once(sim, ev, cols, par, n_sym, end_ns):
    st = sim.new_state(n_sym)
    port = sim.new_port(1.0, 0.01, 0.02, 4, 0.25)
    ledger = np.zeros(len(cols[0]) + 1, dtype=sim.LEDGER_DTYPE)
    counts = np.zeros((n_sym, sim.N_COUNTS), dtype=np.int64)
    t = time.perf_counter()
    sim.run_sim(ev, *cols, st, port, par, ledger, counts, end_ns)
    return time.perf_counter() - t, int(port[0]["n_trades"]), int(counts[:, sim.C_FILLS].sum()), \
        int(counts[:, sim.C_ORDERS].sum()), float(port[0]["equity"])


def speed(args) -> None:
    from liqcore._jit import sim
    from liqcore.backtest.run import _confirmed, detect, prepare_events, symbol_params
    from liqcore.synthetic.market import synthetic_market
    from liqcore.config import Params
    from liqcore.execution.events import apply_price_grid

    base = Params()
    res = {}
    for label, book in (("no book", False), ("book", True)):
        m = synthetic_market(days=args.days, effects={"book": book} if book else None)
        ev = prepare_events(m.events)
        rec = _confirmed(detect(ev, base)[0])
        n_sym = len(m.registry)
        cols = [np.ascontiguousarray(rec[k], dtype=np.int64)
                for k in ("confirm_recv_ns", "event_index", "symbol_id", "dominant", "cascade_id")]
        end_ns = int(ev["ts_recv"][-1])
        n_q = int(np.count_nonzero(ev["kind"] == 7))
        print(f"market ({label}): {args.days:g} days x {n_sym} symbols, {len(ev):,} events "
              f"({n_q:,} quote rows, {int(np.count_nonzero(ev['kind'] == 2)):,} trade prints), {len(rec)} cascades")
        rules = (("through", "risk-averse"),) if not book else (
            ("through", "risk-averse"), ("touch", "risk-averse"), ("queue", "risk-averse"), ("queue", "prob:2"))
        pars = {}
        for fill, qm in rules:
            p = Params(fill=fill, queue_model=qm, price_grid="auto")
            par = symbol_params(p, m.registry, n_sym)
            apply_price_grid(par, p, ev)  # maker limits on each symbol's tick grid, for every rule
            pars[(fill, qm)] = par
            run_once(sim, ev, cols, par, n_sym, end_ns)  # dispatch / compile
        times = {r: [] for r in rules}
        cpus = {r: [] for r in rules}
        out = {}
        for _ in range(args.repeat):  # interleaved: every rule sees the same load
            for r in rules:
                c = time.thread_time()
                dt, *out[r] = run_once(sim, ev, cols, pars[r], n_sym, end_ns)
                cpus[r].append(time.thread_time() - c)
                times[r].append(dt)
        for r in rules:
            fill, qm = r
            med, cpu = statistics.median(times[r]), statistics.median(cpus[r])
            trades, fills, orders, eq = out[r]
            name = fill if fill != "queue" else f"queue ({qm})"
            res[(label, name)] = cpu
            print(f"  {name:22s}: wall median {med * 1e3:7.1f} ms (best {min(times[r]) * 1e3:.1f}), CPU median "
                  f"{cpu * 1e3:7.1f} ms over {args.repeat} = {len(ev) / cpu / 1e6:6.1f} M events/s per CPU-second "
                  f"({len(ev) / med / 1e6:.1f} wall); {orders} orders, {fills} fills "
                  f"({100.0 * fills / max(orders, 1):.1f} %), {trades} trades, equity {eq:.4f}")
    thr = res[("book", "through")]
    for name in ("queue (risk-averse)", "queue (prob:2)", "touch"):
        print(f"CPU ratio {name} / through (same market, same run): {res[('book', name)] / thr:.2f}x (bar <= 2x)")
    print(f"through: book market / market without book (CPU): {thr / res[('no book', 'through')]:.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=float, default=30)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--compare", action="store_true", help="also run the hftbacktest comparison")
    ap.add_argument("--only-compare", action="store_true")
    ap.add_argument("--events", type=int, default=40_000, help="rows of the queue-decides stream")
    ap.add_argument("--every-queue", type=float, default=15.0, help="seconds between orders on that stream")
    ap.add_argument("--churn", type=float, default=0.1,
                    help="share of events changing a level behind the best on the second stream (0: no second stream)")
    ap.add_argument("--compare-synthetic", action="store_true", help="also the comparison on the synthetic market")
    ap.add_argument("--hours", type=float, default=6.0)
    ap.add_argument("--every", type=float, default=20.0, help="seconds between orders in the comparison")
    ap.add_argument("--symbol", default="ETHUSDT")
    args = ap.parse_args()
    if not args.only_compare:
        speed(args)
    if args.compare or args.only_compare:
        from benches.hbt_compare import agreement, churned, conservative, queue_report

        res = queue_report(n_events=args.events, every_s=args.every_queue)
        bad = []
        for model, runs in res["models"].items():
            n, _same, exact = agreement(res["ev"], res["orders"], *runs["seen"])
            if exact < 0.99 * n:
                bad.append(f"{model}: same outcome on {100.0 * exact / n:.2f} % < 99 %")
            n, _same, exact = agreement(res["ev"], res["orders"], *runs["no queue"])
            if exact >= 0.9 * n:
                bad.append(f"{model}: the negative control has the same outcome on {100.0 * exact / n:.2f} % >= 90 %: "
                           "the stream cannot tell a queue model from none")
        if args.churn > 0:
            res = queue_report(n_events=args.events, every_s=args.every_queue, churn=args.churn,
                               runs=("seen", "no queue"))
            for model, runs in res["models"].items():
                lq, hb = runs["seen"]
                early, _late = conservative(lq, hb)
                if early:
                    bad.append(f"{model}, churn: liqcore fills {early} orders earlier than hftbacktest")
                rest = set(range(len(res["orders"]))) - churned(res["orders"], res["hidden"], res["tick"],
                                                                 res["latency_ns"], res["timeout_ns"], hb)
                n, _same, exact = agreement(res["ev"], res["orders"], lq, hb, only=rest)
                if exact < 0.99 * n:
                    bad.append(f"{model}, churn: orders whose level did not change agree on {100.0 * exact / n:.2f} %")
        if bad:
            print("bench failed: " + "; ".join(bad), file=sys.stderr)
            sys.exit(1)
    if args.compare_synthetic:
        from benches.hbt_compare import compare_report

        compare_report(hours=args.hours, every_s=args.every, symbol=args.symbol)


if __name__ == "__main__":
    main()

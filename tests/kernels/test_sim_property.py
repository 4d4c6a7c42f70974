"""Property tests: the Numba tick simulator (the guide's path, run_sim) against the pysrc twin of the execution model, and the strategy invariants."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as hs

from pysrc import execmodel as twin
from simdata import DAY, MS, S, assert_matches_twin, param_array, param_rows, random_market, run_kernel

from liqcore.types import Kind

pytestmark = pytest.mark.property

params_strategy = hs.fixed_dictionaries({
    "offset": hs.sampled_from([0.0, 0.0005, 0.001, 0.0015, 0.003]),
    "take_profit": hs.sampled_from([0.0, 0.0005, 0.0015, 0.005]),
    "stop_loss": hs.sampled_from([0.0, 0.0005, 0.0025]),
    "entry_timeout_ns": hs.sampled_from([0, 30 * MS, 2 * S, 600 * S, 1800 * S]),
    "hold_timeout_ns": hs.sampled_from([1, 5 * S, 900 * S, 1800 * S]),
    "cooldown_ns": hs.sampled_from([0, 60 * S, 300 * S]),
    "max_ref_age_ns": hs.sampled_from([0, 1 * S, 5 * S, 600 * S]),
    "order_latency_ns": hs.sampled_from([0, 1 * MS, 50 * MS, 2 * S]),
    "touch": hs.sampled_from([0, 1]),
    "hours": hs.sampled_from([(-1, -1), (13, 18), (22, 3), (0, 12)]),
    "maker_fee": hs.sampled_from([0.0, 2e-4, -1e-4]),
    "taker_fee": hs.sampled_from([5.5e-4, 0.0]),
})
risk_strategy = hs.fixed_dictionaries({
    "daily_loss": hs.sampled_from([0.0, 0.0002, 0.001, 0.01]),
    "weekly_loss": hs.sampled_from([0.0, 0.0005, 0.02]),
    "max_symbols": hs.sampled_from([1, 2, 4]),
    "size": hs.sampled_from([0.25, 1.0, 3.0]),
})


def _rows(p, n):
    p = dict(p)
    a, b = p.pop("hours")
    return param_rows(n, hours_from=a, hours_to=b, **p)


def _run_both(seed, p, risk, n_sym=3, n_events=500):
    ev, rec = random_market(seed, n_events=n_events, n_symbols=n_sym)
    rows = _rows(p, n_sym)
    ledger, counts, port, st = run_kernel(ev, rec, rows, **risk)
    ref = twin.simulate_records(ev, rec, rows, equity=1.0, end_ns=int(ev["ts_recv"][-1]), **risk)
    return ev, rec, rows, ledger, counts, port, st, ref


@given(seed=hs.integers(0, 2**32 - 1), p=params_strategy, risk=risk_strategy, n_sym=hs.integers(1, 4))
def test_kernel_matches_twin(seed, p, risk, n_sym):
    ev, rec, rows, ledger, counts, port, st, ref = _run_both(seed, p, risk, n_sym)
    assert len(ledger) == len(ref.ledger)
    for got, want in zip(ledger, ref.ledger):
        for name, value in want.items():
            assert got[name] == value or (value != value and got[name] != got[name]), (name, got[name], value)
    for sid in range(n_sym):
        assert dict(zip(twin.COUNT_NAMES, counts[sid].tolist())) == ref.counts[sid]
    assert port[0]["equity"] == ref.equity
    assert [int(s) for s in st["status"]] == [s.status for s in ref.states]


@given(seed=hs.integers(0, 2**32 - 1), p=params_strategy, risk=risk_strategy)
def test_invariants(seed, p, risk):
    n_sym = 3
    ev, rec, rows, ledger, counts, port, st, _ = _run_both(seed, p, risk, n_sym)
    touch = p["touch"] == 1
    trades = ev[ev["kind"] == Kind.TRADE]
    tot = counts.sum(axis=0)
    c = dict(zip(twin.COUNT_NAMES, tot.tolist()))
    # decision bookkeeping adds up
    assert c["cascades"] == c["signals"] + c["busy"] + c["cooldown"] + c["mixed"]
    open_end = int((st["status"] == 3).sum())
    working_end = int(((st["status"] == 1) | (st["status"] == 2)).sum())
    assert c["signals"] == c["orders"] + c["hours"] + c["loss_limit"] + c["max_symbols"] + c["no_reference_price"]
    assert c["orders"] == c["rejected"] + c["fills"] + c["unfilled"] + working_end
    assert c["fills"] == c["take_profit"] + c["stop_loss"] + c["timeout"] + open_end
    assert len(ledger) == c["take_profit"] + c["stop_loss"] + c["timeout"]
    for t in ledger:
        sid, side = int(t["symbol_id"]), int(t["side"])
        # no fill without a print through the limit (or at it with touch), at the entry time
        at = trades[(trades["symbol_id"] == sid) & (trades["ts_recv"] == t["entry_ns"])]["price"]
        if side > 0:
            ok = (at < t["entry_price"]) | (touch & (at == t["entry_price"]))
        else:
            ok = (at > t["entry_price"]) | (touch & (at == t["entry_price"]))
        assert ok.any()
        assert t["entry_ns"] >= t["arrive_ns"] >= t["signal_ns"]
        assert t["entry_ns"] < t["signal_ns"] + rows[sid]["entry_timeout_ns"]
        # return definition
        exit_fee = rows[sid]["maker_fee"] if t["exit_reason"] == 1 else rows[sid]["taker_fee"]
        assert t["fees"] == rows[sid]["maker_fee"] + exit_fee * t["exit_price"] / t["entry_price"]  # each on its own notional
        want = side * (t["exit_price"] - t["entry_price"]) / t["entry_price"] - t["fees"] - t["funding"]
        assert t["ret"] == want
        at_exit = trades[(trades["symbol_id"] == sid) & (trades["ts_recv"] == t["exit_ns"])]["price"]
        beyond_stop = (at_exit <= t["sl_price"]) if side > 0 else (at_exit >= t["sl_price"])
        if t["exit_reason"] == 1:  # take-profit: at the TP price, on a print through it and not at the stop
            assert t["exit_price"] == t["tp_price"]
            through = (at_exit > t["tp_price"]) if side > 0 else (at_exit < t["tp_price"])
            through |= touch & (at_exit == t["tp_price"])
            assert (through & ~beyond_stop).any()
            assert t["exit_ns"] < t["entry_ns"] + rows[sid]["hold_timeout_ns"]
        elif t["exit_reason"] == 2:  # stop: at a print at or beyond the stop, at that print's price
            assert t["exit_price"] in at_exit[beyond_stop]
            assert t["exit_ns"] < t["entry_ns"] + rows[sid]["hold_timeout_ns"]
        else:  # timeout: the first print at or after the hold deadline
            assert t["exit_reason"] == 3
            assert t["exit_ns"] >= t["entry_ns"] + rows[sid]["hold_timeout_ns"]
            assert t["exit_price"] in at_exit
        assert t["exit_ns"] >= t["entry_ns"]
    # one position per symbol, cooldown from the close
    for sid in range(n_sym):
        mine = ledger[ledger["symbol_id"] == sid]
        for a, b in zip(mine[:-1], mine[1:]):
            assert b["signal_ns"] >= a["exit_ns"] + rows[sid]["cooldown_ns"]
    # max-symbols: [signal, exit) intervals never overlap more than max_symbols times
    pts = sorted([(int(t["signal_ns"]), 1) for t in ledger] + [(int(t["exit_ns"]), -1) for t in ledger],
                 key=lambda x: (x[0], x[1]))
    level = 0
    for _, d in pts:
        level += d
        assert level <= risk["max_symbols"]
    # accounting identity
    total = float(np.sum(ledger["notional"] * ledger["ret"])) if len(ledger) else 0.0
    assert abs((port[0]["equity"] - 1.0) - total) <= 1e-12 * max(1.0, abs(port[0]["equity"]))
    # loss limits: no order placed after the realised loss of the day / week crossed its limit
    for t in ledger:
        s = int(t["signal_ns"])
        if np.any(ledger["exit_ns"] == s):
            continue
        before = ledger[ledger["exit_ns"] < s]
        eq = float(before["equity_after"][-1]) if len(before) else 1.0
        day0 = (s // DAY) * DAY
        pre_day = ledger[ledger["exit_ns"] < day0]
        day_eq = float(pre_day["equity_after"][-1]) if len(pre_day) else 1.0
        if risk["daily_loss"] > 0:
            assert not (eq - day_eq <= -risk["daily_loss"] * day_eq)
        week0 = (((s // DAY) + 3) // 7 * 7 - 3) * DAY
        pre_week = ledger[ledger["exit_ns"] < week0]
        week_eq = float(pre_week["equity_after"][-1]) if len(pre_week) else 1.0
        if risk["weekly_loss"] > 0:
            assert not (eq - week_eq <= -risk["weekly_loss"] * week_eq)


def test_kernel_matches_twin_on_a_synthetic_market_with_detected_cascades(tmp_path):
    """Reference check on realistic data: the synthetic market, the compiled detector's records, the
    guide's parameters with per-symbol presets (BTC)."""
    from liqcore.backtest.run import _confirmed, detect, prepare_events, symbol_params
    from liqcore.synthetic.market import synthetic_market
    from liqcore.config import Params

    m = synthetic_market(days=1, symbols=("ETHUSDT", "BTCUSDT"), seed=5, cache_dir=tmp_path)
    ev = prepare_events(m.events)
    params = Params.from_mapping({"min-history": 30})
    rec = _confirmed(detect(ev, params)[0])
    par = symbol_params(params, m.registry, len(m.registry), equity=1.0)  # (the run below is in units of equity)
    rows = [{k: par[i][k].item() for k in par.dtype.names} for i in range(len(par))]
    ledger, counts, port, _ = run_kernel(ev, rec, rows, equity=1.0)
    ref = twin.simulate_records(ev, rec, rows, equity=1.0, end_ns=int(ev["ts_recv"][-1]))
    assert len(rec) > 3 and len(ledger) > 0
    assert len(ledger) == len(ref.ledger)
    for got, want in zip(ledger, ref.ledger):
        for name, value in want.items():
            assert got[name] == value or (value != value and got[name] != got[name]), name
    for sid in range(len(rows)):
        assert dict(zip(twin.COUNT_NAMES, counts[sid].tolist())) == ref.counts[sid]
    assert port[0]["equity"] == ref.equity


def _with_quotes(ev, rec, rng):
    """``ev`` with top-of-book pairs (kind QUOTE: bid row, ask row, the times of the event before them)
    after a random third of its events, priced far off every trade (50x above, 50x below) with huge
    sizes; ``rec`` with its ``event_index`` moved to the new positions."""
    from liqcore.types import EVENT_DTYPE, Side

    rows, where = [], np.empty(len(ev), dtype=np.int64)
    for i, e in enumerate(ev):
        where[i] = len(rows)
        rows.append(e)
        if rng.random() < 0.33:
            for side, f in ((Side.BUY, 50.0), (Side.SELL, 1 / 50.0)):
                q = np.zeros(1, dtype=EVENT_DTYPE)[0]
                q["ts_event"], q["ts_recv"], q["symbol_id"], q["venue"] = e["ts_event"], e["ts_recv"], e["symbol_id"], e["venue"]
                q["kind"], q["side"], q["price"], q["qty"] = int(Kind.QUOTE), int(side), float(e["price"]) * f, 1e9
                rows.append(q)
    out = np.array(rows, dtype=EVENT_DTYPE)
    rec2 = rec.copy()
    rec2["event_index"] = where[rec["event_index"]]
    return out, rec2


@given(seed=hs.integers(0, 2**32 - 1), p=params_strategy, risk=risk_strategy, n_sym=hs.integers(1, 3))
def test_quote_rows_are_no_trade_prints(seed, p, risk, n_sym):
    """Top-of-book rows mixed into the stream change no fill, exit, count or equity, in the kernel and
    the twin alike (the fill model reads trade prints only)."""
    ev, rec = random_market(seed, n_events=300, n_symbols=n_sym)
    rows, end = _rows(p, n_sym), int(ev["ts_recv"][-1])
    ev2, rec2 = _with_quotes(ev, rec, np.random.default_rng(seed))
    assert (ev2["kind"] == Kind.QUOTE).sum() > 0 or len(ev) < 3
    ledger, counts, port, st = run_kernel(ev, rec, rows, end_ns=end, **risk)
    ledger2, counts2, port2, st2 = run_kernel(ev2, rec2, rows, end_ns=end, **risk)
    assert ledger.tobytes() == ledger2.tobytes()
    assert counts.tolist() == counts2.tolist() and port.tolist() == port2.tolist()
    ref = twin.simulate_records(ev, rec, rows, equity=1.0, end_ns=end, **risk)
    ref2 = twin.simulate_records(ev2, rec2, rows, equity=1.0, end_ns=end, **risk)
    assert ref.ledger == ref2.ledger and ref.counts == ref2.counts and ref.equity == ref2.equity


@given(seed=hs.integers(0, 2**32 - 1), ps=hs.lists(params_strategy, min_size=1, max_size=4), risk=risk_strategy,
       n_sym=hs.integers(1, 3), parts=hs.sampled_from([1, 2, 4, 16, 60]))
def test_cells_kernel_matches_twin(seed, ps, risk, n_sym, parts):
    """``run_cells``: several cells (their own parameters, stacked states) over the same rows and records, given in
    ``parts`` calls, each cell as the twin's ``simulate_records`` of it alone (``simulate_cells``).  Many short parts:
    many calls with no record whose rows are all quiet for an open or resting cell (the kernel then sets the rows'
    last print and quotes instead of passing it each row)."""
    from liqcore._jit import sim

    ev, rec = random_market(seed, n_events=400, n_symbols=n_sym)
    rec = rec[np.lexsort((rec["event_index"], rec["confirm_recv_ns"]))]
    cells = [_rows(p, n_sym) for p in ps]
    k = len(cells)
    st = np.stack([sim.new_state(n_sym) for _ in cells])
    port = np.stack([sim.new_port(1.0, risk["daily_loss"], risk["weekly_loss"], risk["max_symbols"], risk["size"])
                     for _ in cells])
    par = np.stack([param_array(rows) for rows in cells])
    ledger = np.zeros((k, len(rec) + 1), dtype=sim.LEDGER_DTYPE)
    counts = np.zeros((k, n_sym, sim.N_COUNTS), dtype=np.int64)
    # each cell alone (run_sim), the same parts: every array equal after every part, not only at the end
    lone = [tuple(x.copy() for x in (st[c], port[c], par[c], ledger[c], counts[c])) for c in range(k)]
    end = int(ev["ts_recv"][-1])
    cuts = np.linspace(0, len(ev), parts + 1).astype(int)
    # (a record goes with the part holding its event: its print index then lies inside that part's rows)
    for j, (a, b) in enumerate(zip(cuts[:-1], cuts[1:])):
        r = rec[(rec["event_index"] >= a) & (rec["event_index"] < b)]
        cols = (r["confirm_recv_ns"], r["event_index"] - a, r["symbol_id"], r["dominant"], r["cascade_id"])
        clock = end if j == parts - 1 else sim.NO_CLOCK
        sim.run_cells(ev[a:b], *cols, st, port, par, ledger, counts, clock)
        for c, (s1, p1, a1, l1, n1) in enumerate(lone):
            sim.run_sim(ev[a:b], *(np.asarray(x, np.int64) for x in cols), s1, p1, a1, l1, n1, clock)
            assert st[c].tobytes() == s1.tobytes() and port[c].tobytes() == p1.tobytes(), (j, c)
            assert ledger[c].tobytes() == l1.tobytes() and counts[c].tobytes() == n1.tobytes(), (j, c)
    refs = twin.simulate_cells(ev, rec, cells, equity=1.0, end_ns=end, **risk)
    for c, ref in enumerate(refs):
        n = int(port[c][0]["n_trades"])
        assert_matches_twin(ledger[c][:n], counts[c], st[c], ref, n_sym)
        assert port[c][0]["equity"] == ref.equity


def _near_quotes(ev, rec, rng, tick):
    """``ev`` with a best bid and ask row after about half its trade prints, each a few ticks from the print (so a
    resting limit or a take-profit is sometimes reached by a quote, sometimes not); ``rec`` moved along."""
    from liqcore.types import EVENT_DTYPE, Side

    rows, where = [], np.empty(len(ev), dtype=np.int64)
    for i, e in enumerate(ev):
        where[i] = len(rows)
        rows.append(e)
        if int(e["kind"]) == int(Kind.TRADE) and rng.random() < 0.5:
            for side, sign in ((Side.BUY, -1), (Side.SELL, 1)):
                q = np.zeros(1, dtype=EVENT_DTYPE)[0]
                q["ts_event"], q["ts_recv"], q["symbol_id"], q["venue"] = e["ts_event"], e["ts_recv"], e["symbol_id"], e["venue"]
                q["kind"], q["side"] = int(Kind.QUOTE), int(side)
                q["price"] = float(e["price"]) + sign * tick * float(rng.integers(0, 4))
                q["qty"] = float(rng.uniform(0.5, 20.0))
                rows.append(q)
    rec2 = rec.copy()
    rec2["event_index"] = where[rec["event_index"]]
    return np.array(rows, dtype=EVENT_DTYPE), rec2


@given(seed=hs.integers(0, 2**32 - 1), n_cells=hs.integers(1, 4), n_sym=hs.integers(1, 2), queue=hs.sampled_from([0, 1]),
       every=hs.sampled_from([1, 2, 5, 20]))
def test_cells_kernel_equals_each_cell_on_quiet_rows(seed, n_cells, n_sym, queue, every):
    """``run_cells`` over rows handed a few at a time (most calls hold no record and rows quiet for a live cell: the
    kernel sets their last print and quotes instead of passing each row), with quotes a few ticks from the prints,
    funding rows and short deadlines: every array of every cell equal to ``run_sim`` on it alone after every call."""
    from liqcore._jit import sim

    rng = np.random.default_rng(seed)
    tick = 100.0 * 0.0005  # (random_market's tick at its first symbol's price)
    ev, rec = random_market(seed, n_events=240, n_symbols=n_sym, funding_share=0.1)
    ev, rec = _near_quotes(ev, rec, rng, tick)
    rec = rec[np.lexsort((rec["event_index"], rec["confirm_recv_ns"]))]
    cells = [param_rows(n_sym, offset=float(rng.choice([0.0, 0.0005, 0.001])),
                        take_profit=float(rng.choice([0.0005, 0.0015, 0.005])),
                        stop_loss=float(rng.choice([0.0005, 0.0025])),
                        entry_timeout_ns=int(rng.choice([2 * S, 60 * S, 1800 * S])),
                        hold_timeout_ns=int(rng.choice([1 * S, 5 * S, 600 * S])),
                        cooldown_ns=0, max_ref_age_ns=600 * S, queue=queue, grid=1.0 / 0.0005 / 100.0)
             for _ in range(n_cells)]
    st = np.stack([sim.new_state(n_sym) for _ in cells])
    port = np.stack([sim.new_port(1.0, 0.0, 0.0, n_sym, 0.25) for _ in cells])
    par = np.stack([param_array(rows) for rows in cells])
    ledger = np.zeros((n_cells, len(rec) + 1), dtype=sim.LEDGER_DTYPE)
    counts = np.zeros((n_cells, n_sym, sim.N_COUNTS), dtype=np.int64)
    lone = [tuple(x.copy() for x in (st[c], port[c], par[c], ledger[c], counts[c])) for c in range(n_cells)]
    end = int(ev["ts_recv"][-1])
    cuts = list(range(0, len(ev), every)) + [len(ev)]
    for j, (a, b) in enumerate(zip(cuts[:-1], cuts[1:])):
        r = rec[(rec["event_index"] >= a) & (rec["event_index"] < b)]
        cols = tuple(np.asarray(x, np.int64) for x in (r["confirm_recv_ns"], r["event_index"] - a, r["symbol_id"],
                                                       r["dominant"], r["cascade_id"]))
        clock = end if b == len(ev) else sim.NO_CLOCK
        sim.run_cells(ev[a:b], *cols, st, port, par, ledger, counts, clock)
        for c, (s1, p1, a1, l1, n1) in enumerate(lone):
            sim.run_sim(ev[a:b], *cols, s1, p1, a1, l1, n1, clock)
            assert st[c].tobytes() == s1.tobytes() and port[c].tobytes() == p1.tobytes(), (j, c)
            assert ledger[c].tobytes() == l1.tobytes() and counts[c].tobytes() == n1.tobytes(), (j, c)

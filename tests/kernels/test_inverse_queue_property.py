"""Property tests: the queue rule (``--fill queue``, ``--partial on``) counts an inverse symbol's queue in contracts.

The readers keep an inverse symbol's sizes (book levels, prints) in base units at each row's own price,
``contracts x contract size / price``; the fill model spells them back, ``qty x price / contract size``, so the queue
ahead, the order's own size and its partial fills are whole contracts.  The Numba kernel equals its pysrc twin on
random L2 markets of such sizes; on a queue of Q contracts ahead and prints of c_i contracts at the limit, an order of
N contracts fills ``min(N, sum(c) - Q)`` of them once ``sum(c) > Q`` (the whole order without ``--partial``), as a
linear symbol whose sizes are those contracts (lot 1) does; a linear symbol's sizes go through as they are."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as hs

from pysrc import execmodel as twin
from simdata import MS, S, assert_matches_twin, param_array, param_rows
from tests.kernels.test_queue_depth_property import TICK, T0, depth_market, signals_behind

from liqcore._jit import sim
from liqcore.strategies import NEVER, empty_signals, sort_signals
from liqcore.types import EVENT_DTYPE, Kind, Side

pytestmark = pytest.mark.property

SIZED = (Kind.DEPTH, Kind.QUOTE, Kind.TRADE)


def in_contracts(ev, cu):
    """``depth_market``'s sizes (0.3-12, tenths) as whole contracts x 10 in base units at each row's price."""
    ev = ev.copy()
    sized = np.isin(ev["kind"], [int(k) for k in SIZED]) & (ev["price"] > 0)
    ev["qty"][sized] = np.round(ev["qty"][sized] * 10.0) * cu / ev["price"][sized]
    return ev


def run(ev, sig, rows, n_sym, depth, notional):
    st = sim.new_state(n_sym)
    port = sim.new_port(1.0, 0.0, 0.0, n_sym, 0.1, notional=notional, leverage=0.0)
    ledger = np.zeros(len(sig) + 1, dtype=sim.LEDGER_DTYPE)
    counts = np.zeros((n_sym, sim.N_COUNTS), dtype=np.int64)
    end = int(ev["ts_recv"][-1])
    sim.run_exec(ev, sig, st, port, param_array(rows), ledger, counts, end, *(sim.new_depth(n_sym) if depth else ()))
    return ledger[: port[0]["n_trades"]], counts, st, end


@settings(deadline=None, max_examples=60)
@given(seed=hs.integers(0, 2**32 - 1), n_sym=hs.integers(1, 2), model=hs.sampled_from([0.0, 2.0]),
       latency=hs.sampled_from([0, 50 * MS]), depth=hs.booleans(), gaps=hs.booleans(), partial=hs.integers(0, 1),
       cu=hs.sampled_from([10.0, 100.0]), whole=hs.integers(0, 1), n_sig=hs.integers(1, 30))
def test_an_inverse_queue_in_contracts_kernel_matches_twin(seed, n_sym, model, latency, depth, gaps, partial, cu,
                                                           whole, n_sig):
    """Random L2 markets in contracts (base units at each row's price), orders of 3,000 USD: the kernel is its
    twin; under whole contracts every position, every partial fill and every queue ahead is whole contracts."""
    ev = in_contracts(depth_market(seed, 500, n_sym, quotes=True, gaps=gaps), cu)
    if not depth:
        ev = ev[ev["kind"] != Kind.DEPTH]
    sig = signals_behind(seed + 1, ev, n_sym, n_sig)
    rows = param_rows(n_sym, order_latency_ns=latency, offset=1e-4, take_profit=2e-4, stop_loss=1e-3,
                      hold_timeout_ns=30 * S, cooldown_ns=1 * S, max_ref_age_ns=60 * S, queue=1, queue_pow=model,
                      grid=1.0 / TICK, partial=partial, contract_usd=cu, whole_contracts=whole)
    for sid, r in enumerate(rows):
        r["margin_sid"] = sid
    ledger, counts, st, end = run(ev, sig, rows, n_sym, depth, 3_000.0)
    ref = twin.simulate(ev, sig, rows, equity=1.0, daily_loss=0.0, weekly_loss=0.0, max_symbols=n_sym, size=0.1,
                        notional=3_000.0, end_ns=end, depth=depth)
    assert_matches_twin(ledger, counts, st, ref, n_sym)
    for r in ledger:
        n = 3_000.0 / cu  # the order: 30 or 300 contracts
        assert 0.0 < r["contracts"] <= n * (1 + 1e-12) and 0.0 < r["filled"] <= 1.0
        assert r["contracts"] == pytest.approx(r["filled"] * n, rel=1e-9)
        if whole:
            assert r["contracts"] == round(r["contracts"])
            assert r["queue_ahead"] == -1.0 or r["queue_ahead"] == round(r["queue_ahead"])


def queue_market(q_ahead, prints, cu, price=100.0):
    """One symbol: the best bid ``price`` showing ``q_ahead`` contracts (the ask a tick above), a reference print at
    the bid, prints of ``prints`` contracts at the bid 1 s apart, a last print 200 s on (the hold timeout's exit).
    Sizes in base units at ``price`` (``cu`` 0: the contracts as they are, a linear symbol's)."""
    unit = (lambda c: c * cu / price) if cu > 0 else (lambda c: float(c))
    rows = [(T0, Kind.QUOTE, Side.BUY, price, unit(q_ahead)), (T0, Kind.QUOTE, Side.SELL, price + TICK, unit(10)),
            (T0, Kind.TRADE, Side.SELL, price, unit(1))]
    rows += [(T0 + (1 + i) * S, Kind.TRADE, Side.SELL, price, unit(c)) for i, c in enumerate(prints)]
    rows.append((T0 + 200 * S, Kind.TRADE, Side.SELL, price, unit(1)))
    ev = np.zeros(len(rows), dtype=EVENT_DTYPE)
    for i, (ts, kind, side, px, qty) in enumerate(rows):
        ev[i] = (ts, ts, px, qty, 0, side, kind, 2, 0)
    sig = empty_signals(1)
    sig["ts_ns"], sig["ev_idx"], sig["symbol_id"], sig["direction"] = T0, 2, 0, 1
    sig["offset"], sig["take_profit"], sig["stop_loss"] = 0.0, np.nan, np.nan
    sig["entry_timeout_ns"], sig["exit_ns"], sig["tag"] = 60 * S, NEVER, 0
    return ev, sort_signals(sig)


@settings(deadline=None, max_examples=80)
@given(q_ahead=hs.integers(0, 400), n=hs.integers(1, 300), prints=hs.lists(hs.integers(1, 150), max_size=12),
       partial=hs.integers(0, 1), cu=hs.sampled_from([10.0, 100.0]))
# found by hypothesis: 231 contracts of 10 USD at 100 are 23.1 base units; after 81 filled, 23.1 - 8.1 left
# 15.000000000000002, which the next print's 150 contracts (15.0) did not reach: a third fill of the dust
@example(q_ahead=360, n=231, prints=[1, 1, 139, 150, 150, 150, 1], partial=1, cu=10.0)
def test_an_order_of_n_contracts_fills_what_the_prints_leave_past_the_queue(q_ahead, n, prints, partial, cu):
    """Q contracts ahead, prints of c_i contracts at the limit within its timeout: ``min(N, sum(c) - Q)`` contracts
    fill once ``sum(c) > Q`` (all N without ``--partial``), the queue ahead reported Q contracts; a linear symbol whose
    sizes are those contracts (lot 1, an order of N) fills the same share at the same times."""
    ev, sig = queue_market(q_ahead, prints, cu)
    kw = dict(order_latency_ns=0, take_profit=-1.0, stop_loss=-1.0, hold_timeout_ns=100 * S, cooldown_ns=0,
              max_ref_age_ns=60 * S, queue=1, grid=1.0 / TICK, partial=partial, maker_fee=0.0, taker_fee=0.0)
    rows = param_rows(1, contract_usd=cu, whole_contracts=1, margin_sid=0, **kw)
    ledger, *_ = run(ev, sig, rows, 1, False, n * cu)
    traded = sum(prints) - q_ahead
    if traded <= 0:
        assert len(ledger) == 0
        return
    assert len(ledger) == 1
    t = ledger[0]
    assert t["contracts"] == (min(n, traded) if partial else n)
    assert t["queue_ahead"] == q_ahead and t["notional"] == t["contracts"] * cu
    want = t["contracts"] * cu * (1.0 / t["entry_price"] - 1.0 / t["exit_price"])  # no fees, no funding
    assert t["pnl_coin"] == pytest.approx(want, rel=1e-12, abs=1e-15)
    lin_ev, lin_sig = queue_market(q_ahead, prints, 0.0)
    lin, *_ = run(lin_ev, lin_sig, param_rows(1, lot=1.0, **kw), 1, False, n * 100.0)
    assert len(lin) == 1 and lin[0]["notional"] / 100.0 == t["contracts"]
    for f in ("entry_ns", "exit_ns", "fills", "queue_ahead", "fill_rule"):
        assert lin[0][f] == t[f], f
    # the share filled: a ratio of base units (contracts x cu / price) against one of contracts, equal to rounding
    assert t["filled"] == pytest.approx(lin[0]["filled"], rel=1e-12)


@settings(deadline=None, max_examples=200)
@given(x=hs.floats(-1e9, 1e9, allow_nan=False), price=hs.floats(1e-6, 1e7), lot=hs.sampled_from([0.0, 0.001, 1.0]))
def test_a_linear_symbols_sizes_go_through_as_they_are(x, price, lot):
    """The only new steps on a linear symbol's path (contract size 0): a size into the queue is the size as it
    is, and a fill out of it is the size down to the lot exactly as before (``_lot_down``), in the kernel and
    the twin alike; so a linear run gives the numbers it gave."""
    row = param_array(param_rows(1, lot=lot))[0]
    assert sim._q_units(0.0, x, price) == x == twin.q_units(0.0, x, price)
    assert sim._q_fill(row, x, price) == sim._lot_down(x, lot) == twin.q_fill(row, x, price)


@settings(deadline=None, max_examples=200)
@given(c=hs.integers(0, 10**7), price=hs.floats(1e-3, 1e6), cu=hs.sampled_from([1.0, 10.0, 100.0]))
def test_a_contract_count_spelled_in_base_units_comes_back_whole(c, price, cu):
    """``contracts x cu / price`` (the readers' base units) spelled back is exactly the whole count."""
    base = c * cu / price
    assert sim._q_units(cu, base, price) == float(c) == twin.q_units(cu, base, price)
    assert math.isclose(sim._q_units(cu, 0.5 * cu / price, price), 0.5)  # not a whole count: as computed

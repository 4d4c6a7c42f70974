"""Property tests: the simulator's records-to-signals fill and its test of a signal on copies of the state
(``liqcore._jit.sim.records_signals`` / ``entry_code``, the window plan's refusal test) against the plain ways they
replace: the signals built field by field with numpy, and ``step_entry`` called from Python on copies."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as hs

from simdata import DAY, S, param_array, param_rows, random_market

from liqcore._jit import sim
from liqcore.signals import ENTRY_LIMIT, SKIP_MIXED, empty_signals

pytestmark = pytest.mark.property


def _signals_by_fields(rec_t, rec_idx, rec_sid, rec_dom, rec_cid, par) -> np.ndarray:
    """The records' signals as numpy field assignments (the way ``records_signals`` was written before)."""
    sig = empty_signals(len(rec_t))
    sig["ts_ns"] = rec_t
    sig["ev_idx"] = rec_idx
    sig["symbol_id"] = rec_sid
    dom = np.asarray(rec_dom, dtype=np.int64)
    sig["direction"] = np.where(dom == 1, 1, np.where(dom == 2, -1, 0))
    sig["skip_code"] = np.where((dom == 1) | (dom == 2), 0, SKIP_MIXED)
    sig["entry"] = ENTRY_LIMIT
    sid = np.asarray(rec_sid, dtype=np.int64)
    ok = (sid >= 0) & (sid < len(par))
    sig["trail"][ok] = par["trail"][sid[ok]]
    sig["tag"] = rec_cid
    return sig


@given(n=hs.integers(0, 40), n_sym=hs.integers(1, 4), seed=hs.integers(0, 2**32 - 1))
def test_records_signals_are_the_signals_built_field_by_field(n, n_sym, seed):
    rng = np.random.default_rng(seed)
    par = param_array(param_rows(n_sym))
    par["trail"] = rng.choice([0.0, 0.001, 0.0025], n_sym)
    t = rng.integers(-2**62, 2**62, n, dtype=np.int64)
    idx = rng.integers(-1, 10**6, n, dtype=np.int64)
    sid = rng.integers(-2, n_sym + 2, n, dtype=np.int64)  # (outside the table too: no trail)
    dom = rng.integers(-1, 5, n, dtype=np.int64)
    cid = rng.integers(-5, 2**40, n, dtype=np.int64)
    got = sim.records_signals(t, idx, sid, dom, cid, par)
    want = _signals_by_fields(t, idx, sid, dom, cid, par)
    assert got.dtype == want.dtype and got.tobytes() == want.tobytes()


def test_records_signals_of_no_record_and_a_negative_control():
    par = param_array(param_rows(2))
    par["trail"] = [0.0, 0.002]
    e = np.zeros(0, np.int64)
    assert sim.records_signals(e, e, e, e, e, par).tobytes() == _signals_by_fields(e, e, e, e, e, par).tobytes()
    one = [np.array([v], np.int64) for v in (5, 1, 1, 2, 7)]
    got = sim.records_signals(*one, par)
    assert got.tobytes() == _signals_by_fields(*one, par).tobytes()
    assert got["direction"][0] == -1 and got["trail"][0] == 0.002
    par["trail"][1] = 0.003  # (the comparison sees a field: another trail is another signal)
    assert sim.records_signals(*one, par).tobytes() != got.tobytes()


def _mid_run(seed, n_sym, cooldown_s, cut):
    """A market's state part-way through (positions open, orders resting, cooldowns and loss limits running)."""
    ev, rec = random_market(seed, n_events=400, n_symbols=n_sym)
    rows = param_rows(n_sym, cooldown_ns=cooldown_s * S)
    end = int(ev["ts_recv"][0]) + int((int(ev["ts_recv"][-1]) - int(ev["ts_recv"][0])) * cut)
    keep = ev["ts_recv"] < end
    r = rec[rec["confirm_recv_ns"] < end]
    r = r[r["event_index"] < int(keep.sum())]
    st = sim.new_state(n_sym)
    port = sim.new_port(1.0, 0.0005, 0.02, 2, 0.25)
    ledger = np.zeros(len(rec) + 1, dtype=sim.LEDGER_DTYPE)
    counts = np.zeros((n_sym, sim.N_COUNTS), dtype=np.int64)
    par = param_array(rows)
    order = np.lexsort((r["event_index"], r["confirm_recv_ns"]))
    r = r[order]
    sim.run_sim(ev[keep], r["confirm_recv_ns"].astype(np.int64), r["event_index"].astype(np.int64),
                r["symbol_id"].astype(np.int64), r["dominant"].astype(np.int64), r["cascade_id"].astype(np.int64),
                st, port, par, ledger, counts, sim.NO_CLOCK)
    return ev, rec, st, port, par, counts, end


@given(seed=hs.integers(0, 2**32 - 1), n_sym=hs.integers(1, 3), cooldown_s=hs.sampled_from([0, 60, 600]),
       cut=hs.floats(0.05, 0.95), k=hs.integers(0, 10**6))
def test_entry_code_is_step_entry_on_copies_of_the_state(seed, n_sym, cooldown_s, cut, k):
    ev, rec, st, port, par, counts, end = _mid_run(seed, n_sym, cooldown_s, cut)
    rng = np.random.default_rng(k)
    n = 6
    sig = sim.records_signals(end + rng.integers(0, DAY, n), np.zeros(n, np.int64), rng.integers(-1, n_sym + 1, n),
                              rng.integers(0, 4, n), rng.integers(0, 99, n), par)
    before = (st.tobytes(), port.tobytes(), counts.tobytes())
    for i in range(n):
        g = sig[i]
        s2, p2, c2 = st.copy(), port.copy(), counts.copy()
        want = sim.step_entry(s2, p2, par, g["symbol_id"], g["ts_ns"], g["direction"], g["skip_code"], g["entry"],
                              g["confidence"], g["size_mult"], g["offset"], g["take_profit"], g["stop_loss"],
                              g["trail"], g["stop_price"], g["max_hold_ns"], g["entry_timeout_ns"], g["exit_ns"],
                              g["exit_code"], g["tag"], c2)
        assert int(sim.entry_code(st, port, par, counts, sig, i)) == int(want)
        assert (st.tobytes(), port.tobytes(), counts.tobytes()) == before  # (the copies were written, not these)


def test_entry_code_leaves_the_state_where_step_entry_writes_it():
    """Negative control: the same call on the state itself counts the signal (what the copies keep from it)."""
    ev, rec, st, port, par, counts, end = _mid_run(7, 1, 0, 0.5)
    sig = sim.records_signals(np.array([end + S]), np.zeros(1, np.int64), np.zeros(1, np.int64),
                              np.ones(1, np.int64), np.ones(1, np.int64), par)
    before = counts.copy()
    code = int(sim.entry_code(st, port, par, counts, sig, 0))
    assert np.array_equal(counts, before)
    g = sig[0]
    assert int(sim.step_entry(st, port, par, g["symbol_id"], g["ts_ns"], g["direction"], g["skip_code"], g["entry"],
                              g["confidence"], g["size_mult"], g["offset"], g["take_profit"], g["stop_loss"],
                              g["trail"], g["stop_price"], g["max_hold_ns"], g["entry_timeout_ns"], g["exit_ns"],
                              g["exit_code"], g["tag"], counts)) == code
    assert not np.array_equal(counts, before)

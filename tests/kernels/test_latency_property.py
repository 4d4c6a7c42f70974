"""Property tests of the per-signal order latency (``latency_ns``, drawn from a live journal's measured
latencies): the Numba kernel against the pysrc twin on random markets and signals with random latencies,
and a latency carried by every signal equal to the same constant as the run's ``order-latency``."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from simdata import MS, S, random_market

from tests.kernels.test_execmodel_property import _rows, kernel, kernel_equals_twin, params_st, port_st, random_signals

pytestmark = pytest.mark.property


@settings(deadline=None, max_examples=60)
@given(seed=hs.integers(0, 2**32 - 1), p=params_st, port=port_st, n_sym=hs.integers(1, 4),
       n_sig=hs.integers(0, 80))
def test_kernel_matches_twin_with_per_signal_latencies(seed, p, port, n_sym, n_sig):
    ev, _ = random_market(seed, n_events=400, n_symbols=n_sym)
    sig = random_signals(seed + 1, ev, n_sym, n_sig)
    rng = np.random.default_rng(seed + 2)
    sig["latency_ns"] = rng.choice([0, 0, 1, 5 * MS, 200 * MS, 3 * S], size=len(sig))
    kernel_equals_twin(ev, sig, _rows(p, n_sym), port, n_sym, ("status", "arrive_ns", "exit_due_ns", "entry_price"))


@settings(deadline=None, max_examples=60)
@given(seed=hs.integers(0, 2**32 - 1), p=params_st, port=port_st, n_sym=hs.integers(1, 4),
       n_sig=hs.integers(0, 80), lat=hs.sampled_from([1, 7 * MS, 300 * MS, 2 * S]))
def test_a_latency_on_every_signal_is_the_constant_order_latency(seed, p, port, n_sym, n_sig, lat):
    """A latency carried by every signal, equal to the run's order latency, gives the run without it: the carried
    one is in force for the orders of the signal's step as the run's is.  Both runs have that run latency: the
    orders no signal sends (a hold timeout's close, an engine exit) and the close of another symbol's position a
    signal replaces take their symbol's run latency (a carried run with a run latency of 0 told a replacement due
    at a hold timeout's instant apart by 7 ms: seed 240)."""
    ev, _ = random_market(seed, n_events=400, n_symbols=n_sym)
    sig = random_signals(seed + 1, ev, n_sym, n_sig)
    carried = sig.copy()
    carried["latency_ns"] = lat
    rows = _rows({**p, "order_latency_ns": lat}, n_sym)
    a = kernel(ev, carried, rows, **port)
    b = kernel(ev, sig, rows, **port)
    assert a[0].tobytes() == b[0].tobytes() and (a[1] == b[1]).all() and a[2][0]["equity"] == b[2][0]["equity"]

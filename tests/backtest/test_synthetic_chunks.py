"""The synthetic market generated in parts (resumable generator kernel, front passes cut at push
slots) equals the market generated whole, byte for byte; the pysrc twin resumes the same way."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore.synthetic import market as S
from liqcore.synthetic.chunks import market_chunks, symbol_rows
from pysrc import synth as T


@pytest.mark.parametrize("venue,symbol", [("bybit", "ETHUSDT"), ("binance", "BTCUSDT"), ("okx", "SOLUSDT")])
def test_market_in_parts_equals_whole(venue, symbol):
    m = S.synthetic_market(days=1.5, symbols=(symbol,), seed=5, venue=venue, cache=False)
    parts = [ev for ev, _reg in market_chunks(symbol, 1.5, seed=5, venue=venue, u_block=3001, row_block=1777)]
    assert len(parts) > 20  # really in parts
    assert all(np.all(np.diff(p["ts_event"]) >= 0) for p in parts)
    ev = np.concatenate(parts)
    assert ev.dtype == m.events.dtype and len(ev) == len(m.events)
    assert ev.tobytes() == m.events.tobytes()


def _whole_kernel_rows(p, seed, symbol, regime):
    rows, _eps = S.simulate_symbol(p, seed, symbol, regime=regime)
    return rows


@pytest.mark.property
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31), hours=st.floats(0.5, 12.0), u_block=st.integers(16, 5000),
       row_block=st.integers(1, 3000), symbol=st.sampled_from(("BTCUSDT", "DOGEUSDT")))
def test_kernel_resumed_in_parts_equals_whole_and_twin(seed, hours, u_block, row_block, symbol):
    p = S.build_params(symbol, hours / 24.0)
    regime = S.positioning_regime(S.Effects(), seed, symbol, p)
    whole = _whole_kernel_rows(p, seed, symbol, regime)
    parts = list(symbol_rows(p, seed, symbol, regime, u_block=u_block, row_block=row_block))
    for col in ("t_ns", "price", "qty", "side", "kind"):
        got = np.concatenate([r[col] for r in parts]) if parts else np.zeros(0)
        assert np.array_equal(got, whole[col]), col
    # the twin, resumed from its own state in parts of the same sizes, gives the same rows
    u_all = S.uniforms(seed, symbol, len(whole["t_ns"]) * 8 + 10_000)
    state: dict = {}
    pos, rows = 0, []
    max_ep = int(p[T.P["mu_s"]] * p[T.P["t_end"]] * 2 * (1 + p[T.P["diurnal_a"]])) + 64
    while True:
        chunk = u_all[pos:pos + u_block + T.MAX_DRAWS_PER_STEP]
        status, n, _nep, used, r, _e = T.simulate_symbol(p, chunk, row_block, max_ep, None, None, *regime,
                                                         state=state)
        rows.append(r)
        pos += used
        if status == T.OK:
            break
        assert status in (T.OUT_OF_UNIFORMS, T.OUT_OF_ROWS)
    for col in ("t_ns", "price", "qty", "side", "kind"):
        assert np.array_equal(np.concatenate([r[col] for r in rows]), whole[col]), col

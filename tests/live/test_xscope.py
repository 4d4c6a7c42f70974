"""The live instrument-scope detector (liqcore.live.xscope) equals the batch kernel on the same events."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from liqcore.config import Params
from liqcore.instruments import detect_instruments, groups, retarget
from liqcore.live.xscope import InstrumentDetector
from liqcore.types import EVENT_DTYPE, Kind, Side, SymbolRegistry, Venue

SYMS = {"bybit": ("ETHUSDT", "SOLUSDT"), "binance": ("ETHUSDT", "SOLUSDT"), "okx": ("ETH-USDT-SWAP",)}
PARAMS = Params(min_history=3, history=20, window_ns=5_000_000_000, min_large=2)


def _registry() -> tuple[SymbolRegistry, list[tuple[int, int]]]:
    reg = SymbolRegistry()
    sids = []
    for v, syms in SYMS.items():
        for s in syms:
            sids.append((reg.id(v, s), int(Venue.parse(v))))
    return reg, sids


@st.composite
def tapes(draw):
    reg, sids = _registry()
    n = draw(st.integers(1, 120))
    ev = np.zeros(n, dtype=EVENT_DTYPE)
    t = 1_700_000_000_000_000_000
    for i in range(n):
        t += draw(st.integers(0, 2_000_000_000))
        late = draw(st.integers(0, 300_000_000)) if draw(st.booleans()) else 0
        sid, venue = sids[draw(st.integers(0, len(sids) - 1))]
        kind = draw(st.sampled_from([Kind.LIQUIDATION] * 6 + [Kind.TRADE, Kind.GAP]))
        ev[i] = (t - late, t + 1000, 100.0 if kind != Kind.GAP else np.nan,
                 draw(st.sampled_from([0.1, 0.2, 0.3, 0.5, 1.0, 5.0, 20.0])) if kind != Kind.GAP else 0.0,
                 sid, int(draw(st.sampled_from([Side.LONG, Side.SHORT]))) if kind == Kind.LIQUIDATION else 0,
                 int(kind), venue, 0)
    return reg, ev


@settings(max_examples=40, deadline=None)
@given(tapes(), st.sampled_from(["bybit", "binance", "okx"]))
def test_streaming_equals_the_batch_kernel(tape, trade_venue):
    reg, ev = tape
    det = InstrumentDetector(PARAMS, reg, trade_venue)
    got = []
    for row in ev.tolist():
        ts, tr, price, qty, sid, side, kind, venue, _ = row
        if det.update(ts, tr, sid, venue, kind, side, price, qty):
            got.append(det.last_records())
    got = np.concatenate(got) if got else np.zeros(0, dtype=ev.dtype)
    want, shares, _, _ = detect_instruments(ev, reg, PARAMS, flush=False)
    group, _ = groups(reg)
    want, _ = retarget(want, reg, group, trade_venue)
    # an instrument the trade venue does not list keeps its first venue's symbol live (decided not_traded);
    # the batch retarget drops it
    got = got[got["venue"] == int(Venue.parse(trade_venue))]
    assert got.tobytes() == want.tobytes()
    # the ended cascades' shares and first venues equal the kernel's share rows
    for r in shares:
        sh = det.shares(int(r["cascade_id"]))[Venue(int(r["venue"])).name.lower()]
        assert (sh["liquidations"], sh["large"], sh["first_large_ns"]) == (r["n_events"], r["n_large"], r["first_large_ns"])
        assert np.isclose(sh["long_notional"], r["long_notional"]) and np.isclose(sh["short_notional"], r["short_notional"])


def test_a_split_cascade_confirms_on_the_trade_venue_with_its_shares():
    reg, _ = _registry()
    det = InstrumentDetector(PARAMS, reg, "bybit")
    by, bn = reg.id("bybit", "ETHUSDT"), reg.id("binance", "ETHUSDT")
    t = 1_700_000_000_000_000_000
    for i in range(5):  # thresholds on both venues
        for sid, v in ((by, 1), (bn, 2)):
            assert det.update(t + i, t + i, sid, v, 1, 1, 100.0, 0.5 - 0.05 * i) == 0
    assert det.update(t + 1_000_000_000, t + 1_000_000_001, bn, 2, 1, 1, 100.0, 5.0) == 0  # first large: Binance
    assert det.armable(by) and not det.armable(reg.id("bybit", "SOLUSDT"))
    assert det.update(t + 2_000_000_000, t + 2_000_000_001, by, 1, 1, 1, 100.0, 6.0) == 1  # second: Bybit
    rec = det.last_records()[0]
    assert rec["symbol_id"] == by and rec["venue"] == 1 and rec["n_large"] == 2 and rec["start_ns"] == t + 1_000_000_000
    assert det.last_confirmed() == (by, int(rec["cascade_id"]), int(rec["dominant"]), t + 2_000_000_001)
    cid = int(rec["cascade_id"])
    assert det.first_venue(cid) == "binance"
    sh = det.shares(cid)
    assert sh["binance"]["large"] == 1 and sh["bybit"]["large"] == 1 and sh["binance"]["first_large_ns"] == t + 1_000_000_000
    assert det.active(by) and det.active(bn) and not det.active(reg.id("bybit", "SOLUSDT"))
    assert det.tick(t + 8_000_000_000) == 1 and det.last_records()[0]["end_reason"] == 1  # expired

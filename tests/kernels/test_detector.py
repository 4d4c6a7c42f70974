"""Hand-built scenarios of semantics.md for the Cython CascadeDetector and its pysrc twin."""
from __future__ import annotations

import math

import numpy as np
import pytest

import liqcore
from liqcore._libs.detection import CascadeDetector as KDetector
from liqcore.config import Params
from liqcore.types import CASCADE_DTYPE, EVENT_DTYPE, Dominant, EndReason, Kind, RecordKind, Side, make_events
from pysrc.detector import CascadeDetector as PDetector

S = 1_000_000_000
LONG, SHORT = int(Side.LONG), int(Side.SHORT)
LIQ, TRADE, GAP = int(Kind.LIQUIDATION), int(Kind.TRADE), int(Kind.GAP)

both = pytest.mark.parametrize("Det", [KDetector, PDetector], ids=["kernel", "twin"])


def liq(d, t, notional, side=LONG, sym=0, venue=1, recv=None):
    # the notional in the size (price 1): these scenarios vary sizes, not prices (the price plausibility
    # rule is tested on its own)
    return d.update(t, t if recv is None else recv, sym, venue, LIQ, side, 1.0, notional)


def warm(d, sym=0, n=3, value=1.0, t0=0, venue=1):
    for i in range(n):
        liq(d, t0 + i, value, sym=sym, venue=venue)


@both
def test_threshold_excludes_current_event(Det):
    d = Det(quantile=0.5, min_history=3, refresh_ns=0, window_ns=10 * S)
    warm(d)  # history 1, 1, 1
    assert liq(d, 10, 100.0) == 0
    assert d.threshold(0) == 1.0  # median of [1, 1, 1]: the 100 itself is not in it
    liq(d, 11, 0.5)
    assert d.threshold(0) == 1.0  # median of [1, 1, 1, 100]
    liq(d, 12, 0.5)
    assert d.threshold(0) == float(np.quantile([1, 1, 1, 100, 0.5], 0.5))


@both
def test_no_threshold_until_min_history_then_immediately(Det):
    d = Det(quantile=0.95, min_history=4, refresh_ns=3600 * S, window_ns=10 * S, min_large=1)
    for i in range(4):
        assert liq(d, i, 1000.0 * (i + 1)) == 0  # nothing is large without a threshold
        assert math.isnan(d.threshold(0))
    # the 5th liquidation: 4 seen -> threshold computed now, before the refresh period
    assert liq(d, 4, 1e9) == 1
    assert d.threshold(0) == float(np.quantile([1000, 2000, 3000, 4000], 0.95))
    rec = d.last_records()[0]
    assert rec["record"] == RecordKind.CONFIRMED and rec["threshold"] == d.threshold(0)


@both
def test_frozen_threshold_between_refreshes(Det):
    d = Det(quantile=1.0, min_history=2, refresh_ns=100, window_ns=10, min_large=5)
    liq(d, 0, 1.0)
    liq(d, 1, 2.0)
    liq(d, 2, 50.0)  # threshold computed at t=2 from [1, 2] -> max 2
    assert d.threshold(0) == 2.0
    liq(d, 50, 60.0)
    liq(d, 101, 1.0)  # 101 - 2 < 100: still frozen although the history's max is now 60
    assert d.threshold(0) == 2.0
    liq(d, 102, 1.0)  # 102 - 2 >= 100: recomputed from everything before this event
    assert d.threshold(0) == 60.0


@both
def test_seed_counts_toward_min_history(Det):
    d = Det(quantile=0.5, min_history=3, refresh_ns=0, window_ns=10, min_large=1)
    d.seed(0, [10.0, 20.0, 30.0], venue=1)
    assert math.isnan(d.threshold(0))
    assert liq(d, 0, 25.0) == 1  # large against the seeded median 20
    assert d.threshold(0) == 20.0
    with pytest.raises(ValueError, match="notionals"):
        d.seed(0, [1.0, float("nan")])


@both
def test_confirm_times_notionals_and_end(Det):
    W = 60 * S
    d = Det(quantile=0.5, min_history=3, refresh_ns=0, window_ns=W, min_large=2)
    warm(d, value=10.0)
    t0 = 1000 * S
    liq(d, t0, 1.0, LONG)  # small, before start: not in the cascade
    assert liq(d, t0 + 1 * S, 100.0, LONG) == 0  # large #1 (the start)
    liq(d, t0 + 2 * S, 1.0, SHORT)  # small, inside [start, t]
    assert liq(d, t0 + 3 * S, 200.0, SHORT, recv=t0 + 3 * S + 7) == 1  # large #2: confirmed
    (c,) = d.last_records()
    assert c["record"] == RecordKind.CONFIRMED
    assert (c["start_ns"], c["confirm_ns"], c["confirm_recv_ns"], c["end_ns"]) == (
        t0 + S, t0 + 3 * S, t0 + 3 * S + 7, t0 + 3 * S)
    assert (c["long_notional"], c["short_notional"], c["n_events"], c["n_large"]) == (100.0, 201.0, 3, 2)
    assert c["dominant"] == Dominant.SHORT and c["event_index"] == 6 and c["venue"] == 1
    assert d.active(0)
    # while active: every liquidation adds, a large one moves last_large
    liq(d, t0 + 30 * S, 5.0, LONG)
    liq(d, t0 + 40 * S, 500.0, LONG)
    # exactly last_large + W does not end it
    assert d.update(t0 + 100 * S, t0 + 100 * S, 0, 1, TRADE, int(Side.BUY), 1.0, 1.0) == 0
    assert d.active(0)
    assert d.update(t0 + 100 * S + 1, t0 + 100 * S + 1, 0, 1, TRADE, int(Side.BUY), 1.0, 1.0) == 1
    (e,) = d.last_records()
    assert e["record"] == RecordKind.ENDED and e["end_reason"] == EndReason.EXPIRED
    assert e["cascade_id"] == c["cascade_id"]
    assert e["end_ns"] == t0 + 40 * S and e["emit_ns"] == t0 + 100 * S + 1
    assert (e["long_notional"], e["short_notional"], e["n_events"], e["n_large"]) == (605.0, 201.0, 5, 3)
    assert e["dominant"] == Dominant.LONG
    assert not d.active(0)


@both
def test_dominant_tie_is_mixed(Det):
    d = Det(quantile=0.5, min_history=3, refresh_ns=0, window_ns=10 * S, min_large=2)
    warm(d)
    liq(d, 100, 50.0, LONG)
    assert liq(d, 101, 50.0, SHORT) == 1
    assert d.last_records()[0]["dominant"] == Dominant.MIXED


@both
def test_exactly_w_apart_is_not_one_window(Det):
    W = 10
    d = Det(quantile=0.0, min_history=1, refresh_ns=0, window_ns=W, min_large=2)
    liq(d, 0, 1.0)
    liq(d, 100, 5.0)  # large (>= min)
    assert liq(d, 100 + W, 5.0) == 0  # (t - W, t] excludes t - W
    assert liq(d, 100 + W + 1, 5.0) == 1  # 110 and 111 are in one window
    assert d.last_records()[0]["start_ns"] == 110


@both
def test_equal_timestamps(Det):
    d = Det(quantile=0.0, min_history=1, refresh_ns=0, window_ns=10, min_large=3)
    liq(d, 0, 1.0)
    liq(d, 50, 2.0, SHORT)
    liq(d, 50, 3.0)
    assert liq(d, 50, 4.0) == 1
    r = d.last_records()[0]
    assert (r["start_ns"], r["confirm_ns"], r["n_events"], r["n_large"]) == (50, 50, 3, 3)
    assert (r["long_notional"], r["short_notional"]) == (7.0, 2.0)


@both
def test_expiring_event_starts_the_next_cascade(Det):
    d = Det(quantile=0.5, min_history=3, refresh_ns=0, window_ns=10, min_large=1)
    warm(d)
    assert liq(d, 100, 50.0) == 1
    assert liq(d, 111, 60.0) == 2  # 111 > 100 + 10: ENDED first, then CONFIRMED by itself
    ended, confirmed = d.last_records()
    assert ended["record"] == RecordKind.ENDED and ended["end_reason"] == EndReason.EXPIRED
    assert ended["end_ns"] == 100 and ended["emit_ns"] == 111
    assert confirmed["record"] == RecordKind.CONFIRMED and confirmed["start_ns"] == 111
    assert confirmed["cascade_id"] == ended["cascade_id"] + 1


@both
def test_gap_ends_and_clears_the_window(Det):
    d = Det(quantile=0.5, min_history=3, refresh_ns=0, window_ns=100, min_large=2)
    warm(d)
    liq(d, 10, 50.0)
    assert liq(d, 11, 50.0) == 1
    assert d.update(12, 12, 0, 1, GAP, 0, 0.0, 0.0) == 1
    (g,) = d.last_records()
    assert g["end_reason"] == EndReason.GAP and g["end_ns"] == 11
    # the pre-gap large events no longer count: one new large event does not confirm
    assert liq(d, 13, 60.0) == 0
    assert liq(d, 14, 60.0) == 1


@both
def test_venue_wide_gap(Det):
    d = Det(quantile=0.5, min_history=3, refresh_ns=0, window_ns=100, min_large=1)
    warm(d, sym=0, venue=1)
    warm(d, sym=1, venue=2)
    warm(d, sym=2, venue=1)
    liq(d, 10, 9.0, sym=0, venue=1)
    liq(d, 10, 9.0, sym=1, venue=2)
    liq(d, 10, 9.0, sym=2, venue=1)
    assert d.gap(-1, 1, 20) == 2
    r = d.last_records()
    assert list(r["symbol_id"]) == [0, 2] and set(r["end_reason"]) == {EndReason.GAP}
    assert d.active(1) and not d.active(0) and not d.active(2)
    assert d.update(21, 21, -1, 2, GAP, 0, 0.0, 0.0) == 1


@both
def test_tick_and_flush(Det):
    d = Det(quantile=0.5, min_history=3, refresh_ns=0, window_ns=100, min_large=1)
    warm(d, sym=0)
    warm(d, sym=5)
    liq(d, 10, 9.0, sym=0)
    liq(d, 50, 9.0, sym=5)
    assert d.tick(110) == 0
    assert d.tick(111) == 1
    assert d.last_records()[0]["symbol_id"] == 0 and d.last_records()[0]["emit_ns"] == 111
    assert d.flush() == 1
    (f,) = d.pop_records()
    assert f["end_reason"] == EndReason.FLUSH and f["symbol_id"] == 5 and f["event_index"] == -1
    assert f["emit_ns"] == 50  # default flush time: the latest event time seen
    assert len(d.pop_records()) == 0
    assert d.stats["active"] == 0


@both
def test_late_events_are_clamped_and_counted(Det):
    d = Det(quantile=0.5, min_history=3, refresh_ns=0, window_ns=10, min_large=2)
    warm(d)
    liq(d, 100, 50.0)
    # late by 95: clamped to 100 -> in the window of the first large one
    assert liq(d, 5, 50.0) == 1
    r = d.last_records()[0]
    assert r["start_ns"] == 100 and r["confirm_ns"] == 100
    assert d.stats["late"] == 1
    # the late notional joined the threshold history
    liq(d, 101, 1.0)
    assert d.threshold(0) == float(np.quantile([1, 1, 1, 50, 50], 0.5))


@both
@pytest.mark.parametrize(
    "field,kwargs",
    [
        ("price", dict(price=float("nan"))),
        ("price", dict(price=-1.0)),
        ("price", dict(price=float("inf"))),
        ("qty", dict(qty=0.0)),
        ("qty", dict(qty=float("nan"))),
        ("side", dict(side=0)),
        ("side", dict(side=int(Side.BUY))),
        ("symbol_id", dict(symbol_id=-1)),
        ("symbol_id", dict(symbol_id=-5, kind=TRADE)),
        ("kind", dict(kind=9)),
    ],
)
def test_bad_input_raises_naming_the_field(Det, field, kwargs):
    d = Det(min_history=0)
    ev = dict(ts_event=1, ts_recv=1, symbol_id=0, venue=1, kind=LIQ, side=LONG, price=1.0, qty=1.0)
    ev.update(kwargs)
    with pytest.raises(ValueError, match=f"^{field}"):
        d.update(**ev)
    assert d.stats["events"] == 0 and d.stats["symbols"] == 0


@both
def test_run_counts_bad_input_and_rejects_bad_arrays(Det):
    ev = make_events(
        ts_event=[1, 2, 3, 4, 5, 6], price=[1.0, np.nan, 1.0, 1.0, 1.0, 1.0], qty=[1.0, 1.0, -1.0, 1.0, 1.0, 1.0],
        side=[1, 1, 1, 0, 1, 1], kind=[1, 1, 1, 1, 2, 1], symbol_id=[0, 0, 0, 0, 0, -3], venue=1)
    d = Det(min_history=0)
    recs, counts = d.run(ev)
    assert counts["events"] == 6 and counts["processed"] == 2 and counts["liquidations"] == 1
    assert (counts["skipped_price"], counts["skipped_qty"], counts["skipped_side"], counts["skipped_symbol"]) == (1, 1, 1, 1)
    assert counts["skipped"] == 4
    with pytest.raises(ValueError, match="^events"):
        d.run(np.zeros(3, dtype=[("ts_event", "<i8")]))
    with pytest.raises(ValueError, match="^events"):
        d.run([1, 2, 3])


def test_run_requires_c_contiguous():
    ev = np.zeros(10, dtype=EVENT_DTYPE)
    with pytest.raises(ValueError, match="C-contiguous"):
        KDetector().run(ev[::2])


def test_public_name_and_from_params():
    assert liqcore.CascadeDetector is KDetector
    p = Params.from_mapping({"window": "30s", "min-large": 3, "quantile": "90%", "refresh": 0, "history": 50,
                             "min-history": 7})
    for Det in (KDetector, PDetector):
        d = Det.from_params(p)
        assert (d.window_ns, d.min_large, d.quantile, d.refresh_ns, d.history, d.min_history) == (
            30 * S, 3, 0.9, 0, 50, 7)
        # a mapping, None or a list: one line saying how to make a Params (the kernel imports no parameter layer)
        for bad, name in (({"window": "30s"}, "dict"), (None, "NoneType"), ([("window", "30s")], "list")):
            with pytest.raises(ValueError, match=r"^params: expected a Params \(liqcore.Params.from_mapping\(...\) "
                                                 rf"makes one of a mapping, liqcore.Params\(\) the defaults\); got {name}$"):
                Det.from_params(bad)


def test_the_engine_and_the_backtest_take_params_as_a_mapping_too():
    """``Engine({...})`` and ``backtest(src, {...})``: the mapping is the :class:`Params` of its names; anything but a
    Params, a mapping or None is one line naming what it got."""
    from liqcore import Engine, backtest
    from liqcore.data import sample_recording

    eng = Engine({"window": "30s", "offset": "0.2%"}, symbols=["ETHUSDT"])
    assert eng.params.window_ns == 30 * S and eng.params.offset == pytest.approx(0.002)
    a = backtest(str(sample_recording()), {"offset": "0.2%"})
    b = backtest(str(sample_recording()), Params.from_mapping({"offset": "0.2%"}))
    assert a.summary() == b.summary() and a.params.offset == pytest.approx(0.002)
    with pytest.raises(ValueError, match="^params: expected a Params or a mapping"):
        Engine("window=30s", symbols=["ETHUSDT"])


@both
@pytest.mark.parametrize("kwargs", [dict(quantile=1.5), dict(history=0), dict(min_history=-1),
                                    dict(refresh_ns=-1), dict(window_ns=0), dict(min_large=0)])
def test_bad_parameters(Det, kwargs):
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=name):
        Det(**kwargs)


def test_state_bytes_per_symbol_and_many_symbols():
    d = KDetector(history=1000)
    rng = np.random.default_rng(1)
    n_sym, per = 2000, 1100
    ev = np.zeros(n_sym * per, dtype=EVENT_DTYPE)
    ev["symbol_id"] = np.tile(np.arange(n_sym), per)
    ev["ts_event"] = np.repeat(np.arange(per, dtype=np.int64) * 10 * S, n_sym)
    ev["ts_recv"] = ev["ts_event"]
    ev["kind"], ev["venue"] = LIQ, 1
    ev["side"] = rng.integers(1, 3, len(ev))
    ev["price"] = 1.0
    ev["qty"] = rng.lognormal(5, 1, len(ev))  # notionals spread by size (prices stay plausible)
    _, counts = d.run(ev, flush=True)
    assert counts["processed"] == len(ev)
    assert d.stats["symbols"] == n_sym
    per_symbol = [d.symbol_nbytes(i) for i in range(0, n_sym, 97)]
    assert max(per_symbol) <= 40_000
    assert d.nbytes >= sum(per_symbol)
    assert d.symbol_nbytes(n_sym + 5) == 0
    del d  # frees every symbol's state


def test_records_are_cascade_dtype_and_update_matches_run():
    rng = np.random.default_rng(7)
    n = 5000
    ev = np.zeros(n, dtype=EVENT_DTYPE)
    ev["ts_event"] = np.cumsum(rng.integers(0, 2 * S, n))
    ev["ts_recv"] = ev["ts_event"] + 1000
    ev["symbol_id"] = rng.integers(0, 3, n)
    ev["venue"], ev["kind"] = 1, LIQ
    ev["side"] = rng.integers(1, 3, n)
    ev["price"] = rng.pareto(1.5, n) * 100 + 1
    ev["qty"] = 1.0
    d = KDetector(min_history=50)
    recs, counts = d.run(ev, flush=True)
    assert recs.dtype == CASCADE_DTYPE and counts["cascades"] > 0
    confirmed = recs[recs["record"] == RecordKind.CONFIRMED]
    ended = recs[recs["record"] == RecordKind.ENDED]
    assert len(confirmed) == len(ended) == counts["cascades"]
    assert sorted(confirmed["cascade_id"]) == sorted(ended["cascade_id"])
    assert (confirmed["n_large"] >= 2).all() and (confirmed["confirm_ns"] - confirmed["start_ns"] < 60 * S).all()
    assert (ev["ts_recv"][confirmed["event_index"]] == confirmed["confirm_recv_ns"]).all()
    d2 = KDetector(min_history=50)
    out = []
    for e in ev:
        if d2.update(*(e[f].item() for f in ("ts_event", "ts_recv", "symbol_id", "venue", "kind", "side",
                                               "price", "qty"))):
            out.append(d2.pop_records())
    d2.flush()
    out.append(d2.pop_records())
    assert np.concatenate(out).tobytes() == recs.tobytes()


def test_real_binance_liquidations(real_data):
    """The detector on the real Binance forceOrder recordings (loaded by liqcore.io): kernel and twin
    agree record for record, and the confirmed cascades are consistent with their input."""
    from liqcore.dataset.load import load_events

    files = sorted(f for f in real_data.glob("*/binance*.csv") if "trades" not in f.name)
    assert files
    res = load_events(files)
    ev = res.events
    assert len(ev) > 1000
    p = dict(min_history=20, refresh_ns=600 * S)
    rk, ck = KDetector(**p).run(ev, flush=True)
    rp, cp = PDetector(**p).run(ev, flush=True)
    assert rk.tobytes() == rp.tobytes() and ck == cp
    assert ck["liquidations"] == len(ev) and ck["skipped"] == 0
    confirmed = rk[rk["record"] == RecordKind.CONFIRMED]
    assert len(confirmed) > 0
    for c in confirmed:
        e = ev[c["event_index"]]
        assert e["symbol_id"] == c["symbol_id"] and e["ts_event"] == c["confirm_ns"]
        assert e["price"] * e["qty"] >= c["threshold"]


@pytest.mark.property
@pytest.mark.parametrize("refresh_s", [3600, 60, 0])
def test_default_history_kernel_equals_twin(refresh_s):
    """Default N=1000 / min-history 100 over ~2 h per symbol at one liquidation per ~2 s: the history
    ring wraps and more than N notionals are pending between hourly refreshes."""
    rng = np.random.default_rng(refresh_s + 11)
    n = 12_000
    ev = np.zeros(n, dtype=EVENT_DTYPE)
    ev["ts_event"] = 1_700_000_000 * S + np.cumsum(rng.integers(0, 1_300_000_000, n))
    ev["ts_recv"] = ev["ts_event"] + 5_000_000
    ev["symbol_id"] = rng.integers(0, 3, n)
    ev["venue"] = 1 + ev["symbol_id"]
    ev["kind"] = np.where(rng.random(n) < 0.9, LIQ, TRADE)
    ev["side"] = np.where(ev["kind"] == LIQ, rng.integers(1, 3, n), int(Side.SELL))
    ev["price"] = 50.0 + rng.random(n)
    ev["qty"] = rng.lognormal(1.0, 1.3, n) * np.where(rng.random(n) < 0.04, 25.0, 1.0)
    p = dict(refresh_ns=refresh_s * S)
    rk, ck = KDetector(**p).run(ev, flush=True)
    rp, cp = PDetector(**p).run(ev, flush=True)
    assert ck["cascades"] > 5
    assert rk.tobytes() == rp.tobytes() and ck == cp


@pytest.mark.parametrize("twin", [False, True])
def test_armable_and_last_confirmed(twin):
    """armable: one large liquidation away from a cascade (history enough, not active, min_large - 1 large
    ones inside the window of the symbol's latest event); last_confirmed: the CONFIRMED record, no array."""
    from liqcore.types import Kind

    if twin:
        from pysrc.detector import CascadeDetector as D
    else:
        from liqcore._libs.detection import CascadeDetector as D
    d = D(min_history=5, history=50, window_ns=60_000_000_000, refresh_ns=0)
    L, s = int(Kind.LIQUIDATION), 10**9
    assert not d.armable(3) and d.last_confirmed() is None
    for i, q in enumerate([0.5, 0.1, 0.3, 0.2, 0.4, 0.15]):
        d.update(i * s, i * s, 3, 1, L, 1, 100.0, q)
    assert not d.armable(3)  # no large one yet
    assert d.update(10 * s, 10 * s + 7, 3, 1, L, 1, 100.0, 10.0) == 0 and d.armable(3)
    assert d.update(69 * s, 69 * s, 3, 1, L, 1, 100.0, 0.01) == 0 and d.armable(3)  # still inside (10 s, 70 s]
    assert d.update(71 * s, 71 * s, 3, 1, L, 1, 100.0, 0.01) == 0 and not d.armable(3)  # the large one left
    d.update(80 * s, 80 * s, 3, 1, L, 2, 100.0, 20.0)
    assert d.armable(3)
    assert d.update(81 * s, 81 * s + 5, 3, 1, L, 2, 100.0, 30.0) == 1
    assert d.last_confirmed() == (3, 0, 2, 81 * s + 5) and not d.armable(3)  # active
    d.update(82 * s, 82 * s, 3, 1, L, 2, 100.0, 0.01)
    assert d.last_confirmed() is None


QUOTE, BUY, SELL = int(Kind.QUOTE), int(Side.BUY), int(Side.SELL)


@both
def test_quotes_are_no_liquidations_and_never_large(Det):
    """Top of book (kind QUOTE, a bid row and an ask row) advances the clock like a mark: a displayed
    size of 1e12 is neither bad input nor an implausible notional nor a liquidation."""
    d = Det(quantile=0.5, min_history=3, refresh_ns=0, window_ns=10 * S, min_large=2)
    warm(d)  # threshold 1.0
    assert liq(d, 1 * S, 5.0) == 0  # one large liquidation: no cascade yet
    for side, price in ((BUY, 0.99), (SELL, 1.01)):
        assert d.update(2 * S, 2 * S, 0, 1, QUOTE, side, price, 1e12) == 0
    assert d.update(2 * S, 2 * S, 0, 1, QUOTE, SELL, 0.0, 0.0) == 0  # the ask side emptied
    s = d.stats
    assert s["liquidations"] == 4 and s["processed"] == 7 and s["skipped"] == 0
    # the quote's time is the symbol's clock: it expires the window like any event
    assert d.update(12 * S, 12 * S, 0, 1, QUOTE, BUY, 1.0, 1.0) == 0
    assert liq(d, 12 * S + 1, 5.0) == 0  # the first large one is out of the window now


@both
def test_quote_price_judged_against_reference(Det):
    d = Det(price_factor=2.0, reanchor=3)
    assert d.update(0, 0, 0, 1, TRADE, BUY, 100.0, 1.0) == 0
    assert d.update(1, 1, 0, 1, QUOTE, BUY, 1000.0, 1.0) == 0  # 10x the last trade: implausible
    assert d.update(1, 1, 0, 1, QUOTE, SELL, 100.5, 1.0) == 0
    assert d.stats["skipped_implausible_price"] == 1
    ev = np.array([(2, 2, 100.2, 3.0, 0, BUY, QUOTE, 1, 0), (2, 2, 0.0, 0.0, 0, SELL, QUOTE, 1, 0),
                   (3, 3, 5.0, 1.0, 0, SELL, QUOTE, 1, 0)], dtype=EVENT_DTYPE)
    recs, counts = d.run(ev)
    assert len(recs) == 0 and counts["events"] == 3 and counts["liquidations"] == 0
    assert counts["skipped"] == 1 and counts["skipped_implausible_price"] == 1 and counts["skipped_kind"] == 0

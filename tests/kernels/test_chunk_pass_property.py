"""The one pass from the read to the simulator (``liqcore._jit.chunks``): the kernels equal their twin
(``pysrc/chunks.py``), and a read through the fused pass equals the read through the old passes (join,
receive-time order, cut, receive-time span, ``clean_prints``, the print array, the kinds present and the
queue fall-back's quote test, the price grid's prints, the cheapest trade, the liquidations, the receive
delays' sample), read after read with the carry, on generated events and on the real Binance recordings."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from pysrc import chunks as twin

from liqcore.types import EVENT_DTYPE, Flag, Kind

pytestmark = pytest.mark.property

S = 1_000_000_000
KINDS = np.array([int(Kind.TRADE)] * 5 + [int(Kind.QUOTE)] * 4 + [int(Kind.LIQUIDATION), int(Kind.FUNDING),
                                                                  int(Kind.MARK), int(Kind.GAP)])


def _events(seed: int, n: int, t0: int = 1_700_000_000 * S, n_sym: int = 2, bad: float = 0.05,
            est: float = 0.2, lag_s: float = 2.0) -> np.ndarray:
    """``n`` events in event-time order, received up to ``lag_s`` later (often out of receive order, with
    ties), of ``n_sym`` symbols (and one id past them), with bad prints / funding rates, NaN and
    infinite quantities, and receive times estimated (flag) on some."""
    rng = np.random.default_rng(seed)
    ev = np.zeros(n, EVENT_DTYPE)
    ev["ts_event"] = t0 + np.sort(rng.integers(0, max(n, 1) * S // 50, n))
    lag = rng.integers(0, int(lag_s * S) + 1, n) // (S // 100) * (S // 100)  # 10 ms steps: ties
    ev["ts_recv"] = ev["ts_event"] + lag
    ev["kind"] = rng.choice(KINDS, n)
    ev["price"] = 100.0 + rng.integers(-500, 500, n) * 0.1
    ev["qty"] = rng.integers(1, 50, n) * 0.001
    ev["symbol_id"] = rng.integers(0, n_sym + 1, n) * (rng.random(n) < 0.97)
    ev["side"] = rng.choice([-1, 1], n)
    r = rng.random(n)
    ev["price"][r < bad] = rng.choice([np.nan, 0.0, -1.0, np.inf, -np.inf], int((r < bad).sum()))
    q = rng.random(n)
    ev["qty"][q < bad / 2] = rng.choice([np.nan, np.inf], int((q < bad / 2).sum()))
    e = rng.random(n) < est
    ev["flags"][e] = int(Flag.RECV_ESTIMATED)
    ev["ts_recv"][e] = ev["ts_event"][e] + 250_000_000
    return ev


def _outputs(carry, raw, k, counts, book, n_need, stride):
    dt = raw.dtype
    n = len(carry) + len(raw)
    cap = 0 if book else int(counts[0])
    return dict(out=np.zeros(k, dt), rest=np.zeros(n - k, dt), ts=np.zeros(k, np.int64), sim=np.zeros(cap, dt),
                sim_ts=np.zeros(cap, np.int64), kept=np.zeros(cap, np.int64), liq=np.zeros(int(counts[1]), np.int64),
                bad=np.zeros(int(counts[3]), np.int64),
                grid_px=np.zeros(k), grid_sym=np.zeros(k, np.int64), delay=np.zeros(k // stride + 1, np.int64),
                kinds=np.zeros(256, np.int64), stat=np.zeros(11, np.int64))


def _run(mod, carry, raw, order, k, lo, hi, book, clean, need, stride, seen, counts):
    o = _outputs(carry, raw, k, counts, book, len(need), stride)
    need = need.copy()
    mod.fuse_chunk(carry, raw, order, k, lo, hi, book, clean, o["out"], o["rest"], o["ts"], o["sim"], o["sim_ts"],
                   o["kept"], o["liq"], o["bad"], need, o["grid_px"], o["grid_sym"], stride, seen, o["delay"], o["kinds"],
                   o["stat"])
    o["need"] = need
    return o


def _same_arrays(a: dict, b: dict):
    assert a.keys() == b.keys()
    for key in a:
        x, y = a[key], b[key]
        if x.dtype.names:  # event rows: byte for byte (a NaN price is the same NaN)
            assert x.tobytes() == y.tobytes(), key
        else:
            assert np.array_equal(x, y, equal_nan=True), key


@settings(max_examples=120, deadline=None)
@given(seed=hs.integers(0, 10_000), n_carry=hs.integers(0, 40), n_raw=hs.integers(1, 160),
       margin=hs.sampled_from([0, S // 2, 3 * S]), whole=hs.booleans(), sort=hs.booleans(), book=hs.booleans(),
       clean=hs.booleans(), span=hs.sampled_from(["open", "low", "high", "both"]),
       need=hs.lists(hs.integers(0, 40), max_size=3), stride=hs.sampled_from([1, 2, 3, 8]),
       seen=hs.integers(0, 20), fill=hs.sampled_from([-1, 0, 7 * S // 1000]), unknown=hs.floats(0, 0.5))
def test_the_kernels_equal_their_twin(seed, n_carry, n_raw, margin, whole, sort, book, clean, span, need, stride,
                                      seen, fill, unknown):
    """recv_plan and fuse_chunk, compiled, give the twin's outputs exactly, over carries, reads, cuts,
    orders, spans, fill rules, the grid's needs and the delays' strides."""
    from liqcore._jit import chunks as K

    ev = _events(seed, n_carry + n_raw)
    carry = ev[:n_carry][np.argsort(ev["ts_recv"][:n_carry], kind="stable")] if sort else ev[:n_carry].copy()
    raw = ev[n_carry:].copy()
    raw["ts_recv"][np.random.default_rng(seed).random(n_raw) < unknown] = -1  # recorded without a receive time
    plans = []
    for mod in (K, twin):
        ts, counts = np.zeros(n_carry + n_raw, np.int64), np.zeros(4, np.int64)
        read = raw.copy()
        plan = mod.recv_plan(carry, read, margin, whole, fill, ts, counts)
        plans.append((tuple(int(x) for x in plan), ts, counts, read))
    assert plans[0][0] == plans[1][0] and plans[0][3].tobytes() == plans[1][3].tobytes()
    assert np.array_equal(plans[0][1], plans[1][1]) and np.array_equal(plans[0][2], plans[1][2])
    (_lo, _cut, ordered, k), ts, counts, raw = plans[0]
    order = np.zeros(0, np.int64) if ordered else np.argsort(ts, kind="stable")
    t = np.sort(ts)
    lo = int(t[len(t) // 4]) if span in ("low", "both") else int(np.iinfo(np.int64).min)
    hi = int(t[3 * len(t) // 4]) if span in ("high", "both") else int(np.iinfo(np.int64).max)
    need = np.asarray(need, np.int64)
    got = _run(K, carry, raw, order, k, lo, hi, book, clean, need, stride, seen, counts)
    want = _run(twin, carry, raw, order, k, lo, hi, book, clean, need, stride, seen, counts)
    _same_arrays(got, want)


# ------------------------------------------------------------------------------ fused == the old passes
def _reads(ev: np.ndarray, n_parts: int, seed: int):
    """``ev`` (event-time order) cut into ``n_parts`` consecutive reads of random sizes."""
    rng = np.random.default_rng(seed)
    edges = np.unique(np.concatenate([[0, len(ev)], rng.integers(0, len(ev) + 1, max(n_parts - 1, 0))]))
    return [ev[a:b] for a, b in zip(edges[:-1], edges[1:]) if b > a]


def _same_reads(ev, n_parts, seed, margin, book, span, grid_prints, monkeypatch):
    """Read ``ev`` part after part both ways, carrying the rest; every chunk and summary equal."""
    from liqcore.backtest import chunked as C
    from liqcore.backtest import stream as ST
    from liqcore.execution import events as E
    from liqcore.venues.common import fill_recv

    monkeypatch.setattr(E, "GRID_PRINTS", grid_prints)
    monkeypatch.setattr(C, "LATENCY_SAMPLE", 40)  # the delays' stride doubles within the test
    n_sym = int(ev["symbol_id"].max()) + 1 if len(ev) else 1
    t = np.sort(ev["ts_recv"])
    lo = int(t[len(t) // 5]) if span else None
    hi = int(t[4 * len(t) // 5]) if span else None
    gate = ST._GridGate(True)
    d_new, d_old = C._Delays(), C._Delays()
    fuse = ST._Fuse(book=book, lo=lo, hi=hi, grid=gate, delays=d_new)
    carry_new = carry_old = np.zeros(0, EVENT_DTYPE)
    o = so = 0
    chunks = 0
    parts = _reads(ev, n_parts, seed)
    unknown = np.random.default_rng(seed).random(len(ev)) < 0.1  # recorded without a receive time
    for i, raw in enumerate(parts):
        last = i == len(parts) - 1
        read = raw.copy()
        read["ts_recv"][unknown[:len(read)]] = -1
        unknown = unknown[len(read):]
        filled = fill_recv(read.copy(), 3 * S // 1000)  # (the reader filled them before the old passes)
        k_old, old, carry_old = twin.numpy_passes_read(carry_old, filled, margin, lo, hi, book, n_sym, gate.seen,
                                                       d_old, o, so)
        _lo, _cut, k_new, ch, carry_new = fuse.read(carry_new, read, margin, n_sym, fill_ns=3 * S // 1000)
        assert read.tobytes() == filled.tobytes()  # the plan filled them in place, as the reader did
        assert k_new == k_old and carry_new.tobytes() == carry_old.tobytes()
        for final in ((False, True) if last else (False,)):
            if final:  # the last carry, handed out whole
                k_old, old, _r = twin.numpy_passes_read(np.zeros(0, EVENT_DTYPE), carry_old, -(1 << 62), lo, hi,
                                                        book, n_sym, gate.seen, d_old, o, so)
                ch = fuse.read(np.zeros(0, EVENT_DTYPE), carry_new, 0, n_sym, whole=True)[3]
            assert (ch is None) == (old is None)
            if ch is None:
                continue
            chunks += 1
            och, s = old
            assert ch.events.tobytes() == och.events.tobytes()  # same rows, same order, same cleaning
            assert ch.dropped == och.dropped and (ch.o, ch.so) == (och.o, och.so) == (o, so)
            assert np.array_equal(ch.ts, och.ts) and np.array_equal(ch.kept, och.kept)
            assert ch.sim.tobytes() == och.sim.tobytes() and np.array_equal(ch.sim_ts, och.sim_ts)
            assert ch.kinds() == s["kinds"] and ch.has_quote() == s["has_quote"]  # the queue fall-back's test
            assert ch.liquidations().tobytes() == s["liqs"].tobytes()
            cheap = ST.cheapest_trade(ch.events, None, ch.cheapest)
            assert (cheap is None) == (s["cheapest"] is None)
            assert cheap is None or cheap.tobytes() == s["cheapest"].tobytes()
            px, sym = ch.grid if ch.grid is not None else (None, None)
            for sid, want in s["grid"].items():
                got = px[sym == sid] if px is not None else ch.events["price"][
                    (ch.events["kind"] == int(Kind.TRADE)) & (ch.events["symbol_id"] == sid)][:len(want)]
                assert np.array_equal(got, want, equal_nan=True)
            for sid, p in s["grid"].items():  # the gate counts what it took, as it does in the backtest
                gate.seen[sid] = gate.seen.get(sid, 0) + len(p)
            o += len(ch.events)
            so += len(ch.sim)
    assert (d_new.seen, d_new.n_est, d_new.stride, d_new.n) == (d_old.seen, d_old.n_est, d_old.stride, d_old.n)
    assert np.array_equal(np.concatenate(d_new.parts + [np.zeros(0, np.int64)]),
                          np.concatenate(d_old.parts + [np.zeros(0, np.int64)]))
    assert d_new.note(0) == d_old.note(0)
    return chunks


@settings(max_examples=40, deadline=None)
@given(seed=hs.integers(0, 10_000), n=hs.integers(1, 400), n_parts=hs.integers(1, 8),
       margin=hs.sampled_from([0, S // 2, 3 * S]), book=hs.booleans(), span=hs.booleans(),
       grid_prints=hs.sampled_from([3, 20, 1 << 18]))
def test_the_fused_read_equals_the_old_passes(seed, n, n_parts, margin, book, span, grid_prints):
    """Generated events (out of receive order, ties, bad prints, estimated receive times, an unknown
    symbol id): read after read, the fused pass hands out the old passes' chunks, carries, print
    arrays, cleaning counts, kinds, quote test, grid prints, cheapest trade, liquidations and delays."""
    with pytest.MonkeyPatch.context() as mp:
        _same_reads(_events(seed, n), n_parts, seed, margin, book, span, grid_prints, mp)


@pytest.mark.parametrize("folder", ["binance-forceorder-2024-08", "binance-forceorder-2025-01",
                                    "binance-forceorder-2025-12"])
def test_the_fused_read_equals_the_old_passes_on_the_real_recordings(real_data, monkeypatch, folder):
    """The real Binance recordings (liquidations and aggTrades, receive times as recorded), read in
    parts both ways, under both fill rules, with and without a receive-time span."""
    from liqcore.dataset.load import load_events

    res = load_events([real_data / folder / "binance.csv", real_data / folder / "binance_trades.csv"],
                      warn=lambda _m: None)
    ev = res.events[np.argsort(res.events["ts_event"], kind="stable")]
    assert len(ev) > 4000 and (ev["kind"] == int(Kind.LIQUIDATION)).sum() > 100
    for i, (book, span) in enumerate(((False, False), (True, False), (False, True), (True, True))):
        assert _same_reads(ev, 12, i, S, book, span, 1 << 18, monkeypatch) >= 3  # chunks compared


def test_the_cheapest_trade_among_quotes_with_an_empty_side_warns_of_nothing():
    """A quote row of an empty side (price NaN, size 0) beside the trades: the cheapest trade is found without
    numpy's "invalid value encountered in multiply" reaching the user's terminal (it did, once a run)."""
    import warnings

    from liqcore.backtest import stream as ST

    ev = np.zeros(4, EVENT_DTYPE)
    ev["kind"] = [int(Kind.QUOTE), int(Kind.TRADE), int(Kind.QUOTE), int(Kind.TRADE)]
    ev["price"] = [np.nan, 100.0, np.inf, 99.0]
    ev["qty"] = [0.0, 2.0, 0.0, 1.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cheap = ST.cheapest_trade(ev, None)
    assert cheap is not None and float(cheap["price"][0]) == 99.0

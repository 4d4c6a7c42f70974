"""Latency as measured: order latencies drawn from a live journal (create sent -> the venue's answer),
optionally by the liquidation rate at the send, seeded; the run summary says which order and feed latency
it used."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore.backtest.run import backtest
from liqcore.synthetic.market import synthetic_market
from liqcore.config import Params
from liqcore.execution.latency import draw_latencies, journal_latencies, liquidation_rate, rate_bucket
from liqcore.live.journal import Journal

MS = 1_000_000
CALM, CRASH = 10 * MS, 500 * MS  # the journal's latencies: at under 1 liquidation/min, at 100+/min


def _journal(path, n=20, calm=CALM, crash=CRASH):
    """A journal written by the live journal's own writer: n entries sent in calm (0 liquidations/min, answered
    in ``calm`` ns) and n in a crash (250/min, answered in ``crash`` ns)."""
    j = Journal(path)
    t = 1_767_225_600_000_000_000
    for i in range(2 * n):
        cid = f"lc-ETH-{i}-abcdef"
        hot = i % 2 == 1
        sent = t + i * 60_000_000_000
        j.note("sent", {"client_id": cid, "kind": "entry", "recv_ns": sent - 1000, "sent_ns": sent,
                        "liq_per_min": 250.0 if hot else 0.0}, sent, key=cid)
        j.note("ack", {"client_id": cid, "kind": "entry", "status": "new", "ack_ns": sent + (crash if hot else calm)},
               sent, key=cid)
    j.close()
    return path


@pytest.fixture(scope="module")
def market():
    return synthetic_market(days=1, symbols=("ETHUSDT", "SOLUSDT"), seed=5, cache=False)


def test_journal_latencies_are_sent_to_answer(tmp_path):
    s = journal_latencies(_journal(tmp_path / "j.sqlite"))
    assert sorted(set(s.latency_ns.tolist())) == [CALM, CRASH] and len(s) == 40
    assert set(rate_bucket(s.rate[s.latency_ns == CRASH]).tolist()) == {3}
    assert set(rate_bucket(s.rate[s.latency_ns == CALM]).tolist()) == {0}


def test_draws_are_seeded_and_the_backtest_uses_them(tmp_path, market):
    j = str(_journal(tmp_path / "j.sqlite"))
    p = Params(order_latency_from=j, latency_seed=3)
    a, b = backtest(market, p), backtest(market, p)
    assert len(a.ledger) > 5 and a.ledger.tobytes() == b.ledger.tobytes()  # same seed, same fills
    got = (a.ledger["arrive_ns"] - a.ledger["signal_ns"]).tolist()
    # arrival = decision + the outbound half (latency-split 50 %) of a drawn round trip
    assert set(got) <= {CALM // 2, CRASH // 2} and len(set(got)) == 2
    c = backtest(market, Params(order_latency_from=j, latency_seed=4))
    assert (c.ledger["arrive_ns"] - c.ledger["signal_ns"]).tolist() != got or len(c.ledger) != len(a.ledger)
    assert a.summary()["order_latency_model"].startswith(f"drawn from the measured order latencies of {j} (unconditioned, seed 3)")
    # the constant is a round trip too: the default 100 ms puts 50 ms on the way out, as before, and says so
    k = backtest(market, Params())
    assert set((k.ledger["arrive_ns"] - k.ledger["signal_ns"]).tolist()) == {50 * MS}
    assert k.summary()["order_latency_model"] == \
        "constant 100 ms round trip (order-latency): 50 ms out, 50 ms back (latency-split 50 %)"
    assert k.summary()["fill_model"].endswith("order latency 100 ms round trip: 50 ms out, 50 ms back")
    # the same split applies to it: 80 % of 40 ms out
    k80 = backtest(market, Params(order_latency="40ms", latency_split="80%"))
    assert set((k80.ledger["arrive_ns"] - k80.ledger["signal_ns"]).tolist()) == {32 * MS}
    assert k80.summary()["order_latency_model"].startswith("constant 40 ms round trip (order-latency): 32 ms out, 8 ms back")


def test_latency_split_puts_the_share_of_a_round_trip_on_the_way_out(tmp_path, market):
    """A journal's send -> answer is a round trip: only its outbound share (latency-split) delays the order's
    arrival at the venue; outbound + inbound = the round trip."""
    from liqcore.execution.latency import split_latency

    out, back = split_latency([CALM, CRASH, 7], 0.25)
    assert out.tolist() == [CALM // 4, CRASH // 4, 2] and (out + back).tolist() == [CALM, CRASH, 7]
    with pytest.raises(ValueError, match="latency-split"):
        split_latency([CALM], 1.5)
    j = str(_journal(tmp_path / "j.sqlite"))
    for split, want in ((1.0, {CALM, CRASH}), (0.2, {CALM // 5, CRASH // 5}), (0.0, {1})):
        res = backtest(market, Params(order_latency_from=j, latency_seed=3, latency_split=split))
        got = set((res.ledger["arrive_ns"] - res.ledger["signal_ns"]).tolist())
        assert len(res.ledger) > 5 and got <= want and (len(got) == len(want)), (split, got)
        assert f"outbound {split * 100:g} % of each round trip" in res.summary()["order_latency_model"]
    assert Params.from_mapping({"latency_split": "30%"}).latency_split == pytest.approx(0.3)
    with pytest.raises(ValueError):
        Params.from_mapping({"latency_split": 2})


def test_draws_by_liquidation_rate_come_from_the_bucket_of_the_rate_at_the_decision(tmp_path, market):
    j = str(_journal(tmp_path / "j.sqlite"))
    res = backtest(market, Params(order_latency_from=j, order_latency_by_rate=True, latency_seed=1))
    led = res.ledger
    rates = liquidation_rate(res.events, led["signal_ns"])
    want = np.where(rate_bucket(rates) >= 2, CRASH, CALM) // 2  # buckets 1 and 2 borrow from the nearest (0 and 3)
    assert len(led) > 5 and ((led["arrive_ns"] - led["signal_ns"]) == want).all()
    assert (rate_bucket(rates) >= 2).any() and (rate_bucket(rates) < 2).any()
    assert "by the liquidation rate at the send" in res.summary()["order_latency_model"]


def test_draw_latencies_nearest_bucket_and_reproducible():
    from liqcore.execution.latency import LatencySamples

    s = LatencySamples(np.array([5, 6, 900, 901], np.int64), np.array([0.5, 0.2, 150.0, 300.0]), "x")
    a = draw_latencies(s, 200, 7, rates=np.full(200, 40.0))  # bucket 2: empty -> bucket 3 (nearest)
    assert set(a.tolist()) <= {900, 901} and (a == draw_latencies(s, 200, 7, rates=np.full(200, 40.0))).all()
    assert set(draw_latencies(s, 200, 7, rates=np.full(200, 3.0)).tolist()) <= {5, 6}
    assert set(draw_latencies(s, 200, 7).tolist()) == {5, 6, 900, 901}


def _cli(*argv, cwd):
    import os
    from pathlib import Path

    # this checkout's liqcore, whatever is installed; a cache of the test's own
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
           "LIQCORE_CACHE_DIR": str(Path(cwd) / "cache")}
    return subprocess.run([sys.executable, "-m", "liqcore", *argv], capture_output=True, timeout=180, cwd=cwd, env=env)


def test_cli_order_latency_journal_and_the_summary(tmp_path):
    j = _journal(tmp_path / "j.sqlite")
    base = ["backtest", "--synthetic", "--days", "0.5", "--symbols", "ETHUSDT", "--seed", "5", "--json", "--no-progress"]
    p = _cli(*base, "--order-latency", str(j), "--latency-seed", "2", cwd=tmp_path)
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    s = json.loads(p.stdout)["summary"]
    assert s["order_latency_model"].startswith(f"drawn from the measured order latencies of {j}")
    assert s["feed_latency_model"].startswith("recorded per event (ts_recv - ts_event)")
    text = [a for a in base if a != "--json"]
    p = _cli(*text, "--order-latency", str(j), cwd=tmp_path)
    assert p.returncode == 0 and f"order latency: drawn from the measured order latencies of {j}" in p.stdout.decode()
    assert "feed latency: recorded per event (ts_recv - ts_event)" in p.stdout.decode()
    p = _cli(*base, "--order-latency", str(tmp_path / "missing.sqlite"), cwd=tmp_path)
    assert p.returncode == 2 and b"does not exist" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    (tmp_path / "bad.sqlite").write_bytes(b"no database here" * 50)
    p = _cli(*base, "--order-latency", str(tmp_path / "bad.sqlite"), cwd=tmp_path)
    assert p.returncode == 2 and b"not a liqcore journal" in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_feed_latency_note_recorded_or_constant(tmp_path):
    """A recording with receive times: each event's own; one without: the constant feed-latency."""
    from liqcore.execution.latency import feed_latency_note
    from liqcore.types import EVENT_DTYPE, Flag

    ev = np.zeros(4, EVENT_DTYPE)
    ev["ts_event"] = [0, 10, 20, 30]
    ev["ts_recv"] = [5 * MS, 10 + 7 * MS, 20 + 250 * MS, 30 + 5 * MS]
    assert feed_latency_note(ev, 0).startswith("recorded per event (ts_recv - ts_event) on 4 events: median 6.0 ms")
    ev["flags"][2:] = int(Flag.RECV_ESTIMATED)
    note = feed_latency_note(ev, 80 * MS)
    assert "on 2 events" in note and "constant 80 ms (feed-latency) on 2 events recorded without a receive time" in note


@settings(max_examples=200, deadline=None)
@given(lat=st.lists(st.integers(-10**12, 10**12), min_size=1, max_size=60), est=st.lists(st.booleans(), max_size=60))
def test_feed_latency_note_figures_are_the_median_and_p99_of_the_recorded_latencies(lat, est):
    """The note's median and p99 (one percentile call) are numpy's median and 99th percentile of the
    recorded latencies, whatever their values and whichever events were recorded without a receive time."""
    from liqcore.execution.latency import feed_latency_note
    from liqcore.types import EVENT_DTYPE, Flag

    ev = np.zeros(len(lat), EVENT_DTYPE)
    ev["ts_event"] = 10**15
    ev["ts_recv"] = 10**15 + np.asarray(lat, np.int64)
    m = np.zeros(len(lat), bool)
    m[:len(est)] = est[:len(lat)]
    ev["flags"][m] = int(Flag.RECV_ESTIMATED)
    note = feed_latency_note(ev, 0)
    d = np.asarray(lat, np.int64)[~m].astype(float)
    if len(d):
        assert (f"on {len(d):,} events: median {np.median(d) / 1e6:.1f} ms, p99 {np.percentile(d, 99) / 1e6:.1f} ms"
                in note), note
    else:
        assert "recorded per event" not in note


def test_feed_latency_mode_constant_replaces_the_recorded_receive_times(market):
    rec = backtest(market, Params())
    d = rec.events["ts_recv"] - rec.events["ts_event"]
    assert len(np.unique(d)) > 100  # the synthetic feed's own jittered latency, per event
    assert rec.summary()["feed_latency_model"].startswith("recorded per event (ts_recv - ts_event)")
    c = backtest(market, Params(feed_latency_mode="constant", feed_latency="20ms"))
    assert ((c.events["ts_recv"] - c.events["ts_event"]) == 20 * MS).all()
    assert (np.diff(c.events["ts_recv"]) >= 0).all()  # replayed in the new receive order
    assert c.summary()["feed_latency_model"] == (f"constant 20 ms (feed-latency, feed-latency-mode constant) on all "
                                           f"{len(c.events):,} events: recorded receive times not used")
    assert (c.ledger["signal_ns"] != rec.ledger["signal_ns"][: len(c.ledger)]).any()  # decisions moved with it
    with pytest.raises(ValueError, match="feed-latency-mode: expected 'recorded' or 'constant'"):
        Params(feed_latency_mode="sometimes")


def test_a_sweep_draws_the_journal_latencies_as_the_backtest_does(tmp_path, market):
    """The sweep's cascade-mm fast path would use the constant: a cell with order-latency-from goes through
    the backtest front, so its row equals the backtest's."""
    from liqcore.backtest.run import detect, prepare_events
    from liqcore.sweep.cells import Window, evaluate_cells, prepare

    j = str(_journal(tmp_path / "j.sqlite", calm=90_000 * MS, crash=600_000 * MS))  # 1.5 and 10 minutes
    p = Params(order_latency_from=j, latency_seed=3)
    ev = prepare_events(market.events)
    rec, _ = detect(ev, p)
    from liqcore.execution.detect import confirmed_records

    row = evaluate_cells(prepare(ev, market.registry), p, confirmed_records(rec, ordered=True), [p, Params()],
                         [Window(None, None, "all")], equity=1.0)
    want = backtest(market, p).summary()
    const = backtest(market, Params()).summary()
    assert row[0]["trades"] == want["trades"] and row[0]["total_return"] == pytest.approx(want["total_return"])
    assert row[1]["total_return"] == pytest.approx(const["total_return"])
    assert want["total_return"] != const["total_return"]


def test_the_kernel_rows_get_the_way_out_the_way_back_and_the_exits(tmp_path):
    """A constant round trip split by latency-split; with a journal, the way back is the median of its
    round trips' inbound share; --exits engine reaches the rows; a live core (venue mode) models none of it
    (the venue's answers really come late)."""
    from liqcore.backtest.core import StrategyCore
    from liqcore.execution.arrays import symbol_params

    par = symbol_params(Params(order_latency="40ms", latency_split="25%", exits="engine"), None, 2)
    assert par["order_latency_ns"].tolist() == [10 * MS] * 2 and par["inbound_ns"].tolist() == [30 * MS] * 2
    assert par["engine_exits"].tolist() == [1, 1]
    par = symbol_params(Params(), None, 1)
    assert (int(par["order_latency_ns"][0]), int(par["inbound_ns"][0]), int(par["engine_exits"][0])) == (50 * MS, 50 * MS, 0)
    j = _journal(tmp_path / "j.sqlite", n=3)  # 3 calm + 3 crash round trips: median 255 ms, back at 50 %
    par = symbol_params(Params(order_latency_from=str(j), latency_split="80%"), None, 1)
    assert int(par["inbound_ns"][0]) == int(np.median([CALM - round(CALM * 0.8)] * 3 + [CRASH - round(CRASH * 0.8)] * 3))
    live = StrategyCore(Params(exits="engine"), ["ETHUSDT"], mode="venue")
    paper = StrategyCore(Params(exits="engine"), ["ETHUSDT"], mode="paper")
    assert int(live.par["inbound_ns"][0]) == 0 and int(live.par["engine_exits"][0]) == 0
    assert int(paper.par["inbound_ns"][0]) == 50 * MS and int(paper.par["engine_exits"][0]) == 1


def test_engine_exits_wait_for_the_way_back_and_out(market):
    """--exits engine: every take-profit / stop closes at or after the fill + the way back + the way out;
    the venue's exits (default) are not delayed; timed exits never before the fill + the way back."""
    from liqcore._jit import sim

    base = dict(order_latency="4s", latency_split="25%", take_profit="0.1%", stop_loss="0.1%")
    v = backtest(market, Params(**base))
    e = backtest(market, Params(**base, exits="engine"))
    assert len(v.ledger) > 5 and len(e.ledger) > 5
    assert e.summary()["fill_model"].endswith("1000 ms out, 3000 ms back, exits watched by the engine")
    for t in e.ledger:
        if int(t["exit_reason"]) in (sim.TAKE_PROFIT, sim.STOP_LOSS, sim.TRAIL):
            assert int(t["exit_ns"]) >= int(t["entry_ns"]) + 3_000 * MS + 1_000 * MS  # back 3 s + out 1 s
        else:
            assert int(t["exit_ns"]) >= int(t["entry_ns"]) + 3_000 * MS
    quick = [t for t in v.ledger if int(t["exit_ns"]) < int(t["entry_ns"]) + 4_000 * MS]
    assert quick, "the venue's exits: some close within the engine's 4 s (the check above can fail)"

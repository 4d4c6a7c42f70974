"""Instrument scope and several (venue, symbol) pairs read in chunks equal the whole load.

* the chunk walk (liqcore._jit.xscope.sparse_keep) equals its twin (pysrc/xscope.py), state and all;
* instrument-scope detection chunk by chunk (liqcore.backtest.chunked_scope.InstrumentChunks) gives the
  whole stream's records byte for byte and its counts, on random streams of several venues with late
  events, gaps and venue-wide gaps, cut anywhere;
* ``backtest DS --scope instrument`` on a two-venue dataset is read in chunks (several of them) and its
  result -- ledger, records, detector counts -- equals the whole load's, over chunk lengths, trade
  venues and fill rules; a two-venue dataset in venue scope too.
"""
from __future__ import annotations

import functools
from types import SimpleNamespace

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liqcore._libs.detection import CascadeDetector
from liqcore._libs.detection import detect
from liqcore.types import CASCADE_DTYPE
from tests.kernels.test_detector_property import params, streams


def _state(G):
    return [np.full(G, np.iinfo(np.int64).min, np.int64), np.zeros(G, np.uint32), np.zeros(G, np.bool_),
            np.zeros(G, np.int64), np.zeros(G, np.int8), np.zeros(G, np.int64)]


@settings(max_examples=150, deadline=None)
@given(p=params(), s=streams(bad=True), n_groups=st.integers(1, 3), data=st.data())
def test_sparse_keep_matches_twin(p, s, n_groups, data):
    from liqcore._jit.xscope import sparse_keep
    from pysrc.xscope import sparse_keep as twin

    W, ev = s
    p["window_ns"] = W
    marks = np.zeros(len(ev), np.int8)
    CascadeDetector(**p).run(ev, flush=False, marks=marks, thresholds=np.full(len(ev), np.nan))
    group = np.array(data.draw(st.lists(st.integers(0, n_groups - 1), min_size=8, max_size=8)), np.int64)
    G = int(group.max()) + 1
    cut = data.draw(st.integers(0, len(ev)))
    ks, ts = _state(G), _state(G)
    for a, b in ((0, cut), (cut, len(ev))):  # two chunks: the state carries
        e = ev[a:b]
        args = (e["ts_event"], e["symbol_id"], e["kind"], e["venue"], marks[a:b], group, W)
        sk, ik, lk = sparse_keep(*args, *ks)
        st_, it, lt = twin(*args, *ts)
        assert sk.tolist() == st_.tolist() and ik.tolist() == it.tolist() and lk == lt
        for x, y in zip(ks, ts):
            assert x.tolist() == y.tolist()
        for x in (ks, ts):  # the caller's part: a clock setter of this chunk not listed is carried
            x[4][x[4] == 1] = 2


def _whole(ev, p, group):
    marks = np.zeros(len(ev), np.int8)
    thr = np.full(len(ev), np.nan)
    _, counts = CascadeDetector(**p).run(ev, flush=False, marks=marks, thresholds=thr)
    recs, _, xc = detect(ev, marks, thr, group, p["window_ns"], p["min_large"], flush=True)
    counts = dict(counts)
    counts.update(xc)
    return recs, counts


def _in_chunks(ev, p, group, cuts):
    """Instrument-scope detection over ``ev`` cut at ``cuts``: ``(records, counts, chunks)``, the counts
    the chunks' summed with the end of input's."""
    from liqcore.backtest.chunked_scope import InstrumentChunks

    xs = InstrumentChunks(SimpleNamespace(window_ns=p["window_ns"], min_large=p["min_large"]), group=group,
                          detector=CascadeDetector(**p))
    got, counts = [], {}
    for a, b in zip([0] + list(cuts), list(cuts) + [len(ev)]):
        r, c = xs.run(ev[a:b], a)
        got.append(r)
        for k, v in c.items():
            counts[k] = counts.get(k, 0) + int(v)
    rest, xc = xs.finish()
    counts.update(xc)
    return np.concatenate(got + [rest]), counts, xs


#: the hand-built streams' detector: a liquidation at or above the median of the earlier ones is large
_HAND = dict(quantile=0.5, history=20, min_history=2, refresh_ns=0, window_ns=10_000, min_large=2)


def _hand_built(rows):
    """Events of ``(ts_event, qty, symbol_id, side, kind, venue)`` rows at price 100, received 5 ns later."""
    from liqcore.types import EVENT_DTYPE

    return np.array([(t, t + 5, 100.0, q, sid, side, k, v, 0) for t, q, sid, side, k, v in rows], dtype=EVENT_DTYPE)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=params(), s=streams(bad=True), n_groups=st.integers(1, 3), data=st.data())
def test_instrument_detection_in_chunks_equals_the_whole_stream(p, s, n_groups, data):
    W, ev = s
    p["window_ns"] = W
    group = np.array(data.draw(st.lists(st.integers(0, n_groups - 1), min_size=8, max_size=8)), np.int64)
    want, want_counts = _whole(ev, p, group)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(ev)), max_size=5)))
    got, counts, xs = _in_chunks(ev, p, group, cuts)
    assert got.dtype == CASCADE_DTYPE
    assert got.tobytes() == want.tobytes()
    assert counts == {k: int(v) for k, v in want_counts.items()}
    assert len(xs.rows) <= len(ev)


def test_a_late_liquidation_is_clamped_to_the_clock_another_venue_set_in_an_earlier_chunk():
    """A Binance trade at 1000 (not Binance's first event, nor the one the open cascade expires at)
    sets the instrument's clock; Bybit's large liquidations at 950 and 960 come after it (late): the
    cascade's last large liquidation is at 1000, as in the whole stream, wherever the cut falls (the
    trade, neither a liquidation nor a gap, is carried to the chunk that needs it)."""
    from liqcore.types import Kind, Side, Venue

    liq, trade, by, bn = int(Kind.LIQUIDATION), int(Kind.TRADE), int(Venue.BYBIT), int(Venue.BINANCE)
    rows = [(90, 1.0, 1, int(Side.SELL), trade, bn)]  # Binance seen before: the trade at 1000 is not its first
    rows += [(100 + 10 * i, 1.0, 0, int(Side.LONG), liq, by) for i in range(5)]
    rows += [(1000, 1.0, 1, int(Side.BUY), trade, bn), (950, 50.0, 0, int(Side.LONG), liq, by),
             (960, 60.0, 0, int(Side.LONG), liq, by)]
    ev = _hand_built(rows)
    group = np.array([0, 0])
    want, want_counts = _whole(ev, _HAND, group)
    assert want["end_ns"].tolist() == [130, 1000] and want_counts["late"] == 2
    for cut in range(len(ev) + 1):
        got, counts, _ = _in_chunks(ev, _HAND, group, [cut])
        assert got.tobytes() == want.tobytes(), cut
        assert counts["late"] == 2


def test_the_flush_ends_open_cascades_at_the_latest_event_time_of_every_event_not_only_the_kept_rows():
    """The end-of-input flush ends an open cascade at the latest event time seen (the detector's rule):
    Bybit's cascade (instrument 0) is still open when the input ends with a Binance trade at 5000 of
    instrument 1, a trade the cross-venue rule does not otherwise need (neither a liquidation nor a gap,
    not Binance's first event there, not the one a cascade expires at); its FLUSH record is emitted at
    5000 as in the whole stream, wherever the cut falls (the kept rows end at 210)."""
    from liqcore.types import EndReason, Kind, Side, Venue

    liq, trade, by, bn = int(Kind.LIQUIDATION), int(Kind.TRADE), int(Venue.BYBIT), int(Venue.BINANCE)
    rows = [(90, 1.0, 1, int(Side.SELL), trade, bn)]
    rows += [(100 + 10 * i, 1.0, 0, int(Side.LONG), liq, by) for i in range(5)]
    rows += [(200, 50.0, 0, int(Side.LONG), liq, by), (210, 60.0, 0, int(Side.LONG), liq, by),
             (5000, 1.0, 1, int(Side.BUY), trade, bn)]
    ev = _hand_built(rows)
    group = np.array([0, 1])
    want, want_counts = _whole(ev, _HAND, group)
    assert want["end_reason"].tolist() == [int(EndReason.NONE), int(EndReason.FLUSH)]
    assert want["emit_ns"].tolist() == [130, 5000] and want_counts["cascades"] == 1
    for cut in range(len(ev) + 1):
        got, counts, xs = _in_chunks(ev, _HAND, group, [cut])
        assert got.tobytes() == want.tobytes(), cut
        assert xs.rows["ts_event"].max() == 210  # the trade at 5000 is not a row the rule reads
        assert counts == {k: int(v) for k, v in want_counts.items()}


def test_a_chunk_of_fewer_rows_than_the_group_id_of_its_carried_clock_setter_is_read():
    """A Binance trade at 200 sets instrument 1's clock in the first chunk and is carried (not listed: not
    Binance's first event there, neither a liquidation nor a gap); the next chunk is one row, a late
    liquidation of instrument 1 at 150 that is clamped to that clock.  The carried setter is named by its
    group (1), not by a row of the chunk: the one-row chunk is read (no IndexError), and every split
    gives the whole stream's records and counts."""
    from liqcore.types import Kind, Side, Venue

    liq, trade, bn = int(Kind.LIQUIDATION), int(Kind.TRADE), int(Venue.BINANCE)
    rows = [(100, 1.0, 1, int(Side.SELL), trade, bn), (200, 1.0, 1, int(Side.BUY), trade, bn),
            (150, 1.0, 1, int(Side.LONG), liq, bn)]
    rows += [(300 + 10 * i, 1.0, 1, int(Side.LONG), liq, bn) for i in range(3)]
    ev = _hand_built(rows)
    group = np.array([0, 1])
    want, want_counts = _whole(ev, _HAND, group)
    assert len(want) > 0 and want_counts["late"] == 1
    for a in range(len(ev) + 1):
        for b in range(a, len(ev) + 1):
            got, counts, _ = _in_chunks(ev, _HAND, group, [a, b])
            assert got.tobytes() == want.tobytes(), (a, b)
            assert counts == {k: int(v) for k, v in want_counts.items()}


# ----------------------------------------------------------------------------------- a dataset
@functools.lru_cache(maxsize=None)
def _dataset(root: str) -> str:
    from liqcore.synthetic.venues import venue_market
    from liqcore.dataset import write_dataset

    m = venue_market(days=3, venues=("bybit", "binance"), lead_ms={"bybit": 150}, seed=7)
    path = f"{root}/vm"
    write_dataset(m.events, path, m.registry)
    return path


@pytest.fixture(scope="module")
def two_venues(tmp_path_factory):
    return _dataset(str(tmp_path_factory.mktemp("scope")))


def _whole_instrument(path, params, strategy, trade_venue):
    """The whole load's --scope instrument, as the command ran it before chunks."""
    from liqcore.backtest.run import prepare_events, run_strategy
    from liqcore.dataset import load_dataset
    from liqcore.instruments import detect_instruments, groups, load_table, retarget

    r = load_dataset(path)
    ev = prepare_events(r.events)
    group, _ = groups(r.registry, load_table(None))
    recs, _, counts, _ = detect_instruments(ev, r.registry, params, group=group)
    if trade_venue:
        recs, counts["dropped_no_trade_venue"] = retarget(recs, r.registry, group, trade_venue)
    res = run_strategy(ev, r.registry, params, strategy, equity=10_000.0, records=recs)
    res.detector_counts = counts
    return res


def _same(a, b):
    assert a.ledger.tobytes() == b.ledger.tobytes()
    assert a.records.tobytes() == b.records.tobytes()
    assert {k: int(v) for k, v in a.detector_counts.items()} == {k: int(v) for k, v in b.detector_counts.items()}
    assert a.summary() == b.summary()
    assert [tuple(x) for x in a.registry] == [tuple(x) for x in b.registry]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hours=st.sampled_from([1, 2, 5, 7, 24, 72]), trade_venue=st.sampled_from([None, "binance", "bybit"]),
       fill=st.sampled_from(["through", "touch", "queue"]))
def test_scope_instrument_dataset_in_chunks_equals_whole_load(two_venues, hours, trade_venue, fill):
    from liqcore.backtest.run import backtest_chunked, resolve_strategy
    from liqcore.config import Params
    from liqcore.instruments import load_table

    strategy, params = resolve_strategy("cascade-mm", Params(fill=fill))
    want = _whole_instrument(two_venues, params, strategy, trade_venue)
    seen = []
    got = backtest_chunked(two_venues, params, strategy, equity=10_000.0, chunk_days=hours / 24,
                           on_chunk=seen.append, scope="instrument", trade_venue=trade_venue,
                           table=load_table(None))
    _same(got, want)
    assert got.n_events == sum(seen)
    if hours < 72:  # memory follows the chunk: no chunk holds the span
        assert len(seen) >= 72 // hours - 1 and max(seen) < got.n_events


def test_two_venue_dataset_in_venue_scope_is_read_in_chunks(two_venues):
    from liqcore.backtest.run import backtest, backtest_chunked, resolve_strategy
    from liqcore.config import Params

    strategy, params = resolve_strategy("cascade-mm", Params(fill="queue"))
    want = backtest(two_venues, params, equity=10_000.0, chunk_days=0)
    seen = []
    got = backtest_chunked(two_venues, params, strategy, equity=10_000.0, chunk_days=0.25, on_chunk=seen.append)
    assert len(seen) >= 10 and max(seen) < got.n_events
    assert got.ledger.tobytes() == want.ledger.tobytes() and len(got.ledger) > 0
    assert got.records.tobytes() == want.records.tobytes()
    assert got.summary() == want.summary()


def test_cli_scope_instrument_reads_a_dataset_in_chunks(two_venues, capsysbinary):
    from liqcore.cli import main

    base = ["backtest", two_venues, "--scope", "instrument", "--trade-venue", "binance", "--json", "--no-progress"]
    assert main(base + ["--chunk-days", "0"]) == 0
    whole = orjson.loads(capsysbinary.readouterr().out)
    assert main(base) == 0  # the default: chunks
    chunked = orjson.loads(capsysbinary.readouterr().out)
    assert chunked == whole and len(whole["trades"]) > 0
    assert {t["venue"] for t in whole["trades"]} == {"binance"}
    assert main(base[:-2] + ["--no-progress"]) == 0
    err = capsysbinary.readouterr().err.decode()
    assert "replaying every event (--scope instrument" in err and "reading the span whole" not in err


# ------------------------------------------------------------------------------ reading processes
@pytest.mark.parametrize("scope", ["venue", "instrument"])
def test_reading_processes_give_the_one_process_result(two_venues, scope):
    from liqcore.backtest.run import backtest_chunked, resolve_strategy
    from liqcore.config import Params

    strategy, params = resolve_strategy("cascade-mm", Params(fill="queue"))
    kw = dict(scope=scope, trade_venue="bybit") if scope == "instrument" else {}
    one, two = [], []
    a = backtest_chunked(two_venues, params, strategy, equity=10_000.0, chunk_days=0.2, on_chunk=one.append, **kw)
    b = backtest_chunked(two_venues, params, strategy, equity=10_000.0, chunk_days=0.2, on_chunk=two.append,
                         workers=2, **kw)
    assert one == two and len(one) >= 10  # the same chunks, in the same order
    _same(a, b)
    assert len(a.ledger) > 0


def test_cli_workers_same_output_and_a_bad_count_is_one_line(two_venues, capsysbinary):
    from liqcore.cli import main

    base = ["backtest", two_venues, "--read", "all", "--chunk-days", "0.25", "--json", "--no-progress"]
    assert main(base) == 0
    one = capsysbinary.readouterr().out
    assert main(base + ["--workers", "2"]) == 0
    assert capsysbinary.readouterr().out == one
    assert main(base + ["--workers", "-1"]) == 2
    err = capsysbinary.readouterr().err.decode().strip().splitlines()
    assert err == ["liqcore backtest: error: workers: must be >= 0 (0: one per core); got -1"]


def _alive_with(marker: str) -> list[int]:
    import os

    me = os.getpid()
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) != me:
            try:
                with open(f"/proc/{d}/cmdline", "rb") as fh:
                    if marker.encode() in fh.read():
                        out.append(int(d))
            except OSError:
                pass
    return out


def test_ctrl_c_stops_the_reading_processes_within_a_second(two_venues, tmp_path):
    import time

    from tests.cli.test_interrupt import LAST, _interrupt

    # 10-minute chunks: hundreds of ranges, read by two processes, for many seconds
    rc, took, err, done = _interrupt(["backtest", two_venues, "--read", "all", "--chunk-days", "0.007",
                                      "--workers", "2", "--no-progress", "--json"], 2.0, tmp_path)
    assert not done, "the backtest finished before the interrupt: make its chunks smaller"
    assert rc == 130 and err.strip().splitlines()[-1] == "liqcore backtest: interrupted", err[-2000:]
    assert "Traceback" not in err
    assert took < 1.0, LAST[0]  # (less the time it waited for a CPU: see _interrupt)
    t0 = time.monotonic()
    while _alive_with(two_venues) and time.monotonic() - t0 < 30:  # no reading process outlives it
        time.sleep(0.05)
    assert _alive_with(two_venues) == []


# -------------------------------------------------------------------------------------- real data
@pytest.mark.parametrize("folder", ["binance-forceorder-2024-08", "binance-forceorder-2025-01",
                                    "binance-forceorder-2025-12"])
def test_every_symbol_of_the_real_recordings_in_chunks_equals_the_whole_load(real_data, tmp_path, folder):
    """The real Binance recordings hold the liquidations of every symbol (and one symbol's trades): the
    whole selection, read in chunks (several pairs), in venue and in instrument scope, with reading
    processes, gives the whole load's trades, records and counts."""
    from liqcore.backtest.run import backtest, backtest_chunked, resolve_strategy
    from liqcore.backtest.stream import NotStreamable
    from liqcore.config import Params
    from liqcore.dataset import convert_to_dataset, load_dataset
    from liqcore.instruments import load_table

    ds = tmp_path / "ds"
    files = [real_data / folder / "binance.csv", real_data / folder / "binance_trades.csv"]
    convert_to_dataset([f for f in files if f.is_file()], ds, warn=lambda _m: None)
    strategy, params = resolve_strategy("cascade-mm", Params.from_mapping({"quantile": "0.9", "min-history": 5}))
    r = load_dataset(str(ds))
    assert len(r.registry) > 5  # many symbols' liquidations
    want = backtest(r, params, equity=10_000.0)
    want_i = _whole_instrument(str(ds), params, strategy, "binance")
    assert want.summary()["cascades"] > 0
    ran = 0
    for days, workers in ((0.01, 1), (0.2, 2), (1.0, 1), (3.0, 2)):
        try:
            got = backtest_chunked(str(ds), params, strategy, equity=10_000.0, chunk_days=days, workers=workers)
        except NotStreamable as exc:  # a recording's pause at a cut: refused (the command loads it whole)
            assert "max-time-jump" in str(exc)
            continue
        ran += 1
        assert got.to_json() == want.to_json() and got.detector_counts == want.detector_counts
        assert got.ledger.tobytes() == want.ledger.tobytes()
        got = backtest_chunked(str(ds), params, strategy, equity=10_000.0, chunk_days=days, workers=workers,
                               scope="instrument", trade_venue="binance", table=load_table(None))
        _same(got, want_i)
    # 2025-01's recording pauses for longer than max-time-jump across every cut tried: refused each time
    assert ran >= 1 or folder == "binance-forceorder-2025-01"


def test_the_default_chunk_counts_every_selected_pair_of_the_day(two_venues, monkeypatch):
    """A chunk of several pairs holds all their rows of its hours: the default chunk length comes from a
    day's rows summed over the pairs (one pair at a time, a sweep's partition: the densest pair's)."""
    from liqcore.backtest import chunked as C
    from liqcore.dataset import read as D

    rows = D.rows_per_partition(two_venues, D.dataset_info(two_venues))
    per_day: dict = {}
    for (_v, _s, d), n in rows.items():
        per_day[d] = per_day.get(d, 0) + n
    day, pair = max(per_day.values()), max(rows.values())
    assert len({(v, s) for v, s, _d in rows}) == 2 and day > pair
    monkeypatch.setattr(C, "DEFAULT_CHUNK_ROWS", day // 4 + 1)
    assert C.default_chunk_days(two_venues) == 6 / 24
    assert C.default_chunk_days(two_venues, together=False) == int(24 * (day // 4 + 1) / pair) / 24


def test_the_chunked_read_shows_its_rows_as_it_goes(monkeypatch):
    """The command's display of a chunked read: rows done of the selected days' rows, with the percentage."""
    import rich.console

    from liqcore.commands.inputs import Steps

    monkeypatch.setattr(rich.console.Console, "is_terminal", property(lambda self: True))
    with Steps(True) as steps:
        advance = steps.counted("reading the dataset in chunks of 1 hour(s)", 4_000, "rows of the selected days")
        advance(1_000)
        assert steps._p.tasks[-1].description == ("reading the dataset in chunks of 1 hour(s): 1,000 of 4,000 rows "
                                                  "of the selected days (25 %)")
        advance(3_000)
        assert steps._p.tasks[-1].description.endswith("4,000 of 4,000 rows of the selected days (100 %)")
    with Steps(False) as steps:  # --no-progress / --json: nothing shown, nothing counted
        assert steps.counted("x", 10, "rows")(5) is None and steps._p is None


@pytest.mark.parametrize("cores", [1, 2])
def test_the_full_replay_in_one_process_says_workers_would_read_ahead(two_venues, capsys, monkeypatch, cores):
    """Without --workers, a full replay of several chunks on a machine of several cores says once what --workers
    does; not with --workers given (1 included), not under --json, not on one core."""
    import os

    from liqcore.cli import main

    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    base = ["backtest", two_venues, "--read", "all", "--chunk-days", "0.5", "--no-progress"]
    note = f"backtest: note: --workers 2 (0: one per core, {cores} here) reads the next chunks in other processes"
    assert main(base) == 0
    err = capsys.readouterr().err
    assert (err.count(note) == 1) == (cores > 1), err[-2000:]
    for extra in (["--workers", "1"], ["--workers", "2"], ["--json"]):
        assert main(base + extra) == 0
        assert "backtest: note: --workers" not in capsys.readouterr().err

"""A checked read lays a file's rows out in event order by one compiled pass (:mod:`liqcore.dataset.file_events`,
the kernel ``liqcore._libs.reading``) where its sections allow, else by the numpy passes: the same events, byte
for byte, on generated books (quotes and trades of equal event and receive times, a trade received before a
quote of its time, liquidations among them, lone bids the writer cannot pair, small row groups: several groups
per section, reads cutting them) and on the bundled real recordings, whole and by receive-time windows."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import liqcore.dataset.checked as C
import liqcore.dataset.read as iod
from liqcore.dataset import load_dataset, write_dataset
from liqcore.types import EVENT_DTYPE, Kind, Side, SymbolRegistry, Venue

T0 = 1_722_470_400_000_000_000 + 86_400_000_000_000 - 40_000  # 40 us before midnight: two partitions

_ROW = st.tuples(st.sampled_from(["trade", "quote", "quote", "liq"]), st.integers(0, 15), st.integers(-3, 6),
                 st.integers(0, 5))
_BID = st.tuples(st.just("bid"), st.integers(0, 15), st.integers(-3, 6), st.integers(0, 5))


def _events(draws):
    reg = SymbolRegistry()
    sid = reg.id(int(Venue.BINANCE), "BTCUSDT")
    rows = []
    for kind, dt, lag, p in draws:
        te = T0 + dt * 1000
        tr = te + 10_000 + lag * 1000
        if kind == "trade":
            rows.append((te, tr, 100.0 + p, 0.5, sid, int(Side.BUY), int(Kind.TRADE), int(Venue.BINANCE), 0))
        elif kind == "liq":
            rows.append((te, tr, 100.0 + p, 1.0, sid, int(Side.LONG), int(Kind.LIQUIDATION), int(Venue.BINANCE), 0))
        else:
            rows.append((te, tr, 99.5 + p, 1.0 + p, sid, int(Side.BUY), int(Kind.QUOTE), int(Venue.BINANCE), 0))
            if kind == "quote":  # its ask (a lone bid: a row the writer keeps without one)
                rows.append((te, tr, 100.5 + p, 2.0, sid, int(Side.SELL), int(Kind.QUOTE), int(Venue.BINANCE), 0))
    ev = np.array(rows, dtype=EVENT_DTYPE)
    return ev[np.argsort(ev["ts_event"], kind="stable")], reg


def _both(monkeypatch, ds, **kw):
    """The load through the compiled layout and through the numpy passes (without trade ids, as a backtest reads;
    with them the numpy passes carry the ids along); how many files the kernel laid out."""
    import liqcore.dataset.file_events as FE

    used = []
    real = FE.file_events

    def spy(*a):
        got = real(*a)
        used.append(got is not None)
        return got

    with monkeypatch.context() as mp:
        mp.setattr(C, "file_events", spy)
        C._RECENT.clear()
        fast = load_dataset(ds, check=False, trade_ids=False, **kw)
    with monkeypatch.context() as mp:
        mp.setattr(C, "file_events", lambda *a: None)
        C._RECENT.clear()
        slow = load_dataset(ds, check=False, trade_ids=False, **kw)
    assert fast.files[str(ds)]["checked"] and slow.files[str(ds)]["checked"]
    assert fast.events.tobytes() == slow.events.tobytes(), kw
    assert fast.files[str(ds)]["records"] == slow.files[str(ds)]["records"] and fast.rejects == slow.rejects, kw
    return fast, sum(used)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# a trade received before the quote of its event time (the trade first), a liquidation stamped between
@example(draws=[("quote", 0, 3, 0), ("trade", 0, 0, 1), ("liq", 1, 0, 0), ("trade", 2, 0, 2)], bids=[], cut=0, span=5,
         rows=3)
@given(draws=st.lists(_ROW, min_size=1, max_size=60), bids=st.lists(_BID, max_size=2), cut=st.integers(0, 25),
       span=st.integers(1, 20), rows=st.sampled_from([3, 7, 1000]))
def test_the_compiled_layout_gives_the_numpy_passes_events(tmp_path_factory, monkeypatch, draws, bids, cut, span,
                                                           rows):
    draws = draws + bids  # (a lone bid: its file's quotes are laid out by the numpy passes)
    ev, reg = _events(draws)
    ds = tmp_path_factory.mktemp("fe") / "ds"
    monkeypatch.setattr(iod, "ROW_GROUP_ROWS", rows)
    write_dataset(ev, ds, reg, checked=True)
    lo = T0 + 10_000 + cut * 1000
    whole, used = _both(monkeypatch, ds)
    assert 0 < len(whole.events) <= len(ev)  # (the writer drops repeated rows)
    if any(d[0] == "quote" for d in draws) and not any(d[0] == "bid" for d in draws):
        assert used >= 1  # every quote row carries its ask: the kernel lays the files with quotes out
    for kw in ({"recv_range": (lo, lo + span * 1000, 0)}, {"start_ns": lo - 10_000, "end_ns": lo + span * 1000},
               {"kinds": [int(Kind.TRADE), int(Kind.QUOTE)], "recv_range": (lo, lo + span * 1000, 0)},
               {"kinds": [int(Kind.QUOTE)]}, {"max_clock_skew_ns": 2_000}):
        _both(monkeypatch, ds, **kw)


def test_the_compiled_layout_gives_the_numpy_passes_events_on_real_recordings(real_data, tmp_path, monkeypatch):
    """The bundled Binance recordings (liquidations and trades), converted with small row groups, read whole and
    by receive-time windows of ten minutes (a window-local backtest's reads): the kernel lays them out, the same
    events as the numpy passes."""
    from liqcore.dataset import convert_to_dataset

    monkeypatch.setattr(iod, "ROW_GROUP_ROWS", 2_000)
    n_used = 0
    for folder in sorted(p for p in real_data.iterdir() if p.is_dir()):
        ds = tmp_path / folder.name
        convert_to_dataset(sorted(folder.glob("*.csv")), ds)
        whole, used = _both(monkeypatch, ds)
        n_used += used
        tr = np.sort(whole.events["ts_recv"])
        assert len(tr) > 1000
        for a in np.linspace(int(tr[0]), int(tr[-1]), 6)[:-1].astype(np.int64):
            _, used = _both(monkeypatch, ds, recv_range=(int(a), int(a) + 600_000_000_000, 0))
            n_used += used
    assert n_used > 0

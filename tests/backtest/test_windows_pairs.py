"""The default read of a selection of several (venue, symbol) pairs (``liqcore.backtest.pairs``): one account over
every pair, each step reading the pairs in play alone, gives the full replay's ledger, summary, counts and records
-- with the account's limits binding across pairs (the daily loss limit, max-symbols, the equity that sizes each
order), late and out-of-order liquidations, clocks ahead, a thin book read back pair by pair, two venues -- and
reads a fraction of the rows.  A plan that drops a live pair from its reads gives another result (the negative
control)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liqcore.backtest.run import backtest
from liqcore.config import Params
from liqcore.types import Kind
from tests.backtest.test_backtest_default_read import _same_ledger, _same_records, _write
from tests.backtest.test_backtest_windows import _summary

_DS: dict = {}
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")


@pytest.fixture(autouse=True)
def _every_plan(monkeypatch):
    """The plan runs whatever share of the rows its windows meet (the markets here are dense with cascades: the
    default gives way to the sequential read past half of them, a choice of speed alone)."""
    from liqcore.backtest import windows

    monkeypatch.setattr(windows, "MOST", 1.0)


def _pairs_dataset(tmp_path_factory, seed: int, late_s: float, ahead_s: float, rows: int, thin: bool) -> str:
    """A 2-day synthetic market of three symbols with their top of book (``thin``: every 40th update kept, so a
    window's book was often set minutes before it), a random half of the liquidations received up to ``late_s``
    late and a quarter stamped up to 60 s early, a tenth of the trades received up to ``ahead_s`` before their own
    time; row groups of ``rows``."""
    key = ("pairs", seed, late_s, ahead_s, rows, thin)
    if key not in _DS:
        from liqcore.synthetic.market import synthetic_market

        m = synthetic_market(days=2, symbols=SYMBOLS, seed=seed, cache=False, effects={"book": True})
        ev = m.events.copy()
        if thin:
            keep = np.ones(len(ev), bool)
            for sid in range(len(SYMBOLS)):
                q = np.flatnonzero((ev["kind"] == int(Kind.QUOTE)) & (ev["symbol_id"] == sid))
                keep[q] = False
                keep[q[::80]] = keep[q[1::80]] = True  # (a bid and its ask, every 40th update)
            ev = ev[keep]
        rng = np.random.default_rng(seed)
        liq = np.flatnonzero(ev["kind"] == int(Kind.LIQUIDATION))
        late = liq[rng.random(len(liq)) < 0.5]
        ev["ts_recv"][late] += (rng.random(len(late)) * late_s * 1e9).astype(np.int64)
        early = liq[rng.random(len(liq)) < 0.25]
        ev["ts_event"][early] -= (rng.random(len(early)) * 60e9).astype(np.int64)
        tr = np.flatnonzero(ev["kind"] == int(Kind.TRADE))
        ahead = tr[rng.random(len(tr)) < 0.1]
        ev["ts_recv"][ahead] = ev["ts_event"][ahead] - (rng.random(len(ahead)) * ahead_s * 1e9).astype(np.int64)
        _DS[key] = _write(ev, m.registry, tmp_path_factory.mktemp("pairs") / "ds", rows)
    return _DS[key]


def _two_venues(tmp_path_factory) -> str:
    if "venues" not in _DS:
        from liqcore.synthetic.venues import venue_market

        m = venue_market(days=2, venues=("bybit", "binance"), lead_ms={"bybit": 150}, seed=7)
        _DS["venues"] = _write(m.events, m.registry, tmp_path_factory.mktemp("venues") / "ds", 2_000)
    return _DS["venues"]


def _equal(path, p):
    full = backtest([path], p, equity=10_000.0, read="all")
    win = backtest([path], p, equity=10_000.0)  # the default read
    assert getattr(full, "read", None) is None and win.read["path"] == "windows"
    assert win.trades() == full.trades()
    _same_ledger(win.ledger, full.ledger)
    assert _summary(win) == _summary(full)
    assert np.array_equal(win.counts, full.counts)
    _same_records(win.records, full.records)
    assert [tuple(x) for x in win.registry] == [tuple(x) for x in full.registry]
    return full, win


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.sampled_from([5, 11]), late_s=st.sampled_from([0.0, 40.0]), ahead_s=st.sampled_from([0.0, 4.0]),
       rows=st.sampled_from([700, 2_000]), thin=st.booleans(), fill=st.sampled_from(["through", "touch", "queue"]),
       offset=st.sampled_from(["0.05%", "0.3%"]), tp=st.sampled_from(["0.15%", "1%"]),
       hold=st.sampled_from(["5m", "4h"]), entry=st.sampled_from(["10s", "10m"]),
       daily=st.sampled_from(["0", "0.3%", "3%"]), max_symbols=st.sampled_from([1, 2, 3]),
       size=st.sampled_from(["2%", "30%"]), cooldown=st.sampled_from(["0s", "10m"]))
def test_several_pairs_window_local_equal_the_full_replay(tmp_path_factory, seed, late_s, ahead_s, rows, thin, fill,
                                                         offset, tp, hold, entry, daily, max_symbols, size, cooldown):
    path = _pairs_dataset(tmp_path_factory, seed, late_s, ahead_s, rows, thin)
    p = Params.from_mapping({"offset": offset, "take-profit": tp, "hold-timeout": hold, "entry-timeout": entry,
                             "daily-loss": daily, "max-symbols": max_symbols, "size": size, "cooldown": cooldown,
                             "fill": fill, "quantile": "0.9"})
    full, _win = _equal(path, p)
    assert len(full.records) > 0


@pytest.mark.parametrize("fill", ["through", "queue"])
def test_the_account_binds_across_pairs_and_the_reads_are_the_pairs_in_play(tmp_path_factory, fill):
    """One position at a time over three symbols, a daily loss limit, orders sized from the equity: the refusals
    that come from another pair's position and losses are the full replay's; the steps read a fraction of the rows."""
    path = _pairs_dataset(tmp_path_factory, 5, 0.0, 0.0, 2_000, False)
    p = Params.from_mapping({"max-symbols": 1, "daily-loss": "0.3%", "size": "30%", "hold-timeout": "30m",
                             "entry-timeout": "10m", "quantile": "0.9", "fill": fill})
    full, win = _equal(path, p)
    s = full.summary()
    assert s["max_symbols"] > 0 and s["loss_limit"] > 0 and s["trades"] >= 3, s  # the limits bound, across pairs
    assert len({t["symbol"] for t in full.trades()}) >= 2
    assert win.read["rows_read"] < 0.6 * win.read["rows_total"], win.read


def test_two_venues_of_one_symbol_equal_the_full_replay(tmp_path_factory):
    path = _two_venues(tmp_path_factory)
    full, win = _equal(path, Params.from_mapping({"quantile": "0.9", "hold-timeout": "30m", "max-symbols": 1}))
    assert len(full.trades()) > 0 and {t["venue"] for t in full.trades()} == {"bybit", "binance"}


def test_a_plan_that_drops_a_live_pair_differs_negative_control(tmp_path_factory, monkeypatch):
    """The negative control: a plan that reads only the pairs of the signals at hand (a live pair's rows left out
    of the steps after its window's first) gives another ledger, so the equality above can fail."""
    from liqcore.backtest import pairs

    path = _pairs_dataset(tmp_path_factory, 5, 0.0, 0.0, 2_000, False)
    p = Params.from_mapping({"max-symbols": 3, "size": "30%", "hold-timeout": "4h", "take-profit": "1%",
                             "entry-timeout": "10m", "quantile": "0.9"})
    full = backtest([path], p, equity=10_000.0, read="all")
    monkeypatch.setattr(pairs, "live", lambda cell: set())
    bad = backtest([path], p, equity=10_000.0)
    assert bad.read["path"] == "windows"
    assert bad.trades() != full.trades()


def test_sweep_cells_together_over_several_pairs_get_their_lone_replays(tmp_path_factory):
    """A sweep's cells replayed together by one plan over a selection of several pairs: each cell's result is its
    lone replay's (the shared detection and reads included)."""
    from liqcore.backtest.run import resolve_strategy
    from liqcore.backtest.windows import replay_cells, replay_windows

    path = _pairs_dataset(tmp_path_factory, 11, 0.0, 0.0, 2_000, True)
    cells = []
    for tp, sl in (("0.15%", "0.2%"), ("1%", "0.5%"), ("0.3%", "1%")):
        cells.append(resolve_strategy(None, Params.from_mapping({"take-profit": tp, "stop-loss": sl, "fill": "queue",
                                                                 "quantile": "0.9", "max-symbols": 2}))[::-1])
    together = replay_cells(path, [c[0] for c in cells], [c[1] for c in cells], equity=10_000.0, shared={})
    for got, (p, s) in zip(together, cells):
        lone = replay_windows(path, p, s, equity=10_000.0)
        assert got["ledger"].tobytes() == lone["ledger"].tobytes()
        assert np.array_equal(got["counts"], lone["counts"])


@pytest.mark.parametrize("folder", ["binance-forceorder-2024-08", "binance-forceorder-2025-12"])
def test_every_symbol_of_the_real_recordings_window_local_equals_the_full_replay(real_data, tmp_path, folder):
    """The real Binance recordings: the liquidations of every symbol and one symbol's trades, converted; the
    default read over every pair gives the full replay's result (or says why it cannot, and the command replays
    everything)."""
    from liqcore.backtest.stream import NotStreamable
    from liqcore.dataset import convert_to_dataset

    ds = tmp_path / "ds"
    files = [real_data / folder / "binance.csv", real_data / folder / "binance_trades.csv"]
    convert_to_dataset([f for f in files if f.is_file()], ds, warn=lambda _m: None)
    p = Params.from_mapping({"quantile": "0.9", "min-history": 5})
    try:
        full, win = _equal(str(ds), p)
    except NotStreamable as exc:  # (refused before any row: the reason named)
        pytest.fail(f"refused: {exc}")
    assert len(full.records) > 0 and len(win.registry) > 5


def test_a_venue_wide_gap_among_several_pairs_is_replayed_in_full_and_says_why(tmp_path, capsys):
    """A gap of a whole venue (symbol ``*``) reaches every pair of the venue at once: a selection holding one is
    read the full replay's way, and the command says why in one line."""
    from liqcore.cli import main
    from liqcore.dataset import write_dataset
    from liqcore.synthetic.market import synthetic_market

    m = synthetic_market(days=1, symbols=("BTCUSDT", "ETHUSDT"), seed=5, cache=False)
    ev = m.events
    gap = ev[:1].copy()
    gap["kind"], gap["symbol_id"], gap["side"] = int(Kind.GAP), -1, 0
    gap["price"] = gap["qty"] = np.nan
    gap["ts_event"] = gap["ts_recv"] = int(ev["ts_recv"][len(ev) // 2])
    write_dataset(np.concatenate([ev[:len(ev) // 2], gap, ev[len(ev) // 2:]]), tmp_path / "ds", m.registry,
                  checked=True)
    p = Params.from_mapping({"quantile": "0.9"})
    full = backtest([str(tmp_path / "ds")], p, equity=10_000.0, read="all")
    dflt = backtest([str(tmp_path / "ds")], p, equity=10_000.0)
    assert getattr(dflt, "read", None) is None and dflt.trades() == full.trades()
    assert main(["backtest", str(tmp_path / "ds"), "--quantile", "0.9", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "replaying every event (a venue-wide partition (symbol *) among several pairs)" in err, err

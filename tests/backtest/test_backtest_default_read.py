"""The default read of a dataset backtest (``read="auto"``: a window-local strategy reads the
liquidations, the bulk rows that time the detector's clock at each of them, and trades only in its
signals' windows) is exact: the same trades, summary, simulator counts and confirmed cascade records
(start, confirm, notionals, event and large counts...) as the full replay (``read="all"``), over
strategy parameters, fill rules, liquidations received late behind later-stamped trades or stamped out
of order, trades stamped ahead of their receipt, row-group sizes and the full replay's chunk edges; on
the bundled real Binance recordings too."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liqcore.backtest.run import backtest
from liqcore.config import Params
from liqcore.types import Kind
from tests.backtest.test_backtest_windows import _summary  # the summary less what the read says of itself

_DS: dict = {}
#: the record fields compared (all but event_index: an index into what each read decoded)
_REC_FIELDS = ("start_ns", "confirm_ns", "confirm_recv_ns", "end_ns", "emit_ns", "long_notional", "short_notional",
               "threshold", "n_events", "n_large", "symbol_id", "cascade_id", "record", "dominant", "venue",
               "end_reason")


def _write(events, registry, out, rows):
    import liqcore.dataset.read as iod
    from liqcore.dataset import write_dataset

    keep = iod.ROW_GROUP_ROWS
    iod.ROW_GROUP_ROWS = rows
    try:
        write_dataset(events, out, registry, checked=True)  # as a converted dataset (no re-check)
    finally:
        iod.ROW_GROUP_ROWS = keep
    return str(out)


def _late_dataset(tmp_path_factory, seed: int, late_s: float, shift_s: float, rows: int, ahead_s: float = 0.0,
                  book: bool = False):
    """A 2-day synthetic market whose liquidations are, for a random half, received up to ``late_s``
    seconds late (trades stamped after them arrive first: the detector's late-event clamp moves them)
    and, for a random quarter, stamped up to ``shift_s`` seconds earlier (out of order); a random tenth
    of the trades is received up to ``ahead_s`` seconds before its own time (a venue clock ahead: up to
    max-clock-skew, 5 s, kept; beyond, dropped as from the future).  ``book``: with its top of book
    (QUOTE rows of the best bid and ask, in the trades' row groups), as the queue rule reads it."""
    key = (seed, late_s, shift_s, rows, ahead_s, book)
    if key not in _DS:
        from liqcore.synthetic.market import synthetic_market

        m = synthetic_market(days=2, symbols=("BTCUSDT",), seed=seed, cache=False,
                             effects={"book": True} if book else None)
        ev = m.events.copy()
        rng = np.random.default_rng(seed)
        liq = np.flatnonzero(ev["kind"] == int(Kind.LIQUIDATION))
        late = liq[rng.random(len(liq)) < 0.5]
        ev["ts_recv"][late] += (rng.random(len(late)) * late_s * 1e9).astype(np.int64)
        early = liq[rng.random(len(liq)) < 0.25]
        ev["ts_event"][early] -= (rng.random(len(early)) * shift_s * 1e9).astype(np.int64)
        tr = np.flatnonzero(ev["kind"] == int(Kind.TRADE))
        ahead = tr[rng.random(len(tr)) < 0.1]
        ev["ts_recv"][ahead] = ev["ts_event"][ahead] - (rng.random(len(ahead)) * ahead_s * 1e9).astype(np.int64)
        _DS[key] = _write(ev, m.registry, tmp_path_factory.mktemp("late") / "ds", rows)
    return _DS[key]


def _same_records(a: np.ndarray, b: np.ndarray) -> None:
    assert len(a) == len(b)
    for f in _REC_FIELDS:
        assert np.array_equal(a[f], b[f]), f


def _same_ledger(a: np.ndarray, b: np.ndarray) -> None:
    """Every field of every ledger row (the queue position at the entry, the levels, the fees...)."""
    assert len(a) == len(b)
    for f in a.dtype.names:
        assert np.array_equal(a[f], b[f], equal_nan=a[f].dtype.kind == "f"), f


def _equal(path, p, chunk_days=None, symbols=None):
    full = backtest([path], p, equity=10_000.0, read="all", chunk_days=chunk_days)
    dflt = backtest([path], p, equity=10_000.0)  # the default read
    assert getattr(full, "read", None) is None
    assert dflt.trades() == full.trades()
    _same_ledger(dflt.ledger, full.ledger)
    assert _summary(dflt) == _summary(full)
    assert (dflt.counts == full.counts).all()
    _same_records(dflt.records, full.records)
    return full, dflt


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.sampled_from([5, 11]), late_s=st.sampled_from([0.0, 3.0, 40.0]),
       shift_s=st.sampled_from([0.0, 20.0, 200.0]), rows=st.sampled_from([700, 2_000, 16_384]),
       fill=st.sampled_from(["through", "touch", "queue"]),
       offset=st.sampled_from(["0.05%", "0.3%"]), tp=st.sampled_from(["0.15%", "1%"]),
       hold=st.sampled_from(["5m", "4h"]), entry=st.sampled_from(["10s", "10m"]),
       window=st.sampled_from(["20s", "60s"]), refresh=st.sampled_from(["5m", "1h"]),
       chunk_days=st.sampled_from([None, 0.1, 1.0]), ahead_s=st.sampled_from([0.0, 4.0, 8.0]),
       book=st.booleans(), model=st.sampled_from(["risk-averse", "prob:2", "prob:0.5"]),
       unseen=st.sampled_from(["seen", "empty"]), grid=st.sampled_from(["off", "auto"]))
def test_default_read_equals_the_full_replay(tmp_path_factory, seed, late_s, shift_s, rows, fill, offset, tp, hold,
                                             entry, window, refresh, chunk_days, ahead_s, book, model, unseen, grid):
    """Under every fill rule, the queue rule's queue models and rules for unseen levels included, on
    datasets with and without their top of book (the queue rule falls back to through without one)."""
    path = _late_dataset(tmp_path_factory, seed, late_s, shift_s, rows, ahead_s, book)
    grid = "auto" if fill == "queue" else grid  # (the queue rule's limits are on the grid: off is refused with it)
    p = Params.from_mapping({"offset": offset, "take-profit": tp, "hold-timeout": hold, "entry-timeout": entry,
                             "window": window, "refresh": refresh, "fill": fill, "queue-model": model,
                             "queue-unseen": unseen, "price-grid": grid})
    full, dflt = _equal(path, p, chunk_days)
    assert len(full.records) > 0
    assert dflt.read["path"] == "windows"  # every fill rule reads window-local by default
    assert dflt.fill_fallback == full.fill_fallback == (fill == "queue" and not book)
    if fill != "queue" and grid == "off" and not book:  # (the grid reads the span's first prints)
        assert dflt.read["rows_read"] < dflt.read["rows_total"]


@pytest.mark.parametrize("name", ["cascade-fade", "liq-trend"])
def test_strategies_reading_every_event_replay_everything_by_default(tmp_path_factory, name):
    """A strategy that is not window-local gets the full replay from the default read too."""
    path = _late_dataset(tmp_path_factory, 11, 3.0, 0.0, 2_000)
    full = backtest([path], Params(), strategy=name, equity=10_000.0, read="all")
    dflt = backtest([path], Params(), strategy=name, equity=10_000.0)
    assert getattr(dflt, "read", None) is None
    assert dflt.trades() == full.trades() and _summary(dflt) == _summary(full)


def test_late_liquidations_are_retimed_as_the_full_replay_does(tmp_path_factory):
    """Liquidations received seconds behind later-stamped trades: the full replay's detector re-times
    them (its ``late`` count); the default read finds the trade that does it and confirms the same
    cascades at the same times."""
    path = _late_dataset(tmp_path_factory, 5, 40.0, 20.0, 2_000)
    p = Params()
    full, dflt = _equal(path, p)
    assert full.detector_counts["late"] > 100  # the clamp really moves many liquidations here
    assert dflt.read["path"] == "windows" and dflt.read["clock_rows"] > 0


@pytest.mark.parametrize("params", [{"hold-timeout": "4h", "take-profit": "1%", "stop-loss": "1%"},
                                    {"hold-timeout": "4h", "take-profit": "1%", "stop-loss": "1%", "touch": "on"},
                                    {"entry-timeout": "4h", "offset": "2%"}])
def test_quiet_row_groups_are_passed_over_by_their_statistics(tmp_path_factory, params):
    """An open position whose stop and target lie outside a row group's price range, and a resting
    entry whose limit lies below it, before their deadlines: the group's prints are all quiet ones, so
    the default read passes over them without decoding (``rows_skipped``) and sets the last one's price
    as the simulator's last price -- the same trades, summary and counts as the full replay."""
    if "touch" in params:
        params = {k: v for k, v in params.items() if k != "touch"} | {"fill": "touch"}
    path = _late_dataset(tmp_path_factory, 5, 3.0, 0.0, 700)
    full, dflt = _equal(path, Params.from_mapping(params))
    assert len(full.trades()) > 0
    assert dflt.read["rows_skipped"] > 0, dflt.read
    # under the queue rule, with the book: the skipped groups' quotes set the book in force (their last best
    # bid and ask), and a quote at or through the working limit (or the take-profit) is not a quiet one
    book = _late_dataset(tmp_path_factory, 5, 3.0, 0.0, 700, book=True)
    full, dflt = _equal(book, Params.from_mapping(params | {"fill": "queue"}))
    assert len(full.trades()) > 0 and not dflt.fill_fallback
    assert dflt.read["rows_skipped"] > 0, dflt.read


def test_the_cli_reads_window_local_by_default(tmp_path_factory, capsys):
    """``liqcore backtest DS`` takes the default read (one line says what it decoded); ``--read all``
    and ``--chunk-days`` replay every event; the trades are the same."""
    import json

    from liqcore.cli import main

    path = _late_dataset(tmp_path_factory, 5, 3.0, 20.0, 2_000)
    capsys.readouterr()
    assert main(["backtest", path, "--equity", "10000"]) == 0
    err = capsys.readouterr().err
    assert "read window-local" in err and "--read all" in err
    runs = []
    for extra in ([], ["--read", "all"], ["--chunk-days", "0.5"]):
        assert main(["backtest", path, "--equity", "10000", "--json", *extra]) == 0
        runs.append(json.loads(capsys.readouterr().out))
    assert runs[0]["summary"]["read"]["path"] == "windows"
    assert "read" not in runs[1]["summary"] and "read" not in runs[2]["summary"]
    assert runs[0]["trades"] == runs[1]["trades"] == runs[2]["trades"] and len(runs[0]["trades"]) > 0


def test_price_far_from_the_trades_falls_back_to_the_full_replay(tmp_path_factory, capsys):
    """A liquidation 20x away from every trade: the plausibility rule judges it against the trades in
    the full replay; the default read cannot prove the same from its rows, so it replays everything
    (and the CLI says why)."""
    from liqcore.synthetic.market import synthetic_market
    from liqcore.cli import main

    m = synthetic_market(days=2, symbols=("BTCUSDT",), seed=5, cache=False)
    ev = m.events.copy()
    liq = np.flatnonzero(ev["kind"] == int(Kind.LIQUIDATION))
    ev["price"][liq[len(liq) // 2]] *= 20.0
    path = _write(ev, m.registry, tmp_path_factory.mktemp("far") / "ds", 2_000)
    full, dflt = _equal(path, Params())
    assert getattr(dflt, "read", None) is None  # replayed every event
    assert full.detector_counts["skipped_implausible_price"] >= 1
    capsys.readouterr()
    assert main(["backtest", path, "--equity", "10000"]) == 0
    err = capsys.readouterr().err
    assert "replaying every event" in err and "price-factor" in err


@pytest.mark.parametrize("params", [{"fill": "queue"},
                                    {"fill": "queue", "queue-model": "prob:2", "offset": "0.05%", "take-profit": "0.3%"},
                                    {"fill": "queue", "queue-unseen": "empty", "entry-timeout": "30m",
                                     "hold-timeout": "4h", "take-profit": "1%", "stop-loss": "1%"}])
def test_queue_rule_reads_the_book_window_local(tmp_path_factory, monkeypatch, params):
    """The queue rule on a dataset with a thin book (every 40th top-of-book update: the book in force at a
    window's start was often set minutes before it): the default read decodes the book only in the
    signals' windows and reads back, past the rows between windows, for the last best bid and ask
    before each; the same ledger (the queue positions too), counts and records as the full replay."""
    import liqcore.backtest.windows as W
    from liqcore.synthetic.market import synthetic_market

    key = ("thin-book",)
    if key not in _DS:
        m = synthetic_market(days=2, symbols=("BTCUSDT",), seed=11, cache=False, effects={"book": True})
        q = np.flatnonzero(m.events["kind"] == int(Kind.QUOTE))
        # every 40th update kept whole (its bid and its ask: the synthetic book writes them in turn)
        assert (m.events["side"][q[::2]] == 3).all() and (m.events["side"][q[1::2]] == 4).all()
        drop = np.setdiff1d(q, np.concatenate([q[::2], q[1::2]]))
        ev = np.delete(m.events, drop)
        _DS[key] = _write(ev, m.registry, tmp_path_factory.mktemp("thin") / "ds", 2_000)
    back = []
    real = W._Reader.read

    def counting(self, a, b, kinds=None, recv=None):
        out = real(self, a, b, kinds=kinds, recv=recv)
        if kinds == [int(Kind.QUOTE)] and recv is not None:
            back.append(len(out))
        return out

    monkeypatch.setattr(W._Reader, "read", counting)
    full, dflt = _equal(_DS[key], Params.from_mapping(params))
    assert dflt.read["path"] == "windows" and not dflt.fill_fallback
    assert len(full.trades()) > 0
    if params == {"fill": "queue"}:  # the default offset: limits at the best, their queue known at the fill
        assert (full.ledger["queue_ahead"] >= 0).any()
    assert back and sum(back) > 0  # the book in force at some window's start was read from before it


@pytest.mark.parametrize("fill", ["through", "touch"])
def test_default_read_with_a_book(tmp_path_factory, fill):
    """A dataset with its top of book (QUOTE rows in the trades' row groups): the full replay's detector
    sees the quotes too (they move its clock), so the clock read takes them; the same trades and
    records as the full replay."""
    from liqcore.synthetic.market import synthetic_market

    m = synthetic_market(days=2, symbols=("BTCUSDT",), seed=5, cache=False, effects={"book": True})
    assert (m.events["kind"] == int(Kind.QUOTE)).sum() > 0
    path = _write(m.events, m.registry, tmp_path_factory.mktemp("book") / "ds", 2_000)
    full, dflt = _equal(path, Params.from_mapping({"fill": fill}))
    assert dflt.read["path"] == "windows" and len(full.trades()) > 0


def test_unchecked_files_fall_back_to_the_full_replay(tmp_path_factory):
    """Files written from a bare event array (not marked checked: a load judges their rows) cannot be
    read by their columns alone: the default read replays every event, with the same trades."""
    from liqcore.backtest.run import backtest_windows, resolve_strategy
    from liqcore.backtest.stream import NotStreamable
    from liqcore.synthetic.market import synthetic_market
    from liqcore.dataset import write_dataset

    m = synthetic_market(days=2, symbols=("BTCUSDT",), seed=11, cache=False)
    out = str(tmp_path_factory.mktemp("unchecked") / "ds")
    write_dataset(m.events, out, m.registry, checked=False)
    obj, p = resolve_strategy(None, Params())
    with pytest.raises(NotStreamable, match="no verified checked mark"):
        backtest_windows(out, p, obj, equity=10_000.0)
    full, dflt = _equal(out, p)
    assert getattr(dflt, "read", None) is None and len(full.trades()) > 0


def test_a_rewritten_checked_file_is_not_read_by_its_columns(tmp_path_factory):
    """A checked file rewritten by another tool (its footer's metadata copied, so it still says
    "checked"): its bytes are not the ones marked, so the default read does not trust its statistics
    or decode its columns unchecked; it replays every event the checking way."""
    import pyarrow.parquet as pq

    from liqcore.backtest.run import backtest_windows, resolve_strategy
    from liqcore.backtest.stream import NotStreamable
    from liqcore.synthetic.market import synthetic_market
    from liqcore.dataset import write_dataset
    from liqcore.dataset.read import parquet_files

    m = synthetic_market(days=2, symbols=("BTCUSDT",), seed=11, cache=False)
    out = str(tmp_path_factory.mktemp("rewritten") / "ds")
    write_dataset(m.events, out, m.registry, checked=True)
    obj, p = resolve_strategy(None, Params())
    before = backtest_windows(out, p, obj, equity=10_000.0)  # verified: read by its columns
    files = sorted(f for d in __import__("pathlib").Path(out).rglob("date=*") for f in parquet_files(str(d)))
    t = pq.read_table(files[0])
    pq.write_table(t, files[0], row_group_size=5_000)  # the same rows, other bytes, the footer's metadata kept
    with pytest.raises(NotStreamable, match="verified checked mark"):
        backtest_windows(out, p, obj, equity=10_000.0)
    full, dflt = _equal(out, p)
    assert getattr(dflt, "read", None) is None
    assert dflt.trades() == before.trades()


def test_default_read_on_the_bundled_sample(tmp_path, capsys):
    """The bundled sample recording (Bybit ETHUSDT, 180 liquidations, trades and marks), converted as
    a user converts it: the default read equals the full replay and confirms the same cascades."""
    from liqcore.cli import main
    from liqcore.data import SAMPLE_RECORDING

    ds = tmp_path / "ds"
    assert main(["convert", str(SAMPLE_RECORDING), "--dataset", str(ds)]) == 0
    capsys.readouterr()
    for p in (Params(), Params.from_mapping({"min-history": "20", "quantile": "0.8", "window": "120s"})):
        full, dflt = _equal(str(ds), p)
        assert dflt.read["path"] == "windows" and len(full.records) >= 2


def test_default_read_on_the_real_binance_recordings(real_data, tmp_path_factory):
    """The bundled recordings (every liquidation of Binance USD-M, its large trades), written as a
    dataset, one symbol at a time as the window read takes them (the two with the most liquidations
    per recording among those with their trades recorded): the default read equals the full replay,
    with the guide's parameters and with a lower threshold that confirms more cascades."""
    from liqcore.backtest.run import backtest_windows, resolve_strategy
    from liqcore.dataset import load_dataset
    from liqcore.dataset.load import load_events

    checked = 0
    for folder in ("binance-forceorder-2024-08", "binance-forceorder-2025-01", "binance-forceorder-2025-12"):
        res = load_events([real_data / folder])
        ev = res.events
        n_liq = np.bincount(ev["symbol_id"][ev["kind"] == int(Kind.LIQUIDATION)], minlength=len(res.registry))
        n_tr = np.bincount(ev["symbol_id"][ev["kind"] == int(Kind.TRADE)], minlength=len(res.registry))
        n_liq[n_tr < 100] = 0  # symbols with their trades recorded
        top = [res.registry.symbol(int(i)) for i in np.argsort(-n_liq, kind="stable")[:2] if n_liq[i]]
        out = _write(ev, res.registry, tmp_path_factory.mktemp("real") / "ds", 16_384)
        for sym in top:
            for p in (Params(), Params.from_mapping({"min-history": "20", "quantile": "0.8", "window": "120s"}),
                      # no book recorded: the queue rule falls back to through, on the price grid of the first prints
                      Params.from_mapping({"min-history": "20", "quantile": "0.8", "fill": "queue"})):
                obj, p = resolve_strategy(None, p)
                whole = load_dataset(out, symbols=[sym], max_clock_skew_ns=p.max_clock_skew_ns, trade_ids=False)
                full = backtest(whole, p, equity=10_000.0)  # every event of the symbol, loaded whole
                win = backtest_windows(out, p, obj, symbols=[sym], equity=10_000.0)
                assert win.trades() == full.trades(), (folder, sym)
                assert (win.counts == full.counts).all(), (folder, sym)
                _same_records(win.records, full.records)
                checked += len(full.records)
    assert checked > 0  # cascades were confirmed and compared


def test_the_detection_read_of_a_book_skips_the_trades_and_quotes_row_groups(tmp_path_factory):
    """A dataset written in sections with its top of book: a bulk row group holding trades and quotes has
    the kind range [2, 7], which spans the codes of marks, funding, gaps and open interest; its kind
    minimum (a bulk kind) says it holds only trades and quotes, so the read of the other kinds (the
    detection pass) decodes none of them -- and reads the same rows as the checking read."""
    from liqcore.dataset.read import BULK_KINDS, load_dataset, rows_total

    path = _late_dataset(tmp_path_factory, 5, 3.0, 0.0, 2_000, book=True)
    rare = [int(k) for k in Kind if int(k) > 0 and int(k) not in BULK_KINDS]
    fast = load_dataset(path, kinds=rare, trade_ids=False)
    slow = load_dataset(path, kinds=rare, trade_ids=False, recheck=True)
    n_rare = int(np.isin(slow.events["kind"], rare).sum())
    assert n_rare > 0 and np.array_equal(fast.events, slow.events)
    decoded = fast.files[path]["rows_read"]
    assert decoded < 2 * n_rare + 2 * 2_000 * 3, (decoded, n_rare)  # the rare section's groups, not the bulk
    assert decoded < rows_total(path) / 4


def test_rows_total_of_a_local_dataset_is_pyarrows_discovery(tmp_path):
    """rows_total reads a local dataset's partitions from its folders: the rows and row groups pyarrow's discovery
    of the same selection counts, for symbols, venues and days; a file added to a partition is counted at once."""
    import pyarrow.dataset as ds

    from liqcore.dataset import write_dataset
    from liqcore.dataset.read import _partitioning, rows_total
    from liqcore.synthetic.market import synthetic_market

    m = synthetic_market(days=3, symbols=("BTCUSDT", "ETHUSDT"), seed=11, cache=False)
    path = tmp_path / "ds"
    write_dataset(m.events, path, m.registry)
    day = 86_400 * 10**9
    t0 = int(m.events["ts_event"].min()) // day * day

    def pyarrows(symbols=None, start_ns=None, end_ns=None, venues=None):
        d = ds.dataset(str(path), format="parquet", partitioning=_partitioning())
        flt = None
        for f in ([ds.field("symbol").isin(symbols)] if symbols else []) \
                + ([ds.field("venue").isin(venues)] if venues else []) \
                + ([ds.field("date") >= str(np.datetime64(start_ns // day, "D"))] if start_ns is not None else []) \
                + ([ds.field("date") <= str(np.datetime64((end_ns - 1) // day, "D"))] if end_ns is not None else []):
            flt = f if flt is None else flt & f
        frags = list(d.get_fragments(filter=flt))
        return sum(x.metadata.num_rows for x in frags), sum(x.metadata.num_row_groups for x in frags)

    cases = [{}, {"symbols": ["ETHUSDT"]}, {"venues": ["bybit"]}, {"start_ns": t0 + day},
             {"start_ns": t0 + day, "end_ns": t0 + day + 1}, {"symbols": ["BTCUSDT"], "end_ns": t0 + day}]
    for c in cases:
        assert rows_total(path, groups=True, **c) == pyarrows(**c), c
    assert rows_total(path) > 0 and rows_total(path, symbols=["SOLUSDT"]) == 0
    part = next(path.rglob("*.parquet"))
    extra = part.with_name("part-9.parquet")
    extra.write_bytes(part.read_bytes())
    assert rows_total(path, groups=True) == pyarrows()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kinds=st.sets(st.sampled_from([int(k) for k in Kind if int(k) > 0]), min_size=1),
       lo=st.floats(0, 1.5), span=st.floats(0.01, 1.0))
def test_any_kinds_read_of_a_sectioned_book_equals_the_checking_read(tmp_path_factory, kinds, lo, span):
    """Whatever kinds and receive times a read asks for, passing over the trades-and-quotes row groups by
    their kind minimum keeps every row the checking read (which judges every row) returns."""
    from liqcore.dataset.read import load_dataset

    path = _late_dataset(tmp_path_factory, 5, 3.0, 0.0, 2_000, book=True)
    d = 86_400_000_000_000
    t0 = int(load_dataset(path, kinds=[int(Kind.LIQUIDATION)], trade_ids=False).events["ts_recv"].min())
    rr = (t0 + int(lo * d), t0 + int((lo + span) * d), 0)
    kw = dict(kinds=sorted(kinds), recv_range=rr, trade_ids=False, check=False)
    fast, slow = load_dataset(path, **kw), load_dataset(path, recheck=True, **kw)
    assert fast.files[path]["checked"] is True
    assert np.array_equal(fast.events, slow.events)


@pytest.mark.parametrize("grid_prints", [300, 5_000])
@pytest.mark.parametrize("fill", ["queue", "through"])
def test_the_price_grid_is_read_from_the_first_prints_as_the_full_replay_reads_it(tmp_path_factory, monkeypatch,
                                                                                  grid_prints, fill):
    """The price grid (``--fill queue``, ``--price-grid auto``) comes from the span's first prints in
    receive order, fewer than the span holds here: the default read finds the full replay's grid (the
    same ledger: a limit on another tick fills at another price) without reading the span."""
    from liqcore.execution import events as E

    from liqcore.synthetic.market import synthetic_market

    monkeypatch.setattr(E, "GRID_PRINTS", grid_prints)
    key = ("finer-later",)
    if key not in _DS:  # the first prints on a 0.1 tick, the later ones on 0.01: the grid is the first ones'
        m = synthetic_market(days=2, symbols=("BTCUSDT",), seed=11, cache=False, effects={"book": True})
        ev = m.events.copy()
        tr = np.flatnonzero(ev["kind"] == int(Kind.TRADE))
        ev["price"][tr] = np.round(ev["price"][tr], 1)
        later = tr[len(tr) // 10:]
        ev["price"][later] += np.where(np.arange(len(later)) % 3 == 0, 0.03, 0.0)
        _DS[key] = _write(ev, m.registry, tmp_path_factory.mktemp("grid") / "ds", 2_000)
    p = Params.from_mapping({"fill": fill, "price-grid": "auto", "offset": "0.05%", "take-profit": "0.3%"})
    full, dflt = _equal(_DS[key], p)
    assert dflt.read["path"] == "windows" and len(full.trades()) > 0
    monkeypatch.setattr(E, "GRID_PRINTS", 1 << 30)  # every print: another grid, other trades
    assert backtest([_DS[key]], p, equity=10_000.0, read="all").trades() != full.trades()


def _unsection(path, rows: int, only=None) -> list:
    """Rewrite the checked partition files of the dataset at ``path`` as a writer without sections lays
    them out (every kind in one event-time order, row groups of ``rows`` mixing liquidations, marks,
    funding, trades and quotes), each marked checked anew (its rows are the checked ones: a genuine
    checked file of a dataset written before sections), while the dataset's format file still says
    ``"sections": true`` (as a hand-edited or stale one would).  ``only``: how many files (default all)."""
    import json
    import os

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from liqcore.dataset.checked import MARKS_FILE, mark_of
    from liqcore.dataset.read import FORMAT_FILE, parquet_files

    root = __import__("pathlib").Path(path)
    assert json.loads((root / FORMAT_FILE).read_text())["sections"] is True
    files = sorted(f for d in root.rglob("date=*") for f in parquet_files(str(d)))[:only]
    marks = json.loads((root / MARKS_FILE).read_text())
    for f in files:
        t = pq.read_table(f)
        t = t.take(pc.sort_indices(t, sort_keys=[("ts_event_ns", "ascending"), ("ts_recv_ns", "ascending")]))
        t = t.replace_schema_metadata(pq.read_schema(f).metadata)  # its footer still says "checked"
        pq.write_table(t, f, row_group_size=rows)
        kinds = [set(pc.unique(g.column("kind")).to_pylist()) for g in
                 (pq.ParquetFile(f).read_row_group(i, columns=["kind"]) for i in range(pq.ParquetFile(f).num_row_groups))]
        assert any(2 in k and len(k - {2, 7}) for k in kinds)  # a group mixing trades with other kinds
        marks["files"][os.path.relpath(f, root)] = mark_of(f)
    (root / MARKS_FILE).write_text(json.dumps(marks))
    _ = pa
    return files


@pytest.mark.parametrize("fill", ["through", "queue"])
@pytest.mark.parametrize("only", [None, 1])
def test_a_format_file_claiming_sections_is_proven_per_file(tmp_path_factory, capsys, fill, only):
    """The window read trusts a file's layout in sections only as far as its verified bytes prove it:
    a dataset whose format file says ``"sections": true`` while its checked files (all, or one of them)
    were written without sections (row groups mixing marks and liquidations with trades and quotes,
    which the detection read would pass over as bulk groups) replays every event, and the CLI says why
    in one line; the trades and records are the full replay's."""
    from liqcore.backtest.run import backtest_windows, resolve_strategy
    from liqcore.backtest.stream import NotStreamable
    from liqcore.synthetic.market import synthetic_market
    from liqcore.cli import main

    m = synthetic_market(days=2, symbols=("BTCUSDT",), seed=5, cache=False, effects={"book": True})
    path = _write(m.events, m.registry, tmp_path_factory.mktemp("unsectioned") / "ds", 2_000)
    obj, p = resolve_strategy(None, Params.from_mapping({"fill": fill}))
    honest = backtest_windows(path, p, obj, equity=10_000.0)  # written in sections: the window read
    _unsection(path, 2_000, only)
    with pytest.raises(NotStreamable, match="not written in sections"):
        backtest_windows(path, p, obj, equity=10_000.0)
    full, dflt = _equal(path, p)
    assert getattr(dflt, "read", None) is None and dflt.trades() == honest.trades()
    _same_records(dflt.records, honest.records)
    capsys.readouterr()
    assert main(["backtest", path, "--equity", "10000", "--fill", fill]) == 0
    err = [ln for ln in capsys.readouterr().err.splitlines() if "replaying every event" in ln]
    assert len(err) == 1 and "not written in sections" in err[0]


@pytest.mark.parametrize("fill", ["through", "queue"])
def test_a_windows_first_step_ends_once_its_order_has_arrived(tmp_path_factory, monkeypatch, fill):
    """A window's first step reads up to its order's arrival (the order latency there and back, and a
    second), not a whole step: from there the row groups quiet for the resting order are passed over by
    their statistics.  Every signal's first read ends within that bound of it; the same ledger, counts
    and records as the full replay."""
    import liqcore.backtest.windows as W

    path = _late_dataset(tmp_path_factory, 11, 3.0, 0.0, 2_000, book=True)
    p = Params.from_mapping({"fill": fill, "entry-timeout": "30m", "offset": "0.3%", "order-latency": "50ms"})
    ends = []
    real = W._Reader.read

    def spy(self, a, b, kinds=None, recv=None):
        if recv is not None and kinds is not None and int(Kind.TRADE) in kinds and int(Kind.LIQUIDATION) in kinds:
            ends.append(int(recv[1]))
        return real(self, a, b, kinds=kinds, recv=recv)

    monkeypatch.setattr(W._Reader, "read", spy)
    full, dflt = _equal(path, p)
    assert dflt.read["path"] == "windows" and len(full.records) > 0
    t = np.sort(dflt.records["confirm_recv_ns"].astype(np.int64))
    bound = 2 * 50_000_000 + 1_000_000_000
    # the first signal's window: its first read ends at the bound past it (before: a whole step, minutes)
    assert min(e for e in ends if e > t[0]) == t[0] + bound, (t[0], ends[:5])
    # and most signals start a window of their own read that way (the others lie in a step already read)
    assert sum(int(s) + bound in set(ends) for s in t) >= len(t) // 2, (t, ends)


@pytest.mark.parametrize("params", [{"fill": "queue"}, {"fill": "queue", "offset": "0.3%", "entry-timeout": "30m"},
                                    {"fill": "through", "take-profit": "1%", "hold-timeout": "4h"}])
def test_the_last_print_and_book_of_a_quiet_span_read_as_events_equal_the_columns(tmp_path_factory, monkeypatch,
                                                                                   params):
    """A quiet span passed over sets the symbol's last print from its latest row groups: read as the
    window reads rows (events in the full replay's order, :func:`~liqcore.backtest.passage.last_in_tail`) it is the one the
    groups' columns give (:meth:`_ClockRows.last_print`), wherever both answer; the same ledger as the
    full replay (under the queue rule the span's quotes are read back by the next step that decodes
    quotes: tests/backtest/test_windows_book_readback.py)."""
    import liqcore.backtest.passage as P

    monkeypatch.setattr(P, "DEFER_TAIL", False)  # (looked up at once: tests/backtest/test_tail_from_blocks.py defers)
    path = _late_dataset(tmp_path_factory, 5, 3.0, 20.0, 700, book=True)
    real = P.last_in_tail
    seen = []

    def check(rd, clock, ids, b, to, lo, hi, **kw):
        got = real(rd, clock, ids, b, to, lo, hi, **kw)
        if got is not None:
            skipped = clock.skipped
            ref = clock.last_print(ids, b, to)
            if ref is not None:
                assert ref == got and clock.skipped == skipped
                seen.append(1)
            clock.skipped = skipped
        return got

    monkeypatch.setattr(P, "last_in_tail", check)
    full, dflt = _equal(path, Params.from_mapping(params))
    assert dflt.read["path"] == "windows" and seen, "no quiet span was compared"


@pytest.mark.parametrize("fill", ["through", "queue"])
def test_a_format_2_book_proves_its_sections_by_its_kind_columns(tmp_path_factory, monkeypatch, fill):
    """A dataset written in format 2 (a quote as two rows, trades and quotes in one section: its bulk
    row groups' kind range [2, 7] spans the codes of marks and funding, which the statistics cannot
    rule out): each such group's ``kind`` column, decoded once its bytes are verified, proves it holds
    trades and quotes only, so the window read still runs, with the full replay's trades and records."""
    import liqcore.dataset.write as DS
    from liqcore.synthetic.market import synthetic_market

    m = synthetic_market(days=2, symbols=("BTCUSDT",), seed=5, cache=False, effects={"book": True})
    monkeypatch.setattr(DS, "_WRITE_FORMAT", 2)
    path = _write(m.events, m.registry, tmp_path_factory.mktemp("format2") / "ds", 2_000)
    monkeypatch.undo()
    import pyarrow.parquet as pq

    from liqcore.dataset.read import parquet_files

    f = sorted(x for d in __import__("pathlib").Path(path).rglob("date=*") for x in parquet_files(str(d)))[0]
    md = pq.read_metadata(f)
    k = [md.schema.column(j).path for j in range(md.num_columns)].index("kind")
    assert any((md.row_group(i).column(k).statistics.min, md.row_group(i).column(k).statistics.max) == (2, 7)
               for i in range(md.num_row_groups))
    full, dflt = _equal(path, Params.from_mapping({"fill": fill}))
    assert dflt.read["path"] == "windows" and len(full.trades()) > 0


def test_the_price_grid_read_stops_near_the_prints_it_needs(tmp_path_factory, monkeypatch):
    """The grid's read (:func:`liqcore.backtest.windows._first_prints_grid`) sizes its next span from the
    rate of the prints read so far instead of doubling it: a need half again the first hour's prints
    decodes about the rows up to the last print needed (not three hours of rows), and the grid is the one
    of the first prints in receive order all the same."""
    from liqcore.backtest import windows as W
    from liqcore.execution import events as E
    from liqcore.dataset import checked as C
    from liqcore.dataset.read import load_dataset
    from liqcore.types import SymbolRegistry

    path = _late_dataset(tmp_path_factory, 5, 3.0, 0.0, 500, book=True)
    tr = load_dataset(path, kinds=[int(Kind.TRADE)], trade_ids=False).events
    tr = tr[np.argsort(tr["ts_recv"], kind="stable")]
    t0, hour = int(tr["ts_recv"][0]), 3_600_000_000_000
    need = int(np.count_nonzero(tr["ts_recv"] < t0 + hour) * 3 // 2)
    assert 1_000 < need < len(tr) // 4
    monkeypatch.setattr(E, "GRID_PRINTS", need)

    def reader():  # (and no row group decoded by an earlier read: each reader counts every group it decodes)
        C._RECENT.clear()
        lo, hi, sel = W._span(path, (), None, None)
        return W._Reader(path, (), None, None, Params(), SymbolRegistry(), sel), lo, hi

    rd, lo, hi = reader()
    grid = W._first_prints_grid(rd, lo, hi, t0, int(tr["ts_recv"][-1]), 1)
    assert grid == {0: E.grid_of_prices(tr["price"][:need])} and grid[0] > 0
    floor_rd, lo, hi = reader()  # the rows of a read that stops at the last print needed
    floor_rd.read(lo, hi, kinds=[int(Kind.TRADE)], recv=(t0, int(tr["ts_recv"][need - 1]) + 1))
    assert rd.rows_read <= 1.3 * floor_rd.rows_read + 2 * 500, (rd.rows_read, floor_rd.rows_read)


@pytest.mark.parametrize("params", [{"fill": "queue"}, {"fill": "through", "take-profit": "1%", "hold-timeout": "4h"}])
def test_the_last_print_and_book_of_a_quiet_span_are_read_back_from_its_end(tmp_path_factory, monkeypatch, params):
    """The last print of a quiet span passed over is read back from the span's end in doubling spans
    (:func:`~liqcore.backtest.passage.last_in_tail`), not from the latest row groups' first receive time: the rows read reach
    back at most twice the distance of that last print, plus a second; the same ledger as the full
    replay."""
    import liqcore.backtest.passage as P
    import liqcore.backtest.windows as W
    from liqcore.types import Kind as K

    monkeypatch.setattr(P, "DEFER_TAIL", False)  # (read back at once: tests/backtest/test_tail_from_blocks.py defers)
    path = _late_dataset(tmp_path_factory, 5, 3.0, 20.0, 700, book=True)
    real_tail, real_read = P.last_in_tail, W._Reader.read
    spans: list = []
    checked = []

    def read(self, start_ns, end_ns, kinds=None, recv=None):
        if recv is not None:
            spans.append(recv)
        return real_read(self, start_ns, end_ns, kinds=kinds, recv=recv)

    def tail(rd, clock, ids, b, to, lo, hi, **kw):
        spans.clear()
        got = real_tail(rd, clock, ids, b, to, lo, hi, **kw)
        reach = min(x[0] for x in spans) if spans else to
        ev = real_read(rd, lo, hi, kinds=[int(K.TRADE), int(K.QUOTE)], recv=(b, to))
        k = ev["kind"]
        px = ev["price"]
        lasts = [np.flatnonzero((k == int(K.TRADE)) & np.isfinite(px) & (px > 0))]
        if all(len(x) for x in lasts):
            need = min(int(ev["ts_recv"][x[-1]]) for x in lasts)
            assert to - reach <= max(W._PRE, 2 * (to - need) + W._PRE), (to - reach, to - need)
            checked.append(1)
        return got

    monkeypatch.setattr(W._Reader, "read", read)
    monkeypatch.setattr(P, "last_in_tail", tail)
    full, dflt = _equal(path, Params.from_mapping(params))
    assert dflt.read["path"] == "windows" and checked, "no quiet span was read back"


@pytest.mark.parametrize("fill", ["through", "queue"])
def test_a_span_with_no_confirmed_cascade_reads_as_the_full_replay(tmp_path_factory, capsys, fill):
    """What the data holds (its kinds) comes from the selection's row groups, not from the rows a window
    happened to read: a span in which no cascade confirms (so no window reads a trade) is a backtest with
    no trade, exit 0, equal to ``--read all``, not "the data has no trade events"."""
    import json

    from liqcore.cli import main

    path = _late_dataset(tmp_path_factory, 5, 0.0, 0.0, 2_000, book=True)
    span = ["--symbols", "BTCUSDT", "--end", "2026-01-05T00:20:00Z", "--fill", fill, "--equity", "10000", "--json"]
    runs = []
    for extra in ([], ["--read", "all"]):
        assert main(["backtest", path, *span, *extra]) == 0, capsys.readouterr().err
        runs.append(json.loads(capsys.readouterr().out))
    assert runs[0]["summary"]["read"]["path"] == "windows"  # the default read, not a fallback
    assert runs[0]["trades"] == runs[1]["trades"] == []
    assert runs[0]["summary"].get("cascades", 0) == runs[1]["summary"].get("cascades", 0)
    dflt, full = ({k: v for k, v in r["summary"].items()
                   if k not in ("read", "feed_latency_model", "feed_latency_model_of_rows_read")} for r in runs)
    assert dflt == full
    assert "feed_latency_model" not in runs[0]["summary"]  # the rows-read note says so in its own name
    assert runs[0]["summary"]["feed_latency_model_of_rows_read"].endswith("(over the rows read)")


@pytest.mark.parametrize("fill", ["through", "queue"])
def test_dense_signals_decode_no_row_twice(tmp_path_factory, fill):
    """Dense signals (``--min-history 20 --quantile 0.5``: a window every few minutes, steps read on while an
    order or position is live, the book read back, the price grid's first prints): the row groups those reads
    meet again are taken from the decoded ones kept in memory, so the default read decodes no more rows than
    the selection holds (before: 248,610 of 160,879 on a book of 2 days), and its result is the full replay's."""
    import liqcore.dataset.checked as ck

    path = _late_dataset(tmp_path_factory, 5, 0.0, 0.0, 16_384, book=True)
    ck._RECENT.clear()
    ck._recent_bytes[0] = 0
    p = Params.from_mapping({"min-history": "20", "quantile": "0.5", "fill": fill})
    full, dflt = _equal(path, p)
    assert dflt.read["path"] == "windows" and len(full.trades()) > 20
    assert dflt.read["rows_read"] <= dflt.read["rows_total"]


def test_signals_whose_windows_cover_most_row_groups_take_the_plain_sequential_read(tmp_path_factory, monkeypatch):
    """The window plan gives way to the plain sequential read (``--read all``) when the row groups its
    signals' first steps meet hold most of the bulk rows (``windows.plan_coverage`` over ``windows.MOST``):
    dense signals on a book of 2 days (``--min-history 20 --quantile 0.5``: a signal every few minutes, groups
    of minutes) take it, with the full replay's result; the same signals with the share set above 1 run the
    window plan, the same result; the default parameters' few signals there meet less (the rule decides)."""
    from liqcore.backtest import windows
    from liqcore.backtest.row_groups import _bulk_groups
    from liqcore.backtest.windows import _Reader, _span, plan_coverage
    from liqcore.dataset.read import BULK_KINDS
    from liqcore.execution.events import clean_prints
    from liqcore.strategies.cascade_mm import CascadeMM
    from liqcore.types import Kind, SymbolRegistry

    path = _late_dataset(tmp_path_factory, 5, 0.0, 0.0, 2_000, book=True)
    monkeypatch.setattr(windows, "MIN_GROUPS", 0)  # (a test-sized dataset: the rule on any number of groups)
    dense = Params.from_mapping({"min-history": "20", "quantile": "0.5", "fill": "queue"})
    lo, hi, sel = _span(path, (), None, None)
    rd = _Reader(path, (), None, None, dense, SymbolRegistry(), sel)
    det_ev, _d = clean_prints(rd.read(lo, hi, kinds=[int(k) for k in Kind if int(k) > 0 and int(k) not in BULK_KINDS]))
    g = _bulk_groups(path, sel)
    gap = int((hi - lo) / max(len(g["where"]), 1))
    c_dense = plan_coverage(det_ev, dense, CascadeMM(), g, gap)
    c_default = plan_coverage(det_ev, Params(), CascadeMM(), g, gap)
    assert c_dense > windows.MOST >= c_default, (c_dense, c_default)
    full, dflt = _equal(path, dense)
    assert getattr(dflt, "read", None) is None and len(full.trades()) > 20  # the plain read ran
    monkeypatch.setattr(windows, "MOST", 1.01)
    _full, dflt = _equal(path, dense)
    assert dflt.read["path"] == "windows"  # the window plan ran: the same result
    _full, dflt = _equal(path, Params(fill="queue"))
    assert dflt.read["path"] == "windows"


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.sampled_from([5, 11]), late_s=st.sampled_from([0.0, 3.0, 40.0]),
       shift_s=st.sampled_from([0.0, 20.0]), rows=st.sampled_from([700, 2_000]),
       ahead_s=st.sampled_from([0.0, 4.0, 8.0]), book=st.booleans(), fill=st.sampled_from(["through", "queue"]),
       skew=st.sampled_from(["5s", "1s", "30s"]), span_h=st.sampled_from([None, 7, 30]))
def test_the_files_clock_index_gives_what_the_decoded_rows_give(tmp_path_factory, seed, late_s,
                                                               shift_s, rows, ahead_s, book, fill, skew, span_h):
    """The detection read takes each liquidation's clock setter from its file's clock index where the
    index proves it, instead of decoding the time columns around it: the records, ledger and summary are
    those of the read that decodes every setter's rows (the index off) and of the full replay, under any
    max-clock-skew (a setter the read would drop as from the future is not taken from the index) and any
    receive-time span (a setter outside it neither)."""
    from liqcore.backtest import row_groups as RG
    from liqcore.backtest.run import backtest_chunked, backtest_windows, resolve_strategy
    from liqcore.synthetic.market import DEFAULT_START_NS

    path = _late_dataset(tmp_path_factory, seed, late_s, shift_s, rows, ahead_s, book)
    obj, p = resolve_strategy(None, Params.from_mapping({"fill": fill, "max-clock-skew": skew}))
    kw = {} if span_h is None else {"start_ns": DEFAULT_START_NS + span_h * 3_600_000_000_000}
    full = backtest_chunked(path, p, obj, equity=10_000.0, **kw)
    with_index = backtest_windows(path, p, obj, equity=10_000.0, **kw)
    RG._ClockRows.use_index = False  # (not monkeypatch: it would stay off for hypothesis's next examples)
    try:
        without = backtest_windows(path, p, obj, equity=10_000.0, **kw)
    finally:
        RG._ClockRows.use_index = True
    for other in (without, full):
        assert with_index.trades() == other.trades()
        _same_ledger(with_index.ledger, other.ledger)
        _same_records(with_index.records, other.records)
        assert _summary(with_index) == _summary(other)
    assert with_index.read["clock_indexed"] > 0 and without.read["clock_indexed"] == 0
    assert with_index.read["rows_clock"] <= without.read["rows_clock"]
    # (the setters' count can differ by a few: a decoded span starts at its first liquidation's time less
    # max-clock-skew, so a later one stamped earlier may miss a setter received before that start -- whose
    # time an earlier setter's already carries, so the clock, and every record, is the same)


def test_a_dataset_written_without_a_clock_index_reads_as_before(tmp_path_factory, monkeypatch):
    """A dataset written before the index (no footer key): every setter from decoded rows, the same result."""
    import liqcore.dataset.write as W

    monkeypatch.setattr(W, "_clock_index", lambda parts: None)
    _DS.pop((5, 3.0, 0.0, 700, 0.0, True), None)
    path = _late_dataset(tmp_path_factory, 5, 3.0, 0.0, 700, 0.0, True)
    _DS.pop((5, 3.0, 0.0, 700, 0.0, True), None)  # (not shared with the tests of the indexed dataset)
    full, dflt = _equal(path, Params.from_mapping({"fill": "queue"}))
    assert dflt.read["clock_indexed"] == 0 and dflt.read["rows_clock"] > 0

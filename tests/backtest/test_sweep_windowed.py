"""A sweep over a dataset shares what it reads: each cell is replayed exactly as a lone ``liqcore backtest DS``
of its configuration (the default, window-local read), the row groups its windows decode kept in memory for
the next cell, so a worker decodes each group once for every configuration of an execution grid (offset,
take-profit, stop-loss), and the cells are split across the workers.  Every cell equals its lone backtest
(summary, trades); a replay whose groups come from the kept ones equals a cold one (every ledger field)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from liqcore.config import Params
from tests.backtest.test_backtest_default_read import _late_dataset, _same_ledger

GRID = ["--grid", "offset=0.05%,0.2%", "--grid", "take-profit=0.3%,1%", "--grid", "stop-loss=0.5%,1%"]
#: the sweep's metric columns and the lone backtest summary's keys for them
_KEYS = {"trades": "trades", "win_rate": "win_rate", "avg_return": "avg_return", "total_return": "total_return",
         "sharpe": "sharpe", "max_drawdown": "max_drawdown", "fills": "fills", "orders": "orders",
         "n_take_profit": "take_profit", "n_stop_loss": "stop_loss", "n_timeout": "timeout", "exposure": "exposure",
         "fill_model": "fill_model"}


_TAIL: dict = {}


def _book(tmp_path_factory, seed=5):
    return _late_dataset(tmp_path_factory, seed, 3.0, 20.0, 2_000, book=True)


def _late_tail(tmp_path_factory):
    """A 2-day book market whose last two minutes of rows are received 20 s late: rows stamped in the last
    day received after its end (a venue's feed lags), which a lone backtest without ``--start`` / ``--end``
    reads."""
    if not _TAIL:
        from liqcore.synthetic.market import synthetic_market
        from tests.backtest.test_backtest_default_read import _write

        m = synthetic_market(days=2, symbols=("BTCUSDT",), seed=5, cache=False, effects={"book": True})
        ev = m.events.copy()
        day_end = (int(ev["ts_event"].max()) // 86_400_000_000_000 + 1) * 86_400_000_000_000
        tail = ev["ts_event"] >= day_end - 120_000_000_000
        ev["ts_recv"][tail] += np.int64(20_000_000_000)
        assert int(ev["ts_recv"].max()) >= day_end
        _TAIL["path"] = _write(ev, m.registry, tmp_path_factory.mktemp("tail") / "ds", 2_000)
    return _TAIL["path"]


@pytest.mark.parametrize("seed", [5, 11, "tail"])
def test_every_cell_of_a_dataset_sweep_equals_its_lone_backtest(tmp_path_factory, tmp_path, capsys, seed):
    """``liqcore sweep DS --fill queue --grid offset --grid take-profit --grid stop-loss --workers 2 --out
    T.parquet``: each of the 8 cells has the summary of ``liqcore backtest DS --fill queue`` with its
    configuration, to the last bit (``tail``: rows received after the last day's end, which both read)."""
    import pandas as pd

    from liqcore.cli import main

    path = _late_tail(tmp_path_factory) if seed == "tail" else _book(tmp_path_factory, seed)
    out = tmp_path / "t.parquet"
    capsys.readouterr()
    assert main(["sweep", path, "--fill", "queue", *GRID, "--workers", "2", "--out", str(out), "--json",
                 "--no-progress"]) == 0
    capsys.readouterr()
    table = pd.read_parquet(out)
    assert len(table) == 8 and int(table["trades"].sum()) > 0
    for _, row in table.iterrows():
        conf = ["--offset", row["offset"], "--take-profit", row["take-profit"], "--stop-loss", row["stop-loss"]]
        assert main(["backtest", path, "--fill", "queue", "--equity", "10000", "--json", *conf]) == 0
        s = json.loads(capsys.readouterr().out)["summary"]
        assert s["read"]["path"] == "windows"  # the lone backtest's default read
        for col, key in _KEYS.items():
            a, b = row[col], s.get(key)
            assert (a == b) or (a != a and b is None), (conf, col, a, b)


def test_a_sweep_decodes_each_row_group_once_for_all_its_cells(tmp_path_factory, monkeypatch):
    """In one worker, 8 cells of an execution grid decode each row group (and set of its columns) once: the
    groups the first cells decoded are kept for the others (a cell reading on while its position lives adds
    the groups it reaches), far fewer rows than the full replay, which the sweep of a dataset ran before
    (every row decoded for every task)."""
    import pyarrow.parquet as pq

    import liqcore.dataset.checked as ck
    from liqcore.backtest.run import backtest
    from liqcore.sweep import cells as S, grid as SG, runners as SR, store as SS

    path = _book(tmp_path_factory)
    decoded, seen = [], []
    real = pq.ParquetFile.read_row_groups

    def counting(self, groups, *a, **kw):
        t = real(self, groups, *a, **kw)
        cols = tuple(kw.get("columns") or (a[0] if a else ()))
        if cols != ("ts_event_ns", "ts_recv_ns"):  # (the detector's clock, read per cell: not the windows' rows)
            decoded.append(t.num_rows)
            md = self.metadata  # the file, by its footer
            seen.extend(((md.num_rows, md.serialized_size), int(g), cols, 0, md.row_group(int(g)).num_rows)
                        for g in groups)
        return t

    real_pages = ck._decode_pages

    def counting_pages(path_, f, ws, dec):  # (row groups decoded page by page)
        got = real_pages(path_, f, ws, dec)
        for w in ws:
            if w[0] in got:
                decoded.append(w[3] - w[2])
                seen.append(((int(f.rows.sum()), f.meta_len), int(w[1]), tuple(dec), w[2], w[3]))
        return got

    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", counting)
    monkeypatch.setattr(ck, "_decode_pages", counting_pages)
    ck._RECENT.clear()
    ck._recent_bytes[0] = 0
    short = {"fill": "queue", "entry-timeout": "90s", "hold-timeout": "5m"}  # windows of ~7 minutes
    lone = backtest([path], Params.from_mapping(short), equity=10_000.0)
    one = sum(decoded)
    assert lone.read["path"] == "windows" and one > 0
    ck._RECENT.clear()
    ck._recent_bytes[0] = 0
    decoded.clear()
    seen.clear()
    grid = SG.validate_grid({"offset": ["0.05%", "0.2%"], "take-profit": ["0.3%", "1%"], "stop-loss": ["0.5%", "1%"]})
    base = Params.from_mapping(short)
    from liqcore.backtest.chunked import default_chunk_days

    src = S.Source("dataset", path=path)
    part = S.Partition(src, ("BTCUSDT",), chunk_days=default_chunk_days(path))
    df, stats = SS.run_cells(SG.expand_cells(grid), [part], [S.Window()], base, [], equity=10_000.0,
                             runner=SR.LocalRunner(1))
    assert len(df) == 8 and stats["tasks"] == 1
    # each part of a row group (its rows a read can need) decoded once, not once per cell
    assert seen and len(seen) == len(set(seen)), "a row group's rows decoded twice"
    assert sum(decoded) < 2 * one, (sum(decoded), one)  # (8 cells: 8 x one before the groups were kept)
    assert sum(decoded) < 0.8 * lone.read["rows_total"]


@pytest.mark.parametrize("seed", [11, "tail"])
def test_kept_row_groups_give_the_cold_replay(tmp_path_factory, seed):
    """A cell replayed after others, its row groups taken from those kept and its detection from the first
    cell's (``replay_windows(shared=)``), equals the same cell replayed cold: every ledger field, the
    simulator's counts, the records."""
    import liqcore.dataset.checked as ck
    from liqcore.backtest.run import BacktestResult, backtest_windows, resolve_strategy
    from liqcore.backtest.windows import replay_windows

    path = _late_tail(tmp_path_factory) if seed == "tail" else _book(tmp_path_factory, seed)
    shared: dict = {}

    def run(conf, share=False):
        obj, p = resolve_strategy(None, Params.from_mapping({"fill": "queue", **conf}))
        if not share:
            return backtest_windows(path, p, obj, equity=10_000.0)
        f = replay_windows(path, p, obj, equity=10_000.0, shared=shared, feed_note=False)  # (as a sweep's cells)
        assert f["latency"]["feed_rows_read"] is None
        res = BacktestResult(**{k: v for k, v in f.items() if k in BacktestResult.__dataclass_fields__})
        res.read = {"rows_read": f["rows_read"]}
        return res

    a_conf, b_conf = {"offset": "0.05%", "take-profit": "1%"}, {"offset": "0.3%", "stop-loss": "0.3%"}
    ck._RECENT.clear()
    ck._recent_bytes[0] = 0
    cold = run(a_conf)
    with ck.keep_decoded(1 << 30):
        run(b_conf, share=True)
        n_kept = len(ck._RECENT)
        warm = run(a_conf, share=True)
        assert any(k[1] == "detection" for k in shared)  # made by the first cell, taken by the second
        assert any(k[1] == "reads" and len(v) > 2 for k, v in shared.items())  # the reads kept for the next cells
        assert any(k[1] == "steps" and len(v) > 2 for k, v in shared.items())  # what the steps found, kept too
        assert len(ck._RECENT) >= n_kept > 8  # the groups stayed
        assert warm.read["rows_read"] < cold.read["rows_read"]  # taken from memory, not decoded again
    assert len(cold.ledger) > 0
    _same_ledger(warm.ledger, cold.ledger)
    assert np.array_equal(warm.counts, cold.counts) and np.array_equal(warm.records, cold.records)
    assert warm.trades() == cold.trades()
    assert ck._recent_bytes[0] <= max(ck._RECENT_BYTES, sum(ck._nbytes(g) for g in list(ck._RECENT.values())[:8]))
    # the kept reads are handed to the cells as they are (no copy per cell): after three cells each still holds
    # the rows a fresh read of its arguments gives (no step wrote to the rows it was handed)
    from liqcore.backtest.windows import _Reader
    from liqcore.dataset.read import check_selection

    memo = next(v for k, v in shared.items() if k[1] == "reads")
    reg = next(v for k, v in shared.items() if k[1] == "registry")
    sel = check_selection(path, None, None, None)
    fresh = _Reader(path, (), None, None, Params.from_mapping({"fill": "queue"}), reg, sel)
    kept = [(k, v) for k, v in memo.items() if k != "bytes"]
    assert len(kept) > 2
    for (a, b, kinds, recv), rows in kept:
        again = fresh._read(a, b, None if kinds is None else list(kinds), recv)
        assert rows.dtype == again.dtype and np.array_equal(rows, again), (a, b, kinds, recv)
    warm_rd = _Reader(path, (), None, None, Params.from_mapping({"fill": "queue"}), reg, sel)
    warm_rd.memo = memo
    (a, b, kinds, recv), rows = kept[-1]
    assert warm_rd.read(a, b, None if kinds is None else list(kinds), recv) is rows


def test_a_dataset_sweeps_cells_are_split_across_the_workers(tmp_path_factory):
    """One partition, one detector configuration, two workers: two tasks of half the cells each (one task
    held every cell before: one worker busy); the table is the one worker's."""
    from liqcore.backtest.chunked import default_chunk_days
    from liqcore.sweep import cells as S, grid as SG, runners as SR, store as SS

    path = _book(tmp_path_factory)
    grid = SG.validate_grid({"offset": ["0.05%", "0.2%"], "take-profit": ["0.3%", "1%"]})
    base = Params.from_mapping({"fill": "queue"})
    part = S.Partition(S.Source("dataset", path=path), ("BTCUSDT",), chunk_days=default_chunk_days(path))
    tables = []
    for n in (1, 2):
        df, stats = SS.run_cells(SG.expand_cells(grid), [part], [S.Window()], base, [], equity=10_000.0,
                                 runner=SR.LocalRunner(n))
        assert stats["tasks"] == n, stats
        tables.append(df.drop(columns=["cell"]))
    assert tables[0].equals(tables[1]) and int(tables[0]["trades"].sum()) > 0


def _replay(path, conf, shared):
    """A sweep cell's replay (``replay_windows(shared=)``) of ``conf`` under the queue rule."""
    from liqcore.backtest.run import resolve_strategy
    from liqcore.backtest.windows import replay_windows

    obj, p = resolve_strategy(None, Params.from_mapping({"fill": "queue", **conf}))
    return replay_windows(path, p, obj, equity=10_000.0, shared=shared, feed_note=False)


def test_a_grid_of_hold_timeouts_keeps_one_memo_of_reads_and_one_detection(tmp_path_factory):
    """Cells that differ in their hold-timeout (a strategy parameter, not an offset, take-profit or stop-loss) share
    one memo of reads, one of the steps' findings and one detection: what a worker holds does not grow with the
    values of the grid (one memo of up to ``READ_MEMO_BYTES`` per hold-timeout before, and detection run again for
    each); each cell still equals its cold replay."""
    path = _book(tmp_path_factory)
    shared: dict = {}
    confs = [{"offset": o, "hold-timeout": h} for h in ("2m", "5m", "30m") for o in ("0.05%", "0.2%")]
    got = [_replay(path, c, shared) for c in confs]
    for name in ("reads", "steps", "detection", "pass 1", "registry"):
        assert sum(1 for k in shared if k[1] == name) == 1, (name, [k for k in shared if k[1] == name])
    assert len({len(g["ledger"]) for g in got}) > 1 or len({g["equity"] for g in got}) > 1  # (the cells differ)
    for c, warm in zip(confs[::3], got[::3]):
        cold = _replay(path, c, None)
        _same_ledger(warm["ledger"], cold["ledger"])
        assert np.array_equal(warm["counts"], cold["counts"]) and warm["equity"] == cold["equity"]


def test_the_steps_findings_kept_for_the_cells_stay_within_their_bytes(tmp_path_factory, monkeypatch):
    """The steps' findings a sweep's cells keep for one another (:func:`liqcore.backtest.windows._step_rows`) stop
    at ``STEP_MEMO_BYTES`` (counted: each finding's arrays and ``STEP_ENTRY_BYTES``): a large grid's ever new steps
    are scanned again past it, not held; the cells equal their cold replays either way."""
    import liqcore.backtest.windows as W

    path = _book(tmp_path_factory)
    cap = 6 * W.STEP_ENTRY_BYTES
    monkeypatch.setattr(W, "STEP_MEMO_BYTES", cap)
    shared: dict = {}
    confs = [{"offset": o, "take-profit": t} for o in ("0.05%", "0.2%") for t in ("0.3%", "1%")]
    got = [_replay(path, c, shared) for c in confs]
    steps = next(v for k, v in shared.items() if k[1] == "steps")
    kept = [v for k, v in steps.items() if k != "bytes"]
    assert 0 < len(kept) < cap // W.STEP_ENTRY_BYTES  # some kept, not every step the cells made
    held = sum(W.STEP_ENTRY_BYTES + v[0].nbytes + (0 if v[2] is None else v[2].nbytes) for v in kept)
    assert held == steps["bytes"] <= cap
    monkeypatch.setattr(W, "STEP_MEMO_BYTES", 1 << 30)
    unbounded: dict = {}
    for c in confs:
        _replay(path, c, unbounded)
    assert len(next(v for k, v in unbounded.items() if k[1] == "steps")) - 1 > len(kept)  # (the cap was reached)
    for c, warm in zip(confs, got):
        cold = _replay(path, c, None)
        _same_ledger(warm["ledger"], cold["ledger"])
        assert np.array_equal(warm["counts"], cold["counts"]) and warm["equity"] == cold["equity"]


def test_the_detection_key_holds_every_parameter_the_detector_reads_from_params():
    """Detection shared between a sweep's cells is keyed by ``Params.detector_kwargs()``: every name
    ``CascadeDetector.from_params`` reads off a Params beyond them (its plausibility bounds) is no Params field, or
    one of the detector's (a bound made a field of another group would let cells with different bounds share one
    detection)."""
    from liqcore._libs.detection import _plausibility
    from liqcore.params import DETECTOR_PARAMS, PARAMS

    class Probe:  # answers every attribute: the names read are the dict's keys
        def __getattr__(self, name):
            return 1

    read = set(_plausibility(Probe()))
    assert read  # (the probe reached the bounds)
    fields = {s.field for s in PARAMS}
    assert all(n not in fields or n in DETECTOR_PARAMS for n in read), sorted(read & fields - set(DETECTOR_PARAMS))

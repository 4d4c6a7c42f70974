"""A sweep's cells replayed together by one window plan (``liqcore.backtest.windows.replay_cells``): each cell gets
what its lone replay gets (every ledger field, its counts, equity and span), whatever the others in its group are --
offsets whose entries rest at other prices, take-profits and stop-losses closing at other times, hold and entry
timeouts, cooldowns, a trailing stop (which no span is passed over for), under the queue rule and without it --
and the plan's steps, its reads and decisions, are made once for the group (one compiled call a step for every
cell: ``liqcore._jit.sim.run_cells``, itself equal to one ``run_sim`` a cell)."""
from __future__ import annotations

import numpy as np
import pytest

from liqcore.config import Params
from tests.backtest.test_backtest_default_read import _same_ledger
from tests.backtest.test_sweep_windowed import _book, _late_tail

#: the cells of one group: one shares nothing but the detector with the others (the simulator's parameters vary)
CONFS = [
    {"offset": "0.05%", "take-profit": "0.3%", "stop-loss": "0.5%"},
    {"offset": "0.05%", "take-profit": "1%", "stop-loss": "0.5%"},
    {"offset": "0.05%", "take-profit": "0.3%", "stop-loss": "2%", "hold-timeout": "2m"},
    {"offset": "0.2%", "take-profit": "0.5%", "stop-loss": "1%", "hold-timeout": "2h"},
    {"offset": "0.1%", "take-profit": "1%", "stop-loss": "0.3%", "entry-timeout": "30s", "cooldown": "0s"},
    {"offset": "0.1%", "take-profit": "1%", "stop-loss": "1%", "trail": "0.2%"},
]


def _resolved(confs, fill):
    from liqcore.backtest.run import resolve_strategy

    return [resolve_strategy(None, Params.from_mapping({"fill": fill, **c})) for c in confs]


def _same(got: dict, lone: dict) -> None:
    _same_ledger(got["ledger"], lone["ledger"])
    assert np.array_equal(got["counts"], lone["counts"])
    for k in ("equity", "start_ns", "end_ns", "fill_fallback"):  # (n_prints: the rows the plan handed, more together)
        assert got[k] == lone[k], k
    assert np.array_equal(got["open_at_end"], lone["open_at_end"])
    assert np.array_equal(got["working_at_end"], lone["working_at_end"])


@pytest.mark.parametrize("seed", [5, 11, "tail"])
@pytest.mark.parametrize("fill", ["queue", "through"])
def test_cells_replayed_together_each_equal_their_lone_replay(tmp_path_factory, seed, fill):
    from liqcore.backtest.windows import replay_cells, replay_windows

    path = _late_tail(tmp_path_factory) if seed == "tail" else _book(tmp_path_factory, seed)
    cells = _resolved(CONFS, fill)
    shared: dict = {}
    together = replay_cells(path, [p for _o, p in cells], [o for o, _p in cells], equity=10_000.0, shared=shared,
                            feed_note=False)
    assert len(together) == len(CONFS)
    trades = [len(g["ledger"]) for g in together]
    assert sum(trades) > 0 and len({(len(g["ledger"]), g["equity"]) for g in together}) > 2  # (the cells differ)
    for (obj, p), got in zip(cells, together):
        _same(got, replay_windows(path, p, obj, equity=10_000.0, feed_note=False))  # (alone, cold)


def test_a_group_of_one_is_the_lone_replay_and_others_do_not_change_it(tmp_path_factory):
    """A cell's result does not depend on which cells share its plan: alone, with one other, with all of them."""
    from liqcore.backtest.windows import replay_cells

    path = _book(tmp_path_factory, 11)
    cells = _resolved(CONFS, "queue")
    first = [replay_cells(path, [cells[0][1]], [cells[0][0]], equity=10_000.0)[0]]
    first.append(replay_cells(path, [cells[0][1], cells[3][1]], [cells[0][0], cells[3][0]], equity=10_000.0)[0])
    first.append(replay_cells(path, [p for _o, p in cells], [o for o, _p in cells], equity=10_000.0)[0])
    for got in first[1:]:
        _same(got, first[0])


def test_cells_that_read_differently_are_not_replayed_together(tmp_path_factory):
    """Cells whose reads or detection differ (the clock skew, the detector's quantile) are refused as one group:
    the sweep groups cells by what they share (``liqcore.sweep.cells.together``)."""
    from liqcore.backtest.windows import replay_cells
    from liqcore.sweep.cells import together

    path = _book(tmp_path_factory, 5)
    cells = _resolved([{"offset": "0.1%"}, {"offset": "0.1%", "max-clock-skew": "1s"}], "queue")
    with pytest.raises(ValueError, match="differ in more than"):
        replay_cells(path, [p for _o, p in cells], [o for o, _p in cells], equity=10_000.0)
    assert sorted(len(g) for g in together(cells)) == [1, 1]

def test_a_groups_cells_are_whole_entries_packed_up_to_the_bound(monkeypatch):
    """``together``: one entry's cells (offset and timeouts alike: they rest and fill together) in one group where they
    fit, whole entries packed up to ``TOGETHER_CELLS``, an entry larger than that cut in groups of the bound."""
    from liqcore.sweep import cells as S

    grid = _resolved([{"offset": o, "take-profit": t, "stop-loss": x} for o in ("0.2%", "0.05%")
                      for t in ("0.3%", "1%") for x in ("0.5%", "1%")], "queue")
    assert S.together(grid) == [[4, 5, 6, 7, 0, 1, 2, 3]]  # (the smaller offset's entry first)
    monkeypatch.setattr(S, "TOGETHER_CELLS", 5)
    assert S.together(grid) == [[4, 5, 6, 7], [0, 1, 2, 3]]  # (two entries of 4 do not fit in 5)
    monkeypatch.setattr(S, "TOGETHER_CELLS", 3)
    assert S.together(grid) == [[4, 5, 6], [7], [0, 1, 2], [3]]


def test_run_cells_equals_run_sim_on_each_cell():
    """The kernel that steps every cell of a group (``run_cells``) leaves each cell's arrays as ``run_sim`` on that
    cell alone does, over rows given in parts with records carried between them."""
    from liqcore._jit import sim
    from liqcore.execution.replay import new_replay
    from liqcore.synthetic.market import synthetic_market
    from liqcore.execution.detect import confirmed_records, detect
    from liqcore.execution.events import prepare_events

    m = synthetic_market(days=0.5, symbols=("BTCUSDT",), seed=3, cache=False, effects={"book": True})
    ev = prepare_events(m.events)
    rec = confirmed_records(detect(ev, Params())[0], ordered=True)
    assert len(rec) > 0
    confs = [{"fill": "queue", **c} for c in CONFS]
    lone = [new_replay(Params.from_mapping(c), m.registry, 1, 10_000.0, len(rec) + 1) for c in confs]
    many = [new_replay(Params.from_mapping(c), m.registry, 1, 10_000.0, len(rec) + 1) for c in confs]
    par, st, port, ledger, counts = (np.stack([x[i] for x in many]) for i in range(5))
    cuts = np.linspace(0, len(ev), 5).astype(int)
    cols = lambda r: (r["confirm_recv_ns"].astype(np.int64), r["event_index"].astype(np.int64),  # noqa: E731
                      r["symbol_id"].astype(np.int64), r["dominant"].astype(np.int64),
                      r["cascade_id"].astype(np.int64))
    for a, b in zip(cuts[:-1], cuts[1:]):
        r = rec[(rec["event_index"] >= a) & (rec["event_index"] < b)]
        t, ni, sid, dom, cid = cols(r)
        end = int(ev["ts_recv"][b - 1]) if b == len(ev) else sim.NO_CLOCK
        for x in lone:
            sim.run_sim(ev[a:b], t, ni - a, sid, dom, cid, x[1], x[2], x[0], x[3], x[4], end)
        sim.run_cells(ev[a:b], t, ni - a, sid, dom, cid, st, port, par, ledger, counts, end)
    assert sum(int(x[2][0]["n_trades"]) for x in lone) > 0
    for k, x in enumerate(lone):
        n = int(x[2][0]["n_trades"])
        assert int(port[k][0]["n_trades"]) == n
        _same_ledger(ledger[k][:n], x[3][:n])
        assert np.array_equal(counts[k], x[4]) and port[k][0]["equity"] == x[2][0]["equity"]
        assert st[k].tobytes() == x[1].tobytes()

"""Entries two fill models fill differently, and why (liqcore.execution.fill_diff): knock-on (busy,
cooldown), the price grid, the looser rule's own fill, or none of these."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from liqcore._jit.sim import LEDGER_DTYPE
from liqcore.config import Params
from liqcore.execution.fill_diff import differences_line, fill_differences

S = 1_000_000_000


def _run(fill, rows):
    led = np.zeros(len(rows), dtype=LEDGER_DTYPE)
    for i, (tag, sid, t, exit_t, px) in enumerate(rows):
        led[i]["cascade_id"], led[i]["symbol_id"], led[i]["signal_ns"] = tag, sid, t
        led[i]["entry_ns"], led[i]["exit_ns"], led[i]["entry_price"] = t + S, exit_t, px
    return SimpleNamespace(ledger=led, params=Params(fill=fill, cooldown_ns=60 * S, max_symbols=4))


def test_each_difference_gets_its_cause():
    through = _run("through", [(1, 0, 0, 100 * S, 100.005),   # off the 0.01 grid: the queue run moved it
                               (2, 1, 0, 10 * S, 50.0),       # queue was busy on symbol 1 then (tag 7)
                               (3, 1, 300 * S, 310 * S, 50.0),  # queue in its cooldown after tag 8
                               (4, 2, 0, 10 * S, 20.0)])      # none of these
    queue = _run("queue", [(7, 1, -5 * S, 20 * S, 50.0), (8, 1, 250 * S, 290 * S, 50.0), (9, 3, 0, 5 * S, 10.0)])
    grids = np.full(4, 100.0)
    d = fill_differences(through, queue, None, grids)
    assert d["a only"] == {"knock-on": 2, "grid": 1, "rule": 0, "other": 1, "total": 4}
    # the queue run's own fills that through does not have (the through run held nothing then): the looser
    # rule's fill
    assert d["b only"] == {"knock-on": 0, "grid": 0, "rule": 3, "other": 0, "total": 3}
    line = differences_line("through", "queue", d)
    assert line == ("through vs queue: 4 (2 knock-on, 1 grid, 1 other) entries filled under through only, "
                    "3 (3 rule) under queue only")

"""The final order statuses are written once (:data:`liqcore.venues.orders.FINAL_STATUSES`): the gateways, the
order manager's unknowns and shutdown, the lifecycle and the journal take them from there, so a status added to
them cannot be final in one place and open in another."""
from __future__ import annotations

import re
from pathlib import Path

from liqcore.live import journal, lifecycle, unknowns
from liqcore.venues import gateway_core
from liqcore.venues.orders import FINAL_STATUSES, ORDER_STATUSES

ROOT = Path(__file__).resolve().parents[2] / "liqcore"
#: the four statuses written out together, in any order, quoted either way
_LITERAL = re.compile(r"""(["'](filled|cancelled|rejected|deactivated)["'],\s*){3}["'](filled|cancelled|rejected|deactivated)["']""")


def test_the_final_statuses_are_one_tuple_everywhere():
    assert set(FINAL_STATUSES) <= set(ORDER_STATUSES)
    assert gateway_core.TERMINAL is FINAL_STATUSES and unknowns.TERMINAL is FINAL_STATUSES
    assert lifecycle._TERMINAL is FINAL_STATUSES and journal.TERMINAL_STATUSES == frozenset(FINAL_STATUSES)
    written = [f"{p.relative_to(ROOT.parent)}:{s[:m.start()].count(chr(10)) + 1}"
               for p in sorted(ROOT.rglob("*.py")) for s in [p.read_text()] for m in _LITERAL.finditer(s)]
    assert written == ["liqcore/venues/orders.py:18"], written

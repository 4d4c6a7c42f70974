"""A journaled run of a streaming strategy without a state snapshot ends without an error (the base
stream's refusing ``snapshot`` is not a failure to save), and one with its own snapshot saves it."""
from __future__ import annotations

import asyncio

import pytest

from liqcore.config import Params
from liqcore.live.engine import Engine
from liqcore.live.journal import Journal

pytestmark = [pytest.mark.timeout(60)]


async def _journaled_run(path, strategy):
    eng = Engine(Params(strategy=strategy), symbols=["ETHUSDT"], journal=Journal(path))
    await eng.start()
    await eng.shutdown(cancel_entries=True)
    snap = eng.snapshot()
    eng.journal.close()
    return snap


@pytest.mark.parametrize("strategy", ["flush-reversal-rule", "imbalance-reversal", "vol-breakout"])
def test_journaled_run_of_a_streaming_strategy_ends_without_errors(tmp_path, strategy):
    snap = asyncio.run(_journaled_run(tmp_path / "j.sqlite", strategy))
    assert snap["errors"] == 0, snap["errors_by_source"]

"""Ending a fake's task (``liqcore.venues.fake_streams.end_task``): the task's own cancellation is its end, but a
cancellation of the caller while it waits -- a Ctrl-C ending the event loop -- goes on to the caller.  Swallowed,
it left ``liqcore venue``'s market loop serving after a Ctrl-C (it stopped its replay at that moment), so the
command never ended."""
from __future__ import annotations

import asyncio
import sys

import pytest

from liqcore.venues.fake_streams import end_task


async def _stubborn(started: asyncio.Event, release: asyncio.Event):
    """A task that takes a while to end once cancelled (a replay finishing the frame it matches)."""
    started.set()
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        await release.wait()
        raise


def test_the_tasks_own_end_is_waited_for_and_taken():
    async def main():
        started, release = asyncio.Event(), asyncio.Event()
        task = asyncio.ensure_future(_stubborn(started, release))
        await started.wait()
        asyncio.get_running_loop().call_later(0.01, release.set)
        await end_task(task)  # (its CancelledError is its end: not raised here)
        return task.cancelled()

    assert asyncio.run(main()) is True


@pytest.mark.skipif(sys.version_info < (3, 11), reason="Task.cancelling() is Python 3.11's")
def test_a_cancellation_of_the_caller_while_it_waits_is_passed_on():
    async def main():
        started, release = asyncio.Event(), asyncio.Event()
        inner = asyncio.ensure_future(_stubborn(started, release))
        await started.wait()
        loops = []

        async def market():  # a loop stopping its replay, as liqcore venue's market does
            while True:
                loops.append(1)
                await end_task(inner)
                await asyncio.sleep(0.001)

        outer = asyncio.ensure_future(market())
        await asyncio.sleep(0.01)  # (the market waits in end_task: the inner task is slow to end)
        outer.cancel()  # the Ctrl-C
        asyncio.get_running_loop().call_later(0.01, release.set)
        try:
            await asyncio.wait_for(outer, 2.0)
        except asyncio.CancelledError:
            return "cancelled", len(loops)
        except asyncio.TimeoutError:
            return "still running", len(loops)
        return "returned", len(loops)

    assert asyncio.run(main()) == ("cancelled", 1)

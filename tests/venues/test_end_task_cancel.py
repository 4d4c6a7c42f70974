"""Ending a task (``liqcore.interrupt.end_task``, ``end_tasks``): the task's own cancellation is its end, but a
cancellation of the caller while it waits -- a Ctrl-C ending the event loop -- goes on to the caller.  Swallowed,
it left ``liqcore venue``'s market loop serving after a Ctrl-C (it stopped its replay at that moment), so the
command never ended."""
from __future__ import annotations

import asyncio
import sys

import pytest

from liqcore.interrupt import end_task, end_tasks


async def _stubborn(started: asyncio.Event, release: asyncio.Event, swallow: bool = False):
    """A task that takes a while to end once cancelled (a replay finishing the frame it matches); ``swallow``: it
    takes its cancellation for a stop request and returns (no CancelledError)."""
    started.set()
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        await release.wait()
        if not swallow:
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


def _swallowing(started: asyncio.Event, release: asyncio.Event):
    return _stubborn(started, release, swallow=True)


async def _cancel_while_ending(tasks, stop, release_after: float = 0.02):
    """``stop(tasks)`` in an outer task cancelled (the Ctrl-C) once it waits there; the tasks are let end
    ``release_after`` s later.  (what the outer did, whether every task had ended when it was cancelled)."""
    release = asyncio.Event()
    started = [asyncio.Event() for _ in tasks]
    inner = [asyncio.ensure_future(fn(s, release)) for fn, s in zip(tasks, started)]
    for s in started:
        await s.wait()
    seen = {}

    async def outer():
        try:
            await stop(inner)
        except asyncio.CancelledError:
            seen["ended"] = all(t.done() for t in inner)
            raise
        seen["ended"] = all(t.done() for t in inner)
        await asyncio.sleep(3600)  # (went on as if stopped)

    task = asyncio.ensure_future(outer())
    while not all(t.cancelling() for t in inner):
        await asyncio.sleep(0)
    task.cancel()
    asyncio.get_running_loop().call_later(release_after, release.set)
    try:
        await asyncio.wait_for(task, 2.0)
    except asyncio.CancelledError:
        return "cancelled", seen["ended"]
    except asyncio.TimeoutError:
        return "still running", seen.get("ended")
    return "returned", seen["ended"]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="Task.cancelling() is Python 3.11's")
def test_end_tasks_passes_the_callers_cancellation_on_once_every_task_has_ended():
    async def main():
        return await _cancel_while_ending([_stubborn, _swallowing, _stubborn], end_tasks)

    assert asyncio.run(main()) == ("cancelled", True)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="Task.cancelling() is Python 3.11's")
def test_a_task_that_returns_when_cancelled_does_not_hide_the_callers_cancellation():
    async def main():
        return await _cancel_while_ending([_swallowing], lambda ts: end_task(ts[0]))

    assert asyncio.run(main()) == ("cancelled", True)


def test_end_tasks_skips_none_and_takes_each_tasks_own_end():
    async def main():
        async def fails():
            raise RuntimeError("the task's own error")

        release = asyncio.Event()
        started = asyncio.Event()
        tasks = [asyncio.ensure_future(fails()), asyncio.ensure_future(_stubborn(started, release)), None]
        await started.wait()
        release.set()
        await end_tasks(tasks)
        await end_task(None)
        return [t.done() for t in tasks if t is not None]

    assert asyncio.run(main()) == [True, True]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="Task.cancelling() is Python 3.11's")
def test_a_stop_that_runs_after_a_ctrl_c_is_not_cut_short():
    """A runner's ``finally`` after the Ctrl-C (the caller already cancelled once) stops its parts one after the
    other: each end_task there is a task's end, not a new cancellation, so the stops after it still run."""
    async def main():
        release = asyncio.Event()
        starts = [asyncio.Event(), asyncio.Event()]
        inner = [asyncio.ensure_future(_stubborn(s, release)) for s in starts]
        stopped = []

        async def runner():
            try:
                await asyncio.sleep(3600)
            finally:
                for t in inner:
                    await end_task(t)
                    stopped.append(t.done())

        for s in starts:
            await s.wait()
        task = asyncio.ensure_future(runner())
        await asyncio.sleep(0)
        task.cancel()
        release.set()
        try:
            await asyncio.wait_for(task, 2.0)
        except asyncio.CancelledError:
            return stopped
        return "returned"

    assert asyncio.run(main()) == [True, True]

"""A Ctrl-C that lands while a live runner's part stops (its stop waits for a task it cancelled) reaches the caller:
the stop raises CancelledError once its tasks have ended and its sessions are closed.  Swallowed, the caller took
the cancellation for the task's end and went on, and the loop could wait for ever (``liqcore venue`` did).
The parts: the Bybit private stream and REST client, every venue gateway's core (``_stop_tasks``), the depth
keeper, the terminal and the web dashboards."""
from __future__ import annotations

import asyncio
import sys

import pytest

pytestmark = pytest.mark.skipif(sys.version_info < (3, 11), reason="Task.cancelling() is Python 3.11's")


async def _ending_slowly(started: asyncio.Event) -> None:
    """A task that takes a moment to end once cancelled (finishing the request or frame it was on)."""
    started.set()
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        await asyncio.sleep(0.05)
        raise


class _Closable:
    """A session (or REST client) that says whether it was closed."""

    def __init__(self) -> None:
        self.closed = False

    async def close(self) -> None:
        self.closed = True


def _stop_in_owner(setup, stop, *, cancel: bool) -> dict:
    """``stop(obj)`` awaited by an owner task (a runner's stop path) while ``obj``'s tasks (made by ``setup``'s
    ``make_task``) are slow to end; with ``cancel``, the owner is cancelled (the Ctrl-C) once it waits there.
    What the owner did: "cancelled" (passed on), "went on" (past the stop) or "stuck"."""
    async def main():
        made, started = [], []

        def make_task():
            started.append(asyncio.Event())
            made.append(asyncio.ensure_future(_ending_slowly(started[-1])))
            return made[-1]

        obj, closables = setup(make_task)
        for e in started:
            await e.wait()
        seen: dict = {}
        went_on = asyncio.Event()

        def note():
            seen["tasks ended"] = all(t.done() for t in made)
            seen["closed"] = [c.closed for c in closables]

        async def owner():
            try:
                await stop(obj)
            except asyncio.CancelledError:
                note()
                raise
            note()
            went_on.set()
            await asyncio.Event().wait()  # (a runner that took the stop for done waits on: the hang)

        task = asyncio.ensure_future(owner())
        if cancel:
            while not all(t.cancelling() for t in made):  # (the owner waits in the stop now)
                await asyncio.sleep(0)
            task.cancel()
        waiter = asyncio.ensure_future(went_on.wait())
        done, _ = await asyncio.wait({task, waiter}, timeout=5.0, return_when=asyncio.FIRST_COMPLETED)
        seen["owner"] = "cancelled" if task in done and task.cancelled() else "went on" if went_on.is_set() else "stuck"
        for t in (task, waiter):
            t.cancel()
        await asyncio.gather(task, waiter, *made, return_exceptions=True)
        return seen

    return asyncio.run(asyncio.wait_for(main(), 20.0))


def _bybit_private(make_task):
    from liqcore.venues.bybit.private import BybitPrivateStream

    s = BybitPrivateStream("k", "s", "ws://127.0.0.1:9")
    s._task, s._session, s._own_session = make_task(), _Closable(), True
    return s, [s._session]


def _bybit_rest(make_task):
    from liqcore.venues.bybit.rest import BybitREST

    r = BybitREST("k", "s", "http://127.0.0.1:9")
    r._keeper, r._session, r._own_session = make_task(), _Closable(), True
    return r, [r._session]


def _gateway_core(make_task):
    from liqcore.venues.binance.gateway import BinanceGateway

    gw = BinanceGateway("k", "s", "http://127.0.0.1:9", "ws://127.0.0.1:9")
    gw._tasks |= {make_task(), make_task()}
    gw._stream_task, gw._session, gw.rest = make_task(), _Closable(), _Closable()
    return gw, [gw._session, gw.rest]


def _depth_keeper(make_task):
    from liqcore.live.depthkeep import DepthKeeper

    k = DepthKeeper("binance", None, rest_base="http://127.0.0.1:9")
    k._tasks = {"BTCUSDT": make_task(), "ETHUSDT": make_task()}
    k._session = _Closable()
    return k, [k._session]


def _dashboard(make_task):
    from liqcore.live.dashboard import Dashboard

    d = Dashboard(lambda: {})
    d._task = make_task()
    return d, []


def _web_dashboard(make_task):
    from liqcore.live.web import WebDashboard

    w = WebDashboard(lambda: {})
    w._task = make_task()
    return w, []


STOPS = {
    "bybit private stream": (_bybit_private, lambda s: s.close()),
    "bybit rest": (_bybit_rest, lambda r: r.close()),
    "gateway core": (_gateway_core, lambda gw: gw._stop_tasks()),
    "depth keeper": (_depth_keeper, lambda k: k.close()),
    "dashboard": (_dashboard, lambda d: d.stop()),
    "web dashboard": (_web_dashboard, lambda w: w._stop_push(None)),
}


@pytest.mark.parametrize("part", list(STOPS))
def test_a_ctrl_c_during_the_stop_reaches_the_caller_after_the_tasks_end(part):
    setup, stop = STOPS[part]
    seen = _stop_in_owner(setup, stop, cancel=True)
    assert seen["owner"] == "cancelled" and seen.get("tasks ended") and all(seen["closed"]), seen


@pytest.mark.parametrize("part", list(STOPS))
def test_a_stop_without_a_ctrl_c_ends_the_tasks_and_returns(part):
    setup, stop = STOPS[part]
    seen = _stop_in_owner(setup, stop, cancel=False)
    assert seen["owner"] == "went on" and seen["tasks ended"] and all(seen["closed"]), seen

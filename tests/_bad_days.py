"""The set-ups and checks the venues' bad-days tests share (``tests/live/test_{bybit,binance,okx}_bad_days*.py``),
so that each test reads as: the set-up by name, the fault, the assertions that matter.

* in-process: :func:`bybit_day`, :func:`binance_day`, :func:`okx_day` start the venue's loopback fake and its real
  gateway (the bad days' default options, a test's own over them), a :class:`DayRecorder` on the gateway, and
  close both after; :func:`run` runs a test's coroutine with a bound; :func:`fresh_governors` (autouse where a
  test module imports it) starts each test with no host governor (one per host and process: a ban of one test
  stays out of the next);
* the invariants a bad day must leave intact, one function a venue (:func:`bybit_invariants`,
  :func:`binance_invariants`, :func:`okx_invariants`): every order the venue holds is one the gateway knows, in
  the same state; no fill booked twice (:func:`booked_once`); an open position keeps its exits;
* ``liqcore run --live`` in a child process: the fake venue on a thread of its own (:func:`venue_thread`,
  :func:`binance_thread`), the venues' runs and cascades (:func:`bybit_run`, and the ones
  ``tests/live/test_live_cli_venues.py`` keeps), the child's journal read back through :func:`journal_rows`.

The venue modules (gateways, fakes) are imported here, and nowhere else in those tests: a move of them changes
this one import block.  The chaos schedules (``tests/_chaos.py``) play the same fakes and gateways by their rigs.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import pytest

# ---- the venue modules, in one place
from liqcore.venues.binance.gateway import BinanceGateway
from liqcore.venues.bybit.gateway import BybitGateway, public_clock_offset
from liqcore.venues.okx.gateway import OkxGateway, business_url
from liqcore.venues.binance.fake import FakeBinance
from liqcore.testing.fake_exchange import FakeExchangeThread
from liqcore.venues.bybit.fake import FakeExchange
from liqcore.venues.okx.fake import FakeOkx
from liqcore.venues.governor import reset_governors
from tests._live_helpers import GatewayRecorder

# ---- the command line's runs and cascades (tests/live/test_live_cli_venues.py keeps them)
from tests.live.test_live_cli_venues import (
    DETECTOR, _binance_cascade_to_entry as binance_cascade_to_entry, _binance_run as binance_run,
    _okx_run as okx_run, binance_cascade, journal_rows, key_file, okx_cascade, okx_push, on_loop, params, start)

__all__ = [
    # the venue modules'
    "BinanceGateway", "BybitGateway", "FakeBinance", "FakeExchange", "FakeExchangeThread", "FakeOkx", "OkxGateway",
    "business_url", "public_clock_offset",
    # in-process set-ups and checks
    "BINANCE_OPTS", "BYBIT_OPTS", "DayRecorder", "OKX_INST", "OKX_OPTS", "binance_day", "binance_invariants",
    "booked_once", "bybit_day", "bybit_invariants", "fresh_governors", "okx_day", "okx_invariants", "run", "until",
    # the command line's
    "DETECTOR", "binance_cascade", "binance_cascade_to_entry", "binance_run", "bybit_run", "journal_rows", "key_file",
    "okx_cascade", "okx_push", "okx_run", "on_loop", "params", "start", "venue_thread", "binance_thread",
]

#: OKX's linear swap in the fake: ctVal 0.1 ETH, lotSz 0.01, tickSz 0.01
OKX_INST = "ETH-USDT-SWAP"


@pytest.fixture(autouse=True)
def fresh_governors():
    """No host governor before or after the test (the process keeps one per host)."""
    reset_governors()
    yield
    reset_governors()


def run(coro, timeout: float = 60.0):
    """Run a test's coroutine, bounded by ``timeout`` seconds (a bound for a loaded machine).  Past the bound the
    test fails with where every task of the loop was waiting (a stall's trace: the test's own coroutine, the
    gateway's, the fake venue's), then the coroutine is cancelled."""
    async def bounded():
        task = asyncio.ensure_future(coro)
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if done:
            return task.result()
        where = _stacks(t for t in asyncio.all_tasks() if t is not asyncio.current_task())
        task.cancel()
        await asyncio.wait({task}, timeout=5.0)
        raise TimeoutError(f"not done within {timeout:g} s; the loop's tasks were waiting at:\n{where}")

    return asyncio.run(bounded())


def _stacks(tasks) -> str:
    """Each task's name and its innermost frames (file:line function), one task a paragraph."""
    out = []
    for t in tasks:
        frames = t.get_stack(limit=12)
        where = " <- ".join(f"{f.f_code.co_filename.rsplit('/', 2)[-1]}:{f.f_lineno} {f.f_code.co_name}"
                            for f in reversed(frames)) or "(no frame)"
        out.append(f"  {t.get_name()}: {where}")
    return "\n".join(out)


async def until(pred, timeout: float = 30.0, what: str = "condition"):
    """Wait for ``pred()`` (a bound for a loaded machine, not the expected wait)."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not met within {timeout} s")
        await asyncio.sleep(0.01)


class DayRecorder(GatewayRecorder):
    """What the gateway told its callbacks: order updates and fills (:class:`GatewayRecorder`, with its bounded
    :meth:`wait`) and the protection events (``protection``: lost, replaced, closed)."""

    def __init__(self, gw, default_timeout: float = 10.0):
        super().__init__(gw, default_timeout)
        self.protection = []
        gw.on_protection(self.protection.append)

    def actions(self, kind=None) -> list[str]:
        """The protection events' actions, in order; ``kind``: of that exit only (``tp``, ``sl``, ``both``)."""
        return [e["action"] for e in self.protection if kind is None or e["exit"] == kind]


@contextlib.asynccontextmanager
async def _day(fake, make_gw, setup, gw_opts: dict):
    async with fake as fx:
        gw = make_gw(fx, gw_opts)
        rec = DayRecorder(gw)
        if setup is not None:
            setup(fx, gw)
        await gw.start()
        try:
            yield fx, gw, rec
        finally:
            await gw.close()


#: the bad days' gateway options: a 5 s request timeout, retries 50 ms apart (Bybit: a ping every 5 s)
BYBIT_OPTS = dict(timeout=5.0, retry_backoff=0.05, ping_interval=5.0)
BINANCE_OPTS = dict(timeout=5.0, retry_backoff=0.05)
OKX_OPTS = dict(symbols=["ETHUSDT", "SOLUSDT"], timeout=5.0, retry_backoff=0.05, connect_timeout=5.0)


def bybit_day(setup=None, **gw_opts):
    """``async with bybit_day(**opts) as (fx, gw, rec)``: the fake Bybit exchange, a started ``BybitGateway`` on it
    (``opts`` over :data:`BYBIT_OPTS`; ``setup(fx, gw)`` before its start), its :class:`DayRecorder`."""
    return _day(FakeExchange(), lambda fx, o: BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url,
                                                           **{**BYBIT_OPTS, **o}), setup, gw_opts)


def binance_day(setup=None, **gw_opts):
    """``async with binance_day(**opts) as (fb, gw, rec)``: the fake Binance USD-M venue, a started
    ``BinanceGateway`` on it (``opts`` over :data:`BINANCE_OPTS`; ``setup(fb, gw)`` before its start), its
    :class:`DayRecorder`."""
    return _day(FakeBinance(), lambda fb, o: BinanceGateway(fb.api_key, fb.api_secret, fb.rest_url, fb.ws_base,
                                                            **{**BINANCE_OPTS, **o}), setup, gw_opts)


def okx_day(setup=None, fake_opts=None, **gw_opts):
    """``async with okx_day(**opts) as (fo, gw, rec)``: the fake OKX v5 venue (``fake_opts``: its options, e.g.
    ``pos_mode``), a started ``OkxGateway`` on it (``opts`` over :data:`OKX_OPTS`; ``setup(fo, gw)`` before its
    start), its :class:`DayRecorder`."""
    return _day(FakeOkx(**(fake_opts or {})),
                lambda fo, o: OkxGateway(fo.api_key, fo.api_secret, fo.passphrase, fo.rest_url, fo.ws_base,
                                         **{**OKX_OPTS, **o}), setup, gw_opts)


# --------------------------------------------------------------------------------------------- the invariants
def booked_once(rec) -> list[str]:
    """No fill booked twice: the exec ids of ``rec.fills`` are distinct (returned, in order)."""
    ids = [f.exec_id for f in rec.fills]
    assert len(ids) == len(set(ids)), ids
    return ids


def bybit_invariants(fx, gw):
    """Every order the venue holds with a client id is known to the gateway in the same state."""
    from liqcore.venues.bybit.private import STATUS_MAP

    for o in fx.venue.orders.values():
        if not o.order_link_id:
            continue
        known = [u for (cid, _), u in gw._orders.items() if cid == o.order_link_id]
        assert known, f"{o.order_link_id}: held by the venue, unknown to the gateway"
        assert known[0].status == STATUS_MAP[o.status], (o.order_link_id, o.status, known[0].status)


#: the fake venue's order states as the gateway says them
_BINANCE_STATE = {"New": "new", "PartiallyFilled": "partially_filled", "Filled": "filled", "Cancelled": "cancelled",
                  "Rejected": "rejected"}


async def binance_invariants(fb, gw, rec, symbol="ETHUSDT"):
    """After a bad day: every regular order the venue holds is known to the gateway under the same client id in
    the same state; no fill booked twice; an open position holds its take-profit and stop-loss (reduce-only, its
    size) at the venue, a flat one none (both waited for, bounded by ``rec``'s timeout)."""
    def held():
        for o in fb.venue.orders.values():
            if o.stop_order_type:
                continue
            k = gw.known(o.order_link_id, "exit") or gw.known(o.order_link_id, "entry")
            if k is None or k.status != _BINANCE_STATE.get(o.status, o.status):
                return False
        return True
    await rec.wait(held)
    booked_once(rec)
    pos = fb.venue.positions.get(symbol)
    size = pos.size if pos is not None else 0.0

    def protected():
        pending = [o for o in fb.venue.orders.values() if o.stop_order_type and o.status == "Untriggered"
                   and o.symbol == symbol]
        if not size:
            return not pending
        return sorted(o.stop_order_type for o in pending) == ["StopLoss", "TakeProfit"] and \
            all(o.qty == abs(size) and o.reduce_only for o in pending)
    await rec.wait(protected)


def okx_invariants(fo, gw, rec):
    """After a bad day: every order and algo OKX holds live is one the gateway knows, in the same state; every
    fill OKX made is booked exactly once; an open position has a live take-profit / stop-loss algo for its whole
    size."""
    for o in fo.venue.orders.values():
        if o.status in ("New", "PartiallyFilled") and o.order_link_id:
            cid = gw._cl.get(o.order_link_id)
            assert cid is not None, f"OKX holds {o.order_link_id} unknown to the gateway"
            k = gw.known(cid, gw._intents[cid].kind)
            assert k is not None and k.status in ("new", "partially_filled"), (o.order_link_id, k)
    live_algos = [a for a in fo.algos().values() if a["state"] == "live"]
    assert all(a["algoClOrdId"] in gw._cl for a in live_algos), live_algos
    booked = booked_once(rec)
    assert sorted(booked) == sorted(f"{r['instId']}-{r['tradeId']}" for r in fo.fills()), (booked, fo.fills())
    for inst, pos in fo.venue.positions.items():
        if pos.size:
            assert [a for a in live_algos if a["instId"] == inst and float(a["sz"]) == abs(pos.size)], (inst, pos.size)


# --------------------------------------------------------------------------------------------- the command line
@contextlib.contextmanager
def venue_thread(factory=None, prices=None):
    """``with venue_thread(FakeBinance, {"ETHUSDT": 3000.0}) as (th, fake)``: a fake venue (the Bybit exchange when
    ``factory`` is None) on a thread of its own, for a child process to trade with; ``prices``: last prices set on
    its loop first.  Stopped after."""
    th = FakeExchangeThread(factory)
    fake = th.start()
    try:
        for symbol, price in (prices or {}).items():
            on_loop(th, lambda symbol=symbol, price=price: fake.set_last_price(symbol, price))
        yield th, fake
    finally:
        th.stop()


def binance_thread():
    """``with binance_thread() as (th, fb)``: the fake Binance on its thread, ETHUSDT last traded at 3000."""
    return venue_thread(FakeBinance, {"ETHUSDT": 3000.0})


def bybit_run(tmp_path: Path, fx, duration: str = "150"):
    """``liqcore run --venue bybit --live`` on ETHUSDT against the fake Bybit exchange ``fx`` (its keys in a
    0600 key file; journal ``j.sqlite`` in ``tmp_path``; ``--json``; the detector of :data:`DETECTOR`)."""
    kf = key_file(tmp_path, f"BYBIT_API_KEY={fx.api_key}\nBYBIT_API_SECRET={fx.api_secret}\n")
    base = f"ws://127.0.0.1:{fx.port}"
    return start(["--venue", "bybit", "--symbols", "ETHUSDT", "--live", "--key-file", str(kf), "--ws-url", base,
                  "--rest-url", fx.rest_url, "--private-ws-url", base, "--journal", str(tmp_path / "j.sqlite"),
                  "--json", "--no-dashboard", "--duration", duration, *DETECTOR])

"""The chaos test (issue 67, item 7): seeded random schedules of the faults each venue's fake plays, against the
real engine and the venue's real gateway trading several cascades; after every schedule the invariants hold
(tests/_chaos.py): every order the venue holds is known to liqcore; no position without take-profit and stop-loss
for more than 30 s (or left so after the stop); no more than one take-profit and one stop-loss resting at once; no
fill booked twice or lost; after the stop no entry rests.

In the fast tier: :data:`SEEDS` per venue and the regression seeds (schedules that once failed).  In the long tier
(``-m slow``): seeds 1..:data:`LONG_SEEDS` per venue.  ``pytest tests/live/test_chaos.py --chaos-seeds N -m ""``
runs seeds 1..N per venue (and the regression seeds), unmarked.  A failing schedule's message names its venue,
seed and steps: add the seed to :data:`REGRESSIONS` once fixed."""
from __future__ import annotations

import asyncio

import pytest

from _chaos import RIGS, Step, run_schedule, schedule
from liqcore.venues.governor import reset_governors

#: the seeds of every run (per venue)
SEEDS = (1, 2)
#: the long tier's seeds per venue: 1..LONG_SEEDS (about 15 s each on a busy 2-core machine)
LONG_SEEDS = 80
#: schedules that failed (venue, seed, what is still open: "" once fixed), kept as regression cases.  A case whose
#: finding is open is listed but not run in the suite (it runs to its 30 s limit: ~35 s); ``--chaos-seeds N`` runs
#: it (an expected failure until fixed).  Found on the venue branches at 08:25 UTC 2026-11-26, still failing on main at 08:45.
REGRESSIONS: tuple[tuple[str, int, str], ...] = (
    ("binance", 3, ""),  # fixed: an entry a query finds filled gets its exits at once (binance_gateway._entry_done)
    ("okx", 3, ""),  # fixed: likewise on OKX (okx_gateway._query places the bracket)
    ("okx", 5, ""),  # fixed: an exit placement answered 503 is asked for by algoClOrdId, else said lost and replaced
    ("okx", 15, ""),  # fixed: the fills of a mute gap read once more when the gateway stops
    # found at 40 seeds per venue (issue 84), fixed in binance_gateway:
    ("binance", 18, ""),  # a ban while the entry fills: the exits placed once it ends (_exits_unplaced)
    ("binance", 31, ""),  # a take-profit filled just before the stop: the stop cancels the resting stop-loss
    ("binance", 35, ""),  # a mute shorter than the heartbeat: the quiet stream reconciled (_quiet_reconcile)
    ("binance", 38, ""),  # a ban while the entry fills (as 18)
    ("binance", 40, ""),  # a trade of an order not known by id: its role from the venue's order (_role_of)
    # found at 80 seeds per venue (issue 84):
    ("binance", 71, ""),  # a trade left unnamed keeps the quiet reconciliation going until it is booked
    # found with the Gate rig (issue 85), fixed in venues/gate/gateway.py:
    ("gate", 29, ""),  # the engine's timeout cancel while the create was unanswered: its resend stopped
    # found in CI's long tier at load (2026-11-28):
    ("gate", 59, ""),  # an exit Gate ended while the resync's position reading was on its way: placed again after it
    # found by the chaos audit with the doubled-exits check (2026-11-30):
    ("okx", 36, ""),  # the exits' first placement answered after their repair: no longer overwrites it (_superseded)
    # found by the chaos audit with the journal's orders check (2026-11-30):
    ("binance", 179, ""),  # an entry a reading found filled is reported so, asked again after a ban (_settle)
)


def pytest_generate_tests(metafunc):
    if "seed" in metafunc.fixturenames:
        n = metafunc.config.getoption("--chaos-seeds", 0) or 0
        seeds = tuple(range(1, n + 1)) if n > 0 else SEEDS
        open_ = {(v, s): why for v, s, why in REGRESSIONS if why}
        cases = [(v, s) for v in RIGS for s in seeds] + [(v, s) for v, s, _ in REGRESSIONS]
        cases = list(dict.fromkeys(cases))
        fast = set(cases)
        if n <= 0:  # the long tier: 1..LONG_SEEDS per venue, the fast tier's cases left out
            cases += [(v, s) for v in RIGS for s in range(1, LONG_SEEDS + 1) if (v, s) not in fast]
        params = [pytest.param(v, s, id=f"{v}-{s}", marks=([pytest.mark.xfail(
            reason=open_[(v, s)], run=n > 0, strict=False)] if (v, s) in open_ else [])
            + ([] if (v, s) in fast else [pytest.mark.slow])) for v, s in cases]
        metafunc.parametrize("venue,seed", params)


pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def test_chaos_schedule_keeps_the_invariants(venue, seed, tmp_path):
    reset_governors()

    async def main():
        rig = RIGS[venue]()
        fx = await rig.open()
        try:
            steps = schedule(seed, rig.faults, exit_names=rig.exit_faults)
            return await run_schedule(rig, seed, steps, tmp_path / "j.sqlite")
        finally:
            await fx.stop()

    rep = asyncio.run(main())
    reset_governors()
    bad = rep.violations()
    assert not bad, (f"{venue} seed {seed} ({rep.seconds} s, {rep.orders} orders) broke: " + "; ".join(bad)
                     + f"\nsteps: {rep.steps}\ntrace: {rep.trace}")
    print(f"{venue} seed {seed}: {rep.orders} orders, {len(rep.fills_journal)} fills, longest unprotected "
          f"{rep.longest_unprotected_s:.2f} s, {rep.seconds} s wall; {rep.trace}")


#: schedules written out (a finding narrowed to its steps): name -> (venue, steps, what is still open: "" once fixed)
SCRIPTED = {
    # the attached stop-loss's execution (orderLinkId '') while the private socket is mute, a stop before the
    # silence is found: fixed, an order query showing executions the stream missed reconciles them
    # (bybit_gateway._missed_executions)
    "bybit-sl-fill-while-mute": ("bybit", [Step([], "sl", ["mute_private"], [])], ""),
}


@pytest.mark.parametrize("name", list(SCRIPTED))
def test_chaos_scripted_schedule_keeps_the_invariants(name, tmp_path, request):
    venue, steps, open_ = SCRIPTED[name]
    if open_:
        request.applymarker(pytest.mark.xfail(reason=open_, strict=False))
    reset_governors()

    async def main():
        rig = RIGS[venue]()
        fx = await rig.open()
        try:
            return await run_schedule(rig, 0, steps, tmp_path / "j.sqlite")
        finally:
            await fx.stop()

    rep = asyncio.run(main())
    reset_governors()
    bad = rep.violations()
    assert not bad, f"{name} ({rep.seconds} s) broke: " + "; ".join(bad) + f"\ntrace: {rep.trace}"

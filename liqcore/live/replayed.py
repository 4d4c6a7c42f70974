"""A replayed frame in the engine (:meth:`liqcore.live.engine.Engine.on_frame` while ``engine.replay_clock`` is
set): the frame at its recorded receive time, time passing on the replay's clock alone, and the replay in step
with the fake venue it trades on (``run --replay --live``).

* The receive time is the recording's (:class:`liqcore.testing.fake_replay.ReplayClock` ``stamp``).
* The replay's tick: once the replayed time moved :data:`REPLAY_TICK_NS` past the last tick, the engine's
  ``on_clock`` settles what time alone decides (an entry's arrival and timeout, a streaming strategy's bar close),
  as the live runner's wall-clock tick does live (that tick does not run a replay).  A flat engine is not ticked:
  its tick would only roll the loss limits' day, which its next decision and close roll as well.
* A ``step`` on the replay clock (:class:`liqcore.testing.fake_replay.Lockstep`) holds the frames that come while
  something is on its way to or from the venue, has the venue match a frame's prints when the engine takes it, and
  is told when each frame is handled.

May import: nothing of liqcore but the kernels (the engine, the clock and the step come as arguments).
"""
from __future__ import annotations

import logging

__all__ = ["REPLAY_TICK_NS", "replayed_frame"]

log = logging.getLogger("liqcore.engine")

#: the replay's tick (replayed ns)
REPLAY_TICK_NS = 1_000_000_000


def replayed_frame(eng, venue: str, frame, recv_ns, recv: int) -> list:
    """The decisions of replayed ``frame`` (``recv_ns``: the receive time handed in, ``recv`` as taken)."""
    rc = eng.replay_clock
    step = getattr(rc, "step", None)
    if step is not None and step.take(venue, frame, recv_ns):  # busy: held until what is on its way arrived
        return []
    recv = rc.stamp(frame, recv)
    if step is not None:  # (the venue matches the frame's prints at its time, before the engine sees it)
        step.taking(frame)
    out = eng.process_frame(venue, frame, recv)
    if recv >= eng.replay_tick_ns and tick_matters(eng):
        eng.replay_tick_ns = recv + REPLAY_TICK_NS
        try:
            eng.on_clock()
        except Exception as exc:  # as the runner's tick: counted; a streak halts new entries
            eng.health.clock_failed(exc)
            log.exception("replay clock tick failed")
        else:
            eng.health.clock_ok()
    if step is not None:
        step.frame_done()
    return out


def tick_matters(eng) -> bool:
    """Whether a replay tick can settle anything: an entry pending or resting, a streaming strategy, held events
    or deferred bookkeeping."""
    if eng.stream_path is not None or eng.held_events() or eng.order_manager.books_q:
        return True
    from liqcore._jit import sim

    st = eng.core.st["status"]
    return bool(((st == sim.PENDING) | (st == sim.RESTING)).any())

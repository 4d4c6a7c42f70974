"""Running a judge off the caller's thread, with a timeout.

:class:`JudgeRunner` owns one daemon thread with its own asyncio loop, started at the first question.
:meth:`JudgeRunner.submit` hands a signal to the judge and returns at once (the live event path never
waits); :meth:`JudgeRunner.ready` collects the answers that have arrived and the questions whose time is
up.  :meth:`JudgeRunner.call` asks and waits (a backtest's batch form).  A late answer (past
``timeout_s``), a judge that fails (an exception, an unreachable endpoint) or an answer that is refused
(off-format) all mean "don't enter": each is counted in :attr:`JudgeRunner.counts` and logged as a
warning with the signal's key (never a credential).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time

from liqcore.judge.core import Judge, JudgeError, JudgeUnavailable, Verdict, signal_key

log = logging.getLogger("liqcore.judge")

#: the outcomes counted (``asked`` = questions; the others partition the settled ones)
OUTCOMES = ("asked", "entered", "declined", "late", "failed", "refused")


class JudgeRunner:
    def __init__(self, judge: Judge, timeout_s: float = 10.0) -> None:
        if not (timeout_s > 0):
            raise ValueError(f"judge-timeout: must be positive; got {timeout_s!r}")
        self.judge = judge
        self.timeout_s = float(timeout_s)
        self.counts = dict.fromkeys(OUTCOMES, 0)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pending: dict = {}  # key -> (concurrent future, monotonic deadline, ctx)
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:  # (a strategy goes to sweep workers: its runner starts afresh there)
        d = self.__dict__.copy()
        d.update(_loop=None, _thread=None, _pending={}, _lock=None)
        return d

    def __setstate__(self, d: dict) -> None:
        self.__dict__.update(d)
        self._lock = threading.Lock()

    # ---- the loop thread ------------------------------------------------------------------------
    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                t = threading.Thread(target=loop.run_forever, name="liqcore-judge", daemon=True)
                t.start()
                self._loop, self._thread = loop, t
            return self._loop

    async def _ask(self, ctx: dict) -> Verdict:
        return await asyncio.wait_for(self.judge.answer(ctx), self.timeout_s)

    def close(self) -> None:
        loop, t = self._loop, self._thread
        if loop is None:
            return
        async def _shutdown():
            me = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not me]
            for t in tasks:  # questions still under way: nobody waits for them any more
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.judge.aclose()

        try:
            asyncio.run_coroutine_threadsafe(_shutdown(), loop).result(timeout=3.0)
        except Exception:  # a judge that cannot close its session: the thread is a daemon
            pass
        self._pending.clear()
        loop.call_soon_threadsafe(loop.stop)
        t.join(timeout=2.0)
        self._loop = self._thread = None

    # ---- outcomes -------------------------------------------------------------------------------
    def _settle(self, ctx: dict, get) -> tuple[Verdict | None, str]:
        """(verdict, "") or (None, late | failed | refused), counted and logged."""
        key = signal_key(ctx)
        try:
            v = get()
        except (TimeoutError, asyncio.TimeoutError, concurrent.futures.TimeoutError, asyncio.CancelledError):
            self.counts["late"] += 1
            log.warning("judge: no answer within %.3g s for %s: not entered", self.timeout_s, key)
            return None, "late"
        except JudgeUnavailable as exc:
            self.counts["failed"] += 1
            log.warning("judge: failed for %s (%s): not entered", key, exc)
            return None, "failed"
        except JudgeError as exc:
            self.counts["refused"] += 1
            log.warning("judge: answer refused for %s (%s): not entered", key, exc)
            return None, "refused"
        except Exception as exc:  # the judge failed: the signal is not entered, the stream goes on
            self.counts["failed"] += 1
            log.warning("judge: failed for %s (%s: %s): not entered", key, type(exc).__name__, str(exc)[:120])
            return None, "failed"
        if not isinstance(v, Verdict):
            self.counts["refused"] += 1
            log.warning("judge: answer refused for %s (not a verdict): not entered", key)
            return None, "refused"
        try:
            self.judge.recorded(ctx, v)
        except OSError as exc:
            log.warning("judge: could not record the answer for %s (%s)", key, exc)
        return v, ""

    def count_verdict(self, v: Verdict | None, entered: bool) -> None:
        if v is not None:
            self.counts["entered" if entered else "declined"] += 1

    # ---- asking ---------------------------------------------------------------------------------
    def call(self, ctx: dict) -> tuple[Verdict | None, str]:
        """Ask and wait (at most the timeout): ``(verdict, "")`` or ``(None, why not)``."""
        self.counts["asked"] += 1
        if self.judge.instant:
            return self._settle(ctx, lambda: self.judge.answer_now(ctx))
        fut = asyncio.run_coroutine_threadsafe(self._ask(ctx), self._ensure())

        def get():
            try:
                return fut.result(timeout=self.timeout_s + 1.0)
            except concurrent.futures.TimeoutError:  # (3.10: not the builtin TimeoutError)
                fut.cancel()
                raise
        return self._settle(ctx, get)

    def call_many(self, ctxs: list, concurrency: int = 8) -> list[tuple[Verdict | None, str]]:
        """A backtest's questions, every signal known ahead: asked concurrently, at most ``concurrency``
        at a time, each with its own timeout (from when it is sent), answers in the order of ``ctxs``
        (the same as one :meth:`call` after another, in a fraction of the time).  A judge with an
        answers cache (``cached``/``ask``: :class:`liqcore.judge.openai.OpenAIJudge`) is asked only
        the questions the cache does not hold; a question that timed out is kept as late."""
        ctxs = list(ctxs)
        concurrency = int(concurrency)
        if concurrency < 1:
            raise ValueError(f"judge-concurrency: must be at least 1; got {concurrency}")
        if not ctxs:
            return []
        if self.judge.instant:
            out = []
            for c in ctxs:
                self.counts["asked"] += 1
                out.append(self._settle(c, lambda c=c: self.judge.answer_now(c)))
            return out
        self.counts["asked"] += len(ctxs)

        async def run_all():
            sem = asyncio.Semaphore(concurrency)

            async def one(ctx):
                async with sem:
                    return await self._ask_batch(ctx)
            return await asyncio.gather(*(one(c) for c in ctxs), return_exceptions=True)

        fut = asyncio.run_coroutine_threadsafe(run_all(), self._ensure())
        try:
            while True:  # short waits: Ctrl-C reaches the caller within a second
                try:
                    results = fut.result(timeout=0.25)
                    break
                except concurrent.futures.TimeoutError:  # (3.10: not the builtin TimeoutError)
                    continue
        except BaseException:
            fut.cancel()
            raise
        out = []
        for ctx, r in zip(ctxs, results):
            def get(r=r):
                if isinstance(r, BaseException):
                    raise r
                return r
            out.append(self._settle(ctx, get))
        return out

    async def _ask_batch(self, ctx: dict) -> Verdict:
        j = self.judge
        if not (hasattr(j, "prepare") and hasattr(j, "cached") and hasattr(j, "ask")):
            return await asyncio.wait_for(j.answer(ctx), self.timeout_s)
        body = await j.prepare(ctx)
        hit = j.cached(body, ctx, self.timeout_s)
        if hit == "late":
            raise asyncio.TimeoutError
        if hit is not None:
            return hit
        try:
            return await asyncio.wait_for(j.ask(body, ctx), self.timeout_s)
        except asyncio.TimeoutError:
            j.remember_late(body, ctx, self.timeout_s)
            raise

    def submit(self, key, ctx: dict) -> None:
        """Ask without waiting; the answer comes out of :meth:`ready`."""
        self.counts["asked"] += 1
        fut = asyncio.run_coroutine_threadsafe(self._ask(ctx), self._ensure())
        self._pending[key] = (fut, time.monotonic() + self.timeout_s + 0.5, ctx)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def ready(self) -> list[tuple]:
        """``[(key, ctx, verdict or None, why not)]`` of the questions settled since the last call, in the
        order they were asked."""
        if not self._pending:
            return []
        now = time.monotonic()
        out = []
        for key, (fut, deadline, ctx) in list(self._pending.items()):
            if fut.done():
                v, why = self._settle(ctx, fut.result)
            elif now > deadline:  # the loop did not even time it out (a judge blocking its loop)
                fut.cancel()
                v, why = self._settle(ctx, _raise_timeout)
            else:
                continue
            del self._pending[key]
            out.append((key, ctx, v, why))
        return out


def _raise_timeout():
    raise TimeoutError

"""Fake venues served in a background thread (:class:`FakeExchangeThread`) or by the caller's own event loop
(:class:`FakeExchangeInLoop`), and ``python -m liqcore.testing.fake_exchange``: the default venue's whole local fake
(:data:`liqcore.types.DEFAULT_VENUE`'s registry part ``fake``), served until interrupted, its URLs printed as one
JSON line.

May import: the venue registry and this package's ``fake_replay``.
"""
from __future__ import annotations

import asyncio
import threading

import orjson

from liqcore.types import DEFAULT_VENUE
from liqcore.venues.registry import venue_spec

__all__ = ["FakeExchangeThread", "FakeExchangeInLoop", "default_fake", "main"]


def default_fake():
    """The default venue's whole local fake (its ``fake`` part's ``FAKE``): the one these run unless given another."""
    return venue_spec(DEFAULT_VENUE).part("fake").FAKE


class FakeExchangeThread:
    """Run a fake venue (default: the default venue's whole fake, :func:`default_fake`) in a background thread with its own event loop.

    ``with FakeExchangeThread(replay=..., speed=...) as fx:`` yields the started exchange (its URLs are
    ready); :meth:`call` runs a coroutine (e.g. ``fx.trade(...)``) in the exchange's loop from any thread.
    ``factory``: another fake venue with the same ``start`` / ``stop`` coroutines (e.g.
    :class:`liqcore.venues.fake_streams.FakeMarketStream`, the Binance replay), built with ``kwargs``.
    """

    def __init__(self, factory=None, **kwargs) -> None:
        self._factory = factory
        self._kwargs = kwargs
        self.fx = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self, timeout: float = 10.0):
        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                self.fx = (self._factory or default_fake())(**self._kwargs)
                loop.run_until_complete(self.fx.start())
            except BaseException as exc:  # reported to start()
                self._error = exc
                self._ready.set()
                loop.close()
                return
            self._ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.fx.stop())
                loop.close()

        self._thread = threading.Thread(target=run, name="fake-exchange", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("fake exchange did not start in time")
        if self._error is not None:
            raise self._error
        assert self.fx is not None
        return self.fx

    def call(self, coro, timeout: float | None = 10.0):
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class _LoopRunner:
    """:class:`asyncio.Runner`'s ``run`` and ``close`` where it is missing (Python 3.10): one event loop, made at
    the first ``run`` under the event-loop policy of the moment, that runs each coroutine to its end; ``close``
    cancels what is left, finishes the async generators and the default executor and closes it, as
    :func:`asyncio.run` does at its end."""

    def __init__(self) -> None:
        self._loop = None

    def run(self, coro):
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
        return self._loop.run_until_complete(coro)

    def close(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        try:
            _cancel_left(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def _cancel_left(loop) -> None:
    """Cancel the tasks left on ``loop`` and run it until each has ended, an error one of them ended with (not its
    cancellation) handed to the loop's exception handler, as :func:`asyncio.run` does at its end (public calls
    alone)."""
    left = [t for t in asyncio.all_tasks(loop) if not t.done()]
    if not left:
        return
    for t in left:
        t.cancel()
    loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
    for t in left:
        if not t.cancelled() and t.exception() is not None:
            loop.call_exception_handler({"message": "unhandled exception while the fake venue's loop closed",
                                         "exception": t.exception(), "task": t})


class FakeExchangeInLoop:
    """A fake venue (default: :func:`default_fake`) served by the caller's own event loop (an :class:`asyncio.Runner`'s), the one
    the trading engine runs in: a replay in step with the engine (``lockstep``) then hands each frame over
    without a thread switch, which on a loaded machine costs a scheduler wake-up each way.

    ``start()`` starts the venue on :attr:`runner`'s loop (created then, under the event-loop policy of the
    moment) and returns it; the caller runs its own coroutine with ``runner.run(...)``; ``stop()`` stops the
    venue and closes the loop.  Same ``fx`` / ``start`` / ``stop`` as :class:`FakeExchangeThread`."""

    def __init__(self, factory=None, **kwargs) -> None:
        self.runner = asyncio.Runner() if hasattr(asyncio, "Runner") else _LoopRunner()  # novm (3.11+; 3.10)
        self.fx = (factory or default_fake())(**kwargs)
        self._started = False

    def start(self):
        self.runner.run(self.fx.start())
        self._started = True
        return self.fx

    def stop(self) -> None:
        try:
            if self._started:
                self._started = False
                self.runner.run(self.fx.stop())
        finally:
            self.runner.close()


def main(argv: list[str] | None = None) -> int:
    """Serve a fake exchange until interrupted; print its URLs as one JSON line on stdout."""
    import argparse
    import os
    import signal
    import sys

    from liqcore.testing.fake_replay import read_recording

    fake = venue_spec(DEFAULT_VENUE).part("fake")

    ap = argparse.ArgumentParser(prog="python -m liqcore.testing.fake_exchange", description=main.__doc__)
    ap.add_argument("--replay", nargs="*", default=[], help="recorder files or directories (the venue's frames)")
    ap.add_argument("--speed", type=float, default=0.0, help="replay speed factor (0 = as fast as possible)")
    ap.add_argument("--start", choices=("subscribe", "immediate", "manual"), default="subscribe")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--api-key", default=fake.DEFAULT_API_KEY)
    ap.add_argument("--api-secret-env", default="", help="environment variable holding the accepted API secret")
    args = ap.parse_args(argv)
    secret = os.environ.get(args.api_secret_env, "") if args.api_secret_env else fake.DEFAULT_API_SECRET
    if not secret:
        raise SystemExit(f"--api-secret-env: ${args.api_secret_env} is empty")
    replay = read_recording(args.replay) if args.replay else None
    th = FakeExchangeThread(replay=replay, speed=args.speed, replay_start=args.start, port=args.port,
                            api_keys={args.api_key: secret})
    fx = th.start()
    print(orjson.dumps({"rest_url": fx.rest_url, "public_ws_url": fx.public_ws_url, "private_ws_url": fx.private_ws_url,
                        "api_key": fx.api_key}).decode(), flush=True)
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *a: done.set())
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    done.wait()
    th.stop()
    print(orjson.dumps(fx.stats).decode(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Ctrl-C (SIGINT) for every command: one mechanism, installed by :func:`liqcore.cli.main`; and the stop of a
task that passes a Ctrl-C on (:func:`end_task`, :func:`end_tasks`), for every stop path of the event loop.

The details: docs/reference/commands.md, "Ctrl-C, for every command".

May import: the standard library.
"""
from __future__ import annotations

import os
import select
import signal
import sys
import threading
import time

__all__ = ["EXIT_CODE", "GRACE_S", "InterruptGuard", "end_task", "end_tasks", "graceful_stop"]

#: the exit status of an interrupted command (128 + SIGINT, as a shell reports it)
EXIT_CODE = 130


def is_interrupt(exc: BaseException | None) -> bool:
    """An interrupt anywhere in ``exc``'s chain (itself, its ``__cause__`` or ``__context__``, to any
    depth): a Ctrl-C that lands inside the interpreter's own machinery reaches the command wrapped in
    another error (``RuntimeError: Error calling __set_name__ ...`` during ``import pandas``), and is
    still an interrupt (exit 130, "interrupted"), never a traceback."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        if isinstance(e, KeyboardInterrupt):
            return True
        seen.add(id(e))
        todo += [e.__cause__, e.__context__]
    return False

#: the packages of the JIT compiler whose half-built objects an interrupt during a compile leaves behind
_JIT_PACKAGES = ("llvmlite", "numba")


def _from_jit(unraisable) -> bool:
    """The unraisable error was raised by the JIT compiler's own code (its object's module or the
    innermost frame of its traceback)."""
    mod = getattr(unraisable.object, "__module__", None) or ""
    if mod.split(".", 1)[0] in _JIT_PACKAGES:
        return True
    tb = unraisable.exc_traceback
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return False
    parts = os.path.normpath(tb.tb_frame.f_code.co_filename).split(os.sep)
    return any(p in _JIT_PACKAGES for p in parts)


#: seconds between the first interrupt and the forced exit
GRACE_S = 0.6
_STOP = b"\0"  # written by uninstall(): signal numbers are never 0


#: quick clean-ups (removing a command's temporary folder) run when the process is ended at once: the
#: interrupt's deadline or a second Ctrl-C, which skip the command's own ``finally`` blocks
_ON_FORCED_EXIT: list = []


def graceful_stop(command: str, stop, how: str):
    """The SIGINT handler of a command that stops gracefully in its event loop (``run``, ``record``): says
    ``liqcore COMMAND: interrupted (HOW)`` on stderr once, then sets ``stop`` (an ``asyncio.Event``)."""
    said = []

    def handler() -> None:
        if not said:
            said.append(1)
            print(f"liqcore {command}: interrupted ({how})", file=sys.stderr, flush=True)
        stop.set()

    return handler


def on_forced_exit(fn) -> None:
    """Run ``fn()`` (quick; its errors ignored) if the process is ended at once by an interrupt."""
    _ON_FORCED_EXIT.append(fn)


def drop_forced_exit(fn) -> None:
    """No longer run ``fn`` at a forced exit (the command cleaned up itself)."""
    if fn in _ON_FORCED_EXIT:
        _ON_FORCED_EXIT.remove(fn)


async def end_task(task) -> None:
    """Cancel ``task`` (None: nothing) and wait until it has ended: :func:`end_tasks` of one task."""
    await end_tasks((task,))


async def end_tasks(tasks) -> None:
    """Cancel every task of ``tasks`` (None entries skipped), then wait until each has ended, whatever it ended
    with.  A cancellation of the caller itself while it waits here (a Ctrl-C ending the event loop) is raised once
    all have ended, never taken for a task's end: swallowed, it left the stopping loop running for ever.  One that
    came before (a stop in a ``finally`` after the Ctrl-C) is not raised again here: the stops after this one run."""
    import asyncio  # (loaded by any caller: not at every command's start)

    tasks = [t for t in tasks if t is not None]
    for t in tasks:
        t.cancel()
    me = asyncio.current_task()
    cancelling = getattr(me, "cancelling", None)  # (Python 3.11+)
    before = cancelling() if cancelling is not None else 0
    for t in tasks:
        try:
            await t
        except (asyncio.CancelledError, Exception):  # noqa: BLE001 - its own end, however it ended, or the
            pass  # caller's cancellation: told apart below
    if cancelling is not None and cancelling() > before:
        raise asyncio.CancelledError()


def _quiet_libraries() -> None:
    """No library's log line or warning from here on (the process's own command has said "interrupted").  A module
    the interrupt cut half-imported (in ``sys.modules``, its names not yet made: a Ctrl-C during ``import logging``)
    is left as it is: its import fails with the interrupt, and an error here would replace the interrupt."""
    logging, warnings = sys.modules.get("logging"), sys.modules.get("warnings")
    for quiet in (lambda: logging.disable(logging.CRITICAL), lambda: warnings.simplefilter("ignore")):
        try:
            quiet()
        except Exception:  # noqa: BLE001 - not imported, or half-imported: nothing of it to quiet
            pass


class InterruptGuard:
    """Context manager: the mechanism above for ``command`` while the block runs (main thread only;
    elsewhere it does nothing).  ``grace_s=None``: no deadline (the command stops gracefully itself)."""

    def __init__(self, command: str | None, grace_s: float | None = GRACE_S, own_process: bool = False):
        self.command = f"liqcore {command}" if command else "liqcore"
        self.grace_s = grace_s
        self.own_process = own_process  # the process's own command: after "interrupted", no library's log line
        self.interrupted = False
        self._said = False
        self._lock = threading.Lock()
        self._installed = False
        self._thread: threading.Thread | None = None
        self._fds: tuple[int, int] | None = None
        self._ended = False  # the command has returned: a Ctrl-C now ends the process at once (command_ended)
        self._keep = False  # installed to the process's end (exit_at_end)
        self._exiting = False  # the process's own exit under way (exit_at_end): a Ctrl-C now is too late

    # -- install / uninstall ---------------------------------------------------------------------
    def __enter__(self) -> "InterruptGuard":
        if threading.current_thread() is not threading.main_thread():
            return self
        try:
            self._prev_handler = signal.signal(signal.SIGINT, self._on_signal)
        except (ValueError, OSError):  # pragma: no cover - no signals here
            return self
        self._installed = True
        self._prev_hook = sys.unraisablehook
        sys.unraisablehook = self._unraisable
        if self.grace_s is not None and sys.platform != "win32":
            r, w = os.pipe()
            os.set_blocking(w, False)
            try:
                self._prev_fd = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
            except (ValueError, OSError):  # pragma: no cover
                os.close(r)
                os.close(w)
            else:
                self._fds = (r, w)
                self._thread = threading.Thread(target=self._watch, name="liqcore-interrupt", daemon=True)
                self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if not self._installed or self.interrupted or self._keep:
            return  # interrupted, or the process's own command: the process is ending; the mechanism stays until it has
        self._installed = False
        if self._fds is not None:
            r, w = self._fds
            try:
                signal.set_wakeup_fd(self._prev_fd)
            except (ValueError, OSError):  # pragma: no cover
                pass
            try:
                os.write(w, _STOP)
            except OSError:  # pragma: no cover
                pass
            if self._thread is not None:
                self._thread.join(1.0)
            os.close(r)
            os.close(w)
            self._fds = None
        signal.signal(signal.SIGINT, self._prev_handler)
        if sys.unraisablehook == self._unraisable:
            sys.unraisablehook = self._prev_hook

    def exit_code(self, code: int) -> int:
        """``code``, or 130 when the command was interrupted (even if it swallowed the interrupt)."""
        if self.interrupted:
            self._say()
            return EXIT_CODE
        return code

    def command_ended(self, cleanup=None) -> None:
        """The process's own command has returned (its outputs written or failed): a Ctrl-C from now on (the
        exit's own steps, the interpreter's) says "interrupted" and ends the process at once, 130, the outputs kept
        as the command left them (``cleanup``: run first, quick: see :func:`on_forced_exit`); raised as a
        KeyboardInterrupt there it reached the interpreter's top level, a traceback without the line."""
        if not self._installed or self.interrupted:
            return
        if cleanup is not None:
            on_forced_exit(cleanup)
        self._ended = True
        try:  # (an event loop's signal handling, removed, left Python's default handler behind: ours again)
            signal.signal(signal.SIGINT, self._on_signal)
        except (ValueError, OSError):  # pragma: no cover
            pass

    def exit_at_end(self, code: int) -> None:
        """The process's own command has ended with ``code``: the mechanism stays installed to the process's
        end, and ends it, once the interpreter's own exit steps have run (its threads joined, its atexit
        functions), by flushing stdout and stderr and ``os._exit(code)``.  The interpreter's teardown that
        would follow resets SIGINT to the system's default first: a Ctrl-C landing there killed the process
        (130) without a word, and a large heap's teardown can take seconds."""
        import atexit

        run = getattr(atexit, "_run_exitfuncs", None)
        if not self._installed or run is None:  # pragma: no cover - elsewhere than CPython's main thread
            return
        self._keep = True

        def last() -> None:  # registered last: run first of the atexit functions, it runs the others itself
            atexit.unregister(last)
            run()
            self._exit_with(code)

        atexit.register(last)

    def _exit_with(self, code: int) -> None:
        """Flush stdout and stderr, then ``os._exit(code)``; 130 if the interrupt was said meanwhile (the deadline's
        thread), never a code that belies the line."""
        import errno

        for name in ("stdout", "stderr"):
            stream = getattr(sys, name, None)
            try:
                if stream is not None:
                    stream.flush()
            except OSError as exc:  # as the interpreter's exit does: a failed write of the output fails the command
                if exc.errno != errno.EPIPE and name == "stdout":  # (a reader that went away wanted no more)
                    reason = " ".join((exc.strerror or str(exc)).split())
                    try:
                        os.write(2, f"{self.command}: error: writing the standard output: {reason}\n".encode())
                    except OSError:
                        pass
                    code = code or 120
            except Exception:  # noqa: BLE001 - exiting anyway
                pass
        self._exiting = True  # (from here a Ctrl-C is too late: the handler returns, the line unsaid)
        with self._lock:  # the deadline's thread says the line before this or never
            os._exit(EXIT_CODE if self._said else code)

    def say_interrupted(self) -> None:
        """Say "interrupted" (once): for an interrupt that reached the command wrapped in another error."""
        self._say()

    # -- the interrupt -------------------------------------------------------------------------
    def _say(self) -> None:
        # written under the lock: a second caller (the signal handler in the main thread, the deadline's
        # thread) returns only once the line is out, so the main thread cannot reach os._exit between the
        # first caller's claim and its write (a busy machine preempts a thread right there: exit 130, no line)
        with self._lock:
            if self._said:
                return
            self._said = True
            try:  # straight to the descriptor: the main thread may hold sys.stderr's lock
                os.write(2, f"{self.command}: interrupted\n".encode())
            except OSError:
                pass
        # the process's own command has said its one line: a library's log or warning of the stop (dask's client,
        # its comms closed under a task it still awaited) is the stop itself, not printed
        if self.own_process:
            _quiet_libraries()

    def _on_signal(self, signum, frame) -> None:
        """The Python-level handler (main thread, between two bytecodes).  A second Ctrl-C ends the process at
        once (the line said once): raised again, it could reach the interpreter's top level after the command
        returned, as a traceback; so does the first once the command has returned (:meth:`command_ended`)."""
        if self._exiting:  # os._exit(the command's code) is under way: too late to be an interrupt
            return
        if self.interrupted or self._ended:
            self.interrupted = True
            self._say()
            self.exit_now()
        self.interrupted = True
        self._say()
        raise KeyboardInterrupt

    def _unraisable(self, unraisable) -> None:
        # after the interrupt, two things are the interrupt itself, not something to print: the interrupt
        # raised inside a callback that cannot propagate it (llvmlite, __del__), and the finaliser of an
        # object the interrupt cut half-built inside the JIT compiler (llvmlite's ``ObjectRef.__del__`` on a
        # reference that never got its handle: ``AttributeError: _as_parameter_``)
        if self.interrupted and (isinstance(unraisable.exc_value, KeyboardInterrupt) or _from_jit(unraisable)):
            return
        self._prev_hook(unraisable)

    def _watch(self) -> None:
        """The deadline: woken by the signal's byte on the wakeup pipe (written by the interpreter's
        C-level handler, whatever the main thread is doing)."""
        r = self._fds[0]
        seen = 0
        deadline = None
        while True:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                ready, _, _ = select.select([r], [], [], timeout)
            except (OSError, ValueError):  # pragma: no cover - pipe closed
                return
            if not ready:
                self.exit_now()
                return
            try:
                data = os.read(r, 256)
            except OSError:  # pragma: no cover
                return
            if not data or _STOP in data:
                return
            n = data.count(bytes([signal.SIGINT]))
            if not n:
                continue
            seen += n
            self.interrupted = True
            self._say()
            if seen >= 2:  # a second Ctrl-C: now
                self.exit_now()
                return
            if deadline is None:
                deadline = time.monotonic() + float(self.grace_s)

    def exit_now(self) -> None:
        """Terminate the worker processes, flush stdout/stderr (never waiting on a blocked pipe) and
        exit with status 130, skipping the interpreter's teardown."""
        mp = sys.modules.get("multiprocessing")
        if mp is not None:  # a pool's workers would run their task to its end
            try:
                for p in mp.active_children():
                    p.terminate()
            except Exception:  # noqa: BLE001 - exiting anyway
                pass

        def flush():
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:  # noqa: BLE001
                    pass

        for fn in list(_ON_FORCED_EXIT):
            try:
                fn()
            except Exception:  # noqa: BLE001 - exiting anyway
                pass
        t = threading.Thread(target=flush, daemon=True)  # never wait on a blocked pipe
        t.start()
        t.join(0.1)
        os._exit(EXIT_CODE)

"""Ctrl-C: a real SIGINT sent to a real `liqcore` process at any moment stops it within a second,
says "interrupted" on stderr (and nothing else: no traceback, no "Exception ignored"), and exits
130; every command goes through the same mechanism (liqcore.interrupt, installed by cli.main)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _procs import Stopwatch, wait_exit, wait_until

ROOT = Path(__file__).resolve().parents[2]


def _stat(pid) -> list[bytes] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()  # (the fields after the command's name)
    except OSError:
        return None


def _cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) process ``pid`` and its descendants (live and ended) have used so far:
    a command that hands its work to worker processes counts theirs (None: no /proc here)."""
    own = _stat(pid)
    if own is None:
        return None
    parent = {}
    for d in os.listdir("/proc"):
        if d.isdigit() and (st := _stat(d)) is not None:
            parent.setdefault(int(st[1]), []).append((int(d), st))
    ticks = sum(int(x) for x in own[11:15])  # utime, stime, cutime, cstime (ended children waited for)
    todo = [pid]
    while todo:
        for child, st in parent.get(todo.pop(), ()):
            ticks += sum(int(x) for x in st[11:15])
            todo.append(child)
    return ticks / os.sysconf("SC_CLK_TCK")


def _interrupt(args, delay, tmp_path, *, second=None, python_args=None, ready_line=None, group=False):
    """Start ``liqcore ARGS``, SIGINT it once it has done ``delay`` s of work: ``delay`` s of CPU time, its
    worker processes' included (a busy machine stretches the wall time of its imports, not their CPU time:
    a wall-clock delay could land in the imports, before the command runs), or, with ``ready_line``, once it printed that line on stdout
    and then ``delay`` s of wall time (a command that waits rather than works).  (exit status, seconds
    from the signal to the exit less those it waited for a CPU that other processes held (``_procs.Stopwatch``:
    the bound holds on a busy machine and still catches a command that works, sleeps or hangs too long), stderr,
    whether it had already finished); the last :class:`Stopwatch` is ``LAST[0]`` (for messages).  ``group``: the
    SIGINT goes to the command's whole process group, its workers included, as a terminal's Ctrl-C does."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, *(python_args or ["-m", "liqcore"]), *args]
    p = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE if ready_line else subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, start_new_session=group)
    if ready_line is not None:
        line = p.stdout.readline()  # blocks until the line (or the end: the assertion below says so)
        assert line.strip() == ready_line or p.poll() is not None, line
        time.sleep(delay)
    elif _cpu_s(p.pid) is None:  # pragma: no cover - no /proc: wall time
        time.sleep(delay)
    else:
        wait_until(p, lambda: (_cpu_s(p.pid) or 0.0) >= delay, f"{args[0]}: {delay} s of CPU", every_s=0.05)
    if p.poll() is not None:
        return p.returncode, 0.0, p.stderr.read(), True
    watch = Stopwatch(p.pid)
    os.killpg(p.pid, signal.SIGINT) if group else p.send_signal(signal.SIGINT)
    if second is not None:
        time.sleep(second)
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    # (the SIGINT was sent above, once: a second one here would be a second Ctrl-C)
    wait_exit(p, watch, 30, f"{args[0] if args else 'the command'}, interrupted after {delay} s")
    LAST[:] = [watch]
    return p.returncode, watch.unloaded, p.stderr.read(), False


#: the Stopwatch of the last interrupt (what the figures were: wall time, time waiting for a CPU)
LAST: list = [None]


# --cache-max 0: every run starts from the beginning (the market is generated, never cached), and
# nothing is written to disk; each input takes several seconds on a fast machine
COMMANDS = {
    "research": lambda d: ["research", "--synthetic", "--days", "3", "--seed", "24", "--cache-max", "0",
                           "--report", str(d / "rep")],
    "compare": lambda d: ["compare", "--synthetic", "--days", "30", "--symbols", "ETHUSDT,SOLUSDT", "--seed", "24",
                          "--cache-max", "0", "--out", str(d / "cmp.csv"), "--plot", str(d / "cmp.png")],
}


def _check(name, delay, tmp_path):
    rc, took, err, done = _interrupt(COMMANDS[name](tmp_path), delay, tmp_path)
    assert not done, f"{name} finished in under {delay} s: make its input longer"
    assert rc == 130, (name, delay, rc, err[-2000:])
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines[-1:] == [f"liqcore {name}: interrupted"], (name, delay, err[-2000:])
    assert "Traceback" not in err and "Exception ignored" not in err and "KeyboardInterrupt" not in err, err
    assert took < 1.0, f"{name}: SIGINT at {delay} s took {took:.2f} s to stop ({LAST[0]})"


@pytest.mark.parametrize("name", list(COMMANDS))
def test_research_and_compare_stop_on_an_early_interrupt(name, tmp_path):
    for delay in (0.6, 2.0):
        _check(name, delay, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(COMMANDS))
def test_research_and_compare_stop_at_every_moment(name, tmp_path):
    for delay in (0.5, 1.0, 1.5, 2.5, 3.0, 3.5, 4.0, 5.0):
        _check(name, delay, tmp_path)


_SWALLOWS = """
import sys
import liqcore.commands.detect as d

def run(args):  # swallows every KeyboardInterrupt, as a library callback does
    import time
    print("running", flush=True)  # the test interrupts after this: the command runs, past the imports
    t0 = time.monotonic()
    while time.monotonic() - t0 < 20:
        try:
            time.sleep(0.01)
        except KeyboardInterrupt:
            pass
    return 0

d.run = run
sys.argv = ["liqcore", "detect", "--sample"]
from liqcore.cli import main
sys.exit(main())
"""


def test_a_swallowed_interrupt_still_ends_the_command_within_a_second(tmp_path):
    rc, took, err, done = _interrupt([], 0.5, tmp_path, python_args=["-c", _SWALLOWS], ready_line="running")
    assert not done and rc == 130 and err == "liqcore detect: interrupted\n", err
    assert took < 1.0, LAST[0]


def test_a_second_interrupt_ends_it_at_once(tmp_path):
    rc, took, err, done = _interrupt([], 0.5, tmp_path, python_args=["-c", _SWALLOWS], second=0.1,
                                     ready_line="running")
    assert not done and rc == 130 and err == "liqcore detect: interrupted\n", err
    assert took < 0.5, LAST[0]


@pytest.mark.slow
@pytest.mark.parametrize("args", [
    ["demo", "--no-progress", "--no-report"],
    ["backtest", "--synthetic", "--no-progress"],
    ["sweep", "--synthetic", "--grid", "offset=0.1%,0.2%", "--workers", "2", "--no-progress"],
    ["walkforward", "--synthetic", "--grid", "offset=0.1%,0.2%", "--folds", "2", "--no-progress"],
    ["study", "ic", "--synthetic", "--no-progress"],
    ["features", "--synthetic", "--no-progress"],
    ["leak-audit", "--synthetic", "--no-progress"],
], ids=lambda a: a[0])
def test_every_batch_command_shares_the_mechanism(args, tmp_path):
    # the default 30-day market, never cached: still being generated or used at the interrupt
    rc, took, err, done = _interrupt([*args, "--days", "30", "--seed", "26", "--cache-max", "0"], 1.2, tmp_path)
    assert not done, f"{args[0]} finished before the interrupt"
    assert rc == 130 and err.endswith(f"liqcore {args[0]}: interrupted\n") and "Traceback" not in err, err[-2000:]
    assert took < 1.0, LAST[0]


def test_main_in_process_leaves_the_signal_handling_as_it_found_it(capsys):
    from liqcore.cli import main

    before, hook = signal.getsignal(signal.SIGINT), sys.unraisablehook
    assert main(["detect", "--sample", "--json"]) == 0
    assert signal.getsignal(signal.SIGINT) is before and sys.unraisablehook is hook
    assert signal.set_wakeup_fd(-1) == -1  # no wakeup descriptor left behind


def _wrapped_interrupt(wrapper, via_cause=True):
    """A Ctrl-C that the interpreter reports wrapped in another error (as ``import pandas`` did:
    ``RuntimeError: Error calling __set_name__ ...`` with the KeyboardInterrupt as its cause)."""
    def run(args):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as ki:
            if via_cause:
                raise wrapper("Error calling __set_name__ on '_AxisDescriptor'") from ki
            raise wrapper("while handling it")  # noqa: B904  (__context__ only)
    return run


@pytest.mark.parametrize("wrapper,via_cause", [(RuntimeError, True), (RuntimeError, False), (ValueError, True),
                                               (OSError, False)])
def test_an_interrupt_wrapped_in_another_error_is_an_interrupt(wrapper, via_cause, monkeypatch, capfd):
    import liqcore.cli as cli
    from liqcore.interrupt import is_interrupt

    real = cli.build_parser

    def parser(only=None):
        p = real(only=only)
        for a in p._subparsers._group_actions[0].choices.values():
            a.set_defaults(_run=_wrapped_interrupt(wrapper, via_cause))
        return p

    monkeypatch.setattr(cli, "build_parser", parser)
    before = signal.getsignal(signal.SIGINT)
    assert cli.main(["detect", "--sample"]) == 130
    err = capfd.readouterr().err
    assert err.strip().endswith("liqcore detect: interrupted") and "Traceback" not in err and "error:" not in err, err
    assert signal.getsignal(signal.SIGINT) is before
    assert not is_interrupt(RuntimeError("plain")) and is_interrupt(KeyboardInterrupt())


def test_interrupted_is_said_before_any_caller_returns(monkeypatch):
    """The deadline's thread claims the line and is preempted before writing it (a busy machine); the main
    thread's own call must not return (and go on to os._exit) until the line is out: exit 130 with an empty
    stderr was seen at load 16 on 2 cores."""
    import threading

    import liqcore.interrupt as it

    written = []
    claimed = threading.Event()
    real_write = os.write

    def slow_write(fd, data):
        if fd == 2 and threading.current_thread().name == "claimer":
            claimed.set()
            time.sleep(0.3)  # preempted between the claim and the write
        written.append(data)
        return len(data)

    monkeypatch.setattr(it.os, "write", slow_write)
    g = it.InterruptGuard("research")
    t = threading.Thread(target=g._say, name="claimer")
    t.start()
    assert claimed.wait(10)
    g._say()  # the main thread's call: returns only once the line is out
    assert written == [b"liqcore research: interrupted\n"]
    t.join(10)
    assert written == [b"liqcore research: interrupted\n"]  # once
    monkeypatch.setattr(it.os, "write", real_write)


def test_a_ctrl_c_during_a_librarys_import_is_the_interrupt_not_an_error(monkeypatch):
    """A Ctrl-C that lands while ``logging`` (or ``warnings``) is being imported finds it in ``sys.modules`` with its
    names not yet made; quieting the libraries after the line ("interrupted") raised AttributeError there (a
    traceback and exit 1 from `liqcore compare` half a second in, on a busy machine) instead of the interrupt."""
    import types

    from liqcore import interrupt as it

    written = []
    monkeypatch.setattr(it.os, "write", lambda fd, data: written.append((fd, data)) or len(data))
    half = types.ModuleType("logging")
    half.CRITICAL = 50  # (made before the import was cut; ``disable`` not yet)
    g = it.InterruptGuard("compare", own_process=True)
    raised = None
    with monkeypatch.context() as m:  # (the half-built modules only here: pytest's report needs the real ones)
        m.setitem(sys.modules, "logging", half)
        m.setitem(sys.modules, "warnings", types.ModuleType("warnings"))
        try:
            g._on_signal(signal.SIGINT, None)
        except BaseException as exc:  # noqa: BLE001 - what the handler raised is the subject
            raised = exc
    assert isinstance(raised, KeyboardInterrupt), repr(raised)
    assert g.interrupted and written == [(2, b"liqcore compare: interrupted\n")]


_HALF_BUILT = """
import sys
from llvmlite.binding.ffi import ObjectRef
from liqcore.interrupt import InterruptGuard

class Own:
    def __del__(self):
        raise AttributeError("not the compiler's: still printed")

with InterruptGuard("backtest") as guard:
    guard.interrupted = {interrupted}   # what the SIGINT handler sets when the Ctrl-C lands
    ref = ObjectRef.__new__(ObjectRef)  # as an interrupt inside the JIT compiler leaves one: no handle
    del ref
    own = Own()
    del own
    guard.interrupted = False           # the guard uninstalls itself as after a finished command
sys.stderr.write("end\\n")
"""


@pytest.mark.parametrize("interrupted", [True, False])
def test_a_compile_cut_by_the_interrupt_leaves_no_finaliser_traceback(interrupted):
    """A Ctrl-C inside Numba's compile leaves llvmlite references without their handle; their finaliser's
    ``AttributeError`` is the interrupt itself and is not printed after "interrupted" (CI saw it print).  Any
    other finaliser's error is still printed, and so is the compiler's when no interrupt came (the control)."""
    r = subprocess.run([sys.executable, "-c", _HALF_BUILT.format(interrupted=interrupted)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "not the compiler's: still printed" in r.stderr
    assert ("ObjectRef.__del__" in r.stderr) is (not interrupted), r.stderr


def test_a_terminals_ctrl_c_stops_a_dask_walkforward_with_one_line_from_the_command_alone(tmp_path):
    """A terminal's Ctrl-C reaches the whole foreground process group: the ``liqcore`` script and the dask workers
    it started, spawned processes that import liqcore with the command's argv.  Those leave the stop to the command
    (they said "liqcore: interrupted" each and died at once, and the resource tracker then warned of leaked
    semaphores): one line, the command's, exit 130, within a second."""
    pytest.importorskip("distributed")
    script = Path(sys.executable).parent / "liqcore"
    assert script.exists(), f"the liqcore script is not installed beside {sys.executable}"
    args = ["walkforward", "--synthetic", "--days", "40", "--seed", "24", "--cache-max", "0", "--grid",
            "offset=0.001,0.002,0.003", "--grid", "take-profit=0.002,0.004", "--dask", "local", "--workers", "2"]
    rc, took, err, done = _interrupt(args, 6.0, tmp_path, python_args=[str(script)], group=True)
    assert not done, "walkforward finished before the interrupt: make its input longer"
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 130 and lines == ["liqcore walkforward: interrupted"], (rc, err[-3000:])
    assert took < 1.0, f"walkforward --dask local took {took:.2f} s to stop ({LAST[0]})"


_LOGGED_AFTER = """
import logging, os, signal, sys, time
from liqcore.interrupt import InterruptGuard

logging.basicConfig(format="%(name)s - %(levelname)s - %(message)s")
with InterruptGuard("walkforward", None, own_process={own}) as guard:
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(30)
    except KeyboardInterrupt:  # the command unwinds: its dask client closes under a gather still awaited
        logging.getLogger("tornado.application").error("Exception in callback: CommClosedError: Stream is closed")
        import warnings
        warnings.warn("a library's warning of the stop")
sys.stderr.write("end\\n")
"""


@pytest.mark.parametrize("own", [True, False])
def test_a_librarys_log_of_the_stop_after_interrupted_is_not_printed(own):
    """A terminal's Ctrl-C during a dask walkforward: the command said "interrupted", and as it closed its dask
    client, a result the client still awaited from the workers the Ctrl-C had stopped ended in ``CommClosedError``,
    which tornado logged with its traceback (42 lines after the command's one: the suite met it on a busy machine).
    The process's own command says its one line and no library's log after it; a command called in a caller's
    process (``own_process`` False: the control) leaves the caller's logging alone."""
    r = subprocess.run([sys.executable, "-c", _LOGGED_AFTER.format(own=own)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    if own:
        assert lines == ["liqcore walkforward: interrupted", "end"], r.stderr
    else:
        assert lines[:2] == ["liqcore walkforward: interrupted",
                             "tornado.application - ERROR - Exception in callback: CommClosedError: Stream is closed"]
        assert "UserWarning: a library's warning of the stop" in r.stderr

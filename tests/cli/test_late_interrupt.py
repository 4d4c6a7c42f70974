"""A Ctrl-C that lands after the command has done its work (``wrote N events`` said): however late -- while the
command's exit is settled, once the interrupt mechanism would have been taken down, in the interpreter's atexit
functions, in its teardown -- the process either ends with the command's own status (the Ctrl-C too late to be
one) or says "interrupted", one line on stderr, and exits 130; never 130 without the line (the interpreter's
teardown resets SIGINT to the system's default: the process was killed silently), never a traceback; the file
written is kept, whole.

The signal is sent by the process to itself at each of those moments (a timer would land there by chance only)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: the process's own command (as the console script runs it), with SIGINT sent to itself at one late moment
DRIVER = r"""
import atexit, os, signal, sys
where = sys.argv[1]
sys.argv = ["liqcore", *sys.argv[2:]]
from liqcore import cli, interrupt

def ctrl_c():
    os.kill(os.getpid(), signal.SIGINT)

if where == "settling":  # the command returned: its exit status and outputs being settled
    settle = cli._settle_outputs
    def late(code):
        ctrl_c()
        return settle(code)
    cli._settle_outputs = late
elif where == "guard-exit":  # the interrupt mechanism's context left (where it used to be taken down)
    leave = interrupt.InterruptGuard.__exit__
    def late(self, *exc):
        out = leave(self, *exc)
        ctrl_c()
        return out
    interrupt.InterruptGuard.__exit__ = late
elif where == "atexit":  # the interpreter's atexit functions
    atexit.register(ctrl_c)
elif where == "teardown":  # the interpreter's teardown (a module's object finalised)
    class Late:
        def __del__(self):
            ctrl_c()
    sys.modules["__main__"].late = Late()
sys.exit(cli.main())
"""


def _csv(path: Path, n: int = 200) -> Path:
    rows = ["exchange,symbol,timestamp,local_timestamp,id,side,price,amount"]
    t0 = 1737908829829000
    for i in range(n):
        rows.append(f"binance-futures,BTCUSDT,{t0 + i * 1000},{t0 + i * 1000 + 50},{i + 1},{'sell' if i % 2 else 'buy'},"
                    f"{100000 + i},{1 + i % 7}")
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("where", ["settling", "guard-exit", "atexit", "teardown"])
def test_a_late_ctrl_c_says_interrupted_or_is_too_late_never_a_silent_130(tmp_path, where):
    src = _csv(tmp_path / "binance-futures_trades_2025-01-26_BTCUSDT.csv")
    out = tmp_path / "out.csv"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    r = subprocess.run([sys.executable, "-c", DRIVER, where, "convert", str(src), "--out", str(out)],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    err = r.stderr.splitlines()
    said = [ln for ln in err if "interrupted" in ln]
    assert "Traceback" not in r.stderr and "Exception ignored" not in r.stderr, r.stderr
    assert r.returncode in (0, 130), (r.returncode, r.stderr)  # (-2: killed by the signal, nothing said)
    if r.returncode == 130:
        assert said == ["liqcore convert: interrupted"] and err[-1] == said[0], r.stderr
    else:
        assert not said, r.stderr
    assert "wrote 200 events" in r.stderr
    assert len(out.read_text().splitlines()) == 201  # the file written, kept whole (a header and 200 rows)


def test_the_command_exit_status_and_its_output_survive_the_quick_exit(tmp_path):
    """The process ends by os._exit after its atexit functions: stdout is flushed, an atexit function still runs,
    a failing command keeps its status."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    src = _csv(tmp_path / "binance-futures_trades_2025-01-26_BTCUSDT.csv", 5)
    code = ("import atexit, sys; atexit.register(lambda: open('ran', 'w').write('yes')); "
            "sys.argv = ['liqcore', *sys.argv[1:]]; from liqcore.cli import main; sys.exit(main())")
    r = subprocess.run([sys.executable, "-c", code, "events", str(src)], capture_output=True, text=True,
                       timeout=120, cwd=tmp_path, env=env)
    assert r.returncode == 0 and "BTCUSDT" in r.stdout, r.stderr
    assert (tmp_path / "ran").read_text() == "yes"
    r = subprocess.run([sys.executable, "-c", code, "convert", str(tmp_path / "missing.csv"), "--out", "x.csv"],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert r.returncode not in (0, 130) and len(r.stderr.strip().splitlines()) == 1, r.stderr


@pytest.mark.parametrize("args, code", [(["convert", "--lock-wait"], 2), (["--version"], 0)],
                         ids=["usage-error", "version"])
def test_a_ctrl_c_in_the_teardown_after_a_usage_error_or_the_version_is_never_a_silent_130(tmp_path, args, code):
    """The exits argparse makes (a usage error, ``--version``: SystemExit) end the process as every command's."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    r = subprocess.run([sys.executable, "-c", DRIVER, "teardown", *args], capture_output=True, text=True,
                       timeout=120, cwd=tmp_path, env=env)
    assert r.returncode == code and "interrupted" not in r.stderr and "Traceback" not in r.stderr, (r.returncode,
                                                                                                     r.stderr)

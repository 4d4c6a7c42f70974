"""Issue 70, item 9: a bad value of any option is one line (``--seed abc`` printed the 67-line usage, ``record``
without ``--out`` 9 lines); a command interrupted by Ctrl-C, or failing, leaves none of the output directories it
created behind empty (``--report``, ``--out``, ``liqcore demo``'s ``./liqcore-report``); one that succeeded keeps
them."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from _procs import signal_and_wait, wait_until

from liqcore.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _cli(args, cwd, **kw):
    env = dict(os.environ, PYTHONPATH=str(ROOT), LIQCORE_CACHE_DIR=str(cwd / ".cache"))
    return subprocess.run([sys.executable, "-m", "liqcore", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd, env=env, **kw)


@pytest.mark.parametrize("args, says", [
    (["backtest", "--synthetic", "--seed", "abc"], "liqcore backtest: error: argument --seed: invalid int value: 'abc'"),
    (["record", "--venue", "bybit", "--symbols", "ETHUSDT"],
     "liqcore record: error: the following arguments are required: --out"),
    (["sweep", "--synthetic", "--workers", "two"], "liqcore sweep: error: argument --workers: invalid int value"),
    (["backtest", "--synthetic", "--days"], "liqcore backtest: error: argument --days: expected one argument"),
    (["cache", "bogus"], "liqcore cache: error: argument action: invalid choice: 'bogus'"),
    (["download", "nowhere"], "liqcore download: error: argument source: invalid choice: 'nowhere'"),
    (["events", "--limit", "1.5"], "liqcore events: error: argument --limit: invalid int value: '1.5'"),
], ids=lambda x: x[0] if isinstance(x, list) else None)
def test_a_bad_value_of_any_option_is_one_line(tmp_path, args, says):
    r = _cli(args, tmp_path)
    err = r.stderr.strip().splitlines()
    assert r.returncode == 2 and r.stdout == "" and len(err) == 1, r.stderr
    assert err[0].startswith(says) and err[0].endswith(f"(see liqcore {args[0]} --help)"), err[0]


def _interrupted_once(args, cwd, made: Path):
    """Start ``liqcore ARGS`` in ``cwd``, send it SIGINT once ``made`` exists (its output directory, created
    before the work), wait for it to end: its exit status and stderr."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), LIQCORE_CACHE_DIR=str(cwd / ".cache"))
    p = subprocess.Popen([sys.executable, "-m", "liqcore", *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    wait_until(p, made.exists, f"{args[0]}: {made} created")
    assert p.poll() is None, p.stderr.read()  # still working: the interrupt lands mid-command
    signal_and_wait(p, signal.SIGINT, 30, f"{args[0]} interrupted")
    return p.returncode, p.stderr.read()


@pytest.mark.parametrize("args, made, gone", [
    (["backtest", "--synthetic", "--days", "3", "--cache-max", "0", "--report", "out/rep"], "out/rep", "out"),
    (["demo", "--days", "3", "--cache-max", "0", "--no-progress"], "liqcore-report", "liqcore-report"),
    (["sweep", "--synthetic", "--days", "3", "--cache-max", "0", "--grid", "offset=0.1%,0.2%", "--out",
      "sw/cells.parquet"], "sw", "sw"),
], ids=lambda x: x[0] if isinstance(x, list) else None)
def test_ctrl_c_leaves_no_empty_output_directory(tmp_path, args, made, gone):
    code, err = _interrupted_once(args, tmp_path, tmp_path / made)
    assert code == 130 and "interrupted" in err, err
    assert not (tmp_path / gone).exists(), sorted(p.name for p in tmp_path.iterdir())


def test_a_failed_command_removes_the_empty_directories_it_made_and_keeps_the_others(tmp_path, monkeypatch):
    """In process (as a library caller runs it): a failure after the output was prepared removes the directories
    made for it, never one that was there before or one that holds anything; a success keeps its output."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "there").mkdir()
    # (a market no machine holds: refused from its memory estimate, after the report's directory was made)
    assert main(["backtest", "--synthetic", "--days", "1e7", "--report", "there/new/rep"]) == 2
    assert (tmp_path / "there").is_dir() and not (tmp_path / "there" / "new").exists()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    from liqcore.commands.outputs import output_dir, remove_empty_outputs

    output_dir(tmp_path / "a" / "b", "--out")
    (tmp_path / "a" / "b" / "note").write_text("written")
    output_dir(tmp_path / "c" / "d", "--out")
    assert remove_empty_outputs() == [tmp_path / "c" / "d", tmp_path / "c"]  # the deepest first
    assert (tmp_path / "a" / "b" / "note").exists() and (tmp_path / "full" / "keep.txt").exists()


def test_an_interrupt_landing_as_the_output_directory_is_made_still_removes_it(tmp_path, monkeypatch):
    """The race CI met: Ctrl-C raised as ``mkdir`` returns (the directories made, the function not yet past it).
    The directories are listed before they are made, so the interrupt's clean-up still removes them, the
    deepest first; before the change ``out`` was left behind."""
    from pathlib import Path as P

    from liqcore.commands import outputs

    made = P.mkdir

    def mkdir_then_interrupted(self, *a, **kw):
        made(self, *a, **kw)
        if self.name == "rep":  # (not the parent's own mkdir, which the call for ``out/rep`` makes first)
            raise KeyboardInterrupt

    monkeypatch.setattr(P, "mkdir", mkdir_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        outputs.output_dir(tmp_path / "out" / "rep", "--report")
    monkeypatch.undo()
    assert (tmp_path / "out" / "rep").is_dir()
    assert outputs.remove_empty_outputs() == [tmp_path / "out" / "rep", tmp_path / "out"]
    assert sorted(p.name for p in tmp_path.iterdir()) == []

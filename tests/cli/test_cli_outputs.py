"""Every output flag of every command behaves the same, before any work starts: missing parent
directories are created; a path that cannot be written is one line on stderr and exit 2."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from liqcore.cli import main
from liqcore.commands.outputs import OutputPathError, output_dir, output_file

SAMPLE = Path(__file__).resolve().parents[2] / "liqcore" / "data" / "sample_liquidations.csv"


class WorkStarted(Exception):
    pass


def _no_work(*_a, **_k):
    raise WorkStarted("the command started working before checking its output paths")


def _forbid_work(monkeypatch):
    """Make every command's first piece of work raise, so a test sees whether the path checks ran first."""
    import liqcore.synthetic.market as synthetic
    import liqcore.commands.inputs as inputs
    import liqcore.commands.record as record
    import liqcore.commands.run as run

    monkeypatch.setattr(inputs, "load_source", _no_work)  # backtest, sweep, compare (and features/study via load_input)
    monkeypatch.setattr(inputs, "load_input", _no_work)  # features, study
    monkeypatch.setattr(inputs, "load_recordings", _no_work)  # convert
    monkeypatch.setattr(record, "record", _no_work)
    monkeypatch.setattr(run, "build", _no_work)
    monkeypatch.setattr(synthetic, "synthetic_market", _no_work)  # demo


# (command line before the output flag, output flag, "file" | "dir")
CASES = [
    (["convert", str(SAMPLE)], "--out", "file", "x.parquet"),
    (["backtest", "--synthetic", "--days", "1"], "--out", "dir", "res"),
    (["backtest", "--synthetic", "--days", "1"], "--report", "dir", "rep"),
    (["sweep", "--synthetic", "--days", "1", "--grid", "offset=0.1%,0.2%"], "--out", "file", "s.csv"),
    (["sweep", "--synthetic", "--days", "1", "--grid", "offset=0.1%,0.2%"], "--plot", "file", "s.png"),
    (["features", "--synthetic", "--days", "1"], "--out", "file", "f.parquet"),
    (["study", "--synthetic", "--days", "1"], "--out", "file", "c.csv"),
    (["study", "--synthetic", "--days", "1"], "--plot", "file", "s.png"),
    (["record", "--symbols", "ETHUSDT"], "--out", "dir", "rec"),
    (["run", "--replay", "synthetic", "--duration", "1"], "--journal", "file", "j.sqlite"),
    (["run", "--replay", "synthetic", "--duration", "1"], "--log", "file", "l.jsonl"),
    (["demo"], "--report", "dir", "rep"),
    (["demo", "--no-report"], "--cache-dir", "dir", "cache"),
]
IDS = [f"{c[0][0]}{c[1]}" for c in CASES]


@pytest.mark.parametrize("argv,flag,kind,name", CASES, ids=IDS)
def test_parent_under_a_file_is_one_line_exit_2_before_work(tmp_path, capsys, monkeypatch, argv, flag, kind, name):
    _forbid_work(monkeypatch)
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    target = blocker / "sub" / name
    assert main([*argv, flag, str(target)]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"liqcore {argv[0]}: error: {flag}:") and "a_file is a file" in lines[0]
    assert "Traceback" not in err
    assert blocker.read_text() == "not a directory"


@pytest.mark.parametrize("argv,flag,kind,name", CASES, ids=IDS)
def test_missing_parents_are_created_before_work(tmp_path, monkeypatch, argv, flag, kind, name):
    _forbid_work(monkeypatch)
    target = tmp_path / "missing" / "deeper" / name
    with pytest.raises(WorkStarted):
        main([*argv, flag, str(target)])
    if kind == "dir":
        assert target.is_dir()
    else:
        assert target.parent.is_dir()
    # the write probe leaves nothing behind (the log file is opened before the run is built)
    d = target if kind == "dir" else target.parent
    assert [p.name for p in d.iterdir()] == ([name] if flag == "--log" else [])


def test_a_directory_given_for_a_file_is_refused(tmp_path, capsys, monkeypatch):
    _forbid_work(monkeypatch)
    assert main(["convert", str(SAMPLE), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--out:" in err and "is a directory" in err and len(err.strip().splitlines()) == 1


def test_second_bad_flag_stops_before_work_other_outputs_stay_empty(tmp_path, capsys, monkeypatch):
    # no monkeypatching: the real command; a good --out next to a bad --report holds no ledger
    monkeypatch.setenv("LIQCORE_CACHE", str(tmp_path / "cache"))
    (tmp_path / "f").write_text("")
    good = tmp_path / "good"
    rc = main(["backtest", "--synthetic", "--days", "1", "--symbols", "ETHUSDT", "--no-progress",
               "--out", str(good), "--report", str(tmp_path / "f" / "rep")])
    assert rc == 2
    assert not any(good.glob("*")) and not (tmp_path / "cache").exists()


def test_convert_creates_missing_parents_end_to_end(tmp_path, capsys):
    out = tmp_path / "missing" / "x.parquet"
    assert main(["convert", str(SAMPLE), "--out", str(out)]) == 0
    assert out.stat().st_size > 0


def test_sweep_plot_into_a_missing_directory(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LIQCORE_CACHE", str(tmp_path / "cache"))
    png = tmp_path / "missing" / "x.png"
    rc = main(["sweep", "--synthetic", "--days", "1", "--symbols", "ETHUSDT", "--seed", "3", "--no-progress",
               "--grid", "offset=0.1%,0.2%", "--json", "--plot", str(png)])
    assert rc == 0 and png.read_bytes()[:4] == b"\x89PNG"


def test_helpers_direct(tmp_path):
    assert output_file(None) is None and output_dir(None) is None
    f = tmp_path / "file"
    f.write_text("")
    with pytest.raises(OutputPathError, match=r"^--report: .*is a file"):
        output_dir(f, "--report")
    with pytest.raises(OutputPathError, match=r"^--out: .*is a file"):
        output_file(f / "x.csv", "--out")
    assert output_file(tmp_path / "a" / "b.csv", "--out") == tmp_path / "a" / "b.csv"
    assert (tmp_path / "a").is_dir()
    assert isinstance(OutputPathError("x"), ValueError)


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0,
                    reason="root writes into read-only directories; the file-parent case covers it")
def test_unwritable_directory(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(OutputPathError, match="cannot"):
            output_dir(ro / "sub", "--out")
        with pytest.raises(OutputPathError, match="cannot write"):
            output_file(ro / "x.csv", "--out")
        assert main(["convert", str(SAMPLE), "--out", str(ro / "x.parquet")]) == 2
        assert "Traceback" not in capsys.readouterr().err
    finally:
        ro.chmod(0o700)


def _sys_unwritable() -> bool:
    import tempfile

    if not Path("/sys/kernel").is_dir():
        return False
    try:
        with tempfile.TemporaryFile(dir="/sys/kernel"):
            return False
    except OSError:
        return True


@pytest.mark.skipif(not _sys_unwritable(), reason="needs a directory nobody may write, even root (/sys/kernel)")
@pytest.mark.parametrize("argv,flag,kind,name", CASES, ids=IDS)
def test_unwritable_even_for_root_is_one_line_exit_2_before_work(capsys, monkeypatch, argv, flag, kind, name):
    _forbid_work(monkeypatch)
    target = Path("/sys/kernel") / name if kind == "file" else Path("/sys/kernel")
    assert main([*argv, flag, str(target)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert f"error: {flag}: cannot write into the directory /sys/kernel" in err

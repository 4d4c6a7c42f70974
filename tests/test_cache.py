"""The synthetic-market cache: in the user cache directory (never the working directory), overridable by
$LIQCORE_CACHE_DIR, named in the demo/backtest output, and shown or cleared by `liqcore cache`."""
from __future__ import annotations

import io
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import orjson
import pytest

from liqcore.backtest.synthetic import synthetic_market
from liqcore.cache import cache_dir, cache_info, clear_cache
from liqcore.cli import main


@pytest.fixture
def user_cache(tmp_path, monkeypatch):
    """A clean environment: no override, XDG_CACHE_HOME in tmp, working directory in tmp."""
    for var in ("LIQCORE_CACHE_DIR", "LIQCORE_CACHE"):
        monkeypatch.delenv(var, raising=False)
    xdg = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(xdg))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return xdg / "liqcore", work


def _cli(args) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        code = main(args)
    return code, out.getvalue()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG layout is the Linux one")
def test_default_is_the_user_cache_directory(user_cache, monkeypatch, tmp_path):
    expected, _work = user_cache
    assert cache_dir() == expected
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "liqcore"
    monkeypatch.setenv("LIQCORE_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"


def test_market_is_cached_outside_the_working_directory(user_cache):
    expected, work = user_cache
    m = synthetic_market(days=0.05, symbols=("ETHUSDT",), seed=3)
    assert m.cache_path is not None and m.cache_path.parent == cache_dir() and m.cache_path.is_file()
    assert not m.from_cache
    assert list(work.iterdir()) == []  # nothing written into the working directory
    again = synthetic_market(days=0.05, symbols=("ETHUSDT",), seed=3)
    assert again.from_cache and again.cache_path == m.cache_path
    assert (again.events == m.events).all()
    assert synthetic_market(days=0.05, symbols=("ETHUSDT",), seed=3, cache=False).cache_path is None


def test_env_var_overrides(user_cache, monkeypatch, tmp_path):
    monkeypatch.setenv("LIQCORE_CACHE_DIR", str(tmp_path / "override"))
    m = synthetic_market(days=0.05, symbols=("ETHUSDT",), seed=3)
    assert m.cache_path.parent == tmp_path / "override"
    assert cache_info()["files"] == 1


def test_cache_command_info_and_clear(user_cache, tmp_path):
    expected, work = user_cache
    code, text = _cli(["cache"])
    assert code == 0 and str(expected) in text and "not created yet" in text
    m = synthetic_market(days=0.05, symbols=("ETHUSDT",), seed=3)
    size = m.cache_path.stat().st_size
    foreign = expected / "notes.txt"  # not ours: never deleted
    foreign.write_text("keep me")
    code, text = _cli(["cache", "info", "--json"])
    info = orjson.loads(text)
    assert code == 0 and info["path"] == str(expected) and info["files"] == 1 and info["bytes"] == size
    code, text = _cli(["cache", "clear"])
    assert code == 0 and "cleared 1 file(s)" in text and str(expected) in text
    assert not m.cache_path.exists() and foreign.read_text() == "keep me"
    assert cache_info()["files"] == 0
    # an older cache left in the working directory is reported and cleared too
    legacy = work / ".liqcore-cache"
    legacy.mkdir()
    (legacy / "synth-0123.npz").write_bytes(b"x" * 1000)
    code, text = _cli(["cache", "info"])
    assert ".liqcore-cache" in text and "1 file(s)" in text
    code, text = _cli(["cache", "clear", "--json"])
    out = orjson.loads(text)
    assert out["legacy"]["files"] == 1 and not legacy.exists()
    # --dir acts on another directory; a file there is a usage error
    other = tmp_path / "other"
    other.mkdir()
    (other / "synth-aa.npz").write_bytes(b"y")
    assert clear_cache(other)["files"] == 1 and not other.exists()
    (tmp_path / "afile").write_text("")
    code, _ = _cli(["cache", "info", "--dir", str(tmp_path / "afile")])
    assert code == 2


def test_backtest_and_demo_name_the_cache(user_cache):
    expected, work = user_cache
    code, text = _cli(["backtest", "--synthetic", "--days", "0.05", "--symbols", "ETHUSDT", "--no-progress"])
    assert code == 0 and f"market cache: {expected}" in text
    code, text = _cli(["demo", "--days", "0.05", "--symbols", "ETHUSDT", "--no-report", "--no-progress"])
    assert code == 0
    line = next(ln for ln in text.splitlines() if ln.startswith("market cache: "))
    assert Path(line.split()[2]).parent == expected and Path(line.split()[2]).is_file()
    assert not (work / ".liqcore-cache").exists()

"""The synthetic-market cache: in the user cache directory (never the working directory), overridable by
$LIQCORE_CACHE_DIR, named in the demo/backtest output, and shown or cleared by `liqcore cache`."""
from __future__ import annotations

import io
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import orjson
import pytest

from liqcore.synthetic.market import synthetic_market
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
    assert code == 0 and str(expected) in text and "no cache directory" in text
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


def _market(days, seed=3):
    return synthetic_market(days=days, symbols=("ETHUSDT",), seed=seed)


def test_the_cache_is_capped_least_recently_used_first(user_cache, monkeypatch, capsys):
    """A size cap (default 1 GB; $LIQCORE_CACHE_MAX): after each write the least recently used markets
    are deleted until the cache fits; loading a market counts as a use; a market larger than the cap
    alone is not written."""
    import time

    from liqcore.cache import DEFAULT_MAX_BYTES, MAX_ENV_VAR, max_bytes

    monkeypatch.delenv(MAX_ENV_VAR, raising=False)
    assert max_bytes() == DEFAULT_MAX_BYTES == 1_000_000_000
    a = _market(0.05, seed=1)
    time.sleep(0.05)
    b = _market(0.05, seed=2)
    time.sleep(0.05)
    size = max(a.cache_path.stat().st_size, b.cache_path.stat().st_size)
    assert _market(0.05, seed=1).from_cache  # a is used again: b is now the least recently used
    time.sleep(0.05)
    monkeypatch.setenv(MAX_ENV_VAR, str(2 * size + size // 2))  # room for two markets of this size
    c = _market(0.05, seed=4)
    assert c.cache_path.is_file() and a.cache_path.is_file() and not b.cache_path.exists()
    info = cache_info()
    assert info["files"] == 2 and info["bytes"] <= 2.5 * size and info["max_bytes"] == 2 * size + size // 2
    # a market larger than the cap alone is not cached, and nothing else is deleted for it
    monkeypatch.setenv(MAX_ENV_VAR, f"{size / 2e3:.3f}kB")
    capsys.readouterr()
    d = _market(0.05, seed=5)
    assert d.cache_path is None and cache_info()["files"] == 2
    assert "not cached" in capsys.readouterr().err
    # 0 keeps nothing: the next write evicts everything, itself included... it is simply not written
    monkeypatch.setenv(MAX_ENV_VAR, "0")
    assert _market(0.05, seed=6).cache_path is None
    monkeypatch.setenv(MAX_ENV_VAR, "a lot")
    with pytest.raises(ValueError, match="LIQCORE_CACHE_MAX: expected a size"):
        _market(0.05, seed=7)


def test_cli_cache_max_flag_trim_and_info_after_clear(user_cache, tmp_path):
    """Real processes: --cache-max caps the cache of the command that writes it, `cache trim` applies a
    cap, `cache info` right after `cache clear` answers, a bad size is one line and exit 2."""
    import os
    import subprocess

    expected, work = user_cache
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root))
    env.pop("LIQCORE_CACHE_MAX", None)

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "liqcore", *args], cwd=work, env=env, capture_output=True,
                              text=True, timeout=120)

    bt = ["backtest", "--synthetic", "--symbols", "ETHUSDT", "--no-progress", "--json"]
    for days in ("0.05", "0.1"):
        assert cli(*bt, "--days", days).returncode == 0
    sizes = sorted(f.stat().st_size for f in expected.glob("synth-*.npz"))
    assert len(sizes) == 2
    first = min(expected.glob("synth-*.npz"), key=lambda f: f.stat().st_mtime)
    # a third market of the first one's size: the cap leaves room for it and one more
    r = cli(*bt, "--days", "0.05", "--seed", "9", "--cache-max", str(sizes[0] + sizes[1] + sizes[0] // 2))
    assert r.returncode == 0, r.stderr
    left = sorted(expected.glob("synth-*.npz"), key=lambda f: f.stat().st_mtime)
    assert len(left) == 2 and not first.exists()  # the least recently used went
    assert left[0].stat().st_size == sizes[1]
    r = cli("cache", "info", "--json")
    info = orjson.loads(r.stdout)
    assert r.returncode == 0 and info["files"] == 2 and info["max_bytes"] == 1_000_000_000
    r = cli("cache", "trim", "--cache-max", "1B")
    assert r.returncode == 0 and "trimmed 2 least recently used file(s)" in r.stdout, r.stdout + r.stderr
    assert cli(*bt, "--days", "0.05").returncode == 0
    r = cli("cache", "clear")
    assert r.returncode == 0 and "cleared 1 file(s)" in r.stdout and "0 file(s), 0.0 MB of a 1.0 GB cap" in r.stdout
    r = cli("cache", "info")
    assert r.returncode == 0 and r.stdout.splitlines() == [f"cache: {expected}",
                                                           "  0 file(s), 0.0 MB of a 1.0 GB cap (no cache directory:"
                                                           " nothing cached)"]
    r = cli(*bt, "--days", "0.05", "--cache-max", "lots")
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        "liqcore backtest: error: cache-max: expected a size such as 500MB, 2GB, 0 or unlimited; got 'lots'"]


# ------------------------------------------------------------------------------------ market files
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import numpy as np  # noqa: E402

from liqcore.synthetic.market import TRUTH_DTYPE  # noqa: E402
from liqcore.cache import load_market, save_market  # noqa: E402
from liqcore.types import EVENT_DTYPE, Kind  # noqa: E402


def test_a_market_file_is_small_and_loads_byte_identical(tmp_path):
    """A market with its top of book (the demo's): the file is under a fifth of its event array, and the
    events load back byte for byte."""
    m = synthetic_market(days=1, symbols=("BTCUSDT", "DOGEUSDT"), seed=5, effects={"book": True},
                         cache_dir=tmp_path)
    assert (m.events["kind"] == Kind.QUOTE).any()
    size = m.cache_path.stat().st_size
    assert size * 5 < m.events.nbytes, (size, m.events.nbytes)
    again = synthetic_market(days=1, symbols=("BTCUSDT", "DOGEUSDT"), seed=5, effects={"book": True},
                             cache_dir=tmp_path)
    assert again.from_cache
    assert again.events.dtype == EVENT_DTYPE and again.events.tobytes() == m.events.tobytes()
    assert again.truth.dtype == TRUTH_DTYPE and np.array_equal(again.truth, m.truth)


@settings(max_examples=60, deadline=None)
@given(raw=st.binary(min_size=0, max_size=40 * 300), grid=st.booleans(), decimals=st.integers(0, 9),
       chunk=st.sampled_from([1, 7, 64, 1 << 18]))
def test_any_event_array_loads_back_bit_for_bit(tmp_path_factory, raw, grid, decimals, chunk):
    """Arbitrary bytes as events (NaNs with payloads, -0.0, infinities, times out of order or wrapping
    around), and arrays like a market's (times on a grid, prices of a few decimals): every bit back."""
    import liqcore.cache as cache_mod

    ev = np.frombuffer(raw[: len(raw) // 40 * 40], dtype=EVENT_DTYPE).copy()
    if grid and len(ev):
        rng = np.random.default_rng(len(ev))
        ev["ts_event"] = 1_700_000_000_000_000_000 + np.cumsum(rng.integers(0, 5_000, len(ev))) * 1_000_000
        ev["ts_recv"] = ev["ts_event"] + rng.integers(0, 10**9, len(ev))
        ev["price"] = np.round(rng.uniform(0.0001, 1e5, len(ev)), decimals)
        ev["qty"] = np.round(rng.lognormal(0, 3, len(ev)), decimals)
    truth = np.zeros(3, TRUTH_DTYPE)
    path = tmp_path_factory.mktemp("m") / "m.npz"
    old = cache_mod._CHUNK
    cache_mod._CHUNK = chunk
    try:
        save_market(path, ev, truth)
    finally:
        cache_mod._CHUNK = old
    back, t2 = load_market(path, EVENT_DTYPE)
    assert back.dtype == EVENT_DTYPE and back.tobytes() == ev.tobytes()
    assert np.array_equal(t2, truth)


def test_a_market_file_of_another_layout_is_refused(tmp_path):
    ev = np.zeros(5, EVENT_DTYPE)
    save_market(tmp_path / "m.npz", ev, np.zeros(0, TRUTH_DTYPE))
    other = np.dtype([("ts_event", "<i8"), ("price", "<f4")])
    with pytest.raises(ValueError, match="another layout"):
        load_market(tmp_path / "m.npz", other)

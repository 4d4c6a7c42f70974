"""The test suite depends on nothing of the user's environment (liqcore variables, the cache), ends
with pytest's summary (no shutdown noise after it), and says how to get the real recordings it skips."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _pytest_with(*paths: Path) -> list:
    """``python -m pytest`` with ``paths`` first on its import path, put there once the interpreter has started: on
    PYTHONPATH, the tests' own folder (its io/) would shadow the standard library's io at the start of Python 3.10."""
    return [sys.executable, "-c", "import sys; sys.path[:0] = %r; import pytest; sys.exit(pytest.main(sys.argv[1:]))"
            % [str(p) for p in paths]]


def test_environment_inside_a_session():
    """Whatever the shell had: no LIQCORE_* variable but the session's own cache and its venue plugins off (the
    user's installed plugins not looked at), no venue key."""
    liq = {k: v for k, v in os.environ.items() if k.startswith("LIQCORE_")}
    assert sorted(liq) == ["LIQCORE_CACHE_DIR", "LIQCORE_VENUE_PLUGINS"] and liq["LIQCORE_VENUE_PLUGINS"] == "off"
    cache = Path(liq["LIQCORE_CACHE_DIR"])
    assert cache.name.startswith("liqcore-test-cache-") and cache.parent == Path(tempfile.gettempdir())
    assert not any(k.endswith(("_API_KEY", "_API_SECRET")) for k in os.environ if k.split("_")[0] in
                   ("BYBIT", "BINANCE", "OKX", "GATE"))
    from liqcore.cache import cache_dir

    assert cache_dir() == cache
    # the user's cache home is the session's own too: a child that loses LIQCORE_CACHE_DIR cannot reach the user's
    home = Path(os.environ["XDG_CACHE_HOME"])
    assert home.name.startswith("liqcore-test-cache-home-") and home.parent == Path(tempfile.gettempdir())
    # other tools' caches are the user's (links), liqcore's is not
    assert not (home / "liqcore").is_symlink()
    assert all(e.resolve().parent != home for e in home.iterdir() if e.is_symlink())


def test_a_child_started_clean_keeps_the_users_plugins_out():
    """A test's child that starts from none of liqcore's settings (``child_env``) still has the plugins switched
    off, so a venue plugin the user installed never reaches it; and no test drops the ``LIQCORE_*`` variables by
    hand (which would drop that switch too)."""
    from _session_env import child_env

    assert child_env()["LIQCORE_VENUE_PLUGINS"] == "off" and child_env()["LIQCORE_CACHE_DIR"]
    clean = child_env(keep_cache=False, drop=("CI",))
    assert [k for k in clean if k.startswith("LIQCORE_")] == ["LIQCORE_VENUE_PLUGINS"] and "CI" not in clean
    by_hand = []
    for f in sorted((ROOT / "tests").rglob("*.py")):
        if f.name in ("_session_env.py", "test_session_env.py"):
            continue
        text = f.read_text()
        if "not k.startswith(\"LIQCORE" in text or "not k.startswith('LIQCORE" in text:
            by_hand.append(str(f.relative_to(ROOT)))
    assert by_hand == []


def test_the_users_cache_variables_change_nothing(tmp_path):
    """With the README's $LIQCORE_CACHE_DIR (and the older $LIQCORE_CACHE, a key) set in the shell, the
    cache tests pass and write nothing into the user's cache."""
    user, old = tmp_path / "user-cache", tmp_path / "old-cache"
    env = dict(os.environ, PYTHONPATH=str(ROOT), LIQCORE_CACHE_DIR=str(user), LIQCORE_CACHE=str(old),
               BYBIT_API_KEY="user-key", BYBIT_API_SECRET="user-secret")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "tests/backtest/test_synthetic.py::test_cache_roundtrip",
                        "tests/backtest/test_cache.py::test_env_var_overrides",
                        "tests/project/test_session_env.py::test_environment_inside_a_session"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "3 passed" in r.stdout
    assert not user.exists() and not old.exists()


_LEAKY = '''
import atexit, sys, threading, time
import duckdb

def test_holds_a_duckdb_connection_in_a_thread():
    con = duckdb.connect()
    def work():
        con.sql("select 1").fetchall()
        time.sleep(60)
    threading.Thread(target=work, daemon=True).start()
    time.sleep(0.2)
    atexit.register(lambda: print("a line of the program's own", file=sys.stderr, flush=True))
'''


def test_no_nanobind_report_after_the_summary(tmp_path):
    """duckdb (a nanobind extension) alive at interpreter exit prints ~40 lines of "nanobind: leaked"
    after pytest's summary: the session filters exactly those lines out of stderr."""
    pytest.importorskip("duckdb")
    (tmp_path / "test_leaky.py").write_text(_LEAKY)
    env = dict(os.environ)
    base = [*_pytest_with(ROOT / "tests"), "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
            "-c", str(_empty_ini(tmp_path)), "test_leaky.py"]
    raw = subprocess.run(base, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    if "nanobind: leaked" not in raw.stderr:
        pytest.skip("this duckdb reports no leak at exit")
    assert raw.stderr.count("\n") > 20  # the noise the session removes
    quiet = subprocess.run(base + ["-p", "_session_env"], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=120)
    assert quiet.returncode == 0 and "1 passed" in quiet.stdout
    assert "nanobind" not in quiet.stderr and "leaked" not in quiet.stderr and "nanobind" not in quiet.stdout
    assert "a line of the program's own" in quiet.stderr  # everything else still reaches stderr


def test_real_data_skips_say_how_to_get_the_recordings_once(tmp_path):
    """Each skipped test's reason is one short line (30 tests skip for it); how to get the recordings is said
    once, at the end of the run."""
    from tests.conftest import REAL_DATA_FOLDERS, REAL_DATA_HELP, pytest_terminal_summary, real_data_missing

    why = real_data_missing(tmp_path / "nowhere")
    assert why.startswith("real Binance recordings not found (set LIQCORE_REAL_DATA") and len(why) <= 100, why
    assert str(tmp_path) not in why and "github.com" not in why
    for repo in ("BandsThoBaby/Data_Streams_Project", "PauliusMinialga/data_streams_for_crypto",
                 "riftfern/data-streams"):
        assert f"github.com/{repo}" in REAL_DATA_HELP

    class Skip:
        longrepr = ("tests/x.py", 1, f"Skipped: {why}")

    class Reporter:
        def __init__(self, n):
            self.stats, self.lines = {"skipped": [Skip()] * n}, []

        def write_line(self, text):
            self.lines.append(text)

    for n, said in ((30, 1), (0, 0)):
        rep = Reporter(n)
        pytest_terminal_summary(rep, 0, None)
        assert len(rep.lines) == said and all(REAL_DATA_HELP in ln for ln in rep.lines), rep.lines
    (tmp_path / REAL_DATA_FOLDERS[0]).mkdir()
    (tmp_path / REAL_DATA_FOLDERS[0] / "binance.csv").write_text("")
    why = real_data_missing(tmp_path)
    assert "incomplete" in why and REAL_DATA_FOLDERS[1] in why and REAL_DATA_FOLDERS[0] not in why.split(":")[0]
    for f in REAL_DATA_FOLDERS[1:]:
        (tmp_path / f).mkdir()
        (tmp_path / f / "binance.csv").write_text("")
    assert real_data_missing(tmp_path) is None


_WRITES_USERS_CACHE = '''
import os, subprocess, sys
from pathlib import Path

def test_a_child_without_the_session_cache():
    # the session builds a market into its own cache ...
    (Path(os.environ["LIQCORE_CACHE_DIR"]) / "synth-x.npz").write_bytes(b"1")
    # ... and a child that lost the session's cache variable writes the same into the user's
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIQCORE_")}
    code = "from liqcore.cache import cache_dir; d = cache_dir(); d.mkdir(parents=True, exist_ok=True); (d / 'synth-x.npz').write_bytes(b'1')"
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
'''

#: the user's own liqcore, in another shell, using the user's cache (USERS_CACHE: the user's shell's
#: ``$XDG_CACHE_HOME/liqcore``) while the session runs: it reads a market (its last-use time touched), trims one
#: away, builds one the session never built and builds the very market the session built (the same file name)
_USER_MEANWHILE = '''
import os, subprocess, sys
from pathlib import Path

def test_the_user_runs_liqcore_in_another_shell():
    (Path(os.environ["LIQCORE_CACHE_DIR"]) / "synth-ours.npz").write_bytes(b"1")  # a market of the session
    code = ("import os; from pathlib import Path; d = Path(os.environ['LIQCORE_CACHE_DIR']); "
            "os.utime(d / 'synth-read.npz'); (d / 'synth-trimmed.npz').unlink(); "
            "(d / 'synth-theirs.npz').write_bytes(b'2' * 10); (d / 'synth-ours.npz').write_bytes(b'1')")
    env = {**os.environ, "LIQCORE_CACHE_DIR": USERS_CACHE}  # the user's shell: their own cache
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
'''


def _empty_ini(tmp_path):
    """An empty pytest configuration for an inner session: without it pytest takes the first ``pytest.ini``,
    ``pyproject.toml``, ``tox.ini`` or ``setup.cfg`` of the temporary folder's parents (a stray
    ``/tmp/pyproject.toml`` on the machine gave the inner sessions another project's options)."""
    ini = tmp_path / "pytest.ini"
    ini.write_text("[pytest]\n")
    return ini


def _inner_session(tmp_path, test_code: str):
    (tmp_path / "test_child.py").write_text(test_code)
    xdg = tmp_path / "xdg"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIQCORE_")}
    env.update(XDG_CACHE_HOME=str(xdg))
    return xdg, subprocess.run([*_pytest_with(ROOT, ROOT / "tests"), "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                                "-p", "conftest", "--rootdir", str(tmp_path), "-c", str(_empty_ini(tmp_path)),
                                str(tmp_path / "test_child.py")],
                               cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def test_the_user_using_their_cache_meanwhile_does_not_fail_the_session(tmp_path):
    """The guard failed three tests when the user ran liqcore in another shell meanwhile (a market read
    touches its last-use time), blaming the tests' environment; then (issue 70 item 10) when the user built a
    market the session also built.  The session's processes now fall back to a cache home of the session's own,
    and the guard watches that, never the user's cache."""
    user = tmp_path / "xdg" / "liqcore"
    user.mkdir(parents=True)
    for name in ("synth-read.npz", "synth-trimmed.npz"):
        (user / name).write_bytes(b"0" * 10)
    xdg, r = _inner_session(tmp_path, _USER_MEANWHILE.replace("USERS_CACHE", repr(str(user))))
    assert sorted(f.name for f in user.iterdir()) == ["synth-ours.npz", "synth-read.npz", "synth-theirs.npz"]
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]


def test_a_session_that_writes_into_the_users_cache_fails(tmp_path):
    """The session fixture ``users_cache_untouched``: a test whose child process drops the session's cache
    variable (and so would fill the user's cache, as 3 market files of 15 MB once did; now the session's
    stand-in for it) makes the session fail, naming the file."""
    xdg, r = _inner_session(tmp_path, _WRITES_USERS_CACHE)
    assert not (xdg / "liqcore").exists()  # the user's cache: out of the child's reach
    out = " ".join(r.stdout.split())
    assert r.returncode != 0 and "a process of this session wrote liqcore's cache outside the session's cache" \
        in out, out[-3000:] + r.stderr[-2000:]
    assert "synth-x.npz (written by a process of this session into " in out and ", 1 bytes, modified " in out

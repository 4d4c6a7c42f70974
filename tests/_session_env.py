"""What every test session gets, whatever the environment it was started from (imported by
``conftest.py``; also usable alone as a pytest plugin: ``-p _session_env``).

* :func:`isolate_environment`: no ``LIQCORE_*`` variable and no venue API key of the user's shell
  reaches a test, and the synthetic-market cache is a fresh directory of this session (removed at
  the end), so a cache or a variable the README suggests setting never changes a result.
  ``LIQCORE_REAL_DATA`` (where the third-party recordings are) is read first and kept aside: it only
  decides whether the real-data tests run.
* :func:`users_cache_changes`: what the session wrote into the user's own cache directory (the
  ``users_cache_untouched`` session fixture of ``conftest.py`` fails the session when anything).
* :func:`pytest_unconfigure`: after pytest's summary, the interpreter's shutdown report of
  nanobind-based extensions (duckdb's "nanobind: leaked N instances/types/functions", about 40
  lines, printed after Python has finished: nothing a test can fix or act on) is filtered out of
  stderr; every other line still reaches it.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

#: environment variables of the venues' API keys (never read by a test from the user's shell)
_KEY_VARS = tuple(f"{v}_API_{k}" for v in ("BYBIT", "BINANCE", "OKX") for k in ("KEY", "SECRET", "PASSPHRASE")) \
    + ("OPENAI_API_KEY",)  # (the judge's key, read when LIQCORE_JUDGE_API_KEY is not set)

#: set by :func:`isolate_environment`: (the user's LIQCORE_REAL_DATA or None, this session's cache directory)
USER_REAL_DATA: str | None = None
SESSION_CACHE: str | None = None


def isolate_environment() -> None:
    global USER_REAL_DATA, SESSION_CACHE
    if SESSION_CACHE is not None:
        return
    USER_REAL_DATA = os.environ.get("LIQCORE_REAL_DATA") or None
    global USER_CACHE, USER_CACHE_BEFORE
    USER_CACHE = _users_cache_dir()
    USER_CACHE_BEFORE = cache_listing(USER_CACHE)
    for k in [k for k in os.environ if k.startswith("LIQCORE_") or k in _KEY_VARS]:
        del os.environ[k]
    SESSION_CACHE = tempfile.mkdtemp(prefix="liqcore-test-cache-")
    os.environ["LIQCORE_CACHE_DIR"] = SESSION_CACHE


#: the user's own cache directory (as liqcore would find it from the shell the session started in) and
#: what it held then: :func:`users_cache_changes` compares it at the end (the tests never write there)
USER_CACHE: str | None = None
USER_CACHE_BEFORE: dict = {}


def _users_cache_dir() -> str:
    env = os.environ.get("LIQCORE_CACHE_DIR") or os.environ.get("LIQCORE_CACHE")
    if env:
        return os.path.abspath(os.path.expanduser(env))
    import platformdirs

    return platformdirs.user_cache_dir("liqcore", appauthor=False)


def cache_listing(path: str | None) -> dict:
    """``relative path -> (size, mtime_ns)`` of every file under ``path`` ({} when it does not exist)."""
    out = {}
    if path and os.path.isdir(path):
        for root, _dirs, files in os.walk(path):
            for f in files:
                full = os.path.join(root, f)
                try:
                    st = os.stat(full)
                except OSError:
                    continue
                out[os.path.relpath(full, path)] = (st.st_size, st.st_mtime_ns)
    return out


def users_cache_changes() -> list[str]:
    """What the session changed in the user's own cache directory (file names), [] when nothing."""
    now = cache_listing(USER_CACHE)
    return sorted(k for k in set(now) | set(USER_CACHE_BEFORE) if now.get(k) != USER_CACHE_BEFORE.get(k))


#: the lines of nanobind's shutdown leak report
_NANOBIND_LINES = (r"^nanobind: ", r"^ - leaked (instance|type|function)", r"^ - \.\.\. skipped remainder",
                   r"^See https://nanobind\.readthedocs\.io/")


def _quiet_nanobind_shutdown() -> None:
    """Route fd 2 through ``grep -v`` (a child that outlives nothing: it ends when this process
    closes its stderr at exit) so nanobind's leak report is dropped and every other line passes."""
    if "_duckdb" not in sys.modules or sys.platform == "win32":
        return
    grep = shutil.which("grep")
    if grep is None:
        return
    args = [grep, "-Ev", "--line-buffered", "|".join(f"({p})" for p in _NANOBIND_LINES)]
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        err = os.dup(2)
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=err, stderr=subprocess.DEVNULL,
                                close_fds=True, start_new_session=True)
    except OSError:
        return
    os.close(err)
    os.dup2(proc.stdin.fileno(), 2)
    proc.stdin.close()
    # the filter ends on its own when this process exits (end of its input): no wait, and no
    # "subprocess still running" warning at shutdown
    proc.returncode = 0


def pytest_configure(config) -> None:
    isolate_environment()


def pytest_unconfigure(config) -> None:
    if SESSION_CACHE is not None:
        shutil.rmtree(SESSION_CACHE, ignore_errors=True)
    # at exit, once pytest has given stderr back (its capture restores fd 2 after this hook)
    import atexit

    atexit.register(_quiet_nanobind_shutdown)

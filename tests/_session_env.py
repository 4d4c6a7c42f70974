"""What every test session gets, whatever the environment it was started from (imported by
``conftest.py``; also usable alone as a pytest plugin: ``-p _session_env``).

* :func:`isolate_environment`: no ``LIQCORE_*`` variable, no venue API key of the user's shell and no venue
  plugin the user installed (``LIQCORE_VENUE_PLUGINS=off``) reaches a test, and the synthetic-market cache is
  a fresh directory of this session (removed at the end), so a cache, a plugin or a variable the README
  suggests setting never changes a result.
  ``LIQCORE_REAL_DATA`` (where the third-party recordings are) is read first and kept aside: it only
  decides whether the real-data tests run.  Under pytest-xdist the workers share the session's
  cache directory (the controller's, handed to its own worker processes only): a market one worker
  builds, every other worker and every command a test starts loads (cache files are written
  atomically, so two workers building the same market at once both end with a whole file).
* the user's cache is out of the session's reach: ``XDG_CACHE_HOME`` is a directory of the session's own
  too (:data:`CACHE_HOME`: links to the user's cache home's other entries, pip's, Numba's ..., so only
  liqcore's is new), so a process of the suite that lost the session's cache variable falls back there
  (platformdirs' user cache on Linux and the BSDs), never into the user's cache, which a liqcore of the
  user's in another shell may be using meanwhile.
* :func:`users_cache_changes`: what the session's processes wrote outside its cache (the
  ``users_cache_untouched`` session fixture of ``conftest.py`` fails the session when anything): every
  file under ``CACHE_HOME/liqcore``, a directory no other process knows, so each one is the suite's own
  write; where platformdirs ignores ``XDG_CACHE_HOME`` (macOS, Windows) the user's cache itself, and there
  only the files the session also wrote into its own cache (a read, a trim, another market of the user's
  are not the tests'; the user building the same market meanwhile cannot be told apart there).
* :func:`pytest_unconfigure`: after pytest's summary, the interpreter's shutdown report of
  nanobind-based extensions (duckdb's "nanobind: leaked N instances/types/functions", about 40
  lines, printed after Python has finished: nothing a test can fix or act on) is filtered out of
  stderr; every other line still reaches it.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile

#: environment variables of the venues' API keys (never read by a test from the user's shell)
_KEY_VARS = tuple(f"{v}_API_{k}" for v in ("BYBIT", "BINANCE", "OKX", "GATE")
                  for k in ("KEY", "SECRET", "PASSPHRASE")) \
    + ("OPENAI_API_KEY",)  # (the judge's key, read when LIQCORE_JUDGE_API_KEY is not set)

#: set by :func:`isolate_environment`: (the user's LIQCORE_REAL_DATA or None, this session's cache directory)
USER_REAL_DATA: str | None = None
SESSION_CACHE: str | None = None
#: the session's own ``XDG_CACHE_HOME`` (see the module docstring) and whether liqcore's default cache
#: directory, with no cache variable, is under it on this platform (then it alone is watched)
CACHE_HOME: str | None = None
CACHE_HOME_COVERS = False


#: how the session's process hands its findings to its pytest-xdist workers (JSON: its pid, the user's
#: LIQCORE_REAL_DATA, the user's cache directory, the session cache, its XDG_CACHE_HOME); a worker takes them
#: only from its parent (a pytest started by a test inside a worker is a session of its own)
_HANDOFF = "_LIQCORE_TEST_SESSION"
#: whether this process made SESSION_CACHE (and removes it at the end)
_OWNS_CACHE = False


def _from_controller() -> dict | None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return None
    try:
        got = json.loads(os.environ.get(_HANDOFF) or "null")
    except ValueError:
        return None
    if not isinstance(got, dict) or got.get("pid") != os.getppid() or not os.path.isdir(got.get("cache") or "") \
            or not os.path.isdir(got.get("cache_home") or ""):
        return None
    return got


def isolate_environment() -> None:
    global USER_REAL_DATA, SESSION_CACHE, _OWNS_CACHE, CACHE_HOME, CACHE_HOME_COVERS
    if SESSION_CACHE is not None:
        return
    global USER_CACHE, USER_CACHE_BEFORE
    handed = _from_controller()
    if handed is not None:  # an xdist worker: the controller already read the user's shell
        USER_REAL_DATA, USER_CACHE, SESSION_CACHE = handed["real_data"], handed["user_cache"], handed["cache"]
        CACHE_HOME = handed["cache_home"]
    else:
        USER_REAL_DATA = os.environ.get("LIQCORE_REAL_DATA") or None
        USER_CACHE = _users_cache_dir()
    USER_CACHE_BEFORE = cache_listing(USER_CACHE)
    for k in [k for k in os.environ if k.startswith("LIQCORE_") or k in _KEY_VARS]:
        del os.environ[k]
    if SESSION_CACHE is None:
        SESSION_CACHE = tempfile.mkdtemp(prefix="liqcore-test-cache-")
        CACHE_HOME = _stand_in_cache_home()
        _OWNS_CACHE = True
        os.environ[_HANDOFF] = json.dumps({"pid": os.getpid(), "real_data": USER_REAL_DATA,
                                           "user_cache": USER_CACHE, "cache": SESSION_CACHE,
                                           "cache_home": CACHE_HOME})
    os.environ["XDG_CACHE_HOME"] = CACHE_HOME
    CACHE_HOME_COVERS = _inside(_users_cache_dir(), CACHE_HOME)  # (no LIQCORE_* variable now)
    os.environ["LIQCORE_CACHE_DIR"] = SESSION_CACHE
    # the user's venue plugins are not the suite's (a test of plugins hands its own entry points to the registry)
    os.environ["LIQCORE_VENUE_PLUGINS"] = "off"


def _stand_in_cache_home() -> str:
    """A new directory for ``XDG_CACHE_HOME`` holding a link to every entry of the user's cache home but
    liqcore's (pip's, Numba's, matplotlib's ... caches stay the user's, as without the session; liqcore's alone
    is out of reach)."""
    import platformdirs

    home = tempfile.mkdtemp(prefix="liqcore-test-cache-home-")
    user = platformdirs.user_cache_dir()  # (the user's XDG_CACHE_HOME, or ~/.cache: not yet replaced)
    try:
        entries = [e for e in os.scandir(user) if e.name != "liqcore"]
    except OSError:
        entries = []
    for e in entries:
        try:
            os.symlink(e.path, os.path.join(home, e.name))
        except OSError:
            pass
    return home


def _inside(path: str, folder: str) -> bool:
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return os.path.commonpath([path, folder]) == folder


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
    """``relative path -> (size, mtime_ns, inode)`` of every file under ``path`` ({} when it does not exist)."""
    out = {}
    if path and os.path.isdir(path):
        for root, _dirs, files in os.walk(path):
            for f in files:
                full = os.path.join(root, f)
                try:
                    st = os.stat(full)
                except OSError:
                    continue
                out[os.path.relpath(full, path)] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return out


def users_cache_changes() -> list[str]:
    """What the session's processes wrote outside the session's cache, [] when nothing; each entry says what was
    seen.  Where the session's ``XDG_CACHE_HOME`` holds liqcore's default cache (Linux, the BSDs): every file
    under ``CACHE_HOME/liqcore`` (only the suite's processes know that directory: a test's child that lost the
    session's cache variable writes there).  Elsewhere, :func:`_users_cache_written`."""
    from datetime import datetime, timezone

    if not CACHE_HOME_COVERS:
        return _users_cache_written()
    standin = os.path.join(CACHE_HOME, "liqcore")
    out = []
    for name, (size, mtime, _ino) in sorted(cache_listing(standin).items()):
        when = datetime.fromtimestamp(mtime / 1e9, tz=timezone.utc).strftime("%H:%M:%S UTC")
        out.append(f"{name} (written by a process of this session into {standin}, {size:,} bytes, "
                   f"modified {when})")
    return out


def _users_cache_written() -> list[str]:
    """What the session wrote into the user's own cache directory, [] when nothing: the files there that are
    new since the session started, or written anew (another file under the name: another inode or size), AND
    that this session wrote into its own cache too (the markets it built, the judge's answers): a test's
    child that lost the session's cache variable writes exactly those.  Anything else the user's cache saw
    meanwhile is not the tests': a liqcore of the user's in another shell reading a market (its last-use
    time touched), trimming, or building a market this session never built.  Each entry says what was seen."""
    from datetime import datetime, timezone

    now = cache_listing(USER_CACHE)
    ours = set(cache_listing(SESSION_CACHE))
    out = []
    for name in sorted(set(now) & ours):
        size, mtime, ino = now[name]
        before = USER_CACHE_BEFORE.get(name)
        if before is not None and before[0] == size and before[2] == ino:
            continue  # the same file, at most its last-use time touched (a read)
        when = datetime.fromtimestamp(mtime / 1e9, tz=timezone.utc).strftime("%H:%M:%S UTC")
        what = "new" if before is None else "written anew"
        out.append(f"{name} ({what}, {size:,} bytes, modified {when})")
    return out


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
    if SESSION_CACHE is not None and _OWNS_CACHE:
        shutil.rmtree(SESSION_CACHE, ignore_errors=True)
        shutil.rmtree(CACHE_HOME, ignore_errors=True)
    # at exit, once pytest has given stderr back (its capture restores fd 2 after this hook)
    import atexit

    atexit.register(_quiet_nanobind_shutdown)


def child_env(keep_cache: bool = True, drop: tuple = ()) -> dict:
    """The environment for a child process of a test that starts from none of liqcore's settings: ``os.environ``
    without its ``LIQCORE_*`` variables (and the names in ``drop``), but with the session's
    ``LIQCORE_VENUE_PLUGINS=off`` (a plugin the user installed stays out of the child too) and, with
    ``keep_cache``, the session's cache directory (``LIQCORE_CACHE_DIR``)."""
    kept = {"LIQCORE_VENUE_PLUGINS"} | ({"LIQCORE_CACHE_DIR"} if keep_cache else set())
    return {k: v for k, v in os.environ.items()
            if (not k.startswith("LIQCORE_") or k in kept) and k not in drop}

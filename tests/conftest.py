"""Shared test setup: the repo root on sys.path (for ``pysrc``), an environment of the session's own
(no ``LIQCORE_*`` variable of the user's shell, a fresh cache directory: see ``_session_env``),
hypothesis profiles, real-data paths.

Layout: one folder per package under test (``tests/<folder>/__init__.py`` says what it holds), so module
names are ``tests.<folder>.test_x`` and equal basenames in two folders do not collide. A new test file goes
into the folder of the liqcore package it mainly exercises: ``io`` (io, dataset, data, validate), ``venues``,
``kernels`` (a compiled kernel against its pysrc twin), ``backtest`` (also cache), ``strategies``,
``research``, ``live``, ``testing`` (the fake exchanges), ``config`` (config, secrets), ``cli`` (behaviour
common to every command: cli, commands, interrupt, atomic outputs), ``project`` (the repository as a whole:
layering, import, README, this session). Helper modules (``_live_helpers``, ``_live_strategy``, ``simdata``,
``streamcheck``, ``_session_env``, ``_procs``, ``_agreement``, ``depthmarket``, ``depth_episodes``, ``_rekt_venue``) and ``data/`` stay here, on sys.path, importable by name from
every folder (``_netguard/``: the loopback guard, below); a fixture only one folder uses goes into that folder's ``conftest.py``, one all use stays here."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
if os.environ.get("TEST_INSTALLED_LIQCORE"):
    # the installed liqcore under test (CI's lean environment: the wheel), the checkout only for pysrc/
    if str(ROOT) not in sys.path:
        sys.path.append(str(ROOT))
elif str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
# the tests' own helper modules (``_live_helpers``, ``_live_strategy``, ...) import by name from every folder
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))

import _session_env  # noqa: E402
from _session_env import pytest_unconfigure  # noqa: E402,F401  (the hook: cache removed, shutdown noise filtered)

_session_env.isolate_environment()  # before any test module imports liqcore

# the tests never leave 127.0.0.1 (tests/_netguard/loopback_only.py): this process, and every Python process a
# test starts with the session's environment (its PYTHONPATH starts with the guard's folder, whose
# sitecustomize installs it); an attempt noted during a test fails that test (loopback_only_guard below)
_NETGUARD = ROOT / "tests" / "_netguard"
if str(_NETGUARD) not in sys.path:
    sys.path.insert(0, str(_NETGUARD))
import loopback_only  # noqa: E402

loopback_only.install()
if str(_NETGUARD) not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
    os.environ["PYTHONPATH"] = os.pathsep.join([str(_NETGUARD), *filter(None, [os.environ.get("PYTHONPATH")])])
os.environ[loopback_only.ENV] = str(Path(_session_env.SESSION_CACHE) / f"loopback-attempts-{os.getpid()}.log")


def _noted_attempts() -> list[str]:
    try:
        with open(os.environ[loopback_only.ENV], encoding="utf-8") as fh:
            return fh.read().splitlines()
    except OSError:
        return []


@pytest.fixture(autouse=True)
def loopback_only_guard():
    """Fails the test during which this process, or a process it started, tried to reach past 127.0.0.1
    (resolve a name other than localhost, or connect to an address that is not loopback)."""
    before = (len(loopback_only.VIOLATIONS), len(_noted_attempts()))
    yield
    mine = loopback_only.VIOLATIONS[before[0]:]
    children = [a for a in _noted_attempts()[before[1]:] if f"pid {os.getpid()})" not in a]
    if mine or children:
        pytest.fail("a test never leaves 127.0.0.1, but this one tried to reach " + "; ".join(mine + children),
                    pytrace=False)


@pytest.fixture(autouse=True)
def ctrl_c_as_found():
    """Every test starts with Ctrl-C (SIGINT) raising KeyboardInterrupt in this process, and fails if it leaves
    it ignored: an ignored SIGINT is inherited by every process a later test starts (exec keeps it), whose
    Ctrl-C then does nothing -- a test of a child's Ctrl-C failing for another test's leftover."""
    import signal

    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        pytest.fail("the test left Ctrl-C (SIGINT) ignored in the test process", pytrace=False)


@pytest.hookimpl(optionalhook=True)  # (a session run with -p no:xdist has no such hook)
def pytest_xdist_auto_num_workers(config):
    """``-n auto`` (the default, in ``pyproject.toml``): one worker per core plus one.  About a fifth of
    the suite's wall time is spent waiting (on a command a test started, a server, a timer, a browser):
    the extra worker keeps the cores busy meanwhile (on 2 cores: 6.6 min instead of 8.0).
    ``PYTEST_XDIST_AUTO_NUM_WORKERS`` (pytest-xdist's own variable) still decides when set."""
    env = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS")
    if env and env.strip().isdigit():
        return int(env)
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, cores) + 1


def _reused_sampled_from() -> None:
    """``st.sampled_from`` of the same elements returns the same strategy object: hypothesis caches the strategies
    its other builders make (``integers``, ``lists``, ...) but not this one, and a new strategy is validated anew at
    its first draw (most of the CPU of the property tests whose generators call ``st.sampled_from([...])`` for each
    row they draw).  Elements keyed by type and value (a float by its bits: 1, 1.0 and True stay apart, and -0.0
    and NaN are themselves); a sequence of other elements (or an enum class) is passed through as it is."""
    import functools

    from hypothesis import strategies as st
    from hypothesis.internal.floats import float_to_int

    made = st.sampled_from
    if getattr(made, "_liqcore_reused", False):
        return
    kept: dict = {}
    plain = (int, float, str, bytes, bool, type(None))

    @functools.wraps(made)
    def sampled_from(elements):
        if isinstance(elements, (list, tuple)) and len(elements) <= 64 and all(type(v) in plain for v in elements):
            key = (type(elements), tuple((type(v), float_to_int(v) if type(v) is float else v) for v in elements))
            hit = kept.get(key)
            if hit is None:
                hit = kept[key] = made(elements)
            return hit
        return made(elements)

    sampled_from._liqcore_reused = True
    st.sampled_from = sampled_from


_reused_sampled_from()

settings.register_profile(
    "default",
    deadline=None,
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("thorough", parent=settings.get_profile("default"))
# CI: the same examples on every run (a red CI always reproduces); exploration happens locally
settings.register_profile("ci", parent=settings.get_profile("default"), derandomize=True, database=None)
# CI's second pass of the property tests, against the bounds-checked debug build (.ci/run): derandomized as "ci", a
# quarter of its examples (the full count ran against the release build earlier in the same run)
settings.register_profile("ci-debug", parent=settings.get_profile("ci"))
HYPOTHESIS_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default")
settings.load_profile(HYPOTHESIS_PROFILE)
#: examples each property test runs, relative to the number it states (its ``@settings(max_examples=N)``,
#: else the profile's 100), per profile: a local run ("default") a quarter of them, a fresh random draw
#: on every run; CI ("ci") every one of them, the same ones on every run; CI's debug-build pass ("ci-debug") a
#: quarter of CI's, the same ones on every run; "thorough" twenty times as many
EXAMPLES_SCALE = {"default": 0.25, "ci": 1.0, "ci-debug": 0.25, "thorough": 20.0}

#: third-party recordings of Binance liquidations and large trades (kept out of the package):
#: $LIQCORE_REAL_DATA, else the ``shared/data/real`` folder beside the checkout when there is one
REAL_DATA = Path(_session_env.USER_REAL_DATA) if _session_env.USER_REAL_DATA else ROOT.parent / "shared" / "data" / "real"
#: what the real-data tests read, one folder per recording session
REAL_DATA_FOLDERS = ("binance-forceorder-2024-08", "binance-forceorder-2025-01", "binance-forceorder-2025-12")
REAL_DATA_HELP = (
    "set LIQCORE_REAL_DATA to a folder of Binance USD-M forceOrder recordings, with the sub-folders "
    "binance-forceorder-2024-08, binance-forceorder-2025-01 and binance-forceorder-2025-12, each holding the "
    "recorder's binance.csv (!forceOrder@arr rows) and binance_trades.csv (aggTrade rows) as published at the "
    "root of github.com/BandsThoBaby/Data_Streams_Project (commit 1c6cf6c), "
    "github.com/PauliusMinialga/data_streams_for_crypto (commit 7843580) and "
    "github.com/riftfern/data-streams (commit ce9e4d3) respectively")


#: the start of every real-data skip's reason (short: each skipped test repeats it; how to get the recordings,
#: REAL_DATA_HELP, is said once at the end of the run: pytest_terminal_summary)
REAL_DATA_SKIP = "real Binance recordings"


def real_data_missing(path: Path = REAL_DATA) -> str | None:
    """Why the real-data tests cannot run, in one short line (None when they can)."""
    if not path.is_dir():
        return f"{REAL_DATA_SKIP} not found (set LIQCORE_REAL_DATA; how: the end of the run)"
    missing = [f for f in REAL_DATA_FOLDERS if not (path / f / "binance.csv").is_file()]
    if missing:
        return f"{REAL_DATA_SKIP} incomplete in {path} (no {', '.join(missing)}; how: the end of the run)"
    return None


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Once, after the run's summary: how to get the real recordings, when a test skipped for want of them."""
    skipped = terminalreporter.stats.get("skipped", [])
    if any(REAL_DATA_SKIP in str(getattr(r, "longrepr", "")) for r in skipped):
        terminalreporter.write_line(f"{REAL_DATA_SKIP}: " + REAL_DATA_HELP)


@pytest.fixture(scope="session", autouse=True)
def users_cache_untouched():
    """At the end of the session, no process of the session wrote liqcore's files outside the session's cache
    (:func:`_session_env.users_cache_changes`: a directory of the session's own stands in for the user's cache,
    so a liqcore of the user's in another shell meanwhile is never counted)."""
    yield
    changed = _session_env.users_cache_changes()
    if _session_env.CACHE_HOME_COVERS:
        assert not changed, (f"a process of this session wrote liqcore's cache outside the session's cache: "
                             f"{changed[:10]}. A test's subprocess without the session's LIQCORE_CACHE_DIR falls "
                             "back to the default cache (here the session's stand-in, not yours)")
    assert not changed, (f"the user's cache {_session_env.USER_CACHE} holds files this session built in its own "
                         f"cache, new or written anew there since it started: {changed[:10]}. A test's subprocess "
                         "without the session's LIQCORE_CACHE_DIR writes there; so would a liqcore of yours in "
                         "another shell building the same market meanwhile (reads, trims and other markets of "
                         "yours are not counted)")


@pytest.fixture(scope="session")
def real_data() -> Path:
    why = real_data_missing()
    if why:
        pytest.skip(why)
    return REAL_DATA


@pytest.fixture(scope="session")
def default_market():
    """The default synthetic market of ``liqcore backtest --synthetic`` (30 days x BTCUSDT, ETHUSDT,
    SOLUSDT, XRPUSDT, DOGEUSDT, seed 7, no top of book: ``liqcore compare --synthetic`` replays the
    same events once it has set its quotes aside), generated once per session into the session's
    cache directory."""
    from liqcore.synthetic.market import synthetic_market

    return synthetic_market()


# ----------------------------------------------------------------------------------------- scheduling
# ``-n auto --dist loadfile`` (pyproject's addopts): a module's tests run on one worker, in order, with their
# module-scoped fixtures. The modules are handed out in collection order (``--no-loadscope-reorder``; xdist
# would otherwise order them by their number of tests), and the collection puts the longest modules first,
# so that no worker starts a long module while the other has nothing left to run.

#: the modules that took longest in a full run on a 2-core machine (README blocks, studies, S3, sweeps), first
LONGEST_FIRST = (
    "tests/project/test_readme.py",
    "tests/live/test_live_strategies.py",
    "tests/research/test_studies.py",
    "tests/io/test_storage.py",
    "tests/backtest/test_sweeps_scale.py",
    "tests/backtest/test_cluster_s3.py",
    "tests/cli/test_interrupt.py",
    "tests/kernels/test_fill_order.py",
    "tests/research/test_study_ic_regimes.py",
    "tests/backtest/test_compare.py",
    "tests/embedding/test_embedding.py",  # about a minute with CI's lean environment, minutes when it builds one
    "tests/backtest/test_cache.py",
    "tests/cli/test_cli_judge.py",
    "tests/backtest/test_latency.py",
    "tests/cli/test_throttle_notes.py",
)


def _scale_examples(items) -> None:
    scale = EXAMPLES_SCALE.get(HYPOTHESIS_PROFILE, 1.0)
    done = set()
    for item in items:
        fn = getattr(getattr(item, "obj", None), "__func__", getattr(item, "obj", None))
        if getattr(fn, "hypothesis", None) is None or id(fn) in done:  # (a parametrized test: once)
            continue
        if scale < 1.0 and item.get_closest_marker("all_examples"):  # a stated bar: never fewer
            continue
        done.add(id(fn))
        own = fn._hypothesis_internal_use_settings
        fn._hypothesis_internal_use_settings = settings(own, max_examples=max(1, round(own.max_examples * scale)))


#: the long tier (``-m slow``): the tests listed in tests/long_tier.txt (measured at 5 s or more; a test named
#: without its parameters: every one of them) and every test
#: using one of these fixtures (each built once per module at a cost of half a minute or more: the lean wheel's
#: virtual environment, the eight strategies' compare run the README quotes, the documentation site's build)
LONG_FIXTURES = frozenset({"lean_python", "compare_printed", "site"})


def _long_tier() -> frozenset:
    lines = (ROOT / "tests" / "long_tier.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(ln.split("#", 1)[0].strip() for ln in lines if ln.split("#", 1)[0].strip())


def _mark_long_tier(items) -> None:
    """Marks the long tier's tests ``slow``: the README's test command (``-m "not slow"`` in pyproject.toml's
    addopts) leaves them out, ``python -m pytest -m slow`` runs them, CI runs both."""
    long = _long_tier()
    for item in items:
        if item.nodeid in long or item.nodeid.split("[", 1)[0] in long \
                or LONG_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(tryfirst=True)  # (before the -m selection, which reads the marks added here)
def pytest_collection_modifyitems(config, items):
    _mark_long_tier(items)
    _scale_examples(items)
    if not hasattr(config, "workerinput"):  # not an xdist worker: the order the files were named in
        return
    rank = {m: i for i, m in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda it: rank.get(it.nodeid.split("::")[0], len(rank)))  # stable: collection order otherwise


def pytest_addoption(parser):
    # (an option, not a LIQCORE_* variable: the session's environment drops those, see _session_env)
    parser.addoption("--chaos-seeds", type=int, default=0, metavar="N",
                     help="tests/live/test_chaos.py: run seeds 1..N per venue (default: its SEEDS and REGRESSIONS)")

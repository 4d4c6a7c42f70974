"""Every command the documentation site shows runs as written, and no example is one liqcore refuses.

Each ```bash (or ```sh) block of a page under docs/ runs with the README test's machinery
(tests/project/test_readme.py: ``set -euo pipefail``, ``liqcore`` is ``python -m liqcore`` of this
checkout), the blocks of one page in page order in one fresh empty directory: a page creates what it uses (the
bundled sample recording with ``python -m liqcore.data recordings/`` before its first use of ``recordings/``), and
a file a page shows as a block of its own (:data:`BLOCK_FILES`) is written from that block first.  Only the
commands of :data:`SKIP` and :data:`USER_FILES` are left out, each for the reason given.  Every
``liqcore download`` example of the README, the pages and ``liqcore download --help`` runs against an unreachable
base URL, where it must fail on the network, never on a refusal of its own dates or types; and against a local
mirror of its source's layout (tests/download/_archive_server.py, ``mirror``), where it must succeed and write what
it asked for.
"""
from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from liqcore.cli import build_parser
from liqcore.download.sources import parse_day as _parse_day
from tests.project.test_readme import _env, commands, script, skip_reason

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

#: commands not run (pattern on the command line -> why); keep this list short
SKIP = {
    r"^pip install\b": "installs the package: the tests run from an installed checkout",
    r"^liqcore record\b": "records a venue's public websocket: needs the network, runs until stopped",
    r"^liqcore run\b(?!.*--replay)": "trades on the venues' live data: needs the network, runs until stopped",
    r"^liqcore preflight\b": "asks the venue's REST for its trading rules (and the account): needs the network",
    r"(^|\s)([A-Z_]+=\S+\s+)?liqcore download\b": "fetches from the venues' archives: needs the network "
                                                  "(test_download_examples_fail_on_the_network_not_on_their_dates "
                                                  "runs each against an unreachable address, "
                                                  "test_download_examples_run_against_a_local_mirror_of_the_archive "
                                                  "against a local mirror of its archive)",
    r"s3://|gs://": "object storage: needs a bucket and the network",
    r"tcp://": "a Dask scheduler on another machine: needs a cluster",
    r"^minio server\b|^dask (scheduler|worker)\b|S3FileSystem\(\)": "the S3 store and Dask cluster of how-to/dask-s3.md's "
                                                            "recipe: servers each started in its own terminal",
    r"--judge openai\b": "asks a language model's endpoint: needs the network and its key",
}
#: commands that read a file of the reader's own which the page does not create yet (pending: the page should
#: create it, or use the bundled sample); each is listed so the list can only shrink
USER_FILES = {
    r"\bnew-day\.jsonl\.zst\b": "a further day of the reader's own recording",
    r"\brec/binance\.csv\b": "the reader's own Binance liquidation CSV",
    r"\breplay:answers\.jsonl\b": "the answers the skipped --judge openai run records",
    r"--plugin my_features\.py\b": "the reader's own feature module (reference/features.md, \"Your own features\")",
}

#: files a page shows as a block of their own rather than writing them with a command: page -> {file name: the
#: heading of the section whose first block of that language is the file} (written into the page's directory
#: before its commands run)
BLOCK_FILES = {
    "how-to/sweep.md": {"grid.toml": ("## The grid", "toml")},
}

#: pages that use the bundled sample recording (``recordings/``) without creating it first (page -> why); a page
#: runs in an empty directory, so each is listed so the list can only shrink
SAMPLE_NOT_CREATED: dict[str, str] = {}

#: pages whose every later block reads what their download writes: the same commands run on a local mirror of the
#: archive elsewhere (pending: the bash blocks run against that mirror here)
ON_A_MIRROR = {
    "how-to/real-backtest-from-free-data.md": "its commands read the COIN-M dataset its download writes: download -> "
                                              "events -> backtest -> research run on a local mirror of the archive "
                                              "in tests/download/test_coin_m.py",
}

_BLOCK = re.compile(r"^[ \t]*```(bash|sh)[ \t]*\n(.*?)^[ \t]*```[ \t]*$", re.M | re.S)


def pages() -> list[Path]:
    """Every page under docs/ held to the checks."""
    return sorted(DOCS.rglob("*.md"))


def joined(code: str) -> str:
    """The block with its backslash-continued lines joined into one line each."""
    return re.sub(r"\\\n[ \t]*", " ", code)


def page_blocks(page: Path) -> list[tuple[str, int]]:
    text = page.read_text(encoding="utf-8")
    return [(joined(m.group(2)), text.count("\n", 0, m.start()) + 1) for m in _BLOCK.finditer(text)]


def block_files(page: Path) -> dict[str, str]:
    """The files of :data:`BLOCK_FILES` the page shows (name -> the block's text)."""
    text = page.read_text(encoding="utf-8")
    out = {}
    for name, (heading, lang) in BLOCK_FILES.get(page.relative_to(DOCS).as_posix(), {}).items():
        section = text.split("\n" + heading + "\n", 1)[1]
        section = re.split(r"^## ", section, maxsplit=1, flags=re.M)[0]
        m = re.search(rf"^```{lang}[ \t]*\n(.*?)^```[ \t]*$", section, re.M | re.S)
        out[name] = m.group(1)
    return out


def _page_params():
    out = []
    for p in pages():
        blocks = page_blocks(p)
        if blocks:
            marks = [pytest.mark.slow, pytest.mark.timeout(2400)]  # a page's blocks run in one test
            if p.relative_to(DOCS).as_posix() in ON_A_MIRROR:
                marks.append(pytest.mark.skip(reason=ON_A_MIRROR[p.relative_to(DOCS).as_posix()]))
            out.append(pytest.param(p, id=p.relative_to(DOCS).as_posix(), marks=marks))
    return out


def test_pages_hold_blocks_and_the_skip_list_is_short():
    cmds = [c for p in pages() for code, _ in page_blocks(p) for c in commands(code)]
    assert len(cmds) >= 20, cmds
    for pattern in SKIP:  # no stale entry: each skips a command some page shows
        assert any(re.search(pattern, c) for c in cmds), pattern
    for pattern in USER_FILES:
        assert any(re.search(pattern, c) for c in cmds), pattern
    skipped = [c for c in cmds if skip_reason(c, {**SKIP, **USER_FILES})]
    assert len(skipped) <= len(cmds) // 3, skipped


def test_block_files_are_found_and_used():
    for rel, files in BLOCK_FILES.items():
        page = DOCS / rel
        shown = block_files(page)
        cmds = [c for code, _ in page_blocks(page) for c in commands(code)]
        for name in files:
            assert shown[name].strip(), (rel, name)
            assert any(re.search(rf"(^|\s){re.escape(name)}(\s|$)", c) for c in cmds), (rel, name)


_SAMPLE = "python -m liqcore.data recordings/"


def test_a_page_creates_the_sample_recording_before_it_uses_it():
    """The pages run in an empty directory, as a reader's fresh one: a command reading ``recordings/`` comes after
    the page's ``python -m liqcore.data recordings/`` (or the page is listed, with why)."""
    missing = []
    for p in pages():
        cmds = [c for code, _ in page_blocks(p) for c in commands(code)]
        first_use = next((i for i, c in enumerate(cmds) if "recordings/" in c and not c.startswith(_SAMPLE)), None)
        created = next((i for i, c in enumerate(cmds) if c.startswith(_SAMPLE)), None)
        rel = p.relative_to(DOCS).as_posix()
        if first_use is not None and (created is None or created > first_use) and rel not in SAMPLE_NOT_CREATED:
            missing.append(f"{rel}: {cmds[first_use]}")
    assert not missing, missing
    for rel in SAMPLE_NOT_CREATED:  # no stale entry
        cmds = [c for code, _ in page_blocks(DOCS / rel) for c in commands(code)]
        assert any("recordings/" in c and not c.startswith(_SAMPLE) for c in cmds), rel


def _run_group(argv: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    """``argv`` in its own process group; on the timeout the whole group is stopped (no command of a block
    outlives its test), then the timeout is raised."""
    proc = subprocess.Popen(argv, cwd=cwd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


@pytest.mark.parametrize("page", _page_params())
def test_every_bash_block_of_the_page_runs_as_written(page, tmp_path):
    for name, body in block_files(page).items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    for code, line in page_blocks(page):
        proc = _run_group(["bash", "-c", script(code, {**SKIP, **USER_FILES})], tmp_path, timeout=900)
        assert proc.returncode == 0, (f"{page.relative_to(ROOT)}:{line}: exit {proc.returncode}\n--- stderr (tail)\n"
                                      f"{proc.stderr[-4000:]}")


# --- liqcore download examples -------------------------------------------------------------------------------

_DOWNLOAD = re.compile(r"^[ \t]*(?:[A-Z_]+=\S+[ \t]+)?liqcore download [a-z].*$", re.M)


def download_examples() -> list[tuple[str, str]]:
    """``(where, command line)`` of every ``liqcore download`` example: README.md, the pages and the command's
    own help.  A line shown after a ``$`` prompt is a transcript (its output follows it, e.g. a refusal the
    page explains) and is not an example to run."""
    from liqcore.cli import build_parser

    sources = {"README.md": (ROOT / "README.md").read_text(encoding="utf-8")}
    sources.update({p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8") for p in pages()})
    sub = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    sources["liqcore download --help"] = sub.choices["download"].format_help()
    out = []
    for where, text in sources.items():
        for m in _DOWNLOAD.finditer(joined(text)):
            line = m.group(0).split("  #")[0].strip()
            if "..." in line.split("liqcore download", 1)[1] or "|" in line:
                continue  # a usage line (SOURCE|..., --symbols ...), not an example
            out.append((where, line))
    return out


def test_the_download_examples_are_found():
    where = {w for w, _ in download_examples()}
    assert "liqcore download --help" in where and "docs/how-to/get-data.md" in where
    assert len(download_examples()) >= 8


@pytest.mark.parametrize("where,cmd", download_examples(), ids=lambda x: x if len(x) < 40 else x[:60])
def test_download_examples_fail_on_the_network_not_on_their_dates(where, cmd, tmp_path):
    words = shlex.split(cmd)
    env = _env()
    while "=" in words[0]:
        k, _, _ = words.pop(0).partition("=")
        env[k] = "test-key-not-a-secret"
    assert words[:2] == ["liqcore", "download"], cmd
    argv = [sys.executable, "-m", "liqcore", *words[1:], "--base-url", "http://127.0.0.1:9", "--retries", "0",
            "--timeout", "2s", "--no-progress"]
    proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    err = proc.stderr + proc.stdout
    assert proc.returncode == 1, f"{where}: {cmd}\nexit {proc.returncode}: {err[-1500:]}"
    assert "Cannot connect" in err or "Connect call failed" in err, f"{where}: {cmd}\n{err[-1500:]}"


#: a fixed "today" for planning the examples (their days are all older): the test stays still
_TODAY = _parse_day("2026-01-01", "today")


@pytest.mark.parametrize("where,cmd", download_examples(), ids=lambda x: x if len(x) < 40 else x[:60])
def test_download_examples_run_against_a_local_mirror_of_the_archive(where, cmd, tmp_path):
    """Each example, as written, against a local HTTP server laid out as its source publishes (the paths of its
    URLs, the files' encodings, binance-vision's checksums, tardis's key): it exits 0 and what it writes holds
    the events of every symbol it asked for."""
    from liqcore.dataset import load_dataset
    from liqcore.download.sources import parse_day, plan
    from tests.download._archive_server import ArchiveServer, mirror

    words = shlex.split(cmd)
    env, key = _env(), None
    while "=" in words[0]:
        k, _, _ = words.pop(0).partition("=")
        env[k] = key = "test-key-not-a-secret"
    args = build_parser(only="download").parse_args(words[1:])
    symbols = args.symbols.split(",")
    units = plan(args.source, symbols, (args.types or "").split(","), parse_day(args.start, "from"),
                 parse_day(args.end, "to"), exchange=args.exchange, monthly=args.monthly, today=_TODAY,
                 market=getattr(args, "market", None))
    with ArchiveServer(mirror(units), key=key) as srv:
        argv = [sys.executable, "-m", "liqcore", *words[1:], "--base-url", srv.url, "--no-progress"]
        proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        fetched = {r[0] for r in srv.log if r[2] == 200}
    assert proc.returncode == 0, f"{where}: {cmd}\nexit {proc.returncode}: {(proc.stderr + proc.stdout)[-1500:]}"
    assert {u.url.split("://", 1)[1].split("/", 1)[1] for u in units} <= {p.lstrip("/") for p in fetched}
    if args.dataset:
        res = load_dataset(tmp_path / args.dataset)
        names = {res.registry.symbol(int(i)).upper().replace("-", "").replace("SWAP", "")
                 for i in set(res.events["symbol_id"].tolist())}
        assert len(res.events) > 0 and {s.upper().replace("-", "").replace("SWAP", "") for s in symbols} <= names
    else:
        assert sorted(p.name for p in (tmp_path / args.out).rglob("*") if p.is_file()) == sorted(u.name for u in units)

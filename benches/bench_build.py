"""A build from source, as a new user meets it: a fresh clone of a commit, then

* ``wheel``: ``pip wheel . --no-deps --no-build-isolation`` (the Cython build alone: cythonize, the C compile
  on every core, the link);
* ``venv``: ``pip install .`` into a new virtual environment (what the bar means: pip's isolated build
  environment, the build, the dependencies from pip's cache or the package index);

its wall time and its CPU (user + system of every child process), against the same steps on a baseline commit
(``--base``, e.g. the tree before a build change), alternated round by round in the same run.

    python benches/bench_build.py --base 38b7087d --rounds 2
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def _timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, the command and every process it waited for)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode:
        tail = err.strip().splitlines()[-1:] or ["(no message)"]
        raise SystemExit(f"bench_build: {' '.join(cmd[:4])} ... failed (exit {proc.returncode}): {tail[0]}")
    return wall, ru.ru_utime + ru.ru_stime


def _one(ref: str, what: list[str], work: Path) -> dict[str, tuple[float, float]]:
    src = work / "src"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(src)], check=True)
    subprocess.run(["git", "checkout", "-q", ref], cwd=src, check=True)
    out = {}
    if "wheel" in what:
        out["wheel"] = _timed([sys.executable, "-m", "pip", "wheel", "-q", ".", "--no-deps", "--no-build-isolation",
                               "-w", str(work / "w")], src)
        shutil.rmtree(src / "build", ignore_errors=True)
    if "venv" in what:
        subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True)
        py = work / "venv" / "bin" / "python"
        subprocess.run([str(py), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out["venv"] = _timed([str(py), "-m", "pip", "install", "-q", "."], src)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default="HEAD", help="the commit measured (default HEAD; committed work only)")
    ap.add_argument("--base", help="a baseline commit, measured alternately in the same run")
    ap.add_argument("--rounds", type=int, default=1, help="rounds (each: the commit, then the baseline)")
    ap.add_argument("--what", default="wheel,venv", help="steps: wheel, venv (default both)")
    a = ap.parse_args(argv)
    what = [w for w in a.what.split(",") if w]
    if not set(what) <= {"wheel", "venv"}:
        raise SystemExit("bench_build: --what takes wheel and/or venv")
    trees = [("now", a.ref)] + ([("base", a.base)] if a.base else [])
    print(f"bench_build: {', '.join(f'{n} = {r}' for n, r in trees)}; {os.cpu_count()} CPUs; "
          f"load at start {_load()} (1 / 5 / 15 min)", flush=True)
    got: dict[tuple[str, str], list[tuple[float, float]]] = {}
    try:
        for rnd in range(1, a.rounds + 1):
            for name, ref in trees:
                work = Path(tempfile.mkdtemp(prefix="bench-build-"))
                try:
                    for step, (wall, cpu) in _one(ref, what, work).items():
                        got.setdefault((name, step), []).append((wall, cpu))
                        print(f"round {rnd}: {name} {step}: {wall:.1f} s wall, {cpu:.1f} s CPU; load {_load()}",
                              flush=True)
                finally:
                    shutil.rmtree(work, ignore_errors=True)
    except KeyboardInterrupt:
        print("bench_build: interrupted", file=sys.stderr)
        return 130
    for step in what:
        now = got.get(("now", step), [])
        if not now:
            continue
        wall = statistics.median(w for w, _ in now)
        cpu = statistics.median(c for _, c in now)
        line = f"median of {len(now)} round(s), {step}: {wall:.1f} s wall, {cpu:.1f} s CPU"
        base = got.get(("base", step), [])
        if base:
            bw = statistics.median(w for w, _ in base)
            bc = statistics.median(c for _, c in base)
            line += f"; base {bw:.1f} s wall, {bc:.1f} s CPU; now / base {wall / bw:.2f}x wall, {cpu / bc:.2f}x CPU"
        print(line)
    print(f"load at end {_load()} (1 / 5 / 15 min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

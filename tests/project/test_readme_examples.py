"""The README's examples show what they promise: a value where a value is shown."""
from __future__ import annotations

import shlex
from pathlib import Path

import orjson

from liqcore.cli import main
from liqcore.data import copy_sample

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_line(prefix: str) -> list[str]:
    lines = [ln.strip() for ln in README.read_text(encoding="utf-8").splitlines() if ln.strip().startswith(prefix)]
    assert len(lines) == 1, f"README: expected one line starting {prefix!r}, found {len(lines)}"
    return shlex.split(lines[0].split("  #")[0])


def test_readme_features_at_example_shows_every_value(tmp_path, monkeypatch, capsys):
    argv = _readme_line("liqcore features recordings/ --at ")
    monkeypatch.chdir(tmp_path)
    copy_sample(tmp_path / "recordings")
    assert main(argv[1:]) == 0
    rows = [orjson.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    assert rows
    names = argv[argv.index("--names") + 1].split(",")
    for r in rows:
        assert set(r["values"]) == set(names)
        assert all(v is not None for v in r["values"].values()), r

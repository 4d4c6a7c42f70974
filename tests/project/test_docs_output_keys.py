"""The keys a command's machine output holds are each named where the documentation describes that output: every
key of a backtest's summary on reference/backtest-outputs.md ("Results"), every key of ``liqcore dataset upgrade
--json`` in reference/commands.md's ``liqcore dataset`` section.  A key added to an output and not to its page
(``days``, ``symbols``, ``fill_model``; ``stale_removed``, ``gone``, ``forgotten``, ``dataset``, ``dry_run`` were)
fails here, by name."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def _section(page: str, heading: str) -> str:
    text = (DOCS / page).read_text(encoding="utf-8")
    assert f"\n{heading}\n" in text, f"{page}: no section {heading!r}"
    return re.split(r"^## ", text.split(f"\n{heading}\n", 1)[1], maxsplit=1, flags=re.M)[0]


def _unnamed(keys, text: str) -> list[str]:
    return [k for k in keys if not re.search(rf"(?<![\w-]){re.escape(k)}(?![\w-])", text)]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    d = tmp_path_factory.mktemp("sample")
    subprocess.run([sys.executable, "-m", "liqcore.data", str(d / "recordings")], check=True, capture_output=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    return d


def test_every_summary_key_of_a_backtest_is_on_the_outputs_page(sample):
    from liqcore import backtest

    summary = backtest([str(sample / "recordings")]).summary()
    missing = _unnamed(summary, _section("reference/backtest-outputs.md", "## Results"))
    assert missing == [], f"summary keys reference/backtest-outputs.md does not name: {missing}"


def test_every_key_of_dataset_upgrade_json_is_in_the_commands_reference(sample):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = [sys.executable, "-m", "liqcore"]
    subprocess.run(run + ["convert", "recordings/", "--dataset", "ds/"], cwd=sample, check=True, capture_output=True,
                   env=env)
    out = subprocess.run(run + ["dataset", "upgrade", "ds/", "--dry-run", "--json"], cwd=sample, check=True,
                         capture_output=True, text=True, env=env).stdout
    keys = json.loads(out.strip().splitlines()[-1])
    missing = _unnamed(keys, _section("reference/commands.md", "## `liqcore dataset`"))
    assert missing == [], f"dataset upgrade --json keys reference/commands.md does not name: {missing}"

"""The ```python examples of the pages that are meant to run as written do: each block listed in
:data:`BLOCKS` runs in a fresh interpreter, from an empty directory, with this checkout on the path (an example
naming a variable it never defines -- ``sid``, ``times_ns`` -- fails here with its NameError)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

#: (page, the heading of the section whose ```python blocks run as written)
BLOCKS = [
    ("reference/features.md", "## Historical values: `historical` and `liqcore features --at`"),
]


def section_blocks(page: str, heading: str) -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    assert f"\n{heading}\n" in text, f"{page}: no section {heading!r}"
    body = re.split(r"^## ", text.split(f"\n{heading}\n", 1)[1], maxsplit=1, flags=re.M)[0]
    return re.findall(r"^```python[ \t]*\n(.*?)^```[ \t]*$", body, re.M | re.S)


@pytest.mark.parametrize("page,heading", BLOCKS, ids=[p for p, _ in BLOCKS])
def test_the_sections_python_blocks_run_as_written(page, heading, tmp_path):
    blocks = section_blocks(page, heading)
    assert blocks, f"{page}: {heading!r} holds no python block"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for code in blocks:
        proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, f"{page} ({heading}): exit {proc.returncode}\n{proc.stderr[-3000:]}"

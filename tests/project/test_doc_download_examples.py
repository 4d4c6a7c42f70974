"""Every ``liqcore download`` example of the README and docs/ asks for days liqcore accepts in full: parsed by the
command's own parser and planned (:func:`liqcore.download.sources.plan`, no network), none is refused or cut to
the published span (issue 70, item 9: the first ``binance-vision`` example asked for ``bookTicker`` in 2024-08,
which liqcore refuses: the archive's last day is 2024-03-31).  A transcript (``$ liqcore download ...`` followed
by its output) shows a refusal on purpose and is left out."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from liqcore.cli import build_parser
from liqcore.download.sources import parse_day, plan

ROOT = Path(__file__).resolve().parents[2]
TODAY = parse_day("2026-01-01", "today")  # (the examples' days are all older: a fixed today keeps this test still)


def examples() -> list[tuple[str, str]]:
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = re.sub(r"\\\n\s*", " ", path.read_text())  # continuation lines joined
        for line in text.splitlines():
            cmd = re.sub(r"^\s*(\w+=\S+\s+)*", "", line)  # TARDIS_API_KEY=... prefix
            if cmd.startswith("liqcore download ") and "--from" in cmd and "DAY" not in cmd:
                found.append((f"{path.relative_to(ROOT)}: {cmd.strip()}", cmd.strip()))
    return found


EXAMPLES = examples()


def test_the_docs_hold_download_examples():
    assert len(EXAMPLES) >= 5 and any("bookTicker" in c for _, c in EXAMPLES)  # (each source once: the pages hold no copies)


@pytest.mark.parametrize("cmd", [c for _, c in EXAMPLES], ids=[i for i, _ in EXAMPLES])
def test_a_download_example_is_planned_in_full(cmd):
    args = build_parser(only="download").parse_args(shlex.split(cmd)[1:])
    notes: list = []
    units = plan(args.source, args.symbols.split(","), (args.types or "").split(","), parse_day(args.start, "from"),
                 parse_day(args.end, "to"), exchange=args.exchange, monthly=args.monthly, notes=notes, today=TODAY,
                 market=getattr(args, "market", None))
    assert units and not notes, notes

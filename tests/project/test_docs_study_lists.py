"""Every list of the studies that the pages, the README and the commands' help write out names each study
``liqcore study`` / ``liqcore research`` run (:data:`liqcore.research.studies.STUDIES`, ``lead-lag`` included), and
every count of them ("twelve studies") is theirs."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_WORDS = {"eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14}


def _sources() -> dict[str, str]:
    paths = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md", ROOT / "liqcore" / "cli_help.py",
                                                     ROOT / "liqcore" / "cli.py", ROOT / "liqcore" / "commands" / "study.py"]
    return {p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8") for p in paths}


def _plain(text: str) -> str:
    """Back-quotes, comment marks and line breaks out: a list written over several lines reads as one."""
    return " ".join(text.replace("`", "").replace("#", " ").split())


def test_every_list_of_the_studies_names_them_all():
    from liqcore.research.studies import STUDIES

    names = list(STUDIES)
    tail = ", ".join(names[-5:-1])  # the run of names before the last one, as the lists write it
    found, wrong = 0, []
    for where, text in _sources().items():
        plain = _plain(text)
        for m in re.finditer(re.escape(tail), plain):
            found += 1
            after = plain[m.end():m.end() + 40]
            last = re.escape(names[-1]).replace("\\-", "[-_]")  # (a list of the modules: lead_lag)
            if not re.match(rf"(,| and| or)\s+{last}\b", after):
                wrong.append(f"{where}: ...{plain[max(0, m.start() - 60):m.end() + 20]}...")
    assert found >= 5, found
    assert wrong == [], f"lists of the studies without {names[-1]}: {wrong}"


def test_every_count_of_the_studies_is_theirs():
    from liqcore.research.studies import STUDIES

    wrong = [f"{where}: {m.group(0)!r}" for where, text in _sources().items()
             for m in re.finditer(r"\b(eight|nine|ten|eleven|twelve|thirteen|fourteen)\s+(?:research\s+)?studies\b",
                                  _plain(text), re.I) if _WORDS[m.group(1).lower()] != len(STUDIES)]
    assert wrong == [], f"counts of the studies that are not {len(STUDIES)}: {wrong}"

"""The call signatures a page writes out in full (``name(a, b=1, *, c=None)`` in a code span) are the
function's own: the same parameters, in the same order and kind (positional, keyword-only), with the same
defaults as :func:`inspect.signature` gives.  A parameter added to a function and not to the page (or a page
naming one the function does not take) fails here, naming the page, the function and the difference."""
from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"

#: page -> the section (its heading) whose code spans are signatures to check
PAGES = {
    "how-to/write-a-strategy.md": "## Python API of the execution model",
}

#: a code span that opens with a dotted liqcore name called with its arguments
_SIG = re.compile(r"`(liqcore(?:\.\w+)+)\(([^`()]*)\)")


def _section(page: str, heading: str) -> str:
    text = (DOCS / page).read_text(encoding="utf-8")
    assert f"\n{heading}\n" in text, f"{page}: no section {heading!r}"
    body = text.split(f"\n{heading}\n", 1)[1]
    return re.split(r"^## ", body, maxsplit=1, flags=re.M)[0]


def _resolve(dotted: str):
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for p in parts[i:]:
            obj = getattr(obj, p)
        return obj
    raise ImportError(dotted)


def _written(args: str) -> list[tuple[str, str, object]]:
    """(name, kind, default) of each parameter of the written signature (defaults as literals)."""
    fn = ast.parse(f"def f({' '.join(args.split())}): pass").body[0].args
    out = []
    pos = fn.posonlyargs + fn.args
    defaults = [inspect.Parameter.empty] * (len(pos) - len(fn.defaults)) + [ast.literal_eval(d) for d in fn.defaults]
    out += [(a.arg, "positional", d) for a, d in zip(pos, defaults)]
    if fn.vararg:
        out.append((fn.vararg.arg, "*args", inspect.Parameter.empty))
    out += [(a.arg, "keyword-only", inspect.Parameter.empty if d is None else ast.literal_eval(d))
            for a, d in zip(fn.kwonlyargs, fn.kw_defaults)]
    if fn.kwarg:
        out.append((fn.kwarg.arg, "**kwargs", inspect.Parameter.empty))
    return out


def _actual(obj) -> list[tuple[str, str, object]]:
    kinds = {inspect.Parameter.POSITIONAL_ONLY: "positional", inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional",
             inspect.Parameter.VAR_POSITIONAL: "*args", inspect.Parameter.KEYWORD_ONLY: "keyword-only",
             inspect.Parameter.VAR_KEYWORD: "**kwargs"}
    return [(p.name, kinds[p.kind], p.default) for p in inspect.signature(obj).parameters.values()]


def signatures() -> list:
    out = []
    for page, heading in PAGES.items():
        for m in _SIG.finditer(_section(page, heading)):
            out.append(pytest.param(page, m.group(1), m.group(2), id=f"{page}:{m.group(1)}"))
    return out


def test_the_pages_write_signatures_out():
    found = {p.values[0] for p in signatures()}
    assert found == set(PAGES), f"pages listed without a signature found: {set(PAGES) - found}"
    assert len(signatures()) >= 4


@pytest.mark.parametrize("page,name,args", signatures())
def test_a_written_signature_is_the_functions_own(page, name, args):
    written, actual = _written(args), _actual(_resolve(name))
    assert written == actual, (f"{page}: {name}({' '.join(args.split())}) is not its signature "
                               f"{inspect.signature(_resolve(name))}")

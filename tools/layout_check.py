"""The package's layout bars, read from the code (``python tools/layout_check.py [--json]``):

* branches on a venue's name outside ``liqcore/venues/`` (a comparison with a registered venue's name or alias,
  ``"okx"``, or its ``Venue`` member, ``Venue.OKX``, a ``match`` case on one);
* modules outside ``liqcore/venues/`` that name a venue in code (:func:`venue_mentions`: identifiers and strings,
  tables and lists, not only comparisons);
* modules outside ``liqcore/venues/`` named for a venue;
* the venues' shared layer (``liqcore/venues/*.py``) importing a venue's folder;
* import cycles between liqcore's top-level packages (every import, also those inside functions);
* private names (``_x``) imported from another top-level package;
* ``.py`` / ``.pyx`` / ``.pxi`` files over 1,000 lines.
"""
from __future__ import annotations

import ast
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "liqcore"
MAX_LINES = 1000


def _registered_words() -> tuple[str, ...]:
    """Every registered venue's name and aliases (the built-in folders' and the installed plugins'), longest first:
    the words a reader adding a venue would search the code for."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from liqcore.venues.registry import registered

    words = {w.lower() for s in registered() for w in (s.name, *s.aliases)}
    return tuple(sorted(words, key=lambda w: (-len(w), w)))


#: the registered venues' names and aliases (``okx``, ``okex-swap``, ``gate-io``, ...)
VENUES = _registered_words()


_NODES: dict = {}


def _nodes(f: Path) -> list:
    """Every node of the module's syntax tree in ``ast.walk``'s order (the module itself first), parsed and walked
    once per run (each check goes over the list: four walks of every tree were most of a report's time)."""
    n = _NODES.get(f)
    if n is None:
        n = _NODES[f] = list(ast.walk(ast.parse(f.read_text(encoding="utf-8"))))
    return n


def _modname(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _top(mod: str) -> str:
    parts = mod.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else parts[0]


def _is_venue_const(node) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lower() in VENUES:
        return True
    if isinstance(node, ast.Attribute) and node.attr.isupper() and node.attr.lower() in VENUES:
        return True
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_is_venue_const(e) for e in node.elts)
    return False


def venue_branches(files) -> list[str]:
    out = []
    for f in files:
        if "venues" in f.relative_to(PKG).parts[:1]:
            continue
        for node in _nodes(f):
            if isinstance(node, ast.Compare):
                if _is_venue_const(node.left) or any(_is_venue_const(c) for c in node.comparators):
                    out.append(f"{f.relative_to(ROOT)}:{node.lineno}")
            elif isinstance(node, ast.match_case) and _is_venue_const(getattr(node.pattern, "value", None)):
                out.append(f"{f.relative_to(ROOT)}:{node.pattern.lineno}")
    return out


def _word_pattern(words) -> re.Pattern:
    """A venue's name or alias as a word of its own (not inside a longer word; ``_`` and ``-`` separate words)."""
    return re.compile(r"(?<![a-z0-9])(" + "|".join(re.escape(w) for w in words) + r")(?![a-z0-9])", re.I)


_VENUE_WORD = _word_pattern(VENUES)


def _docstrings(nodes) -> set[int]:
    """ids of the docstring constants of a module and its classes and functions (left aside: prose), from the
    module's ``nodes`` (:func:`_nodes`)."""
    out = set()
    for node in nodes:
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                out.add(id(first.value))
    return out


def _names_of(node) -> list[str]:
    """The identifiers a node introduces or uses (a name, an attribute, a definition, an argument, an import)."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        return [node.attr]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.arg):
        return [node.arg]
    if isinstance(node, ast.keyword) and node.arg:
        return [node.arg]
    if isinstance(node, ast.alias):
        return [node.name, node.asname or ""]
    if isinstance(node, ast.ImportFrom) and node.module:
        return [node.module]
    return []


def venue_mentions(files) -> dict[str, list[str]]:
    """Each module outside ``liqcore/venues/`` that names a venue in code -> where (``line: text``): an identifier
    (a name, attribute, definition, argument or import) or a string (a dict key, a list or tuple item, a default,
    a comparison, a URL, a message) holding a registered venue's name or alias (:data:`VENUES`) as a word of its own
    (``okx``, ``render_okx``, ``"api.bybit.com"``, ``Venue.OKX``, ``"okex-swap"``); comments and docstrings are
    prose and left aside.  What a
    reader adding a venue would have to find and edit: a table keyed by venue or a closed list of venues is a
    mention of each venue it names."""
    out: dict[str, list[str]] = {}
    for f in files:
        if f.suffix != ".py" or "venues" in f.relative_to(PKG).parts[:1]:
            continue
        nodes = _nodes(f)
        docs = _docstrings(nodes)
        found = []
        for node in nodes:
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                words = [node.value]
            else:
                words = [w.replace("_", " ") for w in _names_of(node)]
            for w in words:
                m = _VENUE_WORD.search(w)
                if m:
                    found.append(f"{node.lineno}: {m.group(1).lower()} in {w[:60]!r}")
                    break
        if found:
            out[str(f.relative_to(ROOT))] = found
    return out


def shared_venue_imports(files) -> list[str]:
    """Imports of a venue's folder (``liqcore.venues.<venue>``) by the shared layer, the modules directly in
    ``liqcore/venues/``: it sits under the folders and finds them through the registry."""
    out = []
    for f in files:
        rel = f.relative_to(PKG)
        if f.suffix != ".py" or rel.parts[:1] != ("venues",) or len(rel.parts) != 2:
            continue
        for target, name, line in _imports(f, _modname(f)):
            parts = target.split(".")
            folder = parts[2] if len(parts) > 2 else (name or "")
            if target.startswith("liqcore.venues") and folder and (PKG / "venues" / folder / "__init__.py").is_file():
                out.append(f"{f.relative_to(ROOT)}:{line} {target}{'.' + name if name and len(parts) <= 2 else ''}")
    return out


def venue_named_modules(files) -> list[str]:
    out = []
    for f in files:
        rel = f.relative_to(PKG)
        if rel.parts[0] == "venues":
            continue
        if any(_VENUE_WORD.search(part) for part in rel.with_suffix("").parts):
            out.append(str(f.relative_to(ROOT)))
    return out


def _imports(f: Path, mod: str):
    pkg_parts = mod.split(".") if f.name == "__init__.py" else mod.split(".")[:-1]
    for node in _nodes(f):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg_parts[: len(pkg_parts) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for a in node.names:
                yield target, a.name, node.lineno


def import_graph(files):
    edges = defaultdict(set)
    private = []
    for f in files:
        if f.suffix != ".py":
            continue
        mod = _modname(f)
        for target, name, line in _imports(f, mod):
            if not target.startswith("liqcore"):
                continue
            a, b = _top(mod), _top(target)
            if a != b:
                edges[a].add(b)
                leaf = target.split(".")[-1]
                if (name and name.startswith("_") and not name.startswith("__")) or \
                        (len(target.split(".")) > 2 and leaf.startswith("_") and not leaf.startswith("__")
                         and b != "liqcore"):
                    private.append(f"{f.relative_to(ROOT)}:{line} {target}{'.' + name if name else ''}")
    return edges, private


def cycles(edges) -> list[list[str]]:
    """The import cycles between packages, one per cycle found (``graphlib``: a cycle found, one of its edges taken
    away, searched again)."""
    from graphlib import CycleError, TopologicalSorter

    graph = {k: set(v) for k, v in edges.items()}
    out = []
    while True:
        try:
            tuple(TopologicalSorter(graph).static_order())
            return out
        except CycleError as exc:
            loop = exc.args[1]  # [a, b, ..., a]
            out.append(sorted(set(loop)))
            for x, y in zip(loop, loop[1:]):  # (one edge of it, whichever way graphlib walked it)
                if y in graph.get(x, ()):
                    graph[x].discard(y)
                    break
                if x in graph.get(y, ()):
                    graph[y].discard(x)
                    break
            else:
                return out


def long_files(files) -> list[str]:
    out = []
    for f in files:
        n = f.read_text(encoding="utf-8").count("\n")
        if n > MAX_LINES:
            out.append(f"{f.relative_to(ROOT)} ({n} lines)")
    return out


def report() -> dict:
    files = sorted(p for p in PKG.rglob("*.py")) + sorted(PKG.rglob("*.pyx")) + sorted(PKG.rglob("*.pxi"))
    pyfiles = [f for f in files if f.suffix == ".py"]
    edges, private = import_graph(pyfiles)
    return {"venue_branches": venue_branches(pyfiles), "venue_mentions": sorted(venue_mentions(pyfiles)),
            "venue_named_modules": venue_named_modules(files), "shared_venue_imports": shared_venue_imports(pyfiles),
            "cycles": cycles(edges), "private_imports": private, "long_files": long_files(files)}


def main() -> int:
    r = report()
    if "--json" in sys.argv:
        print(json.dumps(r, indent=1))
        return 0
    for k, v in r.items():
        print(f"{k}: {len(v)}")
        for x in v[:200] if "-v" in sys.argv else v[:8]:
            print(f"  {x}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

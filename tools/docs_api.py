"""The Python API reference of the documentation site, generated at every build (``reference/api/``).

:data:`GROUPS` places every public name on a page: each name of ``liqcore.__all__`` and of the public modules
an embedding program imports (the strategy interface ``liqcore.strategies``, the dataset ``liqcore.dataset``,
the gateway protocol ``liqcore.venues.gateway``).  Each name gets a heading, the import line that works for it
and its own docstring (rendered by mkdocstrings from the object the name resolves to).  A name of one of those
``__all__`` lists that no group places stops the build (:func:`check_complete`), so a new public name brings
its entry here.
"""
from __future__ import annotations

import functools
import importlib
import inspect

#: (page, title, introduction, [(module the name imports from, name, the object's path when it is not found by
#: its ``__module__``/``__qualname__``: data, and the packages callable as their function)])
GROUPS = [
    ("contract", "The data contract",
     "The event and cascade rows every reader returns and every kernel reads, and the codes of their columns.",
     [("liqcore", "EVENT_DTYPE", "liqcore.types.EVENT_DTYPE"), ("liqcore", "Side", None), ("liqcore", "Kind", None),
      ("liqcore", "Venue", None), ("liqcore", "Flag", None), ("liqcore", "SymbolRegistry", None),
      ("liqcore", "default_registry", "liqcore.types.default_registry"),
      ("liqcore", "CASCADE_DTYPE", "liqcore.types.CASCADE_DTYPE"), ("liqcore", "RecordKind", None),
      ("liqcore", "Dominant", None), ("liqcore", "EndReason", None),
      ("liqcore", "__version__", "liqcore.__version__")]),
    ("params", "Parameters",
     "The one vocabulary of tunables: the same names on the command line, in a TOML file and here.",
     [("liqcore", "Params", None)]),
    ("detector", "Detector and rolling kernels",
     "The compiled per-event kernels: the cascade detector and the rolling statistics it is built from.",
     [("liqcore", "CascadeDetector", None), ("liqcore", "RollingQuantile", None), ("liqcore", "TimeWindow", None),
      ("liqcore", "RollingZScore", None), ("liqcore", "BucketZScore", None)]),
    ("engine", "Live engine and decoder",
     "The engine an embedding bot feeds with frames or events, and the frame decoder.",
     [("liqcore", "Engine", None), ("liqcore", "Decoder", None)]),
    ("backtest", "Backtest, synthetic market and sweeps",
     "``liqcore.backtest`` and ``liqcore.sweep`` are packages callable as their main function: "
     "``liqcore.backtest(...)`` calls the function documented here.",
     [("liqcore", "backtest", "liqcore.backtest.run.backtest"), ("liqcore", "synthetic_market", None),
      ("liqcore", "sweep", "liqcore.backtest.run.sweep")]),
    ("data", "Events and datasets",
     "Reading recordings and datasets, and writing the dataset (hive-partitioned Parquet of events).",
     [("liqcore", "load_events", None)] + [("liqcore.dataset", n, None) for n in (
         "write_dataset", "convert_to_dataset", "upgrade_dataset", "verify_dataset", "read_manifest", "dataset_lock", "DatasetLocked",
         "load_dataset", "dataset_info", "check_selection", "is_dataset", "load_depth", "has_depth", "with_depth", "write_depth")]),
    ("strategies", "The strategy interface",
     "What a strategy is, how it registers, and the signal rows it hands to the execution model.",
     [("liqcore.strategies", n, None) for n in (
         "Strategy", "register_strategy", "ParamSpec", "SignalStream", "get_strategy", "strategy_names",
         "all_strategies", "is_registered", "resolve_strategy", "owners_of", "find_param", "empty_signals",
         "sort_signals", "exit_notices")]
     + [("liqcore.strategies", n, f"liqcore.signals.{n}") for n in (
         "SIGNAL_DTYPE", "ENTRY_LIMIT", "ENTRY_MARKET", "SKIP_NONE", "SKIP_MIXED", "SKIP_EXIT", "NEVER",
         "USE_PARAM")]),
    ("gateways", "Order gateways",
     "The protocol every order gateway implements (paper, each venue's, or your own) and what crosses it.",
     [("liqcore.venues.gateway", n, None) for n in (
         "Gateway", "OrderIntent", "OrderUpdate", "Fill", "PositionInfo", "GatewayError", "GatewayCallbacks",
         "missing_members")]
     + [("liqcore.venues.gateway", "ORDER_STATUSES", "liqcore.venues.orders.ORDER_STATUSES"),
        ("liqcore.venues.gateway", "FINAL_STATUSES", "liqcore.venues.orders.FINAL_STATUSES"),
        ("liqcore.venues.governor", "Governor", None), ("liqcore.venues.outcomes", "CodeTable", None)]),
]

#: the public modules whose ``__all__`` the reference must cover in full
COVERED = ("liqcore", "liqcore.strategies", "liqcore.dataset", "liqcore.venues.gateway")


def _kind(obj) -> str:
    if inspect.isclass(obj):
        return "class"
    if inspect.isroutine(obj) or callable(obj):
        return "function"
    return "constant"


def object_path(module: str, name: str, path: str | None) -> str:
    if path:
        return path
    obj = getattr(importlib.import_module(module), name)
    return f"{obj.__module__}.{obj.__qualname__}"


def _compiled(obj) -> bool:
    """Whether a class is defined in a compiled module (read by inspection, not from source)."""
    f = getattr(importlib.import_module(obj.__module__), "__file__", "") or ""
    return f.endswith((".so", ".pyd"))


@functools.lru_cache(maxsize=None)
def attribute_docstrings(module: str) -> dict[str, str]:
    """The docstrings of a module's data names: the string literal that follows a top-level assignment (the
    convention mkdocstrings reads)."""
    import ast

    tree = ast.parse(inspect.getsource(importlib.import_module(module)))
    out = {}
    for node, nxt in zip(tree.body, tree.body[1:]):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) \
            else []
        if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str):
            for t in targets:
                if isinstance(t, ast.Name):
                    out[t.id] = inspect.cleandoc(nxt.value.value)
    return out


def docstring(path: str) -> str:
    """The object's own docstring at ``path`` ("" when it has none: a class's inherited one, or the signature a
    dataclass is given, do not count); a data name's is the string that follows its assignment."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            mod = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        obj = mod
        for p in parts[i:]:
            obj = getattr(obj, p)
        if inspect.isclass(obj):
            doc = obj.__dict__.get("__doc__") or ""
            return "" if doc.startswith(f"{obj.__name__}(") else inspect.cleandoc(doc)
        if inspect.isroutine(obj):
            return inspect.getdoc(obj) or ""
        return attribute_docstrings(mod.__name__).get(".".join(parts[i:]), "")
    raise ImportError(path)


def check_complete() -> None:
    """Every name of the covered modules' ``__all__`` is placed (from that module, or the same object from
    another: ``liqcore.dataset.load_events`` is ``liqcore.load_events``)."""
    placed = {(m, n) for _, _, _, names in GROUPS for m, n, _ in names}
    objects = {id(getattr(importlib.import_module(m), n)) for m, n in placed}
    missing = []
    for modname in COVERED:
        mod = importlib.import_module(modname)
        missing += [f"{modname}.{n}" for n in mod.__all__
                    if (modname, n) not in placed and (id(getattr(mod, n)) not in objects or n.isupper())]
    bare = [f"{m}.{n}" for _, _, _, names in GROUPS for m, n, p in names if not docstring(object_path(m, n, p))]
    if bare:
        raise SystemExit(f"docs: public names without a docstring of their own: {', '.join(bare)}")
    if missing:
        raise SystemExit(f"docs: public names with no place in the API reference (tools/docs_api.py GROUPS): "
                         f"{', '.join(missing)}")


def anchor(name: str) -> str:
    return name.strip("_").lower().replace("_", "-")


def _first_line(module: str, name: str, path: str | None) -> str:
    first = docstring(object_path(module, name, path)).strip().split("\n\n")[0]
    return " ".join(first.split())


def page(group) -> str:
    key, title, intro, names = group
    out = [f"# {title}\n", intro + "\n", "[All names](index.md).\n"]
    for module, name, path in names:
        target = object_path(module, name, path)
        obj = getattr(importlib.import_module(module), name)
        out.append(f"## `{name}` {{ #{anchor(name)} }}\n")
        out.append(f"```python\nfrom {module} import {name}\n```\n")
        # the root heading carries the object's signature (hidden with it, a name shows no parameters), set apart
        # below the name as a code block so that a long one stays readable; a class's is its __init__'s
        opts = ["    options:", "      show_root_heading: true", "      heading_level: 3",
                "      show_root_full_path: false", "      show_signature: true", "      separate_signature: true",
                "      merge_init_into_class: true", "      show_root_toc_entry: false"]
        if _kind(obj) == "class" and _compiled(obj):
            opts.append("      force_inspection: true")
        out.append(f"::: {target}\n" + "\n".join(opts) + "\n")
        if target == "liqcore.live.engine.Engine":
            out.append(engine_parts())
    return "\n".join(out) + "\n"


def engine_parts() -> str:
    """The engine's members that read (or set) a part's: a table from the engine's own ``_DELEGATED``, each
    with the part's member and the first line of its docstring where it has one."""
    from liqcore import Engine, Params
    from liqcore.live import engine as mod

    eng = Engine(Params())
    rows = ["### Through its parts\n",
            "The engine owns its parts (`order_manager`, `fast_lane`, `decision_log`, `health`, "
            "`venue_clock_guard`, `warm`, `keeper`, `lifecycle`, `core`); these members of the engine read "
            "(settable: and write) a part's member.\n", "| member | is | what it is |", "| --- | --- | --- |"]
    for name, path in mod._DELEGATED.items():
        if name.startswith("_"):
            continue
        owner, _, attr = path.rstrip("=").rpartition(".")
        part = eng
        for p in owner.split("."):
            part = getattr(part, p)
        member = inspect.getattr_static(type(part), attr, None)
        doc = inspect.getdoc(member) if callable(member) or isinstance(member, property) else ""
        first = " ".join((doc or "").strip().split("\n\n")[0].split()).replace("|", "\\|")
        settable = " (settable)" if path.endswith("=") else ""
        rows.append(f"| `{name}` | `engine.{path.rstrip('=')}`{settable} | {first} |")
    return "\n".join(rows) + "\n"


def index_page() -> str:
    out = ["# Python API reference\n",
           "Generated at every build of this site from the docstrings: every name of `liqcore.__all__` and of "
           "the public modules an embedding program imports (the strategy interface `liqcore.strategies`, the "
           "dataset `liqcore.dataset`, the gateway protocol `liqcore.venues.gateway`), each with the import line "
           "that works for it. `import liqcore` imports none of the extras and compiles nothing.\n"]
    for key, title, intro, names in GROUPS:
        out += [f"## [{title}]({key}.md)\n", intro + "\n", "| name | import from | what it is |", "| --- | --- | --- |"]
        for module, name, path in names:
            first = _first_line(module, name, path).replace("|", "\\|")
            if len(first) > 160:
                first = first[:157].rsplit(" ", 1)[0] + " ..."
            out.append(f"| [`{name}`]({key}.md#{anchor(name)}) | `{module}` | {first} |")
        out.append("")
    return "\n".join(out) + "\n"


def pages() -> dict[str, str]:
    check_complete()
    out = {"reference/api/index.md": index_page()}
    for g in GROUPS:
        out[f"reference/api/{g[0]}.md"] = page(g)
    return out


def nav() -> list:
    return [{"Overview": "reference/api/index.md"}] + [{g[1]: f"reference/api/{g[0]}.md"} for g in GROUPS]

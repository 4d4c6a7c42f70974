"""Strategies: one module per strategy, signals only (the execution model fills them).

:func:`get_strategy`, :func:`strategy_names`, :func:`register_strategy` (a user's own subclass, see
``examples/``) and :func:`resolve_strategy`; the signal contract lives in ``liqcore.signals`` and is
re-exported here, the base class in ``base``.  Writing one: docs/how-to/write-a-strategy.md, "Writing a strategy".

May import: ``types``, ``signals``, ``units``, ``params`` (never ``config``), the kernels, ``execution``
and ``features``; never backtest, research or live (``tests/project/test_layering.py``).  A new
strategy goes here as one module with one :class:`Strategy` subclass and one row in ``catalog.py``,
or outside the package through :func:`register_strategy`.
"""
from __future__ import annotations

import difflib
import importlib

from liqcore.params import set_strategy_registry as _set_strategy_registry

from liqcore.strategies.base import (  # noqa: F401
    ENTRY_LIMIT,
    ENTRY_MARKET,
    NEVER,
    SIGNAL_DTYPE,
    SKIP_MIXED,
    SKIP_EXIT,
    SKIP_NONE,
    USE_PARAM,
    SignalStream,
    exit_notices,
    ParamSpec,
    Strategy,
    empty_signals,
    sort_signals,
)

__all__ = [
    "SIGNAL_DTYPE", "ENTRY_LIMIT", "ENTRY_MARKET", "NEVER", "SKIP_MIXED", "SKIP_EXIT", "SKIP_NONE", "USE_PARAM",
    "ParamSpec", "Strategy", "SignalStream", "exit_notices", "empty_signals", "sort_signals", "get_strategy", "register_strategy",
    "strategy_names", "all_strategies", "owners_of", "find_param", "is_registered",
    "resolve_strategy",
]

DEFAULT_STRATEGY = "cascade-mm"

# built-in strategies: name -> "module:Class" (imported on first use)
_BUILTIN: dict[str, str] = {
    "cascade-mm": "liqcore.strategies.cascade_mm:CascadeMM",
}
from liqcore.strategies.catalog import SEVEN as _SEVEN  # noqa: E402  (the seven of the source documents)

_BUILTIN.update(_SEVEN)
_REGISTRY: dict[str, type] = {}


def _normalise(cls: type) -> type:
    """PARAMS entries given as tuples / mappings become ParamSpec objects (once per class)."""
    from liqcore.strategies.base import as_spec

    if "PARAMS" in vars(cls) and not all(isinstance(p, ParamSpec) for p in cls.PARAMS):
        cls.PARAMS = tuple(as_spec(p) for p in cls.PARAMS)
    return cls


def _import(target: str) -> type:
    mod, _, attr = target.partition(":")
    return _normalise(getattr(importlib.import_module(mod), attr))


def _load_builtins() -> None:
    for name, target in _BUILTIN.items():
        if name not in _REGISTRY:
            _REGISTRY[name] = _import(target)


def strategy_names() -> list[str]:
    """Every registered strategy name (built-in first, then the user's)."""
    return list(dict.fromkeys([*_BUILTIN, *_REGISTRY]))


def all_strategies() -> list[type]:
    """Every registered :class:`Strategy` class, in :func:`strategy_names`' order."""
    _load_builtins()
    return [_REGISTRY[n] for n in strategy_names()]


def get_strategy(name: str) -> type:
    """The strategy class registered as ``name``; an unknown name is a ValueError naming the nearest
    known one."""
    key = str(name).strip().lower()
    if key in _BUILTIN and key not in _REGISTRY:
        _REGISTRY[key] = _import(_BUILTIN[key])
    cls = _REGISTRY.get(key)
    if cls is None:
        names = strategy_names()
        near = difflib.get_close_matches(key, names, n=1, cutoff=0.5)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise ValueError(f"strategy: unknown strategy {name!r}{hint} (known: {', '.join(names)})")
    return cls


def register_strategy(cls: type, *, replace: bool = False) -> type:
    """Register a :class:`Strategy` subclass under its ``name`` (usable as a decorator).  Its
    parameters join the one vocabulary; a parameter name that is already a shared parameter, or
    that another strategy declares with a different parser, is a ValueError."""
    from liqcore.params import PARAMS

    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise ValueError("register_strategy: expected a subclass of liqcore.strategies.Strategy")
    name = str(getattr(cls, "name", "") or "").strip().lower()
    if not name or not all(c.isalnum() or c == "-" for c in name):
        raise ValueError(f"register_strategy: {cls.__name__}.name must be a name like 'my-strategy'; got {name!r}")
    _load_builtins()
    _normalise(cls)
    if name in _REGISTRY and _REGISTRY[name] is not cls and not replace:
        raise ValueError(f"register_strategy: a strategy named {name!r} is already registered")
    core = {s.name for s in PARAMS} | {s.field for s in PARAMS}
    for spec in cls.specs():
        if spec.name in core or spec.field in core:
            raise ValueError(f"register_strategy: {name}: parameter {spec.name!r} is a shared parameter; "
                             "set its default for the strategy in DEFAULTS instead")
        for other in _REGISTRY.values():
            if other is cls or other.name == name:
                continue
            o = other.param_spec(spec.name)
            if o is not None and o.parse is not spec.parse:
                raise ValueError(f"register_strategy: {name}: parameter {spec.name!r} is declared by "
                                 f"{other.name} with another type")
    core_fields = {s.field for s in PARAMS}
    for k in cls.DEFAULTS:
        if k not in core_fields:
            raise ValueError(f"register_strategy: {name}: DEFAULTS key {k!r} is not a shared parameter field")
    _REGISTRY[name] = cls
    return cls


def is_registered(cls: type) -> bool:
    """Whether ``cls`` is the strategy registered under its name."""
    try:
        return get_strategy(cls.name) is cls
    except ValueError:
        return False


def owners_of(key: str) -> list[type]:
    """The strategies that declare parameter ``key`` (CLI name, TOML name or field)."""
    return [c for c in all_strategies() if c.param_spec(key) is not None]


def find_param(key: str) -> ParamSpec | None:
    """The spec of strategy parameter ``key`` (any strategy), or None."""
    for c in all_strategies():
        s = c.param_spec(key)
        if s is not None:
            return s
    return None


def resolve_strategy(strategy, params):
    """``(strategy instance, params resolved for it)``.  ``strategy``: None (``params.strategy``), a
    registered name, a :class:`liqcore.strategies.Strategy` subclass or instance (a user's own
    strategy need not be registered).  ``params``: a :class:`~liqcore.Params`, a mapping of parameter names
    (:func:`~liqcore.params.as_params`) or None (the defaults).  Raises ValueError for an unknown name or a
    parameter that belongs to another strategy -- before any work."""
    from liqcore.params import as_params

    params = as_params(params)
    if strategy is None:
        strategy = params.strategy
    if isinstance(strategy, str):
        obj = get_strategy(strategy)()
    elif isinstance(strategy, type) and issubclass(strategy, Strategy):
        obj = strategy()
    elif isinstance(strategy, Strategy):
        obj = strategy
    else:
        raise ValueError(f"strategy: expected a strategy name or a Strategy; got {strategy!r}")
    cls = type(obj)
    if not cls.name:
        raise ValueError(f"strategy: {cls.__name__} has no name")
    # a user's unregistered strategy: its own parameters are checked, the name is not looked up
    cls.check(params)
    return obj, cls.resolve(params)


def _this_registry():
    import sys

    return sys.modules[__name__]


# this module is the strategy registry: installed into the parameter vocabulary below it, so that
# ``Params(strategy=...)`` knows every strategy and the base class and the catalogue reach the registry
# through the vocabulary's hook instead of importing this package back
_set_strategy_registry(_this_registry)

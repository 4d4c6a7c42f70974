"""Parameters from the command line and TOML files, and every configuration name in one place.

The details: docs/maintainers/design.md, "The parameter vocabulary's layers".

May import: ``params`` and ``units``.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from liqcore.params import (  # noqa: F401  (the vocabulary's public names, importable from here too)
    DETECTOR_PARAMS,
    PARAMS,
    PRESETS,
    RULES,
    STRATEGY_PARAMS,
    Params,
    is_parameter_name,
    strategy_registry,
    validate_params,
)
from liqcore.units import (  # noqa: F401  (the unit parsers' public names, importable from here too)
    format_duration,
    parse_duration,
    parse_fraction,
    parse_hours,
    parse_number,
    parse_whole,
)

__all__ = [
    "Params",
    "parse_duration",
    "parse_fraction",
    "parse_hours",
    "parse_number",
    "parse_whole",
    "format_duration",
    "PARAMS",
    "DETECTOR_PARAMS",
    "STRATEGY_PARAMS",
    "add_param_arguments",
    "params_from_args",
    "load_config",
    "PRESETS",
    "RULES",
    "validate_params",
    "is_parameter_name",
]


def load_config(path: str | Path, flag: str = "--config") -> dict[str, Any]:
    """Read a TOML config.  Parameters may sit at the top level or under ``[params]``; other tables
    (``[run]``, ``[backtest]``, ...) are returned as they are for the command that owns them.  A file
    that cannot be read is a ValueError naming ``flag`` (the option that gave it) and the file."""
    try:
        import tomllib  # novm (3.11+: tomli below on 3.10)
    except ModuleNotFoundError:  # (Python 3.10: tomli, the same parser, a dependency there)
        import tomli as tomllib

    p = Path(path)
    try:
        with open(p, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ValueError(f"{flag}: file not found: {p}") from None
    except IsADirectoryError:
        raise ValueError(f"{flag}: {p} is a directory; expected a TOML file") from None
    except PermissionError:
        raise ValueError(f"{flag}: {p} cannot be read (permission denied)") from None
    except UnicodeDecodeError:
        raise ValueError(f"{flag}: {p} is not a TOML file (not UTF-8 text)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{flag}: {p}: {exc}") from None
    return data


def split_config(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(parameter mapping, everything else) from a loaded TOML document."""
    params: dict[str, Any] = {}
    other: dict[str, Any] = {}
    for k, v in data.items():
        if k == "params" and isinstance(v, dict):
            params.update(v)
        elif isinstance(v, dict):
            other[k] = v
        else:
            params[k] = v
    return params, other


def add_param_arguments(parser: argparse.ArgumentParser, groups=("detector", "strategy", "execution", "risk")) -> None:
    """Add one ``--name`` flag per parameter of the given groups (default: None = not given) and
    ``--config FILE``."""
    if not any(a.dest == "config" for a in parser._actions):
        parser.add_argument("--config", metavar="FILE", help="TOML file with parameters (CLI flags win)")
    titles = {"detector": "detector", "strategy": "strategy", "execution": "execution / fill model", "risk": "risk",
              "feed": "live feed"}
    for g in groups:
        kinds = {s.metavar for s in PARAMS if s.group == g}
        units = []
        if "DUR" in kinds:
            units.append("DUR is a duration with its unit (50ms, 30s, 5m, 1h, 1d); a plain number is seconds "
                         "(--window 30 = 30s)")
        if "FRAC" in kinds:
            units.append("FRAC is a fraction (0.0015) or a percentage (0.15%%)")
        grp = parser.add_argument_group(f"{titles[g]} parameters", "; ".join(units) + "." if units else None)
        for spec in PARAMS:
            if spec.group != g:
                continue
            text = spec.help
            if spec.field == "strategy":
                text += f": {', '.join(strategy_registry().strategy_names())}"
            if "(default:" not in text:  # (a help that says its default itself says it once)
                text += f" (default: {shown_default(spec.default)})"
            grp.add_argument(
                f"--{spec.name}",
                dest=f"param_{spec.field}",
                default=None,
                metavar=spec.metavar or None,
                help=text.replace("%", "%%"),
            )
    if "strategy" in groups:
        all_strategies = strategy_registry().all_strategies
        seen: set[str] = set()
        for cls in all_strategies():
            specs = [s for s in cls.specs() if s.name not in seen]
            if not specs:
                continue
            grp = parser.add_argument_group(f"strategy {cls.name} parameters")
            for sp in specs:
                seen.add(sp.name)
                users = [c.name for c in all_strategies() if c.param_spec(sp.name) is not None]
                grp.add_argument(f"--{sp.name}", dest=f"sparam_{sp.field}", default=None,
                                 metavar=sp.metavar or None,
                                 help=f"{sp.help} ({', '.join(users)}; default: {shown_default(sp.default)})"
                                 .replace("%", "%%"))


def shown_default(default) -> str:
    """A parameter's default as its flag takes it: ``on``/``off`` for a switch (not Python's True/False),
    ``all`` for None (no filter)."""
    if default is None:
        return "all"
    if isinstance(default, bool):
        return "on" if default else "off"
    return str(default)


#: a number, with or without a unit or a sign (``1e400``, ``-5ms``, ``nan``): an --order-latency meant as a duration
_NUMBERISH = re.compile(r"^\s*[-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|nan|inf(?:inity)?)\s*[a-zµ]{0,3}\s*$",
                        re.IGNORECASE)


def _is_duration(text: str) -> bool:
    """Whether ``--order-latency TEXT`` is a duration (else a journal's path); a number that is no duration it
    takes (``1e400``, ``-5ms``, ``99999999999d``: out of range) is its ValueError, unless a file has that name."""
    from liqcore.units import parse_duration

    try:
        parse_duration(text, "order-latency")
    except ValueError:
        if _NUMBERISH.match(text) and not Path(text).expanduser().exists():
            raise
        return False
    return True


def params_from_args(args: argparse.Namespace, config_mapping: dict[str, Any] | None = None) -> Params:
    """Config file values, then CLI flags on top.  Raises ValueError naming the bad parameter."""
    mapping: dict[str, Any] = {}
    cfg_path = getattr(args, "config", None)
    if config_mapping is None and cfg_path:
        config_mapping, _ = split_config(load_config(cfg_path))
    if config_mapping:
        mapping.update(config_mapping)
    for spec in PARAMS:
        v = getattr(args, f"param_{spec.field}", None)
        if v is not None:
            mapping[spec.field] = v
    lat = mapping.get("order_latency_ns")
    if isinstance(lat, str) and not _is_duration(lat) and "order_latency_from" not in mapping:
        if Path(lat).expanduser().is_dir():
            raise ValueError(f"order-latency: {lat} is a directory; expected a duration such as 50ms or a live "
                             "session's journal (its .sqlite file)")
        mapping["order_latency_from"] = mapping.pop("order_latency_ns")  # --order-latency JOURNAL
    for k, v in vars(args).items():
        if k.startswith("sparam_") and v is not None:
            sp = strategy_registry().find_param(k[len("sparam_"):])
            mapping[sp.name if sp is not None else k[len("sparam_"):]] = v
    return Params.from_mapping(mapping)

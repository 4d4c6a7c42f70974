"""Unit parsers of the parameter vocabulary: durations, fractions and percents, numbers and counts,
UTC hour ranges, on/off switches.

``parse_duration("50ms")`` -> 50_000_000 (int nanoseconds; a plain number is seconds);
``parse_fraction("0.15%")`` -> 0.0015; ``parse_whole("4")`` -> 4.  Every parser takes ``(value, name)``
and raises ValueError naming ``name`` on bad input; ranges are the vocabulary's business
(:data:`liqcore.params.RULES`), not the parsers'.

Layer: the bottom of the configuration stack.  Imports the standard library only; imported by the
parameter vocabulary (:mod:`liqcore.params`), the strategies' own parameter specs, the command-line
glue (:mod:`liqcore.config`) and anything else that reads a duration or a percent.  A new unit
(sizes in quote units, say) is one more ``parse_<unit>(value, name)`` here.
"""
from __future__ import annotations

import math
import operator
import re
from typing import Any

__all__ = [
    "parse_duration",
    "format_duration",
    "parse_fraction",
    "parse_hours",
    "parse_number",
    "parse_whole",
    "parse_signed_fraction",
    "parse_pos_int",
    "parse_nonneg_int",
    "parse_nonneg_float",
    "parse_fee",
    "parse_bps",
    "parse_bool",
]

_DUR_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(ns|us|µs|ms|s|m|min|h|d)?\s*$")
_DUR_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    None: 1_000_000_000,
    "m": 60_000_000_000,
    "min": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
}


def parse_duration(value: Any, name: str = "duration") -> int:
    """``'50ms'`` -> 50_000_000 (ns). Plain numbers are seconds. Negative or non-finite -> ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"{name}: expected a duration like 50ms, 60s, 5m, 1h; got {value!r}")
    if isinstance(value, (int, float)):
        secs = float(value)
        if not math.isfinite(secs) or secs < 0:
            raise ValueError(f"{name}: must be a finite, non-negative duration; got {value!r}")
        return int(round(secs * 1e9))
    m = _DUR_RE.match(str(value))
    if not m and _DUR_RE.match(str(value).strip().lstrip("-")):
        raise ValueError(f"{name}: must be a non-negative duration; got {value!r}")
    if not m:
        raise ValueError(f"{name}: expected a duration like 50ms, 60s, 5m, 1h; got {value!r}")
    num = float(m.group(1))
    return int(round(num * _DUR_UNITS[m.group(2)]))


def format_duration(ns: int) -> str:
    ns = int(ns)
    for unit, mult in (("h", 3_600_000_000_000), ("m", 60_000_000_000), ("s", 1_000_000_000), ("ms", 1_000_000)):
        if ns and ns % mult == 0:
            return f"{ns // mult}{unit}"
    return f"{ns / 1e9:g}s"


def parse_fraction(value: Any, name: str = "fraction", signed: bool = False) -> float:
    """``'0.15%'`` -> 0.0015; ``0.0015`` -> 0.0015; ``'-1%'`` -> -0.01 when ``signed``.
    Non-finite (or negative, unless ``signed``) -> ValueError.  The parameters' allowed ranges are
    checked by :data:`RULES`, not here."""
    if isinstance(value, bool):
        raise ValueError(f"{name}: expected a fraction like 0.0015 or 0.15%; got {value!r}")
    if isinstance(value, (int, float)):
        x = float(value)
    else:
        s = str(value).strip()
        try:
            x = float(s[:-1]) / 100.0 if s.endswith("%") else float(s)
        except ValueError:
            raise ValueError(f"{name}: expected a fraction like 0.0015 or 0.15%; got {value!r}") from None
    if not math.isfinite(x) or (x < 0 and not signed):
        raise ValueError(f"{name}: must be a finite{'' if signed else ', non-negative'} fraction; got {value!r}")
    return x


def parse_signed_fraction(value: Any, name: str) -> float:
    return parse_fraction(value, name, signed=True)


def parse_hours(value: Any, name: str = "hours") -> tuple[int, int] | None:
    """``'13-18'`` -> (13, 18): trade when 13 <= UTC hour < 18.  ``'all'``/None -> None.
    Wrapping ranges (``'22-2'``) are allowed."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)) and len(value) == 2:
        a, b = int(value[0]), int(value[1])
    else:
        s = str(value).strip().lower()
        if s in ("", "all", "none", "any"):
            return None
        m = re.match(r"^(\d{1,2})\s*-\s*(\d{1,2})$", s)
        if not m:
            raise ValueError(f"{name}: expected UTC hours like 13-18 or 'all'; got {value!r}")
        a, b = int(m.group(1)), int(m.group(2))
    if not (0 <= a <= 24 and 0 <= b <= 24) or a == b:
        raise ValueError(f"{name}: hours must be 0..24 and differ; got {value!r}")
    return (a, b)


def parse_number(value: Any, name: str = "number", minimum: float | None = None,
                 what: str = "a number") -> float:
    """A finite number (``'1.5'``, ``2``, ``'1_000'``); at least ``minimum`` when given.  Booleans,
    text that is not a number and non-finite values -> ValueError naming ``name``."""
    if isinstance(value, bool):
        raise ValueError(f"{name}: expected {what}; got {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected {what}; got {value!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"{name}: must be finite; got {value!r}")
    if minimum is not None and x < minimum:
        raise ValueError(f"{name}: must be >= {minimum:g}; got {value!r}")
    return x


def parse_whole(value: Any, name: str = "count", minimum: int | None = None) -> int:
    """A whole number: an integer, an integral float or text of one (``'4'``, ``'1_000'``, ``'4.0'``);
    at least ``minimum`` when given.  Booleans, fractions and non-numbers -> ValueError naming ``name``."""
    bad = f"{name}: expected a whole number; got {value!r}"
    if isinstance(value, bool):
        raise ValueError(bad)
    try:
        x = operator.index(value)  # int and numpy integers, exactly
    except TypeError:
        try:
            x = int(value) if isinstance(value, str) else None  # exact for long integer text
        except ValueError:
            x = None
        if x is None:
            try:
                f = float(value)
            except (TypeError, ValueError):
                raise ValueError(bad) from None
            if not f.is_integer():  # fractions, inf, nan
                raise ValueError(bad)
            x = int(f)
    if minimum is not None and x < minimum:
        raise ValueError(f"{name}: must be >= {minimum}; got {value!r}")
    return x


def parse_pos_int(value: Any, name: str) -> int:
    return parse_whole(value, name, minimum=1)


def parse_nonneg_int(value: Any, name: str) -> int:
    return parse_whole(value, name, minimum=0)


def parse_fee(value: Any, name: str) -> float:
    return parse_number(value, name, what="a number of basis points")


def parse_bps(value: Any, name: str) -> float:
    return parse_number(value, name, minimum=0.0, what="a number of basis points")


def parse_nonneg_float(value: Any, name: str) -> float:
    return parse_number(value, name, minimum=0.0)


def parse_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    s = str(value).strip().lower()
    if s in ("1", "true", "yes", "on"):
        return True
    if s in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}: expected on or off; got {value!r}")

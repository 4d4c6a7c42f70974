"""Unit parsers of the parameter vocabulary: durations, fractions and percents, numbers and counts,
UTC hour ranges, on/off switches.

``parse_duration("50ms")`` -> 50_000_000 (int nanoseconds; a plain number is seconds);
``parse_fraction("0.15%")`` -> 0.0015; ``parse_whole("4")`` -> 4.  Every parser takes ``(value, name)``
and raises ValueError naming ``name`` on bad input; ranges are the vocabulary's business
(:data:`liqcore.params.RULES`; a strategy's own fraction: :class:`FractionWithin`), not the plain parsers', but
for what the value's machine type holds: a duration
is at most :data:`DURATION_MAX_NS` (100 years: a time plus a duration stays inside int64 nanoseconds)
and a whole number fits int64 (:data:`INT64_MAX`), so that a value taken here never overflows the
compiled kernels that receive it.

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
    "INT64_MAX",
    "DURATION_MAX_NS",
    "DAYS_MAX",
    "DAYS_MIN",
    "parse_days",
    "parse_duration",
    "format_duration",
    "parse_fraction",
    "FractionWithin",
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

#: the largest int64: times and durations are int64 nanoseconds, counts int64 in the compiled kernels
INT64_MAX = 2**63 - 1
#: the longest duration any option takes: 100 years (36500d).  Times are int64 nanoseconds (up to 2262) and a
#: recording's reach 2100 (:data:`liqcore.validate.FILE_TIME_MAX_NS`): a time plus such a duration (a window,
#: a timeout, a latency) stays inside int64, and in seconds it is a timeout every clock call takes
DURATION_MAX_NS = 36_500 * 86_400_000_000_000
_DUR_MAX = "at most 36500d (100 years)"

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
    """``'50ms'`` -> 50_000_000 (ns). Plain numbers are seconds.  Negative, non-finite or longer than
    :data:`DURATION_MAX_NS` (100 years) -> ValueError naming ``name`` and the range."""
    if isinstance(value, bool):
        raise ValueError(f"{name}: expected a duration like 50ms, 60s, 5m, 1h; got {value!r}")
    if isinstance(value, (int, float)):
        secs = float(value)
        if not math.isfinite(secs) or secs < 0:
            raise ValueError(f"{name}: must be a finite, non-negative duration, {_DUR_MAX}; got {value!r}")
        return _duration_ns(secs, 1_000_000_000, value, name)
    m = _DUR_RE.match(str(value))
    if not m and _DUR_RE.match(str(value).strip().lstrip("-")):
        raise ValueError(f"{name}: must be a non-negative duration, {_DUR_MAX}; got {value!r}")
    if not m:
        raise ValueError(f"{name}: expected a duration like 50ms, 60s, 5m, 1h; got {value!r}")
    num = float(m.group(1))
    if not math.isfinite(num):  # (digits beyond a float's range: 1e400)
        raise ValueError(f"{name}: must be a finite duration, {_DUR_MAX}; got {value!r}")
    return _duration_ns(num, _DUR_UNITS[m.group(2)], value, name)


def _duration_ns(num: float, unit: int, value: Any, name: str) -> int:
    ns = num * unit
    if ns > DURATION_MAX_NS:
        raise ValueError(f"{name}: must be {_DUR_MAX}; got {value!r}")
    return int(round(ns))


def format_duration(ns: int) -> str:
    ns = int(ns)
    for unit, mult in (("h", 3_600_000_000_000), ("m", 60_000_000_000), ("s", 1_000_000_000), ("ms", 1_000_000)):
        if ns and ns % mult == 0:
            return f"{ns // mult}{unit}"
    if 0 < ns < 1_000_000:  # under a millisecond: in its own unit (1us, 1ns), not 1e-09s
        return f"{ns // 1000}us" if ns % 1000 == 0 else f"{ns}ns"
    return f"{ns / 1e9:.10g}s"  # (every nanosecond shown: 999999999 ns is 0.999999999s, not 1s)


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


class FractionWithin:
    """A parser of a fraction in :func:`parse_fraction`'s forms (``0.75``, ``75%``) that holds it to its meaning's
    range: from ``lo`` to ``hi``, each end closed (``[``, ``]``) or open (``(``, ``)``) as ``bounds`` says, and
    ``why`` (what the range means) said with a value outside it: ``purity: must be within [0.5, 1] (...); got
    '1e30'``.  A strategy's share, probability, quantile or price distance takes one (a ``parse_fraction`` alone
    takes any finite number, and ``--purity 1e30`` ran a whole backtest that could take no decision).  Callable as
    ``parse(value, name)``, as every parser; one instance per parameter (strategies sharing a parameter share
    its spec), picklable; ``is_fraction``: its values are shown as percentages, as a ``parse_fraction``'s."""

    is_fraction = True

    def __init__(self, lo: float, hi: float, bounds: str = "[]", why: str = "") -> None:
        if len(bounds) != 2 or bounds[0] not in "[(" or bounds[1] not in "])" or not lo < hi:
            raise ValueError(f"FractionWithin: bounds like '[]' or '(]' and lo < hi; got {bounds!r}, {lo!r}, {hi!r}")
        self.lo, self.hi, self.bounds, self.why = float(lo), float(hi), bounds, why

    def range_text(self) -> str:
        return f"{self.bounds[0]}{self.lo:g}, {self.hi:g}{self.bounds[1]}"

    def __contains__(self, x: float) -> bool:
        return (x >= self.lo if self.bounds[0] == "[" else x > self.lo) and \
            (x <= self.hi if self.bounds[1] == "]" else x < self.hi)

    def __call__(self, value: Any, name: str = "fraction") -> float:
        x = parse_fraction(value, name, signed=True)  # (not a number, inf, NaN: its own words)
        if x not in self:
            why = f" ({self.why})" if self.why else ""
            raise ValueError(f"{name}: must be within {self.range_text()}{why}; got {value!r}")
        return x

    def __repr__(self) -> str:
        return f"FractionWithin({self.lo:g}, {self.hi:g}, {self.bounds!r})"


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


#: the most days an option counting days takes (``--chunk-days``, ``--partition-days``, ``--replay-days``...):
#: 36500, the 100 years of the longest duration (:data:`DURATION_MAX_NS`)
DAYS_MAX = 36_500.0
#: the fewest: one minute (a step of 1e-300 days is 0 ns, and a loop cutting a span into such steps never ends)
DAYS_MIN = 1 / 1440


def parse_days(value: Any, name: str, *, zero_ok: bool = False) -> float:
    """A number of days: finite, from :data:`DAYS_MIN` (a minute) to :data:`DAYS_MAX` (100 years: days times a
    day's nanoseconds stay inside int64), or 0 with ``zero_ok``; else ValueError naming ``name`` and the range."""
    x = parse_number(value, name, what="a number of days")
    if x == 0 and zero_ok:
        return 0.0
    if not DAYS_MIN <= x <= DAYS_MAX:
        shown = f"{x:g}" if isinstance(value, (int, float)) else repr(value)
        raise ValueError(f"{name}: must be {'0 or ' if zero_ok else ''}from 0.000694 (a minute) to 36500 days "
                         f"(100 years); got {shown}")
    return x


def parse_whole(value: Any, name: str = "count", minimum: int | None = None,
                maximum: int | None = INT64_MAX) -> int:
    """A whole number: an integer, an integral float or text of one (``'4'``, ``'1_000'``, ``'4.0'``);
    at least ``minimum`` when given, at most ``maximum`` (default: the largest int64, what the kernels hold;
    None: no bound, for a caller whose own range check follows and names a tighter one).  Booleans,
    fractions and non-numbers -> ValueError naming ``name``."""
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
    if maximum is not None and x > maximum:
        int64 = " (2**63-1, a 64-bit integer)" if maximum == INT64_MAX else ""
        raise ValueError(f"{name}: must be at most {maximum}{int64}; got {value!r}")
    if maximum == INT64_MAX and x < -INT64_MAX - 1:
        raise ValueError(f"{name}: must be at least {-INT64_MAX - 1} (-2**63, a 64-bit integer); got {value!r}")
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

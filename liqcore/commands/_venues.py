"""The registered venues as the command line's help and messages name them: the venues with a given fact of
their :class:`~liqcore.venues.registry.VenueSpec` (``venues_where("sizes_in_contracts")``), so that a help text
never lists venues by hand and a new venue shows up in it.

May import: the venue registry.
"""
from __future__ import annotations

from liqcore.venues.registry import registered, venue_names

__all__ = ["venues_where", "venues_with_part", "venue_list", "MIN_SPEED", "check_speed"]

#: the slowest replay pace a run or a local venue takes (a thousandth of the recording's: their paced timeouts are
#: divided by it)
MIN_SPEED = 0.001


def check_speed(speed: float) -> None:
    """``--speed``: 0 (as fast as possible) or at least :data:`MIN_SPEED`; else one line naming it."""
    if speed < 0 or 0 < speed < MIN_SPEED:
        raise ValueError(f"speed: must be >= 0 (0 = as fast as possible), and else at least {MIN_SPEED:g} (a "
                         f"thousandth of the market's pace: the run's paced timeouts are divided by it); "
                         f"got {speed:g}")


def venues_where(fact: str, value=True, *, sep: str = ", ") -> str:
    """The names of the registered venues whose spec's ``fact`` is ``value`` (True: is truthy), joined by ``sep``
    (``"bybit"``, ``"binance, okx"``); ``"none"`` when no venue has it."""
    names = [s.name for s in registered()
             if (bool(getattr(s, fact)) if value is True else getattr(s, fact) == value)]
    return sep.join(names) or "none"


def venues_with_part(part: str, *, sep: str = ", ") -> str:
    """The names of the registered venues that have the part ``part`` (``"gateway"``: those ``--live`` trades on),
    joined by ``sep`` (no part imported)."""
    return sep.join(s.name for s in registered() if s.has_part(part)) or "none"


def venue_list(sep: str = ", ") -> str:
    """Every registered venue's name, joined by ``sep``."""
    return sep.join(venue_names())

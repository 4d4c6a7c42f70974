"""The registered venues as the command line's help and messages name them: the venues with a given fact of
their :class:`~liqcore.venues.registry.VenueSpec` (``venues_where("sizes_in_contracts")``), so that a help text
never lists venues by hand and a new venue shows up in it.

May import: the venue registry.
"""
from __future__ import annotations

from liqcore.venues.registry import registered, venue_names

__all__ = ["venues_where", "venues_with_part", "venue_list"]


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

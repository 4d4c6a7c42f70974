"""The one reading of a number a venue or a file wrote: :func:`wire_number`; of an integer a venue answered (a
code, a server time): :func:`wire_int`.

Python reads more spellings than any venue or archive writes: ``float()``, ``int()`` and ``Decimal()`` take
digit groups split by underscores (PEP 515: ``"58_000"``), which orjson and pyarrow's CSV reader refuse.  A
reader of the venues' numbers (the frame codecs, the private streams' and REST answers' parsers, the CSV rows read
in Python) converts through :func:`wire_number`, so that such a value is bad input like any other that is no number
(counted and dropped, or a clear error, as the reader does with those), and a fast path that refuses it agrees with
the checked one it falls back to.

May import: the standard library only (the lightest modules of the venues read their numbers here).
"""
from __future__ import annotations

__all__ = ["wire_number", "wire_int"]


def wire_number(value, kind=float):
    """``kind(value)`` (``float``, ``int`` or ``Decimal``) of a number as a venue or a file wrote it: a decimal
    string or a JSON number.  A string holding ``_`` is a ValueError like any other that is no number."""
    if value.__class__ is str and "_" in value:
        raise ValueError(f"not a number: {value!r} (digits grouped by '_': no venue writes them)")
    return kind(value)


def wire_int(value) -> int | None:
    """An integer a venue wrote (an answer code: ``-2011``, ``"51000"``; a server time in ms or s): a JSON integer,
    or a string of an optional ``-`` and ASCII digits; None for anything else -- absent, null, a boolean, a
    fraction, a list, digits grouped by ``_`` -- which ``int()`` would raise on or read as another value
    (``int(True)`` is 1, ``int(-1021.5)`` the timestamp error -1021, ``int("1_021")`` 1021).  The caller treats
    None as an answer that is not the venue's (its transport error: the outcome unknown)."""
    if value.__class__ is int:
        return value
    if value.__class__ is str:
        v = value.strip()
        digits = v[1:] if v[:1] == "-" else v
        if digits and digits.isascii() and digits.isdigit():
            return int(v)
    return None

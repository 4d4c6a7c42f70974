"""What a venue's answer means for an order: each venue's error codes sorted into a few classes, in one table
per venue (``liqcore.venues.<venue>.codes``), each entry with the document it follows.

* ``refused``: the venue processed the request and did not do it (a definite rejection);
* ``unknown``: the venue may or may not have done it (its backend timed out, the answer was lost): the order is
  ``unknown`` until a query by client id says what the venue holds; never taken for a refusal;
* ``rate_limited``: not processed, try later (the venue's limit);
* ``banned``: not processed, and the host refuses this IP for a while: nothing goes to it until the ban ends;
* ``duplicate``: the venue already holds this client id (the order it holds is the answer).
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["REFUSED", "UNKNOWN", "RATE_LIMITED", "BANNED", "DUPLICATE", "CLASSES", "Code", "CodeTable"]

REFUSED, UNKNOWN, RATE_LIMITED, BANNED, DUPLICATE = "refused", "unknown", "rate_limited", "banned", "duplicate"
CLASSES = (REFUSED, UNKNOWN, RATE_LIMITED, BANNED, DUPLICATE)


@dataclass(frozen=True)
class Code:
    """One documented answer: the venue's ``code`` (an error code, or ``"HTTP 418"`` for a status), its class
    (``what``), the venue's own words and the document that says so."""
    code: str
    what: str
    message: str
    doc: str

    def __post_init__(self):
        if self.what not in CLASSES:
            raise ValueError(f"{self.code}: class must be one of {', '.join(CLASSES)}, got {self.what!r}")
        if not self.doc:
            raise ValueError(f"{self.code}: every code names the document it follows")


class CodeTable:
    """A venue's codes by class; a code it does not list is ``default`` (a refusal: the venue answered)."""

    def __init__(self, venue: str, codes, default: str = REFUSED) -> None:
        self.venue, self.default = venue, default
        self.codes: dict[str, Code] = {}
        for c in codes:
            if str(c.code) in self.codes:
                raise ValueError(f"{venue}: code {c.code} listed twice")
            self.codes[str(c.code)] = c

    def what(self, code) -> str:
        """The class of ``code`` (an int or a string; ``"HTTP 418"`` for a status)."""
        c = self.codes.get(str(code))
        return c.what if c is not None else self.default

    def of(self, what: str) -> list[Code]:
        """Every listed code of one class."""
        return [c for c in self.codes.values() if c.what == what]

    def __contains__(self, code) -> bool:
        return str(code) in self.codes

    def __getitem__(self, code) -> Code:
        return self.codes[str(code)]

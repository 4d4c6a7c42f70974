"""What Gate API v4's answers mean for an order: each label the gateway meets, sorted into refused / unknown /
rate limited (:mod:`liqcore.venues.outcomes`), with Gate's own words and the document that says so.

Gate answers an error with an HTTP status and ``{"label": ..., "message": ...}``; the sorting follows Gate API v4,
"Error handling" / "label list" (https://www.gate.com/docs/developers/apiv4/en/#label-list):

* ``unknown``: the "Server errors" ``INTERNAL`` and ``SERVER_ERROR`` ("Internal server error") and ``TOO_BUSY``
  ("Server is too busy at the moment"): the server failed after taking the request, so whether the order exists
  is not known; a query by its client id (``text``) says what Gate holds;
* ``rate_limited``: HTTP 429 ``TOO_MANY_REQUESTS`` (Gate API v4 "Frequency limit rule": a request over the limit is
  answered 429) and ``TOO_FAST`` (read as a rate limit by ccxt's gate.py ``exceptions``: ``RateLimitExceeded``);
* every other label (``POC_FILL_IMMEDIATELY``, ``ORDER_POC_IMMEDIATE``, ``INSUFFICIENT_AVAILABLE``,
  ``SIZE_TOO_SMALL``, ...) is a refusal (the table's default).
"""
from __future__ import annotations

from liqcore.venues.outcomes import RATE_LIMITED, UNKNOWN, Code, CodeTable

__all__ = ["CODES", "LABEL_DOC"]

LABEL_DOC = "Gate API v4, Error handling, label list, https://www.gate.com/docs/developers/apiv4/en/#label-list"
_SERVER = LABEL_DOC + " (Server errors)"
_LIMITS = "Gate API v4, Frequency limit rule (HTTP 429)"

CODES = CodeTable("gate", [
    Code("INTERNAL", UNKNOWN, "Internal server error", _SERVER),
    Code("SERVER_ERROR", UNKNOWN, "Internal server error", _SERVER),
    Code("TOO_BUSY", UNKNOWN, "Server is too busy at the moment", _SERVER),
    Code("TOO_MANY_REQUESTS", RATE_LIMITED, "Request Rate limit Exceeded (HTTP 429)", _LIMITS),
    Code("HTTP 429", RATE_LIMITED, "Too Many Requests", _LIMITS),
    Code("TOO_FAST", RATE_LIMITED, "Request frequency exceeds the limit",
         LABEL_DOC + "; ccxt gate.py exceptions: TOO_FAST -> RateLimitExceeded"),
])

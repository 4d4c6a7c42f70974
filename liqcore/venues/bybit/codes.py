"""What Bybit's v5 answers mean for an order: its ``retCode`` values and HTTP statuses sorted into
refused / unknown / rate limited / banned / duplicate (:mod:`liqcore.venues.outcomes`), each with the venue's own
words and the page that says them.

Why it matters: Bybit answers an overloaded create with HTTP 200 and ``retCode 10000`` ("Server Timeout"); the
order may or may not exist.  Taking that for a refusal forgets an order the venue may hold (a live order nobody
manages, or a fill with no exits).  An HTTP 403 is an IP ban of at least 10 minutes: every request into it
lengthens it.

A code not listed is a refusal (the venue processed the request and did not do it).  ``"HTTP 403"`` names a status.
"""
from __future__ import annotations

from liqcore.venues.outcomes import BANNED, DUPLICATE, RATE_LIMITED, UNKNOWN, Code, CodeTable

__all__ = ["CODES", "ERROR_DOC", "RATE_LIMIT_DOC", "BAN_MIN_S", "IP_LIMIT", "IP_WINDOW_S"]

ERROR_DOC = "https://bybit-exchange.github.io/docs/v5/error (Error Codes: HTTP code, UTA / General codes)"
RATE_LIMIT_DOC = "https://bybit-exchange.github.io/docs/v5/rate-limit (Rate Limit: IP Limit, HTTP IP limit)"
ORDER_ERR_DOC = "https://bybit-exchange.github.io/docs/v5/error (Error Codes: Derivatives / UTA trade codes)"

#: the venue's IP limit: "600 requests within a 5-second window per IP" (Rate Limit, HTTP IP limit)
IP_LIMIT, IP_WINDOW_S = 600, 5.0
#: an HTTP 403 "access too frequent": "terminate all HTTP sessions and wait for at least 10 minutes" (same page)
BAN_MIN_S = 600.0

CODES = CodeTable("bybit", [
    Code("10000", UNKNOWN, "Server Timeout", ERROR_DOC),
    Code("10016", UNKNOWN, "Server error. (WS OE: 1. internal server error; 2. Service is restarting)", ERROR_DOC),
    Code("10006", RATE_LIMITED, "Too many visits. Exceeded the API Rate Limit.", ERROR_DOC),
    Code("10018", RATE_LIMITED, "Exceeded the IP Rate Limit.", ERROR_DOC),
    Code("HTTP 429", RATE_LIMITED, "System level frequency protection. Please retry when encounter this", ERROR_DOC),
    Code("HTTP 403", BANNED, "403, access too frequent: terminate all HTTP sessions and wait for at least 10 minutes",
         RATE_LIMIT_DOC),
    Code("10009", BANNED, "IP has been banned.", ERROR_DOC),
    Code("110072", DUPLICATE, "OrderLinkedID is duplicate", ORDER_ERR_DOC),
])

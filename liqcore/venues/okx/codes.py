"""What OKX v5's answers mean for an order: each code the gateway meets, sorted into refused / unknown / rate
limited / duplicate (:mod:`liqcore.venues.outcomes`), with OKX's own words and the document that says so.

The sorting follows each code's words in OKX v5 "Error Code" (https://www.okx.com/docs-v5/en/#error-code,
sections "REST API / Public" and "Trade"):

* ``unknown`` where OKX says the result must be checked (50004: "does not mean that the request was successful
  or failed, please check the request result"), where its HTTP status is a 5xx (50001 503, 50026 500: the
  gateway could not answer, whatever the engine did), and the trade code 51149 "Order timed out" (the order
  service timed out after taking the request; nautilus_okx's ``OKX_ORDER_REQUEST_TIMEOUT_CODE`` reads it the
  same way): a query by clOrdId says what OKX holds;
* ``rate_limited`` where OKX refused before doing anything and asks for a later retry: 50011 (HTTP 429),
  50061 (the sub-account's order rate) and 50013 "Systems are busy. Please try again later." (HTTP 200);
* ``duplicate``: 51016 "Duplicated clOrdId" (the order OKX holds is the answer).

Bans: OKX v5 documents no IP ban status or code for REST ("Rate Limits" in "Overview": a request over a limit
is answered 50011 / HTTP 429, nothing longer), so no code here is ``banned``; a ``Retry-After`` OKX might send
is still honoured by the host's governor (a pause longer than the governor's bound acts as a ban).
"""
from __future__ import annotations

from liqcore.venues.outcomes import DUPLICATE, RATE_LIMITED, UNKNOWN, Code, CodeTable

__all__ = ["CODES", "ERROR_CODE_DOC"]

ERROR_CODE_DOC = "OKX v5 API, Error Code, https://www.okx.com/docs-v5/en/#error-code"
_PUBLIC = ERROR_CODE_DOC + " (REST API: Public)"
_TRADE = ERROR_CODE_DOC + " (REST API: Trade)"

CODES = CodeTable("okx", [
    Code("50001", UNKNOWN, "Service temporarily unavailable. Try again later (HTTP 503)", _PUBLIC),
    Code("50004", UNKNOWN, "API endpoint request timeout (does not mean that the request was successful or failed, "
                           "please check the request result)", _PUBLIC),
    Code("50026", UNKNOWN, "System error. Try again later (HTTP 500)", _PUBLIC),
    Code("51149", UNKNOWN, "Order timed out. Please try again.", _TRADE),
    Code("50011", RATE_LIMITED, "Rate limit reached. Please refer to API documentation and throttle requests "
                                "accordingly (HTTP 429)", _PUBLIC),
    Code("50061", RATE_LIMITED, "Sub-account rate limit exceeded (HTTP 429)", _PUBLIC),
    Code("50013", RATE_LIMITED, "Systems are busy. Please try again later.", _PUBLIC),
    Code("HTTP 429", RATE_LIMITED, "Too Many Requests", _PUBLIC + "; OKX v5 Overview, Rate Limits"),
    Code("51016", DUPLICATE, "Duplicated clOrdId", _TRADE),
])

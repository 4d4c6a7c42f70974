"""What Binance USD-M futures answers mean for an order (:class:`liqcore.venues.outcomes.CodeTable`).

Each entry names the document it follows: the USD-M futures "Error Codes" page
(https://developers.binance.com/docs/derivatives/usds-margined-futures/error-code, section "10xx - General Server or
Network issues" and "20xx/40xx") and "General Info" (https://developers.binance.com/docs/derivatives/
usds-margined-futures/general-info, section "HTTP Return Codes" and "IP Limits").  A code not listed is a refusal:
the venue processed the request and did not do it.
"""
from __future__ import annotations

from liqcore.venues.outcomes import BANNED, DUPLICATE, RATE_LIMITED, UNKNOWN, Code, CodeTable

__all__ = ["CODES", "ERROR_CODES_DOC", "GENERAL_INFO_DOC", "what_of"]

ERROR_CODES_DOC = "https://developers.binance.com/docs/derivatives/usds-margined-futures/error-code"
GENERAL_INFO_DOC = "https://developers.binance.com/docs/derivatives/usds-margined-futures/general-info"

CODES = CodeTable("binance", [
    Code("-1006", UNKNOWN, "An unexpected response was received from the message bus. Execution status unknown.",
         f"{ERROR_CODES_DOC}, 10xx - General Server or Network issues, -1006 UNEXPECTED_RESP"),
    Code("-1007", UNKNOWN, "Timeout waiting for response from backend server. Send status unknown; execution "
                           "status unknown.",
         f"{ERROR_CODES_DOC}, 10xx - General Server or Network issues, -1007 TIMEOUT"),
    Code("HTTP 408", UNKNOWN, "HTTP 408 return code is used when a timeout has occurred while waiting for a "
                              "response from the backend server.",
         f"{GENERAL_INFO_DOC}, HTTP Return Codes"),
    Code("HTTP 5xx", UNKNOWN, "HTTP 5XX return codes are used for internal errors; the issue is on Binance's side. "
                              "It is important to NOT treat this as a failure operation; the execution status is "
                              "UNKNOWN and could have been a success.",
         f"{GENERAL_INFO_DOC}, HTTP Return Codes"),
    Code("-1003", RATE_LIMITED, "Too many requests queued. / Too much request weight used; current limit is %s "
                                "request weight per %s.",
         f"{ERROR_CODES_DOC}, 10xx - General Server or Network issues, -1003 TOO_MANY_REQUESTS"),
    Code("HTTP 429", RATE_LIMITED, "HTTP 429 return code is used when breaking a request rate limit.",
         f"{GENERAL_INFO_DOC}, HTTP Return Codes"),
    Code("HTTP 418", BANNED, "HTTP 418 return code is used when an IP has been auto-banned for continuing to send "
                             "requests after receiving 429 codes.",
         f"{GENERAL_INFO_DOC}, HTTP Return Codes; IP Limits (Retry-After: the seconds until the ban ends, 2 "
         "minutes to 3 days)"),
    Code("-4116", DUPLICATE, "ClientOrderId is duplicated.",
         f"{ERROR_CODES_DOC}, 40xx - Filters and other Issues, -4116 DUPLICATED_CLIENT_ORDER_ID"),
])


def what_of(code: int | None, http_status: int = 0) -> str:
    """The class of one answer: its error code first, else its HTTP status (``HTTP 5xx`` for any 5xx)."""
    if code is not None and str(code) in CODES:
        return CODES.what(code)
    if http_status >= 500:
        return CODES.what("HTTP 5xx")
    if http_status:
        return CODES.what(f"HTTP {http_status}")
    return CODES.default

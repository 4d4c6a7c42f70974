"""Gate API v4 REST signing and answer labels, against Gate's documents.

Gate API v4, "Authentication" / "API Signature string generation" (https://www.gate.com/docs/developers/apiv4/en/):
``SIGN = HexEncode(HMAC_SHA512(secret, Method\\nURL\\nQuery\\nHexEncode(SHA512(Payload))\\nTimestamp))`` and its two
worked examples with key ``key`` and secret ``secret`` at Timestamp 1541993715 (a GET with a query, a POST with a
JSON body), whose signature strings and signatures are the document's, quoted below; the same algorithm as
gateapi-python's ``gen_sign`` and ccxt's gate.py ``sign``.  The labels: "Error handling" / label list ("Server
errors": INTERNAL, SERVER_ERROR, TOO_BUSY).
"""
from __future__ import annotations

DOC_TS = 1541993715


def test_the_documented_get_example_signs_as_gate_says():
    from liqcore.venues.gate.rest import EMPTY_BODY_SHA512, sign, signature_string

    assert EMPTY_BODY_SHA512 == ("cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8"
                                 "318d2877eec2f63b931bd47417a81a538327af927da3e")
    s = signature_string("GET", "/api/v4/futures/orders", "contract=BTC_USD&status=finished&limit=50", "", DOC_TS)
    assert s == ("GET\n/api/v4/futures/orders\ncontract=BTC_USD&status=finished&limit=50\n" + EMPTY_BODY_SHA512
                 + "\n1541993715")
    assert sign("secret", "get", "/api/v4/futures/orders", "contract=BTC_USD&status=finished&limit=50", "", DOC_TS) == (
        "55f84ea195d6fe57ce62464daaa7c3c02fa9d1dde954e4c898289c9a2407a3d6fb3faf24deff16790d726b66ac9f74526668b13bd0102"
        "9199cc4fcc522418b8a")


def test_the_documented_post_example_hashes_the_body_and_signs_as_gate_says():
    from liqcore.venues.gate.rest import signature_string, signed_headers

    body = '{"contract":"BTC_USD","type":"limit","size":100,"price":6800,"time_in_force":"gtc"}'
    s = signature_string("POST", "/api/v4/futures/orders", "", body, DOC_TS)
    assert s.split("\n")[3] == ("ad3c169203dc3026558f01b4df307641fa1fa361f086b2306658886d5708767b1854797c68d9e62fef2f9"
                                "91645aa82673622ebf417e091d0bd22bafe5d956cca")
    assert s.split("\n")[2] == ""  # (no query: the empty string)
    h = signed_headers("key", "secret", "POST", "/api/v4/futures/orders", "", body.encode(), DOC_TS)
    assert h == {"KEY": "key", "Timestamp": "1541993715", "SIGN": (
        "eae42da914a590ddf727473aff25fc87d50b64783941061f47a3fdb92742541fc4c2c14017581b4199a1418d54471c269c03a38d788d8"
        "02e2c306c37636389f0")}
    assert "secret" not in repr(h)


def test_gates_server_error_labels_are_unknown_outcomes_and_its_limits_rate_limited():
    from liqcore.venues.gate.codes import CODES
    from liqcore.venues.outcomes import RATE_LIMITED, REFUSED, UNKNOWN

    assert [CODES.what(x) for x in ("INTERNAL", "SERVER_ERROR", "TOO_BUSY")] == [UNKNOWN] * 3
    assert [CODES.what(x) for x in ("TOO_MANY_REQUESTS", "HTTP 429", "TOO_FAST")] == [RATE_LIMITED] * 3
    # a documented futures refusal is a refusal: the post-only entry that would take, a size under the minimum
    assert CODES.what("ORDER_POC_IMMEDIATE") == CODES.what("SIZE_TOO_SMALL") == REFUSED
    assert all(c.doc.startswith("Gate API v4") for c in CODES.codes.values())

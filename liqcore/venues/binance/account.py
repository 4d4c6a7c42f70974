"""Binance USD-M futures account endpoints a trader checks before going live (``liqcore preflight``).

Pure request builders and readers of the documented answers:

* ``GET /fapi/v1/time`` -> ``{"serverTime": ms}``;
* ``GET /sapi/v1/account/apiRestrictions`` (the SPOT base, ``https://api.binance.com``; signed) ->
  ``enableReading``, ``enableFutures`` (the key may trade USD-M futures), ``enableWithdrawals``, ``ipRestrict``;
* ``GET /fapi/v1/positionSide/dual`` (signed) -> ``{"dualSidePosition": true}`` = hedge mode, false = one-way;
* ``GET /fapi/v1/multiAssetsMargin`` (signed) -> ``{"multiAssetsMargin": true}`` = multi-assets mode;
* ``GET /fapi/v1/symbolConfig?symbol=S`` (signed) -> ``[{"symbol", "marginType": "CROSSED"|"ISOLATED",
  "leverage": 21, ...}]``;
* ``GET /fapi/v1/commissionRate?symbol=S`` (signed) -> ``makerCommissionRate``, ``takerCommissionRate`` (fractions);
* ``GET /fapi/v1/ticker/24hr`` -> ``[{"symbol", "lastPrice"}]``.

Signing: query string + ``&signature=`` hex HMAC-SHA256(secret, query string), header ``X-MBX-APIKEY``; valid when
``timestamp < serverTime + 1000`` and ``serverTime - timestamp <= recvWindow``.  Errors: ``{"code": <0, "msg"}``.
"""
from __future__ import annotations

from urllib.parse import urlencode

from liqcore.venues.binance.rest import sign
from liqcore.venues.numbers import wire_number

__all__ = ["TIME_PATH", "TICKERS", "SPOT_REST", "SPOT_ON_REST_URL", "RECV_WINDOW_MS", "SKEW_LIMIT_MS", "server_time_ms",
           "last_prices", "signed", "check_answer", "permissions", "position_mode", "multi_assets", "position", "fee_rates"]

TIME_PATH = "/fapi/v1/time"
TICKERS = ("/fapi/v1/ticker/24hr", {})
#: the SPOT REST base, where the key's restrictions are read
SPOT_REST = {"mainnet": "https://api.binance.com"}
#: preflight: a ``--rest-url`` serves the spot API too (the fake Binance does), so the permissions are asked there
SPOT_ON_REST_URL = True
RECV_WINDOW_MS = 5000
SKEW_LIMIT_MS = (RECV_WINDOW_MS, 1000)
API_RESTRICTIONS = "/sapi/v1/account/apiRestrictions"
DUAL = "/fapi/v1/positionSide/dual"
MULTI_ASSETS = "/fapi/v1/multiAssetsMargin"
SYMBOL_CONFIG = "/fapi/v1/symbolConfig"
COMMISSION = "/fapi/v1/commissionRate"


class BinanceAnswerError(ValueError):
    pass


def check_answer(body):
    if isinstance(body, dict) and isinstance(body.get("code"), int) and body["code"] < 0:
        raise BinanceAnswerError(f"code {body['code']}: {body.get('msg', '')}")
    return body


def server_time_ms(body: dict) -> int:
    return int(check_answer(body)["serverTime"])


def last_prices(body) -> dict[str, float]:
    rows = check_answer(body)
    return {str(x["symbol"]): wire_number(x["lastPrice"]) for x in rows if x.get("lastPrice") not in (None, "")}


def signed(api_key: str, secret, path: str, params: dict, now_ms: int) -> tuple[str, dict]:
    q = urlencode({**params, "recvWindow": RECV_WINDOW_MS, "timestamp": now_ms})
    return f"{path}?{q}&signature={sign(secret, q)}", {"X-MBX-APIKEY": api_key}


def permissions(body: dict) -> dict:
    b = check_answer(body)
    trade, withdraw = bool(b.get("enableFutures")), bool(b.get("enableWithdrawals"))
    flags = ", ".join(k for k in ("enableReading", "enableFutures", "enableWithdrawals", "ipRestrict") if b.get(k))
    return {"trade": trade, "withdraw": withdraw, "detail": f"key restrictions: {flags or 'none enabled'}"}


def position_mode(body: dict) -> str:
    return "hedge" if check_answer(body).get("dualSidePosition") else "one-way"


def multi_assets(body: dict) -> bool:
    return bool(check_answer(body).get("multiAssetsMargin"))


def position(body, symbol: str) -> dict:
    rows = [x for x in check_answer(body) if x.get("symbol") == symbol]
    if not rows:
        raise BinanceAnswerError(f"no position row for {symbol}")
    x = rows[0]
    m = str(x.get("marginType") or "?").upper()
    return {"leverage": wire_number(x.get("leverage") or 0),
            "margin": {"CROSSED": "cross", "ISOLATED": "isolated"}.get(m, m)}


def fee_rates(body: dict, symbol: str) -> tuple[float, float]:
    b = check_answer(body)
    return wire_number(b["makerCommissionRate"]), wire_number(b["takerCommissionRate"])


async def preflight_checks(k) -> None:
    """``liqcore preflight``'s account checks on this venue: the key's restrictions (on the spot REST base), position
    mode (dual side), margin mode (multi-assets), each symbol's leverage (symbol config) and commission. ``k``:
    the preflight's kit (``call(path, params, base=)`` a signed GET, ``row(check, target, fn)`` one row of an
    awaited check, ``Row``, ``perm_rows``, ``mode_row``, ``lev_row``, ``fee_rows``, ``symbols``, ``rows``,
    ``venue``, ``spot_base``)."""
    async def perms():
        if not k.spot_base:
            return [k.Row("permissions", "trading", "WARN", "no spot REST base to read the key's restrictions on "
                                                          "(testnet has none): not checked")]
        return k.perm_rows(permissions(await k.call(API_RESTRICTIONS, base=k.spot_base)))

    async def mode():
        return [k.mode_row(position_mode(await k.call(DUAL)))]

    async def margin():
        multi = multi_assets(await k.call(MULTI_ASSETS))
        return [k.Row("margin mode", k.venue, "PASS", "multi-assets" if multi else "single-asset")]

    await k.row("permissions", "trading", perms)
    await k.row("position mode", k.venue, mode)
    await k.row("margin mode", k.venue, margin)
    for s in k.symbols:
        async def pos(s=s):
            p = position(await k.call(SYMBOL_CONFIG, {"symbol": s}), s)
            return [k.lev_row(s, p["leverage"], p["margin"])]

        async def fee(s=s):
            return k.fee_rows(s, *fee_rates(await k.call(COMMISSION, {"symbol": s}), s))

        await k.row("leverage", s, pos)
        await k.row("fees", s, fee)

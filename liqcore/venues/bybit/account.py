"""Bybit v5 account endpoints a trader checks before going live (``liqcore preflight``): the server time, the
key's permissions, the account's margin mode, a symbol's position mode and leverage, the account's fee rates.

Pure request builders and readers of the documented answers (``{"retCode":0,"retMsg":"OK","result":{...}}``):

* ``GET /v5/market/time`` -> ``result.timeNano`` / ``timeSecond``;
* ``GET /v5/user/query-api`` -> ``result.readOnly`` (0 read and write, 1 read only) and ``result.permissions``
  (``ContractTrade: ["Order", "Position"]``, ``Wallet: [..., "Withdraw"]``, ...);
* ``GET /v5/account/info`` -> ``result.marginMode`` (``ISOLATED_MARGIN``, ``REGULAR_MARGIN`` = cross,
  ``PORTFOLIO_MARGIN``);
* ``GET /v5/position/list?category=linear&symbol=S`` (``inverse`` for an inverse symbol) -> ``result.list[]``:
  ``positionIdx`` (0 one-way, 1/2 hedge), ``leverage``, ``tradeMode`` (0 cross, 1 isolated);
* ``GET /v5/account/fee-rate?category=linear&symbol=S`` (likewise) -> ``result.list[]``: ``makerFeeRate``,
  ``takerFeeRate`` (fractions; negative = a rebate);
* ``GET /v5/market/tickers?category=linear`` -> ``result.list[]``: ``symbol``, ``lastPrice``.

Signing (private GETs): headers ``X-BAPI-API-KEY``, ``X-BAPI-TIMESTAMP``, ``X-BAPI-RECV-WINDOW``, ``X-BAPI-SIGN`` =
hex HMAC-SHA256(secret, timestamp + key + recv_window + query string); valid when
``server_time - recv_window <= timestamp < server_time + 1000``.
"""
from __future__ import annotations

from urllib.parse import urlencode

from liqcore.venues.bybit.inverse import category_of
from liqcore.venues.bybit.signing import rest_signature
from liqcore.venues.numbers import wire_number

__all__ = ["TIME_PATH", "TICKERS", "RECV_WINDOW_MS", "SKEW_LIMIT_MS", "server_time_ms", "last_prices", "signed",
           "result_of", "permissions", "margin_mode", "position", "fee_rates"]

TIME_PATH = "/v5/market/time"
TICKERS = ("/v5/market/tickers", {"category": "linear"})
RECV_WINDOW_MS = 5000
#: (how far this machine's clock may be behind the venue's, how far ahead) for a signed request to be valid
SKEW_LIMIT_MS = (RECV_WINDOW_MS, 1000)
QUERY_API = "/v5/user/query-api"
ACCOUNT_INFO = "/v5/account/info"
POSITION_LIST = "/v5/position/list"
FEE_RATE = "/v5/account/fee-rate"


class BybitAnswerError(ValueError):
    pass


def result_of(body: dict) -> dict:
    """The ``result`` of a Bybit answer; ValueError naming ``retCode``/``retMsg`` when it failed."""
    if not isinstance(body, dict) or "retCode" not in body:
        raise BybitAnswerError("not a Bybit v5 answer")
    if body.get("retCode") != 0:
        raise BybitAnswerError(f"retCode {body.get('retCode')}: {body.get('retMsg', '')}")
    return body.get("result") or {}


def server_time_ms(body: dict) -> int:
    r = result_of(body)
    if r.get("timeNano"):
        return int(r["timeNano"]) // 1_000_000
    return int(r["timeSecond"]) * 1000


def last_prices(body: dict) -> dict[str, float]:
    return {str(x["symbol"]): wire_number(x["lastPrice"]) for x in result_of(body).get("list") or []
            if x.get("lastPrice") not in (None, "")}


def signed(api_key: str, secret, path: str, params: dict, now_ms: int) -> tuple[str, dict]:
    """``(path?query, headers)`` of a signed GET."""
    q = urlencode(params)
    sig = rest_signature(secret, now_ms, api_key, RECV_WINDOW_MS, q)
    return (f"{path}?{q}" if q else path), {"X-BAPI-API-KEY": api_key, "X-BAPI-TIMESTAMP": str(now_ms),
                                           "X-BAPI-RECV-WINDOW": str(RECV_WINDOW_MS), "X-BAPI-SIGN": sig}


def permissions(body: dict) -> dict:
    """``{"trade": can place linear orders, "withdraw": can withdraw, "detail": text}``."""
    r = result_of(body)
    perms = r.get("permissions") or {}
    contract = set(perms.get("ContractTrade") or []) | set(perms.get("Derivatives") or [])
    read_only = str(r.get("readOnly", "0")) == "1"
    trade = not read_only and "Order" in contract
    withdraw = "Withdraw" in (perms.get("Wallet") or [])
    held = ", ".join(f"{k}: {'/'.join(v)}" for k, v in sorted(perms.items()) if v) or "none"
    return {"trade": trade, "withdraw": withdraw,
            "detail": f"{'read-only' if read_only else 'read-write'} key; {held}"}


def margin_mode(body: dict) -> str:
    m = str(result_of(body).get("marginMode") or "")
    return {"REGULAR_MARGIN": "cross", "ISOLATED_MARGIN": "isolated", "PORTFOLIO_MARGIN": "portfolio"}.get(m, m or "?")


def position(body: dict, symbol: str) -> dict:
    """``{"mode": "one-way" | "hedge", "leverage": x, "margin": "cross" | "isolated"}`` of ``symbol``."""
    rows = [x for x in result_of(body).get("list") or [] if x.get("symbol") == symbol]
    if not rows:
        raise BybitAnswerError(f"no position row for {symbol}")
    x = rows[0]
    return {"mode": "one-way" if int(x.get("positionIdx", 0)) == 0 else "hedge",
            "leverage": wire_number(x.get("leverage") or 0),
            "margin": "isolated" if int(x.get("tradeMode", 0)) else "cross"}


def fee_rates(body: dict, symbol: str) -> tuple[float, float]:
    """``(maker, taker)`` as fractions (0.0002 = 2 bps; negative = a rebate)."""
    for x in result_of(body).get("list") or []:
        if x.get("symbol") in (symbol, None, ""):
            return wire_number(x["makerFeeRate"]), wire_number(x["takerFeeRate"])
    raise BybitAnswerError(f"no fee rate for {symbol}")


async def preflight_checks(k) -> None:
    """``liqcore preflight``'s account checks on this venue: the key's permissions (query-api), margin mode (account
    info), each symbol's position mode and leverage (position list) and fee rates. ``k``: the preflight's kit
    (``call(path, params, base=)`` a signed GET, ``row(check, target, fn)`` one row of an awaited check,
    ``Row``, ``perm_rows``, ``mode_row``, ``lev_row``, ``fee_rows``, ``symbols``, ``rows``, ``venue``,
    ``spot_base``)."""
    async def perms():
        return k.perm_rows(permissions(await k.call(QUERY_API)))

    async def margin():
        return [k.Row("margin mode", k.venue, "PASS", margin_mode(await k.call(ACCOUNT_INFO)))]

    await k.row("permissions", "trading", perms)
    await k.row("margin mode", k.venue, margin)
    modes = set()
    for s in k.symbols:
        async def pos(s=s):
            p = position(await k.call(POSITION_LIST, {"category": category_of(s), "symbol": s}), s)
            modes.add(p["mode"])
            return [k.lev_row(s, p["leverage"], p["margin"])]

        async def fee(s=s):
            return k.fee_rows(s, *fee_rates(await k.call(FEE_RATE, {"category": category_of(s), "symbol": s}), s))

        await k.row("leverage", s, pos)
        await k.row("fees", s, fee)
    if modes:
        k.rows.insert(3, k.mode_row("hedge" if "hedge" in modes else "one-way"))

"""OKX v5 account endpoints a trader checks before going live (``liqcore preflight``).

Pure request builders and readers of the documented answers (``{"code":"0","msg":"","data":[...]}``):

* ``GET /api/v5/public/time`` -> ``data[0].ts`` (ms);
* ``GET /api/v5/account/config`` -> ``data[0]``: ``perm`` (``read_only``, ``trade``, ``withdraw``, comma separated),
  ``posMode`` (``net_mode`` one-way, ``long_short_mode`` hedge), ``acctLv`` (1 spot mode: no swaps; 2 futures
  mode; 3 multi-currency margin; 4 portfolio margin);
* ``GET /api/v5/account/leverage-info?instId=I&mgnMode=cross`` -> ``data[]``: ``lever``, ``mgnMode``;
* ``GET /api/v5/account/trade-fee?instType=SWAP&instFamily=F`` -> ``data[0]``: ``maker``/``taker`` (and
  ``makerU``/``takerU`` for USDT-margined contracts); OKX's sign: a NEGATIVE rate is a commission paid, a positive
  one a rebate;
* ``GET /api/v5/market/tickers?instType=SWAP`` -> ``data[]``: ``instId``, ``last``.

Signing: headers ``OK-ACCESS-KEY``, ``OK-ACCESS-SIGN`` = base64 HMAC-SHA256(secret, timestamp + method +
request path with query + body), ``OK-ACCESS-TIMESTAMP`` (ISO 8601 UTC, ms), ``OK-ACCESS-PASSPHRASE``, and for
demo trading ``x-simulated-trading: 1`` (the same REST base); a request whose timestamp is more than 30 s from
the server's time is refused (code 50102).  ``/public/time``, ``/public/instruments`` and ``/market/tickers`` are
public (unsigned).
"""
from __future__ import annotations

from urllib.parse import urlencode

from liqcore.venues.numbers import wire_number

__all__ = ["TIME_PATH", "TICKERS", "SKEW_LIMIT_MS", "server_time_ms", "last_prices", "signed", "sign_options",
           "listed_symbol", "data_of", "config", "leverage", "fee_rates", "inst_family"]

TIME_PATH = "/api/v5/public/time"
TICKERS = ("/api/v5/market/tickers", {"instType": "SWAP"})
SKEW_LIMIT_MS = (30_000, 30_000)
CONFIG = "/api/v5/account/config"
LEVERAGE = "/api/v5/account/leverage-info"
TRADE_FEE = "/api/v5/account/trade-fee"


class OkxAnswerError(ValueError):
    pass


def data_of(body: dict) -> list:
    if not isinstance(body, dict) or "code" not in body:
        raise OkxAnswerError("not an OKX v5 answer")
    if str(body["code"]) != "0":
        from liqcore.venues.okx.rest import explain

        raise OkxAnswerError(f"code {explain(body['code'], body.get('msg', ''))}")
    return body.get("data") or []


def server_time_ms(body: dict) -> int:
    return int(data_of(body)[0]["ts"])


def _symbol(inst_id: str) -> str:
    parts = inst_id.split("-")
    return "".join(parts[:2]) if len(parts) >= 3 and parts[-1] == "SWAP" else inst_id


def inst_family(symbol: str) -> str:
    from liqcore.venues.okx.stream import inst_id

    return inst_id(symbol).rsplit("-", 1)[0]


def last_prices(body: dict) -> dict[str, float]:
    return {_symbol(str(x["instId"])): wire_number(x["last"]) for x in data_of(body) if x.get("last") not in (None, "")}


def sign_options(passphrase: str, network: str) -> dict:
    """What :func:`signed` takes beyond the key and secret (preflight asks): the key's passphrase, and demo
    trading's header off mainnet."""
    return {"passphrase": passphrase, "demo": network != "mainnet"}


def listed_symbol(symbol: str) -> str:
    """The instrument list's name of ``symbol`` (preflight asks): ``ETHUSDT`` -> ``ETH-USDT-SWAP``; an instId as is."""
    from liqcore.venues.okx.stream import inst_id

    return inst_id(symbol)


def signed(api_key: str, secret, path: str, params: dict, now_ms: int, passphrase: str = "",
           demo: bool = False) -> tuple[str, dict]:
    """``(request path with its query, headers)`` of one signed GET, as the gateway signs it
    (:func:`liqcore.venues.okx.rest.sign_headers`; ``demo``: demo trading's ``x-simulated-trading: 1``)."""
    from liqcore.venues.okx.rest import sign_headers

    q = urlencode(params)
    target = f"{path}?{q}" if q else path
    return target, sign_headers(api_key, secret, passphrase, "GET", target, timestamp_ms=now_ms, demo=demo)


def config(body: dict) -> dict:
    """``{"trade", "withdraw", "mode": "one-way"|"hedge", "margin": text, "detail"}``."""
    d = data_of(body)[0]
    perm = {p.strip() for p in str(d.get("perm") or "").split(",") if p.strip()}
    lv = str(d.get("acctLv") or "")
    margin = {"1": "spot mode (no swaps)", "2": "futures mode", "3": "multi-currency margin",
              "4": "portfolio margin"}.get(lv, lv or "?")
    return {"trade": "trade" in perm and lv != "1", "withdraw": "withdraw" in perm,
            "mode": "hedge" if d.get("posMode") == "long_short_mode" else "one-way", "margin": margin,
            "detail": f"perm {','.join(sorted(perm)) or 'none'}"}


def leverage(body: dict) -> dict:
    rows = data_of(body)
    if not rows:
        raise OkxAnswerError("no leverage row")
    return {"leverage": wire_number(rows[0].get("lever") or 0), "margin": str(rows[0].get("mgnMode") or "?")}


def fee_rates(body: dict, usdt: bool = True) -> tuple[float, float]:
    """``(maker, taker)`` as COSTS (0.0002 = 2 bps paid; negative = a rebate): OKX's signs flipped."""
    d = data_of(body)[0]
    mk = d.get("makerU") if usdt and d.get("makerU") not in (None, "") else d.get("maker")
    tk = d.get("takerU") if usdt and d.get("takerU") not in (None, "") else d.get("taker")
    return -wire_number(mk), -wire_number(tk)


async def preflight_checks(k) -> None:
    """``liqcore preflight``'s account checks on this venue: the account config (permissions, position mode, margin
    mode), each symbol's leverage and fee rates. ``k``: the preflight's kit (``call(path, params, base=)`` a
    signed GET, ``row(check, target, fn)`` one row of an awaited check, ``Row``, ``perm_rows``, ``mode_row``,
    ``lev_row``, ``fee_rows``, ``symbols``, ``rows``, ``venue``, ``spot_base``)."""
    from liqcore.venues.okx.stream import inst_id

    async def conf():
        c = config(await k.call(CONFIG))
        return [*k.perm_rows(c), k.mode_row(c["mode"]),
                k.Row("margin mode", k.venue, "FAIL" if c["margin"].startswith("spot") else "PASS", c["margin"])]

    await k.row("permissions", "trading", conf)
    for s in k.symbols:
        async def pos(s=s):
            p = leverage(await k.call(LEVERAGE, {"instId": inst_id(s), "mgnMode": "cross"}))
            return [k.lev_row(s, p["leverage"], p["margin"])]

        async def fee(s=s):
            body = await k.call(TRADE_FEE, {"instType": "SWAP", "instFamily": inst_family(s)})
            return k.fee_rows(s, *fee_rates(body))

        await k.row("leverage", s, pos)
        await k.row("fees", s, fee)

"""Gate futures v4 (USDT settle) account endpoints a trader checks before going live (``liqcore preflight``).

Request builders and readers of the documented answers (an error is HTTP 4xx ``{"label", "message"}``):

* ``GET /api/v4/spot/time`` -> ``{"server_time": <ms>}`` (public; the signature's ``Timestamp`` may be at most 60 s
  from it);
* ``GET /api/v4/futures/usdt/tickers`` -> ``[{"contract", "last", ...}]`` (public);
* ``GET /api/v4/futures/usdt/accounts`` -> ``{"user", "total", "available", "unrealised_pnl", "in_dual_mode", ...}``
  (``in_dual_mode`` true: hedge mode);
* ``GET /api/v4/futures/usdt/positions/{contract}`` -> ``leverage`` ("0" is cross margin, its limit
  ``cross_leverage_limit``);
* ``GET /api/v4/futures/usdt/fee?contract=C`` -> ``{"C": {"maker_fee", "taker_fee"}}`` (a negative maker fee is a
  rebate, the sign liqcore uses for costs).

Gate's futures API says nothing of a key's permissions before an order is sent: a key that reads the futures account
is reported, its trade permission left to the first order (a refusal is one line naming Gate's label).

May import: the standard library, ``gate.rest`` / ``gate.stream`` and ``venues.numbers``.
"""
from __future__ import annotations

from urllib.parse import urlencode

from liqcore.venues.numbers import wire_number

__all__ = ["TIME_PATH", "TICKERS", "SKEW_LIMIT_MS", "server_time_ms", "last_prices", "signed", "listed_symbol",
           "account", "leverage", "fee_rates", "preflight_checks"]

TIME_PATH = "/api/v4/spot/time"
TICKERS = ("/api/v4/futures/usdt/tickers", {})
#: how far this machine's clock may be behind / ahead of Gate's for a signature to pass (ms)
SKEW_LIMIT_MS = (60_000, 60_000)
ACCOUNTS = "/api/v4/futures/usdt/accounts"
POSITION = "/api/v4/futures/usdt/positions/{}"
FEE = "/api/v4/futures/usdt/fee"


class GateAnswerError(ValueError):
    pass


def _ok(body):
    if isinstance(body, dict) and "label" in body:
        from liqcore.venues.gate.rest import explain

        raise GateAnswerError(f"label {explain(body.get('label'), body.get('message', ''))}")
    return body


def server_time_ms(body: dict) -> int:
    return int(_ok(body)["server_time"])


def listed_symbol(symbol: str) -> str:
    """The contract list's name of ``symbol``: ``ETHUSDT`` -> ``ETH_USDT``."""
    from liqcore.venues.gate.stream import contract

    return contract(symbol)


def last_prices(body) -> dict[str, float]:
    """Each contract's last price, under its Gate name and its concatenated one (``ETH_USDT`` and ``ETHUSDT``)."""
    out = {}
    for x in _ok(body) or []:
        if isinstance(x, dict) and x.get("last") not in (None, "") and wire_number(x["last"]) > 0:
            c = str(x["contract"])
            out[c] = out[c.replace("_", "")] = wire_number(x["last"])
    return out


def signed(api_key: str, secret, path: str, params: dict, now_ms: int) -> tuple[str, dict]:
    """``(path with its query, headers)`` of one signed GET, as the gateway signs it."""
    from liqcore.venues.gate.rest import SIZE_HEADERS, signed_headers

    q = urlencode(params)
    s = secret.reveal() if hasattr(secret, "reveal") else str(secret)
    return (f"{path}?{q}" if q else path), {**signed_headers(api_key, s, "GET", path, q, "", int(now_ms) // 1000),
                                            **SIZE_HEADERS}


def account(body: dict) -> dict:
    """``{"user", "mode": "one-way"|"hedge", "total", "available"}`` (USDT)."""
    d = _ok(body)
    return {"user": str(d.get("user") or ""), "mode": "hedge" if d.get("in_dual_mode") else "one-way",
            "total": wire_number(d.get("total") or 0), "available": wire_number(d.get("available") or 0)}


def leverage(body: dict) -> dict:
    """``{"leverage", "margin"}``: ``leverage`` "0" is cross margin at ``cross_leverage_limit``."""
    d = _ok(body)
    lev = wire_number(d.get("leverage") or 0)
    if lev == 0:
        return {"leverage": wire_number(d.get("cross_leverage_limit") or 0), "margin": "cross"}
    return {"leverage": lev, "margin": "isolated"}


def fee_rates(body: dict, contract: str) -> tuple[float, float]:
    """``(maker, taker)`` as costs (0.0002 = 2 bps paid; negative: a rebate), Gate's own signs."""
    d = _ok(body)
    row = d.get(contract) if isinstance(d, dict) else None
    if not isinstance(row, dict):
        raise GateAnswerError(f"no fee rates for {contract}")
    return wire_number(row["maker_fee"]), wire_number(row["taker_fee"])


async def preflight_checks(k) -> None:
    """``liqcore preflight``'s account checks on Gate: the futures account (readable by the key, its position mode
    and balance), each contract's leverage and fee rates.  ``k``: the preflight's kit."""
    async def acct():
        a = account(await k.call(ACCOUNTS))
        return [k.Row("permissions", "trading", "PASS" if a["user"] else "FAIL",
                      f"the key reads the futures account (user {a['user']}); Gate tells a key's trade permission "
                      f"only when an order is sent"),
                k.mode_row(a["mode"]),
                k.Row("margin", k.venue, "PASS" if a["available"] > 0 else "FAIL",
                      f"{a['available']:.2f} USDT available of {a['total']:.2f} USDT (the futures account)")]

    await k.row("permissions", "trading", acct)
    for s in k.symbols:
        c = listed_symbol(s)

        async def pos(s=s, c=c):
            p = leverage(await k.call(POSITION.format(c)))
            return [k.lev_row(s, p["leverage"], p["margin"])]

        async def fee(s=s, c=c):
            return k.fee_rows(s, *fee_rates(await k.call(FEE, {"contract": c}), c))

        await k.row("leverage", s, pos)
        await k.row("fees", s, fee)

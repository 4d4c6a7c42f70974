"""The account endpoints of the fake venues (what ``liqcore preflight`` reads), as their venues document them.

One :class:`FakeAccount` per fake venue (``fx.account``) holds the key's permissions and the account's modes,
leverage and fees; tests change it (``fx.account.read_only = True``).  The answers follow, field for field, the
venues' documentation (each one's conformance test in ``tests/testing/test_fake_accounts.py`` quotes it):

* Bybit v5: ``GET /v5/user/query-api``, ``GET /v5/account/info``, ``GET /v5/account/fee-rate`` (the position
  list and the server time are the fake exchange's own);
* Binance USD-M: ``GET /sapi/v1/account/apiRestrictions`` (the spot base; here the same server),
  ``GET /fapi/v1/positionSide/dual``, ``GET /fapi/v1/multiAssetsMargin``, ``GET /fapi/v1/symbolConfig``,
  ``GET /fapi/v1/commissionRate``.

Kept apart from the fakes' order APIs: each fake calls its venue's answer function for these paths and nothing
else changes.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FakeAccount", "BYBIT_PATHS", "BINANCE_PATHS", "bybit_answer", "binance_answer"]

BYBIT_PATHS = ("/v5/user/query-api", "/v5/account/info", "/v5/account/fee-rate")
BINANCE_PATHS = ("/sapi/v1/account/apiRestrictions", "/fapi/v1/positionSide/dual", "/fapi/v1/multiAssetsMargin",
                 "/fapi/v1/symbolConfig", "/fapi/v1/commissionRate")


@dataclass
class FakeAccount:
    """The key and the account as a venue would report them (fee rates: fractions, 0.0002 = 2 bps)."""

    read_only: bool = False
    withdrawals: bool = False
    hedge: bool = False
    isolated: bool = False
    multi_assets: bool = False
    leverage: float = 5.0
    maker_fee: float = 0.0002
    taker_fee: float = 0.00055


def _fee(x: float) -> str:
    return f"{x:.6f}".rstrip("0").rstrip(".") if x else "0"


def bybit_answer(acct: FakeAccount, path: str, query: dict, api_key: str, symbols) -> dict:
    """The ``result`` of a Bybit account endpoint (the fake wraps it in its envelope)."""
    if path == "/v5/user/query-api":
        perms = {"ContractTrade": [] if acct.read_only else ["Order", "Position"],
                 "Spot": [] if acct.read_only else ["SpotTrade"],
                 "Wallet": ["AccountTransfer", "SubMemberTransfer"] + (["Withdraw"] if acct.withdrawals else []),
                 "Options": [], "Derivatives": [], "CopyTrading": [], "BlockTrade": [], "Exchange": [], "NFT": [],
                 "Affiliate": []}
        return {"id": "13770661", "note": "liqcore-fake", "apiKey": api_key, "readOnly": 1 if acct.read_only else 0,
                "secret": "", "permissions": perms, "ips": ["*"], "type": 1, "deadlineDay": 83,
                "expiredAt": "2027-01-01T00:00:00Z", "createdAt": "2026-01-01T00:00:00Z", "unified": 0, "uta": 1,
                "userID": 24617703, "inviterID": 0, "vipLevel": "No VIP", "mktMakerLevel": "0", "affiliateID": 0,
                "rsaPublicKey": "", "isMaster": True, "parentUid": "0", "kycLevel": "LEVEL_DEFAULT", "kycRegion": ""}
    if path == "/v5/account/info":
        return {"marginMode": "ISOLATED_MARGIN" if acct.isolated else "REGULAR_MARGIN", "updatedTime": "1697078946000",
                "unifiedMarginStatus": 5, "dcpStatus": "OFF", "timeWindow": 0, "smpGroup": 0, "isMasterTrader": False,
                "spotHedgingStatus": "OFF"}
    # /v5/account/fee-rate
    cat = query.get("category")
    if cat not in ("linear", "inverse"):
        raise ValueError("params error: category must be linear or inverse")
    syms = [query["symbol"]] if query.get("symbol") else sorted(symbols)
    return {"category": cat, "list": [{"symbol": s, "baseCoin": "", "takerFeeRate": _fee(acct.taker_fee),
                                            "makerFeeRate": _fee(acct.maker_fee)} for s in syms]}


def bybit_position_fields(acct: FakeAccount, row: dict) -> dict:
    """A position-list row with the account's mode and leverage (``positionIdx``, ``tradeMode``, ``leverage``)."""
    return {**row, "positionIdx": 1 if acct.hedge else 0, "tradeMode": 1 if acct.isolated else 0,
            "leverage": _fee(acct.leverage)}


def binance_answer(acct: FakeAccount, path: str, params: dict, symbols):
    """The body of a Binance account endpoint."""
    if path == "/sapi/v1/account/apiRestrictions":
        return {"ipRestrict": False, "createTime": 1698645219000, "enableReading": True,
                "enableWithdrawals": acct.withdrawals, "enableInternalTransfer": False, "enableMargin": False,
                "enableFutures": not acct.read_only, "permitsUniversalTransfer": False, "enableVanillaOptions": False,
                "enableFixApiTrade": False, "enableFixReadOnly": True, "enableSpotAndMarginTrading": False,
                "enablePortfolioMarginTrading": False}
    if path == "/fapi/v1/positionSide/dual":
        return {"dualSidePosition": acct.hedge}
    if path == "/fapi/v1/multiAssetsMargin":
        return {"multiAssetsMargin": acct.multi_assets}
    sym = params.get("symbol")
    if path == "/fapi/v1/symbolConfig":
        return [{"symbol": s, "marginType": "ISOLATED" if acct.isolated else "CROSSED", "isAutoAddMargin": "false",
                 "leverage": int(acct.leverage), "maxNotionalValue": "1000000"}
                for s in ([sym] if sym else sorted(symbols))]
    # /fapi/v1/commissionRate
    return {"symbol": sym, "makerCommissionRate": _fee(acct.maker_fee), "takerCommissionRate": _fee(acct.taker_fee)}

"""Conformance of the fake venues' account endpoints (liqcore.venues.fake_accounts) with the venues' documentation
as it stands, and of liqcore's readers (liqcore.venues.<venue>.account) with the documented answers, OKX's
included (its fake comes with the OKX gateway).  Every request here is signed and sent to a real local server."""
from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from liqcore.venues.binance.fake import BINANCE_API_KEY, BINANCE_API_SECRET, FakeBinance
from liqcore.venues.bybit.fake import FakeExchange
from liqcore.venues.binance import account as bna
from liqcore.venues.bybit import account as bya
from liqcore.venues.okx import account as oka


async def _get(base, target, headers):
    async with aiohttp.ClientSession() as s, s.get(base + target, headers=headers) as r:
        return r.status, await r.json(content_type=None)


def _bybit(path, params, setup=lambda fx: None):
    async def main():
        async with FakeExchange() as fx:
            setup(fx)
            target, headers = bya.signed(fx.api_key, fx.api_secret, path, params, int(time.time() * 1000))
            return await _get(fx.rest_url, target, headers)

    return asyncio.run(main())


def _binance(path, params, setup=lambda fb: None):
    async def main():
        async with FakeBinance() as fb:
            setup(fb)
            target, headers = bna.signed(BINANCE_API_KEY, BINANCE_API_SECRET, path, params, int(time.time() * 1000))
            return await _get(fb.rest_url, target, headers)

    return asyncio.run(main())


# ---------------------------------------------------------------------------- Bybit
def test_bybit_query_api_follows_the_doc():
    """https://bybit-exchange.github.io/docs/v5/user/apikey-info ("Get API Key Information", GET /v5/user/query-api):
    response fields ``readOnly`` ("0: Read and Write. 1: Read only"), ``permissions`` (object of lists:
    ``ContractTrade`` ["Order","Position"], ``Spot``, ``Wallet`` ["AccountTransfer","SubMemberTransfer"], ``Options``,
    ``Derivatives``, ``CopyTrading``, ``BlockTrade``, ``Exchange``, ``NFT``, ``Affiliate``), ``ips``, ``type``,
    ``deadlineDay``, ``expiredAt``, ``createdAt``, ``uta``, ``userID``, ``isMaster``..."""
    status, body = _bybit(bya.QUERY_API, {})
    assert status == 200 and body["retCode"] == 0
    r = body["result"]
    for k in ("id", "note", "apiKey", "readOnly", "secret", "permissions", "ips", "type", "deadlineDay", "expiredAt",
              "createdAt", "uta", "userID", "isMaster"):
        assert k in r
    assert r["readOnly"] == 0 and r["permissions"]["ContractTrade"] == ["Order", "Position"]
    assert bya.permissions(body)["trade"] and not bya.permissions(body)["withdraw"]
    status, body = _bybit(bya.QUERY_API, {}, lambda fx: setattr(fx.account, "read_only", True))
    assert body["result"]["readOnly"] == 1 and not bya.permissions(body)["trade"]


def test_bybit_query_api_is_signed():
    """The same page: a private endpoint; an unsigned request is refused (retCode 10004 "error sign" family)."""
    async def main():
        async with FakeExchange() as fx:
            return await _get(fx.rest_url, bya.QUERY_API, {"X-BAPI-API-KEY": fx.api_key})

    status, body = asyncio.run(main())
    assert body["retCode"] != 0


def test_bybit_account_info_follows_the_doc():
    """https://bybit-exchange.github.io/docs/v5/account/account-info (GET /v5/account/info): ``marginMode``
    "ISOLATED_MARGIN, REGULAR_MARGIN, PORTFOLIO_MARGIN", ``unifiedMarginStatus``, ``isMasterTrader``,
    ``spotHedgingStatus``, ``updatedTime``, ``dcpStatus``, ``timeWindow``, ``smpGroup``; example
    ``{"marginMode":"REGULAR_MARGIN","updatedTime":"1697078946000","unifiedMarginStatus":4,...}``."""
    status, body = _bybit(bya.ACCOUNT_INFO, {})
    r = body["result"]
    assert set(r) >= {"marginMode", "unifiedMarginStatus", "isMasterTrader", "spotHedgingStatus", "updatedTime"}
    assert bya.margin_mode(body) == "cross"
    assert bya.margin_mode(_bybit(bya.ACCOUNT_INFO, {}, lambda fx: setattr(fx.account, "isolated", True))[1]) == "isolated"


def test_bybit_fee_rate_follows_the_doc():
    """https://bybit-exchange.github.io/docs/v5/account/fee-rate (GET /v5/account/fee-rate, ``category`` linear,
    ``symbol``): ``result.list[]`` of ``symbol``, ``baseCoin``, ``takerFeeRate``, ``makerFeeRate`` (strings)."""
    status, body = _bybit(bya.FEE_RATE, {"category": "linear", "symbol": "ETHUSDT"})
    row = body["result"]["list"][0]
    assert set(row) == {"symbol", "baseCoin", "takerFeeRate", "makerFeeRate"} and isinstance(row["makerFeeRate"], str)
    assert bya.fee_rates(body, "ETHUSDT") == (pytest.approx(0.0002), pytest.approx(0.00055))


def test_bybit_position_list_carries_mode_and_leverage():
    """https://bybit-exchange.github.io/docs/v5/position (GET /v5/position/list): ``positionIdx`` ("0: one-way mode,
    1: hedge-mode Buy side, 2: hedge-mode Sell side"), ``tradeMode`` ("0: cross-margin, 1: isolated margin"),
    ``leverage`` (string)."""
    def setup(fx):
        fx.account.hedge, fx.account.leverage = True, 12

    status, body = _bybit(bya.POSITION_LIST, {"category": "linear", "symbol": "ETHUSDT"}, setup)
    assert bya.position(body, "ETHUSDT") == {"mode": "hedge", "leverage": 12.0, "margin": "cross"}


# ---------------------------------------------------------------------------- Binance
def test_binance_api_restrictions_follow_the_doc():
    """https://developers.binance.com/docs/wallet/account/api-key-permission (GET /sapi/v1/account/apiRestrictions,
    signed): ``ipRestrict``, ``createTime``, ``enableReading``, ``enableWithdrawals``, ``enableInternalTransfer``,
    ``enableMargin``, ``enableFutures`` ("The Futures API cannot be used if the API key was created before the
    Futures account was opened"), ``permitsUniversalTransfer``, ``enableVanillaOptions``, ``enableFixApiTrade``,
    ``enableFixReadOnly``, ``enableSpotAndMarginTrading``, ``enablePortfolioMarginTrading``."""
    status, body = _binance(bna.API_RESTRICTIONS, {})
    assert status == 200
    assert set(body) == {"ipRestrict", "createTime", "enableReading", "enableWithdrawals", "enableInternalTransfer",
                         "enableMargin", "enableFutures", "permitsUniversalTransfer", "enableVanillaOptions",
                         "enableFixApiTrade", "enableFixReadOnly", "enableSpotAndMarginTrading",
                         "enablePortfolioMarginTrading"}
    assert bna.permissions(body)["trade"]
    _, ro = _binance(bna.API_RESTRICTIONS, {}, lambda fb: setattr(fb.account, "read_only", True))
    assert not bna.permissions(ro)["trade"]


def test_binance_modes_leverage_and_commission_follow_the_doc():
    """https://developers.binance.com/docs/derivatives/usds-margined-futures/account/rest-api/Get-Current-Position-Mode
    (GET /fapi/v1/positionSide/dual -> ``{"dualSidePosition": true}``: "true": Hedge Mode; "false": One-way Mode);
    .../Get-Current-Multi-Assets-Mode (GET /fapi/v1/multiAssetsMargin -> ``{"multiAssetsMargin": true}``);
    .../Symbol-Config (GET /fapi/v1/symbolConfig -> ``[{"symbol","marginType":"CROSSED","isAutoAddMargin":"false",
    "leverage":21,"maxNotionalValue":"1000000"}]``); .../User-Commission-Rate (GET /fapi/v1/commissionRate ->
    ``{"symbol","makerCommissionRate":"0.0002","takerCommissionRate":"0.0004"}``)."""
    assert _binance(bna.DUAL, {})[1] == {"dualSidePosition": False}
    assert _binance(bna.MULTI_ASSETS, {})[1] == {"multiAssetsMargin": False}
    cfg = _binance(bna.SYMBOL_CONFIG, {"symbol": "ETHUSDT"})[1]
    assert set(cfg[0]) == {"symbol", "marginType", "isAutoAddMargin", "leverage", "maxNotionalValue"}
    assert bna.position(cfg, "ETHUSDT") == {"leverage": 5.0, "margin": "cross"}
    fee = _binance(bna.COMMISSION, {"symbol": "ETHUSDT"})[1]
    assert set(fee) == {"symbol", "makerCommissionRate", "takerCommissionRate"}
    assert bna.fee_rates(fee, "ETHUSDT") == (pytest.approx(0.0002), pytest.approx(0.0005))


def test_binance_account_endpoints_are_signed():
    """The same pages: USER_DATA endpoints; a bad signature is refused with code -1022."""
    async def main():
        async with FakeBinance() as fb:
            target, headers = bna.signed(BINANCE_API_KEY, "not-the-secret", bna.DUAL, {}, int(time.time() * 1000))
            return await _get(fb.rest_url, target, headers)

    status, body = asyncio.run(main())
    assert status == 400 and body["code"] == -1022


# ---------------------------------------------------------------------------- OKX (readers, documented answers)
def test_okx_readers_on_documented_answers():
    """https://www.okx.com/docs-v5/en/#trading-account-rest-api-get-account-configuration (GET /api/v5/account/config):
    ``perm`` "read_only: Read; trade: Trade; withdraw: Withdraw" (comma separated), ``posMode`` "long_short_mode /
    net_mode", ``acctLv`` "1: Spot mode, 2: Futures mode, 3: Multi-currency margin, 4: Portfolio margin";
    #trading-account-rest-api-get-fee-rates (GET /api/v5/account/trade-fee): ``maker``/``taker`` and, for USDT-margined
    contracts, ``makerU``/``takerU`` -- "positive number means rebate, negative number means commission";
    #public-data-rest-api-get-system-time: ``{"code":"0","data":[{"ts":"1597026383085"}],"msg":""}``."""
    conf = {"code": "0", "msg": "", "data": [{"acctLv": "2", "perm": "read_only,withdraw,trade", "posMode": "net_mode",
                                               "uid": "44705892343619584", "level": "Lv1"}]}
    c = oka.config(conf)
    assert c["trade"] and c["withdraw"] and c["mode"] == "one-way" and c["margin"] == "futures mode"
    ro = oka.config({"code": "0", "msg": "", "data": [{"acctLv": "2", "perm": "read_only", "posMode": "long_short_mode"}]})
    assert not ro["trade"] and ro["mode"] == "hedge"
    fee = {"code": "0", "msg": "", "data": [{"category": "1", "instType": "SWAP", "level": "Lv1", "maker": "-0.0002",
                                             "taker": "-0.0005", "makerU": "-0.0002", "takerU": "-0.0005", "ts": "1"}]}
    assert oka.fee_rates(fee) == (pytest.approx(0.0002), pytest.approx(0.0005))  # costs: OKX's sign flipped
    assert oka.server_time_ms({"code": "0", "data": [{"ts": "1597026383085"}], "msg": ""}) == 1597026383085
    with pytest.raises(ValueError, match="50102"):
        oka.data_of({"code": "50102", "msg": "Timestamp request expired", "data": []})


def test_okx_signature_matches_the_documented_recipe():
    """https://www.okx.com/docs-v5/en/#overview-rest-authentication-signature: ``OK-ACCESS-SIGN`` = Base64(HMAC-SHA256(
    secret, timestamp + method + requestPath + body)), ``OK-ACCESS-TIMESTAMP`` in ISO format, e.g.
    ``2020-12-08T09:08:57.715Z``; a GET's requestPath carries its query."""
    import base64
    import hashlib
    import hmac

    target, h = oka.signed("k", "s3cret", oka.TRADE_FEE, {"instType": "SWAP"}, 1607418537715, passphrase="p")
    assert target == "/api/v5/account/trade-fee?instType=SWAP" and h["OK-ACCESS-TIMESTAMP"] == "2020-12-08T09:08:57.715Z"
    want = base64.b64encode(hmac.new(b"s3cret", b"2020-12-08T09:08:57.715ZGET/api/v5/account/trade-fee?instType=SWAP",
                                     hashlib.sha256).digest()).decode()
    assert h["OK-ACCESS-SIGN"] == want and h["OK-ACCESS-PASSPHRASE"] == "p"

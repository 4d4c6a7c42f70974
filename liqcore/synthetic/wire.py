"""The synthetic market's wire frames: each event rendered as the JSON message its venue's public stream
would push (Bybit, Binance, OKX), in receive-time order, with the symbol's price and quantity decimals.
The generator (:mod:`liqcore.synthetic.market`) hands in the events' columns as lists; the venues'
codecs read these frames back exactly as they read a recording.
"""
from __future__ import annotations

import math

from liqcore.types import Kind, Side

__all__ = ["okx_inst", "render_bybit", "render_binance", "render_okx"]

NS_PER_MS = 1_000_000


def okx_inst(symbol: str) -> str:
    base = symbol.upper()
    for q in ("USDT", "USDC"):
        if base.endswith(q):
            return f"{base[: -len(q)]}-{q}-SWAP"
    return f"{base}-USDT-SWAP"


def _fmt(x: float, dec: int) -> str:
    return f"{x:.{dec}f}"


def render_bybit(order, ts, recv, px, q, sid, side, kind, shown, names, pdec, qdec, fund_mean=None):
    """Bybit frames (every event shown: ``shown`` unused; the funding rate comes on the tickers: ``fund_mean`` unused)."""
    seen_ticker: set[int] = set()
    trade_seq = 0
    i = 0
    n = len(order)
    while i < n:
        j = order[i]
        s = sid[j]
        sym = names[s]
        k = kind[j]
        ms = ts[j] // NS_PER_MS
        if k == Kind.LIQUIDATION:
            # a 500 ms batch: consecutive (in receive order) liquidations of the symbol, same recv
            items = []
            r = recv[j]
            while i < n:
                j2 = order[i]
                if kind[j2] != Kind.LIQUIDATION or sid[j2] != s or recv[j2] != r:
                    break
                items.append(
                    '{"T":%d,"s":"%s","S":"%s","v":"%s","p":"%s"}'
                    % (ts[j2] // NS_PER_MS, sym, "Buy" if side[j2] == Side.LONG else "Sell",
                       _fmt(q[j2], qdec[s]), _fmt(px[j2], pdec[s]))
                )
                i += 1
            msg = '{"topic":"allLiquidation.%s","type":"snapshot","ts":%d,"data":[%s]}' % (
                sym, r // NS_PER_MS, ",".join(items))
            yield r, msg.encode()
            continue
        if k == Kind.TRADE:
            trade_seq += 1
            msg = (
                '{"topic":"publicTrade.%s","type":"snapshot","ts":%d,"data":[{"T":%d,"s":"%s","S":"%s",'
                '"v":"%s","p":"%s","L":"ZeroPlusTick","i":"syn-%d","BT":false,"seq":%d}]}'
                % (sym, ms, ms, sym, "Buy" if side[j] == Side.BUY else "Sell", _fmt(q[j], qdec[s]),
                   _fmt(px[j], pdec[s]), trade_seq, trade_seq)
            )
        elif k == Kind.MARK:
            typ = "delta" if s in seen_ticker else "snapshot"
            seen_ticker.add(s)
            extra = ""
            if i + 1 < n:
                j2 = order[i + 1]
                if kind[j2] == Kind.OPEN_INTEREST and sid[j2] == s and recv[j2] == recv[j] and ts[j2] == ts[j]:
                    extra = ',"openInterest":"%s"' % _fmt(q[j2], qdec[s])
                    i += 1
            msg = '{"topic":"tickers.%s","type":"%s","ts":%d,"cs":%d,"data":{"symbol":"%s","markPrice":"%s"%s}}' % (
                sym, typ, ms, ms, sym, _fmt(px[j], pdec[s]), extra)
        elif k == Kind.FUNDING:
            typ = "delta" if s in seen_ticker else "snapshot"
            seen_ticker.add(s)
            next_ms = (ms // 28_800_000 + 1) * 28_800_000
            msg = ('{"topic":"tickers.%s","type":"%s","ts":%d,"cs":%d,"data":{"symbol":"%s","fundingRate":"%s",'
                   '"nextFundingTime":"%d"}}' % (sym, typ, ms, ms, sym, _fmt(px[j], 6), next_ms))
        else:
            i += 1
            continue
        yield recv[j], msg.encode()
        i += 1


def render_binance(order, ts, recv, px, q, sid, side, kind, shown, names, pdec, qdec, fund_mean):
    """Binance frames; ``fund_mean``: the funding rate a mark price shows before the symbol's first funding
    print (Binance has no funding message: the rate rides on the mark price updates)."""
    agg_id: dict[int, int] = {}
    funding: dict[int, float] = {}
    for j in order:
        s = sid[j]
        sym = names[s]
        k = kind[j]
        ms = ts[j] // NS_PER_MS
        r = recv[j]
        if k == Kind.LIQUIDATION:
            if not shown[j]:
                continue
            qs = _fmt(q[j], qdec[s])
            ps = _fmt(px[j], pdec[s])
            msg = ('{"stream":"!forceOrder@arr","data":{"e":"forceOrder","E":%d,"o":{"s":"%s","S":"%s",'
                   '"o":"LIMIT","f":"IOC","q":"%s","p":"%s","ap":"%s","X":"FILLED","l":"%s","z":"%s","T":%d}}}'
                   % (r // NS_PER_MS, sym, "SELL" if side[j] == Side.LONG else "BUY", qs, ps, ps, qs, qs, ms))
        elif k == Kind.TRADE:
            a = agg_id.get(s, 0) + 1
            agg_id[s] = a
            msg = ('{"stream":"%s@aggTrade","data":{"e":"aggTrade","E":%d,"s":"%s","a":%d,"p":"%s","q":"%s",'
                   '"f":%d,"l":%d,"T":%d,"m":%s}}'
                   % (sym.lower(), r // NS_PER_MS, sym, a, _fmt(px[j], pdec[s]), _fmt(q[j], qdec[s]), a, a, ms,
                      "true" if side[j] == Side.SELL else "false"))
        elif k == Kind.FUNDING:
            # Binance has no funding message: the new rate rides on the following markPriceUpdates
            funding[s] = px[j]
            continue
        elif k == Kind.MARK:
            next_ms = (ms // 28_800_000 + 1) * 28_800_000
            ps = _fmt(px[j], pdec[s] + 2)
            msg = ('{"stream":"%s@markPrice","data":{"e":"markPriceUpdate","E":%d,"s":"%s","p":"%s","i":"%s",'
                   '"P":"%s","r":"%s","T":%d}}'
                   % (sym.lower(), ms, sym, ps, ps, ps, _fmt(funding.get(s, fund_mean), 8), next_ms))
        else:
            continue
        yield r, msg.encode()


def render_okx(order, ts, recv, px, q, sid, side, kind, shown, names, pdec, qdec, fund_mean=None):
    """OKX frames (the funding rate comes on its own channel: ``fund_mean`` unused)."""
    from liqcore.venues.instruments import OKX_CT_VAL  # the table the OKX codec reads sizes with

    trade_id = 0
    for sym in names.values():
        if okx_inst(sym) not in OKX_CT_VAL:
            raise ValueError(f"venue: no OKX contract size (ctVal) known for {okx_inst(sym)}; "
                             "OKX frames need one (liqcore.venues.instruments)")
    for j in order:
        s = sid[j]
        sym = names[s]
        inst = okx_inst(sym)
        ct = OKX_CT_VAL[inst]
        k = kind[j]
        ms = ts[j] // NS_PER_MS
        r = recv[j]
        # contracts: enough decimals to carry the base lot exactly
        cdec = max(0, qdec[s] + max(0, round(math.log10(ct))))
        if k == Kind.LIQUIDATION:
            if not shown[j]:
                continue
            msg = ('{"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[{"details":[{"bkLoss":"0",'
                   '"bkPx":"%s","ccy":"","posSide":"%s","side":"%s","sz":"%s","ts":"%d"}],"instFamily":"%s",'
                   '"instId":"%s","instType":"SWAP","uly":"%s"}]}'
                   % (_fmt(px[j], pdec[s]), "long" if side[j] == Side.LONG else "short",
                      "sell" if side[j] == Side.LONG else "buy", _fmt(q[j] / ct, cdec), ms,
                      inst[:-5], inst, inst[:-5]))
        elif k == Kind.TRADE:
            trade_id += 1
            msg = ('{"arg":{"channel":"trades","instId":"%s"},"data":[{"instId":"%s","tradeId":"%d","px":"%s",'
                   '"sz":"%s","side":"%s","ts":"%d","count":"1"}]}'
                   % (inst, inst, trade_id, _fmt(px[j], pdec[s]), _fmt(q[j] / ct, cdec),
                      "buy" if side[j] == Side.BUY else "sell", ms))
        elif k == Kind.MARK:
            msg = ('{"arg":{"channel":"mark-price","instId":"%s"},"data":[{"instType":"SWAP","instId":"%s",'
                   '"markPx":"%s","ts":"%d"}]}' % (inst, inst, _fmt(px[j], pdec[s]), ms))
        elif k == Kind.OPEN_INTEREST:
            msg = ('{"arg":{"channel":"open-interest","instId":"%s"},"data":[{"instId":"%s","instType":"SWAP",'
                   '"oi":"%s","oiCcy":"%s","ts":"%d"}]}'
                   % (inst, inst, _fmt(q[j] / ct, cdec), _fmt(q[j], qdec[s]), ms))
        elif k == Kind.FUNDING:
            next_ms = (ms // 28_800_000 + 1) * 28_800_000
            msg = ('{"arg":{"channel":"funding-rate","instId":"%s"},"data":[{"fundingRate":"%s","fundingTime":"%d",'
                   '"instId":"%s","instType":"SWAP","method":"current_period","nextFundingTime":"%d","ts":"%d"}]}'
                   % (inst, _fmt(px[j], 6), next_ms, inst, next_ms + 28_800_000, ms))
        else:
            continue
        yield r, msg.encode()

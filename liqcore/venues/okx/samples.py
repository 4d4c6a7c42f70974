"""Sample OKX v5 public frames, built from values (for tests and warm paths).  The shapes are the ones
:mod:`liqcore.venues.okx.parse` reads.

The details: docs/maintainers/fakes.md, "Sample OKX v5 public frames, built from values (for tests and warm paths)
(liqcore.venues.okx.samples)".

May import: the standard library, ``liqcore.types`` and ``venues.instruments`` (the synthetic market's
frames, :func:`render_synthetic`).
"""
from __future__ import annotations

__all__ = ["bbo_frame", "trade_frame", "liquidation_frame", "render_synthetic", "okx_inst"]

_BBO = (b'{"arg":{"channel":"bbo-tbt","instId":"%s"},"data":[{"asks":[%s],"bids":[%s],'
        b'"ts":"%d","seqId":%d}]}')
_TRADE = (b'{"arg":{"channel":"trades","instId":"%s"},"data":[{"instId":"%s","tradeId":"%d","px":"%.1f",'
          b'"sz":"%s","side":"%s","ts":"%d","count":"1"}]}')


def _num(x: float) -> bytes:
    return repr(float(x)).encode() if x != int(x) else b"%d" % int(x)


def bbo_frame(inst_id: str, t_ms: int, bid: float, bid_sz: float, ask: float, ask_sz: float, seq_id: int = 1) -> bytes:
    """One ``bbo-tbt`` push at ``t_ms``: best bid ``bid`` for ``bid_sz`` and best ask ``ask`` for
    ``ask_sz`` (sizes as OKX sends them: contracts for SWAP/FUTURES, base units for SPOT; prices 1
    decimal); a size of None leaves that side's list empty."""
    b = b"" if bid_sz is None else b'["%.1f","%s","0","1"]' % (bid, _num(bid_sz))
    a = b"" if ask_sz is None else b'["%.1f","%s","0","1"]' % (ask, _num(ask_sz))
    return _BBO % (inst_id.encode(), a, b, t_ms, seq_id)


def trade_frame(inst_id: str, t_ms: int, sz: float, px: float, side: str = "buy", trade_id: int = 1) -> bytes:
    """One ``trades`` push at ``t_ms``: ``sz`` (contracts for SWAP) at ``px``; ``side`` the taker's."""
    i = inst_id.encode()
    return _TRADE % (i, i, trade_id, px, _num(sz), side.encode(), t_ms)


_LIQ = (b'{"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[{"details":[{"bkLoss":"0",'
        b'"bkPx":"%s","ccy":"","posSide":"%s","side":"%s","sz":"%s","ts":"%d"}],"instFamily":"%s",'
        b'"instId":"%s","instType":"SWAP","uly":"%s"}]}')


def liquidation_frame(inst_id: str, t_ms: int, sz: float, px: float, side: str = "sell") -> bytes:
    """One ``liquidation-orders`` push of one liquidation of ``sz`` contracts at bankruptcy price ``px`` at
    ``t_ms``; ``side`` ``sell`` (a long liquidated) or ``buy`` (a short)."""
    fam = inst_id.rsplit("-", 1)[0].encode()
    return _LIQ % (_num(px), b"long" if side == "sell" else b"short", side.encode(), _num(sz), t_ms, fam,
                   inst_id.encode(), fam)


# ---- the synthetic market's frames (liqcore.synthetic.market.Market.frames asks for them through the registry)
_NS_PER_MS = 1_000_000


def _fmt(x: float, dec: int) -> str:
    return f"{x:.{dec}f}"


def okx_inst(symbol: str) -> str:
    base = symbol.upper()
    for q in ("USDT", "USDC"):
        if base.endswith(q):
            return f"{base[: -len(q)]}-{q}-SWAP"
    return f"{base}-USDT-SWAP"


def render_synthetic(order, ts, recv, px, q, sid, side, kind, shown, names, pdec, qdec, fund_mean=None):
    """OKX frames (the funding rate comes on its own channel: ``fund_mean`` unused)."""
    import math

    from liqcore.types import Kind, Side  # (the events' codes: the synthetic market's columns)
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
        ms = ts[j] // _NS_PER_MS
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

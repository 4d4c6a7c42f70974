"""Sample OKX v5 public frames, built from values (for tests and warm paths).  The shapes are the ones
:mod:`liqcore.venues.okx.parse` reads.

The details: docs/maintainers/fakes.md, "Sample OKX v5 public frames, built from values (for tests and warm paths)
(liqcore.venues.okx.samples)".

May import: the standard library.
"""
from __future__ import annotations

__all__ = ["bbo_frame", "trade_frame", "liquidation_frame"]

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

"""Sample Gate futures WebSocket v4 public frames, built from values (for tests, the fakes and the synthetic
market), in the shapes :mod:`liqcore.venues.gate.parse` reads: ``futures.public_liquidates``,
``futures.trades``, ``futures.book_ticker``, and ``futures.order_book_update`` (an update, or a full push) for
:mod:`liqcore.venues.gate.depth`.  Sizes are contracts, written as decimal strings (a connection that
asked ``X-Gate-Size-Decimal: 1``).

May import: the standard library, ``liqcore.types`` and ``venues.gate.contracts`` (the synthetic market's contract
sizes).
"""
from __future__ import annotations

__all__ = ["liquidation_frame", "trade_frame", "bbo_frame", "depth_frame", "render_synthetic", "gate_contract"]

_LIQ = ('{"time":%d,"time_ms":%d,"channel":"futures.public_liquidates","event":"update","result":'
        '[{"price":"%s","size":"%s","time_ms":%d,"contract":"%s"}]}')
_TRADE = ('{"time":%d,"time_ms":%d,"channel":"futures.trades","event":"update","result":[{"size":"%s","id":%d,'
          '"create_time":%d,"create_time_ms":%d,"price":"%s","contract":"%s","is_internal":false}]}')
_BBO = ('{"time":%d,"time_ms":%d,"channel":"futures.book_ticker","event":"update","result":{"t":%d,"u":%d,"s":"%s",'
        '"b":"%s","B":"%s","a":"%s","A":"%s"}}')


def _num(x: float) -> str:
    return repr(float(x)) if x != int(x) else "%d" % int(x)


def liquidation_frame(contract: str, t_ms: int, size: float, price: float, side: str = "long") -> bytes:
    """One ``futures.public_liquidates`` push of one liquidation of ``size`` contracts at ``price``; ``side`` the
    liquidated position.  The row's ``size`` is the forced order's, signed as Gate signs an order (positive a bid,
    negative an ask): ``long`` (closed by a forced sell) is a negative size, ``short`` a positive one."""
    if side not in ("long", "short"):
        raise ValueError(f"side: 'long' or 'short' (the liquidated position), got {side!r}")
    sz = -abs(size) if side == "long" else abs(size)
    return (_LIQ % (t_ms // 1000, t_ms, _num(price), _num(sz), t_ms, contract)).encode()


def trade_frame(contract: str, t_ms: int, size: float, price: float, side: str = "buy", trade_id: int = 1) -> bytes:
    """One ``futures.trades`` push: ``size`` contracts at ``price``; ``side`` the taker's (a sell: negative)."""
    sz = abs(size) if side == "buy" else -abs(size)
    return (_TRADE % (t_ms // 1000, t_ms, _num(sz), trade_id, t_ms // 1000, t_ms, _num(price), contract)).encode()


def bbo_frame(contract: str, t_ms: int, bid: float, bid_sz: float, ask: float, ask_sz: float, update_id: int = 1) -> bytes:
    """One ``futures.book_ticker`` push: best bid and ask with their sizes in contracts."""
    return (_BBO % (t_ms // 1000, t_ms, t_ms, update_id, contract, _num(bid), _num(bid_sz), _num(ask),
                    _num(ask_sz))).encode()


def depth_frame(contract: str, t_ms: int, bids=(), asks=(), first_id: int | None = None, last_id: int | None = None,
                full: bool = False, level: str = "20") -> bytes:
    """One ``futures.order_book_update`` push: ``bids`` / ``asks`` as ``(price, size)`` in contracts (absolute;
    0 removes the level), ``first_id`` / ``last_id`` its ``U`` / ``u`` (None: left out).  ``full``: a full depth
    snapshot (Gate Futures WebSocket v4, 2025-05-22: ``"full": true``, "the user should replace the local order
    book with the provided data"); an update leaves the field out, as Gate does ("When the value is false, this
    field is omitted from the message")."""
    import json

    res: dict = {"t": int(t_ms)}
    if full:
        res["full"] = True
    res["s"] = contract
    if first_id is not None:
        res["U"] = int(first_id)
    if last_id is not None:
        res["u"] = int(last_id)
    res["b"] = [{"p": str(p), "s": _num(q)} for p, q in bids]
    res["a"] = [{"p": str(p), "s": _num(q)} for p, q in asks]
    res["l"] = str(level)
    return json.dumps({"time": t_ms // 1000, "time_ms": t_ms, "channel": "futures.order_book_update",
                       "event": "update", "result": res}, separators=(",", ":")).encode()


# ---- the synthetic market's frames (liqcore.synthetic.market.Market.frames asks for them through the registry)
_NS_PER_MS = 1_000_000


def gate_contract(symbol: str) -> str:
    """``BTCUSDT`` -> ``BTC_USDT`` (a Gate name stays as it is)."""
    s = symbol.upper()
    if "_" in s:
        return s
    return f"{s[:-4]}_USDT" if s.endswith("USDT") else f"{s}_USDT"


def render_synthetic(order, ts, recv, px, q, sid, side, kind, shown, names, pdec, qdec, fund_mean=None):
    """Gate frames of the synthetic market's liquidations and trades (sizes in contracts of the bundled
    ``quanto_multiplier``; the tickers channel is not rendered)."""
    import math

    from liqcore.types import Kind, Side
    from liqcore.venues.gate.contracts import shipped_contract_sizes

    sizes = shipped_contract_sizes()
    for sym in names.values():
        if gate_contract(sym) not in sizes:
            raise ValueError(f"venue: no Gate contract size (quanto_multiplier) known for {gate_contract(sym)}; "
                             "Gate frames need one (liqcore/venues/gate/data/contracts-usdt.json)")
    trade_id = 0
    for j in order:
        k = kind[j]
        if k != Kind.LIQUIDATION and k != Kind.TRADE:
            continue
        if k == Kind.LIQUIDATION and not shown[j]:
            continue
        s = sid[j]
        c = gate_contract(names[s])
        ct = sizes[c]
        cdec = max(0, qdec[s] + max(0, round(math.log10(ct))))  # enough decimals to carry the base lot
        ms = ts[j] // _NS_PER_MS
        price = f"{px[j]:.{pdec[s]}f}"
        size = f"{q[j] / ct:.{cdec}f}"
        if k == Kind.LIQUIDATION:
            signed = "-" + size if side[j] == Side.LONG else size  # (the forced order's: a long's is a sell)
            msg = _LIQ % (ms // 1000, ms, price, signed, ms, c)
        else:
            trade_id += 1
            signed = size if side[j] == Side.BUY else "-" + size
            msg = _TRADE % (ms // 1000, ms, signed, trade_id, ms // 1000, ms, price, c)
        yield recv[j], msg.encode()

"""data.binance.vision's COIN-M futures files as the archive writes them (``/data/futures/cm/daily/<type>/<SYM>/``),
with what a test must know of them kept beside: the liquidations once each (the file writes every row twice), their
contracts, and the trades as the files hold them.

Columns (binance/binance-public-data README, "FUTURES", and the archive's files): ``aggTrades``
``agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker``; ``trades``
``id,price,qty,base_qty,time,is_buyer_maker`` (qty in contracts, base_qty in coins); ``bookTicker``
``update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,event_time``;
``liquidationSnapshot`` ``time,side,order_type,time_in_force,original_quantity,price,average_price,order_status,
last_fill_quantity,accumulated_fill_quantity`` (side: the forced order's; every row twice).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from tests.download._archive_server import AGG_HEADER, BOOK_HEADER, day_ms, zipped

CM_TRADES_HEADER = "id,price,qty,base_qty,time,is_buyer_maker"
LIQ_HEADER = ("time,side,order_type,time_in_force,original_quantity,price,average_price,order_status,"
              "last_fill_quantity,accumulated_fill_quantity")
CONTRACT = {"BTCUSD_PERP": 100.0, "ETHUSD_PERP": 10.0}
START = {"BTCUSD_PERP": 30000.0, "ETHUSD_PERP": 1800.0}


@dataclass
class Day:
    """One symbol-day: the files' text and what they hold."""

    liq: list = field(default_factory=list)  # (ms, side "SELL"/"BUY", avg price, contracts filled), once each
    agg: list = field(default_factory=list)  # (ms, price, contracts, buyer_maker)
    trades: list = field(default_factory=list)
    texts: dict = field(default_factory=dict)  # type -> csv text


def _path_price(rng, p0: float, n: int) -> np.ndarray:
    return p0 * np.exp(np.cumsum(rng.normal(0, 0.0004, n)))


def make_day(sym: str, day: str, seed: int = 1, n_trades: int = 20_000) -> Day:
    """A day of ``sym``: a random-walk price with three liquidation cascades (falls with SELL liquidations of
    many contracts), small liquidations between them at most one a second, two real liquidations in one
    millisecond (different quantities: they stay two), trades every ~2 s."""
    rng = np.random.default_rng(seed + (sum(map(ord, sym)) + int(day.replace("-", ""))) % 10_000)
    t0 = day_ms(day)
    cs, p0 = CONTRACT[sym], START[sym]
    d = Day()
    n_tr = int(n_trades)
    tt = t0 + np.sort(rng.choice(86_000_000, n_tr, replace=False)).astype(np.int64)
    px = _path_price(rng, p0, n_tr)
    crash_at = [t0 + h * 3_600_000 for h in (4, 11, 19)]
    for c in crash_at:  # the price falls 2 % over 2 minutes, then recovers over the hour
        fall = (tt >= c) & (tt < c + 120_000)
        after = (tt >= c + 120_000) & (tt < c + 3_600_000)
        px[fall] *= 1 - 0.02 * (tt[fall] - c) / 120_000
        px[after] *= 1 - 0.02 * (1 - (tt[after] - c - 120_000) / 3_480_000)
    tick = 0.1 if cs == 100 else 0.01
    px = np.round(px / tick) * tick
    contracts = rng.integers(1, 60, n_tr)
    maker = rng.random(n_tr) < 0.5
    for i in range(n_tr):
        d.agg.append((int(tt[i]), float(px[i]), int(contracts[i]), bool(maker[i])))
    d.trades = list(d.agg)

    def price_at(ms):
        j = max(0, int(np.searchsorted(tt, ms)) - 1)
        return float(px[j])

    liq_ms = set()
    for k in range(600):  # background: small liquidations, either side
        ms = t0 + int(rng.integers(0, 86_000)) * 1000 + int(rng.integers(0, 1000))
        if ms // 1000 in liq_ms:
            continue
        liq_ms.add(ms // 1000)
        d.liq.append((ms, "SELL" if rng.random() < 0.5 else "BUY", price_at(ms), int(rng.integers(1, 40))))
    for c in crash_at:  # the cascades: large SELL liquidations (longs flushed) a few seconds apart
        for j in range(12):
            ms = c + 5_000 + j * 7_000 + 123
            liq_ms.add(ms // 1000)
            d.liq.append((ms, "SELL", round(price_at(ms) * 0.999 / tick) * tick, int(rng.integers(800, 3000))))
    ms = t0 + 50_000_123  # two real liquidations in one millisecond: both kept
    d.liq += [(ms, "BUY", price_at(ms), 7), (ms, "BUY", price_at(ms), 9)]
    d.liq.sort()
    rows = []
    for ms, side, ap, q in d.liq:
        limit = ap * (0.99 if side == "SELL" else 1.01)
        row = f"{ms},{side},LIMIT,IOC,{q},{limit:.1f},{ap:.2f},FILLED,{q},{q}"
        rows += [row, row]  # the archive writes every row twice
    d.liq = [(ms, side, float(f"{ap:.2f}"), q) for ms, side, ap, q in d.liq]
    d.texts["liquidationSnapshot"] = LIQ_HEADER + "\n" + "\n".join(rows) + "\n"
    d.texts["aggTrades"] = AGG_HEADER + "\n" + "\n".join(
        f"{9000 + i},{p},{q},{20000 + i},{20000 + i},{ms},{'true' if m else 'false'}"
        for i, (ms, p, q, m) in enumerate(d.agg)) + "\n"
    d.texts["trades"] = CM_TRADES_HEADER + "\n" + "\n".join(
        f"{20000 + i},{p},{q},{q * cs / p:.8f},{ms},{'true' if m else 'false'}"
        for i, (ms, p, q, m) in enumerate(d.trades)) + "\n"
    d.texts["bookTicker"] = BOOK_HEADER + "\n" + "\n".join(
        f"{50000 + i},{p - tick:.2f},{10 + i % 5},{p:.2f},{12 + i % 3},{ms},{ms + 1}"
        for i, (ms, p, _q, _m) in enumerate(d.agg[::20])) + "\n"
    return d


def coin_m_archive(symbols, days, types=("liquidationSnapshot", "aggTrades", "trades", "bookTicker"),
                   n_trades: int = 20_000):
    """(files: URL path -> bytes in the archive's COIN-M layout with each zip's ``.CHECKSUM``, days: (sym, day) ->
    :class:`Day`)."""
    files, held = {}, {}
    for sym in symbols:
        for day in days:
            d = held[(sym, day)] = make_day(sym, day, n_trades=n_trades)
            for t in types:
                name = f"{sym}-{t}-{day}.zip"
                body = zipped(name, d.texts[t])
                path = f"/data/futures/cm/daily/{t}/{sym}/{name}"
                files[path] = body
                files[path + ".CHECKSUM"] = f"{hashlib.sha256(body).hexdigest()}  {name}\n".encode()
    return files, held

"""A hand-made tardis-layout market of one symbol (binance-futures BTCUSDT, one UTC day) whose liquidation
cascades trigger the default strategy (cascade-mm: a buy limit ``offset`` below the last trade, the BTC
preset 0.10 %) and whose ``incremental_book_L2`` file shows a queue at the level that entry rests at,
behind the best bid.  Even episodes print more at that level than the queue shown there when the
order arrives, odd ones less.

:func:`depth_market` writes the three files (``binance-futures_{incremental_book_L2,trades,liquidations}_
<date>_BTCUSDT.csv.gz``) and returns them with the events each is meant to read back as and the truth of
each episode.  ``scale`` multiplies the size shown at the entry level (the x10^6 control), ``empty``
leaves that level empty until the prints (the "fills at its first print" control).
"""
from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from liqcore.types import EVENT_DTYPE, Flag, Kind, Side

DATE = "2024-08-01"
T0_US = 1_722_470_400_000_000  # 2024-08-01T00:00Z
S_US = 1_000_000
RECV_US = 5_000  # every row received 5 ms after its event time
TICK = 0.1
BEST_BID, BEST_ASK = 60_000.0, 60_000.1  # the book between episodes; trades print at the bid
OFFSET = 0.0010  # cascade-mm's BTC preset
ENTRY = round(BEST_BID * (1 - OFFSET) / TICK) * TICK  # 59940.0: where the entry rests
QUEUE = 2.0  # BTC shown at ENTRY when the order arrives
L2_HEADER = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"
TRADES_HEADER = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"


@dataclass
class DepthMarket:
    depth: Path
    trades: Path
    liquidations: Path
    #: the events each file is meant to read back as (file order), venue 2, symbol id 0
    depth_events: np.ndarray = field(repr=False)
    trade_events: np.ndarray = field(repr=False)
    liq_events: np.ndarray = field(repr=False)
    #: per episode: start (us), the level's price, the size shown there at the confirmation, the size printed
    episodes: list = field(default_factory=list)

    @property
    def paths(self) -> list:
        return [self.trades, self.liquidations, self.depth]


def _fmt(x: float) -> str:
    return repr(float(x))


def depth_market(out: Path, episodes: int = 6, scale: float = 1.0, empty: bool = False) -> DepthMarket:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    depth, trades, liqs = [], [], []  # (ts_us, side, price, amount[, snapshot])
    shown = 0.0 if empty else QUEUE * scale
    # the day's snapshot: the best levels, the entry level, one deeper level a side
    for side, price, amount in (("bid", BEST_BID, 5.0), ("bid", ENTRY, shown), ("bid", 59_900.0, 8.0),
                                ("ask", BEST_ASK, 5.0), ("ask", 60_100.0, 8.0)):
        if amount:
            depth.append((T0_US, side, price, amount, True))
    # warm-up: 200 small liquidations (both sides) over the first two hours
    for j in range(200):
        t = T0_US + 60 * S_US + j * 36 * S_US
        liqs.append((t, "sell" if j % 2 else "buy", BEST_BID, 0.01 + 0.0001 * (j % 7)))
    truth = []
    for k in range(episodes):
        t0 = T0_US + (3 + k) * 3600 * S_US  # one episode an hour from 03:00
        trades.append((t0 - 2 * S_US, "sell", BEST_BID, 0.05))  # the reference price: the best bid
        # the cascade: three large long liquidations (forced sells) 1 s apart; the second confirms it
        for j in range(3):
            liqs.append((t0 + j * S_US, "sell", BEST_BID - 10 * TICK * j, 8.0))
        # 10 s on, the price falls to the entry level: the levels above it removed, the asks follow
        t1 = t0 + 10 * S_US
        depth += [(t1, "bid", BEST_BID, 0.0, False), (t1, "ask", BEST_ASK, 0.0, False),
                  (t1, "ask", ENTRY + TICK, 3.0, False)]
        printed = 3.0 if k % 2 == 0 else 1.0  # even episodes print more than the queue, odd ones less
        left, refilled = shown, False
        for j in range(int(round(printed / 0.5))):  # prints of 0.5 at the level, each followed by its size
            t = t1 + (j + 1) * S_US
            trades.append((t, "sell", ENTRY, 0.5))
            left -= 0.5
            if left <= 0 and not refilled:  # the shown queue is gone: orders that came later are next
                left, refilled = 1.5 + left, True
            depth.append((t, "bid", ENTRY, max(left, 0.0), False))
        # 60 s on, the price comes back; the entry level shows its queue again
        t2 = t0 + 60 * S_US
        depth += [(t2, "ask", ENTRY + TICK, 0.0, False), (t2, "bid", BEST_BID, 5.0, False),
                  (t2, "ask", BEST_ASK, 5.0, False), (t2, "bid", ENTRY, shown, False)]
        trades.append((t2 + S_US, "buy", BEST_ASK, 0.05))
        truth.append({"start_us": t0, "level": ENTRY, "shown": shown, "printed": printed})
        # then a print a minute at the best bid until the next episode (timed exits see a market)
        trades += [(t2 + m * 60 * S_US, "sell", BEST_BID, 0.01) for m in range(2, 58)]
    dm = DepthMarket(
        depth=out / f"binance-futures_incremental_book_L2_{DATE}_BTCUSDT.csv.gz",
        trades=out / f"binance-futures_trades_{DATE}_BTCUSDT.csv.gz",
        liquidations=out / f"binance-futures_liquidations_{DATE}_BTCUSDT.csv.gz",
        depth_events=_events(depth, Kind.DEPTH), trade_events=_events(trades, Kind.TRADE),
        liq_events=_events(sorted(liqs), Kind.LIQUIDATION), episodes=truth)
    _write(dm.depth, L2_HEADER, [f"binance-futures,BTCUSDT,{t},{t + RECV_US},{'true' if snap else 'false'},{s},"
                                 f"{_fmt(p)},{_fmt(a)}" for t, s, p, a, snap in depth])
    _write(dm.trades, TRADES_HEADER, [f"binance-futures,BTCUSDT,{t},{t + RECV_US},{i + 1},{s},{_fmt(p)},{_fmt(a)}"
                                      for i, (t, s, p, a) in enumerate(trades)])
    _write(dm.liquidations, TRADES_HEADER, [f"binance-futures,BTCUSDT,{t},{t + RECV_US},,{s},{_fmt(p)},{_fmt(a)}"
                                            for t, s, p, a in sorted(liqs)])
    return dm


def _events(rows, kind: Kind) -> np.ndarray:
    ev = np.zeros(len(rows), EVENT_DTYPE)
    for i, r in enumerate(rows):
        t, s, p, a = r[:4]
        ev[i]["ts_event"], ev[i]["ts_recv"] = t * 1000, (t + RECV_US) * 1000
        ev[i]["price"], ev[i]["qty"], ev[i]["venue"], ev[i]["kind"] = p, a, 2, int(kind)
        if kind == Kind.DEPTH:
            ev[i]["side"] = int(Side.BUY if s == "bid" else Side.SELL)
            ev[i]["flags"] = int(Flag.SNAPSHOT) if r[4] else 0
        elif kind == Kind.TRADE:
            ev[i]["side"] = int(Side.BUY if s == "buy" else Side.SELL)
        else:  # the forced order's side -> the liquidated position
            ev[i]["side"] = int(Side.SHORT if s == "buy" else Side.LONG)
            ev[i]["flags"] = int(Flag.THROTTLED)
    return ev


def _write(path: Path, header: str, lines: list) -> None:
    with gzip.open(path, "wt") as fh:
        fh.write(header + "\n" + "".join(ln + "\n" for ln in lines))


def book_at(depth: np.ndarray, recv_ns: int) -> dict:
    """The book (side, price) -> size that the DEPTH rows received before ``recv_ns`` leave (the contract's
    rules: a snapshot run replaces the book, a gap empties it, a size 0 removes the level)."""
    book: dict = {}
    prev_snap = known = False  # the book is not known before a snapshot run, nor after a gap until the next
    for r in depth[depth["ts_recv"] < recv_ns]:
        f = int(r["flags"])
        if f & int(Flag.DEPTH_GAP):
            book.clear()
            prev_snap = known = False
            continue
        snap = bool(f & int(Flag.SNAPSHOT))
        if snap and not prev_snap:
            book.clear()
            known = True
        prev_snap = snap
        if not known:
            continue
        key = (int(r["side"]), float(r["price"]))
        if r["qty"] == 0:
            book.pop(key, None)
        else:
            book[key] = float(r["qty"])
    return book

"""A hand-made tardis-layout market of one symbol where the queue behind the best decides: the files
``binance-futures_incremental_book_L2_<date>_BTCUSDT.csv.gz``, ``..._trades_...`` and ``..._liquidations_...``.

Each episode (two hours apart): a book snapshot (bids 100.0 down to 99.0, ``queue`` x ``scale`` displayed at
99.5, asks from 100.1), a reference print at 100.0, two large long liquidations 0.5 s apart (a cascade the
guide's detector confirms with ``--min-history 20 --refresh 0``), then the bids above 99.5 are pulled and
sellers print at 99.5: more than ``queue`` in even episodes, less in odd ones (``refill``: the level is first
cancelled down to 2 and refilled to 30 while the order rests, and 5 print).  With ``--offset 0.5%`` the long
entry rests at 99.5, 5 ticks behind the best bid.  Small liquidations between episodes keep the large ones
above the P95 threshold.
"""
from __future__ import annotations

import gzip
from pathlib import Path

US = 1_000_000  # microseconds per second
T0_US = 1_722_470_400 * US  # 2024-08-01 00:00:00 UTC
EPISODE_US = 2 * 3600 * US
START_US = T0_US + 3600 * US  # the first episode
LEVEL = 99.5
QUEUE = 10.0
DATE = "2024-08-01"
ARGS = ["--fill", "queue", "--offset", "0.5%", "--min-history", "20", "--refresh", "0"]


def _px(x: float) -> str:
    return f"{x:.1f}"


def write_market(folder: Path, n: int = 8, *, queue: float = QUEUE, scale: float = 1.0, refill: bool = False,
                 depth: bool = True) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    book, trades, liqs = [], [], []
    tid = 1

    def trade(t, side, px, q):
        nonlocal tid
        trades.append(f"binance-futures,BTCUSDT,{t},{t + 1000},{tid},{side},{_px(px)},{q:g}")
        tid += 1

    def level(t, snap, side, px, q):
        book.append(f"binance-futures,BTCUSDT,{t},{t + 1000},{'true' if snap else 'false'},{side},{_px(px)},{q:g}")

    for j in range(30):  # a history of small liquidations before the first episode: its threshold exists
        tt = T0_US + j * 60 * US
        liqs.append(f"binance-futures,BTCUSDT,{tt},{tt + 1000},,{'buy' if j % 2 else 'sell'},100.0,0.01")
    for i in range(n):
        t = START_US + i * EPISODE_US
        shown = queue * scale
        for k in range(11):
            px = round(100.0 - k * 0.1, 1)
            level(t, True, "bid", px, shown if px == LEVEL else 3.0)
        for k in range(1, 11):
            level(t, True, "ask", round(100.0 + k * 0.1, 1), 3.0)
        trade(t + 200_000, "buy", 100.0, 0.5)
        for j, dt in enumerate((500_000, 1_000_000)):
            liqs.append(f"binance-futures,BTCUSDT,{t + dt},{t + dt + 1000},,sell,100.0,50")
        u = t + 5 * US
        if refill:
            level(u, False, "bid", LEVEL, 2.0)
            level(u + US, False, "bid", LEVEL, 30.0)
            u += 2 * US
        for k in range(5):
            level(u + k * 1000, False, "bid", round(100.0 - k * 0.1, 1), 0.0)
        total = 5.0 if refill else (queue + 2.0 if i % 2 == 0 else max(queue - 2.0, 1.0))
        left = 30.0 if refill else shown
        v = u + US
        for j in range(2):
            trade(v + j * US, "sell", LEVEL, total / 2)
            left = max(left - total / 2, 0.0)
            level(v + j * US + 1, False, "bid", LEVEL, left)
        trade(t + 30 * US, "buy", 100.2, 0.1)  # back up: a long position's take-profit fills
        for j in range(60):  # small liquidations, both sides, well after the episode
            tt = t + 600 * US + j * 60 * US
            liqs.append(f"binance-futures,BTCUSDT,{tt},{tt + 1000},,{'buy' if j % 2 else 'sell'},100.0,0.01")
    head = "exchange,symbol,timestamp,local_timestamp,"
    files = []
    for name, cols, rows in (("trades", "id,side,price,amount", trades),
                             ("liquidations", "id,side,price,amount", liqs),
                             ("incremental_book_L2", "is_snapshot,side,price,amount", book)):
        if name == "incremental_book_L2" and not depth:
            continue
        path = folder / f"binance-futures_{name}_{DATE}_BTCUSDT.csv.gz"
        rows = sorted(rows, key=lambda r: int(r.split(",")[3]))
        with gzip.open(path, "wt") as fh:
            fh.write(head + cols + "\n" + "\n".join(rows) + "\n")
        files.append(path)
    return files


def episode_of(ts_ns: int) -> int:
    return (ts_ns // 1000 - START_US) // EPISODE_US

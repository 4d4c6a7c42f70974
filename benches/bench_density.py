"""Real-density data, end to end: tardis-layout day files at a real venue's trade rate, converted to a
dataset, backtested and swept, each step timed with its peak memory and, where there is one, pyarrow's
floor for the same bytes, all in the same run.

The files are generated first (``--dir``, default a fresh folder under the system's temporary
directory, removed at the end unless ``--keep``): per symbol and UTC day one tardis ``trades`` file
(``--rate`` trades a day, default 3 M, a random walk of 0.1 price steps, bursts of trading around each
cascade) and one ``liquidations`` file (``--liqs`` a day, default 1,500: a Poisson background plus
``--cascades`` bursts a day, default 30, of 4-12 large liquidations within 40 s, the price pushed
through the burst and drifting back), both ``.csv.gz`` named as tardis names them; with ``--quotes RATE``
also one tardis ``quotes`` file (``exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,
bid_price,bid_amount``: RATE top-of-book updates a day, the bid at or a tick under the last trade, the ask
a tick above), and the queue rule's backtests are timed too (``--fill queue``: full replay in chunks,
``--read windows``, ``--read auto``, ``--chunk-days 0``; in the warm process, against the same floor).
The files are generated in a child process: a child's peak RSS (``wait4``) counts what its parent
held when it was started, so every measured child starts from a small parent.

Steps, each in its own child process (wall seconds and the child's peak RSS from ``wait4``):

* ``convert``: ``liqcore convert FILES --dataset DS``; floor: ``pyarrow.csv.read_csv`` +
  ``pyarrow.parquet.write_table`` of every file (same files, same child shape);
* ``backtest``: ``liqcore backtest DS --json`` (the guide's strategy, cascade-mm, default parameters),
  as shipped (the default read: window-local for this strategy), with ``--read all`` (the full replay,
  read in chunks), the same with ``--workers 0`` (one reading process per core; the peak is the
  largest process's, from ``wait4``) and with ``--chunk-days 0`` (the whole span loaded at once: the
  behaviour before chunks);
  each backtest is paired with the streaming floor run just before it in its own child:
  ``pyarrow.dataset.dataset(DS).to_batches()`` iterated to the end (every column of every row, one
  batch at a time: what a read of the whole dataset costs without materialising it), and quoted as the
  ratio of the two in wall time and in CPU (user + sys of each child);
* ``in-process``: one warm child that times the same streaming floor and ``liqcore.backtest([DS])``,
  alternating, ``--repeat`` times each, after one untimed run of each (imports, kernels compiled);
* ``sweep``: ``liqcore sweep DS`` over a 10 x 10 grid of offset x take-profit (100 configurations,
  ``--configs`` to change), ``--workers 1``.

    python benches/bench_density.py [--rate 3000000] [--days 2] [--symbols BTCUSDT] [--skip-sweep]
    python benches/bench_density.py --days 4 --json benches/results/density-4d.json
    python benches/bench_density.py --days 1 --quotes 6000000 --skip-sweep   # with the book (issue 41)
    # 30 days with the book, the dataset written directly (no CSV, no convert timed), the queue rule only:
    python benches/bench_density.py --days 30 --quotes 6000000 --direct --backtests queue-auto,queue \
        --skip-sweep --skip-inprocess --dir /tmp/d30 --keep

With ``--direct`` the generated events are written straight into the dataset, one symbol-day at a time
(the same partition files as ``convert`` of the tardis files: tested), so a month is built in minutes and
no CSV is kept; ``--backtests`` picks the backtests timed.  The 30-day bar: ``backtest DS --fill queue``
(the guide's strategy, queue-aware) <= 1.0x the streaming floor of the same run, <= 20 s at load <= 1
on 2 cores, <= 1 GiB, the same trades as ``--fill queue --read all``.

Prints the parameters, the machine's load, then one line per figure with its unit, its floor and the
ratio; ``--json FILE`` also writes every figure.  Bars (issue: a year of real-density data), on
4 days x 3 M trades/day: in-process backtest <= 2x the load floor; ``liqcore backtest DS`` peak
<= 1.0 GiB; convert <= 1.5x its floor; peak on 4 days within 30 % of the peak on 2 days (two runs:
``--days 2`` and ``--days 4``).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's liqcore, not an installed one
HEADER = ["exchange", "symbol", "timestamp", "local_timestamp", "id", "side", "price", "amount"]
DAY_US = 86_400_000_000
T0_US = 1_722_470_400_000_000  # 2024-08-01T00:00Z
BASE_PRICE = {"BTCUSDT": 64_000.0, "ETHUSDT": 3_200.0, "SOLUSDT": 160.0, "XRPUSDT": 0.6, "DOGEUSDT": 0.12}
#: the venues the days can be generated for: tardis's exchange name of each (the files' ``exchange`` column)
TARDIS_EXCHANGE = {"binance": "binance-futures", "bybit": "bybit", "okx": "okex-swap"}
GIB = 1024 ** 3


# ------------------------------------------------------------------------------------------- files
def _write_csv(path: Path, table, header=HEADER) -> None:
    """``table`` as a tardis ``.csv.gz``: the header line, unquoted rows."""
    import pyarrow.csv as pacsv

    # gzip level 1: the files are written once per run, quickly (tardis's own are level 6-9; reading
    # either costs the same per byte of CSV)
    import gzip

    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write((",".join(header) + "\n").encode())
        pacsv.write_csv(table, out, write_options=pacsv.WriteOptions(include_header=False, quoting_style="none"))


def generate_day(folder: Path, symbol: str, day: int, rate: int, liqs: int, cascades: int, seed: int,
                 quotes: int = 0, venue: str = "binance") -> tuple[int, int, int]:
    """One UTC day of one symbol: its trades and liquidations files, and with ``quotes`` > 0 its tardis
    ``quotes`` file (that many top-of-book updates); returns (trades, liquidations, quotes).  ``venue``: one whose
    tardis sizes are base quantities (Binance, Bybit; OKX's are contracts: its days are written with ``--direct``
    only)."""
    if venue == "okx":
        raise ValueError("bench: OKX's tardis files give sizes in contracts: its days with --direct only")
    tabs = day_tables(symbol, day, rate, liqs, cascades, seed, quotes, venue)
    for kind, table in tabs.items():
        _write_csv(folder / f"{TARDIS_EXCHANGE[venue]}_{kind}_{_date(day)}_{table.column('symbol')[0]}.csv.gz", table,
                   QUOTES_HEADER if kind == "quotes" else HEADER)
    return tuple(tabs[k].num_rows if k in tabs else 0 for k in ("trades", "liquidations", "quotes"))


def day_tables(symbol: str, day: int, rate: int, liqs: int, cascades: int, seed: int, quotes: int = 0,
               venue: str = "binance") -> dict:
    """One UTC day of one symbol (``BTCUSDT``: named in the venue's style in the tables) as the tardis files'
    tables: ``{"trades", "liquidations"[, "quotes"]}`` (pyarrow tables with the files' columns, in the files' row
    order).  Each venue's day is its own draw (Binance's is the draw of the bench's first versions)."""
    import numpy as np
    import pyarrow as pa

    from liqcore.types import Venue
    from liqcore.venues.registry import venue_spec

    exchange = TARDIS_EXCHANGE[venue]
    key = [seed, day, sum(map(ord, symbol))] + ([] if venue == "binance" else [int(Venue[venue.upper()])])
    rng = np.random.default_rng(key)
    name = venue_spec(venue).symbol_for(symbol[:-4]) if symbol.endswith("USDT") else symbol
    d0 = T0_US + day * DAY_US
    base = BASE_PRICE.get(symbol, 100.0) * float(np.exp(rng.normal(0, 0.01)))
    tick = 10.0 ** np.floor(np.log10(base * 2e-6))  # BTC at 64,000: 0.1
    dec = max(0, int(-np.log10(tick)))
    # cascades: burst times, direction (+1: longs liquidated, price pushed down), size of the push
    n_c = int(rng.poisson(cascades))
    c_t = np.sort(rng.integers(600_000_000, DAY_US - 3_600_000_000, n_c)) + d0
    c_dir = rng.choice([-1, 1], n_c)
    c_push = rng.uniform(0.002, 0.008, n_c)  # a fraction of the price
    # trades: times uniform over the day, a share concentrated in the 2 minutes after each burst
    n_burst = int(rate * 0.05)
    t_bg = rng.integers(0, DAY_US, rate - n_burst) + d0
    k = rng.integers(0, max(n_c, 1), n_burst)
    t_b = (c_t[k] if n_c else np.full(n_burst, d0)) + rng.integers(0, 120_000_000, n_burst)
    ts = np.sort(np.concatenate([t_bg, np.minimum(t_b, d0 + DAY_US - 1)]))
    walk = np.cumsum(rng.choice([-1.0, 0.0, 1.0], len(ts), p=[0.3, 0.4, 0.3])) * tick
    # the price path: the walk plus, after each burst, a push decaying over ~20 minutes
    shape = np.zeros(len(ts))
    for t, dr, push in zip(c_t, c_dir, c_push):
        a = np.searchsorted(ts, t)
        b = np.searchsorted(ts, t + 3_600_000_000)
        dt = (ts[a:b] - t) / 1e6
        shape[a:b] += -dr * push * np.minimum(dt / 30.0, 1.0) * np.exp(-np.maximum(dt - 30.0, 0) / 1200.0)
    price = np.maximum(np.round(np.round((base * (1.0 + shape) + walk) / tick) * tick, dec), tick)
    trades = pa.table({
        "exchange": pa.array([exchange] * len(ts)),
        "symbol": pa.array([name] * len(ts)),
        "timestamp": ts,
        "local_timestamp": ts + rng.integers(1_000, 40_000, len(ts)),
        "id": np.arange(len(ts), dtype=np.int64) + 4_000_000_000 + day * 10_000_000,
        "side": pa.array(np.where(rng.random(len(ts)) < 0.5, "buy", "sell")),
        "price": price,
        "amount": np.round(rng.lognormal(-4.0, 1.5, len(ts)), 3) + 0.001,
    })
    # liquidations: a Poisson background of ordinary sizes, plus each burst's large ones
    per = rng.integers(4, 13, n_c)
    n_bg = max(liqs - int(per.sum()), 0)
    l_t = np.concatenate([rng.integers(0, DAY_US, n_bg) + d0] + [t + np.sort(rng.integers(0, 40_000_000, m))
                                                                for t, m in zip(c_t, per)])
    l_side = np.concatenate([rng.choice([-1, 1], n_bg)] + [np.full(m, dr) for dr, m in zip(c_dir, per)])
    l_usd = np.concatenate([rng.lognormal(8.5, 1.2, n_bg)] + [rng.lognormal(12.0, 0.6, m) for m in per])
    o = np.argsort(l_t, kind="stable")
    l_t, l_side, l_usd = l_t[o], l_side[o], l_usd[o]
    l_px = price[np.minimum(np.searchsorted(ts, l_t), len(ts) - 1)]
    liq = pa.table({
        "exchange": pa.array([exchange] * len(l_t)),
        "symbol": pa.array([name] * len(l_t)),
        "timestamp": l_t,
        "local_timestamp": l_t + rng.integers(1_000, 40_000, len(l_t)),
        "id": pa.array([None] * len(l_t), pa.string()),
        # the forced order's side: a sell closes a long (longs liquidated, side -1 here)
        "side": pa.array(np.where(l_side < 0, "sell", "buy")),
        "price": l_px,
        "amount": np.round(l_usd / l_px, 3) + 0.001,
    })
    out = {"trades": trades, "liquidations": liq}
    if quotes:
        out["quotes"] = _quotes_day(name, day, quotes, rng, ts, price, tick, dec, exchange)
    return out


QUOTES_HEADER = ["exchange", "symbol", "timestamp", "local_timestamp", "ask_amount", "ask_price", "bid_price",
                 "bid_amount"]


def _quotes_day(symbol: str, day: int, n: int, rng, ts, price, tick: float, dec: int, exchange: str):
    """The day's tardis ``quotes`` table: ``n`` top-of-book updates at uniform times, the best bid at or one
    tick under the last trade's price, the ask one tick above the bid, sizes log-normal."""
    import numpy as np
    import pyarrow as pa

    d0 = T0_US + day * DAY_US
    qt = np.sort(rng.integers(0, DAY_US, n)) + d0
    last = price[np.maximum(np.searchsorted(ts, qt, "right") - 1, 0)]
    bid = np.round(last - tick * (rng.random(n) < 0.5), dec)
    table = pa.table({
        "exchange": pa.array([exchange] * n),
        "symbol": pa.array([symbol] * n),
        "timestamp": qt,
        "local_timestamp": qt + rng.integers(1_000, 40_000, n),
        "ask_amount": np.round(rng.lognormal(0.0, 1.2, n), 3) + 0.001,
        "ask_price": np.round(bid + tick, dec),
        "bid_price": bid,
        "bid_amount": np.round(rng.lognormal(0.0, 1.2, n), 3) + 0.001,
    })
    return table


def day_events(tables: dict, registry):
    """The events a tardis reader makes of :func:`day_tables`'s tables, built from their columns without
    the CSV round trip: ``(EVENT_DTYPE array in event-time order, trade ids)``.  Trades: TRADE rows, the
    taker's side; liquidations: LIQUIDATION rows, the liquidated position's side (a forced sell closes a
    long), flagged SAMPLED where the venue's stream is throttled (Binance's); quotes: two QUOTE rows per update (bid,
    then ask); the venue the tables' ``exchange`` names, the sizes as they are (base quantities: OKX's files would
    give contracts).  Equal to ``liqcore convert`` of the files (tests/backtest/test_bench_direct.py)."""
    import numpy as np

    from liqcore.io.tardis import EXCHANGES
    from liqcore.types import EVENT_DTYPE, Flag, Kind, Side, Venue
    from liqcore.venues.registry import sampled_liquidations

    def col(t, name):
        return t.column(name).to_numpy()

    parts, ids = [], []
    for kind, t in tables.items():
        sym = col(t, "symbol")[0] if t.num_rows else "X"
        venue = Venue(EXCHANGES[str(col(t, "exchange")[0]).encode()]) if t.num_rows else Venue.BINANCE
        sid = registry.id(venue, str(sym))
        ts, recv = col(t, "timestamp").astype(np.int64) * 1000, col(t, "local_timestamp").astype(np.int64) * 1000
        if kind == "quotes":
            ev = np.zeros(2 * t.num_rows, EVENT_DTYPE)
            for k, (p, q, side) in enumerate((("bid_price", "bid_amount", Side.BUY),
                                              ("ask_price", "ask_amount", Side.SELL))):
                o = ev[k::2]
                o["ts_event"], o["ts_recv"], o["price"], o["qty"] = ts, recv, col(t, p), col(t, q)
                o["side"], o["kind"] = int(side), int(Kind.QUOTE)
            tid = np.zeros(len(ev), np.int64)
        else:
            ev = np.zeros(t.num_rows, EVENT_DTYPE)
            buy = col(t, "side") == "buy"
            liq = kind == "liquidations"
            ev["ts_event"], ev["ts_recv"], ev["price"], ev["qty"] = ts, recv, col(t, "price"), col(t, "amount")
            if liq:
                ev["side"] = np.where(buy, int(Side.SHORT), int(Side.LONG))
                ev["kind"] = int(Kind.LIQUIDATION)
                ev["flags"] = int(Flag.SAMPLED) if sampled_liquidations(venue) else 0
                tid = np.zeros(len(ev), np.int64)
            else:
                ev["side"] = np.where(buy, int(Side.BUY), int(Side.SELL))
                ev["kind"] = int(Kind.TRADE)
                tid = col(t, "id").astype(np.int64)
        ev["symbol_id"], ev["venue"] = sid, int(venue)
        parts.append(ev)
        ids.append(tid)
    ev, tid = np.concatenate(parts), np.concatenate(ids)
    order = np.argsort(ev["ts_event"], kind="stable")
    return ev[order], tid[order]


def write_direct(ds: Path, syms: list[str], days: int, rate: int, liqs: int, cascades: int, seed: int,
                 quotes: int, first_day: int = 0, venues=("binance",)) -> dict:
    """The dataset of :func:`generate_day`'s files, written day by day from the generated events
    (:func:`day_events` + ``liqcore.dataset.write_dataset``): no CSV, memory one symbol-day.  ``first_day``:
    days before it are not written (a dataset grown from a shorter one of the same parameters: a day's events
    depend on the seed, the venue, the day and the symbol alone); ``venues``: each symbol on each (a stream
    each, named in the venue's style)."""
    from liqcore.dataset import write_dataset
    from liqcore.types import SymbolRegistry

    n = {"trades": 0, "liquidations": 0, "quotes": 0}
    for v, s in [(v, s) for v in venues for s in syms]:
        for d in range(first_day, days):
            tabs = day_tables(s, d, rate, liqs, cascades, seed, quotes, v)
            for k, t in tabs.items():
                n[k] += t.num_rows
            reg = SymbolRegistry()
            ev, tid = day_events(tabs, reg)
            del tabs
            write_dataset(ev, str(ds), reg, trade_ids=tid, checked=True)
            del ev, tid
    return n


def _date(day: int) -> str:
    import numpy as np

    return str(np.datetime64(T0_US // DAY_US + day, "D"))


# ------------------------------------------------------------------------------------------ children
def _child_floor_convert(files: list[str], out: str) -> dict:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    os.makedirs(out, exist_ok=True)
    n = 0
    t0 = time.perf_counter()
    for i, f in enumerate(files):
        t = pacsv.read_csv(f)
        n += t.num_rows
        pq.write_table(t, os.path.join(out, f"{i}.parquet"))
    return {"rows": n, "wall_s": time.perf_counter() - t0}


def stream_floor(ds: str) -> int:
    """pyarrow's streaming read of the whole dataset: every column of every row, batch after batch (no
    table materialised); the rows read."""
    import pyarrow.dataset as pads

    return sum(b.num_rows for b in pads.dataset(ds, format="parquet", partitioning="hive").to_batches())


def _child_inprocess(ds: str, repeat: int, queue: bool = False) -> dict:
    import liqcore
    from liqcore.config import Params

    def floor():
        return stream_floor(ds)

    def bt():
        return len(liqcore.backtest([ds]).ledger)

    def bt_queue():
        return len(liqcore.backtest([ds], Params(fill="queue")).ledger)

    floor(), bt()  # warm: imports, kernels, the file cache
    if queue:
        bt_queue()
    f, b, q, b_cpu, q_cpu = [], [], [], [], []
    rows = trades = 0
    for _ in range(repeat):  # alternating, so all see the same machine
        t0 = time.perf_counter()
        rows = floor()
        f.append(time.perf_counter() - t0)
        t0, c0 = time.perf_counter(), time.process_time()
        trades = bt()
        b.append(time.perf_counter() - t0)
        b_cpu.append(time.process_time() - c0)
        if queue:
            t0, c0 = time.perf_counter(), time.process_time()
            bt_queue()
            q.append(time.perf_counter() - t0)
            q_cpu.append(time.process_time() - c0)
    # (CPU seconds of the process too: on a loaded machine the wall time of the same run moves more than the
    # difference between the two rules)
    return {"rows": rows, "trades": trades, "floor_s": f, "backtest_s": b, "queue_s": q, "backtest_cpu_s": b_cpu,
            "queue_cpu_s": q_cpu}


def _child_generate(raw: str, syms: str, days: int, rate: int, liqs: int, cascades: int, seed: int,
                    quotes: int) -> dict:
    n_tr = n_lq = n_q = 0
    for s in syms.split(","):
        for d in range(days):
            x, y, z = generate_day(Path(raw), s, d, rate, liqs, cascades, seed, quotes)
            n_tr, n_lq, n_q = n_tr + x, n_lq + y, n_q + z
    return {"trades": n_tr, "liquidations": n_lq, "quotes": n_q}


def child_main(which: str, args: list[str]) -> None:
    if which == "generate":
        out = _child_generate(args[0], args[1], *map(int, args[2:]))
    elif which == "direct":
        out = write_direct(Path(args[0]), args[1].split(","), *map(int, args[2:8]), venues=args[8].split(","))
    elif which == "floor-convert":
        out = _child_floor_convert(args[1:], args[0])
    elif which == "stream-floor":
        out = {"rows": stream_floor(args[0])}
    elif which == "inprocess":
        out = _child_inprocess(args[0], int(args[1]), len(args) > 2 and args[2] == "queue")
    else:
        raise SystemExit(f"unknown child {which}")
    print("BENCH " + json.dumps(out))


def measured(cmd: list[str], env=None) -> dict:
    """``cmd`` in a fresh child, with that child's own peak RSS (``os.wait4``), in GiB."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    import threading

    bufs = {}

    def drain(name, stream):
        bufs[name] = stream.read()

    th = [threading.Thread(target=drain, args=(n, s)) for n, s in (("out", p.stdout), ("err", p.stderr))]
    for t in th:
        t.start()
    _pid, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    for t in th:
        t.join()
    p.returncode = os.waitstatus_to_exitcode(status)
    out = bufs["out"].decode(errors="replace")
    err = bufs["err"].decode(errors="replace")
    if p.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd[:4])}... failed (exit {p.returncode}): {err.strip()[-400:]}")
    res = {"wall_s": wall, "peak_gib": ru.ru_maxrss * 1024 / GIB, "cpu_s": ru.ru_utime + ru.ru_stime}
    for line in out.splitlines():
        if line.startswith("BENCH "):
            res.update(json.loads(line[6:]))
    res["_stdout"] = out
    return res


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _load() -> str:
    try:
        a, b, c = os.getloadavg()
        return f"{a:.1f} / {b:.1f} / {c:.1f} (1 / 5 / 15 min) on {os.cpu_count()} CPUs"
    except OSError:
        return "?"


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _bar(ok: bool) -> str:
    return "met" if ok else "NOT met"


# -------------------------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=int, default=3_000_000, help="trades per day and symbol (default 3000000)")
    ap.add_argument("--days", type=int, default=2, help="UTC days (default 2; the bars: 4, and 30)")
    ap.add_argument("--symbols", default="BTCUSDT", help="comma-separated (default BTCUSDT)")
    ap.add_argument("--venues", default="binance",
                    help="comma-separated, of binance, bybit, okx (default binance): each symbol on each venue, a "
                         "stream each (with --direct where OKX is one: its tardis sizes are contracts)")
    ap.add_argument("--liqs", type=int, default=1500, help="liquidations per day and symbol (default 1500)")
    ap.add_argument("--cascades", type=int, default=30, help="liquidation bursts per day and symbol (default 30)")
    ap.add_argument("--quotes", type=int, default=0, metavar="RATE",
                    help="top-of-book updates per day and symbol, as tardis 'quotes' files (default 0: no book); "
                         "then the queue rule's backtests are timed too")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--dir", help="where the files and the dataset go (default: a new temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the files and the dataset")
    ap.add_argument("--reuse", action="store_true", help="with --dir: reuse the files and dataset already there")
    ap.add_argument("--repeat", type=int, default=3, help="timed in-process runs of each (default 3)")
    ap.add_argument("--convert-repeat", type=int, default=1, metavar="N",
                    help="convert and its floor N times each, alternated; the median of the per-run ratios (default 1)")
    ap.add_argument("--configs", type=int, default=100, help="sweep configurations (default 100)")
    ap.add_argument("--skip-sweep", action="store_true")
    ap.add_argument("--skip-whole", action="store_true", help="skip the --chunk-days 0 backtest (the old path)")
    ap.add_argument("--skip-inprocess", action="store_true")
    ap.add_argument("--direct", action="store_true",
                    help="write the dataset straight from the generated events (liqcore.dataset.write_dataset, "
                         "one symbol-day at a time; the same partition files as convert of the tardis files) "
                         "instead of generating the files and timing convert: the cheap way to a 30-day dataset")
    ap.add_argument("--backtests", metavar="NAMES",
                    help="comma-separated backtests to time (default all): chunked (through, --read all), "
                         "chunked-workers (the same, --workers 0: one reading process per core), windows "
                         "(through, default read), whole, queue (--fill queue --read all), queue-workers (the "
                         "same, --workers 0), queue-windows, queue-auto (--fill queue, default read), "
                         "queue-auto-workers (the same, --workers 2: as a user runs many streams), queue-whole")
    ap.add_argument("--skip-backtest", action="store_true",
                    help="only generate, convert (with its floor) and measure the disk (no backtest runs)")
    ap.add_argument("--json", metavar="FILE", help="also write every figure as JSON")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a, rest = ap.parse_known_args()
    if a.child:
        child_main(a.child, rest)
        return 0
    syms = [s.strip() for s in a.symbols.split(",") if s.strip()]
    if a.rate < 1000 or a.days < 1 or not syms:
        raise SystemExit("bench: --rate >= 1000, --days >= 1 and at least one symbol")
    venues = [v.strip().lower() for v in a.venues.split(",") if v.strip()]
    if not venues or set(venues) - set(TARDIS_EXCHANGE):
        raise SystemExit(f"bench: --venues: of {', '.join(TARDIS_EXCHANGE)}, got {a.venues!r}")
    if venues != ["binance"] and not a.direct:
        raise SystemExit("bench: --venues other than binance with --direct (the files are Binance's)")
    streams = len(syms) * len(venues)
    tmp = Path(a.dir) if a.dir else Path(tempfile.mkdtemp(prefix="bench-density-"))
    tmp.mkdir(parents=True, exist_ok=True)
    raw, ds = tmp / "raw", tmp / "ds"
    fig: dict = {"params": {"rate_per_day": a.rate, "quotes_per_day": a.quotes, "days": a.days, "symbols": syms,
                            "venues": venues,
                            "liqs_per_day": a.liqs,
                            "cascades_per_day": a.cascades, "seed": a.seed, "configs": a.configs},
                 "load_start": _load(), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    print(f"bench_density: {a.rate:,} trades/day + {a.quotes:,} quotes/day x {a.days} day(s) x {len(syms)} symbol(s) "
          f"({', '.join(syms)}) x {len(venues)} venue(s) ({', '.join(venues)}), "
          f"{a.liqs:,} liquidations/day, {a.cascades} bursts/day, seed {a.seed}; folder {tmp}")
    print(f"load average at start: {fig['load_start']}")
    env = _env()
    py = sys.executable
    try:
        if a.direct and not (a.reuse and ds.is_dir()):
            shutil.rmtree(ds, ignore_errors=True)
            g = measured([py, __file__, "--child", "direct", str(ds), ",".join(syms), str(a.days), str(a.rate),
                          str(a.liqs), str(a.cascades), str(a.seed), str(a.quotes), ",".join(venues)], env)
            fig["direct"] = {"wall_s": g["wall_s"], "peak_gib": g["peak_gib"], "trades": g["trades"],
                             "quotes": g["quotes"], "liquidations": g["liquidations"]}
            print(f"wrote the dataset directly from {g['trades']:,} trades + {g['quotes']:,} quotes + "
                  f"{g['liquidations']:,} liquidations: {g['wall_s']:.1f} s, peak {g['peak_gib']:.2f} GiB")
        if a.direct:
            pass
        elif not (a.reuse and raw.is_dir()):
            shutil.rmtree(raw, ignore_errors=True)
            raw.mkdir(parents=True)
            t0 = time.perf_counter()
            # in a child: a peak RSS read by wait4 keeps what the process held before its exec, so every
            # step's child must start from a small parent (the generated tables are a GiB at 6 M quotes)
            g = measured([py, __file__, "--child", "generate", str(raw), ",".join(syms), str(a.days), str(a.rate),
                          str(a.liqs), str(a.cascades), str(a.seed), str(a.quotes)], env)
            n_tr, n_lq, n_q = g["trades"], g["liquidations"], g["quotes"]
            print(f"generated {n_tr:,} trades + {n_q:,} quotes + {n_lq:,} liquidations: {_du(raw) / 1e6:,.0f} MB gzip CSV in "
                  f"{time.perf_counter() - t0:.1f} s")
        files = sorted(str(p) for p in raw.glob("*.csv.gz"))
        rows_csv = None
        # convert, and its floor
        if not a.direct and not (a.reuse and ds.is_dir()):
            shutil.rmtree(ds, ignore_errors=True)
            runs = []
            for i in range(max(a.convert_repeat, 1)):  # alternated, so a change of load hits both
                shutil.rmtree(ds, ignore_errors=True)
                floor = measured([py, __file__, "--child", "floor-convert", str(tmp / "floor")] + files, env)
                shutil.rmtree(tmp / "floor", ignore_errors=True)
                conv = measured([py, "-m", "liqcore", "convert", *files, "--dataset", str(ds)], env)
                runs.append((conv, floor))
                if a.convert_repeat > 1:
                    print(f"  convert run {i + 1}: {conv['cpu_s']:.1f} s CPU ({conv['wall_s']:.1f} s wall), floor "
                          f"{floor['cpu_s']:.1f} s CPU ({floor['wall_s']:.1f} s wall): {conv['cpu_s'] / floor['cpu_s']:.2f}x "
                          f"CPU, {conv['wall_s'] / floor['wall_s']:.2f}x wall; load {_load()}", flush=True)
            rows_csv = runs[0][1]["rows"]
            wall_r = statistics.median(c["wall_s"] / f["wall_s"] for c, f in runs)
            cpu_r = statistics.median(c["cpu_s"] / f["cpu_s"] for c, f in runs)
            conv, floor = runs[len(runs) // 2]
            cw, fw = statistics.median(c["wall_s"] for c, _ in runs), statistics.median(f["wall_s"] for _, f in runs)
            peak, fpeak = max(c["peak_gib"] for c, _ in runs), max(f["peak_gib"] for _, f in runs)
            fig["convert"] = {"wall_s": [c["wall_s"] for c, _ in runs], "cpu_s": [c["cpu_s"] for c, _ in runs],
                              "peak_gib": peak, "floor_s": [f["wall_s"] for _, f in runs],
                              "floor_cpu_s": [f["cpu_s"] for _, f in runs], "floor_peak_gib": fpeak, "rows": rows_csv,
                              "ratio": wall_r, "cpu_ratio": cpu_r}
            what = f"median of {len(runs)} alternated runs: " if len(runs) > 1 else ""
            cc, fc = statistics.median(c["cpu_s"] for c, _ in runs), statistics.median(f["cpu_s"] for _, f in runs)
            print(f"convert --dataset / pyarrow read_csv + write_table of the same files, {what}CPU (user + sys) "
                  f"{cpu_r:.2f}x (bar <= 1.4x: {_bar(cpu_r <= 1.4)}; {cc:.1f} s vs {fc:.1f} s), wall {wall_r:.2f}x "
                  f"({cw:.1f} s vs {fw:.1f} s); peak {peak:.2f} GiB (bar <= 2 GiB: {_bar(peak <= 2.0)}), floor's "
                  f"{fpeak:.2f} GiB; {rows_csv / cw / 1e6:.2f} M rows/s")
        fig["disk"] = {"csv_gz_bytes": _du(raw), "dataset_bytes": _du(ds)}
        print(f"disk: {_du(raw) / 1e6:,.0f} MB gzip CSV -> {_du(ds) / 1e6:,.0f} MB dataset "
              f"({_du(ds) / max(a.days * streams, 1) / 1e6:,.0f} MB per stream-day)")
        if a.skip_backtest:
            fig["load_end"] = _load()
            print(f"load average at end: {fig['load_end']}")
            if a.json:
                Path(a.json).write_text(json.dumps(fig, indent=2, default=str) + "\n")
            return 0
        # backtest, as shipped (chunks) and whole
        runs = [("chunked", ["--read", "all"]), ("chunked-workers", ["--read", "all", "--workers", "0"]),
                ("windows", [])] + (
            [] if a.skip_whole else [("whole", ["--chunk-days", "0"])])
        if a.quotes:  # the queue rule reads the book: the same dataset, every read
            runs += [("queue", ["--fill", "queue", "--read", "all"]),
                     ("queue-workers", ["--fill", "queue", "--read", "all", "--workers", "0"]),
                     ("queue-windows", ["--fill", "queue", "--read", "windows"]),
                     ("queue-auto", ["--fill", "queue"]),
                     ("queue-auto-workers", ["--fill", "queue", "--workers", "2"])] + (
                [] if a.skip_whole else [("queue-whole", ["--fill", "queue", "--chunk-days", "0"])])
        if a.backtests:
            want = {x.strip() for x in a.backtests.split(",") if x.strip()}
            unknown = want - {n for n, _ in runs}
            if unknown:
                raise SystemExit(f"bench: --backtests: unknown or unavailable {', '.join(sorted(unknown))}")
            runs = [(n, e) for n, e in runs if n in want]
        bts = {}
        for name, extra in runs:
            # the streaming floor just before each backtest (the same machine, the same page cache)
            fl = measured([py, __file__, "--child", "stream-floor", str(ds)], env)
            r = measured([py, "-m", "liqcore", "backtest", str(ds), "--json", *extra], env)
            out = json.loads(r["_stdout"].strip().splitlines()[-1])
            bts[name] = {"wall_s": r["wall_s"], "cpu_s": r["cpu_s"], "peak_gib": r["peak_gib"],
                         "trades": len(out["trades"]), "digest": _digest(out["trades"]),
                         "floor_wall_s": fl["wall_s"], "floor_cpu_s": fl["cpu_s"], "floor_rows": fl["rows"],
                         "floor_peak_gib": fl["peak_gib"], "load": _load()}
            label = {"chunked": "--read all: full replay in chunks of about 1 M rows",
                     "chunked-workers": f"--read all --workers 0: {os.cpu_count()} reading processes",
                     "windows": "default read: window-local, exact",
                     "whole": "--chunk-days 0", "queue": "--fill queue --read all, full replay in chunks",
                     "queue-workers": f"--fill queue --read all --workers 0: {os.cpu_count()} reading processes",
                     "queue-windows": "--fill queue --read windows", "queue-auto": "--fill queue, default read",
                     "queue-auto-workers": "--fill queue, default read, --workers 2",
                     "queue-whole": "--fill queue --chunk-days 0"}[name]
            print(f"liqcore backtest DS ({label}): {r['wall_s']:.1f} s ({r['cpu_s']:.1f} s CPU), peak "
                  f"{r['peak_gib']:.2f} GiB, {len(out['trades'])} trades"
                  + (f" (bar peak <= 1.0 GiB: {_bar(r['peak_gib'] <= 1.0)})" if name == "chunked" else ""))
            print(f"  streaming floor just before it (pyarrow dataset(DS).to_batches(), every column of "
                  f"{fl['rows']:,} rows): {fl['wall_s']:.1f} s ({fl['cpu_s']:.1f} s CPU), peak {fl['peak_gib']:.2f} GiB; "
                  f"backtest / floor {r['wall_s'] / fl['wall_s']:.2f}x wall, {r['cpu_s'] / fl['cpu_s']:.2f}x CPU; "
                  f"load {bts[name]['load']}", flush=True)
        c = bts.get("chunked")
        for name in ("chunked-workers", "windows", "whole"):
            if name in bts and c:
                o = bts[name]
                print(f"  {name} / chunked full replay: time {o['wall_s'] / c['wall_s']:.2f}x, peak "
                      f"{o['peak_gib'] / c['peak_gib']:.2f}x; same trades: {o['digest'] == c['digest']}")
        if "queue" in bts and c:
            q = bts["queue"]
            print(f"  queue / through (both full replay in chunks): time {q['wall_s'] / c['wall_s']:.2f}x "
                  f"(bar <= 1.3x: {_bar(q['wall_s'] <= 1.3 * c['wall_s'])}), peak {q['peak_gib'] / c['peak_gib']:.2f}x; "
                  f"queue peak {q['peak_gib']:.2f} GiB (bar <= 1.0 GiB: {_bar(q['peak_gib'] <= 1.0)})")
        if "queue" in bts:
            q = bts["queue"]
            for name in ("queue-workers", "queue-windows", "queue-auto", "queue-auto-workers", "queue-whole"):
                if name in bts:
                    o = bts[name]
                    print(f"  {name} / queue full replay in chunks: time {o['wall_s'] / q['wall_s']:.2f}x, peak "
                          f"{o['peak_gib'] / q['peak_gib']:.2f}x; same trades: {o['digest'] == q['digest']}")
        for name in ("queue-auto", "queue-auto-workers", "queue"):  # the bar: 30 days with the book; a year extrapolated
            if name in bts:
                o = bts[name]
                year = o["wall_s"] * 365 / a.days
                same = "queue" in bts and o["digest"] == bts["queue"]["digest"]
                print(f"  {name}: {a.days} day(s) in {o['wall_s']:.1f} s ({o['cpu_s']:.1f} s CPU), peak "
                      f"{o['peak_gib']:.2f} GiB, {o['wall_s'] / o['floor_wall_s']:.2f}x wall and "
                      f"{o['cpu_s'] / o['floor_cpu_s']:.2f}x CPU the streaming floor; a year of "
                      f"{streams} stream(s) extrapolated linearly: {year / 60:.1f} min"
                      + (f" (bars, 30 days, the default read: <= 1.0x the streaming floor "
                         f"{_bar(o['wall_s'] <= o['floor_wall_s'])} wall, {_bar(o['cpu_s'] <= o['floor_cpu_s'])} CPU; "
                         f"<= 20 s at load <= 1 {_bar(o['wall_s'] <= 20)} (load {o['load']}); <= 1 GiB "
                         f"{_bar(o['peak_gib'] <= 1.0)}; the same trades as --read all "
                         f"{_bar(same) if 'queue' in bts else 'not measured'})"
                         if a.days == 30 and name == "queue-auto" else ""))
        if "queue-auto" in bts and "queue-auto-workers" in bts:
            o, w = bts["queue-auto"], bts["queue-auto-workers"]
            print(f"  queue-auto-workers / queue-auto: wall {w['wall_s'] / o['wall_s']:.2f}x, CPU (the workers' "
                  f"included) {w['cpu_s'] / o['cpu_s']:.2f}x; same trades: {w['digest'] == o['digest']}")
        fig["backtest"] = bts
        if not a.skip_inprocess:
            r = measured([py, __file__, "--child", "inprocess", str(ds), str(a.repeat)] + (["queue"] if a.quotes else []),
                         env)
            fl, bt = statistics.median(r["floor_s"]), statistics.median(r["backtest_s"])
            fig["inprocess"] = {"floor_s": r["floor_s"], "backtest_s": r["backtest_s"], "rows": r["rows"],
                                "trades": r["trades"], "ratio": bt / fl, "peak_gib": r["peak_gib"]}
            print(f"in one warm process (median of {a.repeat}): liqcore.backtest([DS]) {bt:.2f} s; streaming floor "
                  f"pyarrow dataset(DS).to_batches() {fl:.2f} s ({r['rows']:,} rows); ratio {bt / fl:.2f}x "
                  f"(bar <= 2x: {_bar(bt <= 2 * fl)})")
            if r.get("queue_s"):
                qu = statistics.median(r["queue_s"])
                fig["inprocess"]["queue_s"] = r["queue_s"]
                print(f"  liqcore.backtest([DS], fill queue) {qu:.2f} s: {qu / fl:.2f}x the floor, {qu / bt:.2f}x the "
                      f"through rule (bars: both < 0.5x the floor: {_bar(max(qu, bt) < 0.5 * fl)}; queue <= 1.3x "
                      f"through: {_bar(qu <= 1.3 * bt)})")
                bc, qc = statistics.median(r["backtest_cpu_s"]), statistics.median(r["queue_cpu_s"])
                fig["inprocess"].update(backtest_cpu_s=r["backtest_cpu_s"], queue_cpu_s=r["queue_cpu_s"])
                print(f"  CPU seconds of the process (median of {a.repeat}): through {bc:.2f} s, queue {qc:.2f} s = "
                      f"{qc / bc:.2f}x (queue <= 1.3x through: {_bar(qc <= 1.3 * bc)})")
        if not a.skip_sweep:
            n1 = max(1, int(round(a.configs ** 0.5)))
            n2 = max(1, a.configs // n1)
            offs = ",".join(f"{0.05 + 0.03 * i:.2f}%" for i in range(n1))
            tps = ",".join(f"{0.15 + 0.1 * i:.2f}%" for i in range(n2))
            store = tmp / "sweep.parquet"  # a fresh store: cells stored by an earlier run would be reused
            if store.is_dir():
                shutil.rmtree(store)
            elif store.exists():
                store.unlink()
            r = measured([py, "-m", "liqcore", "sweep", str(ds), "--grid", f"offset={offs}", "--grid",
                          f"take-profit={tps}", "--workers", "1", "--no-progress", "--out", str(tmp / "sweep.parquet")],
                         env)
            fig["sweep"] = {"wall_s": r["wall_s"], "peak_gib": r["peak_gib"], "configs": n1 * n2}
            print(f"liqcore sweep DS, {n1 * n2} configurations, 1 worker: {r['wall_s']:.1f} s, peak {r['peak_gib']:.2f} GiB")
        fig["load_end"] = _load()
        print(f"load average at end: {fig['load_end']}")
        if a.json:
            Path(a.json).write_text(json.dumps(fig, indent=2, default=str) + "\n")
            print(f"figures written to {a.json}")
    finally:
        if not a.keep and not a.dir:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _digest(trades: list) -> str:
    import hashlib

    return hashlib.sha1(json.dumps(trades, sort_keys=True).encode()).hexdigest()[:16]


if __name__ == "__main__":
    sys.exit(main())

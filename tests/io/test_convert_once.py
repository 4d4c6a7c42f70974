"""``convert FILES --dataset DS`` writes each (venue, symbol, date) partition once per run: the files of a day
(trades, quotes, liquidations, named by their date as tardis names them) are read one after the other, ahead of the
writes by at most one big file, their rows merged with the partition's old rows in one write, and the day dropped from memory
before the next day's second file is read.  The partition files are the bytes converting the files one at a
time gives."""
from __future__ import annotations

import gzip
import random
from pathlib import Path

import numpy as np

import liqcore.dataset.readahead as readahead
import liqcore.dataset.write as dataset_mod
import liqcore.io as io_mod
from liqcore.dataset import convert_to_dataset, load_dataset
from liqcore.dataset.checked import MARKS_FILE

T0_US = 1_722_470_400_000_000  # 2024-08-01T00:00Z
DAY_US = 86_400_000_000
TRADES = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"
QUOTES = "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount"


def _write(path: Path, header: str, rows: list[str]) -> Path:
    with gzip.open(path, "wt") as fh:
        fh.write(header + "\n" + "".join(r + "\n" for r in rows))
    return path


def _day_files(folder: Path, day: int, seed: int, spill: bool = False) -> list[Path]:
    """One day's tardis trades, quotes and liquidations files of BTCUSDT: times on a coarse grid, so trades
    and quotes share event and receive times, repeated trades (the same id twice), quotes with an empty side;
    ``spill``: the trades file also holds rows of the evening before (its partition is the day before's)."""
    rng = random.Random(seed)
    date = str(np.datetime64(T0_US // DAY_US + day, "D"))
    t0 = T0_US + day * DAY_US
    trades, quotes, liqs = [], [], []
    price = 64_000.0
    for i in range(1_500):
        ts = t0 + rng.randrange(0, 600) * 1_000_000 + (rng.randrange(0, 3) * 1000)
        price += rng.choice((-0.1, 0.0, 0.1))
        row = (f"binance-futures,BTCUSDT,{ts},{ts + 1000 * rng.randrange(1, 3)},{1_000_000 * (day + 1) + i},"
               f"{rng.choice(('buy', 'sell'))},{price:.1f},{rng.randint(1, 900) / 1000}")
        trades.append(row)
        if i % 97 == 0:
            trades.append(row)  # the same trade twice
    if spill:
        for i in range(20):
            ts = t0 - 1_000_000 * (i + 1)
            trades.append(f"binance-futures,BTCUSDT,{ts},{ts + 2000},{9_000_000 + day * 100 + i},buy,{price:.1f},0.5")
    for i in range(3_000):
        ts = t0 + rng.randrange(0, 600) * 1_000_000 + (rng.randrange(0, 3) * 1000)
        bid = price + rng.randrange(-5, 1) / 10
        ask_p, ask_q = (f"{bid + 0.1:.1f}", f"{rng.randint(1, 9)}") if i % 41 else ("", "")
        bid_p, bid_q = (f"{bid:.1f}", f"{rng.randint(1, 9) / 2}") if i % 53 else ("", "")
        quotes.append(f"binance-futures,BTCUSDT,{ts},{ts + 1000 * rng.randrange(1, 3)},{ask_q},{ask_p},{bid_p},{bid_q}")
    for i in range(60):
        ts = t0 + i * 1_500_000 * 6
        liqs.append(f"binance-futures,BTCUSDT,{ts},{ts + 1000},,{rng.choice(('buy', 'sell'))},{price:.1f},"
                    f"{rng.randint(1, 900) / 100}")
    trades.sort(key=lambda r: int(r.split(",")[2]))
    quotes.sort(key=lambda r: int(r.split(",")[2]))
    return [_write(folder / f"binance-futures_trades_{date}_BTCUSDT.csv.gz", TRADES, trades),
            _write(folder / f"binance-futures_quotes_{date}_BTCUSDT.csv.gz", QUOTES, quotes),
            _write(folder / f"binance-futures_liquidations_{date}_BTCUSDT.csv.gz", TRADES, liqs)]


def _files(ds: Path) -> dict:
    return {p.relative_to(ds).as_posix(): p.read_bytes() for p in sorted(ds.glob("venue=*/symbol=*/date=*/*.parquet"))}


def _marks(ds: Path) -> dict:
    import json

    return json.loads((ds / MARKS_FILE).read_text())["files"]


def test_converting_all_files_at_once_gives_the_bytes_of_converting_them_one_by_one(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    files = sorted(_day_files(raw, 0, 1) + _day_files(raw, 1, 2, spill=True) + _day_files(raw, 2, 3, spill=True))
    once, single, given = tmp_path / "once", tmp_path / "single", tmp_path / "given"
    done = convert_to_dataset(files, once)
    assert sorted(done["converted"]) == sorted(map(str, files)) and not done["unreadable"]
    # one at a time, in the order the convert reads them (by the date in their names, then as given)
    for i in dataset_mod._plan(files, list(range(len(files)))):
        convert_to_dataset([files[i]], single)
    assert [f.name for f in files[:2]] != [files[i].name for i in dataset_mod._plan(files, [0, 1, 2, 3])[:2]]
    a, b = _files(once), _files(single)
    assert len(a) == 3 and a.keys() == b.keys()  # (the evening rows of a file named by the next day: its day before)
    for k in a:
        assert a[k] == b[k], k
    assert _marks(once) == _marks(single) and len(_marks(once)) == 3  # every partition marked checked
    # one at a time in the order given (by kind, then date): the same events
    for f in files:
        convert_to_dataset([f], given)
    x, y = load_dataset(once), load_dataset(given)
    assert len(x.events) > 20_000 and np.array_equal(x.events, y.events)
    assert np.array_equal(x.trade_ids, y.trade_ids)
    # the quotes' empty sides are written as a load reads them (price 0), so the files are marked checked and
    # the read that trusts the marks gives the events of the read that judges every row
    assert x.files[str(once)]["checked"] is True
    z = load_dataset(once, recheck=True)
    assert z.files[str(once)]["checked"] is False
    assert x.events.tobytes() == z.events.tobytes()
    # converting them again adds nothing and changes no byte
    again = convert_to_dataset(files, once, force=True)
    assert again["rows_added"] == 0 and _files(once) == a


def test_each_partition_is_written_once_and_a_day_leaves_memory_before_the_next_days_second_file(
        tmp_path, monkeypatch):
    monkeypatch.setattr(readahead, "_SMALL_FILE_BYTES", 0)  # every file counts as big: one file ahead
    raw = tmp_path / "raw"
    raw.mkdir()
    files = sorted(_day_files(raw, 0, 1) + _day_files(raw, 1, 2) + _day_files(raw, 2, 3))
    seq = []
    real_put, real_load = dataset_mod._put_partition, io_mod.load_files

    def put(out_dir, url, key, rows, *a, **k):
        seq.append(("put", key[2]))
        return real_put(out_dir, url, key, rows, *a, **k)

    def load(paths, *a, **k):
        seq.append(("load", Path(paths[0]).name))
        return real_load(paths, *a, **k)

    monkeypatch.setattr(dataset_mod, "_put_partition", put)
    monkeypatch.setattr(io_mod, "load_files", load)
    ds = tmp_path / "ds"
    done = convert_to_dataset(files, ds)
    puts = [d for w, d in seq if w == "put"]
    assert puts == ["2024-08-01", "2024-08-02", "2024-08-03"], seq  # each partition once, a day at a time
    assert done["partitions"] == 3
    loads = [i for i, (w, _n) in enumerate(seq) if w == "load"]
    assert len(loads) == 9
    for day, date in enumerate(("2024-08-01", "2024-08-02")):
        written = seq.index(("put", date))
        # the next day's first file may be read while this day is written; its second only after
        assert written < loads[3 * (day + 1) + 1], seq
    # a file goes into the manifest once all its rows are written: all of them, here
    import json

    assert len(json.loads((ds / dataset_mod.MANIFEST).read_text())) == 9


def test_the_read_ahead_passes_small_files_and_stops_at_a_big_one(tmp_path):
    """While the caller holds a file, the reading thread reads the files after it as long as those it read and
    the caller has not taken yet are small (a day's liquidations), so the next day's big file (its quotes) is
    read while the day before is written; a big file read and not taken stops it until taken.  Results come
    in the plan's order, errors where their file is due."""
    import threading
    import time

    sizes = {"b1": 500, "s2": 10, "s3": 10, "b4": 500, "b5": 500, "bad6": 10}
    files = []
    for name, n in sizes.items():
        p = tmp_path / name
        p.write_bytes(b"x" * n)
        files.append(p)
    started, lock = [], threading.Lock()

    def load(f):
        with lock:
            started.append(f.name)
        if f.name == "bad6":
            raise ValueError("bad6: unreadable")
        return f.name.upper()

    def wait_for(cond):
        deadline = time.monotonic() + 30
        while not cond():
            assert time.monotonic() < deadline, started
            time.sleep(0.01)

    r = dataset_mod._ReadAhead(files, load, small=100)
    try:
        wait_for(lambda: "b1" in started)
        assert r.get(files[0]) == "B1"
        # b1 taken: s2 and s3 (small) are read, then b4 (big) although s2 and s3 are not taken yet
        wait_for(lambda: "b4" in started)
        wait_for(lambda: r._held >= 500)  # b4 read, not taken: b5 waits for it
        assert "b5" not in started
        assert [r.get(f) for f in files[1:4]] == ["S2", "S3", "B4"]
        wait_for(lambda: "b5" in started)
        assert r.get(files[4]) == "B5"
        try:
            r.get(files[5])
            raise AssertionError("bad6 did not raise")
        except ValueError as exc:
            assert "bad6" in str(exc)
    finally:
        r.close()

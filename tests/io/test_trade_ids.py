"""A distinct trade is never a duplicate: the venue's trade id travels beside the events (``LoadResult.
trade_ids``, a dataset's ``trade_id`` column) and dedupe tells trades apart by it; the same trade seen in
two overlapping recordings is still removed; liquidations (no id) keep the rule without one.

The capture fixture is a small file in the layout of hftbacktest's published raw Binance USD-M capture
(``<receive ns> {"stream":"btcusdt@trade","data":{...}}`` and ``@aggTrade`` frames, one a line).  That
capture (21,313 trades with distinct ids, 2,731 of which share time, price, size and side with another)
is not in this repository; the fixture is built the same way: runs of trades with distinct ids and the
same time, price, size and taker side, as one taker order filling several resting orders prints them."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore.dataset import convert_to_dataset, load_dataset
from liqcore.dataset.load import load_events
from liqcore.types import Kind

T0_MS = 1_723_161_255_000  # 2024-08-08


def trade(tid: int, t_ms: int, price: str, qty: str, maker: bool) -> str:
    return json.dumps({"stream": "btcusdt@trade", "data": {
        "e": "trade", "E": t_ms + 2, "T": t_ms, "s": "BTCUSDT", "t": tid, "p": price, "q": qty, "X": "MARKET",
        "m": maker}}, separators=(",", ":"))


def agg_trade(aid: int, t_ms: int, price: str, qty: str, maker: bool) -> str:
    return json.dumps({"stream": "btcusdt@aggTrade", "data": {
        "e": "aggTrade", "E": t_ms + 2, "a": aid, "s": "BTCUSDT", "p": price, "q": qty, "f": aid * 10,
        "l": aid * 10 + 1, "T": t_ms, "m": maker}}, separators=(",", ":"))


def force_order(t_ms: int) -> str:
    return json.dumps({"stream": "btcusdt@forceOrder", "data": {"e": "forceOrder", "E": t_ms + 5, "o": {
        "s": "BTCUSDT", "S": "SELL", "o": "LIMIT", "f": "IOC", "q": "0.5", "p": "55900", "ap": "55950",
        "X": "FILLED", "l": "0.5", "z": "0.5", "T": t_ms}}}, separators=(",", ":"))


def capture_lines() -> tuple[list[str], int]:
    """(lines, distinct trade ids): 200 taker orders, each printing 1-4 trades with the same time,
    price, size and side; aggTrade frames alike; a forced order printed twice (the liquidation rule)."""
    lines, tid, aid = [], 5_000_000_000, 2_000_000_000
    n = 0
    for i in range(200):
        t = T0_MS + i * 250
        recv = t * 1_000_000 + 30_314_667
        for _k in range(1 + i % 4):  # 1..4 fills of one taker order: same T, p, q, m
            tid += 1
            n += 1
            lines.append(f"{recv} {trade(tid, t, f'{56000 + i % 7 * 0.1:.1f}', '0.002', i % 2 == 0)}")
        if i % 5 == 0:
            for _k in range(2):  # two aggregate trades with the same T, p, q, m
                aid += 1
                n += 1
                lines.append(f"{recv + 1} {agg_trade(aid, t, '56000.0', '0.004', True)}")
    lines.append(f"{(T0_MS + 10_000) * 1_000_000 + 7} {force_order(T0_MS + 10_000)}")
    lines.append(f"{(T0_MS + 10_000) * 1_000_000 + 9} {force_order(T0_MS + 10_000)}")  # the same forced order
    return lines, n


def _trades(res):
    return res.events[res.events["kind"] == Kind.TRADE]


def test_a_capture_keeps_every_trade_with_a_distinct_id(tmp_path):
    lines, n = capture_lines()
    f = tmp_path / "btcusdt_20240808.gz"
    import gzip

    f.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    res = load_events(f, format="hftbacktest")
    tr = _trades(res)
    assert len(tr) == n  # the old rule kept one trade per (time, price, size, side): 2 of 5 fills lost
    key = np.unique(np.stack([tr["ts_event"], tr["price"].view(np.int64), tr["qty"].view(np.int64), tr["side"]]),
                    axis=1)
    assert key.shape[1] < n  # the fixture does hold trades that share time, price, size and side
    ids = res.trade_ids[res.events["kind"] == Kind.TRADE]
    assert len(np.unique(ids)) == n and (ids != 0).all()
    # the forced order printed twice is one liquidation (no id: the rule without one)
    assert int((res.events["kind"] == Kind.LIQUIDATION).sum()) == 1 and res.duplicates == 1


def test_overlapping_recordings_are_still_deduplicated(tmp_path):
    lines, n = capture_lines()
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("\n".join(lines[: len(lines) * 2 // 3]) + "\n")
    b.write_text("\n".join(lines[len(lines) // 3:]) + "\n")  # the middle third in both recordings
    res = load_events([a, b], format="hftbacktest")
    assert len(_trades(res)) == n
    assert res.duplicates > len(lines) // 4


HEADER = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"


def tardis_lines(ids, first: int = 0) -> list[str]:
    rows = []
    t0 = 1_722_470_400_000_000
    for j, tid in enumerate(ids, first):
        t = t0 + (j // 3) * 1_000  # three trades a stamp, same price, size and side
        rows.append(f"binance-futures,BTCUSDT,{t},{t + 900},{tid},buy,64000.5,0.001")
    return rows


def test_tardis_trades_keep_distinct_ids_in_loads_and_datasets(tmp_path):
    ids = list(range(7_000_000_001, 7_000_000_031))
    f = tmp_path / "binance-futures_trades_2024-08-01_BTCUSDT.csv"
    first = tardis_lines(ids)
    f.write_text("\n".join([HEADER] + first) + "\n")
    res = load_events(f)
    assert len(res.events) == 30 and sorted(res.trade_ids.tolist()) == ids
    # a second recording of the same day: the first one's last 15 lines, then 15 more trades
    g = tmp_path / "binance-futures_trades_2024-08-01_BTCUSDT-b.csv"
    more = tardis_lines(range(8_000_000_001, 8_000_000_016), first=30)
    g.write_text("\n".join([HEADER] + first[15:] + more) + "\n")
    both = load_events([f, g])
    assert len(both.events) == 45 and both.duplicates == 15
    assert len(np.unique(both.trade_ids)) == 45
    ds = tmp_path / "ds"
    convert_to_dataset([f], ds)
    convert_to_dataset([f], ds, force=True)  # the same file again: nothing added
    back = load_dataset(ds)
    assert len(back.events) == 30 and sorted(back.trade_ids.tolist()) == ids


def test_bybit_uuid_ids_tell_trades_apart():
    from liqcore.venues.common import Sink
    from liqcore.venues.bybit.parse import parse_obj

    sink = Sink()
    items = [{"T": T0_MS, "s": "BTCUSDT", "S": "Buy", "v": "0.001", "p": "64000.5", "i": f"3a8f2c1e-0000-4000-8000-00000000000{k}"}
             for k in range(3)]
    parse_obj({"topic": "publicTrade.BTCUSDT", "type": "snapshot", "ts": T0_MS + 1, "data": items}, sink)
    ev, ids = sink.events_and_ids()
    assert len(ev) == 3 and len(set(ids.tolist())) == 3 and (ids != 0).all()
    from liqcore.io.base import dedupe

    kept, n = dedupe(np.concatenate([ev, ev]), np.concatenate([ids, ids]))
    assert len(kept) == 3 and n == 3
    assert dedupe(ev)[1] == 2  # without the ids, the old rule: one trade


# ---- the same trade from two sources (a recording and its own conversion), issue 43 item 2 -------------------
def reference_keep(rows: list, tids: list, quote: list, recv: list | None = None) -> np.ndarray:
    """The duplicate rule written out row by row: quotes are all kept; of the events with one row
    (``rows[i]``: any hashable of the compared fields), those with an id are kept once per id and
    those without are dropped, or when none has an id one alone is kept; of the copies kept once, the
    earliest received (``recv``; ties: the first in input order)."""
    recv = list(range(len(rows))) if recv is None else recv
    named = {r for r, t, q in zip(rows, tids, quote) if t and not q}
    best = {}  # (row, id) -> the position of its earliest-received copy
    for i, (r, t, q) in enumerate(zip(rows, tids, quote)):
        if q or (not t and r in named):
            continue
        j = best.get((r, t))
        if j is None or recv[i] < recv[j]:
            best[(r, t)] = i
    kept = set(best.values())
    return np.array([q or i in kept for i, q in enumerate(quote)], dtype=bool)


_ROW = st.tuples(st.integers(0, 3), st.sampled_from([int(Kind.TRADE), int(Kind.LIQUIDATION), int(Kind.QUOTE)]),
                 st.sampled_from([1.0, 2.0]), st.sampled_from([0, 0, 5, 6]), st.integers(0, 3))


@settings(max_examples=400, deadline=None)
@given(st.lists(_ROW, min_size=0, max_size=24), st.booleans(), st.booleans(), st.booleans())
def test_dedupe_is_the_rule_written_out(spec, sort, with_ids, recv_drawn):
    from liqcore.io.base import dedupe
    from liqcore.types import make_events

    if sort:
        spec = sorted(spec, key=lambda x: x[0])
    recv = [s[4] for s in spec] if recv_drawn else list(range(len(spec)))
    ev = make_events(ts_event=[s[0] for s in spec], kind=[s[1] for s in spec], price=[s[2] for s in spec], qty=1.0,
                     side=[3 if s[1] != Kind.LIQUIDATION else 1 for s in spec], venue=1, ts_recv=recv)
    tids = np.array([s[3] for s in spec], np.int64) if with_ids else None
    keep = reference_keep([(s[0], s[1], s[2]) for s in spec], [s[3] if with_ids else 0 for s in spec],
                          [s[1] == Kind.QUOTE for s in spec], recv)
    out, ids, n = dedupe(ev, tids, with_ids=True)
    assert np.array_equal(out, ev[keep]) and n == len(ev) - int(keep.sum())
    assert (ids is None) if tids is None else np.array_equal(ids, tids[keep])


def test_two_recordings_of_one_trade_keep_the_earlier_received_in_a_load_and_a_dataset(tmp_path):
    """The same trades recorded by two sources, the second source receiving them earlier: a load keeps the
    earlier-received copies whichever file comes first, and a dataset written from both holds the same."""
    from liqcore.io.base import dedupe

    def csv(path, lag_ms):
        lines = ["exchange,symbol,timestamp,local_timestamp,id,side,price,amount"]
        for i in range(50):
            t_us = (T0_MS + i * 1000) * 1000
            lines.append(f"binance-futures,BTCUSDT,{t_us},{t_us + lag_ms * 1000},{9000 + i},"
                         f"{'buy' if i % 2 else 'sell'},{56000 + i * 0.5},0.01")
        path.write_text("\n".join(lines) + "\n")

    slow, fast = tmp_path / "a" / "binance-futures_trades_2024-08-08_BTCUSDT.csv", tmp_path / "b" / \
        "binance-futures_trades_2024-08-08_BTCUSDT.csv"
    slow.parent.mkdir(), fast.parent.mkdir()
    csv(slow, 40), csv(fast, 3)
    want = load_events([fast]).events
    for paths in ([slow, fast], [fast, slow]):
        got = load_events(paths)
        assert got.duplicates == 50 and np.array_equal(got.events, want), paths
        ds = tmp_path / f"ds{paths[0].parent.name}"
        convert_to_dataset(paths, ds)
        assert np.array_equal(load_dataset(ds).events, want), paths
    # negative control: with the first copy kept instead, the slow source's rows would stand
    both = np.concatenate([load_events([slow]).events, want])
    assert not np.array_equal(both[:50], want) and np.array_equal(dedupe(both)[0], want)


def _tour(tmp_path):
    """The README tour's files: the bundled recording and its own conversions."""
    from liqcore.data import sample_recording

    rec = tmp_path / "recordings" / "sample-bybit.jsonl.zst"
    rec.parent.mkdir()
    rec.write_bytes(sample_recording().read_bytes())
    return rec


N_SAMPLE_TRADES = 4542  # the bundled recording's trades


@pytest.mark.parametrize("name", ["events.parquet", "data.csv"])
def test_convert_out_keeps_the_trade_ids_and_a_recording_with_it_shows_each_trade_once(tmp_path, capsys, name):
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from liqcore.cli import main

    rec = _tour(tmp_path)
    out = tmp_path / name
    assert main(["convert", str(rec.parent), "--out", str(out)]) == 0
    src = load_events(rec)
    table = pq.read_table(out) if name.endswith(".parquet") else pacsv.read_csv(out)
    assert table.column("trade_id").to_pylist() == src.trade_ids.tolist()  # the venue's ids, as the load has them
    assert int((src.trade_ids != 0).sum()) == N_SAMPLE_TRADES
    for paths in ([rec, out], [out, rec]):
        both = load_events(paths)
        assert int((both.events["kind"] == Kind.TRADE).sum()) == N_SAMPLE_TRADES
        assert np.array_equal(both.events, src.events) and both.duplicates == len(src.events)
    capsys.readouterr()
    assert main(["events", str(rec), str(out), "--json", "--kind", "trade"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == N_SAMPLE_TRADES
    assert [json.loads(x)["trade_id"] for x in lines] == src.trade_ids[src.events["kind"] == Kind.TRADE].tolist()


@pytest.mark.parametrize("name", ["old.parquet", "old.csv"])
def test_a_conversion_without_ids_and_its_recording_show_each_trade_once(tmp_path, name):
    # a file written before the ids were kept (or by a tool that keeps none): the full row decides
    rec = _tour(tmp_path)
    src = load_events(rec)
    import liqcore.io.save as save

    out = tmp_path / name
    save.save_events(src.events, out, registry=src.registry)  # no trade_ids: the column holds 0 (none)
    if name.endswith(".csv"):  # and a CSV without the column at all
        lines = out.read_text().splitlines()
        out.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")
        assert lines[0].endswith(",trade_id") and "trade_id" not in out.read_text().splitlines()[0]
    for paths in ([rec, out], [out, rec]):
        both = load_events(paths)
        assert int((both.events["kind"] == Kind.TRADE).sum()) == N_SAMPLE_TRADES
        assert np.array_equal(both.trade_ids, src.trade_ids)  # the rows with the venue's ids are the ones kept
        assert len(both.events) == len(src.events)


@pytest.mark.parametrize("ids", [True, False])
@pytest.mark.parametrize("csv_first", [True, False])
def test_a_dataset_takes_a_recording_and_its_csv_conversion_once(tmp_path, capsys, ids, csv_first):
    from liqcore.cli import main

    rec = _tour(tmp_path)
    csv = tmp_path / "data.csv"
    assert main(["convert", str(rec.parent), "--out", str(csv)]) == 0
    if not ids:  # a CSV without the trade_id column
        lines = csv.read_text().splitlines()
        assert lines[0].endswith(",trade_id")
        csv.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")
    ds = tmp_path / "ds"
    first, second = (csv, rec.parent) if csv_first else (rec.parent, csv)
    capsys.readouterr()
    assert main(["convert", str(first), "--dataset", str(ds)]) == 0
    assert "; 6414 new rows" in capsys.readouterr().err
    assert main(["convert", str(second), "--dataset", str(ds)]) == 0
    assert "; 0 new rows" in capsys.readouterr().err
    back = load_dataset(ds)
    assert int((back.events["kind"] == Kind.TRADE).sum()) == N_SAMPLE_TRADES
    assert np.array_equal(back.events, load_events(rec).events)
    assert back.files[str(ds)]["checked"] is True

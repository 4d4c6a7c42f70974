"""load_events / save_events: every recording format, detection, rejects, strict mode, sorting, dedupe."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import orjson
import pytest
import zstandard

from liqcore.io import FORMATS, LoadResult, dedupe, detect_format, save_events
from liqcore.dataset.load import load_events
from liqcore.types import EVENT_DTYPE, Flag, Kind, Side, SymbolRegistry, Venue

DATA = Path(__file__).resolve().parents[1] / "data"
SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
MS = 1_000_000
T0 = 1739502302929


def bybit_liq(t_ms, side="Buy", v="1.5", p="2700.5", sym="ETHUSDT") -> bytes:
    return (b'{"topic":"allLiquidation.%s","type":"snapshot","ts":%d,"data":[{"T":%d,"s":"%s","S":"%s","v":"%s","p":"%s"}]}'
            % (sym.encode(), t_ms + 300, t_ms, sym.encode(), side.encode(), v.encode(), p.encode()))


def binance_liq(t_ms, side="SELL", z="0.5", ap="100.5", sym="BTCUSDT") -> bytes:
    return (b'{"e":"forceOrder","E":%d,"o":{"s":"%s","S":"%s","o":"LIMIT","f":"IOC","q":"%s","p":"%s","ap":"%s",'
            b'"X":"FILLED","l":"%s","z":"%s","T":%d}}' % (t_ms + 5, sym.encode(), side.encode(), z.encode(), ap.encode(),
                                                      ap.encode(), z.encode(), z.encode(), t_ms))


def write(path: Path, lines) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


# ------------------------------------------------------------------------------------ contract CSV
def test_contract_csv_minimal_columns_sorted_deduped_estimated_recv(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text(
        "ts_event_ns,venue,symbol,side,price,qty\n"
        "2000,bybit,BTCUSDT,long,43000,0.5\n"
        "1000,binance,ethusdt,short,2000,1\n"
        "2000,bybit,BTCUSDT,long,43000,0.5\n"  # exact duplicate
        "2000,okx,BTC-USDT-SWAP,short,43001,0.5\n"
    )
    r = load_events(p, feed_latency_ns=250)
    assert isinstance(r, LoadResult)
    ev = r.events
    assert ev.dtype == EVENT_DTYPE and len(ev) == 3 and r.duplicates == 1
    assert ev["ts_event"].tolist() == [1000, 2000, 2000]
    # stable: the two events at 2000 keep file order (bybit line before okx line)
    assert ev["venue"].tolist() == [Venue.BINANCE, Venue.BYBIT, Venue.OKX]
    assert ev["side"].tolist() == [Side.SHORT, Side.LONG, Side.SHORT]
    assert (ev["kind"] == Kind.LIQUIDATION).all()
    assert (ev["ts_recv"] == ev["ts_event"] + 250).all()
    assert (ev["flags"] & Flag.RECV_ESTIMATED).all()
    assert r.registry.symbol(ev["symbol_id"][0]) == "ETHUSDT"
    assert r.sources == [str(p)] and r.files[str(p)]["records"] == 4
    assert "3 events" in r.summary()


def test_contract_csv_optional_columns_and_rejects(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text(
        "ts_event_ns,venue,symbol,side,price,qty,kind,ts_recv_ns\n"
        "1000,bybit,BTCUSDT,buy,43000,0.5,trade,1500\n"
        "1100,bybit,BTCUSDT,none,43010,0,mark,1600\n"
        "1200,bybit,BTCUSDT,long,-1,0.5,liquidation,\n"  # non_positive
        "1300,bybit,BTCUSDT,long,nan,0.5,liquidation,\n"  # non_finite
        "1400,kraken,BTCUSDT,long,1,0.5,liquidation,\n"  # unknown venue
        "1500,bybit,BTCUSDT,buy,1,0.5,liquidation,\n"  # a liquidation must carry long/short
        "abc,bybit,BTCUSDT,long,1,0.5,liquidation,\n"  # non_numeric time
        "1600,bybit,BTCUSDT,short,43005,0.5,,\n"  # kind defaults to liquidation, recv estimated
    )
    r = load_events(p)
    assert r.rejects == {"non_positive": 1, "non_finite": 1, "unknown_venue": 1, "bad_side": 1, "non_numeric": 1}
    ev = r.events
    assert ev["kind"].tolist() == [Kind.TRADE, Kind.MARK, Kind.LIQUIDATION]
    assert ev["ts_recv"].tolist() == [1500, 1600, 1600]
    assert ev["flags"].tolist() == [0, 0, int(Flag.RECV_ESTIMATED)]
    with pytest.raises(ValueError, match=r"c\.csv:4: non_positive \(price\)"):
        load_events(p, strict=True)



@pytest.mark.parametrize("fast", [True, False])
def test_contract_csv_flags_beyond_a_byte_and_trade_ids_that_are_no_integer_are_rejected(tmp_path, monkeypatch, fast):
    """flags 999 read as 231 and -1 as 255 (wrapped to a byte); a trade_id of "2008x" or beyond int64 made the row
    one without an id, uncounted.  Each is now non_numeric, the row dropped, on the column path and the row path."""
    import liqcore.io.contract as contract

    if not fast:
        monkeypatch.setattr(contract, "_read_contract_csv_table", lambda data: None)
    head = "ts_event_ns,venue,symbol,side,price,qty,kind,ts_recv_ns,flags,trade_id\n"
    p = tmp_path / "c.csv"
    p.write_text(head + "1000,bybit,BTCUSDT,buy,43000,0.5,trade,,4,11\n"
                 "1100,bybit,BTCUSDT,buy,43000,0.5,trade,,255,12\n"
                 "1200,bybit,BTCUSDT,buy,43000,0.5,trade,,999,13\n"
                 "1300,bybit,BTCUSDT,buy,43000,0.5,trade,,-1,14\n"
                 "1400,bybit,BTCUSDT,buy,43000,0.5,trade,,,\n")
    r = load_events(p)
    assert r.rejects == {"non_numeric": 2}
    assert r.events["flags"].tolist()[:2] == [4, 255] and r.trade_ids.tolist() == [11, 12, 0]
    with pytest.raises(ValueError, match=r"c\.csv:4: non_numeric \(flags\)"):
        load_events(p, strict=True)
    q = tmp_path / "d.csv"
    q.write_text(head + "1000,bybit,BTCUSDT,buy,43000,0.5,trade,,,11\n"
                 "1100,bybit,BTCUSDT,buy,43000,0.5,trade,,,2008x\n"
                 "1200,bybit,BTCUSDT,buy,43000,0.5,trade,,,99999999999999999999\n"
                 "1300,bybit,BTCUSDT,buy,43000,0.5,trade,,,14\n")
    r = load_events(q)
    assert r.rejects == {"non_numeric": 2} and r.trade_ids.tolist() == [11, 14]
    with pytest.raises(ValueError, match=r"d\.csv:3: non_numeric \(trade_id\)"):
        load_events(q, strict=True)


def test_contract_csv_missing_column_is_a_clear_error(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("ts_event_ns,venue,symbol,price,qty\n1,bybit,X,1,1\n")
    with pytest.raises(ValueError, match="side"):
        load_events(p)


# ------------------------------------------------------------------------------- save + Parquet
def _sample(tmp_path) -> LoadResult:
    lines = [bybit_liq(T0 + i, side="Buy" if i % 2 else "Sell") for i in range(10)]
    lines += [binance_liq(T0 + i, side="BUY" if i % 3 else "SELL") for i in range(5)]
    lines += [b'{"e":"aggTrade","E":%d,"s":"BTCUSDT","a":1,"p":"100.5","q":"2","f":1,"l":1,"T":%d,"m":false}' % (T0, T0)]
    lines += [b'{"e":"markPriceUpdate","E":%d,"s":"BTCUSDT","p":"100.25","r":"-0.0001","T":1}' % T0]
    return load_events(write(tmp_path / "s.jsonl", lines), feed_latency_ns=7)


def _same_events(a: LoadResult, b: LoadResult) -> None:
    assert len(a.events) == len(b.events)
    for f in ("ts_event", "ts_recv", "price", "qty", "side", "kind", "venue", "flags"):
        np.testing.assert_array_equal(a.events[f], b.events[f], err_msg=f)
    names_a = [a.registry.lookup(i) if i >= 0 else "*" for i in a.events["symbol_id"]]
    names_b = [b.registry.lookup(i) if i >= 0 else "*" for i in b.events["symbol_id"]]
    assert names_a == names_b


@pytest.mark.parametrize("name", ["e.parquet", "e.csv", "e.csv.gz", "e.csv.zst"])
def test_save_and_reload_roundtrip(tmp_path, name):
    r = _sample(tmp_path)
    assert len(r.events) == 18
    out = save_events(r, tmp_path / name)
    r2 = load_events(out)
    _same_events(r, r2)
    assert r2.rejects == {} and r2.duplicates == 0


def test_parquet_readable_by_pandas_polars_duckdb(tmp_path):
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    duckdb = pytest.importorskip("duckdb")
    r = _sample(tmp_path)
    out = save_events(r, tmp_path / "e.parquet")
    cols = ["ts_event_ns", "ts_recv_ns", "venue", "symbol", "kind", "side", "price", "qty", "flags", "trade_id"]
    df = pd.read_parquet(out)
    assert list(df.columns) == cols and len(df) == 18
    assert df["ts_event_ns"].dtype == np.int64 and df["price"].dtype == np.float64
    assert df["ts_event_ns"].tolist() == r.events["ts_event"].tolist()
    liq = df[df["kind"] == "liquidation"]
    assert set(liq["side"]) == {"long", "short"} and set(liq["venue"]) == {"bybit", "binance"}
    pf = pl.read_parquet(out)
    assert pf.columns == cols and pf.height == 18
    assert pf.filter(pl.col("kind") == "funding")["price"].to_list() == [-0.0001]
    n, notional = duckdb.sql(
        f"select count(*), sum(price*qty) from read_parquet('{out}') where kind = 'liquidation'").fetchall()[0]
    liq_ev = r.events[r.events["kind"] == Kind.LIQUIDATION]
    assert n == len(liq_ev) == 15
    assert notional == pytest.approx(float((liq_ev["price"] * liq_ev["qty"]).sum()))


def test_parquet_rejects_are_counted_and_strict_names_the_row(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pa.table({"ts_event_ns": [1, 2, 3], "venue": ["bybit", "bybit", "nowhere"], "symbol": ["A", "A", "A"],
                  "side": ["long", "short", "long"], "price": [1.0, -1.0, 1.0], "qty": [1.0, 1.0, 1.0]})
    p = tmp_path / "bad.parquet"
    pq.write_table(t, p)
    r = load_events(p)
    assert len(r.events) == 1 and r.rejects == {"non_positive": 1, "unknown_venue": 1}
    with pytest.raises(ValueError, match="row 1"):
        load_events(p, strict=True)


def test_save_events_needs_a_registry_for_bare_arrays(tmp_path):
    r = _sample(tmp_path)
    with pytest.raises(ValueError, match="registry"):
        save_events(r.events, tmp_path / "x.parquet")
    with pytest.raises(ValueError, match="path"):
        save_events(r, tmp_path / "x.txt")


# ------------------------------------------------------------------------------------ JSON lines
def test_recorder_lines_keep_receive_times_and_gaps(tmp_path):
    from liqcore.live.recorder import frame_line, gap_line

    recv = 1_739_502_303_000_000_000
    lines = [
        frame_line("bybit", bybit_liq(T0), recv).rstrip(b"\n"),
        frame_line("binance", binance_liq(T0 + 1), recv + 1).rstrip(b"\n"),
        frame_line("okx", b"pong", recv + 2).rstrip(b"\n"),  # a text frame, embedded as a string
        orjson.dumps({"recv_ns": recv + 3, "venue": "bybit", "frame": bybit_liq(T0 + 2).decode()}),  # frame as string
        gap_line("bybit", "stale", recv + 4).rstrip(b"\n"),
    ]
    r = load_events(write(tmp_path / "rec.jsonl", lines))
    assert r.files[str(tmp_path / "rec.jsonl")]["format"] == "recorder"
    ev = r.events
    assert ev["ts_recv"].tolist() == [recv, recv + 1, recv + 3, recv + 4]
    assert not (ev["flags"] & Flag.RECV_ESTIMATED).any()
    gap = ev[ev["kind"] == Kind.GAP]
    assert len(gap) == 1 and gap["symbol_id"][0] == -1 and gap["venue"][0] == Venue.BYBIT
    assert r.rejects == {"control": 1}


def test_recorder_zstd_file_with_several_frames_and_a_truncated_tail(tmp_path):
    from liqcore.live.recorder import Recorder

    rec = Recorder(tmp_path / "rec")
    recv = 1_739_502_303_000_000_000
    for i in range(50):
        rec.write_frame("bybit", bybit_liq(T0 + i), recv + i)
    rec.flush()
    rec.close()
    path = rec.files[0]
    # a restart within the hour appends a second zstd frame
    rec2 = Recorder(tmp_path / "rec")
    for i in range(50, 60):
        rec2.write_frame("bybit", bybit_liq(T0 + i), recv + i)
    rec2.close()
    r = load_events(path)
    assert len(r.events) == 60 and r.files[str(path)]["format"] == "recorder"
    # cut the file: everything before the cut still loads, the cut is counted
    blob = path.read_bytes()
    cut = tmp_path / "cut.jsonl.zst"
    cut.write_bytes(blob[: len(blob) - 20])
    r = load_events(cut)
    assert 40 <= len(r.events) < 60
    assert r.rejects.get("truncated_file", 0) + r.rejects.get("malformed_json", 0) >= 1


def test_bybit_archive_lines(tmp_path):
    line = (b'{"ts":1770665589949,"exchange":"bybit","source":"ws","stream":"liquidation","symbol":"BTCUSDT",'
            b'"result":{"ts":1770665589887,"data":[{"T":1770665589426,"s":"BTCUSDT","S":"Sell","v":"0.017","p":"71182.70"},'
            b'{"T":1770665589427,"s":"BTCUSDT","S":"Buy","v":"0.5","p":"71180"}]}}')
    r = load_events(write(tmp_path / "s4.jsonl", [line]))
    assert r.files[str(tmp_path / "s4.jsonl")]["format"] == "bybit-archive"
    ev = r.events
    assert ev["ts_event"].tolist() == [1770665589426 * MS, 1770665589427 * MS]
    assert (ev["ts_recv"] == 1770665589949 * MS).all()
    assert ev["side"].tolist() == [Side.SHORT, Side.LONG]  # Bybit: Sell = short liquidated
    assert ev["qty"].tolist() == [0.017, 0.5]


def test_binance_log_lines_from_the_article():
    path = SEEDS / "001_6a318a1458a31bd4.txt"
    if not path.exists():
        pytest.skip("the article with the log lines is not available")
    r = load_events(path, feed_latency_ns=100 * MS)
    assert r.files[str(path)]["format"] == "binance-log"
    ev = r.events
    assert len(ev) == 13
    assert (ev["venue"] == Venue.BINANCE).all() and (ev["flags"] & Flag.SAMPLED).all()
    assert (ev["ts_recv"] - ev["ts_event"] == 100 * MS).all()
    first = ev[ev["ts_event"] == 1773119419184 * MS]  # DEXEUSDT BUY -> a short was liquidated
    assert r.registry.symbol(first["symbol_id"][0]) == "DEXEUSDT" and first["side"][0] == Side.SHORT
    assert first["price"][0] == 5.347646 and first["qty"][0] == 30.99
    assert r.rejects.get("not_a_record", 0) > 0  # the prose around the log lines is recognised, not bad
    assert r.n_rejected == 0



@pytest.mark.parametrize("fmt", [None, "binance-log", "jsonl"])
def test_a_binance_log_line_with_a_broken_object_is_malformed_json(tmp_path, fmt):
    """A "Liquidation: {" line whose object is cut or broken was text around the records (not_a_record)."""
    o = orjson.loads(binance_liq(T0))["o"]
    good = b"2026-03-10 13:10:19 Liquidation: " + orjson.dumps(o)
    p = write(tmp_path / "liq.log", [b"some prose", good, b"2026-03-10 13:10:20 Liquidation: {broken",
                                     b"2026-03-10 13:10:21 Liquidation: {\"s\":\"BTCUSDT\",  ", good])
    r = load_events(p, format=fmt)
    # (forced jsonl: every line is to be a record, the prose too)
    want = {"malformed_json": 3} if fmt == "jsonl" else {"not_a_record": 1, "malformed_json": 2}
    assert len(r.events) == 1 and r.rejects == want
    with pytest.raises(ValueError, match=r"liq\.log:%d: malformed_json" % (1 if fmt == "jsonl" else 3)):
        load_events(p, format=fmt, strict=True)


def test_mixed_json_lines_are_told_apart_per_line(tmp_path):
    recv = 1_739_502_400_000_000_000
    lines = [
        bybit_liq(T0),
        orjson.dumps({"recv_ns": recv, "venue": "binance", "frame": orjson.loads(binance_liq(T0 + 1))}),
        b'{"ts":1739502302990,"exchange":"bybit","source":"ws","stream":"liquidation","symbol":"SOLUSDT",'
        b'"result":{"ts":1,"data":[{"T":1739502302950,"s":"SOLUSDT","S":"Buy","v":"3","p":"200"}]}}',
        b'{"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[{"instId":"ETH-USDT-SWAP",'
        b'"details":[{"side":"sell","sz":"30","bkPx":"2701","ts":"1739502302960"}]}]}',
    ]
    p = write(tmp_path / "mixed.jsonl", lines)
    assert detect_format(p) == "jsonl"
    r = load_events(p)
    ev = r.events
    assert ev["venue"].tolist() == [Venue.BYBIT, Venue.BINANCE, Venue.BYBIT, Venue.OKX]
    assert ev["ts_recv"].tolist()[1:3] == [recv, 1739502302990 * MS]
    assert ev["qty"][3] == pytest.approx(3.0)  # 30 contracts x 0.1 ETH


@pytest.mark.parametrize("suffix", ["", ".gz", ".zst"])
def test_compressed_variants(tmp_path, suffix):
    body = b"\n".join(bybit_liq(T0 + i) for i in range(20)) + b"\n"
    p = tmp_path / f"f.jsonl{suffix}"
    if suffix == ".gz":
        body = gzip.compress(body)
    elif suffix == ".zst":
        body = zstandard.ZstdCompressor().compress(body)
    p.write_bytes(body)
    r = load_events(p)
    assert len(r.events) == 20 and r.files[str(p)]["format"] == "raw"



_BOM = b"\xef\xbb\xbf"


def _bom_files():
    """name -> (text, format, events) of files some exporters start with a UTF-8 byte order mark."""
    from liqcore.live.recorder import frame_line

    recv = 1_739_502_303_000_000_000
    return {
        # headerless: the first row's symbol was read as "\ufeffRARE" (bad_symbol)
        "bin.csv": (b"RARE,BUY,LIMIT,IOC,4421,0.2226588,0.2185000,FILLED,3750,4421,1723895903305,984.37\n"
                    b"BANANA,SELL,LIMIT,IOC,1.7,58.7960740,59.6180000,FILLED,1.7,1.7,1723895926128,99.95\n",
                    "binance-csv", 2),
        # the first line was malformed_json
        "rec.jsonl": (b"".join(frame_line("bybit", bybit_liq(T0 + i), recv + i) for i in range(3)), "recorder", 3),
        # the header was not told ("cannot detect the format")
        "c.csv": (b"ts_event_ns,venue,symbol,side,price,qty\n2000,bybit,BTCUSDT,long,43000,0.5\n"
                  b"1000,binance,ethusdt,short,2000,1\n", "contract-csv", 2),
        "t.jsonl": (b"\n".join(bybit_liq(T0 + i) for i in range(3)) + b"\n", "raw", 3),
    }


@pytest.mark.parametrize("suffix", ["", ".gz", ".zst"])
@pytest.mark.parametrize("name", list(_bom_files()))
def test_a_leading_byte_order_mark_is_dropped(tmp_path, name, suffix):
    text, fmt, n = _bom_files()[name]
    body = _BOM + text
    if suffix == ".gz":
        body = gzip.compress(body)
    elif suffix == ".zst":
        body = zstandard.ZstdCompressor().compress(body)
    p = tmp_path / (name + suffix)
    p.write_bytes(body)
    assert detect_format(p) == fmt
    r = load_events(p)
    assert len(r.events) == n and r.rejects == {} and r.files[str(p)]["format"] == fmt
    # forced, alike
    r = load_events(p, format=fmt)
    assert len(r.events) == n and r.rejects == {}
    # the same file without the mark reads the same
    q = tmp_path / ("plain-" + name)
    q.write_bytes(text)
    assert load_events(q).events.tolist() == load_events(p).events.tolist()


def test_strict_mode_names_file_and_line(tmp_path):
    lines = [bybit_liq(T0), bybit_liq(T0 + 1), b"", b'{"topic":"allLiquidation.X","data":[{"T":1739502302929,"s":"X","S":"Buy","v":"0","p":"1"}]}']
    p = write(tmp_path / "bad.jsonl", lines)
    r = load_events(p)
    assert len(r.events) == 2 and r.rejects == {"non_positive": 1}
    with pytest.raises(ValueError, match=r"bad\.jsonl:4: non_positive \(v\)"):
        load_events(p, strict=True)
    p2 = write(tmp_path / "bad2.jsonl", [bybit_liq(T0), b"{oops"])
    with pytest.raises(ValueError, match=r"bad2\.jsonl:2: malformed_json"):
        load_events(p2, strict=True)


def test_multiple_files_share_one_registry_and_sort_globally(tmp_path):
    a = write(tmp_path / "a.jsonl", [bybit_liq(T0 + 10), bybit_liq(T0 + 30)])
    b = write(tmp_path / "b.jsonl", [binance_liq(T0 + 20), bybit_liq(T0 + 10)])  # last line duplicates a's first
    reg = SymbolRegistry([("okx", "BTC-USDT-SWAP")])
    r = load_events([a, b], registry=reg)
    assert r.registry is reg and len(reg) == 3
    assert r.events["ts_event"].tolist() == [(T0 + k) * MS for k in (10, 20, 30)]
    assert r.duplicates == 1 and r.sources == [str(a), str(b)]


def test_forced_format_and_errors(tmp_path):
    p = write(tmp_path / "x.jsonl", [bybit_liq(T0)])
    assert len(load_events(p, format="raw").events) == 1
    r = load_events(p, format="recorder")  # forced wrong: nothing decodes, everything is counted
    assert len(r.events) == 0 and sum(r.rejects.values()) == 1
    with pytest.raises(ValueError, match="format"):
        load_events(p, format="xml")
    with pytest.raises(ValueError, match="no such file"):
        load_events(tmp_path / "missing.jsonl")
    junk = tmp_path / "junk.dat"
    junk.write_bytes(b"hello world\n")
    with pytest.raises(ValueError, match="cannot detect"):
        load_events(junk)
    assert set(FORMATS) >= {"raw", "recorder", "bybit-archive", "binance-log", "jsonl", "binance-csv",
                            "binance-trades-csv", "contract-csv", "parquet"}
    # the former names stay accepted and mean the same formats
    line = (b'{"ts":1770665589949,"exchange":"bybit","source":"ws","stream":"liquidation","symbol":"BTCUSDT",'
            b'"result":{"ts":1,"data":[{"T":1770665589426,"s":"BTCUSDT","S":"Sell","v":"0.017","p":"71182.70"}]}}')
    a = write(tmp_path / "a.jsonl", [line])
    assert len(load_events(a, format="seed004").events) == len(load_events(a, format="bybit-archive").events) == 1


def test_dedupe_keeps_first_and_handles_unsorted_input():
    from liqcore.types import make_events

    ev = make_events(ts_event=[3, 1, 3, 2, 1], price=[1.0, 1.0, 1.0, 1.0, 2.0], qty=1.0, kind=1, side=1, venue=1,
                     ts_recv=[10, 11, 12, 13, 14])
    out, n = dedupe(ev)
    assert n == 1 and out["ts_recv"].tolist() == [10, 11, 13, 14]


# ----------------------------------------------------------------------- fast path == JSON path
@pytest.mark.property
def test_block_fast_path_matches_the_json_path(tmp_path, monkeypatch):
    """The regex fast path is an optimisation of the JSON path: same events, same rejects."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from liqcore.venues import lines as D

    nums = st.one_of(st.sampled_from(["0", "0.0", "1", "-1", "00.5", "1e5", "NaN", "0.001", "123456.789", "9" * 400, "0." + "0" * 400 + "1"]),
                     st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False).map(str))
    times = st.one_of(st.integers(T0 - 10**12, T0 + 10**9), st.sampled_from([0, 10**13 - 1, 4_102_444_800_001]))
    line = st.one_of(
        st.builds(lambda t, s, v, p, sym: bybit_liq(t, s, v, p, sym), times, st.sampled_from(["Buy", "Sell", "Hold"]),
                  nums, nums, st.sampled_from(["BTCUSDT", "ETHUSDT", "1000PEPEUSDT"])),
        st.builds(lambda t, s, z, ap: binance_liq(t, s, z, ap), times, st.sampled_from(["BUY", "SELL"]), nums, nums),
        st.builds(lambda t, r, v: b'{"recv_ns":%d,"venue":"bybit","frame":%s}' % (r, bybit_liq(t, v=v)),
                  times, st.integers(0, 10**19 - 1), nums),
        st.builds(lambda t, r, z: b'{"recv_ns":%d,"venue":"binance","frame":%s}' % (r, binance_liq(t, z=z)),
                  times, st.integers(0, 10**19 - 1), nums),
        st.sampled_from([b"", b"  ", b"pong", b'{"result":null,"id":1}', b"{broken"]),
    )

    @settings(max_examples=80)
    @given(st.lists(line, min_size=0, max_size=40), st.sampled_from(["raw", "jsonl", "recorder"]))
    def check(lines, fmt):
        p = tmp_path / "f.jsonl"
        p.write_bytes(b"\n".join(lines))
        compiled = load_events(p, format=fmt)  # the compiled matcher when built
        with monkeypatch.context() as m:
            m.setattr(D, "_SCAN", None)
            regex = load_events(p, format=fmt)  # the pure-Python block / line expressions
            m.setattr(D, "_BLOCK", {})
            m.setattr(D, "_FAST_BYBIT", lambda _l: None)
            m.setattr(D, "_FAST_BINANCE", lambda _l: None)
            m.setattr(D, "_FAST_REC_BYBIT", lambda _l: None)
            m.setattr(D, "_FAST_REC_BINANCE", lambda _l: None)
            slow = load_events(p, format=fmt)  # orjson + the venue codecs only
        for fast in (compiled, regex):
            _same_events(fast, slow)
            assert fast.rejects == slow.rejects and fast.duplicates == slow.duplicates
            assert fast.files[str(p)]["records"] == slow.files[str(p)]["records"]

    check()


def test_strict_line_numbers_across_large_slices(tmp_path):
    """Files larger than one decoding slice (1 MB): line numbers stay exact in every path."""
    lines = [bybit_liq(T0 + i) if i % 2 else binance_liq(T0 + i) for i in range(12_000)]  # ~2.3 MB
    bad_at = 9_876  # 0-based -> line 9877
    lines[bad_at] = bybit_liq(T0 + bad_at, v="0")
    p = write(tmp_path / "big.jsonl", lines)
    r = load_events(p)
    assert len(r.events) == 11_999 and r.rejects == {"non_positive": 1}
    assert r.files[str(p)]["records"] == 12_000
    with pytest.raises(ValueError, match=r"big\.jsonl:9877: non_positive"):
        load_events(p, strict=True)
    lines[bad_at] = b"{oops"  # a line the fast matcher cannot take: the slice goes line by line
    p = write(tmp_path / "big2.jsonl", lines)
    with pytest.raises(ValueError, match=r"big2\.jsonl:9877: malformed_json"):
        load_events(p, strict=True)
    assert len(load_events(p).events) == 11_999


@pytest.mark.property
def test_compact_line_matchers_agree_under_byte_edits(tmp_path, monkeypatch):
    """Single-byte edits of the compact liquidation lines probe every boundary of the fast grammars
    (compiled and regex): whatever they accept must decode exactly as orjson + the codecs do."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from liqcore.venues import lines as D

    base = [bybit_liq(T0, "Buy", "0.017", "71182.70", "BTCUSDT"), binance_liq(T0, "SELL", "0.014", "9910"),
            b'{"recv_ns":1739502303000000000,"venue":"bybit","frame":' + bybit_liq(T0 + 1) + b"}",
            b'{"recv_ns":9223372036854775807,"venue":"binance","frame":' + binance_liq(T0 + 2) + b"}"]
    alphabet = b'0123456789.,:"{}[]-eE \\\raAzZ_BS\x00\xff'

    @st.composite
    def edited(draw):
        line = bytearray(draw(st.sampled_from(base)))
        for _ in range(draw(st.integers(1, 3))):
            i = draw(st.integers(0, len(line)))
            op = draw(st.integers(0, 2))
            ch = alphabet[draw(st.integers(0, len(alphabet) - 1))]
            if op == 0 and i < len(line):
                del line[i]
            elif op == 1 and i < len(line):
                line[i] = ch
            else:
                line.insert(i, ch)
        return bytes(line).replace(b"\n", b" ")

    @settings(max_examples=300)
    @given(st.lists(st.one_of(edited(), st.sampled_from(base)), min_size=1, max_size=12), st.sampled_from(["raw", "jsonl", "recorder"]))
    def check(lines, fmt):
        p = tmp_path / "e.jsonl"
        p.write_bytes(b"\n".join(lines))
        compiled = load_events(p, format=fmt)
        with monkeypatch.context() as m:
            m.setattr(D, "_SCAN", None)
            regex = load_events(p, format=fmt)
            m.setattr(D, "_BLOCK", {})
            for name in ("_FAST_BYBIT", "_FAST_BINANCE", "_FAST_REC_BYBIT", "_FAST_REC_BINANCE"):
                m.setattr(D, name, lambda _l: None)
            slow = load_events(p, format=fmt)
        for fast in (compiled, regex):
            _same_events(fast, slow)
            assert fast.rejects == slow.rejects

    check()


@pytest.mark.property
def test_contract_csv_vectorised_path_matches_row_path(tmp_path, monkeypatch):
    """The pyarrow column path of the contract CSV gives the same events, reject reasons and strict
    error (file:line) as the row-by-row path."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    import liqcore.io as lio

    cell = {
        "ts_event_ns": st.sampled_from(["1700000000000000000", "1700000000000000001", "0", "-5", "", "12"]),
        "venue": st.sampled_from(["bybit", "Binance", " okx ", "2", "0", "kraken", ""]),
        "symbol": st.sampled_from(["BTCUSDT", "ethusdt", " BTC-USDT-SWAP ", "*", ""]),
        "side": st.sampled_from(["long", "short", "buy", "sell", "none", "", "1", "LONG"]),
        "price": st.sampled_from(["100.5", "0", "-1", "nan", "inf", "", "1e-3", "43000"]),
        "qty": st.sampled_from(["0.5", "0", "-2", "nan", "inf", "", "3"]),
        "kind": st.sampled_from(["liquidation", "trade", "mark", "funding", "gap", "open_interest", "", "2", "9", "oi"]),
        "ts_recv_ns": st.sampled_from(["", "1700000000000000005", "-1"]),
        "flags": st.sampled_from(["", "0", "4", "255", "260", "-1", "999"]),
        "trade_id": st.sampled_from(["", "7", "-3", "0", "2008x", "99999999999999999999"]),
    }
    columns = list(cell)

    @settings(max_examples=120)
    @given(st.lists(st.fixed_dictionaries(cell), min_size=1, max_size=25), st.booleans())
    def check(rows, optional):
        cols = columns if optional else columns[:6]
        p = tmp_path / "c.csv"
        p.write_text(",".join(cols) + "\n" + "".join(",".join(r[c] for c in cols) + "\n" for r in rows))
        fast = load_events(p)
        fast_err = None
        try:
            load_events(p, strict=True)
        except ValueError as exc:
            fast_err = str(exc)
        with monkeypatch.context() as m:
            m.setattr(lio, "_read_contract_csv_table", lambda data: None)
            slow = load_events(p)
            slow_err = None
            try:
                load_events(p, strict=True)
            except ValueError as exc:
                slow_err = str(exc)
        _same_events(fast, slow)
        assert fast.rejects == slow.rejects
        assert (fast_err is None) == (slow_err is None)
        if fast_err:  # same file:line and reason (the detail in brackets may name the field differently)
            assert fast_err.split(" (")[0] == slow_err.split(" (")[0]

    check()


def test_gap_events_roundtrip_through_parquet_and_csv(tmp_path):
    from liqcore.live.recorder import frame_line, gap_line

    recv = 1_739_502_303_000_000_000
    p = write(tmp_path / "rec.jsonl", [frame_line("bybit", bybit_liq(T0), recv).rstrip(b"\n"),
                                       gap_line("bybit", "stale", recv + 5).rstrip(b"\n")])
    r = load_events(p)
    for name in ("g.parquet", "g.csv"):
        back = load_events(save_events(r, tmp_path / name))
        gap = back.events[back.events["kind"] == Kind.GAP]
        assert len(gap) == 1 and gap["symbol_id"][0] == -1 and gap["venue"][0] == Venue.BYBIT
        _same_events(r, back)
    bad = tmp_path / "bad.csv"
    bad.write_text("ts_event_ns,venue,symbol,side,price,qty,kind\n1,bybit,*,long,1,1,liquidation\n")
    assert load_events(bad).rejects == {"bad_symbol": 1}


@pytest.mark.parametrize("suffix", ["", ".gz", ".zst"])
def test_streaming_blocks_give_the_same_result(tmp_path, monkeypatch, suffix):
    """Line files are read in blocks of whole lines: tiny blocks change nothing, line numbers included."""
    import liqcore.venues.files as files_mod

    lines = []
    for i in range(400):
        lines.append(bybit_liq(T0 + i) if i % 3 else binance_liq(T0 + i))
        if i % 50 == 7:
            lines.append(b'{"topic":"tickers.BTCUSDT","type":"snapshot","ts":%d,"data":{"symbol":"BTCUSDT","markPrice":"100.5"}}' % (T0 + i))
        if i % 90 == 11:
            lines.append(b"")
    lines[333] = bybit_liq(T0 + 333, v="-1")
    body = b"\n".join(lines) + b"\n"
    p = tmp_path / f"s.jsonl{suffix}"
    p.write_bytes(gzip.compress(body) if suffix == ".gz" else zstandard.ZstdCompressor().compress(body) if suffix == ".zst" else body)
    whole = load_events(p)
    with pytest.raises(ValueError) as e_whole:
        load_events(p, strict=True)
    monkeypatch.setattr(files_mod, "BLOCK_BYTES", 997)
    small = load_events(p)
    _same_events(whole, small)
    assert whole.rejects == small.rejects == {"non_positive": 1}
    assert whole.files[str(p)]["records"] == small.files[str(p)]["records"]
    with pytest.raises(ValueError) as e_small:
        load_events(p, strict=True)
    assert str(e_whole.value) == str(e_small.value) and ":334: non_positive" in str(e_small.value)

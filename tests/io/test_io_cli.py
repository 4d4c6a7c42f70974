"""`liqcore events` and `liqcore convert`."""
from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from liqcore.cli import main
from liqcore.dataset.load import load_events

DATA = Path(__file__).resolve().parents[1] / "data"
WIRE = DATA / "wire_examples.jsonl"


def test_events_json_lines(capsysbinary):
    assert main(["events", str(WIRE), "--json"]) == 0
    out = capsysbinary.readouterr().out.splitlines()
    objs = [orjson.loads(x) for x in out]
    # 11 events (IOST is not in the shipped ctVal table: rejected, not guessed)
    assert len(objs) == 11
    assert set(objs[0]) == {"venue", "symbol", "kind", "side", "price", "qty", "notional", "ts_event_ns", "ts_recv_ns"}
    assert [o["ts_event_ns"] for o in objs] == sorted(o["ts_event_ns"] for o in objs)
    liq = [o for o in objs if o["kind"] == "liquidation"]
    by = {(o["venue"], o["symbol"]): o for o in liq}
    assert by[("bybit", "ROSEUSDT")]["side"] == "short"
    assert by[("binance", "BTCUSDT")]["side"] == "long"
    assert by[("okx", "BTC-USDT-SWAP")]["notional"] == pytest.approx(61250.5 * 0.25)
    funding = [o for o in objs if o["kind"] == "funding"]
    assert all(o["notional"] is None for o in funding)


def test_events_filters_and_limit(capsysbinary):
    assert main(["events", str(WIRE), "--json", "--kind", "liquidation,trades", "--venue", "binance"]) == 0
    objs = [orjson.loads(x) for x in capsysbinary.readouterr().out.splitlines()]
    assert {o["kind"] for o in objs} == {"liquidation", "trade"} and {o["venue"] for o in objs} == {"binance"}
    assert main(["events", str(WIRE), "--json", "--symbol", "btc-usdt-swap", "--limit", "1"]) == 0
    objs = [orjson.loads(x) for x in capsysbinary.readouterr().out.splitlines()]
    assert len(objs) == 1 and objs[0]["symbol"] == "BTC-USDT-SWAP"


def test_events_summary_table(capsys):
    assert main(["events", str(WIRE), "--feed-latency", "150ms"]) == 0
    out = capsys.readouterr().out
    for word in ("ROSEUSDT", "liquidation", "funding", "unknown_instrument", "control", "raw"):
        assert word in out


def test_events_instruments_file(tmp_path, capsysbinary):
    inst = tmp_path / "inst.json"
    inst.write_text('{"IOST-USDT-SWAP": 1000}')
    assert main(["events", str(WIRE), "--json", "--symbol", "IOST-USDT-SWAP", "--instruments", str(inst)]) == 0
    objs = [orjson.loads(x) for x in capsysbinary.readouterr().out.splitlines()]
    assert len(objs) == 1 and objs[0]["qty"] == 13000.0


def test_events_errors_exit_2(tmp_path, capsys):
    assert main(["events", str(tmp_path / "nope.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["events", str(WIRE), "--kind", "banana"]) == 2
    assert "kind" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"e":"forceOrder","E":1,"o":{"s":"BTCUSDT","S":"SELL","ap":"-1","z":"1","T":1739502302929}}\n')
    assert main(["events", str(bad), "--strict"]) == 2
    assert "bad.jsonl:1: non_positive" in capsys.readouterr().err


def test_convert_to_parquet_and_back(tmp_path, capsys, real_data):
    src = real_data / "binance-forceorder-2025-12" / "binance.csv"
    out = tmp_path / "out.parquet"
    assert main(["convert", str(src), "--out", str(out)]) == 0
    assert "wrote 2045 events" in capsys.readouterr().err
    a, b = load_events(src), load_events(out)
    assert len(b.events) == 2045
    for f in ("ts_event", "ts_recv", "price", "qty", "side", "kind", "venue", "flags"):
        assert (a.events[f] == b.events[f]).all(), f
    pl = pytest.importorskip("polars")
    df = pl.read_parquet(out)
    assert df["side"].unique().sort().to_list() == ["long", "short"]
    assert df.schema["ts_event_ns"] == pl.Int64 and df.schema["flags"] == pl.UInt8

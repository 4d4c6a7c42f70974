"""Raw websocket captures with a receive-time prefix (tardis.dev raw replay lines, hftbacktest's
collector lines): real files, decoded by the venue decoders with the prefix as ts_recv."""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from liqcore.io import detect_format
from liqcore.dataset.load import load_events
from liqcore.types import Kind, Side, Venue
from _session_env import child_env

ROOT = Path(__file__).resolve().parents[2]
T0_MS = 1_723_161_255_000  # 2024-08-08


def agg_trade(i: int, maker: bool) -> str:
    return json.dumps({"stream": "btcusdt@aggTrade", "data": {
        "e": "aggTrade", "E": T0_MS + i * 100 + 3, "a": 1000 + i, "s": "BTCUSDT", "p": f"{56000 + i * 0.1:.1f}",
        "q": "0.010", "f": 1, "l": 1, "T": T0_MS + i * 100, "m": maker}}, separators=(",", ":"))


def force_order(i: int, side: str) -> str:
    return json.dumps({"e": "forceOrder", "E": T0_MS + i * 100 + 5, "o": {
        "s": "BTCUSDT", "S": side, "o": "LIMIT", "f": "IOC", "q": "0.5", "p": "55900", "ap": f"{55950 + i}",
        "X": "FILLED", "l": "0.5", "z": "0.5", "T": T0_MS + i * 100}}, separators=(",", ":"))


def bybit_liq(i: int, side: str) -> str:
    return json.dumps({"topic": "allLiquidation.ETHUSDT", "type": "snapshot", "ts": T0_MS + i * 100 + 2,
                       "data": [{"T": T0_MS + i * 100, "s": "ETHUSDT", "S": side, "v": "1.5", "p": "2500.5"}]},
                      separators=(",", ":"))


def iso(ns: int) -> str:
    import datetime as dt

    s, frac = divmod(ns, 10**9)
    return dt.datetime.fromtimestamp(s, tz=dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac // 100:07d}Z"


def recv_ns(i: int) -> int:
    return (T0_MS + i * 100) * 1_000_000 + 30_314_667


@pytest.mark.parametrize("fmt", ["tardis-raw", "hftbacktest"])
def test_prefix_is_the_receive_time_frames_decoded_by_venue(tmp_path, fmt):
    lines = []
    for i in range(300):
        frame = (agg_trade(i, i % 2 == 0) if i % 3 == 0 else force_order(i, "SELL" if i % 2 else "BUY")
                 if i % 3 == 1 else bybit_liq(i, "Buy"))
        stamp = iso(recv_ns(i)) if fmt == "tardis-raw" else str(recv_ns(i))
        lines.append(f"{stamp} {frame}")
    if fmt == "tardis-raw":
        assert len(lines[0].split(" ")[0]) == 28
    f = tmp_path / f"capture-{fmt}.txt.gz"
    with gzip.open(f, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    assert detect_format(f) == fmt
    res = load_events(f)
    ev = res.events
    assert len(ev) == 300 and res.files[str(f)]["format"] == fmt and not res.rejects
    want = [(recv_ns(i) // 100 * 100 if fmt == "tardis-raw" else recv_ns(i)) for i in range(300)]
    assert sorted(ev["ts_recv"].tolist()) == want  # the prefix, not an estimate
    trades = ev[ev["kind"] == Kind.TRADE]
    assert len(trades) == 100 and (trades["venue"] == Venue.BINANCE).all()
    # buyer is maker -> the taker sold
    assert [int(s) for s in trades["side"]] == [Side.SELL if i % 2 == 0 else Side.BUY for i in range(0, 300, 3)]
    liq = ev[(ev["kind"] == Kind.LIQUIDATION) & (ev["venue"] == Venue.BINANCE)]
    assert [int(s) for s in liq["side"]] == [Side.LONG if i % 2 else Side.SHORT for i in range(1, 300, 3)]
    by = ev[ev["venue"] == Venue.BYBIT]
    assert len(by) == 100 and (by["side"] == Side.LONG).all()
    assert res.registry.lookup(int(by["symbol_id"][0])) == (Venue.BYBIT, "ETHUSDT")
    assert (ev["ts_event"] == [int(x) for x in ev["ts_event"]]).all()


def test_integer_prefix_unit_is_told_by_its_size(tmp_path):
    f = tmp_path / "c.log"
    us = [f"{recv_ns(i) // 1000} {agg_trade(i, True)}" for i in range(50)]
    f.write_text("\n".join(us) + "\n")
    ev = load_events(f, format="hftbacktest").events
    assert ev["ts_recv"].tolist() == [recv_ns(i) // 1000 * 1000 for i in range(50)]


def test_bad_prefixes_and_frames_are_counted_not_fatal(tmp_path):
    lines = [f"{recv_ns(i)} {agg_trade(i, True)}" for i in range(100)]
    lines[5] = "12x45 " + agg_trade(5, True)  # not a time
    lines[6] = f"{recv_ns(6)} {{not json"
    lines[7] = f"{recv_ns(7)} " + json.dumps({"stream": "btcusdt@depth", "data": {"e": "depthUpdate"}})
    lines[8] = "1400000000000000000 " + agg_trade(8, True)  # 2014: not a receive time
    f = tmp_path / "cap.txt"
    f.write_text("\n".join(lines) + "\n")
    res = load_events(f, format="hftbacktest")
    assert len(res.events) == 96
    assert res.rejects["bad_time"] == 2 and res.rejects["malformed_json"] == 1
    assert sum(res.rejects.values()) == 4


def test_tardis_raw_empty_line_is_a_disconnect_gap(tmp_path):
    lines = [f"{iso(recv_ns(i))} {force_order(i, 'SELL')}" for i in range(10)]
    f = tmp_path / "binance-futures_2024-08-08.raw"
    f.write_text("\n".join(lines[:4]) + "\n\n" + "\n".join(lines[4:]) + "\n")
    ev = load_events(f).events
    gap = ev[ev["kind"] == Kind.GAP]
    assert len(gap) == 1 and gap["venue"][0] == Venue.BINANCE and gap["symbol_id"][0] == -1
    assert gap["ts_event"][0] == recv_ns(3) // 100 * 100  # where the connection was lost


def test_command_line_reads_a_capture(tmp_path):
    f = tmp_path / "btcusdt_20240808.txt"
    f.write_text("\n".join(f"{recv_ns(i)} {force_order(i, 'BUY')}" for i in range(30)) + "\n")
    env = child_env()
    env["PYTHONPATH"] = str(ROOT)
    r = subprocess.run([sys.executable, "-m", "liqcore", "events", str(f)], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert "hftbacktest" in r.stdout and "30" in r.stdout


@pytest.mark.property
def test_capture_readers_never_yield_a_row_failing_the_sanity_rules(tmp_path):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.io.test_tardis import sane

    base = [f"{recv_ns(i)} {agg_trade(i, True)}" for i in range(4)] + \
           [f"{iso(recv_ns(i))} {force_order(i, 'SELL')}" for i in range(4, 8)] + \
           [f"{recv_ns(i)} {bybit_liq(i, 'Sell')}" for i in range(8, 10)]
    alphabet = b'0123456789.,:-TZ "{}[]eE\r\n\x00\xff'

    @st.composite
    def edited(draw):
        data = bytearray("\n".join(draw(st.lists(st.sampled_from(base), min_size=1, max_size=8))).encode())
        for _ in range(draw(st.integers(0, 5))):
            i = draw(st.integers(0, len(data)))
            ch = alphabet[draw(st.integers(0, len(alphabet) - 1))]
            if draw(st.booleans()) and i < len(data):
                data[i] = ch
            else:
                data.insert(i, ch)
        return bytes(data)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(edited(), st.sampled_from(["tardis-raw", "hftbacktest", None]))
    def check(data, fmt):
        p = tmp_path / "cap.txt"
        p.write_bytes(data)
        try:
            res = load_events(p, format=fmt, warn=lambda _l: None)
        except ValueError:
            return
        sane(res.events, res.registry)

    check()

"""Files mixing record kinds line by line: a valid record is never dropped because of its neighbours.

The case that went wrong: raw Bybit, Binance and OKX frames plus one Binance log line
(``2026-03-10 13:10:19 Liquidation: {...}``) in one JSON-lines file were taken for a log file and
the 21 frames became ``not_a_record``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore.io import detect_format
from liqcore.dataset.load import load_events
from liqcore.types import Venue

MS = 1_000_000
T0 = 1773119400000  # 2026-03-10 05:10:00 UTC


def bybit(i: int) -> bytes:
    t = T0 + i * 1000
    return orjson.dumps({"topic": "allLiquidation.ETHUSDT", "type": "snapshot", "ts": t + 300,
                         "data": [{"T": t, "s": "ETHUSDT", "S": "Buy" if i % 2 else "Sell", "v": f"{1 + i}",
                                   "p": "2700.5"}]})


def binance(i: int) -> bytes:
    t = T0 + i * 1000 + 1
    return orjson.dumps({"e": "forceOrder", "E": t + 5, "o": {"s": "BTCUSDT", "S": "SELL", "o": "LIMIT", "f": "IOC",
                                                               "q": f"{i}.5", "p": "70000", "ap": "70001.5",
                                                               "X": "FILLED", "l": f"{i}.5", "z": f"{i}.5", "T": t}})


def okx(i: int) -> bytes:
    t = T0 + i * 1000 + 2
    return orjson.dumps({"arg": {"channel": "liquidation-orders", "instType": "SWAP"},
                         "data": [{"instId": "ETH-USDT-SWAP", "details": [{"side": "sell", "sz": f"{10 + i}",
                                                                           "bkPx": "2701", "ts": str(t)}]}]})


LOG = (b'2026-03-10 13:10:19 Liquidation: {"s":"DEXEUSDT","S":"BUY","o":"LIMIT","f":"IOC","q":"30.99",'
       b'"p":"5.427000","ap":"5.347646","X":"FILLED","l":"17.21","z":"30.99","T":1773119419184}')
FRAMES = [f(i) for i in range(7) for f in (bybit, binance, okx)]  # 21 valid frames
LINES = FRAMES + [LOG]


def expected_keys() -> set:
    keys = set()
    for i in range(7):
        keys.add((int(Venue.BYBIT), (T0 + i * 1000) * MS))
        keys.add((int(Venue.BINANCE), (T0 + i * 1000 + 1) * MS))
        keys.add((int(Venue.OKX), (T0 + i * 1000 + 2) * MS))
    keys.add((int(Venue.BINANCE), 1773119419184 * MS))
    return keys


def check_all_loaded(path: Path) -> None:
    r = load_events(path)
    ev = r.events
    got = {(int(v), int(t)) for v, t in zip(ev["venue"], ev["ts_event"])}
    assert got == expected_keys(), r.summary()
    assert len(ev) == 22
    assert r.rejects == {} and r.n_rejected == 0


def test_the_reported_mixed_file_loads_every_frame(tmp_path):
    p = tmp_path / "mixed.jsonl"
    p.write_bytes(b"\n".join(LINES) + b"\n")
    assert detect_format(p) == "jsonl"  # a mix, not a log file
    check_all_loaded(p)


def test_log_line_first_then_frames(tmp_path):
    p = tmp_path / "mixed.jsonl"
    p.write_bytes(b"\n".join([LOG] + FRAMES) + b"\n")
    check_all_loaded(p)


@settings(max_examples=40, deadline=None)
@given(st.permutations(LINES))
def test_any_order_of_the_lines_loads_every_record(tmp_path_factory, lines):
    p = tmp_path_factory.mktemp("mixed") / "mixed.jsonl"
    p.write_bytes(b"\n".join(lines) + b"\n")
    check_all_loaded(p)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(["frame", "log", "prose"]), min_size=1, max_size=30), st.randoms(use_true_random=False))
def test_log_files_with_frames_and_prose(tmp_path_factory, kinds, rnd):
    """A log file (text around log lines) with frames pasted in: every log line and every frame is an
    event, the text is ``not_a_record`` (never a bad record)."""
    lines, n_expected, n_prose = [], 0, 0
    for j, k in enumerate(kinds):
        if k == "frame":
            lines.append(rnd.choice((bybit, binance, okx))(j))
            n_expected += 1
        elif k == "log":
            lines.append(LOG.replace(b"1773119419184", str(1773119419184 + j).encode()))
            n_expected += 1
        else:
            lines.append(b"Exchanges push every forced liquidation event in real time: " + str(j).encode())
            n_prose += 1
    p = tmp_path_factory.mktemp("log") / "notes.log"
    p.write_bytes(b"\n".join(lines) + b"\n")
    try:
        r = load_events(p)
    except ValueError as exc:  # only prose: nothing to detect
        assert n_expected == 0 and "cannot detect" in str(exc)
        return
    assert len(r.events) == n_expected, r.summary()
    if "log" in kinds:  # a log file: its text is recognised as text
        assert r.n_rejected == 0 and r.rejects.get("not_a_record", 0) == n_prose
    else:  # JSON lines only: a line of text among them is a bad line, counted
        assert r.rejects.get("malformed_json", 0) == n_prose


def test_a_log_line_after_the_detection_head_still_loads(tmp_path):
    """Detection looks at the first lines only; a log line further down is decoded all the same."""
    frames = [bybit(i) for i in range(300)]
    p = tmp_path / "long.jsonl"
    p.write_bytes(b"\n".join(frames + [LOG]) + b"\n")
    assert detect_format(p) == "raw"
    r = load_events(p)
    assert len(r.events) == 301 and r.rejects == {}
    assert int(Venue.BINANCE) in set(r.events["venue"].tolist())


def test_a_frame_after_the_head_of_a_log_file_still_loads(tmp_path):
    lines = [LOG.replace(b"1773119419184", str(1773119419184 + i).encode()) for i in range(250)]
    p = tmp_path / "long.log"
    p.write_bytes(b"\n".join(lines + [b"some text", okx(3)]) + b"\n")
    assert detect_format(p) == "binance-log"
    r = load_events(p)
    assert len(r.events) == 251 and r.rejects == {"not_a_record": 1}
    assert (r.events["venue"] == Venue.OKX).sum() == 1


def test_a_forced_format_still_applies_to_every_line(tmp_path):
    p = tmp_path / "mixed.jsonl"
    p.write_bytes(b"\n".join(LINES) + b"\n")
    r = load_events(p, format="binance-log")
    assert len(r.events) == 22  # the log format takes JSON frames line by line too
    r = load_events(p, format="raw")
    assert len(r.events) == 21 and r.rejects == {"malformed_json": 1}
    assert np.all(np.diff(r.events["ts_event"]) >= 0)


@pytest.mark.parametrize("order", ["frames-first", "log-first"])
def test_cli_events_reports_every_record(tmp_path, order, capsys):
    from liqcore.cli import main

    p = tmp_path / "mixed.jsonl"
    lines = LINES if order == "frames-first" else [LOG] + FRAMES
    p.write_bytes(b"\n".join(lines) + b"\n")
    assert main(["events", str(p), "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 22


def test_mostly_frames_with_a_log_line_and_text(tmp_path):
    """A mix that is mostly frames: the log line marks it as log text, so text lines (even a bare
    number) are ``not_a_record``, never bad records, and every record loads."""
    p = tmp_path / "notes.jsonl"
    p.write_bytes(b"\n".join(FRAMES[:10] + [b"liquidations seen today:", b"4", LOG] + FRAMES[10:]) + b"\n")
    assert detect_format(p) == "jsonl"
    r = load_events(p)
    assert len(r.events) == 22 and r.rejects == {"not_a_record": 2} and r.n_rejected == 0

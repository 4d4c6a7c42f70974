"""Binance's liquidation stream is throttled (at most one liquidation per symbol per second): every
event from it carries ``Flag.THROTTLED``, through the live decoder, its pure-Python parser and every
Binance forceOrder loader; Binance trades and Bybit liquidations do not."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from liqcore.dataset.load import load_events
from liqcore.io.mapped import make_mapping
from liqcore.types import Flag, Kind, Venue
from liqcore.venues.binance.parse import parse as binance_parse
from liqcore.venues.common import throttle_note
from liqcore.venues.decoder import Decoder

DATA = Path(__file__).resolve().parents[1] / "data"
LINES = (DATA / "wire_examples.jsonl").read_bytes().splitlines()
RAW_FORCE, COMBINED_FORCE = LINES[5], LINES[6]  # {"e":"forceOrder",...} and {"stream":"!forceOrder@arr",...}
AGG = next(x for x in LINES if b'"e":"aggTrade"' in x)
BYBIT_ALL_LIQ = next(x for x in LINES if b'"topic":"allLiquidation' in x)
RECV = 1_800_000_000_000_000_000  # after every example frame (no future_time)
T = 1_723_075_200_000  # 2024-08-08 00:00 UTC, ms


def test_the_flag_names_what_the_bit_means():
    assert Flag.THROTTLED == Flag.SAMPLED == 8


def test_live_decoder_and_parser_flag_forceorder_frames_only():
    dec = Decoder("binance")
    for frame in (RAW_FORCE, COMBINED_FORCE):
        ev = dec.feed(frame, RECV)
        assert len(ev) == 1 and ev["kind"][0] == Kind.LIQUIDATION and ev["flags"][0] & Flag.THROTTLED
        ev = binance_parse(frame, RECV)  # the pure-Python path
        assert ev["flags"][0] & Flag.THROTTLED
    ev = dec.feed(AGG, RECV)
    assert len(ev) == 1 and ev["kind"][0] == Kind.TRADE and not ev["flags"][0] & Flag.THROTTLED
    ev = Decoder("bybit").feed(BYBIT_ALL_LIQ, RECV)  # Bybit's all-liquidation stream pushes every one
    assert len(ev) and not (ev["flags"] & Flag.THROTTLED).any()


def test_every_binance_forceorder_loader_flags_its_liquidations(tmp_path):
    csv = tmp_path / "binance.csv"  # the recorder's headerless forceOrder CSV
    csv.write_text("".join(f"BTCUSDT,{'SELL' if i % 2 else 'BUY'},LIMIT,IOC,0.01,61000,61000.5,FILLED,0.01,0.01,"
                           f"{T + i * 1500},610.0\n" for i in range(20)))
    log = tmp_path / "liq.log"
    log.write_text("starting\n" + "".join(
        f'2024-08-08 00:00:{i:02d} Liquidation: {{"s":"ETHUSDT","S":"SELL","o":"LIMIT","f":"IOC","q":"1.5",'
        f'"p":"2500","ap":"2501","X":"FILLED","l":"1.5","z":"1.5","T":{T + i * 1000}}}\n' for i in range(10)))
    raw = tmp_path / "frames.jsonl"
    raw.write_bytes(RAW_FORCE + b"\n" + COMBINED_FORCE + b"\n" + AGG + b"\n")
    homemade = tmp_path / "mine.csv"
    homemade.write_text("T,s,S,p,q\n" + "".join(f"{T + i * 1000},BTCUSDT,BUY,61000,0.1\n" for i in range(10)))
    for path, kw in ((csv, {}), (log, {}), (raw, {}),
                     (homemade, {"columns": make_mapping("ts=T,symbol=s,side=S,price=p,qty=q", "ms", "order",
                                                         "liquidation", "binance")})):
        ev = load_events(path, **kw).events
        liq = ev[ev["kind"] == Kind.LIQUIDATION]
        assert len(liq) and (liq["venue"] == Venue.BINANCE).all(), path.name
        assert (liq["flags"] & Flag.THROTTLED).all(), path.name
        assert not (ev[ev["kind"] == Kind.TRADE]["flags"] & Flag.THROTTLED).any(), path.name


def test_throttle_note_says_lower_bounds_only_for_throttled_liquidations():
    dec = Decoder(None)
    binance = np.concatenate([dec.feed(RAW_FORCE, RECV), dec.feed(AGG, RECV)])
    note = throttle_note(binance)
    assert note.startswith("1 of the 1 liquidations come from Binance's liquidation stream")
    assert "lower bounds" in note and "P95" in note and "cascades" in note
    assert throttle_note(dec.feed(BYBIT_ALL_LIQ, RECV)) is None
    assert throttle_note(dec.feed(AGG, RECV)) is None


def test_the_note_names_every_venue_as_its_users_write_it():
    """A throttled liquidation of Gate (code 4) or of a code no venue holds is named in words, never by its code."""
    from liqcore.types import EVENT_DTYPE, Venue
    from liqcore.venues.common import venue_title

    ev = np.zeros(3, EVENT_DTYPE)
    ev["kind"], ev["flags"] = int(Kind.LIQUIDATION), int(Flag.THROTTLED)
    ev["venue"] = [int(Venue.parse("gate")), int(Venue.OKX), 99]
    note = throttle_note(ev)
    assert note.startswith("3 of the 3 liquidations come from OKX and Gate and venue code 99's liquidation stream")
    assert [venue_title(c) for c in (1, 2, 3, 4)] == ["Bybit", "Binance", "OKX", "Gate"]

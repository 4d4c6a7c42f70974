"""Fuzzing the codecs: whatever arrives, Decoder.feed never raises and every frame is accounted for
(frames == accepted_frames + rejected_frames + control); the bulk loader never crashes either."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore.dataset.load import load_events
from liqcore.types import EVENT_DTYPE, Kind, Side
from liqcore.venues.decoder import Decoder

pytestmark = pytest.mark.property

DATA = Path(__file__).resolve().parents[1] / "data"
VALID = [ln for ln in (DATA / "wire_examples.jsonl").read_bytes().splitlines() if ln.startswith(b"{")]
VENUES = ["bybit", "binance", "okx", None]
RECV = 1_750_000_000_000_000_000  # a realistic receive time (OKX funding without ts takes it as its time)


def invariant(dec: Decoder) -> None:
    c = dec.counters
    assert c["frames"] == c["accepted_frames"] + c["rejected_frames"] + c["control"], c
    # every reject has a named reason: no frame shape falls through to the catch-all
    assert "bad_frame" not in c, c


def check_events(ev: np.ndarray) -> None:
    assert ev.dtype == EVENT_DTYPE
    for e in ev:
        kind = int(e["kind"])
        if kind in (Kind.LIQUIDATION, Kind.TRADE):
            assert math.isfinite(e["price"]) and e["price"] > 0
            assert math.isfinite(e["qty"]) and e["qty"] > 0
        if kind == Kind.LIQUIDATION:
            assert e["side"] in (Side.LONG, Side.SHORT)
        if kind == Kind.TRADE:
            assert e["side"] in (Side.BUY, Side.SELL)
        assert 946_684_800_000 * 1_000_000 <= e["ts_event"] <= 4_102_444_800_000 * 1_000_000


# JSON values of every type, including the awkward ones
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
    st.sampled_from(["NaN", "nan", "inf", "-inf", "1e999", "-0", "0", "", " 1", "١٢", "0x10", "1_000", "𝟙"]),
)
json_values = st.recursive(json_scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3), max_leaves=8)


def mutate(obj, path_choice: int, action: int, value):
    """Walk to one dict inside ``obj`` and remove a key, replace its value or add a key."""
    dicts = []

    def walk(o):
        if isinstance(o, dict):
            dicts.append(o)
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    walk(obj)
    if not dicts:
        return obj
    d = dicts[path_choice % len(dicts)]
    keys = list(d)
    if not keys or action == 2:
        d["zz"] = value
    elif action == 0:
        del d[keys[path_choice % len(keys)]]
    else:
        d[keys[path_choice % len(keys)]] = value
    return obj


@settings(max_examples=300)
@given(st.binary(max_size=300), st.sampled_from(VENUES))
def test_random_bytes_never_raise(blob, venue):
    dec = Decoder(venue)
    ev = dec.feed(blob, RECV)
    check_events(ev)
    invariant(dec)
    assert dec.counters["frames"] == 1


@pytest.mark.parametrize("compiled", [True, False])
@settings(max_examples=300)
@given(st.sampled_from(VALID), st.integers(0, 400), st.sampled_from(VENUES))
def test_truncated_frames(compiled, frame, cut, venue):
    dec = Decoder(venue, instruments={"IOST-USDT-SWAP": 10})
    if not compiled:
        dec._scan_venue = -1  # the pure-Python matcher
    blob = frame[: cut % (len(frame) + 1)]
    check_events(dec.feed(blob, RECV))
    check_events(np.array(dec.feed_rows(blob + b"\r", RECV), dtype=EVENT_DTYPE).reshape(-1))
    invariant(dec)


@settings(max_examples=500)
@given(st.sampled_from(VALID), st.integers(0, 50), st.integers(0, 2), json_values, st.sampled_from(VENUES))
def test_mutated_valid_frames(frame, where, action, value, venue):
    obj = mutate(orjson.loads(frame), where, action, value)
    try:
        blob = orjson.dumps(obj)
    except (orjson.JSONEncodeError, TypeError):  # e.g. integers beyond 64 bits
        blob = repr(obj).encode()
    dec = Decoder(venue, instruments={"IOST-USDT-SWAP": 10})
    for recv in (RECV, RECV + 1):  # twice: the second time everything is a duplicate or a reject again
        ev = dec.feed(blob, recv)
        check_events(ev)
    invariant(dec)
    c = dec.counters
    assert c["frames"] == 2


@settings(max_examples=200)
@given(st.sampled_from(VALID), st.text(min_size=1, max_size=5), st.sampled_from(VENUES))
def test_unicode_and_str_frames(frame, junk, venue):
    dec = Decoder(venue)
    text = frame.decode()
    for f in (text, text.replace('"', junk, 1), junk + text, text + junk):
        check_events(dec.feed(f, RECV))
    invariant(dec)


@settings(max_examples=200)
@given(st.lists(st.one_of(st.sampled_from(VALID), st.binary(max_size=60)), max_size=20), st.integers(RECV, RECV + 2**40))
def test_every_frame_accounted_for_in_a_stream(frames, seed):
    dec = Decoder(None, instruments={"IOST-USDT-SWAP": 10})
    total = 0
    for i, f in enumerate(frames):
        ev = dec.feed(f, seed + i)
        check_events(ev)
        total += len(ev)
    invariant(dec)
    assert dec.counters["frames"] == len(frames) and dec.counters["events"] == total


@settings(max_examples=60)
@given(st.lists(st.one_of(st.sampled_from(VALID), st.binary(max_size=80)), max_size=30), st.sampled_from(["raw", "jsonl", "recorder", "bybit-archive", "binance-log", None]))
def test_loader_never_crashes_on_junk(tmp_path_factory, lines, fmt):
    p = tmp_path_factory.mktemp("fuzz") / "f.jsonl"
    p.write_bytes(b"\n".join(ln.replace(b"\n", b" ") for ln in lines) + b"\n")
    try:
        r = load_events(p, format=fmt)
    except ValueError as exc:  # only: the format could not be detected
        assert fmt is None and "cannot detect" in str(exc)
        return
    check_events(r.events)
    assert np.all(np.diff(r.events["ts_event"]) >= 0)

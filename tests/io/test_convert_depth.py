"""``liqcore convert DAY/ --out F.parquet`` (and ``.csv``) over a tardis day with its ``incremental_book_L2`` file
beside the trades and liquidations (the hand-made day of tests/depthmarket.py): the file is written and reads back
as the day's events, depth rows included, field for field; ``liqcore events --json`` names every kind (depth rows
``"depth"``, never ``"?"``).  Every kind of :class:`liqcore.types.Kind` is named by the one table
(:data:`liqcore.codes.KIND_NAMES`) and goes through a contract file and back as itself (issue 70, item 1: the
writer's table stopped at ``quote`` and the convert died with ``IndexError: code out of range for 8 names``)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import orjson
import pytest

from liqcore.codes import KIND_NAMES
from liqcore.io import save_events
from liqcore.dataset.load import load_events
from liqcore.types import EVENT_DTYPE, Flag, Kind, Side, SymbolRegistry, Venue
from tests.depthmarket import depth_market

FIELDS = ("ts_event", "ts_recv", "price", "qty", "side", "kind", "venue", "flags")


def liqcore(*args):
    return subprocess.run([sys.executable, "-m", "liqcore", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def same_events(got, want):
    """Two LoadResults hold the same events: every field, the symbols by name, the trade ids."""
    assert len(got.events) == len(want.events)
    for f in FIELDS:
        np.testing.assert_array_equal(got.events[f], want.events[f], err_msg=f)
    names = lambda r: [r.registry.symbol(int(s)) for s in r.events["symbol_id"]]  # noqa: E731
    assert names(got) == names(want)
    ids = lambda r: np.zeros(len(r.events), np.int64) if r.trade_ids is None else r.trade_ids  # noqa: E731
    np.testing.assert_array_equal(ids(got), ids(want))


def test_every_kind_is_named_by_the_one_table():
    from liqcore.codes import KIND_TABLE

    assert sorted(KIND_NAMES) == sorted(int(k) for k in Kind)
    assert all(KIND_NAMES[int(k)] == k.name.lower() for k in Kind)
    assert KIND_TABLE[0] == "" and all(KIND_TABLE[int(k)] == KIND_NAMES[int(k)] for k in Kind)
    from liqcore.dataset.read import KIND_NAMES as dataset_names
    from liqcore.venues.common import KIND_BY_NAME, KIND_NAMES as venue_names

    assert venue_names is KIND_NAMES and tuple(dataset_names) == KIND_TABLE
    assert all(KIND_BY_NAME[name] == code for code, name in KIND_NAMES.items())


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_one_event_of_every_kind_through_a_contract_file(tmp_path, suffix):
    reg = SymbolRegistry()
    sid = reg.id(Venue.BINANCE, "BTCUSDT")
    ev = np.zeros(len(Kind), EVENT_DTYPE)
    t0 = 1_722_470_400_000_000_000
    side = {Kind.LIQUIDATION: Side.LONG, Kind.TRADE: Side.BUY, Kind.QUOTE: Side.SELL, Kind.DEPTH: Side.BUY}
    for i, k in enumerate(Kind):
        ev[i] = (t0 + i * 1_000_000, t0 + i * 1_000_000 + 5_000, 60_000.5 + i, 0.25 + i, sid,
                 int(side.get(k, Side.NONE)), int(k), int(Venue.BINANCE), int(Flag.SNAPSHOT) if k == Kind.DEPTH else 0)
    path = save_events(ev, tmp_path / f"every{suffix}", registry=reg)
    back = load_events(path)
    assert not back.rejects, back.rejects
    for f in FIELDS:
        np.testing.assert_array_equal(back.events[f], ev[f], err_msg=f)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_convert_of_a_tardis_day_with_depth_round_trips(tmp_path, suffix):
    dm = depth_market(tmp_path / "day")
    day = load_events(tmp_path / "day")
    assert {int(k) for k in np.unique(day.events["kind"])} == {int(Kind.LIQUIDATION), int(Kind.TRADE), int(Kind.DEPTH)}
    assert int((day.events["kind"] == Kind.DEPTH).sum()) == len(dm.depth_events)
    out = tmp_path / f"big{suffix}"
    r = liqcore("convert", tmp_path / "day", "--out", out)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and f"wrote {len(day.events)} events" in r.stdout + r.stderr
    same_events(load_events(out), day)


def test_events_json_names_every_kind(tmp_path):
    depth_market(tmp_path / "day")
    day = load_events(tmp_path / "day")
    want = {Kind(int(k)).name.lower(): int(n) for k, n in zip(*np.unique(day.events["kind"], return_counts=True))}
    assert want.keys() == {"liquidation", "trade", "depth"}
    r = liqcore("convert", tmp_path / "day", "--out", tmp_path / "big.parquet")
    assert r.returncode == 0, r.stderr
    for src in (tmp_path / "day", tmp_path / "big.parquet"):
        r = liqcore("events", src, "--json")
        assert r.returncode == 0, r.stderr
        rows = [orjson.loads(x) for x in r.stdout.splitlines()]
        got = {}
        for row in rows:
            got[row["kind"]] = got.get(row["kind"], 0) + 1
        assert got == want, src

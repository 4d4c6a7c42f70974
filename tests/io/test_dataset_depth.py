"""Depth in a dataset: DEPTH rows written to their own compact files by write_dataset and convert, read back
by load_depth in receive order, exactly (a property over random streams); writing the same rows again adds
nothing; row groups that cannot touch a price or a receive-time range are not read; the other kinds'
partitions are the same as without depth."""
from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liqcore.dataset import load_dataset, load_depth, write_dataset
from liqcore.dataset.depth import DEPTH_DIR, _read_file, price_decimals
from liqcore.dataset.load import load_events
from liqcore.types import EVENT_DTYPE, Flag, Kind, SymbolRegistry
from _session_env import child_env

ROOT = Path(__file__).resolve().parents[2]
T0_NS = 1_722_470_400_000_000_000  # 2024-08-01T00:00Z
DAY = 86_400 * 10**9


def depth_stream(rng, n: int, decimals: int | None, days: int = 1) -> np.ndarray:
    ev = np.zeros(n, EVENT_DTYPE)
    recv = np.sort(T0_NS + rng.integers(0, days * DAY, n))
    ev["ts_recv"] = recv
    ev["ts_event"] = recv - rng.integers(0, 50_000_000, n)
    ticks = 600_000 + np.cumsum(rng.integers(-5, 6, n))
    ev["price"] = ticks / 10.0**decimals if decimals is not None else ticks * 0.1 + rng.random(n) * 1e-3
    ev["qty"] = np.where(rng.random(n) < 0.2, 0.0, rng.random(n) * 10.0 ** rng.integers(-3, 12, n))
    ev["side"] = rng.choice([3, 4], n)
    ev["flags"] = np.where(rng.random(n) < 0.05, int(Flag.SNAPSHOT), 0)
    gap = rng.random(n) < 0.01
    ev["flags"][gap], ev["price"][gap], ev["qty"][gap], ev["side"][gap] = int(Flag.DEPTH_GAP), 0.0, 0.0, 0
    ev["kind"], ev["venue"] = int(Kind.DEPTH), 2
    return ev


@pytest.mark.property
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 3000), decimals=st.sampled_from([0, 1, 2, 5, 8, None]),
       days=st.integers(1, 3))
def test_write_then_read_is_the_input(tmp_path_factory, seed, n, decimals, days):
    rng = np.random.default_rng(seed)
    ev = depth_stream(rng, n, decimals, days)
    reg = SymbolRegistry([(2, "BTCUSDT")])
    out = tmp_path_factory.mktemp("ds")
    res = write_dataset(ev, out, reg)
    assert res["rows_added"] == n
    back, breg = load_depth(out)
    assert back.tobytes() == ev.tobytes()  # every field, in receive order
    assert list(breg) == list(reg)
    # the same rows again: nothing added, the files as they were
    assert write_dataset(ev, out, reg)["rows_added"] == 0
    assert load_depth(out)[0].tobytes() == ev.tobytes()


def test_price_decimals_is_exact():
    assert price_decimals(np.array([60000.1, 59990.0])) == 1
    assert price_decimals(np.array([0.000123, 1.5])) == 6
    assert price_decimals(np.array([60000.0])) == 0
    assert price_decimals(np.array([1 / 3])) is None  # kept as float64 then
    assert price_decimals(np.array([np.nan])) is None


def test_two_sources_merge_in_receive_order(tmp_path):
    rng = np.random.default_rng(5)
    a = depth_stream(rng, 500, 1)
    b = depth_stream(rng, 300, 1)
    reg = SymbolRegistry([(2, "BTCUSDT")])
    write_dataset(a, tmp_path, reg)
    write_dataset(b, tmp_path, reg)
    both = np.concatenate([a, b])
    want = both[np.argsort(both["ts_recv"], kind="stable")]  # the old rows first at equal receive times
    assert load_depth(tmp_path)[0].tobytes() == want.tobytes()


def test_symbols_kept_apart_and_selected(tmp_path):
    rng = np.random.default_rng(6)
    a, b = depth_stream(rng, 400, 1), depth_stream(rng, 400, 2)
    b["symbol_id"] = 1
    reg = SymbolRegistry([(2, "BTCUSDT"), (2, "ETHUSDT")])
    write_dataset(np.concatenate([a, b]), tmp_path, reg)
    eth, ereg = load_depth(tmp_path, symbols=["ETHUSDT"])
    assert len(eth) == 400 and np.array_equal(eth["price"], b["price"]) and ereg.symbol(0) == "ETHUSDT"
    every, _r = load_depth(tmp_path)
    assert len(every) == 800 and bool(np.all(np.diff(every["ts_recv"]) >= 0))
    assert load_depth(tmp_path, venues=["bybit"])[0].size == 0


def test_row_groups_outside_a_price_or_time_range_are_not_read(tmp_path):
    rng = np.random.default_rng(7)
    n = 400_000
    ev = depth_stream(rng, n, 1)
    ev["flags"] = 0  # updates only (snapshot and gap rows are kept whatever the range)
    ev["price"] = np.round(50_000 + np.arange(n) * 0.05, 1)  # a market that rises through the day
    ev["qty"] = 1.0
    write_dataset(ev, tmp_path, SymbolRegistry([(2, "BTCUSDT")]))
    (f,) = (tmp_path / DEPTH_DIR).rglob("depth.parquet")
    whole, n_all = _read_file(f)
    assert n_all == n
    lo, hi = 52_000.0, 52_100.0
    rows, n_read = _read_file(f, price_range=(lo, hi))
    assert n_read < n // 4
    got, _r = load_depth(tmp_path, price_range=(lo, hi))
    inside = ev[(ev["price"] >= lo) & (ev["price"] <= hi)]
    assert got.tobytes() == inside.tobytes()
    t_lo, t_hi = int(ev["ts_recv"][1000]), int(ev["ts_recv"][2000])
    rows, n_read = _read_file(f, recv_range=(t_lo, t_hi))
    assert n_read < n // 4
    got, _r = load_depth(tmp_path, recv_range=(t_lo, t_hi))
    assert got.tobytes() == ev[(ev["ts_recv"] >= t_lo) & (ev["ts_recv"] < t_hi)].tobytes()
    # compact: about 8 bytes a row on disk, not the 40 of an event
    assert f.stat().st_size < 12 * n


def test_convert_brings_depth_beside_trades(tmp_path):
    from tests.depthmarket import depth_market

    dm = depth_market(tmp_path / "in")
    ds = tmp_path / "ds"
    env = child_env(keep_cache=False)
    env["PYTHONPATH"] = str(ROOT)
    r = subprocess.run([sys.executable, "-m", "liqcore", "convert", *map(str, dm.paths), "--dataset", str(ds)],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    loaded = load_events(dm.paths)
    depth_in = loaded.events[loaded.events["kind"] == Kind.DEPTH]
    back, _reg = load_depth(ds)
    assert back.tobytes() == depth_in[np.argsort(depth_in["ts_recv"], kind="stable")].tobytes()
    rest = load_dataset(ds).events
    assert not (rest["kind"] == Kind.DEPTH).any()
    assert np.array_equal(np.sort(rest["ts_recv"]), np.sort(loaded.events["ts_recv"][loaded.events["kind"] != Kind.DEPTH]))
    # converting again: already converted, nothing added
    r2 = subprocess.run([sys.executable, "-m", "liqcore", "convert", *map(str, dm.paths), "--dataset", str(ds)],
                        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert r2.returncode == 0 and load_depth(ds)[0].tobytes() == back.tobytes()

"""Homemade files read through a column mapping (``--columns``), and the per-file load report."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liqcore.dataset.load import load_events
from liqcore.io.mapped import KINDS, make_mapping, mapping_report
from liqcore.types import Flag, Kind, Side, Venue

ROOT = Path(__file__).resolve().parents[2]
T0_MS = 1_723_075_200_000  # 2024-08-08 00:00:00 UTC
PER = {"s": 1e-3, "ms": 1, "us": 1_000, "ns": 1_000_000}
MAP = "ts=T,symbol=s,side=S,price=p,qty=q"


def _rows(n=200):
    rng = np.random.default_rng(3)
    ms = T0_MS + np.sort(rng.integers(0, 86_399_000, n))
    side = np.where(np.arange(n) % 3 == 0, "BUY", "SELL")
    sym = np.where(np.arange(n) % 2 == 0, "BTCUSDT", "ETHUSDT")
    price = np.where(sym == "BTCUSDT", 61_000.0, 2_500.0) + rng.random(n)
    qty = np.round(rng.random(n) + 0.01, 3)
    return ms, sym, side, price, qty


def _write(path: Path, unit: str, *, parquet: bool, side=None, extra=None):
    ms, sym, sd, price, qty = _rows()
    t = ms * PER[unit] if unit != "ns" else ms.astype(np.int64) * 1_000_000
    t = t.astype(np.float64) if unit == "s" else t.astype(np.int64)
    cols = {"T": t, "s": sym, "S": side if side is not None else sd, "p": price, "q": qty, **(extra or {})}
    table = pa.table(cols)
    if parquet:
        pq.write_table(table, path)
    else:
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, path)
    return ms, sd


def _load(path, unit="ms", means="order", kind="liquidation", venue="binance", cols=MAP):
    return load_events(path, columns=make_mapping(cols, unit, means, kind, venue))


@pytest.mark.parametrize("parquet", [False, True], ids=["csv", "parquet"])
@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_each_unit_csv_and_parquet(tmp_path, unit, parquet):
    path = tmp_path / ("f.parquet" if parquet else "f.csv")
    ms, _ = _write(path, unit, parquet=parquet)
    res = _load(path, unit)
    ev = res.events
    assert len(ev) == len(ms)
    assert np.array_equal(np.sort(ev["ts_event"]) // 1_000_000, np.sort(ms))  # exact to the ms in every unit
    assert set(res.registry.symbol(int(s)) for s in np.unique(ev["symbol_id"])) == {"BTCUSDT", "ETHUSDT"}
    assert (ev["venue"] == Venue.BINANCE).all() and (ev["kind"] == Kind.LIQUIDATION).all()
    assert (ev["flags"] & Flag.RECV_ESTIMATED).all()  # no ts_recv column: estimated
    info = res.files[str(path)]
    assert info["format"] == "columns" and info["records"] == len(ms) and info["reordered"] == 0
    rep = mapping_report(res)
    assert rep.startswith("columns: ts ← T (") and "2024-08-08" in rep and "side ← S (values BUY/SELL" in rep


@pytest.mark.parametrize("means", ["order", "position"])
def test_side_means_both_ways(tmp_path, means):
    path = tmp_path / "f.csv"
    _ms, sides = _write(path, "ms", parquet=False)
    ev = _load(path, means=means).events
    buy = int(Side.SHORT) if means == "order" else int(Side.LONG)  # a forced BUY closes a short
    n_buy = int(np.count_nonzero(sides == "BUY"))
    assert int(np.count_nonzero(ev["side"] == buy)) == n_buy
    assert int(np.count_nonzero(ev["side"] != buy)) == len(sides) - n_buy
    rep = mapping_report(_load(path, means=means))
    assert ("BUY = a short was liquidated" in rep) == (means == "order")


def test_trades_are_taker_sides_and_position_sides_read(tmp_path):
    path = tmp_path / "f.csv"
    _ms, sides = _write(path, "ms", parquet=False)
    ev = _load(path, means=None, kind="trade").events
    assert (ev["kind"] == Kind.TRADE).all() and set(np.unique(ev["side"])) == {int(Side.BUY), int(Side.SELL)}
    assert not (ev["flags"] & Flag.THROTTLED).any()
    pos = tmp_path / "pos.csv"
    _write(pos, "ms", parquet=False, side=np.where(sides == "BUY", "long", "short"))
    ev = _load(pos, means="position").events
    assert int(np.count_nonzero(ev["side"] == Side.LONG)) == int(np.count_nonzero(sides == "BUY"))


def test_ts_recv_and_venue_columns(tmp_path):
    path = tmp_path / "f.parquet"
    ms = _rows()[0]
    _write(path, "ms", parquet=True, extra={"recv": (ms + 250).astype(np.int64),
                                            "ex": np.where(np.arange(len(ms)) % 2 == 0, "bybit", "okex-swap")})
    res = _load(path, venue=None, cols=MAP + ",venue=ex,ts_recv=recv")
    ev = res.events
    assert np.array_equal(ev["ts_recv"] - ev["ts_event"], np.full(len(ev), 250_000_000))
    assert not (ev["flags"] & Flag.RECV_ESTIMATED).any()
    assert set(np.unique(ev["venue"])) == {int(Venue.BYBIT), int(Venue.OKX)}
    assert res.files[str(path)]["venues"] == ["bybit", "okx"]
    # OKX's liquidation stream is throttled like Binance's: flagged; Bybit's all-liquidation stream is not
    assert (ev["flags"][ev["venue"] == Venue.OKX] & Flag.THROTTLED).all()
    assert not (ev["flags"][ev["venue"] == Venue.BYBIT] & Flag.THROTTLED).any()


def test_errors_name_the_column(tmp_path):
    path = tmp_path / "f.csv"
    _write(path, "ms", parquet=False)
    with pytest.raises(ValueError, match=r"side=X: .* has no column 'X' \(its columns: T, s, S, p, q\)"):
        _load(path, cols="ts=T,symbol=s,side=X,price=p,qty=q")
    with pytest.raises(ValueError, match=r"side=s: .*side values that are not recognised \('BTCUSDT'"):
        _load(path, cols="ts=T,symbol=s,side=s,price=p,qty=q")
    with pytest.raises(ValueError, match=r"ts-unit: column 'T' .* read as µs .* 1970-01-20 .* fits --ts-unit ms"):
        _load(path, unit="us")
    with pytest.raises(ValueError, match=r"ts-unit: column 'T' .* read as seconds .* after 2262 .* fits --ts-unit ms"):
        _load(path, unit="s")
    with pytest.raises(ValueError, match=r"position sides, not order sides: use --side-means position"):
        pos = tmp_path / "pos.csv"
        _write(pos, "ms", parquet=False, side=np.full(200, "LONG"))
        _load(pos, means="order")
    with pytest.raises(ValueError, match="side-means: liquidations need --side-means"):
        make_mapping(MAP, "ms", None, "liquidation", "binance")
    with pytest.raises(ValueError, match="venue: --columns needs --venue"):
        make_mapping(MAP, "ms", "order", "liquidation", None)
    with pytest.raises(ValueError, match=r"columns: qty not mapped"):
        make_mapping("ts=T,symbol=s,side=S,price=p", "ms", "order", "liquidation", "binance")


def test_price_column_of_words_is_an_error(tmp_path):
    path = tmp_path / "f.csv"
    _write(path, "ms", parquet=False)
    with pytest.raises(ValueError, match=r"price=S: 200 of 200 rows .* are not positive numbers \(e.g. '(BUY|SELL)'\)"):
        _load(path, cols="ts=T,symbol=s,side=S,price=S,qty=q")


def test_few_bad_rows_are_counted_and_reordered_rows_reported(tmp_path):
    path = tmp_path / "f.csv"
    lines = ["T,s,S,p,q"]
    for i in range(100):
        lines.append(f"{T0_MS + i * 1000},BTCUSDT,BUY,61000,0.1")
    lines[50] = f"{T0_MS + 10},BTCUSDT,BUY,61000,0.1"  # stamped before the rows above it
    lines.append(f"{T0_MS + 200_000},BTCUSDT,BUY,-1,0.1")
    lines.append(f"{T0_MS + 201_000},BTCUSDT,HOLD,61000,0.1")
    path.write_text("\n".join(lines) + "\n")
    res = _load(path)
    info = res.files[str(path)]
    assert info["records"] == 102 and info["events"] == 100
    assert info["rejects"] == {"non_positive": 1, "bad_side": 1}
    assert info["reordered"] == 1
    assert info["symbols"] == ["BTCUSDT"] and info["kinds"] == {"liquidation": 100}
    assert info["start_ns"] == T0_MS * 1_000_000


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "liqcore", *args], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(cwd)}, timeout=120)


def test_cli_events_and_detect_read_a_mapped_file(tmp_path):
    path = tmp_path / "liqs.csv"
    _write(path, "ms", parquet=False)
    opts = ["--columns", MAP, "--ts-unit", "ms", "--side-means", "order", "--kind", "liquidation", "--venue", "binance"]
    r = _cli("events", str(path), *opts, "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 200
    assert r.stderr.count("columns: ts ← T (ms since the epoch, 2024-08-08") == 1
    assert 'load report: {"files":{' in r.stderr and '"reordered":0' in r.stderr
    r = _cli("events", str(path), *opts, cwd=tmp_path)
    assert r.returncode == 0 and "re-ordered" in r.stdout and "rows read" in r.stdout
    r = _cli("detect", str(path), *opts[:2], "--ts-unit", "us", *opts[4:], cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "ts-unit: column 'T'" in r.stderr and "fits --ts-unit ms" in r.stderr
    r = _cli("events", str(path), "--columns", MAP, "--ts-unit", "ms", "--kind", "liquidation", cwd=tmp_path)
    assert r.returncode == 2 and "side-means: liquidations need" in r.stderr


_CELL = st.one_of(st.sampled_from(["BUY", "SELL", "long", "x", "", "BTCUSDT", "eth-usdt", "-1", "0", "nan", "inf",
                                   "1e400", "61000.5", "0.001", "1723075200000", "17230752000000000000", "9" * 30]),
                  st.text(alphabet="0123456789.-eE ,\"abcBUYSEL", max_size=12))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(_CELL, min_size=5, max_size=5), min_size=0, max_size=30), kind=st.sampled_from(KINDS))
def test_no_row_breaks_the_sanity_rules_whatever_the_file_holds(tmp_path, rows, kind):
    """Whatever a homemade file holds, the mapped reader yields only sane rows, or a clear error."""
    import csv

    path = tmp_path / "fuzz.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["T", "s", "S", "p", "q"])
        w.writerows([T0_MS + i * 1000, "BTCUSDT", "BUY", 61000.5, 0.01] for i in range(40))  # a good file ...
        w.writerows(rows)  # ... with whatever rows
    try:
        res = _load(path, means="order" if kind == "liquidation" else None, kind=kind)
    except ValueError as exc:
        assert str(exc).split(":")[0] in ("columns", "ts-unit", "format", "paths", "side-means"), exc
        return
    ev = res.events
    assert np.isfinite(ev["price"]).all() and (ev["price"] > 0).all()
    assert np.isfinite(ev["qty"]).all() and (ev["qty"] > 0).all()
    assert ((ev["ts_event"] >= 1_483_228_800_000_000_000) & (ev["ts_event"] < 2**62)).all()
    want = {int(Side.LONG), int(Side.SHORT)} if kind == "liquidation" else {int(Side.BUY), int(Side.SELL)}
    assert set(np.unique(ev["side"]).tolist()) <= want
    assert (ev["symbol_id"] >= 0).all() and (ev["venue"] == Venue.BINANCE).all()
    info = res.files[str(path)]
    assert info["events"] + sum(info["rejects"].values()) == info["records"] == len(rows) + 40
    good = (T0_MS + np.arange(40) * 1000) * 1_000_000
    assert np.isin(good, ev["ts_event"]).all()  # the good rows stay

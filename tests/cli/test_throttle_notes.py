"""Whenever Binance liquidations are used, ``detect``, the studies and the reports say that their
counts and notionals are lower bounds (the stream pushes at most one liquidation per symbol per
second); on Bybit's full liquidation stream they say nothing of the kind."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
T = 1_723_075_200_000  # 2024-08-08 00:00 UTC, ms
LOWER = "lower bounds"


def _cli(*args, cwd):
    r = subprocess.run([sys.executable, "-m", "liqcore", *args], cwd=cwd, capture_output=True, text=True,
                       env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(cwd)}, timeout=300)
    assert "Traceback" not in r.stderr, r.stderr
    return r


def _burst(i: int) -> list[tuple[int, str, float, float]]:
    """(ms, side, price, qty): a burst of liquidations every 10 minutes, quiet ones between."""
    base = T + i * 600_000
    rows = [(base + k * 1000, "SELL", 61_000.0 - k, 0.01) for k in range(20)]
    rows += [(base + 100_000 + k * 1000, "SELL", 60_990.0 - k, 2.0) for k in range(6)]
    return rows


@pytest.fixture
def recordings(tmp_path):
    rows = [r for i in range(12) for r in _burst(i)]
    binance = tmp_path / "binance.csv"  # the recorder's headerless forceOrder CSV
    binance.write_text("".join(f"BTCUSDT,{s},LIMIT,IOC,{q},{p},{p},FILLED,{q},{q},{t},{p * q}\n"
                               for t, s, p, q in rows))
    bybit = tmp_path / "bybit.csv"  # the same liquidations as Bybit's (unthrottled) stream, contract columns
    bybit.write_text("ts_event_ns,venue,symbol,side,price,qty,kind\n"
                     + "".join(f"{t * 1_000_000},bybit,BTCUSDT,long,{p},{q},liquidation\n" for t, _s, p, q in rows))
    return binance, bybit


def test_detect_says_binance_counts_are_lower_bounds(recordings, tmp_path):
    binance, bybit = recordings
    r = _cli("detect", str(binance), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "note: 312 of the 312 liquidations come from Binance's liquidation stream" in r.stdout
    assert LOWER in r.stdout and "P95" in r.stdout
    r = _cli("detect", str(binance), "--json", cwd=tmp_path)
    assert r.returncode == 0 and LOWER in r.stderr and LOWER not in r.stdout  # stdout stays one cascade per line
    r = _cli("detect", str(bybit), cwd=tmp_path)
    assert r.returncode == 0 and LOWER not in r.stdout + r.stderr


def test_research_report_and_study_say_it(tmp_path):
    rep = tmp_path / "rep"
    r = _cli("research", "--synthetic", "--venue", "binance", "--days", "1", "--studies", "event", "--json",
             "--no-progress", "--report", str(rep), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert len(doc["notes"]) == 1 and LOWER in doc["notes"][0] and "Binance" in doc["notes"][0]
    assert "**Data note:**" in (rep / "FINDINGS.md").read_text() and LOWER in (rep / "index.html").read_text()
    assert LOWER in json.loads((rep / "findings.json").read_text())["notes"][0]
    r = _cli("study", "oi", "--synthetic", "--venue", "binance", "--days", "1", "--json", "--no-progress", cwd=tmp_path)
    assert LOWER in json.loads(r.stdout)["data_note"]
    r = _cli("research", "--synthetic", "--venue", "bybit", "--days", "1", "--studies", "event", "--json",
             "--no-progress", cwd=tmp_path)
    assert r.returncode == 0 and json.loads(r.stdout)["notes"] == []


def test_backtest_summary_and_report_say_it(tmp_path):
    rep = tmp_path / "bt"
    r = _cli("backtest", "--synthetic", "--venue", "binance", "--days", "1", "--json", "--no-progress",
             "--report", str(rep), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert LOWER in json.loads(r.stdout)["summary"]["data_note"]
    assert LOWER in (rep / "report.html").read_text()

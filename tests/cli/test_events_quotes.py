"""`liqcore events` on a recording with top of book: the summary names the quotes and their spread."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from _session_env import child_env

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_723_161_255_000_000_000


def _cli(argv, tmp: Path) -> subprocess.CompletedProcess:
    env = child_env(keep_cache=False)
    env.update(PYTHONPATH=str(ROOT), LIQCORE_CACHE_DIR=str(tmp / "cache"), COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "liqcore", *argv], env=env, capture_output=True, text=True,
                          timeout=300)


def test_events_summary_shows_top_of_book(tmp_path):
    lines = ["ts_event_ns,venue,symbol,side,price,qty,kind"]
    for i in range(20):
        t = T0 + i * 1_000_000
        lines.append(f"{t},binance,BTCUSDT,buy,{60000 + i},0.5,trade")
        ask = 60000.5 + i if i != 5 else 59990 + i  # update 5 is crossed
        lines += [f"{t + 1},binance,BTCUSDT,buy,{60000 + i - 0.5},2,quote", f"{t + 1},binance,BTCUSDT,sell,{ask},3,quote"]
    (tmp_path / "q.csv").write_text("\n".join(lines) + "\n")
    r = _cli(["events", str(tmp_path / "q.csv")], tmp_path)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "quote" in out and "40" in out  # 40 quote rows in the kind table
    assert "top of book" in out and "median spread (bps of mid)" in out
    tob = out[out.index("top of book"):]
    row = next(line for line in tob.splitlines() if "BTCUSDT" in line)
    cells = [c.strip() for c in row.split("│") if c.strip()]
    assert cells[2] == "20" and cells[3] == "1" and cells[5] == "1"  # 20 updates, spread 1.0, 1 crossed
    j = _cli(["events", "--json", "--kind", "quote", str(tmp_path / "q.csv")], tmp_path)
    assert j.returncode == 0, j.stderr
    rows = [json.loads(x) for x in j.stdout.splitlines()]
    assert len(rows) == 40 and {r["kind"] for r in rows} == {"quote"} and {r["side"] for r in rows} == {"buy", "sell"}
    assert all(r["notional"] is None for r in rows)

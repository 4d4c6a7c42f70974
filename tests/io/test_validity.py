"""Data nobody vetted: forced formats that do not fit, symbols that would be paths, absurd prices and
sizes, impossible times.  Real files, real subprocesses of the command line, crafted frames through
``Engine.on_frame`` (no mocks)."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import orjson
import pytest

from liqcore._libs.detection import CascadeDetector as KDetector
from liqcore.dataset.load import load_events
from liqcore.types import EVENT_DTYPE, Kind, RecordKind, Side, SymbolRegistry
from pysrc.detector import CascadeDetector as PDetector
from _session_env import child_env

ROOT = Path(__file__).resolve().parents[2]
S = 1_000_000_000
T0_MS = 1_760_000_000_000  # 2025-10-09
both = pytest.mark.parametrize("Det", [KDetector, PDetector], ids=["kernel", "twin"])


def cli(*args, cwd=None):
    env = child_env()
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "liqcore", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)


def bybit_liq(symbol, price, size, t_ms, side="Buy") -> str:
    return json.dumps({"topic": f"allLiquidation.{symbol}", "type": "snapshot", "ts": t_ms,
                       "data": [{"T": t_ms, "s": symbol, "S": side, "v": str(size), "p": str(price)}]})


def recorder_line(frame: str, recv_ns: int) -> str:
    return json.dumps({"recv_ns": recv_ns, "venue": "bybit", "frame": frame})


def agg_trades_csv(path: Path, n=3000, header=True) -> Path:
    """Binance's published aggTrades CSV: agg_trade_id, price, quantity, first_trade_id, last_trade_id,
    transact_time, is_buyer_maker."""
    rng = random.Random(7)
    rows, a, f, t, p = [], 2_373_284_001, 4_523_011_001, 1_704_067_200_012, 41997.6
    for _ in range(n):
        k = rng.randint(1, 4)
        rows.append(f"{a},{p:.1f},{rng.randint(1, 900) / 1000},{f},{f + k - 1},{t},{rng.choice(['true', 'false'])}")
        a, f, t, p = a + 1, f + k, t + rng.randint(0, 50), p + rng.choice([-0.1, 0.0, 0.1])
    head = "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n" if header else ""
    path.write_text(head + "\n".join(rows) + "\n")
    return path


# ------------------------------------------------------------------------------ forced formats
@pytest.mark.parametrize("header", [True, False], ids=["header", "headerless"])
def test_forced_format_that_does_not_fit_is_an_error_naming_the_column(tmp_path, header):
    f = agg_trades_csv(tmp_path / "BTCUSDT-aggTrades-2024-01-01.csv", header=header)
    r = cli("events", f, "--format", "binance-trades-csv")
    assert r.returncode != 0, r.stdout[-500:]
    assert "column 2 (symbol) looks wrong" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert "41997" not in r.stdout  # no garbage symbol printed


def test_forced_format_price_column_that_steps_like_an_id(tmp_path):
    # the symbol column fits, but the "price" column holds consecutive trade ids
    lines = [f"{T0_MS + i},BTCUSDT,{100 + i},{9_000_000_000 + i},0.01,{T0_MS + i},true" for i in range(200)]
    f = tmp_path / "t.csv"
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"column 4 \(p\) steps by exactly 1 like an id"):
        load_events(f, format="binance-trades-csv")
    r = cli("convert", f, "--format", "binance-trades-csv", "--out", tmp_path / "o.parquet")
    assert r.returncode != 0 and "steps by exactly 1 like an id" in r.stderr
    assert not (tmp_path / "o.parquet").exists()


def test_loader_never_yields_rows_failing_basic_sanity(tmp_path):
    now_ms = T0_MS
    good = [recorder_line(bybit_liq("BTCUSDT", 60000 + i, 0.1, now_ms + i * 1000), (now_ms + i * 1000 + 5) * 10**6)
            for i in range(20)]
    bad = [
        recorder_line(bybit_liq("41997.6USDT", 60000, 0.1, now_ms + 500), (now_ms + 505) * 10**6),  # a number
        recorder_line(bybit_liq("BTCUSDT", "1e26", 0.1, now_ms + 600), (now_ms + 605) * 10**6),  # absurd price
        recorder_line(bybit_liq("BTCUSDT", 60000, 0.1, 4_102_444_700_000), 4_102_444_700_000 * 10**6),  # 2099
        recorder_line(bybit_liq("BTCUSDT", 60000, 0.1, 1_400_000_000_000), 1_400_000_000_000 * 10**6),  # 2014
        recorder_line(bybit_liq("BTCUSDT", 60000, 0.1, now_ms + 700), 4_102_444_700_000 * 10**6),  # recv 2099
    ]
    f = tmp_path / "rec.jsonl"
    f.write_text("\n".join(good[:10] + bad + good[10:]) + "\n")
    res = load_events(f)
    assert len(res.events) == 20
    assert res.rejects.get("bad_symbol") == 1
    assert res.rejects.get("implausible_notional", 0) + res.rejects.get("implausible_price", 0) == 1
    assert res.rejects.get("implausible_time", 0) + res.rejects.get("bad_time", 0) == 3
    ev = res.events
    assert (ev["price"] < 70000).all() and (ev["ts_event"] >= 1_483_228_800 * S).all()
    assert (ev["ts_recv"] < 4_000_000_000 * S).all()
    with pytest.raises(ValueError, match="bad_symbol"):
        load_events(f, strict=True)
    g = tmp_path / "rec2.jsonl"
    g.write_text("\n".join(good[:10] + bad[1:2] + good[10:]) + "\n")
    with pytest.raises(ValueError, match=r"implausible_(price|notional) in 1 event\(s\)"):
        load_events(g, strict=True)
    # the counts show in `liqcore events`
    r = cli("events", f)
    assert r.returncode == 0 and "implausible_time" in r.stdout and "bad_symbol" in r.stdout


# ------------------------------------------------------------------------ symbols never paths
EVIL = ["../../../../../../{root}/x/PWNUSDT", "ETH/USDT", "..", "A" * 300, "BTC\x00USDT", "C:\\x\\Y"]


def test_symbols_from_data_never_name_paths_outside_the_dataset(tmp_path):
    root = tmp_path / "outside"
    root.mkdir()
    lines = [bybit_liq("BTCUSDT", 60000, 0.1, T0_MS)]
    for i, s in enumerate(EVIL):
        lines.append(bybit_liq(s.format(root=str(root).lstrip("/")), 60000, 0.1, T0_MS + i + 1))
    lines.append(bybit_liq("ETHUSDT", 3000, 1, T0_MS + 100))
    f = tmp_path / "in" / "evil.jsonl"
    f.parent.mkdir()
    f.write_text("\n".join(lines) + "\n")
    ds = tmp_path / "ds"
    before = set(tmp_path.rglob("*"))
    r = cli("convert", f, "--dataset", ds)
    assert r.returncode == 0, r.stderr  # the bad rows are rejected, the file is not failed
    assert "2 new rows" in r.stderr and f"bad_symbol={len(EVIL)}" in r.stderr
    written = set(tmp_path.rglob("*")) - before
    assert written and all(p == ds or ds in p.parents for p in written), sorted(map(str, written))
    assert not any(root.iterdir())
    syms = sorted(p.name for p in ds.glob("venue=bybit/symbol=*"))
    assert syms == ["symbol=BTCUSDT", "symbol=ETHUSDT"]
    # a recording and `events` take the same rows
    assert len(load_events(ds).events) == 2


@pytest.mark.parametrize("venue", ["bybit", "auto"])
def test_live_decoder_rejects_symbols_outside_the_alphabet(venue):
    from liqcore.venues.decoder import Decoder

    d = Decoder(venue)
    for i, s in enumerate(EVIL + ["41997.6USDT", "12345"]):
        frame = bybit_liq(s.format(root="tmp"), 60000, 0.1, T0_MS + i).encode()
        assert len(d.feed(frame, (T0_MS + i) * 10**6)) == 0
    assert d.counters["bad_symbol"] == len(EVIL) + 2
    ok = d.feed(bybit_liq("1000PEPEUSDT", 0.01, 1000, T0_MS).encode(), T0_MS * 10**6)
    assert len(ok) == 1 and d.registry.symbol(int(ok["symbol_id"][0])) == "1000PEPEUSDT"
    assert [s for _i, _v, s in d.registry] == ["1000PEPEUSDT"]


def test_symbol_alphabets_accept_real_symbols():
    from liqcore.validate import valid_symbol

    for v, s in [(1, "BTCUSDT"), (1, "BTC-26DEC25"), (1, "1000PEPEUSDT"), (2, "BTCUSD_PERP"), (2, "BTCUSDT_250627"),
                 (2, "币安人生USDT"), (2, "4USDT"), (2, "1000000MOGUSDT"), (3, "BTC-USDT-SWAP"), (3, "BTC-USD-250627-100000-C")]:
        assert valid_symbol(v, s), (v, s)
    for v, s in [(1, "BTC_USDT"), (2, "BTC-USDT"), (3, "BTC/USDT"), (1, "41997.6USDT"), (1, "12345"), (1, "-BTC"),
                 (2, "A" * 41), (1, ""), (1, None)]:
        assert not valid_symbol(v, s), (v, s)


def test_write_dataset_refuses_names_that_cannot_be_a_directory(tmp_path):
    from liqcore.dataset import write_dataset

    reg = SymbolRegistry([("bybit", "BTCUSDT"), ("bybit", "../../X"), ("bybit", "ETH/USDT")])
    ev = np.zeros(3, EVENT_DTYPE)
    ev["ts_event"] = ev["ts_recv"] = T0_MS * 1_000_000
    ev["symbol_id"] = [0, 1, 2]
    ev["venue"], ev["kind"], ev["side"], ev["price"], ev["qty"] = 1, 1, 1, 100.0, 1.0
    info = write_dataset(ev, tmp_path / "ds", reg)
    assert info["rows_added"] == 1 and info["rows_refused"] == 2
    assert [p.name for p in (tmp_path / "ds").rglob("symbol=*")] == ["symbol=BTCUSDT"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_recorder_and_sweep_names_stay_inside_their_directory(tmp_path):
    from liqcore.live.recorder import hour_file_name
    from liqcore.validate import safe_name

    assert hour_file_name("bybit", T0_MS * 10**6).startswith("bybit-")
    for bad in ("../x", "a/b", "", ".."):
        with pytest.raises(ValueError, match="cannot name a file"):
            hour_file_name(bad, T0_MS * 10**6)
        with pytest.raises(ValueError):
            safe_name(bad)
    # sweep parts are named by a hash of the cell, never by a symbol
    from types import SimpleNamespace

    from liqcore.sweep.cells import Partition, Window, cell_key
    from liqcore.config import Params

    src = SimpleNamespace(ident=lambda: {"path": "../../evil"})
    part = Partition(src, ("../../evil", "ETH/USDT"))
    key = cell_key({"offset": 0.001}, part, Window(0, 1, "all"), Params())
    assert key.isalnum() and len(key) == 20


def test_html_report_escapes_symbols(tmp_path):
    from liqcore.backtest.report import write_report
    from liqcore.backtest.run import backtest
    from tests.backtest.test_backtest import cascade_market, small_params

    ev, reg = cascade_market()
    evil = SymbolRegistry([(v, "<img src=x onerror=alert(1)>") for _i, v, _s in reg])
    res = backtest(ev, small_params(), registry=evil, equity=1000.0)
    html = write_report(res, tmp_path / "r").read_text()
    # report files are named by the report, never by a symbol
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == [
        "cascades.png", "equity.png", "per_symbol.png", "report.html", "returns.png"]
    assert "<IMG SRC=X" not in html.upper()  # never markup
    assert "&lt;IMG SRC=X ONERROR=ALERT(1)&gt;" in html


# ------------------------------------------------------------------ absurd prices and sizes
def _liq_events(rows):
    """rows: (t_s, price, qty, side[, kind]) -> EVENT_DTYPE, one symbol."""
    ev = np.zeros(len(rows), EVENT_DTYPE)
    for i, r in enumerate(rows):
        t, p, q, sd = r[:4]
        kind = r[4] if len(r) > 4 else Kind.LIQUIDATION
        ev[i] = (int(t * S), int(t * S), p, q, 0, sd, kind, 1, 0)
    return ev


def _baseline(t0=1_760_000_000, n=30, price=3000.0):
    return [(t0 + 10 * i, price, 0.1 + 0.01 * (i % 7), Side.LONG) for i in range(n)]


@both
def test_absurd_liquidation_is_never_large_nor_a_cascade(Det):
    base = _baseline()
    t = 1_760_000_000 + 400
    ordinary = [(t, 2990.0, 5.0, Side.LONG), (t + 1, 2985.0, 6.0, Side.LONG)]  # an ordinary cascade
    absurd = [(t + 200, 1e26, 1.0, Side.LONG), (t + 200.001, 1e26, 1.0, Side.LONG),  # two 1 ms apart
              (t + 300, 2980.0, 5.0, Side.LONG), (t + 300.001, 29_800_000.0, 0.0001, Side.LONG)]  # x10,000 the price, small size
    d = Det(min_history=10, history=100, window_ns=5 * S)
    recs, counts = d.run(_liq_events(base + ordinary + absurd), flush=True)
    confirmed = recs[recs["record"] == RecordKind.CONFIRMED]
    assert len(confirmed) == 1  # the ordinary cascade only
    assert counts["skipped_implausible_notional"] == 2 and counts["skipped_implausible_price"] == 1
    assert confirmed["confirm_ns"][0] == int((t + 1) * S)
    # update() applies the same rule (the live path)
    d2 = Det(min_history=10, history=100, window_ns=5 * S)
    n = 0
    for e in _liq_events(base + ordinary + absurd):
        n += d2.update(*(e[f].item() for f in ("ts_event", "ts_recv", "symbol_id", "venue", "kind", "side",
                                               "price", "qty")))
    st = d2.stats
    assert st["cascades"] == 1 and st["skipped_implausible_notional"] == 2 and st["skipped_implausible_price"] == 1


def crash_moves(t0=1_760_115_600, drop=0.60, minutes=5, seed=3):
    """A crash as on 2025-10-10: a steady market, then price falls ``drop`` within ``minutes`` with
    trades every 200 ms and bursts of liquidations (bankruptcy prices up to 8 % past the last trade,
    sizes heavy-tailed, one of $30 M), then a rebound of a third of the fall."""
    rng = np.random.default_rng(seed)
    rows = []
    p = 40.0
    for i in range(600):  # 10 quiet minutes
        t = t0 + i
        p *= np.exp(rng.normal(0, 2e-4))
        rows.append((t, p, rng.lognormal(3, 1), Side.BUY, Kind.TRADE))
        if i % 5 == 0:
            rows.append((t + 0.1, p * (1 - rng.uniform(0, 0.01)), rng.lognormal(5, 1), Side.LONG))
    t1 = t0 + 600
    steps = minutes * 60 * 5
    end_p = p * (1 - drop)
    for k in range(steps):
        t = t1 + k * 0.2
        target = p * (end_p / p) ** ((k + 1) / steps)
        px = target * np.exp(rng.normal(0, 2e-3))
        rows.append((t, px, rng.lognormal(3, 1.2), Side.SELL, Kind.TRADE))
        for j in range(rng.poisson(2)):
            q = rng.pareto(1.2) * 500 + 10  # heavy tail: a few reach millions of dollars
            rows.append((t + 0.01 * (j + 1), px * (1 - rng.uniform(0, 0.08)), q, Side.LONG))
    # one single liquidation of tens of millions of dollars near the bottom
    rows.append((t1 + steps * 0.2 - 1.0, end_p * 0.97, 30_000_000 / (end_p * 0.97), Side.LONG))
    p = end_p
    for k in range(300):  # the rebound
        t = t1 + minutes * 60 + k
        px = p * (1 + 0.5 * (k + 1) / 300) * np.exp(rng.normal(0, 2e-3))
        rows.append((t, px, rng.lognormal(3, 1), Side.BUY, Kind.TRADE))
        if k % 3 == 0:
            rows.append((t + 0.1, px * (1 + rng.uniform(0, 0.03)), rng.lognormal(5.5, 1.2), Side.SHORT))
    return rows


@both
def test_a_real_crash_loses_no_event(Det):
    rows = crash_moves()
    ev = _liq_events(rows)
    lo, hi = ev["price"].min(), ev["price"][:100].max()
    assert lo < 0.45 * hi  # the move is real: more than 55 % down
    recs, counts = Det(min_history=50, history=500).run(ev, flush=True)
    assert counts["skipped"] == 0 and counts["processed"] == len(ev)
    assert (recs["record"] == RecordKind.CONFIRMED).sum() >= 1  # and it is a cascade


def test_a_real_crash_through_the_loader_loses_no_event(tmp_path):
    rows = crash_moves()
    lines = []
    for t, p, q, sd, *k in rows:
        t_ms = int(round(t * 1000))
        if k and k[0] == Kind.TRADE:
            frame = json.dumps({"topic": "publicTrade.SOLUSDT", "type": "snapshot", "ts": t_ms, "data": [
                {"T": t_ms, "s": "SOLUSDT", "S": "Buy" if sd == Side.BUY else "Sell", "v": f"{q:.6f}",
                 "p": f"{p:.6f}", "i": str(len(lines))}]})
        else:
            frame = bybit_liq("SOLUSDT", f"{p:.6f}", f"{q:.6f}", t_ms, "Buy" if sd == Side.LONG else "Sell")
        lines.append(recorder_line(frame, (t_ms + 3) * 10**6))
    f = tmp_path / "crash.jsonl"
    f.write_text("\n".join(lines) + "\n")
    res = load_events(f)
    assert not {k: v for k, v in res.rejects.items() if k.startswith("implausible")}
    assert len(res.events) + res.duplicates == len(rows)


def _engine_frames(t0_ms):
    from liqcore.testing.fake_replay import liquidation_frame, trade_frame

    qs = [0.5, 0.1, 0.3, 0.2, 0.4, 0.15, 0.35, 0.25, 0.45, 0.05]
    frames = [liquidation_frame("ETHUSDT", 3000, q, "Buy", t0_ms + i * 1000) for i, q in enumerate(qs)]
    frames.append(trade_frame("ETHUSDT", 3000.0, 1, "Sell", t0_ms + 20_000))
    return frames


def test_engine_never_trades_on_absurd_liquidations():
    """Two Bybit frames with p="1e26" 1 ms apart: before, a cascade and a real order; now counted and
    dropped, in the engine's rejects and its metrics."""
    from liqcore.live.engine import Engine
    from liqcore.live.metrics import Metrics
    from liqcore.testing.fake_replay import liquidation_frame

    from _live_helpers import PARAMS

    t0 = T0_MS
    eng = Engine(PARAMS, symbols=["ETHUSDT"])
    out = []
    frames = _engine_frames(t0)
    frames.append(liquidation_frame("ETHUSDT", "1e26", 0.2, "Buy", t0 + 21_000))
    frames.append(liquidation_frame("ETHUSDT", "1e26", 0.2, "Buy", t0 + 21_001))
    frames.append(liquidation_frame("ETHUSDT", 30_000_000, 0.2, "Buy", t0 + 21_002))  # x10,000 the price
    for f in frames:
        b = orjson.dumps(f)
        out += eng.on_frame("bybit", b, (orjson.loads(b)["ts"] + 5) * 1_000_000)
    assert out == [] and eng.cascades == 0
    assert eng.rejects.get("implausible_notional") == 2 and eng.rejects.get("implausible_price") == 1
    m = Metrics()
    eng._collect(m)
    text = m.render()
    assert 'reason="implausible_notional"' in text
    # an ordinary cascade right after still trades (one order, no extra one)
    more = [liquidation_frame("ETHUSDT", 3000, 10, "Buy", t0 + 22_000), liquidation_frame("ETHUSDT", 2999, 12, "Buy",
                                                                                            t0 + 22_500)]
    for f in more:
        b = orjson.dumps(f)
        out += eng.on_frame("bybit", b, (orjson.loads(b)["ts"] + 5) * 1_000_000)
    assert len([d for d in out if d.action == "order"]) == 1


# ------------------------------------------------------------------------------- impossible times
@both
def test_detector_run_drops_a_stray_time_and_says_so(Det):
    rng = np.random.default_rng(5)
    rows = []
    t = 1_760_000_000.0
    for c in range(31):  # 31 cascades, 2 minutes apart
        for i in range(20):
            rows.append((t + i, 3000.0, 0.1 + rng.uniform(0, 0.05), Side.LONG))
        rows.append((t + 30, 2990.0, 5.0, Side.LONG))
        rows.append((t + 31, 2985.0, 6.0, Side.LONG))
        t += 120
    ev = _liq_events(rows)
    clean, _ = Det(min_history=10, history=100).run(ev, flush=True)
    n_clean = int((clean["record"] == RecordKind.CONFIRMED).sum())
    assert n_clean == 31
    bad = ev.copy()
    bad["ts_event"][5] = 4_102_444_800 * S  # one event stamped in 2100
    recs, counts = Det(min_history=10, history=100).run(bad, flush=True)
    assert counts["skipped_time"] == 1 and counts["late"] == 0
    assert int((recs["record"] == RecordKind.CONFIRMED).sum()) == 31
    stray = ev.copy()
    stray["ts_event"][300] = ev["ts_event"][300] - 400 * 86_400 * S  # a year and more before its neighbours
    recs, counts = Det(min_history=10, history=100).run(stray, flush=True)
    assert counts["skipped_time"] == 1 and int((recs["record"] == RecordKind.CONFIRMED).sum()) == 31


def test_a_receive_time_in_2100_neither_rescales_nor_makes_a_partition(tmp_path):
    lines = [recorder_line(bybit_liq("BTCUSDT", 60000 + i, 0.1, T0_MS + i * 60_000), (T0_MS + i * 60_000 + 5) * 10**6)
             for i in range(50)]
    lines[20] = recorder_line(bybit_liq("BTCUSDT", 60020, 0.1, T0_MS + 20 * 60_000), 4_102_444_800 * S)
    lines[30] = recorder_line(bybit_liq("BTCUSDT", 60030, 0.1, 4_102_444_700_000), (T0_MS + 30 * 60_000) * 10**6)
    f = tmp_path / "r.jsonl"
    f.write_text("\n".join(lines) + "\n")
    res = load_events(f)
    assert len(res.events) == 48 and res.rejects.get("implausible_time", 0) + res.rejects.get("future_time", 0) == 2
    span = res.events["ts_recv"].max() - res.events["ts_recv"].min()
    assert span < 86_400 * S
    ds = tmp_path / "ds"
    r = cli("convert", f, "--dataset", ds)
    assert r.returncode == 0, r.stderr
    dates = sorted(p.name for p in ds.rglob("date=*"))
    assert dates == ["date=2025-10-09"]


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_run_replay_input_check_drops_impossible_times_and_absurd_prices(tmp_path):
    """`liqcore run --replay`: a line received "in 2100" and two 1e26 liquidations are dropped and counted
    in the session summary; the ordinary cascade still gives its one order."""
    import time

    from liqcore.testing.fake_replay import liquidation_frame, trade_frame

    t0 = int(time.time() * 1000) - 60_000
    frames = [liquidation_frame("ETHUSDT", 3000, q, "Buy", t0 + i * 100)
              for i, q in enumerate([0.5, 0.1, 0.3, 0.2, 0.4, 0.15, 0.35, 0.25, 0.45, 0.05])]
    frames.append(trade_frame("ETHUSDT", 3000.0, 1, "Sell", t0 + 2000))
    frames.append(liquidation_frame("ETHUSDT", "1e26", 0.2, "Buy", t0 + 2050))
    frames.append(liquidation_frame("ETHUSDT", "1e26", 0.2, "Buy", t0 + 2051))
    frames.append(liquidation_frame("ETHUSDT", 3000, 10, "Buy", t0 + 2100))
    frames.append(liquidation_frame("ETHUSDT", 2999, 12, "Buy", t0 + 2200))
    frames.append(trade_frame("ETHUSDT", 2994.0, 1, "Sell", t0 + 2600))
    lines = [json.dumps({"recv_ns": f["ts"] * 1_000_000, "venue": "bybit", "frame": f}) for f in frames]
    lines.insert(5, json.dumps({"recv_ns": 4_102_444_800 * S, "venue": "bybit",
                                "frame": liquidation_frame("ETHUSDT", 3000, 0.2, "Buy", t0 + 450)}))
    rec = tmp_path / "bybit-rec.jsonl"
    rec.write_text("\n".join(lines) + "\n")
    env = child_env()
    env["PYTHONPATH"] = str(ROOT)
    p = subprocess.run([sys.executable, "-m", "liqcore", "run", "--symbols", "ETHUSDT", "--replay", str(rec),
                        "--speed", "5", "--duration", "5", "--no-dashboard", "--json", "--min-history", "5",
                        "--history", "50"], capture_output=True, timeout=110, env=env)
    assert p.returncode == 0, p.stderr.decode()[-3000:]
    s = json.loads(p.stdout)
    assert s["rejects"].get("replay_implausible_time") == 1
    assert s["rejects"].get("implausible_notional") == 2
    assert s["cascades"] == 1 and s["orders"] == 1


def test_real_recordings_lose_nothing_to_the_plausibility_rules(real_data):
    """Every real Binance liquidation and trade passes: the loader drops no implausible row and the
    detector skips none."""
    files = sorted(real_data.glob("*/*.csv"))
    assert files
    res = load_events(files)
    assert len(res.events) > 40_000
    assert not {k: v for k, v in res.rejects.items() if k.startswith("implausible") or k == "bad_symbol"}
    _, counts = KDetector(min_history=20, refresh_ns=600 * S).run(res.events, flush=True)
    assert counts["skipped"] == 0 and counts["processed"] == len(res.events)

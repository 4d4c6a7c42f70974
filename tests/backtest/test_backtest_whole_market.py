"""`liqcore backtest REC --symbols all` on a whole-market Binance recording of 300 symbols (liquidations of all of
them, trades of a few, as `record --symbols all --also ...` writes): every symbol's cascades are detected (those of
`liqcore detect`), the symbols of the instrument list trade on their rules (tick 0.0001, lot 10, minimum notional 5
quote: entry, take-profit and stop-loss on the tick, quantity on the lot), and every cascade on another symbol is
counted by why it is not traded -- no trading rules (``no_instrument``, even with trades to fill on), left out
(``not_traded``), no trade in the data (``no_market_data``) -- and never filled."""
from __future__ import annotations

import json
from decimal import Decimal

import orjson
import pyarrow.parquet as pq
import pytest

from tests.backtest._whole_market import instrument_list, write_recording

NAMES = [f"C{i:03d}USDT" for i in range(300)]
LISTED = NAMES[:290]  # C290 .. C299: no trading rules
WITH_TRADES = NAMES[:5] + ["C295USDT"]  # C295: trades to fill on, but no rules


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    d = tmp_path_factory.mktemp("wholemarket")
    price = write_recording(d / "rec.jsonl", NAMES, WITH_TRADES)
    (d / "universe.json").write_text(json.dumps(instrument_list(LISTED)))
    return d, price


def _detect(path, capsys, *params) -> dict:
    from liqcore.cli import main

    assert main(["detect", str(path), "--json", *params]) == 0
    out: dict = {}
    for line in capsys.readouterr().out.splitlines():
        if line.strip():
            r = orjson.loads(line)
            out[r["symbol"]] = out.get(r["symbol"], 0) + 1
    return out


def _backtest(capsys, *argv) -> tuple[int, dict | None, str]:
    from liqcore.cli import main

    code = main(["backtest", *map(str, argv), "--no-progress", "--json"])
    out = capsys.readouterr()
    return code, (orjson.loads(out.out) if code == 0 else None), out.err


def _on(x: float, step: str) -> bool:
    return Decimal(repr(float(x))) % Decimal(step) == 0


def test_symbols_all_detects_every_symbol_and_trades_only_those_with_rules_on_their_grid(market, tmp_path, capsys):
    d, _price = market
    cascades = _detect(d / "rec.jsonl", capsys)
    assert len(cascades) == 300
    code, res, err = _backtest(capsys, d / "rec.jsonl", "--symbols", "all", "--instruments", d / "universe.json",
                               "--exclude", "C001USDT", "--notional", "1234.5", "--out", tmp_path / "out")
    assert code == 0, err
    s = res["summary"]
    refused = s["refused"]
    # every cascade of detect is decided: sent to the execution model or refused with its reason
    assert s["cascades"] + sum(refused.values()) == sum(cascades.values())
    assert refused["no_instrument"] == sum(cascades[x] for x in NAMES[290:])
    assert refused["not_traded"] == cascades["C001USDT"]
    traded = [x for x in WITH_TRADES if x in LISTED and x != "C001USDT"]
    assert refused["no_market_data"] == sum(n for x, n in cascades.items() if x in LISTED and x not in WITH_TRADES)
    assert s["cascades"] == sum(cascades[x] for x in traded)
    assert s["fills"] > 0 and s["symbols"] == 300
    ledger = pq.read_table(tmp_path / "out" / "ledger.parquet").to_pylist()
    assert ledger and {r["symbol"] for r in ledger} <= set(traded)  # C295 had prints to fill on: no rules, no trade
    for r in ledger:
        assert r["entry"] == "limit"
        for f in ("entry_price", "tp_price", "sl_price"):  # on the tick
            assert _on(r[f], "0.0001"), (f, r[f])
        qty = r["notional"] / r["entry_price"]
        assert abs(qty - 10 * round(qty / 10)) < 1e-6 and round(qty) >= 10  # on the lot, at least the minimum
        assert 5 <= r["notional"] <= 1234.5  # down to the lot: never more than asked


def test_symbols_all_without_rules_would_trade_the_rules_less_symbol(market, capsys):
    """The same data with C295's rules in the list: it trades (the refusal above is the missing rules')."""
    d, _ = market
    (d / "all.json").write_text(json.dumps(instrument_list(NAMES)))
    code, res, err = _backtest(capsys, d / "rec.jsonl", "--symbols", "all", "--instruments", d / "all.json")
    assert code == 0, err
    assert "C295USDT" in {t["symbol"] for t in res["trades"]}
    assert "no_instrument" not in res["summary"]["refused"]


def test_an_entry_below_the_minimum_after_the_lot_is_not_opened(market, capsys):
    """At 300 quote a symbol priced near 100 rounds down to 0 lots of 10: not opened, counted below_minimum."""
    d, price = market
    code, res, err = _backtest(capsys, d / "rec.jsonl", "--symbols", "all", "--instruments", d / "universe.json",
                               "--notional", "300")
    assert code == 0, err
    assert price["C004USDT"] * 10 > 300 > price["C002USDT"] * 10
    assert res["summary"]["below_minimum"] >= 1
    assert "C004USDT" not in {t["symbol"] for t in res["trades"]}
    assert "C002USDT" in {t["symbol"] for t in res["trades"]}


def test_symbols_all_refusals_are_one_line(market, tmp_path, capsys, monkeypatch):
    d, _ = market
    monkeypatch.setenv("LIQCORE_CACHE_DIR", str(tmp_path / "empty-cache"))
    code, _, err = _backtest(capsys, d / "rec.jsonl", "--symbols", "all")
    assert code != 0 and "--instruments FILE" in err and len(err.strip().splitlines()) == 1
    # the venue's own answer holds no turnover: --min-volume cannot be applied
    info = {"symbols": [{"symbol": x, "contractType": "PERPETUAL", "status": "TRADING", "filters": [
        {"filterType": "PRICE_FILTER", "tickSize": "0.0001"},
        {"filterType": "LOT_SIZE", "stepSize": "10", "minQty": "10"}]} for x in LISTED]}
    (tmp_path / "info.json").write_text(json.dumps(info))
    code, _, err = _backtest(capsys, d / "rec.jsonl", "--symbols", "all", "--instruments", tmp_path / "info.json",
                             "--min-volume", "1e6")
    assert code != 0 and "min-volume" in err and "turnover" in err and len(err.strip().splitlines()) == 1
    code, _, err = _backtest(capsys, d / "rec.jsonl", "--symbols", "C000USDT", "--exclude", "C001USDT")
    assert code != 0 and "exclude: only with --symbols all" in err


def test_symbols_all_reads_the_cached_instrument_list_and_min_volume_narrows_it(market, tmp_path, capsys,
                                                                                monkeypatch):
    """Without --instruments: the list `run`/`record --symbols all` cached; --min-volume narrows the traded
    symbols by its 24 h turnover (C000, C010, ...: 0)."""
    d, _ = market
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "universe-binance-usdt.json").write_text(json.dumps(instrument_list(LISTED)))
    monkeypatch.setenv("LIQCORE_CACHE_DIR", str(cache))
    code, res, err = _backtest(capsys, d / "rec.jsonl", "--symbols", "all", "--min-volume", "1")
    assert code == 0, err
    assert "C000USDT" not in {t["symbol"] for t in res["trades"]} and res["summary"]["refused"]["not_traded"] >= 1
    assert {t["symbol"] for t in res["trades"]} <= {"C002USDT", "C003USDT", "C004USDT", "C001USDT"}


@pytest.mark.parametrize("chunk_days", [None, "0.05"])
def test_symbols_all_on_the_dataset_gives_the_recording_s_backtest(market, tmp_path, capsys, chunk_days):
    """The recording converted into a dataset (one partition per symbol): read in time chunks (every symbol's
    rows, a chunk at a time; 0.05 day: several chunks), the same trades, counts and refusals as the recording."""
    from liqcore.cli import main

    d, _ = market
    ds = tmp_path / "ds"
    assert main(["convert", str(d / "rec.jsonl"), "--dataset", str(ds)]) == 0
    capsys.readouterr()
    args = ("--symbols", "all", "--instruments", d / "universe.json", "--exclude", "C001USDT", "--notional", "1234.5")
    code, want, err = _backtest(capsys, d / "rec.jsonl", *args)
    assert code == 0, err
    code, got, err = _backtest(capsys, ds, *args, *(("--chunk-days", chunk_days) if chunk_days else ()))
    assert code == 0, err
    assert got["trades"] == want["trades"] and want["trades"]
    keys = ("cascades", "orders", "fills", "refused", "below_minimum", "no_reference_price", "pnl")
    assert {k: got["summary"][k] for k in keys} == {k: want["summary"][k] for k in keys}


def test_the_summary_table_of_a_whole_market_keeps_the_most_traded_symbols():
    """300 symbols with cascades: ALL, then the 12 with the most trades (then cascades), not 300 columns."""
    from liqcore.backtest.report import MAX_SYMBOL_COLUMNS, summary_rows

    class Result:
        strategy = "cascade-mm"

        def per_symbol(self):
            return {f"binance:{x}": {"trades": i % 17, "cascades": i % 5} for i, x in enumerate(NAMES)}

    header, rows = summary_rows(Result(), {"trades": 1, "cascades": 2})
    assert len(header) == 2 + MAX_SYMBOL_COLUMNS and all(len(r) == len(header) for r in rows)
    per = Result().per_symbol()
    shown = [per[f"binance:{x}"]["trades"] for x in header[2:]]
    assert shown == sorted(shown, reverse=True) and min(shown) == 16


@pytest.mark.parametrize("folder", ["binance-forceorder-2024-08", "binance-forceorder-2025-01",
                                    "binance-forceorder-2025-12"])
def test_symbols_all_on_real_binance_recordings(real_data, folder, tmp_path, capsys):
    """The real all-market recordings (`!forceOrder@arr` and the large trades): every cascade `detect` finds is
    decided (traded or refused by its reason), the symbols listed on their own ticks (each one's print grid) and a
    lot of 0.001 trade on them, and the dataset converted from the recording gives the same backtest."""
    import numpy as np

    from liqcore.cli import main
    from liqcore.execution.events import grid_of_prices
    from liqcore.dataset.load import load_events
    from liqcore.types import Kind

    src = real_data / folder
    loaded = load_events([str(src)])
    ev, reg = loaded.events, loaded.registry
    ticks = {}
    for sid, _v, sym in reg:
        g = grid_of_prices(ev["price"][(ev["symbol_id"] == sid) & (ev["kind"] == int(Kind.TRADE))])
        ticks[sym] = 1 / g if g > 0 else 0.0001
    listed = sorted(ticks)[: max(1, len(ticks) - 2)]  # the last two by name: no rules
    u = instrument_list(listed, lot="0.001", min_notional="5")
    for s in listed:
        u["rules"][s]["tick_size"] = ticks[s]
    (tmp_path / "u.json").write_text(json.dumps(u))
    capsys.readouterr()
    n_detect = sum(_detect(src, capsys, "--min-history", "20").values())
    args = ("--symbols", "all", "--instruments", tmp_path / "u.json", "--min-history", "20")
    code, res, err = _backtest(capsys, src, *args)
    assert code == 0, err
    s = res["summary"]
    assert n_detect > 0 and s["cascades"] + sum(s.get("refused", {}).values()) == n_detect
    for t in res["trades"]:
        assert t["symbol"] in listed
        k = t["entry_price"] / ticks[t["symbol"]]
        assert abs(k - round(k)) < 1e-6, t
    assert main(["convert", str(src), "--dataset", str(tmp_path / "ds")]) == 0
    capsys.readouterr()
    code, got, err = _backtest(capsys, tmp_path / "ds", *args)
    assert code == 0, err
    assert got["trades"] == res["trades"]
    keys = ("cascades", "orders", "fills", "refused", "below_minimum", "pnl")
    assert {k: got["summary"].get(k) for k in keys} == {k: s.get(k) for k in keys}
    assert np.isfinite(s["pnl"])


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_backtest_all_trades_what_run_all_traded_on_the_same_recording(tmp_path, monkeypatch):
    """`liqcore run --venue binance --symbols all --replay REC` (paper, the venue's instrument list from a local REST
    server on 127.0.0.1: tick 0.0001, lot 10), then `liqcore backtest REC --symbols all --rest-url URL` with no --instruments:
    the list the run cached from that URL is the backtest's (and without --rest-url, none is: a list from a test
    server is never taken for the venue's own), and the two trade the same symbols at the same decisions, entry and exit
    prices; the symbol the list does not hold (NEW0USDT, with trades to fill on) is refused by both."""
    import sqlite3
    import subprocess
    import sys

    from tests.market._venues import Server, _binance_app

    rec = tmp_path / "rec.jsonl"
    write_recording(rec, NAMES + ["NEW0USDT"], WITH_TRADES[:5] + ["NEW0USDT"])
    monkeypatch.setenv("LIQCORE_CACHE_DIR", str(tmp_path / "cache"))
    root = str(__import__("pathlib").Path(__file__).resolve().parents[2])
    with Server(_binance_app()) as srv:
        p = subprocess.run([sys.executable, "-m", "liqcore", "run", "--venue", "binance", "--symbols", "all", "--also",
                            ",".join(WITH_TRADES[:5] + ["NEW0USDT"]), "--replay", str(rec), "--rest-url", srv.url,
                            "--no-dashboard", "--duration", "300", "--journal", str(tmp_path / "j.sqlite"), "--json",
                            "--notional", "1234.5"], cwd=root, capture_output=True, text=True, timeout=540)
    assert p.returncode == 0, p.stderr[-2000:]
    live = orjson.loads(p.stdout.strip().splitlines()[-1])
    assert live["decided"]["no_instrument"] == 2 and live["fills"] > 0
    with sqlite3.connect(tmp_path / "j.sqlite") as db:
        live_trades = sorted((t["symbol"], t["signal_ns"], t["entry_price"], t["exit_price"], t["exit_reason"])
                             for t in (orjson.loads(x) for (x,) in db.execute("SELECT data FROM log WHERE type='trade'")))
    p = subprocess.run([sys.executable, "-m", "liqcore", "backtest", str(rec), "--symbols", "all", "--notional", "1234.5",
                        "--rest-url", srv.url, "--json", "--no-progress"], cwd=root, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    bt = orjson.loads(p.stdout)
    assert bt["summary"]["refused"]["no_instrument"] == live["decided"]["no_instrument"]
    q = subprocess.run([sys.executable, "-m", "liqcore", "backtest", str(rec), "--symbols", "all", "--json",
                        "--no-progress"], cwd=root, capture_output=True, text=True, timeout=300)
    assert q.returncode != 0 and "none are known for binance USDT" in q.stderr and len(q.stderr.strip().splitlines()) == 1
    assert live_trades and sorted((t["symbol"], t["signal_ns"], t["entry_price"], t["exit_price"], t["exit_reason"])
                                  for t in bt["trades"]) == live_trades


def test_quote_leaves_out_the_symbols_of_another_settlement_currency(market, capsys):
    """--quote USDC on a USDT market: no symbol settles in it; every cascade is counted not_traded (the unlisted
    ones no_instrument), none traded."""
    d, _ = market
    code, res, err = _backtest(capsys, d / "rec.jsonl", "--symbols", "all", "--instruments", d / "universe.json",
                               "--quote", "USDC")
    assert code == 0, err
    s = res["summary"]
    assert s["cascades"] == 0 and not res["trades"]
    assert set(s["refused"]) == {"not_traded", "no_instrument"} and s["refused"]["not_traded"] > 0

"""`liqcore detect --scope instrument`: cross-venue cascades on the command line."""
from __future__ import annotations

import orjson

from liqcore.cli import main

HEAD = "ts_event_ns,venue,symbol,side,price,qty\n"


def _split_csv(path):
    """BTC on Bybit and OKX (in base units): shrinking liquidations to learn each venue's threshold,
    then one large one on OKX and one on Bybit 150 ms later."""
    t0 = 1_750_000_000_000_000_000
    lines = [HEAD]
    for i in range(20):
        q = 2.0 - 0.05 * i
        lines.append(f"{t0 + i * 5_000_000_000},bybit,BTCUSDT,long,100000,{q:.3f}\n")
        lines.append(f"{t0 + i * 5_000_000_000 + 1000},okx,BTC-USDT-SWAP,long,100000,{q:.3f}\n")
    tc = t0 + 200_000_000_000
    lines.append(f"{tc},okx,BTC-USDT-SWAP,long,100000,50\n")
    lines.append(f"{tc + 150_000_000},bybit,BTCUSDT,long,100000,60\n")
    path.write_text("".join(lines))
    return tc


def _json(out):
    return [orjson.loads(x) for x in out.splitlines() if x.strip()]


def test_split_cascade_one_instrument_cascade_zero_venue_cascades(tmp_path, capsys):
    f = tmp_path / "split.csv"
    tc = _split_csv(f)
    args = ["detect", str(f), "--json", "--min-history", "10", "--refresh", "0"]
    assert main(args) == 0
    assert _json(capsys.readouterr().out) == []
    assert main(args + ["--scope", "instrument"]) == 0
    rows = _json(capsys.readouterr().out)
    assert len(rows) == 1
    r = rows[0]
    assert r["instrument"] == "BTC-USDT" and r["first_venue"] == "okx" and r["start_ns"] == tc
    assert set(r["shares"]) == {"bybit", "okx"}
    assert r["shares"]["bybit"]["first_large_ns"] == tc + 150_000_000
    assert r["shares"]["okx"]["notional"] == 50 * 100000


def test_instrument_scope_on_one_venue_per_symbol_matches_venue_scope(capsys):
    """ETH (Binance only) and SOL (OKX only) are one venue each in the sample: their instrument-scope
    cascades are the venue-scope ones."""
    assert main(["detect", "--sample", "--json"]) == 0
    venue = [r for r in _json(capsys.readouterr().out) if r["symbol"] != "BTCUSDT" and r["symbol"] != "BTC-USDT-SWAP"]
    assert main(["detect", "--sample", "--json", "--scope", "instrument"]) == 0
    inst = [r for r in _json(capsys.readouterr().out) if r["instrument"] != "BTC-USDT"]
    assert len(inst) == len(venue) > 0
    for a, b in zip(venue, inst):
        assert {k: b[k] for k in a} == a


def test_sample_instrument_scope_has_cascades_spanning_venues(capsys):
    """The sample holds BTC on Bybit, Binance and OKX: its injected cascades (02:30, 07:12, 10:24 UTC)
    are each one instrument cascade with liquidations on all three venues."""
    assert main(["detect", "--sample", "--json", "--scope", "instrument"]) == 0
    rows = [r for r in _json(capsys.readouterr().out) if r["instrument"] == "BTC-USDT"]
    spanning = [r for r in rows if sum(s["notional"] > 0 for s in r["shares"].values()) >= 2]
    big = [r for r in spanning if r["n_large"] >= 10]
    assert len(big) == 3
    for r in big:
        assert set(r["shares"]) == {"bybit", "binance", "okx"}
        assert all(s["notional"] > 0 for s in r["shares"].values())


def test_instrument_table_needs_instrument_scope(tmp_path, capsys):
    t = tmp_path / "t.toml"
    t.write_text('[instruments.X]\nbybit = "BTCUSDT"\n')
    assert main(["detect", "--sample", "--instrument-table", str(t)]) != 0
    assert "only with --scope instrument" in capsys.readouterr().err

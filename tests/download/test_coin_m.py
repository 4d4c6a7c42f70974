"""``liqcore download binance-vision --market coin-m`` against a real HTTP server on 127.0.0.1 laid out as
data.binance.vision's COIN-M archive (``/data/futures/cm/daily/...``, each zip with its ``.CHECKSUM``): a day outside
a type's published span is refused before any request, a corrupted zip is named and left out, a missing day is
listed, and the dataset holds each liquidation once, on the liquidated position's side, with its USD notional equal
to contracts x contract size."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from liqcore.cli import main
from liqcore.dataset import load_dataset, read_manifest
from liqcore.types import Kind, Side
from tests.download._archive_server import ArchiveServer
from tests.download._coinm_archive import CONTRACT, coin_m_archive

DAYS = ("2024-01-01", "2024-01-02")
PATH = "/data/futures/cm/daily/{t}/{s}/{s}-{t}-{d}.zip"


def _args(url: str, ds: Path, syms=("BTCUSD_PERP",), types="liquidationSnapshot,aggTrades,bookTicker",
          days=DAYS, *more: str) -> list[str]:
    return ["download", "binance-vision", "--market", "coin-m", "--symbols", ",".join(syms), "--types", types,
            "--from", days[0], "--to", days[-1], "--dataset", str(ds), "--base-url", url, "--backoff", "50ms",
            "--no-progress", *more]


@pytest.mark.parametrize("days, bound", [
    (("2024-10-15", "2024-10-20"), "the last published day is 2024-10-14"),
    (("2023-06-01", "2023-06-24"), "the first published day is 2023-06-25"),
])
def test_a_day_outside_the_liquidation_span_is_refused_before_any_request(tmp_path, capsys, days, bound):
    files, _ = coin_m_archive(["BTCUSD_PERP"], DAYS, types=("liquidationSnapshot",), n_trades=100)
    with ArchiveServer(files) as srv:
        assert main(_args(srv.url, tmp_path / "ds", types="liquidationSnapshot", days=days)) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert srv.log == []  # nothing asked of the server
    assert len(err) == 1 and bound in err[0] and "published span 2023-06-25..2024-10-14" in err[0], err
    assert "binance-vision coin-m liquidationSnapshot" in err[0]
    assert not (tmp_path / "ds").exists()


def test_book_ticker_after_its_last_day_is_refused_and_a_usd_m_symbol_under_coin_m_too(tmp_path, capsys):
    with ArchiveServer({}) as srv:
        assert main(_args(srv.url, tmp_path / "ds", types="bookTicker", days=("2024-11-01", "2024-11-02"))) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "the last published day is 2024-10-14" in err[0]
        assert main(_args(srv.url, tmp_path / "ds", syms=("BTCUSDT",))) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "BTCUSDT: not COIN-M" in err[0]
        args = _args(srv.url, tmp_path / "ds")
        args.remove("--market"), args.remove("coin-m")
        assert main(args) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "add --market coin-m" in err[0]
        assert srv.log == []


def test_a_corrupted_zip_is_named_and_left_out_and_a_missing_day_listed(tmp_path, capsys):
    files, held = coin_m_archive(["BTCUSD_PERP"], DAYS, n_trades=2000)
    bad = PATH.format(t="liquidationSnapshot", s="BTCUSD_PERP", d=DAYS[1])
    body = bytearray(files[bad])
    body[len(body) // 2] ^= 0xFF  # one byte flipped; the .CHECKSUM is the good file's
    files[bad] = bytes(body)
    gone = PATH.format(t="bookTicker", s="BTCUSD_PERP", d=DAYS[0])
    del files[gone], files[gone + ".CHECKSUM"]
    ds = tmp_path / "ds"
    with ArchiveServer(files) as srv:
        assert main(_args(srv.url, ds)) == 1
        err = capsys.readouterr().err
        assert srv.requests("/data/futures/um/") == []  # the COIN-M folder only
    assert ("refused BTCUSD_PERP liquidationSnapshot 2024-01-02: checksum mismatch: "
            "BTCUSD_PERP-liquidationSnapshot-2024-01-02.zip") in err
    assert "missing at the source (HTTP 404), 1 file(s): BTCUSD_PERP bookTicker 2024-01-01" in err
    assert srv.url + bad not in read_manifest(ds) and len(read_manifest(ds)) == 4
    liq = load_dataset(ds).events
    liq = liq[liq["kind"] == int(Kind.LIQUIDATION)]
    want = held[("BTCUSD_PERP", DAYS[0])].liq  # the first day only: the second's file was left out
    assert len(liq) == len(want)


@pytest.mark.parametrize("sym", ["BTCUSD_PERP", "ETHUSD_PERP"])
def test_each_liquidation_once_on_its_side_with_usd_notional_contracts_x_contract_size(tmp_path, capsys, sym):
    files, held = coin_m_archive([sym], DAYS[:1], types=("liquidationSnapshot", "aggTrades", "trades"),
                                 n_trades=3000)
    ds = tmp_path / "ds"
    with ArchiveServer(files) as srv:
        assert main(_args(srv.url, ds, syms=(sym,), types="liquidationSnapshot,trades", days=DAYS[:1])) == 0
        err = capsys.readouterr().err
    d = held[(sym, DAYS[0])]
    ev = load_dataset(ds).events
    liq = ev[ev["kind"] == int(Kind.LIQUIDATION)]
    assert len(liq) == len(d.liq)  # every row was written twice; the pair in one millisecond stays two
    assert f"duplicate={len(d.liq):,}" in err
    want = sorted((ms * 1_000_000, int(Side.LONG if s == "SELL" else Side.SHORT), ap, q * CONTRACT[sym])
                  for ms, s, ap, q in d.liq)
    got = sorted(zip(liq["ts_event"].tolist(), liq["side"].tolist(), liq["price"].tolist(),
                     (liq["price"] * liq["qty"]).tolist()))
    assert [g[:3] for g in got] == [w[:3] for w in want]
    np.testing.assert_allclose([g[3] for g in got], [w[3] for w in want], rtol=1e-12)  # USD = contracts x size
    tr = ev[ev["kind"] == int(Kind.TRADE)]
    assert len(tr) == len(d.trades)  # as the file holds them
    np.testing.assert_allclose(np.sort(tr["price"] * tr["qty"]),
                               np.sort([q * CONTRACT[sym] for _ms, _p, q, _m in d.trades]), rtol=1e-12)


def test_a_mirror_goes_download_dataset_events_backtest_with_the_inverse_pnl(tmp_path, capsys):
    """The whole way on a local mirror: each liquidation once, on its side, its USD notional contracts x contract
    size (``events --json``); aggTrades counted as the files hold them; the cascades found; every trade's P&L in
    BTC the inverse formula (fees each on its own fill's coin value) and its USD P&L that BTC at the exit."""
    import json

    days = ("2024-03-01", "2024-03-02")
    files, held = coin_m_archive(["BTCUSD_PERP"], days, types=("liquidationSnapshot", "aggTrades", "bookTicker"),
                                 n_trades=12_000)
    ds = tmp_path / "ds"
    with ArchiveServer(files) as srv:
        assert main(_args(srv.url, ds, days=days)) == 0
    capsys.readouterr()
    want = sorted((ms * 1_000_000, "long" if s == "SELL" else "short", ap * (q * 100.0 / ap), q)
                  for day in days for ms, s, ap, q in held[("BTCUSD_PERP", day)].liq)
    assert main(["events", str(ds), "--json", "--kind", "liquidation"]) == 0
    got = sorted((r["ts_event_ns"], r["side"], r["notional"], 0) for r in map(json.loads,
                 capsys.readouterr().out.splitlines()))
    assert [g[:2] for g in got] == [w[:2] for w in want]  # each once, on the liquidated position's side
    np.testing.assert_allclose([g[2] for g in got], [w[3] * 100.0 for w in want], rtol=1e-12)  # contracts x 100 USD
    ev = load_dataset(ds).events
    assert int((ev["kind"] == int(Kind.TRADE)).sum()) == sum(len(held[("BTCUSD_PERP", d)].agg) for d in days)
    maker, taker = 2e-4, 5e-4
    assert main(["backtest", str(ds), "--json", "--maker-fee-bps", "2", "--taker-fee-bps", "5", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["summary"]["cascades"] >= 4 and out["trades"], out["summary"]  # three crashes a day, one warm-up
    coin = 0.0
    for t in out["trades"]:
        assert t["coin"] == "BTC" and t["contracts"] == round(t["contracts"]) >= 1
        n, e, x = t["contracts"] * 100.0, t["entry_price"], t["exit_price"]
        d = 1 if t["side"] == "long" else -1
        fee_in = maker if t["limit_price"] is not None else taker
        fee_out = maker if t["exit_reason"] == "take_profit" else taker
        assert t["pnl_coin"] == pytest.approx(d * n * (1 / e - 1 / x) - fee_in * n / e - fee_out * n / x, rel=1e-12)
        assert t["pnl_usd"] == pytest.approx(t["pnl_coin"] * x, rel=1e-12)
        coin += t["pnl_coin"]
    assert out["summary"]["pnl_coin"]["BTC"]["pnl"] == pytest.approx(coin, rel=1e-12)
    btc = out["trades"][0]["equity_coin"] - out["trades"][0]["pnl_coin"]  # the BTC account: each exit adds its P&L
    assert out["summary"]["pnl_coin"]["BTC"]["equity_start"] == pytest.approx(btc, rel=1e-12)
    for t in out["trades"]:
        btc += t["pnl_coin"]
        assert t["equity_coin"] == pytest.approx(btc, rel=1e-12) and t["units"]["equity_coin"] == "BTC"
    assert out["summary"]["pnl_coin"]["BTC"]["equity_end"] == pytest.approx(btc, rel=1e-12)


def test_research_on_a_coin_m_dataset_says_what_it_measured(tmp_path, capsys):
    """``liqcore research`` on the archive's COIN-M files: the cascades found, the liquidations counted once, and
    the two things the archive means for the answer said with it: one liquidation per symbol per second at most
    (counts and notionals lower bounds) and notionals in USD from contracts."""
    import json

    from liqcore.dataset import convert_to_dataset

    days = ("2024-03-01", "2024-03-02")
    files, held = coin_m_archive(["BTCUSD_PERP"], days, types=("liquidationSnapshot", "aggTrades"), n_trades=8000)
    src = tmp_path / "files"
    src.mkdir()
    for path, body in files.items():
        if path.endswith(".zip"):
            (src / path.rsplit("/", 1)[1]).write_bytes(body)
    convert_to_dataset([src], tmp_path / "ds")
    assert main(["research", str(tmp_path / "ds"), "--studies", "event,distributions", "--json", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    n_liq = sum(len(held[("BTCUSD_PERP", d)].liq) for d in days)
    assert any("at most one liquidation per symbol per second" in n and f"{n_liq:,} liquidations" in n
               for n in out["notes"]), out["notes"]
    assert any("BTCUSD_PERP (100 USD a contract)" in n and "USD (contracts x contract size)" in n for n in out["notes"])
    assert out["studies"]["event"]["available"] and "confirmed cascades" in out["studies"]["event"]["findings"][0]
    assert f"over {n_liq:,} liquidations" in out["studies"]["distributions"]["findings"][0]


def test_coin_m_funding_comes_from_the_monthly_files_and_is_read_as_a_rate(tmp_path, capsys):
    """COIN-M ``fundingRate`` exists as monthly files only (``data/futures/cm/monthly/fundingRate/<SYM>/``); a rate
    has no contract unit, so it is read as it is."""
    from tests.download._archive_server import day_ms, zipped
    import hashlib

    name = "BTCUSD_PERP-fundingRate-2024-01.zip"
    body = zipped(name, "calc_time,funding_interval_hours,last_funding_rate\n"
                  f"{day_ms('2024-01-01')},8,0.00010000\n{day_ms('2024-01-01') + 8 * 3600_000},8,-0.00002500\n")
    path = f"/data/futures/cm/monthly/fundingRate/BTCUSD_PERP/{name}"
    files = {path: body, path + ".CHECKSUM": f"{hashlib.sha256(body).hexdigest()}  {name}\n".encode()}
    ds = tmp_path / "ds"
    with ArchiveServer(files) as srv:
        assert main(_args(srv.url, ds, types="fundingRate", days=("2024-01-01", "2024-01-31"))) == 0
        assert [r[0] for r in srv.requests(".zip")] == [path]
    ev = load_dataset(ds).events
    assert ev["kind"].tolist() == [int(Kind.FUNDING)] * 2 and ev["price"].tolist() == [0.0001, -0.000025]

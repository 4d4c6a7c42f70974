"""Each source's layout as it publishes it (paths, names, checksum files, periods), Retry-After in
both its forms, and the Bybit and OKX trade archives downloaded into a dataset from a local server."""
from __future__ import annotations

import datetime as dt
import email.utils
import gzip
import time

import numpy as np
import pytest

from liqcore.cli import main
from liqcore.dataset import load_dataset
from liqcore.download.fetch import retry_after_s
from liqcore.download.sources import plan
from liqcore.types import Kind, Venue
from tests.download._archive_server import ArchiveServer, day_ms, okx_trades_csv, zipped

D1, D2 = dt.date(2024, 1, 31), dt.date(2024, 2, 1)


def test_binance_vision_daily_monthly_and_checksum_paths():
    units = plan("binance-vision", ["btcusdt"], ["aggTrades", "fundingRate", "metrics"], D1, D2, base_url="http://m/")
    got = [(u.url, u.checksum_url == u.url + ".CHECKSUM", u.name) for u in units]
    assert got == [
        ("http://m/data/futures/um/monthly/fundingRate/BTCUSDT/BTCUSDT-fundingRate-2024-01.zip", True,
         "BTCUSDT-fundingRate-2024-01.zip"),
        ("http://m/data/futures/um/daily/aggTrades/BTCUSDT/BTCUSDT-aggTrades-2024-01-31.zip", True,
         "BTCUSDT-aggTrades-2024-01-31.zip"),
        ("http://m/data/futures/um/daily/metrics/BTCUSDT/BTCUSDT-metrics-2024-01-31.zip", True,
         "BTCUSDT-metrics-2024-01-31.zip"),
        ("http://m/data/futures/um/monthly/fundingRate/BTCUSDT/BTCUSDT-fundingRate-2024-02.zip", True,
         "BTCUSDT-fundingRate-2024-02.zip"),
        ("http://m/data/futures/um/daily/aggTrades/BTCUSDT/BTCUSDT-aggTrades-2024-02-01.zip", True,
         "BTCUSDT-aggTrades-2024-02-01.zip"),
        ("http://m/data/futures/um/daily/metrics/BTCUSDT/BTCUSDT-metrics-2024-02-01.zip", True,
         "BTCUSDT-metrics-2024-02-01.zip"),
    ]
    monthly = plan("binance-vision", ["BTCUSDT"], ["aggtrades", "METRICS"], D1, D2, monthly=True)  # any case
    assert [u.url.rsplit("/", 1)[1] for u in monthly] == [
        "BTCUSDT-aggTrades-2024-01.zip", "BTCUSDT-metrics-2024-01-31.zip",  # a month before its days
        "BTCUSDT-aggTrades-2024-02.zip", "BTCUSDT-metrics-2024-02-01.zip"]
    assert monthly[0].url.startswith("https://data.binance.vision/data/futures/um/monthly/aggTrades/BTCUSDT/")


def test_bybit_okx_and_tardis_paths():
    (b,) = plan("bybit-archive", ["BTCUSDT"], ["trades"], D1, D1)
    assert (b.url, b.name, b.checksum_url) == (
        "https://public.bybit.com/trading/BTCUSDT/BTCUSDT2024-01-31.csv.gz", "BTCUSDT2024-01-31.csv.gz", None)
    o, o2 = plan("okx-archive", ["btc-usdt-swap"], ["trades"], D1, D1, today=dt.date(2024, 3, 1))
    assert (o.url, o.name) == (
        "https://static.okx.com/cdn/okex/traderecords/trades/daily/20240131/BTC-USDT-SWAP-trades-2024-01-31.zip",
        "BTC-USDT-SWAP-trades-2024-01-31.zip")
    assert o2.name == "BTC-USDT-SWAP-trades-2024-02-01.zip"  # (a UTC day's last 8 hours: OKX's next day, UTC+8)
    (t,) = plan("tardis", ["btc/usd"], ["derivative_ticker"], D1, D1, exchange="bitmex")
    assert (t.url, t.name) == ("https://datasets.tardis.dev/v1/bitmex/derivative_ticker/2024/01/31/BTC-USD.csv.gz",
                               "bitmex_derivative_ticker_2024-01-31_BTC-USD.csv.gz")
    (x,) = plan("tardis", ["BTCUSDT"], ["incremental_book_L2"], D1, D1, exchange="binance-futures")  # any type
    assert x.url.endswith("/v1/binance-futures/incremental_book_L2/2024/01/31/BTCUSDT.csv.gz")
    with pytest.raises(ValueError, match="exchange: tardis needs --exchange"):
        plan("tardis", ["BTCUSDT"], ["trades"], D1, D1)
    with pytest.raises(ValueError, match="symbols: '../X' is not a symbol"):
        plan("bybit-archive", ["../x"], ["trades"], D1, D1)


def test_retry_after_in_seconds_or_as_an_http_date():
    assert retry_after_s("7") == 7.0 and retry_after_s(" 0.5 ") == 0.5
    now = time.time()
    assert retry_after_s(email.utils.formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30, abs=1)
    assert retry_after_s(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0
    assert retry_after_s(None) is None and retry_after_s("soon") is None


def test_bybit_and_okx_trade_archives_into_a_dataset(tmp_path, capsys):
    day = "2024-01-31"
    t0 = day_ms(day)
    bybit = "timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,homeNotional,foreignNotional\n" + \
        "\n".join(f"{(t0 + 5000 * (30 - i)) / 1000:.4f},BTCUSDT,{'Buy' if i % 2 else 'Sell'},0.00{i % 5 + 1},"
                  f"{42000 + i * 0.5:.1f},PlusTick,id{i},1,1,1" for i in range(30)) + "\n"
    files = {f"/trading/BTCUSDT/BTCUSDT{day}.csv.gz": gzip.compress(bybit.encode(), mtime=0)}
    for d in (day, "2024-02-01"):  # (OKX's days are UTC+8: the 31st's last 8 hours are in the file of Feb 1st)
        okx_name = f"BTC-USDT-SWAP-trades-{d}.zip"
        files[f"/cdn/okex/traderecords/trades/daily/{d.replace('-', '')}/{okx_name}"] = zipped(okx_name,
                                                                                              okx_trades_csv(d, 30))
    ds = tmp_path / "ds"
    with ArchiveServer(files) as srv:
        for source, sym in (("bybit-archive", "BTCUSDT"), ("okx-archive", "BTC-USDT-SWAP")):
            assert main(["download", source, "--symbols", sym, "--from", day, "--to", day, "--dataset", str(ds),
                         "--base-url", srv.url, "--no-progress"]) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert "trades: 1 file(s), 1 day(s)" in err and "30 rows added" in err and "trades: 2 file(s)" in err
    res = load_dataset(ds)
    ev = res.events
    assert np.all(ev["kind"] == int(Kind.TRADE))
    venues = {int(v): int(n) for v, n in zip(*np.unique(ev["venue"], return_counts=True))}
    assert venues == {int(Venue.BYBIT): 30, int(Venue.OKX): 30}  # (OKX's: the UTC day of two files, cut)
    assert np.all(np.diff(ev["ts_event"][ev["venue"] == int(Venue.BYBIT)]) > 0)  # the archive's newest-first put in order


def test_the_progress_bar_counts_files_and_bytes_on_a_terminal_only(monkeypatch):
    import io
    import sys

    from liqcore.download.run import _Bar

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    for stream, shown in ((Terminal(), True), (io.StringIO(), False)):
        monkeypatch.setattr(sys, "stderr", stream)
        with _Bar(3, enabled=True) as bar:
            bar.bytes(1_500_000)
            bar.bytes(1_000_000)
            bar.file_done()
            bar.file_done()
            if shown:
                bar._p.refresh()
        text = stream.getvalue()
        assert ("files (days)" in text and "2/3 files" in text and "2.5 MB" in text) is shown, text
        assert (bar.done, bar.nbytes) == (2, 2_500_000)


def test_a_file_that_is_not_what_the_source_publishes_is_named_and_the_rest_arrive(tmp_path, capsys):
    day1, day2 = "2024-01-30", "2024-01-31"
    t0 = day_ms(day2)
    good = "timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,homeNotional,foreignNotional\n" + \
        "\n".join(f"{(t0 + 5000 * i) / 1000:.4f},BTCUSDT,Buy,0.001,{42000 + i:.1f},PlusTick,id{i},1,1,1"
                  for i in range(10)) + "\n"
    files = {f"/trading/BTCUSDT/BTCUSDT{day1}.csv.gz": b"<html><body>maintenance</body></html>",  # a 200 page
             f"/trading/BTCUSDT/BTCUSDT{day2}.csv.gz": gzip.compress(good.encode(), mtime=0)}
    ds = tmp_path / "ds"
    with ArchiveServer(files) as srv:
        assert main(["download", "bybit-archive", "--symbols", "BTCUSDT", "--from", day1, "--to", day2,
                     "--dataset", str(ds), "--base-url", srv.url, "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert f"failed BTCUSDT trades {day1}: cannot be read: " in err, err
    assert "trades: 1 file(s), 1 day(s)" in err and "10 rows added" in err
    assert len(load_dataset(ds).events) == 10
    assert not list(ds.glob(".liqcore-download-*"))


def test_a_dataset_another_writer_holds_stops_the_run_naming_it(tmp_path, capsys):
    from liqcore.dataset import dataset_lock

    day = "2024-01-31"
    files = {f"/trading/BTCUSDT/BTCUSDT{day}.csv.gz": gzip.compress(b"timestamp,symbol,side,size,price\n", mtime=0)}
    ds = tmp_path / "ds"
    with ArchiveServer(files) as srv, dataset_lock(ds):
        assert main(["download", "bybit-archive", "--symbols", "BTCUSDT", "--from", day, "--to", day,
                     "--dataset", str(ds), "--base-url", srv.url, "--lock-wait", "0", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("liqcore download: error: ") and str(ds) in err[0], err

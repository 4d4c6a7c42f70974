"""How each source says "missing", "refused" and "changed", against a real HTTP server on 127.0.0.1 laid out
as the source is (tests/download/_archive_server.py):

* an object store that does not let anonymous readers list it answers 403 for a file it does not have
  (Amazon S3 GetObject: "If you don't have the s3:ListBucket permission, Amazon S3 returns an HTTP status code
  403 Access Denied error"); OKX's trade archive is one: such a day is listed as missing and the run goes on,
  where a source whose 403 refuses the request (tardis.dev's key) stops in one line;
* tardis.dev: "Historical datasets for the first day of each month are available to download without API key"
  (docs.tardis.dev, downloadable CSV files): first-of-month days need no key, and no Authorization is sent;
* a file the source republishes (a new .CHECKSUM, ETag or size) is fetched again by a rerun, into a dataset
  (its rows replace nothing they repeat) or into --out (the kept file is compared with the source's version)."""
from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from liqcore.cli import main
from liqcore.dataset import load_dataset, read_manifest
from tests.download._archive_server import ArchiveServer, binance_vision, day_ms, okx_trades_csv, tardis, zipped

ROOT = Path(__file__).resolve().parents[2]


def _okx(day: str, n: int) -> tuple[str, bytes]:
    name = f"BTC-USDT-SWAP-trades-{day}.zip"
    return f"/cdn/okex/traderecords/trades/daily/{day.replace('-', '')}/{name}", zipped(name, okx_trades_csv(day, n))


def test_an_object_store_403_is_a_missing_day_and_the_run_goes_on(tmp_path, capsys):
    path, body = _okx("2024-01-30", 24)  # the 31st and Feb 1st are not there: the store answers 403
    with ArchiveServer({path: body}, missing_status=403) as srv:
        rc = main(["download", "okx-archive", "--symbols", "BTC-USDT-SWAP", "--from", "2024-01-30", "--to",
                   "2024-01-31", "--dataset", str(tmp_path / "ds"), "--base-url", srv.url, "--no-progress"])
        err = capsys.readouterr().err
        assert sorted(r[2] for r in srv.log) == [200, 403, 403]  # (fetched at once: any order)
    assert rc == 0, err
    assert ("missing at the source (HTTP 403 or HTTP 404), 2 file(s): BTC-USDT-SWAP trades 2024-01-31, "
            "BTC-USDT-SWAP trades 2024-02-01") in err
    assert len(load_dataset(tmp_path / "ds").events) == 16  # (the 30th's file from 16:00 UTC on the 30th: 16 hours)


def test_okx_days_are_cut_to_the_utc_days_asked_for(tmp_path, capsys):
    """OKX's file of a day is the day in UTC+8 (16:00 UTC the day before to 15:59:59 UTC): the UTC days asked for
    take the next day's file too, each cut to those days (the rest counted outside_days); a rerun fetches nothing,
    and a longer span fetches again only the file it now wants whole, adding no row twice."""
    files = dict(_okx(d, 24) for d in ("2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02"))
    ds = tmp_path / "ds"
    lo, hi = day_ms("2024-01-31") * 1_000_000, day_ms("2024-02-01") * 1_000_000
    with ArchiveServer(files, missing_status=403) as srv:
        args = ["download", "okx-archive", "--symbols", "BTC-USDT-SWAP", "--dataset", str(ds), "--base-url", srv.url,
                "--no-progress"]
        assert main(args + ["--from", "2024-01-31", "--to", "2024-01-31"]) == 0, capsys.readouterr().err
        assert sorted(p.rsplit("/", 1)[1] for p, *_r in srv.log) == [
            "BTC-USDT-SWAP-trades-2024-01-31.zip", "BTC-USDT-SWAP-trades-2024-02-01.zip"]
        err = capsys.readouterr().err
        assert "outside_days" in err
        ev = load_dataset(ds).events
        assert len(ev) == 24 and ev["ts_event"].min() == lo and ev["ts_event"].max() < hi  # the whole UTC day
        assert main(args + ["--from", "2024-01-31", "--to", "2024-01-31"]) == 0
        err = capsys.readouterr().err
        assert "0 file(s) fetched" in err and ("skipped 2 file(s) already in the dataset: BTC-USDT-SWAP trades "
                                               "2024-01-31, BTC-USDT-SWAP trades 2024-02-01") in err
        assert main(args + ["--from", "2024-01-31", "--to", "2024-02-01"]) == 0
        err = capsys.readouterr().err  # (Feb 1st's file now wanted whole, Feb 2nd's for the 1st's last 8 hours)
        assert "2 file(s) fetched" in err and "skipped 1 file(s) already in the dataset: BTC-USDT-SWAP trades " \
            "2024-01-31" in err
    ev = load_dataset(ds).events
    assert len(ev) == 48 and ev["ts_event"].min() == lo and ev["ts_event"].max() < hi + 86_400 * 10**9
    assert len(np.unique(ev["ts_event"])) == 48


def test_a_source_whose_403_refuses_the_request_stops_in_one_line(tmp_path, capsys):
    files = binance_vision(["BTCUSDT"], ["2024-01-01"], types=("aggTrades",))
    with ArchiveServer(files, missing_status=403) as srv:  # a whole-host refusal (a blocked network)
        rc = main(["download", "binance-vision", "--symbols", "BTCUSDT", "--types", "aggTrades", "--from",
                   "2024-01-02", "--to", "2024-01-02", "--out", str(tmp_path / "o"), "--base-url", srv.url,
                   "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and len(err) == 1 and "binance-vision: the source refused the request (HTTP 403)" in err[0]


def _tardis_run(url: str, out: Path, frm: str, to: str, key: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TARDIS_API_KEY"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    if key:
        env["TARDIS_API_KEY"] = key
    return subprocess.run([sys.executable, "-m", "liqcore", "download", "tardis", "--exchange", "binance-futures",
                           "--symbols", "BTCUSDT", "--types", "trades", "--from", frm, "--to", to, "--dataset",
                           str(out), "--base-url", url, "--no-progress"], env=env, capture_output=True, text=True,
                          timeout=300)


def test_tardis_first_of_month_days_need_no_key(tmp_path):
    files = tardis("binance-futures", "BTCUSDT", ("2024-03-01", "2024-03-02"), types=("trades",))
    with ArchiveServer(files, key="TD.the-real-key-0123456789", free_first_of_month=True) as srv:
        r = _tardis_run(srv.url, tmp_path / "ds", "2024-03-01", "2024-03-01")
        assert r.returncode == 0, r.stderr
        assert [(s, a) for _p, _t, s, a in srv.log] == [(200, "")]  # no Authorization sent
        assert "trades: 1 file(s), 1 day(s)" in r.stderr
        n = len(srv.log)
        r = _tardis_run(srv.url, tmp_path / "ds2", "2024-03-01", "2024-03-02")  # the 2nd needs the key
        assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1
        assert "first day of each month only: 1 requested day(s) are not" in r.stderr
        assert len(srv.log) == n and not (tmp_path / "ds2").exists()  # refused before any transfer


def test_a_republished_file_is_fetched_again_into_the_dataset(tmp_path, capsys):
    days = ["2024-01-01", "2024-01-02"]
    files = binance_vision(["BTCUSDT"], days, types=("aggTrades",))
    ds = tmp_path / "ds"
    args = ["download", "binance-vision", "--symbols", "BTCUSDT", "--types", "aggTrades", "--from", days[0], "--to",
            days[1], "--dataset", str(ds), "--no-progress"]
    with ArchiveServer(files) as srv:
        assert main([*args, "--base-url", srv.url]) == 0
        capsys.readouterr()
        before = len(load_dataset(ds).events)
        assert all(str(v.get("source_version", "")).startswith("sha256:") for v in read_manifest(ds).values())
        # the source republishes the 2nd day with more trades (a new .CHECKSUM)
        new = binance_vision(["BTCUSDT"], [days[1]], types=("aggTrades",))
        import zipfile
        import io

        p2 = next(p for p in new if p.endswith(".zip"))
        name = p2.rsplit("/", 1)[1]
        text = zipfile.ZipFile(io.BytesIO(new[p2])).read(name[:-4] + ".csv").decode()
        extra = text.rstrip("\n").splitlines()[-1].split(",")
        extra[0], extra[5] = "99999", str(int(extra[5]) + 1000)
        body = zipped(name, text + ",".join(extra) + "\n")
        import hashlib

        srv.files[p2] = body
        srv.files[p2 + ".CHECKSUM"] = f"{hashlib.sha256(body).hexdigest()}  {name}\n".encode()
        n = len(srv.log)
        assert main([*args, "--base-url", srv.url]) == 0
        err = capsys.readouterr().err
        fetched = [r[0] for r in srv.log[n:] if not r[0].endswith(".CHECKSUM")]
        assert fetched == [p2]  # only the republished file
    assert "fetched again 1 file(s) the source republished" in err and "BTCUSDT aggTrades 2024-01-02" in err
    assert "skipped 1 file(s) already in the dataset: BTCUSDT aggTrades 2024-01-01" in err
    assert len(load_dataset(ds).events) == before + 1  # the new trade; the repeated ones are not doubled


def test_a_republished_file_replaces_the_kept_one_in_out_by_its_etag(tmp_path, capsys):
    day = "2024-01-31"
    t0 = day_ms(day)

    def bybit(n: int) -> bytes:
        text = "timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,homeNotional,foreignNotional\n" + \
            "\n".join(f"{(t0 + 5000 * (n - i)) / 1000:.4f},BTCUSDT,Buy,0.001,{42000 + i * 0.5:.1f},PlusTick,id{i},"
                      "1,1,1" for i in range(n)) + "\n"
        return gzip.compress(text.encode(), mtime=0)

    path = f"/trading/BTCUSDT/BTCUSDT{day}.csv.gz"
    out = tmp_path / "o"
    args = ["download", "bybit-archive", "--symbols", "BTCUSDT", "--from", day, "--to", day, "--out", str(out),
            "--no-progress"]
    with ArchiveServer({path: bybit(30)}, etag=True) as srv:
        assert main([*args, "--base-url", srv.url]) == 0
        assert main([*args, "--base-url", srv.url]) == 0  # unchanged: kept
        err = capsys.readouterr().err
        assert "skipped 1 file(s) already in --out" in err and [r[2] for r in srv.log] == [200, 200]
        assert (out / f"BTCUSDT{day}.csv.gz").read_bytes() == bybit(30)
        srv.files[path] = bybit(31)  # republished: a new ETag (the MD5 of its bytes)
        assert main([*args, "--base-url", srv.url]) == 0
        err = capsys.readouterr().err
    assert "fetched again 1 file(s)" in err
    assert (out / f"BTCUSDT{day}.csv.gz").read_bytes() == bybit(31)
    assert np.array_equal(sorted(os.listdir(out)), [f"BTCUSDT{day}.csv.gz"])


def test_a_month_file_is_cut_to_the_days_asked_for(tmp_path, capsys):
    """``--monthly --from 2024-01-10 --to 2024-01-12``: data.binance.vision's 2024-01 file holds the whole month;
    the dataset takes the three days asked for (the rest counted as ``outside_days``), and a rerun of the same
    request fetches nothing (the manifest keeps the days the file was cut to)."""
    import hashlib

    from tests.download._archive_server import AGG_HEADER, agg_csv

    days = [f"2024-01-{d:02d}" for d in range(1, 32)]
    text = AGG_HEADER + "\n" + "".join(agg_csv("BTCUSDT", d, n=10).split("\n", 1)[1] for d in days)
    name = "BTCUSDT-aggTrades-2024-01.zip"
    body = zipped(name, text)
    path = f"/data/futures/um/monthly/aggTrades/BTCUSDT/{name}"
    files = {path: body, path + ".CHECKSUM": f"{hashlib.sha256(body).hexdigest()}  {name}\n".encode()}
    ds = tmp_path / "ds"
    args = ["download", "binance-vision", "--symbols", "BTCUSDT", "--types", "aggTrades", "--monthly", "--from",
            "2024-01-10", "--to", "2024-01-12", "--dataset", str(ds), "--no-progress"]
    with ArchiveServer(files) as srv:
        assert main([*args, "--base-url", srv.url]) == 0
        err = capsys.readouterr().err
        ev = load_dataset(ds).events
        assert len(ev) == 30  # 3 days x 10 trades, of the month's 310
        lo, hi = day_ms("2024-01-10") * 10**6, day_ms("2024-01-13") * 10**6
        assert ev["ts_event"].min() >= lo and ev["ts_event"].max() < hi
        assert "outside_days=280" in err
        n = len(srv.log)
        assert main([*args, "--base-url", srv.url]) == 0
        assert [r[0] for r in srv.log[n:]] == [path + ".CHECKSUM"]  # its version asked, the file not fetched
        assert "skipped 1 file(s) already in the dataset" in capsys.readouterr().err
    assert len(load_dataset(ds).events) == 30

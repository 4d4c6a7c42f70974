"""``liqcore download binance-vision`` against a real HTTP server on 127.0.0.1 laid out as
data.binance.vision (daily zips, each with its ``.CHECKSUM``): the dataset equals converting the same
files by hand, a kill mid-run then a rerun gives the same dataset, a corrupted zip is refused by name,
a missing day is listed while the rest arrive, 429 / 5xx / a cut connection are retried."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _procs import Stopwatch, run_timed, wait_exit

from liqcore.cli import main
from liqcore.dataset import convert_to_dataset, dataset_info, load_dataset, read_manifest
from liqcore.download.run import STAGE_PREFIX
from tests.download._archive_server import ArchiveServer, binance_vision

ROOT = Path(__file__).resolve().parents[2]
SYMS = ("BTCUSDT", "ETHUSDT")
DAYS = ("2024-01-01", "2024-01-02", "2024-01-03")
PATH = "/data/futures/um/daily/{t}/{s}/{s}-{t}-{d}.zip"


def _args(url: str, ds: Path, *more: str) -> list[str]:
    return ["download", "binance-vision", "--symbols", ",".join(SYMS), "--types", "aggTrades,bookTicker",
            "--from", DAYS[0], "--to", DAYS[-1], "--dataset", str(ds), "--base-url", url, "--backoff", "50ms",
            "--no-progress", *more]


def _by_hand(files: dict[str, bytes], where: Path) -> Path:
    """The same zips written to disk under their own names and converted with ``convert --dataset``."""
    src = where / "files"
    src.mkdir()
    for path, body in files.items():
        if path.endswith(".zip"):
            (src / path.rsplit("/", 1)[1]).write_bytes(body)
    ref = where / "ref"
    convert_to_dataset([src], ref)
    return ref


def _same_dataset(a: Path, b: Path) -> None:
    ra, rb = load_dataset(a), load_dataset(b)
    assert len(ra.events) > 0
    assert ra.events.tobytes() == rb.events.tobytes()  # bit for bit
    assert [tuple(x) for x in ra.registry] == [tuple(x) for x in rb.registry]
    assert dataset_info(a) == dataset_info(b)


def _no_leftovers(ds: Path) -> None:
    assert not list(ds.glob(f"{STAGE_PREFIX}*")), "a waiting room of downloads was left behind"
    assert not [p for p in ds.rglob("*") if ".tmp" in p.name], "a temporary file was left behind"


ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _started(url: str, ds: Path, jobs: str, converted: int) -> subprocess.Popen:
    """A ``liqcore download`` process, returned once ``converted`` files are in the dataset (up to 60 s)
    and while it is still running (the server answers slowly)."""
    proc = subprocess.Popen([sys.executable, "-m", "liqcore", *_args(url, ds, "--jobs", jobs)], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and len(read_manifest(ds)) < converted:
        time.sleep(0.05)
    assert proc.poll() is None, "the download ended before it could be stopped: " + proc.stderr.read()
    return proc


def _rerun(url: str, ds: Path) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "liqcore", *_args(url, ds)], env=ENV, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    return r


def test_the_dataset_equals_converting_the_same_files_by_hand(tmp_path, capsys):
    files = binance_vision(SYMS, DAYS)
    ref = _by_hand(files, tmp_path)
    ds = tmp_path / "ds"
    p429 = PATH.format(t="aggTrades", s="BTCUSDT", d=DAYS[1])
    pcut = PATH.format(t="bookTicker", s="ETHUSDT", d=DAYS[0])
    p503 = PATH.format(t="aggTrades", s="ETHUSDT", d=DAYS[2])
    with ArchiveServer(files) as srv:
        srv.rules = {p429: [("429", 1)], pcut: [("cut",)], p503: [("503",)]}
        assert main(_args(srv.url, ds, "--jobs", "3")) == 0
        err = capsys.readouterr().err
        # the 429's Retry-After (1 s) was waited, not the 50 ms backoff
        t = [r[1] for r in srv.requests(p429)]
        assert [r[2] for r in srv.requests(p429)] == [429, 200] and t[1] - t[0] >= 0.95
        assert [r[2] for r in srv.requests(pcut)] == [200, 200]  # cut mid-file, then whole
        assert [r[2] for r in srv.requests(p503)] == [503, 200]
        _same_dataset(ds, ref)
        _no_leftovers(ds)
        assert "12 file(s) fetched covering 3 day(s)" in err and "3 retries" in err
        assert "aggTrades: 6 file(s), 3 day(s)" in err and "bookTicker: 6 file(s), 3 day(s)" in err
        rows = len(load_dataset(ds).events)
        added = [int(line.rsplit(", ", 1)[1].split()[0].replace(",", "")) for line in err.splitlines()
                 if "rows added to the dataset" in line]
        assert sum(added) == rows
        # a rerun fetches no file: every file is in the dataset's manifest by its URL and the source's checksum,
        # which the rerun asks for (the 12 small .CHECKSUM files: unchanged, so nothing is fetched again)
        n = len(srv.log)
        assert main(_args(srv.url, ds)) == 0
        err = capsys.readouterr().err
        assert len(srv.log) == n + 12 and all(r[0].endswith(".zip.CHECKSUM") for r in srv.log[n:])
        assert "skipped 12 file(s) already in the dataset" in err
        _same_dataset(ds, ref)
    assert all(u.startswith(srv.url) for u in read_manifest(ds))


def test_a_kill_mid_run_then_a_rerun_gives_the_same_dataset(tmp_path):
    files = binance_vision(SYMS, DAYS)
    ref = _by_hand(files, tmp_path)
    ds = tmp_path / "ds"
    with ArchiveServer(files, delay_s=0.4) as srv:
        proc = _started(srv.url, ds, "1", 2)  # two files converted, others on their way
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        proc.stderr.close()
        done = len(read_manifest(ds))
        assert 2 <= done < 12
        assert len(load_dataset(ds).events) > 0  # every partition written is whole
        srv.delay_s = 0
        r = _rerun(srv.url, ds)
        assert f"skipped {done} file(s) already in the dataset" in r.stderr
        assert "removed the files of 1 earlier run(s) that were stopped" in r.stderr
    _same_dataset(ds, ref)
    _no_leftovers(ds)


def test_a_corrupted_zip_is_refused_by_name_and_the_rest_arrive(tmp_path, capsys):
    files = binance_vision(SYMS, DAYS)
    bad = PATH.format(t="aggTrades", s="BTCUSDT", d=DAYS[1])
    body = bytearray(files[bad])
    body[len(body) // 2] ^= 0xFF  # one byte flipped; the .CHECKSUM is the good file's
    files[bad] = bytes(body)
    ds, out = tmp_path / "ds", tmp_path / "out"
    with ArchiveServer(files) as srv:
        assert main(_args(srv.url, ds)) == 1
        err = capsys.readouterr().err
        assert "refused BTCUSDT aggTrades 2024-01-02: checksum mismatch: BTCUSDT-aggTrades-2024-01-02.zip" in err
        assert err.strip().splitlines()[-1].startswith("liqcore download: error: 1 file(s) refused or failed")
        assert "11 file(s) fetched" in err
        assert bad not in read_manifest(ds) and len(read_manifest(ds)) == 11
        _no_leftovers(ds)
        # --out: the corrupted file is not kept either, the others are, byte for byte
        args = _args(srv.url, ds)
        args[args.index("--dataset"):args.index("--dataset") + 2] = ["--out", str(out)]
        assert main(args) == 1
        err = capsys.readouterr().err
        assert "checksum mismatch: BTCUSDT-aggTrades-2024-01-02.zip" in err
        kept = sorted(p.name for p in out.iterdir())
        assert len(kept) == 11 and "BTCUSDT-aggTrades-2024-01-02.zip" not in kept
        for path, data in files.items():
            name = path.rsplit("/", 1)[1]
            if name in kept:
                assert (out / name).read_bytes() == data


def test_a_missing_day_is_listed_and_the_rest_arrive(tmp_path, capsys):
    files = binance_vision(SYMS, DAYS)
    gone = PATH.format(t="bookTicker", s="ETHUSDT", d=DAYS[1])
    del files[gone], files[gone + ".CHECKSUM"]
    ds = tmp_path / "ds"
    with ArchiveServer(files) as srv:
        assert main(_args(srv.url, ds)) == 0
        err = capsys.readouterr().err
        assert "missing at the source (HTTP 404), 1 file(s): ETHUSDT bookTicker 2024-01-02" in err
        assert len(read_manifest(ds)) == 11
        assert main(_args(srv.url, tmp_path / "ds2", "--strict")) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "missing at the source (HTTP 404): ETHUSDT bookTicker 2024-01-02" in err[0]


def test_a_connection_cut_every_time_fails_the_file_by_name_after_its_retries(tmp_path, capsys):
    files = binance_vision(SYMS[:1], DAYS[:1], types=("aggTrades",))
    path = PATH.format(t="aggTrades", s="BTCUSDT", d=DAYS[0])
    with ArchiveServer(files) as srv:
        srv.rules = {path: [("cut",)] * 3}
        args = ["download", "binance-vision", "--symbols", "BTCUSDT", "--from", DAYS[0], "--to", DAYS[0],
                "--out", str(tmp_path / "out"), "--base-url", srv.url, "--retries", "2", "--backoff", "10ms"]
        assert main(args) == 1
        err = capsys.readouterr().err
        assert "failed BTCUSDT aggTrades 2024-01-01: the connection was cut mid-file after 3 tries" in err
        assert len(srv.requests(".zip")) == 3
        assert not (tmp_path / "out").exists()  # no half file, under any name, nor the empty folder it made
        srv.rules = {path: [("cut",)]}
        assert main(args) == 0  # one cut, then whole: the rerun gets it
        assert (tmp_path / "out" / "BTCUSDT-aggTrades-2024-01-01.zip").read_bytes() == files[path]


@pytest.mark.parametrize("bad, why", [
    (["--from", "2024-01-03", "--to", "2024-01-01"], "to: 2024-01-01 is before --from 2024-01-03"),
    (["--types", "liquidations"], "types: binance-vision has no liquidations"),
    (["--from", "yesterday"], "from: 'yesterday' is not a date YYYY-MM-DD"),
    (["--jobs", "0"], "jobs: must be at least 1"),
    (["--exchange", "bybit"], "exchange: binance-vision serves one exchange"),
    (["--out", "s3://bucket/files"], "out: give exactly one of --dataset DS or --out DIR"),
])
def test_a_bad_request_is_one_line(tmp_path, capsys, bad, why):
    args = ["download", "binance-vision", "--symbols", "BTCUSDT", "--from", "2024-01-01", "--to", "2024-01-01",
            "--dataset", str(tmp_path / "ds"), "--base-url", "http://127.0.0.1:9", *bad]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and why in err[0], err


def test_ctrl_c_stops_within_a_second_keeps_what_was_converted_and_a_rerun_resumes(tmp_path):
    files = binance_vision(SYMS, DAYS)
    ref = _by_hand(files, tmp_path)
    ds = tmp_path / "ds"
    with ArchiveServer(files, delay_s=0.4) as srv:
        proc = _started(srv.url, ds, "2", 1)
        watch = Stopwatch(proc.pid)  # (less the time it waited for a CPU that other processes held: any load)
        proc.send_signal(signal.SIGINT)
        took = wait_exit(proc, watch, 30, "the download after Ctrl-C").unloaded
        err = proc.stderr.read()
        proc.stderr.close()
        assert proc.returncode == 130, err
        assert [ln for ln in err.splitlines() if ln.strip()][-1:] == ["liqcore download: interrupted"], err
        assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
        assert took < 1.0, f"SIGINT took {took:.2f} s to stop the download ({watch})"
        kept = len(read_manifest(ds))
        assert 1 <= kept < 12 and len(load_dataset(ds).events) > 0
        assert not [p for p in ds.rglob("*.zip")], "a downloaded file was left behind"
        srv.delay_s = 0
        r = _rerun(srv.url, ds)
        assert f"skipped {kept} file(s) already in the dataset" in r.stderr
    _same_dataset(ds, ref)
    _no_leftovers(ds)


def test_into_a_dataset_on_object_storage(tmp_path, capsys):
    files = binance_vision(SYMS[:1], DAYS[:2])
    ref = _by_hand(files, tmp_path)
    url = f"memory://w45-{tmp_path.name}/ds"
    with ArchiveServer(files) as srv:
        args = _args(srv.url, tmp_path / "unused")
        args[args.index("--symbols") + 1], args[args.index("--to") + 1] = SYMS[0], DAYS[1]
        args[args.index("--dataset") + 1] = url
        assert main(args) == 0
        n = len(srv.log)
        assert main(args) == 0
        # (the rerun asks for the 4 files' .CHECKSUM, unchanged: nothing fetched again)
        assert len(srv.log) == n + 4 and all(r[0].endswith(".CHECKSUM") for r in srv.log[n:])
        assert "skipped 4 file(s) already in the dataset" in capsys.readouterr().err
    ra, rb = load_dataset(url), load_dataset(ref)
    assert len(ra.events) == 200 and ra.events.tobytes() == rb.events.tobytes()


def test_a_429_holds_every_job_back_until_its_retry_after(tmp_path, capsys):
    files = binance_vision(SYMS[:1], DAYS, types=("aggTrades",))
    a, b, c = (PATH.format(t="aggTrades", s="BTCUSDT", d=d) for d in DAYS)
    with ArchiveServer(files) as srv:
        srv.rules = {a: [("429", 3)], b: [("slow", 1.0)]}  # b's job is busy while a is told to wait 3 s
        assert main(["download", "binance-vision", "--symbols", "BTCUSDT", "--from", DAYS[0], "--to", DAYS[-1],
                     "--out", str(tmp_path / "out"), "--base-url", srv.url, "--jobs", "2", "--no-progress"]) == 0
        t429 = srv.requests(a)[0][1]
        later = [srv.requests(b + ".CHECKSUM")[0][1], srv.requests(c)[0][1]]  # asked once b's file arrived
        assert all(t - t429 >= 2.9 for t in later), [t - t429 for t in later]
    assert "1 retry" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.rsplit("/", 1)[1] for p in (a, b, c))


def test_a_redirect_loop_fails_its_file_by_name_and_the_rest_arrive(tmp_path, capsys):
    """A file whose URL redirects to itself for ever is one failed file with the reason (it was a traceback that
    threw away the files already fetched); the other days arrive; a base URL that is no HTTP one is one line too."""
    files = binance_vision(SYMS[:1], DAYS, types=("aggTrades",))
    loop = PATH.format(t="aggTrades", s="BTCUSDT", d=DAYS[1])
    args = ["download", "binance-vision", "--symbols", "BTCUSDT", "--types", "aggTrades", "--from", DAYS[0],
            "--to", DAYS[-1], "--out", str(tmp_path / "out"), "--no-progress"]
    with ArchiveServer(files) as srv:
        srv.rules = {loop: [("redirect", loop)]}
        assert main(args + ["--base-url", srv.url]) == 1
        err = capsys.readouterr().err
        assert "Traceback" not in err and "failed BTCUSDT aggTrades 2024-01-02:" in err and "redirect" in err.lower()
        assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
            f"BTCUSDT-aggTrades-{d}.zip" for d in (DAYS[0], DAYS[2])]
        host = srv.url.removeprefix("http://")
        for bad, shown in ((f"ftp://user:pw@{host}", "ftp://127.0.0.1"), (host, "no scheme")):
            assert main(args + ["--base-url", bad]) == 2
            err = capsys.readouterr().err.strip().splitlines()
            assert err == [f"liqcore download: error: base-url: must be an http:// or https:// address with a host; "
                           f"got {shown}"], err


def test_a_long_wait_before_a_retry_is_said(tmp_path, capsys, monkeypatch):
    """A server's Retry-After of several seconds is waited (held to 5 minutes) and said on stderr, never a silent
    pause."""
    from liqcore.download import fetch

    monkeypatch.setattr(fetch, "SAID_WAIT_S", 0.5)
    files = binance_vision(SYMS[:1], DAYS[:1], types=("aggTrades",))
    a = PATH.format(t="aggTrades", s="BTCUSDT", d=DAYS[0])
    with ArchiveServer(files) as srv:
        srv.rules = {a: [("429", 1)]}
        assert main(["download", "binance-vision", "--symbols", "BTCUSDT", "--types", "aggTrades", "--from", DAYS[0],
                     "--to", DAYS[0], "--out", str(tmp_path / "out"), "--base-url", srv.url, "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "binance-vision: HTTP 429: the server's Retry-After: waiting 1 s before the next try" in err, err


def test_a_day_published_with_no_row_is_a_warning_not_a_failed_file(tmp_path, capsys):
    """A day the source published as a header alone (a quiet day) converts to nothing with a warning naming it; the
    run succeeds (it failed, suggesting an --allow-empty option download does not have, on every rerun)."""
    import hashlib

    from tests.download._archive_server import AGG_HEADER, zipped

    files = binance_vision(SYMS[:1], DAYS[:2], types=("aggTrades",))
    name = f"BTCUSDT-aggTrades-{DAYS[1]}.zip"
    path = PATH.format(t="aggTrades", s="BTCUSDT", d=DAYS[1])
    files[path] = zipped(name, AGG_HEADER + "\n")
    files[path + ".CHECKSUM"] = f"{hashlib.sha256(files[path]).hexdigest()}  {name}\n".encode()
    with ArchiveServer(files) as srv:
        assert main(["download", "binance-vision", "--symbols", "BTCUSDT", "--types", "aggTrades", "--from", DAYS[0],
                     "--to", DAYS[1], "--dataset", str(tmp_path / "ds"), "--base-url", srv.url, "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert f"{name}: the file holds no records" in err and "--allow-empty" not in err and "failed" not in err


@pytest.mark.parametrize("where", ["--dataset", "--out"])
def test_a_host_that_does_not_resolve_fails_at_once_in_one_line_and_leaves_no_directory(tmp_path, where):
    """Offline (or a wrong address): the source's name does not resolve. That is not transient: no retry, no
    backoff, the run stops at once in one line, and the folders it would have made (the dataset, --out, their
    missing parents) are not left behind empty. The name is under RFC 2606's ``.invalid``, which never
    resolves: the tests' network guard answers it as a resolver does (EAI_NONAME) and no query leaves."""
    target = tmp_path / "new" / "dl"
    args = [sys.executable, "-m", "liqcore", "download", "binance-vision", "--symbols", ",".join(SYMS), "--types",
            "aggTrades,bookTicker", "--from", DAYS[0], "--to", DAYS[-1], where, str(target),
            "--base-url", "http://data.binance.invalid/", "--retries", "5", "--backoff", "5s"]
    # (the seconds it ran less those it waited for a CPU that other processes held: a bound at any load)
    p, watch = run_timed(args, 120, cwd=tmp_path)
    took = watch.unloaded
    err = p.stderr.strip().splitlines()
    assert p.returncode == 1 and p.stdout == ""  # a network failure (as a refused connection), not a usage error (2)
    assert len(err) == 1, err  # one line, no retry notices, no traceback
    assert "data.binance.invalid does not resolve" in err[0] and "no network, or a wrong --base-url" in err[0], err
    assert "after" not in err[0]  # (not "... after 6 tries")
    # one backoff step would already be 2.5 s or more; the 15 s bar includes the interpreter's start
    assert took < 15, watch
    assert sorted(p.name for p in tmp_path.iterdir()) == [], list(tmp_path.rglob("*"))


def test_a_base_url_with_credentials_shows_them_nowhere_and_the_manifest_keeps_none(tmp_path, capsys):
    """``--base-url`` with ``user:password@``: the failed file's line, the summary and the dataset's manifest
    (which keys each converted file by its URL, for a rerun) show the URL without them; a rerun still finds the
    files it converted."""
    files = binance_vision(SYMS[:1], DAYS[:2], types=("aggTrades",))
    cut = PATH.format(t="aggTrades", s="BTCUSDT", d=DAYS[1])
    ds = tmp_path / "ds"
    with ArchiveServer(files) as srv:
        srv.rules = {cut: [("cut",)] * 3}
        url = srv.url.replace("http://", "http://liquser:S3cretPassw0rd@")
        args = ["download", "binance-vision", "--symbols", "BTCUSDT", "--types", "aggTrades", "--from", DAYS[0],
                "--to", DAYS[1], "--dataset", str(ds), "--base-url", url, "--retries", "2", "--backoff", "10ms",
                "--no-progress"]
        assert main(args) == 1
        out = capsys.readouterr()
        assert "failed BTCUSDT aggTrades 2024-01-02" in out.err, out.err
        assert "S3cretPassw0rd" not in out.out + out.err and "liquser" not in out.out + out.err
        manifest = "".join(p.read_text() for p in ds.rglob("*.json"))
        assert len(read_manifest(ds)) == 1 and "S3cretPassw0rd" not in manifest, manifest
        srv.rules = {}
        assert main(args) == 0  # the rerun: the converted day found by its shown URL, the other one fetched
        out = capsys.readouterr()
        assert "S3cretPassw0rd" not in out.out + out.err
        assert len(read_manifest(ds)) == 2 and len(srv.requests(DAYS[0] + ".zip")) == 1

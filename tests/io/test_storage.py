"""Datasets, recordings and outputs on object storage, against a real S3-compatible server (the moto
server, a subprocess on 127.0.0.1): a URL is never a local path, reads prune partitions before any
download, credentials never reach an output, one writer at a time through a lock object."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("s3fs")
pytest.importorskip("moto.server")

from tests._s3_server import KEY_ID, MotoServer, s3_env  # noqa: E402
from _procs import run_timed  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
D = 86_400_000_000_000
BUCKET = "liqcore-test"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("s3home")
    with MotoServer(home / "moto") as srv:
        srv.env = s3_env(srv.endpoint, home)
        srv.make_bucket(BUCKET, srv.env)
        yield srv


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    from liqcore.synthetic.market import synthetic_market
    from liqcore.io import save_events

    m = synthetic_market(days=3, symbols=("ETHUSDT", "SOLUSDT"), seed=5)
    path = tmp_path_factory.mktemp("rec") / "rec.parquet"
    save_events(m.events, path, registry=m.registry)
    return path, m


@pytest.fixture
def aws(server, monkeypatch):
    """This process reaches the server through the standard AWS variables."""
    import s3fs

    from liqcore.io import storage

    for k in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(k)
    for k, v in server.env.items():
        if k.startswith("AWS_"):
            monkeypatch.setenv(k, v)
    s3fs.S3FileSystem.clear_instance_cache()
    yield server
    storage.set_options([])
    s3fs.S3FileSystem.clear_instance_cache()


def cli(args, env, cwd):
    env = {**env, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "liqcore", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def _key(ev, reg):
    names = reg.symbols_array()
    return sorted(zip(ev["ts_event"].tolist(), names[ev["symbol_id"]].tolist(), ev["kind"].tolist(),
                      ev["price"].tolist(), ev["qty"].tolist(), ev["ts_recv"].tolist()))


def _no_url_dirs(root: Path):
    made = [str(p) for p in root.rglob("*") if p.name.endswith(":") or p.name in ("s3:", "memory:", "gs:")]
    assert made == [], f"a URL became a local path: {made}"


@pytest.mark.slow
def test_convert_and_sweep_on_s3_equal_local_and_no_local_dir_named_s3(server, recording, tmp_path):
    rec, _m = recording
    url = f"s3://{BUCKET}/sweep-ds"
    r = cli(["convert", str(rec), "--dataset", url], server.env, tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"partition(s) of {url}" in r.stderr
    r = cli(["convert", str(rec), "--dataset", str(tmp_path / "local-ds")], server.env, tmp_path)
    assert r.returncode == 0, r.stderr
    rows = {}
    for name, src in (("s3", url), ("local", str(tmp_path / "local-ds"))):
        r = cli(["sweep", src, "--grid", "offset=0.1%,0.2%", "--workers", "1", "--json", "--no-progress"],
                server.env, tmp_path)
        assert r.returncode == 0, r.stderr
        rows[name] = json.loads(r.stdout)
    assert len(rows["s3"]) == 4 and rows["s3"][0]["trades"] > 0
    strip = [{k: v for k, v in row.items() if k != "cell"} for row in rows["s3"]]
    assert strip == [{k: v for k, v in row.items() if k != "cell"} for row in rows["local"]]
    # an output a command writes only locally refuses a URL (exit 2, one line) instead of making a directory
    r = cli(["backtest", str(rec), "--out", f"s3://{BUCKET}/bt"], server.env, tmp_path)
    assert r.returncode == 2 and "local files only" in r.stderr and "Traceback" not in r.stderr
    # a bucket that does not exist: one line, before any work
    r = cli(["convert", str(rec), "--dataset", "s3://no-such-bucket-liqcore/ds"], server.env, tmp_path)
    assert r.returncode == 2 and "no-such-bucket-liqcore" in r.stderr and "does not exist" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    _no_url_dirs(tmp_path)


@pytest.mark.slow
def test_reading_prunes_partitions_before_any_download(aws, recording, tmp_path):
    from liqcore.dataset import convert_to_dataset, dataset_info, load_dataset

    rec, m = recording
    url = f"s3://{BUCKET}/pruned-ds"
    convert_to_dataset([rec], url)
    convert_to_dataset([rec], tmp_path / "ds")
    parts = dataset_info(url)
    assert parts == dataset_info(tmp_path / "ds") and len(parts) == 6  # 2 symbols x 3 days
    t0 = int(m.events["ts_event"][0]) // D * D
    before = len(aws.requests())
    got = load_dataset(url, symbols=["SOLUSDT"], start_ns=t0 + D, end_ns=t0 + 2 * D)
    reqs = aws.requests()[before:]
    fetched = [r for r in reqs if r.startswith("GET ") and ".parquet" in r.split()[1]]
    day = str(np.datetime64(t0 + D, "ns"))[:10]
    assert fetched == [f"GET /{BUCKET}/pruned-ds/venue=bybit/symbol=SOLUSDT/date={day}/part-0.parquet HTTP/1.1"], reqs
    want = load_dataset(tmp_path / "ds", symbols=["SOLUSDT"], start_ns=t0 + D, end_ns=t0 + 2 * D)
    assert len(got.events) > 0 and _key(got.events, got.registry) == _key(want.events, want.registry)
    assert _key(load_dataset(url).events, load_dataset(url).registry) == \
        _key(load_dataset(tmp_path / "ds").events, load_dataset(tmp_path / "ds").registry)


@pytest.mark.slow
def test_a_secret_never_reaches_stdout_stderr_or_any_output(server, recording, tmp_path):
    import s3fs

    rec, _m = recording
    secret = "S3cretValue-liqcore-7f3a9c"
    env = {k: v for k, v in server.env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    opts = ["--storage-option", f"key={KEY_ID}", "--storage-option", f"secret={secret}"]
    runs = [
        cli(["convert", str(rec), "--dataset", f"s3://{BUCKET}/secret-ds", *opts], env, tmp_path),
        cli(["sweep", f"s3://{BUCKET}/secret-ds", "--grid", "offset=0.1%,0.2%", "--workers", "2", "--json",
             "--no-progress", "--out", f"s3://{BUCKET}/secret-sweep.parquet", *opts], env, tmp_path),
        cli(["walkforward", f"s3://{BUCKET}/secret-ds", "--grid", "offset=0.1%,0.2%", "--folds", "2", "--workers",
             "1", "--no-progress", "--out", f"s3://{BUCKET}/secret-wf", *opts], env, tmp_path),
        # failures: a bucket that is not there, a malformed option holding the secret, no credentials
        cli(["sweep", "s3://no-such-bucket-liqcore/ds", "--grid", "offset=0.1%", *opts], env, tmp_path),
        cli(["convert", str(rec), "--dataset", f"s3://{BUCKET}/x", "--storage-option", secret], env, tmp_path),
    ]
    assert [r.returncode for r in runs] == [0, 0, 0, 2, 2], [r.stderr for r in runs]
    assert "storage-option: expected KEY=VALUE" in runs[4].stderr
    for r in runs:
        assert secret not in r.stdout and secret not in r.stderr
    assert len(json.loads(runs[1].stdout)) == 4
    fs = s3fs.S3FileSystem(key=KEY_ID, secret=secret, endpoint_url=server.endpoint)
    objs = fs.find(BUCKET)
    assert f"{BUCKET}/secret-wf/walkforward.json" in objs and f"{BUCKET}/secret-sweep.parquet" in objs
    for o in objs:
        assert secret.encode() not in fs.cat_file(o), o
    assert secret not in server.log.read_text(errors="replace")
    for f in tmp_path.rglob("*"):
        assert not f.is_file() or secret.encode() not in f.read_bytes(), f
    _no_url_dirs(tmp_path)


@pytest.mark.slow
def test_one_writer_at_a_time_through_a_lock_object(aws, recording, tmp_path):
    import orjson
    import s3fs

    from liqcore.dataset.write import LOCK
    from liqcore.dataset import dataset_lock

    rec, _m = recording
    url = f"s3://{BUCKET}/locked-ds"
    with dataset_lock(url):
        r = cli(["convert", str(rec), "--dataset", url, "--lock-wait", "0"], aws.env, tmp_path)
        assert r.returncode == 2, r.stderr
        assert f"is being written by pid {os.getpid()}" in r.stderr and LOCK in r.stderr
    fs = s3fs.S3FileSystem()
    assert not fs.exists(f"{BUCKET}/locked-ds/{LOCK}")  # released: the lock object is gone
    # a writer that died (same host, no such process) left its lock: the next writer takes it over
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    import socket

    fs.pipe_file(f"{BUCKET}/locked-ds/{LOCK}", orjson.dumps({"host": socket.gethostname(), "pid": dead.pid,
                                                               "since": 0}))
    r = cli(["convert", str(rec), "--dataset", url, "--lock-wait", "0"], aws.env, tmp_path)
    assert r.returncode == 0, r.stderr
    fs.invalidate_cache()
    assert not fs.exists(f"{BUCKET}/locked-ds/{LOCK}")
    # a holder on another host is never taken over
    fs.pipe_file(f"{BUCKET}/locked-ds/{LOCK}", orjson.dumps({"host": "elsewhere", "pid": 1, "since": 0}))
    r = cli(["convert", str(rec), "--dataset", url, "--lock-wait", "0", "--force"], aws.env, tmp_path)
    assert r.returncode == 2 and "pid 1 on elsewhere" in r.stderr


@pytest.mark.slow
def test_recordings_from_s3_are_converted_once(aws, recording, tmp_path):
    import s3fs

    rec, m = recording
    fs = s3fs.S3FileSystem()
    fs.put_file(str(rec), f"{BUCKET}/recs/day/rec.parquet")
    url = f"s3://{BUCKET}/from-s3-ds"
    r = cli(["convert", f"s3://{BUCKET}/recs/", "--dataset", url], aws.env, tmp_path)
    assert r.returncode == 0 and "converted 1 file(s)" in r.stderr, r.stderr
    r = cli(["convert", f"s3://{BUCKET}/recs/", "--dataset", url], aws.env, tmp_path)
    assert r.returncode == 0 and "skipped 1 already converted" in r.stderr, r.stderr
    manifest = json.loads(fs.cat_file(f"{BUCKET}/from-s3-ds/_liqcore_manifest.json"))
    assert list(manifest) == [f"s3://{BUCKET}/recs/day/rec.parquet"]
    # convert --out to an object, read back as a recording
    r = cli(["convert", str(rec), "--out", f"s3://{BUCKET}/copy.parquet"], aws.env, tmp_path)
    assert r.returncode == 0, r.stderr
    from liqcore.dataset.load import load_events

    back = load_events([f"s3://{BUCKET}/copy.parquet"])
    assert _key(back.events, back.registry) == _key(m.events, m.registry)
    _no_url_dirs(tmp_path)


def test_any_fsspec_url_memory(recording, tmp_path, monkeypatch):
    from liqcore.dataset import convert_to_dataset, load_dataset
    from liqcore.io import save_events
    from liqcore.dataset.load import load_events

    monkeypatch.chdir(tmp_path)
    rec, m = recording
    convert_to_dataset([rec], "memory://liqcore-test/ds")
    got = load_dataset("memory://liqcore-test/ds", symbols=["ETHUSDT"])
    sid = m.registry.get("bybit", "ETHUSDT")
    assert _key(got.events, got.registry) == _key(m.events[m.events["symbol_id"] == sid], m.registry)
    save_events(m.events, "memory://liqcore-test/all.parquet", registry=m.registry)
    back = load_events(["memory://liqcore-test/all.parquet"])
    assert _key(back.events, back.registry) == _key(m.events, m.registry)
    with pytest.raises(ValueError, match="unknown URL protocol"):
        load_dataset("nosuchproto://x/ds")
    _no_url_dirs(tmp_path)


def test_urls_storage_options_and_what_a_message_shows():
    from liqcore.io import storage

    assert storage.is_url("s3://bucket/ds") and storage.is_url("memory://x") and storage.is_url("gs://b/p")
    assert not storage.is_url("data/ds") and not storage.is_url("C:\\data\\ds") and not storage.is_url("s3:/b/ds")
    try:
        got = storage.set_options(["endpoint_url=http://127.0.0.1:9000", "anon=true", "max_concurrency=8",
                                   "client_kwargs.region_name=eu-west-1"])
        assert got == {"endpoint_url": "http://127.0.0.1:9000", "anon": True, "max_concurrency": 8,
                       "client_kwargs": {"region_name": "eu-west-1"}}
        with pytest.raises(ValueError) as exc:
            storage.set_options(["Sup3rSecretWithoutEquals"])
        assert "Sup3rSecretWithoutEquals" not in str(exc.value) and "KEY=VALUE" in str(exc.value)
    finally:
        storage.set_options([])
    assert storage.display("ftp://user:Pa55word@host:21/dir/f.csv") == "ftp://host:21/dir/f.csv"
    with pytest.raises(ValueError, match="names no bucket"):
        storage.filesystem("s3:///ds")


@pytest.mark.slow
def test_a_convert_killed_midway_leaves_whole_objects_and_the_next_run_finishes(aws, recording, tmp_path):
    import signal
    import time

    import pyarrow.parquet as pq
    import s3fs

    from liqcore.dataset import convert_to_dataset, load_dataset
    from liqcore.io import save_events

    rec, m = recording
    ev = m.events
    t0 = int(ev["ts_event"][0]) // D * D
    files = []
    for i in range(3):  # one file per day: the manifest is written after each
        f = tmp_path / f"day{i}.parquet"
        save_events(ev[(ev["ts_event"] >= t0 + i * D) & (ev["ts_event"] < t0 + (i + 1) * D)], f, registry=m.registry)
        files.append(f)
    url = f"s3://{BUCKET}/killed-ds"
    fs = s3fs.S3FileSystem()
    proc = subprocess.Popen([sys.executable, "-m", "liqcore", "convert", *map(str, files), "--dataset", url],
                            env={**aws.env, "PYTHONPATH": str(ROOT)}, cwd=tmp_path, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        fs.invalidate_cache()
        if fs.glob(f"{BUCKET}/killed-ds/venue=*/symbol=*/date=*/part-0.parquet"):
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the convert finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    fs.invalidate_cache()
    objs = fs.find(f"{BUCKET}/killed-ds")
    written = [o for o in objs if o.endswith(".parquet")]
    assert 0 < len(written) < 6
    for o in written:  # every object there is a whole Parquet file
        pq.read_table(fs.open(o, "rb"))
    r = cli(["convert", *map(str, files), "--dataset", url], aws.env, tmp_path)
    assert r.returncode == 0, r.stderr
    convert_to_dataset(files, tmp_path / "ds")
    got, want = load_dataset(url), load_dataset(tmp_path / "ds")
    assert _key(got.events, got.registry) == _key(want.events, want.registry)
    assert not fs.exists(f"{BUCKET}/killed-ds/.liqcore-writer.lock")  # the dead writer's lock was taken over


def test_an_endpoint_that_refuses_connections_is_named_at_once(tmp_path):
    """A port nothing listens on: every command says the endpoint refused the connection, within
    seconds (not after the client's retries), instead of "the bucket does not exist"."""
    import socket

    from tests._s3_server import free_port

    port = free_port()
    with pytest.raises(ConnectionRefusedError):  # nothing listens there
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    env = s3_env("http://127.0.0.1:1", tmp_path)  # the flag below names the endpoint in force
    env.pop("AWS_ENDPOINT_URL")
    opt = ["--storage-option", f"endpoint_url=http://127.0.0.1:{port}"]
    sample = ROOT / "liqcore" / "data" / "sample_liquidations.csv"
    for args in (["convert", sample, "--dataset", f"s3://{BUCKET}/ds", *opt], ["events", f"s3://{BUCKET}/ds", *opt]):
        # (the seconds it ran less those it waited for a CPU that other processes held: a bound at any load)
        r, watch = run_timed([sys.executable, "-m", "liqcore", *args], 300, env={**env, "PYTHONPATH": str(ROOT)},
                             cwd=tmp_path)
        took = watch.unloaded
        assert r.returncode != 0 and "Traceback" not in r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and f"the storage endpoint http://127.0.0.1:{port} (--storage-option endpoint_url) " \
            "refused the connection" in lines[0], r.stderr
        assert "does not exist" not in lines[0]
        assert took < 8, watch  # a process start and one refused connection (the client's retries took 10+ s)

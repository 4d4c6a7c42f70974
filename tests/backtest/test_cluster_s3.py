"""A sweep and a walk-forward on a real dask cluster (a scheduler and workers as separate processes,
started the way a user starts them) reading a dataset from a real S3-compatible server (the moto
server): the tables equal the local pool's cell by cell, also when a worker is killed (SIGKILL)
mid-sweep.  Workers get the endpoint and credentials from their environment only."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("s3fs")
pytest.importorskip("moto.server")
pytest.importorskip("distributed")

from tests._s3_server import MotoServer, free_port, s3_env, wait_port  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "liqcore-cluster"
SECRET = "Cluster-S3cret-5e1d77b2"
DS = f"s3://{BUCKET}/ds"
GRID = ["--grid", "quantile=0.9,0.95", "--grid", "offset=0.1%,0.15%,0.2%,0.3%", "--grid",
        "take-profit=0.1%,0.2%,0.3%", "--grid", "stop-loss=0.5%,1%"]

pytestmark = pytest.mark.slow


class Cluster:
    """``dask scheduler`` and ``dask worker`` processes on 127.0.0.1 (no nanny: a killed worker stays
    dead), their logs in files."""

    def __init__(self, workdir: Path, env: dict, n: int = 2):
        self.workdir, self.env, self.n = workdir, env, n
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.procs: list[subprocess.Popen] = []

    def _start(self, args, log):
        fh = open(self.workdir / log, "wb")
        p = subprocess.Popen([sys.executable, "-m", *args], env=self.env, cwd=self.workdir, stdout=fh,
                             stderr=subprocess.STDOUT)
        fh.close()
        self.procs.append(p)
        return p

    def __enter__(self):
        self._start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(self.port),
                     "--no-dashboard"], "scheduler.log")
        wait_port(self.port, 60, self.procs[0])
        self.workers = [self._start(["distributed.cli.dask_worker", self.address, "--nthreads", "1", "--no-nanny",
                                     "--no-dashboard", "--name", f"w{i}"], f"worker{i}.log") for i in range(self.n)]
        from distributed import Client

        with Client(self.address, timeout=60) as c:
            c.wait_for_workers(self.n, timeout=120)
        return self

    def __exit__(self, *exc):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def logs(self) -> str:
        return "".join(f.read_text(errors="replace") for f in self.workdir.glob("*.log"))


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """The S3 server, a dataset converted onto it from a recording, and the cluster."""
    from liqcore.synthetic.market import synthetic_market
    from liqcore.io import save_events

    home = tmp_path_factory.mktemp("cluster")
    m = synthetic_market(days=4, symbols=("ETHUSDT", "SOLUSDT", "XRPUSDT"), seed=11)
    rec = home / "rec.parquet"
    save_events(m.events, rec, registry=m.registry)
    with MotoServer(home / "moto") as srv:
        env = s3_env(srv.endpoint, home, secret=SECRET)
        env["PYTHONPATH"] = str(ROOT)
        env["LIQCORE_CACHE_DIR"] = str(home / "cache")
        srv.make_bucket(BUCKET, env)
        r = _cli(["convert", str(rec), "--dataset", DS], env, home)
        assert r.returncode == 0, r.stderr
        (home / "workers").mkdir()
        with Cluster(home / "workers", env) as cluster:
            yield {"env": env, "home": home, "cluster": cluster, "server": srv}


def _cli(args, env, cwd, **kw):
    return subprocess.run([sys.executable, "-m", "liqcore", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=600, **kw)


def _by_cell(rows):
    return {r["cell"]: r for r in rows}


def test_sweep_and_walkforward_on_the_cluster_equal_the_local_pool(setup):
    env, home, cluster = setup["env"], setup["home"], setup["cluster"]
    local = _cli(["sweep", DS, *GRID, "--workers", "2", "--json", "--no-progress"], env, home)
    assert local.returncode == 0, local.stderr
    remote = _cli(["sweep", DS, *GRID, "--scheduler", cluster.address, "--json", "--no-progress",
                   "--dask-timeout", "30s"], env, home)
    assert remote.returncode == 0, remote.stderr
    a, b = _by_cell(json.loads(local.stdout)), _by_cell(json.loads(remote.stdout))
    assert len(a) == 2 * 4 * 3 * 2 * 3 and a.keys() == b.keys()
    assert sum(r["trades"] for r in a.values()) > 0
    for k in a:  # cell by cell, every column
        assert json.dumps(a[k], sort_keys=True) == json.dumps(b[k], sort_keys=True), k
    wf = ["walkforward", DS, "--grid", "offset=0.1%,0.2%,0.3%", "--grid", "take-profit=0.1%,0.3%", "--folds", "2",
          "--json", "--no-progress"]
    wl = _cli([*wf, "--workers", "2"], env, home)
    wr = _cli([*wf, "--scheduler", cluster.address, "--dask-timeout", "30s", "--out", f"s3://{BUCKET}/wf"], env, home)
    assert wl.returncode == 0 and wr.returncode == 0, (wl.stderr, wr.stderr)
    ra, rb = json.loads(wl.stdout), json.loads(wr.stdout)
    assert ra["folds"] and ra["folds"] == rb["folds"] and ra["pbo"] == rb["pbo"]
    for out in (local, remote, wl, wr):
        assert SECRET not in out.stdout + out.stderr
    assert SECRET not in cluster.logs()
    assert not list(home.rglob("s3:*"))


def test_a_worker_killed_mid_sweep_changes_nothing(setup):
    import s3fs

    env, home, cluster = setup["env"], setup["home"], setup["cluster"]
    fs = s3fs.S3FileSystem(key=env["AWS_ACCESS_KEY_ID"], secret=SECRET, endpoint_url=env["AWS_ENDPOINT_URL"])
    victim = cluster.workers[0]
    # a machine fast enough to finish the sweep before its first task is seen gets a larger grid (the
    # kill must land mid-sweep: the test never passes without it)
    extra = [[], ["--grid", "cooldown=0s,60s,300s"], ["--grid", "cooldown=0s,30s,60s,120s,300s,600s"]]
    for attempt, more in enumerate(extra):
        grid = [*GRID, *more]
        local = _cli(["sweep", DS, *grid, "--workers", "1", "--json", "--no-progress"], env, home)
        assert local.returncode == 0, local.stderr
        out = f"s3://{BUCKET}/killed{attempt}.parquet"
        proc = subprocess.Popen([sys.executable, "-m", "liqcore", "sweep", DS, *grid, "--scheduler",
                                 cluster.address, "--json", "--no-progress", "--dask-timeout", "30s", "--workers", "6",
                                 "--out", out], env=env, cwd=home, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        t0 = time.monotonic()
        parts = []
        killed = False
        while time.monotonic() - t0 < 300 and proc.poll() is None:  # the first finished task: kill a worker
            fs.invalidate_cache()
            parts = fs.glob(f"{BUCKET}/killed{attempt}.parquet.parts/*.parquet")
            if parts:
                os.kill(victim.pid, signal.SIGKILL)
                killed = True
                break
            time.sleep(0.05)
        still_running = proc.poll() is None
        stdout, stderr = proc.communicate(timeout=600)
        if killed or attempt == len(extra) - 1:
            break
    assert victim.poll() == -signal.SIGKILL, "the worker was not killed"
    assert still_running, f"the sweep ended before the kill ({len(parts)} parts)"
    assert proc.returncode == 0, stderr
    a, b = _by_cell(json.loads(local.stdout)), _by_cell(json.loads(stdout))
    assert a.keys() == b.keys()
    for k in a:
        assert json.dumps(a[k], sort_keys=True) == json.dumps(b[k], sort_keys=True), k
    fs.invalidate_cache()
    assert fs.exists(f"{BUCKET}/killed{attempt}.parquet") and not fs.glob(f"{BUCKET}/killed{attempt}.parquet.parts/*")

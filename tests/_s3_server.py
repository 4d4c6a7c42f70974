"""A real S3-compatible server on 127.0.0.1 for tests: the moto server as a subprocess, its request
log (one line per HTTP request) kept in a file so a test can count what was fetched."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

#: credentials the moto server accepts (any); the secret is a value a test can look for in outputs
KEY_ID = "liqcore-test-key-id"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20.0, proc=None) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def s3_env(endpoint: str, home: Path, secret: str = "liqcore-test-secret") -> dict:
    """The environment of a process that reaches the server: the standard AWS variables only (the
    user's profile files are kept out)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=secret,
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=str(home / "aws-config"),
               AWS_SHARED_CREDENTIALS_FILE=str(home / "aws-credentials"), AWS_EC2_METADATA_DISABLED="true")
    return env


class MotoServer:
    """``python -m moto.server`` on a free port of 127.0.0.1; ``log`` holds its request lines."""

    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log = self.workdir / "moto.log"
        self.proc = None

    def __enter__(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        fh = open(self.log, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=fh, stderr=subprocess.STDOUT, cwd=self.workdir)
        fh.close()
        wait_port(self.port, proc=self.proc)
        return self

    def __exit__(self, *exc):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def requests(self) -> list[str]:
        """The request lines so far, e.g. ``GET /bucket/key HTTP/1.1``."""
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            a, q, rest = line.partition('"')
            if q:
                out.append(rest.partition('"')[0])
        return out

    def make_bucket(self, name: str, env: dict) -> None:
        subprocess.run([sys.executable, "-c", "import s3fs; s3fs.S3FileSystem().mkdir(%r)" % name], env=env,
                       check=True, timeout=60)

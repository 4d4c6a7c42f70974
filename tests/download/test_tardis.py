"""``liqcore download tardis`` against a real HTTP server on 127.0.0.1 laid out as datasets.tardis.dev
(``/v1/<exchange>/<type>/<YYYY>/<MM>/<DD>/<SYMBOL>.csv.gz``, a Bearer key, 401 for a wrong one): the
three kinds fill the dataset; no key or a wrong key is one line and the key is in no output."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from liqcore.dataset import load_dataset
from liqcore.types import Kind
from tests.download._archive_server import ArchiveServer, tardis

ROOT = Path(__file__).resolve().parents[2]
KEY = "TD.k3y-that-must-never-show.0123456789"
DAYS = ("2024-03-01", "2024-03-02")


def _run(url: str, ds: Path, env_key: str | None, *more: str, into: str = "--dataset") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TARDIS_API_KEY"}
    env["PYTHONPATH"] = str(ROOT)
    if env_key is not None:
        env["TARDIS_API_KEY"] = env_key
    return subprocess.run([sys.executable, "-m", "liqcore", "download", "tardis", "--exchange", "binance-futures",
                           "--symbols", "BTCUSDT", "--types", "liquidations,trades,quotes", "--from", DAYS[0],
                           "--to", DAYS[1], into, str(ds), "--base-url", url, *more],
                          env=env, capture_output=True, text=True, timeout=300)


def test_liquidations_trades_and_quotes_fill_the_dataset(tmp_path):
    files = tardis("binance-futures", "BTCUSDT", DAYS)
    ds = tmp_path / "ds"
    with ArchiveServer(files, key=KEY) as srv:
        r = _run(srv.url, ds, KEY)
        assert r.returncode == 0, r.stderr
        assert {a for _p, _t, _s, a in srv.log} == {f"Bearer {KEY}"}
        assert len(srv.log) == 6 and {s for _p, _t, s, _a in srv.log} == {200}
    ev = load_dataset(ds).events
    kinds = {int(k): int(n) for k, n in zip(*np.unique(ev["kind"], return_counts=True))}
    assert kinds == {int(Kind.LIQUIDATION): 2 * 12, int(Kind.TRADE): 2 * 40, int(Kind.QUOTE): 2 * 2 * 25}
    assert "liquidations: 2 file(s), 2 day(s)" in r.stderr and "24 rows added" in r.stderr
    assert "quotes: 2 file(s), 2 day(s)" in r.stderr and "100 rows added" in r.stderr
    assert KEY not in r.stdout + r.stderr


def test_a_key_file_of_mode_0600_is_read_and_a_readable_one_refused(tmp_path):
    files = tardis("binance-futures", "BTCUSDT", DAYS[:1], types=("liquidations",))
    kf = tmp_path / "tardis.key"
    kf.write_text(f"TARDIS_API_KEY={KEY}\n")
    kf.chmod(0o644)
    with ArchiveServer(files, key=KEY) as srv:
        r = _run(srv.url, tmp_path / "ds", None, "--to", DAYS[0], "--types", "liquidations", "--key-file", str(kf))
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "chmod 600" in r.stderr
        assert srv.log == [] and KEY not in r.stdout + r.stderr
        kf.chmod(0o600)
        r = _run(srv.url, tmp_path / "ds", None, "--to", DAYS[0], "--types", "liquidations", "--key-file", str(kf))
        assert r.returncode == 0, r.stderr
        assert "liquidations: 1 file(s), 1 day(s)" in r.stderr and KEY not in r.stdout + r.stderr


@pytest.mark.parametrize("key, says", [
    (None, "TARDIS_API_KEY: no tardis.dev API key (without one tardis.dev serves the first day of each month only: "
           "1 requested day(s) are not); set TARDIS_API_KEY or give --key-file FILE"),
    ("TD.wrong-key-also-secret-987654321", "tardis.dev refused the API key (HTTP 401)"),
])
def test_no_key_or_a_wrong_key_is_one_line_and_the_key_is_in_no_output(tmp_path, key, says):
    files = tardis("binance-futures", "BTCUSDT", DAYS)
    ds = tmp_path / "ds"
    with ArchiveServer(files, key=KEY) as srv:
        r = _run(srv.url, ds, key)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("liqcore download: error: ") and says in lines[0], r.stderr
    assert r.stdout == ""
    for secret in (KEY, key):
        if secret:
            assert secret not in r.stdout + r.stderr
    if key is None:
        assert srv.log == []  # nothing asked without a key
    else:
        assert {s for _p, _t, s, _a in srv.log} == {401}
    assert not ds.exists() or not any(ds.glob("venue=*"))


@pytest.mark.parametrize("text", [f"{KEY}\n", f"# tardis.dev\nTARDIS_API_KEY='{KEY}'\n", f'{{"api_key": "{KEY}"}}'])
def test_a_key_file_holds_the_key_alone_a_name_value_line_or_json(tmp_path, text):
    from liqcore.secrets import Secret, load_api_key

    kf = tmp_path / "k"
    kf.write_text(text)
    kf.chmod(0o600)
    key = load_api_key("TARDIS_API_KEY", kf, env={})
    assert isinstance(key, Secret) and key.reveal() == KEY and KEY not in repr(key) + str(key)
    assert load_api_key("TARDIS_API_KEY", None, env={"TARDIS_API_KEY": KEY}).reveal() == KEY
    with pytest.raises(ValueError, match="TARDIS_API_KEY: no API key") as err:
        load_api_key("TARDIS_API_KEY", None, env={})
    kf.write_text("OTHER=1\n")
    with pytest.raises(ValueError, match="holds neither TARDIS_API_KEY nor api_key") as err:
        load_api_key("TARDIS_API_KEY", kf, env={})
    assert KEY not in str(err.value)


def test_out_keeps_tardis_files_under_tardis_names_and_converting_them_gives_the_same_dataset(tmp_path):
    from liqcore.dataset import convert_to_dataset

    files = tardis("binance-futures", "BTCUSDT", DAYS)
    out, ds, ref = tmp_path / "out", tmp_path / "ds", tmp_path / "ref"
    with ArchiveServer(files, key=KEY) as srv:
        r = _run(srv.url, ds, KEY)
        assert r.returncode == 0, r.stderr
        r = _run(srv.url, out, KEY, into="--out")
        assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"binance-futures_{t}_{d}_BTCUSDT.csv.gz" for t in ("liquidations", "trades", "quotes")
                           for d in DAYS)
    for path, body in files.items():
        _v, _ex, t, y, m, d, sym = path.strip("/").split("/")
        assert (out / f"binance-futures_{t}_{y}-{m}-{d}_{sym.split('.')[0]}.csv.gz").read_bytes() == body
    convert_to_dataset([out], ref)
    assert load_dataset(ds).events.tobytes() == load_dataset(ref).events.tobytes()

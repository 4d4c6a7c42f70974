"""Every writer renames through the one atomic helper (fsynced), and resuming a table of parts names
a part it cannot read instead of skipping it silently."""
from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.parquet as pq

from liqcore import _atomic
from liqcore.synthetic.market import synthetic_market
from liqcore.dataset.read import MANIFEST
from liqcore.dataset import convert_to_dataset
from liqcore.io import save_events


def test_a_dataset_convert_fsyncs_every_file_it_renames(tmp_path, monkeypatch):
    market = synthetic_market(days=1, symbols=("BTCUSDT",), seed=5)
    src = tmp_path / "in.parquet"
    save_events(market.events[:500], src, registry=market.registry)
    synced: list[str] = []
    replaced: list[str] = []
    real_fsync, real_replace = os.fsync, _atomic.os.replace

    def fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real_fsync(fd)

    def replace(a, b):
        replaced.append(str(b))
        return real_replace(a, b)

    monkeypatch.setattr(_atomic.os, "fsync", fsync)
    monkeypatch.setattr(_atomic.os, "replace", replace)
    convert_to_dataset([src], tmp_path / "ds")
    parts = [r for r in replaced if r.endswith("part-0.parquet")]
    assert parts and any(r.endswith(MANIFEST) for r in replaced)
    # each renamed file was fsynced under its temporary name, and its directory after the rename
    tmp_synced = [s for s in synced if ".tmp" in os.path.basename(s)]
    assert len(tmp_synced) >= len(parts) + 1
    for r in parts + [str(tmp_path / "ds" / MANIFEST)]:
        assert os.path.dirname(r) in synced, r


def test_resuming_a_sweep_names_an_unreadable_part(tmp_path, capsys):
    from liqcore.sweep.store import Store

    out = tmp_path / "sweep.parquet"
    parts = tmp_path / "sweep.parquet.parts"
    parts.mkdir()
    pq.write_table(pa.table({"cell": ["a"], "x": [1.0]}), parts / "good.parquet")
    (parts / "cut.parquet").write_bytes(b"PAR1 cut short")
    store = Store(out)
    assert set(store.rows) == {"a"}
    err = capsys.readouterr().err
    assert f"resume: part {parts / 'cut.parquet'} is unreadable (" in err and "its cells run again" in err
    assert "good.parquet" not in err


def test_resuming_a_parts_store_on_a_url_names_an_unreadable_part(tmp_path, capsys):
    from liqcore.io.storage import PartsStore

    out = f"file://{tmp_path}/sweep.parquet"
    parts = tmp_path / "sweep.parquet.parts"
    parts.mkdir()
    pq.write_table(pa.table({"cell": ["b"], "x": [2.0]}), parts / "good.parquet")
    (parts / "cut.parquet").write_bytes(b"not parquet")
    rows: dict = {}
    PartsStore(out, rows)
    assert set(rows) == {"b"}
    err = capsys.readouterr().err
    assert "resume: part " in err and "cut.parquet is unreadable (" in err

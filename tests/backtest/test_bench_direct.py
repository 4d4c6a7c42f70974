"""benches/bench_density.py --direct: the dataset written straight from the generated events is the one
``liqcore convert`` makes of the generated tardis files (the 30-day bench's dataset stands for convert's)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_density", ROOT / "benches" / "bench_density.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_direct_dataset_equals_convert_of_the_files(tmp_path):
    from liqcore.cli import main
    from liqcore.dataset import load_dataset

    b = _bench()
    raw = tmp_path / "raw"
    raw.mkdir()
    for d in range(2):
        b.generate_day(raw, "BTCUSDT", d, 5_000, 150, 4, 3, 9_000)
    files = sorted(str(p) for p in raw.glob("*.csv.gz"))
    assert len(files) == 6  # trades, liquidations, quotes x 2 days
    assert main(["convert", *files, "--dataset", str(tmp_path / "conv")]) == 0
    n = b.write_direct(tmp_path / "direct", ["BTCUSDT"], 2, 5_000, 150, 4, 3, 9_000)
    assert n["trades"] == 10_000 and n["quotes"] == 18_000 and n["liquidations"] > 0
    conv = sorted(p.relative_to(tmp_path / "conv") for p in (tmp_path / "conv").rglob("*.parquet"))
    direct = sorted(p.relative_to(tmp_path / "direct") for p in (tmp_path / "direct").rglob("*.parquet"))
    assert conv == direct and len(conv) == 2
    for rel in conv:  # the same partition files: rows, trade ids, the checked mark
        a, d = pq.read_table(tmp_path / "conv" / rel), pq.read_table(tmp_path / "direct" / rel)
        assert a.schema.metadata == d.schema.metadata
        assert a.equals(d), rel
    ea, ed = load_dataset(str(tmp_path / "conv")).events, load_dataset(str(tmp_path / "direct")).events
    assert len(ea) == 10_000 + 2 * 18_000 + n["liquidations"]
    assert ea.tobytes() == ed.tobytes()

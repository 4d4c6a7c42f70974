"""A user's own liquidation file goes into a dataset as it goes into ``--out``: ``convert FILE --dataset DS
--columns ... --kind liquidation`` reads it through the mapping (CSV, Parquet and JSON lines, plain or gzipped),
the dataset then holds the same events as ``convert --out``; ``--kind liquidations`` (the plural ``download
--types`` uses) is the kind; and every command's ``--kind`` is checked alike (``detect --kind foo`` is refused as
``events --kind foo`` is)."""
from __future__ import annotations

import gzip
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from liqcore.dataset.load import load_events

MAP = ["--columns", "ts=ts_ms,symbol=symbol,side=side,price=price,qty=qty", "--ts-unit", "ms", "--side-means",
       "position", "--venue", "binance"]


def _table(n=300):
    rng = np.random.default_rng(5)
    return pa.table({"ts_ms": 1_722_470_400_000 + np.sort(rng.integers(0, 2 * 86_400_000, n)),
                     "symbol": np.where(np.arange(n) % 3 == 0, "ETHUSDT", "BTCUSDT"),
                     "side": np.where(rng.random(n) < 0.5, "long", "short"),
                     "price": np.round(60_000 + rng.normal(0, 100, n), 1),
                     "qty": np.round(rng.lognormal(-2, 1, n), 3) + 0.001})


def _write(path, how: str):
    t = _table()
    if how == "csv":
        pcsv.write_csv(t, path)
    elif how == "parquet":
        pq.write_table(t, path)
    else:
        text = b"".join(orjson.dumps(r) + b"\n" for r in t.to_pylist())
        path.write_bytes(gzip.compress(text) if how == "jsonl.gz" else text)
    return t


def _cli(capsys, *args):
    """``liqcore ARGS`` in this process: (exit code, stderr)."""
    from types import SimpleNamespace

    from liqcore.cli import main

    capsys.readouterr()
    code = main([str(a) for a in args])
    return SimpleNamespace(returncode=code, stderr=capsys.readouterr().err)


def _rows(ev):
    return sorted(zip(ev["ts_event"].tolist(), ev["price"].tolist(), ev["qty"].tolist(), ev["side"].tolist(),
                      ev["kind"].tolist()))


@pytest.mark.parametrize("how", ["csv", "parquet", "jsonl", "jsonl.gz"])
def test_a_mapped_liquidation_file_converts_into_a_dataset(tmp_path, capsys, how):
    src = tmp_path / f"liqs.{how}"
    t = _write(src, how)
    ds = tmp_path / "ds"
    r = _cli(capsys, "convert", src, "--dataset", ds, *MAP, "--kind", "liquidation")
    assert r.returncode == 0, r.stderr
    assert f"{t.num_rows} new rows" in r.stderr and "columns: ts ← ts_ms" in r.stderr, r.stderr
    r = _cli(capsys, "convert", src, "--out", tmp_path / "o.parquet", *MAP, "--kind", "liquidation")
    assert r.returncode == 0, r.stderr
    got, want = load_events(str(ds)).events, load_events(str(tmp_path / "o.parquet")).events
    assert len(got) == t.num_rows and _rows(got) == _rows(want)
    assert set(got["kind"].tolist()) == {1}  # every row a liquidation


def test_the_plural_kind_is_the_kind(tmp_path, capsys):
    src = tmp_path / "liqs.csv"
    t = _write(src, "csv")
    r = _cli(capsys, "convert", src, "--dataset", tmp_path / "ds", *MAP, "--kind", "liquidations")
    assert r.returncode == 0 and f"{t.num_rows} new rows" in r.stderr, r.stderr


@pytest.mark.parametrize("command", ["detect", "events", "backtest"])
def test_an_unknown_kind_is_refused_by_every_command(tmp_path, capsys, command):
    src = tmp_path / "liqs.csv"
    _write(src, "csv")
    r = _cli(capsys, command, src, *MAP, "--kind", "foo")
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1] == (
        f"liqcore {command}: error: kind: unknown kind 'foo' (expected liquidation, trade, mark, funding, gap, "
        "open_interest, quote, depth)"), r.stderr

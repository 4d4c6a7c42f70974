"""`liqcore convert`'s options alike for `--out` and `--dataset`:

* ``--start`` / ``--end`` are checked the same way for either output and honoured with ``--dataset`` (they were
  ignored: the whole file went in, and a bad value was not even read), the dataset keeping the events ``--out``
  writes; its manifest records the file as converted for that span only, so the same convert again skips it and
  one for another span, or none, takes it again (the rows already there not added twice);
* a selection that keeps no event (``--kind trade`` of a file without trades) fails as "no usable events" with
  ``--dataset`` as with ``--out`` (it was exit 0, "0 new rows", and a dataset folder of a manifest alone), leaving
  no dataset folder behind and the manifest of an existing dataset as it was; ``--allow-empty``: a warning;
* ``--force`` and ``--lock-wait``, options of ``--dataset``, are refused with ``--out`` (they were accepted
  silently)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from liqcore.cli import main
from liqcore.dataset import load_dataset

DAY = 86_400_000_000  # µs
T0 = 1_737_892_800_000_000  # 2025-01-26 12:00 UTC, µs (the tardis CSV's unit)


def _trades(path: Path, n: int = 48) -> Path:
    """``n`` BTCUSDT trades one hour apart from 2025-01-26 12:00 UTC (received 3 ms after), each its own id."""
    rows = ["exchange,symbol,timestamp,local_timestamp,id,side,price,amount"]
    for i in range(n):
        t = T0 + i * 3_600_000_000
        rows.append(f"binance-futures,BTCUSDT,{t},{t + 3000},{i + 1},{'sell' if i % 2 else 'buy'},{100000 + i},0.5")
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture
def src(tmp_path):
    return _trades(tmp_path / "binance-futures_trades_2025-01-26_BTCUSDT.csv")


def _convert(capsys, *args) -> tuple[int, str]:
    code = main(["convert", *map(str, args)])
    return code, capsys.readouterr().err


def _rows(ds: Path) -> int:
    return len(load_dataset(ds).events)


def _manifest(ds: Path) -> dict:
    (entry,) = json.loads((ds / "_liqcore_manifest.json").read_text()).values()
    return entry


SPAN = ["--start", "2025-01-27T00:00:00Z", "--end", "2025-01-28T00:00:00Z"]


def test_start_end_keep_the_same_events_in_a_dataset_as_in_a_file(tmp_path, src, capsys):
    code, err = _convert(capsys, src, "--out", tmp_path / "c.csv", *SPAN)
    assert code == 0 and "wrote 24 events" in err, err  # 2025-01-27, received in [00:00, 24:00)
    ds = tmp_path / "ds"
    code, err = _convert(capsys, src, "--dataset", ds, *SPAN)
    assert code == 0 and "24 new rows" in err, err
    assert _rows(ds) == 24
    ev = load_dataset(ds).events
    assert ev["ts_recv"].min() >= 1_737_936_000_000_000_000 and ev["ts_recv"].max() < 1_738_022_400_000_000_000
    entry = _manifest(ds)
    assert entry["filters"] == [{"kind": None, "symbol": None, "span": ["2025-01-27", "2025-01-28"]}]

    code, err = _convert(capsys, src, "--dataset", ds, *SPAN)  # the same span again: already converted
    assert code == 0 and "skipped 1 already converted; 0 new rows" in err, err
    code, err = _convert(capsys, src, "--dataset", ds, "--start", "2025-01-26T18:00:00Z", "--end", "2025-01-27T00:00:00Z")
    assert code == 0 and "converted 1 file(s)" in err and "6 new rows" in err, err  # another span: taken
    assert _rows(ds) == 30 and len(_manifest(ds)["filters"]) == 2
    code, err = _convert(capsys, src, "--dataset", ds)  # no span: the rest of the file, nothing twice
    assert code == 0 and "18 new rows" in err and "30 row(s) already in the dataset" in err, err
    assert _rows(ds) == 48 and "filters" not in _manifest(ds)  # converted whole now
    code, err = _convert(capsys, src, "--dataset", ds, "--start", "2025-01-26T20:00:00Z")
    assert code == 0 and "skipped 1 already converted" in err, err  # (a span of a file converted whole)


@pytest.mark.parametrize("bad, says", [
    (["--start", "2025-02-01", "--end", "2025-01-01"], "liqcore convert: error: end: must be after --start"),
    (["--start", "yesterday"], "liqcore convert: error: start: "),
    (["--end", "soon"], "liqcore convert: error: end: "),
])
def test_bad_start_end_are_refused_alike_for_either_output(tmp_path, src, capsys, bad, says):
    for out in (["--out", tmp_path / "c.parquet"], ["--dataset", tmp_path / "ds"]):
        code, err = _convert(capsys, src, *out, *bad)
        assert code == 2 and len(err.strip().splitlines()) == 1 and err.startswith(says), (out, err)
        assert not Path(out[1]).exists()


def test_a_selection_that_keeps_nothing_fails_alike_and_leaves_no_dataset(tmp_path, src, capsys):
    code, err = _convert(capsys, src, "--out", tmp_path / "c.csv", "--kind", "liquidation")
    assert code == 1
    said = err.strip()
    assert said.endswith("none of its 48 events match --kind liquidation (--allow-empty to accept an empty input)")
    ds = tmp_path / "ds"
    code, err = _convert(capsys, src, "--dataset", ds, "--kind", "liquidation")
    assert code == 1 and err.strip() == said, err
    assert not ds.exists()
    code, err = _convert(capsys, src, "--dataset", ds, *SPAN[:2], "--end", "2025-01-27T00:00:01Z", "--symbol",
                         "ETHUSDT")
    assert code == 1 and "none of its 48 events match --symbol ETHUSDT --start 2025-01-27" in err, err
    assert not ds.exists()

    # an existing dataset: the refused convert leaves its manifest as it was (a later convert is not skipped)
    code, err = _convert(capsys, src, "--dataset", ds, *SPAN)
    assert code == 0
    before = (ds / "_liqcore_manifest.json").read_text()
    code, err = _convert(capsys, src, "--dataset", ds, "--kind", "liquidation")
    assert code == 1 and "no usable events" in err
    assert (ds / "_liqcore_manifest.json").read_text() == before

    # --allow-empty: said, exit 0; a dataset it would have created with nothing in it is not left behind
    fresh = tmp_path / "ds2"
    code, err = _convert(capsys, src, "--dataset", fresh, "--kind", "liquidation", "--allow-empty")
    assert code == 0 and "warning: no usable events" in err and not fresh.exists(), err


@pytest.mark.parametrize("opt", [["--force"], ["--lock-wait", "0"]])
def test_dataset_options_are_refused_with_out(tmp_path, src, capsys, opt):
    out = tmp_path / "c.csv"
    code, err = _convert(capsys, src, "--out", out, *opt)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"{opt[0]} is for --dataset" in err and not out.exists()
    code, err = _convert(capsys, src, "--dataset", tmp_path / "ds", *opt)  # (where they belong: taken)
    assert code == 0, err

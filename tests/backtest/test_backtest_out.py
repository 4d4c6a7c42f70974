"""``liqcore backtest DS --out DIR``: every output format (Parquet, CSV, JSON) holds the summary in a form it can
hold -- the default (window-local) read's ``read`` statistics nested in summary.json and flattened into
``read.*`` columns in summary.parquet / summary.csv, an inverse contract's ``pnl_coin`` the same way (the CSV writer
refused the nested struct column: rc 2 with ledger.* and summary.parquet written, summary.csv and summary.json not)
-- each file reads back to the same ledger by either read, and the folder is all or nothing: a failure while
writing leaves no folder (or the earlier run's folder exactly as it was), never some of its files."""
from __future__ import annotations

import contextlib
import io
import json
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from liqcore.cli import main

_DS: dict = {}
#: the files of an --out folder (the ledger and the summary, each as Parquet and CSV; the summary and trades as JSON)
OUT_FILES = ("ledger.parquet", "ledger.csv", "summary.parquet", "summary.csv", "summary.json")
#: the ledger columns the --json / summary.json trades carry under the same name
_TRADE_FIELDS = ("venue", "symbol", "side", "signal_ns", "entry_ns", "entry_price", "exit_ns", "exit_price",
                 "exit_reason", "fees", "fees_quote", "return")


def _dataset(tmp_path_factory) -> str:
    """A 1-day synthetic market of two symbols as a converted dataset of small row groups (12 trades by either
    read with the default parameters)."""
    if "ds" not in _DS:
        import liqcore.dataset.read as iod
        from liqcore.dataset import write_dataset
        from liqcore.synthetic.market import synthetic_market

        m = synthetic_market(days=1, symbols=("BTCUSDT", "ETHUSDT"), seed=5, cache=False)
        out = tmp_path_factory.mktemp("outds") / "ds"
        keep = iod.ROW_GROUP_ROWS
        iod.ROW_GROUP_ROWS = 2_000  # small row groups, so the window-local read has groups to pass over
        try:
            write_dataset(m.events, out, m.registry, checked=True)
        finally:
            iod.ROW_GROUP_ROWS = keep
        _DS["ds"] = str(out)
    return _DS["ds"]


def _leftovers(parent):
    return sorted(p.name for p in parent.iterdir() if ".liqcore-tmp-" in p.name)


def _read_back(out):
    """Every file of an --out folder read back: (ledger.parquet, ledger.csv, summary.parquet, summary.csv,
    summary.json) as (Table, Table, Table, Table, dict)."""
    assert sorted(p.name for p in out.iterdir()) == sorted(OUT_FILES)
    led, summ = pq.read_table(out / "ledger.parquet"), pq.read_table(out / "summary.parquet")
    return (led, _csv(out / "ledger.csv", led.schema), summ, _csv(out / "summary.csv", summ.schema),
            json.loads((out / "summary.json").read_text()))


def _csv(path, schema) -> pa.Table:
    """A CSV file read with the column types of its Parquet twin, a null (an empty field) told from an empty
    text (``""``) as the writer tells them."""
    return pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(column_types=schema, strings_can_be_null=True,
                                                                   quoted_strings_can_be_null=False))


def _same_table(a: pa.Table, b: pa.Table) -> None:
    """The same columns and values (floats compared as numbers: NaN equals NaN)."""
    assert a.column_names == b.column_names
    assert a.num_rows == b.num_rows
    for name in a.column_names:
        x, y = a.column(name).to_pylist(), b.column(name).to_pylist()
        if pa.types.is_floating(a.schema.field(name).type):
            np.testing.assert_array_equal(np.array(x, dtype=float), np.array(y, dtype=float), err_msg=name)
        else:
            assert x == y, name


@pytest.fixture(scope="module")
def outs(tmp_path_factory):
    """``liqcore backtest DS --out DIR`` by the default read and by --read all: {read: (rc, stderr, DIR)}."""
    ds = _dataset(tmp_path_factory)
    root = tmp_path_factory.mktemp("outs")
    got = {}
    for read in ("auto", "all"):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc = main(["backtest", ds, "--no-progress", "--read", read, "--out", str(root / read / "bt")])
        got[read] = (rc, err.getvalue(), root / read / "bt")
    return got


@pytest.mark.parametrize("read", ["auto", "all"])
def test_every_output_format_reads_back_the_same_ledger(outs, read):
    rc, err, out = outs[read]
    assert rc == 0, err
    # the default read is the window-local one (the read that failed), --read all the full replay
    assert ("read window-local" in err) == (read == "auto"), err
    led_pq, led_csv, sum_pq, sum_csv, doc = _read_back(out)
    assert led_pq.num_rows > 0
    _same_table(led_pq, led_csv)
    trades = doc["trades"]
    assert len(trades) == led_pq.num_rows
    for f in _TRADE_FIELDS:
        assert [t[f] for t in trades] == led_pq.column(f).to_pylist(), f
    _same_table(sum_pq, sum_csv)
    assert sum_pq.column("scope").to_pylist()[0] == "all"
    assert sum_pq.column("trades").to_pylist()[0] == doc["summary"]["trades"] == led_pq.num_rows
    assert _leftovers(out.parent) == []


def test_the_read_statistics_are_nested_in_json_and_flattened_in_the_tables(outs):
    _, _, out = outs["auto"]
    _, _, sum_pq, sum_csv, doc = _read_back(out)
    read = doc["summary"]["read"]
    assert read["path"] == "windows" and read["rows_total"] > read["rows_read"] > 0, read
    for key in ("path", "rows_read", "rows_total", "rows_clock", "clock_rows", "rows_skipped", "clock_indexed",
                "windows_unread"):
        for table in (sum_pq, sum_csv):
            assert table.column(f"read.{key}").to_pylist()[0] == read[key], key
    assert not any(pa.types.is_struct(f.type) for f in sum_pq.schema)
    _, _, all_pq, _, all_doc = _read_back(outs["all"][2])  # the full replay reads every row: no read statistics
    assert "read" not in all_doc["summary"] and not any(c.startswith("read") for c in all_pq.column_names)


def test_both_reads_write_the_same_ledger(outs):
    a, b = _read_back(outs["auto"][2]), _read_back(outs["all"][2])
    _same_table(a[0], b[0])
    _same_table(a[1], b[1])
    assert a[4]["trades"] == b[4]["trades"]


def _failing_summary_csv(monkeypatch):
    """pyarrow's CSV writer fails on summary.csv as it did on the nested column (the ledger files before it are
    written by then)."""
    real = pcsv.write_csv

    def write(table, where, *a, **kw):
        if str(where).endswith("summary.csv"):
            raise pa.ArrowInvalid("Unsupported Type:struct<forced failure>")
        return real(table, where, *a, **kw)

    monkeypatch.setattr(pcsv, "write_csv", write)


def test_a_failure_while_writing_leaves_no_folder(tmp_path_factory, tmp_path, monkeypatch, capsys):
    ds = _dataset(tmp_path_factory)
    _failing_summary_csv(monkeypatch)
    out = tmp_path / "new" / "bt"
    assert main(["backtest", ds, "--no-progress", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "liqcore backtest: error: Unsupported Type:struct<forced failure>", err
    assert "Traceback" not in "\n".join(err)
    assert not out.exists() and not (tmp_path / "new").exists()  # (the CLI created them: removed, empty)
    assert list(tmp_path.iterdir()) == []


def test_a_failure_while_writing_keeps_the_earlier_folder_as_it_was(outs, tmp_path, monkeypatch):
    from liqcore.backtest.run import backtest
    from liqcore.config import Params

    out = tmp_path / "bt"
    shutil.copytree(outs["all"][2], out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    res = backtest([_DS["ds"]], Params.from_mapping({"take-profit": "1%"}), equity=500.0)
    _failing_summary_csv(monkeypatch)
    with pytest.raises(pa.ArrowInvalid):
        res.save(out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _leftovers(tmp_path) == []
    monkeypatch.undo()
    res.save(out)  # the same write without the failure replaces the folder whole
    doc = json.loads((out / "summary.json").read_text())
    assert doc["summary"]["equity_start"] == 500.0 and pq.read_table(out / "summary.parquet").column(
        "equity_start").to_pylist()[0] == 500.0


def test_an_out_folder_shared_with_other_files_keeps_them(outs, tmp_path):
    from liqcore.backtest.run import backtest
    from liqcore.config import Params

    out = tmp_path / "bt"
    out.mkdir()
    (out / "report.html").write_text("<p>a report</p>")
    backtest([_DS["ds"]], Params(), equity=10_000.0).save(out)
    assert sorted(p.name for p in out.iterdir()) == sorted([*OUT_FILES, "report.html"])
    assert (out / "report.html").read_text() == "<p>a report</p>"
    _same_table(pq.read_table(out / "ledger.parquet"), pq.read_table(outs["auto"][2] / "ledger.parquet"))


def test_an_inverse_contracts_coin_pnl_is_flattened_in_the_tables(tmp_path):
    """``pnl_coin`` (per margin coin, with its units) is nested as ``read`` is: CSV refused it too."""
    from tests.backtest.test_inverse_reports import _run

    res = _run("BTCUSD_PERP")
    res.save(tmp_path / "inv")
    _, _, sum_pq, sum_csv, doc = _read_back(tmp_path / "inv")
    btc = doc["summary"]["pnl_coin"]["BTC"]
    for table in (sum_pq, sum_csv):
        assert table.column("pnl_coin.BTC.pnl").to_pylist()[0] == pytest.approx(btc["pnl"], rel=1e-15)
        assert table.column("pnl_coin.BTC.units.pnl").to_pylist()[0] == "BTC"
        assert table.column("pnl_coin.BTC.fees_usd").to_pylist()[0] == pytest.approx(btc["fees_usd"], rel=1e-15)

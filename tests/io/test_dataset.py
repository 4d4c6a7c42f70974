"""Partitioned Parquet datasets: convert --dataset, incremental conversion, no duplicates, lazy
filtered reads, commands reading a dataset."""
import json

import numpy as np
import pytest

from liqcore.synthetic.market import synthetic_market
from liqcore.cli import main
from liqcore.dataset import dataset_info, load_dataset
from liqcore.io import save_events
from liqcore.dataset.load import load_events

D = 86_400_000_000_000


@pytest.fixture(scope="module")
def market():
    return synthetic_market(days=3, symbols=("ETHUSDT", "SOLUSDT"), seed=5)


def _key(ev, reg):
    names = reg.symbols_array()
    return sorted(zip(ev["ts_event"].tolist(), names[ev["symbol_id"]].tolist(), ev["kind"].tolist(),
                      ev["price"].tolist(), ev["qty"].tolist(), ev["ts_recv"].tolist()))


def test_convert_dataset_incremental_and_without_duplicates(tmp_path, market, capsys):
    ev = market.events
    t0 = int(ev["ts_event"][0]) // D * D
    day1 = tmp_path / "day1.parquet"
    day23 = tmp_path / "day23.parquet"
    save_events(ev[ev["ts_event"] < t0 + D], day1, registry=market.registry)
    save_events(ev[ev["ts_event"] >= t0 + D], day23, registry=market.registry)
    ds = tmp_path / "ds"
    assert main(["convert", str(day1), "--dataset", str(ds)]) == 0
    parts1 = dataset_info(ds)
    assert {p[1] for p in parts1} == {"ETHUSDT", "SOLUSDT"} and len({p[2] for p in parts1}) == 1
    assert (ds / "venue=bybit" / "symbol=ETHUSDT").is_dir()
    # a new day's recording adds partitions
    assert main(["convert", str(day1), str(day23), "--dataset", str(ds)]) == 0
    err = capsys.readouterr().err
    assert "skipped 1 already converted" in err
    assert len(dataset_info(ds)) == 2 * 3
    res = load_dataset(ds)
    assert _key(res.events, res.registry) == _key(ev, market.registry)
    # converting the same data again (forced, or under another name) never duplicates rows
    assert main(["convert", str(day23), "--dataset", str(ds), "--force"]) == 0
    copy = tmp_path / "copy.parquet"
    copy.write_bytes(day23.read_bytes())
    assert main(["convert", str(copy), "--dataset", str(ds)]) == 0
    assert "0 new rows" in capsys.readouterr().err
    assert len(load_dataset(ds).events) == len(ev)


def test_filtered_reads_and_commands(tmp_path, market, capsys):
    ev = market.events
    f = tmp_path / "all.parquet"
    save_events(ev, f, registry=market.registry)
    ds = tmp_path / "ds"
    assert main(["convert", str(f), "--dataset", str(ds)]) == 0
    t0 = int(ev["ts_event"][0]) // D * D
    sub = load_dataset(ds, symbols=["SOLUSDT"], start_ns=t0 + D, end_ns=t0 + 2 * D)
    sid = market.registry.get("bybit", "SOLUSDT")
    want = ev[(ev["symbol_id"] == sid) & (ev["ts_event"] >= t0 + D) & (ev["ts_event"] < t0 + 2 * D)]
    assert _key(sub.events, sub.registry) == _key(want, market.registry)
    # load_events reads a dataset directory like any recording
    assert len(load_events([ds]).events) == len(ev)
    # backtest on the dataset with filters == backtest on the same events from a file
    g = tmp_path / "sol.parquet"
    save_events(want, g, registry=market.registry)
    capsys.readouterr()
    assert main(["backtest", str(ds), "--symbols", "SOLUSDT", "--start", str(np.datetime64(t0 + D, "ns"))[:10],
                 "--end", str(np.datetime64(t0 + 2 * D, "ns"))[:10], "--json"]) == 0
    a = json.loads(capsys.readouterr().out)
    assert main(["backtest", str(g), "--json"]) == 0
    b = json.loads(capsys.readouterr().out)
    assert a["trades"] == b["trades"] and a["summary"]["cascades"] == b["summary"]["cascades"]
    # sweep over the dataset: one row per symbol partition
    assert main(["sweep", str(ds), "--grid", "offset=0.1%,0.2%", "--workers", "1", "--json", "--no-progress"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 4 and {r["partition"] for r in rows} == {"ETHUSDT", "SOLUSDT"}


def test_a_selection_given_as_one_string_or_in_any_case_is_the_names_it_spells(tmp_path, market):
    """``symbols="SOLUSDT"`` and ``venues="bybit"`` are one name each (never their letters), a comma list is its names,
    and a name in another case is the dataset's own (``solusdt`` -> ``SOLUSDT``), for ``load_dataset``,
    ``check_selection`` and ``has_depth`` alike, as ``load_events`` reads a selection."""
    from liqcore.dataset import check_selection, has_depth

    f = tmp_path / "all.parquet"
    save_events(market.events, f, registry=market.registry)
    ds = tmp_path / "ds"
    assert main(["convert", str(f), "--dataset", str(ds)]) == 0
    sol = load_dataset(ds, symbols=["SOLUSDT"])
    n = len(sol.events)
    assert 0 < n < len(market.events)
    for sel in ("SOLUSDT", " solusdt ", ["solusdt"], ("SOLUSDT",)):
        assert len(load_dataset(ds, symbols=sel, venues="bybit").events) == n, sel
        assert {p[1] for p in check_selection(ds, symbols=sel)} == {"SOLUSDT"}, sel
    assert len(load_dataset(ds, symbols="SOLUSDT,ethusdt").events) == len(market.events)
    assert not has_depth(ds, symbols="SOLUSDT")  # (a dataset of no depth; the name read whole)
    with pytest.raises(ValueError, match=r"no data for symbol\(s\) BTCUSDT \(has"):
        load_dataset(ds, symbols="BTCUSDT")
    with pytest.raises(ValueError, match=r"no data for venue\(s\) okx$"):
        load_dataset(ds, venues="OKX")


def test_a_sweep_grid_value_given_alone_is_a_list_of_one(market):
    """``liqcore.sweep(res, {"offset": "0.2%"})``: one value, never the string's characters."""
    import liqcore

    one = liqcore.sweep(market, {"offset": "0.2%"}, progress=False)
    two = liqcore.sweep(market, {"offset": ["0.2%"]}, progress=False)
    assert len(one) == len(two) == 1
    with pytest.raises(ValueError, match="expected a mapping"):
        liqcore.sweep(market, [("offset", "0.2%")], progress=False)


@pytest.mark.parametrize("args,msg", [
    (["--symbols", "BTCUSDT"], "no data for symbol(s) BTCUSDT"),
    (["--start", "2020-01-01", "--end", "2020-02-01"], "no data between 2020-01-01"),
])
def test_dataset_without_requested_symbols_or_dates(tmp_path, market, capsys, args, msg):
    f = tmp_path / "all.parquet"
    save_events(market.events[:5000], f, registry=market.registry)
    ds = tmp_path / "ds"
    assert main(["convert", str(f), "--dataset", str(ds)]) == 0
    capsys.readouterr()
    for cmd in (["sweep", str(ds), "--grid", "offset=0.1%,0.2%", "--workers", "1"],
                ["walkforward", str(ds), "--grid", "offset=0.1%,0.2%", "--workers", "1"],
                ["backtest", str(ds), "--no-progress"]):
        rc = main(cmd + args)
        err = capsys.readouterr().err
        assert rc == 2 and msg in err and err.count("\n") == 1, cmd


def test_sweep_over_day_chunks_of_a_dataset(tmp_path, market, capsys):
    """--partition-days 1 --warmup 0: each (symbol, day) is its own partition; a chunk's row equals a
    backtest of that day's events alone."""
    f = tmp_path / "all.parquet"
    save_events(market.events, f, registry=market.registry)
    ds = tmp_path / "ds"
    assert main(["convert", str(f), "--dataset", str(ds)]) == 0
    capsys.readouterr()
    assert main(["sweep", str(ds), "--symbols", "ETHUSDT", "--grid", "offset=0.1%,0.2%", "--partition-days", "1",
                 "--warmup", "0", "--workers", "1", "--json", "--no-progress"]) == 0
    rows = json.loads(capsys.readouterr().out)
    t0 = int(market.events["ts_event"][0]) // D * D
    days = [str(np.datetime64(t0 + k * D, "ns"))[:10] for k in range(3)]
    assert {r["partition"] for r in rows} == {f"ETHUSDT@{d}" for d in days} and len(rows) == 6
    from liqcore.backtest.run import backtest
    from liqcore.config import Params

    day = load_dataset(ds, symbols=["ETHUSDT"], start_ns=t0 + D, end_ns=t0 + 2 * D)
    for r in rows:
        if r["partition"] == f"ETHUSDT@{days[1]}":
            ref = backtest(day.events, Params.from_mapping({"offset": r["offset"]}), registry=day.registry,
                           equity=10_000.0).summary()
            assert (r["trades"], r["total_return"], r["cascades"]) == (ref["trades"], ref["total_return"], ref["cascades"])
    # a walk-forward over day chunks with a warm-up runs and reports every fold
    assert main(["walkforward", str(ds), "--grid", "offset=0.1%,0.2%", "--grid", "quantile=0.9,0.95", "--folds", "2",
                 "--partition-days", "1", "--warmup", "12h", "--workers", "1", "--json", "--no-progress",
                 "--cscv-blocks", "2"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert len(rep["folds"]) == 2 and all(f["out_of_sample"]["trades"] is not None for f in rep["folds"])

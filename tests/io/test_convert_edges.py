"""Convert's edges: an empty side of the book is one thing whether read from the file or after convert (price 0,
size 0: no quote, which the queue rule's post-only check does not take for a price); an empty or header-only file
is refused by ``convert --dataset`` as by ``--out`` (exit 1, one line; ``--allow-empty``: a warning), and a failed
convert leaves no dataset folder it made (nor its lock file); what a convert drops as duplicates is said, with the
one rule of loads and datasets."""
from __future__ import annotations

import numpy as np
import pytest

from liqcore.dataset.load import load_events

QUOTES = """exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount
binance-futures,BTCUSDT,1722470400000000,1722470400001000,1.5,60000.1,60000.0,2.0
binance-futures,BTCUSDT,1722470401000000,1722470401001000,,,60000.0,2.0
binance-futures,BTCUSDT,1722470402000000,1722470402001000,1.0,60000.2,,
binance-futures,BTCUSDT,1722470403000000,1722470403001000,0,60000.3,60000.1,0.5
"""
TRADES = """exchange,symbol,timestamp,local_timestamp,id,side,price,amount
binance-futures,BTCUSDT,1722470400000000,1722470400001000,1,buy,60000.0,0.5
binance-futures,BTCUSDT,1722470401000000,1722470401001000,2,sell,60000.1,0.5
binance-futures,BTCUSDT,1722470401000000,1722470401001000,2,sell,60000.1,0.5
"""


def _cli(capsys, *args):
    from liqcore.cli import main

    capsys.readouterr()
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def _cols(ev):
    return ev["ts_recv"].tolist(), ev["side"].tolist(), ev["price"].tolist(), ev["qty"].tolist()


def test_an_empty_side_of_the_book_reads_alike_from_the_file_and_after_convert(tmp_path, capsys):
    src = tmp_path / "binance-futures_quotes_2024-08-01_BTCUSDT.csv"
    src.write_text(QUOTES)
    assert _cli(capsys, "convert", src, "--out", tmp_path / "o.parquet")[0] == 0
    assert _cli(capsys, "convert", src, "--dataset", tmp_path / "ds")[0] == 0
    read = load_events(str(src)).events
    empty = read["qty"] == 0
    assert empty.sum() == 3 and np.all(read["price"][empty] == 0.0)  # (price 0, size 0: an empty side)
    for other in (tmp_path / "o.parquet", tmp_path / "ds"):
        assert _cols(load_events(str(other)).events) == _cols(read), other


def test_post_only_is_not_judged_against_an_empty_side():
    """A buy limit arriving while the ask side is empty (price 0, size 0) rests: the post-only check takes the
    last print, as with no quote."""
    from liqcore._jit import sim
    from liqcore.config import Params
    from liqcore.execution.replay import new_replay
    from liqcore.signals import ENTRY_LIMIT
    from liqcore.types import SymbolRegistry

    reg = SymbolRegistry([("binance", "BTCUSDT")])
    par, st, port, ledger, counts = new_replay(Params.from_mapping({"fill": "queue"}), reg, 1, 10_000.0, 4)
    s = st[0]
    s["status"], s["side"], s["entry_kind"], s["arrive_ns"] = sim.PENDING, 1, ENTRY_LIMIT, 10
    s["limit_price"], s["last_price"], s["ask"], s["ask_qty"], s["bid"], s["bid_qty"] = 99.0, 100.0, 0.0, 0.0, 98.0, 1.0
    s["entry_deadline_ns"] = s["exit_due_ns"] = 10**18
    ev = sim.step_quote(st, par, 0, 20, 3, 98.0, 1.0, counts)
    assert not ev & sim.EV_REJECTED and int(st[0]["status"]) == sim.RESTING
    s["status"], s["ask"], s["ask_qty"] = sim.PENDING, 98.5, 1.0  # (an ask at or under the limit: refused)
    assert sim.step_quote(st, par, 0, 30, 3, 98.0, 1.0, counts) & sim.EV_REJECTED


@pytest.mark.parametrize("text", ["", "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"])
def test_an_empty_file_is_refused_into_a_dataset_as_into_a_file(tmp_path, capsys, text):
    src = tmp_path / "binance-futures_trades_2024-08-01_BTCUSDT.csv"
    src.write_text(text)
    code, err = _cli(capsys, "convert", src, "--dataset", tmp_path / "ds")
    assert code == 1 and err.strip().startswith("liqcore convert: error: no usable events in ") \
        and len(err.strip().splitlines()) == 1, err
    assert code == _cli(capsys, "convert", src, "--out", tmp_path / "o.parquet")[0]  # (as --out refuses it)
    assert not (tmp_path / "ds").exists()  # no folder, no lock file left
    code, err = _cli(capsys, "convert", src, "--dataset", tmp_path / "ds", "--allow-empty")
    assert code == 0 and "warning: no usable events in " in err, err


def test_a_failed_convert_leaves_no_folder_it_made(tmp_path, capsys):
    src = tmp_path / "t.csv"
    src.write_text("a,b\n1,2\n")
    code, err = _cli(capsys, "convert", src, "--dataset", tmp_path / "ds", "--format", "tardis-trades")
    assert code == 2 and not (tmp_path / "ds").exists(), err
    (tmp_path / "ds2").mkdir()  # a folder the user made stays
    code, _ = _cli(capsys, "convert", src, "--dataset", tmp_path / "ds2", "--format", "tardis-trades")
    assert code == 2 and (tmp_path / "ds2").is_dir()


def test_what_a_convert_drops_as_duplicates_is_said(tmp_path, capsys):
    src = tmp_path / "binance-futures_trades_2024-08-01_BTCUSDT.csv"
    src.write_text(TRADES)
    code, err = _cli(capsys, "convert", src, "--dataset", tmp_path / "ds")
    assert code == 0 and "2 new rows" in err
    assert "not added: 1 duplicate(s) within the files read (an event seen twice" in err, err
    code, err = _cli(capsys, "convert", src, "--dataset", tmp_path / "ds", "--force")
    assert "0 new rows" in err and "2 row(s) already in the dataset" in err, err
    code, err = _cli(capsys, "convert", src, "--out", tmp_path / "o.parquet")
    assert "1 duplicates removed (an event seen twice" in err, err

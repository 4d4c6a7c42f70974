"""Binance public data files as they come: each trade keeps its id (``id`` of ``trades``, ``agg_trade_id`` of
``aggTrades``), so trades alike in time, price, size and side but for their ids are all kept (one taker order
filling several 1-contract makers at one price) while the same trade twice is one; a zip that is damaged -- its
directory, a member's header, its deflate data -- is one line naming the file (a folder's other files still read);
a zip of an empty CSV is an empty input (``--allow-empty``); and a ``liquidationSnapshot`` without its header row is
told by its name and the shape of its first row, as the other kinds are."""
from __future__ import annotations

import zipfile

import numpy as np
import pytest

from liqcore.cli import main
from liqcore.dataset.load import load_dataset, load_events
from liqcore.types import Kind, Side
from tests.io.test_archives import AGG_HEADER, TRADES_HEADER, write

T0 = 1_722_816_000_000  # 2024-08-05 00:00:00 UTC, ms
CM_TRADES_HEADER = "id,price,qty,base_qty,time,is_buyer_maker"
LIQ_HEADER = ("time,side,order_type,time_in_force,original_quantity,price,average_price,order_status,"
              "last_fill_quantity,accumulated_fill_quantity")
_KINDS = [  # (file name, header, a row of id i at one time and price)
    ("BTCUSDT-trades-2024-08-05.zip", TRADES_HEADER, lambda i: f"{i},60000.0,0.001,60.0,{T0 + 1500},true"),
    ("BTCUSD_PERP-trades-2024-08-05.zip", CM_TRADES_HEADER, lambda i: f"{i},52500.0,1,0.0019047,{T0 + 1500},true"),
    ("BTCUSDT-aggTrades-2024-08-05.zip", AGG_HEADER, lambda i: f"{i},60000.0,0.001,{i},{i},{T0 + 1500},false"),
]


@pytest.mark.parametrize("header", [True, False])
@pytest.mark.parametrize("name,head,row", _KINDS)
def test_trades_alike_but_for_their_ids_are_all_kept_and_the_same_id_twice_is_one(tmp_path, name, head, row, header):
    rows = [row(1001 + k) for k in range(5)] + [row(1003)]  # five fills at one price and time, one of them twice
    p = write(tmp_path / name, head if header else None, rows, zipped=True)
    r = load_events(p)
    assert len(r.events) == 5 and r.duplicates == 1
    assert (r.events["kind"] == int(Kind.TRADE)).all()
    assert r.events["side"].tolist() == [int(Side.SELL if "true" in rows[0] else Side.BUY)] * 5
    assert r.trade_ids.tolist() == [1001, 1002, 1003, 1004, 1005]
    # a dataset keeps them, with their ids, and a second convert of the same file adds nothing
    ds = tmp_path / "ds"
    assert main(["convert", str(p), "--dataset", str(ds)]) == 0
    d = load_dataset(ds)
    assert len(d.events) == 5 and sorted(d.trade_ids.tolist()) == [1001, 1002, 1003, 1004, 1005]


def _bad_local_header(p):
    """The member's local header names another file than the zip's directory does."""
    data = bytearray(p.read_bytes())
    data[30 + 3] ^= 0x20  # a letter of the name in the local header (it starts at byte 30)
    p.write_bytes(bytes(data))


def _bad_deflate(p):
    """The member's deflate data is damaged from its first byte (the reserved block type 3)."""
    data = bytearray(p.read_bytes())
    with zipfile.ZipFile(p) as z:
        info = z.infolist()[0]
    at = info.header_offset + 30 + len(info.filename.encode())
    data[at] = 0xFF
    p.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_bad_local_header, _bad_deflate])
def test_a_damaged_zip_is_one_line_naming_it_and_a_folder_reads_its_other_files(tmp_path, capsys, damage):
    good = write(tmp_path / "BTCUSDT-aggTrades-2024-08-05.zip", AGG_HEADER,
                 [f"{1000 + i},60000.0,0.001,{i},{i},{T0 + 10 * i},false" for i in range(50)], zipped=True)
    bad = write(tmp_path / "BTCUSDT-aggTrades-2024-08-06.zip", AGG_HEADER,
                [f"{2000 + i},60000.0,0.001,{i},{i},{T0 + 86_400_000 + 10 * i},false" for i in range(50)], zipped=True)
    damage(bad)
    with pytest.raises(ValueError, match="BTCUSDT-aggTrades-2024-08-06.zip: not a readable zip file"):
        load_events(bad)
    capsys.readouterr()
    assert main(["events", str(bad)]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a readable zip file" in err[0] and "Traceback" not in err[0], err
    assert main(["events", str(tmp_path), "--json"]) == 0  # the folder: the good file read, the bad one said
    out = capsys.readouterr()
    assert out.out.count('"kind":"trade"') == 50
    assert "skipped" in out.err and "BTCUSDT-aggTrades-2024-08-06.zip: not a readable zip file" in out.err


@pytest.mark.parametrize("fmt", [None, "binance-liquidations"])
def test_a_zip_of_an_empty_csv_is_an_empty_input(tmp_path, capsys, fmt):
    p = tmp_path / "BTCUSD_PERP-liquidationSnapshot-2024-08-05.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(p.name[:-4] + ".csv", "")
    force = ["--format", fmt] if fmt else []
    assert main(["events", str(p), *force]) != 0
    assert "holds an empty CSV" in capsys.readouterr().err
    assert main(["events", str(p), *force, "--allow-empty"]) == 0
    assert "holds an empty CSV" in capsys.readouterr().err


def test_a_liquidation_snapshot_without_its_header_is_told_and_read_as_with_it(tmp_path):
    rows = [f"{T0 + 1000},SELL,LIMIT,IOC,50,52000.0,52500.0,FILLED,10,50",
            f"{T0 + 5000},BUY,LIMIT,IOC,20,54000.0,53000.0,FILLED,20,20"]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with_head = write(tmp_path / "a" / "BTCUSD_PERP-liquidationSnapshot-2024-08-05.zip", LIQ_HEADER, rows, zipped=True)
    without = write(tmp_path / "b" / "BTCUSD_PERP-liquidationSnapshot-2024-08-05.zip", None, rows, zipped=True)
    a, b = load_events(with_head), load_events(without)
    assert len(a.events) == 2 and np.array_equal(a.events, b.events)
    assert a.events["side"].tolist() == [int(Side.LONG), int(Side.SHORT)]
    # a headerless file of other words is not taken for one
    other = write(tmp_path / "BTCUSDT-liquidationSnapshot-2024-08-06.zip", None,
                  [f"{T0},1.5,LIMIT,IOC,50,52000.0,52500.0,FILLED,10,50"], zipped=True)
    with pytest.raises(ValueError, match="cannot detect"):
        load_events(other)

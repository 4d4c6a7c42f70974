"""A damaged dataset is said, naming the file, never read around in silence nor as a traceback: a partition file
that is no Parquet file of the event contract (cut short, garbage, empty, a directory, a foreign table, a column of
another type) is one line naming it and what is wrong, for every read that selects it (a selection without it reads
as before); a partition file the dataset's checked marks list that is gone stops a read of its selection (one line
naming it, the events it held and the ways out; ``dataset upgrade`` says it and forgets it); a write or an upgrade
refuses a partition that is not of the contract before rewriting anything (never a row made of defaults).  A
contract Parquet input of the contract's columns but of other types is one line naming the file and columns (of
several files: skipped, said so); one of other numeric types (integer or decimal prices) loads."""
from __future__ import annotations

import decimal
import os
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from liqcore.cli import main
from liqcore.dataset import load_dataset, upgrade_dataset, write_dataset
from liqcore.dataset.checked import MARKS_FILE
from liqcore.dataset.load import load_events
from liqcore.dataset.read import check_selection, rows_total, trade_symbols
from liqcore.io import save_events
from liqcore.synthetic.market import synthetic_market

DAMAGED_SYMBOL, OTHER_SYMBOL = "ETHUSDT", "SOLUSDT"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A dataset of two symbols over two days, written from a load (its files marked checked), and its events."""
    tmp = tmp_path_factory.mktemp("damaged")
    m = synthetic_market(days=2, symbols=(DAMAGED_SYMBOL, OTHER_SYMBOL), seed=3, venue="binance", cache=False)
    res = load_events(save_events(m.events, tmp / "src.parquet", m.registry))
    assert res.checked
    out = tmp / "ds"
    write_dataset(res, out)
    return out


@pytest.fixture
def ds(built, tmp_path):
    out = tmp_path / "ds"
    shutil.copytree(built, out)
    return out


def _victim(ds):
    """The first partition file of the damaged symbol."""
    return sorted(ds.glob(f"venue=*/symbol={DAMAGED_SYMBOL}/date=*/part-0.parquet"))[0]


def _cut(p):
    b = p.read_bytes()
    p.write_bytes(b[: len(b) // 2])


def _garbage(p):
    p.write_bytes(np.random.default_rng(1).integers(0, 256, p.stat().st_size, dtype=np.uint8).tobytes())


def _empty(p):
    p.write_bytes(b"")


def _directory(p):
    p.unlink()
    p.mkdir()


def _foreign(p):
    pq.write_table(pa.table({"a": [1, 2, 3], "b": ["x", "y", "z"]}), p)


def _wrong_types(p):
    pq.write_table(pa.table({"ts_event_ns": ["a", "b"], "ts_recv_ns": [1, 2], "kind": pa.array([1, 1], pa.int8()),
                             "side": pa.array([1, 2], pa.int8()), "price": ["x", "y"], "qty": [1.0, 2.0]}), p)


DAMAGES = {
    "cut": (_cut, "not a Parquet file"),
    "garbage": (_garbage, "not a Parquet file"),
    "empty": (_empty, "not a Parquet file: 0 bytes"),
    "directory": (_directory, "a directory, not a Parquet file"),
    "foreign": (_foreign, "not a partition file of liqcore's event contract: lacks column(s) ts_event_ns, kind, "
                          "side, price, qty (has: a, b)"),
    "wrong types": (_wrong_types, "not a partition file of liqcore's event contract: column ts_event_ns is string "
                                  "(expected int64), price is string (expected float64)"),
}


def _same(a, b):
    assert len(a.events) == len(b.events)
    for f in ("ts_event", "ts_recv", "price", "qty", "side", "kind", "venue"):
        assert np.array_equal(a.events[f], b.events[f]), f


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_partition_is_one_line_naming_it_and_a_selection_without_it_reads_as_before(ds, damage):
    other = load_dataset(ds, symbols=[OTHER_SYMBOL])
    victim = _victim(ds)
    hurt, said = DAMAGES[damage]
    hurt(victim)
    for kw in ({}, {"recheck": True}, {"symbols": [DAMAGED_SYMBOL]}):
        with pytest.raises(ValueError) as exc:
            load_dataset(ds, **kw)
        msg = str(exc.value)
        assert "\n" not in msg and msg.startswith(f"dataset partition file {victim}: ") and said in msg, msg
    _same(load_dataset(ds, symbols=[OTHER_SYMBOL]), other)  # the damaged partition never opened
    _same(load_dataset(ds, symbols=[OTHER_SYMBOL], recheck=True), other)
    # the footer reads of a selection (its row counts) and the traded symbols of a day say it alike
    calls = [lambda: trade_symbols(ds)]
    if damage not in ("foreign", "wrong types"):  # (their footers count rows: no column is read)
        calls.append(lambda: rows_total(ds))
    for call in calls:
        with pytest.raises(ValueError, match=f"^dataset partition file {victim}: "):
            call()
    assert rows_total(ds, symbols=[OTHER_SYMBOL]) > 0


@pytest.mark.parametrize("damage", ["cut", "directory", "foreign", "wrong types"])
def test_commands_say_a_damaged_partition_in_one_line_and_read_a_selection_without_it(ds, damage, capsys):
    victim = _victim(ds)
    DAMAGES[damage][0](victim)
    for cmd in (["events", str(ds), "--json", "--limit", "1"], ["detect", str(ds)], ["backtest", str(ds)]):
        capsys.readouterr()
        assert main(cmd) == 2, cmd
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith(f"liqcore {cmd[0]}: error: dataset partition file {victim}: "), err
        assert DAMAGES[damage][1] in err[-1] and not any("Traceback" in x for x in err)
    # --symbol of another symbol: its partitions alone are read (events and detect read the dataset whole before)
    assert main(["events", str(ds), "--symbol", OTHER_SYMBOL, "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") > 0 and DAMAGED_SYMBOL not in out
    assert main(["detect", str(ds), "--symbol", OTHER_SYMBOL]) == 0


def test_events_of_a_symbol_the_dataset_lacks_say_so(ds, capsys):
    assert main(["events", str(ds), "--symbol", "NOPEUSDT"]) == 1
    err = capsys.readouterr().err
    assert "holds no partition of symbol(s) NOPEUSDT" in err and OTHER_SYMBOL in err


def _snapshot(ds) -> dict:
    return {str(p): p.read_bytes() for p in sorted(ds.rglob("*")) if p.is_file() and ".liqcore-writer" not in p.name}


@pytest.mark.parametrize("damage", ["foreign", "wrong types", "cut"])
def test_an_upgrade_or_a_write_refuses_a_partition_not_of_the_contract_and_rewrites_nothing(ds, damage):
    victim = _victim(ds)
    DAMAGES[damage][0](victim)
    before = _snapshot(ds)
    for dry in (True, False):
        with pytest.raises(ValueError, match="dataset partition file .*" + DAMAGES[damage][1][:20]):
            upgrade_dataset(ds, dry_run=dry)
        assert _snapshot(ds) == before
    # a write into the damaged partition (its venue, symbol and day): refused before any partition is written
    res = load_dataset(ds, symbols=[OTHER_SYMBOL])
    ev = res.events.copy()
    eth = res.registry.id(int(ev["venue"][0]), DAMAGED_SYMBOL)
    ev["symbol_id"] = eth  # the other symbol's rows, as the damaged symbol's (its days: the damaged one among them)
    with pytest.raises(ValueError, match=f"dataset partition file {victim}"):
        write_dataset(ev, ds, res.registry)
    assert _snapshot(ds) == before
    if damage == "foreign":  # never a row made of defaults (ts_event_ns 0, ts_recv_ns -1) merged into the partition
        assert pq.read_schema(victim).names == ["a", "b"]


def test_a_gone_partition_stops_its_reads_naming_it_and_upgrade_forgets_it(ds, capsys):
    whole = load_dataset(ds)
    victim = _victim(ds)
    held = int(pq.read_metadata(victim).num_rows)
    rel = victim.relative_to(ds).as_posix()
    victim.unlink()
    with pytest.raises(ValueError) as exc:
        load_dataset(ds)
    msg = str(exc.value)
    assert "\n" not in msg and rel in msg and MARKS_FILE in msg and "gone" in msg
    assert f"liqcore dataset upgrade {ds}" in msg and "--force" in msg
    n = int(msg.split(f"{rel} (")[1].split(" events)")[0].replace(",", ""))
    assert n >= held
    for sel in ({"symbols": [DAMAGED_SYMBOL]}, {}):
        with pytest.raises(ValueError, match="gone"):
            check_selection(ds, **sel)
    # a selection without it reads as before
    _same(load_dataset(ds, symbols=[OTHER_SYMBOL]), load_dataset(ds, symbols=[OTHER_SYMBOL], recheck=True))
    for cmd in (["events", str(ds), "--json", "--limit", "1"], ["backtest", str(ds)]):
        assert main(cmd) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert rel in err[-1] and "gone" in err[-1] and len([x for x in err if "error" in x]) == 1
    assert main(["events", str(ds), "--symbol", OTHER_SYMBOL, "--json"]) == 0
    capsys.readouterr()
    # dataset upgrade: --dry-run says it, the upgrade forgets it; then the read gives the rows that are left
    res = upgrade_dataset(ds, dry_run=True)
    assert res["gone"] == 1 and res["forgotten"] == 0
    assert rel in capsys.readouterr().err
    with pytest.raises(ValueError, match="gone"):
        load_dataset(ds)
    res = upgrade_dataset(ds)
    assert res["gone"] == 1 and res["forgotten"] == 1
    assert "forgotten" in capsys.readouterr().err
    left = load_dataset(ds)
    assert len(left.events) == len(whole.events) - n


def _flip_in_group(p, g: int = 0):
    """One bit flipped in the middle of row group ``g``'s bytes: the size and the footer stay as written."""
    from liqcore.dataset.checked import footer

    lo, hi = footer(str(p)).spans[g]
    b = bytearray(p.read_bytes())
    b[(lo + hi) // 2] ^= 1
    p.write_bytes(bytes(b))


def test_a_byte_changed_in_a_marked_file_is_refused_by_reads_and_named_by_verify(ds, capsys):
    """A flipped bit inside a marked file's rows (its size and footer as written) was read the checking way with a
    warning and gave wrong values (receive times moved by 1.048576 ms, nothing counted): every read now refuses it in
    one line naming it; a selection without it reads as before; ``dataset verify`` names it and exits 1."""
    from liqcore.dataset import verify_dataset
    from liqcore.dataset.damage import DamagedFile

    before = verify_dataset(ds)
    assert before["verified"] == before["files"] > 1 and not (before["damaged"] or before["changed"]
                                                              or before["unmarked"] or before["gone"])
    assert main(["dataset", "verify", str(ds)]) == 0
    capsys.readouterr()
    victim = _victim(ds)
    rel = victim.relative_to(ds).as_posix()
    _flip_in_group(victim)
    for read in (lambda: load_dataset(ds), lambda: load_dataset(ds, symbols=[DAMAGED_SYMBOL])):
        with pytest.raises(DamagedFile) as exc:
            read()
        msg = str(exc.value)
        assert "\n" not in msg and rel in msg and "damaged" in msg and "--force" in msg
    for cmd in (["events", str(ds), "--json", "--limit", "1"], ["backtest", str(ds)], ["convert", str(ds), "--out",
                                                                                      str(ds.parent / "x.parquet")]):
        assert main(cmd) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert rel in err[-1] and "damaged" in err[-1] and len([x for x in err if "error" in x]) == 1
    _same(load_dataset(ds, symbols=[OTHER_SYMBOL]), load_dataset(ds, symbols=[OTHER_SYMBOL], recheck=True))
    res = verify_dataset(ds)
    assert res["damaged"] == [{"file": rel, "row_groups": [0]}] and res["verified"] == res["files"] - 1
    assert main(["dataset", "verify", str(ds)]) == 1
    out = capsys.readouterr().out
    assert "1 damaged" in out and f"damaged: {rel}: row group(s) 0" in out


def test_verify_tells_a_file_rewritten_by_another_tool_from_a_damaged_one(ds, capsys):
    """A marked file rewritten whole (other bytes, its own footer) is ``changed`` (read the checking way, with the
    warning), not damaged; an unmarked file is ``unmarked``; a marked file gone is ``gone`` (exit 1)."""
    from liqcore.dataset import verify_dataset

    victim = _victim(ds)
    rel = victim.relative_to(ds).as_posix()
    pq.write_table(pq.read_table(victim), victim, row_group_size=1_000)
    res = verify_dataset(ds)
    assert res["changed"] == [rel] and not res["damaged"]
    assert len(load_dataset(ds).events)  # (the checking read, as before)
    extra = ds / "venue=binance" / f"symbol={OTHER_SYMBOL}" / "date=2031-01-01"
    extra.mkdir(parents=True)
    shutil.copy(victim, extra / "part-0.parquet")
    gone = sorted(ds.glob(f"venue=*/symbol={OTHER_SYMBOL}/date=*/part-0.parquet"))[0]
    gone_rel = gone.relative_to(ds).as_posix()
    gone.unlink()
    res = verify_dataset(ds)
    assert res["unmarked"] == [(extra / "part-0.parquet").relative_to(ds).as_posix()] and res["gone"] == [gone_rel]
    assert main(["dataset", "verify", str(ds), "--json"]) == 1
    assert '"gone":["' + gone_rel in capsys.readouterr().out


def test_a_gone_day_folder_is_said_too(ds):
    victim = _victim(ds)
    shutil.rmtree(victim.parent)
    with pytest.raises(ValueError, match="gone: " + victim.relative_to(ds).as_posix()):
        load_dataset(ds)


@pytest.mark.parametrize("damage", ["garbage", "foreign"])
def test_a_damaged_partition_on_object_storage_is_one_line_naming_it(built, damage, tmp_path):
    import fsspec

    url = f"memory://damaged-{damage.replace(' ', '-')}-{os.getpid()}"
    res = load_dataset(built)
    write_dataset(res, url)
    fs = fsspec.filesystem("memory")
    victim = sorted(f for f in fs.find(url.removeprefix("memory://")) if f"symbol={DAMAGED_SYMBOL}/" in f)[0]
    tmp = tmp_path / "part-0.parquet"
    shutil.copy(built / victim.split("/", 2)[2], tmp)
    DAMAGES[damage][0](tmp)
    fs.pipe(victim, tmp.read_bytes())
    named = f"dataset partition file {url}/{victim.split('/', 2)[2]}: "
    for call in (lambda: load_dataset(url), lambda: upgrade_dataset(url, dry_run=True), lambda: upgrade_dataset(url)):
        with pytest.raises(ValueError) as exc:
            call()
        assert str(exc.value).startswith(named) and "\n" not in str(exc.value), str(exc.value)
    other = load_dataset(built, symbols=[OTHER_SYMBOL])
    assert len(load_dataset(url, symbols=[OTHER_SYMBOL]).events) == len(other.events)
    fs.rm(url.removeprefix("memory://"), recursive=True)


# ---- contract Parquet inputs -----------------------------------------------------------------------------------
def _contract(n: int = 3, **cols) -> pa.Table:
    t0 = 1_737_936_000_000_000_000
    base = {"ts_event_ns": pa.array([t0 + i * 1_000_000_000 for i in range(n)], pa.int64()),
            "venue": ["binance"] * n, "symbol": ["BTCUSDT"] * n, "side": ["long", "short", "long"][:n],
            "price": pa.array([100.0 + i for i in range(n)]), "qty": pa.array([1.0 + i for i in range(n)])}
    base.update(cols)
    return pa.table(base)


def test_a_contract_parquet_file_of_other_column_types_is_one_line_naming_it(tmp_path, capsys):
    bad = tmp_path / "in" / "wrongtypes.parquet"
    bad.parent.mkdir()
    pq.write_table(_contract(ts_event_ns=["a", "b", "c"], price=["x", "y", "z"]), bad)
    with pytest.raises(ValueError) as exc:
        load_events(bad)
    msg = str(exc.value)
    assert msg.startswith(f"{bad}: ") and "\n" not in msg
    assert "ts_event_ns is string (expected an integer of ns or a timestamp)" in msg
    assert "price is string (expected a number)" in msg
    for cmd in ("events", "detect", "convert"):
        extra = ["--out", str(tmp_path / "o.parquet")] if cmd == "convert" else []
        assert main([cmd, str(bad), *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith(f"liqcore {cmd}: error: {bad}: ") and "ts_event_ns is string" in err[-1]
    # of a folder: skipped, said so, the other files loaded
    good = tmp_path / "in" / "good.parquet"
    pq.write_table(_contract(), good)
    assert main(["events", str(bad.parent), "--json"]) == 0
    cap = capsys.readouterr()
    assert cap.out.count("\n") == 3
    assert f"warning: skipped {bad}: " in cap.err and "price is string" in cap.err


@pytest.mark.parametrize("price", [pa.array([100, 101, 102], pa.int64()),
                                   pa.array([decimal.Decimal(x) for x in ("100", "101", "102")], pa.decimal128(8, 2))])
def test_a_contract_parquet_file_of_integer_or_decimal_prices_loads(tmp_path, price):
    f = tmp_path / "p.parquet"
    pq.write_table(_contract(price=price), f)
    res = load_events(f)
    assert len(res.events) == 3 and res.events["price"].tolist() == [100.0, 101.0, 102.0]
    assert os.path.getsize(f) > 0

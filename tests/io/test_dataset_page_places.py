"""Each column chunk's page places (the Parquet offset index a convert writes): a window-local backtest of a dataset
with the book reads the dictionary page and the data pages it decodes, not the chunk's bytes before them, and gives
the full replay's trades; a dataset written before the places (and the kept dataset of an older release) reads as
before, the same events and trades, with a note naming ``liqcore dataset upgrade``; the upgrade places the pages of
an older dataset (the same events, the checked marks kept), and an interrupted one finishes on a second run."""
from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest

from liqcore.dataset import pages

_DS: dict = {}
KEPT = Path(__file__).resolve().parents[1] / "data" / "dataset-r1"


def _book_dataset(tmp_path_factory, placed: bool) -> str:
    """A 2-day synthetic market with its top of book, converted (``placed``: with the page places; without: as a
    convert wrote it before them)."""
    if placed not in _DS:
        import liqcore.dataset.write as w
        from liqcore.dataset import write_dataset
        from liqcore.synthetic.market import synthetic_market

        m = synthetic_market(days=2, symbols=("BTCUSDT",), seed=5, cache=False, effects={"book": True})
        out = tmp_path_factory.mktemp("placed" if placed else "unplaced") / "ds"
        keep, w.PAGE_INDEX = w.PAGE_INDEX, placed
        try:
            write_dataset(m.events, out, m.registry, checked=True)
        finally:
            w.PAGE_INDEX = keep
        _DS[placed] = str(out)
    return _DS[placed]


def _chunks(ds: str) -> np.ndarray:
    from liqcore._libs.reading import scan_footer

    out = []
    for p in sorted(Path(ds).rglob("*.parquet")):
        raw = p.read_bytes()
        n = int.from_bytes(raw[-8:-4], "little")
        out.append(scan_footer(raw[len(raw) - 8 - n:len(raw) - 8])["chunks"].ravel())
    return np.concatenate(out)


def _fresh_reads() -> None:
    """The process's decoded groups and footers' chunk lists dropped: the next read reads its pages again."""
    import liqcore.dataset.checked as ck

    ck._RECENT.clear()
    ck._recent_bytes[0] = 0
    pages._KEPT_CHUNKS.clear()


def _windows(ds: str, p, index: bool):
    from liqcore.backtest.run import backtest_windows, resolve_strategy

    _fresh_reads()
    obj, p = resolve_strategy(None, p)
    keep, pages.PAGE_INDEX = pages.PAGE_INDEX, index
    b0, u0 = pages.READ_BYTES[0], pages.UNPLACED[0]
    try:
        res = backtest_windows(ds, p, obj, equity=10_000.0)
    finally:
        pages.PAGE_INDEX = keep
    return res, pages.READ_BYTES[0] - b0, pages.UNPLACED[0] - u0


def test_a_converted_dataset_places_its_pages_and_a_window_reads_only_those(tmp_path_factory):
    from liqcore.backtest.run import backtest
    from liqcore.config import Params
    from tests.backtest.test_backtest_windows import _summary

    ds = _book_dataset(tmp_path_factory, True)
    ch = _chunks(ds)
    assert (ch["offset_index_length"] > 0).all() and (ch["offset_index_offset"] > 0).all()
    p = Params.from_mapping({"fill": "queue", "quantile": "0.5", "min-history": "20"})
    fast, read_fast, unplaced = _windows(ds, p, True)
    slow, read_slow, _ = _windows(ds, p, False)  # (the same files read as without the places)
    full = backtest([ds], p, equity=10_000.0, read="all")
    assert fast.read["path"] == "windows" and len(full.trades()) > 0
    assert fast.trades() == slow.trades() == full.trades()
    assert _summary(fast) == _summary(full)
    assert unplaced == 0 and 0 < read_fast < 0.75 * read_slow, (read_fast, read_slow)


def test_a_dataset_written_before_the_places_reads_as_before_with_a_note(tmp_path_factory, capsys):
    from liqcore.cli import main
    from liqcore.config import Params

    old, new = _book_dataset(tmp_path_factory, False), _book_dataset(tmp_path_factory, True)
    assert (_chunks(old)["offset_index_length"] == 0).all()
    p = Params.from_mapping({"fill": "queue", "quantile": "0.5", "min-history": "20"})
    got, _b, unplaced = _windows(old, p, True)
    want, _b2, _u = _windows(new, p, True)
    assert unplaced > 0 and got.trades() == want.trades() and len(want.trades()) > 0
    args = ["backtest", "--fill", "queue", "--quantile", "0.5", "--min-history", "20", "--no-progress"]
    for ds, noted in ((old, True), (new, False)):
        _fresh_reads()
        capsys.readouterr()
        assert main(args[:1] + [ds] + args[1:]) == 0
        err = capsys.readouterr().err
        assert ("written without its pages' places" in err) is noted, err
        if noted:
            assert "liqcore dataset upgrade" in err and "converting the source files into a" in err


def test_the_kept_dataset_of_an_older_release_reads_the_same_whatever_the_places(monkeypatch):
    from liqcore.dataset.read import load_dataset

    if not KEPT.is_dir():
        pytest.skip("tests/data/dataset-r1 not in this checkout")
    assert (_chunks(str(KEPT))["offset_index_length"] == 0).all()  # (written before the places)
    _fresh_reads()
    a = load_dataset(str(KEPT))
    monkeypatch.setattr(pages, "PAGE_INDEX", False)
    _fresh_reads()
    b = load_dataset(str(KEPT))
    assert len(a.events) > 0 and np.array_equal(a.events, b.events)
    assert np.array_equal(a.events, load_dataset(str(KEPT), recheck=True).events)


def _copy(ds: str, tmp_path, name: str) -> str:
    import shutil

    out = tmp_path / name
    shutil.copytree(ds, out)
    return str(out)


def test_dataset_upgrade_places_the_pages_of_an_older_dataset_and_keeps_its_events_and_marks(tmp_path_factory,
                                                                                             tmp_path, capsys):
    """``liqcore dataset upgrade`` rewrites a dataset written before the places: every chunk then carries its offset
    index, the events load equal, each file keeps its checked mark (a read trusts it), the backtest's note is gone
    and a second run has nothing to do."""
    from liqcore.cli import main
    from liqcore.dataset.checked import read_marks, verified
    from liqcore.dataset.read import load_dataset

    old = _copy(_book_dataset(tmp_path_factory, False), tmp_path, "old")
    before = load_dataset(old).events
    assert main(["dataset", "upgrade", old, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "2 of 2 partition(s) to rewrite" in out and "pages' places" in out
    assert (_chunks(old)["offset_index_length"] == 0).all()  # (a dry run writes nothing)
    assert main(["dataset", "upgrade", old, "--no-progress"]) == 0
    assert "2 of 2 partition(s) rewritten" in capsys.readouterr().out
    ch = _chunks(old)
    assert (ch["offset_index_length"] > 0).all()
    _fresh_reads()
    assert np.array_equal(load_dataset(old).events, before)
    marks = dict(read_marks(Path(old)))
    files = sorted(Path(old).rglob("part-0.parquet"))
    assert len(marks) == len(files) == 2
    assert all(verified(str(f), marks[f.relative_to(old).as_posix()]) for f in files)
    args = ["backtest", old, "--fill", "queue", "--quantile", "0.5", "--min-history", "20", "--no-progress"]
    _fresh_reads()
    assert main(args) == 0
    assert "pages' places" not in capsys.readouterr().err
    assert main(["dataset", "upgrade", old, "--json"]) == 0
    import orjson

    assert orjson.loads(capsys.readouterr().out)["rewritten"] == 0


def test_an_interrupted_upgrade_leaves_each_partition_whole_and_a_second_run_finishes(tmp_path_factory, tmp_path):
    from liqcore.dataset import upgrade_dataset
    from liqcore.dataset.read import load_dataset

    old = _copy(_book_dataset(tmp_path_factory, False), tmp_path, "cut")
    before = load_dataset(old).events

    def cut(done, total):
        raise KeyboardInterrupt  # (Ctrl-C once the first partition is replaced)

    with pytest.raises(KeyboardInterrupt):
        upgrade_dataset(old, progress=cut)
    per_file = [(_chunks_of(f)["offset_index_length"] > 0).all() for f in sorted(Path(old).rglob("*.parquet"))]
    assert sorted(per_file) == [False, True]  # one new, one old: none half-written
    _fresh_reads()
    assert np.array_equal(load_dataset(old).events, before)
    import liqcore.dataset.write as w

    real = w._write_parquet

    def cut_inside(rows, meta, where):  # (Ctrl-C inside the file's write: half a temporary on disk)
        real(rows[:1] if not isinstance(rows, list) else [r[:1] for r in rows], meta, where)
        raise KeyboardInterrupt

    w._write_parquet = cut_inside
    try:
        with pytest.raises(KeyboardInterrupt):
            upgrade_dataset(old)
    finally:
        w._write_parquet = real
    assert not list(Path(old).rglob("*.tmp*"))  # the temporary gone, the old file in place
    _fresh_reads()
    assert np.array_equal(load_dataset(old).events, before)
    res = upgrade_dataset(old)
    assert (res["to_rewrite"], res["rewritten"]) == (1, 1)
    _fresh_reads()
    assert np.array_equal(load_dataset(old).events, before)


def _chunks_of(path) -> np.ndarray:
    from liqcore._libs.reading import scan_footer

    raw = Path(path).read_bytes()
    n = int.from_bytes(raw[-8:-4], "little")
    return scan_footer(raw[len(raw) - 8 - n:len(raw) - 8])["chunks"].ravel()


def test_the_kept_dataset_of_an_older_release_upgrades_to_the_same_events(tmp_path):
    from liqcore.dataset import upgrade_dataset
    from liqcore.dataset.read import load_dataset

    if not KEPT.is_dir():
        pytest.skip("tests/data/dataset-r1 not in this checkout")
    ds = _copy(str(KEPT), tmp_path, "r1")
    _fresh_reads()
    before = load_dataset(ds).events
    res = upgrade_dataset(ds)
    assert res["rewritten"] == res["to_rewrite"] == res["partitions"] > 0
    assert all((_chunks_of(f)["offset_index_length"] > 0).all() for f in Path(ds).glob("venue=*/*/*/*.parquet"))
    _fresh_reads()
    assert np.array_equal(load_dataset(ds).events, before)


def test_dataset_upgrade_of_no_dataset_is_one_line(tmp_path, capsys):
    from liqcore.cli import main

    assert main(["dataset", "upgrade", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"liqcore dataset: error: dataset: no such directory: {tmp_path / 'none'}"
    (tmp_path / "empty").mkdir()
    assert main(["dataset", "upgrade", str(tmp_path / "empty")]) == 2
    assert "holds no liqcore dataset" in capsys.readouterr().err

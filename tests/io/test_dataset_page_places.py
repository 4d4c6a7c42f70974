"""Each column chunk's page places (the Parquet offset index a convert writes): a window-local backtest of a dataset
with the book reads the dictionary page and the data pages it decodes, not the chunk's bytes before them, and gives
the full replay's trades; a dataset written before the places (and the kept dataset of an older release) reads as
before, the same events and trades, with a note naming the re-convert."""
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
    from liqcore._libs.pqfooter import scan_footer

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
            assert "converting the source files into a new dataset" in err


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

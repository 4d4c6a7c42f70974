"""The default read's ``rows_read`` (``summary.read.rows_read``; the stderr line "N rows decoded of the selection's M
rows") counts the selection's rows decoded, each once: a row decoded by two reads (the detection pass and a window,
two windows meeting the same pages, a group decoded whole after its pages, a page let go of by the memory bound and
met again) is not counted twice, so the figure never exceeds the selection's total (``rows_total``).  On a tiny
dataset (a day of one symbol, one file of three row groups) with dense signals, every row is decoded: before, the
last group's pages decoded by the windows were decoded again whole and counted again (46,946 of 44,680); with
nothing kept in memory between reads, 338,374 of them."""
from __future__ import annotations

import collections
import json

import pytest

from liqcore.config import Params

_DS: dict = {}
_DENSE = {"min-history": "20", "quantile": "0.5"}  # a window every few minutes: the reads meet the same pages


def _tiny(tmp_path_factory) -> str:
    """A converted-like dataset of one day of BTCUSDT (synthetic, seed 5): 44,680 rows in one checked file."""
    if "ds" not in _DS:
        from liqcore.dataset import write_dataset
        from liqcore.synthetic.market import synthetic_market

        m = synthetic_market(days=1, symbols=("BTCUSDT",), seed=5, cache=False)
        out = tmp_path_factory.mktemp("rows_once") / "ds"
        write_dataset(m.events, out, m.registry, checked=True)
        _DS["ds"], _DS["rows"] = str(out), len(m.events)  # (no top of book: one row an event)
    return _DS["ds"]


@pytest.fixture
def fresh_decodes(monkeypatch):
    """No decoded group kept from an earlier test, and every row decoded recorded: ``(path, group, row)`` ->
    how many times the reads decoded it (each group or page handed to the kept ones is one decode)."""
    import liqcore.dataset.checked as ck

    ck._RECENT.clear()
    ck._recent_bytes[0] = 0
    seen: collections.Counter = collections.Counter()
    real = ck._keep

    def keep(key, dg):
        n = len(next(iter(dg.cols.values()))) if dg.cols else 0
        path, g = key[0][0], key[1]
        r0, r1 = (0, n) if len(key) == 2 else (key[2], key[3])
        for r in range(r0, r1):
            seen[(path, g, r)] += 1
        real(key, dg)

    monkeypatch.setattr(ck, "_keep", keep)
    yield seen
    ck._RECENT.clear()
    ck._recent_bytes[0] = 0


def test_cli_rows_read_never_exceeds_the_selections_rows(tmp_path_factory, capsys, fresh_decodes):
    """``liqcore backtest DS --json`` (in process): the rows it says it read are the distinct rows decoded, here
    all of them (dense signals), no more than the selection holds; the stderr line says the same figure."""
    from liqcore.cli import main

    path = _tiny(tmp_path_factory)
    args = ["backtest", path, "--min-history", "20", "--quantile", "0.5", "--equity", "10000"]
    assert main([*args, "--json"]) == 0, capsys.readouterr().err
    read = json.loads(capsys.readouterr().out)["summary"]["read"]
    assert read["path"] == "windows", read
    assert read["rows_total"] == _DS["rows"], read
    assert read["rows_read"] <= read["rows_total"], read  # (before: 46,946 of 44,680)
    assert read["rows_read"] == len(fresh_decodes), (read, len(fresh_decodes))  # the distinct rows decoded
    fresh_decodes.clear()
    import liqcore.dataset.checked as ck

    ck._RECENT.clear()
    ck._recent_bytes[0] = 0
    assert main(args) == 0
    err = capsys.readouterr().err
    assert f"read window-local: {read['rows_read']:,} rows decoded of the selection's {read['rows_total']:,} rows" \
        in err, err


@pytest.mark.parametrize("conf", [{}, _DENSE, {**_DENSE, "fill": "queue"}])
def test_rows_decoded_twice_count_once(tmp_path_factory, monkeypatch, fresh_decodes, conf):
    """With nothing kept in memory between reads (the bound at 0 bytes, one group: every read decodes again what it
    meets), the rows are decoded many times over, counted once each: ``rows_read`` is the distinct rows decoded,
    within the selection's total; the trades are the full replay's and the kept-in-memory run's."""
    import liqcore.dataset.checked as ck
    from liqcore.backtest.run import backtest

    path = _tiny(tmp_path_factory)
    p = Params.from_mapping(conf)
    kept = backtest([path], p, equity=10_000.0)
    assert kept.read["path"] == "windows"
    assert kept.read["rows_read"] == len(fresh_decodes) <= kept.read["rows_total"], kept.read
    fresh_decodes.clear()
    ck._RECENT.clear()
    ck._recent_bytes[0] = 0
    monkeypatch.setattr(ck, "_RECENT_BYTES", 0)
    monkeypatch.setattr(ck, "_RECENT_GROUPS", 1)
    starved = backtest([path], p, equity=10_000.0)
    assert sum(fresh_decodes.values()) > len(fresh_decodes)  # (rows decoded twice and more)
    assert starved.read["rows_read"] == len(fresh_decodes) <= starved.read["rows_total"], starved.read
    full = backtest([path], p, equity=10_000.0, read="all")
    assert starved.trades() == kept.trades() == full.trades()


def test_count_once_counts_each_row_once():
    """The count itself: overlapping and repeated spans of a row group count their new rows alone; another group,
    file or a count outside any ``count_once`` counts them all."""
    from liqcore.dataset.decoded import count_once, counted

    assert counted(("f", 1, 0), 0, 2048) == 2048  # (none in force: every row decoded now)
    with count_once() as c:
        assert counted(("f", 1, 0), 2048, 4096) == 2048
        assert counted(("f", 1, 0), 0, 16_384) == 16_384 - 2048  # (a whole group after one of its pages)
        assert counted(("f", 1, 0), 6144, 8192) == 0  # (a page again)
        assert counted(("f", 1, 1), 0, 100) == 100  # (another group)
        with count_once() as inner:  # (the innermost counts)
            assert counted(("f", 1, 0), 0, 10) == 10
        assert inner.rows == 10
        assert counted(("f", 1, 1), 50, 150) == 50 and counted(("f", 1, 1), 10, 0) == 0
    assert c.rows == 16_384 + 150
    assert counted(("f", 1, 0), 0, 2048) == 2048

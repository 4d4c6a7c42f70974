"""The tardis reader's rows written by the compiled kernel (liqcore._libs.reading) load exactly what its
numpy twin (pysrc.readrows, the reader's code before the kernel) loads: the same events byte for byte, the
same trade ids, rejects and duplicates, on generated quotes and trades files (bad cells, empty sides,
several exchanges and symbols, OKX contracts, Bybit inverse contracts) and on the bundled real Binance
recordings written as tardis files; and a dataset partition's rows made from those events by the kernel
(liqcore.dataset.write._rows_of) are the twin's."""
from __future__ import annotations

import gzip

import numpy as np

import pytest
from hypothesis import HealthCheck, given, settings

import liqcore.io.tardis as T
import pysrc.readrows as twin
from liqcore.dataset.write import _ROW_DTYPE, _rows_of
from liqcore.dataset.load import load_events
from tests.io.test_tardis_shortcuts import QUOTES, TRADES, _rows, loaded, real_tardis_files


def _load_both(path, monkeypatch):
    """The load with the kernel, and with the twin in its place."""
    out = []
    for rows in ((T.quote_rows, T.trade_rows), (twin.quote_rows, twin.trade_rows)):
        with monkeypatch.context() as m:
            m.setattr(T, "quote_rows", rows[0])
            m.setattr(T, "trade_rows", rows[1])
            out.append(loaded(path))
    return out


def test_the_reader_uses_the_kernel():
    from liqcore._libs import reading as readrows

    assert T.quote_rows is readrows.quote_rows and T.trade_rows is readrows.trade_rows


@pytest.mark.property
@pytest.mark.parametrize("trades", [False, True], ids=["quotes", "trades"])
def test_kernel_rows_load_what_the_twin_loads(tmp_path, monkeypatch, trades):
    name = "binance-futures_trades_2024-08-01_X.csv.gz" if trades else "binance-futures_quotes_2024-08-01_X.csv.gz"
    header = TRADES if trades else QUOTES

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(_rows(trades))
    def check(rows):
        p = tmp_path / name
        with gzip.open(p, "wt") as fh:
            fh.write(header + "\n" + "".join(r + "\n" for r in rows))
        kernel, numpy_twin = _load_both(p, monkeypatch)
        assert kernel == numpy_twin

    check()


def test_kernel_rows_on_the_real_recordings(real_data, tmp_path, monkeypatch):
    seen = 0
    for p, rows in real_tardis_files(real_data, tmp_path):
        kernel, numpy_twin = _load_both(p, monkeypatch)
        assert kernel[0] != "refused" and kernel[4] == rows * (2 if "quotes" in p.name else 1)
        assert kernel == numpy_twin
        res = load_events(p, warn=lambda _l: None)
        want = twin.partition_rows(res.events, res.trade_ids, np.empty(len(res.events), _ROW_DTYPE))
        assert _rows_of(res.events, res.trade_ids).tobytes() == want.tobytes()
        seen += 1
    assert seen

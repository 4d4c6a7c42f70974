"""A dataset backtest of a window-local strategy (cascade-mm) reads the liquidations first, then trades
only in its signals' windows: the trades and the summary are the full replay's, over random small
markets and strategy parameters, and it decodes fewer rows than the dataset holds."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liqcore.backtest.run import backtest, backtest_windows, resolve_strategy
from liqcore.config import Params

_DS: dict = {}


def _dataset(tmp_path_factory, seed: int, monkeypatch=None):
    if seed not in _DS:
        import liqcore.dataset.read as iod
        from liqcore.synthetic.market import synthetic_market
        from liqcore.dataset import write_dataset

        m = synthetic_market(days=2, symbols=("BTCUSDT",), seed=seed, cache=False)
        out = tmp_path_factory.mktemp(f"win{seed}") / "ds"
        keep = iod.ROW_GROUP_ROWS
        iod.ROW_GROUP_ROWS = 2_000  # row groups of real-density data span ~8 minutes: small ones here
        try:
            write_dataset(m.events, out, m.registry, checked=True)  # as a converted dataset (no re-check)
        finally:
            iod.ROW_GROUP_ROWS = keep
        _DS[seed] = str(out)
    return _DS[seed]


def _summary(res):
    """The summary less what a read says of itself: its ``read`` and its feed-delay note, which the default
    read takes over the rows it decoded and names so (``feed_latency_model_of_rows_read``), and the full
    replay over every row (``feed_latency_model``): never one field name with two meanings."""
    s = res.to_json()["summary"]
    if s.pop("read", None):
        assert "feed_latency_model" not in s
        s.pop("feed_latency_model_of_rows_read")
    else:
        assert "feed_latency_model_of_rows_read" not in s
        s.pop("feed_latency_model", None)
    return s


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.sampled_from([5, 11]), offset=st.sampled_from(["0.05%", "0.1%", "0.3%"]),
       tp=st.sampled_from(["0.15%", "0.3%", "1%"]), sl=st.sampled_from(["0.2%", "0.5%"]),
       hold=st.sampled_from(["5m", "30m", "4h"]), entry=st.sampled_from(["10s", "90s", "10m"]),
       quantile=st.sampled_from(["0.9", "0.95"]), cooldown=st.sampled_from(["0s", "10m"]),
       ref_age=st.sampled_from(["1s", "5s", "60s"]))
def test_window_local_backtest_equals_the_full_replay(tmp_path_factory, seed, offset, tp, sl, hold, entry,
                                                      quantile, cooldown, ref_age):
    path = _dataset(tmp_path_factory, seed)
    p = Params.from_mapping({"offset": offset, "take-profit": tp, "stop-loss": sl, "hold-timeout": hold,
                             "entry-timeout": entry, "quantile": quantile, "cooldown": cooldown,
                             "max-ref-age": ref_age})
    obj, p = resolve_strategy(None, p)
    full = backtest([path], p, equity=10_000.0, read="all")
    assert getattr(full, "read", None) is None and len(full.records) > 0
    win = backtest_windows(path, p, obj, equity=10_000.0)
    assert win.read["path"] == "windows"
    assert win.trades() == full.trades()
    assert _summary(win) == _summary(full)
    assert (win.counts == full.counts).all()


def test_window_local_reads_fewer_rows(tmp_path_factory, monkeypatch):
    import pyarrow.parquet as pq

    from liqcore.dataset.read import load_dataset

    path = _dataset(tmp_path_factory, 5)
    assert load_dataset(path).files[path]["checked"] is True  # read as converted datasets are
    decoded = []
    real = pq.ParquetFile.read_row_groups

    def counting(self, groups, *a, **kw):  # every row of each row group read by pyarrow is decoded
        t = real(self, groups, *a, **kw)
        decoded.append(t.num_rows)
        return t

    import liqcore.dataset.checked as ck

    real_pages = ck._decode_pages

    def counting_pages(path, f, ws, dec):  # (the rows of groups decoded page by page: each (key, group, r0, r1))
        got = real_pages(path, f, ws, dec)
        decoded.extend(w[3] - w[2] for w in ws if w[0] in got)
        return got

    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", counting)
    monkeypatch.setattr(ck, "_decode_pages", counting_pages)
    p = Params.from_mapping({"entry-timeout": "90s", "hold-timeout": "5m"})  # windows of ~7 minutes
    res = backtest([path], p, equity=10_000.0, read="windows")  # window-local (cascade-mm declares it)
    # the rows decoded whole, and the two time columns of the groups read for the detector's clock
    assert res.read["path"] == "windows" and res.read["rows_read"] + res.read["rows_clock"] == sum(decoded)
    total = res.read["rows_total"]
    assert total > 0 and res.read["rows_read"] < 0.8 * total, res.read  # 71 % on this cascade-dense market
    decoded.clear()
    ck._RECENT.clear()  # (the groups the windows decoded, kept in memory: the full replay decodes them anew)
    ck._recent_bytes[0] = 0
    full = backtest([path], p, equity=10_000.0, read="all")
    assert sum(decoded) >= total  # the full replay decodes every row
    assert full.trades() == res.trades()


def test_strategies_declare_what_they_read():
    from liqcore.strategies import get_strategy
    from liqcore.strategies.base import READS_ALL, READS_WINDOWS

    assert get_strategy("cascade-mm").reads == READS_WINDOWS
    before, after = get_strategy("cascade-mm").window_ns(Params())
    p = Params()
    assert before > p.max_ref_age_ns and after >= p.entry_timeout_ns + p.hold_timeout_ns + 2 * p.order_latency_ns
    with pytest.raises(ValueError, match="read"):
        backtest([], Params(), read="some")
    assert READS_ALL == "all"

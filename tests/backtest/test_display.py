"""In a notebook: a backtest result and a market show short text and an HTML table (not a 23,026-character
dump of every parameter and raw array), and ``res.plot()`` returns a matplotlib Figure; the report's PNGs
are drawn by the same figure functions."""
from __future__ import annotations

import pytest

from liqcore.backtest import backtest, synthetic_market


@pytest.fixture(scope="module")
def market():
    return synthetic_market(days=2, seed=3, symbols=["ETHUSDT", "SOLUSDT"])


@pytest.fixture(scope="module")
def result(market):
    return backtest(market)


def test_result_repr_is_short_and_names_fill_and_latency(result):
    text = repr(result)
    s = result.summary()
    assert len(text) < 800 and "array(" not in text and "Params(" not in text
    assert f"{s['trades']} trades" in text and "fill: " in text and "order latency: " in text
    html = result._repr_html_()
    assert html.count("<tr>") >= 17 and "<th>ETHUSDT</th>" in html and "<th>SOLUSDT</th>" in html
    assert "total ret" in html and "fill: " in html and "order latency: " in html


def test_market_repr_symbols_span_and_kinds(market):
    text = repr(market)
    assert len(text) < 500 and "ETHUSDT, SOLUSDT" in text and "2026-01-05" in text and "2 d" in text
    from liqcore.types import Kind

    n_trades = int((market.events["kind"] == Kind.TRADE).sum())
    assert f"trade {n_trades:,}" in text
    assert "<table>" in market._repr_html_() and "liquidation" in market._repr_html_()


def test_plot_returns_figures(result):
    from matplotlib.figure import Figure

    fig = result.plot()
    assert isinstance(fig, Figure) and len(fig.axes) == 2  # equity over drawdown
    one = result.plot(symbol="ETHUSDT")
    assert isinstance(one, Figure)
    labels = one.axes[0].get_legend_handles_labels()[1]
    assert {"trades", "cascade", "exit"} <= set(labels)
    with pytest.raises(ValueError, match="not one of this run's symbols"):
        result.plot(symbol="DOGEUSDT")


def test_report_pngs_come_from_the_same_figures(result, tmp_path, monkeypatch):
    from liqcore.backtest import report

    made = []
    real = report.equity_figure
    monkeypatch.setattr(report, "equity_figure", lambda r: made.append(r) or real(r))
    report.write_report(result, tmp_path / "rep")
    assert made == [result] and (tmp_path / "rep" / "report.html").is_file()
    assert any(p.suffix == ".png" for p in (tmp_path / "rep").iterdir())

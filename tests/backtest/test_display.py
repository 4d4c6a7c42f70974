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


# ---- sweeps, walk-forward, studies: every public result is short in text, a table in HTML ----------
GRID = {"offset": ["0.1%", "0.2%"], "take-profit": ["0.15%", "0.3%"]}


@pytest.fixture(scope="module")
def swept(market):
    from liqcore.backtest import sweep

    return sweep(market, GRID, progress=False)


def test_sweep_result_is_the_table_with_short_displays(swept):
    import pandas as pd

    assert isinstance(swept, pd.DataFrame) and type(swept.table) is pd.DataFrame and len(swept) == 4
    assert swept.grid == ["offset", "take-profit"]
    assert type(swept[swept["offset"] == "0.1%"]) is pd.DataFrame  # a slice is a plain frame
    best = swept.best("total_return", 1).iloc[0]
    assert best["total_return"] == swept["total_return"].max()
    text = repr(swept)
    assert len(text) < 400 and "\n" not in text
    assert f"offset={best['offset']}, take-profit={best['take-profit']}" in text
    page = swept._repr_html_()
    assert "best 5 by total return" in page and page.count("<table>") == 2 and "<th>take-profit</th>" in page
    assert page.count("<tr>") == 2 * (1 + 4)  # header + 4 rows, twice
    assert swept.best("max_drawdown", 1)["max_drawdown"].iloc[0] == swept["max_drawdown"].min()
    printed = str(swept).splitlines()
    assert printed[0] == text and len(printed) == 2 + 4 and "total_return" in printed[1]  # the line, then rows


def test_sweep_plot_is_a_heatmap_over_the_grid(swept):
    from matplotlib.figure import Figure
    from matplotlib.image import AxesImage

    fig = swept.plot()
    assert isinstance(fig, Figure) and len(fig.axes) == 2  # the heatmap and its colour bar
    ax = fig.axes[0]
    assert [type(i) for i in ax.images] == [AxesImage] and ax.images[0].get_array().shape == (2, 2)
    assert ax.get_ylabel() == "offset" and ax.get_xlabel() == "take-profit"
    cells = sorted(t.get_text() for t in ax.texts)
    want = sorted(f"{v * 100:.3g}%" for v in swept["total_return"])
    assert cells == want  # one cell per combination, the figure's numbers are the table's
    flipped = swept.plot(x="offset", y="take-profit", metric="trades")
    assert flipped.axes[0].get_xlabel() == "offset" and "trades (count)" in flipped.axes[0].get_title()
    line = swept.plot(x="offset")
    assert len(line.axes) == 1 and len(line.axes[0].lines) == 2  # the mean over take-profit, and zero
    assert "mean over take-profit (2 values)" in line.axes[0].get_title()
    with pytest.raises(ValueError, match="not a column"):
        swept.plot(x="stop-loss")


def test_sweep_command_png_is_the_same_figure(swept, tmp_path, monkeypatch):
    from liqcore.backtest import results
    from liqcore.commands.sweep import plot_sweep

    made = []
    real = results.sweep_figure
    monkeypatch.setattr(results, "sweep_figure", lambda *a, **k: made.append(a) or real(*a, **k))
    title = plot_sweep(swept, ["offset", "take-profit"], "total_return", str(tmp_path / "h.png"))
    assert len(made) == 1 and (tmp_path / "h.png").stat().st_size > 0
    assert title == swept.plot().axes[0].get_title()


@pytest.fixture(scope="module")
def walked():
    from liqcore.sweep import grid as SG, cells as S
    from liqcore.synthetic.market import DEFAULT_START_NS
    from liqcore.sweep.walkforward import walkforward
    from liqcore.config import Params

    day = 86_400 * 10**9
    parts = [S.Partition(S.Source("synthetic", days=2, seed=11), ("ETHUSDT",))]
    grid = SG.validate_grid(GRID)
    det, _ = SG.split_grid(grid)
    return walkforward(SG.expand_cells(grid), parts, (DEFAULT_START_NS, DEFAULT_START_NS + 2 * day), 2, Params(), det,
                       metric="total_return", cscv_blocks=2)


def test_walkforward_result_displays_and_plot(walked):
    import orjson
    from matplotlib.figure import Figure

    assert isinstance(walked, dict) and orjson.loads(orjson.dumps(walked))["metric"] == "total_return"
    text = repr(walked)
    assert len(text) < 500 and "2 folds, 4 cells, chosen by total_return" in text and "PBO" in text
    page = walked._repr_html_()
    assert page.count("<table>") == 2 and "chosen cell" in page
    chosen = ", ".join(f"{k}={v}" for k, v in walked["folds"][0]["cell"].items())
    assert chosen in page and len(walked.table) == 2
    fig = walked.plot()
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    bars = [p for p in fig.axes[0].patches]
    assert len(bars) == 4  # in- and out-of-sample, per fold
    assert fig.axes[0].get_legend_handles_labels()[1] == ["in-sample (train)", "out-of-sample (test)"]


def test_walkforward_command_png_is_the_same_figure(walked, tmp_path, monkeypatch):
    from liqcore.backtest import results
    from liqcore.commands.walkforward import plot_walkforward

    made = []
    real = results.walkforward_figure
    monkeypatch.setattr(results, "walkforward_figure", lambda rep: made.append(rep) or real(rep))
    drawn = plot_walkforward(walked, str(tmp_path / "w.png"))
    assert made == [walked] and (tmp_path / "w.png").stat().st_size > 0
    assert drawn[:2] == [a.get_title() for a in walked.plot().axes]


def test_run_cells_returns_a_sweep_result():
    from liqcore.sweep import grid as SG, store as SS, cells as S
    from liqcore.backtest.results import SweepResult
    from liqcore.config import Params

    parts = [S.Partition(S.Source("synthetic", days=1, seed=11), ("ETHUSDT",)),
             S.Partition(S.Source("synthetic", days=1, seed=11), ("SOLUSDT",))]
    table, _ = SS.run_cells(SG.expand_cells(SG.validate_grid(GRID)), parts, [S.Window()], Params(), [])
    assert isinstance(table, SweepResult) and len(table) == 8
    text = repr(table)
    assert len(text) < 400 and "x 2 partitions" in text and "partition=" in text


def test_study_and_audit_results_are_short(market):
    from liqcore.research import leak_audit
    from liqcore.research.studies import run_study, unavailable

    res = run_study("event", market.events, market.registry)
    text = repr(res)
    assert len(text) < 500 and text.startswith("<StudyResult event:") and "finding(s)" in text
    page = res._repr_html_()
    assert all(f in page for f in [__import__("html").escape(f) for f in res.findings])
    assert "<table" in page and f"({len(res.table)} rows" in page
    off = unavailable("oi", "open interest", "the input has no open-interest events")
    assert repr(off) == "<StudyResult oi: not available because the input has no open-interest events>"
    audit = leak_audit(market.events, market.registry, ["flow.ofi@5m:zscore"], samples=3)
    text = repr(audit)
    assert len(text) < 400 and text.startswith("<AuditResult no leak: 1 feature(s) x 2 symbol(s) at 3 times 2026-01-0")
    assert "array(" not in text


def test_a_study_plots_its_figures_from_the_object(market, tmp_path):
    """``res.plot()`` returns the figure the report writes (each of the study's, by file name or stem),
    held by no pyplot backend: no figure left open, the backend unchanged; a study without figures, an
    unknown name and an unavailable study say so."""
    import matplotlib
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from liqcore.research.studies import run_study, unavailable

    backend, open_before = matplotlib.get_backend(), plt.get_fignums()
    res = run_study("event", market.events, market.registry)
    names = [f for f, _d in res.plots]
    assert names == ["event_returns.png", "cascade_examples.png"]
    first, second = res.plot(), res.plot("cascade_examples")
    assert isinstance(first, Figure) and isinstance(second, Figure) and first is not second
    assert first.axes and "signed return" in first.axes[0].get_ylabel()
    assert len(second.axes) >= 1 and res.plot("cascade_examples.png").axes
    assert plt.get_fignums() == open_before and matplotlib.get_backend() == backend
    assert first._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"  # a notebook shows it
    written = res.write_plots(tmp_path)
    assert [p.name for p in written] == names and all(p.stat().st_size > 1000 for p in written)
    with pytest.raises(ValueError, match="no figure 'nope'; it has event_returns.png, cascade_examples.png"):
        res.plot("nope")
    with pytest.raises(ValueError, match="not available"):
        unavailable("oi", "open interest", "the input has no open-interest events").plot()
    for name in ("heatmap", "volatility", "distributions", "microstructure"):  # the other figure makers
        other = run_study(name, market.events, market.registry)
        if other.available and other.plots:
            assert isinstance(other.plot(), Figure), name
    assert plt.get_fignums() == open_before


def test_progress_in_a_kernel_is_one_text_line(monkeypatch):
    """In Jupyter (rich's own test says so) the progress is IPython display updates of one plain-text
    line, never rich's live display (which warns 'install "ipywidgets"' without ipywidgets)."""
    import sys
    import types

    from liqcore import progress

    shown = []

    class Handle:
        def update(self, obj, raw=False):
            shown.append(obj["text/plain"])

    display_mod = types.ModuleType("IPython.display")
    display_mod.display = lambda obj, raw=False, display_id=None: shown.append(obj["text/plain"]) or Handle()
    monkeypatch.setitem(sys.modules, "IPython", types.ModuleType("IPython"))
    monkeypatch.setitem(sys.modules, "IPython.display", display_mod)
    monkeypatch.setattr("rich.console._is_jupyter", lambda: True)
    bar = progress.progress_bar("sweep", 3)
    assert isinstance(bar, progress.TextLine)
    with bar:
        for _ in range(3):
            bar.advance()
    assert shown[0].startswith("sweep: 0/3 (0%), ") and shown[-1].startswith("sweep: 3/3 done in ")
    monkeypatch.setattr("rich.console._is_jupyter", lambda: False)
    assert not isinstance(progress.progress_bar("sweep", 3), progress.TextLine)


def test_result_repr_says_the_datas_span_not_its_calendar_days(tmp_path):
    """The bundled sample covers 4 h 42 min of one UTC day: its repr says so (it said "(1.00 d)", the count of
    UTC days touched); two synthetic days say about two days."""
    from liqcore.data import copy_sample

    res = backtest(str(copy_sample(tmp_path)))
    s = res.summary()
    minutes = round((s["end_ns"] - s["start_ns"]) / 60e9)
    assert 4 * 60 < minutes < 5 * 60
    assert f"UTC ({minutes // 60} h {minutes % 60} min);" in repr(res) and " d);" not in repr(res)


def test_html_orders_add_up_with_the_working_entry(result):
    """orders = fills + unfilled + rejected + working: the entry still working at the end has its row in the
    HTML (and in the CLI's table), not only in a line under it."""
    import re

    s = result.summary()
    assert s["working_at_end"] >= 1  # this market ends with an entry working (the case that did not add up)
    assert s["orders"] == s["fills"] + s["unfilled"] + s["rejected"] + s["working_at_end"]
    cells = dict(re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td>", result._repr_html_()))
    assert int(cells["orders"]) == sum(int(cells[k]) for k in ("fills", "unfilled", "rejected", "working"))
    assert int(cells["working"]) == s["working_at_end"]


def test_the_guides_fill_rate_is_compared_per_signal():
    """The guide's "50-80 % of signals" is set beside fills per signal, not fills per order (the table's)."""
    from liqcore.backtest.report import guide_comparison

    result = backtest(synthetic_market(days=7, seed=3, symbols=["ETHUSDT", "SOLUSDT"]))
    s = result.summary()
    assert s["fills"] / s["signals"] < s["fill_rate"]  # the two bases differ here
    (row,) = [r for r in guide_comparison(s, result.params, min_trades=1) if r[0].startswith("fill rate")]
    assert row[1] == f"{100 * s['fills'] / s['signals']:.2f}%" and row[2] == "50-80 % of signals"
    assert "per signal" in row[0]
    # one "fill rate" on the page: the table's own figure is named by its basis (fills per order)
    from liqcore.backtest.report import summary_rows

    _, rows = summary_rows(result, s)
    labels = [r[0] for r in rows]
    assert "fills/orders" in labels and not [x for x in labels if "fill rate" in x], labels


def test_a_narrow_table_keeps_its_title_on_one_line(result):
    """Two symbol columns made the summary table narrower than its title, which rich then wrapped to the
    table's width ("... columns: all" / "symbols, then each symbol)"): the table is now as wide as its title."""
    from rich.console import Console

    from liqcore.backtest.report import print_summary

    con = Console(width=200, record=True)
    print_summary(result, con, min_trades=1)
    lines = [ln.strip() for ln in con.export_text().splitlines()]
    assert "backtest summary (rows: metrics; columns: all symbols, then each symbol)" in lines
    assert "measured vs the trading guide's claims" in lines


def test_five_symbols_at_80_columns_show_every_label_whole(monkeypatch):
    """At 80 columns (a pipe, a file, a terminal that wide: the demo's own output) five symbol columns made the
    summary two characters too wide, and rich cut ``fills/orders`` to ``fills/ord…``.  The table then drops its
    left and right edges (``liqcore._tables.fit_table``) and every label and figure shows whole; a wide console
    keeps the edges.  The negative control: without the fit, the label is cut on this very result."""
    import io

    from rich.console import Console

    import liqcore.backtest.report as R

    res = backtest(synthetic_market(days=5, seed=7, symbols=["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT"]))

    def table(width: int) -> list[str]:
        con = Console(file=io.StringIO(), width=width, record=True)
        R.print_summary(res, con, guide=False)
        return [ln for ln in con.export_text().splitlines() if "│" in ln]

    lines = table(80)
    labels = [ln.split("│")[0].strip() for ln in lines]
    assert "fills/orders" in labels and "ret/trade" in labels and not any("…" in ln for ln in lines)
    assert all(len(ln) <= 80 for ln in lines)
    assert all(ln.startswith("│") for ln in table(200))  # (wide enough: the edges kept)
    monkeypatch.setattr(R, "fit_table", lambda console, t: t)
    assert any("fills/ord…" in ln for ln in table(80))

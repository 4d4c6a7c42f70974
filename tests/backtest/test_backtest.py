"""Backtest front, metrics, export, report, sweep and the `liqcore backtest` command."""
from __future__ import annotations

import io
import json
import math
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import pytest

from simdata import DAY, MS, S

from liqcore.backtest import metrics as M
from liqcore.backtest.run import backtest, detect, simulate, sweep
from liqcore.cli import main
from liqcore.config import Params
from liqcore.types import EVENT_DTYPE, Kind, Side, SymbolRegistry

T0 = 1_767_225_600 * S  # 2026-01-01 00:00 UTC

SUMMARY_COUNTS = ("cascades", "signals", "orders", "rejected", "fills", "unfilled", "take_profit", "stop_loss",
                  "timeout")
TRADE_KEYS = {"venue", "symbol", "side", "signal_ns", "entry_ns", "entry_price", "exit_ns", "exit_price",
              "exit_reason", "fees", "fees_quote", "return", "limit_price", "fill_rule"}


def cascade_market():
    """One symbol: 30 small liquidations (threshold history), trades every second at 100, then two
    large long liquidations 10 s apart (a cascade, longs flushed), a dip through the limit and a bounce."""
    reg = SymbolRegistry([("binance", "ETHUSDT")])
    rows = []
    t = T0 + 10 * 3600 * S
    for i in range(30):  # 61 s apart: never two in one window
        rows.append((t + i * 61 * S, Kind.LIQUIDATION, Side.LONG if i % 2 else Side.SHORT, 100.0, 1.0 + (i % 5) * 0.1))
    tc = t + 30 * 61 * S
    for i in range(60):
        rows.append((tc - 50 * S + i * S + 500 * MS, Kind.TRADE, Side.BUY, 100.0, 2.0))
    rows.append((tc, Kind.LIQUIDATION, Side.LONG, 99.9, 50.0))
    rows.append((tc + 10 * S, Kind.LIQUIDATION, Side.LONG, 99.8, 60.0))
    path = [99.95, 99.9, 99.84, 99.8, 99.9, 100.0, 100.2, 100.1]
    for k, px in enumerate(path):
        rows.append((tc + 10 * S + (k + 1) * S, Kind.TRADE, Side.SELL, px, 1.0))
    rows.sort(key=lambda r: r[0])
    ev = np.zeros(len(rows), dtype=EVENT_DTYPE)
    for i, (ts, kind, side, px, qty) in enumerate(rows):
        ev[i] = (ts, ts, px, qty, 0, side, kind, 2, 0)
    return ev, reg


def small_params(**kw):
    return Params.from_mapping({"min-history": 20, "refresh": 0, **kw})


def test_backtest_end_to_end_on_a_handmade_cascade():
    ev, reg = cascade_market()
    # the prices as computed (off ETHUSDT's 0.01 tick: the take-profit 99.999775), checked by formula below
    res = backtest(ev, small_params(**{"price-grid": "off"}), registry=reg, equity=1000.0)
    s = res.summary()
    assert s["cascades"] == 1 and s["orders"] == 1 and s["fills"] == 1 and s["take_profit"] == 1
    (t,) = res.trades()
    assert set(t) == TRADE_KEYS
    # by default (tick) the take-profit sell goes to the tick at or above, as paper rounds it: 100.00
    (tick,) = backtest(ev, small_params(), registry=reg, equity=1000.0).trades()
    assert tick["entry_price"] == 99.85 and tick["exit_price"] == 100.0 and tick["exit_reason"] == "take_profit"
    assert t["venue"] == "binance" and t["symbol"] == "ETHUSDT" and t["side"] == "long"
    assert t["entry_price"] == pytest.approx(100.0 * (1 - 0.0015))
    assert t["exit_price"] == pytest.approx(t["entry_price"] * 1.0015)
    assert t["exit_reason"] == "take_profit"
    assert t["return"] == pytest.approx(0.0015 - 0.0002 - 0.0002 * 1.0015, abs=1e-12)  # each fee on its own fill
    assert s["equity_end"] == pytest.approx(1000.0 * (1 + 0.25 * t["return"]), rel=1e-12)
    assert s["win_rate"] == 1.0 and s["fill_rate"] == 1.0
    assert res.per_symbol()["binance:ETHUSDT"]["fills"] == 1


def test_records_reused_and_execution_params_vary_without_redetection():
    ev, reg = cascade_market()
    p = small_params()
    records, _ = detect(ev, p)
    a = simulate(ev, records, reg, p)
    b = simulate(ev, records, reg, p.replace(offset=0.005))  # limit far below: never reached
    assert a.summary()["fills"] == 1
    assert b.summary()["fills"] == 0 and b.summary()["working_at_end"] == 1


def test_unsorted_input_is_replayed_in_receive_order_with_record_indices_remapped():
    ev, reg = cascade_market()
    p = small_params()
    records, _ = detect(ev, p)
    want = simulate(ev, records, reg, p)
    rng = np.random.default_rng(1)
    perm = rng.permutation(len(ev))
    inv = np.empty_like(perm)
    inv[perm] = np.arange(len(perm))
    shuffled_records = records.copy()
    shuffled_records["event_index"] = inv[records["event_index"]]
    got = simulate(ev[perm], shuffled_records, reg, p)
    assert want.summary()["fills"] == 1
    np.testing.assert_array_equal(got.ledger, want.ledger)
    np.testing.assert_array_equal(got.counts, want.counts)


def test_bad_prints_are_counted_and_ignored():
    ev, reg = cascade_market()
    p = small_params()
    records, _ = detect(ev, p)
    want = simulate(ev, records, reg, p)
    bad = ev.copy()
    trades = np.flatnonzero(bad["kind"] == Kind.TRADE)
    bad["price"][trades[:3]] = [np.nan, -1.0, np.inf]
    clean = bad.copy()
    clean["kind"][trades[:3]] = 0
    got = simulate(bad, records, reg, p)
    ref = simulate(clean, records, reg, p)
    assert got.summary()["dropped"] == {"bad_trade_price": 3}
    np.testing.assert_array_equal(got.ledger, ref.ledger)
    assert want.summary()["fills"] == got.summary()["fills"] == 1
    assert np.isfinite(got.ledger["ret"]).all()


def test_json_command_shape_and_consistency(tmp_path, monkeypatch):
    ev, reg = cascade_market()
    from liqcore.io import save_events

    path = tmp_path / "ev.parquet"
    save_events(ev, path, registry=reg)
    out = io.StringIO()
    buf = io.BytesIO()

    class _Out:
        buffer = buf

        def write(self, s):
            out.write(s)

        def flush(self):
            pass

    monkeypatch.setattr("sys.stdout", _Out())
    rc = main(["backtest", str(path), "--json", "--min-history", "20", "--refresh", "0", "--equity", "1"])
    assert rc == 0
    doc = json.loads(buf.getvalue())
    assert set(doc) == {"summary", "trades"}
    s = doc["summary"]
    for k in SUMMARY_COUNTS:
        assert isinstance(s[k], int)
    assert len(doc["trades"]) == s["take_profit"] + s["stop_loss"] + s["timeout"] == 1
    assert set(doc["trades"][0]) == TRADE_KEYS
    assert s["params"]["min-history"] == "20"


def test_synthetic_command_out_report_and_config(tmp_path, monkeypatch):
    monkeypatch.setenv("LIQCORE_CACHE", str(tmp_path / "cache"))
    cfg = tmp_path / "p.toml"
    cfg.write_text('offset = "0.2%"\n[params]\nfill = "touch"\n')
    stdout = io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(io.StringIO()):
        rc = main(["backtest", "--synthetic", "--days", "1", "--symbols", "ETHUSDT,BTCUSDT", "--seed", "3",
                   "--config", str(cfg), "--take-profit", "0.2%", "--out", str(tmp_path / "out"),
                   "--report", str(tmp_path / "rep"), "--no-progress"])
    assert rc == 0
    text = stdout.getvalue()
    assert "ETHUSDT" in text and "guide" in text
    import pyarrow.parquet as pq

    led = pq.read_table(tmp_path / "out" / "ledger.parquet")
    summ = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert led.num_rows == len(summ["trades"])
    assert summ["summary"]["params"]["offset"] == "0.2%" and summ["summary"]["params"]["fill"] == "touch"
    assert summ["summary"]["params"]["take-profit"] == "0.2%"
    assert (tmp_path / "out" / "ledger.csv").read_text().replace('"', '').startswith("venue,symbol,side")
    assert pq.read_table(tmp_path / "out" / "summary.parquet").column("scope").to_pylist()[0] == "all"
    html = (tmp_path / "rep" / "report.html").read_text()
    for png in ("equity.png", "per_symbol.png", "returns.png"):
        assert png in html and (tmp_path / "rep" / png).stat().st_size > 5000
    assert "Parameters" in html and "SYNTHETIC" not in html


def test_command_errors_are_clean(capsys):
    assert main(["backtest"]) == 2
    assert "paths" in capsys.readouterr().err
    assert main(["backtest", "--synthetic", "--offset", "lots"]) == 2
    assert "offset" in capsys.readouterr().err


def test_sweep_reuses_one_detection():
    ev, reg = cascade_market()
    table = sweep(ev, {"offset": ["0.1%", "0.15%", "0.5%"], "fill": ["through", "touch"]}, small_params(),
                  registry=reg, progress=False)
    assert len(table) == 6
    assert set(table["cascades"]) == {1}
    assert table[table["offset"] == "0.5%"]["fills"].sum() == 0
    assert table[table["offset"] == "0.1%"]["fills"].min() == 1
    par = sweep(ev, {"offset": ["0.1%", "0.15%", "0.5%"], "fill": ["through", "touch"]}, small_params(),
                registry=reg, progress=True, workers=2)
    assert par.equals(table)  # same rows, same order
    with pytest.raises(ValueError, match="detector parameter"):
        sweep(ev, {"window": ["30s"]}, small_params(), registry=reg, progress=False)


def test_metrics_daily_sharpe_drawdown_exposure():
    from liqcore._jit.sim import LEDGER_DTYPE

    L = np.zeros(3, dtype=LEDGER_DTYPE)
    L["entry_ns"] = [T0 + 1 * S, T0 + DAY + 10 * S, T0 + 3 * DAY]
    L["exit_ns"] = [T0 + 11 * S, T0 + DAY + 20 * S, T0 + 3 * DAY + 10 * S]
    L["pnl"] = [10.0, -5.0, 2.0]
    L["ret"] = [0.01, -0.005, 0.002]
    L["equity_after"] = 1000 + np.cumsum(L["pnl"])
    daily = M.daily_returns(L, 1000.0, T0, T0 + 4 * DAY - 1)
    np.testing.assert_allclose(daily, [10 / 1000, -5 / 1010, 0.0, 2 / 1005])
    assert M.sharpe(daily) == pytest.approx(np.mean(daily) / np.std(daily, ddof=1) * math.sqrt(365))
    assert M.max_drawdown(np.array([1000, 1010, 1005, 1007.0])) == pytest.approx(5 / 1010)
    assert M._union_length(np.array([0, 5, 20]), np.array([10, 12, 25])) == 17
    counts = np.zeros((1, len(M.COUNT_NAMES)), np.int64)
    s = M.summarize(L, counts, 1000.0, T0, T0 + 4 * DAY - 1)
    assert s["exposure"] == pytest.approx(30 * S / (4 * DAY - 1))
    assert s["win_rate"] == pytest.approx(2 / 3)
    assert s["sharpe"] is not None and s["days"] == 4
    assert M.sharpe(np.zeros(5)) is None


def test_real_binance_recordings_say_the_trades_are_filtered(real_data):
    for folder in ("binance-forceorder-2025-01", "binance-forceorder-2025-12"):
        res = backtest(real_data / folder, Params())
        s = res.summary()
        assert "15k" in s["data_note"]
        assert s["cascades"] == s["signals"] + s["busy"] + s["cooldown"] + s["mixed"]
        assert len(res.trades()) == s["take_profit"] + s["stop_loss"] + s["timeout"]
        m = M.min_trade_notional(res.events)
        assert 14_000 < m < 15_500


def test_help_lists_every_parameter(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["backtest", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    from liqcore.config import PARAMS

    for spec in PARAMS:
        if spec.group != "feed":  # live-socket settings belong to run/record
            assert f"--{spec.name}" in text
    assert "0.15%" in text and "--synthetic" in text and "--report" in text


def test_breakeven_win_rate_from_tp_sl_and_fees():
    from liqcore.backtest.report import breakeven_win_rate

    # each fee on its own fill's notional: win 0.15% - 2bp - 2bp x 1.0015, loss 0.25% + 2bp + 5.5bp x 0.9975
    win, loss = 0.0015 - 0.0002 - 0.0002 * 1.0015, 0.0025 + 0.0002 + 0.00055 * 0.9975
    assert breakeven_win_rate(Params()) == pytest.approx(loss / (win + loss), rel=1e-12)
    assert round(100 * breakeven_win_rate(Params()), 1) == 74.7  # the figure the docs quote
    # BTC preset: win 0.50% - 2bp - 2bp x 1.005, same loss
    win = 0.005 - 0.0002 - 0.0002 * 1.005
    assert breakeven_win_rate(Params(), "BTCUSDT") == pytest.approx(loss / (win + loss), rel=1e-12)
    assert round(100 * breakeven_win_rate(Params(), "BTCUSDT"), 1) == 41.4


# ---- tiny samples are not headlines ---------------------------------------------------------------
def _green_pixels(png) -> int:
    import matplotlib.image as mpimg

    img = mpimg.imread(png)[..., :3]
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    return int(((g - r > 0.2) & (g - b > 0.2)).sum())


def test_one_trade_is_too_few_to_compare_with_the_guide():
    from liqcore.backtest.report import guide_comparison, verdict

    ev, reg = cascade_market()
    s = backtest(ev, small_params(), registry=reg, equity=1000.0).summary()
    assert s["trades"] == 1 and s["win_rate"] == 1.0
    v = verdict(s)
    assert "1 trade: too few to judge (fewer than 30)" in v and "vs the guide" not in v and "100.0%" not in v
    rows = guide_comparison(s, small_params())
    assert rows[0][0].startswith("break-even")  # depends on the parameters only: still shown
    assert all(claim == "not compared: 1 trade, fewer than 30" for _, _, claim in rows[1:])
    # the threshold is a parameter
    assert "vs the guide's claimed ~73%" in verdict(s, min_trades=1)
    assert [c for _, _, c in guide_comparison(s, min_trades=1)][0] == "~73%"
    with pytest.raises(ValueError, match="min-trades"):
        verdict(s, min_trades=0)


def test_report_renders_for_one_trade_and_for_none(tmp_path):
    from liqcore.backtest.report import write_report

    ev, reg = cascade_market()
    one = backtest(ev, small_params(), registry=reg, equity=1000.0)
    html = write_report(one, tmp_path / "one").read_text()
    assert "too few to judge" in html and "not compared: 1 trade" in html
    # the single take-profit bar is visible (a bar of the old 1e-9-wide bins drew nothing)
    assert _green_pixels(tmp_path / "one" / "returns.png") > 2000  # the legend swatch alone: ~225
    none = backtest(ev, small_params(**{"min-large": 5}), registry=reg, equity=1000.0)
    assert len(none.ledger) == 0
    html = write_report(none, tmp_path / "none").read_text()
    assert "No trade was completed" in html
    assert (tmp_path / "none" / "returns.png").stat().st_size > 5000


def test_return_bins_give_a_single_value_a_visible_width():
    from liqcore.backtest.report import return_bins

    for v in (0.11, -0.35, 0.0, 12.5):
        edges = return_bins(np.array([v]))
        width = edges[1] - edges[0]
        assert edges[0] < v < edges[-1] and width > 0.005 and np.all(np.diff(edges) > 0)
    edges = return_bins(np.array([-0.3, 0.1, 0.2]))
    assert len(edges) == 41 and edges[0] == -0.3 and edges[-1] == 0.2


def test_backtest_command_says_a_tiny_sample_is_too_small(tmp_path, capsys):
    ev, reg = cascade_market()
    from liqcore.io import save_events

    path = tmp_path / "ev.parquet"
    save_events(ev, path, registry=reg)
    base = ["backtest", str(path), "--min-history", "20", "--refresh", "0", "--no-progress"]
    assert main([*base, "--report", str(tmp_path / "rep")]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "too few to judge" in text and "Win rate 100.0% vs" not in text
    assert "too few to judge" in (tmp_path / "rep" / "report.html").read_text()
    assert main([*base, "--min-trades", "1"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "Win rate 100.0% vs the guide's claimed ~73%" in text
    assert main([*base, "--min-trades", "0"]) == 2
    assert "min-trades" in capsys.readouterr().err


def test_demo_says_a_tiny_sample_is_too_small(tmp_path, capsys):
    args = ["demo", "--days", "0.5", "--symbols", "ETHUSDT", "--seed", "5", "--cache-dir", str(tmp_path / "c"),
            "--report", str(tmp_path / "rep"), "--no-progress", "--min-trades", "100000"]
    assert main(args) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "too few to judge" in text or "No trade was completed" in text
    assert "vs the guide's claimed" not in text
    html = (tmp_path / "rep" / "report.html").read_text()
    assert "too few to judge" in html or "No trade was completed" in html


def test_report_axes_carry_units_whole_counts_and_no_offset(tmp_path, monkeypatch):
    """Equity in % since start with no "+1" offset; trade counts on whole numbers; the break-even of
    the run's own symbols only (no BTC preset on an ETH-only run)."""
    import matplotlib.figure

    from liqcore.backtest.report import guide_comparison, plot_equity, plot_returns

    figs = []
    real_savefig = matplotlib.figure.Figure.savefig

    def keep(self, *a, **k):  # the real savefig; the figure is kept to read its axes
        figs.append(self)
        return real_savefig(self, *a, **k)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", keep)
    ev, reg = cascade_market()
    res = backtest(ev, small_params(), registry=reg, equity=1000.0)
    plot_equity(res, tmp_path / "e.png")
    a1, a2 = figs[-1].axes
    for ax in (a1, a2):
        ax.figure.canvas.draw()
        assert ax.yaxis.get_major_formatter().get_offset() == ""  # no "+1" / "1e-5" above the axis
        assert "%" in ax.get_ylabel()
    plot_returns(res, tmp_path / "r.png")
    ax = figs[-1].axes[0]
    ticks = [t for t in ax.get_yticks() if ax.get_ylim()[0] <= t <= ax.get_ylim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks
    assert ax.get_ylabel() == "trades (count)"
    be = guide_comparison(res.summary(), res.params, symbols=["ETHUSDT"])[0][1]
    assert "BTC" not in be and "(ETHUSDT)" in be
    both = guide_comparison(res.summary(), res.params, symbols=["ETHUSDT", "BTCUSDT"])[0][1]
    assert "(ETHUSDT)" in both and "(BTCUSDT)" in both
    s = res.summary()
    from liqcore.backtest.report import write_report

    html = write_report(res, tmp_path / "rep").read_text()
    assert "BTC" not in html

"""Backtest report: summary tables for the terminal (rich) and an HTML report with PNG figures
(matplotlib, Agg backend): equity and drawdown, per-symbol results, per-trade returns, and a few
cascades drawn on the price path with liquidations, entry and exit marked; plus the parameter
table and notes on the data.

Why one module: the terminal tables and the HTML page render the same rows, cells and notes of one result.
"""
from __future__ import annotations

import html
import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from liqcore._extras import need
from liqcore.types import Kind, Side
from liqcore._tables import fit_table, titled_table

#: the trading guide's claims, printed beside the measured figures
GUIDE = {
    "win_rate": 0.73,
    "sharpe_portfolio": "3-8 (annual, its 'conservative' portfolio table); 46-172 per symbol in its backtest table",
    "fill_rate": "50-80 % of signals",
    "avg_hold": "1-3 min",
}

_COLS = [
    ("cascades", "cascades"), ("signals", "signals"), ("orders", "orders"), ("rejected", "rejected"),
    ("fills", "fills"), ("unfilled", "unfilled"), ("working_at_end", "working"), ("take_profit", "TP"),
    ("stop_loss", "SL"),
    # (fills per order; the guide's fill rate is per signal: its own row, named so, in the comparison)
    ("timeout", "timeout"), ("fill_rate", "fills/orders"), ("win_rate", "win rate"), ("avg_hold_s", "avg hold"),
    ("avg_return", "ret/trade"), ("total_return", "total ret"), ("sharpe", "Sharpe"),
    ("max_drawdown", "max DD"), ("exposure", "exposure"),
]
_PCT = {"fill_rate", "win_rate", "total_return", "max_drawdown", "exposure"}

#: below this many completed trades the results are not compared with the guide's claims
MIN_TRADES = 30


def _check_min_trades(min_trades) -> int:
    if isinstance(min_trades, bool) or not isinstance(min_trades, int) or min_trades < 1:
        raise ValueError(f"min-trades: must be a whole number >= 1; got {min_trades!r}")
    return min_trades


def _trades(n: int) -> str:
    return f"{n} trade{'' if n == 1 else 's'}"


def fmt(key: str, v) -> str:
    if v is None:
        return "-"
    if key in _PCT:
        return f"{v * 100:.2f}%"
    if key == "avg_return":
        return f"{v * 100:.4f}%"
    if key == "avg_hold_s":
        return f"{v / 60:.1f} min" if v >= 60 else f"{v:.1f} s"
    if key == "sharpe":
        return f"{v:.2f}"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _ts(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def verdict(summary: dict, min_trades: int = MIN_TRADES) -> str:
    """One honest sentence: did the strategy make or lose money, and how it compares to the guide.
    Below ``min_trades`` completed trades it says the sample is too small instead of comparing."""
    _check_min_trades(min_trades)
    tr = summary.get("total_return") or 0.0
    n = summary.get("trades", 0)
    if n == 0:
        return "No trade was completed: nothing to judge."
    word = "MADE" if tr > 0 else "LOST"
    wr = summary.get("win_rate")
    sh = summary.get("sharpe")
    head = f"The strategy {word} {abs(tr) * 100:.2f}% over {summary.get('days', 0)} day(s) and {_trades(n)}"
    coin = _coin_sentence(summary)
    if n < min_trades:
        return (f"{head}: too few to judge (fewer than {min_trades}); the win rate, Sharpe and the other "
                f"figures are not compared with the guide's claims.{coin}")
    parts = [head + "." + coin]
    parts.append(f"Win rate {wr * 100:.1f}% vs the guide's claimed ~{GUIDE['win_rate'] * 100:.0f}%."
                 if wr is not None else "")
    parts.append(f"Sharpe {sh:.2f} vs the guide's claimed {GUIDE['sharpe_portfolio']}." if sh is not None else
                 "Sharpe undefined (too few days or no variation).")
    return " ".join(p for p in parts if p)


def equity_unit(result) -> str:
    """The unit of the account's equity (``--equity``): the quote currency of the symbols with a cascade or trade,
    USDT on USDT-margined contracts, USD on coin-margined ones (their P&L counted at each exit's price); "quote
    units" where they differ or the venue does not know the symbol as one of its perpetuals (its spec in the venue
    registry: :meth:`~liqcore.venues.registry.VenueSpec.instrument_of`, its ``quote``)."""
    from liqcore.execution.arrays import margin_coin
    from liqcore.venues.registry import spec_or_none

    units = set()
    for sid in range(result.counts.shape[0]):
        if not result.counts[sid].any() or sid >= len(result.registry):
            continue
        venue, name = result.registry.lookup(sid)
        if margin_coin(int(venue), name):
            units.add("USD")
            continue
        spec = spec_or_none(int(venue))
        units.add(spec.quote if spec is not None and spec.instrument_of(name) else "quote units")
    return units.pop() if len(units) == 1 else "quote units"


def _coin_sentence(summary: dict) -> str:
    """Inverse contracts: their P&L in each margin coin (`` In the coin: -0.00088 BTC over 3 inverse trades ...``)."""
    coin = summary.get("pnl_coin") or {}
    if not coin:
        return ""
    each = ", ".join(f"{c['pnl']:+.8g} {c['unit']} over {_trades(int(c['trades']))}"
                     + (f", fees {c['fees']:.8g} {c['unit']} ({c['fees_usd']:.2f} USD at each exit's price)"
                        if "fees" in c else "")
                     + (f" (equity {c['equity_start']:.8g} -> {c['equity_end']:.8g} {c['unit']})"
                        if "equity_end" in c else "") for c in coin.values())
    return f" In the coin (inverse contracts): {each}; the % above counts them in USD at each exit's price."


def breakeven_win_rate(params, symbol: str = "ETHUSDT") -> float:
    """Win rate at which take-profits (TP - 2 maker fees) pay for stops (SL + maker + taker fee) at the
    symbol's parameters, ignoring slippage beyond the stop, timeouts and funding.  Each fee is charged on
    its own fill's notional, as the fill model does (a long's take-profit exit at ``1 + TP`` times the entry,
    its stop at ``1 - SL``), all as fractions of the entry notional."""
    p = params.for_symbol(symbol)
    m, t = p.maker_fee_bps / 1e4, p.taker_fee_bps / 1e4
    win, loss = p.take_profit - m - m * (1 + p.take_profit), p.stop_loss + m + t * (1 - p.stop_loss)
    return loss / (win + loss) if win + loss > 0 else float("nan")


def _symbols_of(result) -> list[str]:
    reg = getattr(result, "registry", None)
    return [reg.symbol(i) for i in range(len(reg))] if reg is not None else []


def guide_comparison(summary: dict, params=None, min_trades: int = MIN_TRADES,
                     symbols=None) -> list[tuple[str, str, str]]:
    """(metric, measured, guide's claim) rows; below ``min_trades`` completed trades the claim column
    says the sample is too small instead of quoting the claim (the break-even row, which depends only
    on the parameters, stays).  The break-even win rate is given for the run's ``symbols`` (one
    figure per distinct value, naming its symbols; the base parameters when none are given)."""
    _check_min_trades(min_trades)
    n = int(summary.get("trades") or 0)
    small = n < min_trades
    extra = []
    if params is not None:
        groups: dict[float, list[str]] = {}
        for sym in (list(symbols) if symbols else [None]):
            be = breakeven_win_rate(params, sym) if sym else breakeven_win_rate(params)
            groups.setdefault(round(be, 6), []).append(sym)
        first = next(iter(groups))
        side = "below" if GUIDE["win_rate"] < first else "above"
        measured = "; ".join(f"{be * 100:.1f}%" + (f" ({', '.join(syms)})" if syms[0] else "")
                             for be, syms in groups.items())
        extra = [("break-even win rate at these TP/SL/fees (no slippage)", measured,
                  f"not stated; its ~73% is {side} the first figure")]
    rows = [
        ("win rate", fmt("win_rate", summary.get("win_rate")), "~73%"),
        ("Sharpe (annualised)", fmt("sharpe", summary.get("sharpe")), GUIDE["sharpe_portfolio"]),
        # on the guide's basis (fills per signal); the table's fill rate is per order
        ("fill rate per signal",
         fmt("fill_rate", summary["fills"] / summary["signals"] if summary.get("signals") else None),
         GUIDE["fill_rate"]),
        ("average hold", fmt("avg_hold_s", summary.get("avg_hold_s")), GUIDE["avg_hold"]),
        ("TP / SL / timeout split",
         "/".join(f"{(summary.get(k, 0) / summary['trades'] * 100):.0f}%" if summary.get("trades") else "-"
                  for k in ("take_profit", "stop_loss", "timeout")), "73% / 25% / 2%"),
    ]
    if small:
        why = f"not compared: {_trades(n)}, fewer than {min_trades}"
        rows = [(metric, measured, why) for metric, measured, _ in rows]
    return extra + rows


# ---- terminal --------------------------------------------------------------------------------
def print_summary(result, console=None, guide: bool = True, min_trades: int = MIN_TRADES) -> None:
    """Overall + per-symbol table, skip reasons, data note (rich); the guide's claims beside the
    measured figures only from ``min_trades`` completed trades on."""
    from rich.console import Console
    from rich.table import Table

    _check_min_trades(min_trades)
    console = console or Console()
    s = result.summary()
    header, rows = summary_rows(result, s)
    n_sym = len(result.per_symbol())
    t = titled_table("backtest summary (rows: metrics; columns: all symbols, then each symbol)" if n_sym <= MAX_SYMBOL_COLUMNS
              else f"backtest summary (rows: metrics; columns: all {n_sym} symbols with a cascade or trade, then the "
                   f"{MAX_SYMBOL_COLUMNS} with the most trades; every symbol: --json or --out)")
    t.add_column("metric")
    t.add_column("ALL", justify="right", style="bold")
    for name in header[2:]:
        t.add_column(name, justify="right")
    for row in rows:
        t.add_row(*row)
    console.print(fit_table(console, t))
    keys = ["busy", "cooldown", "mixed", "hours", "loss_limit", "max_symbols", "no_reference_price"]
    keys += [k for k in ("skipped", "daily_trades", "max_positions", "leverage", "below_minimum") if s.get(k)]
    reasons = ", ".join(f"{k}={s[k]}" for k in keys)
    if s.get("skips"):
        reasons += " (skipped: " + ", ".join(f"{k}={v}" for k, v in s["skips"].items()) + ")"
    console.print(f"nothing placed because: {reasons}")
    if s.get("refused"):  # --symbols all: decisions on symbols not traded, never sent
        console.print("cascades on symbols not traded (decisions, never sent): "
                      + ", ".join(f"{k}={v}" for k, v in sorted(s["refused"].items())), markup=False, highlight=False)
    console.print(f"equity {s['equity_start']:.6g} -> {s['equity_end']:.6g} {equity_unit(result)}; open at end: "
                  f"{s['open_at_end']}, "
                  f"working entries at end: {s['working_at_end']}")
    if s.get("fill_model"):
        console.print(f"fill: {s['fill_model']}", markup=False, highlight=False)
    if s.get("data_note"):
        console.print(f"[yellow]data note:[/] {s['data_note']}")
    if s.get("depth_note"):
        console.print(f"depth note: {s['depth_note']}", markup=False, highlight=False)
    for k, f in (("order", "order_latency_model"), ("feed", "feed_latency_model"),
                 ("feed", "feed_latency_model_of_rows_read")):  # which latency the run used
        if s.get(f):
            console.print(f"{k} latency: {s[f]}", markup=False, highlight=False, soft_wrap=True)
    for line in _binary_lines(result):
        console.print(line, markup=False, highlight=False)
    limits = loss_limit_line(result)
    if limits:
        console.print(limits, markup=False, highlight=False)
    if guide and getattr(result, "strategy", "cascade-mm") == "cascade-mm":
        g = titled_table("measured vs the trading guide's claims")
        g.add_column("metric")
        g.add_column("measured", justify="right")
        g.add_column("guide claims")
        for row in guide_comparison(s, result.params, min_trades, symbols=_symbols_of(result)):
            g.add_row(*row)
        console.print(g)
        console.print(verdict(s, min_trades))


#: the symbol columns of the summary table at most (a whole market: the most traded, then the most cascades)
MAX_SYMBOL_COLUMNS = 12


def summary_rows(result, s: dict | None = None) -> tuple[list[str], list[list[str]]]:
    """The summary table the CLI prints: header (metric, ALL, each symbol -- at most :data:`MAX_SYMBOL_COLUMNS`
    of them, the most trades then cascades first) and one row of text per metric."""
    s = result.summary() if s is None else s
    per = result.per_symbol()
    if len(per) > MAX_SYMBOL_COLUMNS:  # (every symbol: --json, --out)
        top = sorted(per.items(), key=lambda kv: (-int(kv[1].get("trades") or 0), -int(kv[1].get("cascades") or 0),
                                                  kv[0]))[:MAX_SYMBOL_COLUMNS]
        per = dict(top)
    cols = list(_COLS)
    if getattr(result, "strategy", "cascade-mm") != "cascade-mm":  # every signal is a decision
        cols[0] = ("cascades", "decisions")
    at = cols.index(("timeout", "timeout")) + 1
    cols[at:at] = [(k, k.replace("_", " ")) for k in ("trail", "stop_price", "max_hold", "signal_exit", "replaced")
                   if s.get(k)]  # the other strategies' exits, when they happened
    header = ["metric", "ALL", *[name.split(":")[-1] for name in per]]
    return header, [[label, fmt(key, s.get(key)), *[fmt(key, row.get(key)) for row in per.values()]]
                    for key, label in cols]


def run_lines(result, s: dict | None = None) -> list[str]:
    """The run's fill rule and latencies, in words (as the CLI prints them under the table)."""
    s = result.summary() if s is None else s
    out = [f"strategy: {s.get('strategy', 'cascade-mm')}"]
    if s.get("fill_model"):
        out.append(f"fill: {s['fill_model']}")
    for k, f in (("order", "order_latency_model"), ("feed", "feed_latency_model"),
                 ("feed", "feed_latency_model_of_rows_read")):
        if s.get(f):
            out.append(f"{k} latency: {s[f]}")
    if s.get("data_note"):
        out.append(f"data note: {s['data_note']}")
    if s.get("depth_note"):
        out.append(f"depth note: {s['depth_note']}")
    return out


def _span(ns: int) -> str:
    """The data's span in words: hours and minutes under a day, days (2 decimals) from a day on."""
    if ns >= 86_400 * 10**9:
        return f"{ns / (86_400 * 10**9):.2f} d"
    m = int(round(ns / 60e9))
    return f"{m // 60} h {m % 60} min" if m >= 60 else f"{ns / 60e9:.1f} min"


def result_repr(result) -> str:
    """A backtest result in a few lines: span, trades, return, risk, fill rule and latency."""
    s = result.summary()
    span = (f"{_ts(int(s['start_ns']))} -> {_ts(int(s['end_ns']))} UTC ({_span(int(s['end_ns']) - int(s['start_ns']))})"
            if s.get("end_ns") else "no events")
    head = (f"<BacktestResult {s.get('strategy', 'cascade-mm')}: {s['symbols']} symbol(s), {span}; "
            f"{fmt('cascades', s.get('cascades'))} cascades, {_trades(int(s.get('trades') or 0))}, "
            f"total return {fmt('total_return', s.get('total_return'))}, "
            f"max drawdown {fmt('max_drawdown', s.get('max_drawdown'))}, sharpe {fmt('sharpe', s.get('sharpe'))}")
    return head + "".join(f"\n  {line}" for line in run_lines(result, s)[1:]) + ">"


def result_html(result) -> str:
    """The summary table the CLI prints, as HTML, with the fill rule and latencies named."""
    s = result.summary()
    header, rows = summary_rows(result, s)
    lines = "".join(f"<div>{html.escape(line)}</div>" for line in run_lines(result, s))
    return f"<div><b>BacktestResult</b>{lines}{_table(header, rows)}</div>"


def _binary_lines(result) -> list[str]:
    """The hourly binary evaluation of a strategy that predicts one (flush-reversal-rule), in words."""
    b = getattr(result, "binary", None)
    if b is None:
        return []
    from liqcore.strategies.flush_reversal import describe_binary

    pend = int(b.get("pending", 0))
    head = (f"as an hourly binary ({b.get('n', 0) + pend} signals, one per symbol and UTC hour at most"
            + (f"; {pend} pending: the data ends before their hour does" if pend else "") + "):")
    return [head] + ["  " + line for line in describe_binary(b)]


def _no_trades(ax, text: str = "no trades") -> None:
    """Say in the axes that there is nothing to plot."""
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=14, transform=ax.transAxes, color="0.3")


# ---- figures ---------------------------------------------------------------------------------
class _Figures:
    """``subplots`` as pyplot's, making a :class:`matplotlib.figure.Figure` that no backend holds: the
    figure functions below return it (``res.plot()`` in a notebook shows it; nothing changes the user's
    pyplot backend or keeps figures open), and the report's PNGs are the same figures saved."""

    @staticmethod
    def subplots(*args, figsize=None, **kw):
        return new_figure(*args, figsize=figsize, **kw)


def new_figure(*args, figsize=None, dpi=None, **kw):
    """``(figure, axes)`` as pyplot's ``subplots(*args, figsize=, dpi=, **kw)``, the figure held by no
    backend: returned to a caller (a notebook shows it as a PNG), or saved, with nothing changing the
    user's pyplot backend or keeping figures open."""
    fig = _figure_class()(figsize=figsize, dpi=dpi)
    return fig, fig.subplots(*args, **kw)


_FIGURE = None


def _figure_class():
    """:class:`matplotlib.figure.Figure` that shows itself as a PNG in Jupyter (``_repr_png_``) without
    pyplot: a figure no backend holds is otherwise shown as ``<Figure size 1100x420>`` unless the
    notebook ran ``%matplotlib inline`` first."""
    global _FIGURE
    if _FIGURE is None:
        import io

        Figure = need("plot", "matplotlib.figure").Figure

        class ShownFigure(Figure):  # (named Figure in its repr: <Figure size 1100x420 with 1 Axes>)
            def _repr_png_(self) -> bytes:
                buf = io.BytesIO()
                self.savefig(buf, format="png", dpi=90)
                return buf.getvalue()

        ShownFigure.__name__ = ShownFigure.__qualname__ = "Figure"
        _FIGURE = ShownFigure
    return _FIGURE


def _plt() -> type[_Figures]:
    return _Figures


def _save(fig, path: Path, dpi: int = 110) -> Path:
    fig.savefig(path, dpi=dpi)
    return path


NS_DAY = 86_400_000_000_000


def loss_limit_stretches(result) -> list[tuple[int, int, str]]:
    """(start ns, end ns, "daily" / "weekly") of the stretches in which the loss limits kept the run
    from entering: from the close that took the equity ``daily_loss`` (``weekly_loss``) below the UTC
    day's (ISO week's, from Monday 00:00 UTC) starting equity, to the close that brought it back or
    the next day (week), or the run's end.  Replayed from the ledger (equity moves only at closes) as
    the simulator applies the limits: the day's and week's starting equity is the equity at the
    period's first decision (a confirmed cascade).  These are the flat parts of the equity curve that
    a limit made, not a want of cascades."""
    p, L = result.params, result.ledger
    daily, weekly = float(getattr(p, "daily_loss", 0.0) or 0.0), float(getattr(p, "weekly_loss", 0.0) or 0.0)
    if not len(L) or (daily <= 0 and weekly <= 0):
        return []
    rec = getattr(result, "records", None)
    dec = np.sort(rec["confirm_ns"]) if rec is not None and len(rec) else np.zeros(0, np.int64)
    closes = L[np.argsort(L["exit_ns"], kind="stable")]
    # one timeline: decisions (move the anchors) before closes at the same ns
    t_all = np.concatenate([dec, closes["exit_ns"]])
    kind_all = np.concatenate([np.zeros(len(dec), np.int8), np.ones(len(closes), np.int8)])
    eq_all = np.concatenate([np.full(len(dec), np.nan), closes["equity_after"]])
    o = np.lexsort((kind_all, t_all))
    out: list[tuple[int, int, str]] = []
    eq = float(result.equity0)
    day = week = None
    day_eq = week_eq = eq
    open_at, open_kind, open_end = None, "", 0
    end_ns = int(result.end_ns)
    for t, k, e in zip(t_all[o].tolist(), kind_all[o].tolist(), eq_all[o].tolist()):
        if open_at is not None and t >= open_end:  # the period ended with the limit still in force
            out.append((open_at, open_end, open_kind))
            open_at = None
        if k == 0:
            d = t // NS_DAY
            if d != day:
                day, day_eq = d, eq
                w = (d + 3) // 7  # 1970-01-01 was a Thursday: weeks start on Monday 00:00 UTC
                if w != week:
                    week, week_eq = w, eq
            continue
        eq = e
        if day is None:
            continue
        breach_w = weekly > 0 and eq - week_eq <= -weekly * week_eq
        breach_d = daily > 0 and eq - day_eq <= -daily * day_eq
        if open_at is not None and not (breach_w or breach_d):  # a close brought the equity back
            out.append((open_at, t, open_kind))
            open_at = None
        elif open_at is None and (breach_w or breach_d):
            open_at = t
            open_kind = "weekly" if breach_w else "daily"
            open_end = ((week + 1) * 7 - 3) * NS_DAY if breach_w else (day + 1) * NS_DAY
    if open_at is not None:
        out.append((open_at, min(open_end, end_ns), open_kind))
    return [(a, min(b, end_ns), k) for a, b, k in out if min(b, end_ns) > a]


def loss_limit_line(result) -> str | None:
    """The loss-limit stretches in a line (count, kinds, total days), or None without any."""
    st = loss_limit_stretches(result)
    if not st:
        return None
    days = sum(b - a for a, b, _ in st) / NS_DAY
    kinds = ", ".join(f"{sum(k == kind for _, _, k in st)} {kind}" for kind in ("daily", "weekly")
                      if any(k == kind for _, _, k in st))
    p = result.params
    return (f"loss limits: {len(st)} stretch(es) ({kinds}) with no new entries after a loss of "
            f"{p.daily_loss * 100:g}% of the day's / {p.weekly_loss * 100:g}% of the week's starting equity, "
            f"{days:.1f} days in all (the flat parts of the equity curve; loss_limit counts the cascades skipped)")


def _dates(ns):
    return np.asarray(ns, dtype="datetime64[ns]")


def plot_equity(result, path: Path) -> Path:
    return _save(equity_figure(result), path)


def equity_figure(result):
    """Realised equity (return since the start, %) over drawdown (% of the peak): a Figure."""
    plt = _plt()
    L = result.ledger
    t = np.concatenate([[result.start_ns], L["exit_ns"], [result.end_ns]])
    eq = np.concatenate([[result.equity0], L["equity_after"], [result.equity]])
    peak = np.maximum.accumulate(eq)
    dd = (eq - peak) / peak
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(10, 5.5), sharex=True, gridspec_kw={"height_ratios": [3, 1.3]})
    a1.step(_dates(t), (eq / result.equity0 - 1.0) * 100, where="post", color="tab:blue", lw=1.2)
    a1.axhline(0.0, color="grey", lw=0.7, ls="--")
    a1.ticklabel_format(axis="y", style="plain", useOffset=False)  # no "+1" offset above the axis
    a1.set_ylabel("return since start, %")
    a1.set_title(f"realised equity: {len(L)} trades, total return {(result.equity / result.equity0 - 1) * 100:+.2f}%")
    colors = {"daily": "tab:orange", "weekly": "tab:purple"}
    seen = set()
    for a, b, kind in loss_limit_stretches(result):  # flat because a loss limit stopped new entries: said so
        label = None if kind in seen else f"{kind} loss limit: no new entries"
        seen.add(kind)
        for ax in (a1, a2):
            ax.axvspan(_dates([a])[0], _dates([b])[0], color=colors[kind], alpha=0.15, lw=0,
                       label=label if ax is a1 else None)
    if seen:
        a1.legend(fontsize=8, loc="best")
    if not len(L):
        _no_trades(a1, "no trades: the equity never moved")
    a2.fill_between(_dates(t), dd * 100, 0, step="post", color="tab:red", alpha=0.5)
    a2.ticklabel_format(axis="y", style="plain", useOffset=False)
    a2.set_ylabel("drawdown, % of peak")
    a2.set_xlabel("UTC")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def symbol_figure(result, symbol: str):
    """One symbol over the run: its trade prints, the detected cascades marked (shaded from start to end,
    a line at the confirmation), and each of its trades' entry and exit on the price (a Figure)."""
    names = {result.symbol_name(sid): sid for sid in range(len(result.registry))}
    sid = names.get(symbol)
    if sid is None:
        hits = [i for n, i in names.items() if n.split(":")[-1] == str(symbol).upper()]
        if len(hits) != 1:
            raise ValueError(f"symbol: {symbol!r} is not one of this run's symbols ({', '.join(names) or 'none'})")
        sid = hits[0]
    plt = _plt()
    fig, ax = plt.subplots(figsize=(11, 4.2))
    ev = result.events
    if ev is not None:
        w = ev[(ev["symbol_id"] == sid) & (ev["kind"] == Kind.TRADE)]
        ax.plot(_dates(w["ts_recv"]), w["price"], color="0.35", lw=0.7, label="trades")
    rec = result.records
    rec = rec[rec["symbol_id"] == sid] if len(rec) else rec
    for i, r in enumerate(rec):
        end = int(r["end_ns"]) if r["end_ns"] > r["start_ns"] else int(r["confirm_ns"])
        ax.axvspan(_dates([int(r["start_ns"])])[0], _dates([end])[0], color="tab:orange", alpha=0.25,
                   label="cascade" if i == 0 else None)
        ax.axvline(_dates([int(r["confirm_ns"])])[0], color="tab:orange", lw=0.8)
    L = result.ledger
    L = L[L["symbol_id"] == sid]
    if len(L):
        long = L["side"] > 0
        ax.scatter(_dates(L["entry_ns"][long]), L["entry_price"][long], marker="^", c="tab:green", s=50, zorder=3,
                   label="long entry")
        ax.scatter(_dates(L["entry_ns"][~long]), L["entry_price"][~long], marker="v", c="tab:red", s=50, zorder=3,
                   label="short entry")
        ax.scatter(_dates(L["exit_ns"]), L["exit_price"], marker="X", c="k", s=45, zorder=3, label="exit")
    ax.set_title(f"{result.symbol_name(sid)}: {len(rec)} cascades, {_trades(len(L))}")
    ax.set_ylabel("price")
    ax.set_xlabel("UTC")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="best")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def plot_per_symbol(result, path: Path) -> Path:
    return _save(per_symbol_figure(result), path)


def per_symbol_figure(result):
    """Per symbol: total return, win rate, cascades by outcome (a Figure)."""
    MaxNLocator = need("plot", "matplotlib.ticker").MaxNLocator

    plt = _plt()
    per = result.per_symbol()
    names = sorted(per, key=lambda n: -per[n]["cascades"])[:20]  # the 20 busiest symbols
    names = [n for n in per if n in names]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.0))
    x = np.arange(len(names))
    tr = [per[n]["total_return"] * 100 for n in names]
    axes[0].bar(x, tr, color=["tab:green" if v > 0 else "tab:red" for v in tr])
    axes[0].set_title("total return % (share of starting equity)")
    wr = [(per[n]["win_rate"] or 0) * 100 for n in names]
    axes[1].bar(x, wr, color="tab:blue")
    if getattr(result, "strategy", "cascade-mm") == "cascade-mm":
        axes[1].axhline(73, color="k", ls="--", lw=0.8, label="guide ~73%")
        axes[1].legend(fontsize=8)
    axes[1].set_title("win rate %")
    for j, n in enumerate(names):  # a symbol without trades has no return or win rate: said, not drawn as 0
        if not per[n].get("trades"):
            for a in axes[:2]:
                a.text(j, 0, "no trades", rotation=90, ha="center", va="bottom", fontsize=8, color="0.3")
    if not names:
        for a in axes:
            _no_trades(a)
    bottoms = np.zeros(len(names))
    outcomes = (("take_profit", "tab:green", ("take_profit",)), ("stop_loss", "tab:red", ("stop_loss",)),
                ("timeout", "tab:orange", ("timeout",)),
                ("trail / stop price", "darkred", ("trail", "stop_price")),
                ("max hold / signal exit / replaced", "tab:brown", ("max_hold", "signal_exit", "replaced")),
                ("still open / working", "tab:purple", ("open_at_end", "working_at_end")),
                ("unfilled", "lightgrey", ("unfilled",)), ("rejected", "grey", ("rejected",)),
                ("no reference price", "khaki", ("no_reference_price",)),
                ("busy / cooldown", "lightblue", ("busy", "cooldown")),
                ("risk limits / hours", "pink", ("loss_limit", "max_symbols", "hours", "max_positions", "daily_trades",
                                                 "leverage")),
                ("mixed / skipped", "black", ("mixed", "skipped")))
    for label, color, keys in outcomes:
        vals = np.array([sum(per[n][k] for k in keys) for n in names], dtype=float)
        if vals.any():
            axes[2].bar(x, vals, bottom=bottoms, color=color, label=label)
        bottoms += vals
    axes[2].set_title("cascades by outcome (count)" if getattr(result, "strategy", "cascade-mm") == "cascade-mm"
                      else "signals by outcome (count)")
    axes[2].yaxis.set_major_locator(MaxNLocator(integer=True))
    if axes[2].get_legend_handles_labels()[0]:
        axes[2].legend(fontsize=7)
    for a in axes:
        a.set_xticks(x)
        a.set_xticklabels([n.split(":")[-1] for n in names], rotation=30, fontsize=8)
    fig.tight_layout()
    return fig


def return_bins(ret_pct: np.ndarray, nbins: int = 40) -> np.ndarray:
    """Histogram edges over the returns (in %): ``nbins`` equal bins over their range, or, when all
    returns are (nearly) equal (one trade), 11 bins centred on them so the bar has a visible width."""
    lo, hi = float(np.min(ret_pct)), float(np.max(ret_pct))
    if hi - lo <= max(abs(lo), abs(hi), 1.0) * 1e-9:
        pad = max(abs(lo) * 0.25, 0.05)
        return np.linspace(lo - pad, hi + pad, 12) if hi > lo else np.linspace(lo - pad, lo + pad, 12)
    return np.linspace(lo, hi, nbins + 1)


def plot_returns(result, path: Path, min_trades: int = MIN_TRADES) -> Path:
    return _save(returns_figure(result, min_trades), path)


def returns_figure(result, min_trades: int = MIN_TRADES):
    """Histogram of per-trade returns by exit reason (every trade also marked on the axis when fewer
    than ``min_trades``); with no trades, a figure that says so."""
    MaxNLocator = need("plot", "matplotlib.ticker").MaxNLocator

    plt = _plt()
    L = result.ledger
    n = len(L)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    from liqcore.codes import EXIT_NAMES

    colors = {"take_profit": "tab:green", "stop_loss": "tab:red", "timeout": "tab:orange", "external": "tab:purple",
              "trail": "darkred", "stop_price": "magenta", "max_hold": "tab:brown", "signal_exit": "tab:cyan",
              "replaced": "grey"}
    names = {code: (name, colors[name]) for code, name in EXIT_NAMES.items()}
    title = f"per-trade returns ({_trades(n)})"
    if n:
        ret = L["ret"].astype(float) * 100
        bins = return_bins(ret)
        for code, (label, color) in names.items():
            r = ret[L["exit_reason"] == code]
            if len(r):
                ax.hist(r, bins=bins, color=color, alpha=0.7, label=f"{label} ({len(r)})")
        if n < min_trades:  # a rug: each trade visible, whatever the binning
            ax.plot(ret, np.zeros(n), "|", color="k", ms=14, mew=1.5, label="each trade")
            title += f": fewer than {min_trades}, too few to judge"
        ax.axvline(0, color="k", lw=0.7)
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no trades: nothing to plot", ha="center", va="center", fontsize=14,
                transform=ax.transAxes, color="0.3")
        ax.set_xticks([])
        ax.set_yticks([])
    ax.set_xlabel("per-trade return after fees, %")
    ax.set_ylabel("trades (count)")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # whole trades, never 0.5
    ax.set_title(title)
    fig.tight_layout()
    return fig


def pick_examples(result, n: int = 6) -> list[int]:
    """Ledger rows to draw: a mix of take-profits, stop-losses and timeouts, spread over the run."""
    L = result.ledger
    picks: list[int] = []
    for code, k in ((1, 3), (2, 2), (3, 1)):
        idx = np.flatnonzero(L["exit_reason"] == code)
        if len(idx):
            picks += idx[np.linspace(0, len(idx) - 1, min(k, len(idx))).astype(int)].tolist()
    if len(picks) < n:
        rest = [i for i in range(len(L)) if i not in picks]
        picks += rest[: n - len(picks)]
    return sorted(set(picks))[:n]


def plot_cascades(result, path: Path, rows: list[int] | None = None) -> Path | None:
    fig = cascades_figure(result, rows)
    return None if fig is None else _save(fig, path, dpi=100)


def cascades_figure(result, rows: list[int] | None = None):
    """Price path around a few trades: prints, liquidations (long flushes / short squeezes), the limit
    entry, take-profit and stop levels, entry and exit."""
    ev = result.events
    L = result.ledger
    if ev is None or len(L) == 0:
        return None
    rows = pick_examples(result) if rows is None else rows
    plt = _plt()
    ncol = 2
    nrow = math.ceil(len(rows) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(12, 3.4 * nrow), squeeze=False)
    ts = ev["ts_recv"]
    for ax, k in zip(axes.flat, rows):
        t = L[k]
        sid = int(t["symbol_id"])
        lo = int(t["signal_ns"]) - 120 * 10**9
        hi = int(t["exit_ns"]) + 120 * 10**9
        a, b = np.searchsorted(ts, lo), np.searchsorted(ts, hi, side="right")
        w = ev[a:b]
        w = w[w["symbol_id"] == sid]
        tr = w[w["kind"] == Kind.TRADE]
        lq = w[w["kind"] == Kind.LIQUIDATION]
        rel = lambda x: (np.asarray(x, dtype=np.int64) - int(t["signal_ns"])) / 1e9  # noqa: E731
        ax.plot(rel(tr["ts_recv"]), tr["price"], color="0.35", lw=0.8, label="trades")
        for side, mk, col, lab in ((Side.LONG, "v", "tab:red", "long liq."), (Side.SHORT, "^", "tab:green", "short liq.")):
            m = lq[lq["side"] == side]
            if len(m):
                size = 10 + 60 * np.sqrt(m["price"] * m["qty"] / max(float(np.max(lq["price"] * lq["qty"])), 1e-9))
                ax.scatter(rel(m["ts_recv"]), m["price"], marker=mk, c=col, s=size, label=lab, zorder=3)
        ax.axvline(0, color="purple", lw=0.8, ls=":", label="decision")
        ax.axhline(t["entry_price"], color="tab:blue", lw=0.8, ls="--", label="limit")
        ax.axhline(t["tp_price"], color="tab:green", lw=0.7, ls="-.", label="take-profit")
        ax.axhline(t["sl_price"], color="tab:red", lw=0.7, ls="-.", label="stop")
        ax.scatter([rel([t["entry_ns"]])[0]], [t["entry_price"]], marker="o", s=60, c="tab:blue", zorder=4,
                   label="entry")
        ax.scatter([rel([t["exit_ns"]])[0]], [t["exit_price"]], marker="X", s=70, c="k", zorder=4, label="exit")
        reason = {1: "take-profit", 2: "stop-loss", 3: "timeout", 4: "external", 5: "trailing stop",
                  6: "stop price", 7: "max hold", 8: "signal exit", 9: "replaced"}.get(int(t["exit_reason"]), "?")
        ax.set_title(f"{result.symbol_name(sid)} {_ts(int(t['signal_ns']))} UTC: "
                     f"{'long' if t['side'] > 0 else 'short'}, {reason}, {t['ret'] * 100:+.3f}%", fontsize=9)
        ax.set_xlabel("seconds from the decision")
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[len(rows):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=9, fontsize=8)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


# ---- HTML ------------------------------------------------------------------------------------
def _table(header: list[str], rows: list[list[str]]) -> str:
    h = "".join(f"<th>{html.escape(str(c))}</th>" for c in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>"


#: what a report written without the plot extra says in place of its charts
NO_CHARTS = ("this report was written without its charts (equity and drawdown, per symbol, per-trade returns, "
             "examples on the price path): matplotlib is not installed; pip install 'liqcore[plot]' draws them.")


def write_report(result, out_dir: str | Path, title: str = "liqcore backtest", notes: list[str] | None = None,
                 min_trades: int = MIN_TRADES) -> Path:
    """Write ``report.html`` and its PNGs into ``out_dir``; returns the HTML path.  Below
    ``min_trades`` completed trades the report says the sample is too small instead of comparing
    the results with the guide's claims."""
    _check_min_trades(min_trades)
    from liqcore._atomic import building_dir

    # built beside ``out_dir`` and swapped in whole: a kill or a full disk leaves the earlier report
    with building_dir(out_dir, owned=_report_file) as out:
        _write_report(result, out, title, notes, min_trades)
    return Path(out_dir) / "report.html"


def _report_file(name: str) -> bool:
    """The files a report directory holds (the HTML page and its figures)."""
    return name == "report.html" or name.endswith(".png")


def _write_report(result, out: Path, title: str, notes, min_trades: int) -> Path:
    s = result.summary()
    per = result.per_symbol()
    from liqcore._extras import have

    charts = have("matplotlib")  # without the plot extra: the page and its tables, no charts (it says so)
    figs = [plot_equity(result, out / "equity.png"), plot_per_symbol(result, out / "per_symbol.png"),
            plot_returns(result, out / "returns.png", min_trades),
            plot_cascades(result, out / "cascades.png")] if charts else [None] * 4
    notes = list(notes or [])
    if s.get("fill_model"):
        notes.insert(0, f"Returns from the fill model: {s['fill_model']}.")
    if s.get("data_note"):
        notes.append(s["data_note"])
    if s.get("depth_note"):
        notes.append(s["depth_note"])
    header = ["scope"] + [label for _, label in _COLS]
    rows = [["ALL"] + [fmt(k, s.get(k)) for k, _ in _COLS]]
    rows += [[n] + [fmt(k, v.get(k)) for k, _ in _COLS] for n, v in per.items()]
    reasons = [[k, str(s[k])] for k in ("busy", "cooldown", "mixed", "hours", "loss_limit", "max_symbols",
                                         "no_reference_price")]
    reasons += [[k, str(s[k])] for k in ("skipped", "daily_trades", "max_positions", "leverage") if s.get(k)]
    reasons += [[f"skipped: {k}", str(v)] for k, v in (s.get("skips") or {}).items()]
    params = [[k, v] for k, v in result.params.describe().items()]
    presets = []
    for sid in range(len(result.registry)):
        sym = result.registry.symbol(sid)
        p = result.params.for_symbol(sym)
        if p != result.params:
            presets.append([sym, f"offset {p.offset * 100:.3g}%, take-profit {p.take_profit * 100:.3g}%, "
                                 f"stop-loss {p.stop_loss * 100:.3g}%"])
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:1250px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;"
        "text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}.note{background:#fff6d8;"
        "padding:.6em 1em;border-left:4px solid #e0b000}.verdict{font-size:1.1em;font-weight:bold}</style>",
        "</head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{_ts(result.start_ns)} .. {_ts(result.end_ns)} UTC, {s['days']} day(s), {s['symbols']} symbol(s), "
        f"{result.n_prints:,} trade prints replayed, starting equity {result.equity0:g}.</p>",
        f"<p class='verdict'>{html.escape(verdict(s, min_trades))}</p>",
    ]
    for n in notes:
        parts.append(f"<p class='note'><b>Note on the data:</b> {html.escape(n)}</p>")
    if not charts:
        parts.append(f"<p class='note'><b>No charts:</b> {html.escape(NO_CHARTS)}</p>")
    is_guide = getattr(result, "strategy", "cascade-mm") == "cascade-mm"
    parts += ["<h2>Results</h2>", _table(header, rows)]
    if is_guide:
        parts += ["<h2>Measured vs the trading guide</h2>",
                  _table(["metric", "measured", "guide claims"],
                         [list(r) for r in guide_comparison(s, result.params, min_trades,
                                                            symbols=_symbols_of(result))])]
    else:
        parts += [f"<p>Strategy: <b>{html.escape(result.strategy)}</b>; exits: " + html.escape(", ".join(
            f"{k}={s.get(k, 0)}" for k in ("take_profit", "stop_loss", "trail", "stop_price", "timeout", "max_hold",
                                           "signal_exit", "replaced") if s.get(k))) + "</p>"]
    if getattr(result, "binary", None) is not None:
        parts += ["<h2>As an hourly binary</h2>",
                  "<p>The rule predicts UP for the rest of the UTC hour of each signal. A hit: the hour's last "
                  "trade price is above the price at the signal (beside it: above the hour's open). Scored "
                  "against the 50/50 prior with a one-sided binomial test and a Wilson interval; signals whose "
                  "hour the data does not cover are pending, not scored.</p>"]
        lines = _binary_lines(result)
        parts += [f"<p>{html.escape(lines[0][0].upper() + lines[0][1:])}</p><ul>"]
        parts += [f"<li>{html.escape(line.strip())}</li>" for line in lines[1:]] + ["</ul>"]
    parts += [
        f"<h2>{'Cascades' if is_guide else 'Signals'} where nothing was placed</h2>", _table(["reason", "count"], reasons),
        "<h2>Equity and drawdown</h2>",
        *([f"<p>{html.escape(loss_limit_line(result))} (shaded).</p>"] if loss_limit_stretches(result) else []),
        *(["<img src='equity.png' width='100%'>",
            "<h2>Per symbol</h2>", "<img src='per_symbol.png' width='100%'>",
            "<h2>Per-trade returns</h2>", "<img src='returns.png'>"] if charts else []),
    ]
    if figs[3] is not None:
        parts += ["<h2>Examples on the price path</h2>",
                  "<p>Trade prints (grey), liquidations (red down-triangles: longs liquidated; green "
                  "up-triangles: shorts liquidated; size ~ notional), the decision, the limit, take-profit and "
                  "stop levels, the entry (blue dot) and the exit (black cross).</p>",
                  "<img src='cascades.png' width='100%'>"]
    parts += ["<h2>Parameters</h2>", _table(["parameter", "value"], params)]
    if presets:
        parts += ["<p>Per-symbol presets (the guide's BTC exception) applied where not set explicitly:</p>",
                  _table(["symbol", "preset"], presets)]
    parts += [
        "<h2>Definitions</h2><ul>",
        "<li>Returns are after fees (entry: maker for limit entries, taker for market entries; exit: maker for "
        "take-profit, taker otherwise) and funding; "
        "each trade's notional is <code>size</code> x equity at the fill; equity compounds per trade.</li>",
        "<li>Sharpe: mean / standard deviation of daily returns (every UTC day of the data, days without "
        "trades count as 0) x sqrt(365). Max drawdown on the realised equity curve. Exposure: share of the "
        "data span with at least one open position.</li>",
        "<li>The fill model: a resting limit fills only on a print strictly through it (or at it with "
        "fill=touch); the post-only entry is rejected when the last print at its arrival had reached the "
        "limit; the stop fills at the triggering print's price.</li></ul>",
        "</body></html>",
    ]
    path = out / "report.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path

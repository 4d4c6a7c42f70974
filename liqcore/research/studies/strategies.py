"""The ``strategies`` study: the research plan's four strategies backtested through
the execution model on the study's input, with their documented defaults."""
from __future__ import annotations

import math

import numpy as np

from liqcore._extras import need
from liqcore.research.studies._common import StudyResult, unavailable, Panel, _bp, _num2


PLAN_STRATEGIES = ("cascade-fade", "imbalance-reversal", "zone-bounce", "vol-breakout")


def _portfolio(res, dailies: dict, M) -> None:
    """The plan's strategies as one portfolio: the capital split equally between the strategies that
    ran, rebalanced daily, so its daily return is the mean of theirs (each on its own equity).
    Table ``portfolio``: its Sharpe ratio with the 95 % interval, total (compounded) return and
    maximum drawdown, beside each strategy's; table ``daily_corr``: the correlation of their daily
    returns (low = diversification)."""
    pd = need("research", "pandas")

    if len(dailies) < 2:
        res.findings.append("Portfolio of the plan's strategies: n/a — fewer than two strategies ran on this input.")
        return
    day0 = {k: int(v[0] // 86_400_000_000_000) for k, v in dailies.items()}
    a = min(day0.values())
    b = max(day0[k] + len(v[1]) for k, v in dailies.items())
    D = np.zeros((b - a, len(dailies)))
    for j, (k, (_, d)) in enumerate(dailies.items()):
        D[day0[k] - a: day0[k] - a + len(d), j] = d
    port = D.mean(axis=1)
    rows = []
    for name, d in list(zip(dailies, D.T)) + [("portfolio (equal weight)", port)]:
        sh = M.sharpe(d)
        lo, hi = M.sharpe_ci(d)
        eq = np.cumprod(1.0 + d)
        rows.append({"strategy": name, "days": len(d), "sharpe": math.nan if sh is None else sh,
                     "sharpe_ci_low": math.nan if lo is None else lo, "sharpe_ci_high": math.nan if hi is None else hi,
                     "total_return": float(eq[-1] - 1.0) if len(eq) else 0.0,
                     "max_drawdown": M.max_drawdown(np.concatenate([[1.0], eq]))})
    ptab = pd.DataFrame(rows)
    res.tables["portfolio"] = ptab
    with np.errstate(invalid="ignore", divide="ignore"):
        live = D.std(axis=0) > 0
        C = np.full((D.shape[1], D.shape[1]), np.nan)
        if live.sum() >= 2:
            C[np.ix_(live, live)] = np.corrcoef(D[:, live].T)
    corr = pd.DataFrame(C, columns=list(dailies))
    corr.insert(0, "strategy", list(dailies))
    res.tables["daily_corr"] = corr
    off = C[~np.eye(len(C), dtype=bool)]
    mean_corr = float(np.nanmean(off)) if np.isfinite(off).any() else math.nan
    p = ptab.iloc[-1]
    single = ptab.iloc[:-1]
    best = single.loc[single["sharpe"].idxmax()] if np.isfinite(single["sharpe"]).any() else None
    res.headline.update({"portfolio_sharpe": float(p.sharpe), "portfolio_sharpe_ci_low": float(p.sharpe_ci_low),
                         "portfolio_sharpe_ci_high": float(p.sharpe_ci_high),
                         "portfolio_total_return": float(p.total_return),
                         "portfolio_max_drawdown": float(p.max_drawdown), "portfolio_mean_corr": mean_corr})
    res.findings.append(
        f"Portfolio of the {len(dailies)} strategies that ran (equal capital, rebalanced daily, {len(port)} days): "
        f"Sharpe {_num2(p.sharpe)} (annualised, 95% CI [{_num2(p.sharpe_ci_low)}, {_num2(p.sharpe_ci_high)}]), total "
        f"{p.total_return:+.2%}, max drawdown {p.max_drawdown:.2%}; mean correlation of the strategies' daily returns "
        f"{_num2(mean_corr)}" + ("" if best is None else
                                 f"; best single strategy {best.strategy} Sharpe {_num2(best.sharpe)}") + ".")


def study_strategies(panel: Panel, params=None, strategies=PLAN_STRATEGIES, oos_share: float = 0.3, **_):
    """The research plan's four strategies run through the execution model on the same input, each
    with its documented default parameters (nothing is tuned on the input).  Per strategy: trades, win
    rate, mean return per trade with a 95% t interval, total return, max drawdown, the Sharpe ratio of
    daily returns over the whole input (in sample) and over its first ``1 - oos_share`` and last
    ``oos_share`` of days (a split in time: the later part is out of sample for any conclusion drawn
    on the earlier one)."""
    pd = need("research", "pandas")
    student_t = need("research", "scipy.stats").t

    from liqcore.backtest import metrics as M
    from liqcore.backtest.run import prepare_events, run_strategy
    from liqcore.config import Params
    from liqcore.strategies.catalog import register_seven

    title = "the research plan's four strategies (backtests through the execution model)"
    if panel.n("t_trade") == 0:
        return unavailable("strategies", title, "the input has no trades (no prices to fill orders against)")
    if panel.n("t_liq") == 0:
        return unavailable("strategies", title, "the input has no liquidations (no strategy signal)")
    register_seven()  # the plan's strategies are registered under their names (idempotent)
    base = params if params is not None else Params()
    from liqcore.backtest.compare import needs_text
    from liqcore.backtest.run import input_kinds
    from liqcore.strategies import get_strategy

    events = prepare_events(panel.events)
    kinds = input_kinds(events)
    rows, notes = [], []
    dailies: dict = {}  # strategy -> (start time, daily returns), for the portfolio
    for name in strategies:
        missing = sorted(set(get_strategy(name).needs) - kinds)
        if missing:  # its inputs are not in the data (e.g. funding): a row that says so, the others run
            why = needs_text(missing)
            notes.append(f"{name}: n/a — {why} (the input has no {', '.join(missing)} events)")
            rows.append({"strategy": name, "ran": False, "status": f"n/a — {why}", "trades": 0})
            continue
        try:
            r = run_strategy(events, panel.registry, base, name)
        except ValueError as e:  # another input check of the strategy: stated, not raised
            notes.append(f"{name}: not run because {e}")
            rows.append({"strategy": name, "ran": False, "status": f"n/a — {e}", "trades": 0})
            continue
        s = r.summary()
        led = r.ledger
        ret = led["ret"].astype(np.float64)
        n = len(ret)
        row = {"strategy": name, "ran": True, "status": "ran", "signals": int(s.get("signals", 0)), "trades": n,
               "win_rate": float(s["win_rate"]) if n else math.nan, "fill_model": s.get("fill_model")}
        if s.get("fill_model") and f"fill: {s['fill_model']}" not in notes:  # the fill model behind the returns
            notes.insert(0, f"fill: {s['fill_model']}")
        if n >= 2 and ret.std(ddof=1) > 0:
            se = ret.std(ddof=1) / math.sqrt(n)
            tq = float(student_t.ppf(0.975, n - 1))
            row.update(mean_ret_bp=ret.mean() * 1e4, ci_low_bp=(ret.mean() - tq * se) * 1e4,
                       ci_high_bp=(ret.mean() + tq * se) * 1e4)
        else:
            row.update(mean_ret_bp=ret.mean() * 1e4 if n else math.nan, ci_low_bp=math.nan, ci_high_bp=math.nan)
        row["total_return"] = float(s["total_return"]) if n else 0.0
        row["max_drawdown"] = float(s["max_drawdown"]) if n else 0.0
        sh = s.get("sharpe")
        row["sharpe"] = float(sh) if sh is not None and n else math.nan
        daily = M.daily_returns(led, r.equity0, r.start_ns, r.end_ns)
        dailies[name] = (r.start_ns, daily)
        k = int(round(len(daily) * (1.0 - oos_share)))
        row["days"] = len(daily)
        row["active_days"] = int(np.count_nonzero(daily))  # days on which a trade closed
        lo, hi = M.sharpe_ci(daily) if n else (None, None)
        row["sharpe_ci_low"] = math.nan if lo is None else float(lo)
        row["sharpe_ci_high"] = math.nan if hi is None else float(hi)
        ins, oos = (M.sharpe(daily[:k]), M.sharpe(daily[k:])) if n and 2 <= k <= len(daily) - 2 else (None, None)
        row["sharpe_first"] = math.nan if ins is None else float(ins)
        row["sharpe_last"] = math.nan if oos is None else float(oos)
        (a, _), (b, _) = (M.sharpe_ci(daily[:k]), M.sharpe_ci(daily[k:])) if ins is not None and oos is not None \
            else ((None, None), (None, None))
        row["sharpe_first_ci_low"] = math.nan if a is None else float(a)
        row["sharpe_last_ci_low"] = math.nan if b is None else float(b)
        rows.append(row)
    tab = pd.DataFrame(rows)
    res = StudyResult("strategies", title)
    res.tables = {"strategies": tab}
    ran = tab[tab["ran"]] if len(tab) else tab
    with_trades = ran[ran["trades"] > 0] if len(ran) else ran
    sh = with_trades["sharpe"].to_numpy(np.float64) if len(with_trades) else np.zeros(0)
    best = with_trades.loc[with_trades["sharpe"].idxmax()] if len(with_trades) and np.isfinite(sh).any() else None
    res.headline = {
        "strategies_run": int(len(ran)), "with_trades": int(len(with_trades)),
        "trades": int(ran["trades"].sum()) if len(ran) else 0,
        "best_strategy": None if best is None else str(best["strategy"]),
        "best_sharpe": math.nan if best is None else float(best["sharpe"]),
        "sharpe_above_1": int(np.sum(sh > 1.0)), "sharpe_above_1_5": int(np.sum(sh > 1.5)),
        "sharpe_first_above_1_5_last_above_1": int(((with_trades["sharpe_first"] > 1.5)
                                                    & (with_trades["sharpe_last"] > 1.0)).sum())
        if len(with_trades) else 0,
        # the same counts where the 95% interval of the Sharpe ratio clears the threshold
        "sharpe_ci_above_1": int((with_trades["sharpe_ci_low"] > 1.0).sum()) if len(with_trades) else 0,
        "sharpe_first_ci_above_1_5_last_ci_above_1": int(((with_trades["sharpe_first_ci_low"] > 1.5)
                                                          & (with_trades["sharpe_last_ci_low"] > 1.0)).sum())
        if len(with_trades) else 0,
        "with_sharpe": int(np.isfinite(sh).sum()),
        "with_split_sharpe": int((np.isfinite(with_trades["sharpe_first"].to_numpy(np.float64))
                                  & np.isfinite(with_trades["sharpe_last"].to_numpy(np.float64))).sum())
        if len(with_trades) else 0,
        "oos_share": oos_share,
        "significant_positive": int((with_trades["ci_low_bp"] > 0).sum()) if len(with_trades) else 0,
    }
    _portfolio(res, dailies, M)
    h = res.headline
    for r in rows:
        if r.get("ran") and r["trades"]:
            res.findings.append(
                f"{r['strategy']}: {r['trades']} trade{'s' if r['trades'] != 1 else ''} closing on "
                f"{r['active_days']} of {r['days']} days, win rate {r['win_rate']:.0%}, mean return "
                f"{_bp(r['mean_ret_bp'])} per trade (95% CI [{_bp(r['ci_low_bp'])}, {_bp(r['ci_high_bp'])}]), "
                f"total {r['total_return']:+.2%}, Sharpe {_num2(r['sharpe'])} (95% CI [{_num2(r['sharpe_ci_low'])}, "
                f"{_num2(r['sharpe_ci_high'])}]; first {1 - oos_share:.0%} of days "
                f"{_num2(r['sharpe_first'])}, last {oos_share:.0%} {_num2(r['sharpe_last'])}).")
        elif r.get("ran"):
            res.findings.append(f"{r['strategy']}: no trade on this input (nothing to measure).")
    res.findings += notes
    if h["with_trades"] and h["significant_positive"] == 0 and h["sharpe_above_1"] == 0:
        res.findings.append("No strategy has an edge here: no mean return per trade is significantly positive "
                            "and no Sharpe ratio exceeds 1 (costs included: fees and slippage of the execution model).")
    elif h["with_trades"] == 0:
        res.findings.append("No strategy traded on this input: nothing to measure.")
    return res

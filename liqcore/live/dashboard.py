"""Rich live dashboard of the runner: per symbol threshold (or its warm-up: liquidations seen of the
``min-history`` needed), recent cascades, orders, position, PnL; fills split into entry and exit fills;
caught errors, loss-limit and halt states; feed health and coverage; the go-live checklist (cascades per
day per symbol, fill rate, win rate, reaction time, the fee charged beside the fee model). Redrawn by a timer at a few Hz from a snapshot dict, never per frame."""
from __future__ import annotations

import asyncio
import time

from liqcore.interrupt import end_task

__all__ = ["Dashboard", "render", "checklist_table", "account_table", "positions_table", "signals_table"]


def _fmt(x, spec=",.2f", none="-"):
    if x is None:
        return none
    try:
        if x != x:  # nan
            return none
        return format(x, spec)
    except (TypeError, ValueError):
        return str(x)


def render(snap: dict):
    """A rich renderable for an engine snapshot (see ``Engine.snapshot``)."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    head = Text()
    mode = snap.get("mode", "paper")
    head.append(f" liqcore  {mode.upper()} ", style="bold white on red" if mode == "live" else "bold black on green")
    fk = snap.get("fills_by_kind") or {}
    fills = f"{snap.get('fills', 0)}"
    if fk:
        fills += f" (entry {fk.get('entry', 0)}, exit {fk.get('exit', 0)})"
    head.append(f"  equity {_fmt(snap.get('equity'))}  day PnL {_fmt(snap.get('day_pnl'))}  "
                f"cascades {snap.get('cascades', 0)}  orders {snap.get('orders', 0)}  fills {fills}")
    errors = snap.get("errors", 0)
    if errors:
        by = snap.get("errors_by_source") or {}
        detail = ", ".join(f"{k} {v}" for k, v in by.items() if v)
        head.append(f"  errors {errors}" + (f" ({detail})" if detail else ""), style="bold yellow")
    if snap.get("daily_limit") or snap.get("weekly_limit"):
        head.append("  LOSS LIMIT REACHED", style="bold red")
    if snap.get("killed"):
        head.append("  KILL SWITCH ON", style="bold red")
    if snap.get("halted"):
        head.append(f"  ENTRIES HALTED: {snap['halted']}", style="bold red")
    for name, text in (snap.get("alarms") or {}).items():
        head.append(f"\n  ALARM {name}: {text}", style="bold white on red")

    feeds = Table(title="feeds", expand=True)
    for col in ("venue", "connected", "frames", "gaps", "reconnects", "last frame", "coverage", "pings"):
        feeds.add_column(col)
    for f in snap.get("feeds", []):
        age = f.get("last_rx_age_s")
        feeds.add_row(f.get("venue", "?"), "[green]up[/]" if f.get("connected") else "[red]DOWN[/]",
                      str(f.get("frames", 0)), str(f.get("gaps", 0)), str(f.get("reconnects", 0)),
                      "-" if age is None else f"{age:.1f}s ago", f"{100 * f.get('coverage', 0):.2f}%",
                      f"{f.get('watchdog_pings', 0)}/{f.get('watchdog_kills', 0)} dead")

    syms = Table(title="symbols", expand=True)
    for col in ("symbol", "last", "threshold", "cascade", "last cascade", "order", "queue ahead / fill chance",
                "position", "PnL"):
        syms.add_column(col)
    for s in snap.get("symbols", []):
        pos = s.get("position")
        pos_txt = "-" if not pos else f"{pos.get('side')} {_fmt(pos.get('qty'), 'g')} @ {_fmt(pos.get('entry_price'), 'g')}"
        order = s.get("order")
        order_txt = "-" if not order else f"{order.get('side')} {_fmt(order.get('price'), 'g')} {order.get('status', '')}"
        warm = s.get("warmup")
        thr = _fmt(s.get("threshold"), ",.0f") if not warm else f"warm-up {warm.get('seen', 0)}/{warm.get('need', 0)}"
        syms.add_row(s.get("symbol", "?"), _fmt(s.get("last_price"), "g"), thr,
                     "[bold yellow]ACTIVE[/]" if s.get("active") else "", s.get("last_cascade") or "-",
                     order_txt, queue_text((order or {}).get("queue")), pos_txt, _fmt(s.get("pnl")))
    recent = Table(title="recent decisions", expand=True)
    rows = snap.get("recent", [])[-8:]
    judged = any(d.get("notes") for d in rows)  # (liq-trend's judge: its verdict and notes per signal)
    for col in ("time", "symbol", "dominant", "action", "detail") + (("judge",) if judged else ()):
        recent.add_column(col)
    for d in rows:
        recent.add_row(time.strftime("%H:%M:%S", time.gmtime(d.get("ts_ns", 0) / 1e9)), d.get("symbol", ""),
                       d.get("dominant", ""), d.get("action", ""), d.get("detail", ""),
                       *((d.get("notes") or "",) if judged else ()))
    if "signals" in snap:  # the write-up's latest-signals panel replaces the plain list
        recent = signals_table(snap["signals"])
    checks = checklist_table(snap.get("checklist"))
    panels = [t for t in (account_table(snap.get("account")), positions_table(snap.get("positions"))) if t is not None]
    return Group(head, *panels, feeds, syms, recent, *([checks] if checks is not None else []))


def _pct(x, spec="+.2f"):
    return "-" if x is None else format(x, spec) + " %"


def account_table(acc: dict | None):
    """The account overview panel: balance, open positions, cumulative P&L, the stop parameters."""
    if acc is None:
        return None
    from rich.table import Table

    st = acc.get("stops") or {}
    t = Table(title="account overview", expand=True)
    for col in ("balance", "open positions", "cumulative P&L", "realised / open P&L", "stop-loss", "take-profit",
                "trail", "hold timeout", "daily / weekly loss limit"):
        t.add_column(col)
    frac = lambda x: "-" if x is None else ("off" if not x else f"{100 * x:.2f} %")  # noqa: E731
    t.add_row(_fmt(acc.get("balance")), str(acc.get("open_positions", 0)), _fmt(acc.get("cumulative_pnl"), "+,.2f"),
              f"{_fmt(acc.get('realized_pnl'), '+,.2f')} / {_fmt(acc.get('unrealized_pnl'), '+,.2f')}",
              frac(st.get("stop_loss")), frac(st.get("take_profit")), frac(st.get("trail")),
              "off" if not st.get("hold_timeout_s") else f"{st['hold_timeout_s']:g} s",
              f"{frac(st.get('daily_loss'))} / {frac(st.get('weekly_loss'))}")
    return t


def positions_table(rows: list | None):
    """The position monitor: entry, current price, P&L %, max profit, current drawdown, stop price."""
    if rows is None:
        return None
    from rich.table import Table

    t = Table(title="position monitor", expand=True)
    for col in ("symbol", "side", "qty", "entry", "current", "P&L", "max profit", "drawdown", "stop price"):
        t.add_column(col)
    for r in rows:
        t.add_row(r.get("symbol", "?"), r.get("side", ""), _fmt(r.get("qty"), "g"), _fmt(r.get("entry_price"), "g"),
                  _fmt(r.get("current_price"), "g"), _pct(r.get("pnl_pct")), _pct(r.get("max_profit_pct")),
                  _pct(r.get("drawdown_pct"), ".2f"), _fmt(r.get("stop_price"), "g"))
    if not rows:
        t.add_row("no open position", *([""] * 8))
    return t


def signals_table(rows: list):
    """The latest signals: the liquidation, candle and news notes and the decision on each."""
    from rich.table import Table

    t = Table(title="latest signals", expand=True)
    judged = any(d.get("judge") for d in rows)  # (liq-trend's judge: its verdict and notes per signal)
    for col in ("time", "symbol", "liquidation", "candle", "news", "decision") + (("judge",) if judged else ()):
        t.add_column(col)
    for d in rows:
        dec = f"{d.get('action', '')}: {d.get('decision', '')}" + (f" ({d['reason']})" if d.get("reason") else "")
        t.add_row(time.strftime("%H:%M:%S", time.gmtime(d.get("ts_ns", 0) / 1e9)), d.get("symbol", ""),
                  d.get("liquidation", ""), d.get("candle") or "-", d.get("news") or "-", dec,
                  *((d.get("judge") or "",) if judged else ()))
    return t


def queue_text(q: dict | None) -> str:
    """The live queue estimate of a resting entry: size ahead (base units; '?' behind the best, not yet
    seen) and the chance of a fill before its timeout."""
    if not q:
        return "-"
    if q.get("model_filled"):
        return "0 ahead, queue traded (fill due)"
    ahead = "?" if q.get("ahead") is None else _fmt(q["ahead"], ".6g")
    chance = "-" if q.get("fill_chance") is None else f"{100 * q['fill_chance']:.0f}%"
    return f"{ahead} ahead (base units), fill chance {chance}"


def checklist_table(ck: dict | None):
    """The go-live checklist panel: cascades per day per symbol, fill rate, win rate, reaction time, the fee
    charged beside the fee model (see ``Engine.checklist``); None without figures."""
    if not ck:
        return None
    from rich.table import Table

    t = Table(title="go-live checklist", expand=True)
    t.add_column("item")
    t.add_column("value")
    per = ck.get("cascades_per_day") or {}
    from liqcore.live.report import TARGETS, per_day_text

    t.add_row("cascades / day", per_day_text(per, *TARGETS["cascades_per_day"]) if per else "-")
    fr = ck.get("fill_rate")
    t.add_row("fill rate", "-" if fr is None else f"{100 * fr:.1f}% ({ck.get('filled', 0)} of {ck.get('entries', 0)})")
    wr = ck.get("win_rate")
    t.add_row("win rate", "-" if wr is None else f"{100 * wr:.1f}% of {ck.get('trades', 0)} trades")
    rx = ck.get("reaction_ms") or {}
    t.add_row("reaction", "-" if not rx.get("n") else
              f"p50 {_fmt(rx.get('p50'), '.1f')} ms  p99 {_fmt(rx.get('p99'), '.1f')} ms  (n={rx['n']})")
    for side, f in (ck.get("fees") or {}).items():
        t.add_row(f"{side} fee", f"charged {_fmt(f.get('bps'), '.2f')} bps on {f.get('fills', 0)} fills, "
                                 f"model {_fmt(f.get('model_bps'), '.2f')} bps")
    return t


class Dashboard:
    """Redraws ``snapshot_fn()`` at ``hz`` with rich.live until stopped."""

    def __init__(self, snapshot_fn, hz: float = 4.0, console=None):
        self.snapshot_fn = snapshot_fn
        self.hz = max(0.5, min(float(hz), 20.0))
        self.console = console
        self._task: asyncio.Task | None = None

    async def run(self) -> None:
        from rich.live import Live

        with Live(render(self.snapshot_fn()), console=self.console, refresh_per_second=self.hz,
                  auto_refresh=False, transient=False) as live:
            while True:
                await asyncio.sleep(1.0 / self.hz)
                live.update(render(self.snapshot_fn()), refresh=True)

    def start(self) -> asyncio.Task:
        self._task = asyncio.get_running_loop().create_task(self.run(), name="dashboard")
        return self._task

    async def stop(self) -> None:
        await end_task(self._task)

"""Print normalised events from recordings, or a summary per venue/symbol/kind.

    liqcore events PATH... [--format F] [--json] [--kind liquidation,trade] [--symbol X] [--limit N]

Without --json: a table per (venue, symbol, kind) with count, first/last event time (UTC) and the
notional sum (price x qty, liquidations and trades), then the rejects by reason.  With --json: one
JSON object per event line (venue, symbol, kind, side, price, qty, notional, ts_event_ns, ts_recv_ns).
Formats (detected per file when --format is not given, and line by line in files of JSON or log
lines; .gz/.zst read transparently):
  raw                 one websocket message per line (Bybit, Binance, OKX; the venue told by shape)
  recorder            {"recv_ns": ..., "venue": ..., "frame": ...} lines, as `liqcore record` writes
  bybit-archive       Bybit liquidation archive lines {"ts", "exchange": "bybit", "stream", "result"}
  binance-log         Binance log lines "2026-03-10 13:10:19 Liquidation: {forceOrder object}"
  jsonl               any mix of the four above, told line by line
  binance-csv         headerless Binance liquidation CSV (s,S,o,f,q,p,ap,X,l,z,T,usd_size[,tier])
  binance-trades-csv  headerless Binance aggTrades CSV (E,symbol,a,p,q,T,m[,usd_size,tier])
  contract-csv        ts_event_ns,venue,symbol,side,price,qty[,kind][,ts_recv_ns][,flags] with header
  parquet             the same columns (what `liqcore convert` writes)
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

HELP = "print normalised events (or a per venue/symbol/kind summary) from recordings"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from liqcore.commands.inputs import add_recording_arguments, add_time_arguments

    add_recording_arguments(p)
    add_time_arguments(p)
    p.add_argument("--json", action="store_true", help="one JSON object per event instead of the summary")
    p.add_argument("--kind", default=None, help="comma list of kinds: liquidation,trade,mark,funding,gap,open_interest")
    p.add_argument("--symbol", default=None, help="comma list of symbols (as named by the venue, e.g. BTCUSDT, BTC-USDT-SWAP)")
    p.add_argument("--venue", default=None, help="comma list of venues: bybit,binance,okx")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="at most N events (after filters)")


def write_json_lines(events: np.ndarray, registry, out) -> None:
    import orjson

    vnames = ("?", "bybit", "binance", "okx")
    snames = ("none", "long", "short", "buy", "sell")
    knames = ("?", "liquidation", "trade", "mark", "funding", "gap", "open_interest")
    syms = [s for _, _, s in registry]
    buf = []
    for ts, tr, price, qty, sid, side, kind, venue, _flags in events.tolist():
        notional = price * qty if kind in (1, 2) else None
        buf.append(orjson.dumps({
            "venue": vnames[venue] if 0 <= venue < 4 else "?",
            "symbol": syms[sid] if sid >= 0 else "*",
            "kind": knames[kind] if 0 <= kind < 7 else "?",
            "side": snames[side] if 0 <= side < 5 else "?",
            "price": price,
            "qty": qty,
            "notional": notional,
            "ts_event_ns": ts,
            "ts_recv_ns": tr,
        }))
        if len(buf) >= 4096:
            out.write(b"\n".join(buf) + b"\n")
            buf = []
    if buf:
        out.write(b"\n".join(buf) + b"\n")
    out.flush()


def summary_rows(events: np.ndarray, registry) -> list[tuple]:
    """(venue, symbol, kind, count, first_ns, last_ns, notional) per group, sorted by venue/symbol/kind."""
    from liqcore.venues.common import KIND_NAMES
    from liqcore.types import venue_name

    if not len(events):
        return []
    key = events["symbol_id"].astype(np.int64) * 16 + events["kind"].astype(np.int64)
    order = np.argsort(key, kind="stable")
    k = key[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    ends = np.r_[starts[1:], len(k)]
    notional = np.where(np.isin(events["kind"], (1, 2)), events["price"] * events["qty"], 0.0)
    rows = []
    for a, b in zip(starts, ends):
        idx = order[a:b]
        e0 = events[idx[0]]
        sid = int(e0["symbol_id"])
        sym = registry.symbol(sid) if sid >= 0 else "*"
        ts = events["ts_event"][idx]
        rows.append((venue_name(e0["venue"]), sym, KIND_NAMES.get(int(e0["kind"]), "?"), int(b - a),
                     int(ts.min()), int(ts.max()), float(notional[idx].sum())))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return rows


def _fmt_time(ns: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def print_summary(result, events: np.ndarray) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 160)
    table = Table(title=f"{len(events)} events ({len(result.sources)} file(s), {result.duplicates} duplicates removed)")
    for col, just in (("venue", "left"), ("symbol", "left"), ("kind", "left"), ("count", "right"),
                      ("first (UTC)", "left"), ("last (UTC)", "left"), ("notional", "right")):
        table.add_column(col, justify=just)
    for venue, sym, kind, n, first, last, notional in summary_rows(events, result.registry):
        table.add_row(venue, sym, kind, f"{n:,}", _fmt_time(first), _fmt_time(last),
                      f"{notional:,.0f}" if kind in ("liquidation", "trade") else "")
    console.print(table)
    if result.rejects or result.recovered:
        rt = Table(title="rejected / skipped records")
        rt.add_column("reason")
        rt.add_column("count", justify="right")
        for k, v in sorted(result.rejects.items()):
            rt.add_row(k, f"{v:,}")
        for k, v in sorted(result.recovered.items()):
            rt.add_row(f"recovered: {k}", f"{v:,}")
        console.print(rt)
    ft = Table(title="files")
    for col in ("file", "format", "records", "events", "rejected (by reason) / why skipped"):
        ft.add_column(col)
    for path, info in result.files.items():
        rej = ", ".join(f"{k} {v:,}" for k, v in sorted((info.get("rejects") or {}).items()) if v)
        moved = f" ({info['reordered']:,} re-ordered)" if info.get("reordered") else ""  # put back in time order
        ft.add_row(path, info["format"], f"{info['records']:,}{moved}", f"{info['events']:,}", rej)
    for path, why in getattr(result, "skipped", {}).items():
        ft.add_row(path, "skipped", "", "", why)
    console.print(ft)


def run(args) -> int:
    from liqcore.commands.inputs import load_recordings, select, selection_label, time_window
    from liqcore.io import require_events

    start, end = time_window(args)
    result = load_recordings(args)
    events = select(result.events, result.registry, kind=args.kind, symbol=args.symbol, venue=args.venue,
                    start=start, end=end)
    require_events(result, args.paths, allow_empty=args.allow_empty, usable=len(events),
                   selection=selection_label(kind=args.kind, symbol=args.symbol, venue=args.venue,
                                             start=args.start, end=args.end))
    if args.limit is not None:  # what the user asked for (0 included): not an empty input
        if args.limit < 0:
            raise ValueError("limit: must be >= 0")
        events = events[: args.limit]
    if args.json:
        write_json_lines(events, result.registry, sys.stdout.buffer)
    else:
        print_summary(result, events)
    return 0

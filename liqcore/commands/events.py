"""``liqcore events``: normalised events from recordings, or a summary per venue / symbol / kind.

Usage, the tables, ``--json`` and the formats: docs/reference/commands.md, "`liqcore events`", and docs/data.md.

May import: the layers below the command line (``io``, ``types``, ``validate``, ``venues.common``) and
this package's shared ``inputs`` and ``_venues``.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from liqcore._tables import titled_table

HELP = "print normalised events (or a per venue/symbol/kind summary) from recordings"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from liqcore.commands.inputs import add_recording_arguments, add_time_arguments

    add_recording_arguments(p)
    add_time_arguments(p)
    p.add_argument("--json", action="store_true", help="one JSON object per event instead of the summary")
    p.add_argument("--kind", default=None, help="comma list of kinds: liquidation,trade,mark,funding,gap,open_interest,quote,depth")
    p.add_argument("--symbol", default=None, help="comma list of symbols (as named by the venue, e.g. BTCUSDT, BTC-USDT-SWAP)")
    from liqcore.commands._venues import venue_list

    p.add_argument("--venue", default=None, metavar="V[,V...]",
                   help=f"comma list of venue names (registered: {venue_list()})")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="at most N events (after filters)")
    from liqcore.commands.inputs import add_mapping_arguments

    add_mapping_arguments(p)  # after the command's own --kind / --venue, which then say the rows' kind / venue


def write_json_lines(events: np.ndarray, registry, out, trade_ids: np.ndarray | None = None) -> None:
    """One JSON object per event; ``trade_ids`` (aligned with the events, 0: none): a trade with the
    venue's id carries it as ``trade_id``."""
    import orjson

    from liqcore.types import venue_slot, venue_slot_names

    vnames = venue_slot_names("?")
    snames = ("none", "long", "short", "buy", "sell")
    from liqcore.codes import KIND_TABLE

    knames = ("?",) + KIND_TABLE[1:]  # every event kind (liqcore.codes: the one table)
    syms = [s for _, _, s in registry]
    buf = []
    ids = trade_ids.tolist() if trade_ids is not None else [0] * len(events)
    for (ts, tr, price, qty, sid, side, kind, venue, _flags), tid in zip(events.tolist(), ids):
        notional = price * qty if kind in (1, 2) else None
        row = {
            "venue": vnames[venue_slot(venue)],
            "symbol": syms[sid] if sid >= 0 else "*",
            "kind": knames[kind] if 0 <= kind < len(knames) else "?",
            "side": snames[side] if 0 <= side < 5 else "?",
            "price": price,
            "qty": qty,
            "notional": notional,
            "ts_event_ns": ts,
            "ts_recv_ns": tr,
        }
        if tid:
            row["trade_id"] = tid
        buf.append(orjson.dumps(row))
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


def quote_summary_rows(events: np.ndarray, registry) -> list[tuple]:
    """Top of book per symbol with quotes: (venue, symbol, updates, median spread in price units,
    median spread in bps of the mid, crossed updates, empty-side rows), over the updates whose two
    sides are not empty (an update: a bid row and an ask row with the same times)."""
    from liqcore.types import venue_name
    from liqcore.validate import quote_pairs

    q = events[events["kind"] == 7] if len(events) else events
    if not len(q):
        return []
    ib, ia = quote_pairs(q)
    rows = []
    for sid in np.unique(q["symbol_id"]).tolist():
        m = q["symbol_id"][ib] == sid
        bid, ask = q[ib[m]], q[ia[m]]
        full = (bid["qty"] > 0) & (ask["qty"] > 0)
        spread = ask["price"][full] - bid["price"][full]
        mid = (ask["price"][full] + bid["price"][full]) / 2
        sym_rows = q[q["symbol_id"] == sid]
        rows.append((venue_name(sym_rows["venue"][0]), registry.symbol(sid) if sid >= 0 else "*", int(m.sum()),
                     float(np.median(spread)) if len(spread) else float("nan"),
                     float(np.median(spread / mid * 1e4)) if len(spread) else float("nan"),
                     int((spread <= 0).sum()), int((sym_rows["qty"] == 0).sum())))
    rows.sort(key=lambda r: (r[0], r[1]))
    return rows


def _fmt_time(ns: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def print_summary(result, events: np.ndarray) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 160)
    from liqcore._tables import NOTIONAL_UNIT

    table = titled_table(f"{len(events)} events ({len(result.sources)} file(s), {result.duplicates} duplicates removed)",
                         caption=f"{NOTIONAL_UNIT}; summed over the group's liquidations or trades")
    for col, just in (("venue", "left"), ("symbol", "left"), ("kind", "left"), ("count", "right"),
                      ("first (UTC)", "left"), ("last (UTC)", "left"), ("notional", "right")):
        table.add_column(col, justify=just)
    for venue, sym, kind, n, first, last, notional in summary_rows(events, result.registry):
        table.add_row(venue, sym, kind, f"{n:,}", _fmt_time(first), _fmt_time(last),
                      f"{notional:,.0f}" if kind in ("liquidation", "trade") else "")
    console.print(table)
    qrows = quote_summary_rows(events, result.registry)
    if qrows:
        qt = titled_table("top of book (medians over updates with both sides quoted)")
        for col in ("venue", "symbol", "updates", "median spread (price units)", "median spread (bps of mid)",
                    "crossed updates", "empty-side rows"):
            qt.add_column(col, justify="left" if col in ("venue", "symbol") else "right")
        for venue, sym, n, sp, bps, crossed, empty in qrows:
            qt.add_row(venue, sym, f"{n:,}", f"{sp:.6g}", f"{bps:.3f}", f"{crossed:,}", f"{empty:,}")
        console.print(qt)
    if result.rejects or result.recovered:
        rt = titled_table("rejected / skipped records")
        rt.add_column("reason")
        rt.add_column("count", justify="right")
        for k, v in sorted(result.rejects.items()):
            rt.add_row(k, f"{v:,}")
        for k, v in sorted(result.recovered.items()):
            rt.add_row(f"recovered: {k}", f"{v:,}")
        console.print(rt)
    ft = titled_table("files (what each load read: rows, rejects by reason, rows sorted into place, span, contents)")
    for col, just in (("file", "left"), ("format", "left"), ("rows read", "right"), ("events", "right"),
                      ("re-ordered rows", "right"), ("rejected rows (by reason)", "left"),
                      ("first .. last event (UTC)", "left"), ("venue / symbols / kinds (events)", "left")):
        ft.add_column(col, justify=just)
    for path, info in result.files.items():
        ft.add_row(*file_row(path, info))
    console.print(ft)
    if getattr(result, "skipped", None):
        st = titled_table("files that could not be read (the others are loaded)")
        for col in ("file", "status", "why"):
            st.add_column(col)
        for path, why in result.skipped.items():
            st.add_row(path, "skipped", why)
        console.print(st)


def file_row(path: str, info: dict) -> tuple:
    """One row of the per-file load report (see :class:`liqcore.io.LoadResult` ``files``)."""
    rej = ", ".join(f"{k} {v:,}" for k, v in sorted((info.get("rejects") or {}).items()) if v)
    span = ""
    if info.get("start_ns") is not None:
        span = f"{_fmt_time(info['start_ns'])} .. {_fmt_time(info['end_ns'])}"
    syms = info.get("symbols") or []
    what = "; ".join(x for x in (
        ", ".join(info.get("venues") or []),
        f"{len(syms)} symbol(s): {', '.join(syms[:4])}{' ...' if len(syms) > 4 else ''}" if syms else "",
        ", ".join(f"{k} {v:,}" for k, v in (info.get("kinds") or {}).items())) if x)
    if info.get("empty"):  # an empty file: says so where its contents would be
        what = f"the file {info['empty']}"
    return (path, info.get("format") or "", f"{info.get('records', 0):,}", f"{info.get('events', 0):,}",
            f"{info['reordered']:,}" if "reordered" in info else "", rej, span, what)


def load_report(result) -> dict:
    """The per-file load report as JSON-ready data (what ``--json`` writes on stderr)."""
    files = {p: {k: v for k, v in info.items() if k != "mapping"} for p, info in result.files.items()}
    return {"files": files, "skipped": dict(getattr(result, "skipped", {})), "duplicates": result.duplicates}


def run(args) -> int:
    from liqcore.commands.inputs import load_recordings, select, selection_label, time_window
    from liqcore.io import require_events

    start, end = time_window(args)
    result = load_recordings(args)
    keep = select(result.events, result.registry, kind=args.kind, symbol=args.symbol, venue=args.venue,
                  start=start, end=end, mask=True)
    events = result.events[keep]
    tids = result.trade_ids[keep] if result.trade_ids is not None else None
    require_events(result, args.paths, allow_empty=args.allow_empty, usable=len(events),
                   selection=selection_label(kind=args.kind, symbol=args.symbol, venue=args.venue,
                                             start=args.start, end=args.end))
    if args.limit is not None:  # what the user asked for (0 included): not an empty input
        if args.limit < 0:
            raise ValueError("limit: must be >= 0")
        events = events[: args.limit]
        tids = tids[: args.limit] if tids is not None else None
    if args.json:
        import orjson

        # the per-file load report: one JSON line on stderr, so stdout stays one event per line
        sys.stderr.write("load report: " + orjson.dumps(load_report(result)).decode() + "\n")
        write_json_lines(events, result.registry, sys.stdout.buffer, tids)
    else:
        print_summary(result, events)
    return 0

"""``liqcore detect``: liquidation cascades in recorded events, one row (or JSON line) per cascade.

Usage, the columns, ``--json``, ``--scope instrument``, ``--symbols all`` and the empty-input rule:
docs/reference/commands.md, "`liqcore detect`".

May import: the layers below the command line (``io``, ``_libs.detector``, ``market``, ``features``,
``instruments``, ``config``) and this package's shared ``inputs`` and ``_market``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from liqcore._tables import titled_table

HELP = "detect liquidation cascades in recorded events"

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample_liquidations.csv"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from liqcore.config import add_param_arguments

    from liqcore.commands.inputs import add_recording_arguments, add_time_arguments

    add_recording_arguments(p, nargs="*", feed_latency="param", format_choices=False)
    p.add_argument("--sample", action="store_true",
                   help="run on the bundled synthetic sample (12 h of liquidations on each built-in venue)")
    from liqcore.commands._venues import venue_list

    p.add_argument("--venue", default=None, metavar="V",
                   help=f"only these venues (comma list of venue names; registered: {venue_list()})")
    p.add_argument("--symbol", default=None, metavar="S", help="only these symbols (comma list, venue spelling)")
    wm = p.add_argument_group("whole market (--symbols all)")
    wm.add_argument("--symbols", default=None, metavar="SYMS|all",
                    help="all: every symbol of the recording (a whole-market recording: liqcore record --symbols all), "
                         "narrowed by --exclude, --quote and --min-volume; or a comma list (as --symbol)")
    from liqcore.commands._market import add_cached_list_argument, add_universe_arguments

    add_universe_arguments(wm, also=None, narrowed="left out")
    wm.add_argument("--instrument-list", default=None, metavar="FILE",
                    help="--symbols all: the instrument list giving each symbol's quote and 24 h turnover: the file "
                         "liqcore run / record --symbols all cache (universe-<venue>-<quote>.json) or the venue's "
                         "answer; default: the venue's cached list, else --quote goes by the symbol's name")
    add_cached_list_argument(wm)
    add_time_arguments(p)
    p.add_argument("--json", action="store_true", help="one JSON object per cascade per line")
    p.add_argument("--scope", choices=("venue", "instrument"), default="venue",
                   help="venue (default): cascades per (venue, symbol); instrument: the 2-in-window rule counts "
                        "large liquidations across the venues of one instrument")
    p.add_argument("--instrument-table", default=None, metavar="TOML",
                   help="--scope instrument: instrument overrides ([instruments.<id>] <venue> = symbol)")
    p.add_argument("--market-wide", type=int, default=None, metavar="K",
                   help="also list market-wide cascades: moments when cascades confirm on at least K unrelated "
                        "instruments (a contract on several venues counts once) within --market-window")
    p.add_argument("--market-window", default="60s", metavar="W",
                   help="--market-wide: the window (default 60s; units ms, s, m, h)")
    p.add_argument("--chance", nargs="?", type=int, const=200, default=None, metavar="DRAWS",
                   help="--market-wide: also the null test: the episodes independent instruments give by chance "
                        "(each one's confirmations shifted by its own random whole number of days; DRAWS draws, "
                        "default 200; needs 2 whole days of input) and whether the count observed lies in its "
                        "95 %% interval")
    add_param_arguments(p, groups=("detector",))
    from liqcore.commands.inputs import add_mapping_arguments

    add_mapping_arguments(p)  # after the command's own --kind / --venue, which then say the rows' kind / venue


def cascades(records) -> list[dict]:
    """Merge CONFIRMED and ENDED records by cascade_id, in confirmation order: start/confirm and the
    threshold from CONFIRMED, end and the final counts and notionals from ENDED."""
    from liqcore.types import RecordKind

    ended = {int(r["cascade_id"]): r for r in records if r["record"] == RecordKind.ENDED}
    out = []
    for c in records[records["record"] == RecordKind.CONFIRMED]:
        e = ended.get(int(c["cascade_id"]), c)
        out.append({
            "cascade_id": int(c["cascade_id"]),
            "symbol_id": int(c["symbol_id"]),
            "venue": int(c["venue"]),
            "start_ns": int(c["start_ns"]),
            "confirm_ns": int(c["confirm_ns"]),
            "end_ns": int(e["end_ns"]),
            "end_reason": int(e["end_reason"]),
            "dominant": int(e["dominant"]),
            "n_events": int(e["n_events"]),
            "n_large": int(e["n_large"]),
            "long_notional": float(e["long_notional"]),
            "short_notional": float(e["short_notional"]),
            "threshold": float(c["threshold"]),
        })
    return out


def _utc(ns: int) -> str:
    from datetime import datetime, timezone

    dt = datetime.fromtimestamp(ns // 1_000_000_000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%d %H:%M:%S") + f".{(ns % 1_000_000_000) // 1_000_000:03d}"


def _utc_short(ns: int, ref_ns: int) -> str:
    """Time of day only when ``ns`` falls on the same UTC day as ``ref_ns``."""
    full, ref = _utc(ns), _utc(ref_ns)
    return full[11:] if full[:10] == ref[:10] else full


def _money(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 or x == 0 else f"{x:,.2f}"


def _count_lines(res, counts: dict, n_cascades: int) -> list[str]:
    from liqcore._libs.detection import SKIP_REASONS

    lines = [
        f"events {counts['events']}, liquidations {counts['liquidations']}, large {counts['large']}, "
        f"late {counts['late']}, cascades {n_cascades}"
    ]
    skipped = {r: counts[f"skipped_{r}"] for r in SKIP_REASONS if counts[f"skipped_{r}"]}
    if skipped:
        lines.append("skipped: " + ", ".join(f"{k}={v}" for k, v in skipped.items()))
    if res.rejects:
        lines.append("loader rejects: " + res.rejects_text())
    if res.duplicates:
        lines.append(f"duplicates removed: {res.duplicates}")
    return lines


def _has_liquidations(events, paths, args, log, selection: str = "") -> bool:
    """Whether the events hold a liquidation; none: :class:`liqcore.io.require.NoUsableInput` saying
    what they hold instead (exit 1), or with ``--allow-empty`` a note and no cascades."""
    import numpy as np

    from liqcore.io.require import NoUsableInput
    from liqcore.types import Kind

    kinds, counts = np.unique(events["kind"], return_counts=True)
    if int(Kind.LIQUIDATION) in kinds.tolist():
        return True
    names = {Kind.TRADE: "trades", Kind.MARK: "mark prices", Kind.FUNDING: "funding rates", Kind.GAP: "gap markers",
             Kind.OPEN_INTEREST: "open-interest readings", Kind.QUOTE: "quotes"}
    name = [names.get(Kind(int(k)), Kind(int(k)).name.lower()) for k in kinds]
    where = ", ".join(map(str, paths[:3])) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    where += f" (selected by {selection})" if selection else ""
    held = (f"all {name[0]} (the input holds only {name[0]})" if len(kinds) == 1 else
            ", ".join(f"{int(c):,} {nm}" for nm, c in zip(name, counts)))
    msg = (f"no liquidations in {where}: its {len(events):,} events are {held}; a cascade is made of "
           "liquidations: give a liquidation recording")
    if not args.allow_empty:
        raise NoUsableInput(msg + " (--allow-empty to accept an input without them)")
    print(msg + ": no cascades", file=log)
    return False


def run(args) -> int:
    from liqcore.commands.inputs import load_recordings, select, selection_label, time_window
    from liqcore.config import params_from_args
    from liqcore.io import require_events
    from liqcore._libs.detection import CascadeDetector
    from liqcore.types import dominant_name, venue_name

    paths = [Path(p) for p in args.paths]
    if args.sample and paths:  # the sample is synthetic: never mixed into the user's recordings
        raise ValueError(f"sample: --sample runs on the bundled synthetic sample alone; give PATH... "
                         f"({', '.join(map(str, paths))}) or --sample, not both")
    if args.sample:
        paths.append(SAMPLE)
    if not paths:
        raise ValueError("PATH: give at least one recording (file or directory), or --sample")
    for p in paths:
        if not p.exists():
            raise ValueError(f"PATH: no such file or directory: {p}")
    whole = _symbols_flag(args)
    params = params_from_args(args)
    _check_market_wide(args)
    start, end = time_window(args)
    res = load_recordings(args, feed_latency_ns=params.feed_latency_ns, max_clock_skew_ns=params.max_clock_skew_ns,
                          paths=[str(p) for p in paths])
    events = select(res.events, res.registry, symbol=args.symbol, venue=args.venue, start=start, end=end,
                    keep_global=True)
    log = sys.stderr if args.json else sys.stdout
    if whole and len(events):  # --symbols all: every symbol of the input, less those the narrowing flags leave out
        events = _whole_market(args, events, res.registry, log)

    require_events(res, [str(p) for p in paths], allow_empty=args.allow_empty, usable=len(events),
                   selection=selection_label(venue=args.venue, symbol=args.symbol, symbols=args.symbols,
                                             start=args.start, end=args.end))
    if len(events) == 0:  # allowed (--allow-empty)
        print("no events in the input: no cascades", file=log)
        if res.rejects:
            print("loader rejects: " + res.rejects_text(), file=log)
        return 0
    if not _has_liquidations(events, paths, args, log, selection_label(
            venue=args.venue, symbol=args.symbol, symbols=args.symbols, start=args.start, end=args.end)):  # allowed (--allow-empty)
        return 0

    from liqcore.venues.common import throttle_note

    reg = res.registry
    shares = None
    if args.scope == "instrument":
        from liqcore.instruments import detect_instruments, load_table

        table = load_table(args.instrument_table)
        records, shares, counts, names = detect_instruments(events, reg, params, table)
        from liqcore.instruments import groups

        group, _ = groups(reg, table)
    elif args.instrument_table:
        raise ValueError("instrument-table: only with --scope instrument")
    else:
        det = CascadeDetector.from_params(params)
        records, counts = det.run(events, flush=True)
    rows = cascades(records)
    wide = _market_wide(args, records, reg, events, table if args.scope == "instrument" else None)
    chance = _chance(args, records, reg, events, table if args.scope == "instrument" else None)
    if shares is not None:
        by = {}
        for sh in shares:
            by.setdefault(int(sh["cascade_id"]), {})[venue_name(int(sh["venue"]))] = {
                "n_events": int(sh["n_events"]), "n_large": int(sh["n_large"]),
                "notional": float(sh["long_notional"] + sh["short_notional"]),
                "first_large_ns": int(sh["first_large_ns"]) if sh["first_large_ns"] >= 0 else None,
                "first_large_recv_ns": int(sh["first_large_recv_ns"]) if sh["first_large_recv_ns"] >= 0 else None,
            }
        for c in rows:
            c["instrument"] = names[int(group[c["symbol_id"]])]
            c["shares"] = by.get(c["cascade_id"], {})

    if args.json:
        import orjson

        out = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else None
        for c in rows:
            obj = {
                "venue": venue_name(c["venue"]),
                "symbol": reg.symbol(c["symbol_id"]),
                "start_ns": c["start_ns"],
                "confirm_ns": c["confirm_ns"],
                "end_ns": c["end_ns"],
                "dominant": dominant_name(c["dominant"]),
                "n_events": c["n_events"],
                "n_large": c["n_large"],
                "long_notional": c["long_notional"],
                "short_notional": c["short_notional"],
                "threshold": c["threshold"],
            }
            if shares is not None:
                obj["instrument"] = c["instrument"]
                obj["first_venue"] = obj["venue"]
                obj["shares"] = c["shares"]
            line = orjson.dumps(obj) + b"\n"
            if out is not None:
                out.write(line)
            else:
                sys.stdout.write(line.decode())
        for w in wide if wide is not None else ():
            line = orjson.dumps(_wide_obj(w)) + b"\n"
            if out is not None:
                out.write(line)
            else:
                sys.stdout.write(line.decode())
        if out is not None:
            out.flush()
        for line in _count_lines(res, counts, len(rows)):
            print(line, file=sys.stderr)
        if chance is not None:
            print(_chance_line(chance), file=sys.stderr)
        if throttle_note(events):
            print(f"note: {throttle_note(events)}", file=sys.stderr)
        return 0

    from rich.console import Console
    from rich.table import Table

    console = Console(file=sys.stdout, width=max(Console(file=sys.stdout).width, 170))
    scope = "" if shares is None else "instrument scope, "
    from liqcore._tables import NOTIONAL_UNIT

    table = titled_table(f"liquidation cascades ({scope}window {params.window_ns / 1e9:g}s, "
                        f"k={params.min_large}, q={params.quantile:g}, N={params.history})",
                        caption=f"long/short notional: liquidated longs'/shorts' {NOTIONAL_UNIT}, at the "
                                f"cascade's end; threshold: the notional from which a liquidation counts as large, same unit")
    cols = (("venue", "left"), ("symbol", "left")) if shares is None else (("instrument", "left"),
                                                                            ("first venue", "left"),
                                                                            ("venue shares (notional)", "left"))
    for name, justify in (*cols, ("start (UTC)", "left"),
                          ("confirm", "left"), ("end", "left"), ("duration", "right"),
                          ("dominant", "left"), ("events", "right"), ("large", "right"),
                          ("long notional", "right"), ("short notional", "right"), ("threshold", "right")):
        table.add_column(name, justify=justify, no_wrap=True)
    for c in rows:
        dom = dominant_name(c["dominant"])
        style = {"long": "red", "short": "green"}.get(dom, "")
        lead = (venue_name(c["venue"]), reg.symbol(c["symbol_id"])) if shares is None else (
            c["instrument"], venue_name(c["venue"]),
            " ".join(f"{v} {100 * x['notional'] / max(c['long_notional'] + c['short_notional'], 1e-300):.0f}%"
                     for v, x in c["shares"].items()))
        table.add_row(
            *lead, _utc(c["start_ns"]),
            _utc_short(c["confirm_ns"], c["start_ns"]), _utc_short(c["end_ns"], c["start_ns"]), f"{(c['end_ns'] - c['start_ns']) / 1e9:.1f}s",
            f"[{style}]{dom}[/{style}]" if style else dom, str(c["n_events"]), str(c["n_large"]),
            _money(c["long_notional"]), _money(c["short_notional"]), _money(c["threshold"]),
        )
    console.print(table)
    if wide is not None:
        _print_wide(console, wide, args)
    if chance is not None:
        console.print(_chance_line(chance), highlight=False, markup=False)
    for line in _count_lines(res, counts, len(rows)):
        console.print(line, highlight=False)
    if throttle_note(events):
        console.print(f"note: {throttle_note(events)}", highlight=False, markup=False)
    return 0


def _symbols_flag(args) -> bool:
    """``--symbols``: True for ``all`` (the whole market of the input); a list joins ``--symbol``'s; the flags that
    narrow a whole market only with ``all``."""
    from liqcore.commands._market import check_list_flags, traded_symbols, whole_market

    if args.symbols is not None and args.symbol:
        raise ValueError("symbols: give --symbol or --symbols, not both")
    if args.symbols is not None and whole_market(args.symbols):
        if args.scope == "instrument":
            raise ValueError("symbols: --symbols all selects one venue's whole market; --scope instrument takes a list")
        return True
    if args.symbols is not None:
        args.symbol = ",".join(traded_symbols(args.symbols))
    check_list_flags(args)
    for name in ("instrument_list", "rest_url"):
        if getattr(args, name):
            raise ValueError(f"{name.replace('_', '-')}: only with --symbols all")
    return False


def _whole_market(args, events, registry, log):
    """The events of ``--symbols all`` (:func:`liqcore.commands._market.recording_symbols`), the selection said."""
    import numpy as np

    from liqcore.commands._market import recording_symbols
    from liqcore.types import Venue

    venues = sorted(Venue(int(v)).name.lower() for v in np.unique(events["venue"]) if int(v))
    if args.instrument_list and args.rest_url:
        raise ValueError("instrument-list: give --instrument-list FILE or --rest-url URL, not both")
    ids, notes = recording_symbols(args, registry, venues, args.instrument_list)
    for n in notes:
        print(n, file=log)
    present = np.unique(events["symbol_id"][events["symbol_id"] >= 0])
    kept = np.intersect1d(present, np.asarray(ids, dtype=present.dtype))
    if not len(kept):
        raise ValueError(f"symbols: none of the input's {len(present)} symbols is left after --exclude / --quote "
                         f"{args.quote} / --min-volume")
    print(f"--symbols all: {len(kept)} of the input's {len(present)} symbols (left out by --exclude / --quote / "
          f"--min-volume: {len(present) - len(kept)})", file=log)
    return events[np.isin(events["symbol_id"], kept) | (events["symbol_id"] < 0)]


def _check_market_wide(args) -> None:
    """``--market-wide``, ``--market-window`` and ``--chance``: their values, before any work (``--market-window``'s
    alike with or without ``--market-wide``, as every option's)."""
    from liqcore.features.registry import parse_window

    parse_window(args.market_window, "market-window")
    if args.market_wide is not None and args.market_wide < 2:
        raise ValueError(f"market-wide: K is the number of instruments and must be >= 2; got {args.market_wide}")
    if args.chance is None:
        return
    if args.market_wide is None:
        raise ValueError("chance: the null test of market-wide cascades needs --market-wide K")
    if not 20 <= args.chance <= MAX_CHANCE_DRAWS:
        raise ValueError(f"chance: at least 20 draws, at most {MAX_CHANCE_DRAWS} (each one re-deals every "
                         f"confirmation, and holds a count); got {args.chance}")


def _market_wide(args, records, reg, events, table):
    """The market-wide episodes of the run's cascades (``--market-wide K``), or None without the option."""
    if args.market_wide is None:
        return None
    from liqcore.features.registry import parse_window
    from liqcore.market.wide import market_wide_records

    window = parse_window(args.market_window, "market-window")
    end = int(events["ts_recv"].max()) if len(events) else None
    return market_wide_records(records, reg, window_ns=window, min_instruments=args.market_wide, table=table,
                               end_ns=end)


#: the most draws ``--chance`` takes: far past where the 95 % interval settles (the default is 200)
MAX_CHANCE_DRAWS = 100_000


def _chance(args, records, reg, events, table):
    """``--chance``: :func:`liqcore.market.wide.chance_rate` of the run's confirmations over the input's span
    (receive times), each symbol mapped to its instrument as the episodes are; None without the option."""
    if args.chance is None:  # (its values checked before any work: _check_market_wide)
        return None
    from liqcore.features.registry import parse_window
    from liqcore.market.wide import chance_rate, confirmations

    if not len(events):
        raise ValueError("chance: no events")
    _, times, groups = confirmations(records, reg, table)
    return chance_rate(times, groups, start_ns=int(events["ts_recv"].min()),
                       end_ns=int(events["ts_recv"].max()), window_ns=parse_window(args.market_window, "market-window"),
                       min_instruments=args.market_wide, draws=args.chance)


def _chance_line(cr) -> str:
    return f"{cr}: {'within' if cr.within else 'OUTSIDE'} what chance gives"


def _wide_obj(w) -> dict:
    from liqcore.types import dominant_name

    return {"market_wide": True, "start_ns": int(w["start_ns"]), "confirm_ns": int(w["confirm_ns"]),
            "end_ns": int(w["end_ns"]), "n_instruments": int(w["n_instruments"]), "n_cascades": int(w["n_cascades"]),
            "dominant": dominant_name(int(w["dominant"])), "long_notional": float(w["long_notional"]),
            "short_notional": float(w["short_notional"]), "open_at_end": bool(w["open_at_end"])}


def _print_wide(console, wide, args) -> None:
    from rich.table import Table

    from liqcore.types import dominant_name

    from liqcore._tables import NOTIONAL_UNIT

    t = titled_table(f"market-wide cascades ({args.market_wide} or more instruments confirming within "
                    f"{args.market_window})",
                    caption=f"long/short notional: the sum over the episode's cascades of each one's liquidated "
                            f"longs'/shorts' {NOTIONAL_UNIT}, as at its confirmation")
    for name, justify in (("start (UTC)", "left"), ("confirm", "left"), ("end", "left"), ("instruments", "right"),
                          ("cascades", "right"), ("dominant", "left"), ("long notional", "right"),
                          ("short notional", "right")):
        t.add_column(name, justify=justify, no_wrap=True)
    for w in wide:
        end = _utc_short(int(w["end_ns"]), int(w["start_ns"])) + (" (input ends)" if w["open_at_end"] else "")
        t.add_row(_utc(int(w["start_ns"])), _utc_short(int(w["confirm_ns"]), int(w["start_ns"])), end,
                  str(int(w["n_instruments"])), str(int(w["n_cascades"])), dominant_name(int(w["dominant"])),
                  _money(float(w["long_notional"])), _money(float(w["short_notional"])))
    console.print(t)
    console.print(f"market-wide cascades: {len(wide)}", highlight=False)

"""A span of real-density days with the book, measured, not extrapolated: the warm backtest's CPU over the first 30,
60, 90 days of one dataset (``--spans``), against the signals each span holds.

The dataset (``--dir D``: ``D/ds``) is ``bench_density.py --direct``'s: one symbol (``--symbol``, default BTCUSDT)
at ``--rate`` trades and ``--quotes`` top-of-book updates a day (defaults 3 M and 6 M, the 30-day bench's
density), written once, day by day; a run finds the days already there (the same parameters: ``D/params.json``)
and writes only the missing ones, so a 90-day set grows from a 30-day one.

Each span: ``--repeat`` new warm processes (``bench_first_passage.py``'s: a warm-up on the first day, then
``liqcore backtest DS --fill queue --end`` the span's last day, the guide's strategy), the spans alternated round
by round; its CPU seconds (median), signals, trades, and the CPU per signal.  Bar: the longest span's CPU at most
``span / first span`` times the first's (three for 90 against 30): the cost grows with the signals, not the
rows.  ``--check``: each span's full replay (``--read all``) once in a fresh process, its trades and summary
against the warm run's (costly: about 2 CPU-s a day).  ``--floor``: pyarrow streaming every row of the whole
dataset in a fresh process (``bench_density.stream_floor``), for scale.

    python benches/bench_year.py --dir /tmp/y90 --days 90 --spans 30,60,90 --repeat 3 --floor
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_density import T0_US, DAY_US, _env, measured  # noqa: E402
from bench_first_passage import _strip, warm_once  # noqa: E402



def _day(i: int) -> str:
    import numpy as np

    return str(np.datetime64(T0_US // DAY_US + i, "D"))


def have_days(ds: Path, symbol: str) -> list[str]:
    """The dates the dataset holds a partition of (any venue, ``symbol``), sorted."""
    return sorted(p.name[5:] for p in ds.glob(f"venue=*/symbol={symbol}/date=*") if p.is_dir())


def grow(folder: Path, params: dict) -> dict | None:
    """``folder/ds`` made to hold ``params["days"]`` days: the missing days at its end written (in a child,
    ``bench_density.py --child direct``-like), the days there checked to be the first ones and written with the
    same parameters (``folder/params.json``).  None when nothing was written, else the child's figures."""
    ds = folder / "ds"
    pfile = folder / "params.json"
    same = {k: v for k, v in params.items() if k != "days"}
    if pfile.exists():
        old = json.loads(pfile.read_text())
        if {k: v for k, v in old.items() if k != "days"} != same:
            raise SystemExit(f"bench: {ds} was written with other parameters ({pfile}: {old}); another --dir")
    elif ds.exists():
        raise SystemExit(f"bench: {ds} exists without {pfile} (its parameters unknown); another --dir")
    there = have_days(ds, params["symbol"])
    want = [_day(i) for i in range(params["days"])]
    if there != want[:len(there)]:
        raise SystemExit(f"bench: {ds} holds days that are not the span's first {len(there)}: another --dir")
    if len(there) >= params["days"]:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    pfile.write_text(json.dumps({**params, "days": max(params["days"], len(there))}) + "\n")
    code = ("import sys, json; sys.path.insert(0, sys.argv[1]); from pathlib import Path; "
            "from bench_density import write_direct; p = json.loads(sys.argv[3]); "
            "n = write_direct(Path(sys.argv[2]), [p['symbol']], p['days'], p['rate'], p['liqs'], p['cascades'], "
            "p['seed'], p['quotes'], first_day=int(sys.argv[4])); print('BENCH ' + json.dumps(n))")
    return measured([sys.executable, "-c", code, str(Path(__file__).parent), str(ds), json.dumps(params),
                     str(len(there))], _env())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", required=True, help="the folder of the dataset (D/ds) and its parameters")
    ap.add_argument("--days", type=int, default=90, help="days the dataset holds (default 90)")
    ap.add_argument("--spans", default="30,60,90", help="the spans timed, in days from the first (default 30,60,90)")
    ap.add_argument("--symbol", default="BTCUSDT")
    ap.add_argument("--rate", type=int, default=3_000_000, help="trades a day (default 3000000)")
    ap.add_argument("--quotes", type=int, default=6_000_000, help="top-of-book updates a day (default 6000000)")
    ap.add_argument("--liqs", type=int, default=1500, help="liquidations a day (default 1500)")
    ap.add_argument("--cascades", type=int, default=30, help="liquidation bursts a day (default 30)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3, help="warm processes a span (default 3)")
    ap.add_argument("--check", action="store_true", help="each span's --read all once: the same trades and summary")
    ap.add_argument("--floor", action="store_true", help="pyarrow streaming the whole dataset, a fresh process")
    ap.add_argument("--signals", metavar="ARGS", default="", help="backtest options added to every run")
    ap.add_argument("--json", metavar="FILE", help="also write every figure as JSON")
    a = ap.parse_args(argv)
    try:
        spans = sorted({int(x) for x in a.spans.split(",") if x.strip()})
    except ValueError:
        raise SystemExit(f"bench: --spans: whole days, comma-separated, got {a.spans!r}") from None
    if not spans or spans[0] < 2 or spans[-1] > a.days:
        raise SystemExit(f"bench: --spans: from 2 days to --days ({a.days}), got {a.spans!r}")
    folder = Path(a.dir)
    params = {"symbol": a.symbol, "days": a.days, "rate": a.rate, "quotes": a.quotes, "liqs": a.liqs,
              "cascades": a.cascades, "seed": a.seed}
    fig: dict = {"params": params, "spans": {}, "load": [list(os.getloadavg())]}
    print(f"bench_year: {folder / 'ds'}, {a.days} days of {a.symbol} at {a.rate:,} trades + {a.quotes:,} quotes a "
          f"day; spans {spans} day(s); load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    g = grow(folder, params)
    ds = str(folder / "ds")
    if g is not None:
        fig["written"] = {k: g[k] for k in ("wall_s", "cpu_s", "peak_gib", "trades", "quotes", "liquidations")}
        print(f"wrote {g['trades']:,} trades + {g['quotes']:,} quotes + {g['liquidations']:,} liquidations: "
              f"{g['wall_s']:.0f} s ({g['cpu_s']:.0f} s CPU), peak {g['peak_gib']:.2f} GiB", flush=True)
    size = sum(f.stat().st_size for f in Path(ds).rglob("*.parquet"))
    print(f"dataset: {a.days} days, {size / 1e9:.2f} GB of partition files", flush=True)
    warm_end = _day(1)
    runs: dict = {s: [] for s in spans}
    for r in range(a.repeat):  # the spans alternated: each round's order the other way
        for s in (spans if r % 2 == 0 else spans[::-1]):
            w = warm_once(ds, warm_end, f"--end {_day(s)} {a.signals}".strip())
            runs[s].append(w)
            print(f"round {r + 1}: {s} days warm {w['cpu_s']:.2f} s CPU ({w['wall_s']:.2f} s wall, peak "
                  f"{w['peak_gib']:.2f} GiB), {w['signals']} signals, {w['trades']} trades"
                  + ("" if w.get("read_mb") is None else f", {w['read_mb']:.1f} MB read")
                  + f"; load {os.getloadavg()[0]:.1f}", flush=True)
            fig["load"].append(list(os.getloadavg()))
    first = statistics.median(w["cpu_s"] for w in runs[spans[0]])
    for s in spans:
        cpu = statistics.median(w["cpu_s"] for w in runs[s])
        sig, tr = runs[s][0]["signals"], runs[s][0]["trades"]
        same = all(w["trades"] == tr and w["signals"] == sig for w in runs[s])
        fig["spans"][s] = {"cpu_s": [w["cpu_s"] for w in runs[s]], "median_cpu_s": cpu, "signals": sig,
                           "trades": tr, "runs_agree": same, "over_first": cpu / first}
        bar = s / spans[0]
        print(f"{s} days: warm {cpu:.2f} s CPU (median of {a.repeat}), {sig} signals ({sig / s:.1f} a day), {tr} "
              f"trades, {1e3 * cpu / max(sig, 1):.1f} ms CPU a signal; x{cpu / first:.2f} the {spans[0]}-day span"
              + ("" if s == spans[0] else f" (bar <= x{bar:g}: {'met' if cpu <= bar * first else 'NOT met'})")
              + ("" if same else "; the runs disagree"), flush=True)
    if a.check:
        for s in spans:
            base = [sys.executable, "-m", "liqcore", "backtest", ds, "--fill", "queue", "--json", "--no-progress",
                    "--end", _day(s), *a.signals.split()]
            d, f = measured(base, _env()), measured(base + ["--read", "all"], _env())
            dd, ff = json.loads(d.pop("_stdout")), json.loads(f.pop("_stdout"))
            ok = dd["trades"] == ff["trades"] and _strip(dd["summary"]) == _strip(ff["summary"])
            fig["spans"][s].update(read_all_cpu_s=f["cpu_s"], read_all_same=ok, fresh_cpu_s=d["cpu_s"])
            print(f"{s} days --read all: {f['cpu_s']:.1f} s CPU ({f['wall_s']:.1f} s wall), {len(ff['trades'])} trades; "
                  f"default read fresh {d['cpu_s']:.1f} s CPU; same trades and summary: {ok}", flush=True)
            if not ok:
                raise SystemExit(f"bench: {s} days: the default read differs from --read all")
    if a.floor:
        fl = measured([sys.executable, str(Path(__file__).parent / "bench_first_passage.py"), "--ds", ds, "--child",
                       "floor", "x"], _env())
        fig["floor"] = {k: fl[k] for k in ("wall_s", "cpu_s", "peak_gib", "rows")}
        last = fig["spans"][spans[-1]]["median_cpu_s"]
        print(f"pyarrow streaming the {a.days} days ({fl['rows']:,} rows), a fresh process: {fl['wall_s']:.1f} s wall, "
              f"{fl['cpu_s']:.1f} s CPU; the {spans[-1]}-day warm backtest x{last / fl['cpu_s']:.3f} its CPU", flush=True)
    fig["load"].append(list(os.getloadavg()))
    print(f"load at end: {os.getloadavg()[0]:.1f} / {os.getloadavg()[1]:.1f} / {os.getloadavg()[2]:.1f}")
    if a.json:
        Path(a.json).write_text(json.dumps(fig, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

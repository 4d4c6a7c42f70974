"""The market-wide crash replay: a fake Binance market stream in this process plays a crash to a ``liqcore run``
paper process on 127.0.0.1, and the bars are measured in the same run.

Phases (``liqcore.testing.CrashPlay``): warm-up (a trade and ``--warm`` small liquidations per symbol,
so every threshold exists), ``--probes`` quiet-feed cascades (one large liquidation, 25-50 ms of silence, the
confirming one), the crash (``--seconds`` s of ``--rate`` liquidations/s spread over every symbol, each symbol in
waves of large liquidations so cascades confirm and end all through it), then quiet again (``--settle`` s) and
``--probes`` more quiet-feed cascades.

The runner is ``liqcore run --venue binance --ws-url <fake> --symbols <list>`` (``--symbols-arg all`` once
``run --symbols all`` exists; the default is the comma list of the played symbols) with a journal, ``--window``
short enough that a symbol's cascade ends between its waves, started through a small wrapper
(:data:`STAMPS`) that stamps ``time.perf_counter_ns()`` (CLOCK_MONOTONIC, the clock this process stamps its
writes with) when each decision is emitted, and writes every confirmed cascade, decision and the engine's
counts at exit.

Measured:

* lost frames: data frames written by the fake (per connection) minus the data frames the runner decoded
  (its decoder's frames minus control frames), and liquidations written minus liquidations the engine saw
  on its symbols (bar: 0 and 0, no gap);
* every confirmed cascade decided, within 1 s of replay time (the decision's wall time minus the confirming
  liquidation's event time, which is the wall time the fake built it at);
* reaction across processes: the fake's write of the confirming frame -> the decision emitted in the runner;
  p50/p90/p99 of the quiet-feed cascades before the crash, of every cascade confirmed during the crash and of
  the quiet cascades after it (bar: crash p99 <= 2x quiet p99);
* the runner's peak RSS (VmHWM, bar <= 600 MB) and its RSS at the end of the crash and at the end; its CPU.

    python benches/bench_crash.py [--symbols 300] [--seconds 60] [--rate 2000] [--probes 200]
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's liqcore, not an installed one
sys.path.insert(0, str(ROOT / "benches"))
from bench_reaction_xproc import _cpu_s, _cpu_ticks, pct  # noqa: E402  (the cross-process harness's helpers)

#: ``python -c STAMPS OUT run ...``: liqcore run, with every confirmed cascade and decision stamped, written to
#: OUT (JSON) at exit with the engine's counts
STAMPS = '''
import atexit, json, sys, time
out = sys.argv.pop(1)
from liqcore.live import decisions as DL, engine as E
conf, dec, eng = [], [], []
clock, wall = time.perf_counter_ns, time.time_ns
record0, emit0, init0 = DL.DecisionLog.record, DL.DecisionLog.emit, E.Engine.__init__

def record(self, rec):
    info = record0(self, rec)
    if info["record"] == "confirmed":
        conf.append((info["symbol"], info["cascade_id"], info["confirm_ns"]))
    return info

def emit(self, d):
    dec.append((d.symbol, d.cascade_id, clock(), wall(), d.action, d.reason))
    return emit0(self, d)

def init(self, *a, **k):
    init0(self, *a, **k)
    eng.append(self)

DL.DecisionLog.record, DL.DecisionLog.emit, E.Engine.__init__ = record, emit, init

def dump():
    e = eng[0] if eng else None
    counts = {} if e is None else {"liquidations": sum(e.liq_seen.values()), "events": e.events,
                                   "rejects": dict(e.rejects), "frames": dict(e.frames)}
    with open(out, "w") as f:
        json.dump({"confirmed": conf, "decisions": dec, "engine": counts}, f)

atexit.register(dump)
from liqcore.cli import main
sys.argv[0] = "liqcore"
sys.exit(main())
'''


def rss_mb(pid: int) -> dict:
    """The process's resident set now and its peak (VmRSS, VmHWM), in MB (10^6 bytes)."""
    out = {}
    try:
        for ln in Path(f"/proc/{pid}/status").read_text().splitlines():
            k, _, v = ln.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0]) * 1024 / 1e6
    except OSError:
        pass
    return out


def runner_cmd(url: str, symbols_arg: str, tmp: Path, window: str, min_history: int, extra: list[str]) -> list[str]:
    return [sys.executable, "-c", STAMPS, str(tmp / "stamps.json"), "run", "--venue", "binance",
            "--symbols", symbols_arg, "--ws-url", url, "--journal", str(tmp / "crash.sqlite"), "--no-dashboard",
            "--log", str(tmp / "run.log"), "--log-level", "WARNING", "--min-history", str(min_history),
            "--window", window, "--json", *extra]


async def wait_for(cond, timeout: float, what: str, proc=None) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"crash: the runner exited with {proc.returncode} while waiting for {what}")
        if time.monotonic() > deadline:
            raise SystemExit(f"crash: {what} not seen within {timeout:g} s")
        await asyncio.sleep(0.05)


async def play(args, tmp: Path) -> dict:
    """Run the whole replay; returns the measurements (and the runner's summary)."""
    from liqcore.testing import CrashPlay, crash_symbols
    from liqcore.venues.fake_streams import FakeMarketStream

    symbols = crash_symbols(args.symbols)
    fs = await FakeMarketStream("binance").start()
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    extra = shlex.split(args.liqcore_args)
    if (args.symbols_arg or "").lower() == "all" and "--rest-url" not in extra:
        extra += ["--rest-url", fs.rest_url]  # the instrument list from the fake's REST (each URL's list cached apart)
    cmd = runner_cmd(fs.ws_url, args.symbols_arg or ",".join(symbols), tmp, args.window, args.min_history, extra)
    out = open(tmp / "summary.json", "wb")
    err = open(tmp / "stderr.txt", "wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    res: dict = {"symbols": len(symbols)}
    try:
        need = {f"{s.lower()}@forceOrder" for s in symbols}
        await wait_for(lambda: "!forceOrder@arr" in fs.subscriptions() or need <= fs.subscriptions(), 120,
                       "the runner's liquidation subscriptions", proc)
        await asyncio.sleep(0.5)
        crash = CrashPlay(fs, symbols, seed=args.seed)
        gc.collect()
        gc.freeze()
        gc.disable()  # (this process stamps the writes: no cyclic pass of its own between stamp and write)
        await crash.warm_up(args.warm, rate=args.rate)
        await asyncio.sleep(args.settle)  # (a cascade the warm-up's own tail confirmed ends first)
        load0 = (os.getloadavg()[0], _cpu_ticks())
        await crash.probes(args.probes, args.idle, name="quiet before")
        cpu0 = _cpu_s(proc.pid)
        t_crash = time.monotonic()
        await crash.crash(args.seconds, rate=args.rate, wave_s=args.wave, calm_s=args.calm)
        res["crash_wall_s"] = time.monotonic() - t_crash
        res["crash_cpu_s"] = _cpu_s(proc.pid) - cpu0
        res["rss_after_crash"] = rss_mb(proc.pid)
        await asyncio.sleep(args.settle)
        await crash.probes(args.probes, args.idle, name="quiet after", offset=args.probes)
        load1 = (os.getloadavg()[0], _cpu_ticks())
        await asyncio.sleep(1.0)
        res["rss_end"] = rss_mb(proc.pid)
        gc.enable()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.close()
        err.close()
        await fs.stop()
    if proc.returncode != 0:
        last = ((tmp / "stderr.txt").read_text(errors="replace").strip().splitlines() or ["no message"])[-1]
        raise SystemExit(f"crash: the runner exited with {proc.returncode}: {last}")
    summary = json.loads((tmp / "summary.json").read_text().strip().splitlines()[-1])
    st = json.loads((tmp / "stamps.json").read_text())
    res.update(summary=summary, stamps=st, crash=crash, load=(load0, load1))
    return res


def measure(res: dict) -> dict:
    """The bars' figures from one replay's record."""
    crash, st, summary = res["crash"], res["stamps"], res["summary"]
    dec = {(s, cid): (stamp, wall, action, reason) for s, cid, stamp, wall, action, reason in st["decisions"]}
    conf = st["confirmed"]
    undecided = [c for c in conf if (c[0], c[1]) not in dec]
    late, react = [], {}
    phases = {name: (a, b) for name, a, b in crash.phases}
    for s, cid, confirm_ns in conf:
        d = dec.get((s, cid))
        if d is None:
            continue
        t_ms = confirm_ns // 1_000_000
        if d[1] - confirm_ns > 1_000_000_000:
            late.append((s, cid, (d[1] - confirm_ns) / 1e9))
        w = crash.stamps.get((s, t_ms))
        if w is None:
            continue
        us = (d[0] - w) / 1000
        for name, (a, b) in phases.items():
            if a <= w <= b:
                react.setdefault(name, []).append(us)
    dc = summary.get("decoder") or {}
    data_frames = int(dc.get("frames", 0)) - int(dc.get("control", 0))
    return {"confirmed": len(conf), "undecided": undecided, "late": late, "reaction": react,
            "frames_written": crash.written, "frames_decoded": data_frames,
            "liquidations_written": crash.liquidations, "liquidations_seen": st["engine"].get("liquidations", 0),
            "gaps": summary.get("gaps"), "rejects": st["engine"].get("rejects", {}),
            "decoder_rejected": int(dc.get("rejected_frames", 0))}


def report(args, res: dict, m: dict) -> bool:
    (l0, (s0, t0)), (l1, (s1, t1)) = res["load"]
    steal = f", hypervisor steal {100 * (s1 - s0) / (t1 - t0):.1f} % of CPU time" if t1 > t0 else ""
    print(f"crash replay: {res['symbols']} symbols, {args.seconds:g} s at {args.rate:g} liquidations/s "
          f"(played in {res['crash_wall_s']:.1f} s), waves {args.wave:g} s / calm {args.calm:g} s, --window {args.window}"
          f"{' ' + args.liqcore_args if args.liqcore_args else ''}; "
          f"load average {l0:.2f} -> {l1:.2f}{steal}")
    lost_frames = m["frames_written"] - m["frames_decoded"]
    lost_liq = m["liquidations_written"] - m["liquidations_seen"]
    ok_lost = lost_frames == 0 and lost_liq == 0 and not m["gaps"] and not m["decoder_rejected"]
    print(f"  frames written {m['frames_written']:,}, decoded {m['frames_decoded']:,} (lost {lost_frames:,}); "
          f"liquidations written {m['liquidations_written']:,}, seen by the engine {m['liquidations_seen']:,} "
          f"(lost {lost_liq:,}); gaps {m['gaps']}, frames rejected {m['decoder_rejected']}, event rejects "
          f"{m['rejects'] or 0}  [bar 0 lost: {'OK' if ok_lost else 'MISSED'}]")
    ok_dec = not m["undecided"] and not m["late"]
    worst = max((x[2] for x in m["late"]), default=0.0)
    print(f"  cascades confirmed {m['confirmed']:,}, undecided {len(m['undecided'])}, decided later than 1 s after "
          f"the confirming liquidation's event time {len(m['late'])}{f' (worst {worst:.2f} s)' if m['late'] else ''}  "
          f"[bar all within 1 s: {'OK' if ok_dec else 'MISSED'}]")
    r = m["reaction"]
    for name in ("quiet before", "crash", "quiet after"):
        xs = r.get(name) or []
        if xs:
            print(f"  reaction (fake writes the confirming frame -> decision emitted in the runner), {name}: "
                  f"p50 {pct(xs, .5):8.1f} us  p90 {pct(xs, .9):8.1f} us  p99 {pct(xs, .99):8.1f} us  "
                  f"({len(xs)} cascades)")
    ok_r = False
    if r.get("quiet before") and r.get("crash"):
        q99, c99 = pct(r["quiet before"], .99), pct(r["crash"], .99)
        ok_r = c99 <= 2 * q99
        print(f"  crash p99 / quiet p99 x{c99 / q99:.2f}  [bar <= 2: {'OK' if ok_r else 'MISSED'}]")
    rss = res["rss_end"]
    ok_rss = rss.get("VmHWM", 1e9) <= 600
    print(f"  runner RSS: peak {rss.get('VmHWM', float('nan')):.0f} MB, after the crash "
          f"{res['rss_after_crash'].get('VmRSS', float('nan')):.0f} MB, at the end {rss.get('VmRSS', float('nan')):.0f} MB "
          f"[bar peak <= 600 MB: {'OK' if ok_rss else 'MISSED'}]; runner CPU during the crash "
          f"{res['crash_cpu_s']:.1f} s = {100 * res['crash_cpu_s'] / res['crash_wall_s']:.0f} % of one core")
    od = res["summary"].get("on_demand")
    if od:  # (--on-demand) the symbols whose trades were subscribed
        print(f"  on demand: {od['ever']} of {od['symbols']} symbols subscribed at some time, at most {od['peak']} at "
              f"once, {od['subscribed']} at the end ({od['subscribes']} subscribe and {od['unsubscribes']} unsubscribe "
              f"steps)")
    return ok_lost and ok_dec and ok_r and ok_rss


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--symbols", type=int, default=300, help="symbols the crash spreads over (default 300)")
    ap.add_argument("--symbols-arg", help="what the runner gets as --symbols (default: the comma list of the "
                    "played symbols; e.g. all once run --symbols all exists)")
    ap.add_argument("--seconds", type=float, default=60.0, help="crash length, s (default 60)")
    ap.add_argument("--rate", type=float, default=2000.0, help="liquidations per second in the crash (default 2000)")
    ap.add_argument("--wave", type=float, default=2.0, help="s of large liquidations per symbol wave (default 2)")
    ap.add_argument("--calm", type=float, default=6.0, help="s of small ones between a symbol's waves (default 6)")
    ap.add_argument("--window", default="5s", help="the runner's cascade window (default 5s: shorter than --calm)")
    ap.add_argument("--warm", type=int, default=30, help="small liquidations per symbol before (default 30)")
    ap.add_argument("--min-history", type=int, default=20, help="the runner's --min-history (default 20)")
    ap.add_argument("--probes", type=int, default=100, help="quiet-feed cascades before and after (default 100)")
    ap.add_argument("--idle", type=float, default=25.0, help="ms of silence around a quiet cascade's confirm (x1..x2)")
    ap.add_argument("--settle", type=float, default=7.0, help="s of silence after the crash (default 7)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--liqcore-args", default="", metavar="'FLAGS'",
                    help="extra flags for liqcore run, one quoted string (e.g. --liqcore-args='--on-demand 5')")
    args = ap.parse_args()
    import uvloop

    with tempfile.TemporaryDirectory(prefix="liqcore-crash-", dir=os.environ.get("LIQCORE_BENCH_TMP")) as d:
        try:
            res = uvloop.run(play(args, Path(d)))
        except KeyboardInterrupt:  # (the runner, in this process group, got the Ctrl-C too and stopped)
            print("crash: interrupted", file=sys.stderr)
            return 130
        ok = report(args, res, measure(res))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""A venue plugin on the live path: what `liqcore record` does with a plugin's `watch` part and what it lacks.

The venue is tests/_rekt_venue.py's "rekt", written to ``tmp_path`` as a plugin package (its ``SPEC`` named by an
entry point, loaded without pip: the child process loads the entry point itself, as an installed plugin's is
loaded) with its ``watch`` part varied per test; the shared local fake (``FakeMarketStream("rekt")``, in this
process) serves it on 127.0.0.1.  Every wait is on a condition, with a bound.

* A ``watch.on_frame_handler`` that calls ``cb`` with the wrong arguments: the failure is counted and said once, in
  one line naming the venue and the exception (not a traceback a frame); every frame is recorded all the same and
  the end names the cause, never "all control frames".
* A parser that fails on every data frame: said once, and the end names it (the frames are recorded as they came).
* A liquidation topic the venue declares (``watch.is_liquidation_topic``), never heard: not silent, no gap line;
  a trade stream never heard while another flows: reported in one line, left subscribed as it is (rekt has no
  ``market`` part to re-subscribe it with: no traceback); the end's gap count is the recording's gap lines.
"""
from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
import sys
import time
from importlib.metadata import EntryPoint
from pathlib import Path

import orjson
import pytest

from _rekt_venue import WATCH, fill_frame, liq_frame, write_package

ROOT = Path(__file__).resolve().parents[2]
GROUP = "liqcore.venues"
SPEC_INIT = '''"""rekt: a venue shipped as a package of its own (its entry point: rekt = "rekt_venue:SPEC")."""
from liqcore.venues.registry import VenueSpec

SPEC = VenueSpec(name="rekt", code=77, package="rekt_venue")
'''
#: the child: ``liqcore ARGS`` with the plugin's entry point loaded (what an installed plugin's entry point does)
LAUNCH = ("import sys; from importlib.metadata import EntryPoint; from liqcore.venues.registry import load_plugins; "
          f"assert load_plugins([EntryPoint('rekt', 'rekt_venue:SPEC', {GROUP!r})]) == ['rekt']; "
          "from liqcore.cli import main; sys.exit(main(sys.argv[1:]))")
SYM, QUIET = "ROCKET_PERP", "MOON_PERP"

#: rekt's watch part (tests/_rekt_venue.py) with a handler that calls ``cb(a0, payload)``: one argument short
WRONG_CALL = WATCH.replace("cb(a0, payload, recv_ns)", "cb(a0, payload)")
assert WRONG_CALL != WATCH
#: a parser that fails on every data frame (the ack is read)
FAILING_PARSE = '''
from liqcore.venues.common import CONTROL


def parse_obj(obj, sink):
    if obj.get("op") == "subscribed":
        return CONTROL
    return obj["no such field"]
'''
#: rekt's liquidation topics are "rekt.<SYMBOL>": no "liquidation" in the name; the venue says so
DECLARED = '''

def is_liquidation_topic(topic):
    return topic.startswith("rekt.")
'''


@pytest.fixture
def rekt(tmp_path, monkeypatch):
    """The plugin package in ``tmp_path/src`` (its parts rewritten by the test: ``write(name, text)``), its entry
    point loaded into this process (for the fake); forgotten after."""
    from liqcore.venues.registry import PLUGIN_ERRORS, load_plugins, unregister

    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # (a part rewritten is read again from its source)
    src = tmp_path / "src"
    pkg = write_package(src, init=SPEC_INIT)
    monkeypatch.syspath_prepend(str(src))
    importlib.invalidate_caches()
    assert load_plugins([EntryPoint("rekt", "rekt_venue:SPEC", GROUP)]) == ["rekt"]

    def write(part: str, text: str, append: bool = False) -> None:
        path = pkg / f"{part}.py"
        path.write_text((path.read_text() if append else "") + text)
        sys.modules.pop(f"rekt_venue.{part}", None)

    try:
        yield src, write
    finally:
        unregister("rekt")
        PLUGIN_ERRORS.pop("rekt", None)
        for m in [m for m in sys.modules if m == "rekt_venue" or m.startswith("rekt_venue.")]:
            del sys.modules[m]


def _lines(out: Path) -> list[dict]:
    from liqcore.live.recorder import read_lines

    return [orjson.loads(x) for f in sorted(out.glob("*.jsonl.zst")) for x in read_lines(f)]


async def _until(cond, what: str, proc, bound_s: float = 60.0) -> None:
    deadline = time.monotonic() + bound_s
    while not cond():
        assert proc.returncode is None, f"{what}: record exited with {proc.returncode}"
        assert time.monotonic() < deadline, f"{what}: not within {bound_s:g} s"
        await asyncio.sleep(0.02)


async def _record(src: Path, out: Path, symbols: list[str], drive, *extra: str,
                  command: tuple = ()) -> tuple[int, str, str]:
    """``liqcore record --venue rekt`` in a child against the fake (``command``: another command's arguments,
    before the venue's); ``drive(fs, proc, err)`` (err: the stderr lines so far) pushes frames and returns once the
    test has what it waits for; then SIGTERM (the recorder's own stop, as at the end of --duration) -> (exit
    status, stdout, stderr)."""
    from liqcore.venues.fake_streams import FakeMarketStream

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(src), os.environ.get("PYTHONPATH")])))
    cmd = command or ("record", "--out", str(out), "--flush", "0.05")
    async with FakeMarketStream("rekt") as fs:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", LAUNCH, *cmd, "--venue", "rekt", "--symbols", ",".join(symbols),
            "--ws-url", fs.ws_url, "--duration", "300", *extra, cwd=out.parent, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        err: list[str] = []

        async def read_err():
            async for ln in proc.stderr:
                err.append(ln.decode())

        reader = asyncio.ensure_future(read_err())
        try:
            await _until(lambda: all(fs.subscribed(f"fills.{s}") for s in symbols), "subscribed", proc)
            await drive(fs, proc, err)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            stdout = await asyncio.wait_for(proc.stdout.read(), 120)
            await asyncio.wait_for(proc.wait(), 120)
            await asyncio.wait_for(reader, 30)
    return proc.returncode, stdout.decode(), "".join(err)


def _push_history(fs, n: int = 5) -> list[bytes]:
    t = int(time.time() * 1000)
    frames = []
    for i in range(n):
        frames.append(liq_frame(SYM, t + i, 2.0 + i, 3.0, "L"))
        fs.liquidation(frames[-1], SYM)
        frames.append(fill_frame(SYM, t + i, 1.0, 3.0, "b"))
        fs.trade(frames[-1], SYM)
    return frames


def _record_broken(rekt, tmp_path, part: str, source: str):
    """``record`` of the rekt venue with its ``part`` replaced by ``source``, the history pushed and every frame
    recorded -> ``(exit code, stdout, stderr, the frames pushed, the recording's folder)``."""
    src, write = rekt
    write(part, source)
    out = tmp_path / "rec"
    pushed: list[bytes] = []

    async def drive(fs, proc, err):
        pushed.extend(_push_history(fs))
        await _until(lambda: out.exists() and len([x for x in _lines(out) if "frame" in x]) >= len(pushed) + 1,
                     "every frame recorded", proc)

    code, stdout, stderr = asyncio.run(_record(src, out, [SYM], drive))
    return code, stdout, stderr, pushed, out


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_a_frame_handler_that_calls_cb_wrongly_is_said_once_and_every_frame_is_still_recorded(rekt, tmp_path):
    code, stdout, stderr, pushed, out = _record_broken(rekt, tmp_path, "watch", WRONG_CALL)
    assert code == 0, stderr[-3000:]
    assert "Traceback" not in stderr and "all control frames" not in stderr, stderr[-3000:]
    # said once during the run, in one line naming the venue and the exception
    said = [ln for ln in stderr.splitlines() if "failed on a frame" in ln]
    assert len(said) == 1 and "venue rekt's frame handler" in said[0], stderr[-3000:]
    assert "TypeError: cb() missing 1 required positional argument: 'recv_ns'" in said[0], said
    # every frame recorded (the ack and the pushes), counted, and the end names the cause
    frames = [x["frame"] for x in _lines(out) if "frame" in x]
    assert [orjson.dumps(f) for f in frames[1:]] == pushed and frames[0]["op"] == "subscribed"
    assert stdout.startswith(f"recorded {len(frames)} frames, "), stdout
    end = stderr.strip().splitlines()[-1]
    assert end.startswith(f"liqcore record: warning: {len(frames)} frames failed in venue rekt's frame handler"), end
    assert "TypeError: cb() missing 1 required positional argument: 'recv_ns'" in end, end


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_a_paper_run_counts_the_frames_its_venue_s_handler_failed_on_in_its_summary(rekt, tmp_path):
    src, write = rekt
    write("watch", WRONG_CALL)
    out = tmp_path / "run"
    out.mkdir()
    pushed: list[bytes] = []

    async def drive(fs, proc, err):
        pushed.extend(_push_history(fs))
        await _until(lambda: any("failed on a frame" in ln for ln in err), "the failure said", proc)

    code, stdout, stderr = asyncio.run(_record(src, out, [SYM], drive, command=("run", "--json")))
    assert "Traceback" not in stderr, stderr[-3000:]
    summary = orjson.loads(stdout.strip().splitlines()[-1])
    assert summary["frame_handler_errors"] >= 1 and summary["frames"] >= summary["frame_handler_errors"], summary
    assert summary["frame_handler_failure"].startswith(f"{summary['frame_handler_errors']} frame"), summary
    assert "TypeError: cb() missing 1 required positional argument: 'recv_ns'" in summary["frame_handler_failure"]
    from liqcore.commands.run import summary_line

    assert f"frame_handler_errors={summary['frame_handler_errors']}" in summary_line(summary)


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_a_parser_that_fails_on_every_data_frame_is_said_once_and_named_at_the_end(rekt, tmp_path):
    code, stdout, stderr, pushed, out = _record_broken(rekt, tmp_path, "parse", FAILING_PARSE)
    assert code == 1, stderr[-3000:]
    assert "Traceback" not in stderr and "all control frames" not in stderr, stderr[-3000:]
    said = [ln for ln in stderr.splitlines() if "failed on a frame" in ln]
    assert len(said) == 1 and "venue rekt's parser" in said[0] and "KeyError: 'no such field'" in said[0], said
    assert len([x for x in _lines(out) if "frame" in x]) == len(pushed) + 1  # recorded as they came
    end = stderr.strip().splitlines()[-1]
    assert end.startswith("liqcore record: error: no market data read in "), end
    assert f"{len(pushed)} frames failed in venue rekt's parser" in end and "KeyError: 'no such field'" in end, end


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_a_quiet_declared_liquidation_stream_is_no_gap_and_a_silent_stream_of_a_venue_without_market_is_one_line(
        rekt, tmp_path):
    """Trades of ROCKET_PERP flow; MOON_PERP's trades and every liquidation stay quiet.  Both liquidation streams
    were subscribed with MOON_PERP's trades: the check that finds those silent (never heard while the venue flows)
    would have found them too, so once MOON_PERP's trades are reported, they were not."""
    src, write = rekt
    write("watch", DECLARED, append=True)
    out = tmp_path / "rec"

    async def drive(fs, proc, err):
        async def flow():
            k = 0
            while proc.returncode is None:
                k += 1
                fs.trade(fill_frame(SYM, int(time.time() * 1000), 1.0, 3.0 + k * 1e-4, "b"), SYM)
                await asyncio.sleep(0.02)

        flowing = asyncio.ensure_future(flow())
        try:
            await _until(lambda: any(f"fills.{QUIET} is silent" in ln for ln in err), "the quiet trades reported", proc)
        finally:
            flowing.cancel()

    code, stdout, stderr = asyncio.run(_record(src, out, [SYM, QUIET], drive, "--silent-after", "2s"))
    assert code == 0, stderr[-3000:]
    assert "Traceback" not in stderr and "NotImplementedError" not in stderr, stderr[-3000:]
    silent = [ln for ln in stderr.splitlines() if " is silent" in ln]
    assert not [ln for ln in silent if "stream rekt rekt." in ln], silent  # the liquidation streams: never silent
    (line,) = [ln for ln in silent if f"fills.{QUIET}" in ln]
    assert line.endswith("never heard since it was subscribed, while other streams flow; left subscribed as it is "
                         "(venue rekt has no 'market' part to re-subscribe one stream with)"), line
    lines = _lines(out)
    gaps = [x["gap"] for x in lines if "gap" in x]
    assert not [g for g in gaps if str(g.get("stream", "")).startswith("rekt.")], gaps
    assert {"reason": "silent", "stream": f"fills.{QUIET}"}.items() <= next(
        g for g in gaps if g.get("stream") == f"fills.{QUIET}").items()
    # the end's counts are the file's lines: its frame lines, its gap lines (the silence, the recorder's own stop)
    n_frames, n_silent = len([x for x in lines if "frame" in x]), len([g for g in gaps if g["reason"] == "silent"])
    assert [g["reason"] for g in gaps][-1] == "stopped"
    assert stdout.startswith(f"recorded {n_frames} frames, {len(gaps)} gaps ({n_silent} silent, 1 stopped: the "
                             "recorder's own stop) into "), stdout


def test_a_venue_declares_its_liquidation_topics_and_the_built_in_ones_do(rekt):
    """``watch.is_liquidation_topic`` decides; a venue without it is judged by the topic's name.  Gate's
    ``futures.public_liquidates`` has neither "liquidation" nor "forceorder" in its name."""
    from liqcore.live.silence import is_liquidation_stream

    assert not is_liquidation_stream("rekt", f"rekt.{SYM}")  # (rekt's part as written: the name test)
    _src, write = rekt
    write("watch", DECLARED, append=True)
    assert is_liquidation_stream("rekt", f"rekt.{SYM}") and not is_liquidation_stream("rekt", f"fills.{SYM}")
    assert is_liquidation_stream("gate", '{"channel":"futures.public_liquidates","payload":["!all"]}')
    assert not is_liquidation_stream("gate", '{"channel":"futures.trades","payload":["ETH_USDT"]}')
    assert is_liquidation_stream("okx", '{"channel":"liquidation-orders","instType":"SWAP"}')
    assert is_liquidation_stream("bybit", "allLiquidation.ETHUSDT")
    assert is_liquidation_stream("binance", "!forceOrder@arr")
    assert not is_liquidation_stream("binance", "ethusdt@aggTrade")


def test_a_watch_part_of_frame_key_alone_is_enough_and_a_handler_that_drops_a_frame_is_counted(rekt):
    """``frame_key`` is the one function a watch part must have (the rest has the one-topic-one-key defaults); a
    handler of its own that returns without passing the frame on is a failure like one that raises, said once,
    and the frame reaches the consumer all the same."""
    from liqcore.live.silence import StreamWatch, watch_handler

    _src, write = rekt
    write("watch", "def frame_key(payload):\n    return b'fills.ROCKET_PERP' if b'fills' in payload else None\n")
    w = StreamWatch("rekt", 10.0)
    w.track(0, [f"rekt.{SYM}", f"fills.{SYM}"])
    got = []
    on = watch_handler("rekt", w.last, lambda v, p, t: got.append((v, t)), "rekt")
    on(fill_frame(SYM, 1, 1.0, 3.0), 5)
    assert got == [("rekt", 5)] and w.last == {b"fills.ROCKET_PERP": 5} and w.heard_topics() == {f"fills.{SYM}"}

    from liqcore.live.silence import HandlerFailures

    write("watch", "def on_frame_handler(last, cb, a0):\n    return lambda payload, recv_ns: None\n", append=True)
    fails = HandlerFailures("rekt")
    got.clear()
    said: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = said.append
    logger = logging.getLogger("liqcore.feeds.silent")
    logger.addHandler(handler)
    try:
        on = watch_handler("rekt", {}, lambda v, p, t: got.append(t), "rekt", failures=fails)
        for t in (1, 2, 3):
            on(fill_frame(SYM, t, 1.0, 3.0), t)
    finally:
        logger.removeHandler(handler)
    assert got == [1, 2, 3] and fails.count == 3
    assert len(said) == 1 and "venue rekt's frame handler" in said[0].getMessage()
    assert fails.text().startswith("3 frames failed in venue rekt's frame handler (its watch part's on_frame_handler): "
                                   "RuntimeError: it returned without passing the frame on")


def _page_blocks() -> list[str]:
    """The Python blocks of docs/how-to/write-a-venue-plugin.md (an indented one dedented)."""
    import re
    import textwrap

    page = (ROOT / "docs" / "how-to" / "write-a-venue-plugin.md").read_text(encoding="utf-8")
    return [textwrap.dedent(b) for b in re.findall(r"^ *```python\n(.*?)^ *```", page, re.M | re.S)]


def test_the_how_to_s_watch_part_is_a_working_watch_part(rekt):
    """The page's ``watch.py`` (and its ``on_frame_handler``, added to it) as rekt's watch part: each frame heard by
    its topic, the liquidation topics declared, every frame handed on once with its receive time."""
    from liqcore.live.silence import StreamWatch, is_liquidation_stream, watch_handler

    blocks = _page_blocks()
    (watch,) = [b for b in blocks if "def frame_key(" in b]
    (handler,) = [b for b in blocks if "def on_frame_handler(" in b]
    _src, write = rekt
    write("watch", watch + "\n\n" + handler)
    assert is_liquidation_stream("rekt", f"rekt.{SYM}") and not is_liquidation_stream("rekt", f"fills.{SYM}")
    w = StreamWatch("rekt", 10.0)
    w.track(0, [f"rekt.{SYM}", f"fills.{SYM}", f"fills.{QUIET}"])
    got = []
    on = watch_handler("rekt", w.last, lambda v, p, t: got.append((v, t)), "rekt", failures=w.handler_failures)
    on(b'{"op":"subscribed","args":["rekt.ROCKET_PERP"]}', 1)
    on(liq_frame(SYM, 1, 1.0, 3.0), 2)
    on(fill_frame(SYM, 1, 1.0, 3.0), 3)
    assert got == [("rekt", 1), ("rekt", 2), ("rekt", 3)] and w.handler_failures.count == 0
    assert w.heard_topics() == {f"rekt.{SYM}", f"fills.{SYM}"}
    assert w.last == {b"rekt.ROCKET_PERP": 2, b"fills.ROCKET_PERP": 3}


def test_the_recorder_counts_the_lines_it_wrote_by_kind(tmp_path):
    """``frames``, ``gaps`` (by reason) and ``rests`` are the lines in the file: what `record`'s last line says."""
    from liqcore.live.recorder import Recorder

    t = 1_767_225_600_000_000_000
    with Recorder(tmp_path) as rec:
        for i in range(3):
            rec.write_frame("rekt", fill_frame(SYM, 1, 1.0, 3.0), t + i)
        rec.write_gap("rekt", "silent", t + 5, stream=f"fills.{SYM}", since_ns=t)
        rec.write_gap("rekt", "stale", t + 6)
        rec.write_rest("rekt", SYM, "/depth", b'{"bids":[]}', t + 7)
        rec.write_gap("rekt", "stopped", t + 8)
    lines = _lines(tmp_path)
    assert (rec.frames, rec.gaps, rec.rests, rec.lines) == (3, 3, 1, 7) == (
        len([x for x in lines if "frame" in x]), len([x for x in lines if "gap" in x]),
        len([x for x in lines if "rest" in x]), len(lines))
    assert rec.gap_reasons == {"silent": 1, "stale": 1, "stopped": 1}

"""`ping-interval` and `stall-timeout`: one name on the command line (run, record), in TOML and in
Params; validated; and what `liqcore record` writes when a socket stalls (the GAP at the last frame)."""
from __future__ import annotations

import io
import threading
import time
from contextlib import redirect_stderr, redirect_stdout

import orjson
import pytest

from liqcore.cli import build_parser, main
from liqcore.config import Params, params_from_args


def test_params_names_units_and_defaults(tmp_path):
    p = Params()
    assert p.ping_interval_ns == 5_000_000_000 and p.stall_timeout_ns == 10_000_000_000
    q = Params.from_mapping({"ping-interval": "2s", "stall_timeout": "7.5s"})
    assert q.ping_interval_ns == 2_000_000_000 and q.stall_timeout_ns == 7_500_000_000
    assert Params(ping_interval_ns=1_000_000_000, stall_timeout_ns=3_000_000_000).stall_timeout_ns == 3_000_000_000
    cfg = tmp_path / "p.toml"
    cfg.write_text('ping_interval = "1s"\n[params]\nstall_timeout = "4s"\n')
    args = build_parser("run").parse_args(["run", "--config", str(cfg), "--ping-interval", "500ms"])
    r = params_from_args(args)
    assert r.ping_interval_ns == 500_000_000 and r.stall_timeout_ns == 4_000_000_000
    # live socket settings do not appear among the parameters a backtest reports
    assert "stall-timeout" not in Params().describe()


@pytest.mark.parametrize("mapping, field", [
    ({"stall-timeout": "5s"}, "stall-timeout"),  # not longer than the 5 s ping interval
    ({"ping-interval": "20s"}, "stall-timeout"),
    ({"ping-interval": "0"}, "ping-interval"),
    ({"stall-timeout": "-3s"}, "stall-timeout"),
])
def test_params_validation(mapping, field):
    with pytest.raises(ValueError, match=field):
        Params.from_mapping(mapping)


def test_cli_flags_reach_the_feed_connections(tmp_path):
    from liqcore.commands.run import build

    args = build_parser("run").parse_args(["run", "--symbols", "ETHUSDT", "--ping-interval", "1s",
                                           "--stall-timeout", "3s", "--no-dashboard"])
    engine, runner, fake = build(args)
    assert fake is None
    conns = runner.feed.connections
    assert conns and all(c.ping_interval_s == 1.0 and c.stall_timeout_s == 3.0 for c in conns)
    # with --live the private stream follows the same two settings
    from liqcore.live.recorder import Recorder
    from liqcore.testing.fake_replay import trade_frame

    rec_dir = tmp_path / "rec"
    with Recorder(rec_dir) as rec:
        rec.write_frame("bybit", orjson.dumps(trade_frame("ETHUSDT", 3000.0, 1.0, "Buy", ts_ms=1_700_000_000_000)),
                        1_700_000_000_050_000_000)
    args = build_parser("run").parse_args(["run", "--symbols", "ETHUSDT", "--live", "--replay", str(rec_dir),
                                           "--ping-interval", "1s", "--stall-timeout", "3s", "--no-dashboard"])
    engine, runner, fake = build(args)
    try:
        assert engine.gateway.stream.ping_interval == 1.0 and engine.gateway.stream.stale_after == 3.0
        assert all(c.stall_timeout_s == 3.0 for c in runner.feed.connections)
    finally:
        fake.stop()
    for cmd in ("run", "record"):
        out = io.StringIO()
        with redirect_stdout(out), pytest.raises(SystemExit):
            main([cmd, "--help"])
        assert "--ping-interval" in out.getvalue() and "--stall-timeout" in out.getvalue()


def test_bad_values_are_usage_errors(tmp_path):
    err = io.StringIO()
    with redirect_stderr(err), redirect_stdout(io.StringIO()):
        code = main(["record", "--symbols", "ETHUSDT", "--out", str(tmp_path / "r"), "--ping-interval", "10s",
                     "--stall-timeout", "10s", "--duration", "1"])
    assert code == 2 and "stall-timeout" in err.getvalue() and len(err.getvalue().strip().splitlines()) == 1


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_record_marks_a_stall_from_the_last_frame_received(tmp_path):
    """`liqcore record` against the fake exchange: trades, then the fake stops sending (TCP left open);
    the recording gets one gap line dated at the last frame before the stall, and frames again after
    the socket is replaced."""
    from liqcore.live.recorder import read_lines
    from liqcore.testing import FakeExchangeThread

    ft = FakeExchangeThread()
    fx = ft.start()
    marks = {}

    async def _stall():
        fx.stall("public")

    def venue():
        deadline = time.monotonic() + 30
        while not fx.subscribed("publicTrade.ETHUSDT") and time.monotonic() < deadline:
            time.sleep(0.02)
        price = 3000.0
        for _ in range(4):
            price += 0.5
            ft.call(fx.trade("ETHUSDT", price))
            time.sleep(0.05)
        time.sleep(0.1)
        ft.call(_stall())
        marks["stalled_ns"] = time.time_ns()
        while time.time_ns() - marks["stalled_ns"] < 2.2e9:  # the venue keeps printing
            price += 0.5
            ft.call(fx.trade("ETHUSDT", price))
            time.sleep(0.05)

    t = threading.Thread(target=venue, daemon=True)
    try:
        t.start()
        out = io.StringIO()
        with redirect_stdout(out), redirect_stderr(io.StringIO()):
            code = main(["record", "--venue", "bybit", "--symbols", "ETHUSDT", "--out", str(tmp_path),
                         "--ws-url", fx.public_ws_url, "--duration", "3", "--flush", "0.1", "--quiet",
                         "--ping-interval", "0.2s", "--stall-timeout", "0.8s"])
        t.join(5)
    finally:
        ft.stop()
    assert code == 0, out.getvalue()
    lines = [orjson.loads(x) for f in sorted(tmp_path.iterdir()) for x in read_lines(f)]
    lines.sort(key=lambda x: x["recv_ns"])
    gaps = [i for i, x in enumerate(lines) if "gap" in x and x["gap"]["reason"] != "stopped"]  # not the exit's
    assert len(gaps) == 1 and lines[gaps[0]]["gap"]["reason"] == "stale"
    g = lines[gaps[0]]["recv_ns"]
    before = [x for x in lines[:gaps[0]] if "frame" in x]
    after = [x for x in lines[gaps[0] + 1:] if "frame" in x]
    trades_before = [x for x in before if str(x["frame"].get("topic", "")).startswith("publicTrade")]
    assert len(trades_before) == 4
    # the gap starts at the last frame received (a pong may follow the last trade), not ~0.8 s later
    assert 0 <= g - trades_before[-1]["recv_ns"] <= 0.3e9
    assert g <= marks["stalled_ns"] + 0.05e9
    assert after and after[0]["recv_ns"] - g >= 0.75e9
    assert any(str(x["frame"].get("topic", "")).startswith("publicTrade") for x in after)


def test_the_parameters_described_never_read_none():
    """The report's parameter table: an optional input not given (a latency journal, a calendar) reads "not set",
    never Python's ``None``."""
    from liqcore.config import Params

    d = Params().describe()
    assert not [k for k, v in d.items() if v in ("None", "")], d
    assert d["order-latency-from"] == "not set" and d["news-calendar"] == "not set"

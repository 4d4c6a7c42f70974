"""`liqcore run --on-demand` on a `--replay`: data on demand runs on replay time (the engine's clock), so a replay as
fast as possible (``--speed 0``) and a paced one decide the same cascades the same way.  Every stream of the
recording comes on the one feed, in its order; the on-demand manager lets a symbol's trades through only while
it is subscribed at that replay time (a live signal, a resting order or a position, ``linger`` after), steps every
0.25 s of replay time and unsubscribes the symbols no longer needed.  The venue: a whole-market Binance recording
through the fake Binance stream and a local instrument list, both on 127.0.0.1."""
from __future__ import annotations

import orjson
import pytest

from tests.market._venues import Server, _binance_app, _okx_app, write_all_market_recording

NAMES = [f"C{k:03d}USDT" for k in range(20)]  # (listed by the local venue)
WITH_TRADES = NAMES[:6]  # their trades are recorded: the others' cascades find no reference price


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("ondemand") / "binance-all.jsonl"
    write_all_market_recording(path, NAMES, seed=5, trades=WITH_TRADES)
    return path


def _run(recording, capsys, speed: str, venue: str = "binance") -> dict:
    from liqcore.cli import main

    with Server(_binance_app() if venue == "binance" else _okx_app()) as srv:
        code = main(["run", "--venue", venue, "--symbols", "all", "--replay", str(recording), "--rest-url", srv.url,
                     "--no-dashboard", "--duration", "300", "--json", "--notional", "1000", "--on-demand", "5",
                     "--speed", speed])
    out = capsys.readouterr()
    assert code == 0, out.err[-2000:]
    return orjson.loads(out.out.strip().splitlines()[-1])


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_a_fast_replay_with_on_demand_decides_as_a_slow_one(recording, capsys):
    fast = _run(recording, capsys, "0")
    slow = _run(recording, capsys, "2000")  # (the recording's 4 h in about 7 s)

    def decisions(s):
        return sorted((d["symbol"], d["ts_ns"], d.get("action"), d.get("reason"), d.get("price")) for d in s["decisions"])

    assert fast["cascades"] == slow["cascades"] >= 40 and len(fast["decisions"]) == fast["cascades"] < 50  # (all kept)
    assert decisions(fast) == decisions(slow) and fast["decided"] == slow["decided"]
    assert fast["orders"] == slow["orders"] > 0 and fast["trades"] == slow["trades"]
    # the symbols with trades were subscribed in time: their cascades found a price (orders placed on them), the
    # others' did not (no trade recorded); and what was no longer needed was unsubscribed
    ordered = {d["symbol"] for d in fast["decisions"] if d.get("action") == "order"}
    assert ordered and ordered <= set(WITH_TRADES)
    assert {d["symbol"] for d in fast["decisions"] if d.get("reason") == "no_reference_price"} >= set(NAMES) - set(WITH_TRADES)
    od = fast["on_demand"]
    assert od == slow["on_demand"] and od["clock"] == "replay"
    assert od["subscribes"] > 0 and od["unsubscribes"] > 0 and od["gated"] > 0 and od["peak"] < len(NAMES)


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_an_okx_replay_with_on_demand_gates_by_instid_and_decides_as_binance(recording, tmp_path, capsys):
    """The same market recorded as OKX frames (``liquidation-orders``; ``trades`` pushes naming their instId in
    ``arg``): the gate reads the instId, so a symbol's trades pass only while it is subscribed, as on Binance;
    every cascade is decided the same way, with the same subscriptions and the same frames gated."""
    okx = tmp_path / "okx-all.jsonl"
    write_all_market_recording(okx, NAMES, seed=5, trades=WITH_TRADES, venue="okx")
    b = _run(recording, capsys, "0")
    o = _run(okx, capsys, "0", venue="okx")

    def decisions(s):
        return sorted((d["symbol"].replace("-SWAP", "").replace("-", ""), d["ts_ns"], d.get("action"), d.get("reason"),
                       d.get("side"), d.get("price")) for d in s["decisions"])

    assert o["cascades"] == b["cascades"] >= 40 and decisions(o) == decisions(b)
    assert o["orders"] == b["orders"] > 0 and o["decided"] == b["decided"]
    od = o["on_demand"]
    assert od == b["on_demand"] and od["gated"] > 0 and od["unsubscribes"] > 0
    assert {d["symbol"] for d in o["decisions"] if d.get("action") == "order"} <= {f"{s[:-4]}-USDT-SWAP" for s in WITH_TRADES}

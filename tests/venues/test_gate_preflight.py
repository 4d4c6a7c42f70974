"""``liqcore preflight --venue gate`` against the fake Gate on 127.0.0.1: the clock from ``/api/v4/spot/time``, the
public streams, the smallest order in contracts of ``quanto_multiplier``, and the signed account reads (the futures
account, each contract's leverage and fee rates); a wrong secret fails the key's rows with Gate's label, never
printing the key."""
from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from liqcore.venues.gate.fake import GATE_API_KEY, GATE_API_SECRET, FakeGate

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[2]


async def _preflight(*args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_API_SECRET")) and k != "LIQCORE_KEY_FILE"}
    env["PYTHONPATH"] = str(ROOT)
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "liqcore", "preflight", *args, cwd=ROOT, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode, out.decode(), err.decode()


def _gate(tmp_path, secret=GATE_API_SECRET, **fake):
    async def main():
        async with FakeGate(**fake) as fg:
            await fg.trade("ETH_USDT", 3000.0)

            async def flow():
                from liqcore.venues.gate.samples import bbo_frame

                while True:
                    await fg.publish(bbo_frame("ETH_USDT", fg.now_ms(), 2999.99, 5, 3000.0, 5))
                    await fg.trade("ETH_USDT", 3000.0, 1)
                    await fg.liquidation("ETH_USDT", 3000.0, 2)
                    await asyncio.sleep(0.05)

            task = asyncio.ensure_future(flow())
            kf = tmp_path / "gate.keys"
            kf.write_text(f"GATE_API_KEY={GATE_API_KEY}\nGATE_API_SECRET={secret}\n")
            kf.chmod(0o600)
            try:
                return await _preflight("--venue", "gate", "--symbols", "ETH_USDT", "--ws-url", fg.ws_url,
                                        "--rest-url", fg.rest_url, "--key-file", str(kf), "--timeout", "5s",
                                        "--notional", "50", "--json")
            finally:
                task.cancel()

    return asyncio.run(main())


def _rows(out: str) -> dict:
    return {(r["check"], r["target"]): r for r in json.loads(out.strip().splitlines()[-1])["rows"]}


def test_gate_healthy_account_passes_every_check(tmp_path):
    rc, out, err = _gate(tmp_path, maker_fee=0.0001, taker_fee=0.0005)
    assert rc == 0, (out, err)
    rows = _rows(out)
    want = {("permissions", "trading"), ("position mode", "gate"), ("margin", "gate"), ("leverage", "ETH_USDT"),
            ("fees", "ETH_USDT maker"), ("fees", "ETH_USDT taker"), ("min order", "ETH_USDT"), ("clock", "gate")}
    assert want <= set(rows), sorted(rows)
    assert all(r["status"] == "PASS" for r in rows.values()), [r for r in rows.values() if r["status"] != "PASS"]
    assert "10x isolated" in rows[("leverage", "ETH_USDT")]["detail"]
    assert "maker 1.00 bps" in rows[("fees", "ETH_USDT maker")]["detail"]
    # 1 contract (order_size_min) of 0.01 ETH at the last 3000 USDT: 30.00 USDT
    assert "smallest order 30.00 USDT" in rows[("min order", "ETH_USDT")]["detail"]
    assert "10000.00 USDT available" in rows[("margin", "gate")]["detail"]
    assert GATE_API_KEY not in out + err and GATE_API_SECRET not in out + err


def test_gate_wrong_secret_fails_the_key_rows_with_gates_label(tmp_path):
    rc, out, err = _gate(tmp_path, secret="WRONGSECRETWRONGSECRET")
    assert rc != 0
    rows = _rows(out)
    assert rows[("permissions", "trading")]["status"] == "FAIL"
    assert "INVALID_SIGNATURE" in rows[("permissions", "trading")]["detail"]
    assert "WRONGSECRETWRONGSECRET" not in out + err

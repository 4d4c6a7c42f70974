"""``liqcore run --live --log FILE``: the lines an operator must see while the JSON log goes to a file still reach
stderr (commands/run.py's notices): a venue's IP ban (``liqcore.governor``: venue, host, the time it ends, the
venue's reason) and an open position left without its exits (``liqcore.protection``), each in one line naming the
venue and the reason.  Against the fake Bybit exchange on 127.0.0.1 (Bybit v5 "Rate Limit", HTTP IP limit: HTTP
403 "access too frequent" is an IP ban)."""
from __future__ import annotations

import subprocess
import sys

import orjson
import pytest

from liqcore.testing.fake_exchange import FakeExchangeThread

from liqcore.venues.bybit.fake import FakeExchange

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.mark.skipif(not hasattr(FakeExchange, "ban"), reason="the fake Bybit exchange plays no ban (Bybit branch)")
def test_a_ban_is_said_on_stderr_in_one_line_when_the_log_goes_to_a_file(tmp_path):
    th = FakeExchangeThread()
    fx = th.start()
    try:
        fx.ban(3600)
        kf = tmp_path / "keys.env"
        kf.write_text(f"BYBIT_API_KEY={fx.api_key}\nBYBIT_API_SECRET={fx.api_secret}\n")
        kf.chmod(0o600)
        base = f"ws://127.0.0.1:{fx.port}"
        log = tmp_path / "run.log"
        child = subprocess.run(
            [sys.executable, "-m", "liqcore", "run", "--venue", "bybit", "--symbols", "ETHUSDT", "--live", "--key-file",
             str(kf), "--ws-url", base, "--rest-url", fx.rest_url, "--private-ws-url", base, "--journal",
             str(tmp_path / "j.sqlite"), "--log", str(log), "--no-dashboard", "--duration", "30", "--min-history", "5",
             "--history", "50"], capture_output=True, timeout=100)
    finally:
        th.stop()
    err = child.stderr.decode().strip().splitlines()
    assert child.returncode == 1, err
    ban = [ln for ln in err if ln.startswith("warning: bybit: IP banned by 127.0.0.1:")]
    assert len(ban) == 1 and " until " in ban[0] and "HTTP 403" in ban[0], err
    assert err[-1].startswith("liqcore run: error: ") and "banned" in err[-1], err
    logged = [orjson.loads(x) for x in log.read_text().splitlines() if x.strip()]
    assert any(r.get("logger") == "liqcore.governor" for r in logged)  # (and in the JSON log file)
    assert fx.api_secret not in child.stderr.decode() + log.read_text()

"""``liqcore backtest --judge``: an OpenAI-compatible endpoint (a fake one on 127.0.0.1) with its
answers recorded, the recording replayed to the same result without the endpoint, and the one-line
refusals of a bad judge option.  The API key never reaches the output."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from _fake_openai import FakeOpenAI  # noqa: E402
from _procs import run_timed  # noqa: E402

KEY = "sk-cli-secret-9876543210"
ARGS = ["--strategy", "liq-trend", "--segment", "1m", "--baseline", "5", "--candle-lookback", "3m", "--no-progress"]


def _env(tmp: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIQCORE", "OPENAI"))}
    env.update(PYTHONPATH=str(ROOT), LIQCORE_CACHE_DIR=str(tmp / "cache"), MPLBACKEND="Agg", **extra)
    return env


def _cli(argv, tmp: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "liqcore", *argv], env=_env(tmp, **env), capture_output=True,
                          text=True, timeout=300, cwd=tmp)


def _market_csv(path: Path) -> Path:
    from liqcore.types import Kind, Side
    from tests.strategies.test_strategies import _trend_rows

    names = {int(Side.LONG): "long", int(Side.SHORT): "short", int(Side.BUY): "buy", int(Side.SELL): "sell"}
    kinds = {int(Kind.LIQUIDATION): "liquidation", int(Kind.TRADE): "trade"}
    lines = ["ts_event_ns,venue,symbol,side,price,qty,kind"]
    for t, kind, side, price, qty, _sid in sorted(_trend_rows(), key=lambda r: r[0]):
        lines.append(f"{t},binance,BTCUSDT,{names[side]},{price},{qty},{kinds[kind]}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.integration
def test_backtest_judge_openai_recorded_then_replayed(tmp_path):
    csv = _market_csv(tmp_path / "m.csv")
    rec = tmp_path / "answers.jsonl"
    with FakeOpenAI() as fake:
        live = _cli(["backtest", str(csv), *ARGS, "--judge", "openai", "--judge-url", fake.url, "--judge-model", "valid",
                     "--judge-record", str(rec), "--json"], tmp_path, LIQCORE_JUDGE_API_KEY=KEY)
        assert live.returncode == 0, live.stderr
        assert len(fake.requests) == 1 and fake.requests[0]["headers"]["Authorization"] == "Bearer " + KEY
    assert KEY not in live.stdout + live.stderr and KEY not in rec.read_text()
    a = json.loads(live.stdout)
    assert a["judge"] == {"judge": "openai", "asked": 1, "entered": 1, "declined": 0, "late": 0, "failed": 0,
                          "refused": 0}
    replay = _cli(["backtest", str(csv), *ARGS, "--judge", f"replay:{rec}", "--json"], tmp_path)
    assert replay.returncode == 0, replay.stderr
    b = json.loads(replay.stdout)
    assert b["judge"]["entered"] == 1 and b["summary"] == a["summary"] and b["trades"] == a["trades"]
    text = _cli(["backtest", str(csv), *ARGS, "--judge", f"replay:{rec}"], tmp_path)
    assert text.returncode == 0 and "judge replay: 1 signals asked; 1 entered, 0 declined, 0 late" in text.stdout


@pytest.mark.parametrize("argv, why", [
    (["--judge", "openai"], "judge openai: give --judge-url URL or set LIQCORE_JUDGE_URL"),
    (["--judge", "gpt"], "judge: expected matrix, openai or replay:FILE"),
    (["--judge", "replay:nowhere.jsonl"], "judge replay: nowhere.jsonl is not a file"),
    (["--judge-timeout", "0"], "judge-timeout: must be positive"),
])
def test_bad_judge_options_fail_in_one_line(tmp_path, argv, why):
    csv = _market_csv(tmp_path / "m.csv")
    r = _cli(["backtest", str(csv), *ARGS, *argv], tmp_path)
    assert r.returncode != 0 and why in r.stderr and "Traceback" not in r.stderr


def test_judge_is_refused_for_another_strategy(tmp_path):
    csv = _market_csv(tmp_path / "m.csv")
    r = _cli(["backtest", str(csv), "--strategy", "cascade-fade", "--judge", "matrix", "--no-progress"], tmp_path)
    assert r.returncode != 0 and "--judge: only liq-trend takes a judge" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
@pytest.mark.integration
def test_run_judge_openai_on_a_replay_journals_the_notes(tmp_path):
    """``liqcore run --judge openai`` paper-trades a replayed synthetic market: the endpoint is asked, its
    entries become orders whose journal rows carry the judge's notes, the key appears nowhere."""
    import sqlite3

    journal = tmp_path / "j.sqlite"
    with FakeOpenAI() as fake:
        r = _cli(["run", "--replay", "synthetic", "--replay-days", "0.5", "--strategy", "liq-trend", "--baseline", "24",
                  "--z-entry", "1", "--no-dashboard", "--judge", "openai", "--judge-url", fake.url, "--judge-model",
                  "valid", "--duration", "120", "--journal", str(journal)], tmp_path, LIQCORE_JUDGE_API_KEY=KEY)
        asked = len([q for q in fake.requests if q["path"].endswith("/chat/completions")])
        assert fake.requests[0]["path"] == "/v1/models"  # (the start-up check)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "judge openai (valid at " in r.stdout and "endpoint answers (model list), API key accepted" in r.stdout
    assert asked > 0 and f"judge openai: {asked} signals asked; {asked} entered" in r.stdout
    assert KEY not in r.stdout + r.stderr
    rows = [json.loads(d) for (d,) in sqlite3.connect(journal).execute("SELECT data FROM log WHERE type = 'decision'")]
    orders = [d for d in rows if d["action"] == "order"]
    assert orders and all(d["notes"].startswith("openai: enter (high)") for d in orders)


# ---- a judge safe to start: the start-up check, the key, the answers cache ---------------------------------

RUN = ["run", "--replay", "synthetic", "--replay-days", "0.2", "--strategy", "liq-trend", "--no-dashboard",
       "--duration", "30", "--judge", "openai"]


@pytest.mark.parametrize("key, why", [("sk-wrong-key-0000111122223333", "the API key was refused (HTTP 401)"),
                                      (None, "it needs an API key and none is configured (HTTP 401)")])
def test_run_with_a_refused_key_exits_at_start_naming_the_judge(tmp_path, key, why):
    with FakeOpenAI(key=KEY) as fake:
        # (the seconds it ran less those it waited for a CPU that other processes held: a bound at any load)
        r, watch = run_timed([sys.executable, "-m", "liqcore", *RUN, "--judge-url", fake.url, "--judge-model", "valid"],
                             300, env=_env(tmp_path, **({"LIQCORE_JUDGE_API_KEY": key} if key else {})), cwd=tmp_path)
        assert [q["path"] for q in fake.requests] == ["/v1/models"]  # one cheap call, nothing else
    assert r.returncode != 0 and watch.unloaded < 10, watch
    err = r.stderr.strip().splitlines()
    assert err[-1] == f"liqcore run: error: judge openai (valid at {fake.url}): {why}" and "Traceback" not in r.stderr
    if key:  # the 401's body quotes the key sent: it is never shown
        assert key not in r.stdout + r.stderr


def test_run_with_an_unreachable_judge_or_an_unknown_model_exits_at_start(tmp_path):
    r = _cli([*RUN, "--judge-url", "http://127.0.0.1:9/v1", "--judge-model", "valid"], tmp_path,
             LIQCORE_JUDGE_API_KEY=KEY)
    assert r.returncode != 0 and "judge openai (valid at http://127.0.0.1:9/v1): endpoint unreachable" in r.stderr
    assert KEY not in r.stdout + r.stderr and "Traceback" not in r.stderr
    with FakeOpenAI(key=KEY) as fake:
        r = _cli([*RUN, "--judge-url", fake.url, "--judge-model", "gpt-9"], tmp_path, LIQCORE_JUDGE_API_KEY=KEY)
    assert r.returncode != 0 and "the endpoint does not offer this model" in r.stderr


def test_a_remote_endpoint_needs_a_key_a_local_one_says_it_has_none(tmp_path):
    csv = _market_csv(tmp_path / "m.csv")
    r = _cli(["backtest", str(csv), *ARGS, "--judge", "openai", "--judge-url", "https://api.example.com/v1",
              "--judge-model", "m"], tmp_path)
    assert r.returncode != 0 and "no API key configured" in r.stderr and "Traceback" not in r.stderr
    with FakeOpenAI() as fake:
        r = _cli(["backtest", str(csv), *ARGS, "--judge", "openai", "--judge-url", fake.url, "--judge-model", "valid"],
                 tmp_path)
        assert "Authorization" not in fake.requests[-1]["headers"]
    assert r.returncode == 0 and "no API key configured: no Authorization header is sent" in r.stderr


def test_backtest_judge_cache_in_the_cache_dir_rerun_asks_nothing_and_exports_the_replay(tmp_path):
    csv = _market_csv(tmp_path / "m.csv")
    argv = ["backtest", str(csv), *ARGS, "--judge", "openai", "--judge-model", "slow", "--judge-concurrency", "2",
            "--json"]
    with FakeOpenAI(slow_s=0.2) as fake:
        a = _cli([*argv, "--judge-url", fake.url], tmp_path, LIQCORE_JUDGE_API_KEY=KEY)
        b = _cli([*argv, "--judge-url", fake.url], tmp_path, LIQCORE_JUDGE_API_KEY=KEY)
        n = len(fake.requests)
        c = _cli([*argv, "--judge-url", fake.url, "--judge-cache", "refresh"], tmp_path, LIQCORE_JUDGE_API_KEY=KEY)
        assert len(fake.requests) == n + 1
    assert a.returncode == b.returncode == c.returncode == 0, a.stderr + b.stderr
    assert n == 1 and (tmp_path / "cache" / "judge-answers.sqlite").is_file()  # the session's cache, not the user's
    ja, jb = json.loads(a.stdout), json.loads(b.stdout)
    assert ja["trades"] == jb["trades"] and ja["judge"] == jb["judge"] and ja["judge"]["entered"] == 1
    out = tmp_path / "replay.jsonl"
    e = _cli(["cache", "export-judge", str(out)], tmp_path)
    assert e.returncode == 0 and "1 answer" in e.stdout, e.stderr
    r = _cli(["backtest", str(csv), *ARGS, "--judge", f"replay:{out}", "--json"], tmp_path)
    assert json.loads(r.stdout)["trades"] == ja["trades"]
    assert KEY not in a.stdout + a.stderr + out.read_text()

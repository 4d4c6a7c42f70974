"""liq-trend's judge: the decision matrix as tabulated, the strict answer format, the news file, the
OpenAI-compatible judge against a fake endpoint on 127.0.0.1 (valid, slow, malformed, refusing, ...),
the runner's timeout, and recorded answers replayed by a backtest."""
from __future__ import annotations

import json
import logging
import pathlib
import sys
import time

import numpy as np
import pytest

from liqcore.config import Params
from liqcore.judge import (
    FileNews, JudgeError, JudgeRunner, MatrixJudge, ReplayJudge, candle_stats, make_judge, matrix, parse_answer,
    signal_key,
)
from liqcore.judge.openai import PROMPT, OpenAIJudge
from liqcore.secrets import Secret
from liqcore.strategies.liq_trend import LiqTrend

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from _fake_openai import FakeOpenAI  # noqa: E402
from _procs import Stopwatch  # noqa: E402
from tests.strategies.test_strategies import REG, T0, TREND, M, _trend_rows, market  # noqa: E402

KEY = "sk-test-0123456789abcdef"


def _ctx(direction=-1, strength="strong", aligned=True, **kw):
    c = {"symbol_id": 0, "venue": "binance", "symbol": "BTCUSDT", "ts_ns": T0 + 6 * M, "direction": direction,
         "z": 17.6, "strength": strength, "aligned": aligned, "confidence": 1.0, "long_share": 1.0,
         "trend": "down", "change_pct": -1.0, "volatility_pct": 0.4}
    c.update(kw)
    return c


def _signals(judge, timeout=5.0, **params):
    p = LiqTrend.resolve(Params.from_mapping({**TREND, **params}))
    strat = LiqTrend(judge=judge, judge_timeout=timeout) if judge is not None else LiqTrend()
    try:
        return strat.signals(market(_trend_rows()), p, REG), strat
    finally:
        strat.runner.close()


# ---- the decision matrix ----------------------------------------------------------------------------

@pytest.mark.parametrize("strength, aligned, news, want", [
    ("strong", True, "agrees", ("enter", "high")),
    ("strong", True, "none", ("enter", "medium")),
    ("strong", False, "agrees", ("hold", None)),
    ("medium", True, "agrees", ("enter", "medium")),
    ("medium", False, "agrees", ("don't enter", None)),
    ("medium", True, "none", ("don't enter", None)),
    ("medium", False, "none", ("don't enter", None)),
    ("strong", True, "contradicts", ("don't enter", None)),
    ("strong", False, "none", ("don't enter", None)),
])
def test_the_decision_matrix_as_tabulated(strength, aligned, news, want):
    assert matrix(strength, aligned, news) == want


def test_without_a_judge_the_no_news_row_applies_not_news_agrees():
    sig, strat = _signals(None)
    assert sig[0]["direction"] == -1 and sig[0]["confidence"] == pytest.approx(0.6)  # strong, aligned, no news
    assert "no news" in strat.signal_notes(sig[0])


def test_news_file_stance_point_in_time(tmp_path):
    t = T0 + 6 * M
    f = tmp_path / "news.jsonl"
    f.write_text(json.dumps({"ts": t - 10 * M, "symbol": "BTC", "title": "exchange hack", "stance": -1}) + "\n"
                 + json.dumps({"ts": t + M, "symbol": "BTCUSDT", "title": "ETF approved", "stance": 1}) + "\n"
                 + json.dumps({"ts": t - 2 * 86400 * 10**9, "symbol": "*", "title": "old", "stance": 1}) + "\n")
    sig, strat = _signals(MatrixJudge(news=FileNews(f)))
    # the bearish headline agrees with the short: high confidence; the later bullish one is not yet known
    assert sig[0]["direction"] == -1 and sig[0]["confidence"] == pytest.approx(1.0)
    assert "news agrees" in strat.signal_notes(sig[0])
    f.write_text(json.dumps({"ts": t - M, "symbol": "BTCUSDT", "title": "ETF approved", "stance": 1}) + "\n")
    sig, _ = _signals(MatrixJudge(news=FileNews(f)))
    assert sig[0]["direction"] == 0 and sig[0]["skip_code"] == 103  # news contradicts: don't enter
    f.write_text('{"ts": 1, "title": "no symbol"}\n')
    with pytest.raises(ValueError, match="line 1"):
        FileNews(f)


def test_strict_answer_format():
    ok = {"symbol": "BTCUSDT", "direction": "SHORT", "action": "enter", "confidence": "high", "action_reason": "x"}
    v = parse_answer(json.dumps(ok), -1)
    assert v.action == "enter" and v.confidence == 1.0 and v.notes == {"action_reason": "x"}
    for fenced in ("```json\n" + json.dumps(ok) + "\n```", "```\n" + json.dumps(ok) + "\n```\n"):
        assert parse_answer(fenced, -1).notes == {"action_reason": "x"}  # (one code fence is taken off)
    for bad, why in [("Sure! ```json\n" + json.dumps(ok) + "\n```", "bare JSON"), ("{not json}", "valid JSON"),
                     (json.dumps(dict(ok, leverage=3)), "unknown keys"), (json.dumps(dict(ok, direction="LONG")), "signal's"),
                     (json.dumps(dict(ok, action="buy")), "action"), (json.dumps(dict(ok, confidence=0.9)), "confidence"),
                     (json.dumps(dict(ok, liq_note=3)), "liq_note"), (json.dumps({"direction": "SHORT"}), "lacks")]:
        with pytest.raises(JudgeError, match=why):
            parse_answer(bad, -1)


def test_candle_stats_one_minute_candles():
    ts = np.array([T0 + 10 * 10**9, T0 + 70 * 10**9, T0 + 130 * 10**9], np.int64)
    px = np.array([100.0, 101.0, 99.99])
    c = candle_stats(ts, px, T0 + 180 * 10**9, 3 * M)
    assert c["candles"] == 3 and c["trend"] == "down" and c["change_pct"] == pytest.approx(-0.01)
    assert c["volatility_pct"] == pytest.approx(np.std([0.01, 99.99 / 101 - 1]) * 100)


# ---- the OpenAI-compatible judge against a fake endpoint ---------------------------------------------

def _ask(fake, model, timeout=5.0, news=None, ctx=None):
    runner = JudgeRunner(OpenAIJudge(fake.url, model, Secret(KEY), news=news), timeout)
    try:
        watch = Stopwatch()  # (the call's seconds less those this thread waited for a CPU: any load)
        v, why = runner.call(ctx or _ctx())
        return v, why, runner.counts, watch.stop().unloaded
    finally:
        runner.close()


def test_openai_judge_valid_answer_and_prompt(caplog, tmp_path):
    f = tmp_path / "news.jsonl"
    f.write_text(json.dumps({"ts": T0 + 5 * M, "symbol": "BTCUSDT", "title": "miner capitulation"}) + "\n")
    with FakeOpenAI() as fake, caplog.at_level(logging.DEBUG):
        v, why, counts, _ = _ask(fake, "valid", news=FileNews(f))
        assert why == "" and v.action == "enter" and v.confidence == 1.0 and v.source == "openai"
        assert "strong, aligned" in v.notes["action_reason"] and "candles falling" in v.note_text()
        req = fake.requests[-1]
        assert req["headers"]["Authorization"] == "Bearer " + KEY
        system, user = req["body"]["messages"][0]["content"], json.loads(req["body"]["messages"][1]["content"])
        assert system == PROMPT and "Judgment Steps" in system and "Strong | Yes | No | Enter, medium confidence" in system
        assert user["direction"] == "SHORT" and user["z"] == 17.6 and user["strength"] == "strong"
        assert user["trend"] == "down" and user["volatility_pct"] == 0.4 and user["aligned"] is True
        assert [h["title"] for h in user["news"]] == ["miner capitulation"]
        _ask(fake, "valid")
        assert json.loads(fake.requests[-1]["body"]["messages"][1]["content"])["news_provider"] == "none"
        _ask(fake, "malformed")  # a refused answer is logged ...
    assert KEY not in caplog.text and "refused" in caplog.text  # ... never with the key
    assert KEY not in repr(OpenAIJudge("http://127.0.0.1:1/v1", "m", Secret(KEY)))


def test_openai_judge_asks_for_json_mode_and_takes_a_fenced_answer():
    with FakeOpenAI() as fake:
        v, why, counts, _ = _ask(fake, "fenced")
        assert why == "" and v.action == "enter" and counts["asked"] == 1
        assert fake.requests[-1]["body"]["response_format"] == {"type": "json_object"}
        # an endpoint without JSON mode (HTTP 400 naming response_format): asked again without it
        v, why, _c, _ = _ask(fake, "no-json-mode")
        assert why == "" and v.action == "enter"
        assert "response_format" in fake.requests[-2]["body"] and "response_format" not in fake.requests[-1]["body"]


@pytest.mark.parametrize("model, outcome", [("malformed", "refused"), ("extra", "refused"),
                                            ("wrong-direction", "refused"), ("refusing", "refused"),
                                            ("http500", "failed")])
def test_openai_judge_off_format_answers_mean_dont_enter(model, outcome):
    with FakeOpenAI() as fake:
        v, why, counts, _ = _ask(fake, model)
    assert v is None and why == outcome and counts[outcome] == 1 and counts["asked"] == 1


def test_openai_judge_slow_answer_is_late(caplog):
    with FakeOpenAI(slow_s=2.0) as fake, caplog.at_level(logging.WARNING):
        v, why, counts, took = _ask(fake, "slow", timeout=0.3)
    assert v is None and why == "late" and counts["late"] == 1
    assert took < 1.5  # the timeout, not the endpoint's 2 s
    assert "no answer within 0.3 s" in caplog.text


def test_unreachable_endpoint_fails():
    runner = JudgeRunner(OpenAIJudge("http://127.0.0.1:9/v1", "valid", None), 5.0)
    try:
        assert runner.call(_ctx()) == (None, "failed")
    finally:
        runner.close()


# ---- backtests: the judge's answers, recorded and replayed --------------------------------------------

def test_backtest_with_the_openai_judge_records_answers_that_a_replay_reproduces(tmp_path):
    rec = tmp_path / "answers.jsonl"
    with FakeOpenAI() as fake:
        judge = make_judge("openai", url=fake.url, model="valid", record=str(rec), env={"LIQCORE_JUDGE_API_KEY": KEY})
        live, strat = _signals(judge)
        n_req = len(fake.requests)
    assert n_req == 1 and live[0]["direction"] == -1 and live[0]["confidence"] == pytest.approx(1.0)
    assert strat.runner.counts["entered"] == 1 and "openai: enter (high)" in strat.signal_notes(live[0])
    assert strat.inputs(live[0])["judge"] == strat.signal_notes(live[0])  # (a backtest's trade rows)
    rows = [json.loads(x) for x in rec.read_text().splitlines()]
    assert rows[0]["key"] == f"binance:BTCUSDT:{T0 + 6 * M}:SHORT" and rows[0]["answer"]["confidence"] == "high"
    assert KEY not in rec.read_text()
    # the server is gone: the replay gives the same signals, twice
    a, _ = _signals(make_judge(f"replay:{rec}"))
    b, _ = _signals(ReplayJudge(rec))
    assert a.tobytes() == b.tobytes() == live.tobytes()
    # a signal with no recorded answer is not entered
    rec.write_text(json.dumps({"key": "binance:BTCUSDT:1:SHORT", "answer": rows[0]["answer"]}) + "\n")
    c, _ = _signals(ReplayJudge(rec))
    assert c[0]["direction"] == 0 and c[0]["skip_code"] == 103


def test_backtest_with_a_slow_judge_does_not_enter(tmp_path):
    with FakeOpenAI(slow_s=2.0) as fake:
        sig, strat = _signals(OpenAIJudge(fake.url, "slow", None), timeout=0.3)
    assert sig[0]["direction"] == 0 and sig[0]["skip_code"] == 106 and strat.runner.counts["late"] == 1
    assert "no answer (late)" in strat.signal_notes(sig[0])


def test_make_judge_refuses_bad_specs(tmp_path):
    with pytest.raises(ValueError, match="LIQCORE_JUDGE_URL"):
        make_judge("openai", env={})
    with pytest.raises(ValueError, match="expected matrix, openai or replay"):
        make_judge("gpt")
    with pytest.raises(ValueError, match="not a file"):
        make_judge(f"replay:{tmp_path / 'none.jsonl'}")
    assert signal_key(_ctx()) == f"binance:BTCUSDT:{T0 + 6 * M}:SHORT"


def test_key_file_must_be_private(tmp_path):
    f = tmp_path / "judge.key"
    f.write_text(f"LIQCORE_JUDGE_API_KEY={KEY}\n")
    f.chmod(0o644)
    with pytest.raises(ValueError, match="chmod 600"):
        make_judge("openai", url="http://127.0.0.1:9/v1", model="m", key_file=str(f), env={})
    f.chmod(0o600)
    with FakeOpenAI() as fake:
        judge = make_judge("openai", url=fake.url, model="valid", key_file=str(f), env={"OPENAI_API_KEY": "other"})
        runner = JudgeRunner(judge, 5.0)
        try:
            assert runner.call(_ctx())[0].action == "enter"
        finally:
            runner.close()
        assert fake.requests[-1]["headers"]["Authorization"] == "Bearer " + KEY


def test_liq_trend_with_its_judge_still_pickles_for_sweep_workers(tmp_path):
    import pickle

    for strat in (LiqTrend(), LiqTrend(judge=ReplayJudge(_empty(tmp_path)))):
        strat.runner.call(_ctx())  # (a used runner too)
        back = pickle.loads(pickle.dumps(strat))
        assert back.runner.counts == strat.runner.counts and type(back.judge) is type(strat.judge)
        assert back.runner.call(_ctx())[0] is not None
        strat.runner.close()


def _empty(tmp_path):
    f = tmp_path / "none.jsonl"
    f.write_text("")
    return f


# ---- a backtest's questions: concurrent, cached, exported as the replay file ----------------------------

def _ctxs(n):
    return [_ctx(ts_ns=T0 + (7 + k) * M, z=2.0 + k) for k in range(n)]


def test_backtest_questions_are_asked_concurrently_within_the_bound():
    from liqcore.judge.cache import JudgeCache  # noqa: F401  (no cache: every question goes out)

    with FakeOpenAI(slow_s=0.3) as fake:
        runner = JudgeRunner(OpenAIJudge(fake.url, "slow", None), 5.0)
        try:
            out = runner.call_many(_ctxs(12), concurrency=4)
        finally:
            runner.close()
        assert fake.max_in_flight == 4 and len(fake.requests) == 12
    assert [why for _v, why in out] == [""] * 12 and runner.counts["asked"] == 12
    with pytest.raises(ValueError, match="judge-concurrency"):
        runner.call_many(_ctxs(1), concurrency=0)


def test_backtest_answers_are_cached_by_question_and_replayed_from_the_export(tmp_path):
    from liqcore.judge.cache import JudgeCache

    cache = JudgeCache(tmp_path / "answers.sqlite")
    with FakeOpenAI() as fake:
        def run(model="valid", temperature=0.0):
            runner = JudgeRunner(OpenAIJudge(fake.url, model, Secret(KEY), cache=cache, temperature=temperature), 5.0)
            try:
                return runner.call_many(_ctxs(5), concurrency=8), runner.counts
            finally:
                runner.close()
        first, _ = run()
        assert len(fake.requests) == 5
        again, counts = run()  # the same questions: none goes out, the same verdicts
        assert len(fake.requests) == 5 and counts["asked"] == 5
        assert [(v.action, v.confidence, v.notes) for v, _ in again] == [(v.action, v.confidence, v.notes) for v, _ in first]
        run(temperature=0.5)  # another parameter, another question
        run(model="hold")  # another model, another question
        assert len(fake.requests) == 15
    assert cache.counts() == {"answers": 15, "late": 0}
    assert KEY not in (tmp_path / "answers.sqlite").read_bytes().decode("latin-1")
    out = tmp_path / "replay.jsonl"
    assert cache.export(out, model="valid") == {"written": 5, "unparsable": 0, "late": 0}
    replay = JudgeRunner(ReplayJudge(out), 5.0)
    got = replay.call_many(_ctxs(5))
    assert [(v.action, v.confidence) for v, _ in got] == [(v.action, v.confidence) for v, _ in first]


def test_a_late_question_is_kept_late_for_a_rerun_with_the_same_timeout(tmp_path):
    from liqcore.judge.cache import JudgeCache

    cache = JudgeCache(tmp_path / "answers.sqlite")
    with FakeOpenAI(slow_s=1.0) as fake:
        def run(timeout):
            runner = JudgeRunner(OpenAIJudge(fake.url, "slow", None, cache=cache), timeout)
            try:
                return [why for _v, why in runner.call_many(_ctxs(3), concurrency=8)]
            finally:
                runner.close()
        assert run(0.2) == ["late"] * 3 and len(fake.requests) == 3
        assert run(0.2) == ["late"] * 3 and len(fake.requests) == 3  # not asked again
        assert cache.counts() == {"answers": 0, "late": 3}
        assert run(5.0) == [""] * 3 and len(fake.requests) == 6  # a longer timeout asks again ...
        assert cache.counts() == {"answers": 3, "late": 0}  # ... and the answers replace the misses


def test_live_asks_one_call_per_signal_and_never_reads_the_cache(tmp_path):
    from liqcore.judge.cache import JudgeCache

    cache = JudgeCache(tmp_path / "answers.sqlite")
    with FakeOpenAI() as fake:
        judge = OpenAIJudge(fake.url, "valid", None, cache=cache)
        runner = JudgeRunner(judge, 5.0)
        try:
            runner.call_many(_ctxs(1))
            for _ in range(2):
                runner.submit("k", _ctxs(1)[0])
                deadline = time.monotonic() + 5
                while not runner.ready() and time.monotonic() < deadline:
                    time.sleep(0.01)
        finally:
            runner.close()
        assert len(fake.requests) == 3


def test_a_judge_url_with_credentials_is_shown_nowhere(tmp_path, caplog, capsys):
    """``https://user:pass@host/v1``: the password (and the user) appear in no output -- ``.where``, ``.url``,
    the repr, the start-up check's line and its errors, make_judge's errors, the log, the answers cache,
    the command's own stderr line -- while the endpoint still gets them (HTTP basic auth)."""
    import argparse
    import asyncio
    import base64

    from liqcore.commands._judge import add_judge_arguments, judged_strategy
    from liqcore.judge import JudgeUnavailable
    from liqcore.judge.cache import JudgeCache
    from liqcore.live.logging import JsonFormatter

    pw, user = "hunter2-url-pass", "bob-the-user"
    seen: list[str] = []
    with FakeOpenAI() as fake, caplog.at_level(logging.DEBUG):
        url = fake.url.replace("http://", f"http://{user}:{pw}@")
        cache = JudgeCache(tmp_path / "cache.sqlite")
        j = OpenAIJudge(url, "valid", None, cache=cache)
        seen += [repr(j), str(j.__dict__), j.where, j.url, j.base]
        seen.append(asyncio.run(j.check(10.0)))
        runner = JudgeRunner(j, 10.0)
        try:
            ((v, why),) = runner.call_many([_ctx()])  # (a backtest's call: its answer goes into the cache)
        finally:
            runner.close()
        assert why == "" and v.action == "enter"
        sent = fake.requests[-1]["headers"]["Authorization"]
        assert sent == "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()  # the endpoint has them
        bad = OpenAIJudge(url, "malformed", None)  # a refused answer is logged
        runner = JudgeRunner(bad, 10.0)
        try:
            assert runner.call(_ctx())[1] == "refused"
        finally:
            runner.close()
        # the command's own line (no API key: basic auth only), and the live log's redaction of a URL
        p = argparse.ArgumentParser()
        add_judge_arguments(p)
        args = p.parse_args(["--judge", "openai", "--judge-url", url, "--judge-model", "valid", "--judge-cache", "off"])
        strat = judged_strategy(args, LiqTrend())
        strat.runner.close()
        assert strat.judge.userinfo is not None
    seen.append(capsys.readouterr().err)
    seen.append(caplog.text)
    rec = logging.LogRecord("liqcore.engine", logging.WARNING, "x", 1, "judge at %s failed", (url,), None)
    seen.append(JsonFormatter().format(rec))
    import sqlite3

    db = sqlite3.connect(tmp_path / "cache.sqlite")
    rows = db.execute("SELECT * FROM answers").fetchall()
    db.close()
    assert len(rows) == 1
    seen.append(repr(rows))
    # errors: unreachable, a URL that is not http(s), no key for a remote endpoint, a key with credentials too
    down = OpenAIJudge(f"http://{user}:{pw}@127.0.0.1:9/v1", "valid", None)
    with pytest.raises(JudgeUnavailable) as e1:
        asyncio.run(down.check(5.0))
    with pytest.raises(ValueError) as e2:
        OpenAIJudge(f"ftp://{user}:{pw}@example.invalid/v1", "m", None)
    with pytest.raises(ValueError) as e3:
        make_judge("openai", url=f"https://{user}:{pw}@example.invalid/v1", model="m", env={})
    with pytest.raises(ValueError) as e4:
        OpenAIJudge(f"https://{user}:{pw}@example.invalid/v1", "m", Secret(KEY))
    seen += [str(e.value) for e in (e1, e2, e3, e4)]
    assert seen[2].startswith("openai (valid at http://127.0.0.1:") and "endpoint answers" in seen[5]
    assert "example.invalid/v1" in seen[-1] and "127.0.0.1:9/v1" in seen[-4]
    for text in seen:
        assert pw not in text and user not in text, text

"""The liq-trend judge: the last word on a liquidation signal before it becomes an entry.

``core`` (the decision matrix, the verdict, the answer format, judges without network), ``news``,
``openai`` (any OpenAI-compatible endpoint), ``runner`` (off-thread, with a timeout), ``cache`` (a
backtest's answers on disk) and :func:`make_judge` (the ``--judge`` spec).

May import: numpy, aiohttp and, of liqcore, only ``secrets``, ``cache`` and ``_atomic``: the strategies use it
and the live engine reaches it through them.  A new judge or news provider is a module here, built by
:func:`make_judge`.
"""
from __future__ import annotations

from liqcore.judge.core import (
    ANSWER_KEYS, CONFIDENCE, FunctionJudge, Judge, JudgeError, JudgeUnavailable, MatrixJudge, ReplayJudge, Verdict, candle_stats,
    matrix, parse_answer, signal_key,
)
from liqcore.judge.news import FileNews, NewsProvider, news_stance
from liqcore.judge.runner import JudgeRunner

__all__ = ["ANSWER_KEYS", "CONFIDENCE", "FileNews", "FunctionJudge", "Judge", "JudgeError", "JudgeRunner", "JudgeUnavailable",
           "MatrixJudge", "NewsProvider", "ReplayJudge", "Verdict", "candle_stats", "make_judge", "matrix",
           "news_stance", "parse_answer", "signal_key"]


def make_judge(spec: str | None, *, url: str | None = None, model: str | None = None, news: str | None = None,
               record: str | None = None, key_file: str | None = None, env=None, cache=None):
    """A judge from the command line: ``spec`` None or ``matrix`` (the decision matrix alone), ``openai``
    (an OpenAI-compatible endpoint: ``url``/``model`` or ``LIQCORE_JUDGE_URL``/``LIQCORE_JUDGE_MODEL``,
    the key from ``key_file`` (a 0600 file of ``LIQCORE_JUDGE_API_KEY=...`` lines or a JSON object with
    ``api_key``), else ``LIQCORE_JUDGE_API_KEY`` or ``OPENAI_API_KEY``), ``replay:FILE`` (recorded answers).
    ``news``: a JSONL headlines file (None = no news provider).  ``record``: append every answer to this
    JSONL file (the format ``replay:`` reads).  ``cache``: the answers cache of a backtest
    (:class:`liqcore.judge.cache.JudgeCache`; openai only).  An endpoint other than a local one
    (localhost, 127.x.x.x, ::1: a model server on this machine) needs a key: without one this is
    refused.  Raises ValueError (one line) on a bad spec."""
    import os

    env = os.environ if env is None else env
    provider = FileNews(news) if news else None
    s = (spec or "matrix").strip()
    if s == "matrix":
        judge = MatrixJudge(news=provider)
    elif s.startswith("replay:"):
        if record:
            raise ValueError("judge-record: a replayed judge has nothing new to record")
        judge = ReplayJudge(s[len("replay:"):])
    elif s == "openai":
        from liqcore.judge.openai import OpenAIJudge
        from liqcore.secrets import Secret

        url = url or env.get("LIQCORE_JUDGE_URL")
        model = model or env.get("LIQCORE_JUDGE_MODEL")
        key = env.get("LIQCORE_JUDGE_API_KEY") or env.get("OPENAI_API_KEY")
        if key_file:
            from pathlib import Path

            from liqcore.secrets import check_private, parse_key_file

            p = Path(key_file)
            if not p.exists():
                raise ValueError(f"judge-key-file: {p} does not exist")
            check_private(p)
            d = parse_key_file(p.read_text(encoding="utf-8"), p)
            key = d.get("LIQCORE_JUDGE_API_KEY") or d.get("OPENAI_API_KEY") or d.get("api_key")
            if not key:
                raise ValueError(f"judge-key-file: {p} holds neither LIQCORE_JUDGE_API_KEY nor api_key")
        if not url:
            raise ValueError("judge openai: give --judge-url URL or set LIQCORE_JUDGE_URL")
        if not model:
            raise ValueError("judge openai: give --judge-model NAME or set LIQCORE_JUDGE_MODEL")
        from liqcore.judge.openai import _loopback
        from liqcore.secrets import redact_url

        if not key and not _loopback(str(url)):
            raise ValueError(f"judge openai ({model} at {redact_url(url)}): no API key configured: set LIQCORE_JUDGE_API_KEY "
                             "(or OPENAI_API_KEY) or give --judge-key-file FILE; only a local endpoint "
                             "(localhost, 127.x.x.x, ::1) may go without one")
        judge = OpenAIJudge(url, model, Secret(key) if key else None, news=provider, cache=cache)
    else:
        raise ValueError(f"judge: expected matrix, openai or replay:FILE; got {spec!r}")
    if record:
        judge.record_to(record)
    return judge

"""The ``--judge`` options of ``liqcore backtest`` and ``liqcore run`` (liq-trend's judge)."""
from __future__ import annotations


def add_judge_arguments(parser) -> None:
    g = parser.add_argument_group("judge (liq-trend)")
    g.add_argument("--judge", metavar="SPEC",
                   help="liq-trend's judge: matrix (default: the decision matrix alone), openai (an "
                        "OpenAI-compatible chat-completions endpoint), replay:FILE (recorded answers, JSONL)")
    g.add_argument("--judge-url", metavar="URL", help="--judge openai: the API base URL, e.g. https://api.openai.com/v1 "
                                                      "(default $LIQCORE_JUDGE_URL); the key comes from "
                                                      "$LIQCORE_JUDGE_API_KEY or $OPENAI_API_KEY, never the command line")
    g.add_argument("--judge-key-file", metavar="FILE",
                   help="--judge openai: a 0600 file holding LIQCORE_JUDGE_API_KEY=... (or JSON {\"api_key\": ...})")
    g.add_argument("--judge-model", metavar="NAME", help="--judge openai: the model (default $LIQCORE_JUDGE_MODEL)")
    g.add_argument("--judge-news", metavar="FILE", help="headlines shown to the judge (JSONL: ts, symbol, title, "
                                                        "optional stance -1/0/1); default none (the matrix's no-news row)")
    g.add_argument("--judge-timeout", type=float, default=10.0, metavar="S",
                   help="seconds the judge has per signal; a late, failed or refused answer = don't enter (default 10)")
    g.add_argument("--judge-record", metavar="FILE", help="append every answer to FILE (JSONL) for --judge replay:FILE")
    g.add_argument("--judge-concurrency", type=int, default=8, metavar="N",
                   help="backtest: questions to the judge at once (every signal is known ahead; default 8); "
                        "live asks one call per signal as it comes")
    g.add_argument("--judge-cache", default="on", choices=("on", "off", "refresh"),
                   help="backtest with --judge openai: keep the answers in the cache directory, keyed by model, "
                        "prompt and parameters, and reuse them (on, default), do not (off), or ask again and "
                        "overwrite (refresh); 'liqcore cache export-judge FILE' writes them as a replay file")


def judged_strategy(args, strategy, *, live: bool = False):
    """``strategy`` with the judge the arguments ask for (liq-trend only); unchanged without ``--judge``
    options.  ``live``: no answers cache (one signal, one call).  Raises ValueError (one line) on a bad
    option."""
    given = [o for o in ("judge", "judge_url", "judge_model", "judge_news", "judge_record", "judge_key_file")
             if getattr(args, o, None)] + (["judge_timeout"] if getattr(args, "judge_timeout", 10.0) != 10.0 else []) \
        + (["judge_concurrency"] if getattr(args, "judge_concurrency", 8) != 8 else []) \
        + (["judge_cache"] if getattr(args, "judge_cache", "on") != "on" else [])
    if not given:
        return strategy
    from liqcore.strategies.liq_trend import LiqTrend

    if not isinstance(strategy, LiqTrend):
        raise ValueError(f"--{given[0].replace('_', '-')}: only liq-trend takes a judge (strategy {type(strategy).name})")
    if not (args.judge_timeout > 0):
        raise ValueError(f"judge-timeout: must be positive seconds; got {args.judge_timeout}")
    conc = getattr(args, "judge_concurrency", 8)
    if conc is None or conc < 1:
        raise ValueError(f"judge-concurrency: must be at least 1; got {conc}")
    from liqcore.judge import make_judge

    mode = getattr(args, "judge_cache", "on")
    cache = None
    if not live and mode != "off":
        from liqcore.judge.cache import JudgeCache

        cache = JudgeCache()
    judge = make_judge(args.judge, url=args.judge_url, model=args.judge_model, news=args.judge_news,
                       record=args.judge_record, key_file=getattr(args, "judge_key_file", None), cache=cache)
    if mode == "refresh" and hasattr(judge, "refresh"):
        judge.refresh = True
    key = getattr(judge, "key", None)
    for s in (key, getattr(judge, "userinfo", None)):
        if s:  # a second line of defence: the live log's redaction filter knows it too
            from liqcore.secrets import register_secret

            register_secret(s.reveal())
            if ":" in s.reveal():  # (the URL's password alone, as a message might hold it)
                register_secret(s.reveal().partition(":")[2])
    if not key and hasattr(judge, "check"):  # (an OpenAI-compatible endpoint on this machine, allowed without a key)
        import sys

        print(f"judge {judge.where}: no API key configured: no Authorization header is sent "
              "(a local endpoint may go without one)", file=sys.stderr)
    return LiqTrend(judge=judge, judge_timeout=args.judge_timeout, judge_concurrency=conc)


def check_judge(strategy, timeout_s: float = 8.0) -> str | None:
    """``liqcore run``'s start-up check of an OpenAI-compatible judge (one cheap call): its one-line
    result, None without such a judge; ValueError (one line naming the judge) when the key is refused,
    the server is unreachable or does not offer the model."""
    judge = getattr(strategy, "judge", None)
    if judge is None or not hasattr(judge, "check"):
        return None
    import asyncio

    from liqcore.judge import JudgeUnavailable

    try:
        return asyncio.run(asyncio.wait_for(judge.check(timeout_s), timeout_s + 1.0))
    except asyncio.TimeoutError:
        raise ValueError(f"judge {judge.where}: endpoint unreachable (no answer within {timeout_s:g} s)") from None
    except JudgeUnavailable as exc:
        raise ValueError(str(exc)) from None


def judge_summary(strategy) -> dict | None:
    """The judge's counts (signals asked, entered, declined, late, failed, refused), or None."""
    runner = getattr(strategy, "runner", None)
    if runner is None:
        return None
    return {"judge": getattr(strategy.judge, "name", "judge"), **runner.counts}


def judge_line(counts: dict) -> str:
    c = counts
    return (f"judge {c['judge']}: {c['asked']:,} signals asked; {c['entered']:,} entered, {c['declined']:,} declined, "
            f"{c['late']:,} late, {c['failed']:,} failed, {c['refused']:,} answers refused")

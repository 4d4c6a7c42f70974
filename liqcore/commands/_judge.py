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


def judged_strategy(args, strategy):
    """``strategy`` with the judge the arguments ask for (liq-trend only); unchanged without ``--judge``
    options.  Raises ValueError (one line) on a bad option."""
    given = [o for o in ("judge", "judge_url", "judge_model", "judge_news", "judge_record", "judge_key_file")
             if getattr(args, o, None)] + (["judge_timeout"] if getattr(args, "judge_timeout", 10.0) != 10.0 else [])
    if not given:
        return strategy
    from liqcore.strategies.liq_trend import LiqTrend

    if not isinstance(strategy, LiqTrend):
        raise ValueError(f"--{given[0].replace('_', '-')}: only liq-trend takes a judge (strategy {type(strategy).name})")
    if not (args.judge_timeout > 0):
        raise ValueError(f"judge-timeout: must be positive seconds; got {args.judge_timeout}")
    from liqcore.judge import make_judge

    judge = make_judge(args.judge, url=args.judge_url, model=args.judge_model, news=args.judge_news,
                       record=args.judge_record, key_file=getattr(args, "judge_key_file", None))
    key = getattr(judge, "key", None)
    if key:  # a second line of defence: the live log's redaction filter knows it too
        from liqcore.live.logging import register_secret

        register_secret(key.reveal())
    return LiqTrend(judge=judge, judge_timeout=args.judge_timeout)


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

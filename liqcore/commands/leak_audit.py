"""Leak audit: recompute every named feature (and every registered one) on the input truncated at
sampled times and compare with the value on the whole input; print each difference; exit 1 on any.

A point-in-time feature at time t depends only on the events received at or before t, so cutting
everything after t must not change it.  Half the sampled times are uniform over the data, half are
exact receive times of events (where an off-by-one would show).

Examples:
  liqcore leak-audit --synthetic --days 2 --symbols BTCUSDT,ETHUSDT
  liqcore leak-audit recordings/ --samples 50 --names flow.ofi@5m:zscore,price.return@1m
  liqcore leak-audit recordings/ --plugin my_features.py      # also audits the features it registers
"""
from __future__ import annotations

HELP = "recompute features on the input cut at sampled times; exit 1 when a value used the future"


def add_arguments(parser) -> None:
    from liqcore.commands.inputs import add_plugin_argument, add_source_arguments
    from liqcore.config import add_param_arguments

    add_source_arguments(parser)
    g = parser.add_argument_group("audit")
    g.add_argument("--names", metavar="N[,N...]", help="features to audit (default: every named and registered one)")
    g.add_argument("--samples", type=int, default=20, help="sampled times (default 20)")
    g.add_argument("--audit-seed", type=int, default=0, help="seed of the sampled times (default 0)")
    g.add_argument("--lookback", type=int, default=96, help="history values of a transform (default 96)")
    g.add_argument("--min-periods", type=int, default=20, help="minimum non-null history values (default 20)")
    add_plugin_argument(g)
    g.add_argument("--json", action="store_true", help="the result as one JSON object")
    g.add_argument("--no-progress", action="store_true", help="no progress display")
    add_param_arguments(parser, groups=("detector",))


def run(args) -> int:
    import sys

    import orjson

    from liqcore.commands.inputs import Steps, load_input, load_plugins
    from liqcore.config import params_from_args
    from liqcore.research.audit import leak_audit

    load_plugins(args.plugin)
    if not 1 <= args.samples <= 100_000:
        raise ValueError(f"samples: must be a positive integer, at most 100000 (each sample recomputes the features "
                         f"on the input cut at its time); got {args.samples}")
    params = params_from_args(args)
    with Steps(not args.no_progress and not args.json) as steps:
        events, registry, label, symbols = load_input(args, params, steps)
        if args.synthetic and args.symbols:
            symbols = None
        steps.step(f"auditing on {len(events):,} events")
        res = leak_audit(events, registry, args.names, samples=args.samples, seed=args.audit_seed, symbols=symbols,
                         lookback=args.lookback, min_periods=args.min_periods, params=params)
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(res.to_json()) + b"\n")
    else:
        for leak in res.leaks:
            print(leak)
        verdict = "LEAKS FOUND" if res.leaks else "no leak"
        print(f"{label}: {verdict}: {len(res.leaks)} difference(s) in {res.checked:,} values "
              f"({res.non_null:,} non-null) of {len(res.names)} feature(s) x {len(res.symbols)} instrument(s) "
              f"x {len(res.times)} sampled time(s)")
        if res.non_null == 0:
            print("warning: every audited value was null (data too short for the windows?)", file=sys.stderr)
    return 1 if res.leaks else 0

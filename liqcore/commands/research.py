"""Run every research study and write the findings report.

The details: docs/reference/commands.md, "`liqcore research`".

May import: ``numpy``, ``orjson``, ``config``, ``research.report``, ``research.studies``,
``synthetic.market`` and this package's ``inputs``.
"""
from __future__ import annotations

import sys

HELP = "run every research study; --report DIR writes FINDINGS.md + an HTML page with figures and criteria"


def add_arguments(parser) -> None:
    from liqcore.commands.inputs import add_source_arguments
    from liqcore.config import add_param_arguments

    add_source_arguments(parser)
    r = parser.add_argument_group("research")
    r.add_argument("--studies", default=None, help="comma list of studies to run (default: all)")
    r.add_argument("--names", metavar="N[,N...]", default=None,
                   help="ic study: the named features to test (default: the named features except the price and "
                        "open-interest levels and the base-unit taker volumes; see liqcore features --list)")
    r.add_argument("--report", metavar="DIR", default=None, help="write FINDINGS.md, index.html, figures, findings.json")
    r.add_argument("--json", action="store_true", help="print every study's result as JSON")
    r.add_argument("--max-ref-age", dest="param_max_ref_age_ns", default=None, metavar="DUR",
                   help="event study: the oldest usable reference trade at the decision (default 5s, the strategy's; "
                        "e.g. 61s on 1-minute prices)")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_param_arguments(parser, groups=("detector",))


def run(args) -> int:
    import numpy as np
    import orjson

    from liqcore.commands.inputs import load_source
    from liqcore.config import params_from_args
    from liqcore.research.report import criteria, run_all, status_text, write_report
    from liqcore.research.studies import STUDIES

    params = params_from_args(args)
    only = None
    if args.studies:
        only = [s.strip() for s in args.studies.split(",") if s.strip()]
        bad = [s for s in only if s not in STUDIES]
        if bad or not only:
            raise ValueError(f"studies: expected names from {', '.join(STUDIES)}; got {args.studies!r}")
    names = None
    if args.names is not None:
        from liqcore.research.studies import check_ic_names

        names = check_ic_names(args.names)  # bad names: exit 2 before the input is read
    if args.report is not None:
        from pathlib import Path

        rp = Path(args.report)
        if rp.exists() and not rp.is_dir():
            raise ValueError(f"report: {args.report!r} exists and is not a directory")
    if args.synthetic:
        args.synthetic_effects = {"open_interest": True}  # the synthetic market also emits open interest
    n_steps = len(only or STUDIES) + (2 if args.report else 0) + 1
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    # a transient bar where stderr is no terminal could only leave an empty line before an error
    show = not args.no_progress and not args.json and Console(stderr=True).is_terminal
    prog = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(), console=Console(stderr=True), transient=True, disable=not show)

    class _S:
        def __init__(self, task):
            self.task = task
            self.first = True

        def step(self, text):
            if not self.first:
                prog.advance(self.task)
            self.first = False
            prog.update(self.task, description=text)

    with prog:
        task = prog.add_task("loading", total=n_steps)
        steps = _S(task)
        events, registry, label = load_source(args, params, steps)
        symbols = None
        if args.symbols and not args.synthetic:
            symbols = [s.strip() for s in args.symbols.split(",") if s.strip()]
        results = run_all(events, registry, params=params, symbols=symbols, only=only, names=names,
                          progress=lambda n: steps.step(f"study: {n}"))
        acc = acc_n = None
        m = getattr(args, "_market", None)
        if m is not None and (only is None or "event" in only):
            steps.step("cascade detection vs the generator's episodes")
            from liqcore.synthetic.market import cascade_stats

            st = cascade_stats(m)
            w = np.array([v["cascades_per_day"] for v in st.values()])
            a = np.array([v["overlap_share"] for v in st.values()])
            ok = np.isfinite(a) & (w > 0)
            acc = float((a[ok] * w[ok]).sum() / w[ok].sum()) if ok.any() else None
            acc_n = int(round(float(w[ok].sum()) * m.days)) if ok.any() else None  # detected cascades
        out = None
        if args.report:
            steps.step("writing the report")
            out = write_report(results, args.report, source=label, detection_accuracy=acc, detection_n=acc_n)
        prog.advance(task)
    crit = out["criteria"] if out else criteria(results, acc, acc_n)
    studies = {k: v for k, v in results.items() if not k.startswith("_")}
    if args.json:
        doc = {"source": label, "notes": results.get("_notes") or [], "criteria": crit, "detection_accuracy": acc, "detection_cascades": acc_n,
               "studies": {k: v.to_json() for k, v in studies.items()}}
        sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n")
        return 0
    from rich.markup import escape

    console = Console()
    if not console.is_terminal:
        console = Console(width=220)
    console.print(f"[bold]{label}[/]")
    for n in results.get("_notes") or []:
        console.print(f"[yellow]data note:[/] {escape(n)}", highlight=False)
    for res in studies.values():
        console.rule()
        if not res.available:
            console.print(f"[bold]{res.name}[/]: [yellow]not available because {res.reason}[/]")
            continue
        console.print(f"[bold]{res.name}[/]: {res.title}")
        for f in res.findings:
            console.print(f"• {f}")
    console.rule()
    for c in crit:
        col = {"met": "green", "n/a": "yellow"}.get(c["status"], "red")
        console.print(f"[{col}]{c['status']:>8}[/] {c['level']:<9} "
                      + escape(f"{c['criterion']}: " + (status_text(c) if c["status"] == "n/a" else c["evidence"])),
                      highlight=False)
    if args.report:
        from pathlib import Path

        rep = Path(args.report)  # (report/ or report: one separator either way)
        console.print(f"report written to {rep / 'FINDINGS.md'} and {rep / 'index.html'}", highlight=False)
    return 0

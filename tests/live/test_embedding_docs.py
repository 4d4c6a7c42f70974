"""docs/how-to/embed-engine.md's embedding snippet, run as written on the bundled recording, decides what the backtest
decides: ``eng.on_clock()`` with no argument follows the recorded frames' time (it read the wall clock,
so every hold timeout and cascade expiry fired at once: 13 cascades / 0 fills against the backtest's 2 / 2)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import orjson

from liqcore.data import SAMPLE_RECORDING
from liqcore.live.recorder import read_lines

DOC = Path(__file__).resolve().parents[2] / "docs" / "how-to" / "embed-engine.md"


def _snippet() -> tuple[str, str, str]:
    """The embedding snippet's construction, per-frame call and clock call, as written in the docs."""
    text = DOC.read_text()
    block = re.search(r"## Embedding the engine\s+```python\n(.*?)```", text, re.S).group(1)
    lines = [ln.split("  #")[0].rstrip() for ln in block.splitlines()]
    start = next(i for i, ln in enumerate(lines) if ln.startswith("eng = Engine("))
    ctor = "\n".join(lines[start:next(i for i in range(start, len(lines)) if lines[i].endswith(")")) + 1])
    frame = next(ln for ln in lines if "eng.on_frame(" in ln)
    clock = next(ln for ln in lines if ln.startswith("eng.on_clock("))
    return "from liqcore import Engine, Params\n" + ctor, frame, clock


def test_docs_embedding_snippet_on_the_bundled_recording_gives_the_backtests_orders():
    from liqcore import backtest, load_events

    ctor, frame, clock = _snippet()
    assert clock == "eng.on_clock()"  # the docs show it without an argument: it must follow the frames
    ns: dict = {"print": lambda *a, **k: None}
    exec(ctor, ns)
    eng = ns["eng"]
    frame_code, clock_code = compile(frame, "embed-engine.md", "exec"), compile(clock, "embed-engine.md", "exec")
    decisions = []
    for ln in read_lines(SAMPLE_RECORDING):
        r = orjson.loads(ln)
        ns.update(frame_bytes=orjson.dumps(r["frame"]), recv_ns=r["recv_ns"])
        exec(frame_code, ns)
        decisions += ns["decisions"]
        exec(clock_code, ns)
    res = backtest(load_events(SAMPLE_RECORDING))
    s, live = res.summary(), eng.core.summary_counts()
    assert s["orders"] > 0
    assert (live["cascades"], live["orders"], live["fills"]) == (s["cascades"], s["orders"], s["fills"])
    ours, theirs = eng.core.ledger(), res.ledger
    assert len(ours) == len(theirs) and np.allclose(ours["entry_price"], theirs["entry_price"], atol=0.01)  # (the engine rounds to the tick)
    assert [d.action for d in decisions].count("order") == s["orders"]


def test_the_documented_engine_signature_is_the_engines():
    """The page's ``Engine(...)`` line names every parameter of the class, in order, with its default (a parameter
    added to the class and not to the page fails here)."""
    import inspect

    from liqcore import Engine

    text = " ".join(DOC.read_text().split())
    shown = re.search(r"`Engine\((params=None, venues=.*?)\)`;", text).group(1)
    sig = inspect.signature(Engine)
    want = []
    for p in sig.parameters.values():
        if p.kind is p.KEYWORD_ONLY and "*" not in want:
            want.append("*")
        d = p.default
        want.append(p.name if d is p.empty else f"{p.name}={d!r}".replace("10000.0", "10_000.0"))
    assert shown == ", ".join(want).replace("('bybit',)", '("bybit",)')

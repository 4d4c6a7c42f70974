"""The decision matrix, the judge's verdict and answer format, and the judges that need no network.

The matrix (intensity x candle alignment x news), the answer a language-model judge must return and
what refuses it (:class:`JudgeError`): docs/maintainers/strategies.md, "The judge's decision matrix and answer format".

May import: numpy and this package's ``news``; never the network clients (``judge.openai``).
"""
from __future__ import annotations

import asyncio
import json
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

#: confidence label -> the signal's confidence
CONFIDENCE = {"high": 1.0, "medium": 0.6, "low": 0.3}
ACTIONS = ("enter", "hold", "don't enter")
NOTE_KEYS = ("liq_note", "trend_note", "news_note", "action_reason")
ANSWER_KEYS = ("symbol", "direction", "action", "confidence") + NOTE_KEYS
MAX_NOTE = 500


class JudgeError(ValueError):
    """An answer that is refused (malformed, off-format, the wrong direction, a model's refusal)."""


class JudgeUnavailable(JudgeError):
    """The judge could not be asked (an unreachable endpoint, an HTTP error)."""


@dataclass
class Verdict:
    """A judge's decision on one signal: ``action`` (enter / hold / don't enter), ``confidence`` in [0, 1]
    (its label in ``label``), the notes, and which judge gave it."""

    action: str
    confidence: float
    label: str = ""
    notes: dict = field(default_factory=dict)
    source: str = ""

    def enters(self, min_confidence: float) -> bool:
        return self.action == "enter" and self.confidence >= min_confidence

    def note_text(self) -> str:
        parts = [f"{self.source}: {self.action}" + (f" ({self.label})" if self.label else "")]
        parts += [str(self.notes[k]) for k in NOTE_KEYS if self.notes.get(k)]
        return "; ".join(parts)

    def answer(self, direction: int, symbol: str = "") -> dict:
        """The verdict in the answer format (what a recording keeps)."""
        out = {"symbol": symbol, "direction": "LONG" if direction > 0 else "SHORT", "action": self.action,
               "confidence": self.label or _label(self.confidence)}
        out.update({k: str(v) for k, v in self.notes.items() if k in NOTE_KEYS})
        return out


def _label(c: float) -> str:
    return "high" if c >= 1.0 else "medium" if c >= 0.6 else "low"


def matrix(strength: str, aligned: bool, news: str) -> tuple[str, str | None]:
    """The decision matrix: ``(action, confidence label or None)``.  ``strength`` strong | medium,
    ``news`` agrees | none | contradicts."""
    if strength not in ("strong", "medium"):
        raise ValueError(f"matrix: strength must be strong or medium; got {strength!r}")
    if news not in ("agrees", "none", "contradicts"):
        raise ValueError(f"matrix: news must be agrees, none or contradicts; got {news!r}")
    if news == "contradicts":
        return "don't enter", None
    if strength == "strong":
        if aligned:
            return "enter", ("high" if news == "agrees" else "medium")
        return ("hold", None) if news == "agrees" else ("don't enter", None)
    if aligned and news == "agrees":
        return "enter", "medium"
    return "don't enter", None


def parse_answer(answer: Any, direction: int) -> Verdict:
    """A judge's answer (the JSON text or the decoded object) -> :class:`Verdict`; :class:`JudgeError`
    for anything but the strict answer format for a signal of ``direction`` (+1 long, -1 short)."""
    if isinstance(answer, (str, bytes)):
        text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else answer
        text = unfence(text.strip())
        if not text.startswith("{") or not text.endswith("}"):
            raise JudgeError("answer is not a bare JSON object")
        try:
            obj = json.loads(text)
        except ValueError as exc:
            raise JudgeError(f"answer is not valid JSON ({exc.msg})") from None
    else:
        obj = answer
    if not isinstance(obj, dict):
        raise JudgeError("answer is not a JSON object")
    extra = sorted(set(obj) - set(ANSWER_KEYS))
    if extra:
        raise JudgeError(f"answer has unknown keys: {', '.join(map(str, extra))[:80]}")
    for k in ("direction", "action", "confidence"):
        if k not in obj:
            raise JudgeError(f"answer lacks {k!r}")
    want = "LONG" if direction > 0 else "SHORT"
    if obj["direction"] not in ("LONG", "SHORT"):
        raise JudgeError(f"answer direction must be LONG or SHORT; got {str(obj['direction'])[:20]!r}")
    if obj["direction"] != want:
        raise JudgeError(f"answer direction {obj['direction']} is not the signal's ({want})")
    if obj["action"] not in ACTIONS:
        raise JudgeError(f"answer action must be enter, hold or don't enter; got {str(obj['action'])[:20]!r}")
    if obj["confidence"] not in CONFIDENCE:
        raise JudgeError(f"answer confidence must be high, medium or low; got {str(obj['confidence'])[:20]!r}")
    notes = {}
    for k in NOTE_KEYS + ("symbol",):
        v = obj.get(k)
        if v is None:
            continue
        if not isinstance(v, str) or len(v) > MAX_NOTE:
            raise JudgeError(f"answer {k} must be a string of at most {MAX_NOTE} characters")
        if k != "symbol":
            notes[k] = v
    return Verdict(obj["action"], CONFIDENCE[obj["confidence"]], obj["confidence"], notes)


def unfence(text: str) -> str:
    """The JSON inside one markdown code fence (`````json ... ````` or ````` ... `````), as many
    models wrap their answer despite being told not to; any other text is returned as it is."""
    t = text.strip()
    if t.startswith("```") and t.endswith("```") and len(t) >= 6:
        inner = t[3:-3]
        first, nl, rest = inner.partition("\n")
        if nl and first.strip().lower() in ("", "json"):
            return rest.strip()
    return t


def signal_key(ctx: dict) -> str:
    """The key of a signal in a recording of answers: ``venue:symbol:ts_ns:LONG|SHORT``."""
    where = f"{ctx.get('venue', '')}:{ctx.get('symbol') or ctx.get('symbol_id')}"
    return f"{where}:{int(ctx['ts_ns'])}:{'LONG' if ctx['direction'] > 0 else 'SHORT'}"


def candle_stats(ts: np.ndarray, price: np.ndarray, t: int, look: int) -> dict:
    """The 1-minute candles of the trades received in ``(t - look, t]``: ``price_change`` (last close
    minus first open, quote), ``change_pct`` (%), ``volatility_pct`` (population std of the minute
    close-to-close returns, %), ``trend`` (up / down / flat) and ``candles`` (minutes with a trade)."""
    lo = int(np.searchsorted(ts, t - look, side="right"))
    hi = int(np.searchsorted(ts, t, side="right"))
    if hi <= lo:
        return {"price_change": 0.0, "change_pct": 0.0, "volatility_pct": 0.0, "trend": "flat", "candles": 0}
    tt, pp = np.asarray(ts[lo:hi], np.int64), np.asarray(price[lo:hi], np.float64)
    minute = tt // 60_000_000_000
    last = np.flatnonzero(np.r_[minute[1:] != minute[:-1], True])
    closes = pp[last]
    chg = float(pp[-1] - pp[0])
    rets = np.diff(closes) / closes[:-1] if len(closes) > 1 else np.zeros(0)
    vol = float(np.std(rets) * 100) if len(rets) else 0.0
    return {"price_change": chg, "change_pct": float(chg / pp[0] * 100) if pp[0] else 0.0,
            "volatility_pct": vol if math.isfinite(vol) else 0.0,
            "trend": "up" if chg > 0 else "down" if chg < 0 else "flat", "candles": int(len(closes))}


class Judge:
    """A judge: :meth:`answer` ``(context) -> Verdict`` (a coroutine).  ``instant`` judges answer at
    once without I/O (:meth:`answer_now`) and are called inline; the others run off the caller's thread
    (:class:`liqcore.judge.runner.JudgeRunner`).  The context is one dict per would-be entry (see
    ``docs/reference/strategies.md``); a judge must be point in time (use only what was known at ``ts_ns``)."""

    instant = False
    name = "judge"

    def __init__(self) -> None:
        self._record: Path | None = None
        self._record_lock = threading.Lock()

    def __getstate__(self) -> dict:
        d = self.__dict__.copy()
        d.pop("_record_lock", None)
        d.pop("_session", None)
        return d

    def __setstate__(self, d: dict) -> None:
        self.__dict__.update(d)
        self._record_lock = threading.Lock()
        if "_session" in type(self).__dict__ or hasattr(type(self), "_post"):
            self._session = None

    async def answer(self, ctx: dict) -> Verdict:
        return self.answer_now(ctx)

    def answer_now(self, ctx: dict) -> Verdict:
        raise NotImplementedError(f"{type(self).__name__} answers asynchronously only")

    async def aclose(self) -> None:
        return None

    # ---- recording (the file a replay reads) ----------------------------------------------------
    def record_to(self, path) -> None:
        p = Path(path)
        if not p.parent.is_dir():
            raise ValueError(f"judge-record: {p.parent} is not a directory")
        self._record = p

    def recorded(self, ctx: dict, verdict: Verdict) -> None:
        if self._record is None:
            return
        line = json.dumps({"key": signal_key(ctx), "answer": verdict.answer(ctx["direction"], str(ctx.get("symbol", "")))})
        with self._record_lock, open(self._record, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")


class MatrixJudge(Judge):
    """The decision matrix alone, with the news of ``news`` (a :class:`liqcore.judge.news.NewsProvider`;
    None = no news, the matrix's "no news" row).  Headlines carry no opinion of their own here: a
    headline counts for or against a signal only through its ``stance`` (+1 bullish, -1 bearish)."""

    name = "matrix"

    def __init__(self, news=None) -> None:
        super().__init__()
        self.news = news
        self.instant = news is None or bool(getattr(news, "instant", False))

    def _verdict(self, ctx: dict, headlines: list) -> Verdict:
        from liqcore.judge.news import news_stance

        stance = news_stance(headlines, int(ctx["direction"]))
        action, label = matrix(ctx["strength"], bool(ctx["aligned"]), stance)
        why = (f"{ctx['strength']} signal, candles {'aligned' if ctx['aligned'] else 'not aligned'}, "
               f"{'no news' if stance == 'none' else 'news ' + stance}")
        return Verdict(action, CONFIDENCE.get(label, 0.0), label or "", {"action_reason": why}, "matrix")

    def answer_now(self, ctx: dict) -> Verdict:
        heads = self.news.headlines_now(ctx) if self.news is not None else []
        return self._verdict(ctx, heads)

    async def answer(self, ctx: dict) -> Verdict:
        heads = await self.news.headlines(ctx) if self.news is not None else []
        return self._verdict(ctx, heads)


class ReplayJudge(Judge):
    """Recorded answers (a JSONL file of ``{"key": signal_key, "answer": {answer format}}``, what
    ``--judge-record`` writes): a backtest replays them deterministically.  A signal with no recorded
    answer is not entered (the verdict says so); a recorded answer is validated as a live one."""

    instant = True
    name = "replay"

    def __init__(self, path) -> None:
        super().__init__()
        p = Path(path)
        if not p.is_file():
            raise ValueError(f"judge replay: {p} is not a file")
        self.answers: dict[str, Any] = {}
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                key, ans = row["key"], row["answer"]
            except (ValueError, KeyError, TypeError):
                raise ValueError(f"judge replay: {p} line {n}: expected {{\"key\": ..., \"answer\": {{...}}}}") from None
            self.answers[str(key)] = ans
        self.missing = 0

    def answer_now(self, ctx: dict) -> Verdict:
        ans = self.answers.get(signal_key(ctx))
        if ans is None:
            self.missing += 1
            return Verdict("don't enter", 0.0, "", {"action_reason": "no recorded answer"}, "replay")
        v = parse_answer(ans, int(ctx["direction"]))
        v.source = "replay"
        return v


class FunctionJudge(Judge):
    """A Python callable as a judge (``LiqTrend(judge=fn)``): it gets the context dict and returns
    None/True (enter at the matrix's confidence), False (don't enter), a confidence in [0, 1] (0 = don't
    enter), a dict with ``veto`` and/or ``confidence``, or a :class:`Verdict`.  It runs off the event
    path like any judge that is not instant (in a worker thread)."""

    name = "function"

    def __init__(self, fn: Callable[[dict], Any]) -> None:
        super().__init__()
        if not callable(fn):
            raise ValueError("judge: must be a callable (context dict -> verdict), a Judge or None")
        self.fn = fn

    def answer_now(self, ctx: dict) -> Verdict:
        out = self.fn(ctx)
        conf = float(ctx.get("confidence", CONFIDENCE["medium"]))
        if isinstance(out, Verdict):
            return out
        if isinstance(out, dict):
            if out.get("veto"):
                return Verdict("don't enter", 0.0, source="function")
            out = out.get("confidence")
        if out is None or out is True:
            return Verdict("enter", conf, source="function")
        if out is False:
            return Verdict("don't enter", 0.0, source="function")
        if isinstance(out, (int, float, np.integer, np.floating)):
            c = float(out)
            if not math.isfinite(c) or c < 0 or c > 1:
                raise JudgeError(f"judge: confidence must be within [0, 1]; got {out!r}")
            return Verdict("enter" if c > 0 else "don't enter", c, source="function")
        raise JudgeError(f"judge: expected None, a bool, a confidence or a dict; got {type(out).__name__}")

    async def answer(self, ctx: dict) -> Verdict:
        return await asyncio.to_thread(self.answer_now, ctx)

"""A judge asking any OpenAI-compatible chat-completions endpoint (``POST {url}/chat/completions``).

The system message is the decision framework (:data:`PROMPT`); the user message is one JSON object:
the liquidation signal (symbol, direction, z-score and its thresholds, segment notional, one-sided
share and its purity levels, strength), the 1-minute candles over the look-back (change, volatility,
trend, aligned or not) and the day's headlines when a news provider is configured (else ``"news":
[]`` and ``"news_provider": "none"``).  The answer must be the strict answer format
(:func:`liqcore.judge.core.parse_answer`); anything else is refused.  The API key is a
:class:`liqcore.secrets.Secret`: it goes into the ``Authorization`` header only, never into a log line,
an error or a recording.
"""
from __future__ import annotations

import json

from liqcore.judge.core import Judge, JudgeError, JudgeUnavailable, Verdict, parse_answer

PROMPT = """You judge liquidation signals of a trend-following strategy on perpetual futures: when longs \
are liquidated in a burst the strategy goes SHORT, when shorts are liquidated it goes LONG. You get the \
liquidation signal, the recent 1-minute candles and the day's news for one token. All three dimensions \
are indispensable.

## Judgment Steps

Step 1: Liquidation Intensity
- Z-Score exceeds high threshold AND direction purity is very high -> Strong signal
- Z-Score meets base threshold AND direction purity meets requirements -> Medium signal
- Otherwise -> Don't enter

Step 2: Candlestick Trend
- Aligned with liquidation direction -> High probability of trend continuation, positive factor
- Opposite to liquidation direction -> Possibly just a temporary clearing rather than a trend, negative factor

Step 3: News Verification
- Substantive bearish/bullish news aligned with direction -> Positive factor
- No news -> Pure technical liquidation, reduce confidence
- News contradicts direction -> Don't enter

## Decision Matrix
| Liquidation Intensity | Candlestick Aligned | News | Decision |
| Strong | Yes | Yes | Enter, high confidence |
| Strong | Yes | No | Enter, medium confidence |
| Strong | No | Yes | Hold/observe |
| Medium | Yes | Yes | Enter, medium confidence |
| Medium | No or None | | Don't enter |

## Output Format
Return strict JSON, no markdown wrapping:
{
    "symbol": "token",
    "direction": "LONG or SHORT",
    "action": "enter/hold/don't enter",
    "confidence": "high/medium/low",
    "liq_note": "One-sentence assessment of liquidation signal",
    "trend_note": "One-sentence assessment of candlestick trend",
    "news_note": "One-sentence assessment of news",
    "action_reason": "One-sentence comprehensive reasoning"
}
"direction" must be the signal's direction as given."""

#: the context keys sent to the model (the rest stay local)
SENT = ("symbol", "venue", "direction", "z", "z_entry", "z_strong", "rec_notional", "long_share", "purity",
        "purity_strong", "strength", "segment_s", "candle_lookback_s", "price_change", "change_pct",
        "volatility_pct", "trend", "candles", "aligned")


def user_message(ctx: dict, headlines: list | None) -> str:
    d = {k: ctx[k] for k in SENT if k in ctx}
    d["direction"] = "LONG" if ctx["direction"] > 0 else "SHORT"
    from datetime import datetime, timezone

    d["time_utc"] = datetime.fromtimestamp(int(ctx["ts_ns"]) / 1e9, timezone.utc).isoformat(timespec="seconds")
    if headlines is None:
        d["news"], d["news_provider"] = [], "none"
    else:
        d["news"] = [{"title": h.get("title", ""),
                      "time_utc": datetime.fromtimestamp(int(h["ts_ns"]) / 1e9, timezone.utc).isoformat(timespec="seconds")}
                     for h in headlines if "ts_ns" in h]
    return json.dumps(d)


class OpenAIJudge(Judge):
    """``OpenAIJudge(url, model, key, news=None)``: ``url`` the API base (``https://host/v1``) or the full
    ``.../chat/completions`` address; ``key`` a :class:`~liqcore.secrets.Secret` (or None for an
    endpoint without one); ``news`` a news provider or None."""

    name = "openai"

    def __init__(self, url: str, model: str, key=None, news=None, temperature: float = 0.0) -> None:
        super().__init__()
        from liqcore.secrets import Secret

        if not str(url).startswith(("http://", "https://")):
            raise ValueError(f"judge-url: expected an http(s) URL; got {url!r}")
        u = str(url).rstrip("/")
        self.url = u if u.endswith("/chat/completions") else u + "/chat/completions"
        self.model = str(model)
        self.key = Secret(key) if isinstance(key, str) else key
        self.news = news
        self.temperature = float(temperature)
        self._session = None

    def __repr__(self) -> str:
        return f"OpenAIJudge({self.url!r}, {self.model!r}, key={self.key!r})"

    async def _post(self, body: dict) -> tuple[int, bytes]:
        import aiohttp

        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        headers = {"Content-Type": "application/json"}
        if self.key:
            headers["Authorization"] = "Bearer " + self.key.reveal()
        async with self._session.post(self.url, data=json.dumps(body), headers=headers) as resp:
            return resp.status, await resp.read()

    async def answer(self, ctx: dict) -> Verdict:
        heads = None if self.news is None else await self.news.headlines(ctx)
        body = {"model": self.model, "temperature": self.temperature,
                "messages": [{"role": "system", "content": PROMPT},
                             {"role": "user", "content": user_message(ctx, heads)}]}
        import aiohttp

        try:
            status, raw = await self._post(body)
        except aiohttp.ClientError as exc:
            raise JudgeUnavailable(f"endpoint unreachable ({type(exc).__name__})") from None
        if status != 200:
            raise JudgeUnavailable(f"endpoint answered HTTP {status}")
        try:
            msg = json.loads(raw)["choices"][0]["message"]
            content = msg.get("content")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise JudgeError("endpoint's reply is not a chat completion") from None
        if not isinstance(content, str) or not content.strip():
            why = msg.get("refusal") if isinstance(msg, dict) else None
            raise JudgeError("the model refused" + (f" ({str(why)[:80]})" if why else " (no content)"))
        v = parse_answer(content, int(ctx["direction"]))
        v.source = "openai"
        return v

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

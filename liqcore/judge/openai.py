"""A judge asking any OpenAI-compatible chat-completions endpoint (``POST {url}/chat/completions``).

The details: docs/maintainers/strategies.md, "A judge behind an OpenAI-compatible endpoint".

May import: ``aiohttp``, ``secrets`` and this package's ``cache``, ``core``.
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


def _loopback(url: str) -> bool:
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


class OpenAIJudge(Judge):
    """``OpenAIJudge(url, model, key, news=None)``: ``url`` the API base (``https://host/v1``) or the full
    ``.../chat/completions`` address; ``key`` a :class:`~liqcore.secrets.Secret` (or None for an
    endpoint without one); ``news`` a news provider or None; ``cache`` a
    :class:`liqcore.judge.cache.JudgeCache` for backtests (None: no cache)."""

    name = "openai"

    def __init__(self, url: str, model: str, key=None, news=None, temperature: float = 0.0, cache=None,
                 json_mode: bool = True) -> None:
        super().__init__()
        from liqcore.secrets import Secret, redact_url, url_userinfo

        if not str(url).startswith(("http://", "https://")):
            raise ValueError(f"judge-url: expected an http(s) URL; got {redact_url(url)!r}")
        u = redact_url(str(url)).rstrip("/")
        #: the endpoint (shown in .where, the repr, messages and the cache: never with ``user:password@``)
        self.url = u if u.endswith("/chat/completions") else u + "/chat/completions"
        self.model = str(model)
        self.key = Secret(key) if isinstance(key, str) else key
        #: ``user:password`` given in the URL: sent as HTTP basic auth, never shown
        self.userinfo = url_userinfo(url)
        if self.userinfo and self.key:
            raise ValueError(f"judge-url: {u} carries user:password and an API key is configured too: "
                             "give one (both would be the Authorization header)")
        self.news = news
        self.temperature = float(temperature)
        self.cache = cache
        self.json_mode = bool(json_mode)
        self.refresh = False  # (backtests: ask again even when the cache holds the question)
        self._session = None

    def __repr__(self) -> str:
        return f"OpenAIJudge({self.url!r}, {self.model!r}, key={self.key!r}" + \
            (f", userinfo={self.userinfo!r})" if self.userinfo else ")")

    @property
    def base(self) -> str:
        return self.url[: -len("/chat/completions")]

    @property
    def where(self) -> str:
        """``openai (MODEL at URL)``: how errors name this judge (never with the key)."""
        return f"openai ({self.model} at {self.base})"

    def _headers(self) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.key:
            headers["Authorization"] = "Bearer " + self.key.reveal()
        elif self.userinfo:
            import base64
            from urllib.parse import unquote

            user, _c, password = self.userinfo.reveal().partition(":")
            basic = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
            headers["Authorization"] = "Basic " + basic
        return headers

    def _client(self):
        import aiohttp

        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def _post(self, body: dict) -> tuple[int, bytes]:
        async with self._client().post(self.url, data=json.dumps(body), headers=self._headers()) as resp:
            return resp.status, await resp.read()

    # ---- the question -------------------------------------------------------------------------------
    async def prepare(self, ctx: dict) -> dict:
        """The request body for a signal (the prompt, its point-in-time context, the parameters)."""
        heads = None if self.news is None else await self.news.headlines(ctx)
        body = {"model": self.model, "temperature": self.temperature,
                "messages": [{"role": "system", "content": PROMPT},
                             {"role": "user", "content": user_message(ctx, heads)}]}
        if self.json_mode:
            body["response_format"] = {"type": "json_object"}
        return body

    def cache_key(self, body: dict) -> str:
        from liqcore.judge.cache import request_key

        return request_key(self.base, self.model, body)

    def cached(self, body: dict, ctx: dict, timeout_s: float):
        """From the cache: a :class:`Verdict` (or :class:`JudgeError` raised for a kept reply that is
        refused), ``"late"`` (the question went unanswered within at least ``timeout_s`` before), or
        None (not asked yet; also with ``refresh``)."""
        if self.cache is None or self.refresh:
            return None
        hit = self.cache.get(self.cache_key(body))
        if hit is None:
            return None
        content, late_s = hit
        if content is None:
            return "late" if late_s is not None and late_s >= timeout_s else None
        return self._verdict(content, ctx)

    def remember_late(self, body: dict, ctx: dict, timeout_s: float) -> None:
        if self.cache is not None:
            self.cache.put(self.cache_key(body), url=self.base, model=self.model, ctx=ctx, late_s=float(timeout_s))

    async def ask(self, body: dict, ctx: dict) -> Verdict:
        """Post the question; the reply text goes into the cache (when there is one) before it is parsed."""
        import aiohttp

        key = self.cache_key(body) if self.cache is not None else None  # (the question as asked first)
        try:
            status, raw = await self._post(body)
            if status == 400 and "response_format" in body and b"response_format" in raw:
                body = {k: v for k, v in body.items() if k != "response_format"}  # no JSON mode here
                self.json_mode = False
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
        if self.cache is not None:
            self.cache.put(key, url=self.base, model=self.model, ctx=ctx, content=content)
        return self._verdict(content, ctx)

    @staticmethod
    def _verdict(content: str, ctx: dict) -> Verdict:
        v = parse_answer(content, int(ctx["direction"]))
        v.source = "openai"
        return v

    async def answer(self, ctx: dict) -> Verdict:
        """Live: one signal, one call (the cache is neither read nor written)."""
        cache, self.cache = self.cache, None
        try:
            return await self.ask(await self.prepare(ctx), ctx)
        finally:
            self.cache = cache

    # ---- the start-up check -------------------------------------------------------------------------
    async def check(self, timeout_s: float = 8.0) -> str:
        """One cheap call: ``GET {base}/models`` (a one-token completion when the endpoint has no model
        list).  Returns a one-line description of what was checked; raises :class:`JudgeUnavailable`
        naming the judge (never the key, never the reply's body) when the key is refused, the server
        cannot be reached or does not offer the model."""
        import asyncio

        import aiohttp

        tmo = aiohttp.ClientTimeout(total=timeout_s)
        try:
            async with aiohttp.ClientSession(timeout=tmo) as session:
                async with session.get(self.base + "/models", headers=self._headers()) as resp:
                    status, raw = resp.status, await resp.read()
                how = "model list"
                if status in (404, 405):  # no model list here: the smallest completion instead
                    body = {"model": self.model, "max_tokens": 1, "messages": [{"role": "user", "content": "ping"}]}
                    async with session.post(self.url, data=json.dumps(body), headers=self._headers()) as resp:
                        status, raw = resp.status, await resp.read()
                    how = "one-token completion"
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            why = "no answer within %g s" % timeout_s if isinstance(exc, asyncio.TimeoutError) else type(exc).__name__
            raise JudgeUnavailable(f"judge {self.where}: endpoint unreachable ({why})") from None
        if status in (401, 403):
            keyed = "the API key was refused" if self.key else "it needs an API key and none is configured"
            raise JudgeUnavailable(f"judge {self.where}: {keyed} (HTTP {status})")
        if status != 200:
            raise JudgeUnavailable(f"judge {self.where}: the {how} answered HTTP {status}")
        if how == "model list":
            try:
                ids = [str(m.get("id")) for m in json.loads(raw).get("data", []) if isinstance(m, dict)]
            except (ValueError, AttributeError, TypeError):
                ids = []
            if ids and self.model not in ids:
                raise JudgeUnavailable(f"judge {self.where}: the endpoint does not offer this model "
                                       f"({len(ids)} models listed)")
        return f"judge {self.where}: endpoint answers ({how}), " + ("API key accepted" if self.key else "no API key")

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

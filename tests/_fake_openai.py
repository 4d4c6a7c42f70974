"""A fake OpenAI-compatible chat-completions endpoint on 127.0.0.1 (an aiohttp web server in a thread).

The model name picks the behaviour: ``valid`` (the strict answer, entering with high confidence in the
signal's direction), ``hold``, ``slow`` (valid after ``slow_s`` seconds), ``malformed`` (not JSON),
``fenced`` (JSON in a markdown fence), ``extra`` (an unknown key), ``wrong-direction``, ``refusing``
(no content, a refusal), ``http500``, ``no-json-mode`` (valid, but HTTP 400 naming ``response_format``
when JSON mode is requested, like an endpoint without it).  ``GET /v1/models`` lists the models.
``key``: the only API key accepted (``Authorization: Bearer KEY``); any other (or none) gets a 401 whose
body quotes the key sent, as OpenAI's does.  ``slow_s`` applies to ``slow``.  Every request is kept
(headers and body) in ``requests``."""
from __future__ import annotations

import asyncio
import json
import threading

from aiohttp import web


class FakeOpenAI:
    MODELS = ("valid", "hold", "slow", "malformed", "fenced", "extra", "wrong-direction", "refusing", "http500",
              "no-json-mode")

    def __init__(self, slow_s: float = 1.0, key: str | None = None) -> None:
        self.slow_s = slow_s
        self.key = key
        self.requests: list[dict] = []
        self.in_flight = self.max_in_flight = 0  # chat completions being answered (at most, so far)
        self._loop = asyncio.new_event_loop()
        self._runner = None
        self.port = 0

    def _refused(self, request: web.Request):
        if self.key is None or request.headers.get("Authorization") == "Bearer " + self.key:
            return None
        sent = request.headers.get("Authorization", "")[len("Bearer "):]
        return web.json_response({"error": {"message": f"Incorrect API key provided: {sent}.", "code": "invalid_api_key"}},
                                 status=401)

    async def _models(self, request: web.Request) -> web.Response:
        self.requests.append({"headers": dict(request.headers), "body": None, "path": request.path})
        return self._refused(request) or web.json_response(
            {"object": "list", "data": [{"id": m, "object": "model"} for m in self.MODELS]})

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append({"headers": dict(request.headers), "body": body, "path": request.path})
        refused = self._refused(request)
        if refused is not None:
            return refused
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer(body)
        finally:
            self.in_flight -= 1

    async def _answer(self, body: dict) -> web.Response:
        model = body.get("model")
        if model == "no-json-mode" and "response_format" in body:
            return web.json_response({"error": {"message": "response_format is not supported by this model"}},
                                     status=400)
        user = json.loads(body["messages"][1]["content"])
        direction = user["direction"]
        ans = {"symbol": user.get("symbol", ""), "direction": direction, "action": "enter", "confidence": "high",
               "liq_note": "one-sided long liquidations far above the baseline", "trend_note": "candles falling",
               "news_note": "no news", "action_reason": "strong, aligned liquidation signal"}
        content = json.dumps(ans)
        if model == "slow":
            await asyncio.sleep(self.slow_s)
        elif model == "hold":
            content = json.dumps(dict(ans, action="hold", confidence="medium"))
        elif model == "malformed":
            content = "I think you should enter short, confidence high."
        elif model == "fenced":
            content = "```json\n" + content + "\n```"
        elif model == "extra":
            content = json.dumps(dict(ans, leverage=20))
        elif model == "wrong-direction":
            content = json.dumps(dict(ans, direction="LONG" if direction == "SHORT" else "SHORT"))
        elif model == "refusing":
            return web.json_response({"choices": [{"index": 0, "message": {"role": "assistant", "content": None,
                                                                         "refusal": "I can't help with trading."}}]})
        elif model == "http500":
            return web.json_response({"error": {"message": "overloaded"}}, status=500)
        return web.json_response({"id": "x", "object": "chat.completion", "model": model,
                                  "choices": [{"index": 0, "finish_reason": "stop",
                                               "message": {"role": "assistant", "content": content}}]})

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._handle)
        app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> "FakeOpenAI":
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

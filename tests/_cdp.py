"""A headless Chromium driven over the Chrome DevTools protocol (its own websocket, through aiohttp): what
the web dashboard's browser tests need and no more (open a page, evaluate JavaScript, collect console
errors and uncaught exceptions, take a screenshot).  ``chromium_path()`` is None when no Chromium is
installed; ``require_chromium()`` then skips the test, saying so, except under CI (``CI=true``), where a
missing browser fails it (as a missing hftbacktest does): CI installs Chromium, so its absence is a fault."""
from __future__ import annotations

import asyncio
import base64
import itertools
import re
import shutil
import subprocess
import os
import time
from pathlib import Path

import aiohttp
import pytest

__all__ = ["chromium_path", "require_chromium", "under_ci", "Browser"]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        p = shutil.which(name)
        if p:
            return p
    return None


def under_ci() -> bool:
    """Whether the tests run under CI (``CI`` set to 1/true/yes, as CI services set it)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require_chromium() -> str:
    """Chromium's path; without one, the test skips (saying how to install it), or fails under CI."""
    exe = chromium_path()
    if exe is None:
        why = "chromium is not installed (apt-get install chromium); the browser tests drive a headless Chromium"
        if under_ci():
            pytest.fail("CI: " + why, pytrace=False)
        pytest.skip(why)
    return exe


class Browser:
    """``async with Browser(profile_dir) as b: await b.open(url); await b.eval("1+1")``."""

    def __init__(self, profile_dir: Path, width: int = 1280, height: int = 1600):
        self.profile_dir = Path(profile_dir)
        self.size = (width, height)
        self.proc: subprocess.Popen | None = None
        self.errors: list[str] = []  # console errors and uncaught exceptions of the page
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future] = {}
        self._session_id: str | None = None

    async def __aenter__(self):
        exe = chromium_path()
        self.proc = subprocess.Popen(
            [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={self.profile_dir}",
             f"--window-size={self.size[0]},{self.size[1]}", "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        ws_url = await asyncio.to_thread(self._devtools_url)
        self._http = aiohttp.ClientSession()
        self._ws = await self._http.ws_connect(ws_url, max_msg_size=0)
        self._reader = asyncio.ensure_future(self._read())
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        att = await self.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        self._session_id = att["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            await self.send(f"{domain}.enable")
        return self

    def _devtools_url(self, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline().decode(errors="replace")
            m = re.search(r"DevTools listening on (ws://\S+)", line)
            if m:
                return m.group(1)
            if not line and self.proc.poll() is not None:
                break
        raise RuntimeError("chromium did not start its DevTools endpoint")

    async def __aexit__(self, *exc):
        self._reader.cancel()
        await self._ws.close()
        await self._http.close()
        self.proc.terminate()
        try:
            await asyncio.to_thread(self.proc.wait, 10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    async def _read(self) -> None:
        async for msg in self._ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            m = msg.json()
            if "id" in m:
                fut = self._waiting.pop(m["id"], None)
                if fut is not None and not fut.done():
                    fut.set_result(m)
                continue
            method, p = m.get("method"), m.get("params", {})
            if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                self.errors.append("console: " + " ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
            elif method == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                self.errors.append("exception: " + str(d.get("exception", {}).get("description") or d.get("text")))
            elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
                self.errors.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}")

    async def send(self, method: str, params: dict | None = None, timeout: float = 30.0) -> dict:
        i = next(self._ids)
        msg = {"id": i, "method": method, "params": params or {}}
        if self._session_id and not method.startswith("Target."):
            msg["sessionId"] = self._session_id
        fut = asyncio.get_running_loop().create_future()
        self._waiting[i] = fut
        await self._ws.send_json(msg)
        res = await asyncio.wait_for(fut, timeout)
        if "error" in res:
            raise RuntimeError(f"{method}: {res['error']}")
        return res.get("result", {})

    async def open(self, url: str) -> None:
        await self.send("Page.navigate", {"url": url})

    async def eval(self, expr: str):
        r = await self.send("Runtime.evaluate", {"expression": expr, "returnByValue": True})
        if "exceptionDetails" in r:
            raise RuntimeError(f"evaluate {expr!r}: {r['exceptionDetails']}")
        return r["result"].get("value")

    async def wait_for(self, expr: str, timeout: float = 30.0, every: float = 0.1):
        """Poll ``expr`` until it is truthy; returns its value (TimeoutError naming ``expr``)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                v = await self.eval(expr)
            except RuntimeError:
                v = None
            if v:
                return v
            if time.monotonic() > deadline:
                raise TimeoutError(f"page: {expr} not true within {timeout:g} s")
            await asyncio.sleep(every)

    async def screenshot(self, path: Path) -> Path:
        r = await self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        path.write_bytes(base64.b64decode(r["data"]))
        return path

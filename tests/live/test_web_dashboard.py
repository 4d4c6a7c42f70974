"""The web dashboard (``liqcore run --web``, ``liqcore journal --web``): its address parsing, the token
middleware (HTTP and websocket), the control endpoints only with ``--web-control`` and acting through the
engine's kill switch and order manager, and the page itself in a headless Chromium driven over the
DevTools protocol: a paper replay of the bundled recording watched live (cascades, orders, positions,
equity chart, checklist, no console error, a screenshot), and the page reconnecting once the server
behind it restarts (the replay's runner, then the finished session served from its journal)."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore.live.engine import Engine
from liqcore.live.web import (WebDashboard, flatten_all, is_loopback, parse_web_address, read_token_file)
from liqcore.testing.fake_replay import trade_frame

from _cdp import Browser, require_chromium
from _live_helpers import PARAMS, cascade_frames
from _session_env import child_env

pytestmark = pytest.mark.timeout(180)

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "t0ken-for-the-tests-7f3a9c"


# ---------------------------------------------------------------- address, token file

@pytest.mark.parametrize("text, expected", [("8080", ("127.0.0.1", 8080)), (":8080", ("127.0.0.1", 8080)),
                                            ("0.0.0.0:81", ("0.0.0.0", 81)), ("[::1]:9000", ("::1", 9000)),
                                            ("localhost:0", ("localhost", 0))])
def test_web_address(text, expected):
    assert parse_web_address(text) == expected


@pytest.mark.parametrize("text", ["", "host:", "a:b", "70000", ":-1"])
def test_bad_web_address_names_the_flag(text):
    with pytest.raises(ValueError, match="web"):
        parse_web_address(text)


def test_loopback_and_token_rules(tmp_path):
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.5.0.1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.10") and not is_loopback("example.org")
    with pytest.raises(ValueError, match="token is required"):
        WebDashboard(lambda: {}, "0.0.0.0", 0)
    f = tmp_path / "tok"
    f.write_text(TOKEN + "\n")
    assert read_token_file(f) == TOKEN
    f.write_text("  \n")
    with pytest.raises(ValueError, match="web-token-file"):
        read_token_file(f)
    with pytest.raises(ValueError, match="web-token-file: cannot read"):
        read_token_file(tmp_path / "missing")


def test_cli_generates_a_token_off_the_loopback_and_none_on_it(tmp_path):
    import argparse

    from liqcore.commands.run import web_options

    ns = argparse.Namespace(web="0.0.0.0:8080", web_token_file=None, web_control=False)
    o = web_options(ns)
    assert o["host"] == "0.0.0.0" and len(o["token"]) >= 30 and o["print_token"]
    assert web_options(argparse.Namespace(web=":8080", web_token_file=None, web_control=False))["token"] is None
    f = tmp_path / "tok"
    f.write_text(TOKEN)  # a token file: required on the loopback too, and not printed
    o = web_options(argparse.Namespace(web=":8080", web_token_file=str(f), web_control=True))
    assert o["token"] == TOKEN and not o["print_token"] and o["control"]
    # the control endpoints need a token on the loopback too: one is generated and printed
    o = web_options(argparse.Namespace(web=":8080", web_token_file=None, web_control=True))
    assert o["host"] == "127.0.0.1" and len(o["token"]) >= 30 and o["print_token"] and o["control"]
    with pytest.raises(ValueError, match="need --web"):
        web_options(argparse.Namespace(web=None, web_token_file=None, web_control=True))


def test_an_address_in_use_fails_the_run_in_one_line(recordings):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        p = subprocess.run([sys.executable, "-m", "liqcore", "run", "--symbols", "ETHUSDT", "--replay", "recordings/",
                            "--no-dashboard", "--web", f"127.0.0.1:{port}"], cwd=recordings, capture_output=True,
                           timeout=120, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    last = [ln for ln in p.stderr.decode().splitlines() if not ln.startswith("{")][-1]
    assert p.returncode == 1 and last.startswith(f"liqcore run: error: --web 127.0.0.1:{port}: cannot bind") \
        and "in use" in last, p.stderr.decode()[-2000:]


# ---------------------------------------------------------------- the token middleware

async def _serve(dash: WebDashboard) -> TestServer:
    server = TestServer(dash.app(), host="127.0.0.1")  # (the app of a dashboard configured off the loopback)
    await server.start_server()
    return server


def test_off_loopback_requests_need_the_token_http_and_websocket():
    view = {"source": "live", "snapshot": {"equity": 10_000.0}, "history": {}}

    async def main():
        dash = WebDashboard(lambda: view, "192.0.2.10", 8080, token=TOKEN)
        server = await _serve(dash)
        base = f"http://127.0.0.1:{server.port}"
        try:
            async with aiohttp.ClientSession() as s:
                for path in ("/", "/api/view", "/static/app.js", "/ws"):
                    async with s.get(base + path) as r:
                        assert r.status == 401, path
                async with s.get(base + "/api/view", params={"token": "wrong-" + TOKEN}) as r:
                    assert r.status == 401
                with pytest.raises(aiohttp.WSServerHandshakeError) as e:
                    await s.ws_connect(base + "/ws")
                assert e.value.status == 401
                async with s.get(base + "/api/view", headers={"Authorization": f"Bearer {TOKEN}"}) as r:
                    assert r.status == 200 and (await r.json())["snapshot"]["equity"] == 10_000.0
                async with s.get(base + "/api/health", headers={"Authorization": f"Bearer {TOKEN}"}) as r:
                    assert (await r.json())["pages"] == 0
            # the token once in the address: a cookie from then on, the address bar cleared, the page token-free
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
                async with s.get(base + "/", params={"token": TOKEN}, allow_redirects=False) as r:
                    assert r.status == 303 and r.headers["Location"] == "/"
                    assert "HttpOnly" in r.headers["Set-Cookie"]
                async with s.get(base + "/") as r:
                    page = await r.text()
                    assert r.status == 200 and "liqcore dashboard" in page and TOKEN not in page
                for name in ("app.js", "lcchart.js", "app.css"):
                    async with s.get(base + "/static/" + name) as r:
                        assert r.status == 200 and TOKEN not in await r.text()
                ws = await s.ws_connect(base + "/ws")
                msg = await ws.receive(timeout=5)
                assert json.loads(msg.data)["snapshot"]["equity"] == 10_000.0 and TOKEN not in msg.data
                async with s.get(base + "/api/health") as r:
                    assert (await r.json())["pages"] == 1  # the open websocket is counted
                msg = await ws.receive(timeout=5)  # and pushed to (4 Hz)
                assert json.loads(msg.data)["snapshot"]["equity"] == 10_000.0
                await ws.close()
        finally:
            await server.close()

    asyncio.run(main())


def test_static_files_are_package_data_and_nothing_is_fetched_from_elsewhere():
    try:
        import tomllib
    except ModuleNotFoundError:  # (Python 3.10)
        import tomli as tomllib

    from liqcore.live.web import STATIC_DIR

    names = sorted(p.name for p in STATIC_DIR.iterdir())
    assert names == ["app.css", "app.js", "index.html", "lcchart.js"]
    for p in STATIC_DIR.iterdir():
        text = p.read_text()
        assert "http://" not in text and "https://" not in text, p.name  # every resource from this server
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "web_static/*" in cfg["tool"]["setuptools"]["package-data"]["liqcore.live"]


# ---------------------------------------------------------------- Host, Origin, token (DNS rebinding, other pages)

VIEW = {"source": "live", "snapshot": {"equity": 10_000.0, "positions": [{"symbol": "ETHUSDT"}]}, "history": {}}
EVIL = "http://evil.example"


def test_a_foreign_origin_or_host_is_refused_on_the_loopback_http_and_websocket():
    """No token (the loopback default): a page on another site reads nothing over the websocket or HTTP, and a
    name an attacker's DNS points at 127.0.0.1 (DNS rebinding) gets nothing either; the page's own origin does."""
    async def main():
        dash = WebDashboard(lambda: VIEW, "127.0.0.1", 0, hz=20)
        url = await dash.start()
        own = url.rstrip("/")
        port = dash.port
        try:
            async with aiohttp.ClientSession() as s:
                with pytest.raises(aiohttp.WSServerHandshakeError) as e:
                    await s.ws_connect(url + "ws", origin=EVIL)
                assert e.value.status == 403
                with pytest.raises(aiohttp.WSServerHandshakeError) as e:  # another port of the same host too
                    await s.ws_connect(url + "ws", origin=f"http://127.0.0.1:{port + 1}")
                assert e.value.status == 403
                for path in ("/", "/api/view", "/api/health", "/static/app.js"):
                    async with s.get(url + path.lstrip("/"), headers={"Origin": EVIL}) as r:
                        assert r.status == 403 and "10000" not in await r.text(), path
                    async with s.get(url + path.lstrip("/"), headers={"Host": f"evil.example:{port}"}) as r:
                        assert r.status == 403 and "Host" in await r.text(), path
                async with s.get(url + "api/view", headers={"Host": f"127.0.0.1.evil.example:{port}"}) as r:
                    assert r.status == 403
                async with s.get(url + "api/view", headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"}) as r:
                    assert r.status == 403  # a cross-site fetch that hides its Origin
                with pytest.raises(aiohttp.WSServerHandshakeError) as e:
                    await s.ws_connect(url + "ws", origin=own, headers={"Host": f"evil.example:{port}"})
                assert e.value.status == 403
                # the page's own origin and the loopback's names are served
                ws = await s.ws_connect(url + "ws", origin=own)
                msg = await ws.receive(timeout=30)
                assert json.loads(msg.data)["snapshot"]["equity"] == 10_000.0
                await ws.close()
                for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost"):
                    async with s.get(url + "api/view", headers={"Host": host, "Origin": f"http://{host}"}) as r:
                        assert r.status == 200 and (await r.json())["snapshot"]["equity"] == 10_000.0, host
        finally:
            await dash.stop()

    asyncio.run(main())


def test_control_needs_the_token_on_the_loopback_too():
    async def main():
        eng = _engine_with_a_position()
        await eng.start()
        with pytest.raises(ValueError, match="need a token"):
            WebDashboard(lambda: {}, "127.0.0.1", 0, control=True, engine=eng)
        dash = WebDashboard(lambda: VIEW, "127.0.0.1", 0, control=True, engine=eng, token=TOKEN)
        url = await dash.start()
        port = dash.port
        hdr = {"X-Liqcore-Control": "1"}
        try:
            async with aiohttp.ClientSession() as s:
                async with s.post(url + "api/kill", json={"on": True}, headers=hdr) as r:
                    assert r.status == 401
                async with s.post(url + "api/flatten", headers=hdr) as r:
                    assert r.status == 401
                # the request of a rebinding page: foreign Host and Origin, the control header, no token
                evil = {**hdr, "Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"}
                async with s.post(url + "api/kill", json={"on": True}, headers=evil) as r:
                    assert r.status == 403
                # even with the token, another page's Origin is refused
                async with s.post(url + "api/kill", json={"on": True},
                                  headers={**hdr, "Origin": EVIL, "Authorization": f"Bearer {TOKEN}"}) as r:
                    assert r.status == 403
                assert not eng.risk.killed and eng.books["ETHUSDT"].position_qty > 0
                async with s.post(url + "api/kill", json={"on": True},
                                  headers={**hdr, "Origin": url.rstrip("/"), "Authorization": f"Bearer {TOKEN}"}) as r:
                    assert r.status == 200 and await r.json() == {"kill_switch": True}
                assert eng.risk.killed
        finally:
            await dash.stop()

    asyncio.run(main())


def test_the_token_in_the_address_only_on_the_root_and_only_once():
    async def main():
        dash = WebDashboard(lambda: VIEW, "127.0.0.1", 0, token=TOKEN)
        url = await dash.start()
        try:
            async with aiohttp.ClientSession() as s:
                for path in ("api/view", "api/health", "static/app.js", "ws"):
                    async with s.get(url + path, params={"token": TOKEN}, allow_redirects=False) as r:
                        assert r.status == 401, path  # ?token= is taken on / only
                async with s.get(url, params={"token": "wrong-" + TOKEN}, allow_redirects=False) as r:
                    assert r.status == 401 and "Set-Cookie" not in r.headers
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
                async with s.get(url, params={"token": TOKEN}, allow_redirects=False) as r:
                    assert r.status == 303 and r.headers["Location"] == "/"
                    cookie = r.headers["Set-Cookie"]
                    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
                async with s.get(url + "api/view") as r:  # the cookie from now on
                    assert r.status == 200
        finally:
            await dash.stop()

    asyncio.run(main())


def _self_signed(tmp_path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by its own key, made here (nothing from the user's machine)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    c, k = tmp_path / "cert.pem", tmp_path / "key.pem"
    c.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    return c, k


def test_https_with_a_certificate_and_a_secure_cookie(tmp_path, capsys):
    import argparse
    import ssl

    from liqcore.live.web import announce, plain_http_warning, tls_context, web_options

    cert, key = _self_signed(tmp_path)
    opts = web_options(argparse.Namespace(web="127.0.0.1:0", web_token_file=None, web_control=False,
                                          web_cert=str(cert), web_key=str(key)))
    client = ssl.create_default_context(cafile=str(cert))  # the client trusts this certificate only

    async def main():
        dash = WebDashboard(lambda: VIEW, "127.0.0.1", 0, token=TOKEN, ssl_context=opts["ssl"])
        url = await dash.start()
        try:
            assert url.startswith("https://127.0.0.1:")
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
                async with s.get(url, params={"token": TOKEN}, allow_redirects=False, ssl=client) as r:
                    assert r.status == 303
                    cookie = r.headers["Set-Cookie"]
                    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
                ws = await s.ws_connect(url.replace("https", "wss") + "ws", ssl=client, origin=url.rstrip("/"),
                                        headers={"Authorization": f"Bearer {TOKEN}"})
                msg = await ws.receive(timeout=30)
                assert json.loads(msg.data)["snapshot"]["equity"] == 10_000.0
                await ws.close()
                with pytest.raises(aiohttp.ClientError):  # plain HTTP is not served on the TLS port
                    async with s.get(url.replace("https", "http") + "api/health") as r:
                        assert r.status >= 400
        finally:
            await dash.stop()

    asyncio.run(main())
    # off the loopback the start says plainly that the page is plain HTTP, unless it is served over TLS
    assert plain_http_warning("127.0.0.1", False) is None and plain_http_warning("192.0.2.10", True) is None
    announce("http://192.0.2.10:8080/", {"host": "192.0.2.10", "token": TOKEN, "print_token": True, "ssl": None})
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "web dashboard: http://192.0.2.10:8080/" and TOKEN in err[1]
    assert err[2].startswith("warning: the web dashboard on 192.0.2.10 is plain HTTP") and "--web-cert" in err[2]
    announce("https://192.0.2.10:8080/", {"host": "192.0.2.10", "token": TOKEN, "print_token": True, "ssl": opts["ssl"]})
    assert "plain HTTP" not in capsys.readouterr().err
    with pytest.raises(ValueError, match="web-cert: cannot read"):
        tls_context(tmp_path / "missing.pem", key)
    with pytest.raises(ValueError, match="web-cert: .* are not a PEM certificate"):
        tls_context(key, key)
    with pytest.raises(ValueError, match="go together"):
        tls_context(cert, None)


# ---------------------------------------------------------------- control endpoints

def _engine_with_a_position() -> Engine:
    eng = Engine(PARAMS, symbols=["ETHUSDT"])
    t0 = 1_763_683_200_000
    for f in cascade_frames(t0_ms=t0):
        eng.on_frame("bybit", f, orjson.loads(f)["ts"] * 1_000_000)
    eng.on_frame("bybit", orjson.dumps(trade_frame("ETHUSDT", 2995.0, 1, "Sell", t0 + 24_000)), (t0 + 24_000) * 10**6)
    assert eng.books["ETHUSDT"].position_qty > 0  # the entry resting at 2995.5 filled
    return eng


def test_control_endpoints_exist_only_with_control_and_act_through_the_engine():
    async def main():
        eng = _engine_with_a_position()
        await eng.start()
        off = WebDashboard(lambda: {}, "127.0.0.1", 0, engine=eng)
        on = WebDashboard(lambda: {}, "127.0.0.1", 0, control=True, engine=eng, token=TOKEN)
        s_off, s_on = await _serve(off), await _serve(on)
        hdr = {"X-Liqcore-Control": "1", "Authorization": f"Bearer {TOKEN}"}
        try:
            async with aiohttp.ClientSession() as s:
                for path in ("/api/kill", "/api/flatten"):
                    async with s.post(f"http://127.0.0.1:{s_off.port}{path}", json={"on": True}, headers=hdr) as r:
                        assert r.status in (404, 405), path  # no such endpoint without --web-control
                base = f"http://127.0.0.1:{s_on.port}"
                async with s.post(base + "/api/kill", json={"on": True}, headers={"Authorization": f"Bearer {TOKEN}"}) as r:
                    assert r.status == 403  # a cross-site form cannot send the header
                assert not eng.risk.killed
                async with s.post(base + "/api/kill", json={"on": "yes"}, headers=hdr) as r:
                    assert r.status == 400
                async with s.post(base + "/api/kill", json={"on": True}, headers=hdr) as r:
                    assert r.status == 200 and (await r.json()) == {"kill_switch": True}
                assert eng.risk.killed
                async with s.post(base + "/api/kill", json={"on": False}, headers=hdr) as r:
                    assert (await r.json()) == {"kill_switch": False}
                assert not eng.risk.killed
                async with s.post(base + "/api/flatten", headers=hdr) as r:
                    assert r.status == 200
                    assert await r.json() == {"kill_switch": True, "cancelled": [], "closing": ["ETHUSDT"]}
                await eng.order_manager.drain(5)
            # closed at market through the order manager's close (the paper venue's reduce-only close)
            assert eng.books["ETHUSDT"].position_qty == 0 and eng.risk.killed
            snap = eng.snapshot()
            assert snap["positions"] == [] and snap["symbols"][0]["trades"] == 1
        finally:
            await s_off.close()
            await s_on.close()

    asyncio.run(main())


def test_flatten_cancels_a_resting_entry():
    async def main():
        eng = Engine(PARAMS, symbols=["ETHUSDT"])
        for f in cascade_frames(t0_ms=1_763_683_200_000):
            eng.on_frame("bybit", f, orjson.loads(f)["ts"] * 1_000_000)
        await eng.start()
        assert eng.snapshot()["symbols"][0]["order"]["status"] == "new"
        assert flatten_all(eng) == {"kill_switch": True, "cancelled": ["ETHUSDT"], "closing": []}
        await eng.order_manager.drain(5)
        assert eng.snapshot()["symbols"][0]["order"] is None

    asyncio.run(main())


# ---------------------------------------------------------------- the price trail

def line_range_at(points, t: float, w: float) -> tuple[float, float]:
    """The lowest and highest price the line through ``points`` ([[t, price]], in time order) draws within
    ``w`` seconds of ``t`` (its vertices there and where it crosses the window's edges)."""
    vals = [p for tt, p in points if t - w <= tt <= t + w]
    for edge in (t - w, t + w):
        for (ta, pa), (tb, pb) in zip(points, points[1:]):
            if ta < edge < tb:
                vals.append(pa + (pb - pa) * (edge - ta) / (tb - ta))
    assert vals, f"no line within {w} s of {t}"
    return min(vals), max(vals)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 5.0), st.floats(1.0, 2.0), st.integers(0, 1)), min_size=1, max_size=400),
       st.integers(2, 12))
def test_price_trail_keeps_every_trade_within_the_line(steps, max_buckets):
    """Decimated, not dropped: however many buckets merge, every trade lies within the line's range within one
    bucket of its time, the line's extremes are the trades', and the vertices stay within 4 per bucket."""
    from liqcore.live.web import PriceTrail

    trail = PriceTrail({7: "ETHUSDT", 8: "BTCUSDT"}, max_buckets=max_buckets, width_s=0.25)
    t, trades = 1_767_582_000.0, {"ETHUSDT": [], "BTCUSDT": []}
    for dt, px, which in steps:
        t += dt
        sym = ("ETHUSDT", "BTCUSDT")[which]
        trades[sym].append((t, px))
        trail([(int(t * 1e9), int(t * 1e9), px, 1.0, 7 + which, 1, 2, 1, 0)])
        if len(trades[sym]) % 3 == 0:  # views taken while trades arrive (the closed buckets' vertices kept)
            trail.drain()
            trail.points(sym)
    trail([(int(t * 1e9), int(t * 1e9), 5.0, 1.0, 9, 1, 2, 1, 0), (int(t * 1e9), int(t * 1e9), 5.0, 1.0, 7, 1, 1, 1, 0)])
    trail.drain()  # (another symbol's trade and a liquidation are not drawn)
    assert trail.trades == len(steps)
    w = trail.width_s
    for sym, got in trades.items():
        pts = trail.points(sym)
        assert pts == [v for x in trail.buckets.get(sym, ()) for v in PriceTrail._vertices(x)]  # as made afresh
        assert len(pts) <= 4 * max_buckets and [p[0] for p in pts] == sorted(p[0] for p in pts)
        if not got:
            assert pts == []
            continue
        assert min(p for _, p in pts) == min(p for _, p in got) and max(p for _, p in pts) == max(p for _, p in got)
        assert pts[0][1] == got[0][1] and pts[-1][1] == got[-1][1]  # the first and the last trade
        for tt, px in got:
            lo, hi = line_range_at(pts, int(tt * 1e9) / 1e9, w)
            assert lo <= px <= hi


def test_price_trail_reads_the_engine_batches_arrays_too():
    import numpy as np

    from liqcore.live.web import PriceTrail
    from liqcore.types import EVENT_DTYPE

    trail = PriceTrail({3: "SOLUSDT"})
    ev = np.zeros(3, EVENT_DTYPE)
    ev["ts_recv"] = [1_000_000_000, 2_000_000_000, 3_000_000_000]
    ev["price"] = [150.0, 151.0, 149.0]
    ev["symbol_id"] = 3
    ev["kind"] = [2, 1, 2]  # a trade, a liquidation, a trade
    trail(ev)
    trail(ev[:0])
    trail.drain()
    assert trail.points("SOLUSDT") == [[1.0, 150.0], [3.0, 149.0]] and trail.trades == 2


@pytest.mark.parametrize("strategy", ["cascade-mm", "cascade-fade"])  # the guide's path and the streaming path
def test_the_price_line_is_what_the_engine_took(strategy):
    """Every trade the engine took is on the line; an absurd print (100x the price) and a print stamped 10 min
    ahead of its receive time, which the engine drops and counts, are not drawn."""
    import types

    import numpy as np

    from liqcore.live.web import LiveView
    from liqcore.types import EVENT_DTYPE, Kind, Venue

    eng = Engine(PARAMS, symbols=["ETHUSDT"], strategy=strategy)
    assert (eng.stream_path is None) == (strategy == "cascade-mm")
    view = LiveView(types.SimpleNamespace(engine=eng, snapshot=eng.snapshot))
    t0 = 1_763_683_200_000
    good = [3000.0, 3001.5, 2999.0, 3002.0, 3000.5]
    for i, px in enumerate(good):
        eng.on_frame("bybit", orjson.dumps(trade_frame("ETHUSDT", px, 1, "Sell", t0 + 1000 * i)), (t0 + 1000 * i) * 10**6)
    eng.on_frame("bybit", orjson.dumps(trade_frame("ETHUSDT", 300_000.0, 1, "Sell", t0 + 6000)), (t0 + 6000) * 10**6)
    # (the decoder drops a print stamped ahead of its receive time; events handed in directly meet the engine's
    # own check)
    ahead = np.zeros(1, EVENT_DTYPE)
    ahead[0] = ((t0 + 7000 + 600_000) * 10**6, (t0 + 7000) * 10**6, 2500.0, 1.0, eng.registry.id("bybit", "ETHUSDT"),
                -1, int(Kind.TRADE), int(Venue.BYBIT), 0)
    eng.on_events(ahead)
    eng.on_frame("bybit", orjson.dumps(trade_frame("ETHUSDT", 3003.0, 1, "Sell", t0 + 8000)), (t0 + 8000) * 10**6)
    assert eng.rejects.get("implausible_price") == 1 and eng.rejects.get("future_time") == 1, eng.rejects
    pts = view()["history"]["prices"]["ETHUSDT"]
    assert sorted({p for _, p in pts}) == sorted(good + [3003.0])
    assert view.trail.trades == len(good) + 1


# ---------------------------------------------------------------- in a real browser

@pytest.fixture
def chromium() -> str:
    """Chromium's path: the browser tests skip without one, and fail under CI (CI=true), which installs it."""
    return require_chromium()


needs_chromium = pytest.mark.usefixtures("chromium")


def test_ci_without_a_browser_fails_the_browser_tests(tmp_path):
    """Under CI a missing Chromium fails the browser tests (a skip would let CI pass without them); elsewhere
    they skip, saying why.  (PATH holds no browser here: an empty folder.)"""
    test = f"{Path(__file__).relative_to(ROOT)}::test_order_and_position_rows_in_chromium"
    runs = {}
    for ci in ("true", ""):
        # (no LIQCORE_* of this session: the inner session's "user's cache" is a folder of its own, which this
        # session's other workers do not write into)
        env = child_env(keep_cache=False, drop=("CI", "PYTEST_ADDOPTS"))
        env.update(PATH=str(tmp_path), CI=ci, PYTHONPATH=str(ROOT), LIQCORE_CACHE_DIR=str(tmp_path / f"cache{ci}"))
        p = subprocess.run([sys.executable, "-m", "pytest", "-n", "0", "-q", "-rs", "-p", "no:cacheprovider", test],
                           cwd=ROOT, env=env, capture_output=True, timeout=300)
        runs[ci] = (p.returncode, p.stdout.decode(errors="replace"))
    code, out = runs["true"]
    assert code == 1 and "1 error" in out and "CI: chromium is not installed" in out, out[-2000:]
    code, out = runs[""]
    assert code == 0 and "1 skipped" in out and "chromium is not installed" in out, out[-2000:]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def recordings(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("rec")
    subprocess.run([sys.executable, "-m", "liqcore.data", str(d / "recordings")], check=True, capture_output=True,
                   timeout=60)
    return d


def _start(argv, cwd) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "liqcore", *argv], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _wait_line(proc: subprocess.Popen, needle: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline().decode(errors="replace")
        if needle in line:
            return line
        if not line and proc.poll() is not None:
            break
    raise AssertionError(f"no {needle!r} from the process (exit {proc.poll()})")


def _stop(proc: subprocess.Popen) -> tuple[int, bytes]:
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    return proc.returncode, out


def _replay(port: int, *extra) -> list[str]:
    # paper trading the bundled recording on its replayed clock at 1000x (4.7 h in about 17 s)
    return ["run", "--symbols", "ETHUSDT", "--replay", "recordings/", "--no-dashboard", "--strategy", "cascade-mm",
            "--exits", "engine", "--speed", "1000", "--duration", "90", "--web", f"127.0.0.1:{port}", "--json", *extra]


DOM = """(() => ({
  cascades: document.querySelectorAll('#cascades .cascade-row').length,
  orders: document.querySelectorAll('#orders .order-row').length,
  positions: document.querySelectorAll('#positions .position-row').length,
  symbols: document.querySelectorAll('#symbols .symbol-row').length,
  checklist: [...document.querySelectorAll('#checklist .check-row')].map(r => r.cells[0].textContent + '|' + r.cells[2].textContent),
  equity: +document.getElementById('equity-chart').dataset.points,
  prices: +document.getElementById('price-chart').dataset.points,
  fills: +document.getElementById('price-chart').dataset.fills,
  marks: +document.getElementById('price-chart').dataset.cascades,
  controls: !document.getElementById('controls').hidden,
  status: document.getElementById('status').textContent,
  connects: +document.getElementById('status').dataset.connects,
  source: document.getElementById('source').textContent,
  balance: document.querySelector('#account tr td.num').textContent,
  feed_gaps: [...document.querySelectorAll('#feeds tr')].filter(r => r.cells[0].textContent === 'frames / gaps / reconnects')
               .map(r => +r.cells[1].textContent.split(' / ')[1]),
  axes: ['equity-chart', 'price-chart'].map(id => [+document.getElementById(id).dataset.t0, +document.getElementById(id).dataset.t1]),
  ylabels: ['equity-chart', 'price-chart'].map(id => JSON.parse(document.getElementById(id).dataset.ylabels || '[]')),
  line: document.getElementById('price-chart').lcPoints,
  symbol: document.getElementById('price-symbol').value,
  view_fills: view.history.fills, bucket_s: view.history.price_bucket_s,
  clipped: [...document.querySelectorAll('.card')].filter(c => c.scrollWidth > c.clientWidth + 1 || c.scrollHeight > c.clientHeight + 1)
             .map(c => c.querySelector('h2').textContent),
  orders_count: +[...document.querySelectorAll('#account tr')].find(r => r.cells[0].textContent.startsWith('cascades / orders'))
                  .cells[1].textContent.split(' / ')[1],
}))()"""


#: the page has drawn a view (the account table's figures), not merely opened its socket
DRAWN = "document.querySelector('#account tr td.num') !== null"


SEEN = """(() => {
  window.__seen = {orders: 0, positions: 0, renders: 0};
  const count = () => {
    const s = window.__seen; s.renders += 1;
    s.orders = Math.max(s.orders, document.querySelectorAll('#orders .order-row').length);
    s.positions = Math.max(s.positions, document.querySelectorAll('#positions .position-row').length);
  };
  for (const id of ['orders', 'positions']) new MutationObserver(count).observe(document.getElementById(id).tBodies[0], {childList: true});
  return true;
})()"""


@needs_chromium
@pytest.mark.integration
def test_replay_watched_in_chromium(recordings, tmp_path):
    """The replay watched at 1,400 px: tables, charts, checklist; the price line drawn from every trade (decimated)
    passes through every fill, on the equity chart's time axis; the feed's gaps are the run's; nothing clipped."""
    port = _free_port()
    proc = _start(_replay(port), recordings)
    try:
        url = _wait_line(proc, "web dashboard:").split("web dashboard:")[1].split()[0]
        assert url == f"http://127.0.0.1:{port}/"

        async def main():
            async with Browser(tmp_path / "profile", width=1400) as b:
                await b.open(url)
                await b.wait_for(DRAWN)
                # watch the replay: every render of the orders and positions tables is seen (the resting entry
                # and the open position show while they exist: 0.4 s for the first position at 1000x)
                await b.eval(SEEN)
                await b.wait_for("document.querySelectorAll('#cascades .cascade-row').length >= 1", timeout=60)
                await asyncio.to_thread(_wait_line, proc, "replay finished", 90)
                await asyncio.sleep(1.0)  # the final state pushed
                seen = await b.eval("window.__seen")
                final = await b.eval(DOM)
                shot = await b.screenshot(tmp_path / "dashboard.png")
                return seen, final, list(b.errors), shot

        seen, final, errors, shot = asyncio.run(main())
    finally:
        code, out = _stop(proc) if proc.poll() is None else (proc.returncode, proc.stdout.read())
    summary = json.loads(out)
    assert code == 0 and summary["cascades"] == 2
    assert errors == []
    assert final["cascades"] == 2 and final["marks"] == 2 and final["symbols"] == 1
    # the entries (the account's orders count; a resting entry lasts 40 ms at 1000x: the order row is checked
    # in test_order_and_position_rows_in_chromium) and the open position's row (0.4 s at 1000x)
    assert final["orders_count"] == summary["orders"] >= 2 and seen["positions"] >= 1, seen
    assert final["status"] == "connected" and not final["controls"] and final["source"] == "replay"
    # the equity chart: the starting equity and one point per closed trade (at least)
    assert final["equity"] >= 1 + len(summary["trades"]) and final["prices"] > 10
    assert final["fills"] == 2 * len(summary["trades"]) > 0
    assert final["balance"] == f"{summary['equity']:,.2f}"
    checks = final["checklist"]
    assert any(c.startswith("cascades per day ETHUSDT|5-9 /day") for c in checks), checks
    assert any(c.startswith("fill rate|50-80 %") for c in checks) and any(c.startswith("win rate|65-75 %") for c in checks)
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:4] == b"\x89PNG"
    # the price line: every trade, decimated (far more than a per-view sample's handful of vertices), through
    # every fill at its time; one time axis with the equity chart; round, distinct axis labels
    assert final["symbol"] == "ETHUSDT" and final["prices"] > 200 and final["bucket_s"] > 0
    fills = [f for f in final["view_fills"] if f["symbol"] == "ETHUSDT"]
    assert len(fills) == final["fills"] > 0
    for f in fills:
        lo, hi = line_range_at(final["line"], f["t"], final["bucket_s"])
        assert lo - 1e-9 <= f["price"] <= hi + 1e-9, (f, lo, hi)
    assert final["axes"][0] == final["axes"][1] and final["axes"][0][0] < final["axes"][0][1]
    for labels in final["ylabels"]:
        assert len(labels) >= 3 and len(set(labels)) == len(labels), labels
    # the feed's gaps as the run counted them, and no panel clipped with scrollbars at 1,400 px
    assert final["feed_gaps"] == [summary["gaps"]]
    assert final["clipped"] == []


@needs_chromium
@pytest.mark.integration
def test_page_reconnects_when_the_server_behind_it_restarts(recordings, tmp_path):
    port = _free_port()
    proc = _start([*_replay(port), "--journal", "session.sqlite", "--web-control"], recordings)
    try:
        url = _wait_line(proc, "web dashboard:").split("web dashboard:")[1].split()[0]
        # --web-control: the token on the loopback too, generated and printed at start
        token = _wait_line(proc, "web dashboard token:").split("web dashboard token:")[1].split()[0]

        async def main():
            async with Browser(tmp_path / "profile") as b:
                await b.open(url + "?token=" + token)
                # the content drawn from the first view, not just the socket open
                await b.wait_for(DRAWN)
                assert await b.eval("location.search") == ""  # the token left the address bar
                d = await b.eval(DOM)
                assert d["controls"]  # --web-control: the buttons are there
                await asyncio.to_thread(_wait_line, proc, "replay finished", 90)
                code, _ = await asyncio.to_thread(_stop, proc)
                assert code == 0
                await b.wait_for("document.getElementById('status').className === 'down'")
                # the finished session, from its journal, on the same address: the page reconnects by itself
                server = _start(["journal", "session.sqlite", "--web", f"127.0.0.1:{port}"], recordings)
                try:
                    await asyncio.to_thread(_wait_line, server, "web dashboard:")
                    await b.wait_for("document.getElementById('status').dataset.connects === '2'", timeout=30)
                    await b.wait_for("document.getElementById('source').textContent.startsWith('journal') && "
                                     + DRAWN)
                    d = await b.eval(DOM)
                finally:
                    code2, _ = await asyncio.to_thread(_stop, server)
                return d, code2, list(b.errors)

        d, code2, errors = asyncio.run(main())
    finally:
        if proc.poll() is None:
            _stop(proc)
    # (the page's failed attempts while nothing listened are the browser's log lines, expected here)
    assert code2 == 0 and [e for e in errors if "ERR_CONNECTION_REFUSED" not in e] == []
    assert d["status"] == "connected" and d["cascades"] == 2 and not d["controls"]
    assert d["equity"] >= 1 and d["fills"] >= 2


@needs_chromium
def test_another_page_in_chromium_cannot_read_the_dashboard(tmp_path):
    """A page from another origin (another port of 127.0.0.1), open in the same browser, opens the dashboard's
    websocket (which no CORS rule guards): refused, it receives nothing; the dashboard's own page does."""
    async def main():
        dash = WebDashboard(lambda: VIEW, "127.0.0.1", 0, hz=20)
        url = await dash.start()
        evil_js = ("window.got = []; window.wsClosed = null;"
                   f"const ws = new WebSocket('ws://127.0.0.1:{dash.port}/ws');"
                   "ws.onmessage = e => window.got.push(e.data); ws.onclose = e => { window.wsClosed = e.code; };")
        app = web.Application()

        async def page(_request):
            return web.Response(text=f"<html><body><script>{evil_js}</script></body></html>", content_type="text/html")

        app.router.add_get("/", page)  # (a coroutine handler: aiohttp deprecates bare functions)
        evil = web.AppRunner(app, access_log=None)
        await evil.setup()
        site = web.TCPSite(evil, "127.0.0.1", 0)
        await site.start()
        evil_url = f"http://127.0.0.1:{evil.addresses[0][1]}/"
        try:
            async with Browser(tmp_path / "profile") as b:
                await b.open(evil_url)
                closed = await b.wait_for("window.wsClosed != null && String(window.wsClosed)")
                got = await b.eval("window.got")
                await b.open(url)  # the dashboard's own page
                await b.wait_for(DRAWN)
                own = await b.eval("document.getElementById('status').textContent")
                return closed, got, own
        finally:
            await evil.cleanup()
            await dash.stop()

    from aiohttp import web

    closed, got, own = asyncio.run(main())
    assert got == [] and closed == "1006", (closed, got)  # the handshake refused (403): no message at all
    assert own == "connected"  # the dashboard's own page: served and drawn


@needs_chromium
def test_order_and_position_rows_in_chromium(tmp_path):
    """A paper engine with a resting entry, then the position it opens, served in-process: the page's
    order row (with its queue estimate column) and position row (entry, stop, take profit)."""
    import types

    from liqcore.live.web import LiveView

    async def main():
        eng = Engine(PARAMS, symbols=["ETHUSDT"])
        t0 = 1_763_683_200_000
        for f in cascade_frames(t0_ms=t0):
            eng.on_frame("bybit", f, orjson.loads(f)["ts"] * 1_000_000)
        runner = types.SimpleNamespace(engine=eng, snapshot=eng.snapshot)
        dash = WebDashboard(LiveView(runner), "127.0.0.1", 0, hz=20)
        url = await dash.start()
        rows = "[...document.querySelectorAll('#%s .%s')].map(r => [...r.cells].map(c => c.textContent))"
        try:
            async with Browser(tmp_path / "profile") as b:
                await b.open(url)
                orders = await b.wait_for(rows % ("orders", "order-row") + ".filter(r => r.length > 1)")
                eng.on_frame("bybit", orjson.dumps(trade_frame("ETHUSDT", 2995.0, 1, "Sell", t0 + 24_000)),
                             (t0 + 24_000) * 10**6)
                pos = await b.wait_for(rows % ("positions", "position-row"))
                left = await b.wait_for("document.querySelectorAll('#orders .order-row').length === 0 "
                                        "&& document.querySelectorAll('#orders tr.empty').length === 1")
                await b.screenshot(tmp_path / "position.png")
                labels = [await b.eval("JSON.parse(document.getElementById('equity-chart').dataset.ylabels)")]
                # an equity that moved by a cent (a fee): the axis still reads distinct figures
                labels.append(await b.eval(
                    "(() => { const c = document.createElement('canvas'); c.width = 900; c.height = 180;"
                    " lcChart(c, {points: [[1e9, 10000], [1e9 + 60, 10000.01], [1e9 + 120, 10000.004]]});"
                    " return JSON.parse(c.dataset.ylabels); })()"))
                return orders, pos, left, labels, list(b.errors)
        finally:
            await dash.stop()

    orders, pos, left, labels, errors = asyncio.run(main())
    assert errors == [] and left
    # live, the equity holds at its start (or moves by a cent): the axis reads distinct figures around it
    for axis in labels:
        assert len(axis) >= 3 and len(set(axis)) == len(axis), labels
    assert orders == [["ETHUSDT", "buy", "2995.5", "new", orders[0][4], orders[0][5]]]
    sym, side, qty, entry, current, pnl, best, dd, stop, tp, held = pos[0]
    assert (sym, side, qty, entry, current) == ("ETHUSDT", "long", "0.8300", "2995.5", "2995")
    assert float(pnl) == pytest.approx(100 * (2995.0 - 2995.5) / 2995.5, abs=1e-3)
    assert float(stop) == pytest.approx(2988.01, abs=0.011) and float(tp) == pytest.approx(3000.0, abs=0.011)
    assert held.endswith("s")

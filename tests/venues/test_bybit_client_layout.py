"""One job per file in the Bybit REST client: signing (signing.py), the keep-alive create connections
(h1.py) and the client that uses both (rest.py)."""
from __future__ import annotations

import ast
from pathlib import Path

BYBIT = Path(__file__).resolve().parents[2] / "liqcore" / "venues" / "bybit"


def _imports(path: Path) -> set[str]:
    out = set()
    for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(n, ast.Import):
            out |= {a.name for a in n.names}
        elif isinstance(n, ast.ImportFrom):
            out.add(n.module or "")
    return out


def _classes_and_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))}


def test_signing_touches_no_network_and_the_connections_no_secret():
    assert not _imports(BYBIT / "signing.py") & {"asyncio", "aiohttp", "yarl", "socket"}
    assert not _imports(BYBIT / "h1.py") & {"hmac", "hashlib", "liqcore.secrets"}
    assert {"sign", "rest_signature", "ws_auth_signature", "ws_auth_message"} <= _classes_and_functions(BYBIT / "signing.py")
    assert {"H1Connection", "H1Client", "Sent"} <= _classes_and_functions(BYBIT / "h1.py")


def test_the_client_keeps_only_the_client():
    defined = _classes_and_functions(BYBIT / "rest.py")
    assert "BybitREST" in defined
    assert not defined & {"sign", "rest_signature", "ws_auth_message", "H1Connection", "_H1Connection", "_H1Client"}
    assert len((BYBIT / "rest.py").read_text(encoding="utf-8").splitlines()) < 800

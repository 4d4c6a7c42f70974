"""The tests never leave 127.0.0.1: a guard on every way out of this process and of the processes the
tests start.

:func:`install` wraps ``socket.getaddrinfo`` (a name other than ``localhost`` is never resolved: no DNS
query leaves; a name under the reserved ``.invalid`` TLD fails as a resolver answers it, ``socket.gaierror``
EAI_NONAME, and is no attempt to leave), ``socket.socket.connect`` / ``connect_ex`` (an IPv4/IPv6 address that is not loopback is
refused) and, when uvloop is installed, its loop's ``getaddrinfo`` / ``create_connection`` (uvloop resolves
and connects in C, past the socket module).  A refused attempt raises ``OSError`` (what a network failure
raises: the code under test goes its usual way) AND is noted: in this process in :data:`VIOLATIONS`, and in
the file named by ``$LQTEST_LOOPBACK_LOG`` (one line per attempt) when that is set, which is how a child
process tells the test that started it.  ``tests/conftest.py`` installs it in the session, puts this
folder (whose ``sitecustomize.py`` installs it at interpreter start) on the children's ``PYTHONPATH`` and
fails any test during which an attempt was noted."""
from __future__ import annotations

import ipaddress
import os
import socket

ENV = "LQTEST_LOOPBACK_LOG"
#: the refused attempts of this process: "host:port (how)"
VIOLATIONS: list[str] = []
_installed = False


def loopback(host) -> bool:
    """Whether ``host`` (a name or an address, str or bytes; None: the local host) stays on this machine."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    h = str(host).strip().strip("[]").split("%")[0].lower()
    if h in ("", "localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        ip = ipaddress.ip_address(h)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified


def _literal(host) -> bool:
    try:
        ipaddress.ip_address(str(host.decode() if isinstance(host, bytes) else host).strip("[]").split("%")[0])
    except ValueError:
        return False
    return True


def reserved_invalid(host) -> bool:
    """A name under the ``.invalid`` top-level domain (RFC 2606 / RFC 6761: never resolves; resolvers answer
    NXDOMAIN without asking anyone)."""
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    h = str(host or "").strip().rstrip(".").lower()
    return h == "invalid" or h.endswith(".invalid")


def _no_such_name(host, port):
    """What a resolver answers for a ``.invalid`` name: a DNS failure, as it is, with no query sent (so no
    attempt to leave 127.0.0.1 to note): a test can show how the code meets a name that does not resolve."""
    raise socket.gaierror(socket.EAI_NONAME, f"Name or service not known ({host}: the .invalid TLD never resolves)")


def _refuse(host, port, how: str):
    what = f"{host}:{port} ({how}, pid {os.getpid()})"
    VIOLATIONS.append(what)
    path = os.environ.get(ENV)
    if path:
        try:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(what + "\n")
        except OSError:
            pass
    raise ConnectionRefusedError(111, f"the tests never leave 127.0.0.1: {what} refused by the loopback guard")


def install() -> None:
    """Install the guard in this process (once)."""
    global _installed
    if _installed:
        return
    _installed = True
    real_gai = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host, port, *args, **kwargs):
        if reserved_invalid(host):
            _no_such_name(host, port)
        if not (loopback(host) or _literal(host)):  # a name: resolving it would ask a DNS server
            _refuse(host, port, "name lookup")
        return real_gai(host, port, *args, **kwargs)

    def _check(sock, address, how):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple) and address:
            if not loopback(address[0]):
                _refuse(address[0], address[1] if len(address) > 1 else "", how)

    def connect(self, address):
        _check(self, address, "connect")
        return real_connect(self, address)

    def connect_ex(self, address):
        _check(self, address, "connect")
        return real_connect_ex(self, address)

    socket.getaddrinfo = getaddrinfo
    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    # uvloop is guarded once something imports it (importing it here would load it into every child, which
    # the import tests would then see as liqcore's doing)
    _after_import("uvloop", _guard_uvloop)


def _after_import(name: str, fn) -> None:
    """Call ``fn(module)`` once module ``name`` is imported (now, when it already is)."""
    import importlib.util
    import sys

    if name in sys.modules:
        fn(sys.modules[name])
        return

    class _Finder:
        def find_spec(self, fullname, path=None, target=None):
            if fullname != name:
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(fullname)
            loader = getattr(spec, "loader", None)
            if loader is None or not hasattr(loader, "exec_module"):
                return spec
            run = loader.exec_module

            def exec_module(module):
                run(module)
                fn(module)

            loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, _Finder())


def _guard_uvloop(uvloop) -> None:
    real_loop_gai = uvloop.Loop.getaddrinfo
    real_create = uvloop.Loop.create_connection

    async def loop_getaddrinfo(self, host, port, *args, **kwargs):
        if reserved_invalid(host):
            _no_such_name(host, port)
        if not (loopback(host) or _literal(host)):
            _refuse(host, port, "name lookup (uvloop)")
        return await real_loop_gai(self, host, port, *args, **kwargs)

    async def create_connection(self, protocol_factory, host=None, port=None, *args, **kwargs):
        if host is not None and not loopback(host):
            _refuse(host, port, "connect (uvloop)")
        return await real_create(self, protocol_factory, host, port, *args, **kwargs)

    uvloop.Loop.getaddrinfo = loop_getaddrinfo
    uvloop.Loop.create_connection = create_connection

"""The ``--web`` flags ``liqcore run`` and ``liqcore journal --web`` share (a helper module, not a command)."""
from __future__ import annotations

__all__ = ["add_web_arguments"]


def add_web_arguments(p, what: str) -> None:
    """``--web`` (``what``: its help), ``--web-token-file``, ``--web-cert`` and ``--web-key``."""
    p.add_argument("--web", metavar="[HOST:]PORT", help=what)
    p.add_argument("--web-token-file", metavar="FILE", help="--web: the token (first line of FILE) every request needs")
    p.add_argument("--web-cert", metavar="PEM", help="--web: serve HTTPS with this certificate (chain), with --web-key")
    p.add_argument("--web-key", metavar="PEM", help="--web: the private key of --web-cert")

"""API credentials: loading from the environment or a private key file, and a wrapper that never shows them.

Keys come from ``<VENUE>_API_KEY`` / ``<VENUE>_API_SECRET`` environment variables (e.g. ``BYBIT_API_KEY``;
OKX also needs ``OKX_API_PASSPHRASE``, the passphrase given when the key was created), or from a key file
readable by its owner only (mode ``0600`` or stricter; a group- or world-readable file is refused).  The
file holds either ``NAME=value`` lines (``#`` comments, optional quotes) using the same variable names, or a
JSON object ``{"api_key": ..., "api_secret": ...}`` (OKX: and ``"passphrase"``).  Keys never come from the
command line.

:class:`Secret` keeps a value out of ``repr``/``str``/``format``/pickling, so a secret that reaches a log
line, a journal or an exception message shows as ``Secret('***')``.  :func:`mask_key` shows at most the
first four characters of an API key; :func:`redact_url` shows a URL without its ``user:password@`` part and
with the values of its credential-bearing query parameters (a presigned URL's ``X-Amz-Signature``, ``sig``,
``token``, ``access_token``, ``key``, ...) as ``***``; :func:`url_secrets` lists those strings, and
:func:`redact_text` applies both to any text (a library's exception message): every URL in it redacted, and
every known secret string scrubbed, wherever it appears (e.g. inside "Invalid bucket name ...").
:class:`RedactingFilter` is a logging filter that scrubs given
values from formatted log records, as a second line of defence.
"""
from __future__ import annotations

import hmac
import logging
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping
from liqcore.types import DEFAULT_VENUE

__all__ = ["Secret", "Credentials", "load_credentials", "load_api_key", "load_named_secret", "mask_key", "redact_url", "url_userinfo",
           "url_secrets", "redact_text", "is_credential_param",
           "RedactingFilter", "KEY_FILE_ENV", "register_secret", "registered_secrets"]

#: environment variable naming a default key file
KEY_FILE_ENV = "LIQCORE_KEY_FILE"


class Secret:
    """A string that is never displayed.  ``reveal()`` returns the value for signing."""

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise ValueError("Secret value must be a str")
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        return self._value

    def encode(self) -> bytes:
        return self._value.encode()

    def __setattr__(self, name, value):  # immutable
        raise AttributeError("Secret is immutable")

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return hmac.compare_digest(self._value.encode(), other._value.encode())
        return NotImplemented

    def __hash__(self) -> int:
        return hash((Secret, len(self._value)))

    def __reduce__(self):
        raise TypeError("Secret values cannot be pickled")


def mask_key(key: str | Secret | None) -> str:
    """At most the first four characters of an API key followed by ``…`` (``""`` for no key)."""
    if key is None:
        return ""
    if isinstance(key, Secret):
        key = key.reveal()
    return (key[:4] + "…") if len(key) > 4 else "…"


@dataclass(frozen=True, repr=False)
class Credentials:
    """An API key and its secret; both are wrapped so neither prints."""

    api_key: Secret
    api_secret: Secret
    source: str = ""
    #: OKX's API passphrase (None for a venue without one)
    passphrase: Secret | None = None

    def __repr__(self) -> str:
        extra = ", passphrase=Secret('***')" if self.passphrase is not None else ""
        return (f"Credentials(api_key={mask_key(self.api_key)!r}, api_secret=Secret('***'){extra}, "
                f"source={self.source!r})")

    __str__ = __repr__


def _authority_end(rest: str) -> int:
    return min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))


def _split_userinfo(url: str) -> tuple[str, str | None]:
    """``scheme://user:password@host/...`` -> (the URL without ``user:password@``, the user info or None).

    A password holding an unencoded ``/`` (an AWS secret key often does) still counts as user info:
    when what precedes the first ``/`` is ``NAME:NOT-A-PORT`` and an ``@`` follows before any ``?``/``#``."""
    s = str(url)
    scheme, sep, rest = s.partition("://")
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]*", scheme):
        return s, None
    end = _authority_end(rest)
    host = rest[:end]
    if "@" not in host:
        stop = min((i for i in (rest.find(c) for c in "?#") if i >= 0), default=len(rest))
        at = rest.find("@", end, stop)
        if at < 0 or ":" not in host or host.endswith("]") or rest[end:end + 1] != "/":
            return s, None
        port = host.rsplit(":", 1)[1]
        if port == "" or port.isdigit():  # host:port/path@...: an @ in the path, not user info
            return s, None
        return f"{scheme}{sep}{rest[at + 1:]}", rest[:at]
    info, _at, host = host.rpartition("@")
    return f"{scheme}{sep}{host}{rest[end:]}", info


#: query parameters whose values are credentials, by exact name (lower case, ``-`` and ``.`` read as ``_``)
_CREDENTIAL_NAMES = frozenset({
    "sig", "signature", "token", "key", "secret", "password", "pass", "passwd", "pwd", "auth", "authorization",
    "code", "credential", "credentials", "session", "apikey", "api_key", "access_token", "refresh_token",
    "id_token", "client_secret", "x_amz_signature", "x_amz_credential", "x_amz_security_token",
    "x_goog_signature", "x_goog_credential", "googleaccessid", "awsaccesskeyid", "key_pair_id", "policy",
    "jwt", "bearer", "private_key", "sas", "st", "otp",
})
#: ... and by any of these words inside the name (``X-Amz-Signature``, ``sessionToken``, ``my_api_key``, ...)
_CREDENTIAL_WORDS = re.compile(r"sig|token|secret|pass|pwd|key|cred|auth|session|access|jwt|bearer|private|otp",
                               re.I)


def is_credential_param(name: str) -> bool:
    """True for a query parameter name whose value is (or holds) a credential; generous on purpose."""
    from urllib.parse import unquote_plus

    n = unquote_plus(str(name)).strip().lower().replace("-", "_").replace(".", "_")
    return n in _CREDENTIAL_NAMES or _CREDENTIAL_WORDS.search(n) is not None


def _params(text: str) -> list[tuple[str, str, bool]]:
    """The parameters of a query (or fragment) ``a=1&b=2;c=3``: [(the chunk as written, its name, whether its
    value is a credential)], chunks split at ``&`` and, within one that holds no credential, at ``;`` too (so a
    ``;``-separated credential is found, and a credential's value holding a ``;`` is never cut short)."""
    out = []
    for i, chunk in enumerate(text.split("&")):
        lead = "&" if i else ""
        subs = chunk.split(";")
        for j, sub in enumerate(subs):
            name, eq, val = sub.partition("=")
            before = lead if j == 0 else ";"
            if eq and val and is_credential_param(name):  # this value, and the rest of the & chunk
                out.append((before + name + "=", name, False))
                out.append((";".join([val, *subs[j + 1:]]), name, True))
                break
            out.append((before + sub, name, False))
    return out


def _redact_params(text: str) -> str:
    return "".join("***" if secret else written for written, _name, secret in _params(text))


def _split_query(url: str) -> tuple[str, str | None, str | None]:
    """(the URL up to its query, the query or None, the fragment or None); the authority never splits."""
    scheme, sep, rest = url.partition("://")
    head = f"{scheme}{sep}" if sep else ""
    body, hsep, frag = rest.partition("#")
    base, qsep, query = body.partition("?")
    return head + base, (query if qsep else None), (frag if hsep else None)


def redact_url(url) -> str:
    """The URL as shown in messages, logs and reprs: any ``user:password@`` part removed, and the value of
    every credential-bearing query (or fragment) parameter replaced by ``***`` (:func:`is_credential_param`:
    ``X-Amz-Signature``, ``X-Amz-Credential``, ``X-Amz-Security-Token``, ``Signature``, ``sig``, ``token``,
    ``access_token``, ``key``, ...).  The host, the path and every other parameter are kept as written."""
    s = _split_userinfo(str(url))[0]
    if "://" not in s or ("?" not in s and "#" not in s):
        return s
    base, query, frag = _split_query(s)
    out = base
    if query is not None:
        out += "?" + _redact_params(query)
    if frag is not None:
        out += "#" + _redact_params(frag)
    return out


def url_userinfo(url) -> Secret | None:
    """The ``user:password`` of a URL (percent-encoded as written), as a :class:`Secret`; None without one."""
    info = _split_userinfo(str(url))[1]
    return Secret(info) if info is not None else None


#: the shortest string :func:`redact_text` scrubs (a shorter one would mangle ordinary words)
_MIN_SECRET = 4


def url_secrets(url) -> list[str]:
    """The secret strings a URL carries: its user info (whole, the user and the password) and the value of
    every credential-bearing parameter, each as written and percent-decoded (the first ``/`` part of an
    ``X-Amz-Credential``, the access key id, too), longest first; only strings of 4 characters or more."""
    from urllib.parse import unquote, unquote_plus

    s = str(url)
    found: list[str] = []
    info = _split_userinfo(s)[1]
    if info:
        user, _c, password = info.partition(":")
        found += [info, user, password]
    if "://" in s:
        _base, query, frag = _split_query(_split_userinfo(s)[0])
        for part in (query, frag):
            for val, name, secret in _params(part or ""):
                if secret:
                    found += [val, val.split(";", 1)[0]]
                    if "cred" in name.lower():
                        found.append(unquote(val).split("/", 1)[0])
    out: set[str] = set()
    for v in found:
        for form in (v, unquote(v), unquote_plus(v)):
            if len(form) >= _MIN_SECRET:
                out.add(form)
    return sorted(out, key=lambda v: (-len(v), v))


#: a URL inside free text (a quote, a bracket, a space or a comma ends it; see :func:`redact_text`)
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>`]+")


def redact_text(text, secrets: Iterable[str | Secret | None] = ()) -> str:
    """``text`` (a library's exception message, a log line) fit to show: every URL in it as
    :func:`redact_url` shows it, then every string of ``secrets`` (and those the URLs in it carry,
    :func:`url_secrets`) replaced by ``***`` wherever it is, longest first.  Strings shorter than four
    characters are not scrubbed (they would mangle ordinary words)."""
    text = str(text)
    vals: set[str] = set()
    for v in secrets or ():
        if isinstance(v, Secret):
            v = v.reveal()
        if v and len(str(v)) >= _MIN_SECRET:
            vals.add(str(v))
    if "://" in text:
        def one(m: re.Match) -> str:
            u = m.group(0)
            tail = len(u) - len(u.rstrip(").,;:]}"))
            u, end = (u[:-tail], u[-tail:]) if tail else (u, "")
            vals.update(url_secrets(u))
            return redact_url(u) + end
        text = _URL_IN_TEXT.sub(one, text)
    for v in sorted(vals, key=len, reverse=True):
        if v in text:
            text = text.replace(v, "***")
    return text


def check_private(path: Path) -> None:
    st = path.stat()
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"key_file: {path} is not a regular file")
    if st.st_mode & 0o077:
        raise ValueError(
            f"key_file: {path} is readable or writable by group/others (mode {stat.S_IMODE(st.st_mode):04o}); "
            f"run: chmod 600 {path}"
        )


def parse_key_file(text: str, path: Path) -> dict[str, str]:
    text = text.lstrip("\ufeff")
    if text.lstrip().startswith("{"):
        import orjson

        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise ValueError(f"key_file: {path} is not valid JSON") from None
        if not isinstance(obj, dict):
            raise ValueError(f"key_file: {path} must hold a JSON object")
        return {str(k): str(v) for k, v in obj.items() if isinstance(v, (str, int))}
    out: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[7:].lstrip()
        if "=" not in line:
            # the line may contain a secret: name only the line number
            raise ValueError(f"key_file: {path} line {lineno} is not NAME=value")
        name, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[name.strip()] = value
    return out


def load_credentials(
    venue: str = DEFAULT_VENUE,
    key_file: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
    passphrase: bool = False,
) -> Credentials:
    """Load ``venue``'s API key and secret (with ``passphrase``, also ``<VENUE>_API_PASSPHRASE``: OKX's).

    Order: an explicit ``key_file``; else the environment (``<VENUE>_API_KEY`` and ``<VENUE>_API_SECRET``);
    else the file named by ``$LIQCORE_KEY_FILE``.  Raises ValueError (never showing a value) when nothing is
    found, a file is group/world accessible, or one of the needed values is missing.
    """
    env = os.environ if env is None else env
    prefix = venue.upper()
    kname, sname, pname = f"{prefix}_API_KEY", f"{prefix}_API_SECRET", f"{prefix}_API_PASSPHRASE"
    needed = f"{kname}, {sname} and {pname}" if passphrase else f"both {kname} and {sname}"

    def from_mapping(m: Mapping[str, str], source: str) -> Credentials | None:
        key = m.get(kname) or m.get("api_key")
        sec = m.get(sname) or m.get("api_secret")
        phrase = (m.get(pname) or m.get("passphrase") or "") if passphrase else None
        if not key and not sec:
            return None
        if not key or not sec or phrase == "":
            missing = kname if not key else sname if not sec else pname
            raise ValueError(f"{missing}: missing in {source} ({needed} are needed)")
        return Credentials(Secret(key.strip()), Secret(sec.strip()), source,
                           None if phrase is None else Secret(phrase.strip()))

    if key_file is None and (env.get(kname) or env.get(sname)):
        creds = from_mapping({kname: env.get(kname, ""), sname: env.get(sname, ""), pname: env.get(pname, "")},
                             "environment")
        assert creds is not None
        return creds
    if key_file is None:
        key_file = env.get(KEY_FILE_ENV) or None
    if key_file is None:
        raise ValueError(f"{kname}: no credentials (set {kname}/{sname} or ${KEY_FILE_ENV} to a 0600 key file)")
    path = Path(key_file).expanduser()
    if not path.exists():
        raise ValueError(f"key_file: {path} does not exist")
    check_private(path)
    creds = from_mapping(parse_key_file(path.read_text(), path), f"key file {path}")
    if creds is None:
        raise ValueError(f"key_file: {path} holds neither {kname}/{sname} nor api_key/api_secret")
    return creds


def load_api_key(name: str, key_file: str | os.PathLike | None = None,
                 env: Mapping[str, str] | None = None) -> Secret:
    """A lone API key (a data vendor's, such as ``TARDIS_API_KEY``): from ``key_file`` when given (a
    0600 file holding ``NAME=value`` lines, a JSON object with ``NAME`` or ``api_key``, or the key alone
    on one line), else the environment variable ``name``.  Raises ValueError (never showing a value)
    when there is none or the file is group/world accessible."""
    env = os.environ if env is None else env
    if key_file is None:
        value = (env.get(name) or "").strip()
        if not value:
            raise ValueError(f"{name}: no API key (set {name} or give --key-file FILE, a file of mode 0600)")
        return Secret(value)
    path = Path(key_file).expanduser()
    if not path.exists():
        raise ValueError(f"key_file: {path} does not exist")
    check_private(path)
    text = path.read_text()
    lines = [ln.strip() for ln in text.lstrip("\ufeff").splitlines() if ln.strip() and not ln.strip().startswith("#")]
    if len(lines) == 1 and "=" not in lines[0] and not lines[0].startswith("{"):
        return Secret(lines[0])  # the key alone
    m = parse_key_file(text, path)
    value = (m.get(name) or m.get("api_key") or "").strip()
    if not value:
        raise ValueError(f"key_file: {path} holds neither {name} nor api_key")
    return Secret(value)


def load_named_secret(name: str, key_file: str | os.PathLike | None = None,
                      env: Mapping[str, str] | None = None) -> Secret | None:
    """The value named ``name`` alone (e.g. ``OKX_API_PASSPHRASE``, which goes with a key and its secret): from the
    environment when no ``key_file`` is given, else from ``key_file`` (0600; ``NAME=value`` lines or a JSON object),
    else from ``$LIQCORE_KEY_FILE``; None when it is nowhere.  Never another name's value in its place."""
    env = os.environ if env is None else env
    if key_file is None and (env.get(name) or "").strip():
        return Secret(env[name].strip())
    path = key_file if key_file is not None else env.get(KEY_FILE_ENV)
    if not path:
        return None
    p = Path(path).expanduser()
    if not p.exists():
        raise ValueError(f"key_file: {p} does not exist")
    check_private(p)
    value = (parse_key_file(p.read_text(), p).get(name) or "").strip()
    return Secret(value) if value else None


#: the values no log line may show (:func:`register_secret`); the live runner's JSON formatter masks them
_REGISTERED: list[str] = []


def register_secret(value: str) -> None:
    """Make sure ``value`` never appears in a log line of the live runner's formatter (replaced by ``***``).

    Kept here, beside :class:`Secret`, so that whatever holds a key (a venue's order gateway, the judge's
    client, a command) registers it without importing the live shell."""
    if value and len(value) >= 4 and value not in _REGISTERED:
        _REGISTERED.append(value)


def registered_secrets() -> tuple[str, ...]:
    """Every value :func:`register_secret` was given, in order."""
    return tuple(_REGISTERED)


class RedactingFilter(logging.Filter):
    """Replace every occurrence of the given secret values in log records by ``***``."""

    def __init__(self, values: Iterable[str | Secret]) -> None:
        super().__init__()
        vals = [v.reveal() if isinstance(v, Secret) else v for v in values]
        self._values = [v for v in vals if v and len(v) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._values:
            return True
        msg = record.getMessage()
        red = msg
        for v in self._values:
            if v in red:
                red = red.replace(v, "***")
        if red is not msg and red != msg:
            record.msg = red
            record.args = None
        return True

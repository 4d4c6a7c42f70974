"""HTTP for ``liqcore download`` (aiohttp): one file at a time per job, written to a temporary name
beside its destination (:func:`liqcore._atomic.atomic_path`) and renamed only when whole and, for a
file with a ``.CHECKSUM``, verified -- a kill or Ctrl-C leaves no half file under the real name, and
the next run removes the temporaries of writers that died.

* 200: the body, streamed to disk (never held in memory), its SHA-256 computed on the way.
* the source's "missing" statuses (404; 403 too for an object store that does not let anonymous
  readers list it): the source does not have the file (:class:`Missing`), never retried.
* the source's refusing statuses (401 / 403 where 403 does not mean missing): the key (or the
  caller's network) was refused (:class:`KeyRefused`): fatal, one line, the key never in it.
* 429, 5xx, a connection cut mid-file, a body shorter than its ``Content-Length``, a timeout:
  retried up to ``retries`` times, after the server's ``Retry-After`` (seconds or an HTTP date) when
  it sends one, else an exponential backoff (``backoff_s`` x 2^attempt, jittered, at most 60 s).  A
  429 is the server's rate limit: until its Retry-After has passed, no job sends a request.
* A host name that does not resolve (:class:`HostUnresolved`): not transient (no network, or a wrong
  address), never retried: the run stops at once, in one line.
* A ``.CHECKSUM`` (``<sha256>  <file name>``) that does not match the file: :class:`ChecksumMismatch`
  naming the file; the file is not kept.
"""
from __future__ import annotations

import asyncio
import email.utils
import hashlib
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from liqcore._atomic import atomic_path

__all__ = ["Missing", "KeyRefused", "HostUnresolved", "ChecksumMismatch", "FetchFailed", "Fetched", "Fetcher",
           "retry_after_s", "local_matches"]

#: the longest wait a Retry-After may impose (a longer one is capped, and said so by the retry count)
MAX_WAIT_S = 300.0
#: a wait before a retry this long or longer is said (``Fetcher(on_wait=)``)
SAID_WAIT_S = 5.0
_CHUNK = 1 << 16
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
#: what a retry cures: the connection cut, refused or timed out
_NETWORK = (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError, asyncio.TimeoutError)


class Missing(Exception):
    """The source answered one of its "missing" statuses (404, or 403 for an object store without
    listing): it does not have the file."""


class KeyRefused(Exception):
    """The source refused the request (401 / 403 where those do not mean "missing"): the key, or the
    caller's network."""


class HostUnresolved(Exception):
    """The source's host name did not resolve (no network, no DNS, or a wrong address): not retried."""

    def __init__(self, host: str, why: str):
        super().__init__(f"{host} does not resolve ({why})")
        self.host = host


def _unresolved(exc: "aiohttp.ClientConnectorDNSError") -> HostUnresolved:
    host = getattr(exc, "host", None) or "the source's host"
    os_error = getattr(exc, "os_error", None)
    why = " ".join(str(getattr(os_error, "strerror", None) or os_error or exc).split()) or type(exc).__name__
    return HostUnresolved(str(host), why)


class ChecksumMismatch(ValueError):
    """The file's SHA-256 is not its ``.CHECKSUM``'s."""


class FetchFailed(Exception):
    """A file that could not be fetched after every retry, or answered with another HTTP status."""


class _Retry(Exception):
    def __init__(self, why: str, wait_s: float | None = None, rate_limited: bool = False):
        super().__init__(why)
        self.why, self.wait_s, self.rate_limited = why, wait_s, rate_limited


def retry_after_s(value: str | None, now: float | None = None) -> float | None:
    """A ``Retry-After`` header in seconds: a number of seconds, or an HTTP date (the time until it);
    None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass
class Fetched:
    """A file written whole: where, how many bytes, how many tries it took, and the source's version of it
    (:meth:`Fetcher.version`'s form: ``sha256:<hex>`` of a file with a ``.CHECKSUM``, else the answer's
    ``etag:<ETag>`` or ``size:<bytes>``)."""

    path: Path
    nbytes: int
    attempts: int
    version: str | None = None


class Fetcher:
    """Downloads over one aiohttp session: ``jobs`` files at a time, ``retries`` retries each,
    ``headers`` on every request (the tardis key; never printed), ``on_bytes(n)`` called as bytes
    arrive (the progress bar)."""

    def __init__(self, session: aiohttp.ClientSession, *, jobs: int, retries: int, backoff_s: float,
                 on_bytes=None, missing_status=(404,), refused_status=(401, 403), on_wait=None):
        self.session, self.retries, self.backoff_s = session, int(retries), float(backoff_s)
        self.missing_status, self.refused_status = frozenset(missing_status), frozenset(refused_status)
        self._sem = asyncio.Semaphore(max(1, int(jobs)))
        self._on_bytes = on_bytes or (lambda n: None)
        #: ``on_wait(seconds, why)``: told of each wait of :data:`SAID_WAIT_S` or more before a retry (a long one is
        #: never silent)
        self._on_wait = on_wait or (lambda s, why: None)
        self.retried = 0  # retries done, over every file
        self._resume_at = 0.0  # (loop time) a 429's Retry-After holds every request back until then

    async def fetch(self, url: str, dest: Path, *, checksum_url: str | None = None) -> Fetched:
        """``url`` -> ``dest`` (renamed there when whole and verified).  Raises :class:`Missing`,
        :class:`KeyRefused`, :class:`ChecksumMismatch` or :class:`FetchFailed`."""
        async with self._sem:
            tries = [0]

            async def once() -> tuple[int, str]:
                tries[0] += 1
                with atomic_path(dest) as tmp:  # renamed to dest only when this returns
                    got = await self._get_file(url, tmp)
                    if checksum_url is not None:
                        await self._verify(checksum_url, dest.name, got[1])
                    return got

            nbytes, digest, tag = await self._retrying(once)
            return Fetched(dest, nbytes, tries[0], f"sha256:{digest}" if checksum_url is not None else tag)

    async def version(self, url: str, checksum_url: str | None = None) -> str | None:
        """The source's version of the file at ``url`` now, in :class:`Fetched`'s form: its ``.CHECKSUM``'s
        SHA-256 (one small GET), else a HEAD's ``ETag`` or ``Content-Length``; None when the source does not
        have it (or says neither).  What a resume compares with the version it converted or kept.  (Not a HEAD:
        tardis.dev's CDN answers HEAD with 403; a GET whose body is not read costs its headers only.)"""
        async with self._sem:
            if checksum_url is not None:
                async def get_sum() -> bytes:
                    await self._rate_limit()
                    try:
                        async with self.session.get(checksum_url) as r:
                            self._check_status(r, checksum_url)
                            return await r.read()
                    except aiohttp.ClientConnectorDNSError as exc:
                        raise _unresolved(exc) from None
                    except _NETWORK as exc:
                        raise _Retry(_why(exc)) from None
                    except aiohttp.ClientError as exc:  # (a redirect loop, a URL of no HTTP, an answer of no HTTP)
                        raise FetchFailed(_why(exc)) from None

                try:
                    text = (await self._retrying(get_sum)).decode("utf-8", "replace").strip()
                except Missing:
                    return None
                want = text.split()[0].lower() if text else ""
                return f"sha256:{want}" if _HEX64.match(want) else None

            async def head() -> str | None:  # a GET closed after its headers: some sources refuse HEAD (403)
                await self._rate_limit()
                try:
                    async with self.session.get(url) as r:
                        self._check_status(r, url)
                        tag = _tag(r)
                        r.close()  # (the body is not read)
                        return tag
                except aiohttp.ClientConnectorDNSError as exc:
                    raise _unresolved(exc) from None
                except _NETWORK as exc:
                    raise _Retry(_why(exc)) from None
                except aiohttp.ClientError as exc:  # (a redirect loop, a URL of no HTTP, an answer of no HTTP)
                    raise FetchFailed(_why(exc)) from None

            try:
                return await self._retrying(head)
            except Missing:
                return None

    async def _retrying(self, once):
        """``await once()`` until it returns, again after each :class:`_Retry` (at most ``retries``)."""
        attempt = 0
        while True:
            try:
                return await once()
            except _Retry as exc:
                attempt += 1
                if attempt > self.retries:
                    raise FetchFailed(f"{exc.why} after {attempt} tries") from None
                self.retried += 1
                wait = self._wait(attempt, exc.wait_s)
                if wait >= SAID_WAIT_S:
                    why = exc.why
                    if exc.wait_s is not None:
                        why += ": the server's Retry-After"
                        if exc.wait_s > wait:
                            why += f" ({exc.wait_s:g} s, held to {MAX_WAIT_S:g} s)"
                    self._on_wait(wait, why)
                if exc.rate_limited:  # the server's rate limit: no request of any job before it has passed
                    loop = asyncio.get_running_loop()
                    self._resume_at = max(self._resume_at, loop.time() + wait)
                await asyncio.sleep(wait)

    async def _rate_limit(self) -> None:
        """Wait while a 429's Retry-After holds requests back."""
        loop = asyncio.get_running_loop()
        while (left := self._resume_at - loop.time()) > 0:
            await asyncio.sleep(left)

    def _wait(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, MAX_WAIT_S)
        return min(60.0, self.backoff_s * (2 ** (attempt - 1))) * (0.5 + random.random() / 2)

    async def _verify(self, url: str, name: str, digest: str) -> None:
        """The file ``name``'s SHA-256 ``digest`` against its ``.CHECKSUM`` at ``url``."""
        async def once() -> bytes:
            await self._rate_limit()
            try:
                async with self.session.get(url) as r:
                    self._check_status(r, url)
                    return await r.read()
            except aiohttp.ClientConnectorDNSError as exc:  # (before _NETWORK: it is one of them)
                raise _unresolved(exc) from None
            except _NETWORK as exc:
                raise _Retry(_why(exc)) from None
            except aiohttp.ClientError as exc:  # (a redirect loop, a URL of no HTTP, an answer of no HTTP)
                raise FetchFailed(_why(exc)) from None
            except Missing:
                raise ChecksumMismatch(f"checksum: {name} has no .CHECKSUM at the source (HTTP 404); "
                                       f"the file was not kept") from None

        text = (await self._retrying(once)).decode("utf-8", "replace").strip()
        want = text.split()[0].lower() if text else ""
        if not _HEX64.match(want):
            raise ChecksumMismatch(f"checksum: the .CHECKSUM of {name} holds no SHA-256 ({text[:80]!r}); "
                                   f"the file was not kept")
        if digest != want:
            raise ChecksumMismatch(f"checksum mismatch: {name} has SHA-256 {digest}, its .CHECKSUM says {want}; "
                                   f"the file was not kept")

    async def _get_file(self, url: str, tmp: Path) -> tuple[int, str, str | None]:
        h = hashlib.sha256()
        n = 0
        await self._rate_limit()
        try:
            async with self.session.get(url) as r:
                self._check_status(r, url)
                tag = _tag(r)
                expected = r.content_length
                with open(tmp, "wb") as fh:
                    async for chunk in r.content.iter_chunked(_CHUNK):
                        fh.write(chunk)
                        h.update(chunk)
                        n += len(chunk)
                        self._on_bytes(len(chunk))
                if expected is not None and n != expected:
                    raise _Retry(f"the connection was cut at {n} of {expected} bytes")
        except aiohttp.ClientConnectorDNSError as exc:  # (before _NETWORK: it is one of them)
            raise _unresolved(exc) from None
        except _NETWORK as exc:
            raise _Retry(_why(exc)) from None
        except aiohttp.ClientError as exc:  # (a redirect loop, a URL of no HTTP, an answer of no HTTP)
            raise FetchFailed(_why(exc)) from None
        return n, h.hexdigest(), tag

    def _check_status(self, r: aiohttp.ClientResponse, url: str) -> None:
        if r.status == 200:
            return
        if r.status in self.missing_status:
            raise Missing(f"HTTP {r.status}")
        if r.status in self.refused_status:
            raise KeyRefused(f"HTTP {r.status}")
        if r.status == 429 or r.status >= 500:
            raise _Retry(f"HTTP {r.status}", retry_after_s(r.headers.get("Retry-After")), rate_limited=r.status == 429)
        raise FetchFailed(f"HTTP {r.status} {r.reason or ''}".strip())


def _tag(r: aiohttp.ClientResponse) -> str | None:
    """A response's version of its file: its ``ETag`` (an object store's digest of the bytes), its ``x-md5``
    (tardis.dev) and its length, ``etag:<ETag>|md5:<hex>|size:<bytes>`` (a part left out when the answer has
    none)."""
    parts = []
    etag = r.headers.get("ETag")
    if etag:
        parts.append(f"etag:{etag.strip()}")
    md5 = (r.headers.get("x-md5") or "").strip().lower()  # tardis.dev: the file's MD5
    if re.fullmatch(r"[0-9a-f]{32}", md5):
        parts.append(f"md5:{md5}")
    if r.content_length is not None:
        parts.append(f"size:{r.content_length}")
    return "|".join(parts) or None


def local_matches(path: Path, version: str) -> bool:
    """Whether the local file ``path`` is the source's ``version`` of it (:meth:`Fetcher.version`'s form): its
    SHA-256, or the ETag where that is a plain MD5 of the bytes (an object store's ETag of a file uploaded
    whole), else its size; True when the version says nothing comparable."""
    parts = dict(p.partition(":")[::2] for p in version.split("|"))
    if "sha256" in parts:
        return _digest(path, hashlib.sha256()) == parts["sha256"]
    if "md5" in parts:
        return _digest(path, hashlib.md5(usedforsecurity=False)) == parts["md5"]
    etag = parts.get("etag", "").removeprefix("W/").strip('"').lower()
    if re.fullmatch(r"[0-9a-f]{32}", etag):
        return _digest(path, hashlib.md5(usedforsecurity=False)) == etag
    if parts.get("size", "").isdigit():
        return path.stat().st_size == int(parts["size"])
    return True


def _digest(path: Path, h) -> str:
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _why(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "the connection was cut mid-file"
    if isinstance(exc, aiohttp.TooManyRedirects):
        return f"too many redirects ({len(exc.history)}: a redirect loop at the source?)"
    if isinstance(exc, aiohttp.InvalidURL):  # (aiohttp's NonHttpUrlClientError is one; its URL is not echoed)
        return "not an http(s) URL (--base-url?)"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"an answer that is no HTTP answer ({exc.message or type(exc).__name__})"
    return " ".join(str(exc).split()) or type(exc).__name__

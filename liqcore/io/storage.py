"""Object storage and every other fsspec file system: datasets, recordings and outputs named by a URL.

:func:`is_url`, :func:`set_options` (never printed), :func:`write_bytes` (whole objects),
:func:`object_lock` (a dataset's writer lock on object storage) and :func:`stage`.  Credentials and
the rules: docs/how-to/dask-s3.md, "Data on object storage", and docs/maintainers/sweeps.md,
"URLs, credentials and whole-object writes".

May import: fsspec and pyarrow inside functions, ``_atomic``, ``secrets``; no other io module.
"""
from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

__all__ = ["is_url", "display", "set_options", "filesystem", "join", "read_bytes", "write_bytes", "exists",
           "isfile", "isdir", "find", "remove", "arrow_filesystem", "stage", "source_of", "object_lock",
           "check_output", "storage_errors", "preload", "PartsStore"]

_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+)://")
#: ``--storage-option`` values of this process (never printed, never part of a task or a cache key)
_OPTIONS: dict = {}
#: local staged copy -> the URL it came from
_STAGED: dict[str, str] = {}
_VERSION: dict[str, str] = {}  # staged path -> the source's version of it
_STAGE_DIR: list = []


def is_url(path) -> bool:
    """True for ``PROTOCOL://...`` (two or more letters: a Windows drive ``C:`` is a path)."""
    return isinstance(path, str) and _URL.match(path) is not None


def protocol(url: str) -> str:
    m = _URL.match(url)
    return m.group(1).lower() if m else "file"


def display(url) -> str:
    """The URL as shown in messages: any ``user:password@`` part removed and the values of its credential
    query parameters (a presigned URL's signature, a token, ...) as ``***`` (:func:`liqcore.secrets.redact_url`)."""
    from liqcore.secrets import redact_url

    return redact_url(url)


def _value(text: str):
    low = text.lower()
    if low in ("true", "yes"):
        return True
    if low in ("false", "no"):
        return False
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


def set_options(items) -> dict:
    """``["KEY=VALUE", ...]`` -> the options given to every URL's file system (``true``/``false``
    and integers converted; ``a.b=V`` sets ``{"a": {"b": V}}``, e.g. ``client_kwargs.region_name``).
    An item without ``=`` is a ValueError naming its key only (never its value)."""
    _OPTIONS.clear()
    for item in items or ():
        key, sep, val = str(item).partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError("storage-option: expected KEY=VALUE (e.g. endpoint_url=http://127.0.0.1:9000); "
                             f"got an item {'without =' if not sep else 'without a key'}")
        node = _OPTIONS
        *path, last = key.split(".")
        for p in path:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ValueError(f"storage-option: {key} conflicts with another option")
        node[last] = _value(val)
    return _OPTIONS


def _options_for(proto: str) -> dict:
    opts = {k: (dict(v) if isinstance(v, dict) else v) for k, v in _OPTIONS.items()}
    if proto in ("s3", "s3a") and "endpoint_url" not in opts and os.environ.get("AWS_ENDPOINT_URL_S3"):
        opts["endpoint_url"] = os.environ["AWS_ENDPOINT_URL_S3"]
    return opts


def _missing_package(proto: str) -> str:
    pkg = {"s3": "s3fs", "s3a": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "az": "adlfs", "abfs": "adlfs"}.get(proto)
    hint = f" (pip install 'liqcore[cloud]' or pip install {pkg})" if pkg else ""
    return f"storage: reading {proto}:// URLs needs a package that is not installed{hint}"


#: object stores whose URLs hold no credentials (a ``user:password@`` part would be read as the bucket; not
#: Azure's, where ``abfs://CONTAINER@ACCOUNT...`` is how a URL is written)
_NO_USERINFO = ("s3", "s3a", "gs", "gcs")


def filesystem(url: str):
    """(fsspec file system, path inside it) of ``url``; ValueError for an unknown protocol or a file
    system package that is not installed."""
    try:
        import fsspec
    except ImportError:  # pragma: no cover - a dependency
        raise ValueError("storage: URLs need fsspec (pip install fsspec)") from None
    proto = protocol(url)
    if proto in _NO_USERINFO:
        from liqcore.secrets import url_userinfo

        if url_userinfo(url) is not None:  # the client would take KEY:SECRET@BUCKET for a bucket name
            raise ValueError(f"storage: {display(url)}: {proto}:// URLs take no user:password@ part (give the "
                             "credentials in the environment, a profile file, or --storage-option)")
    try:
        fs, path = fsspec.core.url_to_fs(url, **_options_for(proto))
    except ImportError:
        raise ValueError(_missing_package(proto)) from None
    except ValueError as exc:
        if "Protocol not known" in str(exc) or "not known" in str(exc):
            raise ValueError(f"storage: unknown URL protocol {proto}:// in {display(url)}") from None
        raise ValueError(f"storage: {display(url)}: {_one_line(exc, url)}") from None
    except TypeError as exc:  # an option the file system does not take
        raise ValueError(f"storage: an --storage-option that {proto}:// does not take ({_one_line(exc, url)})") \
            from None
    except Exception as exc:  # noqa: BLE001 - a file system's own error: one line, never a credential
        raise ValueError(f"storage: {display(url)}: {type(exc).__name__}: {_one_line(exc, url)}") from None
    if proto in ("s3", "s3a") and not path.split("/", 1)[0]:
        raise ValueError(f"storage: {display(url)} names no bucket (expected s3://BUCKET/PATH)")
    _check_endpoint(proto)
    return fs, path.rstrip("/") or path


#: the endpoints that answered (a probe each per process; one that failed is tried again next time)
_PROBED: set = set()
_PROBE_TIMEOUT_S = 2.0


def _endpoint(proto: str) -> tuple[str, str] | None:
    """(endpoint URL, where it was set) of an S3-compatible server named for ``proto``, None: the
    file system's own default (AWS)."""
    if proto not in ("s3", "s3a"):
        return None
    if _OPTIONS.get("endpoint_url"):
        return str(_OPTIONS["endpoint_url"]), "--storage-option endpoint_url"
    ck = _OPTIONS.get("client_kwargs")
    if isinstance(ck, dict) and ck.get("endpoint_url"):
        return str(ck["endpoint_url"]), "--storage-option client_kwargs.endpoint_url"
    for var in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"):
        if os.environ.get(var):
            return os.environ[var], f"${var}"
    return None


def _check_endpoint(proto: str) -> None:
    """An endpoint given for an S3-compatible server is tried (a TCP connection, at most
    :data:`_PROBE_TIMEOUT_S`; once per process when it answers): one that refuses the connection or
    does not answer is a ValueError at once, instead of the client library's retries ending in a
    misleading "no such bucket"."""
    ep = _endpoint(proto)
    if ep is None:
        return
    url, where = ep
    if url in _PROBED:
        return
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url if "://" in url else f"http://{url}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValueError(f"storage: the endpoint {display(url)} ({where}) has no valid port") from None
    host = parts.hostname
    if not host:
        raise ValueError(f"storage: the endpoint {display(url)} ({where}) names no host")
    why = None
    try:
        with socket.create_connection((host, port), timeout=_PROBE_TIMEOUT_S):
            pass
    except ConnectionRefusedError:
        why = f"refused the connection (nothing listens at {host}:{port})"
    except TimeoutError:
        why = f"did not answer within {_PROBE_TIMEOUT_S:g} s"
    except OSError as exc:
        why = f"cannot be reached ({_one_line(exc)})"
    if why:
        raise ValueError(f"storage: the storage endpoint {display(url)} ({where}) {why}")
    _PROBED.add(url)


def preload(values) -> None:
    """Import the file system package of every URL among ``values`` and set up its file system (no
    request is made): a command does it before its worker processes fork, so each worker starts with
    the package loaded."""
    for v in values:
        if is_url(v):
            with contextlib.suppress(ValueError):
                filesystem(v)


def _one_line(exc: BaseException, url=None) -> str:
    """A file system library's error as one line fit to show: every URL in it redacted, and every secret
    string of ``url``, of the ``--storage-option`` values (an endpoint's too) and of the environment's AWS
    keys scrubbed wherever it appears (a library may repeat a secret in its own words, e.g. in an "Invalid
    bucket name" holding the ``KEY:SECRET@`` of the URL)."""
    from liqcore.secrets import redact_text

    return redact_text(" ".join(str(exc).split()) or type(exc).__name__, _secret_values(url))


def _secret_values(url=None) -> list[str]:
    """The strings no message may show: the ``--storage-option`` values (an endpoint URL's user info and
    credential parameters, not the whole URL), ``$AWS_SECRET_ACCESS_KEY``, ``$AWS_SESSION_TOKEN``, the
    secrets an endpoint variable carries, and those of ``url`` (:func:`liqcore.secrets.url_secrets`)."""
    from liqcore.secrets import url_secrets

    out = []

    def walk(d):
        for k, v in d.items():
            if isinstance(v, dict):
                walk(v)
            elif not isinstance(v, str):
                continue
            elif k.lower() == "endpoint_url" or "://" in v:
                out.extend(url_secrets(v))
            elif len(v) >= 4 and k.lower() not in ("region_name", "profile"):
                out.append(v)
    walk(_OPTIONS)
    for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        if len(os.environ.get(name, "")) >= 4:
            out.append(os.environ[name])
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"):
        out.extend(url_secrets(os.environ.get(name, "")))
    if url is not None:
        out.extend(url_secrets(url))
    return out


@contextlib.contextmanager
def storage_errors(url: str, doing: str = "reading"):
    """Errors of a file system library as one line naming the URL (never a credential):
    ValueError for what the user can fix (no credentials, no such bucket, access denied), OSError
    with the URL as its file name for the rest."""
    try:
        yield
    except KeyboardInterrupt:
        raise
    except ValueError as exc:  # liqcore's own (URLs shown redacted) or a library's: its text scrubbed too
        from liqcore.secrets import redact_text

        text = str(exc)
        clean = redact_text(text, _secret_values(url))
        if clean == text:
            raise
        try:
            scrubbed = type(exc)(clean)
        except Exception:  # noqa: BLE001 - a subclass that takes other arguments
            scrubbed = ValueError(clean)
        raise scrubbed from None
    except FileNotFoundError as exc:
        raise ValueError(f"storage: {doing} {display(url)}: not found ({_one_line(exc, url)})") from None
    except PermissionError as exc:
        raise ValueError(f"storage: {doing} {display(url)}: access denied ({_one_line(exc, url)})") from None
    except OSError as exc:
        raise OSError(exc.errno or 5, _one_line(exc, url), display(url)) from None
    except Exception as exc:  # botocore / google-auth errors: no credentials, no endpoint, ...
        name = type(exc).__name__
        if "Credential" in name or "credential" in str(exc):
            raise ValueError(f"storage: {doing} {display(url)}: no credentials found (set them in the "
                             "environment, a profile file, or --storage-option)") from None
        if "Endpoint" in name or "Connect" in name or "ConnectionError" in name:
            raise ValueError(f"storage: {doing} {display(url)}: cannot reach the storage server "
                             f"({_one_line(exc, url)})") from None
        raise ValueError(f"storage: {doing} {display(url)}: {name}: {_one_line(exc, url)}") from None


def join(url: str, *parts: str) -> str:
    return "/".join([url.rstrip("/"), *[p.strip("/") for p in parts]])


def _local(url: str) -> str | None:
    """The local path of a ``file://`` / ``local://`` URL (written through the atomic local writers)."""
    if protocol(url) in ("file", "local"):
        return _URL.sub("", url, count=1) or "/"
    return None


def read_bytes(url: str) -> bytes:
    fs, path = filesystem(url)
    with storage_errors(url):
        return fs.cat_file(path)


def write_bytes(url: str, data: bytes) -> str:
    """Write ``data`` to ``url`` whole: one request (an object store shows the old object or the new
    one, never a part); a ``file://`` URL goes through a temporary file and a rename."""
    loc = _local(url)
    if loc is not None:
        from liqcore._atomic import write_bytes as _wb

        Path(loc).parent.mkdir(parents=True, exist_ok=True)
        _wb(loc, data)
        return url
    fs, path = filesystem(url)
    with storage_errors(url, "writing"):
        fs.pipe_file(path, data)
    return url


def exists(url: str) -> bool:
    fs, path = filesystem(url)
    with storage_errors(url):
        return fs.exists(path)


def isfile(url: str) -> bool:
    fs, path = filesystem(url)
    with storage_errors(url):
        return fs.isfile(path)


def isdir(url: str) -> bool:
    fs, path = filesystem(url)
    with storage_errors(url):
        return fs.isdir(path)


def find(url: str) -> list[str]:
    """Every file below ``url`` (paths inside its file system, sorted); [] when there is none.  One
    listing (object stores: one LIST request per 1,000 objects), nothing downloaded."""
    fs, path = filesystem(url)
    with storage_errors(url):
        with contextlib.suppress(AttributeError):
            fs.invalidate_cache(path)
        try:
            return sorted(fs.find(path))
        except FileNotFoundError:
            return []


def remove(url: str, recursive: bool = False) -> None:
    fs, path = filesystem(url)
    with storage_errors(url, "removing"), contextlib.suppress(FileNotFoundError):
        fs.rm(path, recursive=recursive)


def arrow_filesystem(url: str):
    """(pyarrow file system, path) of ``url``, for pyarrow's dataset and Parquet readers."""
    from pyarrow.fs import FSSpecHandler, PyFileSystem

    fs, path = filesystem(url)
    return PyFileSystem(FSSpecHandler(fs)), path


def check_output(url: str, flag: str, *, directory: bool = False) -> str:
    """An output named by a URL, checked before any work: its file system is known, its bucket (or
    parent) reachable; for a file, not an existing directory.  Nothing local is created."""
    fs, path = filesystem(url)
    root = path.split("/", 1)[0] if protocol(url) in ("s3", "s3a", "gs", "gcs") else None
    with storage_errors(url, f"checking {flag}"):
        if root and not fs.exists(root):
            raise ValueError(f"{flag}: the bucket {root} of {display(url)} does not exist (or cannot be seen "
                             "with these credentials)")
        if not directory and fs.isdir(path) and fs.find(path):
            raise ValueError(f"{flag}: {display(url)} is a directory; give a file name")
    return url


# ---- recordings: staged locally -------------------------------------------------------------------
def _stage_dir() -> Path:
    if not _STAGE_DIR:
        d = tempfile.mkdtemp(prefix="liqcore-stage-")
        _STAGE_DIR.append(d)
        atexit.register(shutil.rmtree, d, True)
    return Path(_STAGE_DIR[0])


def stage(url: str, keep=None) -> list[Path]:
    """The recording files named by ``url`` (an object, or every object below a prefix whose name
    ``keep(name)`` accepts), copied into a local temporary directory that is removed at exit;
    each copy keeps its name and carries the object's modification time.  :func:`source_of` maps a
    copy back to its URL."""
    fs, path = filesystem(url)
    proto = protocol(url)
    with storage_errors(url):
        if fs.isfile(path):
            names = [path]
        elif fs.isdir(path):
            names = sorted(n for n in fs.find(path) if keep is None or keep(n))
        else:
            raise ValueError(f"paths: no such file: {display(url)}")
        out = []
        base = _stage_dir() / f"{len(_STAGED)}"
        for n in names:
            rel = n[len(path):].lstrip("/") if n != path else n.rsplit("/", 1)[-1]
            dest = base / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            fs.get_file(n, str(dest))
            info = fs.info(n)
            mtime = info.get("LastModified") or info.get("mtime") or info.get("updated") or info.get("created")
            with contextlib.suppress(Exception):
                ts = mtime.timestamp() if hasattr(mtime, "timestamp") else float(mtime)
                os.utime(dest, (ts, ts))
            full = f"{proto}://{n}" if not n.startswith(f"{proto}://") else n
            _STAGED[str(dest)] = full
            out.append(dest)
    return out


def source_of(path) -> str | None:
    """The URL a staged local copy came from (None: a local file)."""
    return _STAGED.get(str(path))


def note_source(path, url: str, version: str | None = None) -> None:
    """Record that the local file ``path`` is a copy of ``url`` (a file ``liqcore download`` fetched), at the
    source's ``version`` of it (a checksum, ETag or size): :func:`source_of` then names the URL, and a
    dataset's manifest keys the file by it and keeps the version (:func:`version_of`), so a rerun fetches a
    file the source republished."""
    _STAGED[str(path)] = url
    if version:
        _VERSION[str(path)] = version


def version_of(path) -> str | None:
    """The source's version of a staged copy (:func:`note_source`), or None."""
    return _VERSION.get(str(path))


def forget_source(path) -> None:
    """Drop what :func:`note_source` recorded for ``path`` (the copy was deleted)."""
    _STAGED.pop(str(path), None)
    _VERSION.pop(str(path), None)


# ---- a resumable table of parts -------------------------------------------------------------------
def unreadable_part(part: str | os.PathLike, exc: BaseException) -> str:
    """Say on stderr, in one line, that resuming skips ``part`` (a part cut short by a crash, or one
    that cannot be read) and why: its cells run again.  Returns the line."""
    import sys

    from liqcore.secrets import redact_url

    line = f"resume: part {redact_url(part)} is unreadable ({_one_line(exc, part)}): its cells run again"
    print(line, file=sys.stderr)
    return line


class PartsStore:
    """A table written part by part on any URL (a sweep's ``--out``): ``OUT.parts/KEY.parquet`` objects,
    each written whole in one request as soon as it is done; at the end ``OUT`` is written whole and
    the parts removed.  ``rows``: filled with the rows of ``OUT`` and of the parts already there
    (keyed by their ``cell`` column), so a rerun skips them."""

    def __init__(self, out: str, rows: dict):
        import io

        import pyarrow.parquet as pq

        self.out, self.parts = out, out + ".parts"
        fs, path = filesystem(out)
        names = ([path] if isfile(out) else []) + [f for f in find(self.parts) if f.endswith(".parquet")]
        for f in names:
            try:
                with storage_errors(out):
                    data = fs.cat_file(f)
                for r in pq.read_table(io.BytesIO(data)).to_pylist():
                    if r.get("cell"):
                        rows[r["cell"]] = r
            except Exception as exc:  # noqa: BLE001 - an unreadable part: named, and its cells run again
                unreadable_part(f, exc)

    @staticmethod
    def _bytes(table) -> bytes:
        import io

        import pyarrow.parquet as pq

        buf = io.BytesIO()
        pq.write_table(table, buf)
        return buf.getvalue()

    def add(self, key: str, table) -> None:
        write_bytes(join(self.parts, f"{key}.parquet"), self._bytes(table))

    def finish(self, table) -> None:
        write_bytes(self.out, self._bytes(table))
        remove(self.parts, recursive=True)


# ---- the writer lock of a dataset on object storage ----------------------------------------------
class LockHeld(ValueError):
    """Another writer holds the lock object."""


@contextlib.contextmanager
def object_lock(url: str, wait: float | None = None, on_wait=None, *, stale_s: float | None = None):
    """Hold the lock object ``url`` for the block: created with a conditional write (``If-None-Match:
    *`` on S3; exclusive create elsewhere), so of two writers exactly one gets it; it names its
    holder (host, pid, time) and is deleted at the end.  A holder on this host that no longer runs
    left a stale lock: it is taken over.  ``wait``: seconds to wait for another holder (None: as long
    as it takes), then :class:`LockHeld` naming the holder and the lock object."""
    import socket

    import orjson

    from liqcore._atomic import pid_alive

    fs, path = filesystem(url)
    host = socket.gethostname()
    body = orjson.dumps({"host": host, "pid": os.getpid(), "since": time.time()})
    start = time.monotonic()
    told = False
    while True:
        with storage_errors(url, "locking"):
            try:
                try:
                    fs.pipe_file(path, body, mode="create")
                except TypeError:  # a file system without conditional writes: check, then write
                    if fs.exists(path):
                        raise FileExistsError(path) from None
                    fs.pipe_file(path, body)
                break
            except FileExistsError:
                try:
                    holder = orjson.loads(fs.cat_file(path))
                except Exception:  # noqa: BLE001 - removed meanwhile, or not ours: try again
                    holder = {}
        who = f"pid {holder.get('pid')} on {holder.get('host')}" if holder else "another writer"
        dead = holder.get("host") == host and isinstance(holder.get("pid"), int) and not pid_alive(holder["pid"])
        old = stale_s is not None and time.time() - float(holder.get("since", time.time())) > stale_s
        if dead or old:
            with storage_errors(url, "removing a stale lock"), contextlib.suppress(FileNotFoundError):
                fs.rm_file(path)
            continue
        waited = time.monotonic() - start
        if wait is not None and waited >= wait:
            raise LockHeld(f"dataset: {display(url.rsplit('/', 1)[0])} is being written by {who} (lock object "
                           f"{display(url)}); " + (f"still locked after waiting {wait:g} s" if wait else
                                                    "run again when it has finished, or delete the lock "
                                                    "object if that writer is gone"))
        if not told and on_wait is not None:
            on_wait(f"dataset {display(url.rsplit('/', 1)[0])} is being written by {who}: waiting for it to "
                    f"finish (lock object {display(url)})")
            told = True
        time.sleep(0.2)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            fs.rm_file(path)

"""Credentials never reach an error message: a URL's ``user:password@`` and the values of its credential query
parameters (a presigned URL's signature, a token, ...) are redacted wherever liqcore shows a URL, and the text
of a storage / HTTP library's exception is scrubbed of the secrets of the URL and of ``--storage-option``
before it is shown, even where the library repeats a secret in its own words (an "Invalid bucket name")."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRET = "SUPERSECRET123"
KEY_ID = "AKIAMYKEYID"


def _cli(args, cwd, code=None):
    """``liqcore ARGS`` in a fresh process in ``cwd`` (no AWS settings of this machine; loopback only)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]), AWS_EC2_METADATA_DISABLED="true",
               AWS_CONFIG_FILE=str(cwd / "none"), AWS_SHARED_CREDENTIALS_FILE=str(cwd / "none"))
    cmd = [sys.executable, "-m", "liqcore", *args] if code is None else [sys.executable, "-c", code, *args]
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def _one_error_line(r, command: str) -> str:
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"liqcore {command}: error: "), lines[0]
    return lines[0]


def _nowhere(r, *secrets):
    for s in secrets:
        assert s not in r.stdout and s not in r.stderr, (s, r.stdout, r.stderr)


# ---- the three cases of the audit, through the command line -------------------------------------------------
def test_s3_url_with_key_and_secret_in_it_is_refused_without_showing_them(tmp_path):
    r = _cli(["events", f"s3://{KEY_ID}:{SECRET}@bkt/x.csv"], tmp_path)
    assert r.returncode == 2
    _nowhere(r, SECRET, KEY_ID)
    line = _one_error_line(r, "events")
    assert "s3://bkt/x.csv" in line and "user:password@" in line


# the audit's exact path: the client library (botocore) is reached and repeats "KEY:SECRET@bkt" as the
# bucket name in its own message; the early refusal above is switched off so that its text is what is shown
_WITHOUT_EARLY_REFUSAL = ("import sys; import liqcore.io.storage as s; s._NO_USERINFO = (); "
                          "from liqcore.cli import main; sys.exit(main(sys.argv[1:]))")


def test_a_client_librarys_own_wording_of_the_secret_is_scrubbed(tmp_path):
    pytest.importorskip("s3fs")
    r = _cli(["events", f"s3://{KEY_ID}:{SECRET}@bkt/x.csv", "--storage-option", "anon=true"], tmp_path,
             code=_WITHOUT_EARLY_REFUSAL)
    assert r.returncode == 2, r.stderr
    _nowhere(r, SECRET, KEY_ID)
    line = _one_error_line(r, "events")
    assert "storage: reading s3://bkt/x.csv" in line and "bucket" in line.lower(), line


def test_presigned_https_url_shows_no_signature_or_credential(tmp_path):
    url = (f"https://127.0.0.1:1/b/x.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256"
           f"&X-Amz-Credential={KEY_ID}%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z"
           f"&X-Amz-Expires=900&X-Amz-Security-Token=T0KEN-{SECRET}&X-Amz-Signature={SECRET}")
    r = _cli(["events", url], tmp_path)
    assert r.returncode == 1
    _nowhere(r, SECRET, KEY_ID, "T0KEN-")
    line = _one_error_line(r, "events")
    assert "127.0.0.1:1" in line and "connect" in line.lower(), line
    assert "X-Amz-Signature=***" in line and "X-Amz-Expires=900" in line, line


def test_endpoint_url_option_with_a_password_is_shown_without_it(tmp_path):
    r = _cli(["events", "s3://bkt/x.csv", "--storage-option", f"endpoint_url=http://u:{SECRET}@127.0.0.1:1"],
             tmp_path)
    assert r.returncode == 2
    _nowhere(r, SECRET)
    line = _one_error_line(r, "events")
    assert "endpoint http://127.0.0.1:1 " in line and "refused" in line, line


def test_endpoint_variable_with_a_token_is_shown_without_it(tmp_path, monkeypatch):
    from liqcore.io import storage

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:1/?token={SECRET}")
    monkeypatch.setattr(storage, "_OPTIONS", {})
    with pytest.raises(ValueError) as exc:
        storage._check_endpoint("s3")
    assert SECRET not in str(exc.value) and "token=***" in str(exc.value) and "refused" in str(exc.value)


# ---- the function itself ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token", "Signature", "sig",
                                  "token", "access_token", "key", "api_key", "apiKey", "password", "client_secret",
                                  "X-Goog-Signature", "X-Goog-Credential", "GoogleAccessId", "AWSAccessKeyId",
                                  "Key-Pair-Id", "sessionToken", "refresh_token", "%74oken", "auth", "code"])
def test_credential_parameters(name):
    from liqcore.secrets import is_credential_param

    assert is_credential_param(name)


@pytest.mark.parametrize("name", ["X-Amz-Date", "X-Amz-Expires", "X-Amz-Algorithm", "versionId", "partNumber",
                                  "prefix", "format", "page", "region"])
def test_ordinary_parameters(name):
    from liqcore.secrets import is_credential_param

    assert not is_credential_param(name)


@pytest.mark.parametrize("url, shown", [
    ("http://user:pass@host/x.csv", "http://host/x.csv"),
    ("ftp://user:Pa55word@host:21/dir/f.csv", "ftp://host:21/dir/f.csv"),
    # several parameters: only the credentials' values go, order and the rest kept as written
    ("https://h/p?a=1&X-Amz-Signature=abc&b=2&token=t0k3n&c=%2F",
     "https://h/p?a=1&X-Amz-Signature=***&b=2&token=***&c=%2F"),
    # encoded: a name written with %-escapes, a value holding an escaped & or =
    ("https://h/p?%74oken=enc0ded&Key=a%26b%3Dc&x=y", "https://h/p?%74oken=***&Key=***&x=y"),
    # ; as a separator; a credential's value holding a ; is not cut short; the fragment (OAuth) too
    ("https://h/p?x=1;access_token=zz;y=2&n=3#access_token=qq&s=ok",
     "https://h/p?x=1;access_token=***&n=3#access_token=***&s=ok"),
    # a parameter without a value, an empty one, one without a name
    ("https://h/p?sig&token=&=v&a=1", "https://h/p?sig&token=&=v&a=1"),
    # an AWS secret key holding an unencoded / in the user info
    ("s3://AKIAID:abc/def+ghi@bkt/x.csv", "s3://bkt/x.csv"),
    # an @ in the path of a URL with a port is not user info
    ("http://host:8080/u@x/f.csv", "http://host:8080/u@x/f.csv"),
    ("http://[::1]:9000/b/x?X-Amz-Signature=s", "http://[::1]:9000/b/x?X-Amz-Signature=***"),
    # not URLs: left alone
    ("data/ds?token=x", "data/ds?token=x"),
    ("C:\\data\\x.csv", "C:\\data\\x.csv"),
])
def test_redact_url(url, shown):
    from liqcore.secrets import redact_url

    assert redact_url(url) == shown


def test_a_secret_that_is_also_part_of_the_host():
    from liqcore.secrets import redact_text, redact_url, url_secrets

    url = "https://bkt-pw:bkt-pw-9@bkt-pw-9.example.com/p/x.csv?sig=bkt-pw-9&v=1"
    # the URL keeps its host as written (it is where the request went), loses the user info and the signature
    assert redact_url(url) == "https://bkt-pw-9.example.com/p/x.csv?sig=***&v=1"
    assert set(url_secrets(url)) >= {"bkt-pw:bkt-pw-9", "bkt-pw", "bkt-pw-9"}
    # a library's text is scrubbed of the secret wherever it is, the host included, longest first
    text = f"Cannot connect to host bkt-pw-9.example.com:443 for {url} (user bkt-pw, bkt-pw:bkt-pw-9)"
    clean = redact_text(text, url_secrets(url))
    assert "bkt-pw" not in clean and "sig=***&v=1" in clean and "Cannot connect to host ***.example.com:443" in clean


def test_url_secrets_as_written_and_decoded():
    from liqcore.secrets import redact_text, url_secrets

    url = (f"https://u%40corp:p%40ss%2Fw0rd@h/x?X-Amz-Credential={KEY_ID}%2F20240101%2Fus-east-1%2Fs3%2Faws4_request"
           f"&X-Amz-Signature={SECRET}&token=a+b+c+d")
    got = url_secrets(url)
    for s in ("p%40ss%2Fw0rd", "p@ss/w0rd", "u@corp", f"{KEY_ID}/20240101/us-east-1/s3/aws4_request", KEY_ID, SECRET,
              "a+b+c+d", "a b c d"):
        assert s in got, (s, got)
    assert got == sorted(got, key=len, reverse=True)
    # a library that shows the decoded user info or the key id alone is scrubbed too
    text = f'bad password for "u@corp" ("p@ss/w0rd"); InvalidAccessKeyId: {KEY_ID}; sig {SECRET}'
    clean = redact_text(text, got)
    for s in ("p@ss/w0rd", "u@corp", KEY_ID, SECRET):
        assert s not in clean
    assert clean.startswith("bad password for ") and "InvalidAccessKeyId" in clean


def test_redact_text_finds_urls_in_free_text():
    from liqcore.secrets import redact_text

    text = (f"GET 'https://h/x?X-Amz-Signature={SECRET}' failed (see https://u:{SECRET}x@h2/y?token=abcd1234)."
            f" url=<wss://h3/ws?listenKey=lk-{SECRET}>")
    clean = redact_text(text)
    assert SECRET not in clean and "abcd1234" not in clean
    assert "'https://h/x?X-Amz-Signature=***'" in clean and "(see https://h2/y?token=***)." in clean
    assert "<wss://h3/ws?listenKey=***>" in clean
    # a short secret (under 4 characters) is never scrubbed out of ordinary words
    assert redact_text("the user is ab", ["ab", None, ""]) == "the user is ab"


# ---- storage: every message it makes ------------------------------------------------------------------------
@pytest.fixture
def opts():
    from liqcore.io import storage

    storage.set_options([f"key={KEY_ID}", f"secret=Opt-{SECRET}", f"endpoint_url=http://eu:ep-{SECRET}@127.0.0.1:9"])
    yield storage
    storage.set_options([])


@pytest.mark.parametrize("exc_type", [RuntimeError, OSError, FileNotFoundError, PermissionError, ValueError])
def test_storage_errors_scrub_the_library_text(opts, exc_type):
    storage = opts
    url = f"https://ru:{SECRET}@h/x.csv?sig=Sig-{SECRET}&v=1"
    said = (f'Invalid bucket name "ru:{SECRET}@h"; GET https://h/x.csv?sig=Sig-{SECRET}&v=1; key {KEY_ID}, '
            f"secret Opt-{SECRET}; endpoint http://eu:ep-{SECRET}@127.0.0.1:9\nsecond line")
    with pytest.raises((ValueError, OSError)) as exc:
        with storage.storage_errors(url):
            raise exc_type(said)
    shown = f"{exc.value} {getattr(exc.value, 'filename', '')}"
    assert SECRET not in shown and KEY_ID not in shown, shown
    if exc_type is not ValueError:
        assert "\n" not in shown and "https://h/x.csv?sig=***&v=1" in shown


def test_storage_errors_keep_a_clean_value_error_as_it_is(opts):
    storage = opts
    err = ValueError("dataset: s3://b/ds holds no partitions")
    with pytest.raises(ValueError) as exc:
        with storage.storage_errors("s3://b/ds"):
            raise err
    assert exc.value is err


def test_filesystem_errors_name_the_url_without_its_secrets(opts, monkeypatch):
    import fsspec

    storage = opts

    def boom(url, **kw):
        raise RuntimeError(f"cannot open {url}")

    monkeypatch.setattr(fsspec.core, "url_to_fs", boom)
    with pytest.raises(ValueError) as exc:
        storage.filesystem(f"https://h/x.csv?X-Amz-Signature={SECRET}")
    assert SECRET not in str(exc.value) and "X-Amz-Signature=***" in str(exc.value)


def test_display(opts):
    assert opts.display(f"https://u:{SECRET}@h/x?token={SECRET}&a=1") == "https://h/x?token=***&a=1"


def test_an_unreadable_part_is_named_without_secrets(capsys):
    from liqcore.io import storage

    line = storage.unreadable_part(f"https://h/o.parts/k.parquet?sig={SECRET}",
                                   OSError(f"403 for https://h/o.parts/k.parquet?sig={SECRET}"))
    assert SECRET not in line and SECRET not in capsys.readouterr().err and "sig=***" in line


def test_the_live_logs_redaction_is_the_same_function():
    from liqcore.live.logging import redact

    said = f"connect wss://u:{SECRET}@h/ws?listenKey={SECRET}x failed"
    assert SECRET not in redact(said) and "wss://h/ws?listenKey=***" in redact(said)

"""Credential loading and the Secret wrapper: values never shown, private files only."""
from __future__ import annotations

import logging
import os
import pickle

import pytest

from liqcore.secrets import Credentials, RedactingFilter, Secret, load_credentials, mask_key

KEY = "AbCdEfGhIjKlMnOpQr"
SECRET = "sUpErSeCrEtVaLuE0123456789abcdef"


def test_secret_never_displayed():
    s = Secret(SECRET)
    for text in (repr(s), str(s), f"{s}", f"{s!r}", "%s" % s, repr([s]), repr({"k": s})):
        assert SECRET not in text
    assert s.reveal() == SECRET
    assert s == Secret(SECRET) and s != Secret("other")
    with pytest.raises(TypeError):
        pickle.dumps(s)
    with pytest.raises(AttributeError):
        s._value = "x"
    with pytest.raises(ValueError):
        Secret(123)


def test_mask_key_shows_at_most_four_chars():
    assert mask_key(KEY) == "AbCd…"
    assert mask_key(Secret(KEY)) == "AbCd…"
    assert mask_key("abc") == "…"
    assert mask_key(None) == ""


def test_load_from_env():
    c = load_credentials("bybit", env={"BYBIT_API_KEY": KEY, "BYBIT_API_SECRET": SECRET})
    assert isinstance(c, Credentials)
    assert c.api_key.reveal() == KEY and c.api_secret.reveal() == SECRET
    assert SECRET not in repr(c) and KEY not in repr(c) and "AbCd" in repr(c)
    with pytest.raises(ValueError, match="BYBIT_API_SECRET"):
        load_credentials("bybit", env={"BYBIT_API_KEY": KEY})
    with pytest.raises(ValueError, match="BYBIT_API_KEY"):
        load_credentials("bybit", env={})


@pytest.mark.parametrize("content", [
    f"# keys\nBYBIT_API_KEY={KEY}\nexport BYBIT_API_SECRET='{SECRET}'\n",
    f'{{"api_key": "{KEY}", "api_secret": "{SECRET}"}}',
])
def test_load_from_private_file(tmp_path, content):
    p = tmp_path / "keys"
    p.write_text(content)
    os.chmod(p, 0o600)
    c = load_credentials("bybit", key_file=p, env={})
    assert c.api_key.reveal() == KEY and c.api_secret.reveal() == SECRET
    # the file may also be named by $LIQCORE_KEY_FILE
    c2 = load_credentials("bybit", env={"LIQCORE_KEY_FILE": str(p)})
    assert c2.api_secret == c.api_secret


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_refuses_group_or_world_readable_file(tmp_path, mode):
    p = tmp_path / "keys"
    p.write_text(f"BYBIT_API_KEY={KEY}\nBYBIT_API_SECRET={SECRET}\n")
    os.chmod(p, mode)
    with pytest.raises(ValueError, match="chmod 600") as ei:
        load_credentials("bybit", key_file=p, env={})
    assert SECRET not in str(ei.value)


def test_malformed_file_error_does_not_echo_content(tmp_path):
    p = tmp_path / "keys"
    p.write_text(f"{SECRET}\n")
    os.chmod(p, 0o600)
    with pytest.raises(ValueError, match="line 1") as ei:
        load_credentials("bybit", key_file=p, env={})
    assert SECRET not in str(ei.value)


def test_redacting_filter(caplog):
    logger = logging.getLogger("liqcore.test.redact")
    logger.addFilter(RedactingFilter([Secret(SECRET)]))
    # attach the capture handler to the logger itself: another test may have routed the
    # ``liqcore`` logger tree to a JSON handler with propagation off
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="liqcore.test.redact"):
            logger.info("signing with %s", SECRET)
    finally:
        logger.removeHandler(caplog.handler)
    assert SECRET not in caplog.text and "***" in caplog.text


def test_okx_passphrase_from_env_json_and_missing(tmp_path):
    env = {"OKX_API_KEY": KEY, "OKX_API_SECRET": SECRET, "OKX_API_PASSPHRASE": "phrase-0042"}
    c = load_credentials("okx", env=env, passphrase=True)
    assert c.passphrase.reveal() == "phrase-0042" and "phrase-0042" not in repr(c) and "passphrase" in repr(c)
    p = tmp_path / "okx.json"
    p.write_text('{"api_key": "%s", "api_secret": "%s", "passphrase": "phrase-0042"}' % (KEY, SECRET))
    p.chmod(0o600)
    assert load_credentials("okx", key_file=p, env={}, passphrase=True).passphrase.reveal() == "phrase-0042"
    with pytest.raises(ValueError, match="OKX_API_PASSPHRASE: missing in environment") as e:
        load_credentials("okx", env={"OKX_API_KEY": KEY, "OKX_API_SECRET": SECRET}, passphrase=True)
    assert KEY not in str(e.value) and SECRET not in str(e.value)
    assert load_credentials("bybit", env={"BYBIT_API_KEY": KEY, "BYBIT_API_SECRET": SECRET}).passphrase is None

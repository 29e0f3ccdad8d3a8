"""The redactor finds a key in every form it leaks in; printable text cannot drive a
terminal; worker environments hold no secrets."""
import base64
import os
import time

import pytest

from autoda import secrets
from autoda.secrets import MARK, Redactor, printable, scrubbed_environ, secret_names

KEY = "sk-proj-Zx81Qw2Lm0Ab9Cd3Ef4Gh5Ij6Kl7Mn8"


@pytest.mark.parametrize("leak", [
    KEY,
    KEY[5:22],  # any 12+ characters of it
    KEY[::-1],
    KEY.encode().hex(),
    KEY.encode().hex().upper(),
    base64.b64encode(KEY.encode()).decode(),
    base64.b64encode(b"user:" + KEY.encode()).decode(),  # HTTP Basic: another alignment
    base64.b64encode(b"Bearer " + KEY.encode()).decode(),
    base64.urlsafe_b64encode(b"xy" + KEY.encode()).decode(),
])
def test_every_form_of_the_key_is_redacted(leak):
    text = f"before {leak} after"
    out = Redactor([KEY]).redact(text)
    assert out.startswith("before ") and out.endswith(" after") and MARK in out
    for form in (KEY, KEY[5:17], KEY[::-1][:12], KEY.encode().hex()[:12]):
        assert form not in out


def test_ordinary_text_is_left_alone():
    prose = "The policy rotates rare classes: rotate(0.1 + 0.4 * rank), per sample; sk-proj is a prefix."
    assert Redactor([KEY]).redact(prose) == prose
    assert Redactor([]).redact(KEY) == KEY
    assert Redactor(["short"]).redact("short words stay") == "short words stay"  # not a key: too short


def test_a_short_key_is_still_found_whole():
    assert Redactor(["abcd1234"]).redact("x abcd1234 y") == f"x {MARK} y"


def test_redaction_is_linear_in_the_text():
    """Megabytes of the key's own characters, and of the key itself, in well under a deadline."""
    redactor = Redactor([KEY])
    for text in ("Zx81" * 500_000, (KEY + " ") * 50_000, base64.b64encode(os.urandom(1_500_000)).decode()):
        started = time.monotonic()
        out = redactor.redact(text)
        assert time.monotonic() - started < 10
        assert KEY not in out


def test_protect_applies_everywhere_in_the_process(monkeypatch):
    monkeypatch.setattr(secrets, "_active", Redactor())
    secrets.protect(None, "", KEY)
    assert secrets.redact(f"key={KEY}") == f"key={MARK}"
    assert secrets.redact_all({"a": [KEY, 1], KEY: None}) == {"a": [MARK, 1], MARK: None}
    import logging
    record = logging.getLogger("openai").makeRecord("openai", logging.DEBUG, "f", 1, "headers %s", (KEY,), None)
    assert KEY not in record.getMessage()


@pytest.mark.parametrize("text,shown", [
    ("\x1b[2J\x1b]0;title\x07", "\\x1b[2J\\x1b]0;title\\x07"),
    ("a\rb\x00c\x9bd\x7f", "a\\x0db\\x00c\\x9bd\\x7f"),
    ("evil\u202etxt.exe \u2066x\u2069", "evil\\u202etxt.exe \\u2066x\\u2069"),
    ("zero\u200bwidth\ufeff", "zero\\u200bwidth\\ufeff"),
    ("lone \ud800 surrogate", "lone \\ud800 surrogate"),
    ("lines\nand\ttabs stay, é ü 中 too", "lines\nand\ttabs stay, é ü 中 too"),
])
def test_printable_escapes_what_can_drive_or_fool_a_terminal(text, shown):
    assert printable(text) == shown
    printable(text).encode("utf-8")  # and always prints


def test_worker_environments_lose_keys_tokens_and_proxies(monkeypatch):
    monkeypatch.setattr(secrets, "_active", Redactor([KEY]))
    env = {"OPENAI_API_KEY": KEY, "ANTHROPIC_API_KEY": "x", "HF_TOKEN": "t", "HTTPS_PROXY": "http://u:p@h:1",
           "http_proxy": "http://h:2", "AWS_SECRET_ACCESS_KEY": "s", "MY_VAR": f"prefix{KEY}", "PATH": "/bin",
           "HOME": "/root", "CUDA_VISIBLE_DEVICES": "0", "OPENAI_BASE_URL": "http://x"}
    assert secret_names(env) == sorted(set(env) - {"PATH", "HOME", "CUDA_VISIBLE_DEVICES"})
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with scrubbed_environ() as removed:
        assert "OPENAI_API_KEY" in removed and "OPENAI_API_KEY" not in os.environ
    assert os.environ["OPENAI_API_KEY"] == KEY  # the parent keeps it

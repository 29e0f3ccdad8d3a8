"""Keeping the API key out of everything autoda writes, sends or shows, and outside text
safe to show.

- ``Redactor``: built from the configured keys; replaces each key, and anything that looks
  like it, with ``[redacted]``: the exact key; any run of 12 or more of its characters; its
  base64 (standard or URL-safe, at any byte alignment, so the key inside a longer encoded
  string is found too), hex and reversed forms. Linear in the text: one pass over the runs
  of characters the forms are made of, a set lookup per position.
- ``protect(key)`` adds a key to this process's redactor and ``redact(text)`` applies it:
  the LLM client registers its key, and the journal, the prompts, the LLM's answers, error
  messages and log records all pass through ``redact``.
- ``printable(text)``: text from outside (an LLM, an exception, a journal written by anyone)
  with the characters that can drive or fool a terminal escaped: ESC and every other C0 and
  C1 control but newline and tab (so no CSI or OSC sequence survives), bidi overrides and
  isolates, zero-width characters and lone surrogates. ``shown`` is both: what a person
  may see.
- ``scrubbed_environ()``: os.environ (and sys.argv) without credentials while a worker
  process starts, so the child never holds them (multiprocessing's spawn copies the parent's
  environment and its sys.argv); ``environ_without_secrets()``: a copy without them, for a
  subprocess given its own environment.
"""
from __future__ import annotations

import base64
import contextlib
import logging
import os
import re
import sys
import threading
from typing import Iterable, Iterator

MARK = "[redacted]"
GRAM = 12  # a run of this many characters of a key is the key
SHORTEST_KEY = 8  # shorter values are no secret and would match ordinary words


def _base64_forms(data: bytes) -> set[str]:
    """The base64 characters that depend on the key's bytes alone, at each of the three
    byte alignments the key can have inside longer encoded data."""
    forms = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data).decode("ascii")
        start = -(-8 * offset // 6)  # the first character made only of key bits
        end = 8 * (offset + len(data)) // 6  # past the last one
        inner = encoded[start:end]
        forms |= {inner, inner.translate(str.maketrans("+/", "-_"))}
    return forms


class Redactor:
    """Replaces keys and their look-alikes with [redacted].

    >>> r = Redactor(["sk-0123456789abcdefghij"])
    >>> r.redact("key sk-0123456789abcdefghij, part 3456789abcdef, reversed jihgfedcba9876543210-ks")
    'key [redacted], part [redacted], reversed [redacted]'
    >>> r.redact("nothing to hide here")
    'nothing to hide here'
    """

    def __init__(self, keys: Iterable[str] = ()) -> None:
        self.keys = sorted({k for k in keys if isinstance(k, str) and len(k) >= SHORTEST_KEY}, key=len, reverse=True)
        forms: set[str] = set()
        for key in self.keys:
            data = key.encode("utf-8", "surrogatepass")
            forms |= {key, key[::-1], data.hex(), data.hex().upper()} | _base64_forms(data)
        self.grams = {form[i:i + GRAM] for form in forms for i in range(len(form) - GRAM + 1)}
        self.short = [k for k in self.keys if len(k) < GRAM]  # found whole only
        alphabet = "".join(sorted({c for form in forms for c in form}))
        # runs of the forms' characters long enough to hold a gram; the only places to look
        self.runs = re.compile(f"[{re.escape(alphabet)}]{{{GRAM},}}") if alphabet else None

    def __bool__(self) -> bool:
        return bool(self.keys)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where keys and look-alikes are, as sorted (start, end) pairs, possibly overlapping."""
        found = []
        for key in self.short:
            at = text.find(key)
            while at >= 0:
                found.append((at, at + len(key)))
                at = text.find(key, at + 1)
        if self.runs is not None:
            for run in self.runs.finditer(text):
                for i in range(run.start(), run.end() - GRAM + 1):
                    if text[i:i + GRAM] in self.grams:
                        found.append((i, i + GRAM))
        return sorted(found)

    def redact(self, text: str) -> str:
        if not self.keys or not text:
            return text
        merged: list[list[int]] = []
        for start, end in self.spans(text):  # overlapping or touching windows: one mark
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        if not merged:
            return text
        parts, done = [], 0
        for start, end in merged:
            parts += [text[done:start], MARK]
            done = end
        parts.append(text[done:])
        return "".join(parts)


_lock = threading.Lock()
_active = Redactor()


def protect(*keys: str | None) -> None:
    """Redact these keys (and their look-alikes) from now on, everywhere in this process."""
    global _active
    new = [k for k in keys if k and k not in _active.keys]
    if not new:
        return
    with _lock:
        _active = Redactor([*_active.keys, *new])
    _install_log_filter()


def redact(text: str) -> str:
    return _active.redact(text) if isinstance(text, str) else text


def redact_all(value: object) -> object:
    """Every string inside a JSON-like value, redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_all(k): redact_all(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_all(v) for v in value]
    return value


# --- terminals ---------------------------------------------------------------------------

def _escape_table() -> dict[int, str]:
    table = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)] if c not in (0x09, 0x0A)}
    unicode = [0x061C, 0x180E, *range(0x200B, 0x2010), 0x2028, 0x2029, *range(0x202A, 0x202F),
               *range(0x2060, 0x2065), *range(0x2066, 0x206A), 0xFEFF, *range(0xD800, 0xE000)]
    table.update({c: f"\\u{c:04x}" for c in unicode})
    return table


_ESCAPES = _escape_table()


def printable(text: object) -> str:
    r"""Text with terminal controls, bidi overrides, zero-width characters and lone
    surrogates shown as escapes (newlines and tabs kept).

    >>> print(printable("red \x1b[31mflag\x1b[0m, \u202eexe.txt\tok"))
    red \x1b[31mflag\x1b[0m, \u202eexe.txt	ok
    """
    return str(text).translate(_ESCAPES)


def shown(text: object) -> str:
    """What a person may see of outside text: secrets redacted, controls escaped."""
    return printable(redact(str(text)))


# --- logs --------------------------------------------------------------------------------

_factory_installed = False


def _install_log_filter() -> None:
    """Redact every log record as it is made (openai and httpx log requests at debug level),
    whatever logger or handler it goes to."""
    global _factory_installed
    with _lock:
        if _factory_installed:
            return
        _factory_installed = True
        make = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = make(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string is the logger's to report
            return record
        record.msg, record.args = redact(message), None
        return record

    logging.setLogRecordFactory(factory)


# --- child processes ---------------------------------------------------------------------

_SECRET_NAME = re.compile(r"(API_?KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?|AUTH)$|^OPENAI_|_KEY$|PROXY$",
                          re.IGNORECASE)


def is_secret(name: str, value: str) -> bool:
    """Whether a worker may not see this environment variable: a key, token, password,
    OpenAI setting or proxy (proxies can carry credentials; workers need no network), or
    any value that holds a protected key."""
    return bool(_SECRET_NAME.search(name)) or (bool(_active) and redact(value) != value)


def secret_names(environ: dict[str, str] | None = None) -> list[str]:
    environ = os.environ if environ is None else environ
    return sorted(name for name, value in environ.items() if is_secret(name, value))


def environ_without_secrets() -> dict[str, str]:
    """A copy of os.environ for a child process that is started with its own environment
    (a subprocess, not a spawned worker: scrubbed_environ is for those)."""
    secret = set(secret_names())
    return {name: value for name, value in os.environ.items() if name not in secret}


_environ_lock = threading.Lock()


@contextlib.contextmanager
def scrubbed_environ() -> Iterator[list[str]]:
    """os.environ without secrets for the moment a child process is started (spawn and
    Ray's local cluster copy the environment as they start), then as it was; sys.argv
    redacted for that moment too (spawn hands the child the parent's sys.argv, which holds
    the key after `--api-key KEY`)."""
    with _environ_lock:
        saved = {name: os.environ.pop(name) for name in secret_names()}
        argv = sys.argv
        sys.argv = [redact(arg) for arg in argv]
        try:
            yield list(saved)
        finally:
            sys.argv = argv
            os.environ.update(saved)

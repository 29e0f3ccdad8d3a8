"""Policy source text: reading it from a path, text or bytes, and the checks that come before
parsing (size, encoding, binary data, emptiness, tokens, bracket nesting), so the parser only
ever sees text it can handle in bounded time and stack.

Line breaks are "\n", "\r\n" and a lone "\r"; the text is normalised to "\n" on the way in,
so every pass (and every diagnostic's line number) counts lines the same way. Other
characters that some tools treat as line breaks (U+0085, U+2028, U+2029, form feed) are
ordinary characters: allowed in comments and descriptions, an error elsewhere (a form feed
is whitespace, as in Python); vertical tab and U+001C-U+001E are refused as control
characters.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..files import FileTooLarge, NotARegularFile, read_limited
from .diagnostics import Diagnostic, PolicyError

MAX_SOURCE_BYTES = 100_000  # a policy is a page; this is fifty pages
MAX_NESTING = 50  # brackets open at once
# Words, numbers, operators and brackets. Parsing costs about 25 us a token, so this bounds
# a parse to about half a second; a page-long policy has a few hundred.
MAX_TOKENS = 20_000


@dataclass(frozen=True)
class Source:
    text: str
    file: str

    @property
    def lines(self) -> list[str]:
        """The text's lines, split at "\n" only, as the parser counts them (str.splitlines
        would also split at U+2028 in a comment and shift every later line)."""
        return split_lines(self.text)


def split_lines(text: str) -> list[str]:
    lines = text.split("\n")
    if len(lines) > 1 and lines[-1] == "":  # a final newline ends the last line; it starts none
        lines.pop()
    return lines


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _fail(file: str, code: str, message: str, line: int = 1, column: int = 1,
          lines: list[str] | None = None, hint: str | None = None) -> PolicyError:
    return PolicyError([Diagnostic(code, message, line, column, hint=hint, file=file)], lines)


def _position(data: bytes | str, offset: int) -> tuple[int, int]:
    """Line and column of an offset, counting "\r\n", "\r" and "\n" as line breaks."""
    if isinstance(data, bytes):
        prefix = data[:offset].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        newline: bytes | str = b"\n"
    else:
        prefix = normalise_newlines(data[:offset])
        newline = "\n"
    line = prefix.count(newline) + 1
    column = len(prefix) - (prefix.rfind(newline) + 1) + 1
    return line, column


def looks_like_path(value: str) -> bool:
    """A str names a file when it is one line and that file exists, or it ends in '.dsl' or '.py'."""
    if "\n" in value or "\x00" in value or len(value) > 4096:
        return False
    if value.endswith((".dsl", ".py")) and not any(ch.isspace() for ch in value):
        return True
    try:
        return os.path.isfile(value)
    except (OSError, ValueError):
        return False


def read_source(source: str | bytes | os.PathLike, file: str | None = None) -> Source:
    """Turn a path, policy text or raw bytes into checked text, or raise PolicyError.

    A ``pathlib.Path`` (any ``os.PathLike``), or a one-line str naming an existing file, is
    read from disk (as is a one-word str ending in '.dsl', so a missing file is reported as
    missing); any other str is policy text; bytes are decoded as UTF-8.
    """
    if isinstance(source, os.PathLike) or (isinstance(source, str) and looks_like_path(source)):
        path = Path(source)
        file = file or str(source)
        try:  # at most the limit + 1 bytes, from a regular file only (not /dev/zero, not a FIFO)
            data: str | bytes = read_limited(path, MAX_SOURCE_BYTES)
        except FileTooLarge as exc:
            size = f"{exc.size:,} bytes" if exc.size is not None else f"over {MAX_SOURCE_BYTES:,} bytes"
            raise _fail(file, "I001", f"policy file is {size}; the limit is {MAX_SOURCE_BYTES:,}") from None
        except NotARegularFile as exc:
            raise _fail(file, "I006", f"cannot read policy file: it is {exc.what}, not a regular file") from None
        except OSError as exc:
            raise _fail(file, "I006", f"cannot read policy file: {exc.strerror or exc}") from None
    else:
        data = source
        file = file or "<policy>"
    if isinstance(data, (bytes, bytearray)):
        data = bytes(data)
        if len(data) > MAX_SOURCE_BYTES:
            raise _fail(file, "I001", f"policy text is {len(data):,} bytes; the limit is {MAX_SOURCE_BYTES:,}")
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        if b"\x00" in data:  # before decoding: a binary file is binary, not a bad encoding
            line, column = _position(data, data.index(b"\x00"))
            raise _fail(file, "I003", "the policy contains a NUL byte", line, column,
                        hint="policies are plain text; is this a binary file?")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line, column = _position(data, exc.start)
            raise _fail(file, "I002", f"byte 0x{data[exc.start]:02x} is not valid UTF-8",
                        line, column, hint="policies are UTF-8 text") from None
    elif isinstance(data, str):
        text = data.removeprefix("\ufeff")  # a file read as 'utf-8' rather than 'utf-8-sig'
        if len(text.encode("utf-8", "surrogatepass")) > MAX_SOURCE_BYTES:
            raise _fail(file, "I001", f"policy text is over the limit of {MAX_SOURCE_BYTES:,} bytes")
    else:
        raise TypeError(f"a policy is text, bytes or a path, not {type(data).__name__}")
    return _checked(Source(normalise_newlines(text), file))


_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f\ud800-\udfff]")  # controls, lone surrogates


def _checked(src: Source) -> Source:
    text = src.text
    bad = _FORBIDDEN.search(text)
    if bad is not None:
        line, column = _position(text, bad.start())
        hint = ("only a newline ends a line in a policy" if bad.group() in _SEPARATORS
                else "policies are plain text; is this a binary file?")
        raise _fail(src.file, "I003", f"character U+{ord(bad.group()):04X} is not allowed in a policy",
                    line, column, src.lines, hint=hint)
    if not any(line.split("#", 1)[0].strip() for line in src.lines):
        raise _fail(src.file, "I005", "the policy is empty",
                    hint="a policy starts with 'policy NAME' and has a 'per sample:' section")
    _check_nesting(src)
    return src


_SEPARATORS = "\x0b\x1c\x1d\x1e"  # line or record separators to str.splitlines
# A token, roughly as the lexer sees one (a number like 1e-3 counts as three): the count is
# a budget on parsing work, not the lexer's exact count. Comments and spaces do not count.
_TOKEN = re.compile(r'#[^\n]*|"[^"\n]*"?|[A-Za-z0-9_.]+|\*\*|[-+*/<>=!]=|[^\s\\]')


def count_tokens(text: str) -> tuple[int, int | None]:
    """The number of tokens in ``text``, and the offset of the first one over MAX_TOKENS
    (None when there is none)."""
    count = 0
    for match in _TOKEN.finditer(text):
        if match.group().startswith("#"):
            continue
        count += 1
        if count > MAX_TOKENS:
            return count, match.start()
    return count, None


def check_tokens(text: str, file: str, lines: list[str] | None = None) -> None:
    _, over = count_tokens(text)
    if over is not None:
        line, column = _position(text, over)
        raise _fail(file, "I001", f"the policy has more than {MAX_TOKENS:,} tokens (words, numbers, "
                                  "operators and brackets)", line, column, lines,
                    hint="a policy is a page; use let to share parts that repeat")


_BRACKET_OR_NEWLINE = re.compile(r'#[^\n]*|"[^"\n]*"?|[()\[\]\n]')


def brackets(text: str) -> Iterator[tuple[str, int, int]]:
    """(char, line, column) of every bracket and newline outside comments and strings."""
    line, line_start = 1, 0
    for match in _BRACKET_OR_NEWLINE.finditer(text):
        ch = match.group()
        if ch == "\n":
            yield ch, line, match.start() - line_start + 1
            line, line_start = line + 1, match.end()
        elif ch in "()[]":
            yield ch, line, match.start() - line_start + 1


def _check_nesting(src: Source) -> None:
    """Refuse deep bracket nesting before the parser sees it (its cost grows with depth)."""
    depth = 0
    for ch, line, column in brackets(src.text):
        if ch in "([":
            depth += 1
            if depth > MAX_NESTING:
                raise _fail(src.file, "I004", f"brackets nest more than {MAX_NESTING} deep",
                            line, column, src.lines, hint="use let to name parts of a long expression")
        elif ch in ")]":
            depth = max(0, depth - 1)

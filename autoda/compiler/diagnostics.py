"""Diagnostics: small values with a position, a stable code, a message and a hint.

They are written for two readers, a person and an LLM that must repair its own policy, so
each says what is wrong in one line and, where it is cheap, what to write instead.

>>> d = Diagnostic("N002", "unknown op 'rotat'", 3, 12, 17, hint="did you mean 'rotate'?")
>>> print(d.render(["policy p", "per sample:", "    apply 1 of [rotat]"], "p.dsl"))
p.dsl:3:12: error[N002]: unknown op 'rotat'
    apply 1 of [rotat]
               ^^^^^
  hint: did you mean 'rotate'?
"""
from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass, replace

from ..errors import AutodaError, FailureKind
from .ast import Span

# Stable codes. A code never changes meaning; new faults get new codes.
CODES: dict[str, str] = {
    # input
    "I001": "policy text is too large",
    "I002": "policy text is not UTF-8",
    "I003": "policy text contains binary data",
    "I004": "nesting is too deep",
    "I005": "policy text is empty",
    "I006": "policy file cannot be read",
    # syntax
    "S001": "unexpected token",
    "S002": "unexpected character",
    "S003": "unexpected end of text",
    "S004": "Python statement in a policy",
    "S005": "unbalanced bracket",
    # names
    "N001": "unknown name",
    "N002": "unknown op",
    "N003": "assignment to undeclared state",
    "N004": "assignment to a class statistic",
    "N005": "duplicate state declaration",
    "N006": "duplicate op in a list",
    "N007": "unknown function",
    "N008": "name already defined",
    "N009": "epoch-section name used in the per-sample section",
    "N010": "assignment to a let name",
    # types
    "T001": "wrong type of value",
    "T002": "wrong number of arguments",
    "T003": "float value for an int state",
    "T004": "shape mismatch",
    "T005": "bad state declaration",
    "T006": "function not allowed here",
    "T007": "op takes no magnitude",
    "T008": "magnitude missing",
    "T009": "per-op value without an apply stage",
    "T010": "more than one apply stage",
    "T011": "duplicate clause",
    "T012": "exponent must be a number",
    # ranges
    "R001": "literal out of range",
    "R002": "value may leave its range",
    "R003": "empty or inverted range",
    "R004": "value outside the domain of an operation",
    # cost
    "C001": "cost over budget",
    # Python policies (the sandboxed get_aug_type of the paper's representation)
    "P001": "Python policy does not compile in the sandbox",
    "P002": "no get_aug_type with the paper's six parameters",
    "P003": "bad OPS or AUG_PROB",
    "P004": "forbidden import, name or class",
    "P005": "Python policy failed its trial run",
    # the compiler's own fault; never expected
    "X001": "internal compiler error",
}

MAX_DIAGNOSTICS = 20
_TO_LINE_END = 1 << 30


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    line: int
    column: int
    end_column: int | None = None  # exclusive, on the same line
    hint: str | None = None
    file: str = "<policy>"
    severity: str = "error"

    def sort_key(self) -> tuple:
        return (self.line, self.column, self.code, self.message)

    def render(self, lines: list[str] | None = None, file: str | None = None) -> str:
        """``file:line:col: error[CODE]: message``, the source line, carets, the hint."""
        out = [f"{file or self.file}:{self.line}:{self.column}: {self.severity}[{self.code}]: {self.message}"]
        if lines is not None and 1 <= self.line <= len(lines):
            text = _printable(lines[self.line - 1])
            if len(text) <= 200:  # a long line is no help on a terminal or in a prompt
                # Keep the source's tabs in the caret line so the carets line up.
                pad = "".join("\t" if ch == "\t" else " " for ch in text[: self.column - 1])
                end = self.end_column if self.end_column and self.end_column > self.column else self.column + 1
                width = max(1, min(end, len(text) + 1) - self.column)
                out.append(f"    {text}")
                out.append(f"    {pad}{'^' * width}")
        if self.hint:
            out.append(f"  hint: {self.hint}")
        return "\n".join(out)

    def to_dict(self) -> dict:
        return asdict(self)


def _printable(line: str) -> str:
    """The line with each control or separator character (a form feed, U+2028 in a comment)
    shown as a space, so the quoted line stays one line and the carets stay under it."""
    return "".join(" " if ch != "\t" and unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
                   for ch in line)


def diag(code: str, where: Span, message: str, hint: str | None = None) -> Diagnostic:
    """A diagnostic at a node's span (carets run to the span's end, or its first line's end)."""
    assert code in CODES, code
    end = where.end_column if where.end_line == where.line else _TO_LINE_END
    return Diagnostic(code, message, where.line, where.column, end, hint)


def sorted_capped(diagnostics: list[Diagnostic], cap: int = MAX_DIAGNOSTICS) -> list[Diagnostic]:
    """Sorted by position, duplicates dropped, at most ``cap``."""
    unique = sorted(set(diagnostics), key=Diagnostic.sort_key)
    return unique[:cap]


class PolicyError(AutodaError, ValueError):
    """A policy failed to compile. ``diagnostics`` lists every fault found (capped)."""

    kind = FailureKind.COMPILE

    def __init__(self, diagnostics: list[Diagnostic], lines: list[str] | None = None,
                 total: int | None = None):
        self.diagnostics = list(diagnostics)
        self.lines = lines
        self.total = len(self.diagnostics) if total is None else total
        super().__init__(self.render())

    def render(self) -> str:
        parts = [d.render(self.lines) for d in self.diagnostics]
        hidden = self.total - len(self.diagnostics)
        if hidden > 0:
            parts.append(f"... and {hidden} more error{'s' if hidden > 1 else ''}")
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.render()


def with_file(diagnostics: list[Diagnostic], file: str) -> list[Diagnostic]:
    return [replace(d, file=file) for d in diagnostics]

"""Limits on a parsed policy that also hold for its canonical form.

A checked policy is stored, sent to workers and merged with the standard augmentation as
its canonical text (or tree), and read again; whatever checks once must check again. The
canonical form can be larger than the source: ``x -= a - b`` becomes ``x = x - (a - b)``,
one bracket deeper, and ``a+b`` becomes ``a + b``. So the limits the source passed before
parsing (bytes, tokens, bracket nesting) are checked here on the canonical text too, and
expression depth is checked on the syntax tree, which the canonical text parses back to.

Every later pass recurses over expressions; MAX_DEPTH keeps them far from Python's
recursion limit, so the parser checks ``expression_limits`` before any other pass.
"""
from __future__ import annotations

from typing import Iterator

from . import ast
from .diagnostics import Diagnostic, diag
from .format import format_expr, format_policy
from .source import MAX_NESTING, MAX_SOURCE_BYTES, MAX_TOKENS, brackets, count_tokens

MAX_DEPTH = 100  # syntax-tree depth of one expression

_HINT = "use let to name parts of a long expression"


def roots(policy: ast.Policy) -> Iterator[tuple[ast.Expr, int]]:
    """Every whole expression of a policy, with the brackets its canonical line opens
    around it (a fixed stage's magnitude stands inside ``op(...)``, a sub-policy's terms
    inside ``one of [[...]]``)."""
    for statement in policy.epoch or ():
        yield statement.value, 0
    for stage in policy.stages:
        listed = 2 if isinstance(stage, ast.OneOf) else 0
        for single in ast.single_stages((stage,)):
            for role, expr in ast.stage_exprs(single):
                yield expr, listed + (1 if isinstance(single, ast.Fixed) and role == "magnitude" else 0)


def nesting(text: str) -> int:
    """The most brackets open at once in ``text``."""
    depth = deepest = 0
    for ch, _, _ in brackets(text):
        if ch in "([":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]":
            depth = max(0, depth - 1)
    return deepest


def expression_limits(policy: ast.Policy) -> list[Diagnostic]:
    """Depth of each expression, and the bracket nesting of its canonical text."""
    found = []
    for expr, around in roots(policy):
        deep = ast.deeper_than(expr, MAX_DEPTH)
        if deep is not None:
            found.append(diag("I004", deep.span, f"expression nests more than {MAX_DEPTH} levels deep", _HINT))
            continue  # formatting it would recurse too deep
        brackets_open = nesting(format_expr(expr)) + around
        if brackets_open > MAX_NESTING:
            found.append(diag("I004", expr.span, f"written in canonical form this expression nests "
                                                 f"brackets {brackets_open} deep; the limit is {MAX_NESTING}",
                              _HINT))
    return found


def text_limits(policy: ast.Policy) -> list[Diagnostic]:
    """The size and tokens of the canonical text (of a policy within ``expression_limits``).
    The checker runs this last, so that a policy with faults hears of those first."""
    text = format_policy(policy)
    size = len(text.encode("utf-8"))
    start = ast.Span(1, 1, 1, 1)
    if size > MAX_SOURCE_BYTES:
        return [diag("I001", start, f"written in canonical form the policy is {size:,} bytes; "
                                    f"the limit is {MAX_SOURCE_BYTES:,}", "shorten the policy")]
    _, over = count_tokens(text)
    if over is not None:
        return [diag("I001", start, f"written in canonical form the policy has more than {MAX_TOKENS:,} tokens",
                     "shorten the policy")]
    return []

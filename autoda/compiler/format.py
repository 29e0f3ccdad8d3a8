"""The canonical formatter (syntax tree -> text) and the canonical hash.

Formatting is a normal form: one statement per line, four-space indents, the fewest
parentheses that keep the tree, clauses in the order magnitude, weight, probability, and
``x += e`` written out as ``x = x + e``. Parsing the output gives the same tree, and
formatting is idempotent. The hash is of the behaviour: it ignores whitespace, comments,
the policy's name and its description.
"""
from __future__ import annotations

import hashlib

from . import ast

_LINE = 88

# Binding strength, loosest first, as in the grammar.
_COND, _OR, _AND, _NOT, _COMPARE, _SUM, _PRODUCT, _UNARY, _POWER, _ATOM = range(1, 11)
_BINARY = {"or": _OR, "and": _AND, "+": _SUM, "-": _SUM, "*": _PRODUCT, "/": _PRODUCT, "%": _PRODUCT,
           "**": _POWER, **{op: _COMPARE for op in ast.COMPARISONS}}


def _number(value: int | float) -> str:
    return repr(value)


def _strength(e: ast.Expr) -> int:
    if isinstance(e, ast.Num):
        return _UNARY if e.value < 0 or str(e.value).startswith("-") else _ATOM
    if isinstance(e, ast.Unary):
        return _NOT if e.op == "not" else _UNARY
    if isinstance(e, ast.Binary):
        return _BINARY[e.op]
    if isinstance(e, ast.Compare):
        return _COMPARE
    if isinstance(e, ast.Cond):
        return _COND
    return _ATOM


def _wrap(e: ast.Expr, at_least: int) -> str:
    text = format_expr(e)
    return f"({text})" if _strength(e) < at_least else text


def format_expr(e: ast.Expr) -> str:
    if isinstance(e, ast.Num):
        return _number(e.value)
    if isinstance(e, ast.Bool):
        return "true" if e.value else "false"
    if isinstance(e, ast.Name):
        return e.id
    if isinstance(e, ast.Call):
        return f"{e.func}({', '.join(format_expr(a) for a in e.args)})"
    if isinstance(e, ast.Unary):
        if e.op == "not":
            return f"not {_wrap(e.operand, _NOT)}"
        return f"-{_wrap(e.operand, _UNARY)}"
    if isinstance(e, ast.Compare):  # no operand may be a bare comparison: it would join the chain
        parts = [_wrap(e.operands[0], _COMPARE + 1)]
        for op, operand in zip(e.ops, e.operands[1:]):
            parts += [op, _wrap(operand, _COMPARE + 1)]
        return " ".join(parts)
    if isinstance(e, ast.Cond):
        return f"{_wrap(e.body, _OR)} if {_wrap(e.test, _OR)} else {_wrap(e.orelse, _COND)}"
    if isinstance(e, ast.Binary):
        p = _BINARY[e.op]
        if e.op == "**":  # atom ** unary
            return f"{_wrap(e.left, _ATOM)} ** {_wrap(e.right, _UNARY)}"
        if p == _COMPARE:  # comparisons chain, so neither side may be a bare comparison
            return f"{_wrap(e.left, p + 1)} {e.op} {_wrap(e.right, p + 1)}"
        return f"{_wrap(e.left, p)} {e.op} {_wrap(e.right, p + 1)}"
    raise AssertionError(e)


def _literal(x: ast.Num | ast.Bool) -> str:
    return format_expr(x)


def _state(decl: ast.StateDecl) -> str:
    text = f"state {decl.name}: {decl.type}"
    if decl.per_op:
        text += " per op"
    if decl.lo is not None and decl.hi is not None:
        text += f" in [{_literal(decl.lo)}, {_literal(decl.hi)}]"
    return f"{text} = {_literal(decl.init)}"


def _op_list(prefix: str, names: list[str]) -> list[str]:
    """``prefix[a, b, c]``, wrapped under the first op when it is too long for a line."""
    one_line = f"{prefix}[{', '.join(names)}]"
    if len(one_line) <= _LINE:
        return [one_line]
    indent = " " * (len(prefix) + 1)
    lines, current = [], prefix + "["
    for i, name in enumerate(names):
        piece = name + ("]" if i == len(names) - 1 else ",")
        if i > 0 and len(current) + 1 + len(piece) > _LINE:
            lines.append(current)
            current = indent + piece
        else:
            current += ("" if i == 0 else " ") + piece
    lines.append(current)
    return lines


def format_term(stage: ast.Fixed) -> str:
    """``op[(magnitude)] [with probability p]``: a fixed stage, or a sub-policy's term."""
    text = stage.op.name
    if stage.magnitude is not None:
        text += f"({format_expr(stage.magnitude)})"
    if stage.probability is not None:
        text += f" with probability {format_expr(stage.probability)}"
    return text


def _stage(stage: ast.Stage) -> list[str]:
    if isinstance(stage, ast.Fixed):
        return [f"    {format_term(stage)}"]
    if isinstance(stage, ast.OneOf):  # a sub-policy a line
        return (["    one of ["] + [f"        [{', '.join(format_term(t) for t in member)}],"
                                    for member in stage.members] + ["    ]"])
    lines = _op_list(f"    apply {format_expr(stage.count)} of ", [r.name for r in stage.ops])
    for kind in ast.CLAUSE_ORDER:
        for clause in stage.clauses:
            if clause.kind == kind:
                lines.append(f"        {kind} {format_expr(clause.value)}")
    return lines


def _body(policy: ast.Policy) -> list[str]:
    lines: list[str] = []
    if policy.states:
        lines += [""] + [_state(d) for d in policy.states]
    if policy.epoch is not None:
        lines += ["", "every epoch:"]
        for s in policy.epoch:
            keyword = "let " if isinstance(s, ast.Let) else ""
            lines.append(f"    {keyword}{s.name} = {format_expr(s.value)}")
    lines += ["", "per sample:"]
    for stage in policy.stages:
        lines += _stage(stage)
    return lines


def format_policy(policy: ast.Policy) -> str:
    header = f"policy {policy.name}"
    if policy.description is not None:
        header += f' "{policy.description}"'
    return "\n".join([header] + _body(policy)) + "\n"


def canonical_hash(policy: ast.Policy) -> str:
    """sha256 of the canonical text of what the policy does: not its name or description,
    nor what its states and lets are called (a copy under other names does the same)."""
    return hashlib.sha256("\n".join(_body(ast.numbered_names(policy))).encode("utf-8")).hexdigest()

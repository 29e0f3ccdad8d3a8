"""``--emit ast``: the syntax tree as an indented outline, with each node's line:col."""
from __future__ import annotations

import dataclasses

from . import ast


def _is_node(value: object) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, ast.Span)


def _holds_nodes(value: object) -> bool:
    """A node, or a tuple of them (a ``one of``'s: a tuple of tuples of them)."""
    return _is_node(value) or (isinstance(value, tuple) and any(_holds_nodes(v) for v in value))


def _lines(node: object, depth: int, label: str = "") -> list[str]:
    fields = [f for f in dataclasses.fields(node) if f.name not in ("span", "name_span", "func_span",
                                                                   "epoch_span", "sample_span")]
    inline, nested = [], []
    for f in fields:
        value = getattr(node, f.name)
        if _holds_nodes(value):
            nested.append((f.name, value))
        else:
            inline.append(f"{f.name}={value!r}")
    span = getattr(node, "span", None)
    where = f"  @{span.line}:{span.column}" if span is not None else ""
    out = ["  " * depth + f"{label}{type(node).__name__} {' '.join(inline)}".rstrip() + where]
    for name, value in nested:
        if isinstance(value, tuple):
            out.append("  " * (depth + 1) + f"{name}:")
            for index, item in enumerate(value):
                if isinstance(item, tuple):  # a sub-policy: its terms under its number
                    out.append("  " * (depth + 2) + f"[{index}]")
                    for term in item:
                        out += _lines(term, depth + 3)
                else:
                    out += _lines(item, depth + 2)
        else:
            out += _lines(value, depth + 1, f"{name}: ")
    return out


def dump_ast(policy: ast.Policy) -> str:
    return "\n".join(_lines(policy, 0))

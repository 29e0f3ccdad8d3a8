"""Small tools for editing policy syntax trees: find expressions, replace one by identity,
rename names. The trees are frozen, so every edit rebuilds the path to the change."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Iterator

from ..compiler import ast


@dataclass(frozen=True)
class Site:
    """An expression in a policy and where it stands."""

    expr: ast.Expr
    section: str  # "epoch" or "sample"
    root: ast.Expr  # the whole expression it is part of (a statement's value or a stage role)


def sites(policy: ast.Policy) -> Iterator[Site]:
    for statement in policy.epoch or ():
        for node in ast.walk(statement.value):
            yield Site(node, "epoch", statement.value)
    for stage in policy.stages:
        for _, root in ast.stage_exprs(stage):
            for node in ast.walk(root):
                yield Site(node, "sample", root)


def _rebuild(value, target, replacement):
    """``value`` with the node ``target`` (by identity) swapped for ``replacement``."""
    if value is target:
        return replacement
    if isinstance(value, tuple):
        items = tuple(_rebuild(v, target, replacement) for v in value)
        return value if all(a is b for a, b in zip(items, value)) else items
    if dataclasses.is_dataclass(value) and not isinstance(value, ast.Span):
        changes = {}
        for field in dataclasses.fields(value):
            old = getattr(value, field.name)
            new = _rebuild(old, target, replacement)
            if new is not old:
                changes[field.name] = new
        return dataclasses.replace(value, **changes) if changes else value
    return value


def replace(policy: ast.Policy, target: object, replacement: object) -> ast.Policy:
    return _rebuild(policy, target, replacement)


def rename(node, mapping: dict[str, str]):
    """Every Name, state declaration, let and assignment renamed by ``mapping``."""
    if isinstance(node, tuple):
        return tuple(rename(v, mapping) for v in node)
    if isinstance(node, ast.Name):
        return dataclasses.replace(node, id=mapping.get(node.id, node.id))
    if isinstance(node, (ast.StateDecl, ast.Let, ast.Assign)):
        node = dataclasses.replace(node, name=mapping.get(node.name, node.name))
    if dataclasses.is_dataclass(node) and not isinstance(node, ast.Span):
        changes = {f.name: rename(getattr(node, f.name), mapping) for f in dataclasses.fields(node)
                   if f.name not in ("name", "span", "name_span")}
        return dataclasses.replace(node, **changes)
    return node


def names_in(expr: ast.Expr) -> set[str]:
    return {n.id for n in ast.walk(expr) if isinstance(n, ast.Name)}

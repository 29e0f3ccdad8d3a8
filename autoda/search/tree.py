"""Small tools for editing policy syntax trees: find expressions, replace one by identity,
name an offspring (renaming is ast.rename). The trees are frozen, so every edit rebuilds
the path to the change."""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Iterator, Sequence

from ..compiler import CheckedPolicy, PolicyError, ast, canonical_hash, check_policy, format_policy


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


def _rebuild(value, swaps: dict[int, object]):
    """``value`` with each node whose id() is in ``swaps`` swapped for its replacement."""
    if id(value) in swaps:
        return swaps[id(value)]
    if isinstance(value, tuple):
        items = tuple(_rebuild(v, swaps) for v in value)
        return value if all(a is b for a, b in zip(items, value)) else items
    if dataclasses.is_dataclass(value) and not isinstance(value, ast.Span):
        changes = {}
        for field in dataclasses.fields(value):
            old = getattr(value, field.name)
            new = _rebuild(old, swaps)
            if new is not old:
                changes[field.name] = new
        return dataclasses.replace(value, **changes) if changes else value
    return value


def replace(policy: ast.Policy, target: object, replacement: object) -> ast.Policy:
    return _rebuild(policy, {id(target): replacement})


def replace_all(policy: ast.Policy, replacements: dict[int, object]) -> ast.Policy:
    """``policy`` with every node whose id() is a key swapped for its value, in one pass."""
    return _rebuild(policy, replacements)


def names_in(expr: ast.Expr) -> set[str]:
    return {n.id for n in ast.walk(expr) if isinstance(n, ast.Name)}


# --- offspring names -------------------------------------------------------------------

_LINEAGE = re.compile(r"(_h[0-9a-f]{6})+$")  # the suffix child_name adds: stripped, so names never grow
_STEM = 40  # characters of the first parent's name a child's name keeps
_DESCRIPTION = 160  # characters of a child's description line


def child_name(parents: Sequence[str], behaviour_hash: str) -> str:
    """A child's own name: its first parent's name, less any suffix this function added,
    and ``_h`` with six hex digits of the child's canonical hash. Deterministic, never a
    parent's name verbatim (the hash differs from the parents'), and a valid policy name.

    >>> child_name(["cuda_h0a1b2c"], "3f2a9c" + "0" * 58)
    'cuda_h3f2a9c'
    """
    stem = _LINEAGE.sub("", parents[0] if parents else "")[:_STEM] or "policy"
    return f"{stem}_h{behaviour_hash[:6]}"


def with_lineage(policy: ast.Policy, parents: Sequence[str], note: str) -> ast.Policy:
    """``policy`` renamed by child_name, its description saying where it came from (the
    parents' names and ``note``, cut to one short printable line: a description may hold
    no double quote, line break or control character)."""
    described = f"from {' and '.join(parents)}: {note}" if parents else note
    described = "".join(ch if ch.isprintable() and ch != '"' else " " for ch in described)
    if len(described) > _DESCRIPTION:
        described = described[:_DESCRIPTION - 3].rstrip() + "..."
    return dataclasses.replace(policy, name=child_name(parents, canonical_hash(policy)), description=described)


def checked(policy: ast.Policy, max_cost: float) -> CheckedPolicy | None:
    try:
        return check_policy(format_policy(policy), max_cost=max_cost)
    except PolicyError:
        return None


def dependencies(policy: ast.Policy, names: set[str]) -> set[str]:
    """The state and let names that ``names`` need, through the epoch statements."""
    states = {d.name for d in policy.states}
    lets = {s.name: s for s in policy.epoch or () if isinstance(s, ast.Let)}
    assigns = [s for s in policy.epoch or () if isinstance(s, ast.Assign)]
    needed, todo = set(), [n for n in names if n in states or n in lets]
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        sources = [lets[name].value] if name in lets else [s.value for s in assigns if s.name == name]
        for value in sources:
            todo += [n for n in names_in(value) if (n in states or n in lets) and n not in needed]
    return needed

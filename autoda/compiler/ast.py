"""The typed syntax tree: frozen dataclasses with source spans.

Spans take no part in equality, so two trees parsed from differently spaced or commented
texts compare equal; passes that annotate nodes key their tables by ``id(node)``.

A tree is a tree, never a DAG: no node is the child of two parents. A chained comparison
``a < b < c`` is one ``Compare`` node rather than ``a < b and b < c`` with ``b`` shared,
because every pass walks children, and a walk over shared nodes doubles at each level
(40 nested ``where(0 < e < 1, 0, 1)`` would be 2**40 visits).

Numeric literals are never negative except where the parser folds ``-<number>`` into one
literal; the formatter prints a negative literal back as ``-<number>``, so text -> tree ->
text -> tree is stable.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Iterator, Union


@dataclass(frozen=True)
class Span:
    line: int
    column: int
    end_line: int
    end_column: int  # exclusive

    @staticmethod
    def none() -> "Span":
        return Span(1, 1, 1, 1)


def _span() -> Span:
    return field(default_factory=Span.none, compare=False, repr=False)


# --- expressions -----------------------------------------------------------------------

@dataclass(frozen=True)
class Num:
    value: int | float
    span: Span = _span()


@dataclass(frozen=True)
class Bool:
    value: bool
    span: Span = _span()


@dataclass(frozen=True)
class Name:
    id: str
    span: Span = _span()


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "not"
    operand: "Expr"
    span: Span = _span()


ARITHMETIC = ("+", "-", "*", "/", "%", "**")
COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")
LOGICAL = ("and", "or")


@dataclass(frozen=True)
class Binary:
    op: str  # one of ARITHMETIC, COMPARISONS, LOGICAL
    left: "Expr"
    right: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class Compare:
    """A chain of two or more comparisons, ``a < b <= c``: ``a < b and b <= c`` with each
    operand evaluated once. A single comparison is a ``Binary``."""

    operands: tuple["Expr", ...]  # one more than ops
    ops: tuple[str, ...]  # each one of COMPARISONS
    span: Span = _span()

    def pairs(self) -> Iterator[tuple[str, "Expr", "Expr"]]:
        """(op, left, right) of each comparison in the chain, left to right."""
        return zip(self.ops, self.operands, self.operands[1:])


@dataclass(frozen=True)
class Cond:
    """``body if test else orelse``."""

    body: "Expr"
    test: "Expr"
    orelse: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple["Expr", ...]
    span: Span = _span()
    func_span: Span = _span()


Expr = Union[Num, Bool, Name, Unary, Binary, Compare, Cond, Call]


def children(expr: Expr) -> tuple[Expr, ...]:
    """The direct subexpressions of ``expr``, left to right."""
    if isinstance(expr, Unary):
        return (expr.operand,)
    if isinstance(expr, Binary):
        return (expr.left, expr.right)
    if isinstance(expr, Cond):
        return (expr.body, expr.test, expr.orelse)
    if isinstance(expr, Call):
        return expr.args
    if isinstance(expr, Compare):
        return expr.operands
    return ()


def deeper_than(expr: Expr, limit: int) -> Expr | None:
    """A node at depth ``limit + 1`` (the root is at depth 1), or None when ``expr`` nests at
    most ``limit`` levels. Iterative, so it is safe on any tree."""
    stack = [(expr, 1)]
    while stack:
        node, level = stack.pop()
        if level > limit:
            return node
        stack.extend((child, level + 1) for child in children(node))
    return None


def walk(expr: Expr) -> Iterator[Expr]:
    """Every node of ``expr``, parents before children (iterative: depth is unbounded here)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(children(node)))


# --- declarations, statements, stages --------------------------------------------------

@dataclass(frozen=True)
class StateDecl:
    name: str
    type: str  # "int", "float" or "bool"
    per_op: bool
    lo: Num | None
    hi: Num | None
    init: Num | Bool
    span: Span = _span()
    name_span: Span = _span()


@dataclass(frozen=True)
class Let:
    name: str
    value: Expr
    span: Span = _span()
    name_span: Span = _span()


@dataclass(frozen=True)
class Assign:
    name: str
    value: Expr
    span: Span = _span()
    name_span: Span = _span()


Statement = Union[Let, Assign]


@dataclass(frozen=True)
class OpRef:
    name: str
    span: Span = _span()


CLAUSE_ORDER = ("magnitude", "weight", "probability")


@dataclass(frozen=True)
class Clause:
    kind: str  # one of CLAUSE_ORDER
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Apply:
    """``apply COUNT of [ops]`` with its clauses, in source order."""

    count: Expr
    ops: tuple[OpRef, ...]
    clauses: tuple[Clause, ...]
    span: Span = _span()

    def clause(self, kind: str) -> Expr | None:
        for c in self.clauses:
            if c.kind == kind:
                return c.value
        return None


@dataclass(frozen=True)
class Fixed:
    """One op on every sample: ``op[(magnitude)] [with probability p]``."""

    op: OpRef
    magnitude: Expr | None
    probability: Expr | None
    span: Span = _span()


@dataclass(frozen=True)
class OneOf:
    """``one of [[term, ...], ...]``: each sample draws one sub-policy, uniformly, and runs
    its terms, each a fixed op on a coin of its own (AutoAugment's sub-policies)."""

    members: tuple[tuple[Fixed, ...], ...]
    span: Span = _span()

    @property
    def terms(self) -> tuple[Fixed, ...]:
        return tuple(term for member in self.members for term in member)


Stage = Union[Apply, Fixed, OneOf]


def single_stages(stages: tuple[Stage, ...]) -> Iterator[Apply | Fixed]:
    """The stages with every sub-policy's terms in place of its ``one of``: what a pass
    that looks at one op's (or one op list's) expressions at a time walks."""
    for stage in stages:
        if isinstance(stage, OneOf):
            yield from stage.terms
        else:
            yield stage


@dataclass(frozen=True)
class Policy:
    name: str
    description: str | None
    states: tuple[StateDecl, ...]
    epoch: tuple[Statement, ...] | None  # None: no epoch section
    stages: tuple[Stage, ...]
    span: Span = _span()
    epoch_span: Span = _span()
    sample_span: Span = _span()

    @property
    def apply_stage(self) -> Apply | None:
        return next((s for s in self.stages if isinstance(s, Apply)), None)


def stage_exprs(stage: Stage) -> Iterator[tuple[str, Expr]]:
    """(role, expression) pairs of a stage: count, magnitude, weight, probability."""
    if isinstance(stage, Apply):
        yield "count", stage.count
        for clause in stage.clauses:
            yield clause.kind, clause.value
    elif isinstance(stage, OneOf):
        for term in stage.terms:
            yield from stage_exprs(term)
    else:
        if stage.magnitude is not None:
            yield "magnitude", stage.magnitude
        if stage.probability is not None:
            yield "probability", stage.probability


def rename(node, mapping: dict[str, str]):
    """Every Name, state declaration, let and assignment renamed by ``mapping``."""
    if isinstance(node, tuple):
        return tuple(rename(v, mapping) for v in node)
    if isinstance(node, Name):
        return replace(node, id=mapping.get(node.id, node.id))
    if isinstance(node, (StateDecl, Let, Assign)):
        node = replace(node, name=mapping.get(node.name, node.name))
    if is_dataclass(node) and not isinstance(node, Span):
        changes = {f.name: rename(getattr(node, f.name), mapping) for f in fields(node)
                   if f.name not in ("name", "span", "name_span")}
        return replace(node, **changes)
    return node


def numbered_name(kind: str, index: int) -> str:
    """The index-th (from 1) state's (``kind`` "state") or let's ("let") numbered name."""
    return f"{'s' if kind == 'state' else 'v'}{index}"


def numbered_names(policy: Policy) -> Policy:
    """``policy`` with its states named s1, s2, ... and its lets v1, v2, ... in the order
    declared: what it does does not depend on those names, so its behaviour hash is taken
    of this form, and the declared-names decode grammar writes it."""
    mapping = {d.name: numbered_name("state", i) for i, d in enumerate(policy.states, 1)}
    lets = dict.fromkeys(s.name for s in policy.epoch or () if isinstance(s, Let))
    mapping.update({name: numbered_name("let", j) for j, name in enumerate(lets, 1)})
    return rename(policy, mapping)

"""Bloat control: a policy's size, a ranking with parsimony pressure, and simplification.

- ``size_of``: the nodes of a policy's syntax tree;
- ``parsimonious_order``: rank by fitness, a smaller policy first among those within a
  tolerance of each other (lexicographic parsimony pressure);
- ``simplify``: drop what does nothing (stages that change no image, clauses that repeat
  the default, identity arithmetic, epoch code no stage depends on), each step kept only
  if the policy still checks, never dropping a random draw.

Genetic programming simplifies its offspring with it (``GeneticProgramming(simplify=True)``)
and the search loop ranks with parsimony under ``--diversity``.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable, Sequence, TypeVar

from ..compiler import CheckedPolicy, PolicyError, ast
from ..compiler.parser import parse
from ..compiler.source import read_source
from ..ops import OPS
from . import tree

T = TypeVar("T")


# --- size and parsimony ----------------------------------------------------------------

def size_of(policy: CheckedPolicy | ast.Policy | str) -> int:
    """A policy's size: the nodes of its syntax tree (state declarations, epoch statements,
    stages, listed ops, clauses and every expression node). Text is parsed; text that is
    not the policy language (a Python policy) counts its whitespace-separated words, so
    such policies compare among themselves."""
    if isinstance(policy, str):
        try:
            policy = parse(read_source(policy))
        except PolicyError:
            return len(policy.split())
    tree_ = policy.ast if isinstance(policy, CheckedPolicy) else policy
    roots = [s.value for s in tree_.epoch or ()] + [e for st in tree_.stages for _, e in ast.stage_exprs(st)]
    nodes = sum(1 for root in roots for _ in ast.walk(root))
    apply = tree_.apply_stage
    listed = len(apply.ops) + len(apply.clauses) if apply is not None else 0
    return len(tree_.states) + len(tree_.epoch or ()) + len(tree_.stages) + listed + nodes


def parsimonious_order(items: Sequence[T], fitness: Callable[[T], float | None], size: Callable[[T], int],
                       tolerance: float = 0.0) -> list[T]:
    """``items`` best first, with lexicographic parsimony pressure (Luke and Panait, 2002):
    by fitness, except that items within ``tolerance`` of a group's best are one tie,
    ordered smallest first. Groups are formed greedily from the top: the best item opens
    a group, every item within ``tolerance`` below it joins, the next one opens the next.
    Fitness None (not evaluated) comes last; ties of fitness and size keep input order.
    tolerance 0 is plain lexicographic parsimony: size breaks exact ties only. A noisy
    fitness (a point of accuracy from seed to seed) wants a tolerance below the noise,
    e.g. 0.002, so that a smaller policy wins only what the noise cannot tell apart."""
    known = sorted((x for x in items if fitness(x) is not None), key=lambda x: -fitness(x))
    ordered: list[T] = []
    while known:
        top = fitness(known[0])
        group = [x for x in known if fitness(x) >= top - tolerance]
        known = known[len(group):]
        ordered += sorted(group, key=size)
    return ordered + [x for x in items if fitness(x) is None]


# --- simplification --------------------------------------------------------------------

_RANDOM = ("uniform", "sample_one")  # they draw from the engine's generator: code holding them is kept


def _draws(expr: ast.Expr) -> bool:
    return any(isinstance(n, ast.Call) and n.func in _RANDOM for n in ast.walk(expr))


def _is(expr: ast.Expr | None, value: float) -> bool:
    """Whether ``expr`` is the number literal ``value`` (an int or a float)."""
    return isinstance(expr, ast.Num) and not isinstance(expr.value, bool) and expr.value == value


def _idle(stage: ast.Stage) -> bool:
    """A stage that changes no image: the identity op, probability 0, magnitude 0 for ops
    that all take one, or an apply stage that draws no op (count 0, weight 0)."""
    if isinstance(stage, ast.Fixed):
        return stage.op.name == "identity" or _is(stage.probability, 0) or _is(stage.magnitude, 0)
    if isinstance(stage, ast.OneOf):
        return all(_idle(term) for term in stage.terms)
    names = [r.name for r in stage.ops]
    return (_is(stage.count, 0) or _is(stage.clause("probability"), 0) or _is(stage.clause("weight"), 0)
            or all(n == "identity" for n in names)
            or (_is(stage.clause("magnitude"), 0) and all(OPS[n].has_magnitude for n in names)))


def _drop_idle_stages(policy: ast.Policy) -> ast.Policy:
    """The stages that change images; a policy none of whose stages does is `identity`
    (the form `none` has), so the search sees it as what it is."""
    kept = tuple(s for s in policy.stages if not _idle(s)) or (ast.Fixed(ast.OpRef("identity"), None, None),)
    return dataclasses.replace(policy, stages=kept)  # `none` itself comes back equal: _kept keeps it as it was


def _drop_default_clauses(policy: ast.Policy) -> ast.Policy:
    """Probability 1 is the default; a constant weight is every op alike, as the default."""
    stages = []
    for stage in policy.stages:
        if isinstance(stage, ast.Fixed) and _is(stage.probability, 1):
            stage = dataclasses.replace(stage, probability=None)
        elif isinstance(stage, ast.OneOf):
            stage = dataclasses.replace(stage, members=tuple(
                tuple(dataclasses.replace(t, probability=None) if _is(t.probability, 1) else t for t in member)
                for member in stage.members))
        elif isinstance(stage, ast.Apply):
            clauses = tuple(cl for cl in stage.clauses if not (cl.kind == "probability" and _is(cl.value, 1))
                            and not (cl.kind == "weight" and isinstance(cl.value, ast.Num) and cl.value.value > 0))
            stage = dataclasses.replace(stage, clauses=clauses)
        stages.append(stage)
    return dataclasses.replace(policy, stages=tuple(stages))


def _drop_dead_code(policy: ast.Policy) -> ast.Policy:
    """Epoch statements and state that no stage depends on, unless they draw random
    numbers (dropping a draw would shift every later draw of the epoch)."""
    roots = {n for st in policy.stages for _, e in ast.stage_exprs(st) for n in tree.names_in(e)}
    roots |= {s.name for s in policy.epoch or () if _draws(s.value)}
    needed = tree.dependencies(policy, roots)
    epoch = tuple(s for s in policy.epoch or () if s.name in needed)
    states = tuple(d for d in policy.states if d.name in needed)
    return dataclasses.replace(policy, states=states, epoch=epoch or None)


def _folded(e: ast.Expr) -> ast.Expr | None:
    """``e`` without an identity operation at its top, or None. Only int 0 and 1 fold
    (``x + 0.0`` would turn an int into a float), and a branch is dropped only when it
    draws nothing (both branches of a where are computed, draws included)."""
    if isinstance(e, ast.Binary):
        if (e.op in ("+", "-") and _is(e.right, 0) or e.op in ("*", "**") and _is(e.right, 1)) \
                and isinstance(e.right.value, int):
            return e.left
        if (e.op == "+" and _is(e.left, 0) or e.op == "*" and _is(e.left, 1)) and isinstance(e.left.value, int):
            return e.right
    if isinstance(e, ast.Binary) and e.op == "-" and e.left == e.right and not _draws(e):
        return ast.Num(0)  # x - x (a draw is fresh on each side: uniform(0, 1) - uniform(0, 1) stays)
    if isinstance(e, ast.Unary) and isinstance(e.operand, ast.Unary) and e.operand.op == e.op:
        return e.operand.operand  # --x, not not x
    if isinstance(e, ast.Call) and e.args and isinstance(e.args[0], ast.Call) and e.args[0].func == e.func:
        inner = e.args[0]
        if e.func == "abs" or e.func == "clip" and inner.args[1:] == e.args[1:] and \
                all(isinstance(a, ast.Num) for a in e.args[1:]):
            return inner  # abs(abs(x)), clip(clip(x, a, b), a, b)
    test, yes, no = ((e.args[0], e.args[1], e.args[2]) if isinstance(e, ast.Call) and e.func == "where"
                     else (e.test, e.body, e.orelse) if isinstance(e, ast.Cond) else (None, None, None))
    if isinstance(test, ast.Bool):
        keep, drop = (yes, no) if test.value else (no, yes)
        return None if _draws(drop) else keep
    return None


def _constant(e: ast.Expr, ranges) -> ast.Num | None:
    """``e`` as the number it always is, or None: an expression the range analysis bounds
    to one value (``clip(floor(-20), 0.5, 0.6)``, ``clip(feat_norm + 55, 0, 1)``, a
    probability ``clip(prev_train_acc - 40, 0, 1)`` that is always 0). Code that draws
    random numbers is never folded."""
    if isinstance(e, (ast.Num, ast.Bool)) or _draws(e):
        return None
    found = ranges.of(e)
    if found is None or found.lo != found.hi or not math.isfinite(found.lo):
        return None
    return ast.Num(int(found.lo) if found.lo.is_integer() else found.lo)


def _fold_identities(checked: CheckedPolicy, max_cost: float, budget: int = 40) -> CheckedPolicy:
    """Identity operations and constant expressions folded one at a time, each kept only if
    the policy still checks (a fold can change a shape or a type the checker cares about:
    ``mean(where(true, 1, freq))`` reduces a class vector, ``mean(1)`` does not); at most
    ``budget`` tries."""
    refused: set[int] = set()  # id() of folds that did not check, in the current tree
    for _ in range(budget):
        fold = next(((s.expr, new) for s in tree.sites(checked.ast) if id(s.expr) not in refused and
                     (new := _folded(s.expr) or _constant(s.expr, checked.ranges)) is not None), None)
        if fold is None:
            break
        simpler = tree.checked(tree.replace(checked.ast, *fold), max_cost)
        if simpler is None:
            refused.add(id(fold[0]))
        else:
            checked, refused = simpler, set()
    return checked


def _kept(checked: CheckedPolicy, policy: ast.Policy, max_cost: float) -> CheckedPolicy:
    """``policy`` checked if it differs and checks, else ``checked`` as it was."""
    if policy == checked.ast:
        return checked
    simpler = tree.checked(policy, max_cost)
    return checked if simpler is None else simpler


def simplify(checked: CheckedPolicy, max_cost: float) -> CheckedPolicy:
    """``checked`` without the pieces that do nothing: stages that change no image (the
    identity op, probability 0, magnitude 0, count or weight 0), clauses that say the
    default (probability 1, a constant weight), identity arithmetic (``x + 0``, ``x * 1``,
    ``x ** 1``, ``x - x``, ``--x``, ``abs(abs(x))``, a clip of a clip to the same bounds, a where or
    conditional on a literal), expressions that are always one number (the range
    analysis says so) written as that number, and epoch statements and state no stage depends on;
    a policy none of whose stages changes an image becomes `identity`, as `none` is. Each
    step is kept only if the policy still checks, and code that draws random numbers is
    never dropped. The result behaves as ``checked`` does: exactly (the same images for
    the same seed) unless a stage was dropped, in distribution when one was (each stage
    takes its own random numbers, so the others' draws move). Name and description stay."""
    for step in (_drop_idle_stages, _drop_default_clauses):
        checked = _kept(checked, step(checked.ast), max_cost)
    checked = _fold_identities(checked, max_cost)
    for step in (_drop_idle_stages, _drop_default_clauses, _drop_dead_code):  # what the folds left idle
        checked = _kept(checked, step(checked.ast), max_cost)
    return checked

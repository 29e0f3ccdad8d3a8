"""Genetic programming on the typed syntax tree: the offline proposer, and the no-LLM ablation.

Every offspring is checked before it is returned, so the search only ever sees programs
that compile; a variation that fails the checker is thrown away and another is tried.

- mutate: perturb a constant, replace a subtree by a random expression of the same type
  and shape (the checker's typing says which), redraw a whole stage parameter, or add,
  drop or swap an op of the apply stage, or add or drop a single-op stage;
- crossover: give the first parent a stage parameter of another (with the state and epoch
  statements it depends on, renamed where names clash), or the union of their op lists;
- initialise: a seed policy (the example policies), changed a little, or now and then a
  random program.

Every offspring gets its own name (tree.child_name: its first parent's name and six hex
digits of its own hash) and a description naming its parents; a seed returned unchanged
keeps its name. Bloat control, opt-in so that a seed's offspring stay what they were:
``simplify=True`` hands every variation through ``simplify`` (no-op stages, default
clauses, identity arithmetic and dead epoch code dropped), ``max_size`` refuses a
variation with more syntax-tree nodes than that (``size_of``); both live in parsimony.py.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Sequence

from ..compiler import CheckedPolicy, ast
from ..errors import AutodaError, FailureKind
from ..ops import OPS
from ..words import with_article
from . import tree
from .parsimony import simplify, size_of
from .programs import ExprGen, RandomChooser, leaves_of, magnitude

NON_IDENTITY_OP_NAMES = sorted(op for op in OPS if op != "identity")  # what a mutation adds or swaps in


class NoOffspring(AutodaError, RuntimeError):
    """No variation of the parents passed the checker in the allowed number of tries."""

    kind = FailureKind.NO_OFFSPRING


def _with_parameter(stage: ast.Apply, role: str, value: ast.Expr) -> ast.Apply:
    """The apply stage with its count, or its clause ``role``, set to ``value`` (clauses kept
    in canonical order)."""
    if role == "count":
        return dataclasses.replace(stage, count=value)
    clauses = [cl for cl in stage.clauses if cl.kind != role] + [ast.Clause(role, value)]
    clauses.sort(key=lambda cl: ast.CLAUSE_ORDER.index(cl.kind))
    return dataclasses.replace(stage, clauses=tuple(clauses))


class GeneticProgramming:
    def __init__(self, seeds: list[CheckedPolicy], max_cost: float, tries: int = 60, *,
                 simplify: bool = False, max_size: int | None = None) -> None:
        """``simplify``: every variation simplified (``simplify``) before it is compared
        with its parents; ``max_size``: variations with more syntax-tree nodes refused.
        Both off by default: a seed then gives the offspring it always gave."""
        if not seeds:
            raise ValueError("genetic programming needs at least one seed policy")
        self.seeds, self.max_cost, self.tries = seeds, max_cost, tries
        self.simplify, self.max_size = simplify, max_size

    def _check(self, policy: ast.Policy) -> CheckedPolicy | None:
        """A variation checked (and simplified, and held to max_size, when asked), or None."""
        checked = tree.checked(policy, self.max_cost)
        if checked is not None and self.simplify:
            checked = simplify(checked, self.max_cost)
        if checked is not None and self.max_size is not None and size_of(checked) > self.max_size:
            return None
        return checked

    def _named(self, child: CheckedPolicy, parents: Sequence[CheckedPolicy], idea: str) -> CheckedPolicy:
        """The child under its own name (its description naming its parents); a parent
        returned unchanged keeps its own."""
        if any(child.hash == p.hash for p in parents):
            return child
        named = tree.checked(tree.with_lineage(child.ast, [p.name for p in parents], idea), self.max_cost)
        return child if named is None else named  # a name never makes a policy fail; kept safe anyway

    # --- operators -----------------------------------------------------------------------

    def initialise(self, seed: int) -> tuple[CheckedPolicy, str]:
        c = RandomChooser(seed)
        for _ in range(self.tries):
            base = c.choice(self.seeds)
            steps = c.integer(0, 2)
            child, idea = base, f"start from {base.name}"
            for _ in range(steps):
                mutated = self._mutate_once(child, c)
                if mutated is not None:
                    child, what = mutated
                    idea += f"; {what}"
            if child.hash not in {s.hash for s in self.seeds} or steps == 0:
                return self._named(child, [base], idea), idea
        raise NoOffspring("no initial policy checked")

    def mutate(self, parent: CheckedPolicy, seed: int) -> tuple[CheckedPolicy, str]:
        c = RandomChooser(seed)
        for _ in range(self.tries):
            result = self._mutate_once(parent, c)
            if result is not None and result[0].hash != parent.hash:
                return self._named(result[0], [parent], result[1]), result[1]
        raise NoOffspring(f"no mutation of {parent.name} checked")

    def crossover(self, parents: list[CheckedPolicy], seed: int) -> tuple[CheckedPolicy, str]:
        """Two of the parents combined; when no combination checks (parents with nothing to
        exchange, say), a mutation of the first parent, saying so."""
        c = RandomChooser(seed)
        for _ in range(self.tries):
            a, b = c.sample(parents, 2) if len(parents) >= 2 else (parents[0], c.choice(self.seeds))
            result = c.choice([self._graft, self._merge_ops])(a, b, c)
            if result is not None and result[0].hash not in (a.hash, b.hash):
                return self._named(result[0], [a, b], result[1]), result[1]
        child, what = self.mutate(parents[0], seed)
        return child, f"no crossover checked; {parents[0].name} mutated: {what}"

    # --- mutations -----------------------------------------------------------------------

    def _mutate_once(self, parent: CheckedPolicy, c: RandomChooser) -> tuple[CheckedPolicy, str] | None:
        kind = c.choice(["constant", "constant", "subtree", "redraw", "ops", "stage"])
        child = getattr(self, f"_{kind}")(parent, c)
        if child is None:
            return None
        policy, what = child
        checked = self._check(policy)
        return None if checked is None else (checked, what)

    def _constant(self, parent: CheckedPolicy, c: RandomChooser):
        numbers = [s.expr for s in tree.sites(parent.ast) if isinstance(s.expr, ast.Num)]
        if not numbers:
            return None
        old = c.choice(numbers)
        if isinstance(old.value, int):
            value: float = old.value + c.choice([-2, -1, 1, 2])
        else:
            value = round(old.value * c.real(0.5, 1.5) + c.real(-0.05, 0.05), 4)
        if not math.isfinite(value):
            return None
        return tree.replace(parent.ast, old, ast.Num(value)), f"changed a constant {old.value} to {value}"

    def _subtree(self, parent: CheckedPolicy, c: RandomChooser):
        candidates = [s for s in tree.sites(parent.ast) if not parent.typing.of(s.expr).is_error]
        if not candidates:
            return None
        site = c.choice(candidates)
        t = parent.typing.of(site.expr)
        if site.section == "sample" and t.dtype != "bool" and site.expr is site.root:
            return None  # a whole stage parameter is redrawn with its proof by _redraw
        gen = ExprGen(c, leaves_of(parent.ast.states), site.section, depth=2)
        new = gen.boolean(t.shape, 2) if t.dtype == "bool" else gen.number("int" if t.dtype == "int" else "num", t.shape, 2)
        return tree.replace(parent.ast, site.expr, new), "replaced a subexpression"

    def _redraw(self, parent: CheckedPolicy, c: RandomChooser):
        stages = list(parent.ast.stages)
        index = c.integer(0, len(stages) - 1)
        stage = stages[index]
        gen = ExprGen(c, leaves_of(parent.ast.states), "sample", depth=2)
        if isinstance(stage, ast.OneOf):  # one sub-policy's term
            term = c.choice(list(stage.terms))
            if not OPS[term.op.name].has_magnitude:
                return None
            new = dataclasses.replace(term, magnitude=magnitude(c, gen, "class"))
            return tree.replace(parent.ast, term, new), f"redrew the magnitude of a sub-policy's {term.op.name}"
        if isinstance(stage, ast.Fixed):
            if not OPS[stage.op.name].has_magnitude:
                return None
            stages[index] = dataclasses.replace(stage, magnitude=magnitude(c, gen, "class"))
            return dataclasses.replace(parent.ast, stages=tuple(stages)), f"redrew the magnitude of {stage.op.name}"
        role = c.choice(["magnitude", "weight", "probability", "count"])
        value = {"count": lambda: gen.bounded(0, len(stage.ops), "int", "class"),
                 "magnitude": lambda: magnitude(c, gen, "class_op"),
                 "weight": lambda: ast.Call("abs", (gen.number("num", "class_op", 2),)),
                 "probability": lambda: gen.bounded(0, 1, "num", "class_op")}[role]()
        stages[index] = _with_parameter(stage, role, value)
        return dataclasses.replace(parent.ast, stages=tuple(stages)), f"redrew the {role} of the apply stage"

    def _ops(self, parent: CheckedPolicy, c: RandomChooser):
        stage = parent.ast.apply_stage
        if stage is None:
            return None
        ops = [r.name for r in stage.ops]
        unused = [o for o in NON_IDENTITY_OP_NAMES if o not in ops]
        move = c.choice(["add", "drop", "swap"] if len(ops) > 1 else ["add", "swap"])
        if move == "add" and unused:
            new = c.choice(unused)
            ops.insert(c.integer(0, len(ops)), new)
            what = f"added {new} to the op list"
        elif move == "drop":
            what = f"dropped {ops.pop(c.integer(0, len(ops) - 1))} from the op list"
        elif unused:
            i, new = c.integer(0, len(ops) - 1), c.choice(unused)
            what, ops[i] = f"swapped {ops[i]} for {new}", new
        else:
            return None
        clauses = stage.clauses
        if not any(OPS[o].has_magnitude for o in ops):
            clauses = tuple(cl for cl in clauses if cl.kind != "magnitude")
        elif not any(cl.kind == "magnitude" for cl in clauses):
            gen = ExprGen(c, leaves_of(parent.ast.states), "sample", depth=1)
            clauses = (ast.Clause("magnitude", magnitude(c, gen, "class_op")),) + clauses
        child = dataclasses.replace(stage, ops=tuple(ast.OpRef(o) for o in ops), clauses=clauses)
        return tree.replace(parent.ast, stage, child), what

    def _stage(self, parent: CheckedPolicy, c: RandomChooser):
        stages = list(parent.ast.stages)
        fixed = [i for i, s in enumerate(stages) if isinstance(s, ast.Fixed)]
        if fixed and (len(stages) > 1) and c.boolean():
            removed = stages.pop(c.choice(fixed))
            return dataclasses.replace(parent.ast, stages=tuple(stages)), f"dropped the {removed.op.name} stage"
        op = c.choice(NON_IDENTITY_OP_NAMES)
        gen = ExprGen(c, leaves_of(parent.ast.states), "sample", depth=1)
        stage = ast.Fixed(ast.OpRef(op), magnitude(c, gen, "class") if OPS[op].has_magnitude else None,
                          gen.bounded(0, 1, "num", "class"))
        stages.insert(c.integer(0, len(stages)), stage)
        return dataclasses.replace(parent.ast, stages=tuple(stages)), f"added {with_article(op)} stage"

    # --- crossover -----------------------------------------------------------------------

    def _graft(self, a: CheckedPolicy, b: CheckedPolicy, c: RandomChooser) -> tuple[CheckedPolicy, str] | None:
        """A's policy with one apply-stage parameter of B, and what that parameter needs."""
        sa, sb = a.ast.apply_stage, b.ast.apply_stage
        if sa is None or sb is None:
            return None
        role = c.choice(["magnitude", "weight", "probability", "count"])
        value = sb.count if role == "count" else sb.clause(role)
        if value is None:
            return None
        needed = tree.dependencies(b.ast, tree.names_in(value))
        clash = {d.name for d in a.ast.states} | {s.name for s in a.ast.epoch or ()}
        mapping = {n: f"{n}_b" for n in needed if n in clash}
        value = ast.rename(value, mapping)
        states = a.ast.states + tuple(ast.rename(d, mapping) for d in b.ast.states if d.name in needed)
        epoch = (a.ast.epoch or ()) + tuple(ast.rename(s, mapping) for s in b.ast.epoch or () if s.name in needed)
        child = tree.replace(a.ast, sa, _with_parameter(sa, role, value))
        child = dataclasses.replace(child, states=states, epoch=epoch or None)
        checked = self._check(child)
        return None if checked is None else (checked, f"{a.name} with the {role} of {b.name}")

    def _merge_ops(self, a: CheckedPolicy, b: CheckedPolicy, c: RandomChooser) -> tuple[CheckedPolicy, str] | None:
        sa, sb = a.ast.apply_stage, b.ast.apply_stage
        if sa is None or sb is None:
            return None
        names = [r.name for r in sa.ops]
        extra = [r.name for r in sb.ops if r.name not in names]
        if not extra:
            return None
        names += c.sample(extra, c.integer(1, len(extra)))
        child = tree.replace(a.ast, sa, dataclasses.replace(sa, ops=tuple(ast.OpRef(n) for n in names)))
        checked = self._check(child)
        return None if checked is None else (checked, f"{a.name} with ops of {b.name}")

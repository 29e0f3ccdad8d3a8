"""Random well-typed policies: typed expression generators that only build programs the
checker accepts. The offline search grows and mutates programs with them, and the tests
draw them through hypothesis.

Every value with a range to respect is wrapped in the clip, abs or guard that proves it,
and every log, sqrt and division is guarded, exactly as the diagnostics ask a policy
author to write them. Trees are in the parser's normal form (no ``-`` on a bare number
literal, clauses in canonical order), so formatting and re-parsing gives the same tree.
The source of randomness is a ``Chooser``: ``RandomChooser`` for the search, a hypothesis
adapter in the tests. Which functions each kind of expression may call is declared with
the functions (``Draw`` in compiler/functions.py); the kinds are here.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol, Sequence, TypeVar

from ..class_stats import STATS
from ..compiler import ast
from ..compiler.functions import DRAWN
from ..ops import OPS

T = TypeVar("T")


class Chooser(Protocol):
    def choice(self, options: Sequence[T]) -> T: ...
    def integer(self, lo: int, hi: int) -> int: ...
    def real(self, lo: float, hi: float) -> float: ...
    def boolean(self) -> bool: ...
    def sample(self, options: Sequence[T], k: int) -> list[T]: ...
    def description(self) -> str | None: ...


class RandomChooser:
    """Choices from a seeded random.Random."""

    def __init__(self, seed: int | random.Random) -> None:
        self.rng = seed if isinstance(seed, random.Random) else random.Random(seed)

    def choice(self, options):
        return self.rng.choice(list(options))

    def integer(self, lo, hi):
        return self.rng.randint(lo, hi)

    def real(self, lo, hi):
        return self.rng.uniform(lo, hi)

    def boolean(self):
        return self.rng.random() < 0.5

    def sample(self, options, k):
        return self.rng.sample(list(options), k)

    def description(self):
        return None


ALL_OP_NAMES = sorted(OPS)  # identity included: a random policy may name it
NAMES = [f"v{i}" for i in range(6)]


@dataclass(frozen=True)
class Leaf:
    name: str
    dtype: str  # int, float, bool
    shape: str  # scalar, class, class_op: the most it can be
    exact: bool = True  # False for a let, whose value may have a smaller shape


_SHAPE_ORDER = ("scalar", "class", "class_op")


def _fits(shape: str, most: str) -> bool:
    return _SHAPE_ORDER.index(shape) <= _SHAPE_ORDER.index(most)


STAT_LEAVES = [Leaf(s.name, s.dtype, "class" if s.per_class else "scalar") for s in STATS.values()]


def num(value: float | int) -> ast.Num:
    return ast.Num(value)


def call(func: str, *args: ast.Expr) -> ast.Expr:
    return ast.Call(func, tuple(args))


def neg(e: ast.Expr) -> ast.Expr:
    """Unary minus in normal form: a literal folds into a negative literal."""
    if isinstance(e, ast.Num):
        return ast.Num(-e.value)
    return ast.Unary("-", e)


class ExprGen:
    """Draws typed expressions from a scope; ``section`` is 'epoch' or 'sample'."""

    def __init__(self, chooser: Chooser, leaves: list[Leaf], section: str, depth: int) -> None:
        self.chooser = chooser
        self.leaves = leaves
        self.section = section
        self.depth = depth

    def pick(self, options):
        return self.chooser.choice(list(options))

    def function(self, kind: str) -> str:
        """A function the declarations let this kind draw (compiler/functions.py): a kind of
        one function spends no random choice on it, so seeds reproduce what they did before
        it had one to choose from; of several, one picked."""
        names = DRAWN[kind]
        return names[0] if len(names) == 1 else self.pick(names)

    def literal(self, dtype: str) -> ast.Expr:
        if dtype == "int":
            return num(self.chooser.integer(-20, 100))
        return num(self.chooser.real(-1e3, 1e3))

    def leaf(self, dtype: str, shape: str) -> ast.Expr:
        wanted = ("int",) if dtype == "int" else ("int", "float") if dtype == "num" else (dtype,)
        options = [l for l in self.leaves if l.dtype in wanted and _fits(l.shape, shape)]
        if dtype == "bool":
            options_or_literal = options + [None]
            chosen = self.pick(options_or_literal)
            return ast.Bool(self.chooser.boolean()) if chosen is None else ast.Name(chosen.name)
        if not options or self.chooser.integer(0, 3) == 0:
            return self.literal("int" if dtype == "int" else self.pick(["int", "float"]))
        return ast.Name(self.pick(options).name)

    def exact(self, dtype: str, shape: str) -> ast.Expr | None:
        """A leaf of exactly this shape (reductions need one), or None."""
        wanted = ("int",) if dtype == "int" else ("int", "float")
        options = [l for l in self.leaves if l.dtype in wanted and l.shape == shape and l.exact]
        return ast.Name(self.pick(options).name) if options else None

    def number(self, dtype: str, shape: str, depth: int) -> ast.Expr:
        """A number of ``dtype`` ('int' or 'num': int or float) and at most ``shape``."""
        if depth <= 0:
            return self.leaf(dtype, shape)
        d = depth - 1
        # The order of these lists is part of what a seed reproduces: append, never insert.
        kinds = ["leaf", "arith", "ternary", "variadic", "unary", "where", "cond", "neg", "to_int", "pow", "mod",
                 "over_classes"]
        if dtype == "num":  # kinds whose result is float
            kinds += ["div", "positive", "non_negative", "clipped", "float_over_classes", "over_ops"]
            if self.section == "epoch" and _fits("class", shape):
                kinds.append("random_number")
        kind = self.pick(kinds)
        sub = lambda: self.number(dtype, shape, d)  # noqa: E731
        if kind == "arith":
            return ast.Binary(self.pick(["+", "-", "*"]), sub(), sub())
        if kind == "ternary":
            return call(self.function(kind), sub(), sub(), sub())
        if kind == "variadic":
            return call(self.function(kind), *[sub() for _ in range(self.chooser.integer(2, 3))])
        if kind == "unary":
            return call(self.function(kind), sub())
        if kind == "where":
            return call(self.function(kind), self.boolean(shape, d), sub(), sub())
        if kind == "cond":
            return ast.Cond(sub(), self.boolean(shape, d), sub())
        if kind == "neg":
            return neg(sub())
        if kind == "to_int":
            return call(self.function(kind), self.number("num", shape, d))
        if kind == "pow":
            return ast.Binary("**", sub(), num(self.chooser.integer(0, 3)))
        if kind == "mod":
            return ast.Binary("%", sub(), ast.Binary("+", num(1), call("abs", sub())))
        if kind == "over_classes" and _fits("scalar", shape):
            arg = self.exact(dtype, "class")
            if arg is not None:
                return call(self.function(kind), arg)
        if kind == "div":
            return ast.Binary("/", sub(), ast.Binary("+", num(1), call("abs", sub())))
        return self.guarded(kind, dtype, shape, sub)

    def guarded(self, kind: str, dtype: str, shape: str, sub) -> ast.Expr:
        """The float-valued kinds: each keeps its functions' arguments in their domains
        (positive: f(1 + abs(x)); non_negative: f(abs(x)); clipped, for what overflows:
        f(clip(x, -5, 5))), or reduces a value of exactly the shape it reduces over."""
        if kind == "positive":
            return call(self.function(kind), ast.Binary("+", num(1), call("abs", sub())))
        if kind == "non_negative":
            return call(self.function(kind), call("abs", sub()))
        if kind == "clipped":
            return call(self.function(kind), call("clip", sub(), num(-5), num(5)))
        if kind == "float_over_classes":
            arg = self.exact("num", "class")
            if arg is not None:
                return call(self.function(kind), arg)
        if kind == "over_ops" and _fits("class", shape):
            arg = self.exact("num", "class_op")
            if arg is not None:
                return call(self.function(kind), arg)
        if kind == "random_number":
            return call(self.function(kind), sub(), sub())
        return self.leaf(dtype, shape)

    def boolean(self, shape: str, depth: int) -> ast.Expr:
        if depth <= 0:
            return self.leaf("bool", shape)
        d = depth - 1
        kinds = ["compare", "compare", "logic", "not", "leaf", "where"]
        if self.section == "epoch" and _fits("class_op", shape) and self.exact("num", "class_op") is not None:
            kinds.append("random_choice")
        kind = self.pick(kinds)
        if kind == "compare":
            op = self.pick(list(ast.COMPARISONS))
            return ast.Binary(op, self.number("num", shape, d), self.number("num", shape, d))
        if kind == "logic":
            return ast.Binary(self.pick(["and", "or"]), self.boolean(shape, d), self.boolean(shape, d))
        if kind == "not":
            return ast.Unary("not", self.boolean(shape, d))
        if kind == "where":
            return call(self.function(kind), self.boolean(shape, d), self.boolean(shape, d), self.boolean(shape, d))
        if kind == "random_choice":
            return call(self.function(kind), call("abs", self.exact("num", "class_op")))
        return self.leaf("bool", shape)

    def bounded(self, lo: float | int, hi: float | int, dtype: str, shape: str) -> ast.Expr:
        return call("clip", self.number(dtype, shape, self.depth), num(lo), num(hi))


def state_decls(c: Chooser, names: list[str], per_op_allowed: bool) -> list[ast.StateDecl]:
    decls = []
    for name in names:
        dtype = c.choice(["int", "float", "bool"])
        per_op = per_op_allowed and c.boolean()
        if dtype == "bool":
            decls.append(ast.StateDecl(name, "bool", per_op, None, None, ast.Bool(c.boolean())))
            continue
        if dtype == "int":
            lo = c.integer(-10, 10)
            hi = c.integer(lo, lo + 20)
            init = c.integer(lo, hi)
        else:
            lo = c.integer(-1000, 1000) / 10
            hi = lo + c.integer(0, 1000) / 10
            init = min(max(c.real(lo, hi), lo), hi)
        decls.append(ast.StateDecl(name, dtype, per_op, num(lo), num(hi), num(init)))
    return decls


def leaves_of(states: Sequence[ast.StateDecl]) -> list[Leaf]:
    """What an expression may read: the class statistics and the policy's state (a new list)."""
    return STAT_LEAVES + [Leaf(d.name, d.type, "class_op" if d.per_op else "class") for d in states]


def random_policy(c: Chooser, max_depth: int = 3) -> ast.Policy:
    """A random policy that passes every check of the compiler."""
    has_apply = c.boolean()
    ops = c.sample(ALL_OP_NAMES, c.integer(1, 6))
    names = c.sample(NAMES, c.integer(0, 3))
    states = state_decls(c, names, has_apply)
    leaves = leaves_of(states)
    depth = c.integer(0, max_depth)

    epoch = None
    if c.boolean():
        gen = ExprGen(c, list(leaves), "epoch", depth)
        statements = []
        for i in range(c.integer(0, 4)):
            if states and c.boolean():
                decl = c.choice(states)
                shape = "class_op" if decl.per_op else "class"
                if decl.type == "bool":
                    value = gen.boolean(shape, depth)
                else:
                    value = gen.bounded(decl.lo.value, decl.hi.value, decl.type, shape)
                statements.append(ast.Assign(decl.name, value))
            else:
                name = f"t{i}"
                dtype = c.choice(["num", "bool"])
                shape = c.choice(["scalar", "class", "class_op"] if has_apply else ["scalar", "class"])
                value = gen.boolean(shape, depth) if dtype == "bool" else gen.number("num", shape, depth)
                statements.append(ast.Let(name, value))
                # a number let may hold an int; "float" only keeps it out of int places
                gen.leaves.append(Leaf(name, "bool" if dtype == "bool" else "float", shape, exact=False))
        epoch = tuple(statements)

    gen = ExprGen(c, list(leaves), "sample", depth)
    stages: list[ast.Stage] = []
    takes = [o for o in ops if OPS[o].has_magnitude]
    if has_apply:
        clauses = []
        if takes:  # required when an op takes one, refused when none does
            clauses.append(ast.Clause("magnitude", magnitude(c, gen, "class_op")))
        if c.boolean():
            clauses.append(ast.Clause("weight", call("abs", gen.number("num", "class_op", depth))))
        if c.boolean():
            clauses.append(ast.Clause("probability", gen.bounded(0, 1, "num", "class_op")))
        count = gen.bounded(0, len(ops), "int", "class")
        stages.append(ast.Apply(count, tuple(ast.OpRef(o) for o in ops), tuple(clauses)))
    for _ in range(c.integer(0 if has_apply else 1, 2)):
        op = c.choice(ALL_OP_NAMES)
        fixed_magnitude = magnitude(c, gen, "class") if OPS[op].has_magnitude else None
        probability = gen.bounded(0, 1, "num", "class") if c.boolean() else None
        stages.insert(c.integer(0, len(stages)), ast.Fixed(ast.OpRef(op), fixed_magnitude, probability))
    return ast.Policy(c.choice(["p", "policy_a", "tail", "x1"]), c.description(), tuple(states), epoch, tuple(stages))


def magnitude(c: Chooser, gen: ExprGen, shape: str) -> ast.Expr:
    """A magnitude in [0, 1] proven by clip: a value, or a per-sample uniform draw."""
    if c.boolean():
        return call("uniform", gen.bounded(0, 1, "num", shape), gen.bounded(0, 1, "num", shape))
    return gen.bounded(0, 1, "num", shape)

"""Hypothesis strategies for random well-typed policies, shared by every test that needs
programs: the compiler's properties now, the compiled graph's differential tests later.

``policies()`` builds syntax trees in the parser's normal form (no ``-`` applied to a bare
number literal; clauses in canonical order) that pass every check: each value that has a
range to respect is wrapped in the clip, abs or guard that proves it, and every log, sqrt
and division is guarded, exactly as the diagnostics ask a policy author to write them.
"""
from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from autoda.class_stats import STATS
from autoda.compiler import ast
from autoda.ops import OPS

OP_NAMES = sorted(OPS)
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


class _Gen:
    """Draws typed expressions from a scope; ``section`` is 'epoch' or 'sample'."""

    def __init__(self, draw, leaves: list[Leaf], section: str, depth: int) -> None:
        self.draw = draw
        self.leaves = leaves
        self.section = section
        self.depth = depth

    def pick(self, options):
        return self.draw(st.sampled_from(options))

    def literal(self, dtype: str) -> ast.Expr:
        if dtype == "int":
            return num(self.draw(st.integers(-20, 100)))
        return num(self.draw(st.floats(-1e3, 1e3)))

    def leaf(self, dtype: str, shape: str) -> ast.Expr:
        wanted = ("int",) if dtype == "int" else ("int", "float") if dtype == "num" else (dtype,)
        options = [l for l in self.leaves if l.dtype in wanted and _fits(l.shape, shape)]
        if dtype == "bool":
            options_or_literal = options + [None]
            chosen = self.pick(options_or_literal)
            return ast.Bool(self.draw(st.booleans())) if chosen is None else ast.Name(chosen.name)
        if not options or self.draw(st.integers(0, 3)) == 0:
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
        kinds = ["leaf", "arith", "clip", "minmax", "abs", "where", "cond", "neg", "round", "pow", "mod",
                 "reduce"]
        if dtype == "num":
            kinds += ["div", "log", "sqrt", "exp", "mean", "op_reduce"]
            if self.section == "epoch" and _fits("class", shape):
                kinds.append("uniform")
        kind = self.pick(kinds)
        sub = lambda: self.number(dtype, shape, d)  # noqa: E731
        if kind == "arith":
            return ast.Binary(self.pick(["+", "-", "*"]), sub(), sub())
        if kind == "clip":
            return call("clip", sub(), sub(), sub())
        if kind == "minmax":
            return call(self.pick(["min", "max"]), *[sub() for _ in range(self.draw(st.integers(2, 3)))])
        if kind == "abs":
            return call("abs", sub())
        if kind == "where":
            return call("where", self.boolean(shape, d), sub(), sub())
        if kind == "cond":
            return ast.Cond(sub(), self.boolean(shape, d), sub())
        if kind == "neg":
            return neg(sub())
        if kind == "round":
            return call(self.pick(["round", "floor", "ceil"]), self.number("num", shape, d))
        if kind == "pow":
            return ast.Binary("**", sub(), num(self.draw(st.integers(0, 3))))
        if kind == "mod":
            return ast.Binary("%", sub(), ast.Binary("+", num(1), call("abs", sub())))
        if kind == "reduce" and _fits("scalar", shape):
            arg = self.exact(dtype, "class")
            if arg is not None:
                return call(self.pick(["sum", "min", "max"]), arg)
        if kind == "div":
            return ast.Binary("/", sub(), ast.Binary("+", num(1), call("abs", sub())))
        if kind == "log":
            return call("log", ast.Binary("+", num(1), call("abs", sub())))
        if kind == "sqrt":
            return call("sqrt", call("abs", sub()))
        if kind == "exp":
            return call("exp", call("clip", sub(), num(-5), num(5)))
        if kind == "mean":
            arg = self.exact("num", "class")
            if arg is not None:
                return call("mean", arg)
        if kind == "op_reduce" and _fits("class", shape):
            arg = self.exact("num", "class_op")
            if arg is not None:
                return call(self.pick(["mean_ops", "sum_ops", "max_ops", "min_ops"]), arg)
        if kind == "uniform":
            return call("uniform", sub(), sub())
        return self.leaf(dtype, shape)

    def boolean(self, shape: str, depth: int) -> ast.Expr:
        if depth <= 0:
            return self.leaf("bool", shape)
        d = depth - 1
        kinds = ["compare", "compare", "logic", "not", "leaf", "where"]
        if self.section == "epoch" and _fits("class_op", shape) and self.exact("num", "class_op") is not None:
            kinds.append("sample_one")
        kind = self.pick(kinds)
        if kind == "compare":
            op = self.pick(list(ast.COMPARISONS))
            return ast.Binary(op, self.number("num", shape, d), self.number("num", shape, d))
        if kind == "logic":
            return ast.Binary(self.pick(["and", "or"]), self.boolean(shape, d), self.boolean(shape, d))
        if kind == "not":
            return ast.Unary("not", self.boolean(shape, d))
        if kind == "where":
            return call("where", self.boolean(shape, d), self.boolean(shape, d), self.boolean(shape, d))
        if kind == "sample_one":
            return call("sample_one", call("abs", self.exact("num", "class_op")))
        return self.leaf("bool", shape)

    def bounded(self, lo: float | int, hi: float | int, dtype: str, shape: str) -> ast.Expr:
        return call("clip", self.number(dtype, shape, self.depth), num(lo), num(hi))


@st.composite
def state_decls(draw, names: list[str], per_op_allowed: bool) -> list[ast.StateDecl]:
    decls = []
    for name in names:
        dtype = draw(st.sampled_from(["int", "float", "bool"]))
        per_op = per_op_allowed and draw(st.booleans())
        if dtype == "bool":
            decls.append(ast.StateDecl(name, "bool", per_op, None, None, ast.Bool(draw(st.booleans()))))
            continue
        if dtype == "int":
            lo = draw(st.integers(-10, 10))
            hi = draw(st.integers(lo, lo + 20))
            init = draw(st.integers(lo, hi))
        else:
            lo = draw(st.integers(-1000, 1000)) / 10
            hi = lo + draw(st.integers(0, 1000)) / 10
            init = min(max(draw(st.floats(lo, hi)), lo), hi)
        decls.append(ast.StateDecl(name, dtype, per_op, num(lo), num(hi), num(init)))
    return decls


def _leaf_of(decl: ast.StateDecl) -> Leaf:
    return Leaf(decl.name, decl.type, "class_op" if decl.per_op else "class")


@st.composite
def policies(draw, max_depth: int = 3) -> ast.Policy:
    """A random policy that passes every check of the compiler."""
    has_apply = draw(st.booleans())
    ops = draw(st.lists(st.sampled_from(OP_NAMES), min_size=1, max_size=6, unique=True))
    names = draw(st.lists(st.sampled_from(NAMES), max_size=3, unique=True))
    states = draw(state_decls(names, has_apply))
    leaves = STAT_LEAVES + [_leaf_of(d) for d in states]
    depth = draw(st.integers(0, max_depth))

    epoch = None
    if draw(st.booleans()):
        gen = _Gen(draw, list(leaves), "epoch", depth)
        statements = []
        for i in range(draw(st.integers(0, 4))):
            if states and draw(st.booleans()):
                decl = draw(st.sampled_from(states))
                shape = "class_op" if decl.per_op else "class"
                if decl.type == "bool":
                    value = gen.boolean(shape, depth)
                else:
                    value = gen.bounded(decl.lo.value, decl.hi.value, decl.type, shape)
                statements.append(ast.Assign(decl.name, value))
            else:
                name = f"t{i}"
                dtype = draw(st.sampled_from(["num", "bool"]))
                shape = draw(st.sampled_from(["scalar", "class", "class_op"] if has_apply else ["scalar", "class"]))
                value = gen.boolean(shape, depth) if dtype == "bool" else gen.number("num", shape, depth)
                statements.append(ast.Let(name, value))
                # a number let may hold an int; "float" only keeps it out of int places
                gen.leaves.append(Leaf(name, "bool" if dtype == "bool" else "float", shape, exact=False))
        epoch = tuple(statements)

    gen = _Gen(draw, list(leaves), "sample", depth)
    stages: list[ast.Stage] = []
    takes = [o for o in ops if OPS[o].has_magnitude]
    if has_apply:
        clauses = []
        if takes:  # required when an op takes one, refused when none does
            clauses.append(ast.Clause("magnitude", _magnitude(draw, gen, "class_op")))
        if draw(st.booleans()):
            clauses.append(ast.Clause("weight", call("abs", gen.number("num", "class_op", depth))))
        if draw(st.booleans()):
            clauses.append(ast.Clause("probability", gen.bounded(0, 1, "num", "class_op")))
        count = gen.bounded(0, len(ops), "int", "class")
        stages.append(ast.Apply(count, tuple(ast.OpRef(o) for o in ops), tuple(clauses)))
    for _ in range(draw(st.integers(0 if has_apply else 1, 2))):
        op = draw(st.sampled_from(OP_NAMES))
        magnitude = _magnitude(draw, gen, "class") if OPS[op].has_magnitude else None
        probability = gen.bounded(0, 1, "num", "class") if draw(st.booleans()) else None
        stages.insert(draw(st.integers(0, len(stages))), ast.Fixed(ast.OpRef(op), magnitude, probability))
    name = draw(st.sampled_from(["p", "policy_a", "tail", "x1"]))
    description = draw(st.none() | st.text(st.characters(min_codepoint=32, max_codepoint=126,
                                                          blacklist_characters='"'), max_size=30))
    return ast.Policy(name, description, tuple(states), epoch, tuple(stages))


def _magnitude(draw, gen: _Gen, shape: str) -> ast.Expr:
    if draw(st.booleans()):
        return call("uniform", gen.bounded(0, 1, "num", shape), gen.bounded(0, 1, "num", shape))
    return gen.bounded(0, 1, "num", shape)

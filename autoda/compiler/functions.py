"""The language's fixed set of functions, each declared once, with everything about it.

To add a DSL function, write its ``Function`` below (its forms, each with a type rule from
typerules.py, an interval rule from rangerules.py, the plan instruction it lowers to and
how the offline search may draw it); if it lowers to a new instruction, add the member to
instructions.py and its torch implementation to the engine's table (engine/augment/epoch.py);
and add a test. The resolver, the type checker, the range checker, the lowering, the
reference's table and the program generator all read this table and nothing else.

There are no user functions. ``min`` and ``max`` read like Python's: with one argument they
reduce over classes, with two or more they compare element by element (two forms).

>>> FUNCTIONS["min"].form_for(1).instruction, FUNCTIONS["min"].form_for(3).instruction
(<Instruction.CLASS_MIN: 'class_min'>, <Instruction.MIN: 'min'>)
>>> DRAWN["to_int"]
('round', 'floor', 'ceil')
"""
from __future__ import annotations

from dataclasses import dataclass

from . import ast
from . import rangerules as ranged
from . import typerules as typed
from .instructions import Instruction as I
from .rangerules import IntervalRule


@dataclass(frozen=True)
class Draw:
    """How the offline search's program generator (search/programs.py) may draw a form:
    under which of its expression kinds (a kind feeds its functions arguments that keep
    them in their domains: ``positive`` draws ``f(1 + abs(x))``), and where in that kind's
    choice list, whose order is part of what a seed reproduces."""

    kind: str
    position: int


@dataclass(frozen=True)
class Form:
    """One way to call a function: its arity and everything the passes need of it."""

    signature: str  # as the reference writes it
    summary: str  # what it computes, for the reference
    min_args: int
    max_args: int | None  # None: any number from min_args, lowered to a chain of the binary instruction
    type_rule: typed.TypeRule
    interval_rule: IntervalRule
    instruction: I  # what a call lowers to
    draws: tuple[Draw, ...] = ()  # empty: the generator never writes it

    def takes(self, n: int) -> bool:
        return self.min_args <= n and (self.max_args is None or n <= self.max_args)


@dataclass(frozen=True)
class Function:
    name: str
    forms: tuple[Form, ...]

    def form_for(self, n: int) -> Form | None:
        """The form a call with ``n`` arguments has; None: a wrong number of arguments."""
        return next((form for form in self.forms if form.takes(n)), None)

    @property
    def min_args(self) -> int:
        return min(form.min_args for form in self.forms)

    @property
    def max_args(self) -> int | None:
        tops = [form.max_args for form in self.forms]
        return None if None in tops else max(tops)


def _one(name: str, summary: str, arity: int, type_rule: typed.TypeRule, interval_rule: IntervalRule,
         instruction: I, *draws: Draw, args: str = "x") -> Function:
    """A function of one form and a fixed arity."""
    return Function(name, (Form(f"{name}({args})", summary, arity, arity, type_rule, interval_rule, instruction,
                                draws),))


def _min_or_max(name: str, word: str, pairwise: I, interval_rule: IntervalRule, pairwise_draw: Draw,
                over_classes: I, over_classes_draw: Draw) -> Function:
    """Element-wise with two or more arguments, a reduction over classes with one."""
    return Function(name, (
        Form(f"{name}(a, b, ...)", f"element-wise {word}", 2, None, typed.numbers, interval_rule, pairwise,
             (pairwise_draw,)),
        Form(f"{name}(x)", f"{word} over classes (a scalar)", 1, 1, typed.over_classes, ranged.same, over_classes,
             (over_classes_draw,)),
    ))


# In the reference's order. _one's columns: name, summary, arity, type rule, interval rule,
# instruction, the generator's draws (and the parameters' names when not "x").
_FUNCTIONS = (
    _one("clip", "x limited to [lo, hi]", 3, typed.numbers, ranged.clip, I.CLIP, Draw("ternary", 0),
         args="x, lo, hi"),
    _min_or_max("min", "minimum", I.MIN, ranged.minimum, Draw("variadic", 0), I.CLASS_MIN, Draw("over_classes", 1)),
    _min_or_max("max", "maximum", I.MAX, ranged.maximum, Draw("variadic", 1), I.CLASS_MAX, Draw("over_classes", 2)),
    _one("abs", "absolute value", 1, typed.numbers, ranged.absolute, I.ABS, Draw("unary", 0)),
    _one("exp", "e to the power x", 1, typed.numbers, ranged.exp, I.EXP, Draw("clipped", 0)),
    _one("log", "natural logarithm; x must be > 0", 1, typed.numbers, ranged.log, I.LOG, Draw("positive", 0)),
    _one("sqrt", "square root; x must be >= 0", 1, typed.numbers, ranged.sqrt, I.SQRT, Draw("non_negative", 0)),
    _one("round", "nearest int (halves to even)", 1, typed.numbers, ranged.round_half_even, I.ROUND,
         Draw("to_int", 0)),
    _one("floor", "largest int <= x", 1, typed.numbers, ranged.floor, I.FLOOR, Draw("to_int", 1)),
    _one("ceil", "smallest int >= x", 1, typed.numbers, ranged.ceil, I.CEIL, Draw("to_int", 2)),
    _one("where", "a where cond is true, else b", 3, typed.where, ranged.where, I.WHERE, Draw("where", 0),
         args="cond, a, b"),
    _one("mean", "mean over classes (a scalar)", 1, typed.over_classes, ranged.same, I.CLASS_MEAN,
         Draw("float_over_classes", 0)),
    _one("sum", "sum over classes (a scalar)", 1, typed.over_classes, ranged.class_sum, I.CLASS_SUM,
         Draw("over_classes", 0)),
    _one("mean_ops", "mean over the ops of a per-op value", 1, typed.over_ops, ranged.same, I.OP_MEAN,
         Draw("over_ops", 0)),
    _one("sum_ops", "sum over the ops of a per-op value", 1, typed.over_ops, ranged.op_sum, I.OP_SUM,
         Draw("over_ops", 1)),
    _one("max_ops", "maximum over the ops of a per-op value", 1, typed.over_ops, ranged.same, I.OP_MAX,
         Draw("over_ops", 2)),
    _one("min_ops", "minimum over the ops of a per-op value", 1, typed.over_ops, ranged.same, I.OP_MIN,
         Draw("over_ops", 3)),
    _one("sample_one", "epoch section: per class, true for one op drawn with probability proportional to "
                       "w >= 0 (uniformly where a class's w are all 0)",
         1, typed.sample_one, ranged.sample_one, I.SAMPLE_ONE, Draw("random_choice", 0), args="w"),
    _one("lol_pass", "epoch section: per class, true where CUDA's level-of-learning probe passes at every level "
                     "s from 0 to level (the model, in eval mode, classifies above 0.6 of 10(s+1) of the class's "
                     "training images, drawn with replacement and augmented with s of CUDA's 22 ops at magnitude "
                     "s / 30); level is a whole number in [0, 10]",
         1, typed.level_test, ranged.level_test, I.LOL_PASS, args="level"),
    _one("uniform", "a uniform random number in [lo, hi]: one per class (and op) in the epoch section; "
                    "one per sample (and op) as a whole magnitude",
         2, typed.uniform, ranged.between, I.UNIFORM, Draw("random_number", 0), args="lo, hi"),
)

FUNCTIONS: dict[str, Function] = {f.name: f for f in _FUNCTIONS}


def _drawn() -> dict[str, tuple[str, ...]]:
    """Each generator kind's functions, in choice-list order."""
    kinds: dict[str, list[tuple[int, str]]] = {}
    for function in _FUNCTIONS:
        for form in function.forms:
            for draw in form.draws:
                kinds.setdefault(draw.kind, []).append((draw.position, function.name))
    return {kind: tuple(name for _, name in sorted(entries)) for kind, entries in kinds.items()}


DRAWN = _drawn()


def is_per_sample_draw(magnitude: ast.Expr) -> bool:
    """Whether a stage's magnitude is a whole ``uniform(lo, hi)``: the stage draws it anew for
    every sample (and op), so it lowers to the stage's own draw, not to an instruction."""
    return isinstance(magnitude, ast.Call) and magnitude.func == "uniform"

"""The plan's instruction set: one enum member per operation of the epoch program.

Each member declares what the compiler knows of it: how many operands it reads, whether it
draws random numbers (a draw is never merged with an identical one), and its result rule,
the type it gives to operands of the given types (None: operands it does not take). The
lowering emits members, Plan.verify re-derives every result type with these rules, and
the engine maps each member to its torch implementation in one table
(autoda/engine/augment/epoch.py). Nothing here imports torch.

An operand may be smaller than the type the checker gave the expression it stands for: a
state read after the epoch section assigned it reads the assigned value (``w = 1`` makes a
per-op state's value one number). The engine broadcasts it wherever the shape counts.

A member is a string (``Instruction.ADD == "add"``), so a rendered plan reads as before.

>>> Instruction("add").arity, Instruction.UNIFORM.random
(2, True)
>>> Instruction.DIV.result([Type("int", "class"), Type("int", "scalar")])
Type(dtype='float', shape='class')
"""
from __future__ import annotations

from enum import StrEnum
from typing import Callable, Sequence

from .types import Type, broadcast, fits, numeric_dtype

ResultRule = Callable[[Sequence[Type], object], "Type | None"]


def _numeric(dtype: str | None) -> ResultRule:
    """Numbers in; ``dtype`` out (None: int if every operand is int, else float)."""
    def rule(operands: Sequence[Type], attr: object = None) -> Type | None:
        if not all(t.is_numeric for t in operands):
            return None
        out = dtype or numeric_dtype(*(t.dtype for t in operands))
        return Type(out, broadcast(*(t.shape for t in operands)))
    return rule


def _same(operands: Sequence[Type], attr: object = None) -> Type | None:
    """A number in, the same type out (neg, abs)."""
    return operands[0] if operands[0].is_numeric else None


def _order(operands: Sequence[Type], attr: object = None) -> Type | None:
    """Numbers compared: true/false."""
    return Type("bool", broadcast(*(t.shape for t in operands))) if all(t.is_numeric for t in operands) else None


def _equality(operands: Sequence[Type], attr: object = None) -> Type | None:
    """Numbers, or true/false values, compared: true/false."""
    if all(t.dtype == "bool" for t in operands):
        return Type("bool", broadcast(*(t.shape for t in operands)))
    return _order(operands)


def _logic(operands: Sequence[Type], attr: object = None) -> Type | None:
    """True/false in and out."""
    return Type("bool", broadcast(*(t.shape for t in operands))) if all(t.dtype == "bool" for t in operands) else None


def _where(operands: Sequence[Type], attr: object = None) -> Type | None:
    cond, a, b = operands
    if cond.dtype != "bool":
        return None
    shape = broadcast(cond.shape, a.shape, b.shape)
    if a.dtype == b.dtype == "bool":
        return Type("bool", shape)
    branches = _numeric(None)([a, b])
    return None if branches is None else Type(branches.dtype, shape)


def _pow(operands: Sequence[Type], attr: object = None) -> Type | None:
    """x ** attr, a literal exponent: an int stays int under a whole exponent >= 0."""
    (base,) = operands
    if not base.is_numeric:
        return None
    whole = base.dtype == "int" and isinstance(attr, int) and not isinstance(attr, bool) and attr >= 0
    return Type("int" if whole else "float", base.shape)


def _reduce(over: str, into: str, dtype: str | None) -> ResultRule:
    """A number of shape ``over`` (or one broadcast to it) reduced to ``into``; ``dtype``
    out (None: the operand's)."""
    def rule(operands: Sequence[Type], attr: object = None) -> Type | None:
        (x,) = operands
        return Type(dtype or x.dtype, into) if x.is_numeric and fits(x.shape, over) else None
    return rule


def _sample_one(operands: Sequence[Type], attr: object = None) -> Type | None:
    (w,) = operands
    return Type("bool", "class_op") if w.is_numeric and fits(w.shape, "class_op") else None


def _level_test(operands: Sequence[Type], attr: object = None) -> Type | None:
    """A per-class level in, a per-class pass out."""
    (level,) = operands
    return Type("bool", "class") if level.dtype == "int" and fits(level.shape, "class") else None


def _uniform(operands: Sequence[Type], attr: object = None) -> Type | None:
    """One draw per class at least: the epoch section draws for every class."""
    drawn = _numeric("float")(operands)
    return None if drawn is None else Type("float", broadcast(drawn.shape, "class"))


def _leaf(operands: Sequence[Type], attr: object = None) -> Type | None:
    """const, stat and state read no operand; their type comes from what they name, which
    Plan.verify looks up (the literal, the statistic, the declared state)."""
    return None


class Instruction(StrEnum):
    def __new__(cls, name: str, arity: int, result: ResultRule, random: bool = False) -> Instruction:
        member = str.__new__(cls, name)
        member._value_ = name
        member.arity = arity
        member.result_rule = result
        member.random = random
        return member

    def result(self, operands: Sequence[Type], attr: object = None) -> Type | None:
        """The type this instruction gives operands of these types (None: not for these)."""
        return self.result_rule(operands, attr)

    # leaves: attr is the literal (const), the statistic's name (stat), the state's (state)
    CONST = "const", 0, _leaf
    STAT = "stat", 0, _leaf
    STATE = "state", 0, _leaf
    # arithmetic; pow's attr is its literal exponent
    NEG = "neg", 1, _same
    ADD = "add", 2, _numeric(None)
    SUB = "sub", 2, _numeric(None)
    MUL = "mul", 2, _numeric(None)
    DIV = "div", 2, _numeric("float")
    MOD = "mod", 2, _numeric(None)
    POW = "pow", 1, _pow
    # comparisons and logic
    LT = "lt", 2, _order
    LE = "le", 2, _order
    GT = "gt", 2, _order
    GE = "ge", 2, _order
    EQ = "eq", 2, _equality
    NE = "ne", 2, _equality
    AND = "and", 2, _logic
    OR = "or", 2, _logic
    NOT = "not", 1, _logic
    # functions, element-wise
    MIN = "min", 2, _numeric(None)
    MAX = "max", 2, _numeric(None)
    CLIP = "clip", 3, _numeric(None)
    WHERE = "where", 3, _where
    ABS = "abs", 1, _same
    EXP = "exp", 1, _numeric("float")
    LOG = "log", 1, _numeric("float")
    SQRT = "sqrt", 1, _numeric("float")
    ROUND = "round", 1, _numeric("int")
    FLOOR = "floor", 1, _numeric("int")
    CEIL = "ceil", 1, _numeric("int")
    # reductions over classes (to a scalar) and over ops (to a per-class value)
    CLASS_MEAN = "class_mean", 1, _reduce("class", "scalar", "float")
    CLASS_SUM = "class_sum", 1, _reduce("class", "scalar", None)
    CLASS_MIN = "class_min", 1, _reduce("class", "scalar", None)
    CLASS_MAX = "class_max", 1, _reduce("class", "scalar", None)
    OP_MEAN = "op_mean", 1, _reduce("class_op", "class", "float")
    OP_SUM = "op_sum", 1, _reduce("class_op", "class", None)
    OP_MIN = "op_min", 1, _reduce("class_op", "class", None)
    OP_MAX = "op_max", 1, _reduce("class_op", "class", None)
    # draws from the engine's seeded generator
    SAMPLE_ONE = "sample_one", 1, _sample_one, True
    UNIFORM = "uniform", 2, _uniform, True
    # CUDA's level-of-learning probe: classifies augmented training images with the model
    # (random, and the model's: never merged with another)
    LOL_PASS = "lol_pass", 1, _level_test, True

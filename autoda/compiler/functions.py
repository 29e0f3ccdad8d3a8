"""The language's fixed set of functions: one table for the checker, the lowering and the docs.

There are no user functions. ``min`` and ``max`` read like Python's: with one argument they
reduce over classes, with two or more they compare element by element.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    min_args: int
    max_args: int | None  # None: any number from min_args
    kind: str  # how the type checker and the range checker treat it
    forms: tuple[tuple[str, str], ...]  # (signature, what it does), for the reference


_FUNCTIONS = (
    FunctionSpec("clip", 3, 3, "clip", (("clip(x, lo, hi)", "x limited to [lo, hi]"),)),
    FunctionSpec("min", 1, None, "minmax", (
        ("min(a, b, ...)", "element-wise minimum"),
        ("min(x)", "minimum over classes (a scalar)"))),
    FunctionSpec("max", 1, None, "minmax", (
        ("max(a, b, ...)", "element-wise maximum"),
        ("max(x)", "maximum over classes (a scalar)"))),
    FunctionSpec("abs", 1, 1, "elementwise", (("abs(x)", "absolute value"),)),
    FunctionSpec("exp", 1, 1, "elementwise", (("exp(x)", "e to the power x"),)),
    FunctionSpec("log", 1, 1, "elementwise", (("log(x)", "natural logarithm; x must be > 0"),)),
    FunctionSpec("sqrt", 1, 1, "elementwise", (("sqrt(x)", "square root; x must be >= 0"),)),
    FunctionSpec("round", 1, 1, "rounding", (("round(x)", "nearest int (halves to even)"),)),
    FunctionSpec("floor", 1, 1, "rounding", (("floor(x)", "largest int <= x"),)),
    FunctionSpec("ceil", 1, 1, "rounding", (("ceil(x)", "smallest int >= x"),)),
    FunctionSpec("where", 3, 3, "where", (("where(cond, a, b)", "a where cond is true, else b"),)),
    FunctionSpec("mean", 1, 1, "class_reduce", (("mean(x)", "mean over classes (a scalar)"),)),
    FunctionSpec("sum", 1, 1, "class_reduce", (("sum(x)", "sum over classes (a scalar)"),)),
    FunctionSpec("mean_ops", 1, 1, "op_reduce", (("mean_ops(x)", "mean over the ops of a per-op value"),)),
    FunctionSpec("sum_ops", 1, 1, "op_reduce", (("sum_ops(x)", "sum over the ops of a per-op value"),)),
    FunctionSpec("max_ops", 1, 1, "op_reduce", (("max_ops(x)", "maximum over the ops of a per-op value"),)),
    FunctionSpec("min_ops", 1, 1, "op_reduce", (("min_ops(x)", "minimum over the ops of a per-op value"),)),
    FunctionSpec("sample_one", 1, 1, "sample_one", (
        ("sample_one(w)", "epoch section: per class, true for one op drawn with probability "
                          "proportional to w >= 0 (uniformly where a class's w are all 0)"),)),
    FunctionSpec("uniform", 2, 2, "uniform", (
        ("uniform(lo, hi)", "a uniform random number in [lo, hi]: one per class (and op) in the "
                            "epoch section; one per sample (and op) as a whole magnitude"),)),
)

FUNCTIONS: dict[str, FunctionSpec] = {f.name: f for f in _FUNCTIONS}

RANDOM_FUNCTIONS = frozenset({"sample_one", "uniform"})

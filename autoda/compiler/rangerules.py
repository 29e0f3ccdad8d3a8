"""Interval rules of function calls, which the declarations in functions.py name.

A rule gets the intervals of a call's arguments (None for a true/false argument) and
returns the call's interval, or None when it has none (a true/false result, or a fault);
a function defined on part of the line reports a call that may leave its domain. Most
rules only read their arguments: ``known`` makes one from a function of intervals, and
the lowering applies the n-ary ones to partial argument lists (a chain of binary
instructions), with no range checker to report to.
"""
from __future__ import annotations

import math
from typing import Callable, Protocol

from ..class_stats import LEVEL_PROBE
from . import ast
from . import intervals as iv
from .intervals import INF, Interval


class CallRanging(Protocol):
    """What an interval rule may ask of the range checker (ranges._Ranger)."""

    num_ops: int  # K, the ops of the apply stage

    def error(self, code: str, span: ast.Span, message: str, hint: str | None = None) -> None: ...
    def domain(self, span: ast.Span, message: str, hint: str) -> Interval:
        """Report a value that may leave a function's domain (R004); the value is then anything."""


IntervalRule = Callable[["CallRanging | None", ast.Call, "list[Interval | None]"], "Interval | None"]


def known(f: Callable[..., Interval]) -> IntervalRule:
    """The rule ``f(*args)``, for a call whose arguments all have intervals."""
    def rule(ranger: CallRanging | None, call: ast.Call, args: list[Interval | None]) -> Interval | None:
        return None if any(a is None for a in args) else f(*args)
    return rule


same = known(lambda x: x)  # a mean, minimum or maximum lies within its argument's range
clip = known(iv.clip)
minimum = known(iv.minimum)
maximum = known(iv.maximum)
absolute = known(Interval.abs)
exp = known(Interval.exp)
round_half_even = known(lambda x: x.rounded(round))
floor = known(lambda x: x.rounded(math.floor))
ceil = known(lambda x: x.rounded(math.ceil))
class_sum = known(lambda x: iv.total(x, INF))  # any number of classes
between = known(lambda lo, hi: lo.union(hi))  # a uniform draw


def where(ranger: CallRanging | None, call: ast.Call, args: list[Interval | None]) -> Interval | None:
    """Either branch (the condition has no interval)."""
    return args[1].union(args[2]) if args[1] and args[2] else None


def op_sum(ranger: CallRanging, call: ast.Call, args: list[Interval | None]) -> Interval | None:
    return None if args[0] is None else iv.total(args[0], ranger.num_ops)


def log(ranger: CallRanging, call: ast.Call, args: list[Interval | None]) -> Interval | None:
    (x,) = args
    if x is None:
        return None
    if x.lo <= 0:
        return ranger.domain(call.args[0].span, f"log needs values > 0; its argument ranges over {x}",
                             "write log(max(x, 1e-6))")
    return x.log()


def sqrt(ranger: CallRanging, call: ast.Call, args: list[Interval | None]) -> Interval | None:
    (x,) = args
    if x is None:
        return None
    if x.lo < 0:
        return ranger.domain(call.args[0].span, f"sqrt needs values >= 0; its argument ranges over {x}",
                             "write sqrt(max(x, 0))")
    return x.sqrt()


def level_test(ranger: CallRanging, call: ast.Call, args: list[Interval | None]) -> Interval | None:
    """A level of CUDA's, 0 to 10; the test itself is true/false."""
    (level,) = args
    top = LEVEL_PROBE.max_level
    if level is not None and (level.lo < 0 or level.hi > top):
        ranger.error("R002", call.args[0].span, f"the level of {call.func} may leave [0, {top}]: "
                     f"it ranges over {level}", f"wrap it: clip(..., 0, {top})")
    return None


def sample_one(ranger: CallRanging, call: ast.Call, args: list[Interval | None]) -> Interval | None:
    """Weights >= 0; the draw itself is true/false."""
    (w,) = args
    if w is not None and w.lo < 0:
        ranger.error("R002", call.args[0].span, f"the weights of sample_one may be negative: they range over {w}",
                     "wrap them: max(..., 0)")
    return None

"""The range checker: proves every value stays where the language says it must.

Nothing is clamped silently: a literal out of its range is an error, and an expression that
may leave its range is an error with the ``clip`` that fixes it as the hint. In return the
engine never checks a range at run time:

- state stays in its declared range after every epoch;
- magnitudes and probabilities lie in [0, 1], counts in [0, number of listed ops], weights
  are >= 0;
- log, sqrt, division, remainder and powers are only applied inside their domains, so no
  policy computes NaN from finite statistics.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..class_stats import STATS
from . import ast
from .diagnostics import Diagnostic, diag
from .functions import FUNCTIONS, is_per_sample_draw
from .intervals import FULL, INF, Interval, format_number
from .resolve import Resolution
from .typecheck import Typing

MAX_LITERAL = 1e15


@dataclass
class Ranges:
    intervals: dict[int, Interval] = field(default_factory=dict)  # id(numeric expr) -> Interval
    locals: dict[str, Interval] = field(default_factory=dict)

    def of(self, expr: ast.Expr) -> Interval | None:
        return self.intervals.get(id(expr))


def _n(x: float) -> str:
    return format_number(x)


def _declared(decl: ast.StateDecl) -> Interval | None:
    """The declared range of a numeric state whose declaration checked, else None."""
    if decl.type == "bool" or decl.lo is None or decl.hi is None:
        return None
    if not all(isinstance(x, ast.Num) and abs(x.value) <= MAX_LITERAL for x in (decl.lo, decl.hi)):
        return None  # a bound that is no number, or too large (reported), proves nothing
    return Interval(decl.lo.value, decl.hi.value)


class _Ranger:
    def __init__(self, policy: ast.Policy, resolution: Resolution, typing: Typing) -> None:
        self.policy = policy
        self.resolution = resolution
        self.typing = typing
        self.out = Ranges()
        self.diagnostics: list[Diagnostic] = []
        self.bad_literals: set[int] = set()  # id of each literal already reported: nothing more on it
        apply = policy.apply_stage
        self.num_ops = len(apply.ops) if apply is not None else 0

    def error(self, code: str, span: ast.Span, message: str, hint: str | None = None) -> None:
        self.diagnostics.append(diag(code, span, message, hint))

    def literal(self, num: ast.Num) -> bool:
        if not math.isfinite(num.value) or abs(num.value) > MAX_LITERAL:
            self.error("R001", num.span, "this number is too large",
                       f"numbers are limited to +-{MAX_LITERAL:g}")
            self.bad_literals.add(id(num))
            return False
        return True

    # --- expressions ---------------------------------------------------------------------

    def value(self, e: ast.Expr) -> Interval | None:
        """The interval of a numeric expression (None for true/false values and faults)."""
        if self.typing.of(e).is_error:  # reported already; only look for faults inside
            for child in ast.children(e):
                self.value(child)
            return None
        result = self._value(e)
        if result is not None and self.typing.of(e).is_numeric:
            self.out.intervals[id(e)] = result
            return result
        return None

    def domain(self, span: ast.Span, message: str, hint: str) -> Interval:
        """Report a value that may leave an operation's domain; the result is then anything."""
        self.error("R004", span, message, hint)
        return FULL

    def _value(self, e: ast.Expr) -> Interval | None:
        if isinstance(e, ast.Num):
            return Interval(e.value, e.value) if self.literal(e) else FULL
        if isinstance(e, ast.Bool):
            return None
        if isinstance(e, ast.Name):
            symbol = self.resolution.symbols.get(id(e))
            if symbol is None:
                return None
            if symbol.kind == "stat":
                spec = STATS[symbol.name]
                return Interval(spec.lo, spec.hi)
            if symbol.kind == "state":
                return _declared(symbol.decl) or FULL
            return self.out.locals.get(symbol.name)
        if isinstance(e, ast.Unary):
            operand = self.value(e.operand)
            return None if operand is None or e.op == "not" else operand.neg()
        if isinstance(e, ast.Cond):
            self.value(e.test)
            body, orelse = self.value(e.body), self.value(e.orelse)
            return body.union(orelse) if body and orelse else None
        if isinstance(e, ast.Binary):
            return self.binary(e)
        if isinstance(e, ast.Compare):
            for operand in e.operands:
                self.value(operand)
            return None
        if isinstance(e, ast.Call):
            return self.call(e)
        raise AssertionError(e)

    def binary(self, e: ast.Binary) -> Interval | None:
        left, right = self.value(e.left), self.value(e.right)
        if e.op not in ast.ARITHMETIC or left is None or right is None:
            return None
        if e.op == "+":
            return left + right
        if e.op == "-":
            return left - right
        if e.op == "*":
            return left * right
        if e.op in ("/", "%"):
            if right.contains_zero():
                what = "divisor" if e.op == "/" else "right side of '%'"
                return self.domain(e.right.span, f"the {what} can be 0: it ranges over {right}",
                                   "divide by something that cannot be 0, e.g. max(x, 1e-6)")
            return left.div(right) if e.op == "/" else left.mod(right)
        p = right.lo  # '**' has a literal exponent (the type checker saw to it)
        if not float(p).is_integer() and left.lo < 0:
            return self.domain(e.left.span, f"a fractional power needs a base >= 0; it ranges over {left}",
                               "raise max(x, 0) instead")
        if p < 0 and left.contains_zero():
            return self.domain(e.left.span, f"a negative power needs a base that is never 0; "
                                            f"it ranges over {left}", "use max(x, 1e-6) as the base")
        return left.power(p)

    def call(self, e: ast.Call) -> Interval | None:
        """A call's interval, by its form's rule (functions.py); the type checker saw to the arity."""
        args = [self.value(a) for a in e.args]
        return FUNCTIONS[e.func].form_for(len(args)).interval_rule(self, e, args)

    # --- requirements --------------------------------------------------------------------

    def require(self, expr: ast.Expr, lo: float, hi: float, what: str, hint: str | None = None,
                computed: bool = False) -> None:
        """Report unless the expression provably stays in [lo, hi]."""
        got = self.out.of(expr) if computed else self.value(expr)
        if got is None or got.within(lo, hi) or id(expr) in self.bad_literals:
            return
        if isinstance(expr, ast.Num):
            self.error("R001", expr.span, f"{what} is {_n(expr.value)}, outside [{_n(lo)}, {_n(hi)}]", hint)
            return
        fix = f"max(..., {_n(lo)})" if math.isinf(hi) else f"clip(..., {_n(lo)}, {_n(hi)})"
        self.error("R002", expr.span, f"{what} may leave [{_n(lo)}, {_n(hi)}]: it ranges over {got}",
                   f"wrap it: {fix}")

    def state(self, decl: ast.StateDecl) -> None:
        literals = [x for x in (decl.lo, decl.hi, decl.init) if isinstance(x, ast.Num)]
        if not all([self.literal(x) for x in literals]):  # a list: every bad literal is reported
            return
        declared = _declared(decl)
        if declared is None:
            return
        if declared.lo > declared.hi:
            self.error("R003", decl.lo.span, f"the range of {decl.name!r} is empty: {_n(declared.lo)} > {_n(declared.hi)}",
                       f"write [{_n(declared.hi)}, {_n(declared.lo)}]")
        elif isinstance(decl.init, ast.Num) and not declared.lo <= decl.init.value <= declared.hi:
            self.error("R001", decl.init.span, f"initial value {_n(decl.init.value)} of {decl.name!r} "
                                               f"is outside its range {declared}")

    def check(self) -> None:
        for decl in self.policy.states:
            self.state(decl)
        for statement in self.policy.epoch or ():
            if isinstance(statement, ast.Let):
                got = self.value(statement.value)
                if got is not None:
                    self.out.locals[statement.name] = got
                continue
            decl = self.resolution.states.get(statement.name)
            declared = _declared(decl) if decl is not None else None
            mistyped = decl is not None and decl.type == "int" and self.typing.of(statement.value).dtype != "int"
            if declared is None or declared.lo > declared.hi or mistyped:  # already reported
                self.value(statement.value)
                continue
            self.require(statement.value, declared.lo, declared.hi, f"the new value of {statement.name!r}")
        magnitude_hint = "magnitudes run from 0 (the identity) to 1 (each op's strongest setting)"
        for stage in self.policy.stages:
            for role, expr in ast.stage_exprs(stage):
                if role == "count":
                    if self.typing.of(expr).dtype != "int":  # already reported
                        continue
                    self.require(expr, 0, len(stage.ops), "the count of ops",
                                 f"the list has {len(stage.ops)} op{'s' if len(stage.ops) != 1 else ''}")
                elif role == "magnitude" and is_per_sample_draw(expr):
                    self.value(expr)
                    for bound in expr.args:
                        self.require(bound, 0, 1, "a magnitude bound", magnitude_hint, computed=True)
                elif role == "magnitude":
                    self.require(expr, 0, 1, "the magnitude", magnitude_hint)
                elif role == "probability":
                    self.require(expr, 0, 1, "the probability")
                else:
                    self.require(expr, 0, INF, "the weight", "weights are relative and >= 0")


def check_ranges(policy: ast.Policy, resolution: Resolution, typing: Typing) -> tuple[Ranges, list[Diagnostic]]:
    ranger = _Ranger(policy, resolution, typing)
    ranger.check()
    return ranger.out, ranger.diagnostics
